//! The package under test: the `.deb` the packaging step built (`DOCKD_DEB`, exported by
//! `tests/run.sh`), its control fields, and a copy rebuilt with another version (`dpkg-deb -R`,
//! edit `DEBIAN/control`, `dpkg-deb -b`) standing for a newer build in the upgrade test. It must
//! never build the package from source: that is the packaging's own step.

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
        let tree = dir.join(format!("tree-{version}"));
        let _ = std::fs::remove_dir_all(&tree);
        crate::run_ok(
            Command::new("dpkg-deb")
                .arg("-R")
                .arg(&self.path)
                .arg(&tree),
        );
        let control_path = tree.join("DEBIAN/control");
        let control = std::fs::read_to_string(&control_path).unwrap();
        let rewritten: String = control
            .lines()
            .map(|line| {
                if line.starts_with("Version:") {
                    format!("Version: {version}\n")
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        assert_ne!(
            control,
            rewritten,
            "no Version field in {}",
            self.path.display()
        );
        std::fs::write(&control_path, rewritten).unwrap();
        let out = dir.join(format!("{}_{version}_repacked.deb", self.package));
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
