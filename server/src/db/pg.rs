//! PostgreSQL, the second engine (issue 18): what `--db postgres://...` opens instead of a file.
//!
//! The shape stays the one of [`super`]: reads on a pool of connections (deadpool-postgres, as
//! many as [`super::READERS`]) from the blocking threads, writes on one writer thread that keeps
//! the group commit (one transaction per batch, a savepoint per write but a create's, see
//! [`super::Db::write_unshielded`]). Each batch first takes
//! [`BATCH_LOCK`] with `pg_advisory_xact_lock`, so the writers of several instances on one
//! database commit one at a time: the change feed's `seq` (an identity) then grows in commit
//! order across instances, as it does with SQLite's single writer.
//!
//! tokio-postgres is asynchronous and its connections are futures that a runtime must drive. They
//! run on a small runtime of this engine's own (`Driver`), not the caller's, because the store
//! is opened from synchronous code (the CLI opens it before its runtime exists) as well as from
//! async code (`serve`). The writer thread and the blocking threads wait on that runtime with
//! [`tokio::runtime::Handle::block_on`]; no async worker ever does, which is why `Db::read_now`
//! falls back to `Db::read` on this engine.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;

use super::sql::Connection;
use super::{Db, Job, StoreError, pg_value};

mod embedded {
    refinery::embed_migrations!("../migrations-pg");
}

// The webhook delivery lease (issue 18): a session advisory lock on a connection of its own.
pub mod lease;

/// The advisory lock every write batch takes (`pg_advisory_xact_lock`), released by its commit:
/// the ASCII of "scimbox1", one global order for the writers of every instance.
pub const BATCH_LOCK: i64 = 0x7363_696d_626f_7831;

/// The URL in a `--db` value, when it names a PostgreSQL database (`postgres://` or
/// `postgresql://`, libpq's two URI schemes); anything else is a file path (SQLite).
pub fn url(location: &Path) -> Option<&str> {
    let text = location.to_str()?;
    let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
    (lower.starts_with("postgres://") || lower.starts_with("postgresql://")).then_some(text)
}

/// A URL fit for logs and pages: its password, if any, replaced by `***`.
pub fn shown(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

impl super::Db {
    /// Creates and migrates the store at `location` (a file, or a `postgres://` URL) and starts
    /// nothing (`scimbox migrate`); returns how to name it in a message.
    pub fn migrate_only(location: &Path) -> Result<String, StoreError> {
        match url(location) {
            Some(url) => open(url).map(|engine| engine.shown),
            None => super::migrate(location).map(|_| location.display().to_string()),
        }
    }

    /// Whether `location` names a PostgreSQL database (a `postgres://` URL), not a SQLite file.
    pub fn is_postgres(location: &Path) -> bool {
        url(location).is_some()
    }

    /// How to name the store at `location` in logs and pages: a file's path, or a URL without
    /// its password.
    pub fn shown(location: &Path) -> String {
        url(location).map_or_else(|| location.display().to_string(), shown)
    }
}

/// The runtime that drives this engine's connections, on a thread of its own that ends (and drops
/// the runtime, which a runtime may not be inside another) when the last handle to it goes.
pub(crate) struct Driver {
    handle: Handle,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl Driver {
    fn start() -> Result<Arc<Self>, StoreError> {
        let (ready, handle) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("scimbox-pg".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("scimbox-pg-io")
                    .enable_all()
                    .build();
                match rt {
                    Ok(rt) => {
                        let _ = ready.send(Ok(rt.handle().clone()));
                        rt.block_on(async {
                            let _ = stopped.await;
                        });
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string()));
                    }
                }
            })
            .map_err(|e| StoreError::Internal(format!("starting the PostgreSQL driver thread: {e}")))?;
        let handle = handle
            .recv()
            .map_err(|_| StoreError::Internal("the PostgreSQL driver thread ended".into()))?
            .map_err(|e| StoreError::Internal(format!("starting the PostgreSQL driver: {e}")))?;
        Ok(Arc::new(Self { handle, stop: Mutex::new(Some(stop)) }))
    }

    /// Runs `f` to its end on this runtime, from a thread that is no async worker (the writer,
    /// a blocking thread, or the opening thread).
    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.handle.block_on(f)
    }

    /// Runs `f` on this runtime in the background, until it ends or the runtime stops.
    fn spawn(&self, f: impl std::future::Future<Output = ()> + Send + 'static) {
        drop(self.handle.spawn(f));
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Ok(mut stop) = self.stop.lock()
            && let Some(stop) = stop.take()
        {
            let _ = stop.send(());
        }
    }
}

/// An opened PostgreSQL store: the driver, the readers' pool and the writer's connection.
pub(crate) struct Engine {
    pub(crate) driver: Arc<Driver>,
    pub(crate) readers: deadpool_postgres::Pool,
    pub(crate) writer: deadpool_postgres::Pool,
    /// What logs and errors show of the URL.
    pub(crate) shown: String,
    rewrites: Arc<Rewrites>,
    /// The parsed URL and its TLS connector, for the listener's connection of its own.
    config: tokio_postgres::Config,
    tls: super::pg_tls::MakeRustls,
    /// Whether the listener ([`super::pg_listen`]) was started.
    listening: std::sync::Once,
}

/// Connects to the database at `url` and applies the pending migrations of `migrations-pg/`.
/// Runs on a thread of its own: the caller may be an async worker, where waiting is not allowed.
pub(crate) fn open(url: &str) -> Result<Engine, StoreError> {
    off_thread(|| {
        let engine = connect(url)?;
        engine.migrate()?;
        Ok(engine)
    })
}

/// Runs `f` on a new thread, where no runtime is entered, and waits for it.
fn off_thread<T: Send>(f: impl FnOnce() -> Result<T, StoreError> + Send) -> Result<T, StoreError> {
    std::thread::scope(|s| {
        s.spawn(f).join().unwrap_or_else(|_| Err(StoreError::Internal("opening PostgreSQL panicked".into())))
    })
}

/// An error with its causes, which refinery's and the pool's own text leave out.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

/// A URL as tokio-postgres' configuration and the TLS connector its `sslmode` and
/// `sslrootcert` ask for (`pg_tls`).
pub(crate) fn config_of(url: &str) -> Result<(tokio_postgres::Config, super::pg_tls::MakeRustls), String> {
    let (rest, settings) = super::pg_tls::split(url)?;
    let mut config: tokio_postgres::Config = rest.parse().map_err(|e| format!("not a PostgreSQL URL: {e}"))?;
    config.ssl_mode(settings.mode);
    Ok((config, super::pg_tls::MakeRustls::new(&settings)?))
}

/// The engine without migrating (the caller is on a thread of its own).
fn connect(url: &str) -> Result<Engine, StoreError> {
    let shown = shown(url);
    let (config, tls) = config_of(url).map_err(|e| StoreError::Internal(format!("--db {shown}: {e}")))?;
    let driver = Driver::start()?;
    let pool = |size: usize| {
        let manager = deadpool_postgres::Manager::from_config(
            config.clone(),
            tls.clone(),
            deadpool_postgres::ManagerConfig { recycling_method: deadpool_postgres::RecyclingMethod::Fast },
        );
        deadpool_postgres::Pool::builder(manager)
            .max_size(size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Internal(format!("PostgreSQL pool for {shown}: {e}")))
    };
    let engine = Engine {
        readers: pool(super::READERS)?,
        writer: pool(1)?,
        driver,
        shown: shown.clone(),
        rewrites: Arc::default(),
        config,
        tls,
        listening: std::sync::Once::new(),
    };
    Ok(engine)
}

impl Engine {
    /// Starts the listener that hears every instance's commits ([`super::pg_listen`]), once:
    /// by the first subscriber to this process's signals, so a CLI command, which has none,
    /// opens no connection for it.
    pub(crate) fn listen(&self, sinks: impl FnOnce() -> super::pg_listen::Sinks) {
        self.listening.call_once(|| {
            self.driver.spawn(super::pg_listen::run(
                self.config.clone(),
                self.tls.clone(),
                self.shown.clone(),
                sinks(),
            ));
        });
    }

    /// Applies the pending migrations of `migrations-pg/` (refinery refuses a database whose
    /// applied migrations diverge from these).
    fn migrate(&self) -> Result<(), StoreError> {
        let shown = &self.shown;
        self.driver.block_on(async {
            let mut client = self.writer.get().await.map_err(|e| unavailable(shown, &chain(&e)))?;
            let client: &mut tokio_postgres::Client = &mut client;
            embedded::migrations::runner()
                .run_async(client)
                .await
                .map_err(|e| StoreError::Internal(format!("migrating {shown}: {}", chain(&e))))?;
            Ok(())
        })
    }
}

/// The highest schema version this build's PostgreSQL migrations reach.
pub fn schema_version() -> i64 {
    embedded::migrations::runner().get_migrations().iter().map(|m| i64::from(m.version())).max().unwrap_or(0)
}

/// A pool that cannot give a connection: the database is unreachable or refuses us.
pub(crate) fn unavailable(shown: &str, e: &dyn std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("PostgreSQL at {shown} is unavailable: {e}"))
}

/// SQL written for SQLite's numbered placeholders (`?1`, `?2`, or a bare `?` for the next
/// number) with PostgreSQL's (`$1`, `$2`). Quoted text, quoted names and comments are copied as
/// they are. Statements are rewritten once and kept (`Rewrites`).
pub fn placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    numbered(sql)
}

/// A statement of the code in PostgreSQL's words: its placeholders ([`placeholders`]), and
/// SQLite's `INSERT OR IGNORE` as `INSERT ... ON CONFLICT DO NOTHING` (the one SQLite idiom the
/// code uses verbatim in several modules; other differences branch on the dialect in `db`).
pub fn translate(sql: &str) -> String {
    let mut out = placeholders(sql).into_owned();
    let head = out.trim_start();
    if head.len() > 17 && head[..17].eq_ignore_ascii_case("INSERT OR IGNORE ") {
        let at = out.len() - head.len();
        out.replace_range(at..at + 17, "INSERT ");
        let body = out.trim_end().trim_end_matches(';').to_owned();
        out = format!("{body} ON CONFLICT DO NOTHING");
    }
    out
}

fn numbered(sql: &str) -> Cow<'_, str> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let (mut i, mut next, mut copied) = (0, 1_u32, 0);
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
                i += 1;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'?' => {
                out.push_str(&sql[copied..i]);
                let digits = bytes[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                let n = if digits == 0 { next } else { sql[i + 1..i + 1 + digits].parse().unwrap_or(next) };
                next = n + 1;
                out.push('$');
                out.push_str(&n.to_string());
                i += 1 + digits;
                copied = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied.min(sql.len())..]);
    Cow::Owned(out)
}

/// Rewritten statements, by their SQLite text (the statements are a fixed set, plus the few that
/// are built per filter: the cache stays small); the inserts run through
/// [`PgConn::insert_seq`] are kept apart, with `RETURNING seq` added.
#[derive(Default)]
pub(crate) struct Rewrites {
    plain: Mutex<HashMap<String, Arc<str>>>,
    returning: Mutex<HashMap<String, Arc<str>>>,
}

impl Rewrites {
    pub(crate) fn get(&self, sql: &str) -> Arc<str> {
        Self::kept(&self.plain, sql, translate)
    }

    /// The insert `sql` in PostgreSQL's words, returning the new row's `seq`.
    pub(crate) fn returning_seq(&self, sql: &str) -> Arc<str> {
        Self::kept(&self.returning, sql, |sql| {
            let mut out = translate(sql);
            out.truncate(out.trim_end().trim_end_matches(';').trim_end().len());
            out.push_str(" RETURNING seq");
            out
        })
    }

    fn kept(map: &Mutex<HashMap<String, Arc<str>>>, sql: &str, make: impl FnOnce(&str) -> String) -> Arc<str> {
        let mut map = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(done) = map.get(sql) {
            return Arc::clone(done);
        }
        let done: Arc<str> = make(sql).into();
        if map.len() < 4096 {
            map.insert(sql.to_owned(), Arc::clone(&done));
        }
        done
    }
}

/// A PostgreSQL connection used synchronously, as the code uses a rusqlite one: every call waits
/// on the engine's runtime, so it must be made from the writer thread or a blocking thread.
pub struct PgConn {
    driver: Arc<Driver>,
    client: deadpool_postgres::Object,
    rewrites: Arc<Rewrites>,
    /// Whether a transaction is open (tokio-postgres does not say; the facade's `is_autocommit`).
    in_tx: std::cell::Cell<bool>,
    /// Rows changed and statements failed on this connection ([`PgConn::total_changes`]).
    changes: std::cell::Cell<u64>,
}

impl PgConn {
    /// Runs one statement (SQLite placeholders, rewritten once) with `params`; the rows changed.
    pub fn execute(&self, sql: &str, params: &[pg_value::Param]) -> Result<usize, Failure> {
        let sql = self.rewrites.get(sql);
        let n = self.counted(self.driver.block_on(async {
            let stmt = self.client.prepare_cached(&sql).await.map_err(|e| describe(&e))?;
            let refs = refs(params);
            self.client.execute(&stmt, &refs).await.map_err(|e| describe(&e))
        }))?;
        self.changes.set(self.changes.get().saturating_add(n));
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Rows changed by this connection's statements (`execute`, `insert_seq`) since it was taken
    /// from its pool, plus one per statement that failed: after a failure PostgreSQL refuses
    /// every statement of the transaction, so the writer must undo it as surely as a change
    /// (`Db::write_unshielded`). Statements run as queries are reads.
    pub fn total_changes(&self) -> u64 {
        self.changes.get()
    }

    /// `out`, counting a failure in [`PgConn::total_changes`].
    fn counted<T>(&self, out: Result<T, Failure>) -> Result<T, Failure> {
        if out.is_err() {
            self.changes.set(self.changes.get().saturating_add(1));
        }
        out
    }

    /// Runs one query with `params`; every row, each as its cells.
    pub fn query(&self, sql: &str, params: &[pg_value::Param]) -> Result<Vec<Vec<pg_value::Cell>>, Failure> {
        self.query_named(sql, params).map(|(_, rows)| rows)
    }

    /// [`PgConn::query`], with the result's column names.
    pub fn query_named(
        &self,
        sql: &str,
        params: &[pg_value::Param],
    ) -> Result<(Vec<String>, Vec<Vec<pg_value::Cell>>), Failure> {
        let sql = self.rewrites.get(sql);
        self.driver.block_on(async {
            let stmt = self.client.prepare_cached(&sql).await.map_err(|e| describe(&e));
            let stmt = self.counted(stmt)?;
            let refs = refs(params);
            let rows = self.counted(self.client.query(&stmt, &refs).await.map_err(|e| describe(&e)))?;
            let names = stmt.columns().iter().map(|c| c.name().to_owned()).collect();
            let rows: Result<Vec<_>, Failure> = rows
                .iter()
                .map(|row| {
                    (0..row.len())
                        .map(|i| row.try_get::<_, pg_value::Cell>(i).map_err(|e| Failure::Other(e.to_string())))
                        .collect()
                })
                .collect();
            Ok((names, rows?))
        })
    }

    /// Runs statements without parameters, as they are (no placeholders to rewrite).
    pub fn execute_batch(&self, sql: &str) -> Result<(), Failure> {
        let out = self.counted(self.driver.block_on(self.client.batch_execute(sql)).map_err(|e| describe(&e)));
        let word = sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let second = sql.split_whitespace().nth(1).unwrap_or("").to_ascii_uppercase();
        match word.as_str() {
            "BEGIN" | "START" if out.is_ok() => self.in_tx.set(true),
            "COMMIT" | "END" => self.in_tx.set(false),
            "ROLLBACK" if second != "TO" => self.in_tx.set(false),
            _ => {}
        }
        out
    }

    /// Whether a transaction is open on this connection.
    pub fn in_transaction(&self) -> bool {
        self.in_tx.get()
    }

    /// Runs the one-row insert `sql` with `RETURNING seq` added; the new row's `seq`, `None` when
    /// it inserted nothing (`ON CONFLICT DO NOTHING`). One round trip, where `SELECT lastval()`
    /// after the insert was a second.
    pub fn insert_seq(&self, sql: &str, params: &[pg_value::Param]) -> Result<Option<i64>, Failure> {
        let sql = self.rewrites.returning_seq(sql);
        let rows = self.counted(self.driver.block_on(async {
            let stmt = self.client.prepare_cached(&sql).await.map_err(|e| describe(&e))?;
            self.client.query(&stmt, &refs(params)).await.map_err(|e| describe(&e))
        }))?;
        self.changes.set(self.changes.get().saturating_add(rows.len() as u64));
        match rows.first() {
            None => Ok(None),
            Some(row) => row.try_get::<_, i64>(0).map(Some).map_err(|e| Failure::Other(e.to_string())),
        }
    }

    /// Whether the connection is gone (the server restarted, the network dropped).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

/// Runs one batch of writes in one transaction on the writer's connection (see the module
/// documentation): `BEGIN`, the batch lock, each write through `run` (which wraps it in its own
/// savepoint, on PostgreSQL a failed statement spoiling the whole transaction, but for a create,
/// whose failure after a change or a failed statement takes the batch back: the writes after it
/// are refused), then `COMMIT`. Returns each write's completion and the batch's outcome.
///
/// A transaction that a failed rollback left spoiled would "commit" as a rollback without an
/// error, so before `COMMIT` a probe statement must succeed.
pub(crate) fn run_batch<J, C>(
    conn: &Connection,
    batch: Vec<J>,
    mut run: impl FnMut(J, Option<&Connection>) -> C,
) -> (Vec<C>, Result<(), StoreError>) {
    let begin = conn
        .execute_batch("BEGIN")
        .and_then(|()| conn.query_row("SELECT pg_advisory_xact_lock(?1)", [BATCH_LOCK], |_| Ok(())));
    if let Err(e) = begin {
        let _ = conn.execute_batch("ROLLBACK");
        let done = batch.into_iter().map(|j| run(j, None)).collect();
        return (done, Err(StoreError::from(e)));
    }
    // A write without a savepoint (a create, `Db::write_unshielded`) that failed after a change
    // or a failed statement spoiled the batch: the writes after it are refused, not run, and
    // nothing of the batch commits.
    super::JOB_FAULT.with(|f| f.take());
    let mut broken = false;
    let done: Vec<C> = batch
        .into_iter()
        .map(|j| {
            if broken {
                return run(j, None);
            }
            let done = run(j, Some(conn));
            broken = super::BROKEN_PROMISE.with(|b| b.replace(false));
            done
        })
        .collect();
    if broken {
        let _ = conn.execute_batch("ROLLBACK");
        let e = match super::JOB_FAULT.with(|f| f.take()) {
            Some(reason) => StoreError::Unavailable(reason),
            None => StoreError::Internal("a write failed half-way; its batch was rolled back".into()),
        };
        return (done, Err(e));
    }
    // Every instance's listener hears of the events at the commit (`pg_listen`).
    let notify = || {
        if super::events::batch_wrote() { conn.execute(super::pg_listen::NOTIFY_EVENTS, []).map(drop) } else { Ok(()) }
    };
    let outcome = notify()
        .and_then(|()| conn.query_row("SELECT 1", [], |_| Ok(())))
        .and_then(|()| conn.execute_batch("COMMIT"))
        .map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            StoreError::Unavailable(format!("the batch's transaction could not commit; nothing of it did: {e}"))
        });
    (done, outcome)
}

/// Opens the store at `url` as a [`Db`]: the engine, and the writer thread with its own
/// connection (taken again from its pool of one when the connection is lost).
pub(crate) fn open_db(url: &str) -> Result<Db, StoreError> {
    let engine = Arc::new(open(url)?);
    // The start-up work `db::migrate` does on SQLite: derived keys, stored bodies, the index.
    let fill = off_thread(|| {
        let mut conn = Connection::from(engine.connection(&engine.writer)?);
        super::users::rekey(&mut conn)?;
        super::stored::fill(&mut conn)?;
        super::attr_index::prepare(&conn)
    })?;
    let health = Arc::new(super::health::Health::new(Path::new(url)));
    let (tx, rx) = crossbeam_channel::unbounded::<Job>();
    let events = Arc::new(super::events::Notifier::default());
    let tokens = Arc::new(super::tokens::Changes::default());
    std::thread::Builder::new()
        .name("scimbox-writer".into())
        .spawn({
            let (engine, health, events) = (Arc::clone(&engine), Arc::clone(&health), Arc::clone(&events));
            move || writer_loop(&engine, &rx, &health, &events)
        })
        .map_err(|e| StoreError::Internal(format!("starting the writer thread: {e}")))?;
    if fill {
        let _ = tx.send(super::attr_index::fill_job(tx.clone(), std::time::Instant::now(), 0));
    }
    let readers =
        super::ReaderPool { conns: Mutex::new(Vec::new()), permits: tokio::sync::Semaphore::new(super::READERS) };
    Ok(Db { writer: tx, readers: Arc::new(readers), health, events, tokens, pg: Some(engine) })
}

/// `Db::read` on PostgreSQL: `f` on a connection of the readers' pool, on the blocking pool (which
/// may wait on the engine's runtime; an async worker may not).
pub(crate) async fn read<T, F>(engine: &Arc<Engine>, f: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
{
    let engine = Arc::clone(engine);
    tokio::task::spawn_blocking(move || {
        let conn = Connection::from(engine.connection(&engine.readers)?);
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&conn)))
            .unwrap_or_else(|_| Err(StoreError::Internal("a read panicked".into())));
        // A read that failed or panicked inside a snapshot leaves its transaction open; the pool
        // would hand that connection, stuck in an old snapshot, to the next read.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        out
    })
    .await
    .map_err(|e| StoreError::Internal(format!("read task: {e}")))?
}

fn writer_loop(
    engine: &Engine,
    rx: &crossbeam_channel::Receiver<Job>,
    health: &super::health::Health,
    events: &super::events::Notifier,
) {
    let mut conn: Option<Connection> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < super::MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if conn.as_ref().is_some_and(Connection::is_closed) {
            conn = None;
        }
        if conn.is_none() {
            match engine.connection(&engine.writer) {
                Ok(c) => conn = Some(Connection::from(c)),
                Err(e) => {
                    health.note(Err(&e));
                    for job in batch {
                        job(None)(Err(super::same(&e)));
                    }
                    continue;
                }
            }
        }
        let Some(c) = conn.as_ref() else { continue };
        let (done, outcome) = run_batch(c, batch, |job, c| job(c));
        health.note(outcome.as_ref().map(|_| ()));
        for d in done {
            d(outcome.as_ref().map(|_| ()).map_err(super::same));
        }
        if super::events::take_wrote() {
            events.committed(c);
        }
    }
}

impl Failure {
    /// The storage error this is when nothing more specific applies.
    pub fn into_store(self) -> StoreError {
        match self {
            Failure::Unavailable(t) => StoreError::Unavailable(t),
            Failure::Unique(t) | Failure::Constraint(t) | Failure::Other(t) => StoreError::Internal(t),
        }
    }
}

fn refs(params: &[pg_value::Param]) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync)).collect()
}

impl Engine {
    /// A connection from `pool` (the readers' or the writer's), waiting for one to be free.
    pub(crate) fn connection(&self, pool: &deadpool_postgres::Pool) -> Result<PgConn, StoreError> {
        let client = self.driver.block_on(pool.get()).map_err(|e| unavailable(&self.shown, &chain(&e)))?;
        Ok(PgConn {
            driver: Arc::clone(&self.driver),
            client,
            rewrites: Arc::clone(&self.rewrites),
            in_tx: std::cell::Cell::new(false),
            changes: std::cell::Cell::new(0),
        })
    }
}

/// A `tokio_postgres` error as the facade's words: a unique violation reads as SQLite's
/// ("UNIQUE constraint failed: users.user_name_key"), so the code that recognises a taken
/// value by its column does on both engines; a lost connection is the store being unavailable.
pub(crate) fn describe(e: &tokio_postgres::Error) -> Failure {
    if let Some(db) = e.as_db_error() {
        if *db.code() == tokio_postgres::error::SqlState::UNIQUE_VIOLATION {
            let columns = db
                .detail()
                .and_then(|d| d.strip_prefix("Key ("))
                .and_then(|d| d.split_once(")="))
                .map(|(cols, _)| cols)
                .unwrap_or("");
            let table = db.table().unwrap_or("?");
            let named: Vec<String> = columns.split(", ").map(|c| format!("{table}.{c}")).collect();
            return Failure::Unique(format!("UNIQUE constraint failed: {}", named.join(", ")));
        }
        let code = db.code().code();
        let text = format!("{code}: {}", db.message());
        // Class 08 (connection exception), 57P01..57P03 (the server shutting down, crashed, or
        // not yet accepting connections; also `pg_terminate_backend`) and 25006 (a read-only
        // transaction: a standby after a failover, or a database set read-only) mean the
        // database cannot take the write now, not that the statement is wrong: a SCIM 503 with
        // Retry-After, as a full disk or a read-only file is on SQLite.
        if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "25006") {
            return Failure::Unavailable(text);
        }
        let constraint = matches!(code, "23000" | "23001" | "23502" | "23503" | "23514" | "23P01");
        return if constraint { Failure::Constraint(text) } else { Failure::Other(text) };
    }
    if e.is_closed() {
        return Failure::Unavailable(format!("the PostgreSQL connection is closed: {e}"));
    }
    Failure::Other(e.to_string())
}

/// What a PostgreSQL error means to storage (`describe`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A unique index refused the row; the text is SQLite's wording.
    Unique(String),
    /// Another constraint (foreign key, check, not null).
    Constraint(String),
    /// The connection is gone.
    Unavailable(String),
    /// Anything else.
    Other(String),
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A new, migrated database on the cluster of `SCIMBOX_TEST_PG`, or `None` without it.
    pub(crate) fn scratch() -> Option<Engine> {
        Some(open(&scratch_url()?).unwrap_or_else(|e| panic!("{e}")))
    }

    /// The URL of a new, empty database on the cluster of `SCIMBOX_TEST_PG`, or `None` without it.
    pub(crate) fn scratch_url() -> Option<String> {
        let url = std::env::var("SCIMBOX_TEST_PG").ok().filter(|u| !u.is_empty())?;
        let admin = off_thread(|| connect(&url)).unwrap_or_else(|e| panic!("{e}"));
        let name = format!("u_{}", uuid::Uuid::new_v4().simple());
        let conn = admin.connection(&admin.readers).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(&format!("CREATE DATABASE {name}")).unwrap_or_else(|e| panic!("{e:?}"));
        let server = url.rsplit_once('/').map_or(url.as_str(), |(s, _)| s);
        Some(format!("{server}/{name}"))
    }

    /// A batch commits once; a write that fails is rolled back to its savepoint alone, and the
    /// writes after it still commit (PostgreSQL would otherwise refuse every later statement).
    #[test]
    fn a_failed_write_goes_back_alone_and_its_batch_commits() {
        let Some(engine) = scratch() else { return };
        let conn = Connection::from(engine.connection(&engine.writer).unwrap_or_else(|e| panic!("{e}")));
        conn.execute_batch("CREATE TABLE t (x TEXT PRIMARY KEY)").unwrap_or_else(|e| panic!("{e:?}"));
        let (done, outcome) = run_batch(&conn, vec!["a", "a", "b"], |x, c| {
            let Some(c) = c else { return Err(super::super::sql::Error::Other("no transaction".into())) };
            c.execute_batch("SAVEPOINT job")?;
            let r = c.execute("INSERT INTO t (x) VALUES (?1)", [x]);
            if r.is_err() {
                c.execute_batch("ROLLBACK TO job")?;
            }
            c.execute_batch("RELEASE job")?;
            r
        });
        assert!(outcome.is_ok(), "{outcome:?}");
        assert!(done[0].is_ok() && done[2].is_ok());
        assert!(
            matches!(&done[1], Err(e) if e.is_constraint_on("t.x")),
            "a taken key reads as SQLite's UNIQUE failure: {:?}",
            done[1]
        );
        let mut stmt = conn.prepare("SELECT x FROM t ORDER BY x").unwrap_or_else(|e| panic!("{e}"));
        let xs: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{e}"))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(xs, ["a", "b"]);
    }

    #[test]
    fn urls_select_postgres_and_paths_stay_paths() {
        assert_eq!(url(Path::new("postgres://u@h/db")), Some("postgres://u@h/db"));
        assert_eq!(url(Path::new("PostgreSQL://h/db")), Some("PostgreSQL://h/db"));
        assert_eq!(url(Path::new("scimbox.db")), None);
        assert_eq!(url(Path::new("./postgres://x")), None);
        assert_eq!(url(Path::new("postgres")), None);
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(shown("postgres://u:secret@h:5432/db?x=1"), "postgres://u:***@h:5432/db?x=1");
        assert_eq!(shown("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(shown("postgres://h/db"), "postgres://h/db");
        assert_eq!(shown("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
    }

    #[test]
    fn placeholders_are_numbered_the_postgres_way() {
        assert_eq!(placeholders("SELECT 1"), "SELECT 1");
        assert_eq!(
            placeholders("SELECT * FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT * FROM t WHERE a = $1 AND b = $12"
        );
        assert_eq!(placeholders("INSERT INTO t VALUES (?, ?, ?)"), "INSERT INTO t VALUES ($1, $2, $3)");
        assert_eq!(
            placeholders("SELECT '?1', \"a?\" FROM t WHERE x = ?2 -- ?3\n AND y = ?"),
            "SELECT '?1', \"a?\" FROM t WHERE x = $2 -- ?3\n AND y = $3"
        );
        assert_eq!(placeholders("SELECT ?"), "SELECT $1");
        assert_eq!(
            translate("INSERT OR IGNORE INTO t (a) VALUES (?1)"),
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING"
        );
    }

    #[test]
    fn rewrites_are_kept() {
        let r = Rewrites::default();
        let a = r.get("SELECT ?1");
        let b = r.get("SELECT ?1");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*a, "SELECT $1");
        let ins = r.returning_seq("INSERT INTO t (a) VALUES (?1)");
        assert_eq!(&*ins, "INSERT INTO t (a) VALUES ($1) RETURNING seq");
        assert!(Arc::ptr_eq(&ins, &r.returning_seq("INSERT INTO t (a) VALUES (?1)")));
        assert_eq!(&*r.get("INSERT INTO t (a) VALUES (?1)"), "INSERT INTO t (a) VALUES ($1)");
    }
}
