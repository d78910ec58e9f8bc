//! The dock's page seen from outside: an HTTPS request with curl and the SHA-256 fingerprint of
//! the certificate it was answered with (openssl), compared with what `dockd status` reports.
//! It owns only the client side; it never skips the comparison a certificate check stands for.

use std::io::Write;
use std::process::{Command, Stdio};

/// The fingerprint (`AB:CD:…`, as `dockd status` prints it) of the certificate the page at
/// `url` answers with, or `None` while it does not answer (refused, reset, timeout, an HTTP
/// error). curl does not verify the chain here (`-k`): the dock's certificate is self-signed, and
/// the fingerprint comparison is what the test asserts. `via`, when given, is where to connect
/// instead (`127.0.0.1:PORT`, a forwarded port): the request still names `url`'s host and port
/// (as a browser reaching the dock by name would), since the page answers only to its own names
/// and port (421 otherwise).
pub fn answering_fingerprint(url: &str, via: Option<&str>) -> Option<String> {
    let mut command = Command::new("curl");
    if let Some(address) = via {
        let authority = url
            .trim_start_matches("https://")
            .split('/')
            .next()
            .unwrap_or_default();
        let authority = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:443")
        };
        command
            .arg("--connect-to")
            .arg(format!("{authority}:{address}"));
    }
    let curl = command
        .args([
            "-sSkf",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{certs}",
            url,
        ])
        .output()
        .ok()?;
    if !curl.status.success() {
        return None;
    }
    fingerprint_of_pem(&curl.stdout)
}

/// The SHA-256 fingerprint of the first certificate in `pem`.
pub fn fingerprint_of_pem(pem: &[u8]) -> Option<String> {
    let mut openssl = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    openssl.stdin.take()?.write_all(pem).ok()?;
    let out = openssl.wait_with_output().ok()?;
    if !out.status.success() {
        return None;
    }
    // "sha256 Fingerprint=AB:CD:…"
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().split_once('=').map(|(_, f)| f.to_uppercase())
}

/// The fingerprint line of `dockd status`'s output (`Web certificate SHA-256: AB:CD:…`).
pub fn status_fingerprint(status: &str) -> Option<String> {
    status
        .lines()
        .find_map(|line| line.trim().strip_prefix("Web certificate SHA-256:"))
        .map(|f| f.trim().to_uppercase())
}
