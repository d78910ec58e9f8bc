//! The upload driver: the thin I/O loop around `upload::Session`, as `pull::client` is around
//! `link::session`. It forms due batches from the outbox (`upload::batch::plan` over what the
//! store holds), commits each batch's membership and bytes before its first send, sends the
//! committed bytes through the `Target`, and applies the session's verdicts to the store. It owns
//! the loop's timing and its wake-ups; it must never decide a retry, a pause or a batch's members
//! itself (that is `upload`), nor write except through the store's `Writer`.
//!
//! One batch is in flight at a time. While it travels, the next batches are formed (at most
//! [`READY_AHEAD`] committed ahead), so a drain is paced by the network rather than by forming.
//! A send cut short by shutdown (or a kill) leaves the batch committed: the next start sends the
//! same bytes under the same id again, so a receiver that got it the first time sees one repeated
//! batch, never a different one.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::handle::{UploadLive, UploadPublisher};
use super::target::{Outgoing, Target};
use crate::clock::Clock;
use crate::store::outbox::{BatchRow, BatchState, NewBatch, OutboxChange, PartitionQueue};
use crate::store::{Reader, StoreError, Writer};
use crate::upload::batch::{self, Limits};
use crate::upload::retry::Outcome;
use crate::upload::{Action, Item, QueueFigures, Ready, Session, Verdict};

/// How long the driver sleeps at most before looking at the store and the clock again: new items,
/// an age limit reached, an injected clock that jumped.
const LOOK_AGAIN: Duration = Duration::from_secs(1);
/// Committed batches kept ahead of the sends: a backlog is not doubled on disk as batch bodies.
const READY_AHEAD: usize = 4;
/// New batches are formed when this many or fewer are ready, [`READY_AHEAD`] at a time, so the
/// queue's figures are read once per few sends, not before every one.
const REFILL_AT: usize = 1;
/// Queued NDJSON bytes read at once to form batches (with the default 4 MiB batches: two).
const FORM_READ_BYTES: usize = 8 << 20;

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
    /// The failure being logged, so an outage of a week logs one WARN, not one per attempt.
    failing: Option<Failing>,
}

/// A run of failed attempts.
struct Failing {
    /// The last failure, as logged.
    last: String,
    attempts: u64,
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
            failing: None,
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
        // A waiting dead letter's refusal outlives later deliveries (the store says so).
        if status.last_error.is_none() {
            status.last_error = stored.last_error;
        }
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

    /// Offers every ready batch to the session (again after a restart, or after an admin's retry:
    /// committed batches are sent before anything new); when at most [`REFILL_AT`] are left,
    /// forms more first.
    async fn form_batches(&mut self, now: i64) -> Result<(), DriverError> {
        self.offer_ready()?;
        if self.session.ready().len() <= REFILL_AT {
            form(&self.reader, &self.writer, &self.limits, now, self.flush).await?;
            self.offer_ready()?;
        }
        Ok(())
    }

    fn offer_ready(&mut self) -> Result<(), StoreError> {
        for batch in self
            .reader
            .outbox_batches()?
            .into_iter()
            .filter(|b| b.state == BatchState::Ready)
        {
            self.session.offer(Ready {
                id: batch.id,
                items: batch.items,
                bytes: batch.bytes,
                oldest_ms: batch.oldest_ms,
            });
        }
        Ok(())
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
        // While the bytes travel, the next batches are formed (compressed and committed) when
        // few are left, so a drain is paced by the network, not by forming.
        let refill = self.session.ready().len() <= REFILL_AT + 1;
        let started_ms = self.clock.now_ms();
        let sending = async {
            tokio::select! {
                outcome = self.target.send(&outgoing) => Some(outcome),
                () = cancel.cancelled() => None,
            }
        };
        let forming = async {
            if refill {
                form(
                    &self.reader,
                    &self.writer,
                    &self.limits,
                    started_ms,
                    self.flush,
                )
                .await
            } else {
                Ok(())
            }
        };
        let (outcome, formed) = tokio::join!(sending, forming);
        let Some(outcome) = outcome else {
            self.session.withdraw(id);
            return formed;
        };
        // The outcome is applied even when forming failed: a delivery is never left uncommitted.
        let applied = self.apply(id, &batch, body.len(), &outcome).await;
        formed.and(applied)
    }

    /// Applies the session's verdict on `outcome` of batch `id` to the store.
    async fn apply(
        &mut self,
        id: &str,
        batch: &BatchRow,
        body_len: usize,
        outcome: &Outcome,
    ) -> Result<(), DriverError> {
        let now = self.clock.now_ms();
        let mut random = || getrandom::u64().unwrap_or(0);
        let Ok(verdict) = self.session.on_outcome(now, id, outcome, &mut random) else {
            return Ok(());
        };
        crate::metrics::count_upload_attempt(outcome.class());
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
                    body_len
                );
                if let Some(failures) = self.failing.take() {
                    tracing::info!(
                        "Uploads go through again after {} failed attempts.",
                        failures.attempts
                    );
                }
            }
            Verdict::Retry { id, at_ms } => {
                // One WARN when a failure starts or changes; the repeats of an outage are DEBUG.
                let text = outcome.to_string();
                match &mut self.failing {
                    Some(failing) if failing.last == text => {
                        failing.attempts += 1;
                        tracing::debug!(
                            "Upload of batch {id} failed again ({text}); retrying in {} ms.",
                            at_ms.saturating_sub(now)
                        );
                    }
                    _ => {
                        let attempts = self.failing.as_ref().map_or(0, |f| f.attempts) + 1;
                        tracing::warn!(
                            "Upload of batch {id} failed: {text} Retrying until it goes through; nothing is dropped."
                        );
                        self.failing = Some(Failing {
                            last: text,
                            attempts,
                        });
                    }
                }
            }
            Verdict::Pause { reason } => {
                let repeat = self.failing.as_ref().is_some_and(|f| f.last == reason);
                if repeat {
                    tracing::debug!("Uploads are still paused: {reason}");
                } else {
                    tracing::warn!("Uploads are paused: {reason}");
                }
                let attempts = self.failing.as_ref().map_or(0, |f| f.attempts) + 1;
                self.failing = Some(Failing {
                    last: reason,
                    attempts,
                });
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

/// Commits due batches until [`READY_AHEAD`] are ready (the store's ready batches count, the one
/// in flight included). Whether a partition is due is decided from the store's figures, so the
/// queue's payloads are read only for batches that are formed; compression runs on a blocking
/// thread.
async fn form(
    reader: &Reader,
    writer: &Writer,
    limits: &Limits,
    now: i64,
    flush: bool,
) -> Result<(), DriverError> {
    let ready = reader
        .outbox_batches()?
        .iter()
        .filter(|b| b.state == BatchState::Ready)
        .count();
    if ready >= READY_AHEAD {
        return Ok(());
    }
    // NDJSON bytes: each payload and its newline.
    let ndjson = |queue: &PartitionQueue| queue.bytes.saturating_add(queue.items);
    let due = |queue: &PartitionQueue| {
        batch::is_due(
            queue.items,
            ndjson(queue),
            queue.oldest_ms,
            limits,
            now,
            flush,
        )
    };
    // The figures are read only as far as the partitions due can fill the batches wanted.
    let mut room = (READY_AHEAD - ready) as u64;
    let partitions = reader.outbox_partitions_until(|queue| {
        if due(queue) {
            room = room.saturating_sub(batch::batches_for(queue.items, ndjson(queue), limits));
        }
        room == 0
    })?;
    let mut plans = Vec::new();
    let mut items: Vec<Item> = Vec::new();
    for queue in partitions {
        if ready + plans.len() >= READY_AHEAD {
            break;
        }
        if !due(&queue) {
            continue;
        }
        // Up to the batches still wanted, in one read of the oldest items, at most
        // [`FORM_READ_BYTES`] of them (the daemon's memory, with batches of raw samples).
        let wanted = READY_AHEAD - ready - plans.len();
        let read = wanted.min((FORM_READ_BYTES / limits.max_bytes.max(1)).max(1));
        let pending = reader.outbox_pending(
            &queue.partition,
            limits.max_items.saturating_mul(read),
            limits.max_bytes.saturating_mul(read),
        )?;
        // The store holds more than was read: the last batch cut from it may be short of its
        // continuation, so it waits for the next read unless it is the only one.
        let more = queue.items > pending.len() as u64;
        let mut planned = batch::plan(&pending, limits, now, flush || more);
        if more && planned.len() > 1 {
            planned.pop();
        }
        plans.extend(planned.into_iter().take(wanted));
        items.extend(pending);
    }
    if plans.is_empty() {
        return Ok(());
    }
    let encoded = tokio::task::spawn_blocking(move || {
        let mut batches = Vec::with_capacity(plans.len());
        for plan in plans {
            let members: Vec<&Item> = items
                .iter()
                .filter(|i| {
                    i.kind == plan.partition.kind
                        && i.day == plan.partition.day
                        && plan.keys.binary_search(&i.key).is_ok()
                })
                .collect();
            match batch::encode(&members) {
                Ok(body) => batches.push(NewBatch {
                    planned: plan,
                    body,
                }),
                Err(error) => tracing::error!("A batch could not be compressed: {error}."),
            }
        }
        batches
    })
    .await;
    let batches = match encoded {
        Ok(batches) => batches,
        Err(error) => {
            tracing::error!("Forming upload batches stopped: {error}.");
            return Ok(());
        }
    };
    if batches.is_empty() {
        return Ok(());
    }
    let count = batches.len();
    writer.outbox(OutboxChange::CommitBatches(batches)).await?;
    tracing::debug!("Committed {count} upload batches.");
    Ok(())
}

/// The wait until `at_ms`, at most [`LOOK_AGAIN`] (the clock is injected and may jump).
fn until(now: i64, at_ms: i64) -> Duration {
    let ms = u64::try_from(at_ms.saturating_sub(now)).unwrap_or(0);
    Duration::from_millis(ms).min(LOOK_AGAIN)
}
