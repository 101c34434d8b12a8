//! The comparison's results: what `--json` prints, and the table with the ratios and targets.

use serde::Serialize;

use super::{Figures, Limit};
use crate::floor::READERS;
use crate::limit::SQLITE_BATCH;
use crate::load::Throughput;
use crate::table::{Table, thousands};
use crate::workloads::{Machine, Report};

/// How many times faster than the peer scimbox must be on every workload (issue 7).
const PEER_FACTOR: f64 = 20.0;

/// The whole run.
#[derive(Debug, Serialize)]
pub struct CompareReport {
    /// Always `"compare"`.
    pub workload: &'static str,
    /// Where it ran.
    pub machine: Machine,
    /// The directory the databases were in (its disk decides what an fsync costs).
    pub db_dir: String,
    /// Connections for the creates, reads by id and indexed filters.
    pub clients: usize,
    /// Connections for the scanning filters and Entra ID's second cycle.
    pub few_clients: usize,
    /// Seconds each timed workload ran.
    pub seconds: f64,
    /// The limit.
    pub limit: Limit,
    /// scimbox.
    pub scimbox: Figures,
    /// The peer, if it ran.
    pub peer: Option<Figures>,
    /// The PostgreSQL cluster's settings (`--db-url`), as `(name, value)`.
    pub postgres_settings: Vec<(String, String)>,
    /// scimbox on PostgreSQL, one run per `--instances` count.
    pub postgres: Vec<PostgresRun>,
}

/// scimbox on PostgreSQL with some number of instances.
#[derive(Debug, Serialize)]
pub struct PostgresRun {
    /// `scimbox serve` processes on the one database.
    pub instances: usize,
    /// The database's name (dropped after the run).
    pub database: String,
    /// Their figures: memory and scimbox's CPU summed over the instances; the database's cost
    /// in each workload's `db`.
    pub figures: Figures,
}

/// Which way a figure is better.
#[derive(Clone, Copy, PartialEq)]
enum Better {
    Higher,
    Lower,
}

/// One line of the table.
struct Line {
    label: String,
    better: Better,
    limit: Option<f64>,
    scimbox: f64,
    peer: Option<f64>,
    /// The absolute target, if any, as (text, whether scimbox meets it).
    target: Option<(String, bool)>,
    /// Whether the peer ratio is a target for this line.
    versus_peer: bool,
    /// The least fraction of the limit scimbox must reach, if that is a target.
    of_limit: Option<f64>,
    /// Said after the targets: what a floor line's limit is worth against the target's own limit.
    note: Option<String>,
    decimals: usize,
}

impl Line {
    fn new(label: impl Into<String>, better: Better, scimbox: f64, peer: Option<f64>, decimals: usize) -> Self {
        Self {
            label: label.into(),
            better,
            limit: None,
            scimbox,
            peer,
            target: None,
            versus_peer: true,
            of_limit: None,
            note: None,
            decimals,
        }
    }

    /// scimbox against `other`, as "times better".
    fn times_better(&self, other: f64) -> f64 {
        match self.better {
            Better::Higher => self.scimbox / other,
            Better::Lower => other / self.scimbox,
        }
    }

    /// The target column: every target that applies, each with "ok" or "MISSED".
    fn verdicts(&self) -> String {
        let mut parts = Vec::new();
        if let Some((text, met)) = &self.target {
            parts.push(format!("{text} {}", mark(*met)));
        }
        if let (Some(fraction), Some(limit)) = (self.of_limit, self.limit) {
            parts.push(format!(">= {fraction}x limit {}", mark(self.times_better(limit) >= fraction)));
        }
        if self.versus_peer
            && let Some(peer) = self.peer
        {
            parts.push(format!(">= {PEER_FACTOR}x peer {}", mark(self.times_better(peer) >= PEER_FACTOR)));
        }
        parts.extend(self.note.clone());
        parts.join(", ")
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn mark(met: bool) -> &'static str {
    if met { "ok" } else { "MISSED" }
}

impl CompareReport {
    fn lines(&self) -> Vec<Line> {
        let (s, p) = (&self.scimbox, self.peer.as_ref());
        let peer = |f: fn(&Figures) -> f64| p.map(f);
        let mut lines = Vec::new();

        let mut get =
            Line::new("GET /Users/{id}, req/s", Better::Higher, s.get_by_id.rate, peer(|f| f.get_by_id.rate), 0);
        get.limit = Some(self.limit.bare_axum.rate);
        get.of_limit = Some(0.5);
        lines.push(get);
        lines.push(self.read_floor());
        let mut by_name = Line::new(
            "filter userName eq (indexed), req/s",
            Better::Higher,
            s.filter_indexed.rate,
            peer(|f| f.filter_indexed.rate),
            0,
        );
        by_name.limit = Some(self.limit.bare_axum.rate);
        lines.push(by_name);
        lines.push(Line::new(
            format!("filter displayName eq (attribute index), req/s [{} clients]", self.few_clients),
            Better::Higher,
            s.filter_display_eq.rate,
            peer(|f| f.filter_display_eq.rate),
            1,
        ));
        lines.push(Line::new(
            format!("filter displayName sw (attribute index range), req/s [{} clients]", self.few_clients),
            Better::Higher,
            s.filter_scan.rate,
            peer(|f| f.filter_scan.rate),
            1,
        ));
        let mut create = Line::new("POST /Users, created/s", Better::Higher, s.create.rate, peer(|f| f.create.rate), 0);
        create.limit = Some(self.limit.sqlite.insert_batched);
        create.target = Some((">= 5000/s".into(), s.create.rate >= 5000.0));
        lines.push(create);
        let mut import = Line::new(
            "Okta import, count=100, s for all",
            Better::Lower,
            s.import.seconds,
            peer(|f| f.import.seconds),
            2,
        );
        import.target = Some(("< 5 s".into(), s.import.seconds < 5.0));
        // The limit: as many bare GETs as the import has pages, one after another (the import's
        // seconds are for every page, measured or projected).
        let bare = self.limit.bare_sequential.seconds;
        import.limit = Some(bare);
        lines.push(import);
        let times = s.import.seconds / bare;
        let mut ratio = Line::new("Okta import / as many sequential bare GETs, x", Better::Lower, times, None, 2);
        ratio.target = Some(("<= 3x".into(), times <= 3.0));
        lines.push(ratio);
        lines.extend(self.page_floor());
        lines.push(Line::new(
            "Entra cycle (lookup, POST, PATCH), users/s",
            Better::Higher,
            s.entra.rate,
            peer(|f| f.entra.rate),
            0,
        ));
        lines.push(Line::new(
            format!("Entra cycle, users/s [{} clients]", self.few_clients),
            Better::Higher,
            s.entra_few.rate,
            peer(|f| f.entra_few.rate),
            0,
        ));
        let mut change = Line::new(
            "membership add or remove, median ms",
            Better::Lower,
            s.membership.latency.median_ms,
            peer(|f| f.membership.latency.median_ms),
            3,
        );
        change.target = Some(("< 5 ms".into(), s.membership.latency.median_ms < 5.0));
        lines.push(change);

        // Server CPU per request: what each answer costs the server, whatever else the machine
        // was doing (time other work took from it is not counted).
        fn cpu(t: &Throughput) -> f64 {
            t.server_cpu_us.unwrap_or(f64::NAN)
        }
        let mut get_cpu =
            Line::new("server CPU per GET by id, us", Better::Lower, cpu(&s.get_by_id), peer(|f| cpu(&f.get_by_id)), 1);
        get_cpu.limit = self.limit.bare_axum.server_cpu_us;
        get_cpu.versus_peer = false;
        lines.push(get_cpu);
        let floor_cpu = self.limit.axum_sqlite_read.server_cpu_us;
        let mut read_cpu = Line::new(
            "server CPU per GET by id vs axum + one SQLite read, us",
            Better::Lower,
            cpu(&s.get_by_id),
            None,
            1,
        );
        read_cpu.limit = floor_cpu;
        lines.push(read_cpu);
        let mut post_cpu =
            Line::new("server CPU per POST, us", Better::Lower, cpu(&s.create), peer(|f| cpu(&f.create)), 1);
        post_cpu.versus_peer = false;
        lines.push(post_cpu);

        let mut idle = Line::new(
            "peak RSS idle (empty), MiB",
            Better::Lower,
            mib(s.idle.peak_kib),
            peer(|f| mib(f.idle.peak_kib)),
            1,
        );
        idle.versus_peer = false;
        lines.push(idle);
        let mut loaded = Line::new(
            "peak RSS after every workload, MiB",
            Better::Lower,
            mib(s.loaded.peak_kib),
            peer(|f| mib(f.loaded.peak_kib)),
            1,
        );
        loaded.target = Some(("< 64 MiB".into(), mib(s.loaded.peak_kib) < 64.0));
        loaded.versus_peer = false;
        lines.push(loaded);
        let mut ready =
            Line::new("ready, empty database, ms", Better::Lower, s.ready_empty_ms, peer(|f| f.ready_empty_ms), 1);
        ready.versus_peer = false;
        lines.push(ready);
        if let Some(restart) = &s.restart {
            let mut full = Line::new("ready, full database, ms", Better::Lower, restart.ready_ms, None, 1);
            full.target = Some(("< 200 ms".into(), restart.ready_ms < 200.0));
            lines.push(full);
        }
        if let Some(bytes) = s.size_bytes {
            let mb = |b: u64| b as f64 / 1_048_576.0;
            let mut size = Line::new(
                "binary (peer: installed packages), MiB",
                Better::Lower,
                mb(bytes),
                p.and_then(|f| f.size_bytes).map(mb),
                1,
            );
            size.versus_peer = false;
            lines.push(size);
        }
        lines
    }
}

impl CompareReport {
    /// scimbox's GET by id against the axum + one SQLite read floor; the note says how far the
    /// floor itself is from bare axum (GET by id's target is >= 0.5x of that).
    fn read_floor(&self) -> Line {
        let floor = &self.limit.axum_sqlite_read;
        let mut line = Line::new(
            "GET /Users/{id} vs axum + one SQLite read, req/s",
            Better::Higher,
            self.scimbox.get_by_id.rate,
            None,
            0,
        );
        line.limit = Some(floor.rate);
        line.versus_peer = false;
        line.note = Some(format!("floor = {:.2}x bare axum", ratio(floor.rate, self.limit.bare_axum.rate)));
        line
    }

    /// Okta's import against as many bare pages of 100 read by its client: the pages' time, then
    /// the import's multiple of it; the note says how far the pages themselves are from as many
    /// bare GETs (the import's target is <= 3x of those).
    fn page_floor(&self) -> [Line; 2] {
        let (import, pages) = (self.scimbox.import.seconds, self.limit.bare_page.seconds);
        let kb = self.limit.bare_page_bytes as f64 / 1000.0;
        let mut time = Line::new(
            format!("Okta import vs as many bare pages of 100 ({kb:.0} KB), s for all"),
            Better::Lower,
            import,
            None,
            2,
        );
        time.limit = Some(pages);
        time.versus_peer = false;
        let mut times =
            Line::new("Okta import / as many bare pages of 100, x", Better::Lower, ratio(import, pages), None, 2);
        times.versus_peer = false;
        times.note =
            Some(format!("pages = {:.2}x as many bare GETs", ratio(pages, self.limit.bare_sequential.seconds)));
        [time, times]
    }
}

/// `a` over `b`: how many times `b` fits in `a` (NaN when `b` is not positive).
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

impl Report for CompareReport {
    fn render(&self) -> String {
        let mut out = String::new();
        let peer_size = match &self.peer {
            Some(p) if p.users != self.scimbox.users => format!(" (peer at {} users)", thousands(p.users)),
            _ => String::new(),
        };
        out.push_str(&format!(
            "scimbox-bench compare: {} users{peer_size}; {} clients unless said; {} s per timed workload\n",
            thousands(self.scimbox.users),
            self.clients,
            self.seconds
        ));
        out.push_str(&format!(
            "limit: bare axum fixed JSON at {} clients; raw SQLite (WAL, synchronous=FULL) {SQLITE_BATCH} inserts per commit\n",
            self.clients
        ));
        out.push_str(&format!(
            "floors: bare axum + one SQLite read of a stored user ({} users, {READERS} readers) at {} clients; \
             bare axum's fixed page of 100 users ({} bytes) read like the import\n",
            thousands(self.scimbox.users),
            self.clients,
            thousands(self.limit.bare_page_bytes),
        ));
        out.push_str(&format!(
            "machine: {} CPUs, {} {}; databases in {}\n\n",
            self.machine.cpus, self.machine.os, self.machine.arch, self.db_dir
        ));
        let head = ["", "limit", "scimbox", "peer", "scimbox/limit", "scimbox vs peer", "targets"];
        let mut table = Table::new(head.iter().map(|h| (*h).to_owned()).collect());
        for line in self.lines() {
            let fmt = |v: f64| format!("{v:.*}", line.decimals);
            let ratio = |other: Option<f64>| other.map(|o| format!("{:.2}x", line.times_better(o))).unwrap_or_default();
            table.row(
                line.label.clone(),
                vec![
                    line.limit.map(fmt).unwrap_or_default(),
                    fmt(line.scimbox),
                    line.peer.map(fmt).unwrap_or_else(|| "-".into()),
                    ratio(line.limit),
                    ratio(line.peer),
                    line.verdicts(),
                ],
            );
        }
        out.push_str(&table.render());
        out.push_str(&self.details());
        if !self.postgres.is_empty() {
            out.push('\n');
            out.push_str(&super::engines::render(self));
        }
        out
    }
}

impl CompareReport {
    /// What the summary leaves out: the SQLite rates, latencies and group sizes.
    fn details(&self) -> String {
        let sq = &self.limit.sqlite;
        let mut out = format!(
            "\nraw SQLite: {:.0} inserts/s one per commit, {:.0}/s {SQLITE_BATCH} per commit, {:.0} indexed lookups/s ({} rows)\n",
            sq.insert_each,
            sq.insert_batched,
            sq.lookup,
            thousands(sq.rows)
        );
        if let Some(pg) = &self.limit.postgres {
            out.push_str(&format!(
                "raw PostgreSQL: {:.0} inserts/s one per commit, {:.0}/s {SQLITE_BATCH} per commit one after another, {:.0}/s {SQLITE_BATCH} per commit pipelined\n",
                pg.insert_each, pg.insert_batched, pg.insert_pipelined
            ));
        }
        for (name, f) in std::iter::once(("scimbox", &self.scimbox)).chain(self.peer.iter().map(|p| ("peer", p))) {
            out.push_str(&format!(
                "{name}: p99 ms: GET {:.2}, userName {:.2}, displayName eq {:.2}, sw {:.2}, POST {:.2}, page {:.2}, Entra {:.2} ({:.2}), membership {:.2}; \
                 import {} of {} pages{}; group of {} members filled in {:.1} s\n",
                f.get_by_id.latency.p99_ms,
                f.filter_indexed.latency.p99_ms,
                f.filter_display_eq.latency.p99_ms,
                f.filter_scan.latency.p99_ms,
                f.create.latency.p99_ms,
                f.import.pages.latency.p99_ms,
                f.entra.latency.p99_ms,
                f.entra_few.latency.p99_ms,
                f.membership.latency.p99_ms,
                f.import.pages.units,
                f.users.div_ceil(100),
                if f.import.complete { "" } else { " (time projected)" },
                thousands(f.group_members),
                f.group_fill.seconds,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::limit::SqliteRates;
    use crate::process::TreeMemory;
    use crate::stats::Latency;
    use crate::workloads::compare::Import;

    fn run(rate: f64, seconds: f64, cpu_us: f64) -> Throughput {
        Throughput {
            connections: 1,
            units: (rate * seconds) as u64,
            requests: (rate * seconds) as u64,
            seconds,
            rate,
            latency: Latency::of(&[Duration::from_millis(1)]).unwrap(),
            server_cpu_us: Some(cpu_us),
            db: None,
        }
    }

    fn figures(get: Throughput, import_seconds: f64) -> Figures {
        let any = run(100.0, 1.0, 10.0);
        Figures {
            users: 20_000,
            ready_empty_ms: 5.0,
            idle: TreeMemory::default(),
            create: any,
            get_by_id: get,
            filter_indexed: any,
            filter_display_eq: any,
            filter_scan: any,
            import: Import {
                pages: run(200.0 / import_seconds, import_seconds, 100.0),
                complete: true,
                seconds: import_seconds,
            },
            entra: any,
            entra_few: any,
            group_members: 20_000,
            group_fill: any,
            membership: any,
            loaded: TreeMemory::default(),
            restart: None,
            size_bytes: None,
        }
    }

    /// bare axum 10,000/s, axum + one read 5,000/s, scimbox 3,000/s; 200 bare GETs in 1 s, 200
    /// bare pages in 6 s, the import in 24 s.
    fn report() -> CompareReport {
        let limit = Limit {
            bare_axum: run(10_000.0, 1.0, 20.0),
            bare_sequential: run(200.0, 1.0, 20.0),
            axum_sqlite_read: run(5_000.0, 1.0, 50.0),
            bare_page: run(200.0 / 6.0, 6.0, 300.0),
            bare_page_bytes: 61_234,
            sqlite: SqliteRates { insert_each: 1.0, insert_batched: 1.0, rows: 1, lookup: 1.0 },
            postgres: None,
        };
        CompareReport {
            workload: "compare",
            machine: Machine::this(),
            db_dir: "/tmp".into(),
            clients: 32,
            few_clients: 2,
            seconds: 1.0,
            limit,
            scimbox: figures(run(3_000.0, 1.0, 100.0), 24.0),
            peer: None,
            postgres_settings: Vec::new(),
            postgres: Vec::new(),
        }
    }

    fn line(lines: &[Line], label: &str) -> (Option<f64>, f64, Option<f64>, String) {
        let l = lines.iter().find(|l| l.label.starts_with(label)).unwrap_or_else(|| panic!("no line {label}"));
        (l.limit, l.scimbox, l.limit.map(|o| l.times_better(o)), l.verdicts())
    }

    #[test]
    fn the_floor_lines_give_scimbox_s_ratio_to_each_floor() {
        let lines = report().lines();
        let (limit, scimbox, times, verdicts) = line(&lines, "GET /Users/{id} vs axum + one SQLite read");
        assert_eq!((limit, scimbox, times), (Some(5_000.0), 3_000.0, Some(0.6)));
        assert_eq!(verdicts, "floor = 0.50x bare axum");
        let (limit, scimbox, times, _) = line(&lines, "server CPU per GET by id vs axum + one SQLite read");
        assert_eq!((limit, scimbox, times), (Some(50.0), 100.0, Some(0.5)));
        let (limit, scimbox, times, _) = line(&lines, "Okta import vs as many bare pages of 100 (61 KB)");
        assert_eq!((limit, scimbox, times), (Some(6.0), 24.0, Some(0.25)));
        let (limit, scimbox, _, verdicts) = line(&lines, "Okta import / as many bare pages of 100, x");
        assert_eq!((limit, scimbox), (None, 4.0));
        assert_eq!(verdicts, "pages = 6.00x as many bare GETs");
    }

    #[test]
    fn the_floors_are_in_the_table_and_the_json() {
        let report = report();
        let text = report.render();
        assert!(text.contains("floors: bare axum + one SQLite read of a stored user (20,000 users, 4 readers)"));
        assert!(text.contains("(61,234 bytes)"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["limit"]["axum_sqlite_read"]["rate"], 5_000.0);
        assert_eq!(json["limit"]["bare_page"]["seconds"], 6.0);
        assert_eq!(json["limit"]["bare_page_bytes"], 61_234);
    }

    #[test]
    fn a_ratio_to_nothing_is_not_a_number() {
        assert_eq!(ratio(6.0, 2.0), 3.0);
        assert!(ratio(1.0, 0.0).is_nan());
    }
}
