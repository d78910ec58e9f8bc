//! Emulated wearables against a real dock: dock over a transport until drained, and fleets of
//! wearables docking concurrently, optionally on a loop with fresh shifts (the demo, `dockd
//! emulate`). It owns when a wearable docks and undocks; it must never decide what the dock
//! does with the data, and never reach the dock other than through `transport::connect`.

use std::io;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::clock::{Clock, SystemClock};
use crate::transport::{LinkAddr, connect};
use crate::worker::WorkerTag;

use super::faults::Faults;
use super::rng::{Rng, derive_seed};
use super::serve::{ServeEnd, Undock, serve_docking};
use super::shift::{HOUR_MS, ShiftSpec};
use super::wearable::{Wearable, WearableSpec};

/// How long a drained wearable waits for more requests before it leaves the dock: long enough
/// for a final LIST, short enough that a demo loop keeps moving.
pub const UNDOCK_GRACE: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot reach the dock at {addr}: {source}")]
    Connect {
        addr: LinkAddr,
        #[source]
        source: io::Error,
    },
    #[error("link to the dock failed: {0}")]
    Link(#[from] io::Error),
}

/// Docks `wearable` at `addr` and serves the dock until it has taken everything it can (every
/// closed segment that is not corrupt erased) and then stayed quiet for [`UNDOCK_GRACE`], until
/// the dock closes the link, a fault unplugs the wearable, or `cancel` fires.
pub async fn dock_until_drained(
    wearable: &mut Wearable,
    addr: &LinkAddr,
    faults: &Faults,
    cancel: &CancellationToken,
) -> Result<ServeEnd, EmulatorError> {
    dock_for(wearable, addr, faults, UNDOCK_GRACE, cancel).await
}

/// Like [`dock_until_drained`], but the wearable stays in its slot `stay` after the dock went
/// quiet (charging, as at a real shift change) before it is taken out.
pub async fn dock_for(
    wearable: &mut Wearable,
    addr: &LinkAddr,
    faults: &Faults,
    stay: Duration,
    cancel: &CancellationToken,
) -> Result<ServeEnd, EmulatorError> {
    let stream = tokio::select! {
        stream = connect(addr) => stream.map_err(|source| EmulatorError::Connect { addr: addr.clone(), source })?,
        () = cancel.cancelled() => return Ok(ServeEnd::Cancelled),
    };
    info!(serial = wearable.serial(), %addr, "Emulated wearable docked.");
    let undock = Undock { cancel, stay };
    let end = serve_docking(wearable, stream, faults, Some(undock)).await?;
    info!(serial = wearable.serial(), end = ?end, "Emulated wearable undocked.");
    Ok(end)
}

/// A fleet of `count` wearables `KW-<first_serial>`, `KW-<first_serial + 1>`, … (six digits)
/// worn by badges `B-<1001 + i>`, seeded from `base_seed`, all starting with `shift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetSpec {
    pub count: usize,
    pub base_seed: u64,
    pub shift: ShiftSpec,
    pub first_serial: u32,
}

impl FleetSpec {
    /// The spec of wearable `index`, for tests that tweak one member before building the fleet.
    pub fn wearable_spec(&self, index: usize) -> WearableSpec {
        let seed = derive_seed(self.base_seed, index as u64);
        let mut rng = Rng::new(seed);
        let number = u64::from(self.first_serial) + index as u64;
        WearableSpec {
            worker: WorkerTag::from_ascii(&format!("B-{}", 1001 + index as u64)),
            battery_soc: rng.range(85, 100) as u8,
            ..WearableSpec::new(format!("KW-{number:06}"), seed, self.shift)
        }
    }
}

/// How a fleet plays against the dock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetPlan {
    /// Faults of every docking.
    pub faults: Faults,
    /// Re-dock loop: after undocking, wait this long, record a fresh shift of the same length
    /// ending now, dock again; until cancelled. `None` docks each wearable once.
    pub redock_after: Option<Duration>,
    /// Wearable `i` first docks `i × stagger` after the start, so the dock's slots fill one by one.
    pub stagger: Duration,
    /// How long a drained wearable stays in its slot before it is taken out (zero: [`UNDOCK_GRACE`]).
    pub stay: Duration,
    /// Which shift each re-docking brings.
    pub refill: Refill,
}

/// Which shift a wearable brings back at each re-docking of a [`FleetPlan`] loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Refill {
    /// A fresh shift of the same length ending at the re-docking (`dockd emulate`).
    #[default]
    EndingNow,
    /// The same hours on the day before the last one brought, back to `days` days before the
    /// first shift, so the dock fills a history one day per docking (the demo: trends, weeks);
    /// after that, fresh shifts ending at the re-docking that start no earlier than the latest
    /// one ended (a worker wears one wearable at a time).
    Backlog { days: u32 },
}

impl Refill {
    /// The shift worn before re-docking number `rounds` (1, 2, …) of a wearable whose first shift
    /// was `first` and whose latest shift ended at `latest_end_ms`, at wall time `now_ms`; `None`
    /// when there is no time to fill.
    fn next_shift(
        self,
        first: &ShiftSpec,
        rounds: u32,
        latest_end_ms: i64,
        now_ms: i64,
    ) -> Option<ShiftSpec> {
        let ending_now = now_ms.saturating_sub_unsigned(first.duration_ms);
        let start_wall_ms = match self {
            Refill::EndingNow => ending_now,
            Refill::Backlog { days } if rounds <= days => first
                .start_wall_ms
                .saturating_sub(i64::from(rounds).saturating_mul(DAY_MS)),
            Refill::Backlog { .. } => ending_now.max(latest_end_ms),
        };
        let duration_ms = u64::try_from(now_ms.saturating_sub(start_wall_ms))
            .unwrap_or(0)
            .min(first.duration_ms);
        (duration_ms > 0).then_some(ShiftSpec {
            start_wall_ms,
            duration_ms,
            ..*first
        })
    }
}

const DAY_MS: i64 = 24 * HOUR_MS as i64;

/// What one wearable did in a fleet run: the wearable itself (its truth and erased ids are what
/// a test holds the dock's database against), how often it docked, and how its last docking ended.
#[derive(Debug)]
pub struct WearableRun {
    pub wearable: Wearable,
    pub dockings: u32,
    pub last: Result<ServeEnd, EmulatorError>,
}

/// Several emulated wearables sharing one dock.
#[derive(Debug)]
pub struct Fleet {
    wearables: Vec<Wearable>,
}

impl Fleet {
    /// Records every member's first shift (slow for long shifts: call it off the runtime's hot path).
    pub fn new(spec: &FleetSpec) -> Self {
        Self::from_wearables(
            (0..spec.count)
                .map(|i| Wearable::new(spec.wearable_spec(i)))
                .collect(),
        )
    }

    pub fn from_wearables(wearables: Vec<Wearable>) -> Self {
        Self { wearables }
    }

    pub fn wearables(&self) -> &[Wearable] {
        &self.wearables
    }

    /// Plays every wearable concurrently against the dock at `addr` until each is done (one
    /// docking each, or cancellation in a re-dock loop); results in member order.
    pub async fn run(
        self,
        addr: &LinkAddr,
        plan: &FleetPlan,
        cancel: &CancellationToken,
    ) -> Vec<WearableRun> {
        let mut tasks = JoinSet::new();
        for (index, wearable) in self.wearables.into_iter().enumerate() {
            let (addr, plan, cancel) = (addr.clone(), plan.clone(), cancel.clone());
            let delay = plan
                .stagger
                .saturating_mul(u32::try_from(index).unwrap_or(u32::MAX));
            tasks.spawn(async move { (index, play(wearable, addr, plan, delay, cancel).await) });
        }
        let mut runs = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(run) => runs.push(run),
                Err(err) => error!(error = %err, "An emulated wearable's task failed."),
            }
        }
        runs.sort_by_key(|&(index, _)| index);
        runs.into_iter().map(|(_, run)| run).collect()
    }
}

/// One fleet member's life: dock, undock, (wait, work a shift, dock again)*.
async fn play(
    mut wearable: Wearable,
    addr: LinkAddr,
    plan: FleetPlan,
    delay: Duration,
    cancel: CancellationToken,
) -> WearableRun {
    let mut dockings = 0;
    let mut last = Ok(ServeEnd::Cancelled);
    let first = *wearable.shift();
    let mut latest_end_ms = first
        .start_wall_ms
        .saturating_add_unsigned(first.duration_ms);
    if !wait(delay, &cancel).await {
        return WearableRun {
            wearable,
            dockings,
            last,
        };
    }
    loop {
        let stay = if plan.stay.is_zero() {
            UNDOCK_GRACE
        } else {
            plan.stay
        };
        last = dock_for(&mut wearable, &addr, &plan.faults, stay, &cancel).await;
        let docked = !matches!(last, Err(EmulatorError::Connect { .. }));
        dockings += u32::from(docked);
        if let Err(err) = &last {
            warn!(serial = wearable.serial(), error = %err, "Emulated docking failed.");
        }
        let Some(pause) = plan.redock_after else {
            break;
        };
        if !wait(pause, &cancel).await {
            break;
        }
        let next = plan
            .refill
            .next_shift(&first, dockings, latest_end_ms, SystemClock.now_ms());
        if let (true, Some(next)) = (docked, next) {
            // Back from a shift: recording it is CPU-bound, so it runs off the async workers.
            let shift = ShiftSpec {
                rate_hz: u16::from(wearable.config().rate_hz),
                ..next
            };
            latest_end_ms = latest_end_ms.max(
                shift
                    .start_wall_ms
                    .saturating_add_unsigned(shift.duration_ms),
            );
            let job = wearable.begin_shift(shift);
            match tokio::task::spawn_blocking(move || job.record()).await {
                Ok(recorded) => wearable.finish_shift(recorded),
                Err(err) => {
                    error!(serial = wearable.serial(), error = %err, "Recording a shift failed.");
                    break;
                }
            }
        }
    }
    WearableRun {
        wearable,
        dockings,
        last,
    }
}

/// Sleeps for `duration`; false if cancelled first.
async fn wait(duration: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep(duration) => true,
        () = cancel.cancelled() => false,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use tokio::net::UnixListener;
    use tokio::sync::mpsc;

    use super::*;
    use crate::emulator::MINUTE_MS;
    use crate::emulator::testing::{ANSWER, Dock};

    /// A socket path of this test's own (tests run in parallel).
    fn socket(name: &str) -> (PathBuf, LinkAddr) {
        let path =
            std::env::temp_dir().join(format!("dockd-emulator-{}-{name}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        (path.clone(), LinkAddr::Unix(path))
    }

    /// A stand-in dock: pulls every wearable that docks, reports `(serial, erased ids)` per
    /// docking, and waits for the wearable to leave.
    fn fake_dock(path: &PathBuf) -> mpsc::UnboundedReceiver<(String, Vec<u32>)> {
        let listener = UnixListener::bind(path).unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut dock = Dock::new(stream);
                    let pulled = dock.pull_all().await;
                    assert!(
                        dock.frame().await.is_none(),
                        "a drained wearable undocks by itself"
                    );
                    let _ = tx.send(pulled);
                });
            }
        });
        rx
    }

    fn fleet_spec(count: usize) -> FleetSpec {
        FleetSpec {
            count,
            base_seed: 77,
            shift: ShiftSpec {
                segment_ms: 5 * MINUTE_MS,
                ..ShiftSpec::ending_at(SystemClock.now_ms(), 12 * MINUTE_MS)
            },
            first_serial: 1,
        }
    }

    #[tokio::test]
    async fn a_wearable_docks_until_the_dock_has_erased_everything_it_can_take() {
        let (path, addr) = socket("drain");
        let mut pulls = fake_dock(&path);
        let mut wearable = Wearable::new(WearableSpec {
            corrupt_segment: true,
            ..fleet_spec(1).wearable_spec(0)
        });
        let cancel = CancellationToken::new();
        let end = dock_until_drained(&mut wearable, &addr, &Faults::default(), &cancel).await;
        assert_eq!(end.unwrap(), ServeEnd::Drained);
        let (serial, erased) = pulls.recv().await.unwrap();
        assert_eq!(serial, "KW-000001");
        let takeable: Vec<u32> = wearable
            .truth()
            .segments
            .iter()
            .filter(|s| !s.corrupt)
            .map(|s| s.id)
            .collect();
        assert_eq!(
            (erased.as_slice(), wearable.erased_ids()),
            (takeable.as_slice(), takeable.as_slice())
        );
        assert_eq!(
            wearable.stored_segments().len(),
            1,
            "the corrupt segment stays on the wearable"
        );
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn docking_where_no_dock_listens_is_a_connect_error() {
        let (_, addr) = socket("nobody");
        let mut wearable = Wearable::new(fleet_spec(1).wearable_spec(0));
        let end = dock_until_drained(
            &mut wearable,
            &addr,
            &Faults::default(),
            &CancellationToken::new(),
        )
        .await;
        assert!(matches!(end, Err(EmulatorError::Connect { .. })));
    }

    #[tokio::test]
    async fn a_fleet_docks_every_member_once_and_returns_each_ones_truth() {
        let (path, addr) = socket("fleet");
        let _pulls = fake_dock(&path);
        let fleet = Fleet::new(&fleet_spec(3));
        let plan = FleetPlan {
            stagger: Duration::from_millis(20),
            ..FleetPlan::default()
        };
        let runs = fleet.run(&addr, &plan, &CancellationToken::new()).await;
        let serials: Vec<&str> = runs.iter().map(|run| run.wearable.serial()).collect();
        assert_eq!(serials, ["KW-000001", "KW-000002", "KW-000003"]);
        for run in &runs {
            assert_eq!(
                (run.dockings, run.last.as_ref().unwrap()),
                (1, &ServeEnd::Drained)
            );
            let ids: Vec<u32> = run.wearable.truth().segments.iter().map(|s| s.id).collect();
            assert_eq!(run.wearable.erased_ids(), ids);
        }
        assert_ne!(
            runs[0].wearable.truth(),
            runs[1].wearable.truth(),
            "members have their own seeds"
        );
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_backlog_brings_the_same_hours_a_day_earlier_then_fresh_shifts_that_never_overlap() {
        let now = SystemClock.now_ms();
        let first = ShiftSpec::ending_at(now, 2 * HOUR_MS);
        let backlog = Refill::Backlog { days: 2 };
        let end = |s: &ShiftSpec| s.start_wall_ms.saturating_add_unsigned(s.duration_ms);
        let latest = end(&first);
        for round in 1..=2 {
            let shift = backlog.next_shift(&first, round, latest, now).unwrap();
            assert_eq!(
                (shift.start_wall_ms, shift.duration_ms),
                (
                    first.start_wall_ms - i64::from(round) * DAY_MS,
                    first.duration_ms
                )
            );
        }
        // The backlog is done: the next shift starts where the latest ended, and ends now.
        let later = now + 30_000;
        let fresh = backlog.next_shift(&first, 3, latest, later).unwrap();
        assert_eq!((fresh.start_wall_ms, end(&fresh)), (latest, later));
        assert_eq!(backlog.next_shift(&first, 4, later, later), None);
        // `dockd emulate`: a whole shift ending at each re-docking.
        let again = Refill::EndingNow
            .next_shift(&first, 9, later, later)
            .unwrap();
        assert_eq!((end(&again), again.duration_ms), (later, first.duration_ms));
    }

    #[tokio::test]
    async fn a_redock_loop_brings_fresh_shifts_until_cancelled() {
        let (path, addr) = socket("redock");
        let mut pulls = fake_dock(&path);
        let fleet = Fleet::new(&fleet_spec(2));
        let plan = FleetPlan {
            redock_after: Some(Duration::from_millis(20)),
            ..FleetPlan::default()
        };
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let watcher = tokio::spawn(async move {
            for _ in 0..4 {
                tokio::time::timeout(ANSWER * 4, pulls.recv())
                    .await
                    .unwrap()
                    .unwrap();
            }
            stop.cancel();
        });
        let runs = fleet.run(&addr, &plan, &cancel).await;
        watcher.await.unwrap();
        for run in &runs {
            assert!(
                run.dockings >= 2,
                "{} docked {} times",
                run.wearable.serial(),
                run.dockings
            );
            let truth = run.wearable.truth();
            assert!(
                truth.segments.len() >= 2 * 3,
                "a fresh 12-minute shift per docking"
            );
            let first_of_second_shift = &truth.segments[3];
            assert!(first_of_second_shift.first_wall_ms > truth.segments[0].first_wall_ms);
        }
        let _ = std::fs::remove_file(path);
    }
}
