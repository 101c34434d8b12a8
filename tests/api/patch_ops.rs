//! PATCH /Users/{id} end to end (RFC 7644 §3.5.2): the three operations with and without paths,
//! value filters, URN-qualified paths, what Okta and Entra send (idp-behaviour.md §1.2, §2.2,
//! §2.4, §4.3), atomicity, preconditions and error answers.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, user};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

// ------------------------------------------------------------------------------------- helpers

/// A user with a bit of everything: name, two emails (work primary), two addresses, enterprise.
fn bjensen() -> Value {
    json!({
        "schemas": [USER_URN, ENT_URN],
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [
            {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "primary": true},
            {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood"}
        ],
        ENT_URN: {"department": "Tour Operations", "employeeNumber": "701984"}
    })
}

/// Creates `body` and returns `(path, created resource)`.
async fn seed(app: &TestApp, body: &Value) -> (String, Value) {
    let created = app.create_user(body).await;
    let path = format!("/Users/{}", created["id"].as_str().expect("id"));
    (path, created)
}

fn patch_body(ops: Value) -> Value {
    json!({"schemas": [PATCH_URN], "Operations": ops})
}

async fn patch(app: &TestApp, path: &str, ops: Value) -> Resp {
    app.patch(path, &patch_body(ops)).await
}

/// PATCH, asserting 200 with the full resource and `ETag` == `meta.version`; returns the body.
#[track_caller]
fn ok(r: Resp) -> Value {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    assert_eq!(r.header("etag"), r.body["meta"]["version"].as_str(), "ETag == meta.version: {}", r.text);
    r.body
}

async fn read(app: &TestApp, path: &str) -> Value {
    let r = app.get(path).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

fn version(v: &Value) -> String {
    v["meta"]["version"].as_str().expect("meta.version").to_owned()
}

/// The `value`s of a multi-valued attribute, in order.
fn values(v: &Value) -> Vec<&str> {
    v.as_array().map(|a| a.iter().filter_map(|e| e["value"].as_str()).collect()).unwrap_or_default()
}

/// The element of a multi-valued attribute with this `type`.
fn of_type<'a>(v: &'a Value, ty: &str) -> Vec<&'a Value> {
    v.as_array().map(|a| a.iter().filter(|e| e["type"] == ty).collect()).unwrap_or_default()
}

// --------------------------------------------------------------------------- add (§3.5.2.1)

// RFC 7644 §3.5.2.1: add with a path sets a missing attribute, replaces a single-valued one and
// merges sub-attributes into a complex one.
#[tokio::test]
async fn add_with_path() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    let r = ok(patch(
        &app,
        &path,
        json!([
            {"op": "add", "path": "nickName", "value": "Babs"},
            {"op": "add", "path": "displayName", "value": "Barbara J."},
            {"op": "add", "path": "name", "value": {"middleName": "Jane"}},
            {"op": "add", "path": "name.honorificPrefix", "value": "Ms."}
        ]),
    )
    .await);
    assert_eq!(r["nickName"], "Babs");
    assert_eq!(r["displayName"], "Barbara J.");
    assert_eq!(
        r["name"],
        json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "Jane", "honorificPrefix": "Ms."})
    );
    assert_eq!(r["emails"], created["emails"]);
    assert_eq!(r["id"], created["id"]);
    assert_eq!(read(&app, &path).await, r);
}

// RFC 7644 §3.5.2.1: without a path the value is an object of attributes to add; idp-behaviour.md
// §2.4 #4: its keys may be dotted or URN-qualified paths, or an extension URN holding an object.
#[tokio::test]
async fn add_without_path_merges_the_value_object() {
    let app = TestApp::spawn().await;
    let (path, _) = seed(&app, &user("plain")).await;
    let r = ok(patch(
        &app,
        &path,
        json!([{"op": "add", "value": {
            "nickName": "Pl",
            "name.givenName": "Plain",
            "name": {"familyName": "Jane"},
            "emails": [{"value": "p@example.com", "type": "work"}],
            "urn:ietf:params:scim:schemas:core:2.0:User:title": "Tester",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42",
            ENT_URN: {"department": "QA"}
        }}]),
    )
    .await);
    assert_eq!(r["nickName"], "Pl");
    assert_eq!(r["name"], json!({"givenName": "Plain", "familyName": "Jane"}));
    assert_eq!(r["emails"], json!([{"value": "p@example.com", "type": "work"}]));
    assert_eq!(r["title"], "Tester");
    assert_eq!(r[ENT_URN], json!({"employeeNumber": "42", "department": "QA"}));
    assert_eq!(r["schemas"], json!([USER_URN, ENT_URN]));
    assert_eq!(r["userName"], "plain");
}

// RFC 7644 §3.5.2.1: add to a multi-valued attribute appends; a value already there is not
// duplicated ("no changes SHOULD be made").
#[tokio::test]
async fn add_to_multi_valued_appends_and_skips_duplicates() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    let ops = json!([{"op": "add", "path": "emails", "value": [
        {"value": "bjensen@example.com", "type": "work"},
        {"value": "barbara@other.example", "type": "other"}
    ]}]);
    let r = ok(patch(&app, &path, ops.clone()).await);
    assert_eq!(values(&r["emails"]), ["bjensen@example.com", "babs@jensen.org", "barbara@other.example"]);
    assert_eq!(r["emails"][0], json!({"value": "bjensen@example.com", "type": "work", "primary": true}));
    let v = version(&r);
    assert_ne!(v, version(&created));
    // The same add again changes nothing, not even the version.
    let again = ok(patch(&app, &path, ops).await);
    assert_eq!(again["emails"], r["emails"]);
    assert_eq!(version(&again), v);
    // A single value (not a list) is appended too.
    let r = ok(patch(
        &app,
        &path,
        json!([{"op": "add", "path": "phoneNumbers", "value": {"value": "555-1", "type": "work"}}]),
    )
    .await);
    assert_eq!(r["phoneNumbers"], json!([{"value": "555-1", "type": "work"}]));
}

// ----------------------------------------------------------------------- replace (§3.5.2.3)

// RFC 7644 §3.5.2.3: replace with a path; a multi-valued attribute without a filter is replaced
// whole.
#[tokio::test]
async fn replace_with_path() {
    let app = TestApp::spawn().await;
    let (path, _) = seed(&app, &bjensen()).await;
    let r = ok(patch(
        &app,
        &path,
        json!([
            {"op": "replace", "path": "displayName", "value": "B. Jensen"},
            {"op": "replace", "path": "name.familyName", "value": "Jensen-Smith"},
            {"op": "replace", "path": "title", "value": "Guide"},
            {"op": "replace", "path": "emails", "value": [{"value": "only@example.com", "type": "work", "primary": true}]}
        ]),
    )
    .await);
    assert_eq!(r["displayName"], "B. Jensen");
    assert_eq!(r["name"], json!({"givenName": "Barbara", "familyName": "Jensen-Smith"}));
    assert_eq!(r["title"], "Guide");
    assert_eq!(r["emails"], json!([{"value": "only@example.com", "type": "work", "primary": true}]));
    assert_eq!(read(&app, &path).await, r);
}

// RFC 7644 §3.5.2.3 without a path; idp-behaviour.md §2.4 #4 (Entra: dotted and URN-qualified keys).
#[tokio::test]
async fn replace_without_path_with_dotted_and_urn_keys() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    let r = ok(patch(
        &app,
        &path,
        json!([{"op": "replace", "value": {
            "displayName": "x",
            "name.givenName": "y",
            "name.familyName": "z",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "n",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Dept"
        }}]),
    )
    .await);
    assert_eq!(r["displayName"], "x");
    assert_eq!(r["name"], json!({"givenName": "y", "familyName": "z"}));
    assert_eq!(r[ENT_URN], json!({"department": "Dept", "employeeNumber": "n"}));
    assert_eq!(r["emails"], created["emails"]);
}

// RFC 7644 §3.5.2 (valuePath): `emails[type eq "work"].value` and
// `addresses[type eq "work"].streetAddress` touch the matching element only.
#[tokio::test]
async fn value_filter_paths_touch_only_matching_elements() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    let r = ok(patch(
        &app,
        &path,
        json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com"},
            {"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Studio Way"}
        ]),
    )
    .await);
    assert_eq!(
        r["emails"],
        json!([
            {"value": "barbara@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ])
    );
    assert_eq!(
        r["addresses"][0],
        json!({"type": "work", "streetAddress": "1 Studio Way", "locality": "Hollywood", "primary": true})
    );
    assert_eq!(r["addresses"][1], created["addresses"][1]);
    // The email lookup follows the change (RFC 7644 §3.4.2.2).
    let found = app.filter("emails.value eq \"barbara@example.com\"").await;
    assert_eq!(found.body["totalResults"], 1, "{}", found.text);
    assert_eq!(app.filter("emails.value eq \"bjensen@example.com\"").await.body["totalResults"], 0);
    // add with a filter and a sub-attribute on an existing element updates it.
    let r = ok(patch(
        &app,
        &path,
        json!([{"op": "add", "path": "addresses[type eq \"home\"].postalCode", "value": "91608"}]),
    )
    .await);
    assert_eq!(r["addresses"][1]["postalCode"], "91608");
    assert!(r["addresses"][0].get("postalCode").is_none(), "{r}");
}

// RFC 7644 §3.10 / §3.5.2: paths qualified with the extension URN (department, manager).
#[tokio::test]
async fn urn_qualified_extension_paths() {
    let app = TestApp::spawn().await;
    let (path, _) = seed(&app, &user("plain")).await;
    let r = ok(patch(
        &app,
        &path,
        json!([
            {"op": "add", "path": format!("{ENT_URN}:department"), "value": "Sales"},
            {"op": "add", "path": format!("{ENT_URN}:manager"), "value": {"value": "mgr-1", "$ref": "../Users/mgr-1"}}
        ]),
    )
    .await);
    assert_eq!(r[ENT_URN], json!({"department": "Sales", "manager": {"value": "mgr-1", "$ref": "../Users/mgr-1"}}));
    assert_eq!(r["schemas"], json!([USER_URN, ENT_URN]));
    let r =
        ok(patch(&app, &path, json!([{"op": "replace", "path": format!("{ENT_URN}:department"), "value": "Ops"}]))
            .await);
    assert_eq!(r[ENT_URN]["department"], "Ops");
    let r = ok(patch(
        &app,
        &path,
        json!([{"op": "replace", "path": format!("{ENT_URN}:manager.value"), "value": "mgr-2"}]),
    )
    .await);
    assert_eq!(r[ENT_URN]["manager"], json!({"value": "mgr-2", "$ref": "../Users/mgr-1"}));
    // Core URN-qualified paths work too.
    let r =
        ok(patch(&app, &path, json!([{"op": "replace", "path": format!("{USER_URN}:displayName"), "value": "P"}]))
            .await);
    assert_eq!(r["displayName"], "P");
    // Removing the extension's attributes drops the extension and its URN from schemas.
    let r = ok(patch(
        &app,
        &path,
        json!([
            {"op": "remove", "path": format!("{ENT_URN}:department")},
            {"op": "remove", "path": format!("{ENT_URN}:manager")}
        ]),
    )
    .await);
    assert!(r.get(ENT_URN).is_none(), "{r}");
    assert_eq!(r["schemas"], json!([USER_URN]));
}

// ------------------------------------------------------------------------ remove (§3.5.2.2)

// RFC 7644 §3.5.2.2: remove an attribute, a sub-attribute, all values, or the filter's matches.
#[tokio::test]
async fn remove_with_path() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    let r = ok(patch(
        &app,
        &path,
        json!([
            {"op": "remove", "path": "displayName"},
            {"op": "remove", "path": "name.givenName"},
            {"op": "remove", "path": "emails[type eq \"home\"]"}
        ]),
    )
    .await);
    assert!(r.get("displayName").is_none(), "{r}");
    assert_eq!(r["name"], json!({"familyName": "Jensen"}));
    assert_eq!(r["emails"], json!([{"value": "bjensen@example.com", "type": "work", "primary": true}]));
    assert_eq!(r["addresses"], created["addresses"]);
    let r = ok(patch(&app, &path, json!([{"op": "remove", "path": "addresses"}])).await);
    assert!(r.get("addresses").is_none(), "{r}");
    let r = ok(patch(&app, &path, json!([{"op": "remove", "path": "emails[type eq \"work\"]"}])).await);
    assert!(r.get("emails").is_none(), "removing the last element leaves no empty list: {r}");
    assert_eq!(read(&app, &path).await, r);
}

// RFC 7644 §3.5.2.2 (scimbox's documented choice, validator-wasm/src/patch.rs): removing what is
// not there succeeds and changes nothing.
#[tokio::test]
async fn remove_of_an_absent_attribute_or_unmatched_filter_succeeds() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    for p in ["title", "nickName", "phoneNumbers", "emails[type eq \"other\"]", "name.middleName"] {
        let r = ok(patch(&app, &path, json!([{"op": "remove", "path": p}])).await);
        assert_eq!(r, created, "{p}");
    }
    let (plain, plain_created) = seed(&app, &user("plain")).await;
    let r = ok(patch(&app, &plain, json!([{"op": "remove", "path": format!("{ENT_URN}:department")}])).await);
    assert_eq!(r, plain_created);
}

// --------------------------------------------------------------------------- Okta (idp §1.2)

// idp-behaviour.md §1.2 #7, #11, §1.3 #7: path-less replace of `active`, and a value object that
// echoes the resource's own `id` (ignored). RFC 7644 §3.5.2.3.
#[tokio::test]
async fn okta_pathless_replace_shapes() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    let r = ok(patch(&app, &path, json!([{"op": "replace", "value": {"active": false}}])).await);
    assert_eq!(r["active"], false);
    assert_eq!(read(&app, &path).await["active"], false);
    let id = created["id"].as_str().unwrap();
    let r = ok(patch(&app, &path, json!([{"op": "replace", "value": {"id": id, "displayName": "x"}}])).await);
    assert_eq!(r["displayName"], "x");
    assert_eq!(r["id"], id);
    // Okta's password sync (idp §1.2) in the same shape.
    let r = app.patch(&path, &patch_body(json!([{"op": "replace", "value": {"password": "n3wS3cret!"}}]))).await;
    let body = ok(r);
    assert!(body.get("password").is_none(), "{body}");
}

// ------------------------------------------------------------------------ Entra (idp §2.4)

// idp-behaviour.md §2.2 #7–8, §2.4 #1–2: capitalised ops and "True"/"False" strings.
#[tokio::test]
async fn entra_capitalised_ops_and_string_booleans() {
    let app = TestApp::spawn().await;
    let (path, _) = seed(&app, &bjensen()).await;
    let r = ok(patch(&app, &path, json!([{"op": "Replace", "path": "active", "value": "False"}])).await);
    assert_eq!(r["active"], false, "\"False\" is false, stored as a boolean");
    assert_eq!(read(&app, &path).await["active"], json!(false));
    let r = ok(patch(&app, &path, json!([{"op": "Replace", "path": "active", "value": "True"}])).await);
    assert_eq!(r["active"], json!(true));
    let r = ok(patch(
        &app,
        &path,
        json!([
            {"op": "Add", "path": "title", "value": "Guide"},
            {"op": "REMOVE", "path": "displayName"},
            {"op": "Replace", "path": "emails[type eq \"home\"].primary", "value": "True"}
        ]),
    )
    .await);
    assert_eq!(r["title"], "Guide");
    assert!(r.get("displayName").is_none(), "{r}");
    assert_eq!(r["emails"][1]["primary"], json!(true));
    assert_eq!(r["emails"][0]["primary"], json!(false), "the old primary is cleared: {r}");
}

// idp-behaviour.md §2.4 #3: Add on `emails[type eq "work"].value` creates the work email when there
// is none, and updates it when there is one.
#[tokio::test]
async fn entra_add_upserts_a_filtered_element() {
    let app = TestApp::spawn().await;
    let mut body = user("entra");
    body["emails"] = json!([{"value": "home@example.com", "type": "home"}]);
    let (path, _) = seed(&app, &body).await;
    let r = ok(patch(
        &app,
        &path,
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "w@example.com"}]),
    )
    .await);
    assert_eq!(of_type(&r["emails"], "work"), vec![&json!({"type": "work", "value": "w@example.com"})]);
    assert_eq!(of_type(&r["emails"], "home"), vec![&json!({"value": "home@example.com", "type": "home"})]);
    let r = ok(patch(
        &app,
        &path,
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "w2@example.com"}]),
    )
    .await);
    assert_eq!(of_type(&r["emails"], "work"), vec![&json!({"type": "work", "value": "w2@example.com"})]);
    assert_eq!(r["emails"].as_array().map(Vec::len), Some(2));
    let r = ok(patch(
        &app,
        &path,
        json!([
            {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "555-0100"}
        ]),
    )
    .await);
    assert_eq!(r["addresses"], json!([{"type": "work", "streetAddress": "1 Main St"}]));
    assert_eq!(r["phoneNumbers"], json!([{"type": "mobile", "value": "555-0100"}]));
}

// idp-behaviour.md §2.2 #6, §2.4 #6: the manager as a raw string, as `[{"$ref", "value"}]`, and
// cleared with `{"value": ""}`; stored as `{"value": id}`.
#[tokio::test]
async fn entra_manager_shapes() {
    let app = TestApp::spawn().await;
    let (path, _) = seed(&app, &user("entra")).await;
    let manager_path = format!("{ENT_URN}:manager");
    let r = ok(patch(&app, &path, json!([{"op": "add", "path": manager_path, "value": "mgr-1"}])).await);
    assert_eq!(r[ENT_URN]["manager"], json!({"value": "mgr-1"}));
    assert_eq!(r["schemas"], json!([USER_URN, ENT_URN]));
    let r = ok(patch(
        &app,
        &path,
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": "https://x.example/Users/mgr-2", "value": "mgr-2"}]}]),
    )
    .await);
    assert_eq!(r[ENT_URN]["manager"]["value"], "mgr-2");
    let r =
        ok(patch(&app, &path, json!([{"op": "Replace", "path": manager_path, "value": [{"value": "mgr-3"}]}])).await);
    assert_eq!(r[ENT_URN]["manager"]["value"], "mgr-3");
    let r = ok(patch(&app, &path, json!([{"op": "replace", "path": manager_path, "value": {"value": ""}}])).await);
    assert!(r.get(ENT_URN).is_none(), "manager cleared, extension gone: {r}");
    assert_eq!(r["schemas"], json!([USER_URN]));
    assert!(read(&app, &path).await.get(ENT_URN).is_none());
}

// RFC 7643 §2.4: at most one primary; setting a new primary clears the old one (RFC 7644 §3.5.2).
#[tokio::test]
async fn a_new_primary_email_clears_the_old_one() {
    let app = TestApp::spawn().await;
    let (path, _) = seed(&app, &bjensen()).await;
    let r = ok(patch(
        &app,
        &path,
        json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "other", "primary": true}]}]),
    )
    .await);
    let primaries: Vec<&str> = r["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["primary"] == true)
        .filter_map(|e| e["value"].as_str())
        .collect();
    assert_eq!(primaries, ["new@example.com"], "{r}");
    assert_eq!(r["emails"].as_array().map(Vec::len), Some(3));
    let r =
        ok(patch(&app, &path, json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]))
            .await);
    let primaries: Vec<&str> = r["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["primary"] == true)
        .filter_map(|e| e["value"].as_str())
        .collect();
    assert_eq!(primaries, ["babs@jensen.org"], "{r}");
}

// ------------------------------------------------------------------- atomicity (§3.5.2)

// RFC 7644 §3.5.2: "Each PATCH operation represents a single action ... The PATCH request SHALL be
// treated as atomic"; on an error the resource is left as it was. §3.12 names the scimTypes.
#[tokio::test]
async fn a_failing_third_operation_applies_nothing() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    let first_two = json!([
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "add", "path": "nickName", "value": "Nick"}
    ]);
    let cases = [
        (json!({"op": "replace", "path": "emails[type eq", "value": "x"}), "invalidPath"),
        (json!({"op": "replace", "path": "id", "value": "new-id"}), "mutability"),
        (json!({"op": "add", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}), "mutability"),
        (
            json!({"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "o@example.com"}}),
            "noTarget",
        ),
        (json!({"op": "remove", "path": "userName"}), "mutability"),
        (json!({"op": "add", "path": "shoeSize", "value": 42}), "invalidPath"),
        (json!({"op": "remove", "path": "groups[value eq \"g-1\"]"}), "mutability"),
    ];
    for (third, scim_type) in cases {
        let mut ops = first_two.as_array().unwrap().clone();
        ops.push(third.clone());
        let r = patch(&app, &path, Value::Array(ops)).await;
        let detail = r.assert_error(400, Some(scim_type));
        assert!(detail.contains("Operations[2]"), "{third}: {detail}");
        let now = read(&app, &path).await;
        assert_eq!(now, created, "{third}: nothing may change");
        assert_eq!(version(&now), version(&created));
    }
    // The first two alone do apply.
    let r = ok(patch(&app, &path, first_two).await);
    assert_eq!(r["displayName"], "Changed");
    assert_eq!(r["nickName"], "Nick");
}

// RFC 7644 §3.5.2 (atomic) and §3.12 invalidValue: a third operation whose value has the wrong type
// (or makes two primaries) applies nothing, and the detail says which operation it was, as for the
// other errors above (patch.rs: errors name "the operation's index and path").
#[tokio::test]
async fn a_third_operation_with_an_invalid_value_applies_nothing_and_is_named() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    let cases = [
        json!({"op": "replace", "path": "active", "value": "perhaps"}),
        json!({"op": "replace", "path": "name.givenName", "value": 7}),
        json!({"op": "add", "path": "emails", "value": [
            {"value": "a@example.com", "primary": true}, {"value": "b@example.com", "primary": true}]}),
    ];
    let mut details = Vec::new();
    for third in cases {
        let ops = json!([
            {"op": "replace", "path": "displayName", "value": "Changed"},
            {"op": "add", "path": "nickName", "value": "Nick"},
            third.clone()
        ]);
        let r = patch(&app, &path, ops).await;
        let detail = r.assert_error(400, Some("invalidValue"));
        let now = read(&app, &path).await;
        assert_eq!(now, created, "{third}: nothing may change");
        details.push((third, detail));
    }
    for (third, detail) in details {
        assert!(detail.contains("Operations[2]"), "{third}: the detail does not name the operation: {detail}");
    }
}

// ------------------------------------------------------------------- responses (§3.5.2, §3.9)

// RFC 7644 §3.5.2: 200 with the full resource; §3.14: ETag == meta.version, bumped on change.
#[tokio::test]
async fn patch_answers_200_with_the_full_resource_and_etag() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    let r = patch(&app, &path, json!([{"op": "replace", "path": "title", "value": "Guide"}])).await;
    let body = ok(r);
    let mut want = created.clone();
    want["title"] = json!("Guide");
    want["meta"] = body["meta"].clone();
    assert_eq!(body, want);
    assert_ne!(version(&body), version(&created));
    assert_eq!(body["meta"]["created"], created["meta"]["created"]);
    assert_eq!(body["meta"]["location"], created["meta"]["location"]);
    let got = app.get(&path).await;
    assert_eq!(got.header("etag"), Some(version(&body).as_str()));
    assert_eq!(got.body, body);
    // Without a Content-Type (some clients omit it on PATCH, idp-behaviour.md §4.4).
    let raw = app
        .client
        .request(Method::PATCH, format!("{}{path}", app.base))
        .header("Authorization", format!("Bearer {}", app.token))
        .body(patch_body(json!([{"op": "replace", "path": "title", "value": "Boss"}])).to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(raw.status(), StatusCode::OK);
    assert_eq!(read(&app, &path).await["title"], "Boss");
}

// RFC 7644 §3.9: `attributes` on PATCH.
#[tokio::test]
async fn patch_with_attributes_returns_only_those() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    let r = app
        .patch(
            &format!("{path}?attributes=userName"),
            &patch_body(json!([{"op": "replace", "path": "userName", "value": "babs"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({"schemas": [USER_URN], "id": created["id"], "userName": "babs"}));
    assert_eq!(read(&app, &path).await["userName"], "babs");
}

// RFC 7644 §3.12: 404 for an unknown resource.
#[tokio::test]
async fn patch_on_an_unknown_id_is_404() {
    let app = TestApp::spawn().await;
    let r = patch(
        &app,
        "/Users/2819c223-7f76-453a-919d-413861904646",
        json!([{"op": "replace", "path": "title", "value": "x"}]),
    )
    .await;
    r.assert_error(404, None);
}

// RFC 7644 §3.5.2: the body is a PatchOp with an "Operations" array; §3.12 invalidSyntax.
#[tokio::test]
async fn malformed_patch_bodies_are_invalid_syntax() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    for body in [
        json!({"schemas": [PATCH_URN]}),
        json!({"schemas": [PATCH_URN], "Operations": []}),
        json!({"schemas": [PATCH_URN], "Operations": {"op": "add", "path": "title", "value": "x"}}),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
               "Operations": [{"op": "add", "path": "title", "value": "x"}]}),
        json!([{"op": "add", "path": "title", "value": "x"}]),
    ] {
        let r = app.patch(&path, &body).await;
        r.assert_error(400, Some("invalidSyntax"));
    }
    let r = patch(&app, &path, json!([{"op": "merge", "path": "title", "value": "x"}])).await;
    let detail = r.assert_error(400, Some("invalidSyntax"));
    assert!(detail.contains("merge") && detail.contains("Operations[0]"), "{detail}");
    let r = patch(&app, &path, json!([{"path": "title", "value": "x"}])).await;
    r.assert_error(400, Some("invalidSyntax"));
    assert_eq!(read(&app, &path).await, created);
}

// RFC 7644 §3.5.2.2: remove without a path is noTarget; removing a required attribute is
// mutability.
#[tokio::test]
async fn remove_without_path_and_removing_user_name_are_refused() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    let detail = patch(&app, &path, json!([{"op": "remove"}])).await.assert_error(400, Some("noTarget"));
    assert!(detail.contains("Operations[0]"), "{detail}");
    let r = patch(&app, &path, json!([{"op": "remove", "value": {"displayName": "Babs Jensen"}}])).await;
    r.assert_error(400, Some("noTarget"));
    let detail =
        patch(&app, &path, json!([{"op": "remove", "path": "userName"}])).await.assert_error(400, Some("mutability"));
    assert!(detail.contains("userName"), "{detail}");
    let detail = patch(&app, &path, json!([{"op": "replace", "path": "userName", "value": null}]))
        .await
        .assert_error(400, Some("mutability"));
    assert!(detail.contains("userName"), "{detail}");
    assert_eq!(read(&app, &path).await, created);
}

// RFC 7644 §3.5.2 + §3.12: a PATCH that would make userName collide is 409 uniqueness.
#[tokio::test]
async fn patch_to_a_taken_user_name_is_409() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    app.create_user(&user("taken")).await;
    let r = patch(&app, &path, json!([{"op": "replace", "path": "userName", "value": "TAKEN"}])).await;
    r.assert_error(409, Some("uniqueness"));
    assert_eq!(read(&app, &path).await, created);
}

// RFC 7644 §3.14: If-Match with a stale version is 412 and applies nothing.
#[tokio::test]
async fn patch_honours_if_match() {
    let app = TestApp::spawn().await;
    let (path, created) = seed(&app, &bjensen()).await;
    let body = patch_body(json!([{"op": "replace", "path": "title", "value": "Guide"}]));
    let r = app.send(Method::PATCH, &path, Some(&body), &[("If-Match", "W/\"41\"")]).await;
    r.assert_error(412, None);
    assert_eq!(read(&app, &path).await, created);
    let r = app.send(Method::PATCH, &path, Some(&body), &[("If-Match", &version(&created))]).await;
    let updated = ok(r);
    assert_eq!(updated["title"], "Guide");
    // The tag just used is now stale.
    let body = patch_body(json!([{"op": "replace", "path": "title", "value": "Stale"}]));
    let r = app.send(Method::PATCH, &path, Some(&body), &[("If-Match", &version(&created))]).await;
    r.assert_error(412, None);
    assert_eq!(read(&app, &path).await["title"], "Guide");
}

// RFC 7643 §4.1.1: password is writeOnly, returned "never"; PATCH may set it.
#[tokio::test]
async fn password_set_by_patch_is_accepted_and_never_returned() {
    let app = TestApp::spawn().await;
    let (path, _) = seed(&app, &bjensen()).await;
    let secret = "pa55-W0rd-by-PATCH";
    for ops in [
        json!([{"op": "replace", "path": "password", "value": secret}]),
        json!([{"op": "add", "path": "password", "value": secret}]),
        json!([{"op": "replace", "value": {"password": secret}}]),
    ] {
        let r = patch(&app, &path, ops.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{ops}: {}", r.text);
        assert!(!r.text.contains(secret) && !r.text.contains("password"), "{}", r.text);
    }
    for r in [app.get(&path).await, app.get("/Users").await, app.get(&format!("{path}?attributes=password")).await] {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(!r.text.contains(secret) && !r.text.contains("password"), "{}", r.text);
    }
}
