//! Who may use the control socket, decided from the peer's credentials alone: root, the daemon's
//! own user, and members of `[control] group` (by primary group or a supplementary one). It owns
//! that decision and reading the supplementary groups out of `/proc/<pid>/status` text; it must
//! never read a file or a socket itself (the server hands it the text and the credentials).

/// What the kernel says about the process at the other end (`SO_PEERCRED`), with its
/// supplementary groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// Who the daemon lets in: itself (its uid) and the control group, if it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub daemon_uid: u32,
    /// The gid of `[control] group`; `None` when no such group exists on the machine.
    pub group: Option<u32>,
}

/// Why a peer was let in, or that it was not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Root,
    DaemonUser,
    /// Its primary group is the control group.
    PrimaryGroup,
    /// One of its supplementary groups is the control group.
    SupplementaryGroup,
    Refused,
}

impl Verdict {
    pub fn is_allowed(self) -> bool {
        self != Verdict::Refused
    }
}

/// The decision for `peer`.
pub fn judge(peer: &Peer, allowed: Allowed) -> Verdict {
    if peer.uid == 0 {
        Verdict::Root
    } else if peer.uid == allowed.daemon_uid {
        Verdict::DaemonUser
    } else if allowed.group == Some(peer.gid) {
        Verdict::PrimaryGroup
    } else if allowed.group.is_some_and(|gid| peer.groups.contains(&gid)) {
        Verdict::SupplementaryGroup
    } else {
        Verdict::Refused
    }
}

/// The supplementary groups on the `Groups:` line of a `/proc/<pid>/status` text; none when the
/// line is missing (a refusal then rests on uid and primary group). A number that does not read
/// is skipped.
pub fn supplementary_groups(status: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Groups:"))
        .map(|groups| {
            groups
                .split_whitespace()
                .filter_map(|gid| gid.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// What a refused peer is told (and the log says, with the uid only).
pub fn refusal(uid: u32, group: &str, group_exists: bool) -> String {
    if group_exists {
        format!(
            "uid {uid} may not use dockd's control socket: only root, dockd's own user and members of group `{group}` may ([control] group)"
        )
    } else {
        format!(
            "uid {uid} may not use dockd's control socket: only root and dockd's own user may (group `{group}` of [control] group does not exist on this machine)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAEMON: u32 = 998;
    const GROUP: u32 = 997;

    fn peer(uid: u32, gid: u32, groups: &[u32]) -> Peer {
        Peer {
            uid,
            gid,
            groups: groups.to_vec(),
        }
    }

    fn allowed(group: Option<u32>) -> Allowed {
        Allowed {
            daemon_uid: DAEMON,
            group,
        }
    }

    #[test]
    fn root_and_the_daemons_own_user_are_let_in_with_or_without_the_group() {
        for group in [Some(GROUP), None] {
            assert_eq!(judge(&peer(0, 0, &[]), allowed(group)), Verdict::Root);
            assert_eq!(
                judge(&peer(DAEMON, 12345, &[]), allowed(group)),
                Verdict::DaemonUser
            );
        }
    }

    #[test]
    fn a_member_of_the_control_group_is_let_in_by_primary_or_supplementary_group() {
        assert_eq!(
            judge(&peer(1000, GROUP, &[]), allowed(Some(GROUP))),
            Verdict::PrimaryGroup
        );
        assert_eq!(
            judge(&peer(1000, 1000, &[27, GROUP, 100]), allowed(Some(GROUP))),
            Verdict::SupplementaryGroup
        );
    }

    #[test]
    fn anyone_else_is_refused_and_a_missing_group_lets_no_member_in() {
        assert_eq!(
            judge(&peer(1000, 1000, &[27, 100]), allowed(Some(GROUP))),
            Verdict::Refused
        );
        assert!(!judge(&peer(65534, 65534, &[]), allowed(Some(GROUP))).is_allowed());
        // Without the group on the machine its number means nothing, whatever the peer holds.
        assert_eq!(
            judge(&peer(1000, GROUP, &[GROUP]), allowed(None)),
            Verdict::Refused
        );
        // Sharing the daemon's group is not membership of the control group.
        assert_eq!(
            judge(&peer(1000, 0, &[0]), allowed(Some(GROUP))),
            Verdict::Refused
        );
    }

    #[test]
    fn the_groups_line_of_proc_status_is_read_and_anything_else_gives_none() {
        let status = "Name:\tdockd\nUmask:\t0077\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nFDSize:\t64\nGroups:\t4 24 27 997 \nNStgid:\t4242\n";
        assert_eq!(supplementary_groups(status), vec![4, 24, 27, 997]);
        assert_eq!(
            supplementary_groups("Name:\tx\nGroups:\t\nPid:\t1\n"),
            Vec::<u32>::new()
        );
        assert_eq!(supplementary_groups("Name:\tx\n"), Vec::<u32>::new());
        assert_eq!(
            supplementary_groups("Groups:\t4 x -1 99999999999 7\n"),
            vec![4, 7]
        );
        assert_eq!(supplementary_groups(""), Vec::<u32>::new());
    }

    #[test]
    fn a_refusal_names_the_uid_and_who_may() {
        let told = refusal(1000, "dockd", true);
        assert!(
            told.contains("uid 1000") && told.contains("group `dockd`"),
            "{told}"
        );
        let told = refusal(1000, "dockd", false);
        assert!(told.contains("does not exist"), "{told}");
    }
}
