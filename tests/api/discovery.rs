//! Discovery (RFC 7644 §4; RFC 7643 §5 ServiceProviderConfig, §6 ResourceType, §7 Schema),
//! `/Me`, routing of unknown paths and methods, path normalisation and `--base-path`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, user};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SPC_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RT_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// A GET without any Authorization header.
async fn get_anonymous(app: &TestApp, path: &str) -> Resp {
    let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", app.base) };
    let resp = app.client.get(url).send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, headers, body, text }
}

#[track_caller]
fn assert_scim_ok(r: &Resp) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"), "RFC 7644 §8.1");
}

/// RFC 7643 §5: the ServiceProviderConfig states what scimbox really supports, and RFC 7644 §4
/// lets clients read it without authenticating.
#[tokio::test]
async fn service_provider_config_is_honest_and_open() {
    let app = TestApp::spawn().await;
    let r = get_anonymous(&app, "/ServiceProviderConfig").await;
    assert_scim_ok(&r);
    let b = &r.body;
    assert_eq!(b["schemas"], json!([SPC_URN]));
    assert_eq!(b["patch"], json!({"supported": true}));
    assert_eq!(b["bulk"], json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1_048_576}));
    assert_eq!(b["filter"], json!({"supported": true, "maxResults": 1000}));
    assert_eq!(b["sort"], json!({"supported": true}));
    assert_eq!(b["etag"], json!({"supported": true}));
    assert_eq!(b["changePassword"], json!({"supported": false}));
    let schemes = b["authenticationSchemes"].as_array().expect("authenticationSchemes");
    assert_eq!(schemes.len(), 1, "{b}");
    assert_eq!(schemes[0]["type"], "oauthbearertoken");
    assert!(schemes[0]["name"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(schemes[0]["description"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(b["meta"]["resourceType"], "ServiceProviderConfig");
    assert_eq!(b["meta"]["location"], format!("{}/ServiceProviderConfig", app.base));
    // The same with a token.
    let authed = app.get("/ServiceProviderConfig").await;
    assert_eq!(authed.body, r.body);
    // The advertised support is real: sort, filter and etag work.
    app.create_user(&user("probe")).await;
    let sorted = app.get("/Users?sortBy=userName&filter=userName%20pr").await;
    assert_eq!(sorted.status, StatusCode::OK);
    let one = app.get(&format!("/Users/{}", sorted.body["Resources"][0]["id"].as_str().unwrap())).await;
    assert_eq!(one.header("etag"), one.body["meta"]["version"].as_str());
}

/// Every attribute (and sub-attribute) definition carries the characteristics of RFC 7643 §7.
fn check_attributes(schema_id: &str, attrs: &[Value], path: &str) {
    for a in attrs {
        let name = a["name"].as_str().unwrap_or_else(|| panic!("{schema_id}{path}: attribute without a name: {a}"));
        let here = format!("{schema_id}{path}/{name}");
        for k in ["name", "type", "mutability", "returned", "uniqueness"] {
            assert!(a[k].as_str().is_some_and(|s| !s.is_empty()), "{here}: {k} missing or not a string: {a}");
        }
        for k in ["multiValued", "required"] {
            assert!(a[k].is_boolean(), "{here}: {k} missing or not a boolean: {a}");
        }
        let ty = a["type"].as_str().unwrap();
        assert!(
            ["string", "boolean", "decimal", "integer", "dateTime", "reference", "complex", "binary"].contains(&ty),
            "{here}: type {ty}"
        );
        let m = a["mutability"].as_str().unwrap();
        assert!(["readOnly", "readWrite", "immutable", "writeOnly"].contains(&m), "{here}: mutability {m}");
        let r = a["returned"].as_str().unwrap();
        assert!(["always", "never", "default", "request"].contains(&r), "{here}: returned {r}");
        let u = a["uniqueness"].as_str().unwrap();
        assert!(["none", "server", "global"].contains(&u), "{here}: uniqueness {u}");
        if ty == "reference" {
            assert!(a["referenceTypes"].is_array(), "{here}: a reference lists its referenceTypes: {a}");
        }
        if ty == "complex" {
            let subs = a["subAttributes"].as_array().unwrap_or_else(|| panic!("{here}: complex without subAttributes"));
            check_attributes(schema_id, subs, &format!("{path}/{name}"));
        }
        if ty == "string" {
            assert!(a["caseExact"].is_boolean(), "{here}: a string states caseExact: {a}");
        }
    }
}

fn find_attr<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == name))
        .unwrap_or_else(|| panic!("no attribute {name} in {}", schema["id"]))
}

/// RFC 7644 §4 / RFC 7643 §7: /Schemas is a ListResponse of Schema resources, User and
/// Enterprise User included, and each is also served at /Schemas/{urn}.
#[tokio::test]
async fn schemas_list_and_each_schema() {
    let app = TestApp::spawn().await;
    let r = get_anonymous(&app, "/Schemas").await;
    assert_scim_ok(&r);
    assert_eq!(r.body["schemas"], json!([LIST_URN]));
    let list = r.body["Resources"].as_array().expect("Resources");
    assert_eq!(r.body["totalResults"].as_u64(), Some(list.len() as u64));
    assert_eq!(r.body["itemsPerPage"].as_u64(), Some(list.len() as u64));
    assert_eq!(r.body["startIndex"], 1);
    let listed: Vec<&str> = list.iter().map(|s| s["id"].as_str().unwrap()).collect();
    for urn in [USER_URN, ENT_URN, SPC_URN, RT_URN, SCHEMA_URN] {
        assert!(listed.contains(&urn), "/Schemas lists {urn}: {listed:?}");
    }
    for s in list {
        let id = s["id"].as_str().unwrap();
        assert_eq!(s["schemas"], json!([SCHEMA_URN]), "{id}");
        assert!(s["name"].as_str().is_some_and(|n| !n.is_empty()), "{id}");
        assert_eq!(s["meta"]["resourceType"], "Schema", "{id}");
        assert_eq!(s["meta"]["location"], format!("{}/Schemas/{id}", app.base), "{id}");
        let attrs = s["attributes"].as_array().unwrap_or_else(|| panic!("{id}: attributes"));
        assert!(!attrs.is_empty(), "{id}");
        check_attributes(id, attrs, "");
        // /Schemas/{urn} serves the same document (RFC 7644 §4).
        let one = get_anonymous(&app, &format!("/Schemas/{id}")).await;
        assert_scim_ok(&one);
        assert_eq!(&one.body, s, "/Schemas/{id}");
    }
    let user_schema = list.iter().find(|s| s["id"] == USER_URN).unwrap();
    let user_name = find_attr(user_schema, "userName");
    assert_eq!(user_name["required"], true, "RFC 7643 §4.1.1");
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(user_name["type"], "string");
    assert_eq!(user_name["multiValued"], false);
    let password = find_attr(user_schema, "password");
    assert_eq!(password["mutability"], "writeOnly", "RFC 7643 §4.1.1");
    assert_eq!(password["returned"], "never");
    let emails = find_attr(user_schema, "emails");
    assert_eq!(emails["multiValued"], true);
    assert_eq!(emails["type"], "complex");
    let ent = list.iter().find(|s| s["id"] == ENT_URN).unwrap();
    assert_eq!(find_attr(ent, "department")["type"], "string");
    assert_eq!(find_attr(ent, "manager")["type"], "complex");
}

/// RFC 7644 §3.12: an unknown schema is a 404 SCIM error.
#[tokio::test]
async fn unknown_schema_is_404() {
    let app = TestApp::spawn().await;
    let r = get_anonymous(&app, "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Widget").await;
    r.assert_error(404, None);
    get_anonymous(&app, "/Schemas/nonsense").await.assert_error(404, None);
    get_anonymous(&app, "/ResourceTypes/Widget").await.assert_error(404, None);
}

/// RFC 7643 §6: /ResourceTypes lists User, served at /Users with the Enterprise extension
/// optional.
#[tokio::test]
async fn resource_types() {
    let app = TestApp::spawn().await;
    let r = get_anonymous(&app, "/ResourceTypes").await;
    assert_scim_ok(&r);
    assert_eq!(r.body["schemas"], json!([LIST_URN]));
    let list = r.body["Resources"].as_array().expect("Resources");
    assert_eq!(r.body["totalResults"].as_u64(), Some(list.len() as u64));
    let user_rt = list.iter().find(|rt| rt["name"] == "User").expect("a User resource type");
    let one = get_anonymous(&app, "/ResourceTypes/User").await;
    assert_scim_ok(&one);
    assert_eq!(&one.body, user_rt);
    let b = &one.body;
    assert_eq!(b["schemas"], json!([RT_URN]));
    assert_eq!(b["id"], "User");
    assert_eq!(b["endpoint"], "/Users");
    assert_eq!(b["schema"], USER_URN);
    assert_eq!(
        b["schemaExtensions"],
        json!([
            {"schema": ENT_URN, "required": false},
            {"schema": "urn:ietf:params:scim:schemas:extension:scimbox:2.0:User", "required": false}
        ])
    );
    assert_eq!(b["meta"]["resourceType"], "ResourceType");
    assert_eq!(b["meta"]["location"], format!("{}/ResourceTypes/User", app.base));
    // Every schema a resource type names is served.
    for rt in list {
        let s = get_anonymous(&app, &format!("/Schemas/{}", rt["schema"].as_str().unwrap())).await;
        assert_scim_ok(&s);
    }
}

const DISCOVERY: [&str; 5] = [
    "/ServiceProviderConfig",
    "/Schemas",
    "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
    "/ResourceTypes",
    "/ResourceTypes/User",
];

/// RFC 7644 §4: the discovery endpoints are GET-only; other methods are 405 as SCIM errors
/// (RFC 7644 §3.12).
#[tokio::test]
async fn discovery_endpoints_refuse_other_methods() {
    let app = TestApp::spawn().await;
    let body = json!({"schemas": [SCHEMA_URN]});
    for path in DISCOVERY {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let with_body = if method == Method::DELETE { None } else { Some(&body) };
            let r = app.send(method.clone(), path, with_body, &[]).await;
            let detail = r.assert_error(405, None);
            assert!(detail.contains(method.as_str()), "{method} {path}: {detail}");
        }
    }
}

/// RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field in a 405 response
/// containing a list of the target resource's currently supported methods."
#[tokio::test]
async fn method_not_allowed_lists_allow() {
    let app = TestApp::spawn().await;
    for path in DISCOVERY {
        let r = app.send(Method::DELETE, path, None, &[]).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let allow = r.header("allow").unwrap_or_else(|| panic!("DELETE {path}: 405 without an Allow header"));
        assert!(allow.contains("GET"), "DELETE {path}: Allow {allow}");
    }
}

/// RFC 7644 §4: "If a "filter" is provided, the service provider SHOULD respond with HTTP
/// status code 403 (Forbidden)"; other query parameters are ignored.
#[tokio::test]
async fn discovery_filter_is_403_other_params_ignored() {
    let app = TestApp::spawn().await;
    for path in ["/Schemas", "/ResourceTypes"] {
        let r = get_anonymous(&app, &format!("{path}?filter=id%20eq%20%22x%22")).await;
        r.assert_error(403, None);
        let plain = get_anonymous(&app, path).await;
        let r = get_anonymous(&app, &format!("{path}?count=1&startIndex=2&sortBy=id&aadOptscim062020")).await;
        assert_scim_ok(&r);
        assert_eq!(r.body, plain.body, "{path}: paging and sorting are ignored");
    }
}

/// RFC 7644 §3.11: /Me is optional; scimbox answers 501 Not Implemented.
#[tokio::test]
async fn me_is_not_implemented() {
    let app = TestApp::spawn().await;
    for (method, path) in [(Method::GET, "/Me"), (Method::DELETE, "/Me"), (Method::GET, "/Me/anything")] {
        let r = app.send(method.clone(), path, None, &[]).await;
        r.assert_error(501, None);
    }
    let r = app.post("/Me", &user("me")).await;
    r.assert_error(501, None);
}

/// RFC 7644 §3.12: an unknown endpoint is a 404 SCIM error, inside and outside the base path.
#[tokio::test]
async fn unknown_paths_are_scim_404() {
    let app = TestApp::spawn().await;
    for path in ["/Widgets", "/Nope", "/Users/abc/def"] {
        let r = app.get(path).await;
        r.assert_error(404, None);
    }
    let r = app.get(&format!("{}/not-scim", app.origin)).await;
    r.assert_error(404, None);
    let r = app.get(&format!("{}/Users/does-not-exist", app.base)).await;
    r.assert_error(404, None);
}

/// IdPs join URLs carelessly (idp-behaviour §2.1): `//Users` and `/Users/` route like `/Users`.
#[tokio::test]
async fn double_and_trailing_slashes_route_normally() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&user("slashy")).await;
    let id = created["id"].as_str().unwrap();
    for path in ["//Users", "/Users/", "//Users//", "/Users?filter=userName%20eq%20%22slashy%22"] {
        let r = app.get(path).await;
        assert_scim_ok(&r);
        assert_eq!(r.body["schemas"], json!([LIST_URN]), "{path}");
        assert_eq!(r.body["totalResults"], 1, "{path}");
    }
    let r = app.get(&format!("{}//scim//v2//Users/{id}/", app.origin)).await;
    assert_scim_ok(&r);
    assert_eq!(r.body["id"], id);
    let r = app.get("/Users/?filter=userName%20eq%20%22nobody%22").await;
    assert_scim_ok(&r);
    assert_eq!(r.body["totalResults"], 0, "the query survives normalisation");
    let r = get_anonymous(&app, "/ServiceProviderConfig/").await;
    assert_scim_ok(&r);
}

/// `--base-path` (config.base_path) moves every endpoint, and `meta.location` / `Location`
/// follow it (RFC 7644 §3.1: the Location header and meta.location are the resource's URI).
#[tokio::test]
async fn custom_base_path() {
    let app = TestApp::spawn_with(|c| c.with_base_path("/custom/prefix")).await;
    assert_eq!(app.base, format!("{}/custom/prefix", app.origin));
    let r = app.post("/Users", &user("based")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap();
    let want = format!("{}/custom/prefix/Users/{id}", app.origin);
    assert_eq!(r.body["meta"]["location"], want);
    assert_eq!(r.header("location"), Some(want.as_str()));
    let got = app.get(&want).await;
    assert_scim_ok(&got);
    assert_eq!(got.body["meta"]["location"], want);
    let list = app.get("/Users").await;
    assert_eq!(list.body["Resources"][0]["meta"]["location"], want);
    let spc = get_anonymous(&app, "/ServiceProviderConfig").await;
    assert_scim_ok(&spc);
    assert_eq!(spc.body["meta"]["location"], format!("{}/custom/prefix/ServiceProviderConfig", app.origin));
    let schema = get_anonymous(&app, &format!("/Schemas/{USER_URN}")).await;
    assert_eq!(schema.body["meta"]["location"], format!("{}/custom/prefix/Schemas/{USER_URN}", app.origin));
    // The default base is not served any more.
    app.get(&format!("{}/scim/v2/Users", app.origin)).await.assert_error(404, None);
    // /healthz stays at the root.
    let h = app.client.get(format!("{}/healthz", app.origin)).send().await.unwrap();
    assert_eq!(h.status(), StatusCode::OK);
}

/// The base path is normalised (leading slash, no trailing slash), and an empty one serves SCIM
/// at the root.
#[tokio::test]
async fn base_path_normalisation() {
    let app = TestApp::spawn_with(|c| c.with_base_path("tenant/a/")).await;
    assert_eq!(app.base, format!("{}/tenant/a", app.origin));
    let created = app.create_user(&user("norm")).await;
    assert_eq!(
        created["meta"]["location"],
        format!("{}/tenant/a/Users/{}", app.origin, created["id"].as_str().unwrap())
    );
    let root = TestApp::spawn_with(|c| c.with_base_path("/")).await;
    assert_eq!(root.base, root.origin);
    let created = root.create_user(&user("rooted")).await;
    assert_eq!(created["meta"]["location"], format!("{}/Users/{}", root.origin, created["id"].as_str().unwrap()));
    assert_scim_ok(&get_anonymous(&root, "/ServiceProviderConfig").await);
    let h = root.client.get(format!("{}/healthz", root.origin)).send().await.unwrap();
    assert_eq!(h.status(), StatusCode::OK);
}

const SCIMBOX_URN: &str = "urn:ietf:params:scim:schemas:extension:scimbox:2.0:User";

/// Runs `scimbox ARGS --db <the app's database>` (the real binary, beside the running server),
/// asserting success.
fn cli(app: &TestApp, args: &[&str]) {
    let out = std::process::Command::new(crate::helpers::bin())
        .args(args)
        .arg("--db")
        .arg(&app.db_path)
        .env_remove("SCIMBOX_DB")
        .output()
        .expect("run scimbox");
    assert!(out.status.success(), "scimbox {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The `accounts` attribute of the core User schema and of the scimbox extension, as `/Schemas`
/// and `/Schemas/{urn}` serve them to this request (with the token when `authed`); both places
/// and both endpoints must say the same.
async fn accounts_attr(app: &TestApp, authed: bool) -> Value {
    let fetch = |path: String| async move {
        let r = if authed { app.get(&path).await } else { get_anonymous(app, &path).await };
        assert_scim_ok(&r);
        assert_eq!(r.header("vary"), Some("Authorization"), "{path}: the answer depends on the token");
        r.body
    };
    let list = fetch("/Schemas".to_owned()).await;
    let mut seen = Vec::new();
    for urn in [USER_URN, SCIMBOX_URN] {
        let listed = list["Resources"].as_array().unwrap().iter().find(|s| s["id"] == urn).unwrap().clone();
        let one = fetch(format!("/Schemas/{urn}")).await;
        assert_eq!(one, listed, "/Schemas/{urn}");
        seen.push(find_attr(&one, "accounts").clone());
    }
    // The core attribute is multi-valued, the extension's singular (Entra's ONE string): apart
    // from that and the shape its description states, both describe the same registry.
    let (mut core, mut ext) = (seen[0].clone(), seen[1].clone());
    assert_eq!((&core["multiValued"], &ext["multiValued"]), (&Value::Bool(true), &Value::Bool(false)));
    assert_eq!(core["canonicalValues"], ext["canonicalValues"], "one example for both places");
    let tail = |d: &Value| {
        d.as_str().and_then(|d| d.split_once("(Active, the default, or Inactive).")).map(|(_, t)| t.to_owned())
    };
    assert_eq!(tail(&core["description"]), tail(&ext["description"]), "the same registry");
    for a in [&mut core, &mut ext] {
        for k in ["multiValued", "description"] {
            a.as_object_mut().unwrap().shift_remove(k);
        }
    }
    assert_eq!(core, ext);
    seen.remove(0)
}

/// Issue 13 item 4: the `accounts` attribute's example (its one canonical value) names an
/// account of this server's registry and a catalogued role, read when `/Schemas` is served, so
/// it follows the registry as the CLI changes it; with no account registered there is no
/// example and the description says to register accounts first. The example is a payload the
/// server accepts: a generic checker that sends it creates a user.
#[tokio::test]
async fn schemas_example_follows_the_registry() {
    let app = TestApp::spawn().await;
    let empty = accounts_attr(&app, true).await;
    assert!(empty.get("canonicalValues").is_none(), "no example without a registered account: {empty}");
    let description = empty["description"].as_str().unwrap();
    assert!(
        description.contains("register accounts first") && description.contains("`scimbox account add`"),
        "{description}"
    );

    cli(&app, &["account", "add", "ACC-7F3A", "--name", "Chosen by nobody"]);
    let one = accounts_attr(&app, true).await;
    let payload = r#"{"accountId":"ACC-7F3A","roles":[],"teams":[],"status":"Active"}"#;
    assert_eq!(one["canonicalValues"], json!([payload]), "any role is accepted: the example names none");
    assert!(one["description"].as_str().unwrap().contains(payload), "{one}");

    cli(&app, &["role", "add", "Reader"]);
    cli(&app, &["account", "add", "ACC-0B11", "--name", "First in id order"]);
    let two = accounts_attr(&app, true).await;
    let payload = r#"{"accountId":"ACC-0B11","roles":["Reader"],"teams":[],"status":"Active"}"#;
    assert_eq!(two["canonicalValues"], json!([payload]));
    let description = two["description"].as_str().unwrap();
    assert!(description.contains(payload) && description.contains("`scimbox role add`"), "{description}");
    assert!(!description.contains("ACC123"), "no made-up account: {description}");

    // What a checker builds from the schema passes, in the core attribute and the extension.
    let mut body = user("example-user");
    body["accounts"] = json!([payload]);
    body[SCIMBOX_URN] = json!({"accounts": [payload]});
    let created = app.post("/Users", &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);

    cli(&app, &["account", "remove", "ACC-0B11"]);
    let back = accounts_attr(&app, true).await;
    assert_eq!(
        back["canonicalValues"],
        json!([r#"{"accountId":"ACC-7F3A","roles":["Reader"],"teams":[],"status":"Active"}"#])
    );
}

/// Discovery needs no token, but the registry's account ids are the deployment's: an anonymous
/// request (or one with a token the server does not know) is shown no registered name, only
/// where to register accounts.
#[tokio::test]
async fn schemas_show_no_account_to_anonymous_requests() {
    let app = TestApp::spawn().await;
    cli(&app, &["account", "add", "ACC-SECRET", "--name", "A customer"]);
    let anon = accounts_attr(&app, false).await;
    assert!(anon.get("canonicalValues").is_none(), "{anon}");
    assert!(!anon.to_string().contains("ACC-SECRET"), "{anon}");
    assert!(anon["description"].as_str().unwrap().contains("`scimbox account add`"), "{anon}");
    let url = format!("{}/Schemas/{USER_URN}", app.base);
    let r = app.client.get(url).bearer_auth("not-a-token").send().await.expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    assert_eq!(find_attr(&body, "accounts"), &anon, "a bad token sees what an anonymous request sees");
    assert!(accounts_attr(&app, true).await.to_string().contains("ACC-SECRET"));
}
