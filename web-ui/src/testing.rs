//! Test support shared by the modules' tests: a fake dock behind `DockView` and request helpers.
//! Compiled for tests only; it must never become part of the library.

use std::{
    pin::Pin,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Body,
    http::{Method, Request, Response},
};
use http_body_util::BodyExt;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::{DockSnapshot, DockView, Progress, SlotState, SlotView};

/// A dock whose snapshot the test edits; every edit bumps the change signal like the daemon does.
pub(crate) struct FakeDock {
    snapshot: Mutex<DockSnapshot>,
    changes: watch::Sender<u64>,
    stopping: watch::Sender<bool>,
}

impl FakeDock {
    /// A fake dock with four slots (pulling, done with a quarantined log, error, empty) and the
    /// router over it.
    pub(crate) fn router() -> (Arc<FakeDock>, Router) {
        let dock = Arc::new(FakeDock {
            snapshot: Mutex::new(snapshot()),
            changes: watch::Sender::new(0),
            stopping: watch::Sender::new(false),
        });
        (dock.clone(), crate::router(dock))
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut DockSnapshot)) {
        change(&mut self.snapshot.lock().unwrap());
        self.changes.send_modify(|generation| *generation += 1);
    }

    pub(crate) fn shut_down(&self) {
        self.stopping.send_replace(true);
    }
}

impl DockView for FakeDock {
    fn snapshot(&self) -> DockSnapshot {
        self.snapshot.lock().unwrap().clone()
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn shutting_down(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let mut stopping = self.stopping.subscribe();
        Box::pin(async move {
            let _ = stopping.wait_for(|&stopping| stopping).await;
        })
    }
}

pub(crate) fn snapshot() -> DockSnapshot {
    let mut pulling = slot(1, SlotState::Pulling);
    pulling.state_text = "Pulling logs".to_owned();
    pulling.progress = Some(Progress {
        done_bytes: 1_200_000,
        total_bytes: 3_400_000,
    });
    let mut done = slot(2, SlotState::Done);
    done.quarantined = 1;
    let mut error = slot(3, SlotState::Error);
    error.advice = Some("Take the wearable out and dock it again.".to_owned());
    let mut empty = slot(4, SlotState::Empty);
    empty.serial = None;
    DockSnapshot {
        dock: "Dock A".to_owned(),
        version: "0.1.0".to_owned(),
        now_ms: 1_709_211_909_750,
        slots: vec![pulling, done, error, empty],
    }
}

/// A slot in `state` holding wearable `KW-001nn`, with every number plausible and nothing odd.
pub(crate) fn slot(number: u32, state: SlotState) -> SlotView {
    SlotView {
        slot: number,
        serial: Some(format!("KW-001{number:02}")),
        transport: "usb".to_owned(),
        state,
        state_text: state.as_str().to_owned(),
        advice: None,
        battery_soc: Some(80),
        charging: true,
        progress: None,
        segments_pulled: 0,
        segments_total: 0,
        bytes_pulled: 0,
        last_docked_ms: Some(1_709_200_000_000),
        quarantined: 0,
        segments_stored: 10,
        samples_stored: 900_000,
        alerts_stored: 3,
    }
}

pub(crate) async fn request(router: Router, method: Method, path: &str) -> Response<Body> {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    router.oneshot(request).await.unwrap()
}

pub(crate) async fn get(router: Router, path: &str) -> Response<Body> {
    request(router, Method::GET, path).await
}

pub(crate) async fn body_text(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}
