//! `scimbox-bench`: benchmarks of scimbox that anyone can rerun.
//!
//! - `compare` (issue 7, [`workloads::compare`]): scimbox's release binary, a bare axum server
//!   and the Python `scim2-server`, each a child process on loopback, driven by this process's
//!   load generator ([`load`]) on the same workloads, beside raw SQLite rates ([`limit`]) and the
//!   floors under issue 17's read targets ([`floor`]: axum with one SQLite read per GET by id, and
//!   a bare page of 100 users read as Okta's import reads); one table of figures and ratios. `scripts/bench.sh` builds and installs what it needs. With
//!   `--db-url` (issue 18) scimbox also runs on PostgreSQL, with `--instances` servers on one
//!   database ([`postgres`]), in a second table beside SQLite.
//! - `membership` ([`workloads::membership`]): scimbox in this process (the library's `serve` on
//!   a database seeded through the library), one client, the cost of one membership change by
//!   group size.
//! - `paging` ([`workloads::paging`]): scimbox in this process, every user read page by page by
//!   `startIndex` and by cursor (RFC 9865), and the first and the last page each way.
//! - `feed` ([`workloads::feed`]): scimbox in this process, paced changes from several IdP
//!   clients, one follower of the change feed and one webhook receiver: the lag from a change's
//!   2xx to its event.
//! - `scale` ([`workloads::scale`]): the release binary on databases of 10,000 to 1,000,000
//!   users seeded through the library: reads, deep pages, Okta's import, creates, the status
//!   overview, database size, ready time and peak memory, one column per size.
//! - `ab` ([`workloads::ab`]): two scimbox binaries (one may be an older commit's, started with
//!   only the flags it has: [`launch`]) alternating on one workload, each run on a fresh
//!   database; every run, the medians, and B over A.
//!
//! Every answer is checked; a run stops rather than time a failure. Output is a plain-text table,
//! or JSON with `--json`.
//!
//! ```sh
//! scripts/bench.sh
//! cargo run --release -p scimbox-bench -- membership --sizes 10,100000 --ops 200
//! ```
//!
//! See `docs/benchmarks.md` for what each figure means and a run's results.

mod client;
mod floor;
mod instance;
mod launch;
mod limit;
mod load;
mod postgres;
mod process;
mod seed;
mod stats;
mod table;
mod workloads;

use std::fmt;

use anyhow::Context;
use clap::{Parser, Subcommand};

use std::net::SocketAddr;

use workloads::{ab, compare, feed, membership, paging, scale};

/// Benchmarks of scimbox: the real server, in-process, over loopback.
#[derive(Debug, Parser)]
#[command(name = "scimbox-bench", version)]
struct Cli {
    /// Print the results as JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    workload: Workload,
}

/// The workloads.
#[derive(Debug, Subcommand)]
enum Workload {
    /// The cost of adding and removing one member of a group, for several group sizes.
    Membership(membership::Args),
    /// Every user read page by page by startIndex and by cursor, and one page deep in the list.
    Paging(paging::Args),
    /// The change feed's and a webhook's lag behind paced writes, and the create rate with
    /// events (issue 14).
    Feed(feed::Args),
    /// scimbox beside the limit (bare axum, raw SQLite) and a peer (scim2-server) on issue 7's
    /// workloads, at 100,000 users: one table of figures and ratios from one run.
    Compare(compare::Args),
    /// How the costs grow with the number of users: one column per size (issue 17).
    Scale(scale::Args),
    /// Two scimbox binaries alternating on one workload, run after run on fresh databases: each
    /// run, each binary's medians and B over A (an older commit's binary works as A).
    Ab(ab::Args),
    /// The limit's HTTP server: a bare axum handler with a fixed JSON body, and the floors under
    /// the read targets (started by `compare`).
    #[command(hide = true)]
    BareAxum {
        /// The address to listen on.
        #[arg(long)]
        listen: SocketAddr,
        #[command(flatten)]
        floors: limit::Floors,
    },
}

fn main() -> Result<(), Failure> {
    run(Cli::parse()).map_err(Failure)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    match cli.workload {
        Workload::Membership(args) => {
            let report = runtime.block_on(membership::run(&args)).context("the membership benchmark failed")?;
            workloads::print(&report, cli.json)
        }
        Workload::Paging(args) => {
            let report = runtime.block_on(paging::run(&args)).context("the paging benchmark failed")?;
            workloads::print(&report, cli.json)
        }
        Workload::Feed(args) => {
            let report = runtime.block_on(feed::run(&args)).context("the feed benchmark failed")?;
            workloads::print(&report, cli.json)
        }
        Workload::Compare(args) => {
            let report = runtime.block_on(compare::run(&args)).context("the comparison failed")?;
            workloads::print(&report, cli.json)
        }
        Workload::Scale(args) => {
            let report = runtime.block_on(scale::run(&args)).context("the scale benchmark failed")?;
            workloads::print(&report, cli.json)
        }
        Workload::Ab(args) => {
            let report = runtime.block_on(ab::run(&args)).context("the A/B comparison failed")?;
            workloads::print(&report, cli.json)
        }
        Workload::BareAxum { listen, floors } => {
            drop(runtime);
            limit::serve_bare_axum(listen, &floors)
        }
    }
}

/// An error as `main` reports it (`Error: ...` on stderr, exit code 1): the chain of causes on
/// one line, without the backtrace `anyhow` would add when `RUST_BACKTRACE` is set.
struct Failure(anyhow::Error);

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}
