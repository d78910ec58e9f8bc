//! Retention: deletes for good what is older than its class's retention, in one transaction, and
//! remembers when it last ran. It owns that SQL; it must never decide a retention (the config and
//! `privacy` do) nor delete anything a class does not name.
//!
//! Classes: worker data — samples, alerts and events by their wall time (by when their segment
//! was stored if they have none), whole shifts at a time: a cutoff inside a stored shift moves
//! back to its start, so no shift is left half there; a shift report whose samples or alerts go
//! is kept, marked no longer re-analysable (`reanalysable = 0`: a re-analysis neither replaces
//! it nor counts it as outdated); shift reports by their end. The dock's GPS fixes and events
//! (`gps`), its power samples (`dock_power`) and quarantined segment bytes (`raw_segments`, by
//! when the segment was last seen; the wearable keeps a quarantined segment, so a later docking
//! brings it back). Audit entries (`audit`) from the oldest, their hash chain going on from a
//! recorded base (`store::audit_chain::purge_before`). Upload items never delivered (`outbox`),
//! each kind recorded as an eviction (`store::outbox::expire`). Work restrictions have their own sweep
//! (`store::work_restrictions`).

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{Reader, StoreError};

/// The setting holding when the last purge ran (Unix ms).
const LAST_PURGE: &str = "privacy.last_purge_ms";

/// Rows older than these times (Unix ms) go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    /// When the purge runs.
    pub at_ms: i64,
    pub gps_before_ms: i64,
    pub dock_power_before_ms: i64,
    pub quarantine_before_ms: i64,
    pub samples_before_ms: i64,
    pub alerts_before_ms: i64,
    pub reports_before_ms: i64,
    pub audit_before_ms: i64,
    /// Upload items not delivered by then are dropped (recorded as evictions).
    pub outbox_before_ms: i64,
}

/// What one purge deleted, per class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Purged {
    pub sample_blocks: u64,
    pub alerts: u64,
    pub events: u64,
    pub shift_reports: u64,
    /// Reports kept whose samples or alerts went: no longer re-analysable.
    pub reports_frozen: u64,
    pub gps_fixes: u64,
    pub gps_events: u64,
    pub dock_power: u64,
    pub quarantined_segments: u64,
    /// Audit entries past their retention (the chain goes on from the last one's link).
    pub audit_entries: u64,
    /// Upload items never delivered within their retention (each kind recorded as an eviction).
    #[serde(default)]
    pub upload_items: u64,
}

/// What went, in words: `3 sample blocks, 0 alerts, …, 1 quarantined segments`.
impl std::fmt::Display for Purged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} sample blocks, {} alerts, {} events, {} shift reports, {} GPS fixes, {} GPS events, {} dock power samples, {} quarantined segments, {} audit entries, {} undelivered upload items",
            self.sample_blocks,
            self.alerts,
            self.events,
            self.shift_reports,
            self.gps_fixes,
            self.gps_events,
            self.dock_power,
            self.quarantined_segments,
            self.audit_entries,
            self.upload_items
        )
    }
}

impl Purged {
    /// Rows deleted (frozen reports are kept, so not counted).
    pub fn total(&self) -> u64 {
        self.sample_blocks
            + self.alerts
            + self.events
            + self.shift_reports
            + self.gps_fixes
            + self.gps_events
            + self.dock_power
            + self.quarantined_segments
            + self.audit_entries
            + self.upload_items
    }
}

/// `before`, moved back to the start of a stored shift that straddles it.
fn whole_shifts(tx: &Transaction<'_>, before: i64) -> Result<i64, StoreError> {
    let start: Option<i64> = tx.query_row(
        "SELECT min(start_ms) FROM shift_report WHERE start_ms < ?1 AND end_ms > ?1",
        [before],
        |r| r.get(0),
    )?;
    Ok(start.map_or(before, |s| s.min(before)))
}

pub(super) fn purge(
    tx: &Transaction<'_>,
    cutoffs: &Cutoffs,
    outbox: Option<&super::OutboxPolicy>,
) -> Result<Purged, StoreError> {
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let samples_before = whole_shifts(tx, cutoffs.samples_before_ms)?;
    let alerts_before = whole_shifts(tx, cutoffs.alerts_before_ms)?;
    // Rows without a wall time go by when their segment was stored.
    let by_time = |table: &str, before: i64, stored_before: i64| -> Result<u64, StoreError> {
        Ok(count(tx.execute(
            &format!(
                "DELETE FROM {table} WHERE wall_ms < ?1 OR (wall_ms IS NULL AND segment_id IN
                    (SELECT id FROM segment WHERE stored_ms < ?2))"
            ),
            params![before, stored_before],
        )?))
    };
    let sample_blocks = by_time("sample_block", samples_before, cutoffs.samples_before_ms)?;
    let alerts = by_time("alert", alerts_before, cutoffs.alerts_before_ms)?;
    let events = by_time("event", alerts_before, cutoffs.alerts_before_ms)?;
    let shift_reports = count(tx.execute(
        "DELETE FROM shift_report WHERE end_ms < ?1",
        [cutoffs.reports_before_ms],
    )?);
    let reports_frozen = count(tx.execute(
        "UPDATE shift_report SET reanalysable = 0 WHERE reanalysable = 1 AND start_ms < ?1",
        [samples_before.max(alerts_before)],
    )?);
    let purged = Purged {
        sample_blocks,
        alerts,
        events,
        shift_reports,
        reports_frozen,
        gps_fixes: count(tx.execute(
            "DELETE FROM gps_fix WHERE at_ms < ?1",
            [cutoffs.gps_before_ms],
        )?),
        gps_events: count(tx.execute(
            "DELETE FROM gps_event WHERE at_ms < ?1",
            [cutoffs.gps_before_ms],
        )?),
        dock_power: count(tx.execute(
            "DELETE FROM dock_power WHERE at_ms < ?1",
            [cutoffs.dock_power_before_ms],
        )?),
        quarantined_segments: count(tx.execute(
            "DELETE FROM quarantine WHERE last_seen_ms < ?1",
            [cutoffs.quarantine_before_ms],
        )?),
        audit_entries: super::audit_chain::purge_before(
            tx,
            cutoffs.audit_before_ms,
            cutoffs.at_ms,
            "retention purge",
        )?,
        upload_items: super::outbox::expire(tx, outbox, cutoffs.outbox_before_ms, cutoffs.at_ms)?,
    };
    tx.execute(
        "INSERT INTO setting (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![LAST_PURGE, cutoffs.at_ms.to_string()],
    )?;
    Ok(purged)
}

impl Reader {
    /// When the last purge ran, Unix ms.
    pub fn last_purge_ms(&self) -> Result<Option<i64>, StoreError> {
        self.with(|conn| {
            let value: Option<String> = conn
                .query_row(
                    "SELECT value FROM setting WHERE key = ?1",
                    [LAST_PURGE],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(value.and_then(|v| v.parse().ok()))
        })
    }
}

#[cfg(test)]
mod tests;
