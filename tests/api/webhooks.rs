//! Webhooks (issue 14, item 4; docs/webhooks.md) through the real binary and a real receiver:
//! `scimbox webhook add | list | remove | replay` against a running `scimbox serve`, which POSTs
//! each event to a small axum server here. Signatures are checked with HMAC-SHA256 computed
//! here from the Standard Webhooks specification and, when `target/conformance-venv` has the
//! `standardwebhooks` package (scripts/requirements-conformance.txt), by its Python verifier too;
//! with `CI` set a missing package fails the test (scripts/test.sh installs it first).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::auth_tokens::{Server, cli, create_token};
use crate::helpers::user;

/// One POST the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    pub(crate) id: String,
    timestamp: String,
    pub(crate) signature: String,
    body: String,
    pub(crate) event: Value,
    /// The `User-Agent`: `scimbox-webhooks/VERSION (ADDRESS pid PID)`, the sending instance.
    pub(crate) agent: String,
}

impl Got {
    pub(crate) fn seq(&self) -> i64 {
        self.event["seq"].as_i64().expect("seq")
    }
}

/// A webhook receiver: records every POST; answers 503 while `down` is above zero (counting
/// down one per request when `countdown`), else 204 after `delay`.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    refused: Arc<AtomicUsize>,
    down: Arc<AtomicUsize>,
    delay_ms: Arc<AtomicUsize>,
    addr: Option<SocketAddr>,
    /// Whether it is served over TLS ([`Receiver::start_tls`]).
    tls: bool,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        let (r, listener, app) = Receiver::bound(false).await;
        tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
        r
    }

    /// A receiver on a free port of 127.0.0.1, with the app that records into it (not served yet).
    async fn bound(tls: bool) -> (Receiver, tokio::net::TcpListener, axum::Router) {
        let mut r = Receiver { tls, ..Receiver::default() };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        r.addr = Some(listener.local_addr().expect("addr"));
        let state = r.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move { state.take(&headers, &body).await }
            }),
        );
        (r, listener, app)
    }

    /// [`Receiver::start`] behind TLS with `config` (its certificate and key): an https receiver.
    pub(crate) async fn start_tls(config: Arc<rustls::ServerConfig>) -> Receiver {
        let (r, listener, app) = Receiver::bound(true).await;
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to serve.
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    let service = hyper_util::service::TowerToHyperService::new(app);
                    let io = hyper_util::rt::TokioIo::new(tls);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                });
            }
        });
        r
    }

    pub(crate) fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/hook", self.addr.expect("started"))
    }

    async fn take(&self, headers: &HeaderMap, body: &Bytes) -> StatusCode {
        if self.down.load(Ordering::SeqCst) > 0 {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay as u64)).await;
        }
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let text = String::from_utf8(body.to_vec()).expect("utf-8 body");
        let event: Value = serde_json::from_str(&text).expect("a JSON body");
        assert_eq!(h("content-type"), "application/json");
        let got = Got {
            id: h("webhook-id"),
            timestamp: h("webhook-timestamp"),
            signature: h("webhook-signature"),
            body: text,
            event,
            agent: h("user-agent"),
        };
        self.got.lock().expect("lock").push(got);
        StatusCode::NO_CONTENT
    }

    /// Answers each POST only after `ms` milliseconds from now on.
    pub(crate) fn set_delay(&self, ms: usize) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }

    pub(crate) fn got(&self) -> Vec<Got> {
        self.got.lock().expect("lock").clone()
    }

    /// Waits (up to `within`) until the received events include `n` distinct ones.
    pub(crate) async fn wait_for(&self, n: usize, within: Duration) -> Vec<Got> {
        let until = Instant::now() + within;
        loop {
            let got = self.got();
            let distinct: HashSet<&str> = got.iter().map(|g| g.id.as_str()).collect();
            if distinct.len() >= n || Instant::now() > until {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The Standard Webhooks signature, computed here from the specification: base64 of
/// HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with the base64-decoded part after `whsec_`.
pub(crate) fn expected_signature(secret: &str, g: &Got) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{}.{}.{}", g.id, g.timestamp, g.body).as_bytes());
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// Asserts the delivery order: each event reaches the receiver for the first time only after
/// every event before it (of its types) did; duplicates (a resend) are allowed. Returns the
/// distinct events in order.
#[track_caller]
pub(crate) fn assert_in_order(got: &[Got]) -> Vec<Got> {
    let mut firsts: Vec<Got> = Vec::new();
    let mut seen = HashSet::new();
    for g in got {
        if seen.insert(g.id.clone()) {
            if let Some(last) = firsts.last() {
                assert!(g.seq() > last.seq(), "event {} arrived after {}: {:?}", g.seq(), last.seq(), seqs(got));
            }
            firsts.push(g.clone());
        } else {
            // The same event; only resource.location may differ (built under the address of the
            // server that sends it, which a restart may change).
            let first = firsts.iter().find(|f| f.id == g.id).expect("seen");
            let bare = |e: &Value| {
                let mut e = e.clone();
                e["resource"]["location"] = Value::Null;
                e
            };
            assert_eq!(bare(&first.event), bare(&g.event), "a resend carries the same event");
        }
    }
    firsts
}

fn seqs(got: &[Got]) -> Vec<i64> {
    got.iter().map(Got::seq).collect()
}

/// `scimbox webhook add`; asserts success and returns the secret (stdout's only line).
pub(crate) fn add(db: &Path, name: &str, url: &str, types: Option<&str>) -> String {
    let mut args = vec!["webhook", "add", "--db", db.to_str().unwrap(), "--name", name, "--url", url];
    if let Some(t) = types {
        args.extend(["--types", t]);
    }
    let out = cli(&args);
    assert!(out.status.success(), "webhook add failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "webhook add prints the secret alone: {stdout:?}");
    let secret = lines[0].to_owned();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64");
    assert_eq!(bytes.len(), 32, "32 random bytes");
    secret
}

pub(crate) fn run_ok(args: &[&str]) -> String {
    let out = cli(args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A server on a fresh database with an IdP token; the second value is the token.
async fn setup(env: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf, String, Server) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scimbox.db");
    let token = create_token(&db, "idp", None);
    let server = Server::start_with(&db, &dir.path().join("server.log"), &[], env).await;
    (dir, db, token, server)
}

pub(crate) async fn create_users(server: &Server, token: &str, prefix: &str, n: usize) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..n {
        let r = client
            .post(format!("{}/Users", server.base))
            .bearer_auth(token)
            .header("Content-Type", "application/scim+json")
            .body(user(&format!("{prefix}-{i:03}")).to_string())
            .send()
            .await
            .expect("POST /Users");
        assert_eq!(r.status(), StatusCode::CREATED);
        let body: Value = r.json().await.expect("json");
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    ids
}

/// Creates one group named `name` (no members) through the SCIM API.
async fn create_group(server: &Server, token: &str, name: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/Groups", server.base))
        .bearer_auth(token)
        .header("Content-Type", "application/scim+json")
        .body(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name}).to_string())
        .send()
        .await
        .expect("POST /Groups");
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// Runs the `standardwebhooks` package's verifier on each delivery, if the venv has it; whether
/// it ran. Without it the check is skipped, unless the environment variable `CI` is set: then
/// the test fails (scripts/test.sh makes the venv before the tests, so there it always runs).
pub(crate) fn python_verifies(secret: &str, got: &[Got]) -> bool {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/conformance-venv/bin/python");
    let has = python.exists()
        && std::process::Command::new(&python)
            .args(["-c", "import standardwebhooks"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !has {
        let missing = "standardwebhooks is not installed in target/conformance-venv (scripts/test.sh installs it from \
                       scripts/requirements-conformance.txt)";
        assert!(std::env::var_os("CI").is_none(), "CI is set and {missing}: the Python signature check cannot run");
        eprintln!("{missing}: Python verification skipped");
        return false;
    }
    let cases: Vec<Value> = got
        .iter()
        .map(|g| json!({"id": g.id, "timestamp": g.timestamp, "signature": g.signature, "body": g.body}))
        .collect();
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
secret, cases = sys.argv[1], json.loads(sys.stdin.read())
wh = Webhook(secret)
for c in cases:
    wh.verify(c["body"], {"webhook-id": c["id"], "webhook-timestamp": c["timestamp"], "webhook-signature": c["signature"]})
print(len(cases))
"#;
    let mut child = std::process::Command::new(&python)
        .args(["-c", script, secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python");
    use std::io::Write;
    child.stdin.take().expect("stdin").write_all(Value::Array(cases).to_string().as_bytes()).expect("write");
    let out = child.wait_with_output().expect("python ran");
    assert!(out.status.success(), "standardwebhooks refused a signature: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), got.len().to_string());
    eprintln!("standardwebhooks verified {} deliveries", got.len());
    true
}

/// A webhook added to a running server is delivered to within a second: each event POSTed
/// once, in order, as the feed shows it, signed so that both an independent HMAC and the
/// `standardwebhooks` package verify it; a types filter passes only its types; a removed
/// webhook gets nothing more.
#[tokio::test]
async fn signed_ordered_filtered_and_picked_up_within_a_second() {
    let (_dir, db, token, server) = setup(&[]).await;
    create_users(&server, &token, "before", 2).await; // before any webhook: not delivered
    let (all, groups) = (Receiver::start().await, Receiver::start().await);
    let secret = add(&db, "all", &all.url(), None);
    let group_secret = add(&db, "groups", &groups.url().replace("127.0.0.1", "localhost"), Some("group.*"));

    let started = Instant::now();
    create_users(&server, &token, "u", 1).await;
    let first = all.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(first.len(), 1, "the new webhook got the event");
    assert!(started.elapsed() < Duration::from_millis(1500), "picked up within a second: {:?}", started.elapsed());

    create_users(&server, &token, "v", 4).await;
    create_group(&server, &token, "g1").await;

    let got = all.wait_for(6, Duration::from_secs(10)).await;
    let kinds: Vec<&str> = got.iter().map(|g| g.event["type"].as_str().unwrap_or("")).collect();
    assert_eq!(kinds, ["user.created"; 5].iter().copied().chain(["group.created"]).collect::<Vec<_>>(), "{kinds:?}");
    assert_eq!(assert_in_order(&got).len(), 6, "each once");
    let names: Vec<&str> = got[..5].iter().map(|g| g.event["data"]["userName"].as_str().unwrap_or("")).collect();
    assert_eq!(names, ["u-000", "v-000", "v-001", "v-002", "v-003"]);
    for g in &got {
        assert_eq!(g.id, g.event["id"].as_str().unwrap_or(""), "webhook-id is the event's id");
        assert_eq!(g.signature, expected_signature(&secret, g), "signature of event {}", g.seq());
        let ts: i64 = g.timestamp.parse().expect("unix seconds");
        let now = scimbox::clock::now().unix_timestamp();
        assert!((now - ts).abs() < 60, "webhook-timestamp is now in Unix seconds: {ts}");
    }
    // The body is the object the feed returns for the event.
    let app = run_ok(&["token", "create", "--db", db.to_str().unwrap(), "--name", "reader", "--scope", "app"]);
    let app = app.trim();
    let feed: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/events?limit=1000", server.origin))
        .bearer_auth(app)
        .send()
        .await
        .expect("feed")
        .json()
        .await
        .expect("json");
    for g in &got {
        let same = feed["events"].as_array().expect("events").iter().find(|e| e["id"] == g.event["id"]);
        assert_eq!(same, Some(&g.event), "the webhook body is the feed's object");
    }
    python_verifies(&secret, &got);

    let only_groups = groups.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(only_groups.len(), 1, "the types filter passes group.* only: {:?}", seqs(&only_groups));
    assert_eq!(only_groups[0].event["type"], "group.created");
    assert_eq!(only_groups[0].signature, expected_signature(&group_secret, &only_groups[0]));

    let listed = run_ok(&["webhook", "list", "--db", db.to_str().unwrap()]);
    assert!(listed.contains("all") && listed.contains("delivering") && listed.contains("group.*"), "{listed}");
    assert!(!listed.contains(&secret), "list never shows a secret");
    assert!(!server.log_text().contains(&secret), "the log never shows a secret");

    run_ok(&["webhook", "remove", "--db", db.to_str().unwrap(), "all"]);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    create_users(&server, &token, "after", 1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(all.got().len(), 6, "a removed webhook gets nothing more");
}

/// A receiver that is down through the whole retry schedule (shortened by
/// SCIMBOX_WEBHOOK_RETRY_SCALE) marks the endpoint failing, which holds its place: once the
/// receiver is back, the next try delivers every event, in order, and the state is delivering
/// again. Meanwhile `/metrics` shows the lag.
#[tokio::test]
async fn a_receiver_down_for_the_retries_gets_every_event_in_order_once_back() {
    let metrics_port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let metrics_at = format!("127.0.0.1:{metrics_port}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scimbox.db");
    let token = create_token(&db, "idp", None);
    let env = [("SCIMBOX_WEBHOOK_RETRY_SCALE", "0.00001")];
    let server =
        Server::start_with(&db, &dir.path().join("server.log"), &["--metrics-listen", &metrics_at], &env).await;
    let rx = Receiver::start().await;
    rx.down.store(1, Ordering::SeqCst);
    let secret = add(&db, "flaky", &rx.url(), Some("user.*"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    create_users(&server, &token, "d", 10).await;

    // The ten attempts of the schedule (scaled: 2.7 s in all), then failing.
    let listed = list_once_failing(&db).await;
    assert!(listed.contains("failing"), "the schedule ran out: {listed}");
    assert!(listed.contains("HTTP 503"), "the last error is shown: {listed}");
    assert!(rx.refused.load(Ordering::SeqCst) >= 10, "retried through the schedule");
    assert!(rx.got().is_empty());
    let metrics = reqwest::get(format!("http://{metrics_at}/metrics")).await.expect("metrics").text().await.unwrap();
    assert!(metrics.contains("scimbox_webhook_lag_events{webhook=\"flaky\"} 10"), "{metrics}");

    rx.down.store(0, Ordering::SeqCst);
    let got = rx.wait_for(10, Duration::from_secs(10)).await;
    let firsts = assert_in_order(&got);
    assert_eq!(firsts.len(), 10, "every event once back: {:?}", seqs(&got));
    for g in &got {
        assert_eq!(g.signature, expected_signature(&secret, g));
    }
    let names: Vec<String> = firsts.iter().map(|g| g.event["data"]["userName"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, (0..10).map(|i| format!("d-{i:03}")).collect::<Vec<_>>());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let listed = run_ok(&["webhook", "list", "--db", db.to_str().unwrap()]);
    assert!(listed.contains("delivering") && !listed.contains("failing"), "{listed}");
    let metrics = reqwest::get(format!("http://{metrics_at}/metrics")).await.expect("metrics").text().await.unwrap();
    assert!(metrics.contains("scimbox_webhook_lag_events{webhook=\"flaky\"} 0"), "{metrics}");
}

/// kill -9 of the server while it delivers, and while writes go on, loses no event: after a
/// restart the receiver has every event of every acknowledged create, each first arriving after
/// all those before it (resends are allowed, reordering is not).
#[tokio::test]
async fn kill_9_during_delivery_loses_nothing() {
    let (dir, db, token, mut server) = setup(&[]).await;
    let rx = Receiver::start().await;
    rx.delay_ms.store(15, Ordering::SeqCst);
    // The events first, then the webhook sent back to the first of them: 60 deliveries pending.
    create_users(&server, &token, "k", 60).await;
    add(&db, "slow", &rx.url(), None);
    run_ok(&["webhook", "replay", "--db", db.to_str().unwrap(), "slow", "--from", "1"]);
    // More creates while it delivers, until the kill.
    let (users, t) = (format!("{}/Users", server.base), token.clone());
    let load = tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut acked = Vec::new();
        for i in 0..1000 {
            let sent = client
                .post(&users)
                .bearer_auth(&t)
                .header("Content-Type", "application/scim+json")
                .body(user(&format!("load-{i:04}")).to_string())
                .send()
                .await;
            match sent {
                Ok(r) if r.status() == StatusCode::CREATED => {
                    let body: Value = r.json().await.expect("json");
                    acked.push(body["id"].as_str().expect("id").to_owned());
                }
                _ => break, // the server is gone
            }
        }
        acked
    });
    let partial = rx.wait_for(20, Duration::from_secs(20)).await;
    server.kill();
    let acked = load.await.expect("load task");
    assert!(partial.len() < 60 + acked.len(), "killed during delivery: {} delivered", partial.len());
    let _server = Server::start(&db, &dir.path().join("server2.log")).await;
    let total = 60 + acked.len();
    let got = rx.wait_for(total, Duration::from_secs(30)).await;
    let firsts = assert_in_order(&got);
    let delivered: HashSet<&str> = firsts.iter().filter_map(|g| g.event["resource"]["id"].as_str()).collect();
    for id in &acked {
        assert!(delivered.contains(id.as_str()), "the event of acknowledged user {id} was lost");
    }
    assert!(firsts.len() >= total, "nothing lost: {} of {total}: {:?}", firsts.len(), seqs(&got));
    eprintln!(
        "{} deliveries for {} events ({} acknowledged under load) across a kill -9 after {}",
        got.len(),
        firsts.len(),
        acked.len(),
        partial.len()
    );
}

/// `webhook replay NAME --from SEQ` sends again every event from SEQ, with the same
/// webhook-ids, in order.
#[tokio::test]
async fn replay_resends_from_seq() {
    let (_dir, db, token, server) = setup(&[]).await;
    let rx = Receiver::start().await;
    add(&db, "r", &rx.url(), None);
    tokio::time::sleep(Duration::from_millis(600)).await;
    create_users(&server, &token, "r", 5).await;
    let got = rx.wait_for(5, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 5);
    let from = got[2].seq();
    run_ok(&["webhook", "replay", "--db", db.to_str().unwrap(), "r", "--from", &from.to_string()]);
    let until = Instant::now() + Duration::from_secs(10);
    while rx.got().len() < 8 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let again = rx.got();
    assert_eq!(again.len(), 8, "{:?}", seqs(&again));
    let replayed: Vec<&str> = again[5..].iter().map(|g| g.id.as_str()).collect();
    let originals: Vec<&str> = got[2..].iter().map(|g| g.id.as_str()).collect();
    assert_eq!(replayed, originals, "the same events, same webhook-ids, in order");
}

/// The CLI refuses what cannot work, clearly: schemes other than https and http, a taken name,
/// an unknown type, an unknown webhook.
#[test]
fn cli_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scimbox.db");
    let db = db.to_str().unwrap();
    let err = |args: &[&str]| {
        let out = cli(args);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(out.stdout.is_empty(), "nothing on stdout");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = err(&["webhook", "add", "--db", db, "--name", "a", "--url", "ftp://example.com/hook"]);
    assert!(e.contains("https://") && e.contains("http://"), "{e}");
    let e =
        err(&["webhook", "add", "--db", db, "--name", "a", "--url", "http://127.0.0.1:1/h", "--types", "user.nope"]);
    assert!(e.contains("matches no event type"), "{e}");
    add(Path::new(db), "a", "http://127.0.0.1:1/h", None);
    let e = err(&["webhook", "add", "--db", db, "--name", "a", "--url", "http://127.0.0.1:1/h"]);
    assert!(e.contains("already exists"), "{e}");
    let e = err(&["webhook", "remove", "--db", db, "nope"]);
    assert!(e.contains("no webhook named \"nope\"") && e.contains("webhook list"), "{e}");
    let e = err(&["webhook", "replay", "--db", db, "a", "--from", "0"]);
    assert!(e.contains("--from"), "{e}");
    let e = err(&["webhook", "replay", "--db", db, "a", "--from", "5"]);
    assert!(e.contains("beyond the newest event"), "{e}");
    let listed = run_ok(&["webhook", "list", "--db", db]);
    assert!(listed.contains("http://127.0.0.1:1/h"), "{listed}");
}

/// A webhook whose types leave out long runs of events passes over them at once, page after
/// page, instead of one page per look: after `replay --from 1` over 350 user events, the one
/// group event arrives well within a second and a half.
#[tokio::test]
async fn a_types_filter_passes_long_runs_at_once() {
    let (_dir, db, token, server) = setup(&[]).await;
    create_users(&server, &token, "p", 350).await;
    create_group(&server, &token, "late").await;
    let rx = Receiver::start().await;
    add(&db, "g", &rx.url(), Some("group.created"));
    tokio::time::sleep(Duration::from_millis(700)).await; // the server has picked it up
    let started = Instant::now();
    run_ok(&["webhook", "replay", "--db", db.to_str().unwrap(), "g", "--from", "1"]);
    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert_eq!(got.len(), 1, "{:?}", seqs(&got));
    assert_eq!(got[0].event["data"]["displayName"], "late");
    assert!(took < Duration::from_millis(1300), "350 other events passed over in {took:?}");
}

/// `webhook replay` on a failing endpoint sends again, in order, every event from the seq it is
/// given, including events delivered before the receiver went down, and the endpoint is
/// delivering again: what comes last is exactly the events from that seq, once each, in order.
#[tokio::test]
async fn replay_after_failing_resends_everything_from_seq_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scimbox.db");
    let token = create_token(&db, "idp", None);
    let env = [("SCIMBOX_WEBHOOK_RETRY_SCALE", "0.00001")];
    let server = Server::start_with(&db, &dir.path().join("server.log"), &[], &env).await;
    let rx = Receiver::start().await;
    add(&db, "flaky", &rx.url(), Some("user.*"));
    tokio::time::sleep(Duration::from_millis(700)).await;
    create_users(&server, &token, "a", 3).await;
    let before = rx.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(assert_in_order(&before).len(), 3, "{:?}", seqs(&before));

    rx.down.store(1, Ordering::SeqCst);
    create_users(&server, &token, "b", 4).await;
    let listed = list_once_failing(&db).await;
    assert!(listed.contains("failing"), "the schedule ran out: {listed}");
    assert_eq!(rx.got().len(), 3, "nothing delivered while down");

    let from = before[0].seq();
    rx.down.store(0, Ordering::SeqCst);
    run_ok(&["webhook", "replay", "--db", db.to_str().unwrap(), "flaky", "--from", &from.to_string()]);
    // Every event from `from` once more after the replay: the three again and the four new ones.
    let until = Instant::now() + Duration::from_secs(15);
    let got = loop {
        let got = rx.got();
        let tail: Vec<String> =
            got.iter().rev().take(7).filter_map(|g| g.event["data"]["userName"].as_str().map(str::to_owned)).collect();
        if tail.len() == 7
            && tail.iter().rev().map(String::as_str).eq(["a-000", "a-001", "a-002", "b-000", "b-001", "b-002", "b-003"])
            || Instant::now() > until
        {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let firsts = assert_in_order(&got);
    assert_eq!(firsts.len(), 7, "each event at least once, first deliveries in order: {:?}", seqs(&got));
    let tail: Vec<i64> = got[got.len().saturating_sub(7)..].iter().map(Got::seq).collect();
    let expected: Vec<i64> = firsts.iter().map(Got::seq).collect();
    assert_eq!(tail, expected, "the replay sent every event from seq {from}, in order: {:?}", seqs(&got));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(rx.got().len(), got.len(), "nothing more after the replay caught up");
    let listed = run_ok(&["webhook", "list", "--db", db.to_str().unwrap()]);
    assert!(listed.contains("delivering") && !listed.contains("failing"), "{listed}");
}

/// `webhook list` once an endpoint shows `failing`, or after 20 s (the caller asserts it).
async fn list_once_failing(db: &std::path::Path) -> String {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = run_ok(&["webhook", "list", "--db", db.to_str().unwrap()]);
        if listed.contains("failing") || Instant::now() > until {
            return listed;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
