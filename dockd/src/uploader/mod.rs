//! Batched cloud upload's I/O (issue 14): the driver (`driver`, the thin loop around
//! `upload::Session`), the edges that deliver a committed batch's bytes (`target`: one `Target`
//! over the HTTPS edge `https` and the S3 edge `s3`, sharing one `reqwest::Client` each), and the
//! handle every surface asks about the queue (`handle`). It owns talking to the receiver and
//! turning every answer or failure into an `upload::Outcome`; it must never decide what to send or
//! when (that is `upload::session`'s), never change a batch's bytes, never log or show a token,
//! key or secret, never hold worker data, and never offer a way to ignore a certificate.

pub mod driver;
pub mod handle;
pub mod https;
pub mod s3;
pub mod target;

pub use driver::Driver;
pub use handle::{UploadHandle, UploadLive, UploadPublisher};

/// The store's outbox policy for `config`: `None` without `[upload]` (nothing is queued).
pub fn outbox_policy(
    config: &crate::config::Config,
    site: &crate::site::SiteSettings,
) -> Option<crate::store::OutboxPolicy> {
    let upload = config.upload.as_ref()?;
    Some(crate::store::OutboxPolicy {
        site: upload.site.clone(),
        dock: config.dock.name.clone(),
        budget_bytes: upload.budget_bytes,
        // The settings page refuses a zone the tz database does not know; UTC is a last resort.
        time_zone: jiff::tz::TimeZone::get(&site.current().time_zone)
            .unwrap_or(jiff::tz::TimeZone::UTC),
    })
}

#[cfg(test)]
mod driver_tests;
#[cfg(test)]
mod tests;
