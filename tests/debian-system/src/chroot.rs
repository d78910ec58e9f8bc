//! A throw-away Debian system over the cached root: an overlay mount (the cache is the read-only
//! lower layer, so it stays pristine), the kernel's API file systems mounted inside for a real
//! `chroot`, scripts run in it as a maintainer script or an admin would, and a disk image made of
//! it for booting. It owns those mounts and its folder, and undoes them even when a test panics;
//! it must never write to the cached root or leave a mount behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::cache::DebianRoot;

/// A system on an overlay of the cached root, unmounted and deleted on drop.
pub struct System {
    work: PathBuf,
    merged: PathBuf,
    /// API file systems mounted inside, in mount order.
    api: Vec<PathBuf>,
}

/// What a script in the chroot printed and how it ended.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    /// stdout and stderr, in that order.
    pub output: String,
}

impl System {
    /// A fresh system over `cache`'s root in a folder named after `name` under the temp folder.
    pub fn over(cache: &DebianRoot, name: &str) -> System {
        sweep_stale();
        let work = std::env::temp_dir().join(format!("dockd-debian-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        for sub in ["upper", "work", "merged"] {
            std::fs::create_dir_all(work.join(sub)).unwrap();
        }
        let merged = work.join("merged");
        crate::run_ok(
            Command::new("mount")
                .args(["-t", "overlay", "overlay", "-o"])
                .arg(format!(
                    "lowerdir={},upperdir={},workdir={}",
                    cache.root.display(),
                    work.join("upper").display(),
                    work.join("work").display()
                ))
                .arg(&merged),
        );
        System {
            work,
            merged,
            api: Vec::new(),
        }
    }

    /// The system's `/` as seen from the host.
    pub fn root(&self) -> &Path {
        &self.merged
    }

    /// A path inside the system, as seen from the host.
    pub fn path(&self, inside: &str) -> PathBuf {
        self.merged.join(inside.trim_start_matches('/'))
    }

    /// Mounts `/proc`, `/sys`, `/dev` and `/dev/pts` inside, as apt and maintainer scripts need.
    /// `/run` stays the root's own empty folder: no `/run/systemd/system`, so the maintainer
    /// scripts see what they see in any chroot, a system without systemd running.
    pub fn mount_api(&mut self) {
        if !self.api.is_empty() {
            return;
        }
        let mounts: [(&str, &[&str]); 4] = [
            ("proc", &["-t", "proc", "proc"]),
            ("sys", &["-t", "sysfs", "sysfs"]),
            ("dev", &["--bind", "/dev"]),
            ("dev/pts", &["--bind", "/dev/pts"]),
        ];
        for (inside, args) in mounts {
            let target = self.merged.join(inside);
            crate::run_ok(Command::new("mount").args(args).arg(&target));
            self.api.push(target);
        }
    }

    /// Unmounts what `mount_api` mounted (before a file list or a disk image is taken).
    pub fn unmount_api(&mut self) {
        while let Some(target) = self.api.pop() {
            // Lazy, so a process the chroot left behind cannot keep the mount (and the test) stuck.
            let _ = Command::new("umount").arg("-l").arg(&target).status();
        }
    }

    /// Runs `script` with `sh -e` in the chroot, as root, with a clean environment.
    pub fn sh(&self, script: &str) -> Ran {
        let output: Output = Command::new("chroot")
            .arg(&self.merged)
            .args(["/bin/sh", "-ec", script])
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("LC_ALL", "C.UTF-8")
            .env("HOME", "/root")
            .output()
            .unwrap_or_else(|e| panic!("cannot chroot into {}: {e}", self.merged.display()));
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ran {
            code: output.status.code().unwrap_or(-1),
            output: text,
        }
    }

    /// Runs `script` and returns its output; a failure panics with it.
    pub fn ok(&self, script: &str) -> String {
        let ran = self.sh(script);
        assert_eq!(
            ran.code, 0,
            "in the chroot, `{script}` failed ({}):\n{}",
            ran.code, ran.output
        );
        ran.output
    }

    /// Copies a host file into the system at `inside` (a full path).
    pub fn copy_in(&self, host: &Path, inside: &str) {
        let target = self.path(inside);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::copy(host, &target)
            .unwrap_or_else(|e| panic!("cannot copy {} into the root: {e}", host.display()));
    }

    /// Installs `package` as IT would, `apt-get install ./dockd_….deb` (its dependencies from the
    /// archive, after `apt-get update`), with the API file systems mounted; the copy is removed.
    pub fn apt_install(&mut self, package: &crate::deb::Deb) {
        self.mount_api();
        let name = package.file_name();
        self.copy_in(&package.path, &format!("/tmp/{name}"));
        self.ok("apt-get update -q");
        self.ok(&format!(
            "apt-get install -y -q --no-install-recommends ./tmp/{name} && rm ./tmp/{name}"
        ));
    }

    /// Writes a file into the system at `inside`, with `mode`.
    pub fn write(&self, inside: &str, text: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let target = self.path(inside);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&target, text).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// An ext4 disk image of the system (`mkfs.ext4 -d`), the root file system of a VM: sized to
    /// the content plus room for the daemon's data and the journal.
    pub fn disk_image(&mut self, image: &Path) {
        self.unmount_api();
        let used = crate::run_ok(Command::new("du").args(["-sxm"]).arg(&self.merged));
        let used_mb: u64 = used
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(2048);
        let _ = std::fs::remove_file(image);
        crate::run_ok(
            Command::new("mkfs.ext4")
                .args(["-q", "-F", "-L", "dockd-ci", "-d"])
                .arg(&self.merged)
                .arg(image)
                .arg(format!("{}M", used_mb + 768)),
        );
    }

    /// Host processes whose root is this system (a maintainer script's daemon left running).
    pub fn processes(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| {
                std::fs::read_link(e.path().join("root")).is_ok_and(|root| root == self.merged)
            })
            .map(|e| {
                let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
                format!("{} {}", e.file_name().to_string_lossy(), comm.trim())
            })
            .collect()
    }

    /// The folder the test may keep its own files in (images, logs); deleted with the system.
    pub fn scratch(&self) -> PathBuf {
        self.work.clone()
    }
}

/// The folders (and mounts) of earlier runs that were killed before their `Drop` ran: those
/// whose process id is gone.
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("dockd-debian-")
            .and_then(|rest| rest.rsplit('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let dir = entry.path().to_string_lossy().into_owned();
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let mut inside: Vec<&str> = mounts
            .lines()
            .filter_map(|line| line.split(' ').nth(1))
            .filter(|target| target.starts_with(dir.as_str()))
            .collect();
        inside.sort_by_key(|target| std::cmp::Reverse(target.len()));
        for target in inside {
            let _ = Command::new("umount").arg("-l").arg(target).status();
        }
        let still = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        if !still.contains(dir.as_str()) {
            eprintln!("[debian-system] removing {dir}, left by a run that was killed");
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for System {
    fn drop(&mut self) {
        self.unmount_api();
        let _ = Command::new("umount").arg("-l").arg(&self.merged).status();
        // Never delete through a mount still there (a bound /dev would take the host's with it).
        let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        let work = self.work.to_string_lossy().into_owned();
        if mounts.lines().any(|line| line.contains(work.as_str())) {
            eprintln!("[debian-system] {work} still has mounts; left in place");
        } else if std::env::var_os("DOCKD_KEEP_SYSTEM").is_none() {
            let _ = std::fs::remove_dir_all(&self.work);
        } else {
            eprintln!("[debian-system] kept {}", self.work.display());
        }
    }
}
