//! Default reads from stored text (issue 17): a User GET and each User of a list page copy the
//! user's stored body ([`crate::db::stored`]) and splice in what a read computes: its `groups`
//! (RFC 7643 §4.1.2) and its `meta` (§3.1, `location` under the request's base URL). Nothing is
//! decoded, rendered as a tree or serialised again but those parts, and the text is byte for
//! byte what [`users::render`] serialised gives (the same attributes in the same order, written
//! by the same serialiser).
//!
//! Used only when no projection applies (RFC 7644 §3.9 `attributes` / `excludedAttributes`
//! work on the tree). Users without a body (their effective access follows the registry, or
//! their row is from before V14) and Groups (their members are many and change often, so a
//! stored body would be rewritten on every membership change) take the tree path and are
//! serialised here, so callers get text either way.

use crate::db::sql::Connection;
use serde::Serialize;
use serde_json::Value;

use super::groups::{self, Members};
use super::list::{ListQuery, Page, list_rendered};
use super::users::{self, Registry};
use super::{Error, Result, etag};
use crate::db::rows::{self, Fetched, Kind, StoredRow};
use crate::db::{Db, StoreError};

/// A resource rendered as JSON text, with what the response's headers need (as
/// [`super::Rendered`] has them).
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// The SCIM representation as compact JSON.
    pub body: String,
    /// Its version; the `ETag` is [`etag`] of it, as `meta.version` is.
    pub version: i64,
}

/// Appends `v` as JSON.
fn push_json(out: &mut Vec<u8>, v: &(impl Serialize + ?Sized)) -> Result<(), StoreError> {
    serde_json::to_writer(out, v).map_err(StoreError::from)
}

/// A stored user's representation: its body with `groups` (when it has any) and `meta` spliced
/// in before the closing brace.
fn splice(c: &Connection, row: &StoredRow, base: &str) -> Result<String, StoreError> {
    let open = row
        .body
        .strip_suffix('}')
        .ok_or_else(|| StoreError::Internal(format!("user {}: stored body is not a JSON object", row.id)))?;
    let mut out = Vec::with_capacity(row.body.len() + base.len() + 160);
    out.extend_from_slice(open.as_bytes());
    let groups = if row.in_groups { users::groups_of(c, &row.id, base)? } else { Vec::new() };
    if !groups.is_empty() {
        out.extend_from_slice(b",\"groups\":");
        push_json(&mut out, &groups)?;
    }
    out.extend_from_slice(b",\"meta\":{\"resourceType\":\"User\",\"created\":");
    push_json(&mut out, &row.created)?;
    out.extend_from_slice(b",\"lastModified\":");
    push_json(&mut out, &row.last_modified)?;
    out.extend_from_slice(b",\"location\":");
    push_json(&mut out, &users::location(base, &row.id))?;
    out.extend_from_slice(b",\"version\":");
    push_json(&mut out, &etag(row.version))?;
    out.extend_from_slice(b"}}");
    String::from_utf8(out).map_err(|e| StoreError::Internal(e.to_string()))
}

/// A user as a default read returns it: spliced from its stored text, else rendered from its
/// document with its effective access (the registry read at most once per `registry`).
fn user_text(c: &Connection, row: &Fetched, base: &str, registry: &Registry) -> Result<String, StoreError> {
    match row {
        Fetched::Stored(row) => splice(c, row, base),
        Fetched::Doc(row) => Ok(users::render_with(c, row, base, Some(registry))?.to_string()),
    }
}

/// GET /Users/{id} without a projection (RFC 7644 §3.4.1).
pub async fn user(db: &Db, id: &str, base: String) -> Result<Text> {
    let key = id.to_string();
    let found = db
        .read_now(move |c| {
            let Some(row) = rows::fetch(c, Kind::User, &key)? else { return Ok(None) };
            let version = match &row {
                Fetched::Stored(r) => r.version,
                Fetched::Doc(r) => r.version,
            };
            Ok(Some(Text { body: user_text(c, &row, &base, &Registry::default())?, version }))
        })
        .await?;
    found.ok_or_else(|| Error::NotFound(format!("User {id} not found")))
}

/// GET /Groups/{id} without a projection: the tree path, as text.
pub async fn group(db: &Db, id: &str, base: String) -> Result<Text> {
    let r = groups::get(db, id, base, Members::All).await?;
    Ok(Text { body: r.body.to_string(), version: r.version })
}

/// GET /Users and POST /Users/.search without a projection: each user of the page as text, the
/// registry read at most once for the page.
pub async fn users(db: &Db, q: ListQuery, base: String) -> Result<Page<String>> {
    let registry = Registry::default();
    list_rendered::<users::Users, Fetched, String>(db, q, base, move |c, r, base| user_text(c, r, base, &registry))
        .await
}

/// GET /Groups and POST /Groups/.search without a projection: the tree path, as text.
pub async fn groups(db: &Db, q: ListQuery, base: String) -> Result<Page<String>> {
    let page = groups::list(db, q, base, Members::All).await?;
    let Page { total, resources, next, next_cursor, prev, previous_cursor } = page;
    let resources = resources.iter().map(Value::to_string).collect();
    Ok(Page { total, resources, next, next_cursor, prev, previous_cursor })
}
