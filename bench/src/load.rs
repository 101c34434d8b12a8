//! The load generator: many keep-alive HTTP/1.1 connections, each sending its next request as soon
//! as the previous answer is read whole, until a request count or a time budget runs out.
//!
//! It is a plain hyper client (no pool, no redirects, no decompression) so that the client costs
//! as little CPU as it can: on a 2-core machine the generator and the server share the cores.
//! Every answer is checked by the caller's `check` before it counts; the first failure stops the
//! run with an error that quotes the request and the body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;

use crate::postgres::DbCost;
use crate::stats::Latency;

/// A server to load: where it listens, the path its SCIM API is under and the bearer token.
#[derive(Debug, Clone)]
pub struct Target {
    /// The loopback address.
    pub addr: SocketAddr,
    /// The SCIM base path, such as `/scim/v2`, without a trailing slash (may be empty).
    pub base_path: String,
    /// The `Authorization` header value, if the server wants one.
    pub auth: Option<String>,
}

/// One request of a run, relative to the target's base path.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method.
    pub method: Method,
    /// Path and query after the base path, such as `/Users/ID` (already percent-encoded).
    pub path: String,
    /// A JSON body.
    pub body: Option<String>,
}

impl Call {
    /// A GET.
    pub fn get(path: String) -> Self {
        Self { method: Method::GET, path, body: None }
    }

    /// A request with a JSON body.
    pub fn with_body(method: Method, path: String, body: String) -> Self {
        Self { method, path, body: Some(body) }
    }
}

/// One answer, read whole.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// Fails unless the status is `want`.
    pub fn expect(&self, want: StatusCode) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.status == want,
            "expected {want}, got {}: {}",
            self.status,
            String::from_utf8_lossy(&self.body[..self.body.len().min(600)])
        );
        Ok(())
    }

    /// The body as JSON.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("the answer is not JSON")
    }
}

/// When a run ends.
#[derive(Debug, Clone, Copy)]
pub enum Budget {
    /// After exactly this many units (numbered `0..n`).
    Units(u64),
    /// Once this much time has passed (units already begun are finished), or after `max`
    /// units, whichever comes first.
    Time { limit: Duration, max: u64 },
}

/// What a run measured.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Throughput {
    /// Connections (concurrent clients).
    pub connections: usize,
    /// Units of work done (a unit is one request, or a short sequence such as Entra ID's
    /// lookup, create and update of one user).
    pub units: u64,
    /// Requests answered and checked.
    pub requests: u64,
    /// Wall time of the whole run, in seconds.
    pub seconds: f64,
    /// Units per second.
    pub rate: f64,
    /// Latency of each request.
    pub latency: Latency,
    /// The server's CPU time per unit, in microseconds, when it was measured.
    pub server_cpu_us: Option<f64>,
    /// What its PostgreSQL database spent per unit, when it has one (`compare --db-url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<DbCost>,
}

/// What a run sends: numbered units of work, each one request or a short sequence of them on the
/// same connection (Entra ID's lookup, create, then update of one user is one unit).
pub trait Script: Send + Sync + 'static {
    /// The first request of unit `n`.
    fn first(&self, n: u64) -> Call;
    /// Checks the answer to step `step` (0 for the first request) of unit `n` and returns the
    /// unit's next request, or `None` when the unit is done.
    fn next(&self, n: u64, step: usize, answer: &Answer) -> anyhow::Result<Option<Call>>;
}

/// A script of one request per unit: `make(n)`, checked by `check(n, answer)`.
pub struct Single<M, C> {
    make: M,
    check: C,
}

/// The [`Single`] script of `make` and `check`.
pub fn single<M, C>(make: M, check: C) -> Single<M, C>
where
    M: Fn(u64) -> Call + Send + Sync + 'static,
    C: Fn(u64, &Answer) -> anyhow::Result<()> + Send + Sync + 'static,
{
    Single { make, check }
}

impl<M, C> Script for Single<M, C>
where
    M: Fn(u64) -> Call + Send + Sync + 'static,
    C: Fn(u64, &Answer) -> anyhow::Result<()> + Send + Sync + 'static,
{
    fn first(&self, n: u64) -> Call {
        (self.make)(n)
    }

    fn next(&self, n: u64, _step: usize, answer: &Answer) -> anyhow::Result<Option<Call>> {
        (self.check)(n, answer).map(|()| None)
    }
}

/// Runs units of `script` over `connections` connections to `target` until `budget` is spent.
pub async fn run(
    target: &Target,
    connections: usize,
    budget: Budget,
    script: impl Script,
) -> anyhow::Result<Throughput> {
    run_on(std::slice::from_ref(target), connections, budget, script).await
}

/// [`run`] over several instances of one server: connection `i` goes to `targets[i % len]`,
/// round robin, as a load balancer would spread them (every instance must hold the same token).
pub async fn run_on(
    targets: &[Target],
    connections: usize,
    budget: Budget,
    script: impl Script,
) -> anyhow::Result<Throughput> {
    anyhow::ensure!(!targets.is_empty(), "no server to load");
    let shared = Arc::new(Shared { next: AtomicU64::new(0), script, targets: targets.to_vec() });
    let start = Instant::now();
    let (deadline, max) = match budget {
        Budget::Units(n) => (None, n),
        Budget::Time { limit, max } => (Some(start + limit), max),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..connections.max(1) {
        let shared = Arc::clone(&shared);
        tasks.spawn(async move { shared.drive(i, max, deadline).await });
    }
    let (mut samples, mut units) = (Vec::new(), 0);
    while let Some(done) = tasks.join_next().await {
        let (done_units, done_samples) = done.context("a load task panicked")??;
        units += done_units;
        samples.extend(done_samples);
    }
    let seconds = start.elapsed().as_secs_f64();
    let latency = Latency::of(&samples).context("no request was answered")?;
    Ok(Throughput {
        connections: connections.max(1),
        units,
        requests: samples.len() as u64,
        seconds,
        rate: units as f64 / seconds,
        latency,
        server_cpu_us: None,
        db: None,
    })
}

/// Sends one request on a fresh connection (for set-up steps and checks).
pub async fn once(target: &Target, call: Call) -> anyhow::Result<Answer> {
    let mut conn = Connection::open(target).await?;
    conn.send(target, &call).await
}

struct Shared<S> {
    next: AtomicU64,
    script: S,
    targets: Vec<Target>,
}

impl<S: Script> Shared<S> {
    /// Connection `i`'s loop: take the next unit, run its requests, repeat. Returns the units
    /// done and the latency of every request.
    async fn drive(&self, i: usize, max: u64, deadline: Option<Instant>) -> anyhow::Result<(u64, Vec<Duration>)> {
        let target = &self.targets[i % self.targets.len()];
        let mut conn = Connection::open(target).await?;
        let (mut units, mut samples) = (0, Vec::new());
        loop {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            if n >= max {
                break;
            }
            let mut call = Some(self.script.first(n));
            let mut step = 0;
            while let Some(this) = call.take() {
                let start = Instant::now();
                let answer = conn.send(target, &this).await?;
                samples.push(start.elapsed());
                call = self.script.next(n, step, &answer).with_context(|| format!("{} {}", this.method, this.path))?;
                step += 1;
            }
            units += 1;
        }
        Ok((units, samples))
    }
}

/// One keep-alive connection.
struct Connection {
    sender: http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Connection {
    async fn open(target: &Target) -> anyhow::Result<Self> {
        let stream =
            TcpStream::connect(target.addr).await.with_context(|| format!("cannot connect to {}", target.addr))?;
        stream.set_nodelay(true).context("cannot set TCP_NODELAY")?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.context("the HTTP/1.1 handshake failed")?;
        tokio::spawn(async move {
            // The connection ends when the sender is dropped; an error then is the server closing.
            let _ = conn.await;
        });
        Ok(Self { sender, host: target.addr.to_string() })
    }

    async fn send(&mut self, target: &Target, call: &Call) -> anyhow::Result<Answer> {
        let uri = format!("{}{}", target.base_path, call.path);
        let mut req = Request::builder()
            .method(call.method.clone())
            .uri(&uri)
            .header(header::HOST, &self.host)
            .header(header::ACCEPT, "application/scim+json");
        if let Some(auth) = &target.auth {
            req = req.header(header::AUTHORIZATION, auth);
        }
        let body = match &call.body {
            Some(json) => {
                req = req.header(header::CONTENT_TYPE, "application/scim+json");
                Full::new(Bytes::from(json.clone()))
            }
            None => Full::new(Bytes::new()),
        };
        let req = req.body(body).with_context(|| format!("cannot build {} {uri}", call.method))?;
        self.sender.ready().await.with_context(|| format!("{} {uri}: the connection closed", call.method))?;
        let resp = self.sender.send_request(req).await.with_context(|| format!("{} {uri}: no answer", call.method))?;
        let status = resp.status();
        let body = resp.into_body().collect().await.with_context(|| format!("{} {uri}: cannot read", call.method))?;
        Ok(Answer { status, body: body.to_bytes() })
    }
}

/// Number `n` of a fixed pseudo-random walk over `0..total` (splitmix64): requests spread over
/// the data instead of walking it in order, the same walk in every run and for every server.
pub fn spread(n: u64, total: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % total.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_stays_in_range_and_reaches_most_values() {
        let hits: std::collections::HashSet<u64> = (0..1000).map(|n| spread(n, 100)).collect();
        assert!(hits.iter().all(|&h| h < 100));
        assert!(hits.len() > 90, "only {} of 100 values reached", hits.len());
        assert_eq!(spread(5, 0), 0);
    }
}
