//! Cursor-based paging (RFC 9865) on `/Users`, `/Groups`, `/.search`: walks, the errors of
//! §2.1, the `/ServiceProviderConfig` block of §4, a restart in the middle of a walk, and
//! writes while walking (server/src/service/cursor.rs, service/list.rs).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::StatusCode;
use scimbox::service::cursor::Cursor;
use serde_json::{Value, json};

use crate::auth_tokens::{Server, create_token, get_with_auth};
use crate::helpers::{Resp, TestApp, form_encode, ids, user};

const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// Creates users `{prefix}{i:03}` for `i` in `0..n`; returns their ids in creation order.
async fn users(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(app.create_user(&user(&format!("{prefix}{i:03}"))).await["id"].as_str().expect("id").to_owned());
    }
    out
}

async fn groups(app: &TestApp, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let r = app.post("/Groups", &json!({"displayName": format!("group {i:03}")})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        out.push(r.body["id"].as_str().expect("id").to_owned());
    }
    out
}

/// `GET {path}?{params}&cursor={cursor}`.
async fn page(app: &TestApp, path: &str, params: &[(&str, &str)], cursor: &str) -> Resp {
    let mut all = params.to_vec();
    all.push(("cursor", cursor));
    app.get(&format!("{path}?{}", form_encode(&all))).await
}

/// Walks a list by cursor to its end; returns each page's ids and the last page's body.
async fn walk(app: &TestApp, path: &str, params: &[(&str, &str)]) -> (Vec<Vec<String>>, Value) {
    let mut pages = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = page(app, path, params, &cursor).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let first = cursor.is_empty();
        assert_eq!(
            r.body.get("previousCursor").is_none(),
            first,
            "previousCursor on every page but the first: {}",
            r.text
        );
        assert!(r.body.get("startIndex").is_none(), "a cursor page has no index: {}", r.text);
        assert_eq!(r.body["itemsPerPage"], r.body["Resources"].as_array().map_or(0, Vec::len));
        pages.push(ids(&r.body));
        match r.body["nextCursor"].as_str() {
            Some(next) => {
                assert!(!ids(&r.body).is_empty(), "a page with a nextCursor returns resources");
                cursor = next.to_owned();
            }
            None => return (pages, r.body),
        }
        assert!(pages.len() < 10_000, "the walk does not end");
    }
}

/// RFC 9865 §2: an empty cursor starts a walk, each `nextCursor` leads on, the last page has
/// none, and the pages hold every user once, in creation order; `totalResults` is the whole
/// list's on every page.
#[tokio::test]
async fn a_cursor_walk_returns_every_user_once_and_ends_without_a_next_cursor() {
    let app = TestApp::spawn().await;
    let all = users(&app, "walker", 25).await;

    let first = app.get("/Users?cursor&count=10").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["totalResults"], 25);
    assert_eq!(first.body["itemsPerPage"], 10);
    let next = first.body["nextCursor"].as_str().expect("nextCursor on the first page");
    assert!(next.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)), "unreserved only: {next}");

    let (pages, last) = walk(&app, "/Users", &[("count", "10")]).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    assert_eq!(pages.concat(), all);
    assert_eq!(last["totalResults"], 25);
    assert!(last.get("nextCursor").is_none());

    // A page that ends exactly at the end of the list is the last: no cursor to an empty page.
    let (pages, _) = walk(&app, "/Users", &[("count", "5")]).await;
    assert_eq!(pages.len(), 5);
    // count=0 asks for the total only (RFC 9865 §2): nothing to continue from.
    let zero = app.get("/Users?cursor=&count=0").await;
    assert_eq!(zero.body["totalResults"], 25, "{}", zero.text);
    assert!(zero.body.get("nextCursor").is_none() && ids(&zero.body).is_empty(), "{}", zero.text);
    // Without a cursor nothing changed: index paging is the default (RFC 9865 §2.4).
    let index = app.get("/Users?count=10&startIndex=21").await;
    assert_eq!(index.body["startIndex"], 21);
    assert!(index.body.get("nextCursor").is_none());
    assert_eq!(ids(&index.body), all[20..]);

    // Groups walk the same way.
    let gids = groups(&app, 7).await;
    let (pages, _) = walk(&app, "/Groups", &[("count", "3")]).await;
    assert_eq!(pages.concat(), gids);
}

/// Walks back from `cursor` by `previousCursor` to the first page; returns the pages' ids, the
/// last page first as the walk met them.
async fn walk_back(app: &TestApp, path: &str, params: &[(&str, &str)], mut cursor: String) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    loop {
        let r = page(app, path, params, &cursor).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let went_back = !pages.is_empty();
        assert!(!went_back || r.body["nextCursor"].is_string(), "a page reached going back leads on");
        pages.push(ids(&r.body));
        match r.body["previousCursor"].as_str() {
            Some(prev) => cursor = prev.to_owned(),
            None => return pages,
        }
        assert!(pages.len() < 10_000, "the walk back does not end");
    }
}

/// RFC 9865 §2 `previousCursor`: none on the first page; from any later page it leads to the
/// page before, and back from the last page the walk meets every page again, down to a first
/// page that has none. Sorted, scanned and budget-cut lists too.
#[tokio::test]
async fn previous_cursors_lead_back_page_by_page() {
    let app = TestApp::spawn().await;
    let mut all = Vec::new();
    for i in 0..23 {
        let name = if i % 2 == 0 { format!("even{i:03}") } else { format!("odd{i:03}") };
        let u = app.create_user(&json!({"userName": name, "title": format!("t{}", (i * 7) % 23)})).await;
        all.push(u["id"].as_str().expect("id").to_owned());
    }
    let lists: [&[(&str, &str)]; 3] = [
        &[("count", "5")],
        &[("count", "4"), ("sortBy", "title"), ("sortOrder", "descending")],
        &[("count", "3"), ("filter", "userName sw \"even\"")],
    ];
    for params in lists {
        let (forward, _) = walk(&app, "/Users", params).await;
        // The last page's cursor: walk again, keeping the cursor of each page.
        let mut cursor = String::new();
        for _ in 1..forward.len() {
            cursor = page(&app, "/Users", params, &cursor).await.body["nextCursor"].as_str().unwrap().to_owned();
        }
        let mut back = walk_back(&app, "/Users", params, cursor).await;
        back.reverse();
        assert_eq!(back, forward, "{params:?}");
    }

    // Going back from page 2 after page 1's users were deleted: the first page, as it is now.
    let second = page(&app, "/Users", &[("count", "5")], "").await;
    let second = page(&app, "/Users", &[("count", "5")], second.body["nextCursor"].as_str().unwrap()).await;
    for id in &all[..5] {
        assert_eq!(app.delete(&format!("/Users/{id}")).await.status, StatusCode::NO_CONTENT);
    }
    let back = page(&app, "/Users", &[("count", "5")], second.body["previousCursor"].as_str().unwrap()).await;
    assert_eq!(ids(&back.body), all[5..10]);
    assert!(back.body.get("previousCursor").is_none(), "{}", back.text);

    // The root search has no previousCursor.
    let body = json!({"schemas": [SEARCH], "count": 5, "cursor": ""});
    let first = app.post("/.search", &body).await;
    let body = json!({"schemas": [SEARCH], "count": 5, "cursor": first.body["nextCursor"]});
    let second = app.post("/.search", &body).await;
    assert!(second.body.get("previousCursor").is_none() && second.body["nextCursor"].is_string(), "{}", second.text);
}

/// RFC 9865 §2.1: a cursor that is garbage, edited, for another endpoint or query, expired, or
/// used with another count is refused with the RFC's `scimType`, never a 500 or a wrong page.
#[tokio::test]
async fn bad_cursors_and_counts_get_the_rfc_9865_errors() {
    let app = TestApp::spawn().await;
    users(&app, "err", 6).await;
    let first = page(&app, "/Users", &[("count", "2"), ("filter", "userName sw \"err\"")], "").await;
    let next = first.body["nextCursor"].as_str().expect("nextCursor").to_owned();

    for garbage in ["abc", "!!!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &"x".repeat(20_000)] {
        let r = page(&app, "/Users", &[("count", "2"), ("filter", "userName sw \"err\"")], garbage).await;
        r.assert_error(400, Some("invalidCursor"));
    }
    // Each edited character is caught.
    for i in [0, next.len() / 2, next.len() - 1] {
        let mut edited = next.clone().into_bytes();
        edited[i] = if edited[i] == b'A' { b'B' } else { b'A' };
        let edited = String::from_utf8(edited).unwrap();
        let r = page(&app, "/Users", &[("count", "2"), ("filter", "userName sw \"err\"")], &edited).await;
        r.assert_error(400, Some("invalidCursor"));
    }
    // Bound to its filter, sort and endpoint.
    let other_filter = page(&app, "/Users", &[("count", "2"), ("filter", "userName sw \"er\"")], &next).await;
    let detail = other_filter.assert_error(400, Some("invalidCursor"));
    assert!(detail.contains("filter"), "{detail}");
    let sorted =
        page(&app, "/Users", &[("count", "2"), ("filter", "userName sw \"err\""), ("sortBy", "userName")], &next);
    sorted.await.assert_error(400, Some("invalidCursor"));
    let groups = page(&app, "/Groups", &[("count", "2"), ("filter", "userName sw \"err\"")], &next).await;
    assert_eq!(groups.status, StatusCode::BAD_REQUEST, "{}", groups.text);
    // The same filter written differently is the same query.
    let spaced = page(&app, "/Users", &[("count", "2"), ("filter", "userName  SW   \"err\"")], &next).await;
    assert_eq!(spaced.status, StatusCode::OK, "{}", spaced.text);

    // count: the first page's, and at most maxPageSize.
    let r = page(&app, "/Users", &[("count", "3"), ("filter", "userName sw \"err\"")], &next).await;
    let detail = r.assert_error(400, Some("invalidCount"));
    assert!(detail.contains('2') && detail.contains('3'), "{detail}");
    page(&app, "/Users", &[("count", "1001")], "").await.assert_error(400, Some("invalidCount"));
    // Index paging keeps clamping (RFC 7644 §3.4.2.4).
    assert_eq!(app.get("/Users?count=5000").await.status, StatusCode::OK);

    // An expired cursor: the same one, issued two hours ago (re-checked, as only the server could).
    let mut old = Cursor::parse(&next).expect("a cursor the server issued parses");
    old.issued -= 2 * 3600;
    let r = page(&app, "/Users", &[("count", "2"), ("filter", "userName sw \"err\"")], &old.to_text()).await;
    let detail = r.assert_error(400, Some("expiredCursor"));
    assert!(detail.contains("3600"), "{detail}");
    // Fresh again, it works: only the age was wrong.
    old.issued += 2 * 3600;
    let r = page(&app, "/Users", &[("count", "2"), ("filter", "userName sw \"err\"")], &old.to_text()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // A cursor and a startIndex: two paging methods at once.
    let both = page(&app, "/Users", &[("count", "2"), ("startIndex", "3")], "").await;
    let detail = both.assert_error(400, Some("invalidValue"));
    assert!(detail.contains("startIndex") && detail.contains("cursor"), "{detail}");
    // A cursor of the wrong JSON type in a SearchRequest.
    let body = json!({"schemas": [SEARCH], "cursor": 5});
    app.post("/Users/.search", &body).await.assert_error(400, Some("invalidCursor"));
}

/// A filter the index cannot answer continues its scan from the cursor and leaves out the total
/// (RFC 9865 §2 allows it); an indexed one and a sorted one give it. Each walk returns exactly
/// the matches, in order.
#[tokio::test]
async fn filtered_and_sorted_walks_return_exactly_the_matches() {
    let app = TestApp::spawn().await;
    let mut want = Vec::new();
    for i in 0..30 {
        let name = if i % 3 == 0 { format!("match{i:03}") } else { format!("other{i:03}") };
        let u = app
            .create_user(
                &json!({"userName": name, "externalId": format!("ext{}", i % 2), "title": format!("t{}", 29 - i)}),
            )
            .await;
        if i % 3 == 0 {
            want.push(u["id"].as_str().expect("id").to_owned());
        }
    }
    let (pages, last) = walk(&app, "/Users", &[("count", "4"), ("filter", "userName co \"match\"")]).await;
    assert_eq!(pages.concat(), want);
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
    assert!(last.get("totalResults").is_none(), "a scan that stopped early does not know the total");
    // `sw` is a range of the attribute index (issue 17): the total is known.
    let (pages, last) = walk(&app, "/Users", &[("count", "4"), ("filter", "userName sw \"match\"")]).await;
    assert_eq!(pages.concat(), want);
    assert_eq!(last["totalResults"], want.len());

    // Indexed (externalId) and the rest of the filter evaluated: the total is known.
    let (pages, last) =
        walk(&app, "/Users", &[("count", "4"), ("filter", "externalId eq \"ext0\" and userName sw \"match\"")]).await;
    let even: Vec<String> = want.iter().step_by(2).cloned().collect();
    assert_eq!(pages.concat(), even);
    assert_eq!(last["totalResults"], even.len());

    // Sorted: the pages follow (sort key, seq), descending too, as index paging orders them.
    for order in ["ascending", "descending"] {
        let params = [("count", "7"), ("sortBy", "title"), ("sortOrder", order)];
        let (pages, last) = walk(&app, "/Users", &params).await;
        assert_eq!(last["totalResults"], 30);
        let index = app
            .get(&format!("/Users?{}", form_encode(&[("count", "100"), ("sortBy", "title"), ("sortOrder", order)])))
            .await;
        assert_eq!(pages.concat(), ids(&index.body), "{order}");
    }
}

/// RFC 9865 §3: `cursor` in a SearchRequest body, on `/Users/.search` and on the root
/// `/.search`, which walks the Users, then the Groups, as one list.
#[tokio::test]
async fn search_requests_walk_by_cursor_in_the_body() {
    let app = TestApp::spawn().await;
    let uids = users(&app, "searcher", 10).await;
    let search = |path: &'static str, count: u64, cursor: String| {
        let app = &app;
        async move {
            let body = json!({"schemas": [SEARCH], "count": count, "cursor": cursor});
            let r = app.post(path, &body).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            r
        }
    };
    let mut got = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = search("/Users/.search", 4, cursor).await;
        got.extend(ids(&r.body));
        match r.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(got, uids);

    // The root: 10 users exactly fill two pages of 5 and no group follows: the second page is
    // the last.
    let first = search("/.search", 5, String::new()).await;
    let next = first.body["nextCursor"].as_str().expect("more").to_owned();
    let second = search("/.search", 5, next).await;
    assert_eq!([ids(&first.body), ids(&second.body)].concat(), uids);
    assert!(second.body.get("nextCursor").is_none(), "{}", second.text);
    assert_eq!(second.body["totalResults"], 10);

    // With groups after them: a page that the Users fill exactly leads on to the Groups, and
    // pages across the boundary mix them.
    let gids = groups(&app, 3).await;
    let all = [uids.clone(), gids.clone()].concat();
    for count in [5, 3, 13, 1] {
        let mut got = Vec::new();
        let mut cursor = String::new();
        loop {
            let r = search("/.search", count, cursor).await;
            assert_eq!(r.body["totalResults"], 13, "{}", r.text);
            got.extend(ids(&r.body));
            match r.body["nextCursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        assert_eq!(got, all, "count {count}");
    }
    // A root cursor is not a Users cursor.
    let root = search("/.search", 5, String::new()).await;
    let next = root.body["nextCursor"].as_str().expect("more").to_owned();
    let body = json!({"schemas": [SEARCH], "count": 5, "cursor": next});
    app.post("/Users/.search", &body).await.assert_error(400, Some("invalidCursor"));
}

/// RFC 9865 §4: the ServiceProviderConfig says both methods work and index is the default;
/// `/Schemas` describes the block.
#[tokio::test]
async fn the_service_provider_config_has_the_pagination_block() {
    let app = TestApp::spawn().await;
    let spc = app.get("/ServiceProviderConfig").await;
    assert_eq!(
        spc.body["pagination"],
        json!({
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": 100,
            "maxPageSize": 1000,
            "cursorTimeout": 3600
        })
    );
    let schema = app.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig").await;
    let attrs = schema.body["attributes"].as_array().expect("attributes");
    let pagination = attrs.iter().find(|a| a["name"] == "pagination").expect("pagination is in the schema");
    let subs: Vec<&str> =
        pagination["subAttributes"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(subs, ["cursor", "index", "defaultPaginationMethod", "defaultPageSize", "maxPageSize", "cursorTimeout"]);
}

/// A page the 4 MiB budget ends early: its nextCursor continues right after the last user it
/// returned, so the walk still returns everyone once (90 users of 120 KB: three pages).
#[tokio::test]
async fn a_page_the_byte_budget_cut_continues_after_its_last_user() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(60_000);
    let mut all = Vec::new();
    for i in 0..90 {
        let u = app.create_user(&json!({"userName": format!("big{i:03}"), "title": big, "displayName": big})).await;
        all.push(u["id"].as_str().expect("id").to_owned());
    }
    let (pages, _) = walk(&app, "/Users", &[("count", "1000")]).await;
    assert!(
        pages.len() > 1 && pages[0].len() < 90,
        "90 users of 120 KB are more than 4 MiB: {:?}",
        pages.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_eq!(pages.concat(), all);
    // Going back from the last page, a cut page fills from its end: it meets the page after it,
    // so the walk back meets every user once too.
    let mut cursor = String::new();
    for _ in 1..pages.len() {
        cursor =
            page(&app, "/Users", &[("count", "1000")], &cursor).await.body["nextCursor"].as_str().unwrap().to_owned();
    }
    let back = walk_back(&app, "/Users", &[("count", "1000")], cursor).await;
    assert!(back.len() > 1);
    let back: Vec<String> = back.into_iter().rev().flatten().collect();
    assert_eq!(back, all);
}

/// Cursors hold the whole walk: a server restarted on the same file takes the cursor its
/// predecessor issued and goes on where the walk was.
#[tokio::test]
async fn a_walk_goes_on_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_db(dir.path()).await;
    let token = create_token(&db, "walker", None);
    let auth = format!("Bearer {token}");
    let client = reqwest::Client::new();
    let mut server = Server::start(&db, &dir.path().join("one.log")).await;
    let mut all = Vec::new();
    for i in 0..12 {
        let r = client
            .post(format!("{}/Users", server.base))
            .header("Authorization", &auth)
            .header("Content-Type", "application/scim+json")
            .body(user(&format!("restart{i:02}")).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        all.push(r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
    }
    let first = get_with_auth(&client, &format!("{}/Users?cursor&count=5", server.base), Some(&auth)).await;
    let mut got = ids(&first.body);
    let mut cursor = first.body["nextCursor"].as_str().expect("more").to_owned();
    server.kill();

    let server = Server::start(&db, &dir.path().join("two.log")).await;
    loop {
        let r = get_with_auth(&client, &format!("{}/Users?cursor={cursor}&count=5", server.base), Some(&auth)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        got.extend(ids(&r.body));
        match r.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(got, all);
}

/// Users created and deleted while a walk goes on (concurrently, from another task) move no
/// other user: every user that existed throughout appears exactly once, none appears twice.
#[tokio::test]
async fn writes_during_a_walk_lose_and_repeat_no_user_that_stayed() {
    let app = Arc::new(TestApp::spawn().await);
    let stayed = users(&app, "stay", 150).await;
    let doomed = users(&app, "doomed", 150).await;
    // Interleave them in the list order too.
    let more_stayed = users(&app, "stay-late", 50).await;

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (app, stop, doomed) = (app.clone(), stop.clone(), doomed.clone());
        tokio::spawn(async move {
            let mut created = 0;
            let mut doomed = doomed.into_iter();
            while !stop.load(Ordering::Relaxed) {
                app.create_user(&user(&format!("newcomer{created:04}"))).await;
                created += 1;
                if let Some(id) = doomed.next() {
                    assert_eq!(app.delete(&format!("/Users/{id}")).await.status, StatusCode::NO_CONTENT);
                }
            }
            created
        })
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let r = page(&app, "/Users", &[("count", "10")], &cursor).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        for id in ids(&r.body) {
            *seen.entry(id).or_default() += 1;
        }
        pages += 1;
        tokio::task::yield_now().await;
        match r.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
        assert!(pages < 2_000, "the walk does not end");
    }
    stop.store(true, Ordering::Relaxed);
    let created = writer.await.unwrap();
    assert!(created > 0, "the writer ran during the walk");
    for id in stayed.iter().chain(&more_stayed) {
        assert_eq!(seen.get(id), Some(&1), "user {id} existed throughout and appears once");
    }
    let twice: HashSet<_> = seen.iter().filter(|(_, n)| **n > 1).map(|(id, _)| id).collect();
    assert!(twice.is_empty(), "seen twice: {twice:?}");
}
