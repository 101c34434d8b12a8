//! What users and groups share in storage: a row is a normalised JSON document plus its id,
//! insertion number and version; the tables differ only in their indexed key columns, which
//! `users` and `groups` maintain.

use std::sync::LazyLock;

use super::sql::{Connection, Dialect, OptionalExtension, Row, params};
use serde_json::{Map, Value};

use super::StoreError;
use super::changes::{self, Action, Record};
use super::text_need::{self, TextNeed};

/// Which resource table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `users`.
    User,
    /// `groups`.
    Group,
}

impl Kind {
    /// The table's name.
    pub fn table(self) -> &'static str {
        match self {
            Kind::User => "users",
            Kind::Group => "groups",
        }
    }
}

/// A stored resource.
#[derive(Debug, Clone)]
pub struct ResourceRow {
    /// Insertion order: the default, stable list order.
    pub seq: i64,
    /// The SCIM id.
    pub id: String,
    /// Incremented on every change; `meta.version` is `W/"<version>"`.
    pub version: i64,
    /// `meta.created`.
    pub created: String,
    /// `meta.lastModified`.
    pub last_modified: String,
    /// The normalised resource without id/meta/schemas (and, for groups, without members).
    pub doc: Map<String, Value>,
}

type Raw = (i64, String, i64, String, String, String);

fn from_row(r: &Row<'_>) -> super::sql::Result<Raw> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn decode(raw: Raw) -> Result<ResourceRow, StoreError> {
    let (seq, id, version, created, last_modified, doc) = raw;
    let doc = serde_json::from_str(&doc)?;
    Ok(ResourceRow { seq, id, version, created, last_modified, doc })
}

/// What a read makes of a row: the columns it selects after `seq, id, version, created,
/// last_modified`, and how it turns them into a value.
pub trait FromRow: Sized {
    /// The columns of `kind` it reads after the five common ones.
    fn columns(kind: Kind) -> &'static str;
    /// The value of a row selected with [`Self::columns`].
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError>;
    /// Its insertion number.
    fn seq(&self) -> i64;
}

impl FromRow for ResourceRow {
    fn columns(_: Kind) -> &'static str {
        "doc"
    }
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        decode(from_row(r)?)
    }
    fn seq(&self) -> i64 {
        self.seq
    }
}

/// A resource as a default read needs it: its stored text when it has one (a user's
/// `users.body`, see [`super::stored`]), else its decoded document.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// The stored text: copied, never decoded.
    Stored(StoredRow),
    /// No stored text (a group, a user whose access is computed, a row from before V14).
    Doc(ResourceRow),
}

/// A resource's row with its stored text instead of its document.
#[derive(Debug, Clone)]
pub struct StoredRow {
    /// Insertion order.
    pub seq: i64,
    /// The SCIM id.
    pub id: String,
    /// `meta.version`'s number.
    pub version: i64,
    /// `meta.created`.
    pub created: String,
    /// `meta.lastModified`.
    pub last_modified: String,
    /// `schemas`, `id` and the document's attributes as one JSON object
    /// ([`super::stored::user_body`]), as the bytes stored (UTF-8 text the server wrote, not
    /// checked again), with [`BODY_ROOM`] spare capacity for what a read splices in.
    pub body: Vec<u8>,
    /// Whether it is a direct member of any group (when not, it has no `groups` at all, and
    /// reading them is skipped: the common case, asked in the same statement as the row).
    pub in_groups: bool,
}

/// The spare capacity a stored body is read with: a read appends its `meta` (about 190 bytes
/// and the base URL) in place, so the common user costs one allocation and one copy of its text
/// (issue 17, fourth round); `groups` or a long base URL make it grow.
pub const BODY_ROOM: usize = 320;

impl FromRow for Fetched {
    fn columns(kind: Kind) -> &'static str {
        match kind {
            // The document only when there is no body: a body's row never copies it out.
            Kind::User => {
                "body, CASE WHEN body IS NULL THEN doc END,
                 EXISTS (SELECT 1 FROM group_members WHERE member_id = users.id)"
            }
            Kind::Group => "NULL, doc, 0",
        }
    }
    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        let (seq, id, version, created, last_modified) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        Ok(match r.get_bytes(5)? {
            Some(stored) => {
                let mut body = Vec::with_capacity(stored.len() + BODY_ROOM);
                body.extend_from_slice(stored);
                let in_groups = r.get(7)?;
                Fetched::Stored(StoredRow { seq, id, version, created, last_modified, body, in_groups })
            }
            None => {
                let doc = serde_json::from_str(&r.get::<_, String>(6)?)?;
                Fetched::Doc(ResourceRow { seq, id, version, created, last_modified, doc })
            }
        })
    }
    fn seq(&self) -> i64 {
        match self {
            Fetched::Stored(r) => r.seq,
            Fetched::Doc(r) => r.seq,
        }
    }
}

fn select(kind: Kind, rest: &str) -> String {
    select_as::<ResourceRow>(kind, rest)
}

/// The `SELECT` of `R`'s columns of `kind` followed by `rest`.
pub(super) fn select_as<R: FromRow>(kind: Kind, rest: &str) -> String {
    format!("SELECT seq, id, version, created, last_modified, {} FROM {} {rest}", R::columns(kind), kind.table())
}

/// Rows of `kind` matching `rest` (a WHERE/ORDER BY tail) with these arguments.
pub fn query(
    conn: &Connection,
    kind: Kind,
    rest: &str,
    args: impl super::sql::Params,
) -> Result<Vec<ResourceRow>, StoreError> {
    query_as(conn, kind, rest, args)
}

/// [`query`], each row read as `R`.
pub fn query_as<R: FromRow>(
    conn: &Connection,
    kind: Kind,
    rest: &str,
    args: impl super::sql::Params,
) -> Result<Vec<R>, StoreError> {
    query_sql(conn, &select_as::<R>(kind, rest), args)
}

/// [`query_as`] for a whole statement written by `select_as` once (the reads of every
/// request keep their text in a static rather than format it each time).
pub fn query_sql<R: FromRow>(
    conn: &Connection,
    sql: &str,
    args: impl super::sql::Params,
) -> Result<Vec<R>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(R::from_row(&r)?);
    }
    Ok(out)
}

/// The resource with this id.
pub fn get(conn: &Connection, kind: Kind, id: &str) -> Result<Option<ResourceRow>, StoreError> {
    let raw = conn.prepare_cached(&select(kind, "WHERE id = ?1"))?.query_row([id], from_row).optional()?;
    raw.map(decode).transpose()
}

/// The resource with this id as a default read needs it (its stored text, when it has one).
pub fn fetch(conn: &Connection, kind: Kind, id: &str) -> Result<Option<Fetched>, StoreError> {
    static USER: LazyLock<String> = LazyLock::new(|| select_as::<Fetched>(Kind::User, "WHERE id = ?1"));
    static GROUP: LazyLock<String> = LazyLock::new(|| select_as::<Fetched>(Kind::Group, "WHERE id = ?1"));
    let sql = match kind {
        Kind::User => &*USER,
        Kind::Group => &*GROUP,
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(|r| Fetched::from_row(&r)).transpose()
}

/// How many resources there are; on SQLite, inside a snapshot, remembered by the connection until
/// the data changes ([`Connection::counted`]); on PostgreSQL read from `row_counts`, which the
/// writes keep in their own transaction (migrations-pg/V20: a count scanned the table).
pub fn count(conn: &Connection, kind: Kind) -> Result<u64, StoreError> {
    let sql = match (conn.dialect(), kind) {
        (Dialect::Sqlite, Kind::User) => "SELECT COUNT(*) FROM users",
        (Dialect::Sqlite, Kind::Group) => "SELECT COUNT(*) FROM groups",
        (Dialect::Postgres, Kind::User) => "SELECT n FROM row_counts WHERE name = 'users'",
        (Dialect::Postgres, Kind::Group) => "SELECT n FROM row_counts WHERE name = 'groups'",
    };
    let n = conn.counted(kind.table(), || conn.prepare_cached(sql)?.query_row([], |r| r.get(0)))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A page in the default order: the rows at 0-based positions `offset..offset + limit`
/// (RFC 7644 §3.4.2.4: `startIndex` is `offset + 1`), read in one snapshot with the count it
/// needs (see [`page_counted`]).
pub fn page<R: FromRow>(conn: &Connection, kind: Kind, offset: u64, limit: u64) -> Result<Vec<R>, StoreError> {
    snapshot(conn, || page_counted(conn, kind, offset, limit, count(conn, kind)?))
}

/// [`page`] for a caller that has counted the table (`total`) in the snapshot it is reading, as
/// a list does for `totalResults`: the page is exactly `LIMIT limit OFFSET offset` over the table.
///
/// Finding the page's first row costs as little as that count allows: the first `seq` is
/// `min(seq) + offset` when the insertion numbers have no gaps (no resource deleted, the usual
/// case for a directory that deactivates rather than deletes: a count equal to `max - min + 1`
/// proves it), and is otherwise skipped to in the narrow `{table}_seq` index (migration V7) from
/// whichever end of the list is nearer, never in the table, whose leaves hold the documents. So
/// the last page of a million users costs what the first does, and a walk by `startIndex` over a
/// list with gaps skips at most half of it per page.
pub fn page_counted<R: FromRow>(
    conn: &Connection,
    kind: Kind,
    offset: u64,
    limit: u64,
    total: u64,
) -> Result<Vec<R>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    if offset >= total || limit == 0 {
        return Ok(Vec::new());
    }
    if offset == 0 {
        return query_as(conn, kind, "ORDER BY seq LIMIT ?1", [limit]);
    }
    snapshot(conn, || match seq_at(conn, kind, offset, total)? {
        Some(first) => query_as(conn, kind, "WHERE seq >= ?1 ORDER BY seq LIMIT ?2", params![first, limit]),
        None => Ok(Vec::new()),
    })
}

/// The `seq` of the row at 0-based position `offset` (below `total`, the table's count in this
/// snapshot) in the default order.
fn seq_at(conn: &Connection, kind: Kind, offset: u64, total: u64) -> Result<Option<i64>, StoreError> {
    let table = kind.table();
    // Two subqueries: SQLite answers a lone min() or max() of the rowid from one end of the
    // b-tree, but both in one SELECT by reading every row.
    let ends = format!("SELECT (SELECT min(seq) FROM {table}), (SELECT max(seq) FROM {table})");
    let (min, max): (Option<i64>, Option<i64>) =
        conn.prepare_cached(&ends)?.query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let (offset, total) = (i64::try_from(offset).unwrap_or(i64::MAX), i64::try_from(total).unwrap_or(i64::MAX));
    if let (Some(min), Some(max)) = (min, max)
        && max.checked_sub(min).and_then(|span| span.checked_add(1)) == Some(total)
    {
        return Ok(min.checked_add(offset));
    }
    let from_end = total - 1 - offset;
    let (order, skip) = if from_end < offset { ("DESC", from_end) } else { ("", offset) };
    // `INDEXED BY` is SQLite's; PostgreSQL's planner reads the `seq` index (or its primary key)
    // for an ordered LIMIT on its own.
    let hint = match conn.dialect() {
        super::sql::Dialect::Sqlite => format!(" INDEXED BY {table}_seq"),
        super::sql::Dialect::Postgres => String::new(),
    };
    let sql = format!("SELECT seq FROM {table}{hint} ORDER BY seq {order} LIMIT 1 OFFSET ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([skip], |r| r.get(0)).optional()?)
}

/// Runs `f` inside a savepoint, so that its statements read one snapshot of the database (a
/// savepoint outside a transaction begins a deferred one; inside, it nests). Read-only use.
pub fn snapshot<T>(conn: &Connection, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    if conn.dialect() == super::sql::Dialect::Postgres {
        // A savepoint needs a transaction there: a read connection opens a repeatable-read one
        // (one snapshot for every statement), and inside one (the writer's, or an outer
        // snapshot) the reads already share it.
        if !conn.is_autocommit() {
            return f();
        }
        conn.execute_batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let out = f();
        conn.execute_batch(if out.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
        return out;
    }
    // Prepared once per connection: a list page opens one or two of these, and parsing them
    // each time was a measurable part of a page (issue 17, third round).
    conn.prepare_cached("SAVEPOINT scimbox_snapshot")?.execute([])?;
    let out = f();
    conn.prepare_cached("RELEASE scimbox_snapshot")?.execute([])?;
    out
}

/// Calls `visit` on every resource in the default order, one row at a time (bounded memory);
/// with a `need`, only on those whose stored text may meet it (see [`super::text_need`]): the
/// others are skipped inside SQLite, never decoded.
pub fn scan(
    conn: &Connection,
    kind: Kind,
    need: Option<&TextNeed>,
    mut visit: impl FnMut(ResourceRow) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut args = Vec::new();
    let rest = match need {
        Some(need) => format!("WHERE {} ORDER BY seq", need.to_sql("doc", &mut args)),
        None => "ORDER BY seq".to_owned(),
    };
    let mut stmt = conn.prepare_cached(&select(kind, &rest))?;
    let mut rows = stmt.query(text_need::params(&args).as_slice())?;
    while let Some(r) = rows.next()? {
        visit(decode(from_row(&r)?)?)?;
    }
    Ok(())
}

/// A keyset page in the default order: at most `limit` rows with `seq` above `after` (RFC 9865
/// cursors). `seq` is the rowid, so this is a range read of the table whose cost does not
/// depend on how many rows come before it.
pub fn page_after<R: FromRow>(conn: &Connection, kind: Kind, after: i64, limit: u64) -> Result<Vec<R>, StoreError> {
    query_as(
        conn,
        kind,
        "WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        params![after, i64::try_from(limit).unwrap_or(i64::MAX)],
    )
}

/// The keyset page before a position (a `previousCursor`): at most `limit` rows with `seq` below
/// `before`, the nearest first.
pub fn page_before<R: FromRow>(conn: &Connection, kind: Kind, before: i64, limit: u64) -> Result<Vec<R>, StoreError> {
    query_as(
        conn,
        kind,
        "WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
        params![before, i64::try_from(limit).unwrap_or(i64::MAX)],
    )
}

/// Like [`scan`], from the first row with `seq` above `after`, until `visit` returns `false`.
pub fn scan_after(
    conn: &Connection,
    kind: Kind,
    after: i64,
    need: Option<&TextNeed>,
    visit: impl FnMut(ResourceRow) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    scan_from(conn, kind, "seq > ", "ORDER BY seq", after, need, visit)
}

/// Like [`scan`] backwards, from the last row with `seq` below `before`, until `visit` returns
/// `false`.
pub fn scan_before(
    conn: &Connection,
    kind: Kind,
    before: i64,
    need: Option<&TextNeed>,
    visit: impl FnMut(ResourceRow) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    scan_from(conn, kind, "seq < ", "ORDER BY seq DESC", before, need, visit)
}

fn scan_from(
    conn: &Connection,
    kind: Kind,
    compare: &str,
    order: &str,
    pivot: i64,
    need: Option<&TextNeed>,
    mut visit: impl FnMut(ResourceRow) -> Result<bool, StoreError>,
) -> Result<(), StoreError> {
    let mut args = Vec::new();
    let need = need.map(|n| format!("AND {}", n.to_sql("doc", &mut args))).unwrap_or_default();
    let rest = format!("WHERE {compare}?{} {need} {order}", args.len() + 1);
    let mut params = text_need::params(&args);
    params.push(&pivot);
    let mut stmt = conn.prepare_cached(&select(kind, &rest))?;
    let mut rows = stmt.query(params.as_slice())?;
    while let Some(r) = rows.next()? {
        if !visit(decode(from_row(&r)?)?)? {
            break;
        }
    }
    Ok(())
}

/// The resources with these insertion numbers, in the order given.
pub fn by_seqs(conn: &Connection, kind: Kind, seqs: &[i64]) -> Result<Vec<ResourceRow>, StoreError> {
    by_seqs_as(conn, kind, seqs)
}

/// [`by_seqs`], each row read as `R`.
pub fn by_seqs_as<R: FromRow>(conn: &Connection, kind: Kind, seqs: &[i64]) -> Result<Vec<R>, StoreError> {
    let mut stmt = conn.prepare_cached(&select_as::<R>(kind, "WHERE seq = ?1"))?;
    let mut out = Vec::with_capacity(seqs.len());
    for seq in seqs {
        if let Some(r) = stmt.query([seq])?.next()? {
            out.push(R::from_row(&r)?);
        }
    }
    Ok(out)
}

/// Deletes the resource with this id; `check` sees it first and may refuse (precondition). The
/// deletion is recorded in the history with the document as it was, at `at` (the write's time:
/// storage never reads the clock, so every row one write records carries the same moment).
pub fn delete(
    conn: &Connection,
    kind: Kind,
    id: &str,
    at: &str,
    check: impl FnOnce(&ResourceRow) -> Result<(), StoreError>,
) -> Result<ResourceRow, StoreError> {
    let current = get(conn, kind, id)?.ok_or(StoreError::NotFound)?;
    check(&current)?;
    let sql = format!("DELETE FROM {} WHERE seq = ?1", kind.table());
    conn.prepare_cached(&sql)?.execute([current.seq])?;
    super::attr_index::write(conn, kind, current.seq, Some(&current.doc), None)?;
    let before = Some(&current.doc);
    changes::record(conn, Record { kind, id, action: Action::Deleted, version: None, before, after: None, at })?;
    Ok(current)
}

/// Whether `e` is a UNIQUE violation on an index whose name contains `column`.
pub fn is_unique_violation(e: &super::sql::Error, column: &str) -> bool {
    e.is_constraint_on(column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        crate::db::scratch()
    }

    /// Users 1..=n, then every third one deleted: insertion numbers with gaps.
    fn users_with_gaps(c: &Connection, n: i64) {
        let mut ins = c
            .prepare(
                "INSERT INTO users (seq, id, user_name, user_name_key, version, created, last_modified, doc)
                 VALUES (?1, ?2, ?2, ?2, 1, 't', 't', '{}')",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        for seq in 1..=n {
            ins.execute(params![seq, format!("u{seq}")]).unwrap_or_else(|e| panic!("{e}"));
        }
        c.execute("DELETE FROM users WHERE seq % 3 = 0", []).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn pages_are_limit_offset_over_the_insertion_order() {
        let (_d, c) = db();
        users_with_gaps(&c, 50);
        let all: Vec<i64> = query(&c, Kind::User, "ORDER BY seq", []).unwrap().iter().map(|r| r.seq).collect();
        assert_eq!(all.len(), 34);
        for offset in 0..40 {
            for limit in [0, 1, 7, 100] {
                let got: Vec<i64> =
                    page::<ResourceRow>(&c, Kind::User, offset, limit).unwrap().iter().map(|r| r.seq).collect();
                let want: Vec<i64> = all.iter().copied().skip(offset as usize).take(limit as usize).collect();
                assert_eq!(got, want, "offset {offset}, limit {limit}");
            }
        }
        assert!(page::<ResourceRow>(&c, Kind::Group, 5, 10).unwrap().is_empty());
        assert!(page::<ResourceRow>(&c, Kind::User, u64::MAX, u64::MAX).unwrap().is_empty());
    }

    /// Every shape of insertion numbers gives `LIMIT/OFFSET`'s page: contiguous from 1, contiguous
    /// after the first ones were deleted (arithmetic from `min`), a gap near either end (a skip
    /// from the nearer end), and a `total` at or past the end.
    #[test]
    fn pages_match_limit_offset_whichever_way_the_first_row_is_found() {
        let (_d, c) = db();
        let mut ins = c
            .prepare(
                "INSERT INTO users (seq, id, user_name, user_name_key, version, created, last_modified, doc)
                 VALUES (?1, ?2, ?2, ?2, 1, 't', 't', '{}')",
            )
            .unwrap();
        for seq in 1..=40 {
            ins.execute(params![seq, format!("u{seq}")]).unwrap();
        }
        let check = |label: &str| {
            let all: Vec<i64> = query(&c, Kind::User, "ORDER BY seq", []).unwrap().iter().map(|r| r.seq).collect();
            for offset in 0..=all.len() as u64 + 1 {
                for limit in [1, 3, 100] {
                    let got: Vec<i64> =
                        page::<ResourceRow>(&c, Kind::User, offset, limit).unwrap().iter().map(|r| r.seq).collect();
                    let want: Vec<i64> = all.iter().copied().skip(offset as usize).take(limit as usize).collect();
                    assert_eq!(got, want, "{label}: offset {offset}, limit {limit}");
                }
            }
        };
        check("contiguous from 1");
        c.execute("DELETE FROM users WHERE seq <= 5", []).unwrap();
        check("contiguous from 6");
        c.execute("DELETE FROM users WHERE seq = 9", []).unwrap();
        check("a gap near the start");
        c.execute("DELETE FROM users WHERE seq IN (36, 38)", []).unwrap();
        check("gaps near both ends");
        let total = count(&c, Kind::User).unwrap();
        assert!(page_counted::<ResourceRow>(&c, Kind::User, total, 10, total).unwrap().is_empty());
        assert!(page_counted::<ResourceRow>(&c, Kind::User, 3, 0, total).unwrap().is_empty());
    }

    /// The offset is skipped in the narrow index, never in the table (RFC 7644 §3.4.2.4 paging
    /// must not cost a full read of the documents before the page).
    #[test]
    fn the_offset_is_skipped_in_the_seq_index() {
        let (_d, c) = db();
        for (table, order) in [("users", ""), ("groups", ""), ("users", "DESC"), ("groups", "DESC")] {
            let sql = format!(
                "EXPLAIN QUERY PLAN SELECT seq FROM {table} INDEXED BY {table}_seq ORDER BY seq {order} LIMIT 1 OFFSET 5"
            );
            let plan: Vec<String> = c
                .prepare(&sql)
                .unwrap()
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(plan, [format!("SCAN {table} USING COVERING INDEX {table}_seq")], "{table} {order}");
        }
    }

    /// A keyset page (RFC 9865 cursors) is a range read on the rowid: it starts at its first row
    /// whatever comes before it, and a resumed scan stops when told.
    #[test]
    fn keyset_pages_start_at_their_seq() {
        let (_d, c) = db();
        users_with_gaps(&c, 50);
        let all: Vec<i64> = query(&c, Kind::User, "ORDER BY seq", []).unwrap().iter().map(|r| r.seq).collect();
        for after in [i64::MIN, 0, 1, 3, 4, 49, 50] {
            let got: Vec<i64> =
                page_after::<ResourceRow>(&c, Kind::User, after, 5).unwrap().iter().map(|r| r.seq).collect();
            let want: Vec<i64> = all.iter().copied().filter(|s| *s > after).take(5).collect();
            assert_eq!(got, want, "after {after}");
            let mut scanned = Vec::new();
            scan_after(&c, Kind::User, after, None, |r| {
                scanned.push(r.seq);
                Ok(scanned.len() < 3)
            })
            .unwrap();
            assert_eq!(scanned, want.iter().copied().take(3).collect::<Vec<_>>(), "scan after {after}");
            let got: Vec<i64> =
                page_before::<ResourceRow>(&c, Kind::User, after, 5).unwrap().iter().map(|r| r.seq).collect();
            let want: Vec<i64> = all.iter().rev().copied().filter(|s| *s < after).take(5).collect();
            assert_eq!(got, want, "before {after}");
            let mut scanned = Vec::new();
            scan_before(&c, Kind::User, after, None, |r| {
                scanned.push(r.seq);
                Ok(scanned.len() < 3)
            })
            .unwrap();
            assert_eq!(scanned, want.iter().copied().take(3).collect::<Vec<_>>(), "scan before {after}");
        }
        let sql = "EXPLAIN QUERY PLAN SELECT doc FROM users WHERE seq > ?1 ORDER BY seq LIMIT ?2";
        let plan: Vec<String> = c
            .prepare(sql)
            .unwrap()
            .query_map([0, 5], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(plan, ["SEARCH users USING INTEGER PRIMARY KEY (rowid>?)"]);
    }

    /// A count remembered in a read connection's snapshot (a list page's `totalResults`) follows
    /// every commit of another connection; the writer's count follows its own changes and their
    /// rollback.
    #[test]
    fn a_remembered_count_follows_every_change() {
        let (d, c) = db();
        users_with_gaps(&c, 10);
        let r = super::super::connect(&d.path().join(crate::db::SCRATCH_FILE)).unwrap();
        r.execute_batch("PRAGMA query_only = ON;").unwrap();
        r.remember_counts();
        let counted = |conn: &Connection| snapshot(conn, || count(conn, Kind::User)).unwrap();
        assert_eq!((counted(&r), counted(&r)), (7, 7));
        c.execute(
            "INSERT INTO users (seq, id, user_name, user_name_key, version, created, last_modified, doc)
             VALUES (100, 'n', 'n', 'n', 1, 't', 't', '{}')",
            [],
        )
        .unwrap();
        assert_eq!(counted(&r), 8, "another connection's commit");
        c.execute_batch("BEGIN").unwrap();
        assert_eq!(counted(&c), 8);
        c.execute("DELETE FROM users WHERE seq = 100", []).unwrap();
        assert_eq!(counted(&c), 7, "its own change");
        c.execute_batch("ROLLBACK").unwrap();
        assert_eq!((counted(&c), count(&c, Kind::User).unwrap()), (8, 8), "rolled back");
        assert_eq!((counted(&r), snapshot(&r, || count(&r, Kind::Group)).unwrap()), (8, 0), "each table its own");
    }

    #[test]
    fn snapshots_nest_and_work_on_read_only_connections() {
        let (d, c) = db();
        users_with_gaps(&c, 10);
        let r = super::super::connect(&d.path().join(crate::db::SCRATCH_FILE)).unwrap();
        r.execute_batch("PRAGMA query_only = ON;").unwrap();
        let n = snapshot(&r, || snapshot(&r, || count(&r, Kind::User))).unwrap();
        assert_eq!(n, 7);
        assert_eq!(
            page::<ResourceRow>(&r, Kind::User, 3, 2).unwrap().iter().map(|x| x.seq).collect::<Vec<_>>(),
            [5, 7]
        );
        assert!(r.is_autocommit());
    }
}
