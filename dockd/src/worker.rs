//! Worker identity as the wearables carry it: the badge tag, and the pseudonym key (a site's or
//! this dock's) that stands for it outside the roster. The tag is personal data, so this module
//! owns the one type that holds it and guarantees it never prints; it must never offer a way to
//! format the tag for logs, the console or the web, nor print, log or store the key.

use std::fmt;
use std::path::{Path, PathBuf};

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

/// Where the pseudonym key comes from: `site` (`[privacy] site_key_file`, the same file on every
/// dock of the site) or `dock` (`pseudonym.key` in the data folder, made by this dock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Site,
    Dock,
}

impl KeySource {
    /// `site` or `dock`, as `dockd status --json`, the page and uploads name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Site => "site",
            Self::Dock => "dock",
        }
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A worker's site pseudonym: the full HMAC-SHA256 of the badge tag's 16 stored bytes under the
/// pseudonym key, 64 lowercase hex characters. What uploads carry in place of the tag (never the
/// page's short `W-…` label, whose 24 bits collide beyond a few thousand workers).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SitePseudonym(String);

impl SitePseudonym {
    /// The 64 lowercase hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SitePseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why the pseudonym key could not be used. Messages name the file and what is wrong with it,
/// never the key's bytes.
#[derive(Debug, thiserror::Error)]
pub enum PseudonymKeyError {
    #[error("cannot read the site key file {path} ([privacy] site_key_file): {source}")]
    SiteRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the site key file {path} ([privacy] site_key_file) {problem}: it must hold 32 random bytes as exactly 64 hex characters (make one with `openssl rand -hex 32`)"
    )]
    SiteMalformed { path: PathBuf, problem: String },
    #[error("cannot read the dock's pseudonym key {path}: {source}")]
    DockRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the dock's pseudonym key {path} has {len} bytes, not 32: it is left as it is, since a new key would change every worker's pseudonym; restore it from a backup, or move it away to start with a new key"
    )]
    DockMalformed { path: PathBuf, len: usize },
    #[error("cannot create the dock's pseudonym key {path}: {source}")]
    DockCreate {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The key for worker pseudonyms: a keyed hash (HMAC-SHA256) of the badge tag, so a worker is
/// recognisable across shifts — and, with a site key, across the docks of a site — without the
/// tag itself leaving the dock. The key is never logged, printed or stored outside its file.
pub struct Pseudonyms {
    key: [u8; 32],
    source: KeySource,
}

impl Pseudonyms {
    /// Pseudonyms under a dock key given as bytes (tests, the demo).
    pub fn from_key(key: [u8; 32]) -> Self {
        Self::with_source(key, KeySource::Dock)
    }

    fn with_source(key: [u8; 32], source: KeySource) -> Self {
        Self { key, source }
    }

    /// The key in force: the site key file when `[privacy] site_key_file` names one, else the
    /// dock's own `pseudonym.key` in `data_dir`.
    pub fn load(site_key_file: Option<&Path>, data_dir: &Path) -> Result<Self, PseudonymKeyError> {
        match site_key_file {
            Some(path) => Self::load_site(path),
            None => Self::load_or_create(&data_dir.join(DOCK_KEY_FILE)),
        }
    }

    /// Reads a site key file: 64 hex characters (either case), whitespace at the end tolerated.
    /// Anything else is an error; the file is never replaced.
    pub fn load_site(path: &Path) -> Result<Self, PseudonymKeyError> {
        let text = std::fs::read(path).map_err(|source| PseudonymKeyError::SiteRead {
            path: path.to_owned(),
            source,
        })?;
        let key = crate::store::key::parse_hex_key(&text).map_err(|problem| {
            PseudonymKeyError::SiteMalformed {
                path: path.to_owned(),
                problem,
            }
        })?;
        Ok(Self::with_source(key, KeySource::Site))
    }

    /// Loads the dock's key from `path` (exactly 32 raw bytes), creating it from the OS random
    /// source only when the file does not exist. A file of another length is an error: replacing
    /// it would change every worker's pseudonym.
    pub fn load_or_create(path: &Path) -> Result<Self, PseudonymKeyError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let key = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                    PseudonymKeyError::DockMalformed {
                        path: path.to_owned(),
                        len: bytes.len(),
                    }
                })?;
                Ok(Self::with_source(key, KeySource::Dock))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::create_dock_key(path).map_err(|source| {
                    PseudonymKeyError::DockCreate {
                        path: path.to_owned(),
                        source,
                    }
                })?;
                Ok(Self::with_source(key, KeySource::Dock))
            }
            Err(source) => Err(PseudonymKeyError::DockRead {
                path: path.to_owned(),
                source,
            }),
        }
    }

    fn create_dock_key(path: &Path) -> std::io::Result<[u8; 32]> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
        let tmp = path.with_extension("key.tmp");
        {
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
        Ok(key)
    }

    /// Which key is in use.
    pub fn source(&self) -> KeySource {
        self.source
    }

    /// The key's public identifier: the first 16 hex characters (64 bits) of
    /// SHA-256(`"dockd key id"` ‖ the 32 key bytes). A one-way, domain-separated hash of a
    /// 256-bit random key: it names the key in status, audit lines and uploads without allowing
    /// the key (or any pseudonym) to be recovered, and 64 bits keep ids distinct across a fleet.
    pub fn key_id(&self) -> String {
        use sha2::Digest;
        let mut digest = sha2::Sha256::new();
        digest.update(KEY_ID_CONTEXT);
        digest.update(self.key);
        let mut id = hex::encode(digest.finalize());
        id.truncate(16);
        id
    }

    /// The worker's site pseudonym: HMAC-SHA256(key = the 32 key bytes, message = the tag's 16
    /// stored bytes, NUL padding included), lowercase hex.
    pub fn site_pseudonym(&self, tag: &WorkerTag) -> SitePseudonym {
        use hmac::{KeyInit, Mac};
        let mut mac = match <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; this cannot happen.
            Err(_) => return SitePseudonym(String::new()),
        };
        mac.update(tag.as_bytes());
        SitePseudonym(hex::encode(mac.finalize().into_bytes()))
    }

    /// The site pseudonym as a `String` (see [`Pseudonyms::site_pseudonym`]).
    pub fn hash(&self, tag: &WorkerTag) -> String {
        self.site_pseudonym(tag).0
    }

    /// A short pseudonym for the page, e.g. `W-3F9A2C`: the site pseudonym's first 6 characters.
    pub fn label(&self, tag: &WorkerTag) -> String {
        let hash = self.hash(tag);
        format!("W-{}", hash.get(..6).unwrap_or(&hash).to_uppercase())
    }
}

/// The dock's own key in the data folder (32 raw bytes, 0600), used without a site key.
pub const DOCK_KEY_FILE: &str = "pseudonym.key";
/// What the key id hashes before the key, so it is never a hash of the key alone.
const KEY_ID_CONTEXT: &[u8] = b"dockd key id";

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

    /// A fresh folder for one test, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("dockd-key-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// The README's worked example ("Pseudonyms"): the same figures `openssl dgst` gives.
    const EXAMPLE_KEY_HEX: &str =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn example_key() -> [u8; 32] {
        let mut key = [0u8; 32];
        hex::decode_to_slice(EXAMPLE_KEY_HEX, &mut key).unwrap();
        key
    }

    #[test]
    fn the_readmes_worked_example_gives_the_documented_pseudonym_and_key_id() {
        let pseudonyms = Pseudonyms::from_key(example_key());
        let tag = WorkerTag::from_ascii("B-1001").unwrap();
        let pseudonym = pseudonyms.site_pseudonym(&tag);
        assert_eq!(
            pseudonym.as_str(),
            "58767df3ec77bf4e62d7ade767d18e2959946168448c57f169f32a84da348e37"
        );
        assert_eq!(pseudonyms.label(&tag), "W-58767D");
        assert_eq!(pseudonyms.key_id(), "30870ae091a5b9f9");
    }

    #[test]
    fn two_docks_with_the_same_site_key_file_give_a_badge_the_same_pseudonym() {
        let dir = TempDir::new();
        let site_key = dir.path().join("site.key");
        std::fs::write(&site_key, format!("{}\n", EXAMPLE_KEY_HEX.to_uppercase())).unwrap();
        let (dock_a, dock_b) = (dir.path().join("a"), dir.path().join("b"));
        let a = Pseudonyms::load(Some(&site_key), &dock_a).unwrap();
        let b = Pseudonyms::load(Some(&site_key), &dock_b).unwrap();
        let tag = WorkerTag::from_ascii("B-1001").unwrap();
        assert_eq!(a.site_pseudonym(&tag), b.site_pseudonym(&tag));
        assert_eq!(
            a.site_pseudonym(&tag),
            Pseudonyms::from_key(example_key()).site_pseudonym(&tag)
        );
        assert_eq!((a.source(), b.source()), (KeySource::Site, KeySource::Site));
        assert_eq!(a.key_id(), b.key_id());
        // With a site key no dock makes a key of its own.
        assert!(!dock_a.join(DOCK_KEY_FILE).exists());
    }

    #[test]
    fn a_malformed_site_key_file_is_an_error_naming_the_file_never_the_key() {
        let dir = TempDir::new();
        let path = dir.path().join("site.key");
        let secret = &EXAMPLE_KEY_HEX[..62];
        for (text, problem) in [
            (format!("{secret}\n"), "has 62 hex characters, not 64"),
            (format!("{secret}zz\n"), "not a hex digit at position 63"),
            (
                format!(" {EXAMPLE_KEY_HEX}"),
                "not a hex digit at position 1",
            ),
            (format!("{EXAMPLE_KEY_HEX}00"), "has 66 hex characters"),
            (String::new(), "has 0 hex characters"),
        ] {
            std::fs::write(&path, &text).unwrap();
            let err = Pseudonyms::load(Some(&path), dir.path())
                .unwrap_err()
                .to_string();
            assert!(err.contains(path.to_str().unwrap()), "{err}");
            assert!(err.contains(problem), "{err}");
            assert!(!err.contains(&secret[..16]), "{err}");
            // The file is left as it was.
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
        let missing = dir.path().join("absent.key");
        let err = Pseudonyms::load(Some(&missing), dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot read the site key file") && err.contains("absent.key"),
            "{err}"
        );
        assert!(!missing.exists() && !dir.path().join(DOCK_KEY_FILE).exists());
        // Whitespace at the end, either case: accepted.
        std::fs::write(&path, format!("{}\r\n\t ", EXAMPLE_KEY_HEX.to_uppercase())).unwrap();
        assert_eq!(
            Pseudonyms::load(Some(&path), dir.path()).unwrap().key_id(),
            "30870ae091a5b9f9"
        );
    }

    #[test]
    fn a_dock_key_is_made_once_when_missing_and_a_malformed_one_is_an_error_not_replaced() {
        let dir = TempDir::new();
        let made = Pseudonyms::load(None, dir.path()).unwrap();
        assert_eq!(made.source(), KeySource::Dock);
        let path = dir.path().join(DOCK_KEY_FILE);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = Pseudonyms::load(None, dir.path()).unwrap();
        assert_eq!(made.key_id(), again.key_id());

        for bytes in [vec![7u8; 31], vec![7u8; 33], Vec::new()] {
            std::fs::write(&path, &bytes).unwrap();
            let err = Pseudonyms::load(None, dir.path()).unwrap_err().to_string();
            assert!(
                err.contains(path.to_str().unwrap())
                    && err.contains(&format!("has {} bytes, not 32", bytes.len())),
                "{err}"
            );
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "never replaced");
        }
    }

    #[test]
    fn a_key_id_is_not_the_key_nor_a_plain_hash_of_it() {
        use sha2::Digest;
        let key = example_key();
        let id = Pseudonyms::from_key(key).key_id();
        assert_eq!(id.len(), 16);
        assert!(!EXAMPLE_KEY_HEX.contains(&id));
        assert!(!hex::encode(sha2::Sha256::digest(key)).starts_with(&id));
        assert_ne!(id, Pseudonyms::from_key([2; 32]).key_id());
    }
}
