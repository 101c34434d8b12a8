//! Webhooks (issue 14, item 4): endpoints the change feed's events are POSTed to, one at a
//! time, in `seq` order, at least once, signed the Standard Webhooks way.
//!
//! - An endpoint is added with a name, an `http://` or `https://` URL and optional type patterns
//!   (`user.*,group.created`, as the feed's `types`); [`add`] makes its signing secret,
//!   `whsec_` + base64 of 32 random bytes. The secret is stored as made: it is needed to sign
//!   every delivery (the database file is mode 0600). Delivery starts after the newest event
//!   recorded when it was added; `webhook replay` goes back.
//! - Each event is the object the feed shows for it, with the headers `webhook-id` (the event's
//!   id: the same on every attempt), `webhook-timestamp` (Unix seconds of the attempt) and
//!   `webhook-signature` (`v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed
//!   with the bytes the secret's base64 stands for), as the Standard Webhooks specification
//!   says, so its libraries verify it.
//! - A failed attempt (no answer within [`ATTEMPT_TIMEOUT`], or not 2xx) is retried after the
//!   delays of [`RETRY_SCHEDULE`] (about 3 days in all); after the last of them the endpoint is
//!   `failing` and is retried every [`FAILING_INTERVAL`], holding its place (no later event goes
//!   before the one that fails) until a success or `webhook replay`.
//! - The delivery state (cursor, attempts, next attempt, last error) is in the database: the
//!   cursor moves only once a 2xx came back, so after a crash the last event may be sent twice
//!   (with the same `webhook-id`), never skipped.
//!
//! The delivering itself (HTTP) is [`crate::webhooks`]'s; this module is the rules and the
//! storage calls, with the clock read here.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use sha2::Sha256;

use super::events::{self, FeedEvent};
use super::{Error, Result};
use crate::clock;
use crate::db::lease::Holder;
use crate::db::webhooks::{self as store, Webhook};
use crate::db::{Db, StoreError};

/// How long one attempt may take, connecting through reading the status.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The delays before each retry of a failed event: after the first failure 5 s, then 5 min,
/// 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h; 75 h 35 min from the first attempt to the tenth,
/// after which the endpoint is marked failing.
pub const RETRY_SCHEDULE: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];

/// How often a failing endpoint is still tried: the schedule's last delay.
pub const FAILING_INTERVAL: Duration = RETRY_SCHEDULE[RETRY_SCHEDULE.len() - 1];

/// The secret's prefix (Standard Webhooks).
pub const SECRET_PREFIX: &str = "whsec_";

/// The longest name.
const MAX_NAME_CHARS: usize = 100;
/// The longest URL.
const MAX_URL_CHARS: usize = 2000;
/// Events read per look at the feed.
const PAGE: u32 = 100;

/// An endpoint as `webhook list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Its name.
    pub name: String,
    /// Where events go.
    pub url: String,
    /// Its type patterns (`None`: all).
    pub types: Option<String>,
    /// `delivering`, or `failing` once the retry schedule ran out.
    pub state: &'static str,
    /// The seq delivered through.
    pub cursor: i64,
    /// Events (of its types) recorded after the cursor.
    pub lag: u64,
    /// Failed attempts at the next event.
    pub attempts: i64,
    /// When the next attempt is due, while retrying.
    pub next_attempt_at: Option<String>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<String>,
    /// When an event was last delivered.
    pub last_delivered_at: Option<String>,
}

/// What [`add`] made.
#[derive(Debug, Clone)]
pub struct Added {
    /// The signing secret, `whsec_...`.
    pub secret: String,
    /// The seq delivery starts after.
    pub cursor: i64,
}

/// A new signing secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The Standard Webhooks signature header value (`v1,BASE64`) of `body` sent as event `id` at
/// Unix second `timestamp`, with `secret` (`whsec_` + base64 of the key bytes).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| Error::Internal("a webhook secret is not base64 after whsec_".into()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| Error::Internal(e.to_string()))?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())))
}

/// Checks a webhook's name (as token names: not empty, no control characters, at most 100).
pub fn check_name(raw: &str) -> Result<&str> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::invalid("a webhook needs a name, such as billing-app"));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "\"{}\" is not a webhook name: at most {MAX_NAME_CHARS} characters, none of them control characters",
            name.escape_debug()
        )));
    }
    Ok(name)
}

/// Checks an endpoint URL: `http://` or `https://HOST[:PORT]/PATH` (https: the receiver's
/// certificate is checked when delivering, see [`crate::webhooks::Tls`]); every other scheme is
/// refused.
pub fn check_url(raw: &str) -> Result<String> {
    let url = raw.trim();
    if url.chars().count() > MAX_URL_CHARS {
        return Err(Error::invalid(format!("the webhook URL is longer than {MAX_URL_CHARS} characters")));
    }
    let uri: http::Uri = url.parse().map_err(|e| Error::invalid(format!("\"{url}\" is not a URL: {e}")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err(Error::invalid(format!("\"{url}\": a webhook URL must start with https:// or http://"))),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(Error::invalid(format!("\"{url}\" has no host")));
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(Error::invalid(format!("\"{url}\": credentials in the URL are not supported")));
    }
    Ok(url.to_owned())
}

/// Checks type patterns (as the feed's `types`); the stored form, or `None` for all types.
pub fn check_types(raw: Option<&str>) -> Result<Option<String>> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else { return Ok(None) };
    events::parse_types(Some(raw))?;
    let pats: Vec<&str> = raw.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    Ok(Some(pats.join(",")))
}

/// Whether an event of type `kind` goes to an endpoint with these patterns.
pub fn wants(types: Option<&str>, kind: &str) -> bool {
    types.is_none_or(|t| t.split(',').any(|p| events::glob(p, kind)))
}

fn see_list(e: StoreError, name: &str) -> Error {
    match e {
        StoreError::NotFound => Error::NotFound(format!("there is no webhook named \"{name}\"")),
        e => e.into(),
    }
}

/// Adds an endpoint; its secret comes back (shown once by the CLI, kept to sign).
pub async fn add(db: &Db, name: &str, url: &str, types: Option<&str>) -> Result<Added> {
    let name = check_name(name)?.to_owned();
    let url = check_url(url)?;
    let types = check_types(types)?;
    let secret = generate_secret();
    let (now, kept) = (clock::now_stamp(), secret.clone());
    let hook = db.write(move |c| store::insert(c, &name, &url, &kept, types.as_deref(), &now)).await?;
    Ok(Added { secret, cursor: hook.cursor })
}

/// Removes an endpoint; a running server stops delivering to it within a second.
pub async fn remove(db: &Db, name: &str) -> Result<()> {
    let key = name.trim().to_owned();
    db.write(move |c| store::remove(c, &key)).await.map_err(|e| see_list(e, name.trim()))
}

/// Sends again every event from seq `from` on (those still kept), and clears a failing state.
pub async fn replay(db: &Db, name: &str, from: i64) -> Result<()> {
    if from < 1 {
        return Err(Error::invalid("--from is an event seq, 1 or more"));
    }
    let key = name.trim().to_owned();
    let beyond = db
        .write(move |c| {
            // A cursor beyond the newest event would pass over events not yet recorded.
            let newest = crate::db::events::newest(c)?;
            if from > newest + 1 {
                return Ok(Some(newest));
            }
            store::replay(c, &key, from).map(|()| None)
        })
        .await
        .map_err(|e| see_list(e, name.trim()))?;
    match beyond {
        Some(newest) => Err(Error::invalid(format!(
            "--from {from} is beyond the newest event ({newest}): nothing to send again from there"
        ))),
        None => Ok(()),
    }
}

/// Every endpoint with its state and lag, by name.
pub async fn list(db: &Db) -> Result<Vec<Status>> {
    Ok(db
        .read(|c| {
            let mut out = Vec::new();
            for h in store::list(c)? {
                let behind = store::behind(c, h.cursor)?;
                out.push((h, behind));
            }
            Ok(out)
        })
        .await?
        .into_iter()
        .map(|(h, behind)| status(h, &behind))
        .collect())
}

fn status(h: Webhook, behind: &[(String, u64)]) -> Status {
    let lag = behind.iter().filter(|(t, _)| wants(h.types.as_deref(), t)).map(|(_, n)| n).sum();
    let failing = usize::try_from(h.attempts).unwrap_or(0) > RETRY_SCHEDULE.len();
    Status {
        name: h.name,
        url: h.url,
        types: h.types,
        state: if failing { "failing" } else { "delivering" },
        cursor: h.cursor,
        lag,
        attempts: h.attempts,
        next_attempt_at: h.next_attempt_at,
        last_error: h.last_error,
        last_error_at: h.last_error_at,
        last_delivered_at: h.last_delivered_at,
    }
}

/// Which instance delivers webhooks, for `webhook list` on PostgreSQL (issue 18): the holder of
/// the delivery lock as `LISTEN-ADDRESS pid PID (from CLIENT-ADDRESS)`, or a sentence saying
/// that none does; `None` on SQLite, where the one `serve` on the file delivers.
pub async fn deliverer(db: &Db) -> Result<Option<String>> {
    Ok(match db.webhook_holder().await? {
        Holder::File => None,
        Holder::Nobody => {
            Some("none (no `scimbox serve` holds the delivery lock; one takes it within a second of starting)".into())
        }
        Holder::Instance { name, address } => {
            let instance = name.strip_prefix("scimbox webhooks ").unwrap_or(&name);
            Some(format!("{instance} (from {address})"))
        }
    })
}

/// Each endpoint's name and lag (events of its types behind), for `/metrics`.
pub async fn lags(db: &Db) -> Result<Vec<(String, u64)>> {
    Ok(list(db).await?.into_iter().map(|s| (s.name, s.lag)).collect())
}

// ---------------------------------------------------------------------------------------------
// For the delivering worker

/// The identities of the endpoints there are now.
pub async fn endpoint_ids(db: &Db) -> Result<Vec<i64>> {
    Ok(db.read(|c| Ok(store::list(c)?.into_iter().map(|h| h.id).collect())).await?)
}

/// The endpoint with this identity, if it is still there.
pub async fn endpoint(db: &Db, id: i64) -> Result<Option<Webhook>> {
    Ok(db.read_now(move |c| store::by_id(c, id)).await?)
}

/// How long until the endpoint's next attempt is due (zero: now).
pub fn due_in(h: &Webhook) -> Duration {
    let Some(at) = h.next_attempt_at.as_deref().and_then(crate::stamp::parse) else { return Duration::ZERO };
    Duration::try_from(at - clock::now()).unwrap_or(Duration::ZERO)
}

/// The next events for `h` after its cursor, in `seq` order, as they are POSTed: each event
/// and its JSON body (those of one page of the feed that the endpoint takes; the worker sends
/// them one at a time and asks again once they are all delivered, so that a backlog costs one
/// read per page rather than one per event). When events after the cursor are all of types the
/// endpoint does not take, the cursor moves over them and nothing comes back (as when there is
/// nothing new). `base` is the SCIM base URL.
pub async fn next_events(db: &Db, h: &Webhook, base: &str) -> Result<Vec<(FeedEvent, String)>> {
    let mut after = h.cursor;
    loop {
        let window = db.read(move |c| crate::db::events::after(c, after, None, PAGE)).await?;
        let full = window.events.len() >= PAGE as usize;
        let mut out = Vec::new();
        for e in window.events.into_iter().filter(|e| wants(h.types.as_deref(), &e.kind)) {
            let shown = events::shown(e, base)?;
            let body = serde_json::to_string(&shown).map_err(|e| Error::Internal(e.to_string()))?;
            out.push((shown, body));
        }
        if !out.is_empty() || window.through <= after {
            return Ok(out);
        }
        let (id, generation, through) = (h.id, h.generation, window.through);
        let moved = db.write(move |c| store::passed(c, id, generation, through)).await?;
        // A full page of other types: look at the next one at once (a replay meanwhile: stop).
        if !moved || !full {
            return Ok(Vec::new());
        }
        after = through;
    }
}

/// Records that endpoint `id` (in `generation`: a replay since makes this a no-op) delivered
/// every event of its types through `seq` (2xx came back).
pub async fn delivered(db: &Db, id: i64, generation: i64, seq: i64) -> Result<()> {
    let now = clock::now_stamp();
    db.write(move |c| store::delivered(c, id, generation, seq, &now)).await?;
    Ok(())
}

/// The delay after the `failures`-th failed attempt at one event, times `scale` (tests shorten
/// the schedule with `SCIMBOX_WEBHOOK_RETRY_SCALE`).
pub fn retry_delay(failures: i64, scale: f64) -> Duration {
    let i = usize::try_from(failures.max(1) - 1).unwrap_or(0).min(RETRY_SCHEDULE.len() - 1);
    RETRY_SCHEDULE[i].mul_f64(scale)
}

/// Records a failed attempt of `h`: the next one is due after the schedule's delay.
pub async fn failed(db: &Db, h: &Webhook, error: &str, scale: f64) -> Result<()> {
    let now = clock::now();
    let delay = retry_delay(h.attempts + 1, scale);
    let next = crate::stamp::timestamp(now + delay);
    let (id, generation, error, now) = (h.id, h.generation, error.to_owned(), crate::stamp::timestamp(now));
    db.write(move |c| store::failed(c, id, generation, &next, &error, &now)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's test vectors: secret
    /// `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`, id `msg_p5jXN8AQM9LWM0D4loKWxJek`, timestamp
    /// 1614265330, body `{"test": 2432232314}`.
    #[test]
    fn signs_as_the_specification_s_example() {
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig.ok().as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn urls_http_or_https() {
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_url("https://example.com/hook").is_ok());
        assert!(check_url("https:///hook").is_err());
        assert!(check_url("ftp://example.com/").is_err());
        assert!(check_url("example.com/hook").is_err());
        assert!(check_url("http://user:pw@example.com/").is_err());
    }

    #[test]
    fn schedule_reaches_about_three_days_then_repeats_the_last() {
        let total: Duration = RETRY_SCHEDULE.iter().sum();
        assert!(total > Duration::from_secs(3 * 86_400) && total < Duration::from_secs(4 * 86_400), "{total:?}");
        assert_eq!(retry_delay(1, 1.0), Duration::from_secs(5));
        assert_eq!(retry_delay(30, 1.0), FAILING_INTERVAL);
        assert_eq!(retry_delay(2, 0.001), Duration::from_millis(300));
    }

    #[test]
    fn types_patterns() {
        assert!(wants(None, "user.created"));
        assert!(wants(Some("user.*,group.created"), "group.created"));
        assert!(!wants(Some("user.*"), "group.created"));
        assert!(check_types(Some("user.nope")).is_err());
        assert_eq!(
            check_types(Some(" user.* , group.deleted ")).ok().flatten().as_deref(),
            Some("user.*,group.deleted")
        );
    }
}
