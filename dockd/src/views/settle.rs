//! What the page's writes share in the daemon: the blocking work a change needs (SQLite reads,
//! password hashing) runs on tokio's blocking pool (`web_ui::blocking`) while the change itself
//! awaits the store's writer, and the site settings put in force again after a change. It must never block a
//! runtime worker, and never log what a change carried (names, badge tags, passwords).

use std::sync::Arc;

use crate::site::SiteSettings;
use crate::store::Reader;

/// Reads the settings in force again after `what` changed them (tasks, teams, opt-outs, page
/// settings), on the blocking pool.
pub(crate) async fn reload_settings(site: &Arc<SiteSettings>, reader: &Reader, what: &str) {
    let (site, reader) = (Arc::clone(site), reader.clone());
    match web_ui::blocking(move || site.reload(&reader)).await {
        Some(Ok(())) => {}
        Some(Err(error)) => {
            tracing::warn!(error = %error, after = what, "Could not reload the site settings after a change.");
        }
        None => {}
    }
}

/// A fresh store with its writer, a reader and the settings over them, for the tests of the
/// page views' changes.
#[cfg(test)]
pub(crate) struct TestStore {
    pub writer: crate::store::Writer,
    pub reader: Reader,
    pub site: Arc<SiteSettings>,
    thread: crate::store::WriterThread,
    dir: std::path::PathBuf,
}

#[cfg(test)]
impl TestStore {
    pub fn new(name: &str) -> Self {
        use crate::store::open_for_writing;
        let dir = std::env::temp_dir().join(format!("dockd-views-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("dockd.db");
        let (writer, thread) = crate::store::Writer::spawn(
            open_for_writing(&crate::store::Database::for_tests(&path)).unwrap(),
            open_for_writing(&crate::store::Database::for_tests(&path)).unwrap(),
        )
        .unwrap();
        let reader = Reader::open(&crate::store::Database::for_tests(&path)).unwrap();
        let settings = crate::analysis::Settings::default();
        let site = Arc::new(SiteSettings::load(settings, &reader).unwrap());
        Self {
            writer,
            reader,
            site,
            thread,
            dir,
        }
    }

    /// Waits for the writer to finish (every other handle on it must be dropped first).
    pub fn close(self) {
        drop(self.writer);
        self.thread.join();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
