//! What IT expects of the daemon itself (issue 16), against the real binary: a downgrade onto a
//! database a newer dockd migrated leaves the dock up and locked with the file untouched; `dockd
//! backup` taken while wearables are pulled restores with `dockd restore` into a dock that
//! continues as the old one, and a wrong passphrase, a changed byte or a cut-off file is refused
//! before anything is replaced; `dockd metrics` is strict Prometheus text whose figures match a
//! pull; the Diagnostics page and the console say whether the system clock is synchronised.

use std::time::Duration;

use crate::support::{Dock, http_get};

#[test]
fn a_database_from_a_newer_dockd_leaves_the_dock_up_and_locked_saying_so_with_the_file_untouched() {
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
fn restore(
    dock: &Dock,
    file: &std::path::Path,
    replace: bool,
    input: &str,
) -> std::process::Output {
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
                .query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |r| {
                    r.get(0)
                })
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
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the second pull stored nothing"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let command = old.command(&["backup", "--out", file.to_str().unwrap()]);
        tokio::task::spawn_blocking(move || crate::support::output_with_stdin(command, PASSPHRASE))
            .await
            .unwrap()
    };
    let (pulled, out) = tokio::join!(
        dock_until_drained(&mut second, &addr, &faults, &cancel),
        backup
    );
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
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--replace"),
        "{out:?}"
    );
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
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the backup is damaged"),
        "{out:?}"
    );
    let truncated = new.dir.join("truncated.backup");
    std::fs::write(&truncated, &bytes[..bytes.len() - 1000]).unwrap();
    let out = restore(&new, &truncated, true, PASSPHRASE);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the backup is cut off"),
        "{out:?}"
    );
    assert_eq!(std::fs::read(new.database()).unwrap(), untouched);

    let out = restore(&new, &file, true, PASSPHRASE);
    assert!(out.status.success(), "{out:?}");
    // Both audited: the backup on the old dock, the restore in the restored database.
    assert_eq!(
        old.count("SELECT count(*) FROM audit WHERE action = 'backup' AND user = 'dockd backup'"),
        1
    );
    assert_eq!(
        new.count("SELECT count(*) FROM audit WHERE action = 'restore' AND user = 'dockd restore'"),
        1
    );
    // The restored database: SQLite's integrity check, and every table as the backup's instant.
    let conn = new.db();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut counts = table_counts(&conn);
    // The restore's own audit line (and its hash link) came after the backup's instant.
    for table in ["audit", "audit_link"] {
        if let (Some(n), Some(m)) = (counts.get_mut(table), manifest.tables.get(table)) {
            assert_eq!(*n, m + 1, "{table}");
            *n = *m;
        }
    }
    assert_eq!(counts, manifest.tables);
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

#[test]
fn the_diagnostics_page_the_console_and_status_say_whether_this_machines_clock_is_synchronised() {
    use crate::diagnostics::{Group, PROMPT, SOCAT, Terminal};
    use diagnostics::time_sync::{ClockSync, current};
    let scratch = crate::support::TestDir::new("ops-clock-line");
    let (tty_dock, tty_tech) = (scratch.join("ttyDOCK"), scratch.join("ttyTECH"));
    let _line = Group::spawn(std::process::Command::new(SOCAT).args([
        &format!("pty,raw,echo=0,link={}", tty_dock.display()),
        &format!("pty,raw,echo=0,link={}", tty_tech.display()),
    ]));
    crate::support::wait_for("the pty pair", Duration::from_secs(10), || {
        (tty_dock.exists() && tty_tech.exists()).then_some(())
    });
    let dock = Dock::start_with_tables(
        "ops-clock",
        &format!("[serial]\nport = {tty_dock:?}\npin = \"246813\"\n"),
    );
    // This machine's state, read the way the daemon reads it (adjtimex, read only).
    let here = current();
    assert!(!matches!(here, ClockSync::Unknown { .. }), "{here:?}");
    let unsynchronised = here == ClockSync::NotSynchronised;

    let page = dock.get("/diagnostics");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("<dt>System clock</dt>"), "{page}");
    assert_eq!(
        page.contains("The system clock is NOT synchronised"),
        unsynchronised,
        "the banner shows exactly when the clock is not synchronised ({here:?})"
    );
    let (code, api) = dock.api("GET", "/api/v1/diagnostics", &serde_json::Value::Null);
    assert_eq!(code, 200, "{api}");
    assert_eq!(
        api["host"]["clock"]["synchronised"], !unsynchronised,
        "{api}"
    );

    let mut tech = Terminal::open(&tty_tech);
    let _ = tech.ask("version", PROMPT);
    let status = tech.ask("status", PROMPT);
    assert_eq!(
        status.contains("Clock: NOT synchronised"),
        unsynchronised,
        "{status}"
    );

    let json = dock.status_json();
    let state = if unsynchronised {
        "not_synchronised"
    } else {
        "synchronised"
    };
    assert_eq!(json["clock"]["state"], state, "{json}");
    let out = dock.run_command(&["status"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).contains("Clock: NOT synchronised"),
        unsynchronised
    );
}

/// One metric sample: its family's name, labels and value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// A strict reader of the Prometheus text exposition format 0.0.4: every line a `# HELP`, a
/// `# TYPE` or a sample; HELP and TYPE at most once per family and before its samples; a
/// family's samples together; names and label names as the format allows; label values with
/// only `\\`, `\"` and `\n` escapes; counters named `_total`; the text ending with a newline.
fn parse_exposition(text: &str) -> Result<Vec<Sample>, String> {
    fn is_name(name: &str, colon: bool) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
    }
    if !text.ends_with('\n') {
        return Err("the text does not end with a newline".into());
    }
    let mut samples = Vec::new();
    let mut types: std::collections::HashMap<String, String> = Default::default();
    let mut helped = std::collections::HashSet::new();
    let mut finished = std::collections::HashSet::new();
    let mut current: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let fail = |why: &str| Err(format!("line {}: {why}: {line:?}", n + 1));
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (keyword, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if !is_name(name, true) {
                return fail("bad metric name");
            }
            if current.as_deref() != Some(name) {
                if let Some(previous) = current.take() {
                    finished.insert(previous);
                }
                if finished.contains(name) {
                    return fail("a family appears twice");
                }
                current = Some(name.to_owned());
            }
            match keyword {
                "HELP" => {
                    if !helped.insert(name.to_owned()) {
                        return fail("a second HELP");
                    }
                }
                "TYPE" => {
                    let kind = parts.next().unwrap_or("");
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return fail("unknown type");
                    }
                    if kind == "counter" && !name.ends_with("_total") {
                        return fail("a counter not named _total");
                    }
                    if types.insert(name.to_owned(), kind.to_owned()).is_some() {
                        return fail("a second TYPE");
                    }
                    if samples.iter().any(|s: &Sample| s.name == name) {
                        return fail("TYPE after samples");
                    }
                }
                _ => return fail("a comment that is neither HELP nor TYPE"),
            }
            continue;
        }
        let (head, value) = match line.rsplit_once(' ') {
            Some(split) => split,
            None => return fail("no value"),
        };
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => match v.parse() {
                Ok(v) => v,
                Err(_) => return fail("a value that is not a number"),
            },
        };
        let (name, labels) = match head.split_once('{') {
            None => (head, Vec::new()),
            Some((name, rest)) => {
                let Some(body) = rest.strip_suffix('}') else {
                    return fail("labels without their closing brace");
                };
                let mut labels = Vec::new();
                let mut chars = body.chars().peekable();
                while chars.peek().is_some() {
                    let label: String = chars.by_ref().take_while(|&c| c != '=').collect();
                    if !is_name(&label, false) || chars.next() != Some('"') {
                        return fail("a bad label");
                    }
                    let mut value = String::new();
                    loop {
                        match chars.next() {
                            Some('\\') => match chars.next() {
                                Some('\\') => value.push('\\'),
                                Some('"') => value.push('"'),
                                Some('n') => value.push('\n'),
                                _ => return fail("a bad escape"),
                            },
                            Some('"') => break,
                            Some(c) => value.push(c),
                            None => return fail("an unterminated label value"),
                        }
                    }
                    labels.push((label, value));
                    match chars.next() {
                        Some(',') | None => {}
                        _ => return fail("labels not separated by commas"),
                    }
                }
                (name, labels)
            }
        };
        if !is_name(name, true) {
            return fail("bad metric name");
        }
        if current.as_deref() != Some(name) || !types.contains_key(name) {
            return fail("a sample outside its family or before its TYPE");
        }
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    Ok(samples)
}

#[test]
fn the_strict_exposition_reader_refuses_what_the_format_does_not_allow() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\"} 1\n";
    assert_eq!(parse_exposition(good).unwrap()[0].labels[0].1, "q\"");
    for bad in [
        "# TYPE a counter\na 1\n",
        "# TYPE a_total counter\na_total 1",
        "a_total 1\n",
        "# TYPE a gauge\na{x=\"1\"\n",
        "# TYPE a gauge\na one\n",
        "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# HELP a again\n",
        "# TYPE a gauge\n# TYPE a gauge\na 1\n",
        "# TYPE 1a gauge\n1a 1\n",
        "# TYPE a gauge\na{x=\"\\t\"} 1\n",
    ] {
        assert!(parse_exposition(bad).is_err(), "{bad:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dockd_metrics_is_strict_prometheus_text_whose_figures_match_a_pull() {
    use crate::upload::{dock_drained, shift_wearable};
    let dock = Dock::start("ops-metrics");
    let mut wearable = shift_wearable(7401).await;
    dock_drained(&dock, &mut wearable).await;
    // The pull's end is recorded when the wearable has gone.
    crate::support::wait_for("the docking's outcome", Duration::from_secs(30), || {
        (dock.count("SELECT count(*) FROM docking WHERE outcome IS NOT NULL") == 1).then_some(())
    });
    let out = dock.run_command(&["metrics"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let samples = parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let value = |name: &str| {
        samples
            .iter()
            .find(|s| s.name == name && s.labels.is_empty())
            .unwrap_or_else(|| panic!("{name} in\n{text}"))
            .value
    };
    let segments = dock.count("SELECT count(*) FROM segment");
    assert!(segments >= 6, "{segments}");
    assert_eq!(value("dockd_pulls_started_total"), 1.0);
    assert_eq!(value("dockd_pulls_completed_total"), 1.0);
    assert!(
        !samples.iter().any(|s| s.name == "dockd_pulls_failed_total"),
        "{text}"
    );
    assert_eq!(value("dockd_segments_stored_total"), segments as f64);
    assert_eq!(value("dockd_segments_quarantined_total"), 0.0);
    assert_eq!(
        value("dockd_samples_stored_total"),
        dock.count("SELECT sum(samples) FROM segment") as f64
    );
    assert_eq!(
        value("dockd_ingested_bytes_total"),
        dock.count("SELECT sum(size) FROM segment") as f64
    );
    assert_eq!(
        value("dockd_outbox_items"),
        0.0,
        "no [upload]: nothing queued"
    );
    assert_eq!(value("dockd_outbox_dead_letters"), 0.0);
    assert!(value("dockd_database_bytes") > 0.0);
    assert!(value("dockd_data_folder_available_bytes") > 0.0);
    assert!(value("dockd_uptime_seconds") >= 0.0);
    assert!(value("dockd_writer_queue_length") <= 8.0);
    let build = samples
        .iter()
        .find(|s| s.name == "dockd_build_info")
        .unwrap();
    assert_eq!(
        build.labels,
        vec![("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned())]
    );
    // The serial never appears as a label or anywhere.
    assert!(!text.contains(wearable.serial()), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dockd_metrics_counts_upload_attempts_by_outcome_as_the_receiver_saw_them() {
    use crate::upload::{Worker, https_receiver, wait_until_drained, wear_and_dock};
    use receivers::Fault;
    const CY: Worker = Worker {
        badge: "B-7402",
        name: "Cy Metricstest",
    };
    let dir = crate::support::TestDir::new("ops-metrics-upload");
    std::fs::create_dir_all(dir.join("receiver")).unwrap();
    let (receiver, table) = https_receiver(&dir, "plant-m").await;
    // The first two sends get a 500 each: retried, then delivered.
    receiver.push_fault(Fault::Fail { next: 2 });
    let dock = Dock::start_with_tables("ops-metrics-upload", &table);
    wear_and_dock(&dock, &CY, 7402, 1).await;
    wait_until_drained(&dock, "every item delivered");
    let out = dock.run_command(&["metrics"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let samples = parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let sends = |outcome: &str| {
        samples
            .iter()
            .find(|s| {
                s.name == "dockd_upload_sends_total"
                    && s.labels == vec![("outcome".to_owned(), outcome.to_owned())]
            })
            .unwrap_or_else(|| panic!("{outcome} in\n{text}"))
            .value
    };
    let delivered = samples
        .iter()
        .find(|s| s.name == "dockd_upload_batches_delivered_total")
        .unwrap()
        .value;
    let answered = receiver
        .deliveries()
        .unwrap()
        .iter()
        .filter(|d| d.answered)
        .count() as f64;
    assert_eq!(sends("retriable"), 2.0, "{text}");
    assert_eq!(sends("delivered"), delivered, "{text}");
    assert!(delivered >= 1.0, "{text}");
    assert!(answered >= delivered, "{answered} ≥ {delivered}");
    assert_eq!(sends("this_batch"), 0.0);
}

/// A copy of a dock's data folder and key file, put back before each try.
fn copy_folder(from: &std::path::Path, to: &std::path::Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_of_a_restore_leaves_the_old_database_or_the_new_one_never_a_broken_one()
 {
    use crate::upload::{Worker, wear_and_dock};
    const DEE: Worker = Worker {
        badge: "B-7501",
        name: "Dee Crashtest",
    };
    let old = Dock::start("ops-restore-crash-old");
    wear_and_dock(&old, &DEE, 7501, 1).await;
    let file = old.dir.join("dock.backup");
    let out = old.run_command_with_input(&["backup", "--out", file.to_str().unwrap()], PASSPHRASE);
    assert!(out.status.success(), "{out:?}");
    let backup_segments = dockd::backup::verify(&file, PASSPHRASE.trim_end())
        .unwrap()
        .tables["segment"];
    assert!(backup_segments > 0);

    let mut new = Dock::start("ops-restore-crash-new");
    new.stop();
    let data = new.dir.join("data");
    let pristine = new.dir.join("pristine");
    copy_folder(&data, &pristine);
    let restore_command = || {
        let mut command = new.command(&["restore", file.to_str().unwrap(), "--replace"]);
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    };
    // How long a whole restore takes here, to spread the kills over it.
    let started = std::time::Instant::now();
    let mut child = restore_command().spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), PASSPHRASE.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    let whole = started.elapsed();
    let mut rng = crate::spine::Chaos::new(7501);
    let (mut old_seen, mut new_seen) = (0, 0);
    // Over the whole restore and a little past it (where the kill finds it done).
    let span = whole.as_micros() as u64 * 115 / 100;
    for round in 0..16 {
        copy_folder(&pristine, &data);
        // The last kill comes after a whole restore's time, so both outcomes are checked even
        // when every random moment fell before the switch.
        let at = if round == 15 {
            Duration::from_micros(span)
        } else {
            Duration::from_micros(rng.below(span + 1))
        };
        let mut child = restore_command().spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), PASSPHRASE.as_bytes()).unwrap();
        std::thread::sleep(at);
        let _ = child.kill();
        let _ = child.wait();
        // Whatever the moment: the database opens with the dock's key, is whole, and is the old
        // one (no segment) or the restored one (the backup's segments).
        let conn = new.db();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let segments: i64 = conn
            .query_row("SELECT count(*) FROM segment", [], |r| r.get(0))
            .unwrap();
        drop(conn);
        match segments {
            0 => old_seen += 1,
            n if n == backup_segments => new_seen += 1,
            n => panic!(
                "{n} segments after a kill at {at:?}: neither the old database nor the restored one"
            ),
        }
    }
    eprintln!(
        "kills over {whole:?}: {old_seen} left the old database, {new_seen} the restored one"
    );
    // Both outcomes were met and checked.
    assert!(
        old_seen > 0 && new_seen > 0,
        "old {old_seen}, new {new_seen} (a restore takes {whole:?})"
    );
    // A restore after a kill cleans up and completes; the dock starts on it.
    let out = restore(&new, &file, true, PASSPHRASE);
    assert!(out.status.success(), "{out:?}");
    let names: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains(".restor") && !n.contains(".before-restore")),
        "nothing left behind: {names:?}"
    );
    new.restart();
    assert_eq!(new.count("SELECT count(*) FROM segment"), backup_segments);
}
