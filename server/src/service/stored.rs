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

use std::fmt::Write as _;

use crate::db::sql::Connection;
use scimbox_validator::schema::USER_RESOURCE;
use serde::Serialize;
use serde_json::Value;

use super::groups::{self, Members};
use super::list::{self, ListQuery, PAGE_BYTES, Page, Point, check_query, list_rendered};
use super::users::{self, Registry};
use super::{Error, Result};
use crate::db::rows::{self, Fetched, Kind, StoredRow};
use crate::db::{Db, StoreError, stored};

/// A resource rendered as JSON text, with what the response's headers need (as
/// [`super::Rendered`] has them).
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    /// The SCIM representation as compact JSON.
    pub body: String,
    /// Its version; the `ETag` is [`super::etag`] of it, as `meta.version` is.
    pub version: i64,
}

/// Appends `v` as JSON.
fn push_json(out: &mut String, v: &(impl Serialize + ?Sized)) -> Result<(), StoreError> {
    out.push_str(&serde_json::to_string(v)?);
    Ok(())
}

/// Appends the JSON string of `parts` joined, without joining them first (issue 17: two
/// `format!`s per user were a tenth of a list page's work). A part with nothing to escape (no
/// control character, quote or backslash: all that the serialiser escapes) is copied as it is;
/// otherwise the joined text goes through the serialiser, so the bytes are the same either way.
///
/// The check reads every byte without stopping at the first to escape, which lets the compiler
/// test many bytes per instruction; stopping early made it about 1,400 instructions a user,
/// a tenth of a list page (issue 17, third round).
fn push_json_concat(out: &mut String, parts: &[&str]) -> Result<(), StoreError> {
    let escaped = |p: &&str| p.bytes().fold(false, |any, b| any | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if parts.iter().any(escaped) {
        return push_json(out, &parts.concat());
    }
    out.push('"');
    for p in parts {
        out.push_str(p);
    }
    out.push('"');
    Ok(())
}

/// A stored user's representation: its body with `groups` (when it has any) and `meta` spliced
/// in before the closing brace. Written as a `String` from text throughout, so it is never
/// checked for UTF-8 again (that check of the whole body was about 1,400 instructions a user).
fn splice(c: &Connection, row: &StoredRow, base: &str) -> Result<String, StoreError> {
    let open = row
        .body
        .strip_suffix('}')
        .ok_or_else(|| StoreError::Internal(format!("user {}: stored body is not a JSON object", row.id)))?;
    let mut out = String::with_capacity(row.body.len() + base.len() + 160);
    out.push_str(open);
    let groups = if row.in_groups { users::groups_of(c, &row.id, base)? } else { Vec::new() };
    if !groups.is_empty() {
        out.push_str(",\"groups\":");
        push_json(&mut out, &groups)?;
    }
    let meta = Meta { id: &row.id, created: &row.created, last_modified: &row.last_modified, version: row.version };
    push_meta(&mut out, &meta, base)?;
    Ok(out)
}

/// What a user's `meta` is written from.
struct Meta<'a> {
    id: &'a str,
    created: &'a str,
    last_modified: &'a str,
    version: i64,
}

/// Appends `,"meta":{...}}`: the user's `meta` (RFC 7643 §3.1) and the representation's closing
/// brace, as [`users::meta`] serialised writes them.
fn push_meta(out: &mut String, row: &Meta<'_>, base: &str) -> Result<(), StoreError> {
    out.push_str(",\"meta\":{\"resourceType\":\"User\",\"created\":");
    push_json_concat(out, &[row.created])?;
    out.push_str(",\"lastModified\":");
    push_json_concat(out, &[row.last_modified])?;
    out.push_str(",\"location\":");
    // `users::location`, written in place.
    push_json_concat(out, &[base, "/Users/", row.id])?;
    // `etag(version)` as a JSON string: `"W/\"7\""`.
    out.push_str(",\"version\":\"W/\\\"");
    let _ = write!(out, "{}", row.version);
    out.push_str("\\\"\"}}");
    Ok(())
}

/// The representation of a user just created, from its stored body (`body`, see
/// [`stored::user_body`]), id and stamp: a new user is in no group and is at version 1, so its
/// text is the body with `meta` spliced in, the bytes [`users::to_resource`] serialised gives
/// (issue 17, fourth round: that tree was a deep copy of the document, then serialised again).
pub(crate) fn created(body: &str, id: &str, now: &str, base: &str) -> Result<String, StoreError> {
    let open = body
        .strip_suffix('}')
        .ok_or_else(|| StoreError::Internal(format!("user {id}: stored body is not a JSON object")))?;
    let mut out = String::with_capacity(body.len() + base.len() + 160);
    out.push_str(open);
    push_meta(&mut out, &Meta { id, created: now, last_modified: now, version: 1 }, base)?;
    Ok(out)
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
/// registry read at most once for the page. A lookup by a unique key (an IdP's `userName eq`
/// before each create) is read by that key alone (`point`).
pub async fn users(db: &Db, q: ListQuery, base: String) -> Result<Page<String>> {
    check_query(&USER_RESOURCE, &q)?;
    if q.cursor.is_none() && q.keyset.is_none() && list::point(&USER_RESOURCE, &q).is_some() {
        return point(db, q, base).await;
    }
    let registry = Registry::default();
    list_rendered::<users::Users, Fetched, String>(db, q, base, move |c, r, base| user_text(c, r, base, &registry))
        .await
}

/// A list whose filter is `userName eq` or `id eq` alone ([`list::Point`]): its users (at most
/// one) read by that key in one statement on the calling worker, and counted as they are read,
/// instead of an index lookup, a second read of the page's rows and a page machinery built for
/// thousands (issue 17). The answer is the one [`list_rendered`] gives: `totalResults` is every
/// match, `startIndex` and `count` window them, the byte budget applies.
async fn point(db: &Db, q: ListQuery, base: String) -> Result<Page<String>> {
    db.read_now(move |c| {
        let found = match list::point(&USER_RESOURCE, &q) {
            Some(Point::Id(id)) => stored::users_with_id(c, id)?,
            Some(Point::UserName(name)) => stored::users_named(c, name)?,
            None => return Err(StoreError::Internal("not a lookup by a unique key".into())),
        };
        let registry = Registry::default();
        let budget = q.max_bytes.unwrap_or(PAGE_BYTES);
        let offset = usize::try_from(q.start_index.saturating_sub(1)).unwrap_or(usize::MAX);
        let count = usize::try_from(q.count).unwrap_or(usize::MAX);
        let (mut resources, mut used) = (Vec::new(), 0);
        for row in found.iter().skip(offset).take(count) {
            let text = user_text(c, row, &base, &registry)?;
            used += text.len();
            if used > budget && !resources.is_empty() {
                break; // the page stops here (see PAGE_BYTES)
            }
            resources.push(text);
        }
        let total = Some(found.len() as u64);
        Ok(Page { total, resources, next: None, next_cursor: None, prev: None, previous_cursor: None })
    })
    .await
    .map_err(Error::from)
}

/// GET /Groups and POST /Groups/.search without a projection: the tree path, as text.
pub async fn groups(db: &Db, q: ListQuery, base: String) -> Result<Page<String>> {
    let page = groups::list(db, q, base, Members::All).await?;
    let Page { total, resources, next, next_cursor, prev, previous_cursor } = page;
    let resources = resources.iter().map(Value::to_string).collect();
    Ok(Page { total, resources, next, next_cursor, prev, previous_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The joined parts come out as the serialiser writes their join, with or without escapes.
    #[test]
    fn joined_parts_are_the_serialised_join() {
        let cases: [&[&str]; 5] = [
            &["http://h/scim/v2", "/Users/", "2f0c"],
            &["", "", ""],
            &["a\"b", "/Users/", "c\\d"],
            &["tab\there", "\u{1}", "é\u{7f}\u{2028}"],
            &["2026-11-30T10:00:00.000Z"],
        ];
        for parts in cases {
            let mut out = String::new();
            push_json_concat(&mut out, parts).expect("written");
            assert_eq!(out, Value::from(parts.concat()).to_string(), "{parts:?}");
        }
    }
}
