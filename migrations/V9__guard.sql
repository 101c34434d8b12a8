-- The deprovisioning guard (issue 15): per token, the deprovisionings it counted in its sliding
-- window, and whether it holds that token's deprovisioning now. Kept in the database so that a
-- tripped guard stays tripped across restarts until an administrator releases it.

-- One row per counted deprovisioning (a deactivation or deletion of a user older than the
-- window). Pruned to the window whenever the token deprovisions again, so a token has at most
-- its threshold's worth of rows.
CREATE TABLE guard_recent (
    token    TEXT NOT NULL,                 -- the token's name (the IdP connection)
    at       TEXT NOT NULL,                 -- RFC 3339 UTC, fixed width: sorts chronologically
    user_id  TEXT NOT NULL
) STRICT;
CREATE INDEX guard_recent_token_at ON guard_recent (token, at);

-- One row per token the guard has tripped for or been released for.
CREATE TABLE guard_state (
    token           TEXT PRIMARY KEY,
    tripped_at      TEXT,                    -- holding since then; NULL: not holding
    held            INTEGER NOT NULL DEFAULT 0, -- attempts held since the trip
    first_held      TEXT,
    last_held       TEXT,
    sample          TEXT NOT NULL DEFAULT '[]', -- JSON array: the first few held users' ids
    released_until  TEXT                     -- deprovisioning passes uncounted until then
) STRICT;

-- The default threshold is a tenth of the active users: counted from this index, not the table.
CREATE INDEX users_active ON users (active);
