//! USB versus socket ingest: the same emulated shifts are pulled by the real `dockd` binary once over
//! its Unix socket and once over the real rusb → libusb → usbfs path under umockdev, in one run, and
//! the bench prints both rates, both CPU bills and their ratio. A benchmark, not a test: it asserts
//! only that everything arrived.
//!
//! Run: `cargo bench -p dockd --bench usb_ingest` (WEARABLES, SHIFT_HOURS, ROUNDS override the
//! defaults). The bench re-executes itself under umockdev's preload. Over USB, dockd also runs under
//! that preload (every file call passes through it) and every USB transfer is an ioctl answered
//! by this process over a Unix socket, with a 200 µs pause whenever libusb polls an idle pipe: the
//! USB figures include all of umockdev's overhead and are a floor, not a real bus's speed.

// A harness, not a daemon path: a failed set-up step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dockd::emulator::{
    Faults, ServeEnd, UNDOCK_GRACE, Wearable, dock_until_drained, serve_until_drained,
};
use dockd::transport::LinkAddr;
use tokio_util::sync::CancellationToken;
use usb_testbed::{DeviceSpec, Testbed, UnplugError};

mod shared;

use shared::{cpu_seconds, env_or, peak_rss_mb};

const PRELOAD: &str = "libumockdev-preload.so.0";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Socket,
    Usb,
}

#[derive(Clone, Copy)]
struct Round {
    secs: f64,
    dock_cpu: f64,
    bench_cpu: f64,
    rss: f64,
    /// dockd's CPU share while the drained wearables sit docked and quiet (USB only).
    idle_cpu: f64,
}

/// How long the docked-and-idle CPU share is measured.
const IDLE_WINDOW: Duration = Duration::from_secs(3);

fn main() {
    let preloaded = std::env::var("LD_PRELOAD").is_ok_and(|v| v.contains("libumockdev-preload"));
    if !preloaded {
        let status = Command::new(std::env::current_exe().expect("own path"))
            .args(std::env::args_os().skip(1))
            .env("LD_PRELOAD", PRELOAD)
            .status()
            .expect("re-run under umockdev's preload");
        std::process::exit(status.code().unwrap_or(1));
    }
    let count = env_or("WEARABLES", 4) as usize;
    let hours = env_or("SHIFT_HOURS", 12);
    let rounds = env_or("ROUNDS", 3).max(1);
    let dir = std::env::temp_dir().join(format!("dockd-usb-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");

    eprintln!("generating {count} wearables × {hours} h at 25 Hz …");
    let wearables = shared::fleet(count, hours, 4242);
    let bytes = shared::segment_bytes(&wearables);
    let mb = bytes as f64 / 1e6;

    // The testbed exists before any dockd starts, so the USB one inherits UMOCKDEV_DIR.
    let testbed = Testbed::new();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut socket_rounds = Vec::new();
    let mut usb_rounds = Vec::new();
    for round in 1..=rounds {
        for path in [Route::Socket, Route::Usb] {
            let result = run_round(&dir, path, &testbed, &runtime, wearables.clone(), round);
            eprintln!(
                "round {round} {}: {:.2} s, {:.1} MB/s",
                name(path),
                result.secs,
                mb / result.secs
            );
            match path {
                Route::Socket => socket_rounds.push(result),
                Route::Usb => usb_rounds.push(result),
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let socket = median(&mut socket_rounds);
    let usb = median(&mut usb_rounds);
    println!(
        "usb_ingest: {count} wearables × {hours} h × 25 Hz = {mb:.1} MB of segments, each path pulled {rounds} times; medians:"
    );
    for (path, r) in [(Route::Socket, &socket), (Route::Usb, &usb)] {
        println!(
            "usb_ingest: {:<28} {:6.2} s  {:6.1} MB/s  dockd {:5.2} CPU-s ({:5.1} MB per CPU-s)  peak RSS {:5.1} MB  bench process (wearables{}) {:5.2} CPU-s",
            name(path),
            r.secs,
            mb / r.secs,
            r.dock_cpu,
            mb / r.dock_cpu,
            r.rss,
            if path == Route::Usb {
                " + umockdev handler"
            } else {
                ""
            },
            r.bench_cpu,
        );
    }
    println!(
        "usb_ingest: dockd while {count} drained USB wearables sit docked and quiet: {:.0} % of a core (libusb polls umockdev's regular-file device nodes; on a real bus a pending bulk IN sleeps in the kernel)",
        usb.idle_cpu * 100.0
    );
    println!(
        "usb_ingest: USB / socket: throughput ×{:.2}, dockd CPU ×{:.2} (umockdev's own overhead included, see the file's doc)",
        socket.secs / usb.secs,
        usb.dock_cpu / socket.dock_cpu
    );
}

fn name(path: Route) -> &'static str {
    match path {
        Route::Socket => "socket (Unix domain)",
        Route::Usb => "USB (rusb/libusb, umockdev)",
    }
}

fn median(rounds: &mut [Round]) -> Round {
    rounds.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    rounds[rounds.len() / 2]
}

fn start_dockd(dir: &Path, path: Route) -> (Child, PathBuf) {
    let _ = std::fs::remove_dir_all(dir.join("data"));
    let _ = Command::new("sync").status();
    let socket = dir.join("wearables.sock");
    let web = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let transport = match path {
        Route::Socket => format!("[link]\nemulator_socket = {socket:?}\n"),
        Route::Usb => "[usb]\nenabled = true\n".to_owned(),
    };
    let config = dir.join("dockd.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\n{transport}[web]\nlisten = \"{web}\"\ntls = false\n",
            dir.join("data")
        ),
    )
    .expect("write config");
    let mut command = Command::new(env!("CARGO_BIN_EXE_dockd"));
    command
        .args(["run", "--config"])
        .arg(&config)
        // Ports have no [usb.slots] entries here; their warnings would drown the figures.
        .env("RUST_LOG", "warn,dockd::dock=error")
        .stdin(Stdio::null());
    if path == Route::Socket {
        // The socket path runs as it would on a dock: without umockdev in the way.
        command.env_remove("LD_PRELOAD").env_remove("UMOCKDEV_DIR");
    }
    let child = command.spawn().expect("start dockd");
    let ready = Instant::now();
    while std::net::TcpStream::connect(web).is_err() {
        assert!(
            ready.elapsed() < Duration::from_secs(30),
            "dockd did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    (child, socket)
}

fn run_round(
    dir: &Path,
    path: Route,
    testbed: &Testbed,
    runtime: &tokio::runtime::Runtime,
    wearables: Vec<Wearable>,
    round: u64,
) -> Round {
    let (mut dockd, socket) = start_dockd(dir, path);
    let count = wearables.len();
    let bench_cpu_before = cpu_seconds("self");
    let stay = UNDOCK_GRACE;
    let (elapsed, drained, plugged) = runtime.block_on(async {
        let cancel = CancellationToken::new();
        let start = Instant::now();
        let mut plugged = Vec::new();
        let mut tasks = Vec::new();
        for (i, mut wearable) in wearables.into_iter().enumerate() {
            let cancel = cancel.clone();
            match path {
                Route::Socket => {
                    let addr = LinkAddr::Unix(socket.clone());
                    tasks.push(tokio::spawn(async move {
                        let ended =
                            dock_until_drained(&mut wearable, &addr, &Faults::default(), &cancel)
                                .await;
                        (ended.is_ok() && wearable.drained(), start.elapsed())
                    }));
                }
                Route::Usb => {
                    // A fresh port each round: a device number is never reused, as on a real bus.
                    let port = format!("1-{}", 1 + i as u64 + (round - 1) * count as u64);
                    let device = testbed.plug(DeviceSpec::wearable(&port, wearable.serial()));
                    let end = device.device_end();
                    plugged.push(device);
                    tasks.push(tokio::spawn(async move {
                        let ended = serve_until_drained(
                            &mut wearable,
                            end,
                            &Faults::default(),
                            stay,
                            &cancel,
                        )
                        .await;
                        (
                            matches!(ended, Ok(ServeEnd::Drained)) && wearable.drained(),
                            start.elapsed(),
                        )
                    }));
                }
            }
        }
        let mut last = Duration::ZERO;
        let mut drained = 0;
        for task in tasks {
            let (ok, at) = task.await.expect("wearable task");
            drained += usize::from(ok);
            last = last.max(at);
        }
        // A wearable leaves a grace period after its last erase; time the erase, not the grace.
        (last.saturating_sub(stay), drained, plugged)
    });
    let dock_cpu = cpu_seconds(&dockd.id().to_string());
    let bench_cpu = cpu_seconds("self") - bench_cpu_before;
    let rss = peak_rss_mb(dockd.id());
    let idle_cpu = if plugged.is_empty() {
        f64::NAN
    } else {
        std::thread::sleep(IDLE_WINDOW);
        (cpu_seconds(&dockd.id().to_string()) - dock_cpu) / IDLE_WINDOW.as_secs_f64()
    };
    for device in plugged {
        device.unplug(UnplugError::NoDevice);
    }
    let _ = Command::new("kill")
        .args(["-TERM", &dockd.id().to_string()])
        .status();
    let _ = dockd.wait();
    assert_eq!(drained, count, "every wearable must be drained");
    Round {
        secs: elapsed.as_secs_f64(),
        dock_cpu,
        bench_cpu,
        rss,
        idle_cpu,
    }
}
