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

/// Samples per part of `samples.csv.zst`: each part is one zstd frame compressed in memory
/// (a few MB), so an export of any length streams in bounded memory.
pub const PART_SAMPLES: u64 = 500_000;

/// Where an export's files go: a folder ([`export_worker`]) or a tar stream ([`export_tar`]).
trait Sink {
    /// A whole file.
    fn file(&mut self, name: &str, bytes: &[u8]) -> Result<(), ExportError>;
    /// Part `n` (from 1) of `samples.csv.zst`: one zstd frame; the CSV header is in part 1 only,
    /// so the parts concatenated are the whole file.
    fn samples_part(&mut self, n: u32, frame: &[u8]) -> Result<(), ExportError>;
}

/// Writes the export of the worker with badge `tag` into the new folder `out` (0700, files
/// 0600, fsynced). `progress` hears (samples written, samples in all) as the samples go.
pub fn export_worker(
    reader: &Reader,
    tag: &WorkerTag,
    out: &Path,
    progress: &mut dyn FnMut(u64, u64),
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
    let mut folder = Folder {
        dir: out.to_owned(),
        samples: None,
    };
    let summary = write_all(reader, worker.id, &mut folder, progress)?;
    folder.finish()?;
    Ok(summary)
}

/// Writes the export of worker `id` as a tar archive to `out` (the page's download): the same
/// files as [`export_worker`], `samples.csv.zst` in parts `samples.csv.zst.0001`, … (`cat
/// samples.csv.zst.* > samples.csv.zst` joins them), every entry 0600.
pub fn export_tar(
    reader: &Reader,
    id: i64,
    out: &mut dyn std::io::Write,
    now_ms: i64,
) -> Result<ExportSummary, ExportError> {
    let mut tar = Tar {
        out,
        mtime: u64::try_from(now_ms / 1000).unwrap_or(0),
    };
    let summary = write_all(reader, id, &mut tar, &mut |_, _| {})?;
    tar.finish()?;
    Ok(summary)
}

/// Everything about worker `id`, through `sink`.
fn write_all(
    reader: &Reader,
    id: i64,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ExportSummary, ExportError> {
    let worker = reader
        .workers()?
        .into_iter()
        .find(|w| w.id == id)
        .ok_or(ExportError::NoSuchWorker)?;
    let pseudonyms = reader.upload_pseudonyms_of(id)?;
    json(
        sink,
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
    json(sink, "roster.json", &wearables)?;
    let restrictions = reader.work_restrictions_of(id)?;
    json(sink, "work_restrictions.json", &restrictions)?;
    let reports = reader.worker_reports(id)?;
    json(sink, "shift_reports.json", &reports)?;
    let alerts = reader.worker_alerts(id)?;
    json(sink, "alerts.json", &alerts)?;
    let audit: Vec<_> = reader
        .audit_lines_about(id)?
        .into_iter()
        .map(|a| serde_json::json!({"at_ms": a.at_ms, "user": a.user, "action": a.action, "subject": a.subject}))
        .collect();
    json(sink, "audit.json", &audit)?;
    let samples = write_samples(reader, id, sink, progress)?;
    Ok(ExportSummary {
        worker_id: id,
        shift_reports: reports.len(),
        alerts: alerts.len(),
        restrictions: restrictions.len(),
        audit_lines: audit.len(),
        samples,
    })
}

fn json(sink: &mut dyn Sink, name: &str, value: &impl Serialize) -> Result<(), ExportError> {
    let text = serde_json::to_vec_pretty(value)
        .map_err(|e| write_error(Path::new(name), std::io::Error::other(e)))?;
    sink.file(name, &text)
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

/// The CLI's folder: whole files, and `samples.csv.zst` as its parts' frames one after another.
struct Folder {
    dir: PathBuf,
    samples: Option<std::fs::File>,
}

impl Sink for Folder {
    fn file(&mut self, name: &str, bytes: &[u8]) -> Result<(), ExportError> {
        let path = self.dir.join(name);
        let mut file = private_file(&path)?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|source| write_error(&path, source))
    }

    fn samples_part(&mut self, _n: u32, frame: &[u8]) -> Result<(), ExportError> {
        let path = self.dir.join("samples.csv.zst");
        let file = match &mut self.samples {
            Some(file) => file,
            None => self.samples.insert(private_file(&path)?),
        };
        file.write_all(frame)
            .map_err(|source| write_error(&path, source))
    }
}

impl Folder {
    fn finish(self) -> Result<(), ExportError> {
        if let Some(file) = self.samples {
            file.sync_all()
                .map_err(|source| write_error(&self.dir.join("samples.csv.zst"), source))?;
        }
        Ok(())
    }
}

/// A ustar archive written as it goes: each entry's size is known when it is written (a part of
/// the samples is compressed in memory first).
struct Tar<'a> {
    out: &'a mut dyn std::io::Write,
    mtime: u64,
}

impl Tar<'_> {
    fn entry(&mut self, name: &str, bytes: &[u8]) -> Result<(), ExportError> {
        let io = |source| write_error(Path::new(name), source);
        self.out
            .write_all(&tar_header(name, bytes.len() as u64, self.mtime))
            .map_err(io)?;
        self.out.write_all(bytes).map_err(io)?;
        let pad = (512 - bytes.len() % 512) % 512;
        self.out.write_all(&vec![0u8; pad]).map_err(io)
    }

    fn finish(self) -> Result<(), ExportError> {
        // Two zero blocks end a tar archive.
        self.out
            .write_all(&[0u8; 1024])
            .and_then(|()| self.out.flush())
            .map_err(|source| write_error(Path::new("(end of the archive)"), source))
    }
}

impl Sink for Tar<'_> {
    fn file(&mut self, name: &str, bytes: &[u8]) -> Result<(), ExportError> {
        self.entry(name, bytes)
    }

    fn samples_part(&mut self, n: u32, frame: &[u8]) -> Result<(), ExportError> {
        self.entry(&format!("samples.csv.zst.{n:04}"), frame)
    }
}

/// A ustar header for a regular file `name` (ASCII, < 100 bytes) of `size` bytes, mode 0600.
fn tar_header(name: &str, size: u64, mtime: u64) -> [u8; 512] {
    let mut header = [0u8; 512];
    let mut put = |at: usize, bytes: &[u8]| {
        for (i, b) in bytes.iter().enumerate() {
            if let Some(slot) = header.get_mut(at + i) {
                *slot = *b;
            }
        }
    };
    put(0, name.as_bytes());
    put(100, b"0000600\0");
    put(108, b"0000000\0");
    put(116, b"0000000\0");
    put(124, format!("{size:011o}\0").as_bytes());
    put(136, format!("{mtime:011o}\0").as_bytes());
    put(148, b"        ");
    put(156, b"0");
    put(257, b"ustar\0");
    put(263, b"00");
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    let mut put = |at: usize, bytes: &[u8]| {
        for (i, b) in bytes.iter().enumerate() {
            if let Some(slot) = header.get_mut(at + i) {
                *slot = *b;
            }
        }
    };
    put(148, format!("{sum:06o}\0 ").as_bytes());
    header
}

/// The worker's samples as CSV, one line per sample, block by block, in parts of at most
/// [`PART_SAMPLES`] samples, each compressed in memory as one zstd frame.
fn write_samples(
    reader: &Reader,
    id: i64,
    sink: &mut dyn Sink,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64, ExportError> {
    let total = reader.worker_sample_count(id)?;
    let new_part = || -> Result<zstd::stream::Encoder<'static, Vec<u8>>, ExportError> {
        zstd::stream::Encoder::new(Vec::new(), 3)
            .map_err(|source| write_error(Path::new("samples.csv.zst"), source))
    };
    let io = |source| write_error(Path::new("samples.csv.zst"), source);
    let mut part = new_part()?;
    writeln!(part, "{SAMPLES_HEADER}").map_err(io)?;
    let (mut samples, mut in_part, mut parts) = (0u64, 0u64, 0u32);
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
                part,
                "{wall},{},{},{},{},{}",
                block.t_ms + offset,
                s[FLEX],
                s[LAT],
                s[TWIST],
                s[HEIGHT]
            ) {
                failure = Some(io(error));
                return Ok(());
            }
            samples += 1;
            in_part += 1;
        }
        if in_part >= PART_SAMPLES {
            let full = std::mem::replace(
                &mut part,
                match new_part() {
                    Ok(part) => part,
                    Err(error) => {
                        failure = Some(error);
                        return Ok(());
                    }
                },
            );
            parts += 1;
            let sent = full
                .finish()
                .map_err(io)
                .and_then(|frame| sink.samples_part(parts, &frame));
            if let Err(error) = sent {
                failure = Some(error);
                return Ok(());
            }
            in_part = 0;
            progress(samples, total);
        }
        Ok(())
    })?;
    if let Some(failure) = failure {
        return Err(failure);
    }
    let frame = part.finish().map_err(io)?;
    sink.samples_part(parts + 1, &frame)?;
    progress(samples, total);
    Ok(samples)
}
