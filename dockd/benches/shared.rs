//! What every benchmark shares: the fleet of shifts it pulls, the knobs it takes from the
//! environment, and the CPU time and peak memory it reads from /proc. It must never start or stop
//! a dock.

// Each bench uses a part of this module.
#![allow(dead_code)]

use dockd::clock::{Clock, SystemClock};
use dockd::emulator::{FleetSpec, HOUR_MS, ShiftSpec, Wearable};

/// `count` wearables each holding an `hours`-long 25 Hz shift ending now, generated in parallel.
pub fn fleet(count: usize, hours: u64, seed: u64) -> Vec<Wearable> {
    let spec = FleetSpec {
        count,
        base_seed: seed,
        shift: ShiftSpec::ending_at(SystemClock.now_ms(), hours * HOUR_MS),
        first_serial: 1,
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .map(|i| scope.spawn(move || Wearable::new(spec.wearable_spec(i))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("generate"))
            .collect()
    })
}

/// What the dock would make of `wearable`'s closed segments (as `dockd analyze` reads files).
pub fn recording(wearable: &Wearable) -> dockd::analysis::Recording {
    let files: Vec<(String, Vec<u8>)> = wearable
        .closed_segment_bytes()
        .map(|(id, bytes)| (format!("segment-{id}"), bytes.to_vec()))
        .collect();
    dockd::analyst::offline_recording(&files, SystemClock.now_ms())
        .expect("recording")
        .0
}

/// Segment bytes the fleet holds: what a pull moves.
pub fn segment_bytes(wearables: &[Wearable]) -> u64 {
    wearables
        .iter()
        .flat_map(|w| w.truth().segments.iter())
        .map(|s| u64::from(s.size))
        .sum()
}

pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident set size of a process, from /proc (kB → MB).
pub fn peak_rss_mb(pid: u32) -> f64 {
    status_mb(&pid.to_string(), "VmHWM:")
}

/// A memory figure of a process (`pid` or `self`) from /proc/<pid>/status, e.g. `VmRSS:` (kB → MB).
pub fn status_mb(pid: &str, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// CPU seconds (user + system) a process has used so far, from /proc.
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}
