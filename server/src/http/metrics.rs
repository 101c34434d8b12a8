//! HTTP side of the Prometheus metrics (`serve --metrics-listen ADDR`): the middleware that
//! counts requests on the SCIM port, and the separate listener that serves `/metrics` (never the
//! SCIM port: the figures name tokens and sizes that clients have no business reading).

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use super::AppState;
use crate::auth::Principal;
use crate::metrics;

/// The name of the token a request was accepted with, carried out on its response to
/// [`count`].
#[derive(Clone)]
struct Accepted(String);

/// Inside the token check: notes on the response which token was accepted.
pub async fn tag_token(req: Request, next: Next) -> Response {
    tag_token_around(req, |req| next.run(req)).await
}

/// [`tag_token`] around `inner` (the protected routes call it inside their one layer).
pub async fn tag_token_around<F, Fut>(req: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let name = req.extensions().get::<Principal>().map(|p| p.token_name.clone());
    let mut resp = inner(req).await;
    if let Some(name) = name {
        resp.extensions_mut().insert(Accepted(name));
    }
    resp
}

/// Outermost on the SCIM port: counts every answered request by token, method, resource type
/// and status, with its latency. Two atomic increments and a read-locked map lookup each; the
/// labels come from fixed sets (see [`crate::metrics`]).
pub async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = metrics::method_label(req.method().as_str());
    let path = req.uri().path();
    let base = state.config.base_path.as_str();
    let resource = match path.strip_prefix(base) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => metrics::resource_label(rest),
        _ => "other",
    };
    let began = Instant::now();
    let resp = next.run(req).await;
    let token = resp.extensions().get::<Accepted>().map_or(metrics::NO_TOKEN, |a| a.0.as_str());
    metrics::request(token, method, resource, resp.status().as_u16(), began.elapsed().as_secs_f64());
    resp
}

/// `GET /metrics`: the counters, and the figures read now (one read transaction).
async fn scrape(State(state): State<AppState>) -> Response {
    match crate::service::metrics::gauges(&state.db, &state.config.db_path).await {
        Ok(mut gauges) => {
            gauges.journal_queue = u64::try_from(state.journal.depth()).unwrap_or(u64::MAX);
            gauges.journal_shed = state.journal.shed().map_or(0, |(n, _)| n);
            let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
            ([(header::CONTENT_TYPE, content_type)], metrics::render(&gauges)).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics scrape failed");
            (StatusCode::SERVICE_UNAVAILABLE, "the database could not be read\n").into_response()
        }
    }
}

/// The metrics listener's routes: `/metrics` only.
pub fn router(state: AppState) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(state)
}

/// Serves `/metrics` on its own listener until `shutdown` completes.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
