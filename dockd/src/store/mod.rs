//! The dock's durable store (SQLite, WAL, `synchronous=FULL`). It owns the database file, its
//! schema, the single writer and the read connections; it must never decide *whether* a segment
//! may be erased — it only answers, through the writer's acknowledgement, that a commit is durable.
//!
//! **Architecture invariant:** only [`Writer`] writes. A segment's rows are written in one
//! transaction whose commit is fsynced before the writer acknowledges it, and a pull sends ERASE
//! only after that acknowledgement.

pub mod accounts;
pub mod compaction;
pub mod diag;
pub mod queue;
mod reader;
pub mod reports;
pub mod samples;
pub mod schema;
pub mod site;
mod writer;

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::worker::WorkerTag;

pub use accounts::{AuditEntry, AuditRow, NewUser, User};
pub use reader::{RawBlock, Reader, SegmentState, WearableTotals};
pub use writer::{Writer, WriterThread};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Migrate(#[from] schema::MigrateError),
    #[error("cannot prepare the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("the commit failed, nothing of it was stored: {0}")]
    Commit(String),
    #[error("cannot start a store thread: {0}")]
    Thread(String),
    #[error("the store is shutting down")]
    Closed,
    #[error("no database at {0}: is the data folder right, and has dockd run there?")]
    Missing(String),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Site(#[from] site::SiteError),
}

/// What identifies a segment for good: the wearable, its segment id, and the bytes' size and CRC.
/// A wearable that reuses an id for different bytes gets a new row; the same bytes never do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SegmentKey {
    pub serial: String,
    pub segment_no: u32,
    pub size: u32,
    pub crc: u32,
}

/// A docking as the wearable described itself in INFO, plus where it sat.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDocking {
    pub serial: String,
    pub model: u16,
    pub hw_rev: u16,
    pub firmware: String,
    pub slot: u32,
    pub transport: &'static str,
    pub port: String,
    pub docked_ms: i64,
    pub boot_count: u32,
    pub device_ms: u64,
    pub clock_valid: bool,
    pub batt_soc: u8,
    pub batt_health: u8,
    pub batt_cycles: u16,
    pub batt_mv: u16,
    pub batt_temp_dc: i16,
    pub charging: bool,
    pub segments_listed: u32,
}

/// Everything a good segment turns into, ready to be written in one transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewSegment {
    pub key: SegmentKey,
    pub docking_id: i64,
    /// When the dock stored it (its clock).
    pub stored_ms: i64,
    pub boot_count: u32,
    pub start_ms: u64,
    pub clock_valid: bool,
    pub rate_hz: u16,
    pub first_wall_ms: Option<i64>,
    pub last_wall_ms: Option<i64>,
    pub samples: u64,
    pub records: u32,
    pub unknown_records: u32,
    pub unknown_time_samples: u64,
    pub unknown_time_records: u32,
    pub blocks: Vec<BlockRow>,
    pub alerts: Vec<AlertRow>,
    pub events: Vec<EventRow>,
    pub diags: Vec<DiagRow>,
}

impl NewSegment {
    /// Bytes this segment will occupy in the writer's queue (for batching).
    pub fn weight(&self) -> usize {
        self.blocks.iter().map(|b| b.data.len() + 64).sum::<usize>()
            + (self.alerts.len() + self.events.len() + self.diags.len()) * 64
    }
}

/// A block of consecutive samples (see [`samples`]).
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRow {
    pub worker: Option<WorkerTag>,
    pub t_ms: u32,
    pub wall_ms: Option<i64>,
    pub rate_hz: u16,
    pub count: u32,
    pub codec: u8,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertRow {
    pub worker: Option<WorkerTag>,
    pub t_ms: u32,
    pub wall_ms: Option<i64>,
    pub kind: u8,
    pub peak: i16,
    pub duration_ms: u32,
    pub response_ms: Option<u32>,
    pub haptic: bool,
}

/// The kinds of segment records kept in the `event` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Worker,
    Clock,
    Button,
    Unknown,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Worker => "worker",
            EventKind::Clock => "clock",
            EventKind::Button => "button",
            EventKind::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub kind: EventKind,
    pub worker: Option<WorkerTag>,
    pub t_ms: Option<u32>,
    pub wall_ms: Option<i64>,
    pub value: Option<i64>,
    pub flag: Option<bool>,
    pub body: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiagRow {
    pub t_ms: u32,
    pub wall_ms: Option<i64>,
    pub batt_mv: u16,
    pub temp_dc: i16,
    pub soc: u8,
    pub code: u16,
}

/// A segment that failed its checks: kept verbatim, reported, never erased.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantinedSegment {
    pub key: SegmentKey,
    pub reason: String,
    pub bytes: Vec<u8>,
    pub seen_ms: i64,
}

/// A sample block re-encoded by compaction.
#[derive(Debug, Clone, PartialEq)]
pub struct RecodedBlock {
    pub id: i64,
    /// The codec the block had when it was read; the update applies only if it still has it.
    pub from_codec: u8,
    pub codec: u8,
    pub data: Vec<u8>,
}

/// What happened to a segment handed to the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    /// Its rows are now durably committed.
    Stored,
    /// It was already stored durably by an earlier pull (a crash or lost OK before its ERASE).
    AlreadyStored,
}

/// SQLite page size for new databases (see `open_for_writing`).
const PAGE_SIZE: i64 = 65536;

/// Opens (creating if needed) the database for writing and brings its schema up to date.
pub fn open_for_writing(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Only takes effect on a new file. Sample blocks are multi-kilobyte blobs: large pages keep them
    // off long overflow chains and cut the write calls per committed byte.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    // WAL lets the page and `dockd status` read while a pull commits. FULL: with WAL + NORMAL a
    // committed transaction can roll back after a power loss, and a wearable may already have erased
    // what that transaction held.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "journal_size_limit", 64i64 << 20)?;
    schema::migrate(&mut conn)?;
    Ok(conn)
}

/// Opens the database read-only (for the page, `dockd status` and pull look-ups).
pub fn open_for_reading(path: &Path) -> Result<Connection, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing(path.display().to_string()));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}
