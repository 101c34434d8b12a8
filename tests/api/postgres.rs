//! PostgreSQL as the store (issue 18), through the real binary: `token create | revoke` and
//! `serve` with `--db postgres://...`, then the SCIM API on it. Each test makes a database of
//! its own from `SCIMBOX_TEST_PG` (`scripts/pg.sh start` prints one; `scripts/test.sh` sets it).
//! Without it they are skipped (the plain `cargo test` of `scripts/test.sh`), and its PostgreSQL
//! step runs them with it.
//!
//! Every test also reads the database with a client of its own, so that a pass means the rows
//! are in PostgreSQL, not in some file beside it.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::auth_tokens::{Server, cli, create_token};
use crate::feed::{feed_at, page};
use crate::helpers::{Resp, fresh_db, user};

/// The database URL for this test, or `None` (skip) without `SCIMBOX_TEST_PG`.
pub(crate) async fn database(dir: &Path) -> Option<std::path::PathBuf> {
    if std::env::var("SCIMBOX_TEST_PG").map_or(true, |u| u.is_empty()) {
        eprintln!("skipped: SCIMBOX_TEST_PG is not set (scripts/pg.sh start prints a URL for it)");
        return None;
    }
    Some(fresh_db(dir).await)
}

/// One number read straight from the database.
pub(crate) async fn count(db: &Path, sql: &str) -> i64 {
    let (client, conn) = tokio_postgres::connect(db.to_str().unwrap(), tokio_postgres::NoTls).await.expect("connect");
    let driver = tokio::spawn(conn);
    let n: i64 = client.query_one(sql, &[]).await.expect("query").get(0);
    drop(client);
    let _ = driver.await;
    n
}

pub(crate) async fn send(
    token: &str,
    method: reqwest::Method,
    url: &str,
    body: Option<&serde_json::Value>,
    headers: &[(&str, &str)],
) -> Resp {
    let mut req = reqwest::Client::new().request(method, url).bearer_auth(token);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.header("Content-Type", "application/scim+json").body(b.to_string());
    }
    let r = req.send().await.expect("request");
    let (status, headers) = (r.status(), r.headers().clone());
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    Resp { status, headers, body, text }
}

#[tokio::test]
async fn tokens_and_users_work_on_postgres() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let token = create_token(&db, "okta", None);
    assert_eq!(count(&db, "SELECT count(*) FROM tokens WHERE name = 'okta'").await, 1, "the token is in PostgreSQL");
    let server = Server::start(&db, &dir.path().join("log")).await;
    let base = &server.base;
    use reqwest::Method as M;

    // Create: 201 with W/"1"; the row is in PostgreSQL.
    let r = send(&token, M::POST, &format!("{base}/Users"), Some(&user("alice@example.com")), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    let id = r.body["id"].as_str().expect("id").to_owned();
    assert_eq!(count(&db, "SELECT count(*) FROM users").await, 1);

    // A taken userName, compared case-insensitively: 409 uniqueness (PostgreSQL's 23505).
    let r = send(&token, M::POST, &format!("{base}/Users"), Some(&user("ALICE@example.com")), &[]).await;
    r.assert_error(409, Some("uniqueness"));

    // Get, list, filter by userName.
    let r = send(&token, M::GET, &format!("{base}/Users/{id}"), None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["userName"], "alice@example.com");
    send(&token, M::POST, &format!("{base}/Users"), Some(&user("bob@example.com")), &[]).await;
    let r = send(&token, M::GET, &format!("{base}/Users"), None, &[]).await;
    assert_eq!(r.body["totalResults"], 2, "{}", r.text);
    let r =
        send(&token, M::GET, &format!("{base}/Users?filter=userName%20eq%20%22Alice@Example.com%22"), None, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["totalResults"], 1, "{}", r.text);
    assert_eq!(r.body["Resources"][0]["id"], id.as_str());

    // PUT with If-Match: the current version wins, a stale one is 412.
    let mut body = user("alice@example.com");
    body["displayName"] = json!("Alice");
    let r = send(&token, M::PUT, &format!("{base}/Users/{id}"), Some(&body), &[("If-Match", "W/\"1\"")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    let r = send(&token, M::PUT, &format!("{base}/Users/{id}"), Some(&body), &[("If-Match", "W/\"1\"")]).await;
    r.assert_error(412, None);

    // PATCH.
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let r = send(&token, M::PATCH, &format!("{base}/Users/{id}"), Some(&patch), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.header("etag"), Some("W/\"3\""));
    assert_eq!(count(&db, "SELECT active FROM users WHERE user_name = 'alice@example.com'").await, 0);

    // DELETE, then 404.
    let r = send(&token, M::DELETE, &format!("{base}/Users/{id}"), None, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = send(&token, M::GET, &format!("{base}/Users/{id}"), None, &[]).await;
    r.assert_error(404, None);
    assert_eq!(count(&db, "SELECT count(*) FROM users").await, 1);

    // Revoke through the CLI: the running server refuses the token within its cache's life.
    let out = cli(&["token", "revoke", "--db", db.to_str().unwrap(), "okta"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = send(&token, M::GET, &format!("{base}/Users"), None, &[]).await;
        if r.status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(Instant::now() < deadline, "a revoked token still works: {}", r.status);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two `scimbox serve` on one database race to create one userName: one 201, one 409.
/// Every column that holds a resource id and is compared with another is byte-wise (`COLLATE
/// "C"`, as SQLite's TEXT): with two different implicit collations PostgreSQL cannot use the ids'
/// unique index for the equality, and a group write's pending-member lookup (`u.id =
/// p.member_id`) read every user, ~80 ms a membership change at 100,000 users
/// (migrations-pg/V19__id_collation.sql). The plan is checked too, on enough rows that the
/// planner's choice is the real one.
#[tokio::test]
async fn resource_ids_compare_by_index_across_tables() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let _ = create_token(&db, "okta", None); // the CLI migrates the new database
    let not_c = count(
        &db,
        "SELECT count(*) FROM information_schema.columns
         WHERE table_schema = 'public'
           AND (column_name IN ('id', 'member_id', 'resource_id', 'user_id', 'parent_id'))
           AND table_name IN ('users', 'groups', 'group_members', 'member_changes_pending', 'changes',
                              'events', 'journal', 'guard_recent', 'accounts')
           AND NOT (table_name = 'events' AND column_name = 'id') -- the event's own uuid, compared with nothing
           AND coalesce(collation_name, '') <> 'C'",
    )
    .await;
    assert_eq!(not_c, 0, "every id column compared across tables is COLLATE \"C\"");

    let (client, conn) = tokio_postgres::connect(db.to_str().unwrap(), tokio_postgres::NoTls).await.expect("connect");
    let driver = tokio::spawn(conn);
    client
        .batch_execute(
            "INSERT INTO users (id, user_name, user_name_key, version, created, last_modified, doc)
               SELECT md5(i::text), 'u' || i, 'u' || i, 1, 'x', 'x', '{}' FROM generate_series(1, 20000) i;
             INSERT INTO member_changes_pending (group_seq, member_id, added)
               SELECT 1, md5(i::text), 1 FROM generate_series(1, 3) i;
             ANALYZE users; ANALYZE member_changes_pending;",
        )
        .await
        .expect("rows");
    let plan: String = client
        .query(
            "EXPLAIN SELECT p.member_id, EXISTS (SELECT 1 FROM users u WHERE u.id = p.member_id)
             FROM member_changes_pending p WHERE p.group_seq = 1",
            &[],
        )
        .await
        .expect("explain")
        .iter()
        .map(|r| r.get::<_, String>(0) + "\n")
        .collect();
    drop(client);
    let _ = driver.await;
    assert!(plan.contains("Index Cond: (id = p.member_id)"), "the lookup uses users' id index:\n{plan}");
    assert!(!plan.contains("Seq Scan on users"), "no scan of users:\n{plan}");
}

#[tokio::test]
async fn two_instances_racing_creates_give_one_201_and_one_409() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let token = create_token(&db, "okta", None);
    let a = Server::start(&db, &dir.path().join("a.log")).await;
    let b = Server::start(&db, &dir.path().join("b.log")).await;
    for n in 0..10 {
        let body = user(&format!("race{n}@example.com"));
        let (url_a, url_b) = (format!("{}/Users", a.base), format!("{}/Users", b.base));
        let (ra, rb) = tokio::join!(
            send(&token, reqwest::Method::POST, &url_a, Some(&body), &[]),
            send(&token, reqwest::Method::POST, &url_b, Some(&body), &[]),
        );
        let mut codes = [ra.status.as_u16(), rb.status.as_u16()];
        codes.sort_unstable();
        assert_eq!(codes, [201, 409], "{} / {}", ra.text, rb.text);
    }
    assert_eq!(count(&db, "SELECT count(*) FROM users").await, 10);
    // Each instance sees the other's users.
    let r = send(&token, reqwest::Method::GET, &format!("{}/Users?count=100", a.base), None, &[]).await;
    assert_eq!(r.body["totalResults"], 10, "{}", r.text);
}

/// Two instances racing `If-Match` PUTs of one user with the same version: exactly one wins
/// (RFC 7644 §3.14: a version that no longer matches is 412), and what is stored is the winner's.
#[tokio::test]
async fn two_instances_racing_if_match_puts_give_one_winner() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let token = create_token(&db, "okta", None);
    let a = Server::start(&db, &dir.path().join("a.log")).await;
    let b = Server::start(&db, &dir.path().join("b.log")).await;
    let created =
        send(&token, reqwest::Method::POST, &format!("{}/Users", a.base), Some(&user("ifmatch@example.com")), &[])
            .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();
    let (url_a, url_b) = (format!("{}/Users/{id}", a.base), format!("{}/Users/{id}", b.base));
    for n in 0..10 {
        let current = send(&token, reqwest::Method::GET, &url_b, None, &[]).await;
        let etag = current.header("etag").expect("an ETag").to_owned();
        let mut body_a = current.body.clone();
        body_a["displayName"] = json!(format!("from a {n}"));
        let mut body_b = current.body.clone();
        body_b["displayName"] = json!(format!("from b {n}"));
        let if_match = [("If-Match", etag.as_str())];
        let (ra, rb) = tokio::join!(
            send(&token, reqwest::Method::PUT, &url_a, Some(&body_a), &if_match),
            send(&token, reqwest::Method::PUT, &url_b, Some(&body_b), &if_match),
        );
        let mut codes = [ra.status.as_u16(), rb.status.as_u16()];
        codes.sort_unstable();
        assert_eq!(codes, [200, 412], "round {n}: {} / {}", ra.text, rb.text);
        let winner = if ra.status == StatusCode::OK { &ra } else { &rb };
        let stored = send(&token, reqwest::Method::GET, &url_a, None, &[]).await;
        assert_eq!(stored.body["displayName"], winner.body["displayName"], "round {n}: {}", stored.text);
        assert_eq!(stored.header("etag"), winner.header("etag"), "round {n}");
    }
}

/// `kill -9` of one instance under write load: every create it acknowledged (201) is in the
/// database and served by the other instance, which goes on taking writes (issue 18).
#[tokio::test]
async fn kill_9_of_one_instance_loses_no_acknowledged_create() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let token = create_token(&db, "okta", None);
    let mut a = Server::start(&db, &dir.path().join("a.log")).await;
    let b = Server::start(&db, &dir.path().join("b.log")).await;
    let url_a = format!("{}/Users", a.base);
    let mut writers = Vec::new();
    for w in 0..8 {
        let (token, url) = (token.clone(), url_a.clone());
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut acked = Vec::new();
            for n in 0.. {
                let body = user(&format!("k{w}-{n}@example.com")).to_string();
                let sent = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("Content-Type", "application/scim+json")
                    .body(body)
                    .send()
                    .await;
                let Ok(r) = sent else { break };
                if r.status() != StatusCode::CREATED {
                    break;
                }
                let Ok(v) = r.json::<serde_json::Value>().await else { break };
                acked.push(v["id"].as_str().expect("id").to_owned());
            }
            acked
        }));
    }
    // Let the load run, then kill -9 (SIGKILL) instance A in the middle of it.
    let started = Instant::now();
    while count(&db, "SELECT count(*) FROM users").await < 200 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill();
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.expect("writer"));
    }
    assert!(acked.len() >= 200, "the load ran: {} creates acknowledged", acked.len());
    for id in &acked {
        let r = send(&token, reqwest::Method::GET, &format!("{}/Users/{id}", b.base), None, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "acknowledged user {id} lost: {}", r.text);
    }
    let stored = count(&db, "SELECT count(*) FROM users").await;
    assert!(stored >= acked.len() as i64, "{stored} stored, {} acknowledged", acked.len());
    let after =
        send(&token, reqwest::Method::POST, &format!("{}/Users", b.base), Some(&user("after@example.com")), &[]).await;
    assert_eq!(after.status, StatusCode::CREATED, "B goes on taking writes: {}", after.text);
}

/// `scimbox token create --scope app` on `db`: an application's token, for the change feed.
fn app_token(db: &Path, name: &str) -> String {
    let out = cli(&["token", "create", "--db", db.to_str().unwrap(), "--name", name, "--scope", "app"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").trim().to_owned()
}

/// A long poll of the change feed on instance B is answered with a create made on instance A,
/// woken by A's commit notification (issue 18): B looks at the database on its own only every
/// two minutes here (`SCIMBOX_FEED_RECHECK_MS`, for tests), and the poll waits a minute, so an
/// answer within half a minute can only come from the notification. Three rounds: every
/// commit wakes it, not only the first.
#[tokio::test]
async fn a_long_poll_on_one_instance_wakes_on_another_instances_commit() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let token = create_token(&db, "okta", None);
    let app = app_token(&db, "reader");
    let a = Server::start(&db, &dir.path().join("a.log")).await;
    let b = Server::start_with(&db, &dir.path().join("b.log"), &[], &[("SCIMBOX_FEED_RECHECK_MS", "120000")]).await;
    let client = reqwest::Client::new();
    let (events, mut next) = page(&feed_at(&client, &b.origin, &app, "").await);
    assert!(events.is_empty(), "a new database has no events");
    for round in 0..3 {
        let poll = tokio::spawn({
            let (origin, app, query) = (b.origin.clone(), app.clone(), format!("after={next}&wait=60"));
            async move { feed_at(&reqwest::Client::new(), &origin, &app, &query).await }
        });
        // Let the poll reach its wait (had it not yet, it would find the event at once: no harm).
        tokio::time::sleep(Duration::from_secs(1)).await;
        let created = Instant::now();
        let body = user(&format!("woken{round}@example.com"));
        let r = send(&token, reqwest::Method::POST, &format!("{}/Users", a.base), Some(&body), &[]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let answer = poll.await.expect("poll");
        let waited = created.elapsed();
        eprintln!("round {round}: B answered {waited:?} after A's create was sent");
        let (events, n) = page(&answer);
        assert!(
            events.iter().any(|e| e["type"] == "user.created" && e["resource"]["id"] == r.body["id"]),
            "round {round}: B's long poll answered without A's create: {}",
            answer.text
        );
        assert!(
            waited < Duration::from_secs(30),
            "round {round}: B answered {waited:?} after A's create: not woken by A's notification"
        );
        next = n;
    }
}

/// A token revoked through the CLI (another process on the database) is refused by a running
/// instance at once, woken by the revocation's notification (issue 18): the instance trusts a
/// good check for two minutes here (`SCIMBOX_TOKEN_CACHE_MS`, for tests) and checked the token
/// just before, so a refusal within half a minute can only come from the notification. The
/// other instance, with the usual half second, refuses it too.
#[tokio::test]
async fn a_token_revoked_elsewhere_is_refused_by_every_instance_on_notification() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let token = create_token(&db, "okta", None);
    let a = Server::start(&db, &dir.path().join("a.log")).await;
    let b = Server::start_with(&db, &dir.path().join("b.log"), &[], &[("SCIMBOX_TOKEN_CACHE_MS", "120000")]).await;
    for s in [&a, &b] {
        let r = send(&token, reqwest::Method::GET, &format!("{}/Users", s.base), None, &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let revoked = Instant::now();
    let out = cli(&["token", "revoke", "--db", db.to_str().unwrap(), "okta"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for s in [&b, &a] {
        loop {
            let r = send(&token, reqwest::Method::GET, &format!("{}/Users", s.base), None, &[]).await;
            if r.status == StatusCode::UNAUTHORIZED {
                eprintln!("{} refused the token {:?} after the revoke command started", s.base, revoked.elapsed());
                break;
            }
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            assert!(
                revoked.elapsed() < Duration::from_secs(30),
                "{} still takes the revoked token: the revocation's notification did not arrive",
                s.base
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A list's `totalResults` on PostgreSQL is read from `row_counts` (migrations-pg/V20), which
/// the writes keep in their own transaction: it follows creates, a revived user, deletes and an
/// import exactly, and always equals the tables' `COUNT(*)`.
#[tokio::test]
async fn list_totals_follow_every_write_exactly() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let token = create_token(&db, "okta", None);
    let server = Server::start(&db, &dir.path().join("log")).await;
    let base = &server.base;
    use reqwest::Method as M;
    let total = |path: &'static str| {
        let (token, url) = (token.clone(), format!("{base}/{path}?count=1"));
        async move {
            let r = send(&token, M::GET, &url, None, &[]).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r.body["totalResults"].as_i64().expect("totalResults")
        }
    };
    let stored = |table: &'static str| {
        let db = db.clone();
        async move {
            let counted = count(&db, &format!("SELECT count(*) FROM {table}")).await;
            let kept = count(&db, &format!("SELECT n FROM row_counts WHERE name = '{table}'")).await;
            assert_eq!(kept, counted, "row_counts for {table}");
            kept
        }
    };
    assert_eq!((total("Users").await, total("Groups").await), (0, 0));
    let mut ids = Vec::new();
    for i in 0..3 {
        let mut body = user(&format!("p{i}@example.com"));
        body["externalId"] = json!(format!("ext-{i}"));
        let r = send(&token, M::POST, &format!("{base}/Users"), Some(&body), &[]).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        ids.push(r.body["id"].as_str().expect("id").to_owned());
    }
    let r = send(&token, M::POST, &format!("{base}/Groups"), Some(&json!({"displayName": "G"})), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!((total("Users").await, total("Groups").await, stored("users").await), (3, 1, 3));

    // A taken userName inserts nothing (409), nor does a revived user (it keeps its row).
    let r = send(&token, M::POST, &format!("{base}/Users"), Some(&user("P1@example.com")), &[]).await;
    r.assert_error(409, Some("uniqueness"));
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let r = send(&token, M::PATCH, &format!("{base}/Users/{}", ids[0]), Some(&off), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut again = user("p0@example.com");
    again["externalId"] = json!("ext-0");
    let r = send(&token, M::POST, &format!("{base}/Users"), Some(&again), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "revived: {}", r.text);
    assert_eq!(r.body["id"], ids[0].as_str(), "the same user, revived");
    assert_eq!((total("Users").await, stored("users").await), (3, 3));

    let r = send(&token, M::DELETE, &format!("{base}/Users/{}", ids[1]), None, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!((total("Users").await, stored("users").await, stored("groups").await), (2, 2, 1));
    drop(server);

    // An export imported into another database counts there too.
    let file = dir.path().join("dump.ndjson");
    let out = cli(&["export", "--db", db.to_str().unwrap(), "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let copy = fresh_db(dir.path()).await;
    let out = cli(&["import", "--db", copy.to_str().unwrap(), "--in", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&copy, "SELECT n FROM row_counts WHERE name = 'users'").await, 2);
    assert_eq!(count(&copy, "SELECT n FROM row_counts WHERE name = 'groups'").await, 1);
}

/// `validate --db URL` checks registration against the accounts PostgreSQL holds, and `export
/// --db URL` reads the directory from there: a URL counts as an existing database
/// (`service::existing_database`), and one that is not there is a clear error, never a panic.
#[tokio::test]
async fn validate_and_export_read_a_postgres_database() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let url = db.to_str().unwrap();
    let run = |args: &[&str], stdin: &str| {
        let out = crate::helpers::run_scimbox(args, stdin);
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, _, err) = run(&["account", "add", "--db", url, "ACC110", "--name", "Acme EU"], "");
    assert_eq!(code, Some(0), "{err}");

    let body = r#"{"userName":"bjensen","accounts":["{\"accountId\":\"ACC110\"}","{\"accountId\":\"ACC999\"}"]}"#;
    let (code, out, err) = run(&["validate", "--db", url], body);
    assert_eq!(code, Some(1), "{out}{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("accounts[1] ") && out.contains("account \"ACC999\" is not registered"), "{out}");
    let (code, out, err) = run(&["validate", "--db", url], r#"{"accountId":"ACC110"}"#);
    assert_eq!((code, out.as_str()), (Some(0), "valid: 1 payload(s)\n"), "{err}");

    let token = create_token(&db, "okta", None);
    let server = Server::start(&db, &dir.path().join("log")).await;
    let r =
        send(&token, reqwest::Method::POST, &format!("{}/Users", server.base), Some(&user("bjensen@example.com")), &[])
            .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    drop(server);
    let file = dir.path().join("dump.ndjson");
    let (code, out, err) = run(&["export", "--db", url, "--out", file.to_str().unwrap()], "");
    assert_eq!(code, Some(0), "{err}");
    assert!(
        format!("{out}{err}").contains("exported 1 users, 0 groups, 0 memberships, 1 accounts, 0 roles"),
        "{out}{err}"
    );
    let dump = std::fs::read_to_string(&file).expect("the export");
    assert!(dump.contains("bjensen@example.com") && dump.contains("ACC110"), "{dump}");

    // A database that is not there: refused with PostgreSQL's reason, no panic, nothing made.
    let (server_part, _) = url.rsplit_once('/').expect("a database in the URL");
    let missing = format!("{server_part}/no_such_database_{}", uuid::Uuid::new_v4().simple());
    for args in [vec!["validate", "--db", &missing], vec!["export", "--db", &missing]] {
        let (code, out, err) = run(&args, r#"{"accountId":"ACC110"}"#);
        assert!(code.is_some_and(|c| c != 0), "{args:?}: {out}{err}");
        assert!(err.starts_with("scimbox: ") && err.contains("does not exist"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
