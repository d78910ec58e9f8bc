//! The site's live analysis settings: `[analysis]` from the config file, overlaid by what admins
//! changed on the Settings page (`setting` rows) and by the roster (workers' tasks and teams). It
//! owns that merge and the check that the result is valid; it must never write the database
//! (changes are committed by the `Writer` first, then [`SiteSettings::reload`] picks them up).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::analysis::Settings;
use crate::analysis::tasks::Task;
use crate::link::WearableConfig;
use crate::store::roster::WorkerRow;
use crate::store::{Reader, StoreError};
use crate::worker::WorkerTag;

/// `setting` key: [`SiteOverrides`] as JSON.
pub const SITE_KEY: &str = "site";
/// `setting` key: the task list (`Vec<Task>`, worker lists empty) as JSON; replaces the file's.
pub const TASKS_KEY: &str = "tasks";
/// `setting` key: the wearables' alert thresholds (`WearableConfig`) as JSON.
pub const THRESHOLDS_KEY: &str = crate::store::settings::THRESHOLDS;

/// Site settings an admin changed on the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteOverrides {
    pub time_zone: String,
    pub min_group_workers: u32,
    pub goal_alerts_per_day: u32,
}

/// What the page changed, as read from the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageSettings {
    pub site: Option<SiteOverrides>,
    pub tasks: Option<Vec<Task>>,
    pub thresholds: Option<WearableConfig>,
}

impl PageSettings {
    /// Reads the page's settings; a row that does not parse is logged and ignored (the file's
    /// value stands), so a damaged row cannot stop the dock.
    pub fn read(reader: &Reader) -> Result<Self, StoreError> {
        Ok(Self {
            site: parsed(reader, SITE_KEY)?,
            tasks: parsed(reader, TASKS_KEY)?,
            thresholds: parsed(reader, THRESHOLDS_KEY)?,
        })
    }
}

fn parsed<T: serde::de::DeserializeOwned>(
    reader: &Reader,
    key: &str,
) -> Result<Option<T>, StoreError> {
    let Some(text) = reader.setting(key)? else {
        return Ok(None);
    };
    match serde_json::from_str(&text) {
        Ok(value) => Ok(Some(value)),
        Err(error) => {
            tracing::warn!(key, error = %error, "A stored setting does not parse; using the config file's value.");
            Ok(None)
        }
    }
}

/// The settings in force, shared by the analyst and the pages; bumps a version on every change.
pub struct SiteSettings {
    base: Settings,
    current: RwLock<Arc<Settings>>,
    page: RwLock<PageSettings>,
    /// Display names typed in on the roster, by tag (they stay on the dock).
    names: RwLock<HashMap<WorkerTag, String>>,
    changed: watch::Sender<u64>,
}

impl SiteSettings {
    /// The file's settings overlaid by what the store holds.
    pub fn load(base: Settings, reader: &Reader) -> Result<Self, StoreError> {
        let site = Self {
            current: RwLock::new(Arc::new(base.clone())),
            page: RwLock::new(PageSettings::default()),
            names: RwLock::new(HashMap::new()),
            base,
            changed: watch::Sender::new(0),
        };
        site.reload(reader)?;
        Ok(site)
    }

    /// Settings fixed for tests and offline tools: the file's, with nothing from a store.
    pub fn fixed(base: Settings) -> Self {
        Self {
            current: RwLock::new(Arc::new(base.clone())),
            page: RwLock::new(PageSettings::default()),
            names: RwLock::new(HashMap::new()),
            base,
            changed: watch::Sender::new(0),
        }
    }

    /// The display name a supervisor gave the worker of `tag`, if any.
    pub fn display_name(&self, tag: &WorkerTag) -> Option<String> {
        match self.names.read() {
            Ok(names) => names.get(tag).cloned(),
            Err(poisoned) => poisoned.into_inner().get(tag).cloned(),
        }
    }

    /// The settings in force now.
    pub fn current(&self) -> Arc<Settings> {
        match self.current.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// What the page changed (thresholds included), as last loaded.
    pub fn page(&self) -> PageSettings {
        match self.page.read() {
            Ok(page) => page.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The settings from the config file alone.
    pub fn base(&self) -> &Settings {
        &self.base
    }

    /// The number of changes so far (cheap: for cache keys).
    pub fn version(&self) -> u64 {
        *self.changed.borrow()
    }

    /// Bumped whenever [`SiteSettings::current`] changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Re-reads the store after a committed change. A merge that does not validate (it cannot
    /// come from the page, which checks first) keeps the settings in force and is logged.
    pub fn reload(&self, reader: &Reader) -> Result<(), StoreError> {
        let page = PageSettings::read(reader)?;
        let workers = reader.workers()?;
        let names: HashMap<WorkerTag, String> = workers
            .iter()
            .filter_map(|w| Some((w.tag, w.display_name.clone()?)))
            .collect();
        let names_changed = match self.names.write() {
            Ok(mut slot) => {
                let changed = *slot != names;
                *slot = names;
                changed
            }
            Err(_) => false,
        };
        let merged = merge(&self.base, &page, &workers);
        if let Err(problem) = merged.validate() {
            tracing::error!(problem = %problem, "Stored page settings are not valid; keeping the settings in force.");
            return Ok(());
        }
        if let Ok(mut slot) = self.page.write() {
            *slot = page;
        }
        let changed = {
            let mut slot = match self.current.write() {
                Ok(slot) => slot,
                Err(poisoned) => poisoned.into_inner(),
            };
            let changed = **slot != merged;
            if changed {
                *slot = Arc::new(merged);
            }
            changed || names_changed
        };
        if changed {
            self.changed.send_modify(|version| *version += 1);
        }
        Ok(())
    }
}

/// The settings in force: the file's `base`, the page's site values and task list, and every
/// worker's roster task and team (by badge). Opted-out workers are left out: their data is not
/// analysed. The baseline's minimum follows a raised group minimum (it may never be smaller).
pub fn merge(base: &Settings, page: &PageSettings, workers: &[WorkerRow]) -> Settings {
    let mut merged = base.clone();
    if let Some(site) = &page.site {
        merged.time_zone = site.time_zone.clone();
        merged.min_group_workers = site.min_group_workers;
        merged.goal_alerts_per_day = site.goal_alerts_per_day;
        merged.risk.min_baseline_workers = merged
            .risk
            .min_baseline_workers
            .max(site.min_group_workers as usize);
    }
    if let Some(tasks) = &page.tasks {
        merged.tasks = tasks
            .iter()
            .map(|task| {
                let mut task = task.clone();
                // The file's worker list for a task of the same name still applies.
                task.workers = base
                    .tasks
                    .iter()
                    .find(|t| t.name == task.name)
                    .map(|t| t.workers.clone())
                    .unwrap_or_default();
                task
            })
            .collect();
    }
    for worker in workers.iter().filter(|w| w.opted_out_ms.is_none()) {
        let badge = worker.tag.badge_text();
        if let Some(name) = &worker.task
            && let Some(task) = merged.tasks.iter_mut().find(|t| &t.name == name)
            && !task.workers.contains(&badge)
        {
            task.workers.push(badge.clone());
        }
        if let Some(team) = &worker.team {
            let members = merged.teams.entry(team.clone()).or_default();
            if !members.contains(&badge) {
                members.push(badge);
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(id: i64, badge: &str, task: Option<&str>, team: Option<&str>) -> WorkerRow {
        WorkerRow {
            id,
            tag: WorkerTag::from_ascii(badge).unwrap(),
            display_name: None,
            task: task.map(str::to_owned),
            team: team.map(str::to_owned),
            opted_out_ms: None,
            discarded_samples: 0,
        }
    }

    fn task(name: &str, workers: &[&str]) -> Task {
        Task {
            name: name.to_owned(),
            workers: workers.iter().map(|w| (*w).to_owned()).collect(),
            ..Task::default()
        }
    }

    #[test]
    fn with_nothing_changed_on_the_page_the_file_settings_stand() {
        let base = Settings::default();
        assert_eq!(merge(&base, &PageSettings::default(), &[]), base);
    }

    #[test]
    fn roster_tasks_and_teams_join_the_file_ones_by_badge() {
        let base = Settings {
            tasks: vec![task("Picking", &["B-1"])],
            ..Settings::default()
        };
        let workers = [
            worker(1, "B-2", Some("Picking"), Some("Night")),
            worker(2, "B-3", Some("No such task"), None),
        ];
        let merged = merge(&base, &PageSettings::default(), &workers);
        assert_eq!(merged.tasks[0].workers, ["B-1", "B-2"]);
        assert_eq!(merged.teams["Night"], ["B-2"]);
        assert_eq!(merged.tasks.len(), 1);
    }

    #[test]
    fn an_opted_out_worker_is_in_no_task_and_no_team() {
        let mut gone = worker(1, "B-2", Some("Picking"), Some("Night"));
        gone.opted_out_ms = Some(5);
        let base = Settings {
            tasks: vec![task("Picking", &[])],
            ..Settings::default()
        };
        let merged = merge(&base, &PageSettings::default(), &[gone]);
        assert!(merged.tasks[0].workers.is_empty());
        assert!(merged.teams.is_empty());
    }

    #[test]
    fn the_page_task_list_replaces_the_file_one_but_keeps_its_worker_lists() {
        let base = Settings {
            tasks: vec![task("Picking", &["B-1"]), task("Packing", &["B-9"])],
            ..Settings::default()
        };
        let page = PageSettings {
            tasks: Some(vec![
                Task {
                    load_kg: Some(12.0),
                    ..task("Picking", &[])
                },
                task("Loading", &[]),
            ]),
            ..PageSettings::default()
        };
        let merged = merge(&base, &page, &[]);
        let names: Vec<_> = merged.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Picking", "Loading"]);
        assert_eq!(merged.tasks[0].workers, ["B-1"]);
        assert_eq!(merged.tasks[0].load_kg, Some(12.0));
    }

    #[test]
    fn a_raised_group_minimum_raises_the_baseline_minimum_so_the_result_stays_valid() {
        let page = PageSettings {
            site: Some(SiteOverrides {
                time_zone: "Europe/Berlin".into(),
                min_group_workers: 40,
                goal_alerts_per_day: 3,
            }),
            ..PageSettings::default()
        };
        let merged = merge(&Settings::default(), &page, &[]);
        assert_eq!(merged.time_zone, "Europe/Berlin");
        assert_eq!(merged.min_group_workers, 40);
        assert!(merged.risk.min_baseline_workers >= 40);
        assert_eq!(merged.validate(), Ok(()));
    }
}
