//! The HTTPS edge: each batch is a `POST` to exactly `[upload] url` with `Authorization: Bearer
//! <token>`, `Idempotency-Key: <batch id>`, `Content-Encoding: zstd` and `Content-Type:
//! application/x-ndjson`, the body the committed bytes; the answer is read as an `Outcome`
//! (`Outcome::from_status` with `Retry-After`; a refusal with a `Date` far from the dock's clock
//! is a clock skew). It owns that request; it must never change the
//! bytes, never send over plain http and never log or show the token.

use std::path::Path;

use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};

use crate::upload::Outcome;

use super::target::{Outgoing, TargetError, answer_body, clock_skewed, exchange, retry_after_s};

/// The header naming the batch, so a receiver can answer a repeated batch as already stored.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// The media type of a batch's lines (before `Content-Encoding: zstd`).
pub const NDJSON: &str = "application/x-ndjson";

/// The HTTPS receiver at one url, with this dock's token.
pub struct HttpsTarget {
    client: reqwest::Client,
    url: reqwest::Url,
    /// `Bearer <token>`, marked sensitive (never shown in a Debug).
    authorization: HeaderValue,
}

impl HttpsTarget {
    pub(super) fn new(
        client: reqwest::Client,
        url: &str,
        token: &str,
        token_file: &Path,
    ) -> Result<Self, TargetError> {
        let url = reqwest::Url::parse(url).map_err(|e| TargetError::Client(e.to_string()))?;
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                TargetError::BadSecret {
                    key: "upload.token_file",
                    path: token_file.to_owned(),
                }
            })?;
        authorization.set_sensitive(true);
        Ok(HttpsTarget {
            client,
            url,
            authorization,
        })
    }

    /// Posts the batch; its answer or failure as an [`Outcome`].
    pub async fn send(&self, batch: &Outgoing<'_>) -> Outcome {
        let request = self
            .client
            .post(self.url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(IDEMPOTENCY_KEY, batch.id)
            .header(CONTENT_ENCODING, "zstd")
            .header(CONTENT_TYPE, NDJSON);
        let response = match exchange(request, batch.body).await {
            Ok(response) => response,
            Err(failed) => return failed,
        };
        let mut outcome = Outcome::from_status(
            response.status().as_u16(),
            retry_after_s(response.headers()),
        );
        // A refusal from a receiver whose clock is far from the dock's: the dock's clock is the
        // likelier cause (a token checked against a time window), and the fix to name.
        if matches!(outcome, Outcome::AuthRefused(_)) && clock_skewed(response.headers()) {
            outcome = Outcome::ClockSkew;
        }
        // Read to the end so the kept-alive connection serves the next batch.
        let _ = answer_body(response).await;
        outcome
    }

    /// "HTTPS <url>".
    pub fn describe(&self) -> String {
        format!("HTTPS {}", self.url)
    }
}
