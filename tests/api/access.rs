//! The access model end to end through the real server (issue 4, items 1-5; the rules are in
//! `validator-wasm/src/accounts.rs` and `validator-wasm/src/access.rs`): the `accounts` payloads
//! in every form an IdP sends them, refused payloads with their exact detail and nothing stored,
//! PUT and PATCH on `accounts`, effective `access` over the account tree, filtering by access,
//! the schemas, the required-attributes setting, and `scimbox token show` after Entra requests.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use scimbox::Config;
use scimbox::db::{StoreError, accounts};
use serde_json::{Value, json};

use crate::auth_tokens::{Server, cli, create_token};
use crate::helpers::{Resp, TestApp, bin, form_encode, user};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const EXT: &str = "urn:ietf:params:scim:schemas:extension:scimbox:2.0:User";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What every "not registered" detail lists for [`tree`]'s accounts.
const REGISTERED: &str = "registered: ACC1, CHILD1, CHILD2, PARENT";

// ---------------------------------------------------------------------------------------------
// Helpers

/// `urn:...:scimbox:2.0:User:NAME`.
fn ext(name: &str) -> String {
    format!("{EXT}:{name}")
}

fn now() -> String {
    scimbox::stamp::timestamp(scimbox::clock::now())
}

async fn register(app: &TestApp, list: &[(&str, Option<&str>)]) {
    crate::helpers::register_accounts(app, list).await;
}

/// The standard tree: ACC1 standalone; PARENT with CHILD1 and CHILD2.
async fn tree(app: &TestApp) {
    register(app, &[("ACC1", None), ("PARENT", None), ("CHILD1", Some("PARENT")), ("CHILD2", Some("PARENT"))]).await;
}

/// Runs one registry change in the server's writer.
async fn registry<F>(app: &TestApp, f: F)
where
    F: FnOnce(&scimbox::db::sql::Connection) -> Result<(), StoreError> + Send + 'static,
{
    app.db.write(f).await.expect("registry change");
}

async fn add_roles(app: &TestApp, roles: &[&str]) {
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    registry(app, move |c| roles.iter().try_for_each(|r| accounts::add_role(c, r, &now()))).await;
}

/// One expected `access` entry.
fn entry(id: &str, roles: &[&str], teams: &[&str], status: &str, from: Option<&str>) -> Value {
    let mut e = json!({"accountId": id, "roles": roles, "teams": teams, "status": status});
    if let Some(f) = from {
        e["inheritedFrom"] = json!(f);
    }
    e
}

/// A user body with `accounts` under `key`.
fn with_accounts(user_name: &str, key: &str, accounts: Value) -> Value {
    let mut b = user(user_name);
    b[key] = accounts;
    b
}

fn patch_body(ops: Value) -> Value {
    json!({"schemas": [PATCH_URN], "Operations": ops})
}

fn id_of(res: &Value) -> String {
    res["id"].as_str().expect("id").to_owned()
}

/// GET /Users/{id} asking for the effective access; returns it (`Null` when the user has none).
async fn access(app: &TestApp, id: &str) -> Value {
    let q = form_encode(&[("attributes", &ext("access"))]);
    let r = app.get(&format!("/Users/{id}?{q}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body[EXT]["access"].clone()
}

/// Asserts that the user at `path` is exactly `before` (version included).
async fn unchanged(app: &TestApp, path: &str, before: &Value, label: &str) {
    let now = app.get(path).await;
    assert_eq!(&now.body, before, "{label}: the user changed");
}

/// PATCH `ops` on `path`, asserting 200; returns the body.
async fn patch_ok(app: &TestApp, path: &str, ops: Value) -> Value {
    let r = app.patch(path, &patch_body(ops)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

/// Asserts that no user is called `user_name`: a refused request stored nothing.
#[track_caller]
fn assert_absent(list: &Resp, user_name: &str) {
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.body["totalResults"], 0, "{user_name} was stored: {}", list.text);
}

async fn nobody(app: &TestApp, user_name: &str) {
    let list = app.filter(&format!("userName eq \"{user_name}\"")).await;
    assert_absent(&list, user_name);
}

/// Asserts a 400 with this scimType and exact detail.
#[track_caller]
fn assert_refused(r: &Resp, scim_type: &str, detail: &str) {
    let got = r.assert_error(400, Some(scim_type));
    assert_eq!(got, detail, "{}", r.text);
}

/// The sorted userNames of a ListResponse.
fn user_names(list: &Resp) -> Vec<String> {
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let mut names: Vec<String> = list.body["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .map(|r| r["userName"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

/// GET /Users?filter=F&attributes=userName.
async fn find(app: &TestApp, filter: &str) -> Vec<String> {
    let q = form_encode(&[("filter", filter), ("attributes", "userName")]);
    user_names(&app.get(&format!("/Users?{q}")).await)
}

// ---------------------------------------------------------------------------------------------
// §2: the forms an IdP sends, stored and returned as sent (issue 13 §1)

/// Okta's list of payload strings, Entra's one string under the scimbox extension (as a
/// URN-qualified key and inside the extension object), one string holding one payload, and
/// payload objects: all stored and returned as sent, where they were sent, as a list (issue 13
/// changed this test: payloads used to be rewritten as canonical strings).
#[tokio::test]
async fn accounts_in_every_idp_form_are_stored_and_returned_as_sent() {
    let app = TestApp::spawn().await;
    tree(&app).await;

    // Okta: a JSON array of payload strings; roles/teams string or list, status any case.
    let okta = json!([
        r#"{"accountId":"PARENT","roles":"Editor","teams":"Marketing","status":"Active"}"#,
        r#"{"accountId":"ACC1","roles":["Viewer","Editor","Viewer"],"teams":["A","B"],"status":"inactive"}"#,
        r#"{"accountId":"CHILD1"}"#,
        r#"{"accountId":"CHILD2","roles":null,"teams":"","status":"ACTIVE"}"#,
    ]);
    let created = app.create_user(&with_accounts("okta", "accounts", okta.clone())).await;
    assert_eq!(created["accounts"], okta, "{created}");
    assert_eq!(created["schemas"], json!([USER_URN, EXT]), "the access is in the extension: {created}");
    assert!(created[EXT].get("accounts").is_none(), "{created}");
    let id = id_of(&created);
    let got = app.get(&format!("/Users/{id}")).await;
    assert_eq!(got.body["accounts"], okta, "{}", got.text);

    // A PUT of what was returned changes nothing.
    let again = app.put(&format!("/Users/{id}"), &got.body).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["accounts"], okta);
    assert_eq!(again.body["meta"]["version"], got.body["meta"]["version"], "nothing changed: {}", again.text);

    // Entra: ONE string holding a JSON array, under the URN-qualified extension key: that one
    // value, in the extension.
    let entra = r#"[{"accountId":"ACC1","roles":"Editor","status":"ACTIVE"},{"accountId":"CHILD2","teams":"Ops"}]"#;
    let created = app.create_user(&with_accounts("entra-key", &ext("accounts"), json!(entra))).await;
    assert_eq!(created[EXT]["accounts"], json!(entra), "{created}");
    assert_eq!(created["schemas"], json!([USER_URN, EXT]), "{created}");
    assert!(created.get("accounts").is_none(), "kept where it was sent: {created}");
    let got = app.get(&format!("/Users/{}", id_of(&created))).await;
    assert_eq!(got.body[EXT]["accounts"], json!(entra), "{}", got.text);

    // Entra: the same string inside the extension object.
    let created = app.create_user(&with_accounts("entra-object", EXT, json!({"accounts": entra}))).await;
    assert_eq!(created[EXT]["accounts"], json!(entra), "{created}");
    assert_eq!(created["schemas"], json!([USER_URN, EXT]), "{created}");

    // One string holding one payload, in the core attribute.
    let one = r#"{"accountId":"ACC1"}"#;
    let created = app.create_user(&with_accounts("one-string", "accounts", json!(one))).await;
    assert_eq!(created["accounts"], json!([one]), "{created}");

    // Payload objects instead of strings, in a list and alone.
    let objects = json!([
        {"accountId": "PARENT", "roles": ["Editor"], "status": "INACTIVE"},
        {"accountId": "ACC1", "teams": ["Ops", "Ops"]},
    ]);
    let created = app.create_user(&with_accounts("objects", "accounts", objects.clone())).await;
    assert_eq!(created["accounts"], objects, "{created}");
    let lone = json!({"accountId": "CHILD1", "roles": "Viewer"});
    let created = app.create_user(&with_accounts("lone-object", "accounts", lone.clone())).await;
    assert_eq!(created["accounts"], json!([lone]), "{created}");

    // The same assignments in both places are one statement.
    let p = r#"{"accountId":"ACC1"}"#;
    let mut both = with_accounts("both-same", "accounts", json!([p]));
    both[EXT] = json!({"accounts": format!("[{p}]")});
    let r = app.post("/Users", &both).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

// ---------------------------------------------------------------------------------------------
// §2, §4: refusals

/// Every rule's refusal through POST: 400, the exact detail (index, line, column, fault), and
/// nothing stored.
#[tokio::test]
async fn invalid_payloads_are_refused_with_a_precise_detail_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    tree(&app).await;
    let v = "invalidValue";
    let s = "invalidSyntax";
    let cases: Vec<(&str, Value, &str, String)> = vec![
        (
            "unregistered-near",
            json!([r#"{"accountId":"CHILD3","roles":"Editor"}"#]),
            v,
            format!(
                r#"accounts[0] (line 1, column 14): account "CHILD3" is not registered ({REGISTERED}); did you mean "CHILD1"?"#
            ),
        ),
        (
            "unregistered",
            json!([r#"{"accountId":"ZZZ"}"#]),
            v,
            format!(r#"accounts[0] (line 1, column 14): account "ZZZ" is not registered ({REGISTERED})"#),
        ),
        (
            "missing-id",
            json!([r#"{"roles":"Editor"}"#]),
            v,
            r#"accounts[0]: "accountId" is required, e.g. {"accountId":"ACC123","roles":"Editor"}"#.into(),
        ),
        (
            "empty-id",
            json!([r#"{"accountId":""}"#]),
            v,
            r#"accounts[0] (line 1, column 14): "accountId" must not be empty; give the account's id, e.g. "ACC123""#
                .into(),
        ),
        (
            "misspelt-id",
            json!([r#"{"acountId":"ACC1"}"#]),
            v,
            r#"accounts[0] (line 1, column 2): unknown key "acountId"; did you mean "accountId"?"#.into(),
        ),
        (
            "misspelt-teams",
            json!([r#"{"accountId":"ACC1","team":"Ops"}"#]),
            v,
            r#"accounts[0] (line 1, column 21): unknown key "team"; did you mean "teams"?"#.into(),
        ),
        (
            "unknown-key",
            json!([r#"{"accountId":"ACC1","colour":"red"}"#]),
            v,
            r#"accounts[0] (line 1, column 21): unknown key "colour"; a payload has only "accountId", "roles", "teams" and "status""#.into(),
        ),
        (
            "bad-status",
            json!([r#"{"accountId":"ACC1","status":"Enabled"}"#]),
            v,
            r#"accounts[0] (line 1, column 30): "status" must be "Active" or "Inactive", got "Enabled""#.into(),
        ),
        (
            "duplicate",
            json!([r#"{"accountId":"ACC1"}"#, r#"{"accountId":"ACC1","roles":"Editor"}"#]),
            v,
            r#"accounts[1] (line 1, column 14): account "ACC1" is already given by accounts[0]; give each account once, with all its roles and teams in one payload"#.into(),
        ),
        (
            "trailing-comma",
            json!([r#"{"accountId":"ACC1",}"#]),
            s,
            "accounts[0] (line 1, column 20): trailing comma before }; remove the comma".into(),
        ),
        (
            "trailing-comma-line-2",
            json!(["{\n  \"accountId\": \"ACC1\",\n}"]),
            s,
            "accounts[0] (line 2, column 22): trailing comma before }; remove the comma".into(),
        ),
        (
            "block-comment",
            json!([r#"{"accountId":"ACC1" /* who */}"#]),
            s,
            "accounts[0] (line 1, column 21): comments are not allowed in JSON; remove the comment".into(),
        ),
        (
            "line-comment",
            json!(["{\n  \"accountId\": \"ACC1\" // main\n}"]),
            s,
            "accounts[0] (line 2, column 23): comments are not allowed in JSON; remove the comment".into(),
        ),
        (
            "bare-word",
            json!([r#"{"accountId":ACC1}"#]),
            s,
            r#"accounts[0] (line 1, column 14): unexpected word "ACC1"; text must be in double quotes: "ACC1""#.into(),
        ),
        (
            "single-quotes",
            json!([r#"{'accountId':'ACC1'}"#]),
            s,
            r#"accounts[0] (line 1, column 2): strings use double quotes: write "text", not 'text'"#.into(),
        ),
        (
            // Every fault of every payload, each with its index; the first fault's scimType.
            "several",
            json!([
                r#"{"accountId":"ACC1"}"#,
                r#"{"acountId":"CHILD1"}"#,
                r#"{"accountId":"CHILD2",}"#,
                r#"{"accountId":"ZZZ","status":"maybe"}"#,
            ]),
            v,
            [
                r#"accounts[1] (line 1, column 2): unknown key "acountId"; did you mean "accountId"?"#.to_owned(),
                "accounts[2] (line 1, column 22): trailing comma before }; remove the comma".to_owned(),
                format!(r#"accounts[3] (line 1, column 14): account "ZZZ" is not registered ({REGISTERED})"#),
                r#"accounts[3] (line 1, column 29): "status" must be "Active" or "Inactive", got "maybe""#.to_owned(),
            ]
            .join("; "),
        ),
        (
            "several-syntax-first",
            json!([r#"{"accountId":"ACC1",}"#, r#"{"accountId":"ZZZ"}"#]),
            s,
            format!(
                r#"accounts[0] (line 1, column 20): trailing comma before }}; remove the comma; accounts[1] (line 1, column 14): account "ZZZ" is not registered ({REGISTERED})"#
            ),
        ),
        (
            // Payload objects have no text, hence no position.
            "objects",
            json!([{"accountId": "ZZZ"}, {"accountId": "ACC1", "teams": [1]}]),
            v,
            format!(
                r#"accounts[0]: account "ZZZ" is not registered ({REGISTERED}); accounts[1]: "teams[0]" must be a non-empty string, got the number 1"#
            ),
        ),
        (
            "not-a-payload",
            json!([r#"{"accountId":"ACC1"}"#, 42]),
            v,
            r#"accounts[1]: a payload must be a JSON object such as {"accountId":"ACC123","roles":"Editor"}, got the number 42"#.into(),
        ),
    ];
    for (name, accounts, scim_type, detail) in &cases {
        let user_name = format!("core-{name}");
        let r = app.post("/Users", &with_accounts(&user_name, "accounts", accounts.clone())).await;
        assert_refused(&r, scim_type, detail);
        nobody(&app, &user_name).await;
    }

    // Entra's one string: indexes in the inner array, positions within the string.
    let entra: Vec<(&str, &str, &str, String)> = vec![
        (
            "several",
            r#"[{"acountId":"ACC1"},{"accountId":"ACC1","status":"x"},{"accountId":"ACC1"}]"#,
            v,
            [
                r#"accounts[0] (line 1, column 3): unknown key "acountId"; did you mean "accountId"?"#,
                r#"accounts[1] (line 1, column 51): "status" must be "Active" or "Inactive", got "x""#,
                r#"accounts[2] (line 1, column 69): account "ACC1" is already given by accounts[1]; give each account once, with all its roles and teams in one payload"#,
            ]
            .join("; "),
        ),
        (
            "trailing-comma",
            r#"[{"accountId":"ACC1"},]"#,
            s,
            "accounts (line 1, column 22): trailing comma before ]; remove the comma".into(),
        ),
        (
            "unregistered",
            r#"[{"accountId":"ACC1"},{"accountId":"ZZZ"}]"#,
            v,
            format!(r#"accounts[1] (line 1, column 36): account "ZZZ" is not registered ({REGISTERED})"#),
        ),
    ];
    for (name, text, scim_type, detail) in &entra {
        let user_name = format!("entra-key-{name}");
        let r = app.post("/Users", &with_accounts(&user_name, &ext("accounts"), json!(text))).await;
        assert_refused(&r, scim_type, detail);
        nobody(&app, &user_name).await;
        let user_name = format!("entra-object-{name}");
        let r = app.post("/Users", &with_accounts(&user_name, EXT, json!({"accounts": text}))).await;
        assert_refused(&r, scim_type, detail);
        nobody(&app, &user_name).await;
    }

    // The accounts given twice, differently: core and extension.
    let mut both = with_accounts("both-differ", "accounts", json!([r#"{"accountId":"ACC1"}"#]));
    both[EXT] = json!({"accounts": r#"[{"accountId":"PARENT"}]"#});
    let r = app.post("/Users", &both).await;
    assert_refused(
        &r,
        v,
        &format!(
            r#"accounts: the accounts are given twice, differently, as "accounts" and as "{EXT}:accounts"; send them once"#
        ),
    );
    nobody(&app, "both-differ").await;

    // Nothing at all was stored by any of this.
    let all = app.get("/Users").await;
    assert_eq!(all.body["totalResults"], 0, "{}", all.text);
}

/// A non-empty roles catalogue: only catalogued roles, compared ignoring case and returned in
/// the catalogue's spelling; an empty catalogue accepts any role.
#[tokio::test]
async fn roles_must_be_catalogued_once_the_catalogue_is_not_empty() {
    let app = TestApp::spawn().await;
    tree(&app).await;
    let created = app
        .create_user(&with_accounts("any-role", "accounts", json!([r#"{"accountId":"ACC1","roles":"Wizard"}"#])))
        .await;
    let wizard = [entry("ACC1", &["Wizard"], &[], "Active", None)];
    assert_eq!(created[EXT]["access"], json!(wizard), "empty catalogue: any role");

    // The payload keeps the IdP's spelling; the access speaks the catalogue's (issue 13 §1).
    add_roles(&app, &["Viewer", "Editor"]).await;
    let ok = json!([r#"{"accountId":"ACC1","roles":["editor","VIEWER","Editor"]}"#]);
    let created = app.create_user(&with_accounts("catalogued", "accounts", ok.clone())).await;
    assert_eq!(created["accounts"], ok, "{created}");
    let access = [entry("ACC1", &["Editor", "Viewer"], &[], "Active", None)];
    assert_eq!(created[EXT]["access"], json!(access), "{created}");

    let bad = json!([r#"{"accountId":"ACC1","roles":["editor","Admin"]}"#]);
    let r = app.post("/Users", &with_accounts("uncatalogued", "accounts", bad)).await;
    assert_refused(
        &r,
        "invalidValue",
        r#"accounts[0] (line 1, column 39): role "Admin" is not in the roles catalogue (catalogued: Editor, Viewer)"#,
    );
    nobody(&app, "uncatalogued").await;

    let near = json!([r#"{"accountId":"ACC1","roles":"Editr"}"#]);
    let r = app.post("/Users", &with_accounts("near-role", "accounts", near)).await;
    assert_refused(
        &r,
        "invalidValue",
        r#"accounts[0] (line 1, column 29): role "Editr" is not in the roles catalogue (catalogued: Editor, Viewer); did you mean "Editor"?"#,
    );
    nobody(&app, "near-role").await;
}

// ---------------------------------------------------------------------------------------------
// §4: PUT and PATCH

/// PUT and every PATCH form refuse invalid payloads with the exact detail and change nothing:
/// the user and its version stay as they were.
#[tokio::test]
async fn put_and_patch_refuse_invalid_payloads_and_change_nothing() {
    let app = TestApp::spawn().await;
    tree(&app).await;
    let mut body = with_accounts(
        "kept",
        "accounts",
        json!([r#"{"accountId":"PARENT","roles":"Viewer"}"#, r#"{"accountId":"ACC1"}"#]),
    );
    body["displayName"] = json!("Kept");
    let created = app.create_user(&body).await;
    let id = id_of(&created);
    let path = format!("/Users/{id}");
    let before = app.get(&path).await.body;

    // PUT: same rules, same details.
    let mut put = body.clone();
    put["accounts"] = json!([r#"{"accountId":"PARENT"}"#, r#"{"accountId":"CHILD9"}"#]);
    put["displayName"] = json!("Changed");
    let r = app.put(&path, &put).await;
    assert_refused(
        &r,
        "invalidValue",
        &format!(
            r#"accounts[1] (line 1, column 14): account "CHILD9" is not registered ({REGISTERED}); did you mean "CHILD1"?"#
        ),
    );
    unchanged(&app, &path, &before, "PUT unregistered").await;
    put["accounts"] = json!(r#"[{"accountId":"PARENT"} {"accountId":"ACC1"}]"#);
    let r = app.put(&path, &put).await;
    assert_refused(
        &r,
        "invalidSyntax",
        "accounts (line 1, column 25): missing ',' before this; separate the elements with commas",
    );
    unchanged(&app, &path, &before, "PUT syntax").await;

    // PATCH add one invalid payload: the index is its place in the resulting list.
    let ops = json!([{"op": "add", "path": "accounts", "value": [r#"{"accountId":"CHILD1","status":"on"}"#]}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    assert_refused(
        &r,
        "invalidValue",
        r#"Operations[0] (add accounts): accounts[2] (line 1, column 32): "status" must be "Active" or "Inactive", got "on""#,
    );
    unchanged(&app, &path, &before, "PATCH add").await;

    // A valid operation before the invalid one is not kept either.
    let ops = json!([
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "add", "path": "accounts", "value": r#"{"accountId":"CHILD1",}"#},
    ]);
    let r = app.patch(&path, &patch_body(ops)).await;
    assert_refused(
        &r,
        "invalidSyntax",
        "Operations[1] (add accounts): accounts[2] (line 1, column 22): trailing comma before }; remove the comma",
    );
    unchanged(&app, &path, &before, "PATCH two operations").await;

    // Adding an account the user already has.
    let ops = json!([{"op": "add", "path": "accounts", "value": r#"{"accountId":"ACC1","roles":"Editor"}"#}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    assert_refused(
        &r,
        "invalidValue",
        r#"Operations[0] (add accounts): accounts[2] (line 1, column 14): account "ACC1" is already given by accounts[1]; give each account once, with all its roles and teams in one payload"#,
    );
    unchanged(&app, &path, &before, "PATCH duplicate").await;

    // Replace the list: every fault, indexes in the new list.
    let ops = json!([{"op": "replace", "path": "accounts", "value": [
        r#"{"acountId":"ACC1"}"#, r#"{"accountId":"PARENT"}"#, r#"{"accountId":"ZZZ"}"#,
    ]}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    assert_refused(
        &r,
        "invalidValue",
        &format!(
            r#"Operations[0] (replace accounts): accounts[0] (line 1, column 2): unknown key "acountId"; did you mean "accountId"?; accounts[2] (line 1, column 14): account "ZZZ" is not registered ({REGISTERED})"#
        ),
    );
    unchanged(&app, &path, &before, "PATCH replace list").await;

    // Replace all without a path.
    let ops = json!([{"op": "replace", "value": {"accounts": [r#"{"accountId":ACC1}"#]}}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    assert_refused(
        &r,
        "invalidSyntax",
        r#"Operations[0] (replace (no path)): accounts[0] (line 1, column 14): unexpected word "ACC1"; text must be in double quotes: "ACC1""#,
    );
    unchanged(&app, &path, &before, "PATCH path-less").await;

    // The version really did not move.
    let now = app.get(&path).await;
    assert_eq!(now.body["meta"]["version"], created["meta"]["version"]);
    assert_eq!(now.header("etag"), created["meta"]["version"].as_str());
}

/// Every PATCH form on `accounts` works: add one, remove one by value, replace the list,
/// replace all without a path, remove all; every value kept as sent (issue 13 changed this
/// test: values used to be rewritten canonical).
#[tokio::test]
async fn patch_adds_removes_and_replaces_payloads() {
    let app = TestApp::spawn().await;
    tree(&app).await;
    let parent = r#"{ "accountId" : "PARENT" }"#;
    let created = app.create_user(&with_accounts("p", "accounts", json!([parent]))).await;
    let path = format!("/Users/{}", id_of(&created));

    // Add one (a string), add one (an object): the values already there keep their text.
    let acc1 = r#"{"accountId":"ACC1","roles":"editor"}"#;
    let b = patch_ok(&app, &path, json!([{"op": "add", "path": "accounts", "value": acc1}])).await;
    assert_eq!(b["accounts"], json!([parent, acc1]), "{b}");
    assert_ne!(b["meta"]["version"], created["meta"]["version"]);
    let child1 = json!({"accountId": "CHILD1", "status": "inactive"});
    let b = patch_ok(&app, &path, json!([{"op": "add", "path": "accounts", "value": [child1]}])).await;
    assert_eq!(b["accounts"], json!([parent, acc1, child1]), "{b}");

    // Remove one by value (the value is the stored text, as sent).
    let b = patch_ok(&app, &path, json!([{"op": "remove", "path": "accounts", "value": [acc1]}])).await;
    assert_eq!(b["accounts"], json!([parent, child1]), "{b}");

    // Replace the list.
    let child2 = r#"{"accountId":"CHILD2","teams":"Ops"}"#;
    let b = patch_ok(&app, &path, json!([{"op": "replace", "path": "accounts", "value": [child2]}])).await;
    assert_eq!(b["accounts"], json!([child2]), "{b}");

    // Replace all without a path.
    let b = patch_ok(&app, &path, json!([{"op": "replace", "value": {"accounts": [acc1, parent]}}])).await;
    assert_eq!(b["accounts"], json!([acc1, parent]), "{b}");

    // Remove all.
    let b = patch_ok(&app, &path, json!([{"op": "remove", "path": "accounts"}])).await;
    assert!(b.get("accounts").is_none(), "{b}");
    let got = app.get(&path).await;
    assert!(got.body.get("accounts").is_none(), "{}", got.text);
}

/// Entra ID cannot send a multi-valued custom attribute: it replaces the whole list as ONE string
/// (issue 4 §2), with a path to the extension attribute or without a path. PATCH must take that
/// form as POST and PUT do, and refuse a bad one with the usual detail.
#[tokio::test]
async fn entra_patch_replaces_accounts_given_as_one_string() {
    let app = TestApp::spawn().await;
    tree(&app).await;
    let entra = app
        .create_user(&with_accounts("e", &ext("accounts"), json!(r#"[{"accountId":"ACC1"},{"accountId":"PARENT"}]"#)))
        .await;
    let path = format!("/Users/{}", id_of(&entra));

    let ops =
        json!([{"op": "Replace", "path": ext("accounts"), "value": r#"[{"accountId":"CHILD1","roles":"Editor"}]"#}]);
    let b = patch_ok(&app, &path, ops).await;
    let one = r#"[{"accountId":"CHILD1","roles":"Editor"}]"#;
    assert_eq!(b[EXT]["accounts"], json!(one), "{b}");
    let got = app.get(&path).await;
    assert_eq!(got.body[EXT], b[EXT], "{}", got.text);

    let two = r#"[{"accountId":"CHILD2"},{"accountId":"ACC1"}]"#;
    let ops = json!([{"op": "Replace", "value": {ext("accounts"): two}}]);
    let b = patch_ok(&app, &path, ops).await;
    assert_eq!(b[EXT]["accounts"], json!(two), "{b}");

    let before = app.get(&path).await.body;
    let ops =
        json!([{"op": "Replace", "path": ext("accounts"), "value": r#"[{"accountId":"ACC1"},{"accountId":"ACC1"}]"#}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    assert_refused(
        &r,
        "invalidValue",
        &format!(
            r#"Operations[0] (replace {EXT}:accounts): accounts[1] (line 1, column 36): account "ACC1" is already given by accounts[0]; give each account once, with all its roles and teams in one payload"#
        ),
    );
    unchanged(&app, &path, &before, "PATCH Entra").await;
}

// ---------------------------------------------------------------------------------------------
// §5: effective access

/// A grant on a parent reaches its children, an explicit grant overrides the inherited one, a
/// child added later is reached without any user write, moves change what is inherited, a
/// deactivated user keeps its payloads with every entry Inactive, and a removed account leaves
/// its explicit entry without descendants.
#[tokio::test]
async fn effective_access_follows_the_account_tree() {
    let app = TestApp::spawn().await;
    tree(&app).await;
    let alice = app
        .create_user(&with_accounts(
            "alice",
            "accounts",
            json!([
                r#"{"accountId":"PARENT","roles":"Viewer","teams":"Ops"}"#,
                r#"{"accountId":"ACC1","roles":"Editor"}"#
            ]),
        ))
        .await;
    let bob = app
        .create_user(&with_accounts(
            "bob",
            "accounts",
            json!([
                r#"{"accountId":"PARENT","roles":"Viewer"}"#,
                r#"{"accountId":"CHILD1","roles":"Editor","teams":"Sales"}"#
            ]),
        ))
        .await;
    let (alice, bob) = (id_of(&alice), id_of(&bob));
    let viewer_ops = |id: &str, from: Option<&str>| entry(id, &["Viewer"], &["Ops"], "Active", from);
    let editor = |id: &str, from: Option<&str>| entry(id, &["Editor"], &[], "Active", from);

    // Tree order: roots by id (ACC1, PARENT), each parent before its children.
    let want = json!([
        editor("ACC1", None),
        viewer_ops("PARENT", None),
        viewer_ops("CHILD1", Some("PARENT")),
        viewer_ops("CHILD2", Some("PARENT")),
    ]);
    assert_eq!(access(&app, &alice).await, want);
    let bob_want = json!([
        entry("PARENT", &["Viewer"], &[], "Active", None),
        entry("CHILD1", &["Editor"], &["Sales"], "Active", None),
        entry("CHILD2", &["Viewer"], &[], "Active", Some("PARENT")),
    ]);
    assert_eq!(access(&app, &bob).await, bob_want, "the explicit grant on CHILD1 wins");

    // A child registered after the grant is reached; the user was not written.
    let before = app.get(&format!("/Users/{alice}")).await;
    register(&app, &[("CHILD3", Some("PARENT"))]).await;
    let want = json!([
        editor("ACC1", None),
        viewer_ops("PARENT", None),
        viewer_ops("CHILD1", Some("PARENT")),
        viewer_ops("CHILD2", Some("PARENT")),
        viewer_ops("CHILD3", Some("PARENT")),
    ]);
    assert_eq!(access(&app, &alice).await, want);
    let after = app.get(&format!("/Users/{alice}")).await;
    assert_eq!(after.body["meta"], before.body["meta"], "no user write");

    // Moves: CHILD2 under ACC1, CHILD3 under CHILD1 (the nearest explicit grant wins).
    registry(&app, |c| accounts::move_to(c, "CHILD2", Some("ACC1"), &now())).await;
    registry(&app, |c| accounts::move_to(c, "CHILD3", Some("CHILD1"), &now())).await;
    let want = json!([
        editor("ACC1", None),
        editor("CHILD2", Some("ACC1")),
        viewer_ops("PARENT", None),
        viewer_ops("CHILD1", Some("PARENT")),
        viewer_ops("CHILD3", Some("PARENT")),
    ]);
    assert_eq!(access(&app, &alice).await, want);
    let bob_want = json!([
        entry("PARENT", &["Viewer"], &[], "Active", None),
        entry("CHILD1", &["Editor"], &["Sales"], "Active", None),
        entry("CHILD3", &["Editor"], &["Sales"], "Active", Some("CHILD1")),
    ]);
    assert_eq!(access(&app, &bob).await, bob_want, "CHILD2 left PARENT; CHILD3 inherits from CHILD1");

    // Deactivation keeps the payloads; every entry is Inactive. Reactivation restores them.
    let payloads = app.get(&format!("/Users/{alice}")).await.body["accounts"].clone();
    let q = form_encode(&[("attributes", &format!("accounts,{}", ext("access")))]);
    let off = json!([{"op": "replace", "path": "active", "value": false}]);
    let r = app.patch(&format!("/Users/{alice}?{q}"), &patch_body(off)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["accounts"], payloads, "{}", r.text);
    let inactive: Vec<Value> = want
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e["status"] = json!("Inactive");
            e
        })
        .collect();
    assert_eq!(r.body[EXT]["access"], json!(inactive), "{}", r.text);
    assert_eq!(access(&app, &alice).await, json!(inactive));
    let got = app.get(&format!("/Users/{alice}")).await;
    assert_eq!((got.body["active"].clone(), got.body["accounts"].clone()), (json!(false), payloads));
    let on = json!([{"op": "replace", "path": "active", "value": true}]);
    let r = app.patch(&format!("/Users/{alice}"), &patch_body(on)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(access(&app, &alice).await, want);

    // Removing a granted account: CHILD2 moves back under PARENT first (a parent cannot be
    // removed); ACC1's explicit entry stays, last, reaching nothing.
    registry(&app, |c| accounts::move_to(c, "CHILD2", Some("PARENT"), &now())).await;
    registry(&app, |c| accounts::remove(c, "ACC1", &now())).await;
    let want = json!([
        viewer_ops("PARENT", None),
        viewer_ops("CHILD1", Some("PARENT")),
        viewer_ops("CHILD3", Some("PARENT")),
        viewer_ops("CHILD2", Some("PARENT")),
        editor("ACC1", None),
    ]);
    assert_eq!(access(&app, &alice).await, want);
    let got = app.get(&format!("/Users/{alice}")).await;
    assert_eq!(got.body["accounts"][1], r#"{"accountId":"ACC1","roles":"Editor"}"#, "the payload stays, as sent");
}

/// A user whose payload names an account that was removed since can still be deactivated and
/// edited by its IdP: the payload was valid when written, and the registry says a removed
/// account "simply no longer resolves" (server/src/db/accounts.rs `remove`). Refusing these
/// writes would leave the IdP unable to deprovision the user.
#[tokio::test]
async fn a_user_naming_a_removed_account_can_still_be_deactivated() {
    let app = TestApp::spawn().await;
    tree(&app).await;
    let created = app
        .create_user(&with_accounts(
            "orphan",
            "accounts",
            json!([r#"{"accountId":"ACC1","roles":"Editor"}"#, r#"{"accountId":"PARENT"}"#]),
        ))
        .await;
    let path = format!("/Users/{}", id_of(&created));
    registry(&app, |c| accounts::remove(c, "ACC1", &now())).await;

    let off = json!([{"op": "replace", "path": "active", "value": false}]);
    let r = app.patch(&path, &patch_body(off)).await;
    assert_eq!(r.status, StatusCode::OK, "deactivation must not re-check untouched payloads: {}", r.text);
    assert_eq!(r.body["active"], false);
    let name = json!([{"op": "replace", "path": "displayName", "value": "Orphan"}]);
    let r = app.patch(&path, &patch_body(name)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// `access` is `returned: default` and read-only (issue 13 §3 changed this test: it was
/// `returned: request`): present in every response (GET, list, `.search`, POST, PUT, PATCH),
/// dropped by `excludedAttributes` (its path, its short name, the whole extension) and by
/// `attributes` that do not name it, ignored in POST/PUT bodies, and a PATCH path to it is
/// `mutability`. A user without access has no `access` (and no extension) at all.
#[tokio::test]
async fn access_is_returned_by_default_and_never_written() {
    let app = TestApp::spawn().await;
    tree(&app).await;
    let forged = json!([{"accountId": "CHILD1", "roles": ["Owner"], "teams": [], "status": "Active"}]);
    let mut body = with_accounts("reader", "accounts", json!([r#"{"accountId":"ACC1","roles":"Viewer"}"#]));
    body[EXT] = json!({"access": forged});
    let want = json!([entry("ACC1", &["Viewer"], &[], "Active", None)]);
    let r = app.post("/Users", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "read-only input is ignored: {}", r.text);
    assert_eq!(r.body[EXT], json!({"access": want}), "computed, not the forged input: {}", r.text);
    assert_eq!(r.body["schemas"], json!([USER_URN, EXT]), "{}", r.text);
    let id = id_of(&r.body);
    let path = format!("/Users/{id}");

    // GET, list, .search.
    let got = app.get(&path).await;
    assert_eq!(got.body[EXT]["access"], want, "{}", got.text);
    let list = app.get("/Users").await;
    assert_eq!(list.body["Resources"][0][EXT]["access"], want, "{}", list.text);
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
    let found = app.post("/Users/.search", &search).await;
    assert_eq!(found.body["Resources"][0][EXT]["access"], want, "{}", found.text);

    // excludedAttributes drops it, by path, short name or whole extension; so do attributes
    // that do not name it (RFC 7644 §3.9). The extension goes from `schemas` with it.
    for excluded in [ext("access"), "access".to_owned(), EXT.to_owned()] {
        let q = form_encode(&[("excludedAttributes", &excluded)]);
        for r in [app.get(&format!("{path}?{q}")).await, app.get(&format!("/Users?{q}")).await] {
            let res = if r.body["Resources"].is_array() { &r.body["Resources"][0] } else { &r.body };
            assert!(res.get(EXT).is_none(), "excludedAttributes={excluded}: {}", r.text);
            assert_eq!(res["schemas"], json!([USER_URN]), "{}", r.text);
            assert!(res["accounts"].is_array(), "only access goes: {}", r.text);
        }
    }
    let q = form_encode(&[("attributes", "userName")]);
    assert!(app.get(&format!("{path}?{q}")).await.body.get(EXT).is_none());
    let q = form_encode(&[("attributes", "userName,access")]);
    assert_eq!(app.get(&format!("{path}?{q}")).await.body[EXT]["access"], want);
    let q = form_encode(&[("attributes", EXT)]);
    let got = app.get(&format!("{path}?{q}")).await;
    assert_eq!(got.body[EXT]["access"], want, "{}", got.text);
    let q = form_encode(&[("excludedAttributes", &ext("access.roles"))]);
    let got = app.get(&format!("{path}?{q}")).await;
    assert_eq!(got.body[EXT]["access"], json!([{"accountId": "ACC1", "teams": [], "status": "Active"}]));

    // A user with no access: no `access`, no extension (RFC 7643 §2.5: an empty multi-valued
    // attribute is unassigned).
    let plain = app.create_user(&user("plain")).await;
    assert!(plain.get(EXT).is_none(), "{plain}");
    assert_eq!(plain["schemas"], json!([USER_URN]), "{plain}");

    // POST and PUT with the default projection.
    let r = app.post("/Users", &with_accounts("r2", "accounts", json!(r#"{"accountId":"CHILD2"}"#))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body[EXT]["access"], json!([entry("CHILD2", &[], &[], "Active", None)]), "{}", r.text);
    let mut put = body.clone();
    put[EXT] = json!({"access": [{"accountId": "PARENT", "roles": ["Owner"]}]});
    let r = app.put(&path, &put).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body[EXT]["access"], want, "{}", r.text);

    // PATCH cannot write it; its response carries it.
    let before = app.get(&path).await.body;
    for op in ["add", "replace"] {
        let ops = json!([{"op": op, "path": ext("access"), "value": forged}]);
        let r = app.patch(&path, &patch_body(ops)).await;
        let d = r.assert_error(400, Some("mutability"));
        assert!(d.starts_with(&format!("Operations[0] ({op} ")), "{d}");
        assert!(d.contains("is readOnly and cannot be modified"), "{d}");
    }
    let ops = json!([{"op": "remove", "path": ext("access")}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    r.assert_error(400, Some("mutability"));
    let ops = json!([{"op": "replace", "path": "access"}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(app.get(&path).await.body, before, "nothing changed");
    let r = patch_ok(&app, &path, json!([{"op": "replace", "path": "displayName", "value": "R"}])).await;
    assert_eq!(r[EXT]["access"], want, "{r}");
}

/// `access[accountId eq ...]` finds users whose access comes by inheritance, as it is now (a
/// child registered later counts); `accounts co` and `eq` filter on the payload text as sent.
#[tokio::test]
async fn users_can_be_filtered_by_effective_access() {
    let app = TestApp::spawn().await;
    tree(&app).await;
    let accounts = |user_name: &str, key: &str, v: Value| with_accounts(user_name, key, v);
    app.create_user(&accounts("ann", "accounts", json!([r#"{"accountId":"PARENT"}"#]))).await;
    app.create_user(&accounts("ben", "accounts", json!([r#"{"accountId":"CHILD1","roles":"Editor"}"#]))).await;
    app.create_user(&accounts("cat", "accounts", json!([r#"{"accountId":"ACC1"}"#]))).await;
    app.create_user(&accounts("dan", "accounts", json!([r#"{"accountId":"CHILD2"}"#]))).await;
    app.create_user(&user("eve")).await;
    let fay = r#"[{"accountId":"ACC1"},{"accountId":"PARENT","status":"Inactive"}]"#;
    app.create_user(&accounts("fay", &ext("accounts"), json!(fay))).await;

    let by = |f: &str| format!("{}[{f}]", ext("access"));
    assert_eq!(find(&app, &by(r#"accountId eq "CHILD1""#)).await, ["ann", "ben", "fay"]);
    assert_eq!(find(&app, &by(r#"accountId eq "CHILD1" and inheritedFrom eq "PARENT""#)).await, ["ann", "fay"]);
    assert_eq!(find(&app, &by(r#"accountId eq "CHILD1" and status eq "Active""#)).await, ["ann", "ben"]);
    assert_eq!(find(&app, &by(r#"accountId eq "ACC1""#)).await, ["cat", "fay"]);
    assert_eq!(find(&app, &format!("{} pr", ext("access"))).await, ["ann", "ben", "cat", "dan", "fay"]);
    assert_eq!(find(&app, &format!("not ({} pr)", ext("access"))).await, ["eve"]);

    // A child registered now is reached through PARENT.
    register(&app, &[("CHILD4", Some("PARENT"))]).await;
    assert_eq!(find(&app, &by(r#"accountId eq "CHILD4""#)).await, ["ann", "fay"]);

    // Deactivated: still listed, but no longer Active.
    let ann = app.filter(r#"userName eq "ann""#).await.body["Resources"][0]["id"].as_str().unwrap().to_owned();
    let off = json!([{"op": "replace", "path": "active", "value": false}]);
    assert_eq!(app.patch(&format!("/Users/{ann}"), &patch_body(off)).await.status, StatusCode::OK);
    assert_eq!(find(&app, &by(r#"accountId eq "CHILD4""#)).await, ["ann", "fay"]);
    assert_eq!(find(&app, &by(r#"accountId eq "CHILD4" and status eq "Active""#)).await, Vec::<String>::new());

    // The stored payload strings.
    assert_eq!(find(&app, r#"accounts co "ACC1""#).await, ["cat"]);
    assert_eq!(find(&app, &format!(r#"{} co "ACC1""#, ext("accounts"))).await, ["fay"]);
    // The text as sent (issue 13 changed this: the canonical text was `"roles":["Editor"]`).
    assert_eq!(find(&app, r#"accounts co "\"roles\":\"Editor\"""#).await, ["ben"]);
    assert_eq!(find(&app, r#"accounts eq "{\"accountId\":\"CHILD1\",\"roles\":\"Editor\"}""#).await, ["ben"]);
    assert_eq!(find(&app, r#"accounts co "\"roles\":[\"Editor\"]""#).await, Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Discovery

/// `/Schemas` declares `accounts` in the core User schema and `accounts` + read-only `access`
/// (returned by default, issue 13 §3) in the scimbox extension; `/ResourceTypes/User` lists the
/// extension.
#[tokio::test]
async fn schemas_declare_accounts_and_access() {
    let app = TestApp::spawn().await;
    let attr = |schema: &Value, name: &str| -> Value {
        schema["attributes"]
            .as_array()
            .expect("attributes")
            .iter()
            .find(|a| a["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {schema}"))
    };

    let core = app.get(&format!("/Schemas/{USER_URN}")).await;
    assert_eq!(core.status, StatusCode::OK, "{}", core.text);
    let a = attr(&core.body, "accounts");
    assert_eq!(
        (&a["type"], &a["multiValued"], &a["mutability"], &a["returned"], &a["required"], &a["caseExact"]),
        (&json!("string"), &json!(true), &json!("readWrite"), &json!("default"), &json!(false), &json!(true)),
        "{a}"
    );

    let scimbox = app.get(&format!("/Schemas/{EXT}")).await;
    assert_eq!(scimbox.status, StatusCode::OK, "{}", scimbox.text);
    assert_eq!(scimbox.body["id"], EXT);
    let a = attr(&scimbox.body, "accounts");
    assert_eq!(
        (&a["type"], &a["multiValued"], &a["mutability"]),
        (&json!("string"), &json!(false), &json!("readWrite")),
        "singular: Entra sends ONE string here"
    );
    let x = attr(&scimbox.body, "access");
    assert_eq!(
        (&x["type"], &x["multiValued"], &x["mutability"], &x["returned"]),
        (&json!("complex"), &json!(true), &json!("readOnly"), &json!("default")),
        "{x}"
    );
    let subs: Vec<&str> =
        x["subAttributes"].as_array().expect("subAttributes").iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(subs, ["accountId", "roles", "teams", "status", "inheritedFrom"]);
    for s in x["subAttributes"].as_array().unwrap() {
        assert_eq!(s["mutability"], "readOnly", "{s}");
    }

    // The list of schemas carries it too.
    let all = app.get("/Schemas").await;
    let ids: Vec<&str> = all.body["Resources"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&EXT), "{ids:?}");

    let rt = app.get("/ResourceTypes/User").await;
    assert_eq!(rt.status, StatusCode::OK, "{}", rt.text);
    let exts = rt.body["schemaExtensions"].as_array().expect("schemaExtensions");
    assert!(exts.contains(&json!({"schema": EXT, "required": false})), "{}", rt.text);
}

// ---------------------------------------------------------------------------------------------
// §3: required attributes

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The core User schema's `required` flags: `(path, required)` for every attribute and
/// sub-attribute marked required.
async fn required_in_schemas(app: &TestApp) -> Vec<String> {
    let r = app.get(&format!("/Schemas/{USER_URN}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut out = Vec::new();
    for a in r.body["attributes"].as_array().unwrap() {
        let name = a["name"].as_str().unwrap();
        if a["required"] == true {
            out.push(name.to_owned());
        }
        for s in a["subAttributes"].as_array().into_iter().flatten() {
            if s["required"] == true {
                out.push(format!("{name}.{}", s["name"].as_str().unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// With `name.givenName`, `name.familyName` and `accounts` required: a user lacking any one is
/// refused naming it (POST, PUT, PATCH), Entra's form satisfies `accounts`, and `/Schemas` shows
/// them as required.
#[tokio::test]
async fn required_attributes_are_a_setting() {
    let app = TestApp::spawn_with(|c| {
        c.with_required(&strings(&["name.givenName", "name.familyName", "accounts"])).expect("valid setting")
    })
    .await;
    tree(&app).await;
    assert_eq!(required_in_schemas(&app).await, ["accounts", "name.familyName", "name.givenName", "userName"]);

    let full = |user_name: &str| {
        let mut b = with_accounts(user_name, "accounts", json!([r#"{"accountId":"ACC1"}"#]));
        b["name"] = json!({"givenName": "Ada", "familyName": "Lovelace"});
        b
    };
    let missing = |attr: &str| format!("the required attribute \"{attr}\" is missing from the User");

    let mut b = full("no-given");
    b["name"] = json!({"familyName": "Lovelace"});
    assert_refused(&app.post("/Users", &b).await, "invalidValue", &missing("name.givenName"));
    let mut b = full("no-family");
    b["name"] = json!({"givenName": "Ada"});
    assert_refused(&app.post("/Users", &b).await, "invalidValue", &missing("name.familyName"));
    let mut b = full("no-name");
    b.as_object_mut().unwrap().remove("name");
    assert_refused(&app.post("/Users", &b).await, "invalidValue", &missing("name.givenName"));
    let mut b = full("no-accounts");
    b.as_object_mut().unwrap().remove("accounts");
    assert_refused(&app.post("/Users", &b).await, "invalidValue", &missing("accounts"));
    for name in ["no-given", "no-family", "no-name", "no-accounts"] {
        nobody(&app, name).await;
    }

    // Entra's form, as a URN-qualified key or inside the extension object, satisfies it.
    let mut b = full("entra-key");
    b.as_object_mut().unwrap().remove("accounts");
    b[ext("accounts")] = json!(r#"[{"accountId":"ACC1"}]"#);
    app.create_user(&b).await;
    let mut b = full("entra-object");
    b.as_object_mut().unwrap().remove("accounts");
    b[EXT] = json!({"accounts": r#"[{"accountId":"PARENT"}]"#});
    app.create_user(&b).await;

    // PUT and PATCH keep the requirement.
    let created = app.create_user(&full("kept")).await;
    let path = format!("/Users/{}", id_of(&created));
    let mut b = full("kept");
    b.as_object_mut().unwrap().remove("accounts");
    assert_refused(&app.put(&path, &b).await, "invalidValue", &missing("accounts"));
    let ops = json!([{"op": "remove", "path": "accounts"}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    let d = r.assert_error(400, Some("invalidValue"));
    assert!(d.contains(&missing("accounts")), "{d}");
    let ops = json!([{"op": "remove", "path": "name.givenName"}]);
    let r = app.patch(&path, &patch_body(ops)).await;
    let d = r.assert_error(400, Some("invalidValue"));
    assert!(d.contains(&missing("name.givenName")), "{d}");
    assert_eq!(app.get(&path).await.body, created, "unchanged");
}

/// An empty `accounts` (an empty list, an empty string, a string holding `[]`) is unassigned
/// (RFC 7643 §2.5) and does not satisfy the requirement.
#[tokio::test]
async fn an_empty_accounts_value_does_not_satisfy_the_requirement() {
    let app = TestApp::spawn_with(|c| c.with_required(&strings(&["accounts"])).expect("valid setting")).await;
    tree(&app).await;
    let missing = "the required attribute \"accounts\" is missing from the User";
    for (i, empty) in [json!([]), json!(""), json!("[]"), json!([""])].into_iter().enumerate() {
        let name = format!("empty-{i}");
        let r = app.post("/Users", &with_accounts(&name, "accounts", empty.clone())).await;
        assert_refused(&r, "invalidValue", missing);
        nobody(&app, &name).await;
        let name = format!("empty-entra-{i}");
        let r = app.post("/Users", &with_accounts(&name, &ext("accounts"), empty)).await;
        assert_refused(&r, "invalidValue", missing);
        nobody(&app, &name).await;
    }
}

/// Without the setting only `userName` is required, in `/Schemas` and on POST.
#[tokio::test]
async fn by_default_only_user_name_is_required() {
    let app = TestApp::spawn().await;
    assert_eq!(required_in_schemas(&app).await, ["userName"]);
    app.create_user(&user("bare")).await;
    let r = app.post("/Users", &json!({"schemas": [USER_URN], "displayName": "No Name"})).await;
    let d = r.assert_error(400, Some("invalidValue"));
    assert!(d.contains("\"userName\""), "{d}");
}

/// An invalid setting is an error with a clear message, in the library and from `scimbox serve
/// --require`.
#[tokio::test]
async fn invalid_required_settings_are_refused() {
    let config = || Config::new("unused.db".into(), "127.0.0.1:0".parse().unwrap());
    let err = |paths: &[&str]| config().with_required(&strings(paths)).map(|_| ()).unwrap_err();
    assert_eq!(err(&["nosuch"]), "\"nosuch\" is not an attribute of the core User schema");
    assert_eq!(err(&["groups"]), "\"groups\" cannot be required: clients cannot set it (readOnly)");
    assert_eq!(err(&["name.nosuch"]), "\"name.nosuch\" is not an attribute of the core User schema");
    assert_eq!(
        err(&["emails.value"]),
        "\"emails.value\": a sub-attribute of a multi-valued attribute cannot be required"
    );
    assert_eq!(err(&["accounts", "nosuch"]), "\"nosuch\" is not an attribute of the core User schema");
    let ok = config().with_required(&strings(&["Name.GivenName", " accounts "])).expect("valid");
    assert_eq!(ok.required, ["name.givenName", "accounts"], "canonical casing");

    // The binary refuses to start with it.
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_db(dir.path()).await;
    let mut child = Command::new(bin())
        .args(["serve", "--db", db.to_str().unwrap(), "--listen", "127.0.0.1:0", "--require", "nosuch"])
        .env_remove("SCIMBOX_REQUIRE")
        .env_remove("SCIMBOX_BASE_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scimbox serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("scimbox serve --require nosuch kept running");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--require: \"nosuch\" is not an attribute of the core User schema"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// `scimbox token show`

/// Runs `scimbox token show --db DB NAME`.
fn token_show(db: &Path, name: &str) -> std::process::Output {
    cli(&["token", "show", "--db", db.to_str().unwrap(), name])
}

/// A request with a bearer token, an optional body and an optional User-Agent (none otherwise,
/// as Entra sends).
async fn send_raw(
    client: &reqwest::Client,
    method: Method,
    url: String,
    token: &str,
    body: Option<Value>,
    ua: Option<&str>,
) -> (StatusCode, Value, String) {
    let mut req = client.request(method, url).header("Authorization", format!("Bearer {token}"));
    if let Some(ua) = ua {
        req = req.header("User-Agent", ua);
    }
    if let Some(b) = body {
        req = req.header("Content-Type", "application/scim+json").body(b.to_string());
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let text = resp.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

/// The count on the first line of `out` whose whitespace-separated words start with `lead`.
fn count_after(out: &str, lead: &[&str]) -> Option<i64> {
    out.lines().find_map(|l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        (words.len() > lead.len() && words[..lead.len()] == *lead).then(|| words[lead.len()].parse().ok()).flatten()
    })
}

/// After Entra-style requests on a token (no User-Agent, capitalised ops, string booleans),
/// `scimbox token show` prints the clients and the departures it accepted, with counts; an
/// unknown name exits 1 with a clear message.
#[tokio::test]
async fn token_show_reports_what_an_entra_connection_sent() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_db(dir.path()).await;
    let token = create_token(&db, "entra", None);
    let add = cli(&["account", "add", "--db", db.to_str().unwrap(), "ACC1", "--name", "Acme"]);
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let server = Server::start(&db, &dir.path().join("log")).await;
    let client = reqwest::Client::new();
    let send = |method: Method, path: String, body: Option<Value>, ua: Option<&'static str>| {
        send_raw(&client, method, format!("{}{path}", server.base), &token, body, ua)
    };

    // Entra without the aadOptscim062020 flag: no User-Agent, the accounts as one string under
    // the extension, "Replace" and "False"/"True".
    let body = with_accounts("entra@example.com", &ext("accounts"), json!(r#"[{"accountId":"ACC1"}]"#));
    let (status, created, text) = send(Method::POST, "/Users".into(), Some(body), None).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let id = id_of(&created);
    for value in ["False", "True"] {
        let ops = patch_body(json!([{"op": "Replace", "path": "active", "value": value}]));
        let (status, _, text) = send(Method::PATCH, format!("/Users/{id}"), Some(ops), None).await;
        assert_eq!(status, StatusCode::OK, "{text}");
    }
    let (status, _, text) = send(Method::GET, format!("/Users/{id}"), None, Some("scimbox-test-client/1.0")).await;
    assert_eq!(status, StatusCode::OK, "{text}");

    // The recorder flushes every second: poll the report until it has everything (bounded).
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = loop {
        let out = token_show(&db, "entra");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let done = count_after(&text, &["(none", "sent)"]) == Some(3)
            && count_after(&text, &["scimbox-test-client/1.0"]) == Some(1)
            && count_after(&text, &["capitalised-op"]) == Some(2)
            && count_after(&text, &["string-boolean"]) == Some(2);
        if done || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(out.lines().any(|l| l.starts_with("entra")), "the token is listed:\n{out}");
    assert!(out.contains("CLIENT (User-Agent)"), "{out}");
    assert_eq!(count_after(&out, &["(none", "sent)"]), Some(3), "{out}");
    assert_eq!(count_after(&out, &["scimbox-test-client/1.0"]), Some(1), "{out}");
    assert_eq!(count_after(&out, &["capitalised-op"]), Some(2), "{out}");
    assert_eq!(count_after(&out, &["string-boolean"]), Some(2), "{out}");
    assert!(count_after(&out, &["no-user-agent"]).is_some_and(|n| n >= 3), "{out}");
    assert_eq!(count_after(&out, &["bare-token"]), None, "only what was sent: {out}");
    drop(server);

    let out = token_show(&db, "nosuch");
    assert_eq!(out.status.code(), Some(66), "not found (sysexits EX_NOINPUT)");
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no token named \"nosuch\""), "{err}");
}
