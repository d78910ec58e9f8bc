//! Synthetic shifts: a worker's trunk posture at the wearable's sample rate, the firmware's alerts
//! on it, periodic DIAG, the odd BUTTON press, cut into segments as the firmware stores them, plus
//! the ground truth of it all. It owns the simulated worker and firmware recording; it must never
//! encode bytes itself (every record goes through `link::SegmentWriter`) and must stay
//! deterministic: same spec and seed, same bytes.

use crate::link::segment::{FORMAT, MAX_SAMPLES_PER_RECORD};
use crate::link::{AlertKind, Sample, SegmentHeader, SegmentWriter, WearableConfig, crc32c};
use crate::worker::WorkerTag;

use super::gait::{Gait, PACES, Pace};
use super::rng::Rng;
use super::truth::{GroundTruth, MovementCounts, SegmentTruth, TruthEvent, TruthKind};

pub const MINUTE_MS: u64 = 60_000;
pub const HOUR_MS: u64 = 3_600_000;

/// What a wearable records between two dockings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShiftSpec {
    /// True wall time (Unix ms) at which recording starts.
    pub start_wall_ms: i64,
    pub duration_ms: u64,
    /// Sample rate of the SAMPLES records (1..=1000; out-of-range values are clamped).
    pub rate_hz: u16,
    /// The firmware rolls to a new segment this often (clamped to 1 s..=1 day); the last
    /// segment is shorter, closed at docking.
    pub segment_ms: u64,
    /// Samples per SAMPLES record (clamped to what a record's u16 length can hold).
    pub samples_per_record: u16,
    /// Sensor noise: flexion and lateral bend get a triangular jitter of up to ± this many
    /// 0.01°; axial velocity up to ± half as many 0.1 °/s and height up to ± half as many mm.
    /// [`DEFAULT_NOISE_CENTIDEG`] (±0.32°, ±1.6 °/s, ±16 mm) is what the generator always had.
    pub noise_centideg: u16,
    /// What the worker does all shift.
    pub profile: ShiftProfile,
}

/// The mix of activities of a shift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ShiftProfile {
    /// A warehouse day: standing work, bends, lifts, twists, reaches, walking (jogging rarely)
    /// and breaks.
    #[default]
    Workday,
    /// Walking and jogging at every pace, with turns, stops and the breaks: a shift that holds no
    /// bend and no twist (what an analysis must not invent from gait).
    Walking,
}

/// The sensor noise of [`ShiftSpec::new`].
pub const DEFAULT_NOISE_CENTIDEG: u16 = 32;

impl ShiftSpec {
    /// A shift at the firmware defaults: 25 Hz, one segment per hour, 250 samples per record.
    pub fn new(start_wall_ms: i64, duration_ms: u64) -> Self {
        Self {
            start_wall_ms,
            duration_ms,
            rate_hz: 25,
            segment_ms: HOUR_MS,
            samples_per_record: 250,
            noise_centideg: DEFAULT_NOISE_CENTIDEG,
            profile: ShiftProfile::Workday,
        }
    }

    /// A default shift of `duration_ms` that ends (the wearable docks) at `end_wall_ms`.
    pub fn ending_at(end_wall_ms: i64, duration_ms: u64) -> Self {
        Self::new(
            end_wall_ms.saturating_sub_unsigned(duration_ms),
            duration_ms,
        )
    }

    fn rate(&self) -> u32 {
        u32::from(self.rate_hz.clamp(1, 1000))
    }

    pub(super) fn segment_len_ms(&self) -> u64 {
        self.segment_ms.clamp(1000, 24 * HOUR_MS)
    }

    fn per_record(&self) -> usize {
        usize::from(self.samples_per_record).clamp(1, MAX_SAMPLES_PER_RECORD)
    }
}

/// The device clock a segment header is stamped with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DeviceClock {
    /// Set by the factory or SET_TIME: device ms are Unix ms plus a (tiny) drift.
    Wall { offset_ms: i64 },
    /// Lost in a flat battery: device ms count from the power-up at `boot_wall_ms`.
    SinceBoot { boot_wall_ms: i64 },
}

impl DeviceClock {
    /// The device clock reading at true wall time `wall_ms`.
    pub(super) fn at(self, wall_ms: i64) -> u64 {
        let ms = match self {
            DeviceClock::Wall { offset_ms } => wall_ms.saturating_add(offset_ms),
            DeviceClock::SinceBoot { boot_wall_ms } => wall_ms.saturating_sub(boot_wall_ms),
        };
        u64::try_from(ms).unwrap_or(0)
    }

    pub(super) fn valid(self) -> bool {
        matches!(self, DeviceClock::Wall { .. })
    }
}

/// How the wearable stamps what it records: who, which boot, which clock, which thresholds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Recorder {
    pub config: WearableConfig,
    pub worker: Option<WorkerTag>,
    pub boot_count: u32,
    pub clock: DeviceClock,
    /// Recorded in an earlier boot than the current one: the dock cannot place it in time.
    pub earlier_boot: bool,
    /// State of charge when the shift starts (the wearable comes off a charger).
    pub battery_soc: u8,
}

/// The battery as the last DIAG of a shift left it; INFO reports it at docking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Battery {
    pub soc: u8,
    pub mv: u16,
    pub temp_dc: i16,
}

impl Battery {
    /// A Li-ion cell's voltage at `soc` percent, roughly linear between 3.35 V and 4.2 V.
    pub(super) fn at_soc(soc: u8, temp_dc: i16) -> Self {
        Self {
            soc,
            mv: 3350 + u16::from(soc.min(100)) * 17 / 2,
            temp_dc,
        }
    }
}

/// One closed segment with everything the firmware keeps about it.
#[derive(Debug, Clone)]
pub(super) struct RecordedSegment {
    pub bytes: Vec<u8>,
    /// First and last record time on the device clock, as LIST reports them.
    pub first_ms: u64,
    pub last_ms: u64,
    pub truth: SegmentTruth,
}

impl RecordedSegment {
    /// Wraps finished segment bytes, computing what LIST reports about them.
    pub(super) fn new(bytes: Vec<u8>, start_ms: u64, last_t: u32, truth: SegmentTruth) -> Self {
        let mut segment = Self {
            bytes,
            first_ms: start_ms,
            last_ms: start_ms + u64::from(last_t),
            truth,
        };
        segment.seal();
        segment
    }

    /// Recomputes size and CRC after the bytes changed, as the firmware does on closing.
    pub(super) fn seal(&mut self) {
        self.truth.size = u32::try_from(self.bytes.len()).unwrap_or(u32::MAX);
        self.truth.crc = crc32c(&self.bytes);
    }
}

#[derive(Debug)]
pub(super) struct RecordedShift {
    pub shift: ShiftSpec,
    pub segments: Vec<RecordedSegment>,
    pub battery: Battery,
}

/// A shift to record: everything the (slow) recording needs, owned, so it can run off the
/// async runtime.
#[derive(Debug, Clone, Copy)]
pub(super) struct ShiftJob {
    pub shift: ShiftSpec,
    pub recorder: Recorder,
    pub seed: u64,
    /// Id of the first segment; the rest follow in order.
    pub first_id: u32,
}

impl ShiftJob {
    /// Records the whole shift as the firmware would.
    pub(super) fn record(&self) -> RecordedShift {
        self.record_keeping(None)
    }

    /// Records the whole shift, also appending every sample to `all_samples` when given.
    fn record_keeping(&self, mut all_samples: Option<&mut Vec<Sample>>) -> RecordedShift {
        let Self {
            shift,
            recorder,
            seed,
            first_id,
        } = self;
        let rate = shift.rate();
        let segment_len = shift.segment_len_ms();
        let mut sim = Simulator::new(
            Rng::new(*seed),
            rate,
            &recorder.config,
            i32::from(shift.noise_centideg),
            shift.profile,
        );
        let drain_per_min = sim.rng.range_u32(70, 100); // 0.001 % per minute: 4.2..6 % per hour
        let battery_at = |shift_ms: u64, temp_dc: i16| {
            let used = shift_ms / MINUTE_MS * u64::from(drain_per_min);
            let soc_milli = (u64::from(recorder.battery_soc.min(100)) * 1000).saturating_sub(used);
            Battery::at_soc(soc_milli.max(2000).div_ceil(1000) as u8, temp_dc)
        };
        let mut samples = Vec::with_capacity(samples_in(segment_len, rate));
        let mut events = Vec::new();
        let mut truth_events = Vec::new();
        let mut segments = Vec::new();
        let mut temp_dc = 300;
        let mut start = 0u64;
        let mut id = *first_id;
        while start < shift.duration_ms {
            let len = segment_len.min(shift.duration_ms - start);
            samples.clear();
            events.clear();
            truth_events.clear();
            let movements = sim.run_segment(
                start,
                samples_in(len, rate),
                &mut samples,
                &mut events,
                &mut truth_events,
            );
            if let Some(all) = all_samples.as_deref_mut() {
                all.extend_from_slice(&samples);
            }

            let mut diag_ms = start.div_ceil(MINUTE_MS) * MINUTE_MS;
            while diag_ms < start + len {
                temp_dc = (temp_dc + sim.rng.range(-4, 4) as i16).clamp(280, 345);
                let battery = battery_at(diag_ms, temp_dc);
                events.push(Event::Diag {
                    t: (diag_ms - start) as u32,
                    battery,
                });
                diag_ms += MINUTE_MS;
            }

            let wall = shift.start_wall_ms.saturating_add_unsigned(start);
            let header = SegmentHeader {
                format: FORMAT,
                rate_hz: rate as u16,
                segment_id: id,
                boot_count: recorder.boot_count,
                start_ms: recorder.clock.at(wall),
                clock_valid: recorder.clock.valid(),
            };
            let truth = SegmentTruth {
                id,
                size: 0,
                crc: 0,
                boot_count: recorder.boot_count,
                samples: samples.len() as u64,
                alerts: events
                    .iter()
                    .filter(|e| matches!(e, Event::Alert(_)))
                    .count() as u64,
                diags: events
                    .iter()
                    .filter(|e| matches!(e, Event::Diag { .. }))
                    .count() as u64,
                first_wall_ms: (!recorder.earlier_boot).then_some(wall),
                known_time: !recorder.earlier_boot,
                corrupt: false,
                movements,
                events: truth_events.clone(),
            };
            segments.push(write_segment(
                header,
                recorder.worker,
                &samples,
                &mut events,
                rate,
                shift.per_record(),
                truth,
            ));
            id = id.wrapping_add(1);
            start += len;
        }
        RecordedShift {
            shift: *shift,
            segments,
            battery: battery_at(shift.duration_ms, temp_dc),
        }
    }
}

/// A shift straight from the simulated worker: every sample in time order (sample `k` at
/// `shift.start_wall_ms + k·1000/rate_hz`) and the ground truth of its segments.
#[derive(Debug, Clone)]
pub struct SimulatedShift {
    pub samples: Vec<Sample>,
    pub truth: GroundTruth,
}

/// Simulates `shift` from `seed` as a wearable with the default configuration, a valid clock and
/// no worker tag would record it, without a wearable or a link: for the analysis tests and
/// benchmarks. Deterministic: same spec and seed, same samples and truth.
pub fn simulate(shift: ShiftSpec, seed: u64) -> SimulatedShift {
    let job = ShiftJob {
        shift,
        recorder: Recorder {
            config: WearableConfig::default(),
            worker: None,
            boot_count: 1,
            clock: DeviceClock::Wall { offset_ms: 0 },
            earlier_boot: false,
            battery_soc: 100,
        },
        seed,
        first_id: 1,
    };
    let mut samples = Vec::with_capacity(samples_in(shift.duration_ms, shift.rate()));
    let recorded = job.record_keeping(Some(&mut samples));
    let mut truth = GroundTruth::default();
    for segment in recorded.segments {
        truth.record(segment.truth);
    }
    SimulatedShift { samples, truth }
}

/// How many samples at `rate` fall in `len_ms` (sample k is taken at k·1000/rate ms).
fn samples_in(len_ms: u64, rate: u32) -> usize {
    (len_ms * u64::from(rate)).div_ceil(1000) as usize
}

/// Serialises one segment in time order: WORKER at t = 0, then SAMPLES records interleaved with
/// the alerts, DIAGs and button presses at their times.
fn write_segment(
    header: SegmentHeader,
    worker: Option<WorkerTag>,
    samples: &[Sample],
    events: &mut [Event],
    rate: u32,
    per_record: usize,
    truth: SegmentTruth,
) -> RecordedSegment {
    events.sort_by_key(Event::t);
    let mut writer = SegmentWriter::new(header);
    writer.worker(0, worker);
    let mut pending = events.iter().peekable();
    let mut last_t = 0;
    for (index, chunk) in samples.chunks(per_record).enumerate() {
        let t = sample_ms(index * per_record, rate);
        while let Some(event) = pending.next_if(|event| event.t() <= t) {
            event.write(&mut writer);
        }
        writer.samples(t, chunk);
        last_t = t;
    }
    for event in pending {
        event.write(&mut writer);
        last_t = last_t.max(event.t());
    }
    RecordedSegment::new(writer.finish(), header.start_ms, last_t, truth)
}

/// Time of sample `k` of a segment, in ms since the segment opened.
fn sample_ms(k: usize, rate: u32) -> u32 {
    (k as u64 * 1000 / u64::from(rate)) as u32
}

/// A record other than SAMPLES, kept until the segment is written in time order.
#[derive(Debug, Clone, Copy)]
enum Event {
    Alert(Alert),
    Diag { t: u32, battery: Battery },
    Button { t: u32, action: u8 },
}

#[derive(Debug, Clone, Copy)]
struct Alert {
    t: u32,
    kind: AlertKind,
    peak: i16,
    duration_ms: u32,
    response_ms: Option<u32>,
    haptic: bool,
}

impl Event {
    fn t(&self) -> u32 {
        match *self {
            Event::Alert(Alert { t, .. }) | Event::Diag { t, .. } | Event::Button { t, .. } => t,
        }
    }

    fn write(&self, writer: &mut SegmentWriter) {
        match *self {
            Event::Alert(a) => {
                writer.alert(a.t, a.kind, a.peak, a.duration_ms, a.response_ms, a.haptic)
            }
            Event::Diag { t, battery } => {
                writer.diag(t, battery.mv, battery.temp_dc, battery.soc, 0);
            }
            Event::Button { t, action } => writer.button(t, action),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The simulated worker and the firmware's alert logic.

/// Firmware rule: flexion over 20° held 30 s is a prolonged bend (ISO 11226 static posture).
const PROLONGED_FLEX: i32 = 2000;
const PROLONGED_HOLD_MS: u32 = 30_000;
/// Firmware rule: trunk extension beyond 15° held `bend_hold_ms` is an overreach.
const OVERREACH_FLEX: i32 = -1500;
/// An alert not corrected this long after its pulse is written with response "not corrected".
const RESPONSE_WINDOW_MS: u32 = 10_000;
/// Activities that could still be running this long after their plan ends (an ignored alert
/// holds the posture up to 16 s more) are not started this close to a segment's end, so every
/// movement and alert belongs to exactly one segment.
const SEGMENT_END_MARGIN_MS: u32 = 30_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Pose {
    flex: i32,
    lat: i32,
    height: i32,
}

#[derive(Debug, Clone, Copy, Default)]
struct Keyframe {
    samples: u32,
    to: Pose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activity {
    Rest,
    Walk,
    StandWork,
    Bend,
    DeepBend,
    Twist,
    LateralBend,
    LiftStoop,
    LiftSquat,
    Reach,
    StoopedWork,
}

/// How often each activity is picked when no break is due (weights).
const ACTIVITY_WEIGHTS: [(Activity, u32); 11] = [
    (Activity::Walk, 14),
    (Activity::StandWork, 22),
    (Activity::Bend, 22),
    (Activity::DeepBend, 5),
    (Activity::Twist, 10),
    (Activity::LateralBend, 8),
    (Activity::LiftStoop, 5),
    (Activity::LiftSquat, 5),
    (Activity::Reach, 6),
    (Activity::StoopedWork, 2),
    (Activity::Rest, 1),
];

const MAX_FRAMES: usize = 10;

/// The planned trajectory of the current activity: eased moves between key poses.
#[derive(Debug, Clone, Copy)]
struct Motion {
    frames: [Keyframe; MAX_FRAMES],
    len: usize,
    index: usize,
    from: Pose,
    elapsed: u32,
    /// Position in the current frame, Q16 fixed point over 0..=256 (the ease table's domain),
    /// advanced by `step` each sample: no division per sample.
    progress: u32,
    step: u32,
}

impl Motion {
    fn idle() -> Self {
        Self {
            frames: [Keyframe::default(); MAX_FRAMES],
            len: 0,
            index: 0,
            from: Pose::default(),
            elapsed: 0,
            progress: 0,
            step: 0,
        }
    }

    fn start(&mut self, from: Pose, frames: &[Keyframe]) {
        let len = frames.len().min(MAX_FRAMES);
        self.frames[..len].copy_from_slice(&frames[..len]);
        self.len = len;
        self.index = 0;
        self.from = from;
        self.enter_frame();
    }

    fn enter_frame(&mut self) {
        self.elapsed = 0;
        self.progress = 0;
        if let Some(frame) = self.frames[..self.len].get(self.index) {
            self.step = (256 << 16) / frame.samples.max(1);
        }
    }

    fn done(&self) -> bool {
        self.index >= self.len
    }

    /// Where the current move is heading, `None` once the plan is complete.
    fn target(&self) -> Option<Pose> {
        self.frames[..self.len]
            .get(self.index)
            .map(|frame| frame.to)
    }

    /// The pose at this sample, then one sample on.
    fn advance(&mut self, ease: &[i32; 257]) -> Pose {
        let Some(frame) = self.frames[..self.len].get(self.index).copied() else {
            return self.from;
        };
        let e = ease[(self.progress >> 16).min(256) as usize];
        let lerp = |a: i32, b: i32| a + (((b - a) * e) >> 15);
        let pose = Pose {
            flex: lerp(self.from.flex, frame.to.flex),
            lat: lerp(self.from.lat, frame.to.lat),
            height: lerp(self.from.height, frame.to.height),
        };
        self.elapsed += 1;
        self.progress += self.step;
        if self.elapsed >= frame.samples {
            self.from = frame.to;
            self.index += 1;
            self.enter_frame();
        }
        pose
    }
}

/// An axial rotation of the trunk: a half-sine of angular velocity within the activity, turning
/// by `peak · 2 · samples / (π · rate)` (0.1°).
#[derive(Debug, Clone, Copy, Default)]
struct Burst {
    start: u32,
    samples: u32,
    /// Peak velocity, 0.1 °/s, signed.
    peak: i32,
    /// A movement of the truth (a twist or a gentle turn at work, `TruthKind::Twist`), or a turn
    /// while walking or to walk off, which is no movement of the truth.
    truth: bool,
}

/// Most rotations one activity plans (a walk's turns; a twist out and back).
const MAX_BURSTS: usize = 8;
/// Truth rotations one activity can hold (a twist out and back; a lift's twist; a gentle turn).
const MAX_TRUTH_BURSTS: usize = 2;

/// Trunk twists (design choices; no real trunk-twist recordings exist here): turning one way by
/// 25–90° (a box set down beside the worker; 25° so some fall near the 30° threshold of
/// Hoogendoorn and Soter, RM §2, §5) in 0.4–1.2 s (so 30–350 °/s at the peak), and in 8 of 10
/// cases back by 80–100 % of it after 0.3–2 s.
const TWIST_DEG: (u32, u32) = (25, 90);
const TWIST_MS: (u32, u32) = (400, 1200);
/// Gentle turns of standing work: 5–20° over 0.8–2 s, below any twist.
const GENTLE_DEG: (u32, u32) = (5, 20);
/// Turns while walking and to walk off: 45–180° over 1–2 s.
const TURN_DEG: (u32, u32) = (45, 180);
/// Standing still after walking and after a twist before anything else starts, ms: more than
/// the 2 s around gait in which the analysis counts no twist.
const SETTLE_MS: (u32, u32) = (2600, 4000);

/// One firmware alert rule watching one signal.
#[derive(Debug, Clone, Copy)]
struct Watch {
    kind: AlertKind,
    hold: u32,
    since: Option<u32>,
    pulse: Option<u32>,
    haptic: bool,
    peak: i32,
}

/// What a rule did at one sample.
enum WatchStep {
    Quiet,
    /// The posture has been risky for the hold time: the haptic pulse fires now.
    Pulse,
    /// A risky episode that fired a pulse is over: `(since, pulse, end)` in samples.
    Ended(u32, u32, u32),
}

impl Watch {
    fn new(kind: AlertKind, hold: u32) -> Self {
        Self {
            kind,
            hold,
            since: None,
            pulse: None,
            haptic: false,
            peak: 0,
        }
    }

    fn observe(&mut self, k: u32, risky: bool, value: i32) -> WatchStep {
        if risky {
            let since = *self.since.get_or_insert(k);
            if k == since || value.abs() > self.peak.abs() {
                self.peak = value;
            }
            if self.pulse.is_none() && k - since >= self.hold {
                self.pulse = Some(k);
                return WatchStep::Pulse;
            }
            WatchStep::Quiet
        } else {
            self.end(k)
        }
    }

    fn end(&mut self, k: u32) -> WatchStep {
        match (self.since.take(), self.pulse.take()) {
            (Some(since), Some(pulse)) => WatchStep::Ended(since, pulse, k),
            _ => WatchStep::Quiet,
        }
    }
}

/// Floors of the truth's spans (see `TruthKind`): far below any detector's threshold.
const TRUTH_FLEX_FLOOR: i32 = 2000;
const TRUTH_LAT_FLOOR: i32 = 500;
const TRUTH_LIFT_FLOOR_MM: i32 = 100;
/// A rotation of the truth is counted as a twist in `MovementCounts::twists` from this many
/// degrees (Hoogendoorn's and Soter's 30°, RM §2, §5).
const TRUTH_TWIST_DEG: i32 = 30;

/// One sample before sensor noise: what the worker really did.
#[derive(Debug, Clone, Copy)]
struct Clean {
    flex: i32,
    lat: i32,
    height: i32,
    /// A rotation of the truth is under way: its index among the activity's truth rotations
    /// and its own velocity (0.1 °/s, without gait or other rotations).
    burst: Option<(usize, i32)>,
    /// The worker walks (or jogs): the gait's own axial velocity, 0.1 °/s.
    gait_twist: Option<i32>,
}

/// Where one channel of the clean signal went beyond its truth floor during an activity.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    seen: bool,
    start: u32,
    last: u32,
    peak: i32,
    peak_k: u32,
    height_at_peak: i32,
    flex_peak: i32,
    min_height: i32,
    max_height: i32,
}

impl Span {
    fn see(&mut self, k: u32, value: i32, clean: Clean) {
        if !self.seen {
            *self = Span {
                seen: true,
                start: k,
                last: k,
                peak: value,
                peak_k: k,
                height_at_peak: clean.height,
                flex_peak: clean.flex,
                min_height: clean.height,
                max_height: clean.height,
            };
            return;
        }
        self.last = k;
        if value > self.peak {
            self.peak = value;
            self.peak_k = k;
            self.height_at_peak = clean.height;
        }
        self.flex_peak = self.flex_peak.max(clean.flex);
        self.min_height = self.min_height.min(clean.height);
        self.max_height = self.max_height.max(clean.height);
    }

    /// The truth event of this span, if the signal went there at all.
    fn event(&self, kind: TruthKind, start_height: i32, rate: u32) -> Option<TruthEvent> {
        if !self.seen {
            return None;
        }
        let height_mm = match kind {
            TruthKind::Reach => self.max_height,
            TruthKind::LiftStoop | TruthKind::LiftSquat => self.min_height,
            _ => self.height_at_peak,
        } - start_height;
        Some(TruthEvent {
            kind,
            start_ms: sample_ms(self.start as usize, rate),
            peak_ms: sample_ms(self.peak_k as usize, rate),
            end_ms: sample_ms(self.last as usize + 1, rate),
            peak: self.peak,
            flex_peak: self.flex_peak,
            height_mm,
        })
    }
}

/// The truth of the current activity, one span per kind of movement (one per truth rotation).
#[derive(Debug, Clone, Copy, Default)]
struct ActivityTruth {
    flexion: Span,
    lateral: Span,
    twists: [Span; MAX_TRUTH_BURSTS],
    /// Each truth rotation's velocity summed over its samples so far (0.1 °/s · samples).
    turned: [i64; MAX_TRUTH_BURSTS],
    walk: Span,
    reach: Span,
    lift: Span,
}

/// The worker plus the firmware's view of them, one sample at a time.
struct Simulator {
    rng: Rng,
    rate: u32,
    /// Sensor noise amplitude on flexion and lateral bend, 0.01° (`ShiftSpec::noise_centideg`).
    noise: i32,
    haptics: bool,
    bend_alert: i32,
    twist_alert: i32,
    ease: [i32; 257],
    sine: [i32; 256],

    profile: ShiftProfile,
    activity: Activity,
    motion: Motion,
    pose: Pose,
    /// The activity's walking, from `gait_start` samples into it.
    gait: Option<Gait>,
    gait_start: u32,
    bursts: [Burst; MAX_BURSTS],
    burst_count: usize,
    activity_k: u32,
    max_flex: i32,
    max_lat: i32,
    /// The clean height of the last sample and where the current activity started.
    clean_height: i32,
    start_height: i32,
    truth: ActivityTruth,

    watches: [Watch; 4],
    silent: bool,
    next_break_ms: u64,
    breaks: u32,
    next_button_ms: u64,
    force_triple: bool,
}

impl Simulator {
    fn new(
        mut rng: Rng,
        rate: u32,
        config: &WearableConfig,
        noise: i32,
        profile: ShiftProfile,
    ) -> Self {
        let samples = |ms: u32| (u64::from(ms) * u64::from(rate)).div_ceil(1000) as u32;
        let bend_hold = samples(u32::from(config.bend_hold_ms));
        let ease = std::array::from_fn(|i| {
            let x = i as i64;
            (x * x * (768 - 2 * x) * 32768 / (256 * 256 * 256)) as i32
        });
        let sine = std::array::from_fn(|i| {
            (f64::sin(i as f64 * std::f64::consts::TAU / 256.0) * 32767.0) as i32
        });
        Self {
            next_break_ms: 2 * HOUR_MS - 10 * MINUTE_MS + rng.below(20 * MINUTE_MS),
            next_button_ms: 20 * MINUTE_MS + rng.below(140 * MINUTE_MS),
            rng,
            rate,
            noise: noise.max(0),
            haptics: config.haptics,
            bend_alert: i32::from(config.bend_alert),
            twist_alert: i32::from(config.twist_alert),
            ease,
            sine,
            profile,
            activity: Activity::StandWork,
            motion: Motion::idle(),
            pose: Pose::default(),
            gait: None,
            gait_start: 0,
            bursts: [Burst::default(); MAX_BURSTS],
            burst_count: 0,
            activity_k: 0,
            max_flex: 0,
            max_lat: 0,
            clean_height: 0,
            start_height: 0,
            truth: ActivityTruth::default(),
            watches: [
                Watch::new(AlertKind::Bend, bend_hold),
                Watch::new(AlertKind::ProlongedBend, samples(PROLONGED_HOLD_MS)),
                Watch::new(AlertKind::Overreach, bend_hold),
                Watch::new(AlertKind::Twist, 0),
            ],
            silent: false,
            breaks: 0,
            force_triple: false,
        }
    }

    fn samples(&self, ms: u32) -> u32 {
        ((u64::from(ms) * u64::from(self.rate)).div_ceil(1000) as u32).max(1)
    }

    fn ms(&self, k: u32) -> u32 {
        sample_ms(k as usize, self.rate)
    }

    /// Simulates `n` samples of the segment starting `start_ms` into the shift; returns the
    /// movements that ended in it.
    fn run_segment(
        &mut self,
        start_ms: u64,
        n: usize,
        samples: &mut Vec<Sample>,
        events: &mut Vec<Event>,
        truth: &mut Vec<TruthEvent>,
    ) -> MovementCounts {
        let mut counts = MovementCounts::default();
        let (mut walking, mut resting) = (0u64, 0u64);
        let n = n as u32;
        let mut button_k = self.button_sample(start_ms);
        for k in 0..n {
            if self.motion.done() {
                let shift_ms = start_ms + u64::from(self.ms(k));
                self.plan(n - k, shift_ms);
            }
            if k == button_k {
                self.press_button(self.ms(k), events);
                button_k = self.button_sample(start_ms);
            }
            let (sample, clean) = self.sample();
            samples.push(sample);
            self.track(k, clean);
            let flex = i32::from(sample.flex);
            counts.flexion_zone_samples[match flex {
                ..0 => 0,
                0..2000 => 1,
                2000..=6000 => 2,
                _ => 3,
            }] += 1;
            if self.walking() {
                walking += 1;
            }
            if self.activity == Activity::Rest {
                resting += 1;
            }
            self.detect(k, sample, events);
            if self.motion.done() {
                self.end_activity(&mut counts, truth);
            }
        }
        // The firmware closes the segment: alerts still open are written as not corrected.
        for i in 0..self.watches.len() {
            if let WatchStep::Ended(since, pulse, end) = self.watches[i].end(n) {
                self.push_alert(i, (since, pulse, end), false, events);
            }
        }
        counts.walking_ms = u64::from(self.ms(walking as u32));
        counts.resting_ms = u64::from(self.ms(resting as u32));
        counts
    }

    /// Whether the worker is walking (or jogging) at this sample.
    fn walking(&self) -> bool {
        self.activity_k >= self.gait_start && self.gait.as_ref().is_some_and(|gait| !gait.done())
    }

    /// The next sample: planned pose, gait, trunk rotations (the clean signal, also returned
    /// for the truth), then sensor noise.
    fn sample(&mut self) -> (Sample, Clean) {
        self.pose = self.motion.advance(&self.ease);
        let noise = self.rng.next_u64();
        let tri = |shift: u32| {
            i32::from((noise >> shift) as u8) - i32::from((noise >> (shift + 8)) as u8)
        };
        let mut flex = self.pose.flex;
        let mut lat = self.pose.lat;
        let mut twist = 0;
        let mut height = self.pose.height;
        let mut truth_burst = None;
        let walking = self.walking();
        let mut gait_twist = None;
        if self.activity_k >= self.gait_start
            && let Some(gait) = self.gait.as_mut()
        {
            let step = gait.next(&mut self.rng);
            gait_twist = walking.then_some(step.twist);
            flex += step.flex;
            lat += step.lat;
            twist += step.twist;
            height += step.height;
        }
        let mut truth_index = 0;
        for burst in &self.bursts[..self.burst_count] {
            let into = self.activity_k.wrapping_sub(burst.start);
            if into < burst.samples {
                let v = (burst.peak * self.sine[(into * 128 / burst.samples) as usize]) >> 15;
                twist += v;
                if burst.truth {
                    truth_burst = Some((truth_index, v));
                }
            }
            truth_index += usize::from(burst.truth);
        }
        let clean = Clean {
            flex,
            lat,
            height,
            burst: truth_burst,
            gait_twist,
        };
        // Triangular jitter in -255..=255, scaled: at the default amplitude of 32 these are the
        // generator's original `>> 3` and `>> 4`, so default shifts keep their bytes.
        flex += (tri(0) * self.noise) >> 8;
        lat += (tri(16) * self.noise) >> 8;
        twist += (tri(32) * self.noise) >> 9;
        height += (tri(48) * self.noise) >> 9;
        self.clean_height = clean.height;
        self.activity_k += 1;
        let sample = Sample {
            flex: clamp_i16(flex),
            lat: clamp_i16(lat),
            twist: clamp_i16(twist),
            height: clamp_i16(height),
        };
        self.max_flex = self.max_flex.max(i32::from(sample.flex));
        self.max_lat = self.max_lat.max(i32::from(sample.lat).abs());
        (sample, clean)
    }

    /// Follows the clean signal of sample `k` (of the segment) for the activity's truth.
    fn track(&mut self, k: u32, clean: Clean) {
        let truth = &mut self.truth;
        if clean.flex >= TRUTH_FLEX_FLOOR {
            truth.flexion.see(k, clean.flex, clean);
        }
        if clean.lat.abs() >= TRUTH_LAT_FLOOR {
            truth.lateral.see(k, clean.lat.abs(), clean);
        }
        if let Some((i, v)) = clean.burst
            && i < MAX_TRUTH_BURSTS
        {
            // The rotation so far, 0.01°: Σ v (0.1 °/s) · 10 / rate.
            truth.turned[i] += i64::from(v);
            let angle = truth.turned[i].abs() * 10 / i64::from(self.rate);
            truth.twists[i].see(k, i32::try_from(angle).unwrap_or(i32::MAX), clean);
        }
        if let Some(v) = clean.gait_twist {
            truth.walk.see(k, v.abs(), clean);
        }
        if clean.flex < 0 {
            truth.reach.see(k, -clean.flex, clean);
        }
        let drop = self.start_height - clean.height;
        if matches!(self.activity, Activity::LiftStoop | Activity::LiftSquat)
            && drop >= TRUTH_LIFT_FLOOR_MM
        {
            truth.lift.see(k, drop, clean);
        }
    }

    /// Runs the firmware's four alert rules on one sample (in the order of `watches`).
    fn detect(&mut self, k: u32, sample: Sample, events: &mut Vec<Event>) {
        let flex = i32::from(sample.flex);
        let twist = i32::from(sample.twist);
        let checks = [
            (flex > self.bend_alert, flex),
            (flex > PROLONGED_FLEX, flex),
            (flex < OVERREACH_FLEX, flex),
            (twist.abs() > self.twist_alert, twist),
        ];
        for (i, (risky, value)) in checks.into_iter().enumerate() {
            match self.watches[i].observe(k, risky, value) {
                WatchStep::Quiet => {}
                WatchStep::Pulse => self.pulse(i),
                WatchStep::Ended(since, pulse, end) => {
                    self.push_alert(i, (since, pulse, end), true, events)
                }
            }
        }
    }

    /// The haptic pulse of rule `i`: most pulses are felt, and most workers who feel one
    /// straighten up within 0.5..3 s; some ignore it past the response window.
    fn pulse(&mut self, i: usize) {
        let haptic = self.haptics && !self.silent && self.rng.chance(970);
        self.watches[i].haptic = haptic;
        let Some(target) = self.motion.target() else {
            return;
        };
        let still_risky = match self.watches[i].kind {
            AlertKind::Bend => target.flex > self.bend_alert,
            AlertKind::ProlongedBend => target.flex > PROLONGED_FLEX,
            AlertKind::Overreach => target.flex < OVERREACH_FLEX,
            _ => false,
        };
        if !haptic || !still_risky {
            return;
        }
        let delay = if self.rng.chance(900) {
            let slow = if self.rng.chance(300) {
                self.rng.range_u32(0, 1500)
            } else {
                0
            };
            self.rng.range_u32(300, 1200) + slow
        } else {
            self.rng
                .range_u32(RESPONSE_WINDOW_MS + 1000, RESPONSE_WINDOW_MS + 6000)
        };
        let recover = self.rng.range_u32(600, 1200);
        // The carry walk the activity planned is given up with the rest of its plan.
        if self.activity_k < self.gait_start {
            self.gait = None;
        }
        let stand = self.neutral();
        // Then standing still a moment, as after any twist (see `SETTLE_MS`).
        let settle = self.rng.range_u32(SETTLE_MS.0, SETTLE_MS.1);
        let frames = [
            Keyframe {
                samples: self.samples(delay),
                to: self.pose,
            },
            Keyframe {
                samples: self.samples(recover),
                to: stand,
            },
            Keyframe {
                samples: self.samples(settle),
                to: stand,
            },
        ];
        self.motion.start(self.pose, &frames);
    }

    /// Writes the alert of rule `i` for an episode `(since, pulse, end)` in samples; `corrected`
    /// when the posture turned safe at `end` (rather than the segment closing on it).
    fn push_alert(
        &self,
        i: usize,
        (since, pulse, end): (u32, u32, u32),
        corrected: bool,
        events: &mut Vec<Event>,
    ) {
        let watch = &self.watches[i];
        let (since, pulse, end) = (self.ms(since), self.ms(pulse), self.ms(end));
        events.push(Event::Alert(Alert {
            t: pulse,
            kind: watch.kind,
            peak: clamp_i16(watch.peak),
            duration_ms: end - since,
            response_ms: Some(end - pulse).filter(|&ms| corrected && ms <= RESPONSE_WINDOW_MS),
            haptic: watch.haptic,
        }));
    }

    /// The sample of the segment starting `start_ms` into the shift at which the next button
    /// press is due (compared per sample instead of converting every sample's time).
    fn button_sample(&self, start_ms: u64) -> u32 {
        let ms = self.next_button_ms.saturating_sub(start_ms);
        u32::try_from((ms * u64::from(self.rate)).div_ceil(1000)).unwrap_or(u32::MAX)
    }

    fn press_button(&mut self, t: u32, events: &mut Vec<Event>) {
        let action = match self.rng.below(10) {
            _ if self.force_triple => 3,
            0..=6 => 1,
            7..=8 => 2,
            _ => 3,
        };
        if action == 3 {
            self.silent = !self.silent;
        }
        // A worker who silenced the wearable turns it back on after a few minutes.
        self.force_triple = self.silent;
        let gap = if self.silent {
            2 * MINUTE_MS + self.rng.below(8 * MINUTE_MS)
        } else {
            20 * MINUTE_MS + self.rng.below(140 * MINUTE_MS)
        };
        self.next_button_ms += gap;
        events.push(Event::Button { t, action });
    }

    fn end_activity(&mut self, counts: &mut MovementCounts, truth: &mut Vec<TruthEvent>) {
        let activity_truth = std::mem::take(&mut self.truth);
        let lift = match self.activity {
            Activity::LiftStoop => Some(TruthKind::LiftStoop),
            Activity::LiftSquat => Some(TruthKind::LiftSquat),
            _ => None,
        };
        let [first_twist, second_twist] = activity_truth.twists;
        let spans = [
            (Some(TruthKind::Flexion), activity_truth.flexion),
            (Some(TruthKind::Lateral), activity_truth.lateral),
            (Some(TruthKind::Twist), first_twist),
            (Some(TruthKind::Twist), second_twist),
            (Some(TruthKind::Reach), activity_truth.reach),
            (lift, activity_truth.lift),
            (Some(TruthKind::Walk), activity_truth.walk),
        ];
        for (kind, span) in spans {
            if let Some(event) =
                kind.and_then(|kind| span.event(kind, self.start_height, self.rate))
            {
                truth.push(event);
            }
        }
        match self.max_flex {
            f if f > 6000 => counts.deep_bends += 1,
            2000..=6000 => counts.bends += 1,
            _ => {}
        }
        counts.twists += activity_truth
            .twists
            .iter()
            .filter(|span| span.seen && span.peak >= TRUTH_TWIST_DEG * 100)
            .count() as u64;
        counts.lateral_bends += u64::from(self.max_lat >= 1000);
        match self.activity {
            Activity::LiftStoop => counts.lifts_stoop += 1,
            Activity::LiftSquat => counts.lifts_squat += 1,
            Activity::Reach => counts.reaches += 1,
            _ => {}
        }
    }

    /// A relaxed standing posture, the baseline every movement starts from and returns to.
    fn neutral(&mut self) -> Pose {
        Pose {
            flex: self.rng.range(200, 800),
            lat: self.rng.range(-200, 200),
            height: self.rng.range(-10, 10),
        }
    }

    /// Picks and plans the next activity with `remaining` samples left in the segment. Near the
    /// segment's end, only what fits is started (standing work, or just standing).
    fn plan(&mut self, remaining: u32, shift_ms: u64) {
        let break_due = shift_ms >= self.next_break_ms;
        let chosen = if break_due {
            Activity::Rest
        } else {
            self.pick()
        };
        let margin = self.samples(SEGMENT_END_MARGIN_MS);
        let mut planned = None;
        for activity in [chosen, Activity::StandWork] {
            let plan = self.frames(activity, break_due);
            let length: u32 = plan
                .frames
                .as_slice()
                .iter()
                .map(|frame| frame.samples)
                .sum();
            if length.saturating_add(margin) <= remaining {
                planned = Some((activity, plan));
                break;
            }
        }
        let (activity, plan) = planned.unwrap_or_else(|| {
            let mut plan = Plan::default();
            plan.frames.push(remaining, self.neutral());
            (Activity::StandWork, plan)
        });
        if break_due && activity == Activity::Rest {
            self.breaks += 1;
            self.next_break_ms += 2 * HOUR_MS - 10 * MINUTE_MS + self.rng.below(20 * MINUTE_MS);
        }
        self.motion.start(self.pose, plan.frames.as_slice());
        self.activity = activity;
        self.activity_k = 0;
        self.start_height = self.clean_height;
        self.truth = ActivityTruth::default();
        self.max_flex = i32::MIN;
        self.max_lat = 0;
        self.bursts = plan.bursts;
        self.burst_count = plan.burst_count;
        (self.gait_start, self.gait) = match plan.gait {
            Some((start, gait)) => (start, Some(gait)),
            None => (0, None),
        };
    }

    fn pick(&mut self) -> Activity {
        if self.profile == ShiftProfile::Walking {
            return Activity::Walk;
        }
        let total: u32 = ACTIVITY_WEIGHTS.iter().map(|&(_, w)| w).sum();
        let mut roll = self.rng.below(u64::from(total)) as u32;
        for (activity, weight) in ACTIVITY_WEIGHTS {
            if roll < weight {
                return activity;
            }
            roll -= weight;
        }
        Activity::StandWork
    }

    /// A rotation by `deg` degrees over about `ms`: its length in samples and its (unsigned) peak
    /// velocity in 0.1 °/s. The half-sine's samples sum to `2n/π` times the peak, so the
    /// sampled rotation is `deg` at any rate.
    fn rotation(&self, deg: u32, ms: u32) -> (u32, i32) {
        let samples = self.samples(ms).max(2);
        let peak = f64::from(deg) * 10.0 * std::f64::consts::PI * f64::from(self.rate)
            / (2.0 * f64::from(samples));
        (samples, peak.round() as i32)
    }

    /// A rotation drawn from `(lo, hi)` degrees and `(lo, hi)` ms, either way, starting
    /// `start` samples into the activity.
    fn burst_at(&mut self, start: u32, deg: (u32, u32), ms: (u32, u32), truth: bool) -> Burst {
        let deg = self.rng.range_u32(deg.0, deg.1);
        let ms = self.rng.range_u32(ms.0, ms.1);
        let (samples, peak) = self.rotation(deg, ms);
        Burst {
            start,
            samples,
            peak: self.rng.signed(peak),
            truth,
        }
    }

    /// Walking at `pace` for `walk_ms`, from where `plan` has got to: optionally turning to walk
    /// off first, turning every 15–40 s on the way, then stopping and standing still (see
    /// [`SETTLE_MS`]).
    fn walk(&mut self, plan: &mut Plan, pace: Pace, walk_ms: (u32, u32), turn_off: bool) {
        if turn_off {
            let burst = self.burst_at(plan.len(), TURN_DEG, (1000, 2000), false);
            plan.burst(burst);
            let stand = self.neutral();
            plan.frames.push(burst.samples, stand);
        }
        let start = plan.len();
        let gait_pose = Pose {
            flex: self.r(400, 700),
            lat: 0,
            height: 0,
        };
        let (step_in, walk) = (self.samples(800), self.between(walk_ms.0, walk_ms.1));
        plan.frames.push(step_in, gait_pose);
        plan.frames.push(walk, gait_pose);
        let mut at = start + self.between(15_000, 40_000);
        while at + self.samples(2500) < start + step_in + walk {
            let burst = self.burst_at(at, TURN_DEG, (1000, 2000), false);
            if !plan.burst(burst) {
                break;
            }
            at += burst.samples + self.between(15_000, 40_000);
        }
        let length = step_in + walk + self.samples(500);
        plan.gait = Some((start, Gait::new(pace, self.rate, length, &mut self.rng)));
        let stand = self.neutral();
        plan.frames.push(self.samples(800), stand);
        plan.frames
            .push(self.between(SETTLE_MS.0, SETTLE_MS.1), stand);
    }

    /// The pace of a walk: walking, and in a workday 1 walk in 20 a jog; every pace alike in a
    /// walking shift.
    fn pace(&mut self) -> Pace {
        let roll = self.rng.below(100) as usize;
        match self.profile {
            ShiftProfile::Walking => PACES[roll % PACES.len()],
            ShiftProfile::Workday => match roll {
                0..47 => Pace::SlowWalk,
                47..95 => Pace::FastWalk,
                95..98 => Pace::SlowJog,
                _ => Pace::FastJog,
            },
        }
    }

    /// A random duration in `lo_ms..=hi_ms`, in samples.
    fn between(&mut self, lo_ms: u32, hi_ms: u32) -> u32 {
        let ms = self.rng.range_u32(lo_ms, hi_ms);
        self.samples(ms)
    }

    fn r(&mut self, lo: i32, hi: i32) -> i32 {
        self.rng.range(lo, hi)
    }

    /// The key poses, rotations and walking of `activity`.
    fn frames(&mut self, activity: Activity, scheduled_break: bool) -> Plan {
        let mut plan = Plan::default();
        let f = &mut plan.frames;
        match activity {
            Activity::Rest => {
                let minutes = match (scheduled_break, self.breaks) {
                    (true, 1) => 30,
                    (true, _) => self.rng.range_u32(10, 15),
                    (false, _) => self.rng.range_u32(1, 3),
                };
                let seated = Pose {
                    flex: self.r(500, 1100),
                    lat: self.r(-300, 300),
                    height: self.r(-480, -420),
                };
                let shifted = Pose {
                    flex: self.r(400, 1100),
                    lat: self.r(-300, 300),
                    ..seated
                };
                let half = self.samples(minutes * 30_000);
                f.push(self.samples(1500), seated);
                f.push(half, seated);
                f.push(self.samples(2000), shifted);
                f.push(half, shifted);
                f.push(self.samples(1500), self.neutral());
            }
            Activity::Walk => {
                let pace = self.pace();
                let turn_off = self.rng.chance(500);
                self.walk(&mut plan, pace, (15_000, 180_000), turn_off);
            }
            Activity::StandWork => {
                for _ in 0..self.rng.range_u32(2, 4) {
                    let to = Pose {
                        flex: self.r(200, 1100),
                        lat: self.r(-400, 400),
                        height: self.r(-15, 15),
                    };
                    f.push(self.between(1000, 2000), to);
                    f.push(self.between(3000, 40_000), to);
                }
                if self.rng.chance(400) {
                    let at = self.rng.range_u32(0, plan.len() / 2);
                    let burst = self.burst_at(at, GENTLE_DEG, (800, 2000), true);
                    plan.burst(burst);
                }
            }
            Activity::Bend | Activity::DeepBend => {
                let (peak, hold) = if activity == Activity::Bend {
                    (self.r(2500, 5500), self.between(200, 1500))
                } else {
                    (self.r(6500, 9500), self.between(300, 2000))
                };
                let bent = Pose {
                    flex: peak,
                    lat: self.r(-300, 300),
                    height: -peak / 50,
                };
                f.push(self.between(500, 1500), bent);
                let held = Pose {
                    flex: peak + self.r(-150, 150),
                    ..bent
                };
                f.push(hold, held);
                f.push(self.between(500, 1500), self.neutral());
            }
            Activity::Twist => {
                let stance = Pose {
                    lat: self.r(-300, 300),
                    ..self.pose
                };
                let at = self.samples(300);
                f.push(at, stance);
                let out = self.burst_at(at, TWIST_DEG, TWIST_MS, true);
                let pause = self.between(300, 2000);
                f.push(out.samples + pause, stance);
                if self.rng.chance(800) {
                    // Back by 80–100 % of the way out.
                    let deg = f64::from(out.peak.unsigned_abs()) * 2.0 * f64::from(out.samples)
                        / (std::f64::consts::PI * f64::from(self.rate) * 10.0);
                    let back = (deg * f64::from(self.rng.range_u32(80, 100)) / 100.0) as u32;
                    let ms = self.rng.range_u32(TWIST_MS.0, TWIST_MS.1);
                    let (samples, peak) = self.rotation(back, ms);
                    f.push(samples, stance);
                    plan.burst(out);
                    plan.burst(Burst {
                        start: at + out.samples + pause,
                        samples,
                        peak: -out.peak.signum() * peak,
                        truth: true,
                    });
                } else {
                    plan.burst(out);
                }
                let stand = self.neutral();
                let f = &mut plan.frames;
                f.push(self.between(1000, 1600), stand);
                f.push(self.between(SETTLE_MS.0, SETTLE_MS.1), stand);
            }
            Activity::LateralBend => {
                let lat = self.r(1200, 3000);
                let side = Pose {
                    flex: self.r(300, 1000),
                    lat: self.rng.signed(lat),
                    height: self.r(-40, -10),
                };
                f.push(self.between(500, 1200), side);
                f.push(self.between(300, 1500), side);
                f.push(self.between(500, 1200), self.neutral());
            }
            Activity::LiftStoop | Activity::LiftSquat => {
                let low = if activity == Activity::LiftStoop {
                    Pose {
                        flex: self.r(5000, 8500),
                        lat: self.r(-300, 300),
                        height: self.r(-450, -300),
                    }
                } else {
                    Pose {
                        flex: self.r(800, 1600),
                        lat: self.r(-300, 300),
                        height: self.r(-600, -350),
                    }
                };
                f.push(self.between(800, 1500), low);
                // Half the lifts turn the trunk (bent, for a stoop) to set the load down
                // beside the worker; the others carry it away.
                let twist = self.rng.chance(500);
                let mut hold = self.between(500, 1500);
                if twist {
                    let burst = self.burst_at(plan.len(), TWIST_DEG, TWIST_MS, true);
                    hold = hold.max(burst.samples + self.samples(200));
                    plan.burst(burst);
                }
                let f = &mut plan.frames;
                f.push(hold, low);
                let carrying = self.neutral();
                f.push(self.between(800, 1500), carrying);
                if twist {
                    f.push(self.between(SETTLE_MS.0, SETTLE_MS.1), carrying);
                } else {
                    let pace = if self.rng.chance(500) {
                        Pace::SlowWalk
                    } else {
                        Pace::FastWalk
                    };
                    self.walk(&mut plan, pace, (3000, 10_000), false);
                }
            }
            Activity::Reach => {
                let up = Pose {
                    flex: self.r(-2000, -800),
                    lat: self.r(-300, 300),
                    height: self.r(30, 80),
                };
                f.push(self.between(600, 1200), up);
                f.push(self.between(1000, 4000), up);
                f.push(self.between(600, 1200), self.neutral());
            }
            Activity::StoopedWork => {
                let base = self.r(2500, 3800);
                let height = self.r(-120, -60);
                f.push(
                    self.between(1000, 2000),
                    Pose {
                        flex: base,
                        lat: 0,
                        height,
                    },
                );
                for _ in 0..3 {
                    let to = Pose {
                        flex: base + self.r(-300, 300),
                        lat: self.r(-300, 300),
                        height,
                    };
                    f.push(self.between(7000, 30_000), to);
                }
                f.push(self.between(1000, 2000), self.neutral());
            }
        }
        plan
    }
}

/// An activity's plan: key poses, trunk rotations and walking (from a sample of the activity).
#[derive(Default)]
struct Plan {
    frames: Frames,
    bursts: [Burst; MAX_BURSTS],
    burst_count: usize,
    gait: Option<(u32, Gait)>,
}

impl Plan {
    /// Samples planned so far.
    fn len(&self) -> u32 {
        self.frames
            .as_slice()
            .iter()
            .map(|frame| frame.samples)
            .sum()
    }

    /// Adds a rotation; false when the plan holds as many as it can (or truth rotations).
    fn burst(&mut self, burst: Burst) -> bool {
        let truths = self.bursts[..self.burst_count]
            .iter()
            .filter(|b| b.truth)
            .count();
        if self.burst_count == MAX_BURSTS || (burst.truth && truths == MAX_TRUTH_BURSTS) {
            return false;
        }
        self.bursts[self.burst_count] = burst;
        self.burst_count += 1;
        true
    }
}

/// Key poses under construction (at most `MAX_FRAMES`; the plans above stay well below).
#[derive(Default)]
struct Frames {
    out: [Keyframe; MAX_FRAMES],
    len: usize,
}

impl Frames {
    fn push(&mut self, samples: u32, to: Pose) {
        if let Some(slot) = self.out.get_mut(self.len) {
            *slot = Keyframe { samples, to };
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[Keyframe] {
        &self.out[..self.len]
    }
}

fn clamp_i16(value: i32) -> i16 {
    value.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::truth::GroundTruth;
    use crate::link::{Record, parse_segment};

    const START: i64 = 1_763_800_000_000;

    fn recorder() -> Recorder {
        Recorder {
            config: WearableConfig::default(),
            worker: WorkerTag::from_ascii("B-1001"),
            boot_count: 4,
            clock: DeviceClock::Wall { offset_ms: 0 },
            earlier_boot: false,
            battery_soc: 95,
        }
    }

    fn record(duration_ms: u64, seed: u64) -> RecordedShift {
        ShiftJob {
            shift: ShiftSpec::new(START, duration_ms),
            recorder: recorder(),
            seed,
            first_id: 1,
        }
        .record()
    }

    fn truth_of(shift: &RecordedShift) -> GroundTruth {
        let mut truth = GroundTruth::default();
        for segment in &shift.segments {
            truth.record(segment.truth.clone());
        }
        truth
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_different_ones() {
        let a = record(20 * MINUTE_MS, 7);
        let b = record(20 * MINUTE_MS, 7);
        let c = record(20 * MINUTE_MS, 8);
        let bytes = |shift: &RecordedShift| -> Vec<Vec<u8>> {
            shift
                .segments
                .iter()
                .map(|segment| segment.bytes.clone())
                .collect()
        };
        assert_eq!(bytes(&a), bytes(&b));
        assert_eq!(truth_of(&a), truth_of(&b));
        assert_ne!(bytes(&a), bytes(&c));
    }

    #[test]
    fn every_segment_parses_and_its_record_counts_match_the_truth() {
        let shift = record(3 * HOUR_MS + 17 * MINUTE_MS, 11);
        assert_eq!(shift.segments.len(), 4);
        for (i, segment) in shift.segments.iter().enumerate() {
            let parsed = parse_segment(&segment.bytes).unwrap();
            let truth = &segment.truth;
            assert_eq!(parsed.header.segment_id, 1 + i as u32);
            assert_eq!(parsed.header.boot_count, 4);
            assert!(parsed.header.clock_valid);
            assert_eq!(
                parsed.header.start_ms,
                (START + i as i64 * HOUR_MS as i64) as u64
            );
            assert_eq!(truth.first_wall_ms, Some(parsed.header.start_ms as i64));
            assert_eq!(
                (truth.size, truth.crc),
                (segment.bytes.len() as u32, crc32c(&segment.bytes))
            );
            assert!(
                matches!(parsed.records[0], Record::Worker { t: 0, tag } if tag == WorkerTag::from_ascii("B-1001"))
            );
            let (mut samples, mut alerts, mut diags) = (0, 0, 0);
            let mut last_t = 0;
            for record in &parsed.records {
                let t = record.t().unwrap();
                assert!(t >= last_t, "records are in time order");
                last_t = t;
                match record {
                    Record::Samples { samples: s, .. } => samples += s.len() as u64,
                    Record::Alert { .. } => alerts += 1,
                    Record::Diag { .. } => diags += 1,
                    _ => {}
                }
            }
            assert_eq!(
                (samples, alerts, diags),
                (truth.samples, truth.alerts, truth.diags)
            );
            assert_eq!(segment.last_ms, parsed.header.start_ms + u64::from(last_t));
            let zones: u64 = truth.movements.flexion_zone_samples.iter().sum();
            assert_eq!(zones, truth.samples);
        }
        let last = &shift.segments[3].truth;
        assert_eq!(last.samples, 17 * 60 * 25);
        assert_eq!(last.diags, 17);
    }

    #[test]
    fn a_twelve_hour_shift_has_twelve_hourly_segments_of_720_kb_of_samples_plus_their_alerts() {
        let shift = record(12 * HOUR_MS, 1);
        let truth = truth_of(&shift);
        assert_eq!(shift.segments.len(), 12);
        assert_eq!(truth.samples, 12 * 3600 * 25);
        assert_eq!(truth.diags, 12 * 60);
        for segment in &shift.segments {
            assert_eq!(segment.truth.samples, 90_000);
            // 90 000 samples × 8 bytes in 360 records, DIAGs and the header, plus 19 bytes per
            // alert: the twist alert fires at strides while walking, as on real gait.
            let alerts = segment.truth.alerts as usize * 19;
            assert!(
                (720_000..740_000).contains(&(segment.bytes.len() - alerts)),
                "{} with {alerts} bytes of alerts",
                segment.bytes.len()
            );
            assert!(alerts < 100_000, "{alerts} bytes of alerts");
        }
        let m = truth.movements;
        for count in [
            m.bends,
            m.deep_bends,
            m.twists,
            m.lateral_bends,
            m.lifts_stoop,
            m.lifts_squat,
            m.reaches,
        ] {
            assert!(count >= 12, "every movement happens at least hourly: {m:?}");
        }
        assert!(
            m.walking_ms > HOUR_MS && m.resting_ms > 30 * MINUTE_MS,
            "{m:?}"
        );
        assert!(m.flexion_zone_samples.iter().all(|&zone| zone > 0), "{m:?}");
    }

    #[test]
    fn alerts_follow_the_samples_and_show_realistic_responses() {
        let shift = record(8 * HOUR_MS, 5);
        let config = WearableConfig::default();
        let (mut corrected, mut uncorrected, mut without_haptic, mut fast) = (0, 0, 0, 0);
        let mut twists = 0;
        let mut kinds = std::collections::HashSet::new();
        for segment in &shift.segments {
            let parsed = parse_segment(&segment.bytes).unwrap();
            let flex_at = |t: u32| {
                parsed.records.iter().find_map(|record| match record {
                    Record::Samples { t: t0, samples } if (*t0..*t0 + 10_000).contains(&t) => {
                        samples.get(((t - t0) / 40) as usize).map(|s| s.flex)
                    }
                    _ => None,
                })
            };
            for record in &parsed.records {
                let Record::Alert {
                    t,
                    kind,
                    peak,
                    duration_ms,
                    response_ms,
                    haptic,
                } = *record
                else {
                    continue;
                };
                kinds.insert(kind.to_u8());
                without_haptic += u32::from(!haptic);
                if kind == AlertKind::Twist {
                    // Twist alerts fire at the strides of walking (the pelvis's axial velocity
                    // peaks above 60 °/s) and end within the stride: no posture to correct.
                    twists += 1;
                    assert!(peak.unsigned_abs() > config.twist_alert);
                    continue;
                }
                match response_ms {
                    Some(ms) => {
                        corrected += 1;
                        fast += u32::from((500..=3000).contains(&ms));
                        assert!(ms <= duration_ms);
                    }
                    None => uncorrected += 1,
                }
                if kind == AlertKind::Bend {
                    // The pulse fires after the posture was over the threshold for the hold time.
                    assert!(peak > config.bend_alert);
                    assert!(flex_at(t).unwrap() > config.bend_alert);
                    assert!(
                        flex_at(t - u32::from(config.bend_hold_ms)).unwrap() > config.bend_alert
                    );
                    assert!(duration_ms >= u32::from(config.bend_hold_ms));
                }
            }
        }
        assert_eq!(
            kinds.len(),
            4,
            "bend, twist, prolonged bend and overreach all occur"
        );
        assert!(uncorrected > 0 && without_haptic > 0);
        assert!(twists > corrected, "{twists} twist alerts, mostly strides");
        assert!(
            corrected > 10 * uncorrected,
            "{corrected} corrected, {uncorrected} not"
        );
        assert!(
            fast * 2 > corrected,
            "most corrections take 0.5..3 s: {fast} of {corrected}"
        );
    }

    #[test]
    fn thresholds_come_from_the_wearable_config() {
        let strict = ShiftJob {
            recorder: Recorder {
                config: WearableConfig {
                    bend_alert: 3000,
                    twist_alert: 300,
                    ..WearableConfig::default()
                },
                ..recorder()
            },
            ..ShiftJob {
                shift: ShiftSpec::new(START, HOUR_MS),
                recorder: recorder(),
                seed: 3,
                first_id: 1,
            }
        }
        .record();
        let relaxed = record(HOUR_MS, 3);
        assert!(truth_of(&strict).alerts > truth_of(&relaxed).alerts);
    }

    #[test]
    fn odd_rates_and_record_sizes_still_cover_the_shift_exactly() {
        let shift = ShiftJob {
            shift: ShiftSpec {
                rate_hz: 30,
                segment_ms: 10 * MINUTE_MS,
                samples_per_record: 7,
                ..ShiftSpec::new(START, 25 * MINUTE_MS)
            },
            recorder: recorder(),
            seed: 9,
            first_id: 40,
        }
        .record();
        assert_eq!(shift.segments.len(), 3);
        assert_eq!(truth_of(&shift).samples, 25 * 60 * 30);
        let parsed = parse_segment(&shift.segments[2].bytes).unwrap();
        assert_eq!((parsed.header.segment_id, parsed.header.rate_hz), (42, 30));
    }

    #[test]
    fn default_noise_is_what_the_generator_always_had() {
        assert_eq!(ShiftSpec::new(START, HOUR_MS).noise_centideg, 32);
        // (tri · 32) >> 8 == tri >> 3 and (tri · 32) >> 9 == tri >> 4 for every jitter value.
        for tri in -255..=255i32 {
            assert_eq!((tri * 32) >> 8, tri >> 3);
            assert_eq!((tri * 32) >> 9, tri >> 4);
        }
    }

    /// The samples of `event` (a truth event of `segment`) in a simulated shift at `rate`.
    fn span_of<'a>(
        samples: &'a [Sample],
        segment: &SegmentTruth,
        event: &TruthEvent,
        rate: u64,
    ) -> &'a [Sample] {
        let first = (segment.first_wall_ms.unwrap() - START) as u64;
        let k = |ms: u32| ((first + u64::from(ms)) * rate).div_ceil(1000) as usize;
        &samples[k(event.start_ms)..k(event.end_ms)]
    }

    #[test]
    fn truth_events_agree_with_the_movement_counts_of_their_segment() {
        let simulated = simulate(ShiftSpec::new(START, 3 * HOUR_MS), 21);
        assert_eq!(simulated.samples.len(), 3 * 3600 * 25);
        for segment in &simulated.truth.segments {
            let m = segment.movements;
            let count = |kind: TruthKind, min_peak: i32| {
                segment
                    .events
                    .iter()
                    .filter(|e| e.kind == kind && e.peak >= min_peak)
                    .count() as u64
            };
            assert_eq!(count(TruthKind::Flexion, 0), m.bends + m.deep_bends);
            assert_eq!(count(TruthKind::Twist, 3000), m.twists);
            assert_eq!(count(TruthKind::Lateral, 1000), m.lateral_bends);
            assert_eq!(count(TruthKind::Reach, 0), m.reaches);
            assert_eq!(count(TruthKind::LiftStoop, 0), m.lifts_stoop);
            assert_eq!(count(TruthKind::LiftSquat, 0), m.lifts_squat);
            for e in &segment.events {
                assert!(e.start_ms <= e.peak_ms && e.peak_ms < e.end_ms, "{e:?}");
                assert!(u64::from(e.end_ms) <= HOUR_MS, "{e:?}");
                match e.kind {
                    // Rises and drops are from the height the activity started at (standing
                    // work's ±15 mm, neutral's ±10 mm).
                    TruthKind::Reach => assert!(e.height_mm >= 15, "{e:?}"),
                    TruthKind::LiftStoop => {
                        assert!(e.flex_peak >= 5000 && e.peak >= 290, "{e:?}")
                    }
                    TruthKind::LiftSquat => {
                        assert!(e.flex_peak <= 1600 && e.peak >= 340, "{e:?}")
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn truth_peaks_are_the_clean_signal_under_the_sensor_noise() {
        for (noise, rate) in [(0u16, 12u16), (96, 50)] {
            let shift = ShiftSpec {
                rate_hz: rate,
                noise_centideg: noise,
                ..ShiftSpec::new(START, HOUR_MS)
            };
            let simulated = simulate(shift, 5);
            let mut checked = 0;
            for segment in &simulated.truth.segments {
                for e in &segment.events {
                    let span = span_of(&simulated.samples, segment, e, u64::from(rate));
                    let (value, slack): (fn(&Sample) -> i32, i32) = match e.kind {
                        TruthKind::Flexion => (|s| i32::from(s.flex), i32::from(noise)),
                        TruthKind::Lateral => (|s| i32::from(s.lat).abs(), i32::from(noise)),
                        TruthKind::Reach => (|s| -i32::from(s.flex), i32::from(noise)),
                        TruthKind::Twist => {
                            // The rotation angle, 0.01°: the sampled velocity summed over the
                            // span; noise adds up to ±noise/2 · 0.1 °/s per sample.
                            let turned: i32 = span.iter().map(|s| i32::from(s.twist)).sum();
                            let angle = (turned * 10 / i32::from(rate)).abs();
                            let slack = 20 + span.len() as i32 * i32::from(noise) / i32::from(rate);
                            assert!((angle - e.peak).abs() <= slack, "{e:?}: {angle}");
                            checked += 1;
                            continue;
                        }
                        _ => continue,
                    };
                    let seen = span.iter().map(value).max().unwrap();
                    assert!((seen - e.peak).abs() <= slack, "{e:?}: {seen}");
                    checked += 1;
                }
            }
            assert!(checked > 50, "{checked}");
        }
    }

    /// Counts excursions of `signal` that rise above `enter` after it was below `leave`, by
    /// whether their peak passes `split`.
    fn excursions(
        signal: impl Iterator<Item = i32>,
        leave: i32,
        enter: i32,
        split: i32,
    ) -> (u64, u64) {
        let (mut low, mut high) = (0, 0);
        let mut peak = None;
        for value in signal {
            match peak {
                None if value > enter => peak = Some(value),
                Some(p) if value < leave => {
                    if p > split {
                        high += 1
                    } else {
                        low += 1
                    }
                    peak = None;
                }
                Some(p) => peak = Some(p.max(value)),
                None => {}
            }
        }
        (low, high)
    }

    #[test]
    fn movement_counts_match_an_independent_count_of_excursions_in_the_samples() {
        let shift = record(6 * HOUR_MS, 21);
        let truth = truth_of(&shift);
        let samples: Vec<Sample> = shift
            .segments
            .iter()
            .flat_map(|segment| {
                let parsed = parse_segment(&segment.bytes).unwrap();
                let mut out = Vec::new();
                for record in parsed.records {
                    if let Record::Samples { samples, .. } = record {
                        out.extend(samples.iter());
                    }
                }
                out
            })
            .collect();
        let flex = samples.iter().map(|s| i32::from(s.flex));
        let (bends, deep) = excursions(flex, 1200, 2000, 6000);
        assert_eq!(
            (bends, deep),
            (truth.movements.bends, truth.movements.deep_bends)
        );
        // Twists are not excursions of the velocity any more (gait swings it past 100 °/s at
        // every stride): they are checked as rotation angles by
        // `truth_peaks_are_the_clean_signal_under_the_sensor_noise` and against the detector by
        // `analysis::movements::recall_tests`.
        let lat = samples.iter().map(|s| i32::from(s.lat).abs());
        assert_eq!(
            excursions(lat, 500, 1000, i32::MAX).0,
            truth.movements.lateral_bends
        );
    }
}
