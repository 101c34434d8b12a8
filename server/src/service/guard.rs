//! The deprovisioning guard (issue 15): stops a runaway IdP connection from deactivating or
//! deleting everyone, while it happens.
//!
//! Per token, deprovisionings (a PUT, PATCH or Bulk operation that turns `active` from true to
//! false, a DELETE or Bulk DELETE) of users that already existed when the sliding window began
//! (`meta.created` before it) are counted. When a token has made `max` of them within the
//! window, the next one *trips* the guard for that token: it and every further deprovisioning
//! by that token are *held* (answered 429 with `Retry-After`, RFC 6585 §4, as a SCIM error,
//! RFC 7644 §3.12) and nothing held is applied, also after the window has passed and across
//! restarts (the state is in the database, shared by every instance on one PostgreSQL
//! database), until an administrator releases the token (`scimbox guard release`, or the status
//! page of any instance). So exactly `max` go through, never `max + 1`, across instances too.
//! A client that creates and removes its own users within the window (conformance checkers, an
//! IdP's connection test) never counts.
//!
//! The decision is made inside the writer's write, the only place that knows whether a PUT or
//! PATCH flips `active` and where writes are serialised, so it is exact under concurrency: the
//! count, the trip and the write it allows or holds commit together. A held attempt's record
//! commits too (the write changes nothing else).
//!
//! Who deprovisions is a task-local ([`scope`], set by the HTTP layer once the token is known)
//! rather than a parameter, as the request deadline is (see [`crate::deadline`]): the services
//! and Bulk stay as they are; writes outside a scope (the CLI, the status page, the demo's seed)
//! are not guarded.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::sql::Connection;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Error, Result};
use crate::clock;
use crate::db::rows::ResourceRow;
use crate::db::{self, Db, StoreError};
use crate::throttle::Tally;

/// The threshold's floor: with the default (`auto`) threshold, a token may always deprovision
/// this many existing users per window.
pub const FLOOR: u64 = 20;
/// How long a release lasts unless told otherwise: long enough for an intended mass
/// deprovisioning (an IdP works through a thousand users in minutes) to drain, short enough that
/// the guard is back before the next incident.
pub const DEFAULT_RELEASE: Duration = Duration::from_secs(60 * 60);
/// How long the active-user count behind the `auto` threshold is reused.
const ACTIVE_COUNT_TTL: Duration = Duration::from_secs(60);

/// The guard's settings and its in-memory tallies: one per server.
#[derive(Debug)]
pub struct Guard {
    /// `None`: the larger of [`FLOOR`] and a tenth of the active users; `Some(0)`: off.
    max: Option<u64>,
    window: Duration,
    /// The active-user count and when it was read (for the `auto` threshold).
    active: Mutex<Option<(u64, Instant)>>,
    /// Held attempts per token since the server started (for metrics).
    holds: Tally,
}

impl Guard {
    /// A guard holding beyond `max` deprovisionings per `window` (`None`: `auto`, `Some(0)`:
    /// off).
    pub fn new(max: Option<u64>, window: Duration) -> Self {
        Self { max, window, active: Mutex::default(), holds: Tally::default() }
    }

    /// The sliding window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Held attempts per token since the server started, by token name (for metrics).
    pub fn holds(&self) -> Vec<(String, u64)> {
        self.holds.snapshot()
    }

    /// The threshold for a token that has `counted` deprovisionings in its window: a fixed one,
    /// or the larger of [`FLOOR`] and a tenth of the active users (counted only once the floor
    /// is reached, and then at most once every [`ACTIVE_COUNT_TTL`]).
    fn threshold(&self, c: &Connection, counted: u64) -> Result<u64, StoreError> {
        if let Some(max) = self.max {
            return Ok(max);
        }
        if counted < FLOOR {
            return Ok(FLOOR);
        }
        let mut cached = self.active.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let active = match *cached {
            Some((n, at)) if at.elapsed() < ACTIVE_COUNT_TTL => n,
            _ => {
                let n = db::guard::active_users(c)?;
                *cached = Some((n, Instant::now()));
                n
            }
        };
        Ok(FLOOR.max(active / 10))
    }

    /// The start of the window that ends at `now` (a stored timestamp).
    fn window_start(&self, now: &str) -> Result<String, StoreError> {
        let t = OffsetDateTime::parse(now, &Rfc3339)
            .map_err(|e| StoreError::Internal(format!("the guard cannot read the time {now}: {e}")))?;
        Ok(crate::stamp::timestamp(t.checked_sub(to_time(self.window)).unwrap_or(t)))
    }

    /// The `Retry-After` of a held attempt: the window (at least a second, at most an hour).
    /// Retrying sooner cannot succeed without a release, and an IdP that honours it keeps the
    /// held count readable.
    fn retry_after(&self) -> u64 {
        self.window.as_secs().clamp(1, 3600)
    }
}

/// `d` for `time`'s arithmetic (a duration beyond its range is its largest).
fn to_time(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

/// The token a request's writes are made with, and the server's guard.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name (the IdP connection).
    pub token: String,
    /// The server's guard.
    pub guard: Arc<Guard>,
}

tokio::task_local! {
    static CALLER: Caller;
}

/// Runs `f` with `caller` as the token its user deprovisionings are counted against.
pub async fn scope<F: Future>(caller: Caller, f: F) -> F::Output {
    CALLER.scope(caller, f).await
}

/// The caller of the request being served, if any. Read before a write is handed to the
/// writer (task-locals do not cross to its thread).
pub(crate) fn caller() -> Option<Caller> {
    CALLER.try_with(Clone::clone).ok()
}

/// A deprovisioning the guard held: nothing of it was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    token: String,
    /// Whether this attempt tripped the guard.
    tripped: bool,
    window: Duration,
    retry_after: u64,
}

/// What a write that the guard may hold returns: its result, or the hold.
pub type Guarded<T> = std::result::Result<T, Held>;

/// Decides, inside the write, on an update of `cur` to `doc`: only a change of `active` from
/// true to false is a deprovisioning. `Some` means held: the caller must write nothing else.
pub(crate) fn judge_update(
    c: &Connection,
    caller: Option<&Caller>,
    cur: &ResourceRow,
    doc: &serde_json::Map<String, serde_json::Value>,
    now: &str,
) -> Result<Option<Held>, StoreError> {
    let active = |d: &serde_json::Map<String, serde_json::Value>| d.get("active").and_then(|v| v.as_bool());
    if active(&cur.doc).unwrap_or(true) && active(doc) == Some(false) { judge(c, caller, cur, now) } else { Ok(None) }
}

/// Decides, inside the write, on the deletion of `cur`. `Some` means held: delete nothing.
pub(crate) fn judge_delete(
    c: &Connection,
    caller: Option<&Caller>,
    cur: &ResourceRow,
    now: &str,
) -> Result<Option<Held>, StoreError> {
    judge(c, caller, cur, now)
}

fn judge(c: &Connection, caller: Option<&Caller>, cur: &ResourceRow, now: &str) -> Result<Option<Held>, StoreError> {
    let Some(Caller { token, guard }) = caller else { return Ok(None) };
    if guard.max == Some(0) {
        return Ok(None);
    }
    let held = |tripped| Held { token: token.clone(), tripped, window: guard.window, retry_after: guard.retry_after() };
    if let Some(state) = db::guard::state(c, token)? {
        if state.released_until.as_deref().is_some_and(|until| until > now) {
            return Ok(None);
        }
        if state.tripped_at.is_some() {
            db::guard::hold(c, token, &cur.id, now)?;
            return Ok(Some(held(false)));
        }
    }
    let since = guard.window_start(now)?;
    if cur.created.as_str() >= since.as_str() {
        return Ok(None); // created within the window: the client's own user
    }
    let counted = db::guard::window_count(c, token, &since)?;
    if counted < guard.threshold(c, counted)? {
        db::guard::count(c, token, &cur.id, now)?;
        return Ok(None);
    }
    tripped(c, token, now, guard.window, counted)?;
    db::guard::hold(c, token, &cur.id, now)?;
    Ok(Some(held(true)))
}

/// The guard trips for `token` at `now`, inside the write that held the attempt over the
/// threshold: the one place where the trip is recorded, with its `guard.tripped` event (issue
/// 14) in the same write; the warning in the log is [`settle`]'s, after the commit. `counted`
/// is how many deprovisionings the window already held.
fn tripped(c: &Connection, token: &str, now: &str, window: Duration, counted: u64) -> Result<(), StoreError> {
    db::guard::trip(c, token, now)?;
    super::events::guard_tripped(c, token, window, counted, now)
}

/// A guarded write's outcome as the service answers it: a hold becomes [`Error::Held`] (and, if
/// it tripped the guard, a warning in the log), counted in the server's tally.
pub(crate) fn settle<T>(out: Guarded<T>, caller: Option<&Caller>) -> Result<T> {
    let held = match out {
        Ok(v) => return Ok(v),
        Err(held) => held,
    };
    if let Some(c) = caller {
        c.guard.holds.add(&held.token);
    }
    crate::metrics::guard_held(&held.token);
    if held.tripped {
        tracing::warn!(
            token = %held.token,
            window = %human(held.window),
            "the deprovisioning guard tripped: this connection's deactivations and deletions are held until \
             `scimbox guard release` (or the status page) lets them through"
        );
    }
    Err(Error::Held { detail: held.detail(), retry_after: held.retry_after })
}

impl Held {
    /// The SCIM error's detail: what happened, that nothing changed, and the release command.
    fn detail(&self) -> String {
        let token = &self.token;
        format!(
            "held by the deprovisioning guard: connection \"{token}\" deactivated or deleted more existing users \
             within {} than the guard allows (--guard-max), so its deactivations and deletions are held and \
             nothing was changed. An administrator can let them through with `scimbox guard release --db PATH \
             {token}` (or the status page's Release button); retries then succeed.",
            human(self.window)
        )
    }
}

/// A window as people write it: `10m`, `90s`, `2h`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.as_millis()),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// One token's guard, as `scimbox guard status` and the status page show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGuard {
    /// The token's name.
    pub token: String,
    /// When the guard tripped, while it holds this token's deprovisioning.
    pub tripped_at: Option<String>,
    /// Attempts held since the trip.
    pub held: u64,
    /// The first and the latest held attempt.
    pub first_held: Option<String>,
    /// The latest held attempt.
    pub last_held: Option<String>,
    /// Some held users' ids.
    pub sample: Vec<String>,
    /// Deprovisionings counted in the window that ends now.
    pub window_count: u64,
    /// Until when a release lets the token's deprovisioning through, while it does.
    pub released_until: Option<String>,
}

impl TokenGuard {
    /// Whether the guard holds this token's deprovisioning.
    pub fn holding(&self) -> bool {
        self.tripped_at.is_some()
    }
}

/// Every token the guard knows of (tripped, released, or counting in a `window` ending now),
/// by name.
pub async fn status(db: &Db, window: Duration) -> Result<Vec<TokenGuard>> {
    let now = clock::now();
    let since = now.checked_sub(to_time(window)).unwrap_or(now);
    let (now_stamp, since) = (crate::stamp::timestamp(now), crate::stamp::timestamp(since));
    let (states, counts) = db.read(move |c| Ok((db::guard::states(c)?, db::guard::window_counts(c, &since)?))).await?;
    let mut out: Vec<TokenGuard> = states
        .into_iter()
        .map(|s| TokenGuard {
            window_count: counts.iter().find(|(t, _)| *t == s.token).map_or(0, |(_, n)| *n),
            released_until: s.released_until.filter(|u| *u > now_stamp),
            token: s.token,
            tripped_at: s.tripped_at,
            held: s.held,
            first_held: s.first_held,
            last_held: s.last_held,
            sample: s.sample,
        })
        .filter(|g| g.holding() || g.released_until.is_some() || g.window_count > 0)
        .collect();
    for (token, n) in counts {
        if !out.iter().any(|g| g.token == token) {
            out.push(TokenGuard { token, window_count: n, ..TokenGuard::empty() });
        }
    }
    out.sort_by(|a, b| a.token.cmp(&b.token));
    Ok(out)
}

impl TokenGuard {
    fn empty() -> Self {
        Self {
            token: String::new(),
            tripped_at: None,
            held: 0,
            first_held: None,
            last_held: None,
            sample: Vec::new(),
            window_count: 0,
            released_until: None,
        }
    }
}

/// Lets `token`'s deprovisioning through for `duration` from now: the trip is cleared (the
/// IdP's retries then succeed) and nothing is counted until the release ends; then counting
/// starts afresh. Also works before any trip, for an intended mass deprovisioning. Returns when
/// the release ends.
pub async fn release(db: &Db, token: &str, duration: Duration) -> Result<String> {
    let now = clock::now();
    let end = now.checked_add(to_time(duration)).ok_or_else(|| Error::invalid("the release is too long"))?;
    let until = crate::stamp::timestamp(end);
    let (name, end) = (token.to_owned(), until.clone());
    let known = db
        .write(move |c| {
            if !db::guard::token_known(c, &name)? {
                return Ok(false);
            }
            db::guard::release(c, &name, &end)?;
            Ok(true)
        })
        .await?;
    if !known {
        return Err(Error::NotFound(format!("no token named \"{token}\"")));
    }
    tracing::info!(token, until = %until, "deprovisioning guard released");
    Ok(until)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Holds are tallied per token for metrics; writes outside a scope (the CLI, the status
    /// page) are not guarded.
    #[tokio::test]
    async fn holds_are_tallied_and_writes_outside_a_scope_pass() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = Db::open(&dir.path().join("g.db")).unwrap_or_else(|e| panic!("{e}"));
        db.write(|c| {
            for id in ["a", "b", "c"] {
                let doc = serde_json::json!({"userName": id, "active": true});
                let doc = doc.as_object().cloned().unwrap_or_default();
                db::users::insert(c, id, doc, "2000-01-01T00:00:00.000Z")?;
            }
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let guard = Arc::new(Guard::new(Some(1), Duration::from_secs(600)));
        let caller = || Caller { token: "idp".into(), guard: Arc::clone(&guard) };
        let delete = |id: &'static str| crate::service::users::delete(&db, id, Default::default());
        assert_eq!(scope(caller(), delete("a")).await, Ok(()));
        assert!(matches!(scope(caller(), delete("b")).await, Err(Error::Held { retry_after: 600, .. })));
        assert_eq!(guard.holds(), [("idp".to_owned(), 1)]);
        assert_eq!(delete("b").await, Ok(()), "no caller, no guard");
    }

    #[test]
    fn windows_read_as_typed() {
        assert_eq!(human(Duration::from_secs(600)), "10m");
        assert_eq!(human(Duration::from_secs(2)), "2s");
        assert_eq!(human(Duration::from_secs(7200)), "2h");
        assert_eq!(human(Duration::from_secs(90)), "90s");
    }

    #[test]
    fn the_window_starts_a_window_before_now() {
        let g = Guard::new(Some(5), Duration::from_secs(600));
        assert_eq!(g.window_start("2026-01-01T00:10:00.000Z").expect("start"), "2026-01-01T00:00:00.000Z");
        assert!(g.window_start("yesterday").is_err());
        assert_eq!(Guard::new(None, Duration::from_millis(500)).retry_after(), 1);
        let forever = Guard::new(Some(5), Duration::from_secs(u64::MAX));
        assert!(forever.window_start("2026-01-01T00:10:00.000Z").is_ok(), "no overflow panic");
    }
}
