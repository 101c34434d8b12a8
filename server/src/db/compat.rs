//! SQL for the compatibility report (see `migrations/V4__compat.sql`).

use rusqlite::{Connection, params};

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

/// Adds `count` requests from `user_agent` seen between `first` and `last`.
pub fn add_client(c: &Connection, token: &str, user_agent: &str, t: &Tally) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO token_clients (token_name, user_agent, requests, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (token_name, user_agent) DO UPDATE SET requests = requests + excluded.requests,
             last_seen = max(last_seen, excluded.last_seen)",
    )?
    .execute(params![token, user_agent, t.count, t.first_seen, t.last_seen])?;
    Ok(())
}

/// Adds `count` occurrences of a quirk.
pub fn add_quirk(c: &Connection, token: &str, quirk: &str, t: &Tally) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO token_quirks (token_name, quirk, count, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (token_name, quirk) DO UPDATE SET count = count + excluded.count,
             last_seen = max(last_seen, excluded.last_seen)",
    )?
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

/// The clients seen with a token, most recent first.
pub fn clients(c: &Connection, token: &str) -> Result<Vec<Tally>, StoreError> {
    tallies(
        c,
        "SELECT user_agent, requests, first_seen, last_seen FROM token_clients WHERE token_name = ?1 ORDER BY last_seen DESC",
        token,
    )
}

/// The quirks seen with a token, most frequent first.
pub fn quirks(c: &Connection, token: &str) -> Result<Vec<Tally>, StoreError> {
    tallies(
        c,
        "SELECT quirk, count, first_seen, last_seen FROM token_quirks WHERE token_name = ?1 ORDER BY count DESC, quirk",
        token,
    )
}
