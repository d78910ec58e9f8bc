//! Analysis benchmark. (1) One 12-hour, 25 Hz shift (1.08 M samples) analysed on one core: shifts,
//! movements, exposure, tasks and risk, median of several runs, with samples per second (target:
//! under 50 ms). (2) Re-analysis of stored data by the real `dockd reanalyze`: a fleet is pulled
//! into a real dock over its socket, then re-analysed with its progress bar shown; the time is
//! extrapolated to a year for 50 workers and said so. A benchmark, not a test: it asserts only
//! that there was something to analyse.
//!
//! Run: `cargo bench -p dockd --bench analysis` (WORKERS, DAYS, REPS override the defaults).

// A harness, not a daemon path: a failed set-up step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dockd::analysis::{self, Settings};
use dockd::clock::{Clock, SystemClock};
use dockd::emulator::{Faults, MINUTE_MS, Wearable, dock_until_drained};
use dockd::transport::LinkAddr;
use tokio_util::sync::CancellationToken;

mod shared;

const DAY_MS: i64 = 86_400_000;

use shared::env_or;

fn main() {
    one_shift();
    reanalysis();
}

fn one_shift() {
    let reps = env_or("REPS", 11).max(1);
    let wearable = shared::fleet(1, 12, 77).remove(0);
    let recording = shared::recording(&wearable);
    let samples: usize = recording.blocks.iter().map(|b| b.samples.len()).sum();
    let settings = Settings::default();
    // The gait pass (analysis version 2) on the same samples as one run, timed in the same
    // repetitions as the whole analysis, so its share is a ratio measured side by side.
    let run = analysis::Run {
        start_ms: recording.blocks[0].wall_ms.expect("timed samples"),
        rate_hz: recording.blocks[0].rate_hz,
        samples: recording
            .blocks
            .iter()
            .flat_map(|b| b.samples.iter().copied())
            .collect(),
    };
    let mut times = Vec::new();
    let mut gait_times = Vec::new();
    let mut shifts = 0;
    let mut bouts = 0;
    for _ in 0..reps {
        let started = Instant::now();
        let (reports, _) = analysis::analyze(&recording, &settings).expect("analysis");
        times.push(started.elapsed());
        shifts = reports.len();
        std::hint::black_box(reports);
        let started = Instant::now();
        let spans = analysis::gait::gait_spans(&run);
        gait_times.push(started.elapsed());
        bouts = spans.len();
        std::hint::black_box(spans);
    }
    times.sort();
    gait_times.sort();
    let median = times[times.len() / 2];
    let gait_median = gait_times[gait_times.len() / 2];
    assert!(shifts > 0, "nothing was analysed");
    println!(
        "analysis: one 12 h 25 Hz shift ({samples} samples, {shifts} shift(s)) on one core: median {:.1} ms of {reps} runs (fastest {:.1} ms) = {:.1} M samples/s (target < 50 ms)",
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        samples as f64 / median.as_secs_f64() / 1e6
    );
    println!(
        "analysis: gait bouts alone on the same samples: median {:.2} ms ({bouts} bouts) = {:.1} % of the whole analysis, measured in the same runs",
        gait_median.as_secs_f64() * 1e3,
        100.0 * gait_median.as_secs_f64() / median.as_secs_f64()
    );
}

fn reanalysis() {
    let workers = env_or("WORKERS", 50) as usize;
    let days = env_or("DAYS", 2);
    let dir = std::env::temp_dir().join(format!("dockd-analysis-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let socket = dir.join("wearables.sock");
    let config = dir.join("dockd.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\n[link]\nemulator_socket = {:?}\n[web]\nlisten = \"127.0.0.1:0\"\ntls = false\n",
            dir.join("data"),
            socket
        ),
    )
    .expect("write config");
    // Each worker's `days` 8-hour shifts, as one long recording per wearable: gaps of 16 h split them.
    eprintln!("generating {workers} workers × {days} shifts of 8 h …");
    let wearables: Vec<Wearable> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|i| {
                scope.spawn(move || {
                    let spec = dockd::emulator::FleetSpec {
                        count: workers,
                        base_seed: 9000,
                        shift: dockd::emulator::ShiftSpec::ending_at(
                            SystemClock.now_ms() - (days as i64 - 1) * DAY_MS,
                            8 * 60 * MINUTE_MS,
                        ),
                        first_serial: 1,
                    };
                    let mut wearable = Wearable::new(spec.wearable_spec(i));
                    for day in 1..days as i64 {
                        let shift = dockd::emulator::ShiftSpec {
                            start_wall_ms: wearable.shift().start_wall_ms + day * DAY_MS,
                            ..*wearable.shift()
                        };
                        wearable.load_shift(shift);
                    }
                    wearable
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("generate"))
            .collect()
    });
    let samples: u64 = wearables.iter().map(|w| w.truth().samples).sum();

    let mut dockd = Command::new(env!("CARGO_BIN_EXE_dockd"))
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .expect("start dockd");
    let ready = Instant::now();
    while !socket.exists() {
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "dockd did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let cancel = CancellationToken::new();
        let addr = LinkAddr::Unix(socket.clone());
        let tasks: Vec<_> = wearables
            .into_iter()
            .map(|mut w| {
                let (addr, cancel) = (addr.clone(), cancel.clone());
                tokio::spawn(async move {
                    dock_until_drained(&mut w, &addr, &Faults::default(), &cancel)
                        .await
                        .expect("docking");
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("wearable");
        }
    });
    let _ = Command::new("kill")
        .args(["-TERM", &dockd.id().to_string()])
        .status();
    let _ = dockd.wait();

    eprintln!("re-analysing with `dockd reanalyze` (its progress bar follows) …");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_dockd"))
        .args(["reanalyze", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::inherit())
        .output()
        .expect("dockd reanalyze");
    let secs = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "dockd reanalyze failed");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    let year_samples = 50.0 * 250.0 * 8.0 * 3600.0 * 25.0;
    println!(
        "analysis: re-analysis of {workers} workers × {days} days ({:.0} M samples) by the real binary: {secs:.1} s = {:.1} M samples/s",
        samples as f64 / 1e6,
        samples as f64 / secs / 1e6
    );
    println!(
        "analysis: extrapolated to a year for 50 workers (250 shifts of 8 h each, {:.1} G samples) at that rate: {:.0} s ({:.1} min) — an extrapolation, not a measurement",
        year_samples / 1e9,
        year_samples / (samples as f64 / secs),
        year_samples / (samples as f64 / secs) / 60.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}
