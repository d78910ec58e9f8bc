//! The upload driver: the thin I/O loop around `upload::Session`, as `pull::client` is around
//! `link::session`. It forms due batches from the outbox (`upload::batch::plan` over what the
//! store holds), commits each batch's membership and bytes before its first send, sends the
//! committed bytes through the `Target`, and applies the session's verdicts to the store. It owns
//! the loop's timing and its wake-ups; it must never decide a retry, a pause or a batch's members
//! itself (that is `upload`), nor write except through the store's `Writer`.
//!
//! One batch is in flight at a time. A send cut short by shutdown (or a kill) leaves the batch
//! committed: the next start sends the same bytes under the same id again, so a receiver that got
//! it the first time sees one repeated batch, never a different one.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::handle::{UploadLive, UploadPublisher};
use super::target::{Outgoing, Target};
use crate::clock::Clock;
use crate::store::outbox::{BatchState, NewBatch, OutboxChange};
use crate::store::{Reader, StoreError, Writer};
use crate::upload::batch::{self, Limits};
use crate::upload::{Action, Item, QueueFigures, Ready, Session, Verdict};

/// How long the driver sleeps at most before looking at the store and the clock again: new items,
/// an age limit reached, an injected clock that jumped.
const LOOK_AGAIN: Duration = Duration::from_secs(1);
/// Committed batches kept ahead of the sends: a backlog is not doubled on disk as batch bodies.
const READY_AHEAD: usize = 4;

/// Why the driver stopped.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The driver's state: the session and what it needs to act on its decisions.
pub struct Driver {
    reader: Reader,
    writer: Writer,
    target: Target,
    limits: Limits,
    clock: Arc<dyn Clock>,
    session: Session,
    /// The last error and pause as the store holds them (written only when they change).
    persisted: (Option<String>, Option<String>),
    flush: bool,
}

impl Driver {
    /// A driver resuming from what the store holds.
    pub fn new(
        reader: Reader,
        writer: Writer,
        target: Target,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let status = reader.upload_status()?;
        let paused = reader.upload_paused()?;
        Ok(Self {
            session: Session::new(status.dead_letters, status.last_success_ms),
            persisted: (status.last_error, paused),
            reader,
            writer,
            target,
            limits,
            clock,
            flush: false,
        })
    }

    /// Runs until `cancel`: forms and sends batches, publishing the state after every step.
    pub async fn run(mut self, publisher: UploadPublisher, cancel: CancellationToken) {
        tracing::info!("Uploads go to {}.", self.target.describe());
        loop {
            if cancel.is_cancelled() {
                break;
            }
            let wait = match self.step(&cancel).await {
                Ok(wait) => wait,
                Err(error) => {
                    tracing::error!("The upload queue could not be read or written: {error}.");
                    LOOK_AGAIN
                }
            };
            if let Ok(live) = self.live() {
                publisher.publish(live);
            }
            if wait.is_zero() {
                continue;
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                () = publisher.now_requested() => {
                    tracing::info!("An upload was asked for: every queued item is sent now.");
                    self.flush = true;
                    self.session.resume();
                }
                () = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!(
            "The upload driver stopped; committed batches are sent again at the next start."
        );
    }

    /// The state every surface shows.
    pub fn live(&self) -> Result<UploadLive, StoreError> {
        let mut status = self.session.status();
        let stored = self.reader.upload_status()?;
        status.queued_items = stored.queued_items;
        status.queued_bytes = stored.queued_bytes;
        status.oldest_ms = stored.oldest_ms;
        status.dead_letters = stored.dead_letters;
        let dead = self
            .reader
            .outbox_batches()?
            .into_iter()
            .filter(|b| b.state == BatchState::Dead)
            .map(super::handle::DeadLetter::from)
            .collect();
        Ok(UploadLive {
            target: self.target.describe(),
            status,
            paused: self.session.paused().map(str::to_owned),
            dead,
        })
    }

    /// One step: form due batches, then act on the session's decision. Answers how long to wait
    /// before the next step (zero: go on at once).
    pub async fn step(&mut self, cancel: &CancellationToken) -> Result<Duration, DriverError> {
        let now = self.clock.now_ms();
        self.form_batches(now).await?;
        let stored = self.reader.upload_status()?;
        self.session.set_queue(QueueFigures {
            items: stored.queued_items,
            bytes: stored.queued_bytes,
            oldest_ms: stored.oldest_ms,
        });
        self.session.set_dead_letters(stored.dead_letters);
        let action = self.session.poll(now);
        let wait = match action {
            Action::Send(id) => {
                self.send(&id, cancel).await?;
                Duration::ZERO
            }
            Action::Wait { until_ms } => until(now, until_ms),
            Action::Paused { probe_at_ms, .. } => until(now, probe_at_ms),
            Action::AwaitingOutcome | Action::Idle => {
                self.flush = false;
                LOOK_AGAIN
            }
        };
        self.persist().await?;
        Ok(wait)
    }

    /// Commits the due batches of every partition, at most [`READY_AHEAD`] ready at once, and
    /// offers every ready batch to the session (again after a restart: committed batches are sent
    /// before anything new).
    async fn form_batches(&mut self, now: i64) -> Result<(), DriverError> {
        let mut ready = self.ready_batches()?;
        if ready.len() < READY_AHEAD {
            for queue in self.reader.outbox_partitions()? {
                if ready.len() >= READY_AHEAD {
                    break;
                }
                let pending = self.reader.outbox_pending(
                    &queue.partition,
                    self.limits.max_items,
                    self.limits.max_bytes,
                )?;
                // `pending` is at most one batch's worth: a partition is due when the store holds
                // more than that, or its oldest item is old enough, or an upload was asked for.
                let full = queue.items > pending.len() as u64;
                let planned = batch::plan(&pending, &self.limits, now, self.flush || full);
                let mut batches = Vec::new();
                for plan in planned.into_iter().take(READY_AHEAD - ready.len()) {
                    let members: Vec<&Item> = pending
                        .iter()
                        .filter(|i| plan.keys.binary_search(&i.key).is_ok())
                        .collect();
                    match batch::encode(&members) {
                        Ok(body) => batches.push(NewBatch {
                            planned: plan,
                            body,
                        }),
                        Err(error) => {
                            tracing::error!("A batch could not be compressed: {error}.");
                        }
                    }
                }
                if !batches.is_empty() {
                    let count = batches.len();
                    self.writer
                        .outbox(OutboxChange::CommitBatches(batches))
                        .await?;
                    ready = self.ready_batches()?;
                    tracing::debug!("Committed {count} upload batches.");
                }
            }
        }
        for batch in ready {
            self.session.offer(batch);
        }
        Ok(())
    }

    fn ready_batches(&self) -> Result<Vec<Ready>, StoreError> {
        Ok(self
            .reader
            .outbox_batches()?
            .into_iter()
            .filter(|b| b.state == BatchState::Ready)
            .map(|b| Ready {
                id: b.id,
                items: b.items,
                bytes: b.bytes,
                oldest_ms: b.oldest_ms,
            })
            .collect())
    }

    /// Sends batch `id`'s committed bytes and applies the verdict.
    async fn send(&mut self, id: &str, cancel: &CancellationToken) -> Result<(), DriverError> {
        let batch = self
            .reader
            .outbox_batches()?
            .into_iter()
            .find(|b| b.id == id);
        let (Some(batch), Some(body)) = (batch, self.reader.outbox_batch_body(id)?) else {
            // Delivered or dropped meanwhile (an admin's drop): forget it.
            self.session.withdraw(id);
            return Ok(());
        };
        let outgoing = Outgoing {
            id,
            partition: &batch.partition,
            body: &body,
            items: batch.items,
        };
        let outcome = tokio::select! {
            outcome = self.target.send(&outgoing) => outcome,
            () = cancel.cancelled() => {
                self.session.withdraw(id);
                return Ok(());
            }
        };
        let now = self.clock.now_ms();
        let mut random = || getrandom::u64().unwrap_or(0);
        let Ok(verdict) = self.session.on_outcome(now, id, &outcome, &mut random) else {
            return Ok(());
        };
        match verdict {
            Verdict::Commit(id) => {
                self.writer
                    .outbox(OutboxChange::Delivered {
                        id: id.clone(),
                        at_ms: now,
                    })
                    .await?;
                tracing::debug!(
                    "Uploaded batch {id}: {} items of {} in {} bytes.",
                    batch.items,
                    batch.partition.kind.name(),
                    body.len()
                );
            }
            Verdict::Retry { id, at_ms } => {
                tracing::warn!(
                    "Upload of batch {id} failed ({outcome}); retrying in {} ms.",
                    at_ms.saturating_sub(now)
                );
            }
            Verdict::Pause { reason } => {
                tracing::warn!("Uploads are paused: {reason}");
            }
            Verdict::DeadLetter { id, reason } => {
                tracing::warn!(
                    "Batch {id} was set aside as a dead letter: {reason} An admin can retry or drop it on the Diagnostics page."
                );
                self.writer
                    .outbox(OutboxChange::Park {
                        id,
                        reason,
                        at_ms: now,
                    })
                    .await?;
            }
            Verdict::Split(id) => {
                self.split(&id).await?;
            }
        }
        Ok(())
    }

    /// Re-forms a batch the receiver found too large as its two halves.
    async fn split(&mut self, id: &str) -> Result<(), DriverError> {
        let items = self.reader.outbox_batch_items(id)?;
        let keys: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
        let Some((left, right)) = batch::split(&keys) else {
            return Ok(());
        };
        let mut halves = Vec::new();
        for half in [left, right] {
            let members: Vec<&Item> = items
                .iter()
                .filter(|i| half.binary_search(&i.key).is_ok())
                .collect();
            let Some(first) = members.first() else {
                continue;
            };
            let partition = batch::Partition {
                kind: first.kind,
                day: first.day.clone(),
            };
            let planned = batch::Planned {
                id: batch::batch_id(&members),
                partition,
                keys: half.clone(),
                bytes: members.iter().map(|i| i.payload.len() + 1).sum(),
                oldest_ms: members.iter().map(|i| i.created_ms).min().unwrap_or(0),
            };
            match batch::encode(&members) {
                Ok(body) => halves.push(NewBatch { planned, body }),
                Err(error) => tracing::error!("A batch could not be compressed: {error}."),
            }
        }
        tracing::warn!("The receiver found batch {id} too large; it is sent again as two halves.");
        self.writer
            .outbox(OutboxChange::Split {
                id: id.to_owned(),
                halves,
            })
            .await?;
        Ok(())
    }

    /// Writes the last error and the pause to the store when they changed, so `dockd status`
    /// (another process) shows them.
    async fn persist(&mut self) -> Result<(), DriverError> {
        let now = (
            self.session.status().last_error,
            self.session.paused().map(str::to_owned),
        );
        if now != self.persisted {
            self.writer
                .outbox(OutboxChange::Failure {
                    error: now.0.clone(),
                    paused: now.1.clone(),
                })
                .await?;
            self.persisted = now;
        }
        Ok(())
    }
}

/// The wait until `at_ms`, at most [`LOOK_AGAIN`] (the clock is injected and may jump).
fn until(now: i64, at_ms: i64) -> Duration {
    let ms = u64::try_from(at_ms.saturating_sub(now)).unwrap_or(0);
    Duration::from_millis(ms).min(LOOK_AGAIN)
}
