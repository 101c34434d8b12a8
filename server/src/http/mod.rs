//! HTTP: the router, its middleware and the connection loop.
//!
//! Request flow: the connection loop (at most `max_connections` open; the request target
//! percent-encoded where people type raw spaces and quotes, see [`target`]; header-read
//! timeout) normalises the path (`//` and a
//! trailing `/` are forgiven, as IdPs join URLs carelessly), then the router: `/healthz` open,
//! discovery open, everything else behind the bearer-token check (and, outside it, the journal's
//! recorder, so refused tokens are recorded too); each request has a deadline; errors are logged
//! once, here, with their internal cause.

mod assets;
mod bulk;
mod discovery;
pub mod extract;
mod feed;
mod journal;
pub mod metrics;
mod protect;
pub mod ratelimit;
pub mod resources;
pub mod target;
pub mod ui;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::auth::{self, TokenChecker};
use crate::compat::Recorder;
use crate::config::Config;
use crate::db::Db;
use crate::deadline::Deadline;
use crate::error::{AppError, InternalCause, SCIM_JSON};
use crate::quirks::{self, Quirk};
use resources::{Api, GroupsApi, UsersApi};

/// What every handler can reach: one reference-counted block, since every middleware layer
/// clones it for every request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The contents of [`AppState`].
pub struct Shared {
    /// The database.
    pub db: Db,
    /// The settings.
    pub config: Arc<Config>,
    /// The bearer-token checker (with its short cache).
    pub tokens: Arc<TokenChecker>,
    /// Core attributes required beyond the RFC's `userName` (paths such as `name.givenName`).
    pub required: Arc<Vec<String>>,
    /// The compatibility report's pending tallies.
    pub compat: Arc<Recorder>,
    /// The journal's pending entries (see [`crate::journal`]).
    pub journal: Arc<crate::journal::Recorder>,
    /// Login throttle, password and `/check` pools, `/check` rate limit (see [`crate::throttle`]).
    pub guards: Arc<crate::throttle::Guards>,
    /// The deprovisioning guard's settings and held tally (see [`crate::service::guard`]).
    pub deprovisioning: Arc<crate::service::guard::Guard>,
    /// The per-token and per-address rate limits and their refusals (see [`ratelimit`]).
    pub rate_limits: Arc<ratelimit::RateLimits>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// State over an open database.
    pub fn new(db: Db, config: Config) -> Self {
        let required = Arc::new(config.required.clone());
        let tokens = Arc::new(TokenChecker::following(db.tokens_changed(), config.token_cache_ttl));
        let (compat, journal) = (Arc::default(), Arc::default());
        let guards = Arc::default();
        let deprovisioning = Arc::new(crate::service::guard::Guard::new(config.guard_max, config.guard_window));
        let rate_limits = Arc::new(ratelimit::RateLimits::new(&config));
        let config = Arc::new(config);
        Self(Arc::new(Shared { db, config, tokens, required, compat, journal, guards, deprovisioning, rate_limits }))
    }

    /// The same state with other settings.
    pub fn with_config(&self, config: Config) -> Self {
        let s = &self.0;
        Self(Arc::new(Shared {
            db: s.db.clone(),
            config: Arc::new(config),
            tokens: Arc::clone(&s.tokens),
            required: Arc::clone(&s.required),
            compat: Arc::clone(&s.compat),
            journal: Arc::clone(&s.journal),
            guards: Arc::clone(&s.guards),
            deprovisioning: Arc::clone(&s.deprovisioning),
            rate_limits: Arc::clone(&s.rate_limits),
        }))
    }
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let protected = Router::new()
        .merge(resource_routes::<UsersApi>("/Users"))
        .merge(resource_routes::<GroupsApi>("/Groups"))
        .route("/.search", post(resources::search_all))
        .route("/Bulk", post(bulk::post))
        .route("/Me", any(me))
        .route("/Me/{*rest}", any(me))
        .route_layer(middleware::from_fn_with_state(state.clone(), protect::layers));
    let discovery = discovery::router().route_layer(middleware::from_fn_with_state(state.clone(), ratelimit::open));
    let scim = discovery.merge(protected).method_not_allowed_fallback(method_not_allowed);
    let scim = match state.config.base_path.as_str() {
        "" => scim,
        base => Router::new().nest(base, scim),
    };
    let app = Router::new()
        .route("/healthz", get(healthz))
        .merge(assets::router())
        .merge(ui::router())
        .merge(scim)
        .fallback(not_found)
        .merge(feed_routes(&state))
        .layer(middleware::from_fn_with_state(state.clone(), log_and_deadline));
    // Counted only when someone can read the counts (`--metrics-listen`).
    let app = match state.config.metrics_listen {
        Some(_) => app.layer(middleware::from_fn_with_state(state.clone(), metrics::count)),
        None => app,
    };
    app.with_state(state)
}

/// The change feed (issue 14): app tokens only, rate-limited per token like the SCIM API, and
/// outside the request deadline (its long poll has its own bound, see [`feed`]).
fn feed_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(feed::PATH, get(feed::get))
        .route_layer(middleware::from_fn_with_state(state.clone(), ratelimit::per_token))
        .route_layer(middleware::from_fn(feed::app_only))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
        .route_layer(middleware::from_fn_with_state(state.clone(), ratelimit::anonymous))
}

/// The routes of one resource type (RFC 7644 §3.2).
fn resource_routes<A: Api>(endpoint: &str) -> Router<AppState> {
    use resources::{create, delete, get as read, list, patch, replace, search};
    Router::new()
        .route(endpoint, get(list::<A>).post(create::<A>))
        .route(&format!("{endpoint}/.search"), post(search::<A>))
        .route(&format!("{endpoint}/{{id}}"), get(read::<A>).put(replace::<A>).patch(patch::<A>).delete(delete::<A>))
}

/// 200 `{"status":"ok"}`, or 503 `{"status":"unavailable","reason":...}` when the database
/// cannot take writes: its file was removed or replaced, the disk is full, or the file is
/// read-only (see [`crate::db::health`]). Cheap: at most one `stat` a second.
async fn healthz(State(state): State<AppState>) -> Response {
    let (status, body) = match state.db.fault() {
        None => (StatusCode::OK, serde_json::json!({"status": "ok"})),
        Some(reason) => {
            (StatusCode::SERVICE_UNAVAILABLE, serde_json::json!({"status": "unavailable", "reason": reason}))
        }
    };
    let mut resp = (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert(header::RETRY_AFTER, crate::error::RETRY_AFTER_SECS.into());
    }
    resp
}

async fn not_found(uri: Uri) -> AppError {
    AppError::not_found(format!("no SCIM endpoint at {}", uri.path()))
}

async fn method_not_allowed(req: Request) -> AppError {
    AppError::status(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} is not supported on {}", req.method(), req.uri().path()),
    )
}

/// `/Me` (RFC 7644 §3.11): a bearer token stands for an IdP connection, not a user.
async fn me() -> AppError {
    AppError::status(
        StatusCode::NOT_IMPLEMENTED,
        "/Me is not supported: scimbox tokens belong to IdP connections, not to users",
    )
}

/// Refuses requests without a live bearer token (401 as a SCIM error, RFC 7644 §2).
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    require_token_around(&state, req, |req| next.run(req)).await
}

/// [`require_token`] around `inner` (see [`protect`]).
async fn require_token_around<F, Fut>(state: &AppState, mut req: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let header = req.headers().get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
    let Some(header) = header else {
        return AppError::unauthorized("missing Authorization header; send \"Authorization: Bearer <token>\"")
            .into_response();
    };
    let Some(token) = auth::parse_header(header) else {
        return AppError::unauthorized("the Authorization header must be \"Bearer <token>\"").into_response();
    };
    let bare = !header.trim_start().get(..7).is_some_and(|s| s.eq_ignore_ascii_case("bearer "));
    match state.tokens.check(&state.db, token).await {
        Ok(Some(principal)) => {
            observe(state, &req, &principal.token_name, bare);
            journal::identify(&req, &principal.token_name);
            if let Some(refused) = feed::app_refusal(&principal, &req) {
                return refused;
            }
            req.extensions_mut().insert(principal);
            inner(req).await
        }
        Ok(None) => AppError::unauthorized("the bearer token is unknown, revoked or expired").into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// The path as the client sent it, before [`normalize_uri`] cleaned it.
#[derive(Debug, Clone)]
pub struct OriginalPath(pub String);

/// Adds a request to its connection's compatibility report (see [`crate::compat`]).
fn observe(state: &AppState, req: &Request, token: &str, bare: bool) {
    let h = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let path = req.extensions().get::<OriginalPath>().map_or(req.uri().path(), |p| p.0.as_str());
    let has_body =
        req.headers().contains_key(header::CONTENT_LENGTH) || req.headers().contains_key(header::TRANSFER_ENCODING);
    let mut seen =
        quirks::in_request(path, req.uri().query(), h(header::USER_AGENT), h(header::CONTENT_TYPE), has_body);
    if bare {
        seen.push(Quirk::BareToken);
    }
    state.compat.request(token, h(header::USER_AGENT), &seen);
}

/// Answers 408 when a request (its body included) takes longer than the configured limit, unless
/// it has handed a write to the writer: then the write may commit, so the request is awaited and
/// answered with its real outcome (see [`crate::deadline`]). The writer refuses a write whose
/// deadline passed while it queued, so a 408 never hides a commit; and the writer's jobs are
/// bounded (a PATCH's operations are capped), so the wait after the deadline is short.
async fn deadline<F, Fut>(state: &AppState, req: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let limit = state.config.request_timeout;
    let at = tokio::time::Instant::now() + limit;
    let deadline = Deadline::new(at.into_std());
    let run = crate::deadline::scope(deadline.clone(), inner(req));
    tokio::pin!(run);
    match tokio::time::timeout_at(at, &mut run).await {
        Ok(resp) => resp,
        Err(_) if deadline.handed_over() => run.await,
        Err(_) => AppError::status(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request did not complete within {} ms; nothing was changed", limit.as_millis()),
        )
        .into_response(),
    }
}

/// Logs each request once: method, path, status, time; and the internal cause of a 5xx.
/// Never the query's secrets, the headers or the body. Refused requests are logged at `info`,
/// answered ones at `debug` (`RUST_LOG=scimbox=debug` shows them): the journal on the status
/// page already keeps the traffic, and a line per request was a twentieth of the server's work
/// under load.
async fn log_requests<F, Fut>(req: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    // The target is shared, not copied: the path is only read for a line that is logged.
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let path = uri.path();
    let start = Instant::now();
    let resp = inner(req).await;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let status = resp.status().as_u16();
    if let Some(InternalCause(cause)) = resp.extensions().get::<InternalCause>() {
        tracing::error!(%method, %path, status, ms, cause = %cause, "request failed");
    } else if status >= 400 {
        tracing::info!(%method, %path, status, ms, "request refused");
    } else {
        tracing::debug!(%method, %path, status, ms, "request");
    }
    resp
}

/// Outermost on the app: the request's log line ([`log_requests`]) around its deadline
/// ([`deadline`]), which every route has but the change feed's (its long poll has its own bound,
/// see [`feed`]). One layer for both (issue 17): each layer costs every request a clone of the
/// service inside it, a boxed future and a move of everything inside that.
async fn log_and_deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let feed = req.uri().path() == feed::PATH;
    log_requests(req, |req| async move {
        match feed {
            true => next.run(req).await,
            false => deadline(&state, req, |req| next.run(req)).await,
        }
    })
    .await
}

/// Collapses repeated slashes and drops a trailing slash, so `/scim/v2//Users/` routes like
/// `/scim/v2/Users`.
pub fn normalize_uri(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    if !path.contains("//") && (path.len() <= 1 || !path.ends_with('/')) {
        return None;
    }
    let mut clean = String::with_capacity(path.len());
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        clean.push('/');
        clean.push_str(seg);
    }
    if clean.is_empty() {
        clean.push('/');
    }
    if let Some(q) = uri.query() {
        clean.push('?');
        clean.push_str(q);
    }
    clean.parse().ok()
}

/// Serves `state` on an already-bound listener until `shutdown` completes, then lets open
/// requests finish (up to ten seconds).
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = state.config.header_timeout;
    let max_connections = state.config.max_connections.max(1);
    // Supervised: a panic is logged and the task restarted (see `crate::supervise`).
    let flusher = {
        let state = state.clone();
        crate::supervise::spawn("compat-flush", move || flush_compat(state.clone()))
    };
    let journal = {
        let (recorder, db, config) = (state.journal.clone(), state.db.clone(), state.config.clone());
        crate::supervise::spawn("journal", move || {
            crate::journal::background(recorder.clone(), db.clone(), config.clone())
        })
    };
    let compat = (state.compat.clone(), state.db.clone());
    let journal_queue = state.journal.clone();
    let router = app(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let full = Arc::new(AtomicBool::new(false));
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);
    loop {
        // At the cap, stop accepting: new connections wait in the kernel's listen backlog
        // rather than being accepted and dropped, and no file descriptor is spent on them.
        // `full` tells the connections that the loop had to wait for a slot: until a slot is
        // free at once again, silent connections make room (see SILENT_GRACE).
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => {
                full.store(false, Ordering::Relaxed);
                slot
            }
            Err(_) => {
                full.store(true, Ordering::Relaxed);
                tokio::select! {
                    slot = Arc::clone(&slots).acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => {
                    backoff.succeeded();
                    conn
                }
                Err(e) => {
                    backoff.failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let heard = Arc::new(AtomicBool::new(false));
        let router = router.clone();
        let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            if let Some(uri) = normalize_uri(req.uri()) {
                let original = OriginalPath(req.uri().path().to_owned());
                *req.uri_mut() = uri;
                req.extensions_mut().insert(original);
            }
            let router = router.clone();
            async move { Ok::<_, Infallible>(router.oneshot(req).await.unwrap_or_else(|e| match e {})) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(target::TargetFixer::new(stream, Arc::clone(&heard))), svc);
        let conn = graceful.watch(conn);
        let full = Arc::clone(&full);
        tokio::spawn(async move {
            tokio::pin!(conn);
            let mut tick = tokio::time::interval(SILENT_GRACE);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = &mut conn => break,
                    _ = tick.tick() => {
                        // At the cap, a connection that has sent nothing since it was accepted
                        // makes room for the ones waiting (dropping it closes it).
                        if full.load(Ordering::Relaxed) && !heard.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(std::time::Duration::from_secs(10)) => {
            tracing::warn!("some connections were still open after 10 s; closing them");
        }
    }
    flusher.abort();
    journal.abort();
    if let Err(e) = compat.0.flush(&compat.1).await {
        tracing::warn!(error = %e, "could not save the compatibility report");
    }
    if let Err(e) = journal_queue.flush(&compat.1).await {
        tracing::warn!(error = %e, "could not write the journal");
    }
    Ok(())
}

/// How long a connection may stay silent (not one byte sent) while the server is at its
/// connection cap before it is closed to make room: idle sockets cannot keep `/healthz` or an
/// IdP waiting in the backlog for a whole header timeout.
const SILENT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Backs off after failed accepts (EMFILE when out of file descriptors, ENFILE, ENOBUFS...): the
/// pause doubles from 10 ms up to a second while they keep failing, and the log gets one line
/// per [`AcceptBackoff::LOG_EVERY`] with the count, instead of one line per failure.
#[derive(Debug, Default)]
struct AcceptBackoff {
    pause: std::time::Duration,
    failures: u64,
    logged: Option<Instant>,
}

impl AcceptBackoff {
    const FIRST: std::time::Duration = std::time::Duration::from_millis(10);
    const LONGEST: std::time::Duration = std::time::Duration::from_secs(1);
    const LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

    fn succeeded(&mut self) {
        self.pause = std::time::Duration::ZERO;
    }

    async fn failed(&mut self, e: &std::io::Error) {
        self.failures += 1;
        if self.logged.is_none_or(|at| at.elapsed() >= Self::LOG_EVERY) {
            tracing::warn!(error = %e, failures = self.failures, "accept failed; backing off");
            self.logged = Some(Instant::now());
            self.failures = 0;
        }
        self.pause = (self.pause * 2).clamp(Self::FIRST, Self::LONGEST);
        tokio::time::sleep(self.pause).await;
    }
}

/// Writes the compatibility tallies every [`crate::compat::FLUSH_EVERY`].
async fn flush_compat(state: AppState) {
    let mut tick = tokio::time::interval(crate::compat::FLUSH_EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = state.compat.flush(&state.db).await {
            tracing::warn!(error = %e, "could not save the compatibility report");
        }
    }
}

/// Whether a request's `If-None-Match` names `etag` (quoted, as sent) or `*`, comparing weakly
/// (RFC 9110 §13.1.2): the one check behind every 304 of an embedded file.
pub fn if_none_match(headers: &axum::http::HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// A JSON response with the SCIM media type.
pub fn scim_json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static(SCIM_JSON));
    resp
}
