//! `feed` (issue 14): how far the change feed (`GET /api/v1/events`) trails the writes it
//! reports, and what recording an event in every write leaves of the create rate.
//!
//! A fresh database is served in this process. `--clients` IdP clients (a token of scope
//! `scim`) send changes paced at `--rate` per second in all for `--seconds`: mostly creates
//! (`POST /Users`), every tenth a PATCH of a user the client created, every tenth a DELETE of one
//! it patched, so that each (event type, user) pair happens once. Beside them one follower with
//! an app token long-polls the feed (`wait=30`, `limit=1000`) and notes when each event's answer
//! was read whole. An event's lag is that moment minus the moment its change's client read the
//! 2xx, matched by event type and user id (an event may arrive before its client has read the
//! 2xx; it then counts as 0 and as "early"). Every acknowledged change must come out of the feed
//! exactly once and nothing else may: the run fails otherwise.
//!
//! A webhook receives the same changes: a receiver in this process (`hooks`: hyper on loopback,
//! answering `204`) is added as a webhook of all types before the server starts, and the
//! server's webhook worker delivers to it. Its lag is measured as the follower's (the POST read
//! whole minus the change's 2xx, matched by type and user id); every delivery's signature is
//! verified, every change's event must come (duplicates are counted, as at least once allows),
//! and whether the first deliveries kept `seq` order is reported. The webhook is removed once
//! everything came, before the unpaced creates.
//!
//! Then, with the feed idle, `--unpaced-clients` connections (32, as `compare`) create users as
//! fast as the server answers for `--unpaced-seconds`: the create rate with an event in every
//! write. There is no way to turn events off, so the figure to set it beside is the create rate
//! of `compare` (before issue 14, and from a child process; see `docs/benchmarks.md`).

mod hooks;
mod report;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::{Method, StatusCode};
use reqwest::header;
use scimbox::db::{Db, tokens};
use scimbox::{auth, clock};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{Machine, positive};
use crate::instance::Scimbox;
use crate::load::{self, Budget, Call, Target};
use crate::stats::Latency;
pub use report::FeedReport;

/// `scimbox-bench feed`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Changes per second, all clients together.
    #[arg(long, value_parser = positive, default_value = "1000")]
    rate: usize,
    /// Concurrent IdP clients sending the changes.
    #[arg(long, value_parser = positive, default_value_t = 8)]
    clients: usize,
    /// Seconds of paced changes.
    #[arg(long, value_parser = seconds, default_value_t = 10.0)]
    seconds: f64,
    /// Seconds of unpaced creates afterwards (the create rate with events).
    #[arg(long, value_parser = seconds, default_value_t = 5.0)]
    unpaced_seconds: f64,
    /// Connections of the unpaced creates (32, as `compare`'s create).
    #[arg(long, value_parser = positive, default_value_t = 32)]
    unpaced_clients: usize,
    /// A quick run that only checks the workload works (200 changes/s for 1 s, 0.3 s unpaced).
    #[arg(long)]
    smoke: bool,
    /// Where the temporary database goes (default: the system's temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// A number of seconds above 0 and at most a day.
fn seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!("\"{s}\" is not a number of seconds above 0 (at most 86400)")),
    }
}

/// The feed's path, beside the SCIM base path.
const FEED_PATH: &str = "/api/v1/events";
/// The follower's long poll, in seconds, and its page size (the feed's maximum).
const WAIT: u64 = 30;
const LIMIT: usize = 1000;
/// How long the run waits, once the changes are done, for the feed to deliver the rest.
const DRAIN: Duration = Duration::from_secs(WAIT + 10);

/// An event's identity for matching: its type (`user.created`...) and the user's id.
type Key = (String, String);

/// Runs the benchmark.
pub async fn run(args: &Args) -> anyhow::Result<FeedReport> {
    let (rate, seconds, unpaced) =
        if args.smoke { (200, 1.0, 0.3) } else { (args.rate, args.seconds, args.unpaced_seconds) };
    let (_dir, path, db) = super::fresh_db(args.dir.as_ref())?;
    let app_token = issue_app_token(&db).await?;
    let receiver = hooks::start(&db).await?;
    let server = Scimbox::start(db.clone(), &path).await?;
    // `Scimbox::start` is the library's `serve`; `scimbox serve` runs the webhook worker beside
    // it (`scimbox::run`), and so does this run.
    let tls = scimbox::webhooks::Tls::new(None).map_err(|e| anyhow::anyhow!(e))?;
    let instance = format!("bench pid {}", std::process::id());
    let worker = tokio::spawn(scimbox::webhooks::run(db.clone(), server.base.clone(), 1.0, tls, instance));
    let result =
        drive(&server, &db, receiver, &app_token, rate, args.clients, seconds, (unpaced, args.unpaced_clients)).await;
    worker.abort();
    server.stop().await?;
    let (paced, follower, received, create) = result?;
    FeedReport::new(Machine::this(), rate, args.clients, seconds, paced, follower, &received, create)
}

/// Issues the follower's token: scope `app`, the kind an application reads the feed with.
async fn issue_app_token(db: &Db) -> anyhow::Result<String> {
    let token = auth::generate();
    let hash = auth::hash(&token);
    let now = clock::now_stamp();
    db.write(move |c| tokens::insert_scoped(c, "bench-follower", &hash, &now, None, "app"))
        .await
        .context("cannot issue the app token")?;
    Ok(token)
}

/// Where the in-process server listens, split out of its base URL (`http://ADDR/PATH`).
fn split_base(base: &str) -> anyhow::Result<(SocketAddr, String)> {
    let rest = base.strip_prefix("http://").context("the server's base URL is not http://")?;
    let (addr, path) = rest.split_once('/').unwrap_or((rest, ""));
    let addr = addr.parse().with_context(|| format!("the server's address {addr} is not IP:PORT"))?;
    Ok((addr, format!("/{path}").trim_end_matches('/').to_owned()))
}

/// The paced changes: what each was, and when its 2xx was read.
pub struct Paced {
    /// Acknowledged changes by key, with the moment the client read the 2xx.
    acks: HashMap<Key, Instant>,
    /// Creates, patches and deletes acknowledged.
    counts: [u64; 3],
    /// From the first scheduled change to the last 2xx, in seconds.
    seconds: f64,
}

/// What the follower saw.
pub struct Followed {
    /// Each event's key and when its answer was read whole.
    received: Vec<(Key, Instant)>,
    /// Polls answered.
    polls: u64,
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    server: &Scimbox,
    db: &Db,
    receiver: hooks::Receiver,
    app_token: &str,
    rate: usize,
    clients: usize,
    seconds: f64,
    (unpaced, unpaced_clients): (f64, usize),
) -> anyhow::Result<(Paced, Followed, hooks::Received, load::Throughput)> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(clients + 1)
        .build()
        .context("cannot build the HTTP client")?;
    let (addr, base_path) = split_base(&server.base)?;
    let feed_url = format!("http://{addr}{FEED_PATH}");
    let (done_tx, done_rx) = watch::channel(None::<usize>);
    let follower = tokio::spawn(follow(http.clone(), feed_url, format!("Bearer {app_token}"), done_rx));

    eprintln!("feed: {rate} changes/s from {clients} clients for {seconds} s, one follower, one webhook");
    let paced = changes(&http, &server.base, &server.token, rate, clients, seconds).await;
    // Tell the follower how many to expect (0 if the changes failed, so that it stops too).
    let _ = done_tx.send(Some(paced.as_ref().map_or(0, |p| p.acks.len())));
    let followed = follower.await.context("the follower panicked")?;
    let (paced, followed) = (paced?, followed?);
    // The webhook had the changes' time and the follower's to catch up; then it goes, so that
    // the unpaced creates below measure the same thing as before webhooks.
    receiver.wait_for(paced.acks.len(), DRAIN).await;
    let received = receiver.finish(db).await?;
    tokio::time::sleep(scimbox::webhooks::POLL * 2).await;

    eprintln!("feed: unpaced creates from {unpaced_clients} clients for {unpaced} s");
    let target = Target { addr, base_path, auth: Some(format!("Bearer {}", server.token)) };
    let script = load::single(
        |n| Call::with_body(Method::POST, "/Users".into(), user_body(&format!("fast{n}")).to_string()),
        |_, answer| answer.expect(StatusCode::CREATED),
    );
    let budget = Budget::Time { limit: Duration::from_secs_f64(unpaced), max: u64::MAX };
    let create = load::run(&target, unpaced_clients, budget, script).await.context("unpaced creates")?;
    Ok((paced, followed, received, create))
}

fn user_body(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("{name}@bench.example"),
        "displayName": format!("Feed {name}"),
        "active": true,
    })
}

/// The paced changes: change `n` (of `rate * seconds`) is due `n / rate` seconds after the
/// start; a client that falls behind sends at once, so the achieved rate shows the shortfall.
async fn changes(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    rate: usize,
    clients: usize,
    seconds: f64,
) -> anyhow::Result<Paced> {
    let total = (rate as f64 * seconds).round().max(1.0) as u64;
    let next = Arc::new(AtomicU64::new(0));
    let start = tokio::time::Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let client = Changer { http: http.clone(), base: base.to_owned(), auth: format!("Bearer {token}") };
        let next = Arc::clone(&next);
        tasks.spawn(async move {
            let (mut acks, mut counts) = (Vec::new(), [0u64; 3]);
            let (mut fresh, mut patched) = (VecDeque::new(), VecDeque::new());
            let mut own = 0u64;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                tokio::time::sleep_until(start + interval * u32::try_from(n).unwrap_or(u32::MAX)).await;
                own += 1;
                let (key, kind) = match own % 10 {
                    4 if !fresh.is_empty() => {
                        let id: String = fresh.pop_front().unwrap_or_default();
                        client.patch(&id, n).await?;
                        patched.push_back(id.clone());
                        (("user.updated".to_owned(), id), 1)
                    }
                    9 if !patched.is_empty() => {
                        let id: String = patched.pop_front().unwrap_or_default();
                        client.delete(&id).await?;
                        (("user.deleted".to_owned(), id), 2)
                    }
                    _ => {
                        let id = client.create(n).await?;
                        fresh.push_back(id.clone());
                        (("user.created".to_owned(), id), 0)
                    }
                };
                acks.push((key, Instant::now()));
                counts[kind] += 1;
            }
            anyhow::Ok((acks, counts))
        });
    }
    let (mut acks, mut counts, mut last) = (HashMap::new(), [0u64; 3], None::<Instant>);
    while let Some(done) = tasks.join_next().await {
        let (task_acks, task_counts) = done.context("a client panicked")??;
        for (key, at) in task_acks {
            last = Some(last.map_or(at, |l| l.max(at)));
            anyhow::ensure!(acks.insert(key.clone(), at).is_none(), "change {key:?} acknowledged twice");
        }
        for (sum, c) in counts.iter_mut().zip(task_counts) {
            *sum += c;
        }
    }
    let seconds = last.map_or(0.0, |l| l.saturating_duration_since(start.into_std()).as_secs_f64());
    Ok(Paced { acks, counts, seconds })
}

/// One IdP client.
struct Changer {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl Changer {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header(header::AUTHORIZATION, &self.auth)
            .header(header::ACCEPT, "application/scim+json");
        if let Some(b) = body {
            req = req.header(header::CONTENT_TYPE, "application/scim+json").body(b.to_string());
        }
        let resp = req.send().await.with_context(|| format!("{method} {path}: no answer"))?;
        let status = resp.status();
        let bytes = resp.bytes().await.with_context(|| format!("{method} {path}: cannot read the answer"))?;
        anyhow::ensure!(
            status.is_success(),
            "{method} {path}: expected a 2xx, got {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(600)])
        );
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).with_context(|| format!("{method} {path}: the answer is not JSON"))
    }

    /// POST /Users; the new user's id.
    async fn create(&self, n: u64) -> anyhow::Result<String> {
        let body = self.send(reqwest::Method::POST, "/Users", Some(user_body(&format!("feed{n}")))).await?;
        body["id"].as_str().map(str::to_owned).context("POST /Users: the answer has no id")
    }

    /// PATCH the user's displayName (an update, not a deactivation).
    async fn patch(&self, id: &str, n: u64) -> anyhow::Result<()> {
        let op = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "path": "displayName", "value": format!("Patched {n}") }],
        });
        self.send(reqwest::Method::PATCH, &format!("/Users/{id}"), Some(op)).await.map(drop)
    }

    async fn delete(&self, id: &str) -> anyhow::Result<()> {
        self.send(reqwest::Method::DELETE, &format!("/Users/{id}"), None).await.map(drop)
    }
}

/// The follower: long-polls the feed from its start, noting when each event arrived, until
/// `done` carries the number of changes acknowledged and that many events are in, or, once the
/// changes are done, a poll comes back empty (nothing more is coming) or [`DRAIN`] has passed.
async fn follow(
    http: reqwest::Client,
    url: String,
    auth: String,
    mut done: watch::Receiver<Option<usize>>,
) -> anyhow::Result<Followed> {
    let (mut received, mut polls, mut after) = (Vec::new(), 0u64, String::new());
    let mut drain_until = None::<Instant>;
    loop {
        let expected = *done.borrow();
        if let Some(total) = expected {
            if received.len() >= total {
                break;
            }
            let until = *drain_until.get_or_insert_with(|| Instant::now() + DRAIN);
            anyhow::ensure!(
                Instant::now() < until,
                "the feed delivered {} events of {total} changes within {DRAIN:?} of the last",
                received.len()
            );
        }
        let query = [("after", after.as_str()), ("wait", &WAIT.to_string()), ("limit", &LIMIT.to_string())];
        let poll = http.get(&url).query(&query).header(header::AUTHORIZATION, &auth).send();
        let resp = tokio::select! {
            resp = poll => resp,
            // The changes ended while this poll waits: stop it if nothing is missing.
            changed = done.changed(), if expected.is_none() => {
                if changed.is_err() {
                    anyhow::bail!("the run ended without saying how many changes were made");
                }
                continue;
            }
        };
        let resp = resp.context("GET the feed: no answer")?;
        let status = resp.status();
        let bytes = resp.bytes().await.context("GET the feed: cannot read the answer")?;
        let at = Instant::now();
        anyhow::ensure!(
            status == StatusCode::OK,
            "GET the feed: expected 200, got {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(600)])
        );
        polls += 1;
        let body: Value = serde_json::from_slice(&bytes).context("GET the feed: the answer is not JSON")?;
        let events = body["events"].as_array().context("GET the feed: no events array")?;
        for e in events {
            let kind = e["type"].as_str().context("an event without a type")?;
            let id = e["resource"]["id"].as_str().context("an event without a resource id")?;
            received.push(((kind.to_owned(), id.to_owned()), at));
        }
        after = body["next"].as_str().context("GET the feed: no next cursor")?.to_owned();
        if events.is_empty() && expected.is_some() {
            break;
        }
    }
    Ok(Followed { received, polls })
}

/// Matches events to changes: every change once, nothing else.
fn lags(paced: &Paced, followed: &Followed) -> anyhow::Result<(Vec<Duration>, u64)> {
    let (mut lags, mut early) = (Vec::with_capacity(followed.received.len()), 0);
    let mut seen = std::collections::HashSet::new();
    for (key, at) in &followed.received {
        let acked = paced.acks.get(key).with_context(|| format!("event {key:?} matches no acknowledged change"))?;
        anyhow::ensure!(seen.insert(key), "event {key:?} came twice");
        if at < acked {
            early += 1;
        }
        lags.push(at.saturating_duration_since(*acked));
    }
    anyhow::ensure!(
        followed.received.len() == paced.acks.len(),
        "{} events seen for {} changes acknowledged",
        followed.received.len(),
        paced.acks.len()
    );
    Ok((lags, early))
}

/// The lag figures of a run: percentiles, and how many events beat their 2xx.
fn lag_figures(paced: &Paced, followed: &Followed) -> anyhow::Result<(Latency, u64)> {
    let (lags, early) = lags(paced, followed)?;
    Ok((Latency::of(&lags).context("no event was seen")?, early))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: &str, id: &str) -> Key {
        (kind.to_owned(), id.to_owned())
    }

    #[test]
    fn base_urls_split_into_address_and_path() {
        let (addr, path) = split_base("http://127.0.0.1:8080/scim/v2").expect("splits");
        assert_eq!((addr.port(), path.as_str()), (8080, "/scim/v2"));
        assert_eq!(split_base("http://127.0.0.1:1").expect("no path").1, "");
        assert!(split_base("https://x/").is_err());
    }

    #[test]
    fn a_missing_or_foreign_event_fails_the_run() {
        let t = Instant::now();
        let later = t + Duration::from_millis(5);
        let acks = HashMap::from([(key("user.created", "a"), t), (key("user.deleted", "a"), t)]);
        let paced = Paced { acks, counts: [1, 0, 1], seconds: 1.0 };
        let both =
            Followed { received: vec![(key("user.created", "a"), later), (key("user.deleted", "a"), t)], polls: 1 };
        let (matched, early) = lags(&paced, &both).expect("all matched");
        assert_eq!((matched, early), (vec![Duration::from_millis(5), Duration::ZERO], 0));
        let missing = Followed { received: vec![(key("user.created", "a"), later)], polls: 1 };
        assert!(lags(&paced, &missing).is_err());
        let foreign = Followed { received: vec![(key("user.updated", "a"), later)], polls: 1 };
        assert!(lags(&paced, &foreign).is_err());
    }
}
