//! Exposure metrics of a shift and of each of its hours: movement counts, ISO 11226 trunk-posture
//! zones with the holding-time rule, Hoogendoorn time-fraction flags, the Lumbar Motion Monitor's
//! kinematic inputs, and alert statistics. It owns these sums; it must never judge them (that is
//! `risk`) or guess a load.
//!
//! # Definitions (risk-models.md §1, §2)
//!
//! - **Wear time** is sample time: each sample stands for one sample period (`1 / rate_hz` s) of
//!   its run; gaps between runs are not worn. All time sums are kept as exact integers (ticks of
//!   `1 / lcm(rates)` s) and turned into seconds on a grid of 2⁻²⁰ s (< 1 µs) with cumulative
//!   rounding, so `per_hour` wear and the three ISO 11226 zones each add up to `wear_s` *exactly*
//!   in `f64`, in any order.
//! - **Hours** are the site's local clock hours ([`super::shifts::local_hours`]) covering the shift;
//!   a sample belongs to the hour its time falls in, a movement to the hour of its `peak_ms`
//!   (clamped into the first/last hour if it lies outside the shift). Hours without wear are
//!   listed too, so the hours are contiguous. An unknown time zone (which `shifts::split` already
//!   rejects) gives no hours rather than guessed ones.
//! - **Counts** trust the detector's flags: a `Bend` with `deep` counts in `bends` and
//!   `deep_bends`; a `Lift` in `lifts` and in `stoop_lifts` / `squat_lifts` by its `lift_style`
//!   (one without a style is counted in `lifts` only; the detector always sets one).
//! - **ISO 11226 zones**, per sample of trunk flexion θ, with the zone edges of
//!   `models::iso11226`: θ ≤ 20° and θ ≥ −5° acceptable; θ > 60° not acceptable; backward
//!   θ < −5° not acceptable. The standard's backward zone starts below 0°; a waist-worn sensor
//!   calibrated upright reads a few degrees either side of 0° while standing, so the cut allows
//!   [`BACKWARD_TOLERANCE_DEG`] of sensor noise (ErgoCapture's −5° [S]). Full trunk support is never
//!   known from the wearable, so every posture is judged unsupported (TC9 row e is out of reach).
//! - **Holds.** Samples with 20° < θ ≤ 60° form *holds*. A hold ends when θ has stayed outside that
//!   zone for [`HOLD_BREAK_S`] (a shorter excursion — sensor noise around 20°, a brief dip — does
//!   not reset the holding clock; its own samples are classified by their own zone and add no
//!   held time), at a gap between runs, or at the end of the shift. A hold of `n` in-zone samples
//!   (`held = n / rate` s) is judged at its **mean** in-zone angle θ̄ with
//!   `iso11226::flexion_verdict(θ̄, held, false)`: if conditional, all of it is conditional; if not
//!   acceptable, its first `MAHT(θ̄)` seconds (`⌊MAHT·rate⌋` samples: a sample counts while the time
//!   it ends at is ≤ MAHT) are conditional and the rest not acceptable. The mean, not the maximum,
//!   so a noise spike does not shorten the limit of a steady posture.
//! - **Hoogendoorn**: fraction of wear time with θ ≥ 60°, flagged by `models::hoogendoorn`. Trunk
//!   rotation ≥ 30° cannot be judged (the wearable measures twist *velocity*, not a rotation
//!   angle): `rotation_flag` is `None`. Heavy lifts need task loads, applied in `tasks`: `None`.
//! - **LMM factors** (no probability, risk-models.md §1): `lift_rate_per_h` = lifts / wear hours;
//!   `max_flexion_deg` = largest sample flexion; `avg_twist_dps` = mean of |axial velocity| over
//!   wear time outside gait bouts (`super::gait`): the LMM's "average twisting velocity" was
//!   measured on lifting jobs, and a walking pelvis swings at 40–155 °/s (95th percentiles, issue
//!   13), so averaging gait in would rate a worker who walks a lot as one who twists fast;
//!   `max_lateral_dps` = largest |d lat/dt|, where the derivative is that of a 3-sample moving
//!   average of the lateral angle, i.e. `(lat[k] − lat[k−3]) · rate / 3`, to keep one noisy
//!   sample from making a peak (±0.1° noise gives ≈ 1.7 °/s at 25 Hz instead of 5 °/s).
//! - **Alerts**: `count`, `haptic_rate` (delivered / count), `uncorrected` (no response), and the
//!   median and 90th percentile of `response_ms` over corrected alerts by the **nearest-rank**
//!   method: the value at rank `⌈p·n⌉` of the sorted responses (the median of an even count is
//!   the lower middle value; always an observed value).
//!
//! One pass over each run's samples, in per-hour chunks, with no per-sample allocation. State
//! (holds, the lateral-velocity window) carries over between runs that continue each other
//! ([`super::shifts::continues`]), so one run and the same samples in several runs measure alike.

use serde::{Deserialize, Serialize};

use super::models::hoogendoorn::flexion_flag;
use super::models::iso11226::{
    BACKWARD_BELOW_DEG, MODERATE_MAX_DEG, NEUTRAL_MAX_DEG, Verdict, flexion_verdict, maht_s,
};
use super::movements::{LiftStyle, Movement, MovementKind};
use super::shifts::{self, LocalHour, Shift, ShiftRules};
use super::{FLEX, LAT, Run, Sample, TWIST};
use super::{gait, nuisance};

/// Backward inclination is judged from `BACKWARD_BELOW_DEG − this` (−5°): sensor noise and
/// calibration offset around upright standing (ErgoCapture's cut, risk-models.md §2 [S]).
pub const BACKWARD_TOLERANCE_DEG: f64 = 5.0;
/// A hold ends once flexion has stayed out of the 20–60° zone this long.
pub const HOLD_BREAK_S: f64 = 1.0;
/// Samples spanned by the lateral-velocity difference (a 3-sample moving average's derivative).
pub const LATERAL_SPAN_SAMPLES: usize = 3;

/// Movements counted. A deep bend counts in both `bends` and `deep_bends`; every lift counts in
/// `lifts` and in one of `stoop_lifts` / `squat_lifts`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
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

impl Counts {
    /// Adds another set of counts (a day's shifts, a week's).
    pub fn merge(&mut self, other: &Counts) {
        self.bends += other.bends;
        self.deep_bends += other.deep_bends;
        self.twists += other.twists;
        self.lateral_bends += other.lateral_bends;
        self.reaches += other.reaches;
        self.lifts += other.lifts;
        self.stoop_lifts += other.stoop_lifts;
        self.squat_lifts += other.squat_lifts;
        self.static_postures += other.static_postures;
    }

    /// Counts one movement (see the module documentation).
    pub fn add(&mut self, movement: &Movement) {
        match movement.kind {
            MovementKind::Bend => {
                self.bends += 1;
                if movement.deep {
                    self.deep_bends += 1;
                }
            }
            MovementKind::StaticPosture => self.static_postures += 1,
            MovementKind::LateralBend => self.lateral_bends += 1,
            MovementKind::Twist => self.twists += 1,
            MovementKind::Reach => self.reaches += 1,
            MovementKind::Lift => {
                self.lifts += 1;
                match movement.lift_style {
                    Some(LiftStyle::Stoop) => self.stoop_lifts += 1,
                    Some(LiftStyle::Squat) => self.squat_lifts += 1,
                    None => {}
                }
            }
        }
    }
}

/// One clock hour of a shift (site-local hour boundaries).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourMetrics {
    pub hour_start_ms: i64,
    /// Site-local hour of day, 0–23.
    pub hour_of_day: u8,
    pub wear_s: f64,
    pub counts: Counts,
}

/// Seconds of wear time in each ISO 11226 trunk-flexion verdict (holding-time rule applied).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Iso11226Seconds {
    pub acceptable: f64,
    pub conditional: f64,
    pub not_acceptable: f64,
}

/// Hoogendoorn et al. 2000 exposure thresholds (risk-models.md §2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Hoogendoorn {
    /// Fraction of wear time with trunk flexion ≥ 60°.
    pub flexion_60_fraction: f64,
    /// `flexion_60_fraction > 0.05` (RR 1.5).
    pub flexion_flag: bool,
    /// Trunk rotation ≥ 30° for > 10 % of time cannot be judged: the wearable measures twist
    /// velocity, not rotation angle. Always `None`; kept so the key exists for readers.
    pub rotation_flag: Option<bool>,
    /// Lifts of ≥ 25 kg in the shift (from task loads), `None` without a configured load.
    pub heavy_lifts: Option<u32>,
    /// `heavy_lifts > 15` (RR 1.6), `None` without a configured load.
    pub heavy_lift_flag: Option<bool>,
}

/// The four kinematic inputs of Marras' LMM model the wearable measures (no probability:
/// the coefficients are not confirmed, risk-models.md §1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LmmFactors {
    pub lift_rate_per_h: f64,
    pub max_flexion_deg: f64,
    pub avg_twist_dps: f64,
    pub max_lateral_dps: f64,
}

/// The wearable's own alerts over the shift.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertStats {
    pub count: u32,
    /// Fraction of alerts whose haptic pulse was delivered; `None` without alerts.
    pub haptic_rate: Option<f64>,
    pub median_response_ms: Option<u32>,
    pub p90_response_ms: Option<u32>,
    /// Alerts never corrected.
    pub uncorrected: u32,
    /// By kind, during gait, and the inputs of the threshold suggestions (`analysis::nuisance`);
    /// empty in reports stored before it.
    #[serde(default)]
    pub nuisance: nuisance::ShiftNuisance,
}

/// Everything measured over one shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftMetrics {
    pub wear_s: f64,
    pub counts: Counts,
    pub per_hour: Vec<HourMetrics>,
    pub iso11226_s: Iso11226Seconds,
    pub hoogendoorn: Hoogendoorn,
    pub lmm_factors: LmmFactors,
    pub alerts: AlertStats,
}

/// Seconds are reported on a grid of 2⁻²⁰ s so that sums of them are exact in `f64`.
const GRID_PER_S: u128 = 1 << 20;

/// Exact durations in ticks of `1 / per_s` seconds.
#[derive(Debug, Clone, Copy)]
struct Ticks {
    per_s: u128,
}

impl Ticks {
    /// One tick per sample of every rate: `lcm` of the runs' rates (a run of rate 0 counts as 1 Hz,
    /// like [`Run::time_of`]). Absurd mixes whose lcm passes 10⁹ fall back to nanosecond ticks
    /// (rounded per sample; the sums stay exact among themselves).
    fn for_runs(runs: &[Run]) -> Self {
        let mut per_s: u128 = 1;
        for run in runs {
            let rate = u128::from(run.rate_hz.max(1));
            per_s = per_s / gcd(per_s, rate) * rate;
            if per_s > 1_000_000_000 {
                return Self {
                    per_s: 1_000_000_000,
                };
            }
        }
        Self { per_s }
    }

    fn per_sample(self, rate_hz: u16) -> u64 {
        let rate = u128::from(rate_hz.max(1));
        u64::try_from((self.per_s + rate / 2) / rate).unwrap_or(u64::MAX)
    }

    /// `ticks` on the 2⁻²⁰ s grid, rounded to nearest.
    fn grid(self, ticks: u128) -> u128 {
        (ticks * GRID_PER_S + self.per_s / 2) / self.per_s
    }

    /// Seconds of consecutive parts, each rounded so that they add up exactly to the rounded
    /// whole (cumulative rounding on the grid).
    fn seconds_of_parts<const N: usize>(self, parts: [u128; N]) -> [f64; N] {
        let mut out = [0.0; N];
        let (mut done_ticks, mut done_grid) = (0u128, 0u128);
        for (slot, part) in out.iter_mut().zip(parts) {
            done_ticks += part;
            let grid = self.grid(done_ticks);
            *slot = grid_to_s(grid - done_grid);
            done_grid = grid;
        }
        out
    }
}

fn grid_to_s(grid: u128) -> f64 {
    // Below 2⁵³ grid units (≈ 272 years) the conversion and any sum of such values are exact.
    grid as f64 / GRID_PER_S as f64
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// Flexion in 0.01° for a threshold in degrees.
fn centideg(deg: f64) -> i32 {
    (deg * 100.0).round() as i32
}

/// Zone edges in 0.01°.
#[derive(Debug, Clone, Copy)]
struct Edges {
    neutral_max: i32,
    moderate_max: i32,
    backward_below: i32,
    at_60: i32,
}

/// The single pass over a shift's samples.
struct Pass {
    ticks: Ticks,
    edges: Edges,
    /// Rate and ticks per sample of the run being fed.
    rate_hz: u16,
    per_sample: u64,
    break_samples: u32,
    acceptable: u128,
    conditional: u128,
    not_acceptable: u128,
    at_or_above_60: u128,
    total: u128,
    max_flex: Option<i16>,
    max_lateral_dps: f64,
    hold_samples: u64,
    hold_sum: i64,
    /// Consecutive samples outside the hold zone since the hold's last in-zone sample.
    hold_out: u32,
    /// The last [`LATERAL_SPAN_SAMPLES`] lateral angles (a ring), and how many are valid.
    lat_ring: [i16; LATERAL_SPAN_SAMPLES],
    lat_pos: usize,
    lat_valid: usize,
    /// Largest |lat[k] − lat[k − 3]| in the current run, 0.01°.
    lat_max_step: u32,
}

impl Pass {
    fn new(ticks: Ticks) -> Self {
        Self {
            ticks,
            edges: Edges {
                neutral_max: centideg(NEUTRAL_MAX_DEG),
                moderate_max: centideg(MODERATE_MAX_DEG),
                backward_below: centideg(BACKWARD_BELOW_DEG - BACKWARD_TOLERANCE_DEG),
                at_60: centideg(60.0),
            },
            rate_hz: 1,
            per_sample: ticks.per_sample(1),
            break_samples: 1,
            acceptable: 0,
            conditional: 0,
            not_acceptable: 0,
            at_or_above_60: 0,
            total: 0,
            max_flex: None,
            max_lateral_dps: 0.0,
            hold_samples: 0,
            hold_sum: 0,
            hold_out: 0,
            lat_ring: [0; LATERAL_SPAN_SAMPLES],
            lat_pos: 0,
            lat_valid: 0,
            lat_max_step: 0,
        }
    }

    /// Starts a run; `continued` keeps the hold and the lateral window of the previous one.
    fn start_run(&mut self, rate_hz: u16, continued: bool) {
        self.end_run();
        if !continued {
            self.end_hold();
            self.lat_valid = 0;
        }
        self.rate_hz = rate_hz.max(1);
        self.per_sample = self.ticks.per_sample(rate_hz);
        self.break_samples = (HOLD_BREAK_S * f64::from(self.rate_hz)).ceil().max(1.0) as u32;
    }

    /// Folds the current run's lateral peak into the shift's.
    fn end_run(&mut self) {
        let dps = f64::from(self.lat_max_step) * f64::from(self.rate_hz)
            / (100.0 * LATERAL_SPAN_SAMPLES as f64);
        self.max_lateral_dps = self.max_lateral_dps.max(dps);
        self.lat_max_step = 0;
    }

    /// Judges the open hold (see the module documentation) and closes it.
    fn end_hold(&mut self) {
        self.judge_hold(self.hold_samples, self.hold_sum);
        self.hold_samples = 0;
        self.hold_sum = 0;
        self.hold_out = 0;
    }

    /// Books a hold of `n` in-zone samples whose flexions (0.01°) add up to `sum`.
    fn judge_hold(&mut self, n: u64, sum: i64) {
        if n == 0 {
            return;
        }
        let rate = f64::from(self.rate_hz);
        let mean_deg = sum as f64 / n as f64 / 100.0;
        let held_s = n as f64 / rate;
        let conditional = match flexion_verdict(mean_deg, held_s, false) {
            // `as` saturates: an infinite limit keeps all, NaN none.
            Verdict::NotAcceptable => n.min((maht_s(mean_deg) * rate).floor().max(0.0) as u64),
            Verdict::Conditional | Verdict::Acceptable => n,
        };
        let w = u128::from(self.per_sample);
        self.conditional += u128::from(conditional) * w;
        self.not_acceptable += u128::from(n - conditional) * w;
    }

    /// Feeds consecutive samples of the current run.
    fn feed(&mut self, samples: &[Sample]) {
        const SPAN: usize = LATERAL_SPAN_SAMPLES;
        // Lateral steps |lat[k] − lat[k − 3]|: the first samples against the window carried in,
        // the rest within the slice.
        let lead = samples.len().min(SPAN);
        for s in &samples[..lead] {
            if self.lat_valid == SPAN {
                let old = self.lat_ring[self.lat_pos];
                let step = (i32::from(s[LAT]) - i32::from(old)).unsigned_abs();
                self.lat_max_step = self.lat_max_step.max(step);
            } else {
                self.lat_valid += 1;
            }
            self.lat_ring[self.lat_pos] = s[LAT];
            self.lat_pos = (self.lat_pos + 1) % SPAN;
        }
        let mut lat_max_step = self.lat_max_step;
        for (old, new) in samples.iter().zip(&samples[lead..]) {
            let step = (i32::from(new[LAT]) - i32::from(old[LAT])).unsigned_abs();
            lat_max_step = lat_max_step.max(step);
        }
        self.lat_max_step = lat_max_step;
        if let Some(last) = samples.len().checked_sub(SPAN) {
            for (slot, s) in self.lat_ring.iter_mut().zip(&samples[last..]) {
                *slot = s[LAT];
            }
            self.lat_pos = 0;
        }

        let e = self.edges;
        let break_samples = self.break_samples;
        let (mut acceptable, mut not_acceptable, mut at_60) = (0u64, 0u64, 0u64);
        let mut max_flex = self.max_flex.unwrap_or(i16::MIN);
        let (mut hold_n, mut hold_sum, mut hold_out) =
            (self.hold_samples, self.hold_sum, self.hold_out);
        for s in samples {
            let flex = s[FLEX];
            let f = i32::from(flex);
            max_flex = max_flex.max(flex);
            at_60 += u64::from(f >= e.at_60);
            if f > e.neutral_max && f <= e.moderate_max {
                hold_n += 1;
                hold_sum += i64::from(f);
                hold_out = 0;
            } else {
                if f > e.moderate_max || f < e.backward_below {
                    not_acceptable += 1;
                } else {
                    acceptable += 1;
                }
                if hold_n > 0 {
                    hold_out += 1;
                    if hold_out >= break_samples {
                        self.judge_hold(hold_n, hold_sum);
                        (hold_n, hold_sum, hold_out) = (0, 0, 0);
                    }
                }
            }
        }
        (self.hold_samples, self.hold_sum, self.hold_out) = (hold_n, hold_sum, hold_out);
        if !samples.is_empty() {
            self.max_flex = Some(max_flex);
        }
        let w = u128::from(self.per_sample);
        self.acceptable += u128::from(acceptable) * w;
        self.not_acceptable += u128::from(not_acceptable) * w;
        self.at_or_above_60 += u128::from(at_60) * w;
        self.total += samples.len() as u128 * w;
    }
}

/// How many samples of `run` from index `from` on are taken before `end_ms`.
fn samples_before(run: &Run, end_ms: i64, from: usize) -> usize {
    run.samples_before(end_ms).max(from)
}

/// Alert statistics (nearest-rank percentiles, see the module documentation).
fn alert_stats(shift: &Shift, gait: &[gait::GaitSpan]) -> AlertStats {
    let alerts = &shift.alerts;
    let count = u32::try_from(alerts.len()).unwrap_or(u32::MAX);
    let delivered = alerts.iter().filter(|a| a.haptic).count();
    let mut responses: Vec<u32> = alerts.iter().filter_map(|a| a.response_ms).collect();
    responses.sort_unstable();
    AlertStats {
        count,
        haptic_rate: (!alerts.is_empty()).then(|| delivered as f64 / alerts.len() as f64),
        median_response_ms: nearest_rank(&responses, 50),
        p90_response_ms: nearest_rank(&responses, 90),
        uncorrected: u32::try_from(alerts.len() - responses.len()).unwrap_or(u32::MAX),
        nuisance: nuisance::measure(&shift.runs, gait, alerts),
    }
}

/// Mean |axial velocity| in °/s over the samples of `runs` outside `gait` (sorted bouts); 0
/// when every sample is in gait. Each sample weighs its own duration, so runs at different
/// rates mix as time.
fn avg_twist_outside_gait(runs: &[Run], gait: &[gait::GaitSpan]) -> f64 {
    let (mut turned, mut seconds) = (0.0f64, 0.0f64);
    let abs_sum = |samples: &[Sample]| -> u64 {
        samples
            .iter()
            .map(|s| u64::from(s[TWIST].unsigned_abs()))
            .sum()
    };
    for run in runs {
        let (mut sum, mut n) = (abs_sum(&run.samples), run.samples.len() as u64);
        for walked in gait::sample_ranges(run, gait) {
            sum -= abs_sum(&run.samples[walked.clone()]);
            n -= walked.len() as u64;
        }
        let rate = f64::from(run.rate_hz.max(1));
        turned += sum as f64 / 10.0 / rate;
        seconds += n as f64 / rate;
    }
    if seconds > 0.0 { turned / seconds } else { 0.0 }
}

/// The `percent`th percentile of ascending `sorted` by nearest rank: the value at rank
/// `⌈percent·n / 100⌉` (1-based, at least 1); `None` when empty.
pub fn nearest_rank(sorted: &[u32], percent: u32) -> Option<u32> {
    let n = sorted.len();
    let rank = (u128::from(percent) * n as u128).div_ceil(100).max(1);
    sorted
        .get(usize::try_from(rank).ok()? - 1)
        .or(sorted.last())
        .copied()
}

/// Measures a shift from its runs, its detected movements (all runs, in time order) and alerts;
/// hours are the site's local clock hours (`rules.time_zone`); `gait` is the shift's gait bouts
/// (`gait::shift_gait_spans`, found once for the detector and here). The counts trust the flags
/// the detector set.
pub fn measure(
    shift: &Shift,
    movements: &[Movement],
    gait: &[gait::GaitSpan],
    rules: &ShiftRules,
) -> ShiftMetrics {
    let span_start = shift
        .runs
        .iter()
        .map(|r| r.start_ms)
        .fold(shift.start_ms, i64::min);
    let span_end = shift
        .runs
        .iter()
        .map(Run::end_ms)
        .fold(shift.end_ms, i64::max);
    let hours: Vec<LocalHour> = shifts::time_zone(rules)
        .map(|tz| shifts::local_hours(&tz, span_start, span_end))
        .unwrap_or_default();

    let ticks = Ticks::for_runs(&shift.runs);
    let mut pass = Pass::new(ticks);
    let mut hour_ticks = vec![0u128; hours.len()];
    let mut previous: Option<&Run> = None;
    for run in &shift.runs {
        let continued = previous.is_some_and(|p| {
            p.rate_hz == run.rate_hz && shifts::continues(p.end_ms(), run.start_ms, run.rate_hz)
        });
        pass.start_run(run.rate_hz, continued);
        let w = u128::from(pass.per_sample);
        let mut k = 0;
        let first = hours.partition_point(|h| h.end_ms <= run.start_ms);
        for (hour, slot) in hours.iter().zip(hour_ticks.iter_mut()).skip(first) {
            let end = samples_before(run, hour.end_ms, k);
            pass.feed(&run.samples[k..end]);
            *slot += (end - k) as u128 * w;
            k = end;
            if k == run.samples.len() {
                break;
            }
        }
        // Only past the edge of the calendar (or with no hours): wear kept, in the last hour.
        if k < run.samples.len() {
            pass.feed(&run.samples[k..]);
            if let Some(last) = hour_ticks.last_mut() {
                *last += (run.samples.len() - k) as u128 * w;
            }
        }
        previous = Some(run);
    }
    pass.end_run();
    pass.end_hold();

    let [wear_s] = ticks.seconds_of_parts([pass.total]);
    let [acceptable, conditional, not_acceptable] =
        ticks.seconds_of_parts([pass.acceptable, pass.conditional, pass.not_acceptable]);

    let mut counts = Counts::default();
    let mut per_hour: Vec<HourMetrics> = hours
        .iter()
        .map(|h| HourMetrics {
            hour_start_ms: h.start_ms,
            hour_of_day: h.hour_of_day,
            wear_s: 0.0,
            counts: Counts::default(),
        })
        .collect();
    let (mut done_ticks, mut done_grid) = (0u128, 0u128);
    for (hour, part) in per_hour.iter_mut().zip(hour_ticks) {
        done_ticks += part;
        let grid = ticks.grid(done_ticks);
        hour.wear_s = grid_to_s(grid - done_grid);
        done_grid = grid;
    }
    for movement in movements {
        counts.add(movement);
        let at = hours
            .partition_point(|h| h.end_ms <= movement.peak_ms)
            .min(per_hour.len().saturating_sub(1));
        if let Some(hour) = per_hour.get_mut(at) {
            hour.counts.add(movement);
        }
    }

    let fraction_60 = if pass.total == 0 {
        0.0
    } else {
        pass.at_or_above_60 as f64 / pass.total as f64
    };
    let wear_h = wear_s / 3600.0;
    ShiftMetrics {
        wear_s,
        counts,
        per_hour,
        iso11226_s: Iso11226Seconds {
            acceptable,
            conditional,
            not_acceptable,
        },
        hoogendoorn: Hoogendoorn {
            flexion_60_fraction: fraction_60,
            flexion_flag: flexion_flag(fraction_60),
            rotation_flag: None,
            heavy_lifts: None,
            heavy_lift_flag: None,
        },
        lmm_factors: LmmFactors {
            lift_rate_per_h: if wear_h > 0.0 {
                f64::from(counts.lifts) / wear_h
            } else {
                0.0
            },
            max_flexion_deg: pass.max_flex.map_or(0.0, |f| f64::from(f) / 100.0),
            avg_twist_dps: avg_twist_outside_gait(&shift.runs, gait),
            max_lateral_dps: pass.max_lateral_dps,
        },
        alerts: alert_stats(shift, gait),
    }
}

#[cfg(test)]
mod tests {

    use proptest::prelude::*;

    use super::*;
    use crate::analysis::{AlertRecord, Recording, TimedBlock};

    const T0: i64 = 1_714_975_200_000; // 2024-05-06T06:00:00Z

    fn ms(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    /// A run of constant-angle stretches: `(flexion °, seconds)`.
    fn run_of(start_ms: i64, rate_hz: u16, stretches: &[(f64, f64)]) -> Run {
        let mut samples = Vec::new();
        for &(deg, secs) in stretches {
            let n = (secs * f64::from(rate_hz)).round() as usize;
            samples.extend(std::iter::repeat_n([(deg * 100.0) as i16, 0, 0, 0], n));
        }
        Run {
            start_ms,
            rate_hz,
            samples,
        }
    }

    fn shift_of(runs: Vec<Run>, alerts: Vec<AlertRecord>) -> Shift {
        Shift {
            worker: None,
            start_ms: runs.first().map_or(T0, |r| r.start_ms),
            end_ms: runs.last().map_or(T0, Run::end_ms),
            local_day: String::new(),
            runs,
            alerts,
        }
    }

    fn measure_utc(shift: &Shift, movements: &[Movement]) -> ShiftMetrics {
        measure(
            shift,
            movements,
            &gait::shift_gait_spans(&shift.runs),
            &ShiftRules::default(),
        )
    }

    fn movement(kind: MovementKind, peak_ms: i64) -> Movement {
        Movement {
            kind,
            start_ms: peak_ms - 500,
            peak_ms,
            end_ms: peak_ms + 500,
            peak: 50.0,
            deep: false,
            bent: false,
            lift_style: None,
            height_drop_mm: None,
        }
    }

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    fn zones(m: &ShiftMetrics) -> (f64, f64, f64) {
        let z = m.iso11226_s;
        (z.acceptable, z.conditional, z.not_acceptable)
    }

    fn assert_sums_exact(m: &ShiftMetrics) {
        let z = m.iso11226_s;
        assert_eq!(z.acceptable + z.conditional + z.not_acceptable, m.wear_s);
        let hourly: f64 = m.per_hour.iter().map(|h| h.wear_s).sum();
        assert_eq!(hourly, m.wear_s);
    }

    #[test]
    fn tc9_holds_get_the_documented_verdicts_for_their_time() {
        // Each hold sits between 10 s upright (5°): 20 s acceptable around it. (label, angle,
        // held s, expected acceptable, conditional, not acceptable). Row e (full trunk support)
        // cannot be seen by the wearable: every posture is judged unsupported, like row c. Row c
        // is conditional for ⌊127.5 · 25⌋ = 3187 samples = 127.48 s (a sample is conditional
        // while the time it ends at is within the MAHT).
        let rows = [
            ("a", 10.0, 600.0, 620.0, 0.0, 0.0),
            ("b", 45.0, 90.0, 20.0, 90.0, 0.0),
            ("c", 45.0, 200.0, 20.0, 127.48, 72.52),
            ("d", 30.0, 200.0, 20.0, 195.0, 5.0),
            ("e", 45.0, 200.0, 20.0, 127.48, 72.52),
            ("f", 70.0, 5.0, 20.0, 0.0, 5.0),
            ("g", -10.0, 30.0, 20.0, 0.0, 30.0),
            ("i", 60.0, 60.0, 20.0, 60.0, 0.0),
        ];
        for (label, angle, held, acceptable, conditional, not_acceptable) in rows {
            let shift = shift_of(
                vec![run_of(T0, 25, &[(5.0, 10.0), (angle, held), (5.0, 10.0)])],
                Vec::new(),
            );
            let m = measure_utc(&shift, &[]);
            let (a, c, n) = zones(&m);
            assert!(
                close(a, acceptable, 1e-5)
                    && close(c, conditional, 1e-5)
                    && close(n, not_acceptable, 1e-5),
                "TC9 {label}: got {a} / {c} / {n}"
            );
            assert_sums_exact(&m);
        }
    }

    #[test]
    fn a_hold_is_judged_at_its_mean_angle() {
        // Alternating 30° and 50° seconds: mean 40°, MAHT 240 − 4.5 · 20 = 150 s.
        let stretches: Vec<(f64, f64)> = (0..200)
            .map(|i| (if i % 2 == 0 { 30.0 } else { 50.0 }, 1.0))
            .collect();
        let m = measure_utc(&shift_of(vec![run_of(T0, 25, &stretches)], vec![]), &[]);
        assert_eq!(zones(&m), (0.0, 150.0, 50.0));
    }

    #[test]
    fn a_dip_shorter_than_a_second_does_not_reset_the_holding_time_but_a_longer_one_does() {
        let short = run_of(T0, 25, &[(45.0, 100.0), (15.0, 0.96), (45.0, 100.0)]);
        let m = measure_utc(&shift_of(vec![short], vec![]), &[]);
        let (a, c, n) = zones(&m);
        assert!(close(a, 0.96, 1e-5) && close(c, 127.48, 1e-5) && close(n, 72.52, 1e-5));

        let long = run_of(T0, 25, &[(45.0, 100.0), (15.0, 1.0), (45.0, 100.0)]);
        let m = measure_utc(&shift_of(vec![long], vec![]), &[]);
        assert_eq!(zones(&m), (1.0, 200.0, 0.0));
    }

    #[test]
    fn a_wear_gap_ends_a_hold_but_contiguous_runs_continue_it() {
        let first = run_of(T0, 25, &[(45.0, 100.0)]);
        let after_gap = run_of(first.end_ms() + 60_000, 25, &[(45.0, 100.0)]);
        let m = measure_utc(&shift_of(vec![first.clone(), after_gap], vec![]), &[]);
        assert_eq!(zones(&m), (0.0, 200.0, 0.0));

        let contiguous = run_of(first.end_ms() + 20, 25, &[(45.0, 100.0)]);
        let m = measure_utc(&shift_of(vec![first, contiguous], vec![]), &[]);
        let (_, c, n) = zones(&m);
        assert!(close(c, 127.48, 1e-5) && close(n, 72.52, 1e-5));
    }

    #[test]
    fn tc10_thirty_minutes_at_or_above_60_degrees_in_480_flags_flexion_exposure() {
        let run = run_of(
            T0,
            1,
            &[
                (10.0, 225.0 * 60.0),
                (65.0, 30.0 * 60.0),
                (10.0, 225.0 * 60.0),
            ],
        );
        let m = measure_utc(&shift_of(vec![run], vec![]), &[]);
        assert_eq!(m.wear_s, 480.0 * 60.0);
        assert_eq!(m.hoogendoorn.flexion_60_fraction, 0.0625);
        assert!(m.hoogendoorn.flexion_flag);
        assert_eq!(m.hoogendoorn.rotation_flag, None);
        assert_eq!(m.hoogendoorn.heavy_lifts, None);
        assert_eq!(m.hoogendoorn.heavy_lift_flag, None);

        // Exactly 5 % (24 of 480 min, at exactly 60°) is not more than 5 %.
        let run = run_of(T0, 1, &[(60.0, 24.0 * 60.0), (10.0, 456.0 * 60.0)]);
        let m = measure_utc(&shift_of(vec![run], vec![]), &[]);
        assert_eq!(m.hoogendoorn.flexion_60_fraction, 0.05);
        assert!(!m.hoogendoorn.flexion_flag);
    }

    #[test]
    fn movements_are_counted_by_kind_with_deep_bends_and_lift_styles_counted_twice() {
        let run = run_of(T0, 25, &[(5.0, 600.0)]);
        let deep = Movement {
            deep: true,
            ..movement(MovementKind::Bend, T0 + 1000)
        };
        let stoop = Movement {
            lift_style: Some(LiftStyle::Stoop),
            ..movement(MovementKind::Lift, T0 + 2000)
        };
        let squat = Movement {
            lift_style: Some(LiftStyle::Squat),
            ..movement(MovementKind::Lift, T0 + 3000)
        };
        let movements = [
            movement(MovementKind::Bend, T0 + 500),
            deep,
            stoop,
            squat,
            movement(MovementKind::Twist, T0 + 4000),
            movement(MovementKind::LateralBend, T0 + 5000),
            movement(MovementKind::Reach, T0 + 6000),
            movement(MovementKind::StaticPosture, T0 + 7000),
        ];
        let m = measure_utc(&shift_of(vec![run], vec![]), &movements);
        assert_eq!(
            m.counts,
            Counts {
                bends: 2,
                deep_bends: 1,
                twists: 1,
                lateral_bends: 1,
                reaches: 1,
                lifts: 2,
                stoop_lifts: 1,
                squat_lifts: 1,
                static_postures: 1,
            }
        );
    }

    #[test]
    fn hours_split_wear_and_movements_and_add_up_to_the_shift() {
        let start = ms("2024-05-06T07:30:00Z");
        let first = run_of(start, 25, &[(5.0, 5400.0)]); // 07:30–09:00
        let second = run_of(ms("2024-05-06T09:20:00Z"), 25, &[(5.0, 3300.0)]); // 09:20–10:15
        let movements = [
            movement(MovementKind::Bend, ms("2024-05-06T07:45:00Z")),
            movement(MovementKind::Bend, ms("2024-05-06T08:59:59.999Z")),
            movement(MovementKind::Twist, ms("2024-05-06T09:00:00Z")),
            movement(MovementKind::Lift, ms("2024-05-06T10:10:00Z")),
        ];
        let m = measure_utc(&shift_of(vec![first, second], vec![]), &movements);
        let hours: Vec<(u8, f64, u32)> = m
            .per_hour
            .iter()
            .map(|h| {
                (
                    h.hour_of_day,
                    h.wear_s,
                    h.counts.bends + h.counts.twists + h.counts.lifts,
                )
            })
            .collect();
        assert_eq!(
            hours,
            vec![
                (7, 1800.0, 1),
                (8, 3600.0, 1),
                (9, 2400.0, 1),
                (10, 900.0, 1)
            ]
        );
        assert_eq!(m.per_hour[0].hour_start_ms, ms("2024-05-06T07:00:00Z"));
        assert_eq!(m.wear_s, 8700.0);
        assert_sums_exact(&m);
    }

    #[test]
    fn hours_follow_berlin_clocks_on_the_spring_forward_and_fall_back_nights() {
        let berlin = ShiftRules {
            time_zone: "Europe/Berlin".to_owned(),
            ..ShiftRules::default()
        };
        let spring = run_of(ms("2024-03-30T23:00:00Z"), 5, &[(5.0, 4.0 * 3600.0)]);
        let m = measure(&shift_of(vec![spring], vec![]), &[], &[], &berlin);
        let hours: Vec<(u8, f64)> = m
            .per_hour
            .iter()
            .map(|h| (h.hour_of_day, h.wear_s))
            .collect();
        assert_eq!(
            hours,
            vec![(0, 3600.0), (1, 3600.0), (3, 3600.0), (4, 3600.0)]
        );

        let fall = run_of(ms("2024-10-26T22:00:00Z"), 5, &[(5.0, 5.0 * 3600.0)]);
        let m = measure(&shift_of(vec![fall], vec![]), &[], &[], &berlin);
        let hours: Vec<(u8, f64)> = m
            .per_hour
            .iter()
            .map(|h| (h.hour_of_day, h.wear_s))
            .collect();
        assert_eq!(
            hours,
            vec![
                (0, 3600.0),
                (1, 3600.0),
                (2, 3600.0),
                (2, 3600.0),
                (3, 3600.0)
            ]
        );
        assert_eq!(m.per_hour[3].hour_start_ms, ms("2024-10-27T01:00:00Z"));
    }

    #[test]
    fn lmm_factors_are_lift_rate_max_flexion_mean_absolute_twist_and_smoothed_lateral_peak() {
        // 2 h at 25 Hz: first hour twisting at +30 °/s, second at −10 °/s; a lateral ramp of
        // 0.5° per sample (12.5 °/s) for 1 s, one single-sample 1° spike, a 75° bend.
        let n = 25 * 7200;
        let mut samples = vec![[500i16, 0, 300, 0]; n];
        for s in &mut samples[n / 2..] {
            s[TWIST] = -100;
        }
        for (i, s) in samples[1000..1025].iter_mut().enumerate() {
            s[LAT] = 50 * i as i16;
        }
        for s in &mut samples[1025..] {
            s[LAT] = 1200;
        }
        samples[5000][LAT] = 1300;
        samples[9000][FLEX] = 7500;
        let run = Run {
            start_ms: T0,
            rate_hz: 25,
            samples,
        };
        let lifts: Vec<Movement> = (0..30)
            .map(|i| movement(MovementKind::Lift, T0 + i * 60_000))
            .collect();
        let m = measure_utc(&shift_of(vec![run], vec![]), &lifts);
        assert_eq!(m.lmm_factors.lift_rate_per_h, 15.0);
        assert_eq!(m.lmm_factors.max_flexion_deg, 75.0);
        assert_eq!(m.lmm_factors.avg_twist_dps, 20.0);
        assert!(close(m.lmm_factors.max_lateral_dps, 12.5, 1e-12));
    }

    #[test]
    fn the_average_twisting_velocity_leaves_out_walking() {
        // 25 Hz: 10 min of gait (the pelvis swinging at ±60 °/s once per second, ±19° a swing),
        // then 10 min turning steadily at 30 °/s. With gait in, the mean would be ~34 °/s.
        let n = 25 * 600;
        let mut samples: Vec<Sample> = (0..n)
            .map(|k| {
                let v = 600.0 * (std::f64::consts::TAU * k as f64 / 25.0).sin();
                [500, 0, v.round() as i16, 0]
            })
            .collect();
        samples.extend(std::iter::repeat_n([500i16, 0, 300, 0], n));
        let run = Run {
            start_ms: T0,
            rate_hz: 25,
            samples,
        };
        assert_eq!(gait::gait_spans(&run).len(), 1, "the walk is one gait bout");
        let m = measure_utc(&shift_of(vec![run], vec![]), &[]);
        let avg = m.lmm_factors.avg_twist_dps;
        assert!(close(avg, 30.0, 0.05), "{avg} °/s");
    }

    #[test]
    fn a_single_noisy_lateral_sample_is_smoothed_over_three_samples() {
        let mut samples = vec![[0i16; 4]; 250];
        samples[100][LAT] = 100; // 1° for one sample: 25 °/s raw, 1° / 0.12 s smoothed
        let run = Run {
            start_ms: T0,
            rate_hz: 25,
            samples,
        };
        let m = measure_utc(&shift_of(vec![run], vec![]), &[]);
        assert!(close(
            m.lmm_factors.max_lateral_dps,
            100.0 * 25.0 / 300.0,
            1e-12
        ));
    }

    fn alert(response_ms: Option<u32>, haptic: bool) -> AlertRecord {
        AlertRecord {
            worker: None,
            wall_ms: Some(T0),
            kind: 1,
            peak: 5000,
            duration_ms: 1000,
            response_ms,
            haptic,
        }
    }

    #[test]
    fn alert_statistics_use_nearest_rank_percentiles_over_corrected_alerts() {
        let mut alerts: Vec<AlertRecord> = [700, 100, 1000, 300, 200, 900, 500, 400, 800, 600]
            .into_iter()
            .enumerate()
            .map(|(i, r)| alert(Some(r), i < 7))
            .collect();
        alerts.push(alert(None, true));
        alerts.push(alert(None, true));
        let m = measure_utc(&shift_of(vec![run_of(T0, 25, &[(5.0, 60.0)])], alerts), &[]);
        assert_eq!(
            m.alerts,
            AlertStats {
                count: 12,
                haptic_rate: Some(0.75),
                median_response_ms: Some(500),
                p90_response_ms: Some(900),
                uncorrected: 2,
                nuisance: nuisance::ShiftNuisance {
                    by_kind: nuisance::AlertKinds {
                        bend: 12,
                        ..Default::default()
                    },
                    brief_bends_ms: nuisance::Histogram(vec![0, 0, 0, 0, 10]),
                    ..Default::default()
                },
            }
        );
        assert_eq!(nearest_rank(&[1, 3, 5], 50), Some(3));
        assert_eq!(nearest_rank(&[1, 3, 5], 90), Some(5));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[], 50), None);
        let none = measure_utc(&shift_of(vec![], vec![]), &[]);
        assert_eq!(none.alerts, AlertStats::default());
    }

    fn varied_samples(count: usize) -> Vec<Sample> {
        // A deterministic walk through every zone, with twist and lateral motion.
        let mut state: u32 = 12345;
        let mut flex: i32 = 0;
        (0..count)
            .map(|i| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let step = ((state >> 16) % 201) as i32 - 100;
                flex = (flex + step).clamp(-1500, 9000);
                if i % 5000 < 1800 {
                    flex = flex.clamp(2500, 5500);
                }
                [
                    flex as i16,
                    ((state >> 8) % 600) as i16 - 300,
                    ((state >> 4) % 1000) as i16 - 500,
                    0,
                ]
            })
            .collect()
    }

    #[test]
    fn one_run_and_the_same_samples_in_several_runs_measure_identically() {
        let all = varied_samples(25 * 3 * 3600);
        let one = Run {
            start_ms: ms("2024-05-06T07:40:00Z"),
            rate_hz: 25,
            samples: all.clone(),
        };
        let mut runs = Vec::new();
        let mut start = one.start_ms;
        for chunk in all.chunks(25 * 1234 + 7) {
            let run = Run {
                start_ms: start,
                rate_hz: 25,
                samples: chunk.to_vec(),
            };
            start = run.end_ms();
            runs.push(run);
        }
        let movements: Vec<Movement> = (0..50)
            .map(|i| movement(MovementKind::Bend, one.start_ms + i * 200_000))
            .collect();
        let a = measure_utc(&shift_of(vec![one], vec![]), &movements);
        let b = measure_utc(&shift_of(runs, vec![]), &movements);
        assert_eq!(a, b);
        assert!(a.iso11226_s.conditional > 0.0 && a.iso11226_s.not_acceptable > 0.0);
        assert_sums_exact(&a);
    }

    #[test]
    fn a_twelve_hour_shift_at_25_hz_is_split_into_one_shift_of_twelve_hours() {
        let samples = varied_samples(25 * 12 * 3600);
        let blocks = samples
            .chunks(25 * 60)
            .enumerate()
            .map(|(i, chunk)| TimedBlock {
                worker: None,
                wall_ms: Some(T0 + i as i64 * 60_000),
                rate_hz: 25,
                samples: chunk.to_vec(),
            })
            .collect();
        let recording = Recording {
            blocks,
            ..Recording::default()
        };
        // Speed is the analysis bench's business (`cargo bench -p dockd --bench analysis`).
        let rules = ShiftRules::default();
        let split = shifts::split(&recording, &rules).unwrap();
        assert_eq!(split.shifts.len(), 1);
        let shift = &split.shifts[0];
        let m = measure(shift, &[], &gait::shift_gait_spans(&shift.runs), &rules);
        assert_eq!(m.wear_s, 12.0 * 3600.0);
        assert_eq!(m.per_hour.len(), 12);
    }

    fn arbitrary_shift() -> impl Strategy<Value = (Shift, Vec<Movement>)> {
        let stretch = (-3000i16..9000, 1usize..400);
        let run = (
            prop::sample::select(vec![1u16, 10, 25, 30, 50]),
            prop::collection::vec(stretch, 1..12),
            0i64..4_000_000,
        );
        (
            0i64..86_400_000,
            prop::collection::vec(run, 1..5),
            prop::collection::vec(0i64..30_000_000, 0..20),
        )
            .prop_map(|(offset, runs, peaks)| {
                let mut start = T0 + offset;
                let runs: Vec<Run> = runs
                    .into_iter()
                    .map(|(rate_hz, stretches, gap)| {
                        let samples = stretches
                            .into_iter()
                            .flat_map(|(flex, n)| std::iter::repeat_n([flex, 0, 0, 0], n))
                            .collect();
                        let run = Run {
                            start_ms: start + gap,
                            rate_hz,
                            samples,
                        };
                        start = run.end_ms();
                        run
                    })
                    .collect();
                let movements = peaks
                    .into_iter()
                    .map(|p| movement(MovementKind::Bend, T0 + p))
                    .collect();
                (shift_of(runs, Vec::new()), movements)
            })
    }

    proptest! {
        #[test]
        fn zones_and_hours_add_up_exactly_to_wear_time((shift, movements) in arbitrary_shift()) {
            let m = measure_utc(&shift, &movements);
            let z = m.iso11226_s;
            prop_assert_eq!(z.acceptable + z.conditional + z.not_acceptable, m.wear_s);
            prop_assert_eq!(z.not_acceptable + z.conditional + z.acceptable, m.wear_s);
            let hourly: f64 = m.per_hour.iter().map(|h| h.wear_s).sum();
            prop_assert_eq!(hourly, m.wear_s);
            let bends: u32 = m.per_hour.iter().map(|h| h.counts.bends).sum();
            prop_assert_eq!(bends, m.counts.bends);
            let samples_s: f64 = shift
                .runs
                .iter()
                .map(|r| r.samples.len() as f64 / f64::from(r.rate_hz))
                .sum();
            prop_assert!((m.wear_s - samples_s).abs() < 1e-5);
            prop_assert!(z.acceptable >= 0.0 && z.conditional >= 0.0 && z.not_acceptable >= 0.0);
        }
    }
}
