//! The launcher and its slots, end to end: a release installed in a slot (as the updater leaves
//! it) is started on trial by the packaged binary, judged from outside and confirmed — or rolled
//! back when its selftest fails, when it exits at once, when it hangs, or when starts keep being
//! cut short — and the packaged version takes over when it is the newer one. The "new release"
//! is this very binary with its version mark rewritten (dockd::version): building dockd twice
//! would take minutes. Where a release must misbehave in a way dockd never would (exit at once,
//! hang), a small shell script signed like a release stands in for it, and says so.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use aws_lc_rs::signature::Ed25519KeyPair;
use dockd::update::keys;
use dockd::update::manifest::TrustedKey;
use dockd::update::slots::{BINARY, SlotState, Slots};

use crate::support::{DOCKD, Dock, wait_for};

/// This binary, as release `version`.
pub fn release_binary(version: &str) -> Vec<u8> {
    let bytes = std::fs::read(DOCKD).unwrap();
    dockd::version::rewrite_mark(&bytes, version).expect("the binary holds one version mark")
}

/// The manifest of `version` naming `binary`'s SHA-256, signed with the test key (as the release
/// server's would be): the bytes and the signature.
pub fn signed_manifest(
    version: &str,
    binary_sha256: &str,
    archive_sha256: &str,
) -> (Vec<u8>, Vec<u8>) {
    let arch = std::env::consts::ARCH;
    let key = TrustedKey::new(keys::test_key::public());
    let manifest = serde_json::json!({
        "schema": 1,
        "version": version,
        "min_version": "0.0.0",
        "expires_ms": 4_000_000_000_000i64,
        "key_id": key.id,
        "assets": [{
            "name": format!("dockd-{version}-{arch}.tar.gz"),
            "arch": arch,
            "sha256": archive_sha256,
            "size": 1,
            "binary_sha256": binary_sha256,
        }],
    })
    .to_string()
    .into_bytes();
    let pair = Ed25519KeyPair::from_seed_unchecked(&keys::test_key::SEED).unwrap();
    let signature = pair.sign(&manifest).as_ref().to_vec();
    (manifest, signature)
}

/// Installs `binary` as release `version` in the dock's slots, on trial: what the updater leaves
/// after a verified download.
pub fn install_release(data: &Path, version: &str, binary: &[u8]) {
    let slots = Slots::new(data);
    let staged = slots.staging(version).unwrap();
    let path = staged.join(BINARY);
    std::fs::write(&path, binary).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    let digest = dockd::update::slots::sha256_file(&path).unwrap();
    let (manifest, signature) = signed_manifest(version, &digest, &"00".repeat(32));
    slots
        .install(version.parse().unwrap(), &staged, &manifest, &signature, 1)
        .unwrap();
}

fn state(dock: &Dock) -> SlotState {
    Slots::new(&dock.dir.join("data")).state().unwrap()
}

fn actions(dock: &Dock) -> Vec<(String, String, String)> {
    Slots::new(&dock.dir.join("data"))
        .events()
        .into_iter()
        .map(|e| (e.action, e.version, e.detail))
        .collect()
}

/// Waits until the last event is `action`, and returns it.
fn wait_for_event(dock: &Dock, action: &str) -> (String, String, String) {
    wait_for(action, Duration::from_secs(60), || {
        actions(dock).last().filter(|a| a.0 == action).cloned()
    })
}

/// The version the running daemon says it is (asked through its control socket, once its page
/// answers).
fn running_version(dock: &Dock) -> String {
    wait_for("the page", Duration::from_secs(30), || {
        std::net::TcpStream::connect(dock.web).is_ok().then_some(())
    });
    dock.status_json()["version"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The audit trail's update lines, once the daemon copied them in.
fn audited(dock: &Dock, action: &str) -> i64 {
    dock.count(&format!(
        "SELECT count(*) FROM audit WHERE action = 'update {action}'"
    ))
}

#[test]
fn a_good_release_is_tried_confirmed_by_its_health_check_and_then_runs_as_the_new_version() {
    let mut dock = Dock::start("update-good");
    assert_eq!(running_version(&dock), env!("CARGO_PKG_VERSION"));
    dock.stop();
    install_release(&dock.dir.join("data"), "0.1.1", &release_binary("0.1.1"));
    dock.restart();
    wait_for(
        "the new version to be confirmed",
        Duration::from_secs(60),
        || (state(&dock).current.as_deref() == Some("0.1.1")).then_some(()),
    );
    assert_eq!(running_version(&dock), "0.1.1");
    let seen: Vec<String> = actions(&dock).into_iter().map(|a| a.0).collect();
    assert_eq!(seen, ["trial", "confirmed"], "{}", dock.log());
    assert!(state(&dock).trial.is_none());
    wait_for(
        "the confirmation in the audit trail",
        Duration::from_secs(10),
        || (audited(&dock, "confirmed") == 1).then_some(()),
    );
    // The copy of the database from before the trial is gone once confirmed.
    assert!(
        !dock
            .dir
            .join("data/versions/0.1.1/before-trial.db")
            .exists()
    );

    // A stop stops both, cleanly; the next start runs the confirmed version straight away.
    assert!(dock.stop().success());
    dock.restart();
    assert_eq!(running_version(&dock), "0.1.1");
    assert_eq!(actions(&dock).len(), 2, "no second trial");
}

#[test]
fn a_release_whose_selftest_fails_is_rolled_back_before_it_serves_and_the_rollback_is_reported() {
    let mut dock = Dock::start("update-selftest");
    dock.stop();
    // A release whose analysis no longer reproduces its committed counts (one count changed in
    // the reference it carries): a detector regression caught before it judges a worker.
    let mut binary = release_binary("0.1.1");
    let needle = b"\"alerts\": 865,";
    let at = binary
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the reference counts are in the binary");
    binary[at + needle.len() - 2] = b'6';
    install_release(&dock.dir.join("data"), "0.1.1", &binary);
    dock.restart();
    let (_, version, detail) = wait_for_event(&dock, "rolled_back");
    assert_eq!(running_version(&dock), env!("CARGO_PKG_VERSION"));
    assert_eq!(version, "0.1.1");
    assert!(detail.contains("selftest failed"), "{detail}");
    let state = state(&dock);
    assert_eq!(state.failed, ["0.1.1"]);
    assert!(state.current.is_none() && state.trial.is_none());
    assert!(!dock.dir.join("data/versions/0.1.1").exists());
    wait_for(
        "the rollback in the audit trail",
        Duration::from_secs(10),
        || (audited(&dock, "rolled back") == 1).then_some(()),
    );
}

/// A signed "release" that passes its selftest, then misbehaves as `run`: stands in for a
/// release that crashes at start or hangs (dockd itself never would on purpose).
fn misbehaving(run: &str) -> Vec<u8> {
    format!("#!/bin/sh\ncase \"$1\" in\n  selftest) exit 0 ;;\n  run) {run} ;;\nesac\nexit 2\n")
        .into_bytes()
}

#[test]
fn a_release_that_exits_at_once_is_rolled_back_by_the_launcher_alone() {
    let mut dock = Dock::start("update-exits");
    dock.stop();
    install_release(&dock.dir.join("data"), "0.1.1", &misbehaving("exit 3"));
    dock.restart();
    let (_, _, detail) = wait_for_event(&dock, "rolled_back");
    assert_eq!(running_version(&dock), env!("CARGO_PKG_VERSION"));
    assert!(detail.contains("exit code 3"), "{detail}");
}

#[test]
fn a_release_that_hangs_is_killed_at_the_health_limit_and_rolled_back() {
    let mut dock = Dock::start_with_tables(
        "update-hangs",
        "[update]\nmanifest_url = \"https://releases.invalid/manifest.json\"\nhealth_timeout_s = 5\n",
    );
    dock.stop();
    install_release(
        &dock.dir.join("data"),
        "0.1.1",
        &misbehaving("exec sleep 600"),
    );
    dock.restart();
    let (_, _, detail) = wait_for_event(&dock, "rolled_back");
    assert_eq!(running_version(&dock), env!("CARGO_PKG_VERSION"));
    assert!(detail.contains("within 5 s"), "{detail}");
}

#[test]
fn starts_cut_short_during_a_trial_use_up_its_starts_and_the_next_start_rolls_it_back() {
    let mut dock = Dock::start("update-crashloop");
    dock.stop();
    install_release(
        &dock.dir.join("data"),
        "0.1.1",
        &misbehaving("exec sleep 600"),
    );
    // Each start is cut by kill -9 of the whole unit (a power cut or a watchdog kill) while the
    // version is on trial.
    for start in 1..=3u32 {
        dock.start_process();
        wait_for("the trial to start", Duration::from_secs(30), || {
            let trials = actions(&dock).iter().filter(|a| a.0 == "trial").count();
            (trials == start as usize).then_some(())
        });
        dock.kill_hard();
        assert_eq!(
            state(&dock).trial.unwrap().starts_left,
            dockd::update::slots::TRIAL_STARTS - start
        );
    }
    dock.restart();
    let (_, _, detail) = wait_for_event(&dock, "rolled_back");
    assert_eq!(running_version(&dock), env!("CARGO_PKG_VERSION"));
    assert!(detail.contains("starts"), "{detail}");
}

#[test]
fn a_newer_package_wins_over_an_older_self_update_and_its_slots_are_removed() {
    let mut dock = Dock::start("update-package-newer");
    dock.stop();
    install_release(&dock.dir.join("data"), "0.0.9", &release_binary("0.0.9"));
    dock.restart();
    wait_for_event(&dock, "packaged_newer");
    assert_eq!(running_version(&dock), env!("CARGO_PKG_VERSION"));
    assert_eq!(state(&dock), SlotState::default());
    assert!(!dock.dir.join("data/versions/0.0.9").exists());
}

#[test]
fn a_slot_whose_binary_changed_behind_dockds_back_is_refused_and_the_packaged_version_runs() {
    let mut dock = Dock::start("update-tampered");
    dock.stop();
    install_release(&dock.dir.join("data"), "0.1.1", &release_binary("0.1.1"));
    dock.restart();
    wait_for(
        "the new version to be confirmed",
        Duration::from_secs(60),
        || (state(&dock).current.as_deref() == Some("0.1.1")).then_some(()),
    );
    dock.stop();
    // Someone with the daemon's user rewrites the slot's binary.
    let binary = dock.dir.join("data/versions/0.1.1/dockd");
    std::fs::write(&binary, misbehaving("exec sleep 600")).unwrap();
    dock.restart();
    let (_, _, detail) = wait_for_event(&dock, "refused_slot");
    assert_eq!(running_version(&dock), env!("CARGO_PKG_VERSION"));
    assert!(detail.contains("SHA-256"), "{detail}");
}
