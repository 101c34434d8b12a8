//! Small dedicated thread pools for CPU-heavy work that must not share threads with anything
//! else: argon2 password checks and the `/check` payload checker (issue 11, problems 2 and 5).
//!
//! Why not `spawn_blocking`: tokio's blocking pool is sized for the database readers and the
//! token checks (see `cli::BLOCKING_THREADS`); 200 login POSTs queued there made every SCIM GET
//! wait behind them (1 ms -> 2.4 s). A [`Pool`] has its own threads and a bounded queue: when
//! the queue is full the caller is told at once ([`PoolError::Busy`], answered 429 with
//! `Retry-After`), so a flood costs the flooder, not the other clients.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

type Job = Box<dyn FnOnce() + Send>;

/// Why a job did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The queue is full: try again shortly.
    #[error("too many requests of this kind are waiting; try again in a second")]
    Busy,
    /// The job's deadline passed before a thread took it, or the job panicked.
    #[error("the work did not complete in time")]
    Expired,
}

/// A fixed set of named threads fed by a bounded queue. The threads end when the pool is
/// dropped.
pub struct Pool {
    tx: SyncSender<Job>,
}

impl Pool {
    /// `threads` threads named `name`, at most `queue` jobs waiting.
    pub fn new(name: &str, threads: usize, queue: usize) -> Self {
        let (tx, rx) = mpsc::sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            let spawned = std::thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
                loop {
                    // The lock is held only while waiting for the next job, never while one runs.
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, pool = name, "could not start a worker thread");
            }
        }
        Self { tx }
    }

    /// Runs `work` on the pool, unless the queue is full or `deadline` passes before a thread
    /// takes it (then it never starts: a client that has given up costs nothing more). A panic
    /// in `work` is caught and reported as [`PoolError::Expired`]; the thread lives on.
    pub async fn run<T: Send + 'static>(
        &self,
        deadline: Instant,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            if Instant::now() >= deadline {
                return;
            }
            if let Ok(out) = std::panic::catch_unwind(AssertUnwindSafe(work)) {
                let _ = done.send(out);
            }
        });
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(PoolError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(PoolError::Expired),
        }
        let wait = tokio::time::Instant::from_std(deadline);
        match tokio::time::timeout_at(wait, result).await {
            Ok(Ok(out)) => Ok(out),
            _ => Err(PoolError::Expired),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn runs_refuses_when_full_and_survives_panics() {
        let pool = std::sync::Arc::new(Pool::new("test", 1, 1));
        let later = || Instant::now() + Duration::from_secs(10);
        assert_eq!(pool.run(later(), || 2 + 2).await, Ok(4));
        assert_eq!(pool.run(later(), || -> u8 { panic!("boom") }).await, Err(PoolError::Expired));
        assert_eq!(pool.run(later(), || 1).await, Ok(1), "the thread survived the panic");
        // One running, one queued: a third is refused at once.
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let p = Arc::clone(&pool);
        let first = tokio::spawn(async move { p.run(later(), move || gate_rx.recv().is_ok()).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let p = Arc::clone(&pool);
        let second = tokio::spawn(async move { p.run(later(), || true).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(pool.run(later(), || true).await, Err(PoolError::Busy));
        let _ = gate_tx.send(());
        assert_eq!(first.await.ok(), Some(Ok(true)));
        assert_eq!(second.await.ok(), Some(Ok(true)));
        assert_eq!(pool.run(Instant::now(), || 1).await, Err(PoolError::Expired), "past its deadline");
    }
}
