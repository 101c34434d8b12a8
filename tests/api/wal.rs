//! The write-ahead log stays bounded under sustained writes (issue 17): checkpoints run off the
//! writer thread (`db::checkpoint`), which must not let the `-wal` file grow with everything
//! ever written.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;

/// Bytes of a `title` (strings may have 64 KiB): each create then writes about three times this
/// to the log (the row, its change record, its event).
const TITLE_BYTES: usize = 48 * 1024;
/// Creates: about 70 MiB through the log, well beyond the bound below.
const CREATES: usize = 480;
/// Concurrent clients: the writer always has the next batch waiting, so the log is never idle.
const CLIENTS: usize = 8;
/// The largest `-wal` file allowed: the writer's catch-up point (16 MiB) plus one batch (at most
/// `CLIENTS` creates), with room to spare.
const WAL_BOUND: u64 = 24 * 1024 * 1024;

/// A title of `TITLE_BYTES` that differs per user (nothing in SQLite compresses it anyway).
fn title(n: usize) -> String {
    let seed = format!("user {n} ");
    seed.repeat(TITLE_BYTES / seed.len() + 1)[..TITLE_BYTES].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_wal_stays_bounded_under_sustained_creates() {
    let app = Arc::new(TestApp::spawn().await);
    let wal = app.db_path.with_extension("db-wal");
    let (largest, done) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
    let watcher = tokio::spawn({
        let (wal, largest, done) = (wal.clone(), Arc::clone(&largest), Arc::clone(&done));
        async move {
            while !done.load(Ordering::Relaxed) {
                let len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
                largest.fetch_max(len, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let app = Arc::clone(&app);
        clients.push(tokio::spawn(async move {
            for n in (c..CREATES).step_by(CLIENTS) {
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("wal-{n}"),
                    "title": title(n),
                });
                let r = app.post("/Users", &body).await;
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            }
        }));
    }
    for c in clients {
        c.await.expect("client");
    }
    done.store(true, Ordering::Relaxed);
    watcher.await.expect("watcher");
    let written = (CREATES * TITLE_BYTES * 3) as u64;
    let largest = largest.load(Ordering::Relaxed);
    assert!(
        largest <= WAL_BOUND,
        "the -wal file reached {largest} bytes while about {written} bytes went through it; bound {WAL_BOUND}"
    );
    // Every create is there, whatever the checkpoints did.
    let r = app.get("/Users?filter=userName%20sw%20%22wal-%22&count=0").await;
    assert_eq!(r.body["totalResults"], CREATES, "{}", r.text);
}
