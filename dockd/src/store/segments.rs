//! The store's side of what wearables hand over: wearables, dockings, segments and the rows parsed
//! from them (sample blocks, alerts, events, wearable diagnostics), quarantine, erase notes and
//! compaction's recoding. It owns that SQL; it must never decide whether a segment may be erased
//! (the writer's acknowledgement says only that a commit is durable), and never log a badge tag.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Reader, StoreError, roster};
use crate::worker::WorkerTag;

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
    /// Unknown records: the body's length in bytes (the bytes themselves are never kept).
    pub body_len: Option<u32>,
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

pub(super) fn wearable_id(
    tx: &Transaction<'_>,
    serial: &str,
    seen_ms: i64,
) -> Result<i64, StoreError> {
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

pub(super) fn begin_docking(tx: &Transaction<'_>, d: &NewDocking) -> Result<i64, StoreError> {
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

/// What an opt-out or a deletion discarded from one segment for one worker.
#[derive(Debug, Default, Clone, Copy)]
struct Discarded {
    samples: u64,
    records: u64,
}

/// The worker id to store a row under, or `None` (with the row counted in `discarded`, under the
/// worker's id for an opt-out, under `None` for a deleted worker) when the row must not be
/// stored.
fn keep_row(
    worker: Option<roster::Wearer>,
    discarded: &mut BTreeMap<Option<i64>, Discarded>,
    samples: u64,
    records: u64,
) -> Option<Option<i64>> {
    let counted_under = match worker {
        None => return Some(None),
        Some(roster::Wearer::Kept(id)) => return Some(Some(id)),
        Some(roster::Wearer::OptedOut(id)) => Some(id),
        Some(roster::Wearer::Deleted) => None,
    };
    let d = discarded.entry(counted_under).or_default();
    d.samples += samples;
    d.records += records;
    None
}

/// `keys`: the pseudonym key in force, with which a tag is checked against deleted workers'
/// tombstones.
pub(super) fn store_segment(
    tx: &Transaction<'_>,
    keys: Option<&crate::worker::Pseudonyms>,
    s: &NewSegment,
) -> Result<StoreOutcome, StoreError> {
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
    // An opted-out or deleted worker's samples, alerts and events are not stored, only counted;
    // the segment row stays, so the wearable is told to erase them like any other.
    let mut discarded = BTreeMap::new();

    let mut insert = tx.prepare_cached(
        "INSERT INTO sample_block (segment_id, worker_id, t_ms, wall_ms, rate_hz, count, codec, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for b in &s.blocks {
        let worker = roster::known_worker(tx, keys, &mut workers, b.worker)?;
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
        let worker = roster::known_worker(tx, keys, &mut workers, a.worker)?;
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
        "INSERT INTO event (segment_id, worker_id, t_ms, wall_ms, kind, value, flag, body_len)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for e in &s.events {
        let worker = roster::known_worker(tx, keys, &mut workers, e.worker)?;
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
            e.body_len
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

/// Writes what an opt-out or a deletion discarded from a segment: per opted-out worker, and in
/// all on the segment row (a deleted worker has no row to count under).
fn record_discarded(
    tx: &Transaction<'_>,
    segment: i64,
    discarded: &BTreeMap<Option<i64>, Discarded>,
) -> Result<(), StoreError> {
    let as_sql = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut insert = tx.prepare_cached(
        "INSERT INTO opt_out_discard (segment_id, worker_id, samples, records) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut total = Discarded::default();
    for (worker, d) in discarded {
        if let Some(worker) = worker {
            insert.execute(params![
                segment,
                worker,
                as_sql(d.samples),
                as_sql(d.records)
            ])?;
        }
        total.samples += d.samples;
        total.records += d.records;
    }
    tx.execute(
        "UPDATE segment SET discarded_samples = ?2, discarded_records = ?3 WHERE id = ?1",
        params![segment, as_sql(total.samples), as_sql(total.records)],
    )?;
    // Counts only: which worker it was stays on the roster page (or nowhere, once deleted).
    if discarded.contains_key(&None) {
        tracing::info!(
            segment,
            samples = total.samples,
            records = total.records,
            "Discarded a deleted worker's data at ingest."
        );
    } else {
        tracing::info!(
            segment,
            samples = total.samples,
            records = total.records,
            "Discarded an opted-out worker's data at ingest."
        );
    }
    Ok(())
}

pub(super) fn quarantine(tx: &Transaction<'_>, q: &QuarantinedSegment) -> Result<(), StoreError> {
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

pub(super) fn end_docking(
    tx: &Transaction<'_>,
    docking_id: i64,
    undocked_ms: i64,
    outcome: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE docking SET undocked_ms = ?2, outcome = ?3 WHERE id = ?1",
        params![docking_id, undocked_ms, outcome],
    )?;
    Ok(())
}

/// Notes when the wearable confirmed erasing a stored segment.
pub(super) fn mark_erased(
    tx: &Transaction<'_>,
    key: &SegmentKey,
    erased_ms: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE segment SET erased_ms = ?5 WHERE id = (
            SELECT s.id FROM segment s JOIN wearable w ON w.id = s.wearable_id
            WHERE w.serial = ?1 AND s.segment_no = ?2 AND s.size = ?3 AND s.crc = ?4)",
        params![key.serial, key.segment_no, key.size, key.crc, erased_ms],
    )?;
    Ok(())
}

/// Replaces sample blocks' encodings, each only if the block still has the codec it was read in.
pub(super) fn recode(tx: &Transaction<'_>, blocks: &[RecodedBlock]) -> Result<(), StoreError> {
    let mut update = tx.prepare_cached(
        "UPDATE sample_block SET codec = ?3, data = ?4 WHERE id = ?1 AND codec = ?2",
    )?;
    for b in blocks {
        update.execute(params![b.id, b.from_codec, b.codec, b.data])?;
    }
    Ok(())
}

impl Reader {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::reports::{NewShiftReport, ReportBatch};
    use crate::store::roster::RosterChange;
    use crate::store::testing::Scratch;

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
            body_len: None,
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
            .roster(RosterChange::AddWorker {
                tag: tag(name),
                display_name: Some("Someone".into()),
                task: None,
                team: None,
            })
            .await
            .unwrap()
            .unwrap();
        store
            .roster(RosterChange::OptOut {
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
                outbox: Vec::new(),
                pseudonyms: Vec::new(),
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
