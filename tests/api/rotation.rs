//! Token rotation (issue 15 item 3) through the real `scimbox` binary: `token rotate` against a
//! running `scimbox serve`, the overlap during which both secrets work, one connection
//! throughout (list, compatibility report, journal), refusals, the expiry flag in `token list`
//! and the log at start, and the status page's Rotate action.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use scimbox::db::{Db, admins, journal};
use scimbox::service::admins as admin;

use crate::auth_tokens::{Server, cli, create_token, get_with_auth};
use crate::helpers::{TestApp, form_encode, login};

/// `token rotate --db DB NAME [ARGS]`: asserts success and returns the new token (stdout's only
/// line) and stderr.
fn rotate(db: &Path, name: &str, args: &[&str]) -> (String, String) {
    let mut all = vec!["token", "rotate", "--db", db.to_str().unwrap(), name];
    all.extend(args);
    let out = cli(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "token rotate failed: {stderr}");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "token rotate prints the token alone: {stdout:?}");
    assert!(lines[0].starts_with("scimbox_"), "{stdout}");
    (lines[0].to_owned(), stderr)
}

/// `token list`'s output.
fn list(db: &Path) -> String {
    let out = cli(&["token", "list", "--db", db.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The lines of a listing that are `name`'s rows.
fn rows<'a>(listed: &'a str, name: &str) -> Vec<&'a str> {
    listed.lines().filter(|l| l.split_whitespace().next() == Some(name)).collect()
}

/// A GET /Users with `token` and a User-Agent.
async fn get_as(client: &reqwest::Client, base: &str, token: &str, ua: &str) -> StatusCode {
    client
        .get(format!("{base}/Users"))
        .bearer_auth(token)
        .header("User-Agent", ua)
        .send()
        .await
        .expect("request")
        .status()
}

/// `--overlap 3s`: both secrets work at once after the rotation, the old one is refused (the
/// same 401 as an expired token) once the 3 s are up and not before, the new one keeps working;
/// it is one connection throughout: one row in `token list`, one compatibility report with
/// both clients, journal entries of both secrets under the same name. No secret is logged.
#[tokio::test]
async fn overlap_accepts_both_then_only_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_db(dir.path()).await;
    let old = create_token(&db, "okta", Some("30d"));
    let mut server = Server::start(&db, &dir.path().join("server.log")).await;
    let client = reqwest::Client::new();
    assert_eq!(get_as(&client, &server.base, &old, "OldSecretIdP/1").await, StatusCode::OK);

    let before = Instant::now();
    let (new, stderr) = rotate(&db, "okta", &["--overlap", "3s"]);
    assert_ne!(new, old);
    assert!(stderr.contains("old secret works until"), "{stderr}");
    // Both work at once: the running server sees the rotation without a restart.
    assert_eq!(get_as(&client, &server.base, &new, "NewSecretIdP/1").await, StatusCode::OK);
    assert_eq!(get_as(&client, &server.base, &old, "OldSecretIdP/1").await, StatusCode::OK);
    let during = list(&db);
    assert!(before.elapsed() < Duration::from_millis(2500), "the checks above took too long to mean anything");
    let row = rows(&during, "okta");
    assert_eq!(row.len(), 1, "one connection, one row: {during}");
    assert!(row[0].contains("active") && row[0].contains("old secret valid until"), "{during}");

    // The old one is refused after its 3 s (and not before), with the expired token's words.
    let refused = loop {
        let r = get_with_auth(&client, &format!("{}/Users", server.base), Some(&format!("Bearer {old}"))).await;
        if r.status == StatusCode::UNAUTHORIZED {
            break r;
        }
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(before.elapsed() < Duration::from_secs(6), "the old secret still worked 6 s after a 3 s overlap");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let took = before.elapsed();
    assert!(took >= Duration::from_millis(2900), "the old secret was refused after {took:?}, before its overlap ended");
    let unknown = get_with_auth(&client, &format!("{}/Users", server.base), Some("Bearer scimbox_nope")).await;
    assert_eq!(refused.assert_error(401, None), unknown.assert_error(401, None), "the same words as any dead token");
    assert_eq!(get_as(&client, &server.base, &new, "NewSecretIdP/1").await, StatusCode::OK);
    let after = list(&db);
    assert!(!after.contains("old secret valid until") && after.contains("rotated"), "{after}");

    // One compatibility report with both clients (tallies are flushed about once a second).
    let deadline = Instant::now() + Duration::from_secs(5);
    let shown = loop {
        let out = cli(&["token", "show", "--db", db.to_str().unwrap(), "okta"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("OldSecretIdP/1") && text.contains("NewSecretIdP/1") || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(shown.contains("OldSecretIdP/1") && shown.contains("NewSecretIdP/1"), "{shown}");
    assert_eq!(rows(&shown, "okta").len(), 1, "one token row: {shown}");

    // The journal attributes the requests of both secrets to the connection.
    let store = Db::open(&db).expect("open");
    let deadline = Instant::now() + Duration::from_secs(5);
    let names = loop {
        let all = store.read(|c| journal::recent(c, 100, 0, false)).await.expect("journal");
        let by = |ua: &str| {
            all.iter()
                .filter(|e| e.client.as_deref() == Some(ua) && e.status == 200)
                .map(|e| e.token_name.clone())
                .collect::<Vec<_>>()
        };
        let (o, n) = (by("OldSecretIdP/1"), by("NewSecretIdP/1"));
        if o.len() >= 2 && n.len() >= 2 || Instant::now() > deadline {
            break [o, n].concat();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(names.len() >= 4 && names.iter().all(|n| n.as_deref() == Some("okta")), "{names:?}");

    server.kill();
    let log = server.log_text();
    for t in [&old, &new] {
        assert!(!log.contains(&t["scimbox_".len()..]), "the log contains a secret");
    }
}

/// Rotating a revoked token or an unknown name is refused with a clear message and an exit code
/// that tells them apart; so is a bad overlap. Nothing is printed on stdout.
#[test]
fn revoked_unknown_and_bad_overlap_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let db_s = db.to_str().unwrap();
    create_token(&db, "okta", None);
    assert!(cli(&["token", "revoke", "--db", db_s, "okta"]).status.success());
    let cases: [(&[&str], i32, &str); 4] = [
        (&["okta"], 1, "was revoked"),
        (&["nobody"], 66, "no token named \"nobody\""),
        (&["okta", "--overlap", "soon"], 65, "not a duration"),
        (&["okta", "--overlap", "0s"], 65, "longer than zero"),
    ];
    for (args, code, words) in cases {
        let mut all = vec!["token", "rotate", "--db", db_s];
        all.extend(args);
        let out = cli(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(words), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // A new token may take the revoked one's name, and be rotated.
    create_token(&db, "okta", None);
    let (_, stderr) = rotate(&db, "okta", &[]);
    assert!(stderr.contains("the old secret works until"), "{stderr}");
    // An expired token can be rotated (that is how its connection comes back); its old secret
    // stays expired, and the new one gets the same lifetime.
    create_token(&db, "brief", Some("1s"));
    std::thread::sleep(Duration::from_millis(1100));
    let listed = list(&db);
    let before = rows(&listed, "brief")[0].to_owned();
    assert!(before.contains("expired"), "{listed}");
    let (_, stderr) = rotate(&db, "brief", &["--overlap", "1h"]);
    assert!(stderr.contains("the old secret had already expired"), "{stderr}");
    let listed = list(&db);
    let after = rows(&listed, "brief")[0];
    let expires = |row: &str| row.split_whitespace().nth(3).map(str::to_owned);
    assert!(expires(after) > expires(&before) && !after.contains("old secret valid"), "{listed}");
}

/// Tokens expiring within 14 days are flagged in `token list` and warned of (once each) when
/// the server starts; a rotation keeps the lifetime the token was issued with.
#[tokio::test]
async fn expiring_tokens_are_flagged_in_the_list_and_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_db(dir.path()).await;
    create_token(&db, "soon", Some("7d"));
    create_token(&db, "later", Some("90d"));
    create_token(&db, "never", None);
    let listed = list(&db);
    assert!(rows(&listed, "soon")[0].contains("EXPIRES SOON"), "{listed}");
    for other in ["later", "never"] {
        assert!(!rows(&listed, other)[0].contains("EXPIRES SOON"), "{listed}");
    }

    let mut server = Server::start(&db, &dir.path().join("server.log")).await;
    server.kill();
    let log = server.log_text();
    let warned: Vec<&str> = log.lines().filter(|l| l.contains("WARN") && l.contains("rotate it")).collect();
    assert_eq!(warned.len(), 1, "one warning, for `soon`: {log}");
    assert!(warned[0].contains("\"soon\""), "{log}");

    // The 90-day token rotated: still 90 days from now, so not flagged.
    rotate(&db, "later", &["--overlap", "1h"]);
    let listed = list(&db);
    let later = rows(&listed, "later")[0];
    assert!(!later.contains("EXPIRES SOON") && later.contains("old secret valid until"), "{listed}");
}

/// The status page's Rotate button (POST with the CSRF token) calls the same rotation: the new
/// token is shown once, and both it and the old one work; without the CSRF token nothing
/// happens; a revoked token cannot be rotated.
#[tokio::test]
async fn the_status_page_rotates_with_csrf() {
    let app = TestApp::spawn().await;
    let hash = admin::hash_password("correct horse battery").expect("hash");
    let now = scimbox::stamp::timestamp(scimbox::clock::now());
    app.db.write(move |c| admins::insert(c, "alice", &hash, &now)).await.expect("admin");
    let (client, cookie) = login(&app, "alice", "correct horse battery").await;
    let page = |path: &str| client.get(format!("{}{path}", app.origin)).header("Cookie", &cookie).send();
    let post = |path: &str, form: String| {
        client
            .post(format!("{}{path}", app.origin))
            .header("Cookie", &cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
    };
    let html = page("/tokens").await.expect("page").text().await.expect("html");
    assert!(html.contains(r#"action="/tokens/test/rotate""#), "a Rotate button: {html}");
    let marker = r#"name="csrf" value=""#;
    let csrf = html[html.find(marker).expect("csrf") + marker.len()..].split('"').next().unwrap_or("").to_owned();

    // A token that expires within 14 days is flagged in the table; one that never does is not.
    let soon = post("/tokens", form_encode(&[("csrf", &csrf), ("name", "soon"), ("expires_in", "7d")])).await;
    assert_eq!(soon.expect("post").status(), StatusCode::CREATED);
    let html = page("/tokens").await.expect("page").text().await.expect("html");
    let row = |name: &str| {
        let start = html.find(&format!("<th scope=\"row\">{name}</th>")).unwrap_or_else(|| panic!("{name}: {html}"));
        html[start..].split("</tr>").next().unwrap_or_default().to_owned()
    };
    assert!(row("soon").contains("expires soon: rotate it"), "{}", row("soon"));
    assert!(!row("test").contains("expires soon"), "{}", row("test"));

    let forged = post("/tokens/test/rotate", form_encode(&[("csrf", "forged")])).await.expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/Users").await.status, StatusCode::OK, "a refused form rotated nothing");

    let done = post("/tokens/test/rotate", form_encode(&[("csrf", &csrf)])).await.expect("post");
    assert_eq!(done.status(), StatusCode::OK);
    let html = done.text().await.expect("html");
    assert!(html.contains("rotated") && html.contains("the old one keeps working until"), "{html}");
    let start = html.find(r#"id="new-token" class="secret" readonly value=""#).expect("the new token");
    let secret = html[start..].split("value=\"").nth(1).and_then(|s| s.split('"').next()).expect("value");
    assert!(secret.starts_with("scimbox_") && secret != app.token, "{secret}");
    let users = format!("{}/Users", app.base);
    assert_eq!(get_with_auth(&app.client, &users, Some(&format!("Bearer {secret}"))).await.status, StatusCode::OK);
    assert_eq!(app.get("/Users").await.status, StatusCode::OK, "the old token works during the overlap");
    let again = page("/tokens").await.expect("page").text().await.expect("html");
    assert!(!again.contains(secret) && again.contains("old secret valid until"), "shown once: {again}");

    let revoked = post("/tokens/test/revoke", form_encode(&[("csrf", &csrf), ("confirm", "yes")])).await.expect("post");
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let refused = post("/tokens/test/rotate", form_encode(&[("csrf", &csrf)])).await.expect("post");
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(refused.text().await.expect("html").contains("was revoked"));
}
