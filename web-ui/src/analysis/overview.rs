//! The Today / shift overview: one row per worker with the day's risky movements per hour, time in
//! posture zones, alerts, and the risk level in words with its reasons; filtered by team and task
//! and sorted by plain links (no script). The same selection shapes the JSON. It must never show
//! anything but the daemon's `label` for a worker, nor put a name into markup or a URL unescaped.
//!
//! It also keeps the last few rendered answers ([`Rendered`]), each under the daemon's data
//! version, the day, the selection and the form (page or JSON). A kept page is only its title
//! and `<main>`: the shell with the viewer's navigation, name and CSRF token is put around it per
//! request. It must never keep an answer under a version read after the answer was built, never
//! keep anything about who asked, nor hand one out to a request that has not passed the role
//! check (the handlers check first).

use std::{
    cmp::Ordering,
    collections::VecDeque,
    fmt::Write as _,
    sync::{Arc, Mutex},
};

use axum::{
    body::Bytes,
    http::{StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use tokio::sync::OnceCell;

use crate::pages::Viewer;

use super::{
    charts::{zone_bar, zone_words},
    html::{Esc, Nav, counted, hours, num, risk_badge, seconds_from_ms, url},
    view::{Overview, WorkerRow},
};

/// What the table can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SortKey {
    Risk,
    Name,
    Bends,
    Twists,
    Reaches,
    Zones,
    Alerts,
    Response,
}

impl SortKey {
    const ALL: [SortKey; 8] = [
        SortKey::Risk,
        SortKey::Name,
        SortKey::Bends,
        SortKey::Twists,
        SortKey::Reaches,
        SortKey::Zones,
        SortKey::Alerts,
        SortKey::Response,
    ];

    fn as_str(self) -> &'static str {
        match self {
            SortKey::Risk => "risk",
            SortKey::Name => "name",
            SortKey::Bends => "bends",
            SortKey::Twists => "twists",
            SortKey::Reaches => "reaches",
            SortKey::Zones => "zones",
            SortKey::Alerts => "alerts",
            SortKey::Response => "response",
        }
    }

    fn parse(text: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|key| key.as_str() == text)
    }

    /// Names A–Z; everything else worst first.
    fn natural(self) -> Dir {
        match self {
            SortKey::Name => Dir::Asc,
            _ => Dir::Desc,
        }
    }

    /// The column heading.
    fn heading(self) -> &'static str {
        match self {
            SortKey::Risk => "Risk",
            SortKey::Name => "Worker",
            SortKey::Bends => "Bends per hour",
            SortKey::Twists => "Twists per hour",
            SortKey::Reaches => "Reaches per hour",
            SortKey::Zones => "Posture zones",
            SortKey::Alerts => "Alerts",
            SortKey::Response => "Median response",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dir {
    Asc,
    Desc,
}

impl Dir {
    fn as_str(self) -> &'static str {
        match self {
            Dir::Asc => "asc",
            Dir::Desc => "desc",
        }
    }
}

/// The filters and order asked for; unknown sort keys and directions fall back to the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Selection {
    pub(super) team: Option<String>,
    pub(super) task: Option<String>,
    pub(super) sort: SortKey,
    pub(super) dir: Dir,
}

impl Selection {
    pub(super) fn new(
        team: Option<String>,
        task: Option<String>,
        sort: Option<&str>,
        dir: Option<&str>,
    ) -> Selection {
        let sort = sort.and_then(SortKey::parse).unwrap_or(SortKey::Risk);
        let dir = match dir {
            Some("asc") => Dir::Asc,
            Some("desc") => Dir::Desc,
            _ => sort.natural(),
        };
        Selection {
            team: team.filter(|t| !t.is_empty()),
            task: task.filter(|t| !t.is_empty()),
            sort,
            dir,
        }
    }

    /// The query pairs of this selection on `day`, with the order replaced by `sort`/`dir`.
    fn link(&self, day: Option<&str>, sort: SortKey, dir: Dir) -> String {
        url(
            "/overview",
            &[
                ("day", day),
                ("team", self.team.as_deref()),
                ("task", self.task.as_deref()),
                ("sort", Some(sort.as_str())),
                ("dir", Some(dir.as_str())),
            ],
        )
    }
}

/// What an answer is rendered as: the page carries the site navigation for the viewer's role;
/// the JSON is the same for every role allowed to see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// The page's title and `<main>`: the same for every viewer (the shell around it, with the
    /// viewer's navigation and account bar, is added per request and never kept).
    Page,
    Json,
}

/// Everything a rendered answer depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Key {
    /// The daemon's [`AnalysisView::version`](super::AnalysisView::version), read before the
    /// answer was built.
    pub(super) version: u64,
    /// The day asked for (`None`: the latest day with shifts).
    pub(super) day: Option<String>,
    pub(super) selection: Selection,
    pub(super) form: Form,
}

/// A finished answer, handed out as cheap clones (the text is shared, not copied). It holds
/// nothing about who asked: no name, no role, no CSRF token.
#[derive(Debug, Clone)]
pub(super) enum Answer {
    /// The page's title and its `<main>` markup.
    Page { title: Arc<str>, main: Arc<str> },
    /// The JSON body.
    Json(Bytes),
}

impl Answer {
    /// The overview as `form`, from the day's data already filtered and sorted; `None` if the
    /// JSON cannot be written.
    pub(super) fn build(overview: &Overview, selection: &Selection, form: Form) -> Option<Answer> {
        match form {
            Form::Page => {
                let title = match &overview.day {
                    Some(day) => format!("Today · {day}"),
                    None => "Today".to_owned(),
                };
                Some(Answer::Page {
                    title: title.into(),
                    main: body(overview, selection).into(),
                })
            }
            Form::Json => serde_json::to_vec(overview)
                .ok()
                .map(|json| Answer::Json(json.into())),
        }
    }

    /// The answer for `viewer`: the page in the shell with their navigation and account bar
    /// (never cached by the browser), or the JSON.
    pub(super) fn response(&self, viewer: Option<Viewer<'_>>) -> Response {
        match self {
            Answer::Page { title, main } => {
                super::html::page(StatusCode::OK, title, Nav::Overview, viewer, main)
            }
            Answer::Json(json) => {
                ([(CONTENT_TYPE, "application/json")], json.clone()).into_response()
            }
        }
    }
}

/// How many rendered answers are kept: a few days, orders and both roles of one data version.
/// The page is ~250 kB for 200 workers, so this bounds the memory to a few MB.
pub(super) const RENDERED: usize = 16;

/// The last [`RENDERED`] answers, oldest first. Answers of another version are dropped as soon
/// as one of a new version is asked for: versions never come back.
pub(super) struct Rendered {
    slots: Mutex<VecDeque<(Key, Arc<OnceCell<Answer>>)>>,
}

impl Rendered {
    pub(super) fn new() -> Rendered {
        Rendered {
            slots: Mutex::new(VecDeque::with_capacity(RENDERED)),
        }
    }

    /// The slot for `key`: filled if the answer was rendered, else empty (the first request to
    /// fill it renders; requests arriving meanwhile wait for that one). Holds the lock only for
    /// a look-up in at most [`RENDERED`] keys, never while rendering.
    pub(super) fn slot(&self, key: Key) -> Arc<OnceCell<Answer>> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, slot)) = slots.iter().find(|(k, _)| *k == key) {
            return Arc::clone(slot);
        }
        slots.retain(|(k, _)| k.version == key.version);
        while slots.len() >= RENDERED {
            slots.pop_front();
        }
        let slot = Arc::new(OnceCell::new());
        slots.push_back((key, Arc::clone(&slot)));
        slot
    }

    /// How many answers are kept (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.slots.lock().map_or(0, |slots| slots.len())
    }
}

/// Keeps the rows of the selected team and task and puts them in the selected order. Ties are
/// broken by label and then id, so the order is stable from load to load.
pub(super) fn apply(overview: &mut Overview, selection: &Selection) {
    overview.workers.retain(|row| {
        selection
            .team
            .as_ref()
            .is_none_or(|team| row.team.as_ref() == Some(team))
            && selection
                .task
                .as_ref()
                .is_none_or(|task| row.tasks.contains(task))
    });
    overview.workers.sort_by(|a, b| {
        let primary = compare(a, b, selection.sort);
        let primary = match selection.dir {
            Dir::Asc => primary,
            Dir::Desc => primary.reverse(),
        };
        primary
            .then_with(|| by_name(a, b))
            .then_with(|| a.worker.cmp(&b.worker))
    });
}

fn by_name(a: &WorkerRow, b: &WorkerRow) -> Ordering {
    a.label.to_lowercase().cmp(&b.label.to_lowercase())
}

fn not_acceptable_share(row: &WorkerRow) -> f64 {
    let total = row.zones.total_s();
    if total > 0.0 {
        row.zones.not_acceptable_s / total
    } else {
        0.0
    }
}

/// Ascending comparison by `key`; risk ties go by bends, a missing response time sorts lowest.
fn compare(a: &WorkerRow, b: &WorkerRow, key: SortKey) -> Ordering {
    let float = |x: f64, y: f64| x.total_cmp(&y);
    match key {
        SortKey::Risk => a
            .risk_level
            .cmp(&b.risk_level)
            .then_with(|| float(a.per_hour.bends, b.per_hour.bends)),
        SortKey::Name => by_name(a, b),
        SortKey::Bends => float(a.per_hour.bends, b.per_hour.bends),
        SortKey::Twists => float(a.per_hour.twists, b.per_hour.twists),
        SortKey::Reaches => float(a.per_hour.reaches, b.per_hour.reaches),
        SortKey::Zones => float(not_acceptable_share(a), not_acceptable_share(b)),
        SortKey::Alerts => a.alerts.cmp(&b.alerts),
        SortKey::Response => a.median_response_ms.cmp(&b.median_response_ms),
    }
}

fn body(overview: &Overview, selection: &Selection) -> String {
    let mut out = String::new();
    let day = overview.day.as_deref();
    let _ = writeln!(
        out,
        "<header class=\"an-head\"><h1>Shift overview{}</h1>",
        day.map(|d| format!(" · {}", Esc(d))).unwrap_or_default()
    );
    // Day navigation keeps the filters and the order.
    let mut days = String::new();
    if let Some(previous) = &overview.previous_day {
        let _ = write!(
            days,
            "<a href=\"{}\" rel=\"prev\">← {}</a> ",
            Esc(&selection.link(Some(previous), selection.sort, selection.dir)),
            Esc(previous)
        );
    }
    if let Some(next) = &overview.next_day {
        let _ = write!(
            days,
            "<a href=\"{}\" rel=\"next\">{} →</a>",
            Esc(&selection.link(Some(next), selection.sort, selection.dir)),
            Esc(next)
        );
    }
    if !days.is_empty() {
        let _ = writeln!(
            out,
            "<nav class=\"an-days\" aria-label=\"Other days\">{days}</nav>"
        );
    }
    out.push_str("</header>\n");
    filters(&mut out, overview, selection);

    if overview.day.is_none() {
        out.push_str("<p class=\"an-empty\">No shifts have been analysed yet. Shifts appear here after the wearables are docked.</p>\n");
        return out;
    }
    if overview.workers.is_empty() {
        let filtered = selection.team.is_some() || selection.task.is_some();
        out.push_str(if filtered {
            "<p class=\"an-empty\">No worker of this day matches the chosen team and task.</p>\n"
        } else {
            "<p class=\"an-empty\">No shifts were analysed for this day.</p>\n"
        });
        return out;
    }
    let high = overview
        .workers
        .iter()
        .filter(|w| w.risk_level == super::view::RiskLevel::High)
        .count();
    let _ = writeln!(
        out,
        "<p class=\"an-summary\">{} shown, {} at high risk.</p>",
        counted(overview.workers.len() as u32, "worker", "workers"),
        high
    );
    let _ = writeln!(
        out,
        "<p class=\"an-key\">Posture zones (ISO 11226): \
         <span class=\"an-swatch\" data-zone=\"acceptable\"></span> acceptable, \
         <span class=\"an-swatch\" data-zone=\"conditional\"></span> conditional, \
         <span class=\"an-swatch\" data-zone=\"not-acceptable\"></span> not acceptable. \
         Rates are per hour of wear.</p>"
    );
    sort_links(&mut out, day, selection);
    out.push_str(
        "<div class=\"an-table-wrap\"><table class=\"an-table an-overview\">\n\
         <caption>Workers of the day; choose a column heading to sort by it</caption>\n<thead><tr>",
    );
    for key in [
        SortKey::Name,
        SortKey::Risk,
        SortKey::Bends,
        SortKey::Twists,
        SortKey::Reaches,
        SortKey::Zones,
        SortKey::Alerts,
        SortKey::Response,
    ] {
        header(&mut out, key, day, selection);
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &overview.workers {
        worker_row(&mut out, row);
    }
    out.push_str("</tbody></table></div>\n");
    out
}

/// The same orders as plain links, for narrow screens where the headings are hidden.
fn sort_links(out: &mut String, day: Option<&str>, selection: &Selection) {
    out.push_str("<nav class=\"an-sort\" aria-label=\"Sort workers\"><span>Sort by:</span>");
    for key in SortKey::ALL {
        let current = if selection.sort == key {
            " aria-current=\"true\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<a href=\"{}\"{current}>{}</a>",
            Esc(&selection.link(day, key, key.natural())),
            key.heading()
        );
    }
    out.push_str("</nav>\n");
}

/// A sortable column heading: a link that sorts by it (or flips the order when it is current).
fn header(out: &mut String, key: SortKey, day: Option<&str>, selection: &Selection) {
    let current = selection.sort == key;
    let (aria, arrow, next) = match (current, selection.dir) {
        (true, Dir::Asc) => (" aria-sort=\"ascending\"", " ↑", Dir::Desc),
        (true, Dir::Desc) => (" aria-sort=\"descending\"", " ↓", Dir::Asc),
        (false, _) => ("", "", key.natural()),
    };
    let _ = write!(
        out,
        "<th scope=\"col\"{aria}><a href=\"{}\">{}<span aria-hidden=\"true\">{arrow}</span></a></th>",
        Esc(&selection.link(day, key, next)),
        key.heading()
    );
}

fn worker_row(out: &mut String, row: &WorkerRow) {
    let mut context = Vec::new();
    if let Some(team) = &row.team {
        context.push(format!("Team {}", Esc(team)));
    }
    if !row.tasks.is_empty() {
        let tasks: Vec<String> = row.tasks.iter().map(|t| Esc(t).to_string()).collect();
        context.push(tasks.join(", "));
    }
    context.push(format!(
        "{} worn, {}",
        hours(row.wear_h),
        counted(row.shifts, "shift", "shifts")
    ));
    let _ = write!(
        out,
        "<tr data-level=\"{level}\">\
         <th scope=\"row\" data-label=\"Worker\"><a href=\"/workers/{id}\">{label}</a>\
         <span class=\"an-sub\">{context}</span></th>\
         <td data-label=\"Risk\">{badge}",
        level = row.risk_level.as_str(),
        id = row.worker,
        label = Esc(&row.label),
        context = context.join(" · "),
        badge = risk_badge(row.risk_level),
    );
    if !row.reasons.is_empty() {
        out.push_str("<ul class=\"an-reasons\">");
        for reason in &row.reasons {
            let _ = write!(out, "<li>{}</li>", Esc(reason));
        }
        out.push_str("</ul>");
    }
    super::html::work_restrictions_exceeded(out, &row.work_restrictions_exceeded);
    let _ = writeln!(
        out,
        "</td>\
         <td data-label=\"Bends per hour\" class=\"an-num\">{bends}\
         <span class=\"an-sub\">{deep} deep</span></td>\
         <td data-label=\"Twists per hour\" class=\"an-num\">{twists}</td>\
         <td data-label=\"Reaches per hour\" class=\"an-num\">{reaches}</td>\
         <td data-label=\"Posture zones\">{bar}<span class=\"an-sub\">{zones}</span></td>\
         <td data-label=\"Alerts\" class=\"an-num\">{alerts}</td>\
         <td data-label=\"Median response\" class=\"an-num\">{response}</td></tr>",
        bends = num(row.per_hour.bends),
        deep = num(row.per_hour.deep_bends),
        twists = num(row.per_hour.twists),
        reaches = num(row.per_hour.reaches),
        bar = zone_bar(&row.zones),
        zones = Esc(&zone_words(&row.zones)),
        alerts = row.alerts,
        response = row
            .median_response_ms
            .map_or_else(|| "none".to_owned(), seconds_from_ms),
    );
}

/// The filter form: day, team, task; the order travels along as hidden fields.
fn filters(out: &mut String, overview: &Overview, selection: &Selection) {
    let _ = write!(
        out,
        "<form class=\"an-filters\" method=\"get\" action=\"/overview\">\
         <label>Day <input type=\"date\" name=\"day\" value=\"{}\"></label>",
        Esc(overview.day.as_deref().unwrap_or(""))
    );
    select(
        out,
        "Team",
        "team",
        "All teams",
        &overview.teams,
        selection.team.as_deref(),
    );
    select(
        out,
        "Task",
        "task",
        "All tasks",
        &overview.tasks,
        selection.task.as_deref(),
    );
    let _ = writeln!(
        out,
        "<input type=\"hidden\" name=\"sort\" value=\"{}\">\
         <input type=\"hidden\" name=\"dir\" value=\"{}\">\
         <button type=\"submit\">Show</button></form>",
        selection.sort.as_str(),
        selection.dir.as_str()
    );
}

fn select(
    out: &mut String,
    label: &str,
    name: &str,
    all: &str,
    options: &[String],
    chosen: Option<&str>,
) {
    let _ = write!(
        out,
        "<label>{label} <select name=\"{name}\"><option value=\"\">{all}</option>"
    );
    for option in options {
        let selected = if chosen == Some(option.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<option value=\"{}\"{selected}>{}</option>",
            Esc(option),
            Esc(option)
        );
    }
    out.push_str("</select></label>");
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::access::Role;
    use crate::analysis::fake::{Fake, get_as, json, overview, sorted_keys};

    fn labels(overview: &Overview) -> Vec<&str> {
        overview.workers.iter().map(|w| w.label.as_str()).collect()
    }

    #[test]
    fn the_default_order_is_highest_risk_first_then_most_bends() {
        let mut data = overview();
        apply(&mut data, &Selection::new(None, None, None, None));
        assert_eq!(
            labels(&data),
            ["Anna K.", "<script>alert(1)</script>", "B-7F3A", "Chris M."]
        );
    }

    #[test]
    fn sorting_by_name_is_a_to_z_and_can_be_reversed() {
        let mut data = overview();
        apply(&mut data, &Selection::new(None, None, Some("name"), None));
        assert_eq!(
            labels(&data),
            ["<script>alert(1)</script>", "Anna K.", "B-7F3A", "Chris M."]
        );
        apply(
            &mut data,
            &Selection::new(None, None, Some("name"), Some("desc")),
        );
        assert_eq!(labels(&data)[0], "Chris M.");
    }

    #[test]
    fn sorting_by_response_puts_the_slowest_first_and_unknown_last() {
        let mut data = overview();
        apply(
            &mut data,
            &Selection::new(None, None, Some("response"), None),
        );
        assert_eq!(labels(&data)[0], "Chris M.");
        assert_eq!(labels(&data)[3], "B-7F3A");
    }

    #[test]
    fn filters_keep_only_the_team_and_the_task_asked_for() {
        let mut data = overview();
        apply(
            &mut data,
            &Selection::new(Some("Receiving team".to_owned()), None, None, None),
        );
        assert_eq!(labels(&data), ["Anna K.", "B-7F3A"]);
        let mut data = overview();
        apply(
            &mut data,
            &Selection::new(None, Some("Picking".to_owned()), Some("name"), None),
        );
        assert_eq!(labels(&data), ["<script>alert(1)</script>", "Chris M."]);
    }

    #[test]
    fn unknown_sort_words_fall_back_to_the_default() {
        let selection = Selection::new(None, None, Some("'; drop"), Some("sideways"));
        assert_eq!(selection.sort, SortKey::Risk);
        assert_eq!(selection.dir, Dir::Desc);
    }

    #[tokio::test]
    async fn the_page_shows_each_worker_with_rates_zones_alerts_and_risk_in_words() {
        let fake = Fake::new();
        let (status, _, html) = get_as(fake.router(), "/overview", Some(Role::Supervisor)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<h1>Shift overview · 2025-03-04</h1>"));
        assert!(html.contains("<a href=\"/workers/12\">Anna K.</a>"));
        assert!(html.contains("<span class=\"an-risk\" data-level=\"high\">High risk</span>"));
        assert!(html.contains("<li>41 bends an hour, above the limit of 30</li>"));
        assert!(html.contains("class=\"an-num\">41<span class=\"an-sub\">12 deep</span>"));
        assert!(
            html.contains("Posture zones: 70% acceptable, 20% conditional, 10% not acceptable")
        );
        assert!(html.contains("<td data-label=\"Median response\" class=\"an-num\">1.8 s</td>"));
        assert!(html.contains("<td data-label=\"Median response\" class=\"an-num\">none</td>"));
        assert!(html.contains("4 workers shown, 2 at high risk."));
        // The badge pseudonym the daemon chose is shown as given; no tag field exists to leak.
        assert!(html.contains(">B-7F3A</a>"));
        assert_eq!(html.matches("<tr data-level=").count(), 4);
        // Day navigation.
        assert!(
            html.contains(
                "href=\"/overview?day=2025-03-03&amp;sort=risk&amp;dir=desc\" rel=\"prev\""
            )
        );
    }

    #[tokio::test]
    async fn a_day_beyond_a_work_restriction_is_flagged_on_today_and_in_its_json() {
        let fake = Fake::new();
        let (status, _, html) = get_as(fake.router(), "/overview", Some(Role::Supervisor)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            html.matches("<ul class=\"an-work-restriction\">").count(),
            1,
            "only the worker beyond hers"
        );
        assert!(html.contains(
            "<strong>Beyond the work restriction:</strong> 14 lifts in the hour 10:00–11:00 \
             (limit 10) — 10:00–11:00"
        ));
        let (_, _, body) = get_as(
            fake.router(),
            "/api/v1/analysis/overview",
            Some(Role::Supervisor),
        )
        .await;
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        let flagged: Vec<i64> = value["workers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|row| {
                !row["work_restrictions_exceeded"]
                    .as_array()
                    .unwrap()
                    .is_empty()
            })
            .map(|row| row["worker"].as_i64().unwrap())
            .collect();
        assert_eq!(flagged, [12]);
    }

    #[tokio::test]
    async fn hostile_labels_teams_and_tasks_are_escaped_everywhere() {
        let fake = Fake::new();
        let (_, _, html) = get_as(
            fake.router(),
            "/overview?team=%3Cb%3E%26x&sort=name",
            Some(Role::Admin),
        )
        .await;
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<b>"));
        assert!(!html.contains("<img"));
        // The filter travels percent-encoded in links, never as markup.
        assert!(html.contains("team=%3Cb%3E%26x"));
        assert!(html.contains("No worker of this day matches"));
        let (_, _, html) = get_as(fake.router(), "/overview", Some(Role::Admin)).await;
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains(
            "<option value=\"&quot;&gt;&lt;img src=x&gt;\">&quot;&gt;&lt;img src=x&gt;</option>"
        ));
        assert!(!html.contains("<script"));
        assert!(!html.contains(" style="));
    }

    #[tokio::test]
    async fn headings_are_sort_links_that_keep_the_filters_and_flip_the_current_order() {
        let fake = Fake::new();
        let (_, _, html) = get_as(
            fake.router(),
            "/overview?day=2025-03-04&team=Receiving+team&sort=bends",
            Some(Role::Supervisor),
        )
        .await;
        assert!(html.contains(
            "<th scope=\"col\" aria-sort=\"descending\"><a href=\"/overview?day=2025-03-04&amp;team=Receiving%20team&amp;sort=bends&amp;dir=asc\">Bends per hour"
        ));
        assert!(html.contains(
            "<th scope=\"col\"><a href=\"/overview?day=2025-03-04&amp;team=Receiving%20team&amp;sort=name&amp;dir=asc\">Worker"
        ));
        assert!(html.contains("<option value=\"Receiving team\" selected>"));
        assert_eq!(html.matches("<tr data-level=").count(), 2);
        let anna = html.find(">Anna K.<").unwrap_or(usize::MAX);
        let badge = html.find(">B-7F3A<").unwrap_or(0);
        assert!(anna < badge, "Anna (41 bends/h) before B-7F3A");
    }

    #[tokio::test]
    async fn an_empty_filter_result_and_an_empty_site_say_so_in_words() {
        let fake = Fake::new();
        let (_, _, html) = get_as(
            fake.router(),
            "/overview?task=Nothing",
            Some(Role::Supervisor),
        )
        .await;
        assert!(html.contains("No worker of this day matches the chosen team and task."));
        fake.set_empty();
        let (_, _, html) = get_as(fake.router(), "/overview", Some(Role::Supervisor)).await;
        assert!(html.contains("No shifts have been analysed yet."));
        assert!(!html.contains("<table"));
    }

    #[tokio::test]
    async fn the_json_is_filtered_and_sorted_the_same_way_with_stable_keys() {
        let fake = Fake::new();
        let (status, _, body) = get_as(
            fake.router(),
            "/api/v1/analysis/overview?task=Picking&sort=name",
            Some(Role::Supervisor),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let value = json(&body);
        let keys = sorted_keys;
        assert_eq!(
            keys(&value),
            [
                "day",
                "next_day",
                "previous_day",
                "tasks",
                "teams",
                "workers"
            ]
        );
        let row = &value["workers"][0];
        assert_eq!(
            keys(row),
            [
                "alerts",
                "label",
                "median_response_ms",
                "per_hour",
                "reasons",
                "risk_level",
                "shifts",
                "tasks",
                "team",
                "wear_h",
                "work_restrictions_exceeded",
                "worker",
                "zones"
            ]
        );
        assert_eq!(
            keys(&row["per_hour"]),
            [
                "bends",
                "deep_bends",
                "lateral_bends",
                "lifts",
                "reaches",
                "twists"
            ]
        );
        assert_eq!(
            keys(&row["zones"]),
            ["acceptable_s", "conditional_s", "not_acceptable_s"]
        );
        assert_eq!(row["label"], "<script>alert(1)</script>");
        assert_eq!(row["risk_level"], "high");
        assert_eq!(value["workers"].as_array().map(Vec::len), Some(2));
    }
}
