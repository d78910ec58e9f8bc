//! The same release binary run natively on the host, for the figures the booted system is
//! compared with: dockd from the `.deb` (`dpkg-deb -x`), its packaged config with only the
//! folders and the page's address moved into a temp folder, its start-up time to the page
//! answering, and its idle CPU time and RSS over a window. It owns that process (killed on drop)
//! and the reading of `/proc/PID/stat` and `status`, which the guest's measurement mirrors.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::deb::Deb;

/// Idle figures over a window.
#[derive(Debug, Clone, Copy)]
pub struct Idle {
    /// CPU time (user + system) as a share of one core over the window, in percent.
    pub cpu_percent: f64,
    /// Resident set size at the end of the window, in KiB.
    pub rss_kib: u64,
}

/// dockd from the package, running natively.
pub struct NativeDockd {
    child: Child,
    pub url: String,
    pub startup: Duration,
    dir: PathBuf,
}

impl NativeDockd {
    /// Extracts `deb` into `dir`, writes its conffile with the data folder, control socket and
    /// page address inside `dir` (everything else as packaged), starts `dockd run` and waits for
    /// the page to answer.
    pub fn start(deb: &Deb, dir: &Path) -> NativeDockd {
        let tree = dir.join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        crate::run_ok(Command::new("dpkg-deb").arg("-x").arg(&deb.path).arg(&tree));
        let packaged = std::fs::read_to_string(tree.join("etc/dockd/dockd.toml")).unwrap();
        let port = crate::vm::free_port();
        let data = dir.join("data");
        let config = moved_config(&packaged, &data, &dir.join("control.sock"), port);
        let config_path = dir.join("dockd.toml");
        std::fs::write(&config_path, config).unwrap();
        let url = format!("https://127.0.0.1:{port}/");
        let started = Instant::now();
        let child = Command::new(tree.join("usr/bin/dockd"))
            .arg("run")
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                std::fs::File::create(dir.join("dockd.log")).unwrap(),
            ))
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("dockd.err")).unwrap(),
            ))
            .spawn()
            .unwrap();
        let mut native = NativeDockd {
            child,
            url,
            startup: Duration::ZERO,
            dir: dir.to_owned(),
        };
        crate::wait_for(
            "the natively run dockd's page",
            Duration::from_secs(60),
            Duration::from_millis(20),
            || {
                if let Ok(Some(status)) = native.child.try_wait() {
                    panic!(
                        "the natively run dockd ended ({status}):\n{}",
                        std::fs::read_to_string(native.dir.join("dockd.err")).unwrap_or_default()
                    );
                }
                crate::page::answering_fingerprint(&native.url, None)
            },
        );
        native.startup = started.elapsed();
        native
    }

    /// Its idle CPU share and RSS over `window`.
    pub fn idle(&self, window: Duration) -> Idle {
        idle_of(self.child.id(), window)
    }
}

impl Drop for NativeDockd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The packaged config with `[storage] data_dir`, `[control] socket` and `[web] listen` set for
/// a run outside systemd (a table missing from the file is added).
pub fn moved_config(packaged: &str, data: &Path, socket: &Path, port: u16) -> String {
    let mut doc: toml::Table = toml::from_str(packaged)
        .unwrap_or_else(|e| panic!("the packaged dockd.toml does not parse: {e}"));
    let mut set = |table: &str, key: &str, value: toml::Value| {
        let entry = doc
            .entry(table.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(t) = entry {
            t.insert(key.to_owned(), value);
        }
    };
    set(
        "storage",
        "data_dir",
        data.to_string_lossy().into_owned().into(),
    );
    set(
        "control",
        "socket",
        socket.to_string_lossy().into_owned().into(),
    );
    set("web", "listen", format!("127.0.0.1:{port}").into());
    toml::to_string(&doc).unwrap()
}

/// CPU share and RSS of process `pid` over `window`, from `/proc` (the guest runs the same
/// reading in shell, `tests/boot.rs`).
pub fn idle_of(pid: u32, window: Duration) -> Idle {
    let ticks = || -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after_comm = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after_comm.split_whitespace().collect();
        // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the comm.
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    };
    let (t0, s0) = (ticks(), Instant::now());
    std::thread::sleep(window); // the measurement window itself, not a wait for a condition
    let (t1, took) = (ticks(), s0.elapsed());
    let hz = clock_ticks();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Idle {
        cpu_percent: (t1 - t0) as f64 / hz / took.as_secs_f64() * 100.0,
        rss_kib,
    }
}

fn clock_ticks() -> f64 {
    crate::run_ok(Command::new("getconf").arg("CLK_TCK"))
        .trim()
        .parse()
        .unwrap_or(100.0)
}
