//! A request's deadline, carried to the writer.
//!
//! The rule (issue 11): a request answered with an error has committed nothing, and a commit is
//! always answered with success. A timeout around the whole handler breaks it: the write it cuts
//! off is already in the writer's queue and commits after the 408. So the deadline travels with
//! the write instead. [`scope`] runs a request's future with its deadline; [`Db::write`] called
//! inside it hands the deadline to the writer, which refuses the job with
//! [`StoreError::DeadlinePassed`] if the deadline has passed before the job starts (nothing is
//! done), and otherwise runs it to its real outcome. Whoever enforces the deadline asks
//! [`Deadline::handed_over`]: once a write is with the writer, the request must be awaited, not
//! cut off.
//!
//! It is a task-local rather than a parameter so that the services and Bulk, which call
//! [`Db::write`] in many places, stay as they are; writes outside a scope (the journal, the
//! CLI, start-up) have no deadline.
//!
//! [`Db::write`]: crate::db::Db::write
//! [`StoreError::DeadlinePassed`]: crate::db::StoreError::DeadlinePassed

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

tokio::task_local! {
    static CURRENT: Deadline;
}

/// When a request's writes must have started, and whether one has been handed to the writer.
#[derive(Debug, Clone)]
pub struct Deadline {
    at: Instant,
    handed_over: Arc<AtomicBool>,
}

impl Deadline {
    /// A deadline at `at`, no write handed over yet.
    pub fn new(at: Instant) -> Self {
        Self { at, handed_over: Arc::new(AtomicBool::new(false)) }
    }

    /// Whether the deadline has passed.
    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// Whether a write of this request has been given to the writer (it may have committed, or
    /// may yet: its answer must be awaited).
    pub fn handed_over(&self) -> bool {
        self.handed_over.load(Ordering::Acquire)
    }

    pub(super) fn hand_over(&self) {
        self.handed_over.store(true, Ordering::Release);
    }
}

/// Runs `f` with `deadline` as the deadline of the writes it makes.
pub async fn scope<F: Future>(deadline: Deadline, f: F) -> F::Output {
    CURRENT.scope(deadline, f).await
}

/// The deadline of the request being served, if any.
pub(super) fn current() -> Option<Deadline> {
    CURRENT.try_with(Clone::clone).ok()
}
