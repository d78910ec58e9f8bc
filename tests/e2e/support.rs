//! Test support for the end-to-end suite: a temp folder per test, the real `dockd` binary started as
//! a child process, condition waits with timeouts, and read-only looks into its SQLite file. It must
//! never reach into the daemon's memory — tests see only what a user or another program could.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const DOCKD: &str = env!("CARGO_BIN_EXE_dockd");

/// A fresh folder under the system temp dir, removed when the test ends.
pub struct TestDir {
    path: PathBuf,
}

impl TestDir {
    pub fn new(name: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "dockd-e2e-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create test dir");
        Self { path }
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Polls `condition` every 20 ms until it returns `Some`, or panics with `what` after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut condition: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = condition() {
            return value;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A running `dockd run` on its own data folder, with an emulator socket and a web port.
pub struct Dock {
    pub dir: TestDir,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub web: SocketAddr,
    child: Option<Child>,
}

impl Dock {
    /// Writes a config into a fresh folder and starts the daemon; returns once its socket accepts.
    pub fn start(name: &str) -> Self {
        Self::start_with(name, "")
    }

    /// Like [`Dock::start`], with extra keys in the config's `[link]` table.
    pub fn start_with(name: &str, link: &str) -> Self {
        let dir = TestDir::new(name);
        let socket = dir.join("wearables.sock");
        let web: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let config = dir.join("dockd.toml");
        std::fs::write(
            &config,
            format!(
                "[storage]\ndata_dir = {:?}\n[link]\nemulator_socket = {:?}\n{link}\n[web]\nlisten = \"{web}\"\n",
                dir.join("data"),
                socket
            ),
        )
        .unwrap();
        let mut dock = Self {
            dir,
            config,
            socket,
            web,
            child: None,
        };
        dock.restart();
        dock
    }

    /// Starts the daemon (again) on the same folder and waits until it accepts wearables.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "dockd is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("dockd.log"))
            .unwrap();
        let child = Command::new(DOCKD)
            .args(["run", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "dockd=debug,info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockd");
        self.child = Some(child);
        let socket = self.socket.clone();
        let web = self.web;
        wait_for("dockd to accept wearables", Duration::from_secs(20), || {
            self.assert_alive();
            // The socket file appears once it is bound and listening; connecting to it would dock.
            (socket.exists() && TcpStream::connect(web).is_ok()).then_some(())
        });
    }

    fn assert_alive(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            panic!("dockd exited early with {status}; log:\n{}", self.log());
        }
    }

    /// `kill -9`: no chance to clean up.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!(
                    "dockd did not stop within 20 s of SIGTERM; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dockd.log")).unwrap_or_default()
    }

    pub fn database(&self) -> PathBuf {
        self.dir.join("data").join("dockd.db")
    }

    /// A read-only connection to the daemon's database, as another program would open it.
    pub fn db(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_with_flags(
            self.database(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open dockd.db");
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn
    }

    /// One integer from a query.
    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |row| row.get(0)).unwrap()
    }

    /// `dockd status --json` as a user would run it.
    pub fn status_json(&self) -> serde_json::Value {
        let out = Command::new(DOCKD)
            .args(["status", "--json", "--config"])
            .arg(&self.config)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "dockd status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status JSON")
    }

    pub fn get(&self, path: &str) -> String {
        http_get(self.web, path)
    }
}

impl Drop for Dock {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// A plain HTTP/1.1 GET over loopback; returns the whole response, head and body.
pub fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect to the web page");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    response
}
