//! Vendor-style hazard events with Soter Analytics' published SoterCoach thresholds (risk-models.md
//! §5, TC11) — **for comparison only, not a standard**: a supervisor can see how dockd's counts
//! relate to what a commercial coach would have beeped at. It owns those thresholds; it must never
//! feed a risk level or a verdict (those come from the published models), and never be presented as
//! validated.
//!
//! Thresholds from the SoterCoach help centre, "Hazards Measured by SoterCoach" and "5 Coaching
//! Hazardous Movements" (soteranalyticshelp.zendesk.com, articles 26641243571090 and
//! 26906414054162) [C]. The vendor's older page ("the science behind SoterCoach") gives other numbers
//! (85°, 45° twist with bending, ≥ 20 s): the vendor's thresholds differ between pages. SoterCoach is
//! worn on the upper back or arm, not the waist, so the same angles do not mean the same posture.
//! "Intense bending" (fast or jerky movement) has no published number and is not classified.

use serde::{Deserialize, Serialize};

/// Which threshold set these events follow.
pub const RULES_VERSION: &str = "SoterCoach help centre thresholds (zendesk), comparison only";

/// Poor bending: forward bend beyond this, degrees.
pub const POOR_BEND_DEG: f64 = 90.0;
/// Back twisting: twist beyond this, degrees …
pub const TWIST_DEG: f64 = 30.0;
/// … combined with a forward bend beyond this, degrees.
pub const TWIST_WITH_BEND_DEG: f64 = 50.0;
/// Awkward static posture: bend beyond this, degrees …
pub const STATIC_BEND_DEG: f64 = 60.0;
/// … held longer than this, s.
pub const STATIC_HELD_S: f64 = 20.0;
/// Repetition: two or more hazardous movements within this span, ms (1 minute, inclusive).
pub const REPETITION_WINDOW_MS: i64 = 60_000;

/// A vendor-style event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VendorEvent {
    /// Bend > 90° (a hazardous movement).
    PoorBending,
    /// Twist > 30° with bend > 50° (a hazardous movement).
    BackTwisting,
    /// Bend > 60° held > 20 s (dashboard only).
    AwkwardStaticPosture,
    /// Two or more hazardous movements within 1 minute (dashboard only).
    Repetition,
}

impl VendorEvent {
    /// Whether the event is a hazardous movement (beeped at, and counted for repetition).
    pub fn is_hazardous_movement(self) -> bool {
        matches!(self, Self::PoorBending | Self::BackTwisting)
    }
}

/// The events one movement or posture raises: its peak forward bend, its peak twist angle (either
/// side; an angle, not the wearable's angular velocity) and how long the bend was held (0 for a
/// movement). Several can apply at once; the order is that of [`VendorEvent`].
pub fn classify(bend_deg: f64, twist_deg: f64, held_s: f64) -> Vec<VendorEvent> {
    let mut events = Vec::new();
    if bend_deg > POOR_BEND_DEG {
        events.push(VendorEvent::PoorBending);
    }
    if twist_deg.abs() > TWIST_DEG && bend_deg > TWIST_WITH_BEND_DEG {
        events.push(VendorEvent::BackTwisting);
    }
    if bend_deg > STATIC_BEND_DEG && held_s > STATIC_HELD_S {
        events.push(VendorEvent::AwkwardStaticPosture);
    }
    events
}

/// Repetition events in a list of hazardous-movement times (ms, any order): one for every
/// hazardous movement that comes within 1 minute (inclusive) of the one before it. The vendor does
/// not say how overlapping minutes are counted; this is dockd's reading.
pub fn repetitions(hazardous_ms: &[i64]) -> u32 {
    let mut times = hazardous_ms.to_vec();
    times.sort_unstable();
    let count = times
        .windows(2)
        .filter(|pair| pair[1] - pair[0] <= REPETITION_WINDOW_MS)
        .count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tc11_a_95_degree_bend_is_poor_bending() {
        assert_eq!(classify(95.0, 0.0, 0.0), vec![VendorEvent::PoorBending]);
        assert_eq!(classify(90.0, 0.0, 0.0), vec![]);
    }

    #[test]
    fn tc11_a_55_degree_bend_with_a_35_degree_twist_is_back_twisting() {
        assert_eq!(classify(55.0, 35.0, 0.0), vec![VendorEvent::BackTwisting]);
        assert_eq!(classify(55.0, -35.0, 0.0), vec![VendorEvent::BackTwisting]);
    }

    #[test]
    fn tc11_a_45_degree_bend_with_a_35_degree_twist_is_nothing() {
        assert_eq!(classify(45.0, 35.0, 0.0), vec![]);
        assert_eq!(classify(50.0, 35.0, 0.0), vec![]);
    }

    #[test]
    fn tc11_a_65_degree_bend_held_25_s_is_an_awkward_static_posture() {
        assert_eq!(
            classify(65.0, 0.0, 25.0),
            vec![VendorEvent::AwkwardStaticPosture]
        );
        assert_eq!(classify(65.0, 0.0, 20.0), vec![]);
        assert!(!VendorEvent::AwkwardStaticPosture.is_hazardous_movement());
    }

    #[test]
    fn tc11_two_hazardous_events_40_s_apart_are_a_repetition() {
        assert_eq!(repetitions(&[100_000, 140_000]), 1);
        assert_eq!(repetitions(&[140_000, 100_000]), 1);
        assert_eq!(repetitions(&[100_000, 160_000]), 1);
        assert_eq!(repetitions(&[100_000, 160_001]), 0);
        assert_eq!(repetitions(&[0, 30_000, 60_000]), 2);
        assert_eq!(repetitions(&[5]), 0);
    }

    #[test]
    fn one_posture_can_raise_several_events() {
        assert_eq!(
            classify(95.0, 40.0, 30.0),
            vec![
                VendorEvent::PoorBending,
                VendorEvent::BackTwisting,
                VendorEvent::AwkwardStaticPosture
            ]
        );
    }
}
