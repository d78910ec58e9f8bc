//! Tests of the roster page and API through its router, over a fake daemon that records every
//! change and a recording audit trail; the sign-in guard is played by layers inserting
//! `CurrentUser`, `CsrfToken` and the session's `Flash`. Compiled for tests only.

use std::{
    collections::BTreeSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use axum::{
    Extension, Router,
    body::Body,
    http::{
        HeaderMap, Method, Request, StatusCode,
        header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, LOCATION},
    },
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::access::{AuditLog, CsrfToken, CurrentUser, Recording, Role};
use crate::auth::Flash;
use crate::testing::check_against_schema;

const TOKEN: &str = "csrf-token-for-tests";
const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

/// 2025-03-04 06:00 UTC.
const MARCH_4: i64 = 1_741_068_000_000;

/// A daemon whose roster the test sets, which records every change it is asked for.
#[derive(Default)]
struct FakeRoster {
    roster: Mutex<Roster>,
    changes: Mutex<Vec<RosterChange>>,
    /// Every deletion asked for: (worker id, by whom).
    deletions: Mutex<Vec<(i64, String)>>,
    /// Every export asked for: (worker id, by whom).
    exports: Mutex<Vec<(i64, String)>>,
    refusal: Mutex<Option<String>>,
    reads: AtomicUsize,
    panics: AtomicBool,
}

impl RosterView for FakeRoster {
    fn roster(&self) -> Roster {
        self.reads.fetch_add(1, Ordering::SeqCst);
        assert!(!self.panics.load(Ordering::SeqCst), "the database is gone");
        self.roster.lock().unwrap().clone()
    }

    fn change(
        &self,
        change: RosterChange,
    ) -> crate::ViewFuture<'_, Result<RosterDone, RosterRefusal>> {
        Box::pin(std::future::ready(self.apply(change)))
    }

    fn export_worker(
        &self,
        id: i64,
        by: String,
    ) -> crate::ViewFuture<'_, Result<crate::roster::WorkerExport, RosterRefusal>> {
        self.exports.lock().unwrap().push((id, by));
        let (sender, chunks) = tokio::sync::mpsc::channel(2);
        Box::pin(async move {
            let _ = sender.send(Ok(b"first ".to_vec())).await;
            let _ = sender.send(Ok(b"second".to_vec())).await;
            Ok(crate::roster::WorkerExport {
                file_name: format!("worker-{id}-export.tar"),
                chunks,
            })
        })
    }

    fn delete_worker(
        &self,
        id: i64,
        by: String,
    ) -> crate::ViewFuture<'_, Result<DeletedWorker, RosterRefusal>> {
        self.deletions.lock().unwrap().push((id, by));
        let refusal = self.refusal.lock().unwrap().clone();
        Box::pin(std::future::ready(match refusal {
            Some(words) => Err(RosterRefusal(words)),
            None => Ok(DeletedWorker {
                summary: format!("worker {id}: their data deleted for good"),
                worker: id,
                deleted: DeletedData {
                    samples: 4500,
                    alerts: 12,
                    events: 3,
                    shift_reports: 1,
                    work_restrictions: 1,
                    quarantined_segments: 0,
                    upload_items: 2,
                    wearables_unassigned: 1,
                    cloud_deletions: 1,
                },
            }),
        }))
    }
}

impl FakeRoster {
    fn apply(&self, change: RosterChange) -> Result<RosterDone, RosterRefusal> {
        self.changes.lock().unwrap().push(change.clone());
        if let Some(words) = self.refusal.lock().unwrap().clone() {
            return Err(RosterRefusal(words));
        }
        Ok(match change {
            RosterChange::AssignWearable { serial, worker } => RosterDone {
                summary: match worker {
                    Some(id) => format!("wearable {serial} assigned to worker {id}"),
                    None => format!("wearable {serial} assigned to no one"),
                },
                worker,
            },
            RosterChange::AddWorker { .. } => RosterDone {
                summary: "worker 40 added".to_owned(),
                worker: Some(40),
            },
            RosterChange::EditWorker { id, .. } => RosterDone {
                summary: format!("worker {id}: details changed"),
                worker: Some(id),
            },
            RosterChange::RecordWorkRestriction { worker, .. } => RosterDone {
                summary: format!("work restriction 5 of worker {worker} recorded"),
                worker: Some(worker),
            },
            RosterChange::EditWorkRestriction { id, .. } => RosterDone {
                summary: format!("work restriction {id} changed"),
                worker: Some(12),
            },
            RosterChange::EndWorkRestriction { id } => RosterDone {
                summary: format!("work restriction {id} ended"),
                worker: Some(12),
            },
            RosterChange::OptOut { id, opted_out } => RosterDone {
                summary: format!(
                    "worker {id} {}",
                    if opted_out {
                        "opted out"
                    } else {
                        "opted back in"
                    }
                ),
                worker: Some(id),
            },
        })
    }
}

#[derive(Default)]
struct FakeAudit {
    entries: Mutex<Vec<(String, String, String)>>,
}

impl AuditLog for FakeAudit {
    fn record<'a>(&'a self, user: &'a str, action: &'a str, subject: &'a str) -> Recording<'a> {
        self.entries
            .lock()
            .unwrap()
            .push((user.to_owned(), action.to_owned(), subject.to_owned()));
        Box::pin(std::future::ready(()))
    }
}

const HOSTILE_SERIAL: &str = "<script>alert('serial')</script>";
const HOSTILE_NAME: &str = "Anna \"K.\" <b>bold</b>";
const HOSTILE_BADGE: &str = "B<1>&\"'";
const HOSTILE_TEAM: &str = "\"><img src=x>";
const HOSTILE_TERMS: &str = "<b>no deep bends</b>";

/// Two wearables (one with a hostile serial), an active worker with hostile name, badge and
/// team, and an opted-out worker without a name.
fn roster() -> Roster {
    Roster {
        wearables: vec![
            RosterWearable {
                serial: "WR-0001".to_owned(),
                worker: Some(12),
                applied: true,
                last_docked_ms: Some(MARCH_4),
            },
            RosterWearable {
                serial: HOSTILE_SERIAL.to_owned(),
                worker: None,
                applied: false,
                last_docked_ms: None,
            },
        ],
        workers: vec![
            RosterWorker {
                id: 12,
                badge: HOSTILE_BADGE.to_owned(),
                pseudonym: "W-3F9A2C".to_owned(),
                display_name: Some(HOSTILE_NAME.to_owned()),
                task: Some("Receiving".to_owned()),
                team: Some(HOSTILE_TEAM.to_owned()),
                opted_out_ms: None,
                discarded_samples: 0,
            },
            RosterWorker {
                id: 7,
                badge: "B-0007".to_owned(),
                pseudonym: "W-81C0D4".to_owned(),
                display_name: None,
                task: None,
                team: Some("Night shift".to_owned()),
                opted_out_ms: Some(MARCH_4),
                discarded_samples: 1_080_000,
            },
        ],
        tasks: vec![
            "Picking".to_owned(),
            "Receiving".to_owned(),
            "<i>Loading</i>".to_owned(),
        ],
        teams: vec!["Night shift".to_owned(), HOSTILE_TEAM.to_owned()],
        work_restrictions: vec![
            WorkRestriction {
                id: 5,
                worker: 12,
                from_day: "2025-03-03".to_owned(),
                until_day: "2025-03-31".to_owned(),
                no_deep_bends: true,
                max_lifts_per_hour: Some(10),
                max_bends_per_hour: None,
                max_load_kg: Some(12.5),
                terms: HOSTILE_TERMS.to_owned(),
                in_force: true,
            },
            WorkRestriction {
                id: 4,
                worker: 7,
                from_day: "2025-01-06".to_owned(),
                until_day: "2025-01-31".to_owned(),
                no_deep_bends: false,
                max_lifts_per_hour: None,
                max_bends_per_hour: Some(20),
                max_load_kg: None,
                terms: "at most 20 bends an hour".to_owned(),
                in_force: false,
            },
        ],
        today: Some("2025-03-04".to_owned()),
        work_restrictions_kept_days: 90,
    }
}

struct Fake {
    view: Arc<FakeRoster>,
    audit: Arc<FakeAudit>,
    /// The one session every request of the test is under.
    flash: Flash,
}

/// One answer, read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn location(&self) -> &str {
        self.headers[LOCATION].to_str().unwrap()
    }
}

impl Fake {
    fn new() -> Fake {
        let view = FakeRoster::default();
        *view.roster.lock().unwrap() = roster();
        Fake {
            view: Arc::new(view),
            audit: Arc::new(FakeAudit::default()),
            flash: Flash::for_tests(CurrentUser {
                name: "sam".to_owned(),
                role: Role::Supervisor,
            }),
        }
    }

    /// The roster routes as the site mounts them: for a user with `role` (and a CSRF token), or
    /// for nobody.
    fn router(&self, role: Option<Role>) -> Router {
        let router = routes(self.view.clone(), self.audit.clone());
        match role {
            Some(role) => router
                .layer(Extension(CurrentUser {
                    name: "sam".to_owned(),
                    role,
                }))
                .layer(Extension(CsrfToken(TOKEN.to_owned())))
                .layer(Extension(self.flash.clone())),
            None => router,
        }
    }

    async fn send(&self, role: Option<Role>, request: Request<Body>) -> Answer {
        let response = self.router(role).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    async fn get(&self, role: Option<Role>, path: &str) -> Answer {
        self.send(role, Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    async fn post(&self, role: Option<Role>, path: &str, content_type: &str, body: &str) -> Answer {
        let request = Request::post(path)
            .header(CONTENT_TYPE, content_type)
            .body(Body::from(body.to_owned()))
            .unwrap();
        self.send(role, request).await
    }

    async fn page(&self) -> String {
        let answer = self.get(Some(Role::Supervisor), "/roster").await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.body
    }

    fn changes(&self) -> Vec<RosterChange> {
        self.view.changes.lock().unwrap().clone()
    }

    fn audit_entries(&self) -> Vec<(String, String, String)> {
        self.audit.entries.lock().unwrap().clone()
    }

    fn refuse_with(&self, words: &str) {
        *self.view.refusal.lock().unwrap() = Some(words.to_owned());
    }
}

const SUPERVISOR: Option<Role> = Some(Role::Supervisor);

/// Every `value` of attribute `name` in `html`, as written (still escaped).
fn attribute_values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    html.split(&needle)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

#[tokio::test]
async fn the_page_escapes_hostile_serials_names_badges_tasks_and_teams() {
    let fake = Fake::new();
    let html = fake.page().await;
    for raw in [
        "<script",
        "<img",
        "<b>",
        "<i>",
        HOSTILE_SERIAL,
        HOSTILE_NAME,
        HOSTILE_BADGE,
    ] {
        assert!(!html.contains(raw), "{raw} is on the page unescaped");
    }
    for escaped in [
        "&lt;script&gt;alert(&#39;serial&#39;)&lt;/script&gt;",
        "Anna &quot;K.&quot; &lt;b&gt;bold&lt;/b&gt;",
        "B&lt;1&gt;&amp;&quot;&#39;",
        "&quot;&gt;&lt;img src=x&gt;",
        "&lt;i&gt;Loading&lt;/i&gt;",
    ] {
        assert!(html.contains(escaped), "{escaped} is missing");
    }
    // No element id is built from text: every id is a fixed word or a row number.
    for id in attribute_values(&html, "id") {
        assert!(
            id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "{id}"
        );
    }
}

#[tokio::test]
async fn the_page_shows_assignments_opt_outs_and_the_privacy_promise() {
    let fake = Fake::new();
    let html = fake.page().await;
    assert!(html.contains("On the wearable"));
    assert!(html.contains("Sent at next docking"));
    assert!(html.contains("<time datetime=\"2025-03-04\">2025-03-04</time>"));
    assert!(html.contains(
        "Opted out since <time datetime=\"2025-03-04\">2025-03-04</time> — data from their \
         wearable is discarded at docking (1,080,000 samples discarded)"
    ));
    assert!(html.contains("Active"));
    // The nameless worker is shown by pseudonym; names stay on the dock.
    assert!(html.contains("W-81C0D4"));
    assert!(html.contains("stay on this dock"));
    assert!(html.contains("<a href=\"/roster\" aria-current=\"page\">Roster</a>"));
    assert!(html.contains("href=\"/assets/roster.css\""));
    // The current assignment and task are preselected.
    assert!(html.contains("<option value=\"12\" selected>"));
    assert!(html.contains("<option value=\"Receiving\" selected>Receiving</option>"));
    assert!(html.contains("<datalist id=\"ro-teams\"><option value=\"Night shift\">"));
}

#[tokio::test]
async fn every_form_posts_with_the_csrf_token_and_every_field_has_a_label() {
    let fake = Fake::new();
    let html = fake.page().await;
    let forms = html.matches("<form ").count();
    // Two wearables, two workers with an edit and an opt-out form each, one add form; two work
    // restrictions with an edit form each and "End now" for the one in force, a form recording
    // one per worker; and the account bar's sign-out.
    assert_eq!(forms, 13);
    assert_eq!(
        html.matches("<form method=\"post\" action=\"/api/v1/roster/")
            .count(),
        12
    );
    assert_eq!(
        html.matches("<form class=\"logout\" method=\"post\" action=\"/logout\">")
            .count(),
        1
    );
    let hidden = format!("<input type=\"hidden\" name=\"csrf\" value=\"{TOKEN}\">");
    assert_eq!(html.matches(&hidden).count(), forms);
    for form in html.split("<form ").skip(1) {
        let form = form.split("</form>").next().unwrap();
        assert!(form.contains(&hidden), "a form without the token: {form}");
    }

    let labelled: Vec<&str> = attribute_values(&html, "for");
    let ids: Vec<&str> = attribute_values(&html, "id");
    for target in &labelled {
        assert_eq!(
            ids.iter().filter(|id| *id == target).count(),
            1,
            "label for {target}"
        );
    }
    let unique: BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate ids");
    let selects = html.split("<select ").skip(1);
    let inputs = html
        .split("<input ")
        .skip(1)
        .filter(|input| !input.starts_with("type=\"hidden\""));
    let mut controls = 0;
    for control in selects.chain(inputs) {
        let control = format!(" {control}");
        let id = attribute_values(&control, "id")
            .first()
            .copied()
            .unwrap_or_default();
        assert!(labelled.contains(&id), "a control without a label: {id:?}");
        controls += 1;
    }
    // Two wearable selects, three fields per worker, four in the add form, six per work
    // restriction form (two to edit, one to record per worker).
    assert_eq!(controls, 2 + 2 * 3 + 4 + 4 * 6);
}

#[tokio::test]
async fn json_posts_reach_the_daemon_as_the_right_change() {
    let fake = Fake::new();
    let cases = [
        (
            "/api/v1/roster/wearables",
            json!({ "serial": "WR-0001", "worker": 7 }),
            StatusCode::OK,
            RosterChange::AssignWearable {
                serial: "WR-0001".to_owned(),
                worker: Some(7),
            },
        ),
        (
            "/api/v1/roster/wearables",
            json!({ "serial": "WR-0001", "worker": null }),
            StatusCode::OK,
            RosterChange::AssignWearable {
                serial: "WR-0001".to_owned(),
                worker: None,
            },
        ),
        (
            "/api/v1/roster/workers",
            json!({ "badge": " B-0042 ", "display_name": "Chris M.", "task": "Picking", "team": "" }),
            StatusCode::CREATED,
            RosterChange::AddWorker {
                badge: "B-0042".to_owned(),
                display_name: Some("Chris M.".to_owned()),
                task: Some("Picking".to_owned()),
                team: None,
            },
        ),
        (
            "/api/v1/roster/workers/12",
            json!({ "display_name": "Anna K.", "team": "Receiving team" }),
            StatusCode::OK,
            RosterChange::EditWorker {
                id: 12,
                display_name: Some("Anna K.".to_owned()),
                task: None,
                team: Some("Receiving team".to_owned()),
            },
        ),
        (
            "/api/v1/roster/workers/7/opt-out",
            json!({ "opted_out": false }),
            StatusCode::OK,
            RosterChange::OptOut {
                id: 7,
                opted_out: false,
            },
        ),
    ];
    let mut expected = Vec::new();
    for (path, body, status, change) in cases {
        let answer = fake.post(SUPERVISOR, path, JSON, &body.to_string()).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.body);
        assert_eq!(answer.headers[CONTENT_TYPE], JSON, "{path}");
        assert_eq!(answer.headers[CACHE_CONTROL], "no-store", "{path}");
        assert!(answer.json()["summary"].is_string(), "{path}");
        expected.push(change);
    }
    assert_eq!(fake.changes(), expected);
    let added = fake
        .post(
            SUPERVISOR,
            "/api/v1/roster/workers",
            JSON,
            r#"{"badge":"B-9"}"#,
        )
        .await;
    assert_eq!(
        added.json(),
        json!({ "summary": "worker 40 added", "worker": 40 })
    );
}

#[tokio::test]
async fn form_posts_reach_the_daemon_and_send_the_browser_back_to_the_page() {
    let fake = Fake::new();
    let csrf = format!("csrf={TOKEN}");
    let cases = [
        (
            "/api/v1/roster/wearables",
            // Markup within a wearable serial's 16 printable characters passes as it is.
            format!("{csrf}&serial=%3Cb%3E%27KW%27%3C%2Fb%3E&worker=12"),
            RosterChange::AssignWearable {
                serial: "<b>'KW'</b>".to_owned(),
                worker: Some(12),
            },
        ),
        (
            "/api/v1/roster/wearables",
            format!("{csrf}&serial=WR-0001&worker="),
            RosterChange::AssignWearable {
                serial: "WR-0001".to_owned(),
                worker: None,
            },
        ),
        (
            "/api/v1/roster/workers",
            format!("{csrf}&badge=B-0042&display_name=&task=&team=Night+shift"),
            RosterChange::AddWorker {
                badge: "B-0042".to_owned(),
                display_name: None,
                task: None,
                team: Some("Night shift".to_owned()),
            },
        ),
        (
            "/api/v1/roster/workers/12",
            format!("{csrf}&display_name=Anna+K.&task=Receiving&team="),
            RosterChange::EditWorker {
                id: 12,
                display_name: Some("Anna K.".to_owned()),
                task: Some("Receiving".to_owned()),
                team: None,
            },
        ),
        (
            "/api/v1/roster/workers/12/opt-out",
            format!("{csrf}&opted_out=true"),
            RosterChange::OptOut {
                id: 12,
                opted_out: true,
            },
        ),
    ];
    let mut expected = Vec::new();
    for (path, body, change) in cases {
        let answer = fake.post(SUPERVISOR, path, FORM, &body).await;
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "{path}: {}",
            answer.body
        );
        assert_eq!(answer.location(), "/roster", "{path}");
        expected.push(change);
    }
    assert_eq!(fake.changes(), expected);

    // Following the redirect shows the last confirmation in the status box, escaped, once.
    let answer = fake
        .post(
            SUPERVISOR,
            "/api/v1/roster/wearables",
            FORM,
            &format!("{csrf}&serial=%3Cb%3E%27KW%27%3C%2Fb%3E&worker=7"),
        )
        .await;
    let page = fake.get(SUPERVISOR, answer.location()).await.body;
    assert!(page.contains(
        "<p class=\"ro-notice\" role=\"status\" data-kind=\"done\"><strong>Saved:</strong> \
         wearable &lt;b&gt;&#39;KW&#39;&lt;/b&gt; assigned to worker 7</p>"
    ));
    let again = fake.get(SUPERVISOR, "/roster").await.body;
    assert!(!again.contains("data-kind=\"done\""), "shown twice");
    assert!(!again.contains("assigned to worker 7"), "shown twice");
}

#[tokio::test]
async fn after_a_form_the_next_view_shows_the_confirmation_once_and_the_one_after_does_not() {
    let fake = Fake::new();
    let answer = fake
        .post(
            SUPERVISOR,
            "/api/v1/roster/workers",
            FORM,
            &format!("csrf={TOKEN}&badge=B-0042"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/roster", "no words in the address");
    let first = fake.page().await;
    assert!(first.contains("<strong>Saved:</strong> worker 40 added</p>"));
    let second = fake.page().await;
    assert!(!second.contains("worker 40 added"));
    assert!(!second.contains("data-kind=\"done\""));
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_never_reaches_the_daemon() {
    let fake = Fake::new();
    let workers = "/api/v1/roster/workers";
    let cases: [(&str, &str, String, StatusCode, &str); 9] = [
        (
            workers,
            JSON,
            json!({ "badge": "B".repeat(17) }).to_string(),
            StatusCode::BAD_REQUEST,
            "1 to 16",
        ),
        (
            workers,
            JSON,
            json!({ "badge": "B-1", "display_name": "Anna\u{7}" }).to_string(),
            StatusCode::BAD_REQUEST,
            "control characters",
        ),
        (
            "/api/v1/roster/workers/12",
            JSON,
            json!({ "display_name": "x".repeat(81) }).to_string(),
            StatusCode::BAD_REQUEST,
            "at most 80",
        ),
        (
            "/api/v1/roster/workers/12",
            JSON,
            json!({ "team": "t".repeat(41) }).to_string(),
            StatusCode::BAD_REQUEST,
            "at most 40",
        ),
        (
            workers,
            JSON,
            "{\"badge\": ".to_owned(),
            StatusCode::BAD_REQUEST,
            "not the JSON",
        ),
        (
            "/api/v1/roster/workers/12/opt-out",
            JSON,
            json!({ "opted_out": "yes" }).to_string(),
            StatusCode::BAD_REQUEST,
            "not the JSON",
        ),
        (
            workers,
            "text/plain",
            "badge=B-1".to_owned(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/json",
        ),
        (
            workers,
            JSON,
            json!({ "badge": "B-1", "display_name": "x".repeat(20_000) }).to_string(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "16 KiB",
        ),
        (
            "/api/v1/roster/workers/012",
            JSON,
            json!({ "team": "A" }).to_string(),
            StatusCode::NOT_FOUND,
            "no worker",
        ),
    ];
    for (path, content_type, body, status, words) in cases {
        let answer = fake.post(SUPERVISOR, path, content_type, &body).await;
        assert_eq!(answer.status, status, "{path} {content_type}");
        let error = answer.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(error.contains(words), "{path}: {error}");
    }

    // A page's form with a bad field goes back to the page with the problem in words.
    let answer = fake
        .post(
            SUPERVISOR,
            workers,
            FORM,
            &format!("csrf={TOKEN}&badge={}", "B".repeat(17)),
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/roster?problem=badge");
    let page = fake.get(SUPERVISOR, answer.location()).await.body;
    assert!(page.contains("<strong>Not saved:</strong> The badge tag must be 1 to 16"));

    // A hostile body gets 413 whether or not it announces its length.
    let oversized = format!("csrf={TOKEN}&badge={}", "B".repeat(64 * 1024));
    let answer = fake.post(SUPERVISOR, workers, FORM, &oversized).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    let announced = Request::post(workers)
        .header(CONTENT_TYPE, JSON)
        .header(CONTENT_LENGTH, "100000000")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        fake.send(SUPERVISOR, announced).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let streamed = Request::post(workers)
        .header(CONTENT_TYPE, JSON)
        .body(Body::from_stream(futures_util::stream::iter(
            (0..40).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])),
        )))
        .unwrap();
    assert_eq!(
        fake.send(SUPERVISOR, streamed).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    assert_eq!(fake.changes(), []);
    assert!(
        fake.audit_entries()
            .iter()
            .all(|(_, action, _)| action == "view")
    );
}

#[tokio::test]
async fn a_refusal_from_the_daemon_shows_in_json_and_on_the_page() {
    let fake = Fake::new();
    fake.refuse_with("no such task: <b>Lifting</b>");
    let answer = fake
        .post(
            SUPERVISOR,
            "/api/v1/roster/workers/12",
            JSON,
            r#"{"task":"Lifting"}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.json(),
        json!({ "error": "no such task: <b>Lifting</b>" })
    );

    let answer = fake
        .post(
            SUPERVISOR,
            "/api/v1/roster/workers/12",
            FORM,
            &format!("csrf={TOKEN}&task=Lifting"),
        )
        .await;
    // The page answers the form itself: the daemon's words never travel in an address.
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.headers.get(LOCATION).is_none());
    assert!(answer.body.contains(
        "<p class=\"ro-notice\" role=\"status\" data-kind=\"problem\"><strong>Not saved:\
         </strong> no such task: &lt;b&gt;Lifting&lt;/b&gt;</p>"
    ));
    assert!(answer.body.contains("<form class=\"logout\""));
    // Refused changes are not recorded as changes.
    assert_eq!(fake.changes().len(), 2);
    assert!(
        fake.audit_entries()
            .iter()
            .all(|(_, action, _)| action != "change")
    );
}

#[tokio::test]
async fn a_problem_in_the_address_never_puts_its_senders_words_on_the_page() {
    let fake = Fake::new();
    for query in [
        "problem=%3Cscript%3EBuy%20gift%20cards%3C/script%3E",
        "problem=Call%20IT%20on%20555-0100",
        "done=ok&problem=Your%20password%20expired",
    ] {
        let html = fake.get(SUPERVISOR, &format!("/roster?{query}")).await.body;
        for words in ["Buy", "gift", "555", "expired"] {
            assert!(!html.contains(words), "{query}: {words}");
        }
        assert!(html.contains(input::UNKNOWN_PROBLEM), "{query}");
    }
    // A known code shows its fixed words.
    let html = fake.get(SUPERVISOR, "/roster?problem=task").await.body;
    assert!(html.contains(input::TASK_WORDS));
}

#[tokio::test]
async fn a_crafted_confirmation_in_the_address_shows_none_of_its_words() {
    let fake = Fake::new();
    for query in [
        "done=%3Cscript%3EBuy%20now",
        "done=%3Cscript%3EBuy%20now&done=Saved",
        "other=1&done=Buy%20now%20at%20evil.example",
    ] {
        let answer = fake.get(SUPERVISOR, &format!("/roster?{query}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}");
        // (The hostile serial on the page is escaped `<script>` of its own.)
        for words in ["script&gt;Buy", "Buy", "evil", "Saved:"] {
            assert!(!answer.body.contains(words), "{query}: {words}");
        }
        assert!(!answer.body.contains("data-kind=\"done\""), "{query}");
    }
}

#[tokio::test]
async fn a_technician_or_nobody_gets_403_from_every_roster_route() {
    let fake = Fake::new();
    let posts = [
        (
            "/api/v1/roster/wearables",
            r#"{"serial":"WR-0001","worker":null}"#,
        ),
        ("/api/v1/roster/workers", r#"{"badge":"B-1"}"#),
        ("/api/v1/roster/workers/12", r#"{}"#),
        ("/api/v1/roster/workers/12/opt-out", r#"{"opted_out":true}"#),
    ];
    for role in [Some(Role::Technician), None] {
        let page = fake.get(role, "/roster").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(page.body.contains("Only administrators and supervisors"));
        assert!(!page.body.contains("W-3F9A2C"));
        let api = fake.get(role, "/api/v1/roster").await;
        assert_eq!(api.status, StatusCode::FORBIDDEN);
        assert!(api.json()["error"].is_string());
        for (path, body) in posts {
            let answer = fake.post(role, path, JSON, body).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
            assert!(answer.json()["error"].is_string(), "{path}");
            let answer = fake
                .post(role, path, FORM, &format!("csrf={TOKEN}&opted_out=true"))
                .await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
            assert!(answer.body.contains("Not allowed"), "{path}");
        }
    }
    assert_eq!(fake.view.reads.load(Ordering::SeqCst), 0);
    assert_eq!(fake.changes(), []);
    assert_eq!(fake.audit_entries(), []);
}

#[tokio::test]
async fn changes_are_audited_without_a_badge_or_a_name_and_views_are_left_to_the_site() {
    let fake = Fake::new();
    fake.page().await;
    let api = fake.get(Some(Role::Admin), "/api/v1/roster").await;
    assert_eq!(api.status, StatusCode::OK);
    assert_eq!(api.json()["workers"][0]["badge"], HOSTILE_BADGE);
    fake.post(
        SUPERVISOR,
        "/api/v1/roster/workers",
        JSON,
        r#"{"badge":"B-SECRET","display_name":"Chris Secret"}"#,
    )
    .await;
    fake.post(
        SUPERVISOR,
        "/api/v1/roster/workers/12",
        FORM,
        &format!("csrf={TOKEN}&display_name=Anna+Secret"),
    )
    .await;
    let entries = fake.audit_entries();
    // Views are recorded once, by the site's audit layer (see `auth::tests`), not here.
    assert_eq!(
        entries,
        [
            (
                "sam".to_owned(),
                "change".to_owned(),
                "worker 40 added".to_owned()
            ),
            (
                "sam".to_owned(),
                "change".to_owned(),
                "worker 12: details changed".to_owned()
            ),
        ]
    );
    for (_, _, subject) in &entries {
        for secret in ["SECRET", "Secret", HOSTILE_BADGE, "Anna"] {
            assert!(!subject.contains(secret), "{subject}");
        }
    }
}

#[tokio::test]
async fn the_page_works_for_an_empty_roster_and_is_never_cached() {
    let fake = Fake::new();
    *fake.view.roster.lock().unwrap() = Roster::default();
    let answer = fake.get(SUPERVISOR, "/roster").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[CACHE_CONTROL], "no-store");
    assert_eq!(answer.headers[CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(answer.body.contains("No wearable has been docked yet"));
    assert!(answer.body.contains("No workers yet"));
    assert!(answer.body.contains("action=\"/api/v1/roster/workers\""));
}

#[tokio::test]
async fn a_panicking_daemon_call_is_a_503_not_a_crash() {
    let fake = Fake::new();
    fake.view.panics.store(true, Ordering::SeqCst);
    let page = fake.get(SUPERVISOR, "/roster").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.body.contains("try again"));
    let api = fake.get(SUPERVISOR, "/api/v1/roster").await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(fake.audit_entries(), []);
}

#[tokio::test]
async fn the_stylesheet_is_served_as_css() {
    let fake = Fake::new();
    let answer = fake.get(None, STYLE_PATH).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(answer.body.contains(".ro-notice"));
    assert!(!answer.body.contains("@import"));
    assert!(!answer.body.contains("url("));
}

/// The path with its `{id}` filled, for a request.
fn concrete(route: &str) -> String {
    route.replace("{id}", "12")
}

#[tokio::test]
async fn every_json_route_is_registered_and_described() {
    let paths = openapi_paths();
    let described: BTreeSet<(String, String)> = paths
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, methods)| {
            methods
                .as_object()
                .into_iter()
                .flatten()
                .map(move |(method, _)| (method.clone(), path.clone()))
        })
        .collect();
    let listed: BTreeSet<(String, String)> = API_ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(described, listed);

    let fake = Fake::new();
    for (method, route) in API_ROUTES {
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
        let body = if *route == API_OPT_OUT {
            r#"{"opted_out":true}"#
        } else if *route == API_DELETE {
            r#"{"confirm":true}"#
        } else if *route == API_WEARABLES {
            r#"{"serial":"WR-0001","worker":null}"#
        } else if *route == API_WORKERS {
            r#"{"badge":"B-1"}"#
        } else if *route == API_WORK_RESTRICTIONS || *route == API_WORK_RESTRICTION {
            r#"{"until_day":"2025-03-31","no_deep_bends":true}"#
        } else {
            "{}"
        };
        let request = Request::builder()
            .method(method)
            .uri(concrete(route))
            .header(CONTENT_TYPE, JSON)
            .body(Body::from(body))
            .unwrap();
        let answer = fake.send(Some(Role::Admin), request).await;
        assert!(answer.status.is_success(), "{route}: {}", answer.status);
        let expected = if *route == API_EXPORT {
            "application/x-tar"
        } else {
            JSON
        };
        assert_eq!(answer.headers[CONTENT_TYPE], expected, "{route}");
    }
}

#[test]
fn every_reference_resolves_to_a_schema() {
    let schemas = openapi_schemas();
    let text = format!("{}{}", openapi_paths(), schemas);
    let prefix = "#/components/schemas/";
    let mut found = 0;
    for reference in text.split(prefix).skip(1) {
        let name: String = reference.chars().take_while(|c| *c != '"').collect();
        assert!(schemas.get(&name).is_some(), "{name} is not defined");
        found += 1;
    }
    assert!(found > 5);
}

#[tokio::test]
async fn the_schemas_name_exactly_the_keys_the_api_answers_and_takes() {
    let fake = Fake::new();
    let schemas = openapi_schemas();
    let roster = fake.get(SUPERVISOR, API_ROSTER).await.json();
    check_against_schema(&schemas, &schemas["Roster"], &roster, "roster");
    let done = fake
        .post(SUPERVISOR, API_WORKERS, JSON, r#"{"badge":"B-1"}"#)
        .await
        .json();
    check_against_schema(&schemas, &schemas["RosterDone"], &done, "done");
    let error = fake
        .post(SUPERVISOR, API_WORKERS, JSON, r#"{"badge":""}"#)
        .await
        .json();
    check_against_schema(&schemas, &schemas["RosterError"], &error, "error");
    let deleted = fake
        .post(
            Some(Role::Admin),
            &concrete(API_DELETE),
            JSON,
            r#"{"confirm":true}"#,
        )
        .await
        .json();
    check_against_schema(&schemas, &schemas["RosterDeleted"], &deleted, "deleted");
    check_against_schema(
        &schemas,
        &schemas["RosterDelete"],
        &json!({ "confirm": true }),
        "RosterDelete",
    );
    // Request bodies: every documented field is accepted.
    for (schema, path, body) in [
        (
            "RosterAssign",
            API_WEARABLES,
            json!({ "serial": "WR-0001", "worker": 12 }),
        ),
        (
            "RosterNewWorker",
            API_WORKERS,
            json!({ "badge": "B-2", "display_name": "N", "task": "Picking", "team": "T" }),
        ),
        (
            "RosterWorkerDetails",
            "/api/v1/roster/workers/12",
            json!({ "display_name": "N", "task": "Picking", "team": "T" }),
        ),
        (
            "RosterOptOut",
            "/api/v1/roster/workers/12/opt-out",
            json!({ "opted_out": true }),
        ),
        (
            "WorkRestrictionInput",
            "/api/v1/roster/workers/12/work-restrictions",
            json!({ "from_day": "2025-03-03", "until_day": "2025-03-31", "no_deep_bends": true,
                    "max_lifts_per_hour": 10, "max_bends_per_hour": 0, "max_load_kg": 12.5 }),
        ),
        (
            "WorkRestrictionEnd",
            "/api/v1/roster/work-restrictions/5/end",
            json!({}),
        ),
    ] {
        check_against_schema(&schemas, &schemas[schema], &body, schema);
        let answer = fake.post(SUPERVISOR, path, JSON, &body.to_string()).await;
        assert!(answer.status.is_success(), "{schema}: {}", answer.body);
    }
}

#[tokio::test]
async fn the_page_lists_work_restrictions_escaped_with_their_status_and_retention() {
    let fake = Fake::new();
    let html = fake.page().await;
    assert!(html.contains("<h2 id=\"ro-work-restrictions\">Work restrictions</h2>"));
    assert!(html.contains("&lt;b&gt;no deep bends&lt;/b&gt;"));
    assert!(!html.contains(HOSTILE_TERMS));
    assert!(html.contains("In force"));
    assert!(html.contains("Ended"));
    assert!(html.contains("deleted for good 90 days after its last day"));
    // A new one starts today unless told; an edit form holds the stored values.
    assert!(html.contains("name=\"from_day\" type=\"date\" value=\"2025-03-04\""));
    assert!(html.contains(
        "name=\"max_load_kg\" type=\"number\" min=\"0\" max=\"100\" step=\"0.1\" value=\"12.5\""
    ));
    assert!(html.contains("action=\"/api/v1/roster/workers/12/work-restrictions\""));
    assert!(html.contains("action=\"/api/v1/roster/work-restrictions/5/end\""));
    assert!(!html.contains("action=\"/api/v1/roster/work-restrictions/4/end\""));
}

#[tokio::test]
async fn work_restrictions_reach_the_daemon_as_the_right_change_from_json_and_forms() {
    let fake = Fake::new();
    let answer = fake
        .post(
            SUPERVISOR,
            "/api/v1/roster/workers/12/work-restrictions",
            JSON,
            r#"{"until_day":"2025-03-31","max_lifts_per_hour":10}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let answer = fake
        .post(
            SUPERVISOR,
            "/api/v1/roster/work-restrictions/5",
            FORM,
            "csrf=t&no_deep_bends=on&max_lifts_per_hour=&max_bends_per_hour=20&max_load_kg=12.5\
             &from_day=2025-03-03&until_day=2025-04-30",
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), PAGE_PATH);
    let answer = fake
        .post(
            SUPERVISOR,
            "/api/v1/roster/work-restrictions/5/end",
            FORM,
            "csrf=t",
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        fake.changes(),
        [
            RosterChange::RecordWorkRestriction {
                worker: 12,
                work_restriction: WorkRestrictionInput {
                    from_day: None,
                    until_day: "2025-03-31".to_owned(),
                    no_deep_bends: false,
                    max_lifts_per_hour: Some(10),
                    max_bends_per_hour: None,
                    max_load_kg: None,
                },
            },
            RosterChange::EditWorkRestriction {
                id: 5,
                work_restriction: WorkRestrictionInput {
                    from_day: Some("2025-03-03".to_owned()),
                    until_day: "2025-04-30".to_owned(),
                    no_deep_bends: true,
                    max_lifts_per_hour: None,
                    max_bends_per_hour: Some(20),
                    max_load_kg: Some(12.5),
                },
            },
            RosterChange::EndWorkRestriction { id: 5 },
        ]
    );
    // Audited as a change, with the daemon's summary: no badge tag, no name, no limits.
    let audit = fake.audit_entries();
    assert_eq!(audit.len(), 3);
    assert!(audit.iter().all(|(_, action, _)| action == "change"));
    assert_eq!(audit[2].2, "work restriction 5 ended");
}

#[tokio::test]
async fn hostile_work_restriction_input_gets_a_clear_4xx_and_stores_nothing() {
    let fake = Fake::new();
    let record = "/api/v1/roster/workers/12/work-restrictions";
    for (body, words) in [
        (
            r#"{"until_day":"2025-03-01","from_day":"2025-03-02","no_deep_bends":true}"#,
            crate::rules::WORK_RESTRICTION_UNTIL_WORDS,
        ),
        (
            r#"{"until_day":"2025-02-30","no_deep_bends":true}"#,
            crate::rules::WORK_RESTRICTION_UNTIL_WORDS,
        ),
        (
            r#"{"until_day":"2025-03-31","from_day":"yesterday","no_deep_bends":true}"#,
            crate::rules::WORK_RESTRICTION_DAY_WORDS,
        ),
        (
            r#"{"until_day":"2025-03-31","max_lifts_per_hour":5000}"#,
            crate::rules::WORK_RESTRICTION_PER_HOUR_WORDS,
        ),
        (
            r#"{"until_day":"2025-03-31","max_load_kg":1000.0}"#,
            crate::rules::WORK_RESTRICTION_LOAD_WORDS,
        ),
        (
            r#"{"until_day":"2025-03-31"}"#,
            crate::rules::WORK_RESTRICTION_TERMS_WORDS,
        ),
    ] {
        let answer = fake.post(SUPERVISOR, record, JSON, body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer.json()["error"], words, "{body}");
    }
    for body in [
        r#"{"until_day":"2025-03-31","max_lifts_per_hour":-1}"#,
        r#"{"until_day":"2025-03-31","no_deep_bends":true,"note":"back pain"}"#,
        r#"{"no_deep_bends":true}"#,
    ] {
        let answer = fake.post(SUPERVISOR, record, JSON, body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
    }
    // A form's fixed refusal goes back to the page as a code, never as words.
    let answer = fake
        .post(
            SUPERVISOR,
            record,
            FORM,
            "csrf=t&max_load_kg=inf&until_day=2025-03-31",
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/roster?problem=work-restriction-load");
    for path in [
        "/api/v1/roster/workers/x/work-restrictions",
        "/api/v1/roster/work-restrictions/05",
        "/api/v1/roster/work-restrictions/x/end",
    ] {
        let answer = fake
            .post(
                SUPERVISOR,
                path,
                JSON,
                r#"{"until_day":"2025-03-31","no_deep_bends":true}"#,
            )
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(fake.changes().is_empty(), "nothing reached the daemon");
    assert!(fake.audit_entries().is_empty());
}

#[tokio::test]
async fn the_roster_says_what_opting_out_does_to_data_stored_before() {
    let html = Fake::new().page().await;
    assert!(
        html.contains(
            "Their shift reports are deleted; the samples and alerts stored before are no longer \
             analysed or shown, but they are not deleted: they stay on the dock until the \
             retention purge removes them"
        ),
        "{html}"
    );
}

const ADMIN: Option<Role> = Some(Role::Admin);

#[tokio::test]
async fn only_an_administrator_is_offered_a_workers_deletion_saying_what_goes_and_what_stays() {
    let fake = Fake::new();
    let html = fake.get(ADMIN, "/roster").await.body;
    // One folded-away deletion per worker, beside their opt-out, behind a box to tick.
    assert_eq!(
        html.matches("<summary>Delete this worker's data").count(),
        2
    );
    for id in [12, 7] {
        let action = format!("action=\"/api/v1/roster/workers/{id}/delete\"");
        let form = html
            .split("<form ")
            .find(|form| form.contains(&action))
            .and_then(|form| form.split("</form>").next())
            .unwrap_or_else(|| panic!("no deletion form for worker {id}"));
        assert!(
            form.contains(&format!("name=\"csrf\" value=\"{TOKEN}\"")),
            "{form}"
        );
        assert!(
            form.contains("name=\"confirm\" type=\"checkbox\" value=\"yes\" required"),
            "{form}"
        );
        assert!(form.contains(">Delete for good</button>"), "{form}");
        // What goes and what stays, in words, before anything is deleted.
        for words in [
            "badge tag and name, every sample, alert and shift report of theirs, their work \
             restrictions",
            "What stays: the audit entry saying they were deleted (by number, with no name) and \
             a tombstone",
            "thrown away when it docks",
            "This cannot be undone",
        ] {
            assert!(form.contains(words), "{words} is not said: {form}");
        }
    }
    // Named as the page names them, escaped.
    assert!(
        html.contains("Yes, delete Anna &quot;K.&quot; &lt;b&gt;bold&lt;/b&gt;'s data for good")
    );
    assert!(html.contains("Yes, delete W-81C0D4's data for good"));
    // A supervisor sees and changes the roster but is not offered a deletion.
    let html = fake.page().await;
    assert!(!html.contains("Delete this worker's data"));
    assert!(!html.contains("/delete\""));
}

#[tokio::test]
async fn a_deletion_takes_an_administrator_and_a_ticked_box_and_then_says_in_words_whose_data_went()
{
    let fake = Fake::new();
    let path = concrete(API_DELETE);
    let confirmed = format!("csrf={TOKEN}&confirm=yes");
    // A supervisor is refused before the daemon is asked.
    let answer = fake.post(SUPERVISOR, &path, FORM, &confirmed).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = fake
        .post(SUPERVISOR, &path, JSON, r#"{"confirm":true}"#)
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(
        answer.json()["error"]
            .as_str()
            .unwrap()
            .contains("Only administrators"),
        "{}",
        answer.body
    );
    assert_eq!(
        fake.get(None, "/roster").await.status,
        StatusCode::FORBIDDEN
    );
    // Without the ticked box nothing is deleted, and the page says why.
    let answer = fake
        .post(ADMIN, &path, FORM, &format!("csrf={TOKEN}"))
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/roster?problem=delete-confirm");
    let page = fake.get(ADMIN, answer.location()).await.body;
    assert!(page.contains("<strong>Not saved:</strong> Nothing was deleted: tick the box"));
    let answer = fake.post(ADMIN, &path, JSON, r#"{"confirm":false}"#).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = fake.post(ADMIN, &path, JSON, "{}").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(fake.view.deletions.lock().unwrap().is_empty());

    // Confirmed: deleted on behalf of the signed-in admin, back to the page, which says in
    // words (the worker as the page named them, never their id) what went and what stays.
    let answer = fake.post(ADMIN, &path, FORM, &confirmed).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    assert_eq!(answer.location(), "/roster");
    assert_eq!(
        *fake.view.deletions.lock().unwrap(),
        [(12, "sam".to_owned())]
    );
    let page = fake.get(ADMIN, "/roster").await.body;
    let notice = page
        .split("data-kind=\"done\"><strong>Saved:</strong> ")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap_or_else(|| panic!("no notice: {page}"));
    assert_eq!(
        notice,
        "Anna &quot;K.&quot; &lt;b&gt;bold&lt;/b&gt;&#39;s data is deleted for good (4,500 \
         samples, 12 alerts, 1 shift report, 1 work restriction); the audit entry and a \
         tombstone stay."
    );
    // The daemon audits a deletion in its own transaction: the page records no second line.
    assert!(
        fake.audit_entries().is_empty(),
        "{:?}",
        fake.audit_entries()
    );

    // The API answers what went, by counts, without a name.
    let answer = fake.post(ADMIN, &path, JSON, r#"{"confirm":true}"#).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[CACHE_CONTROL], "no-store");
    let body = answer.json();
    assert_eq!(body["worker"], 12);
    assert_eq!(body["deleted"]["samples"], 4500);
    assert!(!answer.body.contains("Anna"));

    // The daemon's refusal (no such worker any more) comes back in its words.
    fake.refuse_with("that worker is not on the roster");
    let answer = fake.post(ADMIN, &path, FORM, &confirmed).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer
            .body
            .contains("<strong>Not saved:</strong> that worker is not on the roster")
    );
}

#[tokio::test]
async fn an_admin_downloads_a_workers_export_as_it_streams_and_a_supervisor_may_not() {
    let fake = Fake::new();
    let path = concrete(API_EXPORT);
    let answer = fake.get(ADMIN, &path).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[CONTENT_TYPE], "application/x-tar");
    assert_eq!(answer.headers[CACHE_CONTROL], "no-store");
    let disposition = answer.headers[axum::http::header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"worker-"),
        "{disposition}"
    );
    assert_eq!(answer.body, "first second", "every chunk, in order");
    assert_eq!(fake.view.exports.lock().unwrap().len(), 1);

    let refused = fake.get(SUPERVISOR, &path).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(fake.view.exports.lock().unwrap().len(), 1, "not asked");
    // The page offers it to admins only.
    let supervisors_page = fake.get(SUPERVISOR, PAGE_PATH).await.body;
    assert!(!supervisors_page.contains("Export their data"));
    let admins_page = fake.get(ADMIN, PAGE_PATH).await.body;
    assert!(
        admins_page.contains("/export\" download>Export their data"),
        "{admins_page}"
    );
}
