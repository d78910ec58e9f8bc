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
