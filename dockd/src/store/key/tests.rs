//! Encryption at rest, proven: new databases are encrypted, a wrong or missing key locks and
//! changes nothing, and a plaintext database becomes an encrypted one with nothing lost.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::*;
use crate::store::{StoreError, open_for_reading, open_for_writing};

fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dockd-key-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A database with one marker row, made through `db`, closed (WAL checkpointed).
fn with_marker(db: &Database, marker: &str) {
    let conn = open_for_writing(db).unwrap();
    conn.execute(
        "INSERT INTO setting (key, value) VALUES ('marker', ?1)",
        [marker],
    )
    .unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
}

fn contains(path: &Path, needle: &[u8]) -> bool {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.windows(needle.len()).any(|w| w == needle)
}

fn marker_of(db: &Database) -> String {
    open_for_reading(db)
        .unwrap()
        .query_row("SELECT value FROM setting WHERE key = 'marker'", [], |r| {
            r.get(0)
        })
        .unwrap()
}

#[test]
fn a_new_database_is_encrypted_and_opens_only_with_its_key_file() {
    let dir = folder("new");
    let (path, key_file) = (dir.join("data/dockd.db"), dir.join("data.database-key"));
    let db = Database::prepare(&path, &key_file).unwrap();
    with_marker(&db, "MARKER-new-database");
    assert_eq!(file_state(&path).unwrap(), FileState::Encrypted);
    assert!(!contains(&path, b"MARKER-new-database"));
    assert!(!contains(&path, b"SQLite format 3"));
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Read back through a second handle loaded from the same file.
    let again = Database::existing(&path, &key_file).unwrap();
    assert_eq!(marker_of(&again), "MARKER-new-database");
}

#[test]
fn a_wrong_key_locks_and_leaves_the_database_byte_for_byte_as_it_was() {
    let dir = folder("wrong");
    let (path, key_file) = (dir.join("data/dockd.db"), dir.join("key"));
    with_marker(&Database::prepare(&path, &key_file).unwrap(), "m");
    let before = std::fs::read(&path).unwrap();
    std::fs::write(&key_file, format!("{}\n", "ab".repeat(32))).unwrap();
    let db = Database::existing(&path, &key_file).unwrap();
    for error in [
        open_for_writing(&db).unwrap_err(),
        open_for_reading(&db).unwrap_err(),
    ] {
        assert!(
            matches!(error, StoreError::Locked(Locked::WrongKey { .. })),
            "{error}"
        );
        let text = error.to_string();
        assert!(text.contains("pulls nothing and erases nothing"), "{text}");
        assert!(!text.contains(&"ab".repeat(32)), "the key is never shown");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_missing_key_for_an_encrypted_database_locks_and_makes_no_new_key() {
    let dir = folder("missing");
    let (path, key_file) = (dir.join("data/dockd.db"), dir.join("key"));
    with_marker(&Database::prepare(&path, &key_file).unwrap(), "m");
    std::fs::remove_file(&key_file).unwrap();
    let before = std::fs::read(&path).unwrap();
    let error = Database::prepare(&path, &key_file).unwrap_err();
    assert!(
        matches!(error, StoreError::Locked(Locked::KeyMissing { .. })),
        "{error}"
    );
    assert!(
        !key_file.exists(),
        "no key is made for an encrypted database"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_malformed_key_file_locks_and_is_left_as_it_is() {
    let dir = folder("malformed");
    let (path, key_file) = (dir.join("data/dockd.db"), dir.join("key"));
    std::fs::write(&key_file, "not a key\n").unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let error = Database::prepare(&path, &key_file).unwrap_err();
    assert!(
        matches!(error, StoreError::Locked(Locked::KeyMalformed { .. })),
        "{error}"
    );
    assert_eq!(std::fs::read(&key_file).unwrap(), b"not a key\n");
    assert!(!path.exists(), "no database is made without a usable key");
}

#[test]
fn a_key_file_open_to_others_is_made_private_when_dockd_owns_it() {
    let dir = folder("exposed");
    let (path, key_file) = (dir.join("data/dockd.db"), dir.join("key"));
    with_marker(&Database::prepare(&path, &key_file).unwrap(), "m");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let db = Database::existing(&path, &key_file).unwrap();
    assert_eq!(marker_of(&db), "m");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_plaintext_database_is_encrypted_in_place_with_everything_in_it() {
    let dir = folder("migrate");
    let path = dir.join("data/dockd.db");
    with_marker(&Database::plaintext(&path), "MARKER-plaintext-era");
    assert_eq!(file_state(&path).unwrap(), FileState::Plaintext);
    assert!(contains(&path, b"MARKER-plaintext-era"));
    let version: i64 = open_for_reading(&Database::plaintext(&path))
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();

    let db = Database::prepare(&path, &dir.join("key")).unwrap();
    drop(open_for_writing(&db).unwrap());
    assert_eq!(file_state(&path).unwrap(), FileState::Encrypted);
    assert!(!contains(&path, b"MARKER-plaintext-era"));
    assert_eq!(marker_of(&db), "MARKER-plaintext-era");
    let conn = open_for_reading(&db).unwrap();
    let after: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(after, version, "the schema version comes along");
    let vacuum: i64 = conn
        .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
        .unwrap();
    assert_eq!(vacuum, 2, "the copy gives freed pages back (INCREMENTAL)");
    let leftovers: Vec<_> = std::fs::read_dir(dir.join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("plaintext") || n.contains("encrypting"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_migration_cut_short_at_any_step_leaves_one_complete_database_and_finishes_next_time() {
    let dir = folder("cut");
    let path = dir.join("data/dockd.db");
    let key_file = dir.join("key");
    // Cut after the copy was written (a half-written `.encrypting` is left beside the original).
    with_marker(&Database::plaintext(&path), "kept");
    std::fs::write(sibling(&path, "encrypting"), b"half a copy").unwrap();
    let db = Database::prepare(&path, &key_file).unwrap();
    drop(open_for_writing(&db).unwrap());
    assert_eq!(marker_of(&db), "kept");
    assert!(!sibling(&path, "encrypting").exists());

    // Cut after the switch, before the plaintext leftover was wiped.
    let leftover = sibling(&path, "plaintext");
    std::fs::write(&leftover, b"SQLite format 3\0 plaintext leftover MARKER").unwrap();
    drop(open_for_writing(&db).unwrap());
    assert!(!leftover.exists(), "the wipe is finished at the next open");
    assert_eq!(marker_of(&db), "kept");
}

#[test]
fn the_key_never_shows_in_debug_output() {
    let key = DatabaseKey::random().unwrap();
    let hex = hex::encode(key.0);
    let db = Database::with_key(Path::new("/nowhere/dockd.db"), key);
    let shown = format!("{db:?}");
    assert!(!shown.contains(&hex), "{shown}");
    assert!(shown.contains("encrypted: true"));
}

#[test]
fn a_blank_key_file_is_no_key_an_encrypted_database_locks_and_a_new_one_gets_a_real_key() {
    let dir = folder("blank");
    let (path, key_file) = (dir.join("data/dockd.db"), dir.join("data.database-key"));
    // systemd's blank fallback when the unit's key file is gone (`SetCredential=…:\n`).
    std::fs::write(&key_file, "\n").unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let db = Database::prepare(&path, &key_file).unwrap();
    with_marker(&db, "MARKER-blank");
    assert_eq!(
        parse_hex_key(&std::fs::read(&key_file).unwrap()).map(|_| ()),
        Ok(())
    );
    let kept = std::fs::read(&key_file).unwrap();
    std::fs::write(&key_file, "  \n").unwrap();
    assert!(matches!(
        Database::prepare(&path, &key_file),
        Err(StoreError::Locked(Locked::KeyMissing { .. }))
    ));
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        b"  \n",
        "no key made over it"
    );
    std::fs::write(&key_file, &kept).unwrap();
    assert_eq!(
        marker_of(&Database::existing(&path, &key_file).unwrap()),
        "MARKER-blank"
    );
}

#[test]
fn prepare_key_file_follows_the_daemons_rule_and_never_replaces_a_key() {
    let dir = folder("prepare");
    let (path, key_file) = (
        dir.join("data/dockd.db"),
        dir.join("credstore/dockd.database-key"),
    );
    assert_eq!(
        prepare_key_file(&path, &key_file).unwrap(),
        KeyPrepared::Created
    );
    let key = std::fs::read(&key_file).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(mode(key_file.parent().unwrap()), 0o700);
    assert_eq!(
        prepare_key_file(&path, &key_file).unwrap(),
        KeyPrepared::Existing
    );
    assert_eq!(std::fs::read(&key_file).unwrap(), key);
    // The daemon's first start uses that key for the new database.
    with_marker(
        &Database::prepare(&path, &key_file).unwrap(),
        "MARKER-prepared",
    );
    assert_eq!(std::fs::read(&key_file).unwrap(), key);
    std::fs::remove_file(&key_file).unwrap();
    assert_eq!(
        prepare_key_file(&path, &key_file).unwrap(),
        KeyPrepared::LeftMissing
    );
    assert!(
        !key_file.exists(),
        "no key is made for an encrypted database"
    );
    std::fs::write(&key_file, "not a key\n").unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(matches!(
        prepare_key_file(&path, &key_file),
        Err(StoreError::Locked(Locked::KeyMalformed { .. }))
    ));
    assert_eq!(
        std::fs::read(&key_file).unwrap(),
        b"not a key\n",
        "left as it is"
    );
}

#[test]
fn a_hot_journal_left_by_a_cut_is_rolled_back_before_the_schema_is_judged_and_the_dock_opens() {
    let dir = folder("hot-journal");
    let key_file = dir.join("key");
    let live = Database::prepare(&dir.join("live.db"), &key_file).unwrap();
    with_marker(&live, "committed");
    // The live file in rollback-journal mode, inside a transaction that changed the marker:
    // copying the file and its journal then is what a power cut at that instant leaves.
    let conn = live.connect(rusqlite::OpenFlags::default()).unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    conn.execute_batch(
        "BEGIN IMMEDIATE; UPDATE setting SET value = 'half-written' WHERE key = 'marker';",
    )
    .unwrap();
    conn.cache_flush().unwrap();
    let cut = dir.join("cut.db");
    std::fs::copy(dir.join("live.db"), &cut).unwrap();
    std::fs::copy(dir.join("live.db-journal"), dir.join("cut.db-journal")).unwrap();
    conn.execute_batch("ROLLBACK").unwrap();
    let cut = Database::existing(&cut, &key_file).unwrap();
    // A read-only open cannot read it: the journal is hot.
    assert!(open_for_reading(&cut).is_err());

    crate::store::refuse_newer_schema(&cut).unwrap();
    assert!(!dir.join("cut.db-journal").exists(), "rolled back");
    assert_eq!(marker_of(&cut), "committed");
    drop(open_for_writing(&cut).unwrap());
    assert_eq!(marker_of(&cut), "committed");
}
