-- scimbox schema, version 3: the accounts registry (trees of accounts) and the roles catalogue.
-- Append-only: never edit this file once released; add V4__*.sql instead.

-- One row per account an IdP payload may name (`{"accountId": "ACC123", ...}`). Accounts form
-- trees: a grant on a parent reaches every descendant. A parent cannot be deleted while it has
-- children (RESTRICT); the CLI refuses cycles. Users reference accounts only inside their payloads,
-- so removing an account users still name is allowed: their access to it simply no longer resolves.
CREATE TABLE accounts (
    id         TEXT NOT NULL PRIMARY KEY,        -- as the IdP sends it (caseExact)
    name       TEXT NOT NULL,                    -- for people: "Acme Corp"
    parent_id  TEXT REFERENCES accounts (id) ON DELETE RESTRICT,  -- NULL for a root
    created    TEXT NOT NULL                     -- RFC 3339 UTC, fixed width
) STRICT;
CREATE INDEX accounts_parent ON accounts (parent_id);

-- The roles catalogue. Empty: any role name is accepted; otherwise only these, compared
-- case-insensitively (hence COLLATE NOCASE on the key: "Editor" and "editor" are one role).
CREATE TABLE roles (
    name     TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
    created  TEXT NOT NULL
) STRICT;
