//! The installed versions on disk: `<data_dir>/versions/<version>/` slots (the binary and the
//! signed manifest it came with), `state.json` (which version runs, which is on trial) and
//! `events.jsonl` (what the updater and the launcher did, for the audit trail and the page). It
//! owns durability — every file and folder fsynced, the state replaced by one atomic rename — and
//! the pure [`plan`] of what a start runs; it must never run a binary, fetch anything, or call a
//! slot good without verifying its binary against its signed manifest.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::manifest::{self, TrustedKey, Version};

/// How many starts a version on trial gets before it is rolled back without more ado: a start
/// that a power cut or a kill interrupted counts, so a version that hangs the machine cannot keep
/// it forever.
pub const TRIAL_STARTS: u32 = 3;

/// The folder of the slots, inside the data folder.
pub const SLOTS_FOLDER: &str = "versions";
/// The binary's name inside a slot.
pub const BINARY: &str = "dockd";
/// The signed manifest a slot was installed from, and its signature.
pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.json.sig";
const STATE: &str = "state.json";
const EVENTS: &str = "events.jsonl";

/// Which version runs, as the launcher and the updater agree on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotState {
    /// The confirmed version in a slot; `None`: the packaged binary (`/usr/bin/dockd`).
    pub current: Option<String>,
    /// A version installed and not yet confirmed by its health check.
    pub trial: Option<Trial>,
    /// Versions that failed their trial: never installed again.
    #[serde(default)]
    pub failed: Vec<String>,
    /// The confirmed version before `current` (its slot is kept; `None`: the packaged binary).
    #[serde(default)]
    pub previous: Option<String>,
}

impl SlotState {
    /// The slots this state names, which must be kept.
    pub fn named(&self) -> Vec<&str> {
        self.current
            .iter()
            .chain(self.previous.iter())
            .map(String::as_str)
            .chain(self.trial.iter().map(|t| t.version.as_str()))
            .collect()
    }
}

/// A version on trial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trial {
    pub version: String,
    /// Starts left before it is rolled back; taken down by one before each start.
    pub starts_left: u32,
    pub installed_ms: i64,
}

/// What a start of dockd runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The packaged binary, in this process.
    Packaged,
    /// The packaged binary is as new or newer than every slot (a `.deb` upgrade came after the
    /// self-update): the slots are removed and the packaged binary runs.
    PackagedIsNewer { slots: Vec<String> },
    /// A confirmed version in its slot.
    Slot { version: String },
    /// The version on trial, once more.
    Trial { version: String },
    /// The version on trial used up its starts: back to what ran before.
    RollBack { version: String, reason: String },
}

/// What a start runs, from the state and the packaged binary's version (pure).
pub fn plan(state: &SlotState, packaged: Version) -> Plan {
    let newer = |v: &str| v.parse::<Version>().is_ok_and(|v| v > packaged);
    let mut slots: Vec<String> = state.current.iter().cloned().collect();
    if let Some(trial) = &state.trial {
        slots.push(trial.version.clone());
    }
    if !slots.is_empty() && !slots.iter().any(|v| newer(v)) {
        return Plan::PackagedIsNewer { slots };
    }
    if let Some(trial) = &state.trial
        && newer(&trial.version)
    {
        if trial.starts_left == 0 {
            return Plan::RollBack {
                version: trial.version.clone(),
                reason: format!(
                    "it did not pass its health check in {TRIAL_STARTS} starts (it exited, hung or failed a check each time)"
                ),
            };
        }
        return Plan::Trial {
            version: trial.version.clone(),
        };
    }
    match &state.current {
        Some(version) if newer(version) => Plan::Slot {
            version: version.clone(),
        },
        _ => Plan::Packaged,
    }
}

/// One thing the updater or the launcher did, kept in `events.jsonl` for the audit trail and the
/// Diagnostics page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: i64,
    /// `checked`, `rejected`, `installed`, `trial`, `confirmed`, `rolled_back`, `packaged_newer`,
    /// `refused_slot`.
    pub action: String,
    pub version: String,
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SlotError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a state dockd wrote ({why}); the packaged version runs")]
    BadState { path: PathBuf, why: String },
    #[error("the slot of {version} does not verify: {why}")]
    Unverified { version: String, why: String },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SlotError + '_ {
    move |source| SlotError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The slots folder of a data folder.
#[derive(Debug, Clone)]
pub struct Slots {
    dir: PathBuf,
}

impl Slots {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join(SLOTS_FOLDER),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The slot of `version`.
    pub fn slot(&self, version: &str) -> PathBuf {
        self.dir.join(version)
    }

    /// A fresh, empty folder a download of `version` is staged in (0700; whatever an earlier,
    /// interrupted attempt left there is removed first).
    pub fn staging(&self, version: &str) -> Result<PathBuf, SlotError> {
        let path = self.dir.join(format!(".staging-{version}"));
        self.make_dir()?;
        remove_tree(&path)?;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(io(&path))?;
        Ok(path)
    }

    fn make_dir(&self) -> Result<(), SlotError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(io(&self.dir))
    }

    /// The state; a missing file is the packaged version alone.
    pub fn state(&self) -> Result<SlotState, SlotError> {
        let path = self.dir.join(STATE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| SlotError::BadState {
                path,
                why: e.to_string(),
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(SlotState::default()),
            Err(error) => Err(io(&path)(error)),
        }
    }

    /// Replaces the state: written beside, fsynced, renamed over, the folder fsynced. A power
    /// cut leaves the old state or the new one.
    pub fn save(&self, state: &SlotState) -> Result<(), SlotError> {
        self.make_dir()?;
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| SlotError::BadState {
            path: self.dir.join(STATE),
            why: e.to_string(),
        })?;
        replace_file(&self.dir.join(STATE), &bytes)
    }

    /// Appends `event` to the events file, fsynced.
    pub fn record(&self, event: &Event) -> Result<(), SlotError> {
        self.make_dir()?;
        let path = self.dir.join(EVENTS);
        let mut line = serde_json::to_vec(event).map_err(|e| SlotError::BadState {
            path: path.clone(),
            why: e.to_string(),
        })?;
        line.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .map_err(io(&path))?;
        file.write_all(&line).map_err(io(&path))?;
        file.sync_all().map_err(io(&path))
    }

    /// Every event recorded, oldest first (a torn last line, from a power cut, is skipped).
    pub fn events(&self) -> Vec<Event> {
        let text = std::fs::read_to_string(self.dir.join(EVENTS)).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Makes the staged download of `version` (its binary in `staged`) a slot: the signed
    /// manifest is written beside the binary, everything fsynced, the folder renamed to the
    /// version's name and the slots folder fsynced; then the state names it on trial.
    pub fn install(
        &self,
        version: Version,
        staged: &Path,
        manifest_bytes: &[u8],
        signature: &[u8],
        now_ms: i64,
    ) -> Result<(), SlotError> {
        let name = version.to_string();
        for (file, bytes) in [(MANIFEST, manifest_bytes), (SIGNATURE, signature)] {
            replace_file(&staged.join(file), bytes)?;
        }
        super::launcher::fail_point("slot-manifest-written");
        let binary = staged.join(BINARY);
        std::fs::File::open(&binary)
            .and_then(|f| f.sync_all())
            .map_err(io(&binary))?;
        sync_dir(staged)?;
        super::launcher::fail_point("slot-binary-synced");
        let slot = self.slot(&name);
        remove_tree(&slot)?;
        std::fs::rename(staged, &slot).map_err(io(&slot))?;
        sync_dir(&self.dir)?;
        super::launcher::fail_point("slot-renamed");
        let mut state = self.state().unwrap_or_default();
        state.trial = Some(Trial {
            version: name,
            starts_left: TRIAL_STARTS,
            installed_ms: now_ms,
        });
        self.save(&state)
    }

    /// The binary of `version`'s slot, after checking it against the signed manifest it was
    /// installed with: the manifest's signature under `keys`, its version the slot's, and the
    /// binary's SHA-256 the one the manifest names for `arch`.
    pub fn verified_binary(
        &self,
        version: &str,
        keys: &[TrustedKey],
        arch: &str,
    ) -> Result<PathBuf, SlotError> {
        let slot = self.slot(version);
        let unverified = |why: String| SlotError::Unverified {
            version: version.to_owned(),
            why,
        };
        let read = |name: &str| std::fs::read(slot.join(name)).map_err(io(&slot));
        let release = manifest::verify(&read(MANIFEST)?, &read(SIGNATURE)?, keys)
            .map_err(|e| unverified(e.to_string()))?;
        if release.version.to_string() != version {
            return Err(unverified(format!(
                "its manifest is of release {}",
                release.version
            )));
        }
        let asset = release
            .asset_for(arch)
            .map_err(|e| unverified(e.to_string()))?;
        let binary = slot.join(BINARY);
        let digest = sha256_file(&binary).map_err(io(&binary))?;
        if !digest.eq_ignore_ascii_case(&asset.binary_sha256) {
            return Err(unverified(format!(
                "its binary's SHA-256 is {digest}, the signed manifest says {}",
                asset.binary_sha256
            )));
        }
        Ok(binary)
    }

    /// Removes every slot and staging folder but those of `keep`.
    pub fn prune(&self, keep: &[&str]) -> Result<(), SlotError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(io(&self.dir)(error)),
        };
        for entry in entries {
            let entry = entry.map_err(io(&self.dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && !keep.contains(&name.as_str()) {
                remove_tree(&entry.path())?;
            }
        }
        sync_dir(&self.dir)
    }
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest as _;
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(buffer.get(..n).unwrap_or_default());
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Writes `bytes` to `path` durably: a sibling file (0600) written and fsynced, renamed over
/// `path`, the folder fsynced.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), SlotError> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(folder)
}

fn sync_dir(path: &Path) -> Result<(), SlotError> {
    crate::store::key::sync_dir(path).map_err(io(path))
}

fn remove_tree(path: &Path) -> Result<(), SlotError> {
    match std::fs::remove_dir_all(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(io(path)(error)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
