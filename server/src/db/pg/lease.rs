//! The PostgreSQL side of [`crate::db::lease`]: the webhook delivery lease is a session
//! advisory lock ([`WEBHOOK_LOCK`], `pg_try_advisory_lock`) held on a connection of its own.
//!
//! The connection comes from the readers' pool (so it is set up as every other connection of
//! the engine is) and is taken out of it for good (`Object::take`; the pool makes another in
//! its place): a pooled connection would go back to the pool, and to some read, still holding
//! the lock. It lives on the engine's runtime (`Driver`). PostgreSQL frees a session lock when
//! its session ends, so the lock is given up by dropping the connection: when the process dies (`kill -9`: the kernel closes the
//! socket and the server ends the session at once), when the lease is dropped, and when a check
//! of it fails (the session may still be alive at the server; closing it makes sure that no
//! lock outlives the holder's belief that it holds one).

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{ClientWrapper, Object};

use super::{Engine, StoreError, chain, unavailable};

/// The advisory lock the instance that delivers webhooks holds: the ASCII of "scimboxW" (the
/// writers' batch lock, [`super::BATCH_LOCK`], is another key, "scimbox1").
pub const WEBHOOK_LOCK: i64 = 0x7363_696d_626f_7857;

/// How long making the lock's connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a question on the lock's connection (take the lock; is it alive) may take before
/// the connection counts as lost.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// How soon the server ends the lock's session when this instance stops answering (its host
/// cut off by the network, not dead: a dead process's socket is closed by its kernel, and the
/// session ends at once): keepalives after 10 s of silence, every 5 s, 3 unanswered, and
/// 20 s at most for sent data to be acknowledged. Without these the server's (often the
/// kernel's two hours) would keep the lock, and webhooks undelivered, that long. The holder
/// itself gives the lock up within [`CHECK_TIMEOUT`] of its connection going quiet, well before.
/// Over a Unix socket PostgreSQL ignores them.
const SESSION_TIMEOUTS: &str = "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; \
                                SET tcp_keepalives_count = 3; SET tcp_user_timeout = 20000";

/// The longest `application_name` PostgreSQL keeps (NAMEDATALEN - 1 bytes).
const MAX_APPLICATION_NAME: usize = 63;

/// A contender for [`WEBHOOK_LOCK`]: its connection (once made) and whether it holds the lock.
pub(crate) struct PgLease {
    engine: Arc<Engine>,
    /// The connection's `application_name`, which names this instance to `webhook list`.
    name: String,
    conn: Option<Arc<ClientWrapper>>,
    held: bool,
}

impl PgLease {
    pub(crate) fn new(engine: Arc<Engine>, instance: &str) -> Self {
        Self { engine, name: application_name(instance), conn: None, held: false }
    }

    /// Takes the lock if no other session holds it: whether this one holds it now. A failure
    /// (the database unreachable, no answer within [`CHECK_TIMEOUT`]) closes the connection.
    pub(crate) async fn try_hold(&mut self) -> Result<bool, StoreError> {
        if self.held {
            return self.check().await.map(|()| true);
        }
        let conn = match self.conn.take().filter(|c| !c.is_closed()) {
            Some(c) => c,
            None => self.connect().await?,
        };
        let asked = Arc::clone(&conn);
        let held = self
            .on_driver(CHECK_TIMEOUT, async move {
                let row = asked.query_one("SELECT pg_try_advisory_lock($1)", &[&WEBHOOK_LOCK]).await?;
                row.try_get::<_, bool>(0)
            })
            .await?;
        self.conn = Some(conn);
        self.held = held;
        Ok(held)
    }

    /// Whether the lock is known lost without asking: its connection closed. Costs nothing
    /// (a flag of the client), so it may be asked often.
    pub(crate) fn is_lost(&self) -> bool {
        !self.held || self.conn.as_ref().is_none_or(|c| c.is_closed())
    }

    /// Asks the lock's connection to answer (`SELECT 1`) within [`CHECK_TIMEOUT`]; on any
    /// failure the lease is lost (and its connection closed) and the error says why.
    pub(crate) async fn check(&mut self) -> Result<(), StoreError> {
        if self.is_lost() {
            self.lose();
            return Err(StoreError::Unavailable("the webhook lock's connection to PostgreSQL closed".into()));
        }
        let Some(conn) = self.conn.clone() else { return Ok(()) };
        let outcome = self.on_driver(CHECK_TIMEOUT, async move { conn.simple_query("SELECT 1").await.map(drop) }).await;
        if outcome.is_err() {
            self.lose();
        }
        outcome
    }

    /// Gives the lock up: closes its connection, which ends the session.
    pub(crate) fn lose(&mut self) {
        self.held = false;
        self.conn = None;
    }

    /// A new connection of its own, named for `pg_stat_activity`.
    async fn connect(&self) -> Result<Arc<ClientWrapper>, StoreError> {
        let pool = self.engine.readers.clone();
        let (name, shown) = (self.name.clone(), self.engine.shown.clone());
        let made = self.engine.driver.handle.spawn(async move {
            // Taken out of the pool for good (the pool makes another in its place).
            let conn = match tokio::time::timeout(CONNECT_TIMEOUT, pool.get()).await {
                Ok(Ok(c)) => Arc::new(Object::take(c)),
                Ok(Err(e)) => return Err(unavailable(&shown, &chain(&e))),
                Err(_) => return Err(unavailable(&shown, &"no connection within 10 s")),
            };
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&name];
            let named = async {
                conn.query_one("SELECT set_config('application_name', $1, false)", &params).await?;
                conn.batch_execute(SESSION_TIMEOUTS).await
            };
            match tokio::time::timeout(CHECK_TIMEOUT, named).await {
                Ok(Ok(())) => Ok(conn),
                Ok(Err(e)) => Err(unavailable(&shown, &chain(&e))),
                Err(_) => Err(unavailable(&shown, &"no answer within 5 s")),
            }
        });
        made.await.map_err(|e| StoreError::Internal(format!("the webhook lock's connection task: {e}")))?
    }

    /// Runs `f` (a question on the lock's connection) on the engine's runtime within `limit`.
    async fn on_driver<T: Send + 'static>(
        &self,
        limit: Duration,
        f: impl Future<Output = Result<T, tokio_postgres::Error>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let shown = self.engine.shown.clone();
        let task = self.engine.driver.handle.spawn(async move {
            match tokio::time::timeout(limit, f).await {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(unavailable(&shown, &chain(&e))),
                Err(_) => Err(unavailable(&shown, &format_args!("no answer within {} s", limit.as_secs()))),
            }
        });
        task.await.map_err(|e| StoreError::Internal(format!("the webhook lock's task: {e}")))?
    }
}

/// `scimbox webhooks INSTANCE`, cut to what PostgreSQL keeps (at a character boundary).
fn application_name(instance: &str) -> String {
    let mut name = format!("scimbox webhooks {instance}");
    let mut end = name.len().min(MAX_APPLICATION_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.truncate(end);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_names_fit_postgres() {
        assert_eq!(application_name("127.0.0.1:8080 pid 7"), "scimbox webhooks 127.0.0.1:8080 pid 7");
        let long = application_name(&"é".repeat(40));
        assert!(long.len() <= MAX_APPLICATION_NAME && long.starts_with("scimbox webhooks é"), "{long}");
    }

    /// One session holds the lock at a time; a lease whose connection is ended (as a database
    /// restart or a dropped network ends it) knows it lost the lock, and another takes it.
    #[test]
    fn one_holder_at_a_time_and_a_lost_connection_loses_the_lock() {
        let Some(engine) = super::super::tests::scratch() else { return };
        let engine = Arc::new(engine);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let mut a = PgLease::new(Arc::clone(&engine), "a");
            let mut b = PgLease::new(Arc::clone(&engine), "b");
            assert!(a.try_hold().await.expect("a contends"), "the first contender holds the lock");
            assert!(!b.try_hold().await.expect("b contends"), "a second one does not");
            assert!(a.try_hold().await.expect("a again"), "asking again while holding keeps it");
            a.check().await.expect("a's lock is alive");
            let conn = a.conn.clone().expect("a's connection");
            let timeout = a
                .on_driver(CHECK_TIMEOUT, async move {
                    conn.query_one("SELECT current_setting('tcp_user_timeout')", &[]).await?.try_get::<_, String>(0)
                })
                .await
                .expect("setting");
            assert_eq!(timeout, "20000", "the server ends a silent holder's session within seconds (ms)");
            // End a's session from outside, by its application_name.
            let killer = PgLease::new(Arc::clone(&engine), "killer");
            let conn = killer.connect().await.expect("connect");
            let ended = killer
                .on_driver(CHECK_TIMEOUT, async move {
                    let row = conn
                        .query_one(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                             WHERE application_name = 'scimbox webhooks a'",
                            &[],
                        )
                        .await?;
                    row.try_get::<_, i64>(0)
                })
                .await
                .expect("terminate");
            assert_eq!(ended, 1, "a's session was found by its name");
            let until = std::time::Instant::now() + Duration::from_secs(30);
            while !a.is_lost() && a.check().await.is_ok() {
                assert!(std::time::Instant::now() < until, "a never noticed that its session ended");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(a.is_lost(), "a lost its lock");
            assert!(a.check().await.is_err(), "and says so");
            let until = std::time::Instant::now() + Duration::from_secs(30);
            while !b.try_hold().await.expect("b contends") {
                assert!(std::time::Instant::now() < until, "b never took the freed lock");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(!a.try_hold().await.expect("a contends again"), "a does not hold it beside b");
            drop(b);
            let until = std::time::Instant::now() + Duration::from_secs(30);
            while !a.try_hold().await.expect("a contends") {
                assert!(std::time::Instant::now() < until, "a dropped lease's lock was never freed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }
}
