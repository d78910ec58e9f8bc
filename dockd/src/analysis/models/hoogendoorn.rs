//! Hoogendoorn et al. 2000 exposure thresholds (risk-models.md §2, TC10): Hoogendoorn et al. (2000),
//! "Flexion and rotation of the trunk and lifting at work are risk factors for low back pain",
//! *Spine* 25(23), read in the excerpt risk-models.md §2 cites (healthdocbox.com);
//! 3-year prospective cohort of 861 workers [C]. It owns the thresholds and relative risks; it must
//! never measure the fractions itself (that is `exposure`), and never report the relative risks as
//! a worker's own risk (they compare groups; their 95 % CIs are [U]).

/// Trunk flexion at or above this angle counts towards the flexion fraction, degrees [C].
pub const FLEXION_DEG: f64 = 60.0;
/// Flexion ≥ 60° for more than this fraction of working time is the exposed group [C].
pub const FLEXION_FRACTION: f64 = 0.05;
/// Relative risk of low back pain in that group [C].
pub const FLEXION_RR: f64 = 1.5;
/// Trunk rotation at or above this angle counts towards the rotation fraction, degrees [C].
pub const ROTATION_DEG: f64 = 30.0;
/// Rotation ≥ 30° for more than this fraction of working time is the exposed group [C].
pub const ROTATION_FRACTION: f64 = 0.10;
/// Relative risk of low back pain in that group [C].
pub const ROTATION_RR: f64 = 1.3;
/// A heavy lift: a load of at least this many kg [C].
pub const HEAVY_LOAD_KG: f64 = 25.0;
/// More than this many heavy lifts per working day is the exposed group [C].
pub const HEAVY_LIFTS_PER_DAY: u32 = 15;
/// Relative risk of low back pain in that group [C].
pub const HEAVY_LIFT_RR: f64 = 1.6;

/// Whether flexion ≥ 60° for this fraction of working time crosses the > 5 % threshold (RR 1.5).
pub fn flexion_flag(fraction_at_or_above_60: f64) -> bool {
    fraction_at_or_above_60 > FLEXION_FRACTION
}

/// Whether rotation ≥ 30° for this fraction of working time crosses the > 10 % threshold (RR 1.3).
/// It needs a rotation **angle**; the wearable reports angular velocity, so the caller integrates.
pub fn rotation_flag(fraction_at_or_above_30: f64) -> bool {
    fraction_at_or_above_30 > ROTATION_FRACTION
}

/// Whether this many lifts of ≥ 25 kg in a working day cross the > 15 threshold (RR 1.6).
pub fn heavy_lift_flag(lifts_25kg_or_more: u32) -> bool {
    lifts_25kg_or_more > HEAVY_LIFTS_PER_DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tc10_30_minutes_of_deep_flexion_in_8_hours_flags_and_45_minutes_of_rotation_does_not() {
        let shift_min = 480.0;
        let flexion = 30.0 / shift_min;
        assert_eq!(flexion, 0.0625);
        assert!(flexion_flag(flexion));
        let rotation = 45.0 / shift_min;
        assert_eq!(rotation, 0.09375);
        assert!(!rotation_flag(rotation));
    }

    #[test]
    fn the_thresholds_themselves_do_not_flag() {
        assert!(!flexion_flag(0.05));
        assert!(!rotation_flag(0.10));
        assert!(!heavy_lift_flag(15));
        assert!(heavy_lift_flag(16));
        assert!(rotation_flag(0.1001));
    }
}
