//! The upload edges against the real receivers of `tests/receivers`: the HTTPS receiver (test CA,
//! its own SQLite, faults), a real `CONNECT` proxy and s3s-fs verifying SigV4.

use std::path::{Path, PathBuf};
use std::time::Duration;

use receivers::{ConnectProxy, Fault, HttpsReceiver, ReceiverConfig, S3Server};

use super::s3::s3_outcome;
use super::target::{Outgoing, Target, TargetError, Timeouts, proxy_url};
use crate::config::{Config, UploadConfig};
use crate::upload::batch::{batch_id, encode, object_key};
use crate::upload::{Item, Kind, Outcome, Partition};

pub(super) const TOKEN: &str = "dock-7-token";
const ACCESS_KEY: &str = "dock7access";
const SECRET_KEY: &str = "dock7secret-0123456789";

pub(super) fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dockd-uploader-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A file holding `text`, 0600 as the README asks of secret files.
fn secret_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// `[upload]` as the file would give it.
fn upload_config(toml: &str) -> UploadConfig {
    Config::parse(toml, Path::new("test.toml"))
        .unwrap()
        .upload
        .unwrap()
}

/// `[upload]` for the HTTPS receiver, trusting its CA, with this token.
pub(super) fn https_config(
    receiver: &HttpsReceiver,
    dir: &Path,
    token: &str,
    extra: &str,
) -> UploadConfig {
    let token_file = secret_file(dir, "token", &format!("{token}\n"));
    upload_config(&format!(
        "[upload]\nurl = \"{}\"\nsite = \"plant-a\"\ntoken_file = \"{}\"\nca_file = \"{}\"\n{extra}",
        receiver.url,
        token_file.display(),
        receiver.ca.ca_pem_path.display()
    ))
}

pub(super) async fn receiver(dir: &Path) -> HttpsReceiver {
    HttpsReceiver::start(ReceiverConfig::new(dir.join("receiver"), TOKEN))
        .await
        .unwrap()
}

/// A committed batch of shift summaries with these keys: its members, id and bytes.
struct Batch {
    items: Vec<Item>,
    id: String,
    partition: Partition,
    body: Vec<u8>,
}

impl Batch {
    fn of(keys: &[&str]) -> Batch {
        let items: Vec<Item> = keys
            .iter()
            .map(|key| Item {
                key: (*key).to_owned(),
                kind: Kind::ShiftSummary,
                day: "2026-12-07".to_owned(),
                payload: format!(
                    "{{\"kind\":\"shift_summary\",\"key\":\"{key}\",\"schema\":1,\"minutes\":42}}"
                )
                .into_bytes(),
                created_ms: 1_765_000_000_000,
            })
            .collect();
        let members: Vec<&Item> = items.iter().collect();
        Batch {
            id: batch_id(&members),
            body: encode(&members).unwrap(),
            partition: Partition {
                kind: Kind::ShiftSummary,
                day: "2026-12-07".to_owned(),
            },
            items,
        }
    }

    fn with_body(mut self, body: Vec<u8>) -> Batch {
        self.body = body;
        self
    }

    fn outgoing(&self) -> Outgoing<'_> {
        Outgoing {
            id: &self.id,
            partition: &self.partition,
            body: &self.body,
            items: self.items.len() as u64,
        }
    }
}

async fn send(target: &Target, batch: &Batch) -> Outcome {
    target.send(&batch.outgoing()).await
}

#[tokio::test]
async fn a_batch_posted_to_the_https_receiver_is_stored_there_line_for_line() {
    let dir = temp_dir("stored");
    let receiver = receiver(&dir).await;
    let target = Target::from_config(&https_config(&receiver, &dir, TOKEN, "")).unwrap();
    let batch = Batch::of(&["k1", "k2", "k3"]);

    assert_eq!(send(&target, &batch).await, Outcome::Delivered);

    let deliveries = receiver.deliveries().unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].idempotency_key, batch.id);
    assert_eq!(deliveries[0].body_bytes, batch.body.len() as u64);
    assert_eq!(deliveries[0].items, 3);
    let stored: Vec<(String, serde_json::Value)> = receiver
        .items()
        .unwrap()
        .into_iter()
        .map(|item| (item.key, item.json))
        .collect();
    let sent: Vec<(String, serde_json::Value)> = batch
        .items
        .iter()
        .map(|item| {
            (
                item.key.clone(),
                serde_json::from_slice(&item.payload).unwrap(),
            )
        })
        .collect();
    assert_eq!(stored, sent);
    // The same bytes again (a retry): one more raw delivery, no new item.
    assert_eq!(send(&target, &batch).await, Outcome::Delivered);
    assert_eq!(receiver.deliveries().unwrap()[1].new_items, 0);
}

#[tokio::test]
async fn a_wrong_token_is_read_as_the_docks_credentials_refused() {
    let dir = temp_dir("token");
    let receiver = receiver(&dir).await;
    let target = Target::from_config(&https_config(&receiver, &dir, "not-ours", "")).unwrap();
    assert_eq!(
        send(&target, &Batch::of(&["k1"])).await,
        Outcome::AuthRefused(401)
    );
    assert!(receiver.items().unwrap().is_empty());
}

#[tokio::test]
async fn server_errors_and_too_many_requests_are_read_with_their_status_and_retry_after() {
    let dir = temp_dir("status");
    let receiver = receiver(&dir).await;
    let target = Target::from_config(&https_config(&receiver, &dir, TOKEN, "")).unwrap();
    let batch = Batch::of(&["k1"]);
    receiver.push_fault(Fault::Fail { next: 1 });
    assert_eq!(send(&target, &batch).await, Outcome::ServerError(500));
    receiver.push_fault(Fault::TooMany {
        next: 1,
        retry_after_s: 7,
    });
    assert_eq!(
        send(&target, &batch).await,
        Outcome::TooManyRequests {
            retry_after_ms: Some(7000)
        }
    );
    receiver.push_fault(Fault::Reject {
        idempotency_key: batch.id.clone(),
    });
    assert_eq!(send(&target, &batch).await, Outcome::ContentRefused(422));
    receiver.push_fault(Fault::Clear);
    assert_eq!(send(&target, &batch).await, Outcome::Delivered);
}

#[tokio::test]
async fn a_reset_mid_body_is_read_as_a_lost_connection() {
    let dir = temp_dir("reset");
    let receiver = receiver(&dir).await;
    let target = Target::from_config(&https_config(&receiver, &dir, TOKEN, "")).unwrap();
    receiver.push_fault(Fault::Reset { next: 1 });
    // 8 MiB the receiver resets while the dock is still sending.
    let body: Vec<u8> = (0..8 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let batch = Batch::of(&["k1"]).with_body(body);
    assert_eq!(send(&target, &batch).await, Outcome::ConnectionLost);
    assert!(receiver.deliveries().unwrap().is_empty());
}

#[tokio::test]
async fn a_dropped_response_is_read_as_a_lost_connection_though_the_receiver_stored_it() {
    let dir = temp_dir("drop");
    let receiver = receiver(&dir).await;
    let target = Target::from_config(&https_config(&receiver, &dir, TOKEN, "")).unwrap();
    receiver.push_fault(Fault::DropResponse { next: 1 });
    let batch = Batch::of(&["k1", "k2"]);
    assert_eq!(send(&target, &batch).await, Outcome::ConnectionLost);
    assert_eq!(send(&target, &batch).await, Outcome::Delivered);
    assert_eq!(receiver.items().unwrap().len(), 2);
}

#[tokio::test]
async fn a_stalled_receiver_is_read_as_a_timeout() {
    let dir = temp_dir("stall");
    let receiver = receiver(&dir).await;
    let timeouts = Timeouts {
        connect: Duration::from_secs(5),
        request: Duration::from_millis(500),
    };
    let target =
        Target::with_timeouts(&https_config(&receiver, &dir, TOKEN, ""), timeouts).unwrap();
    receiver.push_fault(Fault::Stall { next: 1 });
    let started = std::time::Instant::now();
    assert_eq!(send(&target, &Batch::of(&["k1"])).await, Outcome::Timeout);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(send(&target, &Batch::of(&["k1"])).await, Outcome::Delivered);
}

#[tokio::test]
async fn a_receiver_nobody_listens_for_is_read_as_a_lost_connection() {
    let dir = temp_dir("refused");
    let receiver = receiver(&dir).await;
    let config = https_config(&receiver, &dir, TOKEN, "");
    drop(receiver);
    let target = Target::from_config(&config).unwrap();
    assert_eq!(
        send(&target, &Batch::of(&["k1"])).await,
        Outcome::ConnectionLost
    );
}

#[tokio::test]
async fn a_certificate_outside_the_trusted_roots_is_a_tls_failure_never_a_delivery() {
    assert!(
        Path::new(super::target::DEBIAN_CA_BUNDLE).is_file(),
        "Debian's CA bundle is missing: apt-get install ca-certificates"
    );
    let dir = temp_dir("untrusted");
    let receiver = receiver(&dir).await;
    let token_file = secret_file(&dir, "token", TOKEN);
    // No ca_file: Debian's bundle, which does not hold the receiver's test CA.
    let config = upload_config(&format!(
        "[upload]\nurl = \"{}\"\nsite = \"plant-a\"\ntoken_file = \"{}\"\n",
        receiver.url,
        token_file.display()
    ));
    let target = Target::from_config(&config).unwrap();
    let outcome = send(&target, &Batch::of(&["k1"])).await;
    let Outcome::Tls(why) = &outcome else {
        panic!("not a TLS failure: {outcome:?}");
    };
    assert!(why.contains("not signed by an authority"), "{why}");
    assert!(receiver.requests() == 0 && receiver.items().unwrap().is_empty());
    // The outcome's sentence says uploads are paused (the page and the console show it).
    assert!(
        outcome.to_string().contains("uploads are paused"),
        "{outcome}"
    );
}

#[tokio::test]
async fn an_https_proxy_carries_the_requests_through_one_kept_alive_connect_tunnel() {
    let dir = temp_dir("proxy");
    let receiver = receiver(&dir).await;
    let proxy = ConnectProxy::start().await.unwrap();
    let config = https_config(
        &receiver,
        &dir,
        TOKEN,
        &format!("proxy = \"{}\"\n", proxy.url),
    );
    let target = Target::from_config(&config).unwrap();
    assert_eq!(send(&target, &Batch::of(&["k1"])).await, Outcome::Delivered);
    // A second batch rides the same kept-alive tunnel: one client per process, one CONNECT.
    assert_eq!(send(&target, &Batch::of(&["k2"])).await, Outcome::Delivered);
    assert_eq!(proxy.connects(), [receiver.addr.to_string()]);
    assert_eq!(receiver.items().unwrap().len(), 2);
}

#[test]
fn the_proxy_is_the_configured_one_else_https_proxy_from_the_environment() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let both = &[
        ("HTTPS_PROXY", "http://upper:3128"),
        ("https_proxy", "http://lower:3128"),
    ];
    assert_eq!(
        proxy_url(Some("http://file:8080"), env(both)).as_deref(),
        Some("http://file:8080")
    );
    assert_eq!(
        proxy_url(None, env(both)).as_deref(),
        Some("http://upper:3128")
    );
    let lower = &[("HTTPS_PROXY", " "), ("https_proxy", "http://lower:3128")];
    assert_eq!(
        proxy_url(None, env(lower)).as_deref(),
        Some("http://lower:3128")
    );
    assert_eq!(proxy_url(None, env(&[("HTTP_PROXY", "http://x:1")])), None);
}

#[tokio::test]
async fn the_target_describes_itself_and_never_shows_its_token() {
    let dir = temp_dir("describe");
    let receiver = receiver(&dir).await;
    let target = Target::from_config(&https_config(&receiver, &dir, TOKEN, "")).unwrap();
    assert_eq!(target.describe(), format!("HTTPS {}", receiver.url));
    assert!(!format!("{target:?}").contains(TOKEN));
}

#[test]
fn an_empty_token_file_is_refused_naming_the_key_and_the_file() {
    let dir = temp_dir("empty-token");
    let token_file = secret_file(&dir, "token", " \n");
    let ca = secret_file(
        &dir,
        "ca.pem",
        &std::fs::read_to_string(super::target::DEBIAN_CA_BUNDLE).unwrap(),
    );
    let config = upload_config(&format!(
        "[upload]\nurl = \"https://ingest.example\"\nsite = \"plant-a\"\ntoken_file = \"{}\"\nca_file = \"{}\"\n",
        token_file.display(),
        ca.display()
    ));
    let error = Target::from_config(&config).unwrap_err();
    assert!(matches!(error, TargetError::BadSecret { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("upload.token_file") && text.contains("token"),
        "{text}"
    );
    // A CA file with no certificate in it is refused too, naming its key.
    let not_pem = secret_file(&dir, "not.pem", "hello\n");
    let token_file = secret_file(&dir, "token", TOKEN);
    let config = upload_config(&format!(
        "[upload]\nurl = \"https://ingest.example\"\nsite = \"plant-a\"\ntoken_file = \"{}\"\nca_file = \"{}\"\n",
        token_file.display(),
        not_pem.display()
    ));
    let text = Target::from_config(&config).unwrap_err().to_string();
    assert!(text.contains("upload.ca_file"), "{text}");
}

// ---- S3 (s3s-fs) ----

fn s3_server(root: &Path) -> S3Server {
    S3Server::start(root, ACCESS_KEY, SECRET_KEY).unwrap_or_else(|e| {
        panic!(
            "the S3 tests need s3s-fs: {e} (install it as tests/run.sh does, or set DOCKD_S3S_FS)"
        )
    })
}

fn s3_config(server: &S3Server, dir: &Path, secret: &str) -> UploadConfig {
    let access = secret_file(dir, "access", ACCESS_KEY);
    let secret = secret_file(dir, "secret", &format!("{secret}\n"));
    upload_config(&format!(
        "[upload]\nurl = \"s3://fleet/uploads/v1\"\nsite = \"plant-a\"\n\
         [upload.s3]\nendpoint = \"{}\"\nregion = \"us-east-1\"\naccess_key_file = \"{}\"\nsecret_key_file = \"{}\"\n",
        server.endpoint,
        access.display(),
        secret.display()
    ))
}

#[tokio::test]
async fn a_batch_put_to_s3_lands_at_its_hive_key_with_identical_bytes() {
    let dir = temp_dir("s3-put");
    let server = s3_server(&dir.join("s3"));
    let bucket = server.create_bucket("fleet").unwrap();
    let target = Target::from_config(&s3_config(&server, &dir, SECRET_KEY)).unwrap();
    let batch = Batch::of(&["k1", "k2"]);

    assert_eq!(send(&target, &batch).await, Outcome::Delivered);

    let key = object_key("uploads/v1", "plant-a", &batch.partition, &batch.id);
    assert_eq!(
        key,
        format!(
            "uploads/v1/site=plant-a/kind=shift_summary/date=2026-12-07/batch-{}.ndjson.zst",
            batch.id
        )
    );
    assert_eq!(std::fs::read(bucket.join(&key)).unwrap(), batch.body);
    assert_eq!(
        target.describe(),
        format!("S3 s3://fleet/uploads/v1 at {}", server.endpoint)
    );
    assert!(!format!("{target:?}").contains(SECRET_KEY));
}

#[tokio::test]
async fn a_wrong_s3_secret_is_read_as_the_docks_credentials_refused() {
    let dir = temp_dir("s3-wrong");
    let server = s3_server(&dir.join("s3"));
    let bucket = server.create_bucket("fleet").unwrap();
    let target = Target::from_config(&s3_config(&server, &dir, "not-the-secret")).unwrap();
    let batch = Batch::of(&["k1"]);
    assert_eq!(send(&target, &batch).await, Outcome::AuthRefused(403));
    let key = object_key("uploads/v1", "plant-a", &batch.partition, &batch.id);
    assert!(!bucket.join(key).exists());
}

#[test]
fn s3_error_codes_that_concern_every_batch_are_read_before_the_status() {
    let document = |code: &str, message: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        )
    };
    assert_eq!(
        s3_outcome(403, None, &document("SignatureDoesNotMatch", "no")),
        Outcome::AuthRefused(403)
    );
    assert_eq!(
        s3_outcome(403, None, &document("InvalidAccessKeyId", "no")),
        Outcome::AuthRefused(403)
    );
    assert_eq!(
        s3_outcome(403, None, &document("RequestTimeTooSkewed", "off")),
        Outcome::ClockSkew
    );
    assert_eq!(
        s3_outcome(403, None, &document("AccessDenied", "Request has expired")),
        Outcome::ClockSkew
    );
    assert_eq!(
        s3_outcome(503, Some(2), &document("SlowDown", "slow")),
        Outcome::TooManyRequests {
            retry_after_ms: Some(2000)
        }
    );
    assert_eq!(
        s3_outcome(404, None, &document("NoSuchBucket", "none")),
        Outcome::Unexpected(404)
    );
    assert_eq!(s3_outcome(500, None, ""), Outcome::ServerError(500));
}

#[test]
fn a_target_and_its_sends_can_be_shared_across_tasks() {
    fn shared<T: Send + Sync>(_: &T) {}
    fn spawnable<F: std::future::Future + Send>(_: &F) {}
    let dir = temp_dir("shared");
    let token_file = secret_file(&dir, "token", TOKEN);
    let config = upload_config(&format!(
        "[upload]\nurl = \"https://ingest.example\"\nsite = \"plant-a\"\ntoken_file = \"{}\"\n",
        token_file.display()
    ));
    let target = Target::from_config(&config).unwrap();
    shared(&target);
    let batch = Batch::of(&["k1"]);
    let outgoing = batch.outgoing();
    spawnable(&target.send(&outgoing));
}

#[test]
fn retry_after_is_honoured_in_seconds_and_as_an_http_date_counted_from_the_answers_date() {
    use reqwest::header::{DATE, HeaderMap, HeaderValue, RETRY_AFTER};
    let with = |value: &'static str, date: Option<&'static str>| {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
        if let Some(date) = date {
            headers.insert(DATE, HeaderValue::from_static(date));
        }
        super::target::retry_after_s(&headers)
    };
    assert_eq!(with("7", None), Some(7));
    assert_eq!(with(" 120 ", None), Some(120));
    // The receiver's own clock on both sides: 90 s, whatever the dock's clock says.
    assert_eq!(
        with(
            "Wed, 21 Oct 2026 07:29:30 GMT",
            Some("Wed, 21 Oct 2026 07:28:00 GMT")
        ),
        Some(90)
    );
    // Already past: no wait beyond the backoff.
    assert_eq!(
        with(
            "Wed, 21 Oct 2026 07:27:00 GMT",
            Some("Wed, 21 Oct 2026 07:28:00 GMT")
        ),
        Some(0)
    );
    // No `Date`: counted from the dock's clock (a date long past here).
    assert_eq!(with("Wed, 21 Oct 2015 07:28:00 GMT", None), Some(0));
    assert_eq!(with("soon", None), None);
    assert_eq!(super::target::retry_after_s(&HeaderMap::new()), None);
}

#[test]
fn a_date_far_from_the_docks_clock_is_a_clock_skew_and_a_near_one_is_not() {
    use reqwest::header::{DATE, HeaderMap, HeaderValue};
    let skewed = |offset_s: i64| {
        let at = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(offset_s))
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            DATE,
            HeaderValue::from_str(
                &jiff::fmt::rfc2822::to_string(&at.to_zoned(jiff::tz::TimeZone::UTC)).unwrap(),
            )
            .unwrap(),
        );
        super::target::clock_skewed(&headers)
    };
    assert!(!skewed(0));
    assert!(!skewed(-600));
    assert!(skewed(3600));
    assert!(skewed(-2 * 86_400));
    assert!(!super::target::clock_skewed(&HeaderMap::new()));
}
