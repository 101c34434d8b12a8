//! `scimbox backup` and `scimbox restore`, and the parsing of `serve`'s scheduled-backup flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{DbArg, Failure};
use crate::config::BackupSchedule as Schedule;
use crate::service::backup::{self, Done};

/// `scimbox backup`.
#[derive(Debug, Args)]
pub(super) struct BackupArgs {
    #[command(flatten)]
    db: DbArg,
    /// The backup file to write (replaced only by a copy that passed its checks).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// `scimbox restore`.
#[derive(Debug, Args)]
pub(super) struct RestoreArgs {
    #[command(flatten)]
    db: DbArg,
    /// The backup file to restore from.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// Replace the database at --db if there is one (never while a server has it open).
    #[arg(long)]
    force: bool,
}

pub(super) fn run_backup(args: BackupArgs) -> Result<(), Failure> {
    let done = backup::backup(&args.db.db, &args.out)?;
    eprintln!(
        "backed up {} to {} ({}, schema version {}); integrity check passed",
        args.db.db.display(),
        done.path.display(),
        size(done.bytes),
        done.schema_version
    );
    Ok(())
}

pub(super) fn run_restore(args: RestoreArgs) -> Result<(), Failure> {
    let Done { path, schema_version, bytes, migrates_on_start } = backup::restore(&args.db.db, &args.from, args.force)?;
    eprintln!(
        "restored {} from {} ({}, schema version {schema_version}); integrity check passed",
        path.display(),
        args.from.display(),
        size(bytes)
    );
    if migrates_on_start {
        eprintln!("the backup is from an older scimbox: its database is migrated on the next start");
    }
    Ok(())
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 { format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20)) } else { format!("{bytes} bytes") }
}

/// The schedule `serve`'s flags describe: none without `--backup-dir`; `--backup-every` and
/// `--backup-keep` without it are a mistake worth stopping for.
pub(super) fn schedule(
    dir: Option<PathBuf>,
    every: Option<Duration>,
    keep: usize,
    keep_given: bool,
) -> Result<Option<Schedule>, String> {
    match (dir, every) {
        (Some(dir), Some(every)) => Ok(Some(Schedule { dir, every, keep })),
        (Some(_), None) => Err("--backup-dir needs --backup-every (such as 6h)".into()),
        (None, Some(_)) => Err("--backup-every needs --backup-dir".into()),
        (None, None) if keep_given => Err("--backup-keep needs --backup-dir and --backup-every".into()),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_needs_a_folder_and_a_period() {
        let dir = Some(PathBuf::from("b"));
        let every = Some(Duration::from_secs(60));
        assert!(schedule(dir.clone(), every, 7, false).is_ok_and(|s| s.is_some()));
        assert!(schedule(dir, None, 7, false).is_err());
        assert!(schedule(None, every, 7, false).is_err());
        assert!(schedule(None, None, 3, true).is_err());
        assert_eq!(schedule(None, None, 7, false), Ok(None));
    }
}
