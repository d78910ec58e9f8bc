//! Keeps the service PIN's rate limit ([`LockoutRecord`]) in a small file in the daemon's data
//! folder, so that restarting the dock does not forget a lockout. It owns that file: written whole
//! (a temporary file renamed over it), readable by the daemon's user only (0600). It must never
//! hold the PIN or anything typed.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use super::pin::LockoutRecord;

/// The file's name in the data folder.
pub const LOCKOUT_FILE: &str = "console-lockout.json";

/// The record a previous run left at `path`. No file: a fresh record. A file that cannot be read
/// or makes no sense is logged and treated as one lockout in force from `now_ms`, so that deleting
/// or garbling it never lifts a lockout early.
pub fn load(path: &Path, now_ms: i64) -> LockoutRecord {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return LockoutRecord::default();
        }
        Err(error) => {
            tracing::warn!(file = %path.display(), error = %error, "Cannot read the console's PIN lockout file; PIN entry starts locked.");
            return locked_from(now_ms);
        }
    };
    serde_json::from_str(&text).unwrap_or_else(|error| {
        tracing::warn!(file = %path.display(), error = %error, "The console's PIN lockout file makes no sense; PIN entry starts locked.");
        locked_from(now_ms)
    })
}

fn locked_from(now_ms: i64) -> LockoutRecord {
    LockoutRecord {
        wrong_in_a_row: 0,
        lockouts: 1,
        locked_from_ms: Some(now_ms),
        locked_for_ms: Some(u64::try_from(super::FIRST_LOCKOUT.as_millis()).unwrap_or(u64::MAX)),
    }
}

/// Replaces the file at `path` with `record`, mode 0600.
pub fn save(path: &Path, record: &LockoutRecord) -> std::io::Result<()> {
    let text = serde_json::to_string(record).map_err(std::io::Error::other)?;
    let temporary = path.with_extension("json.tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("dockd-lockout-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_saved_record_is_read_back_and_only_its_owner_can_read_the_file() {
        let dir = scratch("roundtrip");
        let path = dir.join(LOCKOUT_FILE);
        assert_eq!(load(&path, 0), LockoutRecord::default());
        let record = LockoutRecord {
            wrong_in_a_row: 2,
            lockouts: 3,
            locked_from_ms: Some(1_700_000_000_000),
            locked_for_ms: Some(120_000),
        };
        save(&path, &record).unwrap();
        assert_eq!(load(&path, 0), record);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_garbled_file_starts_locked_rather_than_lifting_a_lockout() {
        let dir = scratch("garbled");
        let path = dir.join(LOCKOUT_FILE);
        std::fs::write(&path, "{not json").unwrap();
        let record = load(&path, 5_000);
        assert_eq!(record.locked_from_ms, Some(5_000));
        assert_eq!(record.locked_for_ms, Some(30_000));
        let _ = std::fs::remove_dir_all(dir);
    }
}
