//! A worker's export (the right of access): everything the dock holds about one worker, as files
//! in a folder only the person who asked can read (0700, files 0600) — JSON for the person, their
//! roster entries, work restrictions, shift reports and alerts, the audit lines that name them,
//! and their samples as zstd-compressed CSV written block by block. It owns that layout; it must
//! never write to the database (the audit line is the caller's) nor include another worker's
//! data.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::analysis::{FLEX, HEIGHT, LAT, TWIST};
use crate::store::{Reader, StoreError};
use crate::worker::WorkerTag;

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no worker on the roster has this badge tag")]
    NoSuchWorker,
    #[error("{0} already exists: name a folder that does not exist yet")]
    Exists(PathBuf),
    #[error("cannot write the export at {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a stored sample block cannot be read: {0}")]
    Block(String),
}

/// What an export holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    /// The store's id of the worker (for the audit line: never their tag or name).
    pub worker_id: i64,
    pub shift_reports: usize,
    pub alerts: usize,
    /// Work restrictions exported.
    pub restrictions: usize,
    pub audit_lines: usize,
    pub samples: u64,
}

/// The CSV header of `samples.csv.zst` (units from the link protocol).
pub const SAMPLES_HEADER: &str =
    "wall_ms,t_ms,flex_0.01deg,lateral_0.01deg,twist_0.1deg_per_s,height_mm";

/// Writes the export of the worker with badge `tag` into the new folder `out`.
pub fn export_worker(
    reader: &Reader,
    tag: &WorkerTag,
    out: &Path,
) -> Result<ExportSummary, ExportError> {
    let worker = reader
        .worker_with_tag(tag)?
        .ok_or(ExportError::NoSuchWorker)?;
    if out.exists() {
        return Err(ExportError::Exists(out.to_owned()));
    }
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(out)
        .map_err(|source| write_error(out, source))?;
    let id = worker.id;
    let pseudonyms = reader.upload_pseudonyms_of(id)?;
    write_json(
        out,
        "person.json",
        &serde_json::json!({
            "badge_tag": worker.tag.badge_text(),
            "display_name": worker.display_name,
            "task": worker.task,
            "team": worker.team,
            "opted_out_ms": worker.opted_out_ms,
            "opt_out_note": worker.opted_out_ms.map(|_| "Opted out: from then on nothing worn is stored; what was stored before stays until deleted or purged."),
            "samples_discarded_after_opt_out": worker.discarded_samples,
            "uploaded_as": pseudonyms.iter().map(|(key_id, pseudonym)| serde_json::json!({"key_id": key_id, "pseudonym": pseudonym})).collect::<Vec<_>>(),
        }),
    )?;
    let wearables: Vec<_> = reader
        .roster_wearables()?
        .into_iter()
        .filter(|w| w.worker == Some(id))
        .map(|w| serde_json::json!({"serial": w.serial, "applied_ms": w.applied_ms, "last_docked_ms": w.last_docked_ms}))
        .collect();
    write_json(out, "roster.json", &wearables)?;
    let restrictions = reader.work_restrictions_of(id)?;
    write_json(out, "work_restrictions.json", &restrictions)?;
    let reports = reader.worker_reports(id)?;
    write_json(out, "shift_reports.json", &reports)?;
    let alerts = reader.worker_alerts(id)?;
    write_json(out, "alerts.json", &alerts)?;
    let audit: Vec<_> = reader
        .audit_lines_about(id)?
        .into_iter()
        .map(|a| serde_json::json!({"at_ms": a.at_ms, "user": a.user, "action": a.action, "subject": a.subject}))
        .collect();
    write_json(out, "audit.json", &audit)?;
    let samples = write_samples(reader, id, &out.join("samples.csv.zst"))?;
    Ok(ExportSummary {
        worker_id: id,
        shift_reports: reports.len(),
        alerts: alerts.len(),
        restrictions: restrictions.len(),
        audit_lines: audit.len(),
        samples,
    })
}

fn write_error(path: &Path, source: std::io::Error) -> ExportError {
    ExportError::Write {
        path: path.to_owned(),
        source,
    }
}

fn private_file(path: &Path) -> Result<std::fs::File, ExportError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| write_error(path, source))
}

fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> Result<(), ExportError> {
    let path = dir.join(name);
    let mut file = private_file(&path)?;
    let text = serde_json::to_vec_pretty(value)
        .map_err(|e| write_error(&path, std::io::Error::other(e)))?;
    file.write_all(&text)
        .and_then(|()| file.sync_all())
        .map_err(|source| write_error(&path, source))
}

/// The worker's samples as CSV, one line per sample, block by block through zstd.
fn write_samples(reader: &Reader, id: i64, path: &Path) -> Result<u64, ExportError> {
    let file = private_file(path)?;
    let io = |source| write_error(path, source);
    let mut csv = zstd::stream::Encoder::new(std::io::BufWriter::new(file), 3).map_err(io)?;
    writeln!(csv, "{SAMPLES_HEADER}").map_err(io)?;
    let mut samples = 0u64;
    let mut failure = None;
    reader.for_each_worker_block(id, |block| {
        if failure.is_some() {
            return Ok(());
        }
        let decoded = match crate::store::samples::decode(block.codec, &block.data, block.count) {
            Ok(decoded) => decoded,
            Err(error) => {
                failure = Some(ExportError::Block(error.to_string()));
                return Ok(());
            }
        };
        let step = 1000.0 / block.rate_hz.max(1) as f64;
        for (i, s) in decoded.iter().enumerate() {
            let offset = (i as f64 * step).round() as i64;
            let wall = block
                .wall_ms
                .map_or(String::new(), |w| (w + offset).to_string());
            if let Err(error) = writeln!(
                csv,
                "{wall},{},{},{},{},{}",
                block.t_ms + offset,
                s[FLEX],
                s[LAT],
                s[TWIST],
                s[HEIGHT]
            ) {
                failure = Some(write_error(path, error));
                return Ok(());
            }
            samples += 1;
        }
        Ok(())
    })?;
    if let Some(failure) = failure {
        return Err(failure);
    }
    let writer = csv.finish().map_err(io)?;
    let file = writer
        .into_inner()
        .map_err(|e| write_error(path, e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(samples)
}
