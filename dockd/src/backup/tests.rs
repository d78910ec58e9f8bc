//! Tests of `dockd backup` and `dockd restore` over a scratch store: a round trip into a new folder
//! under its own key, and no overwrite without `--replace`.

use super::*;
use crate::store::testing::Scratch;

const PASS: &str = "a passphrase for the tests";

fn fresh_config(name: &str) -> (Config, PathBuf) {
    let root = std::env::temp_dir().join(format!("dockd-restore-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let mut config = Config::default();
    config.storage.data_dir = root.join("data");
    config.web.tls = false;
    (config, root)
}

fn count(config: &Config, sql: &str) -> i64 {
    crate::store::open_for_reading(&config.existing_database().unwrap())
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_backup_restores_into_a_new_folder_under_its_own_key_and_refuses_to_overwrite_without_replace()
 {
    let scratch = Scratch::new("backup-round-trip");
    scratch.docking("KX-0042", 1_000).await;
    let source = scratch.config();
    std::fs::write(
        source.storage.data_dir.join(crate::worker::DOCK_KEY_FILE),
        [7u8; 32],
    )
    .unwrap();
    let mut bytes = Vec::new();
    let mut was_ready = false;
    let summary = write_backup(&scratch.db(), &source, PASS, 5_000, &mut bytes, || {
        was_ready = true
    })
    .unwrap();
    assert!(was_ready);
    assert_eq!(summary.files, vec![crate::worker::DOCK_KEY_FILE.to_owned()]);
    assert!(summary.tables["docking"] >= 1);
    let leftovers: Vec<_> = std::fs::read_dir(&source.storage.data_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".backup-"))
        .collect();
    assert!(leftovers.is_empty(), "the copy is removed: {leftovers:?}");

    let (config, root) = fresh_config("round-trip");
    let file = root.join("dock.backup");
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(verify(&file, PASS).unwrap().tables, summary.tables);
    let restored = restore(&config, &file, PASS, false).unwrap();
    assert!(restored.made_database_key);
    assert!(restored.replaced.is_empty());
    assert_eq!(
        count(&config, "SELECT count(*) FROM docking"),
        summary.tables["docking"]
    );
    assert_eq!(
        std::fs::read(config.storage.data_dir.join(crate::worker::DOCK_KEY_FILE)).unwrap(),
        [7u8; 32]
    );
    // Its own key, not the old dock's.
    assert_ne!(
        std::fs::read(config.database_key_path()).unwrap(),
        std::fs::read(source.database_key_path()).unwrap()
    );
    let before = std::fs::read(config.database_path()).unwrap();
    let refused = restore(&config, &file, PASS, false).unwrap_err();
    assert!(matches!(refused, BackupError::WouldReplace(_)), "{refused}");
    assert!(refused.to_string().contains("--replace"), "{refused}");
    assert_eq!(std::fs::read(config.database_path()).unwrap(), before);
    let again = restore(&config, &file, PASS, true).unwrap();
    assert_eq!(
        again.replaced,
        vec![config.database_path().display().to_string()]
    );
    assert_eq!(
        count(&config, "SELECT count(*) FROM docking"),
        summary.tables["docking"]
    );
    let names: Vec<String> = std::fs::read_dir(&config.storage.data_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains("before-restore") && !n.contains(".restor")),
        "nothing left aside: {names:?}"
    );
    scratch.close();
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn a_restore_run_as_root_gives_every_file_it_writes_to_the_data_folders_owner() {
    use std::os::unix::fs::MetadataExt;
    // What `dockd restore` does under `sudo` for a daemon running as `dockd`: here root restores
    // into a folder owned by `nobody` (65534). Only root may give files away: run as another
    // user, the folder is that user's own and the files must be too.
    let (owner, group) = if nix::unistd::geteuid().is_root() {
        (65534, 65534)
    } else {
        eprintln!(
            "Not root: checking that a restore leaves the files with the folder's owner (this user) only."
        );
        (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        )
    };
    let scratch = Scratch::new("backup-owner");
    scratch.docking("KX-0043", 1_000).await;
    let source = scratch.config();
    let mut bytes = Vec::new();
    write_backup(&scratch.db(), &source, PASS, 5_000, &mut bytes, || {}).unwrap();
    let (config, root) = fresh_config("owner");
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&config.storage.data_dir)
            .unwrap();
    }
    nix::unistd::chown(
        &config.storage.data_dir,
        Some(nix::unistd::Uid::from_raw(owner)),
        Some(nix::unistd::Gid::from_raw(group)),
    )
    .unwrap();
    let file = root.join("dock.backup");
    std::fs::write(&file, &bytes).unwrap();
    restore(&config, &file, PASS, false).unwrap();
    give_database_files(&config).unwrap();
    for entry in std::fs::read_dir(&config.storage.data_dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (owner, group),
            "{:?}",
            entry.file_name()
        );
    }
    // The key file made beside the data folder too: the daemon's user must read it.
    assert_eq!(
        std::fs::metadata(config.database_key_path()).unwrap().uid(),
        owner
    );
    scratch.close();
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn a_backup_from_a_newer_schema_is_refused_before_anything_is_written() {
    let scratch = Scratch::new("backup-newer");
    scratch.docking("KX-0044", 1_000).await;
    // The database as a newer dockd left it.
    scratch.tamper(&format!(
        "PRAGMA user_version = {}",
        crate::store::schema::VERSION + 1
    ));
    let source = scratch.config();
    let mut bytes = Vec::new();
    let summary = write_backup(&scratch.db(), &source, PASS, 5_000, &mut bytes, || {}).unwrap();
    assert_eq!(summary.schema_version, crate::store::schema::VERSION + 1);
    let (config, root) = fresh_config("newer");
    let file = root.join("dock.backup");
    std::fs::write(&file, &bytes).unwrap();
    let refused = restore(&config, &file, PASS, true).unwrap_err();
    assert!(matches!(refused, BackupError::Newer { .. }), "{refused}");
    assert!(refused.to_string().contains("newer dockd"), "{refused}");
    let written: Vec<_> = std::fs::read_dir(&config.storage.data_dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name())
                .collect()
        })
        .unwrap_or_default();
    assert!(written.is_empty(), "nothing written: {written:?}");
    assert!(!config.database_key_path().exists(), "no key made");
    scratch.close();
    let _ = std::fs::remove_dir_all(&root);
}
