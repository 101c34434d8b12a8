//! Issue 14 item 1: every committed change of a user or group records one event in its own
//! write, of the right type, with the right data, in order; a no-op or refused write records
//! none; Bulk records one per committed operation.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::feed::{app_token, events_after};
use crate::helpers::{TestApp, user};

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn ops(ops: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": ops})
}

/// The events after `from` (a seq), asserting the common shape: strictly increasing seq, unique
/// ids, the test token as actor, RFC 3339 `occurred_at`, and `resource` with its location.
async fn new_events(app: &TestApp, token: &str, from: i64) -> Vec<Value> {
    let events = events_after(app, token, from).await;
    let mut seen = std::collections::HashSet::new();
    let mut last = from;
    for e in &events {
        let seq = e["seq"].as_i64().expect("seq");
        assert!(seq > last, "seq strictly increases: {events:#?}");
        last = seq;
        assert!(seen.insert(e["id"].as_str().expect("id").to_owned()), "ids are unique");
        assert_eq!(e["actor"], "test", "{e}");
        let at = e["occurred_at"].as_str().expect("occurred_at");
        assert!(time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok(), "{at}");
        let (kind, id) = (e["resource"]["type"].as_str().unwrap(), e["resource"]["id"].as_str().unwrap());
        let endpoint = if kind == "User" { "Users" } else { "Groups" };
        if kind == "Token" {
            assert_eq!(e["resource"]["location"], Value::Null, "a token has no SCIM location"); // guard.tripped
        } else {
            assert_eq!(e["resource"]["location"], format!("{}/{endpoint}/{id}", app.base));
        }
    }
    events
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap_or("")).collect()
}

fn last_seq(events: &[Value], or: i64) -> i64 {
    events.last().and_then(|e| e["seq"].as_i64()).unwrap_or(or)
}

/// A user's life: created, updated, a PUT that changes nothing (no event), a refused PATCH (no
/// event), deactivated, reactivated, deleted. Each `data` is the user as GET returned it right
/// then; the deletion's is its id, userName and externalId; `occurred_at` is the change's
/// `meta.lastModified`.
#[tokio::test]
async fn a_users_life_is_one_event_per_committed_change() {
    let app = TestApp::spawn().await;
    let token = app_token(&app, "reader").await;
    let mut body = user("ada@example.com");
    body["externalId"] = json!("ext-ada");
    let made = app.create_user(&body).await;
    let id = made["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");

    let got = new_events(&app, &token, 0).await;
    assert_eq!(types(&got), ["user.created"]);
    assert_eq!(got[0]["data"], app.get(&path).await.body, "data is the user as GET returns it");
    assert_eq!(got[0]["occurred_at"], made["meta"]["lastModified"]);
    let mut at = last_seq(&got, 0);

    let r = app.patch(&path, &ops(json!([{"op": "replace", "path": "displayName", "value": "Ada L."}]))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let got = new_events(&app, &token, at).await;
    assert_eq!(types(&got), ["user.updated"]);
    assert_eq!(got[0]["data"], app.get(&path).await.body);
    assert_eq!(got[0]["data"]["displayName"], "Ada L.");
    at = last_seq(&got, at);

    // A PUT of what is stored, and a PATCH the schema refuses: no event.
    let mut same = body.clone();
    same["displayName"] = json!("Ada L.");
    let r = app.put(&path, &same).await;
    assert_eq!((r.status, &r.body["meta"]["version"]), (StatusCode::OK, &got[0]["data"]["meta"]["version"]));
    let refused = app.patch(&path, &ops(json!([{"op": "replace", "path": "active", "value": "maybe"}]))).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(new_events(&app, &token, at).await.is_empty(), "no event for a no-op or a refused write");

    for (active, kind) in [(false, "user.deactivated"), (true, "user.reactivated")] {
        let r = app.patch(&path, &ops(json!([{"op": "replace", "path": "active", "value": active}]))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let got = new_events(&app, &token, at).await;
        assert_eq!(types(&got), [kind]);
        assert_eq!(got[0]["data"]["active"], active);
        assert_eq!(got[0]["data"], app.get(&path).await.body);
        at = last_seq(&got, at);
    }

    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    let got = new_events(&app, &token, at).await;
    assert_eq!(types(&got), ["user.deleted"]);
    assert_eq!(got[0]["data"], json!({"id": id, "userName": "ada@example.com", "externalId": "ext-ada"}));
}

/// A group's life: created with two members (one event each), a member added and one removed by
/// PATCH, a PUT resending the same members in another order (no event), a rename
/// (group.updated), a member user deleted (user.deleted, then its group.member_removed), the
/// group deleted.
#[tokio::test]
async fn a_groups_changes_and_each_member_are_events() {
    let app = TestApp::spawn().await;
    let token = app_token(&app, "reader").await;
    let mut ids = Vec::new();
    for n in ["g1@example.com", "g2@example.com", "g3@example.com"] {
        ids.push(app.create_user(&user(n)).await["id"].as_str().unwrap().to_owned());
    }
    let at = last_seq(&new_events(&app, &token, 0).await, 0);
    let body = json!({"schemas": [GROUP], "displayName": "Staff", "members": [{"value": ids[0]}, {"value": ids[1]}]});
    let r = app.post("/Groups", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let gid = r.body["id"].as_str().unwrap().to_owned();
    let path = format!("/Groups/{gid}");
    let got = new_events(&app, &token, at).await;
    assert_eq!(types(&got), ["group.created", "group.member_added", "group.member_added"]);
    assert_eq!(got[0]["data"]["displayName"], "Staff");
    assert!(got[0]["data"].get("members").is_none(), "the group's data leaves its members out");
    let mut added: Vec<&str> = got[1..].iter().map(|e| e["data"]["member"]["value"].as_str().unwrap()).collect();
    added.sort_unstable();
    let mut want = vec![ids[0].as_str(), ids[1].as_str()];
    want.sort_unstable();
    assert_eq!(added, want);
    assert_eq!(got[1]["data"]["group"], json!({"id": gid, "displayName": "Staff"}));
    assert_eq!(got[1]["data"]["member"]["type"], "User");
    let at = last_seq(&got, at);

    let change = ops(json!([{"op": "add", "path": "members", "value": [{"value": ids[2]}]},
                            {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}]));
    assert_eq!(app.patch(&path, &change).await.status, StatusCode::OK);
    let got = new_events(&app, &token, at).await;
    assert_eq!(types(&got), ["group.member_added", "group.member_removed"]);
    assert_eq!(got[0]["data"]["member"]["value"], ids[2].as_str());
    assert_eq!(got[1]["data"]["member"]["value"], ids[0].as_str());
    let at = last_seq(&got, at);

    let same = json!({"schemas": [GROUP], "displayName": "Staff", "members": [{"value": ids[2]}, {"value": ids[1]}]});
    assert_eq!(app.put(&path, &same).await.status, StatusCode::OK);
    assert!(new_events(&app, &token, at).await.is_empty(), "the same members in another order are no change");

    let rename = ops(json!([{"op": "replace", "path": "displayName", "value": "Team"}]));
    assert_eq!(app.patch(&path, &rename).await.status, StatusCode::OK);
    let got = new_events(&app, &token, at).await;
    assert_eq!(types(&got), ["group.updated"]);
    assert_eq!(got[0]["data"]["displayName"], "Team");
    assert_eq!(got[0]["data"]["meta"]["version"], app.get(&path).await.body["meta"]["version"]);
    let at = last_seq(&got, at);

    assert_eq!(app.delete(&format!("/Users/{}", ids[1])).await.status, StatusCode::NO_CONTENT);
    let got = new_events(&app, &token, at).await;
    assert_eq!(types(&got), ["user.deleted", "group.member_removed"]);
    assert_eq!(
        got[1]["data"],
        json!({"group": {"id": gid, "displayName": "Team"}, "member": {"type": "User", "value": ids[1]}})
    );
    let at = last_seq(&got, at);

    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    let got = new_events(&app, &token, at).await;
    assert_eq!(types(&got), ["group.deleted"]);
    assert_eq!(got[0]["data"], json!({"id": gid, "displayName": "Team", "externalId": null}));
}

/// A user's `data` carries its effective access (a grant on a parent reaching its child), as
/// GET returns it, and deactivation's `data` shows the access as it then stands.
#[tokio::test]
async fn user_data_carries_effective_access() {
    let app = TestApp::spawn().await;
    let token = app_token(&app, "reader").await;
    let now = scimbox::stamp::timestamp(scimbox::clock::now());
    app.db
        .write(move |c| {
            scimbox::db::accounts::add(c, "PARENT", "Parent", None, &now)?;
            scimbox::db::accounts::add(c, "CHILD", "Child", Some("PARENT"), &now)
        })
        .await
        .expect("accounts");
    let mut body = user("acc@example.com");
    body["accounts"] = json!([r#"{"accountId":"PARENT","roles":"Editor"}"#]);
    let id = app.create_user(&body).await["id"].as_str().unwrap().to_owned();
    let off = ops(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(app.patch(&format!("/Users/{id}"), &off).await.status, StatusCode::OK);
    // The user.* events (each followed by its access.* events: tests/api/access_events.rs).
    let got: Vec<Value> = new_events(&app, &token, 0)
        .await
        .into_iter()
        .filter(|e| e["type"].as_str().is_some_and(|t| t.starts_with("user.")))
        .collect();
    assert_eq!(types(&got), ["user.created", "user.deactivated"]);
    let ext = "urn:ietf:params:scim:schemas:extension:scimbox:2.0:User";
    let access = |e: &Value| e["data"][ext]["access"].as_array().cloned().unwrap_or_default();
    let granted = access(&got[0]);
    let reached: Vec<&str> = granted.iter().filter_map(|a| a["accountId"].as_str()).collect();
    assert!(reached.contains(&"PARENT") && reached.contains(&"CHILD"), "{:#}", got[0]["data"]);
    assert_eq!(got[1]["data"], app.get(&format!("/Users/{id}")).await.body);
}

/// Okta's re-provisioning (a POST matching a deactivated user's userName and externalId revives
/// it, idp-behaviour.md §1.3) is that user's reactivation, not a creation.
#[tokio::test]
async fn a_revived_user_is_reactivated() {
    let app = TestApp::spawn().await;
    let token = app_token(&app, "reader").await;
    let mut body = user("back@example.com");
    body["externalId"] = json!("00u-back");
    let id = app.create_user(&body).await["id"].as_str().unwrap().to_owned();
    let off = ops(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(app.patch(&format!("/Users/{id}"), &off).await.status, StatusCode::OK);
    let at = last_seq(&new_events(&app, &token, 0).await, 0);
    let again = app.post("/Users", &body).await;
    assert_eq!((again.status, again.body["id"].as_str()), (StatusCode::CREATED, Some(id.as_str())), "{}", again.text);
    let got = new_events(&app, &token, at).await;
    assert_eq!(types(&got), ["user.reactivated"]);
    assert_eq!(got[0]["data"]["active"], true);
}

/// A deletion the deprovisioning guard holds (429) changed nothing and records no event; the one
/// it let through does.
#[tokio::test]
async fn a_held_deletion_records_no_event() {
    let app = TestApp::spawn_with(|c| scimbox::Config { guard_max: Some(1), ..c }).await;
    let token = app_token(&app, "reader").await;
    // Two users created an hour ago, before the guard's window (as tests/api/guard.rs seeds them).
    let then = scimbox::stamp::timestamp(scimbox::clock::now() - std::time::Duration::from_secs(3600));
    let ids = ["old-1", "old-2"];
    app.db
        .write(move |c| {
            for id in ids {
                let mut doc = serde_json::Map::new();
                doc.insert("userName".into(), format!("{id}@example.com").into());
                scimbox::db::users::insert(c, id, doc, &then)?;
            }
            Ok(())
        })
        .await
        .expect("seed");
    assert_eq!(app.delete(&format!("/Users/{}", ids[0])).await.status, StatusCode::NO_CONTENT);
    app.delete(&format!("/Users/{}", ids[1])).await.assert_error(429, None);
    // The held deletion records nothing; the guard's trip is its own event (issue 14).
    let got = new_events(&app, &token, 0).await;
    assert_eq!(types(&got), ["user.deleted", "guard.tripped"]);
    assert_eq!(got[0]["resource"]["id"], ids[0]);
}

/// Bulk: each committed operation has its events, a failed one none, in the order they ran.
#[tokio::test]
async fn bulk_records_one_event_per_committed_operation() {
    let app = TestApp::spawn().await;
    let token = app_token(&app, "reader").await;
    let taken = app.create_user(&user("taken@example.com")).await;
    let at = last_seq(&new_events(&app, &token, 0).await, 0);
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("b1@example.com")},
            {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user("taken@example.com")},
            {"method": "PATCH", "path": format!("/Users/{}", taken["id"].as_str().unwrap()),
             "data": ops(json!([{"op": "replace", "path": "active", "value": false}]))},
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"schemas": [GROUP], "displayName": "B", "members": [{"value": "bulkId:a"}]}}
        ]
    });
    let r = app.post("/Bulk", &bulk).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let statuses: Vec<&str> =
        r.body["Operations"].as_array().unwrap().iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "409", "200", "201"], "{}", r.text);
    let got = new_events(&app, &token, at).await;
    assert_eq!(types(&got), ["user.created", "user.deactivated", "group.created", "group.member_added"]);
    assert_eq!(got[0]["data"]["userName"], "b1@example.com");
}
