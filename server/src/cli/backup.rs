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

/// A period such as `30s`, `15m`, `6h` or `1d`: a whole number and a unit, longer than zero.
///
/// Private to the backup flags for now; the config-file work brings a shared parser.
pub(super) fn parse_period(raw: &str) -> Result<Duration, String> {
    let s = raw.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("\"{raw}\" is not a period such as 30s, 15m, 6h or 1d")),
    };
    let n: u64 = num.parse().map_err(|_| format!("\"{raw}\" is not a period such as 30s, 15m, 6h or 1d"))?;
    if n == 0 {
        return Err("the period must be longer than zero".into());
    }
    n.checked_mul(unit_secs).map(Duration::from_secs).ok_or_else(|| format!("\"{raw}\" is too long"))
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
    fn periods() {
        assert_eq!(parse_period("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_period("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_period(" 6h "), Ok(Duration::from_secs(21_600)));
        assert_eq!(parse_period("1d"), Ok(Duration::from_secs(86_400)));
        for bad in ["", "10", "0s", "5x", "h", "-1h", "99999999999999999999d"] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
    }

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
