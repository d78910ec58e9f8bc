//! Test support shared by the modules' tests: a fake dock behind `DockView`, fake accounts, a
//! recording audit trail, fake roster, admin and diagnostics backends (the analysis one is
//! `analysis::fake`), the whole site over them, the routes of each guarded group, a signed-in
//! client and request helpers. Compiled for tests only; it must never become part of the library.

use std::{
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    Router,
    body::Body,
    http::{
        HeaderValue, Method, Request, Response,
        header::{CONTENT_TYPE, COOKIE, SET_COOKIE},
    },
};
use http_body_util::BodyExt;
use tokio::{sync::watch, time::Instant};
use tower::ServiceExt;

use crate::{
    Backends, DockSnapshot, DockView, Progress, SlotState, SlotView, ViewFuture, WorkerFigures,
    access::{Accounts, AuditLog, CurrentUser, Recording, Role, Standing},
    admin::{
        AdminChange, AdminRefusal, AdminView, AlertCounts, AuditLine, AuditPage, BaselineState,
        NuisanceFigures, NuisanceView, SettingsView, SiteSettings, SuggestedThreshold, TaskRow,
        ThresholdState, ThresholdStatus, Thresholds, UserRow, WearableNuisance,
    },
    analysis::fake::FakeView,
    auth::{Auth, COOKIE_NAME},
    diagnostics::{
        BatteryFlagLine, BatteryPoint, Diagnostics, DiagnosticsView, DockBattery, GpsEventLine,
        GpsPanel, GpsPoint, HostPanel, Interface, PowerPanel, PowerPoint, StoragePanel, Thermal,
        WearableBattery,
    },
    roster::{
        DeletedData, DeletedWorker, Roster, RosterChange, RosterDone, RosterRefusal, RosterView,
        RosterWearable, RosterWorker,
    },
};

/// A dock whose snapshot the test edits; every edit bumps the change signal like the daemon does.
pub(crate) struct FakeDock {
    snapshot: Mutex<DockSnapshot>,
    changes: watch::Sender<u64>,
    stopping: watch::Sender<bool>,
}

impl FakeDock {
    /// A fake dock with four slots (pulling, done with a quarantined log, error, empty).
    pub(crate) fn new() -> Arc<FakeDock> {
        Arc::new(FakeDock {
            snapshot: Mutex::new(snapshot()),
            changes: watch::Sender::new(0),
            stopping: watch::Sender::new(false),
        })
    }

    /// A fake dock and a client signed in as a supervisor on the whole site over it.
    pub(crate) fn router() -> (Arc<FakeDock>, Client) {
        let site = TestSite::new(false);
        let client = site.signed_in("sam", Role::Supervisor);
        (site.dock, client)
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut DockSnapshot)) {
        change(&mut self.snapshot.lock().unwrap());
        self.changes.send_modify(|generation| *generation += 1);
    }

    pub(crate) fn shut_down(&self) {
        self.stopping.send_replace(true);
    }
}

impl DockView for FakeDock {
    fn snapshot(&self) -> DockSnapshot {
        self.snapshot.lock().unwrap().clone()
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn shutting_down(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let mut stopping = self.stopping.subscribe();
        Box::pin(async move {
            let _ = stopping.wait_for(|&stopping| stopping).await;
        })
    }
}

pub(crate) fn snapshot() -> DockSnapshot {
    let mut pulling = slot(1, SlotState::Pulling);
    pulling.state_text = "Pulling logs".to_owned();
    pulling.progress = Some(Progress {
        done_bytes: 1_200_000,
        total_bytes: 3_400_000,
    });
    let mut done = slot(2, SlotState::Done);
    done.quarantined = 1;
    let mut error = slot(3, SlotState::Error);
    error.advice = Some("Take the wearable out and dock it again.".to_owned());
    let mut empty = slot(4, SlotState::Empty);
    empty.serial = None;
    DockSnapshot {
        dock: "Dock A".to_owned(),
        version: "0.1.0".to_owned(),
        now_ms: 1_709_211_909_750,
        slots: vec![pulling, done, error, empty],
    }
}

/// A slot in `state` holding wearable `KW-001nn`, with every number plausible and nothing odd.
pub(crate) fn slot(number: u32, state: SlotState) -> SlotView {
    SlotView {
        slot: number,
        serial: Some(format!("KW-001{number:02}")),
        worker: Some(format!("Worker {number}")),
        transport: "usb".to_owned(),
        state,
        state_text: state.as_str().to_owned(),
        advice: None,
        battery_soc: Some(80),
        charging: true,
        progress: None,
        segments_pulled: 0,
        segments_total: 0,
        bytes_pulled: 0,
        last_docked_ms: Some(1_709_200_000_000),
        quarantined: 0,
        segments_stored: 10,
        worker_figures: Some(WorkerFigures {
            samples_stored: 900_000,
            alerts_stored: 3,
        }),
    }
}

/// The accounts `FakeAccounts` knows: name, password, role.
pub(crate) const USERS: [(&str, &str, Role); 3] = [
    ("ada", "ada-password", Role::Admin),
    ("sam", "sam-password", Role::Supervisor),
    ("tina", "tina-password", Role::Technician),
];

/// Accounts with fixed passwords; counts how often a password was checked. Users of [`USERS`]
/// and those a test signed in directly stand at generation 0 until the test changes them.
#[derive(Default)]
pub(crate) struct FakeAccounts {
    checks: AtomicUsize,
    /// Users signed in directly (`TestSite::signed_in`), and changes a test made: `None` removed.
    standings: Mutex<std::collections::HashMap<String, Option<Standing>>>,
}

impl FakeAccounts {
    pub(crate) fn checks(&self) -> usize {
        self.checks.load(Ordering::SeqCst)
    }

    /// `name` is a user with `role` (if not one already).
    pub(crate) fn known(&self, name: &str, role: Role) {
        self.standings
            .lock()
            .unwrap()
            .entry(name.to_owned())
            .or_insert(Some(Standing {
                role,
                generation: 0,
                disabled: false,
            }));
    }

    /// As the daemon does on any change to a user: a new generation (and maybe a new role or
    /// disabled); `None` removes them.
    pub(crate) fn change(&self, name: &str, change: impl FnOnce(&mut Standing)) {
        let mut standings = self.standings.lock().unwrap();
        let now = standings
            .get(name)
            .copied()
            .unwrap_or_else(|| user_standing(name));
        let next = now.map(|mut standing| {
            standing.generation += 1;
            change(&mut standing);
            standing
        });
        standings.insert(name.to_owned(), next);
    }

    pub(crate) fn remove(&self, name: &str) {
        self.standings.lock().unwrap().insert(name.to_owned(), None);
    }
}

fn user_standing(name: &str) -> Option<Standing> {
    USERS
        .iter()
        .find(|(user, _, _)| *user == name)
        .map(|(_, _, role)| Standing {
            role: *role,
            generation: 0,
            disabled: false,
        })
}

impl Accounts for FakeAccounts {
    fn verify(&self, username: &str, password: &str) -> Option<CurrentUser> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        USERS
            .iter()
            .find(|(name, secret, _)| *name == username && *secret == password)
            .map(|(name, _, role)| CurrentUser {
                name: (*name).to_owned(),
                role: *role,
            })
    }

    fn standing(&self, username: &str) -> Option<Standing> {
        let standings = self.standings.lock().unwrap();
        match standings.get(username) {
            Some(standing) => *standing,
            None => user_standing(username),
        }
    }
}

/// An audit trail that keeps every record as `[user, action, subject]`.
#[derive(Default)]
pub(crate) struct RecordingAudit {
    records: Mutex<Vec<[String; 3]>>,
}

impl RecordingAudit {
    pub(crate) fn records(&self) -> Vec<[String; 3]> {
        self.records.lock().unwrap().clone()
    }
}

impl AuditLog for RecordingAudit {
    fn record<'a>(&'a self, user: &'a str, action: &'a str, subject: &'a str) -> Recording<'a> {
        self.records
            .lock()
            .unwrap()
            .push([user.to_owned(), action.to_owned(), subject.to_owned()]);
        Box::pin(std::future::ready(()))
    }
}

/// A roster with one wearable and one worker; every change succeeds and is remembered.
#[derive(Default)]
pub(crate) struct FakeRoster {
    changes: Mutex<Vec<RosterChange>>,
    /// Every deletion asked for: (worker id, by whom).
    pub(crate) deletions: Mutex<Vec<(i64, String)>>,
    /// What the roster page shows instead of the one worker and wearable, once set.
    roster: Mutex<Option<Roster>>,
}

impl FakeRoster {
    pub(crate) fn set(&self, roster: Roster) {
        *self.roster.lock().unwrap() = Some(roster);
    }
}

impl RosterView for FakeRoster {
    fn roster(&self) -> Roster {
        if let Some(roster) = self.roster.lock().unwrap().clone() {
            return roster;
        }
        Roster {
            wearables: vec![RosterWearable {
                serial: "KW-00101".to_owned(),
                worker: Some(12),
                applied: true,
                last_docked_ms: Some(1_709_200_000_000),
            }],
            workers: vec![RosterWorker {
                id: 12,
                badge: "B-0012".to_owned(),
                pseudonym: "W-3F9A2C".to_owned(),
                display_name: None,
                task: None,
                team: None,
                opted_out_ms: None,
                discarded_samples: 0,
            }],
            tasks: vec!["Picking".to_owned()],
            teams: Vec::new(),
            ..Roster::default()
        }
    }

    fn change(&self, change: RosterChange) -> ViewFuture<'_, Result<RosterDone, RosterRefusal>> {
        self.changes.lock().unwrap().push(change);
        Box::pin(std::future::ready(Ok(RosterDone {
            summary: "roster changed".to_owned(),
            worker: None,
        })))
    }

    /// Worker 12's export: a few bytes; any other worker is refused.
    fn export_worker(
        &self,
        id: i64,
        _by: String,
    ) -> ViewFuture<'_, Result<crate::roster::WorkerExport, RosterRefusal>> {
        let (sender, chunks) = tokio::sync::mpsc::channel(1);
        Box::pin(async move {
            if id != 12 {
                return Err(RosterRefusal("no such worker".to_owned()));
            }
            let _ = sender.send(Ok(b"archive".to_vec())).await;
            Ok(crate::roster::WorkerExport {
                file_name: "worker-12-export.tar".to_owned(),
                chunks,
            })
        })
    }

    /// Remembers who deleted whom; worker 12 (the one worker) goes, any other is refused.
    fn delete_worker(
        &self,
        id: i64,
        by: String,
    ) -> ViewFuture<'_, Result<DeletedWorker, RosterRefusal>> {
        self.deletions.lock().unwrap().push((id, by));
        Box::pin(std::future::ready(if id == 12 {
            Ok(DeletedWorker {
                summary: "worker 12: their data deleted for good".to_owned(),
                worker: 12,
                deleted: DeletedData {
                    samples: 4500,
                    alerts: 12,
                    shift_reports: 1,
                    work_restrictions: 1,
                    ..DeletedData::default()
                },
            })
        } else {
            Err(RosterRefusal("that worker is not on the roster".to_owned()))
        }))
    }
}

/// The daemon's admin side in memory: the users of [`USERS`] (without passwords), one task, the
/// firmware's thresholds, two wearables, and an audit trail of 250 lines. It applies changes
/// with the daemon's rules (names unique, never no enabled admin) and remembers each change's
/// `Debug` text.
pub(crate) struct FakeAdmin {
    settings: Mutex<SettingsView>,
    nuisance: Mutex<NuisanceView>,
    lines: Mutex<Vec<AuditLine>>,
    /// The chain state the newest page carries (a test may break it).
    pub(crate) chain: Mutex<crate::admin::AuditChain>,
    debug: Mutex<Vec<String>>,
    asked: Mutex<Vec<(Option<i64>, u32)>>,
}

impl Default for FakeAdmin {
    fn default() -> Self {
        let users = USERS
            .iter()
            .map(|(name, _, role)| UserRow {
                name: (*name).to_owned(),
                role: *role,
                disabled: false,
                created_ms: 1_709_000_000_000,
            })
            .collect();
        let lines = (1..=250)
            .map(|id| AuditLine {
                id,
                at_ms: 1_709_000_000_000 + id * 60_000,
                user: "ada".to_owned(),
                action: "view".to_owned(),
                subject: format!("worker {id}"),
            })
            .collect();
        FakeAdmin {
            settings: Mutex::new(SettingsView {
                users,
                site: SiteSettings {
                    time_zone: "Europe/Berlin".to_owned(),
                    min_group_workers: 5,
                    goal_alerts_per_day: 10,
                },
                tasks: vec![TaskRow {
                    name: "Picking".to_owned(),
                    load_kg: Some(12.5),
                    lever_arm_m: None,
                    windows: vec!["06:00-10:00".to_owned()],
                }],
                thresholds: Thresholds {
                    bend_alert_deg: 45.0,
                    bend_hold_ms: 1000,
                    twist_alert_dps: 60.0,
                    haptics: true,
                    rate_hz: 25,
                },
                wearables: vec![
                    ThresholdState {
                        serial: "KW-00101".to_owned(),
                        state: ThresholdStatus::Confirmed,
                        confirmed_ms: Some(1_709_211_909_750),
                        problem: None,
                        runs: Some(Thresholds {
                            bend_alert_deg: 45.0,
                            bend_hold_ms: 1000,
                            twist_alert_dps: 60.0,
                            haptics: false,
                            rate_hz: 25,
                        }),
                    },
                    ThresholdState {
                        serial: "KW-00102".to_owned(),
                        state: ThresholdStatus::Failed,
                        confirmed_ms: None,
                        problem: Some("it answered with other values".to_owned()),
                        runs: None,
                    },
                ],
            }),
            nuisance: Mutex::new(nuisance()),
            lines: Mutex::new(lines),
            chain: Mutex::new(crate::admin::AuditChain {
                intact: true,
                finding: "Intact: 250 entries linked up to entry 250.".to_owned(),
            }),
            debug: Mutex::new(Vec::new()),
            asked: Mutex::new(Vec::new()),
        }
    }
}

/// Nuisance figures of a site whose walkers buzz at every stride: the twist alert suggested
/// at 90 °/s, the hold kept, one wearable in its silent baseline.
pub(crate) fn nuisance() -> NuisanceView {
    let figures = |alerts: u64| NuisanceFigures {
        shifts: 4,
        wear_h: 30.0,
        alerts,
        by_kind: AlertCounts {
            bend: 10,
            twist: 50,
            prolonged_bend: 0,
            overreach: 0,
        },
        alerts_per_hour: Some(alerts as f64 / 30.0),
        gait_share: Some(0.75),
        never_corrected_share: Some(0.2),
        gait_min: 240.0,
        gait_twist_p999_dps: Some(85.0),
        suggested: vec![
            SuggestedThreshold {
                threshold: "twist_alert_dps".to_owned(),
                current: 60.0,
                suggested: Some(90.0),
                reason: "Walking here stays under 85 °/s (999 in 1000 samples).".to_owned(),
            },
            SuggestedThreshold {
                threshold: "bend_hold_ms".to_owned(),
                current: 1000.0,
                suggested: None,
                reason: "Not enough quickly corrected bend alerts yet (3 of 20).".to_owned(),
            },
        ],
    };
    NuisanceView {
        window_days: 28,
        site: figures(60),
        wearables: vec![
            WearableNuisance {
                serial: "KW-00101".to_owned(),
                figures: figures(40),
                baseline: BaselineState::Silent {
                    until_ms: Some(1_709_500_000_000),
                },
            },
            WearableNuisance {
                serial: "KW-00102".to_owned(),
                figures: figures(20),
                baseline: BaselineState::Off,
            },
        ],
        silent_baseline_days: 3,
    }
}

impl FakeAdmin {
    /// Edits what the Settings page shows.
    pub(crate) fn update(&self, change: impl FnOnce(&mut SettingsView)) {
        change(&mut self.settings.lock().unwrap());
    }

    /// Puts a line on top of the audit trail.
    pub(crate) fn add_line(&self, user: &str, action: &str, subject: &str) {
        let mut lines = self.lines.lock().unwrap();
        let id = lines.last().map_or(1, |line| line.id + 1);
        lines.push(AuditLine {
            id,
            at_ms: 1_709_300_000_000,
            user: user.to_owned(),
            action: action.to_owned(),
            subject: subject.to_owned(),
        });
    }

    /// The `Debug` text of every change the daemon was asked to make, in order.
    pub(crate) fn changes(&self) -> Vec<String> {
        self.debug.lock().unwrap().clone()
    }

    /// Every (before, limit) the audit trail was read with.
    pub(crate) fn audit_asked(&self) -> Vec<(Option<i64>, u32)> {
        self.asked.lock().unwrap().clone()
    }

    /// What the Nuisance alerts section would show now.
    pub(crate) fn nuisance_now(&self) -> NuisanceView {
        self.nuisance.lock().unwrap().clone()
    }

    /// What the Settings page would show now.
    pub(crate) fn settings_now(&self) -> SettingsView {
        self.settings.lock().unwrap().clone()
    }

    pub(crate) fn user(&self, name: &str) -> Option<UserRow> {
        let settings = self.settings.lock().unwrap();
        settings
            .users
            .iter()
            .find(|user| user.name == name)
            .cloned()
    }
}

impl FakeAdmin {
    /// Applies a change with the daemon's rules.
    fn apply(&self, change: AdminChange) -> Result<String, AdminRefusal> {
        self.debug.lock().unwrap().push(format!("{change:?}"));
        let summary = change.to_string();
        let mut settings = self.settings.lock().unwrap();
        let refuse = |text: &str| Err(AdminRefusal(text.to_owned()));
        let admins_left = |users: &[UserRow], without: &str| {
            users
                .iter()
                .filter(|u| u.name != without && u.role == Role::Admin && !u.disabled)
                .count()
        };
        let find = |users: &[UserRow], name: &str| users.iter().position(|u| u.name == name);
        match change {
            AdminChange::AddUser { name, role, .. } => {
                if find(&settings.users, &name).is_some() {
                    return refuse("that user name is taken");
                }
                settings.users.push(UserRow {
                    name,
                    role,
                    disabled: false,
                    created_ms: 1_709_300_000_000,
                });
            }
            AdminChange::SetRole { name, role } => {
                let Some(at) = find(&settings.users, &name) else {
                    return refuse("there is no such user");
                };
                if role != Role::Admin && admins_left(&settings.users, &name) == 0 {
                    return refuse("the dock needs at least one enabled admin");
                }
                settings.users[at].role = role;
            }
            AdminChange::SetDisabled { name, disabled } => {
                let Some(at) = find(&settings.users, &name) else {
                    return refuse("there is no such user");
                };
                if disabled && admins_left(&settings.users, &name) == 0 {
                    return refuse("the dock needs at least one enabled admin");
                }
                settings.users[at].disabled = disabled;
            }
            AdminChange::SetPassword { name, .. } => {
                if find(&settings.users, &name).is_none() {
                    return refuse("there is no such user");
                }
            }
            AdminChange::RemoveUser { name } => {
                let Some(at) = find(&settings.users, &name) else {
                    return refuse("there is no such user");
                };
                if admins_left(&settings.users, &name) == 0 {
                    return refuse("the dock needs at least one enabled admin");
                }
                settings.users.remove(at);
            }
            AdminChange::Site(site) => settings.site = site,
            AdminChange::PutTask(task) => {
                match settings.tasks.iter().position(|t| t.name == task.name) {
                    Some(at) => settings.tasks[at] = task,
                    None => settings.tasks.push(task),
                }
            }
            AdminChange::RemoveTask { name } => {
                let before = settings.tasks.len();
                settings.tasks.retain(|t| t.name != name);
                if settings.tasks.len() == before {
                    return refuse("there is no such task");
                }
            }
            AdminChange::Thresholds(thresholds) => {
                settings.thresholds = thresholds;
                for wearable in &mut settings.wearables {
                    wearable.state = ThresholdStatus::Pending;
                }
            }
            AdminChange::ApplySuggestedThresholds => {
                let nuisance = self.nuisance.lock().unwrap();
                for s in &nuisance.site.suggested {
                    match (s.threshold.as_str(), s.suggested) {
                        ("twist_alert_dps", Some(v)) => settings.thresholds.twist_alert_dps = v,
                        ("bend_hold_ms", Some(v)) => settings.thresholds.bend_hold_ms = v as u32,
                        _ => {}
                    }
                }
            }
            AdminChange::SilentBaseline { days } => {
                self.nuisance.lock().unwrap().silent_baseline_days = days;
            }
        }
        Ok(summary)
    }
}

impl AdminView for FakeAdmin {
    fn settings(&self) -> SettingsView {
        self.settings.lock().unwrap().clone()
    }

    fn nuisance(&self) -> NuisanceView {
        self.nuisance.lock().unwrap().clone()
    }

    fn change<'a>(
        &'a self,
        _by: &'a str,
        change: AdminChange,
    ) -> ViewFuture<'a, Result<String, AdminRefusal>> {
        Box::pin(std::future::ready(self.apply(change)))
    }

    fn audit(&self, before: Option<i64>, limit: u32) -> AuditPage {
        self.asked.lock().unwrap().push((before, limit));
        let lines = self.lines.lock().unwrap();
        let mut newest_first = lines
            .iter()
            .rev()
            .filter(|line| before.is_none_or(|before| line.id < before));
        let entries: Vec<AuditLine> = newest_first
            .by_ref()
            .take(usize::try_from(limit).unwrap())
            .cloned()
            .collect();
        let more = newest_first.next().is_some();
        AuditPage {
            older: entries.last().filter(|_| more).map(|line| line.id),
            entries,
            chain: before.is_none().then(|| self.chain.lock().unwrap().clone()),
        }
    }
}

/// A dock's diagnostics the test can edit; remembers every `days` it was asked for.
pub(crate) struct FakeDiagnostics {
    diagnostics: Mutex<Diagnostics>,
    asked: Mutex<Vec<u32>>,
    upload: Mutex<Option<crate::diagnostics::UploadView>>,
    /// Upload requests that reached the daemon: (what, dead letter id, user).
    upload_requests: Mutex<Vec<(&'static str, String, String)>>,
    /// The daemon's refusal of every upload request, when set.
    upload_refusal: Mutex<Option<String>>,
    /// The self-updater's state.
    update: Mutex<crate::diagnostics::UpdateView>,
    /// What the updater was asked: (what, user).
    update_requests: Mutex<Vec<(crate::diagnostics::UpdateAsk, String)>>,
    /// The updater's answer to every request.
    update_answer: Mutex<Result<String, String>>,
}

impl Default for FakeDiagnostics {
    fn default() -> Self {
        FakeDiagnostics {
            diagnostics: Mutex::new(diagnostics()),
            asked: Mutex::new(Vec::new()),
            upload: Mutex::new(Some(upload_view())),
            upload_requests: Mutex::new(Vec::new()),
            upload_refusal: Mutex::new(None),
            update: Mutex::new(update_view()),
            update_requests: Mutex::new(Vec::new()),
            update_answer: Mutex::new(Ok("dockd 0.3.1 is up to date".to_owned())),
        }
    }
}

impl FakeDiagnostics {
    /// Edits what the daemon answers.
    pub(crate) fn update(&self, change: impl FnOnce(&mut Diagnostics)) {
        change(&mut self.diagnostics.lock().unwrap());
    }

    /// Every `days` the daemon was asked for, in order.
    pub(crate) fn asked(&self) -> Vec<u32> {
        self.asked.lock().unwrap().clone()
    }

    /// Sets the upload queue the daemon answers (`None`: not configured).
    pub(crate) fn set_upload(&self, upload: Option<crate::diagnostics::UploadView>) {
        *self.upload.lock().unwrap() = upload;
    }

    /// Makes the daemon refuse every upload request with `words`.
    pub(crate) fn refuse_uploads(&self, words: &str) {
        *self.upload_refusal.lock().unwrap() = Some(words.to_owned());
    }

    /// The upload requests that reached the daemon: ("now" | "retry" | "drop", id, user).
    pub(crate) fn upload_requests(&self) -> Vec<(&'static str, String, String)> {
        self.upload_requests.lock().unwrap().clone()
    }

    /// Sets the self-updater's state.
    pub(crate) fn set_update(&self, update: crate::diagnostics::UpdateView) {
        *self.update.lock().unwrap() = update;
    }

    /// Sets the updater's answer to every request.
    pub(crate) fn answer_updates(&self, answer: Result<&str, &str>) {
        *self.update_answer.lock().unwrap() = answer.map(str::to_owned).map_err(str::to_owned);
    }

    /// What reached the updater: (what, user).
    pub(crate) fn update_requests(&self) -> Vec<(crate::diagnostics::UpdateAsk, String)> {
        self.update_requests.lock().unwrap().clone()
    }

    fn upload_request(&self, what: &'static str, id: &str, user: &str) -> Result<String, String> {
        if let Some(refusal) = self.upload_refusal.lock().unwrap().clone() {
            return Err(refusal);
        }
        self.upload_requests
            .lock()
            .unwrap()
            .push((what, id.to_owned(), user.to_owned()));
        Ok(format!("Done: {what} {id}"))
    }
}

impl DiagnosticsView for FakeDiagnostics {
    fn diagnostics(&self, days: u32) -> Diagnostics {
        self.asked.lock().unwrap().push(days);
        self.diagnostics.lock().unwrap().clone()
    }

    fn upload(&self) -> Option<crate::diagnostics::UploadView> {
        self.upload.lock().unwrap().clone()
    }

    fn upload_now<'a>(&'a self, user: &'a str) -> crate::ViewFuture<'a, Result<String, String>> {
        Box::pin(async move { self.upload_request("now", "", user) })
    }

    fn retry_dead_letter<'a>(
        &'a self,
        id: &'a str,
        user: &'a str,
    ) -> crate::ViewFuture<'a, Result<String, String>> {
        Box::pin(async move { self.upload_request("retry", id, user) })
    }

    fn drop_dead_letter<'a>(
        &'a self,
        id: &'a str,
        user: &'a str,
    ) -> crate::ViewFuture<'a, Result<String, String>> {
        Box::pin(async move { self.upload_request("drop", id, user) })
    }

    fn update(&self) -> crate::diagnostics::UpdateView {
        self.update.lock().unwrap().clone()
    }

    fn ask_update<'a>(
        &'a self,
        ask: crate::diagnostics::UpdateAsk,
        user: &'a str,
    ) -> crate::ViewFuture<'a, Result<String, String>> {
        Box::pin(async move {
            self.update_requests
                .lock()
                .unwrap()
                .push((ask, user.to_owned()));
            self.update_answer.lock().unwrap().clone()
        })
    }
}

/// A configured updater running 0.3.1 that found 0.4.0, with a rejected check, a rollback and
/// an install among its events (newest first).
pub(crate) fn update_view() -> crate::diagnostics::UpdateView {
    use crate::diagnostics::{UpdateEventView, UpdateView};
    let now_ms = 1_709_211_909_750;
    let event =
        |minutes: i64, action: &str, words: &str, version: &str, detail: &str| UpdateEventView {
            at_ms: now_ms - minutes * 60_000,
            action: action.to_owned(),
            words: words.to_owned(),
            version: version.to_owned(),
            detail: detail.to_owned(),
        };
    UpdateView {
        configured: true,
        source: Some("https://releases.example/dock/manifest.json".to_owned()),
        running: "0.3.1".to_owned(),
        on_trial: false,
        window: Some("02:00-04:00".to_owned()),
        last_check_ms: Some(now_ms - 5 * 60_000),
        last_result: Some("0.4.0 is available".to_owned()),
        offered: Some("0.4.0".to_owned()),
        events: vec![
            event(5, "checked", "checked", "0.4.0", "0.4.0 is available"),
            event(
                60,
                "rejected",
                "refused",
                "",
                "the manifest expired on 2024-02-01 <script>",
            ),
            event(
                120,
                "rolled_back",
                "rolled back",
                "0.3.2",
                "0.3.2 failed its health check: selftest failed",
            ),
            event(
                130,
                "installed",
                "installed",
                "0.3.2",
                "installed in its slot",
            ),
        ],
    }
}

/// A dock with a 3D fix that was lost for an hour yesterday, a UPS that carried it through a
/// mains cut, two thermal zones, two wearables (the second flagged for low health), a data
/// folder and two network interfaces, with hourly histories over the last 7 days.
pub(crate) fn diagnostics() -> Diagnostics {
    const HOUR: i64 = 3_600_000;
    let now_ms = 1_709_211_909_750;
    let start = now_ms - 7 * 24 * HOUR;
    let hours = 0..7 * 24;
    let lost = 6 * 24 + 2;
    let gps_history = hours
        .clone()
        .map(|h| GpsPoint {
            at_ms: start + h * HOUR,
            mode: if h == lost { 1 } else { 3 },
            satellites_used: Some(if h == lost { 0 } else { 7 + (h % 4) as u32 }),
            lat: (h != lost).then_some(52.520_008),
            lon: (h != lost).then_some(13.404_954),
        })
        .collect();
    let power_history = hours
        .clone()
        .map(|h| PowerPoint {
            at_ms: start + h * HOUR,
            mains_online: Some(!(100..103).contains(&h)),
            battery_pct: Some(if (100..103).contains(&h) { 80 } else { 100 }),
            max_temp_c: Some(38.0 + (h % 6) as f64),
        })
        .collect();
    let history = |soc_at: fn(i64) -> u8| {
        hours
            .clone()
            .step_by(3)
            .map(|h| BatteryPoint {
                at_ms: start + h * HOUR,
                soc: soc_at(h),
                health_pct: Some(90),
                temp_c: 24.0 + (h % 5) as f64,
            })
            .collect::<Vec<_>>()
    };
    Diagnostics {
        now_ms,
        gps: GpsPanel {
            configured: true,
            connected: true,
            mode: 3,
            lat: Some(52.520_008),
            lon: Some(13.404_954),
            alt_m: Some(34.2),
            satellites_used: Some(9),
            satellites_seen: Some(14),
            hdop: Some(0.9),
            last_fix_ms: Some(now_ms - 1000),
            problem: None,
        },
        gps_history,
        gps_events: vec![
            GpsEventLine {
                at_ms: start + (lost + 1) * HOUR,
                kind: "fix_regained".to_owned(),
                text: "fix regained".to_owned(),
            },
            GpsEventLine {
                at_ms: start + lost * HOUR,
                kind: "fix_lost".to_owned(),
                text: "fix lost".to_owned(),
            },
            GpsEventLine {
                at_ms: start,
                kind: "connected".to_owned(),
                text: "gpsd 3.22 connected".to_owned(),
            },
        ],
        power: PowerPanel {
            summary: "mains, UPS 100 %".to_owned(),
            mains_online: Some(true),
            batteries: vec![DockBattery {
                name: "ups".to_owned(),
                kind: "UPS".to_owned(),
                status: Some("full".to_owned()),
                capacity_pct: Some(100),
                health_pct: Some(96.4),
                temperature_c: Some(29.5),
                voltage_v: Some(13.42),
            }],
            thermal: vec![
                Thermal {
                    name: "cpu-thermal".to_owned(),
                    temp_c: Some(41.2),
                },
                Thermal {
                    name: "board".to_owned(),
                    temp_c: None,
                },
            ],
            problems: Vec::new(),
        },
        power_history,
        wearables: vec![
            WearableBattery {
                serial: "KW-00101".to_owned(),
                last_docked_ms: Some(now_ms - 2 * HOUR),
                soc: Some(88),
                health_pct: Some(94),
                cycles: Some(120),
                temp_c: Some(26.5),
                voltage_mv: Some(4080),
                history: history(|h| 40 + (h % 60) as u8),
                flags: Vec::new(),
            },
            WearableBattery {
                serial: "KW-00102".to_owned(),
                last_docked_ms: Some(now_ms - 5 * HOUR),
                soc: Some(61),
                health_pct: Some(72),
                cycles: Some(610),
                temp_c: Some(31.0),
                voltage_mv: Some(3890),
                history: history(|h| 30 + (h % 50) as u8),
                flags: vec![BatteryFlagLine {
                    kind: "low_health".to_owned(),
                    reason: "health 72 %, below 80 %".to_owned(),
                    at_ms: now_ms - 5 * HOUR,
                }],
            },
        ],
        storage: StoragePanel {
            data_dir: "/var/lib/dockd".to_owned(),
            total_bytes: Some(32_000_000_000),
            available_bytes: Some(19_700_000_000),
            database_bytes: Some(1_250_000_000),
        },
        host: HostPanel {
            dock_name: "Dock A".to_owned(),
            version: "0.1.0".to_owned(),
            uptime_s: Some(3 * 86_400 + 4 * 3600 + 5),
            interfaces: vec![
                Interface {
                    name: "eth0".to_owned(),
                    addresses: vec!["192.168.1.20/24".to_owned(), "fe80::1/64".to_owned()],
                },
                Interface {
                    name: "wlan0".to_owned(),
                    addresses: Vec::new(),
                },
            ],
            web_certificate_sha256: Some("ab".repeat(32)),
            pseudonym_key: Some(crate::diagnostics::PseudonymKey {
                source: "site".to_owned(),
                key_id: "30870ae091a5b9f9".to_owned(),
            }),
            clock: crate::diagnostics::ClockPanel {
                synchronised: Some(false),
                words: "NOT synchronised: no time service has set the system clock".to_owned(),
            },
        },
        // The handlers fill these from `DiagnosticsView::upload` and `::update`.
        upload: None,
        update: crate::diagnostics::UpdateView::default(),
    }
}

/// An upload queue to an HTTPS receiver that answered 500 last, with one dead letter.
pub(crate) fn upload_view() -> crate::diagnostics::UploadView {
    crate::diagnostics::UploadView {
        target: "HTTPS https://cloud.example/ingest".to_owned(),
        queued_items: 1234,
        queued_bytes: 5_600_000,
        oldest_ms: Some(1_709_211_909_750 - 26 * 3_600_000),
        last_success_ms: Some(1_709_211_909_750 - 3_600_000),
        last_error: Some("The receiver answered 500 Internal Server Error.".to_owned()),
        paused: None,
        dead_letters: vec![crate::diagnostics::DeadLetterView {
            id: "b-7f3a".to_owned(),
            kind: "alert".to_owned(),
            day: "2024-02-28".to_owned(),
            items: 17,
            bytes: 2048,
            reason: "The receiver refused the batch's content (422).".to_owned(),
            parked_ms: Some(1_709_211_909_750 - 7_200_000),
        }],
    }
}

/// `path` with every `{parameter}` replaced by `12`.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        out.push_str("12");
        rest = rest[open..]
            .find('}')
            .map_or("", |close| &rest[open + close + 1..]);
    }
    out.push_str(rest);
    out
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.to_ascii_uppercase().as_bytes()).unwrap()
}

/// Every route of the worker-data group (analysis and roster pages, API and stylesheets), as
/// (method, a concrete path).
pub(crate) fn worker_data_routes() -> Vec<(Method, String)> {
    let pages = [
        "/overview",
        "/workers/12",
        "/tasks",
        crate::analysis::STYLE_PATH,
    ]
    .into_iter()
    .chain([crate::roster::PAGE_PATH, crate::roster::STYLE_PATH])
    .map(|path| (Method::GET, path.to_owned()));
    let analysis = crate::analysis::API_ROUTES
        .into_iter()
        .map(|path| (Method::GET, concrete(path)));
    let roster = crate::roster::API_ROUTES
        .iter()
        .map(|(verb, path)| (method(verb), concrete(path)));
    pages.chain(analysis).chain(roster).collect()
}

/// Every route of the admin group (pages and API), as (method, a concrete path).
pub(crate) fn admin_routes() -> Vec<(Method, String)> {
    crate::admin::PAGE_ROUTES
        .iter()
        .chain(crate::admin::API_ROUTES)
        .map(|(verb, path)| (method(verb), concrete(path)))
        .collect()
}

/// Every route of the diagnostics group (page, API, stylesheet and the admins' upload forms), as
/// (method, a concrete path, who may use it).
pub(crate) fn diagnostics_routes() -> Vec<(Method, String, crate::diagnostics::Rule)> {
    crate::diagnostics::ROUTES
        .iter()
        .map(|route| {
            let verb = match route.verb {
                crate::Verb::Get => Method::GET,
                crate::Verb::Post => Method::POST,
            };
            (verb, concrete(route.path), route.rule)
        })
        .collect()
}

/// The whole site (`crate::site` as the daemon builds it) over fakes the test can look into.
pub(crate) struct TestSite {
    pub(crate) router: Router,
    pub(crate) dock: Arc<FakeDock>,
    pub(crate) accounts: Arc<FakeAccounts>,
    pub(crate) audit: Arc<RecordingAudit>,
    pub(crate) admin: Arc<FakeAdmin>,
    pub(crate) roster: Arc<FakeRoster>,
    pub(crate) diagnostics: Arc<FakeDiagnostics>,
    auth: Arc<Auth>,
}

impl TestSite {
    pub(crate) fn new(secure_cookies: bool) -> TestSite {
        let dock = FakeDock::new();
        let accounts = Arc::new(FakeAccounts::default());
        let audit = Arc::new(RecordingAudit::default());
        let admin = Arc::new(FakeAdmin::default());
        let diagnostics = Arc::new(FakeDiagnostics::default());
        let roster = Arc::new(FakeRoster::default());
        let auth = Arc::new(Auth::new(accounts.clone(), audit.clone(), secure_cookies));
        let backends = Backends {
            dock: dock.clone(),
            accounts: accounts.clone(),
            audit: audit.clone(),
            analysis: Arc::new(FakeView::default()),
            roster: roster.clone(),
            admin: admin.clone(),
            diagnostics: diagnostics.clone(),
        };
        let router = crate::assemble(backends, auth.clone());
        TestSite {
            router,
            dock,
            accounts,
            audit,
            admin,
            roster,
            diagnostics,
            auth,
        }
    }

    /// A client with a fresh session for `name` as `role`, made directly (no sign-in request).
    pub(crate) fn signed_in(&self, name: &str, role: Role) -> Client {
        self.accounts.known(name, role);
        let user = CurrentUser {
            name: name.to_owned(),
            role,
        };
        let generation = self.accounts.standing(name).map_or(0, |s| s.generation);
        let (id, session) = self
            .auth
            .sessions
            .start_at(user, generation, Instant::now())
            .unwrap();
        Client {
            router: self.router.clone(),
            session: Some(id),
            csrf: Some(session.csrf),
        }
    }

    pub(crate) async fn send(&self, request: Request<Body>) -> Response<Body> {
        send(self.router.clone(), request).await
    }
}

/// Requests to the site under one session (or none); sends the CSRF header on writes.
#[derive(Clone)]
pub(crate) struct Client {
    pub(crate) router: Router,
    pub(crate) session: Option<String>,
    pub(crate) csrf: Option<String>,
}

impl Client {
    pub(crate) fn csrf(&self) -> &str {
        self.csrf.as_deref().unwrap()
    }

    /// A request builder for `method` `path` carrying the session cookie (no CSRF token).
    pub(crate) fn builder(&self, method: Method, path: &str) -> axum::http::request::Builder {
        let builder = Request::builder().method(method).uri(path);
        match &self.session {
            Some(id) => builder.header(COOKIE, format!("other=1; {COOKIE_NAME}={id}")),
            None => builder,
        }
    }

    pub(crate) async fn send(&self, request: Request<Body>) -> Response<Body> {
        send(self.router.clone(), request).await
    }
}

/// `method` `path` with the client's session cookie, and its CSRF header on writes.
pub(crate) async fn request(client: Client, method: Method, path: &str) -> Response<Body> {
    let mut builder = client.builder(method.clone(), path);
    if crate::auth::is_state_changing(&method)
        && let Some(csrf) = &client.csrf
    {
        builder = builder.header("x-csrf-token", csrf);
    }
    client.send(builder.body(Body::empty()).unwrap()).await
}

pub(crate) async fn get(client: Client, path: &str) -> Response<Body> {
    request(client, Method::GET, path).await
}

pub(crate) async fn send(router: Router, request: Request<Body>) -> Response<Body> {
    router.oneshot(request).await.unwrap()
}

/// `POST /api/v1/login` with these credentials.
pub(crate) fn json_login(username: &str, password: &str) -> Request<Body> {
    let body = serde_json::json!({ "username": username, "password": password });
    Request::builder()
        .method(Method::POST)
        .uri("/api/v1/login")
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// `POST /login` with these form fields (already url-encoded).
pub(crate) fn form_login(fields: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(fields.to_owned()))
        .unwrap()
}

/// The session id a response's `Set-Cookie` gives (`None` when it sets none or clears it).
pub(crate) fn session_cookie(response: &Response<Body>) -> Option<String> {
    let value = set_cookie(response)?;
    let id = value
        .split(';')
        .next()?
        .strip_prefix(&format!("{COOKIE_NAME}="))?;
    (!id.is_empty()).then(|| id.to_owned())
}

/// The response's `Set-Cookie` header as text.
pub(crate) fn set_cookie(response: &Response<Body>) -> Option<String> {
    response
        .headers()
        .get(SET_COOKIE)
        .map(HeaderValue::to_str)
        .map(|value| value.unwrap().to_owned())
}

pub(crate) async fn body_json(response: Response<Body>) -> serde_json::Value {
    serde_json::from_str(&body_text(response).await).unwrap()
}

pub(crate) async fn body_text(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Asserts that the OpenAPI `schema` (resolved through `$ref`s into `schemas`) names exactly the
/// keys of a real answer `value`, recursively; `at` says where in the answer, for the failure.
pub(crate) fn check_against_schema(
    schemas: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    at: &str,
) {
    use serde_json::Value;

    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => &schemas[r.trim_start_matches("#/components/schemas/")],
        None => schema,
    };
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        if !value.is_null()
            && let Some(first) = options.first()
        {
            check_against_schema(schemas, first, value, at);
        }
        return;
    }
    match value {
        Value::Object(map) => {
            let documented: std::collections::BTreeSet<&String> = schema["properties"]
                .as_object()
                .map(|p| p.keys().collect())
                .unwrap_or_default();
            let actual: std::collections::BTreeSet<&String> = map.keys().collect();
            assert_eq!(documented, actual, "keys at {at}");
            for (key, inner) in map {
                check_against_schema(
                    schemas,
                    &schema["properties"][key],
                    inner,
                    &format!("{at}.{key}"),
                );
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                check_against_schema(schemas, &schema["items"], first, &format!("{at}[0]"));
            }
        }
        _ => {}
    }
}

/// Text no page may ever show as it is: it opens a tag, leaves either quoted attribute and
/// starts an entity.
pub(crate) const HOSTILE: &str = "<x\"'&>";

/// [`HOSTILE`] as the escaper writes it.
pub(crate) const HOSTILE_ESCAPED: &str = "&lt;x&quot;&#39;&amp;&gt;";

/// `value` with every string in it that the type lets be any text set to [`HOSTILE`]: each one
/// is tried in turn, and one that must be an enum's name (a role, a state) keeps its value.
pub(crate) fn hostile<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T) -> T {
    fn pointers(value: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(_) => out.push(at.to_owned()),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    pointers(item, &format!("{at}/{i}"), out);
                }
            }
            serde_json::Value::Object(fields) => {
                for (key, item) in fields {
                    let key = key.replace('~', "~0").replace('/', "~1");
                    pointers(item, &format!("{at}/{key}"), out);
                }
            }
            _ => {}
        }
    }
    let mut json = serde_json::to_value(value).unwrap();
    let mut all = Vec::new();
    pointers(&json, "", &mut all);
    for pointer in all {
        let slot = json.pointer_mut(&pointer).unwrap();
        let old = std::mem::replace(slot, serde_json::Value::from(HOSTILE));
        if serde_json::from_value::<T>(json.clone()).is_err() {
            *json.pointer_mut(&pointer).unwrap() = old;
        }
    }
    serde_json::from_value(json).unwrap()
}
