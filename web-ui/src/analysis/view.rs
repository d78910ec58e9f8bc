//! The view types of the analysis pages: plain data the daemon fills from its stored shift reports
//! and group figures, serialised as the `/api/v1/analysis` JSON. They must never carry a badge tag
//! or anything the daemon did not choose to show: a worker appears only as an opaque `worker` id
//! and the `label` the daemon picked (a local display name or the badge pseudonym).
//!
//! Every string in here is untrusted text (from the config, a roster or a device): the pages
//! escape all of it. Rates are per hour of wear; durations are seconds unless named `_ms` or `_h`.

use serde::Serialize;

/// A shift's or a day's risk level. The pages always show it as a word, never as a colour alone.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    /// The level as the JSON and the page's classes spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }

    /// The level in words for a supervisor.
    pub fn words(self) -> &'static str {
        match self {
            RiskLevel::Low => "Low risk",
            RiskLevel::Medium => "Medium risk",
            RiskLevel::High => "High risk",
        }
    }
}

/// Who is looking at group figures: admins see every group, supervisors only groups of at least
/// the site's minimum size. The daemon suppresses accordingly; the page only renders.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Viewer {
    Admin,
    Supervisor,
}

/// Movements per hour of wear.
#[derive(Serialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct Rates {
    /// Forward bends of 45° or more (deep ones included).
    pub bends: f64,
    /// Forward bends of 60° or more.
    pub deep_bends: f64,
    /// Trunk twists: rotations of 30° or more, not while walking (analysis version 2).
    pub twists: f64,
    /// Sideways bends.
    pub lateral_bends: f64,
    /// Overhead reaches.
    pub reaches: f64,
    /// Lifts (stoop and squat).
    pub lifts: f64,
}

/// Seconds of wear in each ISO 11226 trunk-posture zone; they sum to the wear time.
#[derive(Serialize, Clone, Copy, Debug, Default, PartialEq)]
pub struct PostureZones {
    pub acceptable_s: f64,
    pub conditional_s: f64,
    pub not_acceptable_s: f64,
}

impl PostureZones {
    pub(crate) fn total_s(&self) -> f64 {
        self.acceptable_s + self.conditional_s + self.not_acceptable_s
    }
}

/// The Today / shift overview: one row per worker with shifts on `day`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Overview {
    /// The site-local day shown, `YYYY-MM-DD`; `None` when nothing has been analysed yet.
    pub day: Option<String>,
    /// The nearest earlier and later days with analysed shifts, for "previous" / "next" links.
    pub previous_day: Option<String>,
    pub next_day: Option<String>,
    /// Every team and task name the filters offer (the site's, not only this day's).
    pub teams: Vec<String>,
    pub tasks: Vec<String>,
    /// The workers of the day. The page and the API filter and sort them; the daemon need not.
    pub workers: Vec<WorkerRow>,
}

/// One worker's day (all of that day's shifts together).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct WorkerRow {
    /// The daemon's opaque worker id (the `{id}` of `/workers/{id}`): never a badge tag.
    pub worker: i64,
    /// What the page calls the worker: a local display name, else the badge pseudonym.
    pub label: String,
    pub team: Option<String>,
    /// Tasks the worker spent time in that day.
    pub tasks: Vec<String>,
    pub shifts: u32,
    pub wear_h: f64,
    pub per_hour: Rates,
    pub zones: PostureZones,
    /// The wearable's own alerts that day.
    pub alerts: u32,
    /// Median time from the haptic alert to a safe posture; `None` without corrected alerts.
    pub median_response_ms: Option<u32>,
    /// The day's highest shift level, with the reasons in words, heaviest first.
    pub risk_level: RiskLevel,
    pub reasons: Vec<String>,
    /// What the day's shifts went beyond of the worker's work restrictions in force (empty
    /// within them, or without any).
    pub work_restrictions_exceeded: Vec<WorkRestrictionExceeded>,
}

/// One term of a work restriction a shift went beyond, in the daemon's words.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct WorkRestrictionExceeded {
    /// The work restriction's id (as on the Roster).
    pub work_restriction: i64,
    /// What, e.g. "3 deep bends (limit: none)" or "14 lifts in the hour 10:00–11:00 (limit 10)".
    pub what: String,
    /// When, as site-local clock hours, e.g. `["09:00–10:00 (2)"]`; empty when only the task
    /// is known.
    pub when: Vec<String>,
}

/// One worker: shifts over time, one shift in detail, trends, goal and advice.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct WorkerDetail {
    pub worker: i64,
    pub label: String,
    pub team: Option<String>,
    /// The worker's recent shifts, oldest first.
    pub shifts: Vec<ShiftSummary>,
    /// The chosen shift (`?shift=START_MS`), or the latest one; `None` without shifts.
    pub shift: Option<ShiftDetail>,
    /// Weekly figures, oldest first (for the trend chart).
    pub weeks: Vec<WeekPoint>,
    /// This week against last week; `None` until the worker has shifts in both.
    pub trend: Option<WeekTrend>,
    /// Progress toward the daily goal; `None` when no goal is set.
    pub goal: Option<GoalView>,
    /// The analysis's recommendations for the chosen shift, heaviest first.
    pub advice: Vec<AdviceView>,
    /// The worker's work restrictions still kept (current, coming and ended), oldest first.
    pub work_restrictions: Vec<crate::roster::WorkRestriction>,
}

/// One shift in the worker's history.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ShiftSummary {
    /// Unix epoch ms; `start_ms` identifies the shift (`?shift=`).
    pub start_ms: i64,
    pub end_ms: i64,
    /// The site-local day the shift started, `YYYY-MM-DD`.
    pub local_day: String,
    /// Site-local clock times, `HH:MM` (the daemon knows the site's time zone; the page does not).
    pub start_time: String,
    pub end_time: String,
    pub wear_h: f64,
    pub per_hour: Rates,
    pub alerts: u32,
    pub risk_level: RiskLevel,
    /// What the shift went beyond of the worker's work restrictions in force that day.
    pub work_restrictions_exceeded: Vec<WorkRestrictionExceeded>,
}

/// One shift in detail.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ShiftDetail {
    #[serde(flatten)]
    pub summary: ShiftSummary,
    pub zones: PostureZones,
    pub median_response_ms: Option<u32>,
    /// Alerts never followed by a safe posture.
    pub uncorrected_alerts: u32,
    pub reasons: Vec<String>,
    /// Site-local clock hours of the shift, in order.
    pub hours: Vec<HourPoint>,
}

/// One clock hour of a shift.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct HourPoint {
    pub hour_start_ms: i64,
    /// Site-local hour of day, 0–23.
    pub hour_of_day: u8,
    pub wear_s: f64,
    pub bends: u32,
    pub deep_bends: u32,
    pub twists: u32,
    pub lateral_bends: u32,
    pub reaches: u32,
    pub lifts: u32,
    /// Posture zones within the hour, when the daemon has them per hour.
    pub zones: Option<PostureZones>,
}

/// One ISO week of a worker.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct WeekPoint {
    /// `2025-W10`.
    pub week: String,
    pub wear_h: f64,
    /// `None` in a week without wear.
    pub per_hour: Option<Rates>,
    pub alerts_per_day: Option<f64>,
}

/// This week against last week.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct WeekTrend {
    pub week: String,
    pub previous: String,
    pub rows: Vec<TrendRow>,
}

/// One figure in both weeks.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct TrendRow {
    /// A stable key for clients, e.g. `bends_per_hour`.
    pub metric: String,
    /// The figure with its unit in words, e.g. "Bends per hour".
    pub label: String,
    pub this_week: f64,
    pub last_week: f64,
    /// `(this − last) / last × 100`; `None` when last week's figure is 0.
    pub change_pct: Option<f64>,
}

/// A daily goal and the days measured against it, oldest first.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct GoalView {
    /// The goal in words, e.g. "stay below 5 alerts a day".
    pub description: String,
    /// The goal's limit on the daily value, drawn as a line; `None` for yes/no goals.
    pub limit: Option<f64>,
    /// What the daily value counts, e.g. "alerts".
    pub unit: String,
    pub days_total: u32,
    pub days_met: u32,
    pub current_streak: u32,
    pub best_streak: u32,
    pub days: Vec<GoalDay>,
}

/// One day against the goal.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct GoalDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub value: f64,
    pub met: bool,
}

/// A recommendation and the figures it rests on.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct AdviceView {
    pub text: String,
    pub evidence: String,
}

/// Tasks & hours: where risky movements concentrate, by task, hour of day and team.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct TasksAndHours {
    /// The span of days the figures cover, `YYYY-MM-DD`; `None` without data.
    pub from_day: Option<String>,
    pub to_day: Option<String>,
    /// Groups with fewer workers are hidden from supervisors.
    pub min_group_workers: u32,
    pub site: GroupRow,
    pub tasks: Vec<GroupRow>,
    pub hours: Vec<HourRow>,
    pub teams: Vec<GroupRow>,
    /// Site-level recommendations (only from groups this viewer may see).
    pub advice: Vec<AdviceView>,
}

/// A task, a team or the site.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct GroupRow {
    pub name: String,
    pub workers: u32,
    pub shifts: u32,
    /// `None`: hidden (fewer than `min_group_workers` workers, or to protect such a group).
    pub figures: Option<GroupFigures>,
}

/// A site-local hour of day, over all days.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct HourRow {
    /// 0–23.
    pub hour_of_day: u8,
    pub workers: u32,
    pub shifts: u32,
    pub figures: Option<GroupFigures>,
}

/// A group's figures.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct GroupFigures {
    pub wear_h: f64,
    pub per_hour: Rates,
    /// Share (0–1) of the group's shifts whose level is high.
    pub high_risk_share: f64,
    /// Wearable alerts per worker-day; `None` for tasks and hours.
    pub alerts_per_day: Option<f64>,
}
