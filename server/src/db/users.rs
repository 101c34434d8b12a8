//! SQL for users. A user is its normalised document plus the indexed copies of its lookup keys
//! (see `migrations/V1__init.sql`); this module keeps the two in step. The generic row
//! operations (get, page, scan, delete) are in [`super::rows`].

use rusqlite::{Connection, params};
use serde_json::{Map, Value};

use super::StoreError;
use super::changes::{self, Action, Record};
use super::rows::{self, Kind, ResourceRow};

/// A stored user.
pub type UserRow = ResourceRow;

/// An indexed lookup that narrows a list query before its full filter runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// `id eq "..."` (caseExact).
    Id(String),
    /// `userName eq "..."` (case-insensitive).
    UserName(String),
    /// `externalId eq "..."` (caseExact).
    ExternalId(String),
    /// `emails.value eq "..."` / `emails[value eq "..."]` (case-insensitive).
    Email(String),
}

/// Unicode-aware case folding for the indexed attributes with `caseExact=false`: the
/// validator's, so that the uniqueness index and filters agree.
pub fn fold(s: &str) -> String {
    scimbox_validator::text::fold(s).into_owned()
}

/// The keys copied out of a document into indexed columns.
struct Keys {
    user_name: String,
    external_id: Option<String>,
    active: bool,
    emails: Vec<String>,
}

impl Keys {
    fn of(doc: &Map<String, Value>) -> Self {
        let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
        let emails = doc
            .get("emails")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|e| e.get("value")?.as_str().map(fold)).collect())
            .unwrap_or_default();
        Self {
            user_name: text("userName").unwrap_or_default(),
            external_id: text("externalId"),
            active: doc.get("active").and_then(Value::as_bool).unwrap_or(true),
            emails,
        }
    }
}

fn map_unique(e: rusqlite::Error, user_name: &str) -> StoreError {
    if rows::is_unique_violation(&e, "user_name_key") {
        return StoreError::Conflict(format!(
            "userName \"{user_name}\" is already taken by another user (userName is unique, compared case-insensitively)"
        ));
    }
    e.into()
}

fn write_emails(conn: &Connection, seq: i64, emails: &[String]) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM user_emails WHERE user_seq = ?1")?.execute([seq])?;
    let mut ins = conn.prepare_cached("INSERT INTO user_emails (user_seq, value_key) VALUES (?1, ?2)")?;
    for e in emails {
        ins.execute(params![seq, e])?;
    }
    Ok(())
}

/// Inserts a new user; a taken userName is a [`StoreError::Conflict`].
pub fn insert(conn: &Connection, id: &str, doc: Map<String, Value>, now: &str) -> Result<UserRow, StoreError> {
    let keys = Keys::of(&doc);
    let json = serde_json::to_string(&doc)?;
    conn.prepare_cached(
        "INSERT INTO users (id, user_name, user_name_key, external_id, active, version, created, last_modified, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6, ?7)",
    )?
    .execute(params![id, keys.user_name, fold(&keys.user_name), keys.external_id, keys.active, now, json])
    .map_err(|e| map_unique(e, &keys.user_name))?;
    let seq = conn.last_insert_rowid();
    write_emails(conn, seq, &keys.emails)?;
    changes::record_created(conn, Kind::User, id, &doc, &json, now)?;
    Ok(UserRow { seq, id: id.into(), version: 1, created: now.into(), last_modified: now.into(), doc })
}

/// The user with this id.
pub fn get(conn: &Connection, id: &str) -> Result<Option<UserRow>, StoreError> {
    rows::get(conn, Kind::User, id)
}

/// Replaces the user's document with what `change` makes of the current row, bumping its
/// version. `change` may refuse (precondition, schema rule); nothing is written then.
pub fn update(
    conn: &Connection,
    id: &str,
    now: &str,
    change: impl FnOnce(&UserRow) -> Result<Map<String, Value>, StoreError>,
) -> Result<UserRow, StoreError> {
    let current = get(conn, id)?.ok_or(StoreError::NotFound)?;
    let doc = change(&current)?;
    if doc == current.doc {
        return Ok(current); // nothing changed: keep the version, write nothing
    }
    let keys = Keys::of(&doc);
    let json = serde_json::to_string(&doc)?;
    let version = current.version + 1;
    conn.prepare_cached(
        "UPDATE users SET user_name = ?2, user_name_key = ?3, external_id = ?4, active = ?5,
                version = ?6, last_modified = ?7, doc = ?8 WHERE seq = ?1",
    )?
    .execute(params![
        current.seq,
        keys.user_name,
        fold(&keys.user_name),
        keys.external_id,
        keys.active,
        version,
        now,
        json
    ])
    .map_err(|e| map_unique(e, &keys.user_name))?;
    write_emails(conn, current.seq, &keys.emails)?;
    let (before, after) = (Some(&current.doc), Some(Value::Object(doc.clone())));
    let id = current.id.as_str();
    changes::record(
        conn,
        Record { kind: Kind::User, id, action: Action::Updated, version: Some(version), before, after, at: now },
    )?;
    Ok(UserRow { version, last_modified: now.into(), doc, ..current })
}

/// The users an indexed lookup finds, in the default order.
pub fn lookup(conn: &Connection, by: &Lookup) -> Result<Vec<UserRow>, StoreError> {
    let (cond, key) = match by {
        Lookup::Id(v) => ("WHERE id = ?1 ORDER BY seq", v.clone()),
        Lookup::UserName(v) => ("WHERE user_name_key = ?1 ORDER BY seq", fold(v)),
        Lookup::ExternalId(v) => ("WHERE external_id = ?1 ORDER BY seq", v.clone()),
        Lookup::Email(v) => {
            ("WHERE seq IN (SELECT user_seq FROM user_emails WHERE value_key = ?1) ORDER BY seq", fold(v))
        }
    };
    rows::query(conn, Kind::User, cond, [key])
}
