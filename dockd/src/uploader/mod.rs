//! Batched cloud upload's I/O (issue 14): the driver (`driver`, the thin loop around
//! `upload::Session`), the edges that deliver a committed batch's bytes (`target`: one `Target`
//! over the HTTPS edge `https` and the S3 edge `s3`, sharing one `reqwest::Client` each), and the
//! handle every surface asks about the queue (`handle`). It owns talking to the receiver and
//! turning every answer or failure into an `upload::Outcome`; it must never decide what to send or
//! when (that is `upload::session`'s), never change a batch's bytes, never log or show a token,
//! key or secret, never hold worker data, and never offer a way to ignore a certificate.

pub mod handle;
pub mod https;
pub mod s3;
pub mod target;

pub use handle::{UploadHandle, UploadLive, UploadPublisher};

#[cfg(test)]
mod tests;
