//! The webhook worker: delivers the change feed's events to each endpoint registered with
//! `scimbox webhook add` (rules and state: [`crate::service::webhooks`]).
//!
//! [`run`] is a supervised background task of `serve` (never on a request's path). It looks at
//! the endpoints every [`POLL`] and keeps one delivery task per endpoint: a task per endpoint so
//! that one slow or failing receiver never holds up another. Each task sends one event at a
//! time, in `seq` order, and moves the endpoint's cursor only after a 2xx; between events it
//! waits for the writer's "events committed" signal, or [`POLL`] (events written by another
//! process, replays and removals made by the CLI are seen within that).
//!
//! Only the process that holds the webhook lease ([`crate::db::lease`]) delivers (issue 18): on
//! SQLite that is the one process on the file; on PostgreSQL one instance at a time, the others
//! contending every [`POLL`]. When the lease is lost (its connection closed or stopped
//! answering) every delivery task is aborted at once, before another instance can take the
//! lock, and this one contends again. The next holder resumes from each endpoint's stored
//! cursor, so the events delivered but not yet recorded by the last holder are sent again, in
//! order, with the same `webhook-id`: at least once, as after a restart.
//!
//! The client is hyper's HTTP/1.1, one kept-alive connection per endpoint (a new one when the
//! receiver closed it or an attempt failed), over TCP for `http://` URLs and over TLS for
//! `https://` ones ([`Tls`]: certificate and name checked, TLS 1.2 or 1.3).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;

use crate::clock;
use crate::db::Db;
use crate::db::lease::Lease;
use crate::service::events::FeedEvent;
use crate::service::webhooks::{self as hooks, ATTEMPT_TIMEOUT};

mod tls;
pub use tls::Tls;

/// How often the endpoints and each endpoint's state are looked at again: added and removed
/// endpoints, replays and events from another process are seen within this.
pub const POLL: Duration = Duration::from_millis(500);

/// How often, while delivering, the lease's connection is looked at (a flag, no round trip).
const LEASE_LOOK: Duration = Duration::from_millis(100);

/// The most successes that may wait for their record while one is in flight: what a crash at
/// the worst moment sends again, beyond the events the record in flight covers.
const MAX_UNRECORDED: usize = 256;

/// The most of a receiver's answer that is read (and then dropped).
const MAX_ANSWER: usize = 64 * 1024;

/// Aborts its task when dropped: a restarted worker must not leave the old delivery tasks
/// running beside the new ones (two tasks on one endpoint would break the order).
struct Owned(JoinHandle<()>);

impl Drop for Owned {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Delivers to every endpoint until cancelled, while this process holds the webhook lease
/// ([`crate::db::lease`]); otherwise contends for it every [`POLL`]. `base` is the SCIM base URL
/// the events' `resource.location` is built under; `scale` multiplies the retry delays (1 but
/// in tests); `tls` is the client for `https://` endpoints; `instance` names this process (its
/// listen address and process id) to `webhook list` and, in the `User-Agent`, to receivers.
pub async fn run(db: Db, base: String, scale: f64, tls: Tls, instance: String) {
    let agent = format!("scimbox-webhooks/{} ({instance})", env!("CARGO_PKG_VERSION"));
    let mut lease = db.webhook_lease(&instance);
    // The last reason the lease could not be asked for, so a database that is down is logged
    // once, not every poll.
    let mut unasked: Option<String> = None;
    loop {
        match lease.try_hold().await {
            Ok(true) => unasked = None,
            Ok(false) => {
                unasked = None;
                tokio::time::sleep(POLL).await;
                continue;
            }
            Err(e) => {
                let why = e.to_string();
                if unasked.as_ref() != Some(&why) {
                    tracing::warn!(error = %why, "webhooks: could not contend for webhook delivery; trying again");
                }
                unasked = Some(why);
                tokio::time::sleep(POLL).await;
                continue;
            }
        }
        if lease.is_contended() {
            tracing::info!(%instance, "this instance now delivers webhooks (it holds the delivery lock)");
        }
        let why = deliver_while_held(&db, &mut lease, &base, scale, &tls, &agent).await;
        tracing::info!(%instance, reason = %why, "this instance stopped delivering webhooks; it contends again");
    }
}

/// Keeps one delivery task per endpoint while `lease` holds; returns why it stopped holding,
/// once every delivery task is aborted. The lease is looked at every [`LEASE_LOOK`] (free: its
/// connection's state) and asked every [`POLL`] (one round trip), so a lost lock connection
/// stops delivery within a tenth of a second of closing, and one that stops answering within
/// [`POLL`] plus [`crate::db::pg::lease::CHECK_TIMEOUT`]: before PostgreSQL frees the lock for
/// another instance, which it does only once this instance's session has ended.
async fn deliver_while_held(db: &Db, lease: &mut Lease, base: &str, scale: f64, tls: &Tls, agent: &str) -> String {
    let mut tasks: HashMap<i64, Owned> = HashMap::new();
    loop {
        if let Err(e) = lease.check().await {
            return e.to_string();
        }
        // Reading the endpoints may wait on a database that is gone; the lease is watched
        // meanwhile all the same.
        let refresh = async {
            match hooks::endpoint_ids(db).await {
                Ok(ids) => {
                    // Removed endpoints stop; a task that ended (it panicked) is started again.
                    tasks.retain(|id, t| ids.contains(id) && !t.0.is_finished());
                    for id in ids {
                        tasks.entry(id).or_insert_with(|| {
                            let (db, base, tls, agent) = (db.clone(), base.to_owned(), tls.clone(), agent.to_owned());
                            Owned(tokio::spawn(deliver(db, id, base, scale, tls, agent)))
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "webhooks: could not read the endpoints"),
            }
            tokio::time::sleep(POLL).await;
        };
        tokio::select! {
            () = refresh => {}
            () = closed(lease) => return "the delivery lock's connection closed".into(),
        }
    }
}

/// Returns once `lease` is known lost without asking (its connection closed), looking every
/// [`LEASE_LOOK`].
async fn closed(lease: &Lease) {
    while !lease.is_lost() {
        tokio::time::sleep(LEASE_LOOK).await;
    }
}

/// One endpoint's delivery loop; returns when the endpoint is removed.
///
/// The record of a success is written while the next events are being sent: a durable commit
/// per event would cap delivery at one event per commit (a few hundred a second on a busy
/// disk). While one record is in flight, later successes only note the newest seq, written by
/// the next record once that one committed ([`MAX_UNRECORDED`] at most, then the task waits).
/// Records are waited for before a failure is recorded or the task idles, so the endpoint's
/// writes commit in order. Until they have committed, the task goes by what it knows
/// (`ahead`): the stored cursor may lag by those events, which a crash at that moment sends
/// again (in order, with their webhook-ids), as at least once allows.
async fn deliver(db: Db, id: i64, base: String, scale: f64, tls: Tls, agent: String) {
    let mut woken = db.events_committed();
    // The last success (generation, seq) whose record may not have committed yet, and that record.
    let mut ahead: Option<(i64, i64)> = None;
    let mut pending: Option<JoinHandle<Result<(), crate::service::Error>>> = None;
    // Successes after the one in flight, not handed to a record yet: the newest and how many.
    let mut unrecorded: Option<(i64, i64)> = None;
    let mut unrecorded_count = 0usize;
    let mut kept: Option<Kept> = None;
    // Events read ahead (one page of the feed, of the endpoint's types), the first one next, and
    // the (generation, cursor) they follow: dropped when the endpoint's state says otherwise (a
    // replay, a success whose record failed).
    let mut queue: VecDeque<(FeedEvent, String)> = VecDeque::new();
    let mut queued_after: Option<(i64, i64)> = None;
    loop {
        let mut hook = match hooks::endpoint(&db, id).await {
            Ok(Some(h)) => h,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: could not read an endpoint's state");
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        match ahead {
            // A replay (a new generation) overrides what this task knew.
            Some((generation, seq)) if generation == hook.generation => {
                if seq > hook.cursor {
                    (hook.cursor, hook.attempts, hook.next_attempt_at) = (seq, 0, None);
                }
            }
            _ => ahead = None,
        }
        let due = hooks::due_in(&hook);
        if !due.is_zero() {
            tokio::time::sleep(due.min(POLL)).await;
            continue;
        }
        if queued_after != Some((hook.generation, hook.cursor)) {
            queue.clear();
        }
        if queue.is_empty() {
            woken.mark_unchanged();
            match hooks::next_events(&db, &hook, &base).await {
                Ok(next) if next.is_empty() => {
                    unrecorded_count = 0;
                    if !flush(&db, id, &mut pending, unrecorded.take(), &hook.name).await {
                        ahead = None;
                    }
                    let _ = tokio::time::timeout(POLL, woken.changed()).await;
                    continue;
                }
                Ok(next) => {
                    queue.extend(next);
                    queued_after = Some((hook.generation, hook.cursor));
                }
                Err(e) => {
                    tracing::warn!(webhook = %hook.name, error = %e, "webhooks: could not read the next events");
                    tokio::time::sleep(POLL).await;
                    continue;
                }
            }
        }
        let Some((event, body)) = queue.front() else { continue };
        let attempt = post(&mut kept, &tls, &agent, &hook.url, &hook.secret, &event.id, body);
        let sent = match tokio::time::timeout(ATTEMPT_TIMEOUT, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())),
        };
        let seq = event.seq;
        // A record in flight still: note this success for the next one (up to MAX_UNRECORDED).
        let busy = pending.as_ref().is_some_and(|p| !p.is_finished());
        if sent.is_ok() && busy && unrecorded_count < MAX_UNRECORDED {
            queue.pop_front();
            queued_after = Some((hook.generation, seq));
            ahead = Some((hook.generation, seq));
            unrecorded = Some((hook.generation, seq));
            unrecorded_count += 1;
            continue;
        }
        // Before a failure is recorded, every success before it is; before a new record, the
        // one in flight has committed.
        let earlier = if sent.is_ok() { None } else { unrecorded.take() };
        unrecorded = None;
        unrecorded_count = 0;
        if !flush(&db, id, &mut pending, earlier, &hook.name).await {
            // A success was not recorded: go back to the stored cursor (from there all is sent again).
            ahead = None;
            tokio::time::sleep(POLL).await;
            continue;
        }
        match sent {
            Ok(()) => {
                queue.pop_front();
                queued_after = Some((hook.generation, seq));
                ahead = Some((hook.generation, seq));
                pending = Some(record(&db, hook.generation, hook.id, seq));
            }
            Err(why) => {
                tracing::warn!(webhook = %hook.name, seq = seq, attempts = hook.attempts + 1, error = %why,
                    "webhook delivery failed; it will be retried");
                if let Err(e) = hooks::failed(&db, &hook, &why, scale).await {
                    tracing::warn!(webhook = %hook.name, seq = seq, error = %e,
                        "webhooks: could not record a failed attempt");
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }
}

/// Starts the record of a success: endpoint `id` (in `generation`) delivered through `seq`.
fn record(db: &Db, generation: i64, id: i64, seq: i64) -> JoinHandle<Result<(), crate::service::Error>> {
    let db = db.clone();
    tokio::spawn(async move { hooks::delivered(&db, id, generation, seq).await })
}

/// Waits for the record in flight, then records `newest` (generation, seq) if given and waits
/// for that too; whether all were recorded.
async fn flush(
    db: &Db,
    id: i64,
    pending: &mut Option<JoinHandle<Result<(), crate::service::Error>>>,
    newest: Option<(i64, i64)>,
    name: &str,
) -> bool {
    if !settle(pending, name).await {
        return false;
    }
    let Some((generation, seq)) = newest else { return true };
    *pending = Some(record(db, generation, id, seq));
    settle(pending, name).await
}

/// Waits for the record of the previous success, if one is in flight; whether it was recorded.
async fn settle(pending: &mut Option<JoinHandle<Result<(), crate::service::Error>>>, name: &str) -> bool {
    let Some(write) = pending.take() else { return true };
    let outcome = match write.await {
        Ok(outcome) => outcome,
        Err(e) => Err(crate::service::Error::Internal(e.to_string())),
    };
    if let Err(e) = &outcome {
        // The event will be sent again (with the same webhook-id): at least once.
        tracing::warn!(webhook = %name, error = %e, "webhooks: could not record a delivery");
    }
    outcome.is_ok()
}

/// A kept-alive HTTP/1.1 connection to an endpoint's receiver (for `url`), its driver beside it.
struct Kept {
    url: String,
    send: http1::SendRequest<Full<Bytes>>,
    _driver: Owned,
}

/// POSTs `body` (event `id`) to `url`, signed with `secret` and sent as `agent`, on the kept-alive connection when
/// there is one that still works, else on a new one (kept for the next event; over `tls` for
/// an `https://` URL); `Ok` on a 2xx.
async fn post(
    kept: &mut Option<Kept>,
    tls: &Tls,
    agent: &str,
    url: &str,
    secret: &str,
    id: &str,
    body: &str,
) -> Result<(), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
    let host = uri.host().ok_or("the URL has no host")?.trim_start_matches('[').trim_end_matches(']').to_owned();
    let https = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = uri.authority().map_or_else(|| host.clone(), |a| a.as_str().to_owned());
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let timestamp = clock::now().unix_timestamp();
    let signature = hooks::sign(secret, id, timestamp, body).map_err(|e| e.to_string())?;
    let request = || {
        hyper::Request::builder()
            .method("POST")
            .uri(path.as_str())
            .header(hyper::header::HOST, authority.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, agent)
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature.as_str())
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
            .map_err(|e| format!("cannot build the request: {e}"))
    };
    if let Some(mut k) = kept.take().filter(|k| k.url == url)
        && k.send.ready().await.is_ok()
    {
        match k.send.send_request(request()?).await {
            Ok(resp) => {
                let outcome = answer(resp).await;
                *kept = Some(k);
                return outcome;
            }
            // The request never reached the receiver (the connection was closed): send it anew.
            Err(e) if e.is_canceled() || e.is_closed() => {}
            Err(e) => return Err(format!("sending: {e}")),
        }
    }
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut send, driver) = if https {
        let stream = tls.connect(&host, stream).await?;
        let (send, conn) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
        (send, Owned(tokio::spawn(async move { drop(conn.await) })))
    } else {
        let (send, conn) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
        (send, Owned(tokio::spawn(async move { drop(conn.await) })))
    };
    let resp = send.send_request(request()?).await.map_err(|e| format!("sending: {e}"))?;
    let outcome = answer(resp).await;
    *kept = Some(Kept { url: url.to_owned(), send, _driver: driver });
    outcome
}

/// Reads (a bounded part of) the answer, so the connection can serve the next request; `Ok` on a
/// 2xx.
async fn answer(resp: hyper::Response<hyper::body::Incoming>) -> Result<(), String> {
    let status = resp.status();
    let _ = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER).collect().await;
    if status.is_success() { Ok(()) } else { Err(format!("answered HTTP {}", status.as_u16())) }
}
