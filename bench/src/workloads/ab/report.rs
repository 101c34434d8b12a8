//! `ab`'s results: every run, then each binary's medians and B's over A's.

use serde::Serialize;

use super::{Args, Run, Side, Workload};
use crate::launch::Binary;
use crate::load::Throughput;
use crate::table::{Table, thousands};
use crate::workloads::{Machine, Report};

/// The whole comparison.
#[derive(Debug, Serialize)]
pub struct AbReport {
    /// Always `"ab"`.
    pub workload: &'static str,
    /// What each run measured.
    pub measured: Workload,
    /// Where it ran.
    pub machine: Machine,
    /// Binary A: its path and `--version`.
    pub a: Named,
    /// Binary B.
    pub b: Named,
    /// Users created before each run's timed part.
    pub users: usize,
    /// Connections.
    pub clients: usize,
    /// Seconds of each timed part.
    pub seconds: f64,
    /// Every run, in the order run.
    pub runs: Vec<Run>,
    /// A's medians over its runs.
    pub median_a: Medians,
    /// B's.
    pub median_b: Medians,
    /// B's median rate over A's (below 1: B is slower).
    pub rate_ratio: f64,
    /// B's median CPU per request over A's (above 1: B costs more), if both were measured.
    pub cpu_ratio: Option<f64>,
}

/// A binary as the report names it.
#[derive(Debug, Serialize)]
pub struct Named {
    /// The path given.
    pub path: String,
    /// What it printed for `--version`.
    pub version: String,
}

/// Medians of one binary's runs (each figure's own median, so they may come from different runs).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Medians {
    /// Runs.
    pub runs: usize,
    /// Requests per second.
    pub rate: f64,
    /// Server CPU per request, in µs.
    pub cpu_us: Option<f64>,
    /// The runs' median latency, in ms.
    pub latency_ms: f64,
    /// The runs' p99 latency, in ms.
    pub p99_ms: f64,
}

impl AbReport {
    pub(super) fn new(args: &Args, a: &Binary, b: &Binary, runs: Vec<Run>) -> Self {
        let median_a = medians(&runs, Side::A);
        let median_b = medians(&runs, Side::B);
        let cpu_ratio = match (median_a.cpu_us, median_b.cpu_us) {
            (Some(a), Some(b)) if a > 0.0 => Some(b / a),
            _ => None,
        };
        let named = |bin: &Binary| Named { path: bin.path.display().to_string(), version: bin.version.clone() };
        Self {
            workload: "ab",
            measured: args.workload,
            machine: Machine::this(),
            a: named(a),
            b: named(b),
            users: args.users,
            clients: args.clients,
            seconds: args.seconds,
            rate_ratio: if median_a.rate > 0.0 { median_b.rate / median_a.rate } else { f64::NAN },
            median_a,
            median_b,
            cpu_ratio,
            runs,
        }
    }
}

fn medians(runs: &[Run], side: Side) -> Medians {
    let mine: Vec<&Throughput> = runs.iter().filter(|r| r.side == side).map(|r| &r.timed).collect();
    let of = |f: &dyn Fn(&Throughput) -> Option<f64>| median(mine.iter().filter_map(|t| f(t)).collect());
    Medians {
        runs: mine.len(),
        rate: of(&|t| Some(t.rate)).unwrap_or(0.0),
        cpu_us: of(&|t| t.server_cpu_us),
        latency_ms: of(&|t| Some(t.latency.median_ms)).unwrap_or(0.0),
        p99_ms: of(&|t| Some(t.latency.p99_ms)).unwrap_or(0.0),
    }
}

/// The median (the mean of the middle two for an even count), `None` for no values.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

/// One run on one line, as printed while the rounds go.
pub(super) fn run_line(run: &Run) -> String {
    let t = &run.timed;
    format!(
        "round {} {:?}: {:.0}/s, {} µs CPU each, median {:.2} ms, p99 {:.2} ms ({} in {:.1} s; seeding {:.0}/s)",
        run.round,
        run.side,
        t.rate,
        t.server_cpu_us.map_or_else(|| "n/a".to_owned(), |us| format!("{us:.1}")),
        t.latency.median_ms,
        t.latency.p99_ms,
        thousands(t.units),
        t.seconds,
        run.seed.rate,
    )
}

fn cpu(us: Option<f64>) -> String {
    us.map_or_else(|| "n/a".to_owned(), |us| format!("{us:.1}"))
}

fn ratio(r: Option<f64>) -> String {
    r.filter(|r| r.is_finite()).map_or_else(|| "n/a".to_owned(), |r| format!("{r:.3}"))
}

impl Report for AbReport {
    fn render(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "scimbox-bench ab: {}, {} round(s) of A and B alternating (A first in odd rounds), each on a fresh \
             database\n\
             per run: {} users created first, then {} s timed at {} connections; server CPU from /proc\n\
             A: {} ({})\nB: {} ({})\nmachine: {} CPUs, {} {}\n\n",
            self.measured.describe(),
            self.runs.len() / 2,
            thousands(self.users as u64),
            self.seconds,
            self.clients,
            self.a.path,
            self.a.version,
            self.b.path,
            self.b.version,
            m.cpus,
            m.os,
            m.arch,
        );
        let mut t = Table::new(vec![
            String::new(),
            "creates/s".into(),
            "CPU µs each".into(),
            "median ms".into(),
            "p99 ms".into(),
        ]);
        t.section("runs, in order");
        for run in &self.runs {
            let x = &run.timed;
            t.row(
                format!("  round {} {:?}", run.round, run.side),
                vec![
                    format!("{:.0}", x.rate),
                    cpu(x.server_cpu_us),
                    format!("{:.2}", x.latency.median_ms),
                    format!("{:.2}", x.latency.p99_ms),
                ],
            );
        }
        t.section("medians");
        for (label, md) in [("A", &self.median_a), ("B", &self.median_b)] {
            t.row(
                format!("  {label} ({} runs)", md.runs),
                vec![
                    format!("{:.0}", md.rate),
                    cpu(md.cpu_us),
                    format!("{:.2}", md.latency_ms),
                    format!("{:.2}", md.p99_ms),
                ],
            );
        }
        t.row("  B / A", vec![ratio(Some(self.rate_ratio)), ratio(self.cpu_ratio)]);
        out.push_str(&t.render());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
