//! The updater's decisions against a real HTTPS release server: outside the window a newer
//! release waits, a running pull holds it back, inside the window it is installed and the daemon
//! asked to restart; a release that failed here before, or a version still on trial, installs
//! nothing.

use std::sync::atomic::{AtomicI64, Ordering};

use receivers::releases::{ReleaseKit, ReleaseServer};

use super::*;
use crate::store::testing::Scratch;

const DAY_MS: i64 = 24 * 3600 * 1000;

struct At(AtomicI64);

impl Clock for At {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Today at `hh:mm` UTC (the site's zone by default).
fn today_at(hh: i64, mm: i64) -> i64 {
    let now = crate::clock::SystemClock.now_ms();
    now - now.rem_euclid(DAY_MS) + (hh * 60 + mm) * 60_000
}

struct Rig {
    _server: ReleaseServer,
    store: Scratch,
    updater: Updater,
    clock: Arc<At>,
    busy: watch::Sender<bool>,
    slots: Slots,
    status: watch::Sender<UpdateStatus>,
}

async fn rig(name: &str) -> Rig {
    let store = Scratch::new(&format!("updater-{name}"));
    let dir = store.path().parent().unwrap().to_owned();
    std::fs::create_dir_all(dir.join("ca")).unwrap();
    let server = ReleaseServer::start(&dir.join("served"), &dir.join("ca"))
        .await
        .unwrap();
    ReleaseKit::new(b"#!/bin/sh\nexit 0\n", "0.9.1")
        .build(&dir.join("served"))
        .unwrap();
    let config: Config = toml::from_str(&format!(
        "[storage]\ndata_dir = {:?}\n[update]\nmanifest_url = \"{}\"\nca_file = {:?}\n",
        dir.join("data"),
        server.manifest_url(),
        server.ca.ca_pem_path
    ))
    .unwrap();
    let clock = Arc::new(At(AtomicI64::new(today_at(12, 0))));
    let (busy, busy_rx) = watch::channel(false);
    let updater = Updater {
        config: Arc::new(config.clone()),
        running: Arc::new(Running::new(false)),
        writer: store.writer.clone(),
        clock: Arc::clone(&clock) as Arc<dyn Clock>,
        site: crate::control::test_site(&store.reader),
        busy: busy_rx,
        shutdown: CancellationToken::new(),
    };
    let (status, _) = watch::channel(UpdateStatus::default());
    Rig {
        _server: server,
        slots: Slots::new(&config.storage.data_dir),
        store,
        updater,
        clock,
        busy,
        status,
    }
}

impl Rig {
    async fn scheduled(&self) -> Result<String, String> {
        self.updater
            .handle(
                Ask::InstallNow,
                "schedule",
                &self.slots,
                &self.status,
                false,
            )
            .await
    }

    fn installed(&self) -> Option<String> {
        self.slots.state().unwrap().trial.map(|t| t.version)
    }
}

#[tokio::test]
async fn outside_the_window_or_during_a_pull_a_newer_release_waits_and_inside_it_installs_and_restarts()
 {
    let rig = rig("window").await;
    let said = rig.scheduled().await.unwrap();
    assert!(
        said.contains("installs in the window 02:00-04:00"),
        "{said}"
    );
    assert_eq!(rig.installed(), None);
    assert_eq!(rig.status.borrow().offered.as_deref(), Some("0.9.1"));

    rig.clock.0.store(today_at(2, 30), Ordering::SeqCst);
    rig.busy.send_replace(true);
    let said = rig.scheduled().await.unwrap_err();
    assert!(said.contains("a wearable is being pulled"), "{said}");
    assert_eq!(rig.installed(), None);
    assert!(!rig.updater.running.restart_requested());

    rig.busy.send_replace(false);
    let said = rig.scheduled().await.unwrap();
    assert!(said.contains("0.9.1 installed"), "{said}");
    assert_eq!(rig.installed().as_deref(), Some("0.9.1"));
    assert!(rig.updater.running.restart_requested());
    assert!(rig.updater.shutdown.is_cancelled());
    let audited = || {
        rig.store
            .reader
            .audit_page(None, 50)
            .unwrap()
            .into_iter()
            .filter(|row| row.action == "update installed" && row.subject.starts_with("0.9.1:"))
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while audited() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let events: Vec<String> = rig.slots.events().into_iter().map(|e| e.action).collect();
    assert_eq!(audited(), 1, "events: {events:?}");
}

#[tokio::test]
async fn a_release_that_failed_here_before_or_a_version_on_trial_installs_nothing() {
    let failed = rig("refusals").await;
    failed.clock.0.store(today_at(2, 30), Ordering::SeqCst);
    let mut state = failed.slots.state().unwrap();
    state.failed.push("0.9.1".into());
    failed.slots.save(&state).unwrap();
    let said = failed.scheduled().await.unwrap_err();
    assert!(
        said.contains("failed its health check on this dock before"),
        "{said}"
    );
    assert_eq!(failed.installed(), None);

    let on_trial = rig("trial").await;
    let updater = Updater {
        running: Arc::new(Running::new(true)),
        ..on_trial.updater
    };
    let said = updater
        .handle(Ask::Check, "uid 0", &on_trial.slots, &on_trial.status, true)
        .await
        .unwrap_err();
    assert!(said.contains("still on trial"), "{said}");
}
