//! Background tasks that must keep running (the intake writers, the job recorders): one
//! that panics is logged and started again, and [`Supervisor::all_running`] says whether
//! every one is running, for `/readyz`.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a task that panicked stays down before it starts again: a task that panics
/// at once must not spin.
pub const RESTART_DELAY: Duration = Duration::from_millis(500);

/// Starts supervised tasks and tells whether they are all running; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Supervisor {
    /// Tasks that panicked and wait to start again.
    down: Arc<AtomicUsize>,
}

impl Supervisor {
    /// Runs `task()` in the background until the future it makes returns; when it panics,
    /// logs that and, after [`RESTART_DELAY`], runs `task()` again.
    pub fn spawn<F, Fut>(&self, name: &'static str, task: F)
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let down = self.down.clone();
        tokio::spawn(async move {
            loop {
                match tokio::spawn(task()).await {
                    Err(error) if error.is_panic() => {
                        down.fetch_add(1, Ordering::SeqCst);
                        tracing::error!(task = name, "a background task panicked; it starts again");
                        tokio::time::sleep(RESTART_DELAY).await;
                        down.fetch_sub(1, Ordering::SeqCst);
                    }
                    // Finished, or cancelled because the runtime is shutting down.
                    _ => return,
                }
            }
        });
    }

    /// Whether no supervised task is down after a panic.
    pub fn all_running(&self) -> bool {
        self.down.load(Ordering::SeqCst) == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use tokio::sync::mpsc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_task_that_panics_is_down_for_the_restart_delay_then_runs_again() {
        let supervisor = Supervisor::default();
        let (started, mut starts) = mpsc::unbounded_channel();
        let calls = Arc::new(AtomicUsize::new(0));
        supervisor.spawn("test", move || {
            let (started, call) = (started.clone(), calls.fetch_add(1, Ordering::SeqCst) + 1);
            async move {
                started.send(call).unwrap();
                if call == 1 {
                    panic!("injected panic");
                }
                std::future::pending::<()>().await;
            }
        });

        assert_eq!(starts.recv().await, Some(1));
        // The paused clock moves only once every task waits: the supervisor has seen the
        // panic and sleeps out its delay.
        tokio::time::sleep(RESTART_DELAY / 2).await;
        assert!(!supervisor.all_running(), "down while it waits to restart");

        assert_eq!(starts.recv().await, Some(2), "started again");
        assert!(supervisor.all_running());
    }

    #[tokio::test]
    async fn a_task_that_returns_is_not_started_again() {
        let supervisor = Supervisor::default();
        let (started, mut starts) = mpsc::unbounded_channel::<()>();
        supervisor.spawn("test", move || {
            let started = started.clone();
            async move { started.send(()).unwrap() }
        });
        assert_eq!(starts.recv().await, Some(()));
        assert_eq!(starts.recv().await, None, "the task's closure is dropped: no second start");
        assert!(supervisor.all_running());
    }
}
