//! SQL for users. A user is its normalised document plus the indexed copies of its lookup keys
//! (see `migrations/V1__init.sql`); this module keeps the two in step. The generic row
//! operations (get, page, scan, delete) are in [`super::rows`].

use std::collections::{BTreeMap, BTreeSet};

use super::sql::{Connection, Dialect, Error as SqlError, OptionalExtension, params};
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

use super::StoreError;
use super::changes::{self, Action, Record};
use super::rows::{self, Kind, ResourceRow};
use super::stored;

/// A stored user.
pub type UserRow = ResourceRow;

/// An indexed lookup that narrows a list query before its full filter runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// `id eq "..."` (caseExact).
    Id(String),
    /// `userName eq "..."` (case-insensitive).
    UserName(String),
    /// `externalId eq "..."` (caseExact).
    ExternalId(String),
    /// `emails.value eq "..."` / `emails[value eq "..."]` (case-insensitive).
    Email(String),
}

/// Unicode-aware case folding for the indexed attributes with `caseExact=false`: the
/// validator's, so that the uniqueness index and filters agree.
pub fn fold(s: &str) -> String {
    scimbox_validator::text::fold(s).into_owned()
}

/// The uniqueness and lookup key of a userName (`users.user_name_key`): its NFC form without
/// surrounding whitespace, case-folded. userName is unique and `caseExact: false` (RFC 7643
/// §4.1.1); two names that differ only in case, in surrounding spaces an IdP's form kept
/// (`"alice@example.com "`) or in Unicode normalisation form (`é` as one code point, or `e` and a
/// combining accent, as macOS file names and some IdPs send it) look the same to a person, so
/// they are one name here. The name itself is stored and returned as sent. Folding can undo
/// composition (`İ` folds to `i` and a combining dot), hence the second NFC.
///
/// ```
/// use scimbox::db::users::user_name_key;
/// assert_eq!(user_name_key(" Alice@Example.com "), "alice@example.com");
/// assert_eq!(user_name_key("Jose\u{301}"), user_name_key("jos\u{e9}"));
/// ```
pub fn user_name_key(name: &str) -> String {
    let name = name.trim();
    if name.is_ascii() {
        // ASCII is its own NFC, and folds by lower-casing: the same key without the two
        // normalisation passes, which cost more than the rest of a `userName eq` lookup (issue 17).
        return name.to_ascii_lowercase();
    }
    let nfc: String = name.nfc().collect();
    fold(&nfc).nfc().collect()
}

/// The keys copied out of a document into indexed columns.
pub(super) struct Keys {
    pub(super) user_name: String,
    pub(super) external_id: Option<String>,
    pub(super) active: bool,
    pub(super) emails: Vec<String>,
}

impl Keys {
    pub(super) fn of(doc: &Map<String, Value>) -> Self {
        let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
        let emails = doc
            .get("emails")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|e| e.get("value")?.as_str().map(fold)).collect())
            .unwrap_or_default();
        Self {
            user_name: text("userName").unwrap_or_default(),
            external_id: text("externalId"),
            active: doc.get("active").and_then(Value::as_bool).unwrap_or(true),
            emails,
        }
    }
}

pub(super) fn map_unique(e: super::sql::Error, user_name: &str) -> StoreError {
    if rows::is_unique_violation(&e, "user_name_key") {
        return StoreError::Conflict(format!(
            "userName \"{user_name}\" is already taken by another user (userName is unique, compared \
             case-insensitively, without surrounding whitespace and in Unicode NFC form)"
        ));
    }
    e.into()
}

pub(super) fn write_emails(conn: &Connection, seq: i64, emails: &[String]) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM user_emails WHERE user_seq = ?1")?.execute([seq])?;
    let mut ins = conn.prepare_cached("INSERT INTO user_emails (user_seq, value_key) VALUES (?1, ?2)")?;
    for e in emails {
        ins.execute(params![seq, e])?;
    }
    Ok(())
}

/// Inserts a new user; a taken userName is a [`StoreError::Conflict`].
pub fn insert(conn: &Connection, id: &str, doc: Map<String, Value>, now: &str) -> Result<UserRow, StoreError> {
    let new = NewUser::prepare(id, doc)?;
    let seq = insert_new(conn, &new, now)?;
    Ok(new.into_row(seq, now))
}

/// Everything a create writes that follows from the new user's id and document alone: its
/// stored texts (`doc`, `body`, the history's `after`), its key columns, its emails and its
/// attribute index entries. Made before the write, on the request's own task, so that the writer
/// thread, which every write of the server waits for, only runs the inserts (issue 17).
pub struct NewUser {
    id: String,
    doc: Map<String, Value>,
    json: String,
    body: Option<String>,
    history: Option<String>,
    user_name_key: String,
    keys: Keys,
    index: super::attr_index::Entries,
}

impl NewUser {
    /// Serialises and keys the new user `id` with document `doc`.
    pub fn prepare(id: &str, doc: Map<String, Value>) -> Result<Self, StoreError> {
        let keys = Keys::of(&doc);
        let json = serde_json::to_string(&doc)?;
        let body = stored::user_body(id, &doc, &json)?;
        let history = changes::created_text(&doc)?;
        let index = super::attr_index::entries(Kind::User, &doc);
        let user_name_key = user_name_key(&keys.user_name);
        Ok(Self { id: id.into(), doc, json, body, history, user_name_key, keys, index })
    }

    /// The new user's document.
    pub fn doc(&self) -> &Map<String, Value> {
        &self.doc
    }

    /// Its stored body ([`stored::user_body`]): `None` when its payloads name accounts.
    pub fn body(&self) -> Option<&str> {
        self.body.as_deref()
    }

    /// Gives the document back (a create that revives a user stores it as an update instead).
    pub fn into_doc(self) -> Map<String, Value> {
        self.doc
    }

    /// The row [`insert_new`] wrote as `seq` at `now`.
    pub fn into_row(self, seq: i64, now: &str) -> UserRow {
        UserRow { seq, id: self.id, version: 1, created: now.into(), last_modified: now.into(), doc: self.doc }
    }
}

/// Inserts a [`NewUser`] at `now`, with its emails, index entries and history row; returns its
/// `seq`. A taken userName is a [`StoreError::Conflict`], raised by the first statement, before
/// anything is written.
pub fn insert_new(conn: &Connection, new: &NewUser, now: &str) -> Result<i64, StoreError> {
    let keys = &new.keys;
    const INSERT: &str = "INSERT INTO users (id, user_name, user_name_key, external_id, active, version, created, last_modified, doc, body)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6, ?7, ?8)";
    let args =
        params![new.id, keys.user_name, new.user_name_key, keys.external_id, keys.active, now, new.json, new.body];
    let seq = match conn.dialect() {
        // SQLite undoes a refused statement by itself; the transaction goes on.
        Dialect::Sqlite => conn.prepare_cached(INSERT)?.insert_seq(args),
        // A taken name is recovered from (a deactivated user revived: `service::users`), and a
        // failed statement would spoil PostgreSQL's transaction: so the taken name inserts
        // nothing rather than failing (a savepoint of the statement's own cost two round trips
        // more per create).
        Dialect::Postgres => {
            const INSERT_PG: &str = "INSERT INTO users (id, user_name, user_name_key, external_id, active, version, created, last_modified, doc, body)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6, ?7, ?8) ON CONFLICT (user_name_key) DO NOTHING";
            conn.prepare_cached(INSERT_PG)?.insert_seq(args).map_err(|e| match e {
                SqlError::NoRows => SqlError::Constraint("UNIQUE constraint failed: users.user_name_key".into()),
                e => e,
            })
        }
    }
    .map_err(|e| map_unique(e, &keys.user_name))?;
    // A new row has no emails to delete first (`write_emails` would look for them).
    let mut ins = conn.prepare_cached("INSERT INTO user_emails (user_seq, value_key) VALUES (?1, ?2)")?;
    for e in &keys.emails {
        ins.execute(params![seq, e])?;
    }
    super::attr_index::insert_entries(conn, Kind::User, seq, &new.index)?;
    let history = new.history.as_deref().unwrap_or(&new.json);
    changes::record_created_text(conn, Kind::User, &new.id, history, now)?;
    Ok(seq)
}

/// The user with this id.
pub fn get(conn: &Connection, id: &str) -> Result<Option<UserRow>, StoreError> {
    rows::get(conn, Kind::User, id)
}

/// Replaces the user's document with what `change` makes of the current row, bumping its
/// version. `change` may refuse (precondition, schema rule); nothing is written then.
pub fn update(
    conn: &Connection,
    id: &str,
    now: &str,
    change: impl FnOnce(&UserRow) -> Result<Map<String, Value>, StoreError>,
) -> Result<UserRow, StoreError> {
    let current = get(conn, id)?.ok_or(StoreError::NotFound)?;
    let doc = change(&current)?;
    if doc == current.doc {
        return Ok(current); // nothing changed: keep the version, write nothing
    }
    let keys = Keys::of(&doc);
    let json = serde_json::to_string(&doc)?;
    let version = current.version + 1;
    let body = stored::user_body(&current.id, &doc, &json)?;
    conn.prepare_cached(
        "UPDATE users SET user_name = ?2, user_name_key = ?3, external_id = ?4, active = ?5,
                version = ?6, last_modified = ?7, doc = ?8, body = ?9 WHERE seq = ?1",
    )?
    .execute(params![
        current.seq,
        keys.user_name,
        user_name_key(&keys.user_name),
        keys.external_id,
        keys.active,
        version,
        now,
        json,
        body
    ])
    .map_err(|e| map_unique(e, &keys.user_name))?;
    write_emails(conn, current.seq, &keys.emails)?;
    super::attr_index::write(conn, Kind::User, current.seq, Some(&current.doc), Some(&doc))?;
    let (before, after) = (Some(&current.doc), Some(Value::Object(doc.clone())));
    let id = current.id.as_str();
    changes::record(
        conn,
        Record { kind: Kind::User, id, action: Action::Updated, version: Some(version), before, after, at: now },
    )?;
    Ok(UserRow { version, last_modified: now.into(), doc, ..current })
}

/// The users an indexed lookup finds, in the default order.
pub fn lookup(conn: &Connection, by: &Lookup) -> Result<Vec<UserRow>, StoreError> {
    let (cond, key) = match by {
        Lookup::Id(v) => ("WHERE id = ?1 ORDER BY seq", v.clone()),
        Lookup::UserName(v) => ("WHERE user_name_key = ?1 ORDER BY seq", user_name_key(v)),
        Lookup::ExternalId(v) => ("WHERE external_id = ?1 ORDER BY seq", v.clone()),
        Lookup::Email(v) => {
            ("WHERE seq IN (SELECT user_seq FROM user_emails WHERE value_key = ?1) ORDER BY seq", fold(v))
        }
    };
    rows::query(conn, Kind::User, cond, [key])
}

/// The spelling of `users.user_name_key` this build writes ([`user_name_key`]); version 1 was
/// the case-folded userName. See `migrations/V8__key_versions.sql`.
pub const USER_NAME_KEY_VERSION: i64 = 2;

/// The version of the derived spelling `name` recorded in `key_versions` (V8), if any.
pub(super) fn key_version(c: &Connection, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(c.query_row("SELECT version FROM key_versions WHERE name = ?1", [name], |r| r.get(0)).optional()?)
}

/// Records that the derived spelling `name` is now at `version` (V8's `key_versions`).
pub(super) fn set_key_version(c: &Connection, name: &str, version: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO key_versions (name, version) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version",
        params![name, version],
    )?;
    Ok(())
}

/// What [`rekey`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rekeyed {
    /// Users whose key was re-computed.
    pub changed: usize,
    /// Groups of user ids whose names are one name under the new key, oldest first. Their rows
    /// keep their old keys (nothing is renamed or dropped); an admin should rename all but one.
    pub collisions: Vec<Vec<String>>,
}

/// Brings `users.user_name_key` to [`USER_NAME_KEY_VERSION`] once, at start (after the
/// migrations), in one transaction: a database written by an older scimbox holds plain folded
/// names, under which `alice` and `alice ` were two users. Users whose names now collide keep
/// both their rows and their old keys, and are logged as a warning naming their ids; so does any
/// user whose new key is a key such a user keeps. Nothing is lost and the server still starts.
pub fn rekey(conn: &mut Connection) -> Result<Rekeyed, StoreError> {
    const NAME: &str = "users.user_name_key";
    let tx = conn.transaction()?;
    if key_version(&tx, NAME)?.unwrap_or(1) >= USER_NAME_KEY_VERSION {
        return Ok(Rekeyed::default());
    }
    struct Row {
        seq: i64,
        id: String,
        old: String,
        new: String,
    }
    let rows: Vec<Row> = tx
        .prepare("SELECT seq, id, user_name, user_name_key FROM users ORDER BY seq")?
        .query_map([], |r| {
            let name: String = r.get(2)?;
            Ok(Row { seq: r.get(0)?, id: r.get(1)?, old: r.get(3)?, new: user_name_key(&name) })
        })?
        .collect::<Result<_, _>>()?;
    let mut by_new: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        by_new.entry(row.new.as_str()).or_default().push(i);
    }
    let collisions: Vec<Vec<usize>> = by_new.into_values().filter(|g| g.len() > 1).collect();
    // Rows that keep their old key: the colliding ones, then (to a fixed point) any row whose new
    // key is an old key kept. Old keys were unique, so what remains cannot conflict.
    let mut keep: BTreeSet<usize> = collisions.iter().flatten().copied().collect();
    loop {
        let kept: BTreeSet<&str> = keep.iter().map(|&i| rows[i].old.as_str()).collect();
        let more: Vec<usize> =
            (0..rows.len()).filter(|i| !keep.contains(i) && kept.contains(rows[*i].new.as_str())).collect();
        if more.is_empty() {
            break;
        }
        keep.extend(more);
    }
    let moving: Vec<&Row> =
        rows.iter().enumerate().filter(|(i, r)| !keep.contains(i) && r.new != r.old).map(|(_, r)| r).collect();
    {
        // Two passes, so that a key moving onto another row's old key never meets it.
        let mut set = tx.prepare("UPDATE users SET user_name_key = ?2 WHERE seq = ?1")?;
        for r in &moving {
            set.execute(params![r.seq, format!("\u{1}rekey {}", r.seq)])?;
        }
        for r in &moving {
            set.execute(params![r.seq, r.new])?;
        }
    }
    set_key_version(&tx, NAME, USER_NAME_KEY_VERSION)?;
    tx.commit()?;
    let mut groups: Vec<Vec<String>> =
        collisions.iter().map(|g| g.iter().map(|&i| rows[i].id.clone()).collect()).collect();
    let extra: Vec<String> =
        keep.iter().filter(|i| !collisions.iter().flatten().any(|j| j == *i)).map(|&i| rows[i].id.clone()).collect();
    if !extra.is_empty() {
        groups.push(extra);
    }
    for ids in &groups {
        tracing::warn!(
            users = ?ids,
            "these users' userNames are one name once trimmed, NFC-normalised and case-folded; \
             they keep their old uniqueness keys (nothing was changed or removed): rename all but one"
        );
    }
    if !moving.is_empty() {
        tracing::info!(changed = moving.len(), "re-keyed userNames (NFC, trimmed, case-folded)");
    }
    Ok(Rekeyed { changed: moving.len(), collisions: groups })
}

#[cfg(test)]
mod tests {
    use unicode_normalization::UnicodeNormalization;

    use super::*;

    /// The ASCII shortcut of [`user_name_key`] gives the key the normalising path gives.
    #[test]
    fn ascii_names_get_the_normalised_key() {
        let normalised = |name: &str| -> String {
            let nfc: String = name.trim().nfc().collect();
            fold(&nfc).nfc().collect()
        };
        let every: String = (0x20u8..0x7f).map(char::from).collect();
        for name in [every.as_str(), " Alice@Example.COM\t", "", "  ", "ß", "a\u{0}B", "\u{7f}Z"] {
            assert_eq!(user_name_key(name), normalised(name), "{name:?}");
        }
    }
}
