//! Nuisance alerts: what the wearable's own alerts say about their thresholds. Per shift it owns
//! the alert figures (by kind, fired during gait, never corrected) and the site-data inputs of the
//! threshold suggestions; over a window it owns their sums, the suggestion rules and the silent
//! baseline's decision. Pure: it must never do I/O or read a clock, never suggest a threshold
//! outside the protocol's valid range nor one giving less protection than its documented floor,
//! and never suggest anything from too little data.
//!
//! # Definitions
//!
//! - **During gait**: an alert whose wall time lies in a gait bout of its shift
//!   (`gait::gait_spans` of each run, `gait::in_gait`); alerts of unknown time are never in gait.
//! - **Never corrected**: `response_ms` is `None` (the firmware's `0xFFFFFFFF`).
//! - **Gait twist**: |axial angular velocity| of every sample taken during a gait bout, kept as a
//!   histogram of [`GAIT_TWIST_BIN`] (5 °/s) bins so that shifts add up exactly; its percentiles
//!   are the upper edge of the bin holding the nearest rank (an over-estimate by < 5 °/s: a
//!   threshold set from it sits above the percentile, never below).
//! - **Brief corrected bend**: a bend alert (kind 1) corrected within [`QUICK_RESPONSE_MS`] of the
//!   pulse — the worker was standing up anyway; its `duration_ms` (bend start → safe posture) is
//!   kept in a histogram of [`BEND_BIN_MS`] bins.
//!
//! # Suggestion rules (design choices, each bounded)
//!
//! - **twist_alert**: just above the gait p99.9 ([`GAIT_PER_MILLE`]) — its upper bin edge plus
//!   [`TWIST_MARGIN`] (5 °/s), rounded up to a whole 5 °/s — so 999 in 1000 gait samples (all but
//!   about one every 40 s of walking at 25 Hz) stay under it and strides stop buzzing. The p99
//!   was tried first: on the emulator's gait (peaks and p95 as recorded on real people) it left
//!   three times as many twist alerts (249 against 84 in two hours, README), since a stride's
//!   peak lasts only a sample or two. Never below the current threshold (it is about fewer alerts, not more) and never
//!   above [`TWIST_CEILING`] (150 °/s, the floor of protection: a fast deliberate trunk rotation
//!   still buzzes; jogging strides above it are left to the wearable's silent button). Needs
//!   [`MIN_GAIT_S`] (10 minutes) of gait in the window.
//! - **bend_hold_ms**: the 75th percentile of the brief corrected bends' durations, rounded up to
//!   a whole 250 ms, so three in four of them end before the pulse — only when such bends are at
//!   least half of the bend alerts (else the pulse is doing its work). Never below the current
//!   hold, never above [`BEND_HOLD_CEILING_MS`] (3 s, the floor of protection: a bend past the
//!   alert angle held 3 s still pulses; longer holds are the prolonged-bend alert's). Needs
//!   [`MIN_BRIEF_BENDS`] brief corrected bends.
//! - **bend_alert**, **haptics**, **rate_hz**: kept. No data the dock holds tells a nuisance bend
//!   angle from a risky one.
//!
//! # Silent baseline
//!
//! With `N > 0` days, a worker's baseline starts at their **first wear** (the earliest stored
//! sample of theirs on this dock) and lasts `N × 24 h`: while in it (or before any wear), their
//! wearable gets the site thresholds with haptics **off** (alerts are still recorded); after it,
//! the site thresholds with the **site's** suggestion at that time applied (one worker's first
//! days are rarely enough data; thresholds are a site policy) and haptics as the site sets them
//! (on by default).

use serde::{Deserialize, Serialize};

use super::exposure::AlertStats;
use super::gait::{GaitSpan, in_gait, sample_ranges};
use super::{AlertRecord, Run, TWIST};
use crate::link::WearableConfig;

/// Alert kinds (protocol.md §4 ALERT).
pub const KIND_BEND: u8 = 1;
pub const KIND_TWIST: u8 = 2;
pub const KIND_PROLONGED_BEND: u8 = 3;
pub const KIND_OVERREACH: u8 = 4;

/// Width of a gait-twist histogram bin, 0.1 °/s (5 °/s).
pub const GAIT_TWIST_BIN: u32 = 50;
/// Gait-twist bins: 0–300 °/s, the last one open-ended.
const GAIT_TWIST_BINS: usize = 61;
/// Width of a brief-bend duration bin, ms.
pub const BEND_BIN_MS: u32 = 250;
/// Brief-bend bins: 0–10 s, the last one open-ended.
const BEND_BINS: usize = 41;
/// A bend corrected within this long after its pulse counts as brief (ms).
pub const QUICK_RESPONSE_MS: u32 = 1000;

/// The share of walking samples the twist alert is set above, ‰.
pub const GAIT_PER_MILLE: u64 = 999;
/// Margin above the gait p99.9 for the twist alert, 0.1 °/s (5 °/s).
pub const TWIST_MARGIN: u16 = 50;
/// The highest twist alert ever suggested, 0.1 °/s (150 °/s).
pub const TWIST_CEILING: u16 = 1500;
/// Gait seconds needed before a twist alert is suggested (10 minutes).
pub const MIN_GAIT_S: f64 = 600.0;
/// The longest bend hold ever suggested, ms.
pub const BEND_HOLD_CEILING_MS: u16 = 3000;
/// Brief corrected bends needed before a bend hold is suggested.
pub const MIN_BRIEF_BENDS: u64 = 20;
/// The recent window figures and suggestions are taken over, days.
pub const WINDOW_DAYS: i64 = 28;

const DAY_MS: i64 = 86_400_000;

/// Alerts by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertKinds {
    pub bend: u32,
    pub twist: u32,
    pub prolonged_bend: u32,
    pub overreach: u32,
}

impl AlertKinds {
    fn add(&mut self, kind: u8) {
        match kind {
            KIND_BEND => self.bend += 1,
            KIND_TWIST => self.twist += 1,
            KIND_PROLONGED_BEND => self.prolonged_bend += 1,
            KIND_OVERREACH => self.overreach += 1,
            _ => {}
        }
    }

    fn merge(&mut self, other: &AlertKinds) {
        self.bend += other.bend;
        self.twist += other.twist;
        self.prolonged_bend += other.prolonged_bend;
        self.overreach += other.overreach;
    }
}

/// Counts of values in bins of `width`; the last bin holds everything above. Stored without
/// trailing empty bins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram(pub Vec<u64>);

impl Histogram {
    fn add(&mut self, value: u32, width: u32, bins: usize) {
        let at = usize::try_from(value / width.max(1))
            .unwrap_or(usize::MAX)
            .min(bins - 1);
        if self.0.len() <= at {
            self.0.resize(at + 1, 0);
        }
        self.0[at] += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine += theirs;
        }
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The upper edge of the bin holding the nearest-rank value at `per_mille` ‰; `None` when
    /// empty.
    pub fn percentile_upper(&self, per_mille: u64, width: u32) -> Option<u32> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = (per_mille * total).div_ceil(1000).max(1);
        let mut seen = 0;
        for (i, count) in self.0.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return u32::try_from(i + 1).ok().map(|bins| bins * width);
            }
        }
        None
    }
}

/// One shift's nuisance figures, kept in its report (`alerts.nuisance`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShiftNuisance {
    pub by_kind: AlertKinds,
    /// Alerts that fired during a gait bout.
    pub during_gait: u32,
    /// Seconds of wear in gait bouts.
    pub gait_s: f64,
    /// |axial velocity| during gait, bins of [`GAIT_TWIST_BIN`].
    pub gait_twist: Histogram,
    /// Durations of brief corrected bends, bins of [`BEND_BIN_MS`].
    pub brief_bends_ms: Histogram,
}

/// A shift's nuisance figures from its runs, their gait bouts (all runs', in time order) and its
/// alerts.
pub fn measure(runs: &[Run], gait: &[GaitSpan], alerts: &[AlertRecord]) -> ShiftNuisance {
    let mut out = ShiftNuisance::default();
    for alert in alerts {
        out.by_kind.add(alert.kind);
        if alert.wall_ms.is_some_and(|t| in_gait(gait, t)) {
            out.during_gait += 1;
        }
        if alert.kind == KIND_BEND && alert.response_ms.is_some_and(|ms| ms <= QUICK_RESPONSE_MS) {
            out.brief_bends_ms
                .add(alert.duration_ms, BEND_BIN_MS, BEND_BINS);
        }
    }
    let mut gait_samples_per_rate: Vec<(u16, u64)> = Vec::new();
    for run in runs {
        let mut count = 0u64;
        for walked in sample_ranges(run, gait) {
            count += walked.len() as u64;
            for sample in &run.samples[walked] {
                let velocity = u32::from(sample[TWIST].unsigned_abs());
                out.gait_twist
                    .add(velocity, GAIT_TWIST_BIN, GAIT_TWIST_BINS);
            }
        }
        gait_samples_per_rate.push((run.rate_hz.max(1), count));
    }
    out.gait_s = gait_samples_per_rate
        .iter()
        .map(|&(rate, n)| n as f64 / f64::from(rate))
        .sum();
    out
}

/// Nuisance figures summed over many shifts (one wearable's or the site's, over the window).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NuisanceTotals {
    pub shifts: u32,
    pub wear_s: f64,
    pub alerts: u64,
    pub never_corrected: u64,
    pub by_kind: AlertKinds,
    pub during_gait: u64,
    pub gait_s: f64,
    pub gait_twist: Histogram,
    pub brief_bends_ms: Histogram,
}

impl NuisanceTotals {
    /// Adds one shift: its wear, its alert count and never-corrected count, and its figures.
    pub fn add(&mut self, wear_s: f64, alerts: u32, never_corrected: u32, shift: &ShiftNuisance) {
        self.shifts += 1;
        self.wear_s += wear_s;
        self.alerts += u64::from(alerts);
        self.never_corrected += u64::from(never_corrected);
        self.by_kind.merge(&shift.by_kind);
        self.during_gait += u64::from(shift.during_gait);
        self.gait_s += shift.gait_s;
        self.gait_twist.merge(&shift.gait_twist);
        self.brief_bends_ms.merge(&shift.brief_bends_ms);
    }

    /// Adds one shift from its wear and its alert statistics.
    pub fn add_shift(&mut self, wear_s: f64, alerts: &AlertStats) {
        self.add(wear_s, alerts.count, alerts.uncorrected, &alerts.nuisance);
    }

    /// Alerts per hour of wear; `None` without wear.
    pub fn alerts_per_hour(&self) -> Option<f64> {
        (self.wear_s > 0.0).then(|| self.alerts as f64 / (self.wear_s / 3600.0))
    }

    /// Share of alerts that fired during gait; `None` without alerts.
    pub fn gait_share(&self) -> Option<f64> {
        (self.alerts > 0).then(|| self.during_gait as f64 / self.alerts as f64)
    }

    /// Share of alerts never corrected; `None` without alerts.
    pub fn never_corrected_share(&self) -> Option<f64> {
        (self.alerts > 0).then(|| self.never_corrected as f64 / self.alerts as f64)
    }

    /// The 99.9th percentile of |axial velocity| during gait (upper bin edge), 0.1 °/s.
    pub fn gait_twist_p999(&self) -> Option<u32> {
        self.gait_twist
            .percentile_upper(GAIT_PER_MILLE, GAIT_TWIST_BIN)
    }
}

/// One threshold's suggestion: `None` when there is not enough data; the reason in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggested {
    pub value: Option<u32>,
    pub reason: String,
}

/// The suggested thresholds over some totals, each with its reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// 0.1 °/s.
    pub twist_alert: Suggested,
    pub bend_hold_ms: Suggested,
}

impl Suggestion {
    /// `current` with every suggested value applied (the rest kept); `None` when nothing could
    /// be suggested.
    pub fn applied_to(&self, current: WearableConfig) -> Option<WearableConfig> {
        if self.twist_alert.value.is_none() && self.bend_hold_ms.value.is_none() {
            return None;
        }
        let mut config = current;
        if let Some(twist) = self.twist_alert.value.and_then(|v| u16::try_from(v).ok()) {
            config.twist_alert = twist;
        }
        if let Some(hold) = self.bend_hold_ms.value.and_then(|v| u16::try_from(v).ok()) {
            config.bend_hold_ms = hold;
        }
        Some(config)
    }
}

/// The suggestion rules (see the module documentation) over `totals`, from `current`.
pub fn suggest(totals: &NuisanceTotals, current: &WearableConfig) -> Suggestion {
    Suggestion {
        twist_alert: suggest_twist(totals, current.twist_alert),
        bend_hold_ms: suggest_bend_hold(totals, current.bend_hold_ms),
    }
}

fn dps(tenths: u32) -> String {
    format!("{} °/s", f64::from(tenths) / 10.0)
}

fn suggest_twist(totals: &NuisanceTotals, current: u16) -> Suggested {
    if totals.gait_s < MIN_GAIT_S {
        return Suggested {
            value: None,
            reason: format!(
                "Not enough walking measured yet ({:.0} of {:.0} minutes).",
                totals.gait_s / 60.0,
                MIN_GAIT_S / 60.0
            ),
        };
    }
    let Some(p999) = totals.gait_twist_p999() else {
        return Suggested {
            value: None,
            reason: "No walking measured yet.".to_owned(),
        };
    };
    let step = GAIT_TWIST_BIN;
    let wanted = (p999 + u32::from(TWIST_MARGIN)).div_ceil(step) * step;
    let current = u32::from(current);
    let ceiling = u32::from(TWIST_CEILING);
    let (value, reason) = if wanted <= current {
        (
            current,
            format!(
                "Walking here stays under {} (999 in 1000 samples); the current {} already lets strides pass.",
                dps(p999),
                dps(current)
            ),
        )
    } else if wanted > ceiling {
        (
            ceiling.max(current),
            format!(
                "Walking here reaches {} (999 in 1000 samples); capped at {} so that a fast trunk twist still buzzes.",
                dps(p999),
                dps(ceiling)
            ),
        )
    } else {
        (
            wanted,
            format!(
                "Walking here stays under {} (999 in 1000 samples): {} lets strides pass without a buzz.",
                dps(p999),
                dps(wanted)
            ),
        )
    };
    Suggested {
        value: Some(value),
        reason,
    }
}

fn suggest_bend_hold(totals: &NuisanceTotals, current: u16) -> Suggested {
    let brief = totals.brief_bends_ms.total();
    if brief < MIN_BRIEF_BENDS {
        return Suggested {
            value: None,
            reason: format!(
                "Not enough quickly corrected bend alerts yet ({brief} of {MIN_BRIEF_BENDS})."
            ),
        };
    }
    let current = u32::from(current);
    let ceiling = u32::from(BEND_HOLD_CEILING_MS);
    if brief * 2 < u64::from(totals.by_kind.bend) {
        return Suggested {
            value: Some(current),
            reason: format!(
                "Most bend alerts are held past the pulse: keep the hold at {current} ms."
            ),
        };
    }
    let p75 = totals
        .brief_bends_ms
        .percentile_upper(750, BEND_BIN_MS)
        .unwrap_or(current);
    let wanted = p75.div_ceil(BEND_BIN_MS) * BEND_BIN_MS;
    let (value, reason) = if wanted <= current {
        (
            current,
            format!("Brief bends already end before the pulse: keep the hold at {current} ms."),
        )
    } else if wanted > ceiling {
        (
            ceiling.max(current),
            format!(
                "Most bend alerts are brief and corrected at once; capped at {ceiling} ms so that a held bend still pulses."
            ),
        )
    } else {
        (
            wanted,
            format!(
                "Most bend alerts are brief and corrected at once: a {wanted} ms hold lets 3 in 4 of them end before the pulse."
            ),
        )
    };
    Suggested {
        value: Some(value),
        reason,
    }
}

/// Where a worker stands in the silent baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Baseline {
    /// No baseline (0 days), or no roster worker.
    Off,
    /// Haptics off until `until_ms` (`None`: not worn yet; it starts at the first wear).
    Silent { until_ms: Option<i64> },
    /// The baseline ended at `ended_ms`.
    Over { ended_ms: i64 },
}

/// The baseline of a worker first worn at `first_wear_ms`, with `days` of baseline, at `now_ms`:
/// silent on days `0..days` after the first wear, over from day `days` on.
pub fn baseline(days: u32, first_wear_ms: Option<i64>, now_ms: i64) -> Baseline {
    if days == 0 {
        return Baseline::Off;
    }
    let Some(first) = first_wear_ms else {
        return Baseline::Silent { until_ms: None };
    };
    let until = first.saturating_add(i64::from(days).saturating_mul(DAY_MS));
    if now_ms < until {
        Baseline::Silent {
            until_ms: Some(until),
        }
    } else {
        Baseline::Over { ended_ms: until }
    }
}

/// The thresholds a wearable is ordered to run: the site's (`None`: leave the wearable's own)
/// unless its worker's baseline says otherwise — silent: the site's (or the firmware's defaults)
/// with haptics off; over: with the site's suggestion applied.
pub fn ordered_config(
    site: Option<WearableConfig>,
    baseline: Baseline,
    suggestion: impl FnOnce(WearableConfig) -> Option<WearableConfig>,
) -> Option<WearableConfig> {
    match baseline {
        Baseline::Off => site,
        Baseline::Silent { .. } => Some(WearableConfig {
            haptics: false,
            ..site.unwrap_or_default()
        }),
        Baseline::Over { .. } => {
            let base = site.unwrap_or_default();
            Some(suggestion(base).unwrap_or(base))
        }
    }
}

/// The start of the window ending at `now_ms`.
pub fn window_start(now_ms: i64) -> i64 {
    now_ms.saturating_sub(WINDOW_DAYS * DAY_MS)
}

#[cfg(test)]
mod tests;
