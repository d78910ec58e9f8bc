//! Turns one parsed segment into the rows the store keeps: sample blocks, alerts, diagnostics and
//! events, each with its wall time (or none) and the worker it belongs to. Pure and synchronous; it
//! must never touch the database, the clock or the network — the pull task runs it off the runtime
//! and hands the result to the store's writer.

use crate::link::{DockingClock, Record, Segment, SegmentClock};
use crate::store::{
    AlertRow, BlockRow, DiagRow, EventKind, EventRow, NewSegment, SegmentKey, samples,
};
use crate::worker::WorkerTag;

/// A sample block holds at most this many seconds of samples (see `store::samples`).
const BLOCK_SECONDS: u32 = 60;

/// Why a segment that parsed cleanly still cannot be stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the segment header gives a sample rate of 0 Hz, so its samples have no times")]
    ZeroRate,
}

/// Consecutive samples being gathered into one block.
struct OpenBlock {
    worker: Option<WorkerTag>,
    anchor_epoch: u32,
    t_ms: u32,
    wall_ms: Option<i64>,
    wire: Vec<u8>,
    count: u32,
}

impl OpenBlock {
    /// Segment time right after the block's last sample.
    fn end_t(&self, rate_hz: u16) -> u64 {
        u64::from(self.t_ms) + u64::from(self.count) * 1000 / u64::from(rate_hz)
    }
}

/// Builds the rows for `segment`, identified by `key`, pulled during docking `docking_id`.
pub fn segment_rows(
    key: SegmentKey,
    docking_id: i64,
    segment: &Segment<'_>,
    docking: &DockingClock,
) -> Result<NewSegment, IngestError> {
    let header = segment.header;
    let rate = header.rate_hz;
    if rate == 0 {
        return Err(IngestError::ZeroRate);
    }
    let max_block = u32::from(rate) * BLOCK_SECONDS;
    let mut out = NewSegment {
        key,
        docking_id,
        boot_count: header.boot_count,
        start_ms: header.start_ms,
        clock_valid: header.clock_valid,
        rate_hz: rate,
        records: u32::try_from(segment.records.len()).unwrap_or(u32::MAX),
        ..NewSegment::default()
    };
    let mut clock = SegmentClock::new(&header, docking);
    // Bumped at every re-anchoring CLOCK: a block never straddles two anchors.
    let mut anchor_epoch = 0u32;
    let mut worker: Option<WorkerTag> = None;
    let mut open: Option<OpenBlock> = None;
    let mut wall_span = WallSpan::default();

    for record in &segment.records {
        if let Record::Clock { valid: true, .. } = record {
            anchor_epoch += 1;
        }
        clock.observe(record);
        // An unknown record's first bytes may not be a time at all (newer firmware): never place it.
        let timed = !matches!(record, Record::Unknown { .. });
        let wall = record.t().filter(|_| timed).and_then(|t| clock.wall_at(t));
        if timed && wall.is_none() && !matches!(record, Record::Samples { .. }) {
            out.unknown_time_records += 1;
        }
        match *record {
            Record::Samples { t, samples } => {
                let count = u32::try_from(samples.len()).unwrap_or(u32::MAX);
                if count == 0 {
                    continue;
                }
                out.samples += u64::from(count);
                let end = u64::from(t) + u64::from(count) * 1000 / u64::from(rate);
                match wall {
                    Some(start) => wall_span.add(start, start + (end - u64::from(t)) as i64),
                    None => {
                        out.unknown_time_samples += u64::from(count);
                        out.unknown_time_records += 1;
                    }
                }
                let joins = open.as_ref().is_some_and(|block| {
                    block.worker == worker
                        && block.anchor_epoch == anchor_epoch
                        && block.wall_ms.is_some() == wall.is_some()
                        && block.count + count <= max_block
                        && block.end_t(rate).abs_diff(u64::from(t)) <= 1
                });
                if !joins {
                    if let Some(block) = open.take() {
                        out.blocks.push(close_block(block, rate));
                    }
                    open = Some(OpenBlock {
                        worker,
                        anchor_epoch,
                        t_ms: t,
                        wall_ms: wall,
                        wire: Vec::with_capacity(max_block as usize * 8),
                        count: 0,
                    });
                }
                if let Some(block) = open.as_mut() {
                    block.wire.extend_from_slice(samples.raw());
                    block.count += count;
                }
            }
            Record::Alert {
                t,
                kind,
                peak,
                duration_ms,
                response_ms,
                haptic,
            } => out.alerts.push(AlertRow {
                worker,
                t_ms: t,
                wall_ms: wall,
                kind: kind.to_u8(),
                peak,
                duration_ms,
                response_ms,
                haptic,
            }),
            Record::Diag {
                t,
                batt_mv,
                temp_dc,
                soc,
                code,
            } => out.diags.push(DiagRow {
                t_ms: t,
                wall_ms: wall,
                batt_mv,
                temp_dc,
                soc,
                code,
            }),
            Record::Worker { t, tag } => {
                worker = tag;
                out.events
                    .push(event(EventKind::Worker, worker, Some(t), wall));
            }
            Record::Clock { t, wall_ms, valid } => out.events.push(EventRow {
                value: i64::try_from(wall_ms).ok(),
                flag: Some(valid),
                ..event(EventKind::Clock, worker, Some(t), wall)
            }),
            Record::Button { t, action } => out.events.push(EventRow {
                value: Some(i64::from(action)),
                ..event(EventKind::Button, worker, Some(t), wall)
            }),
            Record::Unknown { kind, t, body } => {
                // Data minimisation: a record this dock cannot read keeps its type, its length and
                // a count on the segment, never its bytes.
                out.unknown_records += 1;
                out.events.push(EventRow {
                    value: Some(i64::from(kind)),
                    body_len: Some(u32::try_from(body.len()).unwrap_or(u32::MAX)),
                    ..event(EventKind::Unknown, worker, t, wall)
                });
            }
        }
    }
    if let Some(block) = open.take() {
        out.blocks.push(close_block(block, rate));
    }
    out.first_wall_ms = wall_span.first;
    out.last_wall_ms = wall_span.last;
    Ok(out)
}

fn event(
    kind: EventKind,
    worker: Option<WorkerTag>,
    t: Option<u32>,
    wall: Option<i64>,
) -> EventRow {
    EventRow {
        kind,
        worker,
        t_ms: t,
        wall_ms: wall,
        value: None,
        flag: None,
        body_len: None,
    }
}

fn close_block(block: OpenBlock, rate_hz: u16) -> BlockRow {
    BlockRow {
        worker: block.worker,
        t_ms: block.t_ms,
        wall_ms: block.wall_ms,
        rate_hz,
        count: block.count,
        codec: samples::CODEC_PLANES,
        data: samples::encode(&block.wire),
    }
}

/// The earliest and latest known wall times of a segment's samples.
#[derive(Default)]
struct WallSpan {
    first: Option<i64>,
    last: Option<i64>,
}

impl WallSpan {
    fn add(&mut self, start: i64, end: i64) {
        self.first = Some(self.first.map_or(start, |f| f.min(start)));
        self.last = Some(self.last.map_or(end, |l| l.max(end)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::parse_segment;
    use crate::link::testing::vector_bytes as vector;
    use crate::store::samples;

    fn key() -> SegmentKey {
        SegmentKey {
            serial: "KW-000123".into(),
            segment_no: 7,
            size: 170,
            crc: 2401949521,
        }
    }

    const DOCKED: DockingClock = DockingClock {
        boot_count: 42,
        device_ms: 1763800123456,
        clock_valid: true,
        dock_wall_ms: 1763800123456,
    };

    #[test]
    fn the_small_vector_becomes_two_blocks_split_at_the_re_anchoring_clock() {
        let bytes = vector("segment-small.bin");
        let segment = parse_segment(&bytes).unwrap();
        let rows = segment_rows(key(), 1, &segment, &DOCKED).unwrap();
        assert_eq!(rows.samples, 4);
        assert_eq!(rows.blocks.len(), 2);
        assert_eq!(rows.blocks[0].wall_ms, Some(1763800000000));
        assert_eq!(rows.blocks[0].count, 3);
        assert_eq!(rows.blocks[1].wall_ms, Some(1763803600000));
        let first = samples::decode(rows.blocks[0].codec, &rows.blocks[0].data, 3).unwrap();
        assert_eq!(first[1], [4620, 80, -350, -210]);
        let tag = crate::worker::WorkerTag::from_ascii("B-1001");
        assert!(rows.blocks.iter().all(|b| b.worker == tag));
        assert_eq!(rows.alerts.len(), 1);
        assert_eq!(rows.alerts[0].wall_ms, Some(1763800000080));
        assert_eq!(rows.alerts[0].response_ms, Some(950));
        assert_eq!(rows.diags[0].temp_dc, 287);
        assert_eq!(rows.unknown_records, 1);
        let unknown = rows
            .events
            .iter()
            .find(|e| e.kind == EventKind::Unknown)
            .unwrap();
        assert_eq!(unknown.value, Some(0x42));
        let body = segment
            .records
            .iter()
            .find_map(|r| match r {
                Record::Unknown { body, .. } => Some(body.len()),
                _ => None,
            })
            .unwrap();
        assert!(body > 0);
        assert_eq!(
            unknown.body_len,
            Some(body as u32),
            "its length, not its bytes"
        );
        assert_eq!(rows.unknown_time_samples, 0);
        assert_eq!(rows.first_wall_ms, Some(1763800000000));
    }

    #[test]
    fn a_flat_battery_segment_of_the_current_boot_is_placed_from_the_docking_info() {
        let bytes = vector("segment-noclock.bin");
        let segment = parse_segment(&bytes).unwrap();
        let docked = DockingClock {
            boot_count: 43,
            device_ms: 3605000,
            clock_valid: false,
            dock_wall_ms: 1763900000000,
        };
        let rows = segment_rows(key(), 1, &segment, &docked).unwrap();
        assert_eq!(rows.blocks[0].wall_ms, Some(1763896400000));
        assert_eq!(rows.unknown_time_samples, 0);
        assert_eq!(rows.first_wall_ms, Some(1763896400000));
    }

    #[test]
    fn a_flat_battery_segment_of_an_earlier_boot_is_kept_with_unknown_time() {
        let bytes = vector("segment-noclock.bin");
        let segment = parse_segment(&bytes).unwrap();
        let docked = DockingClock {
            boot_count: 44,
            device_ms: 3605000,
            clock_valid: false,
            dock_wall_ms: 1763900000000,
        };
        let rows = segment_rows(key(), 1, &segment, &docked).unwrap();
        assert!(rows.samples > 0);
        assert_eq!(rows.unknown_time_samples, rows.samples);
        assert!(rows.blocks.iter().all(|b| b.wall_ms.is_none()));
        assert!(rows.unknown_time_records > 0);
        assert_eq!(rows.first_wall_ms, None);
    }

    #[test]
    fn contiguous_sample_records_merge_into_blocks_of_at_most_a_minute() {
        use crate::link::{Sample, SegmentHeader, SegmentWriter};
        let mut writer = SegmentWriter::new(SegmentHeader {
            format: 1,
            rate_hz: 25,
            segment_id: 1,
            boot_count: 1,
            start_ms: 1763800000000,
            clock_valid: true,
        });
        let record = vec![
            Sample {
                flex: 100,
                lat: 0,
                twist: 0,
                height: 0
            };
            250
        ];
        for i in 0..12u32 {
            writer.samples(i * 10_000, &record); // 12 × 10 s, back to back
        }
        let bytes = writer.finish();
        let rows = segment_rows(key(), 1, &parse_segment(&bytes).unwrap(), &DOCKED).unwrap();
        assert_eq!(
            rows.blocks.iter().map(|b| b.count).collect::<Vec<_>>(),
            [1500, 1500]
        );
        assert_eq!(rows.blocks[1].wall_ms, Some(1763800060000));
        assert_eq!(rows.last_wall_ms, Some(1763800120000));
    }
}
