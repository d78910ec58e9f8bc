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

use dockd::update::slots::{BINARY, SlotState, Slots};
use receivers::releases::{Attack, ReleaseKit, ReleaseServer, Serve};

use crate::support::{DOCKD, Dock, wait_for};

/// This binary, as release `version`: its debug information stripped (`objcopy --strip-debug`,
/// from the binutils every Rust toolchain links with: 72 MB instead of 300, the same code), its
/// version mark rewritten.
pub fn release_binary(version: &str) -> Vec<u8> {
    static STRIPPED: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let bytes = STRIPPED.get_or_init(|| {
        let out = std::env::temp_dir().join(format!("dockd-stripped-{}", std::process::id()));
        let status = std::process::Command::new("objcopy")
            .arg("--strip-debug")
            .arg(DOCKD)
            .arg(&out)
            .status()
            .expect("objcopy (binutils) runs");
        assert!(status.success());
        let bytes = std::fs::read(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        bytes
    });
    dockd::version::rewrite_mark(bytes, version).expect("the binary holds one version mark")
}

/// Installs `binary` as release `version` in the dock's slots, on trial: what the updater leaves
/// after a verified download.
pub fn install_release(data: &Path, version: &str, binary: &[u8]) {
    let slots = Slots::new(data);
    let staged = slots.staging(version).unwrap();
    let path = staged.join(BINARY);
    std::fs::write(&path, binary).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
    // The release as the release process makes it; its signed manifest goes into the slot.
    let made = data.join(format!("release-{version}"));
    let release = ReleaseKit::new(binary, version).build(&made).unwrap();
    let signature = std::fs::read(release.signature.unwrap()).unwrap();
    slots
        .install(
            version.parse().unwrap(),
            &staged,
            &release.manifest_bytes,
            &signature,
            1,
        )
        .unwrap();
    std::fs::remove_dir_all(made).unwrap();
}

pub(crate) fn state(dock: &Dock) -> SlotState {
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

/// The version the running daemon says it is: asked through its control socket only (never
/// the command line's own answer from the database), once it answers.
pub(crate) fn running_version(dock: &Dock) -> String {
    let config = dockd::config::Config::load(&dock.config).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    wait_for("the daemon's answer", Duration::from_secs(60), || {
        runtime
            .block_on(dockd::control::client::ask_daemon(
                &config,
                dockd::control::protocol::Command::Health,
            ))
            .ok()
            .and_then(|report| report["version"].as_str().map(str::to_owned))
    })
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
    // The state names it first, then the event is recorded.
    wait_for_event(&dock, "confirmed");
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
    assert_eq!(
        state(&dock).previous,
        None,
        "the packaged binary ran before"
    );
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

/// A dock's config with `[update]` pointing at `server`, for `dockd update` without a daemon.
fn update_config(dir: &Path, server: &ReleaseServer, extra: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let config = dir.join("dockd.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\n[web]\nlisten = \"127.0.0.1:{}\"\ntls = false\n[update]\nmanifest_url = \"{}\"\nca_file = {:?}\nhealth_timeout_s = 60\n{extra}",
            dir.join("data"),
            crate::support::free_port(),
            server.manifest_url(),
            server.ca.ca_pem_path,
        ),
    )
    .unwrap();
    config
}

fn dockd_update(config: &Path, what: &str) -> (bool, String, String) {
    let out = std::process::Command::new(DOCKD)
        .args(["update", what, "--config"])
        .arg(config)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sha256(path: &Path) -> String {
    dockd::update::slots::sha256_file(path).unwrap()
}

#[test]
fn every_attack_on_a_release_is_refused_with_its_reason_and_leaves_the_binary_and_the_slots_untouched()
 {
    let dir = crate::support::TestDir::new("update-attacks");
    let served = dir.join("served");
    std::fs::create_dir_all(&served).unwrap();
    std::fs::create_dir_all(dir.join("ca")).unwrap();
    let server = ReleaseServer::start_blocking(&served, &dir.join("ca")).unwrap();
    let config = update_config(&dir.join("dock"), &server, "");
    let binary_before = sha256(Path::new(DOCKD));
    // Every case is refused before anything runs: a small signed payload stands in for the
    // binary (the archive is built, compressed and signed per case).
    let newer = misbehaving("exit 0");
    let cases: Vec<(&str, ReleaseKit, Option<Serve>, &str)> = vec![
        (
            "rollback to an older release",
            ReleaseKit::new(&release_binary("0.0.9"), "0.0.9"),
            None,
            "older than the running",
        ),
        (
            "a running version below the minimum",
            ReleaseKit::new(&release_binary("0.3.0"), "0.3.0").min_version("0.2.0"),
            None,
            "below the release's minimum",
        ),
        (
            "a frozen manifest past its expiry",
            ReleaseKit::new(&newer, "0.1.1").attack(Attack::Expired),
            None,
            "expired",
        ),
        (
            "a manifest signed by an unknown key",
            ReleaseKit::new(&newer, "0.1.1").attack(Attack::ManifestSignedByAnotherKey),
            None,
            "does not trust",
        ),
        (
            "a manifest changed after signing",
            ReleaseKit::new(&newer, "0.1.1").attack(Attack::ManifestChangedAfterSigning),
            None,
            "does not verify",
        ),
        (
            "an unsigned manifest",
            ReleaseKit::new(&newer, "0.1.1").attack(Attack::NoManifestSignature),
            None,
            "404",
        ),
        (
            "mix-and-match of two releases' files",
            ReleaseKit::new(&newer, "0.1.1").attack(Attack::MixAndMatch {
                other_version: "0.1.2".into(),
            }),
            None,
            "mix-and-match",
        ),
        (
            "another release's archive under this one's name",
            ReleaseKit::new(&newer, "0.1.1").attack(Attack::SwappedArchive {
                other_version: "0.1.2".into(),
            }),
            None,
            "sha256",
        ),
        (
            "a wrong checksum",
            ReleaseKit::new(&newer, "0.1.1").attack(Attack::WrongChecksum),
            None,
            "sha256",
        ),
        (
            "an oversize download",
            ReleaseKit::new(&newer, "0.1.1").attack(Attack::Oversize),
            None,
            "larger than",
        ),
        (
            "an endless download",
            ReleaseKit::new(&newer, "0.1.1"),
            Some(Serve::Endless),
            "larger than",
        ),
        (
            "a truncated download",
            ReleaseKit::new(&newer, "0.1.1").attack(Attack::Truncated),
            None,
            "ended after",
        ),
        (
            "an unsigned archive",
            ReleaseKit::new(&newer, "0.1.1").attack(Attack::UnsignedArchive),
            None,
            "signature",
        ),
        (
            "an archive signed by an unknown key",
            ReleaseKit::new(&newer, "0.1.1").attack(Attack::ArchiveSignedByAnotherKey),
            None,
            "signature",
        ),
        (
            "a binary that is not the one the manifest names",
            ReleaseKit::new(&newer, "0.1.1").attack(Attack::WrongBinaryChecksum),
            None,
            "sha256",
        ),
    ];
    let mut refused = Vec::new();
    for (case, kit, serve, reason) in cases {
        let _ = std::fs::remove_dir_all(&served);
        let release = kit.build(&served).unwrap();
        server.serve(&release.asset_name, serve.unwrap_or(Serve::Normal));
        let (ok, stdout, stderr) = dockd_update(&config, "--now");
        assert!(!ok, "{case}: accepted\n{stdout}{stderr}");
        assert!(
            stderr.to_lowercase().contains(&reason.to_lowercase()),
            "{case}: the refusal does not say {reason:?}: {stderr}"
        );
        assert_eq!(
            sha256(Path::new(DOCKD)),
            binary_before,
            "{case}: the binary changed"
        );
        let slots = Slots::new(&dir.join("dock/data"));
        let state = slots.state().unwrap();
        assert!(
            state.trial.is_none() && state.current.is_none(),
            "{case}: {state:?}"
        );
        let left: Vec<String> = std::fs::read_dir(slots.dir())
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| {
                        !n.ends_with(".jsonl") && !n.ends_with(".json") && !n.ends_with("audited")
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "{case}: left in the slots: {left:?}");
        refused.push(format!("{case}: {}", stderr.trim()));
    }
    println!("refused:\n{}", refused.join("\n"));

    // The same server with a good release: offered, then installed on trial.
    let _ = std::fs::remove_dir_all(&served);
    let release = ReleaseKit::new(&newer, "0.1.1").build(&served).unwrap();
    server.serve(&release.asset_name, Serve::Normal);
    let (ok, stdout, stderr) = dockd_update(&config, "--check");
    assert!(
        ok && stdout.contains("0.1.1 is available"),
        "{stdout}{stderr}"
    );
    let (ok, stdout, stderr) = dockd_update(&config, "--now");
    assert!(ok && stdout.contains("0.1.1 installed"), "{stdout}{stderr}");
    let state = Slots::new(&dir.join("dock/data")).state().unwrap();
    assert_eq!(state.trial.unwrap().version, "0.1.1");
    assert_eq!(sha256(Path::new(DOCKD)), binary_before);
}

#[test]
fn a_running_dock_asked_to_update_installs_restarts_into_the_new_version_and_keeps_it_once_healthy()
{
    let dir = crate::support::TestDir::new("update-live-server");
    let served = dir.join("served");
    std::fs::create_dir_all(dir.join("ca")).unwrap();
    let server = ReleaseServer::start_blocking(&served, &dir.join("ca")).unwrap();
    ReleaseKit::new(&release_binary("0.1.1"), "0.1.1")
        .build(&served)
        .unwrap();
    let mut dock = Dock::start_with_tables(
        "update-live",
        &format!(
            "[update]\nmanifest_url = \"{}\"\nca_file = {:?}\n",
            server.manifest_url(),
            server.ca.ca_pem_path
        ),
    );
    assert_eq!(running_version(&dock), env!("CARGO_PKG_VERSION"));
    let out = dock.run_command(&["update", "--now"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("0.1.1 installed"), "{said}");
    wait_for(
        "the new version to be confirmed",
        Duration::from_secs(90),
        || (state(&dock).current.as_deref() == Some("0.1.1")).then_some(()),
    );
    // The state names it first, then the event is recorded.
    wait_for_event(&dock, "confirmed");
    assert_eq!(running_version(&dock), "0.1.1");
    let seen: Vec<String> = actions(&dock).into_iter().map(|a| a.0).collect();
    assert_eq!(seen, ["installed", "trial", "confirmed"], "{}", dock.log());
    wait_for("the audit trail", Duration::from_secs(10), || {
        (audited(&dock, "installed") == 1 && audited(&dock, "confirmed") == 1).then_some(())
    });
    // Asked again: nothing newer.
    let out = dock.run_command(&["update", "--check"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("up to date"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(dock.stop().success());
}

/// Where each step of installing is cut by `kill -9` (a fail point aborts the process there;
/// then the whole unit is killed, as systemd kills a service's cgroup), in the order they run:
/// the daemon's check, download, verification and install, then the launcher's trial.
const INSTALL_STEPS: [&str; 18] = [
    "update-manifest-fetched",
    "update-staging-made",
    "fetch-archive-complete",
    "fetch-archive-verified",
    "fetch-binary-extracted",
    "update-downloaded",
    "slot-manifest-written",
    "slot-binary-synced",
    "slot-renamed",
    "update-installed",
    "daemon-restart-requested",
    "launcher-trial-counted",
    "launcher-selftest-passed",
    "launcher-database-copied",
    "launcher-child-started",
    "launcher-health-passed",
    "launcher-confirmed",
    "launcher-pruned",
];

/// The steps of a rollback (a release whose selftest fails).
const ROLLBACK_STEPS: [&str; 4] = [
    "launcher-trial-counted",
    "launcher-database-restored",
    "launcher-rolled-back",
    "launcher-rollback-pruned",
];

#[test]
fn kill_9_at_every_step_of_an_update_or_a_rollback_leaves_exactly_one_verified_version_serving() {
    use std::os::unix::process::ExitStatusExt;
    let dir = crate::support::TestDir::new("update-kills");
    std::fs::create_dir_all(dir.join("ca")).unwrap();
    let good = ReleaseServer::start_blocking(&dir.join("good"), &dir.join("ca")).unwrap();
    ReleaseKit::new(&release_binary("0.1.1"), "0.1.1")
        .build(&dir.join("good"))
        .unwrap();
    let bad_dir = dir.join("bad");
    std::fs::create_dir_all(bad_dir.join("ca")).unwrap();
    let bad = ReleaseServer::start_blocking(&bad_dir, &bad_dir.join("ca")).unwrap();
    let mut broken = release_binary("0.1.2");
    let needle = b"\"alerts\": 865,";
    let at = broken
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    broken[at + needle.len() - 2] = b'6';
    ReleaseKit::new(&broken, "0.1.2").build(&bad_dir).unwrap();

    let series = INSTALL_STEPS
        .iter()
        .map(|step| (*step, &good))
        .chain(ROLLBACK_STEPS.iter().map(|step| (*step, &bad)));
    let mut outcomes = Vec::new();
    for (n, (step, server)) in series.enumerate() {
        let mut dock = Dock::start_with_tables(
            &format!("update-kill-{n}"),
            &format!(
                "[update]\nmanifest_url = \"{}\"\nca_file = {:?}\nhealth_timeout_s = 60\n",
                server.manifest_url(),
                server.ca.ca_pem_path
            ),
        );
        dock.stop();
        dock.env = vec![("DOCKD_FAILPOINT".into(), step.into())];
        dock.restart();
        let _ = dock.run_command(&["update", "--now"]);
        let status = dock.wait_exit(Duration::from_secs(90));
        assert_eq!(
            status.signal(),
            Some(6),
            "{step}: the fail point was not reached ({status}); log:\n{}",
            dock.log()
        );
        dock.kill_hard();

        // The next start, without the fail point: exactly one version, verified, serving.
        dock.env.clear();
        dock.restart();
        let settled = wait_for("the trial to end", Duration::from_secs(90), || {
            let state = state(&dock);
            state.trial.is_none().then_some(state)
        });
        let running = running_version(&dock);
        match settled.current.as_deref() {
            Some(version) => {
                assert_eq!(running, version, "{step}");
                Slots::new(&dock.dir.join("data"))
                    .verified_binary(
                        version,
                        &dockd::update::keys::trusted(),
                        std::env::consts::ARCH,
                    )
                    .unwrap_or_else(|e| panic!("{step}: {e}"));
            }
            None => assert_eq!(running, env!("CARGO_PKG_VERSION"), "{step}"),
        }
        let leftovers: Vec<String> = std::fs::read_dir(dock.dir.join("data/versions"))
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|name| name.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        assert!(leftovers.is_empty(), "{step}: {leftovers:?}");
        assert_eq!(
            dock.count("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"),
            1,
            "{step}"
        );
        outcomes.push(format!("{step:<28} → runs {running}"));
        dock.stop();
    }
    println!(
        "kill -9 at {} steps:\n{}",
        outcomes.len(),
        outcomes.join("\n")
    );
    assert!(outcomes.len() >= 20);
}
