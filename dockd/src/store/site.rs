//! The store's side of the roster and the page's settings: wearable → worker assignments, what the
//! dock knows of each worker (display name, task, team, opt-out), key/value settings changed on the
//! page, and what each wearable confirmed of the alert thresholds. It owns that SQL; it must never
//! log a badge tag or a display name, and never hand a tag to anything but the pull (SET_WORKER)
//! and the roster view.

use rusqlite::Transaction;

use super::{Reader, StoreError};
use crate::link::WearableConfig;
use crate::worker::WorkerTag;

/// One change to the roster or the settings, applied by `Writer::site` in its own savepoint.
#[derive(Clone, PartialEq)]
pub enum SiteChange {
    /// Assign wearable `serial` (created if never seen) to worker `worker`, or to no one.
    AssignWearable {
        serial: String,
        worker: Option<i64>,
        at_ms: i64,
    },
    /// Creates the worker of this tag if unknown (error `SiteError::Exists` if known).
    AddWorker {
        tag: WorkerTag,
        display_name: Option<String>,
        task: Option<String>,
        team: Option<String>,
    },
    /// Replaces a worker's details (error `SiteError::NoSuchWorker` if unknown).
    EditWorker {
        id: i64,
        display_name: Option<String>,
        task: Option<String>,
        team: Option<String>,
    },
    /// Opts a worker out (`opted_out_ms` set: from now on the writer discards their samples, alerts
    /// and events at ingest, and their shift reports are deleted) or back in (`None`: reports are
    /// rebuilt by resetting every wearable's analysis progress).
    OptOut {
        id: i64,
        opted_out_ms: Option<i64>,
    },
    /// The wearable confirmed (with SET_WORKER → OK) that it carries its roster assignment.
    WorkerApplied {
        serial: String,
        at_ms: i64,
    },
    /// Sets a `setting` row (`value` is JSON text).
    PutSetting {
        key: String,
        value: String,
    },
    /// What the wearable's GET_CONFIG answered after the dock pushed thresholds (`confirmed` is
    /// `None` and `problem` says why when it refused or answered something else).
    ConfigConfirmed {
        serial: String,
        confirmed: Option<WearableConfig>,
        at_ms: i64,
        problem: Option<String>,
    },
    /// User account changes (the hash is argon2id; names are checked by the caller).
    SetUserRole {
        name: String,
        role: web_ui::access::Role,
    },
    SetUserDisabled {
        name: String,
        disabled: bool,
    },
    SetUserPassword {
        name: String,
        password_hash: String,
    },
    RemoveUser {
        name: String,
    },
}

/// Never prints a tag, a name or a hash.
impl std::fmt::Debug for SiteChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            SiteChange::AssignWearable { .. } => "AssignWearable",
            SiteChange::AddWorker { .. } => "AddWorker",
            SiteChange::EditWorker { .. } => "EditWorker",
            SiteChange::OptOut { .. } => "OptOut",
            SiteChange::WorkerApplied { .. } => "WorkerApplied",
            SiteChange::PutSetting { .. } => "PutSetting",
            SiteChange::ConfigConfirmed { .. } => "ConfigConfirmed",
            SiteChange::SetUserRole { .. } => "SetUserRole",
            SiteChange::SetUserDisabled { .. } => "SetUserDisabled",
            SiteChange::SetUserPassword { .. } => "SetUserPassword",
            SiteChange::RemoveUser { .. } => "RemoveUser",
        };
        write!(f, "SiteChange::{name}(…)")
    }
}

/// What a site change returns: the worker id for `AddWorker`, otherwise `None`.
pub type SiteOutcome = Option<i64>;

/// A wearable on the roster, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct WearableRow {
    pub serial: String,
    /// `None`: not on the roster, or assigned to no one (see `assigned`).
    pub worker: Option<i64>,
    /// Whether the roster has an entry for it at all.
    pub assigned: bool,
    /// When the wearable confirmed its current assignment (after the latest change), if it did.
    pub applied_ms: Option<i64>,
    pub last_docked_ms: Option<i64>,
}

/// A worker as stored, with the tag (roster page and SET_WORKER only).
#[derive(Clone, PartialEq)]
pub struct WorkerRow {
    pub id: i64,
    pub tag: WorkerTag,
    pub display_name: Option<String>,
    pub task: Option<String>,
    pub team: Option<String>,
    pub opted_out_ms: Option<i64>,
    /// Samples discarded at ingest because of the opt-out (summed over segments).
    pub discarded_samples: u64,
}

impl std::fmt::Debug for WorkerRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerRow")
            .field("id", &self.id)
            .field("opted_out_ms", &self.opted_out_ms)
            .finish_non_exhaustive()
    }
}

/// What a docking must bring the wearable to, read before the dock talks to it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DockingOrders {
    /// `Some(tag)`: the roster assigns the wearable to this worker (`Some(None)`: to no one) and
    /// SET_WORKER must be sent if INFO shows otherwise; `None`: the roster says nothing.
    pub worker: Option<Option<WorkerTag>>,
    /// The thresholds the admin set (setting `thresholds`), if any; `None`: leave the wearable's.
    pub config: Option<WearableConfig>,
}

/// A wearable's latest threshold confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigState {
    pub serial: String,
    pub confirmed: Option<WearableConfig>,
    pub at_ms: Option<i64>,
    pub problem: Option<String>,
}

/// Why a site change was refused.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("a worker with that badge tag is already on the roster")]
    Exists,
    #[error("no such worker")]
    NoSuchWorker,
    #[error("no such user")]
    NoSuchUser,
}

/// Applies one change inside the writer's savepoint.
pub(super) fn apply(tx: &Transaction<'_>, change: &SiteChange) -> Result<SiteOutcome, StoreError> {
    let _ = (tx, change);
    todo!("H3")
}

impl Reader {
    /// Every wearable ever seen or put on the roster, by serial.
    pub fn roster_wearables(&self) -> Result<Vec<WearableRow>, StoreError> {
        todo!("H3")
    }

    /// Every worker, by id.
    pub fn workers(&self) -> Result<Vec<WorkerRow>, StoreError> {
        todo!("H3")
    }

    /// The `setting` row `key` (JSON text), if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let _ = key;
        todo!("H3")
    }

    /// What the dock must bring wearable `serial` to at this docking.
    pub fn docking_orders(&self, serial: &str) -> Result<DockingOrders, StoreError> {
        let _ = serial;
        todo!("H3")
    }

    /// Every wearable's latest threshold confirmation.
    pub fn config_states(&self) -> Result<Vec<ConfigState>, StoreError> {
        todo!("H3")
    }
}
