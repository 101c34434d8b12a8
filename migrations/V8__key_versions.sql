-- scimbox schema, version 8: which spelling each derived key column holds.
-- Append-only: never edit this file once released; add V9__*.sql instead.

-- A key column (users.user_name_key...) is computed by the server from the document. When the
-- way it is computed changes, the server re-computes the column once at start and records the
-- new version here (server/src/db/users.rs `rekey`). Version 1 of users.user_name_key is the
-- case-folded userName (V1); version 2 (issue 11) folds its NFC form without surrounding
-- whitespace, so `alice ` and an NFD `é` no longer sit beside their look-alikes.
CREATE TABLE key_versions (
    name     TEXT    PRIMARY KEY,
    version  INTEGER NOT NULL
) STRICT;
INSERT INTO key_versions (name, version) VALUES ('users.user_name_key', 1);
