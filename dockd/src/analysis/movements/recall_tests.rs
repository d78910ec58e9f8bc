//! Test-only: scores `movements::detect` against the emulator's per-event ground truth on
//! simulated shifts (several seeds, sensor noise levels and sample rates) and prints a per-type
//! precision/recall table. It owns the scoring rules; it must never tune the detector to the
//! generator (the thresholds are the defaults, the truth is the generator's clean signal).
//!
//! **Classifying the truth.** Each truth event carries the clean (noise-free) peak of its
//! excursion. For each movement type it is a *positive* when clearly beyond the threshold, and
//! *don't care* when within a margin of it (±2° for angles, ±5° for a twist's rotation, ±20 mm for a
//! lift's drop and ±10 mm for a reach's rise, ±0.5 s for the static-posture duration, 5 s
//! below `lift_max_s` for a lift's duration): there, whether a noisy sensor crosses the threshold
//! is a coin toss. The generator is not kept away from thresholds; the scorer ignores those
//! events instead. Truth below the margin is simply not a positive.
//!
//! **Matching.** Detections of one type are taken in time order; each is matched to the
//! not-yet-matched truth event (positive or don't-care) whose span overlaps its own
//! `[start_ms, end_ms)` the most. Matched to a positive: true positive. Matched to a don't-care:
//! ignored. Unmatched: false positive. Positives never matched: misses.
//! Precision = TP / (TP + FP), recall = TP / positives.

use std::fmt::Write as _;

use crate::analysis::{Run, Sample};
use crate::emulator::{
    DEFAULT_NOISE_CENTIDEG, ShiftProfile, ShiftSpec, SimulatedShift, TruthKind, simulate,
};

use super::{LiftStyle, Movement, MovementKind, Thresholds, detect};

const START: i64 = 1_763_800_000_000;
const SEEDS: [u64; 3] = [1, 2, 3];
const NOISES: [u16; 2] = [DEFAULT_NOISE_CENTIDEG, 3 * DEFAULT_NOISE_CENTIDEG];
/// Long enough for every activity to occur many times; short enough for a debug build.
const SHIFT_MS: u64 = 90 * 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Bend,
    DeepBend,
    StaticPosture,
    LateralBend,
    Twist,
    Reach,
    StoopLift,
    SquatLift,
}

const TYPES: [Type; 8] = [
    Type::Bend,
    Type::DeepBend,
    Type::StaticPosture,
    Type::LateralBend,
    Type::Twist,
    Type::Reach,
    Type::StoopLift,
    Type::SquatLift,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Positive,
    DontCare,
}

/// A truth event as one type sees it, in wall ms.
#[derive(Debug, Clone, Copy)]
struct Truth {
    start: i64,
    end: i64,
    class: Class,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Score {
    positives: u32,
    tp: u32,
    fp: u32,
    ignored: u32,
}

impl Score {
    fn add(&mut self, other: Score) {
        self.positives += other.positives;
        self.tp += other.tp;
        self.fp += other.fp;
        self.ignored += other.ignored;
    }

    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(self.tp + self.fp)
        }
    }

    fn recall(&self) -> f64 {
        if self.positives == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(self.positives)
        }
    }
}

/// Positive beyond `threshold + margin`, don't care within `margin` of it, else `None`.
fn classify(value: f64, threshold: f64, margin: f64) -> Option<Class> {
    if value >= threshold + margin {
        Some(Class::Positive)
    } else if value > threshold - margin {
        Some(Class::DontCare)
    } else {
        None
    }
}

/// The worse of two classes (`None` beats don't-care beats positive).
fn both(a: Option<Class>, b: Option<Class>) -> Option<Class> {
    match (a?, b?) {
        (Class::Positive, Class::Positive) => Some(Class::Positive),
        _ => Some(Class::DontCare),
    }
}

/// The truth of one type over a simulated shift.
fn truth_of(shift: &SimulatedShift, ty: Type, t: &Thresholds) -> Vec<Truth> {
    let deg = |raw: i32| f64::from(raw) / 100.0;
    let mut out = Vec::new();
    for segment in &shift.truth.segments {
        for (event, [start, _, end]) in segment.events_at_wall() {
            let seconds = f64::from(event.duration_ms()) / 1000.0;
            let class = match (ty, event.kind) {
                (Type::Bend, TruthKind::Flexion) => {
                    classify(deg(event.peak), f64::from(t.bend_deg), 2.0)
                }
                (Type::DeepBend, TruthKind::Flexion) => {
                    classify(deg(event.peak), f64::from(t.deep_bend_deg), 2.0)
                }
                (Type::StaticPosture, TruthKind::Flexion) => both(
                    classify(seconds, f64::from(t.static_min_s), 0.5),
                    classify(deg(event.peak), f64::from(t.static_deg), 2.0),
                ),
                (Type::LateralBend, TruthKind::Lateral) => {
                    classify(deg(event.peak), f64::from(t.lateral_deg), 2.0)
                }
                // A twist's truth is its rotation angle (the emulator's twists all peak above
                // `twist_dps`; gait and turns while walking are no truth events).
                (Type::Twist, TruthKind::Twist) => {
                    classify(deg(event.peak), f64::from(t.twist_deg), 5.0)
                }
                (Type::Reach, TruthKind::Reach) => both(
                    classify(deg(event.peak), f64::from(t.reach_deg), 2.0),
                    classify(f64::from(event.height_mm), f64::from(t.reach_rise_mm), 10.0),
                ),
                (
                    Type::StoopLift | Type::SquatLift,
                    TruthKind::LiftStoop | TruthKind::LiftSquat,
                ) => {
                    let flex = deg(event.flex_peak);
                    let style = match ty {
                        Type::StoopLift => classify(flex, f64::from(t.stoop_deg), 2.0),
                        _ => classify(-flex, -f64::from(t.stoop_deg), 2.0),
                    };
                    let quick = classify(-seconds, -f64::from(t.lift_max_s), 5.0);
                    both(
                        both(
                            classify(f64::from(event.peak), f64::from(t.lift_drop_mm), 20.0),
                            style,
                        ),
                        quick,
                    )
                }
                _ => None,
            };
            if let Some(class) = class {
                out.push(Truth { start, end, class });
            }
        }
    }
    out.sort_by_key(|truth| truth.start);
    out
}

fn detected(movements: &[Movement], ty: Type) -> Vec<(i64, i64)> {
    movements
        .iter()
        .filter(|m| match ty {
            Type::Bend => m.kind == MovementKind::Bend,
            Type::DeepBend => m.kind == MovementKind::Bend && m.deep,
            Type::StaticPosture => m.kind == MovementKind::StaticPosture,
            Type::LateralBend => m.kind == MovementKind::LateralBend,
            Type::Twist => m.kind == MovementKind::Twist,
            Type::Reach => m.kind == MovementKind::Reach,
            Type::StoopLift => m.lift_style == Some(LiftStyle::Stoop),
            Type::SquatLift => m.lift_style == Some(LiftStyle::Squat),
        })
        .map(|m| (m.start_ms, m.end_ms))
        .collect()
}

/// The matching rule of the module docs.
fn score(truth: &[Truth], detections: &[(i64, i64)]) -> Score {
    let mut matched = vec![false; truth.len()];
    let mut score = Score {
        positives: truth.iter().filter(|t| t.class == Class::Positive).count() as u32,
        ..Score::default()
    };
    for &(start, end) in detections {
        // Truth is sorted by start; only events starting before `end` can overlap.
        let best = truth
            .iter()
            .enumerate()
            .take_while(|(_, t)| t.start < end)
            .filter(|&(i, t)| !matched[i] && t.end > start)
            .max_by_key(|(_, t)| t.end.min(end) - t.start.max(start))
            .map(|(i, _)| i);
        match best {
            Some(i) => {
                matched[i] = true;
                match truth[i].class {
                    Class::Positive => score.tp += 1,
                    Class::DontCare => score.ignored += 1,
                }
            }
            None => score.fp += 1,
        }
    }
    score
}

/// Scores every type on one simulated shift.
fn score_shift(rate_hz: u16, noise: u16, seed: u64) -> [Score; 8] {
    let shift = ShiftSpec {
        rate_hz,
        noise_centideg: noise,
        ..ShiftSpec::new(START, SHIFT_MS)
    };
    let simulated = simulate(shift, seed);
    let run = run_of(&simulated, rate_hz);
    let thresholds = Thresholds::default();
    let movements = detect(&run, &thresholds);
    TYPES.map(|ty| {
        score(
            &truth_of(&simulated, ty, &thresholds),
            &detected(&movements, ty),
        )
    })
}

/// Scores every seed and noise level at `rate_hz`, prints the table, checks ≥ 0.95 for each
/// type at each noise level, and returns the totals.
fn check_rate(rate_hz: u16) -> [Score; 8] {
    let mut table = String::new();
    let mut failures = Vec::new();
    let mut totals = [Score::default(); 8];
    let _ = writeln!(
        table,
        "{:>5} {:>6} {:<15} {:>5} {:>5} {:>4} {:>4} {:>9} {:>7}",
        "rate", "noise", "type", "pos", "tp", "fp", "ign", "precision", "recall"
    );
    for noise in NOISES {
        let mut sums = [Score::default(); 8];
        for seed in SEEDS {
            for (sum, s) in sums.iter_mut().zip(score_shift(rate_hz, noise, seed)) {
                sum.add(s);
            }
        }
        for ((ty, s), total) in TYPES.iter().zip(sums).zip(totals.iter_mut()) {
            total.add(s);
            let _ = writeln!(
                table,
                "{:>5} {:>6} {:<15} {:>5} {:>5} {:>4} {:>4} {:>9.3} {:>7.3}",
                rate_hz,
                noise,
                format!("{ty:?}"),
                s.positives,
                s.tp,
                s.fp,
                s.ignored,
                s.precision(),
                s.recall()
            );
            if s.precision() < 0.95 || s.recall() < 0.95 {
                failures.push(format!("{rate_hz} Hz, noise {noise}: {ty:?} {s:?}"));
            }
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "below 0.95:\n{}", failures.join("\n"));
    totals
}

#[test]
fn detection_matches_the_emulator_truth_at_12_hz() {
    check_rate(12);
}

#[test]
fn detection_matches_the_emulator_truth_at_25_hz() {
    let totals = check_rate(25);
    // Every type occurs often enough for the scores to mean something.
    for (ty, s) in TYPES.iter().zip(totals) {
        assert!(s.positives >= 15, "{ty:?}: only {} positives", s.positives);
    }
}

#[test]
fn detection_matches_the_emulator_truth_at_50_hz() {
    check_rate(50);
}

/// A simulated shift as one run.
fn run_of(shift: &SimulatedShift, rate_hz: u16) -> Run {
    Run {
        start_ms: START,
        rate_hz,
        samples: shift
            .samples
            .iter()
            .map(|s| -> Sample { [s.flex, s.lat, s.twist, s.height] })
            .collect(),
    }
}

/// Twists by the rule of analysis version 1: |axial velocity| ≥ 60 °/s, ending below 45 °/s,
/// at least 80 ms at or above 60 °/s.
fn fast_twists_by_the_old_rule(run: &Run) -> usize {
    let min_len = (0.08 * f32::from(run.rate_hz)).ceil() as usize;
    let (mut count, mut open, mut start, mut last) = (0, false, 0, 0);
    for (k, s) in run.samples.iter().enumerate() {
        let v = i32::from(s[2]).abs();
        if v >= 600 {
            if !open {
                (open, start) = (true, k);
            }
            last = k;
        } else if open && v < 450 {
            open = false;
            count += usize::from(last + 1 - start >= min_len);
        }
    }
    count
}

#[test]
fn walking_and_jogging_shifts_hold_no_twist_and_no_bend_at_any_rate_or_noise() {
    let mut table = String::new();
    for rate_hz in [12, 25, 50] {
        for noise in NOISES {
            for seed in SEEDS {
                let shift = ShiftSpec {
                    rate_hz,
                    noise_centideg: noise,
                    profile: ShiftProfile::Walking,
                    ..ShiftSpec::new(START, SHIFT_MS)
                };
                let simulated = simulate(shift, seed);
                let walking_h = simulated.truth.movements.walking_ms as f64 / 3_600_000.0;
                assert!(walking_h > 0.8, "{walking_h} h of gait in 1.5 h");
                let run = run_of(&simulated, rate_hz);
                let found = detect(&run, &Thresholds::default());
                let count = |kind| found.iter().filter(|m| m.kind == kind).count();
                let old = fast_twists_by_the_old_rule(&run);
                let _ = writeln!(
                    table,
                    "{rate_hz:>3} Hz noise {noise:>2} seed {seed}: {walking_h:.2} h walking, \
                     {:.0} fast twists/h by the old rule, {} twists and {} bends now",
                    old as f64 / walking_h,
                    count(MovementKind::Twist),
                    count(MovementKind::Bend),
                );
                assert!(
                    old as f64 / walking_h > 1000.0,
                    "the old rule counted strides"
                );
                let unwanted: Vec<_> = found
                    .iter()
                    .filter(|m| matches!(m.kind, MovementKind::Twist | MovementKind::Bend))
                    .collect();
                assert!(
                    unwanted.is_empty(),
                    "{rate_hz} Hz, noise {noise}, seed {seed}: {unwanted:#?}"
                );
            }
        }
    }
    println!("{table}");
}

#[test]
fn the_scorer_ignores_near_threshold_truth_and_counts_unmatched_detections() {
    let truth = [
        Truth {
            start: 0,
            end: 100,
            class: Class::Positive,
        },
        Truth {
            start: 200,
            end: 300,
            class: Class::DontCare,
        },
        Truth {
            start: 400,
            end: 500,
            class: Class::Positive,
        },
    ];
    // One hit, one don't-care hit, two detections on the same truth, one in the void.
    let detections = [(10, 90), (250, 260), (410, 420), (430, 440), (600, 700)];
    assert_eq!(
        score(&truth, &detections),
        Score {
            positives: 2,
            tp: 2,
            fp: 2,
            ignored: 1
        }
    );
}
