-- scimbox schema, version 10: token rotation without an outage.
-- A rotation keeps the token's row, so its name (the connection: compatibility report, journal,
-- status page row) stays the same; the new secret's hash replaces `hash`, and the secret it
-- replaced moves to `previous_hash`, accepted until `previous_expires`. Only hashes are stored.
ALTER TABLE tokens ADD COLUMN previous_hash BLOB;
ALTER TABLE tokens ADD COLUMN previous_expires TEXT;
-- When the current secret was issued by a rotation (NULL: it is the one issued at `created`).
ALTER TABLE tokens ADD COLUMN rotated TEXT;
-- A secret is looked up by either hash; both are unique across live and old secrets alike.
CREATE UNIQUE INDEX tokens_previous_hash ON tokens (previous_hash) WHERE previous_hash IS NOT NULL;
