//! The single writer: one thread that owns the only write connection and applies commands in
//! group commits. It owns transaction boundaries and durability acknowledgements; it must never
//! acknowledge a command before the commit that holds it has returned from fsync.
//!
//! Why one thread: SQLite allows one writer at a time anyway, and funnelling every write through a
//! queue lets concurrent pulls share one fsync (group commit) instead of queueing on the file lock.
//! Each command runs inside its own SAVEPOINT, so one bad command fails alone while the rest of the
//! batch commits.

use rusqlite::{Connection, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::StoreError;
use super::accounts::{self, AuditEntry, NewUser, UserChange};
use super::deletion::{self, Deleted, WorkerDeletion};
use super::diag::{self, DiagRecord};
use super::outbox::{self, OutboxChange, OutboxPolicy};
use super::reports::{self, ReportBatch};
use super::roster::{self, RosterChange};
use super::segments::{
    self, NewDocking, NewSegment, QuarantinedSegment, RecodedBlock, SegmentKey, StoreOutcome,
};
use super::settings::{self, SettingChange};
use super::work_restrictions::{self, WorkRestrictionChange, WorkRestrictionDone};
use crate::upload::Item;
use crate::worker::Pseudonyms;

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
        outbox: Vec<Item>,
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
    User(Box<UserChange>, Reply<()>),
    Audit(Vec<AuditEntry>, Reply<()>),
    Roster(Box<RosterChange>, Reply<Option<i64>>),
    Settings(Box<SettingChange>, Reply<()>),
    Diag(Vec<DiagRecord>, Reply<()>),
    WorkRestrictions(Box<WorkRestrictionChange>, Reply<WorkRestrictionDone>),
    SetOutbox(Option<Box<OutboxPolicy>>, Reply<()>),
    Outbox(Box<OutboxChange>, Reply<()>),
    Purge(super::purge::Cutoffs, Reply<super::purge::Purged>),
    SetPseudonyms(std::sync::Arc<Pseudonyms>, Reply<()>),
    DeleteWorker(Box<WorkerDeletion>, Reply<Deleted>),
}

impl Command {
    /// Whether the command may erase or overwrite personal data (a worker's name, their reports
    /// at an opt-out, a work restriction, a deleted worker's everything): its commit is followed
    /// by reclaiming freed pages and a WAL truncation.
    fn erases(&self) -> bool {
        matches!(
            self,
            Command::Roster(..)
                | Command::WorkRestrictions(..)
                | Command::Purge(..)
                | Command::DeleteWorker(..)
        )
    }

    fn weight(&self) -> usize {
        match self {
            Command::StoreSegment(segment, _) => segment.weight(),
            Command::Quarantine(q, _) => q.bytes.len(),
            Command::Recode(blocks, _) => blocks.iter().map(|b| b.data.len()).sum(),
            Command::ReplaceReports(batch, _) => {
                batch.reports.iter().map(|r| r.report.len()).sum::<usize>()
                    + batch.outbox.iter().map(|i| i.payload.len()).sum::<usize>()
            }
            Command::Outbox(change, _) => match change.as_ref() {
                OutboxChange::Queue(items) => items.iter().map(|i| i.payload.len()).sum(),
                OutboxChange::CommitBatches(batches) => batches.iter().map(|b| b.body.len()).sum(),
                _ => 256,
            },
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

/// Runs `work` against a writer of its own on the database `db` (the command line's
/// changes: `dockd user add`, `purge --now`, an export's audit line; the daemon may be running),
/// then stops that writer once `work` has dropped it.
pub async fn with_own_writer<T, F>(
    db: &super::Database,
    work: impl FnOnce(Writer) -> F,
) -> Result<T, StoreError>
where
    F: Future<Output = Result<T, StoreError>>,
{
    let conn = super::open_for_writing(db)?;
    let spare = super::open_for_writing(db)?;
    let (writer, thread) = Writer::spawn(conn, spare)?;
    let result = work(writer).await;
    if tokio::task::spawn_blocking(move || thread.join())
        .await
        .is_err()
    {
        tracing::error!("The store writer did not stop cleanly.");
    }
    result
}

impl Writer {
    /// Commands waiting in the writer's queue now (for the metrics).
    pub fn queued(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

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

    /// Whether the writer thread still takes commands (it ends only at shutdown, or when it
    /// failed); the systemd watchdog is fed only while it does.
    pub fn is_running(&self) -> bool {
        !self.queue.is_closed()
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

    /// Applies one roster change durably (returns after its commit): the new worker's id for
    /// `AddWorker`, otherwise `None`.
    pub async fn roster(&self, change: RosterChange) -> Result<Option<i64>, StoreError> {
        self.ask(|reply| Command::Roster(Box::new(change), reply))
            .await
    }

    /// Applies one change to the work restrictions durably (returns after its commit).
    pub async fn work_restrictions(
        &self,
        change: WorkRestrictionChange,
    ) -> Result<WorkRestrictionDone, StoreError> {
        self.ask(|reply| Command::WorkRestrictions(Box::new(change), reply))
            .await
    }

    /// Deletes for good what is older than `cutoffs` (returns after its commit, with what went);
    /// the freed pages and the WAL are reclaimed right after.
    pub async fn purge(
        &self,
        cutoffs: super::purge::Cutoffs,
    ) -> Result<super::purge::Purged, StoreError> {
        self.ask(|reply| Command::Purge(cutoffs, reply)).await
    }

    /// Gives the writer the pseudonym key in force, once at start: a deletion makes the worker's
    /// tombstone with it, and ingest checks tags against the tombstones with it. Until then a
    /// deletion is refused, and ingest too once a tombstone exists.
    pub async fn set_pseudonyms(&self, keys: std::sync::Arc<Pseudonyms>) -> Result<(), StoreError> {
        self.ask(|reply| Command::SetPseudonyms(keys, reply)).await
    }

    /// Deletes a worker and everything about them for good, in one transaction with its audit
    /// entry, their tombstone and their `worker_deleted` records (returns after its commit, with
    /// what went); the freed pages and the WAL are reclaimed right after.
    pub async fn delete_worker(&self, deletion: WorkerDeletion) -> Result<Deleted, StoreError> {
        self.ask(|reply| Command::DeleteWorker(Box::new(deletion), reply))
            .await
    }

    /// Applies one settings change or threshold confirmation durably (returns after its commit).
    pub async fn settings(&self, change: SettingChange) -> Result<(), StoreError> {
        self.ask(|reply| Command::Settings(Box::new(change), reply))
            .await
    }

    /// Applies one change to an existing user durably (returns after its commit).
    pub async fn user(&self, change: UserChange) -> Result<(), StoreError> {
        self.ask(|reply| Command::User(Box::new(change), reply))
            .await
    }

    /// Records a docking (and the wearable, first time seen); returns the docking's id.
    pub async fn begin_docking(&self, docking: NewDocking) -> Result<i64, StoreError> {
        self.ask(|reply| Command::BeginDocking(docking, reply))
            .await
    }

    /// Records the end of a docking, queueing `outbox` (the wearable's diagnostics at docking) for
    /// upload in the same transaction.
    pub async fn end_docking(
        &self,
        docking_id: i64,
        undocked_ms: i64,
        outcome: String,
        outbox: Vec<Item>,
    ) -> Result<(), StoreError> {
        self.ask(|reply| Command::EndDocking {
            docking_id,
            undocked_ms,
            outcome,
            outbox,
            reply,
        })
        .await
    }

    /// Sets the upload outbox's policy, once at start; `None` (no `[upload]` section): every item
    /// handed to the store is dropped and nothing is queued.
    pub async fn set_outbox(&self, policy: Option<OutboxPolicy>) -> Result<(), StoreError> {
        self.ask(|reply| Command::SetOutbox(policy.map(Box::new), reply))
            .await
    }

    /// Applies one change to the upload outbox durably (returns after its commit).
    pub async fn outbox(&self, change: OutboxChange) -> Result<(), StoreError> {
        self.ask(|reply| Command::Outbox(Box::new(change), reply))
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

    /// Appends audit lines and waits until they are committed: for a caller that records
    /// elsewhere that they were written (the updater's count of audited events).
    pub async fn audit_committed(&self, entries: Vec<AuditEntry>) -> Result<(), StoreError> {
        self.ask(|reply| Command::Audit(entries, reply)).await
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

/// After a commit that erased personal data: freed pages (zeroed by `secure_delete`) go back to
/// the file system, and the WAL, where the erased content's old page images still are, is
/// checkpointed and truncated. Done by the writer itself (the only writer, so nothing waits on
/// it but readers' snapshots); `false` when a reader kept the WAL from being truncated.
fn reclaim(conn: &Connection) -> bool {
    // Each step of `incremental_vacuum` gives back one page (and yields a row): step it to the
    // end, or only the first freed page goes back.
    let vacuumed = conn
        .prepare("PRAGMA incremental_vacuum")
        .and_then(|mut pragma| {
            let mut rows = pragma.query([])?;
            while rows.next()?.is_some() {}
            Ok(())
        });
    if let Err(error) = vacuumed {
        tracing::warn!(error = %error, "Giving freed pages back failed; it is tried again.");
        return false;
    }
    match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => {
            tracing::warn!(error = %error, "Truncating the WAL after an erase failed; it is tried again.");
            false
        }
    }
}

fn run(
    mut conn: Connection,
    mut commands: mpsc::Receiver<Command>,
    checkpoint: std::sync::mpsc::SyncSender<()>,
) {
    // The upload outbox's policy: `None` until `set_outbox` says otherwise (nothing is queued).
    let mut policy: Option<OutboxPolicy> = None;
    // The pseudonym key in force: `None` until `set_pseudonyms`.
    let mut keys: Option<std::sync::Arc<Pseudonyms>> = None;
    // An erasing commit whose reclaim has not finished yet (retried after the next batch).
    let mut erased = false;
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
        erased |= batch.iter().any(Command::erases);
        apply_batch(&mut conn, &mut policy, &mut keys, batch);
        if erased {
            erased = !reclaim(&conn);
        }
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
    Roster(Reply<Option<i64>>, Result<Option<i64>, StoreError>),
    WorkRestrictions(
        Reply<WorkRestrictionDone>,
        Result<WorkRestrictionDone, StoreError>,
    ),
    Purge(
        Reply<super::purge::Purged>,
        Result<super::purge::Purged, StoreError>,
    ),
    Deleted(Reply<Deleted>, Result<Deleted, StoreError>),
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
            Done::Roster(reply, result) => drop(reply.send(pick(result, commit))),
            Done::WorkRestrictions(reply, result) => drop(reply.send(pick(result, commit))),
            Done::Purge(reply, result) => drop(reply.send(pick(result, commit))),
            Done::Deleted(reply, result) => drop(reply.send(pick(result, commit))),
        }
    }
}

/// Applies a batch in one transaction.
fn apply_batch(
    conn: &mut Connection,
    policy: &mut Option<OutboxPolicy>,
    keys: &mut Option<std::sync::Arc<Pseudonyms>>,
    batch: Vec<Command>,
) {
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
        done.push(apply_isolated(&tx, policy, keys, command));
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
        | Command::User(_, reply)
        | Command::Settings(_, reply)
        | Command::Audit(_, reply)
        | Command::Diag(_, reply)
        | Command::SetOutbox(_, reply)
        | Command::SetPseudonyms(_, reply)
        | Command::Outbox(_, reply) => Done::Unit(reply, Err(StoreError::Closed)).send(failed),
        Command::StoreSegment(_, reply) => {
            Done::Segment(reply, Err(StoreError::Closed)).send(failed)
        }
        Command::Roster(_, reply) => Done::Roster(reply, Err(StoreError::Closed)).send(failed),
        Command::WorkRestrictions(_, reply) => {
            Done::WorkRestrictions(reply, Err(StoreError::Closed)).send(failed)
        }
        Command::Purge(_, reply) => Done::Purge(reply, Err(StoreError::Closed)).send(failed),
        Command::DeleteWorker(_, reply) => {
            Done::Deleted(reply, Err(StoreError::Closed)).send(failed)
        }
    }
}

/// Runs one command inside a savepoint: on error its partial writes roll back, the batch goes on.
fn apply_isolated(
    tx: &Transaction<'_>,
    policy: &mut Option<OutboxPolicy>,
    keys: &mut Option<std::sync::Arc<Pseudonyms>>,
    command: Command,
) -> Done {
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
        Command::BeginDocking(docking, reply) => Done::Docking(
            reply,
            isolated(tx, |tx| segments::begin_docking(tx, &docking)),
        ),
        Command::EndDocking {
            docking_id,
            undocked_ms,
            outcome,
            outbox,
            reply,
        } => Done::Unit(
            reply,
            isolated(tx, |tx| {
                segments::end_docking(tx, docking_id, undocked_ms, &outcome)?;
                outbox::queue(tx, policy.as_ref(), &outbox)
            }),
        ),
        Command::StoreSegment(segment, reply) => Done::Segment(
            reply,
            isolated(tx, |tx| {
                segments::store_segment(tx, keys.as_deref(), &segment)
            }),
        ),
        Command::Quarantine(segment, reply) => {
            Done::Unit(reply, isolated(tx, |tx| segments::quarantine(tx, &segment)))
        }
        Command::MarkErased {
            key,
            erased_ms,
            reply,
        } => Done::Unit(
            reply,
            isolated(tx, |tx| segments::mark_erased(tx, &key, erased_ms)),
        ),
        Command::Recode(blocks, reply) => {
            Done::Unit(reply, isolated(tx, |tx| segments::recode(tx, &blocks)))
        }
        Command::ReplaceReports(batch, reply) => Done::Unit(
            reply,
            isolated(tx, |tx| {
                reports::replace_reports(tx, keys.as_deref(), &batch)?;
                outbox::queue_reports(tx, policy.as_ref(), keys.as_deref(), &batch)
            }),
        ),
        Command::Roster(change, reply) => Done::Roster(
            reply,
            isolated(tx, |tx| roster::apply(tx, keys.as_deref(), &change)),
        ),
        Command::Settings(change, reply) => {
            Done::Unit(reply, isolated(tx, |tx| settings::apply(tx, &change)))
        }
        Command::PutUser(user, reply) => {
            Done::Unit(reply, isolated(tx, |tx| accounts::put_user(tx, &user)))
        }
        Command::User(change, reply) => {
            Done::Unit(reply, isolated(tx, |tx| accounts::apply(tx, &change)))
        }
        Command::Audit(entries, reply) => Done::Unit(
            reply,
            isolated(tx, |tx| {
                accounts::append_audit(tx, &entries)?;
                outbox::queue_audit_anchors(tx, policy.as_ref())
            }),
        ),
        Command::Diag(records, reply) => Done::Unit(
            reply,
            isolated(tx, |tx| {
                diag::append(tx, &records)?;
                outbox::queue(tx, policy.as_ref(), diag::uploads(&records))
            }),
        ),
        Command::WorkRestrictions(change, reply) => Done::WorkRestrictions(
            reply,
            isolated(tx, |tx| work_restrictions::apply(tx, &change)),
        ),
        Command::Purge(cutoffs, reply) => Done::Purge(
            reply,
            isolated(tx, |tx| super::purge::purge(tx, &cutoffs, policy.as_ref())),
        ),
        Command::SetOutbox(new, reply) => {
            *policy = new.map(|p| *p);
            Done::Unit(reply, Ok(()))
        }
        Command::SetPseudonyms(new, reply) => {
            *keys = Some(new);
            Done::Unit(reply, Ok(()))
        }
        Command::DeleteWorker(deletion, reply) => Done::Deleted(
            reply,
            isolated(tx, |tx| {
                // Their work restrictions go through their own store file, in this transaction.
                let restrictions = match work_restrictions::apply(
                    tx,
                    &WorkRestrictionChange::DeleteOfWorker {
                        worker: deletion.worker,
                    },
                )? {
                    WorkRestrictionDone::Deleted(n) => n,
                    _ => 0,
                };
                deletion::delete_worker(
                    tx,
                    policy.as_ref(),
                    keys.as_deref(),
                    &deletion,
                    restrictions,
                )
            }),
        ),
        Command::Outbox(change, reply) => Done::Unit(
            reply,
            isolated(tx, |tx| outbox::apply(tx, policy.as_ref(), &change)),
        ),
    }
}
