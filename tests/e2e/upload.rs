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
use receivers::{Fault, HttpsReceiver, ReceiverConfig};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::spine::shift;
use crate::support::{Dock, TEST_USER, TestDir, wait_for};

/// A roster worker: badge tag and display name (neither may ever leave the dock).
struct Worker {
    badge: &'static str,
    name: &'static str,
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

/// One wearable (from `seed`) worn by `worker` for a one-hour shift that just ended, docked at
/// `dock` until drained; waits until its shift report is stored (`reports` in all). The worker's
/// `W-…` label.
async fn wear_and_dock(dock: &Dock, worker: &Worker, seed: u64, reports: i64) -> String {
    let mut wearable: Wearable = tokio::task::spawn_blocking(move || {
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
    .unwrap();
    let label = assign(dock, worker, wearable.serial());
    let addr = LinkAddr::Unix(dock.socket.clone());
    dock_until_drained(
        &mut wearable,
        &addr,
        &Faults::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
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
fn wait_until_drained(dock: &Dock, what: &str) {
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

/// The `csrf` field and the `action` of the first form on `page` whose action ends with
/// `suffix`.
fn form_on(page: &str, suffix: &str) -> Option<(String, String)> {
    page.split("<form").skip(1).find_map(|form| {
        let attribute = |name: &str| {
            let (_, rest) = form.split_once(&format!("{name}=\""))?;
            rest.split_once('"').map(|(value, _)| value.to_owned())
        };
        let action = attribute("action")?;
        if !action.ends_with(suffix) {
            return None;
        }
        let (_, field) = form.split_once("name=\"csrf\"")?;
        let (_, value) = field.split_once("value=\"")?;
        let csrf = value.split_once('"')?.0.to_owned();
        Some((action, csrf))
    })
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
async fn https_receiver(dir: &TestDir, site: &str) -> (HttpsReceiver, String) {
    let token = "dock-token-0123456789";
    let config = ReceiverConfig::new(dir.join("receiver"), token);
    let receiver = tokio::task::spawn_blocking(move || HttpsReceiver::start_blocking(config))
        .await
        .unwrap()
        .unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
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
    wait_for("the retried dead letter to be delivered", DRAIN, || {
        let upload = upload_status(&dock);
        (upload["dead_letters"] == 0 && upload["queued_items"] == 0).then_some(())
    });
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
    for kind in ["shift_summary", "alert", "wearable_diag"] {
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
