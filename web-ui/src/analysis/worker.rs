//! One worker's page: shifts over time (bends per hour, bar colour and letter by risk level), the
//! chosen shift hour by hour (risky movements and posture zones), the trend across weeks, progress
//! toward the daily goal, and the analysis's recommendations with their evidence. It must never
//! show anything but the daemon's `label` for the worker (the site's audit layer records every
//! answered view before the answer leaves).

use std::fmt::Write as _;

use axum::{http::StatusCode, response::Response};

use super::{
    charts::{self, AMBER, BLUE, Chart, FAIR, GOOD, Kind, POOR, PURPLE, Series, TEAL},
    html::{Esc, Nav, counted, hours, limit, num, page as document, risk_badge, seconds_from_ms},
    view::{GoalView, RiskLevel, ShiftDetail, ShiftSummary, WeekPoint, WeekTrend, WorkerDetail},
};
use crate::pages::Viewer;

/// What every page showing advice says once.
const NOT_MEDICAL: &str = "These are workplace-design suggestions drawn from measured movements. \
                           They are not medical advice.";

/// `GET /workers/{id}`: the whole page.
pub(super) fn page(detail: &WorkerDetail, viewer: Option<Viewer<'_>>) -> Response {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<header class=\"an-head\"><p class=\"an-back\"><a href=\"/overview\">← Shift overview</a></p>\
         <h1>{}</h1>{}</header>",
        Esc(&detail.label),
        detail
            .team
            .as_ref()
            .map(|team| format!("<p class=\"an-sub\">Team {}</p>", Esc(team)))
            .unwrap_or_default()
    );
    work_restrictions(&mut out, detail);
    history(&mut out, detail);
    if let Some(shift) = &detail.shift {
        shift_section(&mut out, shift);
    }
    trend(&mut out, &detail.weeks, detail.trend.as_ref());
    if let Some(goal) = &detail.goal {
        goal_section(&mut out, goal);
    }
    advice(&mut out, &detail.advice);
    document(StatusCode::OK, &detail.label, Nav::Other, viewer, &out)
}

/// The worker's work restrictions (health-related: this page is for supervisors and admins only)
/// and which of the listed shifts went beyond them; recorded and changed on the Roster.
fn work_restrictions(out: &mut String, detail: &WorkerDetail) {
    if detail.work_restrictions.is_empty() {
        return;
    }
    out.push_str(
        "<section class=\"an-section\" aria-labelledby=\"work-restrictions-h\">\n\
         <h2 id=\"work-restrictions-h\">Work restrictions</h2>\n<ul class=\"an-reasons\">",
    );
    for item in &detail.work_restrictions {
        let status = if item.in_force {
            "in force"
        } else {
            "not in force today"
        };
        let _ = write!(
            out,
            "<li>{terms} — from <time datetime=\"{from}\">{from}</time> until \
             <time datetime=\"{until}\">{until}</time> ({status})</li>",
            terms = Esc(&item.terms),
            from = Esc(&item.from_day),
            until = Esc(&item.until_day),
        );
    }
    out.push_str("</ul>\n");
    let beyond: Vec<&ShiftSummary> = detail
        .shifts
        .iter()
        .filter(|s| !s.work_restrictions_exceeded.is_empty())
        .collect();
    if beyond.is_empty() {
        out.push_str(
            "<p class=\"an-note\">No shift listed here went beyond a work restriction.</p>\n",
        );
    } else {
        for shift in beyond.iter().rev() {
            let _ = write!(
                out,
                "<p class=\"an-note\"><a href=\"/workers/{worker}?shift={start}\">{day}, \
                 {from}–{to}</a></p>",
                worker = detail.worker,
                start = shift.start_ms,
                day = Esc(&shift.local_day),
                from = Esc(&shift.start_time),
                to = Esc(&shift.end_time),
            );
            super::html::work_restrictions_exceeded(out, &shift.work_restrictions_exceeded);
        }
    }
    out.push_str(
        "<p class=\"an-note\">Work restrictions are recorded, changed and ended on the \
         <a href=\"/roster\">Roster</a>.</p>\n</section>\n",
    );
}

fn level_colour(level: RiskLevel) -> &'static str {
    match level {
        RiskLevel::Low => GOOD,
        RiskLevel::Medium => FAIR,
        RiskLevel::High => POOR,
    }
}

fn level_letter(level: RiskLevel) -> &'static str {
    match level {
        RiskLevel::Low => "L",
        RiskLevel::Medium => "M",
        RiskLevel::High => "H",
    }
}

/// Shifts over time: a bar per shift (bends per hour), coloured and lettered by level, and the
/// same shifts as a table whose rows choose the shift shown below.
fn history(out: &mut String, detail: &WorkerDetail) {
    out.push_str("<section class=\"an-section\" aria-labelledby=\"shifts-h\">\n<h2 id=\"shifts-h\">Shifts over time</h2>\n");
    if detail.shifts.is_empty() {
        out.push_str("<p class=\"an-empty\">No analysed shifts yet.</p>\n</section>\n");
        return;
    }
    let shifts = &detail.shifts;
    let levels = [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High];
    let chart = Chart {
        id: "shifts",
        title: "Bends per hour in each shift, with its risk level".to_owned(),
        desc: shifts
            .iter()
            .map(|s| {
                format!(
                    "{} {}: {} bends per hour, {}",
                    s.local_day,
                    s.start_time,
                    num(s.per_hour.bends),
                    s.risk_level.words().to_lowercase()
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        categories: shifts.iter().map(|s| short_day(&s.local_day)).collect(),
        x_label: "Day of the shift (month-day)".to_owned(),
        y_label: "Bends per hour of wear".to_owned(),
        series: levels
            .iter()
            .map(|level| Series {
                name: format!("{} ({})", level.words(), level_letter(*level)),
                colour: level_colour(*level),
                values: shifts
                    .iter()
                    .map(|s| (s.risk_level == *level).then_some(s.per_hour.bends))
                    .collect(),
            })
            .collect(),
        limit: None,
        missing: None,
        marks: shifts
            .iter()
            .map(|s| Some(level_letter(s.risk_level).to_owned()))
            .collect(),
    };
    out.push_str(&charts::render(&chart, Kind::Stacked));
    let chosen = detail.shift.as_ref().map(|s| s.summary.start_ms);
    out.push_str(
        "<div class=\"an-table-wrap\"><table class=\"an-table\">\n<caption>Shifts; choose one to see it hour by hour</caption>\n\
         <thead><tr><th scope=\"col\">Shift</th><th scope=\"col\">Risk</th>\
         <th scope=\"col\">Worn</th><th scope=\"col\">Bends per hour</th>\
         <th scope=\"col\">Twists per hour</th><th scope=\"col\">Alerts</th></tr></thead>\n<tbody>\n",
    );
    for shift in shifts.iter().rev() {
        shift_row(out, detail.worker, shift, chosen == Some(shift.start_ms));
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

fn shift_row(out: &mut String, worker: i64, shift: &ShiftSummary, chosen: bool) {
    let current = if chosen { " aria-current=\"true\"" } else { "" };
    let _ = writeln!(
        out,
        "<tr><th scope=\"row\" data-label=\"Shift\"><a href=\"/workers/{worker}?shift={start}\"{current}>{day}, {from}–{to}</a></th>\
         <td data-label=\"Risk\">{badge}</td><td data-label=\"Worn\">{worn}</td>\
         <td data-label=\"Bends per hour\" class=\"an-num\">{bends}</td>\
         <td data-label=\"Twists per hour\" class=\"an-num\">{twists}</td>\
         <td data-label=\"Alerts\" class=\"an-num\">{alerts}</td></tr>",
        start = shift.start_ms,
        day = Esc(&shift.local_day),
        from = Esc(&shift.start_time),
        to = Esc(&shift.end_time),
        badge = risk_badge(shift.risk_level),
        worn = hours(shift.wear_h),
        bends = num(shift.per_hour.bends),
        twists = num(shift.per_hour.twists),
        alerts = shift.alerts,
    );
}

/// `2025-03-04` → `03-04`; anything else as given (the renderer escapes it).
fn short_day(day: &str) -> String {
    day.get(5..)
        .filter(|_| day.len() == 10)
        .unwrap_or(day)
        .to_owned()
}

/// The chosen shift: level and reasons, facts, movements by hour, posture zones.
fn shift_section(out: &mut String, shift: &ShiftDetail) {
    let s = &shift.summary;
    let _ = writeln!(
        out,
        "<section class=\"an-section\" aria-labelledby=\"shift-h\">\n\
         <h2 id=\"shift-h\">Shift on {day}, {from}–{to}</h2>\n<p>{badge}</p>",
        day = Esc(&s.local_day),
        from = Esc(&s.start_time),
        to = Esc(&s.end_time),
        badge = risk_badge(s.risk_level),
    );
    super::html::work_restrictions_exceeded(out, &s.work_restrictions_exceeded);
    if !shift.reasons.is_empty() {
        out.push_str("<ul class=\"an-reasons\">");
        for reason in &shift.reasons {
            let _ = write!(out, "<li>{}</li>", Esc(reason));
        }
        out.push_str("</ul>\n");
    }
    let _ = writeln!(
        out,
        "<dl class=\"facts an-facts\"><div><dt>Worn</dt><dd>{}</dd></div>\
         <div><dt>Alerts</dt><dd>{}, {} never corrected</dd></div>\
         <div><dt>Median response</dt><dd>{}</dd></div>\
         <div><dt>Posture zones</dt><dd>{}</dd></div></dl>",
        hours(s.wear_h),
        counted(s.alerts, "alert", "alerts"),
        shift.uncorrected_alerts,
        shift
            .median_response_ms
            .map_or_else(|| "no corrected alerts".to_owned(), seconds_from_ms),
        Esc(&charts::zone_words(&shift.zones)),
    );
    out.push_str(&charts::zone_bar(&shift.zones));
    let hours_axis: Vec<String> = shift
        .hours
        .iter()
        .map(|h| format!("{:02}", h.hour_of_day))
        .collect();
    let x_label = "Hour of day (site time, hour starting)".to_owned();
    let movement = |name: &str, colour, pick: fn(&super::view::HourPoint) -> u32| Series {
        name: name.to_owned(),
        colour,
        values: shift
            .hours
            .iter()
            .map(|h| Some(f64::from(pick(h))))
            .collect(),
    };
    let chart = Chart {
        id: "hours",
        title: "Risky movements in each hour of the shift".to_owned(),
        desc: shift
            .hours
            .iter()
            .map(|h| {
                format!(
                    "{:02}:00: {} bends ({} deep), {} twists, {} reaches, {} sideways bends",
                    h.hour_of_day, h.bends, h.deep_bends, h.twists, h.reaches, h.lateral_bends
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        categories: hours_axis.clone(),
        x_label: x_label.clone(),
        y_label: "Movements (count in the hour)".to_owned(),
        series: vec![
            movement("Bends", BLUE, |h| h.bends),
            movement("Twists", AMBER, |h| h.twists),
            movement("Reaches", PURPLE, |h| h.reaches),
            movement("Sideways bends", TEAL, |h| h.lateral_bends),
        ],
        limit: None,
        missing: None,
        marks: Vec::new(),
    };
    out.push_str(&charts::render(&chart, Kind::Stacked));
    if !shift.hours.is_empty() && shift.hours.iter().all(|h| h.zones.is_some()) {
        let zone = |name: &str, colour, pick: fn(&super::view::PostureZones) -> f64| Series {
            name: name.to_owned(),
            colour,
            values: shift
                .hours
                .iter()
                .map(|h| h.zones.as_ref().map(|z| pick(z) / 60.0))
                .collect(),
        };
        let chart = Chart {
            id: "zones",
            title: "Minutes in each posture zone, hour by hour".to_owned(),
            desc: shift
                .hours
                .iter()
                .filter_map(|h| {
                    h.zones
                        .as_ref()
                        .map(|z| format!("{:02}:00: {}", h.hour_of_day, charts::zone_words(z)))
                })
                .collect::<Vec<_>>()
                .join("; "),
            categories: hours_axis,
            x_label,
            y_label: "Minutes of wear".to_owned(),
            series: vec![
                zone("Acceptable", GOOD, |z| z.acceptable_s),
                zone("Conditional", FAIR, |z| z.conditional_s),
                zone("Not acceptable", POOR, |z| z.not_acceptable_s),
            ],
            limit: None,
            missing: None,
            marks: Vec::new(),
        };
        out.push_str(&charts::render(&chart, Kind::Stacked));
    }
    out.push_str("</section>\n");
}

/// Weekly lines and this week against last week in a table.
fn trend(out: &mut String, weeks: &[WeekPoint], trend: Option<&WeekTrend>) {
    out.push_str("<section class=\"an-section\" aria-labelledby=\"trend-h\">\n<h2 id=\"trend-h\">Trend across weeks</h2>\n");
    if weeks.len() >= 2 {
        let line = |name: &str, colour, pick: fn(&super::view::Rates) -> f64| Series {
            name: name.to_owned(),
            colour,
            values: weeks
                .iter()
                .map(|w| w.per_hour.as_ref().map(pick))
                .collect(),
        };
        let chart = Chart {
            id: "weeks",
            title: "Risky movements per hour, week by week".to_owned(),
            desc: weeks
                .iter()
                .map(|w| match &w.per_hour {
                    Some(r) => format!(
                        "{}: {} bends, {} twists, {} reaches per hour",
                        w.week,
                        num(r.bends),
                        num(r.twists),
                        num(r.reaches)
                    ),
                    None => format!("{}: no wear", w.week),
                })
                .collect::<Vec<_>>()
                .join("; "),
            categories: weeks.iter().map(|w| short_week(&w.week)).collect(),
            x_label: "Week (ISO week number)".to_owned(),
            y_label: "Movements per hour of wear".to_owned(),
            series: vec![
                line("Bends", BLUE, |r| r.bends),
                line("Twists", AMBER, |r| r.twists),
                line("Reaches", PURPLE, |r| r.reaches),
            ],
            limit: None,
            missing: None,
            marks: Vec::new(),
        };
        out.push_str(&charts::render(&chart, Kind::Line));
    }
    match trend {
        Some(trend) => {
            let _ = writeln!(
                out,
                "<div class=\"an-table-wrap\"><table class=\"an-table\">\n\
                 <caption>Week {} compared with week {}</caption>\n<thead><tr>\
                 <th scope=\"col\">Figure</th><th scope=\"col\">This week</th>\
                 <th scope=\"col\">Last week</th><th scope=\"col\">Change</th></tr></thead>\n<tbody>",
                Esc(&trend.week),
                Esc(&trend.previous)
            );
            for row in &trend.rows {
                let change = match row.change_pct {
                    Some(p) if p.abs() < 0.5 => "about the same".to_owned(),
                    Some(p) if p > 0.0 => format!("up {}%", num(p)),
                    Some(p) => format!("down {}%", num(-p)),
                    None => "no figure last week".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "<tr><th scope=\"row\" data-label=\"Figure\">{}</th>\
                     <td data-label=\"This week\" class=\"an-num\">{}</td>\
                     <td data-label=\"Last week\" class=\"an-num\">{}</td>\
                     <td data-label=\"Change\">{}</td></tr>",
                    Esc(&row.label),
                    num(row.this_week),
                    num(row.last_week),
                    change
                );
            }
            out.push_str("</tbody></table></div>\n");
        }
        None => out.push_str(
            "<p class=\"an-empty\">A comparison appears once there are shifts in this week and the week before.</p>\n",
        ),
    }
    out.push_str("</section>\n");
}

/// `2025-W10` → `W10`.
fn short_week(week: &str) -> String {
    week.find('W')
        .and_then(|at| week.get(at..))
        .unwrap_or(week)
        .to_owned()
}

fn goal_section(out: &mut String, goal: &GoalView) {
    let _ = writeln!(
        out,
        "<section class=\"an-section\" aria-labelledby=\"goal-h\">\n\
         <h2 id=\"goal-h\">Goal: {}</h2>\n<p>Met on {} of {}. Current streak: {}; best: {}.</p>",
        Esc(&goal.description),
        goal.days_met,
        counted(goal.days_total, "day", "days"),
        counted(goal.current_streak, "day", "days"),
        counted(goal.best_streak, "day", "days"),
    );
    if !goal.days.is_empty() {
        let series = |met: bool, name: &str, colour| Series {
            name: name.to_owned(),
            colour,
            values: goal
                .days
                .iter()
                .map(|d| (d.met == met).then_some(d.value))
                .collect(),
        };
        let chart = Chart {
            id: "goal",
            title: format!("Goal: {}", goal.description),
            desc: goal
                .days
                .iter()
                .map(|d| {
                    format!(
                        "{}: {} {}, {}",
                        d.day,
                        num(d.value),
                        goal.unit,
                        if d.met { "met" } else { "not met" }
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            categories: goal.days.iter().map(|d| short_day(&d.day)).collect(),
            x_label: "Day (month-day)".to_owned(),
            y_label: format!("{} a day", capitalised(&goal.unit)),
            series: vec![
                series(true, "Met (✓)", GOOD),
                series(false, "Not met (✗)", POOR),
            ],
            limit: goal
                .limit
                .map(|value| (value, format!("Goal: below {}", limit(value)))),
            missing: None,
            marks: goal
                .days
                .iter()
                .map(|d| Some(if d.met { "✓" } else { "✗" }.to_owned()))
                .collect(),
        };
        out.push_str(&charts::render(&chart, Kind::Stacked));
    }
    out.push_str("</section>\n");
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn advice(out: &mut String, advice: &[super::view::AdviceView]) {
    out.push_str("<section class=\"an-section\" aria-labelledby=\"advice-h\">\n<h2 id=\"advice-h\">Recommendations</h2>\n");
    if advice.is_empty() {
        out.push_str("<p class=\"an-empty\">Nothing stands out in this shift.</p>\n");
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
    let _ = writeln!(out, "<p class=\"an-note\">{NOT_MEDICAL}</p>\n</section>");
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::access::Role;
    use crate::analysis::fake::{Fake, get_as, json, sorted_keys};

    #[tokio::test]
    async fn the_worker_page_shows_history_shift_trend_goal_and_advice() {
        let fake = Fake::new();
        let (status, _, html) = get_as(fake.router(), "/workers/12", Some(Role::Supervisor)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<h1>Anna K.</h1>"));
        assert!(html.contains("<h2 id=\"shifts-h\">Shifts over time</h2>"));
        // The latest shift is chosen when none is asked for.
        assert!(html.contains("<h2 id=\"shift-h\">Shift on 2025-03-04, 06:00–14:00</h2>"));
        assert!(html.contains("aria-current=\"true\">2025-03-04, 06:00–14:00</a>"));
        assert!(html.contains("<li>41 bends an hour, above the limit of 30</li>"));
        assert!(html.contains("<dt>Median response</dt><dd>1.8 s</dd>"));
        assert!(html.contains("<h2 id=\"goal-h\">Goal: stay below 5 alerts a day</h2>"));
        assert!(html.contains("Met on 3 of 5 days. Current streak: 1 day; best: 2 days."));
        assert!(html.contains("<caption>Week 2025-W10 compared with week 2025-W09</caption>"));
        assert!(html.contains("<td data-label=\"Change\">up 24%</td>"));
        assert!(html.contains("<td data-label=\"Change\">no figure last week</td>"));
        assert!(html.contains("Evidence: 41 bends an hour against a site median of 18"));
        assert!(html.contains("They are not medical advice."));
        // Five charts: shifts, hours, zones by hour, weeks, goal.
        assert_eq!(html.matches("<svg class=\"chart an-chart\"").count(), 5);
    }

    #[tokio::test]
    async fn the_charts_carry_axis_titles_with_units_legends_and_text_for_screen_readers() {
        let fake = Fake::new();
        let (_, _, html) = get_as(fake.router(), "/workers/12", Some(Role::Admin)).await;
        for text in [
            ">Bends per hour of wear</text>",
            ">Day of the shift (month-day)</text>",
            ">Movements (count in the hour)</text>",
            ">Hour of day (site time, hour starting)</text>",
            ">Minutes of wear</text>",
            ">Movements per hour of wear</text>",
            ">Week (ISO week number)</text>",
            ">Alerts a day</text>",
            ">Goal: below 5</text>",
            ">High risk (H)</text>",
            ">Not acceptable</text>",
            "<title id=\"hours-title\">Risky movements in each hour of the shift</title>",
            "<desc id=\"hours-desc\">06:00: 5 bends (1 deep), 2 twists, 0 reaches, 1 sideways bends;",
        ] {
            assert!(html.contains(text), "missing {text}");
        }
        assert_eq!(
            html.matches("role=\"img\"").count(),
            5 + 1,
            "charts + zone bar"
        );
    }

    #[tokio::test]
    async fn a_chosen_shift_is_shown_and_the_daemon_is_asked_for_it() {
        let fake = Fake::new();
        let (_, _, html) = get_as(
            fake.router(),
            "/workers/12?shift=1740981600000",
            Some(Role::Supervisor),
        )
        .await;
        assert!(html.contains("<h2 id=\"shift-h\">Shift on 2025-03-03, 06:00–14:00</h2>"));
        let _ = get_as(
            fake.router(),
            "/api/v1/analysis/workers/12",
            Some(Role::Admin),
        )
        .await;
        assert_eq!(fake.shifts_asked(), vec![Some(1_740_981_600_000), None]);
    }

    #[tokio::test]
    async fn an_unknown_worker_or_shift_is_a_4xx() {
        let fake = Fake::new();
        for path in [
            "/workers/999",
            "/workers/abc",
            "/workers/012",
            "/api/v1/analysis/workers/999",
        ] {
            let (status, _, _) = get_as(fake.router(), path, Some(Role::Supervisor)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
        let (_, _, html) = get_as(fake.router(), "/workers/999", Some(Role::Supervisor)).await;
        assert!(html.contains("Worker not found"));
        let (status, _, _) = get_as(
            fake.router(),
            "/workers/12?shift=noon",
            Some(Role::Supervisor),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn a_hostile_label_and_texts_are_escaped_on_the_worker_page() {
        let fake = Fake::new();
        let (_, _, html) = get_as(fake.router(), "/workers/7", Some(Role::Supervisor)).await;
        assert!(html.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"));
        assert!(html.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"));
        assert!(html.contains("Team &quot;&gt;&lt;img src=x&gt;"));
        assert!(html.contains("&lt;i&gt;raise&lt;/i&gt;"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<i>"));
    }

    #[tokio::test]
    async fn a_shift_beyond_a_work_restriction_is_flagged_with_what_and_when_on_the_page_and_in_json()
     {
        let fake = Fake::new();
        let (status, _, html) = get_as(fake.router(), "/workers/12", Some(Role::Supervisor)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("<h2 id=\"work-restrictions-h\">Work restrictions</h2>"));
        assert!(html.contains(
            "no deep bends — from <time datetime=\"2025-03-03\">2025-03-03</time> until \
             <time datetime=\"2025-03-31\">2025-03-31</time> (in force)"
        ));
        assert!(html.contains(
            "<li><strong>Beyond the work restriction:</strong> 3 deep bends (limit: none) — \
             09:00–10:00 (2), &lt;b&gt;14:00&lt;/b&gt;</li>"
        ));
        assert!(!html.contains("<b>14:00</b>"));
        let (_, _, body) = get_as(
            fake.router(),
            "/api/v1/analysis/workers/12",
            Some(Role::Supervisor),
        )
        .await;
        let value = json(&body);
        assert_eq!(value["work_restrictions"][0]["terms"], "no deep bends");
        let flagged = &value["shift"]["work_restrictions_exceeded"][0];
        assert_eq!(flagged["what"], "3 deep bends (limit: none)");
        assert_eq!(flagged["when"][0], "09:00–10:00 (2)");
        assert_eq!(
            value["shifts"][0]["work_restrictions_exceeded"],
            serde_json::json!([]),
            "a shift within it is not flagged"
        );
    }

    #[tokio::test]
    async fn the_worker_json_has_stable_keys() {
        let fake = Fake::new();
        let (status, _, body) = get_as(
            fake.router(),
            "/api/v1/analysis/workers/12",
            Some(Role::Supervisor),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let value = json(&body);
        assert_eq!(
            sorted_keys(&value),
            [
                "advice",
                "goal",
                "label",
                "shift",
                "shifts",
                "team",
                "trend",
                "weeks",
                "work_restrictions",
                "worker"
            ]
        );
        assert_eq!(
            sorted_keys(&value["shift"]),
            [
                "alerts",
                "end_ms",
                "end_time",
                "hours",
                "local_day",
                "median_response_ms",
                "per_hour",
                "reasons",
                "risk_level",
                "start_ms",
                "start_time",
                "uncorrected_alerts",
                "wear_h",
                "work_restrictions_exceeded",
                "zones"
            ]
        );
        assert_eq!(
            sorted_keys(&value["shift"]["hours"][0]),
            [
                "bends",
                "deep_bends",
                "hour_of_day",
                "hour_start_ms",
                "lateral_bends",
                "lifts",
                "reaches",
                "twists",
                "wear_s",
                "zones"
            ]
        );
        assert_eq!(
            sorted_keys(&value["goal"]),
            [
                "best_streak",
                "current_streak",
                "days",
                "days_met",
                "days_total",
                "description",
                "limit",
                "unit"
            ]
        );
        assert_eq!(sorted_keys(&value["trend"]), ["previous", "rows", "week"]);
        assert_eq!(
            sorted_keys(&value["trend"]["rows"][0]),
            ["change_pct", "label", "last_week", "metric", "this_week"]
        );
        assert_eq!(
            sorted_keys(&value["weeks"][0]),
            ["alerts_per_day", "per_hour", "wear_h", "week"]
        );
        assert_eq!(sorted_keys(&value["advice"][0]), ["evidence", "text"]);
    }

    #[test]
    fn short_labels_for_days_and_weeks() {
        assert_eq!(short_day("2025-03-04"), "03-04");
        assert_eq!(short_day("odd"), "odd");
        assert_eq!(short_week("2025-W10"), "W10");
        assert_eq!(capitalised("alerts"), "Alerts");
    }
}
