//! The admin session as HTTP carries it: the [`AdminSession`] extractor (no live session: a
//! redirect to `/login`, [`LoginRedirect`]), the session cookie's headers, and what a request
//! says about TLS and the client's address. The rules (login, throttling, sessions, CSRF) are in
//! [`crate::service::admins`].
//!
//! The cookie [`COOKIE`] is `HttpOnly; SameSite=Strict; Path=/`, plus `Secure` when the request
//! came over TLS. "Over TLS" is decided by [`Forwarded`]: `--public-url https://...`, or
//! `X-Forwarded-Proto: https` from a trusted proxy only.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::config::Config;
use crate::http::AppState;
use crate::http::extract::Forwarded;
use crate::service::admins::{self, SESSION_TTL};

pub use crate::service::admins::AdminSession;

/// The session cookie's name.
pub const COOKIE: &str = "scimbox_session";

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
        match admins::session_for(&state.db, cookie).await {
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
    fn cookies_and_next() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; scimbox_session=abc ; b=2".parse().unwrap_or(header::HeaderValue::from_static("")),
        );
        assert_eq!(cookie_value(&h), Some("abc"));
        assert!(set_cookie("v", true).ends_with("; Secure") && !set_cookie("v", false).contains("Secure"));
        assert_eq!(safe_next("/users?q=a"), "/users?q=a");
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "", "/a\nb"] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }
}
