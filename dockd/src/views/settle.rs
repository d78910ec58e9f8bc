//! What the page's writes share in the daemon: the blocking work a change needs (SQLite reads,
//! password hashing) run on tokio's blocking pool while the change itself awaits the store's
//! writer, and the site settings put in force again after a change. It must never block a
//! runtime worker, and never log what a change carried (names, badge tags, passwords).

use std::sync::Arc;

use crate::site::SiteSettings;
use crate::store::Reader;

/// Runs `call` on the blocking pool; `None` if it panicked (logged without its message, which
/// could quote what the change carried).
pub(crate) async fn off_runtime<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    match tokio::task::spawn_blocking(call).await {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::error!(
                panicked = error.is_panic(),
                "A page change's blocking work did not return."
            );
            None
        }
    }
}

/// Reads the settings in force again after `what` changed them (tasks, teams, opt-outs, page
/// settings), on the blocking pool.
pub(crate) async fn reload_settings(site: &Arc<SiteSettings>, reader: &Reader, what: &str) {
    let (site, reader) = (Arc::clone(site), reader.clone());
    match off_runtime(move || site.reload(&reader)).await {
        Some(Ok(())) => {}
        Some(Err(error)) => {
            tracing::warn!(error = %error, after = what, "Could not reload the site settings after a change.");
        }
        None => {}
    }
}
