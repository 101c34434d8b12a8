//! The scale benchmark's results: what `--json` prints, and the table (one column per size).

use serde::Serialize;

use crate::load::Throughput;
use crate::process::TreeMemory;
use crate::stats::Latency;
use crate::table::{Table, thousands};
use crate::workloads::{Machine, Report};

/// The whole run.
#[derive(Debug, Serialize)]
pub struct ScaleReport {
    /// Always `"scale"`.
    pub workload: &'static str,
    /// Where it ran.
    pub machine: Machine,
    /// Connections for GET by id, the indexed filter and the creates.
    pub clients: usize,
    /// Connections for the scanning filter.
    pub few_clients: usize,
    /// Seconds each timed read workload ran.
    pub seconds: f64,
    /// Whether this was the smoke run (figures not worth reading).
    pub smoke: bool,
    /// One entry per size, smallest first.
    pub sizes: Vec<SizeFigures>,
}

/// The figures at one size.
#[derive(Debug, Serialize)]
pub struct SizeFigures {
    /// Users seeded.
    pub users: u64,
    /// Seeding them through the library, in seconds.
    pub seed_secs: f64,
    /// The database file after a checkpoint, in bytes (users, their indexes, a token, an admin).
    pub db_bytes: u64,
    /// `db_bytes` per user.
    pub bytes_per_user: f64,
    /// From spawn to the first answer of a GET by id on the full database, in ms.
    pub ready_ms: f64,
    /// Memory once ready.
    pub idle: TreeMemory,
    /// GET /Users/{id}.
    pub get_by_id: Throughput,
    /// `filter=userName eq "…"` (indexed).
    pub filter_user_name: Throughput,
    /// `filter=displayName eq "…"`.
    pub filter_display_name: Throughput,
    /// The last page by `startIndex`.
    pub deep_index: Throughput,
    /// The last page by cursor.
    pub deep_cursor: Throughput,
    /// Okta's import.
    pub import: Import,
    /// The status page's overview.
    pub overview: Latency,
    /// POST /Users.
    pub create: Throughput,
    /// Memory at the end (`peak_kib`: the most the server held during the whole run).
    pub end: TreeMemory,
}

/// Okta's import, pages of 100 by `startIndex`.
#[derive(Debug, Serialize)]
pub struct Import {
    /// Pages the whole import has.
    pub pages: u64,
    /// Whether every page was read (else a spread sample was, and `seconds` is projected).
    pub complete: bool,
    /// The whole import, in seconds: measured if complete, else projected.
    pub seconds: f64,
    /// The pages read.
    pub read: Throughput,
}

impl Report for ScaleReport {
    fn render(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "scimbox-bench scale: the release binary on databases of {} users{}\n\
             seeded through the library; GET by id, userName eq and creates at {} connections, displayName eq at \
             {}, {} s each; deep pages and Okta's import at 1; server CPU from /proc\n\
             machine: {} CPUs, {} {}\n\n",
            self.sizes.iter().map(|s| thousands(s.users)).collect::<Vec<_>>().join(" / "),
            if self.smoke { " (smoke run: no figures to read)" } else { "" },
            self.clients,
            self.few_clients,
            self.seconds,
            m.cpus,
            m.os,
            m.arch,
        );
        out.push_str(&self.table().render());
        out
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn rate(t: &Throughput) -> String {
    format!("{:.0}", t.rate)
}

fn cpu(t: &Throughput) -> String {
    t.server_cpu_us.map_or_else(|| "n/a".into(), |us| format!("{us:.0}"))
}

fn median(t: &Throughput) -> String {
    format!("{:.2}", t.latency.median_ms)
}

impl ScaleReport {
    fn table(&self) -> Table {
        let mut head = vec!["users".to_owned()];
        head.extend(self.sizes.iter().map(|s| thousands(s.users)));
        let mut t = Table::new(head);
        let row = |t: &mut Table, label: &str, f: &dyn Fn(&SizeFigures) -> String| {
            t.row(label, self.sizes.iter().map(f).collect());
        };
        t.section("storage and start");
        row(&mut t, "  seeding (library), s", &|s| format!("{:.1}", s.seed_secs));
        row(&mut t, "  database, MiB", &|s| mib(s.db_bytes / 1024));
        row(&mut t, "  database per user, bytes", &|s| format!("{:.0}", s.bytes_per_user));
        row(&mut t, "  ready on the full database, ms (target < 200)", &|s| format!("{:.1}", s.ready_ms));
        row(&mut t, "  RSS once ready, MiB", &|s| mib(s.idle.rss_kib));
        row(&mut t, "  peak RSS over the run, MiB (target < 64)", &|s| mib(s.end.peak_kib));
        t.section("reads");
        row(&mut t, "  GET by id, /s", &|s| rate(&s.get_by_id));
        row(&mut t, "    server CPU per request, µs", &|s| cpu(&s.get_by_id));
        row(&mut t, "  filter userName eq, /s", &|s| rate(&s.filter_user_name));
        row(&mut t, "    server CPU per request, µs", &|s| cpu(&s.filter_user_name));
        row(&mut t, "  filter displayName eq, /s", &|s| format!("{:.1}", s.filter_display_name.rate));
        row(&mut t, "    median ms", &|s| median(&s.filter_display_name));
        row(&mut t, "  last page by startIndex, median ms", &|s| median(&s.deep_index));
        row(&mut t, "  last page by cursor, median ms", &|s| median(&s.deep_cursor));
        row(&mut t, "  Okta import (pages of 100), s", &|s| {
            format!("{:.1}{}", s.import.seconds, if s.import.complete { "" } else { " (projected)" })
        });
        row(&mut t, "    pages read / pages", &|s| format!("{} / {}", s.import.read.units, s.import.pages));
        row(&mut t, "    median ms per page read", &|s| median(&s.import.read));
        row(&mut t, "  status page overview, median ms", &|s| format!("{:.2}", s.overview.median_ms));
        t.section("writes");
        row(&mut t, "  creates, /s", &|s| rate(&s.create));
        row(&mut t, "    server CPU per create, µs", &|s| cpu(&s.create));
        t
    }
}
