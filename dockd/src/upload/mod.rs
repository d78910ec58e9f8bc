//! Batched cloud upload (issue 14), the pure core: the contract of what leaves the dock
//! (`record`, documented in `docs/upload-schema.md`), batching (`batch`), outcome classes and
//! backoff (`retry`) and the queue's decisions (`session`). It owns those rules; it must never do
//! I/O, read a clock, the database or the OS's entropy — the outbox lives in the store and the
//! HTTPS/S3 edges drive `session` (the house's sans-IO pattern, as `link::session` and
//! `pull::client`).
//!
//! # Design
//!
//! - **The database is the outbox.** A producer seals a [`record::Record`] (its key derived from
//!   its origin) and queues its NDJSON line in the transaction that stored its origin.
//! - **Batches** ([`batch::plan`]) hold one (kind, site-local day) partition, are cut by
//!   `batch_max_items`, `batch_max_bytes`, `batch_max_age_s`, and are named by a hash of their
//!   members ([`batch::batch_id`]). The store commits a batch's membership before its first send;
//!   every retry re-encodes ([`batch::encode`]) the same members into byte-identical zstd NDJSON,
//!   sent to the same S3 object key ([`batch::object_key`]) or with the same `Idempotency-Key`.
//! - **Retries** ([`retry`]) never give up on retriable failures (5xx, 429, timeouts, resets):
//!   full-jitter exponential backoff capped at 10 s, so the first attempt after the receiver
//!   answers again comes within 10 s even after a week offline; while failing, the smallest batch
//!   probes.
//! - **Failures of every batch** (refused token or signature, clock skew, TLS, an unexpected
//!   status) pause the queue with a sentence until resumed or a probe (every 30 s) succeeds; a
//!   refusal of one batch's content (400/422) parks it as a dead letter and the rest continue; 413
//!   splits a batch into halves ([`batch::split`]), a single record too large is parked.
//! - **Status** ([`session::UploadStatus`]): queued items and bytes, oldest item, last success,
//!   last error, dead letters: the shape of `dockd status --json` `"upload"`.

pub mod batch;
pub mod produce;
pub mod record;
pub mod retry;
pub mod session;

#[cfg(test)]
mod testing;

pub use batch::{Item, Limits, Partition, Planned};
pub use record::{Kind, Record};
pub use retry::{Outcome, RandomSource};
pub use session::{Action, QueueFigures, Ready, Session, UploadStatus, Verdict};
