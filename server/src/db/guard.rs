//! SQL for the deprovisioning guard (`migrations/V9__guard.sql`): the deprovisionings each token
//! made in its window, and the per-token state (tripped, held attempts, released until). The
//! decisions are [`crate::service::guard`]'s; this module only reads and writes rows, with the
//! times it is handed.

use super::sql::{Connection, OptionalExtension, params};

use super::StoreError;

/// How many held users' ids a token's state keeps as a sample.
pub const SAMPLE: usize = 10;

/// The guard's state for one token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// The token's name.
    pub token: String,
    /// When the guard tripped, while it holds the token's deprovisioning.
    pub tripped_at: Option<String>,
    /// Attempts held since the trip.
    pub held: u64,
    /// The first held attempt since the trip.
    pub first_held: Option<String>,
    /// The latest held attempt.
    pub last_held: Option<String>,
    /// The first few held users' ids (at most [`SAMPLE`]).
    pub sample: Vec<String>,
    /// Until when the token's deprovisioning passes uncounted (an administrator's release).
    pub released_until: Option<String>,
}

fn state_of(r: &super::sql::Row<'_>) -> super::sql::Result<State> {
    let sample: String = r.get(5)?;
    Ok(State {
        token: r.get(0)?,
        tripped_at: r.get(1)?,
        held: r.get::<_, i64>(2)?.try_into().unwrap_or(0),
        first_held: r.get(3)?,
        last_held: r.get(4)?,
        sample: serde_json::from_str(&sample).unwrap_or_default(),
        released_until: r.get(6)?,
    })
}

const COLUMNS: &str = "token, tripped_at, held, first_held, last_held, sample, released_until";

/// The state of `token`, if the guard ever tripped for it or was released for it.
pub fn state(c: &Connection, token: &str) -> Result<Option<State>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM guard_state WHERE token = ?1");
    Ok(c.prepare_cached(&sql)?.query_row([token], state_of).optional()?)
}

/// Every token's state, by name.
pub fn states(c: &Connection) -> Result<Vec<State>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM guard_state ORDER BY token");
    let rows = c.prepare(&sql)?.query_map([], state_of)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Forgets `token`'s counted deprovisionings before `since`, then counts the ones left.
pub fn window_count(c: &Connection, token: &str, since: &str) -> Result<u64, StoreError> {
    c.prepare_cached("DELETE FROM guard_recent WHERE token = ?1 AND at < ?2")?.execute(params![token, since])?;
    let n: i64 =
        c.prepare_cached("SELECT count(*) FROM guard_recent WHERE token = ?1")?.query_row([token], |r| r.get(0))?;
    Ok(n.try_into().unwrap_or(0))
}

/// Counted deprovisionings per token since `since` (without pruning: for reading).
pub fn window_counts(c: &Connection, since: &str) -> Result<Vec<(String, u64)>, StoreError> {
    let mut stmt =
        c.prepare("SELECT token, count(*) FROM guard_recent WHERE at >= ?1 GROUP BY token ORDER BY token")?;
    let rows = stmt
        .query_map([since], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.try_into().unwrap_or(0))))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Counts one deprovisioning of `user_id` by `token` at `at`.
pub fn count(c: &Connection, token: &str, user_id: &str, at: &str) -> Result<(), StoreError> {
    c.prepare_cached("INSERT INTO guard_recent (token, at, user_id) VALUES (?1, ?2, ?3)")?
        .execute(params![token, at, user_id])?;
    Ok(())
}

/// Trips the guard for `token` at `at`: from now on its deprovisioning is held (a release that
/// ran out is forgotten; the held tallies start again).
pub fn trip(c: &Connection, token: &str, at: &str) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO guard_state (token, tripped_at) VALUES (?1, ?2)
         ON CONFLICT (token) DO UPDATE SET tripped_at = ?2, held = 0, first_held = NULL, last_held = NULL,
                sample = '[]', released_until = NULL",
    )?
    .execute(params![token, at])?;
    Ok(())
}

/// Records one held attempt on `user_id` by `token` at `at` (the token's state row exists: the
/// guard tripped first).
pub fn hold(c: &Connection, token: &str, user_id: &str, at: &str) -> Result<(), StoreError> {
    let mut sample = state(c, token)?.map(|s| s.sample).unwrap_or_default();
    if sample.len() < SAMPLE && !sample.iter().any(|id| id == user_id) {
        sample.push(user_id.to_owned());
    }
    c.prepare_cached(
        "UPDATE guard_state SET held = held + 1, first_held = coalesce(first_held, ?2), last_held = ?2,
                sample = ?3 WHERE token = ?1",
    )?
    .execute(params![token, at, serde_json::to_string(&sample)?])?;
    Ok(())
}

/// Releases `token`'s deprovisioning until `until`: the trip and its tallies are cleared, and
/// so is its window (counting starts afresh once the release ends).
pub fn release(c: &Connection, token: &str, until: &str) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO guard_state (token, released_until) VALUES (?1, ?2)
         ON CONFLICT (token) DO UPDATE SET tripped_at = NULL, held = 0, first_held = NULL, last_held = NULL,
                sample = '[]', released_until = ?2",
    )?
    .execute(params![token, until])?;
    c.prepare_cached("DELETE FROM guard_recent WHERE token = ?1")?.execute([token])?;
    Ok(())
}

/// Whether a token of this name was ever issued (live, expired or revoked).
pub fn token_known(c: &Connection, token: &str) -> Result<bool, StoreError> {
    Ok(c.prepare_cached("SELECT 1 FROM tokens WHERE name = ?1 LIMIT 1")?.exists([token])?)
}

/// The number of active users (through the `users_active` index).
pub fn active_users(c: &Connection) -> Result<u64, StoreError> {
    let n: i64 = c.prepare_cached("SELECT count(*) FROM users WHERE active = 1")?.query_row([], |r| r.get(0))?;
    Ok(n.try_into().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let c = crate::db::migrate(&dir.path().join("g.db")).unwrap_or_else(|e| panic!("{e}"));
        (dir, c)
    }

    #[test]
    fn the_window_prunes_and_counts_per_token() {
        let (_dir, c) = conn();
        for (i, at) in
            ["2026-01-01T00:00:00.000Z", "2026-01-01T00:05:00.000Z", "2026-01-01T00:09:00.000Z"].iter().enumerate()
        {
            count(&c, "okta", &format!("u{i}"), at).expect("count");
        }
        count(&c, "entra", "x", "2026-01-01T00:09:00.000Z").expect("count");
        assert_eq!(window_count(&c, "okta", "2026-01-01T00:04:00.000Z").expect("n"), 2);
        assert_eq!(
            window_counts(&c, "2026-01-01T00:00:00.000Z").expect("all"),
            [("entra".into(), 1), ("okta".into(), 2)]
        );
    }

    #[test]
    fn holds_keep_a_sample_and_release_clears_the_trip_and_window() {
        let (_dir, c) = conn();
        count(&c, "okta", "a", "2026-01-01T00:00:00.000Z").expect("count");
        trip(&c, "okta", "2026-01-01T00:01:00.000Z").expect("trip");
        for i in 0..(SAMPLE + 3) {
            hold(&c, "okta", &format!("u{i}"), &format!("2026-01-01T00:02:{i:02}.000Z")).expect("hold");
        }
        let s = state(&c, "okta").expect("read").expect("state");
        assert_eq!((s.held, s.sample.len()), ((SAMPLE + 3) as u64, SAMPLE));
        assert_eq!(s.first_held.as_deref(), Some("2026-01-01T00:02:00.000Z"));
        assert_eq!(s.last_held.as_deref(), Some("2026-01-01T00:02:12.000Z"));
        release(&c, "okta", "2026-01-01T01:00:00.000Z").expect("release");
        let s = state(&c, "okta").expect("read").expect("state");
        assert_eq!((s.tripped_at, s.held, s.released_until.as_deref()), (None, 0, Some("2026-01-01T01:00:00.000Z")));
        assert_eq!(window_count(&c, "okta", "2000-01-01T00:00:00.000Z").expect("n"), 0);
    }
}
