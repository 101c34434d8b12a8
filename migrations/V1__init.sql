-- scimbox schema, version 1: users, their indexed email values, and bearer tokens.
-- Append-only: never edit this file once released; add V2__*.sql instead.

-- One row per SCIM User. `doc` holds the normalised resource (canonical attribute names, core
-- attributes at the top level, extensions under their URN; never id/meta/password). The columns
-- beside it are copies of the hot lookup keys, kept in step by the server, so that lookups by id,
-- userName (case-insensitively), externalId and emails.value use an index, never a table scan.
CREATE TABLE users (
    seq            INTEGER PRIMARY KEY,          -- insertion order: the stable default list order
    id             TEXT    NOT NULL UNIQUE,      -- the SCIM id (caseExact)
    user_name      TEXT    NOT NULL,
    user_name_key  TEXT    NOT NULL UNIQUE,      -- Unicode-folded userName: uniqueness is case-insensitive
    external_id    TEXT,                         -- caseExact
    active         INTEGER NOT NULL DEFAULT 1,
    version        INTEGER NOT NULL,             -- meta.version is W/"<version>"
    created        TEXT    NOT NULL,             -- RFC 3339 UTC, fixed width: sorts chronologically
    last_modified  TEXT    NOT NULL,
    doc            TEXT    NOT NULL
) STRICT;
CREATE INDEX users_external_id ON users (external_id);

-- emails[].value, Unicode-folded (emails.value has caseExact=false), one row per value.
CREATE TABLE user_emails (
    user_seq   INTEGER NOT NULL REFERENCES users (seq) ON DELETE CASCADE,
    value_key  TEXT    NOT NULL
) STRICT;
CREATE INDEX user_emails_value ON user_emails (value_key);
CREATE INDEX user_emails_user ON user_emails (user_seq);

-- Bearer tokens issued to IdP connections. Only the SHA-256 of a token is stored.
CREATE TABLE tokens (
    seq        INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    hash       BLOB    NOT NULL UNIQUE,
    created    TEXT    NOT NULL,
    expires    TEXT,
    revoked    TEXT,
    last_used  TEXT
) STRICT;
-- A name identifies one live token at a time; revoked ones stay listed.
CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked IS NULL;
