//! The Debian root booted for real: `qemu-system-x86_64` under TCG (KVM does not work on these
//! hosts, see ../shared/research/usb-testing.md §B) with qboot and the root's own kernel and
//! initramfs, systemd as PID 1 on an ext4 disk image, user-mode network forwarding the guest's
//! port 443 to a loopback port, the serial console logged to a file, and a test agent (a unit
//! reading one base64 script per line from a virtio serial port and answering with its exit code
//! and output) to drive it. It owns the QEMU process (killed on drop) and the agent's protocol;
//! the agent is test harness installed into the test's copy of the root, never into the package.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::cache::DebianRoot;
use crate::chroot::System;

/// The virtio serial port's name (`/dev/virtio-ports/dockd-ci` in the guest).
const AGENT_PORT: &str = "dockd-ci";

/// The agent: one line `ID BASE64-SCRIPT` in, one line `ID EXIT BASE64-OUTPUT` out, scripts run
/// by bash as root one after another.
const AGENT: &str = r#"#!/bin/bash
# dockd CI test agent (test harness, never part of the package): runs each script the host sends
# on the virtio serial port and answers with its exit code and output.
exec 3<>/dev/virtio-ports/dockd-ci
while IFS=' ' read -r id script <&3; do
  out=$(printf '%s' "$script" | base64 -d | bash 2>&1); rc=$?
  printf '%s %s %s\n' "$id" "$rc" "$(printf '%s' "$out" | base64 -w0)" >&3
done
"#;

const AGENT_UNIT: &str = r#"[Unit]
Description=dockd CI test agent (test harness, not part of the package)
BindsTo=dev-virtio\x2dports-dockd\x2dci.device
After=dev-virtio\x2dports-dockd\x2dci.device

[Service]
ExecStart=/usr/local/sbin/dockd-ci-agent

[Install]
WantedBy=multi-user.target
"#;

/// Installs the test agent and its unit (enabled) into a system before its image is made.
pub fn install_agent(system: &System) {
    system.write("/usr/local/sbin/dockd-ci-agent", AGENT, 0o755);
    system.write(
        "/etc/systemd/system/dockd-ci-agent.service",
        AGENT_UNIT,
        0o644,
    );
    let wants = system.path("/etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    let link = wants.join("dockd-ci-agent.service");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("/etc/systemd/system/dockd-ci-agent.service", link).unwrap();
}

/// A script's end in the guest.
#[derive(Debug)]
pub struct Reply {
    pub code: i32,
    pub output: String,
}

/// A running VM.
pub struct Vm {
    qemu: Child,
    dir: PathBuf,
    agent: BufReader<UnixStream>,
    next_id: u64,
    /// The host's loopback port forwarded to the guest's 443.
    pub https_port: u16,
    /// When QEMU was started.
    pub started: Instant,
}

/// A free loopback TCP port (the listener is closed at once, so QEMU can take it).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Vm {
    /// Boots `image` (the root file system) with `cache`'s kernel and the image's initramfs
    /// (`initrd`, taken from the same root), keeping the console log and the agent's socket in
    /// `dir`. Returns once QEMU runs; `wait_booted` waits for systemd.
    pub fn boot(cache: &DebianRoot, initrd: &Path, image: &Path, dir: &Path) -> Vm {
        std::fs::create_dir_all(dir).unwrap();
        let socket = dir.join("agent.sock");
        let _ = std::fs::remove_file(&socket);
        let console = dir.join("console.log");
        let https_port = free_port();
        let started = Instant::now();
        // setpriv: QEMU is killed when the test's thread ends, even by a signal or a timeout
        // that skips `Drop` (a guest with -no-reboot would otherwise run on).
        let qemu = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "--", "qemu-system-x86_64"])
            .args(["-accel", "tcg,thread=multi", "-cpu", "max", "-M", "pc"])
            .args(["-smp", "2", "-m", "1024", "-nodefaults", "-display", "none"])
            .args(["-no-reboot", "-bios", "/usr/share/qemu/qboot.rom"])
            .arg("-kernel")
            .arg(&cache.vmlinux)
            .arg("-initrd")
            .arg(initrd)
            .args([
                "-append",
                "root=/dev/vda rw console=ttyS0 panic=-1 systemd.show_status=0",
            ])
            .arg("-drive")
            .arg(format!("file={},format=raw,if=virtio", image.display()))
            .arg("-netdev")
            .arg(format!(
                "user,id=net,hostfwd=tcp:127.0.0.1:{https_port}-:443"
            ))
            .args(["-device", "virtio-net-pci,netdev=net"])
            .arg("-chardev")
            .arg(format!(
                "socket,id=agent,path={},server=on,wait=off",
                socket.display()
            ))
            .args(["-device", "virtio-serial-pci"])
            .arg("-device")
            .arg(format!("virtserialport,chardev=agent,name={AGENT_PORT}"))
            .arg("-serial")
            .arg(format!("file:{}", console.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("qemu.stderr")).unwrap(),
            ))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start qemu-system-x86_64: {e}"));
        let mut vm_qemu = Some(qemu);
        let stream = crate::wait_for(
            "QEMU's agent socket",
            Duration::from_secs(20),
            Duration::from_millis(20),
            || {
                if let Some(Ok(Some(status))) = vm_qemu.as_mut().map(Child::try_wait) {
                    panic!(
                        "QEMU ended at once ({status}): {}",
                        std::fs::read_to_string(dir.join("qemu.stderr")).unwrap_or_default()
                    );
                }
                UnixStream::connect(&socket).ok()
            },
        );
        Vm {
            qemu: vm_qemu.take().unwrap(),
            dir: dir.to_owned(),
            agent: BufReader::new(stream),
            next_id: 1,
            https_port,
            started,
        }
    }

    /// Waits until systemd has finished starting the system (`is-system-running --wait`):
    /// "running", or "degraded" with the failed units named in the panic.
    pub fn wait_booted(&mut self, timeout: Duration) -> Duration {
        let reply = self.run(
            "systemctl is-system-running --wait; systemctl --failed --no-legend --plain",
            timeout,
        );
        assert_eq!(
            reply.output.lines().next(),
            Some("running"),
            "the system did not come up cleanly:\n{}\n--- console\n{}",
            reply.output,
            self.console_tail()
        );
        self.started.elapsed()
    }

    /// Runs `script` in the guest as root (bash), waiting up to `timeout` for its answer.
    pub fn run(&mut self, script: &str, timeout: Duration) -> Reply {
        let id = self.next_id;
        self.next_id += 1;
        let line = format!("{id} {}\n", B64.encode(script));
        self.agent.get_mut().write_all(line.as_bytes()).unwrap();
        let deadline = Instant::now() + timeout;
        let mut buf = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no answer from the guest within {timeout:?} to:\n{script}\n--- console\n{}",
                self.console_tail()
            );
            self.agent
                .get_ref()
                .set_read_timeout(Some(left.min(Duration::from_secs(1))))
                .unwrap();
            match self.agent.read_until(b'\n', &mut buf) {
                Ok(0) => panic!(
                    "the guest's agent closed its port while running:\n{script}\n--- console\n{}",
                    self.console_tail()
                ),
                Ok(_) if buf.ends_with(b"\n") => {
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    buf.clear();
                    let mut parts = text.trim_end().splitn(3, ' ');
                    let (Some(got), Some(code)) = (parts.next(), parts.next()) else {
                        panic!("a malformed agent line: {text:?}");
                    };
                    if got != id.to_string() {
                        continue;
                    }
                    let output = B64.decode(parts.next().unwrap_or("")).unwrap();
                    return Reply {
                        code: code.parse().unwrap_or(-1),
                        output: String::from_utf8_lossy(&output).into_owned(),
                    };
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if let Ok(Some(status)) = self.qemu.try_wait() {
                        panic!(
                            "QEMU ended ({status}) while the guest ran:\n{script}\n--- console\n{}",
                            self.console_tail()
                        );
                    }
                }
                Err(e) => panic!("reading the guest's agent: {e}"),
            }
        }
    }

    /// Runs `script` and returns its output; a non-zero exit panics with it.
    pub fn ok(&mut self, script: &str) -> String {
        let reply = self.run(script, Duration::from_secs(120));
        assert_eq!(
            reply.code, 0,
            "in the guest, `{script}` failed ({}):\n{}",
            reply.code, reply.output
        );
        reply.output
    }

    /// The last lines of the serial console (kernel and systemd messages).
    pub fn console_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("console.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Asks systemd to power off and waits for QEMU to end; returns how long it took.
    pub fn poweroff(&mut self, timeout: Duration) -> (ExitStatus, Duration) {
        let asked = Instant::now();
        // The agent is stopped by the shutdown: no answer comes, so only send.
        let line = format!("{} {}\n", self.next_id, B64.encode("systemctl poweroff"));
        self.agent.get_mut().write_all(line.as_bytes()).unwrap();
        let status = crate::wait_for(
            "QEMU to end after `systemctl poweroff`",
            timeout,
            Duration::from_millis(50),
            || self.qemu.try_wait().ok().flatten(),
        );
        (status, asked.elapsed())
    }

    /// The serial console's whole log.
    pub fn console(&self) -> String {
        std::fs::read_to_string(self.dir.join("console.log")).unwrap_or_default()
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        if let Ok(None) = self.qemu.try_wait() {
            let _ = self.qemu.kill();
            let _ = self.qemu.wait();
        }
    }
}
