//! Batched cloud upload under `kill -9`, end to end: the real `dockd` fills its outbox with its own
//! producers (roster workers' shifts pulled from emulated wearables, analysed, their summaries,
//! alerts and the wearables' diagnostics queued), then uploads it in many small batches to the real
//! HTTPS receiver while it is killed with SIGKILL at seeded random moments and started again. The
//! receiver must end up holding every key the dock queued exactly once, with at most one repeated
//! batch per kill, and every repeat byte for byte the same. It must never reach into the daemon's
//! memory: it reads the dock's database, `dockd status` and the receiver's own database.
//!
//! The default run makes 50 kills; `DOCKD_LONG_TESTS=1` makes 1000 (the long tier the README
//! names), with a backlog to match.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use dockd::emulator::{Faults, dock_until_drained};
use dockd::transport::LinkAddr;
use receivers::{Fault, HttpsReceiver, ReceiverConfig};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::spine::{Chaos, fleet, shift};
use crate::support::{Dock, TestDir, wait_for};

const TOKEN: &str = "crash-dock-token";

/// Kills, wearables (one roster worker each) and shift hours: the default tier (about 40 s, a
/// backlog of some 1200 items, mostly alerts, in batches of 3) and the long one
/// (`DOCKD_LONG_TESTS=1`: 1000 kills over a backlog four times as large, some 8 minutes).
fn tier() -> (u64, usize, u64) {
    if std::env::var_os("DOCKD_LONG_TESTS").is_some_and(|v| v == "1") {
        (1000, 4, 1)
    } else {
        (50, 1, 1)
    }
}

/// The (text, number) rows of `sql` on the dock's database.
fn text_and_number<C: FromIterator<(String, i64)>>(dock: &Dock, sql: &str) -> C {
    let db = dock.db();
    let mut statement = db.prepare(sql).unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The keys the dock queued (its `upload_revision` table) with the revision last queued.
fn queued_revisions(dock: &Dock) -> BTreeMap<String, i64> {
    text_and_number(dock, "SELECT key, revision FROM upload_revision")
}

/// Items still waiting in the dock's outbox (batched or not).
fn outbox_items(dock: &Dock) -> i64 {
    dock.count("SELECT count(*) FROM outbox_item")
}

#[test]
fn killing_dockd_at_random_moments_while_uploading_loses_nothing_and_repeats_at_most_one_batch_per_kill()
 {
    let (kills, workers, hours) = tier();
    let receiver_dir = TestDir::new("crash-receiver");
    let receiver =
        HttpsReceiver::start_blocking(ReceiverConfig::new(receiver_dir.join("r"), TOKEN)).unwrap();
    let token = receiver_dir.join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Down while the dock fills its outbox: every send fails and is retried later.
    receiver.push_fault(Fault::Fail { next: 100_000 });
    let mut dock = Dock::start_with_tables(
        "upload-crash",
        &format!(
            "[upload]\nurl = \"{}\"\nsite = \"plant-a\"\ntoken_file = {token:?}\nca_file = {:?}\nbatch_max_items = 3\nbatch_max_age_s = 1\n",
            receiver.url, receiver.ca.ca_pem_path
        ),
    );

    // Roster workers for the emulator's badges, so their shifts are uploaded.
    for i in 0..workers {
        let (status, added) = dock.api(
            "POST",
            "/api/v1/roster/workers",
            &json!({ "badge": format!("B-{}", 1001 + i), "display_name": format!("Worker {i}") }),
        );
        assert_eq!(status, 201, "{added}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr = LinkAddr::Unix(dock.socket.clone());
    runtime.block_on(async {
        let cancel = CancellationToken::new();
        let wearables = tokio::task::spawn_blocking(move || fleet(workers, 1414, shift(hours, 30)))
            .await
            .unwrap();
        for mut wearable in wearables {
            dock_until_drained(&mut wearable, &addr, &Faults::default(), &cancel)
                .await
                .unwrap();
        }
    });
    wait_for(
        "every worker's shift analysed and queued",
        Duration::from_secs(120),
        || {
            let reports = dock.count("SELECT count(*) FROM shift_report");
            let summaries =
                dock.count("SELECT count(*) FROM upload_revision WHERE key LIKE 'shift:%'");
            (reports >= workers as i64 && summaries >= workers as i64).then_some(())
        },
    );
    dock.stop();
    let backlog = outbox_items(&dock);
    println!(
        "{backlog} items in the outbox, {} requests refused while down",
        receiver.requests()
    );
    assert_eq!(
        backlog as usize,
        queued_revisions(&dock).len(),
        "nothing delivered yet"
    );
    let kinds: Vec<(String, i64)> = text_and_number(
        &dock,
        "SELECT kind, count(*) FROM outbox_item GROUP BY kind ORDER BY kind",
    );
    println!("by kind: {kinds:?}");

    // Back up, healthy but slow to answer: a batch is often stored before the dock hears so.
    receiver.push_fault(Fault::Clear);
    receiver.push_fault(Fault::Slow { ms: 30 });
    let seed = std::env::var("DOCKD_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(std::process::id()) * 7919);
    let mut chaos = Chaos::new(seed);
    let started = Instant::now();
    let mut kills_while_uploading = 0;
    for kill in 0..kills {
        dock.restart();
        let delay = chaos.below(400);
        std::thread::sleep(Duration::from_millis(delay));
        dock.kill_hard();
        let left = outbox_items(&dock);
        if left > 0 {
            kills_while_uploading += 1;
        }
        if kill % 10 == 0 {
            println!("kill {kill} after {delay} ms: {left} items left");
        }
    }
    println!(
        "{kills} kills in {:.1} s, {kills_while_uploading} with items still queued",
        started.elapsed().as_secs_f64()
    );

    dock.restart();
    let draining = Instant::now();
    // About 25 batches a second against the slowed receiver, with room to spare.
    let limit = Duration::from_secs(30 + outbox_items(&dock).unsigned_abs() / 25);
    wait_for("the outbox to drain", limit, || {
        let status = dock.status_json();
        (status["upload"]["queued_items"] == 0).then_some(())
    });
    println!("drained in {:.1} s", draining.elapsed().as_secs_f64());
    let status = dock.status_json();
    assert_eq!(status["upload"]["dead_letters"], 0, "{status}");
    assert_eq!(status["upload"]["last_error"], Value::Null, "{status}");
    assert!(status["upload"]["last_success_ms"].is_i64(), "{status}");
    assert_eq!(dock.count("SELECT count(*) FROM outbox_batch"), 0);
    dock.stop();
    // Each start queues the dock's diagnostics again: the keys queued while killed count too.
    let queued = queued_revisions(&dock);

    // Every key the dock queued is at the receiver once, at the revision queued last.
    let items = receiver.items().unwrap();
    let received: BTreeMap<String, Value> = items
        .into_iter()
        .map(|item| (item.key, item.json))
        .collect();
    let queued_keys: BTreeSet<&String> = queued.keys().collect();
    let received_keys: BTreeSet<&String> = received.keys().collect();
    assert_eq!(
        queued_keys.difference(&received_keys).count(),
        0,
        "lost: {:?}",
        queued_keys.difference(&received_keys).collect::<Vec<_>>()
    );
    assert_eq!(
        received_keys.difference(&queued_keys).count(),
        0,
        "never queued: {:?}",
        received_keys.difference(&queued_keys).collect::<Vec<_>>()
    );
    for (key, revision) in &queued {
        if key.starts_with("shift:") {
            assert_eq!(received[key]["revision"], *revision, "{key}");
        }
    }
    // Raw deliveries: at most one repeated batch per kill, each repeat identical.
    let deliveries = receiver.deliveries().unwrap();
    let mut bodies: HashMap<&str, (u64, &str)> = HashMap::new();
    for delivery in &deliveries {
        let first = bodies
            .entry(&delivery.idempotency_key)
            .or_insert((delivery.body_bytes, &delivery.body_sha256));
        assert_eq!(
            *first,
            (delivery.body_bytes, delivery.body_sha256.as_str()),
            "batch {} was sent again with other bytes",
            delivery.idempotency_key
        );
    }
    let repeats = deliveries.len() - bodies.len();
    println!(
        "{} deliveries of {} batches: {repeats} repeated after {kills} kills",
        deliveries.len(),
        bodies.len()
    );
    // The two SIGTERM stops add none: the receiver stored nothing while failing, and nothing was
    // in flight once drained.
    assert!(
        repeats as u64 <= kills,
        "{repeats} repeated batches after {kills} kills"
    );
    assert!(
        kills_while_uploading >= kills / 2,
        "the kills fell while uploading: only {kills_while_uploading} of {kills} did"
    );
    let log = dock.log();
    for i in 0..workers {
        assert!(
            !log.contains(&format!("B-{}", 1001 + i)),
            "no badge in the log"
        );
    }
}
