//! The command line (clap). Each command's doc comment is its `--help`.

mod accounts;
mod admin;
mod backup;
mod config;
mod demo;
mod guard;
mod tokens;
mod transfer;
mod validate;
mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use self::accounts::{AccountCommand, RoleCommand, account, role};
use self::admin::AdminCommand;
use self::tokens::{TokenCommand, token};
use self::validate::{ValidateArgs, validate};
use crate::config::Config;
use crate::db::{self, Db};
use crate::service;

/// scimbox: a self-hosted SCIM 2.0 provisioning endpoint for Okta, Entra ID, OneLogin and
/// JumpCloud, over one embedded SQLite file.
#[derive(Debug, Parser)]
#[command(name = "scimbox", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the SCIM server (creates and migrates the database if needed).
    Serve(ServeArgs),
    /// Create or upgrade the database, then exit.
    Migrate(DbArg),
    /// Issue, list, inspect and revoke the bearer tokens IdPs authenticate with.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Register, list, move and remove the accounts that IdP payloads grant access to.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Keep the roles catalogue that payloads' roles are checked against.
    ///
    /// While the catalogue is empty any role name is accepted; otherwise only the catalogued
    /// ones, compared ignoring case.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Check `accounts` payloads, a list of them or a whole SCIM User body, as the server would.
    ///
    /// The input is one payload object, a JSON array of payloads, or a whole SCIM User body.
    /// Exit status: 0 when valid (`valid: N payload(s)` on stdout); 1 when not, with one line per
    /// fault on stdout (`accounts[INDEX] line L, column C: MESSAGE`); 2 when the input or the
    /// database cannot be read.
    Validate(ValidateArgs),
    /// Add, list and remove the administrators who log in to the status page.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Print the settings `serve` would run with (given the same flags, environment and config
    /// file) and where each came from: flag, env NAME, file PATH:LINE or default. Secret values
    /// and values read from files are never printed. The output is in the config file's TOML form.
    Config(ServeArgs),
    /// Try scimbox out: a throwaway server with sample accounts, a token, an admin login and
    /// simulated Okta and Entra ID traffic filling the status page, until Ctrl-C.
    Demo(demo::DemoArgs),
    /// See and release what the deprovisioning guard holds: a token's deactivations and
    /// deletions beyond --guard-max per --guard-window are held (429) until released.
    #[command(subcommand)]
    Guard(guard::GuardCommand),
    /// Copy the database to a file, consistently, even while a server writes to it; the copy is
    /// checked (SQLite's integrity check, schema version) before it takes the name --out.
    Backup(backup::BackupArgs),
    /// Put a backup in place of the database (stop the server first). An existing database is
    /// replaced only with --force; the backup is checked first.
    Restore(backup::RestoreArgs),
    /// Write users, groups, memberships, accounts and roles as NDJSON (one JSON object a line),
    /// from one moment of the database; never token secrets, password hashes or the journal.
    Export(transfer::ExportArgs),
    /// Load an export into an empty database (no users, groups, accounts or roles), all or
    /// nothing, keeping every id, version and timestamp.
    Import(transfer::ImportArgs),
    /// Add, list, remove and replay the webhooks a running server POSTs each change's event to,
    /// in order, signed the Standard Webhooks way (docs/webhooks.md).
    #[command(subcommand)]
    Webhook(webhooks::WebhookCommand),
}

#[derive(Debug, Args)]
pub(crate) struct DbArg {
    /// The SQLite database file, or a PostgreSQL database's URL (`postgres://user@host/db`).
    #[arg(long, env = "SCIMBOX_DB", default_value = "scimbox.db")]
    pub(crate) db: PathBuf,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArg,
    #[command(flatten)]
    ops: OpsArgs,
    /// The address to listen on.
    #[arg(long, env = "SCIMBOX_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The path the SCIM API is served under (for deployments behind a path prefix).
    #[arg(long, env = "SCIMBOX_BASE_PATH", default_value = "/scim/v2")]
    base_path: String,
    /// User attributes to require beyond userName, comma-separated: for a deployment without
    /// SSO, `name.givenName,name.familyName,accounts`. Shown as required in /Schemas.
    #[arg(long, env = "SCIMBOX_REQUIRE", value_delimiter = ',', value_name = "ATTR,...")]
    require: Vec<String>,
    /// How many days the journal (and the change history) keeps an entry.
    #[arg(long, env = "SCIMBOX_JOURNAL_DAYS", default_value_t = 30, value_name = "DAYS",
          value_parser = clap::value_parser!(u64).range(1..=36_500))]
    journal_days: u64,
    /// How many entries the journal (and the change history) keeps at most; the oldest go first.
    #[arg(long, env = "SCIMBOX_JOURNAL_ROWS", default_value_t = 100_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    journal_rows: u64,
    /// A proxy (CIDR such as 10.0.0.0/8, or one address) whose X-Forwarded-Host,
    /// X-Forwarded-Proto and X-Forwarded-For are believed; repeat the flag, or separate with
    /// commas. None by default: from anyone else these headers are ignored.
    #[arg(long = "trusted-proxy", env = "SCIMBOX_TRUSTED_PROXY", value_delimiter = ',', value_name = "CIDR",
          value_parser = parse_cidr)]
    trusted_proxy: Vec<ipnet::IpNet>,
    /// The URL clients reach scimbox at, such as https://scim.example.com: meta.location and
    /// Location are built from it (plus the base path) whatever the request's headers say, and
    /// an https URL makes the admin cookie Secure.
    #[arg(long, env = "SCIMBOX_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
    /// Connections served at once; more wait in the listen backlog until one closes. Lowered to
    /// fit the open-file limit if that is smaller.
    #[arg(long, env = "SCIMBOX_MAX_CONNECTIONS", default_value_t = 1024, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Serve Prometheus metrics at /metrics on this address (such as 127.0.0.1:9464), apart from
    /// the SCIM port. Off by default.
    #[arg(long, env = "SCIMBOX_METRICS_LISTEN", value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// Take scheduled backups into this folder (created 0700 if missing); needs --backup-every.
    #[arg(long, env = "SCIMBOX_BACKUP_DIR", value_name = "DIR")]
    backup_dir: Option<PathBuf>,
    /// How often to take a scheduled backup: 30m, 6h, 1d.
    #[arg(long, env = "SCIMBOX_BACKUP_EVERY", value_name = "DURATION", value_parser = crate::duration::parse)]
    backup_every: Option<std::time::Duration>,
    /// How many scheduled backups to keep; the oldest beyond this are removed [default: 7].
    #[arg(long, env = "SCIMBOX_BACKUP_KEEP", value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    backup_keep: Option<u64>,
    /// The deprovisioning guard: deactivations plus deletions of existing users (created before
    /// the window began) one token may make per --guard-window; the next one trips the guard,
    /// which then holds that token's deactivations and deletions (429) until `scimbox guard
    /// release`. `auto`: the larger of 20 and a tenth of the active users; 0 turns it off.
    #[arg(long, env = "SCIMBOX_GUARD_MAX", default_value = "auto", value_name = "N|auto", value_parser = parse_guard_max)]
    guard_max: GuardMax,
    /// The deprovisioning guard's sliding window: 10m, 1h, 90s.
    #[arg(long, env = "SCIMBOX_GUARD_WINDOW", default_value = "10m", value_name = "DURATION", value_parser = parse_window)]
    guard_window: std::time::Duration,
    /// Requests per second each token may make, sustained, before it is answered 429 with
    /// Retry-After (other tokens are unaffected); 0 turns the limit off. The default is far
    /// above what Okta or Entra ID send.
    #[arg(long, env = "SCIMBOX_RATE", default_value_t = crate::config::DEFAULT_RATE, value_name = "N")]
    rate: u32,
    /// Requests a token may make at once (the bucket's size); after that, --rate per second.
    #[arg(long, env = "SCIMBOX_BURST", default_value_t = crate::config::DEFAULT_BURST, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    burst: u32,
    /// Requests per second each client address may make to the SCIM API without a valid token
    /// (refused tokens, discovery read without one) before it is answered 429; 0 turns it off.
    #[arg(long, env = "SCIMBOX_ADDRESS_RATE", default_value_t = crate::config::DEFAULT_ADDRESS_RATE, value_name = "N")]
    address_rate: u32,
    /// Such requests an address may make at once; after that, --address-rate per second.
    #[arg(long, env = "SCIMBOX_ADDRESS_BURST", default_value_t = crate::config::DEFAULT_ADDRESS_BURST, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    address_burst: u32,
    /// How many days the change feed (/api/v1/events) keeps an event; a cursor older than the
    /// oldest kept event is answered 410.
    #[arg(long, env = "SCIMBOX_EVENTS_DAYS", default_value_t = 90, value_name = "DAYS",
          value_parser = clap::value_parser!(u64).range(1..=36_500))]
    events_days: u64,
    /// A PEM file of CA certificates to trust, beside the public ones, for https:// webhook
    /// receivers (a private CA); read at start.
    #[arg(long, env = "SCIMBOX_WEBHOOK_CA", value_name = "FILE")]
    webhook_ca: Option<PathBuf>,
}

/// `--guard-max`: a number, or `auto`.
#[derive(Debug, Clone, Copy)]
struct GuardMax(Option<u64>);

fn parse_guard_max(raw: &str) -> Result<GuardMax, String> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("auto") {
        return Ok(GuardMax(None));
    }
    raw.parse::<u64>().map(|n| GuardMax(Some(n))).map_err(|_| format!("\"{raw}\" is not a number of users or `auto`"))
}

/// A guard window or release such as 10m, 1h, 90s (a bare number is days, as for token
/// lifetimes), at most a year.
fn parse_window(raw: &str) -> Result<std::time::Duration, String> {
    let d = crate::duration::parse(raw)?;
    if d > std::time::Duration::from_secs(365 * 86_400) {
        return Err(format!("\"{raw}\" is longer than a year"));
    }
    Ok(d)
}

/// How `serve` is configured and logs (kept apart from the settings it runs with).
#[derive(Debug, Args)]
struct OpsArgs {
    /// A TOML file of settings whose keys are the long flags below (`listen = "0.0.0.0:8080"`,
    /// `max-connections = 512`); a flag or environment variable overrides it. A value may be read
    /// from a file: `public-url = { file = "/run/secrets/url" }` (one trailing newline removed).
    #[arg(long, env = "SCIMBOX_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    /// The log's format on stderr: `text` for people, `json` (one object per line, the same
    /// fields) for log shippers.
    #[arg(long, env = "SCIMBOX_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// The log's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// One line per event: time, level, target, message, fields.
    Text,
    /// One JSON object per line with the same fields at the top level.
    Json,
}

/// A CIDR, or a bare address (a /32 or /128).
fn parse_cidr(raw: &str) -> Result<ipnet::IpNet, String> {
    let raw = raw.trim();
    raw.parse::<ipnet::IpNet>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("\"{raw}\" is not a network such as 10.0.0.0/8 or an address such as 10.0.0.5"))
}

/// Files kept for the database, its journal files, the log and the listener, below the
/// open-file limit, when the connection cap is fitted to it.
const RESERVED_FILES: u64 = 64;

/// Raises the soft open-file limit to the hard one (each connection is a file; the usual soft
/// default of 1024, or a `ulimit -n 128`, would otherwise make accept fail), and fits the
/// connection cap under what is left.
fn fit_connections(wanted: u64) -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => {
            tracing::info!(open_files = n, "open-file limit raised to the hard limit");
            n
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            return usize::try_from(wanted).unwrap_or(usize::MAX);
        }
    };
    let room = limit.saturating_sub(RESERVED_FILES).max(1);
    if room < wanted {
        tracing::warn!(
            max_connections = room,
            wanted,
            open_files = limit,
            "connection cap lowered to fit the open-file limit"
        );
    }
    usize::try_from(room.min(wanted)).unwrap_or(usize::MAX)
}

/// A duration in milliseconds from the environment variable `name`, for the settings only tests
/// change (`SCIMBOX_FEED_RECHECK_MS`, `SCIMBOX_TOKEN_CACHE_MS`: see [`Config`]); `None` when it
/// is unset, an error naming it when it is not a whole number from 1 to one day's.
fn millis_from_env(name: &str) -> Result<Option<std::time::Duration>, String> {
    let Ok(raw) = std::env::var(name) else { return Ok(None) };
    raw.trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| (1..=86_400_000).contains(ms))
        .map(|ms| Some(std::time::Duration::from_millis(ms)))
        .ok_or_else(|| format!("{name}: \"{raw}\" is not a whole number of milliseconds from 1 to 86400000"))
}

/// Runs the command line; the process exit code comes back.
pub fn main() -> ExitCode {
    let (cli, effective) = match config::parse() {
        Ok(parsed) => parsed,
        Err(failure) => return exit(Err(failure)),
    };
    let effective = effective.unwrap_or_default();
    let result = match cli.command {
        Command::Serve(args) => serve(args).map_err(|e| with_origin(e, &effective)),
        Command::Config(_) => {
            print!("{}", effective.render());
            Ok(())
        }
        Command::Migrate(DbArg { db }) => {
            Db::migrate_only(&db).map(|name| eprintln!("{name} is up to date")).map_err(|e| e.to_string())
        }
        Command::Token(cmd) => return exit(token(cmd)),
        Command::Account(cmd) => return exit(account(cmd)),
        Command::Role(cmd) => return exit(role(cmd)),
        Command::Validate(args) => return validate(args),
        Command::Admin(cmd) => return exit(admin::run(cmd)),
        Command::Demo(args) => demo::run(args),
        Command::Guard(cmd) => return exit(guard::run(cmd)),
        Command::Backup(args) => return exit(backup::run_backup(args)),
        Command::Restore(args) => return exit(backup::run_restore(args)),
        Command::Export(args) => return exit(transfer::export(args)),
        Command::Import(args) => return exit(transfer::import(args)),
        Command::Webhook(cmd) => return exit(webhooks::run(cmd)),
    };
    exit(result.map_err(Failure::from))
}

/// A message about a setting (`--public-url: ...`) followed by where the file set it, if it did.
fn with_origin(message: String, effective: &config::Effective) -> String {
    let key = message.strip_prefix("--").and_then(|m| m.split_once(':')).map(|(k, _)| k);
    match key.and_then(|k| effective.where_set(k)) {
        Some(origin) => format!("{message}{origin}"),
        None => message,
    }
}

/// Why a command failed: the message for stderr and the exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    message: String,
    code: u8,
}

impl From<String> for Failure {
    /// A failure of the command line itself (bad flags, unreadable input): exit code 1.
    fn from(message: String) -> Self {
        Self { message, code: 1 }
    }
}

impl From<service::Error> for Failure {
    /// A domain refusal: its text, and [`service::Error::exit_code`].
    fn from(e: service::Error) -> Self {
        Self { code: e.exit_code(), message: e.to_string() }
    }
}

impl Failure {
    /// A domain refusal with a pointer to the command that helps, for the errors it helps with
    /// (`(see `scimbox token list`)` after a name that is not there, say).
    pub(crate) fn hinted(e: service::Error, hint: impl Fn(&service::Error) -> Option<String>) -> Self {
        let extra = hint(&e);
        let mut failure = Self::from(e);
        if let Some(extra) = extra {
            failure.message = format!("{}{extra}", failure.message);
        }
        failure
    }
}

/// The hint after a name that is not there, for [`Failure::hinted`]: `(see `scimbox LIST list`)`.
pub(crate) fn see_list(list: &'static str) -> impl Fn(&service::Error) -> Option<String> {
    move |e| matches!(e, service::Error::NotFound(_)).then(|| format!(" (see `scimbox {list} list`)"))
}

fn exit(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { message, code }) => {
            eprintln!("scimbox: {message}");
            ExitCode::from(code)
        }
    }
}

/// Opens (creating and migrating) the store at `path` and runs `f` on it on a small runtime of
/// its own: the commands that change tokens, accounts or administrators call the same async
/// service functions as the status page, through the same writer.
pub(crate) fn with_store<T>(
    path: &std::path::Path,
    f: impl AsyncFnOnce(&Db) -> Result<T, Failure>,
) -> Result<T, Failure> {
    // A store that cannot be opened (no such directory, no permission, a newer schema) is told
    // as storage says it, with EX_UNAVAILABLE: nothing was changed.
    let db = Db::open(path).map_err(|e| Failure { message: e.to_string(), code: 69 })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    rt.block_on(f(&db))
}

/// Threads of the runtime's blocking pool: the readers, and a few for password checks.
const BLOCKING_THREADS: usize = db::READERS + 2;

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let log = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => log.init(),
        // The event's fields (message, method, path, status...) at the top level beside
        // timestamp, level and target, as the text format shows them on one line.
        LogFormat::Json => log.json().flatten_event(true).init(),
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    init_tracing(args.ops.log_format);
    let config = Config::new(args.db.db, args.listen)
        .with_base_path(&args.base_path)
        .with_required(&args.require)
        .map_err(|e| format!("--require: {e}"))?;
    let config = match &args.public_url {
        Some(url) => config.with_public_url(url).map_err(|e| format!("--public-url: {e}"))?,
        None => config,
    };
    let config = Config {
        journal_max_age: std::time::Duration::from_secs(args.journal_days * 86_400),
        journal_max_rows: args.journal_rows,
        trusted_proxies: args.trusted_proxy,
        max_connections: fit_connections(args.max_connections),
        guard_max: args.guard_max.0,
        guard_window: args.guard_window,
        rate: args.rate,
        burst: args.burst,
        address_rate: args.address_rate,
        address_burst: args.address_burst,
        metrics_listen: args.metrics_listen,
        backup: backup::schedule(
            args.backup_dir,
            args.backup_every,
            usize::try_from(args.backup_keep.unwrap_or(7)).unwrap_or(usize::MAX),
            args.backup_keep.is_some(),
        )?,
        events_max_age: std::time::Duration::from_secs(args.events_days * 86_400),
        webhook_retry_scale: webhooks::retry_scale_from_env()?,
        feed_recheck: millis_from_env("SCIMBOX_FEED_RECHECK_MS")?.unwrap_or(crate::config::FEED_RECHECK),
        token_cache_ttl: millis_from_env("SCIMBOX_TOKEN_CACHE_MS")?.unwrap_or(crate::config::TOKEN_CACHE_TTL),
        webhook_ca: args.webhook_ca,
        ..config
    };
    // The blocking pool runs the reads (at most db::READERS at a time) and password checks; left
    // at tokio's default of 512 threads, a burst of reads leaves a dozen idle threads behind,
    // each holding on to a malloc arena's worth of freed memory.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    rt.block_on(crate::run(config, shutdown_signal()))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
