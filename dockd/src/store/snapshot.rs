//! A consistent copy of the database while the daemon runs, for `dockd backup`, and the checks a
//! restored copy passes before it may replace anything. It owns the copy's file and its fresh
//! key; it must never write the live database (the copy is read inside one read transaction on
//! a connection of its own while the writer goes on committing) nor leave a plaintext copy on
//! disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::key::{Database, DatabaseKey, attach_copy, copy_attached, export_into};
use super::{StoreError, schema};

/// A copy of the database under a key of its own, and what it held.
pub struct Snapshot {
    /// The copy: SQLCipher under [`Snapshot::key`], 0600, beside the database.
    pub path: PathBuf,
    pub key: DatabaseKey,
    /// Its schema version (`user_version`).
    pub schema_version: usize,
    /// Rows per table at the instant of the copy.
    pub tables: BTreeMap<String, i64>,
}

/// Copies `db` into `into` (a new file) as one read transaction sees it, encrypted under a fresh
/// random key. A writer on another connection keeps committing meanwhile (WAL); nothing it
/// commits after the copy's first read is in the copy.
pub fn take(db: &Database, into: &Path) -> Result<Snapshot, StoreError> {
    let key = DatabaseKey::random().map_err(|source| StoreError::DataDir {
        path: into.display().to_string(),
        source,
    })?;
    let (tables, schema_version) = copy(db, into, Some(&key))?;
    Ok(Snapshot {
        path: into.to_owned(),
        key,
        schema_version,
        tables,
    })
}

/// Copies `db` into `into` (a new file) under `db`'s own key (or plaintext, as `db` is), as one
/// read transaction sees it, and returns the copy's schema version: the launcher's copy from
/// before a version's trial, which can be renamed back over the database as it is.
pub fn copy_as_is(db: &Database, into: &Path) -> Result<usize, StoreError> {
    let _ = std::fs::remove_file(into);
    copy(db, into, db.key()).map(|(_, version)| version)
}

/// Copies `db` into the new file `into` under `key` (plaintext without one) inside one read
/// transaction, fsynced; the rows per table and the schema version it copied.
fn copy(
    db: &Database,
    into: &Path,
    key: Option<&DatabaseKey>,
) -> Result<(BTreeMap<String, i64>, usize), StoreError> {
    // Read-write only so it can attach the copy; the live database is only read.
    let conn = db.connect(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    attach_copy(&conn, into, key)?;
    // The read transaction starts at its first read (the counts); the export reads the same
    // instant, whatever the writer commits meanwhile.
    let copied = (|| {
        conn.execute_batch("BEGIN DEFERRED")?;
        let tables = row_counts(&conn)?;
        let version: i64 = conn.pragma_query_value(Some("main"), "user_version", |r| r.get(0))?;
        copy_attached(&conn)?;
        conn.execute_batch("COMMIT")?;
        Ok::<_, StoreError>((tables, version))
    })();
    if copied.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    let detached = conn.execute_batch("DETACH DATABASE copy");
    let (tables, version) = copied?;
    detached?;
    drop(conn);
    super::key::sync_file(into).map_err(|source| StoreError::DataDir {
        path: into.display().to_string(),
        source,
    })?;
    Ok((tables, usize::try_from(version).unwrap_or(usize::MAX)))
}

/// The schema version (`user_version`) of `db`, read-only, whatever it is (a newer one too: the
/// launcher compares a trial's database with its copy from before).
pub fn schema_version(db: &Database) -> Result<usize, StoreError> {
    let conn = db.connect(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    Ok(usize::try_from(version).unwrap_or(usize::MAX))
}

/// Rows per table (`sqlite_%` tables left out).
pub fn row_counts(conn: &Connection) -> Result<BTreeMap<String, i64>, StoreError> {
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut counts = BTreeMap::new();
    for name in names {
        let sql = format!(
            "SELECT count(*) FROM main.\"{}\"",
            name.replace('"', "\"\"")
        );
        counts.insert(name, conn.query_row(&sql, [], |r| r.get(0))?);
    }
    Ok(counts)
}

/// Why a restored copy may not replace anything.
#[derive(Debug, thiserror::Error)]
pub enum CopyRefused {
    #[error("the restored database fails SQLite's integrity check: {0}")]
    Integrity(String),
    #[error(
        "the restored database's table {table} has {found} rows where the backup recorded {expected}"
    )]
    Rows {
        table: String,
        found: i64,
        expected: i64,
    },
    #[error(
        "the backup was made by a newer dockd (schema {found}); this dockd knows schema {known}: restore it with that version or a newer one"
    )]
    NewerSchema { found: usize, known: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for CopyRefused {
    fn from(error: rusqlite::Error) -> Self {
        Self::Store(error.into())
    }
}

/// Re-encrypts a restored copy (`from`, under its snapshot key) into a new file `to` under the
/// dock's own database handle `target` (its key, or plaintext), after `PRAGMA integrity_check`;
/// then checks the new file's integrity, schema version and row counts against `expected`. `to`
/// is fsynced; nothing else is touched.
pub fn rekey_checked(
    from: &Database,
    target: &Database,
    expected: &BTreeMap<String, i64>,
) -> Result<usize, CopyRefused> {
    let source =
        from.connect(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    integrity(&source)?;
    let version: i64 = source.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version > schema::VERSION {
        return Err(CopyRefused::NewerSchema {
            found: version,
            known: schema::VERSION,
        });
    }
    let key = target.key();
    export_into(&source, target.path(), key)?;
    drop(source);
    let copy =
        target.connect(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    integrity(&copy)?;
    let found = row_counts(&copy)?;
    for (table, expected) in expected {
        let found = found.get(table).copied().unwrap_or(-1);
        if found != *expected {
            return Err(CopyRefused::Rows {
                table: table.clone(),
                found,
                expected: *expected,
            });
        }
    }
    Ok(version)
}

/// `PRAGMA integrity_check` must answer a single `ok`.
fn integrity(conn: &Connection) -> Result<(), CopyRefused> {
    let lines: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(())
    } else {
        Err(CopyRefused::Integrity(lines.join("; ")))
    }
}

#[cfg(test)]
mod tests;
