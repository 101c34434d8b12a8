//! SQL for the compatibility report (see `migrations/V4__compat.sql`).

use super::sql::{Connection, Dialect, params};

use super::StoreError;

/// What a connection's clients did, added up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// The User-Agent or the quirk code.
    pub key: String,
    /// How many requests.
    pub count: i64,
    /// First seen.
    pub first_seen: String,
    /// Last seen.
    pub last_seen: String,
}

/// The most User-Agents listed one by one per connection; the requests of the others are added
/// up in one "other clients" tally ([`other_clients`]). An IdP uses one or two; a flood of
/// made-up ones (10,000 distinct User-Agents once made 10,008 rows and a 3.9 MB tokens page)
/// now costs at most this many rows, and the most frequent clients keep theirs.
pub const MAX_CLIENTS: usize = 50;
/// The `user_agent` of the "other clients" tally: a control character cannot be in a header
/// value that reaches the recorder, so no real client can collide with it.
pub const OTHER_CLIENTS: &str = "\u{1}other clients";

/// Adds `count` requests from `user_agent` seen between `first` and `last`.
pub fn add_client(c: &Connection, token: &str, user_agent: &str, t: &Tally) -> Result<(), StoreError> {
    c.prepare_cached(match c.dialect() {
        Dialect::Sqlite => {
            "INSERT INTO token_clients (token_name, user_agent, requests, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (token_name, user_agent) DO UPDATE SET requests = requests + excluded.requests,
                 last_seen = max(last_seen, excluded.last_seen)"
        }
        // PostgreSQL: target columns qualified (a bare name is ambiguous there), greatest().
        Dialect::Postgres => {
            "INSERT INTO token_clients AS t (token_name, user_agent, requests, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (token_name, user_agent) DO UPDATE SET requests = t.requests + excluded.requests,
                 last_seen = greatest(t.last_seen, excluded.last_seen)"
        }
    })?
    .execute(params![token, user_agent, t.count, t.first_seen, t.last_seen])?;
    Ok(())
}

/// Folds a connection's least used clients beyond [`MAX_CLIENTS`] (fewest requests, then least
/// recently seen) into its "other clients" tally; returns how many rows went.
pub fn cap_clients(c: &Connection, token: &str) -> Result<usize, StoreError> {
    let listed: i64 = c
        .prepare_cached("SELECT COUNT(*) FROM token_clients WHERE token_name = ?1 AND user_agent <> ?2")?
        .query_row(params![token, OTHER_CLIENTS], |r| r.get(0))?;
    if listed <= MAX_CLIENTS as i64 {
        return Ok(0);
    }
    let pg = c.dialect() == Dialect::Postgres;
    c.execute(
        if pg { "DROP TABLE IF EXISTS pg_temp.folded_clients" } else { "DROP TABLE IF EXISTS temp.folded_clients" },
        [],
    )?;
    c.execute(
        if pg {
            "CREATE TEMP TABLE folded_clients AS SELECT user_agent, requests, first_seen, last_seen FROM token_clients
             WHERE token_name = ?1 AND user_agent <> ?2 ORDER BY requests DESC, last_seen DESC LIMIT ALL OFFSET ?3"
        } else {
            "CREATE TEMP TABLE folded_clients AS SELECT user_agent, requests, first_seen, last_seen FROM token_clients
             WHERE token_name = ?1 AND user_agent <> ?2 ORDER BY requests DESC, last_seen DESC LIMIT -1 OFFSET ?3"
        },
        params![token, OTHER_CLIENTS, MAX_CLIENTS as i64],
    )?;
    c.execute(
        if pg {
            "INSERT INTO token_clients AS t (token_name, user_agent, requests, first_seen, last_seen)
             SELECT ?1, ?2, SUM(requests), MIN(first_seen), MAX(last_seen) FROM folded_clients WHERE true
             ON CONFLICT (token_name, user_agent) DO UPDATE SET requests = t.requests + excluded.requests,
                 first_seen = least(t.first_seen, excluded.first_seen), last_seen = greatest(t.last_seen, excluded.last_seen)"
        } else {
            "INSERT INTO token_clients (token_name, user_agent, requests, first_seen, last_seen)
             SELECT ?1, ?2, SUM(requests), MIN(first_seen), MAX(last_seen) FROM folded_clients WHERE true
             ON CONFLICT (token_name, user_agent) DO UPDATE SET requests = requests + excluded.requests,
                 first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)"
        },
        params![token, OTHER_CLIENTS],
    )?;
    let n = c.execute(
        "DELETE FROM token_clients WHERE token_name = ?1 AND user_agent IN (SELECT user_agent FROM folded_clients)",
        [token],
    )?;
    c.execute(if pg { "DROP TABLE pg_temp.folded_clients" } else { "DROP TABLE temp.folded_clients" }, [])?;
    Ok(n)
}

/// The "other clients" tally of a connection (see [`MAX_CLIENTS`]), if any were folded.
pub fn other_clients(c: &Connection, token: &str) -> Result<Option<Tally>, StoreError> {
    use super::sql::OptionalExtension;
    c.prepare_cached(
        "SELECT user_agent, requests, first_seen, last_seen FROM token_clients WHERE token_name = ?1 AND user_agent = ?2",
    )?
    .query_row(params![token, OTHER_CLIENTS], |r| {
        Ok(Tally { key: r.get(0)?, count: r.get(1)?, first_seen: r.get(2)?, last_seen: r.get(3)? })
    })
    .optional()
    .map_err(Into::into)
}

/// Adds `count` occurrences of a quirk.
pub fn add_quirk(c: &Connection, token: &str, quirk: &str, t: &Tally) -> Result<(), StoreError> {
    c.prepare_cached(match c.dialect() {
        Dialect::Sqlite => {
            "INSERT INTO token_quirks (token_name, quirk, count, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (token_name, quirk) DO UPDATE SET count = count + excluded.count,
                 last_seen = max(last_seen, excluded.last_seen)"
        }
        Dialect::Postgres => {
            "INSERT INTO token_quirks AS t (token_name, quirk, count, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (token_name, quirk) DO UPDATE SET count = t.count + excluded.count,
                 last_seen = greatest(t.last_seen, excluded.last_seen)"
        }
    })?
    .execute(params![token, quirk, t.count, t.first_seen, t.last_seen])?;
    Ok(())
}

fn tallies(c: &Connection, sql: &str, token: &str) -> Result<Vec<Tally>, StoreError> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map([token], |r| {
        Ok(Tally { key: r.get(0)?, count: r.get(1)?, first_seen: r.get(2)?, last_seen: r.get(3)? })
    })?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// The clients seen with a token, most recent first (at most [`MAX_CLIENTS`]; the rest are in
/// [`other_clients`]).
pub fn clients(c: &Connection, token: &str) -> Result<Vec<Tally>, StoreError> {
    let mut all = tallies(
        c,
        "SELECT user_agent, requests, first_seen, last_seen FROM token_clients WHERE token_name = ?1
         ORDER BY last_seen DESC LIMIT 1000",
        token,
    )?;
    all.retain(|t| t.key != OTHER_CLIENTS);
    Ok(all)
}

/// The quirks seen with a token, most frequent first.
pub fn quirks(c: &Connection, token: &str) -> Result<Vec<Tally>, StoreError> {
    tallies(
        c,
        "SELECT quirk, count, first_seen, last_seen FROM token_quirks WHERE token_name = ?1 ORDER BY count DESC, quirk",
        token,
    )
}
