-- scimbox schema, version 2: groups and their members.

-- One row per SCIM Group. `doc` holds the normalised resource WITHOUT its members, which live in
-- group_members so that a membership change costs the same on a 10- and a 100,000-member group.
CREATE TABLE groups (
    seq               INTEGER PRIMARY KEY,       -- insertion order: the stable default list order
    id                TEXT    NOT NULL UNIQUE,
    display_name      TEXT    NOT NULL,
    display_name_key  TEXT    NOT NULL UNIQUE,   -- folded: displayName is unique case-insensitively
    external_id       TEXT,
    member_count      INTEGER NOT NULL DEFAULT 0,
    version           INTEGER NOT NULL,
    created           TEXT    NOT NULL,
    last_modified     TEXT    NOT NULL,
    doc               TEXT    NOT NULL
) STRICT;
CREATE INDEX groups_external_id ON groups (external_id);

-- Direct members. `display` is what the client sent, if anything; otherwise the member's name is
-- looked up when read. A member id appears once per group whatever its type (ids are UUIDs).
CREATE TABLE group_members (
    pos          INTEGER PRIMARY KEY,            -- insertion order within a group
    group_seq    INTEGER NOT NULL REFERENCES groups (seq) ON DELETE CASCADE,
    member_type  TEXT    NOT NULL CHECK (member_type IN ('User', 'Group')),
    member_id    TEXT    NOT NULL,
    display      TEXT
) STRICT;
CREATE UNIQUE INDEX group_members_unique ON group_members (group_seq, member_id);
CREATE INDEX group_members_member ON group_members (member_id, member_type);
