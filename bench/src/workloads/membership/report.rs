//! The membership benchmark's results: what `--json` prints, and the table.

use serde::Serialize;

use super::Op;
use crate::stats::{Latency, PhaseMemory};
use crate::table::{Table, thousands};
use crate::workloads::{Machine, Report};

/// The whole run.
#[derive(Debug, Serialize)]
pub struct MembershipReport {
    /// Always `"membership"`.
    pub workload: &'static str,
    /// Where it ran.
    pub machine: Machine,
    /// Timed cycles per size.
    pub cycles: usize,
    /// Untimed cycles per size.
    pub warmup: usize,
    /// Inserts per seeding transaction.
    pub seed_batch: usize,
    /// The query string every PATCH carried, if any.
    pub patch_query: Option<String>,
    /// The directory the database files were in (its disk decides what an fsync costs).
    pub db_dir: String,
    /// Whether peak memory could be reset between phases (else peaks are since start).
    pub peak_reset: bool,
    /// One entry per group size, in the order asked.
    pub sizes: Vec<SizeReport>,
}

/// The figures for one group size.
#[derive(Debug, Serialize)]
pub struct SizeReport {
    /// Members of the group.
    pub members: usize,
    /// Seeding through the library, in seconds.
    pub seed_secs: f64,
    /// Memory while seeding.
    pub seed_memory: Option<PhaseMemory>,
    /// The timed requests, by kind.
    pub ops: Vec<OpReport>,
    /// Memory during the warm-up and timed PATCHes.
    pub patch_memory: Option<PhaseMemory>,
    /// Memory during the timed member lookups.
    pub lookup_memory: Option<PhaseMemory>,
}

impl SizeReport {
    /// The figures of `op`, if it was timed.
    fn op(&self, op: Op) -> Option<&OpReport> {
        self.ops.iter().find(|o| o.op == op)
    }
}

/// The figures for one kind of request.
#[derive(Debug, Serialize)]
pub struct OpReport {
    /// Which.
    pub op: Op,
    /// Its latency.
    pub latency: Latency,
    /// The largest response body seen, in bytes.
    pub max_body_bytes: usize,
}

impl Report for MembershipReport {
    fn render(&self) -> String {
        let mut out = self.header();
        out.push('\n');
        out.push_str(&self.table().render());
        out
    }
}

impl MembershipReport {
    fn header(&self) -> String {
        let m = &self.machine;
        let query = self.patch_query.as_deref().map(|q| format!(", every PATCH with ?{q}")).unwrap_or_default();
        let lines = [
            format!("scimbox-bench membership: one member added to and removed from a group of N members{query}"),
            format!(
                "in-process server on 127.0.0.1, one keep-alive HTTP/1.1 client, every 200 fsynced \
                 (synchronous=FULL) to a database in {}",
                self.db_dir
            ),
            format!(
                "{} timed cycles per size after {} warm-up; a cycle is add, remove (Okta), add, remove (Entra ID)",
                self.cycles, self.warmup
            ),
            format!("machine: {} CPUs, {} {}", m.cpus, m.os, m.arch),
        ];
        lines.map(|l| l + "\n").concat()
    }

    fn table(&self) -> Table {
        let mut head = vec![String::new()];
        head.extend(self.sizes.iter().map(|s| format!("{} members", thousands(s.members as u64))));
        if let Some((smallest, largest)) = self.extremes() {
            head.push(format!("{}/{}", thousands(largest.members as u64), thousands(smallest.members as u64)));
        }
        let mut t = Table::new(head);
        t.section(format!("seeding through the library ({} inserts per transaction)", self.seed_batch));
        t.row("  time, s", self.figures(|s| Some(s.seed_secs), 2, false));
        t.row("  peak RSS, MiB", self.figures(|s| s.seed_memory.map(|m| mib(m.peak_kib)), 1, false));
        t.row("  RSS growth, MiB", self.figures(|s| s.seed_memory.map(|m| mib(m.growth_kib())), 1, false));
        let timed = self.sizes.first().map(|s| &s.ops[..]).unwrap_or_default();
        for o in timed {
            self.op_rows(&mut t, o.op, o.latency.samples);
        }
        t.section("memory of the whole process (server and client), by phase");
        t.row("  PATCHes: RSS at start, MiB", self.figures(|s| s.patch_memory.map(|m| mib(m.start_kib)), 1, false));
        t.row("  PATCHes: peak RSS, MiB", self.figures(|s| s.patch_memory.map(|m| mib(m.peak_kib)), 1, false));
        t.row("  PATCHes: RSS growth, MiB", self.figures(|s| s.patch_memory.map(|m| mib(m.growth_kib())), 1, false));
        t.row("  lookups: RSS growth, MiB", self.figures(|s| s.lookup_memory.map(|m| mib(m.growth_kib())), 1, false));
        t
    }

    fn op_rows(&self, t: &mut Table, op: Op, samples: usize) {
        t.section(format!("{} ({samples} timed)", op.label()));
        let latency = |pick: fn(&Latency) -> f64| move |s: &SizeReport| s.op(op).map(|o| pick(&o.latency));
        t.row("  median, ms", self.figures(latency(|l| l.median_ms), 3, true));
        t.row("  p90, ms", self.figures(latency(|l| l.p90_ms), 3, false));
        t.row("  p99, ms", self.figures(latency(|l| l.p99_ms), 3, false));
        t.row("  max, ms", self.figures(latency(|l| l.max_ms), 3, false));
        t.row("  response body, bytes (max)", self.figures(|s| s.op(op).map(|o| o.max_body_bytes as f64), 0, false));
    }

    /// The smallest and the largest group, when there are several sizes.
    fn extremes(&self) -> Option<(&SizeReport, &SizeReport)> {
        let smallest = self.sizes.iter().min_by_key(|s| s.members)?;
        let largest = self.sizes.iter().max_by_key(|s| s.members)?;
        (smallest.members != largest.members).then_some((smallest, largest))
    }

    /// One cell per size (`decimals` after the point), then, if `with_ratio`, largest / smallest.
    fn figures(&self, f: impl Fn(&SizeReport) -> Option<f64>, decimals: usize, with_ratio: bool) -> Vec<String> {
        let mut cells: Vec<String> =
            self.sizes.iter().map(|s| f(s).map_or_else(|| "n/a".into(), |v| format!("{v:.decimals$}"))).collect();
        if with_ratio && let Some((smallest, largest)) = self.extremes() {
            let r = f(largest).zip(f(smallest)).filter(|(_, a)| *a > 0.0).map(|(b, a)| b / a);
            cells.push(r.map_or_else(|| "n/a".into(), |r| format!("{r:.2}x")));
        }
        cells
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
