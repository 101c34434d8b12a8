//! The paging benchmark's results: what `--json` prints, and the table.

use serde::Serialize;

use crate::stats::Latency;
use crate::table::{Table, thousands};
use crate::workloads::{Machine, Report};

/// The whole run.
#[derive(Debug, Serialize)]
pub struct PagingReport {
    /// Always `"paging"`.
    pub workload: &'static str,
    /// Where it ran.
    pub machine: Machine,
    /// Users seeded.
    pub users: usize,
    /// Resources per page.
    pub count: usize,
    /// Timed fetches of the first and the last page, each way.
    pub samples: usize,
    /// Seeding through the library, in seconds.
    pub seed_secs: f64,
    /// One entry per list walked.
    pub lists: Vec<ListReport>,
}

/// One list, walked both ways.
#[derive(Debug, Serialize)]
pub struct ListReport {
    /// What the table calls it.
    pub label: String,
    /// Its filter, if any.
    pub filter: Option<String>,
    /// The users in it.
    pub matches: usize,
    /// By `startIndex`.
    pub index: WalkReport,
    /// By `cursor`.
    pub cursor: WalkReport,
}

/// One way of reading one list.
#[derive(Debug, Serialize)]
pub struct WalkReport {
    /// The whole walk, in seconds.
    pub seconds: f64,
    /// Its pages.
    pub pages: usize,
    /// Each page of the walk.
    pub page: Option<Latency>,
    /// The first page, fetched again and again.
    pub first_page: Option<Latency>,
    /// The last page, fetched again and again.
    pub last_page: Option<Latency>,
    /// Whether every page gave `totalResults`.
    pub total_given: bool,
}

impl Report for PagingReport {
    fn render(&self) -> String {
        let m = &self.machine;
        let lines = [
            format!(
                "scimbox-bench paging: {} users, pages of {}, by startIndex (RFC 7644) and by cursor (RFC 9865)",
                thousands(self.users as u64),
                self.count
            ),
            format!(
                "in-process server on 127.0.0.1, one keep-alive HTTP/1.1 client; seeded in {:.1} s; first and last \
                 page fetched {} times each way",
                self.seed_secs, self.samples
            ),
            format!("machine: {} CPUs, {} {}", m.cpus, m.os, m.arch),
        ];
        let mut out = lines.map(|l| l + "\n").concat();
        out.push('\n');
        out.push_str(&self.table().render());
        out
    }
}

impl PagingReport {
    fn table(&self) -> Table {
        let mut t = Table::new(vec![String::new(), "startIndex".into(), "cursor".into(), "cursor/index".into()]);
        for list in &self.lists {
            let filter = list.filter.as_deref().map(|f| format!(": {f}")).unwrap_or_default();
            t.section(format!("{}{filter} ({} users)", list.label, thousands(list.matches as u64)));
            let row = |t: &mut Table, label: &str, f: &dyn Fn(&WalkReport) -> Option<f64>, decimals: usize| {
                let (a, b) = (f(&list.index), f(&list.cursor));
                let cell = |v: Option<f64>| v.map_or_else(|| "n/a".into(), |v| format!("{v:.decimals$}"));
                let ratio = a.zip(b).filter(|(a, _)| *a > 0.0).map(|(a, b)| format!("{:.2}x", b / a));
                t.row(label, vec![cell(a), cell(b), ratio.unwrap_or_default()]);
            };
            row(&mut t, "  whole walk, s", &|w| Some(w.seconds), 2);
            row(&mut t, "  pages", &|w| Some(w.pages as f64), 0);
            row(&mut t, "  page of the walk, median ms", &|w| w.page.map(|l| l.median_ms), 2);
            row(&mut t, "  page of the walk, p99 ms", &|w| w.page.map(|l| l.p99_ms), 2);
            row(&mut t, "  first page, median ms", &|w| w.first_page.map(|l| l.median_ms), 2);
            row(&mut t, "  last page, median ms", &|w| w.last_page.map(|l| l.median_ms), 2);
            let given = |w: &WalkReport| if w.total_given { "yes" } else { "no" }.to_owned();
            t.row("  totalResults given", vec![given(&list.index), given(&list.cursor)]);
        }
        t
    }
}
