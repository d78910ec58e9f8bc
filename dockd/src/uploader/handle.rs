//! The upload handle: what every surface (the Diagnostics page, the serial console, `dockd
//! status`) knows of the upload queue, and how a surface asks the driver for something ("upload
//! now", retry or drop a dead letter). It owns the live-state channel between the driver
//! ([`UploadPublisher`]) and the surfaces ([`UploadHandle`]); it must never send anything itself,
//! never hold worker data (dead letters appear by batch id, kind and day), and never name a
//! secret.

use std::sync::Arc;

use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::store::{StoreError, Writer};
use crate::upload::{Kind, UploadStatus};

use crate::store::OutboxChange;

/// The upload queue as the driver last published it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadLive {
    /// Where batches go, in words without a secret ("HTTPS https://host/ingest").
    pub target: String,
    pub status: UploadStatus,
    /// Why the whole queue is paused (a refused token, a TLS error, a clock skew), as a sentence.
    pub paused: Option<String>,
    /// Batches whose content the receiver refused, parked until an admin retries or drops them.
    pub dead: Vec<DeadLetter>,
}

/// One parked batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The batch id.
    pub id: String,
    pub kind: Kind,
    /// The site-local day of its partition (`unknown` without a trustworthy time).
    pub day: String,
    pub items: u64,
    /// Its compressed body's bytes.
    pub bytes: u64,
    /// Why the receiver refused it, as a sentence.
    pub reason: String,
    /// When it was parked (Unix ms).
    pub parked_ms: Option<i64>,
}

impl From<crate::store::BatchRow> for DeadLetter {
    fn from(batch: crate::store::BatchRow) -> Self {
        DeadLetter {
            id: batch.id,
            kind: batch.partition.kind,
            day: batch.partition.day,
            items: batch.items,
            bytes: batch.bytes,
            reason: batch.reason.unwrap_or_default(),
            parked_ms: batch.parked_ms,
        }
    }
}

/// Why a surface's request was not taken.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("cloud upload is not configured on this dock")]
    NotConfigured,
    #[error("there is no dead letter {0} (it may have been retried or dropped already)")]
    NoSuchDeadLetter(String),
    #[error("the dock could not record the change: {0}")]
    Store(#[from] StoreError),
}

/// The surfaces' side: a cheap clone of the driver's published state and its wake-up.
#[derive(Clone)]
pub struct UploadHandle {
    /// `None` when the dock has no `[upload]`.
    inner: Option<Inner>,
}

#[derive(Clone)]
struct Inner {
    live: watch::Receiver<Option<UploadLive>>,
    wake: Arc<Notify>,
    writer: Option<Writer>,
    clock: Arc<dyn Clock>,
}

/// The driver's side: publishes the queue's state and waits for "upload now".
pub struct UploadPublisher {
    live: watch::Sender<Option<UploadLive>>,
    wake: Arc<Notify>,
}

impl UploadHandle {
    /// A handle and the driver's publisher. Dead-letter changes go through `writer` (audited by
    /// the store) at `clock`'s time; without a writer (tests) they are refused.
    pub fn channel(
        writer: Option<Writer>,
        clock: Arc<dyn Clock>,
    ) -> (UploadHandle, UploadPublisher) {
        let (sender, live) = watch::channel(None);
        let wake = Arc::new(Notify::new());
        let handle = UploadHandle {
            inner: Some(Inner {
                live,
                wake: Arc::clone(&wake),
                writer,
                clock,
            }),
        };
        (handle, UploadPublisher { live: sender, wake })
    }

    /// The handle of a dock without `[upload]`: every surface says "not configured".
    pub fn not_configured() -> UploadHandle {
        UploadHandle { inner: None }
    }

    /// Whether the dock has `[upload]`.
    pub fn is_configured(&self) -> bool {
        self.inner.is_some()
    }

    /// The state the driver last published; `None` when upload is not configured. Before the
    /// driver's first publication, a configured handle answers an empty queue with no target.
    pub fn status(&self) -> Option<UploadLive> {
        let inner = self.inner.as_ref()?;
        Some(inner.live.borrow().clone().unwrap_or_else(|| UploadLive {
            target: String::new(),
            status: UploadStatus::default(),
            paused: None,
            dead: Vec::new(),
        }))
    }

    fn configured(&self) -> Result<&Inner, UploadError> {
        self.inner.as_ref().ok_or(UploadError::NotConfigured)
    }

    /// Wakes the driver to send what is queued now, whatever the batches' age.
    pub fn upload_now(&self) -> Result<(), UploadError> {
        self.configured()?.wake.notify_one();
        Ok(())
    }

    /// Puts dead letter `id` back in the queue (audited as `user`), then wakes the driver.
    pub async fn retry_dead(&self, id: &str, user: &str) -> Result<(), UploadError> {
        self.dead_letter_change(id, |id, at_ms| OutboxChange::RetryDead {
            id,
            user: user.to_owned(),
            at_ms,
        })
        .await
    }

    /// Drops dead letter `id` with its items (audited as `user`), then wakes the driver.
    pub async fn drop_dead(&self, id: &str, user: &str) -> Result<(), UploadError> {
        self.dead_letter_change(id, |id, at_ms| OutboxChange::DropDead {
            id,
            user: user.to_owned(),
            at_ms,
        })
        .await
    }

    /// A change to a dead letter the driver last listed, through the writer; the driver is woken
    /// to re-read the store.
    async fn dead_letter_change(
        &self,
        id: &str,
        change: impl FnOnce(String, i64) -> OutboxChange,
    ) -> Result<(), UploadError> {
        let inner = self.configured()?;
        let listed = inner
            .live
            .borrow()
            .as_ref()
            .is_some_and(|live| live.dead.iter().any(|dead| dead.id == id));
        if !listed {
            return Err(UploadError::NoSuchDeadLetter(id.to_owned()));
        }
        let writer = inner.writer.as_ref().ok_or(StoreError::Closed)?;
        writer
            .outbox(change(id.to_owned(), inner.clock.now_ms()))
            .await?;
        inner.wake.notify_one();
        Ok(())
    }
}

impl UploadPublisher {
    /// Publishes the queue's state to every surface.
    pub fn publish(&self, live: UploadLive) {
        self.live.send_replace(Some(live));
    }

    /// Resolves when a surface asked to upload now or changed a dead letter (a request made
    /// while the driver was busy is kept for the next wait).
    pub async fn now_requested(&self) {
        self.wake.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::clock::SystemClock;

    fn live_with_dead(id: &str) -> UploadLive {
        UploadLive {
            target: "HTTPS https://cloud.example/ingest".to_owned(),
            status: UploadStatus {
                queued_items: 12,
                queued_bytes: 3400,
                oldest_ms: Some(1_700_000_000_000),
                last_success_ms: None,
                last_error: Some("The receiver answered 500.".to_owned()),
                dead_letters: 1,
            },
            paused: None,
            dead: vec![DeadLetter {
                id: id.to_owned(),
                kind: Kind::Alert,
                day: "2026-12-01".to_owned(),
                items: 3,
                bytes: 900,
                reason: "The receiver refused the batch's content (422).".to_owned(),
                parked_ms: Some(1_700_000_100_000),
            }],
        }
    }

    async fn woken(publisher: &UploadPublisher) -> bool {
        tokio::time::timeout(Duration::from_secs(5), publisher.now_requested())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_dock_without_upload_says_not_configured_and_refuses_every_request() {
        let handle = UploadHandle::not_configured();
        assert!(!handle.is_configured());
        assert_eq!(handle.status(), None);
        assert!(matches!(
            handle.upload_now(),
            Err(UploadError::NotConfigured)
        ));
        assert!(matches!(
            handle.retry_dead("b1", "ada").await,
            Err(UploadError::NotConfigured)
        ));
        assert!(matches!(
            handle.drop_dead("b1", "ada").await,
            Err(UploadError::NotConfigured)
        ));
    }

    #[tokio::test]
    async fn the_surfaces_see_what_the_driver_published_last() {
        let (handle, publisher) = UploadHandle::channel(None, Arc::new(SystemClock));
        let before = handle.status().unwrap();
        assert_eq!(before.status, UploadStatus::default());
        assert!(before.dead.is_empty());
        publisher.publish(live_with_dead("b1"));
        let copy = handle.clone();
        assert_eq!(copy.status(), Some(live_with_dead("b1")));
    }

    #[tokio::test]
    async fn upload_now_wakes_the_driver_even_when_it_was_busy() {
        let (handle, publisher) = UploadHandle::channel(None, Arc::new(SystemClock));
        // Asked before the driver waits: the request is kept.
        handle.upload_now().unwrap();
        assert!(woken(&publisher).await);
    }

    #[tokio::test]
    async fn a_dead_letter_change_goes_through_the_writer_and_wakes_the_driver() {
        use crate::store::outbox::tests as outbox;
        let scratch = outbox::configured("upload-handle", 1 << 30).await;
        outbox::queue(
            &scratch,
            vec![outbox::item(Kind::DockDiag, "dock_diag:a", 1, 100)],
        )
        .await;
        let id = outbox::commit_all(&scratch).await[0].id.clone();
        outbox::park(&scratch, &id).await;
        let (handle, publisher) =
            UploadHandle::channel(Some(scratch.writer.clone()), Arc::new(SystemClock));
        publisher.publish(live_with_dead(&id));
        handle.retry_dead(&id, "ada").await.unwrap();
        assert!(woken(&publisher).await);
        assert_eq!(scratch.reader.upload_status().unwrap().dead_letters, 0);
        outbox::park(&scratch, &id).await;
        handle.drop_dead(&id, "ada").await.unwrap();
        assert!(woken(&publisher).await);
        assert_eq!(scratch.reader.upload_status().unwrap().queued_items, 0);
        drop(handle);
        scratch.close();
    }

    #[tokio::test]
    async fn a_dead_letter_the_driver_does_not_list_is_refused_in_words() {
        let (handle, publisher) = UploadHandle::channel(None, Arc::new(SystemClock));
        publisher.publish(live_with_dead("b1"));
        let refused = handle.retry_dead("b2", "ada").await.unwrap_err();
        assert!(matches!(refused, UploadError::NoSuchDeadLetter(_)));
        assert_eq!(
            refused.to_string(),
            "there is no dead letter b2 (it may have been retried or dropped already)"
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(50), publisher.now_requested())
                .await
                .is_err(),
            "a refused change does not wake the driver"
        );
    }
}
