//! The cached Debian 12 root: `build-root.sh` (beside this crate) debootstraps a minimal bookworm
//! with what booting needs into `~/.cache/dockd-ci/debian` and extracts its kernel uncompressed;
//! this module runs it (it does nothing when the cache matches its recipe) and names the paths.
//! It must never write into the cached root itself: tests work on an overlay of it (`chroot`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

/// The cached root and the kernel booted from it.
#[derive(Debug)]
pub struct DebianRoot {
    /// The debootstrapped bookworm (read-only for the tests).
    pub root: PathBuf,
    /// The root's own kernel as an uncompressed ELF (boots faster under TCG with qboot).
    pub vmlinux: PathBuf,
}

impl DebianRoot {
    /// The root's initramfs (made by its initramfs-tools, with the virtio disk's modules).
    pub fn initrd(&self) -> PathBuf {
        let boot = self.root.join("boot");
        let mut found: Vec<PathBuf> = std::fs::read_dir(&boot)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", boot.display()))
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("initrd.img-"))
            })
            .collect();
        found.sort();
        found
            .pop()
            .unwrap_or_else(|| panic!("no initrd.img-* in {}", boot.display()))
    }
}

/// The cache folder: `$DOCKD_CI_CACHE/debian`, by default `~/.cache/dockd-ci/debian`.
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("DOCKD_CI_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/dockd-ci")
        });
    base.join("debian")
}

/// The cached root, built (or rebuilt when its recipe changed) on first use in this process.
pub fn debian_root() -> &'static DebianRoot {
    static ROOT: OnceLock<DebianRoot> = OnceLock::new();
    ROOT.get_or_init(|| {
        crate::require_root();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("build-root.sh");
        let dir = cache_dir();
        let started = Instant::now();
        crate::run_ok(Command::new(&script).arg(&dir));
        let took = started.elapsed();
        if took.as_secs() > 5 {
            eprintln!(
                "[debian-system] built the cached Debian root in {:.0} s",
                took.as_secs_f64()
            );
        }
        DebianRoot {
            root: dir.join("bookworm"),
            vmlinux: dir.join("vmlinux"),
        }
    })
}
