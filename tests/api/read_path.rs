//! The read path's fixed cost (issue 17, second round): a list whose whole filter is `userName eq`
//! or `id eq` is answered from that key alone (`service::stored`'s point lookup). Through the real
//! server, its answers are byte for byte those of the general list machinery, which a filter
//! that only adds an always-true term still takes: every shape of user, every paging parameter,
//! GET and `.search`.

use serde_json::{Value, json};

use crate::helpers::{TestApp, form_encode, register_accounts};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SEARCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// GET /Users with `filter` and further query parameters `rest`.
async fn list(app: &TestApp, filter: &str, rest: &str) -> String {
    let got = app.get(&format!("/Users?{}{rest}", form_encode(&[("filter", filter)]))).await;
    assert_eq!(got.status.as_u16(), 200, "{filter}{rest}: {}", got.text);
    got.text
}

#[tokio::test]
async fn a_lookup_by_a_unique_key_answers_as_the_general_list_does() {
    let app = TestApp::spawn().await;
    register_accounts(&app, &[("ACC1", None)]).await;
    let plain = app.create_user(&json!({"schemas": [USER_URN], "userName": "Plain.Person@Example.com"})).await;
    let member = app.create_user(&json!({"schemas": [USER_URN], "userName": "member \"q\" \u{e9}"})).await;
    let holder = app
        .create_user(&json!({"schemas": [USER_URN], "userName": "holder",
                              "accounts": [r#"{"accountId":"ACC1","status":"Active"}"#]}))
        .await;
    let group = json!({"schemas": [GROUP_URN], "displayName": "g", "members": [{"value": member["id"]}]});
    assert_eq!(app.post("/Groups", &group).await.status.as_u16(), 201);
    let mut lookups = Vec::new();
    for user in [&plain, &member, &holder] {
        let (id, name) = (user["id"].as_str().expect("id"), user["userName"].as_str().expect("userName"));
        let quoted = Value::from(name).to_string();
        lookups.push(format!("userName eq {quoted}"));
        lookups.push(format!("USERNAME eq {}", Value::from(name.to_uppercase())));
        lookups.push(format!("urn:ietf:params:scim:schemas:core:2.0:User:userName eq {quoted}"));
        lookups.push(format!("id eq \"{id}\""));
    }
    lookups.push("userName eq \"nobody\"".into());
    lookups.push("id eq \"no-such-id\"".into());
    let mut found = 0;
    for lookup in &lookups {
        // `id pr` holds for every user: the same matches, through the index and the evaluator.
        let general = format!("{lookup} and id pr");
        for rest in ["", "&startIndex=1&count=1", "&startIndex=2", "&count=0", "&startIndex=0&count=5"] {
            let point = list(&app, lookup, rest).await;
            assert_eq!(point, list(&app, &general, rest).await, "{lookup}{rest}");
            if rest.is_empty() && point.contains("\"totalResults\":1,") {
                found += 1;
            }
        }
        let search = |filter: &str| json!({"schemas": [SEARCH_URN], "filter": filter, "startIndex": 1, "count": 10});
        let (a, b) =
            (app.post("/Users/.search", &search(lookup)).await, app.post("/Users/.search", &search(&general)).await);
        assert_eq!((a.status.as_u16(), &a.text), (200, &b.text), "{lookup} through .search");
    }
    // Case-insensitive and qualified names find their user; an unknown name or id none.
    assert_eq!(found, 12, "{lookups:?}");
}

/// A lookup by a unique key still checks its parameters as every list does.
#[tokio::test]
async fn a_lookup_by_a_unique_key_refuses_what_any_list_refuses() {
    let app = TestApp::spawn().await;
    app.create_user(&json!({"schemas": [USER_URN], "userName": "a"})).await;
    let q = form_encode(&[("filter", "userName eq \"a\""), ("cursor", "not-a-cursor")]);
    let got = app.get(&format!("/Users?{q}")).await;
    got.assert_error(400, Some("invalidCursor"));
    let q = form_encode(&[("filter", "userName eq \"a\""), ("sortBy", "nosuch")]);
    app.get(&format!("/Users?{q}")).await.assert_error(400, Some("invalidValue"));
}
