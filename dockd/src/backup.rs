//! `dockd backup` and `dockd restore`: the dock's whole state in one encrypted file, the way to
//! replace a dock's hardware. A backup holds a consistent copy of the database (taken inside one
//! read transaction while the daemon runs, [`crate::store::snapshot`]), the dock's own pseudonym
//! key (so every worker keeps their pseudonym in the cloud) and its generated HTTPS certificate
//! and key (so browsers keep trusting it); the accounts are in the database. It owns the backup's
//! payload and the restore's order of steps; it must never replace a file before the whole backup
//! has been authenticated and the restored database checked, never restore beside a running
//! daemon, and never write a plaintext copy of the database to disk.
//!
//! Why this design: the passphrase (read from standard input) goes through argon2id into an
//! AES-256-GCM key sealing the whole payload in chunks ([`format`]): one authenticated envelope,
//! so a tampered or cut-off file is refused as a whole, checked end to end before anything is
//! replaced. Inside it the database is the SQLCipher copy under a fresh random key (carried in
//! the manifest): that copy is what lies on the dock's disk while the backup is made and while
//! it is restored, so the database is never on disk in the clear; the restore re-encrypts it
//! into the new dock's own database key. The bytes travel over the control socket to the
//! command, which writes the file itself (0600, its own user's), so the daemon never creates a
//! file for another user.
//!
//! Payload: entries `name length u16 | name | length u64 | bytes`, the manifest first
//! (`manifest.json`), then `dockd.db`, then the small files; an entry named `""` ends it.

pub mod format;

use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::Config;
use crate::store::snapshot::{self, CopyRefused};
use crate::store::{Database, DatabaseKey, StoreError};
use format::{FormatError, Opener, Sealer};

/// The payload's version this build writes and reads.
pub const PAYLOAD_VERSION: u32 = 1;
/// The shortest passphrase taken.
pub const MIN_PASSPHRASE_CHARS: usize = 12;
const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "dockd.db";
/// The dock's own files a backup carries, by their names in the data folder.
const DOCK_FILES: [&str; 3] = [
    crate::worker::DOCK_KEY_FILE,
    crate::web_tls::CERT_FILE,
    crate::web_tls::KEY_FILE,
];
/// The longest small file taken from a backup.
const MAX_SMALL_FILE: u64 = 1 << 20;

/// What a backup says about itself (inside its encryption).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub payload: u32,
    pub dockd_version: String,
    pub dock_name: String,
    pub created_ms: i64,
    pub schema_version: usize,
    /// The database copy's own key (hex).
    pub database_key: String,
    /// Rows per table at the instant of the copy.
    pub tables: BTreeMap<String, i64>,
    /// The pseudonym key in force when it was made: `site` or `dock`, and its public id.
    pub pseudonym_source: Option<String>,
    pub pseudonym_key_id: Option<String>,
    /// The data folder's files carried (of `pseudonym.key`, `web-cert.pem`, `web-key.pem`).
    pub files: Vec<String>,
}

/// What a backup held, as `dockd backup` and `dockd restore` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub created_ms: i64,
    pub dock_name: String,
    pub schema_version: usize,
    pub database_bytes: u64,
    pub tables: BTreeMap<String, i64>,
    pub files: Vec<String>,
    pub pseudonym_key_id: Option<String>,
}

/// Why a backup or a restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Copy(#[from] CopyRefused),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters")]
    ShortPassphrase,
    #[error("the backup is damaged: {0}; nothing was restored from it")]
    Payload(String),
    #[error(
        "the backup was made by a newer dockd (schema {found}, payload {payload}); this dockd knows schema {known}: restore it with that version or a newer one; nothing was changed"
    )]
    Newer {
        found: usize,
        known: usize,
        payload: u32,
    },
    #[error(
        "{0} already exist(s): restoring would replace them. Run `dockd restore` again with --replace to replace them (each is kept aside until the restored one is complete, then removed)"
    )]
    WouldReplace(String),
    #[error("{0}")]
    Refused(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The audit line of a backup taken (`route`: how it was asked, as `Caller::route` says it).
pub fn backup_line(summary: &Summary, route: &str, now_ms: i64) -> crate::store::AuditEntry {
    let rows: i64 = summary.tables.values().sum();
    crate::store::AuditEntry {
        at_ms: now_ms,
        user: "dockd backup".to_owned(),
        action: "backup".to_owned(),
        subject: format!(
            "the whole dock backed up, encrypted ({rows} rows, schema {}){route}",
            summary.schema_version
        ),
    }
}

/// The audit line of a restore, written into the restored database.
pub fn restore_line(restored: &Restored, now_ms: i64) -> crate::store::AuditEntry {
    let summary = &restored.summary;
    let rows: i64 = summary.tables.values().sum();
    crate::store::AuditEntry {
        at_ms: now_ms,
        user: "dockd restore".to_owned(),
        action: "restore".to_owned(),
        subject: format!(
            "the dock restored from a backup of dock {} made at {} ms ({rows} rows, schema {}){}",
            summary.dock_name,
            summary.created_ms,
            summary.schema_version,
            if restored.replaced.is_empty() {
                String::new()
            } else {
                format!("; replaced {}", restored.replaced.len())
            }
        ),
    }
}

/// Checks a passphrase's length (in characters).
pub fn check_passphrase(passphrase: &str) -> Result<(), BackupError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(BackupError::ShortPassphrase);
    }
    Ok(())
}

/// Removes a file when dropped, unless kept.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// A name for a temporary file beside `path`, not used yet.
fn temp_beside(path: &Path, what: &str) -> Result<PathBuf, BackupError> {
    let mut salt = [0u8; 6];
    getrandom::fill(&mut salt).map_err(|e| FormatError::Random(e.to_string()))?;
    Ok(PathBuf::from(format!(
        "{}.{what}-{}",
        path.display(),
        hex::encode(salt)
    )))
}

/// Writes a backup of `config`'s dock to `out`: a consistent copy of `db` beside it (under a
/// fresh key, removed afterwards), the manifest, and the dock's own files, sealed with
/// `passphrase`. `ready` is called once the copy is taken, before the first byte is written.
pub fn write_backup(
    db: &Database,
    config: &Config,
    passphrase: &str,
    now_ms: i64,
    out: impl Write,
    ready: impl FnOnce(),
) -> Result<Summary, BackupError> {
    check_passphrase(passphrase)?;
    let copy_path = temp_beside(db.path(), "backup")?;
    let copy = TempFile(Some(copy_path.clone()));
    let snapshot = snapshot::take(db, &copy_path)?;
    let data_dir = &config.storage.data_dir;
    let mut files = Vec::new();
    for name in DOCK_FILES {
        // Only the files this dock made itself: a configured certificate or a site key is IT's.
        let own = match name {
            crate::worker::DOCK_KEY_FILE => config.privacy.site_key_file.is_none(),
            _ => config.web.tls && config.web.cert.is_none(),
        };
        if own && data_dir.join(name).exists() {
            files.push(name.to_owned());
        }
    }
    let (pseudonym_source, pseudonym_key_id) = match &config.privacy.site_key_file {
        Some(path) => match crate::worker::Pseudonyms::load_site(path) {
            Ok(key) => (Some("site".to_owned()), Some(key.key_id())),
            Err(_) => (Some("site".to_owned()), None),
        },
        None => match std::fs::read(data_dir.join(crate::worker::DOCK_KEY_FILE)) {
            Ok(bytes) => match <[u8; 32]>::try_from(bytes.as_slice()) {
                Ok(key) => (
                    Some("dock".to_owned()),
                    Some(crate::worker::Pseudonyms::from_key(key).key_id()),
                ),
                Err(_) => (Some("dock".to_owned()), None),
            },
            Err(_) => (None, None),
        },
    };
    let database_bytes = std::fs::metadata(&copy_path).map_err(io(&copy_path))?.len();
    let manifest = Manifest {
        payload: PAYLOAD_VERSION,
        dockd_version: crate::version::text().to_owned(),
        dock_name: config.dock.name.clone(),
        created_ms: now_ms,
        schema_version: snapshot.schema_version,
        database_key: snapshot.key.to_hex().to_string(),
        tables: snapshot.tables.clone(),
        pseudonym_source,
        pseudonym_key_id: pseudonym_key_id.clone(),
        files: files.clone(),
    };
    let manifest_bytes = Zeroizing::new(
        serde_json::to_vec(&manifest).map_err(|e| BackupError::Payload(e.to_string()))?,
    );
    ready();
    let mut sealer = Sealer::new(
        BufWriter::with_capacity(1 << 16, out),
        passphrase.as_bytes(),
    )?;
    let sink = |e: std::io::Error| BackupError::Format(format::format_error(e));
    write_entry(
        &mut sealer,
        MANIFEST,
        manifest_bytes.len() as u64,
        &mut &manifest_bytes[..],
    )
    .map_err(sink)?;
    let mut database = std::fs::File::open(&copy_path).map_err(io(&copy_path))?;
    write_entry(&mut sealer, DATABASE, database_bytes, &mut database).map_err(sink)?;
    for name in &files {
        let path = data_dir.join(name);
        let bytes = Zeroizing::new(std::fs::read(&path).map_err(io(&path))?);
        write_entry(&mut sealer, name, bytes.len() as u64, &mut &bytes[..]).map_err(sink)?;
    }
    write_entry(&mut sealer, "", 0, &mut std::io::empty()).map_err(sink)?;
    sealer
        .finish()?
        .flush()
        .map_err(|e| BackupError::Format(e.into()))?;
    drop(copy);
    Ok(Summary {
        created_ms: now_ms,
        dock_name: config.dock.name.clone(),
        schema_version: snapshot.schema_version,
        database_bytes,
        tables: snapshot.tables,
        files,
        pseudonym_key_id,
    })
}

fn write_entry(
    out: &mut impl Write,
    name: &str,
    len: u64,
    bytes: &mut impl Read,
) -> std::io::Result<()> {
    let name_len = u16::try_from(name.len()).map_err(std::io::Error::other)?;
    out.write_all(&name_len.to_be_bytes())?;
    out.write_all(name.as_bytes())?;
    out.write_all(&len.to_be_bytes())?;
    let copied = std::io::copy(&mut bytes.take(len), out)?;
    if copied != len {
        return Err(std::io::Error::other(format!(
            "{name} changed while it was copied ({copied} of {len} bytes)"
        )));
    }
    Ok(())
}

/// Reads an entry's head: its name and length; `None` at the end marker.
fn read_entry_head(input: &mut impl Read) -> Result<Option<(String, u64)>, BackupError> {
    let read = |input: &mut dyn Read, buffer: &mut [u8]| {
        input
            .read_exact(buffer)
            .map_err(|e| match format::format_error(e) {
                FormatError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    BackupError::Payload("its contents end early".to_owned())
                }
                other => BackupError::Format(other),
            })
    };
    let mut len = [0u8; 2];
    read(input, &mut len)?;
    let mut name = vec![0u8; usize::from(u16::from_be_bytes(len))];
    read(input, &mut name)?;
    let mut size = [0u8; 8];
    read(input, &mut size)?;
    if name.is_empty() {
        return Ok(None);
    }
    let name = String::from_utf8(name)
        .map_err(|_| BackupError::Payload("an entry's name is not text".to_owned()))?;
    Ok(Some((name, u64::from_be_bytes(size))))
}

/// A backup file being read and authenticated.
type FileOpener = Opener<std::io::BufReader<std::fs::File>>;

/// The backup at `file` opened with `passphrase`, and its first entry, the manifest's bytes.
fn open_with_manifest(
    file: &Path,
    passphrase: &str,
) -> Result<(FileOpener, Zeroizing<Vec<u8>>), BackupError> {
    let input = std::fs::File::open(file).map_err(io(file))?;
    let mut opener = Opener::new(
        std::io::BufReader::with_capacity(1 << 16, input),
        passphrase.as_bytes(),
    )?;
    let Some((name, len)) = read_entry_head(&mut opener)? else {
        return Err(BackupError::Payload("it holds nothing".to_owned()));
    };
    if name != MANIFEST || len > MAX_SMALL_FILE {
        return Err(BackupError::Payload(
            "it does not start with its manifest".to_owned(),
        ));
    }
    let manifest = Zeroizing::new(read_small(&mut opener, len)?);
    Ok((opener, manifest))
}

/// A backup read through, authenticated, into the data folder's temporary copy.
struct Unpacked {
    manifest: Manifest,
    /// The database copy (under the manifest's key), removed when dropped.
    copy: TempFile,
    copy_path: PathBuf,
    files: BTreeMap<String, Zeroizing<Vec<u8>>>,
}

/// Reads the whole backup at `file` with `passphrase`: the manifest first (a newer schema is
/// refused before anything is written), the database into a temporary file beside `database`,
/// the small files into memory. Every byte is authenticated, and the end reached, before this
/// returns; on any error the temporary file is gone.
fn unpack(file: &Path, passphrase: &str, database: &Path) -> Result<Unpacked, BackupError> {
    let (mut opener, manifest_bytes) = open_with_manifest(file, passphrase)?;
    let probe: serde_json::Value = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| BackupError::Payload(format!("its manifest is not JSON ({e})")))?;
    let payload = probe["payload"].as_u64().unwrap_or(0);
    let schema = probe["schema_version"].as_u64().unwrap_or(u64::MAX);
    let known = crate::store::schema::VERSION;
    if payload > u64::from(PAYLOAD_VERSION) || schema > known as u64 {
        return Err(BackupError::Newer {
            found: usize::try_from(schema).unwrap_or(usize::MAX),
            known,
            payload: u32::try_from(payload).unwrap_or(u32::MAX),
        });
    }
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| BackupError::Payload(format!("its manifest is not one ({e})")))?;
    let copy_path = temp_beside(database, "restoring")?;
    let copy = TempFile(Some(copy_path.clone()));
    let mut files = BTreeMap::new();
    let mut database_seen = false;
    while let Some((name, len)) = read_entry_head(&mut opener)? {
        if name == DATABASE && !database_seen {
            database_seen = true;
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&copy_path)
                .map_err(io(&copy_path))?;
            let copied = std::io::copy(&mut (&mut opener).take(len), &mut out)
                .map_err(|e| BackupError::Format(format::format_error(e)))?;
            if copied != len {
                return Err(BackupError::Payload("its database ends early".to_owned()));
            }
            out.sync_all().map_err(io(&copy_path))?;
        } else if DOCK_FILES.contains(&name.as_str()) && len <= MAX_SMALL_FILE {
            files.insert(name, Zeroizing::new(read_small(&mut opener, len)?));
        } else {
            return Err(BackupError::Payload(format!(
                "it holds an unexpected entry {name:?}"
            )));
        }
    }
    // The end marker is the payload's end; the last chunk must come right after it.
    let mut rest = [0u8; 1];
    match opener.read(&mut rest) {
        Ok(0) => {}
        Ok(_) => {
            return Err(BackupError::Payload(
                "it holds bytes after its end".to_owned(),
            ));
        }
        Err(error) => return Err(BackupError::Format(format::format_error(error))),
    }
    if !database_seen {
        return Err(BackupError::Payload("it holds no database".to_owned()));
    }
    Ok(Unpacked {
        manifest,
        copy,
        copy_path,
        files,
    })
}

fn read_small(input: &mut impl Read, len: u64) -> Result<Vec<u8>, BackupError> {
    let mut bytes = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
    input
        .read_exact(&mut bytes)
        .map_err(|e| match format::format_error(e) {
            FormatError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                BackupError::Payload("its contents end early".to_owned())
            }
            other => BackupError::Format(other),
        })?;
    Ok(bytes)
}

/// Checks a backup file end to end with `passphrase` without restoring anything: its manifest.
pub fn verify(file: &Path, passphrase: &str) -> Result<Manifest, BackupError> {
    let (mut opener, manifest_bytes) = open_with_manifest(file, passphrase)?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| BackupError::Payload(format!("its manifest is not one ({e})")))?;
    std::io::copy(&mut opener, &mut std::io::sink())
        .map_err(|e| BackupError::Format(format::format_error(e)))?;
    Ok(manifest)
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restored {
    pub summary: Summary,
    /// The files it replaced (their old versions were removed once the new ones were complete).
    pub replaced: Vec<String>,
    /// Whether it made a new database key (the new dock had none).
    pub made_database_key: bool,
}

/// Restores the backup at `file` into `config`'s data folder; the caller has made sure no daemon
/// runs there (it holds the control socket). Steps, none replacing anything until the one before
/// succeeded:
///
/// 1. The whole backup is read and authenticated; the database copy lands beside the database
///    under its own key, the small files in memory; a newer schema is refused.
/// 2. What would be replaced is listed; without `replace` that is a refusal.
/// 3. The database key: the dock's key file when there is one, else a new one (0600), unless
///    `[privacy] encrypt_database = false`.
/// 4. The copy is checked (`integrity_check`) and re-encrypted into `<db>.restored-…` under that
///    key, checked again (integrity, schema, every table's rows against the manifest), fsynced.
/// 5. An old database is checkpointed if it opens, linked aside with its WAL, then the new one
///    is renamed over it (one atomic step) and the folder fsynced; then the pseudonym key and the
///    certificate the same way; then the old versions set aside are removed.
/// 6. Every file written is given the data folder's owner (a restore run as root for a daemon
///    running as `dockd`).
pub fn restore(
    config: &Config,
    file: &Path,
    passphrase: &str,
    replace: bool,
) -> Result<Restored, BackupError> {
    let data_dir = config.storage.data_dir.clone();
    crate::store::data_folder::prepare(&data_dir)?;
    let database = config.database_path();
    remove_leftovers(&database);
    let unpacked = unpack(file, passphrase, &database)?;
    let manifest = &unpacked.manifest;
    if let (Some(site), Some(want)) = (&config.privacy.site_key_file, &manifest.pseudonym_key_id) {
        let have = crate::worker::Pseudonyms::load_site(site)
            .map_err(|e| BackupError::Refused(e.to_string()))?
            .key_id();
        if &have != want {
            return Err(BackupError::Refused(format!(
                "the backup's workers have pseudonyms under key {want}, but [privacy] site_key_file holds key {have}: every worker would get a new pseudonym. Configure the key the old dock used (its site key file, or no site_key_file when it used its own key, which the backup holds), then restore again; nothing was changed"
            )));
        }
    }
    // What would be replaced.
    let mut replaced = Vec::new();
    let state = crate::store::key::file_state(&database).map_err(io(&database))?;
    if !matches!(
        state,
        crate::store::key::FileState::Absent | crate::store::key::FileState::Empty
    ) {
        replaced.push(database.display().to_string());
    }
    for (name, bytes) in &unpacked.files {
        let path = data_dir.join(name);
        if let Ok(old) = std::fs::read(&path)
            && old != bytes.as_slice()
        {
            replaced.push(path.display().to_string());
        }
    }
    if !replaced.is_empty() && !replace {
        return Err(BackupError::WouldReplace(replaced.join(", ")));
    }
    // The dock's own key for the restored database (made when it has none).
    let restored_path = temp_beside(&database, "restored")?;
    let restored_guard = TempFile(Some(restored_path.clone()));
    let key_file = config.database_key_path();
    let had_key = key_file.exists();
    let target = if config.privacy.encrypt_database {
        Database::prepare(&restored_path, &key_file)?
    } else {
        Database::plaintext(&restored_path)
    };
    let made_database_key = config.privacy.encrypt_database && !had_key;
    let snapshot_key = DatabaseKey::from_hex(manifest.database_key.as_bytes())
        .map_err(|problem| BackupError::Payload(format!("its database key {problem}")))?;
    let copy = Database::with_key(&unpacked.copy_path, snapshot_key);
    snapshot::rekey_checked(&copy, &target, &manifest.tables)?;
    drop(copy);
    // Swap in, each replacement one rename.
    let owner = std::fs::metadata(&data_dir).map_err(io(&data_dir))?;
    let owner = (owner.uid(), owner.gid());
    give(&restored_path, owner)?;
    let mut aside = Vec::new();
    if state != crate::store::key::FileState::Absent {
        checkpoint_old(config);
        let old = sibling(&database, "before-restore");
        let _ = std::fs::remove_file(&old);
        std::fs::hard_link(&database, &old).map_err(io(&old))?;
        aside.push(old.clone());
        for suffix in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{suffix}", database.display()));
            if side.exists() {
                let moved = PathBuf::from(format!("{}{suffix}", old.display()));
                std::fs::rename(&side, &moved).map_err(io(&side))?;
                aside.push(moved);
            }
        }
        crate::store::key::sync_dir(&data_dir).map_err(io(&data_dir))?;
    }
    std::fs::rename(&restored_path, &database).map_err(io(&database))?;
    std::mem::forget(restored_guard);
    crate::store::key::sync_dir(&data_dir).map_err(io(&data_dir))?;
    for (name, bytes) in &unpacked.files {
        let path = data_dir.join(name);
        let tmp = temp_beside(&path, "restoring")?;
        let guard = TempFile(Some(tmp.clone()));
        {
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io(&tmp))?;
            out.write_all(bytes).map_err(io(&tmp))?;
            out.sync_all().map_err(io(&tmp))?;
        }
        give(&tmp, owner)?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        std::mem::forget(guard);
    }
    crate::store::key::sync_dir(&data_dir).map_err(io(&data_dir))?;
    for old in aside {
        let _ = std::fs::remove_file(old);
    }
    if made_database_key && key_file.parent() == data_dir.parent() {
        // The default key file beside the data folder: the daemon's user must read it.
        give(&key_file, owner)?;
    }
    drop(unpacked.copy);
    Ok(Restored {
        summary: Summary {
            created_ms: manifest.created_ms,
            dock_name: manifest.dock_name.clone(),
            schema_version: manifest.schema_version,
            database_bytes: std::fs::metadata(&database).map(|m| m.len()).unwrap_or(0),
            tables: manifest.tables.clone(),
            files: manifest.files.clone(),
            pseudonym_key_id: manifest.pseudonym_key_id.clone(),
        },
        replaced,
        made_database_key,
    })
}

/// Gives the database's files (`dockd.db`, its WAL and shared memory, when there) to the data
/// folder's owner: a command run as root after the restore (its audit line) must not leave a file
/// the daemon's user cannot open.
pub fn give_database_files(config: &Config) -> Result<(), BackupError> {
    let data_dir = &config.storage.data_dir;
    let owner = std::fs::metadata(data_dir).map_err(io(data_dir))?;
    let database = config.database_path();
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", database.display()));
        if path.exists() {
            give(&path, (owner.uid(), owner.gid()))?;
        }
    }
    Ok(())
}

/// Removes what a backup or restore cut short (a power cut, `kill -9`) left beside the database:
/// copies under keys nobody holds any more, and a replaced database set aside. Only while no
/// daemon runs (a restore holds the control socket), so no backup is being written.
fn remove_leftovers(database: &Path) {
    let (Some(folder), Some(name)) = (database.parent(), database.file_name()) else {
        return;
    };
    let name = name.to_string_lossy();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&*name) else {
            continue;
        };
        if [".backup-", ".restoring-", ".restored-", ".before-restore"]
            .iter()
            .any(|mark| rest.starts_with(mark))
        {
            tracing::info!(file = %file, "Removing what an interrupted backup or restore left.");
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// `<path>.<what>`.
fn sibling(path: &Path, what: &str) -> PathBuf {
    PathBuf::from(format!("{}.{what}", path.display()))
}

/// Folds an old database's WAL into it when it opens (so setting it aside keeps it whole); a
/// database that does not open (its key lost) is set aside with its WAL as it is.
fn checkpoint_old(config: &Config) {
    let Ok(db) = config.existing_database() else {
        return;
    };
    if let Ok(conn) = db.connect(rusqlite::OpenFlags::default()) {
        let _ = conn.busy_timeout(std::time::Duration::from_secs(10));
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
}

/// Gives `path` to `owner` when it is someone else's (a restore run as root).
fn give(path: &Path, (uid, gid): (u32, u32)) -> Result<(), BackupError> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if (meta.uid(), meta.gid()) == (uid, gid) {
        return Ok(());
    }
    nix::unistd::chown(
        path,
        Some(nix::unistd::Uid::from_raw(uid)),
        Some(nix::unistd::Gid::from_raw(gid)),
    )
    .map_err(|e| BackupError::Io {
        path: path.display().to_string(),
        source: std::io::Error::from(e),
    })
}

#[cfg(test)]
mod tests;
