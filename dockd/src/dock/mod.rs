//! The dock: turns transport dockings into slots and one pull task per docked wearable. It owns the
//! task tracker for pulls; it must never touch a wearable's bytes itself.

pub mod board;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::pull::{PullContext, run_docking};
use crate::transport::Docking;

/// Accepts dockings until `cancel` fires or every transport is gone, spawning one pull task each on
/// `pulls`. The caller waits on `pulls` to know every docking has wound down.
pub async fn run(
    ctx: PullContext,
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
        let slot = ctx.board.claim_slot(docking.transport, ctx.clock.now_ms());
        tracing::debug!(slot, port = %docking.port, transport = docking.transport.as_str(), "Docking accepted.");
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
