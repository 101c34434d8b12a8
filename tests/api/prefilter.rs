//! The raw-text prefilter of list scans (server/src/service/prefilter.rs) changes no result:
//! filters whose literals it pushes into SQLite (RFC 7644 §3.4.2.2 `eq`, `co`, `sw`, `ew`, with
//! `and`/`or`) answer exactly what the evaluator alone answers, including for Unicode case folding
//! (`straße` equals `STRASSE`) and values JSON stores escaped. `not (not (F))` means F but is
//! never prefiltered, so it is the reference. Also: deep unfiltered pages over gaps in the
//! insertion order (RFC 7644 §3.4.2.4).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, form_encode, ids};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn body(user_name: &str, display: &str, title: Option<&str>, email: &str, department: Option<&str>) -> Value {
    let mut b = json!({
        "schemas": [USER_URN],
        "userName": user_name,
        "displayName": display,
        "emails": [{"type": "work", "value": email}],
    });
    if let Some(t) = title {
        b["title"] = t.into();
    }
    if let Some(d) = department {
        b["schemas"] = json!([USER_URN, ENT_URN]);
        b[ENT_URN] = json!({"department": d});
    }
    b
}

/// Seeds users; returns the app and the userNames in insertion order.
async fn seeded() -> TestApp {
    let app = TestApp::spawn().await;
    let users = [
        body("u1", "Bench User 0012345", Some("Engineer"), "one@example.com", Some("Sales")),
        body("u2", "Bench User 0012346", None, "two@EXAMPLE.com", None),
        body("u3", "STRASSE", Some("Straße Planner"), "three@example.org", Some("Straßenbau")),
        body("u4", "Straße", Some("strasse"), "four@example.org", None),
        body("u5", "say \"hi\"", Some("back\\slash"), "five@example.net", Some("Support")),
        body("u6", "\u{212a}elvin", Some("ﬀ"), "six@example.net", None),
        body("u7", "bench user 0012345", Some("ENGINEER"), "seven@corp.test", Some("sales")),
    ];
    for b in &users {
        app.create_user(b).await;
    }
    app
}

async fn names(app: &TestApp, filter: &str) -> Vec<String> {
    let r = app.get(&format!("/Users?{}", form_encode(&[("filter", filter), ("count", "100")]))).await;
    assert_eq!(r.status, StatusCode::OK, "{filter}: {}", r.text);
    let got: Vec<String> = r.body["Resources"]
        .as_array()
        .map(|a| a.iter().map(|u| u["userName"].as_str().unwrap_or("").to_owned()).collect())
        .unwrap_or_default();
    assert_eq!(r.body["totalResults"].as_u64(), Some(got.len() as u64), "{filter}");
    got
}

async fn check(app: &TestApp, filter: &str, want: &[&str]) {
    let got = names(app, filter).await;
    assert_eq!(got, want, "filter {filter}");
    let reference = names(app, &format!("not (not ({filter}))")).await;
    assert_eq!(got, reference, "filter {filter} against the unfiltered scan");
}

#[tokio::test]
async fn prefiltered_scans_answer_what_the_evaluator_answers() {
    let app = seeded().await;
    check(&app, r#"displayName eq "Bench User 0012345""#, &["u1", "u7"]).await;
    check(&app, r#"displayName sw "bench user 00123""#, &["u1", "u2", "u7"]).await;
    check(&app, r#"displayName ew "346""#, &["u2"]).await;
    check(&app, r#"displayName co "USER 001""#, &["u1", "u2", "u7"]).await;
    check(&app, r#"displayName eq "nobody""#, &[]).await;
    // Unicode case folding: ß is ss, the Kelvin sign is k, the ff ligature is ff.
    check(&app, r#"displayName eq "strasse""#, &["u3", "u4"]).await;
    check(&app, r#"displayName eq "STRAßE""#, &["u3", "u4"]).await;
    check(&app, r#"title sw "STRASSE""#, &["u3", "u4"]).await;
    check(&app, r#"department sw "strassen""#, &["u3"]).await;
    check(&app, r#"displayName eq "kelvin""#, &["u6"]).await;
    check(&app, r#"title eq "FF""#, &["u6"]).await;
    // Values JSON stores escaped.
    check(&app, r#"displayName co "hi""#, &["u5"]).await;
    check(&app, r#"displayName eq "say \"hi\"""#, &["u5"]).await;
    check(&app, r#"title eq "BACK\\SLASH""#, &["u5"]).await;
    // Complex attributes, value paths, extensions, and/or/not.
    check(&app, r#"emails ew "@example.com""#, &["u1", "u2"]).await;
    check(&app, r#"emails[type eq "WORK" and value co "example.n"]"#, &["u5", "u6"]).await;
    check(&app, r#"department eq "SALES" and title eq "engineer""#, &["u1", "u7"]).await;
    check(&app, r#"displayName eq "Bench User 0012346" or title co "planner""#, &["u2", "u3"]).await;
    check(&app, r#"displayName eq "Bench User 0012346" or title pr"#, &["u1", "u2", "u3", "u4", "u5", "u6", "u7"])
        .await;
    check(&app, r#"not (displayName sw "bench") and emails co "example""#, &["u3", "u4", "u5", "u6"]).await;
    check(&app, r#"userName eq "u4" and displayName sw "STRA""#, &["u4"]).await;
    check(&app, r#"title eq "true" or displayName eq "TRUE""#, &[]).await;
}

#[tokio::test]
async fn prefiltered_group_scans_skip_only_what_cannot_match() {
    let app = seeded().await;
    let u1 = ids(&app.filter(r#"userName eq "u1""#).await.body).remove(0);
    for (name, ext) in [("Engineering", "g-eng"), ("Straße Team", "g-str"), ("Sales", "g-sales")] {
        let g = json!({"schemas": [GROUP_URN], "displayName": name, "externalId": ext,
                       "members": [{"value": u1}]});
        let r = app.post("/Groups", &g).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }
    for (filter, want) in [
        (r#"displayName sw "eng""#, vec!["Engineering"]),
        (r#"displayName co "STRASSE""#, vec!["Straße Team"]),
        (r#"externalId ew "-sales" or displayName ew "ing""#, vec!["Engineering", "Sales"]),
        (r#"members[value eq "nobody"]"#, vec![]),
    ] {
        for f in [filter.to_owned(), format!("not (not ({filter}))")] {
            let r = app.get(&format!("/Groups?{}", form_encode(&[("filter", &f)]))).await;
            assert_eq!(r.status, StatusCode::OK, "{f}: {}", r.text);
            let got: Vec<&str> =
                r.body["Resources"].as_array().unwrap().iter().map(|g| g["displayName"].as_str().unwrap()).collect();
            assert_eq!(got, want, "{f}");
        }
    }
    let r = app.get(&format!("/Groups?{}", form_encode(&[("filter", &format!(r#"members co "{}""#, &u1[..8]))]))).await;
    assert_eq!(r.body["totalResults"], 3, "{}", r.text);
}

/// RFC 7644 §3.4.2.4: `startIndex` is a 1-based position in the default order, whatever gaps
/// deletions left in the insertion numbers.
#[tokio::test]
async fn deep_pages_over_deleted_users() {
    let app = TestApp::spawn().await;
    let mut all = Vec::new();
    for i in 0..30 {
        let u = app.create_user(&json!({"schemas": [USER_URN], "userName": format!("p{i:02}")})).await;
        all.push(u["id"].as_str().unwrap().to_owned());
    }
    for (i, id) in all.clone().iter().enumerate().rev() {
        if i % 4 == 1 {
            assert_eq!(app.delete(&format!("/Users/{id}")).await.status, StatusCode::NO_CONTENT);
            all.remove(i);
        }
    }
    for count in [1, 4, 7, 100] {
        let mut paged = Vec::new();
        for start in (1..=all.len() + 2).step_by(count) {
            let r = app.get(&format!("/Users?startIndex={start}&count={count}")).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            assert_eq!(r.body["totalResults"].as_u64(), Some(all.len() as u64));
            paged.extend(ids(&r.body));
        }
        assert_eq!(paged, all, "count {count}");
    }
    let r = app.get("/Users?startIndex=1000&count=5").await;
    assert_eq!(r.body["Resources"].as_array().map_or(0, Vec::len), 0, "{}", r.text);
}
