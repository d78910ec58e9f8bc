//! What IT expects of the daemon itself (issue 16), against the real binary: a downgrade onto a
//! database a newer dockd migrated leaves the dock up and locked with the file untouched; `dockd
//! backup` taken while wearables are pulled restores with `dockd restore` into a dock that
//! continues as the old one, and a wrong passphrase, a changed byte or a cut-off file is refused
//! before anything is replaced; `dockd metrics` is strict Prometheus text whose figures match a
//! pull; the Diagnostics page and the console say whether the system clock is synchronised.

use std::time::Duration;

use crate::support::{Dock, http_get};

#[test]
fn a_database_from_a_newer_dockd_leaves_the_dock_up_and_locked_saying_so_with_the_file_untouched()
{
    let mut dock = Dock::start("ops-downgrade");
    dock.stop();
    let known = dockd::store::schema::VERSION;
    let newer = known + 3;
    {
        let conn = dock
            .store()
            .connect(rusqlite::OpenFlags::default())
            .unwrap();
        conn.pragma_update(None, "user_version", newer as i64)
            .unwrap();
    }
    let before = std::fs::read(dock.database()).unwrap();

    dock.restart_locked();
    let pid = dock.pid();
    let reason = format!(
        "written by a newer dockd (schema {newer}); this dockd knows schema {known}. Install the newer version again; the data is kept"
    );
    let page = http_get(dock.web, "/");
    assert!(page.starts_with("HTTP/1.1 503"), "{page}");
    assert!(page.contains("The dock is locked"), "{page}");
    assert!(page.contains(&reason), "says why: {page}");
    // No transport: wearables keep their logs.
    assert!(!dock.accepts_wearables());
    // `dockd status` through the control socket says it too.
    let out = dock.run_command(&["status"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(&reason), "{said}");
    // Still the same process: no crash, so no restart loop under systemd.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(dock.pid(), pid);
    assert!(dock.log().contains("The dock is locked"));
    assert!(dock.stop().success(), "a locked dock stops cleanly");
    assert_eq!(
        std::fs::read(dock.database()).unwrap(),
        before,
        "the newer dockd's file is byte-identical"
    );
    // With no daemon, the command opening the database itself refuses the same way.
    let out = dock.run_command(&["status"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&reason),
        "{out:?}"
    );
    assert_eq!(std::fs::read(dock.database()).unwrap(), before);
}

const PASSPHRASE: &str = "a long backup passphrase\n";

fn backup_file_mode(path: &std::path::Path) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).unwrap();
    (meta.mode() & 0o777, meta.uid())
}

/// `dockd restore FILE --config …` with `input` on stdin (and `--replace` when asked).
fn restore(dock: &Dock, file: &std::path::Path, replace: bool, input: &str) -> std::process::Output {
    let file = file.to_str().unwrap();
    let mut args = vec!["restore", file];
    if replace {
        args.push("--replace");
    }
    dock.run_command_with_input(&args, input)
}

/// Every table's rows in the database `db` opens.
fn table_counts(conn: &rusqlite::Connection) -> std::collections::BTreeMap<String, i64> {
    let names: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    names
        .into_iter()
        .map(|name| {
            let n = conn
                .query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |r| r.get(0))
                .unwrap();
            (name, n)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_a_pull_restores_on_new_hardware_which_continues_as_the_old_dock() {
    use crate::upload::{Worker, shift_wearable, wear_and_dock};
    use dockd::emulator::{Faults, dock_until_drained};
    use dockd::transport::LinkAddr;
    const ADA: Worker = Worker {
        badge: "B-7301",
        name: "Ada Backuptest",
    };
    let old = Dock::start("ops-backup-old");
    let label = wear_and_dock(&old, &ADA, 7301, 1).await;
    let old_status = old.status_json();
    let key_id = old_status["pseudonym_key"]["key_id"].clone();
    assert!(key_id.is_string(), "{old_status}");
    let segments_before = old.count("SELECT count(*) FROM segment");

    // A second wearable is pulled over a slow link (~4 s) while the backup is taken.
    let mut second = shift_wearable(7302).await;
    let file = old.dir.join("dock.backup");
    let faults = Faults {
        bytes_per_sec: Some(200_000),
        ..Faults::default()
    };
    let addr = LinkAddr::Unix(old.socket.clone());
    let cancel = tokio_util::sync::CancellationToken::new();
    let backup = async {
        // Polled without blocking: the pull runs in this same task.
        let start = std::time::Instant::now();
        while old.count("SELECT count(*) FROM segment") <= segments_before {
            assert!(start.elapsed() < Duration::from_secs(30), "the second pull stored nothing");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let command = old.command(&["backup", "--out", file.to_str().unwrap()]);
        tokio::task::spawn_blocking(move || crate::support::output_with_stdin(command, PASSPHRASE))
            .await
            .unwrap()
    };
    let (pulled, out) = tokio::join!(dock_until_drained(&mut second, &addr, &faults, &cancel), backup);
    pulled.unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("taken by the running daemon"), "{said}");
    // The file is the asker's alone.
    assert_eq!(
        backup_file_mode(&file),
        (0o600, nix::unistd::geteuid().as_raw())
    );
    let manifest = dockd::backup::verify(&file, PASSPHRASE.trim_end()).unwrap();
    let at_backup = manifest.tables["segment"];
    let segments_after = old.count("SELECT count(*) FROM segment");
    assert!(
        segments_before < at_backup && at_backup < segments_after,
        "taken during the pull: {segments_before} < {at_backup} < {segments_after}"
    );
    // The backup holds no badge tag or name in the clear.
    let bytes = std::fs::read(&file).unwrap();
    for marker in [ADA.badge, ADA.name] {
        assert!(!bytes.windows(marker.len()).any(|w| w == marker.as_bytes()));
    }

    // New hardware: a dock that has started once (its own database, keys and certificate).
    let mut new = Dock::start("ops-backup-new");
    let out = restore(&new, &file, true, PASSPHRASE);
    assert!(!out.status.success(), "refused while its daemon runs");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("must be stopped"),
        "{out:?}"
    );
    new.stop();
    let untouched = std::fs::read(new.database()).unwrap();
    // Without --replace: refused, nothing changed.
    let out = restore(&new, &file, false, PASSPHRASE);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--replace"), "{out:?}");
    // A wrong passphrase, a changed byte, a cut-off file: refused before anything is replaced.
    let out = restore(&new, &file, true, "not the passphrase at all\n");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("passphrase does not open this backup"),
        "{out:?}"
    );
    let tampered = new.dir.join("tampered.backup");
    let mut changed = bytes.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 0x20;
    std::fs::write(&tampered, &changed).unwrap();
    let out = restore(&new, &tampered, true, PASSPHRASE);
    assert!(String::from_utf8_lossy(&out.stderr).contains("the backup is damaged"), "{out:?}");
    let truncated = new.dir.join("truncated.backup");
    std::fs::write(&truncated, &bytes[..bytes.len() - 1000]).unwrap();
    let out = restore(&new, &truncated, true, PASSPHRASE);
    assert!(String::from_utf8_lossy(&out.stderr).contains("the backup is cut off"), "{out:?}");
    assert_eq!(std::fs::read(new.database()).unwrap(), untouched);

    let out = restore(&new, &file, true, PASSPHRASE);
    assert!(out.status.success(), "{out:?}");
    // The restored database: SQLite's integrity check, and every table as the backup's instant.
    let conn = new.db();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    assert_eq!(table_counts(&conn), manifest.tables);
    drop(conn);
    new.restart();
    // It continues as the old dock: same pseudonym key, same worker label, same certificate
    // file, same accounts (the old dock's test user signs in), and it takes wearables.
    let status = new.status_json();
    assert_eq!(status["pseudonym_key"]["key_id"], key_id, "{status}");
    let (code, roster) = new.api("GET", "/api/v1/roster", &serde_json::Value::Null);
    assert_eq!(code, 200, "{roster}");
    assert!(roster.to_string().contains(&label), "{label} in {roster}");
    assert_eq!(
        std::fs::read(new.dir.join("data").join("pseudonym.key")).unwrap(),
        std::fs::read(old.dir.join("data").join("pseudonym.key")).unwrap()
    );
    assert!(new.accepts_wearables());
    new.assert_data_folder_private(&["dockd.db", "pseudonym.key"]);
    let _ = cancel;
}
