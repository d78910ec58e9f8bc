//! Tests of the diagnostics page and API through the whole site (sign-in, the role guard, the
//! handlers' own checks) over `testing::FakeDiagnostics`, and of the module's router alone.

use std::collections::BTreeSet;

use axum::{
    body::Body,
    http::{
        Request, StatusCode,
        header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION},
    },
};
use serde_json::Value;

use super::*;
use crate::{
    access::Role,
    testing::{Client, TestSite, body_json, body_text, check_against_schema, get, send},
};

const JSON_ROUTES: [&str; 4] = [API_ALL, API_GPS, API_POWER, API_WEARABLES];

fn signed_in(site: &TestSite, role: Role) -> Client {
    site.signed_in("someone", role)
}

/// Every object key anywhere in `value`, with its path.
fn keys(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let here = format!("{at}.{key}");
                out.push(here.clone());
                keys(inner, &here, out);
            }
        }
        Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                keys(inner, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

async fn page_as(site: &TestSite, role: Role, path: &str) -> (StatusCode, String) {
    let response = get(signed_in(site, role), path).await;
    let status = response.status();
    (status, body_text(response).await)
}

#[tokio::test]
async fn no_json_answer_has_a_key_naming_a_worker_anywhere() {
    let site = TestSite::new(false);
    for role in [Role::Technician, Role::Admin] {
        for route in JSON_ROUTES {
            for path in [route.to_owned(), format!("{route}?days=90")] {
                let response = get(signed_in(&site, role), &path).await;
                assert_eq!(response.status(), StatusCode::OK, "{role:?} {path}");
                let body = body_json(response).await;
                let mut found = Vec::new();
                keys(&body, "", &mut found);
                // The walk saw the nested keys (so it could have found one).
                assert!(found.len() > 3, "{path}: {found:?}");
                let worker: Vec<&String> = found
                    .iter()
                    .filter(|key| key.to_ascii_lowercase().contains("worker"))
                    .collect();
                assert!(worker.is_empty(), "{path}: {worker:?}");
            }
        }
    }
    // The whole answer goes deep enough that the walk reached a wearable's history.
    let body = body_json(get(signed_in(&site, Role::Admin), API_ALL).await).await;
    let mut found = Vec::new();
    keys(&body, "", &mut found);
    assert!(found.contains(&".wearables[1].history[0].temp_c".to_owned()));
}

#[tokio::test]
async fn each_part_carries_exactly_its_keys_with_the_same_figures_as_the_whole() {
    let site = TestSite::new(false);
    let client = signed_in(&site, Role::Technician);
    let whole = body_json(get(client.clone(), API_ALL).await).await;
    let top: BTreeSet<&str> = whole
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        top,
        BTreeSet::from([
            "now_ms",
            "gps",
            "gps_history",
            "gps_events",
            "power",
            "power_history",
            "wearables",
            "storage",
            "host",
            "upload",
            "update"
        ])
    );
    for (route, parts) in [
        (API_GPS, &["gps", "gps_history", "gps_events"][..]),
        (API_POWER, &["power", "power_history"][..]),
        (API_WEARABLES, &["wearables"][..]),
    ] {
        let body = body_json(get(client.clone(), route).await).await;
        let keys: BTreeSet<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, parts.iter().copied().collect(), "{route}");
        for part in parts {
            assert_eq!(body[part], whole[part], "{route} {part}");
        }
    }
}

#[tokio::test]
async fn a_supervisor_is_refused_and_a_technician_or_an_admin_gets_every_route() {
    let site = TestSite::new(false);
    let supervisor = signed_in(&site, Role::Supervisor);
    for path in [PAGE_PATH].into_iter().chain(JSON_ROUTES) {
        let response = get(supervisor.clone(), path).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let text = body_text(response).await;
        if path.starts_with("/api/") {
            assert!(
                text.contains("only technicians and admins can use this"),
                "{path}"
            );
        } else {
            assert!(text.contains("Only for technicians and admins"), "{path}");
        }
    }
    assert!(site.diagnostics.asked().is_empty(), "nothing was read");
    for role in [Role::Technician, Role::Admin] {
        for path in [PAGE_PATH, STYLE_PATH].into_iter().chain(JSON_ROUTES) {
            let response = get(signed_in(&site, role), path).await;
            assert_eq!(response.status(), StatusCode::OK, "{role:?} {path}");
        }
    }
    assert_eq!(site.diagnostics.asked().len(), 2 * 5);
}

#[tokio::test]
async fn without_a_session_the_page_sends_you_to_sign_in_and_the_api_answers_401() {
    let site = TestSite::new(false);
    let response = site
        .send(
            Request::get("/diagnostics?days=30")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[LOCATION],
        "/login?next=%2Fdiagnostics%3Fdays%3D30"
    );
    for path in JSON_ROUTES {
        let response = site
            .send(Request::get(path).body(Body::empty()).unwrap())
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    assert!(site.diagnostics.asked().is_empty());
}

#[tokio::test]
async fn days_is_7_unless_given_and_only_a_whole_number_from_1_to_90_is_taken() {
    let site = TestSite::new(false);
    let client = signed_in(&site, Role::Technician);
    for (query, days) in [("", 7), ("?days=1", 1), ("?days=30", 30), ("?days=90", 90)] {
        for route in [PAGE_PATH, API_ALL, API_GPS] {
            let path = format!("{route}{query}");
            let response = get(client.clone(), &path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(site.diagnostics.asked().last(), Some(&days), "{path}");
        }
    }
    let asked = site.diagnostics.asked().len();
    for bad in [
        "0",
        "91",
        "1000",
        "-1",
        "7.5",
        "seven",
        "",
        "%2B7",
        "7%20",
        "99999999999",
    ] {
        for route in [PAGE_PATH].into_iter().chain(JSON_ROUTES) {
            let path = format!("{route}?days={bad}");
            let response = get(client.clone(), &path).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
            assert_eq!(response.headers()[CACHE_CONTROL], "no-store", "{path}");
            if route.starts_with("/api/") {
                let body = body_json(response).await;
                assert_eq!(
                    body["error"], "days must be a whole number from 1 to 90, for example 7.",
                    "{path}"
                );
            } else {
                let html = body_text(response).await;
                assert!(html.contains("Not a number of days"), "{path}");
                assert!(html.contains("whole number from 1 to 90"), "{path}");
                assert!(html.contains("href=\"/diagnostics?days=7\""), "{path}");
            }
        }
    }
    assert_eq!(
        site.diagnostics.asked().len(),
        asked,
        "no bad days reached the daemon"
    );
}

#[tokio::test]
async fn every_answer_is_never_cached() {
    let site = TestSite::new(false);
    for path in [PAGE_PATH].into_iter().chain(JSON_ROUTES) {
        let response = get(signed_in(&site, Role::Admin), path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store", "{path}");
    }
    let refused = get(signed_in(&site, Role::Supervisor), API_GPS).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers()[CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn the_page_states_every_section_in_words_with_utc_times() {
    let site = TestSite::new(false);
    let (status, html) = page_as(&site, Role::Technician, PAGE_PATH).await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "<h1>Diagnostics</h1>",
        // The navigation marks this page; the technician sees no worker pages.
        "<a href=\"/diagnostics\" aria-current=\"page\">Diagnostics</a>",
        "Signed in as <strong>someone</strong>",
        // GPS.
        "<strong>3D fix</strong>",
        "52.520008, 13.404954",
        "34.2 m",
        "9 used of 14 seen",
        "0.9 (ideal)",
        "2024-02-29 13:05 UTC",
        "fix lost",
        // Power.
        "mains, UPS 100 %",
        "on mains power",
        "96 %",
        "13.42 V",
        "cpu-thermal",
        "41.2 °C",
        // Wearables.
        "Check battery",
        "Low health:",
        "health 72 %, below 80 %",
        "4.08 V",
        "1 needs a look at its battery",
        // Storage.
        "<code>/var/lib/dockd</code>",
        "<progress class=\"dg-space\" max=\"32000000000\" value=\"12300000000\"",
        "12.3 GB used of 32.0 GB (38 %), 19.7 GB free",
        "1.3 GB",
        // Dock.
        "Dock A",
        "3 days, 4 hours",
        "192.168.1.20/24",
        // Uploads.
        "<a href=\"#dg-upload\">Uploads</a>",
        "1234 items",
        // The pseudonym key by its public id: technicians may see it.
        "Pseudonym key",
        "site key (shared by the site",
        "id <code>30870ae091a5b9f9</code>",
    ] {
        assert!(html.contains(expected), "missing {expected}");
    }
    assert!(!html.contains("href=\"/overview\""));
    let fingerprint = ["AB"; 32].join(":");
    assert!(html.contains(&format!("<code class=\"dg-fp\">{fingerprint}</code>")));
    // Flagged wearables first.
    let flagged = html.find(">KW-00102</a>").unwrap();
    let fine = html.find(">KW-00101</a>").unwrap();
    assert!(flagged < fine);
    assert!(html.contains("<tr class=\"dg-flagged\">"));
    // Events newest first.
    let regained = html.find("fix regained").unwrap();
    let lost = html.find("<span>fix lost").unwrap();
    let connected = html.find("gpsd 3.22 connected").unwrap();
    assert!(regained < lost && lost < connected);
    // The range links, the one shown marked.
    assert!(html.contains("<a href=\"/diagnostics?days=7\" aria-current=\"page\">7 days</a>"));
    assert!(html.contains("<a href=\"/diagnostics?days=30\">30 days</a>"));
    assert!(html.contains("<a href=\"/diagnostics?days=90\">90 days</a>"));
    assert!(html.contains("cover the last 7 days; every time is UTC"));
    // No map or anything else from the internet (the upload target is text, never a link).
    for outside in ["src=\"http", "href=\"http", "url(http", "action=\"http"] {
        assert!(!html.contains(outside), "{outside}");
    }
    assert!(html.contains("<code>HTTPS https://cloud.example/ingest</code>"));
}

#[tokio::test]
async fn the_charts_have_axes_units_legends_and_no_inline_style_or_script() {
    let site = TestSite::new(false);
    let (_, html) = page_as(&site, Role::Admin, "/diagnostics?days=30").await;
    assert_eq!(html.matches("<svg class=\"chart dg-chart\"").count(), 3);
    for expected in [
        // GPS: satellites on the left, fix mode in words on the right.
        ">Satellites used</text>",
        ">Fix</text>",
        ">3D</text>",
        ">no fix</text>",
        ">Satellites used (left)</text>",
        ">Fix (right)</text>",
        // Power.
        ">Backup battery (%)</text>",
        ">Hottest (°C)</text>",
        ">Mains off</text>",
        // The flagged wearable's battery.
        ">Charge (%)</text>",
        ">Battery temperature (°C)</text>",
        ">Charge (left)</text>",
        ">Date and time (UTC)</text>",
        "Charge and temperature of KW-00102 over the last 30 days",
    ] {
        assert!(html.contains(expected), "missing {expected}");
    }
    assert!(html.contains("<a href=\"/diagnostics?days=30\" aria-current=\"page\">"));
    for forbidden in [
        "style=", "<style", "<script", "onerror", "onclick", "onload", "NaN",
    ] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
}

#[tokio::test]
async fn hostile_text_from_devices_and_the_address_is_escaped() {
    let site = TestSite::new(false);
    let script = "<script>alert(1)</script>";
    let image = "<img src=x onerror=alert(2)>";
    site.diagnostics.update(|d| {
        d.gps.problem = Some(script.to_owned());
        d.gps_events[0].text = image.to_owned();
        d.gps_events[0].kind = "\"><script>".to_owned();
        d.power.summary = script.to_owned();
        d.power.problems = vec![image.to_owned()];
        d.power.thermal[0].name = image.to_owned();
        d.power.batteries[0].name = script.to_owned();
        d.power.batteries[0].status = Some(image.to_owned());
        d.wearables[0].serial = "KW-<b>\"'&".to_owned();
        d.wearables[1].serial = script.to_owned();
        d.wearables[1].flags[0].reason = image.to_owned();
        d.wearables[1].flags[0].kind = script.to_owned();
        d.storage.data_dir = script.to_owned();
        d.host.dock_name = image.to_owned();
        d.host.interfaces[0].name = script.to_owned();
        d.host.interfaces[0].addresses = vec![image.to_owned()];
        d.host.web_certificate_sha256 = Some(script.to_owned());
        d.host.version = script.to_owned();
    });
    site.diagnostics.set_upload(Some(UploadView {
        target: script.to_owned(),
        last_error: Some(image.to_owned()),
        paused: Some(script.to_owned()),
        dead_letters: vec![DeadLetterView {
            id: "b-1".to_owned(),
            kind: script.to_owned(),
            day: image.to_owned(),
            items: 1,
            bytes: 10,
            reason: image.to_owned(),
            parked_ms: None,
        }],
        ..crate::testing::upload_view()
    }));
    for path in [
        "/diagnostics".to_owned(),
        format!(
            "/diagnostics?wearable={}",
            form_urlencoded::byte_serialize(script.as_bytes()).collect::<String>()
        ),
        "/diagnostics?wearable=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(3)%3E".to_owned(),
    ] {
        let (status, html) = page_as(&site, Role::Technician, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!html.contains("<script"), "{path}");
        assert!(!html.contains("<img"), "{path}");
        assert!(!html.contains("<b>"), "{path}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(2)&gt;"),
            "{path}"
        );
        assert!(html.contains("KW-&lt;b&gt;&quot;&#39;&amp;"), "{path}");
        // The serial in a link is encoded, then escaped.
        assert!(
            html.contains("wearable=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"),
            "{path}"
        );
    }
    // The hostile serial chosen by address is the one charted, escaped.
    let (_, html) = page_as(
        &site,
        Role::Technician,
        "/diagnostics?wearable=KW-%3Cb%3E%22%27%26",
    )
    .await;
    assert!(html.contains("Charge and temperature of KW-&lt;b&gt;&quot;&#39;&amp; over"));
}

#[tokio::test]
async fn a_dock_without_gps_or_readings_says_so_in_words_and_draws_no_empty_chart() {
    let site = TestSite::new(false);
    site.diagnostics.update(|d| {
        *d = Diagnostics {
            now_ms: 1_709_211_909_750,
            ..Diagnostics::default()
        };
        // Figures that are not numbers are "not known", never NaN.
        d.gps.lat = Some(f64::NAN);
        d.gps.hdop = Some(f64::INFINITY);
        d.power.thermal = vec![Thermal {
            name: "cpu".to_owned(),
            temp_c: Some(f64::NAN),
        }];
    });
    let (status, html) = page_as(&site, Role::Technician, PAGE_PATH).await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "<strong>no GPS configured</strong>",
        "This dock has no GPS receiver configured.",
        "No GPS configured, and no GPS readings in the last 7 days.",
        "No GPS events (fix lost or regained, gpsd gone or back) in the last 7 days.",
        "no reading yet",
        "No backup battery or UPS found.",
        "No power or temperature readings were recorded in the last 7 days.",
        "No wearable has been docked yet.",
        "none: the page is served without HTTPS",
        "not known",
    ] {
        assert!(html.contains(expected), "missing {expected}");
    }
    for forbidden in ["<svg", "NaN", "inf", "<progress"] {
        assert!(!html.contains(forbidden), "{forbidden}");
    }
    // Configured but never connected: no fix, in words, and still no chart.
    site.diagnostics.update(|d| {
        d.gps.configured = true;
        d.gps.problem = Some("gpsd is not running at 127.0.0.1:2947".to_owned());
    });
    let (_, html) = page_as(&site, Role::Technician, PAGE_PATH).await;
    assert!(html.contains("<strong>no fix</strong>"));
    assert!(html.contains("gpsd is not running at 127.0.0.1:2947"));
    assert!(html.contains("No GPS readings were recorded in the last 7 days."));
    assert!(html.contains("<dt>Last known position</dt><dd>none yet</dd>"));
    assert!(!html.contains("<svg"));
    // The JSON of an empty dock is still whole.
    let body = body_json(get(signed_in(&site, Role::Admin), API_ALL).await).await;
    assert_eq!(body["gps"]["configured"], true);
    assert_eq!(body["gps_history"], Value::Array(Vec::new()));
}

#[tokio::test]
async fn only_the_newest_50_events_are_listed_newest_first() {
    let site = TestSite::new(false);
    site.diagnostics.update(|d| {
        d.gps_events = (0..80)
            .map(|i| GpsEventLine {
                at_ms: d.now_ms - 60_000 * (80 - i),
                kind: "fix_lost".to_owned(),
                text: format!("event number {i}."),
            })
            .collect();
    });
    let (_, html) = page_as(&site, Role::Technician, PAGE_PATH).await;
    assert_eq!(html.matches("<li data-kind=\"fix_lost\">").count(), 50);
    assert!(html.contains("The newest 50 of 80 events, newest first."));
    assert!(html.contains("event number 79."));
    assert!(html.contains("event number 30."));
    assert!(!html.contains("event number 29."));
    assert!(html.find("event number 79.").unwrap() < html.find("event number 30.").unwrap());
}

#[tokio::test]
async fn the_wearable_picker_charts_the_chosen_wearable_and_falls_back_in_words() {
    let site = TestSite::new(false);
    let (_, html) = page_as(&site, Role::Technician, "/diagnostics?wearable=KW-00101").await;
    assert!(html.contains("Charge and temperature of KW-00101 over the last 7 days"));
    assert!(html.contains("<option value=\"KW-00101\" selected>KW-00101</option>"));
    assert!(html.contains("<option value=\"KW-00102\">KW-00102 (check battery)</option>"));
    // The range links keep the chosen wearable.
    assert!(html.contains("href=\"/diagnostics?days=30&amp;wearable=KW-00101\""));
    let (_, html) = page_as(&site, Role::Technician, "/diagnostics?wearable=KW-99999").await;
    assert!(html.contains("There is no wearable with that serial on this dock"));
    assert!(html.contains("Charge and temperature of KW-00102"));
    // Readings only from the last two hours: the chart starts at them, and says so.
    site.diagnostics.update(|d| {
        let now = d.now_ms;
        for (m, point) in d.wearables[1].history.iter_mut().enumerate() {
            point.at_ms = now - 7_200_000 + i64::try_from(m).unwrap() * 60_000;
        }
    });
    let (_, html) = page_as(&site, Role::Technician, PAGE_PATH).await;
    assert!(html.contains(
        "The first reading in this time is from <time datetime=\"2024-02-29T11:05:09Z\">"
    ));
    // A wearable without readings in the time shown gets words, not an empty chart.
    site.diagnostics.update(|d| d.wearables[1].history.clear());
    let (_, html) = page_as(&site, Role::Technician, PAGE_PATH).await;
    assert!(html.contains("No battery readings from this wearable in the last 7 days."));
    assert_eq!(html.matches("<svg class=\"chart dg-chart\"").count(), 2);
}

#[tokio::test]
async fn the_stylesheet_is_served_as_css_and_loads_nothing_from_elsewhere() {
    let site = TestSite::new(false);
    let response = get(signed_in(&site, Role::Technician), STYLE_PATH).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    let css = body_text(response).await;
    assert!(css.contains(".dg-figure"));
    assert!(css.contains(".dg-flagged"));
    assert!(!css.contains("url(") && !css.contains("@import"));
    // The page links it after the site's stylesheet.
    let (_, html) = page_as(&site, Role::Technician, PAGE_PATH).await;
    let site_css = html.find("href=\"/assets/style.css\"").unwrap();
    let own = html.find("href=\"/assets/diagnostics.css\"").unwrap();
    assert!(site_css < own);
}

/// A daemon whose diagnostics call panics.
struct Broken;

impl DiagnosticsView for Broken {
    fn diagnostics(&self, _days: u32) -> Diagnostics {
        panic!("the database is gone");
    }

    fn upload(&self) -> Option<UploadView> {
        None
    }

    fn upload_now<'a>(&'a self, _user: &'a str) -> crate::ViewFuture<'a, Result<String, String>> {
        Box::pin(async { Err("the database is gone".to_owned()) })
    }

    fn retry_dead_letter<'a>(
        &'a self,
        _id: &'a str,
        _user: &'a str,
    ) -> crate::ViewFuture<'a, Result<String, String>> {
        Box::pin(async { Err("the database is gone".to_owned()) })
    }

    fn drop_dead_letter<'a>(
        &'a self,
        _id: &'a str,
        _user: &'a str,
    ) -> crate::ViewFuture<'a, Result<String, String>> {
        Box::pin(async { Err("the database is gone".to_owned()) })
    }

    fn update(&self) -> UpdateView {
        UpdateView::default()
    }

    fn ask_update<'a>(
        &'a self,
        _ask: UpdateAsk,
        _user: &'a str,
    ) -> crate::ViewFuture<'a, Result<String, String>> {
        Box::pin(async { Err("the database is gone".to_owned()) })
    }
}

fn as_user(path: &str, role: Option<Role>) -> Request<Body> {
    let mut request = Request::get(path).body(Body::empty()).unwrap();
    if let Some(role) = role {
        request.extensions_mut().insert(CurrentUser {
            name: "tina".to_owned(),
            role,
        });
    }
    request
}

#[tokio::test]
async fn a_failing_daemon_gives_503_in_words() {
    let router = routes(
        Arc::new(Broken),
        Arc::new(crate::testing::RecordingAudit::default()),
    );
    let response = send(router.clone(), as_user(API_GPS, Some(Role::Technician))).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body_json(response).await["error"],
        "The dock could not read its diagnostics just now. Try again in a minute."
    );
    let response = send(router, as_user(PAGE_PATH, Some(Role::Admin))).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(body_text(response).await.contains("<h1>Not available</h1>"));
}

#[tokio::test]
async fn the_handlers_refuse_on_their_own_without_a_technician_or_admin() {
    let fake = Arc::new(crate::testing::FakeDiagnostics::default());
    let router = routes(
        fake.clone(),
        Arc::new(crate::testing::RecordingAudit::default()),
    );
    for role in [None, Some(Role::Supervisor)] {
        for path in [PAGE_PATH].into_iter().chain(JSON_ROUTES) {
            let response = send(router.clone(), as_user(path, role)).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role:?} {path}");
        }
    }
    assert!(fake.asked().is_empty());
}

#[tokio::test]
async fn the_openapi_schemas_name_exactly_the_keys_every_route_answers_with() {
    let site = TestSite::new(false);
    let client = signed_in(&site, Role::Admin);
    let schemas = openapi_schemas();
    let paths = openapi_paths();
    for route in JSON_ROUTES {
        let operation = &paths[route]["get"];
        assert_eq!(operation["parameters"][0]["name"], "days", "{route}");
        let schema = operation["responses"]["200"]["content"]["application/json"]["schema"].clone();
        let body = body_json(get(client.clone(), route).await).await;
        check_against_schema(&schemas, &schema, &body, route);
        for status in ["400", "401", "403"] {
            assert!(
                operation["responses"][status].is_object(),
                "{route} {status}"
            );
        }
    }
    let body = body_json(get(client, "/api/v1/diagnostics?days=0").await).await;
    check_against_schema(&schemas, &schemas["DiagnosticsError"], &body, "error");
    // The document the site serves has them too, and no schema names a worker.
    let document =
        body_json(get(signed_in(&site, Role::Technician), "/api/v1/openapi.json").await).await;
    for route in JSON_ROUTES {
        assert!(document["paths"][route]["get"].is_object(), "{route}");
    }
    assert!(!schemas.to_string().to_ascii_lowercase().contains("worker"));
}

/// The Uploads section of the page as `role` sees it.
async fn uploads_section(site: &TestSite, role: Role) -> String {
    let (status, html) = page_as(site, role, PAGE_PATH).await;
    assert_eq!(status, StatusCode::OK);
    let start = html.find("id=\"dg-upload\"").expect("an Uploads section");
    let end = html[start..].find("</section>").unwrap();
    html[start..start + end].to_owned()
}

/// A url-encoded form POST to `path` with the session's CSRF token and `fields`.
async fn post_form(client: &Client, path: &str, fields: &str) -> axum::response::Response {
    let body = if fields.is_empty() {
        format!("csrf={}", client.csrf())
    } else {
        format!("csrf={}&{fields}", client.csrf())
    };
    client
        .send(
            client
                .builder(axum::http::Method::POST, path)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
}

#[tokio::test]
async fn without_upload_configured_the_section_says_so_in_words() {
    let site = TestSite::new(false);
    site.diagnostics.set_upload(None);
    for role in [Role::Technician, Role::Admin] {
        let section = uploads_section(&site, role).await;
        assert!(
            section.contains("Cloud upload is not configured on this dock."),
            "{section}"
        );
        assert!(!section.contains("<form"), "{section}");
    }
    let body = body_json(get(signed_in(&site, Role::Admin), API_ALL).await).await;
    assert_eq!(body["upload"], Value::Null);
    assert!(body["host"].get("upload").is_none());
}

#[tokio::test]
async fn the_uploads_section_shows_the_queue_the_last_error_and_the_dead_letters() {
    let site = TestSite::new(false);
    let section = uploads_section(&site, Role::Technician).await;
    for expected in [
        "<h2 id=\"dg-upload-h\">Uploads</h2>",
        "<code>HTTPS https://cloud.example/ingest</code>",
        "1234 items (",
        // Queued 26 hours before the page was read.
        "1 day, 2 hours old",
        "<dt>Last success</dt><dd><time",
        "The receiver answered 500 Internal Server Error.",
        "<dt>Paused</dt><dd>no</dd>",
        "<h3>Dead letters</h3>",
        "<th scope=\"row\" data-label=\"Kind\">alert</th>",
        "2024-02-28",
        "<td data-label=\"Items\">17</td>",
        "The receiver refused the batch&#39;s content (422).",
    ] {
        assert!(section.contains(expected), "{expected}: {section}");
    }
    // Paused: said in a warning box and in the facts.
    site.diagnostics.set_upload(Some(UploadView {
        paused: Some("The receiver refused the dock's token (401).".to_owned()),
        dead_letters: Vec::new(),
        oldest_ms: None,
        last_success_ms: None,
        ..crate::testing::upload_view()
    }));
    let section = uploads_section(&site, Role::Technician).await;
    for expected in [
        "Uploads are paused: The receiver refused the dock&#39;s token (401).",
        "<dt>Paused</dt><dd><strong>yes:</strong>",
        "<dt>Oldest item</dt><dd>nothing is waiting</dd>",
        "<dt>Last success</dt><dd>never</dd>",
        "No dead letters",
    ] {
        assert!(section.contains(expected), "{expected}: {section}");
    }
    // The JSON carries the same figures.
    site.diagnostics
        .set_upload(Some(crate::testing::upload_view()));
    let body = body_json(get(signed_in(&site, Role::Technician), API_ALL).await).await;
    assert_eq!(body["upload"]["queued_items"], 1234);
    assert_eq!(body["upload"]["dead_letters"][0]["id"], "b-7f3a");
}

#[tokio::test]
async fn an_admin_gets_the_upload_forms_and_a_technician_sees_no_button() {
    let site = TestSite::new(false);
    let admin = signed_in(&site, Role::Admin);
    let section = uploads_section(&site, Role::Admin).await;
    let csrf_field = "<input type=\"hidden\" name=\"csrf\" value=\"";
    assert!(
        section.contains("action=\"/diagnostics/upload-now\""),
        "{section}"
    );
    assert!(section.contains(">Upload now</button>"));
    assert!(section.contains("action=\"/diagnostics/dead-letters/b-7f3a/retry\""));
    assert!(section.contains("action=\"/diagnostics/dead-letters/b-7f3a/drop\""));
    // Dropping asks for confirmation in the form itself (works without script).
    assert!(section.contains("name=\"confirm\" value=\"yes\" required"));
    assert_eq!(section.matches(csrf_field).count(), 3);
    assert!(!admin.csrf().is_empty());
    let section = uploads_section(&site, Role::Technician).await;
    assert!(!section.contains("<form"), "{section}");
    assert!(!section.contains("<button"), "{section}");
    assert!(
        section.contains("1234 items"),
        "the technician sees the state"
    );
}

#[tokio::test]
async fn a_technician_is_refused_on_every_upload_form_and_nothing_reaches_the_daemon() {
    let site = TestSite::new(false);
    let technician = signed_in(&site, Role::Technician);
    for path in [
        "/diagnostics/upload-now",
        "/diagnostics/dead-letters/b-7f3a/retry",
        "/diagnostics/dead-letters/b-7f3a/drop",
    ] {
        let response = post_form(&technician, path, "confirm=yes").await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let supervisor = signed_in(&site, Role::Supervisor);
    let response = post_form(&supervisor, "/diagnostics/upload-now", "").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(site.diagnostics.upload_requests().is_empty());
    // The handlers refuse on their own too, without the site's guards.
    let router = routes(site.diagnostics.clone(), site.audit.clone());
    let mut request = as_user("/diagnostics/upload-now", Some(Role::Technician));
    *request.method_mut() = axum::http::Method::POST;
    let response = send(router, request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(site.diagnostics.upload_requests().is_empty());
}

#[tokio::test]
async fn an_admins_upload_forms_reach_the_daemon_and_the_page_says_what_was_done_once() {
    let site = TestSite::new(false);
    let admin = site.signed_in("ada", Role::Admin);
    let response = post_form(&admin, "/diagnostics/upload-now", "").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/diagnostics#dg-upload");
    let response = post_form(&admin, "/diagnostics/dead-letters/b-7f3a/retry", "").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // The notice left by the last form is shown on the next view, once.
    let html = body_text(get(admin.clone(), PAGE_PATH).await).await;
    assert!(html.contains("Done: retry b-7f3a"), "{html}");
    let html = body_text(get(admin.clone(), PAGE_PATH).await).await;
    assert!(!html.contains("Done: retry b-7f3a"));
    // Dropping without the box ticked is refused in words and reaches nobody.
    let response = post_form(&admin, "/diagnostics/dead-letters/b-7f3a/drop", "").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(response).await.contains("tick the box"));
    let response = post_form(
        &admin,
        "/diagnostics/dead-letters/b-7f3a/drop",
        "confirm=yes",
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // An id that is no batch id is a 404 and reaches nobody.
    let response = post_form(&admin, "/diagnostics/dead-letters/a%20b/retry", "").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        site.diagnostics.upload_requests(),
        [
            ("now", String::new(), "ada".to_owned()),
            ("retry", "b-7f3a".to_owned(), "ada".to_owned()),
            ("drop", "b-7f3a".to_owned(), "ada".to_owned()),
        ]
    );
    // The daemon's refusal is shown in its words.
    site.diagnostics
        .refuse_uploads("cloud upload is not configured on this dock");
    let response = post_form(&admin, "/diagnostics/upload-now", "").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        body_text(response)
            .await
            .contains("cloud upload is not configured on this dock")
    );
}

#[tokio::test]
async fn the_upload_forms_need_the_sessions_csrf_token() {
    let site = TestSite::new(false);
    let admin = signed_in(&site, Role::Admin);
    let response = admin
        .send(
            admin
                .builder(axum::http::Method::POST, "/diagnostics/upload-now")
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("csrf=wrong"))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(site.diagnostics.upload_requests().is_empty());
}

#[tokio::test]
async fn an_unsynchronised_clock_is_a_banner_above_the_sections_and_a_fact_of_the_dock() {
    let site = TestSite::new(false);
    let (status, html) = page_as(&site, Role::Technician, PAGE_PATH).await;
    assert_eq!(status, StatusCode::OK);
    let banner = html
        .find("<p class=\"dg-banner\" role=\"alert\">The system clock is NOT synchronised")
        .expect("the banner");
    let sections = html.find("id=\"dg-gps\"").expect("the GPS section");
    assert!(banner < sections, "the banner comes first");
    assert!(html.contains("<dt>System clock</dt>"), "{html}");
}

/// The Software update section of the page as `client` sees it.
async fn update_section(client: Client) -> String {
    let response = get(client, PAGE_PATH).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    let start = html
        .find("id=\"dg-update\"")
        .expect("a Software update section");
    let end = html[start..].find("</section>").unwrap();
    html[start..start + end].to_owned()
}

#[tokio::test]
async fn the_software_update_section_shows_the_updaters_state_and_its_events_newest_first() {
    let site = TestSite::new(false);
    let section = update_section(signed_in(&site, Role::Technician)).await;
    for expected in [
        "<h2 id=\"dg-update-h\">Software update</h2>",
        "<dt>Running</dt><dd><code>0.3.1</code></dd>",
        "<code>https://releases.example/dock/manifest.json</code>",
        "<dt>On trial</dt><dd>no</dd>",
        "02:00-04:00 site time",
        "<dt>Last check</dt><dd><time datetime=\"2024-02-29T13:00:09Z\">2024-02-29 13:00 UTC</time>: 0.4.0 is available",
        "<dt>Offered</dt><dd><code>0.4.0</code></dd>",
        "<h3>Update events</h3>",
        "<td data-label=\"Event\">rolled back</td><td data-label=\"Version\">0.3.2</td>",
        "0.3.2 failed its health check: selftest failed",
        // A refused manifest names no version; the daemon's words are escaped.
        "<td data-label=\"Version\">-</td>",
        "the manifest expired on 2024-02-01 &lt;script&gt;",
    ] {
        assert!(section.contains(expected), "{expected}: {section}");
    }
    assert!(!section.contains("<script>"), "{section}");
    let newest = section.find("data-kind=\"checked\"").unwrap();
    let rollback = section.find("data-kind=\"rolled_back\"").unwrap();
    let install = section.find("data-kind=\"installed\"").unwrap();
    assert!(newest < rollback && rollback < install, "newest first");
    // A technician sees the state, and no button.
    assert!(!section.contains("<form"), "{section}");
    // On trial, the page says what that means for the wearables.
    site.diagnostics.set_update(crate::diagnostics::UpdateView {
        on_trial: true,
        ..crate::testing::update_view()
    });
    let section = update_section(signed_in(&site, Role::Technician)).await;
    assert!(
        section.contains("<strong>yes:</strong> wearables are not erased"),
        "{section}"
    );
    // The JSON carries the same figures.
    let body = body_json(get(signed_in(&site, Role::Technician), API_ALL).await).await;
    assert_eq!(body["update"]["running"], "0.3.1");
    assert_eq!(body["update"]["events"][2]["action"], "rolled_back");
    assert_eq!(body["update"]["events"][2]["words"], "rolled back");
}

#[tokio::test]
async fn without_update_configured_the_section_says_so_and_offers_no_button() {
    let site = TestSite::new(false);
    site.diagnostics.set_update(crate::diagnostics::UpdateView {
        running: "0.3.1".to_owned(),
        ..crate::diagnostics::UpdateView::default()
    });
    let section = update_section(signed_in(&site, Role::Admin)).await;
    for expected in [
        "<dt>Running</dt><dd><code>0.3.1</code></dd>",
        "<dt>Self-update</dt><dd>not configured on this dock</dd>",
        "<code>manifest_url</code> in the <code>[update]</code> part",
        "No update events",
    ] {
        assert!(section.contains(expected), "{expected}: {section}");
    }
    assert!(!section.contains("<form"), "{section}");
    let body = body_json(get(signed_in(&site, Role::Admin), API_ALL).await).await;
    assert_eq!(body["update"]["configured"], false);
}

#[tokio::test]
async fn an_admin_gets_check_now_and_install_now_with_its_confirmation_step() {
    let site = TestSite::new(false);
    let section = update_section(signed_in(&site, Role::Admin)).await;
    assert!(
        section.contains("action=\"/diagnostics/update/check\""),
        "{section}"
    );
    assert!(section.contains(">Check now</button>"));
    assert!(section.contains("action=\"/diagnostics/update/install\""));
    assert!(section.contains(">Install now</button>"));
    // Installing is confirmed in the form itself (works without script), saying what happens.
    assert!(section.contains("name=\"confirm\" value=\"yes\" required"));
    assert!(section.contains(
        "Restart the dock into the newer release; it keeps the new version only if it passes \
         its health check"
    ));
    assert_eq!(
        section
            .matches("<input type=\"hidden\" name=\"csrf\" value=\"")
            .count(),
        2
    );
}

#[tokio::test]
async fn an_admins_check_now_asks_the_updater_as_them_is_audited_and_shown_once() {
    let site = TestSite::new(false);
    let admin = site.signed_in("ada", Role::Admin);
    let response = post_form(&admin, UPDATE_CHECK_PATH, "").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/diagnostics#dg-update");
    assert_eq!(
        site.diagnostics.update_requests(),
        [(UpdateAsk::Check, "ada".to_owned())]
    );
    assert!(site.audit.records().contains(&[
        "ada".to_owned(),
        "update check".to_owned(),
        "dockd 0.3.1 is up to date".to_owned()
    ]));
    let section = update_section(admin.clone()).await;
    assert!(
        section.contains("data-kind=\"done\">dockd 0.3.1 is up to date</p>"),
        "{section}"
    );
    let section = update_section(admin.clone()).await;
    assert!(!section.contains("is up to date</p>"), "shown once");
    // A refusal is the updater's sentence too, marked as one, and audited as refused.
    site.diagnostics.answer_updates(Err(
        "the release server could not be reached: connection refused",
    ));
    let response = post_form(&admin, UPDATE_CHECK_PATH, "").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let section = update_section(admin.clone()).await;
    assert!(
        section.contains(
            "data-kind=\"problem\">Refused: the release server could not be reached: connection refused</p>"
        ),
        "{section}"
    );
    assert!(site.audit.records().contains(&[
        "ada".to_owned(),
        "update check".to_owned(),
        "refused: the release server could not be reached: connection refused".to_owned()
    ]));
}

#[tokio::test]
async fn install_now_needs_its_box_ticked_and_then_reaches_the_updater_audited() {
    let site = TestSite::new(false);
    let admin = site.signed_in("ada", Role::Admin);
    let response = post_form(&admin, UPDATE_NOW_PATH, "").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(response).await.contains("tick the box"));
    assert!(site.diagnostics.update_requests().is_empty());
    site.diagnostics.answer_updates(Ok(
        "0.4.0 installed; dockd restarts into it now and keeps it only if it passes its health check",
    ));
    let response = post_form(&admin, UPDATE_NOW_PATH, "confirm=yes").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        site.diagnostics.update_requests(),
        [(UpdateAsk::InstallNow, "ada".to_owned())]
    );
    assert!(site.audit.records().iter().any(|[user, action, subject]| {
        user == "ada" && action == "update install" && subject.starts_with("asked to install")
    }));
}

#[tokio::test]
async fn a_supervisor_or_technician_is_refused_on_the_update_forms_and_nothing_reaches_the_updater()
{
    let site = TestSite::new(false);
    for role in [Role::Supervisor, Role::Technician] {
        let client = signed_in(&site, role);
        for path in [UPDATE_CHECK_PATH, UPDATE_NOW_PATH] {
            let response = post_form(&client, path, "confirm=yes").await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role:?} {path}");
        }
    }
    // The handlers refuse on their own too, without the site's guards.
    let router = routes(site.diagnostics.clone(), site.audit.clone());
    let mut request = as_user(UPDATE_CHECK_PATH, Some(Role::Technician));
    *request.method_mut() = axum::http::Method::POST;
    let response = send(router, request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(site.diagnostics.update_requests().is_empty());
    assert!(
        !site
            .audit
            .records()
            .iter()
            .any(|[_, action, _]| action.starts_with("update"))
    );
}

#[tokio::test]
async fn the_update_forms_need_the_sessions_csrf_token() {
    let site = TestSite::new(false);
    let admin = signed_in(&site, Role::Admin);
    for path in [UPDATE_CHECK_PATH, UPDATE_NOW_PATH] {
        let response = admin
            .send(
                admin
                    .builder(axum::http::Method::POST, path)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from("csrf=wrong&confirm=yes"))
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert!(site.diagnostics.update_requests().is_empty());
}
