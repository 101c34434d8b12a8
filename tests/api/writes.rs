//! Issue 11, problems 3 and 6: PATCH in linear time with a cap on its operations; a request's
//! deadline honoured inside the writer (an error answer never hides a commit, and a commit is
//! always answered with success); string values of bounded size; list pages under a byte budget.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, user};

const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn patch_body(ops: Vec<Value>) -> Value {
    json!({"schemas": [PATCH_URN], "Operations": ops})
}

/// `n` operations, each adding one email.
fn add_emails(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!({"op": "add", "path": "emails", "value": [{"value": format!("e{i}@example.com")}]})).collect()
}

/// POSTs `body` until it is created, on a server whose deadline may refuse it (a 408 has
/// committed nothing, so the retry cannot conflict); returns the resource.
async fn created(app: &TestApp, path: &str, body: &Value) -> Value {
    loop {
        let r = app.post(path, body).await;
        match r.status {
            StatusCode::CREATED => return r.body,
            StatusCode::REQUEST_TIMEOUT => {}
            other => panic!("{other}: {}", r.text),
        }
    }
}

/// GETs `path` until it is answered within the deadline; returns the body.
async fn get_ok(app: &TestApp, path: &str) -> Value {
    loop {
        let r = app.get(path).await;
        match r.status {
            StatusCode::OK => return r.body,
            StatusCode::REQUEST_TIMEOUT => {}
            other => panic!("{other}: {}", r.text),
        }
    }
}

/// Gives the writer a job that holds it for `d` (as a long write would).
fn occupy_writer(app: &TestApp, d: Duration) -> tokio::task::JoinHandle<Result<(), scimbox::db::StoreError>> {
    let db = app.db.clone();
    tokio::spawn(async move {
        db.write(move |_| {
            std::thread::sleep(d);
            Ok(())
        })
        .await
    })
}

/// Waits until every write queued so far has run: the writer takes jobs in order.
async fn drain(app: &TestApp) {
    app.db.write(|_| Ok(())).await.expect("drain");
}

fn version(resource: &Value) -> String {
    resource["meta"]["version"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_patch_over_the_operation_cap_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&user("cap")).await;
    let path = format!("/Users/{}", created["id"].as_str().expect("id"));

    let r = app.patch(&path, &patch_body(add_emails(8_000))).await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("8000") && detail.contains("1000"), "names the count and the limit: {detail}");

    let after = app.get(&path).await;
    assert_eq!(version(&after.body), version(&created), "nothing was applied");
    assert!(after.body.get("emails").is_none());
}

#[tokio::test]
async fn a_patch_of_the_cap_size_applies_in_time_linear_in_its_operations() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&user("big")).await;
    let path = format!("/Users/{}", created["id"].as_str().expect("id"));

    let start = Instant::now();
    let r = app.patch(&path, &patch_body(add_emails(1_000))).await;
    let took = start.elapsed();
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["emails"].as_array().map(Vec::len), Some(1_000));
    // Generous: an unoptimised build on a busy machine. Checking after every operation made this
    // quadratic (8,000 operations took 27 s in a release build).
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[tokio::test]
async fn a_bad_operation_among_many_is_still_named() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&user("blame")).await;
    let path = format!("/Users/{}", created["id"].as_str().expect("id"));
    let mut ops = add_emails(600);
    ops[417] = json!({"op": "replace", "path": "active", "value": "maybe"});

    let r = app.patch(&path, &patch_body(ops)).await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("Operations[417]"), "{detail}");
    assert_eq!(version(&app.get(&path).await.body), version(&created));
}

/// The writer is busy past the request's deadline: the PATCH is refused before it starts, and
/// stays refused: nothing commits later behind the 408.
#[tokio::test]
async fn a_write_that_cannot_start_before_its_deadline_commits_nothing() {
    let app = TestApp::spawn_with(|mut c| {
        c.request_timeout = Duration::from_millis(300);
        c
    })
    .await;
    let created = app.create_user(&user("late")).await;
    let path = format!("/Users/{}", created["id"].as_str().expect("id"));

    // Occupy the writer for longer than the request may take.
    let busy = occupy_writer(&app, Duration::from_millis(1_500));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let ops = vec![json!({"op": "replace", "path": "title", "value": "changed"})];
    let r = app.patch(&path, &patch_body(ops)).await;
    r.assert_error(408, None);

    busy.await.expect("join").expect("busy write");
    drain(&app).await;
    let after = app.get(&path).await;
    assert_eq!(version(&after.body), version(&created), "a 408 hid a commit: {}", after.text);
    assert!(after.body.get("title").is_none(), "{}", after.text);
}

/// A write that started before the deadline and ends after it is answered with its real
/// outcome, 200, not with a 408 that would hide the commit.
#[tokio::test]
async fn a_write_that_started_is_answered_with_its_outcome_however_late() {
    let timeout = Duration::from_millis(50);
    let app = TestApp::spawn_with(|mut c| {
        c.request_timeout = timeout;
        c
    })
    .await;
    let mut ids = Vec::new();
    for i in 0..1_000 {
        ids.push(created(&app, "/Users", &user(&format!("m{i}"))).await["id"].as_str().expect("id").to_owned());
    }
    let group = created(&app, "/Groups", &json!({"displayName": "everyone"})).await;
    let path = format!("/Groups/{}", group["id"].as_str().expect("id"));
    // Adding 1,000 members is 1,000 lookups and inserts inside the writer: longer than 50 ms in
    // a test build, and it starts at once (the writer is idle).
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let ops = vec![json!({"op": "add", "path": "members", "value": members})];

    let start = Instant::now();
    let r = app.patch(&path, &patch_body(ops)).await;
    let took = start.elapsed();
    drain(&app).await;
    let after = get_ok(&app, &format!("{path}?attributes=members")).await;
    let members = after["members"].as_array().map_or(0, Vec::len);
    match r.status {
        StatusCode::OK => assert_eq!(members, 1_000, "answered 200, so everything committed"),
        other => panic!("answered {other} after {took:?} with {members} members committed: {}", r.text),
    }
}

/// Many writes racing a tiny deadline behind a busy writer: each one's answer matches what
/// happened to it.
#[tokio::test]
async fn every_answer_under_deadline_pressure_matches_what_committed() {
    let app = TestApp::spawn_with(|mut c| {
        c.request_timeout = Duration::from_millis(150);
        c
    })
    .await;
    let mut paths = Vec::new();
    for i in 0..12 {
        let created = created(&app, "/Users", &user(&format!("racer{i}"))).await;
        paths.push((format!("/Users/{}", created["id"].as_str().expect("id")), version(&created)));
    }
    let busy = occupy_writer(&app, Duration::from_millis(100));
    let app = &app;
    let answers = futures::future::join_all(paths.iter().map(|(path, _)| {
        let ops = patch_body(add_emails(300));
        async move { app.patch(path, &ops).await }
    }))
    .await;
    busy.await.expect("join").expect("busy write");
    drain(app).await;
    let mut refused = 0;
    for ((path, before), r) in paths.iter().zip(&answers) {
        let after = get_ok(app, path).await;
        let committed = version(&after) != *before;
        match r.status {
            StatusCode::OK => assert!(committed, "200 without a commit: {path}"),
            StatusCode::REQUEST_TIMEOUT => {
                refused += 1;
                assert!(!committed, "408 hid a commit: {path} is at version {}", version(&after));
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert!(refused > 0, "the writer was busy past every deadline, so some were refused");
}

#[tokio::test]
async fn a_megabyte_string_is_refused_naming_the_attribute_and_the_limit() {
    let app = TestApp::spawn().await;
    let mut body = user("huge");
    body["displayName"] = json!("x".repeat(1_000_000));
    let r = app.post("/Users", &body).await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("displayName") && detail.contains("65536"), "{detail}");

    body["displayName"] = json!("x".repeat(64 * 1024));
    let created = app.create_user(&body).await;
    let path = format!("/Users/{}", created["id"].as_str().expect("id"));
    let ops = vec![json!({"op": "replace", "path": "name.givenName", "value": "é".repeat(40_000)})];
    let r = app.patch(&path, &patch_body(ops)).await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("Operations[0]") && detail.contains("name.givenName"), "{detail}");
}

/// Users in a cycle of nested groups carry every group of the cycle: a page of them stops at
/// the byte budget, says how many it holds, and paging on reaches every user exactly once.
#[tokio::test]
async fn list_pages_stop_at_the_byte_budget_and_paging_reaches_everyone_once() {
    let app = TestApp::spawn().await;
    let (users, cycle) = (300, 200);
    let mut ids = Vec::new();
    for i in 0..users {
        ids.push(app.create_user(&user(&format!("member{i:03}"))).await["id"].as_str().expect("id").to_owned());
    }
    let mut groups = Vec::new();
    for i in 0..cycle {
        let r = app.post("/Groups", &json!({"displayName": format!("a rather long group name number {i:04}")})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        groups.push(r.body["id"].as_str().expect("id").to_owned());
    }
    for i in 0..cycle {
        let next = &groups[(i + 1) % cycle];
        let op = json!({"op": "add", "path": "members", "value": [{"value": next}]});
        let r = app.patch(&format!("/Groups/{}", groups[i]), &patch_body(vec![op])).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let op = json!({"op": "add", "path": "members", "value": members});
    let r = app.patch(&format!("/Groups/{}", groups[0]), &patch_body(vec![op])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let budget = 4 * 1024 * 1024;
    let mut seen = HashSet::new();
    let mut start = 1;
    let mut pages = 0;
    while start <= users {
        let r = app.get(&format!("/Users?count=1000&startIndex={start}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(r.text.len() < budget + 64 * 1024, "page of {} bytes", r.text.len());
        assert_eq!(r.body["totalResults"], users);
        let got = r.body["Resources"].as_array().expect("Resources");
        assert_eq!(r.body["itemsPerPage"], got.len());
        assert!(!got.is_empty(), "a page always advances");
        for u in got {
            assert_eq!(u["groups"].as_array().map(Vec::len), Some(cycle), "each user is in every group");
            assert!(seen.insert(u["id"].as_str().expect("id").to_owned()), "seen twice: {}", u["id"]);
        }
        start += got.len();
        pages += 1;
    }
    assert_eq!(seen.len(), users);
    assert!(pages > 1, "{users} users in {cycle} groups are more than one page's budget");

    // The root search pages under the same budget.
    let mut seen_root = HashSet::new();
    let mut start = 1;
    loop {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 1000, "startIndex": start});
        let r = app.post("/.search", &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(r.text.len() < budget + 64 * 1024, "page of {} bytes", r.text.len());
        assert_eq!(r.body["totalResults"], users + cycle);
        let got = r.body["Resources"].as_array().expect("Resources");
        if got.is_empty() {
            break;
        }
        for res in got {
            assert!(seen_root.insert(res["id"].as_str().expect("id").to_owned()), "seen twice: {}", res["id"]);
        }
        start += got.len();
    }
    assert_eq!(seen_root.len(), users + cycle);
}

/// A Bulk request past its deadline still reports every operation: those that committed as
/// created, those the writer refused (their deadline had passed) as 408; none is lost or hidden.
#[tokio::test]
async fn a_bulk_request_past_its_deadline_reports_each_operation_as_it_ended() {
    let app = TestApp::spawn_with(|mut c| {
        c.request_timeout = Duration::from_millis(150);
        c
    })
    .await;
    let busy = occupy_writer(&app, Duration::from_millis(100));
    let ops: Vec<Value> = (0..200)
        .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"), "data": user(&format!("bulk{i:03}"))}))
        .collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops});
    let r = app.post("/Bulk", &body).await;
    busy.await.expect("join").expect("busy write");
    drain(&app).await;
    assert_eq!(r.status, StatusCode::OK, "a Bulk request that started writing is answered: {}", r.text);
    let reported = r.body["Operations"].as_array().expect("Operations");
    assert_eq!(reported.len(), 200, "every operation is reported");
    let mut created = 0;
    for (i, op) in reported.iter().enumerate() {
        let q = crate::helpers::form_encode(&[("filter", &format!("userName eq \"bulk{i:03}\""))]);
        let found = get_ok(&app, &format!("/Users?{q}")).await["totalResults"].as_u64();
        match op["status"].as_str() {
            Some("201") => {
                created += 1;
                assert_eq!(found, Some(1), "reported created but absent: {op}");
            }
            Some("408") => assert_eq!(found, Some(0), "reported 408 but committed: {op}"),
            other => panic!("unexpected status {other:?}: {op}"),
        }
    }
    assert!(created < 200, "the deadline passed while the writer was busy, so some were refused");
}
