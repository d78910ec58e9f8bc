//! STUB of part A's outbox (issue 14): only `Reader::upload_revisions` and `Revision`, so the
//! producers compile on this branch. It must be replaced by part A's module at merge (take
//! theirs); it must never be merged as is.

use std::collections::HashMap;

use super::{Reader, StoreError};

/// What was last queued under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub revision: u32,
    pub digest: String,
}

impl Reader {
    /// Stub: nothing was ever queued.
    pub fn upload_revisions(
        &self,
        keys: &[String],
    ) -> Result<HashMap<String, Revision>, StoreError> {
        let _ = keys;
        Ok(HashMap::new())
    }
}
