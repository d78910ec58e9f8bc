//! The analysis's self-test (`dockd selftest`, the console's `selftest`, and the health check a
//! new release must pass): a few built-in reference shifts — emulated wearables from fixed seeds,
//! the same bytes in every build — run through the daemon's own analysis (the offline path of
//! `dockd analyze`) with the built-in settings, and their counts compared with the ones committed
//! in `selftest/reference.json`. A detector that counts differently fails it before it judges a
//! single worker. It owns the reference shifts and the comparison; it must never read or write the
//! database, nor use a site's settings (a site's thresholds are not a regression).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::{self, Settings};
use crate::emulator::{ShiftSpec, Wearable, WearableSpec};

/// One reference shift: an emulated wearable's seed and the shift it records.
struct Reference {
    name: &'static str,
    seed: u64,
    /// Minutes of wear from 2026-03-02 07:00 UTC (a Monday).
    minutes: u64,
}

/// The reference shifts: short enough to run in well under a second, long enough that every
/// detector counts something.
const REFERENCES: [Reference; 3] = [
    Reference {
        name: "warehouse-a",
        seed: 20_260_302,
        minutes: 40,
    },
    Reference {
        name: "warehouse-b",
        seed: 7_071_707,
        minutes: 40,
    },
    Reference {
        name: "assembly",
        seed: 424_242,
        minutes: 30,
    },
];

/// 2026-03-02 07:00 UTC.
const START_WALL_MS: i64 = 1_772_434_800_000;

/// What one reference shift must count, as committed.
pub type Expected = BTreeMap<String, u64>;

/// The committed counts, by reference shift.
const REFERENCE_JSON: &str = include_str!("selftest/reference.json");

/// One reference shift's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub name: String,
    pub ok: bool,
    /// The counts found.
    pub found: Expected,
    /// What differs, as `name expected → found` (empty when ok).
    pub differences: Vec<String>,
}

/// Why the self-test could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum SelftestError {
    #[error("the committed reference counts cannot be read: {0}")]
    Reference(String),
    #[error("a reference shift cannot be analysed: {0}")]
    Analysis(String),
}

/// Runs every reference shift through the analysis with `settings` (the built-in
/// `Settings::default()` for the real check; tests plant a change through them).
pub fn run_with(settings: &Settings) -> Result<Vec<Outcome>, SelftestError> {
    let committed: BTreeMap<String, Expected> = serde_json::from_str(REFERENCE_JSON)
        .map_err(|e| SelftestError::Reference(e.to_string()))?;
    REFERENCES
        .iter()
        .map(|reference| {
            let found = counts(reference, settings)?;
            let expected = committed.get(reference.name).ok_or_else(|| {
                SelftestError::Reference(format!("no counts for {}", reference.name))
            })?;
            let differences: Vec<String> = expected
                .keys()
                .chain(found.keys())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter_map(|key| {
                    let (want, got) = (expected.get(key), found.get(key));
                    (want != got).then(|| {
                        let shown = |v: Option<&u64>| v.map_or("none".to_owned(), u64::to_string);
                        format!("{key} {} → {}", shown(want), shown(got))
                    })
                })
                .collect();
            Ok(Outcome {
                name: reference.name.to_owned(),
                ok: differences.is_empty(),
                found,
                differences,
            })
        })
        .collect()
}

/// The real check: the built-in settings.
pub fn run() -> Result<Vec<Outcome>, SelftestError> {
    run_with(&Settings::default())
}

/// One line for the console and `dockd selftest`: what passed or what differs.
pub fn summary(outcomes: &[Outcome]) -> (bool, String) {
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.ok)
        .map(|o| format!("{}: {}", o.name, o.differences.join(", ")))
        .collect();
    if failed.is_empty() {
        (
            true,
            format!(
                "{} reference shifts reproduce their committed counts",
                outcomes.len()
            ),
        )
    } else {
        (
            false,
            format!(
                "the analysis counts differently from its committed reference: {}",
                failed.join("; ")
            ),
        )
    }
}

/// The counts of one reference shift, summed over the shifts the analysis found in it.
fn counts(reference: &Reference, settings: &Settings) -> Result<Expected, SelftestError> {
    let shift = ShiftSpec::new(START_WALL_MS, reference.minutes * 60_000);
    let mut wearable = Wearable::new(WearableSpec::new(
        format!("SELFTEST-{}", reference.seed % 10_000),
        reference.seed,
        shift,
    ));
    // Docked: the firmware closes its open segment, as at every docking.
    wearable.docked();
    let segments: Vec<(String, Vec<u8>)> = wearable
        .closed_segment_bytes()
        .map(|(id, bytes)| (format!("{}#{id}", reference.name), bytes.to_vec()))
        .collect();
    let (recording, _) = crate::analyst::offline_recording(&segments, START_WALL_MS)
        .map_err(|e| SelftestError::Analysis(e.to_string()))?;
    let (shifts, _) = analysis::analyze(&recording, settings)
        .map_err(|e| SelftestError::Analysis(e.to_string()))?;
    let mut total = analysis::exposure::Counts::default();
    let mut alerts = 0u64;
    for (_, report) in &shifts {
        total.merge(&report.metrics.counts);
        alerts += u64::from(report.metrics.alerts.count);
    }
    let mut found: Expected = match serde_json::to_value(total) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .filter_map(|(key, value)| Some((key, value.as_u64()?)))
            .collect(),
        _ => return Err(SelftestError::Analysis("counts are not numbers".to_owned())),
    };
    found.insert("alerts".to_owned(), alerts);
    found.insert("shifts".to_owned(), shifts.len() as u64);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_shifts_reproduce_their_committed_counts_and_every_detector_counts_something() {
        let outcomes = run().unwrap();
        if std::env::var_os("DOCKD_PRINT_SELFTEST").is_some() {
            let found: BTreeMap<_, _> = outcomes.iter().map(|o| (&o.name, &o.found)).collect();
            println!("{}", serde_json::to_string_pretty(&found).unwrap());
        }
        let (ok, said) = summary(&outcomes);
        assert!(ok, "{said}");
        for key in [
            "bends",
            "deep_bends",
            "twists",
            "lateral_bends",
            "lifts",
            "alerts",
        ] {
            assert!(
                outcomes.iter().map(|o| o.found[key]).sum::<u64>() > 0,
                "no reference shift counts any {key}: the reference would not catch a regression there"
            );
        }
    }

    #[test]
    fn a_planted_detector_change_fails_the_selftest_naming_what_differs() {
        // A detector change, planted through its threshold: bends from 25° instead of the
        // built-in angle count more bends.
        let mut planted = Settings::default();
        planted.movements.bend_deg -= 5.0;
        let outcomes = run_with(&planted).unwrap();
        let (ok, said) = summary(&outcomes);
        assert!(!ok, "{said}");
        assert!(said.contains("bends "), "{said}");
        assert!(
            outcomes
                .iter()
                .any(|o| !o.ok && o.differences.iter().any(|d| d.starts_with("bends ")))
        );
    }
}
