-- scimbox schema, version 7: narrow indexes over the insertion order of users and groups.
-- Append-only: never edit this file once released; add V8__*.sql instead.

-- `seq` is the rowid, so the tables are already in this order, but their leaves hold the whole
-- documents (about 600 bytes a user): skipping the first 90,000 rows of an unfiltered page
-- (RFC 7644 §3.4.2.4, startIndex=90001) would read some 15,000 table pages. These indexes hold
-- only the numbers, a few hundred pages for 100,000 rows; the page's offset is skipped in them
-- and only its own rows are read from the table (see server/src/db/rows.rs `page`).
CREATE INDEX users_seq ON users (seq);
CREATE INDEX groups_seq ON groups (seq);
