//! SQL for the figures `/metrics` reads when scraped.

use rusqlite::Connection;

use super::StoreError;

/// Users active, users inactive and groups, counted in one statement (one snapshot). Each count
/// reads its table once; run on a reader, at scrape time, never on a request's path.
pub fn population(conn: &Connection) -> Result<(u64, u64, u64), StoreError> {
    let (active, inactive, groups): (i64, i64, i64) = conn
        .prepare_cached(
            "SELECT (SELECT COUNT(*) FROM users WHERE active = 1),
                (SELECT COUNT(*) FROM users WHERE active = 0),
                (SELECT COUNT(*) FROM groups)",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok((n(active), n(inactive), n(groups)))
}
