//! GPS task benchmark: an hour of gpsd reports, replayed as fast as the task reads them, through
//! the real `gps::run` over loopback TCP. The reports are gpsd's own output for the u-blox 8
//! recording (`tests/data/gps/ublox-8.log.chk`: TPV and 25-satellite SKY reports, 72 s of
//! receiver time), looped; the task's clock advances 72 s per pass so its once-a-minute recording
//! runs as it would in the field. Prints the GPS thread's CPU time, the process's memory as the
//! replay goes on (to show it does not grow) and what was recorded. A benchmark, not a test: it
//! asserts only that the records arrived, and leaves judging the figures to the reader.
//!
//! Run: `cargo bench -p diagnostics --bench gps` (HOURS=24 for a day). The peer that plays gpsd
//! runs on a thread of its own in this process; the CPU figure is the GPS thread's alone.

// A harness, not a daemon path: a failed set-up step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, BufWriter, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diagnostics::gps::{self, GpsConfig, GpsEvent, GpsFix, GpsSink, GpsStatus};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Receiver time one pass of the recording covers (2017-01-10 00:09:41 to 00:10:52).
const PASS_MS: u64 = 72_000;

#[derive(Default)]
struct CountingSink {
    fixes: AtomicU64,
    events: Mutex<Vec<GpsEvent>>,
    done: tokio::sync::Notify,
}

impl GpsSink for CountingSink {
    fn record_fix(&self, _fix: GpsFix) {
        self.fixes.fetch_add(1, Ordering::Relaxed);
    }

    fn record_event(&self, _at_ms: i64, event: GpsEvent) {
        let end = matches!(event, GpsEvent::Disconnected { .. });
        self.events.lock().unwrap().push(event);
        if end {
            self.done.notify_one();
        }
    }
}

/// A figure from /proc/self/status in MB (`VmRSS`, `VmHWM`).
fn memory_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU seconds (user + system) the calling thread has used, from /proc/thread-self/stat.
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

fn main() {
    let hours: u64 = std::env::var("HOURS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let chk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/gps/ublox-8.log.chk");
    let text =
        String::from_utf8_lossy(&std::fs::read(&chk).expect("the u-blox 8 recording")).into_owned();
    let pass: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| format!("{l}\n"))
        .collect();
    let passes = hours * 3600 * 1000 / PASS_MS;
    let lines_total = passes * pass.len() as u64;
    let bytes_total: u64 = passes * pass.iter().map(|l| l.len() as u64).sum::<u64>();

    // The peer that plays gpsd: greeting, one receiver, then the hour of reports, then goodbye.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let lines_per_pass = pass.len();
    let peer = std::thread::spawn(move || {
        let (socket, _) = listener.accept().unwrap();
        // Read the WATCH command first: closing a socket with unread input sends a reset, which
        // would throw away the reports still in flight.
        let mut watch = String::new();
        BufReader::new(socket.try_clone().unwrap())
            .read_line(&mut watch)
            .unwrap();
        assert!(watch.starts_with("?WATCH="), "{watch}");
        let mut out = BufWriter::with_capacity(64 * 1024, socket);
        out.write_all(
            b"{\"class\":\"VERSION\",\"release\":\"3.22\",\"rev\":\"3.22\",\"proto_major\":3,\"proto_minor\":14}\n\
              {\"class\":\"DEVICES\",\"devices\":[{\"class\":\"DEVICE\",\"path\":\"/dev/ttyACM0\",\"activated\":\"2017-01-10T00:09:40.000Z\",\"native\":0,\"bps\":115200}]}\n",
        )
        .unwrap();
        for _ in 0..passes {
            for line in &pass {
                out.write_all(line.as_bytes()).unwrap();
            }
        }
        out.flush().unwrap();
    });

    // The task's clock: receiver time advancing with the lines it has read, so the hour replayed
    // is an hour to the recorder. It also samples memory at each quarter of the replay.
    let calls = Arc::new(AtomicU64::new(0));
    let rss_samples = Arc::new(Mutex::new(Vec::new()));
    let clock = {
        let calls = calls.clone();
        let rss_samples = rss_samples.clone();
        let ms_per_line = PASS_MS as f64 / lines_per_pass as f64;
        let quarter = (lines_total / 4).max(1);
        move || {
            let n = calls.fetch_add(1, Ordering::Relaxed);
            if n > 0 && n.is_multiple_of(quarter) {
                rss_samples.lock().unwrap().push(memory_mb("VmRSS:"));
            }
            1_484_006_981_000 + (n as f64 * ms_per_line) as i64
        }
    };

    let sink = Arc::new(CountingSink::default());
    let (status_tx, status_rx) = watch::channel(GpsStatus::default());
    let rss_before = memory_mb("VmRSS:");
    let started = Instant::now();
    let gps_thread = {
        let sink = sink.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let cpu_before = thread_cpu_seconds();
            runtime.block_on(async {
                let cancel = CancellationToken::new();
                let config = GpsConfig {
                    addr: format!("127.0.0.1:{port}"),
                    retry_min: Duration::from_secs(60),
                    ..GpsConfig::default()
                };
                let task = tokio::spawn(gps::run(
                    config,
                    sink.clone(),
                    status_tx,
                    clock,
                    cancel.clone(),
                ));
                tokio::time::timeout(Duration::from_secs(600), sink.done.notified())
                    .await
                    .expect("the replay ends within 10 minutes");
                cancel.cancel();
                task.await.unwrap();
            });
            thread_cpu_seconds() - cpu_before
        })
    };
    peer.join().unwrap();
    let gps_cpu = gps_thread.join().unwrap();
    let wall = started.elapsed().as_secs_f64();

    let status = status_rx.borrow().clone();
    let fixes = sink.fixes.load(Ordering::Relaxed);
    let events = sink.events.lock().unwrap().clone();
    let rss = rss_samples.lock().unwrap().clone();
    println!("GPS task, {hours} h of gpsd reports (u-blox 8, looped) replayed over loopback:");
    println!(
        "  {lines_total} lines, {:.1} MB, in {wall:.2} s wall ({:.0} lines/s)",
        bytes_total as f64 / 1e6,
        lines_total as f64 / wall
    );
    println!(
        "  GPS thread CPU: {gps_cpu:.2} s = {:.4} % of one core over {hours} h of real time",
        gps_cpu / (hours as f64 * 3600.0) * 100.0
    );
    println!(
        "  memory: RSS {rss_before:.1} MB before, {} MB at each quarter, peak {:.1} MB",
        rss.iter()
            .map(|r| format!("{r:.1}"))
            .collect::<Vec<_>>()
            .join(" / "),
        memory_mb("VmHWM:")
    );
    println!(
        "  read {} lines; recorded: {fixes} fixes, events {:?}; lines skipped {}",
        calls.load(Ordering::Relaxed),
        events.iter().map(GpsEvent::kind).collect::<Vec<_>>(),
        status.skipped_lines
    );
    assert!(
        fixes >= hours * 60 - 1,
        "a fix a minute: {fixes} fixes in {hours} h"
    );
    assert_eq!(status.skipped_lines, 0, "gpsd's own output parses");
    power(hours);
}

/// The power task's work for `hours` at the daemon's pace (one reading every 30 s): every reading
/// of this machine's real sysfs, done back to back on this thread, with its CPU time and memory.
fn power(hours: u64) {
    let readings = hours * 3600 / 30;
    let rss_before = memory_mb("VmRSS:");
    let cpu_before = thread_cpu_seconds();
    let started = Instant::now();
    let mut summary = String::new();
    for _ in 0..readings {
        summary = diagnostics::power::read_power(std::path::Path::new("/sys")).summary;
    }
    let cpu = thread_cpu_seconds() - cpu_before;
    println!("Power task, {hours} h at one reading per 30 s ({readings} readings of /sys):");
    println!(
        "  {:.1} µs per reading, {cpu:.3} s CPU = {:.5} % of one core over {hours} h; RSS {rss_before:.1} → {:.1} MB; now: {summary}",
        started.elapsed().as_secs_f64() / readings as f64 * 1e6,
        cpu / (hours as f64 * 3600.0) * 100.0,
        memory_mb("VmRSS:")
    );
}
