//! The workloads, one module each. A workload takes its own clap `Args`, runs, checks that the
//! server did what was asked (a benchmark that times errors is worse than none), and returns a
//! [`Report`]: serialisable for `--json`, and able to print itself as a table.

pub mod ab;
pub mod compare;
pub mod feed;
pub mod membership;
pub mod paging;
pub mod scale;

use std::path::PathBuf;

use anyhow::Context;
use scimbox::db::Db;
use serde::Serialize;

/// What a workload returns.
pub trait Report: Serialize {
    /// The human-readable form: a short header saying what ran, then the table.
    fn render(&self) -> String;
}

/// Prints `report` to stdout, as JSON or as text.
pub fn print(report: &impl Report, json: bool) -> anyhow::Result<()> {
    if json {
        let text = serde_json::to_string_pretty(report).context("cannot encode the results as JSON")?;
        println!("{text}");
    } else {
        print!("{}", report.render());
    }
    Ok(())
}

/// The machine a report was made on, so that figures from different runs are not compared
/// blindly.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// CPUs this process may use.
    pub cpus: usize,
    /// The operating system.
    pub os: &'static str,
    /// The CPU architecture.
    pub arch: &'static str,
}

impl Machine {
    /// This machine.
    pub fn this() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Self { cpus, os: std::env::consts::OS, arch: std::env::consts::ARCH }
    }
}

/// A whole number of at least 1, with optional `_` separators.
pub fn positive(s: &str) -> Result<usize, String> {
    match s.trim().replace('_', "").parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("\"{s}\" is not a whole number of at least 1")),
    }
}

/// A fresh database in a temporary folder (under `dir` when given), opened and migrated; the
/// folder goes when the returned handle drops.
pub fn fresh_db(dir: Option<&PathBuf>) -> anyhow::Result<(tempfile::TempDir, PathBuf, Db)> {
    let dir = match dir {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .context("cannot create a temporary directory")?;
    let path = dir.path().join("scimbox.db");
    let db = Db::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok((dir, path, db))
}
