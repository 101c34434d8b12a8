//! Status-page administrators and their sessions: adding (with the password rules), listing and
//! removing administrators, logging in (throttled, argon2 on its own pool), logging out,
//! finding the session of a cookie, and checking a form's CSRF token. No axum here: the
//! extractor, the cookie headers and the login redirect are in `http::ui::session`.
//!
//! - Passwords are hashed with argon2id (the `argon2` crate's default parameters), at least
//!   [`MIN_PASSWORD`] characters.
//! - A login opens a session of [`SESSION_TTL`]: its cookie value is 256 random bits, of which
//!   only the SHA-256 is stored, next to the session's CSRF token.
//! - Failed logins are throttled per (name, client address) by
//!   [`crate::throttle::LoginThrottle`]: [`crate::throttle::FREE_FAILURES`] free, then each
//!   further attempt of that pair waits 1 s, 2 s, 4 s... (at most
//!   [`crate::throttle::MAX_DELAY`]). Nothing is locked per name or per address alone, so
//!   someone else's failures never keep an admin out; guessing from many addresses is bounded
//!   by the password checker's pool (one or two threads, a short queue, [`LoginError::Busy`]
//!   beyond it).

use std::sync::OnceLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Error, Result};
use crate::clock;
use crate::db::{Db, StoreError, admins};
use crate::throttle::Guards;

/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// The longest login name accepted, in bytes; longer ones are refused before any hashing or
/// storing (issue 11, problem 7).
pub const MAX_NAME_BYTES: usize = 256;
/// How long a login waits for the password checker before giving up (answered as busy).
const PASSWORD_CHECK_WAIT: Duration = Duration::from_secs(10);
/// The shortest password an administrator may have, in characters.
pub const MIN_PASSWORD: usize = 12;
/// How long login attempts are kept.
pub const ATTEMPTS_KEPT: Duration = Duration::from_secs(86_400);

/// A logged-in administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    /// The administrator's name.
    pub admin: String,
    /// The token every form of this session must carry (see [`check_csrf`]).
    pub csrf: String,
}

/// Why a login was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown name or wrong password (deliberately not told apart).
    #[error("wrong name or password")]
    Invalid,
    /// Too many failures for this name from this address: wait this many seconds.
    #[error("too many failed logins for this name from this address; try again in {seconds} second(s)")]
    Throttled {
        /// Seconds until the next attempt is accepted (at least 1).
        seconds: u64,
    },
    /// The name is longer than [`MAX_NAME_BYTES`]; nothing was checked or stored.
    #[error("the name is longer than {MAX_NAME_BYTES} bytes; no administrator has such a name")]
    NameTooLong,
    /// The password checker's queue is full: try again in a second.
    #[error("too many logins are being checked right now; try again in a second")]
    Busy,
    /// Storage failed.
    #[error("the login could not be checked: {0}")]
    Failed(#[from] Error),
}

impl From<StoreError> for LoginError {
    fn from(e: StoreError) -> Self {
        Self::Failed(e.into())
    }
}

/// Hashes a password for storage (argon2id, default parameters, random salt): a PHC string.
pub fn hash_password(password: &str) -> Result<String> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| Error::Internal(format!("a password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
}

/// Whether `password` matches a stored hash (a malformed hash matches nothing).
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the name is unknown, so both cases take the same time.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("scimbox decoy password").unwrap_or_default())
}

/// `Invalid` if `password` is not acceptable for a new administrator (too short).
pub fn check_new_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(Error::invalid(format!("the password has {n} characters; use at least {MIN_PASSWORD}")));
    }
    Ok(())
}

/// Checks a new administrator's name: trimmed, not empty, no control characters, at most
/// [`MAX_NAME_BYTES`] bytes (a longer one could never log in). Returns it trimmed.
pub fn check_name(raw: &str) -> Result<&str> {
    let name = raw.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(Error::invalid("the name must not be empty or contain control characters"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Error::invalid(format!("the name is longer than {MAX_NAME_BYTES} bytes")));
    }
    Ok(name)
}

/// An administrator as listed: never the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// The login name.
    pub name: String,
    /// When it was added (a stored stamp).
    pub created: String,
    /// When it last logged in.
    pub last_login: Option<String>,
}

/// Adds an administrator after checking the name and the password ([`check_name`],
/// [`check_new_password`]); the argon2 hash is computed on the blocking pool. Returns the name
/// as stored. `Conflict` if the name is taken, ignoring case.
pub async fn add(db: &Db, name: &str, password: &str) -> Result<String> {
    let name = check_name(name)?.to_owned();
    check_new_password(password)?;
    let pw = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|e| Error::Internal(format!("hashing the password: {e}")))??;
    let (key, now) = (name.clone(), clock::now_stamp());
    db.write(move |c| admins::insert(c, &key, &hash, &now)).await?;
    Ok(name)
}

/// Every administrator, by name.
pub async fn list(db: &Db) -> Result<Vec<Admin>> {
    let listed = db.read(admins::list).await?;
    Ok(listed.into_iter().map(|a| Admin { name: a.name, created: a.created, last_login: a.last_login }).collect())
}

/// Removes an administrator and ends its sessions. `NotFound` if there is none of that name.
pub async fn remove(db: &Db, name: &str) -> Result<()> {
    let key = name.trim().to_owned();
    db.write(move |c| admins::remove(c, &key)).await.map_err(|e| match e {
        StoreError::NotFound => Error::NotFound(format!("no administrator named \"{}\"", name.trim())),
        other => other.into(),
    })
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn cookie_hash(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// Logs `name` in from `client_ip`: the new session's cookie value and the session.
///
/// In order, so that nothing an attacker sends costs more than it must: a name over
/// [`MAX_NAME_BYTES`] is refused before anything else; the attempt is then reserved with the
/// (name, address) throttle ([`crate::throttle::LoginThrottle`]) *before* the password is
/// checked, so concurrent guesses cannot overtake the count; the argon2 check runs on its own
/// small pool (`guards.passwords`), never on the blocking pool the SCIM reads use, and a full
/// pool answers [`LoginError::Busy`] at once. Failed and successful attempts are also recorded
/// in the database (kept [`ATTEMPTS_KEPT`]).
pub async fn login(
    db: &Db,
    guards: &Guards,
    name: &str,
    password: &str,
    client_ip: &str,
) -> Result<(String, AdminSession), LoginError> {
    if name.len() > MAX_NAME_BYTES {
        return Err(LoginError::NameTooLong);
    }
    let (name, key, ip) = (name.trim().to_owned(), name.trim().to_lowercase(), client_ip.to_owned());
    let attempt = guards
        .logins
        .reserve(&key, &ip)
        .map_err(|wait| LoginError::Throttled { seconds: wait.as_secs_f64().ceil().max(1.0) as u64 })?;
    let lookup = name.clone();
    let found = db.read(move |c| admins::credentials(c, &lookup)).await?;
    let (hash, pw) = (found.as_ref().map(|f| f.1.clone()), password.to_owned());
    let deadline = std::time::Instant::now() + PASSWORD_CHECK_WAIT;
    let check = move || verify_password(hash.as_deref().unwrap_or_else(|| decoy_hash()), &pw);
    let matches = guards.passwords.run(deadline, check).await.map_err(|_| LoginError::Busy)?;
    let admin = found.filter(|_| matches).map(|f| f.0);
    let now = clock::now();
    let (stamp, forget) = (crate::stamp::timestamp(now), crate::stamp::timestamp(now - ATTEMPTS_KEPT));
    let Some(admin) = admin else {
        attempt.failed();
        db.write(move |c| admins::record_attempt(c, &key, &ip, false, &stamp, &forget)).await?;
        return Err(LoginError::Invalid);
    };
    attempt.succeeded();
    let (cookie, csrf) = (random_token(), random_token());
    let (hash, who, token, expires) =
        (cookie_hash(&cookie), admin.clone(), csrf.clone(), crate::stamp::timestamp(now + SESSION_TTL));
    db.write(move |c| {
        admins::record_attempt(c, &key, &ip, true, &stamp, &forget)?;
        admins::open_session(c, &hash, &who, &token, &stamp, &expires)
    })
    .await?;
    Ok((cookie, AdminSession { admin, csrf }))
}

/// Ends the session (errors are logged: the caller clears the cookie either way).
pub async fn logout(db: &Db, session: &AdminSession) {
    let csrf = session.csrf.clone();
    if let Err(e) = db.write(move |c| admins::close_session(c, &csrf)).await {
        tracing::warn!(error = %e, "could not end an admin session");
    }
}

/// The session a cookie value opens, if it is live.
pub async fn session_for(db: &Db, cookie: &str) -> Result<Option<AdminSession>> {
    let (hash, now) = (cookie_hash(cookie), clock::now_stamp());
    let found = db.read(move |c| admins::find_session(c, &hash, &now)).await?;
    Ok(found.map(|(admin, csrf)| AdminSession { admin, csrf }))
}

/// Whether a form's CSRF token is the session's (compared in constant time).
pub fn check_csrf(session: &AdminSession, form_token: &str) -> bool {
    !form_token.is_empty() && bool::from(session.csrf.as_bytes().ct_eq(form_token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_round_trip() {
        let h = hash_password("correct horse battery").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "wrong"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn csrf_and_new_passwords() {
        let s = AdminSession { admin: "a".into(), csrf: "tok".into() };
        assert!(check_csrf(&s, "tok") && !check_csrf(&s, "tok2") && !check_csrf(&s, ""));
        assert!(check_new_password("short").is_err() && check_new_password("twelve chars").is_ok());
        assert_eq!(check_new_password("short").map_err(|e| e.exit_code()), Err(65));
    }

    #[test]
    fn names() {
        assert_eq!(check_name("  alice "), Ok("alice"));
        for bad in ["", "  ", "al\u{7}ice", "a\nb", &"a".repeat(MAX_NAME_BYTES + 1)] {
            assert!(matches!(check_name(bad), Err(Error::Invalid(_))), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn add_list_remove_login_logout() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(&dir.path().join("a.db")).expect("open");
        assert!(matches!(add(&db, "bob", "short").await, Err(Error::Invalid(_))));
        assert!(matches!(add(&db, "b\u{0}b", "correct horse battery").await, Err(Error::Invalid(_))));
        assert_eq!(add(&db, " bob ", "correct horse battery").await, Ok("bob".into()));
        let taken = add(&db, "BOB", "correct horse battery").await.unwrap_err();
        assert!(matches!(&taken, Error::Conflict(m) if m.contains("already exists")), "{taken:?}");
        let names: Vec<String> = list(&db).await.expect("list").into_iter().map(|a| a.name).collect();
        assert_eq!(names, ["bob"]);

        let guards = Guards::default();
        let (cookie, s) = login(&db, &guards, "Bob", "correct horse battery", "10.0.0.1").await.expect("login");
        assert_eq!(s.admin, "bob", "the stored spelling");
        assert_eq!(session_for(&db, &cookie).await, Ok(Some(s.clone())));
        assert!(matches!(login(&db, &guards, "bob", "wrong", "10.0.0.1").await, Err(LoginError::Invalid)));
        logout(&db, &s).await;
        assert_eq!(session_for(&db, &cookie).await, Ok(None), "logged out");

        remove(&db, "bob").await.expect("remove");
        assert_eq!(remove(&db, "bob").await, Err(Error::NotFound("no administrator named \"bob\"".into())));
        assert!(list(&db).await.expect("list").is_empty());
    }
}
