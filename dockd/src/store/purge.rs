//! Retention: deletes for good what is older than its class's retention, in one transaction, and
//! remembers when it last ran. It owns that SQL; it must never decide a retention (the config and
//! `privacy` do) nor delete anything a class does not name.
//!
//! Classes purged so far: the dock's GPS fixes and events (`gps`), its power samples
//! (`dock_power`) and quarantined segment bytes (`raw_segments`, by when the segment was last
//! seen; the wearable keeps a quarantined segment, so a later docking brings it back). Work
//! restrictions have their own sweep (`store::work_restrictions`).

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
}

/// What one purge deleted, per class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Purged {
    pub gps_fixes: u64,
    pub gps_events: u64,
    pub dock_power: u64,
    pub quarantined_segments: u64,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.gps_fixes + self.gps_events + self.dock_power + self.quarantined_segments
    }
}

pub(super) fn purge(tx: &Transaction<'_>, cutoffs: &Cutoffs) -> Result<Purged, StoreError> {
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let purged = Purged {
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
