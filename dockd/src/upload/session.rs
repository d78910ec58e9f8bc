//! The upload queue's decisions as a pure state machine, in the style of `link::session`: told the
//! time, the committed batches and each attempt's outcome, it answers what to do next. It owns the
//! send/wait/pause/dead-letter/split rules and the state shown as upload status; it must never do
//! I/O, read a clock or the database, nor form a batch (that is `upload::batch` and the store).
//!
//! The driver loop: `poll(now)` → `Send(id)`: send that batch's committed bytes, then report with
//! `on_outcome(now, id, outcome, random)` and apply its [`Verdict`] to the store (commit, park,
//! split); `Wait { until_ms }` / `Paused { .. }`: sleep until then or until something is offered,
//! resumed or flushed; `Idle`: nothing is ready. One batch is in flight at a time.

use serde::Serialize;

use super::retry::{self, Class, Outcome, PAUSE_PROBE_MS, RandomSource};

/// A batch whose membership and bytes are committed, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub id: String,
    pub items: u64,
    /// Compressed bytes.
    pub bytes: u64,
    /// The oldest member's `created_ms`.
    pub oldest_ms: i64,
}

/// What the driver must do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this batch's committed bytes (identical on every attempt), then report the outcome.
    Send(String),
    /// Nothing until `until_ms` (a backoff), unless the session is resumed.
    Wait { until_ms: i64 },
    /// Every batch fails the same way; the next probe is due at `probe_at_ms`.
    Paused { reason: String, probe_at_ms: i64 },
    /// A batch is in flight: report its outcome first.
    AwaitingOutcome,
    /// Nothing is ready to send.
    Idle,
}

/// What an outcome means for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered: mark the batch's items as uploaded.
    Commit(String),
    /// Keep it; the next attempt is at `at_ms` (same bytes).
    Retry { id: String, at_ms: i64 },
    /// The queue is paused for this reason (a sentence) until resumed or a probe succeeds.
    Pause { reason: String },
    /// Park the batch as a dead letter; the rest continue.
    DeadLetter { id: String, reason: String },
    /// Re-form the batch as two (`batch::split`) and offer both.
    Split(String),
}

/// The outcome was for a batch not in flight.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("batch {0} is not in flight")]
pub struct NotInFlight(pub String);

/// What the queue holds, as the store counts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueFigures {
    pub items: u64,
    pub bytes: u64,
    pub oldest_ms: Option<i64>,
}

/// The upload state every user-facing surface shows (`dockd status --json` `"upload"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UploadStatus {
    pub queued_items: u64,
    pub queued_bytes: u64,
    /// Unix ms of the oldest queued item, or null.
    pub oldest_ms: Option<i64>,
    /// Unix ms of the last delivered batch, or null.
    pub last_success_ms: Option<i64>,
    /// The last failure as a sentence; null after a success.
    pub last_error: Option<String>,
    pub dead_letters: u64,
}

#[derive(Debug, Clone)]
struct Pause {
    reason: String,
    probe_at_ms: i64,
}

/// The upload queue's state.
#[derive(Debug, Clone, Default)]
pub struct Session {
    ready: Vec<Ready>,
    in_flight: Option<String>,
    /// Consecutive retriable failures.
    failures: u32,
    retry_at_ms: Option<i64>,
    pause: Option<Pause>,
    queue: QueueFigures,
    last_success_ms: Option<i64>,
    last_error: Option<String>,
    dead_letters: u64,
}

impl Session {
    /// A session resuming with `dead_letters` parked batches and the last success the store kept.
    pub fn new(dead_letters: u64, last_success_ms: Option<i64>) -> Self {
        Self {
            dead_letters,
            last_success_ms,
            ..Self::default()
        }
    }

    /// A committed batch is ready (again, after a restart); offering one twice is harmless.
    pub fn offer(&mut self, batch: Ready) {
        if !self.ready.iter().any(|r| r.id == batch.id) {
            self.ready.push(batch);
        }
    }

    /// The store's current count of queued items (batched or not).
    pub fn set_queue(&mut self, figures: QueueFigures) {
        self.queue = figures;
    }

    /// The store's count of dead letters (after an admin retried or dropped one).
    pub fn set_dead_letters(&mut self, dead_letters: u64) {
        self.dead_letters = dead_letters;
    }

    /// Ends a pause and any backoff: the next poll sends (new credentials, "upload now").
    pub fn resume(&mut self) {
        self.pause = None;
        self.failures = 0;
        self.retry_at_ms = None;
    }

    /// Batch `id` is gone from the store (delivered before a restart, or dropped by an admin):
    /// forget it, also if it was in flight.
    pub fn withdraw(&mut self, id: &str) {
        if self.in_flight.as_deref() == Some(id) {
            self.in_flight = None;
        }
        self.forget(id);
    }

    /// Why the queue is paused, if it is.
    pub fn paused(&self) -> Option<&str> {
        self.pause.as_ref().map(|p| p.reason.as_str())
    }

    /// The batches ready to send.
    pub fn ready(&self) -> &[Ready] {
        &self.ready
    }

    pub fn status(&self) -> UploadStatus {
        UploadStatus {
            queued_items: self.queue.items,
            queued_bytes: self.queue.bytes,
            oldest_ms: self.queue.oldest_ms,
            last_success_ms: self.last_success_ms,
            last_error: self.last_error.clone(),
            dead_letters: self.dead_letters,
        }
    }

    /// What to do at `now_ms`.
    pub fn poll(&mut self, now_ms: i64) -> Action {
        if self.in_flight.is_some() {
            return Action::AwaitingOutcome;
        }
        if self.ready.is_empty() {
            return Action::Idle;
        }
        if let Some(pause) = &self.pause {
            if now_ms < pause.probe_at_ms {
                return Action::Paused {
                    reason: pause.reason.clone(),
                    probe_at_ms: pause.probe_at_ms,
                };
            }
            return self.send(true);
        }
        if let Some(at) = self.retry_at_ms
            && now_ms < at
        {
            return Action::Wait { until_ms: at };
        }
        self.send(self.failures > 0)
    }

    /// Starts an attempt: while failing, the smallest batch probes (the least bytes spent on a
    /// dead link); otherwise the oldest goes first.
    fn send(&mut self, probing: bool) -> Action {
        let next = if probing {
            self.ready
                .iter()
                .min_by(|a, b| (a.bytes, &a.id).cmp(&(b.bytes, &b.id)))
        } else {
            self.ready
                .iter()
                .min_by(|a, b| (a.oldest_ms, &a.id).cmp(&(b.oldest_ms, &b.id)))
        };
        match next {
            Some(batch) => {
                self.in_flight = Some(batch.id.clone());
                Action::Send(batch.id.clone())
            }
            None => Action::Idle,
        }
    }

    /// The outcome of the attempt at batch `id`, ending at `now_ms`.
    pub fn on_outcome(
        &mut self,
        now_ms: i64,
        id: &str,
        outcome: &Outcome,
        random: &mut dyn RandomSource,
    ) -> Result<Verdict, NotInFlight> {
        if self.in_flight.as_deref() != Some(id) {
            return Err(NotInFlight(id.to_owned()));
        }
        self.in_flight = None;
        let class = outcome.class();
        if !matches!(class, Class::Retriable | Class::EveryBatch) {
            // The receiver took the dock's credentials and read the batch: no longer paused.
            self.pause = None;
            self.failures = 0;
            self.retry_at_ms = None;
        }
        Ok(match class {
            Class::Delivered => {
                self.forget(id);
                self.last_success_ms = Some(now_ms);
                self.last_error = None;
                Verdict::Commit(id.to_owned())
            }
            Class::Retriable => {
                self.last_error = Some(outcome.to_string());
                if let Some(pause) = &mut self.pause {
                    // A probe that could not reach the receiver says nothing about the cause.
                    pause.probe_at_ms = now_ms.saturating_add(ms(PAUSE_PROBE_MS));
                    return Ok(Verdict::Pause {
                        reason: pause.reason.clone(),
                    });
                }
                self.failures = self.failures.saturating_add(1);
                let at_ms =
                    now_ms.saturating_add(ms(retry::retry_wait_ms(outcome, self.failures, random)));
                self.retry_at_ms = Some(at_ms);
                Verdict::Retry {
                    id: id.to_owned(),
                    at_ms,
                }
            }
            Class::EveryBatch => {
                let reason = outcome.to_string();
                self.last_error = Some(reason.clone());
                self.failures = 0;
                self.retry_at_ms = None;
                self.pause = Some(Pause {
                    reason: reason.clone(),
                    probe_at_ms: now_ms.saturating_add(ms(PAUSE_PROBE_MS)),
                });
                Verdict::Pause { reason }
            }
            Class::ThisBatch => self.park(id, outcome.to_string()),
            Class::TooLarge => {
                let items = self
                    .ready
                    .iter()
                    .find(|r| r.id == id)
                    .map_or(0, |r| r.items);
                if items < 2 {
                    self.park(
                        id,
                        "The receiver found a single record too large; it was set aside as a dead letter."
                            .to_owned(),
                    )
                } else {
                    self.forget(id);
                    self.last_error = Some(outcome.to_string());
                    Verdict::Split(id.to_owned())
                }
            }
        })
    }

    fn park(&mut self, id: &str, reason: String) -> Verdict {
        self.forget(id);
        self.dead_letters = self.dead_letters.saturating_add(1);
        self.last_error = Some(reason.clone());
        Verdict::DeadLetter {
            id: id.to_owned(),
            reason,
        }
    }

    fn forget(&mut self, id: &str) {
        self.ready.retain(|r| r.id != id);
    }
}

fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
