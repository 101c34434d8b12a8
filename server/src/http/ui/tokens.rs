//! `/tokens`: the bearer tokens with their status, expiry and last use, each connection's
//! compatibility report (its clients and the RFC departures scimbox accepted from them), a form
//! that issues a token (shown once, on the response), and rotate and revoke buttons per live
//! token (a rotation's new secret is shown once too). Revoking takes two explicit steps, without
//! JavaScript: the button leads to a confirmation page whose form needs a ticked box.

use crate::quirks::Quirk;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use super::time::Stamp;
use super::{AdminSession, Layout, Page, UiError, csrf, query_string};
use crate::clock;
use crate::http::AppState;
use crate::http::extract::{BaseUrl, ResourceId};
use crate::service::Error;
use crate::service::tokens::{self as service, Tally, Token, TokenStatus};

/// A token as listed.
pub struct TokenView {
    /// The connection name.
    pub name: String,
    /// `active`, `expired` or `revoked` ([`TokenStatus::as_str`], the words `token list` prints).
    pub status: &'static str,
    /// Issued.
    pub created: Stamp,
    /// Stops working, if ever.
    pub expires: Option<Stamp>,
    /// Last used.
    pub last_used: Option<Stamp>,
    /// Revoked.
    pub revoked: Option<Stamp>,
    /// Active and expiring within [`service::EXPIRY_WARNING`]: flagged.
    pub expiring_soon: bool,
    /// Until when the secret a rotation replaced still works, while it does.
    pub previous_valid_until: Option<Stamp>,
    /// `scim` or `app` ([`service::Scope::as_str`]).
    pub scope: &'static str,
}

impl TokenView {
    /// The view of a token at `now`.
    pub fn new(t: &Token, now: OffsetDateTime) -> Self {
        TokenView {
            name: t.name.clone(),
            status: t.status.as_str(),
            created: Stamp::new(&t.created, now),
            expires: Stamp::opt(t.expires.as_deref(), now),
            last_used: Stamp::opt(t.last_used.as_deref(), now),
            revoked: Stamp::opt(t.revoked.as_deref(), now),
            expiring_soon: t.expiring_soon,
            previous_valid_until: Stamp::opt(t.previous_valid_until.as_deref(), now),
            scope: t.scope.as_str(),
        }
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

/// A token just issued or rotated: shown on this response and never again.
pub struct NewToken {
    /// Its name.
    pub name: String,
    /// The secret.
    pub secret: String,
    /// After a rotation: until when the old secret still works.
    pub old_until: Option<Stamp>,
    /// After a rotation: the old secret had already expired.
    pub old_expired: bool,
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
    /// The SCIM base URL an IdP is given (`--public-url`, else as this request reached us).
    scim_url: String,
}

fn report(r: service::Report, now: OffsetDateTime) -> Report {
    let others = r.other_clients.map(|other| {
        let key = format!("(other clients: more than {} were seen; counted together)", service::MAX_CLIENTS);
        Tally { key, ..other }
    });
    let clients = r
        .clients
        .into_iter()
        .chain(others)
        .map(|t| {
            let ua = if t.key.is_empty() { "(none sent)".to_string() } else { t.key };
            (ua, t.count, Stamp::new(&t.last_seen, now))
        })
        .collect();
    let quirks = r
        .quirks
        .into_iter()
        .map(|t| {
            let what = Quirk::from_code(&t.key).map_or("(unknown to this version)", Quirk::description);
            (t.key, what, t.count, Stamp::new(&t.last_seen, now))
        })
        .collect();
    Report { name: r.name, clients, quirks }
}

/// The page with the tokens as they are now.
async fn render(state: &AppState, session: &AdminSession, extra: Extra) -> Result<TokensPage, UiError> {
    let loaded = service::listing(&state.db).await?;
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
        scim_url: extra.scim_url,
    })
}

/// What a page shows besides the tokens.
#[derive(Default)]
struct Extra {
    /// The SCIM base URL.
    scim_url: String,
    created: Option<NewToken>,
    /// A token just revoked (named by the redirect after the revoke).
    revoked: Option<String>,
    error: Option<String>,
    form: CreateForm,
}

/// Whether a token of this name was revoked (so a crafted link cannot announce anything else).
fn revoked_exists(tokens: &[Token], name: &str) -> bool {
    tokens.iter().any(|t| t.name == name && t.status == TokenStatus::Revoked)
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
    BaseUrl(scim_url): BaseUrl,
    Query(p): Query<Params>,
) -> Result<Page<TokensPage>, UiError> {
    Ok(Page::ok(render(&state, &session, Extra { revoked: p.revoked, scim_url, ..Extra::default() }).await?))
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
    BaseUrl(scim_url): BaseUrl,
    Form(form): Form<CreateForm>,
) -> Result<Page<TokensPage>, UiError> {
    csrf(&session, &form.csrf)?;
    match issue(&state, &form).await {
        Ok(created) => {
            let extra = Extra { created: Some(created), scim_url, ..Extra::default() };
            Ok(Page::status(StatusCode::CREATED, render(&state, &session, extra).await?))
        }
        Err((status, error)) => {
            let extra = Extra { error: Some(error), form, scim_url, ..Extra::default() };
            Ok(Page::status(status, render(&state, &session, extra).await?))
        }
    }
}

/// Issues the token; a refusal comes with its status and the service's reason for the form
/// (the same words `scimbox token create` prints).
async fn issue(state: &AppState, form: &CreateForm) -> Result<NewToken, (StatusCode, String)> {
    match service::issue(&state.db, &form.name, Some(&form.expires_in)).await {
        Ok(issued) => Ok(NewToken { name: issued.name, secret: issued.secret, old_until: None, old_expired: false }),
        Err(e @ Error::Invalid(_)) => Err((StatusCode::BAD_REQUEST, e.to_string())),
        Err(e @ Error::Conflict(_)) => Err((StatusCode::CONFLICT, e.to_string())),
        Err(e @ Error::Unavailable(_)) => Err((StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
        Err(e) => {
            tracing::error!(error = %e, "storing a token");
            Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "The token could not be stored; the cause is in the server log.".into(),
            ))
        }
    }
}

/// The revoke form (and the rotate form, which has only the CSRF token).
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    /// The CSRF token.
    #[serde(default)]
    csrf: String,
    /// `yes`: the box on the confirmation page was ticked.
    #[serde(default)]
    confirm: String,
}

/// The confirmation page of a revoke: what revoking breaks, and the rotation that does not.
#[derive(Template)]
#[template(path = "revoke.html")]
pub struct RevokePage {
    layout: Layout,
    token: TokenView,
}

/// POST /tokens/{name}/revoke: without `confirm=yes`, the confirmation page (a live IdP token
/// is not revoked by one stray click); with it, the revoke.
pub async fn revoke(
    State(state): State<AppState>,
    session: AdminSession,
    ResourceId(name): ResourceId,
    Form(form): Form<RevokeForm>,
) -> Result<Response, UiError> {
    csrf(&session, &form.csrf)?;
    if form.confirm != "yes" {
        let listed = service::list(&state.db).await?;
        let live = listed.iter().find(|t| t.name == name && t.status != TokenStatus::Revoked);
        let t =
            live.ok_or_else(|| UiError::NotFound(format!("There is no active token named \u{201c}{name}\u{201d}.")))?;
        let token = TokenView::new(t, clock::now());
        return Ok(
            Page::ok(RevokePage { layout: Layout::new("Revoke a token", "/tokens", &session), token }).into_response()
        );
    }
    service::revoke(&state.db, &name).await?;
    Ok(Redirect::to(&format!("/tokens?{}", query_string(&[("revoked", &name)]))).into_response())
}

/// POST /tokens/{name}/rotate: gives the token a new secret ([`service::rotate`], the default
/// overlap) and shows it, once, with the old secret's end.
pub async fn rotate(
    State(state): State<AppState>,
    session: AdminSession,
    BaseUrl(scim_url): BaseUrl,
    ResourceId(name): ResourceId,
    Form(form): Form<RevokeForm>,
) -> Result<Page<TokensPage>, UiError> {
    csrf(&session, &form.csrf)?;
    let rotated = service::rotate(&state.db, &name, None).await?;
    let old_until = Some(Stamp::new(&rotated.previous_valid_until, clock::now()));
    let old_expired = rotated.previous_had_expired;
    let created = NewToken { name: rotated.name, secret: rotated.secret, old_until, old_expired };
    Ok(Page::ok(render(&state, &session, Extra { created: Some(created), scim_url, ..Extra::default() }).await?))
}
