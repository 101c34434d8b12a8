//! What users and groups share in storage: a row is a normalised JSON document plus its id,
//! insertion number and version; the tables differ only in their indexed key columns, which
//! `users` and `groups` maintain.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Map, Value};

use super::StoreError;
use super::changes::{self, Action, Record};

/// Which resource table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `users`.
    User,
    /// `groups`.
    Group,
}

impl Kind {
    /// The table's name.
    pub fn table(self) -> &'static str {
        match self {
            Kind::User => "users",
            Kind::Group => "groups",
        }
    }
}

/// A stored resource.
#[derive(Debug, Clone)]
pub struct ResourceRow {
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
    /// The normalised resource without id/meta/schemas (and, for groups, without members).
    pub doc: Map<String, Value>,
}

type Raw = (i64, String, i64, String, String, String);

fn from_row(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn decode(raw: Raw) -> Result<ResourceRow, StoreError> {
    let (seq, id, version, created, last_modified, doc) = raw;
    let doc = serde_json::from_str(&doc)?;
    Ok(ResourceRow { seq, id, version, created, last_modified, doc })
}

fn select(kind: Kind, rest: &str) -> String {
    format!("SELECT seq, id, version, created, last_modified, doc FROM {} {rest}", kind.table())
}

/// Rows of `kind` matching `rest` (a WHERE/ORDER BY tail) with these arguments.
pub fn query(
    conn: &Connection,
    kind: Kind,
    rest: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<ResourceRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&select(kind, rest))?;
    let rows = stmt.query_map(args, from_row)?;
    rows.map(|r| decode(r?)).collect()
}

/// The resource with this id.
pub fn get(conn: &Connection, kind: Kind, id: &str) -> Result<Option<ResourceRow>, StoreError> {
    let raw = conn.prepare_cached(&select(kind, "WHERE id = ?1"))?.query_row([id], from_row).optional()?;
    raw.map(decode).transpose()
}

/// How many resources there are.
pub fn count(conn: &Connection, kind: Kind) -> Result<u64, StoreError> {
    let sql = format!("SELECT COUNT(*) FROM {}", kind.table());
    let n: i64 = conn.prepare_cached(&sql)?.query_row([], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A page in the default order.
pub fn page(conn: &Connection, kind: Kind, offset: u64, limit: u64) -> Result<Vec<ResourceRow>, StoreError> {
    let (limit, offset) = (i64::try_from(limit).unwrap_or(i64::MAX), i64::try_from(offset).unwrap_or(i64::MAX));
    query(conn, kind, "ORDER BY seq LIMIT ?1 OFFSET ?2", params![limit, offset])
}

/// Calls `visit` on every resource in the default order, one row at a time (bounded memory).
pub fn scan(
    conn: &Connection,
    kind: Kind,
    mut visit: impl FnMut(ResourceRow) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(&select(kind, "ORDER BY seq"))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        visit(decode(from_row(r)?)?)?;
    }
    Ok(())
}

/// The resources with these insertion numbers, in the order given.
pub fn by_seqs(conn: &Connection, kind: Kind, seqs: &[i64]) -> Result<Vec<ResourceRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&select(kind, "WHERE seq = ?1"))?;
    let mut out = Vec::with_capacity(seqs.len());
    for seq in seqs {
        if let Some(raw) = stmt.query_row([seq], from_row).optional()? {
            out.push(decode(raw)?);
        }
    }
    Ok(out)
}

/// Deletes the resource with this id; `check` sees it first and may refuse (precondition). The
/// deletion is recorded in the history with the document as it was.
pub fn delete(
    conn: &Connection,
    kind: Kind,
    id: &str,
    check: impl FnOnce(&ResourceRow) -> Result<(), StoreError>,
) -> Result<ResourceRow, StoreError> {
    let current = get(conn, kind, id)?.ok_or(StoreError::NotFound)?;
    check(&current)?;
    let sql = format!("DELETE FROM {} WHERE seq = ?1", kind.table());
    conn.prepare_cached(&sql)?.execute([current.seq])?;
    let at = crate::clock::now_stamp();
    let before = Some(&current.doc);
    changes::record(conn, Record { kind, id, action: Action::Deleted, version: None, before, after: None, at: &at })?;
    Ok(current)
}

/// Whether `e` is a UNIQUE violation on an index whose name contains `column`.
pub fn is_unique_violation(e: &rusqlite::Error, column: &str) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, Some(msg))
        if f.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains(column))
}
