//! SCIM Bulk (RFC 7644 §3.7): the RFC's examples, bulkId references (forward and circular),
//! `failOnErrors`, preconditions, the limits of §3.7.4, and malformed input, which must never
//! produce a 5xx.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, user};

const BULK_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

fn request(ops: Value) -> Value {
    json!({"schemas": [BULK_URN], "Operations": ops})
}

async fn bulk(app: &TestApp, body: &Value) -> Resp {
    app.post("/Bulk", body).await
}

/// Asserts a 200 BulkResponse and returns its `Operations`.
#[track_caller]
fn operations(r: &Resp) -> Vec<Value> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    assert_eq!(r.body["schemas"], json!([BULK_RESPONSE_URN]), "{}", r.text);
    r.body["Operations"].as_array().expect("Operations").clone()
}

fn statuses(ops: &[Value]) -> Vec<&str> {
    ops.iter().map(|o| o["status"].as_str().unwrap_or("not a string")).collect()
}

/// Asserts that an operation failed with `status` and a SCIM error; returns the detail.
#[track_caller]
fn op_error(op: &Value, status: &str) -> String {
    assert_eq!(op["status"], status, "{op}");
    let resp = &op["response"];
    assert_eq!(resp["schemas"], json!([ERROR_URN]), "{op}");
    assert_eq!(resp["status"], status, "{op}");
    resp["detail"].as_str().filter(|d| !d.is_empty()).expect("a detail").to_owned()
}

/// The id at the end of a `location`.
fn id_of(op: &Value) -> String {
    let loc = op["location"].as_str().unwrap_or_else(|| panic!("no location: {op}"));
    loc.rsplit('/').next().unwrap_or_default().to_owned()
}

fn member_ids(group: &Value) -> Vec<&str> {
    group["members"].as_array().map(|a| a.iter().filter_map(|m| m["value"].as_str()).collect()).unwrap_or_default()
}

async fn count_users(app: &TestApp, user_name: &str) -> u64 {
    app.filter(&format!("userName eq \"{user_name}\"")).await.body["totalResults"].as_u64().unwrap_or(u64::MAX)
}

/// RFC 7644 §3.7.3, first example: add, replace, patch and delete users in one request; every
/// operation reports its status as a string, `location` and (but for DELETE) `version`.
#[tokio::test]
async fn rfc_example_post_put_patch_delete() {
    let app = TestApp::spawn().await;
    let bob = app.create_user(&user("bob.old")).await;
    let dave = app.create_user(&json!({"schemas": [USER_URN], "userName": "dave.old", "nickName": "Davey"})).await;
    let gone = app.create_user(&user("gone")).await;
    let (bob_id, dave_id, gone_id) =
        (bob["id"].as_str().unwrap(), dave["id"].as_str().unwrap(), gone["id"].as_str().unwrap());
    let body = json!({
        "schemas": [BULK_URN],
        "failOnErrors": 1,
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "qwerty",
             "data": {"schemas": [USER_URN], "userName": "Alice"}},
            {"method": "PUT", "path": format!("/Users/{bob_id}"), "version": bob["meta"]["version"],
             "data": {"schemas": [USER_URN], "id": bob_id, "userName": "Bob"}},
            {"method": "PATCH", "path": format!("/Users/{dave_id}"), "version": dave["meta"]["version"],
             "data": {"schemas": [PATCH_URN], "Operations": [
                 {"op": "remove", "path": "nickName"},
                 {"op": "replace", "path": "userName", "value": "Dave"}]}},
            {"method": "DELETE", "path": format!("/Users/{gone_id}"), "version": gone["meta"]["version"]},
        ]
    });
    let ops = operations(&bulk(&app, &body).await);
    assert_eq!(statuses(&ops), ["201", "200", "200", "204"]);
    assert_eq!(
        ops.iter().map(|o| o["method"].as_str().unwrap()).collect::<Vec<_>>(),
        ["POST", "PUT", "PATCH", "DELETE"]
    );
    assert_eq!(ops[0]["bulkId"], "qwerty");
    for (op, id) in ops[1..].iter().zip([bob_id, dave_id, gone_id]) {
        assert_eq!(op["location"], format!("{}/Users/{id}", app.base), "{op}");
        assert!(op.get("response").is_none() && op.get("bulkId").is_none(), "{op}");
    }
    assert!(ops[3].get("version").is_none(), "{}", ops[3]);
    let alice = app.get(&format!("/Users/{}", id_of(&ops[0]))).await;
    assert_eq!((alice.status, &alice.body["userName"]), (StatusCode::OK, &json!("Alice")));
    assert_eq!(ops[0]["location"], alice.body["meta"]["location"]);
    assert_eq!(ops[0]["version"], alice.body["meta"]["version"]);
    let bob = app.get(&format!("/Users/{bob_id}")).await.body;
    assert_eq!((&bob["userName"], &ops[1]["version"]), (&json!("Bob"), &bob["meta"]["version"]));
    let dave = app.get(&format!("/Users/{dave_id}")).await.body;
    assert_eq!(dave["userName"], "Dave");
    assert!(dave.get("nickName").is_none(), "{dave}");
    assert_eq!(app.get(&format!("/Users/{gone_id}")).await.status, StatusCode::NOT_FOUND);
}

/// RFC 7644 §3.7.3: without `failOnErrors` every operation is attempted; failures carry the SCIM
/// error in `response`, a failed POST has no `location`, and the request is still a 200.
#[tokio::test]
async fn without_fail_on_errors_every_operation_is_attempted() {
    let app = TestApp::spawn().await;
    let u = app.create_user(&user("target")).await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let stale = "W/\"999\"";
    let body = request(json!([
        {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": {"schemas": [USER_URN], "displayName": "no userName"}},
        {"method": "PUT", "path": path, "version": stale, "data": {"schemas": [USER_URN], "userName": "Bob"}},
        {"method": "PATCH", "path": path, "version": stale,
         "data": {"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "nickName", "value": "x"}]}},
        {"method": "DELETE", "path": "/Users/does-not-exist"},
        {"method": "POST", "path": "/Users", "bulkId": "ok", "data": user("still.created")},
    ]));
    let ops = operations(&bulk(&app, &body).await);
    assert_eq!(statuses(&ops), ["400", "412", "412", "404", "201"]);
    op_error(&ops[0], "400");
    assert!(ops[0].get("location").is_none(), "a failed POST has no location: {}", ops[0]);
    assert_eq!(ops[1]["location"], format!("{}{path}", app.base), "RFC 7644 §3.7.3: location of a failed PUT");
    assert!(op_error(&ops[1], "412").contains("If-Match"), "{}", ops[1]);
    let after = app.get(&path).await.body;
    assert_eq!((&after["userName"], &after["meta"]["version"]), (&json!("target"), &u["meta"]["version"]));
    assert_eq!(count_users(&app, "still.created").await, 1);
}

/// RFC 7644 §3.7.3: with `failOnErrors` = n, processing stops at the n-th error; later
/// operations are neither run nor listed, and earlier ones are not rolled back.
#[tokio::test]
async fn fail_on_errors_stops_processing() {
    let app = TestApp::spawn().await;
    let keep = app.create_user(&user("keep.me")).await;
    let keep_path = format!("/Users/{}", keep["id"].as_str().unwrap());
    let ops = json!([
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("first")},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("first")},
        {"method": "POST", "path": "/Users", "bulkId": "c", "data": user("third")},
        {"method": "DELETE", "path": keep_path},
    ]);
    let body = json!({"schemas": [BULK_URN], "failOnErrors": 1, "Operations": ops});
    let got = operations(&bulk(&app, &body).await);
    assert_eq!(statuses(&got), ["201", "409"], "the duplicate userName is the first error");
    assert_eq!(got[1]["response"]["scimType"], "uniqueness");
    assert_eq!(count_users(&app, "first").await, 1, "the first POST stays committed");
    assert_eq!(count_users(&app, "third").await, 0, "nothing after the error ran");
    assert_eq!(app.get(&keep_path).await.status, StatusCode::OK);
    // failOnErrors = 2 accepts one error and stops at the second.
    let ops = json!([
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("first")},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("second")},
        {"method": "POST", "path": "/Users", "bulkId": "c", "data": user("third")},
        {"method": "POST", "path": "/Users", "bulkId": "d", "data": user("third")},
        {"method": "POST", "path": "/Users", "bulkId": "e", "data": user("fifth")},
    ]);
    let body = json!({"schemas": [BULK_URN], "failOnErrors": 2, "Operations": ops});
    assert_eq!(statuses(&operations(&bulk(&app, &body).await)), ["409", "201", "201", "409"]);
    assert_eq!(count_users(&app, "fifth").await, 0);
}

/// RFC 7644 §3.7.2: a user created and added to a group through its bulkId, in one request.
#[tokio::test]
async fn user_created_and_added_to_a_group_by_bulk_id() {
    let app = TestApp::spawn().await;
    let body = request(json!([
        {"method": "POST", "path": "/Users", "bulkId": "qwerty",
         "data": {"schemas": [USER_URN], "userName": "Alice"}},
        {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
         "data": {"schemas": [GROUP_URN], "displayName": "Tour Guides",
                  "members": [{"type": "User", "value": "bulkId:qwerty"}]}},
    ]));
    let ops = operations(&bulk(&app, &body).await);
    assert_eq!(statuses(&ops), ["201", "201"]);
    let (user_id, group_id) = (id_of(&ops[0]), id_of(&ops[1]));
    assert!(ops[1]["location"].as_str().unwrap().ends_with(&format!("/Groups/{group_id}")));
    let group = app.get(&format!("/Groups/{group_id}")).await.body;
    assert_eq!(member_ids(&group), [user_id.as_str()], "{group}");
    let alice = app.get(&format!("/Users/{user_id}")).await.body;
    assert_eq!(alice["groups"][0]["value"], group_id, "{alice}");
}

/// Forward references: an operation may name a bulkId that a later POST declares; that POST
/// runs first, and the response still lists the operations in request order.
#[tokio::test]
async fn forward_references_run_their_post_first() {
    let app = TestApp::spawn().await;
    let body = request(json!([
        {"method": "POST", "path": "/Groups", "bulkId": "g",
         "data": {"schemas": [GROUP_URN], "displayName": "Early", "members": [{"value": "bulkId:u"}]}},
        {"method": "PATCH", "path": "/Users/bulkId:u",
         "data": {"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "displayName", "value": "Patched"}]}},
        {"method": "PUT", "path": "/Groups/bulkId:late",
         "data": {"schemas": [GROUP_URN], "displayName": "Late, renamed"}},
        {"method": "POST", "path": "/Users", "bulkId": "u", "data": user("late.user")},
        {"method": "POST", "path": "/Groups", "bulkId": "late", "data": {"schemas": [GROUP_URN], "displayName": "Late"}},
    ]));
    let ops = operations(&bulk(&app, &body).await);
    assert_eq!(statuses(&ops), ["201", "200", "200", "201", "201"]);
    assert_eq!(ops.iter().map(|o| &o["method"]).collect::<Vec<_>>(), ["POST", "PATCH", "PUT", "POST", "POST"]);
    let user_id = id_of(&ops[3]);
    assert_eq!(id_of(&ops[1]), user_id, "the PATCH reached the user created later in the list");
    let group = app.get(&format!("/Groups/{}", id_of(&ops[0]))).await.body;
    assert_eq!(member_ids(&group), [user_id.as_str()]);
    assert_eq!(app.get(&format!("/Users/{user_id}")).await.body["displayName"], "Patched");
    let late = app.get(&format!("/Groups/{}", id_of(&ops[4]))).await.body;
    assert_eq!(late["displayName"], "Late, renamed");
    assert_eq!(ops[4]["version"], json!("W/\"1\""), "the POST's own version, before the PUT");
    assert_eq!(ops[2]["version"], late["meta"]["version"]);
}

/// RFC 7644 §3.7.1: two groups that are members of each other, both created in one request.
#[tokio::test]
async fn rfc_circular_references_between_groups() {
    let app = TestApp::spawn().await;
    let body = request(json!([
        {"method": "POST", "path": "/Groups", "bulkId": "qwerty",
         "data": {"schemas": [GROUP_URN], "displayName": "Group A",
                  "members": [{"type": "Group", "value": "bulkId:ytrewq"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "ytrewq",
         "data": {"schemas": [GROUP_URN], "displayName": "Group B",
                  "members": [{"type": "Group", "value": "bulkId:qwerty"}]}},
    ]));
    let ops = operations(&bulk(&app, &body).await);
    assert_eq!(statuses(&ops), ["201", "201"]);
    let (a, b) = (id_of(&ops[0]), id_of(&ops[1]));
    let ga = app.get(&format!("/Groups/{a}")).await.body;
    let gb = app.get(&format!("/Groups/{b}")).await.body;
    assert_eq!(member_ids(&ga), [b.as_str()], "{ga}");
    assert_eq!(member_ids(&gb), [a.as_str()], "{gb}");
    assert_eq!(ops[0]["version"], ga["meta"]["version"], "version is the ETag after every change");
    assert_eq!(ops[1]["version"], gb["meta"]["version"]);
}

/// Circular references anywhere in `data`: two users, each the other's manager, with the rest
/// of the extension kept.
#[tokio::test]
async fn circular_manager_references_between_users() {
    let app = TestApp::spawn().await;
    let person = |name: &str, manager: &str| {
        json!({"schemas": [USER_URN, ENT_URN], "userName": name,
               ENT_URN: {"department": "Ops", "manager": {"value": format!("bulkId:{manager}")}}})
    };
    let body = request(json!([
        {"method": "POST", "path": "/Users", "bulkId": "one", "data": person("one", "two")},
        {"method": "POST", "path": "/Users", "bulkId": "two", "data": person("two", "one")},
    ]));
    let ops = operations(&bulk(&app, &body).await);
    assert_eq!(statuses(&ops), ["201", "201"]);
    let (one, two) = (id_of(&ops[0]), id_of(&ops[1]));
    for (id, manager) in [(&one, &two), (&two, &one)] {
        let u = app.get(&format!("/Users/{id}")).await.body;
        assert_eq!(u[ENT_URN]["manager"]["value"], manager.as_str(), "{u}");
        assert_eq!(u[ENT_URN]["department"], "Ops", "{u}");
    }
}

/// RFC 7644 §3.7.1: a reference that cannot be resolved fails its operation with 409 naming the
/// bulkId: one no POST declares, or one whose POST failed. Nothing is created for it.
#[tokio::test]
async fn unresolvable_bulk_ids_are_409() {
    let app = TestApp::spawn().await;
    let body = request(json!([
        {"method": "PATCH", "path": "/Users/bulkId:ghost",
         "data": {"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "nickName", "value": "x"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "g",
         "data": {"schemas": [GROUP_URN], "displayName": "Haunted", "members": [{"value": "bulkId:nobody"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"schemas": [USER_URN]}},
        {"method": "POST", "path": "/Groups", "bulkId": "h",
         "data": {"schemas": [GROUP_URN], "displayName": "Needs bad", "members": [{"value": "bulkId:bad"}]}},
        {"method": "DELETE", "path": "/Users/bulkId:bad"},
    ]));
    let ops = operations(&bulk(&app, &body).await);
    assert_eq!(statuses(&ops), ["409", "409", "400", "409", "409"]);
    for (op, name) in
        [(&ops[0], "bulkId:ghost"), (&ops[1], "bulkId:nobody"), (&ops[3], "bulkId:bad"), (&ops[4], "bulkId:bad")]
    {
        let detail = op_error(op, "409");
        assert!(detail.contains(name), "{detail}");
        assert!(op.get("location").is_none(), "{op}");
    }
    assert!(op_error(&ops[3], "409").contains("failed"), "{}", ops[3]);
    assert_eq!(app.get("/Groups").await.body["totalResults"], 0);
}

/// A cycle in which one POST fails: the other was created without its reference to the failed
/// one, keeps its resource (each operation commits on its own) and reports 409 with its location.
#[tokio::test]
async fn a_cycle_with_a_failed_post_reports_what_was_created() {
    let app = TestApp::spawn().await;
    let body = request(json!([
        {"method": "POST", "path": "/Groups", "bulkId": "a",
         "data": {"schemas": [GROUP_URN], "members": [{"value": "bulkId:b"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "b",
         "data": {"schemas": [GROUP_URN], "displayName": "B", "members": [{"value": "bulkId:a"}]}},
    ]));
    let ops = operations(&bulk(&app, &body).await);
    assert_eq!(statuses(&ops), ["400", "409"]);
    let detail = op_error(&ops[1], "409");
    assert!(detail.contains("bulkId:a") && detail.contains(ops[1]["location"].as_str().unwrap()), "{detail}");
    let b = app.get(&format!("/Groups/{}", id_of(&ops[1]))).await;
    assert_eq!(b.status, StatusCode::OK);
    assert!(member_ids(&b.body).is_empty(), "{}", b.text);
}

/// `version` is the operation's If-Match (RFC 7644 §3.7, §3.14): a stale one fails that
/// operation with 412 and the others go on.
#[tokio::test]
async fn a_version_mismatch_fails_only_that_operation() {
    let app = TestApp::spawn().await;
    let u = app.create_user(&user("versioned")).await;
    let path = format!("/Users/{}", u["id"].as_str().unwrap());
    let patch = |nick: &str| json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "nickName", "value": nick}]});
    let body = request(json!([
        {"method": "PATCH", "path": path, "version": "W/\"41\"", "data": patch("stale")},
        {"method": "PATCH", "path": path, "version": u["meta"]["version"], "data": patch("fresh")},
        {"method": "POST", "path": "/Users", "bulkId": "n", "data": user("unrelated")},
        {"method": "DELETE", "path": path, "version": u["meta"]["version"]},
    ]));
    let ops = operations(&bulk(&app, &body).await);
    assert_eq!(statuses(&ops), ["412", "200", "201", "412"]);
    op_error(&ops[0], "412");
    let now = app.get(&path).await.body;
    assert_eq!(now["nickName"], "fresh");
    assert_eq!(ops[1]["version"], now["meta"]["version"]);
}

/// RFC 7644 §3.7.4: more than maxOperations is 413 naming the limit; exactly maxOperations is
/// processed.
#[tokio::test]
async fn more_than_max_operations_is_413() {
    let app = TestApp::spawn().await;
    let op = json!({"method": "GET", "path": "/Users"});
    let r = bulk(&app, &request(Value::Array(vec![op.clone(); 1001]))).await;
    let detail = r.assert_error(413, None);
    assert_eq!(detail, "The number of operations (1001) exceeds the maxOperations (1000).");
    let ops = operations(&bulk(&app, &request(Value::Array(vec![op; 1000]))).await);
    assert_eq!(ops.len(), 1000);
    assert!(ops.iter().all(|o| o["status"] == "400"), "GET is no Bulk method");
}

/// RFC 7644 §3.7.4: a body over maxPayloadSize (1 MiB) is 413 with the RFC's message; one just
/// under it is processed.
#[tokio::test]
async fn a_payload_over_max_payload_size_is_413() {
    let app = TestApp::spawn().await;
    let padded = |n: usize| {
        let mut body = request(json!([{"method": "POST", "path": "/Users", "bulkId": "p", "data": user("padded")}]));
        let len = body.to_string().len() + r#","padding":"""#.len();
        body["padding"] = "x".repeat(n - len).into();
        assert_eq!(body.to_string().len(), n);
        body
    };
    let r = bulk(&app, &padded(1024 * 1024 + 1)).await;
    let detail = r.assert_error(413, None);
    assert_eq!(detail, "The size of the bulk operation exceeds the maxPayloadSize (1048576).");
    assert_eq!(count_users(&app, "padded").await, 0);
    let ops = operations(&bulk(&app, &padded(1024 * 1024)).await);
    assert_eq!(statuses(&ops), ["201"]);
}

/// RFC 7643 §5: the ServiceProviderConfig advertises Bulk with the limits enforced above.
#[tokio::test]
async fn service_provider_config_advertises_bulk() {
    let app = TestApp::spawn().await;
    let b = app.get("/ServiceProviderConfig").await.body;
    assert_eq!(b["bulk"], json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1_048_576}));
}

/// Faults of the request as a whole are a 400 SCIM error, and nothing runs.
#[tokio::test]
async fn malformed_requests_are_400() {
    let app = TestApp::spawn().await;
    let raw = app.send(Method::POST, "/Bulk", None, &[("content-type", "application/scim+json")]).await;
    raw.assert_error(400, Some("invalidSyntax"));
    let cases = [
        (json!([]), "invalidSyntax"),
        (json!({"Operations": []}), "invalidSyntax"),
        (
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "Operations": []}),
            "invalidSyntax",
        ),
        (json!({"schemas": [BULK_URN]}), "invalidSyntax"),
        (json!({"schemas": [BULK_URN], "Operations": {"method": "POST"}}), "invalidSyntax"),
        (json!({"schemas": [BULK_URN], "failOnErrors": 0, "Operations": []}), "invalidValue"),
        (json!({"schemas": [BULK_URN], "failOnErrors": -1, "Operations": []}), "invalidValue"),
        (json!({"schemas": [BULK_URN], "failOnErrors": "many", "Operations": []}), "invalidValue"),
    ];
    for (body, scim_type) in cases {
        bulk(&app, &body).await.assert_error(400, Some(scim_type));
    }
    let dup = request(json!([
        {"method": "POST", "path": "/Users", "bulkId": "same", "data": user("one")},
        {"method": "POST", "path": "/Users", "bulkId": "same", "data": user("two")},
    ]));
    let detail = bulk(&app, &dup).await.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("\"same\""), "{detail}");
    assert_eq!(count_users(&app, "one").await, 0, "a refused request runs nothing");
    // Keys and methods in any case; an empty list is fine.
    let lax = json!({"SCHEMAS": [BULK_URN], "operations": [
        {"METHOD": "post", "PATH": "Users/", "BULKID": "x", "DATA": user("lax")}]});
    assert_eq!(statuses(&operations(&bulk(&app, &lax).await)), ["201"]);
    assert!(operations(&bulk(&app, &request(json!([]))).await).is_empty());
}

/// An operation's own faults are that operation's SCIM error; the others still run, and none is
/// ever a 5xx.
#[tokio::test]
async fn bad_operations_fail_alone() {
    let app = TestApp::spawn().await;
    let body = request(json!([
        "not an object",
        42,
        {"method": "GET", "path": "/Users"},
        {"path": "/Users", "bulkId": "m", "data": user("m")},
        {"method": "POST", "path": "/Widgets", "bulkId": "w", "data": {}},
        {"method": "POST", "path": "/Users/some-id", "bulkId": "x", "data": user("x")},
        {"method": "PUT", "path": "/Users", "data": user("y")},
        {"method": "POST", "path": "/Users", "bulkId": "nodata"},
        {"method": "PATCH", "path": "/Users/some-id", "data": "replace everything"},
        {"method": "POST", "path": "/Users", "data": user("no.bulk.id")},
        {"method": "POST", "bulkId": "nopath", "data": user("no.path")},
        {"method": "DELETE", "path": "/Users/a/b"},
        {"method": "POST", "path": "/Users", "bulkId": "fine", "data": user("fine")},
    ]));
    let ops = operations(&bulk(&app, &body).await);
    assert_eq!(
        statuses(&ops),
        ["400", "400", "400", "400", "404", "405", "405", "400", "400", "400", "400", "404", "201"]
    );
    for op in &ops[..12] {
        let status = op["status"].as_str().unwrap();
        op_error(op, status);
    }
    assert!(op_error(&ops[0], "400").contains("JSON object"));
    assert!(op_error(&ops[2], "400").contains("POST, PUT, PATCH or DELETE"));
    assert!(op_error(&ops[4], "404").contains("/Widgets"));
    assert!(op_error(&ops[7], "400").contains("\"data\""));
    assert!(op_error(&ops[9], "400").contains("bulkId"));
    assert_eq!((&ops[4]["method"], &ops[4]["bulkId"]), (&json!("POST"), &json!("w")), "echoed as sent");
    assert_eq!(count_users(&app, "fine").await, 1);
    assert_eq!(app.get("/Users").await.body["totalResults"], 1);
}

/// `/Bulk` takes POST only (405 otherwise, as a SCIM error), needs the bearer token, and takes
/// the SCIM media types only.
#[tokio::test]
async fn bulk_is_post_only_and_protected() {
    let app = TestApp::spawn().await;
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        app.send(method, "/Bulk", None, &[]).await.assert_error(405, None);
    }
    let resp = app.client.post(format!("{}/Bulk", app.base)).body(request(json!([])).to_string()).send().await;
    assert_eq!(resp.expect("request").status(), StatusCode::UNAUTHORIZED);
    let xml = app.send(Method::POST, "/Bulk", None, &[("content-type", "application/xml")]).await;
    xml.assert_error(415, None);
}
