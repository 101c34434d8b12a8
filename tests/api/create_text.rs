//! A create's 201 body is its event's data, serialised once (issue 17, creates round 3): the same
//! bytes as before, with its `ETag` and `Location`, and a projection still applied.

use serde_json::{Value, json};

use crate::helpers::TestApp;

fn body(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "displayName": "Text Person",
        "name": {"givenName": "Text", "familyName": "Person"},
        "emails": [{"value": name, "type": "work", "primary": true}]
    })
}

async fn event_data(app: &TestApp, id: &str) -> String {
    let mut data = crate::helpers::column::<String>(app, "SELECT data FROM events WHERE resource_id = ?1", &[id]).await;
    assert_eq!(data.len(), 1, "one event of {id}");
    data.remove(0)
}

/// The 201's bytes are the event's data and compact JSON of its body (as `scim_json` writes);
/// `ETag` and `Location` are the body's `meta.version` and `meta.location` (RFC 7644 §3.3).
#[tokio::test]
async fn a_create_answers_with_its_events_text() {
    let app = TestApp::spawn().await;
    let created = app.post("/Users", &body("text@example.com")).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(created.text, event_data(&app, id).await);
    assert_eq!(created.text, created.body.to_string(), "compact, as serde_json writes it");
    assert_eq!(created.header("content-type"), Some("application/scim+json"));
    assert_eq!(created.header("etag"), Some("W/\"1\""));
    assert_eq!(created.header("etag"), created.body["meta"]["version"].as_str());
    assert_eq!(created.header("location"), created.body["meta"]["location"].as_str());
    assert_eq!(created.header("location"), Some(format!("{}/Users/{id}", app.base).as_str()));
    let got = app.get(&format!("/Users/{id}")).await;
    assert_eq!(got.body, created.body, "a GET returns what the create answered");
}

/// With `attributes` or `excludedAttributes` on the POST the response is projected as before;
/// the event's data stays the whole user.
#[tokio::test]
async fn a_projected_create_is_not_the_events_text() {
    let app = TestApp::spawn().await;
    let only = app.post("/Users?attributes=userName", &body("only@example.com")).await;
    assert_eq!(only.status.as_u16(), 201, "{}", only.text);
    let id = only.body["id"].as_str().unwrap();
    assert_eq!(only.body["userName"], "only@example.com");
    assert!(only.body.get("displayName").is_none() && only.body.get("emails").is_none(), "{}", only.text);
    let data: Value = serde_json::from_str(&event_data(&app, id).await).unwrap();
    assert_eq!(data["displayName"], "Text Person");
    assert_eq!(only.header("location"), data["meta"]["location"].as_str());

    let without = app.post("/Users?excludedAttributes=emails", &body("without@example.com")).await;
    assert_eq!(without.status.as_u16(), 201, "{}", without.text);
    assert!(without.body.get("emails").is_none() && without.body["displayName"] == "Text Person", "{}", without.text);
    assert_eq!(without.header("etag"), Some("W/\"1\""));
}

/// A new user's 201 is spliced from its stored body (issue 17, fourth round), not serialised
/// from a tree: byte for byte what the tree gives (a GET with a projection takes that path),
/// with values that need escapes, text beyond ASCII and an extension's object.
#[tokio::test]
async fn a_create_spliced_from_its_stored_body_is_the_trees_bytes() {
    let app = TestApp::spawn().await;
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let sent = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", enterprise],
        "userName": "o\"brien\\té@example.com",
        "displayName": "Zoë \u{1F600}\t</script> \u{7f}",
        "name": {"givenName": "Zoë", "familyName": "O\"Brien"},
        "emails": [{"value": "zoe@example.com", "type": "work", "primary": true}],
        enterprise: {"department": "R&D \"x\"", "manager": {"value": "boss"}}
    });
    let created = app.post("/Users", &sent).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(created.body["displayName"], "Zoë \u{1F600}\t</script> \u{7f}");
    assert_eq!(created.body[enterprise]["department"], "R&D \"x\"");
    assert_eq!(created.text, event_data(&app, id).await);
    let tree = app.get(&format!("/Users/{id}?excludedAttributes=groups")).await;
    assert_eq!(tree.status.as_u16(), 200, "{}", tree.text);
    assert_eq!(created.text, tree.text, "the spliced text is the tree's serialisation");
}
