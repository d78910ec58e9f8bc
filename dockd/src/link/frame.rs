//! Link frames (protocol.md §2): encoding, and reassembly of frames from a byte stream that may
//! arrive in any chunking and carry garbage. It owns framing and resync only; it must never
//! interpret a payload, decide about retries or panic on any input.

use super::crc32c;

/// The two bytes every frame starts with ("KW").
pub const MAGIC: [u8; 2] = *b"KW";
/// The only frame version this dock speaks.
pub const VERSION: u8 = 1;
/// Bytes before the payload: magic, version, type, seq, flags, len.
pub const HEADER_LEN: usize = 12;
/// Largest payload a frame may carry.
pub const MAX_PAYLOAD: usize = 65536;
/// Bytes after the payload: the CRC.
const TRAILER_LEN: usize = 4;

/// One frame with a good CRC. `kind` is the message type byte; `flags` are reserved and dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub seq: u16,
    pub payload: Vec<u8>,
}

/// Why the decoder discarded input. Each error has already been skipped past: the decoder is
/// resynchronising on the next magic, so callers only decide what the fault means to them.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FrameError {
    #[error("{skipped} byte(s) of garbage before the next frame magic")]
    Garbage { skipped: usize },
    #[error("frame version {0} (this dock speaks version {VERSION})")]
    BadVersion(u8),
    #[error("frame announces a {0}-byte payload, more than the {MAX_PAYLOAD} allowed")]
    TooLong(u32),
    #[error("frame CRC is {actual:#010x} but the frame carries {expected:#010x}")]
    BadCrc { expected: u32, actual: u32 },
}

/// Encodes one frame; flags are written as 0.
///
/// The payload must not exceed [`MAX_PAYLOAD`]: a receiver rejects such a frame as [`FrameError::TooLong`].
pub fn encode_frame(kind: u8, seq: u16, payload: &[u8]) -> Vec<u8> {
    build_frame(kind, seq, payload.len(), |out| {
        out.extend_from_slice(payload)
    })
}

/// Encodes a frame whose payload `write` appends straight into the frame buffer, so message
/// encoders do not build the payload in a separate allocation first.
pub(super) fn build_frame(
    kind: u8,
    seq: u16,
    payload_hint: usize,
    write: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload_hint + TRAILER_LEN);
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(kind);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    write(&mut out);
    let len = out.len() - HEADER_LEN;
    debug_assert!(
        len <= MAX_PAYLOAD,
        "{len}-byte payload exceeds the frame limit"
    );
    // Only an impossible >4 GiB payload saturates; receivers reject it as TooLong either way.
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    out[8..HEADER_LEN].copy_from_slice(&len.to_le_bytes());
    let crc = crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Reassembles frames from arbitrary chunks of a byte stream and resyncs after any fault by
/// discarding input up to the next magic (protocol.md §2).
///
/// Input is copied once into an internal buffer and each payload once out of it. Consumed bytes
/// are not drained per frame: a read offset advances, and the unconsumed rest is moved to the
/// front only when the buffer is full and the consumed prefix is at least as large as that rest,
/// so every byte is moved a constant number of times at most (amortised O(n) over the stream).
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    start: usize,
}

impl FrameDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes as they were read from the link.
    pub fn push(&mut self, bytes: &[u8]) {
        let pending = self.buf.len() - self.start;
        let full = self.buf.len() + bytes.len() > self.buf.capacity();
        if pending == 0 {
            self.buf.clear();
            self.start = 0;
        } else if full && self.start >= pending {
            self.buf.copy_within(self.start.., 0);
            self.buf.truncate(pending);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame or fault, or `None` until more bytes arrive.
    ///
    /// After a fault the offending bytes are already skipped: for a bad version, oversized
    /// length or bad CRC only the magic is skipped, because the header itself may be garbage
    /// that happens to contain "KW", and a real frame can start inside what it claimed.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FrameError>> {
        let pending = &self.buf[self.start..];
        let skipped = garbage_len(pending);
        if skipped > 0 {
            self.start += skipped;
            return Some(Err(FrameError::Garbage { skipped }));
        }
        let header = pending.first_chunk::<HEADER_LEN>()?;
        let &[_, _, version, kind, seq_lo, seq_hi, _, _, l0, l1, l2, l3] = header;
        if version != VERSION {
            self.start += MAGIC.len();
            return Some(Err(FrameError::BadVersion(version)));
        }
        let len = u32::from_le_bytes([l0, l1, l2, l3]);
        let payload_len = match usize::try_from(len) {
            Ok(n) if n <= MAX_PAYLOAD => n,
            _ => {
                self.start += MAGIC.len();
                return Some(Err(FrameError::TooLong(len)));
            }
        };
        let body_len = HEADER_LEN + payload_len;
        let (body, rest) = pending.split_at_checked(body_len)?;
        let trailer = rest.first_chunk::<TRAILER_LEN>()?;
        let expected = u32::from_le_bytes(*trailer);
        let actual = crc32c(body);
        if actual != expected {
            self.start += MAGIC.len();
            return Some(Err(FrameError::BadCrc { expected, actual }));
        }
        let frame = Frame {
            kind,
            seq: u16::from_le_bytes([seq_lo, seq_hi]),
            payload: body[HEADER_LEN..].to_vec(),
        };
        self.start += body_len + TRAILER_LEN;
        Some(Ok(frame))
    }

    /// Drops everything buffered, such as a partial frame whose corrupted length announced
    /// bytes that will never come.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
    }

    /// Bytes received but not yet consumed as a frame or fault.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }
}

/// How many leading bytes cannot start a frame: everything before the first magic. A trailing
/// `K` is kept, since its `W` may be in the next chunk.
fn garbage_len(bytes: &[u8]) -> usize {
    let mut from = 0;
    while let Some(k) = bytes[from..].iter().position(|&b| b == MAGIC[0]) {
        let at = from + k;
        match bytes.get(at + 1) {
            Some(&b) if b == MAGIC[1] => return at,
            Some(_) => from = at + 1,
            None => return at,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::super::testing;
    use super::*;
    use proptest::prelude::*;

    fn decode_all(decoder: &mut FrameDecoder) -> Vec<Result<Frame, FrameError>> {
        std::iter::from_fn(|| decoder.next_frame()).collect()
    }

    #[test]
    fn every_vector_frame_encodes_byte_for_byte_and_decodes_to_its_payload() {
        let json = testing::vector_json("frames.json");
        for case in json["frames"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let kind = u8::try_from(case["type"].as_u64().unwrap()).unwrap();
            let seq = u16::try_from(case["seq"].as_u64().unwrap()).unwrap();
            let payload = testing::hex(case["payload"].as_str().unwrap());
            let wire = testing::hex(case["frame"].as_str().unwrap());
            assert_eq!(encode_frame(kind, seq, &payload), wire, "{name}");

            let mut decoder = FrameDecoder::new();
            decoder.push(&wire);
            let frame = Frame { kind, seq, payload };
            assert_eq!(decode_all(&mut decoder), vec![Ok(frame)], "{name}");
            assert_eq!(decoder.buffered(), 0);
        }
    }

    #[test]
    fn flags_are_ignored_on_receipt() {
        let mut wire = encode_frame(0x80, 7, &[]);
        wire[6] = 0xAA;
        let body_len = wire.len() - TRAILER_LEN;
        let crc = crc32c(&wire[..body_len]);
        wire[body_len..].copy_from_slice(&crc.to_le_bytes());
        let mut decoder = FrameDecoder::new();
        decoder.push(&wire);
        assert_eq!(
            decoder.next_frame(),
            Some(Ok(Frame {
                kind: 0x80,
                seq: 7,
                payload: vec![]
            }))
        );
    }

    #[test]
    fn garbage_before_a_frame_is_reported_then_the_frame_decodes() {
        let mut decoder = FrameDecoder::new();
        decoder.push(b"xyzK");
        assert_eq!(
            decode_all(&mut decoder),
            vec![Err(FrameError::Garbage { skipped: 3 })]
        );
        decoder.push(b"K");
        assert_eq!(
            decode_all(&mut decoder),
            vec![Err(FrameError::Garbage { skipped: 1 })]
        );
        decoder.push(&encode_frame(1, 2, b"hi"));
        let frame = Frame {
            kind: 1,
            seq: 2,
            payload: b"hi".to_vec(),
        };
        // The second K waited for its W; it was not one.
        assert_eq!(
            decode_all(&mut decoder),
            vec![Err(FrameError::Garbage { skipped: 1 }), Ok(frame)]
        );
    }

    #[test]
    fn a_lone_trailing_k_waits_for_the_next_chunk() {
        let mut decoder = FrameDecoder::new();
        decoder.push(b"K");
        assert_eq!(decoder.next_frame(), None);
        assert_eq!(decoder.buffered(), 1);
    }

    #[test]
    fn a_bad_crc_skips_only_the_magic_and_finds_a_frame_hidden_inside() {
        let inner = encode_frame(0x80, 3, &[]);
        let mut outer = encode_frame(0x84, 3, &inner);
        let last = outer.len() - 1;
        outer[last] ^= 0x01;
        let mut decoder = FrameDecoder::new();
        decoder.push(&outer);
        let results = decode_all(&mut decoder);
        assert!(matches!(results[0], Err(FrameError::BadCrc { .. })));
        assert!(results.contains(&Ok(Frame {
            kind: 0x80,
            seq: 3,
            payload: vec![]
        })));
    }

    #[test]
    fn a_bad_version_is_reported_and_skipped() {
        let mut wire = encode_frame(1, 1, &[1]);
        wire[2] = 2;
        let mut decoder = FrameDecoder::new();
        decoder.push(&wire);
        assert_eq!(decoder.next_frame(), Some(Err(FrameError::BadVersion(2))));
        assert!(matches!(
            decoder.next_frame(),
            Some(Err(FrameError::Garbage { .. }))
        ));
        assert_eq!(decoder.next_frame(), None);
    }

    #[test]
    fn a_length_over_the_limit_is_rejected_without_waiting_for_the_bytes() {
        let mut header = encode_frame(0x84, 1, &[])[..HEADER_LEN].to_vec();
        header[8..12].copy_from_slice(&65537u32.to_le_bytes());
        let mut decoder = FrameDecoder::new();
        decoder.push(&header);
        assert_eq!(decoder.next_frame(), Some(Err(FrameError::TooLong(65537))));
    }

    #[test]
    fn a_maximal_payload_is_accepted() {
        let payload = vec![0x5A; MAX_PAYLOAD];
        let mut decoder = FrameDecoder::new();
        decoder.push(&encode_frame(0x84, 9, &payload));
        assert_eq!(
            decoder.next_frame(),
            Some(Ok(Frame {
                kind: 0x84,
                seq: 9,
                payload
            }))
        );
    }

    #[test]
    fn clear_drops_a_partial_frame() {
        let wire = encode_frame(0x84, 1, &[0; 100]);
        let mut decoder = FrameDecoder::new();
        decoder.push(&wire[..50]);
        assert_eq!(decoder.next_frame(), None);
        decoder.clear();
        assert_eq!(decoder.buffered(), 0);
        decoder.push(&wire);
        assert!(matches!(decoder.next_frame(), Some(Ok(_))));
    }

    #[test]
    fn the_buffer_stays_bounded_over_a_long_misaligned_stream() {
        let wire = encode_frame(0x84, 1, &[7; 1000]);
        let stream: Vec<u8> = std::iter::repeat_n(&wire, 2000)
            .flatten()
            .copied()
            .collect();
        let mut decoder = FrameDecoder::new();
        let mut frames = 0;
        for chunk in stream.chunks(700) {
            decoder.push(chunk);
            while let Some(frame) = decoder.next_frame() {
                assert!(frame.is_ok());
                frames += 1;
            }
            assert!(decoder.buf.capacity() <= 8 * wire.len());
        }
        assert_eq!(frames, 2000);
    }

    proptest! {
        #[test]
        fn the_decoder_never_panics_and_always_makes_progress(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..16)
        ) {
            let mut decoder = FrameDecoder::new();
            for chunk in &chunks {
                decoder.push(chunk);
                let mut before = decoder.buffered();
                while decoder.next_frame().is_some() {
                    prop_assert!(decoder.buffered() < before, "every result consumes bytes");
                    before = decoder.buffered();
                }
            }
        }

        #[test]
        fn frames_round_trip_through_any_chunking(
            frames in prop::collection::vec(
                (any::<u8>(), any::<u16>(), prop::collection::vec(any::<u8>(), 0..300)), 1..6),
            cuts in prop::collection::vec(1usize..40, 0..200),
        ) {
            let wire: Vec<u8> =
                frames.iter().flat_map(|(k, s, p)| encode_frame(*k, *s, p)).collect();
            let mut decoder = FrameDecoder::new();
            let mut decoded = Vec::new();
            let mut rest = wire.as_slice();
            for cut in cuts.iter().copied().chain(std::iter::repeat(64)) {
                if rest.is_empty() {
                    break;
                }
                let (chunk, tail) = rest.split_at(cut.min(rest.len()));
                rest = tail;
                decoder.push(chunk);
                decoded.extend(decode_all(&mut decoder));
            }
            let expected: Vec<_> = frames
                .into_iter()
                .map(|(kind, seq, payload)| Ok(Frame { kind, seq, payload }))
                .collect();
            prop_assert_eq!(decoded, expected);
            prop_assert_eq!(decoder.buffered(), 0);
        }

        #[test]
        fn a_valid_frame_is_found_after_any_leading_garbage(
            garbage in prop::collection::vec(
                prop_oneof![Just(b'K'), Just(b'W'), Just(VERSION), any::<u8>()], 0..200),
            kind in any::<u8>(),
            seq in any::<u16>(),
            payload in prop::collection::vec(any::<u8>(), 0..100),
        ) {
            let mut decoder = FrameDecoder::new();
            decoder.push(&garbage);
            decoder.push(&encode_frame(kind, seq, &payload));
            // Garbage may hold a fake header announcing bytes that never come: that is the
            // session's timeout case, which clears and retries; the frame must then decode.
            let frame = Frame { kind, seq, payload };
            let found = decode_all(&mut decoder).contains(&Ok(frame.clone()));
            if !found {
                decoder.clear();
                decoder.push(&encode_frame(frame.kind, frame.seq, &frame.payload));
                prop_assert_eq!(decoder.next_frame(), Some(Ok(frame)));
            }
        }
    }
}
