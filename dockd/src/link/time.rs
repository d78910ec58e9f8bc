//! Record wall time (protocol.md §4): which anchor places a record on the calendar. It owns the
//! anchoring rules; it must never read a clock (the dock's time at docking is passed in) nor
//! give a time it cannot justify: an unknown time is `None`, never a guess on a wrong day.

use super::message::Info;
use super::segment::{Record, SegmentHeader};

/// 2020-01-01T00:00:00Z. No wearable log is older: an earlier result means a clock that was
/// counting from power-up, not from 1970.
pub const PLAUSIBLE_FROM_MS: i64 = 1_577_836_800_000;
/// How far past the dock's own clock a record may lie before it is implausible (dock and
/// wearable clocks may disagree a little; a day more is a broken anchor).
pub const FUTURE_SLACK_MS: i64 = 86_400_000;

/// What the dock learnt at docking: the wearable's clock from INFO and the dock's wall clock
/// when INFO arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DockingClock {
    pub boot_count: u32,
    pub device_ms: u64,
    pub clock_valid: bool,
    pub dock_wall_ms: i64,
}

impl DockingClock {
    /// From the INFO read at docking and the dock's wall time when it arrived.
    pub fn from_info(info: &Info, dock_wall_ms: i64) -> Self {
        Self {
            boot_count: info.boot_count,
            device_ms: info.device_ms,
            clock_valid: info.clock_valid,
            dock_wall_ms,
        }
    }
}

/// A known pair of monotonic segment time `t` and wall time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub t: u32,
    pub wall_ms: i64,
}

impl Anchor {
    /// Wall time at `t`, extrapolated from this anchor (the segment clock never jumps).
    pub fn wall_at(&self, t: u32) -> i64 {
        self.wall_ms
            .saturating_add(i64::from(t) - i64::from(self.t))
    }
}

/// Walks a segment's records in order and gives each its wall time.
///
/// Call [`observe`](Self::observe) on every record in order, then [`wall_at`](Self::wall_at)
/// with its `t`: a CLOCK record then takes its own time.
#[derive(Debug, Clone)]
pub struct SegmentClock {
    anchor: Option<Anchor>,
    /// Latest plausible wall time: the dock's clock at docking plus slack.
    latest_ms: i64,
}

impl SegmentClock {
    /// The segment's starting anchor: its header if the clock was valid when it was opened;
    /// otherwise, for a segment of the wearable's current boot docked with the clock still
    /// invalid, the INFO read at docking (both clocks then count from the same power-up:
    /// `wall(t) = dock_wall - (device_ms - (start_ms + t))`); otherwise none.
    pub fn new(header: &SegmentHeader, docking: &DockingClock) -> Self {
        let anchor = if header.clock_valid {
            i64::try_from(header.start_ms)
                .ok()
                .map(|wall_ms| Anchor { t: 0, wall_ms })
        } else if header.boot_count == docking.boot_count && !docking.clock_valid {
            let wall = i128::from(docking.dock_wall_ms) - i128::from(docking.device_ms)
                + i128::from(header.start_ms);
            i64::try_from(wall)
                .ok()
                .map(|wall_ms| Anchor { t: 0, wall_ms })
        } else {
            None
        };
        Self {
            anchor,
            latest_ms: docking.dock_wall_ms.saturating_add(FUTURE_SLACK_MS),
        }
    }

    /// Takes a record into account: a CLOCK with `valid = 1` becomes the anchor from its `t` on.
    /// A lost clock (`valid = 0`) changes nothing: `t` keeps counting, so the last anchor holds.
    pub fn observe(&mut self, record: &Record<'_>) {
        if let Record::Clock {
            t,
            wall_ms,
            valid: true,
        } = *record
        {
            // A wall time beyond i64 is garbage; nothing after it can be placed.
            self.anchor = i64::try_from(wall_ms)
                .ok()
                .map(|wall_ms| Anchor { t, wall_ms });
        }
    }

    /// Wall time of segment time `t`, or `None` when unknown: no anchor, `t` before the anchor
    /// (the earlier time base is gone), or a result before 2020 or more than a day after the
    /// dock's clock at docking.
    pub fn wall_at(&self, t: u32) -> Option<i64> {
        let anchor = self.anchor.filter(|anchor| t >= anchor.t)?;
        let wall = anchor.wall_at(t);
        (PLAUSIBLE_FROM_MS..=self.latest_ms)
            .contains(&wall)
            .then_some(wall)
    }

    pub fn anchor(&self) -> Option<Anchor> {
        self.anchor
    }
}

#[cfg(test)]
mod tests {
    use super::super::message::Response;
    use super::super::segment::parse_segment;
    use super::super::testing;
    use super::*;

    const DOCKED_AT: i64 = 1_763_900_000_000;

    fn valid_clock() -> DockingClock {
        DockingClock {
            boot_count: 42,
            device_ms: 1_763_899_999_000,
            clock_valid: true,
            dock_wall_ms: DOCKED_AT,
        }
    }

    #[test]
    fn segment_small_wall_times_match_the_vector_including_the_reanchoring_clock() {
        let bytes = testing::vector_bytes("segment-small.bin");
        let json = testing::vector_json("segment-small.json");
        let segment = parse_segment(&bytes).unwrap();
        let mut clock = SegmentClock::new(&segment.header, &valid_clock());
        let mut checked = 0;
        for (record, want) in segment
            .records
            .iter()
            .zip(json["records"].as_array().unwrap())
        {
            clock.observe(record);
            let wall = record.t().and_then(|t| clock.wall_at(t));
            if let Some(want_wall) = want["wall_ms"].as_i64() {
                assert_eq!(wall, Some(want_wall), "{want}");
                checked += 1;
            }
            if let Some(set) = want["wall_ms_set"].as_i64() {
                assert_eq!(wall, Some(set), "a CLOCK record takes its own time");
                assert_eq!(
                    clock.anchor(),
                    Some(Anchor {
                        t: 2000,
                        wall_ms: set
                    })
                );
            }
        }
        assert_eq!(checked, 6);
    }

    #[test]
    fn segment_noclock_is_anchored_from_info_of_the_same_boot() {
        let bytes = testing::vector_bytes("segment-noclock.bin");
        let json = testing::vector_json("segment-noclock.json");
        let segment = parse_segment(&bytes).unwrap();
        let info = &json["if_info"];
        let docking = DockingClock {
            boot_count: u32::try_from(info["boot_count"].as_u64().unwrap()).unwrap(),
            device_ms: info["device_ms"].as_u64().unwrap(),
            clock_valid: false,
            dock_wall_ms: info["read_at_dock_wall_ms"].as_i64().unwrap(),
        };
        let mut clock = SegmentClock::new(&segment.header, &docking);
        let then = &json["then_wall_ms"];
        assert_eq!(clock.wall_at(0), then["t=0"].as_i64());
        assert_eq!(clock.wall_at(60_000), then["t=60000"].as_i64());
        for record in &segment.records {
            clock.observe(record);
            assert!(clock.wall_at(record.t().unwrap()).is_some(), "{record:?}");
        }
    }

    #[test]
    fn segment_noclock_from_another_boot_has_unknown_time_for_every_record() {
        let bytes = testing::vector_bytes("segment-noclock.bin");
        let segment = parse_segment(&bytes).unwrap();
        let docking = DockingClock {
            boot_count: 44,
            device_ms: 3_605_000,
            clock_valid: false,
            dock_wall_ms: DOCKED_AT,
        };
        let mut clock = SegmentClock::new(&segment.header, &docking);
        for record in &segment.records {
            clock.observe(record);
            assert_eq!(clock.wall_at(record.t().unwrap()), None);
        }
        assert_eq!(clock.anchor(), None);
    }

    #[test]
    fn an_invalid_clock_segment_of_the_current_boot_is_unknown_once_the_clock_was_set() {
        let header = SegmentHeader {
            format: 1,
            rate_hz: 25,
            segment_id: 1,
            boot_count: 42,
            start_ms: 5000,
            clock_valid: false,
        };
        let clock = SegmentClock::new(&header, &valid_clock());
        assert_eq!(clock.wall_at(0), None);
    }

    #[test]
    fn a_valid_clock_record_anchors_an_unanchored_segment_from_its_t_on() {
        let header = SegmentHeader {
            format: 1,
            rate_hz: 25,
            segment_id: 1,
            boot_count: 7,
            start_ms: 5000,
            clock_valid: false,
        };
        let mut clock = SegmentClock::new(&header, &valid_clock());
        let set = 1_763_800_000_000;
        clock.observe(&Record::Clock {
            t: 1000,
            wall_ms: set as u64,
            valid: true,
        });
        assert_eq!(clock.wall_at(999), None);
        assert_eq!(clock.wall_at(1000), Some(set));
        assert_eq!(clock.wall_at(1500), Some(set + 500));
    }

    #[test]
    fn a_lost_clock_record_keeps_the_previous_anchor() {
        let header = SegmentHeader {
            format: 1,
            rate_hz: 25,
            segment_id: 1,
            boot_count: 7,
            start_ms: 1_763_800_000_000,
            clock_valid: true,
        };
        let mut clock = SegmentClock::new(&header, &valid_clock());
        clock.observe(&Record::Clock {
            t: 10,
            wall_ms: 0,
            valid: false,
        });
        assert_eq!(clock.wall_at(20), Some(1_763_800_000_020));
    }

    #[test]
    fn implausible_times_are_unknown_never_a_wrong_day() {
        let before_2020 = SegmentHeader {
            format: 1,
            rate_hz: 25,
            segment_id: 1,
            boot_count: 7,
            start_ms: 978_307_200_000,
            clock_valid: true,
        };
        assert_eq!(
            SegmentClock::new(&before_2020, &valid_clock()).wall_at(0),
            None
        );

        let future = SegmentHeader {
            start_ms: (DOCKED_AT + FUTURE_SLACK_MS + 1) as u64,
            ..before_2020
        };
        assert_eq!(SegmentClock::new(&future, &valid_clock()).wall_at(0), None);
        let tomorrow = SegmentHeader {
            start_ms: (DOCKED_AT + FUTURE_SLACK_MS) as u64,
            ..before_2020
        };
        assert!(
            SegmentClock::new(&tomorrow, &valid_clock())
                .wall_at(0)
                .is_some()
        );

        let huge = SegmentHeader {
            start_ms: u64::MAX,
            ..before_2020
        };
        assert_eq!(SegmentClock::new(&huge, &valid_clock()).wall_at(0), None);
    }

    #[test]
    fn a_current_boot_anchor_with_a_nonsense_device_clock_is_unknown() {
        let header = SegmentHeader {
            format: 1,
            rate_hz: 25,
            segment_id: 1,
            boot_count: 42,
            start_ms: 0,
            clock_valid: false,
        };
        let docking = DockingClock {
            boot_count: 42,
            device_ms: u64::MAX,
            clock_valid: false,
            dock_wall_ms: DOCKED_AT,
        };
        assert_eq!(SegmentClock::new(&header, &docking).wall_at(0), None);
    }

    #[test]
    fn docking_clock_comes_from_info() {
        let (kind, payload) = {
            let json = testing::vector_json("frames.json");
            let case = json["frames"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "info")
                .unwrap()
                .clone();
            (0x81, testing::hex(case["payload"].as_str().unwrap()))
        };
        let Response::Info(info) = Response::decode(kind, &payload).unwrap() else {
            panic!("not INFO");
        };
        let docking = DockingClock::from_info(&info, DOCKED_AT);
        assert_eq!(
            docking,
            DockingClock {
                boot_count: 42,
                device_ms: 1_763_800_123_456,
                clock_valid: true,
                dock_wall_ms: DOCKED_AT
            }
        );
    }
}
