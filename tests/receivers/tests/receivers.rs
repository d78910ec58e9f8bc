//! The receivers work as the upload tests will rely on: the HTTPS receiver stores, de-duplicates
//! and misbehaves on request, reached through its test CA only; s3s-fs verifies SigV4 signatures
//! (made with rusty-s3, as the daemon's S3 target will) and keeps objects as files.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed unwrap is a failed test.

use std::path::PathBuf;
use std::time::Duration;

use receivers::{Fault, HttpsReceiver, ReceiverConfig, S3Server};
use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;

const TOKEN: &str = "dock-7-token";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dockd-receivers-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn receiver(name: &str) -> HttpsReceiver {
    HttpsReceiver::start(ReceiverConfig::new(temp_dir(name), TOKEN))
        .await
        .unwrap()
}

/// A client whose only root is the receiver's test CA.
fn client(receiver: &HttpsReceiver) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(receiver.ca.ca_pem.as_bytes()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A zstd-compressed NDJSON batch of items with these keys.
fn batch(keys: &[&str]) -> Vec<u8> {
    let mut ndjson = String::new();
    for key in keys {
        ndjson.push_str(&format!(
            "{{\"kind\":\"shift_summary\",\"key\":\"{key}\",\"schema\":1}}\n"
        ));
    }
    zstd::stream::encode_all(ndjson.as_bytes(), 3).unwrap()
}

/// Posts a batch of items with these keys; its answer's status.
async fn send(
    client: &reqwest::Client,
    receiver: &HttpsReceiver,
    idempotency_key: &str,
    keys: &[&str],
) -> StatusCode {
    post(client, receiver, idempotency_key, batch(keys))
        .await
        .unwrap()
        .status()
}

async fn post(
    client: &reqwest::Client,
    receiver: &HttpsReceiver,
    idempotency_key: &str,
    body: Vec<u8>,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(&receiver.url)
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", idempotency_key)
        .header("Content-Encoding", "zstd")
        .body(body)
        .send()
        .await
}

#[tokio::test]
async fn every_delivery_is_counted_and_every_item_is_kept_once_by_key() {
    let receiver = receiver("dedup").await;
    let client = client(&receiver);
    assert_eq!(
        send(&client, &receiver, "batch-1", &["a", "b", "c"]).await,
        StatusCode::OK
    );
    assert_eq!(
        send(&client, &receiver, "batch-1", &["a", "b", "c"]).await,
        StatusCode::OK
    );
    assert_eq!(
        send(&client, &receiver, "batch-2", &["c", "d"]).await,
        StatusCode::OK
    );

    let deliveries = receiver.deliveries().unwrap();
    let counts: Vec<_> = deliveries
        .iter()
        .map(|d| (d.idempotency_key.as_str(), d.items, d.new_items, d.answered))
        .collect();
    assert_eq!(
        counts,
        [
            ("batch-1", 3, 3, true),
            ("batch-1", 3, 0, true),
            ("batch-2", 2, 1, true)
        ]
    );
    assert_eq!(
        deliveries[0].body_bytes,
        batch(&["a", "b", "c"]).len() as u64
    );
    let items = receiver.items().unwrap();
    let keys: Vec<_> = items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["a", "b", "c", "d"]);
    assert_eq!(items[0].kind.as_deref(), Some("shift_summary"));
    assert_eq!(items[0].json["schema"], 1);
    // The database is a file the tests (or sqlite3) can read beside the receiver.
    assert!(receiver.db_path.is_file());
}

#[tokio::test]
async fn an_ingest_path_that_would_clash_with_the_control_endpoint_is_refused() {
    for path in ["/control", "ingest", "/{batch}"] {
        let mut config = ReceiverConfig::new(temp_dir("path"), TOKEN);
        config.path = path.to_owned();
        let refused = HttpsReceiver::start(config).await;
        assert!(
            matches!(refused, Err(receivers::ReceiverError::IngestPath(_))),
            "{path}"
        );
    }
    let mut config = ReceiverConfig::new(temp_dir("path-ok"), TOKEN);
    config.path = "/v1/batches".to_owned();
    let receiver = HttpsReceiver::start(config).await.unwrap();
    assert!(receiver.url.ends_with("/v1/batches"));
    let client = client(&receiver);
    assert_eq!(
        send(&client, &receiver, "batch-1", &["a"]).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_refused_with_401_and_consumes_no_fault() {
    let receiver = receiver("token").await;
    let client = client(&receiver);
    receiver.push_fault(Fault::Fail { next: 1 });
    let wrong = client
        .post(&receiver.url)
        .bearer_auth("someone-else")
        .header("Idempotency-Key", "batch-1")
        .body(batch(&["a"]))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let missing = client
        .post(&receiver.url)
        .header("Idempotency-Key", "batch-1")
        .body(batch(&["a"]))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(&client, &receiver, "batch-1", &["a"]).await,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(receiver.items().unwrap().is_empty());
    assert_eq!(receiver.requests(), 3);
}

#[tokio::test]
async fn the_receiver_is_trusted_through_its_test_ca_and_no_other() {
    let other = receiver("ca-other").await;
    let receiver = receiver("ca").await;
    let stranger = client(&other);
    let error = post(&stranger, &receiver, "batch-1", batch(&["a"]))
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{error:?}");
    // The CA is on disk for clients in other processes (dockd's `ca_file`).
    let on_disk = std::fs::read_to_string(&receiver.ca.ca_pem_path).unwrap();
    assert_eq!(on_disk, receiver.ca.ca_pem);
    let port = std::fs::read_to_string(receiver.ca.ca_pem_path.with_file_name("port")).unwrap();
    assert_eq!(port, receiver.addr.port().to_string());
}

#[tokio::test]
async fn the_next_requests_fail_with_500_then_the_receiver_recovers() {
    let receiver = receiver("fail").await;
    let client = client(&receiver);
    receiver.push_fault(Fault::Fail { next: 2 });
    for _ in 0..2 {
        assert_eq!(
            send(&client, &receiver, "batch-1", &["a"]).await,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    assert!(receiver.deliveries().unwrap().is_empty());
    assert_eq!(
        send(&client, &receiver, "batch-1", &["a"]).await,
        StatusCode::OK
    );
    assert_eq!(receiver.items().unwrap().len(), 1);
}

#[tokio::test]
async fn too_many_requests_are_answered_429_with_retry_after() {
    let receiver = receiver("429").await;
    let client = client(&receiver);
    receiver.push_fault(Fault::TooMany {
        next: 1,
        retry_after_s: 7,
    });
    let response = post(&client, &receiver, "batch-1", batch(&["a"]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "7");
    assert!(receiver.deliveries().unwrap().is_empty());
    assert_eq!(
        send(&client, &receiver, "batch-1", &["a"]).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_reset_mid_body_stores_nothing_and_the_next_connection_is_served() {
    let receiver = receiver("reset").await;
    let client = client(&receiver);
    receiver.push_fault(Fault::Reset { next: 1 });
    // 8 MiB of incompressible-enough bytes: far more than the first read, so the reset comes
    // while the client is still sending.
    let body: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let error = post(&client, &receiver, "batch-1", body).await.unwrap_err();
    assert!(!error.is_timeout(), "{error:?}");
    assert!(receiver.deliveries().unwrap().is_empty());
    assert_eq!(
        send(&client, &receiver, "batch-1", &["a"]).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_stalled_request_is_never_answered_and_the_next_one_is() {
    let receiver = receiver("stall").await;
    let client = client(&receiver);
    receiver.push_fault(Fault::Stall { next: 1 });
    let error = client
        .post(&receiver.url)
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "batch-1")
        .header("Content-Encoding", "zstd")
        .body(batch(&["a"]))
        .timeout(Duration::from_millis(500))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(receiver.deliveries().unwrap().is_empty());
    assert_eq!(
        send(&client, &receiver, "batch-1", &["a"]).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_dropped_response_stores_the_batch_and_forces_a_duplicate_send() {
    let receiver = receiver("drop").await;
    let client = client(&receiver);
    receiver.push_fault(Fault::DropResponse { next: 1 });
    let error = post(&client, &receiver, "batch-1", batch(&["a", "b"]))
        .await
        .unwrap_err();
    assert!(!error.is_timeout(), "{error:?}");
    let stored = receiver.deliveries().unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].answered);
    // The sender could not know, so it sends the same batch again: one more raw delivery, no
    // more items.
    assert_eq!(
        send(&client, &receiver, "batch-1", &["a", "b"]).await,
        StatusCode::OK
    );
    let deliveries = receiver.deliveries().unwrap();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[1].new_items, 0);
    assert_eq!(receiver.items().unwrap().len(), 2);
}

#[tokio::test]
async fn one_rejected_batch_is_refused_with_422_every_time_and_others_pass() {
    let receiver = receiver("reject").await;
    let client = client(&receiver);
    receiver.push_fault(Fault::Reject {
        idempotency_key: "batch-bad".to_owned(),
    });
    for _ in 0..3 {
        assert_eq!(
            send(&client, &receiver, "batch-bad", &["x"]).await,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    assert_eq!(
        send(&client, &receiver, "batch-good", &["a"]).await,
        StatusCode::OK
    );
    let keys: Vec<_> = receiver
        .items()
        .unwrap()
        .into_iter()
        .map(|i| i.key)
        .collect();
    assert_eq!(keys, ["a"]);
}

#[tokio::test]
async fn the_next_batch_can_be_rejected_without_knowing_its_id_and_stays_rejected() {
    let receiver = receiver("reject-next").await;
    let client = client(&receiver);
    receiver.push_fault(Fault::RejectNext { next: 1 });
    for _ in 0..2 {
        assert_eq!(
            send(&client, &receiver, "batch-first", &["x"]).await,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    assert_eq!(
        send(&client, &receiver, "batch-second", &["a"]).await,
        StatusCode::OK
    );
    receiver.push_fault(Fault::Clear);
    assert_eq!(
        send(&client, &receiver, "batch-first", &["x"]).await,
        StatusCode::OK
    );
    assert_eq!(receiver.items().unwrap().len(), 2);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413_until_the_limit_is_lifted() {
    let receiver = receiver("413").await;
    let client = client(&receiver);
    let body = batch(&["a", "b", "c", "d"]);
    receiver.push_fault(Fault::MaxBodyBytes {
        bytes: Some(body.len() as u64 - 1),
    });
    let response = post(&client, &receiver, "batch-1", body.clone())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        send(&client, &receiver, "batch-2", &["a"]).await,
        StatusCode::OK
    );
    receiver.push_fault(Fault::Clear);
    let response = post(&client, &receiver, "batch-1", body).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(receiver.items().unwrap().len(), 4);
}

#[tokio::test]
async fn faults_are_set_over_https_through_the_control_endpoint() {
    let receiver = receiver("control").await;
    let client = client(&receiver);
    let control = receiver.url.replace("/ingest", "/control");
    let set = client
        .post(&control)
        .json(&serde_json::json!({"fault": "too_many", "next": 1, "retry_after_s": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        send(&client, &receiver, "batch-1", &["a"]).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let unknown = client
        .post(&control)
        .json(&serde_json::json!({"fault": "explode"}))
        .send()
        .await
        .unwrap();
    assert!(unknown.status().is_client_error());
}

#[tokio::test]
async fn a_batch_with_a_line_without_a_key_is_refused_whole_with_400() {
    let receiver = receiver("400").await;
    let client = client(&receiver);
    let body = zstd::stream::encode_all(
        &b"{\"kind\":\"a\",\"key\":\"k1\"}\n{\"kind\":\"a\"}\n"[..],
        3,
    )
    .unwrap();
    let response = post(&client, &receiver, "batch-1", body).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let no_key = client
        .post(&receiver.url)
        .bearer_auth(TOKEN)
        .header("Content-Encoding", "zstd")
        .body(batch(&["a"]))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), StatusCode::BAD_REQUEST);
    assert!(receiver.deliveries().unwrap().is_empty());
    assert!(receiver.items().unwrap().is_empty());
}

#[test]
fn a_receiver_started_from_synchronous_code_serves_a_blocking_client() {
    let receiver =
        HttpsReceiver::start_blocking(ReceiverConfig::new(temp_dir("blocking"), TOKEN)).unwrap();
    let ca = reqwest::Certificate::from_pem(receiver.ca.ca_pem.as_bytes()).unwrap();
    let client = reqwest::blocking::Client::builder()
        .tls_certs_only([ca])
        .build()
        .unwrap();
    let response = client
        .post(&receiver.url)
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "batch-1")
        .header("Content-Encoding", "zstd")
        .body(batch(&["a", "b"]))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(receiver.items().unwrap().len(), 2);
}

#[test]
fn the_receiver_binary_says_where_it_listens_and_serves_there() {
    use std::io::BufRead;
    let dir = temp_dir("binary");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_https-receiver"))
        .args(["--dir", dir.to_str().unwrap(), "--token", TOKEN])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let port = std::fs::read_to_string(dir.join("port")).unwrap();
    assert_eq!(
        listening,
        format!("listening https://127.0.0.1:{port}/ingest")
    );
    assert!(dir.join("ca.pem").is_file());
}

// ---- s3s-fs ----

const ACCESS_KEY: &str = "dock7access";
const SECRET_KEY: &str = "dock7secret-0123456789";

fn signed_put(server: &S3Server, secret: &str, object: &str) -> reqwest::Url {
    use rusty_s3::S3Action;
    let endpoint = reqwest::Url::parse(&server.endpoint).unwrap();
    let bucket =
        rusty_s3::Bucket::new(endpoint, rusty_s3::UrlStyle::Path, "fleet", "us-east-1").unwrap();
    let credentials = rusty_s3::Credentials::new(ACCESS_KEY, secret);
    bucket
        .put_object(Some(&credentials), object)
        .sign(Duration::from_secs(300))
}

#[tokio::test]
async fn a_put_signed_with_the_right_secret_is_kept_as_a_file_in_the_folder() {
    let root = temp_dir("s3-right");
    let server = S3Server::start(&root, ACCESS_KEY, SECRET_KEY).unwrap();
    let bucket = server.create_bucket("fleet").unwrap();
    let object = "site=plant-a/kind=shift_summary/date=2026-12-07/batch-1.ndjson.zst";
    let body = batch(&["a", "b"]);
    let response = reqwest::Client::new()
        .put(signed_put(&server, SECRET_KEY, object))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );
    assert_eq!(std::fs::read(bucket.join(object)).unwrap(), body);
}

#[tokio::test]
async fn a_put_signed_with_a_wrong_secret_is_refused_with_403_signature_does_not_match() {
    let root = temp_dir("s3-wrong");
    let server = S3Server::start(&root, ACCESS_KEY, SECRET_KEY).unwrap();
    let bucket = server.create_bucket("fleet").unwrap();
    let object = "site=plant-a/kind=shift_summary/date=2026-12-07/batch-1.ndjson.zst";
    let response = reqwest::Client::new()
        .put(signed_put(&server, "not-the-secret", object))
        .body(batch(&["a"]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let text = response.text().await.unwrap();
    assert!(text.contains("SignatureDoesNotMatch"), "{text}");
    assert!(!bucket.join(object).exists());
}

// ---- DuckDB ----

/// A zstd NDJSON object of shift summaries, each `(key, minutes)`.
fn summaries(items: &[(&str, u32)]) -> Vec<u8> {
    let mut ndjson = String::new();
    for (key, minutes) in items {
        ndjson.push_str(&format!(
            "{{\"kind\":\"shift_summary\",\"key\":\"{key}\",\"schema\":1,\"minutes\":{minutes}}}\n"
        ));
    }
    zstd::stream::encode_all(ndjson.as_bytes(), 3).unwrap()
}

/// Per site and day, with no DISTINCT: the layout alone must make the figures right.
const PER_SITE_AND_DAY: &str = "SELECT site, CAST(date AS VARCHAR) AS day, count(*) AS shifts, \
     CAST(sum(minutes) AS INTEGER) AS minutes \
     FROM read_json_auto('fleet/*/*/*/*.ndjson.zst', hive_partitioning = true) \
     GROUP BY ALL ORDER BY ALL";

fn figures(rows: &[serde_json::Map<String, serde_json::Value>]) -> Vec<String> {
    rows.iter()
        .map(|row| {
            format!(
                "{} {} {} {}",
                row["site"], row["day"], row["shifts"], row["minutes"]
            )
        })
        .collect()
}

#[test]
fn duckdb_reads_hive_partitioned_zstd_ndjson_per_site_and_day() {
    let dir = temp_dir("duckdb");
    for (site, day, batch, items) in [
        ("plant-a", "2026-12-07", "1", vec![("a1", 10), ("a2", 5)]),
        ("plant-a", "2026-12-08", "2", vec![("a3", 7)]),
        ("plant-b", "2026-12-07", "3", vec![("b1", 30)]),
    ] {
        let folder = dir.join(format!("fleet/site={site}/kind=shift_summary/date={day}"));
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join(format!("batch-{batch}.ndjson.zst")),
            summaries(&items),
        )
        .unwrap();
    }
    let rows = receivers::duckdb::query(&dir, PER_SITE_AND_DAY).unwrap();
    assert_eq!(
        figures(&rows),
        [
            r#""plant-a" "2026-12-07" 2 15"#,
            r#""plant-a" "2026-12-08" 1 7"#,
            r#""plant-b" "2026-12-07" 1 30"#
        ]
    );
}

#[tokio::test]
async fn objects_put_through_s3s_fs_are_queried_in_place_by_duckdb() {
    let root = temp_dir("s3-duckdb");
    let server = S3Server::start(&root, ACCESS_KEY, SECRET_KEY).unwrap();
    server.create_bucket("fleet").unwrap();
    let client = reqwest::Client::new();
    for (object, items) in [
        (
            "site=plant-a/kind=shift_summary/date=2026-12-07/batch-1.ndjson.zst",
            vec![("a1", 10), ("a2", 5)],
        ),
        (
            "site=plant-b/kind=shift_summary/date=2026-12-07/batch-2.ndjson.zst",
            vec![("b1", 30)],
        ),
    ] {
        let response = client
            .put(signed_put(&server, SECRET_KEY, object))
            .body(summaries(&items))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let rows = receivers::duckdb::query(&root, PER_SITE_AND_DAY).unwrap();
    assert_eq!(
        figures(&rows),
        [
            r#""plant-a" "2026-12-07" 2 15"#,
            r#""plant-b" "2026-12-07" 1 30"#
        ]
    );
}

#[tokio::test]
async fn a_sender_gone_mid_body_gets_400_and_nothing_is_stored() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let receiver = receiver("gone").await;
    let mut roots = rustls::RootCertStore::empty();
    let ca =
        rustls::pki_types::CertificateDer::from_pem_slice(receiver.ca.ca_pem.as_bytes()).unwrap();
    roots.add(ca).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(receiver.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let head = format!(
        "POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\
         Idempotency-Key: batch-1\r\nContent-Length: 1000\r\n\r\n{{\"key\":\"a\"}}\n"
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    // The sender stops writing 988 bytes short (as a killed dock would) but still reads.
    tls.shutdown().await.unwrap();
    let mut answer = String::new();
    let _ = tls.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(receiver.deliveries().unwrap().is_empty());
    assert!(receiver.items().unwrap().is_empty());
}

#[tokio::test]
async fn a_slow_receiver_stores_a_batch_before_it_answers_and_every_delivery_keeps_its_body_hash() {
    use sha2::Digest;
    let receiver = receiver("slow").await;
    let client = client(&receiver);
    receiver.push_fault(Fault::Slow { ms: 400 });
    let body = batch(&["a", "b"]);
    let sending = tokio::spawn({
        let (client, url, body) = (client.clone(), receiver.url.clone(), body.clone());
        async move {
            client
                .post(&url)
                .bearer_auth(TOKEN)
                .header("Idempotency-Key", "batch-1")
                .header("Content-Encoding", "zstd")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    // Stored while the sender still waits for the answer: the window a kill falls into.
    let started = std::time::Instant::now();
    while receiver.deliveries().unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "never stored");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!sending.is_finished(), "answered only after the delay");
    assert_eq!(sending.await.unwrap(), StatusCode::OK);

    receiver.push_fault(Fault::Slow { ms: 0 });
    assert_eq!(
        post(&client, &receiver, "batch-1", body.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        send(&client, &receiver, "batch-2", &["c"]).await,
        StatusCode::OK
    );
    let hash: String = sha2::Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let deliveries = receiver.deliveries().unwrap();
    assert_eq!(deliveries.len(), 3);
    assert_eq!(deliveries[0].body_sha256, hash);
    assert_eq!(deliveries[1].body_sha256, hash, "the same bytes again");
    assert_ne!(deliveries[2].body_sha256, hash);
}
