//! Tests of the snapshot: one instant while a writer commits, the re-encryption into another key,
//! and the refusals of a copy that differs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::*;
use crate::store::open_for_writing;

fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dockd-snapshot-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_snapshot_taken_while_a_writer_commits_is_one_instant_and_rekeys_into_the_docks_key() {
    let dir = folder("instant");
    let db = Database::for_tests(&dir.join("dockd.db"));
    let conn = open_for_writing(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, v BLOB);
         CREATE TABLE b (id INTEGER PRIMARY KEY, v BLOB);",
    )
    .unwrap();
    drop(conn);
    // A writer commits a row into both tables per transaction, as fast as it can.
    let stop = Arc::new(AtomicBool::new(false));
    let commits = Arc::new(AtomicU64::new(0));
    let writer = {
        let (db, stop, commits) = (db.clone(), Arc::clone(&stop), Arc::clone(&commits));
        std::thread::spawn(move || {
            let mut conn = open_for_writing(&db).unwrap();
            while !stop.load(Ordering::Relaxed) {
                let tx = conn.transaction().unwrap();
                tx.execute("INSERT INTO a (v) VALUES (zeroblob(2000))", [])
                    .unwrap();
                tx.execute("INSERT INTO b (v) VALUES (zeroblob(2000))", [])
                    .unwrap();
                tx.commit().unwrap();
                commits.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    while commits.load(Ordering::Relaxed) < 200 {
        std::thread::yield_now();
    }
    let snapshot = take(&db, &dir.join("copy.db")).unwrap();
    let during = commits.load(Ordering::Relaxed);
    while commits.load(Ordering::Relaxed) < during + 200 {
        std::thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();

    let (a, b) = (snapshot.tables["a"], snapshot.tables["b"]);
    assert_eq!(a, b, "both tables at one instant");
    assert!(a >= 200, "{a}");
    let total: i64 = open_for_writing(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM a", [], |r| r.get(0))
        .unwrap();
    assert!(total > a, "the writer went on committing: {total} > {a}");
    assert_eq!(snapshot.schema_version, schema::VERSION);
    // The copy does not open without its own key, and rekeys into another database's key with
    // its integrity and every count checked.
    let copy = Database::with_key(&snapshot.path, snapshot.key);
    let target = Database::with_key(&dir.join("restored.db"), DatabaseKey::random().unwrap());
    let version = rekey_checked(&copy, &target, &snapshot.tables).unwrap();
    assert_eq!(version, schema::VERSION);
    let restored = target.connect(OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let (ra, rb): (i64, i64) = restored
        .query_row(
            "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((ra, rb), (a, b));
    let wrong = Database::with_key(&snapshot.path, DatabaseKey::random().unwrap());
    assert!(matches!(
        wrong.connect(OpenFlags::SQLITE_OPEN_READ_ONLY),
        Err(StoreError::Locked(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_copy_whose_rows_differ_from_the_record_or_from_a_newer_schema_is_refused() {
    let dir = folder("refused");
    let db = Database::for_tests(&dir.join("dockd.db"));
    let conn = open_for_writing(&db).unwrap();
    conn.execute_batch("CREATE TABLE a (id INTEGER PRIMARY KEY); INSERT INTO a DEFAULT VALUES;")
        .unwrap();
    drop(conn);
    let snapshot = take(&db, &dir.join("copy.db")).unwrap();
    let mut expected = snapshot.tables.clone();
    expected.insert("a".to_owned(), 2);
    let copy = Database::with_key(&snapshot.path, snapshot.key);
    let target = Database::with_key(&dir.join("r1.db"), DatabaseKey::random().unwrap());
    let refused = rekey_checked(&copy, &target, &expected).unwrap_err();
    assert!(
        matches!(refused, CopyRefused::Rows { ref table, found: 1, expected: 2 } if table == "a"),
        "{refused}"
    );
    copy.connect(OpenFlags::default())
        .unwrap()
        .pragma_update(None, "user_version", (schema::VERSION + 1) as i64)
        .unwrap();
    let target = Database::with_key(&dir.join("r2.db"), DatabaseKey::random().unwrap());
    let refused = rekey_checked(&copy, &target, &snapshot.tables).unwrap_err();
    assert!(
        matches!(refused, CopyRefused::NewerSchema { .. }),
        "{refused}"
    );
    assert!(
        !dir.join("r2.db").exists(),
        "nothing written for a newer schema"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
