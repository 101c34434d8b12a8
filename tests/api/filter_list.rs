//! Listing, filtering, paging, sorting and searching `/Users` end to end (RFC 7644 §3.4.2,
//! §3.4.3), against eight seeded users chosen so that every operator, precedence rule and
//! leniency separates matching users from non-matching ones.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, form_encode, ids, user};

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENT_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SEARCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The seeded users, in insertion order (the default list order).
const ALL: [&str; 8] = ["alice", "bob", "Carol", "dave", "eve", "frank", "grace", "heidi"];

/// One seeded user's body.
#[allow(clippy::too_many_arguments, reason = "a table row")]
fn seed_user(
    user_name: &str,
    external_id: Option<&str>,
    title: Option<&str>,
    user_type: Option<&str>,
    active: bool,
    emails: Value,
    department: Option<&str>,
) -> Value {
    let mut b = json!({"schemas": [USER_URN], "userName": user_name, "active": active, "emails": emails});
    if let Some(x) = external_id {
        b["externalId"] = x.into();
    }
    if let Some(t) = title {
        b["title"] = t.into();
    }
    if let Some(t) = user_type {
        b["userType"] = t.into();
    }
    if let Some(d) = department {
        b["schemas"] = json!([USER_URN, ENT_URN]);
        b[ENT_URN] = json!({"department": d});
    }
    b
}

/// Seeds the eight users; returns the app and the created resources (in `ALL` order).
///
/// | userName | externalId | title           | userType   | active | emails (type value)                         | department  |
/// |----------|------------|-----------------|------------|--------|---------------------------------------------|-------------|
/// | alice    | Ext-Alice  | Engineer        | Employee   | true   | work alice@example.com (primary), home ...  | Engineering |
/// | bob      | ext-bob    | Manager         | Contractor | false  | work bob@example.com                        | Sales       |
/// | Carol    |            | Engineer        | Employee   | true   | work carol@corp.net, home a-carol@home.org (primary) | Engineering |
/// | dave     |            |                 | Intern     | true   | work dave@example.com                       |             |
/// | eve      | EVE-1      | Director        | Employee   | false  |                                             | Sales       |
/// | frank    |            | engineer        | Employee   | true   | work frank@EXAMPLE.com (primary)            | Support     |
/// | grace    |            | Senior Engineer | Contractor | true   | work grace@other.org                        |             |
/// | heidi    |            |                 |            | true   | work heidi@other.org, home heidi@example.com |            |
async fn seeded() -> (TestApp, Vec<Value>) {
    let app = TestApp::spawn().await;
    let bodies = [
        seed_user(
            "alice",
            Some("Ext-Alice"),
            Some("Engineer"),
            Some("Employee"),
            true,
            json!([
                {"type": "work", "value": "alice@example.com", "primary": true},
                {"type": "home", "value": "alice@home.org"}
            ]),
            Some("Engineering"),
        ),
        seed_user(
            "bob",
            Some("ext-bob"),
            Some("Manager"),
            Some("Contractor"),
            false,
            json!([{"type": "work", "value": "bob@example.com"}]),
            Some("Sales"),
        ),
        seed_user(
            "Carol",
            None,
            Some("Engineer"),
            Some("Employee"),
            true,
            json!([
                {"type": "work", "value": "carol@corp.net"},
                {"type": "home", "value": "a-carol@home.org", "primary": true}
            ]),
            Some("Engineering"),
        ),
        seed_user(
            "dave",
            None,
            None,
            Some("Intern"),
            true,
            json!([{"type": "work", "value": "dave@example.com"}]),
            None,
        ),
        seed_user("eve", Some("EVE-1"), Some("Director"), Some("Employee"), false, json!([]), Some("Sales")),
        seed_user(
            "frank",
            None,
            Some("engineer"),
            Some("Employee"),
            true,
            json!([{"type": "work", "value": "frank@EXAMPLE.com", "primary": true}]),
            Some("Support"),
        ),
        seed_user(
            "grace",
            None,
            Some("Senior Engineer"),
            Some("Contractor"),
            true,
            json!([{"type": "work", "value": "grace@other.org"}]),
            None,
        ),
        seed_user(
            "heidi",
            None,
            None,
            None,
            true,
            json!([
                {"type": "work", "value": "heidi@other.org"},
                {"type": "home", "value": "heidi@example.com"}
            ]),
            None,
        ),
    ];
    let mut created = Vec::new();
    for b in &bodies {
        created.push(app.create_user(b).await);
    }
    (app, created)
}

/// The userNames of a ListResponse's resources, in order.
fn names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .map(|a| a.iter().map(|r| r["userName"].as_str().unwrap_or("<none>").to_owned()).collect())
        .unwrap_or_default()
}

/// Asserts a well-formed ListResponse (RFC 7644 §3.4.2) and returns its userNames.
#[track_caller]
fn list_names(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    assert_eq!(r.body["schemas"], json!([LIST_URN]), "{}", r.text);
    let n = r.body["Resources"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(r.body["itemsPerPage"].as_u64(), Some(n), "itemsPerPage is the page's size: {}", r.text);
    names(&r.body)
}

/// Runs `filter` and asserts exactly these userNames come back, in insertion order.
#[track_caller]
fn expect(r: &Resp, filter: &str, want: &[&str]) {
    let got = list_names(r);
    assert_eq!(got, want, "filter {filter}");
    assert_eq!(r.body["totalResults"].as_u64(), Some(want.len() as u64), "filter {filter}: {}", r.text);
}

async fn check(app: &TestApp, filter: &str, want: &[&str]) {
    let r = app.filter(filter).await;
    expect(&r, filter, want);
}

/// RFC 7644 §3.4.2.2 Table 3: every comparison operator, `pr`, and `not`, with the attribute's
/// `caseExact` deciding string comparisons (title, userName and emails.value are caseExact=false,
/// RFC 7643 §4.1, §4.1.2).
#[tokio::test]
async fn each_operator() {
    let (app, _) = seeded().await;
    // eq: userName is caseExact=false (RFC 7643 §4.1.1).
    check(&app, r#"userName eq "ALICE""#, &["alice"]).await;
    // ne: a user without a title has no value identical to "Engineer", so ne matches it.
    check(&app, r#"title ne "Engineer""#, &["bob", "dave", "eve", "grace", "heidi"]).await;
    // co / sw / ew: substring matches, case-insensitive here.
    check(&app, r#"title co "engineer""#, &["alice", "Carol", "frank", "grace"]).await;
    check(&app, r#"title sw "ENG""#, &["alice", "Carol", "frank"]).await;
    check(&app, r#"emails.value ew "@example.com""#, &["alice", "bob", "dave", "frank", "heidi"]).await;
    // gt / ge / lt / le: lexical order, folded for caseExact=false ("Carol" sorts as "carol").
    check(&app, r#"userName gt "dave""#, &["eve", "frank", "grace", "heidi"]).await;
    check(&app, r#"userName ge "DAVE""#, &["dave", "eve", "frank", "grace", "heidi"]).await;
    check(&app, r#"userName lt "carol""#, &["alice", "bob"]).await;
    check(&app, r#"userName le "carol""#, &["alice", "bob", "Carol"]).await;
    // pr: has a non-empty value (eve's `emails: []` is no value, RFC 7643 §2.5).
    check(&app, "title pr", &["alice", "bob", "Carol", "eve", "frank", "grace"]).await;
    check(&app, "emails pr", &["alice", "bob", "Carol", "dave", "frank", "grace", "heidi"]).await;
    // not ( ) (RFC 7644 §3.4.2.2 Table 4).
    check(&app, "not (title pr)", &["dave", "heidi"]).await;
    check(&app, r#"not (userName eq "bob")"#, &["alice", "Carol", "dave", "eve", "frank", "grace", "heidi"]).await;
    // null and multi-valued semantics as documented in validator-wasm/src/filter.rs
    // (`Filter::matches`): `eq null` matches a missing attribute, `ne null` a present one; a
    // multi-valued attribute matches if ANY value does (and `ne` matches a missing one).
    check(&app, "title eq null", &["dave", "heidi"]).await;
    check(&app, "title ne null", &["alice", "bob", "Carol", "eve", "frank", "grace"]).await;
    check(&app, r#"emails.type ne "work""#, &["alice", "Carol", "eve", "heidi"]).await;
    // Booleans compare with eq (RFC 7644 §3.4.2.2 compValue = false / true).
    check(&app, "active eq false", &["bob", "eve"]).await;
    check(&app, "active eq true", &["alice", "Carol", "dave", "frank", "grace", "heidi"]).await;
    // Operator and attribute names are case-insensitive (RFC 7644 §3.4.2.2, RFC 7643 §2.1).
    check(&app, r#"USERNAME EQ "bob""#, &["bob"]).await;
}

/// RFC 7644 §3.4.2.2: precedence `()` > `not` > `and` > `or`.
#[tokio::test]
async fn logical_precedence_and_grouping() {
    let (app, _) = seeded().await;
    // and binds tighter than or: Employee OR (Contractor AND inactive).
    check(
        &app,
        r#"userType eq "Employee" or userType eq "Contractor" and active eq false"#,
        &["alice", "bob", "Carol", "eve", "frank"],
    )
    .await;
    // Parentheses regroup: (Employee OR Contractor) AND inactive.
    check(&app, r#"(userType eq "Employee" or userType eq "Contractor") and active eq false"#, &["bob", "eve"]).await;
    // The same with the and on the left.
    check(&app, r#"active eq false and userType eq "Contractor" or userType eq "Intern""#, &["bob", "dave"]).await;
    check(&app, r#"active eq false and (userType eq "Contractor" or userType eq "Intern")"#, &["bob"]).await;
    // not applies to its group only, before and.
    check(&app, r#"not (active eq true) and userType eq "Employee""#, &["eve"]).await;
    check(&app, r#"not (active eq true and userType eq "Employee")"#, &["bob", "dave", "eve", "grace", "heidi"]).await;
}

/// RFC 7644 §3.4.2.2 valuePath: the bracketed filter must hold for ONE email, while the dotted
/// form matches when any email satisfies each part separately (heidi: a work address at
/// other.org and a home address at example.com).
#[tokio::test]
async fn complex_and_dotted_attribute_filters() {
    let (app, _) = seeded().await;
    check(&app, r#"emails[type eq "work" and value co "@example.com"]"#, &["alice", "bob", "dave", "frank"]).await;
    check(
        &app,
        r#"emails.type eq "work" and emails.value co "@example.com""#,
        &["alice", "bob", "dave", "frank", "heidi"],
    )
    .await;
    // emails.value is caseExact=false (RFC 7643 §4.1.2).
    check(&app, r#"emails.value eq "CAROL@corp.net""#, &["Carol"]).await;
    check(&app, r#"emails.value eq "frank@example.com""#, &["frank"]).await;
    check(&app, r#"emails[value eq "heidi@EXAMPLE.com"]"#, &["heidi"]).await;
    check(&app, r#"emails[type eq "home"]"#, &["alice", "Carol", "heidi"]).await;
}

/// RFC 7644 §3.4.2.2 / §3.10: attribute paths may carry their schema URN, for extension and
/// core attributes alike.
#[tokio::test]
async fn urn_qualified_paths() {
    let (app, _) = seeded().await;
    check(&app, &format!(r#"{ENT_URN}:department eq "Engineering""#), &["alice", "Carol"]).await;
    check(&app, r#"department eq "Sales""#, &["bob", "eve"]).await;
    check(&app, &format!(r#"{USER_URN}:userName eq "bob""#), &["bob"]).await;
    check(&app, &format!(r#"{USER_URN}:userName eq "CAROL""#), &["Carol"]).await;
    check(&app, &format!("{ENT_URN}:department pr"), &["alice", "bob", "Carol", "eve", "frank"]).await;
}

/// userName is caseExact=false (RFC 7643 §4.1.1) but `id` and `externalId` are caseExact=true
/// (RFC 7643 §3.1).
#[tokio::test]
async fn case_sensitivity_follows_case_exact() {
    let (app, created) = seeded().await;
    check(&app, r#"userName eq "cArOl""#, &["Carol"]).await;
    check(&app, r#"externalId eq "Ext-Alice""#, &["alice"]).await;
    check(&app, r#"externalId eq "ext-alice""#, &[]).await;
    check(&app, r#"externalId eq "EXT-BOB""#, &[]).await;
    let alice_id = created[0]["id"].as_str().unwrap();
    check(&app, &format!(r#"id eq "{alice_id}""#), &["alice"]).await;
    let upper = alice_id.to_uppercase();
    assert_ne!(upper, alice_id, "the id has letters");
    check(&app, &format!(r#"id eq "{upper}""#), &[]).await;
}

/// `meta.lastModified gt "<timestamp>"`, the usual delta-sync filter: dateTimes compare
/// chronologically (RFC 7644 §3.4.2.2, RFC 7643 §2.3.5).
#[tokio::test]
async fn last_modified_filter() {
    let (app, created) = seeded().await;
    let t0 = created.iter().map(|u| u["meta"]["lastModified"].as_str().unwrap().to_owned()).max().unwrap();
    // Modify grace until her lastModified is strictly after every seeded timestamp (millisecond
    // precision; bounded).
    let grace = created[6]["id"].as_str().unwrap();
    let mut later = String::new();
    for i in 0..200 {
        let r = app
            .patch(
                &format!("/Users/{grace}"),
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "path": "nickName", "value": format!("g{i}")}]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        later = r.body["meta"]["lastModified"].as_str().unwrap().to_owned();
        if later > t0 {
            break;
        }
    }
    assert!(later > t0, "the clock never advanced past {t0}");
    check(&app, &format!(r#"meta.lastModified gt "{t0}""#), &["grace"]).await;
    let ge = app.filter(&format!(r#"meta.lastModified ge "{t0}""#)).await;
    assert!(list_names(&ge).contains(&"grace".to_owned()), "{}", ge.text);
    check(&app, r#"meta.lastModified gt "2000-01-01T00:00:00Z""#, &ALL).await;
    check(&app, r#"meta.lastModified lt "2000-01-01T00:00:00Z""#, &[]).await;
    check(&app, r#"meta.lastModified gt "2999-01-01T00:00:00.000Z""#, &[]).await;
}

/// Entra ID forms (idp-behaviour §2.2 row 3, §2.1): `+` for spaces, unquoted values, and the
/// unknown `aadOptscim062020` parameter, which must be ignored.
#[tokio::test]
async fn entra_query_forms() {
    let (app, _) = seeded().await;
    let r = app.get("/Users?filter=userName+eq+%22bob%22").await;
    expect(&r, "userName+eq+\"bob\"", &["bob"]);
    let r = app.get("/Users?filter=userName+eq+\"Carol\"").await;
    expect(&r, "userName+eq+\"Carol\" (raw quotes)", &["Carol"]);
    let r = app.get("/Users?filter=externalId+eq+ext-bob").await;
    expect(&r, "externalId eq ext-bob (unquoted)", &["bob"]);
    let r = app.get("/Users?aadOptscim062020&filter=userName+eq+%22eve%22").await;
    expect(&r, "with aadOptscim062020 first", &["eve"]);
    let r = app.get("/Users?filter=userName%20eq%20%22eve%22&aadOptscim062020").await;
    expect(&r, "with aadOptscim062020 last", &["eve"]);
    // Entra's Test Connection: a random GUID matches nothing: 200 and an empty list.
    let r = app.get("/Users?aadOptscim062020&filter=userName+eq+%223f2a9c1e-0000-4000-8000-000000000000%22").await;
    expect(&r, "random guid", &[]);
}

/// idp-behaviour §2.2 row 3 and §4.2: Entra matches users by `emails[type eq "work"].value eq
/// "..."` (a valuePath followed by a sub-attribute, the PATCH path form used as a filter). The
/// RFC 7644 §3.4.2.2 FILTER grammar has no such form, but a server that answers it with 400
/// breaks Entra's matching; the meaning is unambiguous (`emails[type eq "work" and value eq
/// "..."]`).
#[tokio::test]
async fn entra_value_path_with_sub_attribute() {
    let (app, _) = seeded().await;
    let r = app.filter(r#"emails[type eq "work"].value eq "dave@example.com""#).await;
    expect(&r, "emails[type eq \"work\"].value eq", &["dave"]);
    // Carol's carol@corp.net is a work address, heidi's heidi@example.com is not.
    let r = app.filter(r#"emails[type eq "work"].value eq "CAROL@corp.net""#).await;
    expect(&r, "emails[type eq \"work\"].value eq (case)", &["Carol"]);
    let r = app.filter(r#"emails[type eq "work"].value eq "heidi@example.com""#).await;
    expect(&r, "emails[type eq \"work\"].value eq (home address)", &[]);
}

/// RFC 7644 §3.4.2.2 / §3.12: a filter that does not parse is 400 invalidFilter, and the detail
/// says where.
#[tokio::test]
async fn invalid_filters_name_the_position() {
    let app = TestApp::spawn().await;
    app.create_user(&user("someone")).await;
    let cases = [
        (r#"userName equals "x""#, "at character 10"),
        (r#"userName eq "x" and"#, "at character 20"),
        (r#"(userName eq "x""#, "at character 17"),
        (r#"userName eq "unterminated"#, "at character 13"),
        (r#"userName eq "x" or or title pr"#, "at character 23"),
        (r#"emails[type eq "work""#, "at character 22"),
        ("userName eq", "at character 12"),
        (r#""userName" eq "x""#, "at character 1"),
    ];
    for (f, at) in cases {
        let r = app.filter(f).await;
        let detail = r.assert_error(400, Some("invalidFilter"));
        assert!(detail.contains(at), "filter {f:?}: detail {detail:?} should say {at:?}");
    }
}

/// RFC 7644 §3.4.2.2: "If the specified attribute in a filter expression is not known ... the
/// service provider SHALL respond with 400 ... invalidFilter"; `password` (returned: never,
/// RFC 7643 §4.1.1) cannot be filtered on either.
#[tokio::test]
async fn unknown_and_hidden_attributes_are_refused() {
    let app = TestApp::spawn().await;
    app.create_user(&user("someone")).await;
    let r = app.filter(r#"favouriteColour eq "blue""#).await;
    let detail = r.assert_error(400, Some("invalidFilter"));
    assert!(detail.contains("favouriteColour"), "{detail}");
    let r = app.filter(r#"emails[colour eq "blue"]"#).await;
    let detail = r.assert_error(400, Some("invalidFilter"));
    assert!(detail.contains("colour"), "{detail}");
    let r = app.filter(r#"name.nickname eq "x""#).await;
    let detail = r.assert_error(400, Some("invalidFilter"));
    assert!(detail.contains("nickname"), "{detail}");
    let r = app.filter("urn:example:unknown:1.0:User:foo pr").await;
    r.assert_error(400, Some("invalidFilter"));
    for f in [r#"password eq "secret""#, "password pr", r#"userName eq "x" or password co "a""#] {
        let r = app.filter(f).await;
        let detail = r.assert_error(400, Some("invalidFilter"));
        assert!(detail.contains("password"), "{f}: {detail}");
    }
    // Ordering comparisons on booleans are invalid (RFC 7644 §3.4.2.2 Table 3, gt).
    app.filter("active gt true").await.assert_error(400, Some("invalidFilter"));
}

/// idp-behaviour §1.4 steps 3, 5 and §2.2 row 1: no match is 200 with `totalResults: 0` and
/// `Resources: []` (RFC 7644 §3.4.2), never 404.
#[tokio::test]
async fn no_match_is_an_empty_list() {
    let (app, _) = seeded().await;
    let r = app.filter(r#"userName eq "abcdefgh@example.com""#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"schemas": [LIST_URN], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );
}

/// RFC 7644 §3.4.2.4: the paging numbers are JSON integers (idp-behaviour §1.4 step 1:
/// `GET /Users?count=1&startIndex=1`, and the Okta `startIndex=1&count=2` probe).
#[tokio::test]
async fn paging_numbers_are_integers() {
    let (app, _) = seeded().await;
    let r = app.get("/Users?startIndex=1&count=2").await;
    assert_eq!(list_names(&r), ["alice", "bob"]);
    for k in ["totalResults", "startIndex", "itemsPerPage"] {
        assert!(r.body[k].is_u64(), "{k} must be a JSON integer: {}", r.text);
    }
    assert_eq!(r.body["totalResults"], 8);
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["itemsPerPage"], 2);
    let r = app.get("/Users?count=1&startIndex=1").await;
    assert_eq!(list_names(&r), ["alice"]);
    assert_eq!((r.body["totalResults"].as_u64(), r.body["itemsPerPage"].as_u64()), (Some(8), Some(1)));
    let r = app.get("/Users?startIndex=7&count=5").await;
    assert_eq!(list_names(&r), ["grace", "heidi"]);
    assert_eq!(r.body["startIndex"], 7);
    assert_eq!(r.body["totalResults"], 8);
    // Past the end: an empty page, totals intact.
    let r = app.get("/Users?startIndex=20&count=5").await;
    assert_eq!(list_names(&r), Vec::<String>::new());
    assert_eq!(r.body["totalResults"], 8);
    assert_eq!(r.body["Resources"], json!([]));
    // Without count, every one of the 8 (DEFAULT_COUNT 100).
    let r = app.get("/Users").await;
    assert_eq!(list_names(&r), ALL);
    assert_eq!(r.body["totalResults"], 8);
    assert_eq!(r.body["startIndex"], 1);
}

/// Okta needs a stable default order (idp-behaviour §4.2): pages of 3 concatenate to one page of
/// 100, with and without a filter and with a sort.
#[tokio::test]
async fn paging_is_stable_across_page_sizes() {
    let (app, _) = seeded().await;
    for extra in ["", "&filter=active%20eq%20true", "&sortBy=title", "&sortBy=userName&sortOrder=descending"] {
        let whole = app.get(&format!("/Users?startIndex=1&count=100{extra}")).await;
        assert_eq!(whole.status, StatusCode::OK, "{}", whole.text);
        let all = ids(&whole.body);
        let total = whole.body["totalResults"].as_u64().unwrap();
        assert_eq!(total, all.len() as u64);
        let mut pages = Vec::new();
        let mut start = 1;
        while start <= total {
            let p = app.get(&format!("/Users?startIndex={start}&count=3{extra}")).await;
            assert_eq!(p.status, StatusCode::OK, "{}", p.text);
            assert_eq!(p.body["totalResults"].as_u64(), Some(total));
            assert_eq!(p.body["startIndex"].as_u64(), Some(start));
            pages.extend(ids(&p.body));
            start += 3;
        }
        assert_eq!(pages, all, "query {extra:?}");
    }
}

/// RFC 7644 §3.4.2.4: "A value less than 1 SHALL be interpreted as 1"; a negative count "SHALL
/// be interpreted as 0"; count 0 returns totals only.
#[tokio::test]
async fn out_of_range_paging_is_clamped() {
    let (app, _) = seeded().await;
    for q in ["startIndex=0&count=2", "startIndex=-5&count=2"] {
        let r = app.get(&format!("/Users?{q}")).await;
        assert_eq!(list_names(&r), ["alice", "bob"], "{q}");
        assert_eq!(r.body["startIndex"], 1, "{q}: {}", r.text);
        assert_eq!(r.body["totalResults"], 8);
    }
    for q in ["count=0", "count=-3", "count=0&filter=active%20eq%20false"] {
        let r = app.get(&format!("/Users?{q}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let total = if q.contains("filter") { 2 } else { 8 };
        assert_eq!(r.body["totalResults"], total, "{q}: {}", r.text);
        assert_eq!(r.body["itemsPerPage"], 0, "{q}: {}", r.text);
        assert_eq!(r.body["Resources"], json!([]), "{q}: {}", r.text);
    }
    // count is an integer (RFC 7644 §3.4.2.4): anything else is 400.
    for q in ["count=abc", "count=1.5x", "startIndex=one"] {
        let r = app.get(&format!("/Users?{q}")).await;
        let detail = r.assert_error(400, Some("invalidValue"));
        assert!(detail.contains(q.split('=').next().unwrap()), "{q}: {detail}");
    }
}

/// RFC 7644 §3.4.2.4: "the service provider MAY ... return fewer results" than count; scimbox
/// caps a page at filter.maxResults = 1000 (advertised in /ServiceProviderConfig).
#[tokio::test]
async fn count_is_capped_at_max_results() {
    let app = TestApp::spawn().await;
    let now = scimbox::clock::now_stamp();
    app.db
        .write(move |c| {
            for i in 0..1005 {
                let mut doc = serde_json::Map::new();
                doc.insert("userName".into(), format!("bulk{i:04}").into());
                doc.insert("active".into(), true.into());
                scimbox::db::users::insert(c, &uuid_like(i), doc, &now)?;
            }
            Ok(())
        })
        .await
        .expect("seed");
    let r = app.get("/Users?count=5000").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["totalResults"], 1005);
    assert_eq!(r.body["itemsPerPage"], 1000);
    assert_eq!(r.body["Resources"].as_array().unwrap().len(), 1000);
    // With a filter too.
    let r = app.filter(r#"userName sw "bulk""#).await;
    assert_eq!(r.body["totalResults"], 1005);
    assert_eq!(r.body["itemsPerPage"], 100, "default count is 100");
    let r = app.get(&format!("/Users?count=1001&{}", form_encode(&[("filter", r#"userName sw "bulk""#)]))).await;
    assert_eq!(r.body["itemsPerPage"], 1000);
    assert_eq!(r.body["Resources"][999]["userName"], "bulk0999");
    // The rest is reachable by paging.
    let r = app.get("/Users?startIndex=1001&count=1000").await;
    assert_eq!(r.body["itemsPerPage"], 5);
    assert_eq!(names(&r.body), ["bulk1000", "bulk1001", "bulk1002", "bulk1003", "bulk1004"]);
}

fn uuid_like(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// RFC 7644 §3.4.2.3: sortBy / sortOrder; strings sort by their caseExact rule.
#[tokio::test]
async fn sorting() {
    let (app, _) = seeded().await;
    let r = app.get("/Users?sortBy=userName").await;
    assert_eq!(list_names(&r), ["alice", "bob", "Carol", "dave", "eve", "frank", "grace", "heidi"]);
    let r = app.get("/Users?sortBy=userName&sortOrder=ascending").await;
    assert_eq!(list_names(&r), ["alice", "bob", "Carol", "dave", "eve", "frank", "grace", "heidi"]);
    let r = app.get("/Users?sortBy=userName&sortOrder=descending").await;
    assert_eq!(list_names(&r), ["heidi", "grace", "frank", "eve", "dave", "Carol", "bob", "alice"]);
    // Multi-valued: by the primary value (RFC 7644 §3.4.2.3: "the primary value ... if any");
    // Carol's primary is her second email, a-carol@home.org; eve has none and sorts last.
    let r = app.get("/Users?sortBy=emails").await;
    assert_eq!(list_names(&r), ["Carol", "alice", "bob", "dave", "frank", "grace", "heidi", "eve"]);
    let r = app.get("/Users?sortBy=emails.value&sortOrder=descending").await;
    assert_eq!(list_names(&r), ["eve", "heidi", "grace", "frank", "dave", "bob", "alice", "Carol"]);
    // Missing values sort last ascending, first descending; ties keep insertion order.
    let r = app.get("/Users?sortBy=title").await;
    assert_eq!(list_names(&r), ["eve", "alice", "Carol", "frank", "bob", "grace", "dave", "heidi"]);
    let r = app.get("/Users?sortBy=title&sortOrder=descending").await;
    assert_eq!(list_names(&r), ["dave", "heidi", "grace", "bob", "alice", "Carol", "frank", "eve"]);
    // Extension attribute, with a filter and paging.
    let r = app.get(&format!("/Users?sortBy={ENT_URN}:department&filter=department%20pr&count=3")).await;
    assert_eq!(list_names(&r), ["alice", "Carol", "bob"]);
    assert_eq!(r.body["totalResults"], 5);
    // sortOrder is case-insensitive; sortBy names too.
    let r = app.get("/Users?sortby=USERNAME&sortOrder=DESCENDING&count=2").await;
    assert_eq!(list_names(&r), ["heidi", "grace"]);
}

/// RFC 7644 §3.4.2.3: an unknown sortBy attribute or a bad sortOrder is a client error.
#[tokio::test]
async fn bad_sort_parameters() {
    let (app, _) = seeded().await;
    let r = app.get("/Users?sortBy=shoeSize").await;
    let detail = r.assert_error(400, None);
    assert!(detail.contains("shoeSize"), "{detail}");
    let r = app.get("/Users?sortBy=userName&sortOrder=sideways").await;
    let detail = r.assert_error(400, None);
    assert!(detail.contains("sideways"), "{detail}");
}

/// RFC 7644 §3.4.3: POST /Users/.search and POST /.search take a SearchRequest and answer as
/// the equivalent GET does.
#[tokio::test]
async fn search_requests_match_get() {
    let (app, _) = seeded().await;
    let filter = r#"emails[type eq "work"] and not (userName eq "grace")"#;
    let get = app
        .get(&format!(
            "/Users?{}",
            form_encode(&[
                ("filter", filter),
                ("sortBy", "userName"),
                ("sortOrder", "descending"),
                ("startIndex", "2"),
                ("count", "3"),
                ("attributes", "userName,emails"),
            ])
        ))
        .await;
    assert_eq!(list_names(&get), ["frank", "dave", "Carol"]);
    assert_eq!(get.body["totalResults"], 6);
    assert_eq!(get.body["startIndex"], 2);
    // attributes=userName,emails: id (returned: always) stays, title does not.
    let first = &get.body["Resources"][0];
    assert!(first["id"].is_string(), "{first}");
    assert!(first.get("title").is_none(), "{first}");
    assert!(first["emails"].is_array(), "{first}");
    let body = json!({
        "schemas": [SEARCH_URN],
        "filter": filter,
        "sortBy": "userName",
        "sortOrder": "descending",
        "startIndex": 2,
        "count": 3,
        "attributes": ["userName", "emails"],
    });
    for path in ["/Users/.search", "/.search"] {
        let post = app.post(path, &body).await;
        assert_eq!(post.status, StatusCode::OK, "{path}: {}", post.text);
        assert_eq!(post.header("content-type"), Some("application/scim+json"));
        assert_eq!(post.body, get.body, "{path}");
    }
    // A minimal SearchRequest: everything.
    let post = app.post("/Users/.search", &json!({"schemas": [SEARCH_URN]})).await;
    assert_eq!(list_names(&post), ALL);
    // A filter that matches nothing.
    let post = app.post("/.search", &json!({"schemas": [SEARCH_URN], "filter": "userName eq \"nobody\""})).await;
    assert_eq!(post.status, StatusCode::OK);
    assert_eq!(post.body["totalResults"], 0);
    assert_eq!(post.body["Resources"], json!([]));
}

/// RFC 7644 §3.4.3 / §3.12: a SearchRequest with the wrong `schemas`, a bad filter, or a body
/// that is not an object is refused with 400.
#[tokio::test]
async fn bad_search_requests() {
    let (app, _) = seeded().await;
    let wrong = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "filter": "userName pr"});
    for path in ["/Users/.search", "/.search"] {
        app.post(path, &wrong).await.assert_error(400, Some("invalidSyntax"));
        app.post(path, &json!({"schemas": "nope"})).await.assert_error(400, Some("invalidSyntax"));
        app.post(path, &json!([1, 2])).await.assert_error(400, Some("invalidSyntax"));
        app.post(path, &json!({"schemas": [SEARCH_URN], "filter": "userName eq"}))
            .await
            .assert_error(400, Some("invalidFilter"));
        app.post(path, &json!({"schemas": [SEARCH_URN], "count": "many"})).await.assert_error(400, None);
    }
}

/// The lookups in `server/src/db/users.rs` use an index, never a table scan
/// (migrations/V1__init.sql: "lookups by id, userName, externalId and emails.value use an index").
#[tokio::test]
async fn lookups_use_indexes() {
    let (app, _) = seeded().await;
    let conn = rusqlite::Connection::open_with_flags(&app.db_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open read-only");
    let cols = "seq, id, version, created, last_modified, doc";
    let queries = [
        format!("SELECT {cols} FROM users WHERE id = ?1"),
        format!("SELECT {cols} FROM users WHERE id = ?1 ORDER BY seq"),
        format!("SELECT {cols} FROM users WHERE user_name_key = ?1 ORDER BY seq"),
        format!("SELECT {cols} FROM users WHERE external_id = ?1 ORDER BY seq"),
        format!(
            "SELECT {cols} FROM users WHERE seq IN (SELECT user_seq FROM user_emails WHERE value_key = ?1) ORDER BY seq"
        ),
        format!("SELECT {cols} FROM users WHERE seq = ?1"),
        "DELETE FROM user_emails WHERE user_seq = ?1".to_owned(),
    ];
    for sql in &queries {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("explain");
        let plan: Vec<String> = stmt
            .query_map([""], |r| r.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("plan rows");
        let text = plan.join(" | ");
        let indexed = ["USING INDEX", "USING COVERING INDEX", "PRIMARY KEY"].iter().any(|s| text.contains(s));
        assert!(indexed, "{sql}\n  plan: {text}");
        assert!(!text.contains("SCAN users") && !text.contains("SCAN user_emails"), "{sql}\n  plan: {text}");
    }
}
