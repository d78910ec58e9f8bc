//! What the dock queues for upload: pure builders that turn a stored origin (a shift report, an
//! alert, a day's group figures, a docking's INFO, a dock diagnostics reading, a GPS fix, a sample
//! block) into a sealed [`Record`], the revision rule, and the cadence of the dock's own records.
//! It owns what each record is built from; it must never read the store, a clock or the config
//! (everything arrives as values), and never put a badge tag, a display name, the analysis JSON's
//! `label` or the page's `W-…` label into a record.
//!
//! # Who produces what (the wiring)
//!
//! - **The analyst** (`analyst.rs`), with every stored batch of shift reports, in its
//!   `ReportBatch::outbox`: a [`shift_summary`] and the [`alert`]s of each shift worn by a roster
//!   worker who has not opted out, named by the worker's site pseudonym ([`Pseudonym`]); the
//!   [`group_aggregates`] of every site-local day the batch touched; and, with
//!   `[upload] raw_samples = true`, a [`raw_samples`] record per sample block of those shifts.
//!   **Shifts without a roster worker are not uploaded**: there is no pseudonym to name them by.
//!   An alert is the shift's when its worker wore the shift and its wall time falls in it; alerts
//!   without a trustworthy time belong to no shift and are not uploaded. An alert's `index` (and
//!   a raw block's `block`) is its place among its segment's stored rows: stable because no code
//!   deletes or merges stored alerts or blocks (an opt-out deletes reports, compaction recodes in
//!   place) but a worker's deletion, which first writes down the places of the rows that stay in
//!   the segments it takes rows from (`alert.place`, `sample_block.place`), so keys never shift.
//!   Opted-out workers are never uploaded: the store keeps no report of theirs and the analyst
//!   skips them.
//! - **The pull** (`pull/mod.rs`), at the end of a docking: a [`wearable_diag`] from the docking's
//!   INFO and the DIAG codes of the segments it pulled, handed to `Writer::end_docking`.
//! - **The diagnostics tasks** (`diag.rs`): a [`dock_diag`] once per site-local clock hour
//!   ([`Hourly`]) and a [`dock_gps`] per stored fix at most once per [`GPS_EVERY_MS`], as
//!   `DiagRecord::Upload` in the diagnostics queue's batch.
//!
//! # Revisions
//!
//! A shift is re-analysed under the same key. [`revise`] builds the record with the revision last
//! queued under its key; if that record's line has the digest queued then ([`line_digest`]),
//! nothing changed and nothing is queued; otherwise it is queued with the revision raised by one
//! (the first time: 1). Aggregates have no revision field: the same digest rule decides whether a
//! day's figures are queued again.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};

use super::Item;
use super::record::{
    self, Alert, AlertSummary, DockDiag, DockGps, GroupAggregate, MovementCounts, MovementRates,
    RawSamples, Record, ShiftSummary, UNKNOWN_DAY, WearableDiag,
};
use crate::analysis::groups::{self, GroupFigure, GroupRules, Member, Viewer};
use crate::analysis::{AlertRecord, FLEX, HEIGHT, LAT, Sample, ShiftReport, TWIST};
use crate::clock::Clock;
use crate::worker::{Pseudonyms, WorkerTag};

/// The dock's GPS fixes leave it at most this often (a fix is stored every few seconds).
pub const GPS_EVERY_MS: i64 = 10 * 60 * 1000;

/// Where every record comes from: `[upload] site` and `[dock] name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub site: String,
    pub dock: String,
}

/// A worker as uploads name them: the site pseudonym (the full HMAC-SHA256 hex of the badge tag)
/// and the id of the key that made it. Never the tag, never a label.
#[derive(Clone, PartialEq, Eq)]
pub struct Pseudonym {
    pub worker: String,
    pub key_id: String,
}

impl Pseudonym {
    /// The worker wearing `tag`, named under `keys`.
    pub fn of(keys: &Pseudonyms, tag: &WorkerTag) -> Self {
        Self {
            worker: keys.site_pseudonym(tag).as_str().to_owned(),
            key_id: keys.key_id(),
        }
    }
}

impl std::fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonym")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// What was last queued under a key (the store's `upload_revision` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prior {
    pub revision: u32,
    pub digest: String,
}

/// What the producers need; present only when `[upload]` is configured (`None` everywhere else:
/// nothing is produced). The wiring reads `clock` for the items' queueing time and `site` for
/// the site-local day of the dock's own records.
#[derive(Clone)]
pub struct Producer {
    pub origin: Origin,
    pub keys: Arc<Pseudonyms>,
    /// `[upload] raw_samples`.
    pub raw_samples: bool,
    pub clock: Arc<dyn Clock>,
    pub site: Arc<crate::site::SiteSettings>,
}

impl Producer {
    /// The producer for `[upload]` (`None` without it); `dock` is `[dock] name`.
    pub fn from_config(
        upload: Option<&crate::config::UploadConfig>,
        dock: &str,
        keys: Arc<Pseudonyms>,
        clock: Arc<dyn Clock>,
        site: Arc<crate::site::SiteSettings>,
    ) -> Option<Arc<Producer>> {
        let upload = upload?;
        Some(Arc::new(Producer {
            origin: Origin {
                site: upload.site.clone(),
                dock: dock.to_owned(),
            },
            keys,
            raw_samples: upload.raw_samples,
            clock,
            site,
        }))
    }

    /// The site's time zone in force (UTC if the settings name none the tz database knows: the
    /// settings page refuses such a zone, so this is a last resort, never a guess).
    pub fn time_zone(&self) -> TimeZone {
        TimeZone::get(&self.site.current().time_zone).unwrap_or(TimeZone::UTC)
    }

    /// `record` as an outbox item queued now.
    pub fn item(&self, record: &Record) -> Result<Item, serde_json::Error> {
        Item::of(record, self.clock.now_ms())
    }
}

/// SHA-256 hex of a record's NDJSON line: what the outbox compares to tell a new revision.
pub fn line_digest(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// The record `build` makes for a revision, under the revision rule (module docs): `None` when
/// it equals what was last queued under its key.
pub fn revise(
    prior: Option<&Prior>,
    build: impl Fn(u32) -> Record,
) -> Result<Option<Record>, serde_json::Error> {
    let Some(prior) = prior else {
        return Ok(Some(build(1)));
    };
    let same = build(prior.revision);
    if line_digest(&same.to_line()?) == prior.digest {
        return Ok(None);
    }
    Ok(Some(build(prior.revision.saturating_add(1))))
}

/// `record` under `revision` (only shift summaries carry one; other kinds are unchanged).
pub fn with_revision(record: Record, revision: u32) -> Record {
    match record {
        Record::ShiftSummary(mut s) => {
            s.revision = revision;
            Record::ShiftSummary(s)
        }
        other => other,
    }
}

/// The items to queue from `candidates` (sealed records), each under the revision rule against
/// what was last queued under its key (`priors`), queued at `created_ms`.
pub fn queue(
    candidates: Vec<Record>,
    priors: &HashMap<String, Prior>,
    created_ms: i64,
) -> Result<Vec<Item>, serde_json::Error> {
    let mut items = Vec::new();
    for record in candidates {
        let prior = priors.get(record.key());
        if let Some(record) = revise(prior, |rev| with_revision(record.clone(), rev))? {
            items.push(Item::of(&record, created_ms)?);
        }
    }
    Ok(items)
}

/// The site-local day of `wall_ms` (`YYYY-MM-DD`), or `unknown` without a trustworthy time.
pub fn day_of(tz: &TimeZone, wall_ms: Option<i64>) -> String {
    wall_ms
        .and_then(|ms| crate::analysis::shifts::local_day(tz, ms))
        .unwrap_or_else(|| UNKNOWN_DAY.to_owned())
}

/// One worker-shift's summary under `revision`.
pub fn shift_summary(
    origin: &Origin,
    wearable: &str,
    who: &Pseudonym,
    report: &ShiftReport,
    revision: u32,
) -> Record {
    Record::ShiftSummary(ShiftSummary {
        key: String::new(),
        schema: 0,
        site: origin.site.clone(),
        dock: origin.dock.clone(),
        worker: who.worker.clone(),
        key_id: who.key_id.clone(),
        wearable: wearable.to_owned(),
        revision,
        analysis_version: report.version,
        day: report.local_day.clone(),
        start_ms: report.start_ms,
        end_ms: report.end_ms,
        wear_s: report.metrics.wear_s,
        counts: MovementCounts::from(&report.metrics.counts),
        risk_level: report.risk_level,
        reasons: report.reasons.clone(),
        alerts: AlertSummary::from(&report.metrics.alerts),
    })
    .sealed()
}

/// Where an alert was logged: its segment and its place among that segment's alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertPlace {
    pub segment_no: u32,
    pub index: u32,
}

/// One alert a worker's wearable gave.
pub fn alert(
    origin: &Origin,
    wearable: &str,
    who: &Pseudonym,
    place: AlertPlace,
    tz: &TimeZone,
    alert: &AlertRecord,
) -> Record {
    Record::Alert(Alert {
        key: String::new(),
        schema: 0,
        site: origin.site.clone(),
        dock: origin.dock.clone(),
        worker: who.worker.clone(),
        key_id: who.key_id.clone(),
        wearable: wearable.to_owned(),
        segment_no: place.segment_no,
        index: place.index,
        day: day_of(tz, alert.wall_ms),
        at_ms: alert.wall_ms,
        alert_kind: alert.kind,
        peak: alert.peak,
        duration_ms: alert.duration_ms,
        response_ms: alert.response_ms,
        haptic: alert.haptic,
    })
    .sealed()
}

/// The task and team aggregates of one site-local `day` from that day's `members` (every
/// worker's shifts of the day at this dock): the figures the page shows a supervisor, under the
/// page's minimum raised to [`record::MIN_UPLOAD_GROUP`], so a group under 5 workers never leaves,
/// nor one the page's complementary suppression hides to protect it.
pub fn group_aggregates(
    origin: &Origin,
    day: &str,
    members: &[Member<'_>],
    min_group_workers: u32,
) -> Vec<Record> {
    let floor = min_group_workers.max(record::MIN_UPLOAD_GROUP);
    let rules = GroupRules {
        min_group: usize::try_from(floor).unwrap_or(usize::MAX),
    };
    let aggregate = |figure: &GroupFigure, alerts: bool| {
        let rates = figure.figures.as_ref()?;
        let workers = u32::try_from(figure.workers).unwrap_or(u32::MAX);
        if !record::group_may_leave(workers, min_group_workers) {
            return None;
        }
        Some(GroupAggregate {
            key: String::new(),
            schema: 0,
            site: origin.site.clone(),
            dock: origin.dock.clone(),
            day: day.to_owned(),
            group: figure.group.clone(),
            workers,
            shifts: u32::try_from(figure.shifts).unwrap_or(u32::MAX),
            wear_h: rates.wear_h,
            per_hour: MovementRates::from(&rates.per_hour),
            high_risk_share: rates.high_risk_share,
            alerts_per_day: if alerts { rates.alerts_per_day } else { None },
        })
    };
    let tasks = groups::by_task(members, &rules, Viewer::Supervisor);
    let teams = groups::by_team(members, &rules, Viewer::Supervisor);
    tasks
        .iter()
        .filter_map(|f| aggregate(f, false).map(Record::TaskAggregate))
        .chain(
            teams
                .iter()
                .filter_map(|f| aggregate(f, true).map(Record::TeamAggregate)),
        )
        .map(Record::sealed)
        .collect()
}

/// Members of the shifts of each day, for [`group_aggregates`]: `(worker id, team, report)`.
pub fn members_by_day<'a>(
    rows: &'a [(i64, Option<String>, ShiftReport)],
) -> BTreeMap<&'a str, Vec<Member<'a>>> {
    let mut days: BTreeMap<&str, Vec<Member<'_>>> = BTreeMap::new();
    for (worker, team, report) in rows {
        days.entry(report.local_day.as_str())
            .or_default()
            .push(Member {
                worker: *worker,
                team: team.as_deref(),
                report,
            });
    }
    days
}

/// A wearable's health at docking, from its INFO: `faults` are the DIAG codes of the segments
/// pulled at this docking (zeros and repeats are dropped here).
pub fn wearable_diag(
    origin: &Origin,
    info: &crate::link::Info,
    docked_ms: i64,
    tz: &TimeZone,
    faults: impl IntoIterator<Item = u16>,
) -> Record {
    let mut fault_codes: Vec<u16> = faults.into_iter().filter(|c| *c != 0).collect();
    fault_codes.sort_unstable();
    fault_codes.dedup();
    Record::WearableDiag(WearableDiag {
        key: String::new(),
        schema: 0,
        site: origin.site.clone(),
        dock: origin.dock.clone(),
        wearable: info.serial.clone(),
        firmware: Some(info.firmware()),
        day: day_of(tz, Some(docked_ms)),
        docked_ms,
        boot_count: info.boot_count,
        clock_valid: info.clock_valid,
        soc_pct: info.batt_soc,
        health_pct: info.batt_health,
        cycles: info.batt_cycles,
        voltage_mv: info.batt_mv,
        temp_dc: info.batt_temp_dc,
        charging: info.charging,
        fault_codes,
    })
    .sealed()
}

/// The dock's figures for a [`dock_diag`] record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DockFigures {
    pub mains_online: Option<bool>,
    pub battery_pct: Option<u8>,
    pub max_temp_c: Option<f64>,
    pub disk_total_bytes: Option<u64>,
    pub disk_available_bytes: Option<u64>,
    pub database_bytes: Option<u64>,
}

/// The dock's health at `at_ms`.
pub fn dock_diag(
    origin: &Origin,
    at_ms: i64,
    tz: &TimeZone,
    version: &str,
    figures: &DockFigures,
) -> Record {
    Record::DockDiag(DockDiag {
        key: String::new(),
        schema: 0,
        site: origin.site.clone(),
        dock: origin.dock.clone(),
        day: day_of(tz, Some(at_ms)),
        at_ms,
        version: version.to_owned(),
        mains_online: figures.mains_online,
        battery_pct: figures.battery_pct,
        max_temp_c: figures.max_temp_c,
        disk_total_bytes: figures.disk_total_bytes,
        disk_available_bytes: figures.disk_available_bytes,
        database_bytes: figures.database_bytes,
    })
    .sealed()
}

/// One of the dock's GPS fixes (its own kind: no worker, no wearable).
pub fn dock_gps(origin: &Origin, tz: &TimeZone, fix: &diagnostics::gps::GpsFix) -> Record {
    Record::DockGps(DockGps {
        key: String::new(),
        schema: 0,
        site: origin.site.clone(),
        dock: origin.dock.clone(),
        day: day_of(tz, Some(fix.at_ms)),
        at_ms: fix.at_ms,
        mode: fix.mode,
        lat: fix.lat,
        lon: fix.lon,
        alt_m: fix.alt_m,
        satellites_used: fix.satellites_used,
        satellites_seen: fix.satellites_seen,
        hdop: fix.hdop,
        eph: fix.eph,
    })
    .sealed()
}

/// Where a sample block was stored and when it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockPlace {
    pub segment_no: u32,
    /// The block's place among its segment's blocks, from 0.
    pub block: u32,
    pub start_ms: Option<i64>,
    pub rate_hz: u16,
}

/// One stored block of raw samples (only with `[upload] raw_samples = true`); `who` is `None`
/// when no roster worker wore it.
pub fn raw_samples(
    origin: &Origin,
    wearable: &str,
    who: Option<&Pseudonym>,
    place: BlockPlace,
    tz: &TimeZone,
    samples: &[Sample],
) -> Record {
    let channel = |c: usize| samples.iter().map(|s| s[c]).collect();
    Record::RawSamples(RawSamples {
        key: String::new(),
        schema: 0,
        site: origin.site.clone(),
        dock: origin.dock.clone(),
        worker: who.map(|w| w.worker.clone()),
        key_id: who.map(|w| w.key_id.clone()),
        wearable: wearable.to_owned(),
        segment_no: place.segment_no,
        block: place.block,
        day: day_of(tz, place.start_ms),
        start_ms: place.start_ms,
        rate_hz: place.rate_hz,
        flex: channel(FLEX),
        lateral: channel(LAT),
        twist: channel(TWIST),
        height: channel(HEIGHT),
    })
    .sealed()
}

/// Whether a GPS fix at `at_ms` leaves the dock, the last one having left at `last_ms`.
pub fn gps_due(last_ms: Option<i64>, at_ms: i64) -> bool {
    last_ms.is_none_or(|last| at_ms - last >= GPS_EVERY_MS || at_ms < last)
}

/// The site-local clock hour a dock diagnostics record was last made in: one per hour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hourly {
    last: Option<String>,
}

impl Hourly {
    /// The rule after a record was made at `at_ms` (read back from the store at start).
    pub fn after(tz: &TimeZone, at_ms: i64) -> Self {
        Self {
            last: local_hour(tz, at_ms),
        }
    }

    /// True (and remembered) when `at_ms` falls in another site-local clock hour than the last
    /// record's.
    pub fn due(&mut self, tz: &TimeZone, at_ms: i64) -> bool {
        let Some(hour) = local_hour(tz, at_ms) else {
            return false;
        };
        if self.last.as_deref() == Some(hour.as_str()) {
            return false;
        }
        self.last = Some(hour);
        true
    }
}

/// `YYYY-MM-DDTHH` of `wall_ms` in `tz`.
fn local_hour(tz: &TimeZone, wall_ms: i64) -> Option<String> {
    let at = tz.to_datetime(jiff::Timestamp::from_millisecond(wall_ms).ok()?);
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour()
    ))
}

#[cfg(test)]
mod tests;
