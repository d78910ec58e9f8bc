//! Tests of the upload driver in process, over a real store file, the real HTTPS receiver and a
//! manual clock: a week offline (the backlog within budget, the first attempt ≤ 10 s after the
//! receiver answers again, every key delivered once), and the disk budget exceeded (evictions in
//! the documented order, each recorded and itself uploaded).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use receivers::{Fault, HttpsReceiver};
use tokio_util::sync::CancellationToken;

use super::Driver;
use crate::clock::Clock;
use crate::store::outbox::tests as outbox;
use crate::store::outbox::{EVICTION_ORDER, USED_BYTES};
use crate::store::testing::Scratch;
use crate::upload::batch::Limits;
use crate::upload::{Item, Kind};
use crate::uploader::target::{Target, Timeouts};
use crate::uploader::tests::{TOKEN, https_config, receiver, temp_dir};

/// 2026-03-02T00:00:00Z.
const MONDAY_MS: i64 = 1_772_409_600_000;

/// A clock the test moves by hand.
struct ManualClock(AtomicI64);

impl ManualClock {
    fn advance(&self, by: Duration) {
        self.0
            .fetch_add(i64::try_from(by.as_millis()).unwrap(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The store, the receiver (answering 500 until told otherwise) and a driver on a manual clock.
struct Rig {
    store: Scratch,
    receiver: HttpsReceiver,
    clock: Arc<ManualClock>,
    driver: Driver,
    cancel: CancellationToken,
    /// Every key queued, by kind.
    queued: BTreeMap<String, Kind>,
}

impl Rig {
    async fn new(name: &str, budget_bytes: u64, limits: Limits) -> Rig {
        let dir = temp_dir(name);
        let receiver = receiver(&dir).await;
        receiver.push_fault(Fault::Fail { next: 100_000 });
        let store = outbox::configured(name, budget_bytes).await;
        let timeouts = Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(5),
        };
        let target =
            Target::with_timeouts(&https_config(&receiver, &dir, TOKEN, ""), timeouts).unwrap();
        let clock = Arc::new(ManualClock(AtomicI64::new(MONDAY_MS)));
        let driver = Driver::new(
            store.reader.clone(),
            store.writer.clone(),
            target,
            limits,
            clock.clone(),
        )
        .unwrap();
        Rig {
            store,
            receiver,
            clock,
            driver,
            cancel: CancellationToken::new(),
            queued: BTreeMap::new(),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Queues one item of `kind` under `key`, made now, of about `size` bytes.
    async fn queue(&mut self, items: &[(Kind, String, usize)]) {
        let now = self.now();
        let day = jiff::Timestamp::from_millisecond(now)
            .unwrap()
            .strftime("%Y-%m-%d")
            .to_string();
        let items: Vec<Item> = items
            .iter()
            .map(|(kind, key, size)| {
                self.queued.insert(key.clone(), *kind);
                Item {
                    day: day.clone(),
                    ..outbox::item(*kind, key, now, *size)
                }
            })
            .collect();
        outbox::queue(&self.store, items).await;
    }

    /// One driver step; answers the wait it asked for.
    async fn step(&mut self) -> Duration {
        self.driver.step(&self.cancel).await.unwrap()
    }

    /// Steps, moving the clock by each wait asked for, until `done` or `limit` steps.
    async fn step_until(&mut self, limit: usize, mut done: impl FnMut(&Rig) -> bool) -> bool {
        for _ in 0..limit {
            if done(self) {
                return true;
            }
            let wait = self.step().await;
            self.clock.advance(wait);
        }
        done(self)
    }

    fn queued_items(&self) -> u64 {
        self.store.reader.upload_status().unwrap().queued_items
    }

    /// What the disk budget counts: unbatched payloads and committed batch bodies.
    fn budget_used(&self) -> u64 {
        u64::try_from(self.store.number(USED_BYTES)).unwrap()
    }

    /// Every key the receiver holds (after de-duplication), with its kind.
    fn received(&self) -> BTreeMap<String, String> {
        self.receiver
            .items()
            .unwrap()
            .into_iter()
            .map(|item| (item.key, item.kind.unwrap_or_default()))
            .collect()
    }

    /// Raw deliveries and distinct batches at the receiver.
    fn deliveries(&self) -> (usize, usize) {
        let deliveries = self.receiver.deliveries().unwrap();
        let distinct: BTreeSet<String> = deliveries
            .iter()
            .map(|d| d.idempotency_key.clone())
            .collect();
        (deliveries.len(), distinct.len())
    }

    /// The receiver answers again just after an attempt failed (the backoff at its longest):
    /// steps until the next request reaches it; answers the injected time that took.
    async fn receiver_returns(&mut self) -> i64 {
        let failed = self.receiver.requests();
        assert!(
            self.step_until(1000, |rig| rig.receiver.requests() > failed)
                .await,
            "an attempt failed"
        );
        let returned_ms = self.now();
        let before = self.receiver.requests();
        self.receiver.push_fault(Fault::Clear);
        assert!(
            self.step_until(1000, |rig| rig.receiver.requests() > before)
                .await,
            "the driver tried again"
        );
        self.now() - returned_ms
    }

    /// Steps until the outbox is empty.
    async fn drain(&mut self) {
        assert!(
            self.step_until(10_000, |rig| rig.queued_items() == 0).await,
            "the backlog drained: {} items left",
            self.queued_items()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_offline_stays_within_budget_and_drains_every_key_once_within_seconds_of_the_receiver_answering()
 {
    const BUDGET: u64 = 16 * 1024 * 1024;
    let limits = Limits {
        max_items: 200,
        max_bytes: 256 * 1024,
        max_age_s: 300,
    };
    let mut rig = Rig::new("week-offline", BUDGET, limits).await;
    let wearables = 24;
    for day in 0..7 {
        for hour in 0..24 {
            let mut items = vec![(
                Kind::DockDiag,
                format!("dock_diag:plant-7:dock-1:{}", rig.now()),
                400,
            )];
            if (8..16).contains(&hour) {
                for w in 0..wearables {
                    items.push((
                        Kind::Alert,
                        format!("alert:plant-7:w{w}:{}", rig.now()),
                        300,
                    ));
                }
            }
            if hour == 16 {
                for w in 0..wearables {
                    items.push((
                        Kind::ShiftSummary,
                        format!("shift:plant-7:w{w}:{day}"),
                        1500,
                    ));
                }
            }
            rig.queue(&items).await;
            // Three looks an hour: every one is due and fails (500), retried with backoff.
            for _ in 0..3 {
                let _ = rig.step().await;
                rig.clock.advance(Duration::from_secs(20 * 60));
            }
            assert!(rig.budget_used() <= BUDGET, "the backlog within budget");
        }
    }
    let queued = rig.queued.len() as u64;
    assert_eq!(queued, 7 * (24 + 8 * wearables + wearables));
    assert_eq!(rig.queued_items(), queued, "nothing lost while offline");
    assert!(rig.receiver.requests() >= 7 * 24, "it kept trying all week");
    assert_eq!(rig.deliveries().0, 0);
    assert!(rig.store.reader.outbox_evictions().unwrap().is_empty());
    assert_eq!(rig.store.reader.upload_status().unwrap().dead_letters, 0);

    let first_attempt_after_ms = rig.receiver_returns().await;
    println!("first attempt {first_attempt_after_ms} ms after the receiver answered again");
    assert!(
        first_attempt_after_ms <= 10_000,
        "the first attempt came {first_attempt_after_ms} ms after the receiver answered again"
    );
    rig.drain().await;

    let received = rig.received();
    let want: BTreeMap<String, String> = rig
        .queued
        .iter()
        .map(|(key, kind)| (key.clone(), kind.name().to_owned()))
        .collect();
    assert_eq!(received.len(), want.len());
    assert!(
        received == want,
        "every key queued is received, nothing else"
    );
    let (deliveries, batches) = rig.deliveries();
    assert_eq!(deliveries, batches, "no batch delivered twice");
    assert_eq!(rig.store.number("SELECT count(*) FROM outbox_batch"), 0);
    let status = rig.store.reader.upload_status().unwrap();
    assert_eq!(status.last_error, None, "{status:?}");
    assert!(status.last_success_ms.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exceeded_budget_evicts_raw_samples_first_and_summaries_last_never_deletions_and_uploads_what_it_evicted()
 {
    const BUDGET: u64 = 60_000;
    let limits = Limits {
        max_items: 10,
        max_bytes: 64 * 1024,
        max_age_s: 300,
    };
    let mut rig = Rig::new("budget-exceeded", BUDGET, limits).await;
    // Offline: a first wave of every kind, 500 bytes each, within the budget.
    let kinds = [
        (Kind::WorkerDeleted, 5),
        (Kind::ShiftSummary, 10),
        (Kind::TeamAggregate, 5),
        (Kind::TaskAggregate, 5),
        (Kind::Alert, 10),
        (Kind::WearableDiag, 10),
        (Kind::DockDiag, 10),
        (Kind::DockGps, 10),
        (Kind::RawSamples, 20),
    ];
    let mut n = 0;
    for (kind, count) in kinds {
        let items: Vec<(Kind, String, usize)> = (0..count)
            .map(|i| (kind, format!("{}:{i}", kind.name()), 500))
            .collect();
        rig.queue(&items).await;
        n += count;
        let _ = rig.step().await;
        rig.clock.advance(Duration::from_secs(60));
        assert!(rig.budget_used() <= BUDGET, "within budget after {n} items");
    }
    assert!(rig.store.reader.outbox_evictions().unwrap().is_empty());
    // Waves of summaries push the budget through every other kind into the oldest summaries.
    for wave in 0..4 {
        let items: Vec<(Kind, String, usize)> = (0..20)
            .map(|i| {
                (
                    Kind::ShiftSummary,
                    format!("shift_summary:late{wave}:{i}"),
                    1000,
                )
            })
            .collect();
        rig.queue(&items).await;
        let _ = rig.step().await;
        rig.clock.advance(Duration::from_secs(60));
        assert!(
            rig.budget_used() <= BUDGET,
            "within budget after wave {wave}: {} bytes; {:?}",
            rig.budget_used(),
            rig.store.reader.outbox_evictions().unwrap()
        );
    }

    let evictions = rig.store.reader.outbox_evictions().unwrap();
    assert!(!evictions.is_empty());
    let order: Vec<Kind> = evictions.iter().map(|e| e.kind).collect();
    let rank = |kind: Kind| EVICTION_ORDER.iter().position(|k| *k == kind).unwrap();
    assert!(
        order.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
        "evicted in the documented order: {order:?}"
    );
    assert_eq!(order.first(), Some(&Kind::RawSamples), "{order:?}");
    assert_eq!(order.last(), Some(&Kind::ShiftSummary), "{order:?}");
    assert!(!order.contains(&Kind::WorkerDeleted));
    let evicted_items: u64 = evictions.iter().map(|e| e.items).sum();
    println!("evictions: {evictions:?}");

    let first_attempt_after_ms = rig.receiver_returns().await;
    assert!(first_attempt_after_ms <= 10_000);
    rig.drain().await;

    let received = rig.received();
    // Every deletion arrives; what was evicted does not; an `evicted` record per eviction does.
    for i in 0..5 {
        assert!(received.contains_key(&format!("worker_deleted:{i}")));
    }
    let records: Vec<serde_json::Value> = rig
        .receiver
        .items()
        .unwrap()
        .into_iter()
        .filter(|item| item.kind.as_deref() == Some("evicted"))
        .map(|item| item.json)
        .collect();
    assert_eq!(records.len(), evictions.len(), "{records:?}");
    for eviction in &evictions {
        assert!(
            records
                .iter()
                .any(|r| r["eviction_no"] == eviction.eviction_no
                    && r["evicted_kind"] == eviction.kind.name()
                    && r["items"] == eviction.items),
            "eviction {eviction:?} reached the receiver: {records:?}"
        );
    }
    let queued_not_evicted = rig.queued.len() as u64 - evicted_items;
    assert_eq!(
        received.len() as u64,
        queued_not_evicted + evictions.len() as u64,
        "what was not evicted arrived, plus the eviction records"
    );
    let (deliveries, batches) = rig.deliveries();
    assert_eq!(deliveries, batches);
}
