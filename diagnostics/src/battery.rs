//! Wearable battery health: from the battery readings a wearable reports (INFO at each docking,
//! DIAG records from its segments), which wearables need a look — health under a threshold, hot
//! while charging, or capacity fading abnormally fast across dockings.
//!
//! Pure: it owns the rules and their defaults, and is handed one wearable's readings; it does no
//! I/O and reads no clock. It must never receive or print anything about a worker: a reading is
//! battery values and a wall time, and the caller keys the flags by wearable serial.

use serde::{Deserialize, Serialize};

const MS_PER_DAY: f64 = 86_400_000.0;

/// The most recent readings the fade estimate looks at; its cost grows with the square of this
/// (≈ 32 000 slopes at the cap), so a long history stays cheap.
pub const MAX_FADE_READINGS: usize = 256;

/// One battery reading of a wearable: an INFO at docking (every field) or a DIAG record (no
/// health, no cycles, charging unknown). Only readings with a wall time belong here: a record whose
/// time is unknown is left out by the caller, never given a guessed one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WearableBattery {
    /// Wall time of the reading, Unix ms.
    pub at_ms: i64,
    /// State of charge, percent (INFO `batt_soc`, DIAG `soc`).
    pub soc: u8,
    /// Full capacity as a percentage of design (INFO `batt_health`); `None` for DIAG.
    pub health_pct: Option<u8>,
    /// Charge cycles (INFO `batt_cycles`); `None` for DIAG.
    pub cycles: Option<u16>,
    /// Battery voltage, mV (INFO `batt_mv`, DIAG `batt_mv`).
    pub voltage_mv: u16,
    /// Battery temperature, 0.1 °C (INFO `batt_temp`, DIAG `temp`).
    pub temp_dc: i16,
    /// Whether it was charging (INFO flags bit 1); `None` when the record does not say (DIAG).
    pub charging: Option<bool>,
}

/// When a wearable's battery is flagged. Every field has a documented default; a config may
/// override any of them (`#[serde(default)]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatteryRules {
    /// Flag when the latest health is below this. Default 80 %: the usual end of life of a
    /// Li-ion cell (cycle-life ratings and OEM battery warranties count life to 80 % of rated
    /// capacity).
    pub min_health_pct: u8,
    /// Flag a charging reading above this. Default 45 °C: the top of the 0–45 °C charging range
    /// of typical Li-ion / Li-polymer cell datasheets.
    pub max_charging_temp_c: f64,
    /// Flag a health loss faster than this, in percentage points per 100 charge cycles. Default
    /// 10: such a cell reaches 80 % within 200 cycles, while small Li-polymer cells are commonly
    /// rated for 300–500 cycles to 80 % (about 4–7 points per 100 cycles).
    pub max_fade_pct_per_100_cycles: f64,
    /// Used instead when the cycle count does not move enough (firmware without a cycle counter):
    /// points per 30 days. Default 3, the cycle rule at about one charge a working day.
    pub max_fade_pct_per_30_days: f64,
    /// The fewest health readings a fade verdict needs. Default 6.
    pub min_fade_readings: usize,
    /// The fewest cycles the readings must span to judge fade per cycle. Default 50.
    pub min_fade_cycles: u16,
    /// The fewest days the readings must span to judge fade per time. Default 30.
    pub min_fade_days: u32,
}

impl Default for BatteryRules {
    fn default() -> Self {
        Self {
            min_health_pct: 80,
            max_charging_temp_c: 45.0,
            max_fade_pct_per_100_cycles: 10.0,
            max_fade_pct_per_30_days: 3.0,
            min_fade_readings: 6,
            min_fade_cycles: 50,
            min_fade_days: 30,
        }
    }
}

/// Why a wearable's battery needs a look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatteryFlag {
    pub kind: BatteryFlagKind,
    /// Plain words with numbers: "health 72 %, below 80 %".
    pub reason: String,
    /// Wall time of the reading that raised it (for fade, the latest reading judged).
    pub at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatteryFlagKind {
    LowHealth,
    HotWhileCharging,
    FastFade,
}

/// The flags for one wearable's readings, at most one of each kind, in the order low health, hot
/// while charging, fast fade. `history` may be in any order; pass the window to judge (for
/// example the last 90 days): a hot charge in it stays flagged for as long as it is in it.
pub fn flags(history: &[WearableBattery], rules: &BatteryRules) -> Vec<BatteryFlag> {
    let mut readings: Vec<&WearableBattery> = history.iter().collect();
    readings.sort_by_key(|r| r.at_ms);
    [
        low_health(&readings, rules),
        hot_while_charging(&readings, rules),
        fast_fade(&readings, rules),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The latest health reading, if it is under the threshold (a wearable whose health reads well
/// again, e.g. after a fuel-gauge recalibration, is no longer flagged).
fn low_health(readings: &[&WearableBattery], rules: &BatteryRules) -> Option<BatteryFlag> {
    let (at_ms, health) = readings
        .iter()
        .rev()
        .find_map(|r| r.health_pct.map(|h| (r.at_ms, h)))?;
    (health < rules.min_health_pct).then(|| BatteryFlag {
        kind: BatteryFlagKind::LowHealth,
        reason: format!("health {health} %, below {} %", rules.min_health_pct),
        at_ms,
    })
}

fn hot_while_charging(readings: &[&WearableBattery], rules: &BatteryRules) -> Option<BatteryFlag> {
    let charging: Vec<&&WearableBattery> = readings
        .iter()
        .filter(|r| r.charging == Some(true))
        .collect();
    let hot: Vec<&&WearableBattery> = charging
        .iter()
        .copied()
        .filter(|r| celsius(r.temp_dc) > rules.max_charging_temp_c)
        .collect();
    let latest = hot.last()?;
    let mut reason = format!(
        "{:.1} °C while charging, above {:.1} °C",
        celsius(latest.temp_dc),
        rules.max_charging_temp_c
    );
    if charging.len() > 1 {
        reason.push_str(&format!(
            " ({} of {} charging readings)",
            hot.len(),
            charging.len()
        ));
    }
    Some(BatteryFlag {
        kind: BatteryFlagKind::HotWhileCharging,
        reason,
        at_ms: latest.at_ms,
    })
}

/// The robust trend of health: the Theil–Sen slope (median of all pairwise slopes), which
/// ignores single outliers and rounding steps, per cycle when the cycle count spans enough, else
/// per day.
fn fast_fade(readings: &[&WearableBattery], rules: &BatteryRules) -> Option<BatteryFlag> {
    let with_health: Vec<&&WearableBattery> =
        readings.iter().filter(|r| r.health_pct.is_some()).collect();
    let recent = &with_health[with_health.len().saturating_sub(MAX_FADE_READINGS)..];
    if recent.len() < rules.min_fade_readings.max(2) {
        return None;
    }
    let latest = recent.last()?;
    let health = |r: &WearableBattery| f64::from(r.health_pct.unwrap_or_default());

    let by_cycle: Vec<(f64, f64)> = recent
        .iter()
        .filter_map(|r| r.cycles.map(|c| (f64::from(c), health(r))))
        .collect();
    if by_cycle.len() >= rules.min_fade_readings
        && span(&by_cycle) >= f64::from(rules.min_fade_cycles)
    {
        let fade = -theil_sen(&by_cycle)? * 100.0;
        return (fade > rules.max_fade_pct_per_100_cycles).then(|| BatteryFlag {
            kind: BatteryFlagKind::FastFade,
            reason: format!(
                "health falls {fade:.1} % per 100 cycles over {:.0} cycles (now {} %), \
                 faster than {:.1} % per 100 cycles",
                span(&by_cycle),
                latest.health_pct.unwrap_or_default(),
                rules.max_fade_pct_per_100_cycles
            ),
            at_ms: latest.at_ms,
        });
    }

    let first_ms = recent.first()?.at_ms;
    let by_day: Vec<(f64, f64)> = recent
        .iter()
        .map(|r| ((r.at_ms - first_ms) as f64 / MS_PER_DAY, health(r)))
        .collect();
    if span(&by_day) < f64::from(rules.min_fade_days) {
        return None;
    }
    let fade = -theil_sen(&by_day)? * 30.0;
    (fade > rules.max_fade_pct_per_30_days).then(|| BatteryFlag {
        kind: BatteryFlagKind::FastFade,
        reason: format!(
            "health falls {fade:.1} % per 30 days over {:.0} days (now {} %), \
             faster than {:.1} % per 30 days",
            span(&by_day),
            latest.health_pct.unwrap_or_default(),
            rules.max_fade_pct_per_30_days
        ),
        at_ms: latest.at_ms,
    })
}

fn celsius(temp_dc: i16) -> f64 {
    f64::from(temp_dc) / 10.0
}

fn span(points: &[(f64, f64)]) -> f64 {
    let (low, high) = points.iter().fold(
        (f64::INFINITY, f64::NEG_INFINITY),
        |(low, high), &(x, _)| (low.min(x), high.max(x)),
    );
    if high >= low { high - low } else { 0.0 }
}

/// Median of the slopes between every two points with different x; `None` if there are none.
fn theil_sen(points: &[(f64, f64)]) -> Option<f64> {
    let mut slopes = Vec::with_capacity(points.len() * points.len().saturating_sub(1) / 2);
    for (i, &(x1, y1)) in points.iter().enumerate() {
        for &(x2, y2) in &points[i + 1..] {
            if x2 != x1 {
                slopes.push((y2 - y1) / (x2 - x1));
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    let middle = slopes.len() / 2;
    let (_, &mut upper, _) = slopes.select_nth_unstable_by(middle, f64::total_cmp);
    if slopes.len() % 2 == 1 {
        return Some(upper);
    }
    let lower = slopes[..middle]
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .unwrap_or(upper);
    Some((lower + upper) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;
    const START_MS: i64 = 1_767_225_600_000; // 2026-01-01

    /// A docking INFO reading on `day`, not charging hot.
    fn docking(day: i64, health: u8, cycles: u16) -> WearableBattery {
        WearableBattery {
            at_ms: START_MS + day * DAY_MS,
            soc: 35,
            health_pct: Some(health),
            cycles: Some(cycles),
            voltage_mv: 3_710,
            temp_dc: 284,
            charging: Some(true),
        }
    }

    fn diag(at_ms: i64, temp_dc: i16) -> WearableBattery {
        WearableBattery {
            at_ms,
            soc: 60,
            health_pct: None,
            cycles: None,
            voltage_mv: 3_850,
            temp_dc,
            charging: None,
        }
    }

    fn kinds(flags: &[BatteryFlag]) -> Vec<BatteryFlagKind> {
        flags.iter().map(|f| f.kind).collect()
    }

    /// Health following `health(day)` with one docking a day and one cycle per docking.
    fn daily(days: i64, health: impl Fn(i64) -> f64) -> Vec<WearableBattery> {
        (0..days)
            .map(|day| docking(day, health(day).round() as u8, 100 + day as u16))
            .collect()
    }

    #[test]
    fn a_healthy_battery_raises_no_flag() {
        let history = daily(120, |day| 98.0 - day as f64 * 0.04);
        assert_eq!(flags(&history, &BatteryRules::default()), vec![]);
    }

    #[test]
    fn health_under_the_threshold_is_flagged_with_its_numbers() {
        let history = vec![
            docking(0, 81, 400),
            docking(1, 79, 401),
            docking(2, 72, 402),
        ];
        let flags = flags(&history, &BatteryRules::default());
        assert_eq!(
            flags,
            vec![BatteryFlag {
                kind: BatteryFlagKind::LowHealth,
                reason: "health 72 %, below 80 %".into(),
                at_ms: START_MS + 2 * DAY_MS,
            }]
        );
    }

    #[test]
    fn low_health_is_judged_on_the_latest_reading_whatever_the_input_order() {
        let mut history = vec![
            docking(5, 83, 405),
            docking(1, 70, 401),
            docking(3, 82, 403),
        ];
        assert_eq!(flags(&history, &BatteryRules::default()), vec![]);
        history.push(docking(9, 79, 409));
        history.push(diag(START_MS + 10 * DAY_MS, 300));
        let flags = flags(&history, &BatteryRules::default());
        assert_eq!(kinds(&flags), vec![BatteryFlagKind::LowHealth]);
        assert_eq!(flags[0].at_ms, START_MS + 9 * DAY_MS);
    }

    #[test]
    fn a_hot_charge_is_flagged_and_counted_but_a_hot_reading_off_the_dock_is_not() {
        let mut history = vec![docking(0, 95, 10), docking(1, 95, 11), docking(2, 95, 12)];
        history[1].temp_dc = 471;
        history.push(diag(START_MS + 3 * DAY_MS, 520));
        history.push(WearableBattery {
            charging: Some(false),
            temp_dc: 530,
            ..docking(4, 95, 13)
        });
        let flags = flags(&history, &BatteryRules::default());
        assert_eq!(
            flags,
            vec![BatteryFlag {
                kind: BatteryFlagKind::HotWhileCharging,
                reason: "47.1 °C while charging, above 45.0 °C (1 of 3 charging readings)".into(),
                at_ms: START_MS + DAY_MS,
            }]
        );
    }

    #[test]
    fn exactly_at_the_charging_limit_is_not_hot() {
        let mut history = vec![docking(0, 95, 10)];
        history[0].temp_dc = 450;
        assert_eq!(flags(&history, &BatteryRules::default()), vec![]);
    }

    #[test]
    fn a_battery_losing_fifteen_points_per_hundred_cycles_is_flagged_as_fast_fade() {
        // 0.15 points per daily cycle, from 97 %: 82 % after 100 cycles, still above 80 %.
        let history = daily(101, |day| 97.0 - day as f64 * 0.15);
        let flags = flags(&history, &BatteryRules::default());
        assert_eq!(kinds(&flags), vec![BatteryFlagKind::FastFade], "{flags:?}");
        assert!(
            flags[0].reason.starts_with("health falls 15.")
                && flags[0].reason.ends_with(
                    "per 100 cycles over 100 cycles (now 82 %), faster than 10.0 % per 100 cycles"
                ),
            "{}",
            flags[0].reason
        );
        assert_eq!(flags[0].at_ms, START_MS + 100 * DAY_MS);
    }

    #[test]
    fn noisy_readings_around_a_normal_fade_are_not_flagged() {
        // 5 points per 100 cycles, with ±3 points of gauge noise on every reading.
        let noise = [0.0, 3.0, -2.0, 1.0, -3.0, 2.0, -1.0];
        let history = daily(100, |day| {
            97.0 - day as f64 * 0.05 + noise[day as usize % noise.len()]
        });
        assert_eq!(flags(&history, &BatteryRules::default()), vec![]);
    }

    #[test]
    fn a_single_outlier_does_not_make_a_fade() {
        let mut history = daily(60, |_| 95.0);
        history[57].health_pct = Some(81); // one bad gauge reading near the end
        assert_eq!(flags(&history, &BatteryRules::default()), vec![]);
    }

    #[test]
    fn too_little_history_is_not_judged_for_fade() {
        let rules = BatteryRules::default();
        // A steep fall, but only five readings…
        let few: Vec<WearableBattery> = (0..5)
            .map(|i| docking(i * 20, 98 - 3 * i as u8, 100 + 20 * i as u16))
            .collect();
        assert_eq!(flags(&few, &rules), vec![]);
        // …or daily readings spanning 29 cycles and 29 days, short of both spans…
        let short = daily(30, |day| 98.0 - day as f64 * 0.3);
        assert_eq!(flags(&short, &rules), vec![]);
        // …while one more day reaches the 30-day span, and the same fall is judged per day.
        let long = daily(31, |day| 98.0 - day as f64 * 0.3);
        assert_eq!(
            kinds(&flags(&long, &rules)),
            vec![BatteryFlagKind::FastFade]
        );
    }

    #[test]
    fn without_a_cycle_counter_fade_is_judged_per_30_days() {
        let history: Vec<WearableBattery> = (0..40)
            .map(|day| WearableBattery {
                cycles: Some(0),
                ..docking(day * 2, (98.0 - day as f64 * 0.4).round() as u8, 0)
            })
            .collect();
        let flags = flags(&history, &BatteryRules::default());
        assert_eq!(kinds(&flags), vec![BatteryFlagKind::FastFade], "{flags:?}");
        assert!(
            flags[0].reason.starts_with("health falls 6.")
                && flags[0]
                    .reason
                    .contains("per 30 days over 78 days (now 82 %)"),
            "{}",
            flags[0].reason
        );
    }

    #[test]
    fn all_three_flags_come_in_a_fixed_order() {
        let mut history = daily(101, |day| 97.0 - day as f64 * 0.2);
        history[100].temp_dc = 480;
        let flags = flags(&history, &BatteryRules::default());
        assert_eq!(
            kinds(&flags),
            vec![
                BatteryFlagKind::LowHealth,
                BatteryFlagKind::HotWhileCharging,
                BatteryFlagKind::FastFade
            ]
        );
    }

    #[test]
    fn no_readings_raise_no_flag() {
        assert_eq!(flags(&[], &BatteryRules::default()), vec![]);
    }

    #[test]
    fn rules_left_out_of_a_config_keep_their_defaults() {
        let rules: BatteryRules = serde_json::from_str(r#"{"min_health_pct": 70}"#).unwrap();
        assert_eq!(
            rules,
            BatteryRules {
                min_health_pct: 70,
                ..BatteryRules::default()
            }
        );
    }

    #[test]
    fn theil_sen_ignores_a_minority_of_wild_points() {
        let mut points: Vec<(f64, f64)> = (0..20).map(|x| (x as f64, 2.0 * x as f64)).collect();
        points[3].1 = 500.0;
        points[11].1 = -400.0;
        let slope = theil_sen(&points).unwrap();
        assert!((slope - 2.0).abs() < 1e-9, "{slope}");
        assert_eq!(theil_sen(&[(1.0, 1.0), (1.0, 5.0)]), None);
    }
}
