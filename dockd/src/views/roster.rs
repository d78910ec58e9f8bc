//! Implements `web_ui::roster::RosterView` over the store: wearables and who wears them, workers'
//! badge tags, display names, tasks, teams and opt-outs. It owns turning roster input into store
//! changes (through the `Writer`) and refreshing the live settings after them; it must never log
//! a badge tag or a display name.

use std::collections::BTreeSet;
use std::sync::Arc;

use web_ui::ViewFuture;
use web_ui::roster::{
    Roster, RosterChange, RosterDone, RosterRefusal, RosterView, RosterWearable, RosterWorker,
};

use crate::clock::Clock;
use crate::site::SiteSettings;
use crate::store::roster::{self, RosterError};
use crate::store::{Reader, StoreError, Writer};
use crate::worker::{Pseudonyms, WorkerTag};

/// The dock's roster.
pub struct SiteRoster {
    reader: Reader,
    /// Changes are awaited on the page's runtime worker: the writer's queue, no blocking thread.
    writer: Writer,
    site: Arc<SiteSettings>,
    pseudonyms: Arc<Pseudonyms>,
    clock: Arc<dyn Clock>,
}

impl SiteRoster {
    pub fn new(
        reader: Reader,
        writer: Writer,
        site: Arc<SiteSettings>,
        pseudonyms: Arc<Pseudonyms>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            reader,
            writer,
            site,
            pseudonyms,
            clock,
        }
    }

    fn read(&self) -> Result<Roster, StoreError> {
        let settings = self.site.current();
        let workers = self.reader.workers()?;
        let mut teams: BTreeSet<String> = settings.teams.keys().cloned().collect();
        teams.extend(workers.iter().filter_map(|w| w.team.clone()));
        let wearables = self
            .reader
            .roster_wearables()?
            .into_iter()
            .map(|w| RosterWearable {
                applied: !w.assigned || w.applied_ms.is_some(),
                serial: w.serial,
                worker: w.worker,
                last_docked_ms: w.last_docked_ms,
            })
            .collect();
        let workers = workers
            .into_iter()
            .map(|w| RosterWorker {
                id: w.id,
                badge: w.tag.badge_text(),
                pseudonym: self.pseudonyms.label(&w.tag),
                display_name: w.display_name,
                task: w.task,
                team: w.team,
                opted_out_ms: w.opted_out_ms,
                discarded_samples: w.discarded_samples,
            })
            .collect();
        Ok(Roster {
            wearables,
            workers,
            tasks: settings.tasks.iter().map(|t| t.name.clone()).collect(),
            teams: teams.into_iter().collect(),
        })
    }

    fn check_task(&self, task: Option<&String>) -> Result<(), RosterRefusal> {
        if let Some(name) = task {
            web_ui::rules::task_name(name).map_err(|words| RosterRefusal(words.into()))?;
        }
        match task {
            Some(name) if !self.site.current().tasks.iter().any(|t| &t.name == name) => {
                Err(RosterRefusal(format!(
                    "there is no task called \"{name}\": add it on the Settings page first"
                )))
            }
            _ => Ok(()),
        }
    }

    /// A worker's display name and team through the page's rules (trimmed, empty is none),
    /// refused in the page's words. Only new input: stored rows are never re-checked.
    fn check_details(
        display_name: Option<String>,
        team: Option<String>,
    ) -> Result<(Option<String>, Option<String>), RosterRefusal> {
        let checked = |text: Option<String>, rule| {
            web_ui::rules::optional(text.as_deref(), rule)
                .map_err(|words| RosterRefusal(words.into()))
        };
        Ok((
            checked(display_name, web_ui::rules::display_name)?,
            checked(team, web_ui::rules::team)?,
        ))
    }

    async fn commit(&self, change: roster::RosterChange) -> Result<Option<i64>, RosterRefusal> {
        let result = self.writer.roster(change).await;
        result.map_err(|error| match error {
            StoreError::Roster(RosterError::Exists) => RosterRefusal(
                "a worker with that badge tag is already on the roster: edit that row instead"
                    .into(),
            ),
            StoreError::Roster(RosterError::NoSuchWorker) => {
                RosterRefusal("that worker is not on the roster".into())
            }
            other => {
                tracing::error!(error = %other, "Could not save a roster change.");
                RosterRefusal(
                    "the dock could not save this change (storage problem); try again".into(),
                )
            }
        })
    }

    /// Picks up tasks, teams and opt-outs in the analysis settings.
    async fn refresh_settings(&self) {
        super::reload_settings(&self.site, &self.reader, "a roster change").await;
    }

    async fn apply(&self, change: RosterChange) -> Result<RosterDone, RosterRefusal> {
        let now = self.clock.now_ms();
        match change {
            RosterChange::AssignWearable { serial, worker } => {
                if !web_ui::rules::is_serial(&serial) {
                    return Err(RosterRefusal(
                        "a wearable serial is 1–16 printable characters".into(),
                    ));
                }
                let summary = match worker {
                    Some(id) => format!("wearable {serial} assigned to worker {id}"),
                    None => format!("wearable {serial} assigned to no one"),
                };
                self.commit(roster::RosterChange::AssignWearable {
                    serial,
                    worker,
                    at_ms: now,
                })
                .await?;
                Ok(RosterDone { summary, worker })
            }
            RosterChange::AddWorker {
                badge,
                display_name,
                task,
                team,
            } => {
                let tag = web_ui::rules::badge(&badge)
                    .and_then(|badge| {
                        WorkerTag::from_ascii(badge).filter(|tag| tag.badge_text() == badge)
                    })
                    .ok_or_else(|| {
                        RosterRefusal("a badge tag is 1–16 printable ASCII characters".into())
                    })?;
                let (display_name, team) = Self::check_details(display_name, team)?;
                self.check_task(task.as_ref())?;
                let id = self
                    .commit(roster::RosterChange::AddWorker {
                        tag,
                        display_name,
                        task,
                        team,
                    })
                    .await?;
                self.refresh_settings().await;
                let summary = match id {
                    Some(id) => format!("worker {id} added to the roster"),
                    None => "worker added to the roster".to_owned(),
                };
                Ok(RosterDone {
                    summary,
                    worker: id,
                })
            }
            RosterChange::EditWorker {
                id,
                display_name,
                task,
                team,
            } => {
                let (display_name, team) = Self::check_details(display_name, team)?;
                self.check_task(task.as_ref())?;
                self.commit(roster::RosterChange::EditWorker {
                    id,
                    display_name,
                    task,
                    team,
                })
                .await?;
                self.refresh_settings().await;
                Ok(RosterDone {
                    summary: format!("worker {id} details changed"),
                    worker: Some(id),
                })
            }
            RosterChange::OptOut { id, opted_out } => {
                self.commit(roster::RosterChange::OptOut {
                    id,
                    opted_out_ms: opted_out.then_some(now),
                })
                .await?;
                self.refresh_settings().await;
                let summary = if opted_out {
                    format!("worker {id} opted out: their data is discarded at docking")
                } else {
                    format!("worker {id} opted back in")
                };
                Ok(RosterDone {
                    summary,
                    worker: Some(id),
                })
            }
        }
    }
}

impl RosterView for SiteRoster {
    fn roster(&self) -> Roster {
        self.read().unwrap_or_else(|error| {
            tracing::error!(error = %error, "Cannot read the roster.");
            Roster::default()
        })
    }

    fn change(&self, change: RosterChange) -> ViewFuture<'_, Result<RosterDone, RosterRefusal>> {
        Box::pin(self.apply(change))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::views::settle::TestStore;

    fn roster_over(store: &TestStore) -> SiteRoster {
        SiteRoster::new(
            store.reader.clone(),
            store.writer.clone(),
            Arc::clone(&store.site),
            Arc::new(Pseudonyms::from_key([7; 32])),
            Arc::new(SystemClock),
        )
    }

    /// On a current-thread runtime the page's only thread is the one awaiting: a change that
    /// blocked a thread to wait for the writer (the old `block_on` round trip) cannot run here.
    #[tokio::test(flavor = "current_thread")]
    async fn a_roster_change_is_awaited_on_the_pages_own_thread_and_puts_the_settings_in_force() {
        let store = TestStore::new("roster");
        let roster = roster_over(&store);
        let done = roster
            .change(RosterChange::AddWorker {
                badge: "B-0042".to_owned(),
                display_name: Some("Ana".to_owned()),
                task: None,
                team: Some("Night".to_owned()),
            })
            .await
            .unwrap();
        assert!(done.summary.contains("added"), "{}", done.summary);
        let id = done.worker.unwrap();
        // Committed, and the settings in force know the new team already.
        let listed = roster.roster();
        assert_eq!(listed.workers.len(), 1);
        assert_eq!(listed.teams, ["Night"]);
        assert!(store.site.current().teams.contains_key("Night"));
        // A refusal comes back in words, awaited the same way.
        let refused = roster
            .change(RosterChange::EditWorker {
                id: id + 100,
                display_name: None,
                task: None,
                team: None,
            })
            .await
            .unwrap_err();
        assert!(refused.0.contains("not on the roster"), "{}", refused.0);
        drop(roster);
        store.close();
    }

    /// The page refuses these before they get here; the daemon refuses them too, in the same
    /// words, whoever calls it.
    #[tokio::test(flavor = "current_thread")]
    async fn a_display_name_team_or_task_the_page_refuses_is_refused_here_in_its_words() {
        let store = TestStore::new("roster-rules");
        let roster = roster_over(&store);
        let add = |display_name: Option<String>, team: Option<String>, task: Option<String>| {
            RosterChange::AddWorker {
                badge: "B-0042".to_owned(),
                display_name,
                task,
                team,
            }
        };
        for (change, words) in [
            (
                add(Some("a".repeat(81)), None, None),
                web_ui::rules::DISPLAY_NAME_LONG_WORDS,
            ),
            (
                add(Some("Ana\nB".to_owned()), None, None),
                web_ui::rules::DISPLAY_NAME_CONTROL_WORDS,
            ),
            (
                add(None, Some("t".repeat(41)), None),
                web_ui::rules::TEAM_LONG_WORDS,
            ),
            (
                add(None, None, Some("t".repeat(81))),
                web_ui::rules::TASK_NAME_WORDS,
            ),
        ] {
            let refused = roster.change(change).await.unwrap_err();
            assert_eq!(refused.0, words);
        }
        assert!(roster.roster().workers.is_empty(), "nothing was stored");
        // Trimmed as the page trims: blank is none.
        roster
            .change(add(Some(" Ana ".to_owned()), Some("  ".to_owned()), None))
            .await
            .unwrap();
        let listed = roster.roster();
        assert_eq!(listed.workers[0].display_name.as_deref(), Some("Ana"));
        assert_eq!(listed.workers[0].team, None);
        drop(roster);
        store.close();
    }
}
