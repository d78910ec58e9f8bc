//! The data folder's privacy: it holds badge tags, display names and the dock's keys, so the folder
//! is 0700 and every file dockd writes in it 0600, whatever the umask. It owns creating the folder
//! and checking it and dockd's files at start-up (repairing a looser mode when dockd owns the
//! entry, refusing to run when it cannot); it must never loosen a mode, touch a file dockd does
//! not write, follow a symbolic link inside the folder, or read a file's contents.

use std::fs::{DirBuilder, Permissions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::StoreError;

/// The data folder's mode.
pub const FOLDER_MODE: u32 = 0o700;
/// Every file's mode in the data folder.
pub const FILE_MODE: u32 = 0o600;
/// Mode bits that let another local user read, write or enter.
const OTHERS: u32 = 0o077;
/// The sticky bit: a folder shared by every user (`/tmp`).
const STICKY: u32 = 0o1000;

/// Whether dockd writes a file of this name in its data folder: the database and its WAL,
/// shared-memory and journal files, the pseudonym key, the site certificate and its key, and
/// their temporaries. Other files there are someone else's and are left alone.
fn is_dockd_file(name: &str) -> bool {
    name.starts_with("dockd.db")
        || [".key", ".pem", ".key.tmp", ".pem.new"]
            .iter()
            .any(|end| name.ends_with(end))
}

/// What an entry's mode calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ModeCheck {
    /// Only its owner can use it.
    Private,
    /// Others can; dockd owns it, so it takes those bits away.
    Repair,
    /// Others can, and it belongs to another user: dockd cannot make it private.
    Refuse,
}

fn check(mode: u32, owner: u32, me: u32) -> ModeCheck {
    if mode & OTHERS == 0 {
        ModeCheck::Private
    } else if mode & STICKY != 0 {
        // A shared folder such as /tmp: never dockd's to close.
        ModeCheck::Refuse
    } else if owner == me {
        ModeCheck::Repair
    } else {
        ModeCheck::Refuse
    }
}

/// Creates the data folder (0700) if it is missing, then checks the folder and the files dockd
/// writes in it: a mode other users could use is taken back to the owner's bits (logged as a
/// warning) when dockd owns the entry, and refused with a clear error when it does not (or when
/// the folder is a shared one such as /tmp).
pub fn prepare(folder: &Path) -> Result<(), StoreError> {
    let fail = |path: &Path, source| StoreError::DataDir {
        path: path.display().to_string(),
        source,
    };
    if !folder.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(FOLDER_MODE)
            .create(folder)
            .map_err(|e| fail(folder, e))?;
    }
    let me = nix::unistd::geteuid().as_raw();
    // The folder itself may be a symbolic link an installer made; what is inside may not be
    // followed.
    let meta = std::fs::metadata(folder).map_err(|e| fail(folder, e))?;
    make_private(folder, &meta, me)?;
    let entries = std::fs::read_dir(folder).map_err(|e| fail(folder, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| fail(folder, e))?;
        let path = entry.path();
        if !is_dockd_file(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).map_err(|e| fail(&path, e))?;
        if meta.is_file() {
            make_private(&path, &meta, me)?;
        }
    }
    Ok(())
}

/// Creates the file empty with mode 0600 if it does not exist, so whatever opens it next (SQLite,
/// which gives its WAL and shared-memory files the database file's mode) starts private.
pub fn create_private_file(path: &Path) -> Result<(), StoreError> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)
        .map(drop)
        .map_err(|source| StoreError::DataDir {
            path: path.display().to_string(),
            source,
        })
}

fn make_private(path: &Path, meta: &std::fs::Metadata, me: u32) -> Result<(), StoreError> {
    let mode = meta.mode() & 0o7777;
    match check(mode, meta.uid(), me) {
        ModeCheck::Private => Ok(()),
        ModeCheck::Repair => {
            let private = mode & !OTHERS & 0o777;
            std::fs::set_permissions(path, Permissions::from_mode(private)).map_err(|source| {
                StoreError::DataDir {
                    path: path.display().to_string(),
                    source,
                }
            })?;
            tracing::warn!(
                path = %path.display(),
                was = format!("{mode:04o}"),
                now = format!("{private:04o}"),
                "A data file or folder was open to other local users; made it private to dockd."
            );
            Ok(())
        }
        ModeCheck::Refuse => Err(StoreError::Exposed {
            path: path.display().to_string(),
            mode,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o777
    }

    fn set(path: &Path, mode: u32) {
        std::fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_loose_mode_is_repaired_when_dockd_owns_the_entry_and_refused_when_it_does_not() {
        assert_eq!(check(0o600, 7, 7), ModeCheck::Private);
        assert_eq!(check(0o700, 7, 8), ModeCheck::Private);
        assert_eq!(check(0o400, 7, 7), ModeCheck::Private);
        assert_eq!(check(0o644, 7, 7), ModeCheck::Repair);
        assert_eq!(check(0o755, 7, 7), ModeCheck::Repair);
        assert_eq!(check(0o604, 7, 7), ModeCheck::Repair);
        assert_eq!(check(0o644, 0, 7), ModeCheck::Refuse);
        assert_eq!(check(0o1777, 7, 7), ModeCheck::Refuse, "a shared folder");
    }

    #[test]
    fn only_the_files_dockd_writes_are_its_to_close() {
        for name in [
            "dockd.db",
            "dockd.db-wal",
            "dockd.db-shm",
            "dockd.db-journal",
            "pseudonym.key",
            "pseudonym.key.tmp",
            "web-key.pem",
            "web-cert.pem",
            "web-key.pem.new",
        ] {
            assert!(is_dockd_file(name), "{name}");
        }
        for name in ["notes.txt", "dockd.toml", "backup"] {
            assert!(!is_dockd_file(name), "{name}");
        }
    }

    #[test]
    fn a_new_data_folder_is_private_and_so_is_every_file_the_database_makes() {
        let root = std::env::temp_dir().join(format!("dockd-folder-new-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let db = root.join("data").join("dockd.db");
        let conn = crate::store::open_for_writing(&crate::store::Database::for_tests(&db)).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        assert_eq!(mode(&root.join("data")), FOLDER_MODE);
        for file in ["dockd.db", "dockd.db-wal", "dockd.db-shm"] {
            let path = root.join("data").join(file);
            assert!(path.exists(), "{file} exists while the database is open");
            assert_eq!(mode(&path), FILE_MODE, "{file}");
        }
        drop(conn);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_data_folder_left_open_to_others_is_made_private_at_start() {
        let folder =
            std::env::temp_dir().join(format!("dockd-folder-loose-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("notes.txt"), b"").unwrap();
        set(&folder.join("notes.txt"), 0o644);
        let files = ["dockd.db", "dockd.db-wal", "dockd.db-shm", "pseudonym.key"];
        for file in files {
            std::fs::write(folder.join(file), b"").unwrap();
            set(&folder.join(file), 0o644);
        }
        let outside = folder.with_extension("outside");
        std::fs::write(&outside, b"").unwrap();
        set(&outside, 0o644);
        std::os::unix::fs::symlink(&outside, folder.join("elsewhere")).unwrap();
        set(&folder, 0o755);

        prepare(&folder).unwrap();

        assert_eq!(mode(&folder), FOLDER_MODE);
        assert_eq!(
            mode(&folder.join("notes.txt")),
            0o644,
            "a file dockd never writes is left alone"
        );
        for file in files {
            assert_eq!(mode(&folder.join(file)), FILE_MODE, "{file}");
        }
        assert_eq!(mode(&outside), 0o644, "a link's target is left alone");
        let _ = std::fs::remove_dir_all(&folder);
        let _ = std::fs::remove_file(&outside);
    }
}
