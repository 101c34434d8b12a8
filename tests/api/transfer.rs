//! Export and import through the real binary (issue 15 item 7): an export loaded into an empty
//! database reads back the same through the API, every GET and ETag; faults in a file are
//! refused with their line and nothing is imported.

use std::path::{Path, PathBuf};
use std::process::Output;

use reqwest::StatusCode;
use scimbox::db::{Db, tokens};
use scimbox::{AppState, Config, auth};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::auth_tokens::cli;
use crate::helpers::{TestApp, user};

const ENT_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ACCESS: &str = "urn:scimbox:params:scim:schemas:extension:scimbox:2.0:User:access";

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn ok(args: &[&str]) -> Output {
    let out = cli(args);
    assert!(out.status.success(), "scimbox {args:?}: {}", text(&out));
    out
}

/// A server in this process on an existing database file, with a fresh token.
struct On {
    base: String,
    token: String,
    _stop: oneshot::Sender<()>,
}

impl On {
    async fn start(path: &Path) -> On {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let db = Db::open(path).expect("open");
        let token = auth::generate();
        let h = auth::hash(&token);
        db.write(move |c| tokens::insert(c, "reader", &h, &scimbox::clock::now_stamp(), None)).await.expect("token");
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(db, Config::new(path.to_owned(), addr));
        tokio::spawn(scimbox::serve(state, listener, async move {
            let _ = stopped.await;
        }));
        On { base: format!("http://{addr}/scim/v2"), token, _stop: stop }
    }

    /// GET `path` (under the base): status, ETag and the body as sent, with this server's base
    /// URL replaced, so two servers' answers compare byte for byte.
    async fn get(&self, path: &str) -> (StatusCode, Option<String>, String) {
        let r = reqwest::Client::new().get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await;
        let r = r.expect("GET");
        let status = r.status();
        let etag = r.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = r.text().await.expect("body").replace(&self.base, "BASE");
        (status, etag, body)
    }
}

/// Accounts (with a parent), roles, users with accounts, extensions, emails, an inactive one and
/// updated ones (versions past 1), groups with user, group and `display` members.
async fn populate(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let db = app.db_path.to_str().unwrap();
    ok(&["account", "add", "--db", db, "ACME", "--name", "Acme Corp"]);
    ok(&["account", "add", "--db", db, "ACME-EU", "--name", "Acme EU", "--parent", "ACME"]);
    ok(&["role", "add", "--db", db, "Editor"]);
    ok(&["role", "add", "--db", db, "Viewer"]);
    let mut users = Vec::new();
    for i in 0..12 {
        let mut body = user(&format!("person{i}@example.com"));
        body["name"] = json!({"givenName": format!("Given{i}"), "familyName": "Family"});
        body["emails"] = json!([{"value": format!("person{i}@example.com"), "type": "work", "primary": true}]);
        body["externalId"] = json!(format!("ext-{i}"));
        if i % 3 == 0 {
            body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENT_URN]);
            body[ENT_URN] = json!({"employeeNumber": format!("{i}"), "department": "R&D"});
        }
        if i % 4 == 0 {
            body["accounts"] = json!([{"accountId": "ACME-EU", "roles": ["Editor"], "status": "Active"}]);
        }
        users.push(app.create_user(&body).await["id"].as_str().unwrap().to_owned());
    }
    let deactivate =
        json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    assert_eq!(app.patch(&format!("/Users/{}", users[1]), &deactivate).await.status, StatusCode::OK);
    let retitle = json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]});
    for _ in 0..2 {
        let r = app.patch(&format!("/Users/{}", users[2]), &retitle).await;
        assert_eq!(r.status, StatusCode::OK);
        let r = app
            .patch(
                &format!("/Users/{}", users[2]),
                &json!({"schemas": [PATCH_URN], "Operations": [{"op": "remove", "path": "title"}]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let mut groups = Vec::new();
    let inner = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Inner",
        "members": [{"value": users[3]}, {"value": users[4], "display": "Shown As Sent"}]});
    let r = app.post("/Groups", &inner).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    groups.push(r.body["id"].as_str().unwrap().to_owned());
    let outer = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Outer",
        "externalId": "okta-outer", "members": [{"value": groups[0]}, {"value": users[5]}, {"value": users[0]}]});
    let r = app.post("/Groups", &outer).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    groups.push(r.body["id"].as_str().unwrap().to_owned());
    let add = json!({"schemas": [PATCH_URN], "Operations": [{"op": "add", "path": "members", "value": [{"value": users[6]}]}]});
    assert_eq!(app.patch(&format!("/Groups/{}", groups[0]), &add).await.status, StatusCode::OK);
    let r = app.post("/Groups", &json!({"displayName": "Empty"})).await;
    groups.push(r.body["id"].as_str().unwrap().to_owned());
    (users, groups)
}

/// Every GET the API offers on the data, from two servers, compared whole (ETags included).
async fn same_everywhere(a: &On, b: &On, users: &[String], groups: &[String]) {
    let mut paths = vec![
        "/Users?count=1000".to_owned(),
        "/Groups?count=1000".to_owned(),
        "/Users?filter=emails.value%20eq%20%22person7%40example.com%22".to_owned(),
        "/Groups?filter=members.value%20eq%20%22".to_owned() + &users[3] + "%22",
        "/Users?sortBy=meta.lastModified&sortOrder=descending".to_owned(),
    ];
    paths.extend(users.iter().map(|id| format!("/Users/{id}")));
    paths.extend(users.iter().map(|id| format!("/Users/{id}?attributes={ACCESS},groups,meta")));
    paths.extend(groups.iter().map(|id| format!("/Groups/{id}")));
    for path in &paths {
        let (x, y) = (a.get(path).await, b.get(path).await);
        assert_eq!(x.0, StatusCode::OK, "{path}: {}", x.2);
        assert_eq!(x, y, "{path} reads back differently after export and import");
    }
}

#[tokio::test]
async fn an_export_imported_into_an_empty_database_reads_back_the_same() {
    let app = TestApp::spawn().await;
    let (users, groups) = populate(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let (file, copy) = (dir.path().join("dump.ndjson"), crate::helpers::fresh_db(dir.path()).await);
    let out = ok(&["export", "--db", app.db_path.to_str().unwrap(), "--out", file.to_str().unwrap()]);
    assert!(text(&out).contains("exported 12 users, 3 groups, 6 memberships, 2 accounts, 2 roles"), "{}", text(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let dump = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = dump.lines().map(|l| serde_json::from_str(l).expect("one JSON object a line")).collect();
    assert_eq!(lines[0]["type"], "header");
    assert_eq!(lines[0]["format"], "scimbox-export");
    assert_eq!(lines.last().unwrap()["type"], "end");
    for secret in [app.token.as_str(), "hash", "password", "journal"] {
        assert!(!dump.contains(secret), "the export holds no {secret}");
    }

    let out = ok(&["import", "--db", copy.to_str().unwrap(), "--in", file.to_str().unwrap()]);
    assert!(text(&out).contains("imported 12 users"), "{}", text(&out));
    let (a, b) = (On::start(&app.db_path).await, On::start(&copy).await);
    same_everywhere(&a, &b, &users, &groups).await;

    // Exporting the copy gives the same lines (but the header's moment).
    let again = dir.path().join("again.ndjson");
    ok(&["export", "--db", copy.to_str().unwrap(), "--out", again.to_str().unwrap()]);
    let body = |s: &str| s.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(body(&dump), body(&std::fs::read_to_string(&again).unwrap()));
    let accounts = ok(&["account", "list", "--db", copy.to_str().unwrap()]);
    assert!(text(&accounts).contains("ACME-EU"), "{}", text(&accounts));

    // Into a database that holds data: refused, nothing changed.
    let r = cli(&["import", "--db", copy.to_str().unwrap(), "--in", file.to_str().unwrap()]);
    assert!(!r.status.success());
    assert!(text(&r).contains("already holds users") && text(&r).contains("empty database"), "{}", text(&r));
}

/// Writes `lines` to a file and imports it into a new database; returns the output and the
/// database's path.
fn import_lines(dir: &Path, name: &str, lines: &[String]) -> (Output, PathBuf) {
    let (file, db) = (dir.join(format!("{name}.ndjson")), dir.join(format!("{name}.db")));
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    (cli(&["import", "--db", db.to_str().unwrap(), "--in", file.to_str().unwrap()]), db)
}

#[tokio::test]
async fn faults_in_a_file_are_refused_by_line_and_nothing_is_imported() {
    let app = TestApp::spawn().await;
    populate(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("good.ndjson");
    ok(&["export", "--db", app.db_path.to_str().unwrap(), "--out", file.to_str().unwrap()]);
    let good: Vec<String> = std::fs::read_to_string(&file).unwrap().lines().map(str::to_owned).collect();
    let first_user = good.iter().position(|l| l.contains(r#""type":"user""#)).unwrap();
    let second_user = first_user + 1;

    let cases: Vec<(&str, Vec<String>, String)> = vec![
        (
            "broken",
            {
                let mut l = good.clone();
                l[3] = "{\"type\": \"role\", ".into();
                l
            },
            "line 4: not JSON".into(),
        ),
        (
            "unknown",
            {
                let mut l = good.clone();
                l.insert(2, r#"{"type":"token","name":"x"}"#.into());
                l
            },
            "line 3: unknown type \"token\"".into(),
        ),
        (
            "duplicate",
            {
                let mut l = good.clone();
                l[second_user] = l[first_user].clone();
                l
            },
            format!("line {}: id", second_user + 1),
        ),
        ("cut", good[..good.len() - 1].to_vec(), "no end line".into()),
        ("noheader", good[1..].to_vec(), "line 1: the first line must be the header".into()),
        (
            "badmember",
            {
                let mut l = good.clone();
                let n = l.len() - 1;
                l.insert(n, r#"{"type":"member","group":"nope","value":"x","memberType":"User"}"#.into());
                l
            },
            format!("line {}: group \"nope\"", good.len()),
        ),
    ];
    for (name, lines, want) in cases {
        let (out, db) = import_lines(dir.path(), name, &lines);
        assert_eq!(out.status.code(), Some(65), "{name}: {}", text(&out));
        assert!(text(&out).contains(&want), "{name}: wanted {want:?} in {}", text(&out));
        assert!(text(&out).contains("nothing was imported"), "{name}: {}", text(&out));
        let listed = ok(&["export", "--db", db.to_str().unwrap()]);
        assert!(
            text(&listed).contains("exported 0 users, 0 groups, 0 memberships, 0 accounts, 0 roles"),
            "{name}: {}",
            text(&listed)
        );
    }

    // A userName taken twice passes the file checks and is refused by the database, by line.
    let mut lines = good.clone();
    let mut dup: Value = serde_json::from_str(&lines[second_user]).unwrap();
    let taken: Value = serde_json::from_str(&lines[first_user]).unwrap();
    dup["resource"]["userName"] = taken["resource"]["userName"].clone();
    lines[second_user] = dup.to_string();
    let (out, db) = import_lines(dir.path(), "taken", &lines);
    assert!(!out.status.success());
    assert!(text(&out).contains(&format!("line {}: userName", second_user + 1)), "{}", text(&out));
    let listed = ok(&["export", "--db", db.to_str().unwrap()]);
    assert!(text(&listed).contains("exported 0 users"), "{}", text(&listed));
}
