//! Default reads served from stored text (issue 17, `users.body`): through the real server, a
//! GET and every user of a list page are byte for byte what the tree path
//! (`service::users::render`, serialised) gives, with groups, extensions, escapes and computed
//! access; a document changed behind the server's back is never served stale; a database from
//! before V14 and an import get their bodies.

use scimbox::service::users::{self as user_service, WithAccess};
use serde_json::json;

use crate::helpers::{TestApp, register_accounts, run_scimbox};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The user as the tree path renders it (what every default GET served before issue 17).
async fn tree_text(app: &TestApp, id: &str) -> String {
    user_service::get(&app.db, id, app.base.clone(), WithAccess(true)).await.expect("tree path").body.to_string()
}

/// Users of every shape a body must reproduce: plain, with an extension and text that needs
/// escaping, in a direct and an indirect group, and with account payloads (computed access).
async fn users_of_every_shape(app: &TestApp) -> Vec<String> {
    register_accounts(app, &[("ACC1", None), ("ACC2", Some("ACC1"))]).await;
    let bodies = [
        json!({"schemas": [USER_URN], "userName": "plain@example.com"}),
        json!({"schemas": [USER_URN, ENTERPRISE], "userName": "Zo\u{eb} \"Q\" </x>\\",
               "name": {"givenName": "Zo\u{eb}", "familyName": "\u{1F600}\t"}, "displayName": "Caf\u{e9}",
               "emails": [{"value": "z@example.com", "primary": true, "type": "work"}],
               ENTERPRISE: {"employeeNumber": "0042", "manager": {"value": "m1"}}}),
        json!({"schemas": [USER_URN], "userName": "member", "active": false, "externalId": "ext-9"}),
        json!({"schemas": [USER_URN], "userName": "holder", "accounts": [r#"{"accountId":"ACC1","status":"Active"}"#]}),
    ];
    let mut ids = Vec::new();
    for b in &bodies {
        ids.push(app.create_user(b).await["id"].as_str().expect("id").to_owned());
    }
    let inner = app
        .post("/Groups", &json!({"schemas": [GROUP_URN], "displayName": "inner", "members": [{"value": ids[2]}]}))
        .await;
    let inner = inner.body["id"].as_str().expect("group id").to_owned();
    let outer =
        json!({"schemas": [GROUP_URN], "displayName": "outer \u{e9}", "members": [{"value": inner, "type": "Group"}]});
    assert_eq!(app.post("/Groups", &outer).await.status.as_u16(), 201);
    ids
}

/// Asserts that every default read of these users is the tree path's text, byte for byte: each
/// GET, and a list page, which must be exactly the ListResponse members followed by the GETs.
async fn reads_are_the_tree_path(app: &TestApp, ids: &[String]) {
    let mut texts = Vec::new();
    for id in ids {
        let got = app.get(&format!("/Users/{id}")).await;
        assert_eq!(got.status.as_u16(), 200, "{}", got.text);
        assert_eq!(got.header("content-type"), Some("application/scim+json"));
        assert_eq!(got.header("etag"), got.body["meta"]["version"].as_str());
        assert_eq!(got.text, tree_text(app, id).await, "GET /Users/{id}");
        texts.push(got.text);
    }
    let n = ids.len();
    let list = app.get("/Users").await;
    let head = format!(
        "{{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],\"itemsPerPage\":{n},\"totalResults\":{n},\"startIndex\":1,\"Resources\":["
    );
    assert_eq!(list.text, format!("{head}{}]}}", texts.join(",")), "the list page");
    let one =
        app.filter(&format!("userName eq \"{}\"", list.body["Resources"][0]["userName"].as_str().expect("name"))).await;
    assert!(one.text.ends_with(&format!("\"Resources\":[{}]}}", texts[0])), "{}", one.text);
    let paged = app.get("/Users?count=2&cursor=").await;
    let next = paged.body["nextCursor"].as_str().expect("nextCursor");
    assert!(paged.text.starts_with(
        "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],\"itemsPerPage\":2,\"totalResults\":"
    ));
    assert!(
        paged.text.ends_with(&format!(",\"nextCursor\":\"{next}\",\"Resources\":[{},{}]}}", texts[0], texts[1])),
        "{}",
        paged.text
    );
    // A projection still works on the tree.
    let projected = app.get(&format!("/Users/{}?attributes=userName", ids[0])).await;
    assert_eq!(projected.body, json!({"schemas": [USER_URN], "id": ids[0], "userName": "plain@example.com"}));
}

async fn body_count(app: &TestApp) -> (i64, i64) {
    app.db
        .read(|c| Ok(c.query_row("SELECT COUNT(*), COUNT(body) FROM users", [], |r| Ok((r.get(0)?, r.get(1)?)))?))
        .await
        .expect("count")
}

#[tokio::test]
async fn default_reads_are_the_tree_paths_text_byte_for_byte() {
    let app = TestApp::spawn().await;
    let ids = users_of_every_shape(&app).await;
    // Every user but the one whose access is computed has its text stored.
    assert_eq!(body_count(&app).await, (4, 3));
    reads_are_the_tree_path(&app, &ids).await;
    // After a PATCH, a PUT and a membership change, still.
    let ops = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                     "Operations": [{"op": "replace", "path": "displayName", "value": "New \u{e9}"}]});
    assert_eq!(app.patch(&format!("/Users/{}", ids[0]), &ops).await.status.as_u16(), 200);
    let put = json!({"schemas": [USER_URN], "userName": "member", "nickName": "m"});
    assert_eq!(app.put(&format!("/Users/{}", ids[2]), &put).await.status.as_u16(), 200);
    let g = json!({"schemas": [GROUP_URN], "displayName": "third", "members": [{"value": ids[0]}]});
    assert_eq!(app.post("/Groups", &g).await.status.as_u16(), 201);
    reads_are_the_tree_path(&app, &ids).await;
    // The computed access follows the registry: a new child account shows at once.
    register_accounts(&app, &[("ACC3", Some("ACC1"))]).await;
    let holder = app.get(&format!("/Users/{}", ids[3])).await;
    assert!(holder.text.contains("ACC3"), "{}", holder.text);
    reads_are_the_tree_path(&app, &ids).await;
}

/// A document changed without its body (an older scimbox, a hand-made UPDATE) drops the body
/// (the V14 trigger), so the change shows, never the old text.
#[tokio::test]
async fn a_document_changed_behind_the_servers_back_is_not_served_stale() {
    let app = TestApp::spawn().await;
    let id = app.create_user(&json!({"schemas": [USER_URN], "userName": "ann", "displayName": "Before"})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let key = id.clone();
    app.db
        .write(move |c| {
            // The document rewritten as a hand-made UPDATE would (either engine: no JSON functions).
            let doc: String = c.query_row("SELECT doc FROM users WHERE id = ?1", [&key], |r| r.get(0))?;
            let mut doc: serde_json::Value = serde_json::from_str(&doc)?;
            doc["displayName"] = json!("Behind");
            c.execute("UPDATE users SET doc = ?2 WHERE id = ?1", [&key, &doc.to_string()])?;
            Ok(())
        })
        .await
        .expect("update");
    let got = app.get(&format!("/Users/{id}")).await;
    assert_eq!(got.body["displayName"], "Behind", "{}", got.text);
    assert_eq!(got.text, tree_text(&app, &id).await);
    let list = app.get("/Users").await;
    assert_eq!(list.body["Resources"][0]["displayName"], "Behind", "{}", list.text);
}

/// A database from before V14 (no bodies) reads the same, and gets its bodies once at start.
#[tokio::test]
async fn a_database_from_before_v14_reads_the_same_and_gets_its_bodies_at_start() {
    let app = TestApp::spawn().await;
    let ids = users_of_every_shape(&app).await;
    app.db
        .write(|c| {
            c.execute_batch("UPDATE users SET body = NULL; DELETE FROM key_versions WHERE name = 'users.body';")?;
            Ok(())
        })
        .await
        .expect("forget bodies");
    assert_eq!(body_count(&app).await, (4, 0));
    reads_are_the_tree_path(&app, &ids).await;
    // What a start does after the migrations (on either engine: `Db::open`).
    drop(scimbox::db::Db::open(&app.db_path).expect("start"));
    assert_eq!(body_count(&app).await, (4, 3));
    reads_are_the_tree_path(&app, &ids).await;
}

/// `scimbox import` writes the bodies too.
#[tokio::test]
async fn an_import_stores_the_bodies() {
    let app = TestApp::spawn().await;
    let ids = users_of_every_shape(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let (file, copy) = (dir.path().join("x.jsonl"), crate::helpers::fresh_db(dir.path()).await);
    let out = run_scimbox(&["export", "--db", app.db_path.to_str().unwrap(), "--out", file.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run_scimbox(&["import", "--db", copy.to_str().unwrap(), "--in", file.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let copy = scimbox::db::Db::open(&copy).expect("open copy");
    let stored: Vec<(String, Option<String>)> = copy
        .read(|c| {
            let mut s = c.prepare("SELECT id, body FROM users ORDER BY seq")?;
            Ok(s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?)
        })
        .await
        .expect("bodies");
    assert_eq!(stored.len(), 4);
    for (id, body) in &stored {
        let original: Option<String> = app
            .db
            .read({
                let id = id.clone();
                move |c| Ok(c.query_row("SELECT body FROM users WHERE id = ?1", [id], |r| r.get(0))?)
            })
            .await
            .expect("original");
        assert_eq!(body, &original, "user {id}");
    }
    assert!(ids.iter().all(|id| stored.iter().any(|(s, _)| s == id)));
}
