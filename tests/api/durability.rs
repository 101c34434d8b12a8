//! Durability and concurrency: acknowledged writes survive `kill -9` (server/src/db/mod.rs:
//! group commit with `synchronous=FULL`), userName uniqueness holds under a race (RFC 7643
//! §4.1.1 uniqueness "server", RFC 7644 §3.3 409), and concurrent PATCHes lose no update.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::auth_tokens::{Server, create_token, get_with_auth};
use crate::helpers::{TestApp, user};

/// 200 concurrent creates against the real binary; after half of them are acknowledged the
/// server is killed with SIGKILL while the rest are in flight. After a restart on the same file,
/// every user that was answered 201 is there, with its userName.
#[tokio::test]
async fn acknowledged_creates_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scimbox.db");
    let token = create_token(&db, "crash", None);
    let mut server = Server::start(&db, &dir.path().join("server.log")).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let users_url = format!("{}/Users", server.base);

    let mut in_flight = FuturesUnordered::new();
    for i in 0..200 {
        let (client, url, token) = (client.clone(), users_url.clone(), token.clone());
        in_flight.push(tokio::spawn(async move {
            let name = format!("crash-user-{i:03}");
            let sent = client
                .post(url)
                .bearer_auth(token)
                .header("Content-Type", "application/scim+json")
                .body(user(&name).to_string())
                .send()
                .await;
            let Ok(resp) = sent else { return (name, None) };
            let status = resp.status();
            let body: Option<Value> = resp.json().await.ok();
            (name, Some((status, body)))
        }));
    }

    let mut acked: HashMap<String, String> = HashMap::new(); // id -> userName
    let mut killed_after = None;
    while let Some(done) = in_flight.next().await {
        let (name, outcome) = done.expect("task");
        if let Some((status, Some(body))) = outcome {
            if status == StatusCode::CREATED {
                let id = body["id"].as_str().expect("id").to_owned();
                assert_eq!(body["userName"], name.as_str());
                acked.insert(id, name);
            } else {
                panic!("POST /Users answered {status}: {body}");
            }
        }
        if killed_after.is_none() && acked.len() >= 20 {
            server.kill(); // SIGKILL: no graceful shutdown, no final checkpoint
            killed_after = Some(acked.len());
        }
    }
    if killed_after.is_none() {
        server.kill();
    }
    assert!(acked.len() >= 20, "only {} creates were acknowledged", acked.len());
    eprintln!("{} of 200 creates acknowledged before/around the kill (kill after {killed_after:?})", acked.len());

    let server = Server::start(&db, &dir.path().join("server2.log")).await;
    for (id, name) in &acked {
        let r = get_with_auth(&client, &format!("{}/Users/{id}", server.base), Some(&format!("Bearer {token}"))).await;
        assert_eq!(r.status, StatusCode::OK, "acknowledged user {name} ({id}) lost after kill -9: {}", r.text);
        assert_eq!(r.body["userName"], name.as_str());
        assert_eq!(r.body["id"], id.as_str());
    }
    let list =
        get_with_auth(&client, &format!("{}/Users?count=0", server.base), Some(&format!("Bearer {token}"))).await;
    let total = list.body["totalResults"].as_u64().unwrap();
    assert!(total >= acked.len() as u64 && total <= 200, "totalResults {total}, acknowledged {}", acked.len());
    // The database is consistent: every row's userName is one of ours, and each unique.
    let all =
        get_with_auth(&client, &format!("{}/Users?count=1000", server.base), Some(&format!("Bearer {token}"))).await;
    let mut names: Vec<&str> =
        all.body["Resources"].as_array().unwrap().iter().map(|r| r["userName"].as_str().unwrap()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len() as u64, total);
    assert!(names.iter().all(|n| n.starts_with("crash-user-")));
}

/// RFC 7643 §4.1.1: userName has uniqueness "server" and caseExact false; RFC 7644 §3.3: a
/// duplicate is 409 with scimType uniqueness. 20 concurrent creates of one name in varying case:
/// exactly one wins.
#[tokio::test]
async fn concurrent_duplicate_user_names() {
    let app = TestApp::spawn().await;
    let variants: Vec<String> = (0..20)
        .map(|i| {
            "racer.name"
                .chars()
                .enumerate()
                .map(|(j, c)| if (i >> (j % 5)) & 1 == 1 { c.to_ascii_uppercase() } else { c })
                .collect()
        })
        .collect();
    let bodies: Vec<Value> = variants.iter().map(|n| user(n)).collect();
    let results = futures::future::join_all(bodies.iter().map(|b| app.post("/Users", b))).await;
    let created: Vec<_> = results.iter().filter(|r| r.status == StatusCode::CREATED).collect();
    assert_eq!(created.len(), 1, "exactly one 201: {:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
    for r in results.iter().filter(|r| r.status != StatusCode::CREATED) {
        let detail = r.assert_error(409, Some("uniqueness"));
        assert!(detail.to_lowercase().contains("racer.name"), "{detail}");
    }
    let list = app.filter(r#"userName eq "RACER.NAME""#).await;
    assert_eq!(list.body["totalResults"], 1);
    assert_eq!(list.body["Resources"][0]["id"], created[0].body["id"]);
}

/// RFC 7644 §3.5.2.1: 50 concurrent PATCH `add`s of different emails to one user all apply: no
/// lost update (each PATCH is a read-modify-write inside the single writer's transaction).
#[tokio::test]
async fn concurrent_patches_lose_nothing() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&user("patchee")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");
    let bodies: Vec<Value> = (0..50)
        .map(|i| {
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "emails", "value": [{"type": "work", "value": format!("p{i:02}@example.com")}]}]
            })
        })
        .collect();
    let results = futures::future::join_all(bodies.iter().map(|b| app.patch(&path, b))).await;
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.status, StatusCode::OK, "PATCH {i}: {}", r.text);
    }
    let got = app.get(&path).await;
    let mut emails: Vec<&str> =
        got.body["emails"].as_array().expect("emails").iter().map(|e| e["value"].as_str().unwrap()).collect();
    emails.sort_unstable();
    let want: Vec<String> = (0..50).map(|i| format!("p{i:02}@example.com")).collect();
    assert_eq!(emails, want);
    // 50 changes after version 1 (RFC 7644 §3.14: the version changes with every change).
    assert_eq!(got.body["meta"]["version"], "W/\"51\"");
    assert_eq!(got.header("etag"), Some("W/\"51\""));
    // The email index was kept in step with every change.
    for i in [0, 17, 49] {
        let r = app.filter(&format!(r#"emails.value eq "P{i:02}@EXAMPLE.COM""#)).await;
        assert_eq!(r.body["totalResults"], 1, "{}", r.text);
        assert_eq!(r.body["Resources"][0]["id"], id.as_str());
    }
}
