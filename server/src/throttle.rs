//! In-memory throttles: failed admin logins per (name, client address) ([`LoginThrottle`]) and
//! anonymous `/check` requests per client address ([`RateLimit`]). Both are bounded in memory
//! and forget idle entries; both are lost on restart, which only ever lifts a delay.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::pool::Pool;

/// Failed logins a (name, address) pair may make before each further attempt must wait.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait between attempts of one pair (the delay doubles from 1 s up to this).
pub const MAX_DELAY: Duration = Duration::from_secs(5 * 60);
/// How long a pair's failures are remembered after its latest one.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(15 * 60);
/// Pairs (and addresses) tracked at most; beyond it idle entries are dropped first.
const MAX_ENTRIES: usize = 10_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, Clone, Copy)]
struct Pair {
    failures: u32,
    /// Attempts reserved and not yet settled.
    in_flight: u32,
    /// The latest failure.
    last: Instant,
    /// When the next attempt may start (beyond the free failures).
    next: Instant,
}

/// The delay after the `failures`-th failure: none for the first [`FREE_FAILURES`], then 1 s,
/// 2 s, 4 s... up to [`MAX_DELAY`].
pub fn delay_after(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (failures - FREE_FAILURES).min(20);
    Duration::from_secs(1u64 << doublings).min(MAX_DELAY)
}

type Key = (String, String);

/// Failed logins per (folded name, client address) with growing delays (issue 11, problem 4).
///
/// Keyed by the pair, not by the name or by the address alone: an attacker's failures slow only
/// the attacker's own pair, so the real admin logging in from another address is never held
/// up by them. An attempt is *reserved* ([`LoginThrottle::reserve`]) before its password is
/// checked, under one lock, so concurrent guesses cannot all pass a check made before any of
/// them is recorded: once a pair has used its free failures, at most one attempt of it is in
/// flight at a time, and only after the delay.
#[derive(Debug, Default, Clone)]
pub struct LoginThrottle {
    pairs: Arc<Mutex<HashMap<Key, Pair>>>,
}

/// A reserved login attempt: settle it with [`Attempt::failed`] or [`Attempt::succeeded`].
/// Dropped unsettled (the pool was busy, the client went away), it is released uncounted.
#[derive(Debug)]
pub struct Attempt {
    pairs: Arc<Mutex<HashMap<Key, Pair>>>,
    key: Option<Key>,
}

impl LoginThrottle {
    /// Reserves an attempt for `name` (already folded) from `ip`, or says how long to wait.
    pub fn reserve(&self, name: &str, ip: &str) -> Result<Attempt, Duration> {
        self.reserve_at(name, ip, Instant::now())
    }

    fn reserve_at(&self, name: &str, ip: &str, now: Instant) -> Result<Attempt, Duration> {
        let mut pairs = lock(&self.pairs);
        let key = (name.to_owned(), ip.to_owned());
        if !pairs.contains_key(&key) && pairs.len() >= MAX_ENTRIES {
            pairs.retain(|_, p| p.in_flight > 0 || now.duration_since(p.last) < FAILURE_MEMORY);
            if pairs.len() >= MAX_ENTRIES {
                tracing::warn!(pairs = pairs.len(), "login throttle full; forgetting pairs with nothing in flight");
                pairs.retain(|_, p| p.in_flight > 0);
            }
        }
        let pair = pairs.entry(key.clone()).or_insert(Pair { failures: 0, in_flight: 0, last: now, next: now });
        if pair.failures > 0 && now.duration_since(pair.last) >= FAILURE_MEMORY {
            pair.failures = 0;
            pair.next = now;
        }
        if pair.failures + pair.in_flight >= FREE_FAILURES {
            if pair.in_flight > 0 {
                return Err(delay_after(pair.failures + pair.in_flight).max(Duration::from_secs(1)));
            }
            if now < pair.next {
                return Err(pair.next - now);
            }
        }
        pair.in_flight += 1;
        Ok(Attempt { pairs: Arc::clone(&self.pairs), key: Some(key) })
    }

    /// How many pairs are tracked (for tests).
    pub fn len(&self) -> usize {
        lock(&self.pairs).len()
    }

    /// Whether no pair is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Attempt {
    /// The password was wrong (or the name unknown): count it and set the pair's next delay.
    pub fn failed(mut self) {
        self.settle(false);
    }

    /// The login succeeded: the pair's failures are forgotten.
    pub fn succeeded(mut self) {
        self.settle(true);
    }

    fn settle(&mut self, ok: bool) {
        let Some(key) = self.key.take() else { return };
        let mut pairs = lock(&self.pairs);
        let now = Instant::now();
        if ok {
            pairs.remove(&key);
            return;
        }
        if let Some(p) = pairs.get_mut(&key) {
            p.in_flight = p.in_flight.saturating_sub(1);
            p.failures = p.failures.saturating_add(1);
            p.last = now;
            p.next = now + delay_after(p.failures);
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut pairs = lock(&self.pairs);
        if let Some(p) = pairs.get_mut(&key) {
            p.in_flight = p.in_flight.saturating_sub(1);
            if p.in_flight == 0 && p.failures == 0 {
                pairs.remove(&key);
            }
        }
    }
}

/// A token bucket per client address: `burst` requests at once, then one every `every`.
#[derive(Debug)]
pub struct RateLimit<K = IpAddr> {
    burst: f64,
    every: Duration,
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Hash + Eq + Clone> RateLimit<K> {
    /// A limiter allowing `burst` requests at once, refilled by one every `every`.
    pub fn new(burst: u32, every: Duration) -> Self {
        Self { burst: f64::from(burst.max(1)), every, buckets: Mutex::default() }
    }

    /// Takes one token for `key`, or says how long until one is available.
    pub fn take(&self, key: &K) -> Result<(), Duration> {
        self.take_at(key, Instant::now())
    }

    fn take_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let per_sec = 1.0 / self.every.as_secs_f64().max(1e-6);
        let mut buckets = lock(&self.buckets);
        if !buckets.contains_key(key) && buckets.len() >= MAX_ENTRIES {
            // Buckets that have refilled are the same as no bucket.
            let burst = self.burst;
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * per_sec < burst);
            if buckets.len() >= MAX_ENTRIES {
                buckets.clear();
            }
        }
        let (tokens, at) = buckets.entry(key.clone()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_sec).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - *tokens) / per_sec))
    }
}

/// The edge guards one server shares: the login throttle, the password checker's pool, the
/// `/check` pool and its per-address limit.
pub struct Guards {
    /// Failed logins per (name, address).
    pub logins: LoginThrottle,
    /// Argon2 checks: one or two threads of their own and a short queue.
    pub passwords: Pool,
    /// `/check` verdicts: one thread of its own and a short queue.
    pub checks: Pool,
    /// Anonymous `/check` POSTs per client address.
    pub check_rate: RateLimit,
}

/// Password checks waiting beyond the running ones before logins are answered 429.
pub const PASSWORD_QUEUE: usize = 16;
/// `/check` verdicts waiting beyond the running one before `/check` is answered 429.
pub const CHECK_QUEUE: usize = 4;
/// Anonymous `/check` POSTs an address may make at once ...
pub const CHECK_BURST: u32 = 10;
/// ... and then one every this long.
pub const CHECK_EVERY: Duration = Duration::from_secs(3);

impl Default for Guards {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self {
            logins: LoginThrottle::default(),
            passwords: Pool::new("argon2", (cpus / 2).clamp(1, 2), PASSWORD_QUEUE),
            checks: Pool::new("check", 1, CHECK_QUEUE),
            check_rate: RateLimit::new(CHECK_BURST, CHECK_EVERY),
        }
    }
}

/// Counts per key (a token's name, say) since the server started: refusals and holds, read by
/// whoever reports them (the metrics endpoint). Keys are the server's own token names, so the
/// map stays as small as the token list.
#[derive(Debug, Default)]
pub struct Tally(Mutex<HashMap<String, u64>>);

impl Tally {
    /// Adds one for `key`.
    pub fn add(&self, key: &str) {
        let mut map = lock(&self.0);
        match map.get_mut(key) {
            Some(n) => *n += 1,
            None => {
                map.insert(key.to_owned(), 1);
            }
        }
    }

    /// Every key's count, by key.
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = lock(&self.0).iter().map(|(k, n)| (k.clone(), *n)).collect();
        all.sort();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let d: Vec<u64> = (0..8).map(|f| delay_after(f).as_secs()).collect();
        assert_eq!(d, [0, 0, 0, 0, 0, 1, 2, 4]);
        assert_eq!(delay_after(1_000), MAX_DELAY);
    }

    #[test]
    fn concurrent_reservations_get_at_most_the_free_failures() {
        let t = LoginThrottle::default();
        let got: Vec<Attempt> = (0..40).filter_map(|_| t.reserve("alice", "10.0.0.1").ok()).collect();
        assert_eq!(got.len(), FREE_FAILURES as usize);
        // Another address, and another name, are not affected.
        assert!(t.reserve("alice", "10.0.0.2").is_ok());
        assert!(t.reserve("bob", "10.0.0.1").is_ok());
        for a in got {
            a.failed();
        }
        let wait = t.reserve("alice", "10.0.0.1").expect_err("delayed after five failures");
        assert!(wait <= Duration::from_secs(1) && wait > Duration::ZERO, "{wait:?}");
    }

    #[test]
    fn after_the_delay_one_attempt_at_a_time_and_success_resets() {
        let t = LoginThrottle::default();
        let start = Instant::now();
        for _ in 0..FREE_FAILURES {
            t.reserve_at("a", "ip", start).expect("free").failed();
        }
        let later = Instant::now() + Duration::from_secs(2);
        let one = t.reserve_at("a", "ip", later).expect("after the delay");
        assert!(t.reserve_at("a", "ip", later).is_err(), "one in flight at a time");
        drop(one);
        let two = t.reserve_at("a", "ip", later).expect("a dropped attempt is not counted");
        two.succeeded();
        assert!(t.is_empty(), "success forgets the pair");
    }

    #[test]
    fn failures_are_forgotten_after_a_while() {
        let t = LoginThrottle::default();
        let start = Instant::now();
        for _ in 0..FREE_FAILURES + 3 {
            if let Ok(a) = t.reserve_at("a", "ip", start) {
                a.failed();
            }
        }
        let much_later = Instant::now() + FAILURE_MEMORY + MAX_DELAY;
        for _ in 0..FREE_FAILURES {
            t.reserve_at("a", "ip", much_later).expect("free again").failed();
        }
    }

    #[test]
    fn buckets_refill() {
        let r: RateLimit<u8> = RateLimit::new(2, Duration::from_secs(1));
        let now = Instant::now();
        assert!(r.take_at(&1, now).is_ok() && r.take_at(&1, now).is_ok());
        let wait = r.take_at(&1, now).expect_err("empty");
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(r.take_at(&2, now).is_ok(), "per key");
        assert!(r.take_at(&1, now + Duration::from_millis(1_100)).is_ok(), "refilled");
    }

    #[test]
    fn tallies_count_per_key() {
        let t = Tally::default();
        t.add("okta");
        t.add("entra");
        t.add("okta");
        assert_eq!(t.snapshot(), [("entra".to_owned(), 1), ("okta".to_owned(), 2)]);
    }
}
