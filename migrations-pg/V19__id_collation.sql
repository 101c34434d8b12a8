-- scimbox's PostgreSQL schema, version 19 (issue 18): resource ids compare byte for byte.
-- `users.id`, `groups.id` and `guard_recent.user_id` had the database's default collation while
-- the columns compared with them (`group_members.member_id`, `member_changes_pending.member_id`,
-- the history's and the feed's `resource_id`) are COLLATE "C". With two implicit collations an
-- equality cannot use the ids' unique index, so `EXISTS (SELECT 1 FROM users u WHERE u.id =
-- p.member_id)` (each pending member change of a group write, server/src/db/events.rs) read the
-- whole index: ~100 ms a membership change at 100,000 users. "C" is also SQLite's BINARY, so both
-- engines order ids alike. The unique indexes are rebuilt with the columns.
-- Append-only: never edit this file once released; add V20__*.sql instead.

ALTER TABLE users ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE groups ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE guard_recent ALTER COLUMN user_id TYPE TEXT COLLATE "C";
