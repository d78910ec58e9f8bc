//! Movement detection: turns a run of posture samples into discrete movements (bends, deep bends,
//! static postures, lateral bends, ergonomic twists, reaches, stoop and squat lifts) with
//! hysteresis and minimum durations. It owns the detectors and their default thresholds; it must never look at
//! anything but the run and the thresholds (no clock, no store, no worker identity).
//!
//! One pass over the samples, one small state machine per detector, integer comparisons on the
//! raw `i16` units and two `f32` filters on height; nothing is allocated per sample. Every
//! duration is converted to a sample count from the run's own `rate_hz`, so any rate works.
//!
//! Common rules of every angle/velocity detector (a `Hysteresis` episode):
//! - an episode **opens** at the first sample at or beyond the threshold and **closes** at the
//!   first sample back below the threshold minus the hysteresis, so noise near the threshold
//!   neither splits one movement into several nor starts a new one;
//! - its span (`start_ms`..`end_ms`) runs from the first to just after the last sample at or
//!   beyond the threshold (dips between the two levels included): the time "at the angle";
//! - it counts only if that span lasts at least the detector's minimum duration;
//! - an episode still open when the run ends is closed there (runs are contiguous, so this is
//!   the end of the recording).
//!
//! A bend is the exception to the exit rule: it closes only once flexion is below
//! `standing_deg` (the wearer stood up), so a flexion that dips between two crossings of
//! `bend_deg` without standing up (54° → 33° → 47°) is one bend.
//!
//! **Twists** are ergonomic twists, not fast axial velocity: one continuous rotation of the trunk
//! in one direction (the axial velocity integrated from leaving the ±`twist_deadband_dps` band
//! until it re-enters it) of at least `twist_deg`, whose velocity peaks at `twist_dps` or more,
//! that lasts `twist_min_s`, and that starts or ends no closer than `twist_gait_margin_s` to a
//! bout of walking or jogging found by `super::gait` (there, a rotation is a stride or a turn
//! while walking, not a twist). Its `peak` is the rotation in degrees; `bent` says the trunk was
//! flexed to `twist_bent_deg` during it (Soter's "back twisting", RM §5).
//!
//! Lifts work on height: a 0.2 s low-pass of the height channel against a standing-height
//! reference that follows the wearer only while upright (flexion 0..`static_deg`) and near it,
//! and jumps to a new level held upright for 1 s above it or 5 s below it (stood up, sat down).
//!
//! References are to `../shared/risk-models.md` (cited "RM §n"). Values it marks unconfirmed, and
//! the choices below that no source fixes, are labelled "design choice". `movements/recall_tests.rs`
//! (tests) scores the detectors against the emulator's per-event ground truth.

use serde::{Deserialize, Serialize};

use super::gait::{GaitSpan, gait_spans};
use super::models::{hoogendoorn, vendor};
use super::{FLEX, HEIGHT, LAT, Run, TWIST};

/// Detector thresholds, set by `[analysis]` in the config. Every default is justified below.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// A forward bend is trunk flexion at or above this (the wearable's own default alert angle,
    /// protocol.md CONFIG `bend_alert` 4500 = 45°).
    pub bend_deg: f32,
    /// A bend whose peak reaches this is also a deep bend (ISO 11226 "not acceptable" zone,
    /// > 60°, RM §2; also Hoogendoorn 2000's flexion threshold, RM §2).
    pub deep_bend_deg: f32,
    /// A bend ends only once flexion is below this: the wearer stood up. ISO 11226's neutral
    /// zone ends at 20° (RM §2), the same level as `static_deg`; a dip that stays above it
    /// (real squats went 54° → 33° → 47°, issue 13) is one bend, as a person counts it.
    pub standing_deg: f32,
    /// Hysteresis of every angle detector but the bend's (see `standing_deg`): an episode ends
    /// only once the angle is this far back below its threshold. 5° is above the 3.0° position accuracy a commercial trunk IMU claims
    /// (StrongArm FUSE, RM §1) plus the sensor's jitter, so noise cannot chatter.
    pub hysteresis_deg: f32,
    /// A bend must stay at or beyond `bend_deg` this long: shorter is a jolt, not a posture
    /// (design choice; the wearable's `bend_hold_ms` of 1 s is when it *alerts*, not what counts).
    pub bend_min_s: f32,
    /// Static posture: flexion beyond the ISO 11226 neutral zone (> 20°, RM §2) ...
    pub static_deg: f32,
    /// ... held at least this long: ISO 11226 calls a posture held more than 4 s static (its
    /// holding-time limits start there). Soter's "awkward static" (> 60° for > 20 s, RM §5) is a
    /// vendor rule and can be read off a static posture's `peak` and duration.
    pub static_min_s: f32,
    /// A lateral bend is a sideways bend of at least this: EN 1005-4 rates lateral bends beyond
    /// 10° ("clearly visible") by frequency, and ISO 11226 rejects static ones beyond 10° (RM §2).
    pub lateral_deg: f32,
    /// A lateral bend must stay beyond `lateral_deg` this long (design choice, as `bend_min_s`).
    pub lateral_min_s: f32,
    /// A twist turns the trunk by at least this in one direction, in degrees: Hoogendoorn 2000's
    /// trunk-rotation exposure threshold (≥ 30°, RM §2, `models::hoogendoorn::ROTATION_DEG`)
    /// and Soter's "twist > 30°" (RM §5).
    /// Gait swings the pelvis by ±4–10° only (issue 13's recordings).
    pub twist_deg: f32,
    /// ... and its axial velocity peaks at least this, in °/s: a slower rotation is the wearer
    /// turning round or shuffling, not a trunk twist (design choice: 30° in 1.5 s as a half-sine
    /// peaks at 31 °/s; twisting velocity is an LMM risk factor, Marras 1993, RM §1, with
    /// unconfirmed cut-offs). Was the fast-twist velocity (60 °/s, the wearable's alert) before
    /// analysis version 2: on real gait that counted every stride (issue 13).
    pub twist_dps: f32,
    /// A rotation runs while the axial velocity stays beyond this band in one direction, in °/s:
    /// twice the ±4.8 °/s jitter of the emulator's noisiest sensor and 4× the 2.5 °/s velocity
    /// accuracy FUSE claims (RM §1), so noise neither ends nor reverses it (design choice; the
    /// same band `gait::DEADBAND_DPS` cuts gait into swings). Read from the old key
    /// `twist_hysteresis_dps` too.
    #[serde(alias = "twist_hysteresis_dps")]
    pub twist_deadband_dps: f32,
    /// A twist's rotation lasts at least this: shorter is a jolt or a sensor spike (design
    /// choice: a 30° twist at the 350 °/s the fastest trunk twists reach takes ~0.15 s).
    pub twist_min_s: f32,
    /// A rotation that starts or ends within this of a gait bout is a turn while walking or a
    /// turn to walk off, not a twist (design choice: turning to walk away takes 1–2 s, and a
    /// stride is ~1 s, so 2 s covers the turn and the first or last stride the gait bout misses).
    pub twist_gait_margin_s: f32,
    /// A twist is `bent` when flexion reached this during it: Soter's back twisting is a twist
    /// > 30° combined with a bend > 50° (RM §5, `models::vendor::TWIST_WITH_BEND_DEG`).
    pub twist_bent_deg: f32,
    /// A reach is trunk extension (backward inclination, negative flexion) of at least this:
    /// ISO 11226 rates any backward inclination without support "not acceptable"; 5° is the
    /// cut-off a third-party ISO 11226 implementation uses (RM §2).
    pub reach_deg: f32,
    /// ... while the wearable rises at least this above its standing height, in mm: reaching
    /// overhead lifts the hips onto the toes (design choice: no published threshold, RM §8).
    /// 0 counts every extension.
    pub reach_rise_mm: f32,
    /// A reach must stay beyond `reach_deg` this long (design choice).
    pub reach_min_s: f32,
    /// A lift is a height drop of at least this below standing height, in mm, that recovers.
    /// A waist clip sits roughly 0.2 m above the hip joints, so a trunk bend alone lowers it by
    /// less than that even at 90°; reaching a load near the floor takes the hips down further
    /// (design choice: RM §8 notes the barometer can separate squat from stoop but no threshold
    /// is published). The lift ends once the wearer is back above half this drop.
    pub lift_drop_mm: f32,
    /// A lift must take at least this from leaving standing height to recovering: shorter is a
    /// pressure transient (a door, a gust), not a body going down and up (design choice).
    pub lift_min_s: f32,
    /// ... and at most this: a wearer who stays down longer is sitting, kneeling or working low,
    /// not lifting; that lower height becomes the new reference (design choice).
    pub lift_max_s: f32,
    /// A lift is a stoop when the trunk flexed at least this during it (bending at the back:
    /// the posture Kinetic's wearable flags, RM §5); otherwise a squat (bending at the knees).
    /// Same as `bend_deg`: a stoop lift is one that also counts as a bend.
    pub stoop_deg: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            bend_deg: 45.0,
            deep_bend_deg: 60.0,
            standing_deg: 20.0,
            hysteresis_deg: 5.0,
            bend_min_s: 0.2,
            static_deg: 20.0,
            static_min_s: 4.0,
            lateral_deg: 10.0,
            lateral_min_s: 0.2,
            twist_deg: hoogendoorn::ROTATION_DEG as f32,
            twist_dps: 30.0,
            twist_deadband_dps: 10.0,
            twist_min_s: 0.15,
            twist_gait_margin_s: 2.0,
            twist_bent_deg: vendor::TWIST_WITH_BEND_DEG as f32,
            reach_deg: 5.0,
            reach_rise_mm: 20.0,
            reach_min_s: 0.3,
            lift_drop_mm: 250.0,
            lift_min_s: 0.5,
            lift_max_s: 30.0,
            stoop_deg: 45.0,
        }
    }
}

/// Why a set of thresholds cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    #[error("movement threshold `{0}` must be a finite number ≥ 0")]
    NotFinite(&'static str),
    #[error("`deep_bend_deg` must be at least `bend_deg`")]
    DeepBelowBend,
    #[error("`standing_deg` must be below `bend_deg`")]
    StandingAboveBend,
    #[error("`lift_max_s` must be greater than `lift_min_s`")]
    LiftWindow,
}

impl Thresholds {
    /// Checks the values a config may set. [`detect`] never panics on bad values, but it cannot
    /// find anything sensible with them either.
    pub fn validate(&self) -> Result<(), ThresholdError> {
        let fields = [
            ("bend_deg", self.bend_deg),
            ("deep_bend_deg", self.deep_bend_deg),
            ("standing_deg", self.standing_deg),
            ("hysteresis_deg", self.hysteresis_deg),
            ("bend_min_s", self.bend_min_s),
            ("static_deg", self.static_deg),
            ("static_min_s", self.static_min_s),
            ("lateral_deg", self.lateral_deg),
            ("lateral_min_s", self.lateral_min_s),
            ("twist_deg", self.twist_deg),
            ("twist_dps", self.twist_dps),
            ("twist_deadband_dps", self.twist_deadband_dps),
            ("twist_min_s", self.twist_min_s),
            ("twist_gait_margin_s", self.twist_gait_margin_s),
            ("twist_bent_deg", self.twist_bent_deg),
            ("reach_deg", self.reach_deg),
            ("reach_rise_mm", self.reach_rise_mm),
            ("reach_min_s", self.reach_min_s),
            ("lift_drop_mm", self.lift_drop_mm),
            ("lift_min_s", self.lift_min_s),
            ("lift_max_s", self.lift_max_s),
            ("stoop_deg", self.stoop_deg),
        ];
        if let Some((name, _)) = fields.iter().find(|(_, v)| !(v.is_finite() && *v >= 0.0)) {
            return Err(ThresholdError::NotFinite(name));
        }
        if self.deep_bend_deg < self.bend_deg {
            return Err(ThresholdError::DeepBelowBend);
        }
        if self.standing_deg >= self.bend_deg {
            return Err(ThresholdError::StandingAboveBend);
        }
        if self.lift_max_s <= self.lift_min_s {
            return Err(ThresholdError::LiftWindow);
        }
        Ok(())
    }
}

/// What kind of movement was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// Forward trunk flexion at or above `bend_deg`; `deep` when the peak reaches `deep_bend_deg`.
    Bend,
    /// Flexion held in a non-neutral zone long enough to count as a static posture.
    StaticPosture,
    /// Sideways bend beyond the lateral threshold.
    LateralBend,
    /// An ergonomic twist: one rotation of the trunk of at least `twist_deg`, away from gait.
    Twist,
    /// Trunk extension (leaning back) with the wearer rising: an overhead reach.
    Reach,
    /// A bend with a height drop and recovery; `lift_style` says stoop or squat.
    Lift,
}

/// How a lift was done: bending the back (stoop) or the knees (squat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LiftStyle {
    Stoop,
    Squat,
}

/// One detected movement, with wall times from its run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Movement {
    pub kind: MovementKind,
    /// Bends, static postures, lateral bends, twists, reaches: the first sample at or beyond the
    /// threshold. Lifts: the last sample at standing height before the drop.
    pub start_ms: i64,
    /// The sample of the peak (lifts: of the lowest height).
    pub peak_ms: i64,
    /// Just after the last sample at or beyond the threshold (lifts: the sample back above half
    /// the drop threshold); `end_ms - start_ms` is the duration.
    pub end_ms: i64,
    /// Peak magnitude: degrees for bends, static postures, lateral bends and reaches (absolute
    /// value), degrees of rotation for twists (since analysis version 2; °/s before), degrees
    /// of flexion for lifts.
    pub peak: f32,
    /// Bends only: the peak reached `deep_bend_deg`.
    pub deep: bool,
    /// Twists only: flexion reached `twist_bent_deg` during the rotation (Soter's back
    /// twisting, RM §5).
    #[serde(default)]
    pub bent: bool,
    /// Lifts only.
    pub lift_style: Option<LiftStyle>,
    /// Lifts only: how far the wearable dropped, mm.
    pub height_drop_mm: Option<f32>,
}

/// Time constant of the height filter: a barometric height is noisy sample to sample; 0.2 s
/// keeps a 1 s descent sharp.
const HEIGHT_TAU_S: f32 = 0.2;
/// Time constant of the standing-height reference while upright and near it.
const REFERENCE_TAU_S: f32 = 2.0;
/// The wearer is "at standing height" within this of the reference, mm.
const NEAR_REFERENCE_MM: f32 = 50.0;
/// Upright and above the reference this long: a new standing level (stood up, a platform).
const REANCHOR_UP_S: f32 = 1.0;
/// Upright and below the reference (but not as far as a lift) this long: a new level. Longer
/// than any lift's descent, so a slow squat is not absorbed into the reference.
const REANCHOR_DOWN_S: f32 = 5.0;

/// Detects every movement in `run`, in order of `start_ms` (a deep bend is one `Bend` with
/// `deep`; a stoop lift is usually also a `Bend`), finding the run's gait bouts itself.
pub fn detect(run: &Run, thresholds: &Thresholds) -> Vec<Movement> {
    detect_beside(run, thresholds, &gait_spans(run))
}

/// [`detect`] with the gait bouts already found (`gait::shift_gait_spans` of the run's shift,
/// sorted): the analysis finds them once per shift for the twists and the exposure figures.
pub fn detect_beside(run: &Run, thresholds: &Thresholds, gait: &[GaitSpan]) -> Vec<Movement> {
    let mut detector = Detector::new(run, thresholds);
    for (k, sample) in run.samples.iter().enumerate() {
        detector.step(k, sample);
    }
    detector.finish(gait)
}

/// Degrees (or °/s, or mm) to raw units, saturating; NaN becomes 0.
fn raw(value: f32, per_unit: f32) -> i32 {
    (value * per_unit).round() as i32
}

/// Seconds to a sample count at `rate`, at least one sample.
fn samples(seconds: f32, rate: u16) -> usize {
    ((seconds * f32::from(rate.max(1))).ceil() as usize).max(1)
}

/// The smoothing factor of a one-pole filter with time constant `tau_s` at `rate`.
fn alpha(tau_s: f32, rate: u16) -> f32 {
    1.0 - (-1.0 / (tau_s * f32::from(rate.max(1)))).exp()
}

/// An episode of a signal at or beyond a threshold, in samples of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Episode {
    start: usize,
    /// Exclusive.
    end: usize,
    peak: i32,
    peak_k: usize,
}

/// Threshold with hysteresis and a minimum duration on one signal (see the module docs).
#[derive(Debug, Clone, Copy)]
struct Hysteresis {
    enter: i32,
    exit: i32,
    min_len: usize,
    active: bool,
    start: usize,
    last_over: usize,
    peak: i32,
    peak_k: usize,
}

impl Hysteresis {
    fn new(enter: i32, hysteresis: i32, min_len: usize) -> Self {
        Self {
            enter,
            exit: enter.saturating_sub(hysteresis.max(0)),
            min_len,
            active: false,
            start: 0,
            last_over: 0,
            peak: 0,
            peak_k: 0,
        }
    }

    /// Feeds sample `k`; returns the episode that closed at it, if it lasted long enough.
    #[inline]
    fn step(&mut self, k: usize, value: i32) -> Option<Episode> {
        if !self.active {
            if value >= self.enter {
                self.active = true;
                self.start = k;
                self.last_over = k;
                self.peak = value;
                self.peak_k = k;
            }
            return None;
        }
        if value >= self.enter {
            self.last_over = k;
        }
        if value > self.peak {
            self.peak = value;
            self.peak_k = k;
        }
        if value < self.exit {
            return self.close();
        }
        None
    }

    /// Ends an open episode (at the signal's exit or the run's end).
    fn close(&mut self) -> Option<Episode> {
        if !std::mem::take(&mut self.active) {
            return None;
        }
        let end = self.last_over + 1;
        (end - self.start >= self.min_len).then_some(Episode {
            start: self.start,
            end,
            peak: self.peak,
            peak_k: self.peak_k,
        })
    }
}

/// One rotation of the trunk under way: the axial velocity beyond the deadband in one direction.
#[derive(Debug, Clone, Copy)]
struct OpenRotation {
    /// +1 or −1.
    direction: i32,
    start: usize,
    /// Raw velocity (0.1 °/s) summed over the rotation's samples, in its direction.
    turned: i64,
    peak: i32,
    peak_k: usize,
    flex_peak: i32,
}

/// The twist detector's state: the open rotation and its rules in raw units.
#[derive(Debug, Clone, Copy)]
struct Rotations {
    open: Option<OpenRotation>,
    deadband: i32,
    /// One degree of rotation as a sum of raw velocities: 10 · rate.
    per_degree: f64,
    /// `twist_deg` in those units.
    min_turned: f64,
    min_peak: i32,
    min_len: usize,
    bent_raw: i32,
}

impl Rotations {
    fn new(t: &Thresholds, rate: u16) -> Self {
        Self {
            open: None,
            deadband: raw(t.twist_deadband_dps, 10.0),
            per_degree: 10.0 * f64::from(rate.max(1)),
            min_turned: f64::from(t.twist_deg) * 10.0 * f64::from(rate.max(1)),
            min_peak: raw(t.twist_dps, 10.0),
            min_len: samples(t.twist_min_s, rate),
            bent_raw: raw(t.twist_bent_deg, 100.0),
        }
    }

    /// Feeds sample `k`; returns the rotation that ended just before it if it is a twist
    /// candidate `(episode, degrees turned, bent)`.
    #[inline]
    fn step(&mut self, k: usize, velocity: i32, flex: i32) -> Option<(Episode, f64, bool)> {
        let mut done = None;
        if let Some(open) = &mut self.open {
            let along = velocity * open.direction;
            if along > self.deadband {
                open.turned += i64::from(along);
                open.flex_peak = open.flex_peak.max(flex);
                if along > open.peak {
                    open.peak = along;
                    open.peak_k = k;
                }
                return None;
            }
            done = self.close(k);
        }
        if velocity.abs() > self.deadband {
            self.open = Some(OpenRotation {
                direction: velocity.signum(),
                start: k,
                turned: i64::from(velocity.abs()),
                peak: velocity.abs(),
                peak_k: k,
                flex_peak: flex,
            });
        }
        done
    }

    /// Ends the open rotation at `end` (exclusive): a candidate if it turned far enough, fast
    /// enough and long enough.
    fn close(&mut self, end: usize) -> Option<(Episode, f64, bool)> {
        let open = self.open.take()?;
        let turned = open.turned as f64;
        let candidate = turned >= self.min_turned
            && open.peak >= self.min_peak
            && end - open.start >= self.min_len;
        candidate.then_some((
            Episode {
                start: open.start,
                end,
                peak: open.peak,
                peak_k: open.peak_k,
            },
            turned / self.per_degree,
            open.flex_peak >= self.bent_raw,
        ))
    }
}

/// A lift under way: the wearer went below the reference by the drop threshold.
#[derive(Debug, Clone, Copy)]
struct OpenLift {
    /// The last sample at standing height before the drop.
    start: usize,
    reference: f32,
    lowest: f32,
    lowest_k: usize,
    flex_peak: i32,
}

/// All detectors over one run.
struct Detector<'a> {
    run: &'a Run,
    out: Vec<Movement>,
    bend: Hysteresis,
    deep_raw: i32,
    posture: Hysteresis,
    lateral: Hysteresis,
    twist: Rotations,
    /// Twist candidates, kept until the gait bouts are known.
    twists: Vec<Movement>,
    gait_margin_ms: i64,
    reach: Hysteresis,
    reach_rise: f32,
    /// Reference height when the open reach started, and its highest smoothed height so far.
    reach_reference: f32,
    reach_highest: f32,

    height_alpha: f32,
    reference_alpha: f32,
    /// Smoothed height and the standing-height reference, mm.
    height: f32,
    reference: f32,
    away: usize,
    reanchor_up: usize,
    reanchor_down: usize,
    last_near: usize,
    /// Upright: flexion in `0 ..static_deg`.
    static_raw: i32,

    lift: Option<OpenLift>,
    lift_drop: f32,
    lift_min: usize,
    lift_max: usize,
    stoop_raw: i32,
}

impl<'a> Detector<'a> {
    fn new(run: &'a Run, t: &Thresholds) -> Self {
        let rate = run.rate_hz;
        let hysteresis = raw(t.hysteresis_deg, 100.0);
        let first_height = run.samples.first().map_or(0.0, |s| f32::from(s[HEIGHT]));
        Self {
            run,
            out: Vec::new(),
            // A bend ends below the standing level, not at the hysteresis (module docs).
            bend: Hysteresis::new(
                raw(t.bend_deg, 100.0),
                raw(t.bend_deg, 100.0).saturating_sub(raw(t.standing_deg, 100.0)),
                samples(t.bend_min_s, rate),
            ),
            deep_raw: raw(t.deep_bend_deg, 100.0),
            posture: Hysteresis::new(
                raw(t.static_deg, 100.0),
                hysteresis,
                samples(t.static_min_s, rate),
            ),
            lateral: Hysteresis::new(
                raw(t.lateral_deg, 100.0),
                hysteresis,
                samples(t.lateral_min_s, rate),
            ),
            twist: Rotations::new(t, rate),
            twists: Vec::new(),
            gait_margin_ms: (f64::from(t.twist_gait_margin_s) * 1000.0).round() as i64,
            reach: Hysteresis::new(
                raw(t.reach_deg, 100.0),
                hysteresis,
                samples(t.reach_min_s, rate),
            ),
            reach_rise: t.reach_rise_mm,
            reach_reference: first_height,
            reach_highest: first_height,
            height_alpha: alpha(HEIGHT_TAU_S, rate),
            reference_alpha: alpha(REFERENCE_TAU_S, rate),
            height: first_height,
            reference: first_height,
            away: 0,
            reanchor_up: samples(REANCHOR_UP_S, rate),
            reanchor_down: samples(REANCHOR_DOWN_S, rate),
            last_near: 0,
            static_raw: raw(t.static_deg, 100.0),
            lift: None,
            lift_drop: t.lift_drop_mm,
            lift_min: samples(t.lift_min_s, rate),
            lift_max: samples(t.lift_max_s, rate),
            stoop_raw: raw(t.stoop_deg, 100.0),
        }
    }

    #[inline]
    fn step(&mut self, k: usize, sample: &[i16; 4]) {
        let flex = i32::from(sample[FLEX]);
        if let Some(e) = self.bend.step(k, flex) {
            self.bend_done(e);
        }
        if let Some(e) = self.posture.step(k, flex) {
            self.push(MovementKind::StaticPosture, e, 100.0, false);
        }
        if let Some(e) = self.lateral.step(k, i32::from(sample[LAT]).abs()) {
            self.push(MovementKind::LateralBend, e, 100.0, false);
        }
        if let Some(candidate) = self.twist.step(k, i32::from(sample[TWIST]), flex) {
            self.twist_done(candidate);
        }

        self.height += (f32::from(sample[HEIGHT]) - self.height) * self.height_alpha;
        let height = self.height;

        let was_reaching = self.reach.active;
        let reach_closed = self.reach.step(k, -flex);
        if self.reach.active && !was_reaching {
            self.reach_reference = self.reference;
            self.reach_highest = height;
        }
        if was_reaching {
            self.reach_highest = self.reach_highest.max(height);
        }
        if let Some(e) = reach_closed {
            self.reach_done(e);
        }

        self.follow_reference(k, flex, height);
        self.lift_step(k, flex, height);
    }

    /// Keeps the standing-height reference while the wearer is upright and nothing is going on.
    #[inline]
    fn follow_reference(&mut self, k: usize, flex: i32, height: f32) {
        let offset = height - self.reference;
        if offset >= -NEAR_REFERENCE_MM {
            self.last_near = k;
        }
        let upright = (0..self.static_raw).contains(&flex);
        if !upright || self.lift.is_some() || self.reach.active {
            self.away = 0;
            return;
        }
        if offset.abs() < NEAR_REFERENCE_MM {
            self.reference += offset * self.reference_alpha;
            self.away = 0;
            return;
        }
        self.away += 1;
        let due = if offset > 0.0 {
            self.reanchor_up
        } else {
            self.reanchor_down
        };
        if self.away >= due {
            self.reference = height;
            self.away = 0;
        }
    }

    #[inline]
    fn lift_step(&mut self, k: usize, flex: i32, height: f32) {
        match &mut self.lift {
            None => {
                if height <= self.reference - self.lift_drop {
                    self.lift = Some(OpenLift {
                        start: self.last_near,
                        reference: self.reference,
                        lowest: height,
                        lowest_k: k,
                        flex_peak: flex,
                    });
                }
            }
            Some(lift) => {
                if height < lift.lowest {
                    lift.lowest = height;
                    lift.lowest_k = k;
                }
                lift.flex_peak = lift.flex_peak.max(flex);
                let lift = *lift;
                if height >= lift.reference - self.lift_drop / 2.0 {
                    self.lift = None;
                    if k - lift.start >= self.lift_min {
                        self.lift_done(lift, k);
                    }
                } else if k - lift.start > self.lift_max {
                    // Sitting, kneeling or working low: that height is the new reference.
                    self.lift = None;
                    self.reference = height;
                    self.away = 0;
                }
            }
        }
    }

    fn bend_done(&mut self, e: Episode) {
        let deep = e.peak >= self.deep_raw;
        self.push(MovementKind::Bend, e, 100.0, deep);
    }

    fn twist_done(&mut self, (e, degrees, bent): (Episode, f64, bool)) {
        self.twists.push(Movement {
            kind: MovementKind::Twist,
            start_ms: self.run.time_of(e.start),
            peak_ms: self.run.time_of(e.peak_k),
            end_ms: self.run.time_of(e.end),
            peak: degrees as f32,
            deep: false,
            bent,
            lift_style: None,
            height_drop_mm: None,
        });
    }

    fn reach_done(&mut self, e: Episode) {
        if self.reach_highest - self.reach_reference >= self.reach_rise {
            self.push(MovementKind::Reach, e, 100.0, false);
        }
    }

    fn lift_done(&mut self, lift: OpenLift, end: usize) {
        let style = if lift.flex_peak >= self.stoop_raw {
            LiftStyle::Stoop
        } else {
            LiftStyle::Squat
        };
        self.out.push(Movement {
            kind: MovementKind::Lift,
            start_ms: self.run.time_of(lift.start),
            peak_ms: self.run.time_of(lift.lowest_k),
            end_ms: self.run.time_of(end),
            peak: lift.flex_peak as f32 / 100.0,
            deep: false,
            bent: false,
            lift_style: Some(style),
            height_drop_mm: Some(lift.reference - lift.lowest),
        });
    }

    fn push(&mut self, kind: MovementKind, e: Episode, per_unit: f32, deep: bool) {
        self.out.push(Movement {
            kind,
            start_ms: self.run.time_of(e.start),
            peak_ms: self.run.time_of(e.peak_k),
            end_ms: self.run.time_of(e.end),
            peak: e.peak as f32 / per_unit,
            deep,
            bent: false,
            lift_style: None,
            height_drop_mm: None,
        });
    }

    /// Closes what is still open at the end of the run (a lift that has not recovered is not
    /// known to be a lift) and sorts the movements by start.
    fn finish(mut self, gait: &[GaitSpan]) -> Vec<Movement> {
        if let Some(e) = self.bend.close() {
            self.bend_done(e);
        }
        if let Some(e) = self.posture.close() {
            self.push(MovementKind::StaticPosture, e, 100.0, false);
        }
        if let Some(e) = self.lateral.close() {
            self.push(MovementKind::LateralBend, e, 100.0, false);
        }
        if let Some(candidate) = self.twist.close(self.run.samples.len()) {
            self.twist_done(candidate);
        }
        let margin = self.gait_margin_ms;
        let twists = std::mem::take(&mut self.twists);
        self.out.extend(
            twists
                .into_iter()
                .filter(|twist| !near_gait(gait, twist, margin)),
        );
        if let Some(e) = self.reach.close() {
            self.reach_done(e);
        }
        self.out.sort_by_key(|m| m.start_ms);
        self.out
    }
}

/// Whether `movement` starts or ends within `margin_ms` of one of `gait` (sorted) or overlaps it.
fn near_gait(gait: &[GaitSpan], movement: &Movement, margin_ms: i64) -> bool {
    // The first bout that ends after the movement's start minus the margin is the only one
    // that can be close: later ones start later still.
    let first = gait.partition_point(|span| span.end_ms + margin_ms <= movement.start_ms);
    gait.get(first)
        .is_some_and(|span| span.start_ms - margin_ms < movement.end_ms)
}

#[cfg(test)]
mod recall_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const START: i64 = 1_763_800_000_000;

    /// A hand-made run: eased moves between poses `[flex °, lat °, twist °/s, height mm]`.
    struct Script {
        rate: u16,
        pose: [f32; 4],
        samples: Vec<[i16; 4]>,
    }

    impl Script {
        fn new(rate: u16) -> Self {
            Self {
                rate,
                pose: [5.0, 0.0, 0.0, 0.0],
                samples: Vec::new(),
            }
        }

        fn count(&self, seconds: f32) -> usize {
            (seconds * f32::from(self.rate)).round() as usize
        }

        fn push(&mut self, pose: [f32; 4]) {
            let scale = [100.0, 100.0, 10.0, 1.0];
            self.samples
                .push(std::array::from_fn(|i| (pose[i] * scale[i]).round() as i16));
        }

        fn hold(mut self, seconds: f32) -> Self {
            for _ in 0..self.count(seconds) {
                self.push(self.pose);
            }
            self
        }

        /// Moves to `to` in `seconds` along a smooth (raised-cosine) path.
        fn to(mut self, to: [f32; 4], seconds: f32) -> Self {
            let n = self.count(seconds).max(1);
            let from = self.pose;
            for i in 1..=n {
                let x = i as f32 / n as f32;
                let e = (1.0 - (std::f32::consts::PI * x).cos()) / 2.0;
                self.push(std::array::from_fn(|c| from[c] + (to[c] - from[c]) * e));
            }
            self.pose = to;
            self
        }

        fn neutral(self, seconds: f32) -> Self {
            self.to([5.0, 0.0, 0.0, 0.0], seconds)
        }

        fn bend(self, deg: f32, hold: f32) -> Self {
            self.to([deg, 0.0, 0.0, -deg], 0.8)
                .hold(hold)
                .neutral(0.8)
                .hold(2.0)
        }

        fn run(self) -> Run {
            Run {
                start_ms: START,
                rate_hz: self.rate,
                samples: self.samples,
            }
        }
    }

    fn kinds(movements: &[Movement]) -> Vec<MovementKind> {
        movements.iter().map(|m| m.kind).collect()
    }

    fn of(movements: &[Movement], kind: MovementKind) -> Vec<&Movement> {
        movements.iter().filter(|m| m.kind == kind).collect()
    }

    /// Deterministic jitter in `-1.0..=1.0`.
    fn jitter(state: &mut u64) -> f32 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((*state >> 33) as f32 / (1u64 << 31) as f32) * 2.0 - 1.0
    }

    /// Every kind of movement once, with quiet standing between them.
    fn every_kind(rate: u16) -> Run {
        Script::new(rate)
            .hold(2.0)
            .bend(52.0, 0.5)
            .bend(75.0, 1.0)
            // Stooped work: 30° for 8 s.
            .to([30.0, 0.0, 0.0, -60.0], 1.0)
            .hold(8.0)
            .neutral(1.0)
            .hold(2.0)
            // Lateral bend to the left.
            .to([5.0, -18.0, 0.0, -20.0], 0.7)
            .hold(0.8)
            .neutral(0.7)
            .hold(2.0)
            // A twist: up to 120 °/s and back in 0.8 s, turning the trunk by about 48°.
            .to([5.0, 0.0, 120.0, 0.0], 0.4)
            .to([5.0, 0.0, 0.0, 0.0], 0.4)
            .hold(2.0)
            // Overhead reach: leaning back 12°, rising 60 mm.
            .to([-12.0, 0.0, 0.0, 60.0], 0.8)
            .hold(2.0)
            .neutral(0.8)
            .hold(3.0)
            // Stoop lift: 70°, down 350 mm.
            .to([70.0, 0.0, 0.0, -350.0], 1.0)
            .hold(1.0)
            .neutral(1.2)
            .hold(3.0)
            // Squat lift: 12°, down 480 mm.
            .to([12.0, 0.0, 0.0, -480.0], 1.0)
            .hold(1.0)
            .neutral(1.2)
            .hold(3.0)
            .run()
    }

    #[test]
    fn a_clean_bend_to_50_degrees_is_one_bend_that_is_not_deep() {
        let run = Script::new(25).hold(2.0).bend(50.0, 1.0).run();
        let found = detect(&run, &Thresholds::default());
        assert_eq!(kinds(&found), [MovementKind::Bend]);
        let bend = &found[0];
        assert!(!bend.deep);
        assert!((bend.peak - 50.0).abs() < 0.01, "{bend:?}");
        assert!(bend.start_ms < bend.peak_ms && bend.peak_ms < bend.end_ms);
        // At or beyond 45° for the 1 s hold plus the ends of both moves.
        let duration = bend.end_ms - bend.start_ms;
        assert!((1000..1600).contains(&duration), "{duration} ms");
    }

    #[test]
    fn a_clean_bend_to_70_degrees_is_one_bend_that_is_deep() {
        let run = Script::new(25).hold(2.0).bend(70.0, 1.0).run();
        let found = detect(&run, &Thresholds::default());
        assert_eq!(kinds(&found), [MovementKind::Bend]);
        assert!(found[0].deep);
        assert!((found[0].peak - 70.0).abs() < 0.01);
    }

    #[test]
    fn a_bend_below_the_threshold_or_too_short_is_not_counted() {
        let shallow = Script::new(25).hold(1.0).bend(40.0, 2.0).run();
        assert!(detect(&shallow, &Thresholds::default()).is_empty());
        let mut spike = Script::new(25).hold(1.0);
        spike.push([55.0, 0.0, 0.0, 0.0]);
        let spike = spike.hold(2.0).run();
        assert!(detect(&spike, &Thresholds::default()).is_empty());
    }

    #[test]
    fn noise_around_the_bend_threshold_does_not_chatter() {
        // 10 s at 45° ± 3° of jitter, crossing the threshold dozens of times.
        let mut script = Script::new(25).hold(1.0).to([45.0, 0.0, 0.0, 0.0], 1.0);
        let mut state = 7;
        let mut crossings = 0;
        let mut above = false;
        for _ in 0..250 {
            let flex = 45.0 + 3.0 * jitter(&mut state);
            crossings += usize::from((flex >= 45.0) != above);
            above = flex >= 45.0;
            script.push([flex, 0.0, 0.0, 0.0]);
        }
        let run = script.neutral(1.0).hold(2.0).run();
        assert!(crossings > 50, "{crossings}");
        let found = detect(&run, &Thresholds::default());
        assert_eq!(of(&found, MovementKind::Bend).len(), 1, "{found:#?}");
        assert_eq!(of(&found, MovementKind::StaticPosture).len(), 1);
    }

    #[test]
    fn every_kind_of_movement_is_found_once_in_a_hand_made_run() {
        let found = detect(&every_kind(25), &Thresholds::default());
        let count = |kind| of(&found, kind).len();
        // Two bends plus the stoop lift's bend; only the 75° bend and the 70° lift are deep.
        let bends = of(&found, MovementKind::Bend);
        assert_eq!(bends.len(), 3, "{found:#?}");
        assert_eq!(bends.iter().filter(|b| b.deep).count(), 2);
        assert_eq!(count(MovementKind::StaticPosture), 1, "{found:#?}");
        assert_eq!(count(MovementKind::LateralBend), 1);
        assert_eq!(count(MovementKind::Twist), 1);
        assert_eq!(count(MovementKind::Reach), 1);
        let lifts = of(&found, MovementKind::Lift);
        assert_eq!(lifts.len(), 2, "{found:#?}");
        assert_eq!(lifts[0].lift_style, Some(LiftStyle::Stoop));
        assert_eq!(lifts[1].lift_style, Some(LiftStyle::Squat));
        let drop = lifts[1].height_drop_mm.unwrap_or_default();
        assert!((440.0..=480.0).contains(&drop), "{drop}");
        assert!((of(&found, MovementKind::LateralBend)[0].peak - 18.0).abs() < 0.01);
        let twist = of(&found, MovementKind::Twist)[0];
        assert!((44.0..=50.0).contains(&twist.peak), "{twist:?}");
        assert!(!twist.bent);
        assert!((of(&found, MovementKind::Reach)[0].peak - 12.0).abs() < 0.01);
        assert!(found.windows(2).all(|w| w[0].start_ms <= w[1].start_ms));
    }

    #[test]
    fn the_same_movements_at_25_hz_and_resampled_to_50_hz_give_the_same_events() {
        let slow = every_kind(25);
        let mut samples = Vec::with_capacity(slow.samples.len() * 2);
        for pair in slow.samples.windows(2) {
            samples.push(pair[0]);
            samples.push(std::array::from_fn(|c| {
                ((i32::from(pair[0][c]) + i32::from(pair[1][c])) / 2) as i16
            }));
        }
        let fast = Run {
            rate_hz: 50,
            samples,
            ..slow.clone()
        };
        let thresholds = Thresholds::default();
        let (a, b) = (detect(&slow, &thresholds), detect(&fast, &thresholds));
        assert_eq!(a.len(), b.len(), "{a:#?}\n{b:#?}");
        for (a, b) in a.iter().zip(&b) {
            assert_eq!(
                (a.kind, a.deep, a.lift_style),
                (b.kind, b.deep, b.lift_style)
            );
            // Within a 25 Hz sample; lifts within two (their height is filtered).
            let slack = if a.kind == MovementKind::Lift { 80 } else { 40 };
            for (x, y) in [(a.start_ms, b.start_ms), (a.end_ms, b.end_ms)] {
                assert!((x - y).abs() <= slack, "{a:?}\n{b:?}");
            }
            // A twist's rotation is a sum over samples: interpolation shifts it a little.
            let slack = if a.kind == MovementKind::Twist {
                1.5
            } else {
                0.5
            };
            assert!((a.peak - b.peak).abs() < slack, "{a:?}\n{b:?}");
        }
    }

    #[test]
    fn any_sample_rate_finds_the_same_movements() {
        let reference = kinds(&detect(&every_kind(25), &Thresholds::default()));
        for rate in [10, 12, 50, 100] {
            let found = detect(&every_kind(rate), &Thresholds::default());
            assert_eq!(kinds(&found), reference, "at {rate} Hz");
        }
    }

    #[test]
    fn a_gentle_turn_an_extension_without_rising_and_sitting_down_are_not_movements() {
        let run = Script::new(25)
            .hold(2.0)
            .to([5.0, 0.0, 40.0, 0.0], 0.5)
            .to([5.0, 0.0, 0.0, 0.0], 0.5)
            .hold(2.0)
            .to([-10.0, 0.0, 0.0, 0.0], 0.8)
            .hold(1.5)
            .neutral(0.8)
            .hold(2.0)
            // Sitting for a minute, 450 mm lower, then standing up.
            .to([8.0, 0.0, 0.0, -450.0], 1.5)
            .hold(60.0)
            .neutral(1.5)
            .hold(3.0)
            .run();
        let found = detect(&run, &Thresholds::default());
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn a_lift_right_after_standing_up_is_measured_from_the_standing_height() {
        let run = Script::new(25)
            .hold(2.0)
            .to([8.0, 0.0, 0.0, -450.0], 1.5)
            .hold(60.0)
            .neutral(1.5)
            .hold(1.5)
            .to([12.0, 0.0, 0.0, -400.0], 1.0)
            .hold(0.5)
            .neutral(1.0)
            .hold(3.0)
            .run();
        let found = detect(&run, &Thresholds::default());
        assert_eq!(kinds(&found), [MovementKind::Lift], "{found:#?}");
        assert_eq!(found[0].lift_style, Some(LiftStyle::Squat));
    }

    #[test]
    fn a_movement_still_under_way_when_the_run_ends_is_closed_there_except_a_lift() {
        let run = Script::new(25)
            .hold(1.0)
            .to([70.0, 0.0, 0.0, -400.0], 1.0)
            .hold(5.0)
            .run();
        let found = detect(&run, &Thresholds::default());
        assert_eq!(
            kinds(&found),
            [MovementKind::StaticPosture, MovementKind::Bend],
            "{found:#?}"
        );
        assert!(found.iter().all(|m| m.end_ms == run.end_ms()));
    }

    #[test]
    fn thresholds_change_what_is_found() {
        let run = Script::new(25).hold(1.0).bend(50.0, 1.0).run();
        let strict = Thresholds {
            bend_deg: 55.0,
            ..Thresholds::default()
        };
        assert!(detect(&run, &strict).is_empty());
        let lenient = Thresholds {
            deep_bend_deg: 48.0,
            ..Thresholds::default()
        };
        assert!(detect(&run, &lenient)[0].deep);
    }

    #[test]
    fn thresholds_deserialize_with_defaults_and_validate() {
        let t: Thresholds = toml::from_str("bend_deg = 40.0\nlift_drop_mm = 300.0").unwrap();
        assert_eq!(t.bend_deg, 40.0);
        assert_eq!(t.lift_drop_mm, 300.0);
        assert_eq!(t.static_min_s, Thresholds::default().static_min_s);
        assert_eq!(t.validate(), Ok(()));
        assert!(toml::from_str::<Thresholds>("bend_degrees = 40.0").is_err());
        // The twist's old hysteresis key still loads, as the rotation's deadband.
        let old: Thresholds = toml::from_str("twist_hysteresis_dps = 12.0").unwrap();
        assert_eq!(old.twist_deadband_dps, 12.0);
        let standing = Thresholds {
            standing_deg: 50.0,
            ..Thresholds::default()
        };
        assert_eq!(standing.validate(), Err(ThresholdError::StandingAboveBend));
        let nan = Thresholds {
            twist_dps: f32::NAN,
            ..Thresholds::default()
        };
        assert_eq!(nan.validate(), Err(ThresholdError::NotFinite("twist_dps")));
        let inverted = Thresholds {
            deep_bend_deg: 30.0,
            ..Thresholds::default()
        };
        assert_eq!(inverted.validate(), Err(ThresholdError::DeepBelowBend));
    }

    #[test]
    fn nonsense_thresholds_and_empty_runs_find_nothing_and_never_panic() {
        let empty = Script::new(25).run();
        assert!(detect(&empty, &Thresholds::default()).is_empty());
        let run = every_kind(0);
        let nonsense = Thresholds {
            bend_deg: f32::NAN,
            hysteresis_deg: f32::INFINITY,
            static_min_s: -3.0,
            twist_dps: f32::NEG_INFINITY,
            lift_max_s: f32::NAN,
            ..Thresholds::default()
        };
        let _ = detect(&run, &nonsense);
        let zero_rate = Run {
            rate_hz: 0,
            ..every_kind(25)
        };
        let _ = detect(&zero_rate, &Thresholds::default());
    }

    #[test]
    fn a_flexion_that_dips_but_stays_above_the_standing_level_is_one_bend() {
        // The real squats of issue 13: 54° → 33° → 47°, never standing up in between.
        let run = Script::new(25)
            .hold(1.0)
            .to([54.0, 0.0, 0.0, -54.0], 0.8)
            .hold(0.5)
            .to([33.0, 0.0, 0.0, -33.0], 0.6)
            .to([47.0, 0.0, 0.0, -47.0], 0.6)
            .hold(0.5)
            .neutral(0.8)
            .hold(2.0)
            .run();
        let found = detect(&run, &Thresholds::default());
        let bends = of(&found, MovementKind::Bend);
        assert_eq!(bends.len(), 1, "{found:#?}");
        assert!((bends[0].peak - 54.0).abs() < 0.01);
        // The same with a dip to 15°, below the 20° standing level: the worker stood up.
        let stood_up = Script::new(25)
            .hold(1.0)
            .to([54.0, 0.0, 0.0, -54.0], 0.8)
            .hold(0.5)
            .to([15.0, 0.0, 0.0, -15.0], 0.8)
            .to([47.0, 0.0, 0.0, -47.0], 0.8)
            .hold(0.5)
            .neutral(0.8)
            .hold(2.0)
            .run();
        let found = detect(&stood_up, &Thresholds::default());
        assert_eq!(of(&found, MovementKind::Bend).len(), 2, "{found:#?}");
    }

    /// Axial velocity `[flex, dps]` per sample at 25 Hz: `rotations` of `(degrees, seconds)` as
    /// half-sines (negative degrees turn the other way), each followed by `pause` s.
    fn rotations(flex: f32, rotations: &[(f32, f32)], pause: f32) -> Script {
        let mut script = Script::new(25).hold(1.0);
        for &(degrees, seconds) in rotations {
            let n = script.count(seconds);
            let peak = degrees * std::f32::consts::PI / (2.0 * seconds);
            for i in 0..n {
                let x = i as f32 / n as f32;
                script.push([flex, 0.0, peak * (std::f32::consts::PI * x).sin(), 0.0]);
            }
            script = script.hold(pause);
        }
        script
    }

    #[test]
    fn a_twist_is_a_rotation_of_30_degrees_or_more_and_back_is_another() {
        let run = rotations(5.0, &[(60.0, 0.8), (-55.0, 0.7), (20.0, 0.5)], 1.5).run();
        let found = detect(&run, &Thresholds::default());
        let twists = of(&found, MovementKind::Twist);
        assert_eq!(twists.len(), 2, "{found:#?}");
        assert!((57.0..=61.0).contains(&twists[0].peak), "{:?}", twists[0]);
        // 0.7 s is 18 samples at 25 Hz: 0.72 s at the peak velocity of 0.7 s, so ~57°.
        assert!((53.0..=58.0).contains(&twists[1].peak), "{:?}", twists[1]);
        assert!(twists.iter().all(|t| !t.bent));
        // Slow: 45° over 3 s peaks at 24 °/s, below `twist_dps`; a 0.1 s flick is too short.
        let slow = rotations(5.0, &[(45.0, 3.0), (30.0, 0.1)], 1.5).run();
        assert!(detect(&slow, &Thresholds::default()).is_empty());
    }

    #[test]
    fn a_twist_while_bent_over_50_degrees_is_marked_bent() {
        let run = rotations(65.0, &[(45.0, 0.8)], 1.0)
            .neutral(0.8)
            .hold(2.0)
            .run();
        let found = detect(&run, &Thresholds::default());
        let twists = of(&found, MovementKind::Twist);
        assert_eq!(twists.len(), 1, "{found:#?}");
        assert!(twists[0].bent);
    }

    #[test]
    fn a_rotation_next_to_walking_is_a_turn_and_the_same_rotation_away_from_it_a_twist() {
        // 10 s of gait (±8° of yaw at 0.9 Hz), then a 90° turn `gap` s after it.
        let walk_then_turn = |gap: f32| {
            let mut script = Script::new(25);
            for k in 0..250 {
                let w = std::f32::consts::TAU * 0.9;
                let t = k as f32 / 25.0;
                script.push([5.0, 0.0, 8.0 * w * (w * t).cos(), 0.0]);
            }
            let script = script.hold(gap);
            let n = script.count(1.0);
            let mut script = script;
            for i in 0..n {
                let x = i as f32 / n as f32;
                let v = 90.0 * std::f32::consts::PI / 2.0 * (std::f32::consts::PI * x).sin();
                script.push([5.0, 0.0, v, 0.0]);
            }
            script.hold(3.0).run()
        };
        let twists = |run: &Run| {
            detect(run, &Thresholds::default())
                .into_iter()
                .filter(|m| m.kind == MovementKind::Twist)
                .count()
        };
        assert_eq!(
            twists(&walk_then_turn(0.5)),
            0,
            "turning right after walking"
        );
        assert_eq!(
            twists(&walk_then_turn(4.0)),
            1,
            "twisting after standing 4 s"
        );
    }

    /// A run of bends `(peak °, hold s)` with standing between them.
    fn bends_run(bends: &[(f32, f32)]) -> Run {
        let mut script = Script::new(25).hold(1.0);
        for &(deg, hold) in bends {
            script = script.bend(deg, hold);
        }
        script.run()
    }

    /// `(bends, deep bends, static postures)`.
    fn counts(run: &Run) -> (usize, usize, usize) {
        let found = detect(run, &Thresholds::default());
        let bends = of(&found, MovementKind::Bend);
        (
            bends.len(),
            bends.iter().filter(|b| b.deep).count(),
            of(&found, MovementKind::StaticPosture).len(),
        )
    }

    fn not_lower(more: (usize, usize, usize), less: (usize, usize, usize)) -> bool {
        more.0 >= less.0 && more.1 >= less.1 && more.2 >= less.2
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn more_or_deeper_bends_never_lower_the_counts(
            bends in prop::collection::vec((0.0f32..95.0, 0.0f32..6.0), 0..8),
            extra in (0.0f32..95.0, 0.0f32..6.0),
            at in any::<prop::sample::Index>(),
            deeper in 0.0f32..40.0,
        ) {
            let base = counts(&bends_run(&bends));
            let mut more = bends.clone();
            more.insert(at.index(more.len() + 1), extra);
            let with_extra = counts(&bends_run(&more));
            prop_assert!(not_lower(with_extra, base), "{with_extra:?} < {base:?}");
            if !bends.is_empty() {
                let mut deepened = bends.clone();
                let i = at.index(deepened.len());
                deepened[i].0 = (deepened[i].0 + deeper).min(100.0);
                let deep = counts(&bends_run(&deepened));
                prop_assert!(not_lower(deep, base), "{deep:?} < {base:?}");
            }
        }
    }
}
