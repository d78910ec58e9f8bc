//! LiFFT, the Lifting Fatigue Failure Tool (Gallagher, Sesek, Schall & Huangfu 2017, *Applied
//! Ergonomics* 63:142–150, doi:10.1016/j.apergo.2017.04.016): peak load moment, damage per cycle,
//! cumulative damage and the probability of a high-risk job, with the authors' workbook v1.4.0
//! constants (risk-models.md §3, TC1–TC6). It owns those numbers; it must never invent a load or a
//! lever arm (callers without them report "needs load input") and never round except in
//! [`Mode::WorkbookParity`].
//!
//! Two closed forms of the same model exist (risk-models.md §3.1):
//! - **Form A**, the authors' Excel workbook v1.4.0 (06/05/2018), exact cell formulas [S], used here:
//!   `M [ft·lb] = lever_in / 12 × load_lb`, `DPC = 10^(−5.81636221052493 + 0.0222878437409416 × M)`,
//!   `P = e^Y / (1 + e^Y)`, `Y = 1.7229 + 1.0239 × log10(CD)`, `P = 0` when `CD = 0`;
//! - **Form B**, the Exo-LiFFT paper's rounded constants (Zelik et al. 2022, *Applied Ergonomics*
//!   99:103619) in [`form_b`], kept only to cross-check Form A.

use serde::{Deserialize, Serialize};

/// Which relation the results come from; store it with every LiFFT result (risk-models.md §8: the
/// damage–risk relation changed in v1.3.0 and v1.4.0).
pub const MODEL_VERSION: &str = "LiFFT workbook v1.4.0 (06/05/2018), Form A";

/// Standard gravity used to turn kg into N. The manuscript does not fix it; fatiguelab uses 9.81
/// (risk-models.md §3.1 and §7).
pub const G: f64 = 9.81;

/// Newton-metres in one foot-pound-force (risk-models.md §7): the workbook's moments are in ft·lb.
pub const NM_PER_FT_LBF: f64 = 1.355_817_948_3;

/// Workbook v1.4.0, `CD_i` cell: the log10 intercept of damage per cycle (risk-models.md §3.1, Form A).
pub const DPC_LOG10_INTERCEPT: f64 = -5.816_362_210_524_93;

/// Workbook v1.4.0, `CD_i` cell: the log10 slope of damage per cycle per ft·lb of peak load moment
/// (risk-models.md §3.1, Form A).
pub const DPC_LOG10_SLOPE_PER_FT_LB: f64 = 0.022_287_843_740_941_6;

/// Workbook v1.4.0, `P(high-risk)` cell: `Y = 1.7229 + 1.0239 × log10(CD)` (risk-models.md §3.1).
pub const RISK_INTERCEPT: f64 = 1.7229;

/// Workbook v1.4.0, `P(high-risk)` cell: the slope of `Y` per decade of cumulative damage.
pub const RISK_SLOPE: f64 = 1.0239;

/// "We advise caution for peak moments greater than 100 Nm" (manuscript, risk-models.md §3.2 [S]):
/// above this a task is outside the range LiFFT was validated for.
pub const CAUTION_PLM_NM: f64 = 100.0;

/// Cumulative damage that best separates high- from low-risk jobs (manuscript sec. 3.3,
/// risk-models.md §3.2 [S]).
pub const CD_CUT_POINT: f64 = 0.03;

/// Upper end (exclusive) of the low band and lower end (inclusive) of the moderate band: "< 25 %"
/// is low (manuscript, risk-models.md §3.2 [S]).
pub const MODERATE_FROM: f64 = 0.25;

/// Upper end (inclusive) of the moderate band: "> 50 %" is high (risk-models.md §3.2 [S]).
pub const HIGH_ABOVE: f64 = 0.50;

/// Tasks the workbook has rows for; [`cumulative_damage`] takes any number.
pub const WORKBOOK_MAX_TASKS: usize = 10;

/// How results are computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Full precision (dockd's results).
    #[default]
    Exact,
    /// The workbook's cells: `ROUND(CD_i, 4)` per task, `ROUND(CD_i / CD, 4) × 100` for shares and
    /// `ROUND(P, 3)`, so numbers match what the authors' tool shows.
    WorkbookParity,
}

/// LiFFT risk band (manuscript colours, risk-models.md §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// P < 25 % (green).
    Low,
    /// 25 % ≤ P ≤ 50 % (yellow).
    Moderate,
    /// P > 50 % (red).
    High,
}

/// Peak load moment, N·m: `load × g × greatest horizontal distance from the hip (L5-S1) to the load`.
pub fn plm_nm(load_kg: f64, lever_arm_m: f64) -> f64 {
    load_kg * G * lever_arm_m
}

/// Peak load moment in the workbook's unit: `lever_in / 12 × load_lb`, ft·lb.
pub fn plm_ft_lb_from_us(load_lb: f64, lever_arm_in: f64) -> f64 {
    lever_arm_in / 12.0 * load_lb
}

/// Damage per cycle at a peak load moment in ft·lb (workbook v1.4.0, Form A, unrounded).
pub fn damage_per_cycle_ft_lb(plm_ft_lb: f64) -> f64 {
    10f64.powf(DPC_LOG10_INTERCEPT + DPC_LOG10_SLOPE_PER_FT_LB * plm_ft_lb)
}

/// Damage per cycle (one lift) at a peak load moment in N·m (Form A, via 1 ft·lbf = 1.3558179483 N·m).
pub fn damage_per_cycle(plm_nm: f64) -> f64 {
    damage_per_cycle_ft_lb(plm_nm / NM_PER_FT_LBF)
}

/// One task's cumulative damage, `reps × DPC`; `ROUND(…, 4)` in [`Mode::WorkbookParity`].
pub fn task_damage(plm_nm: f64, reps: u32, mode: Mode) -> f64 {
    let cd = f64::from(reps) * damage_per_cycle(plm_nm);
    match mode {
        Mode::Exact => cd,
        Mode::WorkbookParity => round_to(cd, 4),
    }
}

/// Cumulative damage of a workday: `Σ reps_i × DPC(PLM_i)` over `(plm_nm, reps)` tasks, unrounded.
pub fn cumulative_damage(tasks: &[(f64, u32)]) -> f64 {
    cumulative_damage_in(tasks, Mode::Exact)
}

/// Cumulative damage in the given mode (the workbook sums per-task values rounded to 4 decimals).
pub fn cumulative_damage_in(tasks: &[(f64, u32)], mode: Mode) -> f64 {
    tasks
        .iter()
        .map(|&(plm, reps)| task_damage(plm, reps, mode))
        .sum()
}

/// A task's share of the total damage, in percent (`ROUND(CD_i / CD, 4) × 100` in the workbook);
/// 0 when the total is 0.
pub fn share_percent(task_cd: f64, total_cd: f64, mode: Mode) -> f64 {
    if total_cd <= 0.0 {
        return 0.0;
    }
    let share = task_cd / total_cd;
    match mode {
        Mode::Exact => share * 100.0,
        Mode::WorkbookParity => round_to(share, 4) * 100.0,
    }
}

/// Probability of a high-risk job (0–1) for a cumulative damage, unrounded: `e^Y / (1 + e^Y)` with
/// `Y = 1.7229 + 1.0239 × log10(CD)`; exactly 0 when `CD ≤ 0` (the workbook's explicit rule: log10 0
/// is undefined).
pub fn probability(cd: f64) -> f64 {
    if cd <= 0.0 {
        return 0.0;
    }
    let y = RISK_INTERCEPT + RISK_SLOPE * cd.log10();
    logistic(y)
}

/// [`probability`], rounded to 3 decimals in [`Mode::WorkbookParity`] (`ROUND(P, 3)`).
pub fn probability_in(cd: f64, mode: Mode) -> f64 {
    let p = probability(cd);
    match mode {
        Mode::Exact => p,
        Mode::WorkbookParity => round_to(p, 3),
    }
}

/// The cumulative damage at which the probability reaches `p` (inverse of [`probability`]);
/// `None` unless `0 < p < 1`.
pub fn cd_for_probability(p: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    let y = (p / (1.0 - p)).ln();
    Some(10f64.powf((y - RISK_INTERCEPT) / RISK_SLOPE))
}

/// How many lifts at `plm_nm` alone reach probability `p` (fractional); `None` unless `0 < p < 1`.
pub fn reps_for_probability(plm_nm: f64, p: f64) -> Option<f64> {
    cd_for_probability(p).map(|cd| cd / damage_per_cycle(plm_nm))
}

/// The peak load moment (N·m) at which one lift is a whole failure cycle (DPC = 1) under Form A.
/// Far outside the validated range; see [`CAUTION_PLM_NM`].
pub fn single_lift_failure_nm() -> f64 {
    -DPC_LOG10_INTERCEPT / DPC_LOG10_SLOPE_PER_FT_LB * NM_PER_FT_LBF
}

/// Whether a task's peak load moment is above the 100 N·m caution level.
pub fn over_caution(plm_nm: f64) -> bool {
    plm_nm > CAUTION_PLM_NM
}

/// The band of a probability. The manuscript gives "< 25 %", "25–50 %" and "> 50 %" and leaves the
/// two end points unassigned (risk-models.md §3.2); the strict inequalities of the outer bands are
/// read literally, so exactly 25 % and exactly 50 % are **moderate**. A workbook-rounded 0.250 is
/// therefore moderate too. NaN is high (never understate an unknown).
pub fn band(probability: f64) -> Band {
    if probability < MODERATE_FROM {
        Band::Low
    } else if probability <= HIGH_ABOVE {
        Band::Moderate
    } else {
        Band::High
    }
}

fn logistic(y: f64) -> f64 {
    // e^Y / (1 + e^Y), written so a large |Y| cannot overflow.
    1.0 / (1.0 + (-y).exp())
}

/// Excel's `ROUND(x, digits)`: half away from zero at `digits` decimals.
fn round_to(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// Form B (Zelik et al. 2022, Exo-LiFFT, constants rounded in print; risk-models.md §3.1 [S]): the
/// same model in N·m. Only for cross-checking Form A; never for results.
pub mod form_b {
    /// Cycles to failure at 0 % of ultimate strength (manuscript Eq. 1). fatiguelab's 1,902,416 is a
    /// transcription error: it reproduces neither published example (risk-models.md §3.1, TC2).
    pub const CYCLES_TO_FAILURE: f64 = 902_416.0;
    /// Slope of ln DPC per N·m.
    pub const SLOPE_PER_NM: f64 = 0.038;
    /// Offset of ln DPC.
    pub const OFFSET: f64 = 0.32;
    /// Rounded risk intercept (Form A: 1.7229).
    pub const RISK_INTERCEPT: f64 = 1.72;
    /// Rounded risk slope (Form A: 1.0239).
    pub const RISK_SLOPE: f64 = 1.03;

    /// `DPC = e^(0.038 × PLM + 0.32) / 902,416`.
    pub fn damage_per_cycle(plm_nm: f64) -> f64 {
        (SLOPE_PER_NM * plm_nm + OFFSET).exp() / CYCLES_TO_FAILURE
    }

    /// `P = e^Y / (1 + e^Y)`, `Y = 1.72 + 1.03 × log10(CD)`; 0 when `CD ≤ 0`.
    pub fn probability(cd: f64) -> f64 {
        if cd <= 0.0 {
            return 0.0;
        }
        let y = RISK_INTERCEPT + RISK_SLOPE * cd.log10();
        1.0 / (1.0 + (-y).exp())
    }

    /// The cumulative damage at which P reaches `p`; `None` unless `0 < p < 1`.
    pub fn cd_for_probability(p: f64) -> Option<f64> {
        if !(p > 0.0 && p < 1.0) {
            return None;
        }
        Some(10f64.powf(((p / (1.0 - p)).ln() - RISK_INTERCEPT) / RISK_SLOPE))
    }

    /// PLM at which one lift has DPC = 1: `(ln 902,416 − 0.32) / 0.038` (TC5: 352.4 N·m).
    pub fn single_lift_failure_nm() -> f64 {
        (CYCLES_TO_FAILURE.ln() - OFFSET) / SLOPE_PER_NM
    }
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

    fn close_rel(actual: f64, expected: f64, relative: f64) {
        assert!(
            ((actual - expected) / expected).abs() <= relative,
            "{actual} is not within {relative} (relative) of {expected}"
        );
    }

    #[test]
    fn tc1_the_manuscript_mono_task_reproduces_with_form_a() {
        let plm = plm_nm(13.0, 0.40);
        close(plm, 51.012, 1e-9);
        close(plm / NM_PER_FT_LBF, 37.62452, 5e-6);
        let dpc = damage_per_cycle(plm);
        close_rel(dpc, 1.05246e-5, 5e-6);
        let cd = cumulative_damage(&[(plm, 400)]);
        close(cd, 0.0042099, 5e-8);
        close(RISK_INTERCEPT + RISK_SLOPE * cd.log10(), -0.70961, 5e-6);
        close(probability(cd), 0.32968, 5e-6);
        // The manuscript's printed (rounded) values.
        close(dpc, 0.000011, 5e-7);
        assert_eq!(band(probability(cd)), Band::Moderate);
    }

    #[test]
    fn tc1_in_workbook_parity_rounds_cd_to_0_0042_and_p_to_0_329() {
        let plm = plm_nm(13.0, 0.40);
        let cd = cumulative_damage_in(&[(plm, 400)], Mode::WorkbookParity);
        assert_eq!(cd, 0.0042);
        assert_eq!(probability_in(cd, Mode::WorkbookParity), 0.329);
    }

    #[test]
    fn tc1_form_b_cross_check_agrees_to_its_rounded_constants() {
        let plm = plm_nm(13.0, 0.40);
        let dpc = form_b::damage_per_cycle(plm);
        close_rel(dpc, 1.06030e-5, 5e-6);
        close(400.0 * dpc, 0.0042412, 5e-8);
        close(form_b::probability(400.0 * dpc), 0.32658, 5e-6);
    }

    #[test]
    fn tc2_the_instructions_page_example_gives_about_40_percent() {
        let m = plm_ft_lb_from_us(30.0, 16.0);
        close(m, 40.0, 1e-12);
        close(m * NM_PER_FT_LBF, 54.2327, 5e-5);
        let dpc = damage_per_cycle_ft_lb(m);
        close_rel(dpc, 1.188917e-5, 5e-7);
        let cd = 760.0 * dpc;
        close(cd, 0.0090358, 5e-8);
        close(probability(cd), 0.40854, 5e-6);
        // Same through N·m.
        close(cumulative_damage(&[(m * NM_PER_FT_LBF, 760)]), cd, 1e-12);
        // Workbook parity.
        let parity = cumulative_damage_in(&[(m * NM_PER_FT_LBF, 760)], Mode::WorkbookParity);
        assert_eq!(parity, 0.0090);
        assert_eq!(probability_in(parity, Mode::WorkbookParity), 0.408);
    }

    #[test]
    fn tc2_form_b_with_902416_reproduces_and_1902416_does_not() {
        let plm = 40.0 * NM_PER_FT_LBF;
        let cd = 760.0 * form_b::damage_per_cycle(plm);
        close(cd, 0.0091074, 5e-8);
        close(form_b::probability(cd), 0.40569, 5e-6);
        let wrong = 760.0 * (form_b::SLOPE_PER_NM * plm + form_b::OFFSET).exp() / 1_902_416.0;
        close(wrong, 0.00432, 5e-6);
        close(form_b::probability(wrong), 0.33, 5e-3);
    }

    #[test]
    fn tc3_three_tasks_give_the_documented_damage_shares_and_risk() {
        let a = plm_nm(10.0, 0.30);
        let b = plm_nm(20.0, 0.50);
        let c = plm_nm(5.0, 0.60);
        close(a, 29.430, 1e-9);
        close(b, 98.100, 1e-9);
        close(c, 29.430, 1e-9);
        close(a / NM_PER_FT_LBF, 21.70645, 5e-6);
        close(b / NM_PER_FT_LBF, 72.35485, 5e-6);
        close_rel(damage_per_cycle(a), 4.649731e-6, 5e-7);
        close_rel(damage_per_cycle(b), 6.255634e-5, 5e-7);
        let cds = [
            task_damage(a, 1000, Mode::Exact),
            task_damage(b, 200, Mode::Exact),
            task_damage(c, 500, Mode::Exact),
        ];
        close(cds[0], 0.0046497, 5e-8);
        close(cds[1], 0.0125113, 5e-8);
        close(cds[2], 0.0023249, 5e-8);
        let cd = cumulative_damage(&[(a, 1000), (b, 200), (c, 500)]);
        close(cd, 0.0194859, 5e-8);
        close(share_percent(cds[0], cd, Mode::Exact), 23.86, 5e-3);
        close(share_percent(cds[1], cd, Mode::Exact), 64.21, 5e-3);
        close(share_percent(cds[2], cd, Mode::Exact), 11.93, 5e-3);
        close(RISK_INTERCEPT + RISK_SLOPE * cd.log10(), -0.02826, 5e-6);
        close(probability(cd), 0.49294, 5e-6);
        assert_eq!(band(probability(cd)), Band::Moderate);
        // Task B is just under the caution level.
        assert!(!over_caution(b));
    }

    #[test]
    fn tc3_in_workbook_parity_sums_rounded_task_damages() {
        let tasks = [
            (plm_nm(10.0, 0.30), 1000),
            (plm_nm(20.0, 0.50), 200),
            (plm_nm(5.0, 0.60), 500),
        ];
        let rounded: Vec<f64> = tasks
            .iter()
            .map(|&(plm, reps)| task_damage(plm, reps, Mode::WorkbookParity))
            .collect();
        assert_eq!(rounded, vec![0.0046, 0.0125, 0.0023]);
        let cd = cumulative_damage_in(&tasks, Mode::WorkbookParity);
        close(cd, 0.0194, 1e-12);
        assert_eq!(probability_in(cd, Mode::WorkbookParity), 0.492);
        close(share_percent(0.0125, cd, Mode::WorkbookParity), 64.43, 1e-9);
    }

    #[test]
    fn tc3_form_b_cross_check() {
        let cd = 1000.0 * form_b::damage_per_cycle(plm_nm(10.0, 0.30))
            + 200.0 * form_b::damage_per_cycle(plm_nm(20.0, 0.50))
            + 500.0 * form_b::damage_per_cycle(plm_nm(5.0, 0.60));
        close(cd, 0.0196969, 5e-8);
        close(form_b::probability(cd), 0.49081, 5e-6);
    }

    #[test]
    fn tc4_band_boundaries_fall_at_the_documented_damages() {
        close_rel(
            cd_for_probability(0.25).unwrap_or(f64::NAN),
            0.0017553,
            5e-5,
        );
        close_rel(
            cd_for_probability(0.50).unwrap_or(f64::NAN),
            0.0207642,
            5e-6,
        );
        close_rel(
            form_b::cd_for_probability(0.25).unwrap_or(f64::NAN),
            0.0018344,
            5e-5,
        );
        close_rel(
            form_b::cd_for_probability(0.50).unwrap_or(f64::NAN),
            0.0213844,
            5e-6,
        );
        assert_eq!(cd_for_probability(0.0), None);
        assert_eq!(cd_for_probability(1.0), None);
    }

    #[test]
    fn tc4_the_cut_point_and_the_probability_curve_match() {
        close(probability(CD_CUT_POINT), 0.54082, 5e-6);
        close(form_b::probability(CD_CUT_POINT), 0.53779, 5e-6);
        close(probability(0.001), 0.20607, 5e-6);
        close(probability(0.01), 0.41948, 5e-6);
        close(probability(0.1), 0.66797, 5e-6);
        close(probability(1.0), 0.84850, 5e-6);
    }

    #[test]
    fn tc4_the_manuscript_task_reaches_one_half_after_1972_9_lifts() {
        let reps = reps_for_probability(plm_nm(13.0, 0.40), 0.5).unwrap_or(f64::NAN);
        close(reps, 1972.9, 0.05);
    }

    #[test]
    fn exactly_25_and_50_percent_are_moderate() {
        assert_eq!(band(0.2499999), Band::Low);
        assert_eq!(band(0.25), Band::Moderate);
        assert_eq!(band(0.50), Band::Moderate);
        assert_eq!(band(0.5000001), Band::High);
        assert_eq!(band(f64::NAN), Band::High);
        // Just either side of the TC4 boundaries.
        assert_eq!(band(probability(0.0017)), Band::Low);
        assert_eq!(band(probability(0.0018)), Band::Moderate);
        assert_eq!(band(probability(0.0207)), Band::Moderate);
        assert_eq!(band(probability(0.0208)), Band::High);
    }

    #[test]
    fn tc5_no_lifts_means_zero_damage_and_zero_probability() {
        assert_eq!(cumulative_damage(&[]), 0.0);
        assert_eq!(cumulative_damage(&[(98.1, 0)]), 0.0);
        assert_eq!(probability(0.0), 0.0);
        assert_eq!(probability_in(0.0, Mode::WorkbookParity), 0.0);
        assert_eq!(band(probability(0.0)), Band::Low);
    }

    #[test]
    fn tc5_one_lift_fails_a_motion_segment_at_352_4_nm_under_form_b() {
        let plm = form_b::single_lift_failure_nm();
        close(plm, 352.4, 0.05);
        close(form_b::damage_per_cycle(plm), 1.0, 1e-12);
        // Form A's own failure moment is close (same model, unrounded constants).
        let a = single_lift_failure_nm();
        close(damage_per_cycle(a), 1.0, 1e-12);
        close(a, 352.4, 2.0);
        assert!(over_caution(a));
    }

    #[test]
    fn tc5_tasks_over_100_nm_are_flagged() {
        assert!(!over_caution(100.0));
        assert!(over_caution(100.01));
        assert!(over_caution(plm_nm(25.0, 0.45)));
        assert!(!over_caution(plm_nm(20.0, 0.50)));
    }

    #[test]
    fn tc6_a_30_nm_exoskeleton_assist_cuts_damage_by_about_68_percent() {
        let ratio = form_b::damage_per_cycle(70.0) / form_b::damage_per_cycle(100.0);
        close(ratio, 0.31982, 5e-6);
        close((1.0 - ratio) * 100.0, 68.0, 0.05);
        // Form A's slope per N·m is 0.0378514 (≈ 0.038): the same reduction to within a percent.
        close(
            DPC_LOG10_SLOPE_PER_FT_LB * std::f64::consts::LN_10 / NM_PER_FT_LBF,
            0.0378514,
            5e-8,
        );
        let ratio_a = damage_per_cycle(70.0) / damage_per_cycle(100.0);
        close(ratio_a, ratio, 0.01);
    }

    #[test]
    fn forms_a_and_b_share_the_intercept_to_four_digits() {
        close_rel(
            10f64.powf(DPC_LOG10_INTERCEPT),
            form_b::OFFSET.exp() / form_b::CYCLES_TO_FAILURE,
            2e-4,
        );
        close_rel(10f64.powf(DPC_LOG10_INTERCEPT), 1.52629e-6, 5e-6);
    }

    #[test]
    fn probability_never_overflows_for_huge_damage() {
        let p = probability(1e300);
        assert!(p > 0.99 && p <= 1.0);
        assert!(probability(1e-300) >= 0.0);
    }
}
