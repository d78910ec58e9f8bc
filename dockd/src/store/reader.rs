//! Read-side queries over the store for pulls, the status page and `dockd status`. It owns a read-only
//! connection and must never write: every method takes `&self` over a `SQLITE_OPEN_READ_ONLY` handle.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use super::{SegmentKey, StoreError, open_for_reading};

/// What the store already knows about a segment a wearable lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentState {
    /// Never seen: pull it.
    New,
    /// Durably stored earlier: erase it on the wearable without reading it again.
    Stored,
    /// Failed its checks earlier: leave it on the wearable.
    Quarantined,
}

/// Per-wearable totals, as `dockd status` and the page show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WearableTotals {
    pub serial: String,
    pub segments_stored: u64,
    pub samples_stored: u64,
    pub alerts_stored: u64,
    pub quarantined: u64,
    pub last_docked_ms: Option<i64>,
    pub last_slot: Option<u32>,
    pub last_transport: Option<String>,
}

/// A sample block as stored, for compaction.
#[derive(Debug, Clone, PartialEq)]
pub struct RawBlock {
    pub id: i64,
    pub codec: u8,
    pub count: u32,
    pub data: Vec<u8>,
}

/// SQLite counts are i64; a negative one cannot happen, so it reads as zero.
fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A shareable read-only handle. Queries are short and indexed; callers on the async runtime run
/// them through `spawn_blocking`.
#[derive(Clone)]
pub struct Reader {
    conn: Arc<Mutex<Connection>>,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            conn: Arc::new(Mutex::new(open_for_reading(path)?)),
        })
    }

    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Closed)?;
        Ok(f(&conn)?)
    }

    pub fn segment_state(&self, key: &SegmentKey) -> Result<SegmentState, StoreError> {
        self.with(|conn| {
            let stored: Option<i64> = conn
                .query_row(
                    "SELECT 1 FROM segment s JOIN wearable w ON w.id = s.wearable_id
                     WHERE w.serial = ?1 AND s.segment_no = ?2 AND s.size = ?3 AND s.crc = ?4",
                    params![key.serial, key.segment_no, key.size, key.crc],
                    |row| row.get(0),
                )
                .optional()?;
            if stored.is_some() {
                return Ok(SegmentState::Stored);
            }
            let quarantined: Option<i64> = conn
                .query_row(
                    "SELECT 1 FROM quarantine q JOIN wearable w ON w.id = q.wearable_id
                     WHERE w.serial = ?1 AND q.segment_no = ?2 AND q.size = ?3 AND q.crc = ?4",
                    params![key.serial, key.segment_no, key.size, key.crc],
                    |row| row.get(0),
                )
                .optional()?;
            Ok(if quarantined.is_some() {
                SegmentState::Quarantined
            } else {
                SegmentState::New
            })
        })
    }

    /// Up to `limit` sample blocks still in `codec`, oldest first.
    pub fn blocks_in_codec(&self, codec: u8, limit: u32) -> Result<Vec<RawBlock>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT id, codec, count, data FROM sample_block WHERE codec = ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = query.query_map(params![codec, limit], |row| {
                Ok(RawBlock {
                    id: row.get(0)?,
                    codec: row.get(1)?,
                    count: row.get(2)?,
                    data: row.get(3)?,
                })
            })?;
            rows.collect()
        })
    }

    /// When boot `boot_count` of a wearable began, on the dock's clock, as seen by the first docking
    /// of that boot whose INFO still counted from power-up (protocol.md §4); `None` if none did.
    pub fn boot_start(&self, serial: &str, boot_count: u32) -> Result<Option<i64>, StoreError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT d.docked_ms - d.device_ms FROM docking d JOIN wearable w ON w.id = d.wearable_id
                 WHERE w.serial = ?1 AND d.boot_count = ?2 AND d.clock_valid = 0
                 ORDER BY d.id LIMIT 1",
                params![serial, boot_count],
                |row| row.get(0),
            )
            .optional()
        })
    }

    /// Totals for every wearable the dock has ever seen, by serial.
    pub fn wearable_totals(&self) -> Result<Vec<WearableTotals>, StoreError> {
        self.totals(None)
    }

    /// Totals for one wearable, if the dock has seen it.
    pub fn totals_of(&self, serial: &str) -> Result<Option<WearableTotals>, StoreError> {
        Ok(self.totals(Some(serial))?.pop())
    }

    fn totals(&self, serial: Option<&str>) -> Result<Vec<WearableTotals>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT w.serial,
                    (SELECT count(*) FROM segment s WHERE s.wearable_id = w.id),
                    (SELECT coalesce(sum(s.samples), 0) FROM segment s WHERE s.wearable_id = w.id),
                    (SELECT coalesce(sum(s.alerts), 0) FROM segment s WHERE s.wearable_id = w.id),
                    (SELECT count(*) FROM quarantine q WHERE q.wearable_id = w.id),
                    w.last_docked_ms,
                    (SELECT d.slot FROM docking d WHERE d.wearable_id = w.id ORDER BY d.id DESC LIMIT 1),
                    (SELECT d.transport FROM docking d WHERE d.wearable_id = w.id ORDER BY d.id DESC LIMIT 1)
                 FROM wearable w WHERE ?1 IS NULL OR w.serial = ?1 ORDER BY w.serial",
            )?;
            let rows = query.query_map([serial], |row| {
                Ok(WearableTotals {
                    serial: row.get(0)?,
                    segments_stored: count(row.get(1)?),
                    samples_stored: count(row.get(2)?),
                    alerts_stored: count(row.get(3)?),
                    quarantined: count(row.get(4)?),
                    last_docked_ms: row.get(5)?,
                    last_slot: row.get(6)?,
                    last_transport: row.get(7)?,
                })
            })?;
            rows.collect()
        })
    }
}
