//! SQL for groups and their members (see `migrations/V2__groups.sql`). A group's document holds
//! everything but its members; members are rows of `group_members`, so adding or removing one
//! costs an index update whatever the group's size.

use super::sql::{Connection, OptionalExtension, params};
use serde_json::{Map, Value, json};

use super::StoreError;
use super::changes::{self, Action, Record};
use super::rows::{self, Kind, ResourceRow};
use super::users::fold;

/// A stored group (its document has no `members`).
pub type GroupRow = ResourceRow;

/// An indexed lookup that narrows a group list query before its full filter runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// `id eq "..."`.
    Id(String),
    /// `displayName eq "..."` (case-insensitive).
    DisplayName(String),
    /// `externalId eq "..."`.
    ExternalId(String),
    /// `members.value eq "..."` / `members[value eq "..."]`.
    Member(String),
}

/// A member's type (RFC 7643 §4.2 `members.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberType {
    /// A User.
    User,
    /// A Group.
    Group,
}

impl MemberType {
    /// As stored and returned.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberType::User => "User",
            MemberType::Group => "Group",
        }
    }

    /// The endpoint segment of its `$ref`.
    pub fn endpoint(self) -> &'static str {
        match self {
            MemberType::User => "Users",
            MemberType::Group => "Groups",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "Group" { MemberType::Group } else { MemberType::User }
    }
}

/// One direct member as stored, with its display name resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's id.
    pub id: String,
    /// User or Group.
    pub kind: MemberType,
    /// What the client sent as `display`, else the member's displayName/userName.
    pub display: Option<String>,
}

fn key_of(doc: &Map<String, Value>, k: &str) -> Option<String> {
    doc.get(k).and_then(Value::as_str).map(str::to_owned)
}

pub(super) fn map_unique(e: super::sql::Error, display_name: &str) -> StoreError {
    if rows::is_unique_violation(&e, "display_name_key") {
        return StoreError::Conflict(format!(
            "displayName \"{display_name}\" is already used by another group (unique, compared case-insensitively)"
        ));
    }
    e.into()
}

/// Inserts a new group (without members); a taken displayName is a [`StoreError::Conflict`].
pub fn insert(conn: &Connection, id: &str, doc: Map<String, Value>, now: &str) -> Result<GroupRow, StoreError> {
    let name = key_of(&doc, "displayName").unwrap_or_default();
    let seq = conn
        .prepare_cached(
            "INSERT INTO groups (id, display_name, display_name_key, external_id, version, created, last_modified, doc)
             VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5, ?6)",
        )?
        .insert_seq(params![id, name, fold(&name), key_of(&doc, "externalId"), now, serde_json::to_string(&doc)?])
        .map_err(|e| map_unique(e, &name))?;
    super::attr_index::write(conn, Kind::Group, seq, None, Some(&doc))?;
    let after = Some(Value::Object(doc.clone()));
    changes::record(
        conn,
        Record { kind: Kind::Group, id, action: Action::Created, version: Some(1), before: None, after, at: now },
    )?;
    Ok(GroupRow { seq, id: id.into(), version: 1, created: now.into(), last_modified: now.into(), doc })
}

/// The group with this id.
pub fn get(conn: &Connection, id: &str) -> Result<Option<GroupRow>, StoreError> {
    rows::get(conn, Kind::Group, id)
}

/// Stores `doc` as the group's document and bumps its version, if `doc` or (per `members_changed`)
/// its members changed; otherwise returns the row untouched. The change is recorded in the
/// history with the membership changes noted since the group was read.
pub fn save(
    conn: &Connection,
    current: GroupRow,
    doc: Map<String, Value>,
    members_changed: bool,
    now: &str,
) -> Result<GroupRow, StoreError> {
    if doc == current.doc && !members_changed {
        return Ok(current);
    }
    let name = key_of(&doc, "displayName").unwrap_or_default();
    let version = current.version + 1;
    conn.prepare_cached(
        "UPDATE groups SET display_name = ?2, display_name_key = ?3, external_id = ?4, version = ?5,
                last_modified = ?6, doc = ?7 WHERE seq = ?1",
    )?
    .execute(params![
        current.seq,
        name,
        fold(&name),
        key_of(&doc, "externalId"),
        version,
        now,
        serde_json::to_string(&doc)?
    ])
    .map_err(|e| map_unique(e, &name))?;
    super::attr_index::write(conn, Kind::Group, current.seq, Some(&current.doc), Some(&doc))?;
    let after = Some(changes::with_members(&doc, changes::take_members(conn, current.seq)?));
    let (id, before) = (current.id.as_str(), Some(&current.doc));
    changes::record(
        conn,
        Record { kind: Kind::Group, id, action: Action::Updated, version: Some(version), before, after, at: now },
    )?;
    Ok(GroupRow { version, last_modified: now.into(), doc, ..current })
}

/// The groups an indexed lookup finds, in the default order.
pub fn lookup(conn: &Connection, by: &Lookup) -> Result<Vec<GroupRow>, StoreError> {
    let (cond, key) = match by {
        Lookup::Id(v) => ("WHERE id = ?1 ORDER BY seq", v.clone()),
        Lookup::DisplayName(v) => ("WHERE display_name_key = ?1 ORDER BY seq", fold(v)),
        Lookup::ExternalId(v) => ("WHERE external_id = ?1 ORDER BY seq", v.clone()),
        Lookup::Member(v) => {
            ("WHERE seq IN (SELECT group_seq FROM group_members WHERE member_id = ?1) ORDER BY seq", v.clone())
        }
    };
    rows::query(conn, Kind::Group, cond, [key])
}

/// The type of the resource with this id, if a User or Group has it.
pub fn resource_type_of(conn: &Connection, id: &str) -> Result<Option<MemberType>, StoreError> {
    let found: Option<String> = conn
        .prepare_cached(
            "SELECT 'User' FROM users WHERE id = ?1 UNION ALL SELECT 'Group' FROM groups WHERE id = ?1 LIMIT 1",
        )?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(found.map(|t| MemberType::parse(&t)))
}

/// Adds a member unless it is already there; returns whether it was added.
pub fn add_member(conn: &Connection, group_seq: i64, m: &Member) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO group_members (group_seq, member_type, member_id, display) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (group_seq, member_id) DO NOTHING",
        )?
        .execute(params![group_seq, m.kind.as_str(), m.id, m.display])?;
    if n > 0 {
        bump_count(conn, group_seq, 1)?;
        changes::member_added(conn, group_seq, &m.id)?;
    }
    Ok(n > 0)
}

/// Removes a member; returns whether it was there.
pub fn remove_member(conn: &Connection, group_seq: i64, member_id: &str) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached("DELETE FROM group_members WHERE group_seq = ?1 AND member_id = ?2")?
        .execute(params![group_seq, member_id])?;
    if n > 0 {
        bump_count(conn, group_seq, -1)?;
        changes::member_removed(conn, group_seq, member_id)?;
    }
    Ok(n > 0)
}

/// Removes every member; returns how many there were.
pub fn clear_members(conn: &Connection, group_seq: i64) -> Result<usize, StoreError> {
    changes::members_clearing(conn, group_seq)?;
    let n = conn.prepare_cached("DELETE FROM group_members WHERE group_seq = ?1")?.execute([group_seq])?;
    conn.prepare_cached("UPDATE groups SET member_count = 0 WHERE seq = ?1")?.execute([group_seq])?;
    Ok(n)
}

fn bump_count(conn: &Connection, group_seq: i64, delta: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE groups SET member_count = member_count + ?2 WHERE seq = ?1")?
        .execute(params![group_seq, delta])?;
    Ok(())
}

/// How many direct members the group has.
pub fn member_count(conn: &Connection, group_seq: i64) -> Result<u64, StoreError> {
    let n: i64 =
        conn.prepare_cached("SELECT member_count FROM groups WHERE seq = ?1")?.query_row([group_seq], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The direct members, in the order they were added, with display names resolved.
pub fn members(conn: &Connection, group_seq: i64) -> Result<Vec<Member>, StoreError> {
    let mut stmt = conn.prepare_cached(match conn.dialect() {
        super::sql::Dialect::Sqlite => {
            "SELECT gm.member_id, gm.member_type,
                    COALESCE(gm.display, json_extract(u.doc, '$.displayName'), u.user_name, g.display_name)
             FROM group_members gm
             LEFT JOIN users u ON gm.member_type = 'User' AND u.id = gm.member_id
             LEFT JOIN groups g ON gm.member_type = 'Group' AND g.id = gm.member_id
             WHERE gm.group_seq = ?1 ORDER BY gm.pos"
        }
        super::sql::Dialect::Postgres => {
            "SELECT gm.member_id, gm.member_type,
                    COALESCE(gm.display, u.doc::jsonb ->> 'displayName', u.user_name, g.display_name)
             FROM group_members gm
             LEFT JOIN users u ON gm.member_type = 'User' AND u.id = gm.member_id
             LEFT JOIN groups g ON gm.member_type = 'Group' AND g.id = gm.member_id
             WHERE gm.group_seq = ?1 ORDER BY gm.pos"
        }
    })?;
    let rows = stmt.query_map([group_seq], |r| {
        let kind: String = r.get(1)?;
        Ok(Member { id: r.get(0)?, kind: MemberType::parse(&kind), display: r.get(2)? })
    })?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// Removes the resource `id` from every group it belongs to, bumping those groups' versions
/// (a deleted User or Group leaves no dangling membership); each is recorded as an update of
/// that group.
pub fn forget_member(conn: &Connection, id: &str, now: &str) -> Result<(), StoreError> {
    let seqs: Vec<i64> = conn
        .prepare_cached("SELECT group_seq FROM group_members WHERE member_id = ?1")?
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    conn.prepare_cached("DELETE FROM group_members WHERE member_id = ?1")?.execute([id])?;
    let mut bump = conn.prepare_cached(
        "UPDATE groups SET member_count = member_count - 1, version = version + 1, last_modified = ?2 WHERE seq = ?1",
    )?;
    for seq in &seqs {
        bump.execute(params![seq, now])?;
    }
    for row in rows::by_seqs(conn, Kind::Group, &seqs)? {
        let (before, after) = (Some(&row.doc), Some(changes::with_members(&row.doc, Some(json!({"removed": [id]})))));
        let r = Record {
            kind: Kind::Group,
            id: &row.id,
            action: Action::Updated,
            version: Some(row.version),
            before,
            after,
            at: now,
        };
        changes::record(conn, r)?;
    }
    Ok(())
}

/// A group a user belongs to, for the User's read-only `groups` attribute (RFC 7643 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The group's id.
    pub id: String,
    /// Its displayName.
    pub display: String,
    /// Whether the membership is direct (else through nested groups).
    pub direct: bool,
}

/// The groups `member_id` belongs to, directly or through nested groups (cycles are harmless).
///
/// Every indirect membership passes through a direct one, so a member of no group at all, the
/// common case when users are listed, costs one probe of `group_members_member` instead of the
/// recursive query.
pub fn memberships(conn: &Connection, member_id: &str) -> Result<Vec<Membership>, StoreError> {
    let direct: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM group_members WHERE member_id = ?1)")?
        .query_row([member_id], |r| r.get(0))?;
    if !direct {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "WITH RECURSIVE reach(seq, direct) AS (
             SELECT group_seq, 1 FROM group_members WHERE member_id = ?1
             UNION
             SELECT gm.group_seq, 0 FROM reach r
             JOIN groups g ON g.seq = r.seq
             JOIN group_members gm ON gm.member_type = 'Group' AND gm.member_id = g.id
         )
         SELECT g.id, g.display_name, MAX(r.direct) FROM reach r JOIN groups g ON g.seq = r.seq
         GROUP BY g.seq ORDER BY g.seq",
    )?;
    let rows = stmt.query_map([member_id], |r| {
        Ok(Membership { id: r.get(0)?, display: r.get(1)?, direct: r.get::<_, i64>(2)? == 1 })
    })?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::db::{changes, users};

    /// Storage records the time it is handed, never its own: deleting a member and removing it
    /// from its groups, one write, record one moment (issue 12: they used to differ).
    #[test]
    fn a_deletion_and_its_membership_removal_carry_the_writes_time() {
        let dir = tempfile::tempdir().expect("temp dir");
        let c = crate::db::migrate(&dir.path().join("g.db")).expect("migrate");
        let (created, deleted) = ("2001-01-01T00:00:00.000Z", "2002-02-02T00:00:00.000Z");
        let doc = |v: Value| v.as_object().cloned().unwrap_or_default();
        users::insert(&c, "u1", doc(json!({"userName": "ann"})), created).expect("user");
        let g = insert(&c, "g1", doc(json!({"displayName": "staff"})), created).expect("group");
        add_member(&c, g.seq, &Member { id: "u1".into(), kind: MemberType::User, display: None }).expect("member");
        changes::end_of_write(&c).expect("end of write");

        rows::delete(&c, Kind::User, "u1", deleted, |_| Ok(())).expect("delete");
        forget_member(&c, "u1", deleted).expect("forget");

        let user = changes::changes_for(&c, "User", "u1", 1).expect("user history");
        let group = changes::changes_for(&c, "Group", "g1", 1).expect("group history");
        assert_eq!((user[0].action.as_str(), user[0].at.as_str()), ("deleted", deleted));
        assert_eq!((group[0].action.as_str(), group[0].at.as_str()), ("updated", deleted));
        assert_eq!(get(&c, "g1").expect("read").map(|g| g.last_modified).as_deref(), Some(deleted));
    }
}
