//! Implements `web_ui::roster::RosterView` over the store: wearables and who wears them, workers'
//! badge tags, display names, tasks, teams, opt-outs and work restrictions. It owns turning roster
//! input into store changes (through the `Writer`), refreshing the live settings after them, and
//! the periodic retention sweep of work restrictions; it must never log a badge tag, a display
//! name or a work restriction's terms.

use std::collections::BTreeSet;
use std::sync::Arc;

use web_ui::ViewFuture;
use web_ui::roster::{
    DeletedData, DeletedWorker, Roster, RosterChange, RosterDone, RosterRefusal, RosterView,
    RosterWearable, RosterWorker, WorkRestrictionInput,
};

use crate::analysis::work_restrictions::{WorkRestriction, WorkRestrictionTerms};
use crate::clock::Clock;
use crate::site::SiteSettings;
use crate::store::deletion::WorkerDeletion;
use crate::store::roster::{self, RosterError};
use crate::store::work_restrictions::{RETENTION_DAYS, WorkRestrictionChange, WorkRestrictionDone};
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
    work_restrictions_kept_days: u32,
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
            work_restrictions_kept_days: u32::try_from(RETENTION_DAYS).unwrap_or(u32::MAX),
        }
    }

    /// How long ended work restrictions are kept (`[privacy.retention_days] work_restrictions`),
    /// as the page says it.
    pub fn keeping_work_restrictions(mut self, days: u32) -> Self {
        self.work_restrictions_kept_days = days;
        self
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
        let today = self.today();
        let work_restrictions = self
            .reader
            .work_restrictions()?
            .iter()
            .map(|w| work_restriction_view(w, &today))
            .collect();
        Ok(Roster {
            wearables,
            workers,
            tasks: settings.tasks.iter().map(|t| t.name.clone()).collect(),
            teams: teams.into_iter().collect(),
            work_restrictions,
            today: Some(today),
            work_restrictions_kept_days: self.work_restrictions_kept_days,
        })
    }

    /// The site-local day now.
    fn today(&self) -> String {
        super::site_day(&self.site.current().time_zone, self.clock.now_ms())
    }

    /// A work restriction's days and limits through the page's rules again (whoever calls), a
    /// missing first day being today.
    fn check_work_restriction(
        &self,
        input: WorkRestrictionInput,
    ) -> Result<(String, String, WorkRestrictionTerms), RosterRefusal> {
        let refused = |words: &str| RosterRefusal(words.to_owned());
        let from_day = input.from_day.unwrap_or_else(|| self.today());
        let (from_day, until_day) =
            web_ui::rules::work_restriction_days(&from_day, &input.until_day).map_err(refused)?;
        let per_hour = |limit: Option<u32>| {
            limit
                .map(web_ui::rules::work_restriction_per_hour)
                .transpose()
                .map_err(refused)
        };
        let terms = WorkRestrictionTerms {
            no_deep_bends: input.no_deep_bends,
            max_lifts_per_hour: per_hour(input.max_lifts_per_hour)?,
            max_bends_per_hour: per_hour(input.max_bends_per_hour)?,
            max_load_kg: input
                .max_load_kg
                .map(web_ui::rules::work_restriction_load_kg)
                .transpose()
                .map_err(refused)?,
        };
        if !terms.limits_anything() {
            return Err(refused(web_ui::rules::WORK_RESTRICTION_TERMS_WORDS));
        }
        Ok((from_day.to_owned(), until_day.to_owned(), terms))
    }

    async fn commit_work_restriction(
        &self,
        change: WorkRestrictionChange,
    ) -> Result<WorkRestrictionDone, RosterRefusal> {
        self.writer
            .work_restrictions(change)
            .await
            .map_err(|error| match error {
                StoreError::NoSuchWorkRestriction => RosterRefusal(
                    "that work restriction is not on this dock (it may have been deleted)".into(),
                ),
                StoreError::Roster(RosterError::NoSuchWorker) => {
                    RosterRefusal("that worker is not on the roster".into())
                }
                other => {
                    tracing::error!(error = %other, "Could not save a work restriction change.");
                    RosterRefusal(
                        "the dock could not save this change (storage problem); try again".into(),
                    )
                }
            })
    }

    async fn apply_work_restriction(
        &self,
        change: RosterChange,
    ) -> Result<RosterDone, RosterRefusal> {
        let at_ms = self.clock.now_ms();
        match change {
            RosterChange::RecordWorkRestriction {
                worker,
                work_restriction,
            } => {
                let (from_day, until_day, terms) = self.check_work_restriction(work_restriction)?;
                let done = self
                    .commit_work_restriction(WorkRestrictionChange::Record {
                        worker,
                        from_day,
                        until_day,
                        terms,
                        at_ms,
                    })
                    .await?;
                let summary = match done {
                    WorkRestrictionDone::Saved(id) => {
                        format!("work restriction {id} of worker {worker} recorded")
                    }
                    _ => format!("work restriction of worker {worker} recorded"),
                };
                Ok(RosterDone {
                    summary,
                    worker: Some(worker),
                })
            }
            RosterChange::EditWorkRestriction {
                id,
                work_restriction,
            } => {
                let (from_day, until_day, terms) = self.check_work_restriction(work_restriction)?;
                self.commit_work_restriction(WorkRestrictionChange::Edit {
                    id,
                    from_day,
                    until_day,
                    terms,
                    at_ms,
                })
                .await?;
                Ok(RosterDone {
                    summary: format!("work restriction {id} changed"),
                    worker: None,
                })
            }
            RosterChange::EndWorkRestriction { id } => {
                // Ended now: no longer in force from today, so yesterday was its last day.
                let last_day = day_before(&self.today());
                let done = self
                    .commit_work_restriction(WorkRestrictionChange::End {
                        id,
                        last_day,
                        at_ms,
                    })
                    .await?;
                let summary = match done {
                    WorkRestrictionDone::Withdrawn => {
                        format!("work restriction {id} withdrawn before it started")
                    }
                    _ => format!("work restriction {id} ended"),
                };
                Ok(RosterDone {
                    summary,
                    worker: None,
                })
            }
            other => self.apply(other).await,
        }
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
            RosterChange::RecordWorkRestriction { .. }
            | RosterChange::EditWorkRestriction { .. }
            | RosterChange::EndWorkRestriction { .. } => {
                Box::pin(self.apply_work_restriction(change)).await
            }
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

    fn delete_worker(
        &self,
        id: i64,
        by: String,
    ) -> ViewFuture<'_, Result<DeletedWorker, RosterRefusal>> {
        Box::pin(self.delete(id, by))
    }

    fn export_worker(
        &self,
        id: i64,
        by: String,
    ) -> ViewFuture<'_, Result<web_ui::roster::WorkerExport, RosterRefusal>> {
        Box::pin(self.export(id, by))
    }
}

impl SiteRoster {
    /// Worker `id`'s export as a tar archive made on the blocking pool while it downloads, then
    /// its audit line by page user `by` (what went out, or where it broke off).
    async fn export(
        &self,
        id: i64,
        by: String,
    ) -> Result<web_ui::roster::WorkerExport, RosterRefusal> {
        let reader = self.reader.clone();
        let known = tokio::task::spawn_blocking(move || {
            reader.workers().map(|w| w.iter().any(|w| w.id == id))
        })
        .await;
        if !matches!(known, Ok(Ok(true))) {
            return Err(RosterRefusal(
                "that worker is not on the roster (their data may be deleted already)".into(),
            ));
        }
        let stream = crate::privacy::stream_export(
            self.reader.clone(),
            self.writer.clone(),
            id,
            (by, String::new()),
            self.clock.now_ms(),
        );
        Ok(web_ui::roster::WorkerExport {
            file_name: format!("worker-{id}-export.tar"),
            chunks: stream.chunks,
        })
    }

    /// Deletes worker `id` for good on behalf of page user `by`: one transaction with its audit
    /// entry, tombstone and cloud deletion records (`store::deletion`), then the settings in
    /// force without them.
    async fn delete(&self, id: i64, by: String) -> Result<DeletedWorker, RosterRefusal> {
        let deletion = WorkerDeletion {
            worker: id,
            at_ms: self.clock.now_ms(),
            by,
        };
        let done = self
            .writer
            .delete_worker(deletion)
            .await
            .map_err(|error| match error {
                StoreError::Roster(RosterError::NoSuchWorker) => RosterRefusal(
                    "that worker is not on the roster (their data may be deleted already)".into(),
                ),
                other => {
                    tracing::error!(error = %other, "Could not delete a worker's data; nothing was deleted.");
                    RosterRefusal(
                        "the dock could not delete this worker's data (storage problem), so nothing was deleted; try again"
                            .into(),
                    )
                }
            })?;
        self.refresh_settings().await;
        tracing::info!(
            worker = done.worker,
            samples = done.samples,
            "Deleted a worker's data for good on the page (audited)."
        );
        Ok(DeletedWorker {
            summary: done.subject(),
            worker: done.worker,
            deleted: DeletedData {
                samples: done.samples,
                alerts: done.alerts,
                events: done.events,
                shift_reports: done.shift_reports,
                work_restrictions: done.restrictions,
                quarantined_segments: done.quarantined_segments,
                upload_items: done.upload_items,
                wearables_unassigned: done.wearables_unassigned,
                cloud_deletions: done.cloud_deletions,
            },
        })
    }
}

/// A stored work restriction as the pages show it, in force or not on site-local `today`.
pub(super) fn work_restriction_view(
    work_restriction: &WorkRestriction,
    today: &str,
) -> web_ui::roster::WorkRestriction {
    let terms = &work_restriction.terms;
    web_ui::roster::WorkRestriction {
        id: work_restriction.id,
        worker: work_restriction.worker,
        from_day: work_restriction.from_day.clone(),
        until_day: work_restriction.until_day.clone(),
        no_deep_bends: terms.no_deep_bends,
        max_lifts_per_hour: terms.max_lifts_per_hour,
        max_bends_per_hour: terms.max_bends_per_hour,
        max_load_kg: terms.max_load_kg,
        terms: terms.words(),
        in_force: work_restriction.in_force_on(today),
    }
}

/// The day before `day` (`YYYY-MM-DD`); `day` itself if it is not a date.
fn day_before(day: &str) -> String {
    day.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|date| date.yesterday().ok())
        .map_or_else(|| day.to_owned(), |date| date.to_string())
}

/// How often the retention sweep of work restrictions runs.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes for good, once, every work restriction past its retention on the site-local day the
/// `clock` says it is; returns how many.
pub async fn sweep_work_restrictions_once(
    writer: &Writer,
    site: &SiteSettings,
    clock: &dyn Clock,
    keep_days: u32,
) -> Result<u64, StoreError> {
    let today = super::site_day(&site.current().time_zone, clock.now_ms());
    match writer
        .work_restrictions(WorkRestrictionChange::Sweep { today, keep_days })
        .await?
    {
        WorkRestrictionDone::Deleted(count) => Ok(count),
        _ => Ok(0),
    }
}

/// Runs the retention sweep of work restrictions at start and every hour until `shutdown`.
pub async fn sweep_work_restrictions(
    writer: Writer,
    site: Arc<SiteSettings>,
    clock: Arc<dyn Clock>,
    keep_days: u32,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        match sweep_work_restrictions_once(&writer, &site, clock.as_ref(), keep_days).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(
                deleted,
                "Deleted work restrictions past their retention for good."
            ),
            Err(StoreError::Closed) => return,
            Err(error) => {
                tracing::warn!(error = %error, "The work restriction retention sweep failed; it runs again within the hour.")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
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

    /// Whatever a page user does to a worker, the audit trail (the page records the summaries;
    /// the daemon the deletion) names them by id only, and their deletion is the page user's.
    #[tokio::test(flavor = "current_thread")]
    async fn roster_changes_and_a_deletion_are_audited_by_id_and_never_by_name_or_badge() {
        const NAME: &str = "MARKER-Ana-Name";
        const BADGE: &str = "MARKER-B-42";
        let store = TestStore::new("roster-delete");
        let keys = Arc::new(Pseudonyms::from_key([7; 32]));
        store
            .writer
            .set_pseudonyms(Arc::clone(&keys))
            .await
            .unwrap();
        let roster = roster_over(&store);
        let added = roster
            .change(RosterChange::AddWorker {
                badge: BADGE.to_owned(),
                display_name: Some(NAME.to_owned()),
                task: None,
                team: Some("Night".to_owned()),
            })
            .await
            .unwrap();
        let id = added.worker.unwrap();
        let mut summaries = vec![added.summary];
        for change in [
            RosterChange::EditWorker {
                id,
                display_name: Some(NAME.to_owned()),
                task: None,
                team: None,
            },
            RosterChange::AssignWearable {
                serial: "KW-1".to_owned(),
                worker: Some(id),
            },
            RosterChange::OptOut {
                id,
                opted_out: true,
            },
        ] {
            summaries.push(roster.change(change).await.unwrap().summary);
        }
        let deleted = roster.delete_worker(id, "ada".to_owned()).await.unwrap();
        assert_eq!(deleted.worker, id);
        assert_eq!(deleted.deleted.wearables_unassigned, 1);
        summaries.push(deleted.summary.clone());
        for summary in &summaries {
            assert!(
                summary.contains(&format!("worker {id}"))
                    && !summary.contains(NAME)
                    && !summary.contains(BADGE),
                "{summary}"
            );
        }
        // The deletion's own audit line, written in its transaction, by the page user.
        let audited = store
            .reader
            .audit_page(None, 10)
            .unwrap()
            .into_iter()
            .find(|line| line.action == "delete")
            .unwrap();
        assert_eq!(
            (audited.user.as_str(), audited.subject.as_str()),
            ("ada", deleted.summary.as_str())
        );
        // Gone from the roster and from the settings in force; a second deletion is refused.
        assert!(roster.roster().workers.is_empty());
        let refused = roster
            .delete_worker(id, "ada".to_owned())
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

    /// A clock standing still at one instant.
    struct At(i64);

    impl Clock for At {
        fn now_ms(&self) -> i64 {
            self.0
        }
    }

    /// 2025-03-04 12:00 UTC.
    const MARCH_4_NOON: i64 = 1_741_089_600_000;

    fn input(from: Option<&str>, until: &str) -> WorkRestrictionInput {
        WorkRestrictionInput {
            from_day: from.map(str::to_owned),
            until_day: until.to_owned(),
            no_deep_bends: true,
            max_lifts_per_hour: Some(10),
            max_bends_per_hour: None,
            max_load_kg: None,
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_work_restriction_is_recorded_from_today_listed_ended_and_refused_when_hostile() {
        let store = TestStore::new("roster-work-restrictions");
        let roster = SiteRoster::new(
            store.reader.clone(),
            store.writer.clone(),
            Arc::clone(&store.site),
            Arc::new(Pseudonyms::from_key([7; 32])),
            Arc::new(At(MARCH_4_NOON)),
        );
        let worker = roster
            .change(RosterChange::AddWorker {
                badge: "B-0042".to_owned(),
                display_name: None,
                task: None,
                team: None,
            })
            .await
            .unwrap()
            .worker
            .unwrap();
        let done = roster
            .change(RosterChange::RecordWorkRestriction {
                worker,
                work_restriction: input(None, "2025-03-31"),
            })
            .await
            .unwrap();
        assert_eq!(
            done.summary,
            format!("work restriction 1 of worker {worker} recorded")
        );
        let listed = roster.roster();
        assert_eq!(listed.today.as_deref(), Some("2025-03-04"));
        assert_eq!(listed.work_restrictions_kept_days, 90);
        let kept = &listed.work_restrictions[0];
        assert_eq!(
            (
                kept.from_day.as_str(),
                kept.until_day.as_str(),
                kept.in_force
            ),
            ("2025-03-04", "2025-03-31", true)
        );
        assert_eq!(kept.terms, "no deep bends; at most 10 lifts an hour");
        // The daemon applies the page's rules whoever calls it, and stores nothing refused.
        for (bad, words) in [
            (
                input(Some("2025-03-05"), "2025-03-04"),
                web_ui::rules::WORK_RESTRICTION_UNTIL_WORDS,
            ),
            (
                WorkRestrictionInput {
                    max_lifts_per_hour: Some(5000),
                    ..input(None, "2025-03-31")
                },
                web_ui::rules::WORK_RESTRICTION_PER_HOUR_WORDS,
            ),
            (
                WorkRestrictionInput {
                    no_deep_bends: false,
                    max_lifts_per_hour: None,
                    ..input(None, "2025-03-31")
                },
                web_ui::rules::WORK_RESTRICTION_TERMS_WORDS,
            ),
        ] {
            let refused = roster
                .change(RosterChange::RecordWorkRestriction {
                    worker,
                    work_restriction: bad,
                })
                .await
                .unwrap_err();
            assert_eq!(refused.0, words);
        }
        assert_eq!(roster.roster().work_restrictions.len(), 1);
        // Ended now, yesterday was its last day: it started today, so it was never in force and
        // is withdrawn.
        let ended = roster
            .change(RosterChange::EndWorkRestriction { id: kept.id })
            .await
            .unwrap();
        assert_eq!(
            ended.summary,
            format!("work restriction {} withdrawn before it started", kept.id)
        );
        assert!(roster.roster().work_restrictions.is_empty());
        drop(roster);
        store.close();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_retention_sweep_deletes_work_restrictions_ninety_days_after_their_last_day_by_the_injected_clock()
     {
        let store = TestStore::new("roster-work-restriction-sweep");
        let roster = roster_over(&store);
        let worker = roster
            .change(RosterChange::AddWorker {
                badge: "B-0043".to_owned(),
                display_name: None,
                task: None,
                team: None,
            })
            .await
            .unwrap()
            .worker
            .unwrap();
        roster
            .change(RosterChange::RecordWorkRestriction {
                worker,
                work_restriction: input(Some("2025-01-06"), "2025-01-31"),
            })
            .await
            .unwrap();
        // 2025-05-01 is the 90th day after 2025-01-31: still kept; deleted the day after.
        let may_1 = At(MARCH_4_NOON + 58 * 86_400_000);
        let kept = sweep_work_restrictions_once(&store.writer, &store.site, &may_1, 90)
            .await
            .unwrap();
        assert_eq!(kept, 0);
        assert_eq!(store.reader.work_restrictions().unwrap().len(), 1);
        let may_2 = At(MARCH_4_NOON + 59 * 86_400_000);
        let deleted = sweep_work_restrictions_once(&store.writer, &store.site, &may_2, 90)
            .await
            .unwrap();
        assert_eq!(deleted, 1);
        assert!(store.reader.work_restrictions().unwrap().is_empty());
        drop(roster);
        store.close();
    }
}
