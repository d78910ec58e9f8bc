//! A worker's export (the right of access): everything the dock holds about one worker, as files
//! in a folder only the person who asked can read (0700, files 0600) — JSON for the person, their
//! roster entries, work restrictions, shift reports and alerts, the audit lines that name them,
//! and their samples as zstd-compressed CSV written block by block. It owns that layout; it must
//! never write to the database (the audit line is the caller's) nor include another worker's
//! data.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
    #[error("the export's archive is not one dockd made: {0}")]
    Archive(String),
}

/// What an export holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// Where an export's files go: a folder ([`ExportFolder`]) or a tar stream ([`export_tar`]).
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
    let mut folder = ExportFolder::create(out)?;
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

/// An export's new folder (0700, files 0600): whole files, and `samples.csv.zst` as its parts'
/// frames one after another. `dockd worker export` writes it from the database, or from the
/// running daemon's archive through [`Unpacker`].
pub struct ExportFolder {
    dir: PathBuf,
    samples: Option<std::fs::File>,
}

impl ExportFolder {
    /// Creates the folder `out`, which must not exist yet.
    pub fn create(out: &Path) -> Result<Self, ExportError> {
        if out.exists() {
            return Err(ExportError::Exists(out.to_owned()));
        }
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(out)
            .map_err(|source| write_error(out, source))?;
        Ok(Self {
            dir: out.to_owned(),
            samples: None,
        })
    }

    /// Makes the samples file durable (each whole file already is).
    pub fn finish(self) -> Result<(), ExportError> {
        if let Some(file) = self.samples {
            file.sync_all()
                .map_err(|source| write_error(&self.dir.join("samples.csv.zst"), source))?;
        }
        Ok(())
    }
}

impl Sink for ExportFolder {
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

/// The files an export holds besides the samples' parts, in the order they are written.
pub const FILES: [&str; 6] = [
    "person.json",
    "roster.json",
    "work_restrictions.json",
    "shift_reports.json",
    "alerts.json",
    "audit.json",
];

/// Unpacks an archive made by [`export_tar`] into an [`ExportFolder`] as its bytes arrive, in
/// any pieces (the running daemon's export through the control socket). Only what an export
/// holds is accepted: its files by name, once each, and the samples' parts in order; anything
/// else is refused, so a stream can never write outside the folder.
pub struct Unpacker {
    folder: ExportFolder,
    pending: Vec<u8>,
    /// The entry being read and its size, once its header is in.
    entry: Option<(String, usize)>,
    written: Vec<String>,
    parts: u32,
    ended: bool,
}

impl Unpacker {
    pub fn new(folder: ExportFolder) -> Self {
        Self {
            folder,
            pending: Vec::new(),
            entry: None,
            written: Vec::new(),
            parts: 0,
            ended: false,
        }
    }

    /// The samples' parts written so far.
    pub fn parts(&self) -> u32 {
        self.parts
    }

    /// Takes the next bytes of the archive, writing each entry once it is whole.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ExportError> {
        if self.ended {
            return if bytes.iter().all(|b| *b == 0) {
                Ok(())
            } else {
                Err(archive("bytes after the end of the archive"))
            };
        }
        self.pending.extend_from_slice(bytes);
        loop {
            match self.entry.take() {
                None => {
                    let Some(header) = self.pending.get(..512) else {
                        return Ok(());
                    };
                    if header.iter().all(|b| *b == 0) {
                        self.ended = true;
                        self.pending.clear();
                        return Ok(());
                    }
                    let entry = read_header(header)?;
                    self.pending.drain(..512);
                    self.entry = Some(entry);
                }
                Some((name, size)) => {
                    let padded = size.div_ceil(512) * 512;
                    if self.pending.len() < padded {
                        self.entry = Some((name, size));
                        return Ok(());
                    }
                    let body: Vec<u8> = self.pending.drain(..padded).take(size).collect();
                    self.write(&name, &body)?;
                }
            }
        }
    }

    fn write(&mut self, name: &str, body: &[u8]) -> Result<(), ExportError> {
        if let Some(n) = name.strip_prefix("samples.csv.zst.") {
            if n.parse::<u32>().ok() != Some(self.parts + 1) || n.len() != 4 {
                return Err(archive(&format!("an unexpected entry {name:?}")));
            }
            self.parts += 1;
            return self.folder.samples_part(self.parts, body);
        }
        if !FILES.contains(&name) || self.written.iter().any(|w| w == name) || self.parts > 0 {
            return Err(archive(&format!("an unexpected entry {name:?}")));
        }
        self.written.push(name.to_owned());
        self.folder.file(name, body)
    }

    /// The folder, once the archive has ended with every file in it.
    pub fn finish(self) -> Result<(), ExportError> {
        if !self.ended || self.written.len() != FILES.len() || self.parts == 0 {
            return Err(archive("it ended before all of the export was in it"));
        }
        self.folder.finish()
    }
}

fn archive(what: &str) -> ExportError {
    ExportError::Archive(what.to_owned())
}

/// A header of [`tar_header`]'s kind: a regular file's name and size, its checksum checked.
fn read_header(header: &[u8]) -> Result<(String, usize), ExportError> {
    let field = |from: usize, to: usize| header.get(from..to).unwrap_or_default();
    let text = |bytes: &[u8]| {
        let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(bytes.get(..end).unwrap_or_default())
            .trim()
            .to_owned()
    };
    let octal = |bytes: &[u8]| u64::from_str_radix(&text(bytes), 8).ok();
    let stored = octal(field(148, 156));
    let sum: u64 = header
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    if stored != Some(sum) {
        return Err(archive("a header's checksum is wrong"));
    }
    if !matches!(field(156, 157), [b'0'] | [0]) {
        return Err(archive("an entry that is not a file"));
    }
    let size = octal(field(124, 136))
        .and_then(|size| usize::try_from(size).ok())
        .filter(|size| *size <= MAX_ENTRY)
        .ok_or_else(|| archive("an entry's size is missing or too large"))?;
    Ok((text(field(0, 100)), size))
}

/// The largest entry an [`Unpacker`] takes: a JSON file of years of reports, or one samples part.
const MAX_ENTRY: usize = 256 << 20;

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder path under the system's temporary folder (not created).
    fn out(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dockd-export-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// An archive as [`export_tar`] makes one: the six files, then `parts` samples parts.
    fn archive_with(parts: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut tar = Tar {
            out: &mut bytes,
            mtime: 1_700_000_000,
        };
        for (i, name) in FILES.iter().enumerate() {
            tar.file(name, format!("{{\"file\":{i}}}").as_bytes())
                .unwrap();
        }
        for n in 1..=parts {
            tar.samples_part(n, &vec![n as u8; 700 * n as usize])
                .unwrap();
        }
        tar.finish().unwrap();
        bytes
    }

    fn unpack(bytes: &[u8], piece: usize, name: &str) -> (PathBuf, Result<(), ExportError>) {
        let dir = out(name);
        let mut unpacker = Unpacker::new(ExportFolder::create(&dir).unwrap());
        let pushed = bytes
            .chunks(piece)
            .try_for_each(|piece| unpacker.push(piece));
        (dir, pushed.and_then(|()| unpacker.finish()))
    }

    #[test]
    fn an_archive_unpacked_in_pieces_of_any_size_gives_the_folder_the_database_would() {
        let bytes = archive_with(3);
        for piece in [1, 7, 511, 512, 513, 65_536, bytes.len()] {
            let (dir, done) = unpack(&bytes, piece, &format!("pieces-{piece}"));
            done.unwrap();
            for (i, name) in FILES.iter().enumerate() {
                assert_eq!(
                    std::fs::read_to_string(dir.join(name)).unwrap(),
                    format!("{{\"file\":{i}}}")
                );
            }
            let samples = std::fs::read(dir.join("samples.csv.zst")).unwrap();
            let expected: Vec<u8> = (1..=3u8).flat_map(|n| vec![n; 700 * n as usize]).collect();
            assert_eq!(samples, expected, "the parts joined in order");
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&dir.join("samples.csv.zst")), 0o600);
            std::fs::remove_dir_all(dir).unwrap();
        }
    }

    #[test]
    fn an_archive_that_is_not_an_exports_is_refused_and_writes_nothing_outside_its_folder() {
        let good = archive_with(1);
        let entry = |name: &str, body: &[u8]| {
            let mut bytes = tar_header(name, body.len() as u64, 0).to_vec();
            bytes.extend_from_slice(body);
            bytes.resize(bytes.len().div_ceil(512) * 512, 0);
            bytes
        };
        let mut escaping = entry("../escaped.json", b"{}");
        escaping.extend_from_slice(&good);
        let mut symlink = tar_header("person.json", 0, 0);
        symlink[156] = b'2';
        symlink[148..156].copy_from_slice(b"        ");
        let sum: u32 = symlink.iter().map(|b| u32::from(*b)).sum();
        symlink[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let mut twice = entry("person.json", b"{}");
        twice.extend_from_slice(&good);
        let mut part_skipped = good[..good.len() - 1024].to_vec();
        part_skipped.extend(entry("samples.csv.zst.0003", b"x"));
        let mut flipped = good.clone();
        flipped[3] ^= 0x20;
        let mut trailing = good.clone();
        trailing.push(1);
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("escape", escaping, "unexpected entry \"../escaped.json\""),
            ("symlink", symlink.to_vec(), "not a file"),
            ("twice", twice, "unexpected entry \"person.json\""),
            (
                "skipped",
                part_skipped,
                "unexpected entry \"samples.csv.zst.0003\"",
            ),
            ("flipped", flipped, "checksum"),
            (
                "truncated",
                good[..good.len() - 1500].to_vec(),
                "ended before",
            ),
            ("trailing", trailing, "after the end"),
        ];
        for (name, bytes, said) in cases {
            let (dir, done) = unpack(&bytes, 4096, name);
            let error = done.unwrap_err().to_string();
            assert!(error.contains(said), "{name}: {error}");
            assert!(!dir.with_file_name("escaped.json").exists());
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}
