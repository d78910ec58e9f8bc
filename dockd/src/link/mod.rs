//! The wearable link protocol (shared/protocol.md), sans-IO: frames, messages, segments, record
//! time and the request/response session. It owns every byte of the protocol; it must never do
//! I/O, read a clock, spawn tasks or touch the database (callers bring bytes and times in).

pub mod frame;
pub mod message;
pub mod segment;
pub mod session;
pub mod time;

#[cfg(test)]
pub(crate) mod testing;

pub use frame::{Frame, FrameDecoder, FrameError, encode_frame};
pub use message::{
    Info, MAX_READ, MessageError, Request, Response, SegmentEntry, WearableConfig, error_code, kind,
};
pub use segment::{
    AlertKind, Record, Sample, Samples, Segment, SegmentError, SegmentHeader, SegmentWriter,
    parse_segment,
};
pub use session::{ATTEMPTS, LinkError, Session, Step};
pub use time::{Anchor, DockingClock, SegmentClock};

/// CRC-32C (Castagnoli), the checksum of frames, segment headers and whole segments.
pub fn crc32c(bytes: &[u8]) -> u32 {
    ::crc32c::crc32c(bytes)
}

/// Little-endian field reader shared by the message and segment decoders.
mod wire {
    /// A cursor over wire bytes. Decoders check a payload's length before reading it; a read
    /// past the end still cannot panic, it yields zeros, so no input can crash the dock.
    pub(super) struct Reader<'a> {
        rest: &'a [u8],
    }

    impl<'a> Reader<'a> {
        pub(super) fn new(bytes: &'a [u8]) -> Self {
            Self { rest: bytes }
        }

        pub(super) fn array<const N: usize>(&mut self) -> [u8; N] {
            match self.rest.split_first_chunk::<N>() {
                Some((head, rest)) => {
                    self.rest = rest;
                    *head
                }
                None => {
                    self.rest = &[];
                    [0; N]
                }
            }
        }

        pub(super) fn u8(&mut self) -> u8 {
            let [byte] = self.array();
            byte
        }

        pub(super) fn u16(&mut self) -> u16 {
            u16::from_le_bytes(self.array())
        }

        pub(super) fn i16(&mut self) -> i16 {
            i16::from_le_bytes(self.array())
        }

        pub(super) fn u32(&mut self) -> u32 {
            u32::from_le_bytes(self.array())
        }

        pub(super) fn u64(&mut self) -> u64 {
            u64::from_le_bytes(self.array())
        }

        /// The next `len` bytes, or everything left if fewer remain.
        pub(super) fn bytes(&mut self, len: usize) -> &'a [u8] {
            let (head, rest) = self.rest.split_at(len.min(self.rest.len()));
            self.rest = rest;
            head
        }

        pub(super) fn rest(self) -> &'a [u8] {
            self.rest
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_is_castagnoli_not_zlib() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn crc32c_check_value_matches_the_vector_file() {
        let json = testing::vector_json("frames.json");
        let check = &json["crc32c_check"];
        let input = check["input_ascii"].as_str().unwrap();
        let expected =
            u32::from_str_radix(check["crc"].as_str().unwrap().trim_start_matches("0x"), 16);
        assert_eq!(crc32c(input.as_bytes()), expected.unwrap());
    }
}
