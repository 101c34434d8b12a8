//! SQL for webhook endpoints and their delivery state (`migrations/V12__webhooks.sql`).
//!
//! Storage never reads the clock: every time stored here is handed in by the service. The
//! cursor moves only through [`delivered`] and [`passed`], which hold only while the endpoint's
//! `generation` is the one the delivery started from, so a `webhook replay` made while an
//! attempt was in flight is not undone by that attempt's success.

use super::sql::{Connection, OptionalExtension, params};

use super::StoreError;

/// An endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its identity (a name removed and added again gets a new one).
    pub id: i64,
    /// The name it was added with.
    pub name: String,
    /// Where events are POSTed.
    pub url: String,
    /// `whsec_...`.
    pub secret: String,
    /// Comma-separated type patterns; `None`: every type.
    pub types: Option<String>,
    /// When it was added.
    pub created_at: String,
    /// The seq delivered (or passed over) through.
    pub cursor: i64,
    /// Bumped by each replay.
    pub generation: i64,
    /// Failed attempts at the next event.
    pub attempts: i64,
    /// When the next attempt is due (`None`: now).
    pub next_attempt_at: Option<String>,
    /// The last failure's text.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<String>,
    /// When an event was last delivered.
    pub last_delivered_at: Option<String>,
}

const COLS: &str = "id, name, url, secret, types, created_at, cursor, generation, attempts, next_attempt_at, \
                    last_error, last_error_at, last_delivered_at";

fn read(r: &super::sql::Row<'_>) -> super::sql::Result<Webhook> {
    Ok(Webhook {
        id: r.get(0)?,
        name: r.get(1)?,
        url: r.get(2)?,
        secret: r.get(3)?,
        types: r.get(4)?,
        created_at: r.get(5)?,
        cursor: r.get(6)?,
        generation: r.get(7)?,
        attempts: r.get(8)?,
        next_attempt_at: r.get(9)?,
        last_error: r.get(10)?,
        last_error_at: r.get(11)?,
        last_delivered_at: r.get(12)?,
    })
}

/// Adds an endpoint whose delivery starts after the newest event recorded so far; `Conflict`
/// when the name is taken.
pub fn insert(
    c: &Connection,
    name: &str,
    url: &str,
    secret: &str,
    types: Option<&str>,
    now: &str,
) -> Result<Webhook, StoreError> {
    let newest = super::events::newest(c)?;
    let added = c
        .prepare_cached(
            "INSERT INTO webhooks (name, url, secret, types, created_at, cursor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (name) DO NOTHING",
        )?
        .execute(params![name, url, secret, types, now, newest])?;
    if added == 0 {
        return Err(StoreError::Conflict(format!("a webhook named \"{name}\" already exists")));
    }
    by_name(c, name)?.ok_or(StoreError::NotFound)
}

/// Every endpoint, by name.
pub fn list(c: &Connection) -> Result<Vec<Webhook>, StoreError> {
    let mut stmt = c.prepare_cached(&format!("SELECT {COLS} FROM webhooks ORDER BY name"))?;
    let rows = stmt.query_map([], read)?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// The endpoint called `name`.
pub fn by_name(c: &Connection, name: &str) -> Result<Option<Webhook>, StoreError> {
    let mut stmt = c.prepare_cached(&format!("SELECT {COLS} FROM webhooks WHERE name = ?1"))?;
    Ok(stmt.query_row([name], read).optional()?)
}

/// The endpoint with this identity, if it is still there.
pub fn by_id(c: &Connection, id: i64) -> Result<Option<Webhook>, StoreError> {
    let mut stmt = c.prepare_cached(&format!("SELECT {COLS} FROM webhooks WHERE id = ?1"))?;
    Ok(stmt.query_row([id], read).optional()?)
}

/// Removes the endpoint called `name`; `NotFound` when there is none.
pub fn remove(c: &Connection, name: &str) -> Result<(), StoreError> {
    match c.prepare_cached("DELETE FROM webhooks WHERE name = ?1")?.execute([name])? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Puts the cursor of `name` just before `from` (delivery resumes with the first event at or
/// after it), clears the failure state and bumps the generation; `NotFound` when there is none.
pub fn replay(c: &Connection, name: &str, from: i64) -> Result<(), StoreError> {
    let n = c
        .prepare_cached(
            "UPDATE webhooks SET cursor = ?2, generation = generation + 1, attempts = 0, next_attempt_at = NULL
             WHERE name = ?1",
        )?
        .execute(params![name, from.saturating_sub(1).max(0)])?;
    if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// Records the delivery of event `seq` (a 2xx) by endpoint `id` at generation `generation`;
/// `false` when a replay or removal came in between (nothing changed).
pub fn delivered(c: &Connection, id: i64, generation: i64, seq: i64, now: &str) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached(match c.dialect() {
            super::sql::Dialect::Sqlite => {
                "UPDATE webhooks SET cursor = max(cursor, ?3), attempts = 0, next_attempt_at = NULL,
                        last_delivered_at = ?4
                 WHERE id = ?1 AND generation = ?2"
            }
            super::sql::Dialect::Postgres => {
                "UPDATE webhooks SET cursor = greatest(cursor, ?3), attempts = 0, next_attempt_at = NULL,
                        last_delivered_at = ?4
                 WHERE id = ?1 AND generation = ?2"
            }
        })?
        .execute(params![id, generation, seq, now])?;
    Ok(n > 0)
}

/// Moves the cursor of `id` over events its types filter leaves out, through `seq`.
pub fn passed(c: &Connection, id: i64, generation: i64, seq: i64) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached(match c.dialect() {
            super::sql::Dialect::Sqlite => {
                "UPDATE webhooks SET cursor = max(cursor, ?3) WHERE id = ?1 AND generation = ?2"
            }
            super::sql::Dialect::Postgres => {
                "UPDATE webhooks SET cursor = greatest(cursor, ?3) WHERE id = ?1 AND generation = ?2"
            }
        })?
        .execute(params![id, generation, seq])?;
    Ok(n > 0)
}

/// Records a failed attempt: one more attempt, the next at `next_at`, the error and its time.
pub fn failed(
    c: &Connection,
    id: i64,
    generation: i64,
    next_at: &str,
    error: &str,
    now: &str,
) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached(
            "UPDATE webhooks SET attempts = attempts + 1, next_attempt_at = ?3, last_error = ?4, last_error_at = ?5
             WHERE id = ?1 AND generation = ?2",
        )?
        .execute(params![id, generation, next_at, error, now])?;
    Ok(n > 0)
}

/// How many events after `cursor` there are, per type (for an endpoint's lag).
pub fn behind(c: &Connection, cursor: i64) -> Result<Vec<(String, u64)>, StoreError> {
    let mut stmt = c.prepare_cached("SELECT type, count(*) FROM events WHERE seq > ?1 GROUP BY type")?;
    let rows = stmt.query_map([cursor], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (t, n) = row?;
        out.push((t, u64::try_from(n).unwrap_or(0)));
    }
    Ok(out)
}
