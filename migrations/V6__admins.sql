-- scimbox schema, version 6: status-page administrators, their sessions and login attempts.
-- Append-only: never edit this file once released; add V7__*.sql instead.

-- Administrators, added with `scimbox admin add`. `hash` is an argon2 PHC string.
CREATE TABLE admins (
    name        TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
    hash        TEXT NOT NULL,
    created     TEXT NOT NULL,
    last_login  TEXT
) STRICT;

-- Logged-in sessions. Only the SHA-256 of the cookie value is stored; `csrf` is the token every
-- form of the session must carry.
CREATE TABLE admin_sessions (
    hash     BLOB NOT NULL PRIMARY KEY,
    admin    TEXT NOT NULL REFERENCES admins (name) ON DELETE CASCADE,
    csrf     TEXT NOT NULL UNIQUE,
    created  TEXT NOT NULL,
    expires  TEXT NOT NULL
) STRICT;
CREATE INDEX admin_sessions_expires ON admin_sessions (expires);
CREATE INDEX admin_sessions_admin ON admin_sessions (admin);

-- Login attempts, for throttling (kept one day). `name` is lower-cased.
CREATE TABLE login_attempts (
    seq   INTEGER PRIMARY KEY,
    at    TEXT    NOT NULL,
    name  TEXT    NOT NULL,
    ip    TEXT    NOT NULL,
    ok    INTEGER NOT NULL
) STRICT;
CREATE INDEX login_attempts_name ON login_attempts (name, at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at);
CREATE INDEX login_attempts_at ON login_attempts (at);
