//! Implements `web_ui::admin::AdminView` over the store: users, site settings, tasks, the
//! wearables' alert thresholds, nuisance alerts (figures per site and wearable, the suggested
//! thresholds, the silent baseline), and the audit trail. It owns the rules of admin changes (never
//! leave the dock without an enabled admin, never store settings that do not validate); it must
//! never return or log a password.

use std::sync::Arc;

use std::collections::BTreeMap;
use web_ui::ViewFuture;

use web_ui::admin::{
    AdminChange, AdminRefusal, AdminView, AlertCounts, AuditLine, AuditPage, BaselineState,
    NuisanceFigures, NuisanceView, SettingsView, SiteSettings as Site, SuggestedThreshold, TaskRow,
    ThresholdState, ThresholdStatus, Thresholds, UserRow, WearableNuisance,
};

use crate::accounts;
use crate::analysis::nuisance::{self, Baseline, NuisanceTotals};
use crate::analysis::tasks::Task;
use crate::clock::Clock;
use crate::link::WearableConfig;
use crate::role::Role;
use crate::site::{self, PageSettings, SiteOverrides, SiteSettings};
use crate::store::accounts::{UserChange, UserError};
use crate::store::settings::{SILENT_BASELINE, SettingChange};
use crate::store::{Reader, StoreError, Writer};

/// The dock's admin view.
pub struct SiteAdmin {
    reader: Reader,
    /// Changes are awaited on the page's runtime worker: the writer's queue, no blocking thread
    /// (reads and password hashing go to the blocking pool).
    writer: Writer,
    site: Arc<SiteSettings>,
    clock: Arc<dyn Clock>,
}

impl SiteAdmin {
    pub fn new(
        reader: Reader,
        writer: Writer,
        site: Arc<SiteSettings>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            reader,
            writer,
            site,
            clock,
        }
    }

    fn read(&self) -> Result<SettingsView, StoreError> {
        let settings = self.site.current();
        let page = self.site.page();
        let users = self
            .reader
            .users()?
            .into_iter()
            .map(|u| UserRow {
                name: u.name,
                role: u.role.into(),
                disabled: u.disabled,
                created_ms: u.created_ms,
            })
            .collect();
        let wanted = page.thresholds;
        let states = self.reader.config_states()?;
        // Each wearable is judged against what its docking orders send it (the silent baseline
        // and the suggestion included); one without orders is not listed.
        let roster = self.reader.roster_wearables()?;
        let workers: Vec<Option<i64>> = roster.iter().map(|w| w.worker).collect();
        let orders = self.reader.ordered_configs(&workers, self.clock.now_ms())?;
        let wearables = roster
            .into_iter()
            .zip(orders)
            .filter_map(|(w, (_, want))| {
                let want = want?;
                let state = states.iter().find(|s| s.serial == w.serial);
                let (status, at, problem) = match state {
                    Some(s) if s.confirmed == Some(want) => {
                        (ThresholdStatus::Confirmed, s.at_ms, None)
                    }
                    Some(s) if s.problem.is_some() => {
                        (ThresholdStatus::Failed, s.at_ms, s.problem.clone())
                    }
                    _ => (ThresholdStatus::Pending, None, None),
                };
                Some(ThresholdState {
                    serial: w.serial,
                    state: status,
                    confirmed_ms: at,
                    problem,
                    runs: state.and_then(|s| s.confirmed).map(thresholds_view),
                })
            })
            .collect();
        Ok(SettingsView {
            users,
            site: Site {
                time_zone: settings.time_zone.clone(),
                min_group_workers: settings.min_group_workers,
                goal_alerts_per_day: settings.goal_alerts_per_day,
            },
            tasks: settings
                .tasks
                .iter()
                .map(|t| TaskRow {
                    name: t.name.clone(),
                    load_kg: t.load_kg,
                    lever_arm_m: t.lever_arm_m,
                    windows: t.windows.clone(),
                })
                .collect(),
            thresholds: thresholds_view(wanted.unwrap_or_default()),
            wearables,
        })
    }

    /// The Nuisance alerts section over the window ending now.
    fn read_nuisance(&self) -> Result<NuisanceView, StoreError> {
        let now = self.clock.now_ms();
        let current = self.reader.thresholds()?.unwrap_or_default();
        let mut site = NuisanceTotals::default();
        let mut by_serial: BTreeMap<String, NuisanceTotals> = BTreeMap::new();
        for row in self.reader.nuisance_rows(nuisance::window_start(now))? {
            site.add_shift(row.wear_s, &row.alerts);
            by_serial
                .entry(row.serial)
                .or_default()
                .add_shift(row.wear_s, &row.alerts);
        }
        let days = self.reader.silent_baseline_days()?;
        let mut workers: BTreeMap<String, Option<i64>> = BTreeMap::new();
        for wearable in self.reader.roster_wearables()? {
            workers.insert(wearable.serial, wearable.worker);
        }
        for serial in by_serial.keys() {
            workers.entry(serial.clone()).or_insert(None);
        }
        let mut wearables = Vec::with_capacity(workers.len());
        for (serial, worker) in workers {
            let totals = by_serial.remove(&serial).unwrap_or_default();
            wearables.push(WearableNuisance {
                figures: figures(&totals, &current),
                baseline: baseline_state(self.reader.baseline(worker, days, now)?),
                serial,
            });
        }
        Ok(NuisanceView {
            window_days: u32::try_from(nuisance::WINDOW_DAYS).unwrap_or(u32::MAX),
            site: figures(&site, &current),
            wearables,
            silent_baseline_days: days,
        })
    }

    /// The site thresholds with the site's suggestion applied, in the page's units; refused
    /// when nothing can be suggested yet.
    async fn suggested_thresholds(&self) -> Result<Thresholds, AdminRefusal> {
        let now = self.clock.now_ms();
        let current = self.site.page().thresholds.unwrap_or_default();
        let totals = self
            .read_with(move |reader| reader.site_nuisance(now))
            .await?;
        nuisance::suggest(&totals, &current)
            .applied_to(current)
            .map(thresholds_view)
            .ok_or_else(|| {
                AdminRefusal(
                    "there is not enough data yet to suggest thresholds; nothing was changed"
                        .into(),
                )
            })
    }

    async fn commit_user(&self, change: UserChange) -> Result<(), AdminRefusal> {
        self.writer.user(change).await.map_err(|error| match error {
            StoreError::User(UserError::NoSuchUser) => AdminRefusal("there is no such user".into()),
            StoreError::User(last @ UserError::LastAdmin) => AdminRefusal(last.to_string()),
            other => storage_problem(&other),
        })
    }

    /// `read` over the page's reader, on the blocking pool.
    async fn read_with<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Reader) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, AdminRefusal> {
        let reader = self.reader.clone();
        web_ui::blocking(move || read(&reader))
            .await
            .ok_or_else(not_done)?
            .map_err(|error| storage_problem(&error))
    }

    /// Stores a `setting` row after checking the settings it leads to, then puts them in force.
    async fn put_setting(
        &self,
        key: &str,
        value: String,
        proposed: PageSettings,
    ) -> Result<(), AdminRefusal> {
        let workers = self.read_with(Reader::workers).await?;
        site::merge(self.site.base(), &proposed, &workers)
            .validate()
            .map_err(AdminRefusal)?;
        self.writer
            .settings(SettingChange::Put {
                key: key.to_owned(),
                value,
            })
            .await
            .map_err(|e| storage_problem(&e))?;
        super::reload_settings(&self.site, &self.reader, "a settings change").await;
        Ok(())
    }

    /// Refuses a change that would leave no enabled admin.
    async fn keep_an_admin(&self, name: &str, still_admin: bool) -> Result<(), AdminRefusal> {
        if still_admin {
            return Ok(());
        }
        let users = self.read_with(Reader::users).await?;
        let others = users
            .iter()
            .filter(|u| u.role == Role::Admin && !u.disabled && u.name != name)
            .count();
        if others == 0 {
            return Err(AdminRefusal(
                "this is the only enabled admin: make another user admin first".into(),
            ));
        }
        Ok(())
    }

    fn tasks_now(&self) -> Vec<Task> {
        self.site
            .current()
            .tasks
            .iter()
            .map(|t| Task {
                workers: Vec::new(),
                ..t.clone()
            })
            .collect()
    }

    async fn put_tasks(&self, tasks: Vec<Task>) -> Result<(), AdminRefusal> {
        crate::analysis::tasks::validate(&tasks).map_err(|e| AdminRefusal(e.to_string()))?;
        let value = serde_json::to_string(&tasks).map_err(|e| AdminRefusal(e.to_string()))?;
        let proposed = PageSettings {
            tasks: Some(tasks),
            ..self.site.page()
        };
        self.put_setting(site::TASKS_KEY, value, proposed).await
    }

    async fn apply(&self, by: &str, change: AdminChange) -> Result<(), AdminRefusal> {
        match change {
            AdminChange::AddUser {
                name,
                role,
                password,
            } => {
                let now = self.clock.now_ms();
                // The look-up and the argon2 hash (tens of milliseconds) on the blocking pool.
                let user = self
                    .read_with(move |reader| {
                        if reader.user(&name)?.is_some() {
                            return Ok(Err(AdminRefusal(format!(
                                "a user called {name} already exists"
                            ))));
                        }
                        Ok(accounts::new_user(&name, Role::from(role), &password, now)
                            .map_err(|e| AdminRefusal(e.to_string())))
                    })
                    .await??;
                self.writer
                    .put_user(user)
                    .await
                    .map_err(|e| storage_problem(&e))
            }
            AdminChange::SetRole { name, role } => {
                let role = Role::from(role);
                self.keep_an_admin(&name, role == Role::Admin).await?;
                self.commit_user(UserChange::SetRole { name, role }).await
            }
            AdminChange::SetDisabled { name, disabled } => {
                if disabled && name == by {
                    return Err(AdminRefusal("you cannot disable yourself".into()));
                }
                if disabled {
                    self.keep_an_admin(&name, false).await?;
                }
                self.commit_user(UserChange::SetDisabled { name, disabled })
                    .await
            }
            AdminChange::SetPassword { name, password } => {
                // The argon2 hash on the blocking pool.
                let password_hash = web_ui::blocking(move || {
                    accounts::new_password_hash(&password).map_err(|e| AdminRefusal(e.to_string()))
                })
                .await
                .ok_or_else(not_done)??;
                self.commit_user(UserChange::SetPassword {
                    name,
                    password_hash,
                })
                .await
            }
            AdminChange::RemoveUser { name } => {
                if name == by {
                    return Err(AdminRefusal("you cannot remove yourself".into()));
                }
                self.keep_an_admin(&name, false).await?;
                self.commit_user(UserChange::Remove { name }).await
            }
            AdminChange::Site(site) => {
                let overrides = SiteOverrides {
                    time_zone: site.time_zone.trim().to_owned(),
                    min_group_workers: site.min_group_workers,
                    goal_alerts_per_day: site.goal_alerts_per_day,
                };
                if overrides.min_group_workers < 2 {
                    return Err(AdminRefusal(
                        "the minimum group size must be at least 2".into(),
                    ));
                }
                let value =
                    serde_json::to_string(&overrides).map_err(|e| AdminRefusal(e.to_string()))?;
                let proposed = PageSettings {
                    site: Some(overrides),
                    ..self.site.page()
                };
                self.put_setting(site::SITE_KEY, value, proposed).await
            }
            AdminChange::PutTask(row) => {
                let mut tasks = self.tasks_now();
                let task = Task {
                    name: row.name.trim().to_owned(),
                    load_kg: row.load_kg,
                    lever_arm_m: row.lever_arm_m,
                    windows: row.windows.clone(),
                    ..tasks
                        .iter()
                        .find(|t| t.name == row.name.trim())
                        .cloned()
                        .unwrap_or_default()
                };
                match tasks.iter_mut().find(|t| t.name == task.name) {
                    Some(slot) => *slot = task,
                    None => tasks.push(task),
                }
                self.put_tasks(tasks).await
            }
            AdminChange::RemoveTask { name } => {
                let mut tasks = self.tasks_now();
                let before = tasks.len();
                tasks.retain(|t| t.name != name);
                if tasks.len() == before {
                    return Err(AdminRefusal(format!("there is no task called \"{name}\"")));
                }
                self.put_tasks(tasks).await
            }
            AdminChange::ApplySuggestedThresholds => {
                let suggested = self.suggested_thresholds().await?;
                Box::pin(self.apply(by, AdminChange::Thresholds(suggested))).await
            }
            AdminChange::SilentBaseline { days } => {
                let days = web_ui::rules::silent_baseline_days(days)
                    .map_err(|words| AdminRefusal(words.to_owned()))?;
                self.writer
                    .settings(SettingChange::Put {
                        key: SILENT_BASELINE.to_owned(),
                        value: days.to_string(),
                    })
                    .await
                    .map_err(|e| storage_problem(&e))
            }
            AdminChange::Thresholds(t) => {
                let config = wearable_config(&t)?;
                let value =
                    serde_json::to_string(&config).map_err(|e| AdminRefusal(e.to_string()))?;
                let proposed = PageSettings {
                    thresholds: Some(config),
                    ..self.site.page()
                };
                self.put_setting(site::THRESHOLDS_KEY, value, proposed)
                    .await
            }
        }
    }
}

/// A change whose blocking work did not return (it panicked).
fn not_done() -> AdminRefusal {
    AdminRefusal("the dock could not make this change just now; try again".into())
}

fn storage_problem(error: &StoreError) -> AdminRefusal {
    tracing::error!(error = %error, "Could not save an admin change.");
    AdminRefusal("the dock could not save this change (storage problem); try again".into())
}

/// The thresholds in the units people use.
fn thresholds_view(config: WearableConfig) -> Thresholds {
    Thresholds {
        bend_alert_deg: f64::from(config.bend_alert) / 100.0,
        bend_hold_ms: u32::from(config.bend_hold_ms),
        twist_alert_dps: f64::from(config.twist_alert) / 10.0,
        haptics: config.haptics,
        rate_hz: config.rate_hz,
    }
}

/// Nuisance figures in the page's units, with the suggestion from `current`.
fn figures(totals: &NuisanceTotals, current: &WearableConfig) -> NuisanceFigures {
    let suggestion = nuisance::suggest(totals, current);
    NuisanceFigures {
        shifts: totals.shifts,
        wear_h: totals.wear_s / 3600.0,
        alerts: totals.alerts,
        by_kind: AlertCounts {
            bend: totals.by_kind.bend,
            twist: totals.by_kind.twist,
            prolonged_bend: totals.by_kind.prolonged_bend,
            overreach: totals.by_kind.overreach,
        },
        alerts_per_hour: totals.alerts_per_hour(),
        gait_share: totals.gait_share(),
        never_corrected_share: totals.never_corrected_share(),
        gait_min: totals.gait_s / 60.0,
        gait_twist_p999_dps: totals.gait_twist_p999().map(|v| f64::from(v) / 10.0),
        suggested: vec![
            SuggestedThreshold {
                threshold: "twist_alert_dps".to_owned(),
                current: f64::from(current.twist_alert) / 10.0,
                suggested: suggestion.twist_alert.value.map(|v| f64::from(v) / 10.0),
                reason: suggestion.twist_alert.reason,
            },
            SuggestedThreshold {
                threshold: "bend_hold_ms".to_owned(),
                current: f64::from(current.bend_hold_ms),
                suggested: suggestion.bend_hold_ms.value.map(f64::from),
                reason: suggestion.bend_hold_ms.reason,
            },
        ],
    }
}

fn baseline_state(baseline: Baseline) -> BaselineState {
    match baseline {
        Baseline::Off => BaselineState::Off,
        Baseline::Silent { until_ms } => BaselineState::Silent { until_ms },
        Baseline::Over { ended_ms } => BaselineState::Over { ended_ms },
    }
}

/// The wire form (protocol.md §3 CONFIG), refusing what the wire or the firmware cannot take.
fn wearable_config(t: &Thresholds) -> Result<WearableConfig, AdminRefusal> {
    if !(t.bend_alert_deg.is_finite() && (10.0..=90.0).contains(&t.bend_alert_deg)) {
        return Err(AdminRefusal("the bend alert must be 10–90°".into()));
    }
    if !(t.twist_alert_dps.is_finite() && (10.0..=300.0).contains(&t.twist_alert_dps)) {
        return Err(AdminRefusal("the twist alert must be 10–300 °/s".into()));
    }
    let bend_hold_ms = u16::try_from(t.bend_hold_ms)
        .ok()
        .filter(|ms| *ms <= 10_000)
        .ok_or_else(|| AdminRefusal("the bend hold must be 0–10000 ms".into()))?;
    if !(1..=100).contains(&t.rate_hz) {
        return Err(AdminRefusal("the sample rate must be 1–100 Hz".into()));
    }
    // In range by the checks above: 1000..=9000 and 100..=3000.
    let bend_alert = (t.bend_alert_deg * 100.0).round() as i16;
    let twist_alert = (t.twist_alert_dps * 10.0).round() as u16;
    Ok(WearableConfig {
        bend_alert,
        bend_hold_ms,
        twist_alert,
        haptics: t.haptics,
        rate_hz: t.rate_hz,
    })
}

impl AdminView for SiteAdmin {
    fn settings(&self) -> SettingsView {
        self.read().unwrap_or_else(|error| {
            tracing::error!(error = %error, "Cannot read the settings.");
            SettingsView {
                users: Vec::new(),
                site: Site {
                    time_zone: self.site.current().time_zone.clone(),
                    min_group_workers: self.site.current().min_group_workers,
                    goal_alerts_per_day: self.site.current().goal_alerts_per_day,
                },
                tasks: Vec::new(),
                thresholds: thresholds_view(WearableConfig::default()),
                wearables: Vec::new(),
            }
        })
    }

    fn nuisance(&self) -> NuisanceView {
        self.read_nuisance().unwrap_or_else(|error| {
            tracing::error!(error = %error, "Cannot read the nuisance figures.");
            NuisanceView {
                window_days: u32::try_from(nuisance::WINDOW_DAYS).unwrap_or(u32::MAX),
                site: figures(&NuisanceTotals::default(), &WearableConfig::default()),
                wearables: Vec::new(),
                silent_baseline_days: 0,
            }
        })
    }

    fn change<'a>(
        &'a self,
        by: &'a str,
        change: AdminChange,
    ) -> ViewFuture<'a, Result<String, AdminRefusal>> {
        Box::pin(async move {
            // Its Display never carries a password.
            let summary = change.to_string();
            self.apply(by, change).await?;
            tracing::info!(change = %summary, "Settings changed on the page.");
            Ok(summary)
        })
    }

    fn audit(&self, before: Option<i64>, limit: u32) -> AuditPage {
        let limit = limit.clamp(1, 1000);
        let names = self.reader.worker_names().unwrap_or_else(|error| {
            tracing::error!(error = %error, "Cannot read the workers' names for the audit trail.");
            Default::default()
        });
        match self.reader.audit_page(before, limit) {
            Ok(rows) => {
                let older = (rows.len() == limit as usize)
                    .then(|| rows.last().map(|r| r.id))
                    .flatten();
                // The whole chain is checked with the newest page only (older pages are paging).
                let chain = before
                    .is_none()
                    .then(|| audit_chain(&self.reader))
                    .flatten();
                AuditPage {
                    chain,
                    entries: rows
                        .into_iter()
                        .map(|r| AuditLine {
                            id: r.id,
                            at_ms: r.at_ms,
                            user: r.user,
                            action: r.action,
                            subject: name_workers(&r.subject, &names),
                        })
                        .collect(),
                    older,
                }
            }
            Err(error) => {
                tracing::error!(error = %error, "Cannot read the audit trail.");
                AuditPage::default()
            }
        }
    }
}

/// An audit subject as the page shows it: each `worker N` (the trail names workers by an id
/// never reused) with their current name, `worker N (Ana)`, or `deleted worker #N` once they
/// are gone. Names are put in only here, when read, so the trail itself never holds one.
fn name_workers(subject: &str, names: &std::collections::HashMap<i64, Option<String>>) -> String {
    const WORKER: &str = "worker ";
    let mut out = String::with_capacity(subject.len() + 16);
    let mut rest = subject;
    while let Some(at) = rest.find(WORKER) {
        let (before, from) = rest.split_at(at);
        let digits = from[WORKER.len()..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(from.len() - WORKER.len());
        let word_start = before
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let id = from[WORKER.len()..WORKER.len() + digits]
            .parse::<i64>()
            .ok();
        out.push_str(before);
        match id.filter(|_| word_start) {
            Some(id) => match names.get(&id) {
                Some(Some(name)) => out.push_str(&format!("worker {id} ({name})")),
                Some(None) => out.push_str(&format!("worker {id}")),
                None => out.push_str(&format!("deleted worker #{id}")),
            },
            None => out.push_str(&from[..WORKER.len() + digits]),
        }
        rest = &from[WORKER.len() + digits..];
    }
    out.push_str(rest);
    out
}

/// The audit chain's state for the audit page, as `dockd privacy verify` finds it.
fn audit_chain(reader: &crate::store::Reader) -> Option<web_ui::admin::AuditChain> {
    match reader.audit_chain() {
        Ok(report) => Some(web_ui::admin::AuditChain {
            intact: report.is_intact(),
            finding: report.finding(),
        }),
        Err(error) => {
            tracing::error!(error = %error, "Cannot check the audit chain.");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::views::settle::TestStore;

    #[test]
    fn audit_subjects_name_a_worker_when_read_and_say_when_they_were_deleted() {
        let names = std::collections::HashMap::from([(12, Some("Ana".to_owned())), (7, None)]);
        for (stored, shown) in [
            (
                "worker 12 details changed",
                "worker 12 (Ana) details changed",
            ),
            (
                "wearable KW-1 assigned to worker 7",
                "wearable KW-1 assigned to worker 7",
            ),
            (
                "worker 5: their data deleted for good (2 sample blocks)",
                "deleted worker #5: their data deleted for good (2 sample blocks)",
            ),
            (
                "work restriction 3 of worker 120 recorded",
                "work restriction 3 of deleted worker #120 recorded",
            ),
            ("coworker 12 and worker x", "coworker 12 and worker x"),
            ("sign-in", "sign-in"),
            ("worker 12", "worker 12 (Ana)"),
        ] {
            assert_eq!(name_workers(stored, &names), shown);
        }
    }

    /// Awaited on the page's only thread: the password is hashed and the look-ups read on the
    /// blocking pool, the writer's commit awaited, with no thread blocked waiting for it.
    #[tokio::test(flavor = "current_thread")]
    async fn an_admin_change_is_awaited_on_the_pages_own_thread() {
        let store = TestStore::new("admin");
        let admin = SiteAdmin::new(
            store.reader.clone(),
            store.writer.clone(),
            Arc::clone(&store.site),
            Arc::new(SystemClock),
        );
        let add = |name: &str| AdminChange::AddUser {
            name: name.to_owned(),
            role: web_ui::access::Role::Admin,
            password: "a long enough password".to_owned(),
        };
        let summary = admin.change("root", add("ada")).await.unwrap();
        assert!(!summary.contains("a long enough password"), "{summary}");
        assert_eq!(admin.settings().users.len(), 1);
        // The rules still read the store: a second "ada" and the last admin's removal are refused.
        let refused = admin.change("root", add("ada")).await.unwrap_err();
        assert!(refused.0.contains("already exists"), "{}", refused.0);
        let remove = AdminChange::RemoveUser {
            name: "ada".to_owned(),
        };
        let refused = admin.change("root", remove).await.unwrap_err();
        assert!(refused.0.contains("only enabled admin"), "{}", refused.0);
        drop(admin);
        store.close();
    }

    #[tokio::test]
    async fn the_suggestion_is_refused_without_data_and_the_baseline_is_checked_and_stored() {
        let store = TestStore::new("admin-nuisance");
        let admin = SiteAdmin::new(
            store.reader.clone(),
            store.writer.clone(),
            Arc::clone(&store.site),
            Arc::new(SystemClock),
        );
        let view = admin.nuisance();
        assert_eq!((view.site.shifts, view.site.alerts), (0, 0));
        assert_eq!(view.site.alerts_per_hour, None);
        assert!(view.site.suggested.iter().all(|s| s.suggested.is_none()));
        let refused = admin
            .change("root", AdminChange::ApplySuggestedThresholds)
            .await
            .unwrap_err();
        assert!(refused.0.contains("not enough data"), "{refused}");
        assert_eq!(store.reader.thresholds().unwrap(), None, "nothing changed");

        let refused = admin
            .change("root", AdminChange::SilentBaseline { days: 29 })
            .await
            .unwrap_err();
        assert_eq!(refused.0, web_ui::rules::BASELINE_DAYS_WORDS);
        let done = admin
            .change("root", AdminChange::SilentBaseline { days: 2 })
            .await
            .unwrap();
        assert_eq!(done, "set the silent baseline to 2 days");
        assert_eq!(store.reader.silent_baseline_days().unwrap(), 2);
        assert_eq!(admin.nuisance().silent_baseline_days, 2);
        drop(admin);
        store.close();
    }

    #[test]
    fn thresholds_round_trip_between_the_page_units_and_the_wire() {
        let wire = WearableConfig::default();
        assert_eq!(wearable_config(&thresholds_view(wire)).unwrap(), wire);
        let strict = Thresholds {
            bend_alert_deg: 30.5,
            bend_hold_ms: 500,
            twist_alert_dps: 45.0,
            haptics: false,
            rate_hz: 50,
        };
        let config = wearable_config(&strict).unwrap();
        assert_eq!(config.bend_alert, 3050);
        assert_eq!(config.twist_alert, 450);
        assert_eq!(thresholds_view(config), strict);
    }

    #[test]
    fn thresholds_out_of_range_are_refused_in_words() {
        let good = thresholds_view(WearableConfig::default());
        for bad in [
            Thresholds {
                bend_alert_deg: f64::NAN,
                ..good
            },
            Thresholds {
                bend_alert_deg: 95.0,
                ..good
            },
            Thresholds {
                twist_alert_dps: 5.0,
                ..good
            },
            Thresholds {
                bend_hold_ms: 70_000,
                ..good
            },
            Thresholds { rate_hz: 0, ..good },
        ] {
            let refusal = wearable_config(&bad).unwrap_err();
            assert!(refusal.0.contains("must be"), "{refusal}");
        }
    }
}
