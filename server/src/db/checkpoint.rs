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
//! restarts it, and the file would grow without bound. So when a checkpoint reports more than
//! [`CATCH_UP_FRAMES`] frames in the log, it asks the writer to catch up: between two batches,
//! when nothing of this process writes, the writer runs one `PASSIVE` checkpoint of its own,
//! which only has to copy what was committed since this thread's last one, and the next batch
//! then starts the log again. The log is thus bounded by about [`CATCH_UP_FRAMES`] plus
//! what is committed during one checkpoint. (A long read, such as a backup, still pins the
//! frames it may need; SQLite restarts the log after it ends.)
//!
//! Durability is unchanged: a commit is on disk once its WAL frames are synced
//! (`synchronous=FULL`); checkpoints only move pages that are durable already.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

/// Frames (pages) in the log beyond which the writer is asked to catch up: 16 MiB of 4 KiB pages.
pub const CATCH_UP_FRAMES: i64 = 4096;
/// The least time between two checkpoints of this thread: each one fsyncs the database file, and
/// under load one checkpoint copies the pages of many commits at once (a page rewritten by
/// every batch, an index's last leaf, is copied once).
const PAUSE: Duration = Duration::from_millis(100);

/// What the writer and the checkpoint thread share.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Set by the checkpoint thread when the log is too long for its checkpoints to end it; the
    /// writer takes it and checkpoints between two batches.
    wanted: AtomicBool,
}

impl Shared {
    /// Whether the writer should catch up now (clears the request).
    pub(super) fn take_wanted(&self) -> bool {
        self.wanted.swap(false, Ordering::Relaxed)
    }
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
    let (log, copied) =
        conn.prepare_cached("PRAGMA wal_checkpoint(PASSIVE)")?.query_row([], |r| Ok((r.get(1)?, r.get(2)?)))?;
    Ok(Outcome { log, copied })
}

/// The checkpoint thread: after each tick (a commit), one `PASSIVE` checkpoint, at most one per
/// [`PAUSE`]; asks the writer to catch up when the log stays long. Ends when the writer does
/// (the ticks' sender is dropped).
pub(super) fn run(conn: &Connection, ticks: &crossbeam_channel::Receiver<()>, shared: &Arc<Shared>) {
    while ticks.recv().is_ok() {
        while ticks.try_recv().is_ok() {} // the commits so far: one checkpoint covers them all
        match passive(conn) {
            Ok(o) if o.log > CATCH_UP_FRAMES => shared.wanted.store(true, Ordering::Relaxed),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "a WAL checkpoint failed; the next commit retries"),
        }
        std::thread::sleep(PAUSE);
    }
}
