//! Validated runtime settings, built once by the CLI and passed down explicitly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Where Prometheus metrics are served (`/metrics`), apart from the SCIM port; off when
    /// `None`.
    pub metrics_listen: Option<SocketAddr>,
    /// Scheduled backups, when set.
    pub backup: Option<BackupSchedule>,
}

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
            metrics_listen: None,
            backup: None,
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
