//! SQL for the provisioning journal (see `migrations/V5__journal.sql`): one row per SCIM request,
//! written in batches by [`crate::journal`], read by the status page. The history of changes is
//! in [`super::changes`]; its read functions are re-exported here for the pages.

use super::sql::{Connection, OptionalExtension, Row, params};

use super::StoreError;
pub use super::changes::{Change, changes_for};

/// One recorded request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// Order of recording (ignored by [`insert`]).
    pub seq: i64,
    /// When the request arrived (RFC 3339 UTC).
    pub at: String,
    /// The connection (token name); `None` when the token was missing or refused.
    pub token_name: Option<String>,
    /// The client's User-Agent.
    pub client: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// The path as the client sent it.
    pub path: String,
    /// The query string, if any (tokens redacted).
    pub query: Option<String>,
    /// The response status.
    pub status: u16,
    /// How long the server took to answer.
    pub duration_ms: f64,
    /// `User` or `Group`, when the request was about one.
    pub resource_type: Option<String>,
    /// The resource's id: from the path, or from `Location` for a create.
    pub resource_id: Option<String>,
    /// The error's `scimType`, on failure.
    pub scim_type: Option<String>,
    /// The error's `detail`, on failure.
    pub detail: Option<String>,
    /// The request body, secrets redacted, at most 16 KiB (a cut body ends with a marker line).
    pub body: Option<String>,
}

impl Entry {
    /// Whether the request failed (status 400 or more).
    pub fn failed(&self) -> bool {
        self.status >= 400
    }
}

pub(super) const COLUMNS: &str = "seq, at, token_name, client, method, path, query, status, duration_ms, resource_type, \
                       resource_id, scim_type, detail, body";

pub(super) fn from_row(r: &Row<'_>) -> super::sql::Result<Entry> {
    Ok(Entry {
        seq: r.get(0)?,
        at: r.get(1)?,
        token_name: r.get(2)?,
        client: r.get(3)?,
        method: r.get(4)?,
        path: r.get(5)?,
        query: r.get(6)?,
        status: r.get(7)?,
        duration_ms: r.get(8)?,
        resource_type: r.get(9)?,
        resource_id: r.get(10)?,
        scim_type: r.get(11)?,
        detail: r.get(12)?,
        body: r.get(13)?,
    })
}

/// Appends one entry (its `seq` is assigned). The seq is not returned: nothing reads it, and on
/// PostgreSQL asking for it is one more round trip per entry.
pub fn insert(c: &Connection, e: &Entry) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO journal (at, token_name, client, method, path, query, status, duration_ms, resource_type,
                              resource_id, scim_type, detail, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        e.at,
        e.token_name,
        e.client,
        e.method,
        e.path,
        e.query,
        e.status,
        e.duration_ms,
        e.resource_type,
        e.resource_id,
        e.scim_type,
        e.detail,
        e.body
    ])?;
    Ok(())
}

/// A page of entries, newest first; with `failures_first`, every failure (status >= 400) before
/// every success.
pub fn recent(c: &Connection, limit: u32, offset: u32, failures_first: bool) -> Result<Vec<Entry>, StoreError> {
    let order = if failures_first { "(status >= 400) DESC, seq DESC" } else { "seq DESC" };
    let sql = format!("SELECT {COLUMNS} FROM journal ORDER BY {order} LIMIT ?1 OFFSET ?2");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![limit, offset], from_row)?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// How many entries there are, and how many of them are failures.
pub fn count(c: &Connection) -> Result<(u64, u64), StoreError> {
    let (all, failed): (i64, i64) = c
        .prepare_cached(match c.dialect() {
            super::sql::Dialect::Sqlite => {
                "SELECT COUNT(*), (SELECT COUNT(*) FROM journal WHERE (status >= 400) = 1) FROM journal"
            }
            // A comparison is a boolean there, never 1; `journal_failures` serves it all the same.
            super::sql::Dialect::Postgres => {
                "SELECT COUNT(*), (SELECT COUNT(*) FROM journal WHERE (status >= 400)) FROM journal"
            }
        })?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((u64::try_from(all).unwrap_or(0), u64::try_from(failed).unwrap_or(0)))
}

/// The entry with this seq.
pub fn get(c: &Connection, seq: i64) -> Result<Option<Entry>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM journal WHERE seq = ?1");
    c.prepare_cached(&sql)?.query_row([seq], from_row).optional().map_err(Into::into)
}

/// The latest requests about one resource (`User` or `Group`), newest first.
pub fn for_resource(c: &Connection, resource_type: &str, id: &str, limit: u32) -> Result<Vec<Entry>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM journal WHERE resource_type = ?1 AND resource_id = ?2 AND resource_id IS NOT NULL
         ORDER BY seq DESC LIMIT ?3"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![resource_type, id, limit], from_row)?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// What one connection (token) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionStats {
    /// The token's name.
    pub token_name: String,
    /// Requests since the `since` given to [`connection_stats`](super::ui::connection_stats).
    pub requests_24h: u64,
    /// Of those, the failures (status >= 400).
    pub failures_24h: u64,
    /// Its latest request still in the journal.
    pub last_contact: Option<String>,
    /// The User-Agent of that request.
    pub client: Option<String>,
}

/// The seq of the `keep`-th newest row of `table` counting from 0 (rows at or below it are beyond
/// the newest `keep`), or 0 when the table has no more than `keep` rows.
pub(crate) fn nth_newest(c: &Connection, table: &str, keep: u64) -> Result<i64, StoreError> {
    let sql = format!("SELECT seq FROM {table} ORDER BY seq DESC LIMIT 1 OFFSET ?1");
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    let seq: Option<i64> = c.prepare_cached(&sql)?.query_row([keep], |r| r.get(0)).optional()?;
    Ok(seq.unwrap_or(0))
}

/// Deletes up to `batch` of the oldest entries recorded before `before` or beyond the newest
/// `keep`; returns how many went.
pub fn prune(c: &Connection, before: &str, keep: u64, batch: u32) -> Result<usize, StoreError> {
    prune_table(c, "journal", before, keep, batch)
}

/// [`prune`] for `table` (`journal` or `changes`: both have `seq` and `at`).
pub(crate) fn prune_table(
    c: &Connection,
    table: &'static str,
    before: &str,
    keep: u64,
    batch: u32,
) -> Result<usize, StoreError> {
    let cut = nth_newest(c, table, keep)?;
    prune_through(c, table, before, cut, batch)
}

/// [`prune_table`] with its cut already read ([`nth_newest`]): deletes up to `batch` of the
/// oldest rows recorded before `before` or at or below `cut`. A pass of many batches reads the
/// cut once: reading it walks the newest `keep` rows, which per batch of 500 made a million-row
/// backlog (a bulk import's change history) a minute of the writer's time.
pub(crate) fn prune_through(
    c: &Connection,
    table: &'static str,
    before: &str,
    cut: i64,
    batch: u32,
) -> Result<usize, StoreError> {
    let sql = format!(
        "DELETE FROM {table} WHERE seq IN (SELECT seq FROM {table} WHERE at < ?1 OR seq <= ?2 ORDER BY seq LIMIT ?3)"
    );
    Ok(c.prepare_cached(&sql)?.execute(params![before, cut, batch])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        crate::db::scratch()
    }

    fn entry(at: &str, status: u16, token: &str) -> Entry {
        Entry {
            at: at.into(),
            token_name: Some(token.into()),
            method: "GET".into(),
            path: "/scim/v2/Users".into(),
            status,
            ..Entry::default()
        }
    }

    #[test]
    fn failures_first_then_newest() {
        let (_d, c) = db();
        for (i, status) in [200, 400, 201, 409, 200].into_iter().enumerate() {
            insert(&c, &entry(&format!("2026-01-01T00:00:0{i}.000Z"), status, "okta")).unwrap_or_default();
        }
        let statuses = |v: Vec<Entry>| v.into_iter().map(|e| e.status).collect::<Vec<_>>();
        assert_eq!(statuses(recent(&c, 10, 0, true).unwrap_or_default()), [409, 400, 200, 201, 200]);
        assert_eq!(statuses(recent(&c, 2, 1, false).unwrap_or_default()), [409, 201]);
        let plan: String = c
            .query_row(
                "EXPLAIN QUERY PLAN SELECT seq FROM journal ORDER BY (status >= 400) DESC, seq DESC LIMIT 5",
                [],
                |r| r.get(3),
            )
            .unwrap_or_default();
        assert!(plan.contains("journal_failures"), "{plan}");
    }

    #[test]
    fn pruning_by_age_then_by_count() {
        let (_d, c) = db();
        insert(&c, &entry("2026-01-01T00:00:00.000Z", 200, "okta")).unwrap_or_default();
        insert(&c, &entry("2026-01-02T00:00:00.000Z", 500, "okta")).unwrap_or_default();
        insert(&c, &entry("2026-01-02T00:00:01.000Z", 200, "entra")).unwrap_or_default();
        assert_eq!(prune(&c, "2026-01-01T12:00:00.000Z", 10, 100).ok(), Some(1));
        assert_eq!(prune(&c, "2000-01-01T00:00:00.000Z", 1, 100).ok(), Some(1));
        let left = recent(&c, 10, 0, false).unwrap_or_default();
        assert_eq!(left.iter().map(|e| e.token_name.clone().unwrap_or_default()).collect::<Vec<_>>(), ["entra"]);
    }
}
