//! `dockd metrics`: the daemon's figures in the Prometheus text exposition format (0.0.4: `#
//! HELP`, `# TYPE`, counters ending in `_total`), answered on the control socket — which already
//! lets only root, dockd's user and the control group in (by the kernel's peer credentials), so
//! no network listener and no second access control are needed; a node_exporter textfile
//! collector or a timer scrapes it. Every figure comes from where the daemon already counts it:
//! the store (dockings by outcome, segments, quarantine, samples, the outbox and the upload's
//! recorded deliveries, the analysis backlog), the writer's queue, the data folder's disk and
//! the process's own start. It owns the names, the classes of a pull's outcome and the rendering;
//! it must never count anything a second time, name a worker or a wearable in a label, or write.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::upload::retry::Class;

use crate::config::Config;
use crate::store::{Reader, StoreError};

static STARTED: OnceLock<Instant> = OnceLock::new();

/// Upload attempts since this dockd started, by outcome class: the store keeps deliveries
/// (`upload_state`) but no count of attempts, so the driver counts them here as it judges each
/// outcome (`Delivered`, `Retriable`, `EveryBatch`, `ThisBatch`, `TooLarge`).
static UPLOAD_ATTEMPTS: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

const UPLOAD_CLASSES: [(Class, &str); 5] = [
    (Class::Delivered, "delivered"),
    (Class::Retriable, "retriable"),
    (Class::EveryBatch, "every_batch"),
    (Class::ThisBatch, "this_batch"),
    (Class::TooLarge, "too_large"),
];

/// Counts one upload attempt and how it ended (the uploader's driver, once per outcome).
pub fn count_upload_attempt(class: Class) {
    if let Some(at) = UPLOAD_CLASSES.iter().position(|(c, _)| *c == class) {
        UPLOAD_ATTEMPTS[at].fetch_add(1, Ordering::Relaxed);
    }
}

/// Marks the daemon's start (the uptime's origin); later calls change nothing.
pub fn mark_start() {
    let _ = STARTED.get_or_init(Instant::now);
}

/// A metric's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// One metric family: its name, help, type and samples (labels, value).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Family {
    fn one(name: &'static str, help: &'static str, kind: Kind, value: f64) -> Self {
        Self {
            name,
            help,
            kind,
            samples: vec![(Vec::new(), value)],
        }
    }
}

/// The text exposition of `families`, pure.
pub fn render(families: &[Family]) -> String {
    let mut out = String::new();
    for family in families {
        let kind = match family.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        };
        let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(family.help));
        let _ = writeln!(out, "# TYPE {} {kind}", family.name);
        for (labels, value) in &family.samples {
            out.push_str(family.name);
            if !labels.is_empty() {
                out.push('{');
                for (i, (name, value)) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{name}=\"{}\"", escape_label(value));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", number(*value));
        }
    }
    out
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// A pull's recorded outcome (`docking.outcome`, the pull's error sentence) as a fixed class:
/// `completed`, or why it failed. `None`: still docked (or cut off by a crash).
pub fn outcome_class(outcome: Option<&str>) -> &'static str {
    let Some(text) = outcome else {
        return "unfinished";
    };
    match text {
        "undocked" => "completed",
        "dock shut down" => "shutdown",
        _ if text.starts_with("the wearable was undocked") => "undocked_mid_pull",
        _ if text.starts_with("the link to the wearable failed") => "link",
        _ if text.starts_with("the wearable answered error") => "wearable_error",
        _ if text.starts_with("the wearable answered") => "protocol",
        _ if text.starts_with("storing failed") => "store",
        _ if text.starts_with("the USB serial number") => "serial_mismatch",
        _ => "other",
    }
}

/// Every family, read now.
pub fn collect(
    config: &Config,
    reader: &Reader,
    writer_queued: usize,
    _now_ms: i64,
) -> Result<String, StoreError> {
    let figures = reader.figures()?;
    let totals = reader.wearable_totals()?;
    let upload = reader.upload_status()?;
    let backlog = reader.analysis_backlog()?.len();
    let mut started = 0u64;
    let mut completed = 0u64;
    let mut failed: std::collections::BTreeMap<&'static str, u64> = Default::default();
    for (outcome, n) in &figures.dockings {
        started += n;
        match outcome_class(outcome.as_deref()) {
            "completed" => completed += n,
            "unfinished" => {}
            class => *failed.entry(class).or_default() += n,
        }
    }
    let sum =
        |f: fn(&crate::store::WearableTotals) -> u64| totals.iter().map(f).sum::<u64>() as f64;
    let disk = diagnostics::host::disk_usage(&config.storage.data_dir);
    let database_bytes = diagnostics::host::database_bytes(&config.database_path()).unwrap_or(0);
    use Kind::{Counter, Gauge};
    let families = vec![
        Family {
            name: "dockd_build_info",
            help: "The running dockd's version (value 1).",
            kind: Gauge,
            samples: vec![(vec![("version", crate::version::text().to_owned())], 1.0)],
        },
        Family::one(
            "dockd_uptime_seconds",
            "Seconds since this dockd started.",
            Gauge,
            STARTED
                .get()
                .map_or(0.0, |s| s.elapsed().as_secs_f64().floor()),
        ),
        Family::one(
            "dockd_pulls_started_total",
            "Pulls started (one per docking).",
            Counter,
            started as f64,
        ),
        Family::one(
            "dockd_pulls_completed_total",
            "Pulls that ended with the wearable undocked after a complete pull.",
            Counter,
            completed as f64,
        ),
        Family {
            name: "dockd_pulls_failed_total",
            help: "Pulls that ended early, by reason.",
            kind: Counter,
            samples: failed
                .into_iter()
                .map(|(reason, n)| (vec![("reason", reason.to_owned())], n as f64))
                .collect(),
        },
        Family::one(
            "dockd_segments_stored_total",
            "Segments stored.",
            Counter,
            sum(|t| t.segments_stored),
        ),
        Family::one(
            "dockd_segments_quarantined_total",
            "Segments quarantined (kept, not erased).",
            Counter,
            sum(|t| t.quarantined),
        ),
        Family::one(
            "dockd_samples_stored_total",
            "Samples stored.",
            Counter,
            sum(|t| t.samples_stored),
        ),
        Family::one(
            "dockd_ingested_bytes_total",
            "Bytes of the segments stored.",
            Counter,
            figures.segment_bytes as f64,
        ),
        Family::one(
            "dockd_writer_queue_length",
            "Commands waiting for the store's writer.",
            Gauge,
            writer_queued as f64,
        ),
        Family::one(
            "dockd_analysis_backlog_wearables",
            "Wearables with stored data not analysed yet.",
            Gauge,
            backlog as f64,
        ),
        Family::one(
            "dockd_outbox_items",
            "Upload items not delivered yet (batched or not).",
            Gauge,
            upload.queued_items as f64,
        ),
        Family::one(
            "dockd_outbox_bytes",
            "Bytes of the upload items not delivered yet.",
            Gauge,
            upload.queued_bytes as f64,
        ),
        Family::one(
            "dockd_outbox_batches",
            "Upload batches committed and waiting to be sent.",
            Gauge,
            figures.ready_batches as f64,
        ),
        Family::one(
            "dockd_outbox_dead_letters",
            "Upload batches the receiver refused, parked for an admin.",
            Gauge,
            upload.dead_letters as f64,
        ),
        Family {
            name: "dockd_upload_sends_total",
            help: "Upload attempts since this dockd started, by outcome: delivered, or failed (retriable, every_batch: the queue pauses, this_batch: a dead letter, too_large: split).",
            kind: Counter,
            samples: UPLOAD_CLASSES
                .iter()
                .zip(UPLOAD_ATTEMPTS.iter())
                .map(|((_, name), n)| {
                    (
                        vec![("outcome", (*name).to_owned())],
                        n.load(Ordering::Relaxed) as f64,
                    )
                })
                .collect(),
        },
        Family::one(
            "dockd_upload_batches_delivered_total",
            "Upload batches delivered.",
            Counter,
            figures.delivered_batches as f64,
        ),
        Family::one(
            "dockd_upload_items_delivered_total",
            "Upload items delivered.",
            Counter,
            figures.delivered_items as f64,
        ),
        Family::one(
            "dockd_upload_evictions_total",
            "Upload items evicted by the disk budget or retention.",
            Counter,
            figures.evictions as f64,
        ),
        Family::one(
            "dockd_upload_failing",
            "1 while the last upload attempt failed.",
            Gauge,
            f64::from(u8::from(upload.last_error.is_some())),
        ),
        Family::one(
            "dockd_database_bytes",
            "Size of the database and its WAL.",
            Gauge,
            database_bytes as f64,
        ),
        Family::one(
            "dockd_data_folder_available_bytes",
            "Free space dockd may use on the data folder's file system.",
            Gauge,
            disk.map_or(0.0, |d| d.available_bytes as f64),
        ),
        Family::one(
            "dockd_data_folder_size_bytes",
            "Size of the data folder's file system.",
            Gauge,
            disk.map_or(0.0, |d| d.total_bytes as f64),
        ),
    ];
    Ok(render(&families))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_render_as_the_text_exposition_format() {
        let text = render(&[
            Family::one(
                "x_total",
                "A \\ counter\nwith two lines.",
                Kind::Counter,
                3.0,
            ),
            Family {
                name: "y",
                help: "A gauge.",
                kind: Kind::Gauge,
                samples: vec![
                    (vec![("reason", "a \"quoted\"\\value".to_owned())], 1.5),
                    (vec![("reason", "b".to_owned())], 0.0),
                ],
            },
        ]);
        assert_eq!(
            text,
            "# HELP x_total A \\\\ counter\\nwith two lines.\n# TYPE x_total counter\nx_total 3\n\
             # HELP y A gauge.\n# TYPE y gauge\ny{reason=\"a \\\"quoted\\\"\\\\value\"} 1.5\ny{reason=\"b\"} 0\n"
        );
    }

    #[test]
    fn every_pull_outcome_the_pull_records_has_a_fixed_class() {
        for (text, class) in [
            (Some("undocked"), "completed"),
            (Some("dock shut down"), "shutdown"),
            (Some("the wearable was undocked"), "undocked_mid_pull"),
            (Some("the link to the wearable failed: timeout"), "link"),
            (
                Some("the wearable answered error 3: busy"),
                "wearable_error",
            ),
            (Some("the wearable answered LIST to READ"), "protocol"),
            (Some("storing failed: disk full"), "store"),
            (
                Some("the USB serial number A does not match the wearable's own serial B"),
                "serial_mismatch",
            ),
            (Some("something new"), "other"),
            (None, "unfinished"),
        ] {
            assert_eq!(outcome_class(text), class, "{text:?}");
        }
    }
}
