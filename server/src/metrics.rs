//! Prometheus metrics (`serve --metrics-listen ADDR`): the process-wide counters, and the text a
//! scrape of `/metrics` gets (OpenMetrics 1.0 text, through `prometheus-client`).
//!
//! Two kinds of figure:
//! - counted as things happen, here, with atomic increments: requests by token, method,
//!   resource type and status ([`request`], called by `http`'s metrics middleware), their
//!   latency, the refusals of the rate limiter and the deprovisioning guard
//!   ([`rate_limited`], [`guard_held`]), and the scheduled backups' outcomes
//!   ([`backup_succeeded`], [`backup_failed`]);
//! - read when scraped ([`Gauges`]): users active and inactive, groups (one read transaction,
//!   through the service), the journal's queue and the entries it shed, the database's size on
//!   disk (file and WAL), the change feed's newest sequence number (`scimbox_event_seq`),
//!   each webhook's lag in events (`scimbox_webhook_lag_events`, labelled
//!   with the webhook's name, which an administrator gives). Nothing of these is computed on a
//!   request's path.
//!
//! Label values come from small fixed sets (the method, the resource type and the status are
//! constants; unknown paths are one `other`) or from token names, which an administrator
//! creates, so the number of series stays small whatever clients send. The counters are
//! process-wide, like the process they describe: the guard and the rate limiter count through
//! the functions here without carrying a handle.
//!
//! This module imports nothing of the crate, so any layer may count through it.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// The label of requests made without an accepted token.
pub const NO_TOKEN: &str = "none";

/// The upper bounds (seconds) of the latency histogram's buckets: from a cached GET (about a
/// millisecond) to a large Bulk or a filter over every user, up to the request timeout (30 s).
const LATENCY_BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    token: String,
    method: &'static str,
    resource_type: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    resource_type: &'static str,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    token: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram>,
    rate_limited: Family<TokenLabels, Counter>,
    guard_held: Family<TokenLabels, Counter>,
    backup_last_success: Gauge,
    backup_failures: Counter,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("scimbox");
    let requests = Family::<RequestLabels, Counter>::default();
    let latency = Family::<LatencyLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
    let (rate_limited, guard_held) = (Family::default(), Family::default());
    registry.register("requests", "Requests answered, by token, method, resource type and status", requests.clone());
    registry.register(
        "request_duration_seconds",
        "Time to answer a request, by resource type and method",
        latency.clone(),
    );
    registry.register("rate_limited", "Requests refused 429 by the rate limiter, by token", rate_limited.clone());
    registry.register(
        "guard_held",
        "Deactivations and deletions held by the deprovisioning guard, by token",
        guard_held.clone(),
    );
    let (backup_last_success, backup_failures) = (Gauge::default(), Counter::default());
    registry.register(
        "backup_last_success_timestamp_seconds",
        "When the last scheduled backup was written and verified (Unix time; 0: none yet)",
        backup_last_success.clone(),
    );
    registry.register("backup_failures", "Scheduled backups that failed", backup_failures.clone());
    Metrics { registry, requests, latency, rate_limited, guard_held, backup_last_success, backup_failures }
});

/// The method as a label: one of a fixed set.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        _ => "other",
    }
}

/// The resource type a path (below the SCIM base path, such as `/Users/42`) addresses, as a
/// label: `User`, `Group`, `Bulk`, `search` (`/.search`), `discovery`, `Me`, or `other`.
pub fn resource_label(path_below_base: &str) -> &'static str {
    let first = path_below_base.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "Users" => "User",
        "Groups" => "Group",
        "Bulk" => "Bulk",
        ".search" => "search",
        "ServiceProviderConfig" | "Schemas" | "ResourceTypes" => "discovery",
        "Me" => "Me",
        _ => "other",
    }
}

/// Counts one answered request and its latency. `token` is the accepted token's name, or
/// [`NO_TOKEN`].
pub fn request(token: &str, method: &'static str, resource_type: &'static str, status: u16, seconds: f64) {
    let labels = RequestLabels { token: token.to_owned(), method, resource_type, status };
    METRICS.requests.get_or_create(&labels).inc();
    METRICS.latency.get_or_create(&LatencyLabels { resource_type, method }).observe(seconds);
}

/// Counts one request the rate limiter refused for `token` (issue 15 item 2).
pub fn rate_limited(token: &str) {
    METRICS.rate_limited.get_or_create(&TokenLabels { token: token.to_owned() }).inc();
}

/// Counts one deactivation or deletion the deprovisioning guard held for `token` (issue 15
/// item 1).
pub fn guard_held(token: &str) {
    METRICS.guard_held.get_or_create(&TokenLabels { token: token.to_owned() }).inc();
}

/// Notes a scheduled backup written and verified at `unix_seconds`.
pub fn backup_succeeded(unix_seconds: i64) {
    METRICS.backup_last_success.set(unix_seconds);
}

/// Counts a scheduled backup that failed.
pub fn backup_failed() {
    METRICS.backup_failures.inc();
}

/// The figures read when `/metrics` is scraped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gauges {
    /// The live tokens' names: their per-token refusal counters are shown, at zero if need be.
    pub tokens: Vec<String>,
    /// Users with `active` true.
    pub users_active: u64,
    /// Users with `active` false.
    pub users_inactive: u64,
    /// Groups.
    pub groups: u64,
    /// Journal entries waiting to be written.
    pub journal_queue: u64,
    /// Journal entries shed (not recorded) because the queue was full, since the start.
    pub journal_shed: u64,
    /// The database file's size in bytes.
    pub database_bytes: u64,
    /// The WAL file's size in bytes (0 when there is none).
    pub wal_bytes: u64,
    /// Each webhook's name and lag: events of its types recorded after the last one delivered.
    pub webhook_lag: Vec<(String, u64)>,
    /// The change feed's newest event sequence number (0 before the first event).
    pub event_seq: u64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabel {
    webhook: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FileLabel {
    file: &'static str,
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn gauge(v: u64) -> Gauge {
    let g = Gauge::default();
    g.set(int(v));
    g
}

/// The whole exposition: the counters, then `gauges`, then `# EOF`.
pub fn render(gauges: &Gauges) -> String {
    for token in &gauges.tokens {
        let labels = TokenLabels { token: token.clone() };
        drop(METRICS.rate_limited.get_or_create(&labels));
        drop(METRICS.guard_held.get_or_create(&labels));
    }
    let mut now = Registry::with_prefix("scimbox");
    let users = Family::<StateLabel, Gauge>::default();
    users.get_or_create(&StateLabel { state: "active" }).set(int(gauges.users_active));
    users.get_or_create(&StateLabel { state: "inactive" }).set(int(gauges.users_inactive));
    now.register("users", "Users, by active state", users);
    now.register("groups", "Groups", gauge(gauges.groups));
    now.register("journal_queue", "Journal entries waiting to be written", gauge(gauges.journal_queue));
    let shed = Counter::<u64>::default();
    shed.inc_by(gauges.journal_shed);
    now.register("journal_shed", "Journal entries not recorded because the queue was full, since the start", shed);
    let bytes = Family::<FileLabel, Gauge>::default();
    bytes.get_or_create(&FileLabel { file: "db" }).set(int(gauges.database_bytes));
    bytes.get_or_create(&FileLabel { file: "wal" }).set(int(gauges.wal_bytes));
    now.register("database_bytes", "The database's size on disk, file and write-ahead log", bytes);
    now.register("event_seq", "The change feed's newest event sequence number", gauge(gauges.event_seq));
    let lag = Family::<WebhookLabel, Gauge>::default();
    for (name, behind) in &gauges.webhook_lag {
        lag.get_or_create(&WebhookLabel { webhook: name.clone() }).set(int(*behind));
    }
    now.register("webhook_lag_events", "Events a webhook has yet to deliver (of its types), by webhook", lag);
    let mut out = String::new();
    let written = prometheus_client::encoding::text::encode_registry(&mut out, &METRICS.registry)
        .and_then(|()| prometheus_client::encoding::text::encode_registry(&mut out, &now))
        .and_then(|()| prometheus_client::encoding::text::encode_eof(&mut out));
    // Writing to a String cannot fail; should the encoder refuse, the scrape still ends well-formed.
    if written.is_err() {
        out = "# EOF\n".into();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(resource_label("/Users/42"), "User");
        assert_eq!(resource_label("/Groups"), "Group");
        assert_eq!(resource_label("/.search"), "search");
        assert_eq!(resource_label("/Schemas/urn:x"), "discovery");
        assert_eq!(resource_label("/anything/else"), "other");
        assert_eq!(method_label("PATCH"), "PATCH");
        assert_eq!(method_label("BREW"), "other");
    }

    #[test]
    fn the_exposition_ends_with_eof_and_holds_the_gauges() {
        // A name no other test counts against: the counters are the process's, shared by the
        // unit tests of the rate limits and the guard, which run in the same binary.
        let tokens = vec!["exposition-only".to_owned()];
        let text = render(&Gauges { users_active: 3, users_inactive: 1, groups: 2, tokens, ..Gauges::default() });
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(text.contains("scimbox_users{state=\"active\"} 3"), "{text}");
        assert!(text.contains("scimbox_groups 2"), "{text}");
        assert!(text.contains("scimbox_event_seq 0"), "{text}");
        assert!(text.contains("scimbox_guard_held_total{token=\"exposition-only\"} 0"), "{text}");
        assert!(text.contains("scimbox_rate_limited_total{token=\"exposition-only\"} 0"), "{text}");
    }
}
