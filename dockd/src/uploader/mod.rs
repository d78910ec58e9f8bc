//! Batched cloud upload's I/O (issue 14): the edges that deliver a committed batch's bytes
//! (`target`: one `Target` over the HTTPS edge `https` and the S3 edge `s3`, sharing one
//! `reqwest::Client` each). It owns talking to the receiver and turning every answer or failure
//! into an `upload::Outcome`; it must never decide what to send or when (that is
//! `upload::session`'s), never change a batch's bytes, never log or show a token, key or secret,
//! and never offer a way to ignore a certificate.

pub mod https;
pub mod s3;
pub mod target;

#[cfg(test)]
mod tests;
