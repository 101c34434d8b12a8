//! `ab`: two scimbox binaries on the same workload, run after run, alternating, each on a fresh
//! database, and the median of each.
//!
//! On a shared machine one run of each says little: the same binary's create rate swings by a
//! fifth from one run to the next with what else runs. Alternating spreads that drift over both
//! binaries, the order flips every round (A B, then B A: a slow trend does not favour the one
//! that always goes first), the median ignores the odd disturbed run, and the server's CPU time
//! per request, read from `/proc`, does not count time other work took from it. The binaries are
//! started through [`crate::launch`], so A may be a commit from before today's `serve` flags.
//!
//! A run of the `create` workload: a fresh temporary directory, `token create` and `serve` of the
//! binary there, `--users` users POSTed at `--clients` connections (so that the timed creates go
//! into a table of that size, and the server is warm), the server left to settle, then
//! `--seconds` of POST /Users at `--clients` connections, timed, every answer checked (a 201 with
//! an id).

mod report;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use super::compare::{ScimboxStart, scim, timed};
use super::positive;
use crate::launch::Binary;
use crate::load::{Budget, Throughput};
pub use report::AbReport;

/// `scimbox-bench ab`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Binary A, the reference (such as an older commit's `scimbox`).
    #[arg(long)]
    a: PathBuf,
    /// Binary B, the candidate (such as today's `target/release/scimbox`).
    #[arg(long)]
    b: PathBuf,
    /// What each run measures.
    #[arg(long, value_enum, default_value_t = Workload::Create)]
    workload: Workload,
    /// Rounds; each runs A and B once (A first in odd rounds, B first in even ones).
    #[arg(long, value_parser = positive, default_value_t = 5)]
    rounds: usize,
    /// Seconds of timed requests per run.
    #[arg(long, value_parser = seconds, default_value_t = 3.0)]
    seconds: f64,
    /// Users created before the timed requests of each run; `_` may group digits.
    #[arg(long, value_parser = positive, default_value = "20000")]
    users: usize,
    /// Concurrent connections.
    #[arg(long, value_parser = positive, default_value_t = 32)]
    clients: usize,
    /// Where the databases and logs go (default: the system's temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// The workloads `ab` can alternate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// POST /Users into a table of `--users` users.
    Create,
}

impl Workload {
    /// Its name and what it sends, for the report's header.
    fn describe(self) -> &'static str {
        match self {
            Self::Create => "create (POST /Users)",
        }
    }
}

/// Which binary a run was of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Side {
    /// `--a`.
    A,
    /// `--b`.
    B,
}

/// One run of one binary.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// The round, from 1.
    pub round: usize,
    /// The binary.
    pub side: Side,
    /// From spawn to the first answer on the empty database, in ms.
    pub ready_ms: f64,
    /// Creating the `--users` users before the timed part (not what is compared).
    pub seed: Throughput,
    /// The timed requests.
    pub timed: Throughput,
}

/// Runs the rounds.
pub async fn run(args: &Args) -> anyhow::Result<AbReport> {
    let a = Binary::probe(&args.a).await.context("binary A")?;
    let b = Binary::probe(&args.b).await.context("binary B")?;
    for (side, bin) in [("A", &a), ("B", &b)] {
        let rate = if bin.serves_with("--rate") { "rate limit off (--rate 0)" } else { "no --rate flag" };
        eprintln!("{side}: {} ({}; {rate})", bin.path.display(), bin.version);
    }
    let mut runs = Vec::new();
    for round in 1..=args.rounds {
        let order = if round % 2 == 1 { [Side::A, Side::B] } else { [Side::B, Side::A] };
        for side in order {
            let bin = if side == Side::A { &a } else { &b };
            let run = one_run(args, bin, round, side).await.with_context(|| format!("round {round}, {side:?}"))?;
            eprintln!("  {}", report::run_line(&run));
            runs.push(run);
        }
    }
    Ok(AbReport::new(args, &a, &b, runs))
}

async fn one_run(args: &Args, bin: &Binary, round: usize, side: Side) -> anyhow::Result<Run> {
    let dir = match &args.dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .context("cannot create a temporary directory")?;
    let start =
        ScimboxStart { bin: bin.clone(), db: dir.path().join("scimbox.db"), log: dir.path().join("scimbox.log") };
    let server = start.launch().await.with_context(|| log_tail(&start.log))?;
    let users = args.users as u64;
    let result = async {
        let seed = timed(&server, args.clients, Budget::Units(users), scim::create_users(scim::ids(users))).await?;
        let budget = Budget::Time { limit: Duration::from_secs_f64(args.seconds), max: u64::MAX };
        let timed = timed(&server, args.clients, budget, scim::create_users_from(users)).await?;
        Ok::<_, anyhow::Error>(Run { round, side, ready_ms: server.ready_in.as_secs_f64() * 1e3, seed, timed })
    }
    .await;
    let stopped = server.stop().await;
    // The directory, log included, goes with `dir`: quote the log's end in the error.
    let run = result.with_context(|| log_tail(&start.log))?;
    stopped?;
    Ok(run)
}

/// The last lines of the server's log, for an error.
fn log_tail(log: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(5)..].join("\n");
    if tail.is_empty() { "the server logged nothing".to_owned() } else { format!("the server's log ends:\n{tail}") }
}

/// A positive number of seconds.
fn seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("\"{s}\" is not a positive number of seconds")),
    }
}
