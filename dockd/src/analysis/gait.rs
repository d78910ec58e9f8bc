//! Gait: finds the stretches of a run where the wearer walks or jogs, from the pelvis's axial
//! rotation swinging back and forth once per stride (pure; never looks at anything but the run,
//! never decides what a twist is: `movements` asks it where the wearer was walking).
//!
//! **The signal.** Real waist IMU recordings (23 adults, 25 Hz, issue 13) show the pelvis's axial
//! angular velocity during gait oscillating at stride frequency (0.8–1.0 Hz walking, 1.3–1.5 Hz
//! jogging) with step-frequency harmonics, peaking at 75–165 °/s walking and 170–230 °/s jogging,
//! while the yaw *angle* swings only ±4–10°. A trunk twist is the opposite: one rotation of 30°
//! or more in one direction (RM §2 Hoogendoorn, RM §5 Soter), then usually a pause.
//!
//! **The rule.** The axial velocity is cut into *lobes*: a lobe starts when the velocity leaves
//! the ±[`DEADBAND_DPS`] band in one direction and ends when it leaves the band in the other (so
//! noise inside the band never splits a lobe). A lobe is a *swing* when it is short
//! (≤ [`SWING_MAX_S`]) and turns the pelvis little (net rotation ≤ [`SWING_MAX_DEG`]). A gait bout
//! is at least [`MIN_SWINGS`] swings in a row lasting at least [`MIN_BOUT_S`]; it runs from the
//! first swing's start to the last swing's end. Standing still (a lobe that never ends), a twist
//! (≥ 30° in one lobe) or a slow turn (a long lobe) breaks the chain, so a turn while walking
//! splits a walk into two bouts with the turn between them.
//!
//! One pass over the samples, no allocation per sample (one `Vec` push per bout); every
//! duration is a sample count from the run's own `rate_hz`.

use serde::{Deserialize, Serialize};

use super::{Run, TWIST, shifts};

/// Velocity band around zero inside which the direction of a lobe is kept, °/s: 10 °/s is
/// twice the ±4.8 °/s jitter of the emulator's noisiest sensor and 4× the 2.5 °/s accuracy a
/// commercial trunk IMU claims (FUSE, RM §1), and far below gait's 40–155 °/s 95th percentiles
/// (design choice).
pub const DEADBAND_DPS: f32 = 10.0;
/// Longest swing, s: half a stride of the slowest walk (0.7 Hz) is 0.71 s; 0.9 s leaves room for
/// a dragging step (design choice from the stride frequencies above).
pub const SWING_MAX_S: f32 = 0.9;
/// Largest rotation of one swing, °: the yaw angle of gait stays within ±10°, so one swing
/// turns at most ~20°; 25° stays below the 30° a twist needs (Hoogendoorn, Soter: RM §2, §5).
pub const SWING_MAX_DEG: f32 = 25.0;
/// Fewest swings in a row that make a bout: two strides (design choice: one stride could be a
/// shuffle or a twist and back).
pub const MIN_SWINGS: u32 = 4;
/// Shortest bout, s: two strides of a fast walk (design choice).
pub const MIN_BOUT_S: f32 = 2.0;

/// One gait bout of a run, in wall ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GaitSpan {
    pub start_ms: i64,
    /// Exclusive: just after the last sample of the bout's last swing.
    pub end_ms: i64,
}

/// Gait bouts of `run`, in time order, non-overlapping; `end_ms` exclusive.
pub fn gait_spans(run: &Run) -> Vec<GaitSpan> {
    let rate = run.rate_hz.max(1);
    let rate_f = f32::from(rate);
    // Raw units: 0.1 °/s per velocity step; one sample of velocity `v` turns `v / 10 / rate` °.
    let deadband = (DEADBAND_DPS * 10.0).round() as i32;
    let swing_max = (SWING_MAX_S * rate_f).floor() as usize;
    let swing_max_raw = SWING_MAX_DEG * 10.0 * rate_f;
    let min_bout = (MIN_BOUT_S * rate_f).ceil() as usize;

    let mut out = Vec::new();
    let mut chain = Chain::default();
    // The open lobe: its direction (0 before the first one), first sample and net rotation (raw
    // velocity summed over its samples).
    let mut direction = 0i32;
    let mut lobe_start = 0usize;
    let mut lobe_turn = 0f32;
    for (k, sample) in run.samples.iter().enumerate() {
        let v = i32::from(sample[TWIST]);
        if direction != 0 && v * direction < -deadband {
            // The lobe ended at the previous sample: it is a swing or it breaks the chain.
            let swing = k - lobe_start <= swing_max && lobe_turn <= swing_max_raw;
            chain.lobe(swing, lobe_start, k, min_bout, run, &mut out);
            direction = -direction;
            lobe_start = k;
            lobe_turn = 0.0;
        } else if direction == 0 && v.abs() > deadband {
            direction = v.signum();
            lobe_start = k;
            lobe_turn = 0.0;
        }
        lobe_turn += (v * direction) as f32;
        if direction != 0 && k + 1 - lobe_start > swing_max {
            // Too long to be a swing whatever comes next: the chain ends here.
            chain.close(min_bout, run, &mut out);
        }
    }
    if direction != 0 {
        let end = run.samples.len();
        let swing = end - lobe_start <= swing_max && lobe_turn <= swing_max_raw;
        chain.lobe(swing, lobe_start, end, min_bout, run, &mut out);
    }
    chain.close(min_bout, run, &mut out);
    out
}

/// The gait bouts of a shift's runs, in time order: runs that continue one another (same rate,
/// no gap) are looked at as one, so a bout across their seam is one bout, as in a single run.
/// The analysis finds them once per shift, for the twist detector and for exposure.
pub fn shift_gait_spans(runs: &[Run]) -> Vec<GaitSpan> {
    let mut spans = Vec::new();
    let mut from = 0;
    while from < runs.len() {
        let mut to = from + 1;
        while to < runs.len()
            && runs[to].rate_hz == runs[to - 1].rate_hz
            && shifts::continues(runs[to - 1].end_ms(), runs[to].start_ms, runs[to].rate_hz)
        {
            to += 1;
        }
        if to - from == 1 {
            spans.extend(gait_spans(&runs[from]));
        } else {
            let joined = Run {
                start_ms: runs[from].start_ms,
                rate_hz: runs[from].rate_hz,
                samples: runs[from..to]
                    .iter()
                    .flat_map(|r| r.samples.iter().copied())
                    .collect(),
            };
            spans.extend(gait_spans(&joined));
        }
        from = to;
    }
    spans
}

/// The samples of `run` inside `spans` (sorted, non-overlapping), as index ranges in time order.
pub fn sample_ranges<'a>(
    run: &'a Run,
    spans: &'a [GaitSpan],
) -> impl Iterator<Item = std::ops::Range<usize>> + 'a {
    let first = spans.partition_point(|span| span.end_ms <= run.start_ms);
    spans[first..]
        .iter()
        .take_while(|span| span.start_ms < run.end_ms())
        .map(|span| run.samples_before(span.start_ms)..run.samples_before(span.end_ms))
        .filter(|range| !range.is_empty())
}

/// Whether `wall_ms` falls inside one of `spans` (sorted) — binary search.
pub fn in_gait(spans: &[GaitSpan], wall_ms: i64) -> bool {
    let after = spans.partition_point(|span| span.start_ms <= wall_ms);
    after > 0 && wall_ms < spans[after - 1].end_ms
}

/// Swings in a row, in samples of the run.
#[derive(Debug, Default)]
struct Chain {
    swings: u32,
    start: usize,
    end: usize,
}

impl Chain {
    /// Adds the lobe `start..end`: a swing extends the chain, anything else closes it.
    fn lobe(
        &mut self,
        swing: bool,
        start: usize,
        end: usize,
        min_bout: usize,
        run: &Run,
        out: &mut Vec<GaitSpan>,
    ) {
        if !swing {
            self.close(min_bout, run, out);
            return;
        }
        if self.swings == 0 {
            self.start = start;
        }
        self.swings += 1;
        self.end = end;
    }

    /// Ends the chain, keeping it as a bout if it was long enough.
    fn close(&mut self, min_bout: usize, run: &Run, out: &mut Vec<GaitSpan>) {
        if self.swings >= MIN_SWINGS && self.end - self.start >= min_bout {
            out.push(GaitSpan {
                start_ms: run.time_of(self.start),
                end_ms: run.time_of(self.end),
            });
        }
        self.swings = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: i64 = 1_763_800_000_000;

    /// A run of axial velocity only, `dps(t)` in °/s at `rate`.
    fn run_of(rate: u16, seconds: f32, dps: impl Fn(f32) -> f32) -> Run {
        let n = (seconds * f32::from(rate)) as usize;
        Run {
            start_ms: START,
            rate_hz: rate,
            samples: (0..n)
                .map(|k| {
                    let t = k as f32 / f32::from(rate);
                    [500, 0, (dps(t) * 10.0).round() as i16, 0]
                })
                .collect(),
        }
    }

    /// Pelvis yaw of ±8° at `stride_hz` (velocity amplitude 8° · 2π · f).
    fn stride(t: f32, stride_hz: f32) -> f32 {
        let w = std::f32::consts::TAU * stride_hz;
        8.0 * w * (w * t).cos()
    }

    #[test]
    fn a_steady_walk_is_one_bout_covering_it() {
        for rate in [12, 25, 50] {
            let run = run_of(rate, 30.0, |t| stride(t, 0.9));
            let spans = gait_spans(&run);
            assert_eq!(spans.len(), 1, "{rate} Hz: {spans:?}");
            assert!(spans[0].start_ms - START <= 1000, "{spans:?}");
            assert!(run.end_ms() - spans[0].end_ms <= 1000, "{spans:?}");
            assert!(in_gait(&spans, START + 15_000));
            assert!(!in_gait(&spans, run.end_ms() + 1));
        }
    }

    #[test]
    fn standing_a_twist_and_back_and_a_slow_turn_are_not_gait() {
        let still = run_of(25, 20.0, |_| 0.0);
        assert!(gait_spans(&still).is_empty());
        // 60° out in 0.8 s, a pause, 60° back: velocity peaks at 60·π/(2·0.8) ≈ 118 °/s.
        let twist = run_of(25, 10.0, |t| {
            let half_sine = |t0: f32| {
                let x = (t - t0) / 0.8;
                if (0.0..1.0).contains(&x) {
                    60.0 * std::f32::consts::PI / 1.6 * (std::f32::consts::PI * x).sin()
                } else {
                    0.0
                }
            };
            half_sine(2.0) - half_sine(4.0)
        });
        assert!(gait_spans(&twist).is_empty());
        // Quick twists back and forth with no pause (30° each way every 0.5 s).
        let shuffle = run_of(25, 10.0, |t| {
            30.0 * std::f32::consts::PI * (std::f32::consts::TAU * t).sin()
        });
        assert!(gait_spans(&shuffle).is_empty());
    }

    #[test]
    fn a_turn_in_the_middle_of_a_walk_splits_it_into_two_bouts_around_the_turn() {
        // 180° over 2 s at 10..12 s on top of walking.
        let run = run_of(25, 24.0, |t| {
            let turn = if (10.0..12.0).contains(&t) {
                90.0 * std::f32::consts::PI / 2.0 * (std::f32::consts::PI * (t - 10.0) / 2.0).sin()
            } else {
                0.0
            };
            stride(t, 0.9) + turn
        });
        let spans = gait_spans(&run);
        assert_eq!(spans.len(), 2, "{spans:?}");
        assert!(spans[0].end_ms <= START + 11_000 && spans[1].start_ms >= START + 11_000);
        assert!(!in_gait(&spans, START + 11_000));
    }

    /// The emulator's walks `[start, end)` in wall ms and the gait spans of the same shift.
    fn emulated(rate_hz: u16, seed: u64) -> (Vec<(i64, i64)>, Vec<GaitSpan>) {
        use crate::emulator::{ShiftSpec, TruthKind, simulate};
        let shift = ShiftSpec {
            rate_hz,
            ..ShiftSpec::new(START, 90 * 60_000)
        };
        let simulated = simulate(shift, seed);
        let walks = simulated
            .truth
            .segments
            .iter()
            .flat_map(|segment| segment.events_at_wall())
            .filter(|(event, _)| event.kind == TruthKind::Walk)
            .map(|(_, [start, _, end])| (start, end))
            .collect();
        let run = Run {
            start_ms: START,
            rate_hz,
            samples: simulated
                .samples
                .iter()
                .map(|s| [s.flex, s.lat, s.twist, s.height])
                .collect(),
        };
        (walks, gait_spans(&run))
    }

    #[test]
    fn gait_spans_find_the_emulated_walks_and_nothing_in_standing_work_twists_or_bends() {
        for rate in [12, 25, 50] {
            for seed in [1, 2, 3] {
                let (walks, spans) = emulated(rate, seed);
                assert!(walks.len() >= 10, "{} walks", walks.len());
                // Every bout lies inside a walk: none in standing work, twists, bends or lifts.
                for span in &spans {
                    assert!(
                        walks
                            .iter()
                            .any(|&(s, e)| s <= span.start_ms && span.end_ms <= e),
                        "{rate} Hz, seed {seed}: {span:?} outside every walk: {:?}",
                        walks
                            .iter()
                            .filter(|w| (w.0 - span.start_ms).abs() < 300_000)
                            .collect::<Vec<_>>()
                    );
                }
                // Every walk is covered but for its ramps and its turns (≤ 2 s each, one per
                // 15–40 s).
                for &(start, end) in &walks {
                    let covered: i64 = spans
                        .iter()
                        .map(|span| (span.end_ms.min(end) - span.start_ms.max(start)).max(0))
                        .sum();
                    let allowance = 2_500 + (end - start) * 2 / 15;
                    assert!(
                        end - start - covered <= allowance,
                        "{rate} Hz, seed {seed}: walk {start}..{end} covered {covered} ms"
                    );
                }
            }
        }
    }

    #[test]
    fn in_gait_is_false_between_before_and_after_the_spans() {
        let spans = [
            GaitSpan {
                start_ms: 10,
                end_ms: 20,
            },
            GaitSpan {
                start_ms: 30,
                end_ms: 40,
            },
        ];
        let inside: Vec<i64> = (0..50).filter(|&ms| in_gait(&spans, ms)).collect();
        assert_eq!(inside, (10..20).chain(30..40).collect::<Vec<_>>());
        assert!(!in_gait(&[], 0));
    }
}
