-- scimbox schema, version 15: an equality index on every string attribute (issue 17).
-- Append-only: never edit this file once released; add V16__*.sql instead.

-- One row per string value of an indexed attribute of a resource (server/src/db/attr_index.rs;
-- which attributes, and how a value becomes its key, is scimbox_validator::filter::index):
-- `kind` 1 for users, 2 for groups; `attr` the attribute's path (`displayName`,
-- `name.givenName`, `emails.value`, an extension's as `<urn>:department`); `key` the value as
-- the filter evaluator compares it (case-folded unless the attribute is caseExact, cut to 200
-- bytes); `seq` the resource's row. The primary key is the covering index a filter's `eq` (one
-- key) or `sw` (a key range) reads; a write deletes and inserts exactly the rows whose value
-- changed, by that key, so no index on `seq` is needed.
CREATE TABLE attr_index (
    kind  INTEGER NOT NULL,
    attr  TEXT    NOT NULL,
    key   TEXT    NOT NULL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (kind, attr, key, seq)
) STRICT, WITHOUT ROWID;

-- Whether the index holds every resource of a kind. A database written before this version (or
-- by a build that indexes other attributes: `signature` differs) is filled in the background,
-- in batches in the order of `seq`, `through` being the last row done; until `complete`, filters
-- are answered by a scan, as before.
CREATE TABLE attr_index_state (
    kind       INTEGER PRIMARY KEY,
    signature  TEXT    NOT NULL,
    through    INTEGER NOT NULL,
    complete   INTEGER NOT NULL
) STRICT;
