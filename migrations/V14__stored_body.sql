-- scimbox schema, version 14: each user's representation as stored text (issue 17).
-- Append-only: never edit this file once released; add V15__*.sql instead.

-- `body` is the user's SCIM representation without what a read computes: `schemas`, `id` and
-- the document's attributes as one JSON object, byte for byte what a GET returns before its
-- `groups` and `meta` (server/src/db/stored.rs). A default GET and each user of a list page
-- copy it and splice the rest in, instead of decoding and re-serialising `doc`.
--
-- NULL means "render from `doc`": rows from before this version until the start-up fill
-- (key_versions 'users.body'), and users whose payloads name accounts, whose effective access
-- follows the registry and is computed on every read.
ALTER TABLE users ADD COLUMN body TEXT;

-- Whatever changes a user's document without writing its body (an older scimbox, a hand-made
-- UPDATE) makes the body NULL, so a stored body is never older than its document. scimbox's own
-- writes set both in one statement, which leaves NEW.body different from OLD.body.
CREATE TRIGGER users_body_follows_doc AFTER UPDATE OF doc ON users
    WHEN NEW.body IS OLD.body AND NEW.body IS NOT NULL
BEGIN
    UPDATE users SET body = NULL WHERE seq = NEW.seq;
END;
