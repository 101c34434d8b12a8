//! `POST /guard/{name}/release`: the overview's Release button for a connection the
//! deprovisioning guard holds (see [`crate::service::guard`]); `scimbox guard release` does the
//! same from the command line. Releasing lets deactivations and deletions the guard judged a
//! runaway go through, so it takes two explicit steps without JavaScript, as revoking a token
//! does: the button leads to a confirmation page (what is held, for whom) whose form needs a
//! ticked box.

use askama::Template;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{AdminSession, Layout, Page, UiError, csrf, segment};
use crate::http::AppState;
use crate::http::extract::ResourceId;
use crate::service::guard;

/// The release form.
#[derive(Debug, Deserialize)]
pub struct ReleaseForm {
    /// The CSRF token.
    #[serde(default)]
    csrf: String,
    /// `yes`: the box on the confirmation page was ticked.
    #[serde(default)]
    confirm: String,
}

/// The confirmation page of a release.
#[derive(Template)]
#[template(path = "release.html")]
pub struct ReleasePage {
    layout: Layout,
    held: guard::TokenGuard,
    /// The held users' pages: (id, link).
    users: Vec<(String, String)>,
    /// How long a release lasts, in words.
    lasts: &'static str,
}

/// POST /guard/{name}/release: without `confirm=yes`, the confirmation page; with it, lets the
/// connection's deactivations and deletions through for [`guard::DEFAULT_RELEASE`], then back
/// to the overview.
pub async fn release(
    State(state): State<AppState>,
    session: AdminSession,
    ResourceId(name): ResourceId,
    Form(form): Form<ReleaseForm>,
) -> Result<Response, UiError> {
    csrf(&session, &form.csrf)?;
    if form.confirm != "yes" {
        let all = guard::status(&state.db, state.deprovisioning.window()).await?;
        let held = all.into_iter().find(|g| g.token == name && g.holding()).ok_or_else(|| {
            UiError::NotFound(format!("The deprovisioning guard holds nothing of connection \u{201c}{name}\u{201d}."))
        })?;
        let users = held.sample.iter().map(|id| (id.clone(), format!("/users/{}", segment(id)))).collect();
        let layout = Layout::new("Release the deprovisioning guard", "/", &session);
        return Ok(Page::ok(ReleasePage { layout, held, users, lasts: "1 hour" }).into_response());
    }
    guard::release(&state.db, &name, guard::DEFAULT_RELEASE).await?;
    tracing::info!(token = %name, admin = %session.admin, "deprovisioning guard released from the status page");
    Ok(Redirect::to("/").into_response())
}
