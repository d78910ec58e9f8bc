//! Access to the page as a site meets it: the real `dockd run` with `web.tls = true` serves HTTPS
//! with the dock's own certificate (kept in the data folder, its fingerprint in the log and in
//! `dockd status`), refuses plain HTTP on that port, shows the first admin's one-time password
//! once, and `dockd user add` stores a user that can sign in.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use sha2::Digest;

use crate::support::{Dock, output_with_stdin, wait_for};

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
    output_with_stdin(dock.command(args), stdin)
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
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
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
    // The dock may close the connection before the whole request is written (a broken pipe):
    // that is a refusal too; what matters is that no page comes back.
    let _ = plain.write_all(
        format!(
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            dock.web
        )
        .as_bytes(),
    );
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

    let db = dock.db();
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
    // A name the Settings page refuses (over 32 characters): refused in the page's words.
    let long_name = "a".repeat(40);
    let out = dockd(
        &dock,
        &["user", "add", &long_name, "--role", "supervisor"],
        &format!("{password}\n"),
    );
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(web_ui::rules::USER_NAME_WORDS), "{said}");
    assert!(!said.contains(&long_name), "{said}");

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

    let db = dock.db();
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

/// A plain-HTTP client (the dock on loopback with `web.tls = false`) whose connections come from
/// `from` (any of 127.0.0.0/8).
fn client_from(from: [u8; 4]) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// `POST /api/v1/login` as JSON.
fn login(
    client: &reqwest::blocking::Client,
    dock: &Dock,
    name: &str,
    password: &str,
) -> reqwest::Result<reqwest::blocking::Response> {
    client
        .post(format!("http://{}/api/v1/login", dock.web))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "username": name, "password": password }).to_string())
        .send()
}

/// The daemon's resident memory, now and at its peak, in bytes (`/proc/PID/status`).
fn memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap()
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
fn a_flood_of_sign_ins_keeps_memory_bounded_and_an_admin_still_gets_in() {
    use crate::support::{TEST_PASSWORD, TEST_USER};
    use std::sync::{Arc, Barrier};
    use std::time::Instant;

    let dock = crate::support::Dock::start("signinflood");
    let pid = dock.pid();
    let (before, _) = memory(pid);
    let addresses = 30_u8;
    let per_address = 10_u8;
    let flood_for = Duration::from_secs(12);
    let start = Arc::new(Barrier::new(
        usize::from(addresses) * usize::from(per_address) + 1,
    ));
    let clients: Vec<_> = (0..addresses)
        .map(|address| client_from([127, 0, 1, 10 + address]))
        .collect();
    let answers = std::thread::scope(|scope| {
        let mut flood = Vec::new();
        for address in 0..addresses {
            for n in 0..per_address {
                let (dock, start) = (&dock, Arc::clone(&start));
                let client = &clients[usize::from(address)];
                flood.push(scope.spawn(move || {
                    let mut statuses = Vec::new();
                    start.wait();
                    let began = Instant::now();
                    // An attacker does not wait when told to: the next guess at once.
                    while began.elapsed() < flood_for && statuses.len() < 400 {
                        let name = format!("guess{address}x{n}");
                        match login(client, dock, &name, "not a password at all") {
                            Ok(response) => statuses.push(response.status().as_u16()),
                            Err(_) => statuses.push(0),
                        }
                    }
                    statuses
                }));
            }
        }
        start.wait();
        std::thread::sleep(Duration::from_secs(1));

        // The admin, from another address, retries as a browser user would when told to wait.
        let admin = client_from([127, 0, 2, 1]);
        let asked = Instant::now();
        let mut tries = 0;
        let signed_in = loop {
            tries += 1;
            let response = login(&admin, &dock, TEST_USER, TEST_PASSWORD).unwrap();
            match response.status().as_u16() {
                200 => break asked.elapsed(),
                429 | 503 => {
                    let wait: u64 = response.headers()["retry-after"]
                        .to_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert!(asked.elapsed() < Duration::from_secs(15), "still out");
                    std::thread::sleep(Duration::from_secs(wait));
                }
                other => panic!("admin sign-in answered {other}"),
            }
        };
        // The page keeps serving meanwhile.
        let health = client_from([127, 0, 2, 2])
            .get(format!("http://{}/healthz", dock.web))
            .send()
            .unwrap();
        assert_eq!(health.status(), 200);
        let statuses: Vec<u16> = flood
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect();
        (signed_in, tries, statuses)
    });
    let (signed_in, tries, statuses) = answers;
    let (after, peak) = memory(pid);
    let count = |code: u16| statuses.iter().filter(|s| **s == code).count();
    eprintln!(
        "flood: {} requests (401: {}, 429: {}, 503: {}, failed: {}); admin in after {signed_in:?} \
         ({tries} tries); RSS {} MB before, {} MB after, peak {} MB",
        statuses.len(),
        count(401),
        count(429),
        count(503),
        count(0),
        before >> 20,
        after >> 20,
        peak >> 20
    );
    assert!(signed_in < Duration::from_secs(15), "{signed_in:?}");
    assert!(peak < 128 << 20, "peak RSS {} MB", peak >> 20);
    assert!(count(0) == 0, "every sign-in got an answer");
    assert!(statuses.len() >= 300);
    // The flood left a bounded trail: one line per address per minute at most, per minute
    // begun (and the admin's own sign-in).
    let lines = dock.count("SELECT count(*) FROM audit WHERE action LIKE 'login %'");
    assert!(
        lines <= i64::from(addresses) * 2,
        "{lines} audit lines for the flood"
    );
    assert_eq!(
        dock.count("SELECT count(*) FROM audit WHERE user LIKE 'guess%'"),
        0,
        "a typed name that is no user's is never recorded"
    );
}

/// Opens `/api/v1/events` with `cookie` and reads it on a thread until it ends; the receiver gets
/// the first event's data, then the moment the stream ended.
fn watch_events(
    dock: &Dock,
    cookie: &str,
) -> std::sync::mpsc::Receiver<Result<String, std::time::Instant>> {
    use std::io::BufRead;
    let (tell, told) = std::sync::mpsc::channel();
    let response = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
        .get(format!("http://{}/api/v1/events", dock.web))
        .header("cookie", cookie)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(response).lines();
        let mut told_first = false;
        while let Some(Ok(line)) = lines.next() {
            if let Some(data) = line.strip_prefix("data: ")
                && !told_first
            {
                told_first = true;
                let _ = tell.send(Ok(data.to_owned()));
            }
        }
        let _ = tell.send(Err(std::time::Instant::now()));
    });
    told
}

/// Runs `dockd user add NAME --role ROLE [extra…]` with `password` on stdin.
fn user_add(dock: &Dock, name: &str, role: &str, extra: &[&str], password: &str) {
    let mut args = vec!["user", "add", name, "--role", role];
    args.extend(extra);
    let out = dockd(dock, &args, &format!("{password}\n"));
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn a_user_changed_from_the_command_line_loses_their_sessions_and_live_stream_at_once() {
    let dock = Dock::start("clichange");
    let password = "a long pass phrase for sam";
    user_add(&dock, "sam", "supervisor", &[], password);
    let cookie = dock.sign_in("sam", password);
    let session = |cookie: &str| {
        crate::support::http_request(
            dock.web,
            "GET",
            "/api/v1/session",
            &[("Cookie", cookie)],
            "",
        )
    };
    assert!(session(&cookie).starts_with("HTTP/1.1 200"));
    let events = watch_events(&dock, &cookie);
    let first = events
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap();
    assert!(first.contains("slots"), "{first}");

    // Demoted to technician by `dockd user add` while the daemon runs.
    user_add(&dock, "sam", "technician", &[], password);
    let changed = std::time::Instant::now();
    let ended = events
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap_err();
    assert!(
        ended.saturating_duration_since(changed) <= Duration::from_secs(1),
        "the stream went on for {:?}",
        ended.saturating_duration_since(changed)
    );
    let refused = session(&cookie);
    assert!(refused.starts_with("HTTP/1.1 401"), "{refused}");
    // Signing in again gives the new role.
    let cookie = dock.sign_in("sam", password);
    assert!(session(&cookie).contains("\"role\":\"technician\""));

    // The change is in the audit trail.
    let audited = wait_for(
        "the change in the audit trail",
        Duration::from_secs(10),
        || {
            let n = dock.count(
                "SELECT count(*) FROM audit WHERE action = 'change' AND subject LIKE 'user sam%'",
            );
            (n >= 2).then_some(n)
        },
    );
    assert!(audited >= 2);

    // Disabled on the page, `dockd user add` does not enable again unless told to.
    let (status, _) = dock.api(
        "POST",
        "/api/v1/users/sam",
        &serde_json::json!({ "disabled": true }),
    );
    assert_eq!(status, 200);
    assert!(session(&cookie).starts_with("HTTP/1.1 401"));
    user_add(&dock, "sam", "supervisor", &[], password);
    assert_eq!(
        dock.count("SELECT disabled FROM user WHERE name = 'sam'"),
        1,
        "still disabled"
    );
    user_add(&dock, "sam", "supervisor", &["--enable"], password);
    assert_eq!(
        dock.count("SELECT disabled FROM user WHERE name = 'sam'"),
        0
    );
    let cookie = dock.sign_in("sam", password);
    assert!(session(&cookie).contains("\"role\":\"supervisor\""));

    // Signing out ends the live stream too.
    let events = watch_events(&dock, &cookie);
    events
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap();
    let session_json = crate::support::body_of(&session(&cookie));
    let csrf = session_json["csrf_token"].as_str().unwrap().to_owned();
    let out = crate::support::http_request(
        dock.web,
        "POST",
        "/api/v1/logout",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        "",
    );
    assert!(out.starts_with("HTTP/1.1 204"), "{out}");
    let signed_out = std::time::Instant::now();
    let ended = events
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap_err();
    assert!(ended.saturating_duration_since(signed_out) <= Duration::from_secs(1));
}

#[test]
fn a_slow_request_head_is_cut_off_and_a_foreign_host_is_refused() {
    let dock = Dock::start("slowloris");
    // A client that trickles its request head and never finishes it.
    let mut slow = TcpStream::connect(dock.web).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(slow, "GET /healthz HTTP/1.1\r\nHost: {}\r\n", dock.web).unwrap();
    let opened = std::time::Instant::now();
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    let held = opened.elapsed();
    assert!(
        held < Duration::from_secs(20),
        "the dock held a half-sent request for {held:?}"
    );
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));

    // DNS rebinding: a page elsewhere that names the dock's address under its own host name.
    let as_host = |host: &str| {
        let mut stream = TcpStream::connect(dock.web).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    };
    let rebound = as_host("rebound.evil.example");
    assert!(rebound.starts_with("HTTP/1.1 421"), "{rebound}");
    // The dock's own names are served.
    let port = dock.web.port();
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let ok = as_host(&host);
        assert!(ok.starts_with("HTTP/1.1 200"), "{host}: {ok}");
    }
    let wrong_port = as_host(&format!("127.0.0.1:{}", port.wrapping_add(1)));
    assert!(wrong_port.starts_with("HTTP/1.1 421"), "{wrong_port}");
    // Over plain HTTP there is no HSTS.
    assert!(
        !crate::support::http_get(dock.web, "/healthz")
            .to_ascii_lowercase()
            .contains("strict-transport-security")
    );
}
