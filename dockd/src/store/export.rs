//! What one worker's export reads: the worker of a badge tag, their shift reports, alerts, sample
//! blocks (streamed) and the audit lines that name them by id. It owns that SQL; it must never
//! write, nor read another worker's rows.

use rusqlite::params;
use serde::Serialize;

use super::accounts::AuditRow;
use super::{Reader, StoreError};
use crate::worker::WorkerTag;

/// One stored shift report of the worker.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerReport {
    pub start_ms: i64,
    pub end_ms: i64,
    pub local_day: String,
    pub risk_level: String,
    /// Whether a re-analysis may still recompute it (its samples and alerts are all there).
    pub reanalysable: bool,
    /// The analysis as stored (JSON).
    pub report: serde_json::Value,
}

/// One alert of the worker, as the wearable logged it (protocol.md §5 units).
#[derive(Debug, Clone, Serialize)]
pub struct WorkerAlert {
    pub wall_ms: Option<i64>,
    pub kind: i64,
    pub peak: i64,
    pub duration_ms: i64,
    pub response_ms: Option<i64>,
    pub haptic: bool,
}

/// One stored block of the worker's samples, still encoded.
pub struct WorkerBlock {
    pub wall_ms: Option<i64>,
    pub t_ms: i64,
    pub rate_hz: i64,
    pub count: usize,
    pub codec: u8,
    pub data: Vec<u8>,
}

impl Reader {
    /// The worker with badge `tag`, if the roster has one: whose data an export reads and a
    /// deletion deletes (`store::deletion`).
    pub fn worker_with_tag(
        &self,
        tag: &WorkerTag,
    ) -> Result<Option<super::roster::WorkerRow>, StoreError> {
        Ok(self.workers()?.into_iter().find(|w| &w.tag == tag))
    }

    /// Worker `id`'s shift reports, oldest first.
    pub fn worker_reports(&self, id: i64) -> Result<Vec<WorkerReport>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare(
                "SELECT start_ms, end_ms, local_day, risk_level, reanalysable, report
                 FROM shift_report WHERE worker_id = ?1 ORDER BY start_ms",
            )?;
            let rows = query.query_map([id], |r| {
                let text: String = r.get(5)?;
                Ok(WorkerReport {
                    start_ms: r.get(0)?,
                    end_ms: r.get(1)?,
                    local_day: r.get(2)?,
                    risk_level: r.get(3)?,
                    reanalysable: r.get(4)?,
                    report: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
                })
            })?;
            rows.collect()
        })
    }

    /// Worker `id`'s alerts, in wall-time order (unknown times last).
    pub fn worker_alerts(&self, id: i64) -> Result<Vec<WorkerAlert>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare(
                "SELECT wall_ms, kind, peak, duration_ms, response_ms, haptic FROM alert
                 WHERE worker_id = ?1 ORDER BY wall_ms IS NULL, wall_ms, id",
            )?;
            let rows = query.query_map([id], |r| {
                Ok(WorkerAlert {
                    wall_ms: r.get(0)?,
                    kind: r.get(1)?,
                    peak: r.get(2)?,
                    duration_ms: r.get(3)?,
                    response_ms: r.get(4)?,
                    haptic: r.get::<_, i64>(5)? != 0,
                })
            })?;
            rows.collect()
        })
    }

    /// Worker `id`'s sample blocks in time order, one at a time (a month of samples never sits
    /// in memory at once).
    pub fn for_each_worker_block(
        &self,
        id: i64,
        mut each: impl FnMut(WorkerBlock) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut after = (i64::MIN, 0i64);
        loop {
            // Pages of blocks by (wall_ms, id), so the read lock is not held between pages.
            let page: Vec<(i64, WorkerBlock)> = self.with(|conn| {
                let mut query = conn.prepare_cached(
                    "SELECT id, wall_ms, t_ms, rate_hz, count, codec, data FROM sample_block
                     WHERE worker_id = ?1 AND (coalesce(wall_ms, 0), id) > (?2, ?3)
                     ORDER BY coalesce(wall_ms, 0), id LIMIT 64",
                )?;
                let rows = query.query_map(params![id, after.0, after.1], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        WorkerBlock {
                            wall_ms: r.get(1)?,
                            t_ms: r.get(2)?,
                            rate_hz: r.get(3)?,
                            count: usize::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                            codec: u8::try_from(r.get::<_, i64>(5)?).unwrap_or(u8::MAX),
                            data: r.get(6)?,
                        },
                    ))
                })?;
                rows.collect()
            })?;
            if page.is_empty() {
                return Ok(());
            }
            for (block_id, block) in page {
                after = (block.wall_ms.unwrap_or(0), block_id);
                each(block)?;
            }
        }
    }

    /// How many samples worker `id` has stored (an export's progress goes up to it).
    pub fn worker_sample_count(&self, id: i64) -> Result<u64, StoreError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT coalesce(sum(count), 0) FROM sample_block WHERE worker_id = ?1",
                [id],
                |r| r.get::<_, i64>(0),
            )
        })
        .map(|n| u64::try_from(n).unwrap_or(0))
    }

    /// The audit lines that name worker `id` ("worker 12 …", never "worker 120").
    pub fn audit_lines_about(&self, id: i64) -> Result<Vec<AuditRow>, StoreError> {
        let needle = format!("worker {id}");
        let rows: Vec<AuditRow> = self.with(|conn| {
            let mut query = conn.prepare(
                "SELECT id, at_ms, user, action, subject FROM audit
                 WHERE instr(subject, ?1) > 0 ORDER BY id",
            )?;
            let rows = query.query_map([&needle], |r| {
                Ok(AuditRow {
                    id: r.get(0)?,
                    at_ms: r.get(1)?,
                    user: r.get(2)?,
                    action: r.get(3)?,
                    subject: r.get(4)?,
                })
            })?;
            rows.collect()
        })?;
        Ok(rows
            .into_iter()
            .filter(|row| {
                row.subject.match_indices(&needle).any(|(at, _)| {
                    !row.subject[at + needle.len()..].starts_with(|c: char| c.is_ascii_digit())
                })
            })
            .collect())
    }
}
