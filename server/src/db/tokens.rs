//! SQL for bearer tokens. Only hashes are stored; see [`crate::auth`] for the secrets themselves.
//!
//! On PostgreSQL every write that can make a token stop (or start) working (create, revoke,
//! rotate) also sends a notification on [`super::pg_listen::TOKENS`], delivered when its
//! transaction commits to every instance listening, whose token caches then ask the database
//! again ([`Changes`]).

use super::sql::{Connection, Dialect, OptionalExtension, params};
use tokio::sync::watch;

use super::StoreError;

/// Tells the token checks of this process that a token changed somewhere (on PostgreSQL, by any
/// instance or CLI on the database: [`super::pg_listen`]); on SQLite it never changes. The
/// number only counts: a receiver compares it with the one its cached checks were made under.
#[derive(Debug)]
pub struct Changes(watch::Sender<u64>);

impl Default for Changes {
    fn default() -> Self {
        Self(watch::channel(0).0)
    }
}

impl Changes {
    /// A token may have changed: what was checked before this is to be checked again.
    pub(super) fn bump(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver of the count.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// On PostgreSQL, queues the notification of a token change, sent when the write commits (and
/// not at all if it rolls back).
fn changed(conn: &Connection) -> Result<(), StoreError> {
    if conn.dialect() == Dialect::Postgres {
        conn.execute(super::pg_listen::NOTIFY_TOKENS, [])?;
    }
    Ok(())
}

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
    /// When the current secret was issued by a rotation, if it was.
    pub rotated: Option<String>,
    /// Until when the secret the last rotation replaced is accepted, if there was one.
    pub previous_expires: Option<String>,
    /// `scim` (an IdP) or `app` (an application: reads and the change feed).
    pub scope: String,
}

/// Stores a new token's hash under `name`; refuses a name that a live token already has.
pub fn insert(
    conn: &Connection,
    name: &str,
    hash: &[u8],
    created: &str,
    expires: Option<&str>,
) -> Result<(), StoreError> {
    insert_scoped(conn, name, hash, created, expires, "scim")
}

/// [`insert`] with a scope (`scim` or `app`).
pub fn insert_scoped(
    conn: &Connection,
    name: &str,
    hash: &[u8],
    created: &str,
    expires: Option<&str>,
    scope: &str,
) -> Result<(), StoreError> {
    let res = conn.execute(
        "INSERT INTO tokens (name, hash, created, expires, scope) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, hash, created, expires, scope],
    );
    match res {
        Err(super::sql::Error::Constraint(_)) => Err(StoreError::Conflict(format!(
            "a token named \"{name}\" already exists; revoke it first or choose another name"
        ))),
        Err(e) => Err(e.into()),
        Ok(_) => changed(conn),
    }
}

/// Every token, newest first.
pub fn list(conn: &Connection) -> Result<Vec<TokenInfo>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT name, created, expires, revoked, last_used, rotated, previous_expires, scope FROM tokens
         ORDER BY seq DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(TokenInfo {
            name: r.get(0)?,
            created: r.get(1)?,
            expires: r.get(2)?,
            revoked: r.get(3)?,
            last_used: r.get(4)?,
            rotated: r.get(5)?,
            previous_expires: r.get(6)?,
            scope: r.get(7)?,
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
    changed(conn)
}

/// The name of the live token whose current secret (unexpired) or previous secret (within its
/// rotation overlap) has this hash, the stored hash that matched, and the token's scope.
pub fn find_live(conn: &Connection, hash: &[u8], now: &str) -> Result<Option<(String, Vec<u8>, String)>, StoreError> {
    conn.query_row(
        "SELECT name, hash, scope FROM tokens
         WHERE hash = ?1 AND revoked IS NULL AND (expires IS NULL OR expires > ?2)
         UNION ALL
         SELECT name, previous_hash, scope FROM tokens
         WHERE previous_hash = ?1 AND revoked IS NULL AND previous_expires > ?2
         LIMIT 1",
        params![hash, now],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
    .map_err(Into::into)
}

/// The token row a rotation starts from: the live (unrevoked) token called `name`.
#[derive(Debug, Clone)]
pub struct Current {
    /// When its current secret was issued: the rotation that made it, or its creation.
    pub issued: String,
    /// When its current secret stops working, if ever.
    pub expires: Option<String>,
    /// Until when the secret before it is accepted, if a rotation left one.
    pub previous_expires: Option<String>,
}

/// The live token called `name`, or `None`.
pub fn current(conn: &Connection, name: &str) -> Result<Option<Current>, StoreError> {
    conn.query_row(
        "SELECT coalesce(rotated, created), expires, previous_expires FROM tokens
         WHERE name = ?1 AND revoked IS NULL",
        params![name],
        |r| Ok(Current { issued: r.get(0)?, expires: r.get(1)?, previous_expires: r.get(2)? }),
    )
    .optional()
    .map_err(Into::into)
}

/// When the latest revoked token called `name` was revoked, if one ever was (to tell a revoked
/// name from an unknown one).
pub fn last_revoked(conn: &Connection, name: &str) -> Result<Option<String>, StoreError> {
    conn.query_row("SELECT max(revoked) FROM tokens WHERE name = ?1", params![name], |r| r.get(0)).map_err(Into::into)
}

/// What a rotation stores: the new secret's hash and expiry, and until when the old one stays
/// accepted.
#[derive(Debug, Clone)]
pub struct Rotation<'a> {
    /// The new secret's hash.
    pub hash: &'a [u8],
    /// When the new secret stops working, if ever.
    pub expires: Option<&'a str>,
    /// Until when the replaced secret is still accepted.
    pub previous_expires: &'a str,
    /// When the rotation happened.
    pub at: &'a str,
}

/// Rotates the live token called `name`: its current secret becomes the previous one (dropping
/// any older previous secret) and `r.hash` the current one. `NotFound` if there is no live token
/// of that name.
pub fn rotate(conn: &Connection, name: &str, r: &Rotation<'_>) -> Result<(), StoreError> {
    let n = conn.execute(
        "UPDATE tokens SET previous_hash = hash, previous_expires = ?3, hash = ?2, expires = ?4, rotated = ?5
         WHERE name = ?1 AND revoked IS NULL",
        params![name, r.hash, r.previous_expires, r.expires, r.at],
    )?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    changed(conn)
}

/// Records that the token called `name` was used at `now`.
pub fn touch(conn: &Connection, name: &str, now: &str) -> Result<(), StoreError> {
    conn.execute("UPDATE tokens SET last_used = ?2 WHERE name = ?1 AND revoked IS NULL", params![name, now])?;
    Ok(())
}
