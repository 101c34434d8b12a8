//! Status-page administrators (issue 6 item 2): `scimbox admin` through the binary, then login,
//! throttling, sessions, CSRF and logout through the library functions the login pages call,
//! on a running server's database.

use axum::extract::FromRequestParts;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use scimbox::http::ui::session::COOKIE;
use scimbox::service::admins::{self, AdminSession, LoginError};
use scimbox::{AppState, Config};

use crate::helpers::{TestApp, run_scimbox};

const PASSWORD: &str = "correct horse battery";

/// Runs `scimbox admin ARGS --db DB` with `stdin`: exit code, stdout, stderr.
fn scimbox_admin(app: &TestApp, args: &[&str], stdin: &str) -> (i32, String, String) {
    let db = app.db_path.to_str().expect("utf-8 path");
    let out = run_scimbox(&[&["admin"], args, &["--db", db]].concat(), stdin);
    let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8");
    (out.status.code().expect("exit code"), text(out.stdout), text(out.stderr))
}

/// A server with the administrator `alice`, and a state over its database.
async fn with_alice() -> (TestApp, AppState) {
    let app = TestApp::spawn().await;
    let (code, _, err) = scimbox_admin(&app, &["add", "alice"], &format!("{PASSWORD}\n"));
    assert_eq!(code, 0, "{err}");
    let config = Config::new(app.db_path.clone(), "127.0.0.1:0".parse().expect("addr"));
    let state = AppState::new(app.db.clone(), config);
    (app, state)
}

/// What the extractor makes of a request to `path` carrying `cookie`.
async fn session(state: &AppState, path: &str, cookie: Option<&str>) -> Result<AdminSession, (StatusCode, String)> {
    let mut req = Request::builder().uri(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, format!("theme=dark; {}={c}", COOKIE));
    }
    let (mut parts, ()) = req.body(()).expect("request").into_parts();
    AdminSession::from_request_parts(&mut parts, state).await.map_err(|redirect| {
        let resp = redirect.into_response();
        let to = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        (resp.status(), to)
    })
}

#[tokio::test]
async fn admin_add_list_remove_through_the_binary() {
    let app = TestApp::spawn().await;
    let (code, _, err) = scimbox_admin(&app, &["add", "bob"], "too short\n");
    assert_ne!(code, 0);
    assert!(err.contains("at least 12"), "{err}");
    let (code, _, err) = scimbox_admin(&app, &["add", "bob"], "");
    assert!(code != 0 && err.contains("no password"), "{err}");
    let (code, _, err) = scimbox_admin(&app, &["add", "bob"], &format!("{PASSWORD}\r\n"));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = scimbox_admin(&app, &["add", "BOB"], &format!("{PASSWORD}\n"));
    assert!(code != 0 && err.contains("already exists"), "{err}");
    let (code, out, _) = scimbox_admin(&app, &["list"], "");
    assert!(code == 0 && out.contains("bob") && !out.contains("argon2"), "{out}");
    let stored: String = app
        .db
        .read(|c| Ok(c.query_row("SELECT hash FROM admins WHERE name = 'bob'", [], |r| r.get(0))?))
        .await
        .expect("hash");
    assert!(stored.starts_with("$argon2id$") && !stored.contains(PASSWORD));
    let (code, _, err) = scimbox_admin(&app, &["remove", "bob"], "");
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = scimbox_admin(&app, &["list"], "");
    assert!(out.contains("no administrators"), "{out}");
    let (code, _, err) = scimbox_admin(&app, &["remove", "bob"], "");
    assert!(code != 0 && err.contains("no administrator named"), "{err}");
}

#[tokio::test]
async fn login_succeeds_with_the_right_password_only() {
    let (_app, state) = with_alice().await;
    let (cookie, s) = admins::login(&state.db, &state.guards, "Alice", PASSWORD, "10.0.0.1").await.expect("login");
    assert_eq!(s.admin, "alice", "the stored spelling");
    assert!(cookie.len() >= 43 && s.csrf.len() >= 43 && cookie != s.csrf);
    assert_eq!(session(&state, "/users", Some(&cookie)).await.expect("session"), s);
    let wrong = admins::login(&state.db, &state.guards, "alice", "not the password", "10.0.0.1").await;
    assert!(matches!(wrong, Err(LoginError::Invalid)), "{wrong:?}");
    let unknown = admins::login(&state.db, &state.guards, "mallory", PASSWORD, "10.0.0.1").await;
    assert!(matches!(unknown, Err(LoginError::Invalid)), "{unknown:?}");
    assert_eq!(LoginError::Invalid.to_string(), "wrong name or password");
}

/// Issue 11, problem 4: failures slow only their own (name, address) pair; the right
/// password from another address is not held up by someone else's failures.
#[tokio::test]
async fn failures_slow_only_their_own_name_and_address() {
    let (app, state) = with_alice().await;
    scimbox_admin(&app, &["add", "carol"], &format!("{PASSWORD}\n"));
    for _ in 0..scimbox::throttle::FREE_FAILURES {
        let r = admins::login(&state.db, &state.guards, "alice", "guess", "10.0.0.1").await;
        assert!(matches!(r, Err(LoginError::Invalid)), "{r:?}");
    }
    let slowed = admins::login(&state.db, &state.guards, "alice", PASSWORD, "10.0.0.1").await;
    let Err(LoginError::Throttled { seconds }) = slowed else { panic!("the pair is slowed: {slowed:?}") };
    assert_eq!(seconds, 1, "the first delay is a second");
    admins::login(&state.db, &state.guards, "alice", PASSWORD, "10.0.0.2")
        .await
        .expect("the right password from another address");
    admins::login(&state.db, &state.guards, "carol", PASSWORD, "10.0.0.1")
        .await
        .expect("another name from the same address");
    let long = "a".repeat(admins::MAX_NAME_BYTES + 1);
    let r = admins::login(&state.db, &state.guards, &long, PASSWORD, "10.0.0.3").await;
    assert!(matches!(r, Err(LoginError::NameTooLong)), "{r:?}");
    let stored: i64 = app
        .db
        .read(|c| Ok(c.query_row("SELECT count(*) FROM login_attempts WHERE length(name) > 256", [], |r| r.get(0))?))
        .await
        .unwrap_or(-1);
    assert_eq!(stored, 0, "a long name is never stored");
}

#[tokio::test]
async fn csrf_tokens_are_checked() {
    let (_app, state) = with_alice().await;
    let (_, s) = admins::login(&state.db, &state.guards, "alice", PASSWORD, "10.0.0.1").await.expect("login");
    let (_, other) = admins::login(&state.db, &state.guards, "alice", PASSWORD, "10.0.0.1").await.expect("login");
    assert!(admins::check_csrf(&s, &s.csrf));
    assert!(!admins::check_csrf(&s, &other.csrf), "another session's token");
    assert!(!admins::check_csrf(&s, "") && !admins::check_csrf(&s, &s.csrf[1..]));
}

#[tokio::test]
async fn without_a_live_session_pages_redirect_to_login() {
    let (_app, state) = with_alice().await;
    let to_login = (StatusCode::SEE_OTHER, "/login?next=%2Fjournal%3Ffailures%3D1".to_owned());
    assert_eq!(session(&state, "/journal?failures=1", None).await, Err(to_login.clone()));
    assert_eq!(session(&state, "/journal?failures=1", Some("forged")).await, Err(to_login.clone()));

    let (cookie, s) = admins::login(&state.db, &state.guards, "alice", PASSWORD, "10.0.0.1").await.expect("login");
    admins::logout(&state.db, &s).await;
    assert_eq!(session(&state, "/journal?failures=1", Some(&cookie)).await, Err(to_login.clone()), "logged out");

    let (cookie, _) = admins::login(&state.db, &state.guards, "alice", PASSWORD, "10.0.0.1").await.expect("login");
    state
        .db
        .write(|c| Ok(c.execute("UPDATE admin_sessions SET expires = '2000-01-01T00:00:00.000Z'", [])?))
        .await
        .expect("expire");
    assert_eq!(session(&state, "/journal?failures=1", Some(&cookie)).await, Err(to_login), "expired");
}
