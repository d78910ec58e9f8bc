//! The Settings page's view types and the [`AdminView`] trait the daemon implements; also the JSON
//! API's shapes. It must never depend on the daemon, and never carry a password anywhere but in an
//! [`AdminChange::AddUser`] / [`AdminChange::SetPassword`] on its way in.

use serde::{Deserialize, Serialize};

use crate::{ViewFuture, access::Role};

/// What the admin pages need from the daemon. The reads are **blocking** (SQLite): handlers call
/// them on tokio's blocking pool; [`AdminView::change`] is async.
pub trait AdminView: Send + Sync + 'static {
    /// Everything the Settings page shows.
    fn settings(&self) -> SettingsView;

    /// Applies one change durably, done by the signed-in admin `by`. The daemon refuses, in plain
    /// words, anything that would leave no enabled admin, bad values (unknown time zone, a task
    /// name used twice, a threshold out of range) and a user name already taken.
    ///
    /// The future resolves after the commit. It is awaited on a runtime worker, so it must not
    /// block one (await the store's writer; put SQLite reads and password hashing on the
    /// blocking pool).
    fn change<'a>(
        &'a self,
        by: &'a str,
        change: AdminChange,
    ) -> ViewFuture<'a, Result<String, AdminRefusal>>;

    /// Audit lines, newest first: those with `id < before` (all when `None`), at most `limit`.
    fn audit(&self, before: Option<i64>, limit: u32) -> AuditPage;

    /// The Nuisance alerts section: the wearables' own alerts over the recent window, per site
    /// and per wearable (by serial, never by worker), the suggested thresholds and the silent
    /// baseline.
    fn nuisance(&self) -> NuisanceView;
}

/// The Settings page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsView {
    pub users: Vec<UserRow>,
    pub site: SiteSettings,
    pub tasks: Vec<TaskRow>,
    pub thresholds: Thresholds,
    /// Whether each wearable has confirmed the current thresholds.
    pub wearables: Vec<ThresholdState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRow {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_ms: i64,
}

/// Site-wide analysis settings an admin may change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteSettings {
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Group figures over fewer workers are hidden from supervisors (at least 2).
    pub min_group_workers: u32,
    /// The daily goal: stay below this many alerts a day.
    pub goal_alerts_per_day: u32,
}

/// A task as the Settings page edits it (the analysis's `[[analysis.tasks]]` without worker lists:
/// workers are put in tasks on the roster).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    pub name: String,
    /// Typical load per lift, kg (LiFFT and NIOSH need it).
    pub load_kg: Option<f64>,
    /// Horizontal distance hip → load, m (LiFFT needs it).
    pub lever_arm_m: Option<f64>,
    /// Site-local time windows, `"06:00-10:00"`.
    pub windows: Vec<String>,
}

/// The wearables' alert thresholds (protocol.md §3 CONFIG), in the units people use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Forward bend that triggers an alert, degrees (wire: 0.01°).
    pub bend_alert_deg: f64,
    /// How long the bend must last, ms.
    pub bend_hold_ms: u32,
    /// Twist speed that triggers an alert, degrees per second (wire: 0.1 °/s).
    pub twist_alert_dps: f64,
    /// Whether the wearable buzzes.
    pub haptics: bool,
    /// Sample rate, Hz.
    pub rate_hz: u8,
}

/// Whether one wearable runs the thresholds ordered for it (the site's, or during its worker's
/// silent baseline the same with haptics off, after it the suggested ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdState {
    pub serial: String,
    /// `confirmed`: its GET_CONFIG matched after SET_CONFIG; `pending`: not docked since the
    /// change; `failed`: it refused or answered something else (see `problem`).
    pub state: ThresholdStatus,
    /// When it last confirmed, Unix ms.
    pub confirmed_ms: Option<i64>,
    pub problem: Option<String>,
    /// What it runs, as its GET_CONFIG last read back (during a silent baseline: haptics off).
    #[serde(default)]
    pub runs: Option<Thresholds>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdStatus {
    Confirmed,
    Pending,
    Failed,
}

/// The wearables' own alerts over the last `window_days`, and what the dock suggests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NuisanceView {
    /// How many days of shift reports the figures and suggestions cover (ending now).
    pub window_days: u32,
    pub site: NuisanceFigures,
    /// Per wearable, by serial.
    pub wearables: Vec<WearableNuisance>,
    /// The silent baseline: haptics off for a worker's first N days (0: off).
    pub silent_baseline_days: u32,
}

/// Alert figures over the window, with the thresholds their data suggests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NuisanceFigures {
    pub shifts: u32,
    pub wear_h: f64,
    pub alerts: u64,
    pub by_kind: AlertCounts,
    /// `None` without wear.
    pub alerts_per_hour: Option<f64>,
    /// Share of alerts that fired while walking (0–1); `None` without alerts.
    pub gait_share: Option<f64>,
    /// Share of alerts never corrected (0–1); `None` without alerts.
    pub never_corrected_share: Option<f64>,
    /// Walking measured, minutes.
    pub gait_min: f64,
    /// 99.9th percentile of the pelvis's twist speed while walking, °/s.
    pub gait_twist_p999_dps: Option<f64>,
    /// One row per threshold the dock may suggest.
    pub suggested: Vec<SuggestedThreshold>,
}

/// Alerts by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertCounts {
    pub bend: u32,
    pub twist: u32,
    pub prolonged_bend: u32,
    pub overreach: u32,
}

/// One threshold's suggestion, in the units people use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestedThreshold {
    /// The `Thresholds` field: `twist_alert_dps` or `bend_hold_ms`.
    pub threshold: String,
    pub current: f64,
    /// `None`: not enough data yet.
    pub suggested: Option<f64>,
    /// Why, in words.
    pub reason: String,
}

/// One wearable's figures and where its roster worker stands in the silent baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WearableNuisance {
    pub serial: String,
    pub figures: NuisanceFigures,
    pub baseline: BaselineState,
}

/// Where a wearable's roster worker stands in the silent baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BaselineState {
    /// No baseline, or no roster worker.
    Off,
    /// Haptics off until `until_ms` (`None`: not worn yet; N days from the first wear).
    Silent { until_ms: Option<i64> },
    /// Over since `ended_ms`: the wearable runs the suggested thresholds.
    Over { ended_ms: i64 },
}

/// One admin change. Its `Debug` is its `Display`: a password never reaches a log.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum AdminChange {
    AddUser {
        name: String,
        role: Role,
        password: String,
    },
    SetRole {
        name: String,
        role: Role,
    },
    SetDisabled {
        name: String,
        disabled: bool,
    },
    SetPassword {
        name: String,
        password: String,
    },
    RemoveUser {
        name: String,
    },
    Site(SiteSettings),
    /// Adds a task, or replaces the one with the same name.
    PutTask(TaskRow),
    RemoveTask {
        name: String,
    },
    Thresholds(Thresholds),
    /// Copies the site's suggested thresholds into the site thresholds.
    ApplySuggestedThresholds,
    /// The silent baseline's length, days (0: off).
    SilentBaseline {
        days: u32,
    },
}

impl AdminChange {
    /// The user account the change ends sessions of (role change, disabling, removal, new password).
    pub fn affected_user(&self) -> Option<&str> {
        match self {
            AdminChange::SetRole { name, .. }
            | AdminChange::SetDisabled { name, .. }
            | AdminChange::SetPassword { name, .. }
            | AdminChange::RemoveUser { name } => Some(name),
            _ => None,
        }
    }
}

/// Never printed with its password.
impl std::fmt::Display for AdminChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminChange::AddUser { name, role, .. } => {
                write!(f, "add user {name} as {}", role.as_str())
            }
            AdminChange::SetRole { name, role } => {
                write!(f, "set role of {name} to {}", role.as_str())
            }
            AdminChange::SetDisabled {
                name,
                disabled: true,
            } => write!(f, "disable user {name}"),
            AdminChange::SetDisabled {
                name,
                disabled: false,
            } => write!(f, "enable user {name}"),
            AdminChange::SetPassword { name, .. } => write!(f, "set password of {name}"),
            AdminChange::RemoveUser { name } => write!(f, "remove user {name}"),
            AdminChange::Site(_) => f.write_str("change site settings"),
            AdminChange::PutTask(task) => write!(f, "save task {}", task.name),
            AdminChange::RemoveTask { name } => write!(f, "remove task {name}"),
            AdminChange::Thresholds(_) => f.write_str("change wearable alert thresholds"),
            AdminChange::ApplySuggestedThresholds => {
                f.write_str("apply the suggested wearable alert thresholds")
            }
            AdminChange::SilentBaseline { days: 0 } => f.write_str("turn the silent baseline off"),
            AdminChange::SilentBaseline { days } => {
                write!(f, "set the silent baseline to {days} days")
            }
        }
    }
}

impl std::fmt::Debug for AdminChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// One page of the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditLine>,
    /// Pass as `before` for the next (older) page; `None` at the end.
    pub older: Option<i64>,
    /// The hash chain's state, checked over the whole trail when the newest page is read
    /// (`None` on older pages, or when it could not be read).
    pub chain: Option<AuditChain>,
}

/// What checking the audit trail's hash chain found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditChain {
    pub intact: bool,
    /// What was found, as a sentence (where it breaks, or how far it is linked).
    pub finding: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditLine {
    pub id: i64,
    pub at_ms: i64,
    pub user: String,
    pub action: String,
    pub subject: String,
}

/// Why a change was refused, in plain words (400 with `{"error": …}`, or shown on the page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{0}")]
pub struct AdminRefusal(pub String);
