//! `/Users` end to end: create, read, replace, delete, preconditions, projections, and the
//! request sequences Okta runs (idp-behaviour.md §1.2, §1.4). Each group cites its RFC section.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, form_encode, ids, user};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

// ------------------------------------------------------------------------------------- helpers

/// A request with a raw body and an exact `Content-Type` (or none), bypassing the helper's
/// `application/scim+json`.
async fn send_raw(app: &TestApp, method: Method, path: &str, content_type: Option<&str>, body: &str) -> Resp {
    let mut req = app
        .client
        .request(method, format!("{}{path}", app.base))
        .header("Authorization", format!("Bearer {}", app.token));
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    let resp = req.body(body.to_owned()).send().await.expect("request");
    let status = resp.status();
    let headers: HeaderMap = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, headers, body, text }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

fn path_of(v: &Value) -> String {
    format!("/Users/{}", id_of(v))
}

/// `meta.version` as the integer inside `W/"n"`.
fn version_number(v: &Value) -> u64 {
    let tag = v["meta"]["version"].as_str().expect("meta.version");
    tag.trim_start_matches("W/").trim_matches('"').parse().expect("a numeric version")
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

/// The resource without the server-owned `id` and `meta`.
fn strip_server_fields(v: &Value) -> Value {
    let mut v = v.clone();
    let obj = v.as_object_mut().expect("an object");
    obj.shift_remove("id");
    obj.shift_remove("meta");
    v
}

#[track_caller]
fn assert_ok(r: &Resp) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"), "{}", r.text);
    assert_eq!(r.header("etag"), r.body["meta"]["version"].as_str(), "ETag == meta.version: {}", r.text);
}

/// RFC 7643 §8.2, the full User representation (with `id`, `meta`, `password`, `groups`).
fn rfc7643_full_user() -> Value {
    json!({
        "schemas": [USER_URN],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {
            "formatted": "Ms. Barbara J Jensen, III",
            "familyName": "Jensen",
            "givenName": "Barbara",
            "middleName": "Jane",
            "honorificPrefix": "Ms.",
            "honorificSuffix": "III"
        },
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [
            {
                "type": "work",
                "streetAddress": "100 Universal City Plaza",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "USA",
                "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
                "primary": true
            },
            {
                "type": "home",
                "streetAddress": "456 Hollywood Blvd",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "USA",
                "formatted": "456 Hollywood Blvd\nHollywood, CA 91608 USA"
            }
        ],
        "phoneNumbers": [
            {"value": "555-555-5555", "type": "work"},
            {"value": "555-555-4444", "type": "mobile"}
        ],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [
            {"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"},
            {"value": "https://photos.example.com/profilephoto/72930000000Ccne/T", "type": "thumbnail"}
        ],
        "userType": "Employee",
        "title": "Tour Guide",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "password": "t1meMa$heen",
        "groups": [
            {
                "value": "e9e30dba-f08f-4109-8486-d5c6a331660a",
                "$ref": "https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
                "display": "Tour Guides"
            },
            {
                "value": "fc348aa8-3835-40eb-a20b-c726e15c55b5",
                "$ref": "https://example.com/v2/Groups/fc348aa8-3835-40eb-a20b-c726e15c55b5",
                "display": "Employees - Corporate"
            },
            {
                "value": "71ddacd2-a8e7-49b8-a5db-ae50d0a5bfd7",
                "$ref": "https://example.com/v2/Groups/71ddacd2-a8e7-49b8-a5db-ae50d0a5bfd7",
                "display": "US Employees"
            }
        ],
        "x509Certificates": [{"value": concat!(
            "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx",
            "EzARBgNVBAgMCkNhbGlmb3JuaWExFDASBgNVBAoMC2V4YW1wbGUuY29tMRQwEgYD",
            "VQQDDAtleGFtcGxlLmNvbTAeFw0xMTEwMjIwNjI0MzFaFw0xMjEwMDQwNjI0MzFa",
            "MH8xCzAJBgNVBAYTAlVTMRMwEQYDVQQIDApDYWxpZm9ybmlhMRQwEgYDVQQKDAtl",
            "eGFtcGxlLmNvbTEhMB8GA1UEAwwYTXMuIEJhcmJhcmEgSiBKZW5zZW4gSUlJMSIw",
            "IAYJKoZIhvcNAQkBFhNiamVuc2VuQGV4YW1wbGUuY29tMIIBIjANBgkqhkiG9w0B",
            "AQEFAAOCAQ8AMIIBCgKCAQEA7Kr+Dcds/JQ5GwejJFcBIP682X3xpjis56AK02bc",
            "1FLgzdLI8auoR+cC9/Vrh5t66HkQIOdA4unHh0AaZ4xL5PhVbXIPMB5vAPKpzz5i",
            "PSi8xO8SL7I7SDhcBVJhqVqr3HgllEG6UClDdHO7nkLuwXq8HcISKkbT5WFTVfFZ",
            "zidPl8HZ7DhXkZIRtJwBweq4bvm3hM1Os7UQH05ZS6cVDgweKNwdLLrT51ikSQG3",
            "DYrl+ft781UQRIqxgwqCfXEuDiinPh0kkvIi5jivVu1Z9QiwlYEdRbLJ4zJQBmDr",
            "SGTMYn4lRc2HgHO4DqB/bnMVorHB0CC6AV1QoFK4GPe1LwIDAQABo3sweTAJBgNV",
            "HRMEAjAAMCwGCWCGSAGG+EIBDQQfFh1PcGVuU1NMIEdlbmVyYXRlZCBDZXJ0aWZp",
            "Y2F0ZTAdBgNVHQ4EFgQU8pD0U0vsZIsaA16lL8En8bx0F/gwHwYDVR0jBBgwFoAU",
            "dGeKitcaF7gnzsNwDx708kqaVt0wDQYJKoZIhvcNAQEFBQADgYEAA81SsFnOdYJt",
            "Ng5Tcq+/ByEDrBgnusx0jloUhByPMEVkoMZ3J7j1ZgI8rAbOkNngX8+pKfTiDz1R",
            "C4+dx8oU6Za+4NJXUjlL5CvV6BEYb1+QAEJwitTVvxB/A67g42/vzgAtoRUeDov1",
            "+GFiBZ+GNF/cAYKcMtGcrs2i97ZkJMo="
        )}],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"a330bc54f0671c9\"",
            "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
        }
    })
}

/// RFC 7643 §8.3, the enterprise User: §8.2 plus the extension.
fn rfc7643_enterprise_user() -> Value {
    let mut u = rfc7643_full_user();
    u["schemas"] = json!([USER_URN, ENT_URN]);
    u[ENT_URN] = json!({
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
        "manager": {
            "value": "26118915-6090-4610-87e4-49d8ca9f808d",
            "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
            "displayName": "John Smith"
        }
    });
    u["meta"]["version"] = json!("W/\"3694e05e9dff591\"");
    u
}

/// What a fixture should read back as: everything but `id` and `meta` (server-owned),
/// `password` (writeOnly, returned "never"), `groups` (readOnly) and `manager.displayName`
/// (readOnly, RFC 7643 §4.3), which a client cannot set.
fn expected_read_back(fixture: &Value) -> Value {
    let mut want = strip_server_fields(fixture);
    let obj = want.as_object_mut().unwrap();
    obj.shift_remove("password");
    obj.shift_remove("groups");
    if let Some(m) = obj.get_mut(ENT_URN).and_then(|e| e.get_mut("manager")).and_then(Value::as_object_mut) {
        m.shift_remove("displayName");
    }
    want
}

// ------------------------------------------------------------------------------ POST /Users

// RFC 7644 §3.3 (201, Location), §3.14 (ETag), RFC 7643 §3.1 (meta).
#[tokio::test]
async fn post_answers_201_with_location_etag_and_meta() {
    let app = TestApp::spawn().await;
    let r = app.post("/Users", &user("bjensen")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let id = id_of(&r.body);
    assert!(!id.is_empty());
    let want_location = format!("{}/Users/{id}", app.base);
    assert_eq!(r.header("location"), Some(want_location.as_str()));
    assert_eq!(r.body["meta"]["location"], want_location.as_str());
    assert_eq!(r.header("etag"), r.body["meta"]["version"].as_str());
    assert!(r.header("etag").is_some_and(|e| !e.is_empty()));
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert!(r.body["meta"]["created"].is_string());
    assert_eq!(r.body["meta"]["created"], r.body["meta"]["lastModified"]);
    let schemas = r.body["schemas"].as_array().expect("schemas");
    assert!(schemas.iter().any(|s| s == USER_URN), "{}", r.text);
    assert_eq!(r.body["userName"], "bjensen");
    assert_eq!(r.body["active"], true, "active defaults to true");
}

// RFC 7644 §3.3: "id" is assigned by the service provider; RFC 7643 §3.1 (meta readOnly) and
// §4.1.2 (groups readOnly): client values are ignored, not refused.
#[tokio::test]
async fn post_ignores_client_sent_id_meta_and_groups() {
    let app = TestApp::spawn().await;
    let mut body = user("bjensen");
    body["id"] = json!("client-chosen-id");
    body["meta"] = json!({"resourceType": "Group", "created": "2001-01-01T00:00:00Z",
        "version": "W/\"99\"", "location": "https://evil.example/Users/x"});
    body["groups"] = json!([{"value": "g-1", "display": "Admins"}]);
    let created = app.create_user(&body).await;
    let id = id_of(&created);
    assert_ne!(id, "client-chosen-id");
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_ne!(created["meta"]["created"], "2001-01-01T00:00:00Z");
    assert_ne!(created["meta"]["version"], "W/\"99\"");
    assert_eq!(created["meta"]["location"], format!("{}/Users/{id}", app.base));
    assert!(created.get("groups").is_none(), "{created}");
    app.get("/Users/client-chosen-id").await.assert_error(404, None);
    let got = app.get(&path_of(&created)).await;
    assert_ok(&got);
    assert!(got.body.get("groups").is_none(), "{}", got.text);
}

// RFC 7643 §4.1.1: password is writeOnly and returned "never".
#[tokio::test]
async fn password_is_accepted_and_never_returned() {
    let app = TestApp::spawn().await;
    let secret = "t1meMa$heen-S3cret";
    let mut body = user("bjensen");
    body["password"] = json!(secret);
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    for resp in [
        &r,
        &app.get(&path_of(&r.body)).await,
        &app.get("/Users").await,
        &app.filter("userName eq \"bjensen\"").await,
        &app.get(&format!("{}?attributes=password", path_of(&r.body))).await,
    ] {
        assert!(resp.status.is_success(), "{}", resp.text);
        assert!(!resp.text.contains(secret), "password leaked: {}", resp.text);
        assert!(!resp.text.to_ascii_lowercase().contains("password"), "password attribute returned: {}", resp.text);
    }
    let list = app.get("/Users").await;
    assert_eq!(list.body["totalResults"], 1);
}

// RFC 7643 §3 / RFC 7644 §3.3: unknown schema URNs and attributes that IdPs send (Entra's typo
// "...enterprise:2.0User", the ADSCIM URN, custom extensions) are ignored (idp-behaviour.md
// §2.2 #4, §2.4 #9).
#[tokio::test]
async fn unknown_attributes_and_schema_urns_are_ignored() {
    let app = TestApp::spawn().await;
    let body = json!({
        "schemas": [
            USER_URN,
            "urn:ietf:params:scim:schemas:extension:custom:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User"
        ],
        "userName": "alice",
        "displayName": "Alice",
        "favouriteColour": "blue",
        "name": {"givenName": "Alice", "shoeSize": 38},
        "urn:ietf:params:scim:schemas:extension:custom:2.0:User": {"badge": "42"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0User": {"department": "Typo"},
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User": {"x": 1}
    });
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["schemas"], json!([USER_URN]));
    assert_eq!(
        keys(&r.body),
        ["active", "displayName", "id", "meta", "name", "schemas", "userName"].map(String::from).to_vec()
    );
    assert_eq!(r.body["name"], json!({"givenName": "Alice"}));
    let got = app.get(&path_of(&r.body)).await;
    assert_ok(&got);
    assert_eq!(got.body, r.body);
}

// RFC 7643 §2.5: null is equivalent to unassigned (Entra sends nulls, idp-behaviour.md §2.4 #10).
#[tokio::test]
async fn null_values_are_ignored() {
    let app = TestApp::spawn().await;
    let body = json!({
        "schemas": [USER_URN, ENT_URN],
        "userName": "nulls",
        "displayName": null,
        "title": null,
        "name": {"givenName": "N", "familyName": null},
        "emails": null,
        "phoneNumbers": [{"value": "555", "type": null}],
        "externalId": null,
        ENT_URN: {"department": null, "employeeNumber": "7"}
    });
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["name"], json!({"givenName": "N"}));
    assert_eq!(r.body["phoneNumbers"], json!([{"value": "555"}]));
    assert_eq!(r.body[ENT_URN], json!({"employeeNumber": "7"}));
    for absent in ["displayName", "title", "emails", "externalId"] {
        assert!(r.body.get(absent).is_none(), "{absent}: {}", r.text);
    }
    assert_eq!(r.body["schemas"], json!([USER_URN, ENT_URN]));

    // A null extension object is no extension.
    let r = app.post("/Users", &json!({"userName": "nulls2", ENT_URN: null})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.body.get(ENT_URN).is_none(), "{}", r.text);
    assert_eq!(r.body["schemas"], json!([USER_URN]));
}

// RFC 7643 §8.2: the full User example round-trips.
#[tokio::test]
async fn rfc7643_8_2_full_user_round_trips() {
    let app = TestApp::spawn().await;
    let fixture = rfc7643_full_user();
    let r = app.post("/Users", &fixture).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_ne!(r.body["id"], fixture["id"]);
    let want = expected_read_back(&fixture);
    assert_eq!(strip_server_fields(&r.body), want, "POST response");
    let got = app.get(&path_of(&r.body)).await;
    assert_ok(&got);
    assert_eq!(strip_server_fields(&got.body), want, "GET");
    let listed = app.filter("userName eq \"bjensen@example.com\"").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(strip_server_fields(&listed.body["Resources"][0]), want, "list");
}

// RFC 7643 §8.3: the enterprise User example round-trips.
#[tokio::test]
async fn rfc7643_8_3_enterprise_user_round_trips() {
    let app = TestApp::spawn().await;
    let fixture = rfc7643_enterprise_user();
    let r = app.post("/Users", &fixture).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let want = expected_read_back(&fixture);
    assert_eq!(strip_server_fields(&r.body), want, "POST response");
    let got = app.get(&path_of(&r.body)).await;
    assert_ok(&got);
    assert_eq!(strip_server_fields(&got.body), want, "GET");
    assert_eq!(got.body[ENT_URN]["manager"]["value"], "26118915-6090-4610-87e4-49d8ca9f808d");
    assert_eq!(got.body[ENT_URN]["department"], "Tour Operations");
}

// RFC 7644 §3.8 / §8.1 (media type) and idp-behaviour.md §4.4: application/scim+json and
// application/json, with or without charset, and a missing Content-Type are all accepted.
#[tokio::test]
async fn json_content_types_and_no_content_type_are_accepted() {
    let app = TestApp::spawn().await;
    let cases = [
        Some("application/scim+json"),
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("application/scim+json; charset=UTF-8"),
        Some("Application/JSON;charset=utf-8"),
        None,
    ];
    for (i, ct) in cases.into_iter().enumerate() {
        let body = user(&format!("ct-{i}")).to_string();
        let r = send_raw(&app, Method::POST, "/Users", ct, &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{ct:?}: {}", r.text);
        assert_eq!(r.body["userName"], format!("ct-{i}"));
        assert_eq!(r.header("content-type"), Some("application/scim+json"));
    }
    assert_eq!(app.get("/Users").await.body["totalResults"], cases.len());
}

// RFC 7643 §4.1.1 (userName REQUIRED), RFC 7644 §3.12 invalidValue: "a required value was missing".
#[tokio::test]
async fn missing_user_name_is_invalid_value() {
    let app = TestApp::spawn().await;
    for body in [
        json!({"schemas": [USER_URN], "displayName": "No Name"}),
        json!({"schemas": [USER_URN], "userName": null}),
        json!({"schemas": [USER_URN], "userName": ""}),
        json!({}),
    ] {
        let r = app.post("/Users", &body).await;
        let detail = r.assert_error(400, Some("invalidValue"));
        assert!(detail.contains("userName"), "{body}: {detail}");
    }
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
}

// RFC 7643 §2.3 (data types), RFC 7644 §3.12 invalidValue.
#[tokio::test]
async fn wrong_types_are_invalid_value_naming_the_attribute() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"userName": 5}), "userName"),
        (json!({"userName": "a", "active": "yes"}), "active"),
        (json!({"userName": "a", "active": 1}), "active"),
        (json!({"userName": "a", "displayName": true}), "displayName"),
        (json!({"userName": "a", "name": "Bob"}), "name"),
        (json!({"userName": "a", "name": {"givenName": 7}}), "name.givenName"),
        (json!({"userName": "a", "emails": [{"value": "x@y"}, {"value": 1}]}), "emails[1].value"),
        (json!({"userName": "a", "emails": [{"value": "x@y", "primary": "maybe"}]}), "primary"),
        (json!({"userName": "a", ENT_URN: {"employeeNumber": 701984}}), "employeeNumber"),
        (json!({"userName": "a", ENT_URN: "Tour Operations"}), ENT_URN),
        (json!({"userName": "a", "x509Certificates": [{"value": "not base64!"}]}), "x509Certificates"),
    ];
    for (body, names) in cases {
        let r = app.post("/Users", &body).await;
        let detail = r.assert_error(400, Some("invalidValue"));
        assert!(detail.contains(names), "{body}: {detail}");
    }
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
}

// RFC 7643 §2.4: "The primary attribute value 'true' MUST appear no more than once."
#[tokio::test]
async fn two_primary_emails_are_refused() {
    let app = TestApp::spawn().await;
    let mut body = user("twoprimaries");
    body["emails"] = json!([
        {"value": "a@example.com", "type": "work", "primary": true},
        {"value": "b@example.com", "type": "home", "primary": true}
    ]);
    let detail = app.post("/Users", &body).await.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("emails") && detail.contains("primary"), "{detail}");
    assert_eq!(app.get("/Users").await.body["totalResults"], 0);
}

// RFC 7644 §3.12 invalidSyntax: "The request body message structure was invalid".
#[tokio::test]
async fn malformed_bodies_are_invalid_syntax() {
    let app = TestApp::spawn().await;
    let r = send_raw(&app, Method::POST, "/Users", Some("application/scim+json"), "{\"userName\": \"a\",\n }").await;
    let detail = r.assert_error(400, Some("invalidSyntax"));
    assert!(detail.contains("line 2") && detail.contains("column"), "{detail}");
    let r = send_raw(&app, Method::POST, "/Users", Some("application/scim+json"), "{\"userName\": ").await;
    let detail = r.assert_error(400, Some("invalidSyntax"));
    assert!(detail.contains("line 1") && detail.contains("column"), "{detail}");
    for not_an_object in ["[{\"userName\": \"a\"}]", "\"a\"", "42", "null", "true"] {
        let r = send_raw(&app, Method::POST, "/Users", Some("application/scim+json"), not_an_object).await;
        r.assert_error(400, Some("invalidSyntax"));
    }
    let r = send_raw(&app, Method::POST, "/Users", Some("application/scim+json"), "").await;
    r.assert_error(400, Some("invalidSyntax"));
    // The same rules on PUT.
    let created = app.create_user(&user("syntax")).await;
    let r = send_raw(&app, Method::PUT, &path_of(&created), Some("application/json"), "{oops}").await;
    let detail = r.assert_error(400, Some("invalidSyntax"));
    assert!(detail.contains("line 1") && detail.contains("column"), "{detail}");
    let r = send_raw(&app, Method::PUT, &path_of(&created), Some("application/json"), "[]").await;
    r.assert_error(400, Some("invalidSyntax"));
    assert_eq!(app.get("/Users").await.body["totalResults"], 1);
}

// RFC 7644 §3.3: a duplicate of a unique attribute is 409 with scimType "uniqueness";
// RFC 7643 §4.1.1: userName is caseExact=false, so uniqueness ignores case, in any script.
#[tokio::test]
async fn duplicate_user_name_is_409_uniqueness_case_insensitively() {
    let app = TestApp::spawn().await;
    let pairs = [
        ("bjensen", "bjensen"),
        ("Alice", "aLICE"),
        ("\u{c9}milie", "\u{e9}milie"),
        ("STRASSE", "strasse"),
        ("\u{41e}\u{43b}\u{44c}\u{433}\u{430}", "\u{43e}\u{41b}\u{42c}\u{413}\u{410}"),
    ];
    for (first, second) in pairs {
        app.create_user(&user(first)).await;
        let r = app.post("/Users", &user(second)).await;
        let detail = r.assert_error(409, Some("uniqueness"));
        assert!(detail.contains("userName"), "{detail}");
        let found = app.filter(&format!("userName eq \"{second}\"")).await;
        assert_eq!(found.body["totalResults"], 1, "{first} / {second}: {}", found.text);
        assert_eq!(found.body["Resources"][0]["userName"], first);
    }
    assert_eq!(app.get("/Users").await.body["totalResults"], pairs.len());
}

// RFC 7643 §2.2 / §4.1.1: userName is caseExact=false, so two userNames that are case variants of
// each other ("stra\u{df}e".to_uppercase() is "STRASSE"; "\u{3c3}\u{3b1}\u{3c3}".to_uppercase() is
// "\u{3a3}\u{391}\u{3a3}") are the same userName and the second is a 409 uniqueness (RFC 7644 §3.3).
// Simple lowercasing misses both (it keeps "\u{df}" and turns a final capital sigma into "\u{3c2}");
// Unicode full case folding (Unicode §3.13) finds them.
#[tokio::test]
async fn user_name_uniqueness_matches_full_unicode_case_variants() {
    let app = TestApp::spawn().await;
    let pairs = [("stra\u{df}e", "STRASSE"), ("\u{3a3}\u{391}\u{3a3}", "\u{3c3}\u{3b1}\u{3c3}")];
    let mut refused = Vec::new();
    for (first, second) in pairs {
        assert_eq!(first.to_uppercase(), second.to_uppercase(), "the pair differs only in case");
        app.create_user(&user(first)).await;
        let r = app.post("/Users", &user(second)).await;
        refused.push((first, second, r.status.as_u16(), r.body["scimType"].clone()));
    }
    for (first, second, status, scim_type) in refused {
        assert_eq!((status, scim_type), (409, json!("uniqueness")), "POST {second:?} after {first:?}");
    }
}

// idp-behaviour.md §2.2 #4, §2.4 #2, #10: Entra's create body (meta, nulls, empty lists, "True"
// strings, ADSCIM and typo URNs) is accepted and read back as SCIM. RFC 7644 §3.3.
#[tokio::test]
async fn entra_create_body_is_accepted() {
    let app = TestApp::spawn().await;
    let body = json!({
        "schemas": [USER_URN, ENT_URN, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "externalId": "alice",
        "userName": "alice@contoso.com",
        "active": "True",
        "displayName": "Alice Smith",
        "emails": [{"primary": "True", "type": "work", "value": "alice@contoso.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
        "title": null,
        "preferredLanguage": "en-US",
        "addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "Redmond", "country": "US", "primary": false}],
        "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}],
        "roles": [],
        ENT_URN: {"employeeNumber": "1234", "department": "Sales", "manager": null}
    });
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let got = app.get(&path_of(&r.body)).await;
    assert_ok(&got);
    assert_eq!(got.body, r.body);
    let want = json!({
        "schemas": [USER_URN, ENT_URN],
        "externalId": "alice",
        "userName": "alice@contoso.com",
        "active": true,
        "displayName": "Alice Smith",
        "emails": [{"primary": true, "type": "work", "value": "alice@contoso.com"}],
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
        "preferredLanguage": "en-US",
        "addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "Redmond", "country": "US", "primary": false}],
        "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}],
        ENT_URN: {"employeeNumber": "1234", "department": "Sales"}
    });
    assert_eq!(strip_server_fields(&got.body), want);
}

// idp-behaviour.md §2.2 #3: Entra matches users with `userName eq`, `externalId eq` or
// `emails[type eq "work"].value eq "..."` (a value path followed by a sub-attribute, outside the
// RFC 7644 §3.4.2.2 ABNF but documented Entra behaviour), and expects the user back.
#[tokio::test]
async fn entra_match_filters_find_the_user() {
    let app = TestApp::spawn().await;
    let mut body = user("alice@contoso.com");
    body["externalId"] = json!("alice");
    body["emails"] = json!([{"primary": true, "type": "work", "value": "alice@contoso.com"}]);
    let created = app.create_user(&body).await;
    for filter in [
        "userName eq \"alice@contoso.com\"",
        "externalId eq \"alice\"",
        "emails[type eq \"work\"].value eq \"alice@contoso.com\"",
    ] {
        let found = app.filter(filter).await;
        assert_eq!(found.status, StatusCode::OK, "{filter}: {}", found.text);
        assert_eq!(ids(&found.body), vec![id_of(&created)], "{filter}: {}", found.text);
    }
}

// ------------------------------------------------------------------------- GET /Users/{id}

// RFC 7644 §3.4.1 (retrieve by id), §3.12 (404 error body), §3.14 (ETag).
#[tokio::test]
async fn get_by_id_returns_the_resource_and_unknown_ids_are_404() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&user("bjensen")).await;
    let got = app.get(&path_of(&created)).await;
    assert_ok(&got);
    assert_eq!(got.body, created);
    for unknown in ["010101001010101011001010101011", "00919288221112222", "2819c223-7f76-453a-919d-413861904646"] {
        let r = app.get(&format!("/Users/{unknown}")).await;
        r.assert_error(404, None);
        assert!(r.body.get("scimType").is_none(), "{}", r.text);
    }
    // ids are case-sensitive (idp-behaviour.md §1.3 #6).
    let upper = id_of(&created).to_ascii_uppercase();
    if upper != id_of(&created) {
        app.get(&format!("/Users/{upper}")).await.assert_error(404, None);
    }
}

// RFC 7644 §3.14, RFC 7232 §3.2: If-None-Match with the current tag is 304; a stale one is 200.
#[tokio::test]
async fn if_none_match_gives_304_for_the_current_version_only() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&user("bjensen")).await;
    let path = path_of(&created);
    let v1 = created["meta"]["version"].as_str().unwrap().to_owned();
    let r = app.send(Method::GET, &path, None, &[("If-None-Match", &v1)]).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{}", r.text);
    assert!(r.text.is_empty(), "304 has no body: {}", r.text);
    assert_eq!(r.header("etag"), Some(v1.as_str()));
    let r = app.send(Method::GET, &path, None, &[("If-None-Match", "*")]).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{}", r.text);

    let mut changed = user("bjensen");
    changed["displayName"] = json!("Babs");
    let put = app.put(&path, &changed).await;
    assert_ok(&put);
    let v2 = put.body["meta"]["version"].as_str().unwrap().to_owned();
    assert_ne!(v1, v2);
    let r = app.send(Method::GET, &path, None, &[("If-None-Match", &v1)]).await;
    assert_ok(&r);
    assert_eq!(r.body["displayName"], "Babs");
    let r = app.send(Method::GET, &path, None, &[("If-None-Match", &v2)]).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{}", r.text);
    let r = app.send(Method::GET, &path, None, &[("If-None-Match", &format!("{v1}, {v2}"))]).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{}", r.text);
}

// ------------------------------------------------------------------------- PUT /Users/{id}

fn rich_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER_URN, ENT_URN],
        "userName": user_name,
        "externalId": "ext-1",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "active": false,
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        ENT_URN: {"department": "Tour Operations", "employeeNumber": "701984"}
    })
}

// RFC 7644 §3.5.1: PUT replaces; attributes left out are cleared (scimbox keeps `active`,
// service/users.rs).
#[tokio::test]
async fn put_replaces_everything_except_an_omitted_active() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&rich_user("bjensen")).await;
    assert_eq!(created["active"], false);
    let path = path_of(&created);
    let r = app.put(&path, &json!({"schemas": [USER_URN], "userName": "bjensen", "displayName": "New"})).await;
    assert_ok(&r);
    assert_eq!(
        keys(&r.body),
        ["active", "displayName", "id", "meta", "schemas", "userName"].map(String::from).to_vec(),
        "{}",
        r.text
    );
    assert_eq!(r.body["active"], false, "an omitted active is kept");
    assert_eq!(r.body["displayName"], "New");
    assert_eq!(r.body["schemas"], json!([USER_URN]));
    assert_eq!(r.body["id"], created["id"]);
    assert_eq!(r.body["meta"]["created"], created["meta"]["created"]);
    let got = app.get(&path).await;
    assert_ok(&got);
    assert_eq!(got.body, r.body);

    // An explicit active is applied.
    let r = app.put(&path, &json!({"userName": "bjensen", "active": true})).await;
    assert_ok(&r);
    assert_eq!(r.body["active"], true);
    assert!(r.body.get("displayName").is_none(), "{}", r.text);
}

// RFC 7644 §3.5.1: readOnly values sent in a PUT (id, meta, groups) are ignored.
#[tokio::test]
async fn put_ignores_read_only_id_meta_and_groups() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&user("bjensen")).await;
    let path = path_of(&created);
    let body = json!({
        "schemas": [USER_URN],
        "id": "someone-else",
        "userName": "bjensen",
        "displayName": "Babs",
        "meta": {"resourceType": "Group", "created": "2001-01-01T00:00:00Z", "version": "W/\"77\"",
                 "location": "https://evil.example/Users/someone-else"},
        "groups": [{"value": "g-1", "display": "Admins", "$ref": "https://x/Groups/g-1"}]
    });
    let r = app.put(&path, &body).await;
    assert_ok(&r);
    assert_eq!(r.body["id"], created["id"]);
    assert_eq!(r.body["displayName"], "Babs");
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert_eq!(r.body["meta"]["created"], created["meta"]["created"]);
    assert_eq!(r.body["meta"]["location"], created["meta"]["location"]);
    assert_eq!(version_number(&r.body), version_number(&created) + 1);
    assert!(r.body.get("groups").is_none(), "{}", r.text);
    app.get("/Users/someone-else").await.assert_error(404, None);
}

// RFC 7644 §3.5.1 (userName is readWrite) and §3.12 uniqueness on PUT.
#[tokio::test]
async fn put_may_change_user_name_but_not_to_a_taken_one() {
    let app = TestApp::spawn().await;
    let alice = app.create_user(&user("alice")).await;
    let bob = app.create_user(&user("bob")).await;
    let r = app.put(&path_of(&alice), &user("alicia")).await;
    assert_ok(&r);
    assert_eq!(r.body["userName"], "alicia");
    assert_eq!(app.filter("userName eq \"alice\"").await.body["totalResults"], 0);
    assert_eq!(ids(&app.filter("userName eq \"alicia\"").await.body), vec![id_of(&alice)]);

    // Changing the case of one's own userName is not a conflict with oneself.
    let r = app.put(&path_of(&alice), &user("ALICIA")).await;
    assert_ok(&r);
    assert_eq!(r.body["userName"], "ALICIA");

    for taken in ["bob", "BOB"] {
        let r = app.put(&path_of(&alice), &user(taken)).await;
        let detail = r.assert_error(409, Some("uniqueness"));
        assert!(detail.contains("userName"), "{detail}");
    }
    let got = app.get(&path_of(&alice)).await;
    assert_eq!(got.body["userName"], "ALICIA");
    assert_eq!(app.get(&path_of(&bob)).await.body["userName"], "bob");
}

// RFC 7644 §3.5.1: PUT never creates; an unknown id is 404.
#[tokio::test]
async fn put_to_an_unknown_id_is_404_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let r = app.put("/Users/2819c223-7f76-453a-919d-413861904646", &user("ghost")).await;
    r.assert_error(404, None);
    let list = app.get("/Users").await;
    assert_eq!(list.body["totalResults"], 0, "{}", list.text);
    assert_eq!(app.filter("userName eq \"ghost\"").await.body["totalResults"], 0);
}

// RFC 7644 §3.14: the version changes when the resource changes (scimbox: by exactly one), and
// an identical PUT changes nothing (service/users.rs).
#[tokio::test]
async fn put_bumps_the_version_by_one_on_change_only() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&rich_user("bjensen")).await;
    let path = path_of(&created);
    let v1 = version_number(&created);

    // The read-back resource PUT as is: no change.
    let r = app.put(&path, &created).await;
    assert_ok(&r);
    assert_eq!(version_number(&r.body), v1);
    assert_eq!(r.body["meta"]["lastModified"], created["meta"]["lastModified"]);
    assert_eq!(r.body, created);
    // The same again, without the server-owned parts and with a password: still no change.
    let mut same = strip_server_fields(&created);
    same["password"] = json!("whatever");
    let r = app.put(&path, &same).await;
    assert_ok(&r);
    assert_eq!(version_number(&r.body), v1);

    let mut changed = created.clone();
    changed["title"] = json!("Senior Tour Guide");
    let r = app.put(&path, &changed).await;
    assert_ok(&r);
    assert_eq!(version_number(&r.body), v1 + 1);
    assert_eq!(r.body["title"], "Senior Tour Guide");
    let r = app.put(&path, &changed).await;
    assert_eq!(version_number(&r.body), v1 + 1, "identical PUT keeps the version");
    changed["title"] = json!("Chief Tour Guide");
    let r = app.put(&path, &changed).await;
    assert_eq!(version_number(&r.body), v1 + 2);
    assert_eq!(app.get(&path).await.header("etag"), r.header("etag"));
}

// RFC 7644 §3.14, RFC 7232 §3.1: If-Match with a stale tag is 412 and changes nothing.
#[tokio::test]
async fn put_honours_if_match() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&user("bjensen")).await;
    let path = path_of(&created);
    let v1 = created["meta"]["version"].as_str().unwrap().to_owned();
    let mut body = user("bjensen");
    body["displayName"] = json!("One");
    let r = app.send(Method::PUT, &path, Some(&body), &[("If-Match", &v1)]).await;
    assert_ok(&r);
    let v2 = r.body["meta"]["version"].as_str().unwrap().to_owned();
    assert_ne!(v1, v2);

    body["displayName"] = json!("Stale");
    let r = app.send(Method::PUT, &path, Some(&body), &[("If-Match", &v1)]).await;
    r.assert_error(412, None);
    let got = app.get(&path).await;
    assert_eq!(got.body["displayName"], "One");
    assert_eq!(got.body["meta"]["version"], v2.as_str());

    body["displayName"] = json!("Two");
    let r = app.send(Method::PUT, &path, Some(&body), &[("If-Match", &v2)]).await;
    assert_ok(&r);
    assert_eq!(r.body["displayName"], "Two");
    body["displayName"] = json!("Three");
    let r = app.send(Method::PUT, &path, Some(&body), &[("If-Match", "*")]).await;
    assert_ok(&r);
    assert_eq!(r.body["displayName"], "Three");
}

// ---------------------------------------------------------------------- DELETE /Users/{id}

// RFC 7644 §3.6: 204 with no body; the resource is then gone (404), and deleting it again is 404.
#[tokio::test]
async fn delete_is_204_then_404() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&user("bjensen")).await;
    let keep = app.create_user(&user("keep")).await;
    let path = path_of(&created);
    let r = app.delete(&path).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(r.text.is_empty(), "204 has no body: {}", r.text);
    app.get(&path).await.assert_error(404, None);
    app.delete(&path).await.assert_error(404, None);
    app.put(&path, &user("bjensen")).await.assert_error(404, None);
    let list = app.get("/Users").await;
    assert_eq!(ids(&list.body), vec![id_of(&keep)]);
    // The userName is free again.
    app.create_user(&user("bjensen")).await;
}

// RFC 7644 §3.14: DELETE with a stale If-Match is 412 and deletes nothing.
#[tokio::test]
async fn delete_honours_if_match() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&user("bjensen")).await;
    let path = path_of(&created);
    let r = app.send(Method::DELETE, &path, None, &[("If-Match", "W/\"999\"")]).await;
    r.assert_error(412, None);
    assert_ok(&app.get(&path).await);
    let current = created["meta"]["version"].as_str().unwrap();
    let r = app.send(Method::DELETE, &path, None, &[("If-Match", current)]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    app.get(&path).await.assert_error(404, None);
}

// ---------------------------------------------------- attributes / excludedAttributes (§3.9)

// RFC 7644 §3.9, §3.4.2.5: `attributes` narrows the response to the named attributes plus those
// returned "always" (id; schemas is always present).
#[tokio::test]
async fn attributes_user_name_returns_only_schemas_id_and_user_name() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&rich_user("bjensen")).await;
    let r = app.get(&format!("{}?attributes=userName", path_of(&created))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({"schemas": [USER_URN], "id": created["id"], "userName": "bjensen"}));
    assert_eq!(r.header("etag"), created["meta"]["version"].as_str());
    // Attribute names are case-insensitive.
    let r = app.get(&format!("{}?attributes=USERNAME", path_of(&created))).await;
    assert_eq!(r.body, json!({"schemas": [USER_URN], "id": created["id"], "userName": "bjensen"}));
}

// RFC 7644 §3.9: `excludedAttributes` removes attributes and sub-attributes.
#[tokio::test]
async fn excluded_attributes_remove_attributes_and_sub_attributes() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&rich_user("bjensen")).await;
    let q = form_encode(&[("excludedAttributes", "emails,name.givenName")]);
    let r = app.get(&format!("{}?{q}", path_of(&created))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut want = created.clone();
    want.as_object_mut().unwrap().shift_remove("emails");
    want["name"].as_object_mut().unwrap().shift_remove("givenName");
    assert_eq!(r.body, want);
    assert_eq!(r.body["name"], json!({"familyName": "Jensen"}));
}

// RFC 7644 §3.9: a sub-attribute in `attributes` keeps only that sub-attribute.
#[tokio::test]
async fn attributes_sub_attribute_keeps_only_it() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&rich_user("bjensen")).await;
    let r = app.get(&format!("{}?attributes=emails.value", path_of(&created))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"schemas": [USER_URN], "id": created["id"],
               "emails": [{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]})
    );
}

// RFC 7644 §3.10, §3.9: a URN-qualified extension attribute in `attributes`.
#[tokio::test]
async fn attributes_urn_qualified_extension_attribute() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&rich_user("bjensen")).await;
    let q = form_encode(&[("attributes", &format!("{ENT_URN}:department"))]);
    let r = app.get(&format!("{}?{q}", path_of(&created))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"schemas": [USER_URN, ENT_URN], "id": created["id"], ENT_URN: {"department": "Tour Operations"}})
    );
    // Several at once, mixed.
    let q = form_encode(&[("attributes", &format!("userName,{ENT_URN}:department,name.familyName"))]);
    let r = app.get(&format!("{}?{q}", path_of(&created))).await;
    assert_eq!(
        r.body,
        json!({"schemas": [USER_URN, ENT_URN], "id": created["id"], "userName": "bjensen",
               "name": {"familyName": "Jensen"}, ENT_URN: {"department": "Tour Operations"}})
    );
}

// RFC 7644 §3.9: `attributes`/`excludedAttributes` apply to the responses of POST, PUT and PATCH.
#[tokio::test]
async fn projections_apply_to_post_put_and_patch_responses() {
    let app = TestApp::spawn().await;
    let r = app.post("/Users?attributes=userName", &rich_user("bjensen")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(keys(&r.body), ["id", "schemas", "userName"].map(String::from).to_vec(), "{}", r.text);
    let id = id_of(&r.body);
    let path = format!("/Users/{id}");
    assert_eq!(r.header("location"), Some(format!("{}{path}", app.base).as_str()));
    assert_eq!(r.header("etag"), Some("W/\"1\""));

    let mut body = rich_user("bjensen");
    body["title"] = json!("Guide");
    let r = app.put(&format!("{path}?excludedAttributes=emails,meta"), &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body.get("emails").is_none() && r.body.get("meta").is_none(), "{}", r.text);
    assert_eq!(r.body["title"], "Guide");
    assert!(r.header("etag").is_some());

    let patch = json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]});
    let r = app.patch(&format!("{path}?attributes=title"), &patch).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({"schemas": [USER_URN], "id": id, "title": "Boss"}));

    // The stored resource is whole.
    let got = app.get(&path).await;
    assert_eq!(got.body["emails"].as_array().map(Vec::len), Some(2));
    assert_eq!(got.body["title"], "Boss");
}

// --------------------------------------------------------------------- Okta (idp §1.2, §1.4)

// idp-behaviour.md §1.2 #3, §1.3 #2, §1.4 #9; RFC 7644 §3.4.2.2: a filter lookup returns inactive
// users, and userName matches case-insensitively.
#[tokio::test]
async fn okta_lookup_by_filter_returns_inactive_users() {
    let app = TestApp::spawn().await;
    let mut body = user("test.user@okta.local");
    body["active"] = json!(false);
    let created = app.create_user(&body).await;
    let q = form_encode(&[("filter", "userName eq \"test.user@okta.local\""), ("startIndex", "1"), ("count", "100")]);
    let r = app.get(&format!("/Users?{q}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["schemas"], json!([LIST_URN]));
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["itemsPerPage"], 1);
    assert_eq!(r.body["Resources"][0]["id"], created["id"]);
    assert_eq!(r.body["Resources"][0]["active"], false);
    let r = app.filter("userName eq \"TEST.USER@OKTA.LOCAL\"").await;
    assert_eq!(ids(&r.body), vec![id_of(&created)]);
    let r = app.filter("userName eq \"abcdefgh@example.com\"").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["Resources"], json!([]));
}

// idp-behaviour.md §1.2 #4b/#6: Okta PUTs back the whole read-back user with id, meta, groups,
// schemas (and a password); RFC 7644 §3.5.1.
#[tokio::test]
async fn okta_put_of_the_whole_read_back_user_works() {
    let app = TestApp::spawn().await;
    let created = app
        .create_user(&json!({
            "schemas": [USER_URN],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": true
        }))
        .await;
    let path = path_of(&created);
    let mut read_back = app.get(&path).await.body;
    read_back["name"]["givenName"] = json!("Changed");
    read_back["groups"] = json!([{"value": "g-1", "display": "Everyone"}]);
    read_back["password"] = json!("1mz050nq");
    let r = app.put(&path, &read_back).await;
    assert_ok(&r);
    assert_eq!(r.body["name"], json!({"givenName": "Changed", "familyName": "User"}));
    assert_eq!(r.body["id"], created["id"]);
    assert_eq!(r.body["externalId"], "00ujl29u0le5T6Aj10h7");
    assert_eq!(r.body["emails"], created["emails"]);
    assert_eq!(version_number(&r.body), version_number(&created) + 1);
    assert!(r.body.get("groups").is_none() && r.body.get("password").is_none(), "{}", r.text);
    assert_eq!(app.get(&path).await.body["name"]["givenName"], "Changed");
}

// idp-behaviour.md §1.2 #7, #9 and the CRUD test steps 6–8: deactivation by a path-less PATCH keeps
// the user, and GET answers 200 with active false. RFC 7644 §3.5.2.3.
#[tokio::test]
async fn okta_deactivate_by_patch_keeps_the_user_readable() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&user("test.user@okta.local")).await;
    let path = path_of(&created);
    let deactivate = json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"active": false}}]});
    let r = app.patch(&path, &deactivate).await;
    assert_ok(&r);
    assert_eq!(r.body["active"], false);
    let got = app.get(&path).await;
    assert_ok(&got);
    assert_eq!(got.body["active"], false);
    assert_eq!(got.body["userName"], "test.user@okta.local");
    let found = app.filter("userName eq \"test.user@okta.local\"").await;
    assert_eq!(found.body["Resources"][0]["active"], false);
    // Reactivate (idp §1.2 #8).
    let reactivate = json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "value": {"active": true}}]});
    let r = app.patch(&path, &reactivate).await;
    assert_ok(&r);
    assert_eq!(app.get(&path).await.body["active"], true);
    // Okta's spec test step 8: the same POST again is 409.
    app.post("/Users", &user("test.user@okta.local")).await.assert_error(409, Some("uniqueness"));
}

// idp-behaviour.md §1.3 item 3: Okta re-provisions a deactivated user with a POST carrying the
// same userName and externalId; scimbox revives that user (same id) instead of a stuck 409.
#[tokio::test]
async fn post_revives_a_deactivated_user_with_the_same_user_name_and_external_id() {
    let app = TestApp::spawn().await;
    let body = json!({"userName": "okta.user@example.com", "externalId": "00u1", "displayName": "Old"});
    let first = app.create_user(&body).await;
    let id = first["id"].as_str().unwrap();
    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    assert_eq!(app.patch(&format!("/Users/{id}"), &deactivate).await.status, 200);

    let again = json!({"userName": "OKTA.USER@example.com", "externalId": "00u1", "displayName": "New"});
    let revived = app.post("/Users", &again).await;
    assert_eq!(revived.status, 201, "{}", revived.text);
    assert_eq!(revived.body["id"], id, "the same user comes back");
    assert_eq!(revived.body["active"], true);
    assert_eq!(revived.body["displayName"], "New");
    assert_eq!(revived.header("location"), revived.body["meta"]["location"].as_str());
    let list = app.filter("userName eq \"okta.user@example.com\"").await;
    assert_eq!(list.body["totalResults"], 1, "no duplicate was created");
}

#[tokio::test]
async fn post_of_an_active_or_foreign_duplicate_stays_409() {
    let app = TestApp::spawn().await;
    app.create_user(&json!({"userName": "a@example.com", "externalId": "e1"})).await;
    app.post("/Users", &json!({"userName": "a@example.com", "externalId": "e1"}))
        .await
        .assert_error(409, Some("uniqueness"));

    let b = app.create_user(&json!({"userName": "b@example.com", "externalId": "e2", "active": false})).await;
    let other = app.post("/Users", &json!({"userName": "b@example.com", "externalId": "someone-else"})).await;
    other.assert_error(409, Some("uniqueness"));
    let no_ext = app.post("/Users", &json!({"userName": "b@example.com"})).await;
    no_ext.assert_error(409, Some("uniqueness"));
    let still = app.get(&format!("/Users/{}", b["id"].as_str().unwrap())).await;
    assert_eq!(still.body["active"], false, "a refused POST changes nothing");
}
