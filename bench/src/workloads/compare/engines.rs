//! The table of `compare --db-url` (issue 18): scimbox on SQLite beside scimbox on PostgreSQL
//! with one or more instances, workload by workload: rate, latency, CPU per request (scimbox's
//! processes, then PostgreSQL's), statements and commits per request, the writers' advisory
//! lock, memory and start-up.

use super::Figures;
use super::report::CompareReport;
use crate::load::Throughput;
use crate::postgres::DbCost;
use crate::table::{Table, thousands};

/// One workload's rows: its title, its unit's name, and where its figures are.
struct Workload {
    title: String,
    unit: &'static str,
    of: fn(&Figures) -> &Throughput,
    /// Whether it writes (then the commits and the advisory lock are shown).
    writes: bool,
}

/// The table, with a header naming the cluster's settings.
pub fn render(report: &CompareReport) -> String {
    let (many, few) = (report.clients, report.few_clients);
    let mut columns: Vec<(String, &Figures)> = vec![("SQLite".to_owned(), &report.scimbox)];
    for run in &report.postgres {
        columns.push((format!("PG x{}", run.instances), &run.figures));
    }
    let settings: Vec<String> = report.postgres_settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut out = format!(
        "scimbox on SQLite and on PostgreSQL (PG xN: N instances on one database, connections spread round robin): \
         {} users; memory and scimbox CPU summed over the instances; PostgreSQL CPU is every process of the cluster\n",
        thousands(report.scimbox.users)
    );
    out.push_str(&format!("PostgreSQL: {}\n\n", settings.join(" ")));

    let mut head = vec![String::new()];
    head.extend(columns.iter().map(|(name, _)| name.clone()));
    let mut table = Table::new(head);
    let workloads = [
        Workload { title: format!("POST /Users [{many} clients]"), unit: "create", of: |f| &f.create, writes: true },
        Workload { title: format!("GET /Users/{{id}} [{many}]"), unit: "request", of: |f| &f.get_by_id, writes: false },
        Workload {
            title: format!("filter userName eq [{many}]"),
            unit: "request",
            of: |f| &f.filter_indexed,
            writes: false,
        },
        Workload {
            title: format!("filter displayName eq [{few}]"),
            unit: "request",
            of: |f| &f.filter_display_eq,
            writes: false,
        },
        Workload {
            title: "Okta import, pages of 100 [1]".to_owned(),
            unit: "page",
            of: |f| &f.import.pages,
            writes: false,
        },
        Workload {
            title: format!("Entra cycle: lookup, POST, PATCH [{many}]"),
            unit: "user",
            of: |f| &f.entra,
            writes: true,
        },
        Workload {
            title: "membership add then remove, 1 group of every user [1]".to_owned(),
            unit: "pair",
            of: |f| &f.membership,
            writes: true,
        },
    ];
    for w in &workloads {
        table.section(&w.title);
        let cells = |f: &dyn Fn(&Throughput) -> String| columns.iter().map(|(_, c)| f((w.of)(c))).collect();
        let db = |f: &dyn Fn(&DbCost) -> Option<f64>, decimals: usize| {
            cells(&|t: &Throughput| {
                t.db.as_ref().and_then(f).map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
            })
        };
        table.row(format!("  {}s/s", w.unit), cells(&|t| format!("{:.0}", t.rate)));
        table.row("  p50 / p99 ms", cells(&|t| format!("{:.2} / {:.2}", t.latency.median_ms, t.latency.p99_ms)));
        table.row(
            format!("  CPU us a {}: scimbox", w.unit),
            cells(&|t| t.server_cpu_us.map_or_else(|| "-".to_owned(), |us| format!("{us:.1}"))),
        );
        table.row(format!("  CPU us a {}: PostgreSQL", w.unit), db(&|d| d.cpu_us, 1));
        table.row(format!("  statements a {}", w.unit), db(&|d| d.statements, 1));
        if w.writes {
            table.row(format!("  commits a {}", w.unit), db(&|d| d.commits, 3));
            table.row("  advisory lock, ms a batch", db(&|d| d.lock_ms, 3));
        }
    }
    table.row(
        "Okta import, s for all",
        columns
            .iter()
            .map(|(_, f)| format!("{:.2}{}", f.import.seconds, if f.import.complete { "" } else { "*" }))
            .collect(),
    );
    let mib = |kib: u64| format!("{:.1}", kib as f64 / 1024.0);
    table.section("memory and start (all instances)");
    table.row("  peak RSS idle (empty), MiB", columns.iter().map(|(_, f)| mib(f.idle.peak_kib)).collect());
    table.row("  peak RSS after every workload, MiB", columns.iter().map(|(_, f)| mib(f.loaded.peak_kib)).collect());
    table.row("  ready, empty database, ms", columns.iter().map(|(_, f)| format!("{:.1}", f.ready_empty_ms)).collect());
    table.row(
        "  ready, full database, ms",
        columns
            .iter()
            .map(|(_, f)| f.restart.as_ref().map_or_else(|| "-".to_owned(), |r| format!("{:.1}", r.ready_ms)))
            .collect(),
    );
    out.push_str(&table.render());
    if columns.iter().any(|(_, f)| !f.import.complete) {
        out.push_str("* projected: the import did not finish within --import-seconds\n");
    }
    out
}
