//! The store's side of the risk analysis: which wearables have segments not analysed yet, loading a
//! wearable's samples and alerts over a time span as an `analysis::Recording` (in bounded chunks),
//! and the shift reports that come back. It owns these queries; it must never interpret a sample
//! (that is `analysis`) and never write outside the single writer.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::roster::{self, tag_from_column};
use super::{Reader, StoreError, samples};
use crate::analysis::{AlertRecord, Recording, TimedBlock};
use crate::worker::WorkerTag;

/// A wearable with stored segments the analysis has not seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    pub wearable_id: i64,
    pub serial: String,
    /// Highest segment row id now stored; analysing up to it clears the backlog.
    pub last_segment_id: i64,
    /// Wall-time span of the new segments' samples; `None` if none of them has a known time.
    pub span: Option<(i64, i64)>,
}

/// A shift report ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewShiftReport {
    pub worker: Option<WorkerTag>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub local_day: String,
    pub risk_level: String,
    pub version: u32,
    pub settings: String,
    /// `analysis::ShiftReport` as JSON.
    pub report: String,
}

/// Replaces a wearable's reports overlapping `[lo_ms, hi_ms)` and records its progress, in one
/// transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportBatch {
    pub wearable_id: i64,
    pub lo_ms: i64,
    pub hi_ms: i64,
    /// Progress to record once these reports are in (`None`: leave it as it is).
    pub last_segment_id: Option<i64>,
    pub reports: Vec<NewShiftReport>,
    /// Upload items made from these reports (shift summaries, alerts, aggregates), queued in the
    /// same transaction.
    pub outbox: Vec<crate::upload::Item>,
    /// The pseudonyms the outbox names workers by: kept per key id (a later deletion is sent
    /// under each), and an opted-out worker's items are dropped inside the transaction.
    pub pseudonyms: Vec<UploadPseudonym>,
}

/// A worker as the upload names them.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadPseudonym {
    pub worker: WorkerTag,
    pub key_id: String,
    /// The full site pseudonym (64 hex).
    pub pseudonym: String,
}

/// A stored shift report as the page and the analysis read it back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    pub wearable_id: i64,
    pub worker_id: Option<i64>,
    pub version: u32,
    pub settings: String,
    pub report: String,
}

impl Reader {
    /// Wearables whose newest stored segment is newer than their analysis progress.
    pub fn analysis_backlog(&self) -> Result<Vec<Backlog>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT w.id, w.serial, max(s.id), min(s.first_wall_ms), max(s.last_wall_ms)
                 FROM segment s JOIN wearable w ON w.id = s.wearable_id
                 LEFT JOIN analysis_progress p ON p.wearable_id = w.id
                 WHERE s.id > coalesce(p.last_segment_id, 0)
                 GROUP BY w.id ORDER BY w.id",
            )?;
            let rows = query.query_map([], |row| {
                let lo: Option<i64> = row.get(3)?;
                let hi: Option<i64> = row.get(4)?;
                Ok(Backlog {
                    wearable_id: row.get(0)?,
                    serial: row.get(1)?,
                    last_segment_id: row.get(2)?,
                    span: lo.zip(hi).map(|(lo, hi)| (lo, hi.max(lo) + 1)),
                })
            })?;
            rows.collect()
        })
    }

    /// Every wearable with stored samples and the span of its known-time data, for re-analysis.
    pub fn analysed_wearables(&self) -> Result<Vec<Backlog>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT w.id, w.serial, max(s.id), min(s.first_wall_ms), max(s.last_wall_ms)
                 FROM segment s JOIN wearable w ON w.id = s.wearable_id
                 GROUP BY w.id ORDER BY w.id",
            )?;
            let rows = query.query_map([], |row| {
                let lo: Option<i64> = row.get(3)?;
                let hi: Option<i64> = row.get(4)?;
                Ok(Backlog {
                    wearable_id: row.get(0)?,
                    serial: row.get(1)?,
                    last_segment_id: row.get(2)?,
                    span: lo.zip(hi).map(|(lo, hi)| (lo, hi.max(lo) + 1)),
                })
            })?;
            rows.collect()
        })
    }

    /// Widens `[lo, hi)` to cover every stored report of the wearable that overlaps it, so a
    /// re-analysis replaces whole shifts.
    pub fn report_extent(
        &self,
        wearable_id: i64,
        lo: i64,
        hi: i64,
    ) -> Result<(i64, i64), StoreError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT min(start_ms), max(end_ms) FROM shift_report
                 WHERE wearable_id = ?1 AND start_ms < ?3 AND end_ms > ?2 AND reanalysable = 1",
                params![wearable_id, lo, hi],
                |row| {
                    let a: Option<i64> = row.get(0)?;
                    let b: Option<i64> = row.get(1)?;
                    Ok((a.map_or(lo, |a| a.min(lo)), b.map_or(hi, |b| b.max(hi))))
                },
            )
        })
    }

    /// The wearable's samples, alerts and dockings in `[lo_ms, hi_ms)`, cut into chunks that end
    /// at a wear gap longer than `gap_ms` (so no shift straddles two chunks) once a chunk holds at
    /// least `chunk_samples`; `each` gets every chunk in time order. Memory stays bounded whatever
    /// the span.
    pub fn for_each_recording(
        &self,
        wearable_id: i64,
        (lo_ms, hi_ms): (i64, i64),
        gap_ms: i64,
        chunk_samples: usize,
        mut each: impl FnMut(Recording) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut from = lo_ms;
        loop {
            let (recording, next) = self
                .with(|conn| load_chunk(conn, wearable_id, from, hi_ms, gap_ms, chunk_samples))??;
            if !recording.blocks.is_empty() || !recording.alerts.is_empty() {
                each(recording)?;
            }
            match next {
                Some(next) if next > from => from = next,
                _ => return Ok(()),
            }
        }
    }

    /// Stored reports whose shift started in `[from_ms, to_ms)`, for site baselines and pages.
    pub fn reports_between(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<StoredReport>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT wearable_id, worker_id, version, settings, report FROM shift_report
                 WHERE start_ms >= ?1 AND start_ms < ?2 ORDER BY start_ms",
            )?;
            let rows = query.query_map(params![from_ms, to_ms], |row| {
                Ok(StoredReport {
                    wearable_id: row.get(0)?,
                    worker_id: row.get(1)?,
                    version: row.get(2)?,
                    settings: row.get(3)?,
                    report: row.get(4)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Whether any stored report was computed by another analysis version or other settings.
    pub fn reports_outdated(&self, version: u32, settings: &str) -> Result<bool, StoreError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM shift_report
                 WHERE reanalysable = 1 AND (version != ?1 OR settings != ?2))",
                params![version, settings],
                |row| row.get(0),
            )
        })
    }
}

/// Loads blocks from `from` on until `chunk_samples` are in and a gap longer than `gap_ms`
/// follows (or `hi` is reached); returns the chunk and where the next one starts.
fn load_chunk(
    conn: &Connection,
    wearable_id: i64,
    from: i64,
    hi: i64,
    gap_ms: i64,
    chunk_samples: usize,
) -> rusqlite::Result<Result<(Recording, Option<i64>), StoreError>> {
    let mut query = conn.prepare_cached(
        "SELECT b.wall_ms, b.rate_hz, b.count, b.codec, b.data, wk.tag
         FROM sample_block b JOIN segment s ON s.id = b.segment_id
         LEFT JOIN worker wk ON wk.id = b.worker_id
         WHERE s.wearable_id = ?1 AND b.wall_ms >= ?2 AND b.wall_ms < ?3
         ORDER BY b.wall_ms, b.id",
    )?;
    let mut rows = query.query(params![wearable_id, from, hi])?;
    let mut recording = Recording::default();
    let mut samples_in = 0usize;
    let mut last_end: Option<i64> = None;
    let mut next = None;
    while let Some(row) = rows.next()? {
        let wall_ms: i64 = row.get(0)?;
        let rate_hz: u16 = row.get(1)?;
        let count: u32 = row.get(2)?;
        if samples_in >= chunk_samples && last_end.is_some_and(|end| wall_ms - end > gap_ms) {
            next = Some(wall_ms);
            break;
        }
        let codec: u8 = row.get(3)?;
        let data: Vec<u8> = row.get(4)?;
        let tag: Option<Vec<u8>> = row.get(5)?;
        let decoded = match samples::decode(codec, &data, count as usize) {
            Ok(decoded) => decoded,
            Err(error) => return Ok(Err(StoreError::Corrupt(error.to_string()))),
        };
        samples_in += decoded.len();
        let end = wall_ms + i64::from(count) * 1000 / i64::from(rate_hz.max(1));
        last_end = Some(last_end.map_or(end, |e| e.max(end)));
        recording.blocks.push(TimedBlock {
            worker: tag.and_then(tag_from_column),
            wall_ms: Some(wall_ms),
            rate_hz,
            samples: decoded,
        });
    }
    drop(rows);
    let until = next.unwrap_or(hi);
    let mut alerts = conn.prepare_cached(
        "SELECT a.wall_ms, a.kind, a.peak, a.duration_ms, a.response_ms, a.haptic, wk.tag
         FROM alert a JOIN segment s ON s.id = a.segment_id
         LEFT JOIN worker wk ON wk.id = a.worker_id
         WHERE s.wearable_id = ?1 AND a.wall_ms >= ?2 AND a.wall_ms < ?3
         ORDER BY a.wall_ms, a.id",
    )?;
    let rows = alerts.query_map(params![wearable_id, from, until], alert_record)?;
    recording.alerts = rows.collect::<rusqlite::Result<_>>()?;
    let mut dockings = conn.prepare_cached(
        "SELECT docked_ms FROM docking WHERE wearable_id = ?1 AND docked_ms >= ?2 AND docked_ms < ?3
         ORDER BY docked_ms",
    )?;
    let rows = dockings.query_map(params![wearable_id, from, until], |row| row.get(0))?;
    recording.dockings_ms = rows.collect::<rusqlite::Result<_>>()?;
    Ok(Ok((recording, next)))
}

/// An alert from columns 0–6: `wall_ms, kind, peak, duration_ms, response_ms, haptic, tag`.
fn alert_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<AlertRecord> {
    let tag: Option<Vec<u8>> = row.get(6)?;
    Ok(AlertRecord {
        wall_ms: row.get(0)?,
        kind: row.get(1)?,
        peak: row.get(2)?,
        duration_ms: row.get(3)?,
        response_ms: row.get(4)?,
        haptic: row.get(5)?,
        worker: tag.and_then(tag_from_column),
    })
}

/// Applies a [`ReportBatch`] inside the writer's transaction.
/// An opted-out worker gets no reports, even from data stored before the opt-out.
/// A deleted worker (their tag tombstoned, checked with `keys`) gets none either.
pub(super) fn replace_reports(
    tx: &rusqlite::Transaction<'_>,
    keys: Option<&crate::worker::Pseudonyms>,
    batch: &ReportBatch,
) -> Result<(), StoreError> {
    let mut workers = HashMap::new();
    tx.execute(
        "DELETE FROM shift_report WHERE wearable_id = ?1 AND start_ms < ?3 AND end_ms > ?2
            AND reanalysable = 1",
        params![batch.wearable_id, batch.lo_ms, batch.hi_ms],
    )?;
    // A report the purge froze (its samples or alerts are gone) stays as it is; nothing computed
    // from what remains may overlap it.
    let mut frozen = tx.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM shift_report WHERE wearable_id = ?1 AND reanalysable = 0
            AND start_ms < ?3 AND end_ms > ?2)",
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO shift_report (wearable_id, worker_id, start_ms, end_ms, local_day, risk_level,
            version, settings, report) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for r in &batch.reports {
        let overlaps_frozen: bool = frozen
            .query_row(params![batch.wearable_id, r.start_ms, r.end_ms], |row| {
                row.get(0)
            })?;
        if overlaps_frozen {
            continue;
        }
        let worker = match roster::known_worker(tx, keys, &mut workers, r.worker)? {
            None => None,
            Some(wearer) => match wearer.kept() {
                Some(id) => Some(id),
                None => continue,
            },
        };
        insert.execute(params![
            batch.wearable_id,
            worker,
            r.start_ms,
            r.end_ms,
            r.local_day,
            r.risk_level,
            r.version,
            r.settings,
            r.report
        ])?;
    }
    if let Some(last) = batch.last_segment_id {
        tx.execute(
            "INSERT INTO analysis_progress (wearable_id, last_segment_id) VALUES (?1, ?2)
             ON CONFLICT (wearable_id) DO UPDATE SET last_segment_id = max(last_segment_id, ?2)",
            params![batch.wearable_id, last],
        )?;
    }
    Ok(())
}

/// A stored report with the worker it belongs to, for the pages.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerReport {
    pub worker_id: i64,
    /// The worker's badge tag (stays on the dock: the page shows a label instead).
    pub tag: Option<WorkerTag>,
    pub report: String,
}

impl Reader {
    /// SQLite's data version of this connection: it changes whenever another connection (the
    /// writer) commits, so a cache built from an earlier read can tell it is stale.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.with(|conn| conn.pragma_query_value(None, "data_version", |row| row.get(0)))
    }

    /// The site-local days with analysed shifts, oldest first.
    pub fn report_days(&self) -> Result<Vec<String>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT DISTINCT local_day FROM shift_report WHERE worker_id IS NOT NULL ORDER BY local_day",
            )?;
            let rows = query.query_map([], |row| row.get(0))?;
            rows.collect()
        })
    }

    /// The day an overview shows and its neighbours among the site-local days with workers'
    /// analysed shifts: `day` itself (or, without one, the latest such day), the latest day before
    /// it and the earliest after it. Three seeks down the `local_day` index, whatever the length of
    /// the history: listing every day ([`Reader::report_days`]) reads every report row (the
    /// `worker_id` test is not in the index), ~270 ms for a year of 200 workers.
    pub fn report_days_around(&self, day: Option<&str>) -> Result<DaysAround, StoreError> {
        self.with(|conn| days_around(conn, day))
    }

    /// Reports of workers on site-local days `[from_day, to_day]` (`YYYY-MM-DD`), by start time.
    pub fn worker_reports_between_days(
        &self,
        from_day: &str,
        to_day: &str,
    ) -> Result<Vec<WorkerReport>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT r.worker_id, w.tag, r.report FROM shift_report r JOIN worker w ON w.id = r.worker_id
                 WHERE r.local_day >= ?1 AND r.local_day <= ?2 ORDER BY r.start_ms",
            )?;
            let rows = query.query_map(params![from_day, to_day], worker_report)?;
            rows.collect()
        })
    }

    /// One worker's reports since `from_ms`, by start time.
    pub fn reports_of_worker(
        &self,
        worker_id: i64,
        from_ms: i64,
    ) -> Result<Vec<WorkerReport>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT r.worker_id, w.tag, r.report FROM shift_report r JOIN worker w ON w.id = r.worker_id
                 WHERE r.worker_id = ?1 AND r.start_ms >= ?2 ORDER BY r.start_ms",
            )?;
            let rows = query.query_map(params![worker_id, from_ms], worker_report)?;
            rows.collect()
        })
    }

    /// A worker's badge tag; `None` for an unknown worker.
    pub fn worker_tag(&self, worker_id: i64) -> Result<Option<WorkerTag>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached("SELECT tag FROM worker WHERE id = ?1")?;
            let mut rows = query.query([worker_id])?;
            Ok(match rows.next()? {
                Some(row) => tag_from_column(row.get(0)?),
                None => None,
            })
        })
    }
}

/// A day and the days with reports either side of it (see [`Reader::report_days_around`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaysAround {
    /// The day asked for, or the latest day with reports; `None` when there is none.
    pub chosen: Option<String>,
    pub previous: Option<String>,
    pub next: Option<String>,
}

fn days_around(conn: &Connection, day: Option<&str>) -> rusqlite::Result<DaysAround> {
    use rusqlite::OptionalExtension;
    let chosen = match day {
        Some(day) => Some(day.to_owned()),
        None => conn
            .prepare_cached(
                "SELECT local_day FROM shift_report WHERE worker_id IS NOT NULL
                 ORDER BY local_day DESC LIMIT 1",
            )?
            .query_row([], |row| row.get(0))
            .optional()?,
    };
    let Some(chosen) = chosen else {
        return Ok(DaysAround::default());
    };
    let previous = conn
        .prepare_cached(
            "SELECT local_day FROM shift_report WHERE local_day < ?1 AND worker_id IS NOT NULL
             ORDER BY local_day DESC LIMIT 1",
        )?
        .query_row([&chosen], |row| row.get(0))
        .optional()?;
    let next = conn
        .prepare_cached(
            "SELECT local_day FROM shift_report WHERE local_day > ?1 AND worker_id IS NOT NULL
             ORDER BY local_day LIMIT 1",
        )?
        .query_row([&chosen], |row| row.get(0))
        .optional()?;
    Ok(DaysAround {
        chosen: Some(chosen),
        previous,
        next,
    })
}

fn worker_report(row: &rusqlite::Row<'_>) -> rusqlite::Result<WorkerReport> {
    let tag: Option<Vec<u8>> = row.get(1)?;
    Ok(WorkerReport {
        worker_id: row.get(0)?,
        tag: tag.and_then(tag_from_column),
        report: row.get(2)?,
    })
}

/// A stored alert with where it was logged, for upload (`upload::produce::alert`).
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedAlert {
    pub segment_no: u32,
    /// Its place among its segment's alerts, from 0.
    pub index: u32,
    pub alert: AlertRecord,
}

/// A stored sample block with where it was logged, decoded, for upload
/// (`upload::produce::raw_samples`).
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedBlock {
    pub segment_no: u32,
    /// Its place among its segment's blocks (by segment time), from 0.
    pub block: u32,
    pub block_data: TimedBlock,
}

/// A worker's stored shift report with where it came from, for the upload's day aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct DayReport {
    pub wearable_id: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub worker_id: i64,
    pub tag: Option<WorkerTag>,
    pub report: String,
}

impl Reader {
    /// A wearable's alerts with a wall time in `[lo_ms, hi_ms)`, each with its segment and its
    /// place there (as written down when a deletion took rows from the segment, else its rank),
    /// by time.
    pub fn placed_alerts(
        &self,
        wearable_id: i64,
        lo_ms: i64,
        hi_ms: i64,
    ) -> Result<Vec<PlacedAlert>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT a.wall_ms, a.kind, a.peak, a.duration_ms, a.response_ms, a.haptic, wk.tag,
                    s.segment_no,
                    coalesce(a.place,
                        (SELECT COUNT(*) FROM alert b WHERE b.segment_id = a.segment_id AND b.id < a.id))
                 FROM alert a JOIN segment s ON s.id = a.segment_id
                 LEFT JOIN worker wk ON wk.id = a.worker_id
                 WHERE s.wearable_id = ?1 AND a.wall_ms >= ?2 AND a.wall_ms < ?3
                 ORDER BY a.wall_ms, a.id",
            )?;
            let rows = query.query_map(params![wearable_id, lo_ms, hi_ms], |row| {
                Ok(PlacedAlert {
                    segment_no: row.get(7)?,
                    index: row.get(8)?,
                    alert: alert_record(row)?,
                })
            })?;
            rows.collect()
        })
    }

    /// A wearable's sample blocks starting in `[lo_ms, hi_ms)`, decoded, each with its segment and
    /// its place there, by time. Only for `[upload] raw_samples`: it decodes everything it loads.
    pub fn placed_blocks(
        &self,
        wearable_id: i64,
        lo_ms: i64,
        hi_ms: i64,
    ) -> Result<Vec<PlacedBlock>, StoreError> {
        type Row = (u32, u32, i64, u16, u32, u8, Vec<u8>, Option<Vec<u8>>);
        let rows: Vec<Row> = self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT s.segment_no,
                    coalesce(b.place, (SELECT COUNT(*) FROM sample_block o WHERE o.segment_id = b.segment_id
                        AND (o.t_ms < b.t_ms OR (o.t_ms = b.t_ms AND o.id < b.id)))),
                    b.wall_ms, b.rate_hz, b.count, b.codec, b.data, wk.tag
                 FROM sample_block b JOIN segment s ON s.id = b.segment_id
                 LEFT JOIN worker wk ON wk.id = b.worker_id
                 WHERE s.wearable_id = ?1 AND b.wall_ms >= ?2 AND b.wall_ms < ?3
                 ORDER BY b.wall_ms, b.id",
            )?;
            let rows = query.query_map(params![wearable_id, lo_ms, hi_ms], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                    row.get(7)?,
                ))
            })?;
            rows.collect()
        })?;
        rows.into_iter()
            .map(
                |(segment_no, block, wall_ms, rate_hz, count, codec, data, tag)| {
                    let samples = samples::decode(codec, &data, count as usize)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    Ok(PlacedBlock {
                        segment_no,
                        block,
                        block_data: TimedBlock {
                            worker: tag.and_then(tag_from_column),
                            wall_ms: Some(wall_ms),
                            rate_hz,
                            samples,
                        },
                    })
                },
            )
            .collect()
    }

    /// Workers' reports on site-local days `[from_day, to_day]`, with their wearable and span.
    pub fn day_reports(&self, from_day: &str, to_day: &str) -> Result<Vec<DayReport>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT r.wearable_id, r.start_ms, r.end_ms, r.worker_id, w.tag, r.report
                 FROM shift_report r JOIN worker w ON w.id = r.worker_id
                 WHERE r.local_day >= ?1 AND r.local_day <= ?2 ORDER BY r.start_ms",
            )?;
            let rows = query.query_map(params![from_day, to_day], |row| {
                let tag: Option<Vec<u8>> = row.get(4)?;
                Ok(DayReport {
                    wearable_id: row.get(0)?,
                    start_ms: row.get(1)?,
                    end_ms: row.get(2)?,
                    worker_id: row.get(3)?,
                    tag: tag.and_then(tag_from_column),
                    report: row.get(5)?,
                })
            })?;
            rows.collect()
        })
    }
}

/// One shift's alert figures for the nuisance view: the wearable's serial, its wear and its
/// `alerts` (`analysis::exposure::AlertStats`, with the nuisance figures).
#[derive(Debug, Clone, PartialEq)]
pub struct NuisanceRow {
    pub serial: String,
    pub wear_s: f64,
    pub alerts: crate::analysis::exposure::AlertStats,
}

impl Reader {
    /// The alert figures of every shift report starting at or after `since_ms`, by serial. Only
    /// the report's `wear_s` and `alerts` are read (SQLite's `json_extract`), not whole reports; a
    /// report whose figures do not parse is left out (and logged by id).
    pub fn nuisance_rows(&self, since_ms: i64) -> Result<Vec<NuisanceRow>, StoreError> {
        let rows = self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT r.id, w.serial, json_extract(r.report, '$.wear_s'),
                    json_extract(r.report, '$.alerts')
                 FROM shift_report r JOIN wearable w ON w.id = r.wearable_id
                 WHERE r.start_ms >= ?1 ORDER BY w.serial, r.start_ms",
            )?;
            let rows = query.query_map([since_ms], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<f64>>(2)?,
                    row.get::<_, Option<String>>(3)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, serial, wear_s, alerts)| {
                let alerts = alerts.and_then(|json| serde_json::from_str(&json).ok());
                match (wear_s, alerts) {
                    (Some(wear_s), Some(alerts)) => Some(NuisanceRow {
                        serial,
                        wear_s,
                        alerts,
                    }),
                    _ => {
                        tracing::warn!(report = id, "A stored shift report has no readable alert figures; left out of the nuisance figures.");
                        None
                    }
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    #[test]
    fn the_days_around_a_day_skip_days_without_workers_and_match_the_full_list() {
        let mut conn = Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO wearable (id, serial, first_seen_ms) VALUES (1, 'W1', 0);
             INSERT INTO worker (id, tag) VALUES (1, x'42');",
        )
        .unwrap();
        // 03 and 06 have worker shifts; 04 only an unassigned one; 05 two of a worker.
        for (day, worker) in [
            ("2025-03-03", Some(1)),
            ("2025-03-04", None),
            ("2025-03-05", Some(1)),
            ("2025-03-05", Some(1)),
            ("2025-03-06", Some(1)),
        ] {
            conn.execute(
                "INSERT INTO shift_report (wearable_id, worker_id, start_ms, end_ms, local_day,
                    risk_level, version, settings, report) VALUES (1, ?1, 0, 1, ?2, 'low', 1, '', '{}')",
                params![worker, day],
            )
            .unwrap();
        }
        let around = |day: Option<&str>| days_around(&conn, day).unwrap();
        let days = |chosen: &str, previous: Option<&str>, next: Option<&str>| DaysAround {
            chosen: Some(chosen.to_owned()),
            previous: previous.map(str::to_owned),
            next: next.map(str::to_owned),
        };
        assert_eq!(around(None), days("2025-03-06", Some("2025-03-05"), None));
        assert_eq!(
            around(Some("2025-03-05")),
            days("2025-03-05", Some("2025-03-03"), Some("2025-03-06"))
        );
        assert_eq!(
            around(Some("2025-03-04")),
            days("2025-03-04", Some("2025-03-03"), Some("2025-03-05"))
        );
        assert_eq!(
            around(Some("2025-03-03")),
            days("2025-03-03", None, Some("2025-03-05"))
        );
        assert_eq!(
            around(Some("2030-01-01")),
            days("2030-01-01", Some("2025-03-06"), None)
        );
        conn.execute("DELETE FROM shift_report", []).unwrap();
        assert_eq!(around(None), DaysAround::default());
        assert_eq!(around(Some("2025-03-03")), days("2025-03-03", None, None));
    }
}
