//! Group figures: aggregates of many shifts per task, team and hour of day, trends week over week
//! and progress toward goals. It owns the minimum-group rule; it must never show a group smaller
//! than the configured minimum to non-admins, through any function here, and never know a name.
//!
//! # The minimum-group rule (`[analysis.groups] min_group`, default 5)
//!
//! A group figure covers the shifts of a set of workers (opaque ids). For a [`Viewer::Supervisor`],
//! every function here replaces the figures of a group with fewer than `min_group` distinct workers
//! by `None` ("suppressed"):
//!
//! - **Partitions** (tasks with "(no task)" for unassigned time, teams with "(no team)", hours of
//!   day) add up to the site. If the suppressed groups of one partition together hold fewer than
//!   `min_group` workers, the site minus the shown groups would reveal them, so the smallest shown
//!   groups are suppressed too until they hold at least `min_group` (complementary suppression, as
//!   in statistical disclosure control).
//! - **Trends** show a team only if both of its weeks are shown under the same rule.
//! - **Team goals** are suppressed below `min_group` workers, and a day on which fewer than
//!   `min_group` of them worked is left out of the progress (counted in `hidden_days`).
//!
//! Residual disclosure, not guarded here: differencing figures of *different* member sets (two
//! overlapping date ranges, or a task against a team that share most workers) can narrow a small
//! group down; the web UI should only offer fixed windows (ISO weeks, calendar months). Individual
//! figures (a worker's trend or goal progress) are individual data, not group figures: whoever may
//! see a worker's figures is the web UI's access decision, and a viewer who may see every member
//! of a small team individually can of course add them up.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::civil::{Date, ISOWeekDate, Weekday};
use serde::{Deserialize, Serialize};

use super::ShiftReport;
use super::exposure::Counts;
use super::risk::{self, CountKind, Rates, RiskLevel, SiteBaseline};

/// The minimum-group rule, `[analysis.groups]` in the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupRules {
    /// Groups with fewer distinct workers are never shown to non-admins. Default 5, a common
    /// minimum cell size for reporting on employees.
    pub min_group: usize,
}

impl Default for GroupRules {
    fn default() -> Self {
        Self { min_group: 5 }
    }
}

/// Who is looking: admins see every group; supervisors only groups of at least `min_group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Viewer {
    Admin,
    Supervisor,
}

/// One shift of one worker, with the worker's team when known.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub worker: i64,
    pub team: Option<&'a str>,
    pub report: &'a ShiftReport,
}

/// What a group is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    Site,
    Task,
    Team,
    /// A site-local clock hour of the day, over all days.
    Hour,
}

/// The group for time in no configured task.
pub const NO_TASK: &str = "(no task)";
/// The group for workers without a team.
pub const NO_TEAM: &str = "(no team)";

/// The figures of one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRates {
    /// Hours of wear in the group (for a task: time in the task; for an hour: time in that hour).
    pub wear_h: f64,
    /// Movements per hour of wear, over all the group's wear (total count / total hours).
    pub per_hour: Rates,
    /// Share of the group's shifts whose stored level is high.
    pub high_risk_share: f64,
    /// Wearable alerts per worker-day; `None` for tasks and hours (alerts are not split by them).
    pub alerts_per_day: Option<f64>,
}

/// One group: how many workers and shifts it covers, and its figures unless suppressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupFigure {
    pub kind: GroupKind,
    /// The task or team name, `"06:00–07:00"` for an hour, `"site"` for the site.
    pub group: String,
    pub workers: usize,
    pub shifts: usize,
    /// `None`: suppressed (fewer than `min_group` workers, or to protect such a group).
    pub figures: Option<GroupRates>,
}

impl GroupFigure {
    /// Whether the figures are withheld from this viewer.
    pub fn suppressed(&self) -> bool {
        self.figures.is_none()
    }
}

/// Sums over a group's shifts.
#[derive(Debug, Default)]
struct Acc {
    workers: BTreeSet<i64>,
    shifts: BTreeSet<usize>,
    high: BTreeSet<usize>,
    wear_s: f64,
    counts: [u64; 9],
    alerts: Option<u64>,
    worker_days: BTreeSet<(i64, String)>,
}

impl Acc {
    fn add(&mut self, index: usize, member: &Member<'_>, wear_s: f64, counts: &Counts) {
        self.workers.insert(member.worker);
        self.shifts.insert(index);
        if member.report.risk_level == RiskLevel::High {
            self.high.insert(index);
        }
        self.wear_s += wear_s.max(0.0);
        for (slot, kind) in self.counts.iter_mut().zip(CountKind::ALL) {
            *slot += u64::from(kind.of(counts));
        }
    }

    fn add_alerts(&mut self, member: &Member<'_>) {
        *self.alerts.get_or_insert(0) += u64::from(member.report.metrics.alerts.count);
        self.worker_days
            .insert((member.worker, member.report.local_day.clone()));
    }

    fn count(&self, kind: CountKind) -> f64 {
        CountKind::ALL
            .iter()
            .position(|k| *k == kind)
            .and_then(|i| self.counts.get(i))
            .map_or(0.0, |c| *c as f64)
    }

    fn rates(&self) -> GroupRates {
        let wear_h = self.wear_s / 3600.0;
        GroupRates {
            wear_h,
            per_hour: Rates::per_hour(|k| self.count(k), wear_h),
            high_risk_share: if self.shifts.is_empty() {
                0.0
            } else {
                self.high.len() as f64 / self.shifts.len() as f64
            },
            alerts_per_day: self.alerts.map(|a| {
                if self.worker_days.is_empty() {
                    0.0
                } else {
                    a as f64 / self.worker_days.len() as f64
                }
            }),
        }
    }
}

/// Turns the groups of one partition into figures, applying the minimum-group rule with
/// complementary suppression.
fn finish(
    kind: GroupKind,
    groups: Vec<(String, Acc)>,
    rules: &GroupRules,
    viewer: Viewer,
) -> Vec<GroupFigure> {
    let mut hidden: Vec<bool> = groups
        .iter()
        .map(|(_, acc)| viewer != Viewer::Admin && acc.workers.len() < rules.min_group)
        .collect();
    if viewer != Viewer::Admin {
        let mut union: BTreeSet<i64> = groups
            .iter()
            .zip(&hidden)
            .filter(|(_, h)| **h)
            .flat_map(|((_, acc), _)| acc.workers.iter().copied())
            .collect();
        while !union.is_empty() && union.len() < rules.min_group {
            // The smallest shown group (then the first by name) is hidden too.
            let next = groups
                .iter()
                .enumerate()
                .filter(|(i, _)| hidden.get(*i) == Some(&false))
                .min_by_key(|(_, (name, acc))| (acc.workers.len(), name.clone()))
                .map(|(i, _)| i);
            let Some(i) = next else { break };
            if let (Some(h), Some((_, acc))) = (hidden.get_mut(i), groups.get(i)) {
                *h = true;
                union.extend(acc.workers.iter().copied());
            }
        }
    }
    groups
        .into_iter()
        .zip(hidden)
        .map(|((group, acc), hidden)| GroupFigure {
            kind,
            group,
            workers: acc.workers.len(),
            shifts: acc.shifts.len(),
            figures: (!hidden).then(|| acc.rates()),
        })
        .collect()
}

/// The whole site as one group.
pub fn site(members: &[Member<'_>], rules: &GroupRules, viewer: Viewer) -> GroupFigure {
    let mut acc = Acc::default();
    for (i, m) in members.iter().enumerate() {
        acc.add(i, m, m.report.metrics.wear_s, &m.report.metrics.counts);
        acc.add_alerts(m);
    }
    let mut figures = finish(
        GroupKind::Site,
        vec![("site".to_owned(), acc)],
        rules,
        viewer,
    );
    figures.pop().unwrap_or(GroupFigure {
        kind: GroupKind::Site,
        group: "site".to_owned(),
        workers: 0,
        shifts: 0,
        figures: None,
    })
}

/// One figure per task, sorted by name, then [`NO_TASK`] for wear time in no task.
pub fn by_task(members: &[Member<'_>], rules: &GroupRules, viewer: Viewer) -> Vec<GroupFigure> {
    let mut tasks: BTreeMap<String, Acc> = BTreeMap::new();
    let mut rest = Acc::default();
    for (i, m) in members.iter().enumerate() {
        let mut assigned_s = 0.0;
        let mut assigned = [0u32; 9];
        for t in &m.report.tasks.tasks {
            tasks
                .entry(t.task.clone())
                .or_default()
                .add(i, m, t.seconds, &t.counts);
            assigned_s += t.seconds.max(0.0);
            for (slot, kind) in assigned.iter_mut().zip(CountKind::ALL) {
                *slot = slot.saturating_add(kind.of(&t.counts));
            }
        }
        let total = &m.report.metrics.counts;
        let left = |kind: CountKind| {
            let slot = CountKind::ALL.iter().position(|k| *k == kind);
            let a = slot.and_then(|s| assigned.get(s)).copied().unwrap_or(0);
            kind.of(total).saturating_sub(a)
        };
        let rest_counts = Counts {
            bends: left(CountKind::Bends),
            deep_bends: left(CountKind::DeepBends),
            twists: left(CountKind::Twists),
            lateral_bends: left(CountKind::LateralBends),
            reaches: left(CountKind::Reaches),
            lifts: left(CountKind::Lifts),
            stoop_lifts: left(CountKind::StoopLifts),
            squat_lifts: left(CountKind::SquatLifts),
            static_postures: left(CountKind::StaticPostures),
        };
        let rest_s = (m.report.metrics.wear_s - assigned_s).max(0.0);
        // Less than a second unassigned is rounding, not time in no task.
        if rest_s >= 1.0 || rest_counts != Counts::default() {
            rest.add(i, m, rest_s, &rest_counts);
        }
    }
    let mut groups: Vec<(String, Acc)> = tasks.into_iter().collect();
    if !rest.shifts.is_empty() {
        groups.push((NO_TASK.to_owned(), rest));
    }
    finish(GroupKind::Task, groups, rules, viewer)
}

/// One figure per team, sorted by name, then [`NO_TEAM`].
pub fn by_team(members: &[Member<'_>], rules: &GroupRules, viewer: Viewer) -> Vec<GroupFigure> {
    finish(GroupKind::Team, team_accs(members), rules, viewer)
}

fn team_accs(members: &[Member<'_>]) -> Vec<(String, Acc)> {
    let mut teams: BTreeMap<String, Acc> = BTreeMap::new();
    let mut none = Acc::default();
    for (i, m) in members.iter().enumerate() {
        let acc = match m.team {
            Some(team) => teams.entry(team.to_owned()).or_default(),
            None => &mut none,
        };
        acc.add(i, m, m.report.metrics.wear_s, &m.report.metrics.counts);
        acc.add_alerts(m);
    }
    let mut groups: Vec<(String, Acc)> = teams.into_iter().collect();
    if !none.shifts.is_empty() {
        groups.push((NO_TEAM.to_owned(), none));
    }
    groups
}

/// One figure per site-local hour of day that has wear, `"06:00–07:00"`, in hour order.
pub fn by_hour(members: &[Member<'_>], rules: &GroupRules, viewer: Viewer) -> Vec<GroupFigure> {
    let mut hours: BTreeMap<u8, Acc> = BTreeMap::new();
    for (i, m) in members.iter().enumerate() {
        for h in &m.report.metrics.per_hour {
            hours
                .entry(h.hour_of_day % 24)
                .or_default()
                .add(i, m, h.wear_s, &h.counts);
        }
    }
    let groups = hours
        .into_iter()
        .map(|(h, acc)| (hour_label(h), acc))
        .collect();
    finish(GroupKind::Hour, groups, rules, viewer)
}

fn hour_label(hour: u8) -> String {
    format!("{:02}:00–{:02}:00", hour, (hour + 1) % 24)
}

/// The site baseline over the members' shifts, knowing its workers (see [`risk::baseline`]).
pub fn baseline(members: &[Member<'_>]) -> SiteBaseline {
    let reports: Vec<&ShiftReport> = members.iter().map(|m| m.report).collect();
    let workers: BTreeSet<i64> = members.iter().map(|m| m.worker).collect();
    risk::baseline(&reports).with_workers(workers.len())
}

/// An ISO 8601 week (`2025-W01`): weeks start on Monday, week 1 holds the year's first Thursday,
/// so 2024-12-30 is in 2025-W01 and 2021-01-03 in 2020-W53.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct IsoWeek {
    year: i16,
    week: i8,
}

impl IsoWeek {
    /// The week, if `week` exists in ISO year `year`.
    pub fn new(year: i16, week: i8) -> Option<IsoWeek> {
        ISOWeekDate::new(year, week, Weekday::Monday)
            .ok()
            .map(|_| IsoWeek { year, week })
    }

    /// The week of a `YYYY-MM-DD` day; `None` if it is not a date.
    pub fn of_day(day: &str) -> Option<IsoWeek> {
        let iso = day.parse::<Date>().ok()?.iso_week_date();
        Some(IsoWeek {
            year: iso.year(),
            week: iso.week(),
        })
    }

    pub fn year(self) -> i16 {
        self.year
    }

    pub fn week(self) -> i8 {
        self.week
    }

    /// The week before (2025-W01 → 2024-W52, 2021-W01 → 2020-W53).
    pub fn previous(self) -> Option<IsoWeek> {
        let monday = ISOWeekDate::new(self.year, self.week, Weekday::Monday)
            .ok()?
            .date();
        let iso = monday
            .checked_sub(jiff::Span::new().days(7))
            .ok()?
            .iso_week_date();
        Some(IsoWeek {
            year: iso.year(),
            week: iso.week(),
        })
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

/// A figure a trend compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    WearHours,
    /// Movements of this kind per hour of wear.
    PerHour(CountKind),
    HighRiskShare,
    AlertsPerDay,
}

/// One figure this week against last week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub metric: Metric,
    pub this_week: f64,
    pub last_week: f64,
    /// `(this − last) / last × 100`; `None` when last week's figure is 0.
    pub change_pct: Option<f64>,
}

/// A subject's two weeks; `changes` only when it has shifts in both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    pub this_week: Option<GroupRates>,
    pub last_week: Option<GroupRates>,
    pub changes: Vec<Change>,
}

/// One worker's trend (individual data: see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerTrend {
    pub worker: i64,
    pub trend: Trend,
}

/// One team's trend; `trend` is `None` when either week is suppressed for this viewer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamTrend {
    pub team: String,
    /// Distinct workers this week.
    pub workers: usize,
    pub trend: Option<Trend>,
}

/// Week-over-week change per worker and per team.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekOverWeek {
    pub week: IsoWeek,
    /// `None` only before the calendar's first week.
    pub previous: Option<IsoWeek>,
    pub workers: Vec<WorkerTrend>,
    pub teams: Vec<TeamTrend>,
    /// Shifts whose `local_day` is not a `YYYY-MM-DD` date: never placed in a week.
    pub unplaced_shifts: usize,
}

impl Change {
    /// This week's figure against last week's; `change_pct` only when last week's is positive.
    pub fn new(metric: Metric, this_week: f64, last_week: f64) -> Change {
        Change {
            metric,
            this_week,
            last_week,
            change_pct: (last_week > 0.0).then(|| (this_week - last_week) / last_week * 100.0),
        }
    }
}

/// One ISO week of one worker's shifts, summed: the worker page's weekly figures.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerWeek {
    pub week: IsoWeek,
    pub wear_h: f64,
    /// Movements per hour of wear; `None` for a week without wear.
    pub per_hour: Option<Rates>,
    /// Wearable alerts per day with a shift; `None` for a week without days.
    pub alerts_per_day: Option<f64>,
}

/// A worker's shifts summed per ISO week, oldest first. Shifts whose `local_day` is not a date
/// are never placed in a week.
pub fn worker_weeks(reports: &[ShiftReport]) -> Vec<WorkerWeek> {
    #[derive(Default)]
    struct Sum {
        counts: Counts,
        wear_s: f64,
        alerts: u32,
        days: BTreeSet<String>,
    }
    let mut weeks: BTreeMap<IsoWeek, Sum> = BTreeMap::new();
    for r in reports {
        let Some(week) = IsoWeek::of_day(&r.local_day) else {
            continue;
        };
        let sum = weeks.entry(week).or_default();
        sum.counts.merge(&r.metrics.counts);
        sum.wear_s += r.metrics.wear_s;
        sum.alerts += r.metrics.alerts.count;
        sum.days.insert(r.local_day.clone());
    }
    weeks
        .into_iter()
        .map(|(week, sum)| {
            let wear_h = sum.wear_s / 3600.0;
            WorkerWeek {
                week,
                wear_h,
                per_hour: (sum.wear_s > 0.0)
                    .then(|| Rates::per_hour(|k| f64::from(k.of(&sum.counts)), wear_h)),
                alerts_per_day: (!sum.days.is_empty())
                    .then(|| f64::from(sum.alerts) / sum.days.len() as f64),
            }
        })
        .collect()
}

/// The worker page's trend: the last two of `weeks` (as [`worker_weeks`] gives them).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerWeekTrend {
    pub week: IsoWeek,
    pub previous: IsoWeek,
    /// Bends, deep bends, trunk twists and lifts per hour, then alerts per day.
    pub changes: Vec<Change>,
}

/// The last two weeks side by side, when there are two and both have wear.
pub fn worker_trend(weeks: &[WorkerWeek]) -> Option<WorkerWeekTrend> {
    let [.., last, this] = weeks else {
        return None;
    };
    let (a, b) = (last.per_hour.as_ref()?, this.per_hour.as_ref()?);
    let per_hour = |kind| Change::new(Metric::PerHour(kind), b.get(kind), a.get(kind));
    Some(WorkerWeekTrend {
        week: this.week,
        previous: last.week,
        changes: vec![
            per_hour(CountKind::Bends),
            per_hour(CountKind::DeepBends),
            per_hour(CountKind::Twists),
            per_hour(CountKind::Lifts),
            Change::new(
                Metric::AlertsPerDay,
                this.alerts_per_day.unwrap_or(0.0),
                last.alerts_per_day.unwrap_or(0.0),
            ),
        ],
    })
}

fn changes(this: &GroupRates, last: &GroupRates) -> Vec<Change> {
    let change = Change::new;
    let mut out = vec![change(Metric::WearHours, this.wear_h, last.wear_h)];
    for kind in CountKind::ALL {
        out.push(change(
            Metric::PerHour(kind),
            this.per_hour.get(kind),
            last.per_hour.get(kind),
        ));
    }
    out.push(change(
        Metric::HighRiskShare,
        this.high_risk_share,
        last.high_risk_share,
    ));
    if let (Some(a), Some(b)) = (this.alerts_per_day, last.alerts_per_day) {
        out.push(change(Metric::AlertsPerDay, a, b));
    }
    out
}

fn trend(this_week: Option<GroupRates>, last_week: Option<GroupRates>) -> Trend {
    let changes = match (&this_week, &last_week) {
        (Some(a), Some(b)) => changes(a, b),
        _ => Vec::new(),
    };
    Trend {
        this_week,
        last_week,
        changes,
    }
}

/// Week `week` against the week before, per worker (by id) and per team (by name, then
/// [`NO_TEAM`]), from members spanning any dates (others are ignored).
///
/// Deliberately without a caller yet: no page shows team trends (the worker page uses
/// [`worker_trend`]). Kept, with its tests, because it is the one place team trends get the
/// minimum-group rule (module docs); a page that shows them must call it, not re-derive them.
pub fn week_over_week(
    members: &[Member<'_>],
    week: IsoWeek,
    rules: &GroupRules,
    viewer: Viewer,
) -> WeekOverWeek {
    let previous = week.previous();
    let mut this: Vec<Member<'_>> = Vec::new();
    let mut last: Vec<Member<'_>> = Vec::new();
    let mut unplaced_shifts = 0;
    for m in members {
        match IsoWeek::of_day(&m.report.local_day) {
            Some(w) if w == week => this.push(*m),
            Some(w) if Some(w) == previous => last.push(*m),
            Some(_) => {}
            None => unplaced_shifts += 1,
        }
    }

    let per_worker = |ms: &[Member<'_>]| {
        let mut accs: BTreeMap<i64, Acc> = BTreeMap::new();
        for (i, m) in ms.iter().enumerate() {
            let acc = accs.entry(m.worker).or_default();
            acc.add(i, m, m.report.metrics.wear_s, &m.report.metrics.counts);
            acc.add_alerts(m);
        }
        accs
    };
    let (mut a, mut b) = (per_worker(&this), per_worker(&last));
    let ids: BTreeSet<i64> = a.keys().chain(b.keys()).copied().collect();
    let workers = ids
        .into_iter()
        .map(|worker| WorkerTrend {
            worker,
            trend: trend(
                a.remove(&worker).map(|acc| acc.rates()),
                b.remove(&worker).map(|acc| acc.rates()),
            ),
        })
        .collect();

    let this_teams = by_team(&this, rules, viewer);
    let last_teams = by_team(&last, rules, viewer);
    let mut names: Vec<String> = Vec::new();
    for f in this_teams.iter().chain(&last_teams) {
        if !names.contains(&f.group) {
            names.push(f.group.clone());
        }
    }
    names.sort_by(|x, y| (x == NO_TEAM).cmp(&(y == NO_TEAM)).then(x.cmp(y)));
    let teams = names
        .into_iter()
        .map(|team| {
            let now = this_teams.iter().find(|f| f.group == team);
            let before = last_teams.iter().find(|f| f.group == team);
            let hidden = now.is_some_and(GroupFigure::suppressed)
                || before.is_some_and(GroupFigure::suppressed);
            TeamTrend {
                workers: now.map_or(0, |f| f.workers),
                trend: (!hidden).then(|| {
                    trend(
                        now.and_then(|f| f.figures.clone()),
                        before.and_then(|f| f.figures.clone()),
                    )
                }),
                team,
            }
        })
        .collect();
    WeekOverWeek {
        week,
        previous,
        workers,
        teams,
        unplaced_shifts,
    }
}

/// A daily goal, as the wearable vendors' dashboards set them ("stay below N alerts a day").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Fewer than this many wearable alerts a day (per worker, for a team).
    AlertsPerDayBelow(u32),
    /// Fewer deep bends per hour of wear than this.
    DeepBendsPerHourBelow(f64),
    BendsPerHourBelow(f64),
    StoopLiftsPerHourBelow(f64),
    /// No shift of the day with a high stored level.
    NoHighRiskShift,
}

impl Goal {
    /// The goal in words.
    pub fn describe(&self) -> String {
        match self {
            Self::AlertsPerDayBelow(n) => format!("stay below {n} alerts a day"),
            Self::DeepBendsPerHourBelow(x) => format!("stay below {x} deep bends an hour"),
            Self::BendsPerHourBelow(x) => format!("stay below {x} bends an hour"),
            Self::StoopLiftsPerHourBelow(x) => format!("stay below {x} stoop lifts an hour"),
            Self::NoHighRiskShift => "no high-risk shift".to_owned(),
        }
    }
}

/// One day's figure against the goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoalDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub value: f64,
    pub met: bool,
}

/// Progress toward a goal over the days with shifts, oldest first. Days without shifts neither
/// break nor extend a streak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoalProgress {
    pub goal: Goal,
    pub days_total: usize,
    pub days_met: usize,
    /// Met days counted back from the latest day.
    pub current_streak: usize,
    pub best_streak: usize,
    pub days: Vec<GoalDay>,
    /// Days left out: no wear (for per-hour goals), or, for a team seen by a non-admin, fewer
    /// than `min_group` workers that day.
    pub hidden_days: usize,
    /// Shifts whose `local_day` is not a date.
    pub unplaced_shifts: usize,
}

#[derive(Default)]
struct Day {
    workers: BTreeSet<i64>,
    alerts: u64,
    wear_s: f64,
    counts: [u64; 9],
    high: u32,
}

fn goal_progress<'a>(
    goal: &Goal,
    shifts: impl Iterator<Item = (i64, &'a ShiftReport)>,
    min_workers: usize,
) -> GoalProgress {
    let mut days: BTreeMap<Date, Day> = BTreeMap::new();
    let mut unplaced_shifts = 0;
    for (worker, r) in shifts {
        let Ok(date) = r.local_day.parse::<Date>() else {
            unplaced_shifts += 1;
            continue;
        };
        let d = days.entry(date).or_default();
        d.workers.insert(worker);
        d.alerts += u64::from(r.metrics.alerts.count);
        d.wear_s += r.metrics.wear_s.max(0.0);
        for (slot, kind) in d.counts.iter_mut().zip(CountKind::ALL) {
            *slot += u64::from(kind.of(&r.metrics.counts));
        }
        d.high += u32::from(r.risk_level == RiskLevel::High);
    }
    let mut out = GoalProgress {
        goal: *goal,
        days_total: 0,
        days_met: 0,
        current_streak: 0,
        best_streak: 0,
        days: Vec::new(),
        hidden_days: 0,
        unplaced_shifts,
    };
    for (date, d) in days {
        let per_hour = |kind: CountKind| {
            let i = CountKind::ALL.iter().position(|k| *k == kind);
            let c = i.and_then(|i| d.counts.get(i)).copied().unwrap_or(0);
            (d.wear_s > 0.0).then(|| c as f64 / (d.wear_s / 3600.0))
        };
        let value = match goal {
            Goal::AlertsPerDayBelow(_) => Some(d.alerts as f64 / d.workers.len().max(1) as f64),
            Goal::DeepBendsPerHourBelow(_) => per_hour(CountKind::DeepBends),
            Goal::BendsPerHourBelow(_) => per_hour(CountKind::Bends),
            Goal::StoopLiftsPerHourBelow(_) => per_hour(CountKind::StoopLifts),
            Goal::NoHighRiskShift => Some(f64::from(d.high)),
        };
        let Some(value) = value.filter(|_| d.workers.len() >= min_workers) else {
            out.hidden_days += 1;
            continue;
        };
        let met = match goal {
            Goal::AlertsPerDayBelow(n) => value < f64::from(*n),
            Goal::DeepBendsPerHourBelow(x)
            | Goal::BendsPerHourBelow(x)
            | Goal::StoopLiftsPerHourBelow(x) => value < *x,
            Goal::NoHighRiskShift => value == 0.0,
        };
        out.days_total += 1;
        if met {
            out.days_met += 1;
            out.current_streak += 1;
            out.best_streak = out.best_streak.max(out.current_streak);
        } else {
            out.current_streak = 0;
        }
        out.days.push(GoalDay {
            day: date.to_string(),
            value,
            met,
        });
    }
    out
}

/// One worker's progress toward `goal` from that worker's shifts (a day's shifts are summed).
pub fn progress(goal: &Goal, reports: &[&ShiftReport]) -> GoalProgress {
    goal_progress(goal, reports.iter().map(|r| (0, *r)), 0)
}

/// A team's progress: per day, alerts per worker who worked that day, rates over the day's total
/// wear. `None` for a non-admin when the team has fewer than `min_group` workers; days with fewer
/// than `min_group` workers are then also left out.
///
/// Deliberately without a caller yet: no page shows team goals. Kept, with its tests, because it
/// is the one place team goals get the minimum-group rule (module docs).
pub fn team_progress(
    goal: &Goal,
    members: &[Member<'_>],
    rules: &GroupRules,
    viewer: Viewer,
) -> Option<GoalProgress> {
    let min = match viewer {
        Viewer::Admin => 0,
        Viewer::Supervisor => rules.min_group,
    };
    let workers: BTreeSet<i64> = members.iter().map(|m| m.worker).collect();
    if workers.len() < min {
        return None;
    }
    Some(goal_progress(
        goal,
        members.iter().map(|m| (m.worker, m.report)),
        min,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::risk::tests::{deep, exposure, hour, metrics, report, task};
    use crate::analysis::tasks::TaskExposure;

    fn shift(day: &str, hours: f64, deep_bends: u32, alerts: u32) -> ShiftReport {
        let mut m = metrics(hours, deep(deep_bends));
        m.alerts.count = alerts;
        report(day, m, TaskExposure::default())
    }

    fn members<'a>(
        reports: &'a [ShiftReport],
        team: Option<&'a str>,
        first: i64,
    ) -> Vec<Member<'a>> {
        reports
            .iter()
            .enumerate()
            .map(|(i, report)| Member {
                worker: first + i as i64,
                team,
                report,
            })
            .collect()
    }

    fn team_of(n: usize, deep_bends: u32) -> Vec<ShiftReport> {
        (0..n)
            .map(|_| shift("2025-03-04", 8.0, deep_bends, 4))
            .collect()
    }

    #[test]
    fn a_team_of_4_is_hidden_from_a_supervisor_and_shown_to_an_admin() {
        let small = team_of(4, 80);
        let ms = members(&small, Some("Blue"), 1);
        let f = by_team(&ms, &GroupRules::default(), Viewer::Supervisor);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].workers, f[0].shifts, f[0].figures.clone()),
            (4, 4, None)
        );
        let f = by_team(&ms, &GroupRules::default(), Viewer::Admin);
        let rates = f[0].figures.clone().unwrap();
        assert_eq!(rates.per_hour.deep_bends, 10.0);
        assert_eq!(rates.wear_h, 32.0);
        assert_eq!(rates.alerts_per_day, Some(4.0));
        assert!(site(&ms, &GroupRules::default(), Viewer::Supervisor).suppressed());
    }

    proptest::proptest! {
        #[test]
        fn a_supervisor_never_sees_a_small_group_nor_one_derivable_from_the_site(
            sizes in proptest::collection::vec(1usize..9, 1..6),
            min_group in 2usize..8,
        ) {
            let reports: Vec<Vec<ShiftReport>> = sizes.iter().map(|n| team_of(*n, 40)).collect();
            let names: Vec<String> = (0..sizes.len()).map(|i| format!("T{i}")).collect();
            let mut ms = Vec::new();
            for (i, rs) in reports.iter().enumerate() {
                ms.extend(members(rs, Some(names[i].as_str()), 100 * i as i64));
            }
            let rules = GroupRules { min_group };
            let figures = by_team(&ms, &rules, Viewer::Supervisor);
            let hidden: usize = figures.iter().filter(|g| g.suppressed()).map(|g| g.workers).sum();
            for g in &figures {
                proptest::prop_assert!(g.suppressed() || g.workers >= min_group);
            }
            // What the site minus the shown teams reveals covers no fewer than min_group workers.
            proptest::prop_assert!(hidden == 0 || hidden >= min_group || figures.iter().all(GroupFigure::suppressed));
            let total: usize = sizes.iter().sum();
            proptest::prop_assert_eq!(site(&ms, &rules, Viewer::Supervisor).suppressed(), total < min_group);
        }
    }

    #[test]
    fn a_team_of_5_is_shown_to_a_supervisor() {
        let five = team_of(5, 80);
        let ms = members(&five, Some("Blue"), 1);
        let f = by_team(&ms, &GroupRules::default(), Viewer::Supervisor);
        assert!(!f[0].suppressed());
    }

    #[test]
    fn a_small_team_cannot_be_derived_as_the_site_minus_the_others() {
        let (a, b, c) = (team_of(4, 200), team_of(6, 80), team_of(8, 40));
        let mut ms = members(&a, Some("A"), 1);
        ms.extend(members(&b, Some("B"), 100));
        ms.extend(members(&c, Some("C"), 200));
        let f = by_team(&ms, &GroupRules::default(), Viewer::Supervisor);
        let shown: Vec<(&str, bool)> = f
            .iter()
            .map(|g| (g.group.as_str(), g.suppressed()))
            .collect();
        // A (4) is hidden, and B, the smallest other team, with it: the site minus C is then
        // A and B together, 10 workers.
        assert_eq!(shown, vec![("A", true), ("B", true), ("C", false)]);
        assert!(!site(&ms, &GroupRules::default(), Viewer::Supervisor).suppressed());
        let f = by_team(&ms, &GroupRules::default(), Viewer::Admin);
        assert!(f.iter().all(|g| !g.suppressed()));
    }

    #[test]
    fn two_small_teams_together_large_enough_hide_nothing_else() {
        let (a, b, c) = (team_of(3, 200), team_of(3, 80), team_of(8, 40));
        let mut ms = members(&a, Some("A"), 1);
        ms.extend(members(&b, Some("B"), 100));
        ms.extend(members(&c, Some("C"), 200));
        let f = by_team(&ms, &GroupRules::default(), Viewer::Supervisor);
        let shown: Vec<bool> = f.iter().map(GroupFigure::suppressed).collect();
        assert_eq!(shown, vec![true, true, false]);
    }

    #[test]
    fn workers_without_a_team_form_a_group_that_counts_for_suppression() {
        let (a, none) = (team_of(8, 40), team_of(2, 200));
        let mut ms = members(&a, Some("A"), 1);
        ms.extend(members(&none, None, 100));
        let f = by_team(&ms, &GroupRules::default(), Viewer::Supervisor);
        assert_eq!(f[1].group, NO_TEAM);
        // (no team) has 2 workers: A is hidden too, or the site would give them away.
        assert!(f[0].suppressed() && f[1].suppressed());
    }

    #[test]
    fn tasks_are_grouped_with_unassigned_time_as_no_task() {
        let mut reports = Vec::new();
        for i in 0..6u32 {
            let mut m = metrics(8.0, deep(100 + i));
            m.alerts.count = 1;
            let tasks = exposure(
                vec![
                    task("Receiving", 4.0 * 3600.0, deep(80)),
                    task("Packing", 2.0 * 3600.0, deep(10)),
                ],
                None,
            );
            reports.push(report("2025-03-04", m, tasks));
        }
        let ms = members(&reports, Some("Blue"), 1);
        let f = by_task(&ms, &GroupRules::default(), Viewer::Supervisor);
        let names: Vec<&str> = f.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(names, vec!["Packing", "Receiving", NO_TASK]);
        let receiving = f[1].figures.clone().unwrap();
        assert_eq!(receiving.per_hour.deep_bends, 20.0);
        assert_eq!(receiving.alerts_per_day, None);
        let rest = f[2].figures.clone().unwrap();
        assert_eq!(rest.wear_h, 12.0);
        // 6 × (100..106) − 6 × 90 = 75 deep bends in 12 h.
        assert_eq!(rest.per_hour.deep_bends, 75.0 / 12.0);
    }

    #[test]
    fn a_task_done_by_few_workers_is_hidden_with_its_complement() {
        let mut reports = Vec::new();
        for i in 0..8 {
            let tasks = if i < 2 {
                vec![task("Forklift", 8.0 * 3600.0, deep(10))]
            } else {
                vec![task("Packing", 8.0 * 3600.0, deep(10))]
            };
            let tasks = exposure(tasks, None);
            reports.push(report("2025-03-04", metrics(8.0, deep(10)), tasks));
        }
        let ms = members(&reports, None, 1);
        let f = by_task(&ms, &GroupRules::default(), Viewer::Supervisor);
        let shown: Vec<(&str, bool)> = f
            .iter()
            .map(|g| (g.group.as_str(), g.suppressed()))
            .collect();
        assert_eq!(shown, vec![("Forklift", true), ("Packing", true)]);
    }

    #[test]
    fn hours_of_day_are_grouped_and_a_thinly_worked_hour_is_hidden() {
        let mut reports = Vec::new();
        for i in 0..6u8 {
            let mut m = metrics(3.0, deep(30));
            // Two early starters work 05:00–06:00.
            let first = if i < 2 { 5 } else { 6 };
            m.per_hour = (first..first + 3)
                .map(|h| hour(h, 3600.0, deep(10)))
                .collect();
            reports.push(report("2025-03-04", m, TaskExposure::default()));
        }
        let ms = members(&reports, None, 1);
        let f = by_hour(&ms, &GroupRules::default(), Viewer::Supervisor);
        let shown: Vec<(&str, usize, bool)> = f
            .iter()
            .map(|g| (g.group.as_str(), g.workers, g.suppressed()))
            .collect();
        // 05:00 (2 workers) is hidden; 08:00 (4 workers) as well: together 6, so the site minus
        // the shown hours does not single out the early starters.
        assert_eq!(
            shown,
            vec![
                ("05:00–06:00", 2, true),
                ("06:00–07:00", 6, false),
                ("07:00–08:00", 6, false),
                ("08:00–09:00", 4, true),
            ]
        );
        let admin = by_hour(&ms, &GroupRules::default(), Viewer::Admin);
        assert_eq!(admin[1].figures.clone().unwrap().per_hour.deep_bends, 10.0);
    }

    #[test]
    fn high_risk_share_counts_shifts_stored_as_high() {
        let mut reports = team_of(5, 8);
        reports[0].risk_level = RiskLevel::High;
        let ms = members(&reports, Some("Blue"), 1);
        let f = site(&ms, &GroupRules::default(), Viewer::Supervisor);
        assert_eq!(f.figures.unwrap().high_risk_share, 0.2);
    }

    #[test]
    fn the_baseline_from_members_knows_its_workers() {
        let reports = team_of(3, 80);
        let ms = members(&reports, None, 1);
        let b = baseline(&ms);
        assert_eq!((b.shifts, b.workers), (3, Some(3)));
        assert_eq!(b.median_per_hour.deep_bends, 10.0);
    }

    #[test]
    fn iso_weeks_cross_the_year_boundary() {
        let w = |d| IsoWeek::of_day(d).unwrap().to_string();
        assert_eq!(w("2024-12-30"), "2025-W01");
        assert_eq!(w("2024-12-29"), "2024-W52");
        assert_eq!(w("2021-01-03"), "2020-W53");
        assert_eq!(w("2021-01-04"), "2021-W01");
        assert_eq!(
            IsoWeek::new(2025, 1)
                .unwrap()
                .previous()
                .unwrap()
                .to_string(),
            "2024-W52"
        );
        assert_eq!(
            IsoWeek::new(2021, 1)
                .unwrap()
                .previous()
                .unwrap()
                .to_string(),
            "2020-W53"
        );
        assert_eq!(IsoWeek::new(2021, 53), None);
        assert_eq!(IsoWeek::of_day("2025-13-01"), None);
        assert_eq!(IsoWeek::of_day("yesterday"), None);
    }

    #[test]
    fn a_workers_weeks_are_summed_and_the_last_two_compared_across_the_new_year() {
        let reports = vec![
            shift("2020-12-29", 8.0, 80, 10),
            shift("2020-12-30", 8.0, 80, 10),
            shift("2021-01-05", 8.0, 40, 5),
            shift("not a day", 8.0, 40, 5),
        ];
        let weeks = worker_weeks(&reports);
        assert_eq!(
            weeks.iter().map(|w| w.week.to_string()).collect::<Vec<_>>(),
            ["2020-W53", "2021-W01"],
            "a shift on an unreadable day is never placed"
        );
        assert_eq!(weeks[0].wear_h, 16.0);
        assert_eq!(weeks[0].alerts_per_day, Some(10.0));
        assert_eq!(weeks[1].per_hour.as_ref().map(|r| r.deep_bends), Some(5.0));

        let trend = worker_trend(&weeks).unwrap();
        assert_eq!(
            (trend.week.to_string(), trend.previous.to_string()),
            ("2021-W01".to_owned(), "2020-W53".to_owned())
        );
        let metrics: Vec<Metric> = trend.changes.iter().map(|c| c.metric).collect();
        assert_eq!(
            metrics,
            [
                Metric::PerHour(CountKind::Bends),
                Metric::PerHour(CountKind::DeepBends),
                Metric::PerHour(CountKind::Twists),
                Metric::PerHour(CountKind::Lifts),
                Metric::AlertsPerDay,
            ]
        );
        let deep = &trend.changes[1];
        assert_eq!((deep.this_week, deep.last_week), (5.0, 10.0));
        assert_eq!(deep.change_pct, Some(-50.0));
        assert_eq!(trend.changes[4].change_pct, Some(-50.0));
        assert!(
            worker_trend(&weeks[..1]).is_none(),
            "one week has nothing to compare"
        );
    }

    #[test]
    fn week_over_week_compares_week_1_with_week_53_of_the_year_before() {
        // 2020-W53 (2020-12-28 … 2021-01-03) against 2021-W01.
        let mut reports = Vec::new();
        for i in 0..5 {
            reports.push((i, shift("2020-12-29", 8.0, 80, 10)));
            reports.push((i, shift("2021-01-05", 8.0, 40, 5)));
        }
        reports.push((9, shift("2021-01-06", 8.0, 40, 5)));
        reports.push((9, shift("2020-12-01", 8.0, 40, 5))); // neither week
        let ms: Vec<Member<'_>> = reports
            .iter()
            .map(|(w, r)| Member {
                worker: *w,
                team: Some("Blue"),
                report: r,
            })
            .collect();
        let t = week_over_week(
            &ms,
            IsoWeek::new(2021, 1).unwrap(),
            &GroupRules::default(),
            Viewer::Supervisor,
        );
        assert_eq!(t.previous.unwrap().to_string(), "2020-W53");
        assert_eq!(t.workers.len(), 6);
        let w0 = &t.workers[0].trend;
        let deep_change = w0
            .changes
            .iter()
            .find(|c| c.metric == Metric::PerHour(CountKind::DeepBends))
            .unwrap();
        assert_eq!((deep_change.this_week, deep_change.last_week), (5.0, 10.0));
        assert_eq!(deep_change.change_pct, Some(-50.0));
        let alerts = w0
            .changes
            .iter()
            .find(|c| c.metric == Metric::AlertsPerDay)
            .unwrap();
        assert_eq!(alerts.change_pct, Some(-50.0));
        // Worker 9 has no shift last week: figures, but nothing to compare.
        let w9 = &t.workers[5];
        assert_eq!(w9.worker, 9);
        assert!(w9.trend.last_week.is_none() && w9.trend.changes.is_empty());
        assert_eq!(t.teams.len(), 1);
        assert_eq!(t.teams[0].workers, 6);
        assert!(t.teams[0].trend.is_some());
    }

    #[test]
    fn a_team_trend_is_hidden_when_either_week_is_too_small() {
        let mut reports = Vec::new();
        for i in 0..6 {
            reports.push((i, shift("2025-03-04", 8.0, 80, 10)));
        }
        for i in 0..4 {
            reports.push((i, shift("2025-02-25", 8.0, 80, 10)));
        }
        let ms: Vec<Member<'_>> = reports
            .iter()
            .map(|(w, r)| Member {
                worker: *w,
                team: Some("Blue"),
                report: r,
            })
            .collect();
        let week = IsoWeek::of_day("2025-03-04").unwrap();
        let t = week_over_week(&ms, week, &GroupRules::default(), Viewer::Supervisor);
        assert_eq!(t.teams[0].trend, None);
        let t = week_over_week(&ms, week, &GroupRules::default(), Viewer::Admin);
        assert_eq!(t.teams[0].trend.as_ref().unwrap().changes.len(), 12);
    }

    #[test]
    fn week_over_week_counts_shifts_on_unreadable_days() {
        let r = shift("04/03/2025", 8.0, 80, 10);
        let ms = [Member {
            worker: 1,
            team: None,
            report: &r,
        }];
        let t = week_over_week(
            &ms,
            IsoWeek::new(2025, 10).unwrap(),
            &GroupRules::default(),
            Viewer::Admin,
        );
        assert_eq!(t.unplaced_shifts, 1);
        assert!(t.workers.is_empty());
    }

    #[test]
    fn goal_streaks_count_met_days_back_from_the_latest_and_skip_days_off() {
        // Alerts per day: 3, 12, 4, 2 (weekend off), 5 against "below 10".
        let reports = [
            shift("2025-03-05", 8.0, 0, 12),
            shift("2025-03-04", 8.0, 0, 3),
            shift("2025-03-06", 8.0, 0, 4),
            shift("2025-03-07", 4.0, 0, 1),
            shift("2025-03-07", 4.0, 0, 1),
            shift("2025-03-10", 8.0, 0, 5),
        ];
        let refs: Vec<&ShiftReport> = reports.iter().collect();
        let p = progress(&Goal::AlertsPerDayBelow(10), &refs);
        assert_eq!(
            (p.days_total, p.days_met, p.current_streak, p.best_streak),
            (5, 4, 3, 3)
        );
        let days: Vec<(&str, f64, bool)> = p
            .days
            .iter()
            .map(|d| (d.day.as_str(), d.value, d.met))
            .collect();
        assert_eq!(
            days,
            vec![
                ("2025-03-04", 3.0, true),
                ("2025-03-05", 12.0, false),
                ("2025-03-06", 4.0, true),
                ("2025-03-07", 2.0, true),
                ("2025-03-10", 5.0, true),
            ]
        );
    }

    #[test]
    fn a_missed_latest_day_ends_the_current_streak_but_not_the_best() {
        let reports = [
            shift("2025-03-03", 8.0, 80, 0),
            shift("2025-03-04", 8.0, 80, 0),
            shift("2025-03-05", 8.0, 240, 0),
        ];
        let refs: Vec<&ShiftReport> = reports.iter().collect();
        let p = progress(&Goal::DeepBendsPerHourBelow(20.0), &refs);
        assert_eq!((p.days_met, p.current_streak, p.best_streak), (2, 0, 2));
        assert_eq!(p.goal.describe(), "stay below 20 deep bends an hour");
    }

    #[test]
    fn per_hour_goals_leave_out_days_without_wear() {
        let reports = [
            shift("2025-03-03", 0.0, 0, 0),
            shift("2025-03-04", 8.0, 8, 0),
        ];
        let refs: Vec<&ShiftReport> = reports.iter().collect();
        let p = progress(&Goal::BendsPerHourBelow(5.0), &refs);
        assert_eq!((p.days_total, p.hidden_days, p.current_streak), (1, 1, 1));
    }

    #[test]
    fn no_high_risk_shift_goal_reads_stored_levels() {
        let mut reports = [
            shift("2025-03-03", 8.0, 0, 0),
            shift("2025-03-04", 8.0, 0, 0),
        ];
        reports[1].risk_level = RiskLevel::High;
        let refs: Vec<&ShiftReport> = reports.iter().collect();
        let p = progress(&Goal::NoHighRiskShift, &refs);
        assert_eq!((p.days_met, p.current_streak, p.best_streak), (1, 0, 1));
    }

    #[test]
    fn team_goals_are_hidden_below_the_minimum_and_so_are_thin_days() {
        let mut reports = Vec::new();
        for i in 0..5 {
            reports.push((i, shift("2025-03-03", 8.0, 0, 2 * i as u32)));
        }
        reports.push((0, shift("2025-03-08", 8.0, 0, 30)));
        let ms: Vec<Member<'_>> = reports
            .iter()
            .map(|(w, r)| Member {
                worker: *w,
                team: Some("Blue"),
                report: r,
            })
            .collect();
        let rules = GroupRules::default();
        let goal = Goal::AlertsPerDayBelow(5);
        let p = team_progress(&goal, &ms, &rules, Viewer::Supervisor).unwrap();
        // Monday: 20 alerts over 5 workers; Saturday (one worker) is left out.
        assert_eq!((p.days_total, p.hidden_days), (1, 1));
        assert_eq!(p.days[0].value, 4.0);
        let p = team_progress(&goal, &ms, &rules, Viewer::Admin).unwrap();
        assert_eq!((p.days_total, p.days_met, p.current_streak), (2, 1, 0));
        assert_eq!(
            team_progress(&goal, &ms[..4], &rules, Viewer::Supervisor),
            None
        );
    }

    #[test]
    fn goals_and_figures_serialise_for_the_web_ui() {
        assert_eq!(
            serde_json::to_string(&Goal::AlertsPerDayBelow(10)).unwrap(),
            r#"{"alerts_per_day_below":10}"#
        );
        assert_eq!(
            serde_json::to_string(&Metric::PerHour(CountKind::DeepBends)).unwrap(),
            r#"{"per_hour":"deep_bends"}"#
        );
        let g: GroupRules = toml::from_str("min_group = 7").unwrap();
        assert_eq!(g.min_group, 7);
        assert!(toml::from_str::<GroupRules>("min = 7").is_err());
        let w = serde_json::to_string(&IsoWeek::new(2025, 1).unwrap()).unwrap();
        assert_eq!(w, r#"{"year":2025,"week":1}"#);
    }
}
