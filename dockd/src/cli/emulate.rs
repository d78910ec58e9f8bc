//! `dockd emulate`: emulated wearables, with optional faults, against a dock that is already
//! running. It must never take a shortcut around the link protocol.

use std::process::ExitCode;
use std::time::Duration;

use dockd::clock::{Clock, SystemClock};
use dockd::emulator::{
    BootSpec, Faults, Fleet, FleetPlan, FleetSpec, MINUTE_MS, Refill, ShiftSpec, Wearable,
};
use dockd::transport::LinkAddr;
use tokio_util::sync::CancellationToken;

use super::{cancel_on_signals, runtime};

#[derive(clap::Args)]
pub(super) struct EmulateArgs {
    /// The dock's emulator address: unix:/path/to.sock or tcp:127.0.0.1:PORT.
    #[arg(long)]
    connect: LinkAddr,
    #[arg(long, default_value_t = 1)]
    wearables: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Serial number of the first wearable (KW-000001, …).
    #[arg(long, default_value_t = 1)]
    first_serial: u32,
    /// Length of each shift, in minutes.
    #[arg(long, default_value_t = 480)]
    shift_minutes: u64,
    /// Length of each segment, in minutes.
    #[arg(long, default_value_t = 60)]
    segment_minutes: u64,
    /// Dock again this many seconds after each undocking, with a fresh shift, until Ctrl-C.
    #[arg(long, value_name = "SECONDS")]
    redock_after: Option<u64>,
    /// Fault: unplug after this many bytes of each docking.
    #[arg(long, value_name = "BYTES")]
    unplug_after: Option<u64>,
    /// Fault: flip one bit in every Nth response frame.
    #[arg(long, value_name = "N")]
    flip_every: Option<u32>,
    /// Fault: a slow link of this many bytes per second.
    #[arg(long, value_name = "N")]
    bytes_per_sec: Option<u64>,
    /// Fault: answer every request with ERROR of this code.
    #[arg(long, value_name = "CODE")]
    answer_error: Option<u16>,
    /// Fault: never answer.
    #[arg(long)]
    silent: bool,
    /// Fault: the battery ran flat; the clock is lost and two segments of an earlier boot remain.
    #[arg(long)]
    flat_battery: bool,
    /// Fault: one segment is corrupt (the dock must quarantine it and leave it on the wearable).
    #[arg(long)]
    corrupt_segment: bool,
}

/// `dockd emulate`: wearables (with optional faults) against a dock that is already running.
pub(super) fn emulate(args: EmulateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.wearables > 0, "--wearables must be at least 1");
    anyhow::ensure!(
        args.shift_minutes > 0 && args.segment_minutes > 0,
        "shift and segment lengths must be at least a minute"
    );
    runtime()?.block_on(async move {
        let cancel = CancellationToken::new();
        cancel_on_signals(cancel.clone())?;
        let spec = FleetSpec {
            count: args.wearables,
            base_seed: args.seed,
            shift: ShiftSpec {
                segment_ms: args.segment_minutes * MINUTE_MS,
                ..ShiftSpec::ending_at(SystemClock.now_ms(), args.shift_minutes * MINUTE_MS)
            },
            first_serial: args.first_serial,
        };
        let (flat, corrupt) = (args.flat_battery, args.corrupt_segment);
        let fleet = tokio::task::spawn_blocking(move || {
            Fleet::from_wearables(
                (0..spec.count)
                    .map(|i| {
                        let mut wearable = spec.wearable_spec(i);
                        wearable.corrupt_segment = corrupt;
                        if flat {
                            wearable.boot = BootSpec::FlatBattery {
                                boot_wall_ms: spec.shift.start_wall_ms - 10 * MINUTE_MS as i64,
                                earlier_boot_segments: 2,
                            };
                        }
                        Wearable::new(wearable)
                    })
                    .collect(),
            )
        })
        .await?;
        let plan = FleetPlan {
            faults: Faults {
                unplug_after_bytes: args.unplug_after,
                flip_bit_every: args.flip_every,
                bytes_per_sec: args.bytes_per_sec,
                answer_error: args.answer_error,
                silent: args.silent,
            },
            redock_after: args.redock_after.map(Duration::from_secs),
            stagger: Duration::ZERO,
            stay: Duration::ZERO,
            refill: Refill::EndingNow,
        };
        let runs = fleet.run(&args.connect, &plan, &cancel).await;
        let mut all_ok = true;
        for run in &runs {
            let truth = run.wearable.truth();
            let line = serde_json::json!({
                "serial": run.wearable.serial(),
                "dockings": run.dockings,
                "segments": truth.segments.len(),
                "erased": run.wearable.erased_ids().len(),
                "left_on_wearable": run.wearable.stored_segments().len(),
                "samples": truth.samples,
                "alerts": truth.alerts,
                "outcome": match &run.last { Ok(end) => format!("{end:?}"), Err(e) => e.to_string() },
            });
            all_ok &= run.last.is_ok();
            println!("{line}");
        }
        Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::from(2) })
    })
}
