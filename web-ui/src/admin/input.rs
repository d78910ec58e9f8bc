//! What an admin sends, checked before the daemon sees it: JSON bodies and the Settings page's
//! form posts, each turned into [`AdminChange`]s or refused with a problem in plain words. It
//! must never put a submitted password (or any other submitted text) into a problem message, a
//! log line or a `Debug` output, and never let through a value outside its documented range: the
//! daemon makes the final decision, but it only ever sees well-formed input.

use std::fmt;

use serde::Deserialize;

use super::view::{AdminChange, SiteSettings, TaskRow, Thresholds};
use crate::access::Role;

/// Longest body read (JSON or form); bigger is a 413.
pub(super) const BODY_LIMIT: usize = 16 * 1024;
const MAX_TIME_ZONE: usize = 64;
const MAX_WINDOWS: usize = 8;

/// Why input was refused: fixed words (and ranges), never the submitted text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Problem(pub(super) String);

impl Problem {
    fn new(text: impl Into<String>) -> Problem {
        Problem(text.into())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A submitted body, by how it was sent.
pub(super) enum Sent {
    Json(Vec<u8>),
    Form(Form),
}

/// The fields of a url-encoded form (the site's one parser).
pub(super) use crate::pages::FormFields as Form;

/// The first value of `name`, trimmed, or the problem that `label` is missing.
fn required<'a>(form: &'a Form, name: &str, label: &str) -> Result<&'a str, Problem> {
    form.text(name)
        .ok_or_else(|| Problem::new(format!("Fill in {label}.")))
}

fn json<T: for<'de> Deserialize<'de>>(bytes: &[u8], shape: &str) -> Result<T, Problem> {
    // serde's message could quote the body (and so a password): only the expected shape is told.
    serde_json::from_slice(bytes).map_err(|_| Problem::new(format!("Expected JSON like {shape}.")))
}

/// A user name for a new account: [`crate::rules::user_name`].
pub(super) fn check_new_name(name: &str) -> Result<(), Problem> {
    crate::rules::user_name(name).map_err(Problem::new)
}

/// The name of an existing account, from the address: what the command line may have made
/// before the 32-character rule (up to 64 characters).
pub(super) fn check_existing_name(name: &str) -> Result<(), Problem> {
    if crate::rules::is_stored_user_name(name) {
        Ok(())
    } else {
        Err(Problem::new("There is no user with that name."))
    }
}

/// A new password ([`crate::rules::password`]), typed twice when `again` is given.
fn check_password(password: &str, again: Option<&str>) -> Result<(), Problem> {
    crate::rules::password(password).map_err(Problem::new)?;
    if again.is_some_and(|again| again != password) {
        return Err(Problem::new(
            "The two passwords are not the same: type the new password twice.",
        ));
    }
    Ok(())
}

fn parse_role(text: &str) -> Result<Role, Problem> {
    match text.trim() {
        "admin" => Ok(Role::Admin),
        "supervisor" => Ok(Role::Supervisor),
        "technician" => Ok(Role::Technician),
        _ => Err(Problem::new(
            "The role must be admin, supervisor or technician.",
        )),
    }
}

/// A whole number in `range`, from a form field.
fn whole(text: &str, label: &str, range: std::ops::RangeInclusive<u32>) -> Result<u32, Problem> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| out_of_range(label, *range.start(), *range.end()))
}

fn out_of_range(label: &str, low: impl fmt::Display, high: impl fmt::Display) -> Problem {
    Problem::new(format!("{label} must be a number from {low} to {high}."))
}

/// A decimal number from a form field (a comma is read as a decimal point).
fn decimal(text: &str) -> Option<f64> {
    text.trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
}

// ---- users ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserJson {
    name: String,
    role: Role,
    password: String,
    password_again: Option<String>,
}

/// `POST /api/v1/users`: `{name, role, password, password_again?}` or the "Add user" form.
pub(super) fn add_user(sent: &Sent) -> Result<AdminChange, Problem> {
    let (name, role, password, again) = match sent {
        Sent::Json(bytes) => {
            let user: NewUserJson = json(
                bytes,
                r#"{"name": "…", "role": "supervisor", "password": "…"}"#,
            )?;
            (user.name, user.role, user.password, user.password_again)
        }
        Sent::Form(form) => (
            required(form, "name", "the user name")?.to_owned(),
            parse_role(required(form, "role", "the role")?)?,
            form.get("password").unwrap_or_default().to_owned(),
            Some(form.get("password_again").unwrap_or_default().to_owned()),
        ),
    };
    check_new_name(&name)?;
    check_password(&password, again.as_deref())?;
    Ok(AdminChange::AddUser {
        name,
        role,
        password,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserUpdateJson {
    role: Option<Role>,
    disabled: Option<bool>,
    password: Option<String>,
    password_again: Option<String>,
}

/// `POST /api/v1/users/{name}`: `{role?, disabled?, password?}` or one of a user row's forms
/// (`role`; `disabled`; `password` + `password_again`). Changes in that order; at least one.
pub(super) fn update_user(name: &str, sent: &Sent) -> Result<Vec<AdminChange>, Problem> {
    check_existing_name(name)?;
    let (role, disabled, password, again) = match sent {
        Sent::Json(bytes) => {
            let update: UserUpdateJson = json(
                bytes,
                r#"{"role": "supervisor"}, {"disabled": true} or {"password": "…"}"#,
            )?;
            (
                update.role,
                update.disabled,
                update.password,
                update.password_again,
            )
        }
        Sent::Form(form) => {
            let role = form.text("role").map(parse_role).transpose()?;
            let disabled = match form.text("disabled") {
                None => None,
                Some("true") => Some(true),
                Some("false") => Some(false),
                Some(_) => return Err(Problem::new("Disabled must be true or false.")),
            };
            let password = form.get("password").map(str::to_owned);
            let again = password
                .as_ref()
                .map(|_| form.get("password_again").unwrap_or_default().to_owned());
            (role, disabled, password, again)
        }
    };
    let mut changes = Vec::new();
    if let Some(role) = role {
        changes.push(AdminChange::SetRole {
            name: name.to_owned(),
            role,
        });
    }
    if let Some(disabled) = disabled {
        changes.push(AdminChange::SetDisabled {
            name: name.to_owned(),
            disabled,
        });
    }
    if let Some(password) = password {
        check_password(&password, again.as_deref())?;
        changes.push(AdminChange::SetPassword {
            name: name.to_owned(),
            password,
        });
    }
    if changes.is_empty() {
        return Err(Problem::new(
            "Nothing to change: send a role, disabled, or a new password.",
        ));
    }
    Ok(changes)
}

/// An optional JSON body with nothing to say: empty, or an object (`{}`).
fn no_body(bytes: &[u8]) -> Result<(), Problem> {
    if !bytes.iter().all(u8::is_ascii_whitespace) {
        json::<serde_json::Map<String, serde_json::Value>>(bytes, "{}")?;
    }
    Ok(())
}

/// `POST /api/v1/users/{name}/remove`: JSON (empty or `{}`), or the form with the "I understand"
/// box ticked.
pub(super) fn remove_user(name: &str, sent: &Sent) -> Result<AdminChange, Problem> {
    check_existing_name(name)?;
    match sent {
        Sent::Json(bytes) => no_body(bytes)?,
        Sent::Form(form) => {
            if form.text("confirm") != Some("yes") {
                return Err(Problem::new(
                    "Tick \"I understand\" to remove a user: this cannot be undone.",
                ));
            }
        }
    }
    Ok(AdminChange::RemoveUser {
        name: name.to_owned(),
    })
}

// ---- site ----

/// `POST /api/v1/settings/site`: a `SiteSettings` or the Site form.
pub(super) fn site(sent: &Sent) -> Result<AdminChange, Problem> {
    let site = match sent {
        Sent::Json(bytes) => json::<SiteSettings>(
            bytes,
            r#"{"time_zone": "Europe/Berlin", "min_group_workers": 5, "goal_alerts_per_day": 10}"#,
        )?,
        Sent::Form(form) => SiteSettings {
            time_zone: required(form, "time_zone", "the time zone")?.to_owned(),
            min_group_workers: whole(
                form.get("min_group_workers").unwrap_or_default(),
                "The minimum group size",
                2..=1000,
            )?,
            goal_alerts_per_day: whole(
                form.get("goal_alerts_per_day").unwrap_or_default(),
                "The daily alert goal",
                0..=1000,
            )?,
        },
    };
    check_time_zone(&site.time_zone)?;
    if !(2..=1000).contains(&site.min_group_workers) {
        return Err(out_of_range("The minimum group size", 2, 1000));
    }
    if site.goal_alerts_per_day > 1000 {
        return Err(out_of_range("The daily alert goal", 0, 1000));
    }
    Ok(AdminChange::Site(site))
}

/// The shape of an IANA zone name (`Europe/Berlin`, `UTC`, `Etc/GMT+2`); the daemon checks that
/// it exists.
fn check_time_zone(zone: &str) -> Result<(), Problem> {
    let good = (1..=MAX_TIME_ZONE).contains(&zone.len())
        && zone.starts_with(|c: char| c.is_ascii_alphabetic())
        && zone
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'));
    if good {
        Ok(())
    } else {
        Err(Problem::new(
            "The time zone must be an IANA name such as Europe/Berlin.",
        ))
    }
}

// ---- tasks ----

/// A task name: [`crate::rules::task_name`].
pub(super) fn check_task_name(name: &str) -> Result<(), Problem> {
    crate::rules::task_name(name).map_err(Problem::new)
}

/// `HH:MM-HH:MM`, site-local; `24:00` only as an end; start and end differ (a window may run past
/// midnight, `22:00-06:00`).
pub(super) fn check_window(window: &str) -> Result<(), Problem> {
    let clock = |text: &str, end: bool| -> Option<u16> {
        let (h, m) = text.split_once(':')?;
        if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, m) = (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?);
        match (h, m) {
            (24, 0) if end => Some(24 * 60),
            (0..=23, 0..=59) => Some(h * 60 + m),
            _ => None,
        }
    };
    let parsed = window
        .trim()
        .split_once('-')
        .and_then(|(start, end)| Some((clock(start.trim(), false)?, clock(end.trim(), true)?)));
    match parsed {
        Some((start, end)) if start != end => Ok(()),
        Some(_) => Err(Problem::new(
            "A time window's start and end must differ, for example 06:00-10:00.",
        )),
        None => Err(Problem::new(
            "Time windows are written like 06:00-10:00, several separated by commas.",
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskJson {
    name: String,
    load_kg: Option<f64>,
    lever_arm_m: Option<f64>,
    #[serde(default)]
    windows: Vec<String>,
}

/// `POST /api/v1/settings/tasks`: a `TaskRow` or a task form (windows as one text,
/// `06:00-10:00, 14:00-18:00`). Adds the task or replaces the one with its name.
pub(super) fn put_task(sent: &Sent) -> Result<AdminChange, Problem> {
    let task = match sent {
        Sent::Json(bytes) => {
            let task: TaskJson = json(
                bytes,
                r#"{"name": "Picking", "load_kg": 12.5, "lever_arm_m": 0.4, "windows": ["06:00-10:00"]}"#,
            )?;
            TaskRow {
                name: task.name,
                load_kg: task.load_kg,
                lever_arm_m: task.lever_arm_m,
                windows: task.windows.iter().map(|w| w.trim().to_owned()).collect(),
            }
        }
        Sent::Form(form) => {
            let number = |field: &str, label: &str, high: f64| match form.text(field) {
                None => Ok(None),
                Some(text) => decimal(text)
                    .map(Some)
                    .ok_or_else(|| out_of_range(label, 0, high)),
            };
            TaskRow {
                name: form.get("name").unwrap_or_default().trim().to_owned(),
                load_kg: number("load_kg", "The load", MAX_LOAD_KG)?,
                lever_arm_m: number("lever_arm_m", "The lever arm", MAX_LEVER_ARM_M)?,
                windows: form
                    .get("windows")
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect(),
            }
        }
    };
    check_task_name(&task.name)?;
    if task
        .load_kg
        .is_some_and(|kg| !(kg.is_finite() && (0.0..=MAX_LOAD_KG).contains(&kg)))
    {
        return Err(out_of_range("The load (kg)", 0, MAX_LOAD_KG));
    }
    if task
        .lever_arm_m
        .is_some_and(|m| !(m.is_finite() && (0.0..=MAX_LEVER_ARM_M).contains(&m)))
    {
        return Err(out_of_range("The lever arm (m)", 0, MAX_LEVER_ARM_M));
    }
    if task.windows.len() > MAX_WINDOWS {
        return Err(Problem::new("A task has at most 8 time windows."));
    }
    for window in &task.windows {
        check_window(window)?;
    }
    Ok(AdminChange::PutTask(task))
}

/// Heaviest typical load per lift accepted, kg.
const MAX_LOAD_KG: f64 = 200.0;
/// Longest lever arm accepted, m.
const MAX_LEVER_ARM_M: f64 = 2.0;

/// `POST /api/v1/settings/tasks/{name}/remove`.
pub(super) fn remove_task(name: &str, sent: &Sent) -> Result<AdminChange, Problem> {
    check_task_name(name)?;
    if let Sent::Json(bytes) = sent {
        no_body(bytes)?;
    }
    Ok(AdminChange::RemoveTask {
        name: name.to_owned(),
    })
}

// ---- thresholds ----

/// The firmware's defaults (protocol.md §3 CONFIG), shown as hints.
pub(super) const DEFAULT_THRESHOLDS: Thresholds = Thresholds {
    bend_alert_deg: 45.0,
    bend_hold_ms: 1000,
    twist_alert_dps: 60.0,
    haptics: true,
    rate_hz: 25,
};

/// `POST /api/v1/settings/thresholds`: a `Thresholds` or the thresholds form (`haptics` is a
/// checkbox: absent means off).
pub(super) fn thresholds(sent: &Sent) -> Result<AdminChange, Problem> {
    let thresholds = match sent {
        Sent::Json(bytes) => json::<Thresholds>(
            bytes,
            r#"{"bend_alert_deg": 45, "bend_hold_ms": 1000, "twist_alert_dps": 60, "haptics": true, "rate_hz": 25}"#,
        )?,
        Sent::Form(form) => Thresholds {
            bend_alert_deg: decimal(form.get("bend_alert_deg").unwrap_or_default())
                .ok_or_else(|| out_of_range("The bend alert angle (°)", 10, 90))?,
            bend_hold_ms: whole(
                form.get("bend_hold_ms").unwrap_or_default(),
                "The hold time (ms)",
                0..=10_000,
            )?,
            twist_alert_dps: decimal(form.get("twist_alert_dps").unwrap_or_default())
                .ok_or_else(|| out_of_range("The twist alert speed (°/s)", 10, 300))?,
            haptics: form.text("haptics").is_some(),
            rate_hz: whole(
                form.get("rate_hz").unwrap_or_default(),
                "The sample rate (Hz)",
                1..=100,
            )?
            .try_into()
            .map_err(|_| out_of_range("The sample rate (Hz)", 1, 100))?,
        },
    };
    if !(10.0..=90.0).contains(&thresholds.bend_alert_deg) {
        return Err(out_of_range("The bend alert angle (°)", 10, 90));
    }
    if thresholds.bend_hold_ms > 10_000 {
        return Err(out_of_range("The hold time (ms)", 0, 10_000));
    }
    if !(10.0..=300.0).contains(&thresholds.twist_alert_dps) {
        return Err(out_of_range("The twist alert speed (°/s)", 10, 300));
    }
    if !(1..=100).contains(&thresholds.rate_hz) {
        return Err(out_of_range("The sample rate (Hz)", 1, 100));
    }
    Ok(AdminChange::Thresholds(thresholds))
}

// ---- nuisance alerts ----

/// `POST /api/v1/settings/thresholds/suggested`: JSON (empty or `{}`), or the form's button.
pub(super) fn apply_suggested(sent: &Sent) -> Result<AdminChange, Problem> {
    if let Sent::Json(bytes) = sent {
        no_body(bytes)?;
    }
    Ok(AdminChange::ApplySuggestedThresholds)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineJson {
    days: u32,
}

/// `POST /api/v1/settings/baseline`: `{"days": N}` or the form, through
/// [`crate::rules::silent_baseline_days`].
pub(super) fn baseline(sent: &Sent) -> Result<AdminChange, Problem> {
    let days = match sent {
        Sent::Json(bytes) => json::<BaselineJson>(bytes, r#"{"days": 1}"#)?.days,
        Sent::Form(form) => form
            .get("days")
            .unwrap_or_default()
            .trim()
            .parse::<u32>()
            .map_err(|_| Problem::new(crate::rules::BASELINE_DAYS_WORDS))?,
    };
    let days = crate::rules::silent_baseline_days(days).map_err(Problem::new)?;
    Ok(AdminChange::SilentBaseline { days })
}
