//! Privacy benchmark: a worker's export and a worker's deletion on a dock holding a year.
//!
//! The fixture is written straight into a fresh, encrypted database (the schema from
//! `dockd::store::open_for_writing`, rows by prepared SQL in one transaction — a bench fixture,
//! not the daemon's path): WORKERS workers (default 50), one wearable each, a shift report and
//! ALERTS alerts (default 30) for every weekday of DAYS (default 365), and 25 Hz posture samples
//! for 8 h shifts: for the measured worker the last SAMPLE_DAYS weekdays (default 22, a month),
//! for every other worker the last OTHERS_SAMPLE_DAYS (default 2; a year of samples for 50
//! workers is 2 billion samples, more than this machine's disk holds — the default samples
//! retention keeps 90 days, so a real dock holds ~30 times what the others hold here).
//!
//! Then, timed: `dockd::privacy::export::export_worker` of the measured worker (its folder
//! written and fsynced: JSON + zstd CSV of every sample) and `Writer::delete_worker` of the same
//! worker through the store's writer, until the writer has also given the freed pages back and
//! truncated the WAL (`reclaim`). A benchmark, not a test: it asserts only that the export holds
//! every sample and the deletion removed them.
//!
//! Run: `cargo bench -p dockd --bench privacy`.

// A harness, not a daemon path: a failed set-up step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use dockd::store::deletion::WorkerDeletion;
use dockd::store::{Database, Reader, Writer, open_for_writing};
use dockd::worker::{Pseudonyms, WorkerTag};
use rusqlite::params;

mod shared;

use shared::env_or;

const DAY_MS: i64 = 86_400_000;
const SHIFT_MS: i64 = 8 * 3_600_000;
const RATE_HZ: i64 = 25;
/// Samples per stored block (one minute at 25 Hz).
const BLOCK: i64 = 1_500;

fn badge(worker: i64) -> String {
    format!("B-{:04}", 3000 + worker)
}

/// One block's wire bytes: a slow bend cycle with sensor noise, as i16 LE ×4 per sample.
fn block_wire(seed: i64) -> Vec<u8> {
    let mut wire = Vec::with_capacity((BLOCK * 8) as usize);
    let mut noise = seed as u64 | 1;
    for i in 0..BLOCK {
        noise ^= noise << 13;
        noise ^= noise >> 7;
        noise ^= noise << 17;
        let jitter = (noise % 21) as i16 - 10;
        let phase = ((i + seed) % 250) as f64 / 250.0 * std::f64::consts::TAU;
        let flex = (2000.0 * phase.sin()) as i16 + jitter;
        let lateral = (300.0 * phase.cos()) as i16 + jitter;
        let twist = jitter * 3;
        let height = 1000 + jitter;
        for v in [flex, lateral, twist, height] {
            wire.extend_from_slice(&v.to_le_bytes());
        }
    }
    wire
}

fn main() {
    let workers = env_or("WORKERS", 50) as i64;
    let days = env_or("DAYS", 365) as i64;
    let alerts = env_or("ALERTS", 30) as i64;
    let sample_days = env_or("SAMPLE_DAYS", 22) as i64;
    let others_sample_days = env_or("OTHERS_SAMPLE_DAYS", 2) as i64;
    let dir = std::env::temp_dir().join(format!("dockd-privacy-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let db = Database::prepare(
        &dir.join("data").join("dockd.db"),
        &dir.join("data.database-key"),
    )
    .expect("database key");
    let keys = Arc::new(Pseudonyms::from_key([7u8; 32]));

    // The fixture.
    let started = Instant::now();
    let now_ms = 1_780_000_000_000i64;
    let today = now_ms - now_ms % DAY_MS;
    let weekdays: Vec<i64> = (1..=days * 7 / 5 + 2)
        .map(|back| today - back * DAY_MS)
        .filter(|day| {
            let weekday = (day / DAY_MS + 4).rem_euclid(7); // 0 = Sunday
            (1..=5).contains(&weekday)
        })
        .take(days as usize)
        .collect();
    let encoded: Vec<Vec<u8>> = (0..16)
        .map(|s| dockd::store::samples::encode(&block_wire(s)))
        .collect();
    let mut samples_of_measured = 0u64;
    {
        let mut conn = open_for_writing(&db).expect("open the store");
        let tx = conn.transaction().unwrap();
        {
            let mut worker = tx
                .prepare("INSERT INTO worker (id, tag, display_name) VALUES (?1, ?2, ?3)")
                .unwrap();
            let mut wearable = tx
                .prepare(
                    "INSERT INTO wearable (id, serial, model, hw_rev, firmware, first_seen_ms, last_docked_ms)
                     VALUES (?1, ?2, 1, 1, '1.0.0', 0, ?3)",
                )
                .unwrap();
            let mut docking = tx
                .prepare(
                    "INSERT INTO docking (id, wearable_id, slot, transport, port, docked_ms, boot_count,
                        device_ms, clock_valid, batt_soc, batt_health, batt_cycles, batt_mv,
                        batt_temp_dc, charging, segments_listed)
                     VALUES (?1, ?1, 1, 'emulated', 'bench', ?2, 1, 1, 1, 80, 100, 10, 3900, 250, 1, 1)",
                )
                .unwrap();
            let mut segment = tx
                .prepare(
                    "INSERT INTO segment (wearable_id, segment_no, size, crc, docking_id, boot_count,
                        start_ms, clock_valid, rate_hz, first_wall_ms, last_wall_ms, samples, alerts,
                        records, unknown_records, unknown_time_samples, unknown_time_records,
                        stored_ms, erased_ms)
                     VALUES (?1, ?2, 1000, ?2, ?1, 1, 0, 1, 25, ?3, ?4, ?5, ?6, 1, 0, 0, 0, ?4, ?4)",
                )
                .unwrap();
            let mut report = tx
                .prepare(
                    "INSERT INTO shift_report (wearable_id, worker_id, start_ms, end_ms, local_day,
                        risk_level, version, settings, report)
                     VALUES (?1, ?1, ?2, ?3, ?4, 'low', 1, 'bench', ?5)",
                )
                .unwrap();
            let mut alert = tx
                .prepare(
                    "INSERT INTO alert (segment_id, worker_id, t_ms, wall_ms, kind, peak, duration_ms,
                        response_ms, haptic) VALUES (?1, ?2, ?3, ?4, 1, 600, 1200, 800, 1)",
                )
                .unwrap();
            let mut block = tx
                .prepare(
                    "INSERT INTO sample_block (segment_id, worker_id, t_ms, wall_ms, rate_hz, count,
                        codec, data) VALUES (?1, ?2, ?3, ?4, 25, ?5, ?6, ?7)",
                )
                .unwrap();
            let report_json = serde_json::json!({
                "bends": 180, "deep_bends": 12, "twists": 40, "alerts": alerts,
                "hours": (0..8).map(|h| serde_json::json!({"hour": h, "bends": 22})).collect::<Vec<_>>(),
            })
            .to_string();
            for w in 1..=workers {
                let tag = WorkerTag::from_ascii(&badge(w)).unwrap();
                worker
                    .execute(params![w, tag.as_bytes().as_slice(), format!("Worker {w}")])
                    .unwrap();
                wearable
                    .execute(params![w, format!("KB-{w:06}"), now_ms])
                    .unwrap();
                docking.execute(params![w, now_ms]).unwrap();
                let with_samples = if w == 1 {
                    sample_days
                } else {
                    others_sample_days
                };
                for (n, day) in weekdays.iter().enumerate() {
                    let start = day + 7 * 3_600_000;
                    let end = start + SHIFT_MS;
                    let samples = if (n as i64) < with_samples {
                        SHIFT_MS / 1000 * RATE_HZ
                    } else {
                        0
                    };
                    segment
                        .execute(params![w, n as i64, start, end, samples, alerts])
                        .unwrap();
                    let segment_id = tx.last_insert_rowid();
                    let local_day = jiff::Timestamp::from_millisecond(*day).unwrap().to_string()
                        [..10]
                        .to_owned();
                    report
                        .execute(params![w, start, end, local_day, report_json])
                        .unwrap();
                    for a in 0..alerts {
                        let at = a * SHIFT_MS / alerts.max(1);
                        alert
                            .execute(params![segment_id, w, at, start + at])
                            .unwrap();
                    }
                    let mut t = 0;
                    while t < samples {
                        let data = &encoded[((t / BLOCK) % 16) as usize];
                        block
                            .execute(params![
                                segment_id,
                                w,
                                t * 40,
                                start + t * 40,
                                BLOCK,
                                dockd::store::samples::CODEC_PLANES,
                                data
                            ])
                            .unwrap();
                        if w == 1 {
                            samples_of_measured += BLOCK as u64;
                        }
                        t += BLOCK;
                    }
                }
            }
        }
        tx.commit().unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let db_mb = std::fs::metadata(db.path()).map_or(0, |m| m.len()) as f64 / 1e6;
    println!(
        "privacy: fixture: {workers} workers × {} weekdays (shift reports, {alerts} alerts each), samples for the measured worker's last {sample_days} weekdays ({samples_of_measured} samples) and the others' last {others_sample_days}; encrypted database {db_mb:.0} MB, written in {:.1} s",
        weekdays.len(),
        started.elapsed().as_secs_f64()
    );

    // A worker's export: their month of samples, a year of reports and alerts.
    let reader = Reader::open(&db).expect("reader");
    let out = dir.join("export");
    let tag = WorkerTag::from_ascii(&badge(1)).unwrap();
    let started = Instant::now();
    let summary =
        dockd::privacy::export::export_worker(&reader, &tag, &out, &mut |_, _| {}).expect("export");
    let export_s = started.elapsed().as_secs_f64();
    assert_eq!(summary.samples, samples_of_measured);
    let export_mb: f64 = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len() as f64)
        .sum::<f64>()
        / 1e6;
    println!(
        "privacy: export of one worker ({} samples, {} shift reports, {} alerts): {export_s:.2} s ({:.1} M samples/s), {export_mb:.1} MB written",
        summary.samples,
        summary.shift_reports,
        summary.alerts,
        summary.samples as f64 / export_s / 1e6
    );

    // A worker's deletion, until the freed pages are given back and the WAL truncated (no reader
    // left open: a reader's snapshot would hold the truncation back, as the page's would).
    drop(reader);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (writer, thread) = Writer::spawn(
        open_for_writing(&db).expect("open the store"),
        open_for_writing(&db).expect("open the store"),
    )
    .expect("writer");
    let (deleted, delete_s, reclaimed_s) = runtime.block_on(async {
        writer.set_pseudonyms(Arc::clone(&keys)).await.unwrap();
        let started = Instant::now();
        let deleted = writer
            .delete_worker(WorkerDeletion {
                worker: 1,
                at_ms: now_ms,
                by: "bench".to_owned(),
            })
            .await
            .expect("delete");
        let delete_s = started.elapsed().as_secs_f64();
        // The writer reclaims right after the deletion's commit; the next command waits for it.
        writer.set_pseudonyms(Arc::clone(&keys)).await.unwrap();
        (deleted, delete_s, started.elapsed().as_secs_f64())
    });
    drop(writer);
    thread.join();
    let left: i64 = dockd::store::open_for_reading(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sample_block WHERE worker_id = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
    let after_mb = std::fs::metadata(db.path()).map_or(0, |m| m.len()) as f64 / 1e6;
    println!(
        "privacy: deletion of one worker from {workers} ({deleted}): committed in {delete_s:.2} s, freed pages given back and the WAL truncated after {reclaimed_s:.2} s; database {db_mb:.0} → {after_mb:.0} MB"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
