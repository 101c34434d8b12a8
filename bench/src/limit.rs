//! The physical limit scimbox is measured against, on the same machine and in the same run:
//!
//! - **the HTTP stack alone**: a bare axum handler that returns a small fixed JSON body, served
//!   by this same binary (`scimbox-bench bare-axum`, started as a child process like any other
//!   server) on the same runtime set-up as scimbox: tokio's multi-threaded scheduler with one
//!   worker per core;
//! - **SQLite alone**: rusqlite on a file with scimbox's pragmas (WAL, `synchronous=FULL`), a
//!   table shaped like scimbox's users table, timing durable inserts (one per transaction, and 32
//!   per transaction: what group commit can at best make of 32 concurrent clients) and lookups by
//!   a unique index;
//! - **the floors under issue 17's read targets** ([`crate::floor`]): the same bare server with
//!   one SQLite read per GET by id, and with a fixed page of 100 users.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use rusqlite::{Connection, params};
use serde::Serialize;

use crate::floor;

/// The fixed body: about the size of a small SCIM answer.
const FIXED: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}"#;

/// The bare server's one route.
pub const FIXED_PATH: &str = "/fixed";

/// What the bare server serves besides [`FIXED`].
#[derive(Debug, Default, clap::Args)]
pub struct Floors {
    /// Also answer `GET /scim/v2/Users/{id}` with that user's stored text read from this SQLite
    /// file (made by `compare`): the axum + SQLite read floor.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Also answer `GET /scim/v2/Users` with one fixed ListResponse of 100 users whose
    /// `totalResults` is this: the bare page.
    #[arg(long, value_name = "USERS")]
    pub page_total: Option<u64>,
}

/// `scimbox-bench bare-axum`: serves [`FIXED`] on `GET /fixed`, and the `floors` asked for,
/// until killed.
pub fn serve_bare_axum(listen: SocketAddr, floors: &Floors) -> anyhow::Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut app = Router::new().route(FIXED_PATH, get(fixed));
        if let Some(db) = &floors.db {
            let readers = floor::Readers::open(db)?;
            let path = format!("{}/Users/{{id}}", floor::BASE_PATH);
            app = app.merge(Router::new().route(&path, get(floor::get_user)).with_state(readers));
        }
        if let Some(total) = floors.page_total {
            let base = format!("http://{listen}{}", floor::BASE_PATH);
            let page = Bytes::from(floor::page(total, floor::PAGE, &base)?);
            let path = format!("{}/Users", floor::BASE_PATH);
            app = app.merge(Router::new().route(&path, get(floor::get_page)).with_state(page));
        }
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot bind {listen}"))?;
        axum::serve(listener, app).await.context("the bare server failed")
    })
}

async fn fixed() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/scim+json")], FIXED)
}

/// Raw SQLite rates, per second.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SqliteRates {
    /// Durable inserts, one per transaction (an fsync each).
    pub insert_each: f64,
    /// Durable inserts, 32 per transaction.
    pub insert_batched: f64,
    /// Rows inserted for the lookups.
    pub rows: u64,
    /// Lookups by a unique index on one connection, each reading the stored document.
    pub lookup: f64,
}

/// Rows in each batched transaction.
pub const SQLITE_BATCH: usize = 32;

/// Measures [`SqliteRates`] on a new database file in `dir`, with `rows` rows for the lookups,
/// spending about `seconds` on each timed phase.
pub fn sqlite_rates(dir: &Path, rows: u64, seconds: f64) -> anyhow::Result<SqliteRates> {
    let path = dir.join("raw.sqlite");
    let conn = Connection::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         CREATE TABLE users (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
                             user_name TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);",
    )?;
    let budget = Duration::from_secs_f64(seconds);
    let mut next = 0u64;

    // One row per transaction: autocommit, each statement its own durable commit.
    let start = Instant::now();
    let mut stmt = conn.prepare("INSERT INTO users (id, user_name, doc) VALUES (?1, ?2, ?3)")?;
    while start.elapsed() < budget {
        let (id, name, doc) = row(next);
        stmt.execute(params![id, name, doc])?;
        next += 1;
    }
    let insert_each = next as f64 / start.elapsed().as_secs_f64();
    drop(stmt);

    // Batches of SQLITE_BATCH, until `rows` rows exist or the time is up (then the rest untimed).
    let (start, first) = (Instant::now(), next);
    let mut timed = None;
    while next < rows.max(first + SQLITE_BATCH as u64) {
        let tx = conn.unchecked_transaction()?;
        {
            let mut stmt = tx.prepare_cached("INSERT INTO users (id, user_name, doc) VALUES (?1, ?2, ?3)")?;
            for _ in 0..SQLITE_BATCH {
                let (id, name, doc) = row(next);
                stmt.execute(params![id, name, doc])?;
                next += 1;
            }
        }
        tx.commit()?;
        if timed.is_none() && start.elapsed() >= budget {
            timed = Some((next - first) as f64 / start.elapsed().as_secs_f64());
        }
    }
    let insert_batched = timed.unwrap_or_else(|| (next - first) as f64 / start.elapsed().as_secs_f64());

    // Lookups of random rows by the unique index.
    let mut stmt = conn.prepare("SELECT doc FROM users WHERE id = ?1")?;
    let (start, mut done) = (Instant::now(), 0u64);
    while start.elapsed() < budget {
        for _ in 0..1000 {
            let (id, _, _) = row(crate::load::spread(done, next));
            let doc: String = stmt.query_row([id], |r| r.get(0))?;
            anyhow::ensure!(!doc.is_empty(), "an empty document came back");
            done += 1;
        }
    }
    let lookup = done as f64 / start.elapsed().as_secs_f64();
    drop(stmt);
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("raw.sqlite{suffix}")));
    }
    Ok(SqliteRates { insert_each, insert_batched, rows: next, lookup })
}

/// Row `n`: an id, a userName and a document about the size of a stored SCIM user.
pub(crate) fn row(n: u64) -> (String, String, String) {
    let id = format!("{:08x}-0000-4000-8000-{n:012x}", n.wrapping_mul(2_654_435_761) & 0xffff_ffff);
    let name = format!("user{n}@bench.example");
    let doc = format!(
        r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"{id}","userName":"{name}","displayName":"User {n}","name":{{"givenName":"User","familyName":"{n}"}},"emails":[{{"value":"{name}","type":"work","primary":true}}],"active":true,"meta":{{"resourceType":"User","created":"2026-11-30T00:00:00Z","lastModified":"2026-11-30T00:00:00Z","version":"W/\"1\""}}}}"#
    );
    (id, name, doc)
}
