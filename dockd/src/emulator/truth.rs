//! Ground truth of emulated wearables: what each generated segment holds and what the worker did
//! (counts, and every movement with its times), so tests can hold the dock's database and the
//! analysis against it. It only records; it must never influence what the wearable sends.

/// Movements and exposure of a stretch of shift, counted by the generator from the samples it
/// wrote. Every counted movement is one excursion from a near-neutral standing posture (flexion
/// below 12°, lateral bend below 5°, axial velocity below 20 °/s) and back, so an analysis that
/// splits the signal at those baselines finds exactly these episodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MovementCounts {
    /// Excursions whose peak flexion is in 20°..=60° (plain bends, stooped work, shallow stoop lifts).
    pub bends: u64,
    /// Excursions whose peak flexion is above 60° (ISO 11226 "awkward").
    pub deep_bends: u64,
    /// Trunk twists: rotations of the trunk in one direction by 30° or more (Hoogendoorn's and
    /// Soter's threshold), while standing or bent, never while walking. Gentle turns at work
    /// (5–20°) and turns while walking or to walk off are not twists.
    pub twists: u64,
    /// Sideways bends peaking at 10° or more (EN 1005-4 "clearly visible").
    pub lateral_bends: u64,
    /// Lifts bending at the back: flexion 50..85° with a 300..450 mm height drop.
    pub lifts_stoop: u64,
    /// Lifts bending at the knees: a 350..600 mm height drop with flexion 8..16°.
    pub lifts_squat: u64,
    /// Overhead reaches: trunk extension (negative flexion) with the wearer rising on the toes.
    pub reaches: u64,
    /// Time spent walking or jogging (gait, ramps included).
    pub walking_ms: u64,
    /// Time spent resting, seated (height about 450 mm below standing for minutes).
    pub resting_ms: u64,
    /// Samples per trunk-flexion zone (ISO 11226 / EN 1005-4), in raw 0.01° units:
    /// `[flex < 0, 0 <= flex < 2000, 2000 <= flex <= 6000, flex > 6000]`.
    pub flexion_zone_samples: [u64; 4],
}

impl MovementCounts {
    pub fn add(&mut self, other: &MovementCounts) {
        self.bends += other.bends;
        self.deep_bends += other.deep_bends;
        self.twists += other.twists;
        self.lateral_bends += other.lateral_bends;
        self.lifts_stoop += other.lifts_stoop;
        self.lifts_squat += other.lifts_squat;
        self.reaches += other.reaches;
        self.walking_ms += other.walking_ms;
        self.resting_ms += other.resting_ms;
        for (sum, zone) in self
            .flexion_zone_samples
            .iter_mut()
            .zip(other.flexion_zone_samples)
        {
            *sum += zone;
        }
    }
}

/// What the simulated worker did in one [`TruthEvent`]. Each kind is one excursion of the
/// *clean* signal (the generator's trajectory before sensor noise) beyond a floor well below any
/// detection threshold, so a scorer can classify it against its own thresholds by `peak`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TruthKind {
    /// Forward flexion at or above 20° (ISO 11226 zone boundary): a bend, a deep bend, stooped
    /// work or the bend of a stoop lift. The span is the time the clean flexion stayed ≥ 20°.
    Flexion,
    /// Sideways bend of 5° or more; the span is the time the clean |lateral bend| stayed ≥ 5°.
    Lateral,
    /// One rotation of the trunk at work (a twist, or a gentle turn of standing work): the span is
    /// the whole rotation, `peak` the angle it turned by (clean signal, the rotation alone). Turns
    /// while walking and to walk off are not truth events.
    Twist,
    /// Trunk extension (negative flexion) of an overhead reach; the span is the time the clean
    /// flexion stayed below 0°, `height_mm` the rise.
    Reach,
    /// A lift bending at the back (the generator's stoop lift: flexion 50..85°).
    LiftStoop,
    /// A lift bending at the knees (the generator's squat lift: flexion 8..16°).
    LiftSquat,
    /// A bout of walking or jogging: the span is the gait (its ramps included), `peak` the
    /// largest clean |axial velocity| in it.
    Walk,
}

/// One movement the generator wrote, with its times in ms since the segment's `t = 0` (as the
/// segment's records are timed; add the segment's `first_wall_ms` for wall time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TruthEvent {
    pub kind: TruthKind,
    /// First sample of the span (see [`TruthKind`]).
    pub start_ms: u32,
    /// The sample where the clean signal peaked (first of equal peaks).
    pub peak_ms: u32,
    /// Just after the last sample of the span (exclusive).
    pub end_ms: u32,
    /// Clean peak magnitude in the channel's raw units: 0.01° of flexion (`Flexion`), of
    /// |lateral bend| (`Lateral`), of extension (`Reach`, positive) or of rotation (`Twist`);
    /// 0.1 °/s of |axial velocity| (`Walk`); mm of height drop below the activity's starting
    /// height (lifts).
    pub peak: i32,
    /// Largest clean flexion during the span, 0.01° (what tells a stoop from a squat).
    pub flex_peak: i32,
    /// Clean height at the span's extreme relative to where the activity started, mm: the rise
    /// of a reach (positive), the drop of a lift (negative); for other kinds the height at `peak_ms`.
    pub height_mm: i32,
}

impl TruthEvent {
    /// How long the span lasted, ms.
    pub fn duration_ms(&self) -> u32 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

/// One segment as the wearable stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentTruth {
    pub id: u32,
    /// Size and CRC-32C of the bytes, exactly as LIST reports them.
    pub size: u32,
    pub crc: u32,
    pub boot_count: u32,
    pub samples: u64,
    pub alerts: u64,
    pub diags: u64,
    /// The true wall time of the segment's `t = 0`; `None` for a segment of an earlier boot,
    /// whose time no clock ever knew.
    pub first_wall_ms: Option<i64>,
    /// Whether the dock can place the segment in time: its header clock was valid, or it is of
    /// the wearable's current boot and the dock anchors it from the INFO it read at docking
    /// (before any SET_TIME made the device clock valid).
    pub known_time: bool,
    /// The segment's last record runs past its end: the dock must quarantine it, never erase it.
    pub corrupt: bool,
    pub movements: MovementCounts,
    /// Every movement the generator wrote in this segment, in the order they ended.
    pub events: Vec<TruthEvent>,
}

impl SegmentTruth {
    /// The segment's events with their wall times `[start, peak, end]`; none when the segment's
    /// time is unknown (`first_wall_ms` is `None`).
    pub fn events_at_wall(&self) -> impl Iterator<Item = (&TruthEvent, [i64; 3])> + '_ {
        let first = self.first_wall_ms;
        self.events.iter().filter_map(move |event| {
            let first = first?;
            let at = |ms: u32| first.saturating_add(i64::from(ms));
            Some((
                event,
                [at(event.start_ms), at(event.peak_ms), at(event.end_ms)],
            ))
        })
    }
}

/// Everything a wearable has recorded, in segment id order. Totals cover the segments the dock
/// can store (every segment not `corrupt`), including those already erased from the wearable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroundTruth {
    pub samples: u64,
    pub alerts: u64,
    pub diags: u64,
    pub segments: Vec<SegmentTruth>,
    pub movements: MovementCounts,
}

impl GroundTruth {
    pub(super) fn record(&mut self, segment: SegmentTruth) {
        if !segment.corrupt {
            self.samples += segment.samples;
            self.alerts += segment.alerts;
            self.diags += segment.diags;
            self.movements.add(&segment.movements);
        }
        self.segments.push(segment);
    }

    /// The truth of segment `id`.
    pub fn segment(&self, id: u32) -> Option<&SegmentTruth> {
        self.segments.iter().find(|segment| segment.id == id)
    }
}
