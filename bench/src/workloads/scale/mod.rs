//! `scale` (issue 17): how scimbox's costs grow with the number of users, at several sizes in
//! one run (`--users 10000,100000,1000000`).
//!
//! For each size a fresh database is seeded through the library ([`crate::seed`]: the server's
//! own insert, 5,000 users per transaction, minutes for a million rather than the hours a POST
//! per user would take), checkpointed and measured on disk, then served by the release binary as
//! a child process ([`crate::process`], as in production), which is timed from spawn to its first
//! answer to a GET by id (the ready time on the full database). On it, in this order: GET by id,
//! `filter=userName eq` (indexed), `filter=displayName eq` (a scan until an equality index covers
//! it), the last page of the list by `startIndex` and by cursor (RFC 9865), Okta's import (pages
//! of 100 by `startIndex`; beyond `--import-pages` pages, that many pages spread evenly over the
//! whole list are read and the total projected from their mean), the status page's overview
//! (logged in as an administrator), creates, and last the server's peak resident memory.
//!
//! Every answer is checked; server CPU per request comes from `/proc` as in `compare`.

mod report;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::{Method, StatusCode};
use scimbox::db::{Db, tokens};
use scimbox::service::cursor::Cursor;
use scimbox::service::list::Keyset;
use scimbox::{auth, clock};
use serde_json::{Value, json};
use tokio::process::Command;

use super::{Machine, positive};
use crate::load::{self, Answer, Budget, Call, Target};
use crate::process::{self, Server};
use crate::seed;
use crate::stats::Latency;
pub use report::{Import, ScaleReport, SizeFigures};

/// Users whose ids are kept for GET by id (spread evenly over the list).
const SAMPLE_USERS: usize = 1_000;
/// Users per page of the deep pages and of Okta's import.
const PAGE: usize = 100;
/// The administrator the overview is read as.
const ADMIN: &str = "bench";
/// Its password (a throwaway database).
const ADMIN_PASSWORD: &str = "bench-scale-password";

/// `scimbox-bench scale`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Sizes to measure, comma-separated; `_` may group digits.
    #[arg(long, value_delimiter = ',', value_parser = positive, default_value = "10000,100000")]
    users: Vec<usize>,
    /// A few hundred users and short runs on whatever binary is given: checks that every step
    /// works (the test script's smoke run), not figures to read.
    #[arg(long)]
    smoke: bool,
    /// Concurrent connections for GET by id, the indexed filter and the creates.
    #[arg(long, value_parser = positive, default_value_t = 32)]
    clients: usize,
    /// Concurrent connections for the scanning filter.
    #[arg(long, value_parser = positive, default_value_t = 2)]
    few_clients: usize,
    /// Seconds each timed read workload runs (and the most the creates run).
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Most creates timed.
    #[arg(long, value_parser = positive, default_value_t = 5_000)]
    creates: usize,
    /// Most pages of Okta's import read; a longer list is sampled by that many pages spread
    /// evenly over it and the whole import projected from their mean.
    #[arg(long, value_parser = positive, default_value_t = 1_000)]
    import_pages: usize,
    /// Timed fetches of each deep page and of the status overview.
    #[arg(long, value_parser = positive, default_value_t = 20)]
    samples: usize,
    /// The scimbox binary (default: `scimbox` beside this one).
    #[arg(long)]
    scimbox: Option<PathBuf>,
    /// Where the databases go (default: the system's temp directory); a million users take
    /// about a gigabyte.
    #[arg(long)]
    dir: Option<PathBuf>,
}

impl Args {
    /// The smoke run's settings, whatever else was given.
    fn effective(&self) -> Self {
        if !self.smoke {
            return Self { users: self.users.clone(), scimbox: self.scimbox.clone(), dir: self.dir.clone(), ..*self };
        }
        Self {
            users: vec![300],
            smoke: true,
            clients: 4,
            few_clients: 1,
            seconds: 0.2,
            creates: 50,
            // Fewer than the list's 3 pages: the sampled, projected import runs too.
            import_pages: 2,
            samples: 3,
            scimbox: self.scimbox.clone(),
            dir: self.dir.clone(),
        }
    }
}

/// Runs the benchmark at every size, smallest first.
pub async fn run(args: &Args) -> anyhow::Result<ScaleReport> {
    let args = args.effective();
    let bin = match &args.scimbox {
        Some(path) => path.clone(),
        None => std::env::current_exe().context("cannot find this binary")?.with_file_name("scimbox"),
    };
    let mut sizes = args.users.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let mut figures = Vec::new();
    for n in sizes {
        eprintln!("scale: {n} users");
        figures.push(one_size(&args, &bin, n).await.with_context(|| format!("at {n} users"))?);
    }
    Ok(ScaleReport {
        workload: "scale",
        machine: Machine::this(),
        clients: args.clients,
        few_clients: args.few_clients,
        seconds: args.seconds,
        smoke: args.smoke,
        sizes: figures,
    })
}

/// What seeding leaves for the measurements.
struct Seeded {
    /// Sampled users: (number, id).
    sampled: Arc<Vec<(usize, String)>>,
    /// A live bearer token.
    token: String,
    /// The `seq` of the user right before the last page, if the list has more than one page.
    before_last_page: Option<i64>,
}

async fn one_size(args: &Args, bin: &Path, n: usize) -> anyhow::Result<SizeFigures> {
    let (dir, path, db) = super::fresh_db(args.dir.as_ref())?;
    let start = Instant::now();
    let seeded = seed_all(db, n).await?;
    let seed_secs = start.elapsed().as_secs_f64();
    let (db_bytes, before_last_page) = tokio::task::block_in_place(|| checkpoint(&path, n))?;
    let seeded = Seeded { before_last_page, ..seeded };

    let addr = process::free_addr()?;
    let mut command = Command::new(bin);
    command.arg("serve").arg("--db").arg(&path).arg("--listen").arg(addr.to_string());
    // One token at full speed: the per-token rate limit (issue 15) would cap the figures.
    command.arg("--rate").arg("0");
    let target = Target { addr, base_path: "/scim/v2".into(), auth: Some(format!("Bearer {}", seeded.token)) };
    let probe = format!("/Users/{}", seeded.sampled[0].1);
    let server = Server::start("scimbox", command, target, &probe, &dir.path().join("scimbox.log")).await?;
    let result = measure(&server, args, n, &seeded).await;
    server.stop().await?;
    let mut figures = result?;
    figures.seed_secs = seed_secs;
    figures.db_bytes = db_bytes;
    figures.bytes_per_user = db_bytes as f64 / n as f64;
    Ok(figures)
}

/// Seeds `n` users, a token and an administrator, then closes the database.
async fn seed_all(db: Db, n: usize) -> anyhow::Result<Seeded> {
    let sampled = seed::users_sampled(&db, n, (n / SAMPLE_USERS).max(1)).await?;
    anyhow::ensure!(!sampled.is_empty(), "no user was seeded");
    let token = auth::generate();
    let (hash, now) = (auth::hash(&token), clock::now_stamp());
    db.write(move |c| tokens::insert(c, "bench", &hash, &now, None)).await.context("cannot issue a token")?;
    scimbox::service::admins::add(&db, ADMIN, ADMIN_PASSWORD).await.context("cannot add the administrator")?;
    Ok(Seeded { sampled: Arc::new(sampled), token, before_last_page: None })
}

/// Folds the write-ahead log into the database file (so that its size is the data's, and the
/// server starts as it would after a clean shutdown); returns the file's size and the `seq` of
/// the user right before the last page.
fn checkpoint(path: &Path, n: usize) -> anyhow::Result<(u64, Option<i64>)> {
    let conn = rusqlite::Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).context("cannot checkpoint")?;
    let before_last = match n.checked_sub(PAGE + 1) {
        Some(offset) => Some(conn.query_row(
            "SELECT seq FROM users ORDER BY seq LIMIT 1 OFFSET ?1",
            [i64::try_from(offset)?],
            |r| r.get(0),
        )?),
        None => None,
    };
    drop(conn);
    let size = |p: PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    Ok((size(path.to_path_buf()) + size(PathBuf::from(wal)), before_last))
}

async fn measure(server: &Server, args: &Args, n: usize, seeded: &Seeded) -> anyhow::Result<SizeFigures> {
    let (ready_ms, idle) = (server.ready_in.as_secs_f64() * 1000.0, server.memory());
    let spell = Budget::Time { limit: Duration::from_secs_f64(args.seconds), max: u64::MAX };
    let total = n as u64;

    step("GET /Users/{id}");
    let ids = Arc::clone(&seeded.sampled);
    let get = load::single(
        move |k| Call::get(format!("/Users/{}", ids[load::spread(k, ids.len() as u64) as usize].1)),
        |_, a: &Answer| a.expect(StatusCode::OK),
    );
    let get_by_id = timed(server, args.smoke, args.clients, spell, get).await?;

    step("filter userName eq");
    let by_name = filter_one("userName", seed::user_name, total);
    let filter_user_name = timed(server, args.smoke, args.clients, spell, by_name).await?;
    step("filter displayName eq");
    let by_display = filter_one("displayName", seed::display_name, total);
    let filter_display_name = timed(server, args.smoke, args.few_clients, spell, by_display).await?;

    step("the last page, by startIndex and by cursor");
    let want = n.min(PAGE);
    let last_index = n.saturating_sub(PAGE) + 1;
    let by_index = load::single(
        move |_| Call::get(format!("/Users?startIndex={last_index}&count={PAGE}")),
        move |_, a: &Answer| full_page(a, total, want),
    );
    let samples = Budget::Units(args.samples as u64);
    let deep_index = timed(server, args.smoke, 1, samples, by_index).await?;
    let cursor = deep_cursor(&server.target, seeded.before_last_page).await?;
    let by_cursor = load::single(
        move |_| Call::get(format!("/Users?cursor={cursor}&count={PAGE}")),
        move |_, a: &Answer| page_of(a, want).map(drop),
    );
    let deep_cursor = timed(server, args.smoke, 1, samples, by_cursor).await?;

    step("Okta import");
    let import = okta_import(server, args.smoke, n, args.import_pages).await?;

    step("status overview");
    let overview = overview(&server.target, args.samples).await?;

    step("POST /Users");
    let create_budget = Budget::Time { limit: Duration::from_secs_f64(args.seconds), max: args.creates as u64 };
    let create = load::single(
        |k| {
            let name = format!("scale{k}@bench.example");
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": name,
                "displayName": format!("Scale User {k}"),
                "emails": [{ "value": name, "type": "work", "primary": true }],
                "active": true,
            });
            Call::with_body(Method::POST, "/Users".into(), body.to_string())
        },
        |_, a: &Answer| a.expect(StatusCode::CREATED),
    );
    let create = timed(server, args.smoke, args.clients, create_budget, create).await?;

    Ok(SizeFigures {
        users: total,
        seed_secs: 0.0,
        db_bytes: 0,
        bytes_per_user: 0.0,
        ready_ms,
        idle,
        get_by_id,
        filter_user_name,
        filter_display_name,
        deep_index,
        deep_cursor,
        import,
        overview,
        create,
        end: server.memory(),
    })
}

/// GET /Users?filter=ATTR eq "…" for users spread over the list; each must find exactly one.
fn filter_one(attr: &'static str, value: fn(usize) -> String, total: u64) -> impl load::Script {
    load::single(
        move |k| {
            let filter = format!("{attr} eq \"{}\"", value(load::spread(k, total) as usize));
            let filter = percent_encoding::utf8_percent_encode(&filter, percent_encoding::NON_ALPHANUMERIC);
            Call::get(format!("/Users?filter={filter}"))
        },
        |_, a: &Answer| {
            let found = list_of(a)?.get("totalResults").and_then(Value::as_u64).context("no totalResults")?;
            anyhow::ensure!(found == 1, "the filter found {found} users, not 1");
            Ok(())
        },
    )
}

/// A 200 list answer's body.
fn list_of(a: &Answer) -> anyhow::Result<Value> {
    a.expect(StatusCode::OK)?;
    a.json()
}

/// A page holding `want` users.
fn page_of(a: &Answer, want: usize) -> anyhow::Result<Value> {
    let body = list_of(a)?;
    let got = body.get("Resources").and_then(Value::as_array).map_or(0, Vec::len);
    anyhow::ensure!(got == want, "the page holds {got} users, not {want}");
    Ok(body)
}

/// A page of `want` users that says the list holds `total`.
fn full_page(a: &Answer, total: u64, want: usize) -> anyhow::Result<()> {
    let body = page_of(a, want)?;
    let said = body.get("totalResults").and_then(Value::as_u64).context("no totalResults")?;
    anyhow::ensure!(said == total, "totalResults {said}, not {total}");
    Ok(())
}

/// A cursor to the last page: the first page's `nextCursor`, moved to just after the user
/// before the last page (its query binding and count stay the server's own).
async fn deep_cursor(target: &Target, before_last_page: Option<i64>) -> anyhow::Result<String> {
    let first = load::once(target, Call::get(format!("/Users?cursor=&count={PAGE}"))).await?;
    let body = list_of(&first).context("the first cursor page")?;
    let Some(seq) = before_last_page else { return Ok(String::new()) };
    let next = body.get("nextCursor").and_then(Value::as_str).context("the first page has no nextCursor")?;
    let mut cursor = Cursor::parse(next).map_err(|e| anyhow::anyhow!("the server's nextCursor: {e}"))?;
    cursor.pos.at = Keyset::After { seq, key: None };
    Ok(cursor.to_text())
}

/// Okta's import: every page of 100 by `startIndex`, one at a time, when there are at most
/// `most` pages; otherwise `most` pages spread evenly over the list, and the whole projected.
async fn okta_import(server: &Server, smoke: bool, n: usize, most: usize) -> anyhow::Result<Import> {
    let pages = n.div_ceil(PAGE) as u64;
    let read = pages.min(most as u64);
    let total = n as u64;
    let script = load::single(
        move |k| Call::get(format!("/Users?startIndex={}&count={PAGE}", k * pages / read * PAGE as u64 + 1)),
        move |k, a: &Answer| {
            let first = k * pages / read * PAGE as u64;
            full_page(a, total, usize::try_from((total - first).min(PAGE as u64))?)
        },
    );
    let run = timed(server, smoke, 1, Budget::Units(read), script).await?;
    let complete = read == pages;
    let seconds = if complete { run.seconds } else { run.seconds / run.units as f64 * pages as f64 };
    Ok(Import { pages, complete, seconds, read: run })
}

/// The status page's overview (`GET /`), logged in as the administrator, `samples` times.
async fn overview(target: &Target, samples: usize) -> anyhow::Result<Latency> {
    let origin = format!("http://{}", target.addr);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let form = [("name", ADMIN), ("password", ADMIN_PASSWORD), ("next", "/")];
    let login = client.post(format!("{origin}/login")).form(&form).send().await.context("POST /login")?;
    anyhow::ensure!(login.status() == StatusCode::SEE_OTHER, "logging in answered {}", login.status());
    let cookie = login
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("no session cookie")?
        .to_owned();
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let page = client.get(format!("{origin}/")).header(reqwest::header::COOKIE, &cookie).send().await?;
        let status = page.status();
        let text = page.text().await?;
        times.push(start.elapsed());
        anyhow::ensure!(status == StatusCode::OK, "the overview answered {status}: {text:.300}");
    }
    Latency::of(&times).context("no overview was read")
}

/// [`load::run`] with the server's CPU per unit, measured between two idle moments as
/// `compare` does; the smoke run skips the waits for idleness (over a second each) and the CPU
/// figure.
async fn timed(
    server: &Server,
    smoke: bool,
    connections: usize,
    budget: Budget,
    script: impl load::Script,
) -> anyhow::Result<load::Throughput> {
    if smoke {
        return load::run(&server.target, connections, budget, script).await;
    }
    super::compare::timed(server, connections, budget, script).await
}

/// Progress on stderr (the results go to stdout).
fn step(what: &str) {
    eprintln!("  {what}");
}
