//! Validated runtime settings, built once by the CLI and passed down explicitly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Requests per second a token may make by default: eight times the 25 per second Microsoft
/// asks gallery SCIM apps to sustain per tenant (Entra has no limiter for non-gallery apps);
/// Okta publishes no rate for its SCIM client. No IdP reaches it; a runaway script does.
pub const DEFAULT_RATE: u32 = 200;
/// The deprovisioning guard's default sliding window.
pub const DEFAULT_GUARD_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Requests a token may make at once by default.
pub const DEFAULT_BURST: u32 = 1000;
/// Requests per second a client address may make without a live token, by default.
pub const DEFAULT_ADDRESS_RATE: u32 = 10;
/// Such requests an address may make at once, by default.
pub const DEFAULT_ADDRESS_BURST: u32 = 100;

/// What `scimbox serve` runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The SQLite file.
    pub db_path: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The SCIM base path, such as `/scim/v2`: no trailing slash, leading slash.
    pub base_path: String,
    /// The largest request body accepted (413 above it).
    pub max_body_bytes: usize,
    /// How long a request may take, body included, before it is answered 408/503.
    pub request_timeout: Duration,
    /// How long a client may take to send its request headers.
    pub header_timeout: Duration,
    /// Core User attributes required beyond the RFC's `userName` (`name.givenName`, `accounts`).
    pub required: Vec<String>,
    /// How long the journal and the change history keep an entry (30 days by default).
    pub journal_max_age: Duration,
    /// How many entries the journal and the change history keep, at most, each (100,000 by
    /// default); the oldest go first.
    pub journal_max_rows: u64,
    /// Proxies whose `X-Forwarded-Host`, `X-Forwarded-Proto` and `X-Forwarded-For` are believed
    /// (none by default: anyone could send them, see [`crate::http::extract::Forwarded`]).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The URL clients reach the server at (`https://scim.example.com`), when set: used for
    /// `meta.location` and `Location` whatever the request's headers say.
    pub public_url: Option<String>,
    /// Open connections served at once; beyond it new ones wait in the listen backlog.
    pub max_connections: usize,
    /// The deprovisioning guard's threshold per token and window: `None` for the larger of 20
    /// and a tenth of the active users, `Some(0)` to turn the guard off (see
    /// [`crate::service::guard`]).
    pub guard_max: Option<u64>,
    /// The deprovisioning guard's sliding window (10 minutes by default).
    pub guard_window: Duration,
    /// Requests per second each token may make, sustained (0: no limit).
    pub rate: u32,
    /// Requests a token may make at once, beyond its rate.
    pub burst: u32,
    /// Requests per second each client address may make to the SCIM API without a live token
    /// (0: no limit).
    pub address_rate: u32,
    /// Such requests an address may make at once.
    pub address_burst: u32,
    /// How long the change feed keeps an event (90 days by default; see
    /// [`crate::service::events`]).
    pub events_max_age: Duration,
    /// Where Prometheus metrics are served (`/metrics`), apart from the SCIM port; off when
    /// `None`.
    pub metrics_listen: Option<SocketAddr>,
    /// Scheduled backups, when set.
    pub backup: Option<BackupSchedule>,
    /// What webhook retry delays are multiplied by: 1 in production; tests shorten them with
    /// `SCIMBOX_WEBHOOK_RETRY_SCALE` (see [`crate::service::webhooks::RETRY_SCHEDULE`]).
    pub webhook_retry_scale: f64,
    /// A PEM file of CA certificates trusted for `https://` webhook receivers beside the public
    /// roots (`serve --webhook-ca`), for receivers with a private CA.
    pub webhook_ca: Option<PathBuf>,
    /// How often a long poll of the change feed looks at the database besides its wake-ups
    /// (1 s; for tests only, `SCIMBOX_FEED_RECHECK_MS` lengthens it, so that a test proves a
    /// wake-up came from a notification: see [`crate::db::pg_listen`]).
    pub feed_recheck: Duration,
    /// How long a good token check is trusted ([`crate::auth::CACHE_TTL`]; for tests only,
    /// `SCIMBOX_TOKEN_CACHE_MS` lengthens it, as `feed_recheck`).
    pub token_cache_ttl: Duration,
}

/// How often a long poll looks at the database besides its wake-ups, by default
/// ([`crate::service::events::RECHECK`]).
pub const FEED_RECHECK: Duration = Duration::from_secs(1);
/// How long a good token check is trusted, by default ([`crate::auth::CACHE_TTL`]).
pub const TOKEN_CACHE_TTL: Duration = Duration::from_millis(500);

/// Scheduled backups (`serve --backup-dir DIR --backup-every DURATION --backup-keep N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSchedule {
    /// The folder the backups are written to (created if missing, 0700).
    pub dir: PathBuf,
    /// The time between two backups.
    pub every: Duration,
    /// How many backups are kept; the oldest beyond this are removed after each new one.
    pub keep: usize,
}

impl Config {
    /// Defaults for everything but the database and address.
    pub fn new(db_path: PathBuf, listen: SocketAddr) -> Self {
        Self {
            db_path,
            listen,
            base_path: "/scim/v2".into(),
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            required: Vec::new(),
            journal_max_age: Duration::from_secs(30 * 86_400),
            journal_max_rows: 100_000,
            trusted_proxies: Vec::new(),
            public_url: None,
            max_connections: 1024,
            guard_max: None,
            guard_window: DEFAULT_GUARD_WINDOW,
            rate: DEFAULT_RATE,
            burst: DEFAULT_BURST,
            address_rate: DEFAULT_ADDRESS_RATE,
            address_burst: DEFAULT_ADDRESS_BURST,
            metrics_listen: None,
            backup: None,
            events_max_age: Duration::from_secs(90 * 86_400),
            webhook_retry_scale: 1.0,
            webhook_ca: None,
            feed_recheck: FEED_RECHECK,
            token_cache_ttl: TOKEN_CACHE_TTL,
        }
    }

    /// Requires these User attributes on every create and replace, and shows them as required in
    /// `/Schemas`. Each must be a writable core attribute or sub-attribute (a deployment without
    /// SSO typically requires `name.givenName`, `name.familyName` and `accounts`).
    pub fn with_required(mut self, paths: &[String]) -> Result<Self, String> {
        let paths: Vec<String> = paths.iter().filter(|p| !p.trim().is_empty()).cloned().collect();
        self.required = scimbox_validator::schema::check_required_paths(&paths)?;
        Ok(self)
    }

    /// Sets the public URL: an `http` or `https` URL without query or fragment, kept without its
    /// trailing slash (the base path is appended to it).
    pub fn with_public_url(mut self, raw: &str) -> Result<Self, String> {
        let url = raw.trim().trim_end_matches('/');
        let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
        let host = rest.map(|r| r.split('/').next().unwrap_or(""));
        let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '"' | '<' | '>');
        match host {
            Some(h) if !h.is_empty() && !url.contains(bad) => {
                self.public_url = Some(url.to_owned());
                Ok(self)
            }
            _ => Err(format!(
                "\"{raw}\" is not an http:// or https:// URL with a host, such as https://scim.example.com"
            )),
        }
    }

    /// Sets the base path, normalising it to one leading slash and no trailing slash.
    pub fn with_base_path(mut self, raw: &str) -> Self {
        let trimmed = raw.trim().trim_matches('/');
        self.base_path = if trimmed.is_empty() { String::new() } else { format!("/{trimmed}") };
        self
    }
}
