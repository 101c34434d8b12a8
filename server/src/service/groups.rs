//! The Group resource (RFC 7643 §4.2, RFC 7644 §3) and its membership.
//!
//! Members live in their own table, and every membership change is a keyed insert or delete,
//! so adding one member to a 100,000-member group costs what it costs on a 10-member group.
//! Rules that are ours, documented here once:
//! - A member must exist: adding an id that no User or Group has is a 400 `invalidValue` naming
//!   it (an IdP that pushes a member it never provisioned has a mapping problem worth seeing).
//!   `type` defaults to the type the id really has (Okta sends none); a `type` that contradicts it
//!   is refused. `$ref` is always computed; `display` is kept as sent, else looked up.
//! - A group cannot be its own member. Nested groups may form cycles; membership queries are
//!   cycle-safe.
//! - A PUT without `members` keeps the members (only `members: []` empties a group).
//! - Write responses carry the members only for groups of at most [`INLINE_MEMBERS`], unless
//!   `attributes` asks for them; GET follows `attributes`/`excludedAttributes` and never loads
//!   members it will not return.

use std::collections::{HashMap, HashSet};

use crate::db::sql::Connection;
use scimbox_validator::filter::{CompareOp, Filter, Literal};
use scimbox_validator::patch::{PatchOpKind, PatchOperation, apply_one, blame, parse_patch};
use scimbox_validator::path::PatchPath;
use scimbox_validator::resource::{check_immutable, check_required, normalize, normalize_attribute};
use scimbox_validator::schema::{Attribute, GROUP_RESOURCE, GROUP_SCHEMA, GROUP_URN, ResourceType};
use scimbox_validator::{ValidationError, path};
use serde_json::{Map, Value, json};

use super::list::{EqTerm, ListQuery, Listed, Page, list_rendered};
use super::users::meta;
use super::{Error, Result, events};
use super::{Preconditions, Rendered, new_id};
use crate::clock;
use crate::db::groups::{self, GroupRow, Lookup, Member};
use crate::db::rows::{self, Kind, ResourceRow};
use crate::db::{Db, StoreError};

/// Write responses include members only for groups at most this large (unless asked).
pub const INLINE_MEMBERS: u64 = 1000;

/// Which members a rendered group carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Members {
    /// All of them.
    All,
    /// None: they are not even read.
    Omit,
    /// All of them when there are at most [`INLINE_MEMBERS`].
    IfSmall,
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("Group {id} not found"))
}

/// A store error of the operation on `id`, naming the group when it does not exist.
fn with_id(id: &str) -> impl Fn(StoreError) -> Error + '_ {
    move |e| match e {
        StoreError::NotFound => not_found(id),
        other => other.into(),
    }
}

fn members_attr() -> &'static Attribute {
    GROUP_SCHEMA.attribute("members").unwrap_or(&GROUP_SCHEMA.attributes[1])
}

fn member_json(m: &Member, base: &str) -> Value {
    let mut v = json!({
        "value": m.id,
        "$ref": format!("{base}/{}/{}", m.kind.endpoint(), m.id),
        "type": m.kind.as_str(),
    });
    if let Some(d) = &m.display {
        v["display"] = d.clone().into();
    }
    v
}

/// The SCIM representation of a stored group, with the members `which` asks for.
pub fn render(c: &Connection, row: &GroupRow, base: &str, which: Members) -> Result<Value, StoreError> {
    let mut m = Map::new();
    m.insert("schemas".into(), json!([GROUP_URN]));
    m.insert("id".into(), row.id.clone().into());
    for (k, v) in &row.doc {
        m.insert(k.clone(), v.clone());
    }
    let include = match which {
        Members::All => true,
        Members::Omit => false,
        Members::IfSmall => groups::member_count(c, row.seq)? <= INLINE_MEMBERS,
    };
    if include {
        let members: Vec<Value> = groups::members(c, row.seq)?.iter().map(|m| member_json(m, base)).collect();
        if !members.is_empty() {
            m.insert("members".into(), Value::Array(members));
        }
    }
    m.insert("meta".into(), meta("Group", row, location(base, &row.id)));
    Ok(Value::Object(m))
}

/// The URL of group `id` under `base`.
fn location(base: &str, id: &str) -> String {
    format!("{base}/Groups/{id}")
}

/// [`render`], with the version and location typed beside the body.
fn rendered(c: &Connection, row: &GroupRow, base: &str, which: Members) -> Result<Rendered, StoreError> {
    let body = render(c, row, base, which)?;
    Ok(Rendered { body, id: row.id.clone(), version: row.version, location: location(base, &row.id) })
}

/// Turns normalised member values into members that exist (see the module rules).
fn resolve_members(c: &Connection, values: &[Value], group_id: &str) -> Result<Vec<Member>, StoreError> {
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let Some(id) = v.get("value").and_then(Value::as_str) else {
            return Err(ValidationError::value(format!("members[{i}]: \"value\" (the member's id) is required")).into());
        };
        if id == group_id {
            return Err(ValidationError::value(format!("members[{i}]: a group cannot be its own member")).into());
        }
        let Some(kind) = groups::resource_type_of(c, id)? else {
            return Err(ValidationError::value(format!(
                "members[{i}].value: no User or Group has id \"{id}\"; provision the member before adding it"
            ))
            .into());
        };
        if let Some(t) = v.get("type").and_then(Value::as_str)
            && !t.eq_ignore_ascii_case(kind.as_str())
        {
            return Err(ValidationError::value(format!(
                "members[{i}].type is \"{t}\" but \"{id}\" is a {}",
                kind.as_str()
            ))
            .into());
        }
        let display = v.get("display").and_then(Value::as_str).map(str::to_owned);
        out.push(Member { id: id.to_owned(), kind, display });
    }
    Ok(out)
}

/// Normalises a raw `members` value (one member, a list, or null) into member objects.
fn member_values(raw: Option<&Value>, shown: &str) -> Result<Vec<Value>, ValidationError> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    let norm = normalize_attribute(members_attr(), raw, shown)?;
    Ok(match norm {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    })
}

/// Adds members, skipping those already there; returns whether any was added.
fn add_all(c: &Connection, seq: i64, members: &[Member]) -> Result<bool, StoreError> {
    let mut changed = false;
    for m in members {
        changed |= groups::add_member(c, seq, m)?;
    }
    Ok(changed)
}

/// Makes the member list exactly `members`; returns whether it changed. The same members in
/// another order, each `display` sent equal to the one shown, are no change (issue 13 §2: Okta's
/// AIW PUTs the whole list on every push, in whatever order it holds it; membership is a set).
fn replace_all(c: &Connection, seq: i64, members: &[Member]) -> Result<bool, StoreError> {
    let current = groups::members(c, seq)?;
    let shown: HashMap<&str, &Option<String>> = current.iter().map(|m| (m.id.as_str(), &m.display)).collect();
    let sent: HashSet<&str> = members.iter().map(|m| m.id.as_str()).collect();
    let same = shown.len() == sent.len()
        && members.iter().all(|b| shown.get(b.id.as_str()).is_some_and(|d| b.display.is_none() || **d == b.display));
    if same {
        return Ok(false);
    }
    groups::clear_members(c, seq)?;
    add_all(c, seq, members)?;
    Ok(true)
}

/// Normalises a POST/PUT body into the document and its `members`: `None` when the body has no
/// `members` key, `Some(Null)` when it has one that is empty or null (a PUT that empties the
/// group: Okta's AIW sends `[]` once the last member is unassigned).
fn incoming(body: &Value) -> Result<(Map<String, Value>, Option<Value>), ValidationError> {
    let mut doc = normalize(&GROUP_RESOURCE, body)?;
    let sent = body.as_object().is_some_and(|o| o.keys().any(|k| k.eq_ignore_ascii_case("members")));
    let members = doc.shift_remove("members").or_else(|| sent.then_some(Value::Null));
    check_required(&GROUP_RESOURCE, &doc, &[])?;
    Ok((doc, members))
}

/// POST /Groups (RFC 7644 §3.3).
pub async fn create(db: &Db, body: &Value, base: String, which: Members) -> Result<Rendered> {
    let (doc, members) = incoming(body)?;
    let values = member_values(members.as_ref(), "members")?;
    let id = new_id();
    let now = clock::now_stamp();
    let actor = events::actor();
    let write = move |c: &Connection| {
        let row = groups::insert(c, &id, doc, &now)?;
        add_all(c, row.seq, &resolve_members(c, &values, &id)?)?;
        events::record(c, "group.created", "Group", &id, &actor, &now, &render(c, &row, &base, Members::Omit)?)?;
        events::pending_members(c, row.seq, (&id, &display_name(&row)), &actor, &now)?;
        rendered(c, &row, &base, which)
    };
    Ok(db.write(write).await?)
}

/// GET /Groups/{id} (RFC 7644 §3.4.1).
pub async fn get(db: &Db, id: &str, base: String, which: Members) -> Result<Rendered> {
    let key = id.to_string();
    let found = db.read(move |c| groups::get(c, &key)?.map(|row| rendered(c, &row, &base, which)).transpose()).await?;
    found.ok_or_else(|| not_found(id))
}

/// PUT /Groups/{id} (RFC 7644 §3.5.1).
pub async fn replace(
    db: &Db,
    id: &str,
    body: &Value,
    pre: Preconditions,
    base: String,
    which: Members,
) -> Result<Rendered> {
    let (doc, members) = incoming(body)?;
    let values = members.as_ref().map(|m| member_values(Some(m), "members")).transpose()?;
    let (key, now) = (id.to_string(), clock::now_stamp());
    let actor = events::actor();
    let write = move |c: &Connection| {
        let cur = groups::get(c, &key)?.ok_or(StoreError::NotFound)?;
        pre.check(cur.version)?;
        check_immutable(&GROUP_RESOURCE, &cur.doc, &doc)?;
        let changed = match &values {
            Some(v) => replace_all(c, cur.seq, &resolve_members(c, v, &key)?)?,
            None => false,
        };
        changes_recorded(c, &cur, &doc, &actor, &now, &base)?;
        let row = groups::save(c, cur, doc, changed, &now)?;
        rendered(c, &row, &base, which)
    };
    db.write(write).await.map_err(with_id(id))
}

/// PATCH /Groups/{id} (RFC 7644 §3.5.2): operations on `members` become keyed inserts and
/// deletes; the others apply to the document. All apply, or none.
pub async fn patch(
    db: &Db,
    id: &str,
    body: &Value,
    pre: Preconditions,
    base: String,
    which: Members,
) -> Result<Rendered> {
    let ops = parse_patch(body)?;
    let (key, now) = (id.to_string(), clock::now_stamp());
    let actor = events::actor();
    let write = move |c: &Connection| {
        let cur = groups::get(c, &key)?.ok_or(StoreError::NotFound)?;
        pre.check(cur.version)?;
        let mut doc = cur.doc.clone();
        let mut changed = false;
        for (i, op) in ops.iter().enumerate() {
            changed |= apply_op(c, &cur, &mut doc, i, op)?;
        }
        check_required(&GROUP_RESOURCE, &doc, &[])?;
        check_immutable(&GROUP_RESOURCE, &cur.doc, &doc)?;
        changes_recorded(c, &cur, &doc, &actor, &now, &base)?;
        let row = groups::save(c, cur, doc, changed, &now)?;
        rendered(c, &row, &base, which)
    };
    db.write(write).await.map_err(with_id(id))
}

/// The group's displayName (required, so always there on a stored group).
fn display_name(row: &GroupRow) -> String {
    row.doc.get("displayName").and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// Records the events of a change of `cur` to `doc` plus the membership changes noted in this
/// write, before [`groups::save`] stores the change and folds those notes into the history:
/// `group.updated` when the document changed (with the group as it will read, without members),
/// then one `group.member_added`/`_removed` per member. Nothing when nothing changed.
fn changes_recorded(
    c: &Connection,
    cur: &GroupRow,
    doc: &Map<String, Value>,
    actor: &str,
    now: &str,
    base: &str,
) -> Result<(), StoreError> {
    let name = doc.get("displayName").and_then(Value::as_str).unwrap_or_default();
    if *doc != cur.doc {
        let after =
            GroupRow { version: cur.version + 1, last_modified: now.to_owned(), doc: doc.clone(), ..cur.clone() };
        events::record(c, "group.updated", "Group", &cur.id, actor, now, &render(c, &after, base, Members::Omit)?)?;
    }
    events::pending_members(c, cur.seq, (&cur.id, name), actor, now)
}

fn is_members(p: &PatchPath) -> bool {
    p.attr.name.eq_ignore_ascii_case("members")
        && p.attr.urn.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(GROUP_URN))
}

/// Applies operation `i`; returns whether the membership changed.
fn apply_op(
    c: &Connection,
    cur: &GroupRow,
    doc: &mut Map<String, Value>,
    i: usize,
    op: &PatchOperation,
) -> Result<bool, StoreError> {
    let normalize_doc = |d: &mut Map<String, Value>| {
        *d = normalize(&GROUP_RESOURCE, &Value::Object(std::mem::take(d)))?;
        Ok(())
    };
    match &op.path {
        Some(p) if is_members(p) => member_op(c, cur, op, p).map_err(|e| blame_store(i, op, e)),
        Some(_) => {
            apply_one(&GROUP_RESOURCE, doc, i, op, normalize_doc)?;
            Ok(false)
        }
        None => {
            let (members, rest) = split_members(op);
            if let Some(rest) = rest {
                apply_one(&GROUP_RESOURCE, doc, i, &rest, normalize_doc)?;
            }
            let Some(m) = members else { return Ok(false) };
            let values = member_values(Some(&m), "members").map_err(|e| blame(i, op, e))?;
            let resolved = resolve_members(c, &values, &cur.id).map_err(|e| blame_store(i, op, e))?;
            match op.op {
                PatchOpKind::Replace => replace_all(c, cur.seq, &resolved),
                _ => add_all(c, cur.seq, &resolved),
            }
        }
    }
}

fn blame_store(i: usize, op: &PatchOperation, e: StoreError) -> StoreError {
    match e {
        StoreError::Invalid(v) => StoreError::Invalid(blame(i, op, v)),
        other => other,
    }
}

/// Splits a path-less value object into its `members` and the rest (Okta and JumpCloud send
/// `{"op":"replace","value":{"displayName":..,"members":[..]}}`).
fn split_members(op: &PatchOperation) -> (Option<Value>, Option<PatchOperation>) {
    let Some(Value::Object(obj)) = &op.value else { return (None, Some(op.clone())) };
    let mut rest = obj.clone();
    let key = rest.keys().find(|k| k.eq_ignore_ascii_case("members")).cloned();
    let members = key.and_then(|k| rest.shift_remove(&k));
    let rest = (!rest.is_empty()).then(|| PatchOperation { value: Some(Value::Object(rest)), ..op.clone() });
    (members, rest)
}

/// An operation whose path is `members` or `members[...]` (its caller names the operation in
/// errors).
fn member_op(c: &Connection, cur: &GroupRow, op: &PatchOperation, p: &PatchPath) -> Result<bool, StoreError> {
    let unsupported = |what: &str| -> StoreError {
        ValidationError::path(format!(
            "{what}: members are managed whole; use path \"members\" (add, replace, remove) or \
             \"members[value eq \\\"<id>\\\"]\" (remove)"
        ))
        .into()
    };
    if p.attr.sub.is_some() || p.sub.is_some() {
        return Err(unsupported("a sub-attribute of members cannot be changed"));
    }
    match (&p.filter, op.op) {
        (None, PatchOpKind::Add) => {
            let values = member_values(op.value.as_ref(), "value")?;
            add_all(c, cur.seq, &resolve_members(c, &values, &cur.id)?)
        }
        (None, PatchOpKind::Replace) => {
            let values = member_values(op.value.as_ref(), "value")?;
            replace_all(c, cur.seq, &resolve_members(c, &values, &cur.id)?)
        }
        (None, PatchOpKind::Remove) => match &op.value {
            // Entra: remove the listed members, never all of them.
            Some(v) if !v.is_null() => remove_listed(c, cur.seq, v),
            _ => Ok(groups::clear_members(c, cur.seq)? > 0),
        },
        (Some(f), PatchOpKind::Remove) => remove_matching(c, cur.seq, f),
        (Some(_), _) => Err(unsupported(&format!("{} with a filtered members path", op.op.as_str()))),
    }
}

fn remove_listed(c: &Connection, seq: i64, v: &Value) -> Result<bool, StoreError> {
    let mut changed = false;
    for m in path::values_of(v) {
        let id = m.get("value").and_then(Value::as_str).or_else(|| m.as_str());
        if let Some(id) = id {
            changed |= groups::remove_member(c, seq, id)?;
        }
    }
    Ok(changed)
}

/// `remove` with `members[filter]`: `value eq "x"` is one keyed delete; any other filter is
/// evaluated on each member.
fn remove_matching(c: &Connection, seq: i64, f: &Filter) -> Result<bool, StoreError> {
    f.check_value(members_attr())?;
    if let Filter::Compare(p, CompareOp::Eq, Literal::String(v)) = f
        && p.name.eq_ignore_ascii_case("value")
        && p.sub.is_none()
    {
        return groups::remove_member(c, seq, v);
    }
    let mut changed = false;
    for m in groups::members(c, seq)? {
        if f.matches_value(members_attr(), &member_json(&m, "")) {
            changed |= groups::remove_member(c, seq, &m.id)?;
        }
    }
    Ok(changed)
}

/// DELETE /Groups/{id} (RFC 7644 §3.6); the group leaves the groups it belonged to.
pub async fn delete(db: &Db, id: &str, pre: Preconditions) -> Result<()> {
    let (key, now) = (id.to_string(), clock::now_stamp());
    let actor = events::actor();
    db.write(move |c| {
        let gone = rows::delete(c, Kind::Group, &key, &now, |cur| pre.check(cur.version))?;
        events::record(c, "group.deleted", "Group", &key, &actor, &now, &events::deleted_data(&gone, "displayName"))?;
        events::leaving_all(c, "Group", &key, &actor, &now)?;
        groups::forget_member(c, &key, &now)
    })
    .await
    .map_err(with_id(id))
}

/// The Group type for the list machinery.
pub struct Groups;

impl Listed for Groups {
    const KIND: Kind = Kind::Group;
    const RELATED: &'static [&'static str] = &["members"];

    fn resource_type() -> &'static ResourceType {
        &GROUP_RESOURCE
    }

    fn for_filter(c: &Connection, row: &ResourceRow, base: &str, related: bool) -> Result<Value, StoreError> {
        render(c, row, base, if related { Members::All } else { Members::Omit })
    }

    fn lookup(c: &Connection, t: &EqTerm) -> Result<Option<Vec<ResourceRow>>, StoreError> {
        let by = match (t.attr.as_str(), t.sub.as_deref()) {
            ("id", None) => Lookup::Id(t.value.clone()),
            ("displayname", None) => Lookup::DisplayName(t.value.clone()),
            ("externalid", None) => Lookup::ExternalId(t.value.clone()),
            ("members", None | Some("value")) => Lookup::Member(t.value.clone()),
            _ => return Ok(None),
        };
        groups::lookup(c, &by).map(Some)
    }
}

/// GET /Groups and POST /Groups/.search.
pub async fn list(db: &Db, q: ListQuery, base: String, which: Members) -> Result<Page> {
    list_rendered::<Groups, _, _>(db, q, base, move |c, r, base| render(c, r, base, which)).await
}
