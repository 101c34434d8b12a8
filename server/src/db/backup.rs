//! SQLite's side of backup and restore: a consistent copy of a live database through the online
//! backup API (<https://www.sqlite.org/backup.html>), the checks a copy must pass before anyone
//! relies on it, and the claim a restore needs before it replaces a database file.
//!
//! The copy reads the source inside one read transaction. In WAL mode a reader never blocks the
//! writer, and the transaction pins one snapshot, so the copy is of one moment even while the
//! server commits (without it, a write by another connection restarts the backup from page one,
//! and a busy server could keep it restarting). It copies [`PAGES_PER_STEP`] pages at a time.
//! The copy is left in rollback-journal mode: one file, with no `-wal` or `-shm` beside it.
//!
//! Nothing here reads the clock or names files: the service decides where copies go.

use std::path::Path;
use std::time::Duration;

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{StoreError, health};

/// Pages copied per step of the online backup (1 MiB with SQLite's 4 KiB pages).
pub const PAGES_PER_STEP: i32 = 256;
/// The pause between two steps, and after a busy one.
const PAUSE: Duration = Duration::from_millis(1);
/// Steps in a row that may find the source locked before the copy gives up (about 30 s).
const MAX_BUSY_STEPS: u32 = 30_000;

/// What a copy or a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The highest migration applied to the copy (`refinery_schema_history`), 0 for none.
    pub schema_version: i64,
    /// The copy's size in bytes.
    pub bytes: u64,
}

/// The highest migration this build embeds: a database at a higher version was written by a
/// newer scimbox.
pub fn latest_schema_version() -> i64 {
    super::embedded::migrations::runner().get_migrations().iter().map(|m| i64::from(m.version())).max().unwrap_or(0)
}

/// Opens an existing database without creating it, changing its settings or migrating it.
fn open_existing(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Internal(format!("cannot open {}: {e}", path.display())))
}

/// The highest migration applied (0 when the database has none).
fn schema_version(conn: &Connection) -> Result<i64, StoreError> {
    let has: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'refinery_schema_history')",
        [],
        |r| r.get(0),
    )?;
    if !has {
        return Ok(0);
    }
    let v: Option<i64> =
        conn.query_row("SELECT MAX(version) FROM refinery_schema_history", [], |r| r.get(0)).optional()?.flatten();
    Ok(v.unwrap_or(0))
}

/// Copies the database at `source` (which a server may be writing to) into `dest`, a new file
/// created 0600, as of one moment; returns the source's schema version as of that moment.
pub fn copy(source: &Path, dest: &Path) -> Result<i64, StoreError> {
    let src = open_existing(source)?;
    src.busy_timeout(Duration::from_secs(5))?;
    src.execute_batch("PRAGMA query_only = ON; BEGIN DEFERRED;")?;
    // The first read starts the transaction: from here on `src` sees one snapshot.
    let version = schema_version(&src)?;
    health::private_file(dest)?;
    let mut dst =
        Connection::open(dest).map_err(|e| StoreError::Internal(format!("cannot open {}: {e}", dest.display())))?;
    {
        let backup = Backup::new(&src, &mut dst)?;
        let mut busy = 0;
        loop {
            match backup.step(PAGES_PER_STEP)? {
                StepResult::Done => break,
                StepResult::More => busy = 0,
                _ => {
                    busy += 1;
                    if busy > MAX_BUSY_STEPS {
                        return Err(StoreError::Unavailable(format!("{} stayed locked; try again", source.display())));
                    }
                }
            }
            std::thread::sleep(PAUSE);
        }
    }
    src.execute_batch("COMMIT")?;
    // The copied header says WAL; a backup is one self-contained file.
    let mode: String = dst.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(StoreError::Internal(format!("the copy stayed in {mode} mode")));
    }
    dst.close().map_err(|(_, e)| StoreError::from(e))?;
    Ok(version)
}

/// Checks a database file (a backup, or a copy about to replace a database): SQLite's
/// `PRAGMA integrity_check` must say `ok`, and its schema version is returned. A file that is not
/// a database, or a damaged one, is [`StoreError::Invalid`] with what SQLite found.
pub fn check(path: &Path) -> Result<Copied, StoreError> {
    let bad = |what: String| StoreError::Invalid(scimbox_validator::ValidationError::value(what));
    let conn = open_existing(path)?;
    conn.execute_batch("PRAGMA query_only = ON;")?;
    let found: Result<Vec<String>, rusqlite::Error> =
        conn.prepare("PRAGMA integrity_check(20)").and_then(|mut s| s.query_map([], |r| r.get(0))?.collect());
    let found = match found {
        Ok(rows) => rows,
        Err(e) => return Err(bad(format!("{} is not a readable SQLite database: {e}", path.display()))),
    };
    if found != ["ok"] {
        return Err(bad(format!("{} fails SQLite's integrity check: {}", path.display(), found.join("; "))));
    }
    let schema_version = schema_version(&conn)?;
    drop(conn);
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(Copied { schema_version, bytes })
}

/// A database file no one else has open, held so until dropped: what a restore needs before it
/// replaces the file.
pub struct Claim(#[expect(dead_code, reason = "held for its locks, never read")] Connection);

/// Claims the database at `path` for replacing it. A server keeps its connections open in WAL
/// mode, and SQLite lets a connection leave WAL mode only when it is the database's only one:
/// so leaving it (to rollback-journal mode, which also folds the WAL back into the file) is the
/// test, and an exclusive lock then keeps others out until the claim is dropped. Another
/// process holding the file is [`StoreError::Unavailable`]; a file that is not an SQLite
/// database at all is claimed as it is (nothing holds it as a database).
pub fn claim(path: &Path) -> Result<Claim, StoreError> {
    let in_use = || {
        StoreError::Unavailable(format!(
            "{} is open in another process (a running scimbox?); stop it first",
            path.display()
        ))
    };
    let conn = open_existing(path)?;
    conn.busy_timeout(Duration::ZERO)?;
    let mode: Result<String, rusqlite::Error> = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0));
    match mode {
        Ok(m) if m.eq_ignore_ascii_case("delete") => {}
        Ok(_) => return Err(in_use()),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => return Ok(Claim(conn)),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => return Err(in_use()),
        Err(e) => return Err(e.into()),
    }
    match conn.execute_batch("BEGIN EXCLUSIVE") {
        Ok(()) => Ok(Claim(conn)),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => Err(in_use()),
        Err(e) => Err(e.into()),
    }
}
