//! Encryption at rest: the database key file, the [`Database`] handle (a file and the key that
//! opens it), keyed connections, and turning a plaintext database into an encrypted one in place.
//! It owns the key's bytes; it must never log, print or write the key anywhere but its own 0600
//! file, and never create a key for, or empty, a database that is already encrypted.
//!
//! SQLCipher (built into rusqlite with `bundled-sqlcipher-vendored-openssl`) encrypts every page
//! of the database and of its WAL with AES-256-CBC and authenticates it with HMAC-SHA256. The key
//! is a raw 256-bit key (`PRAGMA key = "x'…'"`), so no passphrase derivation runs per connection.
//!
//! **Architecture invariant:** a database file that is not plaintext SQLite is opened only with
//! its key; a missing, unreadable or wrong key locks the dock (no connection, no new file, no new
//! key) and never yields a fresh empty database.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// The first 16 bytes of every plaintext SQLite database.
const PLAINTEXT_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Why the dock is locked: its database exists but cannot be opened with the key it has, or must
/// not be touched by this build (a newer dockd wrote it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Locked {
    #[error(
        "this database was written by a newer dockd (schema {found}); this dockd knows schema {known}. Install the newer version again; the data is kept ({database} is left untouched, and until then the dock pulls nothing and erases nothing)"
    )]
    NewerSchema {
        database: PathBuf,
        found: usize,
        known: usize,
    },
    #[error(
        "the database {database} is encrypted and its key file {key_file} ([privacy] database_key_file) is missing: restore the key file from where it was kept (it is never made again for an existing database); until then the dock pulls nothing and erases nothing"
    )]
    KeyMissing {
        database: PathBuf,
        key_file: PathBuf,
    },
    #[error(
        "the key file {key_file} ([privacy] database_key_file) cannot be read ({problem}); until it can, the dock pulls nothing and erases nothing"
    )]
    KeyUnreadable { key_file: PathBuf, problem: String },
    #[error(
        "the key file {key_file} ([privacy] database_key_file) {problem}: it must hold 32 bytes as exactly 64 hex characters; it is left as it is, and until it is right the dock pulls nothing and erases nothing"
    )]
    KeyMalformed { key_file: PathBuf, problem: String },
    #[error(
        "the key file {key_file} ([privacy] database_key_file) is open to other local users (mode {mode:04o}) and belongs to another user: run `chmod 600 {key_file}` or give it to the user dockd runs as; until then the dock pulls nothing and erases nothing"
    )]
    KeyExposed { key_file: PathBuf, mode: u32 },
    #[error(
        "the database {database} does not open with the key in {key_file} ([privacy] database_key_file): the key is not this database's (or the file is damaged); put back the right key file — the database is left untouched, and until then the dock pulls nothing and erases nothing"
    )]
    WrongKey {
        database: PathBuf,
        key_file: PathBuf,
    },
}

/// What a database file holds, read from its first bytes only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// No file yet.
    Absent,
    /// A file with no bytes (SQLite writes nothing until the first table).
    Empty,
    /// A plaintext SQLite database.
    Plaintext,
    /// Anything else: an encrypted database (or one damaged beyond its header).
    Encrypted,
}

/// What the file at `path` holds.
pub fn file_state(path: &Path) -> std::io::Result<FileState> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok(FileState::Absent);
        }
        Err(error) => return Err(error),
    };
    let mut head = [0u8; 16];
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..])? {
            0 => break,
            n => read += n,
        }
    }
    Ok(match read {
        0 => FileState::Empty,
        16 if &head == PLAINTEXT_HEADER => FileState::Plaintext,
        _ => FileState::Encrypted,
    })
}

/// A 256-bit database key. Its `Debug` shows nothing of it; its bytes are overwritten when it is
/// dropped.
pub struct DatabaseKey([u8; 32]);

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseKey(…)")
    }
}

impl Drop for DatabaseKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl DatabaseKey {
    /// A new key from the operating system's random source.
    pub fn random() -> std::io::Result<Self> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Self(key))
    }

    /// The value of `PRAGMA key` for this raw key: `x'<64 hex>'`.
    fn pragma_value(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(format!("x'{}'", hex::encode(self.0)))
    }
}

impl DatabaseKey {
    /// Reads a key file as the daemon does (never creating one): `None` when it does not exist.
    pub fn from_file(key_file: &Path) -> Result<Option<Self>, StoreError> {
        read_key_file(key_file)
    }
}

/// An encrypted database's page size. Every page written is encrypted and authenticated whole,
/// and a commit rewrites each index leaf it touches: 16 KiB pages still hold a raw sample block
/// (12 KiB) without an overflow chain, and cost a quarter of 64 KiB pages per touched leaf.
const CIPHER_PAGE_SIZE: i64 = 16_384;

/// Each page's authentication: HMAC-SHA256, not SQLCipher 4's default SHA-512 — with the SHA
/// instructions x86 docks have (SHA-NI) it costs a fraction of SHA-512, and 256 bits of tag
/// are as strong an authenticator (measured: the ingest benchmark in the README).
const HMAC: &str = "HMAC_SHA256";

/// SQLCipher's bytes at the end of every page: a 16-byte IV and a 32-byte HMAC-SHA256.
const RESERVED: usize = 48;
/// A WAL file's header, and each frame's header before its page.
const WAL_HEADER: usize = 32;
const WAL_FRAME_HEADER: usize = 24;

/// Every page of an encrypted database file — or every frame of its WAL — decrypted with `key`,
/// free pages and old frames included, concatenated: what someone holding the file and the key
/// could read. It reads and never writes; the tests that prove erasure scan it for markers.
pub fn decrypt_every_page(file: &Path, key: &DatabaseKey) -> std::io::Result<Vec<u8>> {
    use aws_lc_rs::cipher::{AES_256, DecryptingKey, DecryptionContext, UnboundCipherKey};
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let page = usize::try_from(PAGE_SIZE_BYTES).map_err(std::io::Error::other)?;
    let is_wal = file.to_string_lossy().ends_with("-wal");
    let (start, stride, skip) = if is_wal {
        (WAL_HEADER, WAL_FRAME_HEADER + page, WAL_FRAME_HEADER)
    } else {
        (0, page, 0)
    };
    // One key schedule for every page.
    let cipher = UnboundCipherKey::new(&AES_256, &key.0)
        .and_then(DecryptingKey::cbc)
        .map_err(|_| std::io::Error::other("AES key"))?;
    let mut plain = Vec::with_capacity(bytes.len());
    let mut at = start;
    while at + stride <= bytes.len() {
        let frame = &bytes[at + skip..at + stride];
        let page_number = if is_wal {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        } else {
            u32::try_from(at / page + 1).unwrap_or(u32::MAX)
        };
        // Page 1 keeps the file's salt in its first 16 bytes, in the clear.
        let offset = if page_number == 1 { 16 } else { 0 };
        let mut data = frame[offset..page - RESERVED].to_vec();
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&frame[page - RESERVED..page - RESERVED + 16]);
        cipher
            .decrypt(&mut data, DecryptionContext::Iv128(iv.into()))
            .map_err(|_| std::io::Error::other("AES-CBC decryption"))?;
        plain.extend_from_slice(&data);
        at += stride;
    }
    Ok(plain)
}

/// [`CIPHER_PAGE_SIZE`] as a byte count.
const PAGE_SIZE_BYTES: i64 = CIPHER_PAGE_SIZE;

/// Parses a key file's text: exactly 64 hex characters (either case), whitespace at the end
/// tolerated. The error says what is wrong without quoting the text.
pub fn parse_hex_key(text: &[u8]) -> Result<[u8; 32], String> {
    let end = text
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let hex_text = text.get(..end).unwrap_or_default();
    if let Some(at) = hex_text.iter().position(|b| !b.is_ascii_hexdigit()) {
        return Err(format!(
            "has a character that is not a hex digit at position {}",
            at + 1
        ));
    }
    if hex_text.len() != 64 {
        return Err(format!("has {} hex characters, not 64", hex_text.len()));
    }
    let mut key = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut key).map_err(|_| "is not hex".to_owned())?;
    Ok(key)
}

/// The database file and what opens it: every connection the store makes goes through here.
#[derive(Clone)]
pub struct Database {
    path: PathBuf,
    key: Option<Arc<DatabaseKey>>,
    key_file: Option<PathBuf>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .field("encrypted", &self.key.is_some())
            .finish()
    }
}

impl Database {
    /// The dock's database at `path`, encrypted with the key in `key_file`, which is created
    /// (0600, from the OS random source) only when it is missing and the database is not already
    /// encrypted. Anything that would leave an existing database unopenable is [`Locked`].
    pub fn prepare(path: &Path, key_file: &Path) -> Result<Self, StoreError> {
        Self::load(path, key_file, true)
    }

    /// The same, for a command that only reads or adds to an existing database: it never
    /// creates a key.
    pub fn existing(path: &Path, key_file: &Path) -> Result<Self, StoreError> {
        Self::load(path, key_file, false)
    }

    fn load(path: &Path, key_file: &Path, may_create: bool) -> Result<Self, StoreError> {
        if !may_create && !path.exists() {
            return Err(StoreError::Missing(path.display().to_string()));
        }
        let key = match read_key_file(key_file)? {
            Some(key) => key,
            None => {
                if may_create_key(path)? == KeyPrepared::LeftMissing {
                    return Err(StoreError::Locked(Locked::KeyMissing {
                        database: path.to_owned(),
                        key_file: key_file.to_owned(),
                    }));
                }
                if !may_create {
                    return Err(StoreError::Locked(Locked::KeyUnreadable {
                        key_file: key_file.to_owned(),
                        problem: "there is no such file; dockd makes it at its first start"
                            .to_owned(),
                    }));
                }
                create_key_file(key_file)?
            }
        };
        Ok(Self {
            path: path.to_owned(),
            key: Some(Arc::new(key)),
            key_file: Some(key_file.to_owned()),
        })
    }

    /// The database with `[privacy] encrypt_database = false`: plaintext, unless the file is
    /// already encrypted, which keeps opening with its key (never made here).
    pub fn unencrypted(path: &Path, key_file: &Path) -> Result<Self, StoreError> {
        let state = file_state(path).map_err(|e| StoreError::DataDir {
            path: path.display().to_string(),
            source: e,
        })?;
        if state == FileState::Encrypted {
            return Self::load(path, key_file, false);
        }
        Ok(Self::plaintext(path))
    }

    /// An encrypted database under a key held in memory (tests, benchmarks).
    pub fn with_key(path: &Path, key: DatabaseKey) -> Self {
        Self {
            path: path.to_owned(),
            key: Some(Arc::new(key)),
            key_file: None,
        }
    }

    /// Another file under the same key (or plaintext, as this one is): a copy of this database.
    pub fn with_path(&self, path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            key: self.key.clone(),
            key_file: self.key_file.clone(),
        }
    }

    /// An encrypted database whose key lives in `<path>.test-key` (made on first use), so every
    /// handle a test makes for one path opens it.
    #[cfg(test)]
    pub(crate) fn for_tests(path: &Path) -> Self {
        match Self::prepare(path, &sibling(path, "test-key")) {
            Ok(db) => db,
            Err(error) => panic!("test database key: {error}"),
        }
    }

    /// A plaintext database (the encryption-off side of the benchmarks; a database made before
    /// encryption, read by the migration).
    pub fn plaintext(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            key: None,
            key_file: None,
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key this handle opens the file with, if any.
    pub(crate) fn key(&self) -> Option<&DatabaseKey> {
        self.key.as_deref()
    }

    /// Whether this handle opens the file with a key.
    pub fn is_encrypted(&self) -> bool {
        self.key.is_some()
    }

    /// Where the key is kept, when it came from a file.
    pub fn key_file(&self) -> Option<&Path> {
        self.key_file.as_deref()
    }

    /// A connection with the key applied and checked, and nothing else done (no schema work): a
    /// key that does not open the file is [`Locked::WrongKey`], and the file is left as it was.
    /// The store's own opens and repair tools and tests go through here.
    pub fn connect(&self, flags: OpenFlags) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(&self.path, flags)?;
        if let Some(key) = &self.key {
            apply_key(&conn, key)?;
            let opens = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            });
            if let Err(error) = opens {
                return Err(match error.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::NotADatabase) => StoreError::Locked(self.wrong_key()),
                    _ => error.into(),
                });
            }
        }
        Ok(conn)
    }

    fn wrong_key(&self) -> Locked {
        Locked::WrongKey {
            database: self.path.clone(),
            key_file: self
                .key_file
                .clone()
                .unwrap_or_else(|| PathBuf::from("(a key given in memory)")),
        }
    }

    /// Encrypts a plaintext database in place, crash-safely: a power cut at any step leaves one
    /// complete database under the database's name, the plaintext one or the encrypted one, and
    /// the next start finishes the job. Does nothing when the file is not plaintext.
    ///
    /// 1. The plaintext database's WAL is checkpointed into it and the connection closed (its WAL
    ///    and shared-memory files go).
    /// 2. `sqlcipher_export` copies every table, index, trigger and the schema version into
    ///    `<db>.encrypting`, made afresh; the copy is fsynced.
    /// 3. The plaintext file gets a second name, `<db>.plaintext` (a hard link), then the
    ///    encrypted copy is renamed over the database's name and the folder fsynced: the switch
    ///    is one atomic rename.
    /// 4. The plaintext file's bytes are overwritten with zeros, fsynced, and the file removed.
    ///    This narrows, but on flash storage cannot close, the window in which a copy of the disk
    ///    still holds them (see the README's threat model).
    pub fn encrypt_in_place(&self) -> Result<bool, StoreError> {
        let Some(key) = &self.key else {
            return Ok(false);
        };
        let io = |path: &Path, source: std::io::Error| StoreError::DataDir {
            path: path.display().to_string(),
            source,
        };
        let leftover = sibling(&self.path, "plaintext");
        let state = file_state(&self.path).map_err(|e| io(&self.path, e))?;
        if state != FileState::Plaintext {
            // Step 4 may have been cut short: finish it.
            if leftover.exists() {
                wipe_and_remove(&leftover).map_err(|e| io(&leftover, e))?;
            }
            return Ok(false);
        }
        tracing::info!(
            database = %self.path.display(),
            "Encrypting the database at rest (once; the plaintext file is replaced when the encrypted copy is complete)."
        );
        let encrypting = sibling(&self.path, "encrypting");
        for stale in [&encrypting, &leftover] {
            remove_if_present(stale).map_err(|e| io(stale, e))?;
            for suffix in ["-wal", "-shm", "-journal"] {
                let side = PathBuf::from(format!("{}{suffix}", stale.display()));
                remove_if_present(&side).map_err(|e| io(&side, e))?;
            }
        }
        {
            let plain = Connection::open(&self.path)?;
            plain.busy_timeout(std::time::Duration::from_secs(10))?;
            plain.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            export_into(&plain, &encrypting, Some(key))?;
            plain.close().map_err(|(_, e)| e)?;
        }
        sync_file(&encrypting).map_err(|e| io(&encrypting, e))?;
        // The copy must open with the key and hold what the original holds before it replaces it.
        check_copy(&self.path, &encrypting, key)?;
        // The copy leaves SQLite's export in rollback-journal mode: it is put in WAL mode under
        // its temporary name, so nothing writes the database's header under its real name later
        // (a kill there would leave a hot journal a read-only open cannot roll back).
        {
            let copy = Connection::open(&encrypting)?;
            apply_key(&copy, key)?;
            copy.pragma_update(None, "journal_mode", "WAL")?;
            copy.close().map_err(|(_, e)| e)?;
        }
        sync_file(&encrypting).map_err(|e| io(&encrypting, e))?;
        std::fs::hard_link(&self.path, &leftover).map_err(|e| io(&leftover, e))?;
        let folder = self.path.parent().unwrap_or(Path::new("."));
        sync_dir(folder).map_err(|e| io(folder, e))?;
        std::fs::rename(&encrypting, &self.path).map_err(|e| io(&self.path, e))?;
        sync_dir(folder).map_err(|e| io(folder, e))?;
        wipe_and_remove(&leftover).map_err(|e| io(&leftover, e))?;
        tracing::info!(database = %self.path.display(), "The database is now encrypted at rest.");
        Ok(true)
    }
}

/// What [`prepare_key_file`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPrepared {
    /// A key file is there (it was read, so it is well formed and private).
    Existing,
    /// There was none and the database is not encrypted: a new key file was made (0600).
    Created,
    /// There is none and the database is already encrypted: no key is made (a new one could not
    /// open it); the dock stays locked until the key file is put back.
    LeftMissing,
}

/// The database key file, made beforehand by whoever may write where it lives (the package's
/// `dockd-key.service`, as root), by the rule [`Database::prepare`] follows: only when it is
/// missing and the database is not already encrypted. A malformed or exposed key file is an
/// error, never replaced.
pub fn prepare_key_file(database: &Path, key_file: &Path) -> Result<KeyPrepared, StoreError> {
    if read_key_file(key_file)?.is_some() {
        return Ok(KeyPrepared::Existing);
    }
    if may_create_key(database)? == KeyPrepared::LeftMissing {
        return Ok(KeyPrepared::LeftMissing);
    }
    create_key_file(key_file)?;
    Ok(KeyPrepared::Created)
}

/// Whether a missing key may be made for `database`: [`KeyPrepared::Created`] unless the file is
/// already encrypted ([`KeyPrepared::LeftMissing`]).
fn may_create_key(database: &Path) -> Result<KeyPrepared, StoreError> {
    let state = file_state(database).map_err(|e| StoreError::DataDir {
        path: database.display().to_string(),
        source: e,
    })?;
    Ok(if state == FileState::Encrypted {
        KeyPrepared::LeftMissing
    } else {
        KeyPrepared::Created
    })
}

/// Copies every table, index, trigger and the schema version of `conn`'s main database into a
/// new file `target` (0600), encrypted under `key` or plaintext without one, with the page layout
/// and `auto_vacuum` the store uses. Inside a transaction `conn` holds, the copy is that
/// transaction's snapshot: a writer on another connection may go on committing meanwhile. The
/// copy is fsynced.
pub(crate) fn export_into(
    conn: &Connection,
    target: &Path,
    key: Option<&DatabaseKey>,
) -> Result<(), StoreError> {
    attach_copy(conn, target, key)?;
    let copied = copy_attached(conn);
    let detached = conn.execute_batch("DETACH DATABASE copy");
    copied?;
    detached?;
    sync_file(target).map_err(|source| StoreError::DataDir {
        path: target.display().to_string(),
        source,
    })
}

/// Makes `target` (0600) and attaches it to `conn` as `copy`, under `key` or plaintext, with the
/// store's page layout. ATTACH cannot run inside a transaction: a snapshot attaches first.
pub(crate) fn attach_copy(
    conn: &Connection,
    target: &Path,
    key: Option<&DatabaseKey>,
) -> Result<(), StoreError> {
    super::data_folder::create_private_file(target)?;
    let value = key.map_or_else(
        || zeroize::Zeroizing::new(String::new()),
        |k| k.pragma_value(),
    );
    conn.execute(
        "ATTACH DATABASE ?1 AS copy KEY ?2",
        rusqlite::params![target.display().to_string(), value.as_str()],
    )?;
    let set = (|| {
        if key.is_some() {
            conn.pragma_update(Some("copy"), "cipher_page_size", CIPHER_PAGE_SIZE)?;
            conn.pragma_update(Some("copy"), "cipher_hmac_algorithm", HMAC)?;
        } else {
            conn.pragma_update(Some("copy"), "page_size", super::PAGE_SIZE)?;
        }
        conn.pragma_update(Some("copy"), "auto_vacuum", "INCREMENTAL")
    })();
    if let Err(error) = set {
        let _ = conn.execute_batch("DETACH DATABASE copy");
        return Err(error.into());
    }
    Ok(())
}

/// Copies `main` into the attached `copy`: every table, index and trigger
/// (`sqlcipher_export`), then the schema version.
pub(crate) fn copy_attached(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.pragma_query_value(Some("main"), "user_version", |r| r.get(0))?;
    conn.query_row("SELECT sqlcipher_export('copy')", [], |_| Ok(()))?;
    conn.pragma_update(Some("copy"), "user_version", version)
}

impl DatabaseKey {
    /// The key as 64 lowercase hex characters (a backup's manifest carries its snapshot's key
    /// inside the backup's encryption).
    pub fn to_hex(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(hex::encode(self.0))
    }

    /// A key from 64 hex characters ([`parse_hex_key`]'s rules).
    pub fn from_hex(text: &[u8]) -> Result<Self, String> {
        parse_hex_key(text).map(Self)
    }
}

/// `<db>.<what>` beside the database.
fn sibling(path: &Path, what: &str) -> PathBuf {
    PathBuf::from(format!("{}.{what}", path.display()))
}

/// Sets the key and the page layout a connection needs before its first read. The same settings
/// on every connection: SQLCipher keeps them in no header.
fn apply_key(conn: &Connection, key: &DatabaseKey) -> Result<(), StoreError> {
    // A wrong key is reported as a sentence by the caller; SQLCipher's own stderr line would be
    // a second, unstructured one.
    conn.pragma_update(None, "cipher_log_level", "NONE")?;
    conn.pragma_update(None, "key", key.pragma_value().as_str())?;
    conn.pragma_update(None, "cipher_page_size", CIPHER_PAGE_SIZE)?;
    conn.pragma_update(None, "cipher_hmac_algorithm", HMAC)?;
    Ok(())
}

/// Checks that the encrypted copy opens with the key and has as many rows in every table as
/// the plaintext original.
fn check_copy(original: &Path, copy: &Path, key: &DatabaseKey) -> Result<(), StoreError> {
    let plain = Connection::open_with_flags(original, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let encrypted = Connection::open_with_flags(copy, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    apply_key(&encrypted, key)?;
    let tables: Vec<String> = plain
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for table in tables {
        let sql = format!("SELECT count(*) FROM \"{}\"", table.replace('"', "\"\""));
        let before: i64 = plain.query_row(&sql, [], |r| r.get(0))?;
        let after: i64 = encrypted.query_row(&sql, [], |r| r.get(0))?;
        if before != after {
            return Err(StoreError::Corrupt(format!(
                "the encrypted copy of table {table} has {after} rows, the original {before}: the database was left as it was"
            )));
        }
    }
    Ok(())
}

/// Reads the key file: `None` when it does not exist or holds nothing but whitespace. A file other
/// users could read is made private when dockd owns it, and refused when it does not.
fn read_key_file(key_file: &Path) -> Result<Option<DatabaseKey>, StoreError> {
    let unreadable = |problem: String| {
        StoreError::Locked(Locked::KeyUnreadable {
            key_file: key_file.to_owned(),
            problem,
        })
    };
    let mut file = match std::fs::File::open(key_file) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(unreadable(error.to_string())),
    };
    let meta = file.metadata().map_err(|e| unreadable(e.to_string()))?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        if meta.uid() == nix::unistd::geteuid().as_raw() {
            tracing::warn!(
                key_file = %key_file.display(),
                mode = format!("{mode:04o}"),
                "The database key file was open to other local users; made it private (0600)."
            );
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| unreadable(e.to_string()))?;
        } else {
            return Err(StoreError::Locked(Locked::KeyExposed {
                key_file: key_file.to_owned(),
                mode,
            }));
        }
    }
    let mut text = Vec::with_capacity(80);
    file.read_to_end(&mut text)
        .map_err(|e| unreadable(e.to_string()))?;
    if text.iter().all(u8::is_ascii_whitespace) {
        // Nothing in it is no key: the unit's blank fallback when systemd found no key file
        // (`SetCredential=` in dockd.service), or a file cut short before it was ever written.
        return Ok(None);
    }
    let key = parse_hex_key(&text).map_err(|problem| {
        StoreError::Locked(Locked::KeyMalformed {
            key_file: key_file.to_owned(),
            problem,
        })
    });
    zeroize::Zeroize::zeroize(&mut text);
    key.map(|key| Some(DatabaseKey(key)))
}

/// Makes a new key file (0600, written to a temporary name, fsynced, renamed, folder fsynced):
/// after a power cut the key file is complete or absent, never half written.
fn create_key_file(key_file: &Path) -> Result<DatabaseKey, StoreError> {
    let fail = |source: std::io::Error| StoreError::DataDir {
        path: key_file.display().to_string(),
        source,
    };
    let folder = match key_file.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    if !folder.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(folder)
            .map_err(fail)?;
    }
    let key = DatabaseKey::random().map_err(fail)?;
    let tmp = sibling(key_file, "tmp");
    {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(fail)?;
        let mut text = zeroize::Zeroizing::new(format!("{}\n", hex::encode(key.0)));
        file.write_all(text.as_bytes()).map_err(fail)?;
        zeroize::Zeroize::zeroize(&mut *text);
        file.sync_all().map_err(fail)?;
    }
    std::fs::rename(&tmp, key_file).map_err(fail)?;
    sync_dir(folder).map_err(fail)?;
    tracing::info!(
        key_file = %key_file.display(),
        "Created the database key (0600). Keep a copy somewhere safe: without it the database cannot be read."
    );
    Ok(key)
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

pub(crate) fn sync_file(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

pub(crate) fn sync_dir(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// Overwrites a file's bytes with zeros, fsyncs, and removes it.
fn wipe_and_remove(path: &Path) -> std::io::Result<()> {
    let mut file = OpenOptions::new().write(true).open(path)?;
    let len = file.metadata()?.len();
    let zeros = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(zeros.get(..n).unwrap_or_default())?;
        left -= n as u64;
    }
    file.sync_all()?;
    drop(file);
    std::fs::remove_file(path)?;
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(folder)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
