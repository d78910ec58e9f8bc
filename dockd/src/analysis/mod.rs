//! The ergonomic risk analysis: pure functions from a wearable's stored samples and alerts to shifts,
//! movements, exposure metrics, model outputs, risk levels with reasons, group figures and advice,
//! grounded in `../shared/risk-models.md`. It owns every threshold and formula; it must never do I/O,
//! read a clock, or guess a value it was not given (a load, a time zone, a coefficient).
//!
//! Pipeline: [`Recording`] → `shifts::split` → [`shifts::Shift`] (runs of contiguous samples) →
//! `gait::shift_gait_spans` once per shift →
//! `movements::detect` per run → `exposure::measure` → `risk::assess`; `groups` aggregates many
//! shifts (tasks, teams, hours, trends, goals) and `advice` turns the evidence into words.
//! Result types are serde-serialisable and stable: the web UI and the upload read them.

pub mod advice;
pub mod exposure;
pub mod gait;
pub mod groups;
pub mod models;
pub mod movements;
pub mod nuisance;
pub mod risk;
pub mod shifts;
pub mod tasks;
pub mod work_restrictions;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::worker::WorkerTag;

/// Bumped whenever a change can alter any stored result; results carry the version they were
/// computed with, and older ones are re-analysed. 2: a twist is an ergonomic twist (a rotation
/// of 30° or more away from gait, `peak` in degrees), and a bend ends only below the standing
/// level (issue 13).
pub const ANALYSIS_VERSION: u32 = 2;

/// One sample as the wearable sends it (protocol.md §4): `[flex, lat, twist, height]` in 0.01° of
/// sagittal flexion (+ forward), 0.01° of lateral bend (+ right), 0.1 °/s of axial angular velocity,
/// and mm of height relative to calibration.
pub type Sample = [i16; 4];

/// Channel indices into a [`Sample`].
pub const FLEX: usize = 0;
pub const LAT: usize = 1;
pub const TWIST: usize = 2;
pub const HEIGHT: usize = 3;

/// A block of samples as stored: one worker, one rate, the wall time of its first sample (`None`:
/// unknown time, counted but never placed in the calendar).
#[derive(Debug, Clone, PartialEq)]
pub struct TimedBlock {
    pub worker: Option<WorkerTag>,
    pub wall_ms: Option<i64>,
    pub rate_hz: u16,
    pub samples: Vec<Sample>,
}

/// An ALERT record the wearable raised (protocol.md §4).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    pub worker: Option<WorkerTag>,
    pub wall_ms: Option<i64>,
    /// 1 bend, 2 twist, 3 prolonged bend, 4 overreach.
    pub kind: u8,
    /// 0.01° for kinds 1/3/4, 0.1 °/s for kind 2.
    pub peak: i16,
    pub duration_ms: u32,
    /// Haptic pulse → safe posture; `None`: never corrected.
    pub response_ms: Option<u32>,
    /// Whether the haptic pulse was delivered.
    pub haptic: bool,
}

/// Everything analysed for one wearable over some span, in time order: its sample blocks, its
/// alerts, and the wall times at which it was docked (a docking ends a shift).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recording {
    pub blocks: Vec<TimedBlock>,
    pub alerts: Vec<AlertRecord>,
    pub dockings_ms: Vec<i64>,
}

/// A stretch of samples with no gap, at one rate, all of one worker: the unit movements are
/// detected on. Sample `k` was taken at `start_ms + k * 1000 / rate_hz`.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub start_ms: i64,
    pub rate_hz: u16,
    pub samples: Vec<Sample>,
}

impl Run {
    /// Wall time of sample `k` (ms, rounded down).
    pub fn time_of(&self, k: usize) -> i64 {
        self.start_ms + (k as i64 * 1000) / i64::from(self.rate_hz.max(1))
    }

    /// Wall time just after the last sample.
    pub fn end_ms(&self) -> i64 {
        self.time_of(self.samples.len())
    }

    /// How many samples are taken before `wall_ms` (exact in integers: `time_of(k) < wall_ms` ⇔
    /// `k·1000 < (wall_ms − start_ms)·rate`), at most all of them.
    pub fn samples_before(&self, wall_ms: i64) -> usize {
        let span =
            (i128::from(wall_ms) - i128::from(self.start_ms)) * i128::from(self.rate_hz.max(1));
        let count = if span <= 0 {
            0
        } else {
            usize::try_from((span + 999) / 1000).unwrap_or(usize::MAX)
        };
        count.min(self.samples.len())
    }
}

/// One analysed shift: what the store keeps (with its version), the page and the upload read,
/// and `dockd analyze --json` prints (plus the worker tag, offline only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftReport {
    pub version: u32,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Site-local calendar day the shift started, `YYYY-MM-DD`.
    pub local_day: String,
    #[serde(flatten)]
    pub metrics: exposure::ShiftMetrics,
    pub tasks: tasks::TaskExposure,
    pub risk_level: risk::RiskLevel,
    /// Why, in words a supervisor reads.
    pub reasons: Vec<String>,
}

/// Everything the analysis is told by `[analysis]` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The site's IANA time zone: calendar days and hours of day are the site's.
    pub time_zone: String,
    /// A gap in wear longer than this (s) ends a shift.
    pub max_gap_s: u32,
    /// Group figures over fewer workers than this are never shown to non-admins.
    pub min_group_workers: u32,
    pub movements: movements::Thresholds,
    pub risk: risk::RiskRules,
    pub tasks: Vec<tasks::Task>,
    /// Teams by name, each a list of badge tags.
    pub teams: BTreeMap<String, Vec<String>>,
    /// The daily goal workers see on their page: stay below this many alerts a day.
    pub goal_alerts_per_day: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            time_zone: "UTC".to_owned(),
            max_gap_s: 1800,
            min_group_workers: 5,
            movements: movements::Thresholds::default(),
            risk: risk::RiskRules::default(),
            tasks: Vec::new(),
            teams: BTreeMap::new(),
            goal_alerts_per_day: 5,
        }
    }
}

impl Settings {
    /// The team of each badge listed in `teams` (a badge listed twice: its first team by name).
    pub fn teams_by_tag(&self) -> std::collections::HashMap<WorkerTag, String> {
        let mut teams = std::collections::HashMap::new();
        for (team, badges) in &self.teams {
            for tag in badges.iter().filter_map(|b| WorkerTag::from_ascii(b)) {
                teams.entry(tag).or_insert_with(|| team.clone());
            }
        }
        teams
    }

    pub fn shift_rules(&self) -> shifts::ShiftRules {
        shifts::ShiftRules {
            max_gap_s: self.max_gap_s,
            time_zone: self.time_zone.clone(),
        }
    }

    /// The small-group rule for `groups`.
    pub fn group_rules(&self) -> groups::GroupRules {
        groups::GroupRules {
            min_group: self.min_group_workers as usize,
        }
    }

    /// A short fingerprint of everything that changes results: stored with each report, so a
    /// change of thresholds, tasks or rules is noticed and the stored data re-analysed.
    pub fn fingerprint(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        format!(
            "v{ANALYSIS_VERSION}-{:08x}",
            crc32c::crc32c(text.as_bytes())
        )
    }

    /// Checks what the config loader cannot check field by field.
    pub fn validate(&self) -> Result<(), String> {
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return Err(format!(
                "analysis.time_zone = \"{}\" is not a time zone: use an IANA name such as \"Europe/Berlin\"",
                self.time_zone
            ));
        }
        if self.max_gap_s < 60 {
            return Err("analysis.max_gap_s must be at least 60".to_owned());
        }
        if self.min_group_workers == 0 {
            return Err("analysis.min_group_workers must be at least 1".to_owned());
        }
        if self.risk.min_baseline_workers < self.min_group_workers as usize {
            return Err(format!(
                "analysis.risk.min_baseline_workers ({}) must be at least analysis.min_group_workers ({}): a site median over fewer workers would describe a group too small to show",
                self.risk.min_baseline_workers, self.min_group_workers
            ));
        }
        self.movements
            .validate()
            .map_err(|e| format!("analysis.movements: {e}"))?;
        self.risk
            .check()
            .map_err(|e| format!("analysis.risk: {e}"))?;
        let m = &self.movements;
        if !(m.bend_deg > 0.0 && m.bend_deg < m.deep_bend_deg && m.deep_bend_deg < 180.0) {
            return Err(format!(
                "analysis.movements: need 0 < bend_deg ({}) < deep_bend_deg ({}) < 180",
                m.bend_deg, m.deep_bend_deg
            ));
        }
        tasks::validate(&self.tasks).map_err(|e| format!("analysis.tasks: {e}"))?;
        for (team, badges) in &self.teams {
            // The key and the position, never the text: it may be someone's badge tag.
            if let Some(bad) = badges
                .iter()
                .position(|b| WorkerTag::from_ascii(b).is_none())
            {
                return Err(format!(
                    "analysis.teams.{team}[{bad}] is not a badge tag (1 to 16 ASCII characters)"
                ));
            }
        }
        Ok(())
    }
}

/// A shift measured but not yet judged: the judgement needs the site's baseline, which needs
/// every shift measured first.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub worker: Option<WorkerTag>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub local_day: String,
    pub metrics: exposure::ShiftMetrics,
    pub tasks: tasks::TaskExposure,
}

/// Splits a recording into shifts and measures each: movements, exposure, tasks and models.
pub fn measure(
    recording: &Recording,
    settings: &Settings,
) -> Result<(Vec<Measured>, shifts::UnknownTime), shifts::ShiftError> {
    let rules = settings.shift_rules();
    let split = shifts::split(recording, &rules)?;
    let mut measured = Vec::with_capacity(split.shifts.len());
    for shift in &split.shifts {
        let gait = gait::shift_gait_spans(&shift.runs);
        let mut found = Vec::new();
        for run in &shift.runs {
            found.extend(movements::detect_beside(run, &settings.movements, &gait));
        }
        let mut metrics = exposure::measure(shift, &found, &gait, &rules);
        let tasks = tasks::assign(shift, &found, &settings.tasks, &rules);
        apply_heavy_lifts(&mut metrics, &tasks, &settings.tasks);
        measured.push(Measured {
            worker: shift.worker,
            start_ms: shift.start_ms,
            end_ms: shift.end_ms,
            local_day: shift.local_day.clone(),
            metrics,
            tasks,
        });
    }
    Ok((measured, split.unknown_time))
}

/// Hoogendoorn's lifting threshold needs loads, which only configured tasks give: lifts in tasks
/// of 25 kg or more are heavy; with no task load at all the figure stays unknown.
fn apply_heavy_lifts(
    metrics: &mut exposure::ShiftMetrics,
    exposure: &tasks::TaskExposure,
    configured: &[tasks::Task],
) {
    let load_of = |name: &str| {
        configured
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.load_kg)
    };
    if !exposure.tasks.iter().any(|t| load_of(&t.task).is_some()) {
        return;
    }
    let heavy: u32 = exposure
        .tasks
        .iter()
        .filter(|t| load_of(&t.task).is_some_and(|kg| kg >= 25.0))
        .map(|t| t.lifts)
        .sum();
    metrics.hoogendoorn.heavy_lifts = Some(heavy);
    metrics.hoogendoorn.heavy_lift_flag = Some(models::hoogendoorn::heavy_lift_flag(heavy));
}

/// Judges a measured shift against the site's baseline.
pub fn report(measured: &Measured, site: &risk::SiteBaseline, settings: &Settings) -> ShiftReport {
    let assessment = risk::assess_shift(&measured.metrics, &measured.tasks, site, &settings.risk);
    ShiftReport {
        version: ANALYSIS_VERSION,
        start_ms: measured.start_ms,
        end_ms: measured.end_ms,
        local_day: measured.local_day.clone(),
        metrics: measured.metrics.clone(),
        tasks: measured.tasks.clone(),
        risk_level: assessment.level,
        reasons: assessment.reasons,
    }
}

/// Every shift of a recording with its worker, and what could not be placed in time.
pub type Analysed = (Vec<(Option<WorkerTag>, ShiftReport)>, shifts::UnknownTime);

/// Measures and judges a whole recording on its own: the site baseline is taken from the
/// recording's own shifts (`dockd analyze`, tests). The daemon uses [`measure`] and [`report`]
/// with the baseline of everything stored.
pub fn analyze(recording: &Recording, settings: &Settings) -> Result<Analysed, shifts::ShiftError> {
    let (measured, unknown) = measure(recording, settings)?;
    let provisional: Vec<ShiftReport> = measured
        .iter()
        .map(|m| report(m, &risk::SiteBaseline::default(), settings))
        .collect();
    let site = risk::baseline(&provisional.iter().collect::<Vec<_>>());
    let reports = measured
        .iter()
        .map(|m| (m.worker, report(m, &site, settings)))
        .collect();
    Ok((reports, unknown))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::{MINUTE_MS, ShiftSpec, simulate};

    const START: i64 = 1_790_000_000_000;

    /// Two simulated hours at 25 Hz as blocks of `block_s` seconds, the blocks after `shift_at`
    /// re-anchored `jitter_ms` later (as a flat-battery wearable anchored from INFO may be).
    fn recording(block_s: usize, shift_at: usize, jitter_ms: i64) -> Recording {
        let shift = ShiftSpec::new(START, 2 * 60 * MINUTE_MS);
        let simulated = simulate(shift, 42);
        let samples: Vec<Sample> = simulated
            .samples
            .iter()
            .map(|s| [s.flex, s.lat, s.twist, s.height])
            .collect();
        let per_block = 25 * block_s;
        let blocks = samples
            .chunks(per_block)
            .enumerate()
            .map(|(i, chunk)| {
                let at = START + (i * per_block) as i64 * 40;
                TimedBlock {
                    worker: WorkerTag::from_ascii("B-7"),
                    wall_ms: Some(at + if i >= shift_at { jitter_ms } else { 0 }),
                    rate_hz: 25,
                    samples: chunk.to_vec(),
                }
            })
            .collect();
        Recording {
            blocks,
            ..Recording::default()
        }
    }

    #[test]
    fn a_shift_gives_the_same_report_whether_it_arrives_in_one_block_or_hundreds() {
        let settings = Settings::default();
        let (whole, _) = analyze(&recording(7200, usize::MAX, 0), &settings).unwrap();
        let (split, _) = analyze(&recording(7, usize::MAX, 0), &settings).unwrap();
        assert_eq!(whole.len(), 1);
        assert!(whole[0].1.metrics.counts.bends > 0);
        assert_eq!(whole, split);
    }

    #[test]
    fn a_flat_battery_re_anchoring_of_a_few_milliseconds_changes_no_count_or_level() {
        let settings = Settings::default();
        let (plain, _) = analyze(&recording(60, usize::MAX, 0), &settings).unwrap();
        let (jittered, _) = analyze(&recording(60, 30, 3), &settings).unwrap();
        assert_eq!(plain.len(), 1);
        assert_eq!(jittered.len(), 1);
        let (a, b) = (&plain[0].1, &jittered[0].1);
        assert_eq!(a.metrics.counts, b.metrics.counts);
        assert_eq!(a.risk_level, b.risk_level);
        assert!((a.metrics.wear_s - b.metrics.wear_s).abs() < 0.01);
    }

    #[test]
    fn settings_are_checked_and_errors_name_the_key() {
        assert_eq!(Settings::default().validate(), Ok(()));
        let zone = Settings {
            time_zone: "Mars/Olympus".into(),
            ..Settings::default()
        };
        assert!(zone.validate().unwrap_err().contains("analysis.time_zone"));
        let mut angles = Settings::default();
        angles.movements.bend_deg = 70.0;
        assert!(
            angles
                .validate()
                .unwrap_err()
                .contains("analysis.movements")
        );
        let groups = Settings {
            min_group_workers: 10,
            ..Settings::default()
        };
        assert!(
            groups
                .validate()
                .unwrap_err()
                .contains("min_baseline_workers")
        );
    }

    #[test]
    fn the_fingerprint_changes_with_any_setting_that_changes_results() {
        let base = Settings::default();
        let mut other = Settings::default();
        other.movements.deep_bend_deg = 65.0;
        assert_ne!(base.fingerprint(), other.fingerprint());
        assert_eq!(base.fingerprint(), Settings::default().fingerprint());
    }
}
