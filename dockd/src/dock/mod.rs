//! The dock: turns transport dockings into slots and one pull task per docked wearable. It owns the
//! task tracker for pulls; it must never touch a wearable's bytes itself.

pub mod board;

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::pull::{PullContext, run_docking};
use crate::transport::{Docking, TransportKind};

/// Accepts dockings until `cancel` fires or every transport is gone, spawning one pull task each on
/// `pulls`, each in the slot `port_slots` gives its port (else the next free one). The caller waits on `pulls` to know every docking has wound down.
pub async fn run(
    ctx: PullContext,
    port_slots: BTreeMap<String, u32>,
    mut dockings: mpsc::Receiver<Docking>,
    pulls: TaskTracker,
    cancel: CancellationToken,
) {
    loop {
        let docking = tokio::select! {
            _ = cancel.cancelled() => break,
            docking = dockings.recv() => match docking {
                Some(docking) => docking,
                None => break,
            },
        };
        let wanted = port_slots.get(&docking.port).copied();
        let slot = ctx
            .board
            .claim_slot(docking.transport, wanted, ctx.clock.now_ms());
        match wanted {
            None if docking.transport == TransportKind::Usb => tracing::warn!(
                slot,
                port = %docking.port,
                "USB port has no [usb.slots] entry; the wearable is shown in the next free slot."
            ),
            Some(configured) if configured != slot => tracing::warn!(
                slot,
                configured,
                port = %docking.port,
                "The port's configured slot is still taken by an earlier docking; using another."
            ),
            _ => {}
        }
        tracing::info!(slot, port = %docking.port, transport = docking.transport.as_str(), "Docking accepted.");
        let ctx = ctx.clone();
        let cancel = cancel.child_token();
        pulls.spawn(async move {
            let board = Arc::clone(&ctx.board);
            // A panicking pull must not take the dock down: contain it and show it on its slot.
            let task = tokio::spawn(run_docking(ctx, docking, slot, cancel));
            if let Err(error) = task.await
                && error.is_panic()
            {
                tracing::error!(slot, "A pull task panicked; the slot was reset.");
                board.update(slot, |s| {
                    s.phase = board::Phase::Error;
                    s.problem = Some("Internal error while pulling. Re-seat the wearable; nothing was erased that was not stored.".into());
                });
            }
        });
    }
}
