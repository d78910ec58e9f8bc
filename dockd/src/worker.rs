//! Worker identity as the wearables carry it: the badge tag. It is personal data, so this module
//! owns the one type that holds it and guarantees it never prints; it must never offer a way to
//! format the tag for logs, the console or the web.

use std::fmt;

/// A worker's badge tag as a wearable reports it (16 ASCII bytes, NUL-padded).
///
/// **Privacy invariant:** `Debug` and `Display` print a redacted form; the raw bytes are only
/// reachable through [`WorkerTag::as_bytes`], which the store uses to persist it on the dock.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerTag([u8; 16]);

impl WorkerTag {
    /// Wraps the raw 16 bytes of a tag. All-NUL means "unassigned": use [`WorkerTag::from_wire`].
    pub const fn new(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The tag from its wire form, or `None` when the bytes are all NUL (no worker assigned).
    pub fn from_wire(bytes: [u8; 16]) -> Option<Self> {
        if bytes.iter().all(|&b| b == 0) {
            None
        } else {
            Some(Self(bytes))
        }
    }

    /// A tag from a short ASCII badge id (at most 16 bytes), NUL-padded. Used by emulators and
    /// tests; `None` if the text is empty, too long or not ASCII.
    pub fn from_ascii(text: &str) -> Option<Self> {
        let raw = text.as_bytes();
        if raw.is_empty() || raw.len() > 16 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 16];
        bytes[..raw.len()].copy_from_slice(raw);
        Some(Self(bytes))
    }

    /// The raw wire bytes. Only storage and the wire codec may call this.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl WorkerTag {
    /// The badge text (trailing NULs dropped, other bytes shown as `?`). Only for outputs that
    /// stay with the dock's operator, such as `dockd analyze`; never for logs, pages or uploads.
    pub fn badge_text(&self) -> String {
        self.0
            .iter()
            .take_while(|&&b| b != 0)
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '?'
                }
            })
            .collect()
    }
}

/// The dock's secret key for worker pseudonyms: a keyed hash (HMAC-SHA256) of the badge tag, so a
/// worker is recognisable across shifts without the tag itself leaving the dock. Created once per
/// dock (`pseudonym.key` in the data folder, mode 0600) and never logged.
pub struct Pseudonyms {
    key: [u8; 32],
}

impl Pseudonyms {
    pub fn from_key(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// Loads the dock's key from `path`, creating it from the OS random source on first use.
    pub fn load_or_create(path: &std::path::Path) -> std::io::Result<Self> {
        if let Ok(bytes) = std::fs::read(path)
            && let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice())
        {
            return Ok(Self { key });
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
        let tmp = path.with_extension("key.tmp");
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            file.write_all(&key)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(Self { key })
    }

    /// The full keyed hash of a tag, hex: what leaves the dock in place of the tag.
    pub fn hash(&self, tag: &WorkerTag) -> String {
        use hmac::{KeyInit, Mac};
        let mut mac = match <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; this cannot happen.
            Err(_) => return String::new(),
        };
        mac.update(tag.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A short pseudonym for the page, e.g. `W-3F9A2C`.
    pub fn label(&self, tag: &WorkerTag) -> String {
        let hash = self.hash(tag);
        format!("W-{}", hash.get(..6).unwrap_or(&hash).to_uppercase())
    }
}

impl fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonyms(<key>)")
    }
}

impl fmt::Debug for WorkerTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WorkerTag(<redacted>)")
    }
}

impl fmt::Display for WorkerTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<worker>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_never_prints_its_bytes() {
        let tag = WorkerTag::from_ascii("B-1001").unwrap();
        assert!(!format!("{tag:?}").contains("1001"));
        assert!(!format!("{tag}").contains("1001"));
        assert!(!format!("{:?}", Some(tag)).contains("1001"));
    }

    #[test]
    fn an_all_nul_tag_on_the_wire_means_unassigned() {
        assert_eq!(WorkerTag::from_wire([0; 16]), None);
        assert_eq!(
            WorkerTag::from_ascii("B-1001").unwrap().badge_text(),
            "B-1001"
        );
        assert!(WorkerTag::from_wire(*WorkerTag::from_ascii("X").unwrap().as_bytes()).is_some());
    }

    #[test]
    fn pseudonyms_are_stable_per_key_and_differ_between_docks() {
        let tag = WorkerTag::from_ascii("B-1001").unwrap();
        let a = Pseudonyms::from_key([1; 32]);
        let b = Pseudonyms::from_key([2; 32]);
        assert_eq!(a.hash(&tag), Pseudonyms::from_key([1; 32]).hash(&tag));
        assert_ne!(a.hash(&tag), b.hash(&tag));
        assert_eq!(a.hash(&tag).len(), 64);
        assert!(a.label(&tag).starts_with("W-") && a.label(&tag).len() == 8);
        assert!(!a.label(&tag).contains("1001"));
        assert_eq!(format!("{a:?}"), "Pseudonyms(<key>)");
    }
}
