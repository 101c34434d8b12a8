//! SQL for the figures `/metrics` reads when scraped.

use rusqlite::Connection;

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

fn counts(conn: &Connection) -> Result<Population, StoreError> {
    let (active, inactive, groups): (i64, i64, i64) = conn
        .prepare_cached(
            "SELECT (SELECT COUNT(*) FROM users WHERE active = 1),
                (SELECT COUNT(*) FROM users WHERE active = 0),
                (SELECT COUNT(*) FROM groups)",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    let tokens = conn
        .prepare_cached("SELECT DISTINCT name FROM tokens WHERE revoked IS NULL ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(Population { users_active: n(active), users_inactive: n(inactive), groups: n(groups), tokens })
}
