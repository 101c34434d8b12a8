//! scimbox running in this process: the library's own `serve` on a `127.0.0.1:0` listener over a
//! database the caller opened (and seeded), with a bearer token issued through the library.
//!
//! In-process keeps the benchmark a single command and lets it seed through the library, but the
//! client shares the machine's cores with the server; see `docs/benchmarks.md`. Other targets
//! (the release binary, a peer server) can sit beside this one with the same `base` + `token`.

use std::path::Path;

use anyhow::Context;
use scimbox::db::{Db, tokens};
use scimbox::{AppState, Config, auth, clock};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The name the benchmark's token is issued under.
const TOKEN_NAME: &str = "bench";

/// A running scimbox; [`Scimbox::stop`] shuts it down.
pub struct Scimbox {
    /// Its SCIM base URL, such as `http://127.0.0.1:PORT/scim/v2`.
    pub base: String,
    /// A live bearer token.
    pub token: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Scimbox {
    /// Issues a token on `db` (the file at `db_path`) and serves it on a free loopback port.
    pub async fn start(db: Db, db_path: &Path) -> anyhow::Result<Self> {
        let token = issue_token(&db).await?;
        let listener = TcpListener::bind("127.0.0.1:0").await.context("cannot bind a loopback port")?;
        let addr = listener.local_addr().context("the listener has no address")?;
        // One token at full speed: the per-token rate limit (issue 15) would cap the figures.
        let config = Config { rate: 0, ..Config::new(db_path.to_path_buf(), addr) };
        let base = format!("http://{addr}{}", config.base_path);
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(scimbox::serve(AppState::new(db, config), listener, shutdown));
        Ok(Self { base, token, stop, task })
    }

    /// Shuts the server down and waits for it to finish its open requests.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("the server task failed")?.context("the server stopped with an error")
    }
}

/// Stores a new token's hash and returns the token.
async fn issue_token(db: &Db) -> anyhow::Result<String> {
    let token = auth::generate();
    let hash = auth::hash(&token);
    let now = clock::now_stamp();
    db.write(move |c| tokens::insert(c, TOKEN_NAME, &hash, &now, None)).await.context("cannot issue a token")?;
    Ok(token)
}
