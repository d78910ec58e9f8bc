//! A Debian root's file list: every path with its type, permissions, owner and (for files) size
//! and modification time, and the difference of two lists, to show a purged package left nothing
//! behind. It owns the walk and the comparison; what may differ (apt's and dpkg's own records) is
//! the caller's to name, with a reason.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// One path's identity in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `f` file, `d` folder, `l` link (with its target), `o` other.
    pub kind: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Files: size and modification time (content rewritten shows in either).
    pub size: u64,
    pub mtime: i64,
}

/// Every path under a root (relative, `/`-rooted), outside the API mounts' folders.
#[derive(Debug, Clone, Default)]
pub struct FileList(pub BTreeMap<String, Entry>);

impl FileList {
    /// Walks `root` without following links; `/proc`, `/sys`, `/dev` and `/run`'s contents are
    /// the kernel's and systemd's, not the package's, and are left out.
    pub fn of(root: &Path) -> FileList {
        let mut list = BTreeMap::new();
        walk(root, root, &mut list);
        FileList(list)
    }

    /// Paths owned by `uid` or `gid`.
    pub fn owned_by(&self, uid: u32, gid: u32) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, e)| e.uid == uid || e.gid == gid)
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// What differs from `before`: paths added, removed, or changed (type, permissions, owner,
    /// or a file's size or time), except under `ignored` prefixes and for `rewritten` files whose
    /// content may change (they must still be there with the same type, permissions and owner).
    pub fn differences(
        &self,
        before: &FileList,
        ignored: &[&str],
        rewritten: &[&str],
    ) -> Vec<String> {
        let skip = |path: &str| ignored.iter().any(|prefix| path.starts_with(prefix));
        let mut found = Vec::new();
        for (path, entry) in &self.0 {
            if skip(path) {
                continue;
            }
            match before.0.get(path) {
                None => found.push(format!("added {path} ({entry:?})")),
                Some(old) if rewritten.contains(&path.as_str()) => {
                    if (&old.kind, old.mode, old.uid, old.gid)
                        != (&entry.kind, entry.mode, entry.uid, entry.gid)
                    {
                        found.push(format!("changed {path}: {old:?} → {entry:?}"));
                    }
                }
                Some(old) if old != entry => {
                    found.push(format!("changed {path}: {old:?} → {entry:?}"))
                }
                Some(_) => {}
            }
        }
        for path in before.0.keys() {
            if !skip(path) && !self.0.contains_key(path) {
                found.push(format!("removed {path}"));
            }
        }
        found
    }
}

fn walk(root: &Path, dir: &Path, list: &mut BTreeMap<String, Entry>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let relative = format!(
            "/{}",
            path.strip_prefix(root).unwrap_or(&path).to_string_lossy()
        );
        let kind = if meta.is_symlink() {
            format!(
                "l→{}",
                std::fs::read_link(&path)
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )
        } else if meta.is_dir() {
            "d".to_owned()
        } else if meta.is_file() {
            "f".to_owned()
        } else {
            "o".to_owned()
        };
        let is_file = meta.is_file();
        list.insert(
            relative.clone(),
            Entry {
                kind,
                mode: meta.mode(),
                uid: meta.uid(),
                gid: meta.gid(),
                size: if is_file { meta.size() } else { 0 },
                mtime: if is_file { meta.mtime() } else { 0 },
            },
        );
        let api = matches!(relative.as_str(), "/proc" | "/sys" | "/dev" | "/run");
        if meta.is_dir() && !api {
            walk(root, &path, list);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FileList;

    #[test]
    fn a_file_left_behind_a_changed_owner_or_mode_and_a_removed_file_are_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("dockd-files-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        std::fs::create_dir_all(dir.join("var/log")).unwrap();
        std::fs::write(dir.join("etc/kept"), "a").unwrap();
        std::fs::write(dir.join("etc/gone"), "b").unwrap();
        std::fs::write(dir.join("etc/passwd"), "root").unwrap();
        let before = FileList::of(&dir);
        std::fs::write(dir.join("etc/left"), "c").unwrap();
        std::fs::remove_file(dir.join("etc/gone")).unwrap();
        std::fs::set_permissions(dir.join("etc/kept"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        std::fs::write(dir.join("etc/passwd"), "root and more").unwrap();
        std::fs::write(dir.join("var/log/apt.log"), "ignored").unwrap();
        let after = FileList::of(&dir);
        let found = after.differences(&before, &["/var/log/"], &["/etc/passwd"]);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].starts_with("changed /etc/kept"), "{found:#?}");
        assert!(found[1].starts_with("added /etc/left"), "{found:#?}");
        assert_eq!(found[2], "removed /etc/gone");
    }
}
