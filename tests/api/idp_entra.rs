//! Microsoft Entra ID end to end, request by request as its provisioning service sends them
//! (idp-behaviour.md §2), once in the default dialect and once with `?aadOptscim062020` in the
//! Tenant URL (§2.5), and the Entra SCIM Validator's tests (§2.6). Entra sends no `User-Agent`;
//! neither does this client.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENT_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ADSCIM_GROUP_URN: &str = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

// ------------------------------------------------------------------------------------- the client

/// Entra's provisioning client: `Authorization: Bearer <Secret Token>`, no `User-Agent`, and,
/// when `flag` is set, `aadOptscim062020` as the first query parameter of every request (Entra
/// appends the path to the Tenant URL and keeps its query).
struct Entra<'a> {
    app: &'a TestApp,
    flag: bool,
    client: reqwest::Client,
}

impl<'a> Entra<'a> {
    fn new(app: &'a TestApp, flag: bool) -> Self {
        // reqwest's default client sends no User-Agent, like Entra (§6).
        Entra { app, flag, client: reqwest::Client::new() }
    }

    /// The URL for `path` (which may carry its own query), with the feature flag if set.
    fn url(&self, path: &str) -> String {
        let base = &self.app.base;
        match (self.flag, path.split_once('?')) {
            (false, _) => format!("{base}{path}"),
            (true, None) => format!("{base}{path}?aadOptscim062020"),
            (true, Some((p, q))) => format!("{base}{p}?aadOptscim062020&{q}"),
        }
    }

    /// `op` as this dialect spells it: capitalised without the flag, lower case with it.
    fn op(&self, op: &'static str) -> String {
        if self.flag { op.to_ascii_lowercase() } else { op.to_owned() }
    }

    async fn send_auth(&self, method: Method, path: &str, body: Option<&Value>, auth: &str) -> Resp {
        let mut req = self.client.request(method, self.url(path)).header("Authorization", auth);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/scim+json; charset=utf-8").body(b.to_string());
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, headers, body, text }
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Resp {
        self.send_auth(method, path, body, &format!("Bearer {}", self.app.token)).await
    }
    async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }
    async fn patch_ops(&self, path: &str, ops: Value) -> Resp {
        let body = json!({"schemas": [PATCH_URN], "Operations": ops});
        self.send(Method::PATCH, path, Some(&body)).await
    }
    async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }
}

// ------------------------------------------------------------------------------------- helpers

/// A filter value as Entra puts it in a query: `+` for spaces, `"` and `@` percent-encoded.
fn plus(filter: &str) -> String {
    filter.replace('%', "%25").replace(' ', "+").replace('"', "%22").replace('@', "%40")
}

#[track_caller]
fn assert_list(r: &Resp, total: u64) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"), "{}", r.text);
    assert_eq!(r.body["schemas"], json!([LIST_URN]), "{}", r.text);
    assert_eq!(r.body["totalResults"].as_u64(), Some(total), "{}", r.text);
    assert!(r.body["Resources"].is_array(), "{}", r.text);
}

/// 200 or 204 (Entra accepts both; the body need not be the full resource, §2.2 #5, #13).
#[track_caller]
fn assert_patched(r: &Resp) {
    assert!(matches!(r.status, StatusCode::OK | StatusCode::NO_CONTENT), "PATCH answered {}: {}", r.status, r.text);
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().filter(|s| !s.is_empty()).expect("a non-empty id").to_owned()
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

/// Whether any value anywhere in `v` is `null`.
fn has_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().any(has_null),
        Value::Object(o) => o.values().any(has_null),
        _ => false,
    }
}

/// The element of a multi-valued attribute with this `type`.
fn typed<'v>(u: &'v Value, attr: &str, ty: &str) -> &'v Value {
    u[attr].as_array().and_then(|a| a.iter().find(|e| e["type"] == ty)).unwrap_or(&Value::Null)
}

/// The user Entra POSTs (§2.2 #4, §2.3 default mappings): both schemas (older payloads with the
/// `2.0User` typo), `meta`, explicit `null`s, `roles: []`, the enterprise object.
fn entra_create_body(upn: &str, mail_nickname: &str, typo: bool) -> Value {
    let ent_schema = if typo { "urn:ietf:params:scim:schemas:extension:enterprise:2.0User" } else { ENT_URN };
    json!({
        "schemas": [USER_URN, ent_schema],
        "externalId": mail_nickname,
        "userName": upn,
        "active": true,
        "displayName": "Alice Smith",
        "emails": [{"primary": true, "type": "work", "value": upn}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
        "title": "Engineer",
        "preferredLanguage": "en-US",
        "nickName": null,
        "addresses": [{
            "type": "work",
            "formatted": "Building 40",
            "streetAddress": "1 Microsoft Way",
            "locality": "Redmond",
            "region": "WA",
            "postalCode": "98052",
            "country": "US",
            "primary": false
        }],
        "phoneNumbers": [{"type": "work", "value": "+1 425 555 0100"}, {"type": "fax", "value": "+1 425 555 0199"}],
        "roles": [],
        ENT_URN: {"employeeNumber": "1001", "department": "Research", "manager": null}
    })
}

// --------------------------------------------------------------------------- user lifecycle

async fn user_lifecycle(flag: bool) {
    let app = TestApp::spawn().await;
    let entra = Entra::new(&app, flag);
    let upn = "alice@contoso.com";

    // §2.2 #1 Test Connection: a random GUID matches nobody; 200 + empty list (404 fails it).
    let guid = "3f2a9c1e-8b4d-4e6f-a1b2-c3d4e5f60718";
    assert_list(&entra.get(&format!("/Users?filter={}", plus(&format!("userName eq \"{guid}\"")))).await, 0);
    let r = entra
        .get(&format!("/Groups?excludedAttributes=members&filter={}", plus(&format!("displayName eq \"{guid}\""))))
        .await;
    assert_list(&r, 0);
    // A wrong Secret Token is a 401 (Entra quarantines the job on it).
    let r = entra.send_auth(Method::GET, "/Users?filter=userName+eq+%22x%22", None, "Bearer wrong").await;
    r.assert_error(401, None);

    // §2.2 #2 schema discovery.
    let r = entra.get("/Schemas").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["schemas"], json!([LIST_URN]));
    let ids: Vec<&str> =
        r.body["Resources"].as_array().expect("Resources").iter().filter_map(|s| s["id"].as_str()).collect();
    for urn in [USER_URN, ENT_URN, GROUP_URN] {
        assert!(ids.contains(&urn), "/Schemas lists {urn}: {ids:?}");
    }
    assert!(!has_null(&r.body), "no nulls in /Schemas");
    assert!(r.text.contains("\"mutability\":\"readWrite\""), "camelCase values: {}", &r.text[..200]);

    // §2.2 #3 match (no startIndex/count), then #4 create with Entra's body.
    assert_list(&entra.get(&format!("/Users?filter={}", plus(&format!("userName eq \"{upn}\"")))).await, 0);
    let r = entra.post("/Users", &entra_create_body(upn, "alice", !flag)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.body);
    let u = &r.body;
    assert_eq!(u["userName"], upn);
    assert_eq!(u["externalId"], "alice");
    assert_eq!(u["active"], true);
    assert_eq!(u["name"]["formatted"], "Alice Smith");
    assert_eq!(typed(u, "emails", "work")["value"], upn);
    assert_eq!(typed(u, "addresses", "work")["locality"], "Redmond");
    assert_eq!(typed(u, "phoneNumbers", "fax")["value"], "+1 425 555 0199");
    assert_eq!(u[ENT_URN]["employeeNumber"], "1001");
    assert_eq!(u[ENT_URN]["department"], "Research");
    assert!(u[ENT_URN].get("manager").is_none(), "null is unassigned: {u}");
    assert!(u.get("nickName").is_none() && u.get("roles").is_none(), "null and [] are unassigned: {u}");
    assert_eq!(u["meta"]["resourceType"], "User");
    assert!(u["schemas"].as_array().is_some_and(|s| s.contains(&json!(ENT_URN))), "{u}");
    let upath = format!("/Users/{id}");

    // Duplicate → 409 uniqueness.
    let r = entra.post("/Users", &entra_create_body(upn, "alice2", false)).await;
    r.assert_error(409, Some("uniqueness"));

    // Every matching attribute Entra may use finds the user (§2.2 #3, §2.4 item 7).
    for filter in [
        format!("userName+eq+%22{}%22", upn.replace('@', "%40")),
        format!("userName+eq+%22{}%22", upn.to_uppercase().replace('@', "%40")),
        "externalId+eq+alice".to_owned(),
        "externalId eq \"alice\"".replace(' ', "+").replace('"', "%22"),
        format!("emails[type+eq+%22work%22].value+eq+%22{}%22", upn.replace('@', "%40")),
        format!("emails%5Btype+eq+%22work%22%5D.value+eq+%22{}%22", upn.replace('@', "%40")),
        format!("userName++eq++%22{}%22", upn.replace('@', "%40")),
    ] {
        let r = entra.get(&format!("/Users?filter={filter}")).await;
        assert_list(&r, 1);
        assert_eq!(r.body["Resources"][0]["id"], id.as_str(), "{filter}");
    }
    // externalId is caseExact: another case is another user.
    assert_list(&entra.get("/Users?filter=externalId+eq+ALICE").await, 0);

    // §2.2 #5 / §2.5 "replace several attributes", in this dialect's shape.
    let ops = if flag {
        json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "alice.smith@contoso.com"},
            {"op": "replace", "value": {
                "displayName": "Alice B. Smith",
                "name.givenName": "Alicia",
                "name.familyName": "Smith-Jones",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "2002"
            }}
        ])
    } else {
        json!([
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "alice.smith@contoso.com"},
            {"op": "Replace", "path": "displayName", "value": "Alice B. Smith"},
            {"op": "Replace", "path": "name.givenName", "value": "Alicia"},
            {"op": "Replace", "path": "name.familyName", "value": "Smith-Jones"},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "2002"}
        ])
    };
    assert_patched(&entra.patch_ops(&upath, ops).await);
    let u = entra.get(&upath).await.body;
    assert_eq!(u["displayName"], "Alice B. Smith", "{u}");
    assert_eq!(u["name"]["givenName"], "Alicia");
    assert_eq!(u["name"]["familyName"], "Smith-Jones");
    assert_eq!(u["name"]["formatted"], "Alice Smith", "untouched sub-attributes stay");
    assert_eq!(u[ENT_URN]["employeeNumber"], "2002");
    assert_eq!(u[ENT_URN]["department"], "Research");
    assert_eq!(typed(&u, "emails", "work")["value"], "alice.smith@contoso.com");
    assert_eq!(u["emails"].as_array().map(Vec::len), Some(1), "updated in place: {u}");

    // §2.4 item 4: the enterprise URN as a path-less key holding an object merges into the
    // extension (the other enterprise attributes stay).
    let ops = json!([{"op": entra.op("Replace"), "value": {ENT_URN: {"department": "Research & Development"}}}]);
    assert_patched(&entra.patch_ops(&upath, ops).await);
    let u = entra.get(&upath).await.body;
    assert_eq!(u[ENT_URN]["department"], "Research & Development", "{u}");
    assert_eq!(u[ENT_URN]["employeeNumber"], "2002", "{u}");

    // §2.5 "Add single-value string".
    assert_patched(
        &entra.patch_ops(&upath, json!([{"op": entra.op("Add"), "path": "nickName", "value": "Babs"}])).await,
    );
    assert_eq!(entra.get(&upath).await.body["nickName"], "Babs");

    // §2.4 item 3: Add as upsert on filtered paths: updates what is there, creates what is not.
    let ops = json!([
        {"op": entra.op("Add"), "path": "addresses[type eq \"work\"].streetAddress", "value": "2 Microsoft Way"},
        {"op": entra.op("Add"), "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 425 555 0101"},
        {"op": entra.op("Add"), "path": "emails[type eq \"other\"].Value", "value": "alias@contoso.com"},
        {"op": entra.op("Add"), "path": "emails[type eq \"work\"].value", "value": "alice.smith@contoso.com"}
    ]);
    assert_patched(&entra.patch_ops(&upath, ops).await);
    let u = entra.get(&upath).await.body;
    assert_eq!(typed(&u, "addresses", "work")["streetAddress"], "2 Microsoft Way", "{u}");
    assert_eq!(typed(&u, "addresses", "work")["locality"], "Redmond", "{u}");
    assert_eq!(u["addresses"].as_array().map(Vec::len), Some(1), "{u}");
    assert_eq!(typed(&u, "phoneNumbers", "mobile")["value"], "+1 425 555 0101", "{u}");
    assert_eq!(u["phoneNumbers"].as_array().map(Vec::len), Some(3), "{u}");
    assert_eq!(typed(&u, "emails", "other")["value"], "alias@contoso.com", "{u}");
    assert_eq!(u["emails"].as_array().map(Vec::len), Some(2), "no duplicate work email: {u}");

    // §2.2 #6 manager: set (an array without the flag, a raw string with it), check, replace
    // with an object, clear with {"value": ""}.
    let mgr = entra
        .post("/Users", &json!({"schemas": [USER_URN], "userName": "boss@contoso.com", "externalId": "boss"}))
        .await;
    assert_eq!(mgr.status, StatusCode::CREATED, "{}", mgr.text);
    let mgr = id_of(&mgr.body);
    let mgr2 = entra.post("/Users", &json!({"schemas": [USER_URN], "userName": "boss2@contoso.com"})).await;
    let mgr2 = id_of(&mgr2.body);
    let set = if flag {
        json!([{"op": "add", "path": format!("{ENT_URN}:manager"), "value": mgr}])
    } else {
        json!([{"op": "Add", "path": "manager", "value": [{"$ref": format!("{}/Users/{mgr}", app.base), "value": mgr}]}])
    };
    assert_patched(&entra.patch_ops(&upath, set).await);
    let u = entra.get(&upath).await.body;
    assert_eq!(u[ENT_URN]["manager"]["value"], mgr.as_str(), "stored as {{value}}: {u}");
    let check =
        |m: &str| format!("/Users?filter={}&attributes=id", plus(&format!("id eq \"{id}\" and manager eq \"{m}\"")));
    let r = entra.get(&check(&mgr)).await;
    assert_list(&r, 1);
    let only = r.body["Resources"][0].as_object().expect("a resource");
    assert_eq!(only.get("id").and_then(Value::as_str), Some(id.as_str()));
    assert!(only.keys().all(|k| k == "id" || k == "schemas"), "attributes=id: {}", r.text);
    assert_list(&entra.get(&check(&mgr2)).await, 0);

    let ops = json!([{"op": entra.op("Replace"), "path": format!("{ENT_URN}:manager"), "value": {"value": mgr2}}]);
    assert_patched(&entra.patch_ops(&upath, ops).await);
    assert_eq!(entra.get(&upath).await.body[ENT_URN]["manager"]["value"], mgr2.as_str());
    assert_list(&entra.get(&check(&mgr2)).await, 1);

    let ops = json!([{"op": entra.op("Replace"), "path": format!("{ENT_URN}:manager"), "value": {"value": ""}}]);
    assert_patched(&entra.patch_ops(&upath, ops).await);
    let u = entra.get(&upath).await.body;
    assert!(u[ENT_URN].get("manager").is_none(), "cleared: {u}");
    assert_eq!(u[ENT_URN]["employeeNumber"], "2002", "the rest of the extension stays: {u}");
    assert_list(&entra.get(&check(&mgr2)).await, 0);

    // §2.2 #7 disable ("False" is a string without the flag), #8 re-enable.
    let (off, on) = if flag { (json!(false), json!(true)) } else { (json!("False"), json!("True")) };
    assert_patched(
        &entra.patch_ops(&upath, json!([{"op": entra.op("Replace"), "path": "active", "value": off}])).await,
    );
    let u = entra.get(&upath).await.body;
    assert_eq!(u["active"], false, "\"False\" disables: {u}");
    let r = entra.get(&format!("/Users?filter={}", plus(&format!("userName eq \"{upn}\"")))).await;
    assert_list(&r, 1); // inactive users are still returned (§2.2 #3)
    assert_eq!(r.body["Resources"][0]["active"], false);
    assert_patched(&entra.patch_ops(&upath, json!([{"op": entra.op("Replace"), "path": "active", "value": on}])).await);
    assert_eq!(entra.get(&upath).await.body["active"], true);

    // §2.2 #9 hard delete: 204, then 404 everywhere.
    assert_patched(
        &entra.patch_ops(&upath, json!([{"op": entra.op("Replace"), "path": "active", "value": off}])).await,
    );
    let r = entra.delete(&upath).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    entra.get(&upath).await.assert_error(404, None);
    assert_list(&entra.get("/Users?filter=externalId+eq+alice").await, 0);
    entra.delete(&upath).await.assert_error(404, None);
    let r = entra.patch_ops(&upath, json!([{"op": entra.op("Replace"), "path": "active", "value": on}])).await;
    r.assert_error(404, None);
}

#[tokio::test]
async fn user_lifecycle_default_dialect() {
    user_lifecycle(false).await;
}

#[tokio::test]
async fn user_lifecycle_aadoptscim062020() {
    user_lifecycle(true).await;
}

/// §2.4 item 1: `op`, attribute names, paths and schema URNs match case-insensitively.
#[tokio::test]
async fn names_paths_and_urns_match_in_any_case() {
    let app = TestApp::spawn().await;
    let entra = Entra::new(&app, false);
    let r = entra.post("/Users", &entra_create_body("case@contoso.com", "case", false)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let upath = format!("/Users/{}", id_of(&r.body));
    let ops = json!([
        {"op": "REPLACE", "path": "Name.GivenName", "value": "Cass"},
        {"op": "Replace", "path": "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:Department", "value": "Ops"},
        {"op": "Add", "path": "PhoneNumbers[Type EQ \"mobile\"].Value", "value": "+1 425 555 0111"},
        {"op": "replace", "path": "ACTIVE", "value": "false"}
    ]);
    assert_patched(&entra.patch_ops(&upath, ops).await);
    let u = entra.get(&upath).await.body;
    assert_eq!(u["name"]["givenName"], "Cass", "{u}");
    assert_eq!(u[ENT_URN]["department"], "Ops", "{u}");
    assert_eq!(typed(&u, "phoneNumbers", "mobile")["value"], "+1 425 555 0111", "{u}");
    assert_eq!(u["active"], false, "{u}");
}

/// A matching attribute scimbox does not know is a 400 naming it, never an empty 200: Entra
/// creates a duplicate user when its lookup comes back empty (§6, "Entra now looks users up").
#[tokio::test]
async fn an_unknown_matching_attribute_is_refused_not_answered_empty() {
    let app = TestApp::spawn().await;
    let entra = Entra::new(&app, true);
    let r = entra
        .get(&format!(
            "/Users?filter={}",
            plus("urn:ietf:params:scim:schemas:extension:Custom:2.0:User:costCode eq \"x\"")
        ))
        .await;
    let detail = r.assert_error(400, Some("invalidFilter"));
    assert!(detail.contains("Custom:2.0:User"), "{detail}");
    let r = entra.get(&format!("/Users?filter={}", plus("employeeId eq \"42\""))).await;
    let detail = r.assert_error(400, Some("invalidFilter"));
    assert!(detail.contains("employeeId"), "{detail}");
}

// ------------------------------------------------------------------------------------- roles

/// §2.2 #17: roles from `AppRoleAssignmentsComplex`. The POST sends objects (with `primary` as a
/// `"True"` string in the validator); the default dialect's PATCH sends each role as a
/// JSON-encoded string in `value`; with the flag it sends objects. Either way the stored role is
/// the same: `value` "Admin".
async fn roles(flag: bool) {
    let app = TestApp::spawn().await;
    let entra = Entra::new(&app, flag);
    let mut body = entra_create_body("roles@contoso.com", "roles", false);
    body["roles"] = json!([{"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "displayName": "Reader", "value": "Reader"}]);
    let r = entra.post("/Users", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["roles"][0]["value"], "Reader", "{}", r.text);
    assert_eq!(r.body["roles"][0]["primary"], true, "\"True\" is a boolean: {}", r.text);
    let upath = format!("/Users/{}", id_of(&r.body));

    let role = if flag {
        json!({"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "Admin"})
    } else {
        json!({"value": "{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"})
    };
    let r = entra.patch_ops(&upath, json!([{"op": entra.op("Add"), "path": "roles", "value": [role]}])).await;
    assert_patched(&r);
    let u = entra.get(&upath).await.body;
    let values: Vec<&str> = u["roles"].as_array().expect("roles").iter().filter_map(|r| r["value"].as_str()).collect();
    assert_eq!(sorted(values.iter().map(|s| (*s).to_owned()).collect()), ["Admin", "Reader"], "{u}");
}

#[tokio::test]
async fn roles_default_dialect_json_encoded_strings() {
    roles(false).await;
}

#[tokio::test]
async fn roles_aadoptscim062020() {
    roles(true).await;
}

/// `SingleAppRoleAssignment([appRoleAssignments])` maps to `roles[primary eq "True"].value` (and
/// `.display`, `.type`) in Microsoft's attribute tables; Entra PATCHes those paths with the
/// boolean written as the string `"True"` (§2.4 item 2: coerce true/false strings everywhere).
#[tokio::test]
async fn roles_single_app_role_assignment_paths() {
    let app = TestApp::spawn().await;
    let entra = Entra::new(&app, false);
    let r = entra.post("/Users", &entra_create_body("single@contoso.com", "single", false)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let upath = format!("/Users/{}", id_of(&r.body));
    let ops = json!([
        {"op": "Add", "path": "roles[primary eq \"True\"].value", "value": "Admin"},
        {"op": "Add", "path": "roles[primary eq \"True\"].display", "value": "Admin"},
        {"op": "Add", "path": "roles[primary eq \"True\"].type", "value": "WindowsAzureActiveDirectoryRole"}
    ]);
    assert_patched(&entra.patch_ops(&upath, ops).await);
    let u = entra.get(&upath).await.body;
    assert_eq!(
        u["roles"],
        json!([{"primary": true, "value": "Admin", "display": "Admin", "type": "WindowsAzureActiveDirectoryRole"}]),
        "{u}"
    );
    let ops = json!([{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "Reader"}]);
    assert_patched(&entra.patch_ops(&upath, ops).await);
    let u = entra.get(&upath).await.body;
    assert_eq!(u["roles"][0]["value"], "Reader", "{u}");
    assert_eq!(u["roles"].as_array().map(Vec::len), Some(1), "{u}");
}

// -------------------------------------------------------------------------- group lifecycle

async fn group_lifecycle(flag: bool) {
    let app = TestApp::spawn().await;
    let entra = Entra::new(&app, flag);
    let mut users = Vec::new();
    for n in ["u1", "u2", "u3"] {
        let r = entra
            .post("/Users", &json!({"schemas": [USER_URN], "userName": format!("{n}@contoso.com"), "externalId": n}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        users.push(id_of(&r.body));
    }
    let (u1, u2, u3) = (users[0].clone(), users[1].clone(), users[2].clone());
    let match_sales = |name: &str| {
        format!("/Groups?excludedAttributes=members&filter={}", plus(&format!("displayName eq \"{name}\"")))
    };

    // §2.2 #10 match: nothing yet.
    assert_list(&entra.get(&match_sales("Sales")).await, 0);

    // #11 create: ADSCIM URN, externalId (objectId), meta, no members.
    let body = json!({
        "schemas": [GROUP_URN, ADSCIM_GROUP_URN],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Sales",
        "meta": {"resourceType": "Group"}
    });
    let r = entra.post("/Groups", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let gid = id_of(&r.body);
    assert_eq!(r.body["displayName"], "Sales");
    assert_eq!(r.body["externalId"], "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159");
    assert!(r.body.get("members").is_none_or(|m| m == &json!([])), "{}", r.text);
    let gpath = format!("/Groups/{gid}");
    // Same displayName again → 409 (Entra needs it unique to match).
    entra
        .post("/Groups", &json!({"schemas": [GROUP_URN], "displayName": "sales"}))
        .await
        .assert_error(409, Some("uniqueness"));

    // #13 add many members in one op.
    let ops = json!([{"op": entra.op("Add"), "path": "members", "value": [
        {"$ref": null, "value": u1}, {"$ref": null, "value": u2}, {"$ref": null, "value": u3}
    ]}]);
    assert_patched(&entra.patch_ops(&gpath, ops).await);

    // #10 / #12 reads without members, matching case-insensitively.
    let r = entra.get(&match_sales("SALES")).await;
    assert_list(&r, 1);
    assert_eq!(r.body["Resources"][0]["id"], gid.as_str());
    assert!(r.body["Resources"][0].get("members").is_none(), "excludedAttributes=members: {}", r.text);
    let r = entra.get(&format!("{gpath}?excludedAttributes=members")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body.get("members").is_none(), "{}", r.text);
    assert_eq!(r.body["displayName"], "Sales");
    let r = entra.get(&gpath).await;
    assert_eq!(member_ids(&r.body), sorted(vec![u1.clone(), u2.clone(), u3.clone()]), "{}", r.text);

    // #14 remove one member in this dialect's shape: never all of them.
    let ops = if flag {
        json!([{"op": "remove", "path": format!("members[value eq \"{u1}\"]")}])
    } else {
        json!([{"op": "Remove", "path": "members", "value": [{"value": u1}]}])
    };
    assert_patched(&entra.patch_ops(&gpath, ops).await);
    assert_eq!(member_ids(&entra.get(&gpath).await.body), sorted(vec![u2.clone(), u3.clone()]));
    // Retried: the member is already gone; still a success, nothing else removed.
    let ops = if flag {
        json!([{"op": "remove", "path": format!("members[value eq \"{u1}\"]")}])
    } else {
        json!([{"op": "Remove", "path": "members", "value": [{"value": u1}]}])
    };
    assert_patched(&entra.patch_ops(&gpath, ops).await);
    assert_eq!(member_ids(&entra.get(&gpath).await.body), sorted(vec![u2.clone(), u3.clone()]));

    // The members' read-only `groups`.
    let r = entra.get(&format!("/Users/{u2}")).await;
    assert_eq!(r.body["groups"][0]["value"], gid.as_str(), "{}", r.text);

    // #15 rename.
    let ops = json!([{"op": entra.op("Replace"), "path": "displayName", "value": "Sales EMEA"}]);
    assert_patched(&entra.patch_ops(&gpath, ops).await);
    assert_list(&entra.get(&match_sales("Sales")).await, 0);
    assert_list(&entra.get(&match_sales("Sales EMEA")).await, 1);
    assert_eq!(
        member_ids(&entra.get(&gpath).await.body),
        sorted(vec![u2.clone(), u3.clone()]),
        "a rename keeps members"
    );

    // A deleted user leaves the group (Entra deletes users it once added).
    assert_eq!(entra.delete(&format!("/Users/{u3}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(member_ids(&entra.get(&gpath).await.body), vec![u2.clone()]);

    // #16 delete.
    let r = entra.delete(&gpath).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    entra.get(&gpath).await.assert_error(404, None);
    assert_list(&entra.get(&match_sales("Sales EMEA")).await, 0);
}

#[tokio::test]
async fn group_lifecycle_default_dialect() {
    group_lifecycle(false).await;
}

#[tokio::test]
async fn group_lifecycle_aadoptscim062020() {
    group_lifecycle(true).await;
}

// ------------------------------------------------------------------- the SCIM Validator (§2.6)

/// The validator's POST: the full default attribute set, random strings where it generates them
/// (a random `timezone` included), `primary` as a `"True"` string in roles.
fn validator_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER_URN, ENT_URN],
        "userName": user_name,
        "externalId": external_id,
        "active": true,
        "displayName": "Ford Purdy",
        "nickName": "KQXWBHRUJNZA",
        "title": "ZPLWQKJHGFDS",
        "userType": "Employee",
        "locale": "en-US",
        "timezone": "RKDUSMWQPLZX",
        "profileUrl": "https://profiles.example.com/ford",
        "preferredLanguage": "en-US",
        "name": {
            "formatted": "Ford Purdy", "familyName": "Purdy", "givenName": "Ford",
            "middleName": "Q", "honorificPrefix": "Mr.", "honorificSuffix": "Jr."
        },
        "emails": [{"type": "work", "value": user_name, "primary": true}],
        "addresses": [{
            "type": "work", "formatted": "1 Main St", "streetAddress": "1 Main St", "locality": "Springfield",
            "region": "IL", "postalCode": "62701", "country": "US", "primary": true
        }],
        "phoneNumbers": [
            {"type": "work", "value": "07-272-0828", "primary": true},
            {"type": "mobile", "value": "07-272-0829"},
            {"type": "fax", "value": "07-272-0830"}
        ],
        "roles": [{"primary": "True", "display": "VRZNTJXQ", "value": "VRZNTJXQ", "type": "WindowsAzureActiveDirectoryRole"}],
        ENT_URN: {
            "employeeNumber": "EMP0042", "department": "DGSHJKWQ", "costCenter": "CC-9",
            "organization": "Contoso", "division": "North", "manager": {"value": "AXTKDLNRKMKT"}
        }
    })
}

fn filter_user_name(name: &str) -> String {
    format!("/Users?filter={}", plus(&format!("userName eq \"{name}\"")))
}

/// The validator's user tests, in its order.
#[tokio::test]
async fn validator_user_tests() {
    let app = TestApp::spawn().await;
    let v = Entra::new(&app, false);
    let name = "ford_purdy@abernathypadberg.uk";

    // Create a new User (POST, then verify with a filter GET).
    let r = v.post("/Users", &validator_user(name, "8fac5053-aaaa-4bbb-8ccc-000000000001")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.body);
    assert_eq!(r.body["timezone"], "RKDUSMWQPLZX", "a random timezone is kept as sent");
    assert_eq!(r.body[ENT_URN]["manager"]["value"], "AXTKDLNRKMKT");
    let upath = format!("/Users/{id}");
    let r = v.get(&filter_user_name(name)).await;
    assert_list(&r, 1);
    assert_eq!(r.body["Resources"][0]["id"], id.as_str());

    // Create a duplicate User → 409.
    v.post("/Users", &validator_user(name, "8fac5053-aaaa-4bbb-8ccc-000000000002"))
        .await
        .assert_error(409, Some("uniqueness"));

    // Filter for an existing user / a non-existing user / with a different case.
    assert_list(&v.get(&filter_user_name(name)).await, 1);
    assert_list(&v.get(&filter_user_name("nobody_here@abernathypadberg.uk")).await, 0);
    let r = v.get(&filter_user_name(&name.to_uppercase())).await;
    assert_list(&r, 1);
    assert_eq!(r.body["Resources"][0]["userName"], name);

    // Patch User – Replace Attributes Verbose: one replace per attribute, 36 of them.
    let ops: Vec<Value> = [
        ("displayName", json!("Lilian Graham")),
        ("nickName", json!("Lil")),
        ("title", json!("Director")),
        ("userType", json!("Contractor")),
        ("locale", json!("fr-CA")),
        ("timezone", json!("QWERTYUIOPAS")),
        ("profileUrl", json!("https://profiles.example.com/lilian")),
        ("preferredLanguage", json!("fr-CA")),
        ("externalId", json!("8fac5053-aaaa-4bbb-8ccc-000000000009")),
        ("active", json!(true)),
        ("name.formatted", json!("Lilian Graham")),
        ("name.familyName", json!("Graham")),
        ("name.givenName", json!("Lilian")),
        ("name.middleName", json!("R")),
        ("name.honorificPrefix", json!("Dr.")),
        ("name.honorificSuffix", json!("PhD")),
        ("emails[type eq \"work\"].value", json!("lilian.graham@millszboncak.ca")),
        ("emails[type eq \"work\"].primary", json!(true)),
        ("phoneNumbers[type eq \"work\"].value", json!("07-111-0001")),
        ("phoneNumbers[type eq \"mobile\"].value", json!("07-111-0002")),
        ("phoneNumbers[type eq \"fax\"].value", json!("07-111-0003")),
        ("addresses[type eq \"work\"].formatted", json!("2809 Johns Walk")),
        ("addresses[type eq \"work\"].streetAddress", json!("2809 Johns Walk")),
        ("addresses[type eq \"work\"].locality", json!("KMYVNUJVVZWC")),
        ("addresses[type eq \"work\"].region", json!("QC")),
        ("addresses[type eq \"work\"].postalCode", json!("H2X 1Y4")),
        ("addresses[type eq \"work\"].country", json!("CA")),
        ("addresses[type eq \"work\"].primary", json!(true)),
        ("phoneNumbers[type eq \"work\"].primary", json!(true)),
        ("photos[type eq \"photo\"].value", json!("https://photos.example.com/lilian.jpg")),
        (&format!("{ENT_URN}:employeeNumber"), json!("EMP0043")),
        (&format!("{ENT_URN}:department"), json!("Finance")),
        (&format!("{ENT_URN}:costCenter"), json!("CC-10")),
        (&format!("{ENT_URN}:organization"), json!("Fabrikam")),
        (&format!("{ENT_URN}:division"), json!("South")),
        (&format!("{ENT_URN}:manager"), json!({"value": "CBEQXYNPNAZS"})),
    ]
    .into_iter()
    .map(|(p, val)| json!({"op": "replace", "path": p, "value": val}))
    .collect();
    assert_eq!(ops.len(), 36);
    let r = v.patch_ops(&upath, Value::Array(ops)).await;
    assert_patched(&r);
    let u = v.get(&upath).await.body;
    assert_eq!(u["displayName"], "Lilian Graham", "{u}");
    assert_eq!(u["timezone"], "QWERTYUIOPAS");
    assert_eq!(u["externalId"], "8fac5053-aaaa-4bbb-8ccc-000000000009");
    assert_eq!(u["name"]["honorificSuffix"], "PhD");
    assert_eq!(typed(&u, "emails", "work")["value"], "lilian.graham@millszboncak.ca");
    assert_eq!(typed(&u, "phoneNumbers", "fax")["value"], "07-111-0003");
    assert_eq!(typed(&u, "addresses", "work")["locality"], "KMYVNUJVVZWC");
    assert_eq!(typed(&u, "photos", "photo")["value"], "https://photos.example.com/lilian.jpg", "{u}");
    assert_eq!(u[ENT_URN]["division"], "South");
    assert_eq!(u[ENT_URN]["manager"]["value"], "CBEQXYNPNAZS");
    assert_eq!(u["emails"].as_array().map(Vec::len), Some(1));
    assert_eq!(u["phoneNumbers"].as_array().map(Vec::len), Some(3));

    // Update User userName (path-less replace).
    let new_name = "emilio@hermann.uk";
    assert_patched(&v.patch_ops(&upath, json!([{"op": "replace", "value": {"userName": new_name}}])).await);
    assert_eq!(v.get(&upath).await.body["userName"], new_name);
    assert_list(&v.get(&filter_user_name(new_name)).await, 1);
    assert_list(&v.get(&filter_user_name(name)).await, 0);

    // Patch User – Disable User: the next filter GET shows active:false.
    assert_patched(&v.patch_ops(&upath, json!([{"op": "replace", "path": "active", "value": false}])).await);
    let r = v.get(&filter_user_name(new_name)).await;
    assert_list(&r, 1);
    assert_eq!(r.body["Resources"][0]["active"], false);

    // Patch User – Add Manager (raw string), Replace Manager, Remove Manager ({"value": ""}).
    let mpath = format!("{ENT_URN}:manager");
    assert_patched(&v.patch_ops(&upath, json!([{"op": "add", "path": mpath, "value": "VTNXMVHLRYYD"}])).await);
    assert_eq!(v.get(&upath).await.body[ENT_URN]["manager"]["value"], "VTNXMVHLRYYD");
    assert_patched(&v.patch_ops(&upath, json!([{"op": "replace", "path": mpath, "value": "AXTKDLNRKMKT"}])).await);
    assert_eq!(v.get(&upath).await.body[ENT_URN]["manager"]["value"], "AXTKDLNRKMKT");
    assert_patched(&v.patch_ops(&upath, json!([{"op": "replace", "path": mpath, "value": {"value": ""}}])).await);
    let u = v.get(&upath).await.body;
    assert!(u[ENT_URN].get("manager").is_none(), "{u}");

    // Delete a User: 204, then GET 404.
    assert_eq!(v.delete(&upath).await.status, StatusCode::NO_CONTENT);
    v.get(&upath).await.assert_error(404, None);
}

/// The validator's group tests, in its order.
#[tokio::test]
async fn validator_group_tests() {
    let app = TestApp::spawn().await;
    let v = Entra::new(&app, false);
    let member = id_of(&v.post("/Users", &validator_user("member@contoso.com", "m-1")).await.body);
    let filter_group = |name: &str| format!("/Groups?filter={}", plus(&format!("displayName eq \"{name}\"")));

    // Create a new Group.
    let body = json!({"schemas": [GROUP_URN], "displayName": "UHYYWKURUTZS", "externalId": "c420a4bf-cb0d-415a-98ff-bb3c12b0b2e3"});
    let r = v.post("/Groups", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let gid = id_of(&r.body);
    let gpath = format!("/Groups/{gid}");

    // Get group by id excluding members; filter excluding members; filters.
    let r = v.get(&format!("{gpath}?excludedAttributes=members")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body.get("members").is_none());
    let r =
        v.get(&format!("/Groups?excludedAttributes=members&filter={}", plus("displayName eq \"UHYYWKURUTZS\""))).await;
    assert_list(&r, 1);
    assert!(r.body["Resources"][0].get("members").is_none());
    assert_list(&v.get(&filter_group("UHYYWKURUTZS")).await, 1);
    assert_list(&v.get(&filter_group("NOSUCHGROUPX")).await, 0);
    assert_list(&v.get(&filter_group("uhyywkurutzs")).await, 1);

    // Create a duplicate Group → 409.
    let dup = json!({"schemas": [GROUP_URN], "displayName": "UHYYWKURUTZS", "externalId": "c420a4bf-0000-415a-98ff-bb3c12b0b2e3"});
    v.post("/Groups", &dup).await.assert_error(409, Some("uniqueness"));

    // Patch Group – Replace Attributes (path-less value object).
    let ops = json!([{"op": "replace", "value": {"externalId": "c3b97a69-ee33-427b-8bc1-d661b7769314"}}]);
    assert_patched(&v.patch_ops(&gpath, ops).await);
    assert_eq!(v.get(&gpath).await.body["externalId"], "c3b97a69-ee33-427b-8bc1-d661b7769314");

    // Update Group displayName (replace with a value object).
    assert_patched(&v.patch_ops(&gpath, json!([{"op": "replace", "value": {"displayName": "HNNCQLVVWAJM"}}])).await);
    assert_eq!(v.get(&gpath).await.body["displayName"], "HNNCQLVVWAJM");

    // Patch Group – Add Member (replace path=members), Remove Member (filter).
    let ops = json!([{"op": "replace", "path": "members", "value": [{"value": member}]}]);
    assert_patched(&v.patch_ops(&gpath, ops).await);
    assert_eq!(member_ids(&v.get(&gpath).await.body), vec![member.clone()]);
    let ops = json!([{"op": "remove", "path": format!("members[value eq \"{member}\"]")}]);
    assert_patched(&v.patch_ops(&gpath, ops).await);
    assert!(member_ids(&v.get(&gpath).await.body).is_empty());

    // Delete a Group: 204, then GET 404.
    assert_eq!(v.delete(&gpath).await.status, StatusCode::NO_CONTENT);
    v.get(&gpath).await.assert_error(404, None);
}

/// The validator's preview tests.
#[tokio::test]
async fn validator_preview_tests() {
    let app = TestApp::spawn().await;
    let v = Entra::new(&app, false);
    let r = v.post("/Users", &validator_user("preview@contoso.com", "p-1")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = id_of(&r.body);
    let upath = format!("/Users/{id}");

    // Patch User – Multiple Ops on different attributes.
    let ops = json!([
        {"op": "replace", "path": "displayName", "value": "Multi One"},
        {"op": "add", "path": "nickName", "value": "Multi"},
        {"op": "replace", "path": "name.givenName", "value": "Mul"},
        {"op": "remove", "path": "title"}
    ]);
    assert_patched(&v.patch_ops(&upath, ops).await);
    let u = v.get(&upath).await.body;
    assert_eq!(
        (u["displayName"].as_str(), u["nickName"].as_str(), u["name"]["givenName"].as_str()),
        (Some("Multi One"), Some("Multi"), Some("Mul"))
    );
    assert!(u.get("title").is_none(), "{u}");

    // Patch User – Multiple Ops on the same attribute: they apply in order.
    let ops = json!([
        {"op": "add", "path": "nickName", "value": "First"},
        {"op": "replace", "path": "nickName", "value": "Second"},
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "one@contoso.com"},
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "two@contoso.com"}
    ]);
    assert_patched(&v.patch_ops(&upath, ops).await);
    let u = v.get(&upath).await.body;
    assert_eq!(u["nickName"], "Second");
    assert_eq!(typed(&u, "emails", "work")["value"], "two@contoso.com");

    // Delete a non-existent User → 404; the same User twice → 204 then 404.
    v.delete("/Users/5c1b5d3e-0000-4000-8000-000000000000").await.assert_error(404, None);
    assert_eq!(v.delete(&upath).await.status, StatusCode::NO_CONTENT);
    v.delete(&upath).await.assert_error(404, None);

    // Patch Group – Multiple Ops on the same attribute: add then remove the same member.
    let member = id_of(&v.post("/Users", &validator_user("member2@contoso.com", "p-2")).await.body);
    let r = v.post("/Groups", &json!({"schemas": [GROUP_URN], "displayName": "PREVIEWGROUP"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let gpath = format!("/Groups/{}", id_of(&r.body));
    let ops = json!([
        {"op": "add", "path": "members", "value": [{"value": member}]},
        {"op": "remove", "path": format!("members[value eq \"{member}\"]")}
    ]);
    assert_patched(&v.patch_ops(&gpath, ops).await);
    assert!(member_ids(&v.get(&gpath).await.body).is_empty());

    // Delete a non-existent Group → 404; the same Group twice → 204 then 404.
    v.delete("/Groups/5c1b5d3e-0000-4000-8000-000000000000").await.assert_error(404, None);
    assert_eq!(v.delete(&gpath).await.status, StatusCode::NO_CONTENT);
    v.delete(&gpath).await.assert_error(404, None);
}
