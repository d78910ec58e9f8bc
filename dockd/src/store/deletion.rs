//! A worker's deletion (the right to erasure): every row about one worker goes in one transaction,
//! a `worker_deleted` record is queued for the cloud under every key id they were uploaded under,
//! a keyed tombstone keeps what a wearable still holds of theirs from coming back at a later
//! docking, and one audit entry names them by id. It owns that SQL and the tombstones; it must
//! never store, log or return a badge tag or a name, nor delete another worker's rows (a segment
//! they shared keeps the other rows, with their upload places written down).
//!
//! What goes: their samples, alerts, events, shift reports, opt-out counts, the pseudonyms they
//! were uploaded under, their queued upload items not yet in a batch, the quarantined bytes of
//! every wearable they are linked to (the row stays, without bytes, so a later docking does not
//! store them again), their roster entry with tag and name (their wearables stay on the roster,
//! assigned to no one, so the next docking clears the tag from the wearable), and, through their
//! own store file in the same transaction (the writer's), their work restrictions. What stays:
//! the audit entries naming them by id (an id never reused: `worker.id` is AUTOINCREMENT), the
//! tombstone, and upload batches already committed (their bytes never change; the deletion
//! record travels after them).
//!
//! **Tombstones** hold the worker's site pseudonym (HMAC-SHA256 of the tag under the pseudonym
//! key, never the tag) under the key in force and under every key id they were uploaded under.
//! Ingest checks a tag it has no worker row for against them with the key in force
//! (`roster::known_worker`): a match is discarded like an opted-out worker's data, counted on
//! the segment only. A tombstone is kept until the same badge tag is put on the roster again
//! (a badge handed to someone new: `roster::add_worker` lifts it); a wearable can sit undocked
//! for any time, so no age would be safe. A tombstone made under a key the dock no longer holds
//! cannot match any more.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::accounts::{self, AuditEntry};
use super::outbox::{self, OutboxPolicy};
use super::roster::RosterError;
use super::{Reader, StoreError};
use crate::upload::Item;
use crate::upload::record::{Record, UNKNOWN_DAY, WorkerDeleted};
use crate::worker::{Pseudonyms, WorkerTag};

/// The tables whose rows about a worker are deleted with them, each naming the worker by
/// `worker_id` (the selection a worker's export reads by, `store::export`). Work restrictions
/// go through their own store file and the roster's wearables are kept, assigned to no one.
pub const DELETED_BY_WORKER: [&str; 6] = [
    "sample_block",
    "alert",
    "event",
    "shift_report",
    "opt_out_discard",
    "upload_pseudonym",
];

/// The audit action of a deletion.
const AUDIT_ACTION: &str = "delete";

/// What a quarantined segment's row says once its bytes went with a worker's data.
const QUARANTINE_EMPTIED: &str = "its bytes were deleted with a worker's data";

/// One worker's deletion, applied by `Writer::delete_worker` in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerDeletion {
    /// The worker's id.
    pub worker: i64,
    pub at_ms: i64,
    /// Who deleted them, as the audit entry names them: a page user, or `dockd worker delete`.
    pub by: String,
}

/// What one deletion removed, by counts (never a tag or a name).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Deleted {
    /// The deleted worker's id (it is never given to anyone else).
    pub worker: i64,
    pub sample_blocks: u64,
    pub samples: u64,
    pub alerts: u64,
    pub events: u64,
    pub shift_reports: u64,
    /// Their work restrictions.
    pub restrictions: u64,
    /// Their opt-out's counts of discarded data, per segment.
    pub discard_counts: u64,
    /// Wearables that were assigned to them, now assigned to no one.
    pub wearables_unassigned: u64,
    /// Quarantined segments whose bytes went.
    pub quarantined_segments: u64,
    /// Their upload items not yet in a batch.
    pub upload_items: u64,
    /// `worker_deleted` records queued for the cloud (one per key id they were uploaded under).
    pub cloud_deletions: u64,
}

/// What went, in words: `2 sample blocks (3000 samples), 4 alerts, …`.
impl std::fmt::Display for Deleted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} sample blocks ({} samples), {} alerts, {} events, {} shift reports, {} work restrictions, {} opt-out counts, {} quarantined segments' bytes, {} queued upload items; {} wearables now assigned to no one; {} deletion records queued for the cloud",
            self.sample_blocks,
            self.samples,
            self.alerts,
            self.events,
            self.shift_reports,
            self.restrictions,
            self.discard_counts,
            self.quarantined_segments,
            self.upload_items,
            self.wearables_unassigned,
            self.cloud_deletions
        )
    }
}

impl Deleted {
    /// The deletion's audit subject, by the worker's id: `worker 12: their data deleted for good
    /// (…)`.
    pub fn subject(&self) -> String {
        format!(
            "worker {}: their data deleted for good ({self}); a tombstone (their pseudonym) discards what a wearable still holds of theirs",
            self.worker
        )
    }
}

/// Why a deletion or a tombstone check could not be done.
#[derive(Debug, thiserror::Error)]
pub enum DeletionError {
    #[error(
        "the store was given no pseudonym key, so a deleted worker's tombstone can be neither made nor checked"
    )]
    NoKey,
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Deletes worker `deletion.worker` and everything about them (see the module's docs) inside the
/// writer's savepoint; `restrictions` is how many work restrictions of theirs the writer deleted
/// in the same transaction, `keys` the pseudonym key in force (required: it makes the tombstone).
pub(super) fn delete_worker(
    tx: &Transaction<'_>,
    policy: Option<&OutboxPolicy>,
    keys: Option<&Pseudonyms>,
    deletion: &WorkerDeletion,
    restrictions: u64,
) -> Result<Deleted, StoreError> {
    let id = deletion.worker;
    let tag: Option<Vec<u8>> = tx
        .query_row("SELECT tag FROM worker WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    let tag = tag.ok_or(RosterError::NoSuchWorker)?;
    let keys = keys.ok_or(DeletionError::NoKey)?;
    // The pseudonyms they were uploaded under, read before their rows go.
    let uploaded: Vec<(String, String)> = tx
        .prepare_cached("SELECT key_id, pseudonym FROM upload_pseudonym WHERE worker_id = ?1")?
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;

    let (sample_blocks, samples): (i64, i64) = tx.query_row(
        "SELECT count(*), coalesce(sum(count), 0) FROM sample_block WHERE worker_id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    keep_places(tx, id)?;
    let quarantined_segments = count(tx.execute(
        "UPDATE quarantine SET bytes = x'', reason = ?2 WHERE length(bytes) > 0 AND wearable_id IN (
            SELECT wearable_id FROM segment WHERE id IN (
                SELECT segment_id FROM sample_block WHERE worker_id = ?1
                UNION SELECT segment_id FROM alert WHERE worker_id = ?1
                UNION SELECT segment_id FROM event WHERE worker_id = ?1
                UNION SELECT segment_id FROM opt_out_discard WHERE worker_id = ?1)
            UNION SELECT wearable_id FROM shift_report WHERE worker_id = ?1
            UNION SELECT w.id FROM wearable w JOIN roster_wearable r ON r.serial = w.serial
                WHERE r.worker_id = ?1)",
        params![id, QUARANTINE_EMPTIED],
    )?);
    let upload_items = count(outbox::drop_worker_items(tx, id)?);
    let mut deleted = [0u64; DELETED_BY_WORKER.len()];
    for (table, n) in DELETED_BY_WORKER.iter().zip(deleted.iter_mut()) {
        *n = count(tx.execute(&format!("DELETE FROM {table} WHERE worker_id = ?1"), [id])?);
    }
    let [_, alerts, events, shift_reports, discard_counts, _] = deleted;
    let wearables_unassigned = count(tx.execute(
        "UPDATE roster_wearable SET worker_id = NULL, changed_ms = ?2, applied_ms = NULL
         WHERE worker_id = ?1",
        params![id, deletion.at_ms],
    )?);
    // With foreign keys on, this fails if any row still refers to them.
    tx.execute("DELETE FROM worker WHERE id = ?1", [id])?;

    let tag = super::roster::tag_from_column(tag);
    let mut tombstones: Vec<(String, String)> = uploaded.clone();
    if let Some(tag) = &tag {
        tombstones.push((keys.key_id(), keys.hash(tag)));
    }
    let mut bury = tx.prepare_cached(
        "INSERT INTO worker_tombstone (key_id, pseudonym, deleted_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (key_id, pseudonym) DO NOTHING",
    )?;
    for (key_id, pseudonym) in &tombstones {
        bury.execute(params![key_id, pseudonym, deletion.at_ms])?;
    }
    let cloud_deletions = queue_cloud_deletions(tx, policy, &uploaded, deletion.at_ms)?;

    let done = Deleted {
        worker: id,
        sample_blocks: u64::try_from(sample_blocks).unwrap_or(0),
        samples: u64::try_from(samples).unwrap_or(0),
        alerts,
        events,
        shift_reports,
        restrictions,
        discard_counts,
        wearables_unassigned,
        quarantined_segments,
        upload_items,
        cloud_deletions,
    };
    accounts::append_audit(
        tx,
        &[AuditEntry {
            at_ms: deletion.at_ms,
            user: deletion.by.clone(),
            action: AUDIT_ACTION.to_owned(),
            subject: done.subject(),
        }],
    )?;
    outbox::queue_audit_anchors(tx, policy)?;
    Ok(done)
}

/// In every segment the worker's alerts or sample blocks share with other rows, the other rows'
/// places (their upload keys' index) as they are before the worker's rows go.
fn keep_places(tx: &Transaction<'_>, id: i64) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE alert SET place = (SELECT count(*) FROM alert o
            WHERE o.segment_id = alert.segment_id AND o.id < alert.id)
         WHERE place IS NULL AND worker_id IS NOT ?1
            AND segment_id IN (SELECT segment_id FROM alert WHERE worker_id = ?1)",
        [id],
    )?;
    tx.execute(
        "UPDATE sample_block SET place = (SELECT count(*) FROM sample_block o
            WHERE o.segment_id = sample_block.segment_id
                AND (o.t_ms < sample_block.t_ms
                    OR (o.t_ms = sample_block.t_ms AND o.id < sample_block.id)))
         WHERE place IS NULL AND worker_id IS NOT ?1
            AND segment_id IN (SELECT segment_id FROM sample_block WHERE worker_id = ?1)",
        [id],
    )?;
    Ok(())
}

/// One `worker_deleted` record per key id the worker was uploaded under, queued (never evicted)
/// in the deletion's transaction, behind every batch already committed; none without `[upload]`.
fn queue_cloud_deletions(
    tx: &Transaction<'_>,
    policy: Option<&OutboxPolicy>,
    uploaded: &[(String, String)],
    at_ms: i64,
) -> Result<u64, StoreError> {
    let Some(policy) = policy else {
        return Ok(0);
    };
    let day = crate::analysis::shifts::local_day(&policy.time_zone, at_ms)
        .unwrap_or_else(|| UNKNOWN_DAY.to_owned());
    let items = uploaded
        .iter()
        .map(|(key_id, pseudonym)| {
            let record = Record::WorkerDeleted(WorkerDeleted {
                key: String::new(),
                schema: 0,
                site: policy.site.clone(),
                dock: policy.dock.clone(),
                worker: pseudonym.clone(),
                key_id: key_id.clone(),
                day: day.clone(),
                deleted_ms: at_ms,
            })
            .sealed();
            Item::of(&record, at_ms).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    outbox::queue(tx, Some(policy), items.iter())?;
    Ok(count(items.len()))
}

/// Whether `tag` is a deleted worker's (its pseudonym under `keys` matches a tombstone). Without
/// tombstones no key is needed; with some and no key, ingest stops rather than keep data that
/// may be a deleted worker's (the segment stays on its wearable).
pub(super) fn tombstoned(
    tx: &Transaction<'_>,
    keys: Option<&Pseudonyms>,
    tag: &WorkerTag,
) -> Result<bool, StoreError> {
    let any: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM worker_tombstone)")?
        .query_row([], |r| r.get(0))?;
    if !any {
        return Ok(false);
    }
    let keys = keys.ok_or(DeletionError::NoKey)?;
    Ok(tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM worker_tombstone WHERE key_id = ?1 AND pseudonym = ?2)",
        )?
        .query_row(params![keys.key_id(), keys.hash(tag)], |r| r.get(0))?)
}

/// Lifts the tombstone of `tag` under the key in force (it is put on the roster again); without
/// a key there is none to find.
pub(super) fn lift(
    tx: &Transaction<'_>,
    keys: Option<&Pseudonyms>,
    tag: &WorkerTag,
) -> Result<(), StoreError> {
    if let Some(keys) = keys {
        tx.prepare_cached("DELETE FROM worker_tombstone WHERE key_id = ?1 AND pseudonym = ?2")?
            .execute(params![keys.key_id(), keys.hash(tag)])?;
    }
    Ok(())
}

impl Reader {
    /// How many tombstones of deleted workers the dock keeps.
    pub fn tombstones(&self) -> Result<u64, StoreError> {
        self.with(|conn| {
            conn.query_row("SELECT count(*) FROM worker_tombstone", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .map(|n| u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests;
