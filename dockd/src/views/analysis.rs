//! Implements `web_ui::analysis::AnalysisView` over the stored shift reports: the Today overview,
//! one worker, and Tasks & hours. It owns the mapping from `analysis` results to the page's view
//! types; it must never hand the web a badge tag (workers are an opaque id and a label: a local
//! display name or the keyed pseudonym), and never compute a metric (reports are read as stored).
//!
//! It also owns the data version the page keys its rendered overviews by
//! ([`AnalysisView::version`]): `PRAGMA data_version` on a connection of its own that nothing
//! else uses (so a probe never queues behind a page being built), with the settings version.
//! That version must move on every commit by any connection or process (the daemon's writer,
//! `dockd reanalyze`) and on every settings change; it must never be read after a build it keys.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use web_ui::analysis::{self as page, AnalysisView};

use crate::analysis::groups::{self, Goal, GroupFigure, Member};
use crate::analysis::risk::CountKind;
use crate::analysis::work_restrictions::{self, WorkRestriction};
use crate::analysis::{Settings, ShiftReport, advice, risk};
use crate::site::SiteSettings;
use crate::store::Reader;
use crate::store::reports::WorkerReport;
use crate::worker::{Pseudonyms, WorkerTag};

/// How far back group figures and the site baseline look.
const GROUP_DAYS: i64 = 28;
/// How far back a worker's page looks.
const WORKER_DAYS: i64 = 91;
const DAY_MS: i64 = 86_400_000;

pub struct StoredAnalysis {
    reader: Reader,
    /// Only for [`AnalysisView::version`]: held for one `PRAGMA data_version` at a time.
    probe: Reader,
    /// The last (data version, settings version) the probe saw, and the generation handed out
    /// for it.
    seen: std::sync::Mutex<Seen>,
    site: Arc<SiteSettings>,
    pseudonyms: Arc<Pseudonyms>,
    clock: Arc<dyn crate::clock::Clock>,
    /// The last overview, site baseline and tasks view built: a page load then costs a clone
    /// until the analyst stores new reports (or another day or viewer is asked for).
    overview: Cached<Option<String>, page::Overview>,
    baseline: Cached<String, risk::SiteBaseline>,
    tasks: Cached<(String, page::Viewer), page::TasksAndHours>,
}

/// One value built from the store for a key, kept until the database changes (its
/// `PRAGMA data_version` moves), the settings in force change, or another key is asked for.
struct Cached<K, V>(std::sync::Mutex<Option<Built<K, V>>>);

/// A cached value with its key and the (database, settings) versions it was built at.
type Built<K, V> = ((i64, u64), K, V);

impl<K: PartialEq, V: Clone> Cached<K, V> {
    fn new() -> Self {
        Self(std::sync::Mutex::new(None))
    }

    fn get(&self, reader: &Reader, settings: u64, key: K, build: impl FnOnce() -> V) -> V {
        let Ok(data) = reader.data_version() else {
            return build();
        };
        let version = (data, settings);
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((v, k, value)) = slot.as_ref()
            && *v == version
            && *k == key
        {
            return value.clone();
        }
        let value = build();
        *slot = Some((version, key, value.clone()));
        value
    }
}

/// What [`AnalysisView::version`] last saw and what it answered.
#[derive(Debug, Default)]
struct Seen {
    /// `(PRAGMA data_version of the probe connection, SiteSettings::version())`.
    at: Option<(i64, u64)>,
    /// Moves by one whenever `at` changes: never repeats, whatever the two counters do.
    generation: u64,
}

impl StoredAnalysis {
    /// The analysis views over `reader` (page builds), with `probe` — a connection of its own
    /// to the same database, used for nothing else — to tell the data version cheaply.
    pub fn new(
        reader: Reader,
        probe: Reader,
        site: Arc<SiteSettings>,
        pseudonyms: Arc<Pseudonyms>,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Self {
        Self {
            reader,
            probe,
            seen: std::sync::Mutex::new(Seen::default()),
            site,
            pseudonyms,
            clock,
            overview: Cached::new(),
            baseline: Cached::new(),
            tasks: Cached::new(),
        }
    }

    /// The settings in force (the file's, overlaid by the page's and the roster's).
    fn settings(&self) -> Arc<Settings> {
        self.site.current()
    }

    /// What the pages call a worker: the display name a supervisor typed in on this dock (the
    /// live settings keep them), else the keyed pseudonym.
    fn label(&self, tag: Option<&WorkerTag>) -> String {
        match tag {
            Some(tag) => self
                .site
                .display_name(tag)
                .unwrap_or_else(|| self.pseudonyms.label(tag)),
            None => "Unassigned".to_owned(),
        }
    }

    /// Each badge's team in the settings in force (the first team, by name, that lists it), so
    /// a page looks a worker's team up instead of parsing every team's badges for every row.
    fn teams_by_tag(&self) -> Teams {
        Teams(self.settings().teams_by_tag())
    }

    fn parsed(rows: Vec<WorkerReport>) -> Vec<(i64, Option<WorkerTag>, ShiftReport)> {
        rows.into_iter()
            .filter_map(|r| {
                let report: ShiftReport = serde_json::from_str(&r.report).ok()?;
                Some((r.worker_id, r.tag, report))
            })
            .collect()
    }

    fn site_baseline(&self) -> risk::SiteBaseline {
        let to = self.clock.now_ms();
        self.baseline.get(
            &self.reader,
            self.site.version(),
            self.local_day(to),
            || self.build_baseline(to),
        )
    }

    fn build_baseline(&self, to: i64) -> risk::SiteBaseline {
        let reports: Vec<ShiftReport> = self
            .reader
            .reports_between(to - GROUP_DAYS * DAY_MS, to + DAY_MS)
            .unwrap_or_default()
            .iter()
            .filter_map(|r| serde_json::from_str(&r.report).ok())
            .collect();
        risk::baseline(&reports.iter().collect::<Vec<_>>())
    }
}

/// Teams by badge, as [`StoredAnalysis::teams_by_tag`] found them.
struct Teams(HashMap<WorkerTag, String>);

impl Teams {
    fn of(&self, tag: Option<&WorkerTag>) -> Option<String> {
        self.0.get(tag?).cloned()
    }
}

fn level(level: risk::RiskLevel) -> page::RiskLevel {
    match level {
        risk::RiskLevel::Low => page::RiskLevel::Low,
        risk::RiskLevel::Medium => page::RiskLevel::Medium,
        risk::RiskLevel::High => page::RiskLevel::High,
    }
}

/// Movements per hour of wear, as `analysis::risk` computes them.
fn rates_from(counts: &crate::analysis::exposure::Counts, wear_s: f64) -> page::Rates {
    page_rates(&risk::Rates::per_hour(
        |kind| f64::from(kind.of(counts)),
        wear_s / 3600.0,
    ))
}

fn page_rates(r: &risk::Rates) -> page::Rates {
    page::Rates {
        bends: r.bends,
        deep_bends: r.deep_bends,
        twists: r.twists,
        lateral_bends: r.lateral_bends,
        reaches: r.reaches,
        lifts: r.lifts,
    }
}

fn zones(report: &ShiftReport) -> page::PostureZones {
    let z = &report.metrics.iso11226_s;
    page::PostureZones {
        acceptable_s: z.acceptable,
        conditional_s: z.conditional,
        not_acceptable_s: z.not_acceptable,
    }
}

fn figures(figure: &GroupFigure) -> Option<page::GroupFigures> {
    figure.figures.as_ref().map(|f| page::GroupFigures {
        wear_h: f.wear_h,
        per_hour: page_rates(&f.per_hour),
        high_risk_share: f.high_risk_share,
        alerts_per_day: f.alerts_per_day,
    })
}

fn group_row(figure: &GroupFigure) -> page::GroupRow {
    page::GroupRow {
        name: figure.group.clone(),
        workers: u32::try_from(figure.workers).unwrap_or(u32::MAX),
        shifts: u32::try_from(figure.shifts).unwrap_or(u32::MAX),
        figures: figures(figure),
    }
}

impl StoredAnalysis {
    /// Site-local `HH:MM` of a wall time.
    fn clock_time(&self, ms: i64) -> String {
        let zone =
            jiff::tz::TimeZone::get(&self.settings().time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_zoned(zone).strftime("%H:%M").to_string())
            .unwrap_or_default()
    }

    /// What `report` went beyond of the worker's work restrictions (any of theirs: only those in
    /// force on the shift's day count), checked now against the tasks' loads in force.
    fn exceeded(
        &self,
        work_restrictions: &[WorkRestriction],
        report: &ShiftReport,
    ) -> Vec<page::WorkRestrictionExceeded> {
        let tasks = &self.settings().tasks;
        work_restrictions
            .iter()
            .flat_map(|work_restriction| {
                work_restrictions::check(work_restriction, report, tasks)
                    .into_iter()
                    .map(|exceeded| page::WorkRestrictionExceeded {
                        work_restriction: work_restriction.id,
                        what: exceeded.what(),
                        when: exceeded.when(),
                    })
            })
            .collect()
    }

    fn summary(
        &self,
        report: &ShiftReport,
        work_restrictions: &[WorkRestriction],
    ) -> page::ShiftSummary {
        page::ShiftSummary {
            start_ms: report.start_ms,
            end_ms: report.end_ms,
            local_day: report.local_day.clone(),
            start_time: self.clock_time(report.start_ms),
            end_time: self.clock_time(report.end_ms),
            wear_h: report.metrics.wear_s / 3600.0,
            per_hour: rates_from(&report.metrics.counts, report.metrics.wear_s),
            alerts: report.metrics.alerts.count,
            risk_level: level(report.risk_level),
            work_restrictions_exceeded: self.exceeded(work_restrictions, report),
        }
    }

    fn detail(
        &self,
        report: &ShiftReport,
        work_restrictions: &[WorkRestriction],
    ) -> page::ShiftDetail {
        page::ShiftDetail {
            summary: self.summary(report, work_restrictions),
            zones: zones(report),
            median_response_ms: report.metrics.alerts.median_response_ms,
            uncorrected_alerts: report.metrics.alerts.uncorrected,
            reasons: report.reasons.clone(),
            hours: report
                .metrics
                .per_hour
                .iter()
                .map(|h| page::HourPoint {
                    hour_start_ms: h.hour_start_ms,
                    hour_of_day: h.hour_of_day,
                    wear_s: h.wear_s,
                    bends: h.counts.bends,
                    deep_bends: h.counts.deep_bends,
                    twists: h.counts.twists,
                    lateral_bends: h.counts.lateral_bends,
                    reaches: h.counts.reaches,
                    lifts: h.counts.lifts,
                    zones: None,
                })
                .collect(),
        }
    }
}

impl AnalysisView for StoredAnalysis {
    /// The probe connection's `PRAGMA data_version` (it moves when any other connection, in this
    /// process or another, commits) with the settings version, as a generation that moves
    /// whenever either does. Runs on a runtime worker: one short statement on a connection no
    /// page build holds, and a lock held for a comparison. `None` if the database cannot say.
    fn version(&self) -> Option<u64> {
        // Settings before data: a change is committed first and loaded after, so a build started
        // after this sees settings at least this new either way.
        let settings = self.site.version();
        let data = self.probe.data_version().ok()?;
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.at != Some((data, settings)) {
            seen.at = Some((data, settings));
            seen.generation += 1;
        }
        Some(seen.generation)
    }

    fn overview(&self, day: Option<&str>) -> page::Overview {
        self.overview.get(
            &self.reader,
            self.site.version(),
            day.map(str::to_owned),
            || self.build_overview(day),
        )
    }

    fn worker(&self, worker: i64, shift_start_ms: Option<i64>) -> Option<page::WorkerDetail> {
        self.build_worker(worker, shift_start_ms)
    }

    fn tasks(&self, viewer: page::Viewer) -> page::TasksAndHours {
        let today = self.local_day(self.clock.now_ms());
        self.tasks
            .get(&self.reader, self.site.version(), (today, viewer), || {
                self.build_tasks(viewer)
            })
    }
}

impl StoredAnalysis {
    fn build_overview(&self, day: Option<&str>) -> page::Overview {
        // Only the neighbours, not the list of every day: that would read every stored report.
        let around = self.reader.report_days_around(day).unwrap_or_default();
        let chosen = around.chosen.or_else(|| day.map(str::to_owned));
        let teams = self.settings().teams.keys().cloned().collect();
        let tasks = self
            .settings()
            .tasks
            .iter()
            .map(|t| t.name.clone())
            .collect();
        let Some(chosen) = chosen else {
            return page::Overview {
                day: None,
                previous_day: None,
                next_day: None,
                teams,
                tasks,
                workers: Vec::new(),
            };
        };
        let (previous_day, next_day) = (around.previous, around.next);
        let rows = Self::parsed(
            self.reader
                .worker_reports_between_days(&chosen, &chosen)
                .unwrap_or_default(),
        );
        let mut by_worker: BTreeMap<i64, (Option<WorkerTag>, Vec<ShiftReport>)> = BTreeMap::new();
        let by_tag = self.teams_by_tag();
        let mut in_force: BTreeMap<i64, Vec<WorkRestriction>> = BTreeMap::new();
        for work_restriction in self
            .reader
            .work_restrictions_between_days(&chosen, &chosen)
            .unwrap_or_default()
        {
            in_force
                .entry(work_restriction.worker)
                .or_default()
                .push(work_restriction);
        }
        for (worker, tag, report) in rows {
            by_worker
                .entry(worker)
                .or_insert_with(|| (tag, Vec::new()))
                .1
                .push(report);
        }
        let workers = by_worker
            .into_iter()
            .map(|(worker, (tag, reports))| {
                let work_restrictions = in_force.get(&worker).map_or(&[][..], Vec::as_slice);
                self.worker_row(&by_tag, worker, tag.as_ref(), &reports, work_restrictions)
            })
            .collect();
        page::Overview {
            day: Some(chosen),
            previous_day,
            next_day,
            teams,
            tasks,
            workers,
        }
    }

    fn build_worker(&self, worker: i64, shift_start_ms: Option<i64>) -> Option<page::WorkerDetail> {
        let tag = self.reader.worker_tag(worker).ok()??;
        let since = self.clock.now_ms() - WORKER_DAYS * DAY_MS;
        let reports: Vec<ShiftReport> = Self::parsed(
            self.reader
                .reports_of_worker(worker, since)
                .unwrap_or_default(),
        )
        .into_iter()
        .map(|(_, _, r)| r)
        .collect();
        let chosen = shift_start_ms
            .and_then(|ms| reports.iter().find(|r| r.start_ms == ms))
            .or_else(|| reports.last());
        let site = self.site_baseline();
        let advice = chosen
            .map(|r| advice::for_shift(r, &site, &self.settings().risk))
            .unwrap_or_default()
            .into_iter()
            .map(|a| page::AdviceView {
                text: a.text,
                evidence: a.evidence,
            })
            .collect();
        let work_restrictions = self.reader.work_restrictions_of(worker).unwrap_or_default();
        let today = self.local_day(self.clock.now_ms());
        let worker_weeks = groups::worker_weeks(&reports);
        let trend = groups::worker_trend(&worker_weeks).map(week_trend);
        let weeks = week_points(&worker_weeks);
        let goal_target = Goal::AlertsPerDayBelow(self.settings().goal_alerts_per_day);
        let progress = groups::progress(&goal_target, &reports.iter().collect::<Vec<_>>());
        let goal = Some(page::GoalView {
            description: goal_target.describe(),
            limit: Some(f64::from(self.settings().goal_alerts_per_day)),
            unit: "alerts".to_owned(),
            days_total: u32::try_from(progress.days_total).unwrap_or(u32::MAX),
            days_met: u32::try_from(progress.days_met).unwrap_or(u32::MAX),
            current_streak: u32::try_from(progress.current_streak).unwrap_or(u32::MAX),
            best_streak: u32::try_from(progress.best_streak).unwrap_or(u32::MAX),
            days: progress
                .days
                .iter()
                .map(|d| page::GoalDay {
                    day: d.day.clone(),
                    value: d.value,
                    met: d.met,
                })
                .collect(),
        });
        Some(page::WorkerDetail {
            worker,
            label: self.label(Some(&tag)),
            team: self.teams_by_tag().of(Some(&tag)),
            shifts: reports
                .iter()
                .map(|r| self.summary(r, &work_restrictions))
                .collect(),
            shift: chosen.map(|r| self.detail(r, &work_restrictions)),
            weeks,
            trend,
            goal,
            advice,
            work_restrictions: work_restrictions
                .iter()
                .map(|w| super::roster::work_restriction_view(w, &today))
                .collect(),
        })
    }

    fn build_tasks(&self, viewer: page::Viewer) -> page::TasksAndHours {
        let now = self.clock.now_ms();
        let to_day = self.local_day(now);
        let from_day = self.local_day(now - GROUP_DAYS * DAY_MS);
        let rows = Self::parsed(
            self.reader
                .worker_reports_between_days(&from_day, &to_day)
                .unwrap_or_default(),
        );
        let by_tag = self.teams_by_tag();
        let teams: Vec<Option<String>> = rows
            .iter()
            .map(|(_, tag, _)| by_tag.of(tag.as_ref()))
            .collect();
        let members: Vec<Member<'_>> = rows
            .iter()
            .zip(&teams)
            .map(|((worker, _, report), team)| Member {
                worker: *worker,
                team: team.as_deref(),
                report,
            })
            .collect();
        let rules = self.settings().group_rules();
        let who = match viewer {
            page::Viewer::Admin => groups::Viewer::Admin,
            page::Viewer::Supervisor => groups::Viewer::Supervisor,
        };
        let site = groups::site(&members, &rules, who);
        let tasks = groups::by_task(&members, &rules, who);
        let hours = groups::by_hour(&members, &rules, who);
        let team_figures = groups::by_team(&members, &rules, who);
        let baseline = groups::baseline(&members);
        let shown: Vec<GroupFigure> = std::iter::once(site.clone())
            .chain(tasks.iter().cloned())
            .chain(hours.iter().cloned())
            .chain(team_figures.iter().cloned())
            .collect();
        let advice = advice::for_site(&shown, &baseline, &self.settings().risk)
            .into_iter()
            .map(|a| page::AdviceView {
                text: a.text,
                evidence: a.evidence,
            })
            .collect();
        let days: BTreeSet<&str> = rows.iter().map(|(_, _, r)| r.local_day.as_str()).collect();
        page::TasksAndHours {
            from_day: days.first().map(|d| (*d).to_owned()),
            to_day: days.last().map(|d| (*d).to_owned()),
            min_group_workers: self.settings().min_group_workers,
            site: group_row(&site),
            tasks: tasks.iter().map(group_row).collect(),
            hours: hours
                .iter()
                .enumerate()
                .map(|(i, figure)| page::HourRow {
                    hour_of_day: hour_of(&figure.group).unwrap_or(u8::try_from(i).unwrap_or(0)),
                    workers: u32::try_from(figure.workers).unwrap_or(u32::MAX),
                    shifts: u32::try_from(figure.shifts).unwrap_or(u32::MAX),
                    figures: figures(figure),
                })
                .collect(),
            teams: team_figures.iter().map(group_row).collect(),
            advice,
        }
    }
}

/// The hour of day of an hour group named `"06:00–07:00"`.
fn hour_of(group: &str) -> Option<u8> {
    group.get(..2)?.parse().ok()
}

impl StoredAnalysis {
    fn local_day(&self, ms: i64) -> String {
        super::site_day(&self.settings().time_zone, ms)
    }

    fn worker_row(
        &self,
        teams: &Teams,
        worker: i64,
        tag: Option<&WorkerTag>,
        reports: &[ShiftReport],
        work_restrictions: &[WorkRestriction],
    ) -> page::WorkerRow {
        let mut counts = crate::analysis::exposure::Counts::default();
        let mut wear_s = 0.0;
        let mut zones_total = page::PostureZones::default();
        let mut alerts = 0;
        let mut tasks = BTreeSet::new();
        for r in reports {
            counts.merge(&r.metrics.counts);
            wear_s += r.metrics.wear_s;
            let z = zones(r);
            zones_total.acceptable_s += z.acceptable_s;
            zones_total.conditional_s += z.conditional_s;
            zones_total.not_acceptable_s += z.not_acceptable_s;
            alerts += r.metrics.alerts.count;
            tasks.extend(
                r.tasks
                    .tasks
                    .iter()
                    .filter(|t| t.seconds > 0.0)
                    .map(|t| t.task.clone()),
            );
        }
        let worst = reports.iter().max_by_key(|r| r.risk_level);
        let mut medians: Vec<u32> = reports
            .iter()
            .filter_map(|r| r.metrics.alerts.median_response_ms)
            .collect();
        medians.sort_unstable();
        page::WorkerRow {
            worker,
            label: self.label(tag),
            team: teams.of(tag),
            tasks: tasks.into_iter().collect(),
            shifts: u32::try_from(reports.len()).unwrap_or(u32::MAX),
            wear_h: wear_s / 3600.0,
            per_hour: rates_from(&counts, wear_s),
            zones: zones_total,
            alerts,
            median_response_ms: medians.get(medians.len().saturating_sub(1) / 2).copied(),
            risk_level: worst.map_or(page::RiskLevel::Low, |r| level(r.risk_level)),
            reasons: worst.map(|r| r.reasons.clone()).unwrap_or_default(),
            work_restrictions_exceeded: reports
                .iter()
                .flat_map(|r| self.exceeded(work_restrictions, r))
                .collect(),
        }
    }
}

/// The worker page's weekly figures, as `analysis::groups` sums them.
fn week_points(weeks: &[groups::WorkerWeek]) -> Vec<page::WeekPoint> {
    weeks
        .iter()
        .map(|w| page::WeekPoint {
            week: w.week.to_string(),
            wear_h: w.wear_h,
            per_hour: w.per_hour.as_ref().map(page_rates),
            alerts_per_day: w.alerts_per_day,
        })
        .collect()
}

/// The worker page's trend rows, as `analysis::groups` compares the last two weeks.
fn week_trend(trend: groups::WorkerWeekTrend) -> page::WeekTrend {
    let label = |metric: groups::Metric| match metric {
        groups::Metric::PerHour(CountKind::Bends) => ("bends_per_hour", "Bends per hour"),
        groups::Metric::PerHour(CountKind::DeepBends) => {
            ("deep_bends_per_hour", "Deep bends per hour")
        }
        groups::Metric::PerHour(CountKind::Twists) => ("twists_per_hour", "Trunk twists per hour"),
        groups::Metric::PerHour(CountKind::Lifts) => ("lifts_per_hour", "Lifts per hour"),
        groups::Metric::AlertsPerDay => ("alerts_per_day", "Alerts per day"),
        other => {
            tracing::warn!(?other, "A trend figure the page has no words for.");
            ("other", "Other")
        }
    };
    page::WeekTrend {
        week: trend.week.to_string(),
        previous: trend.previous.to_string(),
        rows: trend
            .changes
            .into_iter()
            .map(|c| {
                let (metric, label) = label(c.metric);
                page::TrendRow {
                    metric: metric.to_owned(),
                    label: label.to_owned(),
                    this_week: c.this_week,
                    last_week: c.last_week,
                    change_pct: c.change_pct,
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use rusqlite::{Connection, params};
    use tower_service::Service as _;
    use web_ui::access::{CurrentUser, Role};

    use super::*;
    use crate::analysis::risk::tests::{deep, metrics, report};
    use crate::analysis::tasks::TaskExposure;

    const DAY: &str = "2025-03-04";

    /// A fresh database, the views over it, and the writing connection another process (or the
    /// daemon's writer) commits through.
    struct Site {
        dir: PathBuf,
        db: Connection,
        reader: Reader,
        settings: Arc<SiteSettings>,
        view: Arc<StoredAnalysis>,
    }

    impl Site {
        fn new(name: &str) -> Site {
            let dir = std::env::temp_dir().join(format!(
                "dockd-views-analysis-{name}-{}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            let path = dir.join("dockd.db");
            let db =
                crate::store::open_for_writing(&crate::store::Database::for_tests(&path)).unwrap();
            let reader = Reader::open(&crate::store::Database::for_tests(&path)).unwrap();
            let settings = Arc::new(SiteSettings::load(Settings::default(), &reader).unwrap());
            let view = Arc::new(StoredAnalysis::new(
                reader.clone(),
                Reader::open(&crate::store::Database::for_tests(&path)).unwrap(),
                Arc::clone(&settings),
                Arc::new(Pseudonyms::from_key([7; 32])),
                Arc::new(crate::clock::SystemClock),
            ));
            Site {
                dir,
                db,
                reader,
                settings,
                view,
            }
        }

        /// One shift of worker `id` (badge `badge`) on [`DAY`], committed as the analyst would.
        fn store_shift(&self, id: i64, badge: &str) {
            let tag = WorkerTag::from_ascii(badge).unwrap();
            let shift = report(DAY, metrics(8.0, deep(40)), TaskExposure::default());
            let json = serde_json::to_string(&shift).unwrap();
            self.db
                .execute_batch("BEGIN")
                .and_then(|()| {
                    self.db.execute(
                        "INSERT INTO worker (id, tag) VALUES (?1, ?2)",
                        params![id, tag.as_bytes().as_slice()],
                    )
                })
                .and_then(|_| {
                    self.db.execute(
                        "INSERT INTO wearable (id, serial, first_seen_ms) VALUES (?1, ?2, 0)",
                        params![id, format!("KW-{id}")],
                    )
                })
                .and_then(|_| {
                    self.db.execute(
                        "INSERT INTO shift_report (wearable_id, worker_id, start_ms, end_ms,
                            local_day, risk_level, version, settings, report)
                         VALUES (?1, ?1, ?2, ?3, ?4, 'high', 1, 's', ?5)",
                        params![id, shift.start_ms, shift.end_ms, DAY, json],
                    )
                })
                .and_then(|_| self.db.execute_batch("COMMIT"))
                .unwrap();
        }
    }

    impl Drop for Site {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// A GET as a signed-in supervisor (as the site's sign-in and role guard would let through).
    async fn get(router: &axum::Router, path: &str) -> String {
        let mut request = Request::builder().uri(path).body(Body::empty()).unwrap();
        request.extensions_mut().insert(CurrentUser {
            name: "sam".to_owned(),
            role: Role::Supervisor,
        });
        let response = router.clone().call(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn the_version_stays_put_until_a_commit_or_a_settings_change_and_then_moves_on() {
        let site = Site::new("version");
        let empty = site.view.version().unwrap();
        assert_eq!(site.view.version(), Some(empty), "nothing changed");

        site.store_shift(1, "B-1001");
        let reported = site.view.version().unwrap();
        assert!(reported > empty, "a commit on another connection");
        assert_eq!(site.view.version(), Some(reported));

        site.db
            .execute("UPDATE worker SET team = 'Night shift' WHERE id = 1", [])
            .unwrap();
        let committed = site.view.version().unwrap();
        assert!(committed > reported, "a roster change is a commit");

        // The settings in force follow the commit a moment later; the version moves again.
        let settings = site.settings.version();
        site.settings.reload(&site.reader).unwrap();
        assert!(
            site.settings.version() > settings,
            "the team is a new setting"
        );
        let reloaded = site.view.version().unwrap();
        assert!(reloaded > committed);
        assert_eq!(site.view.version(), Some(reloaded));
    }

    #[tokio::test]
    async fn the_overview_shows_new_reports_and_settings_on_the_next_request() {
        let site = Site::new("overview");
        let router = web_ui::analysis::routes(site.view.clone());
        let api = format!("/api/v1/analysis/overview?day={DAY}");
        let page = format!("/overview?day={DAY}");
        let before = json(&get(&router, &api).await);
        assert_eq!(before["workers"].as_array().map(Vec::len), Some(0));
        assert!(
            get(&router, &page)
                .await
                .contains("No shifts were analysed for this day.")
        );

        site.store_shift(1, "B-1001");
        let after = json(&get(&router, &api).await);
        assert_eq!(
            after["workers"].as_array().map(Vec::len),
            Some(1),
            "{after}"
        );
        let label = after["workers"][0]["label"].as_str().unwrap().to_owned();
        assert!(label.starts_with("W-"), "{label}");
        assert!(after["workers"][0]["team"].is_null());
        assert!(get(&router, &page).await.contains(&format!(">{label}</a>")));

        // A roster change: committed first, in force once the settings are reloaded.
        site.db
            .execute("UPDATE worker SET team = 'Night shift' WHERE id = 1", [])
            .unwrap();
        let _ = get(&router, &api).await;
        site.settings.reload(&site.reader).unwrap();
        let moved = json(&get(&router, &api).await);
        assert_eq!(moved["workers"][0]["team"], "Night shift", "{moved}");
        assert_eq!(moved["teams"], serde_json::json!(["Night shift"]));
        assert!(get(&router, &page).await.contains("Team Night shift"));

        site.store_shift(2, "B-1002");
        let two = json(&get(&router, &api).await);
        assert_eq!(two["workers"].as_array().map(Vec::len), Some(2), "{two}");
        assert!(get(&router, &page).await.contains("2 workers shown"));
    }

    #[tokio::test]
    async fn a_shift_beyond_a_work_restriction_in_force_is_flagged_and_a_change_needs_no_reanalysis()
     {
        let site = Site::new("work-restrictions");
        let router = web_ui::analysis::routes(site.view.clone());
        site.store_shift(1, "B-1001");
        site.store_shift(2, "B-1002");
        let record = |worker: i64, from: &str, until: &str, deep: bool, lifts: Option<u32>| {
            site.db
                .execute(
                    "INSERT INTO work_restriction (worker_id, from_day, until_day, no_deep_bends,
                        max_lifts_per_hour, recorded_ms, changed_ms) VALUES (?1, ?2, ?3, ?4, ?5, 0, 0)",
                    params![worker, from, until, deep, lifts],
                )
                .unwrap();
        };
        // Worker 1: no deep bends while the shift had 40. Worker 2: a generous limit, and a
        // strict one that ended the day before.
        record(1, "2025-03-01", "2025-03-31", true, None);
        record(2, "2025-03-01", "2025-03-31", false, Some(100));
        record(2, "2025-02-01", "2025-03-03", true, None);
        let api = format!("/api/v1/analysis/overview?day={DAY}");
        let overview = json(&get(&router, &api).await);
        let flags = |overview: &serde_json::Value, worker: i64| {
            overview["workers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|row| row["worker"] == worker)
                .map(|row| row["work_restrictions_exceeded"].clone())
                .unwrap()
        };
        assert_eq!(
            flags(&overview, 1)[0]["what"],
            "40 deep bends (limit: none)"
        );
        assert_eq!(flags(&overview, 2), serde_json::json!([]));
        let page = get(&router, &format!("/overview?day={DAY}")).await;
        assert!(page.contains("Beyond the work restriction:</strong> 40 deep bends"));

        // (The worker page looks back from the system clock's today, past this 2025 shift; the
        // shift's flag there is the same check, covered by the end-to-end test.)
        let worker = json(&get(&router, "/api/v1/analysis/workers/1").await);
        assert_eq!(worker["work_restrictions"][0]["terms"], "no deep bends");
        let worker_page = get(&router, "/workers/1").await;
        assert!(worker_page.contains("<h2 id=\"work-restrictions-h\">Work restrictions</h2>"));

        // Ending it before the shift's day clears the flag on the next request, from the same
        // stored report.
        site.db
            .execute(
                "UPDATE work_restriction SET until_day = '2025-03-03' WHERE worker_id = 1",
                [],
            )
            .unwrap();
        let overview = json(&get(&router, &api).await);
        assert_eq!(flags(&overview, 1), serde_json::json!([]));
    }
}
