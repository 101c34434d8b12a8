//! Bearer tokens (RFC 6750 as used by RFC 7644 §2): 256 random bits, shown once, stored only as
//! a SHA-256 hash, optionally expiring, revocable by name, rotatable (the replaced secret is
//! accepted until its overlap ends, under the same name: see [`crate::service::tokens::rotate`]).
//!
//! A running server checks the database for every token it has not seen in the last
//! [`CACHE_TTL`], so a revoked or expired token is refused within that time. On PostgreSQL a
//! token write anywhere (another instance, the CLI) also drops what was cached before it, as soon
//! as the database's notification arrives ([`Db::tokens_changed`]); the time limit stays for
//! when notifications cannot arrive. Tokens never appear in a log: only the connection name
//! does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::watch;

use crate::clock;
use crate::db::{Db, StoreError, tokens};

/// How long a successful token check is trusted before the database is asked again.
pub const CACHE_TTL: Duration = crate::config::TOKEN_CACHE_TTL;
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
    /// The count of token changes when the check began (see [`TokenChecker::following`]).
    generation: u64,
    touched: Option<Instant>,
}

/// Checks tokens against the database, remembering good ones for [`CACHE_TTL`] (or until a
/// token changes, when it follows the database's changes).
pub struct TokenChecker {
    seen: Mutex<HashMap<[u8; 32], Seen>>,
    /// The database's count of token changes, when followed.
    changes: Option<watch::Receiver<u64>>,
    /// How long a good check is trusted.
    ttl: Duration,
}

impl Default for TokenChecker {
    fn default() -> Self {
        Self { seen: Mutex::default(), changes: None, ttl: CACHE_TTL }
    }
}

impl TokenChecker {
    /// A checker that trusts a good check for `ttl` at most, and only while `changes` (the
    /// database's count of token changes, [`Db::tokens_changed`]) stays where it was when the
    /// check began.
    pub fn following(changes: watch::Receiver<u64>, ttl: Duration) -> Self {
        Self { seen: Mutex::default(), changes: Some(changes), ttl }
    }

    /// The count of token changes now.
    fn generation(&self) -> u64 {
        self.changes.as_ref().map_or(0, |c| *c.borrow())
    }

    /// The principal behind `token`, or `None` if it is unknown, revoked or expired.
    pub async fn check(&self, db: &Db, token: &str) -> Result<Option<Principal>, StoreError> {
        let h = hash(token);
        if let Some((name, app)) = self.cached(&h) {
            return Ok(Some(Principal { token_name: name, app }));
        }
        // Taken before the read: a change that lands during it makes this check stale at once.
        let generation = self.generation();
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
        let touch = self.remember(h, &name, app, generation);
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
        if s.generation != self.generation() {
            return None;
        }
        s.checked.filter(|t| t.elapsed() < self.ttl).map(|_| (s.name.clone(), s.app))
    }

    fn forget(&self, h: &[u8; 32]) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(h);
        }
    }

    /// Records a successful check; returns whether `last_used` is due for an update.
    fn remember(&self, h: [u8; 32], name: &str, app: bool, generation: u64) -> bool {
        let Ok(mut seen) = self.seen.lock() else { return false };
        let s = seen.entry(h).or_default();
        s.name = name.to_string();
        s.app = app;
        s.checked = Some(Instant::now());
        s.generation = generation;
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

    /// A remembered check holds for the time limit, and no longer once a token change is
    /// counted, including one counted while the check was being made.
    #[test]
    fn a_token_change_drops_what_was_cached() {
        let (tx, rx) = watch::channel(0_u64);
        let checker = TokenChecker::following(rx, Duration::from_secs(3600));
        let h = hash("t");
        let _ = checker.remember(h, "okta", false, checker.generation());
        assert_eq!(checker.cached(&h), Some(("okta".to_owned(), false)));
        tx.send_modify(|n| *n += 1);
        assert_eq!(checker.cached(&h), None, "a change drops it");
        let began = checker.generation();
        tx.send_modify(|n| *n += 1);
        let _ = checker.remember(h, "okta", false, began);
        assert_eq!(checker.cached(&h), None, "a check that a change overtook is not trusted");
        let _ = checker.remember(h, "okta", false, checker.generation());
        assert_eq!(checker.cached(&h), Some(("okta".to_owned(), false)));
    }

    #[test]
    fn the_time_limit_holds_without_changes() {
        let checker = TokenChecker::default();
        let h = hash("t");
        let _ = checker.remember(h, "okta", true, 0);
        assert_eq!(checker.cached(&h), Some(("okta".to_owned(), true)));
        if let Ok(mut seen) = checker.seen.lock()
            && let Some(s) = seen.get_mut(&h)
        {
            s.checked = Instant::now().checked_sub(CACHE_TTL);
        }
        assert_eq!(checker.cached(&h), None, "a check older than the limit is made again");
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), PREFIX.len() + 43);
    }
}
