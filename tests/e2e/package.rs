//! The Debian package (issue 16), checked statically as built by `tests/run.sh` (`DOCKD_DEB`):
//! its file list, lintian, the binary's libusb, the hardened unit's exposure score and
//! `systemd-analyze verify`, the conffile under `dockd check-config`, the man pages and completions
//! against the CLI; and dockd's systemd integration with the real binary: socket activation by
//! `systemd-socket-activate`, sd_notify on a real datagram socket, the database key as a credential.
//! Installing, upgrading and booting the package are `tests/e2e/system.rs`'s (or its crate's).

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{DOCKD, TestDir, free_port, wait_for};

/// The repository's root (the e2e binary is built from `dockd/`).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository root")
        .to_owned()
}

/// The .deb `tests/run.sh` built (`DOCKD_DEB`). Missing is a failure, never a skip.
fn deb() -> PathBuf {
    let how = "build it as tests/run.sh does: `cargo build --release -p dockd --locked && cargo deb -p dockd --no-build` \
               (cargo-deb from ~/.cache/dockd-ci/bin), then DOCKD_DEB=target/debian/dockd_<version>_<arch>.deb";
    let path = std::env::var_os("DOCKD_DEB")
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("DOCKD_DEB is not set: {how}"));
    assert!(
        path.is_file(),
        "DOCKD_DEB={} is not a file: {how}",
        path.display()
    );
    path
}

/// Runs a tool the package checks need; a missing one fails the test saying which package has it.
fn run(program: &str, args: &[&str], debian_package: &str) -> std::process::Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {program} ({e}): install Debian's {debian_package} (tests/run.sh does)"
            )
        })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The package unpacked into a test folder: `root/` (its files) and `control/` (its control
/// files and maintainer scripts).
struct Unpacked {
    dir: TestDir,
}

impl Unpacked {
    fn new(name: &str) -> Self {
        let dir = TestDir::new(name);
        let deb = deb();
        for (flag, into) in [("-x", "root"), ("-e", "control")] {
            let target = dir.join(into);
            let out = run(
                "dpkg-deb",
                &[flag, deb.to_str().unwrap(), target.to_str().unwrap()],
                "dpkg",
            );
            assert!(
                out.status.success(),
                "dpkg-deb {flag}: {}",
                text(&out.stderr)
            );
        }
        Self { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn file(&self, path: &str) -> PathBuf {
        self.root().join(path.trim_start_matches('/'))
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.file(path))
            .unwrap_or_else(|e| panic!("the package has no readable {path}: {e}"))
    }

    fn control(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join("control").join(name)).unwrap_or_default()
    }

    /// A field of the package's control file.
    fn field(&self, name: &str) -> String {
        let control = self.control("control");
        control
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in the control file:\n{control}"))
            .to_owned()
    }
}

/// The values of `key=` in a unit file (every line, in order).
fn unit_values(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|line| line.trim().strip_prefix(&format!("{key}=")))
        .map(str::to_owned)
        .collect()
}

/// Every file (not folder) the package installs, as absolute paths.
fn package_files() -> BTreeSet<String> {
    let out = run("dpkg-deb", &["-c", deb().to_str().unwrap()], "dpkg");
    assert!(out.status.success(), "dpkg-deb -c: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter(|line| !line.starts_with('d'))
        .filter_map(|line| line.split_whitespace().nth(5))
        .map(|path| path.trim_start_matches('.').to_owned())
        .collect()
}

/// The man pages `dockd generate-docs` writes for the CLI, by file name.
fn generated_man_pages() -> BTreeSet<String> {
    std::fs::read_dir(repo().join("packaging/generated/man"))
        .expect("packaging/generated/man")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_package_installs_exactly_the_files_a_dock_needs() {
    let mut expected: BTreeSet<String> = [
        "/usr/bin/dockd",
        "/etc/dockd/dockd.toml",
        "/usr/lib/systemd/system/dockd.service",
        "/usr/lib/systemd/system/dockd.socket",
        "/usr/lib/systemd/system/dockd-key.service",
        "/usr/lib/sysusers.d/dockd.conf",
        "/usr/lib/udev/rules.d/60-dockd-wearables.rules",
        "/usr/share/bash-completion/completions/dockd",
        "/usr/share/zsh/vendor-completions/_dockd",
        "/usr/share/fish/vendor_completions.d/dockd.fish",
        "/usr/share/doc/dockd/README.md",
        "/usr/share/doc/dockd/changelog.Debian.gz",
        "/usr/share/doc/dockd/copyright",
        "/usr/share/lintian/overrides/dockd",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    expected.extend(
        generated_man_pages()
            .into_iter()
            .map(|page| format!("/usr/share/man/man1/{page}.gz")),
    );
    assert!(expected.contains("/usr/share/man/man1/dockd.1.gz"));
    assert_eq!(package_files(), expected);
    let unpacked = Unpacked::new("package-modes");
    let mode = |path: &str| {
        std::fs::metadata(unpacked.file(path))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("/usr/bin/dockd"), 0o755);
    assert_eq!(
        mode("/etc/dockd/dockd.toml"),
        0o644,
        "postinst makes it 0640 root:dockd"
    );
    assert_eq!(
        unpacked.control("conffiles").trim(),
        "/etc/dockd/dockd.toml",
        "the config is the package's one conffile"
    );
}

#[test]
fn lintian_finds_no_error_and_no_warning_in_the_package() {
    let deb = deb();
    let out = run(
        "lintian",
        &[
            "--fail-on",
            "error,warning",
            "--display-level",
            ">=warning",
            deb.to_str().unwrap(),
        ],
        "lintian",
    );
    let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success()
            && !report
                .lines()
                .any(|l| l.starts_with("E:") || l.starts_with("W:")),
        "lintian on {}:\n{report}",
        deb.display()
    );
}

#[test]
fn the_packaged_binary_links_debians_libusb_and_the_package_depends_on_it() {
    let unpacked = Unpacked::new("package-libusb");
    let binary = unpacked.file("/usr/bin/dockd");
    let out = run("readelf", &["-d", binary.to_str().unwrap()], "binutils");
    assert!(out.status.success(), "readelf: {}", text(&out.stderr));
    let needed: Vec<String> = text(&out.stdout)
        .lines()
        .filter(|line| line.contains("(NEEDED)"))
        .filter_map(|line| line.split('[').nth(1)?.split(']').next().map(str::to_owned))
        .collect();
    assert!(
        needed.iter().any(|lib| lib == "libusb-1.0.so.0"),
        "dockd must link Debian's libusb-1.0.so.0, not a bundled copy; NEEDED: {needed:?}"
    );
    // A bundled libusb would define libusb's functions in the binary itself.
    let out = run(
        "nm",
        &["-D", "--defined-only", binary.to_str().unwrap()],
        "binutils",
    );
    let defined = text(&out.stdout);
    assert!(
        !defined.lines().any(|line| line.ends_with(" libusb_init")),
        "the binary defines libusb_init itself: libusb1-sys bundled its own libusb"
    );
    let depends = unpacked.field("Depends");
    assert!(depends.contains("libusb-1.0-0"), "Depends: {depends}");
    assert!(depends.contains("libc6"), "Depends: {depends}");
    assert!(depends.contains("systemd"), "Depends: {depends}");
    assert_eq!(unpacked.field("Recommends"), "gpsd");
}

#[test]
fn the_packaged_services_score_at_most_2_0_in_systemd_analyze_security() {
    let unpacked = Unpacked::new("package-security");
    for service in ["dockd.service", "dockd-key.service"] {
        let unit = unpacked.file(&format!("/usr/lib/systemd/system/{service}"));
        // systemd counts exposure internally from 0 to 100: --threshold=20 is the printed 2.0.
        let out = run(
            "systemd-analyze",
            &[
                "security",
                "--offline=yes",
                "--threshold=20",
                "--no-pager",
                unit.to_str().unwrap(),
            ],
            "systemd",
        );
        let report = text(&out.stdout);
        let score = report
            .lines()
            .find_map(|line| {
                line.strip_prefix(&format!("→ Overall exposure level for {service}: "))
            })
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|score| score.parse::<f64>().ok())
            .unwrap_or_else(|| {
                panic!(
                    "no overall exposure level in:\n{report}{}",
                    text(&out.stderr)
                )
            });
        eprintln!("systemd-analyze security: {service} exposure {score} (threshold 2.0)");
        assert!(
            out.status.success() && score <= 2.0,
            "{service}: exposure {score} > 2.0:\n{report}"
        );
    }
}

#[test]
fn systemd_analyze_verify_finds_nothing_wrong_in_the_packaged_units() {
    let unpacked = Unpacked::new("package-verify");
    let root = unpacked.root();
    // An installed system: the package's units beside the systemd package's own (the targets
    // the units are ordered against), the package's binary at the path ExecStart= names.
    let units = root.join("usr/lib/systemd/system");
    for entry in std::fs::read_dir("/lib/systemd/system").expect("systemd's units") {
        let entry = entry.unwrap();
        let target = units.join(entry.file_name());
        if !target.exists() && entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
    for unit in ["dockd.service", "dockd.socket", "dockd-key.service"] {
        let out = run(
            "systemd-analyze",
            &[
                "verify",
                "--man=no",
                &format!("--root={}", root.display()),
                &format!("/usr/lib/systemd/system/{unit}"),
            ],
            "systemd",
        );
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            out.status.success() && said.trim().is_empty(),
            "systemd-analyze verify {unit}:\n{said}"
        );
    }
}

#[test]
fn the_units_name_what_the_package_installs_and_what_the_config_says() {
    let unpacked = Unpacked::new("package-units");
    let service = unpacked.read("/usr/lib/systemd/system/dockd.service");
    let key_unit = unpacked.read("/usr/lib/systemd/system/dockd-key.service");
    let socket = unpacked.read("/usr/lib/systemd/system/dockd.socket");
    let config = unpacked.read("/etc/dockd/dockd.toml");
    for (unit, text) in [
        ("dockd.service", &service),
        ("dockd-key.service", &key_unit),
    ] {
        let exec = unit_values(text, "ExecStart");
        assert_eq!(exec.len(), 1, "{unit}: one ExecStart");
        let binary = exec[0].split_whitespace().next().unwrap();
        let packaged = unpacked.file(binary);
        assert!(
            packaged.is_file()
                && std::fs::metadata(&packaged).unwrap().permissions().mode() & 0o111 != 0,
            "{unit}'s ExecStart runs {binary}, which the package does not install as a program"
        );
        assert!(
            exec[0].contains("--config /etc/dockd/dockd.toml"),
            "{unit}: {}",
            exec[0]
        );
    }
    // The key the key unit makes is the one the service loads and the config names.
    let parsed: toml::Table = config.parse().unwrap();
    let privacy = parsed["privacy"].as_table().unwrap();
    let key_file = privacy["database_key_file"].as_str().unwrap();
    let credential = privacy["database_key_credential"].as_str().unwrap();
    assert_eq!(
        unit_values(&service, "LoadCredential"),
        vec![format!("{credential}:{key_file}")]
    );
    assert_eq!(
        unit_values(&key_unit, "ConditionPathExists"),
        vec![format!("!{key_file}")]
    );
    // The socket is the page's port and the one dockd looks for by name.
    let listen: std::net::SocketAddr = parsed["web"]["listen"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        unit_values(&socket, "ListenStream"),
        vec![listen.port().to_string()]
    );
    assert_eq!(
        unit_values(&socket, "FileDescriptorName"),
        vec!["web".to_owned()]
    );
    // The control socket is in the runtime folder the unit makes, outside the 0700 data folder.
    let control = parsed["control"]["socket"].as_str().unwrap();
    let runtime = unit_values(&service, "RuntimeDirectory");
    assert_eq!(runtime, vec!["dockd".to_owned()]);
    assert_eq!(control, "/run/dockd/control.sock");
    assert_eq!(
        unit_values(&service, "StateDirectory"),
        vec!["dockd".to_owned()]
    );
    assert_eq!(
        unit_values(&service, "StateDirectoryMode"),
        vec!["0700".to_owned()]
    );
    assert_eq!(
        parsed["storage"]["data_dir"].as_str(),
        Some("/var/lib/dockd"),
        "the data folder is systemd's StateDirectory"
    );
    // The user the unit runs as is the one sysusers makes, in the group udev gives wearables.
    let sysusers = unpacked.read("/usr/lib/sysusers.d/dockd.conf");
    assert!(
        sysusers.lines().any(|l| l.starts_with("u dockd ")),
        "{sysusers}"
    );
    assert_eq!(unit_values(&service, "User"), vec!["dockd".to_owned()]);
    let udev = unpacked.read("/usr/lib/udev/rules.d/60-dockd-wearables.rules");
    let wearables = udev
        .lines()
        .find(|l| l.contains("ATTR{idVendor}==\"1209\""))
        .expect("the wearables' rule");
    assert!(
        wearables.contains("GROUP=\"dockd\"")
            && wearables.contains("ENV{ID_MM_DEVICE_IGNORE}=\"1\"")
    );
    assert!(
        udev.lines()
            .any(|l| l.contains("SUBSYSTEM==\"tty\"") && l.contains("ID_MM_DEVICE_IGNORE")),
        "the serial console's rule"
    );
}

/// Every field name `dockd check-config` prints (its `{:#?}` of the config).
fn printed_keys(described: &str) -> BTreeSet<String> {
    described
        .lines()
        .filter_map(|line| {
            let (key, _) = line.trim().split_once(':')?;
            (key.starts_with(|c: char| c.is_ascii_lowercase())
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .then(|| key.to_owned())
        })
        .collect()
}

#[test]
fn the_packaged_config_passes_check_config_with_production_defaults_and_documents_every_key() {
    let unpacked = Unpacked::new("package-config");
    let config = unpacked.file("/etc/dockd/dockd.toml");
    let out = Command::new(unpacked.file("/usr/bin/dockd"))
        .args(["check-config", "--config", config.to_str().unwrap()])
        .env_remove("CREDENTIALS_DIRECTORY")
        .env_remove("RUNTIME_DIRECTORY")
        .output()
        .unwrap();
    let described = text(&out.stdout);
    assert!(
        out.status.success(),
        "check-config: {}{described}",
        text(&out.stderr)
    );
    for expected in [
        "enabled: true",
        "tls: true",
        "emulator_socket: None",
        "emulator_tcp: None",
        "data_dir: \"/var/lib/dockd\"",
        "\"/run/dockd/control.sock\"",
        "encrypt_database: true",
        "database_key_credential: Some(",
    ] {
        assert!(
            described.contains(expected),
            "check-config should say {expected:?}:\n{described}"
        );
    }
    let documented = std::fs::read_to_string(&config).unwrap();
    let missing: Vec<String> = printed_keys(&described)
        .into_iter()
        // `vid` and `pid` are the parts of a `[usb] ids` entry ("1209:4B57"), not keys.
        .filter(|key| !["vid", "pid"].contains(&key.as_str()))
        .filter(|key| {
            // A key (`key =`, commented out or not) or a table (`[key]`, `[parent.key]`).
            !documented.contains(&format!("{key} =")) && !documented.contains(&format!("{key}]"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "keys the conffile does not document: {missing:?}"
    );
}

#[test]
fn the_man_pages_and_completions_are_generated_from_the_cli_and_packaged() {
    let dir = TestDir::new("generate-docs");
    let out = Command::new(DOCKD)
        .args(["generate-docs", "--out", dir.join("docs").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "generate-docs: {}", text(&out.stderr));
    let committed = repo().join("packaging/generated");
    for folder in ["man", "completions"] {
        let fresh: BTreeSet<String> = std::fs::read_dir(dir.join("docs").join(folder))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let kept: BTreeSet<String> = std::fs::read_dir(committed.join(folder))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let refresh =
            "run `cargo run -p dockd -- generate-docs --out packaging/generated` and commit it";
        assert_eq!(
            fresh, kept,
            "packaging/generated/{folder} is not the CLI's: {refresh}"
        );
        for name in fresh {
            assert_eq!(
                std::fs::read(dir.join("docs").join(folder).join(&name)).unwrap(),
                std::fs::read(committed.join(folder).join(&name)).unwrap(),
                "packaging/generated/{folder}/{name} is not the CLI's: {refresh}"
            );
        }
    }
    let page = std::fs::read_to_string(committed.join("man/dockd.1")).unwrap();
    assert!(
        page.contains("check\\-config") && page.contains("prepare\\-key"),
        "{page}"
    );
    assert!(
        !page.contains("generate\\-docs"),
        "the hidden command is not documented"
    );
    let bash = std::fs::read_to_string(committed.join("completions/dockd.bash")).unwrap();
    assert!(bash.contains("complete -F") && bash.contains("check-config"));
    // And the package has them, the man pages gzipped as policy wants.
    let unpacked = Unpacked::new("package-docs");
    let out = run(
        "zcat",
        &[unpacked
            .file("/usr/share/man/man1/dockd.1.gz")
            .to_str()
            .unwrap()],
        "gzip",
    );
    assert_eq!(text(&out.stdout), page);
    assert_eq!(
        unpacked.read("/usr/share/bash-completion/completions/dockd"),
        bash
    );
}

#[test]
fn the_package_size_and_installed_size_are_printed_and_reasonable() {
    let deb = deb();
    let unpacked = Unpacked::new("package-size");
    let deb_bytes = std::fs::metadata(&deb).unwrap().len();
    let installed_kib: u64 = unpacked.field("Installed-Size").parse().unwrap();
    eprintln!(
        "package: {} is {:.1} MB; installed size {:.1} MB ({installed_kib} KiB)",
        deb.file_name().unwrap().to_string_lossy(),
        deb_bytes as f64 / 1e6,
        installed_kib as f64 * 1024.0 / 1e6
    );
    assert!(
        deb.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("dockd_"),
        "cargo-deb names it dockd_<version>_<arch>.deb"
    );
    assert!(deb_bytes < 40_000_000, "the .deb is {deb_bytes} bytes");
    assert!(
        installed_kib < 150_000,
        "installed size {installed_kib} KiB"
    );
}

/// A datagram socket standing in for systemd's notify socket.
struct NotifySocket {
    socket: UnixDatagram,
    path: PathBuf,
}

impl NotifySocket {
    fn bind(dir: &TestDir) -> Self {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Self { socket, path }
    }

    /// Waits for a datagram containing `wanted`, returning it; other datagrams are skipped.
    fn wait_for(&self, wanted: &str, limit: Duration, log: &Path) -> String {
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        loop {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let message = text(&buf[..n]);
                if message.contains(wanted) {
                    return message;
                }
            }
            assert!(
                start.elapsed() < limit,
                "no {wanted:?} from dockd within {limit:?}; log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
    }
}

fn sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    wait_for("dockd to exit", Duration::from_secs(20), || {
        child.try_wait().unwrap()
    })
}

#[test]
fn a_page_socket_handed_over_by_systemd_is_served_and_readiness_is_notified() {
    let dir = TestDir::new("socket-activation");
    let handed = free_port();
    // web.listen names a port this test holds: dockd could not bind it, so a start that serves
    // the page proves it took systemd's socket instead (and no other test can take the port).
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let configured = held.local_addr().unwrap().port();
    let config = dir.join("dockd.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\n[web]\nlisten = \"127.0.0.1:{configured}\"\n[privacy]\ndatabase_key_file = {:?}\n",
            dir.join("data"),
            dir.join("database.key")
        ),
    )
    .unwrap();
    let notify = NotifySocket::bind(&dir);
    let log = dir.join("dockd.log");
    let log_file = std::fs::File::create(&log).unwrap();
    // systemd's own tool: it binds, then runs dockd with LISTEN_PID, LISTEN_FDS=1 and
    // LISTEN_FDNAMES=web, fd 3 being the listening socket, as dockd.socket does.
    let mut child = Command::new("systemd-socket-activate")
        .args(["--listen", &format!("127.0.0.1:{handed}"), "--fdname=web"])
        .arg(format!("--setenv=NOTIFY_SOCKET={}", notify.path.display()))
        .args(["--setenv=RUST_LOG=info", "--setenv=PATH"])
        .args([DOCKD, "run", "--config", config.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .expect("systemd-socket-activate (Debian's systemd package)");
    // The tool starts dockd at the first connection, which waits in the socket's backlog until
    // dockd serves it: the page answers HTTPS on the socket systemd bound.
    let out = Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "60",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg(format!("https://127.0.0.1:{handed}/healthz"))
        .output()
        .expect("curl");
    assert_eq!(
        text(&out.stdout),
        "200",
        "{}; log:\n{}",
        text(&out.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // It said so to systemd once the page listened and the store was open.
    let ready = notify.wait_for("READY=1", Duration::from_secs(10), &log);
    assert!(ready.contains("STATUS=Running"), "{ready}");
    assert!(
        !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("cannot serve the web page on"),
        "web.listen must not be bound when systemd hands over the socket"
    );
    drop(held);
    // dockd exec'd in place of the tool: its pid is the child's.
    sigterm(child.id());
    let stopping = notify.wait_for("STOPPING=1", Duration::from_secs(20), &log);
    assert!(stopping.starts_with("STOPPING=1"));
    assert!(wait_exit(&mut child).success());
}

#[test]
fn without_systemd_the_page_binds_web_listen_and_nothing_is_notified() {
    let dir = TestDir::new("no-socket-activation");
    let port = free_port();
    let config = dir.join("dockd.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\n[web]\nlisten = \"127.0.0.1:{port}\"\ntls = false\n",
            dir.join("data")
        ),
    )
    .unwrap();
    let mut child = Command::new(DOCKD)
        .args(["run", "--config", config.to_str().unwrap()])
        // Variables another process left behind must not make dockd take fd 3.
        .env("LISTEN_PID", "1")
        .env("LISTEN_FDS", "1")
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the page on web.listen", Duration::from_secs(30), || {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("dockd exited with {status}");
        }
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    sigterm(child.id());
    assert!(wait_exit(&mut child).success());
}

#[test]
fn the_database_key_made_by_prepare_key_reaches_dockd_as_a_systemd_credential() {
    let dir = TestDir::new("credential");
    let key_file = dir.join("credstore/dockd.database-key");
    let data = dir.join("data");
    let config = dir.join("dockd.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {data:?}\n[web]\nlisten = \"127.0.0.1:{}\"\ntls = false\n\
             [privacy]\ndatabase_key_file = {key_file:?}\ndatabase_key_credential = \"database-key\"\n",
            free_port()
        ),
    )
    .unwrap();
    let prepare = || {
        let out = Command::new(DOCKD)
            .args(["prepare-key", "--config", config.to_str().unwrap()])
            .env_remove("CREDENTIALS_DIRECTORY")
            .output()
            .unwrap();
        assert!(out.status.success(), "prepare-key: {}", text(&out.stderr));
        format!("{}{}", text(&out.stdout), text(&out.stderr))
    };
    // dockd-key.service's job: once, 0600, in a 0700 folder.
    assert!(prepare().contains("Made the database key"));
    let key = std::fs::read(&key_file).unwrap();
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(key_file.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    assert!(
        prepare().contains("is there"),
        "a second run changes nothing"
    );
    assert_eq!(std::fs::read(&key_file).unwrap(), key);
    // systemd copies the file into the service's credentials folder; the daemon cannot read the
    // original (here: it is moved away) and needs only the credential.
    let credentials = dir.join("credentials");
    std::fs::create_dir(&credentials).unwrap();
    std::fs::write(credentials.join("database-key"), &key).unwrap();
    std::fs::set_permissions(
        credentials.join("database-key"),
        std::fs::Permissions::from_mode(0o400),
    )
    .unwrap();
    let away = dir.join("key.away");
    std::fs::rename(&key_file, &away).unwrap();
    let notify = NotifySocket::bind(&dir);
    let log = dir.join("dockd.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(DOCKD)
        .args(["run", "--config", config.to_str().unwrap()])
        .env("CREDENTIALS_DIRECTORY", &credentials)
        .env("NOTIFY_SOCKET", &notify.path)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let ready = notify.wait_for("READY=1", Duration::from_secs(60), &log);
    assert!(ready.contains("STATUS=Running"), "not locked: {ready}");
    sigterm(child.id());
    assert!(wait_exit(&mut child).success());
    let database = data.join("dockd.db");
    assert_eq!(
        dockd::store::key::file_state(&database).unwrap(),
        dockd::store::key::FileState::Encrypted
    );
    let opened = dockd::store::Database::existing(&database, &away)
        .and_then(|db| dockd::store::open_for_reading(&db));
    assert!(
        opened.is_ok(),
        "the credential's key is the file's: {opened:?}"
    );
    // With the database encrypted and the key gone, prepare-key makes none (it could not open it).
    assert!(prepare().contains("no new key is made"));
    assert!(!key_file.exists());
}

#[test]
fn the_packaged_binary_holds_no_test_key_and_refuses_a_release_signed_with_it() {
    let unpacked = Unpacked::new("package-update-keys");
    let binary = unpacked.file("/usr/bin/dockd");
    let bytes = std::fs::read(&binary).unwrap();
    let holds = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    // The test key's seed and public half: in debug builds only.
    let seed = dockd::update::keys::test_key::SEED;
    let public = dockd::update::keys::test_key::public();
    assert!(
        !holds(&seed),
        "the packaged binary holds the test key's seed"
    );
    assert!(!holds(&public), "the packaged binary holds the test key");
    // The production key is there (the search would find a key if one were).
    let release = include_bytes!("../../dockd/src/update/keys/release-2026.pub");
    assert!(holds(release), "the packaged binary lacks the release key");

    // A release signed with the test key, served over HTTPS: the packaged binary refuses it.
    let dir = TestDir::new("package-update-refuses");
    std::fs::create_dir_all(dir.join("ca")).unwrap();
    let served = dir.join("served");
    let server =
        receivers::releases::ReleaseServer::start_blocking(&served, &dir.join("ca")).unwrap();
    receivers::releases::ReleaseKit::new(b"#!/bin/sh\nexit 0\n", "9.0.0")
        .build(&served)
        .unwrap();
    let config = dir.join("dockd.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\n[update]\nmanifest_url = \"{}\"\nca_file = {:?}\n",
            dir.join("data"),
            server.manifest_url(),
            server.ca.ca_pem_path
        ),
    )
    .unwrap();
    let before = std::fs::read(&binary).unwrap();
    for what in ["--check", "--now"] {
        let out = Command::new(&binary)
            .args(["update", what, "--config", config.to_str().unwrap()])
            .env_remove("HTTPS_PROXY")
            .env_remove("RUNTIME_DIRECTORY")
            .output()
            .unwrap();
        let said = text(&out.stderr);
        assert!(!out.status.success(), "update {what} accepted it: {said}");
        assert!(said.contains("does not trust"), "update {what}: {said}");
    }
    assert_eq!(std::fs::read(&binary).unwrap(), before);
    assert!(!dir.join("data/versions/9.0.0").exists());
    // The same release is accepted by a debug build (the one the other tests run): the
    // refusal above is the key, nothing else.
    let out = Command::new(DOCKD)
        .args(["update", "--check", "--config", config.to_str().unwrap()])
        .env_remove("HTTPS_PROXY")
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).contains("9.0.0 is available"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
