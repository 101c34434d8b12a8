//! SQL for status-page administrators, their sessions and login attempts (see
//! `migrations/V6__admins.sql`). Passwords arrive here already hashed and session cookies as
//! SHA-256 hashes; the rules (throttling, lifetimes) are in
//! [`crate::service::admins`].

use super::sql::{Connection, OptionalExtension, params};

use super::StoreError;

/// An administrator as listed: never the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminInfo {
    /// The login name.
    pub name: String,
    /// When it was added.
    pub created: String,
    /// When it last logged in.
    pub last_login: Option<String>,
}

/// Adds an administrator; a name already taken (ignoring case) is a [`StoreError::Conflict`].
pub fn insert(c: &Connection, name: &str, hash: &str, now: &str) -> Result<(), StoreError> {
    let res = c.execute("INSERT INTO admins (name, hash, created) VALUES (?1, ?2, ?3)", params![name, hash, now]);
    match res {
        Err(super::sql::Error::Constraint(_)) => {
            Err(StoreError::Conflict(format!("an administrator named \"{name}\" already exists")))
        }
        other => other.map(drop).map_err(Into::into),
    }
}

/// Every administrator, by name.
pub fn list(c: &Connection) -> Result<Vec<AdminInfo>, StoreError> {
    let mut stmt = c.prepare("SELECT name, created, last_login FROM admins ORDER BY name")?;
    let rows = stmt.query_map([], |r| Ok(AdminInfo { name: r.get(0)?, created: r.get(1)?, last_login: r.get(2)? }))?;
    rows.collect::<Result<_, _>>().map_err(Into::into)
}

/// Removes an administrator and ends its sessions.
pub fn remove(c: &Connection, name: &str) -> Result<(), StoreError> {
    c.execute("DELETE FROM admin_sessions WHERE admin = ?1", [name])?;
    match c.execute("DELETE FROM admins WHERE name = ?1", [name])? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// The stored spelling of the name and the password hash of an administrator.
pub fn credentials(c: &Connection, name: &str) -> Result<Option<(String, String)>, StoreError> {
    c.prepare_cached("SELECT name, hash FROM admins WHERE name = ?1")?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(Into::into)
}

/// Records a login attempt (`name_key` lower-cased) and forgets attempts older than `forget`.
pub fn record_attempt(
    c: &Connection,
    name_key: &str,
    ip: &str,
    ok: bool,
    now: &str,
    forget: &str,
) -> Result<(), StoreError> {
    c.prepare_cached("INSERT INTO login_attempts (at, name, ip, ok) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![now, name_key, ip, ok])?;
    c.prepare_cached("DELETE FROM login_attempts WHERE at < ?1")?.execute([forget])?;
    Ok(())
}

/// A new session: the cookie's hash, its administrator, its CSRF token and its end; expired
/// sessions are deleted on the way.
pub fn open_session(
    c: &Connection,
    hash: &[u8],
    admin: &str,
    csrf: &str,
    now: &str,
    expires: &str,
) -> Result<(), StoreError> {
    c.prepare_cached("DELETE FROM admin_sessions WHERE expires <= ?1")?.execute([now])?;
    c.prepare_cached("INSERT INTO admin_sessions (hash, admin, csrf, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![hash, admin, csrf, now, expires])?;
    c.prepare_cached("UPDATE admins SET last_login = ?2 WHERE name = ?1")?.execute(params![admin, now])?;
    Ok(())
}

/// The administrator and CSRF token of the live session with this cookie hash.
pub fn find_session(c: &Connection, hash: &[u8], now: &str) -> Result<Option<(String, String)>, StoreError> {
    c.prepare_cached("SELECT admin, csrf FROM admin_sessions WHERE hash = ?1 AND expires > ?2")?
        .query_row(params![hash, now], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(Into::into)
}

/// Ends the session whose CSRF token this is.
pub fn close_session(c: &Connection, csrf: &str) -> Result<(), StoreError> {
    c.prepare_cached("DELETE FROM admin_sessions WHERE csrf = ?1")?.execute([csrf])?;
    Ok(())
}
