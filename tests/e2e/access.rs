//! Access to the page as a site meets it: the real `dockd run` with `web.tls = true` serves HTTPS
//! with the dock's own certificate (kept in the data folder, its fingerprint in the log and in
//! `dockd status`), refuses plain HTTP on that port, shows the first admin's one-time password
//! once, and `dockd user add` stores a user that can sign in.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::Digest;

use crate::support::{DOCKD, TestDir, free_port, wait_for};

/// A `dockd run` with the default `web.tls = true`.
struct TlsDock {
    dir: TestDir,
    config: PathBuf,
    web: SocketAddr,
    child: Option<Child>,
}

impl TlsDock {
    fn start(name: &str) -> Self {
        let dir = TestDir::new(name);
        let web: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let config = dir.join("dockd.toml");
        std::fs::write(
            &config,
            format!(
                "[storage]\ndata_dir = {:?}\n[web]\nlisten = \"{web}\"\n",
                dir.join("data")
            ),
        )
        .unwrap();
        let mut dock = Self {
            dir,
            config,
            web,
            child: None,
        };
        dock.run();
        dock
    }

    fn run(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("dockd.log"))
            .unwrap();
        let child = Command::new(DOCKD)
            .args(["run", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let web = self.web;
        wait_for("dockd to serve its page", Duration::from_secs(30), || {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("dockd exited early with {status}; log:\n{}", self.log());
            }
            TcpStream::connect(web).ok().map(|_| ())
        });
    }

    fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "dockd did not stop on SIGTERM; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dockd.log")).unwrap_or_default()
    }

    fn data(&self, file: &str) -> PathBuf {
        self.dir.join("data").join(file)
    }

    /// An HTTPS client that trusts the dock's generated certificate and nothing else.
    fn client(&self) -> reqwest::blocking::Client {
        let pem = std::fs::read(self.data("web-cert.pem")).unwrap();
        reqwest::blocking::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.web)
    }

    fn dockd(&self, args: &[&str], stdin: &str) -> std::process::Output {
        let mut child = Command::new(DOCKD)
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

impl Drop for TlsDock {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// SHA-256 of the first certificate in a PEM file, as dockd prints it (`AB:CD:…`).
fn pem_fingerprint(path: &std::path::Path) -> String {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let der = CertificateDer::from_pem_file(path).unwrap();
    let hex = hex::encode_upper(sha2::Sha256::digest(der.as_ref()).as_slice());
    hex.as_bytes()
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).unwrap())
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn the_page_is_https_with_the_docks_own_certificate_and_the_same_one_after_a_restart() {
    let mut dock = TlsDock::start("tls");
    let cert = dock.data("web-cert.pem");
    let fingerprint = pem_fingerprint(&cert);
    assert!(
        dock.log().contains("certificate_sha256") && dock.log().contains(&fingerprint),
        "the log names the certificate's fingerprint {fingerprint}:\n{}",
        dock.log()
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dock.data("web-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is the owner's only");
    }

    let response = dock.client().get(dock.url("/healthz")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().unwrap(), "ok");

    // A client that trusts nothing of the dock's is refused by its own TLS check.
    let stranger = reqwest::blocking::Client::builder()
        .tls_certs_only([])
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    assert!(stranger.get(dock.url("/healthz")).send().is_err());

    // Plain HTTP on the HTTPS port gets no page.
    let mut plain = TcpStream::connect(dock.web).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    write!(
        plain,
        "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        dock.web
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !String::from_utf8_lossy(&answer).contains("HTTP/1.1 200"),
        "plain HTTP must not be served: {answer:?}"
    );

    let out = dock.dockd(&["status", "--json"], "");
    assert!(out.status.success(), "{out:?}");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["web_certificate_sha256"], fingerprint.as_str());
    let out = dock.dockd(&["status"], "");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&fingerprint),
        "{out:?}"
    );

    assert!(dock.stop().success(), "a clean stop; log:\n{}", dock.log());
    dock.run();
    assert_eq!(
        pem_fingerprint(&cert),
        fingerprint,
        "the certificate is kept"
    );
    assert_eq!(
        dock.log().matches(&fingerprint).count(),
        2,
        "both starts serve the same certificate"
    );
    let response = dock.client().get(dock.url("/healthz")).send().unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn a_new_dock_prints_a_one_time_admin_password_once_and_stores_only_its_hash() {
    let mut dock = TlsDock::start("firstadmin");
    let log = dock.log();
    let marker = "First start: sign in as `admin` with this one-time password:";
    assert_eq!(log.matches(marker).count(), 1, "{log}");
    let password = log
        .split(marker)
        .nth(1)
        .and_then(|rest| rest.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap()
        .to_owned();
    assert!(password.len() >= 20, "{password}");

    let db = rusqlite::Connection::open_with_flags(
        dock.data("dockd.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let (role, hash): (String, String) = db
        .query_row(
            "SELECT role, password_hash FROM user WHERE name = 'admin'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(role, "admin");
    assert!(hash.starts_with("$argon2id$") && !hash.contains(&password));
    assert_eq!(
        log.matches(&password).count(),
        1,
        "the password appears once, in its block, and in no log line"
    );

    dock.stop();
    dock.run();
    assert_eq!(dock.log().matches(marker).count(), 1, "not again");
}

#[test]
fn dockd_user_add_stores_an_argon2id_hash_and_that_user_can_sign_in_over_https() {
    let dock = TlsDock::start("useradd");
    let password = "a long pass phrase for anna";

    let out = dock.dockd(&["user", "add", "anna", "--role", "supervisor"], "short\n");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("at least 12"),
        "{out:?}"
    );

    // While the daemon runs, through a writer of its own, like `dockd reanalyze`.
    let out = dock.dockd(
        &["user", "add", "anna", "--role", "supervisor"],
        &format!("{password}\n"),
    );
    assert!(out.status.success(), "{out:?}");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!printed.contains(password), "{printed}");

    let db = rusqlite::Connection::open_with_flags(
        dock.data("dockd.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let (role, hash, disabled): (String, String, i64) = db
        .query_row(
            "SELECT role, password_hash, disabled FROM user WHERE name = 'anna'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((role.as_str(), disabled), ("supervisor", 0));
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");

    // Sign-in itself is web-ui's; what the daemon guarantees is that the password it stored is
    // the one that works, and that the sign-in lands in the audit trail.
    let client = dock.client();
    let login = |password: &str| {
        client
            .post(dock.url("/api/v1/login"))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "username": "anna", "password": password }).to_string())
            .send()
            .unwrap()
    };
    assert_eq!(login("not her password").status(), 401);
    let response = login(password);
    assert_eq!(response.status(), 200);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["role"], "supervisor");

    let audited = wait_for(
        "the sign-in in the audit trail",
        Duration::from_secs(10),
        || {
            let n: i64 = db
                .query_row("SELECT count(*) FROM audit WHERE user = 'anna'", [], |r| {
                    r.get(0)
                })
                .unwrap();
            (n > 0).then_some(n)
        },
    );
    assert!(audited >= 1);
}
