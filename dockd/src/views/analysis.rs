//! Implements `web_ui::analysis::AnalysisView` over the stored shift reports: the Today overview,
//! one worker, and Tasks & hours. It owns the mapping from `analysis` results to the page's view
//! types; it must never hand the web a badge tag (workers are an opaque id and a label: a local
//! display name or the keyed pseudonym), and never compute a metric (reports are read as stored).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use web_ui::analysis::{self as page, AnalysisView};

use crate::analysis::groups::{self, Goal, GroupFigure, IsoWeek, Member};
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
    site: Arc<SiteSettings>,
    pseudonyms: Arc<Pseudonyms>,
    clock: Arc<dyn crate::clock::Clock>,
    /// The last overview, site baseline and tasks view built: a page load then costs a clone
    /// until the analyst stores new reports (or another day or viewer is asked for).
    overview: Cached<Option<String>, page::Overview>,
    baseline: Cached<String, risk::SiteBaseline>,
    tasks: Cached<(String, page::Viewer), page::TasksAndHours>,
    /// Display names by worker id.
    names: Cached<(), std::collections::HashMap<i64, String>>,
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

impl StoredAnalysis {
    pub fn new(
        reader: Reader,
        site: Arc<SiteSettings>,
        pseudonyms: Arc<Pseudonyms>,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Self {
        Self {
            reader,
            site,
            pseudonyms,
            clock,
            overview: Cached::new(),
            baseline: Cached::new(),
            tasks: Cached::new(),
            names: Cached::new(),
        }
    }

    /// The settings in force (the file's, overlaid by the page's and the roster's).
    fn settings(&self) -> Arc<Settings> {
        self.site.current()
    }

    /// What the pages call a worker: the display name a supervisor typed in on this dock, else
    /// the keyed pseudonym.
    fn label(&self, worker: i64, tag: Option<&WorkerTag>) -> String {
        let names = self.names.get(&self.reader, self.site.version(), (), || {
            self.reader
                .workers()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|w| Some((w.id, w.display_name?)))
                .collect()
        });
        if let Some(name) = names.get(&worker) {
            return name.clone();
        }
        tag.map_or_else(|| "Unassigned".to_owned(), |t| self.pseudonyms.label(t))
    }

    fn team_of(&self, tag: Option<&WorkerTag>) -> Option<String> {
        let tag = tag?;
        self.settings()
            .teams
            .iter()
            .find(|(_, badges)| {
                badges
                    .iter()
                    .any(|b| WorkerTag::from_ascii(b).as_ref() == Some(tag))
            })
            .map(|(team, _)| team.clone())
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

fn level(level: risk::RiskLevel) -> page::RiskLevel {
    match level {
        risk::RiskLevel::Low => page::RiskLevel::Low,
        risk::RiskLevel::Medium => page::RiskLevel::Medium,
        risk::RiskLevel::High => page::RiskLevel::High,
    }
}

fn rates_from(counts: &crate::analysis::exposure::Counts, wear_s: f64) -> page::Rates {
    let hours = (wear_s / 3600.0).max(1e-9);
    page::Rates {
        bends: f64::from(counts.bends) / hours,
        deep_bends: f64::from(counts.deep_bends) / hours,
        twists: f64::from(counts.twists) / hours,
        lateral_bends: f64::from(counts.lateral_bends) / hours,
        reaches: f64::from(counts.reaches) / hours,
        lifts: f64::from(counts.lifts) / hours,
    }
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

    fn summary(&self, report: &ShiftReport) -> page::ShiftSummary {
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
        }
    }

    fn detail(&self, report: &ShiftReport) -> page::ShiftDetail {
        page::ShiftDetail {
            summary: self.summary(report),
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
        for (worker, tag, report) in rows {
            by_worker
                .entry(worker)
                .or_insert_with(|| (tag, Vec::new()))
                .1
                .push(report);
        }
        let workers = by_worker
            .into_iter()
            .map(|(worker, (tag, reports))| self.worker_row(worker, tag.as_ref(), &reports))
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
        let weeks = self.weeks(&reports);
        let trend = trend(&weeks);
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
            label: self.label(worker, Some(&tag)),
            team: self.team_of(Some(&tag)),
            shifts: reports.iter().map(|r| self.summary(r)).collect(),
            shift: chosen.map(|r| self.detail(r)),
            weeks,
            trend,
            goal,
            advice,
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
        let teams: Vec<Option<String>> = rows
            .iter()
            .map(|(_, tag, _)| self.team_of(tag.as_ref()))
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
        let zone =
            jiff::tz::TimeZone::get(&self.settings().time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_zoned(zone).date().to_string())
            .unwrap_or_default()
    }

    fn worker_row(
        &self,
        worker: i64,
        tag: Option<&WorkerTag>,
        reports: &[ShiftReport],
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
            label: self.label(worker, tag),
            team: self.team_of(tag),
            tasks: tasks.into_iter().collect(),
            shifts: u32::try_from(reports.len()).unwrap_or(u32::MAX),
            wear_h: wear_s / 3600.0,
            per_hour: rates_from(&counts, wear_s),
            zones: zones_total,
            alerts,
            median_response_ms: medians.get(medians.len().saturating_sub(1) / 2).copied(),
            risk_level: worst.map_or(page::RiskLevel::Low, |r| level(r.risk_level)),
            reasons: worst.map(|r| r.reasons.clone()).unwrap_or_default(),
        }
    }

    fn weeks(&self, reports: &[ShiftReport]) -> Vec<page::WeekPoint> {
        let mut weeks: BTreeMap<(i16, i8), WeekSum> = BTreeMap::new();
        for r in reports {
            let Some(week) = IsoWeek::of_day(&r.local_day) else {
                continue;
            };
            let entry = weeks.entry((week.year(), week.week())).or_default();
            entry.counts.merge(&r.metrics.counts);
            entry.wear_s += r.metrics.wear_s;
            entry.alerts += r.metrics.alerts.count;
            entry.days.insert(r.local_day.clone());
        }
        weeks
            .into_iter()
            .map(
                |(
                    (year, week),
                    WeekSum {
                        counts,
                        wear_s,
                        alerts,
                        days,
                    },
                )| page::WeekPoint {
                    week: format!("{year}-W{week:02}"),
                    wear_h: wear_s / 3600.0,
                    per_hour: (wear_s > 0.0).then(|| rates_from(&counts, wear_s)),
                    alerts_per_day: (!days.is_empty())
                        .then(|| f64::from(alerts) / days.len() as f64),
                },
            )
            .collect()
    }
}

/// One ISO week of a worker, summed.
#[derive(Default)]
struct WeekSum {
    counts: crate::analysis::exposure::Counts,
    wear_s: f64,
    alerts: u32,
    days: BTreeSet<String>,
}

/// The last two weeks side by side, when both exist.
fn trend(weeks: &[page::WeekPoint]) -> Option<page::WeekTrend> {
    let [.., last, this] = weeks else {
        return None;
    };
    let (a, b) = (last.per_hour?, this.per_hour?);
    let row = |metric: &str, label: &str, this_week: f64, last_week: f64| page::TrendRow {
        metric: metric.to_owned(),
        label: label.to_owned(),
        this_week,
        last_week,
        change_pct: (last_week != 0.0).then(|| (this_week - last_week) / last_week * 100.0),
    };
    Some(page::WeekTrend {
        week: this.week.clone(),
        previous: last.week.clone(),
        rows: vec![
            row("bends_per_hour", "Bends per hour", b.bends, a.bends),
            row(
                "deep_bends_per_hour",
                "Deep bends per hour",
                b.deep_bends,
                a.deep_bends,
            ),
            row(
                "twists_per_hour",
                "Fast twists per hour",
                b.twists,
                a.twists,
            ),
            row("lifts_per_hour", "Lifts per hour", b.lifts, a.lifts),
            row(
                "alerts_per_day",
                "Alerts per day",
                this.alerts_per_day.unwrap_or(0.0),
                last.alerts_per_day.unwrap_or(0.0),
            ),
        ],
    })
}
