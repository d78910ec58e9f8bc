//! GPS diagnostics against a real gpsd: `gpsfake` (Debian package gpsd-clients) replays the real
//! receiver recordings in `tests/data/gps/` into gpsd on a private loopback port, and what the
//! client records is checked against gpsd's own expected output for each recording (`*.log.chk`).
//! Also: gpsd killed and restarted, no gpsd at all, gpsd without a receiver, and a hostile peer.
//!
//! These tests fail, never skip, when gpsd or gpsfake is missing: `tests/run.sh` installs the
//! Debian packages `gpsd` and `gpsd-clients`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::io::Write as _;
use std::net::TcpListener as StdListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diagnostics::gps::{self, GpsConfig, GpsEvent, GpsFix, GpsSink, GpsStatus, MODE_3D};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::instrument::WithSubscriber as _;

const GPSFAKE: &str = "/usr/bin/gpsfake";
const GPSD: &str = "/usr/sbin/gpsd";
const INSTALL: &str = "install the Debian packages gpsd and gpsd-clients (tests/run.sh does)";

/// Long enough for gpsd to start, open the fake receiver and replay a recording more than once.
const LIMIT: Duration = Duration::from_secs(30);

/// Seconds between sentences gpsfake writes: a recording of ~100 sentences loops in about 1 s.
const CYCLE: &str = "0.01";

fn recording(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/gps")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: the repository's test data (tests/data) is incomplete",
        path.display()
    );
    path
}

fn require_gpsd() {
    for tool in [GPSFAKE, GPSD] {
        assert!(Path::new(tool).is_file(), "{tool} not found: {INSTALL}");
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A folder of its own under Cargo's test scratch space, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("gpsd-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A process group (gpsfake and the gpsd it starts, or a bare gpsd), killed on drop.
struct Daemon {
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    /// gpsfake looping `log` into a fresh gpsd listening on `port`. Its control socket goes in `dir`.
    fn gpsfake(log: &str, port: u16, dir: &Path) -> Self {
        require_gpsd();
        let recording = recording(log);
        let mut command = Command::new(GPSFAKE);
        command
            .args(["-q", "-c", CYCLE, "-P", &port.to_string()])
            .arg(&recording)
            .env("TMPDIR", dir);
        Self::spawn(command, &dir.join(format!("gpsfake-{port}.log")))
    }

    /// gpsd with no receiver at all, as on a dock without a GPS module.
    fn bare_gpsd(port: u16, dir: &Path) -> Self {
        require_gpsd();
        let mut command = Command::new(GPSD);
        command
            .args(["-N", "-S", &port.to_string(), "-F"])
            .arg(dir.join("gpsd.sock"));
        Self::spawn(command, &dir.join("gpsd.log"))
    }

    fn spawn(mut command: Command, log: &Path) -> Self {
        let out = std::fs::File::create(log).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start {command:?}: {e}; {INSTALL}"));
        Self {
            child: Some(child),
            log: log.to_owned(),
        }
    }

    /// Kills the whole group at once (SIGKILL: gpsd gets no chance to say goodbye) and reaps it.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("{} said:\n{}", self.log.display(), self.output());
        }
    }
}

#[derive(Debug, Default)]
struct Recorded {
    fixes: Vec<GpsFix>,
    events: Vec<(i64, GpsEvent)>,
}

impl Recorded {
    fn count(&self, wanted: impl Fn(&GpsEvent) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| wanted(e)).count()
    }
}

/// The daemon's table, in memory; every record bumps a version that waiters watch.
#[derive(Default)]
struct MemorySink {
    recorded: Mutex<Recorded>,
    version: watch::Sender<u64>,
}

impl GpsSink for MemorySink {
    fn record_fix(&self, fix: GpsFix) {
        self.recorded.lock().unwrap().fixes.push(fix);
        self.version.send_modify(|v| *v += 1);
    }

    fn record_event(&self, at_ms: i64, event: GpsEvent) {
        self.recorded.lock().unwrap().events.push((at_ms, event));
        self.version.send_modify(|v| *v += 1);
    }
}

impl MemorySink {
    /// Waits until `check` finds what it wants in the records, or panics after [`LIMIT`].
    async fn wait_for<T>(&self, what: &str, mut check: impl FnMut(&Recorded) -> Option<T>) -> T {
        let mut changes = self.version.subscribe();
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            if let Some(found) = check(&self.recorded.lock().unwrap()) {
                return found;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => panic!(
                    "timed out waiting for {what}; recorded: {:#?}",
                    self.recorded.lock().unwrap()
                ),
            }
        }
    }

    fn snapshot<T>(&self, read: impl FnOnce(&Recorded) -> T) -> T {
        read(&self.recorded.lock().unwrap())
    }
}

/// One running GPS task with an in-memory sink.
struct Client {
    sink: Arc<MemorySink>,
    status: watch::Receiver<GpsStatus>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl Client {
    /// The task's own log goes to the test's output, shown when the test fails.
    fn start(config: GpsConfig) -> Self {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_test_writer()
            .finish();
        Self::start_with(config, |run| tokio::spawn(run.with_subscriber(subscriber)))
    }

    fn start_with(
        config: GpsConfig,
        spawn: impl FnOnce(
            std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
        ) -> JoinHandle<()>,
    ) -> Self {
        let sink = Arc::new(MemorySink::default());
        let (status_tx, status) = watch::channel(GpsStatus::default());
        let cancel = CancellationToken::new();
        let task = spawn(Box::pin(gps::run(
            config,
            sink.clone(),
            status_tx,
            now_ms,
            cancel.clone(),
        )));
        Self {
            sink,
            status,
            cancel,
            task,
        }
    }

    async fn wait_status(
        &mut self,
        what: &str,
        check: impl FnMut(&GpsStatus) -> bool,
    ) -> GpsStatus {
        let found = match tokio::time::timeout(LIMIT, self.status.wait_for(check)).await {
            Ok(Ok(status)) => Some(status.clone()),
            _ => None,
        };
        found.unwrap_or_else(|| {
            panic!(
                "timed out waiting for {what}; status: {:#?}",
                *self.status.borrow()
            )
        })
    }

    /// Cancels the task and checks it ends promptly.
    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(2), self.task)
            .await
            .expect("the GPS task ends within 2 s of being cancelled")
            .expect("the GPS task does not panic");
    }
}

fn config(port: u16, interval: Duration) -> GpsConfig {
    GpsConfig {
        addr: format!("127.0.0.1:{port}"),
        interval,
        retry_min: Duration::from_millis(50),
        retry_max: Duration::from_millis(400),
        greeting_timeout: Duration::from_secs(10),
    }
}

/// gpsd's expected TPV reports for a recording, from its `.chk` file.
#[derive(Debug)]
struct ExpectedTpv {
    mode: u8,
    lat: Option<f64>,
    lon: Option<f64>,
    alt_msl: Option<f64>,
}

struct Expected {
    tpvs: Vec<ExpectedTpv>,
    used: Vec<u32>,
    seen: Vec<u32>,
}

fn expected(name: &str) -> Expected {
    let text = std::fs::read(recording(&format!("{name}.chk"))).unwrap();
    let text = String::from_utf8_lossy(&text);
    let reports: Vec<Value> = text
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let class = |r: &Value, c: &str| r["class"].as_str() == Some(c);
    let number = |r: &Value, key: &str| r.get(key).and_then(Value::as_u64).map(|n| n as u32);
    Expected {
        tpvs: reports
            .iter()
            .filter(|r| class(r, "TPV"))
            .map(|r| ExpectedTpv {
                mode: u8::try_from(r["mode"].as_u64().unwrap()).unwrap(),
                lat: r.get("lat").and_then(Value::as_f64),
                lon: r.get("lon").and_then(Value::as_f64),
                alt_msl: r.get("altMSL").and_then(Value::as_f64),
            })
            .collect(),
        used: reports
            .iter()
            .filter(|r| class(r, "SKY"))
            .filter_map(|r| number(r, "uSat"))
            .collect(),
        seen: reports
            .iter()
            .filter(|r| class(r, "SKY"))
            .filter_map(|r| number(r, "nSat"))
            .collect(),
    }
}

/// Checks one recorded fix against gpsd's expected output: a position must be one gpsd expected
/// (within 1e-6°) and come with a fix; an altitude must be one gpsd expected; a record
/// without a fix has no position and a mode gpsd expected.
///
/// The mode of a position is not compared report by report: the `.chk` was made by replaying the
/// log from its first sentence, while a live gpsd joins the loop anywhere, and reports 2D for the
/// first RMC it sees before any GGA has given it an altitude. Satellite counts likewise depend on
/// where a GSV cycle was cut, so tests check those with `any`, not against every record.
fn check_against_chk(fix: &GpsFix, expected: &Expected) {
    match (fix.lat, fix.lon) {
        (Some(lat), Some(lon)) => {
            assert!(
                fix.mode >= gps::MODE_2D,
                "a position without a fix: {fix:?}"
            );
            assert!(
                expected.tpvs.iter().any(|t| {
                    t.mode >= gps::MODE_2D
                        && t.lat.is_some_and(|l| (l - lat).abs() < 1e-6)
                        && t.lon.is_some_and(|l| (l - lon).abs() < 1e-6)
                }),
                "{fix:?} is at no position gpsd expected"
            );
            // gpsd 3.22 sends 3D TPVs without an altitude too (an RMC after the GSA said 3D,
            // before a GGA): an altitude is checked when there is one.
            if let Some(alt) = fix.alt_m {
                assert_eq!(fix.mode, MODE_3D, "an altitude without a 3D fix: {fix:?}");
                assert!(
                    expected
                        .tpvs
                        .iter()
                        .any(|t| t.alt_msl.is_some_and(|a| (a - alt).abs() < 1e-3)),
                    "{fix:?}: an altitude gpsd never expected"
                );
            }
        }
        (None, None) => {
            assert!(fix.mode < gps::MODE_2D, "a fix without a position: {fix:?}");
            assert_eq!(fix.alt_m, None, "{fix:?}");
            assert!(
                expected.tpvs.iter().any(|t| t.mode == fix.mode),
                "{fix:?}: a mode gpsd never expected"
            );
        }
        _ => panic!("half a position: {fix:?}"),
    }
}

#[tokio::test]
async fn the_bu353s4_recording_gives_the_3d_fix_gpsd_expects() {
    let expected = expected("bu353s4.log");
    assert!(
        expected.tpvs.iter().all(|t| t.mode == 3),
        "the .chk is all 3D fixes"
    );
    let dir = scratch("bu353s4");
    let port = free_port();
    let gpsd = Daemon::gpsfake("bu353s4.log", port, &dir);
    let mut client = Client::start(config(port, Duration::from_millis(200)));

    let fixes = client
        .sink
        .wait_for("three 3D fixes, one with gpsd's satellite count", |r| {
            let with_sky = r.fixes.iter().any(|f| {
                f.mode == MODE_3D
                    && f.satellites_used
                        .is_some_and(|u| expected.used.contains(&u))
            });
            (r.fixes.iter().filter(|f| f.mode == MODE_3D).count() >= 3 && with_sky)
                .then(|| r.fixes.clone())
        })
        .await;
    for fix in &fixes {
        check_against_chk(fix, &expected);
    }
    let first = fixes.iter().find(|f| f.mode == MODE_3D).unwrap();
    assert!((first.lat.unwrap() - -37.784788).abs() < 1e-4, "{first:?}");
    assert!((first.lon.unwrap() - 175.314896).abs() < 1e-4, "{first:?}");
    assert!(
        fixes.iter().any(|f| f.mode == MODE_3D && f.alt_m.is_some()),
        "a 3D fix with its altitude: {fixes:#?}"
    );
    assert!(
        fixes.iter().any(|f| f.hdop == Some(1.1)),
        "hdop 1.10 from SKY"
    );
    assert!(
        fixes.iter().any(|f| f.eph == Some(20.9)),
        "eph 20.900 from TPV"
    );

    let status = client
        .wait_status("a 3D fix on the status", |s| s.mode == MODE_3D)
        .await;
    assert!(status.connected, "{status:?}");
    assert_eq!(status.gpsd_release.as_deref(), Some("3.22"), "{status:?}");
    assert_eq!(status.receivers, Some(1), "{status:?}");
    assert_eq!(status.problem, None, "{status:?}");
    assert!(status.lat.is_some() && status.last_fix_ms.is_some());
    client.sink.snapshot(|r| {
        // gpsfake may still be starting when the client first knocks: NoGpsd may come first.
        let connected: Vec<&GpsEvent> = r
            .events
            .iter()
            .map(|(_, e)| e)
            .filter(|e| matches!(e, GpsEvent::Connected { .. }))
            .collect();
        assert_eq!(
            connected,
            vec![&GpsEvent::Connected {
                release: "3.22".into()
            }],
            "{r:#?}"
        );
        assert_eq!(r.count(|e| matches!(e, GpsEvent::FixLost)), 0, "{r:#?}");
    });
    client.stop().await;
    drop(gpsd);
}

#[tokio::test]
async fn the_no_fix_recording_records_mode_1_and_never_a_position() {
    let expected = expected("bu303-nofix.log");
    assert!(expected.tpvs.iter().all(|t| t.mode == 1 && t.lat.is_none()));
    assert!(expected.used.iter().chain(&expected.seen).all(|&n| n == 0));
    let dir = scratch("nofix");
    let port = free_port();
    let gpsd = Daemon::gpsfake("bu303-nofix.log", port, &dir);
    let mut client = Client::start(config(port, Duration::from_millis(200)));

    let fixes = client
        .sink
        .wait_for("five records", |r| {
            (r.fixes.len() >= 5).then(|| r.fixes.clone())
        })
        .await;
    for fix in &fixes {
        assert_eq!(fix.mode, gps::MODE_NO_FIX, "{fix:?}");
        assert_eq!((fix.lat, fix.lon, fix.alt_m), (None, None, None), "{fix:?}");
        check_against_chk(fix, &expected);
    }
    assert!(
        fixes
            .iter()
            .any(|f| f.satellites_used == Some(0) && f.satellites_seen == Some(0)),
        "SKY said 0 of 0 satellites: {fixes:#?}"
    );
    let status = client
        .wait_status("no fix on the status", |s| s.mode == gps::MODE_NO_FIX)
        .await;
    assert_eq!(
        status.problem.as_deref(),
        Some("the GPS receiver has no fix")
    );
    assert_eq!((status.lat, status.last_fix_ms), (None, None));
    client.sink.snapshot(|r| {
        assert_eq!(
            r.count(|e| matches!(e, GpsEvent::FixLost | GpsEvent::FixRegained)),
            0,
            "{r:#?}"
        );
    });
    client.stop().await;
    drop(gpsd);
}

#[tokio::test]
async fn the_cold_boot_recording_loses_its_fix_and_regains_it() {
    // The recording: a fix, then the receiver reboots and has none. Looped, it regains the fix.
    let expected = expected("gp-320fw-2019-04-07-coldboot.log");
    let modes: Vec<u8> = expected.tpvs.iter().map(|t| t.mode).collect();
    let first_no_fix = modes.iter().position(|&m| m == 1).unwrap();
    assert!(modes[..first_no_fix].iter().all(|&m| m == 3) && first_no_fix > 0);
    assert!(modes[first_no_fix..].iter().all(|&m| m == 1));

    let dir = scratch("coldboot");
    let port = free_port();
    let gpsd = Daemon::gpsfake("gp-320fw-2019-04-07-coldboot.log", port, &dir);
    let client = Client::start(config(port, Duration::from_secs(60)));

    // Whatever point of the loop gpsd starts at: a no-fix record, then a fix regained, then lost.
    let recorded = client
        .sink
        .wait_for("no fix, then a regained fix, then a lost fix", |r| {
            let regained = r
                .events
                .iter()
                .position(|(_, e)| *e == GpsEvent::FixRegained)?;
            r.events[regained..]
                .iter()
                .any(|(_, e)| *e == GpsEvent::FixLost)
                .then(|| (r.fixes.clone(), r.events.clone()))
        })
        .await;
    let (fixes, events) = recorded;
    for fix in &fixes {
        check_against_chk(fix, &expected);
    }
    // With a minute's interval only mode changes are recorded: they alternate.
    for pair in fixes.windows(2) {
        assert_ne!(pair[0].mode, pair[1].mode, "{fixes:#?}");
    }
    let regained_at = events
        .iter()
        .find(|(_, e)| *e == GpsEvent::FixRegained)
        .map(|(at, _)| *at)
        .unwrap();
    let fix_at_regain = fixes
        .iter()
        .find(|f| f.at_ms == regained_at)
        .expect("the regained fix is recorded at once");
    assert_eq!(fix_at_regain.mode, MODE_3D);
    assert!((fix_at_regain.lat.unwrap() - 48.149988333).abs() < 1e-6);
    assert!((fix_at_regain.lon.unwrap() - 11.584663333).abs() < 1e-6);
    let before = fixes
        .iter()
        .rev()
        .find(|f| f.at_ms < regained_at)
        .expect("a record before the fix was regained");
    assert_eq!(before.mode, gps::MODE_NO_FIX, "{fixes:#?}");
    client.stop().await;
    drop(gpsd);
}

#[tokio::test]
async fn gpsd_killed_and_restarted_is_reconnected_and_fixes_keep_coming() {
    let dir = scratch("restart");
    let port = free_port();
    let mut gpsd = Daemon::gpsfake("bu353s4.log", port, &dir);
    let client = Client::start(config(port, Duration::from_millis(100)));
    client
        .sink
        .wait_for("a fix from the first gpsd", |r| {
            r.fixes.iter().any(|f| f.mode == MODE_3D).then_some(())
        })
        .await;

    gpsd.kill();
    let lost_at = client
        .sink
        .wait_for("Disconnected", |r| {
            r.events
                .iter()
                .find(|(_, e)| matches!(e, GpsEvent::Disconnected { .. }))
                .map(|(at, _)| *at)
        })
        .await;

    let gpsd = Daemon::gpsfake("bu353s4.log", port, &dir);
    let back_at = client
        .sink
        .wait_for("Connected again", |r| {
            r.events
                .iter()
                .filter(|(_, e)| matches!(e, GpsEvent::Connected { .. }))
                .nth(1)
                .map(|(at, _)| *at)
        })
        .await;
    assert!(back_at >= lost_at);
    client
        .sink
        .wait_for("three fixes from the restarted gpsd", |r| {
            (r.fixes
                .iter()
                .filter(|f| f.at_ms >= back_at && f.mode == MODE_3D)
                .count()
                >= 3)
                .then_some(())
        })
        .await;
    client.sink.snapshot(|r| {
        assert_eq!(
            r.count(|e| matches!(e, GpsEvent::Disconnected { .. })),
            1,
            "{r:#?}"
        );
        // A fix before and after the restart: the fix was never lost.
        assert_eq!(r.count(|e| matches!(e, GpsEvent::FixLost)), 0, "{r:#?}");
        for fix in &r.fixes {
            check_against_chk(fix, &expected("bu353s4.log"));
        }
    });
    assert!(client.status.borrow().connected, "gpsd: {}", gpsd.output());
    client.stop().await;
}

/// Log lines written by one task, whatever thread it runs on.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[tokio::test]
async fn without_gpsd_the_status_says_so_and_retries_stay_quiet_until_gpsd_appears() {
    let port = free_port();
    let log = CapturedLog::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer({
            let log = log.clone();
            move || log.clone()
        })
        .finish();
    let mut client = Client::start_with(config(port, Duration::from_secs(60)), |run| {
        tokio::spawn(run.with_subscriber(subscriber))
    });

    let status = client
        .wait_status("eight failed attempts", |s| s.connect_failures >= 8)
        .await;
    let addr = format!("127.0.0.1:{port}");
    let problem = status.problem.unwrap_or_default();
    assert!(
        problem.starts_with(&format!("no gpsd at {addr}")),
        "{problem}"
    );
    assert!(!status.connected);
    client.sink.snapshot(|r| {
        assert_eq!(r.events.len(), 1, "one event for the whole outage: {r:#?}");
        assert!(matches!(r.events[0].1, GpsEvent::NoGpsd { .. }), "{r:#?}");
        assert!(r.fixes.is_empty());
    });
    let lines = log.lines();
    let warnings: Vec<&String> = lines.iter().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(
        warnings.len(),
        1,
        "one warning, not one per retry: {lines:#?}"
    );
    assert!(warnings[0].contains("no gpsd"), "{lines:#?}");
    assert!(
        lines.iter().filter(|l| l.contains("retrying gpsd")).count() >= 7,
        "each retry is logged at debug: {lines:#?}"
    );

    // It kept retrying: a gpsd that appears on the port is found without a restart.
    let dir = scratch("late");
    let gpsd = Daemon::bare_gpsd(port, &dir);
    client
        .sink
        .wait_for("Connected once gpsd appears", |r| {
            r.events
                .iter()
                .any(|(_, e)| matches!(e, GpsEvent::Connected { .. }))
                .then_some(())
        })
        .await;
    // That gpsd has no receiver, like a dock without a GPS module: said once, and on the status.
    client
        .sink
        .wait_for("NoReceiver", |r| {
            r.events
                .iter()
                .any(|(_, e)| *e == GpsEvent::NoReceiver)
                .then_some(())
        })
        .await;
    let status = client
        .wait_status("no receiver on the status", |s| s.receivers == Some(0))
        .await;
    assert_eq!(
        status.problem.as_deref(),
        Some("gpsd is running but has no GPS receiver"),
        "gpsd: {}",
        gpsd.output()
    );
    assert!(status.connected);
    assert_eq!(status.connect_failures, 0);
    client.stop().await;
}

#[tokio::test]
async fn garbage_an_over_long_line_and_unknown_classes_are_skipped_and_reading_goes_on() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut client = Client::start(config(port, Duration::from_secs(60)));

    let (socket, _) = tokio::time::timeout(LIMIT, listener.accept())
        .await
        .expect("the client connects")
        .unwrap();
    let (read, mut write) = socket.into_split();
    let mut command = String::new();
    BufReader::new(read).read_line(&mut command).await.unwrap();
    assert_eq!(command.trim_end(), r#"?WATCH={"enable":true,"json":true};"#);

    let mut hostile = Vec::new();
    writeln!(
        hostile,
        r#"{{"class":"VERSION","release":"3.25","rev":"3.25","proto_major":3,"proto_minor":15}}"#
    )
    .unwrap();
    hostile.extend_from_slice(b"$GPGGA,030719.000,3747.0873,S,17518.8938,E*7D\n");
    write.write_all(&hostile).await.unwrap();
    // Ten megabytes without a line break, sent in pieces as a broken peer would.
    let piece = vec![b'{'; 64 * 1024];
    for _ in 0..160 {
        write.write_all(&piece).await.unwrap();
    }
    let mut rest = Vec::new();
    rest.extend_from_slice(b"\n\xff\xfe\xfd\n");
    for line in [
        r#"{"class":"TOFF","device":"/dev/ttyACM0","real_sec":1,"real_nsec":0,"clock_sec":1,"clock_nsec":0}"#,
        r#"{"class":"DEVICE","path":"/dev/ttyACM0","activated":"2026-06-15T12:00:00.000Z","bps":115200}"#,
        r#"{"class":"ERROR","message":"Unrecognized request"}"#,
        r#"{"class":"TPV","mode":"three"}"#,
        r#"{"class":"TPV","device":"/dev/ttyACM0","mode":3,"time":"2026-06-15T12:00:06.000Z","lat":48.137213333,"lon":11.576183333,"altMSL":519.0}"#,
    ] {
        rest.extend_from_slice(line.as_bytes());
        rest.push(b'\n');
    }
    write.write_all(&rest).await.unwrap();

    let fix = client
        .sink
        .wait_for("the fix after the garbage", |r| r.fixes.first().cloned())
        .await;
    assert_eq!(fix.mode, MODE_3D);
    assert_eq!((fix.lat, fix.lon), (Some(48.137213333), Some(11.576183333)));
    assert_eq!(fix.alt_m, Some(519.0));
    assert_eq!(fix.gps_time_ms, Some(1_781_524_806_000));
    let status = client
        .wait_status("the fix on the status", |s| s.mode == MODE_3D)
        .await;
    // The NMEA line, the 10 MB line, the bytes that are not UTF-8 and the malformed TPV.
    assert_eq!(status.skipped_lines, 4, "{status:#?}");
    assert_eq!(status.receivers, Some(1), "the 115200 bps DEVICE counted");
    assert!(status.connected);

    // The peer goes away: one Disconnected, and the task is still there to stop.
    drop(write);
    drop(listener);
    client
        .sink
        .wait_for("Disconnected", |r| {
            r.events
                .iter()
                .any(|(_, e)| matches!(e, GpsEvent::Disconnected { .. }))
                .then_some(())
        })
        .await;
    client.sink.snapshot(|r| {
        let kinds: Vec<&str> = r.events.iter().take(2).map(|(_, e)| e.kind()).collect();
        assert_eq!(kinds, vec!["connected", "disconnected"], "{r:#?}");
    });
    client.stop().await;
}

#[tokio::test]
async fn a_peer_that_accepts_but_never_greets_is_left_and_retried() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut client = Client::start(GpsConfig {
        greeting_timeout: Duration::from_millis(200),
        ..config(port, Duration::from_secs(60))
    });
    // Accept twice and say nothing: the second connection shows the first was given up.
    let mut silent = Vec::new();
    for _ in 0..2 {
        let (socket, _) = tokio::time::timeout(LIMIT, listener.accept())
            .await
            .expect("the client connects again")
            .unwrap();
        silent.push(socket);
    }
    let status = client
        .wait_status("the failed greeting on the status", |s| {
            s.connect_failures >= 1
        })
        .await;
    assert_eq!(
        status.problem.as_deref(),
        Some(format!("no gpsd at 127.0.0.1:{port} (no greeting within 200ms); retrying").as_str())
    );
    assert!(!status.connected);
    client.sink.snapshot(|r| {
        assert_eq!(r.events.len(), 1, "{r:#?}");
        assert!(matches!(r.events[0].1, GpsEvent::NoGpsd { .. }), "{r:#?}");
    });
    client.stop().await;
}
