//! Shutdown with a deadline, in the way Vector's topology stops: one `CancellationToken` tells
//! every task to stop, the tasks are waited for until a deadline, then the ones still running are
//! aborted and named in the log. It owns the daemon's long-lived tasks ([`Tasks`]: each spawned
//! under a name) and the shutdown budget; it must never wait past a deadline, and never abort a
//! task before the deadline it was given.
//!
//! Aborting is safe for every task the daemon runs: a pull sends ERASE only after the writer
//! acknowledged the commit, so a pull stopped anywhere leaves its data on the wearable; an aborted
//! task drops its `Writer` handle, which lets the writer drain its queue and close.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

/// The whole shutdown, from the signal to the writer closing the database: under the 10 s a
/// service manager commonly allows before it kills.
pub const BUDGET: Duration = Duration::from_secs(8);
/// The part of [`BUDGET`] the tasks get; the rest is the writer's, to drain and checkpoint.
pub const TASKS_SHARE: Duration = Duration::from_secs(6);
/// How long aborted tasks get to be dropped (an abort takes effect at the task's next poll).
const ABORT_SETTLE: Duration = Duration::from_millis(200);

/// Tasks spawned under a name, waited for together and aborted by name at a deadline.
#[derive(Clone, Default)]
pub struct Tasks {
    tracker: TaskTracker,
    running: Arc<Mutex<Vec<(&'static str, AbortHandle)>>>,
}

impl Tasks {
    pub fn new() -> Self {
        Self::default()
    }

    fn running(&self) -> MutexGuard<'_, Vec<(&'static str, AbortHandle)>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Spawns `task` as `name` (the name the log gives it if it has to be forced).
    pub fn spawn<F>(&self, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = self.tracker.spawn(task).abort_handle();
        let mut running = self.running();
        running.retain(|(_, handle)| !handle.is_finished());
        running.push((name, handle));
    }

    /// The tracker, for modules that spawn their own tasks (they are waited for, not named).
    pub fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    /// Waits for every task until `deadline`; then aborts the named ones still running and
    /// returns their names (each once, in spawn order). Spawning after this is still tracked
    /// but no longer waited for.
    pub async fn stop_by(&self, deadline: Instant) -> Vec<&'static str> {
        self.tracker.close();
        if tokio::time::timeout_at(deadline, self.tracker.wait())
            .await
            .is_ok()
        {
            return Vec::new();
        }
        let mut forced = Vec::new();
        for (name, handle) in self.running().iter() {
            if !handle.is_finished() {
                handle.abort();
                if !forced.contains(name) {
                    forced.push(*name);
                }
            }
        }
        let _ = tokio::time::timeout(ABORT_SETTLE, self.tracker.wait()).await;
        if !self.tracker.is_empty() && forced.is_empty() {
            forced.push("unnamed tasks");
        }
        forced
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tasks_that_stop_in_time_are_not_forced() {
        let tasks = Tasks::new();
        let stop = tokio_util::sync::CancellationToken::new();
        for name in ["a", "b"] {
            let stop = stop.clone();
            tasks.spawn(name, async move { stop.cancelled().await });
        }
        stop.cancel();
        let forced = tasks
            .stop_by(Instant::now() + Duration::from_secs(10))
            .await;
        assert!(forced.is_empty(), "{forced:?}");
        assert!(tasks.tracker().is_empty());
    }

    #[tokio::test]
    async fn a_task_that_ignores_the_token_is_aborted_at_the_deadline_and_named() {
        let tasks = Tasks::new();
        let held = Arc::new(());
        let in_task = Arc::clone(&held);
        tasks.spawn("stubborn", async move {
            let _held = in_task;
            std::future::pending::<()>().await;
        });
        tasks.spawn("quick", async {});
        let started = Instant::now();
        let forced = tasks.stop_by(started + Duration::from_millis(300)).await;
        assert_eq!(forced, ["stubborn"]);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(5),
            "{took:?}"
        );
        assert_eq!(
            Arc::strong_count(&held),
            1,
            "the aborted task dropped what it held"
        );
        assert!(tasks.tracker().is_empty());
    }
}
