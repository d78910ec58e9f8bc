//! The roster's view types and the [`RosterView`] trait the daemon implements. They are also the
//! JSON API's shapes. It must never depend on the daemon; these are the only web-ui types that
//! carry a badge tag or a display name, and only the roster page and its API show them.

use serde::{Deserialize, Serialize};

use crate::ViewFuture;

/// What the roster page needs from the daemon. Implemented by `dockd` over its store.
pub trait RosterView: Send + Sync + 'static {
    /// The whole roster: every wearable the dock has seen, every worker it knows, and the names of
    /// the tasks and teams a worker can be put in. **Blocking** (SQLite): handlers call it on
    /// tokio's blocking pool.
    fn roster(&self) -> Roster;

    /// Applies one change, durably: the future resolves after the commit. It is awaited on a
    /// runtime worker, so it must not block one (await the store's writer; put any SQLite read
    /// on the blocking pool). A refusal carries the reason in plain words for the person who
    /// typed the change ("badge tag must be 1–16 ASCII characters", "no such task").
    fn change(&self, change: RosterChange) -> ViewFuture<'_, Result<RosterDone, RosterRefusal>>;

    /// Deletes worker `id` and everything the dock holds about them for good, on the request of
    /// page user `by` (an admin: the page checks the role before it calls this). Durable when the
    /// future resolves, and audited by the daemon in the deletion's own transaction, so the page
    /// records no line of its own. Awaited on a runtime worker, like [`RosterView::change`].
    fn delete_worker(
        &self,
        id: i64,
        by: String,
    ) -> ViewFuture<'_, Result<DeletedWorker, RosterRefusal>>;

    /// Worker `id`'s data as an archive, streamed as it is made (the right of access, asked for
    /// by page user `by`, an admin: the page checks the role first): the same files as `dockd
    /// worker export`. The daemon audits it. Awaited on a runtime worker; the archive's bytes are
    /// produced off it and arrive through [`WorkerExport::chunks`].
    fn export_worker(
        &self,
        id: i64,
        by: String,
    ) -> ViewFuture<'_, Result<WorkerExport, RosterRefusal>>;
}

/// A worker's export as it streams: the download's file name and the archive's bytes in
/// chunks; an `Err` chunk says why it broke off (the download then ends incomplete).
pub struct WorkerExport {
    pub file_name: String,
    pub chunks: tokio::sync::mpsc::Receiver<Result<Vec<u8>, String>>,
}

/// Everything the roster page shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Roster {
    /// Every wearable the dock has seen, by serial.
    pub wearables: Vec<RosterWearable>,
    /// Every worker the dock knows (typed in here, or seen on a wearable), opted-out ones included.
    pub workers: Vec<RosterWorker>,
    /// The configured task names, in configuration order (a worker's `task` is one of these).
    pub tasks: Vec<String>,
    /// Team names in use, sorted (a worker's `team` is free text; these are suggestions).
    pub teams: Vec<String>,
    /// Every work restriction still kept, by worker and first day. Health-related data: only
    /// roles that see worker data ever get it, and it never leaves the dock.
    #[serde(default)]
    pub work_restrictions: Vec<WorkRestriction>,
    /// The site-local day today, `YYYY-MM-DD` (a new work restriction starts then unless told).
    #[serde(default)]
    pub today: Option<String>,
    /// Days a work restriction is kept after its last day, then deleted for good.
    #[serde(default)]
    pub work_restrictions_kept_days: u32,
}

/// A work restriction (return-to-work limits a supervisor recorded for a worker), as the Roster
/// and the Worker page show it. Days are site-local `YYYY-MM-DD`, both ends in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkRestriction {
    pub id: i64,
    /// The worker's id (as on the analysis pages).
    pub worker: i64,
    pub from_day: String,
    pub until_day: String,
    pub no_deep_bends: bool,
    pub max_lifts_per_hour: Option<u32>,
    pub max_bends_per_hour: Option<u32>,
    pub max_load_kg: Option<f64>,
    /// The limits in words, e.g. "no deep bends; at most 10 lifts an hour".
    pub terms: String,
    /// Whether it is in force today (site-local).
    pub in_force: bool,
}

/// A work restriction as recorded or edited: its days and limits, each through its rule in
/// `crate::rules` (at least one limit; the end on or after the start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkRestrictionInput {
    /// `None`: from today (site-local).
    pub from_day: Option<String>,
    pub until_day: String,
    pub no_deep_bends: bool,
    pub max_lifts_per_hour: Option<u32>,
    pub max_bends_per_hour: Option<u32>,
    pub max_load_kg: Option<f64>,
}

/// One wearable and who it is assigned to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RosterWearable {
    /// Device-supplied text: untrusted, escape it.
    pub serial: String,
    /// The worker id it is assigned to on the roster; `None`: no one.
    pub worker: Option<i64>,
    /// Whether the wearable itself already carries that assignment (it is sent with SET_WORKER at
    /// the wearable's next docking, or while it sits in the dock).
    pub applied: bool,
    /// When it was last docked, Unix ms.
    pub last_docked_ms: Option<i64>,
}

/// One worker as the dock knows them. Personal data: shown on the roster page only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RosterWorker {
    /// The worker's id (the same id as the analysis pages' `/workers/{id}`).
    pub id: i64,
    /// The badge tag as text (what the supervisor reads off the badge).
    pub badge: String,
    /// The short keyed pseudonym every other page shows instead (e.g. `W-3F9A2C`); uploads carry
    /// the full site pseudonym, never this label.
    pub pseudonym: String,
    /// The name a supervisor typed in; it never leaves the dock.
    pub display_name: Option<String>,
    pub task: Option<String>,
    pub team: Option<String>,
    /// When the worker opted out (restriction); `None`: data is kept and analysed.
    pub opted_out_ms: Option<i64>,
    /// Samples of this worker discarded at ingest because they had opted out.
    pub discarded_samples: u64,
}

/// One change to the roster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum RosterChange {
    /// Assign a wearable (by serial) to a worker, or to no one.
    AssignWearable { serial: String, worker: Option<i64> },
    /// Add a worker by badge tag (1–16 printable ASCII characters), with optional details.
    AddWorker {
        badge: String,
        display_name: Option<String>,
        task: Option<String>,
        team: Option<String>,
    },
    /// Change a worker's details (`None` clears a field).
    EditWorker {
        id: i64,
        display_name: Option<String>,
        task: Option<String>,
        team: Option<String>,
    },
    /// Opt a worker out (their data is discarded at ingest from now on, and their stored data is
    /// no longer analysed or shown: reports deleted, samples and alerts kept until the retention
    /// purge), or back in.
    OptOut { id: i64, opted_out: bool },
    /// Record a work restriction for worker `worker`.
    RecordWorkRestriction {
        worker: i64,
        work_restriction: WorkRestrictionInput,
    },
    /// Change a work restriction's days and limits.
    EditWorkRestriction {
        id: i64,
        work_restriction: WorkRestrictionInput,
    },
    /// End a work restriction early: it is no longer in force from today (one that has not
    /// started yet is withdrawn).
    EndWorkRestriction { id: i64 },
}

/// What a change did, for the page's confirmation and the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RosterDone {
    /// In plain words, without badge tag or name (it is also the audit line's subject), e.g.
    /// "wearable WR-0001 assigned to worker 12".
    pub summary: String,
    /// The worker the change concerned (a new worker's id for `AddWorker`).
    pub worker: Option<i64>,
}

/// What a worker's deletion did: the JSON answer of `POST /api/v1/roster/workers/{id}/delete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeletedWorker {
    /// The audit line's subject, in plain words by the worker's id (no badge tag or name).
    pub summary: String,
    /// The deleted worker's id (never given to anyone else).
    pub worker: i64,
    /// What went, by counts.
    pub deleted: DeletedData,
}

/// What went with a worker's deletion, by counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedData {
    pub samples: u64,
    pub alerts: u64,
    pub events: u64,
    pub shift_reports: u64,
    pub work_restrictions: u64,
    /// Damaged segments kept for support whose bytes went (their wearables' segments).
    pub quarantined_segments: u64,
    /// Their records waiting to be uploaded, not yet in a batch.
    pub upload_items: u64,
    /// Wearables that were assigned to them, now assigned to no one.
    pub wearables_unassigned: u64,
    /// Deletion records queued for the cloud (one per pseudonym key they were uploaded under).
    pub cloud_deletions: u64,
}

/// Why a change was refused, in plain words (answered as 400 with `{"error": …}`, or shown on
/// the page above the form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{0}")]
pub struct RosterRefusal(pub String);
