//! The control socket end to end: `dockd status`, `privacy report | verify`, `purge --now` and
//! `user add` run while the real daemon runs are answered by it (its log and the audit trail say
//! so, and the command's own debug log says it asked the socket), print what they print when
//! they open the stopped dock's database, a second daemon on the same data folder stops at start,
//! a killed daemon's socket is replaced, and a peer outside root, dockd's user and the control
//! group is refused — for real, as another uid, where the tests run as root.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Output;
use std::time::Duration;

use crate::cli::start_refused;
use crate::support::{Dock, TestDir, output_with_stdin, wait_for};

const ASKED: &str = "Asking the running daemon through its control socket.";
const OPENED: &str = "No daemon listens on the control socket";

/// `dockd <args>` against `dock` with its debug log on (which way it went), `stdin` piped in.
fn run(dock: &Dock, args: &[&str], stdin: &str) -> Output {
    let mut command = dock.command(args);
    command.env("RUST_LOG", "dockd=debug");
    output_with_stdin(command, stdin)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `args` and asserts it succeeded the way `route` says (`ASKED` or `OPENED`); its stdout.
fn run_via(dock: &Dock, args: &[&str], stdin: &str, route: &str) -> String {
    let out = run(dock, args, stdin);
    assert!(
        out.status.success(),
        "dockd {args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(route),
        "dockd {args:?} should have gone the way of {route:?}: {}",
        stderr(&out)
    );
    stdout(&out)
}

#[test]
fn commands_ask_the_running_daemon_through_its_socket_and_open_the_database_only_once_it_stopped() {
    let mut dock = Dock::start("control-route");
    let socket = dock.dir.join("data").join("control.sock");
    let meta = std::fs::symlink_metadata(&socket).unwrap();
    assert!(
        std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()),
        "control.sock in the data folder"
    );
    assert_eq!(
        meta.mode() & 0o777,
        0o660,
        "the group may connect, others not"
    );
    // The test user was added before the daemon started: on the database, audited as ever.
    assert_eq!(
        dock.count(
            "SELECT count(*) FROM audit WHERE user = 'dockd user add' AND subject = 'user tester: role admin, password set'"
        ),
        1
    );

    // Changes: answered by the daemon, audited with the route and the caller's uid.
    let purged = run_via(&dock, &["purge", "--now"], "", ASKED);
    assert!(purged.starts_with("Purged for good: "), "{purged}");
    let saved = run_via(
        &dock,
        &["user", "add", "sam", "--role", "supervisor"],
        "a long pass phrase for sam\n",
        ASKED,
    );
    assert_eq!(
        saved,
        format!(
            "User `sam` (supervisor) saved in {}.\n",
            dock.database().display()
        )
    );
    assert!(
        dock.sign_in("sam", "a long pass phrase for sam")
            .contains('=')
    );
    wait_for(
        "both changes in the audit trail",
        Duration::from_secs(10),
        || {
            let n = dock.count(
            "SELECT count(*) FROM audit WHERE (user = 'dockd purge' AND subject LIKE 'retention purge: % rows; through the control socket by uid 0') \
             OR (user = 'dockd user add' AND subject = 'user sam: role supervisor, password set; through the control socket by uid 0')",
        );
            (n == 2).then_some(())
        },
    );
    // Refused by the daemon in the rule's words, the password in no output nor log.
    let short = run(
        &dock,
        &["user", "add", "kim", "--role", "admin"],
        "qz7-short\n",
    );
    assert!(!short.status.success());
    assert!(stderr(&short).contains(ASKED), "{}", stderr(&short));
    assert!(
        stderr(&short).contains(web_ui::rules::PASSWORD_SHORT_WORDS),
        "the rule's words: {}",
        stderr(&short)
    );
    assert!(!dock.log().contains("qz7-short") && !stderr(&short).contains("qz7-short"));

    // Readings: the daemon logs each, by uid.
    let mut asked = Vec::new();
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["privacy", "report"],
        &["privacy", "report", "--json"],
        &["privacy", "verify"],
    ] {
        asked.push(run_via(&dock, args, "", ASKED));
    }
    let log = dock.log();
    for command in [
        "status",
        "privacy_report",
        "privacy_verify",
        "purge_now",
        "user_add",
    ] {
        assert!(
            log.contains(&format!("Control socket: {command} asked by uid 0.")),
            "{command} in the daemon's log:\n{log}"
        );
    }
    let status: serde_json::Value = serde_json::from_str(&asked[1]).unwrap();
    assert!(
        status["wearables"].is_array() && status["upload"]["configured"] == false,
        "{status}"
    );
    let report: serde_json::Value = serde_json::from_str(&asked[3]).unwrap();
    assert_eq!(report["audit_chain_ok"], true, "{report}");
    assert!(report["last_purge_ms"].is_i64(), "{report}");
    assert!(
        asked[4].starts_with("The audit trail is intact"),
        "{}",
        asked[4]
    );

    // Stopped: the socket is gone, the commands open the database and print the very same.
    assert!(dock.stop().success(), "a clean stop; log:\n{}", dock.log());
    assert!(!socket.exists(), "removed at shutdown");
    for (n, args) in [
        &["status"][..],
        &["status", "--json"],
        &["privacy", "report"],
        &["privacy", "report", "--json"],
        &["privacy", "verify"],
    ]
    .into_iter()
    .enumerate()
    {
        assert_eq!(run_via(&dock, args, "", OPENED), asked[n], "dockd {args:?}");
    }
    run_via(
        &dock,
        &["user", "add", "sam", "--role", "technician"],
        "a long pass phrase for sam\n",
        OPENED,
    );
    assert_eq!(
        dock.count(
            "SELECT count(*) FROM audit WHERE subject = 'user sam: role technician, password set'"
        ),
        1,
        "no daemon: audited as the command line always was"
    );
    run_via(&dock, &["purge", "--now"], "", OPENED);
}

#[test]
fn a_second_daemon_on_the_same_folder_stops_at_start_and_a_killed_daemons_socket_is_replaced() {
    let mut dock = Dock::start("control-two");
    let (code, text) = start_refused(&dock.config);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("another dockd already answers on the control socket")
            && text.contains("two daemons on one database"),
        "{text}"
    );
    // The first one is unharmed.
    run_via(&dock, &["status"], "", ASKED);

    // Killed: its socket file stays, nobody behind it; commands use the database.
    dock.kill_hard();
    let socket = dock.dir.join("data").join("control.sock");
    assert!(socket.exists(), "kill -9 leaves the socket file");
    run_via(&dock, &["status", "--json"], "", OPENED);
    dock.restart();
    assert!(
        dock.log()
            .contains("Replacing the control socket a stopped dockd left behind."),
        "{}",
        dock.log()
    );
    run_via(&dock, &["status", "--json"], "", ASKED);
}

const NOBODY: u32 = 65534;
const NOGROUP: u32 = 65534;

/// Whether this test run can start a peer as `nobody` in group `nogroup` (it must be root);
/// says why not when it cannot.
fn can_run_as_nobody() -> bool {
    let can = nix::unistd::geteuid().as_raw() == 0
        && nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(NOGROUP))
            .ok()
            .flatten()
            .is_some_and(|group| group.name == "nogroup");
    if !can {
        eprintln!(
            "skipped: running a peer as another uid needs root and the group nogroup (65534); the decision itself is unit-tested in dockd::control::peer"
        );
    }
    can
}

/// A dock whose control socket is in a folder others may enter, given to the group `nogroup`,
/// its config readable by them (so `nobody` in `nogroup` can ask it), and that folder.
fn dock_for_nogroup(name: &str) -> (Dock, TestDir) {
    let run_dir = TestDir::new(&format!("{name}-run"));
    std::fs::set_permissions(run_dir.join(""), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = run_dir.join("control.sock");
    let dock = Dock::start_with_tables(
        name,
        &format!("[control]\nsocket = {socket:?}\ngroup = \"nogroup\"\n"),
    );
    std::fs::set_permissions(dock.dir.join(""), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&dock.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    (dock, run_dir)
}

/// `setpriv` as `uid`, primary group `gid`, supplementary `groups` (none: cleared).
fn as_user(uid: u32, gid: u32, groups: &[u32]) -> Vec<String> {
    let groups = if groups.is_empty() {
        "--clear-groups".to_owned()
    } else {
        format!(
            "--groups={}",
            groups
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    vec![
        "setpriv".to_owned(),
        format!("--reuid={uid}"),
        format!("--regid={gid}"),
        groups,
    ]
}

#[test]
fn a_peer_outside_root_dockds_user_and_the_control_group_is_refused_and_no_database_is_opened() {
    const STRANGER: u32 = 54321;
    if !can_run_as_nobody() {
        return;
    }
    // The socket in a folder others may enter, given to the group `nogroup`.
    let (dock, run_dir) = dock_for_nogroup("control-peers");
    let socket = run_dir.join("control.sock");
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!(
        (meta.mode() & 0o777, meta.gid()),
        (0o660, NOGROUP),
        "0660, the group's"
    );
    let link = dock.dir.join("data").join("control.sock");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        socket,
        "the data folder links to it"
    );

    let status_as = |uid, gid, groups: &[u32]| {
        let wrapper = as_user(uid, gid, groups);
        let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
        let mut command = dock.command_via(&wrapper, &["status", "--json"]);
        command.env("RUST_LOG", "dockd=debug");
        output_with_stdin(command, "")
    };
    // Members by primary and by supplementary group are let in.
    for (gid, groups) in [(NOGROUP, &[][..]), (STRANGER, &[NOGROUP][..])] {
        let out = status_as(NOBODY, gid, groups);
        assert!(
            out.status.success(),
            "gid {gid} groups {groups:?}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(ASKED), "{}", stderr(&out));
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(status["wearables"].is_array(), "{status}");
    }
    // Outside the group the socket file's mode keeps them out …
    let out = status_as(STRANGER, STRANGER, &[]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot reach dockd's control socket")
            && stderr(&out).contains("ermission denied"),
        "{}",
        stderr(&out)
    );
    // … and were it opened to everyone, the daemon refuses them by their credentials.
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = status_as(STRANGER, STRANGER, &[]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    let told = stderr(&out);
    assert!(
        told.contains("refused this user")
            && told.contains(&format!(
                "uid {STRANGER} may not use dockd's control socket"
            ))
            && told.contains("does not open its database"),
        "{told}"
    );
    assert!(!told.contains(OPENED), "never the database: {told}");
    let log = wait_for(
        "the refusal in the daemon's log",
        Duration::from_secs(10),
        || {
            let log = dock.log();
            log.contains(&format!("Control socket: refused uid {STRANGER}"))
                .then_some(log)
        },
    );
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains(&format!("refused uid {STRANGER}"))),
        "{log}"
    );
}

#[tokio::test]
async fn a_worker_export_asked_by_a_member_of_the_control_group_is_read_by_the_daemon_and_written_as_theirs()
 {
    const WORKER: crate::upload::Worker = crate::upload::Worker {
        badge: "B-1001",
        name: "Olga Otheruser",
    };
    if !can_run_as_nobody() {
        return;
    }
    let (dock, _run_dir) = dock_for_nogroup("control-export");
    crate::upload::wear_and_dock(&dock, &WORKER, 33, 1).await;
    let id = dock.count("SELECT id FROM worker WHERE display_name = 'Olga Otheruser'");
    // A folder `nobody` may write in; `nobody` can read neither the database nor its key.
    let outside = TestDir::new("control-export-out");
    std::fs::set_permissions(outside.join(""), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = outside.join("olga");
    let wrapper = as_user(NOBODY, NOGROUP, &[]);
    let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
    let mut command = dock.command_via(
        &wrapper,
        &["worker", "export", "--out", out.to_str().unwrap()],
    );
    command.env("RUST_LOG", "dockd=debug");
    let done = output_with_stdin(command, &format!("{}\n", WORKER.badge));
    let said = format!("{}{}", stdout(&done), stderr(&done));
    assert!(done.status.success(), "{said}");
    assert!(said.contains(ASKED) && !said.contains(OPENED), "{said}");
    assert!(
        !said.contains(WORKER.badge) && !said.contains(WORKER.name),
        "{said}"
    );

    // Every file is the asker's, private to them, and the person's file is theirs.
    for entry in std::fs::read_dir(&out).unwrap() {
        let meta = entry.unwrap().metadata().unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o777), (NOBODY, 0o600));
    }
    let meta = std::fs::metadata(&out).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (NOBODY, 0o700));
    let person: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("person.json")).unwrap()).unwrap();
    assert_eq!(person["badge_tag"], WORKER.badge);
    let lines = std::io::BufRead::lines(std::io::BufReader::new(
        zstd::stream::Decoder::new(std::fs::File::open(out.join("samples.csv.zst")).unwrap())
            .unwrap(),
    ))
    .count() as i64;
    assert_eq!(
        lines - 1,
        dock.count(&format!(
            "SELECT coalesce(sum(count), 0) FROM sample_block WHERE worker_id = {id}"
        ))
    );
    // The daemon audited it, naming the route and the asker's uid.
    assert_eq!(
        dock.count(&format!(
            "SELECT count(*) FROM audit WHERE action = 'export' AND subject LIKE 'worker {id}: their data exported%through the control socket by uid {NOBODY}'"
        )),
        1
    );
    // An unknown badge tag is refused with nothing made.
    let mut command = dock.command_via(
        &wrapper,
        &[
            "worker",
            "export",
            "--out",
            outside.join("nobody-else").to_str().unwrap(),
        ],
    );
    command.env("RUST_LOG", "warn");
    let refused = output_with_stdin(command, "B-0000\n");
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("no worker on the roster has this badge tag"),
        "{}",
        stderr(&refused)
    );
    assert!(!outside.join("nobody-else").exists());
}
