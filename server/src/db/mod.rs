//! Storage: one SQLite file, migrated at start-up, with one writer thread and a pool of readers.
//!
//! Every rusqlite call runs off the async workers: writes go to the single writer thread, reads to
//! the blocking pool on one of a few read connections (WAL lets them run beside the writer). The
//! writer commits in groups: it takes every write waiting in its queue (up to [`MAX_BATCH`]), runs
//! each inside its own savepoint of one transaction, commits once, and only then answers each
//! caller. A write that fails rolls back its savepoint alone. With `synchronous=FULL` a commit
//! is on disk when it returns, so an acknowledged write survives `kill -9` and power loss, and
//! concurrent writers share one fsync instead of paying one each. WAL checkpoints run on a
//! thread of their own, not inside the writer's commits ([`checkpoint`]).
//!
//! The file is created 0600, and the writer refuses to acknowledge a commit into a file that was
//! removed or replaced; a full disk or an unwritable file is [`StoreError::Unavailable`] (see
//! [`health`]).
//!
//! Nothing here knows about HTTP. Errors are [`StoreError`].

pub mod accounts;
pub mod admins;
pub mod attr_index;
pub mod backup;
pub mod changes;
pub mod checkpoint;
pub mod compat;
pub mod events;
pub mod groups;
pub mod guard;
pub mod health;
pub mod journal;
pub mod lease;
pub mod pg;
pub mod pg_listen;
pub mod pg_tls;
pub mod pg_value;
pub mod rollup;
pub mod rows;
pub mod sql;
pub mod stats;
pub mod stored;
pub mod text_need;
pub mod tokens;
pub mod transfer;
pub mod ui;
pub mod users;
pub mod webhooks;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::OpenFlags;
use scimbox_validator::ValidationError;
use tokio::sync::{Semaphore, oneshot};

use sql::Connection;

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// The most writes committed in one transaction.
pub const MAX_BATCH: usize = 256;
/// Read connections kept open.
pub const READERS: usize = 4;
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;
/// How long a connection waits for a lock held by another process (the CLI, say).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The resource does not exist.
    #[error("not found")]
    NotFound,
    /// A unique value is taken; the text names it.
    #[error("{0}")]
    Conflict(String),
    /// `If-Match`/`If-None-Match` did not hold.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// The request's deadline passed before its write could start; nothing was done
    /// (see [`crate::deadline`]).
    #[error("the request's deadline passed before its write started")]
    DeadlinePassed,
    /// The change breaks a schema rule (raised by the change itself, inside the transaction).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// SQLite or the writer failed.
    #[error("storage error: {0}")]
    Internal(String),
    /// The store cannot take writes for now (a full disk, a read-only, removed or replaced
    /// file); the text says which. Nothing was changed; retrying later may succeed.
    #[error("{0}")]
    Unavailable(String),
}

impl From<sql::Error> for StoreError {
    fn from(e: sql::Error) -> Self {
        match e {
            sql::Error::Unavailable { reason, .. } => Self::Unavailable(reason.into()),
            e => Self::Internal(e.to_string()),
        }
    }
}

/// For SQLite-only code that calls rusqlite itself (backup, checkpoints, migrations).
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        sql::Error::from(e).into()
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("stored JSON: {e}"))
    }
}

/// The outcome a write job reports once the commit is known.
type Completion = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A write: runs inside the shared transaction (or, given `None`, learns that no transaction could
/// be opened) and returns how to answer its caller.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Completion + Send>;

/// A handle to the database: cheap to clone.
#[derive(Clone)]
pub struct Db {
    writer: crossbeam_channel::Sender<Job>,
    readers: Arc<ReaderPool>,
    health: Arc<health::Health>,
    events: Arc<events::Notifier>,
    /// Token changes made elsewhere (PostgreSQL's notifications; see [`tokens::Changes`]).
    tokens: Arc<tokens::Changes>,
    /// The PostgreSQL engine, when `--db` is a URL (`pg`); `None` on SQLite.
    pg: Option<Arc<pg::Engine>>,
}

struct ReaderPool {
    conns: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

/// Opens one connection with scimbox's pragmas (WAL, foreign keys, busy timeout, full sync) and
/// its SQL functions ([`text_need::FUNCTION`]).
pub fn connect(path: &Path) -> Result<Connection, StoreError> {
    health::private_file(path)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = rusqlite::Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Internal(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // rusqlite keeps 16 prepared statements by default; the writer alone uses more than that in
    // one create (transaction control, the row, its emails, the history, the journal).
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // The query planner stability guarantee: a statement's plan never depends on the values
    // bound to it. Without it, SQLite (3.54) plans a `LIMIT ?n` with the value bound and marks
    // the statement to be compiled again whenever `?n` is bound anew, so every cached list
    // page, feed page or pruning batch was parsed and planned again on each run (a sixth of a
    // list page's instructions, issue 17, third round). No plan here needs those values: the
    // only `LIKE`s (status page searches) have a leading wildcard, and no `ANALYZE` statistics
    // are kept.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;",
    )?;
    text_need::register(&conn)?;
    Ok(conn.into())
}

/// Creates the database file if needed and applies pending migrations (append-only; refinery
/// refuses to start on a database whose applied migrations diverge from the embedded ones).
pub fn migrate(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = connect(path)?;
    embedded::migrations::runner()
        .run(conn.sqlite_mut()?)
        .map_err(|e| StoreError::Internal(format!("migrating {}: {e}", path.display())))?;
    users::rekey(&mut conn)?; // derived keys whose spelling changed (migrations/V8)
    stored::fill(&mut conn)?; // users' stored text, once for a database from before V14
    attr_index::prepare(&conn)?; // an index for other attributes is emptied, to be filled (V15)
    Ok(conn)
}

impl Db {
    /// Opens (creating and migrating) the database and starts the writer thread.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(url) = pg::url(path) {
            return pg::open_db(url);
        }
        let writer_conn = migrate(path)?;
        let fill = attr_index::prepare(&writer_conn)?; // an older database's index, filled by the writer
        let health = Arc::new(health::Health::new(path));
        if writer_conn.sqlite()?.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            health.note(Err(&StoreError::Unavailable("the database file is read-only".into())));
        }
        let mut conns = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let c = connect(path)?;
            c.execute_batch("PRAGMA query_only = ON;")?;
            c.remember_counts();
            conns.push(c);
        }
        let (tx, rx) = crossbeam_channel::unbounded::<Job>();
        let events = Arc::new(events::Notifier::default());
        let checkpoints = start_checkpoints(path, &writer_conn)?;
        std::thread::Builder::new()
            .name("scimbox-writer".into())
            .spawn({
                let (health, events) = (Arc::clone(&health), Arc::clone(&events));
                move || writer_loop(writer_conn, rx, &health, &events, &checkpoints)
            })
            .map_err(|e| StoreError::Internal(format!("starting the writer thread: {e}")))?;
        if fill {
            let _ = tx.send(attr_index::fill_job(tx.clone(), std::time::Instant::now(), 0));
        }
        let readers = ReaderPool { conns: Mutex::new(conns), permits: Semaphore::new(READERS) };
        let tokens = Arc::default();
        Ok(Self { writer: tx, readers: Arc::new(readers), health, events, tokens, pg: None })
    }

    /// A receiver of the highest committed event seq: it changes after each commit of this
    /// handle's writer that wrote events, never before (see [`events`]), and on PostgreSQL also
    /// when any instance's writer commits events ([`pg_listen`]; the first subscriber starts the
    /// listener). On SQLite, another process's commits (the CLI's) do not show here.
    pub fn events_committed(&self) -> tokio::sync::watch::Receiver<i64> {
        self.listen();
        self.events.subscribe()
    }

    /// A receiver that changes when a token may have changed (created, revoked, rotated), so
    /// that checks cached before are made again: on PostgreSQL, by any instance or CLI on the
    /// database ([`pg_listen`]; the first subscriber starts the listener); on SQLite it never
    /// changes.
    pub fn tokens_changed(&self) -> tokio::sync::watch::Receiver<u64> {
        self.listen();
        self.tokens.subscribe()
    }

    /// On PostgreSQL, starts the listener once.
    fn listen(&self) {
        if let Some(engine) = &self.pg {
            engine.listen(|| pg_listen::Sinks { events: Arc::clone(&self.events), tokens: Arc::clone(&self.tokens) });
        }
    }

    /// Why the database cannot take writes now (removed or replaced file, full disk, read-only
    /// file), or `None` when it can, as far as is known (see [`health`]).
    pub fn fault(&self) -> Option<String> {
        self.health.fault()
    }

    /// Runs `f` on a read connection, on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        if let Some(engine) = &self.pg {
            return pg::read(engine, f).await;
        }
        // The permit goes back when the connection does, in the blocking task: a caller dropped
        // while its read runs (a request past its deadline) must not free a permit whose
        // connection is still out, or the next read finds the pool empty.
        self.readers.permits.acquire().await.map_err(|_| closed())?.forget();
        let pool = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let _back = PermitBack(&pool.permits);
            let conn = pool.conns.lock().map_err(|_| poisoned())?.pop().ok_or_else(poisoned)?;
            let out = catch_unwind(AssertUnwindSafe(|| f(&conn)));
            pool.conns.lock().map_err(|_| poisoned())?.push(conn);
            out.unwrap_or_else(|_| Err(StoreError::Internal("a read panicked".into())))
        })
        .await
        .map_err(|e| StoreError::Internal(format!("read task: {e}")))?
    }

    /// Runs `f` on a read connection right here, on the calling async worker, when one is free;
    /// otherwise as [`Db::read`] does. Only for reads that are short by construction (one row
    /// by a unique key): handing those to the blocking pool costs more, in thread switches, than
    /// the read itself. A read that may scan must use [`Db::read`].
    pub async fn read_now<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        // PostgreSQL is never waited on from an async worker (`pg`).
        if self.pg.is_some() {
            return self.read(f).await;
        }
        let Ok(permit) = self.readers.permits.try_acquire() else { return self.read(f).await };
        // Holding a permit guarantees a connection in the pool (permits == connections).
        let conn = self.readers.conns.lock().map_err(|_| poisoned())?.pop().ok_or_else(poisoned)?;
        let out = catch_unwind(AssertUnwindSafe(|| f(&conn)));
        self.readers.conns.lock().map_err(|_| poisoned())?.push(conn);
        drop(permit);
        out.unwrap_or_else(|_| Err(StoreError::Internal("a read panicked".into())))
    }

    /// Runs `f` in the writer's transaction; returns once its change is committed and durable.
    /// If `f` fails, its changes are rolled back and the others in the batch are unaffected.
    ///
    /// Inside a request's [`crate::deadline::scope`], a write that reaches the front of the queue after
    /// the deadline is refused with [`StoreError::DeadlinePassed`] without running; one that
    /// started runs to its end and its real outcome is returned, however late.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_as(Shield::Savepoint, f).await
    }

    /// [`Db::write`] for a write that, when it fails, fails before it changes any row (a refused
    /// `INSERT` changes nothing: SQLite undoes a failing statement), such as a create whose
    /// first change is the insert that may meet a taken name. It runs without a savepoint of its
    /// own: a savepoint makes SQLite copy every page the job touches, already changed by earlier
    /// jobs of the batch, into its sub-journal first, about a quarter of the writer's work per
    /// create (issue 17); on PostgreSQL, the savepoint's two round trips (`SAVEPOINT`, `RELEASE`).
    /// The writer checks the promise: if such a write fails after changing rows (a store fault,
    /// a panic), or on PostgreSQL after a statement failed (which spoils the transaction), its
    /// whole batch is rolled back and refused, so no part of it ever commits.
    pub async fn write_unshielded<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_as(Shield::None, f).await
    }

    async fn write_as<T, F>(&self, shield: Shield, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let deadline = crate::deadline::current();
        let expired = deadline.clone();
        let job: Job = Box::new(move |conn| {
            let out = match conn {
                Some(_) if expired.is_some_and(|d| d.passed()) => Err(StoreError::DeadlinePassed),
                Some(conn) => {
                    events::begin_job(); // its events are one transaction (RFC 9967 `txn`)
                    match shield {
                        Shield::Savepoint => in_savepoint(conn, f),
                        // On PostgreSQL too: a failed statement, which spoils its transaction
                        // there, counts as a change (`Connection::total_changes`), so the promise
                        // is checked the same way; it saves a create two round trips.
                        Shield::None => unshielded(conn, f),
                    }
                }
                None => Err(StoreError::Internal("could not begin a write transaction".into())),
            };
            Box::new(move |commit| {
                let _ = tx.send(commit.and(out));
            })
        });
        if let Some(d) = &deadline {
            d.hand_over();
        }
        self.writer.send(job).map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }
}

/// The writer's side of the checkpoint thread ([`checkpoint`]): a tick after each commit, and
/// what the writer needs to catch up when the log grows too long.
struct Checkpoints {
    ticks: crossbeam_channel::Sender<()>,
    shared: Arc<checkpoint::Shared>,
    /// The `-wal` file, whose length says when the writer must catch up.
    wal: std::path::PathBuf,
}

/// Turns the writer connection's automatic checkpoints off and starts the thread that does them
/// instead, on a connection of its own; it ends when the writer does.
fn start_checkpoints(path: &Path, writer_conn: &Connection) -> Result<Checkpoints, StoreError> {
    let conn = connect(path)?;
    writer_conn.execute_batch(&format!(
        "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = {};",
        checkpoint::CATCH_UP_BYTES
    ))?;
    let (ticks, rx) = crossbeam_channel::bounded(1);
    let shared = Arc::new(checkpoint::Shared::default());
    std::thread::Builder::new()
        .name("scimbox-checkpoint".into())
        .spawn({
            let shared = Arc::clone(&shared);
            move || checkpoint::run(&conn, &rx, &shared)
        })
        .map_err(|e| StoreError::Internal(format!("starting the checkpoint thread: {e}")))?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    Ok(Checkpoints { ticks, shared, wal: wal.into() })
}

/// Returns a reader permit when dropped.
struct PermitBack<'a>(&'a Semaphore);

impl Drop for PermitBack<'_> {
    fn drop(&mut self) {
        self.0.add_permits(1);
    }
}

fn closed() -> StoreError {
    StoreError::Internal("the database is closed".into())
}

fn poisoned() -> StoreError {
    StoreError::Internal("the reader pool is unavailable".into())
}

fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
    run(conn, "SAVEPOINT job")?;
    let out = catch_unwind(AssertUnwindSafe(|| f(conn)))
        .unwrap_or_else(|_| Err(StoreError::Internal("a write panicked".into())));
    // The history's pending membership changes are folded in before the write is released.
    let out = out.and_then(|v| changes::end_of_write(conn).map(|()| v));
    if let Err(StoreError::Unavailable(reason)) = &out {
        JOB_FAULT.with(|f| f.replace(Some(reason.clone())));
    }
    if out.is_err() {
        run(conn, "ROLLBACK TO job")?;
    }
    run(conn, "RELEASE job")?;
    out
}

/// How a job's changes are undone if it fails.
#[derive(Debug, Clone, Copy)]
enum Shield {
    /// Its own savepoint, rolled back alone.
    Savepoint,
    /// None: it promises to fail only before changing anything ([`Db::write_unshielded`]).
    None,
}

/// Runs a job that has no savepoint ([`Db::write_unshielded`]); if it fails after changing rows
/// anyway, the batch is marked to be rolled back whole ([`BROKEN_PROMISE`]).
fn unshielded<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
    let changes = conn.total_changes();
    let out = catch_unwind(AssertUnwindSafe(|| f(conn)))
        .unwrap_or_else(|_| Err(StoreError::Internal("a write panicked".into())));
    let out = out.and_then(|v| changes::end_of_write(conn).map(|()| v));
    if let Err(e) = &out {
        if let StoreError::Unavailable(reason) = e {
            JOB_FAULT.with(|f| f.replace(Some(reason.clone())));
        }
        if conn.total_changes() != changes {
            tracing::error!(error = %e, "a write without a savepoint failed after changing rows; its batch is rolled back");
            BROKEN_PROMISE.with(|b| b.set(true));
        }
    }
    out
}

std::thread_local! {
    /// On the writer thread: the store fault (full disk, read-only file) a job of the current
    /// batch met, so that the batch's empty commit does not count as the store being healthy.
    static JOB_FAULT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    /// On the writer thread: a job without a savepoint failed after changing rows, so the
    /// current batch must not commit.
    static BROKEN_PROMISE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs one statement without a result, prepared once per connection: the writer runs these
/// for every write, and parsing them each time was a measurable part of its work.
fn run(conn: &Connection, sql: &str) -> sql::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// The writer thread: group commit (see the module documentation).
fn writer_loop(
    conn: Connection,
    rx: crossbeam_channel::Receiver<Job>,
    health: &health::Health,
    events: &events::Notifier,
    checkpoints: &Checkpoints,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&conn, batch, health);
        // Waiting feed requests learn of events only once their batch's commit is done (after
        // a failed one, a waiter wakes, reads, finds nothing new and waits again).
        if events::take_wrote() {
            events.committed(&conn);
        }
        // The log is copied back into the database file by the checkpoint thread; the writer
        // does it only when the log grew past its bound, which under sustained writes that
        // thread cannot end (see `checkpoint`).
        if checkpoint::over_bound(&checkpoints.wal)
            && let Err(e) = checkpoints.shared.checkpoint(&conn)
        {
            tracing::warn!(error = %e, "the writer's WAL checkpoint failed");
        }
        let _ = checkpoints.ticks.try_send(());
    }
}

/// Runs one batch in one transaction. Before it, the file's identity is checked (a removed or
/// replaced file refuses the batch); after the commit, again, so a commit into a file removed
/// meanwhile is answered as a failure, never acknowledged. A job whose error made SQLite roll the
/// whole transaction back (a full disk can) fails the batch: the jobs after it are refused
/// rather than committed one by one outside the transaction.
fn run_batch(conn: &Connection, batch: Vec<Job>, health: &health::Health) {
    let refuse = |batch: Vec<Job>, e: &StoreError| {
        for job in batch {
            job(None)(Err(same(e)));
        }
    };
    if let Err(e) = health.check_identity() {
        return refuse(batch, &e);
    }
    if let Err(e) = run(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "cannot begin a write transaction");
        let e = StoreError::from(e);
        health.note(Err(&e));
        return refuse(batch, &e);
    }
    let mut completions: Vec<Completion> = Vec::with_capacity(batch.len());
    let mut aborted = false;
    for job in batch {
        aborted = aborted || conn.is_autocommit();
        completions.push(if aborted { job(None) } else { job(Some(conn)) });
    }
    aborted = aborted || conn.is_autocommit();
    // The store fault (full disk, read-only file) a job met, if any: it explains an aborted
    // batch, and an otherwise empty commit must not count as the store being healthy.
    let job_fault = JOB_FAULT.with(|f| f.take());
    let commit = if BROKEN_PROMISE.with(|b| b.replace(false)) {
        if !conn.is_autocommit() {
            let _ = run(conn, "ROLLBACK");
        }
        Err(match job_fault.clone() {
            Some(reason) => StoreError::Unavailable(reason),
            None => StoreError::Internal("a write failed half-way; its batch was rolled back".into()),
        })
    } else if aborted {
        let reason = job_fault.clone().unwrap_or_else(|| "a write failed and SQLite rolled its batch back".into());
        Err(StoreError::Unavailable(reason))
    } else {
        match run(conn, "COMMIT") {
            Ok(()) => health.check_identity(),
            Err(e) => {
                let _ = run(conn, "ROLLBACK");
                Err(StoreError::from(e))
            }
        }
    };
    match (job_fault, &commit) {
        (Some(reason), Ok(())) => health.note(Err(&StoreError::Unavailable(reason))),
        (_, outcome) => health.note(outcome.as_ref().map(|_| ())),
    }
    for done in completions {
        done(commit.as_ref().map(|_| ()).map_err(same));
    }
}

/// A copy of a batch-wide error for each job (`StoreError` holds no source to share).
fn same(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(r) => StoreError::Unavailable(r.clone()),
        other => StoreError::Internal(other.to_string()),
    }
}

/// The file [`scratch`] creates in its directory, for a test that opens a second connection.
#[cfg(test)]
pub(crate) const SCRATCH_FILE: &str = "scratch.db";

/// A migrated database in a directory of its own, for this module's unit tests: the directory
/// goes when the first value is dropped.
#[cfg(test)]
pub(crate) fn scratch() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let conn = migrate(&dir.path().join(SCRATCH_FILE)).unwrap_or_else(|e| panic!("{e}"));
    (dir, conn)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Db, StoreError};

    /// Holds the writer for a moment, so that the writes sent meanwhile form one batch; returns
    /// once the holding write runs.
    async fn hold(db: &Db) -> tokio::task::JoinHandle<Result<(), StoreError>> {
        let db = db.clone();
        let (started, running) = tokio::sync::oneshot::channel();
        let job = tokio::spawn(async move {
            db.write(move |_| {
                let _ = started.send(());
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            })
            .await
        });
        running.await.unwrap_or_else(|e| panic!("{e}"));
        job
    }

    fn insert(db: &Db, x: &'static str) -> tokio::task::JoinHandle<Result<(), StoreError>> {
        let db = db.clone();
        tokio::spawn(
            async move { db.write(move |c| Ok(c.execute("INSERT INTO t (x) VALUES (?1)", [x]).map(drop)?)).await },
        )
    }

    /// A write without a savepoint (issue 17) that fails before changing anything leaves its
    /// batch alone; one that fails after changing rows takes the whole batch back, so that no
    /// part of it commits, and every write of that batch is answered with an error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_without_a_savepoint_that_fails_half_way_takes_its_batch_back() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        unshielded_writes(Db::open(&dir.path().join("w.db")).unwrap_or_else(|e| panic!("{e}"))).await;
    }

    /// The same on PostgreSQL (with `SCIMBOX_TEST_PG`), where creates have no savepoint either
    /// (issue 17/18 follow-up); there a statement that failed spoils the transaction, so a write
    /// that fails after one takes its batch back too, changed rows or not.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_without_a_savepoint_on_postgres_takes_its_batch_back_after_a_failed_statement() {
        let url = tokio::task::spawn_blocking(super::pg::tests::scratch_url).await;
        let Some(url) = url.unwrap_or_else(|e| panic!("{e}")) else { return };
        let db = Db::open(std::path::Path::new(&url)).unwrap_or_else(|e| panic!("{e}"));
        unshielded_writes(db.clone()).await;
        let held = hold(&db).await;
        let f = insert(&db, "f");
        let spoiled = tokio::spawn({
            let db = db.clone();
            async move {
                db.write_unshielded(|c| {
                    let refused = c.execute("INSERT INTO t (x) VALUES (NULL)", []);
                    assert!(refused.is_err(), "NOT NULL refuses it");
                    Err::<(), _>(StoreError::Conflict("refused".into()))
                })
                .await
            }
        });
        let g = insert(&db, "g");
        assert!(held.await.is_ok_and(|r| r.is_ok()));
        assert!(spoiled.await.is_ok_and(|r| r.is_err()));
        assert!(f.await.is_ok_and(|r| r.is_err()), "its batch is refused");
        assert!(g.await.is_ok_and(|r| r.is_err()), "its batch is refused");
        insert(&db, "h").await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        let rows = db
            .read(|c| Ok(c.query_row("SELECT string_agg(x, ',' ORDER BY x) FROM t", [], |r| r.get::<_, String>(0))?))
            .await;
        assert_eq!(rows.unwrap_or_else(|e| panic!("{e}")), "a,b,e,h", "nothing of the spoiled batch committed");
    }

    async fn unshielded_writes(db: Db) {
        db.write(|c| Ok(c.execute_batch("CREATE TABLE t (x TEXT NOT NULL)")?)).await.unwrap_or_else(|e| panic!("{e}"));
        let rows = |db: &Db| {
            let db = db.clone();
            async move {
                db.read(|c| {
                    let mut s = c.prepare("SELECT x FROM t ORDER BY x")?;
                    let xs = s.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
                    Ok(xs)
                })
                .await
                .unwrap_or_else(|e| panic!("{e}"))
            }
        };

        let held = hold(&db).await;
        let a = insert(&db, "a");
        let refused = tokio::spawn({
            let db = db.clone();
            async move { db.write_unshielded(|_| Err::<(), _>(StoreError::Conflict("taken".into()))).await }
        });
        let b = insert(&db, "b");
        assert!(held.await.is_ok_and(|r| r.is_ok()));
        assert!(a.await.is_ok_and(|r| r.is_ok()), "a write beside a clean refusal commits");
        assert!(matches!(refused.await, Ok(Err(StoreError::Conflict(_)))));
        assert!(b.await.is_ok_and(|r| r.is_ok()), "a write beside a clean refusal commits");
        assert_eq!(rows(&db).await, ["a", "b"]);

        let held = hold(&db).await;
        let c = insert(&db, "c");
        let broken = tokio::spawn({
            let db = db.clone();
            async move {
                db.write_unshielded(|c| {
                    c.execute("INSERT INTO t (x) VALUES ('half')", [])?;
                    Err::<(), _>(StoreError::Internal("failed after a change".into()))
                })
                .await
            }
        });
        let d = insert(&db, "d");
        assert!(held.await.is_ok_and(|r| r.is_ok()));
        assert!(broken.await.is_ok_and(|r| r.is_err()));
        assert!(c.await.is_ok_and(|r| r.is_err()), "its batch is refused, not committed without it");
        assert!(d.await.is_ok_and(|r| r.is_err()), "its batch is refused, not committed without it");
        assert_eq!(rows(&db).await, ["a", "b"], "nothing of the broken batch committed");
        insert(&db, "e").await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows(&db).await, ["a", "b", "e"], "the next batch commits");
    }

    /// Storage is handed the time of each write and never reads the clock (issue 12): one write
    /// records one moment, and a test can choose it. Clippy's `disallowed-methods` already keeps
    /// `OffsetDateTime::now_utc` inside `clock`; this keeps `clock` itself out of `db`.
    #[test]
    fn storage_never_reads_the_clock() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db");
        let mut offenders = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("src/db") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                // Spelled in pieces so that this test does not find itself. `Instant::now` (the
                // deadlines' monotonic clock) measures waits, not moments, and stays allowed.
                let wall = [
                    concat!("clock", "::"),
                    concat!("now", "_utc"),
                    concat!("SystemTime", "::now"),
                    concat!("'", "now'"), // SQLite's own clock, as datetime()'s argument
                    concat!("CURRENT", "_TIMESTAMP"),
                ];
                let reads = wall.iter().any(|w| line.contains(w));
                if reads && !line.trim_start().starts_with("//") {
                    offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
        assert!(offenders.is_empty(), "storage reads the clock:\n{}", offenders.join("\n"));
    }
}
