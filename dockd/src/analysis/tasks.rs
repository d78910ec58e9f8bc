//! Tasks: what a supervisor configures about the work (name, load, lever arm, lifting geometry, who
//! does it and when) and how a shift's time and lifts are assigned to tasks, with LiFFT and NIOSH
//! outputs per task. It owns assignment; it must never guess a load ("needs load input" instead)
//! nor a time zone (with an unknown zone nothing time-dependent is assigned; `try_assign` says why).
//!
//! Assignment rules:
//! - A task applies to a moment when its `workers` list is empty or holds the shift's badge tag,
//!   **and** its `windows` list is empty or the site-local time of day is inside one of them. A task
//!   with both lists empty applies to nobody ([`validate`] rejects it).
//! - The first applying task in config order wins; time in no task is not listed.
//! - A window `"HH:MM-HH:MM"` includes its start and excludes its end; a start after the end wraps
//!   past midnight (`"22:00-06:00"`); `"24:00"` may end a window. Windows are in wall-clock time, so
//!   on a DST day `"01:00-04:00"` in Europe/Berlin lasts 2 h in spring and 4 h in autumn.
//! - Wear time per task is the sample time (1 / rate per sample) of the shift's runs whose sample
//!   instants fall in the task; a movement belongs to the task active at its `peak_ms`.
//! - Local time comes from `ShiftRules::time_zone` through jiff's bundled tz database, resolved to
//!   whole minutes (every window edge is a whole minute; tz offsets since 1972 are whole minutes).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::exposure::Counts;
use super::models::lifft;
use super::models::niosh::{self, NioshGeometry};
use super::movements::Movement;
use super::shifts::{Shift, ShiftRules};
use crate::worker::WorkerTag;

/// What a task without a load lacks for LiFFT (and for a NIOSH lifting index).
pub const NEEDS_LOAD: &str = "needs load input";
/// What a task without a lever arm lacks for LiFFT.
pub const NEEDS_LEVER_ARM: &str = "needs lever arm";

const MINUTES_PER_DAY: usize = 24 * 60;
const MS_PER_MINUTE: i64 = 60_000;

/// A task as configured (`[[analysis.tasks]]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Task {
    pub name: String,
    /// Typical load handled per lift, kg. Without it, LiFFT says "needs load input".
    pub load_kg: Option<f64>,
    /// Greatest horizontal distance from the hip (L5-S1) to the load's centre during a lift, m.
    pub lever_arm_m: Option<f64>,
    /// Lifting geometry for the revised NIOSH equation, when measured on site.
    pub niosh: Option<NioshGeometry>,
    /// Badge tags of the workers who do this task (their whole shift, within `windows` if given).
    pub workers: Vec<String>,
    /// Site-local time windows, `"06:00-10:00"`; alone, they assign everyone working then.
    pub windows: Vec<String>,
}

/// LiFFT output for one task of one shift (workbook v1.4.0 relation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LifftTask {
    /// Peak load moment, N·m.
    pub plm_nm: f64,
    pub damage_per_cycle: f64,
    pub cumulative_damage: f64,
    /// PLM above 100 N·m: outside the range LiFFT was validated for; flag it.
    pub over_100_nm: bool,
}

/// NIOSH output for one task.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NioshTask {
    pub rwl_kg: f64,
    /// Load / RWL; `None` without a configured load.
    pub lifting_index: Option<f64>,
}

/// What a shift did in one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskLoad {
    pub task: String,
    /// Wear time spent in the task, s.
    pub seconds: f64,
    /// Lifts detected while in the task (LiFFT's repetitions).
    pub lifts: u32,
    /// Movements detected while in the task.
    pub counts: Counts,
    pub lifft: Option<LifftTask>,
    pub niosh: Option<NioshTask>,
    /// What is missing for the models, in words ("needs load input"); empty when complete.
    pub needs: Vec<String>,
}

/// LiFFT summed over a shift's tasks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LifftTotal {
    pub cumulative_damage: f64,
    /// Probability of a high-risk job (workbook v1.4.0: Y = 1.7229 + 1.0239 log10 CD).
    pub probability: f64,
}

/// What a shift did per task, with model outputs where loads are configured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskExposure {
    /// Tasks the shift spent time in, in config order; time in no task is not listed.
    pub tasks: Vec<TaskLoad>,
    /// `None` when no task with a load had lifts.
    pub lifft: Option<LifftTotal>,
}

/// Why a shift could not be assigned to tasks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    #[error(
        "unknown time zone `{0}`: task time windows cannot be placed; use an IANA name such as \"Europe/Berlin\""
    )]
    TimeZone(String),
}

/// A site-local time-of-day window, in minutes after midnight: `[start, end)`, wrapping past
/// midnight when `start > end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_min: u16,
    pub end_min: u16,
}

/// Why a window's text was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error(
        "`{0}` is not a time window: write \"HH:MM-HH:MM\" (24-hour clock), e.g. \"06:00-14:00\""
    )]
    Syntax(String),
    #[error("window `{0}` starts and ends at the same time: it would be empty or the whole day")]
    Empty(String),
}

impl Window {
    /// Parses `"HH:MM-HH:MM"` (two digits each; 00:00–23:59, and 24:00 as an end).
    pub fn parse(text: &str) -> Result<Self, WindowError> {
        let syntax = || WindowError::Syntax(text.to_owned());
        let (start, end) = text.trim().split_once('-').ok_or_else(syntax)?;
        let start_min = parse_clock(start.trim(), false).ok_or_else(syntax)?;
        let end_min = parse_clock(end.trim(), true).ok_or_else(syntax)?;
        if start_min == end_min {
            return Err(WindowError::Empty(text.to_owned()));
        }
        Ok(Self { start_min, end_min })
    }

    /// Whether minute `minute_of_day` (0–1439) is inside the window.
    pub fn contains(&self, minute_of_day: u16) -> bool {
        if self.start_min < self.end_min {
            (self.start_min..self.end_min).contains(&minute_of_day)
        } else {
            minute_of_day >= self.start_min || minute_of_day < self.end_min
        }
    }
}

/// `HH:MM` → minutes after midnight; `24:00` only when `is_end`.
fn parse_clock(text: &str, is_end: bool) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    match (h, m) {
        (24, 0) if is_end => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Everything wrong with a task list, one problem per entry, each naming its task.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid [[analysis.tasks]]: {}", .problems.join("; "))]
pub struct TaskConfigError {
    pub problems: Vec<String>,
}

/// Checks a configured task list: names present, unique and within `web_ui::rules::task_name`, loads and lever arms finite and not
/// negative, NIOSH geometry usable, windows well formed, badge tags acceptable to
/// [`WorkerTag::from_ascii`], and every task applying to someone. Messages name the task (or its
/// position) and never print a badge tag (personal data).
pub fn validate(tasks: &[Task]) -> Result<(), TaskConfigError> {
    let mut problems = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        // The page's one rule for a task name; a name that breaks it is told by position.
        let label = if task.name.trim().is_empty() {
            problems.push(format!("task #{} has no name", i + 1));
            format!("task #{}", i + 1)
        } else if let Err(words) = web_ui::rules::task_name(&task.name) {
            problems.push(format!("task #{}: {words}", i + 1));
            format!("task #{}", i + 1)
        } else {
            format!("task `{}`", task.name)
        };
        if let Some(first) = tasks[..i]
            .iter()
            .position(|t| !t.name.trim().is_empty() && t.name.trim() == task.name.trim())
        {
            problems.push(format!(
                "{label}: the name is used twice (tasks #{} and #{})",
                first + 1,
                i + 1
            ));
        }
        for (field, value) in [("load_kg", task.load_kg), ("lever_arm_m", task.lever_arm_m)] {
            if let Some(v) = value
                && !(v.is_finite() && v >= 0.0)
            {
                problems.push(format!("{label}: `{field}` must be a number ≥ 0"));
            }
        }
        if let Some(geometry) = &task.niosh
            && let Err(e) = geometry.validate()
        {
            problems.push(format!("{label}: niosh: {e}"));
        }
        for window in &task.windows {
            if let Err(e) = Window::parse(window) {
                problems.push(format!("{label}: {e}"));
            }
        }
        for (k, tag) in task.workers.iter().enumerate() {
            if WorkerTag::from_ascii(tag).is_none() {
                problems.push(format!(
                    "{label}: worker #{} is not a badge tag (1 to 16 ASCII characters)",
                    k + 1
                ));
            }
        }
        if task.workers.is_empty() && task.windows.is_empty() {
            problems.push(format!(
                "{label} applies to nobody: give it `workers`, `windows` or both"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(TaskConfigError { problems })
    }
}

/// When a task applies to one worker's shift.
enum Applies {
    Never,
    AllDay,
    Within(Vec<Window>),
}

/// Which task (index into the config) is active at each site-local minute of the day, for one
/// worker.
struct Plan {
    by_minute: Vec<Option<usize>>,
    /// `Some` when the same task (or none) applies all day: no local time needed.
    constant: Option<Option<usize>>,
}

impl Plan {
    fn new(tasks: &[Task], worker: Option<&WorkerTag>) -> Self {
        let eligible: Vec<Applies> = tasks
            .iter()
            .map(|task| {
                let worker_ok = task.workers.is_empty()
                    || worker.is_some_and(|w| {
                        task.workers
                            .iter()
                            .any(|t| WorkerTag::from_ascii(t).as_ref() == Some(w))
                    });
                if !worker_ok || (task.workers.is_empty() && task.windows.is_empty()) {
                    Applies::Never
                } else if task.windows.is_empty() {
                    Applies::AllDay
                } else {
                    // An unparsable window matches no minute ([`validate`] reports it).
                    Applies::Within(
                        task.windows
                            .iter()
                            .filter_map(|w| Window::parse(w).ok())
                            .collect(),
                    )
                }
            })
            .collect();
        let by_minute: Vec<Option<usize>> = (0..MINUTES_PER_DAY)
            .map(|minute| {
                let minute = u16::try_from(minute).unwrap_or(u16::MAX);
                eligible.iter().position(|applies| match applies {
                    Applies::Never => false,
                    Applies::AllDay => true,
                    Applies::Within(windows) => windows.iter().any(|w| w.contains(minute)),
                })
            })
            .collect();
        let constant = by_minute
            .iter()
            .all(|t| *t == by_minute[0])
            .then_some(by_minute[0]);
        Self {
            by_minute,
            constant,
        }
    }

    /// The task active at wall time `ms`.
    fn at(&self, ms: i64, tz: Option<&TimeZone>) -> Option<usize> {
        if let Some(constant) = self.constant {
            return constant;
        }
        let tz = tz?;
        let minute = local_minute(ms, tz)?;
        self.by_minute.get(minute).copied().flatten()
    }
}

/// The site-local minute of the day (0–1439) at wall time `ms`.
fn local_minute(ms: i64, tz: &TimeZone) -> Option<usize> {
    let ts = Timestamp::from_millisecond(ms).ok()?;
    let dt = tz.to_datetime(ts);
    let minute = i32::from(dt.hour()) * 60 + i32::from(dt.minute());
    usize::try_from(minute).ok()
}

/// The first sample index of a run (start `start_ms`, `rate` Hz, `n` samples) taken at or after
/// `ms`: sample `k` is at `start + floor(k·1000 / rate)`.
fn first_sample_at_or_after(start_ms: i64, rate: i64, n: i64, ms: i64) -> i64 {
    if ms <= start_ms {
        return 0;
    }
    let d = ms - start_ms;
    // ceil(d·rate / 1000), d > 0.
    let k = d.saturating_mul(rate).saturating_add(999) / 1000;
    k.min(n)
}

/// A load usable by the models: finite and not negative.
fn usable(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite() && *v >= 0.0)
}

/// Assigns a shift's time and movements to the configured tasks and applies the models.
///
/// With an unknown `rules.time_zone`, when the assignment depends on the time of day, nothing is
/// assigned (an empty [`TaskExposure`]): a guessed zone would silently move tasks by hours. This
/// cannot happen for a shift from `shifts::split`, which rejects unknown zones, and the config
/// loader validates them; [`try_assign`] returns the reason instead.
pub fn assign(
    shift: &Shift,
    movements: &[Movement],
    tasks: &[Task],
    rules: &ShiftRules,
) -> TaskExposure {
    try_assign(shift, movements, tasks, rules).unwrap_or_default()
}

/// [`assign`], failing with [`TaskError::TimeZone`] when the time of day matters and
/// `rules.time_zone` is not a known IANA zone. A zone that is not needed (no time windows apply to
/// this worker) is not checked.
pub fn try_assign(
    shift: &Shift,
    movements: &[Movement],
    tasks: &[Task],
    rules: &ShiftRules,
) -> Result<TaskExposure, TaskError> {
    let mut exposure = TaskExposure::default();
    if tasks.is_empty() {
        return Ok(exposure);
    }
    let plan = Plan::new(tasks, shift.worker.as_ref());
    let tz = if plan.constant.is_some() {
        None
    } else {
        Some(
            TimeZone::get(&rules.time_zone)
                .map_err(|_| TaskError::TimeZone(rules.time_zone.clone()))?,
        )
    };

    let mut seconds = vec![0.0f64; tasks.len()];
    for run in &shift.runs {
        let rate = i64::from(run.rate_hz.max(1));
        let n = i64::try_from(run.samples.len()).unwrap_or(i64::MAX);
        if n == 0 {
            continue;
        }
        let end_ms = run.end_ms();
        let mut chunk_start = run.start_ms;
        while chunk_start < end_ms {
            // Local minutes start on UTC minute boundaries (whole-minute offsets).
            let chunk_end = if plan.constant.is_some() {
                end_ms
            } else {
                ((chunk_start.div_euclid(MS_PER_MINUTE) + 1) * MS_PER_MINUTE).min(end_ms)
            };
            let k0 = first_sample_at_or_after(run.start_ms, rate, n, chunk_start);
            let k1 = first_sample_at_or_after(run.start_ms, rate, n, chunk_end);
            if k1 > k0
                && let Some(task) = plan.at(chunk_start, tz.as_ref())
            {
                seconds[task] += (k1 - k0) as f64 / rate as f64;
            }
            chunk_start = chunk_end;
        }
    }

    let mut counts = vec![Counts::default(); tasks.len()];
    for movement in movements {
        if let Some(task) = plan.at(movement.peak_ms, tz.as_ref()) {
            counts[task].add(movement);
        }
    }

    for (i, task) in tasks.iter().enumerate() {
        if seconds[i] <= 0.0 && counts[i] == Counts::default() {
            continue;
        }
        let lifts = counts[i].lifts;
        let load = usable(task.load_kg);
        let lever = usable(task.lever_arm_m);
        let mut needs = Vec::new();
        if load.is_none() {
            needs.push(NEEDS_LOAD.to_owned());
        }
        if lever.is_none() {
            needs.push(NEEDS_LEVER_ARM.to_owned());
        }
        let lifft = match (load, lever) {
            (Some(load), Some(lever)) => {
                let plm = lifft::plm_nm(load, lever);
                let dpc = lifft::damage_per_cycle(plm);
                Some(LifftTask {
                    plm_nm: plm,
                    damage_per_cycle: dpc,
                    cumulative_damage: f64::from(lifts) * dpc,
                    over_100_nm: lifft::over_caution(plm),
                })
            }
            _ => None,
        };
        let niosh = task.niosh.as_ref().map(|geometry| {
            let rwl = niosh::rwl_kg(geometry);
            if geometry.validate().is_err() {
                needs.push("needs a valid NIOSH geometry".to_owned());
            } else if rwl <= 0.0 {
                needs.push(
                    "NIOSH geometry is outside the equation's limits (no load is recommended)"
                        .to_owned(),
                );
            }
            NioshTask {
                rwl_kg: rwl,
                lifting_index: load.and_then(|l| niosh::lifting_index(l, rwl)),
            }
        });
        exposure.tasks.push(TaskLoad {
            task: task.name.clone(),
            seconds: seconds[i],
            lifts,
            counts: counts[i],
            lifft,
            niosh,
            needs,
        });
    }

    let with_lifts: Vec<&LifftTask> = exposure
        .tasks
        .iter()
        .filter(|t| t.lifts > 0)
        .filter_map(|t| t.lifft.as_ref())
        .collect();
    if !with_lifts.is_empty() {
        let cd: f64 = with_lifts.iter().map(|t| t.cumulative_damage).sum();
        exposure.lifft = Some(LifftTotal {
            cumulative_damage: cd,
            probability: lifft::probability(cd),
        });
    }
    Ok(exposure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Run;
    use crate::analysis::movements::{LiftStyle, MovementKind};
    use jiff::civil::date;

    const HOUR_MS: i64 = 3_600_000;
    const MIN_MS: i64 = 60_000;

    fn tag(text: &str) -> WorkerTag {
        WorkerTag::from_ascii(text).unwrap()
    }

    fn rules(zone: &str) -> ShiftRules {
        ShiftRules {
            max_gap_s: 1800,
            time_zone: zone.to_owned(),
        }
    }

    /// Wall time (ms) of a civil time in `zone` (earlier instant when ambiguous).
    fn at(zone: &str, y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
        date(y, mo, d)
            .at(h, mi, 0, 0)
            .to_zoned(TimeZone::get(zone).unwrap())
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    /// A shift of one 1 Hz run from `start_ms` lasting `hours`.
    fn shift(worker: Option<&str>, start_ms: i64, hours: i64) -> Shift {
        let n = usize::try_from(hours * 3600).unwrap();
        Shift {
            worker: worker.map(tag),
            start_ms,
            end_ms: start_ms + hours * HOUR_MS,
            local_day: "2024-01-01".to_owned(),
            runs: vec![Run {
                start_ms,
                rate_hz: 1,
                samples: vec![[0; 4]; n],
            }],
            alerts: Vec::new(),
        }
    }

    fn windowed(name: &str, windows: &[&str]) -> Task {
        Task {
            name: name.to_owned(),
            windows: windows.iter().map(|w| (*w).to_owned()).collect(),
            ..Task::default()
        }
    }

    fn for_workers(name: &str, workers: &[&str]) -> Task {
        Task {
            name: name.to_owned(),
            workers: workers.iter().map(|w| (*w).to_owned()).collect(),
            ..Task::default()
        }
    }

    fn movement(kind: MovementKind, peak_ms: i64) -> Movement {
        Movement {
            kind,
            start_ms: peak_ms - 500,
            peak_ms,
            end_ms: peak_ms + 500,
            peak: 45.0,
            deep: false,
            bent: false,
            lift_style: None,
            height_drop_mm: None,
        }
    }

    fn lift(peak_ms: i64, style: LiftStyle) -> Movement {
        Movement {
            lift_style: Some(style),
            height_drop_mm: Some(300.0),
            ..movement(MovementKind::Lift, peak_ms)
        }
    }

    fn seconds_of(exposure: &TaskExposure) -> Vec<(String, f64)> {
        exposure
            .tasks
            .iter()
            .map(|t| (t.task.clone(), t.seconds))
            .collect()
    }

    fn close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{actual} is not within {tolerance} of {expected}"
        );
    }

    #[test]
    fn windows_parse_and_wrap_past_midnight() {
        let w = Window::parse("22:00-06:00").unwrap();
        assert_eq!((w.start_min, w.end_min), (22 * 60, 6 * 60));
        assert!(w.contains(23 * 60 + 59));
        assert!(w.contains(0));
        assert!(w.contains(5 * 60 + 59));
        assert!(!w.contains(6 * 60));
        assert!(!w.contains(21 * 60 + 59));
        let day = Window::parse(" 00:00 - 24:00 ").unwrap();
        assert!(day.contains(0) && day.contains(1439));
        for bad in [
            "6:00-10:00",
            "06:00",
            "06:60-07:00",
            "24:00-01:00",
            "ab:cd-01:00",
            "06:00-06:00",
        ] {
            assert!(Window::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Window::parse("06:00-06:00"),
            Err(WindowError::Empty("06:00-06:00".to_owned()))
        );
    }

    #[test]
    fn a_window_past_midnight_collects_the_night_hours_and_their_movements() {
        let start = at("UTC", 2024, 1, 10, 20, 0);
        let s = shift(None, start, 12);
        let tasks = [windowed("night", &["22:00-06:00"])];
        let moves = [
            movement(MovementKind::Bend, start + 2 * HOUR_MS - 1), // 21:59:59.999
            movement(MovementKind::Bend, start + 3 * HOUR_MS + 30 * MIN_MS), // 23:30
            movement(MovementKind::Twist, start + 9 * HOUR_MS + 59 * MIN_MS), // 05:59
            movement(MovementKind::Twist, start + 10 * HOUR_MS),   // 06:00
        ];
        let e = assign(&s, &moves, &tasks, &rules("UTC"));
        assert_eq!(seconds_of(&e), vec![("night".to_owned(), 8.0 * 3600.0)]);
        assert_eq!(e.tasks[0].counts.bends, 1);
        assert_eq!(e.tasks[0].counts.twists, 1);
    }

    #[test]
    fn a_berlin_window_lasts_two_hours_on_the_spring_dst_day() {
        let zone = "Europe/Berlin";
        // 2024-03-31: 02:00 CET jumps to 03:00 CEST. Local 00:00–06:00 is 5 real hours.
        let start = at(zone, 2024, 3, 31, 0, 0);
        assert_eq!(at(zone, 2024, 3, 31, 6, 0) - start, 5 * HOUR_MS);
        let s = shift(None, start, 5);
        let tasks = [
            windowed("early", &["01:00-04:00"]),
            windowed("rest", &["04:00-01:00"]),
        ];
        let e = assign(&s, &[], &tasks, &rules(zone));
        assert_eq!(
            seconds_of(&e),
            vec![
                ("early".to_owned(), 2.0 * 3600.0),
                ("rest".to_owned(), 3.0 * 3600.0)
            ]
        );
    }

    #[test]
    fn a_berlin_window_lasts_four_hours_on_the_autumn_dst_day() {
        let zone = "Europe/Berlin";
        // 2024-10-27: 03:00 CEST falls back to 02:00 CET; 02:00–03:00 happens twice.
        let start = at(zone, 2024, 10, 27, 0, 0);
        let s = shift(None, start, 7);
        let tasks = [windowed("early", &["01:00-04:00"])];
        // 02:30 CET (the second 02:30) is inside the window too.
        let second_0230 = at("UTC", 2024, 10, 27, 1, 30);
        let e = assign(
            &s,
            &[movement(MovementKind::Reach, second_0230)],
            &tasks,
            &rules(zone),
        );
        assert_eq!(seconds_of(&e), vec![("early".to_owned(), 4.0 * 3600.0)]);
        assert_eq!(e.tasks[0].counts.reaches, 1);
    }

    #[test]
    fn worker_tasks_follow_the_badge_for_the_whole_shift() {
        let start = at("UTC", 2024, 1, 10, 6, 0);
        let tasks = [
            for_workers("picking", &["B-2"]),
            for_workers("packing", &["B-1", "B-3"]),
        ];
        let e = assign(&shift(Some("B-1"), start, 8), &[], &tasks, &rules("UTC"));
        assert_eq!(seconds_of(&e), vec![("packing".to_owned(), 8.0 * 3600.0)]);
        // Nobody's shift matches a worker list; an unknown zone does not matter without windows.
        let e = assign(
            &shift(None, start, 8),
            &[],
            &tasks,
            &rules("Nowhere/Atlantis"),
        );
        assert_eq!(e, TaskExposure::default());
        let e = assign(&shift(Some("B-9"), start, 8), &[], &tasks, &rules("UTC"));
        assert!(e.tasks.is_empty());
    }

    #[test]
    fn workers_and_windows_together_must_both_match() {
        let start = at("UTC", 2024, 1, 10, 6, 0);
        let mut task = for_workers("forklift", &["B-1"]);
        task.windows = vec!["08:00-10:00".to_owned()];
        let tasks = [task];
        let e = assign(&shift(Some("B-1"), start, 8), &[], &tasks, &rules("UTC"));
        assert_eq!(seconds_of(&e), vec![("forklift".to_owned(), 2.0 * 3600.0)]);
        let e = assign(&shift(Some("B-2"), start, 8), &[], &tasks, &rules("UTC"));
        assert!(e.tasks.is_empty());
    }

    #[test]
    fn the_first_matching_task_in_config_order_wins() {
        let start = at("UTC", 2024, 1, 10, 6, 0);
        let s = shift(Some("B-1"), start, 8);
        let morning = windowed("morning", &["06:00-10:00"]);
        let mine = for_workers("mine", &["B-1"]);
        let e = assign(&s, &[], &[morning.clone(), mine.clone()], &rules("UTC"));
        assert_eq!(
            seconds_of(&e),
            vec![
                ("morning".to_owned(), 4.0 * 3600.0),
                ("mine".to_owned(), 4.0 * 3600.0)
            ]
        );
        let e = assign(&s, &[], &[mine, morning], &rules("UTC"));
        assert_eq!(seconds_of(&e), vec![("mine".to_owned(), 8.0 * 3600.0)]);
    }

    #[test]
    fn a_task_with_neither_workers_nor_windows_applies_to_nobody() {
        let start = at("UTC", 2024, 1, 10, 6, 0);
        let tasks = [Task {
            name: "everything".to_owned(),
            load_kg: Some(10.0),
            lever_arm_m: Some(0.3),
            ..Task::default()
        }];
        let e = assign(&shift(Some("B-1"), start, 8), &[], &tasks, &rules("UTC"));
        assert!(e.tasks.is_empty());
    }

    #[test]
    fn wear_time_counts_sample_time_in_each_run_and_skips_gaps() {
        let start = at("UTC", 2024, 1, 10, 9, 30);
        let mut s = shift(None, start, 1); // 09:30–10:30 at 1 Hz
        s.runs.push(Run {
            start_ms: start + 2 * HOUR_MS, // 11:30, 25 Hz for 20 min
            rate_hz: 25,
            samples: vec![[0; 4]; 25 * 1200],
        });
        let tasks = [
            windowed("a", &["00:00-10:00"]),
            windowed("b", &["10:00-11:40"]),
        ];
        let e = assign(&s, &[], &tasks, &rules("UTC"));
        assert_eq!(
            seconds_of(&e),
            vec![("a".to_owned(), 1800.0), ("b".to_owned(), 1800.0 + 600.0)]
        );
    }

    #[test]
    fn a_task_without_a_load_needs_load_input_and_gets_no_lifft() {
        let start = at("UTC", 2024, 1, 10, 6, 0);
        let tasks = [
            windowed("unknown load", &["06:00-08:00"]),
            Task {
                lever_arm_m: None,
                load_kg: Some(12.0),
                ..windowed("no lever", &["08:00-10:00"])
            },
        ];
        let moves = [
            lift(start + MIN_MS, LiftStyle::Stoop),
            lift(start + 3 * HOUR_MS, LiftStyle::Squat),
        ];
        let e = assign(&shift(None, start, 8), &moves, &tasks, &rules("UTC"));
        assert_eq!(
            e.tasks[0].needs,
            vec![NEEDS_LOAD.to_owned(), NEEDS_LEVER_ARM.to_owned()]
        );
        assert_eq!(e.tasks[0].lifft, None);
        assert_eq!(e.tasks[0].counts.stoop_lifts, 1);
        assert_eq!(e.tasks[1].needs, vec![NEEDS_LEVER_ARM.to_owned()]);
        assert_eq!(e.tasks[1].lifft, None);
        assert_eq!(e.tasks[1].counts.squat_lifts, 1);
        assert_eq!(e.lifft, None);
    }

    #[test]
    fn tc3_three_tasks_reproduce_through_assign() {
        let start = at("UTC", 2024, 1, 10, 6, 0);
        let task = |name: &str, window: &str, load: f64, lever: f64| Task {
            load_kg: Some(load),
            lever_arm_m: Some(lever),
            ..windowed(name, &[window])
        };
        let tasks = [
            task("A", "06:00-10:00", 10.0, 0.30),
            task("B", "10:00-12:00", 20.0, 0.50),
            task("C", "12:00-14:00", 5.0, 0.60),
        ];
        let mut moves = Vec::new();
        moves.extend((0..1000).map(|i| lift(start + i * 14_000, LiftStyle::Stoop)));
        moves.extend((0..200).map(|i| lift(start + 4 * HOUR_MS + i * 30_000, LiftStyle::Squat)));
        moves.extend((0..500).map(|i| lift(start + 6 * HOUR_MS + i * 14_000, LiftStyle::Stoop)));
        moves.push(movement(MovementKind::Bend, start + HOUR_MS));
        let e = assign(&shift(None, start, 8), &moves, &tasks, &rules("UTC"));
        let lifts: Vec<u32> = e.tasks.iter().map(|t| t.lifts).collect();
        assert_eq!(lifts, vec![1000, 200, 500]);
        let l: Vec<LifftTask> = e.tasks.iter().map(|t| t.lifft.unwrap()).collect();
        close(l[0].plm_nm, 29.430, 1e-9);
        close(l[1].plm_nm, 98.100, 1e-9);
        close(l[0].cumulative_damage, 0.0046497, 5e-8);
        close(l[1].cumulative_damage, 0.0125113, 5e-8);
        close(l[2].cumulative_damage, 0.0023249, 5e-8);
        let share = |i: usize| {
            lifft::share_percent(
                l[i].cumulative_damage,
                e.lifft.unwrap().cumulative_damage,
                lifft::Mode::Exact,
            )
        };
        close(share(0), 23.86, 5e-3);
        close(share(1), 64.21, 5e-3);
        close(share(2), 11.93, 5e-3);
        assert!(!l[1].over_100_nm);
        let total = e.lifft.unwrap();
        close(total.cumulative_damage, 0.0194859, 5e-8);
        close(total.probability, 0.49294, 5e-6);
        assert_eq!(lifft::band(total.probability), lifft::Band::Moderate);
        assert!(e.tasks.iter().all(|t| t.needs.is_empty()));
        assert_eq!(e.tasks[0].counts.bends, 1);
        assert_eq!(e.tasks[0].counts.lifts, 1000);
    }

    #[test]
    fn niosh_is_computed_per_task_with_an_index_only_for_a_load() {
        let start = at("UTC", 2024, 1, 10, 6, 0);
        let geometry = NioshGeometry {
            h_cm: 40.0,
            v_cm: 30.0,
            d_cm: 100.0,
            a_deg: 45.0,
            fm: 0.85,
            cm: 0.95,
        };
        let tasks = [
            Task {
                load_kg: Some(15.0),
                lever_arm_m: Some(0.4),
                niosh: Some(geometry),
                ..windowed("loaded", &["06:00-10:00"])
            },
            Task {
                niosh: Some(geometry),
                ..windowed("unloaded", &["10:00-14:00"])
            },
        ];
        let e = assign(&shift(None, start, 8), &[], &tasks, &rules("UTC"));
        let n0 = e.tasks[0].niosh.unwrap();
        close(n0.rwl_kg, 7.43458, 5e-6);
        close(n0.lifting_index.unwrap(), 2.0176, 5e-5);
        let n1 = e.tasks[1].niosh.unwrap();
        assert_eq!(n1.lifting_index, None);
        assert!(e.tasks[1].needs.contains(&NEEDS_LOAD.to_owned()));
        // A loaded task with no lifts still has its LiFFT figures, but there is no total.
        assert_eq!(e.tasks[0].lifft.map(|l| l.cumulative_damage), Some(0.0));
        assert_eq!(e.lifft, None);
    }

    #[test]
    fn an_unknown_time_zone_assigns_nothing_when_windows_matter_and_says_so() {
        let start = at("UTC", 2024, 1, 10, 6, 0);
        let tasks = [
            windowed("morning", &["06:00-10:00"]),
            for_workers("mine", &["B-1"]),
        ];
        let e = assign(
            &shift(Some("B-1"), start, 8),
            &[],
            &tasks,
            &rules("Mars/Olympus"),
        );
        assert_eq!(e, TaskExposure::default());
        let err = try_assign(
            &shift(Some("B-1"), start, 8),
            &[],
            &tasks,
            &rules("Mars/Olympus"),
        )
        .unwrap_err();
        assert_eq!(err, TaskError::TimeZone("Mars/Olympus".to_owned()));
        assert!(err.to_string().contains("unknown time zone `Mars/Olympus`"));
    }

    #[test]
    fn lifts_outside_every_task_are_left_out_of_the_lifft_total() {
        let start = at("UTC", 2024, 1, 10, 6, 0);
        let tasks = [Task {
            load_kg: Some(10.0),
            lever_arm_m: Some(0.3),
            ..windowed("morning", &["06:00-07:00"])
        }];
        let moves = [
            lift(start + 10 * MIN_MS, LiftStyle::Stoop),
            lift(start + 2 * HOUR_MS, LiftStyle::Squat),
        ];
        let e = assign(&shift(None, start, 8), &moves, &tasks, &rules("UTC"));
        assert_eq!(e.tasks[0].lifts, 1);
        let expected = lifft::damage_per_cycle(lifft::plm_nm(10.0, 0.3));
        assert_eq!(e.lifft.map(|t| t.cumulative_damage), Some(expected));
    }

    #[test]
    fn a_task_name_the_settings_page_refuses_is_refused_here_by_position_in_its_words() {
        let long = "t".repeat(81);
        let tasks = [
            windowed(&long, &["06:00-10:00"]),
            windowed("line\nbreak", &["06:00-10:00"]),
            windowed(&"t".repeat(80), &["06:00-10:00"]),
        ];
        let problems = validate(&tasks).unwrap_err().problems;
        assert_eq!(
            problems,
            [
                format!("task #1: {}", web_ui::rules::TASK_NAME_WORDS),
                format!("task #2: {}", web_ui::rules::TASK_NAME_WORDS),
            ]
        );
    }

    #[test]
    fn validation_accepts_a_good_task_list() {
        let tasks = [
            Task {
                load_kg: Some(10.0),
                lever_arm_m: Some(0.3),
                ..windowed("A", &["06:00-10:00", "22:00-02:00"])
            },
            for_workers("B", &["B-1001"]),
        ];
        assert_eq!(validate(&tasks), Ok(()));
        assert_eq!(validate(&[]), Ok(()));
    }

    #[test]
    fn validation_names_the_task_for_every_problem_and_never_prints_a_tag() {
        let secret = "SECRET-BADGE-1234567"; // 20 bytes: too long
        let tasks = [
            windowed("", &["06:00-10:00"]),
            Task {
                load_kg: Some(-3.0),
                lever_arm_m: Some(f64::NAN),
                ..windowed("pallets", &["6-10"])
            },
            for_workers("pallets", &[secret, "Bädge"]),
            Task {
                name: "idle".to_owned(),
                ..Task::default()
            },
            Task {
                niosh: Some(NioshGeometry {
                    h_cm: 40.0,
                    v_cm: 30.0,
                    d_cm: 100.0,
                    a_deg: 45.0,
                    fm: 1.5,
                    cm: 0.95,
                }),
                ..windowed("crates", &["10:00-10:00"])
            },
        ];
        let err = validate(&tasks).unwrap_err();
        let p = &err.problems;
        let has = |needle: &str| p.iter().any(|m| m.contains(needle));
        assert!(has("task #1 has no name"), "{p:?}");
        assert!(
            has("task `pallets`: `load_kg` must be a number ≥ 0"),
            "{p:?}"
        );
        assert!(
            has("task `pallets`: `lever_arm_m` must be a number ≥ 0"),
            "{p:?}"
        );
        assert!(has("task `pallets`: `6-10` is not a time window"), "{p:?}");
        assert!(
            has("task `pallets`: the name is used twice (tasks #2 and #3)"),
            "{p:?}"
        );
        assert!(has("task `pallets`: worker #1 is not a badge tag"), "{p:?}");
        assert!(has("task `pallets`: worker #2 is not a badge tag"), "{p:?}");
        assert!(has("task `idle` applies to nobody"), "{p:?}");
        assert!(has("task `crates`: niosh: `fm`"), "{p:?}");
        assert!(
            has("task `crates`: window `10:00-10:00` starts and ends"),
            "{p:?}"
        );
        let text = err.to_string();
        assert!(text.starts_with("invalid [[analysis.tasks]]: "));
        assert!(!text.contains("SECRET") && !text.contains("Bädge"));
    }

    #[test]
    fn tasks_read_from_toml() {
        #[derive(Deserialize)]
        struct Config {
            tasks: Vec<Task>,
        }
        let config: Config = toml::from_str(
            r#"
            [[tasks]]
            name = "pallets"
            load_kg = 12.5
            lever_arm_m = 0.45
            windows = ["06:00-10:00"]
            niosh = { h_cm = 40, v_cm = 30, d_cm = 100, a_deg = 45, fm = 0.85, cm = 0.95 }

            [[tasks]]
            name = "forklift"
            workers = ["B-1001"]
            "#,
        )
        .unwrap();
        assert_eq!(config.tasks.len(), 2);
        assert_eq!(config.tasks[0].load_kg, Some(12.5));
        assert_eq!(config.tasks[1].workers, vec!["B-1001".to_owned()]);
        assert_eq!(validate(&config.tasks), Ok(()));
    }
}
