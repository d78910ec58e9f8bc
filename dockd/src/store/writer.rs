//! The single writer: one thread that owns the only write connection and applies commands in
//! group commits. It owns transaction boundaries and durability acknowledgements; it must never
//! acknowledge a command before the commit that holds it has returned from fsync.
//!
//! Why one thread: SQLite allows one writer at a time anyway, and funnelling every write through a
//! queue lets concurrent pulls share one fsync (group commit) instead of queueing on the file lock.
//! Each command runs inside its own SAVEPOINT, so one bad command fails alone while the rest of the
//! batch commits.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tokio::sync::{mpsc, oneshot};

use super::accounts::{self, AuditEntry, NewUser};
use super::diag::{self, DiagRecord};
use super::reports::{self, ReportBatch};
use super::site::{self, SiteChange, SiteOutcome};
use super::{
    NewDocking, NewSegment, QuarantinedSegment, RecodedBlock, SegmentKey, StoreError, StoreOutcome,
};
use crate::worker::WorkerTag;

/// Commands waiting in the queue; beyond this, pulls wait (backpressure bounds memory).
const QUEUE: usize = 8;
/// A batch closes after this many commands or this many bytes of sample data.
const BATCH_COMMANDS: usize = 64;
const BATCH_BYTES: usize = 16 << 20;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

enum Command {
    BeginDocking(NewDocking, Reply<i64>),
    EndDocking {
        docking_id: i64,
        undocked_ms: i64,
        outcome: String,
        reply: Reply<()>,
    },
    StoreSegment(Box<NewSegment>, Reply<StoreOutcome>),
    Quarantine(Box<QuarantinedSegment>, Reply<()>),
    MarkErased {
        key: SegmentKey,
        erased_ms: i64,
        reply: Reply<()>,
    },
    Recode(Vec<RecodedBlock>, Reply<()>),
    ReplaceReports(Box<ReportBatch>, Reply<()>),
    PutUser(Box<NewUser>, Reply<()>),
    Audit(Vec<AuditEntry>, Reply<()>),
    Site(Box<SiteChange>, Reply<SiteOutcome>),
    Diag(Vec<DiagRecord>, Reply<()>),
}

impl Command {
    fn weight(&self) -> usize {
        match self {
            Command::StoreSegment(segment, _) => segment.weight(),
            Command::Quarantine(q, _) => q.bytes.len(),
            Command::Recode(blocks, _) => blocks.iter().map(|b| b.data.len()).sum(),
            Command::ReplaceReports(batch, _) => batch.reports.iter().map(|r| r.report.len()).sum(),
            _ => 256,
        }
    }
}

/// A cheap, cloneable handle for sending writes to the writer thread.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Command>,
}

/// The writer thread and its checkpointer; join after every [`Writer`] handle is dropped to know
/// all writes landed.
pub struct WriterThread {
    join: std::thread::JoinHandle<()>,
    checkpointer: std::thread::JoinHandle<()>,
}

impl WriterThread {
    /// Waits for the writer to drain its queue, checkpoint and close the database.
    pub fn join(self) {
        if self.join.join().is_err() {
            tracing::error!("The store writer thread panicked.");
        }
        if self.checkpointer.join().is_err() {
            tracing::error!("The store checkpointer thread panicked.");
        }
    }
}

/// Checkpoints run at most this often while commits keep coming.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// Copies committed WAL frames into the database file on its own connection (PASSIVE: it never
/// blocks the writer), so the writer's commits are not held up by checkpoint I/O.
fn checkpointer(conn: Connection, wake: std::sync::mpsc::Receiver<()>) {
    while wake.recv().is_ok() {
        while wake.try_recv().is_ok() {}
        if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %error, "WAL checkpoint failed; the next one will catch up.");
        }
        std::thread::sleep(CHECKPOINT_EVERY);
    }
}

impl Writer {
    /// Starts the writer thread on an open, migrated connection, and a checkpointer on `spare`, a
    /// second connection to the same file.
    pub fn spawn(
        conn: Connection,
        spare: Connection,
    ) -> Result<(Writer, WriterThread), StoreError> {
        // Checkpoints run on the checkpointer's connection, not inside the writer's commits.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (wake, woken) = std::sync::mpsc::sync_channel(1);
        let checkpointer = std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || checkpointer(spare, woken))
            .map_err(|e| StoreError::Thread(e.to_string()))?;
        let (queue, commands) = mpsc::channel(QUEUE);
        let join = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(conn, commands, wake))
            .map_err(|e| StoreError::Thread(e.to_string()))?;
        Ok((Writer { queue }, WriterThread { join, checkpointer }))
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(make(reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Appends dock diagnostics records (GPS, power) durably.
    pub async fn diag(&self, records: Vec<DiagRecord>) -> Result<(), StoreError> {
        self.ask(|reply| Command::Diag(records, reply)).await
    }

    /// Applies one roster or settings change durably (returns after its commit).
    pub async fn site(&self, change: SiteChange) -> Result<SiteOutcome, StoreError> {
        self.ask(|reply| Command::Site(Box::new(change), reply))
            .await
    }

    /// Records a docking (and the wearable, first time seen); returns the docking's id.
    pub async fn begin_docking(&self, docking: NewDocking) -> Result<i64, StoreError> {
        self.ask(|reply| Command::BeginDocking(docking, reply))
            .await
    }

    pub async fn end_docking(
        &self,
        docking_id: i64,
        undocked_ms: i64,
        outcome: String,
    ) -> Result<(), StoreError> {
        self.ask(|reply| Command::EndDocking {
            docking_id,
            undocked_ms,
            outcome,
            reply,
        })
        .await
    }

    /// Stores a segment and everything parsed from it. `Ok` means durably committed: only then may
    /// the wearable be told to erase it.
    pub async fn store_segment(&self, segment: NewSegment) -> Result<StoreOutcome, StoreError> {
        self.ask(|reply| Command::StoreSegment(Box::new(segment), reply))
            .await
    }

    pub async fn quarantine(&self, segment: QuarantinedSegment) -> Result<(), StoreError> {
        self.ask(|reply| Command::Quarantine(Box::new(segment), reply))
            .await
    }

    /// Replaces a wearable's shift reports over a span and records its analysis progress.
    pub async fn replace_reports(&self, batch: ReportBatch) -> Result<(), StoreError> {
        self.ask(|reply| Command::ReplaceReports(Box::new(batch), reply))
            .await
    }

    /// Replaces sample blocks' encodings (compaction). Each update applies only if the block still
    /// has the codec it was read with, so a block is never recoded twice or from stale bytes.
    pub async fn recode(&self, blocks: Vec<RecodedBlock>) -> Result<(), StoreError> {
        self.ask(|reply| Command::Recode(blocks, reply)).await
    }

    /// Creates a user, or replaces the one of that name (role, password hash; enabled again).
    pub async fn put_user(&self, user: NewUser) -> Result<(), StoreError> {
        self.ask(|reply| Command::PutUser(Box::new(user), reply))
            .await
    }

    /// Appends lines to the audit trail. Queued, not awaited, like [`Writer::mark_erased`]: they
    /// ride along with the next commit.
    pub async fn audit(&self, entries: Vec<AuditEntry>) -> Result<(), StoreError> {
        let (reply, _) = oneshot::channel();
        self.queue
            .send(Command::Audit(entries, reply))
            .await
            .map_err(|_| StoreError::Closed)
    }

    /// Records that the wearable confirmed an erase. Queued, not awaited: it needs no durability
    /// of its own (a lost note only leaves `erased_ms` empty) and rides along with the next commit,
    /// so a pull does not wait an extra fsync per segment.
    pub async fn mark_erased(&self, key: SegmentKey, erased_ms: i64) -> Result<(), StoreError> {
        let (reply, _) = oneshot::channel();
        self.queue
            .send(Command::MarkErased {
                key,
                erased_ms,
                reply,
            })
            .await
            .map_err(|_| StoreError::Closed)
    }
}

fn run(
    mut conn: Connection,
    mut commands: mpsc::Receiver<Command>,
    checkpoint: std::sync::mpsc::SyncSender<()>,
) {
    while let Some(first) = commands.blocking_recv() {
        let mut batch = vec![first];
        let mut bytes = batch[0].weight();
        while batch.len() < BATCH_COMMANDS && bytes < BATCH_BYTES {
            match commands.try_recv() {
                Ok(command) => {
                    bytes += command.weight();
                    batch.push(command);
                }
                Err(_) => break,
            }
        }
        apply_batch(&mut conn, batch);
        // Full means a checkpoint is already pending; either way one will run.
        let _ = checkpoint.try_send(());
    }
    drop(checkpoint);
    // Every handle is gone: fold the WAL into the main file so the next start is quick.
    if let Err(error) = conn.pragma_update(None, "wal_checkpoint", "TRUNCATE") {
        tracing::warn!(error = %error, "Final WAL checkpoint failed; the next start will replay it.");
    }
}

/// A command's result, held until the batch's commit decides whether it stands.
enum Done {
    Docking(Reply<i64>, Result<i64, StoreError>),
    Unit(Reply<()>, Result<(), StoreError>),
    Segment(Reply<StoreOutcome>, Result<StoreOutcome, StoreError>),
    Site(Reply<SiteOutcome>, Result<SiteOutcome, StoreError>),
}

impl Done {
    fn send(self, commit: &Result<(), String>) {
        fn pick<T>(
            result: Result<T, StoreError>,
            commit: &Result<(), String>,
        ) -> Result<T, StoreError> {
            match commit {
                Ok(()) => result,
                Err(message) => Err(StoreError::Commit(message.clone())),
            }
        }
        // A dropped receiver means the asking task ended (undock, shutdown); nothing to do.
        match self {
            Done::Docking(reply, result) => drop(reply.send(pick(result, commit))),
            Done::Unit(reply, result) => drop(reply.send(pick(result, commit))),
            Done::Segment(reply, result) => drop(reply.send(pick(result, commit))),
            Done::Site(reply, result) => drop(reply.send(pick(result, commit))),
        }
    }
}

/// Applies a batch in one transaction.
fn apply_batch(conn: &mut Connection, batch: Vec<Command>) {
    let tx = match conn.transaction() {
        Ok(tx) => tx,
        Err(error) => {
            let failed = Err(error.to_string());
            for command in batch {
                reply_unapplied(command, &failed);
            }
            return;
        }
    };
    let mut done = Vec::with_capacity(batch.len());
    for command in batch {
        done.push(apply_isolated(&tx, command));
    }
    let commit = tx.commit().map_err(|e| e.to_string());
    if let Err(message) = &commit {
        tracing::error!(error = %message, "Store commit failed; nothing in this batch was stored.");
    }
    for item in done {
        item.send(&commit);
    }
}

fn reply_unapplied(command: Command, failed: &Result<(), String>) {
    match command {
        Command::BeginDocking(_, reply) => {
            Done::Docking(reply, Err(StoreError::Closed)).send(failed)
        }
        Command::EndDocking { reply, .. }
        | Command::Quarantine(_, reply)
        | Command::MarkErased { reply, .. }
        | Command::Recode(_, reply)
        | Command::ReplaceReports(_, reply)
        | Command::PutUser(_, reply)
        | Command::Audit(_, reply)
        | Command::Diag(_, reply) => Done::Unit(reply, Err(StoreError::Closed)).send(failed),
        Command::StoreSegment(_, reply) => {
            Done::Segment(reply, Err(StoreError::Closed)).send(failed)
        }
        Command::Site(_, reply) => Done::Site(reply, Err(StoreError::Closed)).send(failed),
    }
}

/// Runs one command inside a savepoint: on error its partial writes roll back, the batch goes on.
fn apply_isolated(tx: &Transaction<'_>, command: Command) -> Done {
    fn isolated<T>(
        tx: &Transaction<'_>,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        tx.execute_batch("SAVEPOINT command")?;
        match work(tx) {
            Ok(value) => {
                tx.execute_batch("RELEASE command")?;
                Ok(value)
            }
            Err(error) => {
                tx.execute_batch("ROLLBACK TO command; RELEASE command")?;
                Err(error)
            }
        }
    }
    match command {
        Command::BeginDocking(docking, reply) => {
            Done::Docking(reply, isolated(tx, |tx| begin_docking(tx, &docking)))
        }
        Command::EndDocking {
            docking_id,
            undocked_ms,
            outcome,
            reply,
        } => Done::Unit(
            reply,
            isolated(tx, |tx| {
                tx.execute(
                    "UPDATE docking SET undocked_ms = ?2, outcome = ?3 WHERE id = ?1",
                    params![docking_id, undocked_ms, outcome],
                )?;
                Ok(())
            }),
        ),
        Command::Site(change, reply) => {
            Done::Site(reply, isolated(tx, |tx| site::apply(tx, &change)))
        }
        Command::StoreSegment(segment, reply) => {
            Done::Segment(reply, isolated(tx, |tx| store_segment(tx, &segment)))
        }
        Command::Quarantine(segment, reply) => {
            Done::Unit(reply, isolated(tx, |tx| quarantine(tx, &segment)))
        }
        Command::Recode(blocks, reply) => Done::Unit(
            reply,
            isolated(tx, |tx| {
                let mut update = tx.prepare_cached(
                    "UPDATE sample_block SET codec = ?3, data = ?4 WHERE id = ?1 AND codec = ?2",
                )?;
                for b in &blocks {
                    update.execute(params![b.id, b.from_codec, b.codec, b.data])?;
                }
                Ok(())
            }),
        ),
        Command::ReplaceReports(mut batch, reply) => Done::Unit(
            reply,
            isolated(tx, |tx| {
                let mut cache = HashMap::new();
                // An opted-out worker gets no reports, even from data stored before the opt-out.
                let mut keep = Vec::with_capacity(batch.reports.len());
                for report in &batch.reports {
                    let worker = known_worker(tx, &mut cache, report.worker)?;
                    keep.push(!worker.is_some_and(|w| w.opted_out));
                }
                let mut keep = keep.into_iter();
                batch.reports.retain(|_| keep.next().unwrap_or(true));
                reports::replace_reports(tx, &batch, &mut |tx, tag| {
                    Ok(known_worker(tx, &mut cache, tag)?.map(|w| w.id))
                })
            }),
        ),
        Command::PutUser(user, reply) => {
            Done::Unit(reply, isolated(tx, |tx| accounts::put_user(tx, &user)))
        }
        Command::Diag(records, reply) => {
            Done::Unit(reply, isolated(tx, |tx| diag::append(tx, &records)))
        }
        Command::Audit(entries, reply) => Done::Unit(
            reply,
            isolated(tx, |tx| accounts::append_audit(tx, &entries)),
        ),
        Command::MarkErased {
            key,
            erased_ms,
            reply,
        } => Done::Unit(
            reply,
            isolated(tx, |tx| {
                tx.execute(
                    "UPDATE segment SET erased_ms = ?5 WHERE id = (
                        SELECT s.id FROM segment s JOIN wearable w ON w.id = s.wearable_id
                        WHERE w.serial = ?1 AND s.segment_no = ?2 AND s.size = ?3 AND s.crc = ?4)",
                    params![key.serial, key.segment_no, key.size, key.crc, erased_ms],
                )?;
                Ok(())
            }),
        ),
    }
}

fn wearable_id(tx: &Transaction<'_>, serial: &str, seen_ms: i64) -> Result<i64, StoreError> {
    tx.execute(
        "INSERT INTO wearable (serial, first_seen_ms) VALUES (?1, ?2) ON CONFLICT (serial) DO NOTHING",
        params![serial, seen_ms],
    )?;
    Ok(tx.query_row(
        "SELECT id FROM wearable WHERE serial = ?1",
        [serial],
        |row| row.get(0),
    )?)
}

fn begin_docking(tx: &Transaction<'_>, d: &NewDocking) -> Result<i64, StoreError> {
    let wearable = wearable_id(tx, &d.serial, d.docked_ms)?;
    tx.execute(
        "UPDATE wearable SET model = ?2, hw_rev = ?3, firmware = ?4, last_docked_ms = ?5 WHERE id = ?1",
        params![wearable, d.model, d.hw_rev, d.firmware, d.docked_ms],
    )?;
    tx.execute(
        "INSERT INTO docking (wearable_id, slot, transport, port, docked_ms, boot_count, device_ms,
            clock_valid, batt_soc, batt_health, batt_cycles, batt_mv, batt_temp_dc, charging, segments_listed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            wearable,
            d.slot,
            d.transport,
            d.port,
            d.docked_ms,
            d.boot_count,
            i64::try_from(d.device_ms).unwrap_or(i64::MAX),
            d.clock_valid,
            d.batt_soc,
            d.batt_health,
            d.batt_cycles,
            d.batt_mv,
            d.batt_temp_dc,
            d.charging,
            d.segments_listed
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// A worker row as ingest needs it: its id, and whether their data is discarded.
#[derive(Debug, Clone, Copy)]
struct KnownWorker {
    id: i64,
    opted_out: bool,
}

/// The worker of `tag`, created the first time a wearable shows it (`None` for no worker).
fn known_worker(
    tx: &Transaction<'_>,
    cache: &mut HashMap<WorkerTag, KnownWorker>,
    tag: Option<WorkerTag>,
) -> Result<Option<KnownWorker>, StoreError> {
    let Some(tag) = tag else { return Ok(None) };
    if let Some(worker) = cache.get(&tag) {
        return Ok(Some(*worker));
    }
    let bytes = tag.as_bytes().as_slice();
    tx.execute(
        "INSERT INTO worker (tag) VALUES (?1) ON CONFLICT (tag) DO NOTHING",
        [bytes],
    )?;
    let worker = tx.query_row(
        "SELECT id, opted_out_ms IS NOT NULL FROM worker WHERE tag = ?1",
        [bytes],
        |row| {
            Ok(KnownWorker {
                id: row.get(0)?,
                opted_out: row.get(1)?,
            })
        },
    )?;
    cache.insert(tag, worker);
    Ok(Some(worker))
}

/// What an opt-out discarded from one segment for one worker.
#[derive(Debug, Default, Clone, Copy)]
struct Discarded {
    samples: u64,
    records: u64,
}

/// The worker id to store a row under, or `None` (with the row counted in `discarded`) when the
/// worker opted out and the row must not be stored.
fn keep_row(
    worker: Option<KnownWorker>,
    discarded: &mut BTreeMap<i64, Discarded>,
    samples: u64,
    records: u64,
) -> Option<Option<i64>> {
    match worker {
        Some(w) if w.opted_out => {
            let d = discarded.entry(w.id).or_default();
            d.samples += samples;
            d.records += records;
            None
        }
        other => Some(other.map(|w| w.id)),
    }
}

fn store_segment(tx: &Transaction<'_>, s: &NewSegment) -> Result<StoreOutcome, StoreError> {
    let wearable = wearable_id(tx, &s.key.serial, 0)?;
    let existing: Option<i64> = tx
        .query_row(
            "SELECT id FROM segment WHERE wearable_id = ?1 AND segment_no = ?2 AND size = ?3 AND crc = ?4",
            params![wearable, s.key.segment_no, s.key.size, s.key.crc],
            |row| row.get(0),
        )
        .optional()?;
    if existing.is_some() {
        return Ok(StoreOutcome::AlreadyStored);
    }
    let unknown_time_samples = i64::try_from(s.unknown_time_samples).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO segment (wearable_id, segment_no, size, crc, docking_id, boot_count, start_ms,
            clock_valid, rate_hz, first_wall_ms, last_wall_ms, samples, alerts, records, unknown_records,
            unknown_time_samples, unknown_time_records, stored_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        params![
            wearable,
            s.key.segment_no,
            s.key.size,
            s.key.crc,
            s.docking_id,
            s.boot_count,
            i64::try_from(s.start_ms).unwrap_or(i64::MAX),
            s.clock_valid,
            s.rate_hz,
            s.first_wall_ms,
            s.last_wall_ms,
            i64::try_from(s.samples).unwrap_or(i64::MAX),
            i64::try_from(s.alerts.len()).unwrap_or(i64::MAX),
            s.records,
            s.unknown_records,
            unknown_time_samples,
            s.unknown_time_records,
            s.stored_ms,
        ],
    )?;
    let segment = tx.last_insert_rowid();
    let mut workers = HashMap::new();
    // An opted-out worker's samples, alerts and events are not stored, only counted; the segment
    // row stays, so the wearable is told to erase them like any other.
    let mut discarded = BTreeMap::new();

    let mut insert = tx.prepare_cached(
        "INSERT INTO sample_block (segment_id, worker_id, t_ms, wall_ms, rate_hz, count, codec, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for b in &s.blocks {
        let worker = known_worker(tx, &mut workers, b.worker)?;
        let Some(worker) = keep_row(worker, &mut discarded, u64::from(b.count), 0) else {
            continue;
        };
        insert.execute(params![
            segment, worker, b.t_ms, b.wall_ms, b.rate_hz, b.count, b.codec, b.data
        ])?;
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO alert (segment_id, worker_id, t_ms, wall_ms, kind, peak, duration_ms, response_ms, haptic)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for a in &s.alerts {
        let worker = known_worker(tx, &mut workers, a.worker)?;
        let Some(worker) = keep_row(worker, &mut discarded, 0, 1) else {
            continue;
        };
        insert.execute(params![
            segment,
            worker,
            a.t_ms,
            a.wall_ms,
            a.kind,
            a.peak,
            a.duration_ms,
            a.response_ms,
            a.haptic
        ])?;
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO event (segment_id, worker_id, t_ms, wall_ms, kind, value, flag, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for e in &s.events {
        let worker = known_worker(tx, &mut workers, e.worker)?;
        let Some(worker) = keep_row(worker, &mut discarded, 0, 1) else {
            continue;
        };
        insert.execute(params![
            segment,
            worker,
            e.t_ms,
            e.wall_ms,
            e.kind.as_str(),
            e.value,
            e.flag,
            e.body
        ])?;
    }
    let mut insert = tx.prepare_cached(
        "INSERT INTO wearable_diag (segment_id, t_ms, wall_ms, batt_mv, temp_dc, soc, code)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for d in &s.diags {
        insert.execute(params![
            segment, d.t_ms, d.wall_ms, d.batt_mv, d.temp_dc, d.soc, d.code
        ])?;
    }
    if !discarded.is_empty() {
        record_discarded(tx, segment, &discarded)?;
    }
    Ok(StoreOutcome::Stored)
}

/// Writes what an opt-out discarded from a segment, per worker and on the segment row.
fn record_discarded(
    tx: &Transaction<'_>,
    segment: i64,
    discarded: &BTreeMap<i64, Discarded>,
) -> Result<(), StoreError> {
    let as_sql = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut insert = tx.prepare_cached(
        "INSERT INTO opt_out_discard (segment_id, worker_id, samples, records) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut total = Discarded::default();
    for (worker, d) in discarded {
        insert.execute(params![
            segment,
            worker,
            as_sql(d.samples),
            as_sql(d.records)
        ])?;
        total.samples += d.samples;
        total.records += d.records;
    }
    tx.execute(
        "UPDATE segment SET discarded_samples = ?2, discarded_records = ?3 WHERE id = ?1",
        params![segment, as_sql(total.samples), as_sql(total.records)],
    )?;
    // Counts only: which worker it was stays on the roster page.
    tracing::info!(
        segment,
        samples = total.samples,
        records = total.records,
        "Discarded an opted-out worker's data at ingest."
    );
    Ok(())
}

fn quarantine(tx: &Transaction<'_>, q: &QuarantinedSegment) -> Result<(), StoreError> {
    let wearable = wearable_id(tx, &q.key.serial, q.seen_ms)?;
    tx.execute(
        "INSERT INTO quarantine (wearable_id, segment_no, size, crc, reason, bytes, first_seen_ms,
            last_seen_ms, times_seen)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1)
         ON CONFLICT (wearable_id, segment_no, size, crc)
         DO UPDATE SET last_seen_ms = excluded.last_seen_ms, times_seen = times_seen + 1",
        params![
            wearable,
            q.key.segment_no,
            q.key.size,
            q.key.crc,
            q.reason,
            q.bytes,
            q.seen_ms
        ],
    )?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::store::reports::NewShiftReport;
    use crate::store::{
        AlertRow, BlockRow, EventKind, EventRow, Reader, SegmentState, open_for_reading,
        open_for_writing,
    };

    /// A store in a fresh data folder, with its writer and a reader.
    pub(crate) struct Scratch {
        pub writer: Writer,
        pub reader: Reader,
        thread: WriterThread,
        dir: PathBuf,
        path: PathBuf,
    }

    impl Scratch {
        pub fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("dockd-store-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let path = dir.join("dockd.db");
            let (writer, thread) = Writer::spawn(
                open_for_writing(&path).unwrap(),
                open_for_writing(&path).unwrap(),
            )
            .unwrap();
            let reader = Reader::open(&path).unwrap();
            Self {
                writer,
                reader,
                thread,
                dir,
                path,
            }
        }

        pub async fn site(&self, change: SiteChange) -> Result<SiteOutcome, StoreError> {
            self.writer.site(change).await
        }

        /// Records a docking of `serial` (the wearable too); returns the docking id.
        pub async fn docking(&self, serial: &str, docked_ms: i64) -> i64 {
            self.writer
                .begin_docking(NewDocking {
                    serial: serial.into(),
                    model: 1,
                    hw_rev: 1,
                    firmware: "1.0.0".into(),
                    slot: 1,
                    transport: "emulated",
                    port: "test".into(),
                    docked_ms,
                    boot_count: 1,
                    device_ms: 1,
                    clock_valid: true,
                    batt_soc: 50,
                    batt_health: 100,
                    batt_cycles: 1,
                    batt_mv: 3900,
                    batt_temp_dc: 250,
                    charging: true,
                    segments_listed: 1,
                })
                .await
                .unwrap()
        }

        /// One integer from raw SQL, read on a connection of its own.
        pub fn number(&self, sql: &str) -> i64 {
            open_for_reading(&self.path)
                .unwrap()
                .query_row(sql, [], |row| row.get(0))
                .unwrap()
        }

        pub fn close(self) {
            drop((self.writer, self.reader));
            self.thread.join();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn tag(text: &str) -> WorkerTag {
        WorkerTag::from_ascii(text).unwrap()
    }

    fn block(worker: &str, count: u32) -> BlockRow {
        BlockRow {
            worker: Some(tag(worker)),
            t_ms: 0,
            wall_ms: Some(1_000),
            rate_hz: 25,
            count,
            codec: 0,
            data: vec![0; count as usize * 8],
        }
    }

    fn alert(worker: &str) -> AlertRow {
        AlertRow {
            worker: Some(tag(worker)),
            t_ms: 10,
            wall_ms: Some(1_010),
            kind: 1,
            peak: 5000,
            duration_ms: 1200,
            response_ms: None,
            haptic: true,
        }
    }

    fn event(kind: EventKind, worker: &str) -> EventRow {
        EventRow {
            kind,
            worker: Some(tag(worker)),
            t_ms: Some(0),
            wall_ms: Some(1_000),
            value: None,
            flag: None,
            body: None,
        }
    }

    /// A segment worn by an opted-out worker ("B-OUT") and one who stayed in ("B-IN").
    fn shared_segment(docking_id: i64) -> NewSegment {
        NewSegment {
            key: SegmentKey {
                serial: "KW-1".into(),
                segment_no: 4,
                size: 100,
                crc: 7,
            },
            docking_id,
            rate_hz: 25,
            samples: 350,
            blocks: vec![block("B-OUT", 100), block("B-IN", 200), block("B-OUT", 50)],
            alerts: vec![alert("B-OUT"), alert("B-IN")],
            events: vec![
                event(EventKind::Worker, "B-OUT"),
                event(EventKind::Button, "B-OUT"),
                event(EventKind::Worker, "B-IN"),
            ],
            ..NewSegment::default()
        }
    }

    async fn opted_out_worker(store: &Scratch, name: &str) -> i64 {
        let id = store
            .site(SiteChange::AddWorker {
                tag: tag(name),
                display_name: Some("Someone".into()),
                task: None,
                team: None,
            })
            .await
            .unwrap()
            .unwrap();
        store
            .site(SiteChange::OptOut {
                id,
                opted_out_ms: Some(500),
            })
            .await
            .unwrap();
        id
    }

    #[tokio::test]
    async fn an_opted_out_workers_samples_alerts_and_events_are_counted_and_not_stored() {
        let store = Scratch::new("opt-out-ingest");
        let out = opted_out_worker(&store, "B-OUT").await;
        let docking = store.docking("KW-1", 900).await;
        let segment = shared_segment(docking);
        let key = segment.key.clone();

        assert_eq!(
            store.writer.store_segment(segment).await.unwrap(),
            StoreOutcome::Stored
        );

        let out_rows = |table: &str| {
            store.number(&format!(
                "SELECT count(*) FROM {table} WHERE worker_id = {out}"
            ))
        };
        assert_eq!(out_rows("sample_block"), 0);
        assert_eq!(out_rows("alert"), 0);
        assert_eq!(out_rows("event"), 0);
        assert_eq!(
            store.number("SELECT discarded_samples FROM segment"),
            150,
            "the opted-out worker's samples are counted on the segment"
        );
        assert_eq!(store.number("SELECT discarded_records FROM segment"), 3);
        assert_eq!(
            store.number(&format!(
                "SELECT samples * 1000 + records FROM opt_out_discard WHERE worker_id = {out}"
            )),
            150_003
        );
        let workers = store.reader.workers().unwrap();
        let discarded = |id: i64| {
            workers
                .iter()
                .find(|w| w.id == id)
                .map(|w| w.discarded_samples)
        };
        assert_eq!(discarded(out), Some(150));
        // The segment is stored all the same, so the pull erases it from the wearable.
        assert_eq!(
            store.reader.segment_state(&key).unwrap(),
            SegmentState::Stored
        );
        store.close();
    }

    #[tokio::test]
    async fn the_other_worker_of_a_segment_with_an_opted_out_worker_is_stored_in_full() {
        let store = Scratch::new("opt-out-other");
        opted_out_worker(&store, "B-OUT").await;
        let docking = store.docking("KW-1", 900).await;
        store
            .writer
            .store_segment(shared_segment(docking))
            .await
            .unwrap();
        let workers = store.reader.workers().unwrap();
        let kept = workers.iter().find(|w| w.tag == tag("B-IN")).unwrap();
        assert_eq!(kept.discarded_samples, 0);
        let kept = kept.id;
        let kept_rows = |table: &str| {
            store.number(&format!(
                "SELECT count(*) FROM {table} WHERE worker_id = {kept}"
            ))
        };
        assert_eq!(
            store.number(&format!(
                "SELECT sum(count) FROM sample_block WHERE worker_id = {kept}"
            )),
            200
        );
        assert_eq!(kept_rows("alert"), 1);
        assert_eq!(kept_rows("event"), 1);
        assert_eq!(store.number("SELECT count(*) FROM sample_block"), 1);
        store.close();
    }

    #[tokio::test]
    async fn an_opted_out_worker_gets_no_shift_reports_and_the_others_do() {
        let store = Scratch::new("opt-out-reports");
        let out = opted_out_worker(&store, "B-OUT").await;
        let docking = store.docking("KW-1", 900).await;
        store
            .writer
            .store_segment(shared_segment(docking))
            .await
            .unwrap();
        let wearable_id = store.number("SELECT id FROM wearable");
        let report = |worker: &str| NewShiftReport {
            worker: Some(tag(worker)),
            start_ms: 1_000,
            end_ms: 2_000,
            local_day: "2025-03-03".into(),
            risk_level: "low".into(),
            version: 1,
            settings: "s".into(),
            report: "{}".into(),
        };
        store
            .writer
            .replace_reports(ReportBatch {
                wearable_id,
                lo_ms: 0,
                hi_ms: 3_000,
                last_segment_id: Some(1),
                reports: vec![report("B-OUT"), report("B-IN")],
            })
            .await
            .unwrap();
        assert_eq!(store.number("SELECT count(*) FROM shift_report"), 1);
        assert_eq!(
            store.number(&format!(
                "SELECT count(*) FROM shift_report WHERE worker_id = {out}"
            )),
            0
        );
        assert_eq!(
            store.number("SELECT last_segment_id FROM analysis_progress"),
            1,
            "progress is recorded all the same"
        );
        store.close();
    }
}
