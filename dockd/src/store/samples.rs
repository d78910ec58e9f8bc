//! How posture samples sit on disk: a block of consecutive samples is stored as one row whose
//! payload is column-major, delta-coded, split into byte planes and zstd-compressed. This module owns that codec and must
//! never know about rows, segments or time.
//!
//! Why: a month of 24 wearables × 12 h × 25 Hz is ≈ 780 M samples. One row per sample would cost
//! ~40 B of SQLite overhead each (≈ 30 GB) and make every query walk a B-tree leaf per sample.
//! Blocks of up to one minute (1500 samples) cut the row count 1500-fold, and the codec stores a
//! sample in ~4 bytes instead of 8 (measured on emulated shifts with MEMS-like noise): trunk posture
//! changes slowly at 25 Hz, so per-channel deltas are small and their high bytes nearly constant.

/// Codec ids stored beside each block, so codecs can coexist in one table.
///
/// Byte-planed deltas as they are written at ingest: cheap to produce, so a pull never waits on
/// compression.
pub const CODEC_PLANES: u8 = 0;
/// The same planes zstd-compressed by `compaction` when the dock is idle: about half the size.
pub const CODEC_PLANES_ZSTD: u8 = 1;

const CHANNELS: usize = 4;
const SAMPLE_BYTES: usize = 8;
/// zstd level 1: within a few percent of level 3 on this data at several times the speed.
const ZSTD_LEVEL: i32 = 1;

/// Why a stored block could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BlockError {
    #[error("unknown sample block codec {0}")]
    UnknownCodec(u8),
    #[error("sample block does not decompress: {0}")]
    Decompress(String),
    #[error("sample block holds {got} bytes, {expected} expected for {count} samples")]
    WrongLength {
        count: usize,
        expected: usize,
        got: usize,
    },
}

thread_local! {
    /// One compression context per thread: creating one per block cost more than compressing it.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Encodes samples given in their wire form (`count` × 8 bytes: flex, lat, twist, height as i16 LE)
/// as [`CODEC_PLANES`].
///
/// Layout: for each channel, its wrapping i16 deltas split into a plane of low bytes then a plane
/// of high bytes. Posture moves little between samples, so the high-byte planes are nearly
/// constant (0x00/0xFF) and compress almost to nothing, while the low bytes carry the sensor noise
/// that no lossless codec can remove.
pub fn encode(wire: &[u8]) -> Vec<u8> {
    let count = wire.len() / SAMPLE_BYTES;
    let mut planes = vec![0u8; count * SAMPLE_BYTES];
    for channel in 0..CHANNELS {
        let (low, high) =
            planes[channel * count * 2..(channel + 1) * count * 2].split_at_mut(count);
        let mut previous = 0i16;
        for (i, sample) in wire.chunks_exact(SAMPLE_BYTES).enumerate() {
            let value = i16::from_le_bytes([sample[channel * 2], sample[channel * 2 + 1]]);
            let [lo, hi] = value.wrapping_sub(previous).to_le_bytes();
            previous = value;
            low[i] = lo;
            high[i] = hi;
        }
    }
    planes
}

/// Compresses a [`CODEC_PLANES`] block into a [`CODEC_PLANES_ZSTD`] one.
pub fn compress(planes: &[u8]) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match slot.as_mut() {
            Some(compressor) => compressor,
            None => slot.insert(zstd::bulk::Compressor::new(ZSTD_LEVEL)?),
        };
        compressor.compress(planes)
    })
}

/// Decodes a block of `count` samples back to `[flex, lat, twist, height]` rows.
pub fn decode(codec: u8, data: &[u8], count: usize) -> Result<Vec<[i16; 4]>, BlockError> {
    let expected = count * SAMPLE_BYTES;
    let decompressed;
    let planes = match codec {
        CODEC_PLANES => data,
        CODEC_PLANES_ZSTD => {
            decompressed = zstd::bulk::decompress(data, expected)
                .map_err(|e| BlockError::Decompress(e.to_string()))?;
            &decompressed[..]
        }
        other => return Err(BlockError::UnknownCodec(other)),
    };
    if planes.len() != expected {
        return Err(BlockError::WrongLength {
            count,
            expected,
            got: planes.len(),
        });
    }
    let mut samples = vec![[0i16; 4]; count];
    for channel in 0..CHANNELS {
        let (low, high) = planes[channel * count * 2..(channel + 1) * count * 2].split_at(count);
        let mut value = 0i16;
        for ((sample, lo), hi) in samples.iter_mut().zip(low).zip(high) {
            value = value.wrapping_add(i16::from_le_bytes([*lo, *hi]));
            sample[channel] = value;
        }
    }
    Ok(samples)
}

/// Samples in their wire form, for tests that build blocks.
#[cfg(test)]
pub(crate) fn wire(samples: &[[i16; 4]]) -> Vec<u8> {
    samples
        .iter()
        .flat_map(|s| s.iter().flat_map(|v| v.to_le_bytes()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_block_decodes_to_the_samples_it_was_given(samples in proptest::collection::vec(any::<[i16; 4]>(), 0..600)) {
            let planes = encode(&wire(&samples));
            prop_assert_eq!(&decode(CODEC_PLANES, &planes, samples.len()).unwrap(), &samples);
            let packed = compress(&planes).unwrap();
            prop_assert_eq!(decode(CODEC_PLANES_ZSTD, &packed, samples.len()).unwrap(), samples);
        }
    }

    #[test]
    fn slow_posture_compresses_to_a_fraction_of_its_wire_size() {
        let samples: Vec<[i16; 4]> = (0..1500)
            .map(|i| {
                let phase = f64::from(i) / 25.0;
                [
                    (2000.0 + 1500.0 * (phase * 0.3).sin()) as i16,
                    (300.0 * (phase * 0.7).sin()) as i16,
                    (200.0 * (phase * 1.1).cos()) as i16,
                    (-100.0 * (phase * 0.2).sin()) as i16,
                ]
            })
            .collect();
        let raw = wire(&samples);
        let data = compress(&encode(&raw)).unwrap();
        assert!(
            data.len() * 2 < raw.len(),
            "{} of {} bytes",
            data.len(),
            raw.len()
        );
    }

    #[test]
    fn a_damaged_block_is_an_error_not_garbage() {
        let data = compress(&encode(&wire(&[[1, 2, 3, 4]; 10]))).unwrap();
        assert!(decode(CODEC_PLANES_ZSTD, &data, 11).is_err());
        assert!(decode(CODEC_PLANES_ZSTD, &data[..data.len() - 2], 10).is_err());
        assert!(decode(CODEC_PLANES, &encode(&wire(&[[1, 2, 3, 4]; 10])), 9).is_err());
        assert_eq!(decode(9, &data, 10), Err(BlockError::UnknownCodec(9)));
    }
}
