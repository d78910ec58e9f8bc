//! The privacy controls end to end (issue 15), against the real binary: the audit trail's hash
//! chain, checked by `dockd privacy verify` after someone with the database file rewrote an
//! entry behind dockd's back; the data inventory; the retention purge; a worker's export; and a
//! worker's deletion, after which nothing of them is left and their next docking is discarded.

use std::process::Command;
use std::time::Duration;

use crate::support::{DOCKD, Dock, TEST_PASSWORD, TEST_USER, wait_for};

/// `dockd privacy verify` as an auditor runs it: whether it succeeded, and what it printed.
fn verify(dock: &Dock) -> (bool, String) {
    let out = dock.run_command(&["privacy", "verify"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn privacy_verify_finds_the_trail_intact_and_names_the_entry_rewritten_behind_dockds_back() {
    let mut dock = Dock::start("privacy-verify");
    for _ in 0..3 {
        dock.sign_in(TEST_USER, TEST_PASSWORD);
    }
    // Audit lines are queued: wait until the three sign-ins are stored, each with its link.
    wait_for("three linked sign-ins", Duration::from_secs(10), || {
        (dock.count("SELECT count(*) FROM audit a JOIN audit_link l ON l.audit_id = a.id WHERE a.action = 'login'") >= 3)
            .then_some(())
    });
    let (ok, text) = verify(&dock);
    assert!(ok, "{text}");
    assert!(text.contains("The audit trail is intact"), "{text}");
    assert!(
        text.contains("It agrees with every anchor taken of it (1)"),
        "{text}"
    );

    // While it runs, and after: someone with the file drops the guard and rewrites who signed in.
    let second: i64 =
        dock.count("SELECT id FROM audit WHERE action = 'login' ORDER BY id LIMIT 1 OFFSET 1");
    dock.stop();
    dock.store()
        .connect(rusqlite::OpenFlags::default())
        .unwrap()
        .execute_batch(&format!(
            "DROP TRIGGER audit_no_update; UPDATE audit SET user = 'nobody' WHERE id = {second};"
        ))
        .unwrap();
    let (ok, text) = verify(&dock);
    assert!(!ok, "a rewritten entry must fail the check: {text}");
    assert!(
        text.contains(&format!("audit entry {second} does not match its link")),
        "{text}"
    );
    // A restart appends after the break but does not hide it.
    dock.restart();
    dock.sign_in(TEST_USER, TEST_PASSWORD);
    let (ok, text) = verify(&dock);
    assert!(
        !ok && text.contains(&format!("audit entry {second}")),
        "{text}"
    );
    // The admin's audit page says so too.
    let page = dock.get("/audit");
    assert!(
        page.contains(&format!(
            "<strong>Tamper check failed:</strong> audit entry {second} does not match its link"
        )),
        "{page}"
    );
}

#[test]
fn privacy_report_lists_every_table_the_running_dock_keeps_with_its_class_retention_and_destination()
 {
    let dock = Dock::start("privacy-report");
    dock.sign_in(TEST_USER, TEST_PASSWORD);
    let out = dock.run_command(&["privacy", "report", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["encryption_at_rest"], true, "{report}");
    assert!(
        report["encryption"]
            .as_str()
            .unwrap()
            .starts_with("SQLCipher 4."),
        "{report}"
    );
    assert_eq!(
        report["database_key_file"],
        dock.database_key().display().to_string()
    );
    assert!(report["last_purge_ms"].is_null());
    assert_eq!(report["audit_chain_ok"], true, "{report}");
    assert_eq!(report["upload_configured"], false);
    assert_eq!(report["unclassified_tables"], serde_json::json!([]));
    let rows = report["inventory"].as_array().unwrap();
    // Every table of the dock's own database, as SQLite lists it, is in the inventory.
    let tables: Vec<String> = {
        let db = dock.db();
        let mut query = db
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .unwrap();
        query
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    for table in &tables {
        let row = rows
            .iter()
            .find(|r| r["table"] == table.as_str())
            .unwrap_or_else(|| panic!("{table} is not in the inventory"));
        for key in [
            "holds",
            "class",
            "retention",
            "leaves_dock",
            "record_kinds",
            "columns",
        ] {
            assert!(!row[key].is_null(), "{table} has no {key}");
        }
        // Without [upload] nothing leaves the dock.
        assert_eq!(row["leaves_dock"], false, "{table}");
    }
    let worker = rows.iter().find(|r| r["table"] == "worker").unwrap();
    assert_eq!(worker["columns"]["tag"], "direct_identifier");
    assert_eq!(worker["class"], "worker_identity");

    let text = dock.run_command(&["privacy", "report"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Encryption at rest: on (SQLCipher 4."),
        "{text}"
    );
    assert!(
        text.contains("Upload: not configured; nothing leaves the dock."),
        "{text}"
    );
    assert!(text.contains("sample_block"), "{text}");
}

#[test]
fn purge_now_deletes_what_is_past_its_retention_for_good_and_says_so_everywhere() {
    let mut dock = Dock::start_with_tables(
        "privacy-purge",
        "[privacy.retention_days]\ngps = 7\ndock_power = 7\nraw_segments = 7",
    );
    dock.stop();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let day = 86_400_000i64;
    dock.store()
        .connect(rusqlite::OpenFlags::default())
        .unwrap()
        .execute_batch(&format!(
            "INSERT INTO gps_fix (at_ms, mode, lat, lon) VALUES ({old}, 3, 52.52, 13.40), ({new}, 3, 52.52, 13.40);
             INSERT INTO dock_power (at_ms, reading) VALUES ({old}, '{{}}'), ({new}, '{{}}');",
            old = now_ms - 8 * day,
            new = now_ms - 6 * day,
        ))
        .unwrap();
    let out = dock.run_command(&["purge", "--now"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(
            "1 GPS fixes, 0 GPS events, 1 dock power samples, 0 quarantined segments, 0 audit entries, 0 undelivered upload items."
        ),
        "{text}"
    );
    // The dock's own rows of its run are recent and stay too: count the planted ones.
    for table in ["gps_fix", "dock_power"] {
        assert_eq!(
            dock.count(&format!(
                "SELECT count(*) FROM {table} WHERE at_ms = {}",
                now_ms - 8 * day
            )),
            0,
            "{table}: the 8-day-old row is gone"
        );
        assert_eq!(
            dock.count(&format!(
                "SELECT count(*) FROM {table} WHERE at_ms = {}",
                now_ms - 6 * day
            )),
            1,
            "{table}: the 6-day-old row stays"
        );
    }
    assert_eq!(
        dock.count("SELECT count(*) FROM audit WHERE user = 'dockd purge' AND action = 'delete'"),
        1
    );
    let report = dock.run_command(&["privacy", "report", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert!(
        report["last_purge_ms"].as_i64().unwrap() >= now_ms,
        "{report}"
    );
    assert_eq!(report["audit_chain_ok"], true, "{report}");
    let gps = report["inventory"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["table"] == "gps_fix")
        .unwrap();
    assert_eq!(gps["retention"]["days"], 7, "{gps}");
    // A wrong value is refused with the key named.
    let bad = dock.config.with_file_name("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&dock.config)
            .unwrap()
            .replace("gps = 7", "gps = 0"),
    )
    .unwrap();
    let refused = Command::new(DOCKD)
        .args(["purge", "--now", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("privacy.retention_days.gps must be 1 to 36500 days"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[tokio::test]
async fn a_workers_export_holds_their_reports_alerts_and_every_stored_sample_readable_only_by_the_asker()
 {
    use std::io::BufRead as _;
    use std::os::unix::fs::PermissionsExt as _;
    // The badge the emulated wearable's shift was worn under (its fleet's first worker).
    const EXPORTED: crate::upload::Worker = crate::upload::Worker {
        badge: "B-1001",
        name: "Eve Exporttest",
    };
    let dock = Dock::start("privacy-export");
    crate::upload::wear_and_dock(&dock, &EXPORTED, 31, 1).await;
    let id = dock.count("SELECT id FROM worker WHERE display_name = 'Eve Exporttest'");
    let out = dock.config.with_file_name("export-eve");
    let done = dock.run_command_with_input(
        &["worker", "export", "--out", out.to_str().unwrap()],
        &format!("{}\n", EXPORTED.badge),
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(done.status.success(), "{said}");
    assert!(
        !said.contains(EXPORTED.badge) && !said.contains(EXPORTED.name),
        "{said}"
    );

    // Only the asker can read it.
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for file in dockd::privacy::export::FILES
        .iter()
        .chain(&["samples.csv.zst"])
    {
        let mode = std::fs::metadata(out.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    let json = |file: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(out.join(file)).unwrap()).unwrap()
    };
    assert_eq!(json("person.json")["badge_tag"], EXPORTED.badge);
    assert_eq!(json("person.json")["display_name"], EXPORTED.name);
    assert_eq!(json("shift_reports.json").as_array().unwrap().len(), 1);
    assert_eq!(
        json("alerts.json").as_array().unwrap().len() as i64,
        dock.count(&format!(
            "SELECT count(*) FROM alert WHERE worker_id = {id}"
        ))
    );
    assert!(json("audit.json").as_array().unwrap().iter().any(|line| {
        line["subject"]
            .as_str()
            .unwrap()
            .starts_with(&format!("worker {id} "))
    }));

    // Every stored sample, in order, equal to the stored blocks decoded.
    let csv = zstd::stream::Decoder::new(std::fs::File::open(out.join("samples.csv.zst")).unwrap())
        .unwrap();
    let lines: Vec<String> = std::io::BufReader::new(csv)
        .lines()
        .map(Result::unwrap)
        .collect();
    assert_eq!(lines[0], dockd::privacy::export::SAMPLES_HEADER);
    let stored = dock.count(&format!(
        "SELECT coalesce(sum(count), 0) FROM sample_block WHERE worker_id = {id}"
    ));
    assert!(stored > 10_000, "an hour's worth: {stored}");
    assert_eq!(lines.len() as i64 - 1, stored);
    let (codec, count, data): (u8, i64, Vec<u8>) = dock
        .db()
        .query_row(
            &format!(
                "SELECT codec, count, data FROM sample_block WHERE worker_id = {id}
                 ORDER BY coalesce(wall_ms, 0), id LIMIT 1"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let first = dockd::store::samples::decode(codec, &data, count as usize).unwrap();
    for (line, sample) in lines[1..].iter().zip(&first) {
        let fields: Vec<&str> = line.split(',').collect();
        let values: Vec<i16> = fields[2..].iter().map(|f| f.parse().unwrap()).collect();
        assert_eq!(values, sample.to_vec(), "{line}");
    }

    // The export is audited by the worker's id, never by their tag or name — by the running
    // daemon, which read it and streamed it through its control socket (the command opened no
    // database and wrote no line itself).
    assert!(
        dock.log().contains("worker_export asked by uid"),
        "{}",
        dock.log()
    );
    let audited = dock.count(&format!(
        "SELECT count(*) FROM audit WHERE action = 'export' AND subject LIKE 'worker {id}: %'"
    ));
    assert_eq!(audited, 1);
    assert_eq!(
        dock.count(&format!(
            "SELECT count(*) FROM audit WHERE instr(subject, '{}') > 0 OR instr(subject, '{}') > 0",
            EXPORTED.badge, EXPORTED.name
        )),
        0
    );
    // The same export downloaded from the Roster page's API (admins), a tar archive streamed as
    // it is made: the same files, the samples in parts that join into the same CSV.
    let (status, archive) = dock.get_bytes(&format!("/api/v1/roster/workers/{id}/export"));
    assert_eq!(status, 200);
    let mut entries = std::collections::BTreeMap::new();
    let mut at = 0;
    while at + 512 <= archive.len() && archive[at] != 0 {
        let header = &archive[at..at + 512];
        let name = String::from_utf8_lossy(&header[..100])
            .trim_end_matches('\0')
            .to_owned();
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&header[124..135]).trim_matches('\0'),
            8,
        )
        .unwrap();
        assert_eq!(&header[100..107], b"0000600", "{name} is 0600");
        entries.insert(name, archive[at + 512..at + 512 + size].to_vec());
        at += 512 + size.div_ceil(512) * 512;
    }
    for file in [
        "person.json",
        "roster.json",
        "work_restrictions.json",
        "shift_reports.json",
        "alerts.json",
    ] {
        assert_eq!(
            entries[file],
            std::fs::read(out.join(file)).unwrap(),
            "{file} as the command wrote it"
        );
    }
    let parts: Vec<u8> = entries
        .iter()
        .filter(|(name, _)| name.starts_with("samples.csv.zst."))
        .flat_map(|(_, bytes)| bytes.clone())
        .collect();
    assert_eq!(
        zstd::decode_all(parts.as_slice()).unwrap(),
        zstd::decode_all(std::fs::File::open(out.join("samples.csv.zst")).unwrap()).unwrap(),
        "the parts joined are the command's samples.csv.zst"
    );
    assert_eq!(
        dock.count(&format!(
            "SELECT count(*) FROM audit WHERE action = 'export' AND subject LIKE 'worker {id}: %'"
        )),
        2,
        "the download is audited too"
    );

    // A second export into the same folder is refused, nothing overwritten.
    let again = dock.run_command(&["worker", "export", "--out", out.to_str().unwrap()]);
    assert!(!again.status.success());

    // With no daemon running the command reads the database itself: the same files (the audit
    // lines about them have grown by the exports since), and it writes its own audit line.
    let mut dock = dock;
    assert!(dock.stop().success());
    let offline = dock.config.with_file_name("export-eve-offline");
    let done = dock.run_command_with_input(
        &["worker", "export", "--out", offline.to_str().unwrap()],
        &format!("{}\n", EXPORTED.badge),
    );
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    for file in dockd::privacy::export::FILES
        .iter()
        .filter(|file| **file != "audit.json")
        .chain(&["samples.csv.zst"])
    {
        assert_eq!(
            std::fs::read(out.join(file)).unwrap(),
            std::fs::read(offline.join(file)).unwrap(),
            "{file}"
        );
    }
    assert_eq!(
        dock.count(&format!(
            "SELECT count(*) FROM audit WHERE action = 'export' AND user = 'dockd worker export'
             AND subject = 'worker {id}: their data exported (1 shift reports, {stored} samples)'"
        )),
        1,
        "the offline export's own line, with no route"
    );
}

/// Every `table.column` of the dock's database with a row that names the worker: `worker_id =
/// id`, or one of `needles` anywhere in the column's text or bytes.
fn rows_naming(dock: &Dock, id: i64, needles: &[&[u8]]) -> Vec<String> {
    let db = dock.db();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut found = Vec::new();
    for table in tables {
        let columns: Vec<String> = db
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .unwrap()
            .query_map([&table], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for column in columns {
            let mut rows: i64 = 0;
            if column == "worker_id" {
                rows += db
                    .query_row(
                        &format!("SELECT count(*) FROM {table} WHERE worker_id = ?1"),
                        [id],
                        |r| r.get::<_, i64>(0),
                    )
                    .unwrap();
            }
            for needle in needles {
                rows += db
                    .query_row(
                        &format!(
                            "SELECT count(*) FROM {table} WHERE instr(CAST({column} AS BLOB), ?1) > 0"
                        ),
                        [needle],
                        |r| r.get::<_, i64>(0),
                    )
                    .unwrap();
            }
            if rows > 0 {
                found.push(format!("{table}.{column}: {rows}"));
            }
        }
    }
    found
}

/// Whether `marker` is in any page of the dock's database or WAL decrypted with its key.
fn in_decrypted_pages(dock: &Dock, marker: &[u8]) -> bool {
    let key = dockd::store::DatabaseKey::from_file(&dock.database_key())
        .unwrap()
        .unwrap();
    let wal = std::path::PathBuf::from(format!("{}-wal", dock.database().display()));
    [dock.database(), wal].iter().any(|file| {
        dockd::store::key::decrypt_every_page(file, &key)
            .unwrap()
            .windows(marker.len())
            .any(|w| w == marker)
    })
}

#[tokio::test]
async fn worker_delete_leaves_nothing_of_a_docked_worker_but_the_audit_entry_and_discards_their_next_docking()
 {
    // The badge the emulated wearables' shifts are worn under (their fleet's first worker).
    const DELETED: crate::upload::Worker = crate::upload::Worker {
        badge: "B-1001",
        name: "Dee Deletetest",
    };
    let dock = Dock::start("privacy-delete");
    crate::upload::wear_and_dock(&dock, &DELETED, 41, 1).await;
    let id = dock.count("SELECT id FROM worker WHERE display_name = 'Dee Deletetest'");
    let needles: [&[u8]; 2] = [DELETED.badge.as_bytes(), DELETED.name.as_bytes()];
    let stored = rows_naming(&dock, id, &needles);
    assert!(
        in_decrypted_pages(&dock, b"Deletetest"),
        "the scan finds the name while it is stored"
    );
    for held in [
        "worker.tag",
        "worker.display_name",
        "sample_block.worker_id",
        "alert.worker_id",
        "shift_report.worker_id",
        "roster_wearable.worker_id",
    ] {
        assert!(
            stored.iter().any(|f| f.starts_with(&format!("{held}:"))),
            "{held}: {stored:?}"
        );
    }

    // `dockd worker delete` with `stdin` on standard input (the tag never in argv).
    let delete = |flags: &[&str], stdin: &str| {
        let args: Vec<&str> = ["worker", "delete"].iter().chain(flags).copied().collect();
        dock.run_command_with_input(&args, stdin)
    };
    // Unconfirmed (no `yes` on the line after the tag, no `--yes`): nothing is deleted.
    let unconfirmed = delete(&[], &format!("{}\nno\n", DELETED.badge));
    assert!(!unconfirmed.status.success());
    let said = String::from_utf8_lossy(&unconfirmed.stderr);
    assert!(
        said.contains("not confirmed, so nothing was deleted"),
        "{said}"
    );
    assert!(
        !said.contains(DELETED.badge) && !said.contains(DELETED.name),
        "{said}"
    );
    assert_eq!(rows_naming(&dock, id, &needles), stored);

    let done = delete(&["--yes"], &format!("{}\n", DELETED.badge));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(done.status.success(), "{said}");
    assert!(
        said.contains(&format!("Deleted worker {id} for good: ")),
        "{said}"
    );
    assert!(said.contains("1 shift reports"), "{said}");
    // The running daemon deleted (through its control socket), not a second writer.
    assert!(
        dock.log().contains("worker_delete asked by uid"),
        "{}",
        dock.log()
    );
    assert!(
        !said.contains(DELETED.badge) && !said.contains(DELETED.name),
        "{said}"
    );

    // Nothing of them is left, table by table; the audit entry names them by id.
    assert_eq!(rows_naming(&dock, id, &needles), Vec::<String>::new());
    assert_eq!(dock.count("SELECT count(*) FROM worker_tombstone"), 1);
    assert_eq!(
        dock.count(&format!(
            "SELECT count(*) FROM audit WHERE user = 'dockd worker delete' AND action = 'delete'
             AND subject LIKE 'worker {id}: their data deleted for good (%'"
        )),
        1
    );
    let (ok, text) = verify(&dock);
    assert!(ok, "{text}");
    // Their wearable stays, assigned to no one (its next docking clears the tag from it).
    assert_eq!(
        dock.count("SELECT count(*) FROM roster_wearable WHERE worker_id IS NULL"),
        1
    );

    // A second wearable docks with a shift worn under the deleted badge: discarded, counted on
    // its segments, and no worker row is made for the badge again.
    let mut later = crate::upload::shift_wearable(42).await;
    crate::upload::dock_drained(&dock, &mut later).await;
    assert!(
        dock.count(&format!(
            "SELECT coalesce(sum(s.discarded_samples), 0) FROM segment s JOIN wearable w
             ON w.id = s.wearable_id WHERE w.serial = '{}'",
            later.serial()
        )) > 10_000,
        "an hour's worth discarded"
    );
    assert_eq!(dock.count("SELECT count(*) FROM worker"), 0);
    assert_eq!(dock.count("SELECT count(*) FROM sample_block"), 0);
    assert_eq!(rows_naming(&dock, id, &needles), Vec::<String>::new());
    assert!(!dock.log().contains(DELETED.badge));
    // Nor in any page of the database or its WAL decrypted with the key, free pages and old WAL
    // frames included (secure_delete, the incremental vacuum and the WAL truncated after it).
    assert!(
        !in_decrypted_pages(&dock, b"Deletetest"),
        "the name is still in a page"
    );

    // The badge is no one's now: a second deletion says so and fails.
    let refused = delete(&[], &format!("{}\nyes\n", DELETED.badge));
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("no worker on the roster has this badge tag"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purges_running_while_wearables_are_pulled_delete_what_is_old_and_lose_nothing_young() {
    let dock = Dock::start("privacy-purge-during-ingest");
    // Old rows of every purged class the daemon's own tables hold; young ones arrive from the
    // wearables while `dockd purge --now` runs again and again.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let old = now_ms - 400 * 86_400_000;
    dock.store()
        .connect(rusqlite::OpenFlags::default())
        .unwrap()
        .execute_batch(&format!(
            "INSERT INTO gps_fix (at_ms, mode, lat, lon) VALUES ({old}, 3, 52.52, 13.40);
             INSERT INTO dock_power (at_ms, reading) VALUES ({old}, '{{}}');"
        ))
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let purger = {
        let (stop, config) = (std::sync::Arc::clone(&stop), dock.config.clone());
        std::thread::spawn(move || {
            let mut runs = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let out = Command::new(DOCKD)
                    .args(["purge", "--now", "--config"])
                    .arg(&config)
                    .env_remove("RUNTIME_DIRECTORY")
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{out:?}");
                runs += 1;
            }
            runs
        })
    };
    let mut expected = 0;
    for seed in [61, 62, 63] {
        let mut wearable = crate::upload::shift_wearable(seed).await;
        expected += wearable.truth().samples;
        crate::upload::dock_drained(&dock, &mut wearable).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let runs = purger.join().unwrap();
    assert!(runs >= 2, "purges ran during the pulls ({runs})");
    // Every young sample is there; the old rows went.
    assert_eq!(
        dock.count("SELECT coalesce(sum(count), 0) FROM sample_block") as u64,
        expected
    );
    assert_eq!(
        dock.count(&format!("SELECT count(*) FROM gps_fix WHERE at_ms = {old}")),
        0
    );
    assert_eq!(
        dock.count(&format!(
            "SELECT count(*) FROM dock_power WHERE at_ms = {old}"
        )),
        0
    );
    assert_eq!(
        dock.count("SELECT count(*) FROM segment WHERE erased_ms IS NULL"),
        0,
        "every segment stored and erased"
    );
}
