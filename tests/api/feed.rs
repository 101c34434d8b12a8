//! Issue 14 items 2 and 3: `GET /api/v1/events` (paging, `types`, long polls, 410 after
//! pruning, cursors across a restart, every change exactly once and in order under concurrent
//! writers) and app tokens (403 both ways).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use scimbox::auth;
use scimbox::db::tokens;
use serde_json::{Value, json};

use crate::auth_tokens::{Server, cli, create_token};
use crate::helpers::{Resp, TestApp, login, user};

/// Issues an app-scoped token called `name` on `app`'s database.
pub async fn app_token(app: &TestApp, name: &str) -> String {
    let token = auth::generate();
    let (h, name) = (auth::hash(&token), name.to_owned());
    let now = scimbox::stamp::timestamp(scimbox::clock::now());
    app.db.write(move |c| tokens::insert_scoped(c, &name, &h, &now, None, "app")).await.expect("app token");
    token
}

/// `GET {origin}/api/v1/events?{query}` with `token`.
pub async fn feed_at(client: &reqwest::Client, origin: &str, token: &str, query: &str) -> Resp {
    let resp = client.get(format!("{origin}/api/v1/events?{query}")).bearer_auth(token).send().await.expect("request");
    let (status, headers) = (resp.status(), resp.headers().clone());
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, headers, body, text }
}

/// [`feed_at`] on a test server.
pub async fn feed(app: &TestApp, token: &str, query: &str) -> Resp {
    feed_at(&app.client, &app.origin, token, query).await
}

/// Asserts a feed page (200, JSON, `events` and `next`); returns them.
#[track_caller]
pub fn page(r: &Resp) -> (Vec<Value>, String) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let next = r.body["next"].as_str().expect("next is always there").to_owned();
    (r.body["events"].as_array().expect("events").clone(), next)
}

/// Every event with a seq above `from`, read from the start of the feed page by page.
pub async fn events_after(app: &TestApp, token: &str, from: i64) -> Vec<Value> {
    let (mut out, mut query) = (Vec::new(), "limit=1000".to_owned());
    loop {
        let (events, next) = page(&feed(app, token, &query).await);
        if events.is_empty() {
            return out;
        }
        out.extend(events.into_iter().filter(|e| e["seq"].as_i64().unwrap_or(0) > from));
        query = format!("limit=1000&after={next}");
    }
}

fn user_names(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["data"]["userName"].as_str().unwrap_or("")).collect()
}

/// Paging: `limit` pages, `next` continues exactly there, an empty page keeps `next`, and a
/// cursor from an empty feed later yields what came after it.
#[tokio::test]
async fn pages_follow_next_and_an_empty_page_keeps_its_place() {
    let app = TestApp::spawn().await;
    let token = app_token(&app, "reader").await;
    let (none, start) = page(&feed(&app, &token, "").await);
    assert!(none.is_empty());
    for i in 0..5 {
        app.create_user(&user(&format!("p{i}@example.com"))).await;
    }
    let (first, next) = page(&feed(&app, &token, &format!("after={start}&limit=2")).await);
    assert_eq!(user_names(&first), ["p0@example.com", "p1@example.com"]);
    let (second, next) = page(&feed(&app, &token, &format!("after={next}&limit=2")).await);
    assert_eq!(user_names(&second), ["p2@example.com", "p3@example.com"]);
    let (third, next) = page(&feed(&app, &token, &format!("after={next}&limit=2")).await);
    assert_eq!(user_names(&third), ["p4@example.com"]);
    let (empty, same) = page(&feed(&app, &token, &format!("after={next}")).await);
    assert!(empty.is_empty());
    assert_eq!(same, next, "no event: the same position");
    // Without `after`: from the oldest kept event, 100 by default.
    let (all, _) = page(&feed(&app, &token, "").await);
    assert_eq!(all.len(), 5);
}

/// `types` takes names and `*` globs; a name or pattern that matches no type, a `limit` beyond
/// 1000 or below 1, a `wait` beyond 60, a cursor that is not ours and an unknown parameter are
/// each a 400 with a JSON error saying which.
#[tokio::test]
async fn types_filter_and_bad_queries_are_400() {
    let app = TestApp::spawn().await;
    let token = app_token(&app, "reader").await;
    let id = app.create_user(&user("t@example.com")).await["id"].as_str().unwrap().to_owned();
    let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "T",
                   "members": [{"value": id}]});
    assert_eq!(app.post("/Groups", &g).await.status, StatusCode::CREATED);
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, StatusCode::NO_CONTENT);
    let kinds = |events: &[Value]| events.iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let (users, _) = page(&feed(&app, &token, "types=user.*").await);
    assert_eq!(kinds(&users), ["user.created", "user.deleted"]);
    let (some, _) = page(&feed(&app, &token, "types=group.created,*.member_*").await);
    assert_eq!(kinds(&some), ["group.created", "group.member_added", "group.member_removed"]);
    // A full page continues after its last event; one that is not full moves its cursor past
    // everything it looked at, matching or not.
    let (one, next) = page(&feed(&app, &token, "types=group.created&limit=1").await);
    assert_eq!(kinds(&one), ["group.created"]);
    let (rest, next) = page(&feed(&app, &token, &format!("after={next}&types=user.*")).await);
    assert_eq!(kinds(&rest), ["user.deleted"]);
    let (nothing, _) = page(&feed(&app, &token, &format!("after={next}")).await);
    assert!(nothing.is_empty(), "{nothing:#?}");

    for (q, says) in [
        ("types=user.renamed", "matches no event type"),
        ("types=access.gone", "matches no event type"),
        ("format=jwt", "format"),
        ("limit=1001", "limit"),
        ("limit=0", "limit"),
        ("limit=ten", "limit"),
        ("wait=61", "wait"),
        ("wait=-1", "wait"),
        ("after=not-a-cursor", "not a cursor"),
        ("since=1", "unknown parameter"),
        (&format!("after={}", scimbox::service::events::cursor(1_000_000)), "another scimbox database"),
    ] {
        let r = feed(&app, &token, q).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text);
        assert!(r.body["detail"].as_str().unwrap_or("").contains(says), "{q}: {}", r.text);
    }
}

/// `wait`: a long poll answers as soon as a change commits (well within 100 ms of the write's
/// own answer), with the change; one with nothing to wait for answers empty at its timeout
/// with the same `next`; a change of a type it does not ask for does not end it.
#[tokio::test]
async fn long_polls_wake_on_commit_and_time_out_empty() {
    let app = TestApp::spawn().await;
    let token = app_token(&app, "reader").await;
    let (_, start) = page(&feed(&app, &token, "").await);

    let began = Instant::now();
    let (empty, next) = page(&feed(&app, &token, &format!("after={start}&wait=1")).await);
    let waited = began.elapsed();
    assert!(empty.is_empty() && next == start, "{next} vs {start}");
    assert!(waited >= Duration::from_millis(950) && waited < Duration::from_secs(3), "{waited:?}");

    let mut cursor = start.clone();
    for i in 0..3 {
        let (client, origin, tok, q) = (
            app.client.clone(),
            app.origin.clone(),
            token.clone(),
            format!("after={cursor}&wait=20&types=user.created"),
        );
        let poll = tokio::spawn(async move {
            let r = feed_at(&client, &origin, &tok, &q).await;
            (r, Instant::now())
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!poll.is_finished(), "the poll waits");
        // A group (another type) does not end it.
        let g = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": format!("w{i}")});
        assert_eq!(app.post("/Groups", &g).await.status, StatusCode::CREATED);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!poll.is_finished(), "an event of another type does not end the poll");
        let made = app.create_user(&user(&format!("wake-{i}@example.com"))).await;
        let answered = Instant::now();
        let (r, at) = poll.await.expect("poll");
        let (events, next) = page(&r);
        cursor = next;
        assert_eq!(events.len(), 1, "{}", r.text);
        assert_eq!(events[0]["resource"]["id"], made["id"]);
        let lag = at.saturating_duration_since(answered);
        assert!(lag < Duration::from_millis(100), "the poll answered {lag:?} after the create's answer");
    }
}

/// A change another process commits to the same file (here: a second `Db` with its own writer,
/// as a `scimbox` command has) reaches a waiting long poll within about a second, with `cli` as
/// its actor.
#[tokio::test]
async fn a_long_poll_sees_another_processs_commit_within_a_second() {
    let app = TestApp::spawn().await;
    let token = app_token(&app, "reader").await;
    let (_, start) = page(&feed(&app, &token, "").await);
    let (client, origin, tok) = (app.client.clone(), app.origin.clone(), token.clone());
    let poll = tokio::spawn(async move { feed_at(&client, &origin, &tok, &format!("after={start}&wait=20")).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let other = scimbox::db::Db::open(&app.db_path).expect("a second handle");
    let base = app.base.clone();
    let with = scimbox::service::users::WithAccess::default();
    scimbox::service::users::create(&other, &user("cli@example.com"), &[], base, with).await.expect("create");
    let written = Instant::now();
    let r = poll.await.expect("poll");
    let (events, _) = page(&r);
    assert_eq!(user_names(&events), ["cli@example.com"]);
    assert_eq!(events[0]["actor"], "cli");
    assert!(written.elapsed() < Duration::from_millis(1500), "{:?}", written.elapsed());
}

/// Once events are pruned, a cursor from before them gets 410 with a JSON error saying so; the
/// feed without `after` starts at the horizon, and its cursor works.
#[tokio::test]
async fn a_cursor_older_than_what_is_kept_is_410() {
    let app = TestApp::spawn().await;
    let token = app_token(&app, "reader").await;
    let (_, start) = page(&feed(&app, &token, "").await);
    for i in 0..3 {
        app.create_user(&user(&format!("old{i}@example.com"))).await;
    }
    let (_, middle) = page(&feed(&app, &token, &format!("after={start}&limit=1")).await);
    let (_, end) = page(&feed(&app, &token, &format!("after={start}")).await);
    let addr = "127.0.0.1:0".parse().expect("addr");
    let config = scimbox::Config { events_max_age: Duration::ZERO, ..scimbox::Config::new(app.db_path.clone(), addr) };
    tokio::time::sleep(Duration::from_millis(5)).await; // the events are older than "now"
    scimbox::journal::prune(&app.db, &config).await.expect("prune");

    for old in [&start, &middle] {
        let r = feed(&app, &token, &format!("after={old}")).await;
        assert_eq!(r.status, StatusCode::GONE, "{}", r.text);
        assert!(r.body["detail"].as_str().unwrap_or("").contains("older than the oldest event kept"), "{}", r.text);
    }
    let (none, from) = page(&feed(&app, &token, "").await);
    assert!(none.is_empty());
    assert_eq!(from, end, "without after: at the horizon");
    let (kept, _) = page(&feed(&app, &token, &format!("after={end}")).await);
    assert!(kept.is_empty());
    app.create_user(&user("new@example.com")).await;
    let (new, _) = page(&feed(&app, &token, &format!("after={end}")).await);
    assert_eq!(user_names(&new), ["new@example.com"]);
}

/// Through the real binary: `token create --scope app`, `token list` shows scopes, and a
/// cursor handed out before a restart continues exactly after it.
#[tokio::test]
async fn cursors_survive_a_restart_and_token_list_shows_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scimbox.db");
    let idp = create_token(&db, "okta", None);
    let out = cli(&["token", "create", "--db", db.to_str().unwrap(), "--name", "app", "--scope", "app"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let app = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let bad = cli(&["token", "create", "--db", db.to_str().unwrap(), "--name", "x", "--scope", "admin"]);
    assert_eq!(bad.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("scope"), "{}", String::from_utf8_lossy(&bad.stderr));
    let listed = String::from_utf8(cli(&["token", "list", "--db", db.to_str().unwrap()]).stdout).unwrap();
    let scope_of = |name: &str| {
        listed.lines().find(|l| l.split_whitespace().next() == Some(name)).map(|l| l.split_whitespace().nth(5))
    };
    assert_eq!((scope_of("okta"), scope_of("app")), (Some(Some("scim")), Some(Some("app"))), "{listed}");

    let client = reqwest::Client::new();
    let create = |server: &Server, name: &str| {
        client
            .post(format!("{}/Users", server.base))
            .bearer_auth(&idp)
            .header("Content-Type", "application/scim+json")
            .body(user(name).to_string())
            .send()
    };
    let server = Server::start(&db, &dir.path().join("one.log")).await;
    for n in ["r1@example.com", "r2@example.com"] {
        assert_eq!(create(&server, n).await.unwrap().status(), StatusCode::CREATED);
    }
    let (first, next) = page(&feed_at(&client, &server.origin, &app, "").await);
    assert_eq!(user_names(&first), ["r1@example.com", "r2@example.com"]);
    assert_eq!(first[0]["actor"], "okta");
    drop(server);

    let server = Server::start(&db, &dir.path().join("two.log")).await;
    assert_eq!(create(&server, "r3@example.com").await.unwrap().status(), StatusCode::CREATED);
    let (after, _) = page(&feed_at(&client, &server.origin, &app, &format!("after={next}")).await);
    assert_eq!(user_names(&after), ["r3@example.com"]);
}

/// An app token reads (GET, `.search`) and follows the feed, and every write it tries is 403
/// naming its scope, changing nothing; an IdP's token gets 403 on the feed; no token, 401.
#[tokio::test]
async fn app_tokens_read_only_and_idp_tokens_no_feed() {
    let app = TestApp::spawn().await;
    let token = app_token(&app, "reader").await;
    let id = app.create_user(&user("s@example.com")).await["id"].as_str().unwrap().to_owned();
    let as_app = |m: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = app.client.request(m, format!("{}{path}", app.base)).bearer_auth(&token);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/scim+json").body(b.to_string());
        }
        req.send()
    };
    assert_eq!(as_app(reqwest::Method::GET, "/Users", None).await.unwrap().status(), StatusCode::OK);
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq \"s@example.com\""});
    let found = as_app(reqwest::Method::POST, "/Users/.search", Some(search)).await.unwrap();
    assert_eq!(found.status(), StatusCode::OK);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                      "Operations": [{"method": "DELETE", "path": format!("/Users/{id}")}]});
    for (m, path, body) in [
        (reqwest::Method::POST, "/Users".to_owned(), Some(user("no@example.com"))),
        (reqwest::Method::PATCH, format!("/Users/{id}"), Some(patch)),
        (reqwest::Method::PUT, format!("/Users/{id}"), Some(user("s@example.com"))),
        (reqwest::Method::DELETE, format!("/Users/{id}"), None),
        (reqwest::Method::POST, "/Bulk".to_owned(), Some(bulk)),
    ] {
        let r = as_app(m.clone(), &path, body).await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::FORBIDDEN, "{m} {path}: {text}");
        assert!(text.contains("scope app") && text.contains("urn:ietf:params:scim:api:messages:2.0:Error"), "{text}");
    }
    let still = app.get(&format!("/Users/{id}")).await;
    assert_eq!((still.status, &still.body["active"]), (StatusCode::OK, &json!(true)), "nothing was changed");
    let (events, _) = page(&feed(&app, &token, "").await);
    assert_eq!(events.len(), 1, "only the create: {events:#?}");

    let r = feed(&app, &app.token, "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.body["detail"].as_str().unwrap_or("").contains("scope app"), "{}", r.text);
    let anon = app.client.get(format!("{}/api/v1/events", app.origin)).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
}

/// The status page's tokens table shows each token's scope.
#[tokio::test]
async fn the_tokens_page_shows_the_scope() {
    let app = TestApp::spawn().await;
    app_token(&app, "warehouse").await;
    let hash = scimbox::service::admins::hash_password("correct horse battery").expect("hash");
    let now = scimbox::stamp::timestamp(scimbox::clock::now());
    app.db.write(move |c| scimbox::db::admins::insert(c, "alice", &hash, &now)).await.expect("admin");
    let (client, cookie) = login(&app, "alice", "correct horse battery").await;
    let html = client.get(format!("{}/tokens", app.origin)).header("Cookie", &cookie).send().await.unwrap();
    let html = html.text().await.unwrap();
    let row = |name: &str| {
        let start = html.find(&format!("<th scope=\"row\">{name}</th>")).unwrap_or_else(|| panic!("{name}: {html}"));
        html[start..].split("</tr>").next().unwrap_or_default().to_owned()
    };
    assert!(row("warehouse").contains(r#"<td data-label="Scope" class="scope">app</td>"#), "{}", row("warehouse"));
    assert!(row("test").contains(r#"<td data-label="Scope" class="scope">scim</td>"#), "{}", row("test"));
}

/// 10,000 mixed changes (creates, updates, deletes) from 16 concurrent clients, while a reader
/// follows the feed with long polls: it sees each change exactly once, in seq order, and each
/// user's changes in the order they were made.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_concurrent_changes_reach_the_feed_once_and_in_order() {
    let app = TestApp::spawn_with(|c| scimbox::Config { rate: 0, ..c }).await;
    let token = app_token(&app, "reader").await;
    const CLIENTS: usize = 16;
    const ROUNDS: usize = 250; // each: create, update, and every other round a delete: 10,000
    let follower = {
        let (client, origin, token) = (app.client.clone(), app.origin.clone(), token.clone());
        tokio::spawn(async move {
            let (mut seen, mut query) = (Vec::new(), "limit=1000&wait=5".to_owned());
            while seen.len() < CLIENTS * ROUNDS * 5 / 2 {
                let (events, next) = page(&feed_at(&client, &origin, &token, &query).await);
                assert!(
                    !events.is_empty() || seen.len() == CLIENTS * ROUNDS * 5 / 2,
                    "the feed stalled at {}",
                    seen.len()
                );
                seen.extend(events);
                query = format!("limit=1000&wait=5&after={next}");
            }
            seen
        })
    };
    let began = Instant::now();
    let mut writers = Vec::new();
    for c in 0..CLIENTS {
        let (client, base, token) = (app.client.clone(), app.base.clone(), app.token.clone());
        writers.push(tokio::spawn(async move {
            let mut made: Vec<(String, Vec<&'static str>)> = Vec::new();
            for r in 0..ROUNDS {
                let send = |m: reqwest::Method, url: String, body: Option<Value>| {
                    let mut req = client.request(m, url).bearer_auth(&token);
                    if let Some(b) = body {
                        req = req.header("Content-Type", "application/scim+json").body(b.to_string());
                    }
                    req.send()
                };
                let created =
                    send(reqwest::Method::POST, format!("{base}/Users"), Some(user(&format!("c{c}r{r}@x.test"))))
                        .await
                        .unwrap();
                assert_eq!(created.status(), StatusCode::CREATED);
                let id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
                let ops = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                                 "Operations": [{"op": "replace", "path": "displayName", "value": format!("R{r}")}]});
                let patched = send(reqwest::Method::PATCH, format!("{base}/Users/{id}"), Some(ops)).await.unwrap();
                assert_eq!(patched.status(), StatusCode::OK);
                let mut kinds = vec!["user.created", "user.updated"];
                if r % 2 == 0 {
                    let gone = send(reqwest::Method::DELETE, format!("{base}/Users/{id}"), None).await.unwrap();
                    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
                    kinds.push("user.deleted");
                }
                made.push((id, kinds));
            }
            made
        }));
    }
    let mut want: HashMap<String, Vec<&str>> = HashMap::new();
    for w in writers {
        want.extend(w.await.expect("writer"));
    }
    let wrote = began.elapsed();
    let seen =
        tokio::time::timeout(Duration::from_secs(60), follower).await.expect("follower in time").expect("follower");
    eprintln!(
        "10,000 changes from {CLIENTS} clients written in {wrote:?}; the follower was done {:?} later",
        began.elapsed() - wrote
    );
    assert_eq!(seen.len(), 10_000);
    let mut got: HashMap<String, Vec<&str>> = HashMap::new();
    let mut last = 0;
    for e in &seen {
        let seq = e["seq"].as_i64().unwrap();
        assert!(seq > last, "in seq order, each once");
        last = seq;
        got.entry(e["resource"]["id"].as_str().unwrap().to_owned()).or_default().push(e["type"].as_str().unwrap());
    }
    assert_eq!(got.len(), want.len());
    for (id, kinds) in &want {
        assert_eq!(got.get(id), Some(kinds), "user {id}");
    }
}
