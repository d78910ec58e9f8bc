//! Test support for the end-to-end suite: a temp folder per test, the real `dockd` binary started as
//! a child process, condition waits with timeouts, and read-only looks into its SQLite file. It must
//! never reach into the daemon's memory — tests see only what a user or another program could.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
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
    /// The signed-in session cookie of the test user, once signed in.
    session: std::sync::Mutex<Option<String>>,
    /// The API session of the test user (cookie, CSRF token), once signed in.
    api_session: std::sync::Mutex<Option<(String, String)>>,
    /// Extra environment for the daemon (a test's fail point).
    pub env: Vec<(String, String)>,
}

/// The JSON body of a whole HTTP response (`Null` when empty or not JSON; chunked bodies are
/// joined).
pub fn body_of(response: &str) -> serde_json::Value {
    let Some((head, body)) = response.split_once("\r\n\r\n") else {
        return serde_json::Value::Null;
    };
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut joined = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
                break;
            };
            if size == 0 || after.len() < size {
                break;
            }
            joined.push_str(&after[..size]);
            rest = after[size..].trim_start_matches("\r\n");
        }
        joined
    } else {
        body.to_owned()
    };
    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
}

/// The `csrf` field and the `action` of the first form on `page` whose action ends with
/// `suffix`.
pub fn form_on(page: &str, suffix: &str) -> Option<(String, String)> {
    page.split("<form").skip(1).find_map(|form| {
        let attribute = |name: &str| {
            let (_, rest) = form.split_once(&format!("{name}=\""))?;
            rest.split_once('"').map(|(value, _)| value.to_owned())
        };
        let action = attribute("action")?;
        if !action.ends_with(suffix) {
            return None;
        }
        let (_, field) = form.split_once("name=\"csrf\"")?;
        let (_, value) = field.split_once("value=\"")?;
        let csrf = value.split_once('"')?.0.to_owned();
        Some((action, csrf))
    })
}

/// The test user every dock gets (an admin), and its password.
pub const TEST_USER: &str = "tester";
pub const TEST_PASSWORD: &str = "correct horse battery staple";

/// Adds a user with `dockd user add`, the password on stdin.
pub fn add_user(config: &std::path::Path, name: &str, role: &str, password: &str) {
    let mut command = Command::new(DOCKD);
    command
        .args(["user", "add", name, "--role", role, "--config"])
        .arg(config)
        .env_remove("RUNTIME_DIRECTORY");
    let out = output_with_stdin(command, &format!("{password}\n"));
    assert!(
        out.status.success(),
        "dockd user add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `command` to its end with `stdin` piped in; its output.
pub fn output_with_stdin(mut command: Command, stdin: &str) -> std::process::Output {
    let mut child = command
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

impl Dock {
    /// Writes a config into a fresh folder and starts the daemon; returns once its socket accepts.
    pub fn start(name: &str) -> Self {
        Self::start_with(name, "")
    }

    /// Like [`Dock::start`], with extra keys in the config's `[link]` table.
    pub fn start_with(name: &str, link: &str) -> Self {
        Self::launch(name, link, "tls = false", true)
    }

    /// Like [`Dock::start`], with `extra` tables appended to the config (after `[web]`).
    pub fn start_with_tables(name: &str, extra: &str) -> Self {
        Self::launch(name, "", &format!("tls = false\n{extra}"), true)
    }

    /// Like [`Dock::start`], with the `[dock]` table's `refresh_s`: a docked wearable's battery
    /// and its roster and thresholds are brought up to date this often.
    pub fn start_refreshing(name: &str, refresh_s: u64) -> Self {
        Self::launch(
            name,
            "",
            &format!("tls = false\n[dock]\nrefresh_s = {refresh_s}"),
            true,
        )
    }

    /// A dock as a site installs it: HTTPS with its own certificate (`web.tls` at its default)
    /// and no users yet, so it makes its first admin itself.
    pub fn start_over_https(name: &str) -> Self {
        Self::launch(name, "", "", false)
    }

    fn launch(name: &str, link: &str, web_extra: &str, test_user: bool) -> Self {
        let dir = TestDir::new(name);
        let socket = dir.join("wearables.sock");
        let web: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let config = dir.join("dockd.toml");
        std::fs::write(
            &config,
            format!(
                "[storage]\ndata_dir = {:?}\n[link]\nemulator_socket = {:?}\n{link}\n[web]\nlisten = \"{web}\"\n{web_extra}\n",
                dir.join("data"),
                socket
            ),
        )
        .unwrap();
        if test_user {
            add_user(&config, TEST_USER, "admin", TEST_PASSWORD);
        }
        let mut dock = Self {
            dir,
            config,
            socket,
            web,
            child: None,
            session: std::sync::Mutex::new(None),
            api_session: std::sync::Mutex::new(None),
            env: Vec::new(),
        };
        dock.restart();
        dock
    }

    /// Starts the daemon (again) on the same folder and waits until it accepts wearables.
    pub fn restart(&mut self) {
        self.spawn();
        let socket = self.socket.clone();
        let web = self.web;
        wait_for("dockd to accept wearables", Duration::from_secs(20), || {
            self.assert_alive();
            // The socket file appears once it is bound and listening; connecting to it would dock.
            (socket.exists() && TcpStream::connect(web).is_ok()).then_some(())
        });
    }

    /// Starts the daemon (again) expecting it to come up locked: waits until its page answers.
    pub fn restart_locked(&mut self) {
        self.spawn();
        let web = self.web;
        wait_for("the locked dock's page", Duration::from_secs(20), || {
            self.assert_alive();
            TcpStream::connect(web).is_ok().then_some(())
        });
    }

    /// Starts the daemon (again) and returns at once, waiting for nothing.
    pub fn start_process(&mut self) {
        self.spawn();
    }

    /// Whether the daemon accepts emulated wearables (its socket file exists).
    pub fn accepts_wearables(&self) -> bool {
        self.socket.exists()
    }

    fn spawn(&mut self) {
        // Sessions live in the daemon's memory: a restart ends them.
        *self.session.lock().unwrap() = None;
        *self.api_session.lock().unwrap() = None;
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
            // Its own process group, signalled as a whole as systemd signals a unit's cgroup:
            // a version the launcher runs as its child stops (or dies) with it.
            .process_group(0)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // Its control socket in the data folder, where this test's commands look.
            .env_remove("RUNTIME_DIRECTORY")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockd");
        self.child = Some(child);
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
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", child.id())])
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

    /// Waits until the daemon's first process exits by itself (a fail point's abort); its status.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let child = self.child.as_mut().expect("running");
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "dockd did not exit within {limit:?}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The running daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dockd.log")).unwrap_or_default()
    }

    pub fn database(&self) -> PathBuf {
        self.dir.join("data").join("dockd.db")
    }

    /// Every entry of the data folder (the folder itself as `.`), with its permission bits, by
    /// name: what another local user could do with the dock's files.
    pub fn data_folder_modes(&self) -> Vec<(String, u32)> {
        use std::os::unix::fs::MetadataExt;
        fn walk(dir: &std::path::Path, name: &str, out: &mut Vec<(String, u32)>) {
            let meta = std::fs::symlink_metadata(dir).unwrap();
            out.push((name.to_owned(), meta.mode() & 0o777));
            for entry in std::fs::read_dir(dir).unwrap() {
                let entry = entry.unwrap();
                let path = entry.path();
                let inner = format!("{name}/{}", entry.file_name().to_string_lossy());
                let meta = std::fs::symlink_metadata(&path).unwrap();
                if meta.is_dir() {
                    walk(&path, &inner, out);
                } else {
                    out.push((inner, meta.mode() & 0o777));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir.join("data"), ".", &mut out);
        out.sort();
        out
    }

    /// Asserts the data folder is the dock's alone: folders 0700, files 0600, and that it holds
    /// `expected` (among others). The running daemon's control socket is 0660 by design (its
    /// group may connect where the socket lives elsewhere; here the 0700 folder keeps others
    /// out), which `control.rs` checks.
    pub fn assert_data_folder_private(&self, expected: &[&str]) {
        let modes = self.data_folder_modes();
        for name in expected {
            assert!(
                modes.iter().any(|(n, _)| n == &format!("./{name}")),
                "{name} is in the data folder: {modes:?}"
            );
        }
        let data = self.dir.join("data");
        for (name, mode) in &modes {
            if name == "./control.sock" {
                continue;
            }
            let is_dir = data.join(name).is_dir();
            let want = if is_dir { 0o700 } else { 0o600 };
            assert_eq!(
                *mode, want,
                "{name} is {mode:04o}, not {want:04o}: {modes:?}"
            );
        }
    }

    /// The database's encryption key file (the default: beside the data folder).
    pub fn database_key(&self) -> PathBuf {
        self.dir.join("data.database-key")
    }

    /// The daemon's database and its key, as another program holding the key file would open it.
    pub fn store(&self) -> dockd::store::Database {
        dockd::store::Database::existing(&self.database(), &self.database_key())
            .expect("the database key")
    }

    /// A read-only connection to the daemon's database, as another program holding the key
    /// would open it.
    pub fn db(&self) -> rusqlite::Connection {
        let conn = dockd::store::open_for_reading(&self.store()).expect("open dockd.db");
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn
    }

    /// One integer from a query.
    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |row| row.get(0)).unwrap()
    }

    /// `dockd <args> --config <this dock's config>` as a user would run it, with nothing on
    /// standard input.
    pub fn run_command(&self, args: &[&str]) -> std::process::Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// `dockd <args> --config <this dock's config>`, to be given its input and environment.
    /// Without systemd's `RUNTIME_DIRECTORY`, so it looks for the control socket where this
    /// dock's daemon makes it.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_via(&[], args)
    }

    /// Like [`Dock::command`], started through `wrapper` (e.g. `setpriv --reuid=65534 …`).
    pub fn command_via(&self, wrapper: &[&str], args: &[&str]) -> Command {
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(DOCKD);
                command
            }
            None => Command::new(DOCKD),
        };
        command
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env_remove("RUNTIME_DIRECTORY");
        command
    }

    /// `dockd <args> --config <this dock's config>` as a user would run it, with `input` piped to
    /// its standard input (a badge tag, a confirmation: never on the command line).
    pub fn run_command_with_input(&self, args: &[&str], input: &str) -> std::process::Output {
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
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// `dockd status --json` as a user would run it.
    pub fn status_json(&self) -> serde_json::Value {
        let out = self.run_command(&["status", "--json"]);
        assert!(
            out.status.success(),
            "dockd status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("status JSON")
    }

    /// Signs in as `name` through `POST /api/v1/login`; returns the session cookie (`name=value`).
    pub fn sign_in(&self, name: &str, password: &str) -> String {
        let body = serde_json::json!({ "username": name, "password": password }).to_string();
        let response = http_request(
            self.web,
            "POST",
            "/api/v1/login",
            &[("Content-Type", "application/json")],
            &body,
        );
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "sign-in failed: {response}"
        );
        response
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("set-cookie")
                    .then(|| value.trim().split(';').next().unwrap_or("").to_owned())
            })
            .expect("a session cookie")
    }

    /// A GET as the signed-in test user (signing in on first use).
    /// The test user's session cookie, signing in once.
    fn session_cookie(&self) -> String {
        let mut session = self.session.lock().unwrap();
        session
            .get_or_insert_with(|| self.sign_in(TEST_USER, TEST_PASSWORD))
            .clone()
    }

    pub fn get(&self, path: &str) -> String {
        let cookie = self.session_cookie();
        http_request(self.web, "GET", path, &[("Cookie", &cookie)], "")
    }

    /// A GET as the signed-in test user (an admin) whose body may be binary: the status code and
    /// the body, de-chunked (a streamed download comes chunked).
    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let cookie = self.session_cookie();
        let mut stream = TcpStream::connect(self.web).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n",
            self.web
        )
        .unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        let status: u16 = head[9..12].parse().unwrap();
        let mut body = raw[split + 4..].to_vec();
        if head.contains("transfer-encoding: chunked") {
            let (mut plain, mut at) = (Vec::new(), 0);
            loop {
                let line_end = at + body[at..].windows(2).position(|w| w == b"\r\n").unwrap();
                let size =
                    usize::from_str_radix(String::from_utf8_lossy(&body[at..line_end]).trim(), 16)
                        .unwrap();
                if size == 0 {
                    break;
                }
                plain.extend_from_slice(&body[line_end + 2..line_end + 2 + size]);
                at = line_end + 2 + size + 2;
            }
            body = plain;
        }
        (status, body)
    }

    /// A JSON API call as the signed-in test user, with its CSRF token: the status code and the
    /// parsed body (`Null` when there is none).
    pub fn api(
        &self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let (cookie, csrf) = {
            let mut slot = self.api_session.lock().unwrap();
            slot.get_or_insert_with(|| {
                let cookie = self.sign_in(TEST_USER, TEST_PASSWORD);
                let session = http_request(
                    self.web,
                    "GET",
                    "/api/v1/session",
                    &[("Cookie", &cookie)],
                    "",
                );
                let json = body_of(&session);
                let csrf = json["csrf_token"]
                    .as_str()
                    .expect("a CSRF token")
                    .to_owned();
                (cookie, csrf)
            })
            .clone()
        };
        let text = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let response = http_request(
            self.web,
            method,
            path,
            &[
                ("Cookie", &cookie),
                ("X-CSRF-Token", &csrf),
                ("Content-Type", "application/json"),
            ],
            &text,
        );
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        (status, body_of(&response))
    }

    /// A form POST (`application/x-www-form-urlencoded`, `body` already encoded) as the
    /// signed-in test user of [`Dock::get`], as the page's own forms send it.
    pub fn post_form(&self, path: &str, body: &str) -> String {
        let cookie = self.session_cookie();
        http_request(
            self.web,
            "POST",
            path,
            &[
                ("Cookie", &cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body,
        )
    }

    /// A GET without a session.
    pub fn get_anonymous(&self, path: &str) -> String {
        http_get(self.web, path)
    }
}

impl Drop for Dock {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// A plain HTTP/1.1 request over loopback; returns the whole response, head and body.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect to the web page");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method != "GET" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    response
}

/// A plain HTTP/1.1 GET over loopback without a session; returns the whole response.
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
