//! The package's life in a real Debian 12 root (a chroot over the cached debootstrap'd bookworm):
//! `apt-get install ./dockd_….deb` with its dependencies from the archive → edit the conffile →
//! upgrade to a newer build → downgrade → remove → purge, twice, then the root's file list
//! compared with the one before. In a chroot systemd is not PID 1 (no `/run/systemd/system`):
//! the maintainer scripts must cope, so deb-systemd-helper enables the units and nothing is
//! started (checked: no process runs in the chroot). Not exercised here, and in the boot test
//! (`tests/boot.rs`) instead: the service starting under systemd (with dockd-key.service making
//! the database key), dpkg restarting the running service on upgrade, and stopping it and
//! removing its units, user and key on purge.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use debian_system::Step;
use debian_system::cache::debian_root;
use debian_system::chroot::System;
use debian_system::deb::{self, Deb};
use debian_system::files::FileList;

/// Paths whose change is apt's and dpkg's own record of the test, not something the package
/// left: the package lists and download cache (`apt-get update`, the dependency fetched from the
/// archive), dpkg's database (its status file keeps history; the package's own `info` files are
/// checked to be gone separately), the logs of the runs, debconf's database (rewritten by every
/// apt run), and ldconfig's auxiliary cache (rewritten when the libusb dependency comes and goes).
const APT_AND_DPKG_RECORDS: &[&str] = &[
    "/var/lib/apt/",
    "/var/cache/apt/",
    "/var/lib/dpkg/",
    "/var/log/",
    "/var/cache/debconf/",
    "/var/cache/ldconfig/",
];

/// Files that stay but are rewritten: the linker cache (the dependency's library came and went),
/// and the account databases with their `-` backups, which the system user and group went into
/// and out of; they must keep their type, permissions and owner. (The package's postrm deletes
/// the account on purge, which Debian allows only when no file of it stays behind: the test
/// checks no file is owned by its old uid or gid, so a later account cannot inherit any.)
const REWRITTEN: &[&str] = &[
    "/etc/ld.so.cache",
    "/etc/passwd",
    "/etc/passwd-",
    "/etc/group",
    "/etc/group-",
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
];

const CONFFILE: &str = "/etc/dockd/dockd.toml";
const EDIT: &str = "# Edited by the lifecycle test: an upgrade must keep this line.";
const WITNESS: &str = "/var/lib/dockd/lifecycle-witness";

#[test]
fn install_upgrade_downgrade_remove_and_purge_twice_keep_edits_and_data_and_leave_nothing_behind() {
    let package = deb::under_test();
    let cache = debian_root();
    let mut system = System::over(cache, "lifecycle");
    system.mount_api();

    let step = Step::start("making a newer build by repacking the .deb");
    let scratch = system.scratch();
    let newer = package.with_version(&format!("{}+ci1", package.version), &scratch);
    step.done();
    for deb in [&package, &newer] {
        system.copy_in(&deb.path, &format!("/tmp/debs/{}", deb.file_name()));
    }
    let step = Step::start("apt-get update in the chroot");
    system.ok("apt-get update -q");
    step.done();

    system.unmount_api();
    let before = FileList::of(system.root());
    system.mount_api();

    let mut accounts = Vec::new();
    for round in 1..=2 {
        let step = Step::start(&format!("lifecycle round {round}"));
        let uid_gid = install(&system, &package, round);
        accounts.push(uid_gid);
        edit_conffile_and_keep_data(&system);
        change_version(&system, &newer, "upgrade", "");
        change_version(&system, &package, "downgrade", "--allow-downgrades");
        remove(&system);
        purge(&system, uid_gid);
        step.done();
    }

    system.unmount_api();
    let after = FileList::of(system.root());
    let left = after.differences(&before, APT_AND_DPKG_RECORDS, REWRITTEN);
    assert!(
        left.is_empty(),
        "after two purges the root differs from before the first install:\n{}",
        left.join("\n")
    );
    for (uid, gid) in accounts {
        let owned = after.owned_by(uid, gid);
        assert!(
            owned.is_empty(),
            "files still owned by the purged dockd user ({uid}) or group ({gid}): {owned:?}"
        );
    }
    let info: Vec<_> = std::fs::read_dir(system.path("/var/lib/dpkg/info"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.starts_with(&format!("{}.", package.package)) || n.starts_with("libusb-1.0-0")
        })
        .collect();
    assert!(info.is_empty(), "dpkg still has records of: {info:?}");
}

/// `apt-get install ./dockd_….deb`: the dependency from the archive, the system user and group,
/// the units enabled by deb-systemd-helper, the conffile and the state folder. Returns the
/// user's uid and gid.
fn install(system: &System, package: &Deb, round: u32) -> (u32, u32) {
    let out = system.ok(&format!(
        "apt-get install -y -q --no-install-recommends ./tmp/debs/{}",
        package.file_name()
    ));
    assert!(
        round > 1 || out.contains("libusb-1.0-0"),
        "apt did not fetch the libusb dependency from the archive:\n{out}"
    );
    assert_eq!(
        installed_version(system).as_deref(),
        Some(package.version.as_str())
    );
    let passwd = system.ok("getent passwd dockd");
    let fields: Vec<&str> = passwd.trim().split(':').collect();
    let uid: u32 = fields[2].parse().unwrap();
    let gid: u32 = fields[3].parse().unwrap();
    assert!(
        (100..1000).contains(&uid),
        "dockd must be a system user (Debian's 100–999), got {passwd}"
    );
    assert_eq!(
        fields[6], "/usr/sbin/nologin",
        "the system user must not log in: {passwd}"
    );
    let group = system.ok("getent group dockd");
    assert_eq!(
        group.split(':').nth(2).map(str::trim),
        Some(gid.to_string().as_str()),
        "dockd's primary group must be the dockd group: {group}"
    );
    // No systemd in a chroot: the units are enabled (links made by deb-systemd-helper), not started.
    let enabled = system.ok("systemctl is-enabled dockd.service");
    assert_eq!(enabled.trim(), "enabled");
    let running = system.processes();
    assert!(
        running.is_empty(),
        "a maintainer script left processes running in the chroot: {running:?}"
    );
    assert!(
        system.path(CONFFILE).is_file(),
        "no {CONFFILE} after install"
    );
    (uid, gid)
}

fn edit_conffile_and_keep_data(system: &System) {
    system.ok(&format!("echo '{EDIT}' >> {CONFFILE}"));
    // What the daemon stores: it runs only in the boot test, so a file of its user stands for it.
    system.ok(&format!(
        "install -d -o dockd -g dockd -m 0700 /var/lib/dockd && echo data > {WITNESS} && chown dockd:dockd {WITNESS}"
    ));
}

fn change_version(system: &System, to: &Deb, what: &str, flag: &str) {
    system.ok(&format!(
        "apt-get install -y -q --no-install-recommends {flag} ./tmp/debs/{}",
        to.file_name()
    ));
    assert_eq!(
        installed_version(system).as_deref(),
        Some(to.version.as_str()),
        "after the {what}"
    );
    let conffile = std::fs::read_to_string(system.path(CONFFILE)).unwrap();
    assert!(
        conffile.contains(EDIT),
        "the {what} lost the conffile edit:\n{conffile}"
    );
    let leftovers = system.ok("ls /etc/dockd");
    assert!(
        !leftovers.contains(".dpkg-"),
        "the {what} left dpkg's conffile copies: {leftovers}"
    );
    assert!(system.path(WITNESS).is_file(), "the {what} lost {WITNESS}");
}

fn remove(system: &System) {
    system.ok("apt-get remove -y -q dockd");
    let status = system.ok("dpkg-query -W -f='${Status}' dockd");
    assert_eq!(status, "deinstall ok config-files", "after remove");
    assert!(
        !system.path("/usr/bin/dockd").exists(),
        "remove left /usr/bin/dockd"
    );
    let conffile = std::fs::read_to_string(system.path(CONFFILE)).unwrap();
    assert!(
        conffile.contains(EDIT),
        "remove must keep the edited conffile"
    );
    assert!(
        system.path(WITNESS).is_file(),
        "remove must keep the dock's data ({WITNESS})"
    );
    system.ok("getent passwd dockd");
}

fn purge(system: &System, (uid, gid): (u32, u32)) {
    system.ok("apt-get purge -y -q --autoremove dockd");
    assert_eq!(installed_version(system), None, "after purge");
    for gone in ["/etc/dockd", "/var/lib/dockd", "/usr/bin/dockd"] {
        assert!(!system.path(gone).exists(), "purge left {gone}");
    }
    let libusb = system.sh("dpkg-query -W -f='${Status}' libusb-1.0-0");
    assert!(
        libusb.code != 0 || !libusb.output.contains("installed"),
        "purge --autoremove left the libusb dependency: {}",
        libusb.output
    );
    // The package deletes its account on purge (see REWRITTEN), once nothing of it is left.
    for (database, name) in [("passwd", "user"), ("group", "group")] {
        let left = system.sh(&format!("getent {database} dockd"));
        assert_ne!(left.code, 0, "purge left the dockd {name}: {}", left.output);
    }
    let owned = FileList::of(system.root()).owned_by(uid, gid);
    assert!(
        owned.is_empty(),
        "purge left files of the dockd account: {owned:?}"
    );
}

fn installed_version(system: &System) -> Option<String> {
    let ran = system.sh("dpkg-query -W -f='${Status} ${Version}' dockd");
    let text = ran.output.trim();
    text.strip_prefix("install ok installed ")
        .map(str::to_owned)
}
