//! PostgreSQL under `compare --db-url` (issue 18): a fresh database per run in the given
//! cluster, and what the cluster spends on a workload.
//!
//! - **CPU time**: PostgreSQL's work happens in its own processes (a backend per connection, the
//!   WAL writer, the checkpointer), not in scimbox's, so scimbox's CPU per request leaves it out.
//!   When the cluster runs on this machine (a loopback URL), the bench finds the postmaster (the
//!   parent of its own backend, `pg_backend_pid()`) and reads the CPU time of it and every
//!   process under it from `/proc`, plus what its exited children used.
//! - **Statements**: with `pg_stat_statements` in the database (`scripts/pg.sh start --durable`
//!   creates it in `template1`, so every new database has it), the calls of every statement in
//!   this database, the `COMMIT`s among them, and the calls and time of the writers' advisory
//!   lock (`pg_advisory_xact_lock`: the time a batch waited for the other instances' writers).
//!   Every statement scimbox sends is one round trip to the server.
//! - **The limit** ([`Database::raw_inserts`]): durable inserts of a users-shaped row, as raw
//!   SQLite's limit measures them, one per commit and 32 per commit, the 32 sent one after
//!   another (a round trip each, as scimbox's writer sends its statements) and pipelined.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use tokio_postgres::{Client, NoTls};

use crate::limit::{SQLITE_BATCH, row};
use crate::process;

/// A database of its own for one run, created in the cluster of a base URL.
pub struct Database {
    /// Its URL (the base URL with this database's name).
    pub url: String,
    /// Its name.
    pub name: String,
    /// The base URL, to drop the database from.
    base_url: String,
    /// A connection to it, for the counts.
    client: Arc<Client>,
    /// The postmaster's process id, when the cluster runs on this machine.
    postmaster: Option<u32>,
    /// Whether `pg_stat_statements` answers in this database.
    statements: bool,
}

/// What the cluster had done at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    /// CPU seconds of the cluster's processes (when on this machine).
    cpu: Option<f64>,
    /// Counts of `pg_stat_statements` (when it is there).
    counts: Option<Counts>,
}

/// Sums over this database's rows of `pg_stat_statements`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Counts {
    /// Every statement's calls.
    calls: i64,
    /// `COMMIT`s: transactions.
    commits: i64,
    /// Calls of the writers' advisory lock.
    lock_calls: i64,
    /// Milliseconds spent in them (waiting for the lock, mostly).
    lock_ms: f64,
}

/// What the cluster spent on a workload, per unit of it.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DbCost {
    /// CPU time of the cluster's processes per unit, in microseconds.
    pub cpu_us: Option<f64>,
    /// Statements (round trips) per unit.
    pub statements: Option<f64>,
    /// Transactions committed per unit.
    pub commits: Option<f64>,
    /// Mean milliseconds in one call of the writers' advisory lock (`None` when none was taken).
    pub lock_ms: Option<f64>,
}

/// Raw PostgreSQL's durable insert rates (the limit beside scimbox on PostgreSQL).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RawRates {
    /// One insert per commit, one connection.
    pub insert_each: f64,
    /// `SQLITE_BATCH` inserts per commit, each waiting for the one before.
    pub insert_batched: f64,
    /// `SQLITE_BATCH` inserts per commit, pipelined.
    pub insert_pipelined: f64,
}

/// The cluster's settings that decide what a write costs, in the order [`Database::settings`]
/// reports them.
const SETTINGS: [&str; 8] = [
    "server_version",
    "shared_buffers",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_sync_method",
    "wal_buffers",
    "max_connections",
];

/// Fails unless `base_url` answers and its role may create databases: checked before the
/// SQLite run, so that a wrong URL does not cost minutes first.
pub async fn check(base_url: &str) -> anyhow::Result<()> {
    let client = connect(base_url).await?;
    let row = client
        .query_one("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user", &[])
        .await
        .context("cannot read the role's attributes")?;
    anyhow::ensure!(row.get::<_, bool>(0), "{}: the role may not create databases (CREATEDB)", shown(base_url));
    Ok(())
}

impl Database {
    /// Creates a database named `bench_<random>` through `base_url` (whose role needs
    /// `CREATEDB`) and connects to it.
    pub async fn create(base_url: &str) -> anyhow::Result<Self> {
        let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(base_url).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("cannot create database {name} through {}", shown(base_url)))?;
        drop(admin);
        let url =
            with_database(base_url, &name).with_context(|| format!("not a PostgreSQL URL: {}", shown(base_url)))?;
        let client = connect(&url).await?;
        let backend: i32 = client.query_one("SELECT pg_backend_pid()", &[]).await.context("pg_backend_pid()")?.get(0);
        let postmaster = if is_loopback(&url) { u32::try_from(backend).ok().and_then(postmaster_of) } else { None };
        let statements = client.query_one("SELECT count(*) FROM pg_stat_statements", &[]).await.is_ok();
        Ok(Self { url, name, base_url: base_url.to_owned(), client: Arc::new(client), postmaster, statements })
    }

    /// Whether the cluster's CPU time can be read (it runs on this machine).
    pub fn has_cpu(&self) -> bool {
        self.postmaster.is_some()
    }

    /// Whether `pg_stat_statements` counts this database's statements.
    pub fn has_statements(&self) -> bool {
        self.statements
    }

    /// CPU seconds the cluster's processes have used so far (exited backends included).
    pub fn cpu_seconds(&self) -> Option<f64> {
        self.postmaster.map(process::cluster_cpu_seconds)
    }

    /// The cluster's settings of [`SETTINGS`], each as `(name, value)`.
    pub async fn settings(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        for name in SETTINGS {
            let row = self.client.query_one("SELECT current_setting($1)", &[&name]).await.context(name)?;
            out.push((name.to_owned(), row.get(0)));
        }
        Ok(out)
    }

    /// What the cluster has done so far.
    pub async fn snapshot(&self) -> anyhow::Result<Snapshot> {
        let counts = if self.statements { Some(self.counts().await?) } else { None };
        Ok(Snapshot { cpu: self.cpu_seconds(), counts })
    }

    async fn counts(&self) -> anyhow::Result<Counts> {
        // This query's own rows (it names the view) are left out.
        let row = self
            .client
            .query_one(
                "SELECT coalesce(sum(calls), 0)::int8,
                        coalesce(sum(calls) FILTER (WHERE query ILIKE 'COMMIT%'), 0)::int8,
                        coalesce(sum(calls) FILTER (WHERE query ILIKE '%pg_advisory_xact_lock%'), 0)::int8,
                        coalesce(sum(total_exec_time) FILTER (WHERE query ILIKE '%pg_advisory_xact_lock%'), 0)::float8
                   FROM pg_stat_statements
                  WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                    AND query NOT ILIKE '%pg_stat_statements%'",
                &[],
            )
            .await
            .context("cannot read pg_stat_statements")?;
        Ok(Counts { calls: row.get(0), commits: row.get(1), lock_calls: row.get(2), lock_ms: row.get(3) })
    }

    /// Raw durable inserts into a table shaped like raw SQLite's (an integer key, two unique text
    /// columns, a 600-byte document), for `seconds` each way; the table is dropped after.
    pub async fn raw_inserts(&self, seconds: f64) -> anyhow::Result<RawRates> {
        let client = &self.client;
        client
            .batch_execute(
                "CREATE TABLE bench_raw (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id text NOT NULL UNIQUE,
                                         user_name text NOT NULL UNIQUE, doc text NOT NULL)",
            )
            .await
            .context("cannot create the raw table")?;
        let insert = client
            .prepare("INSERT INTO bench_raw (id, user_name, doc) VALUES ($1, $2, $3)")
            .await
            .context("cannot prepare the raw insert")?;
        let budget = Duration::from_secs_f64(seconds);
        let mut next = 0u64;
        let mut rates = [0.0; 3];
        for (way, rate) in rates.iter_mut().enumerate() {
            let (start, first) = (Instant::now(), next);
            while start.elapsed() < budget {
                if way == 0 {
                    let (id, name, doc) = row(next);
                    client.execute(&insert, &[&id, &name, &doc]).await.context("raw insert")?;
                    next += 1;
                    continue;
                }
                client.batch_execute("BEGIN").await.context("BEGIN")?;
                if way == 1 {
                    for _ in 0..SQLITE_BATCH {
                        let (id, name, doc) = row(next);
                        client.execute(&insert, &[&id, &name, &doc]).await.context("raw insert")?;
                        next += 1;
                    }
                } else {
                    // Tasks on one client: tokio-postgres sends their statements without waiting
                    // for each answer (pipelining).
                    let mut tasks = tokio::task::JoinSet::new();
                    for _ in 0..SQLITE_BATCH {
                        let (client, insert, (id, name, doc)) = (Arc::clone(client), insert.clone(), row(next));
                        tasks.spawn(async move { client.execute(&insert, &[&id, &name, &doc]).await });
                        next += 1;
                    }
                    while let Some(done) = tasks.join_next().await {
                        done.context("a raw insert task panicked")?.context("raw insert")?;
                    }
                }
                client.batch_execute("COMMIT").await.context("COMMIT")?;
            }
            *rate = (next - first) as f64 / start.elapsed().as_secs_f64();
        }
        client.batch_execute("DROP TABLE bench_raw").await.context("cannot drop the raw table")?;
        Ok(RawRates { insert_each: rates[0], insert_batched: rates[1], insert_pipelined: rates[2] })
    }

    /// Drops the database (its instances must have stopped); a failure is only reported.
    pub async fn drop_database(self) {
        let Self { name, base_url, client, .. } = self;
        drop(client);
        let dropped = async {
            let admin = connect(&base_url).await?;
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
            anyhow::Ok(())
        };
        if let Err(e) = dropped.await {
            eprintln!("note: database {name} was left behind: {e:#}");
        }
    }
}

impl Snapshot {
    /// The cost per unit of what happened between `before` and this snapshot, over `units`.
    pub fn since(&self, before: &Snapshot, units: u64) -> DbCost {
        let per = |d: f64| (units > 0).then(|| d / units as f64);
        let cpu_us = self.cpu.zip(before.cpu).and_then(|(a, b)| per((a - b) * 1e6));
        let (statements, commits, lock_ms) = match self.counts.zip(before.counts) {
            Some((a, b)) => {
                let locks = a.lock_calls - b.lock_calls;
                (
                    per((a.calls - b.calls) as f64),
                    per((a.commits - b.commits) as f64),
                    (locks > 0).then(|| (a.lock_ms - b.lock_ms) / locks as f64),
                )
            }
            None => (None, None, None),
        };
        DbCost { cpu_us, statements, commits, lock_ms }
    }
}

async fn connect(url: &str) -> anyhow::Result<Client> {
    let connecting = tokio_postgres::connect(url, NoTls);
    let (client, connection) = tokio::time::timeout(Duration::from_secs(30), connecting)
        .await
        .with_context(|| format!("{}: no connection within 30 s", shown(url)))?
        .with_context(|| format!("cannot connect to {}", shown(url)))?;
    tokio::spawn(async move {
        // Ends when the client is dropped; an error then is the server closing the session.
        let _ = connection.await;
    });
    Ok(client)
}

/// `url` with its database (the path) replaced by `name`, any query kept.
fn with_database(url: &str, name: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (rest, query) = rest.split_once('?').map_or((rest, None), |(r, q)| (r, Some(q)));
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("{scheme}://{authority}/{name}{query}"))
}

/// Whether the URL's host is this machine's loopback (so its process ids are ours to read).
fn is_loopback(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else { return false };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// The postmaster of backend `pid`: its parent, if both are PostgreSQL processes of this
/// machine.
fn postmaster_of(pid: u32) -> Option<u32> {
    let is_postgres = |p: u32| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "postgres");
    if !is_postgres(pid) {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let parent = process::parent_of(&stat)?;
    is_postgres(parent).then_some(parent)
}

/// The URL without its password.
fn shown(url: &str) -> String {
    scimbox::db::pg::shown(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_the_database_keeping_the_rest() {
        let swap = |u: &str| with_database(u, "b1");
        assert_eq!(swap("postgres://s@127.0.0.1:5/scimbox").as_deref(), Some("postgres://s@127.0.0.1:5/b1"));
        assert_eq!(swap("postgres://s@h/db?sslmode=disable").as_deref(), Some("postgres://s@h/b1?sslmode=disable"));
        assert_eq!(swap("postgresql://s@h:5").as_deref(), Some("postgresql://s@h:5/b1"));
        assert_eq!(swap("postgres://s@h?x=1").as_deref(), Some("postgres://s@h/b1?x=1"));
        assert_eq!(swap("/tmp/scimbox.db"), None);
    }

    #[test]
    fn knows_a_loopback_host() {
        assert!(is_loopback("postgres://scimbox@127.0.0.1:5432/x"));
        assert!(is_loopback("postgres://u:p@localhost/x"));
        assert!(is_loopback("postgres://u@[::1]:5432/x"));
        assert!(!is_loopback("postgres://u@db.internal:5432/x"));
        assert!(!is_loopback("postgres://u@10.0.0.1/x"));
        assert!(!is_loopback("not a url"));
    }

    #[test]
    fn cost_per_unit_between_snapshots() {
        let before =
            Snapshot { cpu: Some(1.0), counts: Some(Counts { calls: 100, commits: 10, lock_calls: 10, lock_ms: 5.0 }) };
        let after = Snapshot {
            cpu: Some(1.5),
            counts: Some(Counts { calls: 1100, commits: 20, lock_calls: 20, lock_ms: 25.0 }),
        };
        let cost = after.since(&before, 100);
        assert_eq!(cost.cpu_us, Some(5000.0));
        assert_eq!(cost.statements, Some(10.0));
        assert_eq!(cost.commits, Some(0.1));
        assert_eq!(cost.lock_ms, Some(2.0));
        let blind = Snapshot::default().since(&Snapshot::default(), 100);
        assert_eq!((blind.cpu_us, blind.statements, blind.lock_ms), (None, None, None));
        assert_eq!(after.since(&before, 0).statements, None);
    }
}
