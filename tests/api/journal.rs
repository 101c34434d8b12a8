//! The provisioning journal and the change history (issue 6 item 1): what each request leaves
//! behind, redaction, truncation, retention; and before/after of each change.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use scimbox::db::journal::{self, Change, Entry};
use scimbox::journal::{explain, redact};
use serde_json::{Value, json};

use crate::helpers::{TestApp, user};

/// The journal once it holds at least `n` entries, newest first (fails after 5 s).
async fn entries(app: &TestApp, n: usize) -> Vec<Entry> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let all = app.db.read(|c| journal::recent(c, 1000, 0, false)).await.expect("read journal");
        if all.len() >= n {
            return all;
        }
        assert!(Instant::now() < deadline, "only {} of {n} entries after 5 s: {all:#?}", all.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The entry for `method` on a path ending with `suffix`.
fn find<'a>(all: &'a [Entry], method: &str, suffix: &str) -> &'a Entry {
    all.iter()
        .find(|e| e.method == method && e.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {method} …{suffix} in {all:#?}"))
}

async fn changes(app: &TestApp, kind: &'static str, id: &str) -> Vec<Change> {
    let id = id.to_owned();
    app.db.read(move |c| journal::changes_for(c, kind, &id, 100)).await.expect("read changes")
}

fn doc(text: &Option<String>) -> Value {
    text.as_deref().map_or(Value::Null, |t| serde_json::from_str(t).expect("JSON document"))
}

#[tokio::test]
async fn requests_are_recorded_with_their_fields_within_two_seconds() {
    let app = TestApp::spawn().await;
    let ua = [("User-Agent", "Okta SCIM Client 1.0.0")];
    let body = user("ada@example.com");
    let created = app.send(Method::POST, "/Users", Some(&body), &ua).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_str().expect("id").to_owned();
    app.send(Method::GET, &format!("/Users/{id}?attributes=userName"), None, &ua).await;
    let start = Instant::now();
    let all = entries(&app, 2).await;
    assert!(start.elapsed() < Duration::from_secs(3), "recorded within about 2 s");

    let post = find(&all, "POST", "/scim/v2/Users");
    assert_eq!(post.token_name.as_deref(), Some("test"));
    assert_eq!(post.client.as_deref(), Some("Okta SCIM Client 1.0.0"));
    assert_eq!((post.status, post.resource_type.as_deref()), (201, Some("User")));
    assert_eq!(post.resource_id.as_deref(), Some(id.as_str()), "the id comes from Location");
    assert!(post.duration_ms > 0.0 && post.scim_type.is_none() && post.detail.is_none());
    assert_eq!(doc(&post.body)["userName"], "ada@example.com");
    assert!(post.at.ends_with('Z') && post.at.len() == 24, "{}", post.at);

    let get = find(&all, "GET", &id);
    assert_eq!(get.query.as_deref(), Some("attributes=userName"));
    assert_eq!((get.status, get.resource_id.as_deref(), get.body.as_deref()), (200, Some(id.as_str()), None));

    let about = app.db.read(move |c| journal::for_resource(c, "User", &id, 10)).await.expect("read");
    assert_eq!(about.iter().map(|e| e.method.as_str()).collect::<Vec<_>>(), ["GET", "POST"]);
    // The overview's per-connection figures: here every hour is whole (the first one starts at
    // `since`), so the two requests are counted from the hourly counts the journal's writer
    // added in the same write as the entries, the client from the newest entry.
    let (since, whole) = ("2000-01-01T00:00:00.000Z", "2000-01-01T00:00:00.000Z");
    let names = vec!["test".to_owned()];
    let stats = app.db.read(move |c| scimbox::db::ui::connection_stats(c, &names, since, whole)).await.expect("stats");
    assert_eq!((stats[0].token_name.as_str(), stats[0].requests_24h, stats[0].failures_24h), ("test", 2, 0));
    assert_eq!(stats[0].client.as_deref(), Some("Okta SCIM Client 1.0.0"));
}

#[tokio::test]
async fn failures_carry_scim_type_detail_and_an_explanation() {
    let app = TestApp::spawn().await;
    app.create_user(&user("dup@example.com")).await;
    app.post("/Users", &user("DUP@example.com")).await.assert_error(409, Some("uniqueness"));
    let bad_payload = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x@example.com",
                             "accounts": ["{\"acountId\":\"ACC1\"}"]});
    app.post("/Users", &bad_payload).await.assert_error(400, Some("invalidValue"));
    let refused = app.client.get(format!("{}/Users", app.base)).bearer_auth("scimbox_nope").send().await.expect("send");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let all = entries(&app, 4).await;

    let conflict = all.iter().find(|e| e.status == 409).expect("409 recorded");
    assert_eq!(conflict.scim_type.as_deref(), Some("uniqueness"));
    assert!(conflict.detail.as_deref().is_some_and(|d| d.contains("already taken")), "{conflict:?}");
    assert!(explain(conflict).0.contains("userName already taken"));

    let invalid = all.iter().find(|e| e.status == 400).expect("400 recorded");
    assert!(invalid.detail.as_deref().is_some_and(|d| d.contains("acountId")), "{invalid:?}");
    let (reason, fix) = explain(invalid);
    assert!(reason.contains("acountId") && fix.contains("line 1, column 2") && fix.contains("attribute mapping"));

    let unauthorized = all.iter().find(|e| e.status == 401).expect("401 recorded");
    assert_eq!(unauthorized.token_name, None, "a refused token has no connection");
    assert!(explain(unauthorized).1.contains("scimbox token create"));

    let failures_first = app.db.read(|c| journal::recent(c, 3, 0, true)).await.expect("read");
    assert!(failures_first.iter().all(Entry::failed), "{failures_first:#?}");
}

#[tokio::test]
async fn passwords_and_tokens_are_redacted() {
    let app = TestApp::spawn().await;
    let mut body = user("grace@example.com");
    body["password"] = json!("hunter2-Secret!");
    body["nickName"] = json!(app.token);
    let created = app.create_user(&body).await;
    let id = created["id"].as_str().expect("id");
    let ops = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                     "Operations": [{"op": "replace", "path": "password", "value": "n3w-Passw0rd!"}]});
    let r = app.send(Method::PATCH, &format!("/Users/{id}"), Some(&ops), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let bad = format!("{{\"userName\": \"x\", \"password\": \"pl41n-Bad!\", \"title\": \"{}\" ,,}}", app.token);
    let r =
        app.client.post(format!("{}/Users", app.base)).bearer_auth(&app.token).body(bad).send().await.expect("send");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let all = entries(&app, 3).await;
    let everything = format!("{all:?}");
    for secret in ["hunter2-Secret!", "n3w-Passw0rd!", "pl41n-Bad!", app.token.as_str(), "scimbox_"] {
        assert!(!everything.contains(secret), "{secret} was stored: {everything}");
    }
    let post = find(&all, "POST", "/Users");
    assert!(post.body.as_deref().is_some_and(|b| b.contains(redact::MARK)));
    let stored = doc(&find(&all, "PATCH", id).body);
    assert_eq!(stored["Operations"][0]["value"], redact::MARK);
}

#[tokio::test]
async fn a_body_over_16_kib_is_truncated() {
    let app = TestApp::spawn().await;
    let mut body = user("long@example.com");
    body["displayName"] = json!("é".repeat(12_000));
    app.create_user(&body).await;
    let all = entries(&app, 1).await;
    let stored = all[0].body.as_deref().expect("body");
    assert!(redact::is_truncated(stored), "{}", &stored[stored.len() - 80..]);
    assert!(stored.len() < redact::STORED_MAX + 100, "{}", stored.len());
    assert!(stored.starts_with("{\"schemas\""));
}

#[tokio::test]
async fn a_body_over_the_size_limit_is_still_answered_413() {
    let app = TestApp::spawn_with(|c| scimbox::Config { max_body_bytes: 2000, ..c }).await;
    let mut body = user("big@example.com");
    body["displayName"] = json!("x".repeat(40_000));
    app.post("/Users", &body).await.assert_error(413, None);
    let all = entries(&app, 1).await;
    assert_eq!((all[0].status, all[0].scim_type.as_deref()), (413, None));
    let stored = all[0].body.as_deref().unwrap_or_default();
    assert!(stored.contains("big@example.com") && redact::is_truncated(stored), "{stored:.200}");
    assert!(explain(&all[0]).1.contains("fewer"));
}

#[tokio::test]
async fn retention_prunes_the_oldest_by_count_and_everything_by_age() {
    let app = TestApp::spawn().await;
    for i in 1..=5 {
        app.get(&format!("/Users?count={i}")).await;
    }
    entries(&app, 5).await;
    let addr = "127.0.0.1:0".parse().expect("addr");
    let keep_three = scimbox::Config { journal_max_rows: 3, ..scimbox::Config::new(app.db_path.clone(), addr) };
    scimbox::journal::prune(&app.db, &keep_three).await.expect("prune");
    let left = app.db.read(|c| journal::recent(c, 100, 0, false)).await.expect("read");
    let queries: Vec<_> = left.iter().filter_map(|e| e.query.as_deref()).collect();
    assert_eq!(queries, ["count=5", "count=4", "count=3"]);

    let no_age = scimbox::Config { journal_max_age: Duration::ZERO, ..keep_three };
    scimbox::journal::prune(&app.db, &no_age).await.expect("prune");
    let left = app.db.read(|c| journal::recent(c, 100, 0, false)).await.expect("read");
    assert!(left.is_empty(), "{left:#?}");
}

/// A backlog of many batches (a bulk import's history, or a first start on a big database) is
/// pruned in one pass down to exactly the newest `journal_max_rows`, whatever arrives meanwhile:
/// the pass reads its cut once and deletes below it batch by batch.
#[tokio::test]
async fn a_backlog_of_many_batches_is_pruned_to_the_newest_in_one_pass() {
    let app = TestApp::spawn().await;
    let at = scimbox::stamp::timestamp(scimbox::clock::now());
    app.db
        .write(move |c| {
            for i in 0..1_234 {
                let e = Entry {
                    at: at.clone(),
                    method: "GET".into(),
                    path: "/x".into(),
                    status: 200,
                    query: Some(format!("n={i}")),
                    ..Entry::default()
                };
                journal::insert(c, &e)?;
            }
            Ok(())
        })
        .await
        .expect("insert");
    let addr = "127.0.0.1:0".parse().expect("addr");
    let keep = scimbox::Config { journal_max_rows: 100, ..scimbox::Config::new(app.db_path.clone(), addr) };
    let pruned = scimbox::journal::prune(&app.db, &keep).await.expect("prune");
    assert!(pruned >= 1_134, "{pruned} pruned");
    let left = app.db.read(|c| journal::recent(c, 1_000, 0, false)).await.expect("read");
    assert_eq!(left.len(), 100);
    let marked: Vec<_> = left.iter().filter_map(|e| e.query.as_deref()).filter(|q| q.starts_with("n=")).collect();
    assert_eq!(marked.first().copied(), Some("n=1233"), "the newest stay");
    assert!(marked.iter().all(|q| q[2..].parse::<u32>().is_ok_and(|n| n >= 1_134)), "{marked:?}");
}

#[tokio::test]
async fn user_changes_have_before_and_after_without_the_password() {
    let app = TestApp::spawn().await;
    let mut body = user("lin@example.com");
    body["password"] = json!("never-Stored-1");
    body["displayName"] = json!("Lin");
    let id = app.create_user(&body).await["id"].as_str().expect("id").to_owned();
    let ops = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                     "Operations": [{"op": "replace", "path": "displayName", "value": "Lin Y."}]});
    assert_eq!(app.patch(&format!("/Users/{id}"), &ops).await.status, StatusCode::OK);
    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, StatusCode::NO_CONTENT);

    let history = changes(&app, "User", &id).await;
    let actions: Vec<_> = history.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["deleted", "updated", "created"]);
    let (deleted, updated, created) = (&history[0], &history[1], &history[2]);
    assert_eq!((doc(&created.before), doc(&created.after)["displayName"].clone()), (Value::Null, json!("Lin")));
    assert_eq!(doc(&updated.before)["displayName"], "Lin");
    assert_eq!(doc(&updated.after)["displayName"], "Lin Y.");
    assert_eq!((doc(&deleted.before)["displayName"].clone(), doc(&deleted.after)), (json!("Lin Y."), Value::Null));
    assert!(!format!("{history:?}").contains("never-Stored-1"));
}

#[tokio::test]
async fn membership_changes_are_recorded_compactly() {
    let app = TestApp::spawn().await;
    let mut u = Vec::new();
    for name in ["m1", "m2", "m3"] {
        u.push(app.create_user(&user(&format!("{name}@example.com"))).await["id"].as_str().expect("id").to_owned());
    }
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops",
                       "members": [{"value": u[0]}]});
    let r = app.post("/Groups", &group).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let gid = r.body["id"].as_str().expect("id").to_owned();
    let ops = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": u[1]}]},
        {"op": "remove", "path": format!("members[value eq \"{}\"]", u[0])}]});
    assert_eq!(app.patch(&format!("/Groups/{gid}"), &ops).await.status, StatusCode::OK);
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops",
                     "members": [{"value": u[1]}, {"value": u[2]}]});
    assert_eq!(app.put(&format!("/Groups/{gid}"), &put).await.status, StatusCode::OK);
    assert_eq!(app.delete(&format!("/Users/{}", u[2])).await.status, StatusCode::NO_CONTENT);

    let history = changes(&app, "Group", &gid).await;
    let members: Vec<Value> = history.iter().rev().map(|c| doc(&c.after)["members"].clone()).collect();
    assert_eq!(
        members,
        [
            json!({"added": [u[0]]}),
            json!({"added": [u[1]], "removed": [u[0]]}),
            json!({"added": [u[2]]}),
            json!({"removed": [u[2]]}),
        ],
        "{history:#?}"
    );
    assert_eq!(history.last().map(|c| c.action.as_str()), Some("created"));
    assert_eq!(doc(&history[0].before)["displayName"], "Ops");
    let pending: i64 = app
        .db
        .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM member_changes_pending", [], |r| r.get(0))?))
        .await
        .expect("count");
    assert_eq!(pending, 0, "nothing is left pending between writes");
}

#[tokio::test]
async fn an_abandoned_request_is_recorded_as_408_with_what_arrived() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(|c| scimbox::Config { request_timeout: Duration::from_millis(300), ..c }).await;
    let mut slow = tokio::net::TcpStream::connect(app.origin.trim_start_matches("http://")).await.expect("connect");
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\"password\": \"stall3d-Pw\"",
        app.token
    );
    slow.write_all(head.as_bytes()).await.expect("write");
    let mut answer = [0u8; 12];
    slow.read_exact(&mut answer).await.expect("read");
    assert_eq!(&answer, b"HTTP/1.1 408");
    let all = entries(&app, 1).await;
    assert_eq!((all[0].status, all[0].token_name.as_deref()), (408, Some("test")));
    let stored = all[0].body.as_deref().unwrap_or_default();
    assert!(redact::is_truncated(stored) && !stored.contains("stall3d") && stored.contains(redact::MARK), "{stored}");
}
