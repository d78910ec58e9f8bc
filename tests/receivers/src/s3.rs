//! `s3s-fs`, a real S3-compatible server that verifies SigV4 and keeps objects as files in a
//! folder, started as a child process on a free loopback port and killed on drop. It owns the
//! child process; it must never install anything (`tests/run.sh` installs `s3s-fs` into
//! `~/.cache/dockd-ci/bin`) nor turn authentication off.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The version `tests/run.sh` installs: the newest whose `rust-version` the toolchain meets.
pub const S3S_FS_VERSION: &str = "0.14.1";
/// Overrides where the binary is looked for.
pub const BINARY_ENV: &str = "DOCKD_S3S_FS";
/// How long the server gets to say it is listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Why `s3s-fs` could not be started.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("s3s-fs is not at {0} (tests/run.sh installs it)")]
    Missing(PathBuf),
    #[error("cannot start or talk to s3s-fs: {0}")]
    Io(#[from] std::io::Error),
    #[error("{path} is {found:?}, not s3s-fs {S3S_FS_VERSION} (tests/run.sh installs it)")]
    WrongVersion { path: PathBuf, found: String },
    #[error("s3s-fs did not say where it listens within {0:?}")]
    NotListening(Duration),
}

/// A running `s3s-fs`; dropping it kills the process.
pub struct S3Server {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>` (path-style requests: `<endpoint>/<bucket>/<key>`).
    pub endpoint: String,
    /// The folder objects are kept in: `<root>/<bucket>/<key>`, byte for byte; s3s-fs keeps its
    /// own metadata beside the buckets (`<root>/.bucket-….json`), so queries glob below a bucket.
    pub root: PathBuf,
    child: Child,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `$DOCKD_S3S_FS`, else `~/.cache/dockd-ci/bin/s3s-fs`.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os(BINARY_ENV) {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    Path::new(&home).join(".cache/dockd-ci/bin/s3s-fs")
}

impl S3Server {
    /// Starts `s3s-fs` on 127.0.0.1 with a port the kernel picks, keeping objects in `root`
    /// (created if missing) and accepting only requests signed with `access_key`/`secret_key`;
    /// returns once it accepts connections.
    pub fn start(root: &Path, access_key: &str, secret_key: &str) -> Result<Self, S3Error> {
        let binary = binary();
        if !binary.is_file() {
            return Err(S3Error::Missing(binary));
        }
        let version = Command::new(&binary).arg("--version").output()?;
        let found = String::from_utf8_lossy(&version.stdout).trim().to_owned();
        if found != format!("s3s-fs {S3S_FS_VERSION}") {
            return Err(S3Error::WrongVersion {
                path: binary,
                found,
            });
        }
        std::fs::create_dir_all(root)?;
        let mut child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--access-key", access_key, "--secret-key", secret_key])
            .arg(root)
            .env("RUST_LOG", "s3s_fs=info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        // Port 0 leaves no race for a free port: the server logs the address it bound.
        let (found, listening) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut sent = false;
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if !sent && let Some(addr) = listening_addr(&line) {
                        sent = found.send(addr).is_ok();
                    }
                }
            });
        }
        let addr = match listening.recv_timeout(START_TIMEOUT) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(S3Error::NotListening(START_TIMEOUT));
            }
        };
        std::net::TcpStream::connect_timeout(&addr, START_TIMEOUT)?;
        Ok(S3Server {
            addr,
            endpoint: format!("http://{addr}"),
            root: root.to_owned(),
            child,
        })
    }

    /// Makes a bucket (a folder under the root, as `s3s-fs` keeps them).
    pub fn create_bucket(&self, name: &str) -> Result<PathBuf, S3Error> {
        let path = self.root.join(name);
        std::fs::create_dir_all(&path)?;
        Ok(path)
    }
}

/// The address in `s3s-fs`'s "server is running at http://…" log line.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("server is running at http://")?;
    rest.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_address_is_read_from_the_servers_log_line() {
        let line =
            "  2026-12-07T04:41:25Z  INFO s3s_fs: server is running at http://127.0.0.1:40123";
        assert_eq!(
            listening_addr(line),
            Some("127.0.0.1:40123".parse().unwrap())
        );
        assert_eq!(listening_addr("authentication is enabled"), None);
    }

    #[test]
    fn the_test_script_installs_the_version_the_helper_expects() {
        let script = include_str!("../../run.sh");
        assert!(script.contains(&format!("S3S_FS_VERSION={S3S_FS_VERSION}\n")));
        let duckdb = crate::duckdb::DUCKDB_VERSION;
        assert!(script.contains(&format!("DUCKDB_VERSION={duckdb}\n")));
    }
}
