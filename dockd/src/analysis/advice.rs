//! Advice: rule-based recommendations tied to the evidence (which task, hour or movement, how far
//! above the site median), in the language of the hierarchy of controls: change the workplace
//! first (engineering), then how the work is organised (administrative). It must never give
//! medical advice: no diagnosis, no treatment, nothing about a person's body or health.

use serde::{Deserialize, Serialize};

use super::ShiftReport;
use super::groups::{GroupFigure, GroupKind, NO_TASK, NO_TEAM};
use super::risk::{
    self, CountKind, Evidence, RiskLevel, RiskRules, SiteBaseline, fmt_num, fmt_pct, fmt_ratio,
};

/// What every page showing advice says once.
pub const NOT_MEDICAL: &str = "These are workplace-design suggestions drawn from measured \
movements. They are not medical advice.";

/// One recommendation and the evidence it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advice {
    /// What to look at and change, engineering controls first.
    pub text: String,
    /// The figures behind it.
    pub evidence: String,
}

/// Workplace changes for a movement: (engineering, administrative).
fn controls(kind: CountKind) -> (&'static str, &'static str) {
    match kind {
        CountKind::Bends | CountKind::DeepBends => (
            "check pallet, shelf and bin heights there and bring work to between knee and \
             shoulder height (lift tables, pallet raisers, tilting bins)",
            "then rotate people through the task",
        ),
        CountKind::Twists => (
            "place the work in front of the body (turntables, conveyor and bin positions) so the \
             feet turn, not the trunk",
            "then leave room to step around",
        ),
        CountKind::LateralBends => (
            "bring items within reach at the side at waist height and clear what forces leaning",
            "then rotate people through the task",
        ),
        CountKind::Reaches => (
            "lower high storage or provide steps and platforms",
            "then keep the most used items between waist and shoulder height",
        ),
        CountKind::StoopLifts | CountKind::Lifts | CountKind::SquatLifts => (
            "provide lift aids and raise pick-up points so loads are not taken from the floor",
            "then refresh lifting technique with the team",
        ),
        CountKind::StaticPostures => (
            "adjust work heights or add supports so the trunk is not held bent",
            "then plan short changes of posture into the task",
        ),
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn evidence_text(e: &Evidence, site: &SiteBaseline) -> String {
    match e {
        Evidence::Rate {
            kind,
            rate,
            limit,
            site: cmp,
            window,
            task,
        } => {
            let mut parts = vec![format!(
                "{}: {} per hour (limit {})",
                kind.plural(),
                fmt_num(*rate),
                fmt_num(*limit)
            )];
            if let Some((median, ratio)) = cmp {
                parts.push(format!(
                    "site median {} over {} shifts{}",
                    fmt_num(*median),
                    site.shifts,
                    ratio.map_or(String::new(), |r| format!(" ({})", fmt_ratio(r)))
                ));
            }
            if let Some(w) = window {
                parts.push(format!("{} of them {}", fmt_pct(w.share), w.label()));
            }
            if let Some((name, share)) = task {
                parts.push(format!("{} in {name}", fmt_pct(*share)));
            }
            parts.join("; ")
        }
        Evidence::FlexionTime { fraction, limit } => format!(
            "{} of wear time at 60° flexion or more (limit {}; Hoogendoorn 2000: above 5 %)",
            fmt_pct(*fraction),
            fmt_pct(*limit)
        ),
        Evidence::NotAcceptable { fraction, limit } => format!(
            "{} of wear time in ISO 11226 not-acceptable postures (limit {})",
            fmt_pct(*fraction),
            fmt_pct(*limit)
        ),
        Evidence::HeavyLifts { lifts } => match lifts {
            Some(n) => format!("{n} lifts of 25 kg or more (Hoogendoorn 2000: above 15 a day)"),
            None => "more than 15 lifts of 25 kg or more (Hoogendoorn 2000)".to_owned(),
        },
        Evidence::Lifft {
            probability,
            limit,
            task,
        } => {
            let mut s = format!("LiFFT probability {probability:.2} (limit {limit:.2})");
            if let Some((name, share)) = task {
                s.push_str(&format!(
                    "; {name}: {} of the cumulative damage",
                    fmt_pct(*share)
                ));
            }
            s
        }
        Evidence::LifftMoment {
            task,
            plm_nm,
            limit,
        } => format!("{task}: peak load moment {plm_nm:.0} N·m (LiFFT caution above {limit:.0})"),
        Evidence::Niosh { task, index, limit } => {
            format!(
                "{task}: NIOSH lifting index {index:.1} (limit {})",
                fmt_num(*limit)
            )
        }
        Evidence::NeedsInput { task, needs } => format!("{task}: {needs}"),
    }
}

fn finding_advice(e: &Evidence, level: RiskLevel) -> Option<String> {
    Some(match e {
        Evidence::Rate {
            kind,
            rate,
            site: cmp,
            window,
            task,
            ..
        } => {
            let (engineering, administrative) = controls(*kind);
            let place = task
                .as_ref()
                .map_or(String::new(), |(name, _)| format!(" in {name}"));
            let how = match cmp {
                Some((_, Some(ratio))) => format!("at {} the site median", fmt_ratio(*ratio)),
                _ => format!("at {} per hour", fmt_num(*rate)),
            };
            let when = window.map_or(String::new(), |w| format!(", {}", w.label()));
            format!(
                "{}{place} run {how}{when}: {engineering}; {administrative}",
                capitalised(kind.plural())
            )
        }
        Evidence::FlexionTime { .. } | Evidence::NotAcceptable { .. } => {
            let (engineering, administrative) = controls(CountKind::DeepBends);
            format!("Much of the shift is spent bent far forward: {engineering}; {administrative}")
        }
        Evidence::HeavyLifts { .. } => "Loads of 25 kg or more are lifted often: provide \
            mechanical aids (hoists, vacuum lifters) or split loads into smaller units; until \
            then plan two-person lifts"
            .to_owned(),
        Evidence::Lifft { task, .. } => {
            let place = task
                .as_ref()
                .map_or("the lifting tasks".to_owned(), |(name, _)| name.clone());
            format!(
                "Cumulative lifting load is {}: in {place}, reduce the load or bring it closer \
                 to the body (a shorter lever arm lowers the damage per lift steeply); then \
                 share the repetitions across more people",
                level.word()
            )
        }
        Evidence::LifftMoment { task, .. } => format!(
            "Check the load and lever arm configured for {task}; if they are right, reduce the \
             load or the reach in {task}, which is beyond the range LiFFT was validated for"
        ),
        Evidence::Niosh { task, .. } => format!(
            "In {task}, reduce the load, bring it closer to the body, or raise where it is picked \
             up; then lower how often each person lifts it"
        ),
        Evidence::NeedsInput { task, .. } => {
            format!("Configure the load and lever arm of {task} so the lifting models can judge it")
        }
    })
}

/// Advice for one shift, heaviest finding first, from the same rules as its risk level; plus
/// notes on the wearable's own alerts when most were not felt or not followed.
pub fn for_shift(report: &ShiftReport, site: &SiteBaseline, rules: &RiskRules) -> Vec<Advice> {
    let mut out: Vec<Advice> = risk::findings(&report.metrics, &report.tasks, site, rules)
        .into_iter()
        .filter_map(|f| {
            finding_advice(&f.evidence, f.level).map(|text| Advice {
                text,
                evidence: evidence_text(&f.evidence, site),
            })
        })
        .collect();
    let alerts = &report.metrics.alerts;
    if alerts.count >= 5 {
        if let Some(rate) = alerts.haptic_rate.filter(|r| *r < 0.9) {
            out.push(Advice {
                text: "Many alerts did not vibrate: check the wearable's fit, battery and \
                       vibration setting"
                    .to_owned(),
                evidence: format!(
                    "{} alerts, {} of them with a delivered vibration",
                    alerts.count,
                    fmt_pct(rate)
                ),
            });
        }
        let uncorrected = f64::from(alerts.uncorrected) / f64::from(alerts.count);
        if uncorrected >= 0.5 {
            out.push(Advice {
                text: "Most alerts were not followed by a return to a safe posture: check whether \
                       the task leaves room to work upright (work height, space, reach)"
                    .to_owned(),
                evidence: format!(
                    "{} of {} alerts never corrected ({})",
                    alerts.uncorrected,
                    alerts.count,
                    fmt_pct(uncorrected)
                ),
            });
        }
    }
    out
}

/// Advice for the site from group figures: every shown group whose rate of a judged movement is
/// at least `rules.site_multiple_of_note` times the site median (and at least 1 an hour), most
/// striking first. Suppressed groups carry no figures and so never give advice. Nothing is
/// compared while the baseline is too small to quote.
pub fn for_site(groups: &[GroupFigure], site: &SiteBaseline, rules: &RiskRules) -> Vec<Advice> {
    if !site.comparable(rules) {
        return Vec::new();
    }
    let mut found: Vec<(f64, Advice)> = Vec::new();
    for g in groups {
        let Some(figures) = &g.figures else { continue };
        let place = match g.kind {
            GroupKind::Site => continue,
            GroupKind::Task if g.group == NO_TASK => "outside the configured tasks".to_owned(),
            GroupKind::Task => format!("in {}", g.group),
            GroupKind::Team if g.group == NO_TEAM => "among workers without a team".to_owned(),
            GroupKind::Team => format!("in team {}", g.group),
            GroupKind::Hour => format!("at {}", g.group),
        };
        for (kind, _) in rules.rate_limits() {
            let rate = figures.per_hour.get(kind);
            let median = site.median_per_hour.get(kind);
            if median <= 0.0 || rate < 1.0 {
                continue;
            }
            let ratio = rate / median;
            if ratio < rules.site_multiple_of_note {
                continue;
            }
            let (engineering, administrative) = controls(kind);
            found.push((
                ratio,
                Advice {
                    text: format!(
                        "{} {place} run at {} the site median: {engineering}; {administrative}",
                        capitalised(kind.plural()),
                        fmt_ratio(ratio)
                    ),
                    evidence: format!(
                        "{} per hour over {} h of wear, {} workers, {} shifts; site median {} \
                         over {} shifts",
                        fmt_num(rate),
                        fmt_num(figures.wear_h),
                        g.workers,
                        g.shifts,
                        fmt_num(median),
                        site.shifts
                    ),
                },
            ));
        }
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    found.into_iter().map(|(_, a)| a).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::exposure::Counts;
    use crate::analysis::groups::{self, GroupRules, Member, Viewer};
    use crate::analysis::risk::Rates;
    use crate::analysis::risk::tests::{deep, exposure, hour, metrics, report, task};
    use crate::analysis::tasks::{LifftTask, LifftTotal, NioshTask, TaskExposure};

    fn site(deep_median: f64) -> SiteBaseline {
        SiteBaseline {
            shifts: 40,
            workers: Some(12),
            median_per_hour: Rates {
                deep_bends: deep_median,
                bends: 100.0,
                twists: 10.0,
                ..Rates::default()
            },
        }
    }

    /// Words that would make a recommendation medical.
    const MEDICAL: [&str; 12] = [
        "diagnos", "treat", "therap", "medic", "pain", "injur", "symptom", "exercis", "stretch",
        "physio", "doctor", "pill",
    ];

    fn assert_not_medical(advice: &[Advice]) {
        for a in advice {
            let all = format!("{} {}", a.text, a.evidence).to_lowercase();
            for word in MEDICAL {
                assert!(!all.contains(word), "`{word}` in {a:?}");
            }
        }
    }

    fn receiving_shift() -> ShiftReport {
        let mut m = metrics(8.0, deep(328));
        m.per_hour = (6..14)
            .map(|h| {
                let n = match h {
                    6 => 100,
                    7 => 104,
                    8 => 24,
                    _ => 20,
                };
                hour(h, 3600.0, deep(n))
            })
            .collect();
        let tasks = exposure(
            vec![
                task("Receiving", 4.0 * 3600.0, deep(250)),
                task("Packing", 4.0 * 3600.0, deep(78)),
            ],
            None,
        );
        report("2025-03-04", m, tasks)
    }

    #[test]
    fn shift_advice_names_the_movement_task_hours_and_site_multiple() {
        let r = receiving_shift();
        let a = for_shift(&r, &site(41.0 / 3.0), &RiskRules::default());
        assert_eq!(a.len(), 1);
        assert_eq!(
            a[0].text,
            "Deep bends in Receiving run at 3.0× the site median, 06:00–08:00: check pallet, \
             shelf and bin heights there and bring work to between knee and shoulder height \
             (lift tables, pallet raisers, tilting bins); then rotate people through the task"
        );
        assert_eq!(
            a[0].evidence,
            "deep bends: 41 per hour (limit 20); site median 14 over 40 shifts (3.0×); 62 % of \
             them 06:00–08:00; 76 % in Receiving"
        );
        assert_not_medical(&a);
    }

    #[test]
    fn without_a_comparable_baseline_shift_advice_quotes_the_rate() {
        let r = receiving_shift();
        let a = for_shift(&r, &SiteBaseline::default(), &RiskRules::default());
        assert!(
            a[0].text
                .starts_with("Deep bends in Receiving run at 41 per hour, 06:00–08:00: ")
        );
    }

    #[test]
    fn a_quiet_shift_gets_no_advice() {
        let r = report("2025-03-04", metrics(8.0, deep(8)), TaskExposure::default());
        assert!(for_shift(&r, &site(1.0), &RiskRules::default()).is_empty());
    }

    #[test]
    fn every_rule_gives_workplace_advice_and_never_medical_advice() {
        let mut m = metrics(
            1.0,
            Counts {
                bends: 700,
                deep_bends: 70,
                twists: 130,
                lateral_bends: 130,
                reaches: 40,
                lifts: 30,
                stoop_lifts: 30,
                squat_lifts: 0,
                static_postures: 10,
            },
        );
        m.hoogendoorn.flexion_60_fraction = 0.08;
        m.hoogendoorn.flexion_flag = true;
        m.hoogendoorn.heavy_lifts = Some(20);
        m.hoogendoorn.heavy_lift_flag = Some(true);
        m.iso11226_s.not_acceptable = 600.0;
        m.alerts.count = 10;
        m.alerts.haptic_rate = Some(0.6);
        m.alerts.uncorrected = 6;
        let mut lifting = task("Receiving", 3600.0, Counts::default());
        lifting.lifft = Some(LifftTask {
            plm_nm: 120.0,
            damage_per_cycle: 1e-4,
            cumulative_damage: 0.05,
            over_100_nm: true,
        });
        lifting.niosh = Some(NioshTask {
            rwl_kg: 7.4,
            lifting_index: Some(3.4),
        });
        let mut unloaded = task("Packing", 3600.0, Counts::default());
        unloaded.needs = vec!["needs load input".to_owned()];
        let tasks = exposure(
            vec![lifting, unloaded],
            Some(LifftTotal {
                cumulative_damage: 0.05,
                probability: 0.62,
            }),
        );
        let r = report("2025-03-04", m, tasks);
        let a = for_shift(&r, &site(10.0), &RiskRules::default());
        let texts: Vec<&str> = a.iter().map(|a| a.text.as_str()).collect();
        // 7 rates, flexion time, heavy lifts, ISO time, LiFFT, PLM, NIOSH, missing input, 2 alerts.
        assert_eq!(a.len(), 16, "{texts:#?}");
        assert!(texts.contains(
            &"Cumulative lifting load is high: in Receiving, reduce the load or bring it closer \
              to the body (a shorter lever arm lowers the damage per lift steeply); then share \
              the repetitions across more people"
        ));
        assert!(texts.contains(
            &"In Receiving, reduce the load, bring it closer to the body, or raise where it is \
              picked up; then lower how often each person lifts it"
        ));
        assert!(texts.contains(
            &"Configure the load and lever arm of Packing so the lifting models can judge it"
        ));
        assert!(texts.contains(
            &"Loads of 25 kg or more are lifted often: provide mechanical aids (hoists, vacuum \
              lifters) or split loads into smaller units; until then plan two-person lifts"
        ));
        let evidence: Vec<&str> = a.iter().map(|a| a.evidence.as_str()).collect();
        assert!(evidence.contains(&"10 alerts, 60 % of them with a delivered vibration"));
        assert!(evidence.contains(&"6 of 10 alerts never corrected (60 %)"));
        assert!(evidence.contains(&"Receiving: NIOSH lifting index 3.4 (limit 3.0)"));
        assert!(
            evidence.contains(&"Receiving: peak load moment 120 N·m (LiFFT caution above 100)")
        );
        assert_not_medical(&a);
        assert!(NOT_MEDICAL.contains("not medical advice"));
    }

    fn members_of(reports: &[ShiftReport]) -> Vec<Member<'_>> {
        reports
            .iter()
            .enumerate()
            .map(|(i, report)| Member {
                worker: i as i64 % 6,
                team: Some(if i % 6 < 3 { "Red" } else { "Blue" }),
                report,
            })
            .collect()
    }

    #[test]
    fn site_advice_points_at_the_task_far_above_the_median() {
        let reports: Vec<ShiftReport> = (0..12)
            .map(|_| {
                let tasks = exposure(
                    vec![
                        task("Receiving", 2.0 * 3600.0, deep(60)),
                        task("Packing", 6.0 * 3600.0, deep(60)),
                    ],
                    None,
                );
                report("2025-03-04", metrics(8.0, deep(120)), tasks)
            })
            .collect();
        let ms = members_of(&reports);
        let rules = GroupRules::default();
        let groups = groups::by_task(&ms, &rules, Viewer::Supervisor);
        let a = for_site(&groups, &site(10.0), &RiskRules::default());
        assert_eq!(a.len(), 1);
        assert_eq!(
            a[0].text,
            "Deep bends in Receiving run at 3.0× the site median: check pallet, shelf and bin \
             heights there and bring work to between knee and shoulder height (lift tables, \
             pallet raisers, tilting bins); then rotate people through the task"
        );
        assert_eq!(
            a[0].evidence,
            "30 per hour over 24 h of wear, 6 workers, 12 shifts; site median 10 over 40 shifts"
        );
        assert_not_medical(&a);
    }

    #[test]
    fn suppressed_groups_and_small_baselines_give_no_site_advice() {
        let reports: Vec<ShiftReport> = (0..3)
            .map(|_| {
                report(
                    "2025-03-04",
                    metrics(8.0, deep(400)),
                    TaskExposure::default(),
                )
            })
            .collect();
        let ms = members_of(&reports);
        let rules = GroupRules::default();
        let hidden = groups::by_team(&ms, &rules, Viewer::Supervisor);
        assert!(hidden.iter().all(GroupFigure::suppressed));
        assert!(for_site(&hidden, &site(10.0), &RiskRules::default()).is_empty());
        let shown = groups::by_team(&ms, &rules, Viewer::Admin);
        let a = for_site(&shown, &site(10.0), &RiskRules::default());
        assert_eq!(a.len(), 1);
        assert!(
            a[0].text
                .starts_with("Deep bends in team Red run at 5.0× the site median")
        );
        let small = SiteBaseline {
            shifts: 10,
            ..site(10.0)
        };
        assert!(for_site(&shown, &small, &RiskRules::default()).is_empty());
    }

    #[test]
    fn hour_groups_are_named_by_their_clock_hours() {
        let reports: Vec<ShiftReport> = (0..6)
            .map(|_| {
                let mut m = metrics(2.0, deep(40));
                m.per_hour = vec![hour(6, 3600.0, deep(35)), hour(7, 3600.0, deep(5))];
                report("2025-03-04", m, TaskExposure::default())
            })
            .collect();
        let ms = members_of(&reports);
        let groups = groups::by_hour(&ms, &GroupRules::default(), Viewer::Supervisor);
        let a = for_site(&groups, &site(10.0), &RiskRules::default());
        assert_eq!(a.len(), 1);
        assert!(
            a[0].text
                .starts_with("Deep bends at 06:00–07:00 run at 3.5× the site median")
        );
    }
}
