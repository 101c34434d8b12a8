//! The compatibility report: which clients a connection saw and which RFC departures scimbox
//! accepted from them (issue: IdP compatibility, item 5).

use std::time::{Duration, Instant};

use reqwest::Method;
use scimbox::db::compat::{self, Tally};
use serde_json::json;

use crate::helpers::TestApp;

/// Polls the report until `ready` holds (the recorder flushes every second), for up to 5 s.
async fn report(app: &TestApp, ready: impl Fn(&[Tally], &[Tally]) -> bool) -> (Vec<Tally>, Vec<Tally>) {
    let start = Instant::now();
    loop {
        let (clients, quirks) =
            app.db.read(|c| Ok((compat::clients(c, "test")?, compat::quirks(c, "test")?))).await.expect("read report");
        if ready(&clients, &quirks) || start.elapsed() > Duration::from_secs(5) {
            return (clients, quirks);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count(tallies: &[Tally], key: &str) -> i64 {
    tallies.iter().find(|t| t.key == key).map_or(0, |t| t.count)
}

#[tokio::test]
async fn records_clients_and_the_quirks_it_smoothed_over() {
    let app = TestApp::spawn().await;
    let created = app.create_user(&json!({"userName": "a@example.com"})).await;
    let id = created["id"].as_str().unwrap();
    // Entra without the flag: capitalised op, string boolean, no User-Agent, + in the query.
    let entra = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let r = app.send(Method::PATCH, &format!("/Users/{id}?aadOptscim062020"), Some(&entra), &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.get("/Users?filter=userName+eq+%22a%40example.com%22").await;
    assert_eq!(r.body["totalResults"], 1);
    // Okta: bare token, User-Agent, path-less deactivation, a double slash.
    let okta = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": true}}]});
    let resp = app
        .client
        .patch(format!("{}//Users/{id}", app.base))
        .header("Authorization", app.token.clone())
        .header("User-Agent", "Okta SCIM Client 1.0.0")
        .header("Content-Type", "application/json")
        .body(okta.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let (clients, quirks) =
        report(&app, |c, q| count(c, "Okta SCIM Client 1.0.0") == 1 && count(q, "bare-token") == 1).await;
    assert_eq!(count(&clients, "Okta SCIM Client 1.0.0"), 1, "{clients:?}");
    assert!(count(&clients, "") >= 3, "requests without a User-Agent are counted too: {clients:?}");
    for (code, n) in [
        ("capitalised-op", 1),
        ("string-boolean", 1),
        ("entra-flag", 1),
        ("plus-in-query", 1),
        ("bare-token", 1),
        ("pathless-patch", 1),
        ("sloppy-path", 1),
        ("plain-json", 1),
    ] {
        assert_eq!(count(&quirks, code), n, "{code} in {quirks:?}");
    }
    assert!(count(&quirks, "no-user-agent") >= 3);
    assert_eq!(count(&quirks, "remove-by-value"), 0, "nothing is recorded that was not sent");
}
