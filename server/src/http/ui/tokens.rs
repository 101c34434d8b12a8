//! `/tokens`: the bearer tokens with their status, expiry and last use, each connection's
//! compatibility report (its clients and the RFC departures scimbox accepted from them), a form
//! that issues a token (shown once, on the response), and a revoke button per live token.

use crate::quirks::Quirk;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use super::time::Stamp;
use super::{Layout, Page, UiError, csrf, query_string};
use crate::admin::AdminSession;
use crate::db::compat::{self, Tally};
use crate::db::tokens::{self, TokenInfo};
use crate::db::{self, Db, StoreError};
use crate::http::AppState;
use crate::http::extract::ResourceId;
use crate::{auth, clock};

/// A token as listed.
pub struct TokenView {
    /// The connection name.
    pub name: String,
    /// `live`, `expired` or `revoked`.
    pub status: &'static str,
    /// Issued.
    pub created: Stamp,
    /// Stops working, if ever.
    pub expires: Option<Stamp>,
    /// Last used.
    pub last_used: Option<Stamp>,
    /// Revoked.
    pub revoked: Option<Stamp>,
}

impl TokenView {
    /// The view of a token at `now`.
    pub fn new(t: &TokenInfo, now: OffsetDateTime) -> Self {
        TokenView {
            name: t.name.clone(),
            status: status(t, &db::timestamp(now)),
            created: Stamp::new(&t.created, now),
            expires: Stamp::opt(t.expires.as_deref(), now),
            last_used: Stamp::opt(t.last_used.as_deref(), now),
            revoked: Stamp::opt(t.revoked.as_deref(), now),
        }
    }
}

/// `live`, `expired` or `revoked` at `now` (a stored stamp).
pub fn status(t: &TokenInfo, now: &str) -> &'static str {
    match (&t.revoked, &t.expires) {
        (Some(_), _) => "revoked",
        (None, Some(exp)) if exp.as_str() <= now => "expired",
        _ => "live",
    }
}

/// One connection's compatibility report.
pub struct Report {
    /// The connection (token) name.
    pub name: String,
    /// The clients seen: User-Agent (or "(none sent)"), requests, last seen.
    pub clients: Vec<(String, i64, Stamp)>,
    /// The departures accepted: code, what scimbox did, count, last seen.
    pub quirks: Vec<(String, &'static str, i64, Stamp)>,
}

/// A token just issued: shown on this response and never again.
pub struct NewToken {
    /// Its name.
    pub name: String,
    /// The secret.
    pub secret: String,
}

/// The tokens page.
#[derive(Template)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenView>,
    reports: Vec<Report>,
    created: Option<NewToken>,
    notice: Option<String>,
    error: Option<String>,
    form: CreateForm,
}

/// What the page reads.
struct Loaded {
    tokens: Vec<TokenInfo>,
    reports: Vec<(String, Vec<Tally>, Vec<Tally>)>,
}

async fn load(db: &Db) -> Result<Loaded, StoreError> {
    db.read(|c| {
        let tokens = tokens::list(c)?;
        let mut names: Vec<String> = tokens.iter().map(|t| t.name.clone()).collect();
        names.dedup();
        let mut seen = std::collections::HashSet::new();
        let mut reports = Vec::new();
        for name in names.into_iter().filter(|n| seen.insert(n.clone())) {
            let mut clients = compat::clients(c, &name)?;
            if let Some(other) = compat::other_clients(c, &name)? {
                let key = format!("(other clients: more than {} were seen; counted together)", compat::MAX_CLIENTS);
                clients.push(Tally { key, ..other });
            }
            reports.push((name.clone(), clients, compat::quirks(c, &name)?));
        }
        Ok(Loaded { tokens, reports })
    })
    .await
}

fn report((name, clients, quirks): (String, Vec<Tally>, Vec<Tally>), now: OffsetDateTime) -> Report {
    let clients = clients
        .into_iter()
        .map(|t| {
            let ua = if t.key.is_empty() { "(none sent)".to_string() } else { t.key };
            (ua, t.count, Stamp::new(&t.last_seen, now))
        })
        .collect();
    let quirks = quirks
        .into_iter()
        .map(|t| {
            let what = Quirk::from_code(&t.key).map_or("(unknown to this version)", Quirk::description);
            (t.key, what, t.count, Stamp::new(&t.last_seen, now))
        })
        .collect();
    Report { name, clients, quirks }
}

/// The page with the tokens as they are now.
async fn render(db: &Db, session: &AdminSession, extra: Extra) -> Result<TokensPage, UiError> {
    let loaded = load(db).await?;
    let now = clock::now();
    Ok(TokensPage {
        layout: Layout::new("Tokens", "/tokens", session),
        tokens: loaded.tokens.iter().map(|t| TokenView::new(t, now)).collect(),
        reports: loaded.reports.into_iter().map(|r| report(r, now)).collect(),
        notice: extra
            .revoked
            .filter(|name| revoked_exists(&loaded.tokens, name))
            .map(|name| format!("Token \u{201c}{name}\u{201d} is revoked; IdPs using it are refused from now on.")),
        created: extra.created,
        error: extra.error,
        form: extra.form,
    })
}

/// What a page shows besides the tokens.
#[derive(Default)]
struct Extra {
    created: Option<NewToken>,
    /// A token just revoked (named by the redirect after the revoke).
    revoked: Option<String>,
    error: Option<String>,
    form: CreateForm,
}

/// Whether a token of this name was revoked (so a crafted link cannot announce anything else).
fn revoked_exists(tokens: &[TokenInfo], name: &str) -> bool {
    tokens.iter().any(|t| t.name == name && t.revoked.is_some())
}

/// The query of `/tokens` after a revoke.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    /// The token just revoked.
    #[serde(default)]
    revoked: Option<String>,
}

/// GET /tokens.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    Query(p): Query<Params>,
) -> Result<Page<TokensPage>, UiError> {
    Ok(Page::ok(render(&state.db, &session, Extra { revoked: p.revoked, ..Extra::default() }).await?))
}

/// The create form.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateForm {
    /// The CSRF token.
    #[serde(default)]
    csrf: String,
    /// The connection name.
    #[serde(default)]
    pub name: String,
    /// `90d`, `12h`, ...; empty for never.
    #[serde(default)]
    pub expires_in: String,
}

impl Default for CreateForm {
    fn default() -> Self {
        Self { csrf: String::new(), name: String::new(), expires_in: "90d".into() }
    }
}

/// POST /tokens: issues a token and shows it, once.
pub async fn create(
    State(state): State<AppState>,
    session: AdminSession,
    Form(form): Form<CreateForm>,
) -> Result<Page<TokensPage>, UiError> {
    csrf(&session, &form.csrf)?;
    match issue(&state.db, &form).await {
        Ok(created) => {
            let extra = Extra { created: Some(created), ..Extra::default() };
            Ok(Page::status(StatusCode::CREATED, render(&state.db, &session, extra).await?))
        }
        Err((status, error)) => {
            let extra = Extra { error: Some(error), form, ..Extra::default() };
            Ok(Page::status(status, render(&state.db, &session, extra).await?))
        }
    }
}

/// Stores a new token; a refusal comes with its status and the reason for the form.
async fn issue(db: &Db, form: &CreateForm) -> Result<NewToken, (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let name = form.name.trim().to_string();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(bad("Give the token a name, such as okta-prod.".into()));
    }
    let now = clock::now();
    let expires = match form.expires_in.trim() {
        "" | "never" => None,
        d => Some(db::timestamp(now + auth::parse_duration(d).map_err(|e| bad(format!("Expiry: {e}.")))?)),
    };
    let secret = auth::generate();
    let (hash, created, key) = (auth::hash(&secret), db::timestamp(now), name.clone());
    let stored = db.write(move |c| tokens::insert(c, &key, &hash, &created, expires.as_deref())).await;
    match stored {
        Ok(()) => Ok(NewToken { name, secret }),
        Err(StoreError::Conflict(m)) => Err((StatusCode::CONFLICT, m)),
        Err(e) => {
            tracing::error!(error = %e, "storing a token");
            Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "The token could not be stored; the cause is in the server log.".into(),
            ))
        }
    }
}

/// The revoke form.
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    /// The CSRF token.
    #[serde(default)]
    csrf: String,
}

/// POST /tokens/{name}/revoke.
pub async fn revoke(
    State(state): State<AppState>,
    session: AdminSession,
    ResourceId(name): ResourceId,
    Form(form): Form<RevokeForm>,
) -> Result<Response, UiError> {
    csrf(&session, &form.csrf)?;
    let key = name.clone();
    let done = state.db.write(move |c| tokens::revoke(c, &key, &clock::now_stamp())).await;
    match done {
        Ok(()) => Ok(Redirect::to(&format!("/tokens?{}", query_string(&[("revoked", &name)]))).into_response()),
        Err(StoreError::NotFound) => Err(UiError::NotFound(format!("There is no live token named {name}."))),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let t = |expires: Option<&str>, revoked: Option<&str>| TokenInfo {
            name: "t".into(),
            created: "2026-01-01T00:00:00.000Z".into(),
            expires: expires.map(Into::into),
            revoked: revoked.map(Into::into),
            last_used: None,
        };
        let now = "2026-06-01T00:00:00.000Z";
        assert_eq!(status(&t(None, None), now), "live");
        assert_eq!(status(&t(Some("2026-05-01T00:00:00.000Z"), None), now), "expired");
        assert_eq!(status(&t(Some("2027-01-01T00:00:00.000Z"), None), now), "live");
        assert_eq!(status(&t(None, Some(now)), now), "revoked");
    }
}
