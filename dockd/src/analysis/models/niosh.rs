//! The revised NIOSH lifting equation (Waters, Putz-Anderson & Garg, *Applications Manual for the
//! Revised NIOSH Lifting Equation*, DHHS (NIOSH) Pub. 94-110, revised 9/2021,
//! doi:10.26616/NIOSHPUB94110revised092021; risk-models.md §4, TC7–TC8), metric form. It owns the
//! multipliers and their limits; it must never look up the frequency (FM) or coupling (CM)
//! multiplier itself (those tables are not transcribed: the site reads them from NIOSH 94-110 and
//! configures them), and never divide where the manual multiplies (§4's pitfall).

use serde::{Deserialize, Serialize};

/// Load constant, kg (51 lb) [C].
pub const LC_KG: f64 = 23.0;
/// HM = 25/H, 1 at or below 25 cm [C].
pub const H_MIN_CM: f64 = 25.0;
/// HM = 0 above 63 cm [S].
pub const H_MAX_CM: f64 = 63.0;
/// VM = 1 − 0.003 × |V − 75| [C]: the optimal knuckle height, cm.
pub const V_OPTIMUM_CM: f64 = 75.0;
/// VM's slope per cm away from 75 cm [C].
pub const VM_SLOPE_PER_CM: f64 = 0.003;
/// VM = 0 above 175 cm [S].
pub const V_MAX_CM: f64 = 175.0;
/// DM = 0.82 + 4.5/D, 1 at or below 25 cm [C].
pub const D_MIN_CM: f64 = 25.0;
/// DM = 0 above 175 cm [S].
pub const D_MAX_CM: f64 = 175.0;
/// AM = 1 − 0.0032 × A [S].
pub const AM_SLOPE_PER_DEG: f64 = 0.0032;
/// AM = 0 above 135° [S].
pub const A_MAX_DEG: f64 = 135.0;
/// LI above 1: increased risk for some workers (risk-models.md §4 [C for that summary]).
pub const LI_INCREASED_RISK: f64 = 1.0;
/// LI at or above 3: "highly hazardous" in common summaries (risk-models.md §4 [C for that summary]).
pub const LI_HIGHLY_HAZARDOUS: f64 = 3.0;

/// A task's lifting geometry as measured on site (metric units), with the frequency and coupling
/// multipliers read from the NIOSH 94-110 tables.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NioshGeometry {
    /// Horizontal distance of the hands from the midpoint between the ankles, cm.
    pub h_cm: f64,
    /// Vertical height of the hands above the floor at the origin, cm.
    pub v_cm: f64,
    /// Vertical travel distance between origin and destination (absolute), cm.
    pub d_cm: f64,
    /// Asymmetry angle, degrees (its magnitude is used).
    pub a_deg: f64,
    /// Frequency multiplier from NIOSH 94-110 Table 5, 0–1.
    pub fm: f64,
    /// Coupling multiplier from NIOSH 94-110 Table 7, 0–1.
    pub cm: f64,
}

/// Why a configured geometry cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NioshError {
    #[error("`{0}` must be a finite number")]
    NotFinite(&'static str),
    #[error("`{0}` must not be negative")]
    Negative(&'static str),
    #[error("`{0}` is a multiplier from the NIOSH tables and must be between 0 and 1")]
    MultiplierRange(&'static str),
}

impl NioshGeometry {
    /// Checks that every field is usable: finite, distances ≥ 0, FM and CM in 0–1. Values beyond the
    /// equation's limits (H > 63 cm, …) are valid input: they give RWL 0.
    pub fn validate(&self) -> Result<(), NioshError> {
        let fields = [
            ("h_cm", self.h_cm),
            ("v_cm", self.v_cm),
            ("d_cm", self.d_cm),
            ("a_deg", self.a_deg),
            ("fm", self.fm),
            ("cm", self.cm),
        ];
        for (name, value) in fields {
            if !value.is_finite() {
                return Err(NioshError::NotFinite(name));
            }
        }
        for (name, value) in [
            ("h_cm", self.h_cm),
            ("v_cm", self.v_cm),
            ("d_cm", self.d_cm),
        ] {
            if value < 0.0 {
                return Err(NioshError::Negative(name));
            }
        }
        for (name, value) in [("fm", self.fm), ("cm", self.cm)] {
            if !(0.0..=1.0).contains(&value) {
                return Err(NioshError::MultiplierRange(name));
            }
        }
        Ok(())
    }
}

/// Horizontal multiplier: 25/H; 1 at H ≤ 25 cm; 0 above 63 cm.
pub fn hm(h_cm: f64) -> f64 {
    if h_cm > H_MAX_CM {
        0.0
    } else if h_cm <= H_MIN_CM {
        1.0
    } else {
        H_MIN_CM / h_cm
    }
}

/// Vertical multiplier: `1 − 0.003 × |V − 75|` — a product, never `0.003 / |V − 75|` (the
/// implementation error risk-models.md §4 warns about); 0 above 175 cm or below the floor.
pub fn vm(v_cm: f64) -> f64 {
    if !(0.0..=V_MAX_CM).contains(&v_cm) {
        return 0.0;
    }
    1.0 - VM_SLOPE_PER_CM * (v_cm - V_OPTIMUM_CM).abs()
}

/// Distance multiplier: `0.82 + 4.5/D`; 1 at D ≤ 25 cm; 0 above 175 cm.
pub fn dm(d_cm: f64) -> f64 {
    if d_cm > D_MAX_CM {
        0.0
    } else if d_cm <= D_MIN_CM {
        1.0
    } else {
        0.82 + 4.5 / d_cm
    }
}

/// Asymmetric multiplier: `1 − 0.0032 × |A|`; 0 above 135°.
pub fn am(a_deg: f64) -> f64 {
    let a = a_deg.abs();
    if a > A_MAX_DEG {
        0.0
    } else {
        1.0 - AM_SLOPE_PER_DEG * a
    }
}

/// Recommended weight limit, kg: `LC × HM × VM × DM × AM × FM × CM`. 0 when any factor is outside
/// its limit (no load is recommended); 0 also for a geometry that fails
/// [`NioshGeometry::validate`] (NaN never leaks out).
pub fn rwl_kg(geometry: &NioshGeometry) -> f64 {
    if geometry.validate().is_err() {
        return 0.0;
    }
    LC_KG
        * hm(geometry.h_cm)
        * vm(geometry.v_cm)
        * dm(geometry.d_cm)
        * am(geometry.a_deg)
        * geometry.fm
        * geometry.cm
}

/// Lifting index, `load / RWL`. `None` when the RWL is not positive (the geometry is outside the
/// equation's limits: report that instead of an infinite index) or the load is not a finite
/// number ≥ 0.
pub fn lifting_index(load_kg: f64, rwl_kg: f64) -> Option<f64> {
    let usable = rwl_kg > 0.0 && rwl_kg.is_finite() && load_kg >= 0.0 && load_kg.is_finite();
    if !usable {
        return None;
    }
    Some(load_kg / rwl_kg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{actual} is not within {tolerance} of {expected}"
        );
    }

    fn geometry(h_cm: f64, v_cm: f64, d_cm: f64, a_deg: f64, fm: f64, cm: f64) -> NioshGeometry {
        NioshGeometry {
            h_cm,
            v_cm,
            d_cm,
            a_deg,
            fm,
            cm,
        }
    }

    #[test]
    fn tc7_an_ideal_lift_has_a_recommended_weight_limit_of_23_kg() {
        let g = geometry(25.0, 75.0, 25.0, 0.0, 1.0, 1.0);
        assert_eq!(
            (hm(25.0), vm(75.0), dm(25.0), am(0.0)),
            (1.0, 1.0, 1.0, 1.0)
        );
        close(rwl_kg(&g), 23.000, 5e-4);
        close(
            lifting_index(23.0, rwl_kg(&g)).unwrap_or(f64::NAN),
            1.0,
            1e-12,
        );
    }

    #[test]
    fn tc8_given_fm_and_cm_the_rwl_is_7_43458_kg_and_15_kg_is_li_2_0176() {
        let g = geometry(40.0, 30.0, 100.0, 45.0, 0.85, 0.95);
        close(hm(40.0), 0.625, 1e-12);
        close(vm(30.0), 0.865, 1e-12);
        close(dm(100.0), 0.865, 1e-12);
        close(am(45.0), 0.856, 1e-12);
        let rwl = rwl_kg(&g);
        close(rwl, 7.43458, 5e-6);
        close(lifting_index(15.0, rwl).unwrap_or(f64::NAN), 2.0176, 5e-5);
    }

    #[test]
    fn the_vertical_multiplier_multiplies_the_distance_from_75_cm_and_never_divides() {
        // Division would give −∞ at 75 cm and 0.997 only at 76 cm.
        assert_eq!(vm(75.0), 1.0);
        close(vm(76.0), 0.997, 1e-12);
        close(vm(74.0), 0.997, 1e-12);
        close(vm(0.0), 0.775, 1e-12);
        close(vm(175.0), 0.7, 1e-12);
        assert_eq!(vm(175.1), 0.0);
        assert_eq!(vm(-1.0), 0.0);
    }

    #[test]
    fn multipliers_drop_to_zero_outside_their_limits() {
        close(hm(63.0), 25.0 / 63.0, 1e-12);
        assert_eq!(hm(63.1), 0.0);
        assert_eq!(hm(10.0), 1.0);
        close(dm(175.0), 0.82 + 4.5 / 175.0, 1e-12);
        assert_eq!(dm(175.1), 0.0);
        assert_eq!(dm(5.0), 1.0);
        close(am(135.0), 1.0 - 0.0032 * 135.0, 1e-12);
        assert_eq!(am(135.1), 0.0);
        close(am(-45.0), am(45.0), 1e-12);
        assert_eq!(rwl_kg(&geometry(70.0, 75.0, 25.0, 0.0, 1.0, 1.0)), 0.0);
    }

    #[test]
    fn no_lifting_index_without_a_positive_rwl_or_a_valid_load() {
        assert_eq!(lifting_index(10.0, 0.0), None);
        assert_eq!(lifting_index(10.0, f64::NAN), None);
        assert_eq!(lifting_index(-1.0, 10.0), None);
        assert_eq!(lifting_index(f64::INFINITY, 10.0), None);
        assert_eq!(lifting_index(0.0, 10.0), Some(0.0));
    }

    #[test]
    fn an_invalid_geometry_is_rejected_and_gives_no_limit() {
        let nan = geometry(f64::NAN, 75.0, 25.0, 0.0, 1.0, 1.0);
        assert_eq!(nan.validate(), Err(NioshError::NotFinite("h_cm")));
        assert_eq!(rwl_kg(&nan), 0.0);
        let fm = geometry(25.0, 75.0, 25.0, 0.0, 1.2, 1.0);
        assert_eq!(fm.validate(), Err(NioshError::MultiplierRange("fm")));
        let neg = geometry(25.0, 75.0, -3.0, 0.0, 1.0, 1.0);
        assert_eq!(neg.validate(), Err(NioshError::Negative("d_cm")));
        assert!(geometry(80.0, 75.0, 25.0, 0.0, 1.0, 1.0).validate().is_ok());
    }

    #[test]
    fn the_geometry_reads_from_toml_and_rejects_unknown_fields() {
        let g: NioshGeometry =
            toml::from_str("h_cm = 40\nv_cm = 30\nd_cm = 100\na_deg = 45\nfm = 0.85\ncm = 0.95")
                .unwrap();
        assert_eq!(g, geometry(40.0, 30.0, 100.0, 45.0, 0.85, 0.95));
        let bad: Result<NioshGeometry, _> = toml::from_str(
            "h_cm = 40\nv_cm = 30\nd_cm = 100\na_deg = 45\nfm = 0.85\ncm = 0.95\nlc = 23",
        );
        assert!(bad.is_err());
    }
}
