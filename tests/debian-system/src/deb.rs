//! The package under test: the `.deb` the packaging step built (`DOCKD_DEB`, exported by
//! `tests/run.sh`), its control fields, and copies rebuilt with another version (`dpkg-deb -R`,
//! edit `DEBIAN/control`, `dpkg-deb -b`) standing for a newer build in the upgrade tests — or with
//! another binary in it, a test build of the package (the self-update test's debug dockd, found
//! through `DOCKD_DEBUG_BIN`). It must never build the package or dockd from source: that is the
//! packaging's and cargo's own step.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A `.deb` file and its identity.
#[derive(Debug, Clone)]
pub struct Deb {
    pub path: PathBuf,
    pub package: String,
    pub version: String,
}

impl Deb {
    /// Reads a `.deb`'s package name and version.
    pub fn open(path: &Path) -> Deb {
        assert!(path.is_file(), "no .deb at {}", path.display());
        Deb {
            path: path.to_owned(),
            package: field(path, "Package"),
            version: field(path, "Version"),
        }
    }

    /// The file name apt is given (`./dockd_….deb` inside the system).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The same package rebuilt as `version` into `dir`: the same files and maintainer scripts,
    /// so dpkg treats it as any newer (or older) build of it.
    pub fn with_version(&self, version: &str, dir: &Path) -> Deb {
        self.rebuilt(version, None, dir, "repacked")
    }

    /// The same package, as `version`, with `binary` (its bytes) as `usr/bin/dockd`, into `dir`:
    /// the control file (but its version), maintainer scripts, units and config unchanged; its
    /// `Installed-Size` (and its `md5sums` line, if it has that file) follow the new binary. A test build of the package:
    /// the self-update test installs a debug build of dockd this way, since only a debug build
    /// trusts the test release key a test can sign with.
    pub fn with_binary(&self, version: &str, binary: &[u8], dir: &Path) -> Deb {
        self.rebuilt(version, Some(binary), dir, "test-build")
    }

    fn rebuilt(&self, version: &str, binary: Option<&[u8]>, dir: &Path, tag: &str) -> Deb {
        let tree = dir.join(format!("tree-{version}-{tag}"));
        let _ = std::fs::remove_dir_all(&tree);
        crate::run_ok(
            Command::new("dpkg-deb")
                .arg("-R")
                .arg(&self.path)
                .arg(&tree),
        );
        let control_path = tree.join("DEBIAN/control");
        let control = std::fs::read_to_string(&control_path).unwrap();
        let mut size_change_kib: i64 = 0;
        if let Some(binary) = binary {
            let packaged = tree.join("usr/bin/dockd");
            let kib = |bytes: u64| i64::try_from(bytes.div_ceil(1024)).unwrap();
            let old_size = std::fs::metadata(&packaged)
                .unwrap_or_else(|e| panic!("no usr/bin/dockd in {}: {e}", self.path.display()))
                .len();
            std::fs::write(&packaged, binary).unwrap();
            size_change_kib = kib(binary.len() as u64) - kib(old_size);
            // When the package lists md5sums, they name the new binary's digest (what debsums
            // would check).
            let sums_path = tree.join("DEBIAN/md5sums");
            if let Ok(sums) = std::fs::read_to_string(&sums_path) {
                let md5 = crate::run_ok(Command::new("md5sum").arg(&packaged));
                let md5 = md5.split_whitespace().next().unwrap().to_owned();
                let rewritten: String = sums
                    .lines()
                    .map(|line| {
                        if line.ends_with("  usr/bin/dockd") {
                            format!("{md5}  usr/bin/dockd\n")
                        } else {
                            format!("{line}\n")
                        }
                    })
                    .collect();
                std::fs::write(&sums_path, rewritten).unwrap();
            }
        }
        let rewritten: String = control
            .lines()
            .map(|line| {
                if line.starts_with("Version:") {
                    format!("Version: {version}\n")
                } else if let Some(size) = line.strip_prefix("Installed-Size:") {
                    let size: i64 = size.trim().parse().unwrap();
                    format!("Installed-Size: {}\n", size + size_change_kib)
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        assert!(
            rewritten.contains(&format!("Version: {version}\n")),
            "no Version field in {}",
            self.path.display()
        );
        std::fs::write(&control_path, rewritten).unwrap();
        let out = dir.join(format!("{}_{version}_{tag}.deb", self.package));
        // Uncompressed: a test copy, built in a second rather than xz's tens of seconds.
        crate::run_ok(
            Command::new("dpkg-deb")
                .args(["-Znone", "-b"])
                .arg(&tree)
                .arg(&out),
        );
        let _ = std::fs::remove_dir_all(&tree);
        Deb::open(&out)
    }
}

fn field(deb: &Path, name: &str) -> String {
    crate::run_ok(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name))
        .trim()
        .to_owned()
}

/// The debug build of dockd, `DOCKD_DEBUG_BIN` (`tests/run.sh` exports `target/debug/dockd`, which
/// its `cargo test --workspace` builds before running any test), with its debug information
/// stripped (`objcopy --strip-debug`: the same code, a quarter of the size): the binary of the
/// self-update test's package, because only a debug build trusts the test release key. Without
/// the variable the test fails saying how to set it.
pub fn debug_binary_stripped(dir: &Path) -> Vec<u8> {
    let path = std::env::var_os("DOCKD_DEBUG_BIN").unwrap_or_else(|| {
        panic!(
            "DOCKD_DEBUG_BIN is not set: the self-update test packs a debug build of dockd (only it \
             trusts the test release key), so run it through tests/run.sh (which builds it and exports \
             DOCKD_DEBUG_BIN), or set DOCKD_DEBUG_BIN=target/debug/dockd after `cargo build -p dockd`"
        )
    });
    let out = dir.join("dockd-debug-stripped");
    crate::run_ok(
        Command::new("objcopy")
            .arg("--strip-debug")
            .arg(&path)
            .arg(&out),
    );
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    bytes
}

/// The package under test, from `DOCKD_DEB`; without it the test fails saying how to get one.
pub fn under_test() -> Deb {
    let path = std::env::var_os("DOCKD_DEB").unwrap_or_else(|| {
        panic!(
            "DOCKD_DEB is not set: these tests prove the built package, so run them through tests/run.sh \
             (which builds it with cargo deb and exports DOCKD_DEB), or set DOCKD_DEB=/path/to/dockd_….deb"
        )
    });
    Deb::open(Path::new(&path))
}
