//! The emulated wearable's firmware: what it has stored on flash, its clock, battery, worker and
//! configuration, and how it answers each request of protocol.md §3. It owns the device state
//! that persists across dockings; it must never do I/O or read a clock (the caller passes the
//! time in), so every answer is reproducible in a plain unit test.

use tracing::{debug, warn};

use crate::link::{
    Info, MessageError, Request, Response, SegmentEntry, SegmentHeader, SegmentWriter,
    WearableConfig, error_code, segment,
};
use crate::worker::WorkerTag;

use super::rng::{Rng, derive_seed};
use super::shift::{
    Battery, DeviceClock, MINUTE_MS, RecordedSegment, RecordedShift, Recorder, ShiftJob, ShiftSpec,
};
use super::truth::{GroundTruth, MovementCounts, SegmentTruth};

/// A wearable keeps at most this many segments (protocol.md §3); when flash is full the
/// firmware stops storing new segments.
pub const MAX_SEGMENTS: usize = 1024;

/// How the wearable's clock came through its last power-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootSpec {
    /// The clock is valid: segment headers carry Unix ms.
    ClockValid,
    /// The battery ran flat and the wearable powered up again at `boot_wall_ms` with an invalid
    /// clock. Segments of this boot carry ms since boot (`clock_valid = 0`); the dock can place
    /// them from the INFO it reads at docking. `earlier_boot_segments` more segments survive
    /// from the boot before (`boot_count - 1`), also without a valid clock: no dock can ever
    /// place those in time. The shift must start after `boot_wall_ms`.
    FlatBattery {
        boot_wall_ms: i64,
        earlier_boot_segments: u32,
    },
}

/// Everything that makes one emulated wearable: identity, seed and its first shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WearableSpec {
    /// The USB serial and INFO serial: printable ASCII, at most 16 bytes.
    pub serial: String,
    /// Seeds every shift, so the same spec always produces the same bytes.
    pub seed: u64,
    pub worker: Option<WorkerTag>,
    /// The shift on flash at the first docking.
    pub shift: ShiftSpec,
    pub boot: BootSpec,
    /// Power-ups so far, this one included.
    pub boot_count: u32,
    /// State of charge at the start of each shift, in percent.
    pub battery_soc: u8,
    /// Alert thresholds; the shift's alerts follow them. `rate_hz` follows the shift.
    pub config: WearableConfig,
    /// Adds one closed segment, recorded in the minute before the shift, whose last record runs
    /// past its end: its LIST CRC matches its bytes, so only parsing finds the damage.
    pub corrupt_segment: bool,
}

impl WearableSpec {
    /// A healthy wearable with a valid clock, default configuration and no worker assigned.
    pub fn new(serial: impl Into<String>, seed: u64, shift: ShiftSpec) -> Self {
        Self {
            serial: serial.into(),
            seed,
            worker: None,
            shift,
            boot: BootSpec::ClockValid,
            boot_count: 3,
            battery_soc: 96,
            config: WearableConfig::default(),
            corrupt_segment: false,
        }
    }
}

/// RNG streams of one wearable's seed; shifts use streams 0, 1, 2, ….
const STREAM_EARLIER_BOOT: u64 = u64::MAX - 2;
const STREAM_CORRUPT: u64 = u64::MAX - 1;
const STREAM_BATTERY: u64 = u64::MAX;

/// The segment SET_WORKER opened while docked: it only holds its WORKER record and the CLOCK
/// records of later SET_TIMEs until the next docking or shift closes it.
#[derive(Debug, Clone)]
struct OpenSegment {
    header: SegmentHeader,
    opened_wall_ms: i64,
    worker: Option<WorkerTag>,
    /// `(t, unix_ms)` of each SET_TIME since it opened.
    clocks: Vec<(u32, u64)>,
}

impl OpenSegment {
    /// The segment as it would be if it closed now.
    fn snapshot(&self) -> RecordedSegment {
        let mut writer = SegmentWriter::new(self.header);
        writer.worker(0, self.worker);
        for &(t, unix_ms) in &self.clocks {
            writer.clock(t, unix_ms, true);
        }
        let truth = SegmentTruth {
            id: self.header.segment_id,
            size: 0,
            crc: 0,
            boot_count: self.header.boot_count,
            samples: 0,
            alerts: 0,
            diags: 0,
            first_wall_ms: Some(self.opened_wall_ms),
            known_time: true,
            corrupt: false,
            movements: MovementCounts::default(),
            events: Vec::new(),
        };
        let last_t = self.clocks.last().map_or(0, |&(t, _)| t);
        RecordedSegment::new(writer.finish(), self.header.start_ms, last_t, truth)
    }
}

/// What LIST says about a segment.
fn entry(segment: &RecordedSegment, closed: bool) -> SegmentEntry {
    SegmentEntry {
        id: segment.truth.id,
        size: segment.truth.size,
        crc: segment.truth.crc,
        closed,
        first_ms: segment.first_ms,
        last_ms: segment.last_ms,
    }
}

/// An emulated wearable: the firmware model, persisting across dockings.
#[derive(Debug, Clone)]
pub struct Wearable {
    spec: WearableSpec,
    /// The last shift loaded; the demo loop records the next one with the same geometry.
    shift: ShiftSpec,
    config: WearableConfig,
    worker: Option<WorkerTag>,
    clock: DeviceClock,
    battery: Battery,
    batt_health: u8,
    batt_cycles: u16,
    /// Closed segments still on flash, in id order.
    stored: Vec<RecordedSegment>,
    open: Option<OpenSegment>,
    next_id: u32,
    shifts_recorded: u64,
    truth: GroundTruth,
    erased: Vec<u32>,
    /// While docked: when the charger started (the first request of the docking) and the last
    /// request's time, so the state of charge rises between dockings' INFOs.
    charging: Option<Charging>,
}

/// A docking's charge: the state of charge grows from `since_ms` at [`CHARGE_MS_PER_PERCENT`].
#[derive(Debug, Clone, Copy)]
struct Charging {
    since_ms: i64,
    last_ms: i64,
}

/// A dock charger's pace: empty to full in an hour.
pub const CHARGE_MS_PER_PERCENT: i64 = 36_000;

impl Wearable {
    pub fn new(spec: WearableSpec) -> Self {
        let mut battery_rng = Rng::new(derive_seed(spec.seed, STREAM_BATTERY));
        let clock = match spec.boot {
            BootSpec::ClockValid => DeviceClock::Wall { offset_ms: 0 },
            BootSpec::FlatBattery { boot_wall_ms, .. } => DeviceClock::SinceBoot { boot_wall_ms },
        };
        let mut wearable = Self {
            shift: spec.shift,
            config: spec.config,
            worker: spec.worker,
            clock,
            battery: Battery::at_soc(spec.battery_soc, 300),
            batt_health: battery_rng.range(80, 100) as u8,
            batt_cycles: battery_rng.range(40, 600) as u16,
            stored: Vec::new(),
            open: None,
            next_id: 1,
            shifts_recorded: 0,
            truth: GroundTruth::default(),
            erased: Vec::new(),
            charging: None,
            spec,
        };
        if let BootSpec::FlatBattery {
            boot_wall_ms,
            earlier_boot_segments,
        } = wearable.spec.boot
            && earlier_boot_segments > 0
        {
            wearable.record_earlier_boot(boot_wall_ms, earlier_boot_segments);
        }
        if wearable.spec.corrupt_segment {
            wearable.record_corrupt_segment();
        }
        wearable.load_shift(wearable.spec.shift);
        wearable
    }

    pub fn serial(&self) -> &str {
        &self.spec.serial
    }

    pub fn spec(&self) -> &WearableSpec {
        &self.spec
    }

    /// The last shift loaded.
    pub fn shift(&self) -> &ShiftSpec {
        &self.shift
    }

    pub fn config(&self) -> &WearableConfig {
        &self.config
    }

    /// The worker the wearable carries now (its spec's, or the last SET_WORKER's).
    pub fn worker(&self) -> Option<WorkerTag> {
        self.worker
    }

    pub fn truth(&self) -> &GroundTruth {
        &self.truth
    }

    /// Segments still on flash, as LIST reports them (an open segment with `closed = false`).
    pub fn stored_segments(&self) -> Vec<SegmentEntry> {
        let closed = self.stored.iter().map(|segment| entry(segment, true));
        let open = self
            .open
            .as_ref()
            .map(|open| entry(&open.snapshot(), false));
        closed.chain(open).collect()
    }

    /// The closed segments still on flash as `(id, bytes)`, exactly as READ returns them: for
    /// offline analysis (`dockd analyze`) and its tests and benchmark.
    pub fn closed_segment_bytes(&self) -> impl Iterator<Item = (u32, &[u8])> {
        self.stored
            .iter()
            .map(|segment| (segment.truth.id, segment.bytes.as_slice()))
    }

    /// Ids the dock erased, in erase order.
    pub fn erased_ids(&self) -> &[u32] {
        &self.erased
    }

    /// True once the dock has taken everything it can: every closed segment that is not
    /// corrupt is erased (a corrupt one must stay, an open one cannot be erased).
    pub fn drained(&self) -> bool {
        self.stored.iter().all(|segment| segment.truth.corrupt)
    }

    /// Records a fresh shift (worn between two dockings), closing any open segment first.
    pub fn load_shift(&mut self, shift: ShiftSpec) {
        let job = self.begin_shift(shift);
        self.finish_shift(job.record());
    }

    /// The first half of [`Wearable::load_shift`]: the recording job, to run anywhere.
    pub(super) fn begin_shift(&mut self, shift: ShiftSpec) -> ShiftJob {
        self.close_open_segment();
        self.config.rate_hz = u8::try_from(shift.rate_hz).unwrap_or(u8::MAX);
        let seed = derive_seed(self.spec.seed, self.shifts_recorded);
        self.shifts_recorded += 1;
        ShiftJob {
            shift,
            recorder: self.recorder(self.clock, self.spec.boot_count, false),
            seed,
            first_id: self.next_id,
        }
    }

    /// The second half of [`Wearable::load_shift`]: the recorded shift goes to flash.
    pub(super) fn finish_shift(&mut self, recorded: RecordedShift) {
        self.shift = recorded.shift;
        self.battery = recorded.battery;
        self.charging = None;
        self.store(recorded.segments);
    }

    /// The firmware's answer to one request (or to a payload it could not decode) at true
    /// wall time `now_wall_ms`.
    pub fn handle(&mut self, request: Result<Request, MessageError>, now_wall_ms: i64) -> Response {
        let request = match request {
            Ok(request) => request,
            Err(MessageError::UnknownType(kind)) => {
                return error(
                    error_code::UNKNOWN_TYPE,
                    format!("unknown request {kind:#04x}"),
                );
            }
            Err(err) => return error(error_code::BAD_PAYLOAD, err.to_string()),
        };
        debug!(serial = %self.spec.serial, request = request.name(), "Wearable answers a request.");
        let charging = self.charging.get_or_insert(Charging {
            since_ms: now_wall_ms,
            last_ms: now_wall_ms,
        });
        charging.last_ms = charging.last_ms.max(now_wall_ms);
        match request {
            Request::Hello { .. } => Response::Info(self.info(now_wall_ms)),
            Request::SetTime { unix_ms } => {
                let unix = i64::try_from(unix_ms).unwrap_or(i64::MAX);
                if let Some(open) = &mut self.open {
                    let t =
                        u32::try_from(now_wall_ms.saturating_sub(open.opened_wall_ms)).unwrap_or(0);
                    open.clocks.push((t, unix_ms));
                }
                self.clock = DeviceClock::Wall {
                    offset_ms: unix.saturating_sub(now_wall_ms),
                };
                Response::Ok
            }
            Request::List => Response::Segments(self.stored_segments()),
            Request::Read {
                id,
                offset,
                max_len,
            } => self.read(id, offset, max_len),
            Request::Erase { id } => self.erase(id),
            Request::GetConfig => Response::Config(self.config),
            Request::SetConfig(config) if config.rate_hz == 0 => {
                error(error_code::BAD_PAYLOAD, "rate_hz must not be 0".to_owned())
            }
            Request::SetConfig(config) => {
                self.config = config;
                Response::Ok
            }
            Request::SetWorker(worker) => {
                self.close_open_segment();
                self.worker = worker;
                self.open = Some(OpenSegment {
                    header: SegmentHeader {
                        format: segment::FORMAT,
                        rate_hz: u16::from(self.config.rate_hz),
                        segment_id: self.take_id(),
                        boot_count: self.spec.boot_count,
                        start_ms: self.clock.at(now_wall_ms),
                        clock_valid: self.clock.valid(),
                    },
                    opened_wall_ms: now_wall_ms,
                    worker,
                    clocks: Vec::new(),
                });
                Response::Ok
            }
        }
    }

    /// Called when a docking begins: the firmware closes its open segment, so normally every
    /// listed segment is closed.
    pub fn docked(&mut self) {
        self.close_open_segment();
        // The charge of the last docking stays in the cell.
        if let Some(charging) = self.charging.take() {
            self.battery = Battery::at_soc(
                self.soc_at(charging, charging.last_ms),
                self.battery.temp_dc,
            );
        }
    }

    fn soc_at(&self, charging: Charging, now_wall_ms: i64) -> u8 {
        let gained = (now_wall_ms - charging.since_ms).max(0) / CHARGE_MS_PER_PERCENT;
        u8::try_from((i64::from(self.battery.soc) + gained).min(100)).unwrap_or(100)
    }

    fn info(&self, now_wall_ms: i64) -> Info {
        let batt_soc = self.charging.map_or(self.battery.soc, |charging| {
            self.soc_at(charging, now_wall_ms)
        });
        Info {
            serial: self.spec.serial.clone(),
            model: 1,
            hw_rev: 3,
            fw_major: 1,
            fw_minor: 4,
            fw_patch: 2,
            proto_ver: 1,
            clock_valid: self.clock.valid(),
            charging: batt_soc < 100,
            haptics_enabled: self.config.haptics,
            boot_count: self.spec.boot_count,
            device_ms: self.clock.at(now_wall_ms),
            batt_soc,
            batt_health: self.batt_health,
            batt_cycles: self.batt_cycles,
            batt_mv: Battery::at_soc(batt_soc, self.battery.temp_dc).mv,
            batt_temp_dc: self.battery.temp_dc,
            worker: self.worker,
            segments: u16::try_from(self.stored.len() + usize::from(self.open.is_some()))
                .unwrap_or(u16::MAX),
        }
    }

    fn read(&self, id: u32, offset: u32, max_len: u32) -> Response {
        let snapshot;
        let bytes = match self.stored.iter().find(|segment| segment.truth.id == id) {
            Some(segment) => &segment.bytes,
            None => match &self.open {
                Some(open) if open.header.segment_id == id => {
                    snapshot = open.snapshot();
                    &snapshot.bytes
                }
                _ => return no_such_segment(id),
            },
        };
        let start = offset as usize;
        let Some(rest) = bytes.get(start..) else {
            return error(
                error_code::BAD_PAYLOAD,
                format!("offset {offset} is past the end of segment {id}"),
            );
        };
        let len = rest.len().min(max_len as usize);
        Response::Data {
            id,
            offset,
            bytes: rest[..len].to_vec(),
        }
    }

    fn erase(&mut self, id: u32) -> Response {
        if let Some(index) = self
            .stored
            .iter()
            .position(|segment| segment.truth.id == id)
        {
            self.stored.remove(index);
            self.erased.push(id);
            debug!(serial = %self.spec.serial, id, "Segment erased.");
            return Response::Ok;
        }
        match &self.open {
            Some(open) if open.header.segment_id == id => error(
                error_code::SEGMENT_OPEN,
                format!("segment {id} is still open"),
            ),
            _ => no_such_segment(id),
        }
    }

    fn take_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    fn recorder(&self, clock: DeviceClock, boot_count: u32, earlier_boot: bool) -> Recorder {
        Recorder {
            config: self.config,
            worker: self.worker,
            boot_count,
            clock,
            earlier_boot,
            battery_soc: self.spec.battery_soc,
        }
    }

    /// Keeps recorded segments on flash (as far as it has room) and in the ground truth.
    fn store(&mut self, segments: Vec<RecordedSegment>) {
        for segment in segments {
            self.next_id = self.next_id.max(segment.truth.id.wrapping_add(1));
            if self.stored.len() + usize::from(self.open.is_some()) >= MAX_SEGMENTS {
                warn!(serial = %self.spec.serial, id = segment.truth.id, "Wearable flash is full: segment dropped.");
                continue;
            }
            self.truth.record(segment.truth.clone());
            self.stored.push(segment);
        }
    }

    fn close_open_segment(&mut self) {
        if let Some(open) = self.open.take() {
            self.store(vec![open.snapshot()]);
        }
    }

    /// Segments of the boot before the flat battery, ending an hour before this boot.
    fn record_earlier_boot(&mut self, boot_wall_ms: i64, count: u32) {
        let duration_ms = u64::from(count) * self.spec.shift.segment_len_ms();
        let start_wall_ms = boot_wall_ms
            .saturating_sub_unsigned(60 * MINUTE_MS)
            .saturating_sub_unsigned(duration_ms);
        let shift = ShiftSpec {
            start_wall_ms,
            duration_ms,
            ..self.spec.shift
        };
        let clock = DeviceClock::SinceBoot {
            boot_wall_ms: start_wall_ms.saturating_sub_unsigned(5 * MINUTE_MS),
        };
        let job = ShiftJob {
            shift,
            recorder: self.recorder(clock, self.spec.boot_count.saturating_sub(1), true),
            seed: derive_seed(self.spec.seed, STREAM_EARLIER_BOOT),
            first_id: self.next_id,
        };
        self.store(job.record().segments);
    }

    /// One minute recorded just before the shift, whose bytes end inside their last record.
    fn record_corrupt_segment(&mut self) {
        let shift = ShiftSpec {
            start_wall_ms: self
                .spec
                .shift
                .start_wall_ms
                .saturating_sub_unsigned(MINUTE_MS),
            duration_ms: MINUTE_MS,
            segment_ms: MINUTE_MS,
            ..self.spec.shift
        };
        let job = ShiftJob {
            shift,
            recorder: self.recorder(self.clock, self.spec.boot_count, false),
            seed: derive_seed(self.spec.seed, STREAM_CORRUPT),
            first_id: self.next_id,
        };
        let mut segments = job.record().segments;
        for segment in &mut segments {
            // Every record body is at least 5 bytes, so cutting 3 leaves the last record's
            // header whole and its length running past the end.
            segment
                .bytes
                .truncate(segment.bytes.len().saturating_sub(3));
            segment.truth.corrupt = true;
            segment.seal();
        }
        self.store(segments);
    }
}

fn error(code: u16, message: String) -> Response {
    Response::Error { code, message }
}

fn no_such_segment(id: u32) -> Response {
    error(error_code::NO_SUCH_SEGMENT, format!("no segment {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::shift::HOUR_MS;
    use crate::link::{
        DockingClock, MAX_READ, Record, SegmentClock, SegmentError, crc32c, parse_segment,
    };

    const NOW: i64 = 1_763_900_000_000;

    fn spec() -> WearableSpec {
        WearableSpec {
            worker: WorkerTag::from_ascii("B-1001"),
            ..WearableSpec::new(
                "KW-000123",
                5,
                ShiftSpec::ending_at(NOW, 2 * HOUR_MS + 600_000),
            )
        }
    }

    fn ask(wearable: &mut Wearable, request: Request) -> Response {
        wearable.handle(Ok(request), NOW)
    }

    fn info(wearable: &mut Wearable, now: i64) -> Info {
        match wearable.handle(Ok(Request::Hello { proto_max: 1 }), now) {
            Response::Info(info) => info,
            other => panic!("HELLO answered with {other:?}"),
        }
    }

    fn list(wearable: &mut Wearable) -> Vec<SegmentEntry> {
        match ask(wearable, Request::List) {
            Response::Segments(entries) => entries,
            other => panic!("LIST answered with {other:?}"),
        }
    }

    /// Reads a whole segment in `chunk`-byte READs, as a dock would.
    fn read_all(wearable: &mut Wearable, id: u32, chunk: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        loop {
            let offset = bytes.len() as u32;
            match ask(
                wearable,
                Request::Read {
                    id,
                    offset,
                    max_len: chunk,
                },
            ) {
                Response::Data {
                    id: got,
                    offset: at,
                    bytes: data,
                } => {
                    assert_eq!((got, at), (id, offset));
                    assert!(data.len() <= chunk as usize);
                    if data.is_empty() {
                        return bytes;
                    }
                    bytes.extend_from_slice(&data);
                }
                other => panic!("READ answered with {other:?}"),
            }
        }
    }

    fn error_code_of(response: Response) -> u16 {
        match response {
            Response::Error { code, .. } => code,
            other => panic!("expected ERROR, got {other:?}"),
        }
    }

    #[test]
    fn a_docked_wearable_charges_until_full_and_keeps_its_charge_between_dockings() {
        let mut wearable = Wearable::new(spec());
        wearable.docked();
        let first = info(&mut wearable, NOW);
        let later = info(&mut wearable, NOW + 5 * CHARGE_MS_PER_PERCENT);
        assert_eq!(later.batt_soc, first.batt_soc + 5);
        assert!(later.batt_mv > first.batt_mv && later.charging);
        let full = info(&mut wearable, NOW + 200 * CHARGE_MS_PER_PERCENT);
        assert_eq!(full.batt_soc, 100);
        assert!(!full.charging, "a full wearable stops charging");
        wearable.docked();
        let next = info(&mut wearable, NOW + 201 * CHARGE_MS_PER_PERCENT);
        assert_eq!(next.batt_soc, 100, "the charge stays in the cell");
    }

    #[test]
    fn hello_is_answered_with_info_describing_the_wearable() {
        let mut wearable = Wearable::new(spec());
        let info = info(&mut wearable, NOW);
        assert_eq!(info.serial, "KW-000123");
        assert_eq!(info.firmware(), "1.4.2");
        assert_eq!(info.proto_ver, 1);
        assert!(info.clock_valid && info.charging && info.haptics_enabled);
        assert_eq!(info.boot_count, 3);
        assert_eq!(info.device_ms, NOW as u64);
        assert_eq!(info.worker, WorkerTag::from_ascii("B-1001"));
        assert_eq!(info.segments, 3);
        assert!(
            (80..=96).contains(&info.batt_soc),
            "a shift drains the battery: {}",
            info.batt_soc
        );
        assert!((3350..=4200).contains(&info.batt_mv));
    }

    #[test]
    fn list_and_chunked_reads_return_exactly_the_segments_of_the_truth() {
        let mut wearable = Wearable::new(spec());
        let entries = list(&mut wearable);
        assert_eq!(entries.len(), wearable.truth().segments.len());
        for (entry, truth) in entries.iter().zip(&wearable.truth().segments.clone()) {
            assert!(entry.closed);
            assert_eq!(
                (entry.id, entry.size, entry.crc),
                (truth.id, truth.size, truth.crc)
            );
            assert_eq!(entry.first_ms, truth.first_wall_ms.unwrap() as u64);
            let small = read_all(&mut wearable, entry.id, 1000);
            assert_eq!(small, read_all(&mut wearable, entry.id, MAX_READ));
            assert_eq!(
                (small.len() as u32, crc32c(&small)),
                (entry.size, entry.crc)
            );
            let parsed = parse_segment(&small).unwrap();
            let last_t = parsed.records.iter().filter_map(Record::t).max().unwrap();
            assert_eq!(entry.last_ms, entry.first_ms + u64::from(last_t));
        }
        let id = entries[0].id;
        let past_end = Request::Read {
            id,
            offset: entries[0].size + 1,
            max_len: 10,
        };
        assert_eq!(
            error_code_of(ask(&mut wearable, past_end)),
            error_code::BAD_PAYLOAD
        );
    }

    #[test]
    fn an_erased_segment_is_gone_from_list_and_reads() {
        let mut wearable = Wearable::new(spec());
        let ids: Vec<u32> = list(&mut wearable).iter().map(|entry| entry.id).collect();
        assert_eq!(
            ask(&mut wearable, Request::Erase { id: ids[1] }),
            Response::Ok
        );
        assert_eq!(wearable.erased_ids(), &[ids[1]]);
        assert!(list(&mut wearable).iter().all(|entry| entry.id != ids[1]));
        let read = Request::Read {
            id: ids[1],
            offset: 0,
            max_len: 100,
        };
        assert_eq!(
            error_code_of(ask(&mut wearable, read)),
            error_code::NO_SUCH_SEGMENT
        );
        let again = Request::Erase { id: ids[1] };
        assert_eq!(
            error_code_of(ask(&mut wearable, again)),
            error_code::NO_SUCH_SEGMENT
        );
        assert!(!wearable.drained());
        for id in [ids[0], ids[2]] {
            assert_eq!(ask(&mut wearable, Request::Erase { id }), Response::Ok);
        }
        assert!(wearable.drained());
        assert_eq!(info(&mut wearable, NOW).segments, 0);
        assert_eq!(
            wearable.truth().segments.len(),
            3,
            "the truth keeps erased segments"
        );
    }

    #[test]
    fn unknown_ids_requests_and_payloads_get_the_protocol_error_codes() {
        let mut wearable = Wearable::new(spec());
        let read = Request::Read {
            id: 999,
            offset: 0,
            max_len: 10,
        };
        assert_eq!(
            error_code_of(ask(&mut wearable, read)),
            error_code::NO_SUCH_SEGMENT
        );
        let unknown = wearable.handle(Request::decode(0x42, &[]), NOW);
        assert_eq!(error_code_of(unknown), error_code::UNKNOWN_TYPE);
        let short = wearable.handle(Request::decode(crate::link::kind::READ, &[1, 2]), NOW);
        assert_eq!(error_code_of(short), error_code::BAD_PAYLOAD);
    }

    #[test]
    fn config_set_by_the_dock_is_reported_back_and_drives_the_next_shift() {
        let mut wearable = Wearable::new(spec());
        let strict = WearableConfig {
            bend_alert: 2500,
            haptics: false,
            ..WearableConfig::default()
        };
        assert_eq!(ask(&mut wearable, Request::SetConfig(strict)), Response::Ok);
        assert_eq!(
            ask(&mut wearable, Request::GetConfig),
            Response::Config(strict)
        );
        let zero_rate = WearableConfig {
            rate_hz: 0,
            ..strict
        };
        assert_eq!(
            error_code_of(ask(&mut wearable, Request::SetConfig(zero_rate))),
            error_code::BAD_PAYLOAD
        );
        let before = wearable.truth().alerts;
        wearable.load_shift(*wearable.shift());
        assert!(
            wearable.truth().alerts - before > before,
            "a lower threshold alerts more"
        );
        let last = wearable.truth().segments.last().unwrap().id;
        let bytes = read_all(&mut wearable, last, MAX_READ);
        let haptic = parse_segment(&bytes)
            .unwrap()
            .records
            .iter()
            .any(|record| matches!(record, Record::Alert { haptic: true, .. }));
        assert!(!haptic, "haptics off: no pulse is delivered");
    }

    #[test]
    fn set_worker_opens_a_segment_that_cannot_be_erased_until_the_next_docking_closes_it() {
        let mut wearable = Wearable::new(spec());
        let tag = WorkerTag::from_ascii("B-2002");
        assert_eq!(ask(&mut wearable, Request::SetWorker(tag)), Response::Ok);
        wearable.handle(
            Ok(Request::SetTime {
                unix_ms: NOW as u64 + 5000,
            }),
            NOW + 2000,
        );
        let open = *list(&mut wearable).last().unwrap();
        assert!(!open.closed);
        assert_eq!(info(&mut wearable, NOW).worker, tag);
        assert_eq!(
            error_code_of(ask(&mut wearable, Request::Erase { id: open.id })),
            error_code::SEGMENT_OPEN
        );
        let bytes = read_all(&mut wearable, open.id, MAX_READ);
        let parsed = parse_segment(&bytes).unwrap();
        assert_eq!(
            parsed.records,
            vec![
                Record::Worker { t: 0, tag },
                Record::Clock {
                    t: 2000,
                    wall_ms: NOW as u64 + 5000,
                    valid: true
                }
            ]
        );
        wearable.docked();
        let closed = *list(&mut wearable).last().unwrap();
        assert!(closed.closed && closed.id == open.id && closed.crc == crc32c(&bytes));
        assert_eq!(wearable.truth().segment(open.id).unwrap().samples, 0);
        assert_eq!(
            ask(&mut wearable, Request::Erase { id: open.id }),
            Response::Ok
        );
    }

    #[test]
    fn a_flat_battery_wearable_reports_boot_time_until_set_time() {
        let boot_wall_ms = NOW - 3 * HOUR_MS as i64;
        let mut wearable = Wearable::new(WearableSpec {
            boot: BootSpec::FlatBattery {
                boot_wall_ms,
                earlier_boot_segments: 2,
            },
            ..spec()
        });
        let info_at_docking = info(&mut wearable, NOW);
        assert!(!info_at_docking.clock_valid);
        assert_eq!(info_at_docking.device_ms, 3 * HOUR_MS);
        let docking = DockingClock::from_info(&info_at_docking, NOW);
        let truths = wearable.truth().segments.clone();
        assert_eq!(truths.len(), 5);
        for truth in &truths {
            let bytes = read_all(&mut wearable, truth.id, MAX_READ);
            let header = parse_segment(&bytes).unwrap().header;
            assert!(!header.clock_valid);
            let dock_places_it = SegmentClock::new(&header, &docking).wall_at(0);
            if truth.known_time {
                assert_eq!(header.boot_count, 3);
                assert_eq!(
                    header.start_ms as i64,
                    truth.first_wall_ms.unwrap() - boot_wall_ms
                );
                assert_eq!(dock_places_it, truth.first_wall_ms);
            } else {
                assert_eq!(header.boot_count, 2);
                assert_eq!((truth.first_wall_ms, dock_places_it), (None, None));
            }
        }
        assert_eq!(truths.iter().filter(|truth| !truth.known_time).count(), 2);

        let set = Request::SetTime {
            unix_ms: NOW as u64,
        };
        assert_eq!(wearable.handle(Ok(set), NOW), Response::Ok);
        let later = info(&mut wearable, NOW + 1000);
        assert!(later.clock_valid);
        assert_eq!(later.device_ms, NOW as u64 + 1000);
    }

    #[test]
    fn a_corrupt_segment_passes_its_crc_but_fails_to_parse() {
        let mut wearable = Wearable::new(WearableSpec {
            corrupt_segment: true,
            ..spec()
        });
        let corrupt: Vec<SegmentTruth> = wearable
            .truth()
            .segments
            .iter()
            .filter(|truth| truth.corrupt)
            .cloned()
            .collect();
        assert_eq!(corrupt.len(), 1);
        let entry = list(&mut wearable)
            .into_iter()
            .find(|entry| entry.id == corrupt[0].id)
            .unwrap();
        let bytes = read_all(&mut wearable, entry.id, MAX_READ);
        assert_eq!(crc32c(&bytes), entry.crc);
        assert!(matches!(
            parse_segment(&bytes),
            Err(SegmentError::RecordOverrun { .. })
        ));
        let healthy = Wearable::new(spec()).truth().clone();
        assert_eq!(
            wearable.truth().samples,
            healthy.samples,
            "totals leave the corrupt segment out"
        );
        for id in list(&mut wearable)
            .iter()
            .map(|entry| entry.id)
            .filter(|&id| id != entry.id)
            .collect::<Vec<_>>()
        {
            ask(&mut wearable, Request::Erase { id });
        }
        assert!(
            wearable.drained(),
            "a corrupt segment left on the wearable still counts as drained"
        );
    }

    #[test]
    fn a_new_shift_continues_segment_ids_and_adds_to_the_truth() {
        let mut wearable = Wearable::new(spec());
        let first = wearable.truth().clone();
        wearable.load_shift(ShiftSpec::ending_at(NOW + 12 * HOUR_MS as i64, HOUR_MS));
        let truth = wearable.truth();
        assert_eq!(truth.segments.len(), first.segments.len() + 1);
        assert_eq!(
            truth.segments.last().unwrap().id,
            first.segments.last().unwrap().id + 1
        );
        assert_eq!(truth.samples, first.samples + 90_000);
    }
}
