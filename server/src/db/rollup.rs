//! The journal's requests per connection and hour (`migrations/V16__journal_hours.sql`): what
//! the overview's trends and rate-limit refusals read, a few hundred rows for a week, instead of
//! counting every journal entry of the week on each load (issue 16 item 3).
//!
//! The journal's writer adds each batch's counts in the same write as its entries ([`add`]), so
//! the two never disagree about what was written; a failed batch rolls both back. Storage never
//! reads the clock: the hours come from the entries' own stamps, the pruning cut from the caller.

use super::sql::{Connection, params};

use super::StoreError;

/// One connection's counts in one hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hour {
    /// The connection (token name); `None` for requests without a valid token.
    pub token: Option<String>,
    /// The hour's start, as stamps are stored (`2026-12-07T12:00:00.000Z`).
    pub hour: String,
    /// Requests received in it.
    pub requests: u64,
    /// Of which answered 400 or above.
    pub failures: u64,
    /// Of which answered 429 by the rate limiter.
    pub limited: u64,
}

/// The hour a stored stamp (`2026-12-07T12:34:56.789Z`) falls in, as an hour key; a stamp too
/// short to have an hour is its own key (it sorts with its peers and harms nothing).
pub fn hour_of(stamp: &str) -> String {
    match stamp.get(..13) {
        Some(hour) => format!("{hour}:00:00.000Z"),
        None => stamp.to_owned(),
    }
}

/// Adds `hours` (one row per connection and hour, counts to add) to the stored counts.
pub fn add(c: &Connection, hours: &[Hour]) -> Result<(), StoreError> {
    // The target's columns are named through its alias: a bare name is ambiguous on PostgreSQL.
    let mut stmt = c.prepare_cached(
        "INSERT INTO journal_hours AS h (token, hour, requests, failures, limited) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (token, hour) DO UPDATE SET requests = h.requests + excluded.requests,
             failures = h.failures + excluded.failures, limited = h.limited + excluded.limited",
    )?;
    for h in hours {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        stmt.execute(params![h.token.as_deref().unwrap_or(""), h.hour, n(h.requests), n(h.failures), n(h.limited)])?;
    }
    Ok(())
}

/// Every connection's hours from `from` (an hour key) on, by connection and hour.
pub fn since(c: &Connection, from: &str) -> Result<Vec<Hour>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT token, hour, requests, failures, limited FROM journal_hours WHERE hour >= ?1 ORDER BY token, hour",
    )?;
    let rows = stmt.query_map([from], |r| {
        let token: String = r.get(0)?;
        let n = |i| r.get::<_, i64>(i).map(|v| u64::try_from(v).unwrap_or(0));
        Ok(Hour {
            token: Some(token).filter(|t| !t.is_empty()),
            hour: r.get(1)?,
            requests: n(2)?,
            failures: n(3)?,
            limited: n(4)?,
        })
    })?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// The connections (token names) with a request in an hour from `from` (an hour key) on, by
/// name; requests without a valid token are left out.
pub fn tokens_since(c: &Connection, from: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        c.prepare_cached("SELECT DISTINCT token FROM journal_hours WHERE hour >= ?1 AND token <> '' ORDER BY token")?;
    let rows = stmt.query_map([from], |r| r.get(0))?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// Deletes the hours before `before` (an hour key or any stored stamp); how many went.
pub fn prune(c: &Connection, before: &str) -> Result<usize, StoreError> {
    Ok(c.prepare_cached("DELETE FROM journal_hours WHERE hour < ?1")?.execute([before])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        crate::db::scratch()
    }

    fn h(token: Option<&str>, hour: &str, requests: u64, failures: u64, limited: u64) -> Hour {
        Hour { token: token.map(Into::into), hour: hour.into(), requests, failures, limited }
    }

    #[test]
    fn counts_add_up_per_connection_and_hour_and_prune_by_hour() {
        let (_dir, c) = db();
        add(&c, &[h(Some("okta"), "2026-12-07T11:00:00.000Z", 3, 1, 1), h(None, "2026-12-07T11:00:00.000Z", 2, 2, 0)])
            .unwrap_or_else(|e| panic!("{e}"));
        add(
            &c,
            &[
                h(Some("okta"), "2026-12-07T11:00:00.000Z", 2, 0, 0),
                h(Some("okta"), "2026-12-07T12:00:00.000Z", 1, 0, 0),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let all = since(&c, "2026-12-07T00:00:00.000Z").unwrap_or_default();
        assert_eq!(
            all,
            [
                h(None, "2026-12-07T11:00:00.000Z", 2, 2, 0),
                h(Some("okta"), "2026-12-07T11:00:00.000Z", 5, 1, 1),
                h(Some("okta"), "2026-12-07T12:00:00.000Z", 1, 0, 0),
            ]
        );
        assert_eq!(since(&c, "2026-12-07T12:00:00.000Z").map(|v| v.len()).ok(), Some(1));
        assert_eq!(prune(&c, "2026-12-07T12:00:00.000Z").ok(), Some(2));
        assert_eq!(hour_of("2026-12-07T12:34:56.789Z"), "2026-12-07T12:00:00.000Z");
        assert_eq!(hour_of("2026-12-07T12:34:56Z"), "2026-12-07T12:00:00.000Z");
    }

    /// A database upgraded to V16 gets the counts of the journal it kept, by the writer's rules.
    #[test]
    fn the_migration_counts_the_journal_already_kept() {
        use crate::db::journal::{Entry, insert};
        let (_dir, c) = db();
        let e = |at: &str, token: Option<&str>, status: u16, detail: Option<&str>| Entry {
            at: at.into(),
            token_name: token.map(Into::into),
            method: "PATCH".into(),
            path: "/scim/v2/Users/x".into(),
            status,
            detail: detail.map(Into::into),
            ..Entry::default()
        };
        for x in [
            e("2026-12-07T11:10:00.000Z", Some("okta"), 200, None),
            e("2026-12-07T11:20:00.000Z", Some("okta"), 429, Some("connection \"okta\" sent more than 5 requests")),
            e("2026-12-07T11:30:00.000Z", Some("okta"), 429, Some("held by the deprovisioning guard: ...")),
            e("2026-12-07T12:00:00.000Z", None, 401, None),
        ] {
            insert(&c, &x).unwrap_or_else(|e| panic!("{e}"));
        }
        c.execute_batch("DELETE FROM journal_hours").unwrap_or_else(|e| panic!("{e}"));
        let sql = include_str!("../../../migrations/V16__journal_hours.sql");
        let backfill = &sql[sql.find("INSERT INTO journal_hours").unwrap_or(0)..];
        c.execute_batch(backfill).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            since(&c, "2026-12-07T00:00:00.000Z").unwrap_or_default(),
            [h(None, "2026-12-07T12:00:00.000Z", 1, 1, 0), h(Some("okta"), "2026-12-07T11:00:00.000Z", 3, 2, 1)]
        );
    }
}
