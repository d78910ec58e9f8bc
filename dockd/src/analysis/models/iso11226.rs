//! ISO 11226:2000 / EN 1005-4 trunk-flexion verdicts with the holding-time rule, and the EN 1005-4
//! style verdicts for sideways bending and twisting (risk-models.md §2, TC9). It owns the zones and
//! the maximum acceptable holding time; it must never be given anything but angles, durations and
//! frequencies.
//!
//! Sources and their standing (risk-models.md §2):
//! - zones 0–20° / 20–60° / > 60° / < 0°: Table 2 of doi:10.1186/s12995-020-00286-9 "according to
//!   ISO 11226 and DIN EN 1005-4" [C for that table];
//! - the static decision logic and the MAHT line `240 − 4.5·(θ − 20)` s: GitHub
//!   hfelabs-boop/ErgoCapture `src/lib/ergo/staticPosture.ts` [S]. The standard's own curve is [U]:
//!   the line is a placeholder ([`MAHT_VERSION`]) to be checked against the ISO text;
//! - lateral bend / twist movements (≤ 10° acceptable; ≥ 10° conditional below 2/min, not acceptable
//!   from 2/min): EN 1005-4 as shown in Dassault DELMIA documentation [C];
//! - trunk-flexion movement frequencies (2/min, 10/min): ErgoCapture [S], EN 1005-4 source [U].
//!
//! **Backward inclination** starts below 0° here (the zone table, [C]); ErgoCapture's −5° is a
//! tolerance of that implementation [S]. A tolerance for sensor noise belongs in the caller's
//! detection thresholds (`movements`), not in the standard's verdict.

use serde::{Deserialize, Serialize};

/// Names the holding-time curve results were computed with; store it with every verdict.
pub const MAHT_VERSION: &str =
    "ISO 11226 trunk MAHT, linearised 240 s at 20° to 60 s at 60° (ErgoCapture) — placeholder";

/// Upper end (inclusive) of the neutral zone, degrees of forward flexion.
pub const NEUTRAL_MAX_DEG: f64 = 20.0;
/// Upper end (inclusive) of the moderate zone; beyond it is not acceptable.
pub const MODERATE_MAX_DEG: f64 = 60.0;
/// Below this (degrees) the trunk is inclined backward.
pub const BACKWARD_BELOW_DEG: f64 = 0.0;
/// MAHT at 20° (the line's start), s [S].
pub const MAHT_AT_NEUTRAL_MAX_S: f64 = 240.0;
/// MAHT at 60° (the line's end), s [S].
pub const MAHT_AT_MODERATE_MAX_S: f64 = 60.0;
/// The line's slope, s per degree: (240 − 60) / (60 − 20) = 4.5.
pub const MAHT_SLOPE_S_PER_DEG: f64 =
    (MAHT_AT_NEUTRAL_MAX_S - MAHT_AT_MODERATE_MAX_S) / (MODERATE_MAX_DEG - NEUTRAL_MAX_DEG);
/// Static lateral bend or axial rotation beyond this is not acceptable; movements beyond it are
/// "clearly visible" and rated by frequency.
pub const ASYMMETRY_MAX_DEG: f64 = 10.0;
/// Asymmetric movements (≥ 10°) from this rate per minute are not acceptable (EN 1005-4 [C]).
pub const ASYMMETRIC_NOT_ACCEPTABLE_PER_MIN: f64 = 2.0;
/// Trunk-flexion movements beyond 20° from this rate are conditional (ErgoCapture [S]).
pub const FLEXION_CONDITIONAL_PER_MIN: f64 = 2.0;
/// Trunk-flexion movements beyond 20° from this rate are not acceptable (ErgoCapture [S]).
pub const FLEXION_NOT_ACCEPTABLE_PER_MIN: f64 = 10.0;

/// A posture's verdict (EN 1005-4 wording).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Acceptable,
    /// Acceptable only within the holding-time limit.
    Conditional,
    NotAcceptable,
}

/// Maximum acceptable holding time (s) of static trunk flexion `flexion_deg` without support:
/// infinite at or below 20°, 240 s at 20° falling linearly to 60 s at 60°, zero above 60°.
/// Backward inclination has no holding time (it is judged on support alone, see
/// [`flexion_verdict`]); NaN gives 0.
pub fn maht_s(flexion_deg: f64) -> f64 {
    if flexion_deg <= NEUTRAL_MAX_DEG {
        f64::INFINITY
    } else if flexion_deg <= MODERATE_MAX_DEG {
        MAHT_AT_NEUTRAL_MAX_S - MAHT_SLOPE_S_PER_DEG * (flexion_deg - NEUTRAL_MAX_DEG)
    } else {
        0.0
    }
}

/// The verdict on holding `flexion_deg` (backward is negative) for `held_s` seconds:
/// - backward (< 0°): acceptable with full trunk support, otherwise not acceptable;
/// - 0–20°: acceptable;
/// - over 20° to 60°: acceptable with full trunk support; without, conditional while
///   `held_s ≤ MAHT` (acceptable within the holding-time limit) and not acceptable beyond;
/// - over 60°: not acceptable, supported or not.
///
/// A NaN angle or duration is not acceptable (never pass an unknown).
pub fn flexion_verdict(flexion_deg: f64, held_s: f64, supported: bool) -> Verdict {
    if flexion_deg.is_nan() || held_s.is_nan() {
        return Verdict::NotAcceptable;
    }
    if flexion_deg < BACKWARD_BELOW_DEG {
        return if supported {
            Verdict::Acceptable
        } else {
            Verdict::NotAcceptable
        };
    }
    if flexion_deg <= NEUTRAL_MAX_DEG {
        return Verdict::Acceptable;
    }
    if flexion_deg > MODERATE_MAX_DEG {
        return Verdict::NotAcceptable;
    }
    if supported {
        Verdict::Acceptable
    } else if held_s <= maht_s(flexion_deg) {
        Verdict::Conditional
    } else {
        Verdict::NotAcceptable
    }
}

/// The verdict on a static lateral bend or axial rotation of `angle_deg` (either side): more than
/// 10° is not acceptable (ISO 11226 via ErgoCapture [S]); exactly 10° is acceptable.
pub fn static_asymmetry_verdict(angle_deg: f64) -> Verdict {
    if angle_deg.abs() <= ASYMMETRY_MAX_DEG {
        Verdict::Acceptable
    } else {
        Verdict::NotAcceptable
    }
}

/// The verdict on sideways-bending movements reaching `angle_deg` (either side) at `per_min`
/// movements per minute (EN 1005-4 [C]): up to 10° ("not clearly visible") acceptable; beyond,
/// conditional below 2/min and not acceptable from 2/min. The source's table has "≤ 10°" and
/// "≥ 10°"; exactly 10° is read as acceptable, like the static rule's "> 10°".
pub fn lateral_bend_movement_verdict(angle_deg: f64, per_min: f64) -> Verdict {
    asymmetric_movement_verdict(angle_deg, per_min)
}

/// The verdict on twisting movements (axial rotation) reaching `angle_deg` at `per_min` per minute;
/// the same EN 1005-4 rule as [`lateral_bend_movement_verdict`]. It needs a rotation **angle**: the
/// wearable reports angular velocity, so the caller must integrate it over the twist.
pub fn twist_movement_verdict(angle_deg: f64, per_min: f64) -> Verdict {
    asymmetric_movement_verdict(angle_deg, per_min)
}

/// The verdict on trunk-flexion movements beyond 20° at `per_min` per minute (ErgoCapture [S]; the
/// EN 1005-4 frequencies are [U]): acceptable below 2/min, conditional from 2 to below 10/min, not
/// acceptable from 10/min. Movements up to 20° are acceptable at any rate.
pub fn flexion_movement_verdict(peak_deg: f64, per_min: f64) -> Verdict {
    if peak_deg.is_nan() || per_min.is_nan() {
        return Verdict::NotAcceptable;
    }
    if peak_deg <= NEUTRAL_MAX_DEG || per_min < FLEXION_CONDITIONAL_PER_MIN {
        Verdict::Acceptable
    } else if per_min < FLEXION_NOT_ACCEPTABLE_PER_MIN {
        Verdict::Conditional
    } else {
        Verdict::NotAcceptable
    }
}

fn asymmetric_movement_verdict(angle_deg: f64, per_min: f64) -> Verdict {
    if angle_deg.is_nan() || per_min.is_nan() {
        return Verdict::NotAcceptable;
    }
    if angle_deg.abs() <= ASYMMETRY_MAX_DEG {
        Verdict::Acceptable
    } else if per_min < ASYMMETRIC_NOT_ACCEPTABLE_PER_MIN {
        Verdict::Conditional
    } else {
        Verdict::NotAcceptable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holding_time_line_runs_from_240_s_at_20_degrees_to_60_s_at_60_degrees() {
        assert_eq!(maht_s(-10.0), f64::INFINITY);
        assert_eq!(maht_s(20.0), f64::INFINITY);
        assert_eq!(maht_s(20.0 + 1e-9), 240.0 - 4.5e-9);
        assert_eq!(maht_s(30.0), 195.0);
        assert_eq!(maht_s(45.0), 127.5);
        assert_eq!(maht_s(60.0), 60.0);
        assert_eq!(maht_s(60.1), 0.0);
        assert_eq!(maht_s(f64::NAN), 0.0);
        assert_eq!(MAHT_SLOPE_S_PER_DEG, 4.5);
    }

    #[test]
    fn tc9_static_trunk_postures_get_the_documented_verdicts() {
        use Verdict::{Acceptable, Conditional, NotAcceptable};
        // (label, angle, held s, supported, expected)
        let cases = [
            ("a", 10.0, 600.0, false, Acceptable),
            ("b", 45.0, 90.0, false, Conditional),
            ("c", 45.0, 200.0, false, NotAcceptable),
            ("d", 30.0, 200.0, false, NotAcceptable),
            ("e", 45.0, 200.0, true, Acceptable),
            ("f", 70.0, 5.0, false, NotAcceptable),
            ("g", -10.0, 30.0, false, NotAcceptable),
            ("i", 60.0, 60.0, false, Conditional),
        ];
        for (label, angle, held, supported, expected) in cases {
            assert_eq!(
                flexion_verdict(angle, held, supported),
                expected,
                "TC9 {label}"
            );
        }
        // h: a static lateral bend of 15° (asymmetry > 10°).
        assert_eq!(static_asymmetry_verdict(15.0), NotAcceptable);
    }

    #[test]
    fn backward_inclination_starts_below_zero_and_support_makes_it_acceptable() {
        assert_eq!(flexion_verdict(0.0, 3600.0, false), Verdict::Acceptable);
        assert_eq!(flexion_verdict(-0.5, 30.0, false), Verdict::NotAcceptable);
        assert_eq!(flexion_verdict(-10.0, 30.0, true), Verdict::Acceptable);
    }

    #[test]
    fn over_60_degrees_is_not_acceptable_even_with_support() {
        assert_eq!(flexion_verdict(61.0, 1.0, true), Verdict::NotAcceptable);
    }

    #[test]
    fn holding_exactly_the_maht_is_still_conditional() {
        assert_eq!(flexion_verdict(30.0, 195.0, false), Verdict::Conditional);
        assert_eq!(flexion_verdict(30.0, 195.1, false), Verdict::NotAcceptable);
        assert_eq!(flexion_verdict(20.0, 1e6, false), Verdict::Acceptable);
    }

    #[test]
    fn unknown_angles_or_durations_are_not_acceptable() {
        assert_eq!(flexion_verdict(f64::NAN, 1.0, true), Verdict::NotAcceptable);
        assert_eq!(
            flexion_verdict(30.0, f64::NAN, false),
            Verdict::NotAcceptable
        );
        assert_eq!(
            lateral_bend_movement_verdict(f64::NAN, 1.0),
            Verdict::NotAcceptable
        );
    }

    #[test]
    fn static_asymmetry_of_exactly_10_degrees_is_acceptable_either_side() {
        assert_eq!(static_asymmetry_verdict(10.0), Verdict::Acceptable);
        assert_eq!(static_asymmetry_verdict(-10.0), Verdict::Acceptable);
        assert_eq!(static_asymmetry_verdict(-10.5), Verdict::NotAcceptable);
    }

    #[test]
    fn sideways_bends_and_twists_are_rated_by_size_and_frequency() {
        for verdict in [lateral_bend_movement_verdict, twist_movement_verdict] {
            assert_eq!(verdict(8.0, 30.0), Verdict::Acceptable);
            assert_eq!(verdict(10.0, 30.0), Verdict::Acceptable);
            assert_eq!(verdict(15.0, 1.9), Verdict::Conditional);
            assert_eq!(verdict(-15.0, 2.0), Verdict::NotAcceptable);
            assert_eq!(verdict(15.0, 6.0), Verdict::NotAcceptable);
        }
    }

    #[test]
    fn flexion_movements_beyond_20_degrees_are_rated_by_frequency() {
        assert_eq!(flexion_movement_verdict(15.0, 30.0), Verdict::Acceptable);
        assert_eq!(flexion_movement_verdict(45.0, 1.9), Verdict::Acceptable);
        assert_eq!(flexion_movement_verdict(45.0, 2.0), Verdict::Conditional);
        assert_eq!(flexion_movement_verdict(45.0, 9.9), Verdict::Conditional);
        assert_eq!(flexion_movement_verdict(45.0, 10.0), Verdict::NotAcceptable);
    }
}
