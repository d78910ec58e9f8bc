//! The record kinds that leave the dock: the upload contract (`docs/upload-schema.md`) as serde
//! types, each closed (`deny_unknown_fields`), each with its idempotency key derived from its
//! origin. It owns what a record may carry; it must never carry a badge tag, a display name, the
//! page's short `W-…` label, or a position in a record that names a worker or a wearable.
//!
//! # Keys
//!
//! Every record's `key` is a pure function of where it came from ([`Record::derive_key`]), so the
//! same origin always gives the same key and re-sending after a crash is harmless:
//!
//! | kind | key |
//! | --- | --- |
//! | `shift_summary` | `shift:<site>:<wearable serial>:<start_ms>` (a re-analysis keeps the key, raises `revision`) |
//! | `alert` | `alert:<site>:<wearable serial>:<segment_no>:<index in segment>` |
//! | `task_aggregate` | `task:<site>:<dock>:<day>:<task name>` |
//! | `team_aggregate` | `team:<site>:<dock>:<day>:<team name>` |
//! | `wearable_diag` | `wearable_diag:<site>:<wearable serial>:<docked_ms>` |
//! | `dock_diag` | `dock_diag:<site>:<dock>:<at_ms>` |
//! | `dock_gps` | `dock_gps:<site>:<dock>:<at_ms>` |
//! | `raw_samples` | `raw:<site>:<wearable serial>:<segment_no>:<block index in segment>` |
//! | `worker_deleted` | `worker_deleted:<site>:<key_id>:<worker>` |
//! | `evicted` | `evicted:<site>:<dock>:<eviction_no>` |
//! | `audit_anchor` | `audit_anchor:<site>:<dock>:<audit_id>` |
//!
//! `<day>` is the site-local day `YYYY-MM-DD`, or `unknown` for a record without a trustworthy time.
//!
//! The contract's nested types (`MovementCounts`, `MovementRates`, `AlertSummary`) and `DockGps`
//! mirror internal ones (`Counts`, `Rates`, `AlertStats`, `GpsFix`) on purpose: an internal change
//! must never change what leaves the dock. The `From` impls here are the one mapping.

use serde::{Deserialize, Serialize};

use crate::analysis::exposure::{AlertStats, Counts};
use crate::analysis::risk::{Rates, RiskLevel};

/// The contract's major version, sent as `"schema"` in every record. Additive changes (a new
/// optional field, a new kind) keep it; removing or renaming a field, or changing a unit or a
/// meaning, raises it (`docs/upload-schema.md`, "Evolving the contract").
pub const SCHEMA: u32 = 1;

/// Aggregates never leave the dock for a group smaller than this, whatever the page's setting.
pub const MIN_UPLOAD_GROUP: u32 = 5;

/// The day of a record without a trustworthy time (also the S3 partition `date=unknown`).
pub const UNKNOWN_DAY: &str = "unknown";

/// Whether a task or team aggregate of `workers` distinct workers may be uploaded: only groups of
/// at least `max(min_group_workers, 5)`.
pub fn group_may_leave(workers: u32, min_group_workers: u32) -> bool {
    workers >= min_group_workers.max(MIN_UPLOAD_GROUP)
}

/// One record as it travels: one NDJSON line, `"kind"` naming the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    ShiftSummary(ShiftSummary),
    Alert(Alert),
    TaskAggregate(GroupAggregate),
    TeamAggregate(GroupAggregate),
    WearableDiag(WearableDiag),
    DockDiag(DockDiag),
    DockGps(DockGps),
    RawSamples(RawSamples),
    WorkerDeleted(WorkerDeleted),
    Evicted(Evicted),
    AuditAnchor(AuditAnchor),
}

/// The record kinds, as `"kind"` spells them; also the outbox's and the S3 key's `kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    ShiftSummary,
    Alert,
    TaskAggregate,
    TeamAggregate,
    WearableDiag,
    DockDiag,
    DockGps,
    RawSamples,
    WorkerDeleted,
    Evicted,
    AuditAnchor,
}

impl Kind {
    /// Every kind, in the contract's order.
    pub const ALL: [Kind; 11] = [
        Kind::ShiftSummary,
        Kind::Alert,
        Kind::TaskAggregate,
        Kind::TeamAggregate,
        Kind::WearableDiag,
        Kind::DockDiag,
        Kind::DockGps,
        Kind::RawSamples,
        Kind::WorkerDeleted,
        Kind::Evicted,
        Kind::AuditAnchor,
    ];

    /// The kind as `"kind"` and the S3 partition spell it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ShiftSummary => "shift_summary",
            Kind::Alert => "alert",
            Kind::TaskAggregate => "task_aggregate",
            Kind::TeamAggregate => "team_aggregate",
            Kind::WearableDiag => "wearable_diag",
            Kind::DockDiag => "dock_diag",
            Kind::DockGps => "dock_gps",
            Kind::RawSamples => "raw_samples",
            Kind::WorkerDeleted => "worker_deleted",
            Kind::Evicted => "evicted",
            Kind::AuditAnchor => "audit_anchor",
        }
    }

    /// The kind named `name`, if the contract has one.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One worker-shift's risk summary, keyed by the worker's site pseudonym.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftSummary {
    pub key: String,
    pub schema: u32,
    pub site: String,
    pub dock: String,
    /// The site pseudonym: HMAC-SHA256 of the badge tag under the key `key_id`, 64 hex digits.
    pub worker: String,
    /// Which pseudonym key made `worker`.
    pub key_id: String,
    /// The wearable's serial (a device, not a person).
    pub wearable: String,
    /// Raised each time the shift is re-analysed and sent again; the highest wins.
    pub revision: u32,
    /// `analysis` version that produced the figures (`ShiftReport::version`).
    pub analysis_version: u32,
    /// Site-local day `YYYY-MM-DD` of the shift's start.
    pub day: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Seconds the wearable was worn.
    pub wear_s: f64,
    pub counts: MovementCounts,
    pub risk_level: RiskLevel,
    /// The level's reasons in words (no names: they speak of movements and thresholds).
    pub reasons: Vec<String>,
    pub alerts: AlertSummary,
}

/// Movements counted over a shift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MovementCounts {
    pub bends: u32,
    pub deep_bends: u32,
    pub twists: u32,
    pub lateral_bends: u32,
    pub reaches: u32,
    pub lifts: u32,
    pub stoop_lifts: u32,
    pub squat_lifts: u32,
    pub static_postures: u32,
}

impl From<&Counts> for MovementCounts {
    fn from(c: &Counts) -> Self {
        Self {
            bends: c.bends,
            deep_bends: c.deep_bends,
            twists: c.twists,
            lateral_bends: c.lateral_bends,
            reaches: c.reaches,
            lifts: c.lifts,
            stoop_lifts: c.stoop_lifts,
            squat_lifts: c.squat_lifts,
            static_postures: c.static_postures,
        }
    }
}

/// A shift's wearable alerts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSummary {
    pub count: u32,
    /// Share (0–1) of alerts whose haptic pulse was delivered; `null` without alerts.
    pub haptic_rate: Option<f64>,
    pub median_response_ms: Option<u32>,
    pub p90_response_ms: Option<u32>,
    /// Alerts never corrected.
    pub uncorrected: u32,
}

impl From<&AlertStats> for AlertSummary {
    fn from(a: &AlertStats) -> Self {
        Self {
            count: a.count,
            haptic_rate: a.haptic_rate,
            median_response_ms: a.median_response_ms,
            p90_response_ms: a.p90_response_ms,
            uncorrected: a.uncorrected,
        }
    }
}

/// One alert the wearable gave, keyed by the worker's site pseudonym.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    pub key: String,
    pub schema: u32,
    pub site: String,
    pub dock: String,
    pub worker: String,
    pub key_id: String,
    pub wearable: String,
    /// The segment the alert was logged in, and its place there (the key's origin).
    pub segment_no: u32,
    pub index: u32,
    /// Site-local day, or `unknown` when the alert has no time anchor.
    pub day: String,
    /// Unix ms; `null` when the wearable's clock gave no anchor (never guessed).
    pub at_ms: Option<i64>,
    /// 1 bend, 2 twist, 3 prolonged bend, 4 overreach (protocol.md).
    pub alert_kind: u8,
    /// The peak that raised it, in the kind's unit: 0.01° (bends, reaches) or 0.1 °/s (twist).
    pub peak: i16,
    pub duration_ms: u32,
    /// `null`: never corrected.
    pub response_ms: Option<u32>,
    pub haptic: bool,
}

/// One task's or team's figures over one site-local day at this dock; only for a group of at
/// least `max(min_group_workers, 5)` workers ([`group_may_leave`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupAggregate {
    pub key: String,
    pub schema: u32,
    pub site: String,
    pub dock: String,
    pub day: String,
    /// The task or team name as configured.
    pub group: String,
    pub workers: u32,
    pub shifts: u32,
    /// Hours of wear in the group.
    pub wear_h: f64,
    /// Movements per hour of wear.
    pub per_hour: MovementRates,
    /// Share (0–1) of the group's shifts whose level is high.
    pub high_risk_share: f64,
    /// Alerts per worker-day; `null` for tasks (alerts are not split by task).
    pub alerts_per_day: Option<f64>,
}

/// Movements per hour of wear.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MovementRates {
    pub bends: f64,
    pub deep_bends: f64,
    pub twists: f64,
    pub lateral_bends: f64,
    pub reaches: f64,
    pub lifts: f64,
    pub stoop_lifts: f64,
    pub squat_lifts: f64,
    pub static_postures: f64,
}

impl From<&Rates> for MovementRates {
    fn from(r: &Rates) -> Self {
        Self {
            bends: r.bends,
            deep_bends: r.deep_bends,
            twists: r.twists,
            lateral_bends: r.lateral_bends,
            reaches: r.reaches,
            lifts: r.lifts,
            stoop_lifts: r.stoop_lifts,
            squat_lifts: r.squat_lifts,
            static_postures: r.static_postures,
        }
    }
}

/// A wearable's health as read at docking (its INFO and the DIAG faults of its segments); never
/// a series recorded during wear, never who wore it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WearableDiag {
    pub key: String,
    pub schema: u32,
    pub site: String,
    pub dock: String,
    pub wearable: String,
    pub firmware: Option<String>,
    pub day: String,
    pub docked_ms: i64,
    pub boot_count: u32,
    pub clock_valid: bool,
    /// State of charge, %.
    pub soc_pct: u8,
    /// Full capacity as a share of design, %.
    pub health_pct: u8,
    pub cycles: u16,
    pub voltage_mv: u16,
    /// Battery temperature, 0.1 °C.
    pub temp_dc: i16,
    pub charging: bool,
    /// Distinct non-zero DIAG codes in the segments pulled at this docking, ascending.
    pub fault_codes: Vec<u16>,
}

/// The dock's own health at one moment; nothing about workers or wearables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockDiag {
    pub key: String,
    pub schema: u32,
    pub site: String,
    pub dock: String,
    pub day: String,
    pub at_ms: i64,
    /// dockd's version.
    pub version: String,
    /// `null` when the kernel lists no power supply.
    pub mains_online: Option<bool>,
    /// The dock's own battery, %.
    pub battery_pct: Option<u8>,
    /// The hottest thermal zone, °C.
    pub max_temp_c: Option<f64>,
    /// The data folder's file system.
    pub disk_total_bytes: Option<u64>,
    pub disk_available_bytes: Option<u64>,
    /// The database with its WAL.
    pub database_bytes: Option<u64>,
}

/// One GPS fix of the dock. Its own kind, structurally: it has no worker, key id or wearable field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DockGps {
    pub key: String,
    pub schema: u32,
    pub site: String,
    pub dock: String,
    pub day: String,
    /// The dock's clock, Unix ms.
    pub at_ms: i64,
    /// 0 unknown, 1 no fix, 2 2D, 3 3D (gpsd's `mode`).
    pub mode: u8,
    /// Degrees (WGS 84).
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Metres above mean sea level.
    pub alt_m: Option<f64>,
    pub satellites_used: Option<u32>,
    pub satellites_seen: Option<u32>,
    pub hdop: Option<f64>,
    /// Horizontal error estimate, m.
    pub eph: Option<f64>,
}

/// One block of raw posture samples (opt-in: `[upload] raw_samples = true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSamples {
    pub key: String,
    pub schema: u32,
    pub site: String,
    pub dock: String,
    /// `null` when no roster worker wore it.
    pub worker: Option<String>,
    pub key_id: Option<String>,
    pub wearable: String,
    pub segment_no: u32,
    pub block: u32,
    pub day: String,
    /// The first sample's time, Unix ms; `null` without a time anchor.
    pub start_ms: Option<i64>,
    pub rate_hz: u16,
    /// Sagittal flexion, 0.01°, + forward; one per sample.
    pub flex: Vec<i16>,
    /// Lateral bend, 0.01°, + right (`Sample::lat`; named so no field of a worker's record reads
    /// like a position).
    pub lateral: Vec<i16>,
    /// Axial angular velocity, 0.1 °/s.
    pub twist: Vec<i16>,
    /// Height relative to calibration, mm.
    pub height: Vec<i16>,
}

/// A worker's data was deleted at the site: one per key id they were uploaded under, queued in
/// the deletion's transaction (`store::deletion`), never evicted. The cloud deletes what it
/// holds under `worker` and `key_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerDeleted {
    pub key: String,
    pub schema: u32,
    pub site: String,
    pub dock: String,
    pub worker: String,
    pub key_id: String,
    pub day: String,
    pub deleted_ms: i64,
}

/// What the outbox's disk budget evicted: one record per eviction and kind, itself uploaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evicted {
    pub key: String,
    pub schema: u32,
    pub site: String,
    pub dock: String,
    /// The dock's count of evictions, from 1 (the key's origin).
    pub eviction_no: u64,
    pub day: String,
    pub at_ms: i64,
    pub evicted_kind: Kind,
    pub items: u64,
    pub bytes: u64,
    /// When the oldest and newest evicted items were queued, Unix ms.
    pub first_created_ms: i64,
    pub last_created_ms: i64,
}

/// The head of the dock's audit chain (`store::audit_chain`) at a moment: the cloud's copy lets a
/// cut-off tail or a rewritten chain on the dock be found. It carries no entry, only its link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditAnchor {
    pub key: String,
    pub schema: u32,
    pub site: String,
    pub dock: String,
    pub day: String,
    /// When the anchor was taken, Unix ms.
    pub at_ms: i64,
    /// The last audit entry it covers (the key's origin).
    pub audit_id: i64,
    /// The chain's link at that entry, 64 hex digits.
    pub link: String,
}

impl Record {
    pub fn kind(&self) -> Kind {
        match self {
            Record::ShiftSummary(_) => Kind::ShiftSummary,
            Record::Alert(_) => Kind::Alert,
            Record::TaskAggregate(_) => Kind::TaskAggregate,
            Record::TeamAggregate(_) => Kind::TeamAggregate,
            Record::WearableDiag(_) => Kind::WearableDiag,
            Record::DockDiag(_) => Kind::DockDiag,
            Record::DockGps(_) => Kind::DockGps,
            Record::RawSamples(_) => Kind::RawSamples,
            Record::WorkerDeleted(_) => Kind::WorkerDeleted,
            Record::Evicted(_) => Kind::Evicted,
            Record::AuditAnchor(_) => Kind::AuditAnchor,
        }
    }

    /// The key this record's origin gives it (the table in this module's docs).
    pub fn derive_key(&self) -> String {
        match self {
            Record::ShiftSummary(r) => format!("shift:{}:{}:{}", r.site, r.wearable, r.start_ms),
            Record::Alert(r) => {
                format!(
                    "alert:{}:{}:{}:{}",
                    r.site, r.wearable, r.segment_no, r.index
                )
            }
            Record::TaskAggregate(r) => format!("task:{}:{}:{}:{}", r.site, r.dock, r.day, r.group),
            Record::TeamAggregate(r) => format!("team:{}:{}:{}:{}", r.site, r.dock, r.day, r.group),
            Record::WearableDiag(r) => {
                format!("wearable_diag:{}:{}:{}", r.site, r.wearable, r.docked_ms)
            }
            Record::DockDiag(r) => format!("dock_diag:{}:{}:{}", r.site, r.dock, r.at_ms),
            Record::DockGps(r) => format!("dock_gps:{}:{}:{}", r.site, r.dock, r.at_ms),
            Record::RawSamples(r) => {
                format!("raw:{}:{}:{}:{}", r.site, r.wearable, r.segment_no, r.block)
            }
            Record::WorkerDeleted(r) => {
                format!("worker_deleted:{}:{}:{}", r.site, r.key_id, r.worker)
            }
            Record::Evicted(r) => format!("evicted:{}:{}:{}", r.site, r.dock, r.eviction_no),
            Record::AuditAnchor(r) => {
                format!("audit_anchor:{}:{}:{}", r.site, r.dock, r.audit_id)
            }
        }
    }

    /// The record with its `key` derived from its origin and `schema` set to [`SCHEMA`]: how
    /// every producer finishes a record before queueing it.
    pub fn sealed(mut self) -> Self {
        let key = self.derive_key();
        let (k, s) = self.key_and_schema();
        *k = key;
        *s = SCHEMA;
        self
    }

    /// The idempotency key as sent.
    pub fn key(&self) -> &str {
        self.key_and_day().0
    }

    /// The site-local day (`YYYY-MM-DD` or `unknown`): the S3 key's `date=` partition.
    pub fn day(&self) -> &str {
        self.key_and_day().1
    }

    fn key_and_day(&self) -> (&str, &str) {
        match self {
            Record::ShiftSummary(r) => (&r.key, &r.day),
            Record::Alert(r) => (&r.key, &r.day),
            Record::TaskAggregate(r) | Record::TeamAggregate(r) => (&r.key, &r.day),
            Record::WearableDiag(r) => (&r.key, &r.day),
            Record::DockDiag(r) => (&r.key, &r.day),
            Record::DockGps(r) => (&r.key, &r.day),
            Record::RawSamples(r) => (&r.key, &r.day),
            Record::WorkerDeleted(r) => (&r.key, &r.day),
            Record::Evicted(r) => (&r.key, &r.day),
            Record::AuditAnchor(r) => (&r.key, &r.day),
        }
    }

    fn key_and_schema(&mut self) -> (&mut String, &mut u32) {
        match self {
            Record::ShiftSummary(r) => (&mut r.key, &mut r.schema),
            Record::Alert(r) => (&mut r.key, &mut r.schema),
            Record::TaskAggregate(r) | Record::TeamAggregate(r) => (&mut r.key, &mut r.schema),
            Record::WearableDiag(r) => (&mut r.key, &mut r.schema),
            Record::DockDiag(r) => (&mut r.key, &mut r.schema),
            Record::DockGps(r) => (&mut r.key, &mut r.schema),
            Record::RawSamples(r) => (&mut r.key, &mut r.schema),
            Record::WorkerDeleted(r) => (&mut r.key, &mut r.schema),
            Record::Evicted(r) => (&mut r.key, &mut r.schema),
            Record::AuditAnchor(r) => (&mut r.key, &mut r.schema),
        }
    }

    /// The record as one NDJSON line (no newline).
    pub fn to_line(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

#[cfg(test)]
pub(crate) mod tests;
