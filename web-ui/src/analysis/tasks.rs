//! Tasks & hours: where risky movements concentrate, by task, by hour of day and by team, as
//! charts and tables, with the site's recommendations. Groups the daemon suppressed (too few
//! workers for this viewer) arrive without figures and are shown as "hidden", never estimated,
//! never drawn as zero.

use std::fmt::Write as _;

use axum::{http::StatusCode, response::Response};

use super::{
    charts::{self, AMBER, BLUE, Chart, Kind, PURPLE, Series},
    html::{Esc, Nav, hours, num, page as document, pct},
    view::{AdviceView, GroupFigures, GroupRow, HourRow, TasksAndHours},
};

/// `GET /tasks`: the whole page.
pub(super) fn page(data: &TasksAndHours, viewer: Option<crate::pages::Viewer<'_>>) -> Response {
    let mut out = String::new();
    out.push_str("<header class=\"an-head\"><h1>Tasks &amp; hours</h1>");
    match (&data.from_day, &data.to_day) {
        (Some(from), Some(to)) => {
            let _ = write!(
                out,
                "<p class=\"an-sub\">Shifts from {} to {}. Rates are per hour of wear.</p>",
                Esc(from),
                Esc(to)
            );
        }
        _ => out.push_str("<p class=\"an-sub\">No shifts have been analysed yet.</p>"),
    }
    let _ = writeln!(
        out,
        "<p class=\"an-note\">To protect privacy, figures of groups with fewer than {} workers are hidden.</p></header>",
        data.min_group_workers
    );
    site(&mut out, &data.site);

    let named: Vec<(String, Option<&GroupFigures>)> = data
        .tasks
        .iter()
        .map(|g| (g.name.clone(), g.figures.as_ref()))
        .collect();
    section(
        &mut out,
        "tasks",
        "By task",
        "Task",
        "Risky movements per hour in each task",
        &named,
    );
    groups_table(&mut out, "Task", &data.tasks, data.min_group_workers, false);
    out.push_str("</section>\n");

    let hourly: Vec<(String, Option<&GroupFigures>)> = data
        .hours
        .iter()
        .map(|h| (format!("{:02}", h.hour_of_day), h.figures.as_ref()))
        .collect();
    section(
        &mut out,
        "hours",
        "By hour of day",
        "Hour of day (site time, hour starting)",
        "Risky movements per hour of wear in each clock hour, over all days",
        &hourly,
    );
    hours_table(&mut out, &data.hours, data.min_group_workers);
    out.push_str("</section>\n");

    let teams: Vec<(String, Option<&GroupFigures>)> = data
        .teams
        .iter()
        .map(|g| (g.name.clone(), g.figures.as_ref()))
        .collect();
    section(
        &mut out,
        "teams",
        "By team",
        "Team",
        "Risky movements per hour in each team",
        &teams,
    );
    groups_table(&mut out, "Team", &data.teams, data.min_group_workers, true);
    out.push_str("</section>\n");

    advice(&mut out, &data.advice);
    document(StatusCode::OK, "Tasks & hours", Nav::Tasks, viewer, &out)
}

fn site(out: &mut String, site: &GroupRow) {
    out.push_str("<section class=\"an-section\" aria-labelledby=\"site-h\"><h2 id=\"site-h\">Whole site</h2>");
    match &site.figures {
        Some(f) => {
            let _ = writeln!(
                out,
                "<dl class=\"facts an-facts\"><div><dt>Workers</dt><dd>{}</dd></div>\
                 <div><dt>Shifts</dt><dd>{}</dd></div><div><dt>Worn</dt><dd>{}</dd></div>\
                 <div><dt>Bends per hour</dt><dd>{}</dd></div>\
                 <div><dt>Twists per hour</dt><dd>{}</dd></div>\
                 <div><dt>Reaches per hour</dt><dd>{}</dd></div>\
                 <div><dt>High-risk shifts</dt><dd>{}</dd></div></dl>",
                site.workers,
                site.shifts,
                hours(f.wear_h),
                num(f.per_hour.bends),
                num(f.per_hour.twists),
                num(f.per_hour.reaches),
                pct(f.high_risk_share)
            );
        }
        None => out.push_str("<p class=\"an-hidden\">Hidden: the site has fewer workers than the minimum group size.</p>"),
    }
    out.push_str("</section>\n");
}

/// Opens a section with its heading and a grouped bar chart (bends, twists, reaches per hour).
fn section(
    out: &mut String,
    id: &'static str,
    heading: &str,
    x_label: &str,
    title: &str,
    groups: &[(String, Option<&GroupFigures>)],
) {
    let _ = writeln!(
        out,
        "<section class=\"an-section\" aria-labelledby=\"{id}-h\"><h2 id=\"{id}-h\">{heading}</h2>"
    );
    if groups.is_empty() {
        out.push_str("<p class=\"an-empty\">No groups yet.</p>\n");
        return;
    }
    let series = |name: &str, colour, pick: fn(&GroupFigures) -> f64| Series {
        name: name.to_owned(),
        colour,
        values: groups.iter().map(|(_, f)| f.map(pick)).collect(),
    };
    let chart = Chart {
        id,
        title: title.to_owned(),
        desc: groups
            .iter()
            .map(|(name, figures)| match figures {
                Some(f) => format!(
                    "{name}: {} bends, {} twists, {} reaches per hour",
                    num(f.per_hour.bends),
                    num(f.per_hour.twists),
                    num(f.per_hour.reaches)
                ),
                None => format!("{name}: hidden"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        categories: groups.iter().map(|(name, _)| short(name)).collect(),
        x_label: x_label.to_owned(),
        y_label: "Movements per hour of wear".to_owned(),
        series: vec![
            series("Bends", BLUE, |f| f.per_hour.bends),
            series("Twists", AMBER, |f| f.per_hour.twists),
            series("Reaches", PURPLE, |f| f.per_hour.reaches),
        ],
        limit: None,
        missing: Some("hidden"),
        marks: Vec::new(),
    };
    out.push_str(&charts::render(&chart, Kind::Grouped));
}

/// A category label short enough for the chart's axis; the table has the full name.
fn short(name: &str) -> String {
    if name.chars().count() > 12 {
        let mut cut: String = name.chars().take(11).collect();
        cut.push('…');
        cut
    } else {
        name.to_owned()
    }
}

/// Why a group has no figures, in words.
fn hidden_text(workers: u32, min: u32) -> String {
    if workers < min {
        format!("Hidden: fewer than {min} workers")
    } else {
        format!("Hidden: showing it would reveal a group of fewer than {min} workers")
    }
}

const FIGURE_HEADINGS: &str = "<th scope=\"col\">Workers</th><th scope=\"col\">Bends per hour</th>\
     <th scope=\"col\">Deep bends per hour</th><th scope=\"col\">Twists per hour</th>\
     <th scope=\"col\">Reaches per hour</th><th scope=\"col\">Lifts per hour</th>\
     <th scope=\"col\">High-risk shifts</th>";

fn figure_cells(
    out: &mut String,
    workers: u32,
    figures: Option<&GroupFigures>,
    min: u32,
    alerts: bool,
) {
    match figures {
        Some(f) => {
            let _ = write!(
                out,
                "<td data-label=\"Workers\" class=\"an-num\">{workers}</td>\
                 <td data-label=\"Bends per hour\" class=\"an-num\">{}</td>\
                 <td data-label=\"Deep bends per hour\" class=\"an-num\">{}</td>\
                 <td data-label=\"Twists per hour\" class=\"an-num\">{}</td>\
                 <td data-label=\"Reaches per hour\" class=\"an-num\">{}</td>\
                 <td data-label=\"Lifts per hour\" class=\"an-num\">{}</td>\
                 <td data-label=\"High-risk shifts\" class=\"an-num\">{}</td>",
                num(f.per_hour.bends),
                num(f.per_hour.deep_bends),
                num(f.per_hour.twists),
                num(f.per_hour.reaches),
                num(f.per_hour.lifts),
                pct(f.high_risk_share)
            );
            if alerts {
                let _ = write!(
                    out,
                    "<td data-label=\"Alerts per worker-day\" class=\"an-num\">{}</td>",
                    f.alerts_per_day.map_or_else(|| "–".to_owned(), num)
                );
            }
        }
        None => {
            let _ = write!(
                out,
                "<td class=\"an-hidden\" colspan=\"{}\">{}</td>",
                if alerts { 8 } else { 7 },
                hidden_text(workers, min)
            );
        }
    }
}

fn groups_table(out: &mut String, what: &str, groups: &[GroupRow], min: u32, alerts: bool) {
    if groups.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<div class=\"an-table-wrap\"><table class=\"an-table\">\n<thead><tr><th scope=\"col\">{what}</th>{FIGURE_HEADINGS}{}</tr></thead>\n<tbody>\n",
        if alerts {
            "<th scope=\"col\">Alerts per worker-day</th>"
        } else {
            ""
        }
    );
    for group in groups {
        let _ = write!(
            out,
            "<tr><th scope=\"row\" data-label=\"{what}\">{}</th>",
            Esc(&group.name)
        );
        figure_cells(out, group.workers, group.figures.as_ref(), min, alerts);
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

fn hours_table(out: &mut String, rows: &[HourRow], min: u32) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<div class=\"an-table-wrap\"><table class=\"an-table\">\n<thead><tr><th scope=\"col\">Hour</th>{FIGURE_HEADINGS}</tr></thead>\n<tbody>\n"
    );
    for row in rows {
        let _ = write!(
            out,
            "<tr><th scope=\"row\" data-label=\"Hour\">{:02}:00–{:02}:00</th>",
            row.hour_of_day,
            (u32::from(row.hour_of_day) + 1) % 24
        );
        figure_cells(out, row.workers, row.figures.as_ref(), min, false);
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

fn advice(out: &mut String, advice: &[AdviceView]) {
    out.push_str("<section class=\"an-section\" aria-labelledby=\"advice-h\"><h2 id=\"advice-h\">Recommendations</h2>\n");
    if advice.is_empty() {
        out.push_str("<p class=\"an-empty\">No task, hour or team stands out from the site.</p>\n");
    } else {
        out.push_str("<ol class=\"an-advice\">");
        for item in advice {
            let _ = write!(
                out,
                "<li><p>{}</p><p class=\"an-sub\">Evidence: {}</p></li>",
                Esc(&item.text),
                Esc(&item.evidence)
            );
        }
        out.push_str("</ol>\n");
    }
    out.push_str("<p class=\"an-note\">These are workplace-design suggestions drawn from measured movements. They are not medical advice.</p>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::access::Role;
    use crate::analysis::{
        Viewer,
        fake::{Fake, get_as, json, sorted_keys},
    };

    #[tokio::test]
    async fn supervisors_see_small_groups_as_hidden_with_the_reason() {
        let fake = Fake::new();
        let (status, _, html) = get_as(fake.router(), "/tasks", Some(Role::Supervisor)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(fake.viewers_asked(), vec![Viewer::Supervisor]);
        assert!(html.contains("<h1>Tasks &amp; hours</h1>"));
        assert!(html.contains("fewer than 5 workers are hidden"));
        assert!(html.contains(
            "<tr><th scope=\"row\" data-label=\"Task\">Picking</th><td class=\"an-hidden\" colspan=\"7\">Hidden: fewer than 5 workers</td></tr>"
        ));
        assert!(html.contains("Hidden: showing it would reveal a group of fewer than 5 workers"));
        assert!(html.contains(
            "<tr><th scope=\"row\" data-label=\"Hour\">07:00–08:00</th><td class=\"an-hidden\""
        ));
        // In the charts too: the word, no bar.
        assert!(html.contains("<title>Picking: hidden</title>hidden</text>"));
        assert!(!html.contains("Picking, Bends"));
        assert!(html.contains("<title>Receiving, Bends: 24</title>"));
    }

    #[tokio::test]
    async fn admins_get_every_groups_figures_from_the_daemon() {
        let fake = Fake::new();
        let (_, _, html) = get_as(fake.router(), "/tasks", Some(Role::Admin)).await;
        assert_eq!(fake.viewers_asked(), vec![Viewer::Admin]);
        assert!(!html.contains("Hidden: fewer"));
        assert!(html.contains("<title>Picking, Bends: 31</title>"));
    }

    #[tokio::test]
    async fn charts_show_axes_units_and_legends_and_hostile_names_are_escaped() {
        let fake = Fake::new();
        let (_, _, html) = get_as(fake.router(), "/tasks", Some(Role::Supervisor)).await;
        for text in [
            ">Movements per hour of wear</text>",
            ">Hour of day (site time, hour starting)</text>",
            ">Task</text>",
            ">Team</text>",
            ">Bends</text>",
            ">Twists</text>",
            ">Reaches</text>",
            "<title id=\"hours-title\">",
        ] {
            assert!(html.contains(text), "missing {text}");
        }
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(!html.contains("<script"));
        assert!(html.contains("Evidence: 24 bends an hour in Receiving"));
    }

    #[tokio::test]
    async fn the_tasks_json_keeps_hidden_figures_null_with_stable_keys() {
        let fake = Fake::new();
        let (_, _, body) = get_as(
            fake.router(),
            "/api/v1/analysis/tasks",
            Some(Role::Supervisor),
        )
        .await;
        let value = json(&body);
        assert_eq!(
            sorted_keys(&value),
            [
                "advice",
                "from_day",
                "hours",
                "min_group_workers",
                "site",
                "tasks",
                "teams",
                "to_day"
            ]
        );
        assert_eq!(
            sorted_keys(&value["tasks"][0]),
            ["figures", "name", "shifts", "workers"]
        );
        assert_eq!(
            sorted_keys(&value["hours"][0]),
            ["figures", "hour_of_day", "shifts", "workers"]
        );
        assert_eq!(
            sorted_keys(&value["tasks"][0]["figures"]),
            ["alerts_per_day", "high_risk_share", "per_hour", "wear_h"]
        );
        assert_eq!(value["tasks"][1]["name"], "Picking");
        assert!(value["tasks"][1]["figures"].is_null());
    }

    #[test]
    fn long_names_are_cut_on_the_axis_only() {
        assert_eq!(short("Receiving"), "Receiving");
        assert_eq!(short("Loading outbound trucks"), "Loading out…");
    }
}
