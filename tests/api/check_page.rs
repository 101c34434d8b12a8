//! `/check` (issue 13 item 5) through the real server: a fault inside a payload string of a
//! whole User body is reported, and marked in the gutter, at its line and column in the body;
//! the example payload names the registry's account and role for a logged-in admin only.

use reqwest::StatusCode;

use crate::helpers::{TestApp, form_encode, login, run_scimbox};

/// Runs `scimbox ARGS --db <the app's database>` with `stdin`, asserting success.
fn cli(app: &TestApp, args: &[&str], stdin: &str) {
    let db = app.db_path.to_str().expect("utf-8 path");
    let out = run_scimbox(&[args, &["--db", db]].concat(), stdin);
    assert!(out.status.success(), "scimbox {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A page of `/check`: GET, or POST of `text`, with the session `cookie` if given.
async fn page(app: &TestApp, client: &reqwest::Client, cookie: Option<&str>, text: Option<&str>) -> String {
    let url = format!("{}/check", app.origin);
    let mut req = match text {
        Some(t) => client
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form_encode(&[("text", t)])),
        None => client.get(url),
    };
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let resp = req.send().await.expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.text().await.expect("body")
}

/// The part of the page from the element with this id to the end of its section.
fn part<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in:\n{html}"));
    let rest = &html[start..];
    &rest[..rest.find("</section>").or_else(|| rest.find("</div>")).unwrap_or(rest.len())]
}

/// A 25-line User body: `accounts` on line 24 holds two payload strings, the first with an
/// unknown key after escapes (`\"`, `\u00e9`, `\n`) and the second naming an unregistered
/// account.
fn body() -> String {
    let filler: String = (3..=22).map(|n| format!("  \"x-note-{n}\": \"note {n}\",\n")).collect();
    format!(
        "{{\n  \"userName\": \"bjensen\",\n{filler}  \"displayName\": \"B. Jensen\",\n  \"accounts\": [\"{{\\\"accountId\\\":\\\"ACC\\u00e9\\\",\\n\\\"acountId\\\":\\\"X\\\"}}\"]\n}}"
    )
}

/// The verdict says "line 24, column C" (C counted in characters in the body, escapes
/// included), the gutter marks line 24 and no other; the page's scripts jump by the same
/// numbers. Before issue 13 the page said "line 2, column 1", a place inside the string.
#[tokio::test]
async fn checker_places_a_fault_in_a_user_body_at_its_line() {
    let app = TestApp::spawn().await;
    let text = body();
    let line = text.lines().nth(23).expect("line 24");
    let column = line[..line.find(r#"\"acountId"#).expect("the fault")].chars().count() + 1;
    let client = reqwest::Client::new();
    let html = page(&app, &client, None, Some(&text)).await;
    let verdict = part(&html, "verdict");
    assert!(verdict.contains("1 fault"), "{verdict}");
    let at = format!("line 24, column {column}");
    assert!(verdict.contains(&format!(r#"<span class="pos">{at}</span>"#)), "{verdict}");
    assert!(verdict.contains(&format!("accounts[0] ({at}): unknown key")), "{verdict}");
    let gutter = part(&html, "gutter");
    let bad: Vec<&str> = gutter.match_indices(r#"<span class="bad">"#).map(|(i, _)| &gutter[i + 18..i + 20]).collect();
    assert_eq!(bad, ["24"], "{gutter}");
}

/// A visitor's page names no registered account (the page is public); a logged-in admin's
/// example names the first registered account and catalogued role, and checking it says Valid.
#[tokio::test]
async fn checker_example_names_the_registry_for_an_admin_only() {
    let app = TestApp::spawn().await;
    cli(&app, &["admin", "add", "ada"], "correct horse battery staple\n");
    let (client, cookie) = login(&app, "ada", "correct horse battery staple").await;
    let neutral = "{&#34;accountId&#34;: &#34;ACC123&#34;, &#34;roles&#34;: [&#34;Editor&#34;]}";
    let empty = page(&app, &client, Some(&cookie), None).await;
    assert!(part(&empty, "example").contains(neutral), "nothing registered yet: {}", part(&empty, "example"));
    assert!(part(&empty, "registry-note").contains("register accounts first"), "{empty}");

    cli(&app, &["account", "add", "ACC-7F3A", "--name", "Chosen by nobody"], "");
    cli(&app, &["role", "add", "Reader"], "");
    let visitor = page(&app, &reqwest::Client::new(), None, None).await;
    assert!(part(&visitor, "example").contains(neutral), "{visitor}");
    assert!(!visitor.contains("ACC-7F3A") && !visitor.contains("Reader"), "a visitor sees nothing of the registry");

    let admin = page(&app, &client, Some(&cookie), None).await;
    let shown = part(&admin, "example");
    assert!(
        shown.contains("{&#34;accountId&#34;: &#34;ACC-7F3A&#34;, &#34;roles&#34;: [&#34;Reader&#34;]}"),
        "{shown}"
    );
    let example = r#"{"accountId": "ACC-7F3A", "roles": ["Reader"]}"#;
    let checked = page(&app, &client, Some(&cookie), Some(example)).await;
    assert!(part(&checked, "verdict-summary").contains("Valid"), "{checked}");
}
