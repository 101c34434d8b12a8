//! `POST /guard/{name}/release`: the overview's Release button for a connection the
//! deprovisioning guard holds (see [`crate::service::guard`]); `scimbox guard release` does the
//! same from the command line.

use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{AdminSession, UiError, csrf};
use crate::http::AppState;
use crate::http::extract::ResourceId;
use crate::service::guard;

/// The release form.
#[derive(Debug, Deserialize)]
pub struct ReleaseForm {
    /// The CSRF token.
    #[serde(default)]
    csrf: String,
}

/// POST /guard/{name}/release: lets the connection's deactivations and deletions through for
/// [`guard::DEFAULT_RELEASE`], then back to the overview.
pub async fn release(
    State(state): State<AppState>,
    session: AdminSession,
    ResourceId(name): ResourceId,
    Form(form): Form<ReleaseForm>,
) -> Result<Response, UiError> {
    csrf(&session, &form.csrf)?;
    guard::release(&state.db, &name, guard::DEFAULT_RELEASE).await?;
    tracing::info!(token = %name, admin = %session.admin, "deprovisioning guard released from the status page");
    Ok(Redirect::to("/").into_response())
}
