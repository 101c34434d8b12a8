-- scimbox's PostgreSQL schema, version 20 (issue 17/18 follow-up): how many users and groups
-- there are, kept exact by the writes themselves. A list page's `totalResults` (RFC 7644
-- §3.4.2.4: the total of the query's results, exact) was `SELECT COUNT(*)` of the table on every
-- page, which PostgreSQL answers by reading the whole table or its primary key: 16 ms at 100,000
-- users, the second most PostgreSQL time of an Okta import. Here a row per table holds the count
-- and a trigger moves it by one with each inserted or deleted row, in the same transaction, so a
-- reader's snapshot sees the count of exactly the rows it sees (server/src/db/rows.rs `count`).
-- The writers of every instance already commit one at a time (the batch lock), so the row is no
-- new point of contention; a trigger rather than the code's writes keeps it exact for every path
-- (import, cascades, an older binary, a hand-made statement). SQLite has nothing to change
-- (migrations/V20__row_counts.sql).
-- Append-only: never edit this file once released; add V21__*.sql instead.

CREATE TABLE row_counts (
    name  TEXT   COLLATE "C" PRIMARY KEY,
    n     BIGINT NOT NULL
);

-- No write may land between the counts and the triggers (an instance still running the older
-- binary): SHARE ROW EXCLUSIVE lets reads on and holds inserts and deletes until this commits.
LOCK TABLE users, groups IN SHARE ROW EXCLUSIVE MODE;

INSERT INTO row_counts (name, n) SELECT 'users', count(*) FROM users;
INSERT INTO row_counts (name, n) SELECT 'groups', count(*) FROM groups;

CREATE FUNCTION row_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE row_counts SET n = n + 1 WHERE name = TG_TABLE_NAME;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE row_counts SET n = n - 1 WHERE name = TG_TABLE_NAME;
    ELSE -- TRUNCATE
        UPDATE row_counts SET n = 0 WHERE name = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_row_count AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION row_counts_follow();
CREATE TRIGGER users_row_count_truncate AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION row_counts_follow();
CREATE TRIGGER groups_row_count AFTER INSERT OR DELETE ON groups
    FOR EACH ROW EXECUTE FUNCTION row_counts_follow();
CREATE TRIGGER groups_row_count_truncate AFTER TRUNCATE ON groups
    FOR EACH STATEMENT EXECUTE FUNCTION row_counts_follow();
