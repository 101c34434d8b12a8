-- scimbox schema, version 12: webhook endpoints and their delivery state (issue 14, item 4).
-- Append-only: never edit this file once released; add V13__*.sql instead.

-- One row per endpoint. The delivery state lives here, beside the events it points into, so it
-- survives restarts and kill -9: `cursor` is the seq of the last event delivered (or passed over
-- by the types filter) and only moves after a 2xx, in its own committed write; an event whose
-- 2xx arrived but whose cursor update did not commit is sent again, with the same webhook-id.
CREATE TABLE webhooks (
    id               INTEGER PRIMARY KEY AUTOINCREMENT, -- identity: a name removed and added again is a new endpoint
    name             TEXT    NOT NULL UNIQUE,
    url              TEXT    NOT NULL,                  -- http://... (https needs a TLS client: not yet)
    secret           TEXT    NOT NULL,                  -- whsec_...: stored as given, it is needed to sign
    types            TEXT,                              -- comma-separated patterns (user.*,access.*); NULL: all
    created_at       TEXT    NOT NULL,
    cursor           INTEGER NOT NULL,                  -- events.seq delivered through
    generation       INTEGER NOT NULL DEFAULT 0,        -- bumped by replay: a delivery in flight may not move the cursor back over it
    attempts         INTEGER NOT NULL DEFAULT 0,        -- failed attempts at the event after the cursor
    next_attempt_at  TEXT,                              -- RFC 3339; NULL: at once
    last_error       TEXT,
    last_error_at    TEXT,
    last_delivered_at TEXT
) STRICT;
