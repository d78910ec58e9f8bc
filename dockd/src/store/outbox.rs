//! The upload outbox in the dock's database (issue 14): queued items, committed batches and their
//! bodies, the revision last queued under each key, the upload state row and what the disk budget
//! evicted. It owns that SQL and the queue, batch, budget and dead-letter rules; it must never
//! queue an item outside the transaction that stores its origin, change a committed batch's
//! membership or body, evict a `worker_deleted` or `evicted` record or a dead letter silently, or
//! log a payload.
//!
//! **Queue rule.** An item's digest is the SHA-256 hex of its payload. Under a key whose last
//! queued digest (`upload_revision`) is the same, queueing is a no-op (a re-analysis producing
//! identical content sends nothing); otherwise an unbatched item under that key is replaced (the
//! latest revision wins) or the item is inserted, and `upload_revision` remembers the key's
//! revision (the payload's `"revision"`, else 0) and digest.
//!
//! **Disk budget.** Unbatched payload bytes plus every batch body (ready or dead) stay within
//! `budget_bytes`: each queueing transaction evicts, in [`EVICTION_ORDER`], oldest first, unbatched
//! items of a kind and then whole ready batches of it, until within budget (new items included,
//! and room left for the eviction records it queues).
//! Each kind evicted is recorded in `outbox_eviction`, logged as a warning and queued as an
//! `evicted` record, which is always kept.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Row, Transaction, params};
use sha2::{Digest, Sha256};

use super::accounts::{self, AuditEntry};
use super::{Reader, StoreError};
use crate::upload::record::{AuditAnchor, Evicted, Kind, Record};
use crate::upload::{Item, Partition, Planned, UploadStatus};

/// What the disk budget evicts first to last; `worker_deleted`, `evicted` and `audit_anchor` never.
pub const EVICTION_ORDER: [Kind; 8] = [
    Kind::RawSamples,
    Kind::DockGps,
    Kind::DockDiag,
    Kind::WearableDiag,
    Kind::Alert,
    Kind::TaskAggregate,
    Kind::TeamAggregate,
    Kind::ShiftSummary,
];

/// The audit action of an admin's retry or drop of a dead letter (as other admin changes).
const AUDIT_ACTION: &str = "change";

/// The outbox's policy from `[upload]`, set once at start (`Writer::set_outbox`).
#[derive(Debug, Clone)]
pub struct OutboxPolicy {
    /// `[upload] site`.
    pub site: String,
    /// `[dock] name`.
    pub dock: String,
    /// `[upload] budget_bytes`.
    pub budget_bytes: u64,
    /// The site's time zone, for an eviction record's site-local day.
    pub time_zone: jiff::tz::TimeZone,
}

/// A batch to commit: its plan and the zstd NDJSON of its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBatch {
    pub planned: Planned,
    pub body: Vec<u8>,
}

/// One change to the outbox, applied by `Writer::outbox` in its own savepoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxChange {
    /// Items with no other origin (tests, benches).
    Queue(Vec<Item>),
    /// Membership and body of each batch, in one transaction.
    CommitBatches(Vec<NewBatch>),
    /// Deletes the batch and its members, records the success, clears the last error and pause.
    Delivered { id: String, at_ms: i64 },
    /// Parks the batch as a dead letter.
    Park {
        id: String,
        reason: String,
        at_ms: i64,
    },
    /// Replaces a ready batch by its halves (its members re-pointed).
    Split { id: String, halves: Vec<NewBatch> },
    /// The last error and the pause reason as the driver now sees them (`None` clears).
    Failure {
        error: Option<String>,
        paused: Option<String>,
    },
    /// An admin sends a dead letter again (audited).
    RetryDead {
        id: String,
        user: String,
        at_ms: i64,
    },
    /// An admin drops a dead letter and its members (audited).
    DropDead {
        id: String,
        user: String,
        at_ms: i64,
    },
}

/// A committed batch's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchState {
    /// Sent (again) until delivered.
    Ready,
    /// Refused for its content: waits for an admin.
    Dead,
}

impl BatchState {
    fn name(self) -> &'static str {
        match self {
            BatchState::Ready => "ready",
            BatchState::Dead => "dead",
        }
    }
}

/// Unbatched items of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionQueue {
    pub partition: Partition,
    pub items: u64,
    /// Payload bytes.
    pub bytes: u64,
    pub oldest_ms: i64,
}

/// One committed batch as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRow {
    pub id: String,
    pub partition: Partition,
    pub items: u64,
    /// Body (compressed) bytes.
    pub bytes: u64,
    pub oldest_ms: i64,
    pub state: BatchState,
    pub reason: Option<String>,
    pub parked_ms: Option<i64>,
}

/// What was last queued under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub revision: u32,
    /// SHA-256 hex of the payload.
    pub digest: String,
}

/// One eviction of one kind, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvictionRow {
    pub eviction_no: u64,
    pub at_ms: i64,
    pub kind: Kind,
    pub items: u64,
    /// Payload bytes.
    pub bytes: u64,
    pub first_created_ms: i64,
    pub last_created_ms: i64,
}

/// Why an outbox change was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OutboxError {
    #[error("no upload batch {0} is queued")]
    NoSuchBatch(String),
    #[error("upload batch {0} is not a dead letter")]
    NotDead(String),
    #[error("upload batch {0} is a dead letter; retry or drop it first")]
    Dead(String),
    #[error("upload batch {id} was not committed: {problem}")]
    Members { id: String, problem: String },
}

/// Applies one [`OutboxChange`] inside the writer's transaction.
pub(super) fn apply(
    tx: &Transaction<'_>,
    policy: Option<&OutboxPolicy>,
    change: &OutboxChange,
) -> Result<(), StoreError> {
    match change {
        OutboxChange::Queue(items) => queue(tx, policy, items),
        OutboxChange::CommitBatches(batches) => {
            for batch in batches {
                commit_batch(tx, batch, None)?;
            }
            Ok(())
        }
        OutboxChange::Delivered { id, at_ms } => delivered(tx, id, *at_ms),
        OutboxChange::Park { id, reason, at_ms } => {
            let state = batch_state(tx, id)?;
            if state == BatchState::Dead {
                return Err(OutboxError::Dead(id.clone()).into());
            }
            tx.execute(
                "UPDATE outbox_batch SET state = 'dead', reason = ?2, parked_ms = ?3 WHERE id = ?1",
                params![id, reason, at_ms],
            )?;
            tx.execute(
                "UPDATE upload_state SET last_error = ?1 WHERE id = 1",
                [reason],
            )?;
            Ok(())
        }
        OutboxChange::Split { id, halves } => {
            let state = batch_state(tx, id)?;
            if state == BatchState::Dead {
                return Err(OutboxError::Dead(id.clone()).into());
            }
            let committed_ms: i64 = tx.query_row(
                "SELECT committed_ms FROM outbox_batch WHERE id = ?1",
                [id],
                |r| r.get(0),
            )?;
            tx.execute(
                "UPDATE outbox_item SET batch_id = NULL WHERE batch_id = ?1",
                [id],
            )?;
            tx.execute("DELETE FROM outbox_batch WHERE id = ?1", [id])?;
            for half in halves {
                commit_batch(tx, half, Some(committed_ms))?;
            }
            Ok(())
        }
        OutboxChange::Failure { error, paused } => {
            tx.execute(
                "UPDATE upload_state SET last_error = ?1, paused = ?2 WHERE id = 1",
                params![error, paused],
            )?;
            Ok(())
        }
        OutboxChange::RetryDead { id, user, at_ms } => {
            let subject = dead_letter_subject(tx, id)?;
            tx.execute(
                "UPDATE outbox_batch SET state = 'ready', reason = NULL, parked_ms = NULL
                 WHERE id = ?1",
                [id],
            )?;
            audit(
                tx,
                user,
                *at_ms,
                format!("upload dead letter {subject}: retried"),
            )
        }
        OutboxChange::DropDead { id, user, at_ms } => {
            let subject = dead_letter_subject(tx, id)?;
            tx.execute("DELETE FROM outbox_item WHERE batch_id = ?1", [id])?;
            tx.execute("DELETE FROM outbox_batch WHERE id = ?1", [id])?;
            audit(
                tx,
                user,
                *at_ms,
                format!("upload dead letter {subject}: dropped"),
            )
        }
    }
}

/// Queues `items` under `policy` (none: `[upload]` is not configured and nothing is queued), then
/// holds the disk budget. Runs inside the transaction that stores the items' origin.
pub(super) fn queue<'a>(
    tx: &Transaction<'_>,
    policy: Option<&OutboxPolicy>,
    items: impl IntoIterator<Item = &'a Item>,
) -> Result<(), StoreError> {
    let Some(policy) = policy else {
        return Ok(());
    };
    let mut newest = None;
    for item in items {
        queue_one(tx, item)?;
        newest = newest.max(Some(item.created_ms));
    }
    match newest {
        Some(at_ms) => hold_budget(tx, policy, at_ms),
        None => Ok(()),
    }
}

/// Queues a report batch's items: records the pseudonyms they name workers by (per key id), and
/// drops the items naming a worker who opted out, checked here, inside the transaction that
/// stores the reports (an opt-out landing after the analyst read the roster still wins).
/// A deleted worker's items (their tag tombstoned, checked with `keys`) are dropped the same way.
pub(super) fn queue_reports(
    tx: &Transaction<'_>,
    policy: Option<&OutboxPolicy>,
    keys: Option<&crate::worker::Pseudonyms>,
    batch: &super::reports::ReportBatch,
) -> Result<(), StoreError> {
    if policy.is_none() {
        return Ok(());
    }
    let mut workers = HashMap::new();
    let mut opted_out: Vec<String> = Vec::new();
    for named in &batch.pseudonyms {
        let Some(wearer) = super::roster::known_worker(tx, keys, &mut workers, Some(named.worker))?
        else {
            continue;
        };
        let Some(id) = wearer.kept() else {
            opted_out.push(format!("\"worker\":\"{}\"", named.pseudonym));
            continue;
        };
        tx.prepare_cached(
            "INSERT INTO upload_pseudonym (worker_id, key_id, pseudonym) VALUES (?1, ?2, ?3)
             ON CONFLICT (worker_id, key_id) DO NOTHING",
        )?
        .execute(params![id, named.key_id, named.pseudonym])?;
    }
    let names_opted_out = |item: &&Item| {
        opted_out.iter().any(|needle| {
            item.payload
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
        })
    };
    queue(
        tx,
        policy,
        batch.outbox.iter().filter(|item| !names_opted_out(item)),
    )
}

/// A worker opted out: their items not yet in a batch leave the outbox (in the opt-out's
/// transaction). Items already committed in a batch travel as committed (a batch's bytes never
/// change); deleting what was uploaded is the privacy issue's "worker deleted" record.
pub(super) fn drop_worker_items(tx: &Transaction<'_>, worker_id: i64) -> Result<usize, StoreError> {
    let mut dropped = 0;
    let pseudonyms: Vec<String> = tx
        .prepare_cached("SELECT pseudonym FROM upload_pseudonym WHERE worker_id = ?1")?
        .query_map([worker_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for pseudonym in pseudonyms {
        dropped += tx
            .prepare_cached(
                "DELETE FROM outbox_item WHERE batch_id IS NULL AND instr(payload, ?1) > 0",
            )?
            .execute([format!("\"worker\":\"{pseudonym}\"").into_bytes()])?;
    }
    Ok(dropped)
}

fn digest(payload: &[u8]) -> String {
    hex::encode(Sha256::digest(payload))
}

/// The payload's `"revision"`, or 0 for a kind without one.
fn revision_of(payload: &[u8]) -> u32 {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| v.get("revision").and_then(|r| r.as_u64()))
        .and_then(|r| u32::try_from(r).ok())
        .unwrap_or(0)
}

fn queue_one(tx: &Transaction<'_>, item: &Item) -> Result<(), StoreError> {
    let digest = digest(&item.payload);
    let last: Option<String> = tx
        .prepare_cached("SELECT digest FROM upload_revision WHERE key = ?1")?
        .query_row([&item.key], |r| r.get(0))
        .optional()?;
    if last.as_deref() == Some(digest.as_str()) {
        return Ok(());
    }
    tx.prepare_cached("DELETE FROM outbox_item WHERE key = ?1 AND batch_id IS NULL")?
        .execute([&item.key])?;
    tx.prepare_cached(
        "INSERT INTO outbox_item (key, kind, day, payload, bytes, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        item.key,
        item.kind.name(),
        item.day,
        item.payload,
        i64::try_from(item.payload.len()).unwrap_or(i64::MAX),
        item.created_ms
    ])?;
    tx.prepare_cached(
        "INSERT INTO upload_revision (key, revision, digest) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET revision = excluded.revision, digest = excluded.digest",
    )?
    .execute(params![item.key, revision_of(&item.payload), digest])?;
    Ok(())
}

/// The bytes the budget counts, summed over covering indexes (payloads are never read).
pub(crate) const USED_BYTES: &str =
    "SELECT (SELECT coalesce(sum(bytes), 0) FROM outbox_item INDEXED BY outbox_item_by_batch
             WHERE batch_id IS NULL)
          + (SELECT coalesce(sum(body_bytes), 0) FROM outbox_batch INDEXED BY outbox_batch_by_state)";

/// The upload status's figures, over covering indexes.
const STATUS: &str = "SELECT (SELECT count(*) FROM outbox_item INDEXED BY outbox_item_by_age),
            (SELECT coalesce(sum(bytes), 0) FROM outbox_item INDEXED BY outbox_item_by_age),
            (SELECT min(created_ms) FROM outbox_item INDEXED BY outbox_item_by_age),
            s.last_success_ms, s.last_error,
            (SELECT count(*) FROM outbox_batch INDEXED BY outbox_batch_by_state
             WHERE state = 'dead')
     FROM upload_state s WHERE s.id = 1";

/// The unbatched queue's figures per partition, over a covering index (read before every few
/// sends: a scan of the table would read every payload's page).
pub(crate) const PARTITIONS: &str = "SELECT kind, day, count(*), sum(bytes), min(created_ms)
     FROM outbox_item INDEXED BY outbox_item_unbatched
     WHERE batch_id IS NULL GROUP BY kind, day ORDER BY kind, day";

/// A batch's members, found by key (SQLite's own choice scanned every unbatched item instead).
pub(crate) const BATCH_MEMBERS: &str =
    "UPDATE outbox_item INDEXED BY outbox_item_unbatched_key SET batch_id = ?1
     WHERE key IN (SELECT value FROM json_each(?2)) AND batch_id IS NULL";

/// Bytes the budget counts: unbatched payloads plus every batch body.
fn used_bytes(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    let used: i64 = tx.prepare_cached(USED_BYTES)?.query_row([], |r| r.get(0))?;
    Ok(u64::try_from(used).unwrap_or(0))
}

/// What one kind lost to the budget in one transaction.
#[derive(Default)]
struct Loss {
    items: u64,
    bytes: u64,
    first_created_ms: Option<i64>,
    last_created_ms: Option<i64>,
}

impl Loss {
    fn add(&mut self, items: u64, bytes: u64, first_ms: i64, last_ms: i64) {
        self.items += items;
        self.bytes += bytes;
        self.first_created_ms = Some(self.first_created_ms.map_or(first_ms, |m| m.min(first_ms)));
        self.last_created_ms = Some(self.last_created_ms.map_or(last_ms, |m| m.max(last_ms)));
    }
}

/// Evicts in [`EVICTION_ORDER`] until the outbox is within budget, and records each kind evicted
/// at `at_ms`: the newest `created_ms` among the items this transaction queued (the producers'
/// injected clock; the writer reads none). An evicted key keeps its `upload_revision`, so only
/// changed content under it is queued again.
fn hold_budget(tx: &Transaction<'_>, policy: &OutboxPolicy, at_ms: i64) -> Result<(), StoreError> {
    let mut used = used_bytes(tx)?;
    if used <= policy.budget_bytes {
        return Ok(());
    }
    // Each kind evicted queues an eviction record: evict enough to leave room for them.
    let room = evicted_record_room(policy)?;
    let within = |kinds: usize| policy.budget_bytes.saturating_sub(room * kinds as u64);
    let mut losses: Vec<(Kind, Loss)> = Vec::new();
    for kind in EVICTION_ORDER {
        if used <= within(losses.len()) {
            break;
        }
        // What may stay once this kind loses items (and so adds a record of its own).
        let target = within(losses.len() + 1);
        let mut loss = Loss::default();
        // Unbatched items first, oldest first.
        let victims: Vec<(i64, i64, i64)> = {
            let mut query = tx.prepare_cached(
                "SELECT id, bytes, created_ms FROM outbox_item
                 WHERE batch_id IS NULL AND kind = ?1 ORDER BY created_ms, key",
            )?;
            let rows = query.query_map([kind.name()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            let mut victims = Vec::new();
            let mut freed = 0u64;
            for row in rows {
                if used.saturating_sub(freed) <= target {
                    break;
                }
                let (id, bytes, created_ms): (i64, i64, i64) = row?;
                freed += u64::try_from(bytes).unwrap_or(0);
                victims.push((id, bytes, created_ms));
            }
            victims
        };
        for (id, bytes, created_ms) in victims {
            tx.prepare_cached("DELETE FROM outbox_item WHERE id = ?1")?
                .execute([id])?;
            let bytes = u64::try_from(bytes).unwrap_or(0);
            used = used.saturating_sub(bytes);
            loss.add(1, bytes, created_ms, created_ms);
        }
        // Then whole ready batches of the kind, oldest first (never a dead letter).
        while used > target {
            let oldest: Option<(String, i64)> = tx
                .prepare_cached(
                    "SELECT id, body_bytes FROM outbox_batch WHERE state = 'ready' AND kind = ?1
                     ORDER BY oldest_ms, id LIMIT 1",
                )?
                .query_row([kind.name()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((id, body_bytes)) = oldest else {
                break;
            };
            drop_batch(tx, &id, &mut loss)?;
            used = used.saturating_sub(u64::try_from(body_bytes).unwrap_or(0));
        }
        if loss.items > 0 {
            losses.push((kind, loss));
        }
    }
    if used > within(losses.len()) {
        tracing::warn!(
            used_bytes = used,
            budget_bytes = policy.budget_bytes,
            "The upload outbox is over its disk budget with nothing left it may evict (deletions, eviction records and dead letters stay)."
        );
    }
    for (kind, loss) in losses {
        record_eviction(tx, policy, at_ms, kind, &loss)?;
    }
    Ok(())
}

/// The retention of the outbox (`[privacy.retention_days] outbox`): every item of a kind in
/// [`EVICTION_ORDER`] created before `before_ms` and not delivered — unbatched, or in a ready
/// batch whose members are all that old (never a dead letter, a `worker_deleted`, `evicted` or
/// `audit_anchor` record) — goes, each kind recorded at `at_ms` as the disk budget records it (a
/// row, a warning and an `evicted` record). Without `[upload]` nothing is queued. Returns the
/// items removed.
pub(super) fn expire(
    tx: &Transaction<'_>,
    policy: Option<&OutboxPolicy>,
    before_ms: i64,
    at_ms: i64,
) -> Result<u64, StoreError> {
    let Some(policy) = policy else {
        return Ok(0);
    };
    let mut removed = 0u64;
    for kind in EVICTION_ORDER {
        let mut loss = Loss::default();
        let (items, bytes, first, last): (i64, i64, Option<i64>, Option<i64>) = tx.query_row(
            "SELECT count(*), coalesce(sum(bytes), 0), min(created_ms), max(created_ms)
             FROM outbox_item WHERE batch_id IS NULL AND kind = ?1 AND created_ms < ?2",
            params![kind.name(), before_ms],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        if let (Some(first), Some(last)) = (first, last) {
            tx.execute(
                "DELETE FROM outbox_item WHERE batch_id IS NULL AND kind = ?1 AND created_ms < ?2",
                params![kind.name(), before_ms],
            )?;
            loss.add(
                u64::try_from(items).unwrap_or(0),
                u64::try_from(bytes).unwrap_or(0),
                first,
                last,
            );
        }
        let old_batches: Vec<String> = tx
            .prepare_cached(
                "SELECT b.id FROM outbox_batch b WHERE b.state = 'ready' AND b.kind = ?1
                   AND (SELECT max(created_ms) FROM outbox_item i WHERE i.batch_id = b.id) < ?2",
            )?
            .query_map(params![kind.name(), before_ms], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in old_batches {
            drop_batch(tx, &id, &mut loss)?;
        }
        if loss.items > 0 {
            removed += loss.items;
            record_eviction(tx, policy, at_ms, kind, &loss)?;
        }
    }
    Ok(removed)
}

/// Removes batch `id` with its members, adding them to `loss`.
fn drop_batch(tx: &Transaction<'_>, id: &str, loss: &mut Loss) -> Result<(), StoreError> {
    let (items, bytes, first, last): (i64, i64, i64, i64) = tx.query_row(
        "SELECT count(*), coalesce(sum(bytes), 0), coalesce(min(created_ms), 0),
                coalesce(max(created_ms), 0)
         FROM outbox_item WHERE batch_id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    tx.execute("DELETE FROM outbox_item WHERE batch_id = ?1", [id])?;
    tx.execute("DELETE FROM outbox_batch WHERE id = ?1", [id])?;
    loss.add(
        u64::try_from(items).unwrap_or(0),
        u64::try_from(bytes).unwrap_or(0),
        first,
        last,
    );
    Ok(())
}

/// The most bytes one `evicted` record of this dock can take in the outbox (every number at its
/// widest), so an eviction leaves room for the records it queues.
fn evicted_record_room(policy: &OutboxPolicy) -> Result<u64, StoreError> {
    let widest = Record::Evicted(Evicted {
        key: String::new(),
        schema: 0,
        site: policy.site.clone(),
        dock: policy.dock.clone(),
        eviction_no: u64::MAX,
        day: "9999-12-31".to_owned(),
        at_ms: i64::MIN,
        // The longest name among the kinds that can be evicted.
        evicted_kind: Kind::TaskAggregate,
        items: u64::MAX,
        bytes: u64::MAX,
        first_created_ms: i64::MIN,
        last_created_ms: i64::MIN,
    })
    .sealed();
    let item = Item::of(&widest, i64::MIN).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(item.payload.len() as u64)
}

/// Records one kind's eviction: a row, a warning and an `evicted` record queued for upload.
fn record_eviction(
    tx: &Transaction<'_>,
    policy: &OutboxPolicy,
    at_ms: i64,
    kind: Kind,
    loss: &Loss,
) -> Result<(), StoreError> {
    let eviction_no: i64 = tx.query_row(
        "UPDATE upload_state SET evictions = evictions + 1 WHERE id = 1 RETURNING evictions",
        [],
        |r| r.get(0),
    )?;
    let first_created_ms = loss.first_created_ms.unwrap_or(at_ms);
    let last_created_ms = loss.last_created_ms.unwrap_or(at_ms);
    tx.execute(
        "INSERT INTO outbox_eviction (eviction_no, at_ms, kind, items, bytes, first_created_ms,
            last_created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            eviction_no,
            at_ms,
            kind.name(),
            i64::try_from(loss.items).unwrap_or(i64::MAX),
            i64::try_from(loss.bytes).unwrap_or(i64::MAX),
            first_created_ms,
            last_created_ms
        ],
    )?;
    tracing::warn!(
        kind = kind.name(),
        items = loss.items,
        bytes = loss.bytes,
        "The upload outbox reached its disk budget and evicted the oldest items of this kind; an eviction record is uploaded in their place."
    );
    let record = Record::Evicted(Evicted {
        key: String::new(),
        schema: 0,
        site: policy.site.clone(),
        dock: policy.dock.clone(),
        eviction_no: u64::try_from(eviction_no).unwrap_or(0),
        day: crate::analysis::shifts::local_day(&policy.time_zone, at_ms)
            .unwrap_or_else(|| crate::upload::record::UNKNOWN_DAY.to_owned()),
        at_ms,
        evicted_kind: kind,
        items: loss.items,
        bytes: loss.bytes,
        first_created_ms,
        last_created_ms,
    })
    .sealed();
    let item = Item::of(&record, at_ms).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    queue_one(tx, &item)
}

/// Commits one batch: its row (state ready) and its members, which must all be queued unbatched
/// in its partition and give its id.
fn commit_batch(
    tx: &Transaction<'_>,
    batch: &NewBatch,
    committed_ms: Option<i64>,
) -> Result<(), StoreError> {
    let planned = &batch.planned;
    let refuse = |problem: String| -> StoreError {
        OutboxError::Members {
            id: planned.id.clone(),
            problem,
        }
        .into()
    };
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM outbox_batch WHERE id = ?1)",
        [&planned.id],
        |r| r.get(0),
    )?;
    if exists {
        return Err(refuse("a batch with this id is already committed".into()));
    }
    // The members' content is checked through each key's digest, which `upload_revision` keeps
    // for the item queued last under it, the one outside a batch (payloads are never re-read).
    let keys = serde_json::to_string(&planned.keys)
        .map_err(|e| refuse(format!("its keys could not be listed: {e}")))?;
    let mut members: Vec<(String, String, i64)> = Vec::with_capacity(planned.keys.len());
    {
        let mut query = tx.prepare_cached(
            "SELECT k.value, r.digest, i.created_ms
             FROM json_each(?1) k
             LEFT JOIN upload_revision r ON r.key = k.value
             LEFT JOIN outbox_item i ON i.key = k.value AND i.batch_id IS NULL
                AND i.kind = ?2 AND i.day = ?3
             ORDER BY k.value",
        )?;
        let rows = query.query_map(
            params![keys, planned.partition.kind.name(), planned.partition.day],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            },
        )?;
        for row in rows {
            match row? {
                (key, Some(digest), Some(created_ms)) => members.push((key, digest, created_ms)),
                (key, ..) => {
                    return Err(refuse(format!(
                        "its member {key} is not queued outside a batch as one of its kind and day"
                    )));
                }
            }
        }
    }
    if members.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(refuse("a member is listed twice".into()));
    }
    let id = crate::upload::batch::batch_id_of_digests(
        members
            .iter()
            .map(|(key, digest, _)| (key.as_str(), digest.as_str())),
    );
    if id != planned.id {
        return Err(refuse(
            "its members' content does not give its id (changed since it was planned)".into(),
        ));
    }
    let oldest_ms = members.iter().map(|m| m.2).min().unwrap_or(0);
    tx.prepare_cached(
        "INSERT INTO outbox_batch (id, kind, day, items, body_bytes, oldest_ms, committed_ms,
            state, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'ready', ?8)",
    )?
    .execute(params![
        planned.id,
        planned.partition.kind.name(),
        planned.partition.day,
        i64::try_from(members.len()).unwrap_or(i64::MAX),
        i64::try_from(batch.body.len()).unwrap_or(i64::MAX),
        oldest_ms,
        committed_ms.unwrap_or(oldest_ms.max(planned.oldest_ms)),
        batch.body
    ])?;
    // One statement for every member: SQLite journals each page a statement changes (the
    // foreign key and the unique index make every statement journalled), so a statement per
    // member copied 64 KiB pages thousands of times per batch and bounded the upload's speed.
    let batched = tx
        .prepare_cached(BATCH_MEMBERS)?
        .execute(params![planned.id, keys])?;
    if batched != members.len() {
        return Err(refuse(format!(
            "{batched} of its {} members could be batched",
            members.len()
        )));
    }
    Ok(())
}

fn batch_state(tx: &Transaction<'_>, id: &str) -> Result<BatchState, StoreError> {
    let state: Option<String> = tx
        .query_row("SELECT state FROM outbox_batch WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    match state.as_deref() {
        None => Err(OutboxError::NoSuchBatch(id.to_owned()).into()),
        Some("dead") => Ok(BatchState::Dead),
        Some(_) => Ok(BatchState::Ready),
    }
}

fn delivered(tx: &Transaction<'_>, id: &str, at_ms: i64) -> Result<(), StoreError> {
    batch_state(tx, id)?;
    let items = tx.execute("DELETE FROM outbox_item WHERE batch_id = ?1", [id])?;
    tx.execute("DELETE FROM outbox_batch WHERE id = ?1", [id])?;
    tx.execute(
        "UPDATE upload_state SET last_success_ms = ?1, last_error = NULL, paused = NULL,
            delivered_batches = delivered_batches + 1, delivered_items = delivered_items + ?2
         WHERE id = 1",
        params![at_ms, i64::try_from(items).unwrap_or(i64::MAX)],
    )?;
    Ok(())
}

/// A dead letter's audit subject (its id, kind, day and size; never a payload), or why it is not
/// one.
fn dead_letter_subject(tx: &Transaction<'_>, id: &str) -> Result<String, StoreError> {
    if batch_state(tx, id)? != BatchState::Dead {
        return Err(OutboxError::NotDead(id.to_owned()).into());
    }
    let (kind, day, items): (String, String, i64) = tx.query_row(
        "SELECT kind, day, items FROM outbox_batch WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(format!("{id} ({items} {kind} items of {day})"))
}

fn audit(tx: &Transaction<'_>, user: &str, at_ms: i64, subject: String) -> Result<(), StoreError> {
    accounts::append_audit(
        tx,
        &[AuditEntry {
            at_ms,
            user: user.to_owned(),
            action: AUDIT_ACTION.to_owned(),
            subject,
        }],
    )
}

/// The audit chain's anchors not queued yet, queued as `audit_anchor` records (the newest few:
/// an anchor is taken at most hourly, and each covers the whole chain before it).
pub(super) fn queue_audit_anchors(
    tx: &Transaction<'_>,
    policy: Option<&OutboxPolicy>,
) -> Result<(), StoreError> {
    let Some(policy) = policy else {
        return Ok(());
    };
    let anchors: Vec<(i64, i64, String)> = tx
        .prepare_cached(
            "SELECT audit_id, at_ms, link FROM audit_anchor ORDER BY audit_id DESC LIMIT 8",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut items = Vec::new();
    for (audit_id, at_ms, link) in anchors {
        let record = Record::AuditAnchor(AuditAnchor {
            key: String::new(),
            schema: 0,
            site: policy.site.clone(),
            dock: policy.dock.clone(),
            day: crate::analysis::shifts::local_day(&policy.time_zone, at_ms)
                .unwrap_or_else(|| crate::upload::record::UNKNOWN_DAY.to_owned()),
            at_ms,
            audit_id,
            link,
        })
        .sealed();
        let queued: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM upload_revision WHERE key = ?1)")?
            .query_row([record.key()], |r| r.get(0))?;
        if !queued {
            items.push(Item::of(&record, at_ms).map_err(|e| StoreError::Corrupt(e.to_string()))?);
        }
    }
    queue(tx, Some(policy), items.iter())
}

const ITEM_COLUMNS: &str = "id, key, kind, day, payload, created_ms";

fn kind_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Kind> {
    let name: String = row.get(index)?;
    Kind::from_name(&name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown upload kind `{name}`").into(),
        )
    })
}

/// The partition in columns `index` (kind) and `index + 1` (day).
fn partition_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Partition> {
    Ok(Partition {
        kind: kind_at(row, index)?,
        day: row.get(index + 1)?,
    })
}

fn count_at(row: &Row<'_>, index: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(row.get::<_, i64>(index)?).unwrap_or(0))
}

fn item_from_row(row: &Row<'_>) -> rusqlite::Result<(i64, Item)> {
    Ok((
        row.get(0)?,
        Item {
            key: row.get(1)?,
            kind: kind_at(row, 2)?,
            day: row.get(3)?,
            payload: row.get(4)?,
            created_ms: row.get(5)?,
        },
    ))
}

impl Reader {
    /// Unbatched items by partition, in (kind, day) order.
    pub fn outbox_partitions(&self) -> Result<Vec<PartitionQueue>, StoreError> {
        self.outbox_partitions_until(|_| false)
    }

    /// Unbatched items by partition, in (kind, day) order, up to and including the first for
    /// which `enough` answers true: the rest of the queue's index is not read.
    pub fn outbox_partitions_until(
        &self,
        mut enough: impl FnMut(&PartitionQueue) -> bool,
    ) -> Result<Vec<PartitionQueue>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(PARTITIONS)?;
            let mut rows = query.query([])?;
            let mut partitions = Vec::new();
            while let Some(r) = rows.next()? {
                let queue = PartitionQueue {
                    partition: partition_at(r, 0)?,
                    items: count_at(r, 2)?,
                    bytes: count_at(r, 3)?,
                    oldest_ms: r.get(4)?,
                };
                let stop = enough(&queue);
                partitions.push(queue);
                if stop {
                    break;
                }
            }
            Ok(partitions)
        })
    }

    /// At most one batch's worth of `partition`'s unbatched items, oldest first: up to
    /// `max_items`, and NDJSON bytes (newlines included) up to `max_bytes` (the first item always).
    pub fn outbox_pending(
        &self,
        partition: &Partition,
        max_items: usize,
        max_bytes: usize,
    ) -> Result<Vec<Item>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS} FROM outbox_item
                 WHERE batch_id IS NULL AND kind = ?1 AND day = ?2 ORDER BY created_ms, key"
            ))?;
            let rows =
                query.query_map(params![partition.kind.name(), partition.day], item_from_row)?;
            let mut items = Vec::new();
            let mut bytes = 0usize;
            for row in rows {
                let (_, item) = row?;
                let size = item.payload.len() + 1;
                if !items.is_empty() && (items.len() >= max_items || bytes + size > max_bytes) {
                    break;
                }
                bytes += size;
                items.push(item);
            }
            Ok(items)
        })
    }

    /// Every committed batch, ready and dead, oldest first.
    pub fn outbox_batches(&self) -> Result<Vec<BatchRow>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT id, kind, day, items, body_bytes, oldest_ms, state, reason, parked_ms
                 FROM outbox_batch ORDER BY oldest_ms, id",
            )?;
            let rows = query.query_map([], |r| {
                let state: String = r.get(6)?;
                Ok(BatchRow {
                    id: r.get(0)?,
                    partition: partition_at(r, 1)?,
                    items: count_at(r, 3)?,
                    bytes: count_at(r, 4)?,
                    oldest_ms: r.get(5)?,
                    state: if state == BatchState::Dead.name() {
                        BatchState::Dead
                    } else {
                        BatchState::Ready
                    },
                    reason: r.get(7)?,
                    parked_ms: r.get(8)?,
                })
            })?;
            rows.collect()
        })
    }

    /// The committed body of batch `id`: the bytes every attempt sends.
    pub fn outbox_batch_body(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached("SELECT body FROM outbox_batch WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()
        })
    }

    /// The members of batch `id`, by key.
    pub fn outbox_batch_items(&self, id: &str) -> Result<Vec<Item>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(&format!(
                "SELECT {ITEM_COLUMNS} FROM outbox_item WHERE batch_id = ?1 ORDER BY key"
            ))?;
            let rows = query.query_map([id], |r| item_from_row(r).map(|(_, item)| item))?;
            rows.collect()
        })
    }

    /// The upload status as the store knows it: every item not yet delivered (batched or not),
    /// the last success and error, the dead letters. While a dead letter waits, the last error is
    /// never "none": after a later delivery cleared it, it is the newest refusal's reason.
    pub fn upload_status(&self) -> Result<UploadStatus, StoreError> {
        self.with(|conn| {
            let mut status = conn.prepare_cached(STATUS)?.query_row([], |r| {
                Ok(UploadStatus {
                    queued_items: count_at(r, 0)?,
                    queued_bytes: count_at(r, 1)?,
                    oldest_ms: r.get(2)?,
                    last_success_ms: r.get(3)?,
                    last_error: r.get(4)?,
                    dead_letters: count_at(r, 5)?,
                })
            })?;
            if status.last_error.is_none() && status.dead_letters > 0 {
                status.last_error = conn
                    .prepare_cached(
                        "SELECT reason FROM outbox_batch WHERE state = 'dead'
                         ORDER BY parked_ms DESC LIMIT 1",
                    )?
                    .query_row([], |r| r.get(0))?;
            }
            Ok(status)
        })
    }

    /// Why the queue is paused, as last persisted; `None` when it is not.
    pub fn upload_paused(&self) -> Result<Option<String>, StoreError> {
        self.with(|conn| {
            conn.query_row("SELECT paused FROM upload_state WHERE id = 1", [], |r| {
                r.get(0)
            })
        })
    }

    /// Every (key id, pseudonym) worker `worker_id` was uploaded under, by key id: where a later
    /// deletion must be sent.
    pub fn upload_pseudonyms_of(
        &self,
        worker_id: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT key_id, pseudonym FROM upload_pseudonym WHERE worker_id = ?1 ORDER BY key_id",
            )?;
            let rows = query.query_map([worker_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// The newest time among the keys queued so far that read `<kind>:<site>:<dock>:<Unix ms>`
    /// (`dock_diag`, `dock_gps`; kept after delivery in `upload_revision`), so the dock's own
    /// cadences hold across restarts.
    pub fn last_queued_at(
        &self,
        kind: Kind,
        site: &str,
        dock: &str,
    ) -> Result<Option<i64>, StoreError> {
        let prefix = format!("{}:{site}:{dock}:", kind.name());
        // Every key starting with the prefix sorts in [prefix, prefix with its last ':' as ';').
        let end = format!("{};", &prefix[..prefix.len() - 1]);
        self.with(|conn| {
            let mut query = conn
                .prepare_cached("SELECT key FROM upload_revision WHERE key >= ?1 AND key < ?2")?;
            let keys = query.query_map(params![prefix, end], |r| r.get::<_, String>(0))?;
            let mut newest = None;
            for key in keys {
                let at = key?
                    .strip_prefix(&prefix)
                    .and_then(|ms| ms.parse::<i64>().ok());
                newest = newest.max(at);
            }
            Ok(newest)
        })
    }

    /// What was last queued under each of `keys` that has been queued.
    pub fn upload_revisions(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, Revision>, StoreError> {
        self.with(|conn| {
            let mut query =
                conn.prepare_cached("SELECT revision, digest FROM upload_revision WHERE key = ?1")?;
            let mut found = HashMap::new();
            for key in keys {
                let revision = query
                    .query_row([key], |r| {
                        Ok(Revision {
                            revision: u32::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                            digest: r.get(1)?,
                        })
                    })
                    .optional()?;
                if let Some(revision) = revision {
                    found.insert(key.clone(), revision);
                }
            }
            Ok(found)
        })
    }

    /// Every eviction the disk budget made, in order.
    pub fn outbox_evictions(&self) -> Result<Vec<EvictionRow>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT eviction_no, at_ms, kind, items, bytes, first_created_ms, last_created_ms
                 FROM outbox_eviction ORDER BY eviction_no",
            )?;
            let rows = query.query_map([], |r| {
                Ok(EvictionRow {
                    eviction_no: count_at(r, 0)?,
                    at_ms: r.get(1)?,
                    kind: kind_at(r, 2)?,
                    items: count_at(r, 3)?,
                    bytes: count_at(r, 4)?,
                    first_created_ms: r.get(5)?,
                    last_created_ms: r.get(6)?,
                })
            })?;
            rows.collect()
        })
    }
}

#[cfg(test)]
pub(crate) mod tests;
