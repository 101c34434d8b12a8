//! Status-page administrators: password hashing, login with throttling, sessions, CSRF and the
//! [`AdminSession`] extractor. The pages themselves (and the login form) are in `http::ui`.
//!
//! - Passwords are hashed with argon2id (the `argon2` crate's default parameters), added with
//!   `scimbox admin add` (at least [`MIN_PASSWORD`] characters).
//! - A login opens a session of [`SESSION_TTL`]: the cookie [`COOKIE`] carries 256 random bits,
//!   of which only the SHA-256 is stored, next to the session's CSRF token. The cookie is
//!   `HttpOnly; SameSite=Strict; Path=/`, plus `Secure` when the request came over TLS.
//! - After [`MAX_FAILURES`] failed logins for a name or from an address within
//!   [`THROTTLE_WINDOW`] (and since its last success), further attempts are refused, without
//!   checking the password, until [`THROTTLE_WINDOW`] after the latest failure. Refused attempts
//!   are not counted, so they do not extend the lock.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock;
use crate::db::{self, StoreError, admins};
use crate::http::AppState;

/// The session cookie's name.
pub const COOKIE: &str = "scimbox_session";
/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// The window in which failures count, and how long a lock lasts.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed logins (per name or per address) that lock further attempts.
pub const MAX_FAILURES: u32 = 5;
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
    /// Too many failures: try again after this many minutes.
    #[error("too many failed logins for this name or from this address; try again in {minutes} minute(s)")]
    Throttled {
        /// Minutes until attempts are accepted again (at least 1).
        minutes: u64,
    },
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
/// session. Every attempt is recorded for throttling, except those refused by it.
pub async fn login(
    state: &AppState,
    name: &str,
    password: &str,
    client_ip: &str,
) -> Result<(String, AdminSession), LoginError> {
    let (name, key, ip) = (name.trim().to_owned(), name.trim().to_lowercase(), client_ip.to_owned());
    throttled(state, &key, &ip).await?;
    let lookup = name.clone();
    let found = state.db.read(move |c| admins::credentials(c, &lookup)).await?;
    let (hash, pw) = (found.as_ref().map_or_else(|| decoy_hash().to_owned(), |f| f.1.clone()), password.to_owned());
    let matches = tokio::task::spawn_blocking(move || verify_password(&hash, &pw)).await.unwrap_or(false);
    let admin = found.filter(|_| matches).map(|f| f.0);
    let now = clock::now();
    let (stamp, forget) = (db::timestamp(now), db::timestamp(now - ATTEMPTS_KEPT));
    let Some(admin) = admin else {
        state.db.write(move |c| admins::record_attempt(c, &key, &ip, false, &stamp, &forget)).await?;
        return Err(LoginError::Invalid);
    };
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

/// Refuses when the name or the address has [`MAX_FAILURES`] recent failures.
async fn throttled(state: &AppState, key: &str, ip: &str) -> Result<(), LoginError> {
    let now = clock::now();
    let since = db::timestamp(now - THROTTLE_WINDOW);
    let (key, ip) = (key.to_owned(), ip.to_owned());
    let (by_name, by_ip) = state
        .db
        .read(move |c| Ok((admins::failures(c, &key, false, &since)?, admins::failures(c, &ip, true, &since)?)))
        .await?;
    let locked = [by_name, by_ip].into_iter().filter(|(n, _)| *n >= MAX_FAILURES).filter_map(|(_, last)| last).max();
    let Some(last) = locked else { return Ok(()) };
    let last = time::OffsetDateTime::parse(&last, &time::format_description::well_known::Rfc3339).unwrap_or(now);
    let left = (last + THROTTLE_WINDOW - now).whole_seconds().max(0) as u64;
    Err(LoginError::Throttled { minutes: left.div_ceil(60).max(1) })
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

/// Whether the request came over TLS (through a proxy that says so with `X-Forwarded-Proto`).
pub fn is_tls(headers: &HeaderMap) -> bool {
    let proto = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("");
    proto.split(',').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// The peer address of the connection (for throttling), or `unknown` outside the server loop.
/// `X-Forwarded-For` is not trusted: anyone could send one to dodge the per-address limit.
pub fn client_ip(parts: &Parts) -> String {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or_else(|| "unknown".into(), |c| c.0.ip().to_string())
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
