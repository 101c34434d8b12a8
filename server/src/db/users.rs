//! SQL for users. A user is its normalised document plus the indexed copies of its lookup keys
//! (see `migrations/V1__init.sql`); this module keeps the two in step.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Map, Value};

use super::StoreError;

/// A stored user.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Insertion order: the default, stable list order.
    pub seq: i64,
    /// The SCIM id.
    pub id: String,
    /// Incremented on every change; `meta.version` is `W/"<version>"`.
    pub version: i64,
    /// `meta.created`.
    pub created: String,
    /// `meta.lastModified`.
    pub last_modified: String,
    /// The normalised resource without id/meta/schemas.
    pub doc: Map<String, Value>,
}

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

const COLUMNS: &str = "seq, id, version, created, last_modified, doc";

fn from_row(r: &Row<'_>) -> rusqlite::Result<(i64, String, i64, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn decode(raw: (i64, String, i64, String, String, String)) -> Result<UserRow, StoreError> {
    let (seq, id, version, created, last_modified, doc) = raw;
    let doc = serde_json::from_str(&doc)?;
    Ok(UserRow { seq, id, version, created, last_modified, doc })
}

fn query(conn: &Connection, sql: &str, args: impl rusqlite::Params) -> Result<Vec<UserRow>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(args, from_row)?;
    rows.map(|r| decode(r?)).collect()
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

fn user_name_taken(user_name: &str) -> StoreError {
    StoreError::Conflict(format!(
        "userName \"{user_name}\" is already taken by another user (userName is unique, compared case-insensitively)"
    ))
}

fn map_unique(e: rusqlite::Error, user_name: &str) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, Some(msg))
            if f.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains("user_name_key") =>
        {
            user_name_taken(user_name)
        }
        _ => e.into(),
    }
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
    Ok(UserRow { seq, id: id.into(), version: 1, created: now.into(), last_modified: now.into(), doc })
}

/// The user with this id.
pub fn get(conn: &Connection, id: &str) -> Result<Option<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = ?1");
    let raw = conn.prepare_cached(&sql)?.query_row([id], from_row).optional()?;
    raw.map(decode).transpose()
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
    Ok(UserRow { version, last_modified: now.into(), doc, ..current })
}

/// Deletes the user with this id; `check` sees it first and may refuse (precondition).
pub fn delete(
    conn: &Connection,
    id: &str,
    check: impl FnOnce(&UserRow) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let current = get(conn, id)?.ok_or(StoreError::NotFound)?;
    check(&current)?;
    conn.prepare_cached("DELETE FROM users WHERE seq = ?1")?.execute([current.seq])?;
    Ok(())
}

/// How many users there are.
pub fn count(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn.prepare_cached("SELECT COUNT(*) FROM users")?.query_row([], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A page of users in the default order.
pub fn page(conn: &Connection, offset: u64, limit: u64) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY seq LIMIT ?1 OFFSET ?2");
    let (limit, offset) = (i64::try_from(limit).unwrap_or(i64::MAX), i64::try_from(offset).unwrap_or(i64::MAX));
    query(conn, &sql, params![limit, offset])
}

/// The users an indexed lookup finds, in the default order.
pub fn lookup(conn: &Connection, by: &Lookup) -> Result<Vec<UserRow>, StoreError> {
    let (cond, key) = match by {
        Lookup::Id(v) => ("id = ?1", v.clone()),
        Lookup::UserName(v) => ("user_name_key = ?1", fold(v)),
        Lookup::ExternalId(v) => ("external_id = ?1", v.clone()),
        Lookup::Email(v) => ("seq IN (SELECT user_seq FROM user_emails WHERE value_key = ?1)", fold(v)),
    };
    let sql = format!("SELECT {COLUMNS} FROM users WHERE {cond} ORDER BY seq");
    query(conn, &sql, [key])
}

/// Calls `visit` on every user in the default order, one row at a time (bounded memory).
pub fn scan(conn: &Connection, mut visit: impl FnMut(UserRow) -> Result<(), StoreError>) -> Result<(), StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY seq");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        visit(decode(from_row(r)?)?)?;
    }
    Ok(())
}

/// The users with these insertion numbers, in the order given.
pub fn by_seqs(conn: &Connection, seqs: &[i64]) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE seq = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut out = Vec::with_capacity(seqs.len());
    for seq in seqs {
        if let Some(raw) = stmt.query_row([seq], from_row).optional()? {
            out.push(decode(raw)?);
        }
    }
    Ok(out)
}
