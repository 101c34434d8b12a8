//! Issue 14 item 1, access part: every change of a user's effective access records one
//! `access.granted` / `access.changed` / `access.revoked` per (user, account) in the write of
//! the change, whatever the reason (the user's `accounts`, deactivation, reactivation,
//! deletion, Bulk, a registry change made with the real `scimbox account ...` binary), after the
//! `user.*` event and in accountId order; a write that changes nothing records none. Also the
//! deprovisioning guard's `guard.tripped`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use scimbox::Config;
use scimbox::db::users;
use serde_json::{Value, json};

use crate::feed::{app_token, events_after};
use crate::helpers::{TestApp, bin, user};

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn now() -> String {
    scimbox::stamp::timestamp(scimbox::clock::now())
}

async fn register(app: &TestApp, list: &[(&str, Option<&str>)]) {
    crate::helpers::register_accounts(app, list).await;
}

/// Runs the real binary on the server's database, asserting success.
fn cli(db: &Path, args: &[&str]) {
    let out = Command::new(bin())
        .args(args)
        .args(["--db", db.to_str().expect("path")])
        .env_remove("SCIMBOX_DB")
        .output()
        .expect("run scimbox");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn with_accounts(name: &str, accounts: Value) -> Value {
    let mut b = user(name);
    b["accounts"] = accounts;
    b
}

fn ops(ops: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": ops})
}

/// `(type, accountId)` of each event (accountId empty for a `user.*` event).
fn kinds(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| {
            let t = e["type"].as_str().unwrap_or_default().to_owned();
            (t, e["data"]["accountId"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

fn last(events: &[Value], or: i64) -> i64 {
    events.last().and_then(|e| e["seq"].as_i64()).unwrap_or(or)
}

/// One expected access entry as the events show it.
fn entry(account: &str, roles: &[&str], status: &str, from: Option<&str>) -> Value {
    let mut e = json!({"accountId": account, "roles": roles, "teams": [], "status": status});
    if let Some(f) = from {
        e["inheritedFrom"] = json!(f);
    }
    e
}

/// The event's own entry (accountId, roles, teams, status, inheritedFrom), without `user`
/// and `previous`.
fn own(e: &Value) -> Value {
    let mut d = e["data"].clone();
    if let Value::Object(m) = &mut d {
        m.remove("user");
        m.remove("previous");
    }
    d
}

/// A user's life with accounts: each reason gives exactly its events, in order, with the
/// documented data; a PUT of what is stored gives none.
#[tokio::test]
async fn each_user_write_records_exactly_its_access_events() {
    let app = TestApp::spawn().await;
    register(&app, &[("ACC1", None), ("PARENT", None), ("CHILD1", Some("PARENT"))]).await;
    let token = app_token(&app, "reader").await;

    let body = with_accounts("ada@example.com", json!([{"accountId": "PARENT", "roles": ["Editor"]}]));
    let made = app.create_user(&body).await;
    let id = made["id"].as_str().expect("id").to_owned();
    let path = format!("/Users/{id}");
    let got = events_after(&app, &token, 0).await;
    assert_eq!(
        kinds(&got),
        pairs(&[("user.created", ""), ("access.granted", "CHILD1"), ("access.granted", "PARENT")]),
        "{got:#?}"
    );
    assert_eq!(got[1]["data"]["user"], json!({"id": id, "userName": "ada@example.com"}));
    assert_eq!(own(&got[1]), entry("CHILD1", &["Editor"], "Active", Some("PARENT")));
    assert_eq!(own(&got[2]), entry("PARENT", &["Editor"], "Active", None));
    assert!(got[2]["data"].get("previous").is_none(), "granted has no previous");
    for e in &got[1..] {
        assert_eq!((e["resource"]["type"].as_str(), e["resource"]["id"].as_str()), (Some("User"), Some(id.as_str())));
        assert_eq!((e["actor"].as_str(), &e["occurred_at"]), (Some("test"), &got[0]["occurred_at"]));
    }
    let mut at = last(&got, 0);

    // The same body again: nothing changed, nothing recorded.
    let r = app.put(&path, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(events_after(&app, &token, at).await, Vec::<Value>::new());

    // New roles: changed, with the previous entry.
    let viewer =
        json!([{"op": "replace", "path": "accounts", "value": [{"accountId": "PARENT", "roles": ["Viewer"]}]}]);
    assert_eq!(app.patch(&path, &ops(viewer)).await.status, StatusCode::OK);
    let got = events_after(&app, &token, at).await;
    assert_eq!(kinds(&got), pairs(&[("user.updated", ""), ("access.changed", "CHILD1"), ("access.changed", "PARENT")]));
    assert_eq!(own(&got[2]), entry("PARENT", &["Viewer"], "Active", None));
    assert_eq!(got[2]["data"]["previous"], entry("PARENT", &["Editor"], "Active", None));
    at = last(&got, at);

    // Deactivation keeps the entries, as GET shows them, with status Inactive; reactivation
    // turns them back.
    assert_eq!(
        app.patch(&path, &ops(json!([{"op": "replace", "value": {"active": false}}]))).await.status,
        StatusCode::OK
    );
    let got = events_after(&app, &token, at).await;
    assert_eq!(
        kinds(&got),
        pairs(&[("user.deactivated", ""), ("access.changed", "CHILD1"), ("access.changed", "PARENT")])
    );
    assert_eq!(own(&got[1]), entry("CHILD1", &["Viewer"], "Inactive", Some("PARENT")));
    assert_eq!(got[1]["data"]["previous"], entry("CHILD1", &["Viewer"], "Active", Some("PARENT")));
    let shown = app.get(&format!("{path}?attributes=access")).await.body;
    let ext = "urn:ietf:params:scim:schemas:extension:scimbox:2.0:User";
    assert_eq!(shown[ext]["access"][0]["status"], "Inactive", "the events say what GET shows: {shown}");
    at = last(&got, at);
    assert_eq!(
        app.patch(&path, &ops(json!([{"op": "replace", "value": {"active": true}}]))).await.status,
        StatusCode::OK
    );
    let got = events_after(&app, &token, at).await;
    assert_eq!(
        kinds(&got),
        pairs(&[("user.reactivated", ""), ("access.changed", "CHILD1"), ("access.changed", "PARENT")])
    );
    assert_eq!(got[2]["data"]["status"], "Active");
    at = last(&got, at);

    // PUT moving the grant from PARENT to ACC1: two revoked, one granted, by accountId.
    let moved = with_accounts("ada@example.com", json!([{"accountId": "ACC1", "roles": ["Viewer"]}]));
    assert_eq!(app.put(&path, &moved).await.status, StatusCode::OK);
    let got = events_after(&app, &token, at).await;
    assert_eq!(
        kinds(&got),
        pairs(&[
            ("user.updated", ""),
            ("access.granted", "ACC1"),
            ("access.revoked", "CHILD1"),
            ("access.revoked", "PARENT")
        ])
    );
    assert_eq!(got[2]["data"]["previous"], entry("CHILD1", &["Viewer"], "Active", Some("PARENT")));
    assert_eq!((&got[2]["data"]["roles"], &got[2]["data"]["status"]), (&json!([]), &Value::Null));
    at = last(&got, at);

    // Deletion revokes every entry.
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    let got = events_after(&app, &token, at).await;
    assert_eq!(kinds(&got), pairs(&[("user.deleted", ""), ("access.revoked", "ACC1")]));
    assert_eq!(got[1]["data"]["user"], json!({"id": id, "userName": "ada@example.com"}));
    at = last(&got, at);

    // Bulk: each committed operation its events; a user without accounts gives none.
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": with_accounts("bob@example.com", json!([{"accountId": "ACC1"}]))},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("cy@example.com")},
    ]});
    assert_eq!(app.post("/Bulk", &bulk).await.status, StatusCode::OK);
    let got = events_after(&app, &token, at).await;
    assert_eq!(kinds(&got), pairs(&[("user.created", ""), ("access.granted", "ACC1"), ("user.created", "")]));
    assert_eq!(own(&got[1]), entry("ACC1", &[], "Active", None));
}

/// Registry changes through the real binary while the server runs: a move under a new parent
/// grants the moved account to every user of the parent (and nobody else), moving it back out
/// revokes it, removing an inherited account revokes it, adding a child grants it, and a catalogued role that respells what users
/// hold changes their entries; the actor is `cli`.
#[tokio::test]
async fn registry_changes_through_the_cli_record_access_for_every_user_affected() {
    let app = TestApp::spawn().await;
    register(&app, &[("ACC1", None), ("PARENT", None)]).await;
    let token = app_token(&app, "reader").await;
    let mut parent_users = Vec::new();
    for i in 0..5 {
        let b = with_accounts(&format!("p{i}@example.com"), json!([{"accountId": "PARENT", "roles": ["editor"]}]));
        parent_users.push(app.create_user(&b).await["id"].as_str().expect("id").to_owned());
    }
    app.create_user(&with_accounts("other@example.com", json!([{"accountId": "ACC1"}]))).await;
    app.create_user(&user("none@example.com")).await;
    let mut at = last(&events_after(&app, &token, 0).await, 0);

    cli(&app.db_path, &["account", "add", "NEW", "--name", "New"]);
    assert_eq!(events_after(&app, &token, at).await, Vec::<Value>::new(), "a new top-level account changes no access");

    cli(&app.db_path, &["account", "move", "NEW", "--parent", "PARENT"]);
    let got = events_after(&app, &token, at).await;
    assert_eq!(got.len(), parent_users.len(), "{got:#?}");
    for (e, id) in got.iter().zip(&parent_users) {
        assert_eq!((e["type"].as_str(), e["actor"].as_str()), (Some("access.granted"), Some("cli")));
        assert_eq!(e["data"]["user"]["id"].as_str(), Some(id.as_str()));
        assert_eq!(own(e), entry("NEW", &["editor"], "Active", Some("PARENT")));
    }
    at = last(&got, at);

    // The catalogue's spelling of a role is what access shows: cataloguing "Editor" changes it.
    cli(&app.db_path, &["role", "add", "Editor"]);
    let got = events_after(&app, &token, at).await;
    let changed = kinds(&got);
    assert_eq!(changed.len(), 2 * parent_users.len(), "{got:#?}");
    assert!(changed[..5].iter().all(|(t, a)| t == "access.changed" && a == "NEW"), "by accountId: {changed:?}");
    assert!(changed[5..].iter().all(|(t, a)| t == "access.changed" && a == "PARENT"), "{changed:?}");
    assert_eq!(
        (&got[0]["data"]["roles"], &got[0]["data"]["previous"]["roles"]),
        (&json!(["Editor"]), &json!(["editor"]))
    );
    at = last(&got, at);

    cli(&app.db_path, &["account", "move", "NEW", "--root"]);
    let got = events_after(&app, &token, at).await;
    assert_eq!(got.len(), parent_users.len());
    assert!(got.iter().all(|e| e["type"] == "access.revoked" && e["data"]["accountId"] == "NEW"), "{got:#?}");
    at = last(&got, at);

    // Removing an account the users reach through PARENT revokes it for each of them.
    cli(&app.db_path, &["account", "move", "NEW", "--parent", "PARENT"]);
    at = last(&events_after(&app, &token, at).await, at);
    cli(&app.db_path, &["account", "remove", "NEW"]);
    let got = events_after(&app, &token, at).await;
    assert_eq!(got.len(), parent_users.len());
    assert!(got.iter().all(|e| e["type"] == "access.revoked" && e["data"]["accountId"] == "NEW"), "{got:#?}");
    assert_eq!(got[0]["data"]["previous"], entry("NEW", &["Editor"], "Active", Some("PARENT")));
    at = last(&got, at);

    // A child added under PARENT reaches its users at once.
    cli(&app.db_path, &["account", "add", "KID", "--name", "Kid", "--parent", "PARENT"]);
    let got = events_after(&app, &token, at).await;
    assert_eq!(got.len(), parent_users.len());
    assert!(got.iter().all(|e| e["type"] == "access.granted" && e["data"]["accountId"] == "KID"), "{got:#?}");
    at = last(&got, at);

    // An account a user names itself stays in its access once removed (what GET shows: the
    // grant is the IdP's, and comes back if the id is registered again): nothing changed.
    cli(&app.db_path, &["account", "remove", "ACC1"]);
    assert_eq!(events_after(&app, &token, at).await, Vec::<Value>::new());
}

/// 10,000 users under one parent: moving an account under it records 10,000 `access.granted`
/// in one CLI write, in seconds.
#[tokio::test]
async fn a_move_under_a_parent_of_ten_thousand_users_takes_seconds() {
    const USERS: usize = 10_000;
    let app = TestApp::spawn().await;
    register(&app, &[("BIG", None), ("LEAF", None)]).await;
    let token = app_token(&app, "reader").await;
    let payload = json!([{"accountId": "BIG", "roles": ["Member"]}]);
    app.db
        .write(move |c| {
            let stamp = now();
            for i in 0..USERS {
                let mut doc = serde_json::Map::new();
                doc.insert("userName".into(), format!("u{i:05}@example.com").into());
                doc.insert("active".into(), true.into());
                doc.insert("accounts".into(), payload.clone());
                users::insert(c, &format!("u{i:05}"), doc, &stamp)?;
            }
            Ok(())
        })
        .await
        .expect("seed users");
    let started = Instant::now();
    cli(&app.db_path, &["account", "move", "LEAF", "--parent", "BIG"]);
    let took = started.elapsed();
    let got = events_after(&app, &token, 0).await;
    assert_eq!(got.len(), USERS);
    assert!(got.iter().all(|e| e["type"] == "access.granted" && e["data"]["inheritedFrom"] == "BIG"));
    eprintln!("moving an account under a parent of {USERS} users: {took:?} (debug build, CLI process included)");
    assert!(took < Duration::from_secs(60), "{took:?}");
}

/// The guard's trip is an event: its resource is the token, its data the window and count.
#[tokio::test]
async fn the_guard_tripping_records_guard_tripped() {
    let app = TestApp::spawn_with(|c| Config { guard_max: Some(2), ..c }).await;
    let token = app_token(&app, "reader").await;
    let then = scimbox::stamp::timestamp(scimbox::clock::now() - Duration::from_secs(3600));
    app.db
        .write(move |c| {
            for i in 0..3 {
                let mut doc = serde_json::Map::new();
                doc.insert("userName".into(), format!("old{i}@example.com").into());
                users::insert(c, &format!("old-{i}"), doc, &then)?;
            }
            Ok(())
        })
        .await
        .expect("seed");
    for i in 0..2 {
        assert_eq!(app.delete(&format!("/Users/old-{i}")).await.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(app.delete("/Users/old-2").await.status.as_u16(), 429);
    let got = events_after(&app, &token, 0).await;
    let tripped: Vec<&Value> = got.iter().filter(|e| e["type"] == "guard.tripped").collect();
    assert_eq!(tripped.len(), 1, "{got:#?}");
    let e = tripped[0];
    assert_eq!(e["resource"], json!({"type": "Token", "id": "test", "location": null}));
    assert_eq!((e["data"]["token"].as_str(), e["data"]["count"].as_u64()), (Some("test"), Some(2)));
    assert_eq!(e["data"]["windowSeconds"], 600);
    assert_eq!(e["actor"], "test");
    assert_eq!(got.last(), Some(e), "the held deletion recorded nothing");
}
