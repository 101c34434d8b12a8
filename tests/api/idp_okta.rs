//! Okta end to end, request by request as Okta sends them (idp-behaviour.md §1): the OIN
//! "SCIM 2.0 Test App (Header Auth)" lifecycle (§1.2), the App Integration Wizard flavour, Push
//! Groups, and Okta's "SCIM 2.0 SPEC Test" in its published order (§1.4).

use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENT_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

// ------------------------------------------------------------------------------------- the client

/// Okta's provisioning client: its headers only (no test-helper defaults), the API token in
/// `Authorization` exactly as the admin typed it.
struct Okta<'a> {
    app: &'a TestApp,
    auth: String,
    user_agent: &'static str,
    content_type: &'static str,
}

impl<'a> Okta<'a> {
    /// The OIN template's client, with the `Bearer ` prefix.
    fn oin(app: &'a TestApp) -> Self {
        Okta {
            app,
            auth: format!("Bearer {}", app.token),
            user_agent: "Okta SCIM Client 1.0.0",
            content_type: "application/scim+json; charset=utf-8",
        }
    }

    /// The same client with the bare token some Header Auth set-ups send (§1.1).
    fn bare(app: &'a TestApp) -> Self {
        Okta { auth: app.token.clone(), ..Okta::oin(app) }
    }

    /// The Runscope SPEC test's client (§1.4): its User-Agent, `Content-Type: application/json`.
    fn spec_test(app: &'a TestApp) -> Self {
        Okta { user_agent: "OKTA SCIM Integration", content_type: "application/json", ..Okta::oin(app) }
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut req = self
            .app
            .client
            .request(method, format!("{}{path}", self.app.base))
            .header("Authorization", &self.auth)
            .header("User-Agent", self.user_agent)
            .header("Accept", "application/scim+json")
            .header("Accept-Charset", "utf-8");
        if let Some(b) = body {
            req = req.header("Content-Type", self.content_type).body(b.to_string());
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, headers, body, text }
    }

    async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }
    async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }
    async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, path, Some(body)).await
    }
    async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    /// The pre-create lookup of an assignment (§1.2 #3), encoded as Okta encodes it.
    async fn lookup(&self, user_name: &str) -> Resp {
        let q = user_name.replace('@', "%40");
        self.get(&format!("/Users?filter=userName%20eq%20%22{q}%22&startIndex=1&count=100")).await
    }

    /// Deactivation (§1.2 #7) and reactivation (#8): PATCH without `path`, the value an object.
    async fn set_active(&self, id: &str, active: bool) -> Resp {
        let body = json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"active": active}}]});
        self.patch(&format!("/Users/{id}"), &body).await
    }

    /// A profile push (§1.2 #6): GET the user, merge `change` into the read-back body, PUT it
    /// whole (with `id`, `meta`, `schemas` and whatever else came back). Returns the PUT's answer.
    async fn push_profile(&self, id: &str, change: impl FnOnce(&mut Value)) -> Resp {
        let got = self.get(&format!("/Users/{id}")).await;
        assert_eq!(got.status, StatusCode::OK, "the GET before a PUT: {}", got.text);
        let mut body = got.body;
        change(&mut body);
        self.put(&format!("/Users/{id}"), &body).await
    }
}

// ------------------------------------------------------------------------------------- helpers

/// A ListResponse as Okta needs it (§1.2 #1, §1.3 item 1): 200, integers, `Resources` present.
#[track_caller]
fn assert_list(r: &Resp, total: u64) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"), "{}", r.text);
    assert_eq!(r.body["schemas"], json!([LIST_URN]), "{}", r.text);
    assert_eq!(r.body["totalResults"].as_u64(), Some(total), "totalResults is an integer: {}", r.text);
    assert!(r.body["startIndex"].is_u64(), "startIndex is an integer: {}", r.text);
    assert!(r.body["itemsPerPage"].is_u64(), "itemsPerPage is an integer: {}", r.text);
    assert!(r.body["Resources"].is_array(), "Resources is always present: {}", r.text);
}

/// 200 with the resource, or 204 (both are what Okta accepts for PATCH, §1.2 #7, #11, #12).
#[track_caller]
fn assert_patched(r: &Resp) -> Option<&Value> {
    match r.status {
        StatusCode::OK => Some(&r.body),
        StatusCode::NO_CONTENT => None,
        other => panic!("PATCH answered {other}: {}", r.text),
    }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().filter(|s| !s.is_empty()).expect("a non-empty id").to_owned()
}

/// The body Okta POSTs on assignment (§1.2 #4a): `groups: []`, a random `password` even when
/// Sync Password is off, `externalId` = Okta's user id.
fn okta_create_body(user_name: &str, given: &str, family: &str, okta_id: &str) -> Value {
    json!({
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": okta_id,
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

/// What Okta reads back after any write: `password` never, the fields it sent always.
#[track_caller]
fn assert_okta_user(u: &Value, user_name: &str, given: &str, family: &str, active: bool) {
    assert!(u.get("password").is_none(), "password is never returned: {u}");
    assert_eq!(u["userName"], user_name, "{u}");
    assert_eq!(u["name"]["givenName"], given, "{u}");
    assert_eq!(u["name"]["familyName"], family, "{u}");
    assert_eq!(u["emails"][0]["value"], user_name, "{u}");
    assert_eq!(u["active"], active, "active is a JSON boolean: {u}");
    assert!(u["schemas"].as_array().is_some_and(|s| s.contains(&json!(USER_URN))), "{u}");
}

// ------------------------------------------------------------------ OIN template: the lifecycle

/// Test API Credentials, saving "To App", assignment (lookup, create), profile push,
/// deactivation, reactivation and unassignment, as the OIN template sends them (§1.2 #1–#9), and
/// the CRUD test's checks after each (§1.4, CRUD test steps 4–8).
#[tokio::test]
async fn oin_user_lifecycle() {
    let app = TestApp::spawn().await;
    let okta = Okta::oin(&app);

    // #1 Test API Credentials: the constant query, on an empty server, with each header form.
    let lower = Okta { auth: format!("bearer {}", app.token), ..Okta::oin(&app) };
    for client in [Okta::oin(&app), Okta::bare(&app), lower] {
        let r = client.get("/Users?startIndex=1&count=2").await;
        assert_list(&r, 0);
        assert_eq!(r.body["Resources"], json!([]));
        assert_eq!(r.body["startIndex"], 1);
        assert_eq!(r.body["itemsPerPage"], 0);
    }

    // An admin who typed the Base URL with a trailing slash: Okta's join gives `//Users`.
    assert_list(&okta.get("//Users?startIndex=1&count=2").await, 0);

    // #2 saving the "To App" settings reads both lists; no groups yet is an empty 200.
    assert_list(&okta.get("/Users?startIndex=1&count=2").await, 0);
    let groups = okta.get("/Groups?startIndex=1&count=100").await;
    assert_list(&groups, 0);
    assert_eq!(groups.body["Resources"], json!([]));

    // #3 assignment: the lookup finds nothing (200 + totalResults 0, not 404).
    let name = "test.user@okta.local";
    let r = okta.lookup(name).await;
    assert_list(&r, 0);

    // #4a create with Okta's full body.
    let r = okta.post("/Users", &okta_create_body(name, "Test", "User", "00ujl29u0le5T6Aj10h7")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_okta_user(&r.body, name, "Test", "User", true);
    assert_eq!(r.body["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(r.body["displayName"], "Test User");
    assert_eq!(r.body["locale"], "en-US");
    let id = id_of(&r.body);
    assert_eq!(r.header("location"), r.body["meta"]["location"].as_str(), "{}", r.text);
    assert!(r.body.get("groups").is_none_or(|g| g == &json!([])), "groups is read-only: {}", r.text);

    // `id` is case-sensitive (§1.3 item 6): another case names no user.
    okta.get(&format!("/Users/{}", id.to_uppercase())).await.assert_error(404, None);

    // CRUD test step 4: the lookup now returns what was sent.
    let r = okta.lookup(name).await;
    assert_list(&r, 1);
    assert_eq!(r.body["Resources"][0]["id"], id.as_str());
    assert_okta_user(&r.body["Resources"][0], name, "Test", "User", true);

    // #6 profile update: GET, then PUT of the read-back user with the change merged in.
    let r = okta.push_profile(&id, |u| u["name"]["givenName"] = json!("Tess")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_okta_user(&r.body, name, "Tess", "User", true);
    assert_eq!(id_of(&r.body), id, "the id is stable");
    assert_eq!(r.body["externalId"], "00ujl29u0le5T6Aj10h7");
    let r = okta.get(&format!("/Users/{id}")).await; // CRUD test step 5
    assert_eq!(r.body["name"]["givenName"], "Tess", "{}", r.text);

    // #7 deactivate: PATCH without path; afterwards GET is still 200 with active false.
    let r = okta.set_active(&id, false).await;
    if let Some(u) = assert_patched(&r) {
        assert_okta_user(u, name, "Tess", "User", false);
    }
    let r = okta.get(&format!("/Users/{id}")).await; // CRUD test step 6
    assert_eq!(r.status, StatusCode::OK, "a deactivated user is kept: {}", r.text);
    assert_okta_user(&r.body, name, "Tess", "User", false);
    let r = okta.lookup(name).await; // and lookups still find it (§1.3 item 2)
    assert_list(&r, 1);
    assert_eq!(r.body["Resources"][0]["active"], false);

    // #8 reactivate, then the profile push that often follows.
    let r = okta.set_active(&id, true).await;
    if let Some(u) = assert_patched(&r) {
        assert_eq!(u["active"], true, "{u}");
    }
    let r = okta.push_profile(&id, |u| u["displayName"] = json!("Tess User")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_okta_user(&r.body, name, "Tess", "User", true); // CRUD test step 7
    assert_eq!(r.body["displayName"], "Tess User");

    // #9 unassign = deactivate; the row stays (a 404 would stop Okta for good, §1.3 item 4).
    assert_patched(&okta.set_active(&id, false).await);
    let r = okta.get(&format!("/Users/{id}")).await; // CRUD test step 8
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], false);

    // Okta never DELETEs users; nothing above removed the row.
    let r = okta.get("/Users?startIndex=1&count=100").await;
    assert_list(&r, 1);
}

/// Okta may PATCH a password when Sync Password is on (§1.2, "Password"); it is accepted and
/// never returned, so it never travels back in a later PUT.
#[tokio::test]
async fn oin_password_sync_is_accepted_and_never_returned() {
    let app = TestApp::spawn().await;
    let okta = Okta::oin(&app);
    let r = okta.post("/Users", &okta_create_body("pw@okta.local", "Pat", "Word", "00upw")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.body);
    let body = json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"password": "n3w-Secret!"}}]});
    let r = okta.patch(&format!("/Users/{id}"), &body).await;
    if let Some(u) = assert_patched(&r) {
        assert!(u.get("password").is_none(), "{u}");
    }
    let r = okta.get(&format!("/Users/{id}")).await;
    assert!(r.body.get("password").is_none() && !r.text.contains("n3w-Secret"), "{}", r.text);
}

/// A path-less PATCH value may carry read-only keys (`id`, and `schemas`/`meta` from a read-back
/// body): they are ignored, not refused with `mutability` (§1.3 item 7).
#[tokio::test]
async fn oin_patch_value_with_read_only_keys() {
    let app = TestApp::spawn().await;
    let okta = Okta::oin(&app);
    let r = okta.post("/Users", &okta_create_body("ro@okta.local", "Read", "Only", "00uro")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.body);
    let value = json!({"id": id, "schemas": [USER_URN], "meta": r.body["meta"], "active": false});
    let body = json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": value}]});
    let r = okta.patch(&format!("/Users/{id}"), &body).await;
    if let Some(u) = assert_patched(&r) {
        assert_eq!(u["active"], false, "{u}");
        assert_eq!(u["id"], id.as_str());
    }
    assert_eq!(okta.get(&format!("/Users/{id}")).await.body["active"], false);
}

/// Enterprise attributes arrive under the extension URN, which Okta adds to `schemas` (§1.2 #4a);
/// attributes with no value are left out. The profile PUT carries them back.
#[tokio::test]
async fn oin_enterprise_attributes_round_trip() {
    let app = TestApp::spawn().await;
    let okta = Okta::oin(&app);
    let mut body = okta_create_body("ent@okta.local", "Enna", "Terprise", "00uent");
    body["schemas"] = json!([USER_URN, ENT_URN]);
    body[ENT_URN] = json!({"employeeNumber": "1001", "department": "Sales"});
    let r = okta.post("/Users", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.body);
    assert_eq!(r.body[ENT_URN]["department"], "Sales", "{}", r.text);
    assert!(r.body["schemas"].as_array().is_some_and(|s| s.contains(&json!(ENT_URN))), "{}", r.text);

    let r = okta.push_profile(&id, |u| u[ENT_URN]["department"] = json!("Marketing")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body[ENT_URN]["department"], "Marketing");
    assert_eq!(r.body[ENT_URN]["employeeNumber"], "1001");
}

/// Re-assignment after an Okta-side deactivation (§1.2 #3, #4b; §1.3 items 2, 3): the lookup
/// finds the inactive user and Okta links it, reactivates it by PATCH and pushes the profile.
#[tokio::test]
async fn oin_reassign_links_the_inactive_user() {
    let app = TestApp::spawn().await;
    let okta = Okta::oin(&app);
    let name = "back.again@okta.local";
    let r = okta.post("/Users", &okta_create_body(name, "Back", "Again", "00uback")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.body);
    assert_patched(&okta.set_active(&id, false).await);

    // Assignment again: the lookup matches the inactive user, case-insensitively.
    let r = okta.lookup(&name.to_uppercase()).await;
    assert_list(&r, 1);
    assert_eq!(r.body["Resources"][0]["id"], id.as_str());
    assert_eq!(r.body["Resources"][0]["active"], false);

    // #4b: reactivate first, then GET + PUT the full profile.
    let r = okta.set_active(&id, true).await;
    assert_patched(&r);
    let r = okta.push_profile(&id, |u| u["name"]["familyName"] = json!("Againson")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_okta_user(&r.body, name, "Back", "Againson", true);
    assert_eq!(id_of(&r.body), id);
}

/// The re-provisioning POST (§1.3 item 3): Okta POSTs a user that exists but is inactive, with
/// the same `userName` and `externalId`. scimbox revives that row with the same `id` instead of
/// answering 409; a true duplicate of an active user, or a userName owned by another
/// `externalId`, stays 409.
#[tokio::test]
async fn oin_reprovisioning_post_revives_the_inactive_user() {
    let app = TestApp::spawn().await;
    let okta = Okta::oin(&app);
    let name = "revive.me@okta.local";
    let r = okta.post("/Users", &okta_create_body(name, "Revive", "Me", "00urevive")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.body);

    // While active, the same POST is a real duplicate.
    let r = okta.post("/Users", &okta_create_body(name, "Revive", "Me", "00urevive")).await;
    r.assert_error(409, Some("uniqueness"));

    assert_patched(&okta.set_active(&id, false).await);

    // Another Okta user (another externalId) cannot take the row over.
    let r = okta.post("/Users", &okta_create_body(name, "Someone", "Else", "00uother")).await;
    r.assert_error(409, Some("uniqueness"));

    // The same Okta user, re-provisioned: revived, same id, the new profile, active.
    let r = okta.post("/Users", &okta_create_body(&name.to_uppercase(), "Revived", "Me", "00urevive")).await;
    assert!(matches!(r.status, StatusCode::CREATED | StatusCode::OK), "{}", r.text);
    assert_eq!(id_of(&r.body), id, "the same id: {}", r.text);
    assert_eq!(r.body["active"], true, "{}", r.text);
    assert_eq!(r.body["name"]["givenName"], "Revived", "{}", r.text);
    let r = okta.get(&format!("/Users/{id}")).await;
    assert_eq!(r.body["active"], true, "{}", r.text);
    let r = okta.get("/Users?startIndex=1&count=100").await;
    assert_list(&r, 1);
}

/// The Okta race (§1.2 #8): after a quick reactivate + reassign, the following PUT may carry a
/// stale `active: false`. scimbox cannot tell a stale value from a meant one: the PUT is taken as
/// sent (200, inactive) and the next reactivation PATCH repairs it. This documents that behaviour;
/// the Okta guide's troubleshooting table tells the admin what to do.
#[tokio::test]
async fn oin_stale_active_false_put_is_taken_as_sent_and_repaired_by_reactivation() {
    let app = TestApp::spawn().await;
    let okta = Okta::oin(&app);
    let name = "racy@okta.local";
    let r = okta.post("/Users", &okta_create_body(name, "Ray", "Cee", "00uracy")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.body);
    assert_patched(&okta.set_active(&id, false).await);
    let stale = okta.get(&format!("/Users/{id}")).await.body; // read while still inactive

    assert_patched(&okta.set_active(&id, true).await);
    let mut body = stale;
    body["title"] = json!("Racer");
    let r = okta.put(&format!("/Users/{id}"), &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], false, "the PUT's active is the client's word: {}", r.text);
    assert_eq!(r.body["title"], "Racer");

    let r = okta.set_active(&id, true).await;
    assert_patched(&r);
    let r = okta.get(&format!("/Users/{id}")).await;
    assert_eq!(r.body["active"], true, "{}", r.text);
    assert_eq!(r.body["title"], "Racer", "the profile survives: {}", r.text);
}

/// Okta's import (§1.2 #5): pages of 100 in a stable order, then the groups.
#[tokio::test]
async fn oin_import_pages_in_a_stable_order() {
    let app = TestApp::spawn().await;
    let okta = Okta::oin(&app);
    let mut made = Vec::new();
    for i in 0..5 {
        let r = okta
            .post("/Users", &okta_create_body(&format!("imp{i}@okta.local"), "Im", "Port", &format!("00u{i}")))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        made.push(id_of(&r.body));
    }
    let all = okta.get("/Users?startIndex=1&count=100").await;
    assert_list(&all, 5);
    let order: Vec<String> = all.body["Resources"].as_array().expect("list").iter().map(id_of).collect();
    let mut paged = Vec::new();
    for start in [1, 3, 5] {
        let r = okta.get(&format!("/Users?startIndex={start}&count=2")).await;
        assert_list(&r, 5);
        assert_eq!(r.body["startIndex"], start);
        paged.extend(r.body["Resources"].as_array().expect("list").iter().map(id_of));
    }
    assert_eq!(paged, order, "the same order for every page size");
    let mut sorted = made.clone();
    sorted.sort();
    let mut got = order.clone();
    got.sort();
    assert_eq!(got, sorted);
    assert_list(&okta.get("/Groups?startIndex=1&count=100").await, 0);
}

// --------------------------------------------------------------------------- the AIW flavour

/// An App Integration Wizard app (§1.1, §1.2 #4b, #7, #12): every change, deactivation
/// included, is GET + PUT of the full body; groups are PUT with their full member list.
#[tokio::test]
async fn aiw_lifecycle_by_put() {
    let app = TestApp::spawn().await;
    let okta = Okta::bare(&app);
    let name = "aiw.user@okta.local";
    let r = okta.lookup(name).await;
    assert_list(&r, 0);
    let r = okta.post("/Users", &okta_create_body(name, "Aiw", "User", "00uaiw")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.body);
    let r = okta.post("/Users", &okta_create_body("aiw.two@okta.local", "Aiw", "Two", "00uaiw2")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id2 = id_of(&r.body);

    // A profile change, then deactivation, both by PUT of the read-back body.
    let r = okta.push_profile(&id, |u| u["title"] = json!("Engineer")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["title"], "Engineer");
    let r = okta.push_profile(&id, |u| u["active"] = json!(false)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_okta_user(&r.body, name, "Aiw", "User", false);
    assert_eq!(r.body["title"], "Engineer", "deactivation keeps the profile");
    let r = okta.get(&format!("/Users/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], false);

    // Reactivation by PUT active:true (§1.2 #4b, AIW).
    let r = okta.push_profile(&id, |u| u["active"] = json!(true)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], true);

    // A profile PUT that leaves `active` out keeps the current status.
    let r = okta
        .push_profile(&id, |u| {
            u.as_object_mut().expect("object").shift_remove("active");
            u["title"] = json!("Lead");
        })
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], true);

    // Groups: AIW POSTs the current members, then GET + PUT with the full member list.
    let body = json!({"schemas": [GROUP_URN], "displayName": "AIW Group", "members": [{"value": id, "display": name}]});
    let r = okta.post("/Groups", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let gid = id_of(&r.body);
    let r = okta.get(&format!("/Groups/{gid}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(member_ids(&r.body), vec![id.clone()]);
    let mut group = r.body;
    group["members"] = json!([
        {"value": id, "display": name},
        {"value": id2, "display": "aiw.two@okta.local"}
    ]);
    let r = okta.put(&format!("/Groups/{gid}"), &group).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = okta.get(&format!("/Groups/{gid}")).await;
    let mut got = member_ids(&r.body);
    got.sort();
    let mut want = vec![id.clone(), id2.clone()];
    want.sort();
    assert_eq!(got, want, "{}", r.text);
    // The user's read-only `groups` now lists it; the next profile PUT carries it back, ignored.
    let r = okta.get(&format!("/Users/{id}")).await;
    assert_eq!(r.body["groups"][0]["value"], gid.as_str(), "{}", r.text);
    let r = okta.push_profile(&id, |u| u["title"] = json!("Manager")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["groups"][0]["value"], gid.as_str(), "groups in a PUT body is ignored: {}", r.text);

    // A group PUT without `members` (a rename) keeps them; only `members: []` would empty it (§6).
    let mut group = okta.get(&format!("/Groups/{gid}")).await.body;
    group.as_object_mut().expect("object").shift_remove("members");
    group["displayName"] = json!("AIW Group (renamed)");
    let r = okta.put(&format!("/Groups/{gid}"), &group).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(member_ids(&okta.get(&format!("/Groups/{gid}")).await.body).len(), 2);

    // A later full-list PUT that drops a member removes exactly that member.
    let mut group = okta.get(&format!("/Groups/{gid}")).await.body;
    group["members"] = json!([{"value": id2, "display": "aiw.two@okta.local"}]);
    let r = okta.put(&format!("/Groups/{gid}"), &group).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(member_ids(&okta.get(&format!("/Groups/{gid}")).await.body), vec![id2]);
}

fn member_ids(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .map(|a| a.iter().map(|m| m["value"].as_str().unwrap_or("").to_owned()).collect())
        .unwrap_or_default()
}

// ------------------------------------------------------------------------------ Push Groups

/// Push Groups (§1.2 #10–#14): create, rename with `id` inside the value, membership as
/// remove-by-filter + add without `type`, full replace, existence check, unlink by DELETE.
#[tokio::test]
async fn push_groups_lifecycle() {
    let app = TestApp::spawn().await;
    let okta = Okta::oin(&app);
    let mut users = Vec::new();
    for (i, n) in ["ann@okta.local", "bob@okta.local", "cat@okta.local"].iter().enumerate() {
        let r = okta.post("/Users", &okta_create_body(n, "P", "G", &format!("00upg{i}"))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        users.push((id_of(&r.body), (*n).to_owned()));
    }
    let [(ann, ann_n), (bob, bob_n), (cat, cat_n)] = <[(String, String); 3]>::try_from(users).expect("three");

    // #10 POST with an empty member list.
    let r = okta.post("/Groups", &json!({"schemas": [GROUP_URN], "displayName": "Test SCIMv2", "members": []})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let gid = id_of(&r.body);
    assert_eq!(r.body["displayName"], "Test SCIMv2");
    assert!(r.body.get("members").is_none_or(|m| m == &json!([])), "{}", r.text);
    let gpath = format!("/Groups/{gid}");

    // #12 membership: add without `type` (Okta sends value + display only).
    let body = json!({"schemas": [PATCH_URN], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": ann, "display": ann_n}, {"value": bob, "display": bob_n}]}
    ]});
    assert_patched(&okta.patch(&gpath, &body).await);
    let r = okta.get(&gpath).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut got = member_ids(&r.body);
    got.sort();
    let mut want = vec![ann.clone(), bob.clone()];
    want.sort();
    assert_eq!(got, want);
    assert!(r.body["members"].as_array().expect("members").iter().all(|m| m["type"] == "User"), "{}", r.text);

    // #11 rename: `id` inside the value, as Okta sends with every membership update.
    let body = json!({"schemas": [PATCH_URN], "Operations": [
        {"op": "replace", "value": {"id": gid, "displayName": "Renamed SCIMv2"}}
    ]});
    let r = okta.patch(&gpath, &body).await;
    if let Some(g) = assert_patched(&r) {
        assert_eq!(g["displayName"], "Renamed SCIMv2", "{}", r.text);
        assert_eq!(g["id"], gid.as_str());
    }

    // #12 the update Okta sends: rename (with id) + remove by filter + add without type, one PATCH.
    let body = json!({"schemas": [PATCH_URN], "Operations": [
        {"op": "replace", "value": {"id": gid, "displayName": "Renamed SCIMv2"}},
        {"op": "remove", "path": format!("members[value eq \"{ann}\"]")},
        {"op": "add", "path": "members", "value": [{"value": cat, "display": cat_n}]}
    ]});
    assert_patched(&okta.patch(&gpath, &body).await);
    let r = okta.get(&gpath).await;
    let mut got = member_ids(&r.body);
    got.sort();
    let mut want = vec![bob.clone(), cat.clone()];
    want.sort();
    assert_eq!(got, want, "only the filtered member left: {}", r.text);
    assert_eq!(r.body["displayName"], "Renamed SCIMv2");

    // Removing a member that is already gone is a success (retries stay safe).
    let body = json!({"schemas": [PATCH_URN], "Operations": [{"op": "remove", "path": format!("members[value eq \"{ann}\"]")}]});
    assert_patched(&okta.patch(&gpath, &body).await);

    // A full push replaces the list.
    let body = json!({"schemas": [PATCH_URN], "Operations": [
        {"op": "replace", "path": "members", "value": [{"value": ann, "display": ann_n}]}
    ]});
    assert_patched(&okta.patch(&gpath, &body).await);
    assert_eq!(member_ids(&okta.get(&gpath).await.body), vec![ann.clone()]);

    // The group's members show in the users' read-only `groups`.
    let r = okta.get(&format!("/Users/{ann}")).await;
    assert_eq!(r.body["groups"][0]["value"], gid.as_str(), "{}", r.text);

    // #14 existence check, #13 unlink with "delete the group in the target app".
    assert_eq!(okta.get(&gpath).await.status, StatusCode::OK);
    let r = okta.delete(&gpath).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = okta.get(&gpath).await;
    r.assert_error(404, None);
    // The users stay; only the membership went.
    let r = okta.get(&format!("/Users/{ann}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.get("groups").is_none_or(|g| g == &json!([])), "{}", r.text);
    assert_list(&okta.get("/Groups?startIndex=1&count=100").await, 0);
}

// ------------------------------------------------------------------------ the SPEC test (§1.4)

/// Okta's "SCIM 2.0 SPEC Test" (Runscope), every step in its order, with its assertions.
#[tokio::test]
async fn okta_spec_test_in_order() {
    let app = TestApp::spawn().await;
    let okta = Okta::spec_test(&app);

    // "At least one user must exist before the run."
    let seed = okta_create_body("seed.user@example.com", "Seed", "User", "00useed");
    assert_eq!(okta.post("/Users", &seed).await.status, StatusCode::CREATED);

    let random_username = "Runscope300Hfluaklab151@example.com";
    let random_username_caps = random_username.to_uppercase();
    let invalid_user_email = "abcdefgh@example.com";
    let user_id_that_does_not_exist = "010101001010101011001010101011";
    let q = |s: &str| s.replace('@', "%40");

    // 1. Required Test: Test Users endpoint
    let r = okta.get("/Users?count=1&startIndex=1").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["schemas"].as_array().is_some_and(|s| s.contains(&json!(LIST_URN))));
    for k in ["itemsPerPage", "startIndex", "totalResults"] {
        assert!(r.body[k].is_number(), "{k} is a number: {}", r.text);
    }
    let first = &r.body["Resources"][0];
    for p in ["/id", "/name/familyName", "/name/givenName", "/userName", "/active", "/emails/0/value"] {
        let v = first.pointer(p).unwrap_or(&Value::Null);
        assert!(!v.is_null() && v != &json!(""), "Resources[0]{p} is not empty: {}", r.text);
    }
    let isv_user_id = id_of(first);

    // 2. Required Test: Get Users/{{id}}
    let r = okta.get(&format!("/Users/{isv_user_id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["id"], isv_user_id.as_str());
    for p in ["/name/familyName", "/name/givenName", "/userName", "/active", "/emails/0/value"] {
        assert!(r.body.pointer(p).is_some_and(|v| !v.is_null() && v != &json!("")), "{p}: {}", r.text);
    }

    // 3. Required Test: Test invalid User by username
    let r = okta.get(&format!("/Users?filter=userName%20eq%20%22{}%22", q(invalid_user_email))).await;
    assert_list(&r, 0);

    // 4. Required Test: Test invalid User by ID
    let r = okta.get(&format!("/Users/{user_id_that_does_not_exist}")).await;
    r.assert_error(404, None);

    // 5. Required Test: Make sure random user doesn't exist
    let r = okta.get(&format!("/Users?filter=userName%20eq%20%22{}%22", q(random_username))).await;
    assert_list(&r, 0);

    // 6. Required Test: Create Okta user with realistic values (Content-Type: application/json)
    let create = json!({
        "schemas": [USER_URN],
        "userName": random_username,
        "name": {"givenName": "Runscope", "familyName": "Hfluaklab"},
        "emails": [{"primary": true, "value": random_username, "type": "work"}],
        "displayName": "Runscope Hfluaklab",
        "active": true
    });
    let r = okta.post("/Users", &create).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["name"]["familyName"], "Hfluaklab");
    assert_eq!(r.body["name"]["givenName"], "Runscope");
    assert_eq!(r.body["userName"], random_username);
    assert!(r.body["schemas"].as_array().is_some_and(|s| s.contains(&json!(USER_URN))));
    let id_user_one = id_of(&r.body);
    assert_eq!(r.body["emails"][0]["value"], random_username);

    // 7. Required Test: Verify that user was created
    let r = okta.get(&format!("/Users/{id_user_one}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["userName"], random_username);
    assert_eq!(r.body["name"]["familyName"], "Hfluaklab");
    assert_eq!(r.body["name"]["givenName"], "Runscope");

    // 8. Required Test: Expect failure when recreating user with same values
    let r = okta.post("/Users", &create).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    r.assert_error(409, Some("uniqueness"));

    // 9. Required Test: Username Case Sensitivity Check (and, RFC-correct, it finds the user)
    let r = okta.get(&format!("/Users?filter=userName%20eq%20%22{}%22", q(&random_username_caps))).await;
    assert_list(&r, 1);
    assert_eq!(r.body["Resources"][0]["id"], id_user_one.as_str());

    // 10. Optional Test: Verify Groups endpoint (and within 600 ms)
    let start = Instant::now();
    let r = okta.get("/Groups").await;
    assert!(start.elapsed().as_millis() < 600, "GET /Groups took {:?}", start.elapsed());
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["totalResults"] == 0 || r.body["Resources"].is_array(), "{}", r.text);

    // 11. Required Test: Check status 401 (`Authorization: non-token`)
    let bad = Okta { auth: "non-token".into(), ..Okta::spec_test(&app) };
    let r = bad.get(&format!("/Users?filter=userName%20eq%20%22{}%22", q(random_username))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.body["status"], "401", "{}", r.text);
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{}", r.text);
    assert!(r.text.contains(ERROR_URN), "{}", r.text);
    r.assert_error(401, None);

    // 12. Required Test: Check status 404
    let r = okta.get("/Users/00919288221112222").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.body["status"], "404");
    assert!(r.body["schemas"].as_array().is_some_and(|s| s.contains(&json!(ERROR_URN))), "{}", r.text);
    r.assert_error(404, None);
}
