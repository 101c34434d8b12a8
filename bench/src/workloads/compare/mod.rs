//! `compare` (issue 7): scimbox beside the physical limit and a peer, on the same workloads, in
//! one run, so that every figure can be read as a ratio.
//!
//! 1. **The limit**: a bare axum handler ([`crate::limit`]) loaded like the SCIM servers, and raw
//!    SQLite insert and lookup rates; the floors under issue 17's read targets
//!    ([`crate::floor`]): the same server reading one stored user from SQLite per GET by id,
//!    loaded as scimbox's GET by id is, and answering a fixed page of 100 users, read as Okta's
//!    import reads.
//! 2. **scimbox**: the release binary as a child process (`scimbox serve`, logging to a file as
//!    in production) on a fresh database, seeded through its own API.
//! 3. **The peer**: the Python `scim2-server` under gunicorn ([`peer`]), seeded the same way.
//!
//! Each server then gets the same sequence ([`measure`]): start, POST every user at `--clients`
//! connections (the create workload *is* the seeding), GET by id, the indexed and the scanning
//! filter, Okta's import, Entra ID's initial cycle, a group of every user and one membership
//! change on it, memory, and (scimbox only: the peer keeps its data in memory) a restart on the
//! full database.
//!
//! With `--db-url` (issue 18), scimbox runs the same sequence again on PostgreSQL, once per
//! `--instances` count: each time on a fresh database of that cluster, with that many `scimbox
//! serve` processes on it and the load generator's connections spread over them round robin.
//! Their figures go in a second table beside SQLite's, with what PostgreSQL's own processes
//! spent ([`crate::postgres`]).

mod engines;
mod peer;
mod report;
pub(crate) mod scim;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use hyper::Method;
use serde::Serialize;
use tokio::process::Command;

use super::{Machine, positive};
use crate::launch::Binary;
use crate::limit::{self, SqliteRates};
use crate::load::{self, Budget, Call, Target, Throughput};
use crate::postgres::{Database, RawRates};
use crate::process::{self, Server, TreeMemory};
pub use report::{CompareReport, PostgresRun};

/// The readiness probe: the first request every server must answer with 200.
const PROBE: &str = "/ServiceProviderConfig";
/// Members added per PATCH while filling the big group.
const FILL_CHUNK: u64 = 1_000;

/// `scimbox-bench compare`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Users to create (and then work on) in each server; `_` may group digits.
    #[arg(long, value_parser = positive, default_value = "100000")]
    users: usize,
    /// Users for the peer, if fewer (the peer's figures are then at that size; the table says so).
    #[arg(long, value_parser = positive)]
    peer_users: Option<usize>,
    /// Concurrent connections for the creates, reads by id and indexed filters.
    #[arg(long, value_parser = positive, default_value_t = 32)]
    clients: usize,
    /// Concurrent connections for the scanning filters and Entra ID's second cycle.
    #[arg(long, value_parser = positive, default_value_t = 2)]
    few_clients: usize,
    /// Seconds each timed read workload runs.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Most seconds Okta's import may take before its rate is projected to the whole.
    #[arg(long, default_value_t = 60.0)]
    import_seconds: f64,
    /// Most users of each Entra ID cycle (it also stops after `--seconds`).
    #[arg(long, value_parser = positive, default_value_t = 20_000)]
    entra_users: usize,
    /// Most membership changes (add, then remove) timed (they also stop after `--seconds`).
    #[arg(long, value_parser = positive, default_value_t = 1_000)]
    membership_ops: usize,
    /// The scimbox binary (default: `scimbox` beside this one, as `cargo build --release` puts it).
    #[arg(long)]
    scimbox: Option<PathBuf>,
    /// A Python virtual environment with `scim2-server` and `gunicorn` (`scripts/bench.sh` makes
    /// one); without it the peer is left out.
    #[arg(long)]
    peer_venv: Option<PathBuf>,
    /// Where the databases and logs go (default: the system's temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// A PostgreSQL database URL (`postgres://USER@HOST:PORT/DB`, a role with CREATEDB): scimbox
    /// then also runs every workload on a fresh database of that cluster, once per `--instances`
    /// count, in a table beside SQLite's.
    #[arg(long, value_name = "URL")]
    db_url: Option<String>,
    /// How many `scimbox serve` processes share the PostgreSQL database, comma-separated for one
    /// run each (`1,2`); the load generator spreads its connections over them round robin.
    #[arg(long, value_delimiter = ',', value_parser = positive, requires = "db_url")]
    instances: Vec<usize>,
    /// A check that every workload runs, not figures (`scripts/bench.sh --smoke`): no waits for
    /// idleness around the timed workloads, so no CPU per request. On PostgreSQL the cluster's
    /// background processes can keep those waits at their 30 s limit each.
    #[arg(long)]
    smoke: bool,
}

/// Set from `--smoke` for the whole run: [`settle`] then returns at once (the CPU figures it
/// brackets are then not worth reading, which a smoke run does not).
static SMOKE: AtomicBool = AtomicBool::new(false);

/// The limit's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Limit {
    /// The bare axum handler, at `--clients` connections.
    pub bare_axum: Throughput,
    /// The bare axum handler read one request after another on one connection, as many times
    /// as Okta's import has pages (issue 17: the import's target is within 3x of this).
    pub bare_sequential: Throughput,
    /// The bare axum server reading one user's stored text from SQLite per `GET /Users/{id}`,
    /// at `--clients` connections on the same random ids as scimbox's GET by id (issue 17: the
    /// floor of any GET that reads a row).
    pub axum_sqlite_read: Throughput,
    /// The bare axum server's fixed page of 100 users, read one after another by Okta's import's
    /// client and checks, as many times as the import has pages (issue 17: the floor of a page
    /// of 100 read by that client).
    pub bare_page: Throughput,
    /// That page's size in bytes.
    pub bare_page_bytes: u64,
    /// Raw SQLite.
    pub sqlite: SqliteRates,
    /// Raw PostgreSQL inserts, with `--db-url`.
    pub postgres: Option<RawRates>,
}

/// One server's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Users created (the size every later figure is at).
    pub users: u64,
    /// From spawn to the first answer, on an empty database, in ms.
    pub ready_empty_ms: f64,
    /// Memory once ready on an empty database (summed over the instances).
    pub idle: TreeMemory,
    /// POST /Users at `--clients` connections.
    pub create: Throughput,
    /// GET /Users/{id}.
    pub get_by_id: Throughput,
    /// `filter=userName eq "…"`.
    pub filter_indexed: Throughput,
    /// `filter=displayName eq "…"`: answered by scimbox's attribute index (V15; a scan before);
    /// the peer builds an equality index for any attribute on its first `eq` filter.
    pub filter_display_eq: Throughput,
    /// `filter=displayName sw "…"`: a key range of scimbox's attribute index (V15), a scan in the
    /// peer.
    pub filter_scan: Throughput,
    /// Okta's import, one page of 100 at a time.
    pub import: Import,
    /// Entra ID's cycle at `--clients` connections; a unit is one user (lookup, create, update).
    pub entra: Throughput,
    /// The same at `--few-clients` connections.
    pub entra_few: Throughput,
    /// Members of the big group.
    pub group_members: u64,
    /// Filling it, 1,000 members per PATCH.
    pub group_fill: Throughput,
    /// One add and one remove of a member of the big group; a unit is the pair.
    pub membership: Throughput,
    /// Memory at the end, with every user (summed over the instances).
    pub loaded: TreeMemory,
    /// Restart on the full database (scimbox only).
    pub restart: Option<Restart>,
    /// The binary's size (scimbox) or the installed packages' (the peer), in bytes.
    pub size_bytes: Option<u64>,
}

/// Okta's import.
#[derive(Debug, Clone, Serialize)]
pub struct Import {
    /// The pages read.
    pub pages: Throughput,
    /// Whether every page was read within `--import-seconds`.
    pub complete: bool,
    /// Seconds for all users: measured if complete, else projected from the pages' rate.
    pub seconds: f64,
}

/// A restart on the full database.
#[derive(Debug, Clone, Serialize)]
pub struct Restart {
    /// From spawn to the first answer, in ms.
    pub ready_ms: f64,
    /// Memory once ready.
    pub idle: TreeMemory,
}

/// Runs the comparison.
pub async fn run(args: &Args) -> anyhow::Result<CompareReport> {
    let dir = match &args.dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .context("cannot create a temporary directory")?;
    let seconds = Duration::from_secs_f64(args.seconds);
    SMOKE.store(args.smoke, Ordering::Relaxed);
    if let Some(url) = &args.db_url {
        crate::postgres::check(url).await?;
    }

    eprintln!("limit: bare axum, axum + one SQLite read, a bare page, then raw SQLite");
    let bare = bare_axum(args, dir.path()).await?;
    let sqlite = tokio::task::block_in_place(|| limit::sqlite_rates(dir.path(), args.users as u64, args.seconds))
        .context("the raw SQLite measurement failed")?;
    let mut limit = Limit {
        bare_axum: bare.fixed,
        bare_sequential: bare.sequential,
        axum_sqlite_read: bare.sqlite_read,
        bare_page: bare.page,
        bare_page_bytes: bare.page_bytes,
        sqlite,
        postgres: None,
    };

    let scimbox_bin = match &args.scimbox {
        Some(path) => path.clone(),
        None => std::env::current_exe().context("cannot find this binary")?.with_file_name("scimbox"),
    };
    let db = dir.path().join("scimbox.db");
    let bin = Binary::probe(&scimbox_bin).await?;
    eprintln!("scimbox: {} users ({}, {})", args.users, scimbox_bin.display(), bin.version);
    let start = ScimboxStart { bin: bin.clone(), db, log: dir.path().join("scimbox.log") };
    let server = start.launch().await?;
    let mut scimbox = measure(Fleet::one(server), args, args.users as u64, seconds).await?;
    let restarted = start.launch().await?;
    scimbox.restart = Some(Restart { ready_ms: ms(restarted.ready_in), idle: restarted.memory() });
    restarted.stop().await?;
    scimbox.size_bytes = std::fs::metadata(&scimbox_bin).map(|m| m.len()).ok();

    let mut postgres = Vec::new();
    let mut postgres_settings = Vec::new();
    if let Some(url) = &args.db_url {
        let counts = if args.instances.is_empty() { vec![1] } else { args.instances.clone() };
        for instances in counts {
            let database = Database::create(url).await?;
            if postgres_settings.is_empty() {
                postgres_settings = database.settings().await?;
                eprintln!("limit: raw PostgreSQL inserts");
                limit.postgres = Some(database.raw_inserts(args.seconds).await?);
            }
            let run = on_postgres(args, &bin, dir.path(), database, instances, seconds).await?;
            postgres.push(run);
        }
    }

    let peer = match &args.peer_venv {
        Some(venv) => {
            let users = args.peer_users.unwrap_or(args.users) as u64;
            eprintln!("peer: scim2-server, {users} users");
            let server = peer::launch(venv, dir.path()).await?;
            let mut figures = measure(Fleet::one(server), args, users, seconds).await?;
            figures.size_bytes = peer::installed_size(venv);
            Some(figures)
        }
        None => None,
    };
    Ok(CompareReport {
        workload: "compare",
        machine: Machine::this(),
        db_dir: dir.path().display().to_string(),
        clients: args.clients,
        few_clients: args.few_clients,
        seconds: args.seconds,
        limit,
        scimbox,
        peer,
        postgres_settings,
        postgres,
    })
}

/// scimbox's sequence on PostgreSQL: `instances` servers on `database`, then a restart of them
/// all on the full database; the database is dropped afterwards.
async fn on_postgres(
    args: &Args,
    bin: &Binary,
    dir: &Path,
    database: Database,
    instances: usize,
    seconds: Duration,
) -> anyhow::Result<PostgresRun> {
    eprintln!(
        "scimbox on PostgreSQL: {} users, {instances} instance{}, database {}{}{}",
        args.users,
        if instances == 1 { "" } else { "s" },
        database.name,
        if database.has_cpu() { "" } else { " (not on this machine: its CPU time is not counted)" },
        if database.has_statements() { "" } else { " (no pg_stat_statements: statements not counted)" },
    );
    let name = database.name.clone();
    let database = Arc::new(database);
    let start = ScimboxStart {
        bin: bin.clone(),
        db: PathBuf::from(&database.url),
        log: dir.join(format!("scimbox-pg{instances}.log")),
    };
    let fleet = start.launch_fleet(instances, Arc::clone(&database)).await?;
    let result = measure(fleet, args, args.users as u64, seconds).await;
    let result = match result {
        Ok(mut figures) => match start.launch_fleet(instances, Arc::clone(&database)).await {
            Ok(restarted) => {
                figures.restart = Some(Restart { ready_ms: restarted.ready_ms(), idle: restarted.memory() });
                restarted.stop().await.map(|()| figures)
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    if let Some(database) = Arc::into_inner(database) {
        database.drop_database().await;
    }
    Ok(PostgresRun { instances, database: name, figures: result? })
}

/// What the load runs on: one server, or several scimbox instances on one PostgreSQL database,
/// and what they use.
pub(crate) struct Fleet {
    /// The processes, the first one's name naming them all.
    servers: Vec<Server>,
    /// Their PostgreSQL database, if they have one.
    database: Option<Arc<Database>>,
}

impl Fleet {
    /// One server on its own.
    pub(crate) fn one(server: Server) -> Self {
        Self { servers: vec![server], database: None }
    }

    fn name(&self) -> &'static str {
        self.servers.first().map_or("server", |s| s.name)
    }

    fn targets(&self) -> Vec<Target> {
        self.servers.iter().map(|s| s.target.clone()).collect()
    }

    /// Memory of every instance, summed.
    fn memory(&self) -> TreeMemory {
        self.servers.iter().map(Server::memory).fold(TreeMemory::default(), |a, m| TreeMemory {
            rss_kib: a.rss_kib + m.rss_kib,
            peak_kib: a.peak_kib + m.peak_kib,
        })
    }

    /// The slowest instance's time from spawn to ready.
    fn ready_ms(&self) -> f64 {
        self.servers.iter().map(|s| ms(s.ready_in)).fold(0.0, f64::max)
    }

    /// CPU seconds of every instance (their database's processes not included).
    fn cpu_seconds(&self) -> f64 {
        self.servers.iter().map(Server::cpu_seconds).sum()
    }

    async fn stop(self) -> anyhow::Result<()> {
        let mut result = Ok(());
        for server in self.servers {
            let stopped = server.stop().await;
            result = result.and(stopped);
        }
        result
    }
}

/// How to start scimbox on one database file, again and again.
pub(crate) struct ScimboxStart {
    /// The binary, with the flags it accepts.
    pub(crate) bin: Binary,
    /// The database file.
    pub(crate) db: PathBuf,
    /// Where the server's output goes.
    pub(crate) log: PathBuf,
}

impl ScimboxStart {
    /// Migrates the database and issues a token on the first call, then serves it.
    pub(crate) async fn launch(&self) -> anyhow::Result<Server> {
        let fresh = !self.db.exists();
        let token = self.bin.create_token(&self.db, if fresh { "bench" } else { "bench-again" }).await?;
        let addr = process::free_addr()?;
        let command = self.bin.serve(&self.db, addr);
        let target = Target { addr, base_path: "/scim/v2".into(), auth: Some(format!("Bearer {token}")) };
        Server::start("scimbox", command, target, PROBE, &self.log).await
    }

    /// `instances` servers on the PostgreSQL `database`, one token for them all, started one
    /// after the other (the first migrates an empty database); each logs to its own file.
    async fn launch_fleet(&self, instances: usize, database: Arc<Database>) -> anyhow::Result<Fleet> {
        let token = self.bin.create_token(&self.db, &format!("bench-{}", uuid::Uuid::new_v4().simple())).await?;
        let mut servers = Vec::new();
        for i in 0..instances {
            let addr = process::free_addr()?;
            let command = self.bin.serve(&self.db, addr);
            let target = Target { addr, base_path: "/scim/v2".into(), auth: Some(format!("Bearer {token}")) };
            let log = self.log.with_extension(format!("{}.log", i + 1));
            match Server::start("scimbox on PostgreSQL", command, target, PROBE, &log).await {
                Ok(server) => servers.push(server),
                Err(e) => {
                    Fleet { servers, database: None }.stop().await?;
                    return Err(e);
                }
            }
        }
        Ok(Fleet { servers, database: Some(database) })
    }
}

/// What the bare axum server measured.
struct Bare {
    fixed: Throughput,
    sequential: Throughput,
    sqlite_read: Throughput,
    page: Throughput,
    page_bytes: u64,
}

/// The bare axum server on a SQLite file of `--users` stored users, with the bare page: its
/// fixed body loaded at `--clients` connections for `--seconds`, then read on one connection,
/// one request after another, as many times as Okta's import of `--users` has pages; GET by id
/// through one SQLite read, loaded as scimbox's GET by id is; the bare page read as the import
/// reads, as many times as it has pages.
async fn bare_axum(args: &Args, dir: &Path) -> anyhow::Result<Bare> {
    let users = args.users as u64;
    let table = dir.join("floor.sqlite");
    let stored = tokio::task::block_in_place(|| crate::floor::user_table(&table, users))
        .context("cannot build the axum + SQLite floor's table")?;
    let ids = scim::ids(users);
    for (slot, id) in ids.iter().zip(stored) {
        slot.set(id).ok().context("an id was set twice")?;
    }
    let addr = process::free_addr()?;
    let mut command = Command::new(std::env::current_exe().context("cannot find this binary")?);
    command.arg("bare-axum").arg("--listen").arg(addr.to_string());
    command.arg("--db").arg(&table).arg("--page-total").arg(users.to_string());
    let target = Target { addr, base_path: String::new(), auth: None };
    let server = Server::start("bare axum", command, target, limit::FIXED_PATH, &dir.join("bare.log")).await?;
    let result = bare_workloads(&server, args, ids).await;
    server.stop().await?;
    let _ = std::fs::remove_file(&table);
    result
}

async fn bare_workloads(server: &Server, args: &Args, ids: scim::Ids) -> anyhow::Result<Bare> {
    let users = args.users as u64;
    let budget = Budget::Time { limit: Duration::from_secs_f64(args.seconds), max: u64::MAX };
    let script =
        load::single(|_| Call::get(limit::FIXED_PATH.into()), |_, a: &load::Answer| a.expect(hyper::StatusCode::OK));
    let fixed = timed(server, args.clients, budget, script).await?;
    let pages = users.div_ceil(IMPORT_PAGE);
    let sequential =
        load::single(|_| Call::get(limit::FIXED_PATH.into()), |_, a: &load::Answer| a.expect(hyper::StatusCode::OK));
    let sequential = timed(server, 1, Budget::Units(pages), sequential).await?;

    // The floors answer under scimbox's base path, with no token.
    let floor = Target { base_path: crate::floor::BASE_PATH.into(), ..server.target.clone() };
    let sqlite_read = timed_at(server, &floor, args.clients, budget, scim::get_by_id(ids)).await?;
    let first = load::once(&floor, Call::get(format!("/Users?startIndex=1&count={IMPORT_PAGE}"))).await?;
    first.expect(hyper::StatusCode::OK).context("the bare page")?;
    let page_bytes = first.body.len() as u64;
    let okta = scim::OktaImport::same_page(users, IMPORT_PAGE);
    let page = timed_at(server, &floor, 1, Budget::Units(pages), okta).await?;
    Ok(Bare { fixed, sequential, sqlite_read, page, page_bytes })
}

/// Users per page of Okta's import.
const IMPORT_PAGE: u64 = 100;

/// Runs every workload on `server`, with `users` users, then stops it.
async fn measure(server: Fleet, args: &Args, users: u64, seconds: Duration) -> anyhow::Result<Figures> {
    let name = server.name();
    let result = workloads(&server, args, users, seconds).await.with_context(|| format!("{name}: a workload failed"));
    server.stop().await?;
    result
}

async fn workloads(server: &Fleet, args: &Args, users: u64, seconds: Duration) -> anyhow::Result<Figures> {
    let targets = server.targets();
    let target = targets.first().context("no server")?;
    let spell = Budget::Time { limit: seconds, max: u64::MAX };
    let (ready_empty_ms, idle) = (server.ready_ms(), server.memory());

    step(server, "POST /Users");
    let ids = scim::ids(users);
    let create = timed_on(server, args.clients, Budget::Units(users), scim::create_users(ids.clone())).await?;

    step(server, "GET /Users/{id}");
    let get_by_id = timed_on(server, args.clients, spell, scim::get_by_id(ids.clone())).await?;
    step(server, "filter userName eq");
    let by_name = scim::filter_one(users, "userName", "eq", scim::user_name);
    let filter_indexed = timed_on(server, args.clients, spell, by_name).await?;
    step(server, "filter displayName eq");
    let by_display = scim::filter_one(users, "displayName", "eq", scim::display_name);
    let filter_display_eq = timed_on(server, args.few_clients, spell, by_display).await?;
    step(server, "filter displayName sw");
    let by_prefix = scim::filter_one(users, "displayName", "sw", scim::display_name);
    let filter_scan = timed_on(server, args.few_clients, spell, by_prefix).await?;

    step(server, "Okta import");
    let pages = users.div_ceil(IMPORT_PAGE);
    let okta = scim::OktaImport::new(users, IMPORT_PAGE);
    let import_budget = Budget::Time { limit: Duration::from_secs_f64(args.import_seconds), max: pages };
    let page_run = timed_on(server, 1, import_budget, okta).await?;
    let complete = page_run.units == pages;
    let import_secs = if complete { page_run.seconds } else { pages as f64 / page_run.rate };
    let import = Import { pages: page_run, complete, seconds: import_secs };

    step(server, "Entra ID cycle");
    // First at `--clients` connections (parallel jobs: Entra ID runs one per tenant and app, with
    // no rate limit for non-gallery apps), then at `--few-clients` (one job's pace), on new users.
    let most = args.entra_users as u64;
    let entra_ids = scim::ids(2 * most);
    let entra_budget = Budget::Time { limit: seconds, max: most };
    let cycle = scim::EntraCycle { ids: entra_ids.clone(), first: 0 };
    let entra = timed_on(server, args.clients, entra_budget, cycle).await?;
    let cycle = scim::EntraCycle { ids: entra_ids.clone(), first: most };
    let entra_few = timed_on(server, args.few_clients, entra_budget, cycle).await?;

    step(server, "big group");
    let created =
        load::once(target, Call::with_body(Method::POST, "/Groups".into(), scim::group_body("bench all"))).await?;
    created.expect(hyper::StatusCode::CREATED).context("POST /Groups")?;
    let group =
        created.json()?.get("id").and_then(serde_json::Value::as_str).context("the group has no id")?.to_owned();
    let fill_budget =
        Budget::Time { limit: Duration::from_secs_f64(args.import_seconds), max: users.div_ceil(FILL_CHUNK) };
    let group_fill = timed_on(server, 1, fill_budget, scim::fill_group(group.clone(), ids.clone(), FILL_CHUNK)).await?;
    let group_members = (group_fill.units * FILL_CHUNK).min(users);
    let outsider = scim::id_of(&entra_ids, 0)?.to_owned();
    let change_budget = Budget::Time { limit: seconds, max: args.membership_ops as u64 };
    let membership = timed_on(server, 1, change_budget, scim::Membership { group, outsider }).await?;

    Ok(Figures {
        users,
        ready_empty_ms,
        idle,
        create,
        get_by_id,
        filter_indexed,
        filter_display_eq,
        filter_scan,
        import,
        entra,
        entra_few,
        group_members,
        group_fill,
        membership,
        loaded: server.memory(),
        restart: None,
        size_bytes: None,
    })
}

/// [`load::run`] on one server: [`timed_on`] a fleet of it alone.
pub(crate) async fn timed(
    server: &Server,
    connections: usize,
    budget: Budget,
    script: impl load::Script,
) -> anyhow::Result<Throughput> {
    timed_at(server, &server.target, connections, budget, script).await
}

/// [`timed`] through `target`: the server reached under another base path or token.
async fn timed_at(
    server: &Server,
    target: &Target,
    connections: usize,
    budget: Budget,
    script: impl load::Script,
) -> anyhow::Result<Throughput> {
    let targets = [target.clone()];
    let cpu = || server.cpu_seconds();
    measure_run(&targets, &cpu, None, connections, budget, script).await
}

/// [`load::run_on`] the fleet's instances, noting their CPU time per unit, and their database's
/// cost per unit when they have one (CPU, statements): from the start until the servers and the
/// database are idle again, so that work a workload leaves behind (the journal's flush, SQLite's
/// checkpoint, PostgreSQL's autovacuum) is counted for it, not for the next one.
async fn timed_on(
    fleet: &Fleet,
    connections: usize,
    budget: Budget,
    script: impl load::Script,
) -> anyhow::Result<Throughput> {
    let cpu = || fleet.cpu_seconds();
    measure_run(&fleet.targets(), &cpu, fleet.database.as_deref(), connections, budget, script).await
}

async fn measure_run(
    targets: &[Target],
    cpu: &dyn Fn() -> f64,
    database: Option<&Database>,
    connections: usize,
    budget: Budget,
    script: impl load::Script,
) -> anyhow::Result<Throughput> {
    let all_cpu = || cpu() + database.and_then(Database::cpu_seconds).unwrap_or(0.0);
    settle(&all_cpu).await;
    let before = cpu();
    let db_before = match database {
        Some(db) => Some(db.snapshot().await?),
        None => None,
    };
    let mut run = load::run_on(targets, connections, budget, script).await?;
    settle(&all_cpu).await;
    let used = cpu() - before;
    run.server_cpu_us = (run.units > 0).then(|| used * 1e6 / run.units as f64);
    if let (Some(db), Some(db_before)) = (database, db_before) {
        run.db = Some(db.snapshot().await?.since(&db_before, run.units));
    }
    Ok(run)
}

/// Waits (at most 30 s) until `cpu` (the servers' CPU seconds) has grown by at most two clock
/// ticks over 1.2 s: longer than scimbox's journal flush interval (1 s), so a pause between two
/// flushes of a backlog does not pass for idleness.
async fn settle(cpu: &dyn Fn() -> f64) {
    if SMOKE.load(Ordering::Relaxed) {
        return;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut last = cpu();
    while std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let now = cpu();
        if now - last <= 0.021 {
            return;
        }
        last = now;
    }
}

/// Progress on stderr (the results go to stdout).
fn step(server: &Fleet, what: &str) {
    eprintln!("  {}: {what}", server.name());
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
