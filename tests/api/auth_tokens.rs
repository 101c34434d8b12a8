//! Authentication (RFC 7644 §2, RFC 6750 §2.1 and §3; idp-behaviour §1.1) and the token
//! lifecycle through the real `scimbox` binary: `token create | list | revoke` against a running
//! `scimbox serve`.
//!
//! [`Server`] and [`cli`] are also used by `durability.rs`.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Resp, TestApp, bin, user};

// ---------------------------------------------------------------------------------------------
// The real binary

/// Runs `scimbox ARGS` to completion.
pub fn cli(args: &[&str]) -> Output {
    Command::new(bin()).args(args).env_remove("SCIMBOX_DB").output().expect("run scimbox")
}

/// `scimbox token create --db DB --name NAME [--expires-in D]`; asserts success and returns the
/// token (stdout's only line).
pub fn create_token(db: &Path, name: &str, expires_in: Option<&str>) -> String {
    let db = db.to_str().unwrap();
    let mut args = vec!["token", "create", "--db", db, "--name", name];
    if let Some(d) = expires_in {
        args.extend(["--expires-in", d]);
    }
    let out = cli(&args);
    assert!(out.status.success(), "token create failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "token create prints the token alone: {stdout:?}");
    assert!(stdout.ends_with('\n'), "one full line: {stdout:?}");
    lines[0].to_owned()
}

/// A `scimbox serve` child process, killed (SIGKILL) and reaped when dropped.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    /// `http://127.0.0.1:PORT/scim/v2`.
    pub base: String,
    /// Where the server's stderr (its log) goes.
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Server {
    /// Starts `scimbox serve --db DB --listen 127.0.0.1:PORT` on a free port (retrying if the
    /// port was taken meanwhile) and waits until `/healthz` answers 200.
    pub async fn start(db: &Path, log: &Path) -> Server {
        Self::start_with(db, log, &[], &[]).await
    }

    /// [`Server::start`] with more `serve` arguments and environment variables.
    pub async fn start_with(db: &Path, log: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let client = reqwest::Client::new();
        for attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
            let listen = format!("127.0.0.1:{port}");
            let log_file = File::options().create(true).append(true).open(log).expect("log file");
            let child = Command::new(bin())
                .args(["serve", "--db", db.to_str().unwrap(), "--listen", &listen])
                .args(args)
                .env("RUST_LOG", "info")
                .env_remove("SCIMBOX_BASE_PATH")
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log_file))
                .spawn()
                .expect("spawn scimbox serve");
            let origin = format!("http://{listen}");
            let mut server =
                Server { child: Some(child), base: format!("{origin}/scim/v2"), origin, log: log.to_owned() };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Some(status) = server.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                    eprintln!("attempt {attempt}: scimbox serve exited early ({status}); retrying");
                    break;
                }
                let ok = client
                    .get(format!("{}/healthz", server.origin))
                    .timeout(Duration::from_millis(500))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == StatusCode::OK);
                if ok {
                    return server;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            server.kill();
        }
        panic!("scimbox serve never became ready; log:\n{}", std::fs::read_to_string(log).unwrap_or_default());
    }

    /// SIGKILL (`Child::kill`) and reap; idempotent.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The log written so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A GET with an optional raw Authorization header value.
pub async fn get_with_auth(client: &reqwest::Client, url: &str, auth: Option<&str>) -> Resp {
    let mut req = client.get(url);
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp { status, headers, body, text }
}

/// Polls `GET /Users` with `token` every 25 ms until it is answered 401, for at most `limit`;
/// returns how long that took, or `None` if it was never refused.
async fn refused_within(client: &reqwest::Client, base: &str, token: &str, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    loop {
        let r = get_with_auth(client, &format!("{base}/Users"), Some(&format!("Bearer {token}"))).await;
        if r.status == StatusCode::UNAUTHORIZED {
            r.assert_error(401, None);
            return Some(start.elapsed());
        }
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        if start.elapsed() >= limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Header forms (in-process server)

/// idp-behaviour §1.1: `Bearer T`, `bearer T` (RFC 7235 §2.1: the scheme is case-insensitive)
/// and a bare `T` (Okta Header Auth) are all accepted.
#[tokio::test]
async fn accepted_authorization_forms() {
    let app = TestApp::spawn().await;
    let url = format!("{}/Users", app.base);
    let t = &app.token;
    for auth in
        [format!("Bearer {t}"), format!("bearer {t}"), format!("BEARER {t}"), t.clone(), format!("Bearer  {t} ")]
    {
        let r = get_with_auth(&app.client, &url, Some(&auth)).await;
        assert_eq!(r.status, StatusCode::OK, "Authorization: {auth:?}: {}", r.text);
    }
}

/// RFC 7644 §2 / §3.12 and RFC 6750 §3: a request without a usable token is 401 with a SCIM
/// error body (`status` "401", a detail: Okta spec test step 11) and a `WWW-Authenticate` header.
#[tokio::test]
async fn refused_authorization_forms() {
    let app = TestApp::spawn().await;
    let url = format!("{}/Users?filter=userName%20eq%20%22x%22", app.base);
    let cases: Vec<Option<String>> = vec![
        None,
        Some("Basic dXNlcjpwYXNz".into()),
        Some("Basic x".into()),
        Some("Bearer scimbox_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()),
        Some("non-token".into()),
        Some("Bearer not-a-scimbox-token".into()),
        Some("Bearer".into()),
        Some("Bearer ".into()),
        Some(String::new()),
        Some(format!("Token {}", app.token)),
        Some(format!("Bearer {}x", app.token)),
    ];
    for auth in cases {
        let r = get_with_auth(&app.client, &url, auth.as_deref()).await;
        let detail = r.assert_error(401, None);
        assert!(!detail.is_empty());
        let www = r.header("www-authenticate").unwrap_or_else(|| panic!("{auth:?}: no WWW-Authenticate"));
        assert!(www.to_ascii_lowercase().starts_with("bearer"), "{auth:?}: WWW-Authenticate {www}");
    }
    // Every protected route is guarded, writes included.
    let r = app.client.post(format!("{}/Users", app.base)).body(user("x").to_string()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app.client.delete(format!("{}/Users/some-id", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app.client.post(format!("{}/.search", app.base)).body("{}").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Nothing was created.
    let list = app.get("/Users").await;
    assert_eq!(list.body["totalResults"], 0);
}

/// `/healthz` is for load balancers: no token needed.
#[tokio::test]
async fn healthz_needs_no_token() {
    let app = TestApp::spawn().await;
    let r = get_with_auth(&app.client, &format!("{}/healthz", app.origin), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, serde_json::json!({"status": "ok"}));
}

// ---------------------------------------------------------------------------------------------
// The token CLI

/// `token create` prints the token alone: `scimbox_` and 256 random bits (base64url, 43
/// characters); two tokens differ.
#[test]
fn token_create_prints_only_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let a = create_token(&db, "okta-prod", None);
    let b = create_token(&db, "entra", Some("90d"));
    assert_ne!(a, b);
    for t in [&a, &b] {
        let random = t.strip_prefix("scimbox_").unwrap_or_else(|| panic!("{t} starts with scimbox_"));
        assert_eq!(random.len(), 43, "{t}");
        assert!(random.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{t}: base64url");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(random).expect("base64url");
        assert_eq!(bytes.len(), 32, "256 bits");
    }
}

/// A live token's name is unique (migrations: tokens_live_name): a second `create` with it
/// fails with a message and prints no token.
#[test]
fn duplicate_live_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let db_s = db.to_str().unwrap();
    create_token(&db, "okta", None);
    let out = cli(&["token", "create", "--db", db_s, "--name", "okta"]);
    assert!(!out.status.success(), "duplicate name accepted");
    assert!(out.stdout.is_empty(), "no token printed: {}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("okta") && err.contains("already exists"), "stderr: {err}");
    // After a revoke the name is free again.
    let out = cli(&["token", "revoke", "--db", db_s, "okta"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    create_token(&db, "okta", None);
    // Revoking a name with no live token fails clearly.
    let out = cli(&["token", "revoke", "--db", db_s, "nobody"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody"));
    // Bad input is refused without creating anything.
    for args in [
        vec!["token", "create", "--db", db_s, "--name", "  "],
        vec!["token", "create", "--db", db_s, "--name", "x", "--expires-in", "soon"],
        vec!["token", "create", "--db", db_s, "--name", "y", "--expires-in", "0h"],
    ] {
        let out = cli(&args);
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}

/// `token list` shows names and status, never a secret.
#[test]
fn token_list_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let db_s = db.to_str().unwrap();
    let out = cli(&["token", "list", "--db", db_s]);
    assert!(out.status.success());
    let a = create_token(&db, "okta-prod", None);
    let b = create_token(&db, "entra-test", Some("30d"));
    let out = cli(&["token", "revoke", "--db", db_s, "okta-prod"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = cli(&["token", "list", "--db", db_s]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap() + &String::from_utf8_lossy(&out.stderr);
    for secret in [&a, &b] {
        assert!(!text.contains(secret.as_str()), "list shows a token: {text}");
        assert!(!text.contains(&secret["scimbox_".len()..]), "list shows a token's random part: {text}");
    }
    let line = |name: &str| text.lines().find(|l| l.split_whitespace().next() == Some(name)).map(str::to_owned);
    let okta = line("okta-prod").unwrap_or_else(|| panic!("okta-prod listed: {text}"));
    assert!(okta.contains("revoked"), "{okta}");
    let entra = line("entra-test").unwrap_or_else(|| panic!("entra-test listed: {text}"));
    assert!(entra.contains("active"), "{entra}");
}

/// Against a running `scimbox serve`: a token works; `token revoke` takes effect within one
/// second (auth.rs CACHE_TTL 500 ms); a token created meanwhile works at once; a token with
/// `--expires-in 2s` stops working after 2 s; and the log never contains a token.
#[tokio::test]
async fn lifecycle_against_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_db(dir.path()).await;
    let db_s = db.to_str().unwrap().to_owned();
    let first = create_token(&db, "okta", None);
    let mut server = Server::start(&db, &dir.path().join("server.log")).await;
    let client = reqwest::Client::new();
    let users = format!("{}/Users", server.base);
    let auth = |t: &str| format!("Bearer {t}");

    // It works (and is now cached by the server).
    let r = get_with_auth(&client, &users, Some(&auth(&first))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = get_with_auth(&client, &users, Some(&auth(&first))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // A token created while the server runs works immediately (no restart, no poll).
    let second = create_token(&db, "entra", None);
    let r = get_with_auth(&client, &users, Some(&auth(&second))).await;
    assert_eq!(r.status, StatusCode::OK, "a fresh token is refused: {}", r.text);

    // Revoke while running: refused within 1 s.
    let out = cli(&["token", "revoke", "--db", &db_s, "okta"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let took = refused_within(&client, &server.base, &first, Duration::from_secs(1)).await;
    assert!(took.is_some(), "a revoked token still worked 1 s after `token revoke`");
    // ... and stays refused; the other token is unaffected.
    let r = get_with_auth(&client, &users, Some(&auth(&first))).await;
    r.assert_error(401, None);
    let r = get_with_auth(&client, &users, Some(&auth(&second))).await;
    assert_eq!(r.status, StatusCode::OK);

    // --expires-in 2s: works now, refused after expiry (and not before).
    let before = Instant::now();
    let short = create_token(&db, "short", Some("2s"));
    let r = get_with_auth(&client, &users, Some(&auth(&short))).await;
    assert_eq!(r.status, StatusCode::OK, "a token with 2 s to live is refused at once: {}", r.text);
    let took = refused_within(&client, &server.base, &short, Duration::from_secs(4)).await;
    assert!(took.is_some(), "a token that expired after 2 s still worked after ~4 s");
    let since_create = before.elapsed();
    assert!(
        since_create >= Duration::from_millis(1900),
        "the token was refused {since_create:?} after it was created, before its 2 s were up"
    );

    // `token list` now reports it as expired, and the revoked one as revoked.
    let out = cli(&["token", "list", "--db", &db_s]);
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    let status_of = |name: &str| {
        listed.lines().find(|l| l.split_whitespace().next() == Some(name)).and_then(|l| l.split_whitespace().nth(1))
    };
    assert_eq!(status_of("short"), Some("expired"), "{listed}");
    assert_eq!(status_of("okta"), Some("revoked"), "{listed}");
    assert_eq!(status_of("entra"), Some("active"), "{listed}");

    // A bad token with the scimbox prefix: refused, and not logged either.
    let fake = "scimbox_ThisIsNotARealTokenButLooksLikeOne0000000000";
    get_with_auth(&client, &users, Some(&auth(fake))).await.assert_error(401, None);

    // The log: requests are logged, tokens never.
    server.kill();
    let log = server.log_text();
    assert!(log.contains("/scim/v2/Users"), "the server logs requests: {log}");
    for t in [first.as_str(), second.as_str(), short.as_str(), fake] {
        assert!(!log.contains(t), "the log contains a token: {t}");
        assert!(!log.contains(&t["scimbox_".len()..]), "the log contains a token's random part");
    }
}
