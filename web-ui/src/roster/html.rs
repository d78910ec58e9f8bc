//! The Roster page's markup: the wearables and workers tables with their forms, the add-a-worker
//! form, the work restrictions with theirs, the message box after a change, and the document shell
//! (with the site navigation). Serials come from devices and names, badges and teams from people:
//! it must never interpolate any text without [`Esc`], never build an element id from such text,
//! and never emit inline script, style or handlers (CSP).

use std::{borrow::Cow, fmt::Write as _};

use axum::{http::StatusCode, response::Response};

use super::{
    API_WEARABLES, API_WORKERS, DELETE_SUFFIX, DeletedData, END_SUFFIX, EXPORT_SUFFIX,
    OPT_OUT_SUFFIX, PAGE_PATH, Roster, RosterWearable, RosterWorker, STYLE_PATH,
    WORK_RESTRICTION_PREFIX, WORK_RESTRICTIONS_SUFFIX, WorkRestriction, input,
};
use crate::access::Role;
use crate::pages::{self, Shell, Viewer};

/// Longest message shown after a change, in characters (the rest is cut off with "…").
pub(super) const MAX_NOTICE: usize = 200;

/// Text made safe for HTML: the site's one escaper, under the name this module's markup uses.
pub(super) use crate::pages::Escaped as Esc;

/// The message a change left for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Notice {
    /// The daemon's summary of the change, from the session's one-shot notice (never from the
    /// address).
    Done(String),
    /// What was not saved: the fixed words of a `?problem=CODE` (an address carries a code,
    /// never words), or the daemon's refusal, shown straight in the answer to the form.
    Problem(Cow<'static, str>),
}

impl Notice {
    /// The notice for a view of the page: a problem code in the query string wins (a code from
    /// [`input::PROBLEM_CODES`]; any other text gets the fixed [`input::UNKNOWN_PROBLEM`]), else
    /// the confirmation `left` in the session by [`Notice::to_leave`]. Any other parameter (a
    /// crafted `?done=…`) is ignored.
    pub(super) fn for_view(query: Option<&str>, left: Option<String>) -> Option<Notice> {
        let problem = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .find(|(name, value)| name == "problem" && !value.trim().is_empty())
            .map(|(_, code)| Notice::Problem(input::problem_words(code.trim()).into()));
        problem.or_else(|| left.filter(|text| !text.is_empty()).map(Notice::Done))
    }

    /// The daemon's `summary` as kept for the page's next view: without control characters, cut
    /// to [`MAX_NOTICE`].
    pub(super) fn to_leave(summary: &str) -> String {
        clean(summary)
    }

    /// The page's address naming the problem `code` (one of [`input::PROBLEM_CODES`]).
    pub(super) fn problem_location(code: &str) -> String {
        format!("{PAGE_PATH}?problem={}", pages::percent_encode(code))
    }
}

/// `text` without control characters, trimmed, at most [`MAX_NOTICE`] characters.
fn clean(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_control()).collect();
    let text = text.trim();
    if text.chars().count() <= MAX_NOTICE {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_NOTICE - 1).collect();
    cut.push('…');
    cut
}

/// The UTC day of an instant as a `<time>` element: `2025-03-04`.
pub(super) fn day(epoch_ms: i64) -> String {
    let (year, month, day) = pages::civil_from_days(epoch_ms.div_euclid(86_400_000));
    let text = format!("{year:04}-{month:02}-{day:02}");
    format!("<time datetime=\"{text}\">{text}</time>")
}

/// How the page names a worker: the display name, else the pseudonym.
pub(super) fn worker_label(worker: &RosterWorker) -> &str {
    worker
        .display_name
        .as_deref()
        .filter(|name| !name.is_empty())
        .unwrap_or(&worker.pseudonym)
}

/// The roster page with `status` (200, or 400 when it answers a refused form). The CSRF token
/// goes into every form; `notice` is shown in a status box. Framed in the site's shell with the
/// site's, the analysis pages' (for the same sections and tables) and this page's stylesheets.
pub(super) fn page(
    status: StatusCode,
    roster: &Roster,
    viewer: Option<Viewer<'_>>,
    notice: Option<&Notice>,
) -> Response {
    let mut body = String::with_capacity(8192);
    body.push_str(
        "<header class=\"an-head\">\n<h1>Roster</h1>\n<p class=\"ro-intro\">Who wears which \
         wearable, and each worker's badge tag, name, task and team. Names and badge tags stay \
         on this dock and are shown only on this page: every other page, and everything the dock \
         sends elsewhere, shows a worker's pseudonym instead (a code such as W-3F9A2C).</p>\n\
         </header>\n",
    );
    match notice {
        Some(Notice::Done(text)) => {
            let _ = writeln!(
                body,
                "<p class=\"ro-notice\" role=\"status\" data-kind=\"done\">\
                 <strong>Saved:</strong> {}</p>",
                Esc(text)
            );
        }
        Some(Notice::Problem(text)) => {
            let _ = writeln!(
                body,
                "<p class=\"ro-notice\" role=\"status\" data-kind=\"problem\">\
                 <strong>Not saved:</strong> {}</p>",
                Esc(text)
            );
        }
        None => {}
    }
    let form = Form {
        csrf: viewer.map_or("", |viewer| viewer.csrf),
        admin: viewer.is_some_and(|viewer| viewer.user.role == Role::Admin),
    };
    wearables(&mut body, roster, form);
    workers(&mut body, roster, form);
    add_worker(&mut body, roster, form);
    work_restrictions(&mut body, roster, form);
    teams_list(&mut body, &roster.teams);
    Shell::new("Roster")
        .own_heading()
        .current(PAGE_PATH)
        .styles(&[crate::analysis::STYLE_PATH, STYLE_PATH])
        .main_class("an-main ro-main")
        .render(status, viewer, &body)
}

/// What every form shares: the CSRF token, and whether the viewer is an administrator (only
/// they are offered a worker's deletion).
#[derive(Clone, Copy)]
struct Form<'a> {
    csrf: &'a str,
    admin: bool,
}

impl Form<'_> {
    /// `<form method="post" action=…>` and the hidden `csrf` field.
    fn open(self, out: &mut String, action: &str, class: &str) {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{}\" class=\"{class}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            Esc(action),
            Esc(self.csrf)
        );
    }
}

fn wearables(out: &mut String, roster: &Roster, form: Form<'_>) {
    out.push_str(
        "<section class=\"an-section\" aria-labelledby=\"ro-wearables\">\n\
         <h2 id=\"ro-wearables\">Wearables</h2>\n\
         <p class=\"an-note\">A new assignment is written to the wearable when it is next docked \
         (or straight away if it is in the dock now). Dates are UTC days.</p>\n",
    );
    if roster.wearables.is_empty() {
        out.push_str(
            "<p class=\"an-empty\">No wearable has been docked yet. Dock one and it appears \
             here.</p>\n</section>\n",
        );
        return;
    }
    out.push_str(
        "<div class=\"an-table-wrap\">\n<table class=\"an-table ro-table\">\n\
         <thead><tr><th scope=\"col\">Serial</th><th scope=\"col\">Worn by</th>\
         <th scope=\"col\">Assignment</th><th scope=\"col\">Last docked</th>\
         <th scope=\"col\">Change</th></tr></thead>\n<tbody>\n",
    );
    for (row, wearable) in roster.wearables.iter().enumerate() {
        wearable_row(out, roster, wearable, row, form);
    }
    out.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

fn wearable_row(
    out: &mut String,
    roster: &Roster,
    wearable: &RosterWearable,
    row: usize,
    form: Form<'_>,
) {
    let worn_by = match wearable.worker {
        None => "<span class=\"ro-muted\">No one</span>".to_owned(),
        Some(id) => match roster.workers.iter().find(|worker| worker.id == id) {
            Some(worker) => Esc(worker_label(worker)).to_string(),
            None => format!("worker {id}"),
        },
    };
    let applied = if wearable.applied {
        "On the wearable"
    } else {
        "Sent at next docking"
    };
    let docked = wearable
        .last_docked_ms
        .map_or_else(|| "<span class=\"ro-muted\">Never</span>".to_owned(), day);
    let serial = Esc(&wearable.serial);
    let _ = write!(
        out,
        "<tr><th scope=\"row\">{serial}</th>\
         <td data-label=\"Worn by\">{worn_by}</td>\
         <td data-label=\"Assignment\">{applied}</td>\
         <td data-label=\"Last docked\">{docked}</td>\
         <td data-label=\"Change\">"
    );
    form.open(out, API_WEARABLES, "ro-inline");
    let _ = write!(
        out,
        "<input type=\"hidden\" name=\"serial\" value=\"{serial}\">\
         <label for=\"ro-wearable-{row}\" class=\"ro-hidden\">Who wears {serial}</label>\
         <select id=\"ro-wearable-{row}\" name=\"worker\">\
         <option value=\"\"{none}>No one</option>",
        none = selected(wearable.worker.is_none()),
    );
    let mut listed = false;
    for worker in &roster.workers {
        let chosen = wearable.worker == Some(worker.id);
        listed |= chosen;
        let _ = write!(
            out,
            "<option value=\"{}\"{}>{}",
            worker.id,
            selected(chosen),
            Esc(worker_label(worker))
        );
        if worker.display_name.is_some() {
            let _ = write!(out, " · {}", Esc(&worker.pseudonym));
        }
        if worker.opted_out_ms.is_some() {
            out.push_str(" (opted out)");
        }
        out.push_str("</option>");
    }
    // A worker the roster no longer lists stays chosen, so saving does not unassign them.
    if let (Some(id), false) = (wearable.worker, listed) {
        let _ = write!(out, "<option value=\"{id}\" selected>worker {id}</option>");
    }
    out.push_str("</select><button type=\"submit\">Save</button></form></td></tr>\n");
}

fn selected(yes: bool) -> &'static str {
    if yes { " selected" } else { "" }
}

fn workers(out: &mut String, roster: &Roster, form: Form<'_>) {
    out.push_str(
        "<section class=\"an-section\" aria-labelledby=\"ro-workers\">\n\
         <h2 id=\"ro-workers\">Workers</h2>\n\
         <p class=\"an-note\" id=\"ro-opt-out-help\">Opting a worker out means the dock stops \
         keeping their data: whatever a wearable records for them is thrown away when it docks. \
         Their shift reports are deleted; the samples and alerts stored before are no longer \
         analysed or shown, but they are not deleted: they stay on the dock until the retention \
         purge removes them (their age is set in the dock's configuration). Opting them back in keeps new data again; data thrown away in between \
         cannot be brought back.</p>\n",
    );
    if roster.workers.is_empty() {
        out.push_str(
            "<p class=\"an-empty\">No workers yet. Add one below, or dock a wearable that \
             carries a badge tag.</p>\n</section>\n",
        );
        return;
    }
    out.push_str(
        "<div class=\"an-table-wrap\">\n<table class=\"an-table ro-table\">\n\
         <thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Badge tag</th>\
         <th scope=\"col\">Pseudonym</th><th scope=\"col\">Task</th><th scope=\"col\">Team</th>\
         <th scope=\"col\">Status</th><th scope=\"col\">Change</th></tr></thead>\n<tbody>\n",
    );
    for (row, worker) in roster.workers.iter().enumerate() {
        worker_row(out, roster, worker, row, form);
    }
    out.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

fn or_none(text: Option<&str>, none: &str) -> String {
    match text.filter(|text| !text.is_empty()) {
        Some(text) => Esc(text).to_string(),
        None => format!("<span class=\"ro-muted\">{none}</span>"),
    }
}

fn worker_row(
    out: &mut String,
    roster: &Roster,
    worker: &RosterWorker,
    row: usize,
    form: Form<'_>,
) {
    let label = Esc(worker_label(worker));
    let status = match worker.opted_out_ms {
        None => "Active".to_owned(),
        Some(since) => format!(
            "Opted out since {} — data from their wearable is discarded at docking ({} \
             discarded)",
            day(since),
            if worker.discarded_samples == 1 {
                "1 sample".to_owned()
            } else {
                format!("{} samples", pages::count(worker.discarded_samples))
            }
        ),
    };
    let _ = write!(
        out,
        "<tr><th scope=\"row\">{name}</th>\
         <td data-label=\"Badge tag\">{badge}</td>\
         <td data-label=\"Pseudonym\">{pseudonym}</td>\
         <td data-label=\"Task\">{task}</td>\
         <td data-label=\"Team\">{team}</td>\
         <td data-label=\"Status\">{status}</td>\
         <td data-label=\"Change\"><details class=\"ro-edit\"><summary>Edit\
         <span class=\"ro-hidden\"> {label}</span></summary>",
        name = or_none(worker.display_name.as_deref(), "No name"),
        badge = Esc(&worker.badge),
        pseudonym = Esc(&worker.pseudonym),
        task = or_none(worker.task.as_deref(), "No task"),
        team = or_none(worker.team.as_deref(), "No team"),
    );
    form.open(out, &format!("{API_WORKERS}/{}", worker.id), "ro-form");
    let id = format!("ro-worker-{row}");
    text_input(
        out,
        &format!("{id}-name"),
        "display_name",
        "Display name",
        worker.display_name.as_deref(),
        super::input::MAX_NAME,
        None,
    );
    task_select(
        out,
        &format!("{id}-task"),
        &roster.tasks,
        worker.task.as_deref(),
    );
    text_input(
        out,
        &format!("{id}-team"),
        "team",
        "Team",
        worker.team.as_deref(),
        super::input::MAX_TEAM,
        Some("ro-teams"),
    );
    out.push_str("<button type=\"submit\">Save</button></form></details>");
    let (value, action) = if worker.opted_out_ms.is_some() {
        ("false", "Opt back in")
    } else {
        ("true", "Opt out")
    };
    form.open(
        out,
        &format!("{API_WORKERS}/{}{OPT_OUT_SUFFIX}", worker.id),
        "ro-opt-out",
    );
    let _ = write!(
        out,
        "<input type=\"hidden\" name=\"opted_out\" value=\"{value}\">\
         <button type=\"submit\" class=\"ro-secondary\" aria-describedby=\"ro-opt-out-help\">\
         {action}<span class=\"ro-hidden\"> {label}</span></button></form>"
    );
    if form.admin {
        let _ = write!(
            out,
            " <a class=\"ro-secondary\" href=\"{API_WORKERS}/{}{EXPORT_SUFFIX}\" download>\
             Export their data<span class=\"ro-hidden\"> ({})</span></a>",
            worker.id,
            Esc(worker_label(worker))
        );
        delete_form(out, worker, row, form);
    }
    out.push_str("</td></tr>\n");
}

/// An administrator's "Delete this worker's data": folded away, it says what goes and what stays
/// and takes a ticked box before the button deletes anything (the daemon checks it again).
fn delete_form(out: &mut String, worker: &RosterWorker, row: usize, form: Form<'_>) {
    let label = Esc(worker_label(worker));
    let _ = write!(
        out,
        "<details class=\"ro-edit ro-delete\"><summary>Delete this worker's data\
         <span class=\"ro-hidden\"> ({label})</span></summary>"
    );
    form.open(
        out,
        &format!("{API_WORKERS}/{}{DELETE_SUFFIX}", worker.id),
        "ro-form",
    );
    let _ = write!(
        out,
        "<p class=\"ro-help\">What goes, for good, from this dock: {label}'s badge tag and name, \
         every sample, alert and shift report of theirs, their work restrictions, the bytes of \
         damaged segments kept from their wearables, and whatever of theirs is still waiting to \
         be uploaded. Their wearables stay on the roster, assigned to no one. With cloud upload \
         on, the cloud is told to delete what it holds of them (by pseudonym).</p>\
         <p class=\"ro-help\">What stays: the audit entry saying they were deleted (by number, \
         with no name) and a tombstone, their keyed pseudonym (never the badge tag), so that \
         data still on a wearable under their badge is thrown away when it docks. Adding the \
         same badge tag to the roster again lifts the tombstone. This cannot be undone: if they \
         asked for a copy, export it first.</p>\
         <label for=\"ro-delete-{row}\"><input id=\"ro-delete-{row}\" name=\"confirm\" \
         type=\"checkbox\" value=\"yes\" required> Yes, delete {label}'s data for good</label>\
         <button type=\"submit\" class=\"ro-danger\">Delete for good</button></form></details>"
    );
}

/// What a deletion did, in words for the page, naming the worker as the page did (`None`: the
/// page no longer listed them): `Ana's data is deleted for good (4,500 samples, …); …`.
pub(super) fn deleted_words(label: Option<&str>, deleted: &DeletedData) -> String {
    let things = pages::counted;
    let whose = label.map_or_else(|| "The worker's".to_owned(), |label| format!("{label}'s"));
    format!(
        "{whose} data is deleted for good ({}, {}, {}, {}); the audit entry and a tombstone \
         stay.",
        things(deleted.samples, "sample", "samples"),
        things(deleted.alerts, "alert", "alerts"),
        things(deleted.shift_reports, "shift report", "shift reports"),
        things(
            deleted.work_restrictions,
            "work restriction",
            "work restrictions"
        ),
    )
}

/// A labelled text field (`list` names a `<datalist>` of suggestions).
fn text_input(
    out: &mut String,
    id: &str,
    name: &str,
    label: &str,
    value: Option<&str>,
    max: usize,
    list: Option<&str>,
) {
    let list = list.map_or_else(String::new, |list| format!(" list=\"{list}\""));
    let _ = write!(
        out,
        "<label for=\"{id}\">{label}</label>\
         <input id=\"{id}\" name=\"{name}\" type=\"text\" maxlength=\"{max}\" \
         autocomplete=\"off\"{list} value=\"{}\">",
        Esc(value.unwrap_or(""))
    );
}

/// The task `<select>`: "(no task)" and the configured tasks; a worker's task that is no longer
/// configured stays listed (and chosen), so saving other details does not silently drop it.
fn task_select(out: &mut String, id: &str, tasks: &[String], current: Option<&str>) {
    let current = current.filter(|task| !task.is_empty());
    let _ = write!(
        out,
        "<label for=\"{id}\">Task</label><select id=\"{id}\" name=\"task\">\
         <option value=\"\"{}>(no task)</option>",
        selected(current.is_none())
    );
    for task in tasks {
        let _ = write!(
            out,
            "<option value=\"{0}\"{1}>{0}</option>",
            Esc(task),
            selected(current == Some(task.as_str()))
        );
    }
    if let Some(current) = current.filter(|current| !tasks.iter().any(|task| task == current)) {
        let _ = write!(
            out,
            "<option value=\"{0}\" selected>{0} (no longer configured)</option>",
            Esc(current)
        );
    }
    out.push_str("</select>");
}

fn add_worker(out: &mut String, roster: &Roster, form: Form<'_>) {
    out.push_str(
        "<section class=\"an-section\" aria-labelledby=\"ro-add\">\n\
         <h2 id=\"ro-add\">Add a worker</h2>\n",
    );
    form.open(out, API_WORKERS, "ro-form");
    let _ = write!(
        out,
        "<label for=\"ro-new-badge\">Badge tag</label>\
         <input id=\"ro-new-badge\" name=\"badge\" type=\"text\" required maxlength=\"{}\" \
         autocomplete=\"off\" aria-describedby=\"ro-new-badge-help\">\
         <p id=\"ro-new-badge-help\" class=\"ro-help\">As printed on the badge: 1 to 16 letters, \
         digits, spaces or punctuation marks.</p>",
        super::input::MAX_BADGE
    );
    text_input(
        out,
        "ro-new-name",
        "display_name",
        "Display name (optional)",
        None,
        super::input::MAX_NAME,
        None,
    );
    task_select(out, "ro-new-task", &roster.tasks, None);
    text_input(
        out,
        "ro-new-team",
        "team",
        "Team (optional)",
        None,
        super::input::MAX_TEAM,
        Some("ro-teams"),
    );
    out.push_str("<button type=\"submit\">Add worker</button></form>\n</section>\n");
}

/// The work restrictions: each with its limits, days and status, an edit form and "End now",
/// then the form recording a new one.
fn work_restrictions(out: &mut String, roster: &Roster, form: Form<'_>) {
    let _ = writeln!(
        out,
        "<section class=\"an-section\" aria-labelledby=\"ro-work-restrictions\">\n\
         <h2 id=\"ro-work-restrictions\">Work restrictions</h2>\n\
         <p class=\"an-note\">Limits for a worker returning to work: no deep bends, at most so \
         many lifts or bends an hour, no lifts in tasks over a load. Every shift that goes beyond a \
         work restriction in force is flagged on Today and on the worker's page, with what and \
         when. Work restrictions are health-related: only supervisors and administrators see \
         them, every view and change is audited, they never leave this dock, and each is deleted \
         for good {} days after its last day. Dates are the site's days; both ends are in \
         force. Record no reasons or diagnoses here: the limits are all the dock needs.</p>",
        roster.work_restrictions_kept_days
    );
    if roster.work_restrictions.is_empty() {
        out.push_str("<p class=\"an-empty\">No work restrictions.</p>\n");
    } else {
        out.push_str(
            "<div class=\"an-table-wrap\">\n<table class=\"an-table ro-table\">\n\
             <thead><tr><th scope=\"col\">Worker</th><th scope=\"col\">Limits</th>\
             <th scope=\"col\">From</th><th scope=\"col\">Until</th>\
             <th scope=\"col\">Status</th><th scope=\"col\">Change</th></tr></thead>\n<tbody>\n",
        );
        for (row, work_restriction) in roster.work_restrictions.iter().enumerate() {
            work_restriction_row(out, roster, work_restriction, row, form);
        }
        out.push_str("</tbody>\n</table>\n</div>\n");
    }
    if roster.workers.is_empty() {
        out.push_str("</section>\n");
        return;
    }
    out.push_str("<h3>Record a work restriction</h3>\n");
    // The worker is in the form's address: one folded form per worker (picking the address
    // from a list would need script).
    for (row, worker) in roster.workers.iter().enumerate() {
        let label = Esc(worker_label(worker));
        let _ = write!(
            out,
            "<details class=\"ro-edit\"><summary>For {label}</summary>"
        );
        form.open(
            out,
            &format!("{API_WORKERS}/{}{WORK_RESTRICTIONS_SUFFIX}", worker.id),
            "ro-form",
        );
        work_restriction_fields(
            out,
            &format!("ro-new-wr-{row}"),
            None,
            roster.today.as_deref(),
        );
        out.push_str("<button type=\"submit\">Record work restriction</button></form></details>\n");
    }
    out.push_str("</section>\n");
}

fn work_restriction_row(
    out: &mut String,
    roster: &Roster,
    work_restriction: &WorkRestriction,
    row: usize,
    form: Form<'_>,
) {
    let worker = match roster
        .workers
        .iter()
        .find(|worker| worker.id == work_restriction.worker)
    {
        Some(worker) => Esc(worker_label(worker)).to_string(),
        None => format!("worker {}", work_restriction.worker),
    };
    let today = roster.today.as_deref().unwrap_or("");
    let status = if work_restriction.in_force {
        "In force"
    } else if work_restriction.from_day.as_str() > today {
        "Not started yet"
    } else {
        "Ended"
    };
    let _ = write!(
        out,
        "<tr><th scope=\"row\">{worker}</th>\
         <td data-label=\"Limits\">{terms}</td>\
         <td data-label=\"From\"><time datetime=\"{from}\">{from}</time></td>\
         <td data-label=\"Until\"><time datetime=\"{until}\">{until}</time></td>\
         <td data-label=\"Status\">{status}</td>\
         <td data-label=\"Change\"><details class=\"ro-edit\"><summary>Edit\
         <span class=\"ro-hidden\"> work restriction {id}</span></summary>",
        terms = Esc(&work_restriction.terms),
        from = Esc(&work_restriction.from_day),
        until = Esc(&work_restriction.until_day),
        id = work_restriction.id,
    );
    let address = format!("{WORK_RESTRICTION_PREFIX}/{}", work_restriction.id);
    form.open(out, &address, "ro-form");
    work_restriction_fields(
        out,
        &format!("ro-wr-{row}"),
        Some(work_restriction),
        roster.today.as_deref(),
    );
    out.push_str("<button type=\"submit\">Save</button></form></details>");
    if status != "Ended" {
        form.open(out, &format!("{address}{END_SUFFIX}"), "ro-opt-out");
        let _ = write!(
            out,
            "<button type=\"submit\" class=\"ro-secondary\">End now\
             <span class=\"ro-hidden\"> work restriction {}</span></button></form>",
            work_restriction.id
        );
    }
    out.push_str("</td></tr>\n");
}

/// A work restriction's fields, filled from `current` (a new one starts `today`).
fn work_restriction_fields(
    out: &mut String,
    id: &str,
    current: Option<&WorkRestriction>,
    today: Option<&str>,
) {
    let number = |value: Option<String>| value.unwrap_or_default();
    let from = current.map_or(today.unwrap_or(""), |c| c.from_day.as_str());
    let until = current.map_or("", |c| c.until_day.as_str());
    let checked = if current.is_some_and(|c| c.no_deep_bends) {
        " checked"
    } else {
        ""
    };
    let _ = write!(
        out,
        "<label for=\"{id}-deep\"><input id=\"{id}-deep\" name=\"no_deep_bends\" \
         type=\"checkbox\"{checked}> No deep bends</label>\
         <label for=\"{id}-lifts\">At most … lifts an hour</label>\
         <input id=\"{id}-lifts\" name=\"max_lifts_per_hour\" type=\"number\" min=\"0\" \
         max=\"{per_hour_max}\" step=\"1\" value=\"{lifts}\">\
         <label for=\"{id}-bends\">At most … bends an hour</label>\
         <input id=\"{id}-bends\" name=\"max_bends_per_hour\" type=\"number\" min=\"0\" \
         max=\"{per_hour_max}\" step=\"1\" value=\"{bends}\">\
         <label for=\"{id}-load\">No lifts in tasks over (kg)</label>\
         <input id=\"{id}-load\" name=\"max_load_kg\" type=\"number\" min=\"0\" \
         max=\"{load_max}\" step=\"0.1\" value=\"{load}\">\
         <label for=\"{id}-from\">From</label>\
         <input id=\"{id}-from\" name=\"from_day\" type=\"date\" value=\"{from}\">\
         <label for=\"{id}-until\">Until (last day)</label>\
         <input id=\"{id}-until\" name=\"until_day\" type=\"date\" required value=\"{until}\">",
        per_hour_max = crate::rules::WORK_RESTRICTION_PER_HOUR_MAX,
        load_max = crate::rules::WORK_RESTRICTION_LOAD_MAX_KG,
        lifts = number(
            current
                .and_then(|c| c.max_lifts_per_hour)
                .map(|n| n.to_string())
        ),
        bends = number(
            current
                .and_then(|c| c.max_bends_per_hour)
                .map(|n| n.to_string())
        ),
        load = number(current.and_then(|c| c.max_load_kg).map(|kg| kg.to_string())),
        from = Esc(from),
        until = Esc(until),
    );
}

/// The team suggestions every team field offers.
fn teams_list(out: &mut String, teams: &[String]) {
    out.push_str("<datalist id=\"ro-teams\">");
    for team in teams {
        let _ = write!(out, "<option value=\"{}\">", Esc(team));
    }
    out.push_str("</datalist>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_calendar_dates() {
        assert_eq!(
            day(1_741_068_000_000),
            "<time datetime=\"2025-03-04\">2025-03-04</time>"
        );
        assert_eq!(day(0), "<time datetime=\"1970-01-01\">1970-01-01</time>");
        assert_eq!(day(-1), "<time datetime=\"1969-12-31\">1969-12-31</time>");
    }

    #[test]
    fn a_confirmation_comes_only_from_the_session_and_is_cut_to_length() {
        let summary = "wearable WR-1 & co assigned to worker 12";
        assert_eq!(
            Notice::for_view(None, Some(Notice::to_leave(summary))),
            Some(Notice::Done(summary.to_owned()))
        );
        let long = Notice::to_leave(&"a".repeat(500));
        assert_eq!(long.chars().count(), MAX_NOTICE);
        assert!(long.ends_with('…'));
        assert_eq!(Notice::to_leave("\u{1b}[2J ok\n"), "[2J ok");
        // Words in the address are never a confirmation.
        assert_eq!(
            Notice::for_view(Some("done=%3Cscript%3EBuy%20now"), None),
            None
        );
        assert_eq!(
            Notice::for_view(Some("done=&other=1"), Some(String::new())),
            None
        );
        assert_eq!(Notice::for_view(None, None), None);
    }

    #[test]
    fn a_problem_in_the_address_is_a_code_with_fixed_words_never_the_senders_words() {
        let location = Notice::problem_location("badge");
        assert_eq!(location, "/roster?problem=badge");
        let query = location.split_once('?').map(|(_, query)| query);
        assert_eq!(
            Notice::for_view(query, None),
            Some(Notice::Problem(input::BADGE_WORDS.into()))
        );
        // A problem wins over a confirmation; words that are no code get the fixed words.
        assert_eq!(
            Notice::for_view(
                Some("done=ok&problem=%3Cscript%3EBuy%20now"),
                Some("ok".to_owned())
            ),
            Some(Notice::Problem(input::UNKNOWN_PROBLEM.into()))
        );
    }
}
