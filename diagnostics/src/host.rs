//! The dock computer itself, for the local diagnostics: disk usage of the data folder
//! (`statvfs`), the size of the database files, uptime (`/proc/uptime` under a configurable proc
//! root) and the local IP addresses a technician can reach the dock at (`getifaddrs`).
//!
//! It owns these reads only. It must never fail or panic on what it finds (a value it cannot get
//! is `None` or left out, and the reason is logged at debug level), never write anything, and
//! never see worker data. Every call is blocking file or socket I/O of a few microseconds to a
//! millisecond: call it from `spawn_blocking` or a blocking-tolerant task.

use std::io::Read;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use nix::net::if_::InterfaceFlags;
use serde::{Deserialize, Serialize};

/// Where procfs is mounted on a Linux dock.
pub const DEFAULT_PROC_ROOT: &str = "/proc";

/// The largest `uptime` file read (it is one short line).
const MAX_UPTIME_BYTES: u64 = 4096;

/// Space on the file system holding a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskUsage {
    /// Size of the file system.
    pub total_bytes: u64,
    /// Free space, including what only root may use.
    pub free_bytes: u64,
    /// Free space an unprivileged process (the daemon) may use.
    pub available_bytes: u64,
}

impl DiskUsage {
    /// The share of the file system not available to the daemon, 0–100 % (as `df` shows it:
    /// used over used + available).
    pub fn used_pct(&self) -> f64 {
        let used = self.total_bytes.saturating_sub(self.free_bytes);
        let usable = used.saturating_add(self.available_bytes);
        if usable == 0 {
            0.0
        } else {
            used as f64 * 100.0 / usable as f64
        }
    }
}

/// A network interface and its addresses, IPv4 first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetInterface {
    /// The kernel's name (`eth0`, `wlan0`, `end0`…).
    pub name: String,
    /// Addresses as text (`192.0.2.2`, `fd00::2`).
    pub addresses: Vec<String>,
}

/// Everything this module reads, in one value for `dockd status --json` and the pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    /// The file system of the data folder.
    pub data_disk: Option<DiskUsage>,
    /// The database with its WAL and shared-memory files, in bytes.
    pub database_bytes: Option<u64>,
    /// Whole seconds since the dock computer booted.
    pub uptime_s: Option<u64>,
    pub interfaces: Vec<NetInterface>,
}

/// Reads every part of [`HostInfo`]: `data_dir` for disk usage, `database` (the SQLite file) for
/// its size, `proc_root` (normally [`DEFAULT_PROC_ROOT`]) for uptime.
pub fn read_host(data_dir: &Path, database: &Path, proc_root: &Path) -> HostInfo {
    HostInfo {
        data_disk: disk_usage(data_dir),
        database_bytes: database_bytes(database),
        uptime_s: uptime(proc_root).map(|uptime| uptime.as_secs()),
        interfaces: addresses(),
    }
}

/// Space on the file system holding `path`, or `None` if `statvfs` fails (no such path…).
// `c_ulong` and `fsblkcnt_t` are 64-bit here but 32-bit on a 32-bit ARM dock: keep the `from`s.
#[allow(clippy::useless_conversion)]
pub fn disk_usage(path: &Path) -> Option<DiskUsage> {
    let stats = match nix::sys::statvfs::statvfs(path) {
        Ok(stats) => stats,
        Err(error) => {
            tracing::debug!(path = %path.display(), %error, "no disk usage");
            return None;
        }
    };
    // Block counts are in units of the fragment size (statvfs(3)).
    let unit = u64::from(stats.fragment_size());
    let bytes = |blocks: u64| blocks.saturating_mul(unit);
    Some(DiskUsage {
        total_bytes: bytes(u64::from(stats.blocks())),
        free_bytes: bytes(u64::from(stats.blocks_free())),
        available_bytes: bytes(u64::from(stats.blocks_available())),
    })
}

/// The size of an SQLite database on disk: the file plus its `-wal` and `-shm` files when they
/// exist; `None` if the database file itself cannot be read.
pub fn database_bytes(database: &Path) -> Option<u64> {
    let main = match std::fs::metadata(database) {
        Ok(metadata) => metadata.len(),
        Err(error) => {
            tracing::debug!(path = %database.display(), %error, "no database size");
            return None;
        }
    };
    let companion = |suffix: &str| {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        std::fs::metadata(Path::new(&name)).map_or(0, |metadata| metadata.len())
    };
    Some(main + companion("-wal") + companion("-shm"))
}

/// Time since boot, from `<proc_root>/uptime`; `None` if it cannot be read or parsed.
pub fn uptime(proc_root: &Path) -> Option<Duration> {
    let path = proc_root.join("uptime");
    let mut text = String::new();
    let read = std::fs::File::open(&path)
        .and_then(|file| file.take(MAX_UPTIME_BYTES).read_to_string(&mut text));
    if let Err(error) = read {
        tracing::debug!(path = %path.display(), %error, "no uptime");
        return None;
    }
    let uptime = parse_uptime(&text);
    if uptime.is_none() {
        tracing::debug!(path = %path.display(), "uptime is not two numbers of seconds");
    }
    uptime
}

/// The first field of `/proc/uptime` ("18316.37 14227.36": seconds up, seconds idle).
fn parse_uptime(text: &str) -> Option<Duration> {
    let seconds: f64 = text.split_whitespace().next()?.parse().ok()?;
    Duration::try_from_secs_f64(seconds).ok()
}

/// The dock's IP addresses by interface, in the kernel's interface order. Interfaces that are
/// down and IPv6 link-local addresses (unreachable without a scope) are left out; loopback is
/// listed only when nothing else is. Empty if `getifaddrs` fails.
pub fn addresses() -> Vec<NetInterface> {
    let interfaces = match nix::ifaddrs::getifaddrs() {
        Ok(interfaces) => interfaces,
        Err(error) => {
            tracing::debug!(%error, "no interface addresses");
            return Vec::new();
        }
    };
    let found = interfaces.filter_map(|interface| {
        let storage = interface.address?;
        let ip = if let Some(v4) = storage.as_sockaddr_in() {
            IpAddr::V4(v4.ip())
        } else {
            IpAddr::V6(storage.as_sockaddr_in6()?.ip())
        };
        Some(Found {
            name: interface.interface_name,
            ip,
            up: interface.flags.contains(InterfaceFlags::IFF_UP),
            loopback: interface.flags.contains(InterfaceFlags::IFF_LOOPBACK),
        })
    });
    group_addresses(found)
}

/// One address as `getifaddrs` reports it.
struct Found {
    name: String,
    ip: IpAddr,
    up: bool,
    loopback: bool,
}

fn group_addresses(found: impl IntoIterator<Item = Found>) -> Vec<NetInterface> {
    let mut usable: Vec<(NetInterface, bool, Vec<IpAddr>)> = Vec::new();
    for address in found {
        if !address.up || is_ipv6_link_local(&address.ip) {
            continue;
        }
        let loopback = address.loopback || address.ip.is_loopback();
        match usable.iter_mut().find(|(i, _, _)| i.name == address.name) {
            Some((_, is_loopback, ips)) => {
                *is_loopback &= loopback;
                ips.push(address.ip);
            }
            None => usable.push((
                NetInterface {
                    name: address.name,
                    addresses: Vec::new(),
                },
                loopback,
                vec![address.ip],
            )),
        }
    }
    let any_other = usable.iter().any(|(_, loopback, _)| !loopback);
    usable
        .into_iter()
        .filter(|(_, loopback, _)| !(any_other && *loopback))
        .map(|(mut interface, _, mut ips)| {
            ips.sort_by_key(IpAddr::is_ipv6);
            ips.dedup();
            interface.addresses = ips.iter().map(IpAddr::to_string).collect();
            interface
        })
        .collect()
}

fn is_ipv6_link_local(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn temp_folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dockd-host-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn found(name: &str, ip: &str, up: bool, loopback: bool) -> Found {
        Found {
            name: name.into(),
            ip: ip.parse().unwrap(),
            up,
            loopback,
        }
    }

    #[test]
    fn the_data_folders_disk_usage_is_coherent() {
        let usage = disk_usage(&std::env::temp_dir()).unwrap();
        assert!(usage.total_bytes > 0, "{usage:?}");
        assert!(usage.free_bytes <= usage.total_bytes, "{usage:?}");
        assert!(usage.available_bytes <= usage.free_bytes, "{usage:?}");
        assert!((0.0..=100.0).contains(&usage.used_pct()), "{usage:?}");
    }

    #[test]
    fn a_missing_folder_has_no_disk_usage() {
        assert_eq!(disk_usage(Path::new("/no/such/dockd/folder")), None);
    }

    #[test]
    fn used_share_is_counted_as_df_does() {
        let usage = DiskUsage {
            total_bytes: 1000,
            free_bytes: 300,
            available_bytes: 200,
        };
        // 700 used of 700 + 200 usable.
        assert!((usage.used_pct() - 700.0 * 100.0 / 900.0).abs() < 1e-9);
        let empty = DiskUsage {
            total_bytes: 0,
            free_bytes: 0,
            available_bytes: 0,
        };
        assert_eq!(empty.used_pct(), 0.0);
    }

    #[test]
    fn the_database_size_adds_its_wal_and_shm_files() {
        let dir = temp_folder("db");
        let database = dir.join("dockd.sqlite");
        std::fs::write(&database, vec![0u8; 4096]).unwrap();
        assert_eq!(database_bytes(&database), Some(4096));
        std::fs::write(dir.join("dockd.sqlite-wal"), vec![0u8; 100]).unwrap();
        std::fs::write(dir.join("dockd.sqlite-shm"), vec![0u8; 32]).unwrap();
        let with_companions = database_bytes(&database);
        assert_eq!(database_bytes(&dir.join("other.sqlite")), None);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(with_companions, Some(4228));
    }

    #[test]
    fn uptime_is_read_from_a_fake_proc_and_garbage_gives_none() {
        let dir = temp_folder("proc");
        std::fs::write(dir.join("uptime"), "18316.37 14227.36\n").unwrap();
        let good = uptime(&dir);
        std::fs::write(dir.join("uptime"), "soon\n").unwrap();
        let garbage = uptime(&dir);
        std::fs::write(dir.join("uptime"), "-5 1\n").unwrap();
        let negative = uptime(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        let missing = uptime(&dir);
        assert_eq!(good, Some(Duration::from_millis(18_316_370)));
        assert_eq!((garbage, negative, missing), (None, None, None));
    }

    #[test]
    fn the_real_uptime_is_positive() {
        assert!(uptime(Path::new(DEFAULT_PROC_ROOT)).unwrap() > Duration::ZERO);
    }

    #[test]
    fn loopback_down_interfaces_and_link_local_addresses_are_left_out() {
        let grouped = group_addresses([
            found("lo", "127.0.0.1", true, true),
            found("lo", "::1", true, true),
            found("eth0", "fe80::fc:ff:fe00:1", true, false),
            found("eth0", "fd00::2", true, false),
            found("eth0", "192.0.2.2", true, false),
            found("wlan0", "198.51.100.7", false, false),
            found("end1", "203.0.113.9", true, false),
        ]);
        assert_eq!(
            grouped,
            vec![
                NetInterface {
                    name: "eth0".into(),
                    addresses: vec!["192.0.2.2".into(), "fd00::2".into()],
                },
                NetInterface {
                    name: "end1".into(),
                    addresses: vec!["203.0.113.9".into()],
                },
            ]
        );
    }

    #[test]
    fn loopback_is_listed_when_nothing_else_is() {
        let grouped = group_addresses([
            found("lo", "127.0.0.1", true, true),
            found("eth0", "fe80::1", true, false),
        ]);
        assert_eq!(
            grouped,
            vec![NetInterface {
                name: "lo".into(),
                addresses: vec!["127.0.0.1".into()],
            }]
        );
    }

    #[test]
    fn the_real_interfaces_are_listed_with_parseable_addresses() {
        // Not asserted non-empty: in a fresh network namespace even loopback has no address.
        let interfaces = addresses();
        println!("addresses: {interfaces:?}");
        let only_loopback = interfaces.len() == 1;
        for interface in &interfaces {
            assert!(
                only_loopback || interface.name != "lo",
                "loopback listed beside others: {interfaces:?}"
            );
            assert!(!interface.name.is_empty());
            assert!(!interface.addresses.is_empty(), "{interface:?}");
            for address in &interface.addresses {
                assert!(address.parse::<IpAddr>().is_ok(), "{address}");
            }
        }
    }

    #[test]
    fn host_info_reads_every_part_and_serializes() {
        let dir = temp_folder("info");
        let database = dir.join("dockd.sqlite");
        std::fs::write(&database, b"SQLite format 3\0").unwrap();
        let info = read_host(&dir, &database, Path::new(DEFAULT_PROC_ROOT));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            info.data_disk.is_some() && info.uptime_s.is_some(),
            "{info:?}"
        );
        assert_eq!(info.database_bytes, Some(16));
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["database_bytes"], 16);
        assert!(json["data_disk"]["total_bytes"].as_u64().unwrap() > 0);
    }
}
