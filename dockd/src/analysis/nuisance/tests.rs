//! Unit tests of the nuisance figures, the suggestion rules and the silent baseline. Tests only.

use super::*;
use crate::analysis::Sample;

fn spans(spans: &[(i64, i64)]) -> Vec<GaitSpan> {
    spans
        .iter()
        .map(|&(start_ms, end_ms)| GaitSpan { start_ms, end_ms })
        .collect()
}

const T0: i64 = 1_790_000_000_000;

fn alert(kind: u8, at: i64, duration_ms: u32, response_ms: Option<u32>) -> AlertRecord {
    AlertRecord {
        worker: None,
        wall_ms: Some(at),
        kind,
        peak: 5000,
        duration_ms,
        response_ms,
        haptic: true,
    }
}

/// `seconds` of samples at 25 Hz whose axial velocity cycles through `twists` (0.1 °/s).
fn run(start_ms: i64, seconds: usize, twists: &[i16]) -> Run {
    Run {
        start_ms,
        rate_hz: 25,
        samples: (0..seconds * 25)
            .map(|k| -> Sample { [0, 0, twists[k % twists.len()], 0] })
            .collect(),
    }
}

/// Totals with `gait_s` seconds of gait whose velocities are `twists`, evenly.
fn gait_totals(gait_s: usize, twists: &[i16]) -> NuisanceTotals {
    let gait = spans(&[(T0, T0 + gait_s as i64 * 1000)]);
    let shift = measure(&[run(T0, gait_s, twists)], &gait, &[]);
    let mut totals = NuisanceTotals::default();
    totals.add(gait_s as f64, 0, 0, &shift);
    totals
}

#[test]
fn alerts_during_gait_and_never_corrected_ones_are_counted_by_kind() {
    let gait = spans(&[(T0, T0 + 10_000), (T0 + 20_000, T0 + 30_000)]);
    let alerts = [
        alert(KIND_TWIST, T0 + 1_000, 200, Some(300)),
        alert(KIND_TWIST, T0 + 10_000, 200, None), // end exclusive: not in gait
        alert(KIND_BEND, T0 + 25_000, 1500, None),
        alert(KIND_OVERREACH, T0 + 40_000, 1500, Some(400)),
        AlertRecord {
            wall_ms: None,
            ..alert(KIND_PROLONGED_BEND, 0, 1, None)
        },
    ];
    let shift = measure(&[run(T0, 40, &[0])], &gait, &alerts);
    assert_eq!(
        shift.by_kind,
        AlertKinds {
            bend: 1,
            twist: 2,
            prolonged_bend: 1,
            overreach: 1,
        }
    );
    assert_eq!(shift.during_gait, 2);
    assert!((shift.gait_s - 20.0).abs() < 1e-9, "{}", shift.gait_s);
    let mut totals = NuisanceTotals::default();
    totals.add(3600.0, 5, 3, &shift);
    totals.add(3600.0, 5, 3, &shift);
    assert_eq!(totals.alerts_per_hour(), Some(5.0));
    assert_eq!(totals.gait_share(), Some(0.4));
    assert_eq!(totals.never_corrected_share(), Some(0.6));
    assert_eq!(NuisanceTotals::default().gait_share(), None);
    assert_eq!(NuisanceTotals::default().alerts_per_hour(), None);
}

#[test]
fn a_stored_report_without_nuisance_figures_still_parses() {
    let old: ShiftNuisance = serde_json::from_str("{}").unwrap();
    assert_eq!(old, ShiftNuisance::default());
}

#[test]
fn the_gait_p99_9_is_the_upper_edge_of_its_bin() {
    // 999 ‰ of samples at 80 °/s, 1 ‰ at 250 °/s: p99.9 is in the 80–85 °/s bin.
    let mut twists = vec![800i16; 999];
    twists.push(-2500);
    let totals = gait_totals(600, &twists);
    assert_eq!(totals.gait_twist_p999(), Some(850));
    // 2 ‰ at 250 °/s: p99.9 is in the 250–255 °/s bin.
    twists[0] = 2500;
    assert_eq!(gait_totals(600, &twists).gait_twist_p999(), Some(2550));
    assert_eq!(Histogram::default().percentile_upper(990, 50), None);
}

#[test]
fn the_twist_alert_is_suggested_just_above_walking() {
    let totals = gait_totals(600, &[-300, 500, 820]);
    let s = suggest(&totals, &WearableConfig::default());
    // p99.9 in the 80–85 °/s bin → 85 + 5 = 90 °/s.
    assert_eq!(s.twist_alert.value, Some(900), "{}", s.twist_alert.reason);
    assert!(
        s.twist_alert.reason.contains("85 °/s"),
        "{}",
        s.twist_alert.reason
    );
}

#[test]
fn the_twist_alert_is_never_suggested_above_its_ceiling_nor_below_the_current_one() {
    let jogging = gait_totals(600, &[2200, -1900]);
    let s = suggest(&jogging, &WearableConfig::default());
    assert_eq!(s.twist_alert.value, Some(u32::from(TWIST_CEILING)));
    assert!(
        s.twist_alert.reason.contains("capped"),
        "{}",
        s.twist_alert.reason
    );

    let slow = gait_totals(600, &[200, -300]);
    let s = suggest(&slow, &WearableConfig::default());
    assert_eq!(s.twist_alert.value, Some(600), "keeps the current 60 °/s");
}

#[test]
fn too_little_walking_suggests_no_twist_alert() {
    let totals = gait_totals(599, &[800]);
    let s = suggest(&totals, &WearableConfig::default());
    assert_eq!(s.twist_alert.value, None);
    assert!(
        s.twist_alert.reason.contains("Not enough"),
        "{}",
        s.twist_alert.reason
    );
    assert_eq!(s.applied_to(WearableConfig::default()), None);
}

/// Totals of `brief` bends of `duration_ms` corrected at once and `held` ones never corrected.
fn bend_totals(brief: usize, duration_ms: u32, held: usize) -> NuisanceTotals {
    let mut alerts = vec![alert(KIND_BEND, T0, duration_ms, Some(400)); brief];
    alerts.extend(vec![alert(KIND_BEND, T0, 9000, None); held]);
    // A slow correction is not brief.
    alerts.push(alert(KIND_BEND, T0, 1400, Some(QUICK_RESPONSE_MS + 1)));
    let shift = measure(&[], &[], &alerts);
    let mut totals = NuisanceTotals::default();
    totals.add(3600.0, alerts.len() as u32, held as u32, &shift);
    totals
}

#[test]
fn the_bend_hold_is_suggested_so_brief_corrected_bends_do_not_pulse() {
    let s = suggest(&bend_totals(30, 1400, 0), &WearableConfig::default());
    assert_eq!(
        s.bend_hold_ms.value,
        Some(1500),
        "{}",
        s.bend_hold_ms.reason
    );
    let config = s.applied_to(WearableConfig::default()).unwrap();
    assert_eq!(config.bend_hold_ms, 1500);
    assert_eq!(
        config.twist_alert, 600,
        "no walking: the twist alert is kept"
    );
    assert!(config.haptics);
}

#[test]
fn the_bend_hold_is_bounded_and_kept_when_bends_are_held() {
    let long = suggest(&bend_totals(30, 6000, 0), &WearableConfig::default());
    assert_eq!(
        long.bend_hold_ms.value,
        Some(u32::from(BEND_HOLD_CEILING_MS))
    );
    let held = suggest(&bend_totals(30, 1400, 40), &WearableConfig::default());
    assert_eq!(
        held.bend_hold_ms.value,
        Some(1000),
        "{}",
        held.bend_hold_ms.reason
    );
    let few = suggest(&bend_totals(19, 1400, 0), &WearableConfig::default());
    assert_eq!(few.bend_hold_ms.value, None);
    let strict = WearableConfig {
        bend_hold_ms: 2000,
        ..WearableConfig::default()
    };
    let kept = suggest(&bend_totals(30, 1400, 0), &strict);
    assert_eq!(
        kept.bend_hold_ms.value,
        Some(2000),
        "never below the current hold"
    );
}

#[test]
fn the_baseline_is_silent_on_day_n_minus_1_and_over_on_day_n() {
    const DAY: i64 = 86_400_000;
    assert_eq!(baseline(0, Some(T0), T0), Baseline::Off);
    assert_eq!(baseline(3, None, T0), Baseline::Silent { until_ms: None });
    let until = T0 + 3 * DAY;
    assert_eq!(
        baseline(3, Some(T0), T0 + 3 * DAY - 1),
        Baseline::Silent {
            until_ms: Some(until)
        }
    );
    assert_eq!(
        baseline(3, Some(T0), until),
        Baseline::Over { ended_ms: until }
    );
}

#[test]
fn the_ordered_config_is_silent_in_baseline_and_suggested_after_it() {
    let site = WearableConfig {
        bend_alert: 4000,
        ..WearableConfig::default()
    };
    let suggested = |c: WearableConfig| {
        Some(WearableConfig {
            twist_alert: 900,
            ..c
        })
    };
    assert_eq!(ordered_config(None, Baseline::Off, suggested), None);
    assert_eq!(
        ordered_config(Some(site), Baseline::Off, suggested),
        Some(site)
    );
    let silent =
        ordered_config(Some(site), Baseline::Silent { until_ms: None }, suggested).unwrap();
    assert_eq!((silent.haptics, silent.bend_alert), (false, 4000));
    let over = ordered_config(Some(site), Baseline::Over { ended_ms: T0 }, suggested).unwrap();
    assert_eq!(
        (over.haptics, over.twist_alert, over.bend_alert),
        (true, 900, 4000)
    );
    let unsuggested = ordered_config(None, Baseline::Over { ended_ms: T0 }, |_| None);
    assert_eq!(unsuggested, Some(WearableConfig::default()));
}
