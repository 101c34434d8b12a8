//! OneLogin and JumpCloud end to end (idp-behaviour.md §3). OneLogin's bodies are whatever the
//! admin's "SCIM JSON Template" renders: string booleans, `""` for unset parameters, explicit
//! `null`s, the SCIM 1.1 core URN from old templates, `manager.managerId`, `emails` as one object.
//! JumpCloud's Test Connection creates and deletes a user and a group; it renames groups with a
//! top-level replace and sends member PATCHes in Entra's style. Neither sends a `User-Agent` here
//! (OneLogin may send none, §6).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const SCIM11_CORE_URN: &str = "urn:scim:schemas:core:1.0";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENT_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

// ------------------------------------------------------------------------------------- the client

/// A bare SCIM client: `Authorization: Bearer <token>`, `Content-Type: application/json` on
/// bodies, nothing else.
struct Idp<'a> {
    app: &'a TestApp,
}

impl Idp<'_> {
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut req = self
            .app
            .client
            .request(method, format!("{}{path}", self.app.base))
            .header("Authorization", format!("Bearer {}", self.app.token));
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
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
    async fn patch_ops(&self, path: &str, ops: Value) -> Resp {
        self.send(Method::PATCH, path, Some(&json!({"schemas": [PATCH_URN], "Operations": ops}))).await
    }
    async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }
}

// ------------------------------------------------------------------------------------- helpers

#[track_caller]
fn assert_list(r: &Resp, total: u64) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["schemas"], json!([LIST_URN]), "{}", r.text);
    assert_eq!(r.body["totalResults"].as_u64(), Some(total), "{}", r.text);
    assert!(r.body["Resources"].is_array(), "{}", r.text);
}

#[track_caller]
fn assert_patched(r: &Resp) {
    assert!(matches!(r.status, StatusCode::OK | StatusCode::NO_CONTENT), "PATCH answered {}: {}", r.status, r.text);
}

#[track_caller]
fn created(r: &Resp) -> String {
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().filter(|s| !s.is_empty()).expect("a non-empty id").to_owned()
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(|a| a.iter().map(|m| m["value"].as_str().unwrap_or("").to_owned()).collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// A OneLogin template rendered for one user: the old SCIM 1.1 URN, `active` as a string, `""`
/// for parameters the user has no value for, an explicit `null`, an email without `primary`.
fn onelogin_body(user_name: &str, active: &str, title: &str, department: &str) -> Value {
    json!({
        "schemas": [SCIM11_CORE_URN],
        "userName": user_name,
        "externalId": "118765432",
        "name": {"givenName": "Olga", "familyName": "Login", "middleName": ""},
        "displayName": "Olga Login",
        "emails": [{"value": user_name, "type": "work"}],
        "active": active,
        "title": title,
        "nickName": null,
        ENT_URN: {"department": department, "employeeNumber": "E-77"}
    })
}

// ------------------------------------------------------------------------------------ OneLogin

/// A OneLogin user from create to deactivation, in template-rendered bodies.
#[tokio::test]
async fn onelogin_user_lifecycle() {
    let app = TestApp::spawn().await;
    let ol = Idp { app: &app };
    let name = "olga@onelogin.example";

    // Create: the 1.1 URN is ignored; "true" is a boolean; "" and null are unset.
    let r = ol.post("/Users", &onelogin_body(name, "true", "", "")).await;
    let id = created(&r);
    let u = &r.body;
    assert_eq!(u["active"], true, "\"true\" is a boolean: {u}");
    assert_eq!(u["userName"], name);
    assert_eq!(u["emails"][0]["value"], name, "an email without primary is kept: {u}");
    for absent in ["title", "nickName"] {
        assert!(u.get(absent).is_none(), "{absent} is unset: {u}");
    }
    assert!(u["name"].get("middleName").is_none(), "\"\" is unset: {u}");
    assert_eq!(u[ENT_URN]["employeeNumber"], "E-77");
    assert!(u[ENT_URN].get("department").is_none(), "{u}");
    assert_eq!(u["schemas"][0], USER_URN, "scimbox answers in SCIM 2.0: {u}");
    let upath = format!("/Users/{id}");

    // Lookup by userName.
    let r = ol.get(&format!("/Users?filter=userName%20eq%20%22{}%22", name.replace('@', "%40"))).await;
    assert_list(&r, 1);

    // A PUT of the template with values now set, then with them emptied again: "" unsets.
    let r = ol.put(&upath, &onelogin_body(name, "true", "Analyst", "Finance")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["title"], "Analyst");
    assert_eq!(r.body[ENT_URN]["department"], "Finance");
    let r = ol.put(&upath, &onelogin_body(name, "true", "", "")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body.get("title").is_none(), "{}", r.text);
    assert!(r.body[ENT_URN].get("department").is_none(), "{}", r.text);

    // PATCH replace with `emails` as one object, not a list (django-scim2: "OneLogin sends a
    // dict despite the spec").
    let ops = json!([{"op": "replace", "path": "emails", "value": {"value": "olga.login@onelogin.example", "type": "work", "primary": "true"}}]);
    assert_patched(&ol.patch_ops(&upath, ops).await);
    let u = ol.get(&upath).await.body;
    assert_eq!(u["emails"], json!([{"value": "olga.login@onelogin.example", "type": "work", "primary": true}]), "{u}");
    // The same, path-less.
    let ops = json!([{"op": "replace", "value": {"emails": {"value": name, "type": "work"}, "title": "Lead", "nickName": null}}]);
    assert_patched(&ol.patch_ops(&upath, ops).await);
    let u = ol.get(&upath).await.body;
    assert_eq!(u["emails"], json!([{"value": name, "type": "work"}]), "{u}");
    assert_eq!(u["title"], "Lead");

    // `""` and `null` in a PATCH unset too.
    let ops = json!([{"op": "replace", "path": "title", "value": ""}, {"op": "replace", "path": "displayName", "value": null}]);
    assert_patched(&ol.patch_ops(&upath, ops).await);
    let u = ol.get(&upath).await.body;
    assert!(u.get("title").is_none() && u.get("displayName").is_none(), "{u}");

    // Deactivation with a string boolean, by PUT of the template and by PATCH.
    let r = ol.put(&upath, &onelogin_body(name, "false", "", "")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["active"], false, "\"false\" deactivates: {}", r.text);
    assert_patched(&ol.patch_ops(&upath, json!([{"op": "replace", "path": "active", "value": "true"}])).await);
    assert_eq!(ol.get(&upath).await.body["active"], true);
    assert_patched(&ol.patch_ops(&upath, json!([{"op": "replace", "value": {"active": "False"}}])).await);
    let r = ol.get(&upath).await;
    assert_eq!(r.status, StatusCode::OK, "a deactivated user is kept: {}", r.text);
    assert_eq!(r.body["active"], false);

    // A string that is not a boolean is refused, naming the attribute (never read as true).
    let r = ol.put(&upath, &onelogin_body(name, "yes", "", "")).await;
    let detail = r.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("active"), "{detail}");
    assert_eq!(ol.get(&upath).await.body["active"], false);
}

/// A template line for a parameter the user has no value for renders an element whose `value` is
/// `""` (`"phoneNumbers":[{"value":"{$user.phone}","type":"mobile"}]`): `""` means unset (§3), so
/// no value is stored and no element without a value is left behind, on POST, PUT and PATCH.
#[tokio::test]
async fn onelogin_empty_template_values_leave_no_empty_elements() {
    let app = TestApp::spawn().await;
    let ol = Idp { app: &app };
    let mut body = onelogin_body("empty@onelogin.example", "true", "", "");
    body["phoneNumbers"] = json!([{"value": "", "type": "mobile"}, {"value": "+1 555 0100", "type": "work"}]);
    body["emails"] = json!([{"value": "empty@onelogin.example", "type": "work"}, {"value": "", "type": "home"}]);
    let r = ol.post("/Users", &body).await;
    let id = created(&r);
    assert_eq!(r.body["phoneNumbers"], json!([{"value": "+1 555 0100", "type": "work"}]), "{}", r.text);
    assert_eq!(r.body["emails"], json!([{"value": "empty@onelogin.example", "type": "work"}]), "{}", r.text);
    let upath = format!("/Users/{id}");

    body["phoneNumbers"] = json!([{"value": "", "type": "mobile"}]);
    let r = ol.put(&upath, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body.get("phoneNumbers").is_none(), "{}", r.text);

    let ops = json!([{"op": "replace", "path": "phoneNumbers", "value": [{"value": "", "type": "mobile"}]}]);
    assert_patched(&ol.patch_ops(&upath, ops).await);
    let u = ol.get(&upath).await.body;
    assert!(u.get("phoneNumbers").is_none(), "{u}");
}

/// An old template's enterprise manager: SCIM 1.1 called its id `managerId` (OneLogin, §3).
/// scimbox takes it as `manager.value`, for POST, PUT and PATCH alike.
#[tokio::test]
async fn onelogin_manager_managerid_is_the_manager_value() {
    let app = TestApp::spawn().await;
    let ol = Idp { app: &app };
    let mgr = created(&ol.post("/Users", &onelogin_body("boss@onelogin.example", "true", "", "")).await);

    let mut body = onelogin_body("report@onelogin.example", "true", "", "");
    body[ENT_URN]["manager"] = json!({"managerId": mgr});
    let r = ol.post("/Users", &body).await;
    let id = created(&r);
    assert_eq!(r.body[ENT_URN]["manager"]["value"], mgr.as_str(), "{}", r.text);
    let upath = format!("/Users/{id}");

    let r = ol.put(&upath, &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body[ENT_URN]["manager"]["value"], mgr.as_str(), "{}", r.text);

    let ops = json!([{"op": "replace", "path": format!("{ENT_URN}:manager"), "value": {"managerId": "someone-else"}}]);
    assert_patched(&ol.patch_ops(&upath, ops).await);
    assert_eq!(ol.get(&upath).await.body[ENT_URN]["manager"]["value"], "someone-else");
}

// ------------------------------------------------------------------------------------ JumpCloud

/// JumpCloud's Test Connection: it creates a test user (the "Test User Email") and a test group,
/// then DELETEs both (§3).
#[tokio::test]
async fn jumpcloud_test_connection_creates_and_deletes_a_user_and_a_group() {
    let app = TestApp::spawn().await;
    let jc = Idp { app: &app };
    let user = json!({
        "schemas": [USER_URN],
        "userName": "scim-test@jumpcloud.example",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"value": "scim-test@jumpcloud.example", "type": "work", "primary": true}],
        "active": true
    });
    let uid = created(&jc.post("/Users", &user).await);
    let gid =
        created(&jc.post("/Groups", &json!({"schemas": [GROUP_URN], "displayName": "JumpCloud Test Group"})).await);

    let r = jc.delete(&format!("/Users/{uid}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = jc.delete(&format!("/Groups/{gid}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    jc.get(&format!("/Users/{uid}")).await.assert_error(404, None);
    jc.get(&format!("/Groups/{gid}")).await.assert_error(404, None);
    assert_list(&jc.get("/Users").await, 0);
    assert_list(&jc.get("/Groups").await, 0);

    // Run again (the admin clicks Test Connection twice): nothing left over collides.
    let uid = created(&jc.post("/Users", &user).await);
    let gid =
        created(&jc.post("/Groups", &json!({"schemas": [GROUP_URN], "displayName": "JumpCloud Test Group"})).await);
    assert_eq!(jc.delete(&format!("/Users/{uid}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(jc.delete(&format!("/Groups/{gid}")).await.status, StatusCode::NO_CONTENT);
}

/// Users and a bound User Group: create, Entra-style member PATCHes (`value` lists, no filter),
/// rename by a top-level replace, user removal, group deletion.
#[tokio::test]
async fn jumpcloud_user_group_lifecycle() {
    let app = TestApp::spawn().await;
    let jc = Idp { app: &app };
    let mut ids = Vec::new();
    for n in ["ada", "bea", "cyd"] {
        let body = json!({
            "schemas": [USER_URN],
            "userName": format!("{n}@jumpcloud.example"),
            "externalId": format!("5f0c{n}"),
            "name": {"givenName": n, "familyName": "Cloud"},
            "emails": [{"value": format!("{n}@jumpcloud.example"), "type": "work", "primary": true}],
            "active": "true"
        });
        let r = jc.post("/Users", &body).await;
        ids.push(created(&r));
        assert_eq!(r.body["active"], true);
    }
    let (ada, bea, cyd) = (ids[0].clone(), ids[1].clone(), ids[2].clone());

    let gid = created(&jc.post("/Groups", &json!({"schemas": [GROUP_URN], "displayName": "Engineering"})).await);
    let gpath = format!("/Groups/{gid}");

    // Members added and removed with value lists.
    let ops = json!([{"op": "add", "path": "members", "value": [{"value": ada}, {"value": bea}, {"value": cyd}]}]);
    assert_patched(&jc.patch_ops(&gpath, ops).await);
    assert_eq!(member_ids(&jc.get(&gpath).await.body), sorted(vec![ada.clone(), bea.clone(), cyd.clone()]));
    let ops = json!([{"op": "remove", "path": "members", "value": [{"value": bea}]}]);
    assert_patched(&jc.patch_ops(&gpath, ops).await);
    assert_eq!(
        member_ids(&jc.get(&gpath).await.body),
        sorted(vec![ada.clone(), cyd.clone()]),
        "only bea left the group"
    );

    // Rename by a top-level replace (no path); the members stay.
    assert_patched(&jc.patch_ops(&gpath, json!([{"op": "replace", "value": {"displayName": "Engineering EU"}}])).await);
    let g = jc.get(&gpath).await.body;
    assert_eq!(g["displayName"], "Engineering EU", "{g}");
    assert_eq!(member_ids(&g), sorted(vec![ada.clone(), cyd.clone()]));
    let r = jc.get("/Groups?filter=displayName%20eq%20%22Engineering%20EU%22").await;
    assert_list(&r, 1);

    // A profile change and a deactivation with a string boolean.
    let upath = format!("/Users/{ada}");
    assert_patched(
        &jc.patch_ops(&upath, json!([{"op": "replace", "path": "name.familyName", "value": "Lovelace"}])).await,
    );
    assert_patched(&jc.patch_ops(&upath, json!([{"op": "replace", "path": "active", "value": "false"}])).await);
    let u = jc.get(&upath).await.body;
    assert_eq!((u["name"]["familyName"].as_str(), u["active"].as_bool()), (Some("Lovelace"), Some(false)), "{u}");

    // A user removed from JumpCloud is deleted and leaves the group.
    assert_eq!(jc.delete(&format!("/Users/{cyd}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(member_ids(&jc.get(&gpath).await.body), vec![ada.clone()]);

    // The group is deleted; its former member stays.
    assert_eq!(jc.delete(&gpath).await.status, StatusCode::NO_CONTENT);
    jc.get(&gpath).await.assert_error(404, None);
    assert_eq!(jc.get(&upath).await.status, StatusCode::OK);
}
