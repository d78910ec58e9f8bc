//! The privacy controls end to end (issue 15), against the real binary: so far the audit trail's
//! hash chain, checked by `dockd privacy verify` after someone with the database file rewrote an
//! entry behind dockd's back.

use std::process::Command;
use std::time::Duration;

use crate::support::{DOCKD, Dock, TEST_PASSWORD, TEST_USER, wait_for};

/// `dockd privacy verify` as an auditor runs it: whether it succeeded, and what it printed.
fn verify(dock: &Dock) -> (bool, String) {
    let out = Command::new(DOCKD)
        .args(["privacy", "verify", "--config"])
        .arg(&dock.config)
        .output()
        .unwrap();
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
    rusqlite::Connection::open(dock.database())
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
}
