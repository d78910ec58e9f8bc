//! Compaction: compresses sample blocks that ingest wrote uncompressed, while no pull is running.
//! It owns the choice of *when* to spend CPU on compression; it must never change a block's
//! samples (a recoded block decodes to exactly the same values) nor hold up a pull.
//!
//! Why deferred: compressing at ingest was half of the dock's CPU during a pull, and a pull is
//! the moment workers wait at the dock. The dock sits idle for hours between shift changes.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;

use super::samples::{self, CODEC_PLANES, CODEC_PLANES_ZSTD};
use super::{RawBlock, Reader, RecodedBlock, StoreError, Writer};

/// Blocks per batch: about a megabyte of samples, a few milliseconds of work.
const BATCH: u32 = 96;
/// How often to look for work when there was none.
const IDLE_POLL: Duration = Duration::from_secs(2);
/// How long the dock must stay without pulls before compaction starts: a wearable docked right
/// after another should not find the CPU busy.
pub const QUIET: Duration = Duration::from_secs(3);

/// Compresses uncompressed blocks batch by batch whenever `busy` says no pull is running, until
/// `shutdown`. `cpu` is the same per-core permit pulls use for their conversions.
pub async fn run(
    reader: Reader,
    writer: Writer,
    cpu: Arc<Semaphore>,
    mut busy: watch::Receiver<bool>,
    shutdown: CancellationToken,
) {
    loop {
        if !quiet(&mut busy, &shutdown).await {
            return;
        }
        // Work until there is nothing left or a pull starts.
        while !*busy.borrow() {
            let pause = match compact_batch(&reader, &writer, &cpu).await {
                Ok(0) => IDLE_POLL,
                Ok(n) => {
                    tracing::debug!(blocks = n, "Compressed sample blocks.");
                    continue;
                }
                Err(StoreError::Closed) => return,
                Err(error) => {
                    tracing::warn!(error = %error, "Compaction failed; will retry.");
                    IDLE_POLL
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = busy.changed() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// Waits until no pull has run for [`QUIET`]; false on shutdown.
async fn quiet(busy: &mut watch::Receiver<bool>, shutdown: &CancellationToken) -> bool {
    loop {
        let idle = tokio::select! {
            _ = shutdown.cancelled() => return false,
            idle = busy.wait_for(|busy| !busy) => idle.is_ok(),
        };
        if !idle {
            return false;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = busy.changed() => {}
            _ = tokio::time::sleep(QUIET) => return true,
        }
    }
}

/// Compresses one batch; returns how many blocks it recoded.
pub async fn compact_batch(
    reader: &Reader,
    writer: &Writer,
    cpu: &Semaphore,
) -> Result<usize, StoreError> {
    let reader = reader.clone();
    let blocks = tokio::task::spawn_blocking(move || reader.blocks_in_codec(CODEC_PLANES, BATCH))
        .await
        .map_err(|_| StoreError::Closed)??;
    if blocks.is_empty() {
        return Ok(0);
    }
    let _permit = cpu.acquire().await.map_err(|_| StoreError::Closed)?;
    let recoded =
        tokio::task::spawn_blocking(move || blocks.into_iter().map(recode).collect::<Vec<_>>())
            .await
            .map_err(|_| StoreError::Closed)?;
    let recoded: Vec<RecodedBlock> = recoded.into_iter().flatten().collect();
    let n = recoded.len();
    writer.recode(recoded).await?;
    Ok(n)
}

/// Compresses one block, after checking it decodes; a block that does not is left as it is.
fn recode(block: RawBlock) -> Option<RecodedBlock> {
    let count = usize::try_from(block.count).ok()?;
    if let Err(error) = samples::decode(block.codec, &block.data, count) {
        tracing::error!(block = block.id, error = %error, "A stored sample block does not decode; leaving it untouched.");
        return None;
    }
    match samples::compress(&block.data) {
        Ok(data) => Some(RecodedBlock {
            id: block.id,
            from_codec: block.codec,
            codec: CODEC_PLANES_ZSTD,
            data,
        }),
        Err(error) => {
            tracing::warn!(block = block.id, error = %error, "Compressing a sample block failed.");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::Scratch;
    use crate::store::{BlockRow, NewSegment, SegmentKey};

    #[tokio::test]
    async fn compaction_shrinks_blocks_and_they_decode_to_the_same_samples() {
        let store = Scratch::new("compaction");
        let (reader, writer) = (&store.reader, &store.writer);
        let docking_id = store.docking("KW-1", 1).await;
        let original: Vec<[i16; 4]> = (0..1500i16).map(|i| [i / 3, -i / 7, i % 5, 100]).collect();
        let block = BlockRow {
            worker: None,
            t_ms: 0,
            wall_ms: None,
            rate_hz: 25,
            count: 1500,
            codec: CODEC_PLANES,
            data: samples::encode(&samples::wire(&original)),
        };
        let segment = NewSegment {
            key: SegmentKey {
                serial: "KW-1".into(),
                segment_no: 1,
                size: 1,
                crc: 1,
            },
            docking_id,
            rate_hz: 25,
            samples: 3000,
            blocks: vec![block.clone(), block],
            ..NewSegment::default()
        };
        writer.store_segment(segment).await.unwrap();

        let cpu = Semaphore::new(1);
        assert_eq!(compact_batch(reader, writer, &cpu).await.unwrap(), 2);
        assert_eq!(compact_batch(reader, writer, &cpu).await.unwrap(), 0);
        let stored = reader.blocks_in_codec(CODEC_PLANES_ZSTD, 10).unwrap();
        assert_eq!(stored.len(), 2);
        for block in stored {
            assert!(block.data.len() < 1500 * 8 / 4);
            assert_eq!(
                samples::decode(block.codec, &block.data, 1500).unwrap(),
                original
            );
        }
        store.close();
    }
}
