//! Background tasks that outlive a panic: [`spawn`] runs a task and, should it panic, logs the
//! panic's message and starts it again after a short, growing pause.
//!
//! Each background task (the journal's writer and pruning, the compatibility report's flush)
//! owns work nobody else does: before issue 11, one panic in the journal's redactor stopped the
//! journal and its pruning until the process was restarted, silently. A task that returns (or
//! is cancelled) is not restarted; aborting the handle [`spawn`] returns stops the task too.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

/// The first pause before a restart; it doubles on each panic, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause before a restart.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A run this long without a panic starts the pauses over from [`FIRST_BACKOFF`].
const CALM: Duration = Duration::from_secs(60);

/// Aborts the task it holds when dropped, so aborting the supervisor stops its task as well.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `make()` as a task named `name`, again after each panic (see the module docs).
pub fn spawn<F, Fut>(name: &'static str, make: F) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        let mut restarts: u64 = 0;
        loop {
            let began = Instant::now();
            let mut task = AbortOnDrop(tokio::spawn(make()));
            let outcome = (&mut task.0).await;
            let Err(e) = outcome else { return };
            if !e.is_panic() {
                return;
            }
            let cause = panic_message(e.into_panic());
            if began.elapsed() >= CALM {
                backoff = FIRST_BACKOFF;
            }
            restarts += 1;
            tracing::error!(task = name, cause = %cause, restarts, "a background task panicked; restarting it in {} ms",
                backoff.as_millis());
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    })
}

/// The text a panic was raised with, when it was a string.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast_ref::<&str>().map_or_else(|| "(not a string)".into(), |s| (*s).to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_panicking_task_is_restarted_until_it_finishes() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&runs);
        let handle = spawn("test", move || {
            let runs = Arc::clone(&counted);
            async move {
                if runs.fetch_add(1, Ordering::SeqCst) < 3 {
                    panic!("deliberate panic for the test");
                }
            }
        });
        handle.await.expect("the supervisor ends when its task does");
        assert_eq!(runs.load(Ordering::SeqCst), 4, "three panics, three restarts");
    }

    #[tokio::test]
    async fn aborting_the_supervisor_stops_its_task() {
        let ticks = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&ticks);
        let handle = spawn("ticker", move || {
            let ticks = Arc::clone(&counted);
            async move {
                loop {
                    ticks.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(55)).await;
        handle.abort();
        let _ = handle.await;
        let at_abort = ticks.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(ticks.load(Ordering::SeqCst), at_abort, "the task stopped with its supervisor");
    }

    #[test]
    fn panic_messages() {
        assert_eq!(panic_message(Box::new("static")), "static");
        assert_eq!(panic_message(Box::new(String::from("owned"))), "owned");
        assert_eq!(panic_message(Box::new(5)), "(not a string)");
    }
}
