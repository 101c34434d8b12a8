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

use std::io::Write as _;

use crate::db::sql::Connection;
use scimbox_validator::schema::USER_RESOURCE;
use serde::Serialize;

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
    /// The SCIM representation as compact JSON (UTF-8: the stored text and what the server
    /// writes around it; kept as bytes so that it is not checked again on its way out).
    pub body: Vec<u8>,
    /// Its version; the `ETag` is [`super::etag`] of it, as `meta.version` is.
    pub version: i64,
}

/// Appends `v` as JSON.
fn push_json(out: &mut Vec<u8>, v: &(impl Serialize + ?Sized)) -> Result<(), StoreError> {
    serde_json::to_writer(out, v)?;
    Ok(())
}

/// Whether `bytes` holds a byte the serialiser escapes in a string: a control character
/// (below 0x20), `"` or `\`. Eight bytes per step, as one `u64` (issue 17, fourth round: byte
/// by byte it was about 1,200 instructions a user of a list page). For a word `w` and a byte
/// value `n <= 0x80`, `(w - n·0x01..01) & !w & 0x80..80` is non-zero exactly when some byte of
/// `w` is below `n` (the borrow can only spill into a byte above one that is below `n`, which
/// makes no difference to whether the result is zero); a byte equal to `c` is a zero byte of
/// `w ^ c·0x01..01`, so below 1 there.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS;
    let mut words = bytes.chunks_exact(8);
    let mut found = 0;
    for chunk in &mut words {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        found |= below(w, 0x20) | below(w ^ (ONES * u64::from(b'"')), 1) | below(w ^ (ONES * u64::from(b'\\')), 1);
    }
    found != 0 || words.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Appends the JSON string of `parts` joined, without joining them first (issue 17: two
/// `format!`s per user were a tenth of a list page's work). A part with nothing to escape (no
/// control character, quote or backslash: all that the serialiser escapes) is copied as it is;
/// otherwise the joined text goes through the serialiser, so the bytes are the same either way.
fn push_json_concat(out: &mut Vec<u8>, parts: &[&str]) -> Result<(), StoreError> {
    if parts.iter().any(|p| needs_escape(p.as_bytes())) {
        return push_json(out, &parts.concat());
    }
    out.push(b'"');
    for p in parts {
        out.extend_from_slice(p.as_bytes());
    }
    out.push(b'"');
    Ok(())
}

/// A stored user's representation: its body with `groups` (when it has any) and `meta` spliced
/// in before the closing brace, written into the body's own buffer (read with room for them,
/// [`rows::BODY_ROOM`]), which it takes from `row`. Bytes throughout: the stored text is never
/// checked for UTF-8 again (the server wrote it from a `String`).
fn splice(c: &Connection, row: &mut StoredRow, base: &str) -> Result<Vec<u8>, StoreError> {
    let mut out = std::mem::take(&mut row.body);
    if out.pop() != Some(b'}') {
        return Err(StoreError::Internal(format!("user {}: stored body is not a JSON object", row.id)));
    }
    let groups = if row.in_groups { users::groups_of(c, &row.id, base)? } else { Vec::new() };
    if !groups.is_empty() {
        out.extend_from_slice(b",\"groups\":");
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
fn push_meta(out: &mut Vec<u8>, row: &Meta<'_>, base: &str) -> Result<(), StoreError> {
    out.extend_from_slice(b",\"meta\":{\"resourceType\":\"User\",\"created\":");
    push_json_concat(out, &[row.created])?;
    out.extend_from_slice(b",\"lastModified\":");
    push_json_concat(out, &[row.last_modified])?;
    out.extend_from_slice(b",\"location\":");
    // `users::location`, written in place.
    push_json_concat(out, &[base, "/Users/", row.id])?;
    // `etag(version)` as a JSON string: `"W/\"7\""`.
    out.extend_from_slice(b",\"version\":\"W/\\\"");
    let _ = write!(out, "{}", row.version);
    out.extend_from_slice(b"\\\"\"}}");
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
    let mut out = Vec::with_capacity(body.len() + base.len() + 160);
    out.extend_from_slice(open.as_bytes());
    push_meta(&mut out, &Meta { id, created: now, last_modified: now, version: 1 }, base)?;
    // Written from text and the serialiser's output only, so this check cannot fail; the event
    // keeps its data as text.
    String::from_utf8(out).map_err(|e| StoreError::Internal(format!("user {id}: created text: {e}")))
}

/// A user as a default read returns it: spliced from its stored text (which it takes from
/// `row`), else rendered from its document with its effective access (the registry read at
/// most once per `registry`).
fn user_text(c: &Connection, row: &mut Fetched, base: &str, registry: &Registry) -> Result<Vec<u8>, StoreError> {
    match row {
        Fetched::Stored(row) => splice(c, row, base),
        Fetched::Doc(row) => Ok(users::render_with(c, row, base, Some(registry))?.to_string().into_bytes()),
    }
}

/// GET /Users/{id} without a projection (RFC 7644 §3.4.1).
pub async fn user(db: &Db, id: &str, base: String) -> Result<Text> {
    let key = id.to_string();
    let found = db
        .read_now(move |c| {
            let Some(mut row) = rows::fetch(c, Kind::User, &key)? else { return Ok(None) };
            let version = match &row {
                Fetched::Stored(r) => r.version,
                Fetched::Doc(r) => r.version,
            };
            Ok(Some(Text { body: user_text(c, &mut row, &base, &Registry::default())?, version }))
        })
        .await?;
    found.ok_or_else(|| Error::NotFound(format!("User {id} not found")))
}

/// GET /Groups/{id} without a projection: the tree path, as text.
pub async fn group(db: &Db, id: &str, base: String) -> Result<Text> {
    let r = groups::get(db, id, base, Members::All).await?;
    Ok(Text { body: r.body.to_string().into_bytes(), version: r.version })
}

/// GET /Users and POST /Users/.search without a projection: each user of the page as text, the
/// registry read at most once for the page. A lookup by a unique key (an IdP's `userName eq`
/// before each create) is read by that key alone (`point`).
pub async fn users(db: &Db, q: ListQuery, base: String) -> Result<Page<Vec<u8>>> {
    check_query(&USER_RESOURCE, &q)?;
    if q.cursor.is_none() && q.keyset.is_none() && list::point(&USER_RESOURCE, &q).is_some() {
        return point(db, q, base).await;
    }
    let registry = Registry::default();
    list_rendered::<users::Users, Fetched, Vec<u8>>(db, q, base, move |c, r, base| user_text(c, r, base, &registry))
        .await
}

/// A list whose filter is `userName eq` or `id eq` alone ([`list::Point`]): its users (at most
/// one) read by that key in one statement on the calling worker, and counted as they are read,
/// instead of an index lookup, a second read of the page's rows and a page machinery built for
/// thousands (issue 17). The answer is the one [`list_rendered`] gives: `totalResults` is every
/// match, `startIndex` and `count` window them, the byte budget applies.
async fn point(db: &Db, q: ListQuery, base: String) -> Result<Page<Vec<u8>>> {
    db.read_now(move |c| {
        let mut found = match list::point(&USER_RESOURCE, &q) {
            Some(Point::Id(id)) => stored::users_with_id(c, id)?,
            Some(Point::UserName(name)) => stored::users_named(c, name)?,
            None => return Err(StoreError::Internal("not a lookup by a unique key".into())),
        };
        let registry = Registry::default();
        let budget = q.max_bytes.unwrap_or(PAGE_BYTES);
        let offset = usize::try_from(q.start_index.saturating_sub(1)).unwrap_or(usize::MAX);
        let count = usize::try_from(q.count).unwrap_or(usize::MAX);
        let (mut resources, mut used) = (Vec::new(), 0);
        let total = Some(found.len() as u64);
        for row in found.iter_mut().skip(offset).take(count) {
            let text = user_text(c, row, &base, &registry)?;
            used += text.len();
            if used > budget && !resources.is_empty() {
                break; // the page stops here (see PAGE_BYTES)
            }
            resources.push(text);
        }
        Ok(Page { total, resources, next: None, next_cursor: None, prev: None, previous_cursor: None })
    })
    .await
    .map_err(Error::from)
}

/// GET /Groups and POST /Groups/.search without a projection: the tree path, as text.
pub async fn groups(db: &Db, q: ListQuery, base: String) -> Result<Page<Vec<u8>>> {
    let page = groups::list(db, q, base, Members::All).await?;
    let Page { total, resources, next, next_cursor, prev, previous_cursor } = page;
    let resources = resources.iter().map(|r| r.to_string().into_bytes()).collect();
    Ok(Page { total, resources, next, next_cursor, prev, previous_cursor })
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

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
            let mut out = Vec::new();
            push_json_concat(&mut out, parts).expect("written");
            assert_eq!(out, Value::from(parts.concat()).to_string().into_bytes(), "{parts:?}");
        }
    }

    /// The eight-bytes-a-step check answers as the byte-by-byte one, on any bytes (any length,
    /// so every remainder; bytes near the three kinds of escaped ones and above 0x80).
    mod escape_check {
        use proptest::prelude::*;

        use super::super::needs_escape;

        fn bytewise(bytes: &[u8]) -> bool {
            bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
        }

        fn near_escapes() -> impl Strategy<Value = u8> {
            prop_oneof![
                Just(0x00_u8),
                Just(0x1f),
                Just(0x20),
                Just(b'!'),
                Just(b'"'),
                Just(b'#'),
                Just(b'['),
                Just(b'\\'),
                Just(b']'),
                Just(0x7f),
                Just(0x80),
                Just(0xa2),
                Just(0xdc),
                Just(0xff),
                0x20_u8..0x7f,
            ]
        }

        proptest! {
            #[test]
            fn same_answer_as_byte_by_byte(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
                prop_assert_eq!(needs_escape(&bytes), bytewise(&bytes));
            }

            #[test]
            fn same_answer_near_the_escaped_bytes(bytes in proptest::collection::vec(near_escapes(), 0..48)) {
                prop_assert_eq!(needs_escape(&bytes), bytewise(&bytes));
            }
        }

        /// Each escaped byte is found at every position of a word and of the remainder.
        #[test]
        fn every_position() {
            for len in 1..=24 {
                for at in 0..len {
                    for b in [0x00, 0x1f, b'"', b'\\'] {
                        let mut bytes = vec![b'a'; len];
                        bytes[at] = b;
                        assert!(needs_escape(&bytes), "{b:#x} at {at} of {len}");
                    }
                    let mut clean = vec![0xff; len];
                    clean[at] = 0x20;
                    assert!(!needs_escape(&clean), "{len}");
                }
            }
        }
    }
}
