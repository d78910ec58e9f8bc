//! The spine, end to end: dock → pull → durable store → erase → visible; and every way a docking can
//! go wrong on the way (unplugs, bit flips, kill -9, corrupt segments, silent and failing wearables,
//! flat batteries).

use std::collections::HashMap;
use std::time::Duration;

use dockd::clock::{Clock, SystemClock};
use dockd::emulator::{
    BootSpec, Faults, FleetSpec, MINUTE_MS, ServeEnd, ShiftSpec, Wearable, WearableSpec,
    dock_until_drained,
};
use dockd::transport::LinkAddr;
use tokio_util::sync::CancellationToken;

use crate::support::Dock;

/// A small deterministic generator for fault positions; the seed is printed so a failure can be
/// replayed.
pub(crate) struct Chaos(u64);

impl Chaos {
    pub(crate) fn new(seed: u64) -> Self {
        println!("chaos seed {seed}");
        Self(seed)
    }

    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound.max(1)
    }
}

pub(crate) fn shift(hours: u64, segment_minutes: u64) -> ShiftSpec {
    ShiftSpec {
        segment_ms: segment_minutes * MINUTE_MS,
        ..ShiftSpec::ending_at(SystemClock.now_ms(), hours * 60 * MINUTE_MS)
    }
}

pub(crate) fn fleet(count: usize, seed: u64, shift: ShiftSpec) -> Vec<Wearable> {
    let spec = FleetSpec {
        count,
        base_seed: seed,
        shift,
        first_serial: 1,
    };
    (0..count)
        .map(|i| Wearable::new(spec.wearable_spec(i)))
        .collect()
}

/// Docks a wearable again and again (faults only on the first docking) until the dock has taken
/// everything it can; waits out a dock that is down.
async fn drain(
    wearable: &mut Wearable,
    addr: &LinkAddr,
    first: Faults,
    cancel: &CancellationToken,
) {
    let mut faults = first;
    while !wearable.drained() && !cancel.is_cancelled() {
        match dock_until_drained(wearable, addr, &faults, cancel).await {
            Ok(_) => faults = Faults::default(),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Drains every wearable concurrently, each in its own task.
fn drain_each(
    wearables: Vec<Wearable>,
    addr: &LinkAddr,
    cancel: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<Wearable>> {
    wearables
        .into_iter()
        .map(|mut wearable| {
            let (addr, cancel) = (addr.clone(), cancel.clone());
            tokio::spawn(async move {
                drain(&mut wearable, &addr, Faults::default(), &cancel).await;
                wearable
            })
        })
        .collect()
}

/// Waits for every draining task, failing the test if one takes longer than two minutes.
async fn drained(tasks: Vec<tokio::task::JoinHandle<Wearable>>) -> Vec<Wearable> {
    let mut done = Vec::new();
    for task in tasks {
        done.push(
            tokio::time::timeout(Duration::from_secs(120), task)
                .await
                .expect("drained in time")
                .unwrap(),
        );
    }
    done
}

/// What the database holds for one serial: segment ids → (samples, alerts).
fn stored(dock: &Dock, serial: &str) -> HashMap<u32, (u64, u64)> {
    let db = dock.db();
    let mut query = db
        .prepare(
            "SELECT s.segment_no, s.samples, s.alerts FROM segment s JOIN wearable w ON w.id = s.wearable_id
             WHERE w.serial = ?1",
        )
        .unwrap();
    let rows = query
        .query_map([serial], |r| {
            Ok((
                r.get::<_, u32>(0)?,
                (r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64),
            ))
        })
        .unwrap();
    let mut map = HashMap::new();
    for row in rows {
        let (id, counts) = row.unwrap();
        assert!(
            map.insert(id, counts).is_none(),
            "segment {id} of {serial} stored twice"
        );
    }
    map
}

/// Every segment the wearable erased is in the database with exactly the truth's counts, nothing
/// else is, and the sample blocks add up to the same samples (nothing stored twice inside either).
pub(crate) fn assert_matches_truth(dock: &Dock, wearable: &Wearable) {
    let serial = wearable.serial();
    let stored = stored(dock, serial);
    let truth = wearable.truth();
    let good: Vec<_> = truth.segments.iter().filter(|s| !s.corrupt).collect();
    assert_eq!(
        stored.len(),
        good.len(),
        "{serial}: segments stored vs generated"
    );
    for segment in &good {
        assert!(
            wearable.erased_ids().contains(&segment.id),
            "{serial}: segment {} not erased",
            segment.id
        );
        let counts = stored
            .get(&segment.id)
            .unwrap_or_else(|| panic!("{serial}: segment {} missing", segment.id));
        assert_eq!(
            *counts,
            (segment.samples, segment.alerts),
            "{serial}: segment {} counts",
            segment.id
        );
    }
    let block_samples: i64 = dock.db().query_row(
        "SELECT coalesce(sum(b.count), 0) FROM sample_block b JOIN segment s ON s.id = b.segment_id
         JOIN wearable w ON w.id = s.wearable_id WHERE w.serial = ?1",
        [serial],
        |r| r.get(0),
    ).unwrap();
    let alert_rows: i64 = dock
        .db()
        .query_row(
            "SELECT count(*) FROM alert a JOIN segment s ON s.id = a.segment_id
         JOIN wearable w ON w.id = s.wearable_id WHERE w.serial = ?1",
            [serial],
            |r| r.get(0),
        )
        .unwrap();
    let want_samples: u64 = good.iter().map(|s| s.samples).sum();
    let want_alerts: u64 = good.iter().map(|s| s.alerts).sum();
    assert_eq!(
        block_samples as u64, want_samples,
        "{serial}: samples in blocks"
    );
    assert_eq!(alert_rows as u64, want_alerts, "{serial}: alert rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_wearables_docked_at_once_are_pulled_stored_and_erased_completely() {
    let dock = Dock::start("eight");
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let wearables = tokio::task::spawn_blocking(|| fleet(8, 801, shift(2, 30)))
        .await
        .unwrap();
    let tasks = drain_each(wearables, &addr, &cancel);
    let done = drained(tasks).await;
    for wearable in &done {
        assert!(
            wearable.stored_segments().is_empty(),
            "{} still holds segments",
            wearable.serial()
        );
        assert_matches_truth(&dock, wearable);
    }

    let status = dock.status_json();
    let listed = status["wearables"].as_array().unwrap();
    assert_eq!(listed.len(), 8);
    for wearable in &done {
        let entry = listed
            .iter()
            .find(|w| w["serial"] == wearable.serial())
            .unwrap();
        assert_eq!(entry["samples_stored"], wearable.truth().samples);
        assert_eq!(entry["alerts_stored"], wearable.truth().alerts);
        assert_eq!(
            entry["segments_stored"],
            wearable.truth().segments.len() as u64
        );
        assert_eq!(entry["quarantined"], 0);
        assert!(entry["last_docked_ms"].as_i64().unwrap() > 0);
    }
    let page = dock.get("/");
    for wearable in &done {
        assert!(
            page.contains(wearable.serial()),
            "status page lacks {}",
            wearable.serial()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplugging_at_twenty_random_offsets_during_read_loses_nothing_and_stores_nothing_twice() {
    let dock = Dock::start("unplug");
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let mut wearable = tokio::task::spawn_blocking(|| fleet(1, 77, shift(2, 15)).remove(0))
        .await
        .unwrap();
    let mut chaos = Chaos::new(0x5eed_0001);
    for _ in 0..20 {
        if wearable.drained() {
            break;
        }
        // Past HELLO and LIST (a few hundred bytes), inside some segment's READs.
        let offset = 300 + chaos.below(400_000);
        let faults = Faults {
            unplug_after_bytes: Some(offset),
            ..Faults::default()
        };
        let end = dock_until_drained(&mut wearable, &addr, &faults, &cancel)
            .await
            .unwrap();
        assert!(
            matches!(end, ServeEnd::Unplugged | ServeEnd::Drained),
            "{end:?}"
        );
    }
    tokio::time::timeout(
        Duration::from_secs(60),
        drain(&mut wearable, &addr, Faults::default(), &cancel),
    )
    .await
    .expect("drained after re-docking");
    assert_matches_truth(&dock, &wearable);
    // One wearable docked twenty times reuses its slot: ended dockings free their slots, even
    // after an error. Two can show when a re-dock lands before the dock noticed the last unplug.
    let status: serde_json::Value =
        serde_json::from_str(body(&dock.get("/api/v1/status"))).unwrap();
    assert!(status["slots"].as_array().unwrap().len() <= 2, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bit_flips_in_one_frame_of_fifty_are_retried_and_nothing_corrupt_is_stored() {
    let dock = Dock::start("flips");
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    // 6 h in 15-minute segments: ~120 frames a wearable, so every docking meets two or more flips.
    let mut wearables = tokio::task::spawn_blocking(|| fleet(2, 50, shift(6, 15)))
        .await
        .unwrap();
    for wearable in &mut wearables {
        let faults = Faults {
            flip_bit_every: Some(50),
            ..Faults::default()
        };
        let end = tokio::time::timeout(
            Duration::from_secs(90),
            dock_until_drained(wearable, &addr, &faults, &cancel),
        )
        .await
        .expect("drained in time")
        .unwrap();
        assert_eq!(end, ServeEnd::Drained, "one docking with retries is enough");
        assert_matches_truth(&dock, wearable);
    }
    assert_eq!(dock.count("SELECT count(*) FROM quarantine"), 0);
    let retries = dock.log().matches("retrying the request").count();
    assert!(
        retries >= 4,
        "the dock should have retried each corrupted frame, saw {retries}:\n{}",
        dock.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_twenty_random_moments_loses_no_erased_segment_and_stores_none_twice() {
    let mut dock = Dock::start("kill9");
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let wearables = tokio::task::spawn_blocking(|| fleet(3, 9, shift(2, 10)))
        .await
        .unwrap();
    let tasks = drain_each(wearables, &addr, &cancel);
    let mut chaos = Chaos::new(0x5eed_0009);
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(20 + chaos.below(250))).await;
        dock.kill_hard();
        dock.restart();
    }
    let done = drained(tasks).await;
    for wearable in &done {
        assert_matches_truth(&dock, wearable);
    }
    assert!(
        dock.log().matches("Store open.").count() >= 21,
        "dockd restarted after every kill"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_segment_is_quarantined_and_stays_on_the_wearable() {
    let dock = Dock::start("corrupt");
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let spec = WearableSpec {
        corrupt_segment: true,
        ..WearableSpec::new("KW-BAD001", 3, shift(1, 30))
    };
    let mut wearable = tokio::task::spawn_blocking(move || Wearable::new(spec))
        .await
        .unwrap();
    let corrupt = wearable
        .truth()
        .segments
        .iter()
        .find(|s| s.corrupt)
        .expect("a corrupt segment")
        .id;
    let end = tokio::time::timeout(
        Duration::from_secs(60),
        dock_until_drained(&mut wearable, &addr, &Faults::default(), &cancel),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(end, ServeEnd::Drained);
    assert!(
        wearable.stored_segments().iter().any(|s| s.id == corrupt),
        "the corrupt segment stays on the wearable"
    );
    assert!(!wearable.erased_ids().contains(&corrupt));
    assert_matches_truth(&dock, &wearable);
    let (reason, kept): (String, Vec<u8>) = dock
        .db()
        .query_row(
            "SELECT reason, bytes FROM quarantine WHERE segment_no = ?1",
            [corrupt],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(!reason.is_empty());
    assert_eq!(
        kept.len() as u32,
        wearable.truth().segment(corrupt).unwrap().size
    );
    let status = dock.status_json();
    assert_eq!(status["wearables"][0]["quarantined"], 1);

    // Docking again neither erases it nor quarantines it twice.
    dock_until_drained(&mut wearable, &addr, &Faults::default(), &cancel)
        .await
        .unwrap();
    assert!(wearable.stored_segments().iter().any(|s| s.id == corrupt));
    assert_eq!(dock.count("SELECT count(*) FROM quarantine"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wearable_that_never_answers_is_given_up_without_holding_up_the_others() {
    let dock = Dock::start("silent");
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let mut wearables = tokio::task::spawn_blocking(|| fleet(4, 4, shift(1, 30)))
        .await
        .unwrap();
    let mut silent = wearables.remove(0);
    let silent_task = {
        let (addr, cancel) = (addr.clone(), cancel.clone());
        tokio::spawn(async move {
            let faults = Faults {
                silent: true,
                ..Faults::default()
            };
            let end = dock_until_drained(&mut silent, &addr, &faults, &cancel).await;
            (silent, end)
        })
    };
    let others = drain_each(wearables, &addr, &cancel);
    for task in others {
        let wearable = tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .unwrap()
            .unwrap();
        assert_matches_truth(&dock, &wearable);
        // The others finished while the silent one was still waiting for the dock to give up.
        if silent_task.is_finished() {
            let status: serde_json::Value =
                serde_json::from_str(body(&dock.get("/api/v1/status"))).unwrap();
            panic!("the silent wearable was given up before the others were done: {status}");
        }
    }
    let (silent, end) = tokio::time::timeout(Duration::from_secs(30), silent_task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        end.unwrap(),
        ServeEnd::DockClosed,
        "the dock hangs up after its retries"
    );
    assert_eq!(silent.erased_ids().len(), 0);
    let status: serde_json::Value =
        serde_json::from_str(body(&dock.get("/api/v1/status"))).unwrap();
    let tile = status["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["serial"].is_null())
        .expect("the silent wearable's slot");
    assert_eq!(tile["state"], "error");
    assert!(
        tile["advice"]
            .as_str()
            .unwrap()
            .contains("stopped answering"),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wearable_answering_error_keeps_its_data_and_its_slot_says_what_to_do() {
    let dock = Dock::start("error");
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let mut wearable = tokio::task::spawn_blocking(|| fleet(1, 6, shift(1, 30)).remove(0))
        .await
        .unwrap();
    let faults = Faults {
        answer_error: Some(6),
        ..Faults::default()
    };
    let end = tokio::time::timeout(
        Duration::from_secs(30),
        dock_until_drained(&mut wearable, &addr, &faults, &cancel),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(end, ServeEnd::DockClosed);
    assert!(wearable.erased_ids().is_empty());
    let status: serde_json::Value =
        serde_json::from_str(body(&dock.get("/api/v1/status"))).unwrap();
    let slots = status["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 1, "{status}");
    assert_eq!(slots[0]["state"], "error");
    assert!(
        slots[0]["advice"].as_str().unwrap().contains("stays on it"),
        "{status}"
    );
    // Once the wearable behaves, the next docking takes everything.
    drain(&mut wearable, &addr, Faults::default(), &cancel).await;
    assert_matches_truth(&dock, &wearable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flat_battery_segments_of_the_current_boot_get_wall_times_and_older_ones_count_as_unknown()
{
    let dock = Dock::start("flat");
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let shift = shift(2, 30);
    let spec = WearableSpec {
        boot: BootSpec::FlatBattery {
            boot_wall_ms: shift.start_wall_ms - 5 * MINUTE_MS as i64,
            earlier_boot_segments: 2,
        },
        ..WearableSpec::new("KW-FLAT01", 12, shift)
    };
    let mut wearable = tokio::task::spawn_blocking(move || Wearable::new(spec))
        .await
        .unwrap();
    // The first docking is cut short after SET_TIME made the clock valid: the next docking's INFO
    // can no longer place the current boot's segments, so the dock must remember the boot's start.
    let cut = Faults {
        unplug_after_bytes: Some(500_000),
        ..Faults::default()
    };
    drain(&mut wearable, &addr, cut, &cancel).await;
    assert_matches_truth(&dock, &wearable);
    assert!(
        dock.count("SELECT count(*) FROM docking") >= 2,
        "the first docking was cut short"
    );

    let db = dock.db();
    let mut known = 0;
    let mut unknown = 0;
    for segment in &wearable.truth().segments {
        let (first_wall, samples, unknown_samples): (Option<i64>, i64, i64) = db
            .query_row(
                "SELECT first_wall_ms, samples, unknown_time_samples FROM segment WHERE segment_no = ?1",
                [segment.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        if segment.known_time {
            known += 1;
            let want = segment.first_wall_ms.unwrap();
            let got = first_wall.expect("a current-boot segment gets a wall time");
            assert!(
                (got - want).abs() < 2_000,
                "segment {}: placed at {got}, truly {want}",
                segment.id
            );
            assert_eq!(unknown_samples, 0);
        } else {
            unknown += 1;
            assert_eq!(
                first_wall, None,
                "segment {} of an earlier boot must not be placed",
                segment.id
            );
            assert_eq!(unknown_samples, samples);
        }
    }
    assert!(
        known >= 4 && unknown == 2,
        "known {known}, unknown {unknown}"
    );
}

/// Every sample of every segment the wearable holds, read over the link before docking: what the
/// dock must end up storing, value for value.
fn samples_on_wearable(wearable: &Wearable) -> HashMap<u32, Vec<[i16; 4]>> {
    use dockd::link::{MAX_READ, Record, Request, Response, parse_segment};
    let mut probe = wearable.clone();
    let mut all = HashMap::new();
    for entry in wearable.stored_segments() {
        let mut bytes = Vec::new();
        while let Response::Data { bytes: chunk, .. } = probe.handle(
            Ok(Request::Read {
                id: entry.id,
                offset: bytes.len() as u32,
                max_len: MAX_READ,
            }),
            SystemClock.now_ms(),
        ) {
            if chunk.is_empty() {
                break;
            }
            bytes.extend_from_slice(&chunk);
        }
        let segment = parse_segment(&bytes).unwrap();
        let samples = segment
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Samples { samples, .. } => {
                    Some(samples.iter().map(|s| [s.flex, s.lat, s.twist, s.height]))
                }
                _ => None,
            })
            .flatten()
            .collect();
        all.insert(entry.id, samples);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_samples_decode_to_exactly_what_the_wearable_sent_before_and_after_compaction() {
    use dockd::store::samples::{CODEC_PLANES, CODEC_PLANES_ZSTD, decode};
    let dock = Dock::start("exact");
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let mut wearable = tokio::task::spawn_blocking(|| fleet(1, 31, shift(1, 20)).remove(0))
        .await
        .unwrap();
    let sent = samples_on_wearable(&wearable);
    drain(&mut wearable, &addr, Faults::default(), &cancel).await;

    let stored = |codec: u8| -> HashMap<u32, Vec<[i16; 4]>> {
        let db = dock.db();
        let mut query = db
            .prepare(
                "SELECT s.segment_no, b.codec, b.count, b.data FROM sample_block b JOIN segment s ON s.id = b.segment_id
                 ORDER BY s.segment_no, b.t_ms",
            )
            .unwrap();
        let mut all: HashMap<u32, Vec<[i16; 4]>> = HashMap::new();
        let rows = query
            .query_map([], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, u8>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .unwrap();
        for row in rows {
            let (segment, block_codec, count, data) = row.unwrap();
            assert_eq!(block_codec, codec, "every block in codec {codec}");
            all.entry(segment)
                .or_default()
                .extend(decode(block_codec, &data, count as usize).unwrap());
        }
        all
    };
    // Right after the pull the blocks are uncompressed (compaction waits for a quiet dock)…
    assert_eq!(stored(CODEC_PLANES), sent);
    // …then compaction compresses every one of them without changing a value.
    crate::support::wait_for(
        "compaction to compress every block",
        Duration::from_secs(60),
        || (dock.count("SELECT count(*) FROM sample_block WHERE codec = 0") == 0).then_some(()),
    );
    assert_eq!(stored(CODEC_PLANES_ZSTD), sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_sending_garbage_is_hung_up_on_and_the_dock_keeps_working() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dock = Dock::start("garbage");
    let mut noise = tokio::net::UnixStream::connect(&dock.socket).await.unwrap();
    let mut chaos = Chaos::new(0x5eed_0666);
    let junk: Vec<u8> = (0..200_000).map(|_| chaos.below(256) as u8).collect();
    // The dock asks HELLO, gets noise, retries 4 times, then hangs up.
    let (mut rx, mut tx) = noise.split();
    let writer = async {
        for chunk in junk.chunks(4096) {
            if tx.write_all(chunk).await.is_err() {
                break;
            }
        }
    };
    let reader = async {
        let mut sink = vec![0; 65536];
        while rx.read(&mut sink).await.is_ok_and(|n| n > 0) {}
    };
    tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(writer, reader)
    })
    .await
    .expect("the dock hangs up on a connection that only sends noise");

    let addr = LinkAddr::Unix(dock.socket.clone());
    let mut wearable = tokio::task::spawn_blocking(|| fleet(1, 66, shift(1, 30)).remove(0))
        .await
        .unwrap();
    drain(
        &mut wearable,
        &addr,
        Faults::default(),
        &CancellationToken::new(),
    )
    .await;
    assert_matches_truth(&dock, &wearable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_link_whose_replies_take_longer_than_the_retry_timer_still_delivers_everything() {
    let dock = Dock::start("slow");
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    // 20 minutes in 10-minute segments (~120 kB each) over a 20 kB/s link: a full 64 kB DATA
    // reply takes ~3.2 s, longer than the 2 s a silent request gets before it is retried.
    let mut wearable = tokio::task::spawn_blocking(|| {
        let shift = ShiftSpec {
            segment_ms: 10 * MINUTE_MS,
            ..ShiftSpec::ending_at(SystemClock.now_ms(), 20 * MINUTE_MS)
        };
        fleet(1, 20, shift).remove(0)
    })
    .await
    .unwrap();
    let faults = Faults {
        bytes_per_sec: Some(20_000),
        ..Faults::default()
    };
    let end = tokio::time::timeout(
        Duration::from_secs(90),
        dock_until_drained(&mut wearable, &addr, &faults, &cancel),
    )
    .await
    .expect("drained in time")
    .unwrap();
    assert_eq!(end, ServeEnd::Drained, "one slow docking is enough");
    assert_matches_truth(&dock, &wearable);
}

/// The body of a raw HTTP response.
pub(crate) fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

/// SIGTERM, timed: the daemon must exit 0 within 10 s, and leave a database that checks ok.
fn sigterm_within_ten_seconds(dock: &mut Dock, during: &str) {
    let started = std::time::Instant::now();
    let status = tokio::task::block_in_place(|| dock.stop());
    let took = started.elapsed();
    assert!(
        status.success(),
        "{during}: exit status {status}; log:\n{}",
        dock.log()
    );
    assert!(
        took < Duration::from_secs(10),
        "{during}: took {took:?} to stop; log:\n{}",
        dock.log()
    );
    println!("SIGTERM {during}: stopped in {took:?}");
    let check: String = dock
        .db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{during}");
}

/// Every segment the wearable erased is stored (once): a SIGTERM lost nothing it handed over.
fn assert_erased_are_stored(dock: &Dock, wearable: &Wearable) {
    let stored = stored(dock, wearable.serial());
    for &id in wearable.erased_ids() {
        assert!(
            stored.contains_key(&id),
            "{}: segment {id} erased but not stored",
            wearable.serial()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_ingest_analysis_and_a_busy_page_stops_within_ten_seconds_losing_nothing() {
    use std::io::{Read as _, Write as _};
    let mut dock = Dock::start("sigterm");
    let addr = LinkAddr::Unix(dock.socket.clone());

    // During ingest: four wearables mid-pull.
    let wearables = tokio::task::spawn_blocking(|| fleet(4, 4242, shift(4, 10)))
        .await
        .unwrap();
    let cancel = CancellationToken::new();
    let pulling = drain_each(wearables, &addr, &cancel);
    tokio::task::block_in_place(|| {
        crate::support::wait_for("the first stored segments", Duration::from_secs(60), || {
            (dock.count("SELECT count(*) FROM segment") >= 2).then_some(())
        })
    });
    sigterm_within_ten_seconds(&mut dock, "during ingest");
    assert!(dock.log().contains("Stopped."));
    assert!(
        !dock.socket.exists(),
        "the emulator socket is removed at shutdown"
    );
    cancel.cancel();
    let mut wearables = drained(pulling).await;
    for wearable in &wearables {
        assert_erased_are_stored(&dock, wearable);
    }
    // Docked again, each gives up the rest: together exactly what it generated.
    tokio::task::block_in_place(|| dock.restart());
    let cancel = CancellationToken::new();
    for wearable in &mut wearables {
        drain(wearable, &addr, Faults::default(), &cancel).await;
        assert_matches_truth(&dock, wearable);
    }

    // During analysis: once the shifts are analysed, other settings make the analyst re-analyse
    // everything stored.
    tokio::task::block_in_place(|| {
        crate::support::wait_for("the first analysis", Duration::from_secs(60), || {
            dock.log().contains("Analysed new data.").then_some(())
        });
        dock.stop()
    });
    let mut config = std::fs::read_to_string(&dock.config).unwrap();
    config.push_str("[analysis]\nmax_gap_s = 900\n");
    std::fs::write(&dock.config, config).unwrap();
    tokio::task::block_in_place(|| {
        dock.restart();
        crate::support::wait_for("the re-analysis", Duration::from_secs(60), || {
            dock.log()
                .contains("re-analysing stored data in the background")
                .then_some(())
        });
    });
    sigterm_within_ten_seconds(&mut dock, "during analysis");

    // During a busy page: sixteen clients reading the page and its JSON, and one that never
    // finishes its request.
    tokio::task::block_in_place(|| dock.restart());
    let cookie = dock.sign_in(crate::support::TEST_USER, crate::support::TEST_PASSWORD);
    let mut slow = std::net::TcpStream::connect(dock.web).unwrap();
    write!(
        slow,
        "GET /api/v1/status HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n",
        dock.web
    )
    .unwrap();
    let stop_clients = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clients: Vec<_> = (0..16)
        .map(|i| {
            let (web, cookie) = (dock.web, cookie.clone());
            let (stop, served) = (stop_clients.clone(), served.clone());
            std::thread::spawn(move || {
                let path = if i % 2 == 0 { "/" } else { "/api/v1/status" };
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let Ok(mut stream) = std::net::TcpStream::connect(web) else {
                        continue;
                    };
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let _ = write!(
                        stream,
                        "GET {path} HTTP/1.1\r\nHost: {web}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
                    );
                    let mut answer = Vec::new();
                    if stream.read_to_end(&mut answer).is_ok() && answer.starts_with(b"HTTP/1.1 200") {
                        served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    tokio::task::block_in_place(|| {
        crate::support::wait_for("a busy page", Duration::from_secs(30), || {
            (served.load(std::sync::atomic::Ordering::SeqCst) >= 50).then_some(())
        })
    });
    sigterm_within_ten_seconds(&mut dock, "during a busy page");
    stop_clients.store(true, std::sync::atomic::Ordering::SeqCst);
    for client in clients {
        client.join().unwrap();
    }
    drop(slow);
    // Nothing a wearable handed over went missing in any of the three.
    for wearable in &wearables {
        assert_matches_truth(&dock, wearable);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_file_dockd_writes_is_private_to_it_and_a_loose_data_folder_is_repaired_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let mut dock = Dock::start("private");
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let wearables = tokio::task::spawn_blocking(|| fleet(1, 901, shift(1, 30)))
        .await
        .unwrap();
    let done = drained(drain_each(wearables, &addr, &cancel)).await;
    assert!(dock.get("/").contains(done[0].serial()));
    let written = ["dockd.db", "dockd.db-wal", "dockd.db-shm", "pseudonym.key"];
    dock.assert_data_folder_private(&written);
    assert!(dock.stop().success(), "a clean stop; log:\n{}", dock.log());
    dock.assert_data_folder_private(&["dockd.db", "pseudonym.key"]);

    // Left open to everyone (an old dockd, a careless copy): the next start takes it back.
    let data = dock.database().with_file_name("");
    for (name, _) in dock.data_folder_modes() {
        let path = data.join(&name);
        let loose = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
    }
    dock.restart();
    dock.assert_data_folder_private(&["dockd.db", "pseudonym.key"]);
    assert!(
        dock.log()
            .contains("was open to other local users; made it private to dockd"),
        "the repair is logged in words:\n{}",
        dock.log()
    );
}
