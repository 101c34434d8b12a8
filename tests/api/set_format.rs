//! Issue 14 item 5: `format=set` on the feed gives each event as the claims of an RFC 9967
//! Security Event Token (`iss`, `iat`, `jti`, `txn`, `sub_id`, `events` keyed by the RFC's event
//! URIs, scimbox's own URIs for what the RFC has none for), one for one with the JSON feed, and
//! `/ServiceProviderConfig` advertises them (RFC 9967 §4).

use std::collections::BTreeSet;

use reqwest::StatusCode;
use scimbox::db::accounts;
use serde_json::{Value, json};

use crate::feed::{app_token, feed, page};
use crate::helpers::{TestApp, user};

const PROV: &str = "urn:ietf:params:scim:event:prov:";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn ops(ops: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": ops})
}

/// Every event of the feed in `format` (`json` or `set`), paging with `next`.
async fn all(app: &TestApp, token: &str, format: &str) -> Vec<Value> {
    let (mut out, mut query) = (Vec::new(), format!("limit=7&format={format}"));
    loop {
        let (events, next) = page(&feed(app, token, &query).await);
        if events.is_empty() {
            return out;
        }
        out.extend(events);
        query = format!("limit=7&format={format}&after={next}");
    }
}

fn uris(set: &Value) -> Vec<String> {
    set["events"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

#[tokio::test]
async fn the_set_format_is_each_event_as_rfc_9967_claims() {
    let app = TestApp::spawn().await;
    let now = scimbox::stamp::timestamp(scimbox::clock::now());
    app.db.write(move |c| accounts::add(c, "ACC1", "Account", None, &now)).await.expect("account");
    let token = app_token(&app, "reader").await;

    let mut body = user("ada@example.com");
    body["externalId"] = json!("ext-ada");
    body["accounts"] = json!([{"accountId": "ACC1"}]);
    let id = app.create_user(&body).await["id"].as_str().expect("id").to_owned();
    let path = format!("/Users/{id}");
    let r = app.patch(&path, &ops(json!([{"op": "replace", "path": "displayName", "value": "Ada"}]))).await;
    assert_eq!(r.status, StatusCode::OK);
    app.patch(&path, &ops(json!([{"op": "replace", "value": {"active": false}}]))).await;
    app.patch(&path, &ops(json!([{"op": "replace", "value": {"active": true}}]))).await;
    let group = json!({"schemas": [GROUP], "displayName": "staff", "members": [{"value": id}]});
    let r = app.post("/Groups", &group).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);

    let plain = all(&app, &token, "json").await;
    let sets = all(&app, &token, "set").await;
    assert_eq!(plain.len(), sets.len(), "one SET per event");
    let expected: &[(&str, &[&str])] = &[
        ("user.created", &["create:full"]),
        ("access.granted", &["urn:scimbox:event:access:granted"]),
        ("user.updated", &["put:full"]),
        ("user.deactivated", &["put:full", "deactivate"]),
        ("access.changed", &["urn:scimbox:event:access:changed"]),
        ("user.reactivated", &["put:full", "activate"]),
        ("access.changed", &["urn:scimbox:event:access:changed"]),
        ("group.created", &["create:full"]),
        ("group.member_added", &["patch:full"]),
        ("user.deleted", &["delete"]),
        ("access.revoked", &["urn:scimbox:event:access:revoked"]),
        ("group.member_removed", &["patch:full"]),
    ];
    let kinds: Vec<&str> = plain.iter().map(|e| e["type"].as_str().unwrap_or_default()).collect();
    assert_eq!(kinds, expected.iter().map(|(k, _)| *k).collect::<Vec<_>>());
    for ((e, s), (_, want)) in plain.iter().zip(&sets).zip(expected) {
        let mut want: Vec<String> =
            want.iter().map(|u| if u.starts_with("urn:") { (*u).to_owned() } else { format!("{PROV}{u}") }).collect();
        want.sort();
        let mut got = uris(s);
        got.sort();
        assert_eq!(got, want, "{s}");
        assert_eq!(s["jti"], e["id"]);
        assert_eq!(s["iss"].as_str(), Some(app.base.as_str()));
        let at = time::OffsetDateTime::parse(
            e["occurred_at"].as_str().expect("at"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("rfc 3339");
        assert_eq!(s["iat"].as_i64(), Some(at.unix_timestamp()));
        assert!(s.get("sub").is_none(), "RFC 9967 §2.1: sub_id, never sub");
        let rid = e["resource"]["id"].as_str().expect("id");
        let endpoint = if e["resource"]["type"] == "Group" { "Groups" } else { "Users" };
        assert_eq!(s["sub_id"]["format"], "scim");
        assert_eq!(s["sub_id"]["uri"], format!("/{endpoint}/{rid}"), "the path relative to the base");
        assert!(s["txn"].is_string(), "{s}");
    }
    // Create, with the representation and version; externalId in sub_id.
    let created = &sets[0]["events"][format!("{PROV}create:full")];
    assert_eq!(created["data"], plain[0]["data"]);
    assert_eq!(created["version"], plain[0]["data"]["meta"]["version"]);
    assert_eq!(sets[0]["sub_id"]["externalId"], "ext-ada");
    // One write, one txn: the user's event and its access event share it; the next write not.
    assert_eq!(sets[0]["txn"], sets[1]["txn"]);
    assert_ne!(sets[1]["txn"], sets[2]["txn"]);
    assert_eq!((&sets[9]["txn"], &sets[10]["txn"]), (&sets[11]["txn"], &sets[11]["txn"]), "a delete is one write");
    // Deletion has no payload (§2.4.4); a membership change is the PATCH that makes it.
    assert_eq!(sets[9]["events"][format!("{PROV}delete")], json!({}));
    let added = &sets[8]["events"][format!("{PROV}patch:full")]["data"];
    assert_eq!(added["schemas"], json!([PATCH]));
    assert_eq!(
        added["Operations"][0],
        json!({"op": "add", "path": "members", "value": [{"value": id, "type": "User"}]})
    );
    let removed = &sets[11]["events"][format!("{PROV}patch:full")]["data"]["Operations"][0];
    assert_eq!(removed, &json!({"op": "remove", "path": format!("members[value eq \"{id}\"]")}));
    // scimbox's own events carry the feed's data.
    assert_eq!(sets[1]["events"]["urn:scimbox:event:access:granted"]["data"], plain[1]["data"]);

    // Every URI emitted is advertised (RFC 9967 §4), and no asynchronous requests.
    let spc = app.get("/ServiceProviderConfig").await.body;
    assert_eq!(spc["securityEvents"]["asyncRequest"], "none", "{spc}");
    let advertised: BTreeSet<String> = spc["securityEvents"]["eventUris"]
        .as_array()
        .expect("eventUris")
        .iter()
        .filter_map(|u| u.as_str().map(str::to_owned))
        .collect();
    let emitted: BTreeSet<String> = sets.iter().flat_map(uris).collect();
    assert!(emitted.is_subset(&advertised), "{emitted:?} vs {advertised:?}");
    assert!(advertised.contains("urn:scimbox:event:guard:tripped"));
    let schema = app.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig").await.body;
    let attrs = schema["attributes"].as_array().expect("attributes");
    assert!(attrs.iter().any(|a| a["name"] == "securityEvents"), "the schema describes it");
}
