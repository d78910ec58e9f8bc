//! Test-only kit for proving the .deb in a real Debian 12 system (issue 16): the cached bookworm
//! root ([`cache`]), a throw-away system over it with a real chroot ([`chroot`]), the package under
//! test and rebuilt copies of it ([`deb`]), a root's file list ([`files`]), and the root booted
//! under QEMU with systemd as PID 1, driven through a test agent ([`vm`]). It owns the mounts,
//! images and VMs the tests make and their cleanup; it must never change the cached root, build
//! the package (the packaging's own step does) or ship in the daemon.

// Test code: a step that fails should fail the test, loudly, with what it ran and printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cache;
pub mod chroot;
pub mod deb;
pub mod files;
pub mod native;
pub mod page;
pub mod vm;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Runs a host command and returns its stdout; a failure panics with both streams.
pub fn run_ok(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    check(command, &output);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn check(command: &Command, output: &Output) {
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The tests mount, chroot and boot: they need root (CI runs as root), and say so otherwise.
pub fn require_root() {
    // The owner of /proc/self is this process's effective uid (no `unsafe` getuid needed).
    let uid = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(u32::MAX);
    assert_eq!(
        uid, 0,
        "the Debian system tests mount an overlay, chroot and make disk images: run them as root (tests/run.sh does in CI)"
    );
}

/// A step's wall time, printed as the test goes (the issue asks for each check's figure).
pub struct Step {
    name: String,
    started: Instant,
}

impl Step {
    pub fn start(name: &str) -> Step {
        eprintln!("[debian-system] {name} …");
        Step {
            name: name.to_owned(),
            started: Instant::now(),
        }
    }

    pub fn done(self) -> Duration {
        let took = self.started.elapsed();
        eprintln!("[debian-system] {}: {:.1} s", self.name, took.as_secs_f64());
        took
    }
}

/// Waits until `probe` returns `Some`, polling every `every`, up to `timeout`; the panic names
/// what was awaited.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(every);
    }
}
