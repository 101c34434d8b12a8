//! Whether the database can take writes: the file at the configured path is still the one the
//! server opened, and the last write did not fail for want of space or permission.
//!
//! The file's identity (device and inode) is taken when the database is opened. The writer
//! compares it before each batch and again before acknowledging a commit (one `stat` each), so
//! a write into a file that was deleted or replaced meanwhile is refused rather than answered
//! 201 into an unlinked inode that vanishes with the process. `/healthz` reads the same state,
//! re-checking the identity at most once a second. A write failing with `SQLITE_FULL`,
//! `SQLITE_READONLY` or an I/O error marks the store faulty; the next successful commit clears
//! the mark, so a disk that regains space recovers without a restart (the journal retries its
//! batch every second, which is such a write).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::ErrorCode;

use super::StoreError;

/// How long `/healthz` trusts the last identity check.
const RECHECK: Duration = Duration::from_secs(1);

/// The store's health: see the module documentation.
#[derive(Debug)]
pub struct Health {
    path: PathBuf,
    /// Device and inode of the file at open; `None` where it cannot be known (not a plain file).
    identity: Option<(u64, u64)>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Why the last write failed, until a commit succeeds.
    write_fault: Option<String>,
    /// The identity check's last result, and when it was made.
    identity: Option<(Instant, Option<String>)>,
}

impl Health {
    /// The health of the database file at `path`, as opened now.
    pub fn new(path: &Path) -> Self {
        Self { path: path.to_owned(), identity: identity(path), state: Mutex::default() }
    }

    /// Fails when the file at the path is no longer the one opened (removed or replaced).
    pub fn check_identity(&self) -> Result<(), StoreError> {
        let Some(opened) = self.identity else { return Ok(()) };
        let fault = match identity(&self.path) {
            Some(now) if now == opened => None,
            Some(_) => Some("the database file was replaced by another file while scimbox ran"),
            None => Some("the database file was removed while scimbox ran"),
        };
        if let Ok(mut s) = self.state.lock() {
            let before = s.identity.take().and_then(|(_, f)| f);
            // Logged when it changes, not on every check (each write batch checks).
            if before.as_deref() != fault {
                match fault {
                    Some(reason) => tracing::error!(path = %self.path.display(),
                        "{reason}; writes are refused until it is restored or scimbox restarts"),
                    None => tracing::info!(path = %self.path.display(), "the database file is back"),
                }
            }
            s.identity = Some((Instant::now(), fault.map(str::to_owned)));
        }
        match fault {
            Some(reason) => Err(StoreError::Unavailable(reason.into())),
            None => Ok(()),
        }
    }

    /// Records the outcome of a write: a fault sets the mark, a successful commit clears it.
    pub fn note(&self, outcome: Result<(), &StoreError>) {
        let Ok(mut s) = self.state.lock() else { return };
        match outcome {
            Ok(()) => {
                if let Some(was) = s.write_fault.take() {
                    tracing::info!(was = %was, "the database takes writes again");
                }
            }
            Err(StoreError::Unavailable(reason)) => {
                if s.write_fault.as_deref() != Some(reason) {
                    tracing::error!(path = %self.path.display(), reason = %reason, "the database cannot take writes");
                }
                s.write_fault = Some(reason.clone());
            }
            Err(_) => {}
        }
    }

    /// Why the store cannot take writes, or `None` when it can (as far as is known).
    pub fn fault(&self) -> Option<String> {
        let fresh =
            self.state.lock().ok()?.identity.as_ref().filter(|(at, _)| at.elapsed() < RECHECK).map(|(_, f)| f.clone());
        let identity_fault = match fresh {
            Some(f) => f,
            None => self.check_identity().err().map(|e| e.to_string()),
        };
        identity_fault.or_else(|| self.state.lock().ok()?.write_fault.clone())
    }
}

/// Device and inode of the file at `path`.
#[cfg(unix)]
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(_path: &Path) -> Option<(u64, u64)> {
    None
}

/// The reason a SQLite error means the store cannot take writes (rather than a fault of the
/// write itself): a full disk, a read-only or unwritable file.
pub fn unavailable(e: &rusqlite::Error) -> Option<&'static str> {
    let code = e.sqlite_error_code()?;
    Some(match code {
        ErrorCode::DiskFull => "the disk holding the database is full",
        ErrorCode::ReadOnly | ErrorCode::PermissionDenied => "the database file is read-only",
        ErrorCode::SystemIoFailure => "the database file cannot be written (I/O error)",
        ErrorCode::CannotOpen => "the database file cannot be opened",
        _ => return None,
    })
}

/// Creates the database file 0600 before SQLite opens it (SQLite gives `-wal` and `-shm` the
/// database file's mode), or tightens an existing one, and its `-wal` and `-shm`, to 0600: the
/// file holds password hashes and personal data. Not for URIs or in-memory databases.
#[cfg(unix)]
pub fn private_file(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let text = path.to_string_lossy();
    if text.is_empty() || text == ":memory:" || text.starts_with("file:") {
        return Ok(());
    }
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(StoreError::Internal(format!("cannot create {}: {e}", path.display()))),
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        let Ok(meta) = std::fs::metadata(&file) else { continue };
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_file() && mode & 0o077 != 0 {
            match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
                Ok(()) => {
                    tracing::warn!("{} was readable by others (mode {mode:04o}); its mode is now 0600", file.display())
                }
                Err(e) => tracing::warn!("{} has mode {mode:04o} and could not be made 0600: {e}", file.display()),
            }
        }
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn private_file(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_and_replaced_files_are_noticed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("h.db");
        std::fs::write(&path, b"x").unwrap_or_else(|e| panic!("{e}"));
        let health = Health::new(&path);
        assert!(health.check_identity().is_ok() && health.fault().is_none());
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(health.check_identity(), Err(StoreError::Unavailable(r)) if r.contains("removed")));
        std::fs::write(dir.path().join("other"), b"y").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&path, b"z").unwrap_or_else(|e| panic!("{e}"));
        assert!(health.fault().is_some_and(|r| r.contains("replaced") || r.contains("removed")));
        health.note(Err(&StoreError::Unavailable("the disk holding the database is full".into())));
        assert!(health.fault().is_some());
    }

    #[test]
    fn write_faults_clear_on_success() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("h.db");
        std::fs::write(&path, b"x").unwrap_or_else(|e| panic!("{e}"));
        let health = Health::new(&path);
        health.note(Err(&StoreError::Unavailable("the disk holding the database is full".into())));
        assert_eq!(health.fault().as_deref(), Some("the disk holding the database is full"));
        health.note(Ok(()));
        assert_eq!(health.fault(), None);
    }

    #[cfg(unix)]
    #[test]
    fn files_are_created_private_and_loose_ones_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("m.db");
        let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        private_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap_or_else(|e| panic!("{e}"));
        private_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mode(&path), 0o600);
    }
}
