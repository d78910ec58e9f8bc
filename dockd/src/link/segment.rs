//! Segment bytes (protocol.md §4): the zero-copy parser the dock ingests with, and the writer the
//! emulator produces them with. It owns the segment layout only; it must never place records in
//! wall time (that is `time`), accept a corrupt segment in part, or panic on any input.

use super::crc32c;
use super::wire::Reader;
use crate::worker::WorkerTag;

pub const HEADER_LEN: usize = 32;
pub const SEGMENT_MAGIC: [u8; 4] = *b"KSEG";
/// The only segment format this dock reads.
pub const FORMAT: u16 = 1;
/// Bytes of a record before its body: type u8, len u16.
const RECORD_HEADER_LEN: usize = 3;
const SAMPLE_LEN: usize = 8;
/// Most samples one SAMPLES record can hold: its body length is a u16.
pub const MAX_SAMPLES_PER_RECORD: usize = (u16::MAX as usize - 6) / SAMPLE_LEN;

/// Record type bytes.
pub mod record_kind {
    pub const SAMPLES: u8 = 0x01;
    pub const ALERT: u8 = 0x02;
    pub const CLOCK: u8 = 0x03;
    pub const DIAG: u8 = 0x05;
    pub const WORKER: u8 = 0x06;
    pub const BUTTON: u8 = 0x07;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub format: u16,
    /// Sample rate of SAMPLES records.
    pub rate_hz: u16,
    pub segment_id: u32,
    /// The boot this segment was written in.
    pub boot_count: u32,
    /// Device clock when the segment was opened: Unix ms if `clock_valid`, else ms since boot.
    pub start_ms: u64,
    pub clock_valid: bool,
}

/// One posture sample, in raw wire units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Sagittal trunk flexion, 0.01°, + forward.
    pub flex: i16,
    /// Lateral bend, 0.01°, + right.
    pub lat: i16,
    /// Axial angular velocity, 0.1 °/s.
    pub twist: i16,
    /// Device height relative to calibration, mm.
    pub height: i16,
}

impl Sample {
    fn from_wire(raw: &[u8; SAMPLE_LEN]) -> Self {
        let &[f0, f1, l0, l1, t0, t1, h0, h1] = raw;
        Self {
            flex: i16::from_le_bytes([f0, f1]),
            lat: i16::from_le_bytes([l0, l1]),
            twist: i16::from_le_bytes([t0, t1]),
            height: i16::from_le_bytes([h0, h1]),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        for field in [self.flex, self.lat, self.twist, self.height] {
            out.extend_from_slice(&field.to_le_bytes());
        }
    }
}

/// The samples of one SAMPLES record, borrowed from the segment bytes: decoding happens on
/// access, so ingesting never copies the bulk of a segment. Sample `i` was taken at
/// `t + i * 1000 / rate_hz` ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Samples<'a> {
    /// `len() * 8` bytes.
    raw: &'a [u8],
}

impl<'a> Samples<'a> {
    pub fn len(&self) -> usize {
        self.raw.len() / SAMPLE_LEN
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<Sample> {
        let at = i.checked_mul(SAMPLE_LEN)?;
        self.raw.get(at..)?.first_chunk().map(Sample::from_wire)
    }

    pub fn iter(&self) -> impl Iterator<Item = Sample> + 'a {
        self.raw
            .as_chunks::<SAMPLE_LEN>()
            .0
            .iter()
            .map(Sample::from_wire)
    }

    /// The wire bytes, for storing samples without re-encoding them.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    Bend,
    Twist,
    ProlongedBend,
    Overreach,
    /// A kind newer firmware added; kept, not guessed at.
    Other(u8),
}

impl AlertKind {
    pub fn from_u8(raw: u8) -> Self {
        match raw {
            1 => AlertKind::Bend,
            2 => AlertKind::Twist,
            3 => AlertKind::ProlongedBend,
            4 => AlertKind::Overreach,
            other => AlertKind::Other(other),
        }
    }

    pub fn to_u8(self) -> u8 {
        match self {
            AlertKind::Bend => 1,
            AlertKind::Twist => 2,
            AlertKind::ProlongedBend => 3,
            AlertKind::Overreach => 4,
            AlertKind::Other(raw) => raw,
        }
    }
}

/// One record; `t` is ms since the segment was opened, on the wearable's monotonic clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    Samples {
        t: u32,
        samples: Samples<'a>,
    },
    Alert {
        t: u32,
        kind: AlertKind,
        /// 0.01° for bends and overreach, 0.1 °/s for twists.
        peak: i16,
        duration_ms: u32,
        /// Time from the haptic pulse to a safe posture; `None` = never corrected
        /// (0xFFFFFFFF on the wire, so `Some(0xFFFFFFFF)` is written as `None`).
        response_ms: Option<u32>,
        haptic: bool,
    },
    /// The wall clock was set to `wall_ms` at `t` (`valid`), or was lost (`!valid`, no time).
    Clock {
        t: u32,
        wall_ms: u64,
        valid: bool,
    },
    Diag {
        t: u32,
        batt_mv: u16,
        /// 0.1 °C.
        temp_dc: i16,
        soc: u8,
        /// 0 periodic; anything else is a firmware fault code.
        code: u16,
    },
    Worker {
        t: u32,
        tag: Option<WorkerTag>,
    },
    Button {
        t: u32,
        /// 1 single press, 2 long press, 3 triple press (silent mode toggle).
        action: u8,
    },
    /// A record type this dock does not know, skipped by its length. `body` is the whole body;
    /// `t` is its first four bytes if it has them, as the protocol promises every body starts
    /// with `t` (but nothing else about the record can be trusted).
    Unknown {
        kind: u8,
        t: Option<u32>,
        body: &'a [u8],
    },
}

impl Record<'_> {
    pub fn t(&self) -> Option<u32> {
        match *self {
            Record::Samples { t, .. }
            | Record::Alert { t, .. }
            | Record::Clock { t, .. }
            | Record::Diag { t, .. }
            | Record::Worker { t, .. }
            | Record::Button { t, .. } => Some(t),
            Record::Unknown { t, .. } => t,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    pub header: SegmentHeader,
    pub records: Vec<Record<'a>>,
}

/// Why a segment is corrupt. A corrupt segment is quarantined and never erased from the wearable.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SegmentError {
    #[error("segment is {0} bytes, shorter than its {HEADER_LEN}-byte header")]
    TooShort(usize),
    #[error("segment does not start with \"KSEG\"")]
    BadMagic,
    #[error("segment format {0} (this dock reads format {FORMAT})")]
    UnsupportedFormat(u16),
    #[error("segment header CRC is {actual:#010x} but the header carries {expected:#010x}")]
    BadHeaderCrc { expected: u32, actual: u32 },
    #[error(
        "record type {kind:#04x} at offset {offset} has a {len}-byte body that runs past the end of the segment"
    )]
    RecordOverrun { offset: usize, kind: u8, len: usize },
    #[error("record type {kind:#04x} at offset {offset}: {reason}")]
    BadRecord {
        offset: usize,
        kind: u8,
        reason: &'static str,
    },
}

impl SegmentError {
    /// The fault in plain words, for the people who look at a quarantined segment.
    pub fn reason(&self) -> String {
        match self {
            SegmentError::TooShort(_) | SegmentError::BadMagic => {
                "the data is not a wearable log segment".to_owned()
            }
            SegmentError::UnsupportedFormat(format) => {
                format!("the log was written in format {format}, which this dock cannot read")
            }
            SegmentError::BadHeaderCrc { .. } => "the log's header is damaged".to_owned(),
            SegmentError::RecordOverrun { .. } => {
                "the log is cut short: its last entry runs past the end".to_owned()
            }
            SegmentError::BadRecord { reason, .. } => {
                format!("the log has a damaged entry ({reason})")
            }
        }
    }
}

/// Parses and validates a whole segment without copying it: SAMPLES borrow `bytes`.
///
/// Everything is checked before a result is returned: magic, format, header CRC, every record's
/// length within the segment, and that each known record's body holds its fields (longer bodies
/// are accepted, the extra ignored, for newer firmware). A corrupt segment is an `Err`, never a
/// partial list. The whole-segment CRC is the caller's to check, against the `SEGMENTS` entry.
pub fn parse_segment(bytes: &[u8]) -> Result<Segment<'_>, SegmentError> {
    let (header, mut rest) = bytes
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(SegmentError::TooShort(bytes.len()))?;
    let header = parse_header(header)?;
    // SAMPLES records dominate; 2 KiB is a typical one, so this rarely reallocates.
    let mut records = Vec::with_capacity(rest.len() / 2048 + 8);
    let mut offset = HEADER_LEN;
    while let Some((&[kind, l0, l1], after)) = rest.split_first_chunk::<RECORD_HEADER_LEN>() {
        let len = usize::from(u16::from_le_bytes([l0, l1]));
        let (body, after) = after
            .split_at_checked(len)
            .ok_or(SegmentError::RecordOverrun { offset, kind, len })?;
        let record = parse_record(kind, body).map_err(|reason| SegmentError::BadRecord {
            offset,
            kind,
            reason,
        })?;
        records.push(record);
        offset += RECORD_HEADER_LEN + len;
        rest = after;
    }
    if let [kind, ..] = *rest {
        return Err(SegmentError::BadRecord {
            offset,
            kind,
            reason: "the record header is cut off by the end of the segment",
        });
    }
    Ok(Segment { header, records })
}

fn parse_header(raw: &[u8; HEADER_LEN]) -> Result<SegmentHeader, SegmentError> {
    let mut r = Reader::new(raw);
    if r.array::<4>() != SEGMENT_MAGIC {
        return Err(SegmentError::BadMagic);
    }
    let format = r.u16();
    let rate_hz = r.u16();
    let segment_id = r.u32();
    let boot_count = r.u32();
    let start_ms = r.u64();
    let flags = r.u32();
    let expected = r.u32();
    // Check the CRC before trusting the format field.
    let actual = crc32c(&raw[..HEADER_LEN - 4]);
    if actual != expected {
        return Err(SegmentError::BadHeaderCrc { expected, actual });
    }
    if format != FORMAT {
        return Err(SegmentError::UnsupportedFormat(format));
    }
    Ok(SegmentHeader {
        format,
        rate_hz,
        segment_id,
        boot_count,
        start_ms,
        clock_valid: flags & 1 != 0,
    })
}

/// One record from its type and body. Known bodies must hold their fields; longer ones are
/// accepted (newer firmware appends, never moves fields), the extra ignored.
fn parse_record(kind: u8, body: &[u8]) -> Result<Record<'_>, &'static str> {
    let need = |len: usize, reason| {
        if body.len() < len {
            Err(reason)
        } else {
            Ok(())
        }
    };
    let mut r = Reader::new(body);
    Ok(match kind {
        record_kind::SAMPLES => {
            need(6, "SAMPLES body is shorter than t and n")?;
            let t = r.u32();
            let n = usize::from(r.u16());
            let raw = r
                .rest()
                .get(..n * SAMPLE_LEN)
                .ok_or("SAMPLES count runs past the record")?;
            Record::Samples {
                t,
                samples: Samples { raw },
            }
        }
        record_kind::ALERT => {
            need(16, "ALERT body is shorter than its fields")?;
            Record::Alert {
                t: r.u32(),
                kind: AlertKind::from_u8(r.u8()),
                peak: r.i16(),
                duration_ms: r.u32(),
                response_ms: Some(r.u32()).filter(|&ms| ms != u32::MAX),
                haptic: r.u8() == 1,
            }
        }
        record_kind::CLOCK => {
            need(13, "CLOCK body is shorter than its fields")?;
            Record::Clock {
                t: r.u32(),
                wall_ms: r.u64(),
                valid: r.u8() == 1,
            }
        }
        record_kind::DIAG => {
            need(11, "DIAG body is shorter than its fields")?;
            Record::Diag {
                t: r.u32(),
                batt_mv: r.u16(),
                temp_dc: r.i16(),
                soc: r.u8(),
                code: r.u16(),
            }
        }
        record_kind::WORKER => {
            need(20, "WORKER body is shorter than its tag")?;
            Record::Worker {
                t: r.u32(),
                tag: WorkerTag::from_wire(r.array()),
            }
        }
        record_kind::BUTTON => {
            need(5, "BUTTON body is shorter than its fields")?;
            Record::Button {
                t: r.u32(),
                action: r.u8(),
            }
        }
        _ => Record::Unknown {
            kind,
            t: body.first_chunk().map(|t| u32::from_le_bytes(*t)),
            body,
        },
    })
}

/// Builds segment bytes record by record: the inverse of [`parse_segment`], for the emulator
/// and tests. Records are written in call order; `t` values are the caller's to keep monotonic.
#[derive(Debug, Clone)]
pub struct SegmentWriter {
    bytes: Vec<u8>,
}

impl SegmentWriter {
    /// Starts a segment; the header (with its CRC) is written at once, as the firmware does
    /// when it opens a segment. `header.format` is written as given.
    pub fn new(header: SegmentHeader) -> Self {
        let mut bytes = Vec::with_capacity(4096);
        bytes.extend_from_slice(&SEGMENT_MAGIC);
        bytes.extend_from_slice(&header.format.to_le_bytes());
        bytes.extend_from_slice(&header.rate_hz.to_le_bytes());
        bytes.extend_from_slice(&header.segment_id.to_le_bytes());
        bytes.extend_from_slice(&header.boot_count.to_le_bytes());
        bytes.extend_from_slice(&header.start_ms.to_le_bytes());
        bytes.extend_from_slice(&u32::from(header.clock_valid).to_le_bytes());
        let crc = crc32c(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        Self { bytes }
    }

    /// Appends a SAMPLES record.
    ///
    /// # Panics
    /// If `samples` holds more than [`MAX_SAMPLES_PER_RECORD`]: the record length would not fit
    /// its u16, and splitting silently would shift the later samples' times.
    pub fn samples(&mut self, t: u32, samples: &[Sample]) {
        assert!(
            samples.len() <= MAX_SAMPLES_PER_RECORD,
            "{} samples in one record",
            samples.len()
        );
        self.record_with(
            record_kind::SAMPLES,
            t,
            2 + samples.len() * SAMPLE_LEN,
            |out| {
                out.extend_from_slice(&(samples.len() as u16).to_le_bytes());
                for sample in samples {
                    sample.write(out);
                }
            },
        );
    }

    /// Appends an ALERT record; `response_ms: None` means never corrected.
    pub fn alert(
        &mut self,
        t: u32,
        kind: AlertKind,
        peak: i16,
        duration_ms: u32,
        response_ms: Option<u32>,
        haptic: bool,
    ) {
        self.record_with(record_kind::ALERT, t, 12, |out| {
            out.push(kind.to_u8());
            out.extend_from_slice(&peak.to_le_bytes());
            out.extend_from_slice(&duration_ms.to_le_bytes());
            out.extend_from_slice(&response_ms.unwrap_or(u32::MAX).to_le_bytes());
            out.push(u8::from(haptic));
        });
    }

    /// Appends a CLOCK record: the wall clock was set to `wall_ms` at `t` (`valid`), or lost.
    pub fn clock(&mut self, t: u32, wall_ms: u64, valid: bool) {
        self.record_with(record_kind::CLOCK, t, 9, |out| {
            out.extend_from_slice(&wall_ms.to_le_bytes());
            out.push(u8::from(valid));
        });
    }

    /// Appends a DIAG record.
    pub fn diag(&mut self, t: u32, batt_mv: u16, temp_dc: i16, soc: u8, code: u16) {
        self.record_with(record_kind::DIAG, t, 7, |out| {
            out.extend_from_slice(&batt_mv.to_le_bytes());
            out.extend_from_slice(&temp_dc.to_le_bytes());
            out.push(soc);
            out.extend_from_slice(&code.to_le_bytes());
        });
    }

    /// Appends a WORKER record; `None` is written as the all-NUL (unassigned) tag.
    pub fn worker(&mut self, t: u32, tag: Option<WorkerTag>) {
        self.record_with(record_kind::WORKER, t, 16, |out| {
            out.extend_from_slice(&tag.map_or([0; 16], |tag| *tag.as_bytes()));
        });
    }

    /// Appends a BUTTON record.
    pub fn button(&mut self, t: u32, action: u8) {
        self.record_with(record_kind::BUTTON, t, 1, |out| out.push(action));
    }

    /// Appends a record verbatim: `body` is the whole body, `t` included if the type has one.
    /// For record types this dock does not know, and for writing deliberately odd segments.
    ///
    /// # Panics
    /// If `body` is longer than a record length can say (65535 bytes).
    pub fn raw_record(&mut self, kind: u8, body: &[u8]) {
        let Ok(len) = u16::try_from(body.len()) else {
            panic!("a {}-byte record body does not fit a record", body.len());
        };
        self.bytes.push(kind);
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(body);
    }

    /// Appends any parsed record, so a parsed segment can be written back byte for byte.
    pub fn record(&mut self, record: &Record<'_>) {
        match *record {
            Record::Samples { t, samples } => {
                self.record_with(record_kind::SAMPLES, t, 2 + samples.raw.len(), |out| {
                    out.extend_from_slice(&(samples.len() as u16).to_le_bytes());
                    out.extend_from_slice(samples.raw);
                });
            }
            Record::Alert {
                t,
                kind,
                peak,
                duration_ms,
                response_ms,
                haptic,
            } => {
                self.alert(t, kind, peak, duration_ms, response_ms, haptic);
            }
            Record::Clock { t, wall_ms, valid } => self.clock(t, wall_ms, valid),
            Record::Diag {
                t,
                batt_mv,
                temp_dc,
                soc,
                code,
            } => {
                self.diag(t, batt_mv, temp_dc, soc, code);
            }
            Record::Worker { t, tag } => self.worker(t, tag),
            Record::Button { t, action } => self.button(t, action),
            Record::Unknown { kind, body, .. } => self.raw_record(kind, body),
        }
    }

    /// Bytes written so far, header included.
    #[expect(
        clippy::len_without_is_empty,
        reason = "a segment always has its header"
    )]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }

    /// Writes a record whose body is `t` followed by `fields_len` bytes from `write`.
    fn record_with(
        &mut self,
        kind: u8,
        t: u32,
        fields_len: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) {
        // Every caller's body fits a u16 (SAMPLES is bounded by MAX_SAMPLES_PER_RECORD).
        let len = (4 + fields_len) as u16;
        self.bytes.push(kind);
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(&t.to_le_bytes());
        write(&mut self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing;
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// A record with owned data, to build segments from and compare parses against.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Owned {
        Samples(u32, Vec<Sample>),
        Alert(u32, AlertKind, i16, u32, Option<u32>, bool),
        Clock(u32, u64, bool),
        Diag(u32, u16, i16, u8, u16),
        Worker(u32, Option<WorkerTag>),
        Button(u32, u8),
        Raw(u8, Vec<u8>),
    }

    impl Owned {
        fn of(record: &Record<'_>) -> Self {
            match *record {
                Record::Samples { t, samples } => Owned::Samples(t, samples.iter().collect()),
                Record::Alert {
                    t,
                    kind,
                    peak,
                    duration_ms,
                    response_ms,
                    haptic,
                } => Owned::Alert(t, kind, peak, duration_ms, response_ms, haptic),
                Record::Clock { t, wall_ms, valid } => Owned::Clock(t, wall_ms, valid),
                Record::Diag {
                    t,
                    batt_mv,
                    temp_dc,
                    soc,
                    code,
                } => Owned::Diag(t, batt_mv, temp_dc, soc, code),
                Record::Worker { t, tag } => Owned::Worker(t, tag),
                Record::Button { t, action } => Owned::Button(t, action),
                Record::Unknown { kind, body, .. } => Owned::Raw(kind, body.to_vec()),
            }
        }

        /// Writes through the writer's typed methods, the way the emulator does.
        fn write(&self, writer: &mut SegmentWriter) {
            match self {
                Owned::Samples(t, samples) => writer.samples(*t, samples),
                Owned::Alert(t, kind, peak, duration, response, haptic) => {
                    writer.alert(*t, *kind, *peak, *duration, *response, *haptic);
                }
                Owned::Clock(t, wall_ms, valid) => writer.clock(*t, *wall_ms, *valid),
                Owned::Diag(t, mv, temp, soc, code) => writer.diag(*t, *mv, *temp, *soc, *code),
                Owned::Worker(t, tag) => writer.worker(*t, *tag),
                Owned::Button(t, action) => writer.button(*t, *action),
                Owned::Raw(kind, body) => writer.raw_record(*kind, body),
            }
        }
    }

    fn small() -> Vec<u8> {
        testing::vector_bytes("segment-small.bin")
    }

    fn scaled(value: &Value, per_unit: f64) -> i16 {
        let raw = (value.as_f64().unwrap() * per_unit).round();
        i16::try_from(raw as i64).unwrap()
    }

    fn int<T: TryFrom<u64>>(value: &Value) -> T {
        T::try_from(value.as_u64().unwrap()).ok().unwrap()
    }

    /// segment-small.json's records in raw wire units. Its unknown record lists only type and
    /// length, so that record's body is taken from `unknown_body`.
    fn small_json_records(unknown_body: &[u8]) -> Vec<Owned> {
        let json = testing::vector_json("segment-small.json");
        let records = json["records"].as_array().unwrap().iter();
        records
            .map(|r| {
                let t = || int::<u32>(&r["t"]);
                match r["type"].as_str().unwrap() {
                    "worker" => {
                        Owned::Worker(t(), WorkerTag::from_ascii(r["tag"].as_str().unwrap()))
                    }
                    "samples" => Owned::Samples(
                        t(),
                        r["samples"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|s| Sample {
                                flex: scaled(&s["flex_deg"], 100.0),
                                lat: scaled(&s["lat_deg"], 100.0),
                                twist: scaled(&s["twist_dps"], 10.0),
                                height: scaled(&s["height_mm"], 1.0),
                            })
                            .collect(),
                    ),
                    "alert" => {
                        assert_eq!(r["kind"], "bend", "peak units depend on the kind");
                        Owned::Alert(
                            t(),
                            AlertKind::Bend,
                            scaled(&r["peak"], 100.0),
                            int(&r["duration_ms"]),
                            r["response_ms"]
                                .as_u64()
                                .map(|ms| u32::try_from(ms).unwrap()),
                            r["haptic"].as_bool().unwrap(),
                        )
                    }
                    "diag" => Owned::Diag(
                        t(),
                        int(&r["batt_mv"]),
                        scaled(&r["temp_c"], 10.0),
                        int(&r["soc"]),
                        int(&r["code"]),
                    ),
                    "unknown" => {
                        assert_eq!(unknown_body.len(), r["len"].as_u64().unwrap() as usize);
                        Owned::Raw(int(&r["record_type"]), unknown_body.to_vec())
                    }
                    "button" => {
                        let action = ["single", "long", "triple"]
                            .iter()
                            .position(|&name| r["action"] == name)
                            .unwrap();
                        Owned::Button(t(), u8::try_from(action + 1).unwrap())
                    }
                    "clock" => {
                        Owned::Clock(t(), int(&r["wall_ms_set"]), r["valid"].as_bool().unwrap())
                    }
                    other => panic!("unexpected record type {other} in the vector"),
                }
            })
            .collect()
    }

    fn small_header() -> SegmentHeader {
        let json = testing::vector_json("segment-small.json");
        let h = &json["header"];
        SegmentHeader {
            format: int(&h["format"]),
            rate_hz: int(&h["rate_hz"]),
            segment_id: int(&h["segment_id"]),
            boot_count: int(&h["boot_count"]),
            start_ms: int(&h["start_ms"]),
            clock_valid: h["clock_valid"].as_bool().unwrap(),
        }
    }

    fn unknown_body<'a>(segment: &Segment<'a>) -> &'a [u8] {
        segment
            .records
            .iter()
            .find_map(|r| match *r {
                Record::Unknown { body, .. } => Some(body),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn segment_small_has_the_size_and_crc_of_its_json() {
        let bytes = small();
        let json = testing::vector_json("segment-small.json");
        assert_eq!(bytes.len() as u64, json["size"].as_u64().unwrap());
        assert_eq!(u64::from(crc32c(&bytes)), json["crc32c"].as_u64().unwrap());
        assert_eq!(crc32c(&bytes), 2_401_949_521);
    }

    #[test]
    fn segment_small_parses_to_exactly_the_records_of_its_json() {
        let bytes = small();
        let segment = parse_segment(&bytes).unwrap();
        assert_eq!(segment.header, small_header());
        let parsed: Vec<Owned> = segment.records.iter().map(Owned::of).collect();
        assert_eq!(parsed, small_json_records(unknown_body(&segment)));
    }

    #[test]
    fn segment_small_unknown_record_is_kept_with_its_body() {
        let bytes = small();
        let segment = parse_segment(&bytes).unwrap();
        let unknown = segment.records[4];
        assert_eq!(
            unknown,
            Record::Unknown {
                kind: 0x42,
                t: Some(0x0403_0201),
                body: &[1, 2, 3, 4, 5]
            }
        );
        assert_eq!(unknown.t(), Some(0x0403_0201));
    }

    #[test]
    fn the_writer_reproduces_segment_small_byte_for_byte_from_its_json() {
        let bytes = small();
        let segment = parse_segment(&bytes).unwrap();
        let mut writer = SegmentWriter::new(small_header());
        for record in small_json_records(unknown_body(&segment)) {
            record.write(&mut writer);
        }
        assert_eq!(writer.len(), bytes.len());
        assert_eq!(writer.finish(), bytes);
    }

    #[test]
    fn a_parsed_segment_writes_back_byte_for_byte() {
        let bytes = small();
        let segment = parse_segment(&bytes).unwrap();
        let mut writer = SegmentWriter::new(segment.header);
        segment.records.iter().for_each(|r| writer.record(r));
        assert_eq!(writer.finish(), bytes);
    }

    #[test]
    fn samples_are_read_in_place_without_copying() {
        let bytes = small();
        let segment = parse_segment(&bytes).unwrap();
        let Record::Samples { samples, .. } = segment.records[1] else {
            panic!("not SAMPLES")
        };
        assert_eq!(samples.len(), 3);
        assert!(!samples.is_empty());
        assert_eq!(
            samples.get(2),
            Some(Sample {
                flex: 6150,
                lat: 10,
                twist: 0,
                height: -395
            })
        );
        assert_eq!(samples.get(3), None);
        assert_eq!(samples.get(usize::MAX), None);
        assert_eq!(samples.raw().as_ptr(), bytes[64..].as_ptr());
    }

    #[test]
    fn segment_truncated_is_corrupt_by_record_overrun() {
        let bytes = testing::vector_bytes("segment-truncated.bin");
        let err = parse_segment(&bytes).unwrap_err();
        assert_eq!(
            err,
            SegmentError::RecordOverrun {
                offset: 32,
                kind: 0x06,
                len: 20
            }
        );
        assert_eq!(
            err.reason(),
            "the log is cut short: its last entry runs past the end"
        );
    }

    #[test]
    fn a_damaged_header_is_corrupt() {
        let mut bytes = small();
        bytes[9] ^= 0x10;
        assert!(matches!(
            parse_segment(&bytes),
            Err(SegmentError::BadHeaderCrc { .. })
        ));
        assert_eq!(parse_segment(&bytes[..31]), Err(SegmentError::TooShort(31)));
        assert_eq!(parse_segment(b"KSEX"), Err(SegmentError::TooShort(4)));
        let mut wrong_magic = small();
        wrong_magic[3] = b'X';
        assert_eq!(parse_segment(&wrong_magic), Err(SegmentError::BadMagic));
    }

    #[test]
    fn another_format_is_refused() {
        let header = SegmentHeader {
            format: 2,
            ..small_header()
        };
        let bytes = SegmentWriter::new(header).finish();
        assert_eq!(
            parse_segment(&bytes),
            Err(SegmentError::UnsupportedFormat(2))
        );
    }

    #[test]
    fn a_header_alone_is_an_empty_segment() {
        let bytes = SegmentWriter::new(small_header()).finish();
        assert_eq!(bytes.len(), HEADER_LEN);
        assert_eq!(parse_segment(&bytes).unwrap().records, vec![]);
    }

    #[test]
    fn a_record_header_cut_by_the_end_is_corrupt() {
        let mut bytes = SegmentWriter::new(small_header()).finish();
        bytes.extend_from_slice(&[0x01, 0x10]);
        let err = parse_segment(&bytes).unwrap_err();
        assert!(
            matches!(
                err,
                SegmentError::BadRecord {
                    offset: 32,
                    kind: 0x01,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_sample_count_past_its_record_is_corrupt() {
        let mut writer = SegmentWriter::new(small_header());
        writer.raw_record(
            record_kind::SAMPLES,
            &[0, 0, 0, 0, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8],
        );
        let err = parse_segment(&writer.finish()).unwrap_err();
        assert_eq!(
            err,
            SegmentError::BadRecord {
                offset: 32,
                kind: 1,
                reason: "SAMPLES count runs past the record"
            }
        );
    }

    #[test]
    fn a_known_record_too_short_for_its_fields_is_corrupt() {
        let mut writer = SegmentWriter::new(small_header());
        writer.raw_record(record_kind::ALERT, &[0; 15]);
        let err = parse_segment(&writer.finish()).unwrap_err();
        assert!(
            matches!(err, SegmentError::BadRecord { kind: 2, .. }),
            "{err}"
        );
        assert!(err.reason().contains("damaged entry"));
    }

    #[test]
    fn a_longer_known_record_from_newer_firmware_is_read_and_its_extra_ignored() {
        let mut writer = SegmentWriter::new(small_header());
        writer.raw_record(record_kind::BUTTON, &[10, 0, 0, 0, 2, 0xEE, 0xEE]);
        let bytes = writer.finish();
        let segment = parse_segment(&bytes).unwrap();
        assert_eq!(segment.records, vec![Record::Button { t: 10, action: 2 }]);
    }

    #[test]
    fn an_uncorrected_alert_has_no_response_time() {
        let mut writer = SegmentWriter::new(small_header());
        writer.alert(5, AlertKind::Twist, -300, 400, None, false);
        let bytes = writer.finish();
        assert_eq!(&bytes[bytes.len() - 5..bytes.len() - 1], &[0xFF; 4]);
        let segment = parse_segment(&bytes).unwrap();
        let alert = Record::Alert {
            t: 5,
            kind: AlertKind::Twist,
            peak: -300,
            duration_ms: 400,
            response_ms: None,
            haptic: false,
        };
        assert_eq!(segment.records, vec![alert]);
    }

    #[test]
    fn alert_kinds_round_trip_through_their_byte() {
        for raw in 0..=u8::MAX {
            assert_eq!(AlertKind::from_u8(raw).to_u8(), raw);
        }
        assert_eq!(AlertKind::from_u8(3), AlertKind::ProlongedBend);
    }

    fn owned() -> impl Strategy<Value = Owned> {
        let sample = any::<[i16; 4]>().prop_map(|[flex, lat, twist, height]| Sample {
            flex,
            lat,
            twist,
            height,
        });
        let tag =
            prop::option::of(any::<[u8; 16]>().prop_filter_map("unassigned", WorkerTag::from_wire));
        prop_oneof![
            (any::<u32>(), prop::collection::vec(sample, 0..40))
                .prop_map(|(t, s)| Owned::Samples(t, s)),
            (
                any::<u32>(),
                any::<u8>(),
                any::<i16>(),
                any::<u32>(),
                prop::option::of(0..u32::MAX),
                any::<bool>()
            )
                .prop_map(|(t, k, p, d, r, h)| Owned::Alert(
                    t,
                    AlertKind::from_u8(k),
                    p,
                    d,
                    r,
                    h
                )),
            (any::<u32>(), any::<u64>(), any::<bool>()).prop_map(|(t, w, v)| Owned::Clock(t, w, v)),
            any::<(u32, u16, i16, u8, u16)>()
                .prop_map(|(t, mv, temp, soc, code)| Owned::Diag(t, mv, temp, soc, code)),
            (any::<u32>(), tag).prop_map(|(t, tag)| Owned::Worker(t, tag)),
            any::<(u32, u8)>().prop_map(|(t, a)| Owned::Button(t, a)),
            (
                any::<u8>().prop_filter("unknown types only", |k| is_unknown_kind(*k)),
                prop::collection::vec(any::<u8>(), 0..40)
            )
                .prop_map(|(k, body)| Owned::Raw(k, body)),
        ]
    }

    fn is_unknown_kind(kind: u8) -> bool {
        parse_record(kind, &[]).is_ok()
    }

    fn header() -> impl Strategy<Value = SegmentHeader> {
        any::<(u16, u32, u32, u64, bool)>().prop_map(
            |(rate_hz, segment_id, boot_count, start_ms, clock_valid)| SegmentHeader {
                format: FORMAT,
                rate_hz,
                segment_id,
                boot_count,
                start_ms,
                clock_valid,
            },
        )
    }

    proptest! {
        #[test]
        fn written_segments_parse_back_to_their_records(header in header(), records in prop::collection::vec(owned(), 0..30)) {
            let mut writer = SegmentWriter::new(header);
            records.iter().for_each(|r| r.write(&mut writer));
            let bytes = writer.finish();
            let segment = parse_segment(&bytes).unwrap();
            prop_assert_eq!(segment.header, header);
            let parsed: Vec<Owned> = segment.records.iter().map(Owned::of).collect();
            prop_assert_eq!(&parsed, &records);

            let mut again = SegmentWriter::new(segment.header);
            segment.records.iter().for_each(|r| again.record(r));
            prop_assert_eq!(again.finish(), bytes);
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_segment(&bytes);
        }

        #[test]
        fn parsing_arbitrary_records_behind_a_valid_header_never_panics_or_half_succeeds(
            body in prop::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut bytes = SegmentWriter::new(small_header()).finish();
            bytes.extend_from_slice(&body);
            if let Ok(segment) = parse_segment(&bytes) {
                let mut writer = SegmentWriter::new(segment.header);
                segment.records.iter().for_each(|r| writer.record(r));
                prop_assert!(writer.len() <= bytes.len());
            }
        }

        #[test]
        fn any_truncation_of_a_written_segment_is_corrupt(records in prop::collection::vec(owned(), 1..10), cut in any::<prop::sample::Index>()) {
            let mut writer = SegmentWriter::new(small_header());
            records.iter().for_each(|r| r.write(&mut writer));
            let bytes = writer.finish();
            let cut = HEADER_LEN + cut.index(bytes.len() - HEADER_LEN);
            // Cutting between records leaves a valid, shorter segment; anywhere else is corrupt.
            let boundaries = record_ends(&bytes);
            let result = parse_segment(&bytes[..cut]);
            prop_assert_eq!(result.is_ok(), boundaries.contains(&cut));
        }
    }

    /// Offsets where a record ends (and the header's end).
    fn record_ends(bytes: &[u8]) -> Vec<usize> {
        let mut ends = vec![HEADER_LEN];
        let mut at = HEADER_LEN;
        while at + 3 <= bytes.len() {
            at += 3 + usize::from(u16::from_le_bytes([bytes[at + 1], bytes[at + 2]]));
            ends.push(at);
        }
        ends
    }
}
