//! End-to-end: batched cloud upload from the real `dockd` binary to the real test receivers on
//! loopback — the HTTPS receiver through its faults (exactly once after de-duplication by key, a
//! dead letter an admin retries on the page), the S3 server (`s3s-fs`, SigV4) read in place by
//! DuckDB, a wrong secret that pauses the queue without losing anything, and a dock without
//! `[upload]` that queues nothing. Everything a receiver got is checked for privacy. It must never
//! reach into the daemon's memory: it sees the receivers, the SQLite file, `dockd status` and the
//! page.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dockd::emulator::{Faults, FleetSpec, Wearable, dock_until_drained};
use dockd::transport::LinkAddr;
use receivers::{Fault, HttpsReceiver, ReceiverConfig, S3Server};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::spine::shift;
use crate::support::{Dock, TEST_USER, TestDir, form_on, wait_for};

/// A roster worker: badge tag and display name (neither may ever leave the dock).
pub(crate) struct Worker {
    pub(crate) badge: &'static str,
    pub(crate) name: &'static str,
}

const ADA: Worker = Worker {
    badge: "B-7201",
    name: "Ada Uploadtest",
};
const BEA: Worker = Worker {
    badge: "B-7202",
    name: "Bea Uploadtest",
};

/// How long a drain of a few batches may take on a loaded CI machine.
const DRAIN: Duration = Duration::from_secs(60);

/// The `[upload]` keys every test dock shares: small batches, sent a second after they open.
const SMALL_BATCHES: &str = "batch_max_items = 5\nbatch_max_age_s = 1\n";

/// Writes a secret file as IT would: readable by the dock's user alone.
fn write_secret(path: &Path, secret: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// No badge tag or display name of `workers` in the dock's log.
fn assert_log_private(dock: &Dock, workers: &[&Worker]) {
    let log = dock.log();
    for worker in workers {
        assert!(
            !log.contains(worker.badge) && !log.contains(worker.name),
            "{} or its name in the log:\n{log}",
            worker.badge
        );
    }
}

/// Adds `worker` to the dock's roster and assigns `serial` to them; the worker's `W-…` label.
fn assign(dock: &Dock, worker: &Worker, serial: &str) -> String {
    let (status, added) = dock.api(
        "POST",
        "/api/v1/roster/workers",
        &json!({ "badge": worker.badge, "display_name": worker.name, "team": "Upload" }),
    );
    assert_eq!(status, 201, "{added}");
    let id = added["worker"].as_i64().expect("the new worker's id");
    let (status, body) = dock.api(
        "POST",
        "/api/v1/roster/wearables",
        &json!({ "serial": serial, "worker": id }),
    );
    assert_eq!(status, 200, "{body}");
    let (_, roster) = dock.api("GET", "/api/v1/roster", &Value::Null);
    roster["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == id || w["worker"] == id)
        .and_then(|w| w["pseudonym"].as_str())
        .unwrap_or_else(|| panic!("the worker's label on the roster: {roster}"))
        .to_owned()
}

/// One wearable (from `seed`, with its own serial) holding a one-hour shift that just ended, worn
/// under its fleet's first badge tag.
pub(crate) async fn shift_wearable(seed: u64) -> Wearable {
    tokio::task::spawn_blocking(move || {
        let spec = FleetSpec {
            count: 1,
            base_seed: seed,
            shift: shift(1, 10),
            // Its own serial: a second wearable is a second device, not the first one again.
            first_serial: u32::try_from(seed).unwrap(),
        };
        Wearable::new(spec.wearable_spec(0))
    })
    .await
    .unwrap()
}

/// Docks `wearable` at `dock` until it is drained: every segment stored, then erased.
pub(crate) async fn dock_drained(dock: &Dock, wearable: &mut Wearable) {
    let addr = LinkAddr::Unix(dock.socket.clone());
    dock_until_drained(
        wearable,
        &addr,
        &Faults::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
}

/// One wearable (from `seed`) worn by `worker` for a one-hour shift that just ended, docked at
/// `dock` until drained; waits until its shift report is stored (`reports` in all). The worker's
/// `W-…` label.
pub(crate) async fn wear_and_dock(dock: &Dock, worker: &Worker, seed: u64, reports: i64) -> String {
    let mut wearable = shift_wearable(seed).await;
    let label = assign(dock, worker, wearable.serial());
    dock_drained(dock, &mut wearable).await;
    let start = std::time::Instant::now();
    while dock.count("SELECT COUNT(*) FROM shift_report") < reports {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for the shift report; log:\n{}",
            dock.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    label
}

/// `dockd status --json` `"upload"`.
fn upload_status(dock: &Dock) -> Value {
    dock.status_json()["upload"].clone()
}

/// Waits until nothing is left to send but dead letters: no unbatched item, no ready batch.
pub(crate) fn wait_until_drained(dock: &Dock, what: &str) {
    wait_for(what, DRAIN, || {
        let waiting = dock.count(
            "SELECT (SELECT COUNT(*) FROM outbox_item WHERE batch_id IS NULL)
                  + (SELECT COUNT(*) FROM outbox_batch WHERE state = 'ready')",
        );
        (waiting == 0).then_some(())
    });
}

/// Every key the dock ever queued (what `upload_revision` holds), sorted.
fn queued_keys(dock: &Dock) -> Vec<String> {
    let db = dock.db();
    let mut query = db
        .prepare("SELECT key FROM upload_revision ORDER BY key")
        .unwrap();
    query
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The upload section of the Diagnostics page as the signed-in admin sees it.
fn uploads_section(dock: &Dock) -> String {
    let page = dock.get("/diagnostics");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    page
}

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/upload-schema")
}

/// Every key of `value`, at any depth.
fn field_names(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                out.push(key.clone());
                field_names(inner, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| field_names(v, out)),
        _ => {}
    }
}

/// The privacy promises, on everything a receiver got: `records` (parsed) and `raw` (every byte
/// it keeps: its database files, or its decompressed objects). `workers` wore the wearables;
/// `labels` are their page labels (`W-…`).
fn assert_private(records: &[Value], raw: &[u8], workers: &[&Worker], labels: &[String]) {
    assert!(!records.is_empty(), "the receiver got records");
    let raw_text = String::from_utf8_lossy(raw).to_lowercase();
    for worker in workers {
        let tag = worker.badge.as_bytes();
        let hex_lower = hex::encode(tag);
        let forms = [
            worker.badge.to_lowercase(),
            hex_lower.clone(),
            base64(tag).to_lowercase(),
            worker.name.to_lowercase(),
        ];
        for form in &forms {
            assert!(
                !raw_text.contains(form.as_str()),
                "{form:?} (badge {} or its name) is in what the receiver keeps",
                worker.badge
            );
        }
        // Base64 is case-sensitive: search the exact form too, and the raw bytes.
        assert!(!contains(raw, base64(tag).as_bytes()));
        assert!(!contains(raw, tag));
        assert!(!contains(raw, hex_lower.to_uppercase().as_bytes()));
    }
    // The emulated wearables carry tags of their own (`B-1001` on): never uploaded either.
    assert!(
        !raw_text.contains("b-100"),
        "a wearable's own worker tag is in what the receiver keeps"
    );
    for label in labels {
        assert!(
            !raw_text.contains(&label.to_lowercase()),
            "the page label {label} is in what the receiver keeps"
        );
    }
    let schemas = schema_dir();
    for record in records {
        let kind = record["kind"].as_str().expect("every record has a kind");
        assert!(
            record["key"].is_string() && record["schema"].is_number(),
            "{record}"
        );
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(schemas.join(format!("{kind}.json"))).unwrap(),
        )
        .unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let problems: Vec<String> = validator
            .iter_errors(record)
            .map(|e| e.to_string())
            .collect();
        assert!(problems.is_empty(), "{record}: {problems:?}");
        let mut names = Vec::new();
        field_names(record, &mut names);
        if names.iter().any(|n| n == "worker" || n == "wearable") {
            for gps in [
                "lat",
                "lon",
                "alt_m",
                "latitude",
                "longitude",
                "hdop",
                "gps",
                "fix",
            ] {
                assert!(
                    !names.iter().any(|n| n == gps),
                    "a GPS field {gps} in a record naming a worker or wearable: {record}"
                );
            }
        }
        if let Some(worker) = record.get("worker").and_then(Value::as_str) {
            assert!(
                worker.len() == 64 && worker.bytes().all(|b| b.is_ascii_hexdigit()),
                "the worker pseudonym is 64 hex: {record}"
            );
        }
        if kind == "task_aggregate" || kind == "team_aggregate" {
            assert!(record["workers"].as_u64().unwrap() >= 5, "{record}");
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Standard base64 with padding, for the privacy search.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every byte of the receiver's database files (the database and its journal).
fn receiver_bytes(receiver: &HttpsReceiver) -> Vec<u8> {
    let mut raw = Vec::new();
    for suffix in ["", "-wal", "-journal"] {
        let mut path = receiver.db_path.clone().into_os_string();
        path.push(suffix);
        if let Ok(bytes) = std::fs::read(&path) {
            raw.extend(bytes);
        }
    }
    raw
}

/// A started HTTPS receiver (on a runtime of its own, so that the test's blocking waits never
/// starve it) and the `[upload]` table of a dock sending to it.
pub(crate) async fn https_receiver(dir: &TestDir, site: &str) -> (HttpsReceiver, String) {
    let token = "dock-token-0123456789";
    let config = ReceiverConfig::new(dir.join("receiver"), token);
    let receiver = tokio::task::spawn_blocking(move || HttpsReceiver::start_blocking(config))
        .await
        .unwrap()
        .unwrap();
    let token_file = dir.join("token");
    write_secret(&token_file, token);
    let table = format!(
        "[upload]\nurl = \"{}\"\nsite = \"{site}\"\ntoken_file = {token_file:?}\nca_file = {:?}\n{SMALL_BATCHES}",
        receiver.url, receiver.ca.ca_pem_path
    );
    (receiver, table)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_queued_item_reaches_the_https_receiver_exactly_once_through_its_faults() {
    let dir = TestDir::new("upload-https-receiver");
    std::fs::create_dir_all(dir.join("receiver")).unwrap();
    let (receiver, table) = https_receiver(&dir, "plant-a").await;
    // Two 500s, a 429 asking for a second, a reset mid-body, then a batch stored but never
    // answered: the dock must send it again, byte for byte.
    receiver.push_fault(Fault::Fail { next: 2 });
    receiver.push_fault(Fault::TooMany {
        next: 1,
        retry_after_s: 1,
    });
    receiver.push_fault(Fault::Reset { next: 1 });
    receiver.push_fault(Fault::DropResponse { next: 1 });
    let dock = Dock::start_with_tables("upload-https", &table);
    assert_eq!(upload_status(&dock)["configured"], true);

    let ada = wear_and_dock(&dock, &ADA, 7201, 1).await;
    wait_until_drained(&dock, "the first wearable's items to be delivered");
    let repeated = wait_for("the dropped batch sent again", DRAIN, || {
        let deliveries = receiver.deliveries().unwrap();
        let dropped = deliveries.iter().find(|d| !d.answered)?;
        let copies = deliveries
            .iter()
            .filter(|d| d.idempotency_key == dropped.idempotency_key)
            .count();
        (copies == 2).then(|| dropped.idempotency_key.clone())
    });

    // The next new batch is refused for its content: a dead letter that holds up nothing.
    receiver.push_fault(Fault::RejectNext { next: 1 });
    let bea = wear_and_dock(&dock, &BEA, 7202, 2).await;
    let upload = wait_for("a dead letter", DRAIN, || {
        let upload = upload_status(&dock);
        (upload["dead_letters"] == 1).then_some(upload)
    });
    wait_until_drained(&dock, "everything but the dead letter to be delivered");
    let error = upload["last_error"]
        .as_str()
        .expect("the refusal is the last error");
    assert!(
        error.ends_with('.') && error.chars().next().unwrap().is_uppercase(),
        "a sentence: {error:?}"
    );
    assert!(upload["queued_items"].as_u64().unwrap() > 0, "{upload}");
    let page = uploads_section(&dock);
    assert!(page.contains("Dead letters"), "{page}");
    let (retry, csrf) = form_on(&page, "/retry").expect("a Retry form for the admin");

    // The receiver is told to accept it; the admin retries it on the page.
    receiver.push_fault(Fault::Clear);
    let answer = dock.post_form(&retry, &format!("csrf={csrf}"));
    assert!(
        answer.starts_with("HTTP/1.1 303") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    let upload = wait_for("the retried dead letter to be delivered", DRAIN, || {
        let upload = upload_status(&dock);
        (upload["dead_letters"] == 0 && upload["queued_items"] == 0).then_some(upload)
    });
    assert!(
        upload["last_error"].is_null(),
        "a delivery clears the error: {upload}"
    );
    assert!(upload["oldest_ms"].is_null(), "nothing waits: {upload}");
    assert!(upload["last_success_ms"].is_i64(), "{upload}");
    assert_log_private(&dock, &[&ADA, &BEA]);
    let retried = dock.count(&format!(
        "SELECT COUNT(*) FROM audit WHERE user = '{TEST_USER}' AND subject LIKE 'upload dead letter %: retried'"
    ));
    assert_eq!(retried, 1, "the retry is in the audit trail");

    // Exactly once after de-duplication by key: every queued key, and nothing else.
    let keys = queued_keys(&dock);
    let items = receiver.items().unwrap();
    let received: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
    assert_eq!(received, keys, "every queued key at the receiver");
    let kinds: std::collections::BTreeSet<&str> =
        items.iter().filter_map(|i| i.kind.as_deref()).collect();
    // The sign-ins of this test are audited: the chain's head is anchored and uploaded too.
    for kind in ["shift_summary", "alert", "wearable_diag", "audit_anchor"] {
        assert!(kinds.contains(kind), "{kind} among {kinds:?}");
    }
    // The raw deliveries: the dropped batch twice under one Idempotency-Key, no other repeat.
    let deliveries = receiver.deliveries().unwrap();
    let mut by_key = std::collections::BTreeMap::<&str, usize>::new();
    for delivery in &deliveries {
        *by_key.entry(&delivery.idempotency_key).or_default() += 1;
    }
    let repeats: Vec<(&str, usize)> = by_key.into_iter().filter(|(_, n)| *n > 1).collect();
    assert_eq!(repeats, vec![(repeated.as_str(), 2)], "{deliveries:?}");

    let records: Vec<Value> = items.into_iter().map(|i| i.json).collect();
    assert_private(
        &records,
        &receiver_bytes(&receiver),
        &[&ADA, &BEA],
        &[ada, bea],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dock_without_an_upload_section_queues_nothing_and_says_not_configured() {
    let dock = Dock::start("upload-none");
    wear_and_dock(&dock, &ADA, 7301, 1).await;
    assert_eq!(dock.count("SELECT COUNT(*) FROM outbox_item"), 0);
    assert_eq!(dock.count("SELECT COUNT(*) FROM outbox_batch"), 0);
    let upload = upload_status(&dock);
    assert_eq!(upload["configured"], false, "{upload}");
    assert_eq!(upload["queued_items"], 0, "{upload}");
    let page = uploads_section(&dock);
    assert!(
        page.contains("not configured") || page.contains("Not configured"),
        "{page}"
    );
}

/// Every object file below `dir`, as paths relative to `root`.
fn objects_below(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            objects_below(root, &path, out);
        } else {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

/// What a bucket holds: its object keys, every object decompressed and joined, its records.
struct BucketContents {
    objects: Vec<String>,
    raw: Vec<u8>,
    records: Vec<Value>,
}

fn read_bucket(bucket: &Path) -> BucketContents {
    let mut objects = Vec::new();
    objects_below(bucket, bucket, &mut objects);
    let mut raw = Vec::new();
    for object in &objects {
        let body = std::fs::read(bucket.join(object)).unwrap();
        raw.extend(zstd::stream::decode_all(&body[..]).unwrap());
    }
    let records = String::from_utf8(raw.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    BucketContents {
        objects,
        raw,
        records,
    }
}

/// Whether `path` (below the bucket) is `<prefix>/site=<site>/kind=<kind>/date=<YYYY-MM-DD or
/// unknown>/batch-<id>.ndjson.zst`.
fn is_hive_object_key(path: &str, prefix: &str, site: &str) -> bool {
    let Some(rest) = path.strip_prefix(&format!("{prefix}/site={site}/kind=")) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let [kind, date, file] = parts.as_slice() else {
        return false;
    };
    let date_ok = date.strip_prefix("date=").is_some_and(|d| {
        d == "unknown"
            || (d.len() == 10
                && d.bytes().enumerate().all(|(i, b)| {
                    if i == 4 || i == 7 {
                        b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                }))
    });
    !kind.is_empty()
        && date_ok
        && file
            .strip_prefix("batch-")
            .and_then(|f| f.strip_suffix(".ndjson.zst"))
            .is_some_and(|id| !id.is_empty())
}

/// The S3 server (failing with a clear message when `s3s-fs` is not installed) with a bucket,
/// and the `[upload]` tables of a dock signing with `secret` (the server's is `SECRET`).
const ACCESS: &str = "dockaccess";
const SECRET: &str = "docksecret0123456789";
const BUCKET: &str = "fleet";
const PREFIX: &str = "docks/v1";

fn s3_tables(dir: &TestDir, server: &S3Server, name: &str, site: &str, secret: &str) -> String {
    let access_file = dir.join(&format!("{name}.access"));
    let secret_file = dir.join(&format!("{name}.secret"));
    write_secret(&access_file, ACCESS);
    write_secret(&secret_file, secret);
    format!(
        "[upload]\nurl = \"s3://{BUCKET}/{PREFIX}\"\nsite = \"{site}\"\n{SMALL_BATCHES}\
         [upload.s3]\nendpoint = \"{}\"\nregion = \"us-east-1\"\naccess_key_file = {access_file:?}\nsecret_key_file = {secret_file:?}\n",
        server.endpoint
    )
}

fn start_s3(dir: &TestDir) -> S3Server {
    let server = S3Server::start(&dir.join("s3"), ACCESS, SECRET).unwrap_or_else(|e| {
        panic!(
            "the S3 tests need s3s-fs at {} (tests/run.sh installs it): {e}",
            receivers::s3::binary().display()
        )
    });
    server.create_bucket(BUCKET).unwrap();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_objects_are_hive_partitioned_and_duckdb_answers_the_docks_own_figures() {
    let dir = TestDir::new("upload-s3");
    let server = start_s3(&dir);
    let dock = Dock::start_with_tables(
        "upload-s3-dock",
        &s3_tables(&dir, &server, "good", "plant-b", SECRET),
    );
    let ada = wear_and_dock(&dock, &ADA, 7401, 1).await;
    let bea = wear_and_dock(&dock, &BEA, 7402, 2).await;
    wait_for("the S3 queue to drain", DRAIN, || {
        let upload = upload_status(&dock);
        (upload["queued_items"] == 0 && upload["last_success_ms"].is_i64()).then_some(())
    });
    assert_eq!(upload_status(&dock)["dead_letters"], 0);

    // Objects land at deterministic Hive-style keys.
    let bucket = read_bucket(&server.root.join(BUCKET));
    let objects = &bucket.objects;
    assert!(!objects.is_empty());
    for object in objects {
        assert!(
            is_hive_object_key(object, PREFIX, "plant-b"),
            "{object} is not {PREFIX}/site=plant-b/kind=…/date=…/batch-<id>.ndjson.zst"
        );
    }
    assert!(
        objects.iter().any(|o| o.contains("/kind=shift_summary/")),
        "{objects:?}"
    );
    // Everything in them is private and valid.
    assert_private(&bucket.records, &bucket.raw, &[&ADA, &BEA], &[ada, bea]);
    assert_log_private(&dock, &[&ADA, &BEA]);

    // DuckDB reads the folder in place: per site and day, the latest revision of each shift.
    let query = format!(
        "SELECT site, CAST(date AS VARCHAR) AS day, count(*) AS shifts, CAST(sum(bends) AS BIGINT) AS bends \
         FROM (SELECT site, date, key, arg_max(counts.bends, revision) AS bends \
               FROM read_json_auto('{BUCKET}/{PREFIX}/*/kind=shift_summary/*/*.ndjson.zst', hive_partitioning = true) \
               GROUP BY site, date, key) \
         GROUP BY ALL ORDER BY ALL"
    );
    let rows = receivers::duckdb::query(&server.root, &query).unwrap_or_else(|e| {
        panic!(
            "DuckDB (the venv at {}, tests/run.sh installs it) failed: {e}",
            receivers::duckdb::python().display()
        )
    });
    let fleet: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {} {} {}", r["site"], r["day"], r["shifts"], r["bends"]))
        .collect();
    let mut own = std::collections::BTreeMap::<String, (u64, u64)>::new();
    let db = dock.db();
    let mut reports = db.prepare("SELECT report FROM shift_report").unwrap();
    for report in reports
        .query_map([], |row| row.get::<_, String>(0))
        .unwrap()
    {
        let report: Value = serde_json::from_str(&report.unwrap()).unwrap();
        let day = report["local_day"].as_str().unwrap().to_owned();
        let entry = own.entry(day).or_default();
        entry.0 += 1;
        entry.1 += report["counts"]["bends"].as_u64().unwrap();
    }
    let dock_figures: Vec<String> = own
        .iter()
        .map(|(day, (shifts, bends))| format!("\"plant-b\" \"{day}\" {shifts} {bends}"))
        .collect();
    assert_eq!(
        fleet, dock_figures,
        "DuckDB over the bucket = the dock's own figures"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_s3_secret_pauses_the_queue_visibly_and_a_fixed_one_drains_it() {
    let dir = TestDir::new("upload-s3-secret");
    let server = start_s3(&dir);
    let mut dock = Dock::start_with_tables(
        "upload-s3-wrong",
        &s3_tables(&dir, &server, "wrong", "plant-c", "not-the-secret"),
    );
    let label = wear_and_dock(&dock, &ADA, 7501, 1).await;
    let upload = wait_for("the queue to pause", DRAIN, || {
        let upload = upload_status(&dock);
        upload["paused"].is_string().then_some(upload)
    });
    for said in [&upload["paused"], &upload["last_error"]] {
        let sentence = said.as_str().unwrap_or_else(|| panic!("{upload}"));
        assert!(
            sentence.ends_with('.') && sentence.chars().next().unwrap().is_uppercase(),
            "a sentence: {sentence:?}"
        );
    }
    let queued = upload["queued_items"].as_u64().unwrap();
    assert!(queued > 0, "nothing is lost: {upload}");
    let page = uploads_section(&dock);
    assert!(page.contains("Uploads are paused"), "{page}");
    let bucket = server.root.join(BUCKET);
    let refused = read_bucket(&bucket).objects;
    assert!(
        refused.is_empty(),
        "a refused signature stores nothing: {refused:?}"
    );

    // IT fixes the secret file; after a restart the backlog drains, all of it.
    write_secret(&dir.join("wrong.secret"), SECRET);
    dock.stop();
    dock.restart();
    let upload = wait_for("the backlog to drain", DRAIN, || {
        let upload = upload_status(&dock);
        (upload["queued_items"] == 0 && upload["paused"].is_null()).then_some(upload)
    });
    assert!(
        upload["last_error"].is_null(),
        "a delivery clears the error: {upload}"
    );
    assert_log_private(&dock, &[&ADA]);
    let drained = read_bucket(&bucket);
    let keys: std::collections::BTreeSet<String> = drained
        .records
        .iter()
        .map(|r| r["key"].as_str().unwrap().to_owned())
        .collect();
    assert_private(&drained.records, &drained.raw, &[&ADA], &[label]);
    let queued: std::collections::BTreeSet<String> = queued_keys(&dock).into_iter().collect();
    assert_eq!(keys, queued, "every queued key is in the bucket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_docks_sharing_a_site_key_upload_one_pseudonym_for_a_badge_and_a_dock_of_its_own_another()
 {
    use crate::cli::SITE_KEY_HEX;
    let dir = TestDir::new("upload-site-key");
    let site_key = dir.join("site.key");
    std::fs::write(&site_key, format!("{SITE_KEY_HEX}\n")).unwrap();
    let mut pseudonyms = Vec::new();
    for (name, shared_key, seed) in [("a", true, 7601), ("b", true, 7602), ("own", false, 7603)] {
        let receiver_dir = TestDir::new(&format!("upload-site-key-receiver-{name}"));
        std::fs::create_dir_all(receiver_dir.join("receiver")).unwrap();
        let (receiver, mut tables) = https_receiver(&receiver_dir, "plant-d").await;
        if shared_key {
            tables.push_str(&format!("[privacy]\nsite_key_file = {site_key:?}\n"));
        }
        let dock = Dock::start_with_tables(&format!("upload-site-key-{name}"), &tables);
        let label = wear_and_dock(&dock, &ADA, seed, 1).await;
        let worker = wait_for("the shift summary at the receiver", DRAIN, || {
            receiver
                .items()
                .unwrap()
                .into_iter()
                .find(|i| i.kind.as_deref() == Some("shift_summary"))
                .and_then(|i| i.json["worker"].as_str().map(str::to_owned))
        });
        let records: Vec<Value> = receiver
            .items()
            .unwrap()
            .into_iter()
            .map(|i| i.json)
            .collect();
        assert_private(&records, &receiver_bytes(&receiver), &[&ADA], &[label]);
        pseudonyms.push(worker);
    }
    assert_eq!(pseudonyms[0], pseudonyms[1], "one pseudonym per site");
    assert_ne!(
        pseudonyms[0], pseudonyms[2],
        "a dock of its own keys its own"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_workers_deletion_record_reaches_the_receiver_under_the_pseudonym_they_were_uploaded_under()
 {
    // The badge the emulated wearable's shift is worn under (its fleet's first worker).
    const FAY: Worker = Worker {
        badge: "B-1001",
        name: "Fay Deletetest",
    };
    let dir = TestDir::new("upload-deletion");
    std::fs::create_dir_all(dir.join("receiver")).unwrap();
    let (receiver, tables) = https_receiver(&dir, "plant-e").await;
    let dock = Dock::start_with_tables("upload-deletion", &tables);
    let label = wear_and_dock(&dock, &FAY, 7701, 1).await;
    let (worker, key_id) = wait_for("the shift summary at the receiver", DRAIN, || {
        receiver
            .items()
            .unwrap()
            .into_iter()
            .find(|i| i.kind.as_deref() == Some("shift_summary"))
            .and_then(|i| {
                Some((
                    i.json["worker"].as_str()?.to_owned(),
                    i.json["key_id"].as_str()?.to_owned(),
                ))
            })
    });

    let done =
        dock.run_command_with_input(&["worker", "delete", "--yes"], &format!("{}\n", FAY.badge));
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        String::from_utf8_lossy(&done.stdout).contains("1 deletion records queued for the cloud"),
        "{}",
        String::from_utf8_lossy(&done.stdout)
    );
    let deleted = wait_for("the deletion record at the receiver", DRAIN, || {
        receiver
            .items()
            .unwrap()
            .into_iter()
            .find(|i| i.kind.as_deref() == Some("worker_deleted"))
            .map(|i| i.json)
    });
    assert_eq!(deleted["worker"], worker.as_str());
    assert_eq!(deleted["key_id"], key_id.as_str());
    assert_eq!(
        deleted["key"],
        format!("worker_deleted:plant-e:{key_id}:{worker}")
    );
    let records: Vec<Value> = receiver
        .items()
        .unwrap()
        .into_iter()
        .map(|i| i.json)
        .collect();
    assert_private(&records, &receiver_bytes(&receiver), &[&FAY], &[label]);
    wait_until_drained(&dock, "the outbox to drain after the deletion");
    assert_log_private(&dock, &[&FAY]);
}
