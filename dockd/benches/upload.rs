//! Upload benchmark (issue 14): a backlog of 30 days × 24 wearables of shift summaries and their
//! alerts (built by the producers' own builders from emulated, analysed shifts) and, separately,
//! one day of raw samples, queued through the real store into a real SQLite file, then drained by
//! the real driver (`uploader::Driver`, default limits) to the loopback HTTPS receiver and to the
//! S3 server (s3s-fs). `curl` sends the same committed batch bodies, one request each on one
//! kept-alive connection, right after dockd in the same run; dockd's throughput is printed as a
//! ratio of curl's. Also: the compression of dockd's batches against `zstd -3` on the same NDJSON,
//! and dockd's CPU time and peak RSS while draining. A benchmark, not a test: it asserts only that
//! everything arrived, and leaves judging the figures to the reader.
//!
//! Run: `cargo bench -p dockd --bench upload` (DOCKD_BENCH_DAYS=30, WEARABLES=24, SHIFT_HOURS=10,
//! DOCKD_BENCH_RAW_DAYS=1, DOCKD_BENCH_ALERTS_PER_SHIFT=300, RUNS=2 by default). Needs `curl`, `zstd` and s3s-fs
//! (`~/.cache/dockd-ci/bin/s3s-fs`, or `$DOCKD_S3S_FS`).
//!
//! Alerts: the emulator's firmware raises an alert every few seconds of a shift (~12 000 per 8 h),
//! far more than a real wearable; 30 days of that (8.5 M items, 3 GB of NDJSON) outgrows the
//! outbox's default budget. The backlog keeps at most DOCKD_BENCH_ALERTS_PER_SHIFT of each shift's
//! alerts, evenly spaced over it, each built by `upload::produce::alert` from the emulated one.
//!
//! How the figures are taken. The driver runs in this process, as it runs in dockd: CPU is this
//! process's user + system time during the drain (from /proc, as getrusage) minus the HTTPS
//! receiver's own threads (`test-receiver`, in this process too); s3s-fs is a process of its own.
//! Peak RSS is this process's VmHWM after resetting it (`/proc/self/clear_refs` 5) just before
//! the drain, so it is the high-water mark during the drain alone; with the HTTPS receiver it
//! includes the receiver's memory, which runs in this process. curl's figure is its wall time,
//! process start included.

// A harness, not a daemon path: a failed set-up step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dockd::analysis::{self, Settings};
use dockd::clock::SystemClock;
use dockd::config::{Config, UploadConfig};
use dockd::store::outbox::OutboxChange;
use dockd::store::{OutboxPolicy, Reader, Writer, open_for_writing};
use dockd::upload::produce::{self, AlertPlace, BlockPlace, Origin, Pseudonym};
use dockd::upload::{Item, Limits};
use dockd::uploader::Driver;
use dockd::uploader::target::Target;
use dockd::worker::{Pseudonyms, WorkerTag};
use jiff::tz::TimeZone;
use receivers::{HttpsReceiver, ReceiverConfig, S3Server};
use tokio_util::sync::CancellationToken;

mod shared;

use shared::{cpu_seconds, env_or, status_mb};

const DAY_MS: i64 = 86_400_000;
const SITE: &str = "plant-a";
const TOKEN: &str = "bench-token";
const ACCESS_KEY: &str = "benchaccess";
const SECRET_KEY: &str = "benchsecret-0123456789";
/// The HTTPS receiver's runtime threads (see `HttpsReceiver::start_blocking`).
const RECEIVER_THREADS: &str = "test-receiver";

/// One analysed emulated wearable: its shift reports, alerts and sample blocks.
struct Worn {
    serial: String,
    who: Pseudonym,
    reports: Vec<analysis::ShiftReport>,
    alerts: Vec<analysis::AlertRecord>,
    blocks: Vec<analysis::TimedBlock>,
}

/// A backlog queued in a database file, kept aside and copied for every drain.
struct Backlog {
    name: &'static str,
    db: PathBuf,
    items: u64,
    ndjson_bytes: u64,
    budget_bytes: u64,
}

/// What one sender (dockd or curl) took to deliver a backlog.
#[derive(Clone, Copy, Default)]
struct Figures {
    secs: f64,
    /// Compressed bytes sent (bodies only).
    bytes: u64,
    requests: u64,
    cpu_s: f64,
    /// Peak RSS during the drain (MB) and RSS just before it (MB).
    rss_mb: (f64, f64),
}

/// One row of the table: a backlog to a target in one run.
struct Row {
    backlog: &'static str,
    target: &'static str,
    run: u64,
    items: u64,
    dockd: Figures,
    curl: Figures,
}

fn main() {
    // As dockd's `main` does first thing, so the RSS is the daemon's (see README "Performance").
    // SAFETY: `mallopt` only sets a tuning parameter of glibc's allocator; it is called before any
    // other thread exists, and `M_ARENA_MAX` with a positive value is a documented, valid setting.
    #[allow(unsafe_code)]
    let _ = unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
    for (tool, arg) in [("curl", "--version"), ("zstd", "--version")] {
        let found = Command::new(tool).arg(arg).output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "`{tool}` is needed by this benchmark and was not found (Debian: apt-get install {tool})"
        );
    }
    assert!(
        receivers::s3::binary().is_file(),
        "s3s-fs is needed by this benchmark: {} is missing (tests/run.sh installs it)",
        receivers::s3::binary().display()
    );

    let days = env_or("DOCKD_BENCH_DAYS", 30) as i64;
    let count = env_or("WEARABLES", 24) as usize;
    let hours = env_or("SHIFT_HOURS", 10);
    let raw_days = env_or("DOCKD_BENCH_RAW_DAYS", 1) as i64;
    let runs = env_or("RUNS", 2).max(1);
    let alerts_per_shift = env_or("DOCKD_BENCH_ALERTS_PER_SHIFT", 300) as usize;
    let dir = std::env::temp_dir().join(format!("dockd-upload-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");

    eprintln!("generating and analysing {count} wearables × {hours} h at 25 Hz …");
    let started = Instant::now();
    let worn = analysed_fleet(count, hours);
    let shifts: usize = worn.iter().map(|w| w.reports.len()).sum();
    let alerts: usize = worn.iter().map(|w| w.alerts.len()).sum();
    eprintln!(
        "{shifts} shifts, {alerts} alerts ({:.0} per shift; the backlog keeps at most {alerts_per_shift} per shift, evenly spaced) in {:.1} s",
        alerts as f64 / shifts.max(1) as f64,
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("dockd-bench")
        .enable_all()
        .build()
        .expect("runtime");
    let origin = Origin {
        site: SITE.to_owned(),
        dock: "dock-1".to_owned(),
    };
    let summaries = runtime.block_on(queue_backlog(
        &dir.join("summaries"),
        "summaries",
        1 << 30,
        |day| summary_items(&origin, &worn, day, days, alerts_per_shift),
        days,
    ));
    // Raw samples of a day outgrow the default 1 GiB budget at 24 wearables: a larger one keeps the
    // whole backlog (eviction is not what this measures).
    let raw = runtime.block_on(queue_backlog(
        &dir.join("raw"),
        "raw samples",
        8 << 30,
        |day| raw_items(&origin, &worn, day, raw_days),
        raw_days,
    ));
    drop(worn);

    let mut rows = Vec::new();
    let mut compression = Vec::new();
    for backlog in [&summaries, &raw] {
        for run in 1..=runs {
            let (s3_row, bodies) = s3_pair(&runtime, &dir, backlog, run);
            if run == 1 {
                compression.push((backlog.name, compress_against_cli(&dir, &bodies)));
            }
            rows.push(s3_row);
            rows.push(https_pair(&runtime, &dir, backlog, run, &bodies));
        }
    }
    print_table(&[&summaries, &raw], &rows, &compression);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `count` emulated wearables of one `hours`-long shift each, analysed as the dock would.
fn analysed_fleet(count: usize, hours: u64) -> Vec<Worn> {
    let keys = Pseudonyms::from_key([7; 32]);
    let settings = Settings::default();
    shared::fleet(count, hours, 2026)
        .into_iter()
        .enumerate()
        .map(|(i, wearable)| {
            let recording = shared::recording(&wearable);
            let (reports, _) = analysis::analyze(&recording, &settings).expect("analysis");
            let tag = WorkerTag::from_ascii(&format!("B-{}", 1001 + i)).expect("badge");
            Worn {
                serial: format!("WB-{:05}", i + 1),
                who: Pseudonym::of(&keys, &tag),
                reports: reports.into_iter().map(|(_, r)| r).collect(),
                alerts: recording.alerts,
                blocks: recording.blocks,
            }
        })
        .collect()
}

/// The shift summaries and alerts of backlog day `day` (0 = the oldest of `days`): every
/// wearable's emulated shift moved back to that day, queued when it ended.
fn summary_items(
    origin: &Origin,
    worn: &[Worn],
    day: i64,
    days: i64,
    alerts_per_shift: usize,
) -> Vec<Item> {
    let shift_ms = (days - day) * DAY_MS;
    let tz = TimeZone::UTC;
    let mut items = Vec::new();
    for wearable in worn {
        for (n, report) in wearable.reports.iter().enumerate() {
            let mut report = report.clone();
            report.start_ms -= shift_ms;
            report.end_ms -= shift_ms;
            report.local_day = produce::day_of(&tz, Some(report.start_ms));
            let created_ms = report.end_ms + 5 * 60_000;
            let summary =
                produce::shift_summary(origin, &wearable.serial, &wearable.who, &report, 1);
            items.push(Item::of(&summary, created_ms).expect("summary line"));
            let within = |a: &&analysis::AlertRecord| {
                a.wall_ms.is_some_and(|ms| {
                    ms - shift_ms >= report.start_ms && ms - shift_ms <= report.end_ms
                })
            };
            let alerts: Vec<&analysis::AlertRecord> =
                wearable.alerts.iter().filter(within).collect();
            // Evenly spaced over the shift, at most `alerts_per_shift` (module docs).
            let every = alerts.len().div_ceil(alerts_per_shift.max(1)).max(1);
            for (index, alert) in alerts.into_iter().step_by(every).enumerate() {
                let mut alert = alert.clone();
                alert.wall_ms = alert.wall_ms.map(|ms| ms - shift_ms);
                let place = AlertPlace {
                    segment_no: u32::try_from(day * 100 + n as i64).expect("segment"),
                    index: u32::try_from(index).expect("index"),
                };
                let record =
                    produce::alert(origin, &wearable.serial, &wearable.who, place, &tz, &alert);
                items.push(Item::of(&record, created_ms).expect("alert line"));
            }
        }
    }
    items
}

/// The raw-sample records of backlog day `day` (of `days`): one per stored sample block.
fn raw_items(origin: &Origin, worn: &[Worn], day: i64, days: i64) -> Vec<Item> {
    let shift_ms = (days - day) * DAY_MS;
    let tz = TimeZone::UTC;
    let mut items = Vec::new();
    for wearable in worn {
        let created_ms =
            wearable.blocks.last().and_then(|b| b.wall_ms).unwrap_or(0) - shift_ms + 5 * 60_000;
        for (n, block) in wearable.blocks.iter().enumerate() {
            let place = BlockPlace {
                segment_no: u32::try_from(day).expect("segment"),
                block: u32::try_from(n).expect("block"),
                start_ms: block.wall_ms.map(|ms| ms - shift_ms),
                rate_hz: block.rate_hz,
            };
            let record = produce::raw_samples(
                origin,
                &wearable.serial,
                Some(&wearable.who),
                place,
                &tz,
                &block.samples,
            );
            items.push(Item::of(&record, created_ms).expect("raw line"));
        }
    }
    items
}

/// The (encrypted, as shipped) database in `folder`, its key beside the folder.
fn store_of(folder: &Path) -> dockd::store::Database {
    dockd::store::Database::prepare(
        &folder.join("dockd.db"),
        &folder.with_extension("database-key"),
    )
    .expect("database key")
}

/// A store in `folder` with the outbox policy of a configured dock.
fn open_store(folder: &Path) -> (Writer, dockd::store::WriterThread, Reader) {
    let db = store_of(folder);
    let (writer, thread) = Writer::spawn(
        open_for_writing(&db).expect("open the store"),
        open_for_writing(&db).expect("open the store"),
    )
    .expect("writer");
    let reader = Reader::open(&db).expect("reader");
    (writer, thread, reader)
}

fn policy(budget_bytes: u64) -> OutboxPolicy {
    OutboxPolicy {
        site: SITE.to_owned(),
        dock: "dock-1".to_owned(),
        budget_bytes,
        time_zone: TimeZone::UTC,
    }
}

/// Queues `days` days of `items_of(day)` through the real writer (one transaction per day), then
/// closes the store with its WAL checkpointed, so the file can be copied for each drain.
async fn queue_backlog(
    folder: &Path,
    name: &'static str,
    budget_bytes: u64,
    items_of: impl Fn(i64) -> Vec<Item>,
    days: i64,
) -> Backlog {
    let _ = std::fs::remove_dir_all(folder);
    let (writer, thread, reader) = open_store(folder);
    writer
        .set_outbox(Some(policy(budget_bytes)))
        .await
        .expect("outbox policy");
    let started = Instant::now();
    let mut ndjson_bytes = 0u64;
    for day in 0..days {
        let items = items_of(day);
        ndjson_bytes += items
            .iter()
            .map(|i| i.payload.len() as u64 + 1)
            .sum::<u64>();
        writer
            .outbox(OutboxChange::Queue(items))
            .await
            .expect("queue");
    }
    let status = reader.upload_status().expect("status");
    assert!(
        reader.outbox_evictions().expect("evictions").is_empty(),
        "the {name} backlog must fit its budget"
    );
    eprintln!(
        "queued {name}: {} items, {:.1} MB of NDJSON in {:.1} s",
        status.queued_items,
        ndjson_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    drop((writer, reader));
    thread.join();
    let path = folder.join("dockd.db");
    let conn = rusqlite::Connection::open(&path).expect("checkpoint");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    drop(conn);
    Backlog {
        name,
        db: path,
        items: status.queued_items,
        ndjson_bytes,
        budget_bytes,
    }
}

/// `[upload]` as a dock's file would give it.
fn upload_config(text: &str) -> UploadConfig {
    Config::parse(text, Path::new("bench.toml"))
        .expect("config")
        .upload
        .expect("[upload]")
}

fn secret_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).expect("secret");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("mode");
    path
}

/// A fresh copy of `backlog`'s database in `folder`.
fn copy_backlog(backlog: &Backlog, folder: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(folder);
    std::fs::create_dir_all(folder).expect("data folder");
    let path = folder.join("dockd.db");
    std::fs::copy(&backlog.db, &path).expect("copy the backlog");
    path
}

/// Drains a copy of `backlog` to `config`'s target with the real driver: the time, CPU and RSS
/// of the drain.
fn drain(
    runtime: &tokio::runtime::Runtime,
    folder: &Path,
    backlog: &Backlog,
    config: &UploadConfig,
) -> Figures {
    copy_backlog(backlog, folder);
    let (writer, thread, reader) = open_store(folder);
    let target = Target::from_config(config).expect("target");
    let figures = runtime.block_on(async {
        writer
            .set_outbox(Some(policy(backlog.budget_bytes)))
            .await
            .expect("outbox policy");
        let mut driver = Driver::new(
            Reader::open(&store_of(folder)).expect("reader"),
            writer.clone(),
            target,
            Limits::default(),
            Arc::new(SystemClock),
        )
        .expect("driver");
        let cancel = CancellationToken::new();
        // What the set-up freed goes back to the system first, so the figures are the drain's.
        // SAFETY: `malloc_trim` only releases free heap memory; it takes no pointer.
        #[allow(unsafe_code)]
        let _ = unsafe { libc::malloc_trim(0) };
        let rss_before = status_mb("self", "VmRSS:");
        reset_peak_rss();
        let cpu_before = cpu_seconds("self") - thread_cpu_seconds(RECEIVER_THREADS);
        let started = Instant::now();
        while reader.upload_status().expect("status").queued_items > 0 {
            let wait = driver.step(&cancel).await.expect("driver step");
            assert!(
                started.elapsed() < Duration::from_secs(1800),
                "the drain did not finish: {:?}",
                driver.live().map(|l| l.status.last_error)
            );
            if !wait.is_zero() {
                tokio::time::sleep(wait.min(Duration::from_millis(20))).await;
            }
        }
        let secs = started.elapsed().as_secs_f64();
        let cpu_s = cpu_seconds("self") - thread_cpu_seconds(RECEIVER_THREADS) - cpu_before;
        let live = driver.live().expect("live");
        assert_eq!(live.status.dead_letters, 0, "no batch may be parked");
        Figures {
            secs,
            cpu_s,
            rss_mb: (status_mb("self", "VmHWM:"), rss_before),
            ..Figures::default()
        }
    });
    drop((writer, reader));
    thread.join();
    figures
}

/// dockd then curl to the S3 server (fresh buckets each): the row, and the committed batch
/// bodies dockd uploaded (object key → file), which every other sender sends again.
fn s3_pair(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    backlog: &Backlog,
    run: u64,
) -> (Row, BTreeMap<String, PathBuf>) {
    let work = dir.join(format!("s3-{}-{run}", backlog.name.replace(' ', "-")));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    let server = S3Server::start(&work.join("objects"), ACCESS_KEY, SECRET_KEY).expect("s3s-fs");
    let dockd_bucket = server.create_bucket("dockd").expect("bucket");
    server.create_bucket("curl").expect("bucket");
    let config = upload_config(&format!(
        "[upload]\nurl = \"s3://dockd/fleet\"\nsite = \"{SITE}\"\n[upload.s3]\nendpoint = \"{}\"\nregion = \"us-east-1\"\naccess_key_file = \"{}\"\nsecret_key_file = \"{}\"\n",
        server.endpoint,
        secret_file(&work, "access", ACCESS_KEY).display(),
        secret_file(&work, "secret", SECRET_KEY).display(),
    ));
    let mut dockd = drain(runtime, &work.join("data"), backlog, &config);
    let bodies = objects(&dockd_bucket);
    dockd.requests = bodies.len() as u64;
    dockd.bytes = body_bytes(&bodies);
    let curl = curl_s3(&work, &server, &bodies);
    (
        Row {
            backlog: backlog.name,
            target: "S3 (s3s-fs)",
            run,
            items: backlog.items,
            dockd,
            curl,
        },
        bodies,
    )
}

/// Every object below `bucket`: its key → its file.
fn objects(bucket: &Path) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    let mut folders = vec![bucket.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("list objects") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.to_string_lossy().ends_with(".ndjson.zst") {
                let key = path
                    .strip_prefix(bucket)
                    .expect("below the bucket")
                    .to_string_lossy()
                    .into_owned();
                found.insert(key, path);
            }
        }
    }
    found
}

fn body_bytes(bodies: &BTreeMap<String, PathBuf>) -> u64 {
    bodies
        .values()
        .map(|p| std::fs::metadata(p).expect("body").len())
        .sum()
}

/// The batch id in an object key (`…/batch-<id>.ndjson.zst`).
fn batch_id(key: &str) -> &str {
    key.rsplit_once("batch-")
        .and_then(|(_, rest)| rest.strip_suffix(".ndjson.zst"))
        .expect("a batch object key")
}

/// curl PUTs every body to the `curl` bucket at the same key, presigned as dockd signs them
/// (rusty-s3, path style), one request each on one connection.
fn curl_s3(work: &Path, server: &S3Server, bodies: &BTreeMap<String, PathBuf>) -> Figures {
    use rusty_s3::S3Action;
    let bucket = rusty_s3::Bucket::new(
        server.endpoint.parse().expect("endpoint"),
        rusty_s3::UrlStyle::Path,
        "curl".to_owned(),
        "us-east-1".to_owned(),
    )
    .expect("bucket");
    let credentials = rusty_s3::Credentials::new(ACCESS_KEY, SECRET_KEY);
    let mut config = String::new();
    for (key, path) in bodies {
        let url = bucket
            .put_object(Some(&credentials), key)
            .sign(Duration::from_secs(15 * 60));
        config.push_str(&format!(
            "url = \"{url}\"\nupload-file = \"{}\"\nheader = \"Content-Type: application/zstd\"\nfail\nsilent\nshow-error\noutput = \"/dev/null\"\nwrite-out = \"%{{http_code}} %{{num_connects}}\\n\"\nnext\n",
            path.display()
        ));
    }
    let figures = run_curl(work, &config, bodies);
    let uploaded = objects(&server.root.join("curl"));
    assert_eq!(uploaded.len(), bodies.len(), "curl must store every object");
    figures
}

/// Runs curl on `config` (entries separated by `next`): its wall time and CPU, checking every
/// answer was 2xx and counting the connections it opened.
fn run_curl(work: &Path, config: &str, bodies: &BTreeMap<String, PathBuf>) -> Figures {
    let file = work.join("curl.config");
    std::fs::write(&file, config.trim_end().trim_end_matches("next")).expect("curl config");
    let started = Instant::now();
    let output = Command::new("curl")
        .arg("--config")
        .arg(&file)
        .output()
        .expect("run curl");
    let secs = started.elapsed().as_secs_f64();
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers = String::from_utf8_lossy(&output.stdout).into_owned();
    let lines: Vec<&str> = answers.lines().collect();
    assert_eq!(lines.len(), bodies.len(), "one answer per body");
    assert!(lines.iter().all(|l| l.starts_with('2')), "curl: {answers}");
    let connects: u64 = lines
        .iter()
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    assert!(
        connects <= 1,
        "curl must reuse one connection ({connects} opened)"
    );
    Figures {
        secs,
        bytes: body_bytes(bodies),
        requests: lines.len() as u64,
        ..Figures::default()
    }
}

/// dockd then curl to fresh HTTPS receivers: dockd must deliver exactly the batches it put on
/// S3 (same ids, same bytes), curl posts those bodies with dockd's headers.
fn https_pair(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    backlog: &Backlog,
    run: u64,
    bodies: &BTreeMap<String, PathBuf>,
) -> Row {
    let work = dir.join(format!("https-{}-{run}", backlog.name.replace(' ', "-")));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("work dir");
    let receiver =
        HttpsReceiver::start_blocking(ReceiverConfig::new(work.join("dockd-receiver"), TOKEN))
            .expect("receiver");
    let token_file = secret_file(&work, "token", TOKEN);
    let config = upload_config(&format!(
        "[upload]\nurl = \"{}\"\nsite = \"{SITE}\"\ntoken_file = \"{}\"\nca_file = \"{}\"\n",
        receiver.url,
        token_file.display(),
        receiver.ca.ca_pem_path.display()
    ));
    let mut dockd = drain(runtime, &work.join("data"), backlog, &config);
    let deliveries = receiver.deliveries().expect("deliveries");
    let mut sent: Vec<(String, u64)> = deliveries
        .iter()
        .map(|d| (d.idempotency_key.clone(), d.body_bytes))
        .collect();
    sent.sort();
    let mut expected: Vec<(String, u64)> = bodies
        .iter()
        .map(|(key, path)| {
            (
                batch_id(key).to_owned(),
                std::fs::metadata(path).expect("body").len(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(sent, expected, "HTTPS and S3 must get the same batches");
    assert_eq!(received_items(&receiver), backlog.items, "every item once");
    dockd.requests = deliveries.len() as u64;
    dockd.bytes = sent.iter().map(|(_, b)| b).sum();
    drop(receiver);

    let receiver =
        HttpsReceiver::start_blocking(ReceiverConfig::new(work.join("curl-receiver"), TOKEN))
            .expect("receiver");
    let mut config = String::new();
    for (key, path) in bodies {
        config.push_str(&format!(
            "url = \"{}\"\ndata-binary = \"@{}\"\ncacert = \"{}\"\nheader = \"Authorization: Bearer {TOKEN}\"\nheader = \"Idempotency-Key: {}\"\nheader = \"Content-Encoding: zstd\"\nheader = \"Content-Type: application/x-ndjson\"\nfail\nsilent\nshow-error\noutput = \"/dev/null\"\nwrite-out = \"%{{http_code}} %{{num_connects}}\\n\"\nnext\n",
            receiver.url,
            path.display(),
            receiver.ca.ca_pem_path.display(),
            batch_id(key),
        ));
    }
    let curl = run_curl(&work, &config, bodies);
    assert_eq!(
        received_items(&receiver),
        backlog.items,
        "curl's bodies hold every item"
    );
    Row {
        backlog: backlog.name,
        target: "HTTPS (loopback, TLS)",
        run,
        items: backlog.items,
        dockd,
        curl,
    }
}

/// Items the receiver holds after de-duplication by key, counted in its database (its `items()`
/// parses every line: gigabytes for a day of raw samples).
fn received_items(receiver: &HttpsReceiver) -> u64 {
    let db = rusqlite::Connection::open_with_flags(
        &receiver.db_path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the receiver's database");
    db.busy_timeout(Duration::from_secs(10))
        .expect("busy timeout");
    db.query_row("SELECT count(*) FROM item", [], |r| r.get::<_, i64>(0))
        .expect("count the items") as u64
}

/// dockd's compressed bytes against `zstd -3` (the CLI) on each batch's NDJSON: (NDJSON bytes,
/// dockd's bytes, the CLI's bytes).
fn compress_against_cli(dir: &Path, bodies: &BTreeMap<String, PathBuf>) -> (u64, u64, u64) {
    let ndjson_file = dir.join("batch.ndjson");
    let (mut raw, mut ours, mut cli) = (0u64, 0u64, 0u64);
    for path in bodies.values() {
        let body = std::fs::read(path).expect("body");
        let ndjson = zstd::stream::decode_all(body.as_slice()).expect("a zstd body");
        std::fs::write(&ndjson_file, &ndjson).expect("ndjson");
        let output = Command::new("zstd")
            .args(["-3", "-q", "-c"])
            .arg(&ndjson_file)
            .output()
            .expect("run zstd");
        assert!(output.status.success(), "zstd -3 failed");
        raw += ndjson.len() as u64;
        ours += body.len() as u64;
        cli += output.stdout.len() as u64;
    }
    (raw, ours, cli)
}

/// CPU seconds used so far by this process's threads whose name starts with `name`.
fn thread_cpu_seconds(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .filter_map(Result::ok)
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with(name))
        })
        .map(|t| cpu_seconds(&format!("self/task/{}", t.file_name().to_string_lossy())))
        .sum()
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0), so the next reading is the drain's peak.
fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
}

fn mb_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs
}

fn print_table(backlogs: &[&Backlog], rows: &[Row], compression: &[(&str, (u64, u64, u64))]) {
    for b in backlogs {
        println!(
            "upload: backlog {}: {} items, {:.1} MB of NDJSON",
            b.name,
            b.items,
            b.ndjson_bytes as f64 / 1e6
        );
    }
    println!();
    println!(
        "| backlog | target | run | batches | compressed MB | dockd wall s | dockd items/s | dockd MB/s | curl wall s | curl MB/s | dockd / curl | dockd CPU-s | dockd peak RSS MB (before) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {:.1} | {:.2} | {:.0} | {:.1} | {:.2} | {:.1} | **{:.2}** | {:.2} | {:.1} ({:.1}) |",
            r.backlog,
            r.target,
            r.run,
            r.dockd.requests,
            r.dockd.bytes as f64 / 1e6,
            r.dockd.secs,
            r.items as f64 / r.dockd.secs,
            mb_s(r.dockd.bytes, r.dockd.secs),
            r.curl.secs,
            mb_s(r.curl.bytes, r.curl.secs),
            r.curl.secs / r.dockd.secs,
            r.dockd.cpu_s,
            r.dockd.rss_mb.0,
            r.dockd.rss_mb.1,
        );
    }
    println!();
    println!(
        "| backlog | NDJSON MB | dockd zstd MB | `zstd -3` MB | dockd ratio | `zstd -3` ratio | dockd / `zstd -3` bytes |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (name, (raw, ours, cli)) in compression {
        println!(
            "| {name} | {:.1} | {:.2} | {:.2} | {:.1} : 1 | {:.1} : 1 | {:.3} |",
            *raw as f64 / 1e6,
            *ours as f64 / 1e6,
            *cli as f64 / 1e6,
            *raw as f64 / *ours as f64,
            *raw as f64 / *cli as f64,
            *ours as f64 / *cli as f64,
        );
    }
}
