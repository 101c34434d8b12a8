//! `/login` (the form, and its POST: a session cookie and a redirect back to where the admin was
//! going) and `POST /logout`. Failures are told plainly; throttled attempts say how long to wait.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::session::{self, AdminSession};
use super::{Layout, MaybeAdmin, Page, UiError, csrf};
use crate::http::AppState;
use crate::service::admins::{self, LoginError, MAX_NAME_BYTES};
use crate::service::status::setup;

/// The login page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    layout: Layout,
    name: String,
    next: String,
    error: Option<String>,
    /// The command that adds an administrator to this server's database.
    admin_command: String,
    /// No administrator exists yet: the command is the first thing to do, not a hint.
    first_run: bool,
}

impl LoginPage {
    fn new(state: &AppState, name: String, next: String, error: Option<String>) -> Self {
        Self {
            layout: Layout::with("Log in", "", None),
            name,
            next,
            error,
            admin_command: setup::admin_command(&state.config.db_path),
            first_run: false,
        }
    }
}

/// Where to go after logging in: a path on this site, never another site (`//host`, `/\\host`).
fn local(next: Option<&str>) -> String {
    session::safe_next(next.unwrap_or("/")).to_owned()
}

/// The query of `/login`.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    /// Where the admin was going.
    next: Option<String>,
}

/// GET /login: the form, or straight on for an admin already logged in. Before any
/// administrator exists it says which command adds the first.
pub async fn page(
    State(state): State<AppState>,
    MaybeAdmin(session): MaybeAdmin,
    Query(p): Query<Params>,
) -> Result<Response, UiError> {
    let next = local(p.next.as_deref());
    if session.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let first_run = !setup::setup(&state.db).await?.has_admin;
    Ok(Page::ok(LoginPage { first_run, ..LoginPage::new(&state, String::new(), next, None) }).into_response())
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// POST /login.
pub async fn submit(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<LoginForm>,
) -> Result<Response, UiError> {
    let next = local(Some(&form.next));
    let ip = session::client_ip(&parts, &state.config);
    let refused = |status: StatusCode, message: String, retry: Option<u64>| {
        let echo = shortened(&form.name).to_owned();
        let mut resp = Page::status(status, LoginPage::new(&state, echo, next.clone(), Some(message))).into_response();
        if let Some(secs) = retry {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        Ok(resp)
    };
    match admins::login(&state.db, &state.guards, &form.name, &form.password, &ip).await {
        Ok((cookie, _)) => {
            let mut resp = Redirect::to(&next).into_response();
            set_cookie(&mut resp, &session::set_cookie(&cookie, session::is_tls(&parts, &state.config)));
            Ok(resp)
        }
        Err(LoginError::Invalid) => refused(StatusCode::UNAUTHORIZED, "Wrong name or password.".into(), None),
        Err(e @ LoginError::Throttled { seconds }) => {
            refused(StatusCode::TOO_MANY_REQUESTS, format!("Login refused: {e}."), Some(seconds))
        }
        Err(e @ LoginError::Busy) => refused(StatusCode::TOO_MANY_REQUESTS, format!("Login refused: {e}."), Some(1)),
        Err(e @ LoginError::NameTooLong) => refused(StatusCode::BAD_REQUEST, format!("Login refused: {e}."), None),
        Err(LoginError::Failed(e)) => Err(e.into()),
    }
}

/// A name as the page shows it back: at most [`MAX_NAME_BYTES`] bytes (cut at a
/// character boundary), so a megabyte sent as a name is not sent back.
fn shortened(name: &str) -> &str {
    let mut end = name.len().min(MAX_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

fn set_cookie(resp: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
}

/// The logout form.
#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// POST /logout: ends the session, clears the cookie and shows the login page.
pub async fn logout(
    State(state): State<AppState>,
    session: AdminSession,
    parts: Parts,
    Form(form): Form<LogoutForm>,
) -> Result<Response, UiError> {
    csrf(&session, &form.csrf)?;
    admins::logout(&state.db, &session).await;
    let mut resp = Redirect::to("/login").into_response();
    set_cookie(&mut resp, &session::clear_cookie(session::is_tls(&parts, &state.config)));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(local(Some("/users?q=a")), "/users?q=a");
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "users", "/a\nb"] {
            assert_eq!(local(Some(bad)), "/", "{bad}");
        }
        assert_eq!(local(None), "/");
    }

    #[test]
    fn long_names_are_shortened_at_a_character_boundary() {
        assert_eq!(shortened("alice"), "alice");
        let long = "é".repeat(300);
        let s = shortened(&long);
        assert!(s.len() <= MAX_NAME_BYTES && s.len() >= MAX_NAME_BYTES - 1 && s.chars().all(|c| c == 'é'));
    }
}
