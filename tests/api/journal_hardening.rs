//! Issue 11, problems 1 and 7 (the compatibility half): one request must not stop the journal,
//! and a flood of distinct User-Agents must not grow a connection's compatibility report.

use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::StatusCode;
use scimbox::db::admins;
use scimbox::db::compat;
use scimbox::db::journal::{self, Entry};
use serde_json::json;

use crate::helpers::{TestApp, user};

/// The journal once an entry matches `want` (fails after 10 s, with what it holds).
async fn journal_with(app: &TestApp, what: &str, want: impl Fn(&Entry) -> bool) -> Vec<Entry> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all = app.db.read(|c| journal::recent(c, 1000, 0, false)).await.expect("read journal");
        if all.iter().any(&want) {
            return all;
        }
        let paths: Vec<_> = all.iter().map(|e| (e.method.clone(), e.path.clone(), e.status)).collect();
        assert!(Instant::now() < deadline, "the journal never recorded {what} within 10 s; it holds {paths:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `body` as is (not necessarily JSON) to POST /Users.
async fn post_raw(app: &TestApp, body: String) -> StatusCode {
    let resp = app
        .client
        .post(format!("{}/Users", app.base))
        .bearer_auth(&app.token)
        .header("Content-Type", "application/scim+json")
        .body(body)
        .send()
        .await
        .expect("request");
    resp.status()
}

/// Problem 1: the two triggers seen from outside. A body cut inside a string right after a
/// two-byte character, and a valid create whose 80,000-byte displayName is cut by the capture
/// (64 KiB) in the middle of a character. Before: the redactor panicked on the first flush, the
/// journal task died and nothing after was ever recorded. After: both are recorded (cut and
/// marked) and so is a later request.
#[tokio::test]
async fn bodies_cut_inside_a_character_do_not_stop_the_journal() {
    let app = TestApp::spawn().await;
    let unterminated = r#"{"userName":"x","displayName":"é"#.to_owned();
    assert_eq!(post_raw(&app, unterminated).await, StatusCode::BAD_REQUEST);
    // Long enough that the 64 KiB capture ends inside an `é` (65,536 - 28 bytes of prefix is even).
    let long = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "long",
        "displayName": "é".repeat(40_000)});
    // Accepted, or refused by a string-size limit: either way its body goes through the redactor.
    let status = post_raw(&app, long.to_string()).await;
    assert!(status == StatusCode::CREATED || status.is_client_error(), "{status}");
    // Both triggers reach the redactor on a flush (once a second) before the next request.
    journal_with(&app, "both triggers", |_| true).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.db.read(journal::count).await.expect("count").0 < 2 {
        assert!(Instant::now() < deadline, "the triggers were not both recorded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.create_user(&user("after-the-triggers")).await;
    let all = journal_with(&app, "a create after the triggers", |e| {
        e.body.as_deref().is_some_and(|b| b.contains("after-the-triggers"))
    })
    .await;
    let cut = all.iter().find(|e| e.body.as_deref().is_some_and(|b| b.ends_with('é'))).expect("the unterminated body");
    assert_eq!(cut.status, 400);
    // The long body, unless a size limit refused it before reading: cut, marked and bounded.
    if let Some(long) = all.iter().find(|e| e.body.as_deref().is_some_and(|b| b.len() > 1000)) {
        let body = long.body.as_deref().unwrap_or("");
        assert!(scimbox::journal::redact::is_truncated(body), "{body:.200}");
        assert!(body.len() < scimbox::journal::redact::STORED_MAX + 200, "{}", body.len());
    }
}

/// Problem 7 (compatibility tallies): 10,000 distinct User-Agents on one token. Before: 10,000
/// rows in `token_clients` and a tokens page of about 4 MB. After: at most
/// [`compat::MAX_CLIENTS`] rows plus one "other clients" tally that still counts every request,
/// and a tokens page of a few tens of KB. The most frequent client keeps its own row.
#[tokio::test]
async fn ten_thousand_user_agents_make_a_bounded_report() {
    const DISTINCT: usize = 10_000;
    // A flood from one token, which the per-token rate limit (issue 15) would refuse: off here.
    let app = TestApp::spawn_with(|mut c| {
        c.rate = 0;
        c
    })
    .await;
    let okta = "Okta SCIM Client 1.0.0";
    let client = app.client.clone();
    let url = format!("{}/Users?count=0", app.base);
    // The IdP's client first, then the flood.
    let agents = (0..20).map(|_| okta.to_owned()).chain((0..DISTINCT).map(|i| format!("flood-client/{i} (probe)")));
    let statuses: Vec<StatusCode> = futures::stream::iter(agents)
        .map(|ua| {
            let req = client.get(&url).bearer_auth(&app.token).header("User-Agent", ua);
            async move { req.send().await.map(|r| r.status()).expect("request") }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK));

    // Every request is counted (listed or as "other clients") once the tallies are flushed.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (rows, counted) = loop {
        let (rows, counted): (i64, i64) = app
            .db
            .read(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*), COALESCE(SUM(requests), 0) FROM token_clients WHERE token_name = 'test'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .await
            .expect("count");
        if counted as usize >= DISTINCT + 20 || Instant::now() > deadline {
            break (rows, counted);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("{DISTINCT} distinct User-Agents: {rows} rows in token_clients, {counted} requests counted");
    assert_eq!(counted as usize, DISTINCT + 20, "every request is counted");
    assert!(rows as usize <= compat::MAX_CLIENTS + 1, "{rows} rows for one token");
    let listed = app.db.read(|c| compat::clients(c, "test")).await.expect("clients");
    assert!(listed.iter().any(|t| t.key == okta && t.count == 20), "the most frequent client keeps its row");
    let other = app.db.read(|c| compat::other_clients(c, "test")).await.expect("other").expect("an other tally");
    assert_eq!(other.count as usize + listed.iter().map(|t| t.count as usize).sum::<usize>(), DISTINCT + 20);

    let page = tokens_page(&app).await;
    eprintln!("tokens page: {} bytes", page.len());
    assert!(page.len() < 100_000, "the tokens page is {} bytes", page.len());
    assert!(page.contains(okta) && page.contains("other clients"), "{page}");
}

/// The `/tokens` page's HTML, as an administrator sees it.
async fn tokens_page(app: &TestApp) -> String {
    let (client, cookie) = admin_session(app).await;
    let page = client.get(format!("{}/tokens", app.origin)).header("Cookie", cookie).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    page.text().await.expect("html")
}

/// Problem 1 (the queue): while the database cannot be written (here, its file removed, or the
/// PostgreSQL database made read-only: `helpers::refuse_writes`), the journal keeps at most
/// `MAX_PENDING` entries for a retry and counts the rest where the admin sees them. Before: a
/// failed flush dropped its whole batch and only the log said so.
#[tokio::test]
async fn entries_the_journal_could_not_keep_are_counted_on_the_status_page() {
    // A flood from one token, which the per-token rate limit (issue 15) would refuse: off here.
    let app = TestApp::spawn_with(|mut c| {
        c.rate = 0;
        c
    })
    .await;
    let (client, cookie) = admin_session(&app).await;
    crate::helpers::refuse_writes(&app).await;
    let extra = 150;
    let url = format!("{}/Users", app.base);
    let statuses: Vec<StatusCode> = futures::stream::iter(0..scimbox::journal::MAX_PENDING + extra)
        .map(|i| {
            let req = app
                .client
                .post(&url)
                .bearer_auth(&app.token)
                .header("Content-Type", "application/scim+json")
                .body(user(&format!("shed-{i}")).to_string());
            async move { req.send().await.map(|r| r.status()).expect("request") }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::SERVICE_UNAVAILABLE), "writes refused");
    let deadline = Instant::now() + Duration::from_secs(20);
    let html = loop {
        let page = client.get(format!("{}/journal", app.origin)).header("Cookie", &cookie).send().await.expect("page");
        let html = page.text().await.expect("html");
        if html.contains("id=\"journal-shed\"") || Instant::now() > deadline {
            break html;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let start = html.find("id=\"journal-shed\"").unwrap_or_else(|| panic!("no shed notice in {html}"));
    let notice = &html[start..start + html[start..].find("</p>").unwrap_or(0)];
    eprintln!("{notice}");
    let n: usize = notice.split('>').nth(1).and_then(|t| t.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(n >= extra, "{n} entries counted as not recorded: {notice}");
    assert!(notice.contains("not recorded since"), "{notice}");
}

/// A client logged in as an administrator, and its session cookie.
async fn admin_session(app: &TestApp) -> (reqwest::Client, String) {
    let hash = scimbox::service::admins::hash_password("correct horse battery").expect("hash");
    let now = scimbox::stamp::timestamp(scimbox::clock::now());
    app.db.write(move |c| admins::insert(c, "alice", &hash, &now)).await.expect("admin");
    crate::helpers::login(app, "alice", "correct horse battery").await
}
