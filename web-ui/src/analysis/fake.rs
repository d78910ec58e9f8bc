//! Test support for the analysis pages: a fake daemon behind `AnalysisView` with realistic data
//! (and hostile labels), and request helpers that act as the sign-in guard by inserting a
//! `CurrentUser`. Views are audited by the site's layer, tested through the whole site. Compiled
//! for tests only.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use axum::{
    Router,
    body::Body,
    http::{Request, Response, StatusCode, header::CONTENT_TYPE},
};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::{AnalysisView, routes, view::*};
use crate::access::{CurrentUser, Role};

#[derive(Default)]
pub(crate) struct FakeView {
    days: Mutex<Vec<Option<String>>>,
    shifts: Mutex<Vec<Option<i64>>>,
    viewers: Mutex<Vec<Viewer>>,
    empty: AtomicBool,
    panic_tasks: AtomicBool,
    panic_overview: AtomicBool,
    /// Workers whose reports "arrived" after the start (see [`Fake::add_worker`]).
    added: Mutex<Vec<WorkerRow>>,
    /// The data version; bumped by every change the fake makes to its data.
    version: AtomicU64,
    /// A daemon that cannot tell its version (`version()` answers `None`).
    unversioned: AtomicBool,
}

pub(crate) struct Fake {
    view: Arc<FakeView>,
}

impl Fake {
    pub(crate) fn new() -> Fake {
        Fake {
            view: Arc::new(FakeView::default()),
        }
    }

    pub(crate) fn router(&self) -> Router {
        routes(self.view.clone())
    }

    /// The same routes, keeping the overview's rendered answers in `rendered`.
    pub(super) fn router_keeping(&self, rendered: Arc<super::overview::Rendered>) -> Router {
        super::routes_keeping(self.view.clone(), rendered)
    }

    pub(crate) fn days_asked(&self) -> Vec<Option<String>> {
        self.view.days.lock().unwrap().clone()
    }

    pub(crate) fn shifts_asked(&self) -> Vec<Option<i64>> {
        self.view.shifts.lock().unwrap().clone()
    }

    pub(crate) fn viewers_asked(&self) -> Vec<Viewer> {
        self.view.viewers.lock().unwrap().clone()
    }

    /// From now on the site has no analysed shifts.
    pub(crate) fn set_empty(&self) {
        self.view.empty.store(true, Ordering::SeqCst);
        self.view.version.fetch_add(1, Ordering::SeqCst);
    }

    /// New reports arrived: a worker with `label` joins 2025-03-04 (and the version moves).
    pub(crate) fn add_worker(&self, label: &str) {
        let mut added = self.view.added.lock().unwrap();
        let worker = 100 + added.len() as i64;
        added.push(row(
            worker,
            label,
            "Night shift",
            "Picking",
            RiskLevel::Medium,
            17.0,
            Some(3_000),
            &[],
        ));
        self.view.version.fetch_add(1, Ordering::SeqCst);
    }

    /// From now on the fake cannot tell its data version.
    pub(crate) fn set_unversioned(&self) {
        self.view.unversioned.store(true, Ordering::SeqCst);
    }

    pub(crate) fn panic_on_tasks(&self) {
        self.view.panic_tasks.store(true, Ordering::SeqCst);
    }

    /// Whether `overview()` panics (as a daemon whose database went away would fail).
    pub(crate) fn set_overview_panics(&self, panics: bool) {
        self.view.panic_overview.store(panics, Ordering::SeqCst);
    }
}

impl AnalysisView for FakeView {
    fn version(&self) -> Option<u64> {
        (!self.unversioned.load(Ordering::SeqCst)).then(|| self.version.load(Ordering::SeqCst))
    }

    fn overview(&self, day: Option<&str>) -> Overview {
        self.days.lock().unwrap().push(day.map(str::to_owned));
        assert!(
            !self.panic_overview.load(Ordering::SeqCst),
            "the database is gone"
        );
        if self.empty.load(Ordering::SeqCst) {
            return Overview {
                day: None,
                previous_day: None,
                next_day: None,
                teams: Vec::new(),
                tasks: Vec::new(),
                workers: Vec::new(),
            };
        }
        let mut data = overview();
        data.workers
            .extend(self.added.lock().unwrap().iter().cloned());
        data
    }

    fn worker(&self, worker: i64, shift_start_ms: Option<i64>) -> Option<WorkerDetail> {
        self.shifts.lock().unwrap().push(shift_start_ms);
        let mut detail = match worker {
            12 => worker_detail(12, "Anna K.", Some("Receiving team")),
            7 => {
                let mut d = worker_detail(7, "<script>alert(1)</script>", Some("\"><img src=x>"));
                d.advice[0].text = "<i>raise</i> the pallets".to_owned();
                d
            }
            _ => return None,
        };
        let chosen = shift_start_ms
            .and_then(|start| detail.shifts.iter().find(|s| s.start_ms == start))
            .or(detail.shifts.last())
            .cloned();
        if let (Some(chosen), Some(shift)) = (chosen, detail.shift.as_mut()) {
            shift.summary = chosen;
        }
        Some(detail)
    }

    fn tasks(&self, viewer: Viewer) -> TasksAndHours {
        self.viewers.lock().unwrap().push(viewer);
        assert!(
            !self.panic_tasks.load(Ordering::SeqCst),
            "the database is gone"
        );
        tasks_and_hours(viewer)
    }
}

fn rates(bends: f64, twists: f64, reaches: f64) -> Rates {
    Rates {
        bends,
        deep_bends: (bends * 0.3).round(),
        twists,
        lateral_bends: 2.0,
        reaches,
        lifts: 6.0,
    }
}

fn zones(acceptable: f64, conditional: f64, not_acceptable: f64) -> PostureZones {
    PostureZones {
        acceptable_s: acceptable,
        conditional_s: conditional,
        not_acceptable_s: not_acceptable,
    }
}

#[allow(clippy::too_many_arguments)]
fn row(
    worker: i64,
    label: &str,
    team: &str,
    task: &str,
    level: RiskLevel,
    bends: f64,
    response: Option<u32>,
    reasons: &[&str],
) -> WorkerRow {
    WorkerRow {
        worker,
        label: label.to_owned(),
        team: Some(team.to_owned()),
        tasks: vec![task.to_owned()],
        shifts: 1,
        wear_h: 7.5,
        per_hour: rates(bends, 8.0, 3.0),
        zones: zones(18_900.0, 5_400.0, 2_700.0),
        alerts: 6,
        median_response_ms: response,
        risk_level: level,
        reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
        work_restrictions_exceeded: Vec::new(),
    }
}

/// 2025-03-04: four workers, one with a hostile label and team, one (Anna K.) beyond her work
/// restriction.
pub(crate) fn overview() -> Overview {
    let mut overview = four_workers();
    if let Some(anna) = overview.workers.iter_mut().find(|row| row.worker == 12) {
        anna.work_restrictions_exceeded = vec![WorkRestrictionExceeded {
            work_restriction: 5,
            what: "14 lifts in the hour 10:00–11:00 (limit 10)".to_owned(),
            when: vec!["10:00–11:00".to_owned()],
        }];
    }
    overview
}

fn four_workers() -> Overview {
    Overview {
        day: Some("2025-03-04".to_owned()),
        previous_day: Some("2025-03-03".to_owned()),
        next_day: None,
        teams: vec![
            "Night shift".to_owned(),
            "Receiving team".to_owned(),
            "\"><img src=x>".to_owned(),
        ],
        tasks: vec!["Picking".to_owned(), "Receiving".to_owned()],
        workers: vec![
            row(
                5,
                "Chris M.",
                "Night shift",
                "Picking",
                RiskLevel::Low,
                9.0,
                Some(4_200),
                &[],
            ),
            row(
                31,
                "B-7F3A",
                "Receiving team",
                "Receiving",
                RiskLevel::Medium,
                22.0,
                None,
                &["22 bends an hour, above the limit of 20"],
            ),
            row(
                12,
                "Anna K.",
                "Receiving team",
                "Receiving",
                RiskLevel::High,
                41.0,
                Some(1_800),
                &["41 bends an hour, above the limit of 30"],
            ),
            row(
                7,
                "<script>alert(1)</script>",
                "\"><img src=x>",
                "Picking",
                RiskLevel::High,
                35.0,
                Some(2_100),
                &["<b>35</b> bends an hour"],
            ),
        ],
    }
}

const DAY_MS: i64 = 86_400_000;
/// 2025-03-04 06:00 UTC.
const LAST_START_MS: i64 = 1_741_068_000_000;

fn summary(days_back: i64, level: RiskLevel, bends: f64) -> ShiftSummary {
    let start_ms = LAST_START_MS - days_back * DAY_MS;
    ShiftSummary {
        start_ms,
        end_ms: start_ms + 8 * 3_600_000,
        local_day: format!("2025-03-{:02}", 4 - days_back),
        start_time: "06:00".to_owned(),
        end_time: "14:00".to_owned(),
        wear_h: 7.5,
        per_hour: rates(bends, 8.0, 3.0),
        alerts: 6,
        risk_level: level,
        work_restrictions_exceeded: Vec::new(),
    }
}

fn worker_detail(worker: i64, label: &str, team: Option<&str>) -> WorkerDetail {
    let shifts = vec![
        summary(3, RiskLevel::Low, 12.0),
        summary(2, RiskLevel::Medium, 24.0),
        summary(1, RiskLevel::Medium, 26.0),
        summary(0, RiskLevel::High, 41.0),
    ];
    let mut shifts = shifts;
    // The latest shift went beyond the worker's work restriction.
    if let Some(last) = shifts.last_mut() {
        last.work_restrictions_exceeded = vec![WorkRestrictionExceeded {
            work_restriction: 5,
            what: "3 deep bends (limit: none)".to_owned(),
            when: vec!["09:00–10:00 (2)".to_owned(), "<b>14:00</b>".to_owned()],
        }];
    }
    let hours = (6u8..14)
        .map(|hour| HourPoint {
            hour_start_ms: LAST_START_MS + i64::from(hour - 6) * 3_600_000,
            hour_of_day: hour,
            wear_s: 3_400.0,
            bends: u32::from(hour - 1),
            deep_bends: u32::from(hour - 5),
            twists: 2,
            reaches: u32::from(hour % 3),
            lateral_bends: 1,
            lifts: 4,
            zones: Some(zones(2_400.0, 700.0, 300.0)),
        })
        .collect();
    let this_week = rates(34.0, 8.0, 3.0);
    WorkerDetail {
        worker,
        label: label.to_owned(),
        team: team.map(str::to_owned),
        shift: shifts.last().cloned().map(|summary| ShiftDetail {
            summary,
            zones: zones(18_900.0, 5_400.0, 2_700.0),
            median_response_ms: Some(1_800),
            uncorrected_alerts: 1,
            reasons: vec!["41 bends an hour, above the limit of 30".to_owned()],
            hours,
        }),
        shifts,
        weeks: vec![
            WeekPoint {
                week: "2025-W08".to_owned(),
                wear_h: 0.0,
                per_hour: None,
                alerts_per_day: None,
            },
            WeekPoint {
                week: "2025-W09".to_owned(),
                wear_h: 37.5,
                per_hour: Some(rates(27.4, 7.0, 2.0)),
                alerts_per_day: Some(4.2),
            },
            WeekPoint {
                week: "2025-W10".to_owned(),
                wear_h: 15.0,
                per_hour: Some(this_week),
                alerts_per_day: Some(6.0),
            },
        ],
        trend: Some(WeekTrend {
            week: "2025-W10".to_owned(),
            previous: "2025-W09".to_owned(),
            rows: vec![
                TrendRow {
                    metric: "bends_per_hour".to_owned(),
                    label: "Bends per hour".to_owned(),
                    this_week: 34.0,
                    last_week: 27.4,
                    change_pct: Some(24.1),
                },
                TrendRow {
                    metric: "high_risk_share".to_owned(),
                    label: "Share of high-risk shifts (%)".to_owned(),
                    this_week: 50.0,
                    last_week: 0.0,
                    change_pct: None,
                },
            ],
        }),
        goal: Some(GoalView {
            description: "stay below 5 alerts a day".to_owned(),
            limit: Some(5.0),
            unit: "alerts".to_owned(),
            days_total: 5,
            days_met: 3,
            current_streak: 1,
            best_streak: 2,
            days: [
                (2.0, true),
                (4.0, true),
                (7.0, false),
                (6.0, false),
                (3.0, true),
            ]
            .iter()
            .enumerate()
            .map(|(i, (value, met))| GoalDay {
                day: format!("2025-02-{:02}", 24 + i),
                value: *value,
                met: *met,
            })
            .collect(),
        }),
        advice: vec![
            AdviceView {
                text: "Check pallet heights in Receiving".to_owned(),
                evidence: "41 bends an hour against a site median of 18".to_owned(),
            },
            AdviceView {
                text: "Rotate people through Receiving".to_owned(),
                evidence: "most bends between 10:00 and 12:00".to_owned(),
            },
        ],
        work_restrictions: vec![crate::roster::WorkRestriction {
            id: 5,
            worker,
            from_day: "2025-03-03".to_owned(),
            until_day: "2025-03-31".to_owned(),
            no_deep_bends: true,
            max_lifts_per_hour: None,
            max_bends_per_hour: None,
            max_load_kg: None,
            terms: "no deep bends".to_owned(),
            in_force: true,
        }],
    }
}

fn figures(bends: f64, alerts: Option<f64>) -> Option<GroupFigures> {
    Some(GroupFigures {
        wear_h: 120.0,
        per_hour: rates(bends, 7.0, 2.5),
        high_risk_share: 0.25,
        alerts_per_day: alerts,
    })
}

fn group(name: &str, workers: u32, bends: f64, shown: bool, alerts: Option<f64>) -> GroupRow {
    GroupRow {
        name: name.to_owned(),
        workers,
        shifts: workers * 4,
        figures: if shown { figures(bends, alerts) } else { None },
    }
}

fn tasks_and_hours(viewer: Viewer) -> TasksAndHours {
    let admin = viewer == Viewer::Admin;
    TasksAndHours {
        from_day: Some("2025-02-05".to_owned()),
        to_day: Some("2025-03-04".to_owned()),
        min_group_workers: 5,
        site: group("site", 14, 19.0, true, Some(4.5)),
        tasks: vec![
            group("Receiving", 6, 24.0, true, None),
            group("Picking", 3, 31.0, admin, None),
            group("(no task)", 8, 12.0, true, None),
        ],
        hours: (6u8..10)
            .map(|hour| HourRow {
                hour_of_day: hour,
                workers: if hour == 7 { 2 } else { 9 },
                shifts: 20,
                figures: if hour == 7 && !admin {
                    None
                } else {
                    figures(f64::from(hour) * 2.0, None)
                },
            })
            .collect(),
        teams: vec![
            group("Receiving team", 6, 22.0, true, Some(4.0)),
            group("Night shift", 4, 18.0, admin, Some(5.0)),
            group("<script>x</script>", 7, 15.0, admin, Some(3.0)),
        ],
        advice: vec![AdviceView {
            text: "Check pallet heights in Receiving".to_owned(),
            evidence: "24 bends an hour in Receiving, 1.3 times the site median".to_owned(),
        }],
    }
}

/// A GET as a signed-in user with `role` (as the sign-in guard would insert), or as nobody.
pub(crate) async fn get_response(router: Router, path: &str, role: Option<Role>) -> Response<Body> {
    let mut request = Request::builder().uri(path).body(Body::empty()).unwrap();
    if let Some(role) = role {
        request.extensions_mut().insert(CurrentUser {
            name: "sam".to_owned(),
            role,
        });
        request
            .extensions_mut()
            .insert(crate::access::CsrfToken("sam-token".to_owned()));
    }
    router.oneshot(request).await.unwrap()
}

/// Status, content type and body of a GET.
pub(crate) async fn get_as(
    router: Router,
    path: &str,
    role: Option<Role>,
) -> (StatusCode, String, String) {
    let response = get_response(router, path, role).await;
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

pub(crate) fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

/// An object's keys, sorted.
pub(crate) fn sorted_keys(value: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}
