-- scimbox schema, version 11: the application's change feed (issue 14) and app tokens.
-- Append-only: never edit this file once released; add V12__*.sql instead.

-- One row per committed change, written in the transaction of the change itself. `seq` is the
-- feed's order and its cursor: AUTOINCREMENT, so a number is never handed out twice, not even
-- after pruning removed the newest rows. `data` is JSON whose shape depends on `type` (for
-- user.*: the user as GET returned it at that moment; for access.*, to come: the user, the
-- account and the grant). A webhook endpoint's delivery cursor (to come) is a seq in this table.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT    NOT NULL UNIQUE,      -- uuid: the event's identity (webhook-id to come)
    type           TEXT    NOT NULL,             -- user.created, group.member_added, ...
    occurred_at    TEXT    NOT NULL,             -- the write's stamp: RFC 3339 UTC, fixed width
    resource_type  TEXT    NOT NULL,             -- 'User' or 'Group' (later also 'Account')
    resource_id    TEXT    NOT NULL,
    actor          TEXT    NOT NULL,             -- the token's name, 'cli' or 'status-page'
    data           TEXT    NOT NULL              -- JSON
) STRICT;
CREATE INDEX events_type ON events (type, seq);
CREATE INDEX events_occurred_at ON events (occurred_at);

-- The pruned horizon: every event with seq <= pruned_through is gone, so a feed cursor below it
-- has missed events and is answered 410. One row.
CREATE TABLE events_horizon (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    pruned_through  INTEGER NOT NULL
) STRICT;
INSERT INTO events_horizon (id, pruned_through) VALUES (1, 0);

-- A token's scope: 'scim' (an IdP: the SCIM API) or 'app' (an application: reads SCIM and the
-- feed, writes nothing).
ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'scim' CHECK (scope IN ('scim', 'app'));
