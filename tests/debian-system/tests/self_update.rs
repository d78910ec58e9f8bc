//! The self-update and the package manager in a Debian 12 system that boots for real (issue 17):
//! a dock installed from a `.deb` updates itself from a release server under the hardened unit
//! (as user dockd, under `ProtectSystem=strict`, the launcher running the new version from
//! /var/lib/dockd/versions as its child, on trial, then confirmed by its health check), and a
//! later `.deb` upgrade to a version newer still ends with that package's version running and
//! the self-updated slots removed: IT and the updater never fight.
//!
//! The package installed is a **test build of the package**: the `.deb` the packaging step built
//! (`DOCKD_DEB`) with only `usr/bin/dockd` replaced by the debug build of dockd (`DOCKD_DEBUG_BIN`,
//! stripped of its debug information), its control file, maintainer scripts, units and config
//! unchanged. A self-update must be signed by a key the installed binary trusts; the release
//! build trusts only the production release key, whose private half is kept offline, and only a
//! debug build also trusts the test key this test can sign with. The releases served are that
//! same binary with its version mark rewritten (`dockd::version`), signed with the test key by
//! the receivers' release kit and served over HTTPS (a test CA, put into the guest and named in
//! `[update] ca_file`) from this host, which QEMU's user networking lets the guest reach at
//! 10.0.2.2.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use debian_system::Step;
use debian_system::cache::debian_root;
use debian_system::chroot::System;
use debian_system::deb::{self, Deb};
use debian_system::page::answering_fingerprint;
use debian_system::vm::{Vm, install_agent};
use dockd::update::slots::SlotState;
use receivers::releases::{ReleaseKit, ReleaseServer};

const CONFIG: &str = "/etc/dockd/dockd.toml";
const BOOT_TIMEOUT: Duration = Duration::from_secs(240);
/// How the guest reaches this host's loopback under QEMU's user networking.
const HOST_FROM_GUEST: &str = "10.0.2.2";
/// Where the release server's CA goes in the guest (readable by user dockd).
const GUEST_CA: &str = "/etc/dockd/releases-ca.pem";
/// The new version's time to pass its health check: a debug build's selftest and start under
/// software emulation (TCG) are slow; the default is 300 s.
const HEALTH_TIMEOUT_S: u64 = 600;
/// The slot folder and its state in the guest.
const VERSIONS: &str = "/var/lib/dockd/versions";

#[test]
fn a_self_update_under_the_hardened_unit_then_a_newer_deb_over_it_ends_with_the_newer_deb_running()
{
    let started = Instant::now();
    let shipped = deb::under_test();
    let cache = debian_root();
    let mut system = System::over(cache, "self-update");
    let scratch = system.scratch();

    let step = Step::start("a test build of the package and the releases (debug dockd, stripped)");
    let debug = deb::debug_binary_stripped(&scratch);
    let packaged = dockd::version::read_mark(&debug).expect("the debug dockd has a version mark");
    let upstream = shipped.version.split('-').next().unwrap().to_owned();
    assert_eq!(
        packaged, upstream,
        "DOCKD_DEBUG_BIN ({packaged}) is not the version the .deb packs ({}): build both from the same tree",
        shipped.version
    );
    let x: dockd::update::manifest::Version = packaged.parse().unwrap();
    let (self_updated, upgraded) = (bump(&x, 1), bump(&x, 2));
    let revision = shipped
        .version
        .split_once('-')
        .map(|(_, r)| format!("-{r}"))
        .unwrap_or_default();
    let test_package = shipped.with_binary(&shipped.version, &debug, &scratch);
    let newer_binary = dockd::version::rewrite_mark(&debug, &upgraded).unwrap();
    let newer_package =
        shipped.with_binary(&format!("{upgraded}{revision}"), &newer_binary, &scratch);
    drop(newer_binary);
    let served = scratch.join("served");
    let server =
        ReleaseServer::start_blocking_for(&served, &scratch.join("ca"), &[HOST_FROM_GUEST])
            .unwrap();
    ReleaseKit::new(
        &dockd::version::rewrite_mark(&debug, &self_updated).unwrap(),
        &self_updated,
    )
    .build(&served)
    .unwrap();
    drop(debug);
    step.done();

    let step = Step::start("installing the test package in the chroot and making the disk image");
    install(&mut system, &test_package, &newer_package);
    let image = scratch.join("dock.raw");
    system.disk_image(&image);
    step.done();

    let step = Step::start("boot: QEMU start to systemd's start-up finished");
    let mut vm = Vm::boot(cache, &cache.initrd(), &image, &scratch.join("vm"));
    let booted = vm.wait_booted(BOOT_TIMEOUT);
    step.done();
    eprintln!(
        "[debian-system] booted in {:.1} s under TCG",
        booted.as_secs_f64()
    );

    let step = Step::start(&format!(
        "the packaged {packaged} runs under the hardened unit"
    ));
    assert_active(&mut vm, "after boot");
    assert_eq!(running_version(&mut vm), packaged);
    let exposure = vm.ok("systemd-analyze security dockd.service --no-pager | tail -1");
    let score = exposure_score(&exposure);
    assert!(score <= 2.0, "the unit's exposure is above 2.0: {exposure}");
    eprintln!("[debian-system] {}", exposure.trim());
    step.done();

    let step = Step::start("[update] configured with the release server on the host");
    vm.ok(&format!(
        "printf '%s' '{}' > {GUEST_CA} && chmod 0644 {GUEST_CA}",
        server.ca.ca_pem.trim()
    ));
    vm.ok(&format!(
        "printf '\\n[update]\\nmanifest_url = \"{}\"\\nca_file = \"{GUEST_CA}\"\\nhealth_timeout_s = {HEALTH_TIMEOUT_S}\\n' >> {CONFIG}",
        server.url_at(HOST_FROM_GUEST, receivers::releases::MANIFEST)
    ));
    vm.ok("systemctl restart dockd");
    assert_active(&mut vm, "after the restart with [update]");
    let offered = vm.run(
        &format!("dockd update --check --config {CONFIG}"),
        Duration::from_secs(300),
    );
    assert!(
        offered.code == 0
            && offered
                .output
                .contains(&format!("{self_updated} is available")),
        "the guest's dockd does not see {self_updated} offered:\n{}",
        offered.output
    );
    step.done();

    let step = Step::start(&format!(
        "dockd update --now: the daemon installs {self_updated} and restarts into it on trial"
    ));
    let restarts_before = restarts(&mut vm);
    let now = vm.run(
        &format!("dockd update --now --config {CONFIG}"),
        Duration::from_secs(600),
    );
    assert!(
        now.code == 0 && now.output.contains(&format!("{self_updated} installed")),
        "`dockd update --now` in the guest:\n{}\n--- journal\n{}",
        now.output,
        journal(&mut vm)
    );
    eprintln!("[debian-system] {}", now.output.trim());
    step.done();

    let step = Step::start(&format!(
        "the launcher confirms {self_updated} by its health check"
    ));
    let state = wait_state(
        &mut vm,
        &format!("{self_updated} confirmed"),
        Duration::from_secs(HEALTH_TIMEOUT_S + 120),
        |s| s.current.as_deref() == Some(self_updated.as_str()) && s.trial.is_none(),
    );
    assert_eq!(state.failed, Vec::<String>::new(), "{state:?}");
    assert_active(&mut vm, "after the self-update");
    assert_eq!(running_version(&mut vm), self_updated);
    // The running daemon is the slot's binary, a child of the packaged launcher.
    let exe = vm.ok("pid=$(systemctl show -p MainPID --value dockd); \
         for c in $(cat /proc/$pid/task/*/children); do readlink /proc/$c/exe; done");
    assert!(
        exe.lines()
            .any(|l| l == format!("{VERSIONS}/{self_updated}/dockd")),
        "the launcher's child is not the slot's binary: {exe}"
    );
    let events = vm.ok(&format!("cat {VERSIONS}/events.jsonl"));
    assert_eq!(
        actions(&events),
        ["installed", "trial", "confirmed"],
        "events:\n{events}"
    );
    let journal_after_update = journal(&mut vm);
    assert_no_failure(&journal_after_update, "the self-update");
    eprintln!(
        "[debian-system] systemd restarted dockd {} time(s) for the update",
        restarts(&mut vm) - restarts_before
    );
    wait_for_page(&mut vm);
    step.done();

    let step = Step::start(&format!(
        "dpkg -i of the package {upgraded}: the newer package wins, the slots go"
    ));
    vm.ok(&format!("dpkg -i /root/debs/{}", newer_package.file_name()));
    assert_active(&mut vm, "after the .deb upgrade");
    assert_eq!(running_version(&mut vm), upgraded);
    let installed = vm.ok("dpkg-query -W -f='${Version}' dockd");
    assert_eq!(installed.trim(), newer_package.version);
    let state = wait_state(
        &mut vm,
        "the slots' state cleared",
        Duration::from_secs(60),
        |s| *s == SlotState::default(),
    );
    assert_eq!(state, SlotState::default());
    let left = vm.ok(&format!("find {VERSIONS} -mindepth 1 -maxdepth 1 -type d"));
    assert!(
        left.trim().is_empty(),
        "slots left after the newer package took over:\n{left}"
    );
    let events = vm.ok(&format!("cat {VERSIONS}/events.jsonl"));
    assert_eq!(
        actions(&events).last().map(String::as_str),
        Some("packaged_newer"),
        "events:\n{events}"
    );
    // Nothing runs from the slots any more: the main process is the package's binary itself.
    let exe = vm.ok("readlink /proc/$(systemctl show -p MainPID --value dockd)/exe");
    assert_eq!(exe.trim(), "/usr/bin/dockd");
    assert_no_failure(&journal(&mut vm), "the .deb upgrade");
    wait_for_page(&mut vm);
    step.done();

    let step = Step::start("clean shutdown");
    let (ended, _) = vm.poweroff(Duration::from_secs(120));
    assert!(ended.success(), "QEMU ended with {ended}");
    step.done();
    eprintln!(
        "[debian-system] the self-update and .deb upgrade test took {:.0} s in all",
        started.elapsed().as_secs_f64()
    );
}

/// `version` with its patch number raised by `by`.
fn bump(version: &dockd::update::manifest::Version, by: u32) -> String {
    format!("{}.{}.{}", version.0, version.1, version.2 + by)
}

/// The test package installed as IT would, the newer one put aside for `dpkg -i`, and the test
/// agent.
fn install(system: &mut System, package: &Deb, newer: &Deb) {
    system.apt_install(package);
    system.copy_in(&newer.path, &format!("/root/debs/{}", newer.file_name()));
    install_agent(system);
    system.unmount_api();
}

fn assert_active(vm: &mut Vm, when: &str) {
    let active = vm.run(
        "timeout 120 bash -c 'until systemctl is-active -q dockd; do sleep 0.5; done'; systemctl is-active dockd",
        Duration::from_secs(150),
    );
    assert_eq!(
        active.output.trim(),
        "active",
        "dockd is not active {when}:\n{}",
        journal(vm)
    );
}

/// The version the running daemon names in `dockd status --json` (asked through its control
/// socket), once it answers.
fn running_version(vm: &mut Vm) -> String {
    let reply = vm.run(
        &format!(
            "timeout 300 bash -c 'until dockd status --json --config {CONFIG} 2>/dev/null; do sleep 1; done'"
        ),
        Duration::from_secs(330),
    );
    let line = reply.output.lines().last().unwrap_or_default();
    let status: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "`dockd status --json` did not answer ({e}):\n{}\n--- journal\n{}",
            reply.output,
            journal(vm)
        )
    });
    status["version"].as_str().unwrap_or_default().to_owned()
}

/// The slots' state in the guest, polled until `done` holds.
fn wait_state(
    vm: &mut Vm,
    what: &str,
    timeout: Duration,
    done: impl Fn(&SlotState) -> bool,
) -> SlotState {
    let deadline = Instant::now() + timeout;
    loop {
        let text = vm.ok(&format!("cat {VERSIONS}/state.json 2>/dev/null || true"));
        let state: SlotState = if text.trim().is_empty() {
            SlotState::default()
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("state.json ({e}): {text}"))
        };
        if done(&state) {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}; state: {state:?}\n--- events\n{}\n--- journal\n{}",
            vm.ok(&format!("cat {VERSIONS}/events.jsonl 2>/dev/null || true")),
            journal(vm)
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

fn actions(events: &str) -> Vec<String> {
    events
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let event: serde_json::Value = serde_json::from_str(l).unwrap();
            event["action"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

fn restarts(vm: &mut Vm) -> u32 {
    vm.ok("systemctl show -p NRestarts --value dockd")
        .trim()
        .parse()
        .unwrap()
}

/// dockd's journal since boot (the unit's messages and dockd's own).
fn journal(vm: &mut Vm) -> String {
    vm.run(
        "journalctl -b -u dockd --no-pager -o short-monotonic | tail -80",
        Duration::from_secs(60),
    )
    .output
}

/// No failure in dockd's journal: systemd saw no failed start, kill or exit, and dockd logged no
/// error.
fn assert_no_failure(journal: &str, during: &str) {
    let bad: Vec<&str> = journal
        .lines()
        .filter(|l| {
            l.contains("Failed with result")
                || l.contains("code=killed")
                || l.contains("code=dumped")
                || l.contains("ERROR")
                || l.contains("rolling back")
        })
        .collect();
    assert!(
        bad.is_empty(),
        "dockd's journal shows failures during {during}:\n{}\n--- whole journal\n{journal}",
        bad.join("\n")
    );
}

/// "→ Overall exposure level for dockd.service: 1.8 OK" → 1.8.
fn exposure_score(line: &str) -> f64 {
    line.split(':')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure score in {line:?}"))
}

/// The page answers through the forwarded port (the certificate is the dock's own; any answer
/// will do here), within a minute.
fn wait_for_page(vm: &mut Vm) {
    let via = format!("127.0.0.1:{}", vm.https_port);
    let deadline = Instant::now() + Duration::from_secs(60);
    while answering_fingerprint("https://dock/", Some(&via)).is_none() {
        assert!(
            Instant::now() < deadline,
            "the page did not answer within a minute:\n{}",
            journal(vm)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
