//! Bearer tokens (RFC 6750 as used by RFC 7644 §2): 256 random bits, shown once, stored only as
//! a SHA-256 hash, optionally expiring, revocable by name, rotatable (the replaced secret is
//! accepted until its overlap ends, under the same name: see [`crate::service::tokens::rotate`]).
//!
//! A running server checks the database for every token it has not seen in the last
//! [`CACHE_TTL`], so a revoked or expired token is refused within that time. Tokens never appear in
//! a log: only the connection name does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock;
use crate::db::{Db, StoreError, tokens};

/// How long a successful token check is trusted before the database is asked again.
pub const CACHE_TTL: Duration = Duration::from_millis(500);
/// How often `last_used` is written for one token.
const TOUCH_EVERY: Duration = Duration::from_secs(60);
/// Prefix that makes scimbox tokens recognisable (in secret scanners, say).
const PREFIX: &str = "scimbox_";

/// A new random token: the prefix and 32 random bytes, base64url.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The token in an `Authorization` header: `Bearer T`, `bearer T` or a bare `T` (Okta's Header
/// Auth sends any of these, idp-behaviour.md §1.1).
pub fn parse_header(value: &str) -> Option<&str> {
    let v = value.trim();
    let token = match v.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None if v.eq_ignore_ascii_case("bearer") => return None,
        None => v,
    };
    (!token.is_empty()).then_some(token)
}

/// Who made a request: the connection name of its token.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's name.
    pub token_name: String,
    /// Whether it is an application's token (scope `app`): it may read the SCIM API and the
    /// change feed, and write nothing. An IdP's token (scope `scim`) may not read the feed.
    pub app: bool,
}

#[derive(Default)]
struct Seen {
    name: String,
    app: bool,
    checked: Option<Instant>,
    touched: Option<Instant>,
}

/// Checks tokens against the database, remembering good ones for [`CACHE_TTL`].
#[derive(Default)]
pub struct TokenChecker {
    seen: Mutex<HashMap<[u8; 32], Seen>>,
}

impl TokenChecker {
    /// The principal behind `token`, or `None` if it is unknown, revoked or expired.
    pub async fn check(&self, db: &Db, token: &str) -> Result<Option<Principal>, StoreError> {
        let h = hash(token);
        if let Some((name, app)) = self.cached(&h) {
            return Ok(Some(Principal { token_name: name, app }));
        }
        let now = clock::now_stamp();
        let found = db.read(move |c| tokens::find_live(c, &h, &now)).await?;
        let Some((name, stored, scope)) = found else {
            self.forget(&h);
            return Ok(None);
        };
        if !bool::from(stored.as_slice().ct_eq(&h)) {
            return Ok(None);
        }
        let app = scope == "app";
        let touch = self.remember(h, &name, app);
        if touch {
            let (db, n) = (db.clone(), name.clone());
            tokio::spawn(async move {
                let now = clock::now_stamp();
                if let Err(e) = db.write(move |c| tokens::touch(c, &n, &now)).await {
                    tracing::warn!(error = %e, "could not record token use");
                }
            });
        }
        Ok(Some(Principal { token_name: name, app }))
    }

    fn cached(&self, h: &[u8; 32]) -> Option<(String, bool)> {
        let seen = self.seen.lock().ok()?;
        let s = seen.get(h)?;
        s.checked.filter(|t| t.elapsed() < CACHE_TTL).map(|_| (s.name.clone(), s.app))
    }

    fn forget(&self, h: &[u8; 32]) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(h);
        }
    }

    /// Records a successful check; returns whether `last_used` is due for an update.
    fn remember(&self, h: [u8; 32], name: &str, app: bool) -> bool {
        let Ok(mut seen) = self.seen.lock() else { return false };
        let s = seen.entry(h).or_default();
        s.name = name.to_string();
        s.app = app;
        s.checked = Some(Instant::now());
        let due = s.touched.is_none_or(|t| t.elapsed() >= TOUCH_EVERY);
        if due {
            s.touched = Some(Instant::now());
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms() {
        assert_eq!(parse_header("Bearer abc"), Some("abc"));
        assert_eq!(parse_header("bearer  abc "), Some("abc"));
        assert_eq!(parse_header("abc"), Some("abc"));
        assert_eq!(parse_header("Basic abc"), None);
        assert_eq!(parse_header("Bearer "), None);
        assert_eq!(parse_header(""), None);
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), PREFIX.len() + 43);
    }
}
