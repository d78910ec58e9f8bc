//! Erased means gone: a worker's overwritten name leaves no byte in the database file or its WAL,
//! even decrypted with the key (secure_delete, incremental vacuum, a truncating checkpoint after
//! the commit), and databases give freed pages back (auto_vacuum, converted once for an old file).

use std::time::{Duration, Instant};

use super::roster::RosterChange;
use super::testing::Scratch;
use super::{Database, Reader, open_for_reading, open_for_writing, schema};
use crate::worker::WorkerTag;

/// Whether `marker` is anywhere in the database file or its WAL, in the clear or in any page
/// decrypted with the key (every page, free ones and old WAL frames too).
fn on_disk(store: &Scratch, marker: &str) -> bool {
    let db = store.path();
    let wal = db.with_extension("db-wal");
    let found = |bytes: &[u8]| bytes.windows(marker.len()).any(|w| w == marker.as_bytes());
    [db, wal.as_path()].iter().any(|file| {
        std::fs::read(file).is_ok_and(|bytes| found(&bytes)) || found(&store.decrypted(file))
    })
}

#[tokio::test]
async fn a_changed_display_name_leaves_no_byte_in_the_database_or_its_wal() {
    const OLD: &str = "MARKER-Q7ZX-OLD-NAME";
    let store = Scratch::new("erasure-name");
    let id = store
        .roster(RosterChange::AddWorker {
            tag: WorkerTag::from_ascii("B-1001").unwrap(),
            display_name: Some(OLD.into()),
            task: None,
            team: None,
        })
        .await
        .unwrap()
        .unwrap();
    // The scan must see the name while it is stored (read again while a checkpoint moves it from
    // the WAL into the file between the two reads).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !on_disk(&store, OLD) {
        assert!(
            Instant::now() < deadline,
            "the stored name is not found by the scan"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    store
        .roster(RosterChange::EditWorker {
            id,
            display_name: Some("Someone else".into()),
            task: None,
            team: None,
        })
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while on_disk(&store, OLD) {
        assert!(
            Instant::now() < deadline,
            "the old name is still in the database file or its WAL"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(on_disk(&store, "Someone else"));
    store.close();
}

#[test]
fn a_new_database_gives_freed_pages_back_and_an_old_one_is_converted_once() {
    let dir = std::env::temp_dir().join(format!("dockd-erasure-vacuum-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let auto_vacuum = |db: &Database| -> i64 {
        open_for_reading(db)
            .unwrap()
            .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
            .unwrap()
    };
    let new = Database::for_tests(&dir.join("new.db"));
    drop(open_for_writing(&new).unwrap());
    assert_eq!(auto_vacuum(&new), 2, "INCREMENTAL from the start");

    // A database as releases before this one made it: no auto_vacuum, one worker stored.
    let old = dir.join("old.db");
    {
        let mut conn = rusqlite::Connection::open(&old).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in schema::MIGRATIONS {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", schema::VERSION as i64)
            .unwrap();
        tx.execute(
            "INSERT INTO worker (tag, display_name) VALUES (x'01', 'Ada')",
            [],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    assert_eq!(auto_vacuum(&Database::plaintext(&old)), 0);
    // Its first open encrypts it and converts it.
    let old = Database::for_tests(&old);
    drop(open_for_writing(&old).unwrap());
    assert_eq!(auto_vacuum(&old), 2, "converted at the first open");
    let name: String = Reader::open(&old)
        .unwrap()
        .with(|conn| conn.query_row("SELECT display_name FROM worker", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(name, "Ada", "nothing lost by the conversion");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_purge_gives_every_freed_page_back_to_the_file_system() {
    let store = Scratch::new("erasure-shrink");
    store.docking("KX-0001", 1_000).await;
    // 4 MB of quarantined bytes, seen long ago.
    store.tamper(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 64)
         INSERT INTO quarantine (wearable_id, segment_no, size, crc, reason, bytes, first_seen_ms,
             last_seen_ms, times_seen)
         SELECT (SELECT id FROM wearable), i, 65536, i, 'test', randomblob(65536), 0, 0, 1 FROM n;
         PRAGMA wal_checkpoint(TRUNCATE);",
    );
    // A reader's snapshot can hold back a checkpoint under load: checkpoint until the rows are in
    // the database file itself.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let before = loop {
        let len = std::fs::metadata(store.path()).unwrap().len();
        if len > 4_000_000 || std::time::Instant::now() > deadline {
            break len;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        store.tamper("PRAGMA wal_checkpoint(TRUNCATE);");
    };
    assert!(before > 4_000_000, "{before}");
    let purged = store
        .writer
        .purge(super::purge::Cutoffs {
            at_ms: 10,
            gps_before_ms: 0,
            dock_power_before_ms: 0,
            quarantine_before_ms: 1,
            samples_before_ms: 0,
            alerts_before_ms: 0,
            reports_before_ms: 0,
            audit_before_ms: 0,
            outbox_before_ms: 0,
        })
        .await
        .unwrap();
    assert_eq!(purged.quarantined_segments, 64);
    // The reclaim after the purge's commit: wait for the file to shrink by what went.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = std::fs::metadata(store.path()).unwrap().len();
        if now + 4_000_000 <= before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the file is still {now} bytes (was {before})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    store.close();
}
