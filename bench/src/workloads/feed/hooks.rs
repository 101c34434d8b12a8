//! The webhook side of `feed`: a receiver in this process (hyper's HTTP/1.1 server on loopback,
//! answering `204`) registered as a webhook before the server starts, and what it saw.
//!
//! Every delivery's Standard Webhooks signature is verified here, independently of the server's
//! signing code (HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}` keyed with the bytes
//! of the secret's base64, one of the `v1,` signatures matching), and its `webhook-id` must be
//! the body's `id`: the run measures deliveries an application would accept, and fails if any
//! would be refused.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use scimbox::db::Db;
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{Key, Paced};
use crate::stats::Latency;

/// The webhook's name in the benchmark's database.
const NAME: &str = "bench-receiver";

/// One POST the receiver accepted.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// When its body had been read whole (as the follower's "answer read whole").
    at: Instant,
    /// Its `webhook-id` header (the event's id).
    id: String,
    /// The event's `seq`.
    seq: i64,
    /// Its type and user id, to match it to its change.
    key: Key,
}

/// What the receiver saw: deliveries in the order they arrived, and the refused ones.
#[derive(Default)]
struct Log {
    deliveries: Vec<Delivery>,
    /// Deliveries whose signature or headers did not verify, with why (the first few).
    refused: Vec<String>,
    refused_count: u64,
}

/// The receiver, listening; [`Receiver::finish`] stops it and hands back what it saw.
pub struct Receiver {
    log: Arc<Mutex<Log>>,
    task: JoinHandle<()>,
}

/// Binds the receiver on a loopback port, registers it as a webhook (all event types) on `db` as
/// `scimbox webhook add` does, and serves it with the secret that came back.
pub async fn start(db: &Db) -> anyhow::Result<Receiver> {
    let listener = TcpListener::bind("127.0.0.1:0").await.context("cannot bind the webhook receiver's port")?;
    let addr = listener.local_addr().context("the receiver's listener has no address")?;
    let url = format!("http://{addr}/hook");
    let added = scimbox::service::webhooks::add(db, NAME, &url, None)
        .await
        .map_err(|e| anyhow::anyhow!("cannot add the webhook: {e}"))?;
    let key = secret_key(&added.secret)?;
    let log = Arc::new(Mutex::new(Log::default()));
    let task = tokio::spawn(serve(listener, Arc::new(key), Arc::clone(&log)));
    Ok(Receiver { log, task })
}

/// The HMAC key a Standard Webhooks secret stands for: the bytes of its base64 after `whsec_`.
fn secret_key(secret: &str) -> anyhow::Result<Vec<u8>> {
    let b64 = secret.strip_prefix("whsec_").context("the webhook secret does not start with whsec_")?;
    base64::engine::general_purpose::STANDARD.decode(b64).context("the webhook secret is not base64")
}

async fn serve(listener: TcpListener, key: Arc<Vec<u8>>, log: Arc<Mutex<Log>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let (key, log) = (Arc::clone(&key), Arc::clone(&log));
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| receive(req, Arc::clone(&key), Arc::clone(&log)));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// One POST: read it whole, verify it, note it; `204`, or `400` when it does not verify.
async fn receive(
    req: Request<Incoming>,
    key: Arc<Vec<u8>>,
    log: Arc<Mutex<Log>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(http_body_util::Collected::to_bytes);
    let at = Instant::now();
    let outcome = body.map_err(|e| format!("cannot read the body: {e}")).and_then(|b| verify(&parts.headers, &b, &key));
    let mut log = log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let status = match outcome {
        Ok((id, seq, key)) => {
            log.deliveries.push(Delivery { at, id, seq, key });
            StatusCode::NO_CONTENT
        }
        Err(why) => {
            log.refused_count += 1;
            if log.refused.len() < 5 {
                log.refused.push(why);
            }
            StatusCode::BAD_REQUEST
        }
    };
    drop(log);
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    Ok(resp)
}

/// Checks a delivery as a Standard Webhooks library would; its id, seq and key.
fn verify(headers: &hyper::HeaderMap, body: &[u8], key: &[u8]) -> Result<(String, i64, Key), String> {
    let header = |name: &str| {
        headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned).ok_or(format!("no {name} header"))
    };
    let (id, timestamp, signatures) =
        (header("webhook-id")?, header("webhook-timestamp")?, header("webhook-signature")?);
    let signed = |sig: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| e.to_string())?;
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        Ok::<_, String>(mac.verify_slice(sig).is_ok())
    };
    let mut good = false;
    for sig in signatures.split_whitespace().filter_map(|s| s.strip_prefix("v1,")) {
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(sig) else { continue };
        if signed(&bytes)? {
            good = true;
            break;
        }
    }
    if !good {
        return Err(format!("event {id}: no v1 signature matches ({signatures})"));
    }
    let event: Value = serde_json::from_slice(body).map_err(|e| format!("event {id}: the body is not JSON: {e}"))?;
    if event["id"].as_str() != Some(id.as_str()) {
        return Err(format!("webhook-id {id} is not the body's id {}", event["id"]));
    }
    let seq = event["seq"].as_i64().ok_or(format!("event {id} has no seq"))?;
    let kind = event["type"].as_str().ok_or(format!("event {id} has no type"))?;
    let user = event["resource"]["id"].as_str().ok_or(format!("event {id} has no resource id"))?;
    Ok((id, seq, (kind.to_owned(), user.to_owned())))
}

impl Receiver {
    /// Distinct events received so far.
    fn distinct(&self) -> usize {
        let log = self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        log.deliveries.iter().map(|d| d.id.as_str()).collect::<HashSet<_>>().len()
    }

    /// Waits until `expected` distinct events have come, or `limit` has passed (no error: the
    /// figures then say what is missing).
    pub async fn wait_for(&self, expected: usize, limit: Duration) {
        let until = Instant::now() + limit;
        while self.distinct() < expected && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Removes the webhook (the server stops delivering within a second), stops listening, and
    /// hands back what came.
    pub async fn finish(self, db: &Db) -> anyhow::Result<Received> {
        scimbox::service::webhooks::remove(db, NAME)
            .await
            .map_err(|e| anyhow::anyhow!("cannot remove the webhook: {e}"))?;
        self.task.abort();
        let log = std::mem::take(&mut *self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        Ok(Received { deliveries: log.deliveries, refused: log.refused, refused_count: log.refused_count })
    }
}

/// What the receiver saw, for the report.
pub struct Received {
    deliveries: Vec<Delivery>,
    refused: Vec<String>,
    refused_count: u64,
}

/// The webhook figures of a run.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookFigures {
    /// POSTs accepted (signature verified), duplicates included.
    pub deliveries: u64,
    /// Distinct events received (always equal to the changes: the run fails otherwise).
    pub events_received: u64,
    /// POSTs of an event already received (at least once allows them).
    pub duplicates: u64,
    /// Whether each event's first delivery came after every lower `seq`'s.
    pub order_kept: bool,
    /// From a change's 2xx to its event's first delivery read whole by the receiver, in ms.
    pub lag: Latency,
    /// Events delivered before their change's client had read the 2xx (counted as 0 ms).
    pub early: u64,
}

impl WebhookFigures {
    /// Matches deliveries to changes; fails if any delivery did not verify, or unless every
    /// change's event came and nothing else did.
    pub fn new(paced: &Paced, got: &Received) -> anyhow::Result<Self> {
        anyhow::ensure!(
            got.refused_count == 0,
            "{} webhook deliveries did not verify, such as: {}",
            got.refused_count,
            got.refused.join("; ")
        );
        let (mut seen, mut lags, mut early, mut last_seq, mut order_kept) =
            (HashSet::new(), Vec::new(), 0u64, i64::MIN, true);
        for d in &got.deliveries {
            if !seen.insert(d.id.as_str()) {
                continue;
            }
            order_kept &= d.seq > last_seq;
            last_seq = last_seq.max(d.seq);
            let acked = paced
                .acks
                .get(&d.key)
                .with_context(|| format!("webhook event {:?} matches no acknowledged change", d.key))?;
            if d.at < *acked {
                early += 1;
            }
            lags.push(d.at.saturating_duration_since(*acked));
        }
        let keys: HashSet<&Key> = got.deliveries.iter().map(|d| &d.key).collect();
        anyhow::ensure!(
            keys.len() == seen.len() && seen.len() == paced.acks.len(),
            "the webhook received {} events ({} distinct changes) for {} changes acknowledged",
            seen.len(),
            keys.len(),
            paced.acks.len()
        );
        Ok(Self {
            deliveries: got.deliveries.len() as u64,
            events_received: seen.len() as u64,
            duplicates: (got.deliveries.len() - seen.len()) as u64,
            order_kept,
            lag: Latency::of(&lags).context("no webhook event came")?,
            early,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn delivery(at: Instant, id: &str, seq: i64, kind: &str) -> Delivery {
        Delivery { at, id: id.to_owned(), seq, key: (kind.to_owned(), "u".to_owned()) }
    }

    fn received(deliveries: Vec<Delivery>) -> Received {
        Received { deliveries, refused: Vec::new(), refused_count: 0 }
    }

    #[test]
    fn duplicates_order_and_missing_events() {
        let t = Instant::now();
        let later = t + Duration::from_millis(3);
        let acks = HashMap::from([(("user.created".into(), "u".into()), t), (("user.deleted".into(), "u".into()), t)]);
        let paced = Paced { acks, counts: [1, 0, 1], seconds: 1.0 };
        let ok = received(vec![
            delivery(later, "a", 1, "user.created"),
            delivery(later, "a", 1, "user.created"),
            delivery(later, "b", 2, "user.deleted"),
        ]);
        let f = WebhookFigures::new(&paced, &ok).expect("all came");
        assert_eq!((f.deliveries, f.events_received, f.duplicates, f.order_kept), (3, 2, 1, true));
        assert_eq!(f.lag.max_ms, 3.0);
        let swapped = received(vec![delivery(later, "b", 2, "user.deleted"), delivery(later, "a", 1, "user.created")]);
        assert!(!WebhookFigures::new(&paced, &swapped).expect("all came").order_kept);
        let missing = received(vec![delivery(later, "a", 1, "user.created")]);
        assert!(WebhookFigures::new(&paced, &missing).is_err());
        let refused = Received { deliveries: Vec::new(), refused: vec!["bad".into()], refused_count: 1 };
        assert!(WebhookFigures::new(&paced, &refused).is_err());
    }

    /// The Standard Webhooks specification's example delivery verifies; a changed body does not.
    #[test]
    fn verifies_the_specification_s_example() {
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("a secret");
        let mut headers = hyper::HeaderMap::new();
        headers.insert("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse().expect("a value"));
        headers.insert("webhook-timestamp", "1614265330".parse().expect("a value"));
        headers
            .insert("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse().expect("a value"));
        let body = br#"{"test": 2432232314}"#;
        // It verifies, then fails on the body (no id): the signature step passed.
        let err = verify(&headers, body, &key).expect_err("the example is not an event");
        assert!(err.contains("is not the body's id"), "{err}");
        let err = verify(&headers, br#"{"test": 2432232315}"#, &key).expect_err("changed");
        assert!(err.contains("no v1 signature matches"), "{err}");
    }
}
