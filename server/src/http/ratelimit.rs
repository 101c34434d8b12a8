//! Rate limits on the SCIM API (issue 15): a token bucket per token (`--rate`, `--burst`), so
//! that one noisy IdP connection cannot starve the others, and one per client address for
//! requests without a live token (`--address-rate`, `--address-burst`): refused tokens, and the
//! open discovery endpoints when they are read without one. Over a limit, a request is answered 429 (RFC 6585 §4) as a SCIM
//! error (RFC 7644 §3.12) with `Retry-After` in whole seconds, at least 1, before any handler
//! work; Okta and Entra both back off on it. The buckets are [`crate::throttle::RateLimit`]'s,
//! in memory (a restart refills them).
//!
//! The per-token check sits right after authentication ([`per_token`]), which is also where the
//! request's writes learn their token for the deprovisioning guard ([`guard::scope`]).

use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::extract::Forwarded;
use crate::auth::{self, Principal};
use crate::config::Config;
use crate::error::AppError;
use crate::service::guard::{self, Caller};
use crate::throttle::{RateLimit, Tally};

/// The server's rate limits and what they refused.
#[derive(Debug)]
pub struct RateLimits {
    per_token: Option<(RateLimit<String>, u32)>,
    per_address: Option<(RateLimit<IpAddr>, u32)>,
    refused: Tally,
    refused_anonymous: AtomicU64,
}

/// A bucket of `burst` refilled at `rate` per second; `None` when `rate` is 0 (no limit).
fn bucket<K: std::hash::Hash + Eq + Clone>(rate: u32, burst: u32) -> Option<(RateLimit<K>, u32)> {
    (rate > 0).then(|| (RateLimit::new(burst.max(1), Duration::from_secs_f64(1.0 / f64::from(rate))), rate))
}

impl RateLimits {
    /// The limits `config` sets.
    pub fn new(config: &Config) -> Self {
        Self {
            per_token: bucket(config.rate, config.burst),
            per_address: bucket(config.address_rate, config.address_burst),
            refused: Tally::default(),
            refused_anonymous: AtomicU64::new(0),
        }
    }

    /// Requests refused by the per-token limit since the server started, by token name (for
    /// metrics).
    pub fn refusals(&self) -> Vec<(String, u64)> {
        self.refused.snapshot()
    }

    /// Requests without a live token refused by the per-address limit since the server started.
    pub fn anonymous_refusals(&self) -> u64 {
        self.refused_anonymous.load(Ordering::Relaxed)
    }

    /// Takes one request from `token`'s bucket, or says how to refuse it.
    fn take_token(&self, token: &str) -> Result<(), AppError> {
        let Some((limit, rate)) = &self.per_token else { return Ok(()) };
        limit.take(&token.to_owned()).map_err(|wait| {
            self.refused.add(token);
            crate::metrics::rate_limited(token);
            too_many(format!("connection \"{token}\" sent more than {rate} requests per second (--rate)"), wait)
        })
    }

    /// Takes one request from `ip`'s bucket of requests without a live token.
    fn take_address(&self, ip: Option<IpAddr>) -> Result<(), AppError> {
        let (Some((limit, rate)), Some(ip)) = (&self.per_address, ip) else { return Ok(()) };
        limit.take(&address_key(ip)).map_err(|wait| {
            self.refused_anonymous.fetch_add(1, Ordering::Relaxed);
            crate::metrics::rate_limited(crate::metrics::NO_TOKEN);
            too_many(
                format!("{ip} sent more than {rate} requests per second without a valid token (--address-rate)"),
                wait,
            )
        })
    }
}

/// The bucket an address draws from: an IPv4 address (also when mapped into IPv6) is its own;
/// an IPv6 address shares its /64, which one host usually holds whole, so that a client cannot
/// get a fresh bucket per request by cycling through its own addresses.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

/// 429 with `Retry-After`: `wait` rounded up to whole seconds, at least 1.
fn too_many(what: String, wait: Duration) -> AppError {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let retry_after = secs.max(1);
    AppError::TooMany { detail: format!("{what}; nothing was done, retry after {retry_after} s"), retry_after }
}

/// The client's address as the trusted-proxy rules see it ([`Forwarded`]).
fn client(req: Request, config: &Config) -> (Request, Option<IpAddr>) {
    let (parts, body) = req.into_parts();
    let ip = Forwarded::of(&parts, config).client;
    (Request::from_parts(parts, body), ip)
}

/// Inside the token check: the token's bucket, then the handler with the token as the
/// deprovisioning guard's caller.
pub async fn per_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    per_token_around(&state, req, |req| next.run(req)).await
}

/// [`per_token`] around `inner` (the protected routes call it inside their one layer).
pub async fn per_token_around<F, Fut>(state: &AppState, req: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let Some(token) = req.extensions().get::<Principal>().map(|p| p.token_name.clone()) else {
        return inner(req).await;
    };
    if let Err(e) = state.rate_limits.take_token(&token) {
        return e.into_response();
    }
    let caller = Caller { token, guard: Arc::clone(&state.deprovisioning) };
    guard::scope(caller, inner(req)).await
}

/// Outside the token check: a request it refused (401) counts against its address, and over
/// the address's limit the answer is 429 instead.
pub async fn anonymous(State(state): State<AppState>, req: Request, next: Next) -> Response {
    anonymous_around(&state, req, |req| next.run(req)).await
}

/// [`anonymous`] around `inner` (the protected routes call it inside their one layer).
pub async fn anonymous_around<F, Fut>(state: &AppState, req: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let (req, ip) = client(req, &state.config);
    let resp = inner(req).await;
    if resp.status() != StatusCode::UNAUTHORIZED {
        return resp;
    }
    match state.rate_limits.take_address(ip) {
        Ok(()) => resp,
        Err(e) => e.into_response(),
    }
}

/// On the open discovery endpoints, which need no token: a request with a live token counts
/// against that token (an IdP reading discovery is not anonymous traffic), any other against
/// its address.
pub async fn open(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let bearer = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(auth::parse_header);
    let principal = match bearer {
        Some(token) => state.tokens.check(&state.db, token).await.ok().flatten(),
        None => None,
    };
    let (req, taken) = match principal {
        Some(p) => (req, state.rate_limits.take_token(&p.token_name)),
        None => {
            let (req, ip) = client(req, &state.config);
            (req, state.rate_limits.take_address(ip))
        }
    };
    match taken {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_whole_seconds_and_at_least_one() {
        let secs = |wait| match too_many("x".into(), wait) {
            AppError::TooMany { retry_after, .. } => retry_after,
            _ => 0,
        };
        assert_eq!(secs(Duration::from_millis(10)), 1);
        assert_eq!(secs(Duration::from_millis(1_001)), 2);
        assert_eq!(secs(Duration::from_secs(3)), 3);
        assert_eq!(secs(Duration::ZERO), 1);
    }

    /// The refusals are counted per token, and anonymous ones apart, for the metrics endpoint.
    #[test]
    fn refusals_are_counted_per_token() {
        let mut config = Config::new("x.db".into(), "127.0.0.1:0".parse().expect("addr"));
        (config.rate, config.burst, config.address_rate, config.address_burst) = (1, 2, 1, 1);
        let limits = RateLimits::new(&config);
        let refused = (0..5).filter(|_| limits.take_token("okta").is_err()).count();
        assert!(limits.take_token("entra").is_ok(), "another token has its own bucket");
        assert_eq!(limits.refusals(), [("okta".to_owned(), refused as u64)]);
        assert!(refused >= 2, "{refused}");
        let ip = Some([10, 0, 0, 1].into());
        assert!(limits.take_address(ip).is_ok() && limits.take_address(ip).is_err());
        assert_eq!(limits.anonymous_refusals(), 1);
    }

    #[test]
    fn an_ipv6_client_draws_from_its_64() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(address_key(ip("2001:db8:1:2:aaaa::1")), address_key(ip("2001:db8:1:2:bbbb::9")));
        assert_ne!(address_key(ip("2001:db8:1:2::1")), address_key(ip("2001:db8:1:3::1")));
        assert_eq!(address_key(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
        assert_eq!(address_key(ip("10.0.0.1")), ip("10.0.0.1"));
    }

    #[test]
    fn a_zero_rate_is_no_limit() {
        let mut config = Config::new("x.db".into(), "127.0.0.1:0".parse().expect("addr"));
        config.rate = 0;
        config.address_rate = 0;
        let limits = RateLimits::new(&config);
        for _ in 0..10_000 {
            assert!(limits.take_token("t").is_ok());
            assert!(limits.take_address(Some([10, 0, 0, 1].into())).is_ok());
        }
    }
}
