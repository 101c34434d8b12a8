//! WAL checkpoints off the writer thread.
//!
//! In WAL mode every commit appends pages to the `-wal` file; a checkpoint copies them back into
//! the database file and fsyncs it, after which the next write transaction starts the log again
//! from its beginning. SQLite's automatic checkpoint does this inside the commit that crosses
//! 1,000 pages, on the committing connection: here the one writer thread, which every write of
//! the server waits for. So the writer's connection runs with `wal_autocheckpoint = 0`, and this
//! thread, on a connection of its own, checkpoints instead.
//!
//! A `PASSIVE` checkpoint never waits for the writer or readers and never blocks them; the writer
//! keeps appending while it copies. That is also its limit: under sustained writes there is
//! always a commit newer than the checkpoint, the log is never wholly copied, the writer never
//! restarts it, and the file would grow without bound. So the writer bounds it itself
//! (`over_bound`): its connection has `journal_size_limit` at [`CATCH_UP_BYTES`], so SQLite
//! truncates the `-wal` file to that size at the first commit after each restart, and a file
//! longer than that means the log has grown past it since. After a batch that leaves it so, the
//! writer waits for this thread's checkpoint in progress, if any, and runs one `PASSIVE`
//! checkpoint itself, which copies what is left; the next batch then starts the log again. The
//! log thus stays within [`CATCH_UP_BYTES`] plus one batch. (A long read, such as a backup, still
//! pins the frames it may need; SQLite restarts the log after it ends.)
//!
//! Durability is unchanged: a commit is on disk once its WAL frames are synced
//! (`synchronous=FULL`); checkpoints only move pages that are durable already.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::sql::Connection;

use super::StoreError;

/// The `-wal` file's length past which the writer catches up (16 MiB).
pub const CATCH_UP_BYTES: u64 = 16 * 1024 * 1024;
/// The least time between two checkpoints of this thread: each one fsyncs the database file, and
/// under load one checkpoint copies the pages of many commits at once (a page rewritten by
/// every batch, an index's last leaf, is copied once).
const PAUSE: Duration = Duration::from_millis(100);

/// What the writer and the checkpoint thread share: held while either checkpoints, so that the
/// writer's catch-up waits for the thread's checkpoint to end instead of finding it busy.
#[derive(Debug, Default)]
pub(super) struct Shared(Mutex<()>);

impl Shared {
    /// Runs one `PASSIVE` checkpoint once no other is running here.
    pub(super) fn checkpoint(&self, conn: &Connection) -> Result<Outcome, StoreError> {
        let _one = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        passive(conn)
    }
}

/// Whether the `-wal` file at `wal` is longer than [`CATCH_UP_BYTES`]: with the writer's
/// `journal_size_limit`, whether the log grew past it since it last restarted.
pub(super) fn over_bound(wal: &Path) -> bool {
    std::fs::metadata(wal).is_ok_and(|m| m.len() > CATCH_UP_BYTES)
}

/// What one checkpoint reported: frames in the log, and how many of them are in the database
/// file now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Frames in the log (`-1` when the database is not in WAL mode).
    pub log: i64,
    /// Frames copied into the database file so far.
    pub copied: i64,
}

/// Runs one `PASSIVE` checkpoint on `conn`: copies what no reader still needs, waits for nobody.
pub fn passive(conn: &Connection) -> Result<Outcome, StoreError> {
    let (log, copied) = conn
        .sqlite()?
        .prepare_cached("PRAGMA wal_checkpoint(PASSIVE)")?
        .query_row([], |r| Ok((r.get(1)?, r.get(2)?)))?;
    Ok(Outcome { log, copied })
}

/// The checkpoint thread: after each tick (a commit), one `PASSIVE` checkpoint, at most one per
/// [`PAUSE`]. Ends when the writer does (the ticks' sender is dropped).
pub(super) fn run(conn: &Connection, ticks: &crossbeam_channel::Receiver<()>, shared: &Arc<Shared>) {
    while ticks.recv().is_ok() {
        while ticks.try_recv().is_ok() {} // the commits so far: one checkpoint covers them all
        if let Err(e) = shared.checkpoint(conn) {
            tracing::warn!(error = %e, "a WAL checkpoint failed; the next commit retries");
        }
        std::thread::sleep(PAUSE);
    }
}
