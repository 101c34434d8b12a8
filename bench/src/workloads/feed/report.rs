//! The feed benchmark's results: what `--json` prints, and the table.

use serde::Serialize;

use super::hooks::{Received, WebhookFigures};
use super::{Followed, Paced, lag_figures};
use crate::load::Throughput;
use crate::stats::Latency;
use crate::table::{Table, thousands};
use crate::workloads::{Machine, Report};

/// The whole run.
#[derive(Debug, Serialize)]
pub struct FeedReport {
    /// Always `"feed"`.
    pub workload: &'static str,
    /// Where it ran.
    pub machine: Machine,
    /// The changes per second asked for.
    pub target_rate: usize,
    /// IdP clients.
    pub clients: usize,
    /// Seconds of paced changes asked for.
    pub seconds: f64,
    /// Changes acknowledged (2xx): creates, patches, deletes.
    pub creates: u64,
    /// PATCHes acknowledged.
    pub patches: u64,
    /// DELETEs acknowledged.
    pub deletes: u64,
    /// All changes acknowledged.
    pub changes: u64,
    /// Changes per second achieved (first due to last 2xx).
    pub achieved_rate: f64,
    /// Events the follower read (always equal to `changes`: the run fails otherwise).
    pub events_seen: u64,
    /// Feed answers the follower read.
    pub polls: u64,
    /// From a change's 2xx to its event read by the follower, in ms.
    pub lag: Latency,
    /// Events read before their change's client had read the 2xx (counted as 0 ms).
    pub early: u64,
    /// The webhook receiver's figures over the same paced changes (lag measured the same way).
    pub webhook: WebhookFigures,
    /// Unpaced creates, every one writing its event.
    pub create: Throughput,
}

impl FeedReport {
    /// Builds the report; fails unless every change came out of the feed exactly once, and
    /// reached the webhook, every delivery verifying.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        machine: Machine,
        target_rate: usize,
        clients: usize,
        seconds: f64,
        paced: Paced,
        followed: Followed,
        received: &Received,
        create: Throughput,
    ) -> anyhow::Result<Self> {
        let (lag, early) = lag_figures(&paced, &followed)?;
        let webhook = WebhookFigures::new(&paced, received)?;
        let changes = paced.acks.len() as u64;
        Ok(Self {
            workload: "feed",
            machine,
            target_rate,
            clients,
            seconds,
            creates: paced.counts[0],
            patches: paced.counts[1],
            deletes: paced.counts[2],
            changes,
            achieved_rate: if paced.seconds > 0.0 { changes as f64 / paced.seconds } else { 0.0 },
            events_seen: followed.received.len() as u64,
            polls: followed.polls,
            lag,
            early,
            webhook,
            create,
        })
    }
}

impl Report for FeedReport {
    fn render(&self) -> String {
        let m = &self.machine;
        let lines = [
            format!(
                "scimbox-bench feed: {} changes/s asked from {} IdP clients for {} s, one follower long-polling \
                 GET /api/v1/events (wait=30, limit=1000), one webhook receiver answering 204",
                thousands(self.target_rate as u64),
                self.clients,
                self.seconds
            ),
            "in-process server on 127.0.0.1; lag = the follower reading the event (the receiver reading the POST, \
             signature verified) minus the client reading the change's 2xx"
                .to_owned(),
            format!("machine: {} CPUs, {} {}", m.cpus, m.os, m.arch),
        ];
        let mut out = lines.map(|l| l + "\n").concat();
        out.push('\n');
        let mut t = Table::new(vec![String::new(), "value".into()]);
        t.section("paced changes");
        t.row(
            "  acknowledged (create/patch/delete)",
            vec![format!(
                "{} ({}/{}/{})",
                thousands(self.changes),
                thousands(self.creates),
                thousands(self.patches),
                thousands(self.deletes)
            )],
        );
        t.row("  achieved, changes/s", vec![format!("{:.0}", self.achieved_rate)]);
        t.row("  events seen", vec![thousands(self.events_seen)]);
        t.row("  feed answers read", vec![thousands(self.polls)]);
        t.section("lag, ms");
        t.row("  p50", vec![format!("{:.2}", self.lag.median_ms)]);
        t.row("  p99", vec![format!("{:.2}", self.lag.p99_ms)]);
        t.row("  max", vec![format!("{:.2}", self.lag.max_ms)]);
        t.row("  events before their 2xx", vec![thousands(self.early)]);
        let w = &self.webhook;
        t.section("webhook");
        t.row("  events received (signatures verified)", vec![thousands(w.events_received)]);
        t.row("  duplicates", vec![thousands(w.duplicates)]);
        t.row("  order kept (by seq)", vec![if w.order_kept { "yes" } else { "NO" }.to_owned()]);
        t.row("  lag p50, ms", vec![format!("{:.2}", w.lag.median_ms)]);
        t.row("  lag p99, ms", vec![format!("{:.2}", w.lag.p99_ms)]);
        t.row("  lag max, ms", vec![format!("{:.2}", w.lag.max_ms)]);
        t.row("  events before their 2xx", vec![thousands(w.early)]);
        t.section(format!("unpaced creates, {} clients (an event each)", self.create.connections));
        t.row("  creates/s", vec![format!("{:.0}", self.create.rate)]);
        t.row("  median ms", vec![format!("{:.2}", self.create.latency.median_ms)]);
        t.row("  p99 ms", vec![format!("{:.2}", self.create.latency.p99_ms)]);
        out.push_str(&t.render());
        out
    }
}
