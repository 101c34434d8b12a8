//! Backups and restores of the database file: `scimbox backup`, `scimbox restore` and the
//! scheduled backups of `scimbox serve --backup-dir`.
//!
//! Every file this writes appears whole or not at all: a copy is made under a temporary name in
//! the destination's folder, checked (SQLite's integrity check, and the schema version), synced,
//! and only then renamed into place, so a crash or a full disk never leaves half a backup at the
//! name asked for, nor half a database where a restore was going. The SQLite side (the online
//! backup API, the checks, the claim on a database being replaced) is [`crate::db::backup`].

use std::path::{Path, PathBuf};

use super::{Error, Result};
pub use crate::config::BackupSchedule as Schedule;
use crate::db::backup::{self as store, Copied};
use crate::{clock, metrics};

/// What a backup or a restore produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// The file written.
    pub path: PathBuf,
    /// Its schema version (the highest migration applied).
    pub schema_version: i64,
    /// Its size in bytes.
    pub bytes: u64,
    /// For a restore: the backup is older than this binary, and the next start migrates it.
    pub migrates_on_start: bool,
}

/// The temporary name a file is written under before it is renamed to `path`: hidden, in the
/// same folder (a rename across file systems would not be atomic), and unique to this process.
fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "scimbox.db".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Removes the temporary file when dropped, unless it was renamed into place.
struct Temporary(Option<PathBuf>);

impl Drop for Temporary {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(&p);
            for suffix in ["-journal", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
            }
        }
    }
}

fn io(what: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::Unavailable(format!("{what} {}: {e}", path.display()))
}

/// Flushes `path`'s contents, then renames it to `to` and flushes the folder, so that the new
/// name survives a crash.
fn sync_and_rename(path: &Path, to: &Path) -> Result<()> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).map_err(|e| io("cannot sync", path, &e))?;
    std::fs::rename(path, to).map_err(|e| io("cannot rename the copy to", to, &e))?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        // A folder cannot be opened for syncing on every platform; the rename stands either way.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// Where `path` is, resolved (for a file that does not exist yet, through its folder), to tell
/// whether two names are one file.
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Some(p);
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Some(std::fs::canonicalize(dir).ok()?.join(path.file_name()?))
}

/// Refuses to use one file as both ends of a copy: a backup renamed over the live database
/// would replace it under the server.
fn distinct(db: &Path, other: &Path, flag: &str) -> Result<()> {
    match (resolved(db), resolved(other)) {
        (Some(a), Some(b)) if a == b => {
            Err(Error::invalid(format!("{flag} {} is the database itself; name another file", other.display())))
        }
        _ => Ok(()),
    }
}

fn must_exist(path: &Path, what: &str) -> Result<()> {
    if path.is_file() { Ok(()) } else { Err(Error::NotFound(format!("no {what} at {}", path.display()))) }
}

/// Backups are copies of a SQLite file (its online backup API); a PostgreSQL database has its
/// own tools (issue 18: docs/deployment.md).
pub fn not_postgres(db: &Path) -> Result<()> {
    if crate::db::Db::is_postgres(db) {
        return Err(Error::invalid(
            "not available on PostgreSQL: backup and restore copy SQLite files; use pg_dump and \
             pg_restore, or scimbox export and import",
        ));
    }
    Ok(())
}

/// Copies the database at `db` (a running server may be writing to it) to `out`, as of one
/// moment, and checks the copy before it takes the name `out`: SQLite's integrity check must
/// pass and its schema version must be the database's. An existing `out` is replaced only by a
/// copy that passed. The file is 0600, like the database.
pub fn backup(db: &Path, out: &Path) -> Result<Done> {
    not_postgres(db)?;
    must_exist(db, "database")?;
    distinct(db, out, "--out")?;
    if out.is_dir() {
        return Err(Error::invalid(format!("{} is a folder; name the backup file", out.display())));
    }
    let mut tmp = Temporary(Some(temporary(out)));
    let path = tmp.0.clone().unwrap_or_default();
    let _ = std::fs::remove_file(&path); // left by a crashed run of this same process id
    let version = store::copy(db, &path)?;
    let Copied { schema_version, bytes } = store::check(&path)?;
    if schema_version != version {
        return Err(Error::Internal(format!(
            "the copy reads schema version {schema_version}, the database {version}; the backup was discarded"
        )));
    }
    sync_and_rename(&path, out)?;
    tmp.0 = None; // renamed: nothing to remove
    Ok(Done { path: out.to_owned(), schema_version, bytes, migrates_on_start: false })
}

/// Replaces (or creates) the database at `db` with the backup `from`. The backup is checked
/// first (integrity, and a schema version this binary knows: an older one is migrated on the
/// next start); an existing database is replaced only with `force`, and only when no other
/// process has it open (a running server: see [`store::claim`]). The copy is written beside `db`
/// and renamed over it, after the old database's `-wal` and `-shm` are removed (SQLite would
/// otherwise replay the old WAL into the new file).
pub fn restore(db: &Path, from: &Path, force: bool) -> Result<Done> {
    not_postgres(db)?;
    must_exist(from, "backup")?;
    distinct(db, from, "--from")?;
    let found = store::check(from)?;
    let latest = store::latest_schema_version();
    if found.schema_version > latest {
        return Err(Error::Conflict(format!(
            "{} was written by a newer scimbox (schema version {}; this one knows up to {latest}); \
             restore it with that version or a later one",
            from.display(),
            found.schema_version
        )));
    }
    if found.schema_version == 0 {
        return Err(Error::invalid(format!("{} is an SQLite database but not a scimbox one", from.display())));
    }
    let exists = db.exists();
    if exists && !force {
        return Err(Error::Conflict(format!(
            "{} already exists; pass --force to replace it (`scimbox backup --db {} --out FILE` keeps a copy first)",
            db.display(),
            db.display()
        )));
    }
    let _claim = if exists { Some(store::claim(db)?) } else { None };
    let mut tmp = Temporary(Some(temporary(db)));
    let path = tmp.0.clone().unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    store::copy(from, &path)?;
    let Copied { schema_version, bytes } = store::check(&path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = PathBuf::from(format!("{}{suffix}", db.display()));
        match std::fs::remove_file(&side) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io("cannot remove", &side, &e)),
            _ => {}
        }
    }
    sync_and_rename(&path, db)?;
    tmp.0 = None; // renamed: nothing to remove
    Ok(Done { path: db.to_owned(), schema_version, bytes, migrates_on_start: schema_version < latest })
}

/// The prefix and suffix of a scheduled backup's name: `scimbox-20261207T103000.123Z.db`.
/// The timestamp sorts as text in time order, which is how the oldest are found.
const PREFIX: &str = "scimbox-";
const SUFFIX: &str = ".db";

/// The file name of a scheduled backup taken now.
fn scheduled_name() -> String {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second].[subsecond digits:3]Z");
    let at = clock::now().format(&fmt).unwrap_or_else(|_| "00000000T000000.000Z".into());
    format!("{PREFIX}{at}{SUFFIX}")
}

/// Takes one scheduled backup of `db` into `schedule.dir`, then removes the oldest backups
/// beyond `schedule.keep`. Returns the new backup and the files removed.
pub fn scheduled(db: &Path, schedule: &Schedule) -> Result<(Done, Vec<PathBuf>)> {
    create_private_dir(&schedule.dir)?;
    let done = backup(db, &schedule.dir.join(scheduled_name()))?;
    let removed = prune(&schedule.dir, schedule.keep)?;
    Ok((done, removed))
}

/// Checks, at start, that scheduled backups can be written: the folder exists (or is created,
/// 0700) and takes a file. A wrong `--backup-dir` stops the start rather than a first backup
/// hours later.
pub fn prepare(schedule: &Schedule) -> Result<()> {
    create_private_dir(&schedule.dir)?;
    let probe = schedule.dir.join(format!(".scimbox-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| io("cannot write backups into", &schedule.dir, &e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| io("cannot create the backup folder", dir, &e))
}

/// Removes the oldest scheduled backups in `dir` beyond `keep`; other files are never touched.
fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| io("cannot list", dir, &e))?;
    let mut ours: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with(PREFIX) && name.ends_with(SUFFIX) && p.is_file()
        })
        .collect();
    ours.sort();
    let excess = ours.len().saturating_sub(keep);
    let mut removed = Vec::with_capacity(excess);
    for old in ours.into_iter().take(excess) {
        std::fs::remove_file(&old).map_err(|e| io("cannot remove the old backup", &old, &e))?;
        removed.push(old);
    }
    Ok(removed)
}

/// Runs the scheduled backups of `db` until the task is aborted: one every `schedule.every`,
/// each on the blocking pool (the copy reads one snapshot and never holds the writer). A failure
/// is logged and the next one is tried at the next tick.
pub async fn run_schedule(db: PathBuf, schedule: Schedule) {
    let mut tick = tokio::time::interval(schedule.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate: the first backup comes one period after start
    loop {
        tick.tick().await;
        let (db, schedule) = (db.clone(), schedule.clone());
        let outcome = tokio::task::spawn_blocking(move || scheduled(&db, &schedule)).await;
        match outcome {
            Ok(Ok((done, removed))) => {
                metrics::backup_succeeded(clock::now().unix_timestamp());
                tracing::info!(
                    path = %done.path.display(),
                    bytes = done.bytes,
                    removed = removed.len(),
                    "scheduled backup written and verified"
                );
            }
            Ok(Err(e)) => {
                metrics::backup_failed();
                tracing::warn!(error = %e, "scheduled backup failed; trying again at the next one");
            }
            Err(e) => {
                metrics::backup_failed();
                tracing::warn!(error = %e, "scheduled backup task failed; trying again at the next one");
            }
        }
    }
}
