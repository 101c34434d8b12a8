//! userName hygiene (issue 11 §9): control and bidirectional formatting characters are refused
//! with a 400 naming the code point, and uniqueness compares the NFC form without surrounding
//! whitespace, case-folded, while the value is stored and returned as sent.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, ids, user};

const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn replace_user_name(name: &str) -> Value {
    json!({"schemas": [PATCH_URN], "Operations": [{"op": "replace", "path": "userName", "value": name}]})
}

#[tokio::test]
async fn a_nul_in_user_name_is_refused_with_its_code_point() {
    let app = TestApp::spawn().await;
    let detail = app.post("/Users", &user("bob\0admin")).await.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("userName contains U+0000 (NULL) at character 4"), "{detail}");
    assert_eq!(app.filter("userName pr").await.body["totalResults"], 0, "nothing was stored");
}

#[tokio::test]
async fn bidi_controls_in_user_name_are_refused_on_create_replace_and_patch() {
    let app = TestApp::spawn().await;
    let spoof = "alice\u{202E}moc.elpmaxe@";
    let detail = app.post("/Users", &user(spoof)).await.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("userName contains U+202E (RIGHT-TO-LEFT OVERRIDE) at character 6"), "{detail}");

    let bob = app.create_user(&user("bob")).await;
    let path = format!("/Users/{}", bob["id"].as_str().expect("id"));
    let detail = app.put(&path, &user("b\u{2066}ob")).await.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("U+2066 (LEFT-TO-RIGHT ISOLATE) at character 2"), "{detail}");
    let detail = app.patch(&path, &replace_user_name("\u{200F}bob")).await.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("U+200F (RIGHT-TO-LEFT MARK) at character 1"), "{detail}");
    let detail = app.patch(&path, &replace_user_name("bob\r\n")).await.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("U+000D (CARRIAGE RETURN) at character 4"), "{detail}");
    assert_eq!(app.get(&path).await.body["userName"], "bob", "the user is unchanged");
}

#[tokio::test]
async fn a_trailing_space_does_not_make_a_second_alice() {
    let app = TestApp::spawn().await;
    app.create_user(&user("alice@example.com")).await;
    let r = app.post("/Users", &user("alice@example.com ")).await;
    let detail = r.assert_error(409, Some("uniqueness"));
    assert!(detail.contains("alice@example.com "), "{detail}");
    app.post("/Users", &user("  ALICE@example.com\t")).await.assert_error(400, Some("invalidValue"));
    app.post("/Users", &user("  ALICE@example.com")).await.assert_error(409, Some("uniqueness"));

    // Stored and returned exactly as sent.
    let padded = app.create_user(&user(" carol ")).await;
    assert_eq!(padded["userName"], " carol ");
    let path = format!("/Users/{}", padded["id"].as_str().expect("id"));
    assert_eq!(app.get(&path).await.body["userName"], " carol ");
    app.post("/Users", &user("Carol")).await.assert_error(409, Some("uniqueness"));
}

#[tokio::test]
async fn decomposed_and_composed_spellings_are_one_user_name() {
    let app = TestApp::spawn().await;
    let composed = "jos\u{E9}@example.com"; // é as one code point (NFC)
    let decomposed = "jose\u{301}@example.com"; // e + COMBINING ACUTE ACCENT (NFD)
    let created = app.create_user(&user(decomposed)).await;
    assert_eq!(created["userName"], decomposed, "stored as sent, not normalised");
    app.post("/Users", &user(composed)).await.assert_error(409, Some("uniqueness"));
    app.post("/Users", &user("JOS\u{C9}@EXAMPLE.COM")).await.assert_error(409, Some("uniqueness"));

    // A rename onto a look-alike is a conflict too; renaming to one's own other spelling is not.
    let other = app.create_user(&user("zoe")).await;
    let path = format!("/Users/{}", other["id"].as_str().expect("id"));
    app.patch(&path, &replace_user_name(composed)).await.assert_error(409, Some("uniqueness"));
    let own = format!("/Users/{}", created["id"].as_str().expect("id"));
    let r = app.patch(&own, &replace_user_name(composed)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["userName"], composed);
}

#[tokio::test]
async fn user_name_filters_find_the_user_by_its_key() {
    let app = TestApp::spawn().await;
    let alice = app.create_user(&user("alice@example.com")).await;
    let jose = app.create_user(&user("jos\u{E9}")).await;
    app.create_user(&user("bob")).await;
    for (filter, want) in [
        (r#"userName eq "Alice@Example.com ""#, &alice),
        (r#"userName eq " alice@example.com""#, &alice),
        ("userName eq \"JOSE\u{301}\"", &jose),
        ("userName eq \"jose\u{301} \"", &jose),
        // The key decides wherever the index answers the term: beside other terms and when sorted.
        (r#"userName eq "Alice@Example.com " and active eq true"#, &alice),
        (r#"active eq true and userName eq " alice@example.com""#, &alice),
        ("userName eq \"jose\u{301} \" and userName pr", &jose),
    ] {
        let r = app.filter(filter).await;
        assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.text);
        assert_eq!(ids(&r.body), vec![want["id"].as_str().expect("id").to_owned()], "{filter}: {}", r.text);
    }
    let sorted = "/Users?filter=userName%20eq%20%22Alice%40Example.com%20%22&sortBy=userName";
    let r = app.get(sorted).await;
    assert_eq!(ids(&r.body), vec![alice["id"].as_str().expect("id").to_owned()], "sorted: {}", r.text);
    // The other terms still decide: an `and` whose other half fails finds nothing.
    let r = app.filter(r#"userName eq "Alice@Example.com " and active eq false"#).await;
    assert_eq!(ids(&r.body), Vec::<String>::new(), "{}", r.text);
}

/// A database written before V8 holds plain case-folded keys. At start it is migrated and
/// re-keyed once: names that are now one name keep both rows and their old keys; the others get
/// the new key, so lookups and uniqueness use it.
#[test]
fn an_older_database_is_rekeyed_once_keeping_colliding_users() {
    use scimbox::db::users::{self, Lookup, Rekeyed};
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("old.db");
    {
        // The state an older scimbox left: V1..V7 applied, keys folded only (V9's guard tables
        // undone too, since refinery refuses a history with a gap).
        let c = scimbox::db::migrate(&path).expect("migrate");
        c.execute_batch(
            "DROP TABLE key_versions; DROP TABLE guard_recent; DROP TABLE guard_state; DROP INDEX users_active;
             DELETE FROM refinery_schema_history WHERE version >= 8;",
        )
        .expect("back to V7");
        let mut ins = c
            .prepare(
                "INSERT INTO users (id, user_name, user_name_key, version, created, last_modified, doc)
                 VALUES (?1, ?2, ?3, 1, 't', 't', json_object('userName', ?2))",
            )
            .expect("prepare");
        for (id, name) in [
            ("u1", "Alice"),
            ("u2", "alice "),
            ("u3", "Jose\u{301}"),
            ("u4", " bob"),
            ("u5", "carol"),
            ("u6", "\u{C5}sa"),
            ("u7", "A\u{30A}SA "),
        ] {
            ins.execute(rusqlite::params![id, name, users::fold(name)]).expect("insert");
        }
    }
    let mut c = scimbox::db::migrate(&path).expect("migrate and re-key");
    let key = |id: &str| -> String {
        c.query_row("SELECT user_name_key FROM users WHERE id = ?1", [id], |r| r.get(0)).expect("key")
    };
    assert_eq!(key("u1"), "alice", "colliding: old key kept");
    assert_eq!(key("u2"), "alice ", "colliding: old key kept");
    assert_eq!(key("u3"), "jos\u{E9}", "re-keyed to NFC");
    assert_eq!(key("u4"), "bob", "re-keyed without the space");
    assert_eq!(key("u5"), "carol");
    assert_eq!(key("u6"), "\u{E5}sa", "Åsa was NFC already: its key is unchanged");
    assert_eq!(key("u7"), "a\u{30A}sa ", "the NFD Åsa collides with the NFC one: old key kept");
    let version: i64 = c
        .query_row("SELECT version FROM key_versions WHERE name = 'users.user_name_key'", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, users::USER_NAME_KEY_VERSION);

    let found = users::lookup(&c, &Lookup::UserName("JOS\u{C9} ".into())).expect("lookup");
    assert_eq!(found.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["u3"]);
    let found = users::lookup(&c, &Lookup::UserName("Bob".into())).expect("lookup");
    assert_eq!(found.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["u4"]);

    // Once only: a second start changes nothing and reports nothing.
    assert_eq!(users::rekey(&mut c).expect("rekey"), Rekeyed::default());
    // Forced again, it names the groups that still collide, oldest first.
    c.execute("UPDATE key_versions SET version = 1", []).expect("reset");
    let again = users::rekey(&mut c).expect("rekey");
    assert_eq!(again.changed, 0);
    assert_eq!(again.collisions, vec![vec!["u1".to_owned(), "u2".to_owned()], vec!["u6".to_owned(), "u7".to_owned()]]);
}
