//! The application's change feed (issue 14): events recorded inside the write of the change
//! they describe, and read back in order by `GET /api/v1/events`.
//!
//! An event is `{seq, id, type, occurred_at, resource: {type, id, location}, actor, data}`:
//! - `seq` orders the feed (strictly increasing, never reused); `id` is a uuid, the event's
//!   identity (a webhook's `webhook-id`, to come);
//! - `occurred_at` is the write's stamp, the `meta.lastModified` the change gave the resource;
//! - `actor` is the name of the token the request was made with, `cli` for the command line,
//!   `status-page` for the status page's actions;
//! - `data` is, for `user.*`, the user as `GET` returned it at that moment (effective access
//!   included; for `user.deleted` only `id`, `userName`, `externalId`); for `group.created` and
//!   `group.updated` the group without its members (a group may have 100,000), for
//!   `group.deleted` its `id`, `displayName`, `externalId`; for `group.member_added`/`_removed`
//!   `{"group": {id, displayName}, "member": {type, value}}`, one event per member, netted within
//!   the write (a PUT that resends 100,000 members plus one gives one event).
//!
//! A write that changes nothing (the version stays) records nothing; a refused write rolls its
//! events back with it; a Bulk operation is its own write, so each committed one has its events.
//! `resource.location` is built when the feed is read, under the base URL the reader uses.
//!
//! Events are kept `--events-days` (90 by default); the pruned horizon is recorded, so a cursor
//! from before it is answered 410 instead of silently skipping what it missed.
//!
//! `access.granted` / `access.changed` / `access.revoked` (`access_diff`): one per user and
//! account whose effective access, as `GET` shows it, changed, recorded after the write's
//! `user.*` event (a registry change has none) in accountId order; `data` is `user` (`id`,
//! `userName`), `accountId`, `roles`, `teams`, `status`, `inheritedFrom` when inherited, and
//! `previous` (the old entry) for changed and revoked. `guard.tripped` (`guard_tripped`): the
//! deprovisioning guard started holding a token. [`to_set`] shows any event as RFC 9967 claims.

use std::time::Duration;

use std::collections::BTreeMap;

use crate::db::sql::Connection;
use base64::Engine;
use scimbox_validator::access::Access;
use serde_json::{Value, json};

use super::{Error, Result, guard, new_id};
use crate::db::events::{self as store, NewEvent};
use crate::db::rows::ResourceRow;
use crate::db::{Db, StoreError};

/// Every event type the feed knows, in the order the documentation lists them.
pub const TYPES: &[&str] = &[
    "user.created",
    "user.updated",
    "user.deactivated",
    "user.reactivated",
    "user.deleted",
    "group.created",
    "group.updated",
    "group.deleted",
    "group.member_added",
    "group.member_removed",
    "access.granted",
    "access.changed",
    "access.revoked",
    "guard.tripped",
];

/// The most events one feed page returns, and the default.
pub const MAX_LIMIT: u32 = 1000;
/// The page size without `limit`.
pub const DEFAULT_LIMIT: u32 = 100;
/// The longest long poll.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// How often a long poll looks at the database besides the writer's wake-ups: events written by
/// another process (the CLI on SQLite; on PostgreSQL, any instance while the listener of
/// [`crate::db::pg_listen`] is reconnecting) reach waiting readers within this.
pub const RECHECK: Duration = crate::config::FEED_RECHECK;

tokio::task_local! {
    static ACTOR: &'static str;
}

/// Runs `f` with `who` (`status-page`) as the actor of the events its writes record, when no
/// token is in scope.
pub async fn acting_as<F: std::future::Future>(who: &'static str, f: F) -> F::Output {
    ACTOR.scope(who, f).await
}

/// Who makes the writes of the task being served: the request's token name (the guard's
/// task-local, set after authentication), else the entry point's name, else `cli`. Read before a
/// write is handed to the writer (task-locals do not cross to its thread).
pub(crate) fn actor() -> String {
    if let Some(c) = guard::caller() {
        return c.token;
    }
    ACTOR.try_with(|a| (*a).to_owned()).unwrap_or_else(|_| "cli".to_owned())
}

/// Records one event in the write in progress.
pub(crate) fn record(
    c: &Connection,
    kind: &str,
    resource_type: &str,
    resource_id: &str,
    actor: &str,
    at: &str,
    data: &Value,
) -> Result<(), StoreError> {
    record_prepared(c, &prepare(data)?, kind, resource_type, resource_id, actor, at)
}

/// An event's id and serialised `data`, made before its write when the data is known then (a
/// new user without accounts: see `users::create`), so that the writer thread, which every
/// write waits for, only inserts the row (issue 17).
pub(crate) struct Prepared {
    id: String,
    data: String,
}

/// Gives an event its id and serialises its `data`.
pub(crate) fn prepare(data: &Value) -> Result<Prepared, StoreError> {
    Ok(Prepared { id: new_id(), data: serde_json::to_string(data)? })
}

/// An event with `data` serialised already (a new user's GET form: see `users::create`), given its id.
pub(crate) fn prepared(data: String) -> Prepared {
    Prepared { id: new_id(), data }
}

impl Prepared {
    /// Its serialised `data`, for a response that is the same text.
    pub(crate) fn into_data(self) -> String {
        self.data
    }
}

/// [`record`] of a [`Prepared`] event.
pub(crate) fn record_prepared(
    c: &Connection,
    event: &Prepared,
    kind: &str,
    resource_type: &str,
    resource_id: &str,
    actor: &str,
    at: &str,
) -> Result<(), StoreError> {
    let e = NewEvent { id: &event.id, kind, at, resource_type, resource_id, actor, data: &event.data };
    store::insert(c, &e).map(drop)
}

fn active(row: &ResourceRow) -> bool {
    row.doc.get("active").and_then(Value::as_bool).unwrap_or(true)
}

/// The type of a user's change from `before` (`None`: created) to `after`, or `None` when
/// nothing changed (the version stayed: issue 13's no-op writes).
pub(crate) fn user_change(before: Option<&ResourceRow>, after: &ResourceRow) -> Option<&'static str> {
    let Some(before) = before else { return Some("user.created") };
    if before.version == after.version {
        return None;
    }
    Some(match (active(before), active(after)) {
        (true, false) => "user.deactivated",
        (false, true) => "user.reactivated",
        _ => "user.updated",
    })
}

/// `data` of a deletion: what identifies the resource once it is gone.
pub(crate) fn deleted_data(row: &ResourceRow, name_key: &str) -> Value {
    json!({
        "id": row.id,
        name_key: row.doc.get(name_key).cloned().unwrap_or(Value::Null),
        "externalId": row.doc.get("externalId").cloned().unwrap_or(Value::Null),
    })
}

/// Records a membership event of group (`id`, `display`) for member (`member_type`, `value`).
pub(crate) fn member(
    c: &Connection,
    added: bool,
    group: (&str, &str),
    member: (&str, &str),
    actor: &str,
    at: &str,
) -> Result<(), StoreError> {
    let kind = if added { "group.member_added" } else { "group.member_removed" };
    let data = json!({
        "group": {"id": group.0, "displayName": group.1},
        "member": {"type": member.0, "value": member.1},
    });
    record(c, kind, "Group", group.0, actor, at, &data)
}

/// Records the membership events of group `seq` noted in the write in progress (netted), before
/// they are folded into the change history.
pub(crate) fn pending_members(
    c: &Connection,
    seq: i64,
    group: (&str, &str),
    actor: &str,
    at: &str,
) -> Result<(), StoreError> {
    for (value, kind, added) in store::pending_members(c, seq)? {
        member(c, added, group, (&kind, &value), actor, at)?;
    }
    Ok(())
}

/// Records `group.member_removed` for every group `member_id` (of `member_type`) directly
/// belongs to: call before its memberships are dropped (a deletion).
pub(crate) fn leaving_all(
    c: &Connection,
    member_type: &str,
    member_id: &str,
    actor: &str,
    at: &str,
) -> Result<(), StoreError> {
    for (gid, display) in store::direct_groups(c, member_id)? {
        member(c, false, (&gid, &display), (member_type, member_id), actor, at)?;
    }
    Ok(())
}

/// One `access.*` event to record: the user's `(id, userName)`, the account, and its entry
/// before and after (either absent, never both).
pub(crate) struct AccessDiff {
    user: (String, Value),
    account: String,
    before: Option<Access>,
    after: Option<Access>,
}

/// The `access.*` events of one user whose effective access went from `before` to `after`: one
/// per account whose entry appeared (`granted`), differs in roles, teams, status or the
/// ancestor it is inherited from (`changed`), or disappeared (`revoked`), in accountId order.
/// The entries compared are exactly what the user's `access` attribute shows, so a deactivated
/// user's entries change to status `Inactive` (`access.changed`), as `GET` shows them, rather
/// than disappearing; deletion revokes every entry.
pub(crate) fn access_diff(user: (&str, &Value), before: &[Access], after: &[Access]) -> Vec<AccessDiff> {
    let mut both: BTreeMap<&str, (Option<&Access>, Option<&Access>)> = BTreeMap::new();
    for a in before {
        both.entry(a.account_id.as_str()).or_default().0 = Some(a);
    }
    for a in after {
        both.entry(a.account_id.as_str()).or_default().1 = Some(a);
    }
    both.into_iter()
        .filter(|(_, (b, a))| b != a)
        .map(|(account, (b, a))| AccessDiff {
            user: (user.0.to_owned(), user.1.clone()),
            account: account.to_owned(),
            before: b.cloned(),
            after: a.cloned(),
        })
        .collect()
}

impl AccessDiff {
    /// The account whose entry changed.
    pub(crate) fn account(&self) -> &str {
        &self.account
    }
}

/// Records `diffs` in the write in progress, in the order given.
pub(crate) fn record_access(c: &Connection, diffs: &[AccessDiff], actor: &str, at: &str) -> Result<(), StoreError> {
    for d in diffs {
        let kind = match (&d.before, &d.after) {
            (None, _) => "access.granted",
            (Some(_), Some(_)) => "access.changed",
            (Some(_), None) => "access.revoked",
        };
        let mut data = json!({
            "user": {"id": d.user.0, "userName": d.user.1},
            "accountId": d.account,
            "roles": [],
            "teams": [],
            "status": Value::Null,
        });
        if let (Some(now), Value::Object(m)) = (&d.after, &mut data) {
            m.insert("roles".into(), json!(now.roles));
            m.insert("teams".into(), json!(now.teams));
            m.insert("status".into(), serde_json::to_value(now.status)?);
            if let Some(from) = &now.inherited_from {
                m.insert("inheritedFrom".into(), json!(from));
            }
        }
        if let (Some(old), Value::Object(m)) = (&d.before, &mut data) {
            m.insert("previous".into(), serde_json::to_value(old)?);
        }
        record(c, kind, "User", &d.user.0, actor, at, &data)?;
    }
    Ok(())
}

/// Records `guard.tripped` for the token called `token`: the deprovisioning guard held its
/// `count + 1`th deprovisioning within `window` (see [`super::guard`]). Its resource is the
/// token (type `Token`, id its name, no SCIM location), and so is its actor.
pub(crate) fn guard_tripped(
    c: &Connection,
    token: &str,
    window: Duration,
    count: u64,
    at: &str,
) -> Result<(), StoreError> {
    let data =
        json!({"token": token, "window": guard::human(window), "windowSeconds": window.as_secs(), "count": count});
    record(c, "guard.tripped", "Token", token, token, at, &data) // the token's own request tripped it
}

/// A feed cursor: opaque to clients (base64url of `e<seq>`), stable across restarts.
pub fn cursor(seq: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("e{seq}"))
}

/// The seq a cursor stands for; `Invalid` when it is not one of ours.
pub fn parse_cursor(raw: &str) -> Result<i64> {
    let bad = || Error::invalid(format!("\"{raw}\" is not a cursor of this feed; pass a \"next\" value it returned"));
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
    text.strip_prefix('e').and_then(|n| n.parse::<i64>().ok()).filter(|n| *n >= 0).ok_or_else(bad)
}

/// Turns `types=user.*,group.created` into the exact type names it stands for (`None`: all).
/// `*` matches any run of characters; a name or pattern that matches no known type is
/// `Invalid`, naming the known ones.
pub fn parse_types(raw: Option<&str>) -> Result<Option<Vec<String>>> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(None) };
    let mut out: Vec<String> = Vec::new();
    for pat in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let hits: Vec<&str> = TYPES.iter().copied().filter(|t| glob(pat, t)).collect();
        if hits.is_empty() {
            return Err(Error::invalid(format!(
                "types: \"{pat}\" matches no event type; the types are {} (\"*\" matches any characters)",
                TYPES.join(", ")
            )));
        }
        for h in hits {
            if !out.iter().any(|o| o == h) {
                out.push(h.to_owned());
            }
        }
    }
    Ok(if out.len() == TYPES.len() { None } else { Some(out) })
}

/// Whether `name` matches `pat`, where `*` stands for any run of characters.
pub(crate) fn glob(pat: &str, name: &str) -> bool {
    match pat.split_once('*') {
        None => pat == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else { return false };
            (0..=tail.len()).filter(|i| tail.is_char_boundary(*i)).any(|i| glob(rest, &tail[i..]))
        }
    }
}

/// A feed request, parsed.
#[derive(Debug, Clone)]
pub struct FeedQuery {
    /// Events after this seq (`None`: from the oldest kept).
    pub after: Option<i64>,
    /// At most this many.
    pub limit: u32,
    /// Only these types (`None`: all).
    pub types: Option<Vec<String>>,
    /// How long to wait for a first matching event.
    pub wait: Duration,
    /// How often to look at the database while waiting, besides the wake-ups ([`RECHECK`]).
    pub recheck: Duration,
}

/// One event as the feed shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FeedEvent {
    /// Its place (also a cursor's number).
    pub seq: i64,
    /// Its uuid.
    pub id: String,
    /// `user.created`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// RFC 3339.
    pub occurred_at: String,
    /// `{type, id, location}`.
    pub resource: Value,
    /// Who made the change.
    pub actor: String,
    /// What the type says (see the module documentation).
    pub data: Value,
    /// The seq of the first event of its write (RFC 9967 `txn`; shown only as a SET).
    #[serde(skip)]
    pub txn: i64,
}

/// A feed page.
#[derive(Debug, Clone)]
pub struct FeedPage {
    /// The events, in `seq` order.
    pub events: Vec<FeedEvent>,
    /// The cursor to pass next.
    pub next: String,
}

/// Reads the feed: at once when a matching event is there, else waiting up to `q.wait` for one to
/// commit (woken by the writer after its commit, on PostgreSQL by any instance's, and looking
/// again every `q.recheck`); empty,
/// with the position reached, at the timeout. `base` is the SCIM base URL for locations.
///
/// `Gone` when `after` is older than the oldest kept event; `Invalid` when it is beyond every
/// event this database ever numbered (a cursor of another server).
pub async fn read(db: &Db, q: FeedQuery, base: &str) -> Result<FeedPage> {
    let mut woken = db.events_committed();
    let until = tokio::time::Instant::now() + q.wait.min(MAX_WAIT);
    let mut after = q.after;
    loop {
        woken.mark_unchanged();
        let (types, limit) = (q.types.clone(), q.limit);
        let window = db.read(move |c| store::after(c, after.unwrap_or(0), types.as_deref(), limit)).await?;
        let start = after.unwrap_or(window.pruned_through);
        if start < window.pruned_through {
            return Err(Error::Gone(format!(
                "this cursor is older than the oldest event kept (events are kept for --events-days); events up to \
                 {} were pruned. Start again without \"after\" (from the oldest kept event) and reconcile with a \
                 full GET of /Users and /Groups",
                cursor(window.pruned_through)
            )));
        }
        if start > window.newest {
            return Err(Error::invalid(
                "this cursor is beyond every event this server has recorded: it comes from another scimbox database",
            ));
        }
        let now = tokio::time::Instant::now();
        if !window.events.is_empty() || now >= until {
            let next = cursor(window.through.max(start));
            let events = window.events.into_iter().map(|e| shown(e, base)).collect::<Result<_, StoreError>>()?;
            return Ok(FeedPage { events, next });
        }
        after = Some(window.through.max(start));
        let nap = (until - now).min(q.recheck);
        let _ = tokio::time::timeout(nap, woken.changed()).await;
    }
}

pub(crate) fn shown(e: store::Event, base: &str) -> Result<FeedEvent, StoreError> {
    let location = match e.resource_type.as_str() {
        "Group" => json!(format!("{base}/Groups/{}", e.resource_id)),
        "User" => json!(format!("{base}/Users/{}", e.resource_id)),
        _ => Value::Null, // a token has no SCIM location
    };
    Ok(FeedEvent {
        seq: e.seq,
        id: e.id,
        kind: e.kind,
        occurred_at: e.occurred_at,
        resource: json!({"type": e.resource_type, "id": e.resource_id, "location": location}),
        actor: e.actor,
        data: serde_json::from_str(&e.data)?,
        txn: e.txn,
    })
}

/// RFC 9967 §2.4.1: a resource was created; `data` is its representation.
pub const SET_CREATE: &str = "urn:ietf:params:scim:event:prov:create:full";
/// RFC 9967 §2.4.3: a resource was replaced; `data` is what a PUT of it would carry.
pub const SET_PUT: &str = "urn:ietf:params:scim:event:prov:put:full";
/// RFC 9967 §2.4.2: a resource was patched; `data` is the PATCH (RFC 7644 §3.5.2).
pub const SET_PATCH: &str = "urn:ietf:params:scim:event:prov:patch:full";
/// RFC 9967 §2.4.4.
pub const SET_DELETE: &str = "urn:ietf:params:scim:event:prov:delete";
/// RFC 9967 §2.4.5.
pub const SET_ACTIVATE: &str = "urn:ietf:params:scim:event:prov:activate";
/// RFC 9967 §2.4.6.
pub const SET_DEACTIVATE: &str = "urn:ietf:params:scim:event:prov:deactivate";
/// scimbox's own event URIs, for the types RFC 9967 has none for. RFC 9967 §7.3 keeps
/// `urn:ietf:params:scim:event:` for events registered with IANA, so these live under scimbox's
/// name; RFC 8417 §2.2 lets a SET's `events` claim carry any event URI.
pub const SET_OWN_PREFIX: &str = "urn:scimbox:event:";

/// Every event URI the feed's SET format emits (advertised in `/ServiceProviderConfig`,
/// `securityEvents.eventUris`, RFC 9967 §4).
pub fn set_event_uris() -> Vec<String> {
    let mut uris: Vec<String> =
        [SET_CREATE, SET_PUT, SET_PATCH, SET_DELETE, SET_ACTIVATE, SET_DEACTIVATE].map(str::to_owned).to_vec();
    uris.extend(["access.granted", "access.changed", "access.revoked", "guard.tripped"].map(own_uri));
    uris
}

/// `urn:scimbox:event:access:granted` for `access.granted`.
fn own_uri(kind: &str) -> String {
    format!("{SET_OWN_PREFIX}{}", kind.replace('.', ":"))
}

/// The event as the claims of a Security Event Token (RFC 8417 §2.2, profiled by RFC 9967):
/// `iss` the SCIM base URL, `iat` when the change happened (seconds), `jti` the event id,
/// `txn` shared by every event of the same write, `sub_id` (RFC 9493; RFC 9967 §2.1: `scim`
/// format with the resource's relative `uri`, `id` and `externalId` when known; a token is
/// `opaque`), and `events` keyed by event URI:
///
/// - `user.created`, `group.created`: `prov:create:full`, `data` the representation;
/// - `user.updated`, `group.updated`: `prov:put:full`, `data` the final representation (scimbox
///   does not keep the request's method; a PUT of it yields the same state), with `version`;
/// - `user.deactivated` / `user.reactivated`: that `prov:put:full` plus `prov:deactivate` /
///   `prov:activate` in the same SET (§2.1: several URIs in one SET are one state change);
/// - `user.deleted`, `group.deleted`: `prov:delete`, no payload (§2.4.4);
/// - `group.member_added` / `_removed`: `prov:patch:full`, `data` the PatchOp adding or
///   removing that member;
/// - `access.*`, `guard.tripped`: no RFC URI exists; `urn:scimbox:event:access:granted`, ...,
///   `urn:scimbox:event:guard:tripped`, `data` as in the JSON feed.
///
/// The claims are unsigned JSON, not a JWS: the feed is read over the transport with an app
/// token, which is what authenticates it.
pub fn to_set(e: &FeedEvent, iss: &str) -> Value {
    let iat = time::OffsetDateTime::parse(&e.occurred_at, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .unwrap_or_default();
    let rtype = e.resource["type"].as_str().unwrap_or_default();
    let id = e.resource["id"].as_str().unwrap_or_default();
    let sub_id = match rtype {
        "User" | "Group" => {
            let mut s = json!({"format": "scim", "uri": format!("/{rtype}s/{id}"), "id": id});
            let ext = e.data.get("externalId").filter(|v| v.is_string()).cloned();
            if let (Some(ext), Some(m)) = (ext.filter(|_| !e.kind.starts_with("access.")), s.as_object_mut()) {
                m.insert("externalId".into(), ext);
            }
            s
        }
        _ => json!({"format": "opaque", "id": id}),
    };
    let full = |uri: &str| {
        let mut p = json!({"data": e.data});
        if let Some(v) = e.data.pointer("/meta/version") {
            p["version"] = v.clone();
        }
        (uri.to_owned(), p)
    };
    let member = |op: &str| {
        let (t, v) = (&e.data["member"]["type"], e.data["member"]["value"].as_str().unwrap_or_default());
        let op = if op == "add" {
            json!({"op": "add", "path": "members", "value": [{"value": v, "type": t}]})
        } else {
            json!({"op": "remove", "path": format!("members[value eq \"{v}\"]")})
        };
        let data = json!({"schemas": [scimbox_validator::schema::PATCH_OP_URN], "Operations": [op]});
        (SET_PATCH.to_owned(), json!({"data": data}))
    };
    let entries: Vec<(String, Value)> = match e.kind.as_str() {
        "user.created" | "group.created" => vec![full(SET_CREATE)],
        "user.updated" | "group.updated" => vec![full(SET_PUT)],
        "user.deactivated" => vec![full(SET_PUT), (SET_DEACTIVATE.to_owned(), json!({}))],
        "user.reactivated" => vec![full(SET_PUT), (SET_ACTIVATE.to_owned(), json!({}))],
        "user.deleted" | "group.deleted" => vec![(SET_DELETE.to_owned(), json!({}))],
        "group.member_added" => vec![member("add")],
        "group.member_removed" => vec![member("remove")],
        other => vec![(own_uri(other), json!({"data": e.data}))],
    };
    let events: serde_json::Map<String, Value> = entries.into_iter().collect();
    json!({
        "iss": iss,
        "iat": iat,
        "jti": e.id,
        "txn": e.txn.to_string(),
        "sub_id": sub_id,
        "events": events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_unknown_types() {
        assert_eq!(parse_types(Some("user.*")).ok().flatten().map(|v| v.len()), Some(5));
        assert_eq!(
            parse_types(Some("group.created, user.deleted")).ok().flatten(),
            Some(vec!["group.created".to_owned(), "user.deleted".to_owned()])
        );
        assert!(parse_types(Some("*")).is_ok_and(|t| t.is_none()));
        assert!(parse_types(Some("*.member_*")).is_ok_and(|t| t.is_some_and(|t| t.len() == 2)));
        assert!(parse_types(Some("user.renamed")).is_err());
        assert!(parse_types(Some("access.*")).is_ok_and(|t| t.is_some_and(|t| t.len() == 3)));
        assert!(parse_types(Some("access.gone")).is_err());
    }

    #[test]
    fn access_diffs_are_one_per_account_that_changed_in_account_order() {
        use scimbox_validator::accounts::Status;
        let entry = |id: &str, role: &str, status| Access {
            account_id: id.into(),
            roles: vec![role.into()],
            teams: vec![],
            status,
            inherited_from: None,
        };
        let before = [
            entry("B", "Editor", Status::Active),
            entry("C", "Viewer", Status::Active),
            entry("D", "X", Status::Active),
        ];
        let after = [
            entry("D", "X", Status::Active),
            entry("C", "Viewer", Status::Inactive),
            entry("A", "Editor", Status::Active),
        ];
        let name = json!("ada");
        let diffs = access_diff(("u1", &name), &before, &after);
        let seen: Vec<(&str, bool, bool)> =
            diffs.iter().map(|d| (d.account(), d.before.is_some(), d.after.is_some())).collect();
        assert_eq!(seen, [("A", false, true), ("B", true, false), ("C", true, true)], "D did not change");
        assert!(access_diff(("u1", &name), &before, &before).is_empty());
    }

    #[test]
    fn cursors_round_trip_and_strangers_are_refused() {
        for n in [0, 1, 42, i64::MAX] {
            assert_eq!(parse_cursor(&cursor(n)).ok(), Some(n));
        }
        for bad in ["", "42", "!!", &cursor(-1)] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }
}
