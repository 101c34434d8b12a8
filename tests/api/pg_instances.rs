//! Several instances on one PostgreSQL database behave as one server to an IdP (issue 18): two
//! real `scimbox serve` processes on the same URL, each scenario sending some requests to one
//! and some to the other. The change feed has one order that both agree on and that a reader
//! never sees filled in after the fact; cursors and `startIndex` pages are valid on either; an
//! admin session opened on one works, and ends, on both; the deprovisioning guard counts
//! across instances; rate limits are per instance (docs/deployment.md says what that means
//! behind a load balancer); the journal read on either holds both instances' requests.
//!
//! Skipped without `SCIMBOX_TEST_PG`, as the rest of `postgres` (`scripts/pg.sh start` prints a
//! URL; `scripts/test.sh` runs this module on a throwaway cluster).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::auth_tokens::{Server, cli, create_token, get_with_auth};
use crate::feed::{feed_at, page};
use crate::helpers::{form_encode, ids, run_scimbox, user};
use crate::postgres::{count, database, send};

const PASSWORD: &str = "correct horse battery staple";

/// `A` and `B`: two `scimbox serve` on the database `db`, with `flags`.
async fn two(db: &Path, dir: &Path, flags: &[&str]) -> (Server, Server) {
    let a = Server::start_with(db, &dir.join("a.log"), flags, &[]).await;
    let b = Server::start_with(db, &dir.join("b.log"), flags, &[]).await;
    (a, b)
}

/// Runs `sql` on the database, straight (setting a scene the API cannot make).
async fn execute(db: &Path, sql: &str) -> u64 {
    let (client, conn) =
        tokio_postgres::connect(db.to_str().expect("url"), tokio_postgres::NoTls).await.expect("connect");
    let driver = tokio::spawn(conn);
    let n = client.execute(sql, &[]).await.expect("execute");
    drop(client);
    let _ = driver.await;
    n
}

/// `scimbox token create --scope app`: a token that may read the change feed.
fn app_token(db: &Path, name: &str) -> String {
    let out = cli(&["token", "create", "--db", db.to_str().expect("url"), "--name", name, "--scope", "app"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8").trim().to_owned()
}

/// `scimbox admin add alice` with [`PASSWORD`].
fn add_admin(db: &Path) {
    let out = run_scimbox(&["admin", "add", "alice", "--db", db.to_str().expect("url")], &format!("{PASSWORD}\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A browser that does not follow redirects, and alice's session cookie (`name=value`) from
/// logging in at `origin`.
async fn login(origin: &str) -> (reqwest::Client, String) {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let r = browser
        .post(format!("{origin}/login"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form_encode(&[("name", "alice"), ("password", PASSWORD), ("next", "/")]))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "alice logs in at {origin}");
    let cookie = r.headers().get(reqwest::header::SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    (browser, cookie.split(';').next().unwrap_or_default().to_owned())
}

/// `GET {origin}{path}` as the browser with `cookie`: the status, the `Location` and the page.
async fn visit(browser: &reqwest::Client, origin: &str, path: &str, cookie: &str) -> (StatusCode, String, String) {
    let r = browser.get(format!("{origin}{path}")).header("Cookie", cookie).send().await.expect("page");
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (r.status(), location, r.text().await.expect("html"))
}

/// A form POST to `{origin}{path}` as the browser with `cookie`: the status and the page.
async fn submit(
    browser: &reqwest::Client,
    origin: &str,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let r = browser
        .post(format!("{origin}{path}"))
        .header("Cookie", cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form_encode(form))
        .send()
        .await
        .expect("post");
    (r.status(), r.text().await.expect("html"))
}

/// The CSRF token of the first form on a page.
#[track_caller]
fn csrf(html: &str) -> String {
    let mark = r#"name="csrf" value=""#;
    let start = html.find(mark).unwrap_or_else(|| panic!("no CSRF field: {html}")) + mark.len();
    html[start..].split('"').next().unwrap_or_default().to_owned()
}

/// Creates a user on `base`; asserts 201 and returns its id.
async fn create(token: &str, base: &str, user_name: &str) -> String {
    let r = send(token, Method::POST, &format!("{base}/Users"), Some(&user(user_name)), &[]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().expect("id").to_owned()
}

/// Creates racing on A and B (four clients on each) while one reader pages through the feed on
/// A alone and another alternates A and B page by page. Every reader sees each seq above the
/// last it saw (no gap is filled after the fact: an event that committed late with a lower seq
/// would be missed for good), every acknowledged create exactly once, and all in one order: the
/// readers' and a full read of each instance afterwards are the same list.
///
/// Why it holds: each write batch takes one advisory lock before its first statement and keeps
/// it to its commit (`db::pg::run_batch`), and `seq` is an identity taken by the batch's inserts,
/// so numbers are taken in commit order across instances.
#[tokio::test]
async fn the_feed_has_one_order_across_instances_under_racing_creates() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let idp = create_token(&db, "okta", None);
    let reader_token = app_token(&db, "reader");
    let (a, b) = two(&db, dir.path(), &[]).await;
    let done = Arc::new(AtomicBool::new(false));

    let reader = |origins: Vec<String>| {
        let (token, done) = (reader_token.clone(), Arc::clone(&done));
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let (mut seen, mut next): (Vec<(i64, String)>, Option<String>) = (Vec::new(), None);
            for turn in 0.. {
                // Read before the page: once every create was acknowledged, an empty page means
                // the reader has everything.
                let finished = done.load(Ordering::SeqCst);
                let origin = &origins[turn % origins.len()];
                let query = match &next {
                    None => "types=user.created&limit=7".to_owned(),
                    Some(at) => format!("types=user.created&limit=7&after={at}"),
                };
                let (events, at) = page(&feed_at(&client, origin, &token, &query).await);
                for e in &events {
                    let seq = e["seq"].as_i64().expect("seq");
                    if let Some((last, _)) = seen.last() {
                        assert!(seq > *last, "seq {seq} after {last}, on {origin}: a gap filled late");
                    }
                    seen.push((seq, e["data"]["userName"].as_str().expect("userName").to_owned()));
                }
                next = Some(at);
                if events.is_empty() {
                    if finished {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            seen
        })
    };
    let on_a = reader(vec![a.origin.clone()]);
    let alternating = reader(vec![a.origin.clone(), b.origin.clone()]);

    let mut writers = Vec::new();
    for (side, base) in [("a", &a.base), ("b", &b.base)] {
        for w in 0..4 {
            let (idp, base) = (idp.clone(), base.clone());
            writers.push(tokio::spawn(async move {
                let mut acked = Vec::new();
                for n in 0..25 {
                    let name = format!("{side}{w}-{n}@example.com");
                    create(&idp, &base, &name).await;
                    acked.push(name);
                }
                acked
            }));
        }
    }
    let mut acked = HashSet::new();
    for w in writers {
        acked.extend(w.await.expect("writer"));
    }
    assert_eq!(acked.len(), 200);
    done.store(true, Ordering::SeqCst);
    let (on_a, alternating) = (on_a.await.expect("reader on A"), alternating.await.expect("reader on A and B"));

    let names = |seen: &[(i64, String)]| seen.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>();
    let once: HashSet<String> = names(&on_a).into_iter().collect();
    assert_eq!((on_a.len(), once.len()), (200, 200), "each create once: {on_a:?}");
    assert_eq!(once, acked, "every acknowledged create, and nothing else");
    assert_eq!(alternating, on_a, "the reader alternating A and B saw the same order");
    // The creates did race: the order mixes the two instances' writes.
    let switches = on_a.windows(2).filter(|w| w[0].1.as_bytes()[0] != w[1].1.as_bytes()[0]).count();
    assert!(switches > 1, "A's and B's creates interleave: {:?}", names(&on_a));

    // Read whole afterwards, each instance gives that same order.
    for origin in [&a.origin, &b.origin] {
        let client = reqwest::Client::new();
        let (mut all, mut query) = (Vec::new(), "types=user.created&limit=1000".to_owned());
        loop {
            let (events, at) = page(&feed_at(&client, origin, &reader_token, &query).await);
            if events.is_empty() {
                break;
            }
            all.extend(events.iter().map(|e| {
                (e["seq"].as_i64().expect("seq"), e["data"]["userName"].as_str().expect("userName").to_owned())
            }));
            query = format!("types=user.created&limit=1000&after={at}");
        }
        assert_eq!(all, on_a, "{origin} reads the same feed");
    }
    assert_eq!(count(&db, "SELECT count(*) FROM events WHERE type = 'user.created'").await, 200);
}

/// RFC 9865 cursors and RFC 7644 §3.4.2.4 `startIndex` pages, each page asked of the other
/// instance than the one before: every user exactly once, in the list's order.
#[tokio::test]
async fn cursors_and_start_index_pages_are_valid_on_either_instance() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let token = create_token(&db, "okta", None);
    let (a, b) = two(&db, dir.path(), &[]).await;
    let bases = [a.base.as_str(), b.base.as_str()];
    let mut all = Vec::new();
    for i in 0..30 {
        all.push(create(&token, bases[i % 2], &format!("walk{i:02}@example.com")).await);
    }
    let auth = format!("Bearer {token}");
    let client = reqwest::Client::new();

    // Cursors, forwards in creation order, then sorted by userName descending.
    for (sort, expected) in
        [("", all.clone()), ("&sortBy=userName&sortOrder=descending", all.iter().rev().cloned().collect())]
    {
        let (mut got, mut cursor, mut turn) = (Vec::new(), String::new(), 0);
        loop {
            let url = format!("{}/Users?count=4{sort}&cursor={cursor}", bases[turn % 2]);
            let r = get_with_auth(&client, &url, Some(&auth)).await;
            assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text);
            assert_eq!(r.body["totalResults"], 30, "{}", r.text);
            got.extend(ids(&r.body));
            match r.body["nextCursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
            turn += 1;
            assert!(turn < 100, "the walk does not end");
        }
        assert!(turn >= 7, "the walk took pages from both: {turn}");
        assert_eq!(got, expected, "every user once, in order{sort}");
    }

    // startIndex, 1-based, four at a time.
    let mut got = Vec::new();
    for (turn, start) in (1..=30).step_by(4).enumerate() {
        let url = format!("{}/Users?startIndex={start}&count=4", bases[turn % 2]);
        let r = get_with_auth(&client, &url, Some(&auth)).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text);
        assert_eq!((r.body["totalResults"].as_i64(), r.body["startIndex"].as_i64()), (Some(30), Some(start)));
        got.extend(ids(&r.body));
    }
    assert_eq!(got, all, "every user once, in creation order");
}

/// The same walks while creates race on both instances (four clients on each, 60 users in all):
/// a new user's `seq` is taken in commit order across instances, so it lands after every user
/// that was there before, and the walk, however its pages alternate, returns each earlier user
/// exactly once and in order, repeats none, and the first 30 positions of `startIndex` pages are
/// the earlier users.
#[tokio::test]
async fn walks_alternating_instances_while_creates_race_lose_and_repeat_no_user() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let token = create_token(&db, "okta", None);
    let (a, b) = two(&db, dir.path(), &[]).await;
    let bases = [a.base.clone(), b.base.clone()];
    let mut all = Vec::new();
    for i in 0..30 {
        all.push(create(&token, &bases[i % 2], &format!("walk{i:02}@example.com")).await);
    }
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (token, base) = (token.clone(), bases[w % 2].clone());
            tokio::spawn(async move {
                for n in 0..8 {
                    create(&token, &base, &format!("late{w}-{n}@example.com")).await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();
    let auth = format!("Bearer {token}");
    let client = reqwest::Client::new();
    let (mut walked, mut cursor, mut turn) = (Vec::new(), String::new(), 0);
    loop {
        let url = format!("{}/Users?count=3&cursor={cursor}", bases[turn % 2]);
        let r = get_with_auth(&client, &url, Some(&auth)).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text);
        walked.extend(ids(&r.body));
        match r.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
        turn += 1;
        assert!(turn < 1000, "the walk does not end");
    }
    let mut paged = Vec::new();
    for (turn, start) in (1..=30).step_by(3).enumerate() {
        let url = format!("{}/Users?startIndex={start}&count=3", bases[turn % 2]);
        let r = get_with_auth(&client, &url, Some(&auth)).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text);
        paged.extend(ids(&r.body));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let distinct: HashSet<&String> = walked.iter().collect();
    assert_eq!(distinct.len(), walked.len(), "no user twice: {walked:?}");
    let earlier: Vec<&String> = walked.iter().filter(|id| all.contains(id)).collect();
    assert_eq!(earlier, all.iter().collect::<Vec<_>>(), "every earlier user once, in order");
    assert_eq!(&walked[..30], &all[..], "the newcomers come after them");
    assert_eq!(paged, all, "startIndex 1 to 30 are the earlier users");
}

/// An admin session is a row in the database: a cookie from logging in on A opens B's pages and
/// passes B's CSRF check (a token issued on B's status page shows on A's), and logging out on
/// A ends it on B at once (B sends the browser to the login page and changes nothing).
#[tokio::test]
async fn an_admin_session_opened_on_one_instance_works_and_ends_on_both() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    add_admin(&db);
    let (a, b) = two(&db, dir.path(), &[]).await;
    let (browser, cookie) = login(&a.origin).await;

    let (status, _, home) = visit(&browser, &b.origin, "/", &cookie).await;
    assert_eq!(status, StatusCode::OK, "A's session opens B's overview: {home}");
    assert!(home.contains(r#"<strong id="admin-name">alice</strong>"#), "B knows who is logged in: {home}");
    let (status, _, tokens) = visit(&browser, &b.origin, "/tokens", &cookie).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token_csrf = csrf(&tokens);
    let forged = submit(&browser, &b.origin, "/tokens", &cookie, &[("csrf", "forged"), ("name", "forged")]).await;
    assert_eq!(forged.0, StatusCode::FORBIDDEN, "B checks the CSRF token: {}", forged.1);
    let issued = submit(&browser, &b.origin, "/tokens", &cookie, &[("csrf", &token_csrf), ("name", "from-b")]).await;
    assert_eq!(issued.0, StatusCode::CREATED, "B takes the session's CSRF token: {}", issued.1);
    let (status, _, on_a) = visit(&browser, &a.origin, "/tokens", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(on_a.contains("from-b"), "the token issued on B shows on A: {on_a}");

    let (status, _, home_a) = visit(&browser, &a.origin, "/", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    let out = submit(&browser, &a.origin, "/logout", &cookie, &[("csrf", &csrf(&home_a))]).await;
    assert_eq!(out.0, StatusCode::SEE_OTHER, "logged out on A: {}", out.1);
    for path in ["/", "/tokens", "/journal"] {
        let (status, location, _) = visit(&browser, &b.origin, path, &cookie).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "B refuses the ended session on {path}");
        assert!(location.starts_with("/login"), "to the login page: {location}");
    }
    let late = submit(&browser, &b.origin, "/tokens", &cookie, &[("csrf", &token_csrf), ("name", "late")]).await;
    assert_eq!(late.0, StatusCode::SEE_OTHER, "a POST with the ended session goes to the login page");
    assert_eq!(count(&db, "SELECT count(*) FROM tokens WHERE name = 'late'").await, 0, "and changes nothing");
    assert_eq!(count(&db, "SELECT count(*) FROM admin_sessions").await, 0, "the session is gone");
}

/// The deprovisioning guard counts in the database, inside each write: with `--guard-max 5`,
/// 16 deactivations of existing users spread over A and B let exactly 5 through; the rest are
/// held (429) on both, and stay held on both; a release on A's status page frees the token on
/// both.
#[tokio::test]
async fn the_guard_counts_across_instances_and_a_release_on_one_frees_both() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let okta = create_token(&db, "okta", None);
    add_admin(&db);
    let (a, b) = two(&db, dir.path(), &["--guard-max", "5", "--guard-window", "1h"]).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(create(&okta, &a.base, &format!("old{i:02}@example.com")).await);
    }
    // As if provisioned long before the window began (the guard reads the row's `created`).
    let then = scimbox::stamp::timestamp(scimbox::clock::now() - Duration::from_secs(2 * 3600));
    assert_eq!(execute(&db, &format!("UPDATE users SET created = '{then}'")).await, 20);

    let url = |base: &str, id: &str| format!("{base}/Users/{id}");
    let deactivate = crate::guard::deactivate();
    let answers = futures::future::join_all(ids[..16].iter().enumerate().map(|(i, id)| {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let (u, okta, body) = (url(base, id), &okta, &deactivate);
        async move { (i % 2, send(okta, Method::PATCH, &u, Some(body), &[]).await) }
    }))
    .await;
    let passed = answers.iter().filter(|(_, r)| r.status == StatusCode::OK).count();
    assert_eq!(passed, 5, "{:?}", answers.iter().map(|(s, r)| (s, r.status.as_u16())).collect::<Vec<_>>());
    for (_, r) in answers.iter().filter(|(_, r)| r.status != StatusCode::OK) {
        crate::guard::assert_held(r, "okta");
    }
    for side in [0, 1] {
        let held = answers.iter().filter(|(s, r)| *s == side && r.status == StatusCode::TOO_MANY_REQUESTS).count();
        assert!(held >= 3, "instance {side} held some too: {held}");
    }
    assert_eq!(count(&db, "SELECT count(*) FROM users WHERE active = 0").await, 5, "only the 5 were applied");
    // Tripped, on both.
    crate::guard::assert_held(
        &send(&okta, Method::PATCH, &url(&a.base, &ids[16]), Some(&deactivate), &[]).await,
        "okta",
    );
    crate::guard::assert_held(&send(&okta, Method::DELETE, &url(&b.base, &ids[17]), None, &[]).await, "okta");

    // A release on A's status page (with its confirmation) frees B too.
    let (browser, cookie) = login(&a.origin).await;
    let (status, _, home) = visit(&browser, &a.origin, "/", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains(r#"id="guard-okta""#), "A shows the hold: {home}");
    let released =
        submit(&browser, &a.origin, "/guard/okta/release", &cookie, &[("csrf", &csrf(&home)), ("confirm", "yes")])
            .await;
    assert_eq!(released.0, StatusCode::SEE_OTHER, "{}", released.1);
    let r = send(&okta, Method::PATCH, &url(&b.base, &ids[16]), Some(&deactivate), &[]).await;
    assert_eq!((r.status, &r.body["active"]), (StatusCode::OK, &json!(false)), "B lets it through: {}", r.text);
    let r = send(&okta, Method::DELETE, &url(&a.base, &ids[17]), None, &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "and so does A: {}", r.text);
}

/// Rate limits are token buckets in each process's memory: with `--rate 1 --burst 20`, A
/// refuses a token past its own bucket while B still serves that token a whole burst of its
/// own, and then refuses it too. Behind a load balancer a token may so make up to (instances x
/// burst) requests at once and (instances x rate) per second (docs/deployment.md).
#[tokio::test]
async fn rate_limits_are_per_instance() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let token = create_token(&db, "noisy", None);
    let (a, b) = two(&db, dir.path(), &["--rate", "1", "--burst", "20"]).await;
    let client = reqwest::Client::new();
    let auth = format!("Bearer {token}");

    // Until A refuses: at least its burst first (more only as its bucket refills, 1 a second).
    let started = Instant::now();
    let mut served_by_a = 0;
    let refused = loop {
        let r = get_with_auth(&client, &format!("{}/Users", a.base), Some(&auth)).await;
        if r.status != StatusCode::OK {
            break r;
        }
        served_by_a += 1;
        assert!(served_by_a < 200, "A never refused");
    };
    refused.assert_error(429, None);
    assert!(refused.header("retry-after").is_some(), "Retry-After");
    let bound = 20 + started.elapsed().as_secs() + 1;
    assert!((20..=bound).contains(&served_by_a), "A served its burst: {served_by_a}");

    // B's bucket is its own: its whole burst at once, though A's is empty (a shared bucket
    // would refill one a second).
    let url_b = format!("{}/Users", b.base);
    let burst = futures::future::join_all((0..20).map(|_| get_with_auth(&client, &url_b, Some(&auth)))).await;
    let codes: Vec<u16> = burst.iter().map(|r| r.status.as_u16()).collect();
    assert!(codes.iter().all(|c| *c == 200), "B serves its own burst: {codes:?}");
    // ... and B refuses past it, as A does.
    let mut refused_by_b = None;
    for _ in 0..200 {
        let r = get_with_auth(&client, &url_b, Some(&auth)).await;
        if r.status != StatusCode::OK {
            refused_by_b = Some(r);
            break;
        }
    }
    refused_by_b.expect("B refuses past its bucket").assert_error(429, None);
}

/// The journal is a table of the database: requests answered by A and by B (a create and a 404
/// on each) all show on the journal page of either, which counts all four, and on the status
/// page of either, whose connections table counts them for the token (each instance writes its
/// own entries every second or so).
#[tokio::test]
async fn the_journal_of_either_instance_shows_both_instances_requests() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(db) = database(dir.path()).await else { return };
    let token = create_token(&db, "okta", None);
    add_admin(&db);
    let (a, b) = two(&db, dir.path(), &[]).await;
    let marks =
        [format!("from-a-{}", uuid::Uuid::new_v4().simple()), format!("from-b-{}", uuid::Uuid::new_v4().simple())];
    for (base, mark) in [(&a.base, &marks[0]), (&b.base, &marks[1])] {
        create(&token, base, &format!("{mark}@example.com")).await;
        let r = send(&token, Method::GET, &format!("{base}/Users/{mark}"), None, &[]).await;
        r.assert_error(404, None);
    }
    let (browser, cookie) = login(&a.origin).await;
    let wanted: [(&str, Vec<String>); 2] = [
        (
            "/journal",
            marks
                .iter()
                .map(|m| format!("/scim/v2/Users/{m}"))
                .chain(["4 requests recorded, 2 failed".to_owned()])
                .collect(),
        ),
        (
            "/",
            vec![
                r#"data-label="Requests">4</td>"#.to_owned(),
                r#"title="This connection's failed requests">2</a>"#.to_owned(),
            ],
        ),
    ];
    for origin in [&a.origin, &b.origin] {
        for (path, texts) in &wanted {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let (status, _, html) = visit(&browser, origin, path, &cookie).await;
                assert_eq!(status, StatusCode::OK, "{html}");
                if texts.iter().all(|t| html.contains(t.as_str())) {
                    break;
                }
                assert!(Instant::now() < deadline, "{origin}{path} lacks one of {texts:?} after 30 s: {html}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
