//! A chart's value axis: its range and round ticks (1, 2 or 5 × 10ⁿ, or words), their labels,
//! and where a value sits on the plot. It must never answer an empty or inverted range, nor a
//! label reading `-0`.

use super::frame::{BASE, PLOT_H};

/// How an axis finds its range and labels its ticks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scale {
    /// A fixed range with ticks every `step` (e.g. 0–100 %).
    Fixed { min: f64, max: f64, step: f64 },
    /// A round range around the values drawn, at least `min_span` tall (so a steady reading is
    /// not drawn as wild noise; `0` for no such floor); from zero if `from_zero` and nothing is
    /// below it.
    Auto { from_zero: bool, min_span: f64 },
    /// A fixed range whose ticks are words (e.g. fix modes).
    Words {
        min: f64,
        max: f64,
        ticks: &'static [(f64, &'static str)],
    },
}

/// An axis's range and ticks (value, label).
#[derive(Debug)]
pub(super) struct Ticks {
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) ticks: Vec<(f64, String)>,
}

impl Ticks {
    /// The axis for values from `low` to `high` (`None`: nothing drawn on it).
    pub(super) fn for_scale(scale: Scale, low: Option<f64>, high: Option<f64>) -> Ticks {
        match scale {
            Scale::Fixed { min, max, step } => {
                let step = if step > 0.0 { step } else { max - min };
                Ticks::stepped(min, max, step)
            }
            Scale::Words { min, max, ticks } => Ticks {
                min,
                max,
                ticks: ticks.iter().map(|(v, w)| (*v, (*w).to_owned())).collect(),
            },
            Scale::Auto {
                from_zero,
                min_span,
            } => {
                let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
                let (mut low, mut high) = (finite(low).unwrap_or(0.0), finite(high).unwrap_or(0.0));
                if from_zero {
                    low = low.min(0.0);
                }
                // A flat line (or none) still gets a range: a unit tall unless told otherwise.
                let floor = if min_span.is_finite() && min_span > 1e-9 {
                    min_span
                } else if high - low > 1e-9 {
                    0.0
                } else {
                    1.0
                };
                if high - low < floor {
                    let middle = (high + low) / 2.0;
                    low = middle - floor / 2.0;
                    high = middle + floor / 2.0;
                    if from_zero && low < 0.0 && middle >= 0.0 {
                        (low, high) = (0.0, high - low);
                    }
                }
                let step = nice_step((high - low) / 4.0);
                // The epsilon keeps a value a rounding error past a tick from adding a step.
                let min = (low / step + 1e-9).floor() * step;
                let mut max = (high / step - 1e-9).ceil() * step;
                if max - min < step {
                    max = min + step;
                }
                Ticks::stepped(min, max, step)
            }
        }
    }

    fn stepped(min: f64, max: f64, step: f64) -> Ticks {
        let count = ((max - min) / step).round().max(1.0) as usize;
        let decimals = decimals(step);
        let ticks = (0..=count)
            .map(|i| {
                let v = min + step * i as f64;
                (v, format_tick(v, decimals))
            })
            .collect();
        Ticks { min, max, ticks }
    }

    /// The height of `value` on the plot (clamped to the axis's range).
    pub(super) fn y(&self, value: f64) -> f64 {
        let span = (self.max - self.min).max(1e-9);
        BASE - ((value.clamp(self.min, self.max) - self.min) / span) * PLOT_H
    }
}

/// 1, 2 or 5 × 10ⁿ, at least `rough`.
fn nice_step(rough: f64) -> f64 {
    let rough = if rough.is_finite() && rough > 0.0 {
        rough
    } else {
        1.0
    };
    let magnitude = 10f64.powf(rough.log10().floor());
    match rough / magnitude {
        f if f <= 1.0 => magnitude,
        f if f <= 2.0 => 2.0 * magnitude,
        f if f <= 5.0 => 5.0 * magnitude,
        _ => 10.0 * magnitude,
    }
}

fn decimals(step: f64) -> usize {
    if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()).clamp(0.0, 3.0) as usize
    }
}

fn format_tick(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    // "-0" reads oddly on an axis.
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::frame::TOP;

    fn from_zero(high: f64) -> Ticks {
        Ticks::for_scale(
            Scale::Auto {
                from_zero: true,
                min_span: 0.0,
            },
            Some(0.0),
            Some(high),
        )
    }

    fn labels(ticks: &Ticks) -> Vec<&str> {
        ticks.ticks.iter().map(|(_, l)| l.as_str()).collect()
    }

    #[test]
    fn counts_from_zero_use_round_steps_up_to_the_largest() {
        assert_eq!(labels(&from_zero(9.0)), ["0", "5", "10"]);
        assert_eq!(labels(&from_zero(11.5)), ["0", "5", "10", "15"]);
        assert_eq!(labels(&from_zero(41.0)), ["0", "20", "40", "60"]);
        assert_eq!(
            labels(&from_zero(0.35)),
            ["0.0", "0.1", "0.2", "0.3", "0.4"]
        );
        // Nothing, or nothing above zero, still gets an axis from 0 to 1.
        assert_eq!(labels(&from_zero(0.0)), ["0.0", "0.5", "1.0"]);
        let none = Ticks::for_scale(
            Scale::Auto {
                from_zero: true,
                min_span: 0.0,
            },
            None,
            None,
        );
        assert_eq!(labels(&none), ["0.0", "0.5", "1.0"]);
    }

    #[test]
    fn tick_labels_are_rounded_to_the_step_and_never_minus_zero() {
        assert_eq!(format_tick(0.300_000_000_000_000_04, 1), "0.3");
        assert_eq!(format_tick(-0.0, 0), "0");
        assert_eq!(format_tick(-0.04, 1), "0.0");
        assert_eq!(format_tick(-5.0, 0), "-5");
        assert_eq!(decimals(0.1), 1);
        assert_eq!(decimals(0.25), 1);
        assert_eq!(decimals(20.0), 0);
        assert_eq!(nice_step(2.25), 5.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
    }

    #[test]
    fn automatic_scales_use_round_steps_around_the_values() {
        let auto = |from_zero, min_span| Scale::Auto {
            from_zero,
            min_span,
        };
        let ticks = Ticks::for_scale(auto(false, 1.0), Some(31.2), Some(48.0));
        assert_eq!((ticks.min, ticks.max), (30.0, 50.0));
        let ticks = Ticks::for_scale(auto(true, 1.0), Some(4.0), Some(11.0));
        assert_eq!((ticks.min, ticks.max), (0.0, 15.0));
        let ticks = Ticks::for_scale(auto(false, 1.0), Some(-3.0), Some(-3.0));
        assert!(ticks.max > ticks.min);
        // A steady temperature is drawn on a range at least `min_span` tall.
        let ticks = Ticks::for_scale(auto(false, 5.0), Some(30.8), Some(30.9));
        assert!(
            ticks.max - ticks.min >= 5.0,
            "{} to {}",
            ticks.min,
            ticks.max
        );
        assert!(ticks.min <= 30.8 && ticks.max >= 30.9);
    }

    #[test]
    fn fixed_and_word_scales_keep_their_range() {
        let fixed = Ticks::for_scale(
            Scale::Fixed {
                min: 0.0,
                max: 100.0,
                step: 25.0,
            },
            Some(3.0),
            Some(7.0),
        );
        assert_eq!(labels(&fixed), ["0", "25", "50", "75", "100"]);
        let words = Ticks::for_scale(
            Scale::Words {
                min: 1.0,
                max: 3.0,
                ticks: &[(1.0, "no fix"), (3.0, "3D")],
            },
            None,
            None,
        );
        assert_eq!(labels(&words), ["no fix", "3D"]);
        assert_eq!(words.y(1.0), BASE);
        assert_eq!(words.y(3.0), TOP);
        assert_eq!(words.y(9.0), TOP, "clamped to the plot");
    }
}
