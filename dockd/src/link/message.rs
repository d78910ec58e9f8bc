//! Link messages (protocol.md §3): every request and response payload, both directions, so the
//! dock and the emulator share one codec. It owns payload layouts only; it must never frame,
//! retry or panic on any payload.
//!
//! Decoding rejects payloads too short for their layout and ignores trailing bytes, the way
//! segment records are read: a newer firmware may append fields, never move them.

use super::frame::{self, MAX_PAYLOAD};
use super::wire::Reader;
use crate::worker::WorkerTag;

/// Message type bytes.
pub mod kind {
    pub const HELLO: u8 = 0x01;
    pub const SET_TIME: u8 = 0x02;
    pub const LIST: u8 = 0x03;
    pub const READ: u8 = 0x04;
    pub const ERASE: u8 = 0x05;
    pub const GET_CONFIG: u8 = 0x06;
    pub const SET_CONFIG: u8 = 0x07;
    pub const SET_WORKER: u8 = 0x08;
    pub const OK: u8 = 0x80;
    pub const INFO: u8 = 0x81;
    pub const SEGMENTS: u8 = 0x83;
    pub const DATA: u8 = 0x84;
    pub const CONFIG: u8 = 0x86;
    pub const ERROR: u8 = 0x7F;

    /// The protocol's name for a type byte, for logs and errors.
    pub fn name(kind: u8) -> &'static str {
        match kind {
            HELLO => "HELLO",
            SET_TIME => "SET_TIME",
            LIST => "LIST",
            READ => "READ",
            ERASE => "ERASE",
            GET_CONFIG => "GET_CONFIG",
            SET_CONFIG => "SET_CONFIG",
            SET_WORKER => "SET_WORKER",
            OK => "OK",
            INFO => "INFO",
            SEGMENTS => "SEGMENTS",
            DATA => "DATA",
            CONFIG => "CONFIG",
            ERROR => "ERROR",
            _ => "unknown",
        }
    }
}

/// `ERROR` codes.
pub mod error_code {
    pub const UNKNOWN_TYPE: u16 = 1;
    pub const BAD_PAYLOAD: u16 = 2;
    pub const NO_SUCH_SEGMENT: u16 = 3;
    pub const SEGMENT_OPEN: u16 = 4;
    pub const BUSY: u16 = 5;
    pub const INTERNAL: u16 = 6;
}

/// Largest `READ.max_len`: a DATA payload (8-byte prefix + bytes) must fit in one frame.
pub const MAX_READ: u32 = (MAX_PAYLOAD - 8) as u32;

const INFO_LEN: usize = 64;
const CONFIG_LEN: usize = 16;
const ENTRY_LEN: usize = 29;
const TAG_LEN: usize = 16;
/// Largest request payload (SET_CONFIG, SET_WORKER).
const MAX_REQUEST_LEN: usize = 16;

/// A request, dock → wearable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Hello {
        proto_max: u8,
    },
    SetTime {
        unix_ms: u64,
    },
    List,
    Read {
        id: u32,
        offset: u32,
        max_len: u32,
    },
    Erase {
        id: u32,
    },
    GetConfig,
    SetConfig(WearableConfig),
    /// `None` unassigns the wearable (an all-NUL tag on the wire).
    SetWorker(Option<WorkerTag>),
}

/// A response, wearable → dock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Ok,
    Info(Info),
    Segments(Vec<SegmentEntry>),
    Data {
        id: u32,
        offset: u32,
        bytes: Vec<u8>,
    },
    Config(WearableConfig),
    /// The message is decoded lossily: it is diagnostic text, and the code is what matters.
    Error {
        code: u16,
        message: String,
    },
}

/// The wearable's identity and state, as reported in `INFO` at docking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Printable ASCII, 1 to 16 characters (the USB iSerialNumber too).
    pub serial: String,
    pub model: u16,
    pub hw_rev: u16,
    pub fw_major: u8,
    pub fw_minor: u8,
    pub fw_patch: u16,
    pub proto_ver: u8,
    pub clock_valid: bool,
    pub charging: bool,
    pub haptics_enabled: bool,
    pub boot_count: u32,
    /// Unix ms if `clock_valid`, else ms since this boot.
    pub device_ms: u64,
    pub batt_soc: u8,
    pub batt_health: u8,
    pub batt_cycles: u16,
    pub batt_mv: u16,
    /// Battery temperature in 0.1 °C.
    pub batt_temp_dc: i16,
    pub worker: Option<WorkerTag>,
    pub segments: u16,
}

/// One `SEGMENTS` entry. Times are on the device clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentEntry {
    pub id: u32,
    pub size: u32,
    /// CRC-32C of the whole segment.
    pub crc: u32,
    pub closed: bool,
    pub first_ms: u64,
    pub last_ms: u64,
}

/// The wearable's alerting configuration (`CONFIG` / `SET_CONFIG`). Its JSON form is the
/// `thresholds` setting and what the store records a wearable confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WearableConfig {
    /// Bend alert threshold in 0.01°.
    pub bend_alert: i16,
    pub bend_hold_ms: u16,
    /// Twist alert threshold in 0.1 °/s.
    pub twist_alert: u16,
    pub haptics: bool,
    pub rate_hz: u8,
}

impl Default for WearableConfig {
    /// The firmware's defaults (protocol.md §3).
    fn default() -> Self {
        Self {
            bend_alert: 4500,
            bend_hold_ms: 1000,
            twist_alert: 600,
            haptics: true,
            rate_hz: 25,
        }
    }
}

/// Why a payload could not be decoded.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum MessageError {
    #[error("message type {0:#04x} is not one this side of the link understands")]
    UnknownType(u8),
    #[error("{} payload is {len} bytes, too short: it needs at least {need}", kind::name(*kind))]
    BadLength { kind: u8, len: usize, need: usize },
    #[error("INFO serial is empty or not printable ASCII")]
    BadSerial,
    #[error("READ asks for {0} bytes, more than the {MAX_READ} a DATA frame can carry")]
    ReadTooLong(u32),
    #[error("got {} where {} or ERROR was due", kind::name(*actual), kind::name(*expected))]
    UnexpectedResponse { expected: u8, actual: u8 },
}

impl Request {
    pub fn kind(&self) -> u8 {
        match self {
            Request::Hello { .. } => kind::HELLO,
            Request::SetTime { .. } => kind::SET_TIME,
            Request::List => kind::LIST,
            Request::Read { .. } => kind::READ,
            Request::Erase { .. } => kind::ERASE,
            Request::GetConfig => kind::GET_CONFIG,
            Request::SetConfig(_) => kind::SET_CONFIG,
            Request::SetWorker(_) => kind::SET_WORKER,
        }
    }

    pub fn name(&self) -> &'static str {
        kind::name(self.kind())
    }

    /// The response type that answers this request (besides `ERROR`, which answers any).
    pub fn response_kind(&self) -> u8 {
        match self {
            Request::Hello { .. } => kind::INFO,
            Request::List => kind::SEGMENTS,
            Request::Read { .. } => kind::DATA,
            Request::GetConfig => kind::CONFIG,
            Request::SetTime { .. }
            | Request::Erase { .. }
            | Request::SetConfig(_)
            | Request::SetWorker(_) => kind::OK,
        }
    }

    pub fn encode_payload(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_REQUEST_LEN);
        self.write_payload(&mut out);
        out
    }

    /// The whole frame for this request with sequence number `seq`.
    pub fn encode_frame(&self, seq: u16) -> Vec<u8> {
        frame::build_frame(self.kind(), seq, MAX_REQUEST_LEN, |out| {
            self.write_payload(out)
        })
    }

    fn write_payload(&self, out: &mut Vec<u8>) {
        match self {
            Request::Hello { proto_max } => out.push(*proto_max),
            Request::SetTime { unix_ms } => out.extend_from_slice(&unix_ms.to_le_bytes()),
            Request::List | Request::GetConfig => {}
            Request::Read {
                id,
                offset,
                max_len,
            } => {
                for field in [id, offset, max_len] {
                    out.extend_from_slice(&field.to_le_bytes());
                }
            }
            Request::Erase { id } => out.extend_from_slice(&id.to_le_bytes()),
            Request::SetConfig(config) => config.write(out),
            Request::SetWorker(tag) => write_tag(out, *tag),
        }
    }

    /// Decodes a request payload (the emulator's side of the link).
    pub fn decode(kind: u8, payload: &[u8]) -> Result<Self, MessageError> {
        let need = |len| check_len(kind, payload, len);
        let mut r = Reader::new(payload);
        Ok(match kind {
            kind::HELLO => {
                need(1)?;
                Request::Hello { proto_max: r.u8() }
            }
            kind::SET_TIME => {
                need(8)?;
                Request::SetTime { unix_ms: r.u64() }
            }
            kind::LIST => Request::List,
            kind::READ => {
                need(12)?;
                let (id, offset, max_len) = (r.u32(), r.u32(), r.u32());
                if max_len > MAX_READ {
                    return Err(MessageError::ReadTooLong(max_len));
                }
                Request::Read {
                    id,
                    offset,
                    max_len,
                }
            }
            kind::ERASE => {
                need(4)?;
                Request::Erase { id: r.u32() }
            }
            kind::GET_CONFIG => Request::GetConfig,
            kind::SET_CONFIG => {
                need(CONFIG_LEN)?;
                Request::SetConfig(WearableConfig::read(&mut r))
            }
            kind::SET_WORKER => {
                need(TAG_LEN)?;
                Request::SetWorker(WorkerTag::from_wire(r.array()))
            }
            other => return Err(MessageError::UnknownType(other)),
        })
    }
}

impl Response {
    pub fn kind(&self) -> u8 {
        match self {
            Response::Ok => kind::OK,
            Response::Info(_) => kind::INFO,
            Response::Segments(_) => kind::SEGMENTS,
            Response::Data { .. } => kind::DATA,
            Response::Config(_) => kind::CONFIG,
            Response::Error { .. } => kind::ERROR,
        }
    }

    pub fn name(&self) -> &'static str {
        kind::name(self.kind())
    }

    pub fn encode_payload(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload_len());
        self.write_payload(&mut out);
        out
    }

    /// The whole frame for this response to the request numbered `seq`. DATA bytes are copied
    /// once, straight into the frame.
    pub fn encode_frame(&self, seq: u16) -> Vec<u8> {
        frame::build_frame(self.kind(), seq, self.payload_len(), |out| {
            self.write_payload(out)
        })
    }

    fn payload_len(&self) -> usize {
        match self {
            Response::Ok => 0,
            Response::Info(_) => INFO_LEN,
            Response::Segments(entries) => 2 + ENTRY_LEN * entries.len(),
            Response::Data { bytes, .. } => 8 + bytes.len(),
            Response::Config(_) => CONFIG_LEN,
            Response::Error { message, .. } => 4 + message.len(),
        }
    }

    fn write_payload(&self, out: &mut Vec<u8>) {
        match self {
            Response::Ok => {}
            Response::Info(info) => info.write(out),
            Response::Segments(entries) => {
                // A wearable keeps at most 1024 segments; a longer list is cut, never miscounted.
                let count = u16::try_from(entries.len()).unwrap_or(u16::MAX);
                out.extend_from_slice(&count.to_le_bytes());
                for entry in &entries[..usize::from(count)] {
                    entry.write(out);
                }
            }
            Response::Data { id, offset, bytes } => {
                out.extend_from_slice(&id.to_le_bytes());
                out.extend_from_slice(&offset.to_le_bytes());
                out.extend_from_slice(bytes);
            }
            Response::Config(config) => config.write(out),
            Response::Error { code, message } => {
                let text_len = u16::try_from(message.len()).unwrap_or(u16::MAX);
                out.extend_from_slice(&code.to_le_bytes());
                out.extend_from_slice(&text_len.to_le_bytes());
                out.extend_from_slice(&message.as_bytes()[..usize::from(text_len)]);
            }
        }
    }

    /// Decodes a response payload (the dock's side of the link).
    pub fn decode(kind: u8, payload: &[u8]) -> Result<Self, MessageError> {
        let mut r = Reader::new(payload);
        match kind {
            kind::OK => Ok(Response::Ok),
            kind::INFO => {
                check_len(kind, payload, INFO_LEN)?;
                Info::read(&mut r).map(Response::Info)
            }
            kind::SEGMENTS => {
                check_len(kind, payload, 2)?;
                let count = usize::from(r.u16());
                check_len(kind, payload, 2 + ENTRY_LEN * count)?;
                Ok(Response::Segments(
                    (0..count).map(|_| SegmentEntry::read(&mut r)).collect(),
                ))
            }
            kind::DATA => {
                check_len(kind, payload, 8)?;
                let (id, offset) = (r.u32(), r.u32());
                Ok(Response::Data {
                    id,
                    offset,
                    bytes: r.rest().to_vec(),
                })
            }
            kind::CONFIG => {
                check_len(kind, payload, CONFIG_LEN)?;
                Ok(Response::Config(WearableConfig::read(&mut r)))
            }
            kind::ERROR => {
                check_len(kind, payload, 4)?;
                let (code, text_len) = (r.u16(), usize::from(r.u16()));
                check_len(kind, payload, 4 + text_len)?;
                let message = String::from_utf8_lossy(r.bytes(text_len)).into_owned();
                Ok(Response::Error { code, message })
            }
            other => Err(MessageError::UnknownType(other)),
        }
    }
}

impl Info {
    /// Firmware version as the wearable team writes it, e.g. "1.4.2".
    pub fn firmware(&self) -> String {
        format!("{}.{}.{}", self.fw_major, self.fw_minor, self.fw_patch)
    }

    /// Reads the 64-byte layout; the caller has checked the length.
    fn read(r: &mut Reader<'_>) -> Result<Self, MessageError> {
        let serial = serial_from_wire(&r.array::<16>())?;
        let (model, hw_rev) = (r.u16(), r.u16());
        let (fw_major, fw_minor, fw_patch) = (r.u8(), r.u8(), r.u16());
        let (proto_ver, flags) = (r.u8(), r.u8());
        Ok(Info {
            serial,
            model,
            hw_rev,
            fw_major,
            fw_minor,
            fw_patch,
            proto_ver,
            clock_valid: flags & 0b001 != 0,
            charging: flags & 0b010 != 0,
            haptics_enabled: flags & 0b100 != 0,
            boot_count: r.u32(),
            device_ms: r.u64(),
            batt_soc: r.u8(),
            batt_health: r.u8(),
            batt_cycles: r.u16(),
            batt_mv: r.u16(),
            batt_temp_dc: r.i16(),
            worker: WorkerTag::from_wire(r.array()),
            segments: r.u16(),
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        let mut serial = [0u8; 16];
        let raw = self.serial.as_bytes();
        let n = raw.len().min(serial.len());
        serial[..n].copy_from_slice(&raw[..n]);
        let flags = u8::from(self.clock_valid)
            | u8::from(self.charging) << 1
            | u8::from(self.haptics_enabled) << 2;
        out.extend_from_slice(&serial);
        out.extend_from_slice(&self.model.to_le_bytes());
        out.extend_from_slice(&self.hw_rev.to_le_bytes());
        out.extend_from_slice(&[self.fw_major, self.fw_minor]);
        out.extend_from_slice(&self.fw_patch.to_le_bytes());
        out.extend_from_slice(&[self.proto_ver, flags]);
        out.extend_from_slice(&self.boot_count.to_le_bytes());
        out.extend_from_slice(&self.device_ms.to_le_bytes());
        out.extend_from_slice(&[self.batt_soc, self.batt_health]);
        out.extend_from_slice(&self.batt_cycles.to_le_bytes());
        out.extend_from_slice(&self.batt_mv.to_le_bytes());
        out.extend_from_slice(&self.batt_temp_dc.to_le_bytes());
        write_tag(out, self.worker);
        out.extend_from_slice(&self.segments.to_le_bytes());
    }
}

impl SegmentEntry {
    fn read(r: &mut Reader<'_>) -> Self {
        let (id, size, crc) = (r.u32(), r.u32(), r.u32());
        let closed = r.u8() & 1 != 0;
        Self {
            id,
            size,
            crc,
            closed,
            first_ms: r.u64(),
            last_ms: r.u64(),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.crc.to_le_bytes());
        out.push(u8::from(self.closed));
        out.extend_from_slice(&self.first_ms.to_le_bytes());
        out.extend_from_slice(&self.last_ms.to_le_bytes());
    }
}

impl WearableConfig {
    fn read(r: &mut Reader<'_>) -> Self {
        Self {
            bend_alert: r.i16(),
            bend_hold_ms: r.u16(),
            twist_alert: r.u16(),
            haptics: r.u8() != 0,
            rate_hz: r.u8(),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bend_alert.to_le_bytes());
        out.extend_from_slice(&self.bend_hold_ms.to_le_bytes());
        out.extend_from_slice(&self.twist_alert.to_le_bytes());
        out.extend_from_slice(&[u8::from(self.haptics), self.rate_hz]);
        out.extend_from_slice(&[0; 8]);
    }
}

fn check_len(kind: u8, payload: &[u8], need: usize) -> Result<(), MessageError> {
    if payload.len() < need {
        return Err(MessageError::BadLength {
            kind,
            len: payload.len(),
            need,
        });
    }
    Ok(())
}

/// The serial is the wearable's identity in the database, file names and logs: it must be
/// printable ASCII, NUL-padded, and not empty.
fn serial_from_wire(raw: &[u8; 16]) -> Result<String, MessageError> {
    let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let (text, padding) = raw.split_at(len);
    if text.is_empty() || !text.iter().all(u8::is_ascii_graphic) || padding.iter().any(|&b| b != 0)
    {
        return Err(MessageError::BadSerial);
    }
    Ok(text.iter().map(|&b| char::from(b)).collect())
}

fn write_tag(out: &mut Vec<u8>, tag: Option<WorkerTag>) {
    out.extend_from_slice(&tag.map_or([0; TAG_LEN], |tag| *tag.as_bytes()));
}

#[cfg(test)]
mod tests {
    use super::super::testing;
    use super::*;
    use proptest::prelude::*;

    fn vector(name: &str) -> (u8, Vec<u8>, serde_json::Value) {
        let json = testing::vector_json("frames.json");
        let case = json["frames"]
            .as_array()
            .unwrap()
            .iter()
            .find(|case| case["name"] == name)
            .unwrap()
            .clone();
        let kind = u8::try_from(case["type"].as_u64().unwrap()).unwrap();
        (kind, testing::hex(case["payload"].as_str().unwrap()), case)
    }

    #[test]
    fn info_vector_decodes_field_for_field() {
        let (kind, payload, case) = vector("info");
        let Response::Info(info) = Response::decode(kind, &payload).unwrap() else {
            panic!("not INFO");
        };
        let want = &case["decoded"];
        assert_eq!(info.serial, want["serial"].as_str().unwrap());
        assert_eq!(u64::from(info.model), want["model"].as_u64().unwrap());
        assert_eq!(u64::from(info.hw_rev), want["hw_rev"].as_u64().unwrap());
        assert_eq!(info.firmware(), want["fw"].as_str().unwrap());
        assert_eq!(
            u64::from(info.proto_ver),
            want["proto_ver"].as_u64().unwrap()
        );
        assert_eq!(info.clock_valid, want["clock_valid"].as_bool().unwrap());
        assert_eq!(info.charging, want["charging"].as_bool().unwrap());
        assert_eq!(
            info.haptics_enabled,
            want["haptics_enabled"].as_bool().unwrap()
        );
        assert_eq!(
            u64::from(info.boot_count),
            want["boot_count"].as_u64().unwrap()
        );
        assert_eq!(info.device_ms, want["device_ms"].as_u64().unwrap());
        assert_eq!(u64::from(info.batt_soc), want["batt_soc"].as_u64().unwrap());
        assert_eq!(
            u64::from(info.batt_health),
            want["batt_health"].as_u64().unwrap()
        );
        assert_eq!(
            u64::from(info.batt_cycles),
            want["batt_cycles"].as_u64().unwrap()
        );
        assert_eq!(u64::from(info.batt_mv), want["batt_mv"].as_u64().unwrap());
        assert_eq!(want["batt_temp_c"].as_f64().unwrap(), -1.5);
        assert_eq!(info.batt_temp_dc, -15);
        let tag = WorkerTag::from_ascii(want["worker_tag"].as_str().unwrap());
        assert_eq!(info.worker, tag);
        assert_eq!(u64::from(info.segments), want["segments"].as_u64().unwrap());
        assert_eq!(Response::Info(info).encode_payload(), payload);
    }

    #[test]
    fn request_vectors_decode_and_reencode() {
        let cases = [
            ("hello", Request::Hello { proto_max: 1 }),
            (
                "set_time",
                Request::SetTime {
                    unix_ms: 1_763_800_000_000,
                },
            ),
            (
                "read",
                Request::Read {
                    id: 7,
                    offset: 65528,
                    max_len: 65528,
                },
            ),
        ];
        for (name, request) in cases {
            let (kind, payload, case) = vector(name);
            assert_eq!(
                Request::decode(kind, &payload),
                Ok(request.clone()),
                "{name}"
            );
            assert_eq!(request.kind(), kind);
            assert_eq!(request.encode_payload(), payload, "{name}");
            let seq = u16::try_from(case["seq"].as_u64().unwrap()).unwrap();
            let wire = testing::hex(case["frame"].as_str().unwrap());
            assert_eq!(request.encode_frame(seq), wire, "{name}");
        }
    }

    #[test]
    fn response_vectors_decode_and_reencode() {
        let cases = [
            ("ok", Response::Ok),
            (
                "error_no_segment",
                Response::Error {
                    code: error_code::NO_SUCH_SEGMENT,
                    message: "no segment".to_owned(),
                },
            ),
        ];
        for (name, response) in cases {
            let (kind, payload, case) = vector(name);
            assert_eq!(
                Response::decode(kind, &payload),
                Ok(response.clone()),
                "{name}"
            );
            let seq = u16::try_from(case["seq"].as_u64().unwrap()).unwrap();
            let wire = testing::hex(case["frame"].as_str().unwrap());
            assert_eq!(response.encode_frame(seq), wire, "{name}");
        }
    }

    #[test]
    fn a_short_info_is_rejected_saying_how_short() {
        let (kind, payload, _) = vector("info");
        let err = Response::decode(kind, &payload[..60]).unwrap_err();
        assert_eq!(
            err,
            MessageError::BadLength {
                kind,
                len: 60,
                need: 64
            }
        );
        assert_eq!(
            err.to_string(),
            "INFO payload is 60 bytes, too short: it needs at least 64"
        );
    }

    #[test]
    fn a_segments_list_shorter_than_its_count_is_rejected() {
        let entry = SegmentEntry {
            id: 1,
            size: 2,
            crc: 3,
            closed: true,
            first_ms: 4,
            last_ms: 5,
        };
        let payload = Response::Segments(vec![entry; 2]).encode_payload();
        assert_eq!(payload.len(), 2 + 2 * 29);
        let err = Response::decode(kind::SEGMENTS, &payload[..40]).unwrap_err();
        assert_eq!(
            err,
            MessageError::BadLength {
                kind: kind::SEGMENTS,
                len: 40,
                need: 60
            }
        );
    }

    #[test]
    fn an_error_whose_text_overruns_the_payload_is_rejected() {
        let payload = [3, 0, 10, 0, b'n', b'o'];
        let err = Response::decode(kind::ERROR, &payload).unwrap_err();
        assert_eq!(
            err,
            MessageError::BadLength {
                kind: kind::ERROR,
                len: 6,
                need: 14
            }
        );
    }

    #[test]
    fn error_text_that_is_not_utf8_is_decoded_lossily() {
        let payload = [5, 0, 2, 0, 0xFF, b'x'];
        let decoded = Response::decode(kind::ERROR, &payload).unwrap();
        assert_eq!(
            decoded,
            Response::Error {
                code: 5,
                message: "\u{FFFD}x".to_owned()
            }
        );
    }

    #[test]
    fn a_serial_that_is_not_printable_ascii_is_rejected() {
        let (kind, mut payload, _) = vector("info");
        payload[3] = b'\n';
        assert_eq!(
            Response::decode(kind, &payload),
            Err(MessageError::BadSerial)
        );
        payload[..16].fill(0);
        assert_eq!(
            Response::decode(kind, &payload),
            Err(MessageError::BadSerial)
        );
    }

    #[test]
    fn a_read_larger_than_a_frame_can_answer_is_rejected() {
        let payload = Request::Read {
            id: 1,
            offset: 0,
            max_len: MAX_READ + 1,
        }
        .encode_payload();
        assert_eq!(
            Request::decode(kind::READ, &payload),
            Err(MessageError::ReadTooLong(65529))
        );
    }

    #[test]
    fn types_of_the_other_direction_are_unknown() {
        assert_eq!(
            Request::decode(kind::INFO, &[]),
            Err(MessageError::UnknownType(kind::INFO))
        );
        assert_eq!(
            Response::decode(kind::HELLO, &[1]),
            Err(MessageError::UnknownType(kind::HELLO))
        );
    }

    #[test]
    fn config_reserved_bytes_are_written_as_zeros() {
        let payload = Response::Config(WearableConfig::default()).encode_payload();
        assert_eq!(payload.len(), 16);
        assert_eq!(&payload[8..], &[0; 8]);
        assert_eq!(&payload[..8], &[0x94, 0x11, 0xE8, 0x03, 0x58, 0x02, 1, 25]);
    }

    #[test]
    fn trailing_bytes_from_newer_firmware_are_ignored() {
        let mut payload = Response::Config(WearableConfig::default()).encode_payload();
        payload.extend_from_slice(&[9, 9]);
        let decoded = Response::decode(kind::CONFIG, &payload);
        assert_eq!(decoded, Ok(Response::Config(WearableConfig::default())));
    }

    fn tag() -> impl Strategy<Value = Option<WorkerTag>> {
        prop::option::of(
            any::<[u8; 16]>().prop_filter_map("all NUL is unassigned", WorkerTag::from_wire),
        )
    }

    fn config() -> impl Strategy<Value = WearableConfig> {
        (
            any::<i16>(),
            any::<u16>(),
            any::<u16>(),
            any::<bool>(),
            any::<u8>(),
        )
            .prop_map(
                |(bend_alert, bend_hold_ms, twist_alert, haptics, rate_hz)| WearableConfig {
                    bend_alert,
                    bend_hold_ms,
                    twist_alert,
                    haptics,
                    rate_hz,
                },
            )
    }

    fn request() -> impl Strategy<Value = Request> {
        prop_oneof![
            any::<u8>().prop_map(|proto_max| Request::Hello { proto_max }),
            any::<u64>().prop_map(|unix_ms| Request::SetTime { unix_ms }),
            Just(Request::List),
            (any::<u32>(), any::<u32>(), 0..=MAX_READ).prop_map(|(id, offset, max_len)| {
                Request::Read {
                    id,
                    offset,
                    max_len,
                }
            }),
            any::<u32>().prop_map(|id| Request::Erase { id }),
            Just(Request::GetConfig),
            config().prop_map(Request::SetConfig),
            tag().prop_map(Request::SetWorker),
        ]
    }

    fn info() -> impl Strategy<Value = Info> {
        let identity = (
            "[!-~]{1,16}",
            any::<(u16, u16, u8, u8, u16, u8)>(),
            any::<[bool; 3]>(),
        );
        let state = (
            any::<(u32, u64, u8, u8, u16, u16, i16)>(),
            tag(),
            any::<u16>(),
        );
        (identity, state).prop_map(
            |(
                (serial, (model, hw_rev, fw_major, fw_minor, fw_patch, proto_ver), flags),
                (
                    (
                        boot_count,
                        device_ms,
                        batt_soc,
                        batt_health,
                        batt_cycles,
                        batt_mv,
                        batt_temp_dc,
                    ),
                    worker,
                    segments,
                ),
            )| Info {
                serial,
                model,
                hw_rev,
                fw_major,
                fw_minor,
                fw_patch,
                proto_ver,
                clock_valid: flags[0],
                charging: flags[1],
                haptics_enabled: flags[2],
                boot_count,
                device_ms,
                batt_soc,
                batt_health,
                batt_cycles,
                batt_mv,
                batt_temp_dc,
                worker,
                segments,
            },
        )
    }

    fn entry() -> impl Strategy<Value = SegmentEntry> {
        any::<(u32, u32, u32, bool, u64, u64)>().prop_map(
            |(id, size, crc, closed, first_ms, last_ms)| SegmentEntry {
                id,
                size,
                crc,
                closed,
                first_ms,
                last_ms,
            },
        )
    }

    fn response() -> impl Strategy<Value = Response> {
        prop_oneof![
            Just(Response::Ok),
            info().prop_map(Response::Info),
            prop::collection::vec(entry(), 0..40).prop_map(Response::Segments),
            (
                any::<u32>(),
                any::<u32>(),
                prop::collection::vec(any::<u8>(), 0..512)
            )
                .prop_map(|(id, offset, bytes)| Response::Data { id, offset, bytes }),
            config().prop_map(Response::Config),
            (any::<u16>(), ".{0,40}").prop_map(|(code, message)| Response::Error { code, message }),
        ]
    }

    proptest! {
        #[test]
        fn every_request_round_trips(request in request()) {
            let payload = request.encode_payload();
            prop_assert_eq!(Request::decode(request.kind(), &payload), Ok(request));
        }

        #[test]
        fn every_response_round_trips(response in response()) {
            let payload = response.encode_payload();
            prop_assert_eq!(payload.len(), response.payload_len());
            prop_assert_eq!(Response::decode(response.kind(), &payload), Ok(response));
        }

        #[test]
        fn any_truncation_of_a_message_is_an_error_not_a_panic(response in response(), cut in any::<prop::sample::Index>()) {
            let payload = response.encode_payload();
            let short = &payload[..cut.index(payload.len().max(1))];
            if short.len() < payload.len() && response.kind() != kind::DATA && response.kind() != kind::OK {
                let decoded = Response::decode(response.kind(), short);
                prop_assert!(decoded.is_err(), "{:?} decoded from {} of {} bytes", decoded, short.len(), payload.len());
            }
        }

        #[test]
        fn decoding_arbitrary_payloads_never_panics(kind in any::<u8>(), payload in prop::collection::vec(any::<u8>(), 0..128)) {
            let _ = Request::decode(kind, &payload);
            let _ = Response::decode(kind, &payload);
        }
    }
}
