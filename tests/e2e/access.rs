//! Access to the page as a site meets it: the real `dockd run` with `web.tls = true` serves HTTPS
//! with the dock's own certificate (kept in the data folder, its fingerprint in the log and in
//! `dockd status`), refuses plain HTTP on that port, shows the first admin's one-time password
//! once, and `dockd user add` stores a user that can sign in.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use sha2::Digest;

use crate::support::{DOCKD, Dock, wait_for};

/// A file in the dock's data folder.
fn data(dock: &Dock, file: &str) -> PathBuf {
    dock.database().with_file_name(file)
}

/// An HTTPS client that trusts the dock's generated certificate and nothing else.
fn client(dock: &Dock) -> reqwest::blocking::Client {
    let pem = std::fs::read(data(dock, "web-cert.pem")).unwrap();
    reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn url(dock: &Dock, path: &str) -> String {
    format!("https://{}{path}", dock.web)
}

/// Runs a `dockd` command against the dock's config with `stdin` piped in.
fn dockd(dock: &Dock, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(DOCKD)
        .args(args)
        .arg("--config")
        .arg(&dock.config)
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
    let mut dock = Dock::start_over_https("tls");
    let cert = data(&dock, "web-cert.pem");
    let fingerprint = pem_fingerprint(&cert);
    assert!(
        dock.log().contains("certificate_sha256") && dock.log().contains(&fingerprint),
        "the log names the certificate's fingerprint {fingerprint}:\n{}",
        dock.log()
    );
    // The private key, the certificate and everything else in the folder are the owner's only.
    dock.assert_data_folder_private(&["web-key.pem", "web-cert.pem", "dockd.db", "pseudonym.key"]);

    let response = client(&dock).get(url(&dock, "/healthz")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().unwrap(), "ok");

    // A client that trusts nothing of the dock's is refused by its own TLS check.
    let stranger = reqwest::blocking::Client::builder()
        .tls_certs_only([])
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    assert!(stranger.get(url(&dock, "/healthz")).send().is_err());

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

    let out = dockd(&dock, &["status", "--json"], "");
    assert!(out.status.success(), "{out:?}");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["web_certificate_sha256"], fingerprint.as_str());
    let out = dockd(&dock, &["status"], "");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&fingerprint),
        "{out:?}"
    );

    assert!(dock.stop().success(), "a clean stop; log:\n{}", dock.log());
    dock.restart();
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
    let response = client(&dock).get(url(&dock, "/healthz")).send().unwrap();
    assert_eq!(response.status(), 200);
}

#[test]
fn a_new_dock_prints_a_one_time_admin_password_once_and_stores_only_its_hash() {
    let mut dock = Dock::start_over_https("firstadmin");
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
        data(&dock, "dockd.db"),
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
    dock.restart();
    assert_eq!(dock.log().matches(marker).count(), 1, "not again");
}

#[test]
fn dockd_user_add_stores_an_argon2id_hash_and_that_user_can_sign_in_over_https() {
    let dock = Dock::start_over_https("useradd");
    let password = "a long pass phrase for anna";

    let out = dockd(
        &dock,
        &["user", "add", "anna", "--role", "supervisor"],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("at least 12"),
        "{out:?}"
    );

    // While the daemon runs, through a writer of its own, like `dockd reanalyze`.
    let out = dockd(
        &dock,
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
        data(&dock, "dockd.db"),
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
    let client = client(&dock);
    let login = |password: &str| {
        client
            .post(url(&dock, "/api/v1/login"))
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
