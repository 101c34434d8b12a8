//! Issue 12: the CLI and the status page speak about tokens the same way, because both call
//! `service::tokens`. The same tokens get the same status word from `scimbox token list` (the
//! real binary) and from `/tokens`; a name the service refuses is refused by both, with the same
//! message.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use scimbox::db::tokens;

use crate::auth_tokens::cli;
use crate::helpers::{TestApp, bin, form_encode};

const PASSWORD: &str = "correct horse battery";

/// A client logged in to `app`'s status page as `alice` (added with `scimbox admin add`), and
/// its session cookie.
async fn admin_session(app: &TestApp) -> (reqwest::Client, String) {
    let mut child = Command::new(bin())
        .args(["admin", "add", "alice", "--db", app.db_path.to_str().expect("utf-8 path")])
        .env_remove("SCIMBOX_DB")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run scimbox");
    child.stdin.take().expect("stdin").write_all(format!("{PASSWORD}\n").as_bytes()).expect("stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    crate::helpers::login(app, "alice", PASSWORD).await
}

/// `name -> status` from `scimbox token list`.
fn cli_statuses(app: &TestApp) -> BTreeMap<String, String> {
    let out = cli(&["token", "list", "--db", app.db_path.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((words.next()?.to_owned(), words.next()?.to_owned()))
        })
        .collect()
}

/// `name -> status` from the tokens table of `/tokens`.
fn page_statuses(html: &str) -> BTreeMap<String, String> {
    html.split(r#"<th scope="row">"#)
        .skip(1)
        .filter_map(|row| {
            let (name, rest) = row.split_once("</th>")?;
            let badge = rest.split_once(r#"<span class="badge "#)?.1;
            let word = badge.split_once('>')?.1.split_once("</span>")?.0;
            Some((name.to_owned(), word.to_owned()))
        })
        .filter(|(name, _)| !name.contains('<'))
        .collect()
}

#[tokio::test]
async fn cli_and_page_show_the_same_status_words() {
    let app = TestApp::spawn().await;
    let db_s = app.db_path.to_str().expect("utf-8 path").to_owned();
    // Active: the helper's `test`. Revoked: issued and revoked through the binary. Expired: one
    // stored with an expiry in the past (the CLI refuses to issue such a token).
    crate::auth_tokens::create_token(&app.db_path, "gone", None);
    let out = cli(&["token", "revoke", "--db", &db_s, "gone"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let past = "2000-01-01T00:00:00.000Z";
    let now = scimbox::stamp::timestamp(scimbox::clock::now());
    app.db.write(move |c| tokens::insert(c, "stale", &[7u8; 32], &now, Some(past))).await.expect("insert");

    let from_cli = cli_statuses(&app);
    let (client, cookie) = admin_session(&app).await;
    let page = client.get(format!("{}/tokens", app.origin)).header("Cookie", cookie).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let from_page = page_statuses(&page.text().await.expect("body"));

    let want: BTreeMap<String, String> =
        [("test", "active"), ("gone", "revoked"), ("stale", "expired")].map(|(n, s)| (n.into(), s.into())).into();
    assert_eq!(from_cli, want, "token list");
    assert_eq!(from_page, want, "/tokens");
}

#[tokio::test]
async fn cli_and_page_refuse_the_same_names_with_the_same_message() {
    let app = TestApp::spawn().await;
    let (client, cookie) = admin_session(&app).await;
    let page = client.get(format!("{}/tokens", app.origin)).header("Cookie", &cookie).send().await.expect("page");
    let html = page.text().await.expect("body");
    let at = html.find(r#"name="csrf" value=""#).expect("a CSRF field") + r#"name="csrf" value=""#.len();
    let csrf = html[at..].split('"').next().unwrap_or_default().to_owned();

    for name in ["okta\u{7}prod", "   ", &"x".repeat(65)] {
        let out = cli(&["token", "create", "--db", app.db_path.to_str().expect("utf-8 path"), "--name", name]);
        assert!(!out.status.success() && out.stdout.is_empty(), "{name:?} accepted by the CLI");
        assert_eq!(out.status.code(), Some(65), "invalid input (sysexits EX_DATAERR)");
        let stderr = String::from_utf8(out.stderr).expect("utf-8");
        let message = stderr.trim().strip_prefix("scimbox: ").expect("the CLI's prefix").to_owned();

        let form = form_encode(&[("csrf", &csrf), ("name", name), ("expires_in", "90d")]);
        let posted = client
            .post(format!("{}/tokens", app.origin))
            .header("Cookie", &cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .expect("post");
        assert_eq!(posted.status(), StatusCode::BAD_REQUEST, "{name:?} accepted by the page");
        let html = posted.text().await.expect("body");
        let shown = html.split(r#"id="form-error">"#).nth(1).and_then(|s| s.split("</p>").next()).expect("an error");
        assert_eq!(shown, message, "{name:?}: the same words on both");
    }
    assert_eq!(cli_statuses(&app).len(), 1, "nothing was issued");
}
