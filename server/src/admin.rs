//! Status-page administrators: password hashing, login with throttling, sessions, CSRF and the
//! [`AdminSession`] extractor. The pages themselves (and the login form) are in `http::ui`.
//!
//! - Passwords are hashed with argon2id (the `argon2` crate's default parameters), added with
//!   `scimbox admin add` (at least [`MIN_PASSWORD`] characters).
//! - A login opens a session of [`SESSION_TTL`]: the cookie [`COOKIE`] carries 256 random bits,
//!   of which only the SHA-256 is stored, next to the session's CSRF token. The cookie is
//!   `HttpOnly; SameSite=Strict; Path=/`, plus `Secure` when the request came over TLS.
//!   "Over TLS" is decided by [`crate::http::extract::Forwarded`]: `--public-url https://...`,
//!   or `X-Forwarded-Proto: https` from a trusted proxy only.
//! - Failed logins are throttled per (name, client address) by
//!   [`crate::throttle::LoginThrottle`]: [`crate::throttle::FREE_FAILURES`] free, then each
//!   further attempt of that pair waits 1 s, 2 s, 4 s... (at most
//!   [`crate::throttle::MAX_DELAY`]). Nothing is locked per name or per address alone, so
//!   someone else's failures never keep an admin out; guessing from many addresses is bounded
//!   by the password checker's pool (one or two threads, a short queue, 429 beyond it).

use std::sync::OnceLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock;
use crate::config::Config;
use crate::db::{self, StoreError, admins};
use crate::http::AppState;
use crate::http::extract::Forwarded;

/// The session cookie's name.
pub const COOKIE: &str = "scimbox_session";
/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// The longest login name accepted, in bytes; longer ones are refused before any hashing or
/// storing (issue 11, problem 7).
pub const MAX_NAME_BYTES: usize = 256;
/// How long a login waits for the password checker before giving up (answered as busy).
const PASSWORD_CHECK_WAIT: Duration = Duration::from_secs(10);
/// The shortest password `scimbox admin add` accepts, in characters.
pub const MIN_PASSWORD: usize = 12;
/// How long login attempts are kept.
const ATTEMPTS_KEPT: Duration = Duration::from_secs(86_400);

/// A logged-in administrator, as pages see it.
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
    /// The database failed.
    #[error("the login could not be checked: {0}")]
    Store(#[from] StoreError),
}

/// Hashes a password for storage (argon2id, default parameters, random salt): a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| e.to_string())?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
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

/// Why a password is not acceptable for a new administrator, if it is not.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(format!("the password has {n} characters; use at least {MIN_PASSWORD}"));
    }
    Ok(())
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn cookie_hash(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// Logs `name` in from `client_ip`: the new session's cookie value (for [`set_cookie`]) and the
/// session.
///
/// In order, so that nothing an attacker sends costs more than it must: a name over
/// [`MAX_NAME_BYTES`] is refused before anything else; the attempt is then reserved with the
/// (name, address) throttle ([`crate::throttle::LoginThrottle`]) *before* the password is
/// checked, so concurrent guesses cannot overtake the count; the argon2 check runs on its own
/// small pool (`AppState::guards`), never on the blocking pool the SCIM reads use, and a full
/// pool answers [`LoginError::Busy`] at once. Failed and successful attempts are also recorded
/// in the database (kept a day).
pub async fn login(
    state: &AppState,
    name: &str,
    password: &str,
    client_ip: &str,
) -> Result<(String, AdminSession), LoginError> {
    if name.len() > MAX_NAME_BYTES {
        return Err(LoginError::NameTooLong);
    }
    let (name, key, ip) = (name.trim().to_owned(), name.trim().to_lowercase(), client_ip.to_owned());
    let attempt = state
        .guards
        .logins
        .reserve(&key, &ip)
        .map_err(|wait| LoginError::Throttled { seconds: wait.as_secs_f64().ceil().max(1.0) as u64 })?;
    let lookup = name.clone();
    let found = state.db.read(move |c| admins::credentials(c, &lookup)).await?;
    let (hash, pw) = (found.as_ref().map(|f| f.1.clone()), password.to_owned());
    let deadline = std::time::Instant::now() + PASSWORD_CHECK_WAIT;
    let check = move || verify_password(hash.as_deref().unwrap_or_else(|| decoy_hash()), &pw);
    let matches = state.guards.passwords.run(deadline, check).await.map_err(|_| LoginError::Busy)?;
    let admin = found.filter(|_| matches).map(|f| f.0);
    let now = clock::now();
    let (stamp, forget) = (db::timestamp(now), db::timestamp(now - ATTEMPTS_KEPT));
    let Some(admin) = admin else {
        attempt.failed();
        state.db.write(move |c| admins::record_attempt(c, &key, &ip, false, &stamp, &forget)).await?;
        return Err(LoginError::Invalid);
    };
    attempt.succeeded();
    let (cookie, csrf) = (random_token(), random_token());
    let (hash, who, token, expires) =
        (cookie_hash(&cookie), admin.clone(), csrf.clone(), db::timestamp(now + SESSION_TTL));
    state
        .db
        .write(move |c| {
            admins::record_attempt(c, &key, &ip, true, &stamp, &forget)?;
            admins::open_session(c, &hash, &who, &token, &stamp, &expires)
        })
        .await?;
    Ok((cookie, AdminSession { admin, csrf }))
}

/// Ends the session (errors are logged: the cookie is cleared either way).
pub async fn logout(state: &AppState, session: &AdminSession) {
    let csrf = session.csrf.clone();
    if let Err(e) = state.db.write(move |c| admins::close_session(c, &csrf)).await {
        tracing::warn!(error = %e, "could not end an admin session");
    }
}

/// Whether a form's CSRF token is the session's (compared in constant time).
pub fn check_csrf(session: &AdminSession, form_token: &str) -> bool {
    !form_token.is_empty() && bool::from(session.csrf.as_bytes().ct_eq(form_token.as_bytes()))
}

/// The `Set-Cookie` value that opens a session.
pub fn set_cookie(value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}", SESSION_TTL.as_secs())
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
}

/// Whether the request came over TLS (see [`Forwarded`]: `--public-url https://...`, or a
/// trusted proxy's `X-Forwarded-Proto`), which sets the cookie's `Secure` flag.
pub fn is_tls(parts: &Parts, config: &Config) -> bool {
    Forwarded::of(parts, config).tls
}

/// The client's address (for throttling), or `unknown` outside the server loop.
/// `X-Forwarded-For` is believed from trusted proxies only (see [`Forwarded`]): anyone else
/// could send one to dodge the per-address limit.
pub fn client_ip(parts: &Parts, config: &Config) -> String {
    Forwarded::of(parts, config).client.map_or_else(|| "unknown".into(), |ip| ip.to_string())
}

/// Where to send a user after logging in: `next` if it is a path on this site, else `/` (no
/// open redirect through `//host`, `/\host` or a scheme).
pub fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\");
    if local && !next.chars().any(char::is_control) { next } else { "/" }
}

/// The session cookie's value in a `Cookie` header, if any.
pub fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The session a cookie value opens, if it is live.
pub async fn session_for(state: &AppState, cookie: &str) -> Result<Option<AdminSession>, StoreError> {
    let (hash, now) = (cookie_hash(cookie), clock::now_stamp());
    let found = state.db.read(move |c| admins::find_session(c, &hash, &now)).await?;
    Ok(found.map(|(admin, csrf)| AdminSession { admin, csrf }))
}

/// The rejection of [`AdminSession`]: a redirect to the login page, back to `next` afterwards.
#[derive(Debug)]
pub struct LoginRedirect {
    /// Where to go after logging in (a local path).
    pub next: String,
}

impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        let next = form_urlencoded::byte_serialize(self.next.as_bytes()).collect::<String>();
        Redirect::to(&format!("/login?next={next}")).into_response()
    }
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = LoginRedirect;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, LoginRedirect> {
        let next = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let Some(cookie) = cookie_value(&parts.headers) else { return Err(LoginRedirect { next }) };
        match session_for(state, cookie).await {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(LoginRedirect { next }),
            Err(e) => {
                tracing::warn!(error = %e, "could not read an admin session");
                Err(LoginRedirect { next })
            }
        }
    }
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
    fn cookies_and_csrf() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; scimbox_session=abc ; b=2".parse().unwrap_or(header::HeaderValue::from_static("")),
        );
        assert_eq!(cookie_value(&h), Some("abc"));
        let s = AdminSession { admin: "a".into(), csrf: "tok".into() };
        assert!(check_csrf(&s, "tok") && !check_csrf(&s, "tok2") && !check_csrf(&s, ""));
        assert!(set_cookie("v", true).ends_with("; Secure") && !set_cookie("v", false).contains("Secure"));
        assert!(check_new_password("short").is_err() && check_new_password("twelve chars").is_ok());
        assert_eq!(safe_next("/users?q=a"), "/users?q=a");
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "", "/a\nb"] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }
}
