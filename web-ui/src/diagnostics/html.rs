//! The diagnostics page's markup: the range links, the GPS, Dock power, Wearable batteries,
//! Storage, Uploads, Software update and Dock sections with their charts, in the site's shell
//! (with the site's and this page's stylesheets); the upload and update forms only for admins. Serials, zone names, problems and event texts
//! come from devices and the daemon: it must never interpolate any text without [`Escaped`],
//! never build an element id from such text, never emit inline script, style or handlers (CSP),
//! and never draw a chart with nothing in it (it says so in words instead).

use std::fmt::Write as _;

use axum::{http::StatusCode, response::Response};

use super::{
    DROP_PATH, DeadLetterView, Diagnostics, GpsEventLine, GpsPanel, HostPanel, PAGE_PATH,
    PowerPanel, PseudonymKey, RANGES, RETRY_PATH, STYLE_PATH, StoragePanel, UPDATE_CHECK_PATH,
    UPDATE_NOW_PATH, UPLOAD_NOW_PATH, UpdateView, UploadView, WearableBattery,
    chart::{self, Axis, Bands, Line, Pick, Scale, Side, TimeChart},
};
use crate::{
    access::Role,
    pages::{Escaped, Shell, Viewer, bytes, percent_encode, time_element},
};

const DAY_MS: i64 = 86_400_000;
/// Readings further apart than this are not joined by a chart line.
const JOIN_MS: i64 = 3_600_000;
/// The most GPS events the page lists.
pub(super) const MAX_EVENTS: usize = 50;
/// Below this share of free space, the page warns.
const LOW_SPACE: f64 = 0.10;

const FIX_TICKS: &[(f64, &str)] = &[(1.0, "no fix"), (2.0, "2D"), (3.0, "3D")];

/// What the page was asked for.
pub(super) struct Asked<'a> {
    pub(super) days: u32,
    /// The wearable whose battery chart to show (`?wearable=SERIAL`).
    pub(super) wearable: Option<&'a str>,
    /// What an upload form left in the session for this view (shown once).
    pub(super) notice: Option<&'a str>,
    /// What an update form left for this view (shown once): whether the updater did what it was
    /// asked, and its sentence.
    pub(super) update_notice: Option<(bool, &'a str)>,
}

impl Asked<'_> {
    /// The page's address for `days`, keeping the chosen wearable.
    fn address(&self, days: u32) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("days", &days.to_string());
        if let Some(serial) = self.wearable {
            query.append_pair("wearable", serial);
        }
        format!("{PAGE_PATH}?{}", query.finish())
    }

    /// The page's address showing `serial`'s battery chart.
    fn wearable_address(&self, serial: &str) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("days", &self.days.to_string())
            .append_pair("wearable", serial)
            .finish();
        format!("{PAGE_PATH}?{query}#dg-battery")
    }

    /// "the last 7 days", "the last day".
    fn span_words(&self) -> String {
        if self.days == 1 {
            "the last day".to_owned()
        } else {
            format!("the last {} days", self.days)
        }
    }

    fn start_ms(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(i64::from(self.days) * DAY_MS)
    }
}

/// The diagnostics page.
pub(super) fn page(diag: &Diagnostics, viewer: Option<Viewer<'_>>, asked: &Asked) -> Response {
    let mut out = String::with_capacity(32 * 1024);
    let _ = writeln!(
        out,
        "<p class=\"lead\">The dock's own hardware: its GPS, power and temperatures, the \
         wearables' batteries, storage and versions. Read at {}. Histories and charts cover {}; \
         every time is UTC.</p>",
        time_element(diag.now_ms, false),
        asked.span_words()
    );
    if diag.host.clock.synchronised == Some(false) {
        let _ = writeln!(
            out,
            "<p class=\"dg-banner\" role=\"alert\">The system clock is {}.</p>",
            Escaped(&diag.host.clock.words)
        );
    }
    ranges(&mut out, asked);
    out.push_str(
        "<nav class=\"toc\" aria-label=\"Sections\"><ul>\
         <li><a href=\"#dg-gps\">GPS</a></li><li><a href=\"#dg-power\">Dock power</a></li>\
         <li><a href=\"#dg-wearables\">Wearable batteries</a></li>\
         <li><a href=\"#dg-storage\">Storage</a></li><li><a href=\"#dg-upload\">Uploads</a></li>\
         <li><a href=\"#dg-update\">Software update</a></li>\
         <li><a href=\"#dg-dock\">Dock</a></li></ul></nav>\n",
    );
    gps(&mut out, diag, asked);
    power(&mut out, diag, asked);
    wearables(&mut out, diag, asked);
    storage(&mut out, &diag.storage);
    uploads(&mut out, diag, viewer, asked.notice);
    update(&mut out, &diag.update, viewer, asked.update_notice);
    host(&mut out, &diag.host);
    Shell::new("Diagnostics")
        .current(PAGE_PATH)
        .styles(&[STYLE_PATH])
        .main_class("dg-main")
        .render(StatusCode::OK, viewer, &out)
}

/// "Show last 7 | 30 | 90 days", the one shown marked.
fn ranges(out: &mut String, asked: &Asked) {
    out.push_str("<nav class=\"dg-range\" aria-label=\"Time shown\"><span>Show last</span><ul>");
    for days in RANGES {
        let here = if days == asked.days {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<li><a href=\"{}\"{here}>{days} days</a></li>",
            Escaped(&asked.address(days))
        );
    }
    out.push_str("</ul></nav>\n");
}

/// Opens a section card with its heading.
fn open_section(out: &mut String, id: &str, heading: &str) {
    let _ = writeln!(
        out,
        "<section class=\"panel dg-section\" id=\"{id}\" aria-labelledby=\"{id}-h\">\n\
         <h2 id=\"{id}-h\">{heading}</h2>"
    );
}

/// One `<div><dt>…</dt><dd>…</dd></div>` of a facts list; `value` is already markup.
fn fact(out: &mut String, label: &str, value: &str) {
    let _ = write!(out, "<div><dt>{label}</dt><dd>{value}</dd></div>");
}

/// A list of problems in words, in a warning box.
fn problems(out: &mut String, items: &[&str]) {
    if items.is_empty() {
        return;
    }
    out.push_str("<div class=\"notice dg-problem\" data-kind=\"problem\" role=\"status\"><ul>");
    for item in items {
        let _ = write!(out, "<li>{}</li>", Escaped(item));
    }
    out.push_str("</ul></div>\n");
}

fn empty(out: &mut String, text: &str) {
    let _ = writeln!(out, "<p class=\"dg-empty\">{}</p>", Escaped(text));
}

/// The chart (started at its first reading when they begin late, and saying so), or `words`
/// when there is nothing to draw.
fn chart_or_words(out: &mut String, mut chart: TimeChart, words: &str) {
    let first = chart.start_at_first_reading();
    match chart::render(&chart) {
        Some(svg) => {
            let note = first.map_or_else(String::new, |at| {
                format!(
                    "<figcaption class=\"hint\">The first reading in this time is from {}; \
                     the chart starts there.</figcaption>",
                    time_element(at, false)
                )
            });
            let _ = writeln!(out, "<figure class=\"dg-figure\">{svg}{note}</figure>");
        }
        None => empty(out, words),
    }
}

/// A finite number, or nothing.
fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite())
}

const UNKNOWN: &str = "<span class=\"dg-unknown\">not known</span>";

fn or_unknown(value: Option<String>) -> String {
    value.unwrap_or_else(|| UNKNOWN.to_owned())
}

/// gpsd's fix mode in words.
pub(super) fn mode_words(mode: u8) -> &'static str {
    match mode {
        3 => "3D fix",
        2 => "2D fix",
        1 => "no fix",
        _ => "not known yet",
    }
}

/// What the GPS has now, in words.
pub(super) fn fix_words(gps: &GpsPanel) -> &'static str {
    if !gps.configured {
        "no GPS configured"
    } else if !gps.connected {
        "no fix"
    } else {
        mode_words(gps.mode)
    }
}

/// How good a horizontal dilution of precision is, in the usual words.
fn hdop_words(hdop: f64) -> &'static str {
    match hdop {
        h if h < 1.0 => "ideal",
        h if h <= 2.0 => "excellent",
        h if h <= 5.0 => "good",
        h if h <= 10.0 => "moderate",
        h if h <= 20.0 => "fair",
        _ => "poor",
    }
}

fn gps(out: &mut String, diag: &Diagnostics, asked: &Asked) {
    let gps = &diag.gps;
    open_section(out, "dg-gps", "GPS");
    // Without a GPS configured, the hint below says what to do instead.
    if gps.configured
        && let Some(problem) = gps.problem.as_deref().filter(|p| !p.trim().is_empty())
    {
        problems(out, &[problem]);
    }
    out.push_str("<dl class=\"dg-facts\">");
    fact(out, "Fix", &format!("<strong>{}</strong>", fix_words(gps)));
    if gps.configured {
        fact(
            out,
            "gpsd",
            if gps.connected {
                "connected"
            } else {
                "not connected"
            },
        );
        let position = match (finite(gps.lat), finite(gps.lon)) {
            (Some(lat), Some(lon)) => format!(
                "{lat:.6}, {lon:.6} <span class=\"dg-unit\">(latitude, longitude in degrees)</span>"
            ),
            _ => "none yet".to_owned(),
        };
        let label = if gps.mode >= 2 && gps.connected {
            "Position"
        } else {
            "Last known position"
        };
        fact(out, label, &position);
        fact(
            out,
            "Altitude",
            &or_unknown(finite(gps.alt_m).map(|alt| format!("{alt:.1} m"))),
        );
        let satellites = match (gps.satellites_used, gps.satellites_seen) {
            (Some(used), Some(seen)) => Some(format!("{used} used of {seen} seen")),
            (Some(used), None) => Some(format!("{used} used")),
            (None, Some(seen)) => Some(format!("{seen} seen, none used")),
            (None, None) => None,
        };
        fact(out, "Satellites", &or_unknown(satellites));
        fact(
            out,
            "HDOP",
            &or_unknown(finite(gps.hdop).map(|hdop| format!("{hdop:.1} ({})", hdop_words(hdop)))),
        );
        fact(
            out,
            "Last fix",
            &gps.last_fix_ms
                .map_or_else(|| "never".to_owned(), |at| time_element(at, false)),
        );
    }
    out.push_str("</dl>\n");
    if !gps.configured {
        out.push_str(
            "<p class=\"hint\">This dock has no GPS receiver configured. To use one, set \
             <code>gpsd</code> in the <code>[gps]</code> part of the dock's configuration file \
             and restart the dock.</p>\n",
        );
    }
    let _ = writeln!(
        out,
        "<h3>Fix and satellites over {}</h3>",
        Escaped(&asked.span_words())
    );
    let history = &diag.gps_history;
    let gps_chart = TimeChart {
        id: "dg-gps-chart",
        title: format!("GPS fix and satellites used over {}", asked.span_words()),
        from_ms: asked.start_ms(diag.now_ms),
        to_ms: diag.now_ms,
        join_ms: JOIN_MS,
        left: Axis {
            title: "Satellites used".to_owned(),
            scale: Scale::Auto {
                from_zero: true,
                min_span: 4.0,
            },
        },
        right: Some(Axis {
            title: "Fix".to_owned(),
            scale: Scale::Words {
                min: 1.0,
                max: 3.0,
                ticks: FIX_TICKS,
            },
        }),
        lines: vec![
            Line {
                name: "Satellites used".to_owned(),
                unit: "",
                colour: chart::BLUE,
                side: Side::Left,
                pick: Pick::Min,
                steps: false,
                points: history
                    .iter()
                    .filter_map(|p| p.satellites_used.map(|n| (p.at_ms, f64::from(n))))
                    .collect(),
            },
            Line {
                name: "Fix".to_owned(),
                unit: "",
                colour: chart::AMBER,
                side: Side::Right,
                pick: Pick::Min,
                steps: true,
                points: history
                    .iter()
                    .filter(|p| (1..=3).contains(&p.mode))
                    .map(|p| (p.at_ms, f64::from(p.mode)))
                    .collect(),
            },
        ],
        bands: None,
    };
    let none = if gps.configured {
        format!("No GPS readings were recorded in {}.", asked.span_words())
    } else {
        format!(
            "No GPS configured, and no GPS readings in {}.",
            asked.span_words()
        )
    };
    chart_or_words(out, gps_chart, &none);
    out.push_str("<h3>Events</h3>\n");
    gps_events(out, &diag.gps_events, asked);
    out.push_str("</section>\n");
}

fn gps_events(out: &mut String, events: &[GpsEventLine], asked: &Asked) {
    if events.is_empty() {
        empty(
            out,
            &format!(
                "No GPS events (fix lost or regained, gpsd gone or back) in {}.",
                asked.span_words()
            ),
        );
        return;
    }
    let mut newest_first: Vec<&GpsEventLine> = events.iter().collect();
    newest_first.sort_by_key(|event| std::cmp::Reverse(event.at_ms));
    if events.len() > MAX_EVENTS {
        let _ = writeln!(
            out,
            "<p class=\"hint\">The newest {MAX_EVENTS} of {} events, newest first.</p>",
            events.len()
        );
    } else {
        out.push_str("<p class=\"hint\">Newest first.</p>\n");
    }
    out.push_str("<ol class=\"dg-events\">\n");
    for event in newest_first.into_iter().take(MAX_EVENTS) {
        let _ = writeln!(
            out,
            "<li data-kind=\"{}\">{} <span>{}</span></li>",
            Escaped(&event.kind),
            time_element(event.at_ms, true),
            Escaped(&event.text)
        );
    }
    out.push_str("</ol>\n");
}

fn mains_words(online: Option<bool>) -> &'static str {
    match online {
        Some(true) => "on mains power",
        Some(false) => "<strong>off: the dock runs on its backup battery</strong>",
        None => UNKNOWN,
    }
}

fn celsius(value: Option<f64>) -> String {
    or_unknown(finite(value).map(|c| format!("{c:.1} °C")))
}

fn power(out: &mut String, diag: &Diagnostics, asked: &Asked) {
    let power: &PowerPanel = &diag.power;
    open_section(out, "dg-power", "Dock power");
    let listed: Vec<&str> = power
        .problems
        .iter()
        .map(String::as_str)
        .filter(|p| !p.trim().is_empty())
        .collect();
    problems(out, &listed);
    out.push_str("<dl class=\"dg-facts\">");
    let summary = if power.summary.trim().is_empty() {
        "no reading yet".to_owned()
    } else {
        Escaped(&power.summary).to_string()
    };
    fact(out, "Now", &summary);
    fact(out, "Mains", mains_words(power.mains_online));
    out.push_str("</dl>\n<h3>Backup batteries</h3>\n");
    if power.batteries.is_empty() {
        empty(out, "No backup battery or UPS found.");
    } else {
        out.push_str(
            "<div class=\"table-wrap\"><table class=\"admin-table dg-table\">\n\
             <thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Kind</th>\
             <th scope=\"col\">Status</th><th scope=\"col\">Charge</th>\
             <th scope=\"col\">Health</th><th scope=\"col\">Temperature</th>\
             <th scope=\"col\">Voltage</th></tr></thead>\n<tbody>\n",
        );
        for battery in &power.batteries {
            let _ = writeln!(
                out,
                "<tr><th scope=\"row\" data-label=\"Name\">{}</th><td data-label=\"Kind\">{}</td>\
                 <td data-label=\"Status\">{}</td><td data-label=\"Charge\">{}</td>\
                 <td data-label=\"Health\">{}</td><td data-label=\"Temperature\">{}</td>\
                 <td data-label=\"Voltage\">{}</td></tr>",
                Escaped(&battery.name),
                Escaped(&battery.kind),
                or_unknown(battery.status.as_deref().map(|s| Escaped(s).to_string())),
                or_unknown(battery.capacity_pct.map(|p| format!("{p} %"))),
                or_unknown(finite(battery.health_pct).map(|p| format!("{p:.0} %"))),
                celsius(battery.temperature_c),
                or_unknown(finite(battery.voltage_v).map(|v| format!("{v:.2} V"))),
            );
        }
        out.push_str("</tbody>\n</table></div>\n");
    }
    out.push_str("<h3>Temperatures</h3>\n");
    if power.thermal.is_empty() {
        empty(out, "No temperature sensor found.");
    } else {
        out.push_str(
            "<div class=\"table-wrap\"><table class=\"admin-table dg-table\">\n\
             <thead><tr><th scope=\"col\">Sensor</th><th scope=\"col\">Temperature</th></tr>\
             </thead>\n<tbody>\n",
        );
        for zone in &power.thermal {
            let _ = writeln!(
                out,
                "<tr><th scope=\"row\" data-label=\"Sensor\">{}</th>\
                 <td data-label=\"Temperature\">{}</td></tr>",
                Escaped(&zone.name),
                celsius(zone.temp_c)
            );
        }
        out.push_str("</tbody>\n</table></div>\n");
    }
    let _ = writeln!(
        out,
        "<h3>Backup battery and temperature over {}</h3>",
        Escaped(&asked.span_words())
    );
    let history = &diag.power_history;
    let mut spans = Vec::new();
    let mut open: Option<i64> = None;
    for (n, point) in history.iter().enumerate() {
        let off = point.mains_online == Some(false);
        match (off, open) {
            (true, None) => open = Some(point.at_ms),
            (false, Some(start)) => {
                spans.push((start, point.at_ms));
                open = None;
            }
            _ => {}
        }
        if n + 1 == history.len()
            && let Some(start) = open
        {
            spans.push((start, point.at_ms));
        }
    }
    let power_chart = TimeChart {
        id: "dg-power-chart",
        title: format!(
            "Backup battery charge and hottest temperature over {}",
            asked.span_words()
        ),
        from_ms: asked.start_ms(diag.now_ms),
        to_ms: diag.now_ms,
        join_ms: JOIN_MS,
        left: Axis {
            title: "Backup battery (%)".to_owned(),
            scale: Scale::Fixed {
                min: 0.0,
                max: 100.0,
                step: 25.0,
            },
        },
        right: Some(Axis {
            title: "Hottest (°C)".to_owned(),
            scale: Scale::Auto {
                from_zero: false,
                min_span: 5.0,
            },
        }),
        lines: vec![
            Line {
                name: "Backup battery".to_owned(),
                unit: " %",
                colour: chart::BLUE,
                side: Side::Left,
                pick: Pick::Min,
                steps: false,
                points: history
                    .iter()
                    .filter_map(|p| p.battery_pct.map(|v| (p.at_ms, f64::from(v))))
                    .collect(),
            },
            Line {
                name: "Hottest".to_owned(),
                unit: " °C",
                colour: chart::PURPLE,
                side: Side::Right,
                pick: Pick::Max,
                steps: false,
                points: history
                    .iter()
                    .filter_map(|p| finite(p.max_temp_c).map(|v| (p.at_ms, v)))
                    .collect(),
            },
        ],
        bands: Some(Bands {
            name: "Mains off".to_owned(),
            spans,
        }),
    };
    chart_or_words(
        out,
        power_chart,
        &format!(
            "No power or temperature readings were recorded in {}.",
            asked.span_words()
        ),
    );
    out.push_str("</section>\n");
}

/// A battery flag's kind in words.
fn flag_words(kind: &str) -> &str {
    match kind {
        "low_health" => "Low health",
        "hot_while_charging" => "Hot while charging",
        "fast_fade" => "Fading fast",
        other => other,
    }
}

fn wearables(out: &mut String, diag: &Diagnostics, asked: &Asked) {
    open_section(out, "dg-wearables", "Wearable batteries");
    if diag.wearables.is_empty() {
        empty(out, "No wearable has been docked yet.");
        out.push_str("</section>\n");
        return;
    }
    // Flagged first, otherwise in the daemon's order.
    let mut order: Vec<&WearableBattery> = diag.wearables.iter().collect();
    order.sort_by_key(|w| w.flags.is_empty());
    let flagged = order.iter().filter(|w| !w.flags.is_empty()).count();
    let _ = writeln!(
        out,
        "<p class=\"hint\">{} seen by this dock; {}. Readings are from the latest docking.</p>",
        if order.len() == 1 {
            "1 wearable".to_owned()
        } else {
            format!("{} wearables", order.len())
        },
        match flagged {
            0 => "none needs a look at its battery".to_owned(),
            1 => "<strong>1 needs a look at its battery</strong> and is listed first".to_owned(),
            n =>
                format!("<strong>{n} need a look at their batteries</strong> and are listed first"),
        }
    );
    out.push_str(
        "<div class=\"table-wrap\"><table class=\"admin-table dg-table dg-wearables\">\n\
         <thead><tr><th scope=\"col\">Serial</th><th scope=\"col\">Charge</th>\
         <th scope=\"col\">Health</th><th scope=\"col\">Cycles</th>\
         <th scope=\"col\">Temperature</th><th scope=\"col\">Voltage</th>\
         <th scope=\"col\">Last docked</th><th scope=\"col\">Battery check</th></tr></thead>\n\
         <tbody>\n",
    );
    for wearable in &order {
        wearable_row(out, wearable, asked);
    }
    out.push_str("</tbody>\n</table></div>\n");
    battery_chart(out, diag, &order, asked);
    out.push_str("</section>\n");
}

fn wearable_row(out: &mut String, wearable: &WearableBattery, asked: &Asked) {
    let is_flagged = !wearable.flags.is_empty();
    let mark = if is_flagged {
        " <strong class=\"dg-flag\">Check battery</strong>"
    } else {
        ""
    };
    let flags = if is_flagged {
        let mut list = String::from("<ul class=\"dg-flags\">");
        for flag in &wearable.flags {
            let _ = write!(
                list,
                "<li><strong>{}:</strong> {} <span class=\"dg-since\">({})</span></li>",
                Escaped(flag_words(&flag.kind)),
                Escaped(&flag.reason),
                time_element(flag.at_ms, false)
            );
        }
        list.push_str("</ul>");
        list
    } else {
        "no problem found".to_owned()
    };
    let _ = writeln!(
        out,
        "<tr{row}><th scope=\"row\" data-label=\"Serial\"><a href=\"{link}\">{serial}</a>{mark}</th>\
         <td data-label=\"Charge\">{soc}</td><td data-label=\"Health\">{health}</td>\
         <td data-label=\"Cycles\">{cycles}</td><td data-label=\"Temperature\">{temp}</td>\
         <td data-label=\"Voltage\">{volts}</td><td data-label=\"Last docked\">{docked}</td>\
         <td data-label=\"Battery check\">{flags}</td></tr>",
        row = if is_flagged {
            " class=\"dg-flagged\""
        } else {
            ""
        },
        link = Escaped(&asked.wearable_address(&wearable.serial)),
        serial = Escaped(&wearable.serial),
        soc = or_unknown(wearable.soc.map(|v| format!("{v} %"))),
        health = or_unknown(wearable.health_pct.map(|v| format!("{v} %"))),
        cycles = or_unknown(wearable.cycles.map(|v| v.to_string())),
        temp = celsius(wearable.temp_c),
        volts = or_unknown(
            wearable
                .voltage_mv
                .map(|mv| format!("{:.2} V", f64::from(mv) / 1000.0))
        ),
        docked = wearable
            .last_docked_ms
            .map_or_else(|| "never".to_owned(), |at| time_element(at, false)),
    );
}

/// One wearable's charge and temperature, with a form to pick another (works without script).
fn battery_chart(out: &mut String, diag: &Diagnostics, order: &[&WearableBattery], asked: &Asked) {
    let chosen = asked
        .wearable
        .and_then(|serial| order.iter().find(|w| w.serial == serial));
    let Some(shown) = chosen.or(order.first()) else {
        return;
    };
    let _ = writeln!(
        out,
        "<h3 id=\"dg-battery\">Charge and temperature of {} over {}</h3>",
        Escaped(&shown.serial),
        Escaped(&asked.span_words())
    );
    if asked.wearable.is_some() && chosen.is_none() {
        empty(
            out,
            "There is no wearable with that serial on this dock; showing the first one instead.",
        );
    }
    let _ = write!(
        out,
        "<form class=\"dg-pick\" method=\"get\" action=\"{PAGE_PATH}#dg-battery\">\
         <input type=\"hidden\" name=\"days\" value=\"{}\">\
         <label for=\"dg-wearable\">Wearable</label>\
         <select id=\"dg-wearable\" name=\"wearable\">",
        asked.days
    );
    for wearable in order {
        let selected = if wearable.serial == shown.serial {
            " selected"
        } else {
            ""
        };
        let note = if wearable.flags.is_empty() {
            ""
        } else {
            " (check battery)"
        };
        let _ = write!(
            out,
            "<option value=\"{serial}\"{selected}>{serial}{note}</option>",
            serial = Escaped(&wearable.serial)
        );
    }
    out.push_str("</select><button type=\"submit\">Show</button></form>\n");
    let battery = TimeChart {
        id: "dg-battery-chart",
        title: format!(
            "Charge and battery temperature of wearable {} over {}",
            shown.serial,
            asked.span_words()
        ),
        from_ms: asked.start_ms(diag.now_ms),
        to_ms: diag.now_ms,
        join_ms: JOIN_MS,
        left: Axis {
            title: "Charge (%)".to_owned(),
            scale: Scale::Fixed {
                min: 0.0,
                max: 100.0,
                step: 25.0,
            },
        },
        right: Some(Axis {
            title: "Battery temperature (°C)".to_owned(),
            scale: Scale::Auto {
                from_zero: false,
                min_span: 5.0,
            },
        }),
        lines: vec![
            Line {
                name: "Charge".to_owned(),
                unit: " %",
                colour: chart::TEAL,
                side: Side::Left,
                pick: Pick::Mean,
                steps: false,
                points: shown
                    .history
                    .iter()
                    .map(|p| (p.at_ms, f64::from(p.soc)))
                    .collect(),
            },
            Line {
                name: "Temperature".to_owned(),
                unit: " °C",
                colour: chart::PURPLE,
                side: Side::Right,
                pick: Pick::Max,
                steps: false,
                points: shown.history.iter().map(|p| (p.at_ms, p.temp_c)).collect(),
            },
        ],
        bands: None,
    };
    chart_or_words(
        out,
        battery,
        &format!(
            "No battery readings from this wearable in {}.",
            asked.span_words()
        ),
    );
}

fn storage(out: &mut String, storage: &StoragePanel) {
    open_section(out, "dg-storage", "Storage");
    let low = match (storage.total_bytes, storage.available_bytes) {
        (Some(total), Some(free)) if total > 0 => (free as f64 / total as f64) < LOW_SPACE,
        _ => false,
    };
    if low {
        problems(
            out,
            &[
                "Less than 10 % of the storage is free. When it is full the dock cannot keep \
               new logs, so wearables keep them until there is room.",
            ],
        );
    }
    out.push_str("<dl class=\"dg-facts\">");
    let folder = if storage.data_dir.is_empty() {
        UNKNOWN.to_owned()
    } else {
        format!("<code>{}</code>", Escaped(&storage.data_dir))
    };
    fact(out, "Data folder", &folder);
    let space = match (storage.total_bytes, storage.available_bytes) {
        (Some(total), Some(free)) if total > 0 => {
            let free = free.min(total);
            let used = total - free;
            let share = (used as f64 / total as f64 * 100.0).round();
            format!(
                "<progress class=\"dg-space\" max=\"{total}\" value=\"{used}\" \
                 aria-label=\"Storage used\">{share:.0} %</progress>\
                 <span class=\"dg-space-words\">{} used of {} ({share:.0} %), {} free</span>",
                bytes(used),
                bytes(total),
                bytes(free)
            )
        }
        (Some(total), None) => format!("{} in all; free space not known", bytes(total)),
        _ => UNKNOWN.to_owned(),
    };
    fact(out, "Space", &space);
    fact(
        out,
        "Database",
        &or_unknown(storage.database_bytes.map(bytes)),
    );
    out.push_str("</dl>\n</section>\n");
}

/// The Uploads section: the queue in words, the dead letters, and for admins the forms.
fn uploads(out: &mut String, diag: &Diagnostics, viewer: Option<Viewer<'_>>, notice: Option<&str>) {
    open_section(out, "dg-upload", "Uploads");
    if let Some(text) = notice.filter(|text| !text.trim().is_empty()) {
        let _ = writeln!(
            out,
            "<p class=\"notice\" role=\"status\" data-kind=\"done\">{}</p>",
            Escaped(text)
        );
    }
    let Some(upload) = &diag.upload else {
        empty(out, "Cloud upload is not configured on this dock.");
        out.push_str(
            "<p class=\"hint\">To send the dock's records to the company's cloud, set \
             <code>url</code> and <code>site</code> in the <code>[upload]</code> part of the \
             dock's configuration file and restart the dock.</p>\n</section>\n",
        );
        return;
    };
    // The forms are for admins; a technician sees the state only.
    let csrf = viewer
        .filter(|viewer| viewer.user.role == Role::Admin)
        .map(|viewer| viewer.csrf);
    if let Some(reason) = upload.paused.as_deref() {
        problems(out, &[&format!("Uploads are paused: {reason}")]);
    }
    out.push_str("<dl class=\"dg-facts\">");
    let target = if upload.target.trim().is_empty() {
        "not known yet".to_owned()
    } else {
        format!("<code>{}</code>", Escaped(&upload.target))
    };
    fact(out, "Sends to", &target);
    fact(
        out,
        "Queued",
        &format!(
            "{} ({})",
            if upload.queued_items == 1 {
                "1 item".to_owned()
            } else {
                format!("{} items", upload.queued_items)
            },
            bytes(upload.queued_bytes)
        ),
    );
    fact(
        out,
        "Oldest item",
        &upload.oldest_ms.map_or_else(
            || "nothing is waiting".to_owned(),
            |at| {
                let age = u64::try_from(diag.now_ms.saturating_sub(at) / 1000).unwrap_or(0);
                format!("{} old ({})", uptime_words(age), time_element(at, false))
            },
        ),
    );
    fact(
        out,
        "Last success",
        &upload
            .last_success_ms
            .map_or_else(|| "never".to_owned(), |at| time_element(at, false)),
    );
    fact(
        out,
        "Last error",
        &upload
            .last_error
            .as_deref()
            .map_or_else(|| "none".to_owned(), |error| Escaped(error).to_string()),
    );
    fact(
        out,
        "Paused",
        &upload.paused.as_deref().map_or_else(
            || "no".to_owned(),
            |reason| format!("<strong>yes:</strong> {}", Escaped(reason)),
        ),
    );
    out.push_str("</dl>\n");
    if let Some(csrf) = csrf {
        form_open(out, UPLOAD_NOW_PATH, csrf);
        out.push_str("<button type=\"submit\">Upload now</button></form>\n");
    }
    dead_letters(out, upload, csrf);
    out.push_str("</section>\n");
}

/// The Software update section: the updater's state in words, its latest events, and for
/// admins "Check now" and "Install now" (the latter confirmed in the form itself).
fn update(
    out: &mut String,
    update: &UpdateView,
    viewer: Option<Viewer<'_>>,
    notice: Option<(bool, &str)>,
) {
    open_section(out, "dg-update", "Software update");
    if let Some((done, text)) = notice.filter(|(_, text)| !text.trim().is_empty()) {
        let _ = writeln!(
            out,
            "<p class=\"notice\" role=\"status\" data-kind=\"{}\">{}{}</p>",
            if done { "done" } else { "problem" },
            if done { "" } else { "Refused: " },
            Escaped(text)
        );
    }
    out.push_str("<dl class=\"dg-facts\">");
    fact(
        out,
        "Running",
        &format!("<code>{}</code>", Escaped(&update.running)),
    );
    if !update.configured {
        fact(out, "Self-update", "not configured on this dock");
        out.push_str(
            "</dl>\n<p class=\"hint\">To let the dock update itself from the company's release \
             server, set <code>manifest_url</code> in the <code>[update]</code> part of the \
             dock's configuration file and restart the dock.</p>\n",
        );
    } else {
        fact(
            out,
            "Release server",
            &update.source.as_deref().map_or_else(
                || UNKNOWN.to_owned(),
                |source| format!("<code>{}</code>", Escaped(source)),
            ),
        );
        fact(
            out,
            "On trial",
            if update.on_trial {
                "<strong>yes:</strong> wearables are not erased until this version passes its \
                 health check"
            } else {
                "no"
            },
        );
        fact(
            out,
            "Maintenance window",
            &update.window.as_deref().map_or_else(
                || "none".to_owned(),
                |window| format!("{} site time", Escaped(window)),
            ),
        );
        fact(
            out,
            "Last check",
            &match (update.last_check_ms, update.last_result.as_deref()) {
                (Some(at), Some(result)) => {
                    format!("{}: {}", time_element(at, false), Escaped(result))
                }
                (Some(at), None) => time_element(at, false),
                (None, _) => "not since the dock started".to_owned(),
            },
        );
        fact(
            out,
            "Offered",
            &update.offered.as_deref().map_or_else(
                || "nothing newer".to_owned(),
                |version| format!("<code>{}</code>", Escaped(version)),
            ),
        );
        out.push_str("</dl>\n");
        // The forms are for admins; a technician sees the state only.
        if let Some(csrf) = viewer
            .filter(|viewer| viewer.user.role == Role::Admin)
            .map(|viewer| viewer.csrf)
        {
            form_open(out, UPDATE_CHECK_PATH, csrf);
            out.push_str("<button type=\"submit\">Check now</button></form>\n");
            form_open(out, UPDATE_NOW_PATH, csrf);
            out.push_str(
                "<label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> \
                 Restart the dock into the newer release; it keeps the new version only if it \
                 passes its health check</label> <button type=\"submit\">Install now</button>\
                 </form>\n",
            );
        }
    }
    out.push_str("<h3>Update events</h3>\n");
    if update.events.is_empty() {
        empty(
            out,
            "No update events: nothing was checked, installed or rolled back yet.",
        );
    } else {
        out.push_str(
            "<p class=\"hint\">Newest first. Each is also in the audit trail.</p>\n\
             <div class=\"table-wrap\"><table class=\"admin-table dg-table dg-update-events\">\n\
             <thead><tr><th scope=\"col\">Time</th><th scope=\"col\">Event</th>\
             <th scope=\"col\">Version</th><th scope=\"col\">Detail</th></tr></thead>\n<tbody>\n",
        );
        for event in &update.events {
            let _ = writeln!(
                out,
                "<tr data-kind=\"{}\"><th scope=\"row\" data-label=\"Time\">{}</th>\
                 <td data-label=\"Event\">{}</td><td data-label=\"Version\">{}</td>\
                 <td data-label=\"Detail\">{}</td></tr>",
                Escaped(&event.action),
                time_element(event.at_ms, false),
                Escaped(&event.words),
                if event.version.is_empty() {
                    "-".to_owned()
                } else {
                    Escaped(&event.version).to_string()
                },
                Escaped(&event.detail)
            );
        }
        out.push_str("</tbody>\n</table></div>\n");
    }
    out.push_str("</section>\n");
}

/// `<form method="post">` to `action` with the hidden `csrf` field.
fn form_open(out: &mut String, action: &str, csrf: &str) {
    let _ = write!(
        out,
        "<form class=\"dg-form\" method=\"post\" action=\"{}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        Escaped(action),
        Escaped(csrf)
    );
}

/// The parked batches, with Retry and Drop for admins (`csrf` given).
fn dead_letters(out: &mut String, upload: &UploadView, csrf: Option<&str>) {
    out.push_str("<h3>Dead letters</h3>\n");
    if upload.dead_letters.is_empty() {
        empty(out, "No dead letters: the receiver has refused no batch.");
        return;
    }
    out.push_str(
        "<p class=\"hint\">Batches the receiver refused for their content. They wait here, \
         without holding up the rest, until an admin retries or drops them.</p>\n\
         <div class=\"table-wrap\"><table class=\"admin-table dg-table dg-dead\">\n\
         <thead><tr><th scope=\"col\">Kind</th><th scope=\"col\">Day</th>\
         <th scope=\"col\">Items</th><th scope=\"col\">Size</th>\
         <th scope=\"col\">Reason</th><th scope=\"col\">Parked</th>",
    );
    if csrf.is_some() {
        out.push_str("<th scope=\"col\">Action</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for dead in &upload.dead_letters {
        dead_letter_row(out, dead, csrf);
    }
    out.push_str("</tbody>\n</table></div>\n");
}

fn dead_letter_row(out: &mut String, dead: &DeadLetterView, csrf: Option<&str>) {
    let _ = write!(
        out,
        "<tr><th scope=\"row\" data-label=\"Kind\">{}</th><td data-label=\"Day\">{}</td>\
         <td data-label=\"Items\">{}</td><td data-label=\"Size\">{}</td>\
         <td data-label=\"Reason\">{}</td><td data-label=\"Parked\">{}</td>",
        Escaped(&dead.kind),
        Escaped(&dead.day),
        dead.items,
        bytes(dead.bytes),
        Escaped(&dead.reason),
        dead.parked_ms
            .map_or_else(|| UNKNOWN.to_owned(), |at| time_element(at, false)),
    );
    if let Some(csrf) = csrf {
        let id = percent_encode(&dead.id);
        out.push_str("<td data-label=\"Action\">");
        form_open(out, &RETRY_PATH.replace("{id}", &id), csrf);
        out.push_str("<button type=\"submit\">Retry</button></form>");
        form_open(out, &DROP_PATH.replace("{id}", &id), csrf);
        out.push_str(
            "<label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> \
             Delete its items for good</label> <button type=\"submit\">Drop</button></form>",
        );
        out.push_str("</td>");
    }
    out.push_str("</tr>\n");
}

/// The pseudonym key in use in words, e.g. "site key (shared by the site's docks), id
/// `30870ae091a5b9f9`", escaped.
fn pseudonym_key_words(key: &PseudonymKey) -> String {
    let source = match key.source.as_str() {
        "site" => "site key (shared by the site's docks)",
        "dock" => "this dock's own key (no site key configured)",
        other => other,
    };
    format!(
        "{}, id <code>{}</code>",
        Escaped(source),
        Escaped(&key.key_id)
    )
}

/// "3 days, 4 hours", "5 hours, 12 minutes", "12 minutes", "under a minute".
pub(super) fn uptime_words(seconds: u64) -> String {
    let plural = |n: u64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let (days, hours, minutes) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
    );
    if days > 0 {
        format!("{}, {}", plural(days, "day"), plural(hours, "hour"))
    } else if hours > 0 {
        format!("{}, {}", plural(hours, "hour"), plural(minutes, "minute"))
    } else if minutes > 0 {
        plural(minutes, "minute")
    } else {
        "under a minute".to_owned()
    }
}

/// A SHA-256 fingerprint as browsers show it: 32 upper-case hex pairs joined by colons. Anything
/// that is not 64 hex digits (with or without separators) is shown as it came.
pub(super) fn fingerprint_words(raw: &str) -> String {
    let separators_only = raw
        .chars()
        .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | ' ' | '-'));
    let hex: Vec<char> = raw
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if !separators_only || hex.len() != 64 {
        return raw.to_owned();
    }
    hex.chunks(2)
        .map(|pair| pair.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(":")
}

fn host(out: &mut String, host: &HostPanel) {
    open_section(out, "dg-dock", "Dock");
    out.push_str("<dl class=\"dg-facts\">");
    let text = |value: &str| {
        if value.trim().is_empty() {
            UNKNOWN.to_owned()
        } else {
            Escaped(value).to_string()
        }
    };
    fact(out, "Name", &text(&host.dock_name));
    fact(out, "Version", &text(&host.version));
    fact(
        out,
        "Running for",
        &or_unknown(host.uptime_s.map(uptime_words)),
    );
    fact(
        out,
        "Web certificate (SHA-256)",
        &host.web_certificate_sha256.as_deref().map_or_else(
            || "none: the page is served without HTTPS".to_owned(),
            |fp| {
                format!(
                    "<code class=\"dg-fp\">{}</code>",
                    Escaped(&fingerprint_words(fp))
                )
            },
        ),
    );
    fact(
        out,
        "Pseudonym key",
        &or_unknown(host.pseudonym_key.as_ref().map(pseudonym_key_words)),
    );
    fact(
        out,
        "System clock",
        &or_unknown((!host.clock.words.is_empty()).then(|| Escaped(&host.clock.words).to_string())),
    );
    out.push_str("</dl>\n<h3>Network</h3>\n");
    if host.interfaces.is_empty() {
        empty(out, "No network interface with an address.");
    } else {
        out.push_str(
            "<div class=\"table-wrap\"><table class=\"admin-table dg-table\">\n\
             <thead><tr><th scope=\"col\">Interface</th><th scope=\"col\">Addresses</th></tr>\
             </thead>\n<tbody>\n",
        );
        for interface in &host.interfaces {
            let addresses = if interface.addresses.is_empty() {
                "none".to_owned()
            } else {
                interface
                    .addresses
                    .iter()
                    .map(|a| format!("<code>{}</code>", Escaped(a)))
                    .collect::<Vec<_>>()
                    .join("<br>")
            };
            let _ = writeln!(
                out,
                "<tr><th scope=\"row\" data-label=\"Interface\">{}</th>\
                 <td data-label=\"Addresses\">{addresses}</td></tr>",
                Escaped(&interface.name)
            );
        }
        out.push_str("</tbody>\n</table></div>\n");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_reads_in_the_two_largest_units() {
        assert_eq!(uptime_words(0), "under a minute");
        assert_eq!(uptime_words(59), "under a minute");
        assert_eq!(uptime_words(60), "1 minute");
        assert_eq!(uptime_words(3 * 3600 + 60), "3 hours, 1 minute");
        assert_eq!(uptime_words(86_400 + 2 * 3600 + 59), "1 day, 2 hours");
        assert_eq!(uptime_words(40 * 86_400), "40 days, 0 hours");
    }

    #[test]
    fn a_fingerprint_is_shown_as_browsers_show_it() {
        let lower = "ab".repeat(32);
        let shown = fingerprint_words(&lower);
        assert_eq!(shown.len(), 32 * 3 - 1);
        assert!(shown.starts_with("AB:AB:"));
        assert_eq!(fingerprint_words(&shown), shown);
        assert_eq!(fingerprint_words("not a fingerprint"), "not a fingerprint");
    }

    #[test]
    fn fix_modes_are_words() {
        let mut gps = GpsPanel::default();
        assert_eq!(fix_words(&gps), "no GPS configured");
        gps.configured = true;
        gps.mode = 3;
        assert_eq!(fix_words(&gps), "no fix", "not connected");
        gps.connected = true;
        assert_eq!(fix_words(&gps), "3D fix");
        gps.mode = 1;
        assert_eq!(fix_words(&gps), "no fix");
        assert_eq!(hdop_words(0.8), "ideal");
        assert_eq!(hdop_words(25.0), "poor");
    }
}
