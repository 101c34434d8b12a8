//! `scimbox export` and `scimbox import`: the directory as NDJSON (see
//! [`crate::service::transfer`] for the format).

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::Args;

use super::{DbArg, Failure, with_store};
use crate::service::transfer;

/// `scimbox export`.
#[derive(Debug, Args)]
pub(super) struct ExportArgs {
    #[command(flatten)]
    db: DbArg,
    /// Write to this file (created 0600, whole or not at all) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// `scimbox import`.
#[derive(Debug, Args)]
pub(super) struct ImportArgs {
    #[command(flatten)]
    db: DbArg,
    /// The export to load (`-` for stdin).
    #[arg(long = "in", value_name = "FILE")]
    input: PathBuf,
}

/// A file created 0600: an export holds people's names and addresses.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

pub(super) fn export(args: ExportArgs) -> Result<(), Failure> {
    crate::service::existing_database(&args.db.db)?;
    let counts = match &args.out {
        None => with_store(&args.db.db, async |db| Ok(transfer::export(db, BufWriter::new(std::io::stdout())).await?))?,
        Some(out) => {
            let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let tmp = out.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
            let file = private_file(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
            let written = with_store(&args.db.db, async |db| Ok(transfer::export(db, BufWriter::new(file)).await?))
                .and_then(|counts| {
                    let synced = std::fs::File::open(&tmp).and_then(|f| f.sync_all());
                    synced
                        .and_then(|()| std::fs::rename(&tmp, out))
                        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
                    Ok(counts)
                });
            if written.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            written?
        }
    };
    let _ = std::io::stdout().flush();
    eprintln!("exported {counts}");
    Ok(())
}

pub(super) fn import(args: ImportArgs) -> Result<(), Failure> {
    let counts = if args.input.as_os_str() == "-" {
        with_store(&args.db.db, async |db| Ok(transfer::import(db, BufReader::new(std::io::stdin())).await?))?
    } else {
        let file =
            std::fs::File::open(&args.input).map_err(|e| format!("cannot read {}: {e}", args.input.display()))?;
        with_store(&args.db.db, async |db| Ok(transfer::import(db, BufReader::new(file)).await?))?
    };
    eprintln!("imported {counts} into {}", args.db.db.display());
    Ok(())
}
