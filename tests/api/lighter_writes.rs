//! Issue 17, creates round 2: what a create writes got lighter (`migrations/V18__*.sql`, a new
//! user prepared before the write); what was stored and what the feed hands out did not change.

use std::path::Path;

use scimbox::db::Db;
use scimbox::service::users::{self, WithAccess};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// The change history of a file, read directly: (seq, resource id, action, after).
fn changes_in(path: &Path) -> Vec<(i64, String, String, Option<String>)> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut s = c.prepare("SELECT seq, resource_id, action, after FROM changes ORDER BY seq").unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).unwrap().map(Result::unwrap).collect()
}

/// The feed's events of a file, read directly: (seq, id, txn).
fn events_in(path: &Path) -> Vec<(i64, String, Option<i64>)> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut s = c.prepare("SELECT seq, id, txn FROM events ORDER BY seq").unwrap();
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
}

async fn create(db: &Db, name: &str) -> Value {
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
    users::create(db, &body, &[], "http://x/scim/v2".into(), WithAccess(true)).await.unwrap().tree().unwrap()
}

/// A database from before V18 (the events' `id` UNIQUE; the history's `action IN (...)` and
/// `changes_at`) keeps every event as it was, seq, id and transaction, its history, and the
/// events' counter: after every event was pruned, the next one still gets a number never handed
/// out before (the feed's cursors depend on it).
#[tokio::test]
async fn v18_keeps_the_events_and_their_counter() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let db = Db::open(&path).unwrap();
        for i in 0..5 {
            create(&db, &format!("old{i}")).await;
        }
    }
    let before = events_in(&path);
    assert_eq!(before.len(), 5);
    let history = changes_in(&path);
    assert_eq!(history.len(), 5);
    // Back to V17's shape: the table as V11 and V13 made it, the history's `at` index.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "CREATE TABLE events_old (
             seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
             occurred_at TEXT NOT NULL, resource_type TEXT NOT NULL, resource_id TEXT NOT NULL,
             actor TEXT NOT NULL, data TEXT NOT NULL, txn INTEGER) STRICT;
         INSERT INTO events_old SELECT * FROM events;
         DELETE FROM sqlite_sequence WHERE name = 'events_old';
         INSERT INTO sqlite_sequence (name, seq) SELECT 'events_old', seq FROM sqlite_sequence WHERE name = 'events';
         DROP TABLE events;
         ALTER TABLE events_old RENAME TO events;
         CREATE INDEX events_type ON events (type, seq);
         CREATE TABLE changes_old (
             seq INTEGER PRIMARY KEY, at TEXT NOT NULL, resource_type TEXT NOT NULL,
             resource_id TEXT NOT NULL,
             action TEXT NOT NULL CHECK (action IN ('created', 'updated', 'deleted')),
             version INTEGER, before TEXT, after TEXT) STRICT;
         INSERT INTO changes_old SELECT * FROM changes;
         DROP TABLE changes;
         ALTER TABLE changes_old RENAME TO changes;
         CREATE INDEX changes_resource ON changes (resource_type, resource_id, seq);
         CREATE INDEX changes_at ON changes (at);
         DELETE FROM refinery_schema_history WHERE version >= 18;",
    )
    .unwrap();
    let unique: i64 =
        c.query_row("SELECT count(*) FROM pragma_index_list('events') WHERE \"unique\" = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(unique, 1, "the old shape has the UNIQUE index");
    drop(c);

    // Migrated: the same events, no UNIQUE index on them, no `changes_at`.
    let db = Db::open(&path).unwrap();
    assert_eq!(events_in(&path), before);
    assert_eq!(changes_in(&path), history);
    let c = rusqlite::Connection::open(&path).unwrap();
    let (unique, changes_at): (i64, i64) = c
        .query_row(
            "SELECT (SELECT count(*) FROM pragma_index_list('events') WHERE \"unique\" = 1),
                    (SELECT count(*) FROM sqlite_schema WHERE name = 'changes_at')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((unique, changes_at), (0, 0));
    let type_index: i64 =
        c.query_row("SELECT count(*) FROM sqlite_schema WHERE name = 'events_type'", [], |r| r.get(0)).unwrap();
    assert_eq!(type_index, 1, "the feed's index by type is kept");
    let bad = c.execute(
        "INSERT INTO changes (at, resource_type, resource_id, action) VALUES ('2020-01-01', 'User', 'x', 'renamed')",
        [],
    );
    assert!(bad.is_err(), "the history's CHECK on `action` still holds");
    // Every event pruned, then a new one: its seq follows the last one ever handed out.
    c.execute("DELETE FROM events", []).unwrap();
    drop(c);
    create(&db, "new").await;
    let after = events_in(&path);
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].0, before[4].0 + 1, "{after:?} after {before:?}");
    assert_eq!(after[0].2, None, "the first event of its write starts its transaction");
}

/// A create prepared before its write stores what a create stored before: the row, its emails
/// and index entries (found by filters), its history without the password, one event whose data
/// is the 201's body; a taken name is still a 409 and leaves nothing behind.
#[tokio::test]
async fn a_prepared_create_writes_everything_once() {
    let app = TestApp::spawn().await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "Prepared@Example.com",
        "displayName": "Prepared Person",
        "nickName": "Prep",
        "password": "n0t-In-History",
        "emails": [{"value": "Prepared.Mail@Example.com", "type": "work"}]
    });
    let created = app.post("/Users", &body).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    for filter in [
        r#"userName eq "prepared@example.com""#,
        r#"emails.value eq "prepared.mail@example.com""#,
        r#"nickName eq "PREP""#,
        r#"displayName sw "prepared""#,
    ] {
        let found = app.filter(filter).await;
        assert_eq!(crate::helpers::ids(&found.body), std::slice::from_ref(&id), "{filter}: {}", found.text);
    }
    let taken = app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "prepared@EXAMPLE.com"}),
        )
        .await;
    taken.assert_error(409, Some("uniqueness"));

    use crate::helpers::{column, count};
    assert_eq!(count(&app, "SELECT count(*) FROM users", &[]).await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM user_emails", &[]).await, 1);
    assert_eq!(
        count(&app, "SELECT count(*) FROM attr_index WHERE kind = 1", &[]).await,
        2,
        "displayName, nickName (round 3)"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM changes", &[]).await, 1);
    let after = column::<String>(&app, "SELECT after FROM changes", &[]).await.remove(0);
    assert!(!after.to_lowercase().contains("password") && after.contains("Prepared Person"), "{after}");
    let data = column::<String>(&app, "SELECT data FROM events", &[]).await;
    assert_eq!(data.len(), 1, "one event, none for the refused create");
    assert_eq!(serde_json::from_str::<Value>(&data[0]).unwrap(), created.body);
}
