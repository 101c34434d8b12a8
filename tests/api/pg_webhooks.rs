//! Webhook delivery by one instance at a time on PostgreSQL (issue 18; docs/webhooks.md,
//! docs/deployment.md): two real `scimbox serve` processes on one database and one receiver.
//! The instance holding the delivery lock sends every event, in `seq` order, once; when it is
//! killed (`kill -9`) or loses its lock connection, the other takes over from the stored cursor,
//! so every event arrives, in order of first arrival, repeated only under its own `webhook-id`.
//! Which instance sent an event is read from its `User-Agent` (`scimbox-webhooks/VERSION
//! (ADDRESS pid PID)`). Skipped without `SCIMBOX_TEST_PG`, like `postgres`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::auth_tokens::{Server, cli, create_token};
use crate::helpers::{fresh_db, user};
use crate::webhooks::{Got, Receiver, add, assert_in_order, expected_signature};

/// How long anything here may take on a busy machine (generous: the claims are about order and
/// completeness, not speed).
const PATIENCE: Duration = Duration::from_secs(90);

/// The database URL for this test, or `None` (skip) without `SCIMBOX_TEST_PG`.
async fn database(dir: &Path) -> Option<PathBuf> {
    if std::env::var("SCIMBOX_TEST_PG").map_or(true, |u| u.is_empty()) {
        eprintln!("skipped: SCIMBOX_TEST_PG is not set (scripts/pg.sh start prints a URL for it)");
        return None;
    }
    Some(fresh_db(dir).await)
}

/// The address a server listens on (`127.0.0.1:PORT`), as its webhook instance names it.
fn address(s: &Server) -> &str {
    s.origin.strip_prefix("http://").expect("http origin")
}

/// Which of `servers` sent `g`, by the instance in its User-Agent.
fn sender(g: &Got, servers: &[Server]) -> usize {
    servers
        .iter()
        .position(|s| g.agent.contains(&format!("({} pid ", address(s))))
        .unwrap_or_else(|| panic!("event {} came from no known instance: User-Agent {:?}", g.seq(), g.agent))
}

/// The `delivering instance:` line of `scimbox webhook list`, once it names one of `servers`
/// (polled: an instance takes the lock within a poll of starting); that server's index.
async fn listed_deliverer(db: &Path, servers: &[Server], not: Option<usize>) -> usize {
    let until = Instant::now() + PATIENCE;
    loop {
        let out = cli(&["webhook", "list", "--db", db.to_str().unwrap()]);
        assert!(out.status.success(), "webhook list: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = text.lines().find(|l| l.starts_with("delivering instance: ")).unwrap_or_default();
        let named = servers.iter().position(|s| line.contains(&format!("{} pid ", address(s))));
        if let Some(i) = named.filter(|i| Some(*i) != not) {
            assert!(line.contains("(from "), "the line says where the instance connects from: {line}");
            return i;
        }
        assert!(Instant::now() < until, "webhook list never named a live deliverer:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates `n` users named `prefix-i`, the i-th through `servers[pick(i)]`.
async fn create(servers: &[Server], token: &str, prefix: &str, n: usize, pick: impl Fn(usize) -> usize) {
    let client = reqwest::Client::new();
    for i in 0..n {
        let r = client
            .post(format!("{}/Users", servers[pick(i)].base))
            .bearer_auth(token)
            .header("Content-Type", "application/scim+json")
            .body(user(&format!("{prefix}-{i:03}")).to_string())
            .send()
            .await
            .expect("POST /Users");
        assert_eq!(r.status(), StatusCode::CREATED, "{prefix}-{i}");
    }
}

/// Every event seq in the database after `after`, read with a client of the test's own.
async fn stored_seqs(db: &Path, after: i64) -> Vec<i64> {
    let (client, conn) = tokio_postgres::connect(db.to_str().unwrap(), tokio_postgres::NoTls).await.expect("connect");
    let driver = tokio::spawn(conn);
    let rows = client.query("SELECT seq FROM events WHERE seq > $1 ORDER BY seq", &[&after]).await.expect("events");
    drop(client);
    let _ = driver.await;
    rows.iter().map(|r| r.get(0)).collect()
}

/// Waits until the receiver holds every event of `want` (by seq); what it got.
async fn wait_for_seqs(rx: &Receiver, want: &[i64]) -> Vec<Got> {
    let until = Instant::now() + PATIENCE;
    loop {
        let got = rx.got();
        let seen: HashSet<i64> = got.iter().map(Got::seq).collect();
        if want.iter().all(|s| seen.contains(s)) {
            return got;
        }
        assert!(
            Instant::now() < until,
            "missing events: {:?}",
            want.iter().filter(|s| !seen.contains(s)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The checks every delivery here must pass: in order of first arrival, each event under one
/// `webhook-id` only (a repeat is the same id), signed, and nothing but `want` delivered.
#[track_caller]
fn assert_complete(got: &[Got], want: &[i64], secret: &str) {
    let firsts = assert_in_order(got);
    let seqs: Vec<i64> = firsts.iter().map(Got::seq).collect();
    assert_eq!(seqs, want, "every event, in seq order, each first arriving once");
    let mut ids: HashMap<i64, &str> = HashMap::new();
    for g in got {
        let id = *ids.entry(g.seq()).or_insert(g.id.as_str());
        assert_eq!(id, g.id, "event {} arrived under two webhook-ids", g.seq());
        assert_eq!(g.signature, expected_signature(secret, g), "signature of event {}", g.seq());
    }
}

/// Two instances, one receiver: the events of creates made on both arrive in seq order, each
/// once, all from the one instance `webhook list` names. Then that instance is killed (`kill
/// -9`) in the middle of a stream to a slow receiver: the other takes over and every event
/// arrives, in order of first arrival, repeats (the killed one's unrecorded deliveries) under
/// the same `webhook-id`, and everything after the takeover from the survivor.
#[tokio::test]
async fn one_instance_delivers_and_the_other_takes_over_after_kill_9() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let token = create_token(&db, "okta", None);
    let rx = Receiver::start().await;
    let secret = add(&db, "app", &rx.url(), None);
    let after = stored_seqs(&db, 0).await.last().copied().unwrap_or(0);
    let mut servers =
        vec![Server::start(&db, &dir.path().join("a.log")).await, Server::start(&db, &dir.path().join("b.log")).await];
    let leader = listed_deliverer(&db, &servers, None).await;

    // 20 creates, alternating between the instances: one deliverer, in order, each once.
    create(&servers, &token, "both", 20, |i| i % 2).await;
    let want = stored_seqs(&db, after).await;
    assert_eq!(want.len(), 20, "one event per create");
    wait_for_seqs(&rx, &want).await;
    tokio::time::sleep(Duration::from_secs(1)).await; // a late duplicate would show by now
    let got_all = rx.got();
    let seqs: Vec<i64> = got_all.iter().map(Got::seq).collect();
    assert_eq!(seqs, want, "each event exactly once, in order");
    assert_complete(&got_all, &want, &secret);
    let senders: HashSet<usize> = got_all.iter().map(|g| sender(g, &servers)).collect();
    assert_eq!(senders, HashSet::from([leader]), "one instance delivers: the one webhook list names");

    // A slow receiver, a stream of creates on the other instance, and kill -9 of the deliverer
    // in the middle of it.
    let other = 1 - leader;
    rx.set_delay(100);
    create(&servers, &token, "stream", 40, |_| other).await;
    let until = Instant::now() + PATIENCE;
    while rx.got().len() < 25 {
        assert!(Instant::now() < until, "the stream never reached the receiver: {} events", rx.got().len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before_kill = rx.got().len();
    servers[leader].kill();
    let killed = Instant::now();
    assert_eq!(listed_deliverer(&db, &servers, Some(leader)).await, other, "webhook list names the survivor");
    let takeover = killed.elapsed();
    create(&servers, &token, "after", 10, |_| other).await;
    let want = stored_seqs(&db, after).await;
    assert_eq!(want.len(), 70);
    let got = wait_for_seqs(&rx, &want).await;
    assert_complete(&got, &want, &secret);
    eprintln!(
        "kill -9: webhook list named the survivor {takeover:?} after the kill; {} of {} events were sent again",
        got.len() - want.len(),
        want.len()
    );
    // Whatever the killed instance had sent before it died came first; everything the receiver
    // got once the survivor began is the survivor's.
    // (At most one of the killed instance's: the request it had in flight, which the receiver
    // may finish after the kill.)
    let first_of_other = got.iter().position(|g| sender(g, &servers) == other).expect("the survivor sent");
    let stragglers = got[first_of_other..].iter().filter(|g| sender(g, &servers) == leader).count();
    assert!(stragglers <= 1, "after the takeover only the survivor delivers: {stragglers} from the killed one");
    assert!(got.len() > before_kill, "the survivor delivered after the kill");
    let log = std::fs::read_to_string(dir.path().join(if other == 0 { "a.log" } else { "b.log" })).unwrap_or_default();
    assert!(log.contains("this instance now delivers webhooks"), "the survivor logged its takeover:\n{log}");
}

/// The deliverer's lock connection is ended from the database's side (as a database restart or
/// a dropped network ends it): that instance stops delivering and says so, an instance takes
/// the lock again (either: both contend), and every event still arrives in order.
#[tokio::test]
async fn a_lost_lock_connection_stops_delivery_and_delivery_resumes() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let token = create_token(&db, "okta", None);
    let rx = Receiver::start().await;
    let secret = add(&db, "app", &rx.url(), None);
    let after = stored_seqs(&db, 0).await.last().copied().unwrap_or(0);
    let servers =
        vec![Server::start(&db, &dir.path().join("a.log")).await, Server::start(&db, &dir.path().join("b.log")).await];
    let leader = listed_deliverer(&db, &servers, None).await;
    rx.set_delay(50);
    create(&servers, &token, "one", 20, |i| i % 2).await;

    // End the lock's session, found by its application_name (the instance's address).
    let (client, conn) = tokio_postgres::connect(db.to_str().unwrap(), tokio_postgres::NoTls).await.expect("connect");
    let driver = tokio::spawn(conn);
    let name = format!("scimbox webhooks {} pid %", address(&servers[leader]));
    let ended: i64 = client
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name LIKE $1",
            &[&name],
        )
        .await
        .expect("terminate")
        .get(0);
    assert_eq!(ended, 1, "the deliverer's lock session was found");
    drop(client);
    let _ = driver.await;
    let until = Instant::now() + PATIENCE;
    while !servers[leader].log_text().contains("this instance stopped delivering webhooks") {
        assert!(Instant::now() < until, "the deliverer never noticed:\n{}", servers[leader].log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    create(&servers, &token, "two", 10, |i| i % 2).await;
    let want = stored_seqs(&db, after).await;
    assert_eq!(want.len(), 30, "one event per create");
    let got = wait_for_seqs(&rx, &want).await;
    assert_complete(&got, &want, &secret);
    listed_deliverer(&db, &servers, None).await;
}
