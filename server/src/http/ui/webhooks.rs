//! `/webhooks`: each webhook endpoint's delivery (state, lag, last delivery, last error, next
//! attempt; the read model is [`crate::service::status::webhooks`]) and a Replay action per
//! endpoint. Replaying sends events again to a receiver that may act on them, so it takes two
//! explicit steps without JavaScript, as revoking a token does: the list's Replay button leads to
//! a confirmation page (what will be sent, from which seq) whose form needs a ticked box; that
//! form calls [`webhooks::replay`], the operation `scimbox webhook replay` runs.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use super::time::Stamp;
use super::{AdminSession, Layout, Page, UiError, csrf, query_string};
use crate::http::AppState;
use crate::http::extract::ResourceId;
use crate::service::status::webhooks::{self as status, Endpoint, State as Delivery};
use crate::service::webhooks;

/// An endpoint as listed.
pub struct EndpointView {
    /// Its name.
    pub name: String,
    /// Where events go.
    pub url: String,
    /// Its type patterns, or `*`.
    pub types: String,
    /// `ok`, `retrying` or `failing`.
    pub state: &'static str,
    /// Failed attempts at the next event.
    pub attempts: i64,
    /// The seq delivered through.
    pub cursor: i64,
    /// Events of its types not delivered yet.
    pub lag: u64,
    /// When the oldest of those was recorded.
    pub oldest_undelivered: Option<Stamp>,
    /// When an event was last delivered.
    pub last_delivered: Option<Stamp>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<Stamp>,
    /// When the next attempt is due.
    pub next_attempt: Option<Stamp>,
    /// The seq the Replay form offers: the event after the cursor, or the cursor itself when
    /// nothing is behind (to send the last one again).
    pub replay_from: i64,
}

impl EndpointView {
    fn new(e: Endpoint, now: OffsetDateTime, oldest_kept: i64) -> Self {
        let replay_from = if e.lag > 0 { e.cursor + 1 } else { e.cursor }.max(oldest_kept).max(1);
        Self {
            state: e.state.as_str(),
            types: e.types.unwrap_or_else(|| "*".into()),
            oldest_undelivered: Stamp::opt(e.oldest_undelivered.as_deref(), now),
            last_delivered: Stamp::opt(e.last_delivered_at.as_deref(), now),
            last_error_at: Stamp::opt(e.last_error_at.as_deref(), now),
            next_attempt: Stamp::opt(e.next_attempt_at.as_deref(), now),
            name: e.name,
            url: e.url,
            attempts: e.attempts,
            cursor: e.cursor,
            lag: e.lag,
            last_error: e.last_error,
            replay_from,
        }
    }
}

/// The webhooks page.
#[derive(Template)]
#[template(path = "webhooks.html")]
pub struct WebhooksPage {
    layout: Layout,
    endpoints: Vec<EndpointView>,
    /// The newest event's seq.
    newest: i64,
    /// The oldest seq still kept.
    oldest_kept: i64,
    /// An endpoint just replayed, and from which seq.
    notice: Option<(String, i64)>,
    /// How many are not ok (for the summary line).
    troubled: usize,
}

/// The query of `/webhooks` after a replay.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    /// The endpoint just replayed.
    #[serde(default)]
    replayed: Option<String>,
    /// From which seq.
    #[serde(default)]
    from: Option<i64>,
}

/// GET /webhooks.
pub async fn page(
    State(state): State<AppState>,
    session: AdminSession,
    Query(p): Query<Params>,
) -> Result<Page<WebhooksPage>, UiError> {
    let w = status::webhooks(&state.db).await?;
    let troubled = w.endpoints.iter().filter(|e| e.state != Delivery::Ok).count();
    // Only an endpoint that exists is announced, so a crafted link cannot say anything else.
    let notice = match (p.replayed, p.from) {
        (Some(name), Some(from)) if w.endpoints.iter().any(|e| e.name == name) => Some((name, from)),
        _ => None,
    };
    Ok(Page::ok(WebhooksPage {
        layout: Layout::new("Webhooks", "/webhooks", &session),
        endpoints: w.endpoints.into_iter().map(|e| EndpointView::new(e, w.at, w.oldest_kept)).collect(),
        newest: w.newest,
        oldest_kept: w.oldest_kept,
        notice,
        troubled,
    }))
}

/// The replay form: the list's (no `confirm`) and the confirmation page's (`confirm=yes`).
#[derive(Debug, Deserialize)]
pub struct ReplayForm {
    /// The CSRF token.
    #[serde(default)]
    csrf: String,
    /// The first event to send again (a seq, as text: a wrong one gets its own message).
    #[serde(default)]
    from: String,
    /// `yes`: the box on the confirmation page was ticked.
    #[serde(default)]
    confirm: String,
}

/// The confirmation page of a replay.
#[derive(Template)]
#[template(path = "replay.html")]
pub struct ReplayPage {
    layout: Layout,
    endpoint: EndpointView,
    from: i64,
    newest: i64,
    oldest_kept: i64,
}

/// `from` as a seq: a whole number of 1 or more.
fn parse_from(raw: &str) -> Result<i64, UiError> {
    let text = raw.trim();
    text.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
        UiError::BadRequest(format!(
            "\u{201c}{text}\u{201d} is not an event seq: give the number of the first event to send again, 1 or more \
             (the change feed's seq, as the Delivered through column shows)."
        ))
    })
}

/// POST /webhooks/{name}/replay: without `confirm=yes`, the confirmation page; with it, the
/// replay ([`webhooks::replay`]), then back to the list, which says what was done.
pub async fn replay(
    State(state): State<AppState>,
    session: AdminSession,
    ResourceId(name): ResourceId,
    Form(form): Form<ReplayForm>,
) -> Result<Response, UiError> {
    csrf(&session, &form.csrf)?;
    let from = parse_from(&form.from)?;
    if form.confirm != "yes" {
        let w = status::webhooks(&state.db).await?;
        let (at, newest, oldest_kept) = (w.at, w.newest, w.oldest_kept);
        let found = w.endpoints.into_iter().find(|e| e.name == name);
        let e = found.ok_or_else(|| UiError::NotFound(format!("There is no webhook named \u{201c}{name}\u{201d}.")))?;
        let endpoint = EndpointView::new(e, at, oldest_kept);
        let layout = Layout::new("Replay a webhook", "/webhooks", &session);
        return Ok(Page::ok(ReplayPage { layout, endpoint, from, newest, oldest_kept }).into_response());
    }
    webhooks::replay(&state.db, &name, from).await?;
    tracing::info!(webhook = %name, from, admin = %session.admin, "webhook replayed from the status page");
    let back = query_string(&[("replayed", &name), ("from", &from.to_string())]);
    Ok(Redirect::to(&format!("/webhooks?{back}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_from_is_a_seq() {
        assert!(matches!(parse_from(" 12 "), Ok(12)));
        for bad in ["", "0", "-3", "x", "1.5"] {
            assert!(matches!(parse_from(bad), Err(UiError::BadRequest(_))), "{bad}");
        }
    }
}
