//! Serves the web UI over a fake, animated dock on 127.0.0.1:18080 for looking at the pages in
//! a browser while working on them. A development aid only: it must never be used by the daemon
//! or reach a real dock's data.
//!
//! `cargo run -p web-ui --example preview`

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::sync::watch;
use web_ui::{DockSnapshot, DockView, Progress, SlotState, SlotView, WorkerFigures};

const ADDR: &str = "127.0.0.1:18080";
const PULL_BYTES: u64 = 3_400_000;

struct PreviewDock {
    snapshot: Mutex<DockSnapshot>,
    changes: watch::Sender<u64>,
}

impl PreviewDock {
    /// Moves the pulling slot on by one step and tells the page.
    fn tick(&self) {
        {
            let mut snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
            snapshot.now_ms = now_ms();
            if let Some(slot) = snapshot.slots.first_mut()
                && let Some(progress) = slot.progress.as_mut()
            {
                progress.done_bytes = (progress.done_bytes + 45_000) % PULL_BYTES;
                slot.bytes_pulled = progress.done_bytes;
            }
        }
        self.changes.send_modify(|generation| *generation += 1);
    }
}

impl DockView for PreviewDock {
    fn snapshot(&self) -> DockSnapshot {
        self.snapshot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

fn slot(number: u32, serial: Option<&str>, state: SlotState, state_text: &str) -> SlotView {
    SlotView {
        slot: number,
        serial: serial.map(str::to_owned),
        worker: None,
        transport: "usb".to_owned(),
        state,
        state_text: state_text.to_owned(),
        advice: None,
        battery_soc: serial.map(|_| 64 + 5 * u8::try_from(number).unwrap_or(0)),
        charging: serial.is_some(),
        progress: None,
        segments_pulled: 0,
        segments_total: 0,
        bytes_pulled: 0,
        last_docked_ms: serial.map(|_| now_ms() - i64::from(number) * 7 * 60_000),
        quarantined: 0,
        segments_stored: if serial.is_some() { 96 } else { 0 },
        worker_figures: serial.map(|_| WorkerFigures {
            samples_stored: 8_640_000,
            alerts_stored: 41,
        }),
    }
}

fn snapshot() -> DockSnapshot {
    let mut pulling = slot(
        1,
        Some("KW-2024-00117"),
        SlotState::Pulling,
        "Pulling logs (3 of 12)",
    );
    pulling.progress = Some(Progress {
        done_bytes: 1_200_000,
        total_bytes: PULL_BYTES,
    });
    pulling.segments_pulled = 3;
    pulling.segments_total = 12;
    pulling.bytes_pulled = 1_200_000; // kept equal to the bar by `tick`

    let docked = slot(
        2,
        Some("KW-2024-00342"),
        SlotState::Docked,
        "Docked, connecting…",
    );

    let mut done = slot(3, Some("KW-2023-00981"), SlotState::Done, "Done, charging");
    done.segments_pulled = 11;
    done.segments_total = 12;
    done.bytes_pulled = 3_350_000;
    done.quarantined = 1;

    let mut error = slot(
        4,
        Some("KW-2024-00015"),
        SlotState::Error,
        "Needs attention",
    );
    error.advice = Some(
        "The wearable stopped answering. Take it out, wait five seconds and dock it again."
            .to_owned(),
    );
    error.segments_total = 9;
    error.segments_pulled = 2;
    error.bytes_pulled = 610_000;

    // A hostile serial: the page and the script must show it as text.
    let mut undocked = slot(
        5,
        Some("<img src=x onerror=alert(1)>"),
        SlotState::Undocked,
        "Taken out",
    );
    undocked.battery_soc = None;
    undocked.charging = false;

    let empty = slot(6, None, SlotState::Empty, "Empty");

    DockSnapshot {
        dock: "Warehouse 2 · Dock A".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        now_ms: now_ms(),
        slots: vec![pulling, docked, done, error, undocked, empty],
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let dock = Arc::new(PreviewDock {
        snapshot: Mutex::new(snapshot()),
        changes: watch::Sender::new(0),
    });
    let ticking = dock.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_millis(300));
        loop {
            ticks.tick().await;
            ticking.tick();
        }
    });
    let listener = tokio::net::TcpListener::bind(ADDR).await?;
    println!("Preview on http://{ADDR}/");
    axum::serve(listener, web_ui::router(dock)).await
}
