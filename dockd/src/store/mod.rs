//! The dock's durable store (SQLite, WAL, `synchronous=FULL`). It owns the database file, its
//! schema, the single writer and the read connections; it must never decide *whether* a segment
//! may be erased — it only answers, through the writer's acknowledgement, that a commit is durable.
//!
//! **Architecture invariant:** only [`Writer`] writes. A segment's rows are written in one
//! transaction whose commit is fsynced before the writer acknowledges it, and a pull sends ERASE
//! only after that acknowledgement.

pub mod accounts;
pub mod audit_chain;
pub mod compaction;
pub mod data_folder;
pub mod deletion;
pub mod diag;
#[cfg(test)]
mod erasure_tests;
pub mod export;
pub mod figures;
pub mod key;
pub mod outbox;
pub mod purge;
pub mod queue;
mod reader;
pub mod reports;
pub mod roster;
pub mod samples;
pub mod schema;
pub mod segments;
pub mod settings;
pub mod snapshot;
#[cfg(test)]
pub(crate) mod testing;
pub mod work_restrictions;
mod writer;

use rusqlite::{Connection, OpenFlags};

pub use accounts::{AuditEntry, AuditRow, NewUser, User};
pub use key::{Database, DatabaseKey, Locked};
pub use outbox::{
    BatchRow, BatchState, EvictionRow, NewBatch, OutboxChange, OutboxPolicy, PartitionQueue,
    Revision,
};
pub use reader::Reader;
pub use segments::{
    AlertRow, BlockRow, DiagRow, EventKind, EventRow, NewDocking, NewSegment, QuarantinedSegment,
    RawBlock, RecodedBlock, SegmentKey, SegmentState, StoreOutcome, WearableTotals,
};
pub use writer::{Writer, WriterThread, with_own_writer};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Migrate(#[from] schema::MigrateError),
    #[error("cannot prepare the data folder {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} is open to other local users (mode {mode:04o}) and belongs to another user, so dockd cannot make it private: give it to the user dockd runs as, or run `chmod go= {path}`"
    )]
    Exposed { path: String, mode: u32 },
    #[error("the commit failed, nothing of it was stored: {0}")]
    Commit(String),
    #[error("cannot start a store thread: {0}")]
    Thread(String),
    #[error("the store is shutting down")]
    Closed,
    #[error("no database at {0}: is the data folder right, and has dockd run there?")]
    Missing(String),
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Roster(#[from] roster::RosterError),
    #[error(transparent)]
    User(#[from] accounts::UserError),
    #[error(transparent)]
    Outbox(#[from] outbox::OutboxError),
    #[error("no such work restriction")]
    NoSuchWorkRestriction,
    #[error("the dock is locked: {0}")]
    Locked(#[from] key::Locked),
    #[error(transparent)]
    Deletion(#[from] deletion::DeletionError),
}

/// SQLite page size for new databases (see `open_for_writing`).
const PAGE_SIZE: i64 = 65536;

/// Opens (creating if needed) the database for writing and brings its schema up to date. The data
/// folder is made private first (see [`data_folder`]), and a new database file starts 0600. A
/// plaintext database meets its key here: it is encrypted in place first (see
/// [`Database::encrypt_in_place`]).
pub fn open_for_writing(db: &Database) -> Result<Connection, StoreError> {
    let path = db.path();
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        data_folder::prepare(dir)?;
    }
    // Before anything could change a byte of it (encryption in place, VACUUM, WAL mode).
    refuse_newer_schema(db)?;
    data_folder::create_private_file(path)?;
    db.encrypt_in_place()?;
    let mut conn = db.connect(OpenFlags::default())?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Only takes effect on a new plaintext file (an encrypted one takes SQLCipher's
    // `cipher_page_size`, set on every connection: see `key::CIPHER_PAGE_SIZE`). Sample blocks are multi-kilobyte blobs: large pages keep them
    // off long overflow chains and cut the write calls per committed byte.
    if !db.is_encrypted() {
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    }
    // Deleted content is really gone: SQLite overwrites it with zeros on every page it frees or
    // rewrites, and (auto_vacuum = INCREMENTAL, below) freed pages go back to the file system.
    conn.pragma_update(None, "secure_delete", "ON")?;
    incremental_auto_vacuum(&conn)?;
    // WAL lets the page and `dockd status` read while a pull commits. FULL: with WAL + NORMAL a
    // committed transaction can roll back after a power loss, and a wearable may already have erased
    // what that transaction held.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "journal_size_limit", 64i64 << 20)?;
    schema::migrate(&mut conn)?;
    let tx = conn.transaction()?;
    audit_chain::backfill(&tx)?;
    tx.commit()?;
    Ok(conn)
}

/// `auto_vacuum = INCREMENTAL`, so `PRAGMA incremental_vacuum` can give freed pages back. Only a
/// new file takes it directly; a database made before is converted once with a `VACUUM` (a
/// complete rewrite in one transaction: a power cut leaves the old file or the new one). A
/// conversion that fails (a full disk) leaves the database as it was and is tried at the next
/// open.
fn incremental_auto_vacuum(conn: &Connection) -> Result<(), StoreError> {
    const INCREMENTAL: i64 = 2;
    let mode: i64 = conn.pragma_query_value(None, "auto_vacuum", |r| r.get(0))?;
    if mode == INCREMENTAL {
        return Ok(());
    }
    conn.pragma_update(None, "auto_vacuum", INCREMENTAL)?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    if tables > 0 {
        tracing::info!(
            "Converting the database once so deleted data can be given back to the disk (VACUUM)."
        );
        if let Err(error) = conn.execute_batch("VACUUM") {
            tracing::warn!(
                "The database could not be converted ({error}); it is used as it is and tried again at the next start."
            );
        }
    }
    Ok(())
}

/// Opens the database read-only (for the page, `dockd status` and pull look-ups).
pub fn open_for_reading(db: &Database) -> Result<Connection, StoreError> {
    if !db.path().exists() {
        return Err(StoreError::Missing(db.path().display().to_string()));
    }
    let conn = db.connect(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    schema_known(db, &conn)?;
    Ok(conn)
}

/// Refuses, as [`Locked::NewerSchema`], a database whose schema version is newer than this build
/// knows (a downgrade): it is read through a read-only connection and never changed, so the newer
/// dockd finds it as it left it. An absent or empty file passes. The one exception is a hot
/// rollback journal a kill or power cut left beside it, which a read-only connection cannot
/// roll back: SQLite's own recovery rolls it back first (through a read-write connection that
/// writes nothing else), as any version opening the file would.
pub fn refuse_newer_schema(db: &Database) -> Result<(), StoreError> {
    match schema_known_read_only(db) {
        Err(StoreError::Sqlite(error)) if hot_journal(&error) => {
            tracing::info!(
                database = %db.path().display(),
                "Rolling back the transaction a stop left unfinished in the database."
            );
            roll_back_hot_journal(db)?;
            schema_known_read_only(db)
        }
        other => other,
    }
}

/// [`schema_known`] through a read-only connection.
fn schema_known_read_only(db: &Database) -> Result<(), StoreError> {
    let io = |source| StoreError::DataDir {
        path: db.path().display().to_string(),
        source,
    };
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match key::file_state(db.path()).map_err(io)? {
        key::FileState::Absent | key::FileState::Empty => return Ok(()),
        // A plaintext file a keyed handle will encrypt: read it as it is.
        key::FileState::Plaintext => Connection::open_with_flags(db.path(), flags)?,
        key::FileState::Encrypted => db.connect(flags)?,
    };
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    schema_known(db, &conn)
}

/// `SQLITE_READONLY_ROLLBACK`: a read-only connection met a hot journal.
fn hot_journal(error: &rusqlite::Error) -> bool {
    const SQLITE_READONLY_ROLLBACK: std::ffi::c_int = 8 | (3 << 8);
    matches!(error, rusqlite::Error::SqliteFailure(e, _) if e.extended_code == SQLITE_READONLY_ROLLBACK)
}

/// Opens the database read-write and reads its schema, which makes SQLite roll back a hot
/// journal; nothing else is written.
fn roll_back_hot_journal(db: &Database) -> Result<(), StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match key::file_state(db.path()) {
        Ok(key::FileState::Encrypted) => db.connect(flags)?,
        _ => Connection::open_with_flags(db.path(), flags)?,
    };
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
    conn.close().map_err(|(_, e)| e)?;
    Ok(())
}

/// [`Locked::NewerSchema`] when `conn`'s database has a schema version above [`schema::VERSION`].
fn schema_known(db: &Database, conn: &Connection) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let found = usize::try_from(found).unwrap_or(usize::MAX);
    if found > schema::VERSION {
        return Err(StoreError::Locked(Locked::NewerSchema {
            database: db.path().to_owned(),
            found,
            known: schema::VERSION,
        }));
    }
    Ok(())
}
