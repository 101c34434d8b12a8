//! scimbox: a SCIM 2.0 service provider (RFC 7643/7644) over one embedded SQLite file.
//!
//! Layers point one way: [`http`] (axum handlers and extractors) calls [`service`] (domain rules,
//! validation through `scimbox_validator`), which calls [`db`] (SQL on a writer thread and a
//! reader pool). [`error::AppError`] is the one place errors become HTTP responses. `main.rs`
//! only hands the command line to [`cli::main`].

pub mod auth;
pub mod cli;
pub mod clock;
pub mod compat;
pub mod config;
pub mod db;
pub mod deadline;
pub mod demo;
pub mod duration;
pub mod error;
pub mod http;
pub mod journal;
pub mod metrics;
pub mod pool;
pub mod quirks;
pub mod service;
pub mod stamp;
pub mod supervise;
pub mod throttle;
pub mod webhooks;

use std::future::Future;

pub use config::Config;
pub use http::{AppState, app, serve};

/// Opens (creating and migrating) the database, binds `config.listen` and serves until
/// `shutdown` completes.
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), String> {
    // A missing file is a first start, or a database removed or moved away: say so, since from
    // here on the new, empty one is what IdPs write to.
    let new = !db::Db::is_postgres(&config.db_path) && !config.db_path.exists();
    let db = db::Db::open(&config.db_path).map_err(|e| e.to_string())?;
    if new {
        tracing::warn!(
            "no database at {}: created a new, empty one (expected on a first start; otherwise check --db)",
            config.db_path.display()
        );
    }
    warn_expiring_tokens(&db).await;
    if let Some(schedule) = &config.backup {
        service::backup::not_postgres(&config.db_path).map_err(|e| format!("--backup-dir: {e}"))?;
        service::backup::prepare(schedule).map_err(|e| format!("--backup-dir: {e}"))?;
    }
    say_what_is_missing(&db, &config.db_path).await;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(
        "scimbox listening on http://{addr}{} (database {})",
        config.base_path,
        db::Db::shown(&config.db_path)
    );
    let _backups = config.backup.clone().map(|schedule| {
        tracing::info!(dir = %schedule.dir.display(), every = ?schedule.every, keep = schedule.keep, "scheduled backups on");
        let path = config.db_path.clone();
        Background(supervise::spawn("backup", move || service::backup::run_schedule(path.clone(), schedule.clone())))
    });
    let metrics = match config.metrics_listen {
        Some(at) => {
            let l = tokio::net::TcpListener::bind(at)
                .await
                .map_err(|e| format!("cannot listen on {at} for --metrics-listen: {e}"))?;
            tracing::info!("metrics at http://{}/metrics", l.local_addr().map_err(|e| e.to_string())?);
            Some(l)
        }
        None => None,
    };
    // Webhook delivery (docs/webhooks.md): supervised, off the request path.
    let _webhooks = {
        let base = match &config.public_url {
            Some(url) => format!("{url}{}", config.base_path),
            None => format!("http://{addr}{}", config.base_path),
        };
        let (db, scale) = (db.clone(), config.webhook_retry_scale);
        let tls = webhooks::Tls::new(config.webhook_ca.as_deref()).map_err(|e| format!("--webhook-ca: {e}"))?;
        // This process as `webhook list` and receivers see it: one of several on PostgreSQL.
        let instance = format!("{addr} pid {}", std::process::id());
        Background(supervise::spawn("webhooks", move || {
            webhooks::run(db.clone(), base.clone(), scale, tls.clone(), instance.clone())
        }))
    };
    let state = AppState::new(db, config);
    let _metrics = metrics.map(|l| {
        let state = state.clone();
        Background(tokio::spawn(async move {
            if let Err(e) = http::metrics::serve(state, l, std::future::pending()).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        }))
    });
    serve(state, listener, shutdown).await.map_err(|e| e.to_string())
}

/// A background task stopped when the server stops.
struct Background(tokio::task::JoinHandle<()>);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A first start: one line if no administrator exists (nobody can log in to the status page)
/// and one if no token works (no IdP can connect), each with the command that adds one.
async fn say_what_is_missing(db: &db::Db, db_path: &std::path::Path) {
    use service::status::setup;
    match setup::setup(db).await {
        Ok(s) => {
            if !s.has_admin {
                tracing::info!(
                    "no administrator yet, so nobody can log in to the status page: add one with `{}` (password on stdin)",
                    setup::admin_command(db_path)
                );
            }
            if !s.has_token {
                tracing::warn!(
                    "no active token yet, so no IdP can connect: issue one with `{}` and give it to the IdP",
                    setup::token_command(db_path)
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not check for administrators and tokens"),
    }
}

/// One warning per active token that expires within [`service::tokens::EXPIRY_WARNING`], so
/// the log says which IdP connection is about to break while there is time to rotate it.
async fn warn_expiring_tokens(db: &db::Db) {
    match service::tokens::expiring(db).await {
        Ok(soon) => {
            for t in soon {
                let expires = t.expires.as_deref().unwrap_or("?");
                tracing::warn!(
                    token = %t.name,
                    expires,
                    "token \"{}\" expires at {expires}: rotate it (`scimbox token rotate NAME`) and update the IdP",
                    t.name
                );
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not check tokens for expiry"),
    }
}
