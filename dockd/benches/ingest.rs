//! Ingest benchmark: 24 emulated wearables, each holding a 12-hour 25 Hz shift, dock at once into the
//! real `dockd` binary over its Unix socket. Prints wall time from first docking to everything stored
//! and erased, MB/s of segment bytes ingested, and the daemon's peak RSS. A figure that travels
//! between machines: before each round, the same segment bytes are written to a file beside the
//! database with an fsync per segment (the disk's durable-write ceiling), and dockd's MB/s is
//! printed as a ratio of it. A benchmark, not a test: it asserts only that everything arrived, and
//! leaves judging the figures to the reader.
//!
//! Every round runs twice back to back: as shipped (encrypted at rest) and with
//! `encrypt_database = false`; the cost of encryption is printed as their ratio.
//!
//! Run: `cargo bench -p dockd --bench ingest` (WEARABLES and SHIFT_HOURS override the defaults).
//! The emulated wearables run in this process on the same 2 cores, so the figure is conservative.

// A harness, not a daemon path: a failed set-up step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dockd::emulator::{Faults, Wearable, dock_until_drained};
use dockd::transport::LinkAddr;
use tokio_util::sync::CancellationToken;

mod shared;

use shared::{cpu_seconds, env_or, peak_rss_mb};

/// Figures of one round.
struct Round {
    secs: f64,
    /// Writing the same segment bytes to a file beside the database, an fsync per segment.
    ceiling_secs: f64,
    rss: f64,
    dock_cpu: f64,
    emulator_cpu: f64,
    compaction_s: f64,
    compaction_cpu: f64,
    block_bytes: f64,
    db_mb: f64,
    /// Reading back one worker's whole shift by worker and time: (seconds, samples).
    query: (f64, u64),
}

/// Reads one worker's samples between two wall times through the `(worker_id, wall_ms)` index and
/// decodes them, as the analysis and the page will.
fn read_worker(db: &rusqlite::Connection, badge: &str, from_ms: i64, to_ms: i64) -> (f64, u64) {
    let tag = dockd::worker::WorkerTag::from_ascii(badge).expect("badge");
    let started = Instant::now();
    let mut query = db
        .prepare(
            "SELECT b.codec, b.count, b.data FROM sample_block b
             WHERE b.worker_id = (SELECT id FROM worker WHERE tag = ?1)
               AND b.wall_ms >= ?2 AND b.wall_ms < ?3 ORDER BY b.wall_ms",
        )
        .expect("prepare");
    let mut rows = query
        .query(rusqlite::params![tag.as_bytes().as_slice(), from_ms, to_ms])
        .expect("query");
    let mut samples = 0u64;
    while let Some(row) = rows.next().expect("row") {
        let (codec, count, data): (u8, i64, Vec<u8>) = (
            row.get(0).expect("codec"),
            row.get(1).expect("count"),
            row.get(2).expect("data"),
        );
        samples += dockd::store::samples::decode(codec, &data, count as usize)
            .expect("decode")
            .len() as u64;
    }
    (started.elapsed().as_secs_f64(), samples)
}

fn main() {
    let count = env_or("WEARABLES", 24) as usize;
    let hours = env_or("SHIFT_HOURS", 12);
    let dir = std::env::temp_dir().join(format!("dockd-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let socket = dir.join("wearables.sock");
    // The dock as shipped (encrypted at rest), and the same with `encrypt_database = false`, run
    // back to back in every round so their ratio compares like with like.
    let config_for = |encrypt: bool| {
        let config = dir.join(format!("dockd-encrypt-{encrypt}.toml"));
        std::fs::write(
            &config,
            format!(
                "[storage]\ndata_dir = {:?}\n[link]\nemulator_socket = {:?}\n[web]\nlisten = \"127.0.0.1:0\"\ntls = false\n[privacy]\nencrypt_database = {encrypt}\n",
                dir.join("data"),
                socket
            ),
        )
        .expect("write config");
        config
    };
    let (config, plain_config) = (config_for(true), config_for(false));

    eprintln!("generating {count} wearables × {hours} h at 25 Hz …");
    let started = Instant::now();
    let wearables = shared::fleet(count, hours, 2024);
    let bytes = shared::segment_bytes(&wearables);
    let samples: u64 = wearables.iter().map(|w| w.truth().samples).sum();
    eprintln!(
        "generated {:.1} MB, {samples} samples in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let rounds = env_or("ROUNDS", 5).max(1);
    let mut results = Vec::new();
    let mut plain_secs = Vec::new();
    for round in 1..=rounds {
        // Alternate which goes first, so neither always meets a warmer disk.
        let plain_first = round % 2 == 0;
        let plain = |plain_secs: &mut Vec<f64>| {
            let r = run_round(&dir, &plain_config, &socket, wearables.clone(), count);
            eprintln!(
                "round {round}, encryption off: {:.2} s, {:.1} MB/s",
                r.secs,
                bytes as f64 / 1e6 / r.secs
            );
            plain_secs.push(r.secs);
        };
        if plain_first {
            plain(&mut plain_secs);
        }
        let result = run_round(&dir, &config, &socket, wearables.clone(), count);
        if !plain_first {
            plain(&mut plain_secs);
        }
        eprintln!(
            "round {round}: {:.2} s, {:.1} MB/s; durable-write ceiling {:.1} MB/s (ratio {:.2}); peak RSS {:.1} MB",
            result.secs,
            bytes as f64 / 1e6 / result.secs,
            bytes as f64 / 1e6 / result.ceiling_secs,
            result.ceiling_secs / result.secs,
            result.rss
        );
        results.push(result);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut cost: Vec<f64> = results
        .iter()
        .zip(&plain_secs)
        .map(|(enc, plain)| enc.secs / plain - 1.0)
        .collect();
    let per_round = cost
        .iter()
        .map(|c| format!("{:+.0} %", c * 100.0))
        .collect::<Vec<_>>()
        .join(", ");
    cost.sort_by(f64::total_cmp);
    println!(
        "ingest: encryption at rest costs {:+.0} % wall time (median of {rounds} rounds, each encrypted and unencrypted back to back: {per_round}); goal ≤ +25 %",
        cost[cost.len() / 2] * 100.0
    );
    results.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    let r = &results[results.len() / 2];
    let mb = bytes as f64 / 1e6;
    println!(
        "ingest: {count} wearables × {hours} h × 25 Hz = {samples} samples, {mb:.1} MB of segments; median of {rounds} rounds"
    );
    println!(
        "ingest: wall time first dock → all stored and erased: {:.2} s (rounds: {})",
        r.secs,
        results
            .iter()
            .map(|x| format!("{:.2}", x.secs))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "ingest: throughput: {:.1} MB/s of segment bytes",
        mb / r.secs
    );
    let mut ratios: Vec<f64> = results.iter().map(|x| x.ceiling_secs / x.secs).collect();
    ratios.sort_by(f64::total_cmp);
    let mut ceilings: Vec<f64> = results.iter().map(|x| mb / x.ceiling_secs).collect();
    ceilings.sort_by(f64::total_cmp);
    println!(
        "ingest: durable-write ceiling of the same bytes on the same disk (a file beside the database, an fsync per segment): {:.1} MB/s; dockd's throughput as a ratio of it: {:.2} (median; rounds: {})",
        ceilings[ceilings.len() / 2],
        ratios[ratios.len() / 2],
        results
            .iter()
            .map(|x| format!("{:.2}", x.ceiling_secs / x.secs))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "ingest: dockd peak RSS: {:.1} MB (highest of all rounds: {:.1} MB)",
        r.rss,
        results.iter().map(|x| x.rss).fold(0.0, f64::max)
    );
    println!(
        "ingest: CPU during the pulls: dockd {:.2} s, emulated wearables {:.2} s (same 2 cores); dockd alone: {:.1} MB per CPU-second",
        r.dock_cpu,
        r.emulator_cpu,
        mb / r.dock_cpu
    );
    println!(
        "ingest: compaction after the pulls: {:.2} s wall (incl. its {:.0} s quiet wait), {:.2} CPU-s; samples then take {:.2} bytes each",
        r.compaction_s,
        dockd::store::compaction::QUIET.as_secs_f64(),
        r.compaction_cpu,
        r.block_bytes / samples as f64
    );
    println!(
        "ingest: reading one worker's whole shift back by worker and time, decoded: {} samples in {:.1} ms ({:.0} M samples/s)",
        r.query.1,
        r.query.0 * 1e3,
        r.query.1 as f64 / r.query.0 / 1e6
    );
    println!(
        "ingest: database file: {:.1} MB (pages freed by compaction are reused by later pulls)",
        r.db_mb
    );
}

/// Seconds to write every closed segment of `wearables` to one file in `folder` (where the
/// database will live, so the same disk and file system) with an fsync after each segment: the
/// fastest a dock that keeps a segment durable before erasing it could go on this disk, with no
/// database at all. The folder is left empty.
fn durable_write_secs(folder: &std::path::Path, wearables: &[Wearable]) -> f64 {
    std::fs::create_dir_all(folder).expect("data folder");
    let path = folder.join("durable-write-ceiling.bin");
    let _ = Command::new("sync").status();
    let started = Instant::now();
    let mut file = std::fs::File::create(&path).expect("ceiling file");
    for wearable in wearables {
        for (_, segment) in wearable.closed_segment_bytes() {
            file.write_all(segment).expect("write a segment");
            file.sync_data().expect("fsync a segment");
        }
    }
    drop(file);
    let secs = started.elapsed().as_secs_f64();
    std::fs::remove_file(&path).expect("remove the ceiling file");
    secs
}

fn run_round(
    dir: &std::path::Path,
    config: &std::path::Path,
    socket: &std::path::Path,
    wearables: Vec<Wearable>,
    count: usize,
) -> Round {
    let _ = std::fs::remove_dir_all(dir.join("data"));
    let ceiling_secs = durable_write_secs(&dir.join("data"), &wearables);
    // Start each round with the previous round's writes on disk, not in the kernel's queue.
    let _ = Command::new("sync").status();
    let mut dockd = Command::new(env!("CARGO_BIN_EXE_dockd"))
        .args(["run", "--config"])
        .arg(config)
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

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let addr = LinkAddr::Unix(socket.to_owned());
    let emulator_cpu_before = cpu_seconds("self");
    let (elapsed, drained) = runtime.block_on(async {
        let cancel = CancellationToken::new();
        let start = Instant::now();
        let tasks: Vec<_> = wearables
            .into_iter()
            .map(|mut wearable| {
                let (addr, cancel) = (addr.clone(), cancel.clone());
                tokio::spawn(async move {
                    let result =
                        dock_until_drained(&mut wearable, &addr, &Faults::default(), &cancel).await;
                    // The wearable undocks a grace period after its last erase; time the erase, not the grace.
                    (result.is_ok() && wearable.drained(), start.elapsed())
                })
            })
            .collect();
        let mut last = Duration::ZERO;
        let mut drained = 0;
        for task in tasks {
            let (ok, at) = task.await.expect("wearable task");
            drained += usize::from(ok);
            last = last.max(at);
        }
        (last.saturating_sub(dockd::emulator::UNDOCK_GRACE), drained)
    });
    let rss = peak_rss_mb(dockd.id());
    let dock_cpu = cpu_seconds(&dockd.id().to_string());
    let emulator_cpu = cpu_seconds("self") - emulator_cpu_before;

    // Compaction compresses the blocks once the dock is quiet; time it until none is left raw.
    let db_path = dir.join("data").join("dockd.db");
    let store = dockd::store::Database::unencrypted(&db_path, &dir.join("data.database-key"))
        .expect("the database key");
    let db = dockd::store::open_for_reading(&store).expect("open the database");
    db.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    let raw_blocks = || -> i64 {
        db.query_row(
            "SELECT count(*) FROM sample_block WHERE codec = 0",
            [],
            |r| r.get(0),
        )
        .expect("count raw blocks")
    };
    let compaction = Instant::now();
    while raw_blocks() > 0 {
        assert!(
            compaction.elapsed() < Duration::from_secs(300),
            "compaction did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let compaction_s = compaction.elapsed().as_secs_f64();
    let compaction_cpu = cpu_seconds(&dockd.id().to_string()) - dock_cpu;
    let query = read_worker(&db, "B-1001", 0, i64::MAX);
    let block_bytes: i64 = db
        .query_row("SELECT sum(length(data)) FROM sample_block", [], |r| {
            r.get(0)
        })
        .expect("block bytes");
    drop(db);
    let _ = Command::new("kill")
        .args(["-TERM", &dockd.id().to_string()])
        .status();
    let _ = dockd.wait();
    let db_mb = std::fs::metadata(&db_path).map_or(0, |m| m.len()) as f64 / 1e6;
    assert_eq!(drained, count, "every wearable must be drained");
    Round {
        secs: elapsed.as_secs_f64(),
        ceiling_secs,
        rss,
        dock_cpu,
        emulator_cpu,
        compaction_s,
        compaction_cpu,
        block_bytes: block_bytes as f64,
        db_mb,
        query,
    }
}
