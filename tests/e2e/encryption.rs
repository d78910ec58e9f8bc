//! Encryption at rest end to end (issue 15), against the real binary: no badge tag or name in the
//! clear in any file while wearables are pulled, a wrong key leaves the dock up and locked with
//! its database untouched, and a plaintext database made by the release before encryption is
//! encrypted in place with `kill -9` at random moments, losing nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dockd::store::key::{FileState, decrypt_every_page, file_state};
use dockd::store::{Database, DatabaseKey};

use crate::spine::Chaos;
use crate::support::{DOCKD, Dock, TestDir, free_port, http_get, wait_for};
use crate::upload::{Worker, wear_and_dock};

/// Every regular file under `dir` (recursively).
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files_in(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn holds(bytes: &[u8], marker: &str) -> bool {
    bytes.windows(marker.len()).any(|w| w == marker.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_badge_tag_or_name_is_in_the_clear_in_any_file_at_any_moment_of_a_pull() {
    const WORKER: Worker = Worker {
        badge: "MKT-9Q4Z",
        name: "MARKER Namezq Ytrewq",
    };
    let dock = Dock::start("encryption-markers");
    // A scanner reads every file of the data folder, and the daemon's log, over and over while
    // the wearable is pulled and its shift analysed.
    let stop = Arc::new(AtomicBool::new(false));
    let scans = Arc::new(AtomicU64::new(0));
    let scanner = {
        let (stop, scans) = (Arc::clone(&stop), Arc::clone(&scans));
        let data = dock.database().parent().unwrap().to_owned();
        let log = data.parent().unwrap().join("dockd.log");
        std::thread::spawn(move || {
            let mut found = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                for file in files_in(&data).into_iter().chain([log.clone()]) {
                    let bytes = std::fs::read(&file).unwrap_or_default();
                    for marker in [WORKER.badge, WORKER.name] {
                        if holds(&bytes, marker) {
                            found.push(format!("{marker} in {}", file.display()));
                        }
                    }
                }
                scans.fetch_add(1, Ordering::Relaxed);
            }
            found
        })
    };
    wear_and_dock(&dock, &WORKER, 5101, 1).await;
    stop.store(true, Ordering::Relaxed);
    let found = scanner.join().unwrap();
    assert!(found.is_empty(), "in the clear: {found:?}");
    assert!(scans.load(Ordering::Relaxed) >= 3, "the scanner ran");

    // The scan could have found them: with the key, the pages hold the name.
    let key = DatabaseKey::from_file(&dock.database_key())
        .unwrap()
        .unwrap();
    let wal = PathBuf::from(format!("{}-wal", dock.database().display()));
    let decrypted = [
        decrypt_every_page(&dock.database(), &key).unwrap(),
        decrypt_every_page(&wal, &key).unwrap(),
    ]
    .concat();
    assert!(
        holds(&decrypted, WORKER.name),
        "the name is stored, encrypted"
    );
}

#[test]
fn a_wrong_key_leaves_the_dock_up_and_locked_with_its_database_untouched_until_the_right_key_is_back()
 {
    let mut dock = Dock::start("encryption-locked");
    dock.stop();
    let right_key = std::fs::read(dock.database_key()).unwrap();
    let before = std::fs::read(dock.database()).unwrap();
    std::fs::write(dock.database_key(), format!("{}\n", "5a".repeat(32))).unwrap();

    dock.restart_locked();
    let page = http_get(dock.web, "/");
    assert!(page.starts_with("HTTP/1.1 503"), "{page}");
    assert!(page.contains("The dock is locked"), "{page}");
    assert!(
        page.contains("does not open with the key"),
        "says why: {page}"
    );
    assert!(!page.contains(&"5a".repeat(32)), "never shows the key");
    let api = http_get(dock.web, "/api/v1/status");
    assert!(api.starts_with("HTTP/1.1 503"), "{api}");
    assert!(api.contains("\"error\""), "{api}");
    // No transport: a wearable cannot dock, so it keeps its logs.
    assert!(!dock.accepts_wearables());
    assert!(dock.log().contains("The dock is locked"));
    // `dockd status` says why too, and neither it nor the daemon changed the file.
    let out = dock.run_command(&["status"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not open with the key"),
        "{out:?}"
    );
    assert_eq!(std::fs::read(dock.database()).unwrap(), before);

    // The right key back: within a recheck the dock unlocks by itself and takes wearables.
    std::fs::write(dock.database_key(), right_key).unwrap();
    wait_for("the dock to unlock", Duration::from_secs(45), || {
        dock.accepts_wearables().then_some(())
    });
    assert!(dock.log().contains("the dock unlocks"));
    assert!(dock.stop().success());
}

/// The plaintext database the release before encryption made (`dockd demo`, 2 wearables, 4
/// dockings), kept compressed beside the tests.
fn plaintext_fixture(into: &Path) {
    let packed = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/plaintext-before-encryption.db.zst"),
    )
    .unwrap();
    std::fs::create_dir_all(into.parent().unwrap()).unwrap();
    std::fs::write(into, zstd::decode_all(packed.as_slice()).unwrap()).unwrap();
}

/// Every segment's key (wearable serial, segment number) and row counts, as stored.
fn segments(conn: &rusqlite::Connection) -> Vec<(String, i64, i64)> {
    conn.prepare(
        "SELECT w.serial, s.segment_no, (SELECT count(*) FROM sample_block b WHERE b.segment_id = s.id)
         FROM segment s JOIN wearable w ON w.id = s.wearable_id ORDER BY 1, 2",
    )
    .unwrap()
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn a_plaintext_database_is_encrypted_in_place_through_kill_9_at_random_moments_losing_nothing() {
    let seed = std::env::var("DOCKD_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(std::process::id()) * 7919);
    let mut chaos = Chaos::new(seed);
    let dir = TestDir::new("encryption-migrate");
    let data = dir.join("data");
    let db_path = data.join("dockd.db");
    let key_file = dir.join("data.database-key");
    plaintext_fixture(&db_path);
    let expected =
        segments(&dockd::store::open_for_reading(&Database::plaintext(&db_path)).unwrap());
    assert!(expected.len() >= 10, "{expected:?}");
    let config = dir.join("dockd.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {data:?}\n[web]\nlisten = \"127.0.0.1:{}\"\ntls = false\n",
            free_port()
        ),
    )
    .unwrap();

    let start = || {
        Command::new(DOCKD)
            .args(["run", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let web = || {
        let text = std::fs::read_to_string(&config).unwrap();
        let at = text.find("127.0.0.1:").unwrap();
        text[at..].split('"').next().unwrap().to_owned()
    };
    // How long this machine takes from the start to the switch, measured on a copy first.
    let started = Instant::now();
    let mut child = start();
    wait_for("the first encryption", Duration::from_secs(60), || {
        (file_state(&db_path).unwrap() == FileState::Encrypted).then_some(())
    });
    let span = started.elapsed();
    child.kill().unwrap();
    child.wait().unwrap();
    println!("encrypted {span:?} after the start");

    // Each trial starts from the plaintext file and kills dockd at a moment spread over that span
    // (every step: the key file, the copy, the switch, the wipe), then checks what is left, then
    // lets a full start finish the job.
    let trials: u32 = 8;
    let (mut plaintext_after, mut encrypted_after) = (0, 0);
    for trial in 0..trials {
        for file in files_in(&data) {
            std::fs::remove_file(file).unwrap();
        }
        let _ = std::fs::remove_file(&key_file);
        plaintext_fixture(&db_path);
        let slice = span.as_micros() as u64 * 5 / 4 / u64::from(trials);
        let at = Duration::from_micros(slice * u64::from(trial) + chaos.below(slice));
        let mut child = start();
        std::thread::sleep(at);
        child.kill().unwrap();
        child.wait().unwrap();
        let state = file_state(&db_path).unwrap();
        let db = match state {
            FileState::Plaintext => {
                plaintext_after += 1;
                Database::plaintext(&db_path)
            }
            FileState::Encrypted => {
                encrypted_after += 1;
                Database::existing(&db_path, &key_file).unwrap()
            }
            other => panic!("trial {trial}, killed at {at:?}: the database is {other:?}"),
        };
        // One complete database under its name: every segment there, once.
        let conn = dockd::store::open_for_reading(&db).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "trial {trial}, killed at {at:?}");
        assert_eq!(segments(&conn), expected, "trial {trial}, killed at {at:?}");
        drop(conn);

        // The next start finishes the job: encrypted, nothing of the plaintext left beside it.
        let mut child = start();
        let address = web();
        wait_for(
            "the page after the encryption",
            Duration::from_secs(60),
            || std::net::TcpStream::connect(&address).is_ok().then_some(()),
        );
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        assert!(child.wait().unwrap().success(), "trial {trial}");
        assert_eq!(file_state(&db_path).unwrap(), FileState::Encrypted);
        let db = Database::existing(&db_path, &key_file).unwrap();
        assert_eq!(
            segments(&dockd::store::open_for_reading(&db).unwrap()),
            expected,
            "trial {trial}, killed at {at:?}"
        );
        let stray: Vec<_> = files_in(&data)
            .into_iter()
            .filter(|f| {
                let name = f.to_string_lossy();
                name.ends_with(".plaintext") || name.ends_with(".encrypting")
            })
            .collect();
        assert!(stray.is_empty(), "trial {trial}: {stray:?}");
    }
    println!("after kill -9: {plaintext_after} plaintext, {encrypted_after} encrypted");
    assert!(
        plaintext_after > 0 && encrypted_after > 0,
        "the kills fell before and after the switch"
    );
    // No plaintext page is left anywhere in the data folder.
    for file in files_in(&data) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !holds(&bytes, "SQLite format 3"),
            "{} is plaintext SQLite",
            file.display()
        );
    }
}
