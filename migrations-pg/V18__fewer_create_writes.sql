-- scimbox's PostgreSQL schema, version 18: the pair of migrations/V18__fewer_create_writes.sql
-- (issue 17, round 2; read it for why). SQLite copies two tables to drop what it cannot drop in
-- place; PostgreSQL drops them directly. The history's `action` CHECK keeps its IN list here:
-- the cost it had on SQLite (a temporary B-tree per insert) is SQLite's own.
-- Append-only: never edit this file once released; add V19__*.sql instead.

-- No query reads the history by `at`.
DROP INDEX IF EXISTS changes_at;

-- No query looks an event up by its uuid; its UNIQUE index was one more random-page write per
-- event.
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_id_key;
