//! The history of users and groups (see `migrations/V5__journal.sql`): every create, update and
//! delete writes one `changes` row in the transaction of the change itself, with the documents
//! before and after (never a password).
//!
//! A group's membership is not part of its document, and a group may have 100,000 members, so a
//! membership change is recorded as what changed: `{"members": {"added": [...], "removed":
//! [...]}}` in `after`. The member functions of [`super::groups`] note each addition and removal
//! in `member_changes_pending`, netted (an add and a remove of the same member cancel out, so a
//! PUT that resends 100,000 members plus one records one); [`super::groups::save`] folds them into
//! its change row, and [`end_of_write`], run by the writer after every successful write, folds
//! what is left (the members of a group being created) into the write's latest change row of
//! that group. The pending table is therefore empty whenever a write commits.

use std::cell::Cell;

use super::sql::{Connection, OptionalExtension, Row, params};
use serde_json::{Map, Value, json};

use super::StoreError;
use super::rows::Kind;

/// How many member ids a change lists per direction; beyond it, only the count is kept.
pub const MAX_LISTED_MEMBERS: usize = 1000;

/// One change of a user or group, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Order of recording.
    pub seq: i64,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// `User` or `Group`.
    pub resource_type: String,
    /// The resource's id.
    pub resource_id: String,
    /// `created`, `updated` or `deleted`.
    pub action: String,
    /// The document before (JSON), for updates and deletes.
    pub before: Option<String>,
    /// The document after (JSON), for creates and updates; a group's membership change is in its
    /// `members` key as `{"added": [...], "removed": [...]}`.
    pub after: Option<String>,
}

/// What happened to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// It was created.
    Created,
    /// It was changed.
    Updated,
    /// It was deleted.
    Deleted,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Deleted => "deleted",
        }
    }
}

/// The `resource_type` recorded for a table.
pub fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "User",
        Kind::Group => "Group",
    }
}

/// What one change row says.
pub(crate) struct Record<'a> {
    pub kind: Kind,
    pub id: &'a str,
    pub action: Action,
    pub version: Option<i64>,
    pub before: Option<&'a Map<String, Value>>,
    pub after: Option<Value>,
    pub at: &'a str,
}

/// Writes one change row. Its seq is not returned: no caller reads it, and on PostgreSQL asking
/// for it is one more round trip (`lastval()`) in every write.
pub(crate) fn record(c: &Connection, mut r: Record<'_>) -> Result<(), StoreError> {
    let before = r.before.map(scrubbed_json).transpose()?;
    let after = match r.after.take() {
        Some(Value::Object(d)) => Some(scrubbed_json(&d)?),
        Some(other) => Some(json_of(&scrub(other))?),
        None => None,
    };
    insert(c, &r, before.as_deref(), after.as_deref())
}

/// The history's `after` text of a new resource whose stored text would hold a password, scrubbed;
/// `None` when the stored text itself serves (no password anywhere, the usual case).
pub(crate) fn created_text(doc: &Map<String, Value>) -> Result<Option<String>, StoreError> {
    holds_password(doc).then(|| scrubbed_json(doc)).transpose()
}

/// Records a creation with its `after` text made beforehand ([`created_text`], else the text
/// stored in the resource's own row): every create would otherwise serialise its document a
/// second time, inside the write.
pub(crate) fn record_created_text(
    c: &Connection,
    kind: Kind,
    id: &str,
    after: &str,
    at: &str,
) -> Result<(), StoreError> {
    let r = Record { kind, id, action: Action::Created, version: Some(1), before: None, after: None, at };
    insert(c, &r, None, Some(after))
}

fn insert(c: &Connection, r: &Record<'_>, before: Option<&str>, after: Option<&str>) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO changes (at, resource_type, resource_id, action, version, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![r.at, type_name(r.kind), r.id, r.action.as_str(), r.version, before, after])?;
    Ok(())
}

/// `d` as JSON without any `password` key; copied only when there is one to drop.
fn scrubbed_json(d: &Map<String, Value>) -> Result<String, StoreError> {
    if holds_password(d) {
        return json_of(&scrub(Value::Object(d.clone())));
    }
    Ok(serde_json::to_string(d)?)
}

/// Whether a `password` key (any case) is anywhere in `d`.
fn holds_password(d: &Map<String, Value>) -> bool {
    fn within(v: &Value) -> bool {
        match v {
            Value::Object(m) => holds_password(m),
            Value::Array(a) => a.iter().any(within),
            _ => false,
        }
    }
    d.iter().any(|(k, v)| k.eq_ignore_ascii_case("password") || within(v))
}

/// Records a change to the accounts registry (resource type `Account`): an account added,
/// moved or removed changes what users' grants reach, so it belongs in the same history. `at` is
/// the write's time, as for every change row.
pub(crate) fn record_account(
    c: &Connection,
    id: &str,
    action: Action,
    before: Option<Value>,
    after: Option<Value>,
    at: &str,
) -> Result<(), StoreError> {
    let (before, after) = (before.map(|v| json_of(&v)).transpose()?, after.map(|v| json_of(&v)).transpose()?);
    c.prepare_cached(
        "INSERT INTO changes (at, resource_type, resource_id, action, version, before, after)
         VALUES (?1, 'Account', ?2, ?3, NULL, ?4, ?5)",
    )?
    .execute(params![at, id, action.as_str(), before, after])?;
    Ok(())
}

fn json_of(v: &Value) -> Result<String, StoreError> {
    Ok(serde_json::to_string(v)?)
}

/// Drops any `password` key, at any depth (documents never hold one; this makes sure).
fn scrub(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter().filter(|(k, _)| !k.eq_ignore_ascii_case("password")).map(|(k, v)| (k, scrub(v))).collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(scrub).collect()),
        other => other,
    }
}

/// Notes that `member_id` joined group `group_seq` in the write in progress.
pub(crate) fn member_added(c: &Connection, group_seq: i64, member_id: &str) -> Result<(), StoreError> {
    note(c, group_seq, member_id, true)
}

/// Notes that `member_id` left group `group_seq` in the write in progress.
pub(crate) fn member_removed(c: &Connection, group_seq: i64, member_id: &str) -> Result<(), StoreError> {
    note(c, group_seq, member_id, false)
}

thread_local! {
    /// Whether this thread may have noted membership changes since [`end_of_write`] last found
    /// none pending: a write that noted none (every user write, issue 17) skips that look.
    /// Writes run on one thread from their notes to their end, so a note is never missed; a
    /// rolled-back note leaves it set, which costs one look.
    static NOTED: Cell<bool> = const { Cell::new(false) };
}

fn note(c: &Connection, group_seq: i64, member_id: &str, added: bool) -> Result<(), StoreError> {
    NOTED.with(|n| n.set(true));
    let undone = c
        .prepare_cached("DELETE FROM member_changes_pending WHERE group_seq = ?1 AND member_id = ?2 AND added = ?3")?
        .execute(params![group_seq, member_id, !added])?;
    if undone == 0 {
        c.prepare_cached(
            "INSERT OR IGNORE INTO member_changes_pending (group_seq, member_id, added) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![group_seq, member_id, added])?;
    }
    Ok(())
}

/// Notes that every current member of `group_seq` is about to leave (call before deleting them).
pub(crate) fn members_clearing(c: &Connection, group_seq: i64) -> Result<(), StoreError> {
    NOTED.with(|n| n.set(true));
    // Members added earlier in this write already have an `added` row: keep it (the insert is
    // ignored), then drop those rows, since adding and removing them nets to nothing.
    c.prepare_cached(
        "INSERT OR IGNORE INTO member_changes_pending (group_seq, member_id, added)
         SELECT group_seq, member_id, 0 FROM group_members WHERE group_seq = ?1",
    )?
    .execute([group_seq])?;
    c.prepare_cached("DELETE FROM member_changes_pending WHERE group_seq = ?1 AND added = 1")?.execute([group_seq])?;
    Ok(())
}

/// Takes the pending membership changes of `group_seq`: `{"added": [...], "removed": [...]}`
/// (each list at most [`MAX_LISTED_MEMBERS`] long, with `addedTotal`/`removedTotal` beside a
/// cut list), or `None` when there are none.
pub(crate) fn take_members(c: &Connection, group_seq: i64) -> Result<Option<Value>, StoreError> {
    let mut out = Map::new();
    for (key, added) in [("added", true), ("removed", false)] {
        let total: i64 = c
            .prepare_cached("SELECT COUNT(*) FROM member_changes_pending WHERE group_seq = ?1 AND added = ?2")?
            .query_row(params![group_seq, added], |r| r.get(0))?;
        if total == 0 {
            continue;
        }
        let ids: Vec<String> = c
            .prepare_cached(
                "SELECT member_id FROM member_changes_pending WHERE group_seq = ?1 AND added = ?2
                 ORDER BY member_id LIMIT ?3",
            )?
            .query_map(params![group_seq, added, MAX_LISTED_MEMBERS as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if usize::try_from(total).unwrap_or(usize::MAX) > ids.len() {
            out.insert(format!("{key}Total"), total.into());
        }
        out.insert(key.into(), ids.into());
    }
    c.prepare_cached("DELETE FROM member_changes_pending WHERE group_seq = ?1")?.execute([group_seq])?;
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// `doc` with the membership change under `members`.
pub(crate) fn with_members(doc: &Map<String, Value>, members: Option<Value>) -> Value {
    let mut after = doc.clone();
    if let Some(m) = members {
        after.insert("members".into(), m);
    }
    Value::Object(after)
}

/// Run by the writer after each successful write: folds membership changes not yet recorded
/// (those of a group created in this write) into the latest change row of their group.
pub fn end_of_write(c: &Connection) -> Result<(), StoreError> {
    if !NOTED.with(Cell::get) {
        return Ok(());
    }
    let seqs: Vec<i64> = c
        .prepare_cached("SELECT DISTINCT group_seq FROM member_changes_pending")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for seq in seqs {
        let members = take_members(c, seq)?;
        let id: Option<String> =
            c.prepare_cached("SELECT id FROM groups WHERE seq = ?1")?.query_row([seq], |r| r.get(0)).optional()?;
        if let (Some(id), Some(members)) = (id, members) {
            amend_latest(c, &id, members)?;
        }
    }
    NOTED.with(|n| n.set(false));
    Ok(())
}

/// Puts `members` into the `after` of the group's latest change row.
fn amend_latest(c: &Connection, id: &str, members: Value) -> Result<(), StoreError> {
    let latest: Option<(i64, Option<String>)> = c
        .prepare_cached(
            "SELECT seq, after FROM changes WHERE resource_type = 'Group' AND resource_id = ?1 ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((seq, after)) = latest else { return Ok(()) };
    let mut doc: Map<String, Value> = match after {
        Some(text) => serde_json::from_str(&text)?,
        None => Map::new(),
    };
    doc.insert("members".into(), members);
    c.prepare_cached("UPDATE changes SET after = ?2 WHERE seq = ?1")?.execute(params![seq, json_of(&json!(doc))?])?;
    Ok(())
}

pub(super) fn from_row(r: &Row<'_>) -> super::sql::Result<Change> {
    Ok(Change {
        seq: r.get(0)?,
        at: r.get(1)?,
        resource_type: r.get(2)?,
        resource_id: r.get(3)?,
        action: r.get(4)?,
        before: r.get(5)?,
        after: r.get(6)?,
    })
}

/// The latest changes of one resource (`User` or `Group`), newest first.
pub fn changes_for(c: &Connection, resource_type: &str, id: &str, limit: u32) -> Result<Vec<Change>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT seq, at, resource_type, resource_id, action, before, after FROM changes
         WHERE resource_type = ?1 AND resource_id = ?2 ORDER BY seq DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![resource_type, id, limit], from_row)?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// Deletes up to `batch` of the oldest changes recorded before `before` or beyond the newest
/// `keep`; returns how many went.
pub fn prune(c: &Connection, before: &str, keep: u64, batch: u32) -> Result<usize, StoreError> {
    super::journal::prune_table(c, "changes", before, keep, batch)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn passwords_are_dropped_at_any_depth_and_nothing_else_changes() {
        let plain =
            map(json!({"userName": "a", "emails": [{"value": "a@x", "type": "work"}], "name": {"givenName": "A"}}));
        assert!(!holds_password(&plain));
        assert_eq!(scrubbed_json(&plain).ok(), serde_json::to_string(&plain).ok());

        let nested = map(json!({"userName": "a", "x": [{"Password": "s3cret", "keep": 1}], "PASSWORD": "p"}));
        assert!(holds_password(&nested));
        let text = scrubbed_json(&nested).unwrap_or_default();
        assert!(!text.to_ascii_lowercase().contains("password") && !text.contains("s3cret"), "{text}");
        assert!(text.contains("\"keep\":1"), "{text}");
    }
}
