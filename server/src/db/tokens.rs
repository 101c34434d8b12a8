//! SQL for bearer tokens. Only hashes are stored; see [`crate::auth`] for the secrets themselves.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

/// A token as listed: never its secret.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenInfo {
    /// The connection name it was issued under.
    pub name: String,
    /// When it was created.
    pub created: String,
    /// When it stops working, if ever.
    pub expires: Option<String>,
    /// When it was revoked, if it was.
    pub revoked: Option<String>,
    /// When a request last used it (updated at most once a minute).
    pub last_used: Option<String>,
}

/// Stores a new token's hash under `name`; refuses a name that a live token already has.
pub fn insert(
    conn: &Connection,
    name: &str,
    hash: &[u8],
    created: &str,
    expires: Option<&str>,
) -> Result<(), StoreError> {
    let res = conn.execute(
        "INSERT INTO tokens (name, hash, created, expires) VALUES (?1, ?2, ?3, ?4)",
        params![name, hash, created, expires],
    );
    match res {
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
            Err(StoreError::Conflict(format!(
                "a token named \"{name}\" already exists; revoke it first or choose another name"
            )))
        }
        other => other.map(|_| ()).map_err(Into::into),
    }
}

/// Every token, newest first.
pub fn list(conn: &Connection) -> Result<Vec<TokenInfo>, StoreError> {
    let mut stmt = conn.prepare("SELECT name, created, expires, revoked, last_used FROM tokens ORDER BY seq DESC")?;
    let rows = stmt.query_map([], |r| {
        Ok(TokenInfo {
            name: r.get(0)?,
            created: r.get(1)?,
            expires: r.get(2)?,
            revoked: r.get(3)?,
            last_used: r.get(4)?,
        })
    })?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// Revokes the live token called `name`.
pub fn revoke(conn: &Connection, name: &str, now: &str) -> Result<(), StoreError> {
    let n = conn.execute("UPDATE tokens SET revoked = ?2 WHERE name = ?1 AND revoked IS NULL", params![name, now])?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// The name of the live, unexpired token with this hash, and its stored hash.
pub fn find_live(conn: &Connection, hash: &[u8], now: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    conn.query_row(
        "SELECT name, hash FROM tokens
         WHERE hash = ?1 AND revoked IS NULL AND (expires IS NULL OR expires > ?2)",
        params![hash, now],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(Into::into)
}

/// Records that the token called `name` was used at `now`.
pub fn touch(conn: &Connection, name: &str, now: &str) -> Result<(), StoreError> {
    conn.execute("UPDATE tokens SET last_used = ?2 WHERE name = ?1 AND revoked IS NULL", params![name, now])?;
    Ok(())
}
