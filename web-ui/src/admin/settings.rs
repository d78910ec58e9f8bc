//! The Settings page: Users, Site, Tasks, Wearable alert thresholds and Nuisance alerts (the
//! wearables' own alerts per site and wearable, suggested thresholds, the silent baseline), each a section of plain
//! HTML forms that post (with the hidden `csrf` field) to the admin JSON routes, which send the
//! browser back here with the outcome. It must never put a password into the page (password
//! fields are always empty), never interpolate text without `Escaped`, and never use inline
//! script or style (CSP).

use std::fmt::Write as _;

use axum::{http::StatusCode, response::Response};

use super::{
    SETTINGS_PATH,
    input::DEFAULT_THRESHOLDS,
    view::{
        BaselineState, NuisanceFigures, NuisanceView, SettingsView, SiteSettings, TaskRow,
        ThresholdState, ThresholdStatus, Thresholds, UserRow,
    },
};
use crate::{
    access::{CurrentUser, Role},
    pages::{Escaped, Shell, Viewer, percent_encode, time_element},
};

/// The outcome of the last form: the daemon's summary from `?done=` (untrusted text: escaped),
/// or what was not changed: the refusal answering the form, or the fixed words of a
/// `?problem=CODE` (see [`problem_words`]).
pub(super) enum Notice<'a> {
    None,
    Done(&'a str),
    Problem(&'a str),
}

/// Every problem an address may name, by code (`/settings?problem=unavailable`).
const PROBLEM_CODES: [(&str, &str); 1] = [(
    "unavailable",
    "The dock could not save this just now. Try again in a minute.",
)];

/// What the page says for a problem code it does not know.
const UNKNOWN_PROBLEM: &str = "The last change was not made. Check the form and try again.";

/// The fixed words for a problem code from an address; an address never makes the page say
/// its own words.
pub(super) fn problem_words(code: &str) -> &'static str {
    PROBLEM_CODES
        .iter()
        .find(|(known, _)| *known == code.trim())
        .map_or(UNKNOWN_PROBLEM, |(_, words)| words)
}

/// Common IANA zones offered as suggestions (any valid zone may be typed).
const ZONES: [&str; 32] = [
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Berlin",
    "Europe/Vienna",
    "Europe/Zurich",
    "Europe/Paris",
    "Europe/Brussels",
    "Europe/Amsterdam",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Stockholm",
    "Europe/Oslo",
    "Europe/Copenhagen",
    "Europe/Helsinki",
    "Europe/Warsaw",
    "Europe/Prague",
    "Europe/Budapest",
    "Europe/Bucharest",
    "Europe/Athens",
    "Europe/Istanbul",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Australia/Sydney",
];

const ROLES: [Role; 3] = [Role::Admin, Role::Supervisor, Role::Technician];

/// A decimal as a form value: `45`, `12.5`.
fn decimal(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

/// `GET /settings`.
/// `GET /settings`, or the answer to a refused form (`status` 400).
pub(super) fn page(
    status: StatusCode,
    settings: &SettingsView,
    nuisance: &NuisanceView,
    viewer: Viewer<'_>,
    notice: Notice<'_>,
) -> Response {
    let (me, csrf) = (viewer.user, viewer.csrf);
    let csrf_field = format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        Escaped(csrf)
    );
    let mut out = String::new();
    out.push_str(
        "<p class=\"lead\">Who may sign in, how the analysis counts, which tasks exist and when \
         the wearables warn. Every change is recorded in the <a href=\"/audit\">audit trail</a>.</p>\n",
    );
    match notice {
        Notice::None => {}
        Notice::Done(text) => {
            let _ = writeln!(
                out,
                "<div class=\"notice\" role=\"status\" data-kind=\"done\"><p><strong>Saved:</strong> {}</p></div>",
                Escaped(text)
            );
        }
        Notice::Problem(text) => {
            let _ = writeln!(
                out,
                "<div class=\"notice\" role=\"status\" data-kind=\"problem\"><p><strong>Not changed:</strong> {}</p></div>",
                Escaped(text)
            );
        }
    }
    out.push_str(
        "<nav class=\"toc\" aria-label=\"Sections\"><ul><li><a href=\"#users\">Users</a></li>\
         <li><a href=\"#site\">Site</a></li><li><a href=\"#tasks\">Tasks</a></li>\
         <li><a href=\"#thresholds\">Wearable alert thresholds</a></li>\
         <li><a href=\"#nuisance\">Nuisance alerts</a></li></ul></nav>\n",
    );
    users(&mut out, &settings.users, me, &csrf_field);
    site(&mut out, &settings.site, &csrf_field);
    tasks(&mut out, &settings.tasks, &csrf_field);
    thresholds(
        &mut out,
        &settings.thresholds,
        &settings.wearables,
        &csrf_field,
    );
    nuisance_section(&mut out, nuisance, &csrf_field);
    Shell::new("Settings")
        .current(SETTINGS_PATH)
        .render(status, Some(viewer), &out)
}

fn role_options(out: &mut String, selected: Role) {
    for role in ROLES {
        let _ = write!(
            out,
            "<option value=\"{}\"{}>{}</option>",
            role.as_str(),
            if role == selected { " selected" } else { "" },
            role.label()
        );
    }
}

fn users(out: &mut String, users: &[UserRow], me: &CurrentUser, csrf: &str) {
    out.push_str(
        "<section class=\"panel\" id=\"users\" aria-labelledby=\"users-title\">\n\
         <h2 id=\"users-title\">Users</h2>\n\
         <p class=\"hint\">Changing a user's role or password, or disabling them, signs them out \
         everywhere.</p>\n",
    );
    if users.is_empty() {
        out.push_str("<p>No users yet.</p>\n");
    } else {
        out.push_str(
            "<div class=\"table-wrap\"><table class=\"admin-table\">\n<thead><tr>\
             <th scope=\"col\">Name</th><th scope=\"col\">Role</th><th scope=\"col\">Status</th>\
             <th scope=\"col\">Created</th><th scope=\"col\">Change</th></tr></thead>\n<tbody>\n",
        );
        for (i, user) in users.iter().enumerate() {
            user_row(out, i, user, me, csrf);
        }
        out.push_str("</tbody></table></div>\n");
    }
    let _ = write!(
        out,
        "<h3>Add user</h3>\n<form class=\"stack\" method=\"post\" action=\"/api/v1/users\">{csrf}\n\
         <label for=\"new-name\">User name</label>\
         <input id=\"new-name\" name=\"name\" required maxlength=\"{max}\" \
         pattern=\"[A-Za-z0-9._@\\-]{{1,{max}}}\" autocomplete=\"off\" autocapitalize=\"none\" \
         spellcheck=\"false\" aria-describedby=\"new-name-hint\">\
         <p class=\"hint\" id=\"new-name-hint\">{words}</p>\n\
         <label for=\"new-role\">Role</label><select id=\"new-role\" name=\"role\">",
        max = crate::rules::USER_NAME_MAX,
        words = crate::rules::USER_NAME_WORDS,
    );
    role_options(out, Role::Supervisor);
    out.push_str(
        "</select>\n\
         <label for=\"new-password\">Password</label>\
         <input id=\"new-password\" type=\"password\" name=\"password\" required minlength=\"12\" \
         maxlength=\"256\" autocomplete=\"new-password\" aria-describedby=\"new-password-hint\">\
         <p class=\"hint\" id=\"new-password-hint\">At least 12 characters. Tell it to the \
         person in private; they can ask an admin for a new one.</p>\n\
         <label for=\"new-password-again\">Password again</label>\
         <input id=\"new-password-again\" type=\"password\" name=\"password_again\" required \
         minlength=\"12\" maxlength=\"256\" autocomplete=\"new-password\">\n\
         <button type=\"submit\">Add user</button>\n</form>\n</section>\n",
    );
}

fn user_row(out: &mut String, i: usize, user: &UserRow, me: &CurrentUser, csrf: &str) {
    let name = Escaped(&user.name);
    let action = format!("/api/v1/users/{}", percent_encode(&user.name));
    let is_me = user.name == me.name;
    let _ = write!(
        out,
        "<tr><th scope=\"row\">{name}{you}</th><td data-label=\"Role\">{role}</td>\
         <td data-label=\"Status\">{status}</td><td data-label=\"Created\">{created}</td>\
         <td><details><summary>Change <span class=\"visually-hidden\">{name}</span></summary>\n\
         <form class=\"row-form\" method=\"post\" action=\"{action}\">{csrf}\
         <label for=\"u{i}-role\">Role</label><select id=\"u{i}-role\" name=\"role\">",
        you = if is_me {
            " <span class=\"hint\">(you)</span>"
        } else {
            ""
        },
        role = user.role.label(),
        status = if user.disabled { "Disabled" } else { "Enabled" },
        created = time_element(user.created_ms, false),
        action = Escaped(&action),
    );
    role_options(out, user.role);
    out.push_str("</select><button type=\"submit\">Change role</button></form>\n");
    if is_me {
        out.push_str(
            "<p class=\"hint\">You cannot disable or remove your own account: another admin \
             can.</p>\n",
        );
    } else {
        let (value, label) = if user.disabled {
            ("false", "Enable")
        } else {
            ("true", "Disable")
        };
        let _ = writeln!(
            out,
            "<form class=\"row-form\" method=\"post\" action=\"{action}\">{csrf}\
             <input type=\"hidden\" name=\"disabled\" value=\"{value}\">\
             <button type=\"submit\">{label} <span class=\"visually-hidden\">{name}</span></button></form>",
            action = Escaped(&action),
        );
    }
    let _ = writeln!(
        out,
        "<form class=\"row-form\" method=\"post\" action=\"{action}\">{csrf}\
         <label for=\"u{i}-password\">New password</label>\
         <input id=\"u{i}-password\" type=\"password\" name=\"password\" required minlength=\"12\" \
         maxlength=\"256\" autocomplete=\"new-password\">\
         <label for=\"u{i}-password-again\">New password again</label>\
         <input id=\"u{i}-password-again\" type=\"password\" name=\"password_again\" required \
         minlength=\"12\" maxlength=\"256\" autocomplete=\"new-password\">\
         <button type=\"submit\">Set password</button></form>",
        action = Escaped(&action),
    );
    if !is_me {
        let _ = writeln!(
            out,
            "<form class=\"row-form\" method=\"post\" action=\"{remove}\">{csrf}\
             <span class=\"check\"><input type=\"checkbox\" id=\"u{i}-confirm\" name=\"confirm\" \
             value=\"yes\" required><label for=\"u{i}-confirm\">I understand: {name} can no \
             longer sign in, and this cannot be undone</label></span>\
             <button type=\"submit\" class=\"danger\">Remove user</button></form>",
            remove = Escaped(&format!("{action}/remove")),
        );
    }
    out.push_str("</details></td></tr>\n");
}

fn site(out: &mut String, site: &SiteSettings, csrf: &str) {
    let _ = write!(
        out,
        "<section class=\"panel\" id=\"site\" aria-labelledby=\"site-title\">\n\
         <h2 id=\"site-title\">Site</h2>\n\
         <form class=\"stack\" method=\"post\" action=\"/api/v1/settings/site\">{csrf}\n\
         <label for=\"time-zone\">Time zone</label>\
         <input id=\"time-zone\" name=\"time_zone\" list=\"zones\" required maxlength=\"64\" \
         value=\"{zone}\" autocomplete=\"off\" autocapitalize=\"none\" spellcheck=\"false\" \
         aria-describedby=\"time-zone-hint\"><datalist id=\"zones\">",
        zone = Escaped(&site.time_zone),
    );
    for zone in ZONES {
        let _ = write!(out, "<option value=\"{zone}\"></option>");
    }
    let _ = write!(
        out,
        "</datalist>\
         <p class=\"hint\" id=\"time-zone-hint\">An IANA name such as Europe/Berlin: days and \
         task time windows are counted in it.</p>\n\
         <label for=\"min-group\">Minimum group size</label>\
         <input id=\"min-group\" type=\"number\" name=\"min_group_workers\" required min=\"2\" \
         max=\"1000\" step=\"1\" inputmode=\"numeric\" value=\"{min_group}\" \
         aria-describedby=\"min-group-hint\">\
         <p class=\"hint\" id=\"min-group-hint\">Figures for a task, team or hour with fewer \
         workers than this are hidden from supervisors (2 to 1000).</p>\n\
         <label for=\"goal\">Daily alert goal</label>\
         <input id=\"goal\" type=\"number\" name=\"goal_alerts_per_day\" required min=\"0\" \
         max=\"1000\" step=\"1\" inputmode=\"numeric\" value=\"{goal}\" aria-describedby=\"goal-hint\">\
         <p class=\"hint\" id=\"goal-hint\">The goal is to stay below this many alerts a day \
         (0 to 1000).</p>\n\
         <button type=\"submit\">Save site settings</button>\n</form>\n</section>\n",
        min_group = site.min_group_workers,
        goal = site.goal_alerts_per_day,
    );
}

/// The inputs of a task form (edit or add), ids prefixed with `id`.
fn task_fields(out: &mut String, id: &str, task: Option<&TaskRow>) {
    let load = task
        .and_then(|t| t.load_kg)
        .map(decimal)
        .unwrap_or_default();
    let lever = task
        .and_then(|t| t.lever_arm_m)
        .map(decimal)
        .unwrap_or_default();
    let windows = task.map(|t| t.windows.join(", ")).unwrap_or_default();
    let _ = write!(
        out,
        "<label for=\"{id}-load\">Load per lift (kg)</label>\
         <input id=\"{id}-load\" type=\"number\" name=\"load_kg\" min=\"0\" max=\"200\" \
         step=\"any\" inputmode=\"decimal\" value=\"{load}\">\
         <label for=\"{id}-lever\">Lever arm (m)</label>\
         <input id=\"{id}-lever\" type=\"number\" name=\"lever_arm_m\" min=\"0\" max=\"2\" \
         step=\"any\" inputmode=\"decimal\" value=\"{lever}\">\
         <label for=\"{id}-windows\">Time windows</label>\
         <input id=\"{id}-windows\" name=\"windows\" value=\"{windows}\" maxlength=\"200\" \
         placeholder=\"06:00-10:00, 14:00-18:00\" autocomplete=\"off\" \
         aria-describedby=\"tasks-hint\">",
        windows = Escaped(&windows),
    );
}

fn tasks(out: &mut String, tasks: &[TaskRow], csrf: &str) {
    out.push_str(
        "<section class=\"panel\" id=\"tasks\" aria-labelledby=\"tasks-title\">\n\
         <h2 id=\"tasks-title\">Tasks</h2>\n\
         <p class=\"hint\" id=\"tasks-hint\">The load and lever arm are needed for the lifting \
         models (LiFFT, NIOSH); leave them empty if unknown. Time windows are site-local, written \
         like 06:00-10:00, several separated by commas. Workers are put in tasks on the \
         <a href=\"/roster\">roster</a>.</p>\n",
    );
    if tasks.is_empty() {
        out.push_str("<p>No tasks yet.</p>\n");
    } else {
        out.push_str(
            "<div class=\"table-wrap\"><table class=\"admin-table\">\n<thead><tr>\
             <th scope=\"col\">Task</th><th scope=\"col\">Load per lift</th>\
             <th scope=\"col\">Lever arm</th><th scope=\"col\">Time windows</th>\
             <th scope=\"col\">Change</th></tr></thead>\n<tbody>\n",
        );
        for (i, task) in tasks.iter().enumerate() {
            let name = Escaped(&task.name);
            let _ = write!(
                out,
                "<tr><th scope=\"row\">{name}</th><td data-label=\"Load per lift\">{load}</td>\
                 <td data-label=\"Lever arm\">{lever}</td><td data-label=\"Time windows\">{windows}</td>\
                 <td><details><summary>Change <span class=\"visually-hidden\">{name}</span></summary>\n\
                 <form class=\"row-form\" method=\"post\" action=\"/api/v1/settings/tasks\">{csrf}\
                 <input type=\"hidden\" name=\"name\" value=\"{name}\">",
                load = task
                    .load_kg
                    .map_or_else(|| "not set".to_owned(), |kg| format!("{} kg", decimal(kg))),
                lever = task
                    .lever_arm_m
                    .map_or_else(|| "not set".to_owned(), |m| format!("{} m", decimal(m))),
                windows = if task.windows.is_empty() {
                    "all day".to_owned()
                } else {
                    Escaped(&task.windows.join(", ")).to_string()
                },
            );
            task_fields(out, &format!("t{i}"), Some(task));
            let _ = writeln!(
                out,
                "<button type=\"submit\">Save task</button></form>\n\
                 <form class=\"row-form\" method=\"post\" action=\"{remove}\">{csrf}\
                 <button type=\"submit\" class=\"danger\">Remove task <span \
                 class=\"visually-hidden\">{name}</span></button></form>\n</details></td></tr>",
                remove = Escaped(&format!(
                    "/api/v1/settings/tasks/{}/remove",
                    percent_encode(&task.name)
                )),
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    let _ = write!(
        out,
        "<h3>Add task</h3>\n<form class=\"stack\" method=\"post\" action=\"/api/v1/settings/tasks\">{csrf}\n\
         <label for=\"new-task-name\">Name</label>\
         <input id=\"new-task-name\" name=\"name\" required maxlength=\"{max}\" autocomplete=\"off\">",
        max = crate::rules::TASK_NAME_MAX,
    );
    task_fields(out, "new-task", None);
    out.push_str("\n<button type=\"submit\">Add task</button>\n</form>\n</section>\n");
}

fn thresholds(out: &mut String, current: &Thresholds, wearables: &[ThresholdState], csrf: &str) {
    let defaults = DEFAULT_THRESHOLDS;
    let _ = write!(
        out,
        "<section class=\"panel\" id=\"thresholds\" aria-labelledby=\"thresholds-title\">\n\
         <h2 id=\"thresholds-title\">Wearable alert thresholds</h2>\n\
         <p>New thresholds are pushed to each wearable at its next docking, or within a minute \
         while it sits in the dock, and confirmed by reading them back.</p>\n\
         <form class=\"stack\" method=\"post\" action=\"/api/v1/settings/thresholds\">{csrf}\n\
         <label for=\"bend\">Bend alert (°)</label>\
         <input id=\"bend\" type=\"number\" name=\"bend_alert_deg\" required min=\"10\" max=\"90\" \
         step=\"0.01\" inputmode=\"decimal\" value=\"{bend}\" aria-describedby=\"bend-hint\">\
         <p class=\"hint\" id=\"bend-hint\">Forward bend that starts an alert, 10 to 90. \
         Firmware default: {bend_default}°.</p>\n\
         <label for=\"hold\">Hold (ms)</label>\
         <input id=\"hold\" type=\"number\" name=\"bend_hold_ms\" required min=\"0\" max=\"10000\" \
         step=\"1\" inputmode=\"numeric\" value=\"{hold}\" aria-describedby=\"hold-hint\">\
         <p class=\"hint\" id=\"hold-hint\">How long the bend must last, 0 to 10000. \
         Firmware default: {hold_default} ms.</p>\n\
         <label for=\"twist\">Twist alert (°/s)</label>\
         <input id=\"twist\" type=\"number\" name=\"twist_alert_dps\" required min=\"10\" \
         max=\"300\" step=\"0.1\" inputmode=\"decimal\" value=\"{twist}\" aria-describedby=\"twist-hint\">\
         <p class=\"hint\" id=\"twist-hint\">Twist speed that starts an alert, 10 to 300. \
         Firmware default: {twist_default} °/s.</p>\n\
         <span class=\"check\"><input id=\"haptics\" type=\"checkbox\" name=\"haptics\" value=\"on\"{haptics} \
         aria-describedby=\"haptics-hint\"><label for=\"haptics\">Haptics: the wearable buzzes \
         on an alert</label></span>\
         <p class=\"hint\" id=\"haptics-hint\">Firmware default: {haptics_default}.</p>\n\
         <label for=\"rate\">Sample rate (Hz)</label>\
         <input id=\"rate\" type=\"number\" name=\"rate_hz\" required min=\"1\" max=\"100\" \
         step=\"1\" inputmode=\"numeric\" value=\"{rate}\" aria-describedby=\"rate-hint\">\
         <p class=\"hint\" id=\"rate-hint\">1 to 100. Firmware default: {rate_default} Hz.</p>\n\
         <button type=\"submit\">Save thresholds</button>\n</form>\n",
        bend = decimal(current.bend_alert_deg),
        bend_default = decimal(defaults.bend_alert_deg),
        hold = current.bend_hold_ms,
        hold_default = defaults.bend_hold_ms,
        twist = decimal(current.twist_alert_dps),
        twist_default = decimal(defaults.twist_alert_dps),
        haptics = if current.haptics { " checked" } else { "" },
        haptics_default = if defaults.haptics { "on" } else { "off" },
        rate = current.rate_hz,
        rate_default = defaults.rate_hz,
    );
    out.push_str("<h3>Wearables</h3>\n");
    if wearables.is_empty() {
        out.push_str(
            "<p>No wearable has been sent thresholds yet: they are sent at a wearable's next \
             docking once thresholds are saved here or a silent baseline is set.</p>\n",
        );
    } else {
        out.push_str(
            "<div class=\"table-wrap\"><table class=\"admin-table\">\n<thead><tr>\
             <th scope=\"col\">Wearable</th><th scope=\"col\">Thresholds</th></tr></thead>\n<tbody>\n",
        );
        for wearable in wearables {
            let state = match (wearable.state, wearable.confirmed_ms, &wearable.problem) {
                (ThresholdStatus::Confirmed, Some(at), _) => {
                    let silent = if wearable.runs.is_some_and(|runs| !runs.haptics) {
                        ", haptics off"
                    } else {
                        ""
                    };
                    format!("Confirmed at {}{silent}", time_element(at, false))
                }
                (ThresholdStatus::Confirmed, None, _) => "Confirmed".to_owned(),
                (ThresholdStatus::Pending, _, _) => "Waiting for its next docking".to_owned(),
                (ThresholdStatus::Failed, _, Some(problem)) => {
                    format!("Failed: {}", Escaped(problem))
                }
                (ThresholdStatus::Failed, _, None) => "Failed".to_owned(),
            };
            let _ = writeln!(
                out,
                "<tr data-state=\"{kind}\"><th scope=\"row\">{serial}</th><td data-label=\"Thresholds\">{state}</td></tr>",
                kind = match wearable.state {
                    ThresholdStatus::Confirmed => "confirmed",
                    ThresholdStatus::Pending => "pending",
                    ThresholdStatus::Failed => "failed",
                },
                serial = Escaped(&wearable.serial),
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str("</section>\n");
}

/// A share (0–1) as a whole percentage, `–` when there is none.
fn share(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |x| format!("{:.0} %", 100.0 * x))
}

/// The suggested values of one row in a few words.
fn suggested_words(figures: &NuisanceFigures) -> String {
    let words: Vec<String> = figures
        .suggested
        .iter()
        .filter_map(|s| {
            let value = s.suggested?;
            Some(match s.threshold.as_str() {
                "twist_alert_dps" => format!("twist {} °/s", decimal(value)),
                "bend_hold_ms" => format!("hold {} ms", decimal(value)),
                other => format!("{} {}", Escaped(other), decimal(value)),
            })
        })
        .collect();
    if words.is_empty() {
        "Not enough data yet".to_owned()
    } else {
        words.join(", ")
    }
}

fn baseline_words(state: BaselineState) -> String {
    match state {
        BaselineState::Off => "–".to_owned(),
        BaselineState::Silent { until_ms: None } => {
            "Silent from its worker's first wear".to_owned()
        }
        BaselineState::Silent {
            until_ms: Some(until),
        } => format!("Silent until {}", time_element(until, false)),
        BaselineState::Over { ended_ms } => {
            format!("Over since {}", time_element(ended_ms, false))
        }
    }
}

fn figures_row(out: &mut String, label: &str, figures: &NuisanceFigures, baseline: &str) {
    let _ = writeln!(
        out,
        "<tr><th scope=\"row\">{label}</th><td data-label=\"Shifts\">{shifts}</td>\
         <td data-label=\"Alerts per hour\">{per_hour}</td>\
         <td data-label=\"While walking\">{gait}</td>\
         <td data-label=\"Never corrected\">{never}</td>\
         <td data-label=\"Walking twist p99.9\">{p999}</td>\
         <td data-label=\"Suggested\">{suggested}</td>\
         <td data-label=\"Silent baseline\">{baseline}</td></tr>",
        label = Escaped(label),
        shifts = figures.shifts,
        per_hour = figures
            .alerts_per_hour
            .map_or_else(|| "–".to_owned(), |x| format!("{x:.1}")),
        gait = share(figures.gait_share),
        never = share(figures.never_corrected_share),
        p999 = figures
            .gait_twist_p999_dps
            .map_or_else(|| "–".to_owned(), |x| format!("{} °/s", decimal(x))),
        suggested = suggested_words(figures),
    );
}

/// The Nuisance alerts section: figures per site and wearable, the site's suggestion with its
/// reasons and the button applying it, the silent baseline's form.
fn nuisance_section(out: &mut String, nuisance: &NuisanceView, csrf: &str) {
    let _ = write!(
        out,
        "<section class=\"panel\" id=\"nuisance\" aria-labelledby=\"nuisance-title\">\n\
         <h2 id=\"nuisance-title\">Nuisance alerts</h2>\n\
         <p>The wearables' own alerts over the last {days} days: how often they buzz, how many \
         fire while the worker walks (a stride, not a twist) and how many are never corrected. \
         The suggested thresholds come from this site's own data.</p>\n\
         <div class=\"table-wrap\"><table class=\"admin-table\">\n<thead><tr>\
         <th scope=\"col\">Where</th><th scope=\"col\">Shifts</th>\
         <th scope=\"col\">Alerts per hour</th><th scope=\"col\">While walking</th>\
         <th scope=\"col\">Never corrected</th><th scope=\"col\">Walking twist p99.9</th>\
         <th scope=\"col\">Suggested</th><th scope=\"col\">Silent baseline</th></tr></thead>\n<tbody>\n",
        days = nuisance.window_days,
    );
    figures_row(out, "Site", &nuisance.site, "");
    for wearable in &nuisance.wearables {
        figures_row(
            out,
            &wearable.serial,
            &wearable.figures,
            &baseline_words(wearable.baseline),
        );
    }
    out.push_str(
        "</tbody></table></div>\n<h3>Suggested for the site</h3>\n<ul class=\"suggestions\">\n",
    );
    for s in &nuisance.site.suggested {
        let label = match s.threshold.as_str() {
            "twist_alert_dps" => "Twist alert (°/s)",
            "bend_hold_ms" => "Hold (ms)",
            _ => "Threshold",
        };
        let value = s.suggested.map_or_else(
            || "no suggestion".to_owned(),
            |v| format!("{} (now {})", decimal(v), decimal(s.current)),
        );
        let _ = writeln!(
            out,
            "<li><strong>{label}: {value}</strong>. {reason}</li>",
            reason = Escaped(&s.reason)
        );
    }
    out.push_str("</ul>\n");
    if nuisance
        .site
        .suggested
        .iter()
        .any(|s| s.suggested.is_some())
    {
        let _ = writeln!(
            out,
            "<form method=\"post\" action=\"/api/v1/settings/thresholds/suggested\">{csrf}\
             <button type=\"submit\">Apply the suggested thresholds</button></form>"
        );
    }
    let _ = write!(
        out,
        "<h3>Silent baseline</h3>\n\
         <p>A new worker's wearable does not buzz for their first days (alerts are still \
         recorded); after that it buzzes with the thresholds suggested for the site.</p>\n\
         <form class=\"stack\" method=\"post\" action=\"/api/v1/settings/baseline\">{csrf}\n\
         <label for=\"baseline-days\">Silent baseline (days)</label>\
         <input id=\"baseline-days\" type=\"number\" name=\"days\" required min=\"0\" \
         max=\"{max}\" step=\"1\" inputmode=\"numeric\" value=\"{days}\" aria-describedby=\"baseline-hint\">\
         <p class=\"hint\" id=\"baseline-hint\">0 (off) to {max}, counted from the worker's first wear.</p>\n\
         <button type=\"submit\">Save the silent baseline</button>\n</form>\n</section>\n",
        max = crate::rules::BASELINE_DAYS_MAX,
        days = nuisance.silent_baseline_days,
    );
}
