//! `GET /api/v1/events`: the application's change feed (issue 14; see
//! [`crate::service::events`]), and the scope rule of app tokens.
//!
//! Query: `after` (a cursor: the `next` of an earlier answer; without it, from the oldest kept
//! event), `limit` (1 to 1000, 100 by default), `types` (comma-separated names, `*` globs),
//! `wait` (seconds, at most 60: long-poll until a matching event commits). Answer:
//! `{"events": [...], "next": CURSOR}`; with `format=set` each event is the claims of an RFC
//! 9967 Security Event Token instead ([`events::to_set`]). Only app tokens may read it (scope `app`); errors are
//! JSON (the SCIM error shape, RFC 7644 §3.12, as the rest of the API).
//!
//! The route is outside the request deadline (a long poll lasts up to a minute); it has its own
//! bound, `wait` plus the time of one read.

use std::time::Duration;

use axum::extract::{RawQuery, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::extract::BaseUrl;
use crate::auth::Principal;
use crate::error::AppError;
use crate::service::events::{self, DEFAULT_LIMIT, FeedQuery, MAX_LIMIT, MAX_WAIT};

/// The feed's path.
pub const PATH: &str = "/api/v1/events";

/// Whether a request to the SCIM API only reads: a GET (or HEAD), or a POST to a `.search`
/// endpoint (RFC 7644 §3.4.3).
fn reads_only(req: &Request) -> bool {
    let m = req.method();
    m == Method::GET || m == Method::HEAD || (m == Method::POST && req.uri().path().ends_with("/.search"))
}

/// The refusal of a write made with an app token, if `req` is one (see
/// [`crate::service::tokens::Scope::App`]): 403 naming the scope.
pub(super) fn app_refusal(principal: &Principal, req: &Request) -> Option<Response> {
    (principal.app && !reads_only(req)).then(|| {
        AppError::status(
            StatusCode::FORBIDDEN,
            format!(
                "the token \"{}\" has scope app: it may read (GET, .search) and follow the change feed, but not \
                 write; an IdP needs a token of scope scim (`scimbox token create --name NAME`)",
                principal.token_name
            ),
        )
        .into_response()
    })
}

/// Lets only app tokens through to the feed (after the token check): 403 for an IdP's token.
pub(super) async fn app_only(req: Request, next: Next) -> Response {
    match req.extensions().get::<Principal>() {
        Some(p) if p.app => next.run(req).await,
        Some(p) => AppError::status(
            StatusCode::FORBIDDEN,
            format!(
                "the token \"{}\" has scope scim (an IdP's); the change feed needs a token of scope app \
                 (`scimbox token create --name NAME --scope app`)",
                p.token_name
            ),
        )
        .into_response(),
        None => AppError::unauthorized("the change feed needs a bearer token of scope app").into_response(),
    }
}

/// Parses the feed's query; every bad value is a 400 naming it.
/// Also returns whether `format=set` asked for RFC 9967 SETs.
fn query(raw: Option<&str>, recheck: Duration) -> Result<(FeedQuery, bool), AppError> {
    let bad = |detail: String| AppError::status(StatusCode::BAD_REQUEST, detail);
    let (mut after, mut limit, mut types, mut wait) = (None, DEFAULT_LIMIT, None, Duration::ZERO);
    let mut set = false;
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "after" if !v.trim().is_empty() => after = Some(events::parse_cursor(&v)?),
            "after" => {}
            "limit" => {
                limit =
                    v.trim().parse::<u32>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                        bad(format!("limit must be a whole number from 1 to {MAX_LIMIT}, not \"{v}\""))
                    })?;
            }
            "types" => types = events::parse_types(Some(&v))?,
            "wait" => {
                let max = MAX_WAIT.as_secs();
                let secs = v.trim().parse::<u64>().ok().filter(|n| *n <= max).ok_or_else(|| {
                    bad(format!("wait must be a whole number of seconds from 0 to {max}, not \"{v}\""))
                })?;
                wait = Duration::from_secs(secs);
            }
            "format" => {
                set = match v.trim() {
                    "set" => true,
                    "" | "json" => false,
                    _ => return Err(bad(format!("format must be json (the default) or set (RFC 9967), not \"{v}\""))),
                };
            }
            other => {
                return Err(bad(format!(
                    "unknown parameter \"{other}\"; the feed takes after, limit, types, wait and format"
                )));
            }
        }
    }
    Ok((FeedQuery { after, limit, types, wait, recheck }, set))
}

/// `GET /api/v1/events`.
pub(super) async fn get(State(state): State<AppState>, BaseUrl(base): BaseUrl, RawQuery(raw): RawQuery) -> Response {
    let (q, set) = match query(raw.as_deref(), state.config.feed_recheck) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    // The wait, plus the request timeout for the reads themselves.
    let bound = q.wait + state.config.request_timeout;
    match tokio::time::timeout(bound, events::read(&state.db, q, &base)).await {
        Ok(Ok(page)) => {
            let body = if set {
                let sets: Vec<_> = page.events.iter().map(|e| events::to_set(e, &base)).collect();
                json!({"events": sets, "next": page.next}).to_string()
            } else {
                json!({"events": page.events, "next": page.next}).to_string()
            };
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Ok(Err(e)) => AppError::from(e).into_response(),
        Err(_) => AppError::status(StatusCode::SERVICE_UNAVAILABLE, "the feed could not be read in time; retry")
            .into_response(),
    }
}
