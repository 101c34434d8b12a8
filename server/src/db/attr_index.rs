//! The attribute index (`migrations/V15__attr_index.sql`, issue 17): one row per string value
//! of every indexed attribute of every user and group, keyed as the filter evaluator compares it,
//! so that `eq` (and `sw`) on any such attribute reads a few index rows instead of every
//! document.
//!
//! Which attributes, and the key of a value, come from the validator
//! (`scimbox_validator::filter::index`: the schema tables and the evaluator's case folding), so
//! the index and the evaluator cannot disagree. This module keeps the rows in step: every write
//! of a resource ([`write()`], called by `users`, `groups`, `rows::delete` and `transfer` in the
//! same transaction as the row) deletes the entries its old document had and its new one lacks
//! and inserts the reverse, nothing else.
//!
//! A database written before V15, or by a build that indexes other attributes (the
//! [`signature`](scimbox_validator::filter::index::signature) differs), is filled after start:
//! [`prepare`] (at migration) empties a stale index, and the writer runs [`fill_step`] jobs of
//! [`FILL_BATCH`] rows in `seq` order, each its own short write among the others, until every row
//! is in. Until then [`find`] answers `None` and filters scan as before. Writes meanwhile keep
//! the rows they touch indexed; the fill inserts with `OR IGNORE`, so meeting them is harmless.

use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::time::Instant;

use super::sql::{Connection, OptionalExtension, ToSql, params};
use scimbox_validator::filter::index::{self, Leaf, Plan};
use scimbox_validator::schema::{GROUP_RESOURCE, USER_RESOURCE};
use serde_json::{Map, Value};

use super::StoreError;
use super::rows::Kind;

/// Rows the fill indexes per write job: short enough (tens of milliseconds) not to hold the
/// writes queued behind it for long.
pub const FILL_BATCH: i64 = 1000;
/// The most resources one index lookup may narrow a filter to. A term that finds more (a
/// `title eq "Engineer"` shared by half the users) is not worth reading row by row: the scan
/// with its text prefilter serves it as well, so the lookup answers `None`.
pub const MAX_CANDIDATES: usize = 10_000;

struct Table {
    leaves: Vec<Leaf>,
    signature: String,
}

fn table(kind: Kind) -> &'static Table {
    fn make(rt: &'static scimbox_validator::schema::ResourceType, outside: &[&str]) -> Table {
        let leaves = index::leaves(rt, outside);
        Table { signature: index::signature(&leaves), leaves }
    }
    // Kept outside the document: a user's `groups` and `access` are computed, a group's
    // `members` are rows of `group_members`.
    static USERS: LazyLock<Table> = LazyLock::new(|| make(&USER_RESOURCE, &["groups", "access"]));
    static GROUPS: LazyLock<Table> = LazyLock::new(|| make(&GROUP_RESOURCE, &["members"]));
    match kind {
        Kind::User => &USERS,
        Kind::Group => &GROUPS,
    }
}

fn code(kind: Kind) -> i64 {
    match kind {
        Kind::User => 1,
        Kind::Group => 2,
    }
}

const KINDS: [Kind; 2] = [Kind::User, Kind::Group];

/// The attributes indexed for `kind` (what a filter's plan may look up).
pub fn leaves(kind: Kind) -> &'static [Leaf] {
    &table(kind).leaves
}

/// Brings the index of resource `seq` from `before` (its old document, `None` for a new row) to
/// `after` (`None` for a deleted row): only the entries that differ are deleted or inserted.
pub fn write(
    conn: &Connection,
    kind: Kind,
    seq: i64,
    before: Option<&Map<String, Value>>,
    after: Option<&Map<String, Value>>,
) -> Result<(), StoreError> {
    let leaves = leaves(kind);
    let entries = |doc: Option<&Map<String, Value>>| doc.map(|d| index::entries(leaves, d)).unwrap_or_default();
    let (old, new) = (entries(before), entries(after));
    if old == new {
        return Ok(());
    }
    let k = code(kind);
    if !old.is_empty() {
        let mut del =
            conn.prepare_cached("DELETE FROM attr_index WHERE kind = ?1 AND attr = ?2 AND key = ?3 AND seq = ?4")?;
        for (attr, key) in old.difference(&new) {
            del.execute(params![k, attr, key, seq])?;
        }
    }
    insert(conn, k, seq, new.difference(&old))
}

/// The index entries of one document: `(attribute path, key)` pairs.
pub type Entries = BTreeSet<(&'static str, String)>;

/// The entries `doc`, a document of `kind`, puts in the index (made before a create's write:
/// see [`insert_entries`]).
pub fn entries(kind: Kind, doc: &Map<String, Value>) -> Entries {
    index::entries(leaves(kind), doc)
}

/// Inserts the [`entries`] of a new resource `seq`: what [`write()`] does for a row without a
/// previous document, with the entries computed beforehand.
pub fn insert_entries(conn: &Connection, kind: Kind, seq: i64, entries: &Entries) -> Result<(), StoreError> {
    insert(conn, code(kind), seq, entries.iter())
}

/// Most entries one `INSERT` statement carries ([`insert`]).
const ROWS_PER_INSERT: usize = 8;

/// Inserts the entries of resource `seq`, up to [`ROWS_PER_INSERT`] in one statement: a create
/// writes about five, and one statement with five rows costs the writer (which every write
/// waits for) one bind, step and reset instead of five (issue 17).
fn insert<'a>(
    conn: &Connection,
    k: i64,
    seq: i64,
    entries: impl Iterator<Item = &'a (&'a str, String)>,
) -> Result<(), StoreError> {
    let entries: Vec<_> = entries.collect();
    for chunk in entries.chunks(ROWS_PER_INSERT) {
        let mut args: Vec<&dyn ToSql> = Vec::with_capacity(2 * chunk.len() + 2);
        for (attr, key) in chunk {
            args.push(attr);
            args.push(key);
        }
        args.push(&k);
        args.push(&seq);
        conn.prepare_cached(insert_sql(chunk.len()))?.execute(&args[..])?;
    }
    Ok(())
}

/// The statement inserting `n` entries (1 to [`ROWS_PER_INSERT`]) of one resource: the pairs
/// `(attr, key)` first, then `kind` and `seq`, shared by every row.
fn insert_sql(n: usize) -> &'static str {
    static SQL: LazyLock<Vec<String>> = LazyLock::new(|| {
        (1..=ROWS_PER_INSERT)
            .map(|n| {
                let (k, s) = (2 * n + 1, 2 * n + 2);
                let rows: Vec<String> =
                    (0..n).map(|i| format!("(?{k}, ?{}, ?{}, ?{s})", 2 * i + 1, 2 * i + 2)).collect();
                format!("INSERT OR IGNORE INTO attr_index (kind, attr, key, seq) VALUES {}", rows.join(", "))
            })
            .collect()
    });
    &SQL[n.clamp(1, ROWS_PER_INSERT) - 1]
}

/// At start, after the migrations: for each kind whose index was built for another signature
/// (or never), empties it and records that it must be filled; an empty table is complete at
/// once. Returns whether a fill is pending ([`fill_step`]).
pub fn prepare(conn: &Connection) -> Result<bool, StoreError> {
    let mut pending = false;
    for kind in KINDS {
        let t = table(kind);
        let state: Option<(String, bool)> = conn
            .prepare_cached("SELECT signature, complete FROM attr_index_state WHERE kind = ?1")?
            .query_row([code(kind)], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match state {
            Some((signature, complete)) if signature == t.signature => pending |= !complete,
            stale => {
                if stale.is_some() {
                    conn.execute("DELETE FROM attr_index WHERE kind = ?1", [code(kind)])?;
                    tracing::info!(
                        kind = kind.table(),
                        "the attribute index was built for other attributes: rebuilding it"
                    );
                }
                let sql = format!("SELECT NOT EXISTS (SELECT 1 FROM {})", kind.table());
                let empty: bool = conn.query_row(&sql, [], |r| r.get(0))?;
                conn.execute(
                    "INSERT INTO attr_index_state (kind, signature, through, complete) VALUES (?1, ?2, 0, ?3)
                     ON CONFLICT (kind) DO UPDATE SET signature = excluded.signature, through = 0,
                         complete = excluded.complete",
                    params![code(kind), t.signature, empty],
                )?;
                pending |= !empty;
            }
        }
    }
    Ok(pending)
}

/// Indexes the next [`FILL_BATCH`] rows not yet filled, of the first kind that has some; returns
/// how many rows it indexed and whether the index is now complete.
pub fn fill_step(conn: &Connection) -> Result<(usize, bool), StoreError> {
    for kind in KINDS {
        let (through, filled): (i64, bool) = conn
            .prepare_cached("SELECT through, complete FROM attr_index_state WHERE kind = ?1")?
            .query_row([code(kind)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        if filled {
            continue;
        }
        let sql = format!("SELECT seq, doc FROM {} WHERE seq > ?1 ORDER BY seq LIMIT ?2", kind.table());
        let rows: Vec<(i64, String)> = conn
            .prepare_cached(&sql)?
            .query_map(params![through, FILL_BATCH], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let leaves = leaves(kind);
        for (seq, doc) in &rows {
            let doc: Map<String, Value> = serde_json::from_str(doc)?;
            insert(conn, code(kind), *seq, index::entries(leaves, &doc).iter())?;
        }
        let done = (rows.len() as i64) < FILL_BATCH;
        let last = rows.last().map_or(through, |(seq, _)| *seq);
        conn.prepare_cached("UPDATE attr_index_state SET through = ?2, complete = ?3 WHERE kind = ?1")?
            .execute(params![code(kind), last, done])?;
        let all = done && KINDS.iter().try_fold(true, |all, k| Ok::<_, StoreError>(all && complete(conn, *k)?))?;
        return Ok((rows.len(), all));
    }
    Ok((0, true))
}

/// The writer's fill job: one [`fill_step`], and once it has committed, the next job behind the
/// writes queued meanwhile, until the index is complete. A failure stops the fill (filters
/// keep scanning) until the next start, which resumes where it stopped.
pub(super) fn fill_job(writer: crossbeam_channel::Sender<super::Job>, started: Instant, filled: usize) -> super::Job {
    Box::new(move |conn| {
        let step = match conn {
            Some(c) => super::in_savepoint(c, fill_step),
            None => Err(StoreError::Internal("no write transaction".into())),
        };
        Box::new(move |commit: Result<(), StoreError>| match commit.and(step) {
            Ok((n, false)) => {
                let next = fill_job(writer.clone(), started, filled + n);
                let _ = writer.send(next);
            }
            Ok((n, true)) => tracing::info!(
                resources = filled + n,
                ms = started.elapsed().as_millis() as u64,
                "filled the attribute index; filters on any attribute use it now"
            ),
            Err(e) => tracing::warn!(
                error = %e,
                "filling the attribute index failed; filters scan until the next start resumes it"
            ),
        })
    })
}

/// Whether the index of `kind` holds every resource.
pub fn complete(conn: &Connection, kind: Kind) -> Result<bool, StoreError> {
    let done: Option<bool> = conn
        .prepare_cached("SELECT complete FROM attr_index_state WHERE kind = ?1")?
        .query_row([code(kind)], |r| r.get(0))
        .optional()?;
    Ok(done.unwrap_or(false))
}

/// The rows (`seq`, ascending) that `plan` finds: a superset of the filter's matches, to be
/// evaluated. `None` when the index cannot narrow the filter: not complete yet, or a part finds
/// more than [`MAX_CANDIDATES`] (an `and` then narrows by its other parts; an `or` cannot).
pub fn find(conn: &Connection, kind: Kind, plan: &Plan) -> Result<Option<Vec<i64>>, StoreError> {
    if !complete(conn, kind)? {
        return Ok(None);
    }
    lookup(conn, kind, plan)
}

fn lookup(conn: &Connection, kind: Kind, plan: &Plan) -> Result<Option<Vec<i64>>, StoreError> {
    let limit = (MAX_CANDIDATES + 1) as i64;
    let known = |path: &str| leaves(kind).iter().any(|l| l.path == path);
    let seqs: Vec<i64> = match plan {
        Plan::Eq { path, key } if known(path) => conn
            .prepare_cached("SELECT seq FROM attr_index WHERE kind = ?1 AND attr = ?2 AND key = ?3 LIMIT ?4")?
            .query_map(params![code(kind), path, key, limit], |r| r.get(0))?
            .collect::<Result<_, _>>()?,
        Plan::Range { path, prefix, below } if known(path) => {
            let mut seqs: Vec<i64> = match below {
                Some(below) => conn
                    .prepare_cached(
                        "SELECT seq FROM attr_index WHERE kind = ?1 AND attr = ?2 AND key >= ?3 AND key < ?4 LIMIT ?5",
                    )?
                    .query_map(params![code(kind), path, prefix, below, limit], |r| r.get(0))?
                    .collect::<Result<_, _>>()?,
                None => conn
                    .prepare_cached("SELECT seq FROM attr_index WHERE kind = ?1 AND attr = ?2 AND key >= ?3 LIMIT ?4")?
                    .query_map(params![code(kind), path, prefix, limit], |r| r.get(0))?
                    .collect::<Result<_, _>>()?,
            };
            seqs.sort_unstable();
            seqs.dedup();
            seqs
        }
        Plan::Eq { .. } | Plan::Range { .. } => return Ok(None),
        Plan::And(parts) => {
            let mut narrowed: Option<Vec<i64>> = None;
            for part in parts {
                let Some(found) = lookup(conn, kind, part)? else { continue };
                let found = match narrowed {
                    None => found,
                    Some(so_far) => {
                        let keep: BTreeSet<i64> = found.into_iter().collect();
                        so_far.into_iter().filter(|s| keep.contains(s)).collect()
                    }
                };
                if found.is_empty() {
                    return Ok(Some(found));
                }
                narrowed = Some(found);
            }
            return Ok(narrowed);
        }
        Plan::Or(parts) => {
            let mut all = Vec::new();
            for part in parts {
                let Some(found) = lookup(conn, kind, part)? else { return Ok(None) };
                all.extend(found);
            }
            all.sort_unstable();
            all.dedup();
            all
        }
    };
    Ok((seqs.len() <= MAX_CANDIDATES).then_some(seqs))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::db::{groups, rows, users};

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn plan_of(text: &str) -> Plan {
        let f = scimbox_validator::filter::Filter::parse(text).unwrap();
        index::plan(&f, &USER_RESOURCE, leaves(Kind::User)).unwrap()
    }

    fn entries(c: &Connection) -> Vec<(i64, String, String, i64)> {
        c.prepare("SELECT kind, attr, key, seq FROM attr_index ORDER BY kind, seq, attr, key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// A lookup reads the primary key (the covering index on kind, attr, key): never the table
    /// of documents, never a scan.
    #[test]
    fn lookups_search_the_covering_key() {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::db::migrate(&dir.path().join("a.db")).unwrap();
        for (sql, n) in [
            ("SELECT seq FROM attr_index WHERE kind = ?1 AND attr = ?2 AND key = ?3 LIMIT ?4", 4),
            ("SELECT seq FROM attr_index WHERE kind = ?1 AND attr = ?2 AND key >= ?3 AND key < ?4 LIMIT ?5", 5),
        ] {
            let args: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            let plan: Vec<String> = c
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(crate::db::sql::params_from_iter(args), |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(plan.len(), 1, "{plan:?}");
            assert!(plan[0].starts_with("SEARCH attr_index USING PRIMARY KEY (kind=? AND attr=? AND key"), "{plan:?}");
        }
    }

    #[test]
    fn writes_keep_entries_in_step() {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::db::migrate(&dir.path().join("a.db")).unwrap();
        assert!(complete(&c, Kind::User).unwrap(), "an empty database starts complete");
        let t = "2001-01-01T00:00:00.000Z";
        let u = users::insert(&c, "u1", doc(json!({"userName": "Ann", "title": "Boss"})), t).unwrap();
        let row = |a: &str, k: &str| (1, a.to_owned(), k.to_owned(), u.seq);
        assert_eq!(entries(&c), [row("title", "boss"), row("userName", "ann")]);
        users::update(&c, "u1", t, |_| Ok(doc(json!({"userName": "Ann", "nickName": "A"})))).unwrap();
        assert_eq!(entries(&c), [row("nickName", "a"), row("userName", "ann")]);
        assert_eq!(find(&c, Kind::User, &plan_of(r#"nickName eq "A""#)).unwrap(), Some(vec![u.seq]));
        assert_eq!(find(&c, Kind::User, &plan_of(r#"title eq "boss""#)).unwrap(), Some(vec![]));
        let g = groups::insert(&c, "g1", doc(json!({"displayName": "Staff"})), t).unwrap();
        assert!(entries(&c).contains(&(2, "displayName".into(), "staff".into(), g.seq)));
        rows::delete(&c, Kind::User, "u1", t, |_| Ok(())).unwrap();
        rows::delete(&c, Kind::Group, "g1", t, |_| Ok(())).unwrap();
        assert_eq!(entries(&c), []);
    }

    /// A database from before V15 (its index emptied and its state forgotten, as the migration
    /// leaves one) is filled by steps, and lookups wait for the last.
    #[test]
    fn an_old_database_is_filled_in_steps() {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::db::migrate(&dir.path().join("a.db")).unwrap();
        let t = "2001-01-01T00:00:00.000Z";
        let n = FILL_BATCH + 5;
        for i in 0..n {
            users::insert(&c, &format!("u{i}"), doc(json!({"userName": format!("n{i}"), "title": format!("T{i}")})), t)
                .unwrap();
        }
        c.execute_batch("DELETE FROM attr_index; DELETE FROM attr_index_state;").unwrap();
        assert!(prepare(&c).unwrap());
        let plan = plan_of(r#"title eq "t7""#);
        assert_eq!(find(&c, Kind::User, &plan).unwrap(), None);
        assert_eq!(fill_step(&c).unwrap(), (FILL_BATCH as usize, false));
        assert_eq!(find(&c, Kind::User, &plan).unwrap(), None);
        assert_eq!(fill_step(&c).unwrap(), (5, true));
        assert_eq!(find(&c, Kind::User, &plan).unwrap(), Some(vec![8]));
        assert_eq!(entries(&c).len() as i64, 2 * n);
        assert!(!prepare(&c).unwrap(), "recorded: nothing more to fill");
    }

    #[test]
    fn too_many_candidates_do_not_narrow() {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::db::migrate(&dir.path().join("a.db")).unwrap();
        let mut ins = c.prepare("INSERT INTO attr_index (kind, attr, key, seq) VALUES (1, 'title', 'x', ?1)").unwrap();
        for seq in 0..=MAX_CANDIDATES as i64 {
            ins.execute([seq]).unwrap();
        }
        c.execute("INSERT INTO attr_index (kind, attr, key, seq) VALUES (1, 'nickName', 'y', 3)", []).unwrap();
        assert_eq!(find(&c, Kind::User, &plan_of(r#"title eq "x""#)).unwrap(), None);
        assert_eq!(find(&c, Kind::User, &plan_of(r#"title eq "x" and nickName eq "y""#)).unwrap(), Some(vec![3]));
        assert_eq!(find(&c, Kind::User, &plan_of(r#"title eq "x" or nickName eq "y""#)).unwrap(), None);
    }
}
