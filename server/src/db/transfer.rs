//! SQL for `scimbox export` and `scimbox import`: the rows as they are stored (ids, versions,
//! timestamps, raw member `display` values, insertion order), read in one snapshot, and written
//! back verbatim into an empty database.
//!
//! Import writes the rows without recording them in the change history: it moves data, it does
//! not change it. Token hashes, administrators, sessions, the journal and the history are never
//! read here.

use super::sql::{Connection, params};
use serde_json::{Map, Value};

use super::StoreError;
use super::accounts::{self, Account, Role};
use super::groups::{self, MemberType};
use super::rows::{self, Kind, ResourceRow};
use super::users::{self, Keys};

/// One direct membership as stored: `display` is what the client sent (`None`: looked up when
/// read), so that it reads back the same either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The group's id.
    pub group: String,
    /// The member's id.
    pub member: String,
    /// User or Group.
    pub kind: MemberType,
    /// The `display` the client sent, if any.
    pub display: Option<String>,
}

/// Everything an export holds, handed to `visit` in an order an import can replay: accounts
/// (parents first), roles, users and groups (each in insertion order), then memberships (each
/// group's in its order). Read in one transaction, so it is one moment of the database.
pub enum Item {
    /// A registered account.
    Account(Account),
    /// A catalogued role.
    Role(Role),
    /// A user row.
    User(ResourceRow),
    /// A group row (without members).
    Group(ResourceRow),
    /// A direct membership.
    Member(Membership),
}

/// Calls `visit` on every [`Item`], from one snapshot.
pub fn export(conn: &Connection, mut visit: impl FnMut(Item) -> Result<(), StoreError>) -> Result<(), StoreError> {
    rows::snapshot(conn, || {
        for entry in accounts::list(conn)? {
            visit(Item::Account(entry.account))?;
        }
        for role in accounts::roles(conn)? {
            visit(Item::Role(role))?;
        }
        rows::scan(conn, Kind::User, None, |row| visit(Item::User(row)))?;
        rows::scan(conn, Kind::Group, None, |row| visit(Item::Group(row)))?;
        let mut stmt = conn.prepare(
            "SELECT g.id, gm.member_id, gm.member_type, gm.display
             FROM group_members gm JOIN groups g ON g.seq = gm.group_seq
             ORDER BY gm.group_seq, gm.pos",
        )?;
        let mut found = stmt.query([])?;
        while let Some(r) = found.next()? {
            let kind: String = r.get(2)?;
            let kind = if kind == "Group" { MemberType::Group } else { MemberType::User };
            visit(Item::Member(Membership { group: r.get(0)?, member: r.get(1)?, kind, display: r.get(3)? }))?;
        }
        Ok(())
    })
}

/// What makes a database non-empty for an import, if anything: the first of users, groups,
/// accounts and roles that has a row. Tokens and administrators do not count (an operator may
/// issue a token before importing); nothing an import writes can collide with them.
pub fn holds_data(conn: &Connection) -> Result<Option<&'static str>, StoreError> {
    for (table, what) in [("users", "users"), ("groups", "groups"), ("accounts", "accounts"), ("roles", "roles")] {
        let any: bool = conn.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| r.get(0))?;
        if any {
            return Ok(Some(what));
        }
    }
    Ok(None)
}

/// Inserts an account as exported; its parent must be there already.
pub fn put_account(conn: &Connection, a: &Account) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO accounts (id, name, parent_id, created) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![a.id, a.name, a.parent_id, a.created])?;
    Ok(())
}

/// Inserts a role as exported.
pub fn put_role(conn: &Connection, r: &Role) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO roles (name, created) VALUES (?1, ?2)")?.execute(params![r.name, r.created])?;
    Ok(())
}

/// A resource to insert as exported: its id, version and timestamps are kept.
pub struct Resource<'a> {
    /// The SCIM id.
    pub id: &'a str,
    /// `meta.version`'s number.
    pub version: i64,
    /// `meta.created`, as stored.
    pub created: &'a str,
    /// `meta.lastModified`, as stored.
    pub last_modified: &'a str,
    /// The normalised document (no id, meta, schemas, groups or members).
    pub doc: &'a Map<String, Value>,
}

/// Inserts a user with its lookup keys; a taken userName is a [`StoreError::Conflict`].
pub fn put_user(conn: &Connection, r: &Resource<'_>) -> Result<(), StoreError> {
    let keys = Keys::of(r.doc);
    let json = serde_json::to_string(r.doc)?;
    let body = super::stored::user_body(r.id, r.doc, &json)?;
    let seq = conn
        .prepare_cached(
            "INSERT INTO users (id, user_name, user_name_key, external_id, active, version, created, last_modified, doc, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .insert_seq(params![
        r.id,
        keys.user_name,
        users::user_name_key(&keys.user_name),
        keys.external_id,
        keys.active,
        r.version,
        r.created,
        r.last_modified,
        json,
        body
    ])
    .map_err(|e| users::map_unique(e, &keys.user_name))?;
    super::attr_index::write(conn, super::rows::Kind::User, seq, None, Some(r.doc))?;
    users::write_emails(conn, seq, &keys.emails)
}

/// Inserts a group (without members); a taken displayName is a [`StoreError::Conflict`].
pub fn put_group(conn: &Connection, r: &Resource<'_>) -> Result<(), StoreError> {
    let text = |k: &str| r.doc.get(k).and_then(Value::as_str).map(str::to_owned);
    let name = text("displayName").unwrap_or_default();
    let seq = conn
        .prepare_cached(
            "INSERT INTO groups (id, display_name, display_name_key, external_id, version, created, last_modified, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .insert_seq(params![
            r.id,
            name,
            users::fold(&name),
            text("externalId"),
            r.version,
            r.created,
            r.last_modified,
            serde_json::to_string(r.doc)?
        ])
        .map_err(|e| groups::map_unique(e, &name))?;
    super::attr_index::write(conn, super::rows::Kind::Group, seq, None, Some(r.doc))
}

/// Adds a membership as exported, after its group and member; keeps the group's member count.
/// `false` when the group is not there.
pub fn put_member(conn: &Connection, m: &Membership) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO group_members (group_seq, member_type, member_id, display)
             SELECT seq, ?2, ?3, ?4 FROM groups WHERE id = ?1",
        )?
        .execute(params![m.group, m.kind.as_str(), m.member, m.display])?;
    conn.prepare_cached("UPDATE groups SET member_count = member_count + ?2 WHERE id = ?1")?
        .execute(params![m.group, i64::try_from(n).unwrap_or(0)])?;
    Ok(n > 0)
}
