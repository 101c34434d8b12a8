//! SQL for the figures `/metrics` reads when scraped.

use super::sql::Connection;

use super::StoreError;

/// What `/metrics` counts in the database, read in one snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Population {
    /// Users with `active` true.
    pub users_active: u64,
    /// Users with `active` false.
    pub users_inactive: u64,
    /// Groups.
    pub groups: u64,
    /// The names of the tokens not revoked (so that per-token counters show them at zero).
    pub tokens: Vec<String>,
}

/// Users active and inactive, groups and live token names, in one read transaction. Each count
/// reads its table once; run on a reader, at scrape time, never on a request's path.
pub fn population(conn: &Connection) -> Result<Population, StoreError> {
    super::rows::snapshot(conn, || counts(conn))
}

/// The database's size as its server counts it: PostgreSQL's `pg_database_size` of the current
/// database (its tables, indexes and TOAST; the WAL is the cluster's); `None` on SQLite, whose
/// size is its file's, read from the file system by the caller.
pub fn server_size(conn: &Connection) -> Result<Option<u64>, StoreError> {
    match conn.dialect() {
        super::sql::Dialect::Sqlite => Ok(None),
        super::sql::Dialect::Postgres => {
            let bytes: i64 = conn.query_row("SELECT pg_database_size(current_database())", [], |r| r.get(0))?;
            Ok(Some(u64::try_from(bytes).unwrap_or(0)))
        }
    }
}

fn counts(conn: &Connection) -> Result<Population, StoreError> {
    // Active users are all users less the inactive ones: `active = 1` would read most of the
    // `users_active` index entry by entry, slower than the plain count (see `ui::user_counts`).
    let (users, inactive) = super::ui::total_and_inactive(conn)?;
    let groups: i64 = conn.prepare_cached("SELECT COUNT(*) FROM groups")?.query_row([], |r| r.get(0))?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    let tokens = conn
        .prepare_cached("SELECT DISTINCT name FROM tokens WHERE revoked IS NULL ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Population { users_active: users.saturating_sub(inactive), users_inactive: inactive, groups: n(groups), tokens })
}
