-- scimbox schema, version 5: the provisioning journal (every SCIM request, as recorded by the
-- server) and the history of changes to users and groups.
-- Append-only: never edit this file once released; add V7__*.sql instead.

-- One row per request to the SCIM API. Written in batches (about once a second) by the server,
-- never inside a request; pruned by age and count. `body` is the request body with secrets
-- redacted, cut to 16 KiB (a truncated body ends with a marker line).
CREATE TABLE journal (
    seq            INTEGER PRIMARY KEY,
    at             TEXT    NOT NULL,             -- when the request arrived: RFC 3339 UTC, fixed width
    token_name     TEXT,                         -- the connection; NULL when the token was refused
    client         TEXT,                         -- User-Agent
    method         TEXT    NOT NULL,
    path           TEXT    NOT NULL,             -- as the client sent it
    query          TEXT,
    status         INTEGER NOT NULL,
    duration_ms    REAL    NOT NULL,
    resource_type  TEXT,                         -- 'User' or 'Group'
    resource_id    TEXT,
    scim_type      TEXT,
    detail         TEXT,
    body           TEXT
) STRICT;
CREATE INDEX journal_at ON journal (at);
CREATE INDEX journal_failures ON journal ((status >= 400), seq);
CREATE INDEX journal_resource ON journal (resource_type, resource_id, seq) WHERE resource_id IS NOT NULL;
CREATE INDEX journal_token ON journal (token_name, at, status);

-- One row per create, update or delete of a user or group, written in the transaction of the
-- change itself. `before`/`after` are the stored documents (JSON, never a password); a group's
-- membership change is recorded in `after` as {"members": {"added": [...], "removed": [...]}},
-- never as the full member list.
CREATE TABLE changes (
    seq            INTEGER PRIMARY KEY,
    at             TEXT    NOT NULL,
    resource_type  TEXT    NOT NULL,             -- 'User' or 'Group'
    resource_id    TEXT    NOT NULL,
    action         TEXT    NOT NULL CHECK (action IN ('created', 'updated', 'deleted')),
    version        INTEGER,                      -- the resource's version after the change
    before         TEXT,
    after          TEXT
) STRICT;
CREATE INDEX changes_resource ON changes (resource_type, resource_id, seq);
CREATE INDEX changes_at ON changes (at);

-- Membership changes of the write in progress, netted (an add then a remove of the same member
-- cancel out) and folded into that write's `changes` row before it commits: always empty between
-- writes.
CREATE TABLE member_changes_pending (
    group_seq  INTEGER NOT NULL,
    member_id  TEXT    NOT NULL,
    added      INTEGER NOT NULL,                 -- 1 added, 0 removed
    PRIMARY KEY (group_seq, member_id)
) STRICT, WITHOUT ROWID;
