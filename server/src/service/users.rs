//! The User resource (RFC 7644 §3): create, read, replace, patch, delete and list.
//!
//! Rules that are ours rather than the RFC's, documented here once:
//! - `active` defaults to `true` on create, and a PUT that leaves `active` out keeps the current
//!   value (Okta's AIW sends full bodies; a status is not profile data to be wiped).
//! - `password` is accepted and discarded: never stored, never returned.
//! - A PATCH or PUT that changes nothing does not bump the version.

use scimbox_validator::filter::{CompareOp, Filter, Literal, SortKey, cmp_sort_keys, sort_key};
use scimbox_validator::patch::{apply_patch_checked, parse_patch};
use scimbox_validator::path::AttrPath;
use scimbox_validator::resource::{check_immutable, check_required, normalize};
use scimbox_validator::schema::{USER_RESOURCE, USER_URN};
use scimbox_validator::{ScimType, ValidationError};
use serde_json::{Map, Value};

use super::{Preconditions, etag};
use crate::clock;
use crate::db::users::{self, Lookup, UserRow};
use crate::db::{Db, StoreError};
use crate::error::AppError;

/// The most resources one list response carries (`filter.maxResults`).
pub const MAX_RESULTS: u64 = 1000;
/// The page size when a client sends no `count`.
pub const DEFAULT_COUNT: u64 = 100;

fn not_found(id: &str) -> AppError {
    AppError::not_found(format!("User {id} not found"))
}

fn with_id(id: &str) -> impl Fn(StoreError) -> AppError + '_ {
    move |e| match e {
        StoreError::NotFound => not_found(id),
        other => other.into(),
    }
}

/// The SCIM representation of a stored user, with `meta.location` under `base` (the SCIM base URL).
pub fn to_resource(row: &UserRow, base: &str) -> Value {
    let mut m = Map::new();
    let mut schemas = vec![Value::from(USER_URN)];
    for ext in USER_RESOURCE.extensions {
        if row.doc.contains_key(ext.schema.id) {
            schemas.push(ext.schema.id.into());
        }
    }
    m.insert("schemas".into(), Value::Array(schemas));
    m.insert("id".into(), row.id.clone().into());
    for (k, v) in &row.doc {
        m.insert(k.clone(), v.clone());
    }
    m.insert(
        "meta".into(),
        serde_json::json!({
            "resourceType": "User",
            "created": row.created,
            "lastModified": row.last_modified,
            "location": format!("{base}/Users/{}", row.id),
            "version": etag(row.version),
        }),
    );
    Value::Object(m)
}

/// Normalises and checks a POST or PUT body.
fn incoming(body: &Value, required: &[String]) -> Result<Map<String, Value>, ValidationError> {
    let doc = normalize(&USER_RESOURCE, body)?;
    check_required(&USER_RESOURCE, &doc, required)?;
    Ok(doc)
}

/// POST /Users (RFC 7644 §3.3).
pub async fn create(db: &Db, body: &Value, required: &[String]) -> Result<UserRow, AppError> {
    let mut doc = incoming(body, required)?;
    doc.entry("active").or_insert(Value::Bool(true));
    let id = uuid::Uuid::new_v4().to_string();
    let now = clock::now_stamp();
    Ok(db.write(move |c| users::insert(c, &id, doc, &now)).await?)
}

/// GET /Users/{id} (RFC 7644 §3.4.1).
pub async fn get(db: &Db, id: &str) -> Result<UserRow, AppError> {
    let key = id.to_string();
    db.read(move |c| users::get(c, &key)).await?.ok_or_else(|| not_found(id))
}

/// PUT /Users/{id} (RFC 7644 §3.5.1): replaces what the client manages.
pub async fn replace(
    db: &Db,
    id: &str,
    body: &Value,
    pre: Preconditions,
    required: &[String],
) -> Result<UserRow, AppError> {
    let mut doc = incoming(body, required)?;
    let (key, now) = (id.to_string(), clock::now_stamp());
    let change = move |cur: &UserRow| {
        pre.check(cur.version)?;
        if let (false, Some(active)) = (doc.contains_key("active"), cur.doc.get("active")) {
            doc.insert("active".into(), active.clone());
        }
        check_immutable(&USER_RESOURCE, &cur.doc, &doc)?;
        Ok(doc)
    };
    db.write(move |c| users::update(c, &key, &now, change)).await.map_err(with_id(id))
}

/// PATCH /Users/{id} (RFC 7644 §3.5.2): all operations apply, or none.
pub async fn patch(
    db: &Db,
    id: &str,
    body: &Value,
    pre: Preconditions,
    required: &[String],
) -> Result<UserRow, AppError> {
    let ops = parse_patch(body)?;
    let required = required.to_vec();
    let (key, now) = (id.to_string(), clock::now_stamp());
    let change = move |cur: &UserRow| {
        pre.check(cur.version)?;
        let mut doc = cur.doc.clone();
        apply_patch_checked(&USER_RESOURCE, &mut doc, &ops, |d| {
            *d = normalize(&USER_RESOURCE, &Value::Object(std::mem::take(d)))?;
            Ok(())
        })?;
        check_required(&USER_RESOURCE, &doc, &required)?;
        check_immutable(&USER_RESOURCE, &cur.doc, &doc)?;
        Ok(doc)
    };
    db.write(move |c| users::update(c, &key, &now, change)).await.map_err(with_id(id))
}

/// DELETE /Users/{id} (RFC 7644 §3.6).
pub async fn delete(db: &Db, id: &str, pre: Preconditions) -> Result<(), AppError> {
    let key = id.to_string();
    db.write(move |c| users::delete(c, &key, |cur| pre.check(cur.version))).await.map_err(with_id(id))
}

/// `sortOrder` (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// The default.
    #[default]
    Ascending,
    /// Reversed.
    Descending,
}

/// A list or search request (RFC 7644 §3.4.2, §3.4.3), already parsed.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `filter`.
    pub filter: Option<Filter>,
    /// `sortBy`.
    pub sort_by: Option<AttrPath>,
    /// `sortOrder`.
    pub sort_order: SortOrder,
    /// `startIndex`, 1-based (values below 1 are taken as 1).
    pub start_index: u64,
    /// `count`, capped at [`MAX_RESULTS`].
    pub count: u64,
}

/// One page of a list.
#[derive(Debug)]
pub struct ListPage {
    /// Every match, not only this page's.
    pub total: u64,
    /// The page's rows.
    pub rows: Vec<UserRow>,
}

/// Checks a filter and sort attribute against the User schema.
pub fn check_query(q: &ListQuery) -> Result<(), AppError> {
    if let Some(f) = &q.filter {
        f.check(&USER_RESOURCE)?;
    }
    if let Some(s) = &q.sort_by {
        s.resolve(&USER_RESOURCE)
            .map_err(|e| AppError::bad(ScimType::InvalidValue, format!("sortBy: {}", e.detail)))?;
    }
    Ok(())
}

/// GET /Users and POST /Users/.search: filter, sort, page.
///
/// Without a filter or sort the page comes straight from SQLite in insertion order. A filter
/// with an indexed equality conjunct (id, userName, externalId, emails.value) reads only the
/// rows that index finds; any other filter evaluates every row, one at a time, keeping only the
/// matches' sort keys in memory. Either way the validator's one filter evaluator decides.
pub async fn list(db: &Db, q: ListQuery, base: String) -> Result<ListPage, AppError> {
    check_query(&q)?;
    Ok(db.read(move |c| list_blocking(c, &q, &base)).await?)
}

fn list_blocking(c: &rusqlite::Connection, q: &ListQuery, base: &str) -> Result<ListPage, StoreError> {
    let offset = q.start_index.saturating_sub(1);
    if q.filter.is_none() && q.sort_by.is_none() {
        let total = users::count(c)?;
        let rows = if q.count == 0 { Vec::new() } else { users::page(c, offset, q.count)? };
        return Ok(ListPage { total, rows });
    }
    let mut hits: Vec<(Option<SortKey>, i64)> = Vec::new();
    let mut visit = |row: UserRow| {
        let res = to_resource(&row, base);
        if q.filter.as_ref().is_none_or(|f| f.matches(&USER_RESOURCE, &res)) {
            let key = q.sort_by.as_ref().and_then(|p| sort_key(&USER_RESOURCE, p, &res));
            hits.push((key, row.seq));
        }
        Ok(())
    };
    match q.filter.as_ref().and_then(index_lookup) {
        Some(by) => users::lookup(c, &by)?.into_iter().try_for_each(&mut visit)?,
        None => users::scan(c, &mut visit)?,
    }
    if q.sort_by.is_some() {
        sort_hits(&mut hits, q.sort_order);
    }
    let total = hits.len() as u64;
    let seqs: Vec<i64> = hits
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(q.count).unwrap_or(usize::MAX))
        .map(|(_, seq)| seq)
        .collect();
    Ok(ListPage { total, rows: users::by_seqs(c, &seqs)? })
}

/// Sorts by key (missing values last ascending, first descending: RFC 7644 §3.4.2.3), ties in
/// insertion order.
fn sort_hits(hits: &mut [(Option<SortKey>, i64)], order: SortOrder) {
    let desc = order == SortOrder::Descending;
    hits.sort_by(|(a, sa), (b, sb)| cmp_sort_keys(a.as_ref(), b.as_ref(), desc).then(sa.cmp(sb)));
}

/// An indexed equality among the filter's top-level `and` conjuncts, if there is one.
fn index_lookup(f: &Filter) -> Option<Lookup> {
    match f {
        Filter::And(a, b) => index_lookup(a).or_else(|| index_lookup(b)),
        Filter::Compare(path, CompareOp::Eq, lit) => {
            let Literal::String(v) = lit else { return None };
            lookup_for(path, v)
        }
        Filter::ValuePath(path, inner) if is_core(path) && path.name.eq_ignore_ascii_case("emails") => {
            match inner.as_ref() {
                Filter::Compare(p, CompareOp::Eq, Literal::String(v))
                    if p.name.eq_ignore_ascii_case("value") && p.sub.is_none() =>
                {
                    Some(Lookup::Email(v.clone()))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_core(p: &AttrPath) -> bool {
    p.urn.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(USER_URN))
}

fn lookup_for(p: &AttrPath, v: &str) -> Option<Lookup> {
    if !is_core(p) {
        return None;
    }
    let name = p.name.to_ascii_lowercase();
    match (name.as_str(), p.sub.as_deref()) {
        ("id", None) => Some(Lookup::Id(v.into())),
        ("username", None) => Some(Lookup::UserName(v.into())),
        ("externalid", None) => Some(Lookup::ExternalId(v.into())),
        ("emails", None) => Some(Lookup::Email(v.into())),
        ("emails", Some(s)) if s.eq_ignore_ascii_case("value") => Some(Lookup::Email(v.into())),
        _ => None,
    }
}
