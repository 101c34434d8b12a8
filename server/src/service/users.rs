//! The User resource (RFC 7644 §3): create, read, replace, patch, delete and list.
//!
//! Rules that are ours rather than the RFC's, documented here once:
//! - `active` defaults to `true` on create, and a PUT that leaves `active` out keeps the current
//!   value (Okta's AIW sends full bodies; a status is not profile data to be wiped).
//! - `password` is accepted and discarded: never stored, never returned.
//! - A PATCH or PUT that changes nothing does not bump the version.
//! - `accounts` are stored and returned as the IdP sent them; the effective `access` computed
//!   from them is returned by default (see [`scimbox_validator::accounts::settle`], [`render`]).
//! - Deleting a user removes it from every group.
//! - Deactivations and deletions made with a token are counted by the deprovisioning guard
//!   ([`super::guard`]), inside the same write, which may hold them.

use std::cell::OnceCell;
use std::sync::Arc;

use crate::db::sql::Connection;
use scimbox_validator::ValidationError;
use scimbox_validator::access::{Access, TreeIndex};
use scimbox_validator::accounts::{self as payloads, Catalogue, Document};
use scimbox_validator::patch::{PatchOperation, apply_patch_checked, parse_patch};
use scimbox_validator::resource::{check_immutable, check_required, normalize};
use scimbox_validator::schema::{ResourceType, SCIMBOX_USER_URN, USER_RESOURCE};
use serde_json::{Map, Value, json};

use super::list::{EqTerm, ListQuery, Listed, Page, list_rendered};
use super::{Error, Result, events, guard};
use super::{Preconditions, Rendered, etag, new_id};
use crate::clock;
use crate::db::accounts;
use crate::db::groups::{self, MemberType};
use crate::db::rows::{self, Kind, ResourceRow};
use crate::db::stored;
use crate::db::users::{self, Lookup, UserRow};
use crate::db::{Db, StoreError};

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("User {id} not found"))
}

/// A store error of the operation on `id`, naming the resource when it does not exist.
fn with_id(id: &str) -> impl Fn(StoreError) -> Error + '_ {
    move |e| match e {
        StoreError::NotFound => not_found(id),
        other => other.into(),
    }
}

/// `meta` of a stored resource (RFC 7643 §3.1).
pub fn meta(resource_type: &str, row: &ResourceRow, location: String) -> Value {
    json!({
        "resourceType": resource_type,
        "created": row.created,
        "lastModified": row.last_modified,
        "location": location,
        "version": etag(row.version),
    })
}

/// The SCIM representation of a stored user, without its `groups`, with `meta.location` under
/// `base` (the SCIM base URL).
/// Its attributes are those a stored body holds ([`stored::user_object`]), so the two read paths
/// agree byte for byte.
pub fn to_resource(row: &UserRow, base: &str) -> Value {
    let mut m = stored::user_object(&row.id, &row.doc);
    m.insert("meta".into(), meta("User", row, location(base, &row.id)));
    Value::Object(m)
}

/// The URL of user `id` under `base`.
pub(crate) fn location(base: &str, id: &str) -> String {
    format!("{base}/Users/{id}")
}

/// [`render`], with the version and location typed beside the body.
fn rendered(c: &Connection, row: &UserRow, base: &str, with: WithAccess) -> Result<Rendered, StoreError> {
    let body = render(c, row, base, with)?;
    Ok(Rendered { body, id: row.id.clone(), version: row.version, location: location(base, &row.id), text: None })
}

/// Whether a rendered user carries its effective `access`. It is `returned: default` (RFC 7643
/// §7, issue 13 §3): carried unless the request's `attributes` leave it out or its
/// `excludedAttributes` name it (RFC 7644 §3.9); the default is to carry it (Bulk, the CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithAccess(pub bool);

impl Default for WithAccess {
    fn default() -> Self {
        WithAccess(true)
    }
}

/// What effective access is computed with: the account tree and the roles catalogue. Read at
/// most once per operation, and only once a user with payloads is rendered, so a list page of
/// 100 users reads the registry once (or not at all), not once per user.
#[derive(Default)]
pub(crate) struct Registry(OnceCell<RegistryRead>);

/// The account tree, indexed, and the catalogued role names.
type RegistryRead = (TreeIndex, Vec<String>);

impl Registry {
    /// The registry, read on first use.
    fn get(&self, c: &Connection) -> Result<&RegistryRead, StoreError> {
        if let Some(read) = self.0.get() {
            return Ok(read);
        }
        let tree: Vec<(String, Option<String>)> =
            accounts::list(c)?.into_iter().map(|e| (e.account.id, e.account.parent_id)).collect();
        let tree = TreeIndex::new(&tree);
        let roles = accounts::roles(c)?.into_iter().map(|r| r.name).collect();
        Ok(self.0.get_or_init(|| (tree, roles)))
    }
}

/// The full representation: [`to_resource`] plus the read-only `groups` the user belongs to,
/// directly or through nested groups (RFC 7643 §4.1.2), and, unless left out, its effective
/// access (see [`WithAccess`]). A user with no effective access carries no `access` at all, not
/// `[]`: RFC 7643 §2.5 makes an empty multi-valued attribute the same as an unassigned one, and
/// leaving it out keeps such a user's representation (and `schemas`) as it always was.
pub fn render(c: &Connection, row: &UserRow, base: &str, with: WithAccess) -> Result<Value, StoreError> {
    render_with(c, row, base, with.0.then(Registry::default).as_ref())
}

/// [`render`] with the registry of the operation (`None`: without access), shared by the users
/// of one list page.
pub(crate) fn render_with(
    c: &Connection,
    row: &UserRow,
    base: &str,
    registry: Option<&Registry>,
) -> Result<Value, StoreError> {
    let mut res = to_resource(row, base);
    let groups = groups_of(c, &row.id, base)?;
    let access = match registry {
        Some(registry) => access_with(c, &row.doc, registry)?,
        None => Vec::new(),
    };
    if let Value::Object(m) = &mut res {
        if !groups.is_empty() {
            m.insert("groups".into(), Value::Array(groups));
        }
        if !access.is_empty() {
            put_access(m, access);
        }
        if let Some(meta) = m.shift_remove("meta") {
            m.insert("meta".into(), meta); // keep meta last
        }
    }
    Ok(res)
}

/// The read-only `groups` of user `id` (RFC 7643 §4.1.2): direct and indirect, in the order the
/// groups were created.
pub(crate) fn groups_of(c: &Connection, id: &str, base: &str) -> Result<Vec<Value>, StoreError> {
    Ok(groups::memberships(c, id)?
        .into_iter()
        .map(|g| {
            json!({
                "value": g.id,
                "$ref": format!("{base}/Groups/{}", g.id),
                "display": g.display,
                "type": if g.direct { "direct" } else { "indirect" },
            })
        })
        .collect())
}

/// The user's effective access (see [`scimbox_validator::access`]). The payloads were checked
/// when written; an account removed since simply grants nothing further down.
pub(crate) fn access_of(c: &Connection, doc: &Map<String, Value>) -> Result<Vec<Access>, StoreError> {
    access_with(c, doc, &Registry::default())
}

/// [`access_of`] with the operation's registry. The stored payloads are the IdP's text; the
/// catalogue's role spelling and the cascade are applied here ([`payloads::held`]), and only
/// here. A user without payloads (most) costs no registry read.
fn access_with(c: &Connection, doc: &Map<String, Value>, registry: &Registry) -> Result<Vec<Access>, StoreError> {
    if !payloads::mentions_accounts(doc) {
        return Ok(Vec::new());
    }
    let (tree, roles) = registry.get(c)?;
    let grants = payloads::held(doc, roles);
    if grants.is_empty() {
        return Ok(Vec::new());
    }
    let active = doc.get("active").and_then(Value::as_bool).unwrap_or(true);
    Ok(tree.effective_access(&grants, active))
}

/// Records the `access.*` events of user `id` whose document went from `before` to `after`
/// (`None`: not there), in the write in progress, after its `user.*` event: one per account
/// whose effective access entry changed ([`events::access_diff`]). A user whose documents name
/// no accounts costs nothing.
fn access_events(
    c: &Connection,
    id: &str,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
    actor: &str,
    now: &str,
) -> Result<(), StoreError> {
    let registry = Registry::default();
    let of = |doc: Option<&Map<String, Value>>| doc.map_or(Ok(Vec::new()), |d| access_with(c, d, &registry));
    let (old, new) = (of(before)?, of(after)?);
    if old.is_empty() && new.is_empty() {
        return Ok(());
    }
    let name = after.or(before).and_then(|d| d.get("userName")).cloned().unwrap_or(Value::Null);
    events::record_access(c, &events::access_diff((id, &name), &old, &new), actor, now)
}

/// Every user whose payloads name accounts, with the effective access the registry gives it
/// now: taken before a registry change, for [`registry_access_events`] after it.
pub(crate) struct AccessSnapshot(Vec<Held>);

/// A user in an [`AccessSnapshot`]: id, userName, document, effective access.
type Held = (String, Value, Map<String, Value>, Vec<Access>);

/// Takes an [`AccessSnapshot`] in the write in progress (one scan of the users, the registry
/// read once).
pub(crate) fn access_snapshot(c: &Connection) -> Result<AccessSnapshot, StoreError> {
    let registry = Registry::default();
    let mut out = Vec::new();
    rows::scan(c, Kind::User, None, |row| {
        if payloads::mentions_accounts(&row.doc) {
            let access = access_with(c, &row.doc, &registry)?;
            let name = row.doc.get("userName").cloned().unwrap_or(Value::Null);
            out.push((row.id, name, row.doc, access));
        }
        Ok(())
    })?;
    Ok(AccessSnapshot(out))
}

/// After a registry change (an account added, moved or removed, a role catalogued or
/// dropped) in the write in progress: records the `access.*` events of every user whose
/// effective access it changed, compared with `before`, ordered by accountId (users in the
/// order they were created within one account). Returns how many it recorded.
pub(crate) fn registry_access_events(
    c: &Connection,
    before: AccessSnapshot,
    actor: &str,
    now: &str,
) -> Result<usize, StoreError> {
    let registry = Registry::default();
    let mut diffs = Vec::new();
    for (id, name, doc, old) in before.0 {
        let new = access_with(c, &doc, &registry)?;
        if new != old {
            diffs.extend(events::access_diff((&id, &name), &old, &new));
        }
    }
    diffs.sort_by(|a, b| a.account().cmp(b.account())); // stable: users stay in order
    events::record_access(c, &diffs, actor, now)?;
    Ok(diffs.len())
}

/// Puts `access` into the scimbox extension object, listing the extension in `schemas`.
fn put_access(m: &mut Map<String, Value>, access: Vec<Access>) {
    let ext = m.entry(SCIMBOX_USER_URN.to_string()).or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(ext) = ext {
        ext.insert("access".into(), serde_json::to_value(access).unwrap_or_default());
    }
    if let Some(Value::Array(schemas)) = m.get_mut("schemas")
        && !schemas.iter().any(|s| s == SCIMBOX_USER_URN)
    {
        schemas.push(SCIMBOX_USER_URN.into());
    }
}

/// The registry catalogue, plus what the user already holds: a grant on an account removed (or
/// with a role dropped from the catalogue) since it was given stays valid, so that the IdP can
/// still update or deactivate the user; only new grants must name registered accounts and roles.
fn catalogue_for(cat: &Catalogue, doc: &Map<String, Value>) -> Catalogue {
    let (_, found) = Document::from(&Value::Object(doc.clone())).split_user(&Catalogue::default());
    let held = found.unwrap_or_default();
    let mut cat = cat.clone();
    if let Some(ids) = cat.accounts.as_mut() {
        ids.extend(held.iter().map(|a| a.account_id.clone()));
    }
    if let Some(roles) = cat.roles.as_mut().filter(|r| !r.is_empty()) {
        for role in held.iter().flat_map(|a| &a.roles) {
            if !roles.iter().any(|r| r.eq_ignore_ascii_case(role)) {
                roles.push(role.clone());
            }
        }
    }
    cat
}

/// Normalises and checks a POST or PUT body.
fn incoming(body: &Value, required: &[String]) -> Result<Map<String, Value>, ValidationError> {
    let doc = normalize(&USER_RESOURCE, body)?;
    check_required(&USER_RESOURCE, &doc, required)?;
    Ok(doc)
}

/// POST /Users (RFC 7644 §3.3).
pub async fn create(db: &Db, body: &Value, required: &[String], base: String, with: WithAccess) -> Result<Rendered> {
    let mut doc = incoming(body, required)?;
    doc.entry("active").or_insert(Value::Bool(true));
    let id = new_id();
    let now = clock::now_stamp();
    let required = required.to_vec();
    let (actor, at) = (events::actor(), base.clone());
    // A new user is in no group (its id is new) and, when its document names no accounts, holds
    // no access: its stored texts, keys and index entries, and its GET form (the event's data
    // and the 201's body), are known before the write. Made here, they leave the writer only the
    // inserts (issue 17); the GET form is the stored body with `meta` spliced in, as a read
    // makes it, not a tree copied and serialised. A document naming accounts is settled against
    // the registry, prepared and rendered inside the write, as is a revived user.
    let (ready, unsettled) = match payloads::mentions_accounts(&doc) {
        true => (None, Some(doc)),
        false => {
            let new = users::NewUser::prepare(&id, doc)?;
            let body = new.body().ok_or_else(|| StoreError::Internal("a new user without a stored body".into()))?;
            let event = events::prepared(super::stored::created(body, &id, &now, &base)?);
            (Some((new, event)), None)
        }
    };
    let write = move |c: &Connection| {
        let (new, early) = match (ready, unsettled) {
            (Some((new, event)), _) => (new, Some(event)),
            (None, Some(mut doc)) => {
                payloads::settle(&mut doc, &accounts::catalogue(c)?)?;
                check_required(&USER_RESOURCE, &doc, &required)?; // again: empty accounts were dropped
                (users::NewUser::prepare(&id, doc)?, None)
            }
            (None, None) => return Err(StoreError::Internal("a create without a document".into())),
        };
        let (row, kind, before) = match users::insert_new(c, &new, &now) {
            Ok(seq) => (new.into_row(seq, &now), Some("user.created"), None),
            Err(StoreError::Conflict(msg)) => {
                let (old, row) = revive(c, new.into_doc(), &now)?.ok_or(StoreError::Conflict(msg))?;
                let kind = events::user_change(Some(&old), &row);
                (row, kind, Some(old))
            }
            Err(e) => return Err(e),
        };
        if let (Some(event), None) = (early, &before) {
            events::record_prepared(c, &event, "user.created", "User", &row.id, &actor, &now)?;
            // The tree is left out: the response sends the text ([`Rendered::tree`]).
            return Ok((row, Value::Null, Some(event.into_data())));
        }
        // The event's data is the user as a GET returns it now, rendered here, in the write.
        let body = render(c, &row, &at, WithAccess(true))?;
        if let Some(kind) = kind {
            events::record(c, kind, "User", &row.id, &actor, &now, &body)?;
            access_events(c, &row.id, before.as_ref().map(|b| &b.doc), Some(&row.doc), &actor, &now)?;
        }
        Ok((row, body, None))
    };
    // No savepoint: the create fails, if at all, before its first change (the insert that may
    // meet a taken userName), or as the whole batch does.
    let (row, body, text) = db.write_unshielded(write).await?;
    if with.0 {
        // The event's data, when prepared, is this body's text: the response reuses it.
        let location = location(&base, &row.id);
        return Ok(Rendered { body, id: row.id, version: row.version, location, text });
    }
    // Without access the response is rendered again, after the commit and off the writer.
    Ok(db.read_now(move |c| rendered(c, &row, &base, with)).await?)
}

/// Okta re-provisioning (idp-behaviour.md §1.3 item 3): a POST whose `userName` AND
/// `externalId` match a *deactivated* user revives that user, keeping its `id`, instead of
/// answering 409 and leaving the IdP stuck. The body replaces the user as a PUT would, and
/// `active` is true unless the body says otherwise. A match on an active user, or on userName
/// alone, stays a 409. Returns the user before and after.
fn revive(c: &Connection, doc: Map<String, Value>, now: &str) -> Result<Option<(UserRow, UserRow)>, StoreError> {
    let text = |d: &Map<String, Value>, k: &str| d.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(name), Some(ext)) = (text(&doc, "userName"), text(&doc, "externalId")) else { return Ok(None) };
    let found = users::lookup(c, &Lookup::UserName(name))?.into_iter().next();
    let Some(old) = found else { return Ok(None) };
    let inactive = old.doc.get("active").and_then(Value::as_bool) == Some(false);
    if !inactive || text(&old.doc, "externalId").as_deref() != Some(ext.as_str()) {
        return Ok(None);
    }
    let row = users::update(c, &old.id, now, |_| Ok(doc))?;
    Ok(Some((old, row))) // before, for the event's type, and after
}

/// GET /Users/{id} (RFC 7644 §3.4.1).
pub async fn get(db: &Db, id: &str, base: String, with: WithAccess) -> Result<Rendered> {
    let key = id.to_string();
    let found =
        db.read_now(move |c| users::get(c, &key)?.map(|row| rendered(c, &row, &base, with)).transpose()).await?;
    found.ok_or_else(|| not_found(id))
}

/// PUT /Users/{id} (RFC 7644 §3.5.1): replaces what the client manages.
pub async fn replace(
    db: &Db,
    id: &str,
    body: &Value,
    pre: Preconditions,
    required: &[String],
    base: String,
    with: WithAccess,
) -> Result<Rendered> {
    let mut doc = incoming(body, required)?;
    let (key, now) = (id.to_string(), clock::now_stamp());
    let required = required.to_vec();
    let caller = guard::caller();
    let who = caller.clone();
    let actor = events::actor();
    let write = move |c: &Connection| {
        let cat = accounts::catalogue(c)?;
        let mut held = None;
        let mut before = None;
        let change = |cur: &UserRow| {
            before = Some(cur.clone());
            pre.check(cur.version)?;
            if let (false, Some(active)) = (doc.contains_key("active"), cur.doc.get("active")) {
                doc.insert("active".into(), active.clone());
            }
            check_immutable(&USER_RESOURCE, &cur.doc, &doc)?;
            payloads::settle(&mut doc, &catalogue_for(&cat, &cur.doc))?;
            check_required(&USER_RESOURCE, &doc, &required)?;
            held = guard::judge_update(c, who.as_ref(), cur, &doc, &now)?;
            Ok(if held.is_some() { cur.doc.clone() } else { doc })
        };
        let row = users::update(c, &key, &now, change)?;
        if let Some(h) = held {
            return Ok(Err(h));
        }
        let out = rendered(c, &row, &base, WithAccess(true))?;
        if let Some(kind) = events::user_change(before.as_ref(), &row) {
            events::record(c, kind, "User", &row.id, &actor, &now, &out.body)?;
            access_events(c, &row.id, before.as_ref().map(|b| &b.doc), Some(&row.doc), &actor, &now)?;
        }
        if with.0 { Ok(Ok(out)) } else { rendered(c, &row, &base, with).map(Ok) }
    };
    guard::settle(db.write(write).await.map_err(with_id(id))?, caller.as_ref())
}

/// PATCH /Users/{id} (RFC 7644 §3.5.2): all operations apply, or none.
///
/// The operations are applied off the writer first, to the user as a read connection sees it;
/// the writer then stores that result if the user's version and the accounts catalogue are still
/// the ones it was computed from, and only otherwise (a concurrent change) applies the
/// operations itself. So however many operations a request carries, the writer, which every
/// write of the server waits for, spends on it about what storing the document costs.
pub async fn patch(
    db: &Db,
    id: &str,
    body: &Value,
    pre: Preconditions,
    required: &[String],
    base: String,
    with: WithAccess,
) -> Result<Rendered> {
    let ops = Arc::new(parse_patch(body)?);
    let required: Arc<[String]> = required.into();
    let (key, now) = (id.to_string(), clock::now_stamp());
    let plan = {
        let (ops, required, key, pre) = (Arc::clone(&ops), Arc::clone(&required), key.clone(), pre.clone());
        db.read(move |c| {
            let cur = users::get(c, &key)?.ok_or(StoreError::NotFound)?;
            pre.check(cur.version)?;
            let cat = accounts::catalogue(c)?;
            let doc = patched(&cur, &ops, &cat, &required)?;
            Ok(Planned { version: cur.version, cat, doc })
        })
        .await
        .map_err(with_id(id))?
    };
    let caller = guard::caller();
    let who = caller.clone();
    let actor = events::actor();
    let at = base.clone();
    let write = move |c: &Connection| {
        let cat = accounts::catalogue(c)?;
        let mut held = None;
        let mut before = None;
        let change = |cur: &UserRow| {
            before = Some(cur.clone());
            pre.check(cur.version)?;
            let doc = if plan.version == cur.version && plan.cat == cat {
                plan.doc
            } else {
                patched(cur, &ops, &cat, &required)?
            };
            held = guard::judge_update(c, who.as_ref(), cur, &doc, &now)?;
            Ok(if held.is_some() { cur.doc.clone() } else { doc })
        };
        let row = users::update(c, &key, &now, change)?;
        if held.is_none()
            && let Some(kind) = events::user_change(before.as_ref(), &row)
        {
            // The event's data is the user as a GET returns it now, rendered here, in the write.
            let body = render(c, &row, &at, WithAccess(true))?;
            events::record(c, kind, "User", &row.id, &actor, &now, &body)?;
            access_events(c, &row.id, before.as_ref().map(|b| &b.doc), Some(&row.doc), &actor, &now)?;
        }
        Ok(held.map_or(Ok(row), Err))
    };
    let row = guard::settle(db.write(write).await.map_err(with_id(id))?, caller.as_ref())?;
    // Rendered after the commit, off the writer, as for a create.
    Ok(db.read_now(move |c| rendered(c, &row, &base, with)).await?)
}

/// A PATCH's result, computed from the user at `version` and the catalogue `cat`.
struct Planned {
    version: i64,
    cat: Catalogue,
    doc: Map<String, Value>,
}

/// The user's document after `ops`, checked (types, accounts, required and immutable
/// attributes).
fn patched(
    cur: &UserRow,
    ops: &[PatchOperation],
    cat: &Catalogue,
    required: &[String],
) -> Result<Map<String, Value>, StoreError> {
    let mut doc = cur.doc.clone();
    let cat = catalogue_for(cat, &cur.doc);
    apply_patch_checked(&USER_RESOURCE, &mut doc, ops, |d| {
        *d = normalize(&USER_RESOURCE, &Value::Object(std::mem::take(d)))?;
        payloads::settle(d, &cat).map(drop)
    })?;
    check_required(&USER_RESOURCE, &doc, required)?;
    check_immutable(&USER_RESOURCE, &cur.doc, &doc)?;
    Ok(doc)
}

/// DELETE /Users/{id} (RFC 7644 §3.6); the user leaves every group.
pub async fn delete(db: &Db, id: &str, pre: Preconditions) -> Result<()> {
    let (key, now) = (id.to_string(), clock::now_stamp());
    let caller = guard::caller();
    let who = caller.clone();
    let actor = events::actor();
    let out = db
        .write(move |c| {
            if let Some(cur) = users::get(c, &key)? {
                pre.check(cur.version)?;
                if let Some(held) = guard::judge_delete(c, who.as_ref(), &cur, &now)? {
                    return Ok(Err(held));
                }
            }
            let gone = rows::delete(c, Kind::User, &key, &now, |cur| pre.check(cur.version))?;
            events::record(c, "user.deleted", "User", &key, &actor, &now, &events::deleted_data(&gone, "userName"))?;
            access_events(c, &key, Some(&gone.doc), None, &actor, &now)?;
            events::leaving_all(c, "User", &key, &actor, &now)?;
            groups::forget_member(c, &key, &now).map(Ok)
        })
        .await
        .map_err(with_id(id))?;
    guard::settle(out, caller.as_ref())
}

/// The User type for the list machinery.
pub struct Users;

impl Listed for Users {
    const KIND: Kind = Kind::User;
    const RELATED: &'static [&'static str] = &["groups", "access"];

    fn resource_type() -> &'static ResourceType {
        &USER_RESOURCE
    }

    fn for_filter(c: &Connection, row: &ResourceRow, base: &str, related: bool) -> Result<Value, StoreError> {
        if related { render(c, row, base, WithAccess(true)) } else { Ok(to_resource(row, base)) }
    }

    fn lookup(c: &Connection, t: &EqTerm) -> Result<Option<Vec<ResourceRow>>, StoreError> {
        let by = match (t.attr.as_str(), t.sub.as_deref()) {
            ("id", None) => Lookup::Id(t.value.clone()),
            ("username", None) => Lookup::UserName(t.value.clone()),
            ("externalid", None) => Lookup::ExternalId(t.value.clone()),
            ("emails", None | Some("value")) => Lookup::Email(t.value.clone()),
            _ => return Ok(None),
        };
        users::lookup(c, &by).map(Some)
    }
}

/// GET /Users and POST /Users/.search: the page's users, fully rendered, the registry their
/// access needs read once for the page.
pub async fn list(db: &Db, q: ListQuery, base: String, with: WithAccess) -> Result<Page> {
    let registry = with.0.then(Registry::default);
    list_rendered::<Users, _, _>(db, q, base, move |c, r, base| render_with(c, r, base, registry.as_ref())).await
}

/// Whether a member id names a User or a Group (for group membership).
pub fn member_type(c: &Connection, id: &str) -> Result<Option<MemberType>, StoreError> {
    groups::resource_type_of(c, id)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use scimbox_validator::schema::USER_URN;

    use super::*;
    use crate::db::changes;
    use crate::service::groups::{self as group_service, Members};

    const BASE: &str = "https://scim.test/scim/v2";

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = Db::open(&dir.path().join("s.db")).unwrap_or_else(|e| panic!("{e}"));
        (dir, db)
    }

    /// The typed version and location are the ones the body's `meta` shows, so the `ETag` and
    /// `Location` headers built from them say what the body says.
    #[tokio::test]
    async fn rendered_version_and_location_are_the_bodys_meta() {
        let (_dir, db) = db();
        let body = json!({"schemas": [USER_URN], "userName": "ann"});
        let made = create(&db, &body, &[], BASE.into(), WithAccess::default()).await.expect("create");
        let tree = made.clone().tree().expect("the created user's representation");
        let meta = &tree["meta"];
        assert_eq!((made.version, meta["version"].as_str()), (1, Some(etag(1).as_str())));
        assert_eq!(meta["location"].as_str(), Some(made.location.as_str()));
        assert_eq!(made.location, format!("{BASE}/Users/{}", made.id));
        let ops = json!({"schemas": [scimbox_validator::schema::PATCH_OP_URN],
                         "Operations": [{"op": "replace", "path": "displayName", "value": "Ann"}]});
        let patched = patch(&db, &made.id, &ops, Preconditions::default(), &[], BASE.into(), WithAccess::default())
            .await
            .expect("patch");
        assert_eq!((patched.version, patched.body["meta"]["version"].as_str()), (2, Some(etag(2).as_str())));
    }

    /// One DELETE is one write at one moment: the user's deletion and its removal from its
    /// groups are recorded with the same time (issue 12).
    #[tokio::test]
    async fn a_delete_records_its_deletion_and_membership_removal_at_one_moment() {
        let (_dir, db) = db();
        let user = json!({"schemas": [USER_URN], "userName": "bob"});
        let id = create(&db, &user, &[], BASE.into(), WithAccess::default()).await.expect("create").id;
        let group = json!({"schemas": [scimbox_validator::schema::GROUP_URN], "displayName": "staff",
                           "members": [{"value": id}]});
        let gid = group_service::create(&db, &group, BASE.into(), Members::Omit).await.expect("group").id;
        delete(&db, &id, Preconditions::default()).await.expect("delete");
        let (uid, group_id) = (id.clone(), gid.clone());
        let (u, g) = db
            .read_now(move |c| {
                Ok((changes::changes_for(c, "User", &uid, 1)?, changes::changes_for(c, "Group", &group_id, 1)?))
            })
            .await
            .expect("history");
        assert_eq!((u[0].action.as_str(), g[0].action.as_str()), ("deleted", "updated"));
        assert_eq!(u[0].at, g[0].at, "one write, one moment");
    }
}
