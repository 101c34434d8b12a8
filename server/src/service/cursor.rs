//! Cursors for cursor-based paging (RFC 9865): what a `nextCursor` holds and how a `cursor`
//! sent back is checked.
//!
//! A cursor is the whole state of a walk, so the server keeps none: it survives a restart, and
//! any number of walks cost no memory (RFC 9865 §5's availability concern). It holds the
//! position of the last resource the previous page returned in the list's stable order
//! (`seq`, the insertion number, and with `sortBy` that resource's sort key), so the next page
//! is `WHERE seq > ?` (or the first resources after that key): its cost does not grow with how
//! far the walk has got, and a resource created or deleted meanwhile moves no other one, so
//! every resource that exists throughout a walk is returned exactly once. A `previousCursor`
//! holds the position of a page's first resource and reads the page that ends before it.
//!
//! The text is base64url (only RFC 3986 unreserved characters, as RFC 9865 §2 asks) of a small
//! versioned JSON record followed by a 96-bit SHA-256 check over it. The check makes a garbage,
//! truncated or edited cursor an `invalidCursor` (RFC 9865 §5.2: forged cursors are detected and
//! refused) rather than a wrong page or a fault. It is not a secret key: someone who reads this
//! file can mint a cursor, but a cursor grants nothing the bearer token does not already allow
//! (a position in a list the token can read whole); the check is there against accidents.
//!
//! A cursor is bound to its query: the endpoint, `filter`, `sortBy` and `sortOrder` (their
//! canonical forms, hashed) and `count`. RFC 9865 §2 has the client repeat every parameter but
//! `cursor`; a different filter or sort would walk a different list from a position in the old
//! one, so that is `invalidCursor`, and a different `count` is `invalidCount` (§2.1).
//! `attributes` and `excludedAttributes` are not bound: they change what each resource shows,
//! not which resources come or in what order, so a walk stays exact if they change.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scimbox_validator::filter::SortKey;
use scimbox_validator::{ScimType, ValidationError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::list::{Keyset, ListQuery, MAX_RESULTS, SortOrder};
use super::{Error, Result};
use crate::db::rows::Kind;

/// How long a cursor stays valid after the page that issued it, in seconds
/// (`cursorTimeout`, RFC 9865 §4). Cursors hold no server state, so this is a policy, not a
/// resource limit: long enough for a slow client between two pages, short enough that a walk
/// left for a day starts again and sees the list as it is.
pub const CURSOR_TIMEOUT: u64 = 3600;

/// `maxPageSize` (RFC 9865 §4): the most resources a page holds, whatever `count` says.
pub const MAX_PAGE_SIZE: u64 = MAX_RESULTS;

/// The format version: the first element of every cursor's record.
const VERSION: u64 = 1;
/// Bytes of the SHA-256 check appended to the record.
const CHECK: usize = 12;
/// The longest cursor text read: a cursor scimbox issues is far shorter (its sort key, the one
/// part that can be long, is an attribute value of at most a few kilobytes).
const MAX_TEXT: usize = 16 * 1024;
/// Domain separation for the check.
const CHECK_DOMAIN: &[u8] = b"scimbox cursor\0";

/// The endpoint a walk belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `/Users` and `/Users/.search`.
    Users,
    /// `/Groups` and `/Groups/.search`.
    Groups,
    /// The root `/.search`: Users, then Groups.
    All,
}

impl Scope {
    /// The endpoint that lists one resource table.
    pub fn of(kind: Kind) -> Self {
        match kind {
            Kind::User => Scope::Users,
            Kind::Group => Scope::Groups,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Scope::Users => "Users",
            Scope::Groups => "Groups",
            Scope::All => "all",
        }
    }

    /// Whether a walk of this endpoint may be in the table `part` (`Users` or `Groups`).
    fn holds(self, part: Scope) -> bool {
        part != Scope::All && (self == Scope::All || self == part)
    }
}

/// Where a page starts: which table (the root search walks Users, then Groups) and the
/// position in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// The table: [`Scope::Users`] or [`Scope::Groups`].
    pub part: Scope,
    /// The position in its list order.
    pub at: Keyset,
}

/// A cursor request, checked: where its page starts, and what the next cursor will say.
#[derive(Debug, Clone)]
pub struct Walk {
    scope: Scope,
    binding: String,
    count: u64,
    /// When this request was read (the issue time of the cursors it hands out).
    now: i64,
    /// Where this page starts.
    pub from: Position,
}

impl Walk {
    /// The `nextCursor` or `previousCursor` (RFC 9865 §2) that leads to the page at `pos`.
    pub fn cursor(&self, pos: Position) -> String {
        Cursor { scope: self.scope, binding: self.binding.clone(), count: self.count, issued: self.now, pos }.to_text()
    }
}

/// Opens a cursor walk for `q` on `scope`: `raw` is the `cursor` parameter as sent; empty asks
/// for the first page (RFC 9865 §2). Reads the clock (once) for the expiry and the next cursor.
///
/// # Errors
/// `invalidCursor` for a cursor scimbox did not issue, an edited one, or one issued for a
/// different endpoint, filter or sort; `expiredCursor` past [`CURSOR_TIMEOUT`]; `invalidCount`
/// when `count` differs from the first page's (RFC 9865 §2.1).
pub fn open(scope: Scope, raw: &str, q: &ListQuery) -> Result<Walk> {
    let now = crate::clock::now().unix_timestamp();
    let binding = binding(scope, q);
    let first = match scope {
        Scope::Groups => Scope::Groups,
        Scope::Users | Scope::All => Scope::Users,
    };
    let mut walk = Walk { scope, binding, count: q.count, now, from: Position { part: first, at: Keyset::Start } };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(walk);
    }
    let c = Cursor::parse(raw)?;
    if c.scope != scope || c.binding != walk.binding || !scope.holds(c.pos.part) {
        return Err(invalid_cursor(
            "this cursor belongs to a different query: the endpoint, filter, sortBy and sortOrder must be the \
             same as the first page's (RFC 9865 §2); start again with an empty cursor",
        ));
    }
    if c.count != q.count {
        return Err(Error::Invalid(ValidationError::new(
            ScimType::InvalidCount,
            format!(
                "count must be the same on every page of a cursor walk: the first page asked for {}, this one for {} \
                 (RFC 9865 §2.1)",
                c.count, q.count
            ),
        )));
    }
    let age = now.saturating_sub(c.issued);
    if age > i64::try_from(CURSOR_TIMEOUT).unwrap_or(i64::MAX) {
        return Err(Error::Invalid(ValidationError::new(
            ScimType::ExpiredCursor,
            format!(
                "this cursor expired: it was issued {age} seconds ago and cursors last {CURSOR_TIMEOUT} seconds \
                 (cursorTimeout); start again with an empty cursor"
            ),
        )));
    }
    if age < -60 {
        return Err(invalid_cursor("this cursor was issued in the future; start again with an empty cursor"));
    }
    walk.from = c.pos;
    Ok(walk)
}

/// A cursor's content (public so that tests can age or edit a real one).
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// The endpoint.
    pub scope: Scope,
    /// The hash of the query's filter and sort.
    pub binding: String,
    /// The page size.
    pub count: u64,
    /// When it was issued, in Unix seconds.
    pub issued: i64,
    /// Where the next page starts.
    pub pos: Position,
}

impl Cursor {
    /// The cursor's text.
    pub fn to_text(&self) -> String {
        let part = match self.pos.part {
            Scope::Groups => "g",
            Scope::Users | Scope::All => "u",
        };
        let (seq, key, way) = match &self.pos.at {
            Keyset::Start => (Value::Null, Value::Null, "a"),
            Keyset::After { seq, key } => (json!(seq), key.as_ref().map_or(Value::Null, key_json), "a"),
            Keyset::Before { seq, key } => (json!(seq), key.as_ref().map_or(Value::Null, key_json), "b"),
        };
        let record = json!([VERSION, self.scope.tag(), self.binding, self.count, self.issued, part, seq, key, way]);
        let mut bytes = record.to_string().into_bytes();
        let check = check(&bytes);
        bytes.extend_from_slice(&check);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads a cursor's text, checking its form and check bytes (not its query, age or count).
    ///
    /// # Errors
    /// `invalidCursor` for anything scimbox did not issue as it is.
    pub fn parse(text: &str) -> Result<Self> {
        let garbage = || {
            invalid_cursor(
                "this cursor is not one scimbox issued, or it was changed: send the nextCursor of the previous page \
                 as it came, or an empty cursor for the first page (RFC 9865 §2.1)",
            )
        };
        if text.len() > MAX_TEXT {
            return Err(garbage());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| garbage())?;
        let split = bytes.len().checked_sub(CHECK).ok_or_else(garbage)?;
        let (record, sum) = bytes.split_at(split);
        if check(record)[..] != *sum {
            return Err(garbage());
        }
        let record: Value = serde_json::from_slice(record).map_err(|_| garbage())?;
        Self::from_record(&record).ok_or_else(garbage)
    }

    fn from_record(r: &Value) -> Option<Self> {
        let a = r.as_array().filter(|a| a.len() == 9)?;
        if a[0].as_u64()? != VERSION {
            return None;
        }
        let scope = match a[1].as_str()? {
            "Users" => Scope::Users,
            "Groups" => Scope::Groups,
            "all" => Scope::All,
            _ => return None,
        };
        let part = match a[5].as_str()? {
            "u" => Scope::Users,
            "g" => Scope::Groups,
            _ => return None,
        };
        let at = match (&a[6], a[8].as_str()?) {
            (Value::Null, "a") => Keyset::Start,
            (seq, "a") => Keyset::After { seq: seq.as_i64()?, key: key_from_json(&a[7])? },
            (seq, "b") => Keyset::Before { seq: seq.as_i64()?, key: key_from_json(&a[7])? },
            _ => return None,
        };
        Some(Cursor {
            scope,
            binding: a[2].as_str()?.to_owned(),
            count: a[3].as_u64()?,
            issued: a[4].as_i64()?,
            pos: Position { part, at },
        })
    }
}

fn invalid_cursor(detail: &str) -> Error {
    Error::Invalid(ValidationError::new(ScimType::InvalidCursor, detail))
}

fn check(record: &[u8]) -> [u8; CHECK] {
    let sum = Sha256::new().chain_update(CHECK_DOMAIN).chain_update(record).finalize();
    let mut out = [0; CHECK];
    out.copy_from_slice(&sum[..CHECK]);
    out
}

/// The hash that binds a cursor to its query (see the module documentation): the canonical
/// text of the filter (the validator's `Display`, which parses back to an equal filter), the
/// sort path and order, and the endpoint.
fn binding(scope: Scope, q: &ListQuery) -> String {
    let filter = q.filter.as_ref().map(ToString::to_string).unwrap_or_default();
    let sort = q.sort_by.as_ref().map(|p| p.to_string().to_ascii_lowercase()).unwrap_or_default();
    let order = match q.sort_order {
        SortOrder::Ascending => "a",
        SortOrder::Descending => "d",
    };
    let sum = Sha256::new()
        .chain_update(scope.tag())
        .chain_update([0])
        .chain_update(filter)
        .chain_update([0])
        .chain_update(sort)
        .chain_update([0])
        .chain_update(order)
        .finalize();
    sum[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A sort key as JSON in a cursor; a dateTime as its Unix nanoseconds (text: they exceed i64
/// only in theory, but JSON numbers past 2^53 lose precision in many readers).
fn key_json(k: &SortKey) -> Value {
    match k {
        SortKey::Bool(b) => json!({ "b": b }),
        SortKey::Number(n) => json!({ "n": n }),
        SortKey::DateTime(t) => json!({ "d": t.unix_timestamp_nanos().to_string() }),
        SortKey::String(s) => json!({ "s": s }),
    }
}

/// The sort key back from [`key_json`]: `Some(None)` for a resource that had no value.
fn key_from_json(v: &Value) -> Option<Option<SortKey>> {
    let Value::Object(o) = v else { return v.is_null().then_some(None) };
    let (tag, v) = o.iter().next().filter(|_| o.len() == 1)?;
    let key = match tag.as_str() {
        "b" => SortKey::Bool(v.as_bool()?),
        "n" => SortKey::Number(v.as_number()?.clone()),
        "d" => SortKey::DateTime(OffsetDateTime::from_unix_timestamp_nanos(v.as_str()?.parse().ok()?).ok()?),
        "s" => SortKey::String(v.as_str()?.to_owned()),
        _ => return None,
    };
    Some(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(at: Keyset) -> Cursor {
        Cursor {
            scope: Scope::All,
            binding: "0011223344556677".into(),
            count: 100,
            issued: 1_800_000_000,
            pos: Position { part: Scope::Groups, at },
        }
    }

    #[test]
    fn cursors_round_trip_and_use_only_unreserved_characters() {
        let keys = [
            None,
            Some(SortKey::Bool(true)),
            Some(SortKey::Number(serde_json::Number::from(-7))),
            Some(SortKey::DateTime(OffsetDateTime::from_unix_timestamp_nanos(1_234_567_891_234_567_891).unwrap())),
            Some(SortKey::String("ünïcode \"quoted\"".into())),
        ];
        let mut all = vec![cursor(Keyset::Start)];
        all.extend(keys.iter().cloned().map(|key| cursor(Keyset::After { seq: 42, key })));
        all.extend(keys.into_iter().map(|key| cursor(Keyset::Before { seq: 7, key })));
        for c in all {
            let text = c.to_text();
            assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{text}");
            assert_eq!(Cursor::parse(&text).unwrap(), c);
        }
    }

    #[test]
    fn every_changed_character_is_refused() {
        let text = cursor(Keyset::After { seq: 9, key: Some(SortKey::String("x".into())) }).to_text();
        for i in 0..text.len() {
            let mut edited = text.clone().into_bytes();
            edited[i] = if edited[i] == b'A' { b'B' } else { b'A' };
            let edited = String::from_utf8(edited).unwrap();
            let e = Cursor::parse(&edited).unwrap_err();
            assert!(matches!(&e, Error::Invalid(v) if v.scim_type == ScimType::InvalidCursor), "{i}: {e}");
        }
        for garbage in ["", "!!", "AAAA", &"A".repeat(MAX_TEXT + 1), &text[..text.len() - 1]] {
            assert!(Cursor::parse(garbage).is_err(), "{garbage}");
        }
    }
}
