-- scimbox schema, version 18: less work inside the writer for every create (issue 17, round 2).
-- Append-only: never edit this file once released; add V19__*.sql instead.

-- The change history, copied once in the same column order: its `action` CHECK spelled with
-- `=`, since SQLite evaluates `action IN (...)` by building a temporary B-tree of the list on
-- every insert (one per create, a few percent of the writer's work), and without `changes_at`:
-- no query reads the history by `at` (pruning walks it in `seq` order, see
-- server/src/db/journal.rs `prune_through`; the pages read it by resource), so that index was
-- one more insert inside the writer for every change.
CREATE TABLE changes_v18 (
    seq            INTEGER PRIMARY KEY,
    at             TEXT    NOT NULL,
    resource_type  TEXT    NOT NULL,             -- 'User', 'Group' or 'Account'
    resource_id    TEXT    NOT NULL,
    action         TEXT    NOT NULL CHECK (action = 'created' OR action = 'updated' OR action = 'deleted'),
    version        INTEGER,                      -- the resource's version after the change
    before         TEXT,
    after          TEXT
) STRICT;
INSERT INTO changes_v18 (seq, at, resource_type, resource_id, action, version, before, after)
    SELECT seq, at, resource_type, resource_id, action, version, before, after FROM changes ORDER BY seq;
DROP TABLE changes;
ALTER TABLE changes_v18 RENAME TO changes;
CREATE INDEX changes_resource ON changes (resource_type, resource_id, seq);

-- An event's `id` is a random uuid made by the server; no query looks an event up by it (the
-- feed and webhooks read by `seq`). Its UNIQUE index put each event's key on a random page of
-- that index: one more 4 KiB page written to the log per event, besides the search. SQLite
-- cannot drop a column constraint, so the table is copied without it, in the same column order,
-- keeping `seq` and the AUTOINCREMENT counter (a number is never handed out twice, not even
-- when every event was pruned: `sqlite_sequence` is carried over). Written to run again
-- harmlessly on a table already in this shape.
CREATE TABLE events_v18 (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT    NOT NULL,             -- uuid: the event's identity (webhook-id)
    type           TEXT    NOT NULL,             -- user.created, group.member_added, ...
    occurred_at    TEXT    NOT NULL,             -- the write's stamp: RFC 3339 UTC, fixed width
    resource_type  TEXT    NOT NULL,             -- 'User' or 'Group' (later also 'Account')
    resource_id    TEXT    NOT NULL,
    actor          TEXT    NOT NULL,             -- the token's name, 'cli' or 'status-page'
    data           TEXT    NOT NULL,             -- JSON
    txn            INTEGER                       -- V13: the seq of its write's first event
) STRICT;
INSERT INTO events_v18 (seq, id, type, occurred_at, resource_type, resource_id, actor, data, txn)
    SELECT seq, id, type, occurred_at, resource_type, resource_id, actor, data, txn FROM events ORDER BY seq;
DELETE FROM sqlite_sequence WHERE name = 'events_v18';
INSERT INTO sqlite_sequence (name, seq) SELECT 'events_v18', seq FROM sqlite_sequence WHERE name = 'events';
DROP TABLE events;
ALTER TABLE events_v18 RENAME TO events;
CREATE INDEX events_type ON events (type, seq);
