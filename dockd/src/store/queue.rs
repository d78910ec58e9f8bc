//! Batches for the writer from tasks that must never wait on it (the audit trail, diagnostics):
//! they queue records; one forwarder per queue hands them over in batches, and at shutdown stores
//! what is still queued. It owns that loop; it must never block a recording task.

use std::future::Future;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::StoreError;

/// Forwards `records` to `store` in batches of at most `batch` until `shutdown`, then stores the
/// rest and ends. `what` names the records in log lines. Stops early once the store is closed.
pub async fn forward_batches<T, F, Fut>(
    mut records: mpsc::Receiver<T>,
    batch: usize,
    what: &'static str,
    shutdown: CancellationToken,
    mut store: F,
) where
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    loop {
        let first = tokio::select! {
            biased;
            record = records.recv() => record,
            () = shutdown.cancelled() => None,
        };
        let Some(first) = first else { break };
        let mut batch_now = vec![first];
        while batch_now.len() < batch {
            match records.try_recv() {
                Ok(record) => batch_now.push(record),
                Err(_) => break,
            }
        }
        match store(batch_now).await {
            Ok(()) => {}
            Err(StoreError::Closed) => {
                tracing::error!(
                    what,
                    "The store is closed: these records are no longer stored."
                );
                return;
            }
            Err(error) => {
                tracing::error!(what, error = %error, "Could not store a batch of records.")
            }
        }
    }
    records.close();
    let mut rest = Vec::new();
    while let Ok(record) = records.try_recv() {
        rest.push(record);
    }
    if !rest.is_empty()
        && let Err(error) = store(rest).await
    {
        tracing::error!(what, error = %error, "Records queued at shutdown were not stored.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn queued_records_arrive_in_batches_and_the_rest_is_stored_at_shutdown() {
        let (tx, rx) = mpsc::channel(100);
        for i in 0..10 {
            tx.send(i).await.unwrap();
        }
        let shutdown = CancellationToken::new();
        let stored = Arc::new(Mutex::new(Vec::<Vec<i32>>::new()));
        let sink = Arc::clone(&stored);
        let forwarder = tokio::spawn(forward_batches(
            rx,
            4,
            "numbers",
            shutdown.clone(),
            move |b| {
                sink.lock().unwrap().push(b);
                async { Ok(()) }
            },
        ));
        tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while stored.lock().unwrap().iter().map(Vec::len).sum::<usize>() < 10 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        tx.send(10).await.unwrap();
        shutdown.cancel();
        forwarder.await.unwrap();
        let batches = stored.lock().unwrap().clone();
        assert!(batches.iter().all(|b| b.len() <= 4), "{batches:?}");
        let all: Vec<i32> = batches.concat();
        assert_eq!(all, (0..=10).collect::<Vec<_>>());
    }
}
