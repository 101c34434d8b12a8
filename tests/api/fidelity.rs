//! What the IdP sent is what it reads back (issue 13 §1, §2), through the real server: the
//! `accounts` payloads of each IdP form come back as the same text in every response and
//! filter, and a PUT or PATCH that changes nothing is no change (same version, ETag and
//! `lastModified`, no row in the change history), for Users and Groups, alone or in Bulk.

use reqwest::StatusCode;
use scimbox::db::{accounts, changes};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, form_encode, user};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const EXT: &str = "urn:ietf:params:scim:schemas:extension:scimbox:2.0:User";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The seed's Okta payload, as Okta sends it.
const OKTA: &str = r#"{"accountId":"ACC123","roles":"Editor","teams":"Marketing","status":"Active"}"#;
/// A payload an admin typed by hand: spaces, a line break, another key order, other casing,
/// non-ASCII text and an escape that means the same as the bare character.
const TYPED: &str = "{ \"status\":\"inactive\",\n  \"roles\": [\"editor\", \"EDITOR\"], \"teams\":\"Caf\u{e9} \\u00e9\\/x\", \"accountId\":\"ACC200\" }";

fn now() -> String {
    scimbox::stamp::timestamp(scimbox::clock::now())
}

/// Registers ACC123 and ACC200 (a child of ACC123) and the role `Editor`.
async fn registry(app: &TestApp) {
    app.db
        .write(|c| {
            accounts::add(c, "ACC123", "Acme", None, &now())?;
            accounts::add(c, "ACC200", "Acme EU", Some("ACC123"), &now())?;
            accounts::add_role(c, "Editor", &now())
        })
        .await
        .expect("registry");
}

fn patch_body(ops: Value) -> Value {
    json!({"schemas": [PATCH_URN], "Operations": ops})
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// Asserts that the raw response text holds each payload as a JSON string, byte for byte (so
/// not only an equal value after decoding: the same text).
#[track_caller]
fn holds_text(r: &Resp, payloads: &[&str]) {
    for p in payloads {
        let encoded = serde_json::to_string(p).expect("encode");
        assert!(r.text.contains(&encoded), "{encoded} is not in {}", r.text);
    }
}

/// The user `id` as every read shows it: GET, a list page, `.search`, a filter on the exact
/// payload text. Each must show `accounts` (at `pointer`) equal to `want`.
async fn every_read_shows(app: &TestApp, id: &str, pointer: &str, want: &Value, exact: &str) {
    let got = app.get(&format!("/Users/{id}")).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(got.body.pointer(pointer), Some(want), "GET: {}", got.text);
    let list = app.get("/Users").await;
    let mine = list.body["Resources"].as_array().expect("Resources").iter().find(|r| r["id"] == id).cloned();
    assert_eq!(mine.as_ref().and_then(|m| m.pointer(pointer)), Some(want), "list: {}", list.text);
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": format!("id eq \"{id}\"")});
    let found = app.post("/Users/.search", &search).await;
    assert_eq!(found.body["Resources"][0].pointer(pointer), Some(want), ".search: {}", found.text);
    let attr = if pointer.starts_with("/urn") { format!("{EXT}:accounts") } else { "accounts".to_owned() };
    let filter = format!("{attr} eq {}", serde_json::to_string(exact).expect("encode"));
    let hits = app.filter(&filter).await;
    assert_eq!(hits.body["totalResults"], 1, "filter {filter}: {}", hits.text);
    assert_eq!(hits.body["Resources"][0]["id"], id, "{}", hits.text);
}

/// The change rows recorded for a resource.
async fn change_count(app: &TestApp, kind: &'static str, id: &str) -> usize {
    let id = id.to_owned();
    app.db.read(move |c| changes::changes_for(c, kind, &id, 1000)).await.expect("changes").len()
}

/// `(meta.version, ETag, meta.lastModified)` of a response.
fn stamp(r: &Resp) -> (Value, Option<String>, Value) {
    (r.body["meta"]["version"].clone(), r.header("etag").map(str::to_owned), r.body["meta"]["lastModified"].clone())
}

// ---------------------------------------------------------------------------------------------
// §1: the four IdP forms round-trip as sent

/// Okta: a multi-valued list of payload strings, POSTed then PUT back (Okta's read-modify-write).
/// The text comes back byte for byte in every response; the access speaks the catalogue.
#[tokio::test]
async fn okta_multi_valued_payloads_round_trip_as_sent() {
    let app = TestApp::spawn().await;
    registry(&app).await;
    let mut body = user("okta@example.com");
    body["accounts"] = json!([OKTA, TYPED]);
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["accounts"], json!([OKTA, TYPED]), "{}", r.text);
    holds_text(&r, &[OKTA, TYPED]);
    let id = id_of(&r.body);
    every_read_shows(&app, &id, "/accounts", &json!([OKTA, TYPED]), TYPED).await;
    holds_text(&app.get(&format!("/Users/{id}")).await, &[OKTA, TYPED]);

    // The validation, the catalogue's spelling and the cascade are the access's.
    let access = &r.body[EXT]["access"];
    assert_eq!(
        access[0],
        json!({"accountId": "ACC123", "roles": ["Editor"], "teams": ["Marketing"], "status": "Active"})
    );
    assert_eq!(
        access[1],
        json!({"accountId": "ACC200", "roles": ["Editor"], "teams": ["Café é/x"], "status": "Inactive"}),
        "explicit on the child, overriding the inherited grant"
    );

    // Okta PUTs back what it read, merged: the same text is no change.
    let read = app.get(&format!("/Users/{id}")).await;
    let again = app.put(&format!("/Users/{id}"), &read.body).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    holds_text(&again, &[OKTA, TYPED]);
    assert_eq!(stamp(&again), stamp(&read), "nothing changed: {}", again.text);

    // Removing a space is a change (admins re-trigger provisioning that way), kept as typed.
    let spaced = OKTA.replace(',', ", ");
    let mut edited = read.body.clone();
    edited["accounts"] = json!([spaced, TYPED]);
    let r = app.put(&format!("/Users/{id}"), &edited).await;
    assert_eq!(r.body["accounts"], json!([spaced, TYPED]), "{}", r.text);
    assert_ne!(stamp(&r).0, stamp(&read).0, "a new text is a new version");

    // Bulk answers with the version it stored; the text is the one sent.
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "POST", "bulkId": "b1", "path": "/Users", "data": {"userName": "bulk", "accounts": [TYPED]}}]});
    let r = app.post("/Bulk", &bulk).await;
    assert_eq!(r.body["Operations"][0]["status"], "201", "{}", r.text);
    let made = app.filter("userName eq \"bulk\"").await;
    assert_eq!(made.body["Resources"][0]["accounts"], json!([TYPED]), "{}", made.text);
}

/// Entra: ONE string holding a JSON array, sent by PATCH to the extension attribute (Entra cannot
/// send multi-valued custom attributes): it stays that one value, in the extension, and is not
/// split into one value per payload.
#[tokio::test]
async fn entra_one_string_stays_one_value() {
    let app = TestApp::spawn().await;
    registry(&app).await;
    let made = app.create_user(&user("entra@example.com")).await;
    let id = id_of(&made);
    let whole = "[{\"accountId\":\"ACC123\",\"roles\":\"editor\"} , {\"accountId\":\"ACC200\",\"teams\":[\"Ops\"]}]";
    let ops = json!([{"op": "Add", "path": format!("{EXT}:accounts"), "value": whole}]);
    let r = app.patch(&format!("/Users/{id}"), &patch_body(ops)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body[EXT]["accounts"], json!(whole), "the string as sent, not wrapped: {}", r.text);
    assert!(r.body.get("accounts").is_none(), "{}", r.text);
    holds_text(&r, &[whole]);
    every_read_shows(&app, &id, &format!("/{EXT}/accounts"), &json!(whole), whole).await;
    let roles: Vec<&Value> = r.body[EXT]["access"].as_array().expect("access").iter().map(|a| &a["roles"]).collect();
    assert_eq!(roles, [&json!(["Editor"]), &json!([])], "{}", r.text);

    // Entra re-sends the same value on its next cycle: no change.
    let before = app.get(&format!("/Users/{id}")).await;
    let ops = json!([{"op": "Replace", "path": format!("{EXT}:accounts"), "value": whole}]);
    let r = app.patch(&format!("/Users/{id}"), &patch_body(ops)).await;
    assert_eq!(stamp(&r), stamp(&before), "{}", r.text);

    // Entra's `Add` of a new string is an upsert: it replaces the one string (the extension's
    // attribute is singular), rather than appending a second list naming ACC123 again.
    let edited = "[{\"accountId\":\"ACC123\",\"roles\":\"Editor\"}]";
    let ops = json!([{"op": "Add", "path": format!("{EXT}:accounts"), "value": edited}]);
    let r = app.patch(&format!("/Users/{id}"), &patch_body(ops)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body[EXT]["accounts"], json!(edited), "{}", r.text);
    assert_eq!(r.body[EXT]["access"][1]["inheritedFrom"], "ACC123", "ACC200's own grant is gone: {}", r.text);
}

/// The extension URN form: `urn:...:scimbox:2.0:User:accounts` as a top-level key. "In the place
/// it was sent" is the scimbox extension: an extension attribute has one form in a SCIM resource,
/// inside its extension's object (RFC 7643 §3.3), whichever of the two forms the IdP wrote;
/// it never moves to the core `accounts`.
#[tokio::test]
async fn extension_urn_form_stays_in_the_extension() {
    let app = TestApp::spawn().await;
    registry(&app).await;
    let mut body = user("urn@example.com");
    body[format!("{EXT}:accounts")] = json!(OKTA);
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body[EXT]["accounts"], json!(OKTA), "{}", r.text);
    assert!(r.body.get("accounts").is_none(), "{}", r.text);
    holds_text(&r, &[OKTA]);
    let id = id_of(&r.body);
    every_read_shows(&app, &id, &format!("/{EXT}/accounts"), &json!(OKTA), OKTA).await;

    // The same body again (the IdP's next cycle), and the read form PUT back: no change.
    let before = app.get(&format!("/Users/{id}")).await;
    for again in [body.clone(), before.body.clone()] {
        let r = app.put(&format!("/Users/{id}"), &again).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(stamp(&r), stamp(&before), "{}", r.text);
    }
}

/// PATCH add, replace (of one value: remove and add) and remove: the other values keep their
/// text.
#[tokio::test]
async fn patch_add_replace_remove_keep_the_other_values_text() {
    let app = TestApp::spawn().await;
    registry(&app).await;
    let mut body = user("patch@example.com");
    body["accounts"] = json!([TYPED]);
    let id = id_of(&app.create_user(&body).await);
    let path = format!("/Users/{id}");

    let r = app.patch(&path, &patch_body(json!([{"op": "add", "path": "accounts", "value": [OKTA]}]))).await;
    assert_eq!(r.body["accounts"], json!([TYPED, OKTA]), "{}", r.text);
    holds_text(&r, &[TYPED, OKTA]);

    // Replace one value: a remove of its text and an add of the new one, in one PATCH (a value
    // filter, `accounts[value eq "..."]`, is for complex attributes and refused as before).
    let okta2 = OKTA.replace("Editor", "editor");
    let ops = json!([{"op": "remove", "path": "accounts", "value": [OKTA]}, {"op": "add", "path": "accounts", "value": okta2}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["accounts"], json!([TYPED, okta2]), "{}", r.text);
    holds_text(&r, &[TYPED, &okta2]);
    let filter = format!("accounts[value eq {}]", serde_json::to_string(&okta2).expect("encode"));
    let r = app.patch(&path, &patch_body(json!([{"op": "replace", "path": filter, "value": OKTA}]))).await;
    r.assert_error(400, Some("invalidPath"));

    let r = app.patch(&path, &patch_body(json!([{"op": "remove", "path": "accounts", "value": [okta2]}]))).await;
    assert_eq!(r.body["accounts"], json!([TYPED]), "{}", r.text);
    holds_text(&r, &[TYPED]);
    every_read_shows(&app, &id, "/accounts", &json!([TYPED]), TYPED).await;

    // Refused payloads change nothing and say what today's rules say.
    let before = app.get(&path).await;
    let bad = r#"{"accountId":"NOPE"}"#;
    let r = app.patch(&path, &patch_body(json!([{"op": "add", "path": "accounts", "value": [bad]}]))).await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("account \"NOPE\" is not registered"), "{detail}");
    assert_eq!(app.get(&path).await.body, before.body);
}

// ---------------------------------------------------------------------------------------------
// §2: a write that changes nothing is not a change

/// PUT the same user twice, then with `meta`, `id` and `schemas` in another order and a password
/// (never stored): same version, ETag and lastModified, no change row. PATCH replace with the
/// current value: the same. A real change still bumps and records.
#[tokio::test]
async fn user_writes_that_change_nothing_keep_the_version() {
    let app = TestApp::spawn().await;
    registry(&app).await;
    let body = json!({"schemas": [USER_URN], "userName": "same", "displayName": "Same",
                      "emails": [{"value": "same@example.com", "type": "work", "primary": true}],
                      "accounts": [OKTA]});
    let made = app.post("/Users", &body).await;
    let id = id_of(&made.body);
    let path = format!("/Users/{id}");
    let first = app.put(&path, &body).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(stamp(&first), stamp(&made), "a PUT of the POSTed body: {}", first.text);
    let second = app.put(&path, &body).await;
    assert_eq!(stamp(&second), stamp(&made), "{}", second.text);

    let reordered = json!({"password": "Secret-123", "accounts": [OKTA], "meta": made.body["meta"],
                           "emails": [{"primary": true, "type": "work", "value": "same@example.com"}],
                           "displayName": "Same", "userName": "same", "id": id, "schemas": [EXT, USER_URN]});
    let r = app.put(&path, &reordered).await;
    assert_eq!(stamp(&r), stamp(&made), "{}", r.text);
    let ops = json!([{"op": "replace", "path": "displayName", "value": "Same"},
                     {"op": "replace", "value": {"active": true, "accounts": [OKTA]}}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(stamp(&r), stamp(&made), "{}", r.text);
    assert_eq!(change_count(&app, "User", &id).await, 1, "only the creation is recorded");

    let ops = json!([{"op": "replace", "path": "displayName", "value": "Changed"}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    assert_ne!(stamp(&r).0, stamp(&made).0, "{}", r.text);
    assert_eq!(r.header("etag"), r.body["meta"]["version"].as_str());
    assert_eq!(change_count(&app, "User", &id).await, 2);

    // Inside Bulk: the same.
    let version = r.body["meta"]["version"].clone();
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "PUT", "path": path, "data": {"userName": "same", "displayName": "Changed", "accounts": [OKTA],
                                                 "emails": [{"value": "same@example.com", "type": "work", "primary": true}]}},
        {"method": "PATCH", "path": path, "data": patch_body(json!([{"op": "replace", "path": "userName", "value": "same"}]))}]});
    let r = app.post("/Bulk", &bulk).await;
    let ops = r.body["Operations"].as_array().expect("Operations");
    assert_eq!(ops.iter().map(|o| (&o["status"], &o["version"])).collect::<Vec<_>>(), [(&json!("200"), &version); 2]);
    assert_eq!(change_count(&app, "User", &id).await, 2);
    // The journal still records every request.
    let q = form_encode(&[("attributes", "id")]);
    assert_eq!(app.get(&format!("{path}?{q}")).await.status, StatusCode::OK);
}

/// Groups: a PUT with the same members in another order, a PATCH adding a member already there
/// or replacing the name with itself, and both inside Bulk: no change. A real change bumps.
#[tokio::test]
async fn group_writes_that_change_nothing_keep_the_version() {
    let app = TestApp::spawn().await;
    let a = id_of(&app.create_user(&user("a")).await);
    let b = id_of(&app.create_user(&user("b")).await);
    let body = json!({"schemas": [GROUP_URN], "displayName": "Staff", "members": [{"value": a}, {"value": b}]});
    let made = app.post("/Groups", &body).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    let gid = id_of(&made.body);
    let path = format!("/Groups/{gid}");

    let swapped = json!({"schemas": [GROUP_URN], "displayName": "Staff", "id": gid,
                         "members": [{"value": b, "display": "b"}, {"value": a}]});
    for put in [body.clone(), swapped] {
        let r = app.put(&path, &put).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(stamp(&r), stamp(&made), "{}", r.text);
    }
    let ops = json!([{"op": "add", "path": "members", "value": [{"value": a}]},
                     {"op": "replace", "path": "displayName", "value": "Staff"}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    assert_eq!(stamp(&r), stamp(&made), "{}", r.text);
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
        {"method": "PUT", "path": path, "data": body}]});
    let r = app.post("/Bulk", &bulk).await;
    assert_eq!(r.body["Operations"][0]["version"], made.body["meta"]["version"], "{}", r.text);
    assert_eq!(change_count(&app, "Group", &gid).await, 1, "only the creation is recorded");

    let ops = json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    assert_ne!(stamp(&r).0, stamp(&made).0, "{}", r.text);
    assert_eq!(change_count(&app, "Group", &gid).await, 2);
}
