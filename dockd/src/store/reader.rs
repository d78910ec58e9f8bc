//! Read-side queries over the store for pulls, the status page and `dockd status`. It owns a read-only
//! connection and must never write: every method takes `&self` over a `SQLITE_OPEN_READ_ONLY` handle.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;

use super::{Database, StoreError, open_for_reading};

/// A shareable read-only handle. Queries are short and indexed; callers on the async runtime run
/// them through `spawn_blocking`.
#[derive(Clone)]
pub struct Reader {
    conn: Arc<Mutex<Connection>>,
}

impl Reader {
    pub fn open(db: &Database) -> Result<Self, StoreError> {
        Ok(Self {
            conn: Arc::new(Mutex::new(open_for_reading(db)?)),
        })
    }

    /// The SQLCipher version this build encrypts with (`None`: a build without it).
    pub fn cipher_version(&self) -> Result<Option<String>, StoreError> {
        self.with(|conn| {
            Ok(conn
                .query_row("PRAGMA cipher_version", [], |r| r.get(0))
                .ok())
        })
    }

    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let conn = self.conn.lock().map_err(|_| StoreError::Closed)?;
        Ok(f(&conn)?)
    }
}
