//! `/Groups` end to end (RFC 7643 §4.2, RFC 7644 §3): create, read, replace, delete, membership
//! PATCH in every shape Okta, Entra ID and JumpCloud send (idp-behaviour.md §1.2, §2.2, §2.4–§2.6,
//! §3, §6), nested groups and the User's `groups`, cascades, projections, lists and searches,
//! and the write responses of large groups. Each test cites its RFC section.

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::helpers::{Resp, TestApp, form_encode, ids, user};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SEARCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const ADSCIM_URN: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";

// ------------------------------------------------------------------------------------- helpers

fn group(display_name: &str) -> Value {
    json!({"schemas": [GROUP_URN], "displayName": display_name})
}

fn group_with(display_name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": [GROUP_URN], "displayName": display_name, "members": members})
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

fn gpath(id: &str) -> String {
    format!("/Groups/{id}")
}

/// POSTs a group, asserting 201; returns its representation.
async fn create_group(app: &TestApp, body: &Value) -> Value {
    let r = app.post("/Groups", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body
}

/// Creates a group and returns its id.
async fn new_group(app: &TestApp, display_name: &str, members: &[&str]) -> String {
    id_of(&create_group(app, &group_with(display_name, members)).await)
}

/// Creates a user (with a displayName if given) and returns its id.
async fn new_user(app: &TestApp, user_name: &str, display_name: Option<&str>) -> String {
    let mut body = user(user_name);
    if let Some(d) = display_name {
        body["displayName"] = json!(d);
    }
    id_of(&app.create_user(&body).await)
}

async fn patch(app: &TestApp, path: &str, ops: Value) -> Resp {
    app.patch(path, &json!({"schemas": [PATCH_URN], "Operations": ops})).await
}

/// Asserts 200, the SCIM media type and `ETag` == `meta.version`; returns the body.
#[track_caller]
fn ok(r: Resp) -> Value {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"), "{}", r.text);
    assert_eq!(r.header("etag"), r.body["meta"]["version"].as_str(), "ETag == meta.version: {}", r.text);
    r.body
}

async fn read(app: &TestApp, path: &str) -> Value {
    ok(app.get(path).await)
}

/// `meta.version` as the integer inside `W/"n"`.
fn version(v: &Value) -> u64 {
    let tag = v["meta"]["version"].as_str().expect("meta.version");
    tag.trim_start_matches("W/").trim_matches('"').parse().expect("a numeric version")
}

/// The ids of a group's members, in order (none when `members` is absent).
fn member_ids(g: &Value) -> Vec<String> {
    g.get("members")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|m| m["value"].as_str().expect("member value").to_owned()).collect())
        .unwrap_or_default()
}

/// The member with this id.
fn member<'a>(g: &'a Value, id: &str) -> &'a Value {
    g["members"].as_array().and_then(|a| a.iter().find(|m| m["value"] == id)).unwrap_or(&Value::Null)
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

fn strs(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| (*s).to_owned()).collect()
}

/// `members` is absent or empty (RFC 7643 §2.5: an empty multi-valued attribute is unassigned).
#[track_caller]
fn assert_no_members(g: &Value) {
    assert!(g.get("members").is_none_or(|m| m == &json!([])), "members should be empty: {g}");
}

/// GET /Groups with these query parameters (URL-encoded here).
async fn list_groups(app: &TestApp, params: &[(&str, &str)]) -> Resp {
    app.get(&format!("/Groups?{}", form_encode(params))).await
}

#[track_caller]
fn assert_list(r: &Resp, total: u64) -> Vec<Value> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    assert_eq!(r.body["schemas"], json!([LIST_URN]), "{}", r.text);
    assert_eq!(r.body["totalResults"], json!(total), "{}", r.text);
    let res = r.body["Resources"].as_array().expect("Resources is always present").clone();
    assert_eq!(r.body["itemsPerPage"], json!(res.len()), "{}", r.text);
    res
}

/// The User's `groups` (RFC 7643 §4.1.2).
async fn user_groups(app: &TestApp, uid: &str) -> Vec<Value> {
    let u = read(app, &format!("/Users/{uid}")).await;
    u.get("groups").and_then(Value::as_array).cloned().unwrap_or_default()
}

/// Inserts `n` users straight into the database (ids `{prefix}-0000`, ...); returns their ids.
async fn seed_users_in_db(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let ids: Vec<String> = (0..n).map(|i| format!("{prefix}-{i:04}")).collect();
    let to_insert = ids.clone();
    app.db
        .write(move |c| {
            let now = scimbox::clock::now_stamp();
            for id in &to_insert {
                let mut doc = Map::new();
                doc.insert("userName".into(), json!(format!("{id}@example.com")));
                doc.insert("active".into(), json!(true));
                scimbox::db::users::insert(c, id, doc, &now)?;
            }
            Ok(())
        })
        .await
        .expect("seed users");
    ids
}

// ------------------------------------------------------------------------------ POST /Groups

// RFC 7644 §3.3 (201, Location == meta.location), §3.14 (ETag), RFC 7643 §3.1 (meta), §4.2.
#[tokio::test]
async fn post_answers_201_with_location_etag_and_meta() {
    let app = TestApp::spawn().await;
    let body = json!({"schemas": [GROUP_URN], "displayName": "Tour Guides", "externalId": "ext-7"});
    let r = app.post("/Groups", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let id = id_of(&r.body);
    assert!(!id.is_empty());
    let location = format!("{}/Groups/{id}", app.base);
    assert_eq!(r.header("location"), Some(location.as_str()));
    assert_eq!(r.body["meta"]["location"], location.as_str());
    assert_eq!(r.header("etag"), r.body["meta"]["version"].as_str());
    assert_eq!(r.body["meta"]["version"], "W/\"1\"");
    assert_eq!(r.body["meta"]["resourceType"], "Group");
    assert!(r.body["meta"]["created"].is_string());
    assert_eq!(r.body["meta"]["created"], r.body["meta"]["lastModified"]);
    assert_eq!(r.body["schemas"], json!([GROUP_URN]));
    assert_eq!(r.body["displayName"], "Tour Guides");
    assert_eq!(r.body["externalId"], "ext-7");
    assert_no_members(&r.body);
    assert_eq!(keys(&r.body), strs(&["displayName", "externalId", "id", "meta", "schemas"]));
    // RFC 7644 §3.4.1: GET returns the same resource.
    let got = read(&app, &gpath(&id)).await;
    assert_eq!(got, r.body);
}

// RFC 7643 §4.2 (members.value, $ref, type, display), §2.3.7 ($ref is a URI); scimbox's rules:
// `type` defaults to the member's real type (Okta sends none, idp-behaviour.md §1.2 #12),
// `$ref` is computed, `display` is kept as sent or looked up (displayName, else userName).
#[tokio::test]
async fn post_with_members_fills_ref_type_and_display() {
    let app = TestApp::spawn().await;
    let alice = new_user(&app, "alice@example.com", Some("Alice Smith")).await;
    let bob = new_user(&app, "bob@example.com", None).await;
    let carol = new_user(&app, "carol@example.com", Some("Carol Jones")).await;
    let sub = new_group(&app, "Sub Team", &[]).await;
    let body = json!({
        "schemas": [GROUP_URN],
        "displayName": "Engineering",
        "members": [
            {"value": alice},
            {"value": bob, "type": "User"},
            {"value": carol, "display": "Carol (as sent)", "$ref": "https://elsewhere.example/Users/x"},
            {"value": sub}
        ]
    });
    let created = create_group(&app, &body).await;
    let want = json!([
        {"value": alice, "$ref": format!("{}/Users/{alice}", app.base), "type": "User", "display": "Alice Smith"},
        {"value": bob, "$ref": format!("{}/Users/{bob}", app.base), "type": "User", "display": "bob@example.com"},
        {"value": carol, "$ref": format!("{}/Users/{carol}", app.base), "type": "User", "display": "Carol (as sent)"},
        {"value": sub, "$ref": format!("{}/Groups/{sub}", app.base), "type": "Group", "display": "Sub Team"}
    ]);
    assert_eq!(created["members"], want, "{created}");
    let got = read(&app, &gpath(&id_of(&created))).await;
    assert_eq!(got["members"], want);
    assert_eq!(got, created);
}

// RFC 7644 §3.4.1: an unknown id is 404 with a SCIM error.
#[tokio::test]
async fn get_unknown_group_is_404() {
    let app = TestApp::spawn().await;
    let detail = app.get("/Groups/00000000-0000-0000-0000-000000000000").await.assert_error(404, None);
    assert!(detail.contains("00000000-0000-0000-0000-000000000000"), "{detail}");
}

// RFC 7643 §4.2 (displayName REQUIRED per its text; scimbox publishes it required), RFC 7644
// §3.12 invalidValue.
#[tokio::test]
async fn missing_display_name_is_400() {
    let app = TestApp::spawn().await;
    for body in [
        json!({"schemas": [GROUP_URN]}),
        json!({"schemas": [GROUP_URN], "displayName": null}),
        json!({"schemas": [GROUP_URN], "displayName": ""}),
        json!({"schemas": [GROUP_URN], "externalId": "x", "members": []}),
    ] {
        let detail = app.post("/Groups", &body).await.assert_error(400, Some("invalidValue"));
        assert!(detail.contains("displayName"), "{body}: {detail}");
    }
    assert_list(&app.get("/Groups").await, 0);
    // PUT without it is refused too, and changes nothing.
    let id = new_group(&app, "Keep", &[]).await;
    let detail = app.put(&gpath(&id), &json!({"schemas": [GROUP_URN]})).await.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("displayName"), "{detail}");
    // RFC 7644 §3.5.2.2: removing a required attribute is refused.
    let r = patch(&app, &gpath(&id), json!([{"op": "remove", "path": "displayName"}])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let got = read(&app, &gpath(&id)).await;
    assert_eq!(got["displayName"], "Keep");
    assert_eq!(version(&got), 1);
}

// RFC 7644 §3.3 / §3.12: a taken unique value is 409 `uniqueness`; displayName is unique,
// compared case-insensitively (Entra matches groups by it, idp-behaviour.md §2.2 #10; the
// validator's "Create a duplicate Group → 409", §2.6).
#[tokio::test]
async fn display_name_is_unique_case_insensitively() {
    let app = TestApp::spawn().await;
    let sales = new_group(&app, "Sales", &[]).await;
    let other = new_group(&app, "Marketing", &[]).await;
    for name in ["Sales", "sales", "SALES"] {
        let detail = app.post("/Groups", &group(name)).await.assert_error(409, Some("uniqueness"));
        assert!(detail.contains("displayName"), "{detail}");
    }
    assert_list(&app.get("/Groups").await, 2);
    // Renaming another group onto the name: PUT and PATCH.
    app.put(&gpath(&other), &group("sAlEs")).await.assert_error(409, Some("uniqueness"));
    patch(&app, &gpath(&other), json!([{"op": "replace", "path": "displayName", "value": "SALES"}]))
        .await
        .assert_error(409, Some("uniqueness"));
    let got = read(&app, &gpath(&other)).await;
    assert_eq!(got["displayName"], "Marketing");
    assert_eq!(version(&got), 1);
    // A group may change the case of its own name.
    let r = ok(app.put(&gpath(&sales), &group("SALES")).await);
    assert_eq!(r["displayName"], "SALES");
}

// idp-behaviour.md §2.2 #11 and §2.4 #9/#10: Entra's group POST carries the ADSCIM schema URN
// and `meta`; both are ignored (RFC 7643 §3.1: meta is readOnly). #12: its read excludes members.
#[tokio::test]
async fn entra_post_with_adscim_urn_and_meta_is_accepted() {
    let app = TestApp::spawn().await;
    let body = json!({
        "schemas": [GROUP_URN, ADSCIM_URN],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Sales",
        "meta": {"resourceType": "Group"}
    });
    let r = app.post("/Groups", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.body);
    assert_eq!(r.body["schemas"], json!([GROUP_URN]));
    assert_eq!(r.body["displayName"], "Sales");
    assert_eq!(r.body["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert_eq!(r.body["meta"]["resourceType"], "Group");
    assert_eq!(r.body["meta"]["location"], format!("{}/Groups/{id}", app.base));
    assert_no_members(&r.body);
    let got = read(&app, &format!("/Groups/{id}?excludedAttributes=members")).await;
    assert_eq!(got["displayName"], "Sales");
    assert!(got.get("members").is_none(), "{got}");
}

// idp-behaviour.md §1.2 #10: Okta's Push Groups POST with `members: []`.
#[tokio::test]
async fn okta_push_group_with_empty_members() {
    let app = TestApp::spawn().await;
    let r = app.post("/Groups", &json!({"schemas": [GROUP_URN], "displayName": "Test SCIMv2", "members": []})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(!id_of(&r.body).is_empty());
    assert_eq!(r.body["displayName"], "Test SCIMv2");
    assert_no_members(&r.body);
}

// idp-behaviour.md §1.2 #1/#2: Okta's "Test API Credentials"/save reads `/Groups` and needs a
// 200 ListResponse with integer counts and `Resources: []` when there are none (RFC 7644 §3.4.2).
#[tokio::test]
async fn okta_group_list_on_an_empty_server() {
    let app = TestApp::spawn().await;
    let r = app.get("/Groups?startIndex=1&count=100").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"schemas": [LIST_URN], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );
    let users = app.get("/Users?startIndex=1&count=2").await;
    assert_eq!(users.status, StatusCode::OK, "{}", users.text);
    assert_eq!(users.body["Resources"], json!([]));
}

// ------------------------------------------------------------------------ PUT and DELETE

// RFC 7644 §3.5.1: PUT replaces displayName and externalId; members are replaced when sent,
// kept when omitted (scimbox's rule; idp-behaviour.md §6: "PUT without members empties a
// group" broke other servers) and emptied by `members: []`.
#[tokio::test]
async fn put_replaces_attributes_and_members() {
    let app = TestApp::spawn().await;
    let u1 = new_user(&app, "u1", Some("User One")).await;
    let u2 = new_user(&app, "u2", None).await;
    let u3 = new_user(&app, "u3", None).await;
    let body = json!({"schemas": [GROUP_URN], "displayName": "Before", "externalId": "e1",
        "members": [{"value": u1}, {"value": u2}]});
    let created = create_group(&app, &body).await;
    let path = gpath(&id_of(&created));

    // New name, no externalId (cleared), members replaced by [u3, u1].
    let r = ok(app
        .put(&path, &json!({"schemas": [GROUP_URN], "displayName": "After", "members": [{"value": u3}, {"value": u1}]}))
        .await);
    assert_eq!(r["displayName"], "After");
    assert!(r.get("externalId").is_none(), "{r}");
    assert_eq!(member_ids(&r), [u3.clone(), u1.clone()]);
    assert_eq!(member(&r, &u1)["display"], "User One");
    assert_eq!(version(&r), 2);
    assert_eq!(r["meta"]["created"], created["meta"]["created"]);
    assert_eq!(read(&app, &path).await, r);

    // Without members: the members stay.
    let r = ok(app.put(&path, &json!({"schemas": [GROUP_URN], "displayName": "After", "externalId": "e2"})).await);
    assert_eq!(r["externalId"], "e2");
    assert_eq!(member_ids(&r), [u3.clone(), u1.clone()]);
    assert_eq!(version(&r), 3);

    // The same body again changes nothing, not even the version.
    let again = ok(app.put(&path, &json!({"schemas": [GROUP_URN], "displayName": "After", "externalId": "e2"})).await);
    assert_eq!(version(&again), 3);

    // Okta's AIW PUTs its GET response back, id, meta and all (idp-behaviour.md §1.2 #6, #12).
    let mut echo = read(&app, &path).await;
    echo["members"] = json!([{"value": u2, "display": "u2 from Okta"}]);
    let r = ok(app.put(&path, &echo).await);
    assert_eq!(member_ids(&r), vec![u2.clone()]);
    assert_eq!(member(&r, &u2)["display"], "u2 from Okta");

    // An unknown id is 404.
    app.put("/Groups/nope", &group("X")).await.assert_error(404, None);
}

// RFC 7644 §3.5.1 (PUT replaces the resource's attributes) and scimbox's documented rule
// (service/groups.rs: "only `members: []` empties a group"): Okta's AIW PUTs the full member list,
// which is `[]` once the last member is unassigned (idp-behaviour.md §1.1, §1.2 #12).
#[tokio::test]
async fn put_with_empty_members_empties_the_group() {
    let app = TestApp::spawn().await;
    let u1 = new_user(&app, "u1", None).await;
    let u2 = new_user(&app, "u2", None).await;
    let id = new_group(&app, "Emptied", &[&u1, &u2]).await;
    let r = ok(app.put(&gpath(&id), &json!({"schemas": [GROUP_URN], "displayName": "Emptied", "members": []})).await);
    assert_no_members(&r);
    assert_eq!(version(&r), 2);
    assert_no_members(&read(&app, &gpath(&id)).await);
    assert!(user_groups(&app, &u1).await.is_empty());
}

// RFC 7644 §3.6: DELETE answers 204; the group is gone (404), a second DELETE is 404
// (idp-behaviour.md §2.6 "Delete the same Group twice"; §1.2 #13, §2.2 #16).
#[tokio::test]
async fn delete_answers_204_then_404() {
    let app = TestApp::spawn().await;
    let u = new_user(&app, "member", None).await;
    let id = new_group(&app, "Doomed", &[&u]).await;
    let r = app.delete(&gpath(&id)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(r.text.is_empty(), "{}", r.text);
    app.get(&gpath(&id)).await.assert_error(404, None);
    app.delete(&gpath(&id)).await.assert_error(404, None);
    patch(&app, &gpath(&id), json!([{"op": "replace", "path": "displayName", "value": "x"}]))
        .await
        .assert_error(404, None);
    assert_list(&app.get("/Groups").await, 0);
    // The member user is untouched, and its name can be reused by a new group.
    assert!(user_groups(&app, &u).await.is_empty());
    create_group(&app, &group("Doomed")).await;
}

// RFC 7644 §3.14, RFC 7232 §3.1: a write whose If-Match names another version is 412 and
// changes nothing; the current ETag lets it through.
#[tokio::test]
async fn if_match_mismatch_is_412() {
    let app = TestApp::spawn().await;
    let u = new_user(&app, "m", None).await;
    let id = new_group(&app, "Guarded", &[]).await;
    let path = gpath(&id);
    let stale = [("If-Match", "W/\"99\"")];
    let add =
        json!({"schemas": [PATCH_URN], "Operations": [{"op": "add", "path": "members", "value": [{"value": u}]}]});
    app.send(Method::PATCH, &path, Some(&add), &stale).await.assert_error(412, None);
    app.send(Method::PUT, &path, Some(&group("Renamed")), &stale).await.assert_error(412, None);
    app.send(Method::DELETE, &path, None, &stale).await.assert_error(412, None);
    let got = read(&app, &path).await;
    assert_eq!(got["displayName"], "Guarded");
    assert_no_members(&got);
    assert_eq!(version(&got), 1);

    let current = [("If-Match", "W/\"1\"")];
    let r = ok(app.send(Method::PATCH, &path, Some(&add), &current).await);
    assert_eq!(member_ids(&r), vec![u.clone()]);
    assert_eq!(version(&r), 2);
    // The old tag is stale now.
    app.send(Method::DELETE, &path, None, &current).await.assert_error(412, None);
    // RFC 7644 §3.14: If-None-Match with the current tag on GET is 304; with an old one, 200.
    let r = app.send(Method::GET, &path, None, &[("If-None-Match", "W/\"2\"")]).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{}", r.text);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    let r = app.send(Method::GET, &path, None, &[("If-None-Match", "W/\"1\"")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = app.send(Method::DELETE, &path, None, &[("If-Match", "W/\"2\"")]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
}

// ---------------------------------------------------------------------- membership PATCH

// RFC 7644 §3.5.2.1 (add to a multi-valued attribute); idp-behaviour.md §2.2 #13: Entra adds many
// members in one capitalised `Add`, with `"$ref": null`.
#[tokio::test]
async fn add_many_members_in_one_op() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", Some("A")).await;
    let b = new_user(&app, "b", Some("B")).await;
    let c = new_user(&app, "c", Some("C")).await;
    let id = new_group(&app, "Team", &[]).await;
    let r = ok(patch(
        &app,
        &gpath(&id),
        json!([{"op": "Add", "path": "members", "value": [
            {"$ref": null, "value": a}, {"$ref": null, "value": b}, {"$ref": null, "value": c}
        ]}]),
    )
    .await);
    assert_eq!(member_ids(&r), [a.clone(), b.clone(), c.clone()]);
    assert_eq!(
        member(&r, &b),
        &json!({"value": b, "$ref": format!("{}/Users/{b}", app.base), "type": "User", "display": "B"})
    );
    assert_eq!(version(&r), 2);
    assert_eq!(read(&app, &gpath(&id)).await, r);
}

// RFC 7644 §3.10: attribute names may be URN-qualified; `urn:...:Group:members` is `members`
// (and idp-behaviour.md §2.4 #1: names and URNs match case-insensitively).
#[tokio::test]
async fn urn_qualified_members_path() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", None).await;
    let b = new_user(&app, "b", None).await;
    let id = new_group(&app, "Qualified", &[]).await;
    let r = ok(patch(
        &app,
        &gpath(&id),
        json!([{"op": "add", "path": format!("{GROUP_URN}:members"), "value": [{"value": a}, {"value": b}]}]),
    )
    .await);
    assert_eq!(member_ids(&r), [a.clone(), b.clone()]);
    let r = ok(patch(
        &app,
        &gpath(&id),
        json!([{"op": "remove", "path": format!("{}:Members[value eq \"{a}\"]", GROUP_URN.to_uppercase())}]),
    )
    .await);
    assert_eq!(member_ids(&r), [b]);
}

// RFC 7644 §3.5.2.1: "If the target location specifies a multi-valued attribute, a new value is
// added"; a value already there is not duplicated, and an add that changes nothing leaves the
// version (and lastModified) alone.
#[tokio::test]
async fn add_skips_duplicates_and_is_idempotent() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", None).await;
    let b = new_user(&app, "b", None).await;
    let id = new_group(&app, "Team", &[&a]).await;
    let ops = json!([{"op": "add", "path": "members", "value": [{"value": a}, {"value": b}, {"value": b}]}]);
    let r = ok(patch(&app, &gpath(&id), ops.clone()).await);
    assert_eq!(member_ids(&r), [a.clone(), b.clone()]);
    assert_eq!(version(&r), 2);
    let again = ok(patch(&app, &gpath(&id), ops).await);
    assert_eq!(member_ids(&again), [a.clone(), b.clone()]);
    assert_eq!(version(&again), 2, "a repeated add changes nothing");
    assert_eq!(again["meta"]["lastModified"], r["meta"]["lastModified"]);
    // A single member object (not a list) is added too.
    let c = new_user(&app, "c", None).await;
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "add", "path": "members", "value": {"value": c}}])).await);
    assert_eq!(member_ids(&r), [a, b, c]);
    assert_eq!(version(&r), 3);
}

// RFC 7644 §3.5.2.2: remove with a value filter removes the matching members only; Okta and Entra
// with `aadOptscim062020` send `members[value eq "<id>"]` (idp-behaviour.md §1.2 #12, §2.5).
#[tokio::test]
async fn remove_by_value_filter_removes_only_that_member() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", None).await;
    let b = new_user(&app, "b", None).await;
    let c = new_user(&app, "c", None).await;
    let id = new_group(&app, "Team", &[&a, &b, &c]).await;
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "remove", "path": format!("members[value eq \"{b}\"]")}])).await);
    assert_eq!(member_ids(&r), [a.clone(), c.clone()]);
    assert_eq!(version(&r), 2);
    // Entra's capitalised op.
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "Remove", "path": format!("members[value eq \"{a}\"]")}])).await);
    assert_eq!(member_ids(&r), vec![c.clone()]);
    assert_eq!(read(&app, &gpath(&id)).await["members"], r["members"]);
    // Removing a member that is not there changes nothing (Okta removes before it adds, #12).
    let again =
        ok(patch(&app, &gpath(&id), json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}])).await);
    assert_eq!(member_ids(&again), [c]);
    assert_eq!(version(&again), 3);
}

// idp-behaviour.md §2.2 #14, §2.4 #5, §6: Entra without the flag removes members with
// `path: "members"` and a value list; only the listed members go, never all (RFC 7644 §3.5.2.2
// leaves this shape undefined; wiping the group is the bug other servers had).
#[tokio::test]
async fn entra_remove_by_value_list_removes_only_those() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", None).await;
    let b = new_user(&app, "b", None).await;
    let c = new_user(&app, "c", None).await;
    let d = new_user(&app, "d", None).await;
    let id = new_group(&app, "Team", &[&a, &b, &c, &d]).await;
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "Remove", "path": "members", "value": [{"value": b}]}])).await);
    assert_eq!(member_ids(&r), [a.clone(), c.clone(), d.clone()]);
    let r = ok(patch(
        &app,
        &gpath(&id),
        json!([{"op": "Remove", "path": "members", "value": [{"value": a}, {"value": d}, {"value": "not-a-member"}]}]),
    )
    .await);
    assert_eq!(member_ids(&r), vec![c.clone()]);
    // An empty list removes nothing.
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "Remove", "path": "members", "value": []}])).await);
    assert_eq!(member_ids(&r), vec![c.clone()]);
    assert_eq!(member_ids(&read(&app, &gpath(&id)).await), [c]);
}

// RFC 7644 §3.5.2.2: "If the target location is a multi-valued attribute and no filter is
// specified, the attribute and all values are removed."
#[tokio::test]
async fn remove_members_without_value_removes_all() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", None).await;
    let b = new_user(&app, "b", None).await;
    let id = new_group(&app, "Team", &[&a, &b]).await;
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "remove", "path": "members"}])).await);
    assert_no_members(&r);
    assert_eq!(version(&r), 2);
    assert_eq!(r["displayName"], "Team");
    assert_no_members(&read(&app, &gpath(&id)).await);
    assert!(user_groups(&app, &a).await.is_empty());
}

// RFC 7644 §3.5.2.3: replace of a multi-valued attribute without a filter replaces all values
// (Okta's full push, idp-behaviour.md §1.2 #12; the Entra validator's "Add Member", §2.6).
#[tokio::test]
async fn replace_members_replaces_the_whole_list() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", None).await;
    let b = new_user(&app, "b", None).await;
    let c = new_user(&app, "c", Some("Cee")).await;
    let id = new_group(&app, "Team", &[&a, &b]).await;
    let r = ok(patch(
        &app,
        &gpath(&id),
        json!([{"op": "replace", "path": "members", "value": [{"value": c}, {"value": a}]}]),
    )
    .await);
    assert_eq!(member_ids(&r), [c.clone(), a.clone()]);
    assert_eq!(member(&r, &c)["display"], "Cee");
    assert_eq!(version(&r), 2);
    assert_eq!(read(&app, &gpath(&id)).await["members"], r["members"]);
    // Replacing with an empty list empties the group.
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "Replace", "path": "members", "value": []}])).await);
    assert_no_members(&r);
    assert_eq!(version(&r), 3);
}

// RFC 7644 §3.5.2: operations apply in order; idp-behaviour.md §1.2 #12: Okta removes and adds
// the same member in one request (members without `type`, with `display`).
#[tokio::test]
async fn okta_remove_then_add_in_one_request() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a@x", Some("Alice")).await;
    let b = new_user(&app, "b@x", None).await;
    let id = new_group(&app, "Okta Group", &[&b]).await;
    // `a` is not a member yet: the remove is a no-op, the add adds it.
    let ops = json!([
        {"op": "remove", "path": format!("members[value eq \"{a}\"]")},
        {"op": "add", "path": "members", "value": [{"value": a, "display": "a@x"}]}
    ]);
    let r = ok(patch(&app, &gpath(&id), ops.clone()).await);
    assert_eq!(member_ids(&r), [b.clone(), a.clone()]);
    assert_eq!(member(&r, &a)["display"], "a@x");
    assert_eq!(member(&r, &a)["type"], "User");
    // Again: `a` is removed and added back; it is still a member, once.
    let r = ok(patch(&app, &gpath(&id), ops).await);
    assert_eq!(member_ids(&r), [b.clone(), a.clone()]);
    // Remove one member and add another in one request.
    let c = new_user(&app, "c@x", None).await;
    let r = ok(patch(
        &app,
        &gpath(&id),
        json!([
            {"op": "remove", "path": format!("members[value eq \"{b}\"]")},
            {"op": "add", "path": "members", "value": [{"value": c, "display": "c@x"}]}
        ]),
    )
    .await);
    assert_eq!(member_ids(&r), [a, c]);
}

// idp-behaviour.md §1.2 #11, §1.3 #7: Okta renames with a path-less replace whose value carries
// the group's own `id` (RFC 7643 §3.1: id is readOnly; the same value is not a change).
#[tokio::test]
async fn okta_rename_with_id_inside_the_value() {
    let app = TestApp::spawn().await;
    let u = new_user(&app, "u", None).await;
    let id = new_group(&app, "Old name", &[&u]).await;
    let r =
        ok(patch(&app, &gpath(&id), json!([{"op": "replace", "value": {"id": id, "displayName": "New name"}}])).await);
    assert_eq!(r["id"], id.as_str());
    assert_eq!(r["displayName"], "New name");
    assert_eq!(member_ids(&r), vec![u.clone()]);
    assert_eq!(version(&r), 2);
    let got = read(&app, &gpath(&id)).await;
    assert_eq!(got["displayName"], "New name");
    assert_eq!(member_ids(&got), vec![u.clone()]);
    // The user's `groups` shows the new name.
    assert_eq!(user_groups(&app, &u).await[0]["display"], "New name");
}

// idp-behaviour.md §2.2 #15, §2.4 #1: Entra renames with a capitalised `Replace` and a path
// (RFC 7644 §3.5.2.3).
#[tokio::test]
async fn entra_capitalised_replace_of_display_name() {
    let app = TestApp::spawn().await;
    let u = new_user(&app, "u", None).await;
    let id = new_group(&app, "Sales", &[&u]).await;
    let r =
        ok(patch(&app, &gpath(&id), json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}])).await);
    assert_eq!(r["displayName"], "Sales EMEA");
    assert_eq!(member_ids(&r), [u]);
    assert_eq!(read(&app, &gpath(&id)).await["displayName"], "Sales EMEA");
}

// idp-behaviour.md §3 and §6: JumpCloud renames with a top-level (path-less) replace; the Entra
// validator's "Patch Group – Replace Attributes" replaces externalId the same way (§2.6).
// RFC 7644 §3.5.2.3: without a path the value is a set of attributes to replace.
#[tokio::test]
async fn top_level_replace_renames_and_keeps_members() {
    let app = TestApp::spawn().await;
    let u = new_user(&app, "u", None).await;
    let id = new_group(&app, "JC Group", &[&u]).await;
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "replace", "value": {"displayName": "JC Renamed"}}])).await);
    assert_eq!(r["displayName"], "JC Renamed");
    assert_eq!(member_ids(&r), vec![u.clone()]);
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "replace", "value": {"externalId": "ext-42"}}])).await);
    assert_eq!(r["externalId"], "ext-42");
    assert_eq!(r["displayName"], "JC Renamed");
    assert_eq!(member_ids(&r), [u]);
    assert_eq!(version(&r), 3);
}

// RFC 7644 §3.5.2.1/§3.5.2.3 without a path: a value object carrying `members` (Okta and JumpCloud,
// see service/groups.rs): replace sets the list, add appends to it.
#[tokio::test]
async fn pathless_value_object_with_members() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", None).await;
    let b = new_user(&app, "b", None).await;
    let c = new_user(&app, "c", None).await;
    let id = new_group(&app, "Team", &[&a]).await;
    let r = ok(patch(
        &app,
        &gpath(&id),
        json!([{"op": "replace", "value": {"displayName": "Team 2", "members": [{"value": b}]}}]),
    )
    .await);
    assert_eq!(r["displayName"], "Team 2");
    assert_eq!(member_ids(&r), vec![b.clone()]);
    let r =
        ok(patch(&app, &gpath(&id), json!([{"op": "add", "value": {"members": [{"value": c}, {"value": a}]}}])).await);
    assert_eq!(member_ids(&r), [b.clone(), c.clone(), a.clone()]);
    assert_eq!(r["displayName"], "Team 2");
    let got = read(&app, &gpath(&id)).await;
    assert_eq!(member_ids(&got), [b, c, a]);
    assert_eq!(version(&got), 3);
}

// idp-behaviour.md §2.6 (preview): "Patch Group – Multiple Ops on the same attribute": add then
// remove the same member in one request leaves it out (RFC 7644 §3.5.2: operations apply in order).
#[tokio::test]
async fn entra_validator_add_then_remove_same_member() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", None).await;
    let b = new_user(&app, "b", None).await;
    let id = new_group(&app, "Validator", &[&b]).await;
    let r = ok(patch(
        &app,
        &gpath(&id),
        json!([
            {"op": "add", "path": "members", "value": [{"value": a}]},
            {"op": "remove", "path": format!("members[value eq \"{a}\"]")}
        ]),
    )
    .await);
    assert_eq!(member_ids(&r), vec![b.clone()]);
    assert_eq!(member_ids(&read(&app, &gpath(&id)).await), [b]);
    assert!(user_groups(&app, &a).await.is_empty());
}

// RFC 7644 §3.5.2.2: remove with a complex value filter removes every member it matches
// (RFC 7644 §3.4.2.2 valuePath with `and`).
#[tokio::test]
async fn remove_with_a_complex_filter() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", Some("Alpha")).await;
    let b = new_user(&app, "b", Some("Beta")).await;
    let sub = new_group(&app, "Sub", &[]).await;
    let sub2 = new_group(&app, "Sub2", &[]).await;
    let id = new_group(&app, "Parent", &[&a, &sub, &b, &sub2]).await;
    let r = ok(patch(
        &app,
        &gpath(&id),
        json!([{"op": "remove", "path": format!("members[type eq \"User\" and value eq \"{a}\"]")}]),
    )
    .await);
    assert_eq!(member_ids(&r), [sub.clone(), b.clone(), sub2.clone()]);
    // The same filter with the wrong type matches nothing.
    let r = ok(patch(
        &app,
        &gpath(&id),
        json!([{"op": "remove", "path": format!("members[type eq \"Group\" and value eq \"{b}\"]")}]),
    )
    .await);
    assert_eq!(member_ids(&r), [sub.clone(), b.clone(), sub2.clone()]);
    assert_eq!(version(&r), 2);
    // A filter matching several members removes them all.
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "remove", "path": "members[type eq \"Group\"]"}])).await);
    assert_eq!(member_ids(&r), vec![b.clone()]);
    // A filter on the (looked-up) display.
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "remove", "path": "members[display eq \"Beta\"]"}])).await);
    assert_no_members(&r);
}

// RFC 7644 §3.5.2: "each operation ... is applied in sequence ... if any fails, no change is
// made" (atomic); the last op adds a member that does not exist: 400 invalidValue naming the id
// and the operation (scimbox's rule: members must exist).
#[tokio::test]
async fn patch_is_atomic_when_the_last_op_names_a_missing_member() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", None).await;
    let b = new_user(&app, "b", None).await;
    let id = new_group(&app, "Atomic", &[&a]).await;
    let before = read(&app, &gpath(&id)).await;
    let missing = "5d5a1f6e-0000-4000-8000-00000000dead";
    let r = patch(
        &app,
        &gpath(&id),
        json!([
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "remove", "path": format!("members[value eq \"{a}\"]")},
            {"op": "add", "path": "members", "value": [{"value": b}]},
            {"op": "add", "path": "members", "value": [{"value": missing}]}
        ]),
    )
    .await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains(missing), "{detail}");
    assert!(detail.contains("Operations[3]"), "{detail}");
    let after = read(&app, &gpath(&id)).await;
    assert_eq!(after, before, "nothing changed");
    assert_eq!(member_ids(&after), vec![a.clone()]);
    assert_eq!(version(&after), 1);
    assert!(user_groups(&app, &b).await.is_empty());
    // The same on POST and PUT: no group is created, nothing is replaced.
    let detail =
        app.post("/Groups", &group_with("Ghosts", &[&b, missing])).await.assert_error(400, Some("invalidValue"));
    assert!(detail.contains(missing), "{detail}");
    let names: Vec<Value> =
        assert_list(&app.get("/Groups").await, 1).iter().map(|g| g["displayName"].clone()).collect();
    assert_eq!(names, [json!("Atomic")]);
    let detail = app.put(&gpath(&id), &group_with("Atomic", &[missing])).await.assert_error(400, Some("invalidValue"));
    assert!(detail.contains(missing), "{detail}");
    assert_eq!(read(&app, &gpath(&id)).await, before);
}

// RFC 7644 §3.5.2 / §3.12: a path that cannot be applied is refused (invalidPath), not ignored;
// idp-behaviour.md §6 "silent drift": sub-attribute paths of members and filtered add/replace
// are answered 400 and change nothing.
#[tokio::test]
async fn member_sub_attribute_paths_are_refused() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", None).await;
    let id = new_group(&app, "Strict", &[&a]).await;
    let before = read(&app, &gpath(&id)).await;
    for op in [
        json!({"op": "replace", "path": format!("members[value eq \"{a}\"].display"), "value": "Renamed"}),
        json!({"op": "add", "path": format!("members[value eq \"{a}\"].display"), "value": "Renamed"}),
        json!({"op": "remove", "path": format!("members[value eq \"{a}\"].display")}),
        json!({"op": "replace", "path": "members.display", "value": "Renamed"}),
        json!({"op": "replace", "path": format!("members[value eq \"{a}\"]"), "value": {"value": a, "display": "x"}}),
    ] {
        let r = patch(&app, &gpath(&id), json!([op])).await;
        let detail = r.assert_error(400, Some("invalidPath"));
        assert!(detail.contains("Operations[0]"), "{op}: {detail}");
    }
    assert_eq!(read(&app, &gpath(&id)).await, before);
}

// RFC 7643 §4.2: `value` identifies the member; a member without it is refused (invalidValue)
// on POST, PUT and PATCH, rather than stored as an empty member.
#[tokio::test]
async fn members_without_value_are_refused() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", None).await;
    let no_value = json!([{"display": "Nobody", "type": "User"}]);
    let mut body = group("Empty");
    body["members"] = no_value.clone();
    let detail = app.post("/Groups", &body).await.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("value"), "{detail}");
    assert_list(&app.get("/Groups").await, 0);
    let id = new_group(&app, "Real", &[&a]).await;
    let before = read(&app, &gpath(&id)).await;
    let mut put = group("Real");
    put["members"] = no_value.clone();
    app.put(&gpath(&id), &put).await.assert_error(400, Some("invalidValue"));
    for op in ["add", "replace"] {
        let r = patch(&app, &gpath(&id), json!([{"op": op, "path": "members", "value": no_value}])).await;
        r.assert_error(400, Some("invalidValue"));
    }
    assert_eq!(read(&app, &gpath(&id)).await, before);
}

// RFC 7643 §4.2: members.type is "User" or "Group"; scimbox refuses a type that contradicts the
// member's real type (a value for the wrong resource type).
#[tokio::test]
async fn member_type_contradicting_the_real_type_is_refused() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", None).await;
    let g = new_group(&app, "Inner", &[]).await;
    let id = new_group(&app, "Outer", &[]).await;
    let r =
        patch(&app, &gpath(&id), json!([{"op": "add", "path": "members", "value": [{"value": a, "type": "Group"}]}]))
            .await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains(&a), "{detail}");
    patch(&app, &gpath(&id), json!([{"op": "add", "path": "members", "value": [{"value": g, "type": "User"}]}]))
        .await
        .assert_error(400, Some("invalidValue"));
    assert_no_members(&read(&app, &gpath(&id)).await);
}

// ---------------------------------------------------------------------------- nested groups

// RFC 7643 §4.2 (members may be Groups) and §4.1.2 (User `groups`: "direct" or "indirect"
// membership, with $ref and display).
#[tokio::test]
async fn nested_groups_and_the_users_groups() {
    let app = TestApp::spawn().await;
    let u = new_user(&app, "nested", Some("Nes Ted")).await;
    let eng = new_group(&app, "Engineering", &[&u]).await;
    let all = new_group(&app, "Everyone", &[]).await;
    let r = ok(patch(&app, &gpath(&all), json!([{"op": "add", "path": "members", "value": [{"value": eng}]}])).await);
    assert_eq!(
        r["members"],
        json!([{"value": eng, "$ref": format!("{}/Groups/{eng}", app.base), "type": "Group", "display": "Engineering"}])
    );
    let groups = user_groups(&app, &u).await;
    assert_eq!(
        groups,
        [
            json!({"value": eng, "$ref": format!("{}/Groups/{eng}", app.base), "display": "Engineering", "type": "direct"}),
            json!({"value": all, "$ref": format!("{}/Groups/{all}", app.base), "display": "Everyone", "type": "indirect"}),
        ]
    );
    // Made a direct member of the parent too, the membership is direct.
    ok(patch(&app, &gpath(&all), json!([{"op": "add", "path": "members", "value": [{"value": u}]}])).await);
    let groups = user_groups(&app, &u).await;
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert!(groups.iter().all(|g| g["type"] == "direct"), "{groups:?}");
    // The nested member's display follows a rename of the child group.
    ok(patch(&app, &gpath(&eng), json!([{"op": "replace", "path": "displayName", "value": "R&D"}])).await);
    assert_eq!(member(&read(&app, &gpath(&all)).await, &eng)["display"], "R&D");
    // The user is listed in `/Users` with its groups too.
    let listed = app.filter("userName eq \"nested\"").await;
    assert_eq!(listed.body["Resources"][0]["groups"].as_array().map(Vec::len), Some(2), "{}", listed.text);
}

// RFC 7643 §4.2 allows groups in groups; a cycle (A in B, B in A) must not hang reads, and the
// user's groups list both.
#[tokio::test]
async fn a_membership_cycle_does_not_hang() {
    let app = TestApp::spawn().await;
    let u = new_user(&app, "cyclist", None).await;
    let a = new_group(&app, "A", &[&u]).await;
    let b = new_group(&app, "B", &[&a]).await;
    let r = ok(patch(&app, &gpath(&a), json!([{"op": "add", "path": "members", "value": [{"value": b}]}])).await);
    assert_eq!(member_ids(&r), [u.clone(), b.clone()]);
    let reads = async {
        let groups = user_groups(&app, &u).await;
        let ga = read(&app, &gpath(&a)).await;
        let gb = read(&app, &gpath(&b)).await;
        let all = app.get("/Groups").await;
        let of_a = list_groups(&app, &[("filter", &format!("members.value eq \"{a}\""))]).await;
        (groups, ga, gb, all, of_a)
    };
    let (groups, ga, gb, all, of_a) =
        tokio::time::timeout(std::time::Duration::from_secs(20), reads).await.expect("reads finish despite the cycle");
    let summary: Vec<(Value, Value)> = groups.iter().map(|g| (g["value"].clone(), g["type"].clone())).collect();
    assert_eq!(summary, [(json!(a), json!("direct")), (json!(b), json!("indirect"))]);
    assert_eq!(member_ids(&ga), [u.clone(), b.clone()]);
    assert_eq!(member_ids(&gb), vec![a.clone()]);
    assert_list(&all, 2);
    assert_eq!(ids(&of_a.body), vec![b.clone()]);
    // The group's own `groups` are not a User attribute; the groups still delete cleanly.
    assert_eq!(app.delete(&gpath(&a)).await.status, StatusCode::NO_CONTENT);
    assert_no_members(&read(&app, &gpath(&b)).await);
    assert!(user_groups(&app, &u).await.is_empty());
}

// scimbox's rule (service/groups.rs): a group cannot be its own member; 400 invalidValue.
#[tokio::test]
async fn a_group_cannot_be_its_own_member() {
    let app = TestApp::spawn().await;
    let id = new_group(&app, "Narcissus", &[]).await;
    for ops in [
        json!([{"op": "add", "path": "members", "value": [{"value": id}]}]),
        json!([{"op": "replace", "path": "members", "value": [{"value": id, "type": "Group"}]}]),
        json!([{"op": "add", "value": {"members": [{"value": id}]}}]),
    ] {
        let detail = patch(&app, &gpath(&id), ops.clone()).await.assert_error(400, Some("invalidValue"));
        assert!(detail.contains("own member"), "{ops}: {detail}");
    }
    let detail = app.put(&gpath(&id), &group_with("Narcissus", &[&id])).await.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("own member"), "{detail}");
    let got = read(&app, &gpath(&id)).await;
    assert_no_members(&got);
    assert_eq!(version(&got), 1);
}

// --------------------------------------------------------------------------------- cascades

// RFC 7644 §3.6 (a deleted resource is gone) and scimbox's rule (service/users.rs): deleting a
// user removes it from every group, bumping those groups' versions.
#[tokio::test]
async fn deleting_a_user_removes_it_from_every_group() {
    let app = TestApp::spawn().await;
    let gone = new_user(&app, "gone", None).await;
    let stay = new_user(&app, "stay", None).await;
    let g1 = new_group(&app, "G1", &[&gone, &stay]).await;
    let g2 = new_group(&app, "G2", &[&stay, &gone]).await;
    let g3 = new_group(&app, "G3", &[&stay]).await;
    let r = app.delete(&format!("/Users/{gone}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    for g in [&g1, &g2] {
        let got = read(&app, &gpath(g)).await;
        assert_eq!(member_ids(&got), vec![stay.clone()], "{got}");
        assert_eq!(version(&got), 2, "membership change bumps the version: {got}");
    }
    assert_eq!(version(&read(&app, &gpath(&g3)).await), 1, "an unrelated group is untouched");
    let found = list_groups(&app, &[("filter", &format!("members.value eq \"{gone}\""))]).await;
    assert_list(&found, 0);
    // The user's id can no longer be added.
    patch(&app, &gpath(&g3), json!([{"op": "add", "path": "members", "value": [{"value": gone}]}]))
        .await
        .assert_error(400, Some("invalidValue"));
}

// Same rule for groups (service/groups.rs): a deleted group leaves its parents, and the users
// that reached the parents through it lose those `groups` (RFC 7643 §4.1.2).
#[tokio::test]
async fn deleting_a_group_removes_it_from_parents_and_users() {
    let app = TestApp::spawn().await;
    let u = new_user(&app, "u", None).await;
    let v = new_user(&app, "v", None).await;
    let child = new_group(&app, "Child", &[&u]).await;
    let parent = new_group(&app, "Parent", &[&child, &v]).await;
    assert_eq!(user_groups(&app, &u).await.len(), 2);
    let r = app.delete(&gpath(&child)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let got = read(&app, &gpath(&parent)).await;
    assert_eq!(member_ids(&got), vec![v.clone()]);
    assert_eq!(version(&got), 2);
    assert!(user_groups(&app, &u).await.is_empty());
    let vg = user_groups(&app, &v).await;
    assert_eq!(vg.len(), 1);
    assert_eq!(vg[0]["value"], parent.as_str());
    // The users themselves are untouched.
    assert_eq!(read(&app, &format!("/Users/{u}")).await["userName"], "u");
}

// ------------------------------------------------------------------------------------ reads

// RFC 7644 §3.4.2.5 / §3.9: `excludedAttributes=members` leaves members out of GET and list
// responses (Entra, idp-behaviour.md §2.2 #10/#12, §2.4 #8).
#[tokio::test]
async fn excluded_members_on_get_and_list() {
    let app = TestApp::spawn().await;
    let u = new_user(&app, "u", None).await;
    let id = new_group(&app, "Sales", &[&u]).await;
    new_group(&app, "Support", &[&u]).await;
    let got = read(&app, &format!("/Groups/{id}?excludedAttributes=members")).await;
    assert_eq!(keys(&got), strs(&["displayName", "id", "meta", "schemas"]));
    assert_eq!(got["displayName"], "Sales");
    let list = app.get("/Groups?excludedAttributes=members").await;
    let res = assert_list(&list, 2);
    for g in &res {
        assert!(g.get("members").is_none(), "{g}");
        assert!(g["displayName"].is_string(), "{g}");
    }
    // Without the parameter a read carries them.
    assert_eq!(member_ids(&read(&app, &gpath(&id)).await), vec![u.clone()]);
    assert_eq!(member_ids(&assert_list(&app.get("/Groups").await, 2)[0]), [u]);
}

// RFC 7644 §3.4.2.5: `attributes` overrides the default set; `id` (returned "always") and
// `schemas` stay.
#[tokio::test]
async fn attributes_display_name_only() {
    let app = TestApp::spawn().await;
    let u = new_user(&app, "u", None).await;
    let body = json!({"schemas": [GROUP_URN], "displayName": "Only", "externalId": "e", "members": [{"value": u}]});
    let id = id_of(&create_group(&app, &body).await);
    let r = app.get(&format!("/Groups/{id}?attributes=displayName")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({"schemas": [GROUP_URN], "id": id, "displayName": "Only"}));
    let list = list_groups(&app, &[("attributes", "displayName")]).await;
    let res = assert_list(&list, 1);
    assert_eq!(res[0]["displayName"], "Only");
    assert!(res[0].get("members").is_none(), "{}", list.text);
}

// RFC 7644 §3.5.2 / §3.9: a PATCH response follows `attributes`; `attributes=members` returns the
// members (and id), nothing else asked for.
#[tokio::test]
async fn attributes_members_on_a_patch_response() {
    let app = TestApp::spawn().await;
    let a = new_user(&app, "a", None).await;
    let b = new_user(&app, "b", None).await;
    let id = new_group(&app, "Projected", &[&a]).await;
    let r = app
        .patch(
            &format!("/Groups/{id}?attributes=members"),
            &json!({"schemas": [PATCH_URN], "Operations": [{"op": "add", "path": "members", "value": [{"value": b}]}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(keys(&r.body), strs(&["id", "members", "schemas"]));
    assert_eq!(member_ids(&r.body), [a.clone(), b.clone()]);
    assert_eq!(member(&r.body, &b)["$ref"], format!("{}/Users/{b}", app.base));
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.header("etag"), Some("W/\"2\""));
}

// idp-behaviour.md §2.2 #10: Entra matches a group with
// `GET /Groups?excludedAttributes=members&filter=displayName eq "Sales"`; displayName is compared
// case-insensitively (RFC 7643 §2.2 caseExact false; the validator's different-case test, §2.6).
// §2.2 #1: its test connection filters on a random GUID and needs 200 with an empty list.
#[tokio::test]
async fn entra_group_match_and_test_connection() {
    let app = TestApp::spawn().await;
    let u = new_user(&app, "u", None).await;
    let sales = new_group(&app, "Sales", &[&u]).await;
    new_group(&app, "Sales EMEA", &[&u]).await;
    for value in ["Sales", "sales", "SALES"] {
        let r =
            list_groups(&app, &[("excludedAttributes", "members"), ("filter", &format!("displayName eq \"{value}\""))])
                .await;
        let res = assert_list(&r, 1);
        assert_eq!(res[0]["id"], sales.as_str());
        assert_eq!(res[0]["displayName"], "Sales");
        assert!(res[0].get("members").is_none(), "{}", r.text);
    }
    // Entra may match on externalId (its objectId, idp-behaviour.md §2.3) instead.
    let by_ext = json!({"schemas": [GROUP_URN], "displayName": "Ops", "externalId": "0b4c-objectId"});
    let ops = id_of(&create_group(&app, &by_ext).await);
    let r =
        list_groups(&app, &[("excludedAttributes", "members"), ("filter", "externalId eq \"0b4c-objectId\"")]).await;
    assert_list(&r, 1);
    assert_eq!(ids(&r.body), [ops]);
    // Entra's `+` for spaces (idp-behaviour.md §2.2 #3).
    let r = app.get("/Groups?excludedAttributes=members&filter=displayName+eq+%22Sales%22").await;
    assert_eq!(ids(&r.body), vec![sales.clone()]);
    // A non-existing group and the test connection's random GUID: 200, empty.
    for value in ["Nope", "3f2a9c1e-5b7d-4e8f-a0b1-c2d3e4f5a6b7"] {
        let r =
            list_groups(&app, &[("excludedAttributes", "members"), ("filter", &format!("displayName eq \"{value}\""))])
                .await;
        assert_list(&r, 0);
        assert_eq!(r.body["Resources"], json!([]));
    }
}

// RFC 7644 §3.4.2.2: `members.value eq` and the valuePath `members[value eq ...]` find the groups
// a member belongs to.
#[tokio::test]
async fn filter_by_member_finds_a_users_groups() {
    let app = TestApp::spawn().await;
    let u = new_user(&app, "u", None).await;
    let v = new_user(&app, "v", None).await;
    let g1 = new_group(&app, "G1", &[&u, &v]).await;
    new_group(&app, "G2", &[&v]).await;
    let g3 = new_group(&app, "G3", &[&u]).await;
    for filter in [
        format!("members.value eq \"{u}\""),
        format!("members[value eq \"{u}\"]"),
        format!("members[value eq \"{u}\"] and displayName sw \"G\""),
    ] {
        let r = list_groups(&app, &[("filter", &filter)]).await;
        let res = assert_list(&r, 2);
        assert_eq!(ids(&r.body), [g1.clone(), g3.clone()], "{filter}");
        assert!(member_ids(&res[0]).contains(&u), "{filter}: {}", r.text);
    }
    // Not an indexed equality: evaluated on every group.
    let r = list_groups(&app, &[("filter", &format!("members[value eq \"{u}\"] or displayName eq \"G2\""))]).await;
    assert_list(&r, 3);
    let r = list_groups(&app, &[("filter", &format!("not (members[value eq \"{u}\"])"))]).await;
    assert_list(&r, 1);
    assert_eq!(r.body["Resources"][0]["displayName"], "G2");
    let r =
        list_groups(&app, &[("filter", &format!("members.value eq \"{u}\"")), ("excludedAttributes", "members")]).await;
    let res = assert_list(&r, 2);
    assert!(res.iter().all(|g| g.get("members").is_none()), "{}", r.text);
    assert_list(&list_groups(&app, &[("filter", "members.value eq \"nobody\"")]).await, 0);
}

// RFC 7644 §3.4.2.3: sortBy displayName, ascending by default, descending on request;
// case-insensitive (caseExact false).
#[tokio::test]
async fn sort_by_display_name() {
    let app = TestApp::spawn().await;
    for name in ["charlie", "Alpha", "delta", "Bravo"] {
        new_group(&app, name, &[]).await;
    }
    let names = |r: &Resp| -> Vec<String> {
        r.body["Resources"].as_array().unwrap().iter().map(|g| g["displayName"].as_str().unwrap().to_owned()).collect()
    };
    let r = list_groups(&app, &[("sortBy", "displayName")]).await;
    assert_list(&r, 4);
    assert_eq!(names(&r), strs(&["Alpha", "Bravo", "charlie", "delta"]));
    let r = list_groups(&app, &[("sortBy", "displayName"), ("sortOrder", "descending")]).await;
    assert_eq!(names(&r), strs(&["delta", "charlie", "Bravo", "Alpha"]));
    let r = list_groups(&app, &[("sortBy", "displayName"), ("startIndex", "2"), ("count", "2")]).await;
    assert_list(&r, 4);
    assert_eq!(names(&r), strs(&["Bravo", "charlie"]));
}

// RFC 7644 §3.4.2.4: startIndex (1-based) and count page a stable order; totalResults counts all.
#[tokio::test]
async fn paging() {
    let app = TestApp::spawn().await;
    let mut all = Vec::new();
    for i in 0..5 {
        all.push(new_group(&app, &format!("Page {i}"), &[]).await);
    }
    let r = list_groups(&app, &[("startIndex", "2"), ("count", "2")]).await;
    assert_list(&r, 5);
    assert_eq!(r.body["startIndex"], 2);
    assert_eq!(ids(&r.body), all[1..3].to_vec());
    let r = list_groups(&app, &[("startIndex", "5"), ("count", "10")]).await;
    assert_list(&r, 5);
    assert_eq!(ids(&r.body), all[4..].to_vec());
    let r = list_groups(&app, &[("startIndex", "9")]).await;
    assert_list(&r, 5);
    assert_eq!(r.body["Resources"], json!([]));
    let r = list_groups(&app, &[("count", "0")]).await;
    assert_list(&r, 5);
    assert_eq!(r.body["Resources"], json!([]));
    // Okta pages by 100 (idp-behaviour.md §1.2 #5).
    let r = list_groups(&app, &[("startIndex", "1"), ("count", "100")]).await;
    assert_list(&r, 5);
    assert_eq!(ids(&r.body), all);
}

// RFC 7644 §3.4.3: POST /Groups/.search takes a SearchRequest body.
#[tokio::test]
async fn post_groups_search() {
    let app = TestApp::spawn().await;
    let u = new_user(&app, "u", None).await;
    let eng = new_group(&app, "Engineering", &[&u]).await;
    let eng2 = new_group(&app, "Engineers Guild", &[]).await;
    new_group(&app, "Sales", &[&u]).await;
    let body = json!({
        "schemas": [SEARCH_URN],
        "filter": "displayName sw \"Eng\"",
        "attributes": ["displayName"],
        "sortBy": "displayName",
        "sortOrder": "descending",
        "startIndex": 1,
        "count": 10
    });
    let r = app.post("/Groups/.search", &body).await;
    let res = assert_list(&r, 2);
    assert_eq!(ids(&r.body), [eng2, eng]);
    assert_eq!(res[0]["displayName"], "Engineers Guild");
    assert!(res.iter().all(|g| g.get("members").is_none()), "{}", r.text);
    let r = app
        .post("/Groups/.search", &json!({"schemas": [SEARCH_URN], "filter": format!("members.value eq \"{u}\"")}))
        .await;
    assert_list(&r, 2);
}

// RFC 7644 §3.4.3: POST /.search at the root searches every resource type; each resource says
// its type in `schemas`, and totalResults counts them all.
#[tokio::test]
async fn root_search_returns_users_and_groups() {
    let app = TestApp::spawn().await;
    let u1 = new_user(&app, "one", None).await;
    let u2 = new_user(&app, "two", None).await;
    let g1 = new_group(&app, "First", &[&u1]).await;
    let g2 = new_group(&app, "Second", &[]).await;
    let r = app.post("/.search", &json!({"schemas": [SEARCH_URN]})).await;
    let res = assert_list(&r, 4);
    assert_eq!(ids(&r.body), [u1.clone(), u2.clone(), g1.clone(), g2.clone()]);
    let schemas: Vec<Value> = res.iter().map(|x| x["schemas"].clone()).collect();
    assert_eq!(schemas, [json!([USER_URN]), json!([USER_URN]), json!([GROUP_URN]), json!([GROUP_URN])]);
    assert_eq!(res[0]["meta"]["resourceType"], "User");
    assert_eq!(res[2]["meta"]["resourceType"], "Group");
    assert_eq!(member_ids(&res[2]), vec![u1.clone()]);
    // Paged as one list.
    let r = app.post("/.search", &json!({"schemas": [SEARCH_URN], "startIndex": 2, "count": 2})).await;
    assert_list(&r, 4);
    assert_eq!(ids(&r.body), [u2.clone(), g1.clone()]);
    // A filter both types know (displayName) applies to each.
    let named = id_of(&app.create_user(&json!({"userName": "three", "displayName": "First"})).await);
    let r = app.post("/.search", &json!({"schemas": [SEARCH_URN], "filter": "displayName eq \"first\""})).await;
    let res = assert_list(&r, 2);
    assert_eq!(ids(&r.body), [named, g1]);
    assert_eq!(res[0]["schemas"], json!([USER_URN]));
    assert_eq!(res[1]["schemas"], json!([GROUP_URN]));
    // A filter only Users know (userName) finds users only.
    let r = app.post("/.search", &json!({"schemas": [SEARCH_URN], "filter": "userName eq \"two\""})).await;
    assert_list(&r, 1);
    assert_eq!(ids(&r.body), [u2]);
}

// ---------------------------------------------------------------------------- large groups

// scimbox's rule (service/groups.rs, INLINE_MEMBERS = 1000): write responses (RFC 7644 §3.3,
// §3.5.1, §3.5.2 allow a response without every attribute) carry members only for groups of at
// most 1000 members unless `attributes` asks for them; GET (RFC 7644 §3.4.1) returns them all.
#[tokio::test]
async fn write_responses_omit_members_of_groups_over_1000() {
    let app = TestApp::spawn().await;
    let users = seed_users_in_db(&app, "bulk", 1001).await;
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();

    // Exactly 1000: inline.
    let r = app.post("/Groups", &group_with("Thousand", &refs[..1000])).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(member_ids(&r.body).len(), 1000);

    // 1001: omitted from the POST response, but stored.
    let r = app.post("/Groups", &group_with("Big", &refs)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.body.get("members").is_none(), "members inlined for 1001");
    assert_eq!(r.body["displayName"], "Big");
    let id = id_of(&r.body);
    let got = read(&app, &gpath(&id)).await;
    assert_eq!(member_ids(&got), users);
    assert_eq!(member(&got, &users[1000])["$ref"], format!("{}/Users/{}", app.base, users[1000]));

    // PATCH: omitted, unless `attributes=members`.
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "replace", "path": "displayName", "value": "Bigger"}])).await);
    assert!(r.get("members").is_none(), "members inlined on PATCH");
    assert_eq!(r["displayName"], "Bigger");
    let r = app
        .patch(
            &format!("/Groups/{id}?attributes=members"),
            &json!({"schemas": [PATCH_URN], "Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", users[0])}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(member_ids(&r.body), users[1..].to_vec());
    // Now 1000 members: inline again.
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "replace", "path": "displayName", "value": "Big again"}])).await);
    assert_eq!(member_ids(&r).len(), 1000);

    // PUT without members keeps them (and does not inline them once over 1000).
    ok(patch(&app, &gpath(&id), json!([{"op": "add", "path": "members", "value": [{"value": users[0]}]}])).await);
    let r = ok(app.put(&gpath(&id), &group("Big PUT")).await);
    assert!(r.get("members").is_none(), "members inlined on PUT");
    let r = app.put(&format!("/Groups/{id}?attributes=members,displayName"), &group("Big PUT 2")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(member_ids(&r.body).len(), 1001);
    assert_eq!(r.body["displayName"], "Big PUT 2");
    // Deleting a member user (a cascade) brings the group back to 1000: inline again.
    let r = app.delete(&format!("/Users/{}", users[1])).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = ok(patch(&app, &gpath(&id), json!([{"op": "replace", "path": "displayName", "value": "Big 1000"}])).await);
    assert_eq!(member_ids(&r).len(), 1000);
    assert!(!member_ids(&r).contains(&users[1]));
    // excludedAttributes on a read never carries them.
    let got = read(&app, &format!("/Groups/{id}?excludedAttributes=members")).await;
    assert!(got.get("members").is_none());
}
