//! A first start (issue 16): with no administrator or no working token, `scimbox serve` says so
//! in its log and the status page says so on the page, each with the exact command that adds
//! one for this database; the commands shown are run as shown, and the notices go away.

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;

use crate::auth_tokens::Server;
use crate::helpers::{bin, form_encode};

const PASSWORD: &str = "correct horse battery";

/// The text of the first `<code>` inside the element with `id`, HTML entities undone.
fn command_in(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let start = html[at..].find("<code>")? + at + "<code>".len();
    let end = html[start..].find("</code>")? + start;
    let text = &html[start..end];
    Some(
        text.replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Runs a command as an administrator would paste it into a shell, with `scimbox` being the
/// binary under test and `stdin` typed in.
fn run_as_shown(command: &str, stdin: &str) -> String {
    let rest = command.strip_prefix("scimbox ").unwrap_or_else(|| panic!("not a scimbox command: {command}"));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("\"$SCIMBOX_BIN\" {rest}"))
        .env("SCIMBOX_BIN", bin())
        .env_remove("SCIMBOX_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{command}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// GET `path` with an optional session cookie; no redirect followed.
async fn get(client: &reqwest::Client, origin: &str, path: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut req = client.get(format!("{origin}{path}"));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let resp = req.send().await.expect("request");
    (resp.status(), resp.text().await.expect("body"))
}

/// From an empty database to a working setup, following only what the log and the pages say.
/// The database sits in a directory whose name needs quoting in a shell (on SQLite).
#[tokio::test]
async fn a_first_start_says_which_commands_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("it's my dir");
    std::fs::create_dir(&home).unwrap();
    // On PostgreSQL (helpers::fresh_db) the database is a URL, which needs no quoting.
    let db =
        if crate::helpers::on_postgres() { crate::helpers::fresh_db(&home).await } else { home.join("scimbox.db") };
    let server = Server::start(&db, &dir.path().join("server.log")).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // The log: one line for each thing missing, with the command for this database.
    let log = server.log_text();
    let db_text = db.to_str().unwrap();
    let quoted = if crate::helpers::on_postgres() {
        db_text.to_owned()
    } else {
        format!("'{}'", db_text.replace('\'', r"'\''"))
    };
    let admin_line = log.lines().find(|l| l.contains("no administrator yet")).unwrap_or_else(|| panic!("{log}"));
    assert!(admin_line.contains(&format!("scimbox admin add --db {quoted} admin")), "{admin_line}");
    assert!(admin_line.contains("INFO"), "{admin_line}");
    let token_line = log.lines().find(|l| l.contains("no active token yet")).unwrap_or_else(|| panic!("{log}"));
    assert!(token_line.contains(&format!("scimbox token create --db {quoted} --name my-idp")), "{token_line}");
    assert!(token_line.contains("WARN"), "{token_line}");

    // `/` sends a visitor to the login page, which says how to add the first administrator.
    let (status, _) = get(&client, &server.origin, "/", None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, html) = get(&client, &server.origin, "/login", None).await;
    assert_eq!(status, StatusCode::OK);
    let add_admin = command_in(&html, "first-run-admin").unwrap_or_else(|| panic!("no first-run notice: {html}"));
    assert_eq!(add_admin, format!("scimbox admin add --db {quoted} admin"));
    run_as_shown(&add_admin, &format!("{PASSWORD}\n"));

    // With an administrator, the login page no longer calls this a first start.
    let (_, html) = get(&client, &server.origin, "/login", None).await;
    assert!(!html.contains("first-run-admin"), "{html}");
    let login = client
        .post(format!("{}/login", server.origin))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form_encode(&[("name", "admin"), ("password", PASSWORD), ("next", "/")]))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER, "the administrator the shown command added logs in");
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();

    // The overview says no IdP can connect yet, and how to issue a token.
    let (status, html) = get(&client, &server.origin, "/", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let issue = command_in(&html, "first-run-token").unwrap_or_else(|| panic!("no token notice: {html}"));
    assert_eq!(issue, format!("scimbox token create --db {quoted} --name my-idp"));
    let token = run_as_shown(&issue, "");
    let token = token.trim();

    // The token works, and the overview no longer asks for one.
    let r = client.get(format!("{}/Users", server.base)).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the token the shown command issued is accepted");
    let (_, html) = get(&client, &server.origin, "/", Some(&cookie)).await;
    assert!(!html.contains("first-run-token"), "{html}");
}

/// A revoked token does not count: the overview asks for a working one again.
#[tokio::test]
async fn only_a_working_token_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_db(dir.path()).await;
    let db_text = db.to_str().unwrap();
    let cli = |args: &[&str], stdin: &str| {
        let mut child = Command::new(bin())
            .args(args)
            .args(["--db", db_text])
            .env_remove("SCIMBOX_DB")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    cli(&["admin", "add", "alice"], &format!("{PASSWORD}\n"));
    cli(&["token", "create", "--name", "okta"], "");
    cli(&["token", "revoke", "okta"], "");
    let server = Server::start(&db, &dir.path().join("server.log")).await;
    let log = server.log_text();
    assert!(!log.contains("no administrator yet"), "{log}");
    assert!(log.contains("no active token yet"), "{log}");
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (_, html) = get(&client, &server.origin, "/login", None).await;
    assert!(!html.contains("first-run-admin") && html.contains("scimbox admin add --db"), "{html}");
}
