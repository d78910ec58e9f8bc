//! Work restrictions (return-to-work) checked against a stored shift report: which terms of a
//! work restriction in force on the shift's day the shift went beyond, and in which hours. It owns
//! that check and its words; it must never do I/O, store or send a work restriction anywhere
//! (they are health-related data and never leave the dock), nor re-measure a shift: it reads only
//! the report's per-hour counts and per-task lifts, so changing a work restriction needs no
//! re-analysis.
//!
//! Rules:
//! - A work restriction is in force on every site-local day from `from_day` to `until_day`, both
//!   included; a shift is checked against those in force on the day it started (`local_day`).
//! - `no_deep_bends`: any deep bend in the shift is beyond it; the hours they fell in are listed.
//! - `max_lifts_per_hour` / `max_bends_per_hour`: each site-local clock hour of the shift is
//!   compared with the limit on its own (an hour the shift only partly covers too: the count of
//!   movements in it cannot be more than the limit allows a whole hour). Bends include deep ones.
//! - `max_load_kg`: lifts while in a task whose configured load is over the limit; a task without
//!   a configured load is never judged (no guessed load).
//! - Within every term, nothing is reported.

use serde::{Deserialize, Serialize};

use super::ShiftReport;
use super::exposure::{Counts, HourMetrics};
use super::tasks::Task;

/// What a supervisor limits. `None` / `false`: that term does not apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkRestrictionTerms {
    pub no_deep_bends: bool,
    pub max_lifts_per_hour: Option<u32>,
    pub max_bends_per_hour: Option<u32>,
    /// No lifts in tasks whose configured load is over this, kg.
    pub max_load_kg: Option<f64>,
}

impl WorkRestrictionTerms {
    /// Whether any term applies at all.
    pub fn limits_anything(&self) -> bool {
        self.no_deep_bends
            || self.max_lifts_per_hour.is_some()
            || self.max_bends_per_hour.is_some()
            || self.max_load_kg.is_some()
    }

    /// The terms in words, e.g. "no deep bends; at most 10 lifts an hour".
    pub fn words(&self) -> String {
        let mut parts = Vec::new();
        if self.no_deep_bends {
            parts.push("no deep bends".to_owned());
        }
        if let Some(limit) = self.max_lifts_per_hour {
            parts.push(format!("at most {limit} lifts an hour"));
        }
        if let Some(limit) = self.max_bends_per_hour {
            parts.push(format!("at most {limit} bends an hour"));
        }
        if let Some(kg) = self.max_load_kg {
            parts.push(format!("no lifts in tasks over {}", kilograms(kg)));
        }
        if parts.is_empty() {
            return "no limits".to_owned();
        }
        parts.join("; ")
    }
}

/// One worker's work restriction, as stored on this dock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkRestriction {
    pub id: i64,
    /// The store's opaque worker id.
    pub worker: i64,
    /// Site-local `YYYY-MM-DD`, first day in force.
    pub from_day: String,
    /// Site-local `YYYY-MM-DD`, last day in force.
    pub until_day: String,
    pub terms: WorkRestrictionTerms,
}

impl WorkRestriction {
    /// Whether it is in force on site-local `day` (`YYYY-MM-DD`; such days sort as text).
    pub fn in_force_on(&self, day: &str) -> bool {
        self.from_day.as_str() <= day && day <= self.until_day.as_str()
    }
}

/// A count in one site-local clock hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCount {
    /// Site-local hour of day the clock hour starts at, 0–23.
    pub hour_of_day: u8,
    pub count: u32,
}

impl HourCount {
    /// `"10:00–11:00"`.
    pub fn hour_words(&self) -> String {
        format!(
            "{:02}:00–{:02}:00",
            self.hour_of_day,
            (u16::from(self.hour_of_day) + 1) % 24
        )
    }
}

/// One term of a work restriction a shift went beyond.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "term", rename_all = "snake_case")]
pub enum WorkRestrictionExceeded {
    /// Deep bends although none are allowed, with the hours they fell in.
    DeepBends { count: u32, hours: Vec<HourCount> },
    /// More lifts in one clock hour than allowed.
    LiftsInHour { hour: HourCount, limit: u32 },
    /// More bends in one clock hour than allowed.
    BendsInHour { hour: HourCount, limit: u32 },
    /// Lifts while in a task whose configured load is over the limit.
    LiftsOverLoad {
        task: String,
        load_kg: f64,
        lifts: u32,
        limit_kg: f64,
    },
}

impl WorkRestrictionExceeded {
    /// What was exceeded, in words a supervisor reads: "3 deep bends (limit: none)".
    pub fn what(&self) -> String {
        match self {
            WorkRestrictionExceeded::DeepBends { count, .. } => {
                format!("{count} {} (limit: none)", plural(*count, "deep bend"))
            }
            WorkRestrictionExceeded::LiftsInHour { hour, limit } => format!(
                "{} {} in the hour {} (limit {limit})",
                hour.count,
                plural(hour.count, "lift"),
                hour.hour_words()
            ),
            WorkRestrictionExceeded::BendsInHour { hour, limit } => format!(
                "{} {} in the hour {} (limit {limit})",
                hour.count,
                plural(hour.count, "bend"),
                hour.hour_words()
            ),
            WorkRestrictionExceeded::LiftsOverLoad {
                task,
                load_kg,
                lifts,
                limit_kg,
            } => format!(
                "{lifts} {} in task \u{201c}{task}\u{201d} at {} (limit {})",
                plural(*lifts, "lift"),
                kilograms(*load_kg),
                kilograms(*limit_kg)
            ),
        }
    }

    /// When, as site-local clock hours: `["09:00–10:00 (2)", "14:00–15:00 (1)"]`; empty when
    /// only the task is known (lifts over a load).
    pub fn when(&self) -> Vec<String> {
        match self {
            WorkRestrictionExceeded::DeepBends { hours, .. } => hours
                .iter()
                .map(|h| format!("{} ({})", h.hour_words(), h.count))
                .collect(),
            WorkRestrictionExceeded::LiftsInHour { hour, .. }
            | WorkRestrictionExceeded::BendsInHour { hour, .. } => vec![hour.hour_words()],
            WorkRestrictionExceeded::LiftsOverLoad { .. } => Vec::new(),
        }
    }
}

fn plural(count: u32, word: &str) -> String {
    if count == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

fn kilograms(kg: f64) -> String {
    if kg.fract() == 0.0 {
        format!("{kg:.0} kg")
    } else {
        format!("{kg:.1} kg")
    }
}

/// The clock hours whose `count` is over `limit`.
fn hours_over(hours: &[HourMetrics], limit: u32, count: fn(&Counts) -> u32) -> Vec<HourCount> {
    hours
        .iter()
        .map(|h| HourCount {
            hour_of_day: h.hour_of_day,
            count: count(&h.counts),
        })
        .filter(|h| h.count > limit)
        .collect()
}

/// What `report` went beyond of `work_restriction` (empty when within it, or when it was not in
/// force on the shift's day). `tasks` are the configured tasks, for their loads.
pub fn check(
    work_restriction: &WorkRestriction,
    report: &ShiftReport,
    tasks: &[Task],
) -> Vec<WorkRestrictionExceeded> {
    if !work_restriction.in_force_on(&report.local_day) {
        return Vec::new();
    }
    let terms = &work_restriction.terms;
    let hours = &report.metrics.per_hour;
    let mut found = Vec::new();
    if terms.no_deep_bends && report.metrics.counts.deep_bends > 0 {
        found.push(WorkRestrictionExceeded::DeepBends {
            count: report.metrics.counts.deep_bends,
            hours: hours
                .iter()
                .filter(|h| h.counts.deep_bends > 0)
                .map(|h| HourCount {
                    hour_of_day: h.hour_of_day,
                    count: h.counts.deep_bends,
                })
                .collect(),
        });
    }
    if let Some(limit) = terms.max_lifts_per_hour {
        found.extend(
            hours_over(hours, limit, |c| c.lifts)
                .into_iter()
                .map(|hour| WorkRestrictionExceeded::LiftsInHour { hour, limit }),
        );
    }
    if let Some(limit) = terms.max_bends_per_hour {
        found.extend(
            hours_over(hours, limit, |c| c.bends)
                .into_iter()
                .map(|hour| WorkRestrictionExceeded::BendsInHour { hour, limit }),
        );
    }
    if let Some(limit_kg) = terms.max_load_kg {
        for load in report.tasks.tasks.iter().filter(|t| t.lifts > 0) {
            let configured = tasks
                .iter()
                .find(|t| t.name == load.task)
                .and_then(|t| t.load_kg);
            if let Some(load_kg) = configured.filter(|kg| *kg > limit_kg) {
                found.push(WorkRestrictionExceeded::LiftsOverLoad {
                    task: load.task.clone(),
                    load_kg,
                    lifts: load.lifts,
                    limit_kg,
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::risk::tests::{exposure, hour, metrics, report, task};
    use crate::analysis::tasks::TaskExposure;

    fn counts(bends: u32, deep_bends: u32, lifts: u32) -> Counts {
        Counts {
            bends,
            deep_bends,
            lifts,
            ..Counts::default()
        }
    }

    /// A shift on 2025-03-04: 09:00 with 2 deep bends and 6 lifts, 10:00 with 14 lifts and 20
    /// bends, 14:00 with 1 deep bend; 8 lifts in task "Pallets".
    fn shift(day: &str) -> ShiftReport {
        let per_hour = vec![
            hour(9, 3600.0, counts(2, 2, 6)),
            hour(10, 3600.0, counts(20, 0, 14)),
            hour(14, 3600.0, counts(1, 1, 0)),
        ];
        let mut total = Counts::default();
        for h in &per_hour {
            total.merge(&h.counts);
        }
        let mut m = metrics(3.0, total);
        m.per_hour = per_hour;
        report(
            day,
            m,
            exposure(vec![task("Pallets", 3600.0, counts(0, 0, 8))], None),
        )
    }

    fn pallets(load_kg: Option<f64>) -> Vec<Task> {
        vec![Task {
            name: "Pallets".to_owned(),
            load_kg,
            windows: vec!["06:00-18:00".to_owned()],
            ..Task::default()
        }]
    }

    fn restricted(terms: WorkRestrictionTerms) -> WorkRestriction {
        WorkRestriction {
            id: 1,
            worker: 7,
            from_day: "2025-03-01".to_owned(),
            until_day: "2025-03-31".to_owned(),
            terms,
        }
    }

    #[test]
    fn a_restricted_workers_shift_beyond_the_limits_is_flagged_with_what_and_when() {
        let work_restriction = restricted(WorkRestrictionTerms {
            no_deep_bends: true,
            max_lifts_per_hour: Some(10),
            max_bends_per_hour: Some(15),
            max_load_kg: Some(10.0),
        });
        let found = check(
            &work_restriction,
            &shift("2025-03-04"),
            &pallets(Some(18.0)),
        );
        let words: Vec<(String, Vec<String>)> =
            found.iter().map(|f| (f.what(), f.when())).collect();
        assert_eq!(
            words,
            [
                (
                    "3 deep bends (limit: none)".to_owned(),
                    vec!["09:00–10:00 (2)".to_owned(), "14:00–15:00 (1)".to_owned()]
                ),
                (
                    "14 lifts in the hour 10:00–11:00 (limit 10)".to_owned(),
                    vec!["10:00–11:00".to_owned()]
                ),
                (
                    "20 bends in the hour 10:00–11:00 (limit 15)".to_owned(),
                    vec!["10:00–11:00".to_owned()]
                ),
                (
                    "8 lifts in task \u{201c}Pallets\u{201d} at 18 kg (limit 10 kg)".to_owned(),
                    vec![]
                ),
            ]
        );
    }

    #[test]
    fn a_shift_within_every_term_is_not_flagged() {
        let work_restriction = restricted(WorkRestrictionTerms {
            no_deep_bends: false,
            max_lifts_per_hour: Some(14),
            max_bends_per_hour: Some(20),
            max_load_kg: Some(18.0),
        });
        assert_eq!(
            check(
                &work_restriction,
                &shift("2025-03-04"),
                &pallets(Some(18.0))
            ),
            []
        );
    }

    #[test]
    fn a_shift_outside_the_work_restrictions_dates_is_not_flagged() {
        let work_restriction = restricted(WorkRestrictionTerms {
            no_deep_bends: true,
            ..WorkRestrictionTerms::default()
        });
        for day in ["2025-02-28", "2025-04-01"] {
            assert_eq!(check(&work_restriction, &shift(day), &[]), [], "{day}");
        }
        // Both end days are in force.
        for day in ["2025-03-01", "2025-03-31"] {
            assert_eq!(check(&work_restriction, &shift(day), &[]).len(), 1, "{day}");
        }
    }

    #[test]
    fn lifts_in_a_task_without_a_configured_load_are_never_judged_against_a_load_limit() {
        let work_restriction = restricted(WorkRestrictionTerms {
            max_load_kg: Some(5.0),
            ..WorkRestrictionTerms::default()
        });
        assert_eq!(
            check(&work_restriction, &shift("2025-03-04"), &pallets(None)),
            []
        );
        let no_tasks = report(
            "2025-03-04",
            metrics(1.0, counts(0, 0, 3)),
            TaskExposure::default(),
        );
        assert_eq!(
            check(&work_restriction, &no_tasks, &pallets(Some(30.0))),
            []
        );
    }

    #[test]
    fn every_work_restriction_of_the_worker_is_checked_and_only_those_in_force_count() {
        let mut earlier = restricted(WorkRestrictionTerms {
            max_lifts_per_hour: Some(1),
            ..WorkRestrictionTerms::default()
        });
        earlier.until_day = "2025-03-03".to_owned();
        let now = restricted(WorkRestrictionTerms {
            no_deep_bends: true,
            ..WorkRestrictionTerms::default()
        });
        let found: Vec<_> = [earlier, now]
            .iter()
            .flat_map(|w| check(w, &shift("2025-03-04"), &[]))
            .collect();
        assert_eq!(found.len(), 1);
        assert!(matches!(
            found[0],
            WorkRestrictionExceeded::DeepBends { count: 3, .. }
        ));
    }

    #[test]
    fn terms_read_as_words() {
        let terms = WorkRestrictionTerms {
            no_deep_bends: true,
            max_lifts_per_hour: Some(10),
            max_bends_per_hour: None,
            max_load_kg: Some(12.5),
        };
        assert_eq!(
            terms.words(),
            "no deep bends; at most 10 lifts an hour; no lifts in tasks over 12.5 kg"
        );
        assert!(!WorkRestrictionTerms::default().limits_anything());
    }
}
