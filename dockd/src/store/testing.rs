//! Test-only: a store in a fresh data folder with its writer and a reader, for the store's unit
//! tests. It owns that scaffolding; it must never be compiled outside tests.

use std::path::PathBuf;

use super::roster::RosterChange;
use super::settings::SettingChange;
use super::{
    NewDocking, Reader, StoreError, Writer, WriterThread, open_for_reading, open_for_writing,
};

/// A store in a fresh data folder, with its writer and a reader.
pub(crate) struct Scratch {
    pub writer: Writer,
    pub reader: Reader,
    thread: WriterThread,
    dir: PathBuf,
    path: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("dockd-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("dockd.db");
        let (writer, thread) = Writer::spawn(
            open_for_writing(&crate::store::Database::for_tests(&path)).unwrap(),
            open_for_writing(&crate::store::Database::for_tests(&path)).unwrap(),
        )
        .unwrap();
        let reader = Reader::open(&crate::store::Database::for_tests(&path)).unwrap();
        Self {
            writer,
            reader,
            thread,
            dir,
            path,
        }
    }

    pub async fn roster(&self, change: RosterChange) -> Result<Option<i64>, StoreError> {
        self.writer.roster(change).await
    }

    pub async fn settings(&self, change: SettingChange) -> Result<(), StoreError> {
        self.writer.settings(change).await
    }

    /// Records a docking of `serial` (the wearable too); returns the docking id.
    pub async fn docking(&self, serial: &str, docked_ms: i64) -> i64 {
        self.writer
            .begin_docking(NewDocking {
                serial: serial.into(),
                model: 1,
                hw_rev: 1,
                firmware: "1.0.0".into(),
                slot: 1,
                transport: "emulated",
                port: "test".into(),
                docked_ms,
                boot_count: 1,
                device_ms: 1,
                clock_valid: true,
                batt_soc: 50,
                batt_health: 100,
                batt_cycles: 1,
                batt_mv: 3900,
                batt_temp_dc: 250,
                charging: true,
                segments_listed: 1,
            })
            .await
            .unwrap()
    }

    /// One integer from raw SQL, read on a connection of its own.
    pub fn number(&self, sql: &str) -> i64 {
        open_for_reading(&crate::store::Database::for_tests(&self.path))
            .unwrap()
            .query_row(sql, [], |row| row.get(0))
            .unwrap()
    }

    /// Waits (10 s at most) until `sql` counts at least `at_least`: audit lines are queued, not
    /// awaited, so a test waits for their commit.
    pub async fn wait_for_count(&self, sql: &str, at_least: i64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.number(sql) < at_least {
            assert!(
                std::time::Instant::now() < deadline,
                "`{sql}` stayed below {at_least}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// The database file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Raw SQL on a writable connection of its own, as someone with the file and its key would
    /// run it (triggers can be dropped first).
    pub fn tamper(&self, sql: &str) {
        self.db()
            .connect(rusqlite::OpenFlags::default())
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }

    /// A dock config over this store: its data folder and key file, plain HTTP.
    pub fn config(&self) -> crate::config::Config {
        let mut config = crate::config::Config::default();
        config.storage.data_dir = self.dir.clone();
        config.privacy.database_key_file = Some(std::path::PathBuf::from(format!(
            "{}.test-key",
            self.path.display()
        )));
        config.web.tls = false;
        config
    }

    /// The database and its key.
    pub fn db(&self) -> super::Database {
        super::Database::for_tests(&self.path)
    }

    /// `file` (the database or its WAL) with every page decrypted by the key (see
    /// [`super::key::decrypt_every_page`]).
    pub fn decrypted(&self, file: &std::path::Path) -> Vec<u8> {
        let key_file = std::path::PathBuf::from(format!("{}.test-key", self.path.display()));
        let key = super::DatabaseKey::from_file(&key_file).unwrap().unwrap();
        super::key::decrypt_every_page(file, &key).unwrap()
    }

    /// The same database after its writer is stopped and a new one started (a restart).
    pub fn reopen(self) -> Self {
        drop((self.writer, self.reader));
        self.thread.join();
        let (writer, thread) = Writer::spawn(
            open_for_writing(&crate::store::Database::for_tests(&self.path)).unwrap(),
            open_for_writing(&crate::store::Database::for_tests(&self.path)).unwrap(),
        )
        .unwrap();
        let reader = Reader::open(&crate::store::Database::for_tests(&self.path)).unwrap();
        Self {
            writer,
            reader,
            thread,
            dir: self.dir,
            path: self.path,
        }
    }

    pub fn close(self) {
        drop((self.writer, self.reader));
        self.thread.join();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
