//! Shifts: groups a wearable's recording into shifts by worker tag, wear gaps and dockings, joins
//! contiguous blocks into runs, and assigns each shift to the site's local calendar day. It owns
//! shift boundaries and time-zone arithmetic; it must never place unknown-time data in the calendar
//! (it is counted instead), and never read the system time zone (the site's is configured).
//!
//! # How a recording is cut
//!
//! Blocks are taken in the order given (the store returns them in time order); each is handled so
//! that one 10-minute segment and the same samples cut into ten blocks give identical shifts:
//!
//! - **Unknown time.** A block with `wall_ms: None`, with `rate_hz == 0` (its samples have no
//!   times), or whose wall times lie outside the calendar jiff can represent (years ±9999) is
//!   counted in [`UnknownTime::samples`] and never placed; likewise alerts with `wall_ms: None`.
//! - **Joining ([`continues`]).** A block continues the previous one when it has the same worker
//!   and rate and starts within ±1.5 sample periods (60 ms at 25 Hz) of where the previous *block*
//!   ended by its own wall time. That absorbs the few milliseconds a CLOCK re-anchoring or a
//!   flat-battery re-anchoring shifts wall times by, and the rounding of block start times to
//!   whole milliseconds. The run keeps its first block's `start_ms` and its own sample clock
//!   (sample `k` at `start_ms + k·1000/rate`); re-anchorings do not move it.
//! - **Overlap.** The same instant is never placed twice: when a block starts more than the
//!   tolerance before the end of the data already placed (any worker), its samples before that
//!   end are dropped (the first recording is kept) and counted in
//!   [`Split::dropped_overlap_samples`]. What remains starts within one sample period of that end
//!   and joins as above. A smaller overlap (≤ 1.5 periods) is joined without dropping anything.
//! - **Runs and shifts.** A larger gap, or a different rate, starts a new run. A new shift starts
//!   when the worker tag changes (`None`, no worker assigned, is a worker of its own and is still
//!   analysed), when the gap since the previous block's end exceeds `max_gap_s`, or when a docking
//!   lies after the shift's start and at or before the block's start (a docking strictly inside
//!   the span the shift would get). A docking inside a single block cannot split that block; it
//!   cuts at the next block.
//! - **Spans and days.** A shift spans from its first run's start to its last run's end
//!   ([`Run::end_ms`]), or to its last block's end by that block's wall time if later (after
//!   re-anchorings the two differ by milliseconds). Its `local_day` is the site-local date of its start, so a night shift
//!   belongs to the day it started on; DST changes are jiff's (bundled tz database).
//! - **Alerts** go to the shift of the same worker whose span `[start_ms, end_ms]` contains them
//!   (in time order); an alert with a time but in no shift's span (e.g. in a wear gap between
//!   shifts) is counted in [`Split::unplaced_alerts`].

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::{AlertRecord, Recording, Run, Sample, TimedBlock};
use crate::worker::WorkerTag;

/// How shifts are cut, from `[analysis]` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShiftRules {
    /// A gap in wear longer than this ends a shift.
    pub max_gap_s: u32,
    /// The site's IANA time zone (e.g. "Europe/Berlin"): local days and hours of day are in it.
    pub time_zone: String,
}

impl Default for ShiftRules {
    fn default() -> Self {
        Self {
            max_gap_s: 1800,
            time_zone: "UTC".to_owned(),
        }
    }
}

/// One worker's shift on one wearable.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub worker: Option<WorkerTag>,
    pub start_ms: i64,
    pub end_ms: i64,
    /// The site-local calendar day the shift started on, `YYYY-MM-DD`.
    pub local_day: String,
    /// Runs of contiguous samples, in time order.
    pub runs: Vec<Run>,
    /// The shift's alerts, in time order.
    pub alerts: Vec<AlertRecord>,
}

/// Data that could not be placed in time: kept and counted, never put on a day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownTime {
    pub samples: u64,
    pub alerts: u64,
}

/// A recording cut into shifts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    pub shifts: Vec<Shift>,
    pub unknown_time: UnknownTime,
    /// Alerts with a wall time that lies in no shift of their worker (e.g. in a wear gap).
    pub unplaced_alerts: u64,
    /// Samples dropped because their time was already covered by earlier data (keep first).
    pub dropped_overlap_samples: u64,
}

/// Why a recording could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShiftError {
    #[error("unknown time zone `{0}`: use an IANA name such as \"Europe/Berlin\"")]
    TimeZone(String),
}

/// One site-local clock hour. Usually 3600 s; shorter where a UTC-offset change falls inside a
/// clock hour (zones whose DST shifts by 30 min). In Europe/Berlin the spring-forward day has
/// no hour 2, and the fall-back day has hour 2 twice (CEST, then CET), each a full hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalHour {
    pub start_ms: i64,
    pub end_ms: i64,
    /// Site-local hour of day, 0–23.
    pub hour_of_day: u8,
}

const HOUR_MS: i64 = 3_600_000;

/// Whether data at `rate_hz` starting at `next_start_ms` continues data that ended at
/// `prev_end_ms`: the gap or overlap is at most 1.5 sample periods (60 ms at 25 Hz).
pub fn continues(prev_end_ms: i64, next_start_ms: i64, rate_hz: u16) -> bool {
    let delta = i128::from(next_start_ms) - i128::from(prev_end_ms);
    // |delta| ≤ 1.5 · 1000 / rate  ⇔  2 · |delta| · rate ≤ 3000 (exact in integers).
    2 * delta.abs() * i128::from(rate_hz.max(1)) <= 3000
}

/// The site's time zone from the bundled tz database; never the host's.
pub fn time_zone(rules: &ShiftRules) -> Result<TimeZone, ShiftError> {
    TimeZone::get(&rules.time_zone).map_err(|_| ShiftError::TimeZone(rules.time_zone.clone()))
}

/// The site-local calendar day of `wall_ms`, `YYYY-MM-DD`; `None` outside jiff's calendar.
pub fn local_day(tz: &TimeZone, wall_ms: i64) -> Option<String> {
    let date = tz
        .to_datetime(Timestamp::from_millisecond(wall_ms).ok()?)
        .date();
    Some(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month(),
        date.day()
    ))
}

/// The site-local clock hour containing `wall_ms`; `None` outside jiff's calendar.
pub fn hour_at(tz: &TimeZone, wall_ms: i64) -> Option<LocalHour> {
    let ts = Timestamp::from_millisecond(wall_ms).ok()?;
    let offset_ms = i64::from(tz.to_offset(ts).seconds()) * 1000;
    let local_hour = (wall_ms + offset_ms).div_euclid(HOUR_MS);
    let mut start_ms = local_hour * HOUR_MS - offset_ms;
    let mut end_ms = start_ms + HOUR_MS;
    // An offset change inside the clock hour bounds it: the last one at or before `wall_ms`
    // starts it, the next one after ends it.
    if let Some(at_or_before) = Timestamp::from_millisecond(wall_ms + 1)
        .ok()
        .and_then(|t| tz.preceding(t).next())
    {
        start_ms = start_ms.max(at_or_before.timestamp().as_millisecond());
    }
    if let Some(after) = tz.following(ts).next() {
        end_ms = end_ms.min(after.timestamp().as_millisecond());
    }
    Some(LocalHour {
        start_ms,
        end_ms,
        hour_of_day: u8::try_from(local_hour.rem_euclid(24)).unwrap_or(0),
    })
}

/// The site-local clock hours covering `[start_ms, end_ms)`, contiguous and in order: the first
/// contains `start_ms` (at least one hour is returned), the last ends at or after `end_ms`.
/// Stops early only at the edge of jiff's calendar.
pub fn local_hours(tz: &TimeZone, start_ms: i64, end_ms: i64) -> Vec<LocalHour> {
    let mut hours = Vec::new();
    let mut at = start_ms;
    while let Some(hour) = hour_at(tz, at) {
        // Consecutive hours touch: the next starts exactly where this one ended.
        let hour = LocalHour {
            start_ms: if hours.is_empty() { hour.start_ms } else { at },
            ..hour
        };
        hours.push(hour);
        if hour.end_ms >= end_ms || hour.end_ms <= at {
            break;
        }
        at = hour.end_ms;
    }
    hours
}

/// A shift being built.
struct Open {
    worker: Option<WorkerTag>,
    runs: Vec<Run>,
    /// Wall time just after the last placed block, by that block's own start.
    last_block_end_ms: i64,
}

/// Wall time of sample `k` of data starting at `start_ms` (rounded down, as [`Run::time_of`]).
fn offset_ms(start_ms: i64, k: usize, rate_hz: u16) -> i64 {
    start_ms + (k as i64 * 1000) / i64::from(rate_hz.max(1))
}

/// Samples in the blocks after `first` (which ends at `end_ms`) that will likely join its run:
/// capacity to reserve, so a 12-hour run is copied once instead of grown by doubling.
fn chained_samples(after: &[TimedBlock], first: &TimedBlock, mut end_ms: i64) -> usize {
    let mut total = 0;
    for block in after {
        let Some(wall) = block.wall_ms else { break };
        if block.worker != first.worker
            || block.rate_hz != first.rate_hz
            || !continues(end_ms, wall, block.rate_hz)
        {
            break;
        }
        total += block.samples.len();
        end_ms = offset_ms(wall, block.samples.len(), block.rate_hz);
    }
    total
}

fn in_calendar(wall_ms: i64) -> bool {
    Timestamp::from_millisecond(wall_ms).is_ok()
}

fn close(open: Open, tz: &TimeZone, shifts: &mut Vec<Shift>) {
    let (Some(first), Some(last)) = (open.runs.first(), open.runs.last()) else {
        return;
    };
    let start_ms = first.start_ms;
    // The run's own clock and the blocks' wall times may differ by re-anchorings of a few ms:
    // the span covers both.
    let end_ms = last.end_ms().max(open.last_block_end_ms);
    shifts.push(Shift {
        worker: open.worker,
        start_ms,
        end_ms,
        // Every placed block was checked to lie in jiff's calendar, so this is always `Some`.
        local_day: local_day(tz, start_ms).unwrap_or_default(),
        runs: open.runs,
        alerts: Vec::new(),
    });
}

/// Cuts `recording` into shifts (see the module documentation for the rules).
pub fn split(recording: &Recording, rules: &ShiftRules) -> Result<Split, ShiftError> {
    let tz = time_zone(rules)?;
    let max_gap_ms = i64::from(rules.max_gap_s) * 1000;
    let mut dockings = recording.dockings_ms.clone();
    dockings.sort_unstable();
    let mut next_docking = 0;

    let mut out = Split::default();
    let mut open: Option<Open> = None;
    // End of the latest data placed, over all shifts: nothing is placed before it twice.
    let mut placed_end: Option<i64> = None;

    for (index, block) in recording.blocks.iter().enumerate() {
        let count = block.samples.len();
        let rate = block.rate_hz;
        let Some(wall) = block.wall_ms.filter(|&w| {
            rate > 0 && in_calendar(w) && in_calendar(offset_ms(w, count, rate.max(1)))
        }) else {
            out.unknown_time.samples += count as u64;
            continue;
        };
        if count == 0 {
            continue;
        }

        // Keep first: drop the samples whose time is already covered.
        let mut samples: &[Sample] = &block.samples;
        let mut start = wall;
        if let Some(end) = placed_end
            && start < end
            && !continues(end, start, rate)
        {
            let covered = (i128::from(end) - i128::from(start)) * i128::from(rate);
            let skip = usize::try_from((covered + 999) / 1000).unwrap_or(usize::MAX);
            if skip >= count {
                out.dropped_overlap_samples += count as u64;
                continue;
            }
            out.dropped_overlap_samples += skip as u64;
            samples = &samples[skip..];
            start = offset_ms(start, skip, rate);
        }
        let block_end = offset_ms(start, samples.len(), rate);

        let mut docked = false;
        while next_docking < dockings.len() && dockings[next_docking] <= start {
            docked |= open
                .as_ref()
                .and_then(|o| o.runs.first())
                .is_some_and(|r| dockings[next_docking] > r.start_ms);
            next_docking += 1;
        }
        let new_shift = match &open {
            None => true,
            Some(o) => {
                o.worker != block.worker
                    || (start.saturating_sub(o.last_block_end_ms) > max_gap_ms
                        && !continues(o.last_block_end_ms, start, rate))
                    || docked
            }
        };
        if new_shift && let Some(done) = open.take() {
            close(done, &tz, &mut out.shifts);
        }
        let shift = open.get_or_insert_with(|| Open {
            worker: block.worker,
            runs: Vec::new(),
            last_block_end_ms: start,
        });
        match shift.runs.last_mut() {
            Some(run) if run.rate_hz == rate && continues(shift.last_block_end_ms, start, rate) => {
                run.samples.extend_from_slice(samples);
            }
            _ => {
                let ahead = chained_samples(&recording.blocks[index + 1..], block, block_end);
                let mut run_samples = Vec::with_capacity(samples.len() + ahead);
                run_samples.extend_from_slice(samples);
                shift.runs.push(Run {
                    start_ms: start,
                    rate_hz: rate,
                    samples: run_samples,
                });
            }
        }
        shift.last_block_end_ms = block_end;
        placed_end = Some(placed_end.map_or(block_end, |e| e.max(block_end)));
    }
    if let Some(done) = open {
        close(done, &tz, &mut out.shifts);
    }

    for alert in &recording.alerts {
        let Some(at) = alert.wall_ms else {
            out.unknown_time.alerts += 1;
            continue;
        };
        match out
            .shifts
            .iter_mut()
            .find(|s| s.worker == alert.worker && s.start_ms <= at && at <= s.end_ms)
        {
            Some(shift) => shift.alerts.push(alert.clone()),
            None => out.unplaced_alerts += 1,
        }
    }
    for shift in &mut out.shifts {
        shift.alerts.sort_by_key(|a| a.wall_ms);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN_MS: i64 = 60_000;

    fn tag(text: &str) -> Option<WorkerTag> {
        WorkerTag::from_ascii(text)
    }

    /// Distinct samples so that any misplacement shows.
    fn samples(first: usize, count: usize) -> Vec<Sample> {
        (first..first + count)
            .map(|i| {
                let i = i as i16;
                [i, i.wrapping_mul(3), i.wrapping_mul(7), i.wrapping_neg()]
            })
            .collect()
    }

    /// `count` samples at `rate_hz` from `start_ms`, cut into blocks of `per_block` samples with
    /// wall times rounded down to the millisecond, as ingest computes them.
    fn blocks(
        worker: Option<WorkerTag>,
        start_ms: i64,
        rate_hz: u16,
        count: usize,
        per_block: usize,
    ) -> Vec<TimedBlock> {
        let all = samples(0, count);
        all.chunks(per_block)
            .enumerate()
            .map(|(i, chunk)| TimedBlock {
                worker,
                wall_ms: Some(offset_ms(start_ms, i * per_block, rate_hz)),
                rate_hz,
                samples: chunk.to_vec(),
            })
            .collect()
    }

    fn utc() -> ShiftRules {
        ShiftRules::default()
    }

    fn berlin() -> ShiftRules {
        ShiftRules {
            time_zone: "Europe/Berlin".to_owned(),
            ..ShiftRules::default()
        }
    }

    fn ms(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn alert(worker: Option<WorkerTag>, wall_ms: Option<i64>) -> AlertRecord {
        AlertRecord {
            worker,
            wall_ms,
            kind: 1,
            peak: 5000,
            duration_ms: 2000,
            response_ms: Some(800),
            haptic: true,
        }
    }

    #[test]
    fn one_segment_and_the_same_samples_in_ten_blocks_give_identical_shifts() {
        let start = ms("2024-05-06T06:00:00Z");
        for rate in [25u16, 30, 7] {
            let count = rate as usize * 600;
            let one = Recording {
                blocks: blocks(tag("A"), start, rate, count, count),
                ..Recording::default()
            };
            let ten = Recording {
                blocks: blocks(tag("A"), start, rate, count, count / 10 + 3),
                ..Recording::default()
            };
            let a = split(&one, &utc()).unwrap();
            let b = split(&ten, &utc()).unwrap();
            assert_eq!(a, b);
            assert_eq!(a.shifts.len(), 1);
            assert_eq!(a.shifts[0].runs.len(), 1);
            assert_eq!(a.shifts[0].runs[0].samples, samples(0, count));
            assert_eq!(a.shifts[0].end_ms, start + 600_000);
        }
    }

    #[test]
    fn a_re_anchoring_of_a_few_milliseconds_does_not_break_the_run() {
        let start = ms("2024-05-06T06:00:00Z");
        let mut input = blocks(tag("A"), start, 25, 25 * 300, 25 * 60);
        // CLOCK re-anchoring: later blocks 30 ms late, then one 20 ms early.
        for b in &mut input[2..] {
            *b.wall_ms.as_mut().unwrap() += 30;
        }
        *input[4].wall_ms.as_mut().unwrap() -= 50;
        let split = split(
            &Recording {
                blocks: input,
                ..Recording::default()
            },
            &utc(),
        )
        .unwrap();
        assert_eq!(split.shifts.len(), 1);
        assert_eq!(split.shifts[0].runs.len(), 1);
        assert_eq!(split.shifts[0].runs[0].start_ms, start);
        assert_eq!(split.shifts[0].runs[0].samples.len(), 25 * 300);
        assert_eq!(split.dropped_overlap_samples, 0);
    }

    #[test]
    fn a_gap_longer_than_max_gap_ends_the_shift_and_a_shorter_one_starts_a_new_run() {
        let start = ms("2024-05-06T06:00:00Z");
        let mut input = blocks(tag("A"), start, 25, 25 * 60, 25 * 60);
        input.extend(blocks(tag("A"), start + 11 * MIN_MS, 25, 25 * 60, 25 * 60));
        input.extend(blocks(tag("A"), start + 60 * MIN_MS, 25, 25 * 60, 25 * 60));
        let rules = ShiftRules {
            max_gap_s: 30 * 60,
            ..utc()
        };
        let split = split(
            &Recording {
                blocks: input,
                ..Recording::default()
            },
            &rules,
        )
        .unwrap();
        assert_eq!(split.shifts.len(), 2);
        assert_eq!(split.shifts[0].runs.len(), 2);
        assert_eq!(split.shifts[0].runs[1].start_ms, start + 11 * MIN_MS);
        assert_eq!(split.shifts[0].end_ms, start + 12 * MIN_MS);
        assert_eq!(split.shifts[1].start_ms, start + 60 * MIN_MS);
        assert_eq!(split.shifts[1].runs.len(), 1);
    }

    #[test]
    fn a_gap_of_exactly_max_gap_does_not_end_the_shift() {
        let start = ms("2024-05-06T06:00:00Z");
        let mut input = blocks(tag("A"), start, 25, 25 * 60, 25 * 60);
        input.extend(blocks(tag("A"), start + 31 * MIN_MS, 25, 25, 25));
        let split = split(
            &Recording {
                blocks: input,
                ..Recording::default()
            },
            &utc(),
        )
        .unwrap();
        assert_eq!(split.shifts.len(), 1);
        assert_eq!(split.shifts[0].runs.len(), 2);
    }

    #[test]
    fn a_change_of_worker_ends_the_shift_even_without_a_gap_and_no_worker_is_a_group_of_its_own() {
        let start = ms("2024-05-06T06:00:00Z");
        let mut input = blocks(tag("A"), start, 25, 25 * 60, 25 * 60);
        input.extend(blocks(None, start + MIN_MS, 25, 25 * 60, 25 * 60));
        input.extend(blocks(tag("B"), start + 2 * MIN_MS, 25, 25 * 60, 25 * 60));
        let recording = Recording {
            blocks: input,
            alerts: vec![
                alert(tag("A"), Some(start + 30_000)),
                alert(None, Some(start + MIN_MS)),
                alert(tag("B"), Some(start + 2 * MIN_MS)),
                alert(tag("B"), Some(start + 90_000)),
            ],
            ..Recording::default()
        };
        let split = split(&recording, &utc()).unwrap();
        let workers: Vec<_> = split.shifts.iter().map(|s| s.worker).collect();
        assert_eq!(workers, vec![tag("A"), None, tag("B")]);
        assert_eq!(split.shifts[0].end_ms, split.shifts[1].start_ms);
        let alerts: Vec<_> = split.shifts.iter().map(|s| s.alerts.len()).collect();
        // The alert at the A/None boundary goes to the shift of its own worker; B's alert at
        // 90 s lies in the no-worker shift's time, not B's: unplaced.
        assert_eq!(alerts, vec![1, 1, 1]);
        assert_eq!(split.unplaced_alerts, 1);
    }

    #[test]
    fn a_docking_inside_the_span_ends_the_shift() {
        let start = ms("2024-05-06T06:00:00Z");
        let mut input = blocks(tag("A"), start, 25, 25 * 60, 25 * 60);
        input.extend(blocks(tag("A"), start + 5 * MIN_MS, 25, 25 * 60, 25 * 60));
        let recording = Recording {
            blocks: input,
            alerts: Vec::new(),
            // One at the very start (not inside) and one in the gap.
            dockings_ms: vec![start + 3 * MIN_MS, start],
        };
        let split = split(&recording, &utc()).unwrap();
        assert_eq!(split.shifts.len(), 2);
        assert_eq!(split.shifts[0].end_ms, start + MIN_MS);
        assert_eq!(split.shifts[1].start_ms, start + 5 * MIN_MS);
    }

    #[test]
    fn a_docking_at_the_first_sample_does_not_cut_anything() {
        let start = ms("2024-05-06T06:00:00Z");
        let recording = Recording {
            blocks: blocks(tag("A"), start, 25, 25 * 300, 25 * 60),
            alerts: Vec::new(),
            dockings_ms: vec![start - 5 * MIN_MS, start],
        };
        assert_eq!(split(&recording, &utc()).unwrap().shifts.len(), 1);
    }

    #[test]
    fn unknown_time_samples_and_alerts_are_counted_and_never_placed() {
        let start = ms("2024-05-06T06:00:00Z");
        let mut input = blocks(tag("A"), start, 25, 25 * 60, 25 * 60);
        input.insert(
            0,
            TimedBlock {
                worker: tag("A"),
                wall_ms: None,
                rate_hz: 25,
                samples: samples(0, 40),
            },
        );
        input.push(TimedBlock {
            worker: tag("A"),
            wall_ms: Some(start + MIN_MS),
            rate_hz: 0,
            samples: samples(0, 7),
        });
        let recording = Recording {
            blocks: input,
            alerts: vec![alert(tag("A"), None), alert(tag("A"), Some(start + 1000))],
            dockings_ms: Vec::new(),
        };
        let split = split(&recording, &utc()).unwrap();
        assert_eq!(
            split.unknown_time,
            UnknownTime {
                samples: 47,
                alerts: 1
            }
        );
        assert_eq!(split.shifts.len(), 1);
        assert_eq!(split.shifts[0].runs[0].samples.len(), 25 * 60);
        assert_eq!(split.shifts[0].alerts.len(), 1);
    }

    #[test]
    fn overlapping_data_keeps_the_first_recording_of_each_instant() {
        let start = ms("2024-05-06T06:00:00Z");
        let mut input = blocks(tag("A"), start, 25, 25 * 60, 25 * 60);
        // A re-anchoring moved the clock back 10 s: the next minute's first 10 s repeat time.
        input.push(TimedBlock {
            worker: tag("A"),
            wall_ms: Some(start + 50_000),
            rate_hz: 25,
            samples: samples(5000, 25 * 60),
        });
        let split = split(
            &Recording {
                blocks: input,
                ..Recording::default()
            },
            &utc(),
        )
        .unwrap();
        assert_eq!(split.dropped_overlap_samples, 250);
        let run = &split.shifts[0].runs[0];
        assert_eq!(split.shifts[0].runs.len(), 1);
        assert_eq!(run.samples.len(), 25 * 110);
        assert_eq!(run.samples[25 * 60], samples(5250, 1)[0]);
    }

    #[test]
    fn a_different_rate_starts_a_new_run_in_the_same_shift() {
        let start = ms("2024-05-06T06:00:00Z");
        let mut input = blocks(tag("A"), start, 25, 25 * 60, 25 * 60);
        input.extend(blocks(tag("A"), start + MIN_MS, 50, 50 * 60, 50 * 60));
        let split = split(
            &Recording {
                blocks: input,
                ..Recording::default()
            },
            &utc(),
        )
        .unwrap();
        assert_eq!(split.shifts.len(), 1);
        let rates: Vec<_> = split.shifts[0].runs.iter().map(|r| r.rate_hz).collect();
        assert_eq!(rates, vec![25, 50]);
    }

    #[test]
    fn a_shift_crossing_local_midnight_belongs_to_the_day_it_started() {
        // 22:00 CEST on 6 May to 06:00 on 7 May.
        let start = ms("2024-05-06T20:00:00Z");
        let recording = Recording {
            blocks: blocks(tag("A"), start, 1, 8 * 3600, 60),
            ..Recording::default()
        };
        let split = split(&recording, &berlin()).unwrap();
        assert_eq!(split.shifts.len(), 1);
        assert_eq!(split.shifts[0].local_day, "2024-05-06");
        // The same instant is already 7 May in Tokyo.
        let tokyo = ShiftRules {
            time_zone: "Asia/Tokyo".to_owned(),
            ..ShiftRules::default()
        };
        assert_eq!(
            super::split(&recording, &tokyo).unwrap().shifts[0].local_day,
            "2024-05-07"
        );
    }

    #[test]
    fn an_unknown_time_zone_is_an_error() {
        let rules = ShiftRules {
            time_zone: "Mars/Olympus_Mons".to_owned(),
            ..ShiftRules::default()
        };
        assert_eq!(
            split(&Recording::default(), &rules),
            Err(ShiftError::TimeZone("Mars/Olympus_Mons".to_owned()))
        );
    }

    #[test]
    fn spring_forward_in_berlin_has_no_hour_two_and_its_day_is_right() {
        let tz = time_zone(&berlin()).unwrap();
        // 31 March 2024: 02:00 CET → 03:00 CEST at 01:00 UTC.
        let start = ms("2024-03-30T23:00:00Z"); // 00:00 CET
        let hours = local_hours(&tz, start, ms("2024-03-31T22:00:00Z"));
        let of_day: Vec<u8> = hours.iter().map(|h| h.hour_of_day).collect();
        let expected: Vec<u8> = [0u8, 1].into_iter().chain(3..24).collect();
        assert_eq!(of_day, expected);
        assert!(hours.iter().all(|h| h.end_ms - h.start_ms == HOUR_MS));
        assert_eq!(hours[2].start_ms, ms("2024-03-31T01:00:00Z"));
        assert_eq!(
            local_day(&tz, ms("2024-03-30T22:59:59Z")).unwrap(),
            "2024-03-30"
        );
        assert_eq!(local_day(&tz, start).unwrap(), "2024-03-31");
        assert_eq!(
            local_day(&tz, ms("2024-03-31T21:59:59Z")).unwrap(),
            "2024-03-31"
        );
        assert_eq!(
            local_day(&tz, ms("2024-03-31T22:00:00Z")).unwrap(),
            "2024-04-01"
        );
    }

    #[test]
    fn fall_back_in_berlin_has_hour_two_twice_and_its_day_is_right() {
        let tz = time_zone(&berlin()).unwrap();
        // 27 October 2024: 03:00 CEST → 02:00 CET at 01:00 UTC.
        let start = ms("2024-10-26T22:00:00Z"); // 00:00 CEST
        let hours = local_hours(&tz, start, ms("2024-10-27T23:00:00Z"));
        assert_eq!(hours.len(), 25);
        let of_day: Vec<u8> = hours.iter().map(|h| h.hour_of_day).collect();
        let expected: Vec<u8> = [0u8, 1, 2, 2].into_iter().chain(3..24).collect();
        assert_eq!(of_day, expected);
        assert_eq!(hours[3].start_ms, ms("2024-10-27T01:00:00Z"));
        assert!(hours.windows(2).all(|w| w[0].end_ms == w[1].start_ms));
        assert_eq!(
            local_day(&tz, ms("2024-10-27T22:59:59Z")).unwrap(),
            "2024-10-27"
        );
        assert_eq!(
            local_day(&tz, ms("2024-10-27T23:00:00Z")).unwrap(),
            "2024-10-28"
        );
        let night = Recording {
            blocks: blocks(tag("A"), ms("2024-10-26T21:30:00Z"), 1, 3600, 60),
            ..Recording::default()
        };
        assert_eq!(
            split(&night, &berlin()).unwrap().shifts[0].local_day,
            "2024-10-26"
        );
    }

    #[test]
    fn a_half_hour_offset_change_makes_a_short_clock_hour() {
        // Lord Howe Island moves from +10:30 to +11:00 at 02:00 local (15:30 UTC) on 6 Oct 2024.
        let tz = TimeZone::get("Australia/Lord_Howe").unwrap();
        let hours = local_hours(&tz, ms("2024-10-05T14:30:00Z"), ms("2024-10-05T16:30:00Z"));
        let spans: Vec<(u8, i64)> = hours
            .iter()
            .map(|h| (h.hour_of_day, h.end_ms - h.start_ms))
            .collect();
        assert_eq!(spans, vec![(1, HOUR_MS), (2, HOUR_MS / 2), (3, HOUR_MS)]);
        assert!(hours.windows(2).all(|w| w[0].end_ms == w[1].start_ms));
    }

    #[test]
    fn joining_tolerates_one_and_a_half_sample_periods() {
        assert!(continues(1000, 1060, 25));
        assert!(continues(1000, 940, 25));
        assert!(!continues(1000, 1061, 25));
        assert!(!continues(1000, 939, 25));
        assert!(continues(0, 1500, 1));
        assert!(!continues(0, 1501, 1));
    }
}
