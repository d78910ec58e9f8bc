//! Risk levels per shift and per worker-week from documented rules over the metrics, with reasons in
//! words. It owns the rules and the site baseline; it must never compute a metric itself, read a
//! clock, know a worker's name, or give medical advice.
//!
//! # The rules (`[analysis.risk]`, [`RiskRules`])
//!
//! A shift is **high** when any high rule fires, else **medium** when any medium rule fires, else
//! **low**. Every rule is monotone: more movements, a larger time fraction, a larger model output
//! never lower the level (property-tested below). The level depends only on the shift and the rules,
//! never on the site baseline: the same shift gets the same level at any site; the site median only
//! explains ("3.0× the site median").
//!
//! The wearable vendors publish no thresholds (risk-models.md §5), so these are **dockd's defaults,
//! configurable per site**. Each default is either taken from a source in risk-models.md (cited on
//! the field) or stated as a site-policy default with its reasoning. Rates are per hour of wear.
//!
//! Not judged: the Lumbar Motion Monitor factors (its coefficients are unconfirmed,
//! risk-models.md §1) and the wearable's own alerts (they react to the bends already counted;
//! goals and advice use them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ShiftReport;
use super::exposure::{Counts, HourMetrics, ShiftMetrics};
use super::tasks::TaskExposure;

/// Low / medium / high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    /// The level in words, lower case.
    pub fn word(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// One kind of counted movement (a field of [`Counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountKind {
    Bends,
    DeepBends,
    Twists,
    LateralBends,
    Reaches,
    Lifts,
    StoopLifts,
    SquatLifts,
    StaticPostures,
}

impl CountKind {
    /// Every kind, in [`Counts`] field order.
    pub const ALL: [CountKind; 9] = [
        Self::Bends,
        Self::DeepBends,
        Self::Twists,
        Self::LateralBends,
        Self::Reaches,
        Self::Lifts,
        Self::StoopLifts,
        Self::SquatLifts,
        Self::StaticPostures,
    ];

    /// This kind's count in `counts`.
    pub fn of(self, counts: &Counts) -> u32 {
        match self {
            Self::Bends => counts.bends,
            Self::DeepBends => counts.deep_bends,
            Self::Twists => counts.twists,
            Self::LateralBends => counts.lateral_bends,
            Self::Reaches => counts.reaches,
            Self::Lifts => counts.lifts,
            Self::StoopLifts => counts.stoop_lifts,
            Self::SquatLifts => counts.squat_lifts,
            Self::StaticPostures => counts.static_postures,
        }
    }

    /// The plural noun a supervisor reads ("deep bends").
    pub fn plural(self) -> &'static str {
        match self {
            Self::Bends => "bends",
            Self::DeepBends => "deep bends",
            Self::Twists => "trunk twists",
            Self::LateralBends => "sideways bends",
            Self::Reaches => "overhead reaches",
            Self::Lifts => "lifts",
            Self::StoopLifts => "stoop lifts",
            Self::SquatLifts => "squat lifts",
            Self::StaticPostures => "static postures",
        }
    }
}

/// A rate of each movement kind, per hour of wear.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
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

impl Rates {
    /// The rate of `kind`.
    pub fn get(&self, kind: CountKind) -> f64 {
        match kind {
            CountKind::Bends => self.bends,
            CountKind::DeepBends => self.deep_bends,
            CountKind::Twists => self.twists,
            CountKind::LateralBends => self.lateral_bends,
            CountKind::Reaches => self.reaches,
            CountKind::Lifts => self.lifts,
            CountKind::StoopLifts => self.stoop_lifts,
            CountKind::SquatLifts => self.squat_lifts,
            CountKind::StaticPostures => self.static_postures,
        }
    }

    fn slot(&mut self, kind: CountKind) -> &mut f64 {
        match kind {
            CountKind::Bends => &mut self.bends,
            CountKind::DeepBends => &mut self.deep_bends,
            CountKind::Twists => &mut self.twists,
            CountKind::LateralBends => &mut self.lateral_bends,
            CountKind::Reaches => &mut self.reaches,
            CountKind::Lifts => &mut self.lifts,
            CountKind::StoopLifts => &mut self.stoop_lifts,
            CountKind::SquatLifts => &mut self.squat_lifts,
            CountKind::StaticPostures => &mut self.static_postures,
        }
    }

    /// Sets the rate of `kind`.
    pub fn set(&mut self, kind: CountKind, value: f64) {
        *self.slot(kind) = value;
    }

    /// `counts[kind] / hours` for every kind; all zero when `hours` is not positive.
    pub fn per_hour(count_of: impl Fn(CountKind) -> f64, hours: f64) -> Rates {
        let mut rates = Rates::default();
        if hours > 0.0 {
            for kind in CountKind::ALL {
                rates.set(kind, count_of(kind) / hours);
            }
        }
        rates
    }
}

/// Per-hour limits of one movement kind; `None` turns that level's rule off. Rates at or above a
/// limit fire it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    pub medium: Option<f64>,
    pub high: Option<f64>,
}

impl RateLimits {
    const fn new(medium: Option<f64>, high: Option<f64>) -> Self {
        Self { medium, high }
    }
}

/// The rules that turn metrics into a level, `[analysis.risk]` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskRules {
    /// Rates are counts per hour of wear, with at least this many hours in the denominator, so
    /// 5 deep bends in a 10-minute shift read as 5 per hour, not 30. Site policy: 1 h.
    pub min_rate_hours: f64,
    /// Bends (trunk flexion ≥ the bend angle, 45° by default). Default medium 120/h, high 600/h:
    /// the EN 1005-4 frequency classes for trunk-flexion movements beyond 20° (acceptable below
    /// 2/min, conditional 2 to < 10/min, not acceptable ≥ 10/min) as implemented by ErgoCapture
    /// (risk-models.md §2, [S]; the standard's own table is [U]). dockd counts only bends ≥ 45°, a
    /// subset of the standard's movements, so these limits can only err on the lenient side.
    pub bends: RateLimits,
    /// Deep bends (peak ≥ 60°, ISO 11226's "not acceptable" zone). Site policy: medium 20/h (one
    /// every 3 min), high 60/h (one a minute: at ~3 s each, about 5 % of the hour beyond 60°, the
    /// Hoogendoorn 2000 exposure level, risk-models.md §2; the time itself is judged by
    /// `hoogendoorn_flexion_high`).
    pub deep_bends: RateLimits,
    /// Trunk twists (rotations ≥ `twist_deg`, 30°, away from gait: `movements`). Default medium
    /// 30/h, high 120/h: EN 1005-4's table for twisting ≥ 10° (≥ 2/min not acceptable,
    /// risk-models.md §2 [C via DELMIA]); counting only twists of 30° or more keeps the limit
    /// on the safe side of the standard's 10°. Medium (one every 2 min) is site policy.
    pub twists: RateLimits,
    /// Sideways bends. Default medium 30/h, high 120/h: EN 1005-4, sideways bending ≥ 10° 2 or
    /// more times a minute is not acceptable (risk-models.md §2 [C via DELMIA]); holds while the
    /// lateral-bend detector's angle is ≥ 10°. Medium is site policy.
    pub lateral_bends: RateLimits,
    /// Overhead reaches. Site policy: medium 30/h, no high rule (no source found).
    pub reaches: RateLimits,
    /// Lifts bending the back rather than the knees, the "high-risk action" Kinetic's wearable
    /// targets (risk-models.md §5). No published threshold [U]. Site policy: medium 20/h, no high.
    pub stoop_lifts: RateLimits,
    /// Static postures (flexion held in a non-neutral zone). Site policy: medium 6/h (one every
    /// 10 min); the ISO 11226 time limit itself is judged by `not_acceptable_*_fraction`.
    pub static_postures: RateLimits,
    /// High when the shift's Hoogendoorn flexion flag is set: flexion ≥ 60° for > 5 % of working
    /// time, RR 1.5 in a 3-year prospective cohort (Hoogendoorn et al. 2000, risk-models.md §2):
    /// the best-sourced exposure threshold a waist wearable measures directly.
    pub hoogendoorn_flexion_high: bool,
    /// Medium from this fraction of wear time at ≥ 60° flexion. Site policy: 0.025, half of
    /// Hoogendoorn's 5 %, so a shift approaching the threshold is seen before it crosses.
    pub flexion_60_medium_fraction: f64,
    /// High when more than 15 lifts of ≥ 25 kg were made (Hoogendoorn 2000, RR 1.6); needs a
    /// configured task load.
    pub hoogendoorn_heavy_lifts_high: bool,
    /// Medium / high from these fractions of wear time in ISO 11226's "not acceptable" verdict
    /// (beyond 60°, backward, or 20–60° held longer than the holding-time limit). Site policy:
    /// 0.05 and 0.10, the Hoogendoorn 5 % and twice it, since "not acceptable" time includes the
    /// time beyond 60° Hoogendoorn counts.
    pub not_acceptable_medium_fraction: f64,
    pub not_acceptable_high_fraction: f64,
    /// LiFFT probability of a high-risk job: medium from 0.25 (inclusive), high above 0.5, the
    /// tool's moderate and high bands (Gallagher et al. 2017, risk-models.md §3.2; the text leaves
    /// exactly 25 % and 50 % unassigned: dockd puts both in medium).
    pub lifft_medium_probability: f64,
    pub lifft_high_probability: f64,
    /// Medium when a task's peak load moment exceeds this: "we advise caution for peak moments
    /// greater than 100 Nm", beyond LiFFT's validated range (risk-models.md §3.2).
    pub lifft_caution_moment_nm: f64,
    /// Revised NIOSH lifting index: medium above 1 ("increased risk for some workers"), high from
    /// 3 ("highly hazardous" in common summaries, risk-models.md §4).
    pub niosh_medium_index: f64,
    pub niosh_high_index: f64,
    /// A worker-week with at least this many medium (or high) shifts is high: repeated exposure
    /// over most of a working week; LiFFT's premise is that damage accumulates (risk-models.md
    /// §3). Site policy: 3, a majority of a 5-shift week.
    pub week_medium_shifts_for_high: usize,
    /// A reason compares with the site median only when the baseline has at least this many
    /// shifts. Site policy: 20 (four weeks of one worker, or a week of four).
    pub min_baseline_shifts: usize,
    /// … and, when the baseline knows its workers, at least this many (a median over fewer is a
    /// small-group figure; `groups` uses 5 by default).
    pub min_baseline_workers: usize,
    /// Advice calls out a rate from this multiple of the site median. Site policy: 1.5.
    pub site_multiple_of_note: f64,
}

impl Default for RiskRules {
    fn default() -> Self {
        Self {
            min_rate_hours: 1.0,
            bends: RateLimits::new(Some(120.0), Some(600.0)),
            deep_bends: RateLimits::new(Some(20.0), Some(60.0)),
            twists: RateLimits::new(Some(30.0), Some(120.0)),
            lateral_bends: RateLimits::new(Some(30.0), Some(120.0)),
            reaches: RateLimits::new(Some(30.0), None),
            stoop_lifts: RateLimits::new(Some(20.0), None),
            static_postures: RateLimits::new(Some(6.0), None),
            hoogendoorn_flexion_high: true,
            flexion_60_medium_fraction: 0.025,
            hoogendoorn_heavy_lifts_high: true,
            not_acceptable_medium_fraction: 0.05,
            not_acceptable_high_fraction: 0.10,
            lifft_medium_probability: 0.25,
            lifft_high_probability: 0.5,
            lifft_caution_moment_nm: 100.0,
            niosh_medium_index: 1.0,
            niosh_high_index: 3.0,
            week_medium_shifts_for_high: 3,
            min_baseline_shifts: 20,
            min_baseline_workers: 5,
            site_multiple_of_note: 1.5,
        }
    }
}

/// A configuration the rules cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[analysis.risk] {0}")]
pub struct RulesError(String);

impl RiskRules {
    /// The movement kinds with rate rules, with their limits.
    pub fn rate_limits(&self) -> [(CountKind, RateLimits); 7] {
        [
            (CountKind::Bends, self.bends),
            (CountKind::DeepBends, self.deep_bends),
            (CountKind::Twists, self.twists),
            (CountKind::LateralBends, self.lateral_bends),
            (CountKind::Reaches, self.reaches),
            (CountKind::StoopLifts, self.stoop_lifts),
            (CountKind::StaticPostures, self.static_postures),
        ]
    }

    /// Checks every threshold is a positive finite number and every medium is at most its high.
    pub fn check(&self) -> Result<(), RulesError> {
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(RulesError(format!(
                    "{name} must be a positive number, not {v}"
                )))
            }
        };
        let ordered = |name: &str, medium: f64, high: f64| {
            if medium <= high {
                Ok(())
            } else {
                Err(RulesError(format!(
                    "{name}: the medium limit {medium} is above the high limit {high}"
                )))
            }
        };
        positive("min_rate_hours", self.min_rate_hours)?;
        for (kind, limits) in self.rate_limits() {
            let name = format!("{kind:?} limits");
            if let Some(m) = limits.medium {
                positive(&name, m)?;
            }
            if let Some(h) = limits.high {
                positive(&name, h)?;
            }
            if let (Some(m), Some(h)) = (limits.medium, limits.high) {
                ordered(&name, m, h)?;
            }
        }
        positive(
            "flexion_60_medium_fraction",
            self.flexion_60_medium_fraction,
        )?;
        positive(
            "not_acceptable_medium_fraction",
            self.not_acceptable_medium_fraction,
        )?;
        positive(
            "not_acceptable_high_fraction",
            self.not_acceptable_high_fraction,
        )?;
        ordered(
            "not_acceptable fractions",
            self.not_acceptable_medium_fraction,
            self.not_acceptable_high_fraction,
        )?;
        positive("lifft_medium_probability", self.lifft_medium_probability)?;
        positive("lifft_high_probability", self.lifft_high_probability)?;
        ordered(
            "lifft probabilities",
            self.lifft_medium_probability,
            self.lifft_high_probability,
        )?;
        positive("lifft_caution_moment_nm", self.lifft_caution_moment_nm)?;
        positive("niosh_medium_index", self.niosh_medium_index)?;
        positive("niosh_high_index", self.niosh_high_index)?;
        ordered(
            "niosh indices",
            self.niosh_medium_index,
            self.niosh_high_index,
        )?;
        positive("site_multiple_of_note", self.site_multiple_of_note)?;
        if self.week_medium_shifts_for_high == 0 {
            return Err(RulesError(
                "week_medium_shifts_for_high must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }
}

/// What is typical at the site: the median per-hour rate of each movement over its shifts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SiteBaseline {
    /// Shifts the medians are taken over (shifts of at least [`BASELINE_MIN_WEAR_S`]).
    pub shifts: usize,
    /// Distinct workers behind them, when the caller knows (`groups::baseline`).
    pub workers: Option<usize>,
    /// Median over those shifts of each shift's count per hour of wear.
    pub median_per_hour: Rates,
}

/// Shifts with less wear than this are left out of the baseline: their rates are too noisy to say
/// what is typical. One hour.
pub const BASELINE_MIN_WEAR_S: f64 = 3600.0;

impl SiteBaseline {
    /// The same baseline, knowing how many workers it covers.
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    /// Whether reasons may quote it under `rules` (enough shifts and workers).
    pub fn comparable(&self, rules: &RiskRules) -> bool {
        self.shifts > 0
            && self.shifts >= rules.min_baseline_shifts
            && self.workers.is_none_or(|w| w >= rules.min_baseline_workers)
    }
}

/// The site baseline over `reports` (the site's shifts, e.g. the last four weeks).
pub fn baseline(reports: &[&ShiftReport]) -> SiteBaseline {
    let used: Vec<&ShiftMetrics> = reports
        .iter()
        .map(|r| &r.metrics)
        .filter(|m| m.wear_s >= BASELINE_MIN_WEAR_S)
        .collect();
    let mut median_per_hour = Rates::default();
    for kind in CountKind::ALL {
        let rates: Vec<f64> = used
            .iter()
            .map(|m| f64::from(kind.of(&m.counts)) / (m.wear_s / 3600.0))
            .collect();
        median_per_hour.set(kind, median(rates).unwrap_or(0.0));
    }
    SiteBaseline {
        shifts: used.len(),
        workers: None,
        median_per_hour,
    }
}

/// The median (mean of the two middle values for an even count); `None` when empty.
pub(crate) fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => values.get(n / 2).copied(),
        _ => Some((values.get(n / 2 - 1)? + values.get(n / 2)?) / 2.0),
    }
}

/// A level with the reasons for it, heaviest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub level: RiskLevel,
    pub reasons: Vec<String>,
}

/// Consecutive clock hours of a shift holding a movement out of proportion to their wear time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Window {
    pub first_hour: u8,
    /// The hour of day just after the window (`first_hour + hours`, modulo 24).
    pub end_hour: u8,
    /// Share of the movement in the window.
    pub share: f64,
}

impl Window {
    pub fn label(&self) -> String {
        format!("{:02}:00–{:02}:00", self.first_hour, self.end_hour)
    }
}

/// The evidence behind one finding, for reasons and advice.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Evidence {
    Rate {
        kind: CountKind,
        rate: f64,
        limit: f64,
        /// `(median, rate / median)` when the baseline is comparable; ratio `None` at median 0.
        site: Option<(f64, Option<f64>)>,
        window: Option<Window>,
        /// The task holding most of them, with its share.
        task: Option<(String, f64)>,
    },
    FlexionTime {
        fraction: f64,
        limit: f64,
    },
    NotAcceptable {
        fraction: f64,
        limit: f64,
    },
    HeavyLifts {
        lifts: Option<u32>,
    },
    Lifft {
        probability: f64,
        limit: f64,
        /// The task with the largest share of cumulative damage.
        task: Option<(String, f64)>,
    },
    LifftMoment {
        task: String,
        plm_nm: f64,
        limit: f64,
    },
    Niosh {
        task: String,
        index: f64,
        limit: f64,
    },
    NeedsInput {
        task: String,
        needs: String,
    },
}

/// One rule that fired (or, at `Low`, a note the supervisor should read).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub level: RiskLevel,
    /// How far past its limit (value / limit), to order findings of one level.
    pub weight: f64,
    pub text: String,
    pub evidence: Evidence,
}

/// Formats a rate: no decimals from 10, one below.
pub(crate) fn fmt_num(x: f64) -> String {
    if x.abs() >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// Formats a share as a percentage: whole numbers, one decimal below 10 % when it matters.
pub(crate) fn fmt_pct(share: f64) -> String {
    let pct = share * 100.0;
    if pct < 10.0 && (pct - pct.round()).abs() >= 0.05 {
        format!("{pct:.1} %")
    } else {
        format!("{pct:.0} %")
    }
}

pub(crate) fn fmt_ratio(ratio: f64) -> String {
    format!("{ratio:.1}×")
}

/// Where `kind` concentrates in `per_hour`: the shortest run of consecutive clock hours (at most
/// half the shift's hours) holding at least half of the movements and at least 1.5× their share of
/// wear time. `None` with fewer than 5 movements or 2 hours, or when they are spread out.
pub(crate) fn concentration(per_hour: &[HourMetrics], kind: CountKind) -> Option<Window> {
    let n = per_hour.len();
    let total: u64 = per_hour.iter().map(|h| u64::from(kind.of(&h.counts))).sum();
    let wear: f64 = per_hour.iter().map(|h| h.wear_s.max(0.0)).sum();
    if total < 5 || n < 2 || wear <= 0.0 {
        return None;
    }
    for len in 1..=n / 2 {
        let mut best: Option<(usize, u64, f64)> = None;
        for (start, window) in per_hour.windows(len).enumerate() {
            let contiguous = window
                .windows(2)
                .all(|p| matches!(p, [a, b] if b.hour_start_ms - a.hour_start_ms == 3_600_000));
            if !contiguous {
                continue;
            }
            let count: u64 = window.iter().map(|h| u64::from(kind.of(&h.counts))).sum();
            let w: f64 = window.iter().map(|h| h.wear_s.max(0.0)).sum();
            if best.is_none_or(|(_, c, _)| count > c) {
                best = Some((start, count, w));
            }
        }
        if let Some((start, count, w)) = best {
            let share = count as f64 / total as f64;
            if share >= 0.5 && share >= 1.5 * (w / wear) {
                let first_hour = per_hour.get(start)?.hour_of_day;
                let end_hour = ((usize::from(first_hour) + len) % 24) as u8;
                return Some(Window {
                    first_hour,
                    end_hour,
                    share,
                });
            }
        }
    }
    None
}

/// The task holding more than half of the shift's `kind`, with its share.
fn dominant_task(tasks: &TaskExposure, kind: CountKind, total: u32) -> Option<(String, f64)> {
    if total == 0 {
        return None;
    }
    tasks
        .tasks
        .iter()
        .map(|t| (t, f64::from(kind.of(&t.counts)) / f64::from(total)))
        .filter(|(_, share)| *share > 0.5)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(t, share)| (t.task.clone(), share.min(1.0)))
}

fn rate_text(
    kind: CountKind,
    rate: f64,
    level: RiskLevel,
    limit: f64,
    site: Option<(f64, Option<f64>)>,
    window: Option<Window>,
    task: Option<&(String, f64)>,
) -> String {
    let mut text = format!(
        "{} {} per hour ({} from {})",
        fmt_num(rate),
        kind.plural(),
        level.word(),
        fmt_num(limit)
    );
    match site {
        Some((_, Some(ratio))) => {
            text.push_str(&format!(", {} the site median", fmt_ratio(ratio)));
        }
        Some((_, None)) => text.push_str(", where the site median is 0"),
        None => {}
    }
    let mut parts = Vec::new();
    if let Some(w) = window {
        parts.push(format!("{} of them {}", fmt_pct(w.share), w.label()));
    }
    if let Some((name, share)) = task {
        parts.push(format!("{} in {name}", fmt_pct(*share)));
    }
    if !parts.is_empty() {
        text.push_str("; ");
        text.push_str(&parts.join(", "));
    }
    text
}

/// Which level `value` reaches against `limits` (at or above).
fn rate_level(value: f64, limits: RateLimits) -> Option<(RiskLevel, f64)> {
    if let Some(h) = limits.high.filter(|h| value >= *h) {
        return Some((RiskLevel::High, h));
    }
    limits
        .medium
        .filter(|m| value >= *m)
        .map(|m| (RiskLevel::Medium, m))
}

/// Every rule that fires for a shift, plus notes, heaviest first.
pub(crate) fn findings(
    metrics: &ShiftMetrics,
    tasks: &TaskExposure,
    site: &SiteBaseline,
    rules: &RiskRules,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let hours = (metrics.wear_s.max(0.0) / 3600.0).max(rules.min_rate_hours);
    let comparable = site.comparable(rules);

    for (kind, limits) in rules.rate_limits() {
        let count = kind.of(&metrics.counts);
        let rate = f64::from(count) / hours;
        let Some((level, limit)) = rate_level(rate, limits) else {
            continue;
        };
        let site_cmp = comparable.then(|| {
            let median = site.median_per_hour.get(kind);
            (median, (median > 0.0).then(|| rate / median))
        });
        let window = concentration(&metrics.per_hour, kind);
        let task = dominant_task(tasks, kind, count);
        out.push(Finding {
            level,
            weight: rate / limit,
            text: rate_text(kind, rate, level, limit, site_cmp, window, task.as_ref()),
            evidence: Evidence::Rate {
                kind,
                rate,
                limit,
                site: site_cmp,
                window,
                task,
            },
        });
    }

    let fraction = metrics.hoogendoorn.flexion_60_fraction;
    if rules.hoogendoorn_flexion_high && metrics.hoogendoorn.flexion_flag {
        out.push(Finding {
            level: RiskLevel::High,
            weight: fraction / 0.05,
            text: format!(
                "{} of wear time at 60° flexion or more (high above 5 %, Hoogendoorn 2000)",
                fmt_pct(fraction)
            ),
            evidence: Evidence::FlexionTime {
                fraction,
                limit: 0.05,
            },
        });
    } else if fraction >= rules.flexion_60_medium_fraction {
        out.push(Finding {
            level: RiskLevel::Medium,
            weight: fraction / rules.flexion_60_medium_fraction,
            text: format!(
                "{} of wear time at 60° flexion or more (medium from {}; Hoogendoorn's threshold is 5 %)",
                fmt_pct(fraction),
                fmt_pct(rules.flexion_60_medium_fraction)
            ),
            evidence: Evidence::FlexionTime {
                fraction,
                limit: rules.flexion_60_medium_fraction,
            },
        });
    }

    if rules.hoogendoorn_heavy_lifts_high && metrics.hoogendoorn.heavy_lift_flag == Some(true) {
        let lifts = metrics.hoogendoorn.heavy_lifts;
        out.push(Finding {
            level: RiskLevel::High,
            weight: lifts.map_or(1.0, |n| f64::from(n) / 15.0),
            text: match lifts {
                Some(n) => {
                    format!("{n} lifts of 25 kg or more (high above 15 a day, Hoogendoorn 2000)")
                }
                None => "more than 15 lifts of 25 kg or more (Hoogendoorn 2000)".to_owned(),
            },
            evidence: Evidence::HeavyLifts { lifts },
        });
    }

    if metrics.wear_s > 0.0 {
        let fraction = metrics.iso11226_s.not_acceptable.max(0.0) / metrics.wear_s;
        let fired = if fraction >= rules.not_acceptable_high_fraction {
            Some((RiskLevel::High, rules.not_acceptable_high_fraction))
        } else if fraction >= rules.not_acceptable_medium_fraction {
            Some((RiskLevel::Medium, rules.not_acceptable_medium_fraction))
        } else {
            None
        };
        if let Some((level, limit)) = fired {
            out.push(Finding {
                level,
                weight: fraction / limit,
                text: format!(
                    "{} of wear time in postures ISO 11226 rates not acceptable ({} from {})",
                    fmt_pct(fraction),
                    level.word(),
                    fmt_pct(limit)
                ),
                evidence: Evidence::NotAcceptable { fraction, limit },
            });
        }
    }

    if let Some(total) = tasks.lifft {
        let p = total.probability;
        let fired = if p > rules.lifft_high_probability {
            Some((RiskLevel::High, rules.lifft_high_probability, "above"))
        } else if p >= rules.lifft_medium_probability {
            Some((RiskLevel::Medium, rules.lifft_medium_probability, "from"))
        } else {
            None
        };
        if let Some((level, limit, word)) = fired {
            let task = (total.cumulative_damage > 0.0)
                .then(|| {
                    tasks
                        .tasks
                        .iter()
                        .filter_map(|t| t.lifft.map(|l| (t, l.cumulative_damage)))
                        .max_by(|a, b| a.1.total_cmp(&b.1))
                        .map(|(t, cd)| (t.task.clone(), cd / total.cumulative_damage))
                })
                .flatten();
            let mut text = format!(
                "LiFFT probability of a high-risk job {:.2} ({} {word} {:.2})",
                p,
                level.word(),
                limit
            );
            if let Some((name, share)) = &task {
                text.push_str(&format!(
                    "; {name} holds {} of the cumulative damage",
                    fmt_pct(*share)
                ));
            }
            out.push(Finding {
                level,
                weight: p / limit,
                text,
                evidence: Evidence::Lifft {
                    probability: p,
                    limit,
                    task,
                },
            });
        }
    }

    for t in &tasks.tasks {
        if let Some(l) = t.lifft.filter(|l| l.plm_nm > rules.lifft_caution_moment_nm) {
            out.push(Finding {
                level: RiskLevel::Medium,
                weight: l.plm_nm / rules.lifft_caution_moment_nm,
                text: format!(
                    "peak load moment {:.0} N·m in {}, above the {:.0} N·m LiFFT advises caution for (outside its validated range)",
                    l.plm_nm, t.task, rules.lifft_caution_moment_nm
                ),
                evidence: Evidence::LifftMoment {
                    task: t.task.clone(),
                    plm_nm: l.plm_nm,
                    limit: rules.lifft_caution_moment_nm,
                },
            });
        }
        if let Some(li) = t.niosh.and_then(|n| n.lifting_index) {
            let fired = if li >= rules.niosh_high_index {
                Some((RiskLevel::High, rules.niosh_high_index, "from"))
            } else if li > rules.niosh_medium_index {
                Some((RiskLevel::Medium, rules.niosh_medium_index, "above"))
            } else {
                None
            };
            if let Some((level, limit, word)) = fired {
                out.push(Finding {
                    level,
                    weight: li / limit,
                    text: format!(
                        "NIOSH lifting index {li:.1} in {} ({} {word} {})",
                        t.task,
                        level.word(),
                        fmt_num(limit)
                    ),
                    evidence: Evidence::Niosh {
                        task: t.task.clone(),
                        index: li,
                        limit,
                    },
                });
            }
        }
        if !t.needs.is_empty() {
            let needs = t.needs.join(", ");
            out.push(Finding {
                level: RiskLevel::Low,
                weight: 0.0,
                text: format!("{}: not judged by the lifting models, {needs}", t.task),
                evidence: Evidence::NeedsInput {
                    task: t.task.clone(),
                    needs,
                },
            });
        }
    }

    // Stable: equal weights keep rule order.
    out.sort_by(|a, b| b.level.cmp(&a.level).then(b.weight.total_cmp(&a.weight)));
    out
}

/// The level of one shift and why.
pub fn assess_shift(
    metrics: &ShiftMetrics,
    tasks: &TaskExposure,
    site: &SiteBaseline,
    rules: &RiskRules,
) -> Assessment {
    let found = findings(metrics, tasks, site, rules);
    let level = found
        .iter()
        .map(|f| f.level)
        .max()
        .unwrap_or(RiskLevel::Low);
    let mut reasons = Vec::new();
    if level == RiskLevel::Low {
        reasons.push(low_summary(metrics, rules));
    }
    reasons.extend(found.into_iter().map(|f| f.text));
    Assessment { level, reasons }
}

fn low_summary(metrics: &ShiftMetrics, rules: &RiskRules) -> String {
    if metrics.wear_s <= 0.0 {
        return "No wear time: nothing to judge".to_owned();
    }
    let hours = (metrics.wear_s / 3600.0).max(rules.min_rate_hours);
    let rate = |k: CountKind| fmt_num(f64::from(k.of(&metrics.counts)) / hours);
    format!(
        "Below every medium limit: {} bends and {} deep bends per hour over {} h of wear",
        rate(CountKind::Bends),
        rate(CountKind::DeepBends),
        fmt_num(metrics.wear_s / 3600.0)
    )
}

/// The level of one worker's week (the caller passes that worker's shifts of one ISO week): the
/// worst of its shifts, raised from medium to high when at least `week_medium_shifts_for_high`
/// shifts are medium or high. Each shift is re-assessed under `rules`, not read from its stored
/// level, so the week and its shifts always agree.
///
/// Deliberately without a caller yet: the worker page has no weekly level (web-ui's `WeekPoint`
/// has no field for it). Kept, with its tests, because `[analysis.risk]
/// week_medium_shifts_for_high` configures it and a config naming that key must stay valid.
pub fn assess_week(reports: &[&ShiftReport], site: &SiteBaseline, rules: &RiskRules) -> Assessment {
    if reports.is_empty() {
        return Assessment {
            level: RiskLevel::Low,
            reasons: vec!["No shifts this week".to_owned()],
        };
    }
    let assessed: Vec<(&ShiftReport, Vec<Finding>, RiskLevel)> = reports
        .iter()
        .map(|r| {
            let f = findings(&r.metrics, &r.tasks, site, rules);
            let level = f.iter().map(|f| f.level).max().unwrap_or(RiskLevel::Low);
            (*r, f, level)
        })
        .collect();
    let n = assessed.len();
    let elevated = assessed
        .iter()
        .filter(|(_, _, l)| *l >= RiskLevel::Medium)
        .count();
    let worst = assessed
        .iter()
        .map(|(_, _, l)| *l)
        .max()
        .unwrap_or(RiskLevel::Low);
    let escalated = worst == RiskLevel::Medium && elevated >= rules.week_medium_shifts_for_high;
    let level = if escalated { RiskLevel::High } else { worst };

    let mut reasons = Vec::new();
    if escalated {
        reasons.push(format!(
            "{elevated} of {n} shifts medium: repeated exposure over the week (high from {} medium shifts)",
            rules.week_medium_shifts_for_high
        ));
    }
    if worst > RiskLevel::Low {
        // The worst shift: highest level, then heaviest top finding, then earliest.
        let top = assessed
            .iter()
            .filter(|(_, _, l)| *l == worst)
            .filter_map(|(r, f, _)| f.first().map(|f| (r, f)))
            .fold(
                None::<(&ShiftReport, &Finding)>,
                |best, (r, f)| match best {
                    Some((_, b)) if b.weight >= f.weight => best,
                    _ => Some((r, f)),
                },
            );
        if let Some((r, f)) = top {
            reasons.push(format!(
                "worst shift {} ({}): {}",
                r.local_day,
                worst.word(),
                f.text
            ));
        }
        // Rules that fired on more than one shift.
        let mut repeated: BTreeMap<String, usize> = BTreeMap::new();
        for (_, f, _) in &assessed {
            let mut seen = Vec::new();
            for finding in f.iter().filter(|f| f.level > RiskLevel::Low) {
                let key = finding_topic(&finding.evidence);
                if !seen.contains(&key) {
                    seen.push(key.clone());
                    *repeated.entry(key).or_default() += 1;
                }
            }
        }
        let mut repeated: Vec<(String, usize)> =
            repeated.into_iter().filter(|(_, c)| *c > 1).collect();
        repeated.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (topic, count) in repeated {
            reasons.push(format!("{topic} above its limit in {count} of {n} shifts"));
        }
    }
    let wear_s: f64 = reports.iter().map(|r| r.metrics.wear_s.max(0.0)).sum();
    let hours = (wear_s / 3600.0).max(rules.min_rate_hours);
    let total = |k: CountKind| -> f64 {
        reports
            .iter()
            .map(|r| f64::from(k.of(&r.metrics.counts)))
            .sum()
    };
    reasons.push(format!(
        "over the week: {} bends and {} deep bends per hour in {n} shifts, {} h of wear",
        fmt_num(total(CountKind::Bends) / hours),
        fmt_num(total(CountKind::DeepBends) / hours),
        fmt_num(wear_s / 3600.0)
    ));
    if worst == RiskLevel::Low {
        reasons.insert(0, format!("all {n} shifts low"));
    }
    Assessment { level, reasons }
}

/// A short name for what a finding is about, to count it across shifts.
fn finding_topic(evidence: &Evidence) -> String {
    match evidence {
        Evidence::Rate { kind, .. } => kind.plural().to_owned(),
        Evidence::FlexionTime { .. } => "time at 60° flexion or more".to_owned(),
        Evidence::NotAcceptable { .. } => "ISO 11226 not-acceptable time".to_owned(),
        Evidence::HeavyLifts { .. } => "lifts of 25 kg or more".to_owned(),
        Evidence::Lifft { .. } => "LiFFT probability".to_owned(),
        Evidence::LifftMoment { task, .. } => format!("peak load moment in {task}"),
        Evidence::Niosh { task, .. } => format!("NIOSH lifting index in {task}"),
        Evidence::NeedsInput { task, .. } => format!("missing input for {task}"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::analysis::exposure::{AlertStats, Hoogendoorn, Iso11226Seconds, LmmFactors};
    use crate::analysis::tasks::{LifftTask, LifftTotal, NioshTask, TaskLoad};
    use proptest::prelude::*;

    /// A shift of `hours` of wear with `counts`, nothing else.
    pub(crate) fn metrics(hours: f64, counts: Counts) -> ShiftMetrics {
        ShiftMetrics {
            wear_s: hours * 3600.0,
            counts,
            per_hour: Vec::new(),
            iso11226_s: Iso11226Seconds::default(),
            hoogendoorn: Hoogendoorn::default(),
            lmm_factors: LmmFactors::default(),
            alerts: AlertStats::default(),
        }
    }

    pub(crate) fn hour(start_hour: u8, wear_s: f64, counts: Counts) -> HourMetrics {
        HourMetrics {
            hour_start_ms: i64::from(start_hour) * 3_600_000,
            hour_of_day: start_hour,
            wear_s,
            counts,
        }
    }

    pub(crate) fn deep(n: u32) -> Counts {
        Counts {
            bends: n,
            deep_bends: n,
            ..Counts::default()
        }
    }

    pub(crate) fn report(day: &str, metrics: ShiftMetrics, tasks: TaskExposure) -> ShiftReport {
        let a = assess_shift(
            &metrics,
            &tasks,
            &SiteBaseline::default(),
            &RiskRules::default(),
        );
        ShiftReport {
            version: 1,
            start_ms: 0,
            end_ms: (metrics.wear_s * 1000.0) as i64,
            local_day: day.to_owned(),
            metrics,
            tasks,
            risk_level: a.level,
            reasons: a.reasons,
        }
    }

    /// The only literal of `TaskExposure` in the tests.
    pub(crate) fn exposure(tasks: Vec<TaskLoad>, lifft: Option<LifftTotal>) -> TaskExposure {
        TaskExposure { tasks, lifft }
    }

    pub(crate) fn task(name: &str, seconds: f64, counts: Counts) -> TaskLoad {
        TaskLoad {
            task: name.to_owned(),
            seconds,
            lifts: counts.lifts,
            counts,
            lifft: None,
            niosh: None,
            needs: Vec::new(),
        }
    }

    fn site(shifts: usize, median: Rates) -> SiteBaseline {
        SiteBaseline {
            shifts,
            workers: Some(10),
            median_per_hour: median,
        }
    }

    fn assess(m: &ShiftMetrics) -> Assessment {
        assess_shift(
            m,
            &TaskExposure::default(),
            &SiteBaseline::default(),
            &RiskRules::default(),
        )
    }

    #[test]
    fn default_rules_pass_their_own_check_and_parse_from_an_empty_table() {
        assert_eq!(RiskRules::default().check(), Ok(()));
        let parsed: RiskRules = toml::from_str("").unwrap();
        assert_eq!(parsed, RiskRules::default());
        let custom: RiskRules =
            toml::from_str("deep_bends = { medium = 10.0 }\nmin_baseline_shifts = 5").unwrap();
        assert_eq!(custom.deep_bends, RateLimits::new(Some(10.0), None));
        assert!(toml::from_str::<RiskRules>("deep_bend = 3").is_err());
    }

    #[test]
    fn check_rejects_a_medium_limit_above_its_high_and_non_positive_numbers() {
        let bad = [
            RiskRules {
                deep_bends: RateLimits::new(Some(70.0), Some(60.0)),
                ..RiskRules::default()
            },
            RiskRules {
                min_rate_hours: 0.0,
                ..RiskRules::default()
            },
            RiskRules {
                lifft_high_probability: f64::NAN,
                ..RiskRules::default()
            },
            RiskRules {
                week_medium_shifts_for_high: 0,
                ..RiskRules::default()
            },
        ];
        for rules in bad {
            assert!(rules.check().is_err(), "{rules:?}");
        }
    }

    #[test]
    fn a_quiet_shift_is_low_and_says_so_with_its_rates() {
        let a = assess(&metrics(
            8.0,
            Counts {
                bends: 80,
                deep_bends: 16,
                ..Counts::default()
            },
        ));
        assert_eq!(a.level, RiskLevel::Low);
        assert_eq!(
            a.reasons,
            vec![
                "Below every medium limit: 10 bends and 2.0 deep bends per hour over 8.0 h of wear"
            ]
        );
    }

    #[test]
    fn a_shift_without_wear_is_low_with_nothing_to_judge() {
        let a = assess(&metrics(0.0, Counts::default()));
        assert_eq!(a.level, RiskLevel::Low);
        assert_eq!(a.reasons, vec!["No wear time: nothing to judge"]);
    }

    #[test]
    fn deep_bends_from_20_an_hour_are_medium_and_from_60_high() {
        let a = assess(&metrics(2.0, deep(39)));
        assert_eq!(a.level, RiskLevel::Low);
        let a = assess(&metrics(2.0, deep(40)));
        assert_eq!(a.level, RiskLevel::Medium);
        assert_eq!(a.reasons, vec!["20 deep bends per hour (medium from 20)"]);
        let a = assess(&metrics(1.0, deep(60)));
        assert_eq!(a.level, RiskLevel::High);
        assert_eq!(a.reasons, vec!["60 deep bends per hour (high from 60)"]);
    }

    #[test]
    fn each_movement_rate_rule_fires_at_its_default_limit() {
        let cases: [(Counts, RiskLevel, &str); 8] = [
            (
                Counts {
                    bends: 120,
                    ..Counts::default()
                },
                RiskLevel::Medium,
                "120 bends per hour (medium from 120)",
            ),
            (
                Counts {
                    bends: 600,
                    ..Counts::default()
                },
                RiskLevel::High,
                "600 bends per hour (high from 600)",
            ),
            (
                Counts {
                    twists: 30,
                    ..Counts::default()
                },
                RiskLevel::Medium,
                "30 trunk twists per hour (medium from 30)",
            ),
            (
                Counts {
                    twists: 120,
                    ..Counts::default()
                },
                RiskLevel::High,
                "120 trunk twists per hour (high from 120)",
            ),
            (
                Counts {
                    lateral_bends: 120,
                    ..Counts::default()
                },
                RiskLevel::High,
                "120 sideways bends per hour (high from 120)",
            ),
            (
                Counts {
                    reaches: 30,
                    ..Counts::default()
                },
                RiskLevel::Medium,
                "30 overhead reaches per hour (medium from 30)",
            ),
            (
                Counts {
                    lifts: 20,
                    stoop_lifts: 20,
                    ..Counts::default()
                },
                RiskLevel::Medium,
                "20 stoop lifts per hour (medium from 20)",
            ),
            (
                Counts {
                    static_postures: 6,
                    ..Counts::default()
                },
                RiskLevel::Medium,
                "6.0 static postures per hour (medium from 6.0)",
            ),
        ];
        for (counts, level, text) in cases {
            let a = assess(&metrics(1.0, counts));
            assert_eq!(
                (a.level, a.reasons),
                (level, vec![text.to_owned()]),
                "{counts:?}"
            );
        }
    }

    #[test]
    fn many_squat_lifts_or_reaches_alone_never_reach_high() {
        let a = assess(&metrics(
            1.0,
            Counts {
                lifts: 500,
                squat_lifts: 500,
                ..Counts::default()
            },
        ));
        assert_eq!(a.level, RiskLevel::Low);
        let a = assess(&metrics(
            1.0,
            Counts {
                reaches: 500,
                ..Counts::default()
            },
        ));
        assert_eq!(a.level, RiskLevel::Medium);
    }

    #[test]
    fn a_short_shift_counts_at_least_one_hour_of_wear() {
        // 10 deep bends in 10 minutes: 10 per hour, not 60.
        let a = assess(&metrics(1.0 / 6.0, deep(10)));
        assert_eq!(a.level, RiskLevel::Low);
        assert_eq!(
            a.reasons,
            vec![
                "Below every medium limit: 10 bends and 10 deep bends per hour over 0.2 h of wear"
            ]
        );
    }

    #[test]
    fn the_hoogendoorn_flexion_flag_is_high_and_half_its_fraction_medium() {
        let mut m = metrics(8.0, Counts::default());
        m.hoogendoorn.flexion_60_fraction = 0.065;
        m.hoogendoorn.flexion_flag = true;
        let a = assess(&m);
        assert_eq!(a.level, RiskLevel::High);
        assert_eq!(
            a.reasons,
            vec!["6.5 % of wear time at 60° flexion or more (high above 5 %, Hoogendoorn 2000)"]
        );
        m.hoogendoorn.flexion_60_fraction = 0.03;
        m.hoogendoorn.flexion_flag = false;
        let a = assess(&m);
        assert_eq!(a.level, RiskLevel::Medium);
        assert_eq!(
            a.reasons,
            vec![
                "3 % of wear time at 60° flexion or more (medium from 2.5 %; Hoogendoorn's threshold is 5 %)"
            ]
        );
        let rules = RiskRules {
            hoogendoorn_flexion_high: false,
            ..RiskRules::default()
        };
        m.hoogendoorn.flexion_60_fraction = 0.0625;
        m.hoogendoorn.flexion_flag = true;
        let a = assess_shift(
            &m,
            &TaskExposure::default(),
            &SiteBaseline::default(),
            &rules,
        );
        assert_eq!(a.level, RiskLevel::Medium);
    }

    #[test]
    fn more_than_15_heavy_lifts_are_high() {
        let mut m = metrics(8.0, Counts::default());
        m.hoogendoorn.heavy_lifts = Some(16);
        m.hoogendoorn.heavy_lift_flag = Some(true);
        let a = assess(&m);
        assert_eq!(a.level, RiskLevel::High);
        assert_eq!(
            a.reasons,
            vec!["16 lifts of 25 kg or more (high above 15 a day, Hoogendoorn 2000)"]
        );
        m.hoogendoorn.heavy_lifts = Some(15);
        m.hoogendoorn.heavy_lift_flag = Some(false);
        assert_eq!(assess(&m).level, RiskLevel::Low);
    }

    #[test]
    fn iso_not_acceptable_time_is_medium_from_5_and_high_from_10_percent() {
        let mut m = metrics(10.0, Counts::default());
        m.iso11226_s.not_acceptable = 0.05 * 36_000.0;
        let a = assess(&m);
        assert_eq!(a.level, RiskLevel::Medium);
        assert_eq!(
            a.reasons,
            vec!["5 % of wear time in postures ISO 11226 rates not acceptable (medium from 5 %)"]
        );
        m.iso11226_s.not_acceptable = 0.12 * 36_000.0;
        let a = assess(&m);
        assert_eq!(a.level, RiskLevel::High);
        assert_eq!(
            a.reasons,
            vec!["12 % of wear time in postures ISO 11226 rates not acceptable (high from 10 %)"]
        );
    }

    fn lifting(p: f64) -> TaskExposure {
        let mut a = task("Receiving", 3600.0, Counts::default());
        a.lifft = Some(LifftTask {
            plm_nm: 51.0,
            damage_per_cycle: 1e-5,
            cumulative_damage: 0.015,
            over_100_nm: false,
        });
        let mut b = task("Packing", 3600.0, Counts::default());
        b.lifft = Some(LifftTask {
            plm_nm: 30.0,
            damage_per_cycle: 1e-6,
            cumulative_damage: 0.005,
            over_100_nm: false,
        });
        exposure(
            vec![a, b],
            Some(LifftTotal {
                cumulative_damage: 0.02,
                probability: p,
            }),
        )
    }

    #[test]
    fn lifft_bands_are_medium_from_a_quarter_and_high_above_a_half() {
        let m = metrics(8.0, Counts::default());
        let s = SiteBaseline::default();
        let r = RiskRules::default();
        assert_eq!(
            assess_shift(&m, &lifting(0.24), &s, &r).level,
            RiskLevel::Low
        );
        let a = assess_shift(&m, &lifting(0.25), &s, &r);
        assert_eq!(a.level, RiskLevel::Medium);
        assert_eq!(
            a.reasons,
            vec![
                "LiFFT probability of a high-risk job 0.25 (medium from 0.25); Receiving holds 75 % of the cumulative damage"
            ]
        );
        assert_eq!(
            assess_shift(&m, &lifting(0.5), &s, &r).level,
            RiskLevel::Medium
        );
        let a = assess_shift(&m, &lifting(0.54), &s, &r);
        assert_eq!(a.level, RiskLevel::High);
        assert_eq!(
            a.reasons,
            vec![
                "LiFFT probability of a high-risk job 0.54 (high above 0.50); Receiving holds 75 % of the cumulative damage"
            ]
        );
    }

    #[test]
    fn a_peak_moment_over_100_nm_is_medium() {
        let mut t = lifting(0.1);
        if let Some(l) = t.tasks[0].lifft.as_mut() {
            l.plm_nm = 112.0;
            l.over_100_nm = true;
        }
        let a = assess_shift(
            &metrics(8.0, Counts::default()),
            &t,
            &SiteBaseline::default(),
            &RiskRules::default(),
        );
        assert_eq!(a.level, RiskLevel::Medium);
        assert_eq!(
            a.reasons,
            vec![
                "peak load moment 112 N·m in Receiving, above the 100 N·m LiFFT advises caution for (outside its validated range)"
            ]
        );
    }

    #[test]
    fn a_niosh_index_above_1_is_medium_and_from_3_high() {
        let with_li = |li: f64| {
            let mut t = task("Receiving", 3600.0, Counts::default());
            t.niosh = Some(NioshTask {
                rwl_kg: 10.0,
                lifting_index: Some(li),
            });
            exposure(vec![t], None)
        };
        let m = metrics(8.0, Counts::default());
        let s = SiteBaseline::default();
        let r = RiskRules::default();
        assert_eq!(
            assess_shift(&m, &with_li(1.0), &s, &r).level,
            RiskLevel::Low
        );
        let a = assess_shift(&m, &with_li(2.02), &s, &r);
        assert_eq!(a.level, RiskLevel::Medium);
        assert_eq!(
            a.reasons,
            vec!["NIOSH lifting index 2.0 in Receiving (medium above 1.0)"]
        );
        let a = assess_shift(&m, &with_li(3.0), &s, &r);
        assert_eq!(a.level, RiskLevel::High);
        assert_eq!(
            a.reasons,
            vec!["NIOSH lifting index 3.0 in Receiving (high from 3.0)"]
        );
    }

    #[test]
    fn a_task_missing_its_load_is_noted_without_changing_the_level() {
        let mut t = task("Receiving", 3600.0, Counts::default());
        t.needs = vec!["needs load input".to_owned()];
        let tasks = exposure(vec![t], None);
        let a = assess_shift(
            &metrics(8.0, Counts::default()),
            &tasks,
            &SiteBaseline::default(),
            &RiskRules::default(),
        );
        assert_eq!(a.level, RiskLevel::Low);
        assert_eq!(
            a.reasons[1],
            "Receiving: not judged by the lifting models, needs load input"
        );
    }

    #[test]
    fn the_issue_example_reads_with_site_median_hours_and_task() {
        // 41 deep bends an hour over 8 h, most of them 06:00–08:00 in Receiving.
        let mut m = metrics(8.0, deep(328));
        m.per_hour = (6..14)
            .map(|h| {
                let n = match h {
                    6 => 100,
                    7 => 104,
                    _ => 124 / 6 + u32::from(h == 8) * 4,
                };
                hour(h, 3600.0, deep(n))
            })
            .collect();
        assert_eq!(
            m.per_hour.iter().map(|h| h.counts.deep_bends).sum::<u32>(),
            328
        );
        let tasks = exposure(
            vec![
                task("Receiving", 4.0 * 3600.0, deep(250)),
                task("Packing", 4.0 * 3600.0, deep(78)),
            ],
            None,
        );
        let median = Rates {
            deep_bends: 41.0 / 3.0,
            bends: 41.0 / 3.0,
            ..Rates::default()
        };
        let a = assess_shift(&m, &tasks, &site(40, median), &RiskRules::default());
        assert_eq!(a.level, RiskLevel::Medium);
        assert_eq!(
            a.reasons,
            vec![
                "41 deep bends per hour (medium from 20), 3.0× the site median; 62 % of them 06:00–08:00, 76 % in Receiving"
            ]
        );
    }

    #[test]
    fn the_site_median_is_quoted_only_from_enough_shifts_and_workers() {
        let m = metrics(1.0, deep(30));
        let median = Rates {
            deep_bends: 10.0,
            ..Rates::default()
        };
        let r = RiskRules::default();
        let t = TaskExposure::default();
        let quoted =
            |s: &SiteBaseline| assess_shift(&m, &t, s, &r).reasons[0].contains("site median");
        assert!(quoted(&site(20, median)));
        assert!(!quoted(&site(19, median)));
        assert!(!quoted(&site(40, median).with_workers(4)));
        assert!(quoted(&SiteBaseline {
            workers: None,
            ..site(40, median)
        }));
        let zero = assess_shift(&m, &t, &site(40, Rates::default()), &r);
        assert_eq!(
            zero.reasons,
            vec!["30 deep bends per hour (medium from 20), where the site median is 0"]
        );
    }

    #[test]
    fn evenly_spread_movements_name_no_hours() {
        let mut m = metrics(4.0, deep(100));
        m.per_hour = (8..12).map(|h| hour(h, 3600.0, deep(25))).collect();
        assert_eq!(concentration(&m.per_hour, CountKind::DeepBends), None);
        // Concentrated, but the hour was most of the wear time: not out of proportion.
        let per_hour = vec![hour(8, 3600.0, deep(80)), hour(9, 600.0, deep(20))];
        assert_eq!(concentration(&per_hour, CountKind::DeepBends), None);
    }

    #[test]
    fn a_window_never_spans_a_gap_between_hours() {
        let per_hour = vec![
            hour(6, 3600.0, deep(30)),
            hour(9, 3600.0, deep(30)),
            hour(10, 3600.0, deep(25)),
            hour(11, 3600.0, deep(5)),
            hour(12, 3600.0, deep(5)),
            hour(13, 3600.0, deep(5)),
        ];
        // 06:00 and 09:00 together would hold 60 %, but they are not consecutive hours.
        let w = concentration(&per_hour, CountKind::DeepBends).unwrap();
        assert_eq!(
            (w.label(), fmt_pct(w.share)),
            ("09:00–11:00".to_owned(), "55 %".to_owned())
        );
    }

    #[test]
    fn a_window_ending_at_midnight_reads_00_00() {
        let per_hour = vec![
            hour(21, 3600.0, deep(2)),
            hour(22, 3600.0, deep(2)),
            hour(23, 3600.0, deep(30)),
            hour(24, 3600.0, deep(2)),
        ];
        let mut per_hour = per_hour;
        per_hour[3].hour_of_day = 0;
        let w = concentration(&per_hour, CountKind::DeepBends).unwrap();
        assert_eq!(w.label(), "23:00–00:00");
    }

    #[test]
    fn reasons_are_ordered_high_first_then_by_how_far_past_the_limit() {
        let mut m = metrics(
            1.0,
            Counts {
                bends: 150,
                deep_bends: 70,
                twists: 60,
                ..Counts::default()
            },
        );
        m.hoogendoorn.flexion_60_fraction = 0.06;
        m.hoogendoorn.flexion_flag = true;
        let a = assess(&m);
        assert_eq!(a.level, RiskLevel::High);
        assert_eq!(
            a.reasons,
            vec![
                "6 % of wear time at 60° flexion or more (high above 5 %, Hoogendoorn 2000)",
                "70 deep bends per hour (high from 60)",
                "60 trunk twists per hour (medium from 30)",
                "150 bends per hour (medium from 120)",
            ]
        );
    }

    #[test]
    fn the_baseline_is_the_median_rate_over_shifts_of_an_hour_or_more() {
        let reports = [
            report(
                "2025-03-03",
                metrics(2.0, deep(20)),
                TaskExposure::default(),
            ),
            report(
                "2025-03-04",
                metrics(1.0, deep(30)),
                TaskExposure::default(),
            ),
            report(
                "2025-03-05",
                metrics(4.0, deep(200)),
                TaskExposure::default(),
            ),
            report(
                "2025-03-06",
                metrics(8.0, deep(40)),
                TaskExposure::default(),
            ),
            report(
                "2025-03-07",
                metrics(0.5, deep(90)),
                TaskExposure::default(),
            ),
        ];
        let refs: Vec<&ShiftReport> = reports.iter().collect();
        let b = baseline(&refs);
        assert_eq!(b.shifts, 4);
        assert_eq!(b.workers, None);
        // Rates 10, 30, 50, 5 → median (10 + 30) / 2.
        assert_eq!(b.median_per_hour.deep_bends, 20.0);
        assert_eq!(baseline(&[]), SiteBaseline::default());
    }

    #[test]
    fn a_week_is_its_worst_shift() {
        let reports = [
            report(
                "2025-03-03",
                metrics(8.0, deep(20)),
                TaskExposure::default(),
            ),
            report(
                "2025-03-04",
                metrics(1.0, deep(60)),
                TaskExposure::default(),
            ),
        ];
        let refs: Vec<&ShiftReport> = reports.iter().collect();
        let a = assess_week(&refs, &SiteBaseline::default(), &RiskRules::default());
        assert_eq!(a.level, RiskLevel::High);
        assert_eq!(
            a.reasons,
            vec![
                "worst shift 2025-03-04 (high): 60 deep bends per hour (high from 60)",
                "over the week: 8.9 bends and 8.9 deep bends per hour in 2 shifts, 9.0 h of wear",
            ]
        );
    }

    #[test]
    fn three_medium_shifts_make_a_high_week_and_two_do_not() {
        let shift = |day: &str, n: u32| report(day, metrics(1.0, deep(n)), TaskExposure::default());
        let reports = [
            shift("2025-03-03", 25),
            shift("2025-03-04", 30),
            shift("2025-03-05", 5),
        ];
        let refs: Vec<&ShiftReport> = reports.iter().collect();
        let rules = RiskRules::default();
        let a = assess_week(&refs, &SiteBaseline::default(), &rules);
        assert_eq!(a.level, RiskLevel::Medium);
        assert_eq!(
            a.reasons,
            vec![
                "worst shift 2025-03-04 (medium): 30 deep bends per hour (medium from 20)",
                "deep bends above its limit in 2 of 3 shifts",
                "over the week: 20 bends and 20 deep bends per hour in 3 shifts, 3.0 h of wear",
            ]
        );
        let reports = [
            shift("2025-03-03", 25),
            shift("2025-03-04", 30),
            shift("2025-03-05", 21),
        ];
        let refs: Vec<&ShiftReport> = reports.iter().collect();
        let a = assess_week(&refs, &SiteBaseline::default(), &rules);
        assert_eq!(a.level, RiskLevel::High);
        assert_eq!(
            a.reasons[0],
            "3 of 3 shifts medium: repeated exposure over the week (high from 3 medium shifts)"
        );
    }

    #[test]
    fn an_empty_or_quiet_week_is_low() {
        let a = assess_week(&[], &SiteBaseline::default(), &RiskRules::default());
        assert_eq!(
            (a.level, a.reasons),
            (RiskLevel::Low, vec!["No shifts this week".to_owned()])
        );
        let r = report("2025-03-03", metrics(8.0, deep(8)), TaskExposure::default());
        let a = assess_week(&[&r], &SiteBaseline::default(), &RiskRules::default());
        assert_eq!(a.level, RiskLevel::Low);
        assert_eq!(a.reasons[0], "all 1 shifts low");
    }

    #[test]
    fn a_week_reassesses_its_shifts_instead_of_trusting_stored_levels() {
        let mut r = report(
            "2025-03-03",
            metrics(1.0, deep(60)),
            TaskExposure::default(),
        );
        r.risk_level = RiskLevel::Low;
        let a = assess_week(&[&r], &SiteBaseline::default(), &RiskRules::default());
        assert_eq!(a.level, RiskLevel::High);
    }

    #[test]
    fn assessments_serialise_with_snake_case_levels() {
        let a = Assessment {
            level: RiskLevel::Medium,
            reasons: vec!["x".to_owned()],
        };
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"level":"medium","reasons":["x"]}"#
        );
    }

    fn counts_strategy() -> impl Strategy<Value = Counts> {
        (proptest::collection::vec(0u32..400, 9), 0u32..400).prop_map(|(v, extra_bends)| {
            let deep_bends = v[1];
            let stoop = v[6];
            let squat = v[7];
            Counts {
                bends: deep_bends + extra_bends,
                deep_bends,
                twists: v[2],
                lateral_bends: v[3],
                reaches: v[4],
                lifts: stoop + squat,
                stoop_lifts: stoop,
                squat_lifts: squat,
                static_postures: v[8],
            }
        })
    }

    fn with_fraction(mut m: ShiftMetrics, fraction: f64) -> ShiftMetrics {
        m.hoogendoorn.flexion_60_fraction = fraction;
        m.hoogendoorn.flexion_flag = crate::analysis::models::hoogendoorn::flexion_flag(fraction);
        m
    }

    proptest! {
        #[test]
        fn more_or_deeper_bends_never_lower_the_level(
            base in counts_strategy(),
            more in proptest::collection::vec(0u32..200, 9),
            deepen in 0u32..200,
            hours in 0.0f64..12.0,
            fraction in 0.0f64..0.2,
            more_fraction in 0.0f64..0.2,
            median in 0.0f64..50.0,
            shifts in 0usize..60,
        ) {
            let rules = RiskRules::default();
            let site = SiteBaseline {
                shifts,
                workers: Some(10),
                median_per_hour: Rates { deep_bends: median, bends: median, ..Rates::default() },
            };
            let tasks = TaskExposure::default();
            let before = with_fraction(metrics(hours, base), fraction);
            // Every count grows; some plain bends become deep (they stay bends).
            let bends = base.bends + more[0];
            let grown = Counts {
                bends,
                deep_bends: base.deep_bends + (more[1] + deepen).min(bends - base.deep_bends),
                twists: base.twists + more[2],
                lateral_bends: base.lateral_bends + more[3],
                reaches: base.reaches + more[4],
                lifts: base.lifts + more[5] + more[6],
                stoop_lifts: base.stoop_lifts + more[5],
                squat_lifts: base.squat_lifts + more[6],
                static_postures: base.static_postures + more[8],
            };
            prop_assert!(grown.deep_bends <= grown.bends);
            let after = with_fraction(metrics(hours, grown), fraction + more_fraction);
            let a = assess_shift(&before, &tasks, &site, &rules).level;
            let b = assess_shift(&after, &tasks, &site, &rules).level;
            prop_assert!(b >= a, "{a:?} → {b:?} for {base:?} → {grown:?}");
        }

        #[test]
        fn lifting_model_outputs_never_lower_the_level(p in 0.0f64..1.0, dp in 0.0f64..0.5) {
            let m = metrics(8.0, Counts::default());
            let s = SiteBaseline::default();
            let r = RiskRules::default();
            let a = assess_shift(&m, &lifting(p), &s, &r).level;
            let b = assess_shift(&m, &lifting((p + dp).min(1.0)), &s, &r).level;
            prop_assert!(b >= a);
        }
    }
}
