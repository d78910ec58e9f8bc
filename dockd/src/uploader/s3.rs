//! The S3 edge: each batch is a `PUT` of one object at its Hive-style key
//! (`upload::batch::object_key`: `<prefix>/site=…/kind=…/date=…/batch-<id>.ndjson.zst`), path-style
//! (`<endpoint>/<bucket>/<key>`, as AWS, Ceph RGW, MinIO, Garage and s3s-fs all accept), the body
//! the committed bytes; S3's error codes that concern every batch (a refused signature or key,
//! a skewed clock) are read from the answer. It owns that request; it must never change the
//! bytes, never log or show a key or secret, and never send over plain http beyond loopback.
//!
//! Signing is `rusty-s3`'s: a small, maintained, sans-IO SigV4 signer (presigned urls, valid for
//! [`PRESIGNED_FOR`]) over the reqwest client dockd already has, in place of an SDK (aws-sdk-s3
//! brings its own HTTP stack, runtime glue and hundreds of crates) or `object_store` (a second
//! client, retries of its own that would fight `upload::retry`).

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use rusty_s3::S3Action;

use crate::upload::Outcome;
use crate::upload::batch::object_key;

use super::target::{Outgoing, TargetError, answer_body, exchange, retry_after_s};

/// How long a presigned `PUT` stays valid: longer than a whole request may take.
pub const PRESIGNED_FOR: Duration = Duration::from_secs(15 * 60);
/// The media type of an object: zstd-compressed NDJSON (`.ndjson.zst`).
pub const OBJECT_TYPE: &str = "application/zstd";

/// Where objects go, as `[upload]` names it.
pub(super) struct Bucket<'a> {
    pub bucket: &'a str,
    pub prefix: &'a str,
    pub endpoint: &'a str,
    pub region: &'a str,
    pub site: &'a str,
}

/// One bucket (and prefix) of an S3-compatible store, with this dock's credentials.
pub struct S3Target {
    client: reqwest::Client,
    bucket: rusty_s3::Bucket,
    credentials: rusty_s3::Credentials,
    prefix: String,
    site: String,
    endpoint: String,
}

impl S3Target {
    pub(super) fn new(
        client: reqwest::Client,
        at: Bucket<'_>,
        access_key: String,
        secret_key: String,
    ) -> Result<Self, TargetError> {
        let refused = |why: String| TargetError::Endpoint {
            endpoint: at.endpoint.to_owned(),
            why,
        };
        let endpoint = reqwest::Url::parse(at.endpoint).map_err(|e| refused(e.to_string()))?;
        let bucket = rusty_s3::Bucket::new(
            endpoint,
            rusty_s3::UrlStyle::Path,
            at.bucket.to_owned(),
            at.region.to_owned(),
        )
        .map_err(|e| refused(e.to_string()))?;
        Ok(S3Target {
            client,
            bucket,
            credentials: rusty_s3::Credentials::new(access_key, secret_key),
            prefix: at.prefix.to_owned(),
            site: at.site.to_owned(),
            endpoint: at.endpoint.to_owned(),
        })
    }

    /// The object key of a batch.
    pub fn object_key(&self, batch: &Outgoing<'_>) -> String {
        object_key(&self.prefix, &self.site, batch.partition, batch.id)
    }

    /// Puts the batch's object; its answer or failure as an [`Outcome`].
    pub async fn send(&self, batch: &Outgoing<'_>) -> Outcome {
        let key = self.object_key(batch);
        let url = self
            .bucket
            .put_object(Some(&self.credentials), &key)
            .sign(PRESIGNED_FOR);
        let request = self.client.put(url).header(CONTENT_TYPE, OBJECT_TYPE);
        let response = match exchange(request, batch.body).await {
            Ok(response) => response,
            Err(failed) => return failed,
        };
        let status = response.status().as_u16();
        let retry_after = retry_after_s(response.headers());
        if response.status().is_success() {
            let _ = answer_body(response).await;
            return Outcome::Delivered;
        }
        let body = answer_body(response).await.unwrap_or_default();
        s3_outcome(status, retry_after, &String::from_utf8_lossy(&body))
    }

    /// "S3 s3://bucket/prefix at <endpoint>".
    pub fn describe(&self) -> String {
        let mut place = format!("s3://{}", self.bucket.name());
        if !self.prefix.is_empty() {
            place.push('/');
            place.push_str(&self.prefix);
        }
        format!("S3 {place} at {}", self.endpoint)
    }
}

/// What an S3 error answer means: the error document's `<Code>` where it concerns every batch,
/// else the status.
pub fn s3_outcome(status: u16, retry_after_s: Option<u64>, error_document: &str) -> Outcome {
    let code = xml_element(error_document, "Code").unwrap_or_default();
    let message = xml_element(error_document, "Message").unwrap_or_default();
    match code {
        "RequestTimeTooSkewed" => Outcome::ClockSkew,
        // A presigned url judged expired or not yet valid: the dock's clock, not its key.
        "AccessDenied" if message.contains("expired") || message.contains("not yet valid") => {
            Outcome::ClockSkew
        }
        "SignatureDoesNotMatch" | "InvalidAccessKeyId" | "AccessDenied" => {
            Outcome::AuthRefused(status)
        }
        "SlowDown" => Outcome::TooManyRequests {
            retry_after_ms: retry_after_s.map(|s| s.saturating_mul(1000)),
        },
        _ => Outcome::from_status(status, retry_after_s),
    }
}

/// The text of the first `<name>…</name>` in an XML document (S3 error documents are flat).
fn xml_element<'a>(document: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = document.find(&open)? + open.len();
    let end = document[start..].find(&format!("</{name}>"))? + start;
    Some(document[start..end].trim())
}
