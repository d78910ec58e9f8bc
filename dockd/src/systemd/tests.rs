//! dockd::systemd, proven: the hand-over variables parsed as systemd sets them, notifications
//! received on real datagram sockets (a path and an abstract name), the watchdog fed only while
//! healthy (paused time).

use std::os::unix::net::UnixDatagram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

fn env(pairs: &[(&str, &str)]) -> SystemdEnv {
    SystemdEnv::from_vars(|name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| OsString::from(value))
    })
}

/// A folder of its own under the system's temp folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("dockd-systemd-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn received(socket: &UnixDatagram) -> Option<String> {
    let mut buf = [0u8; 512];
    match socket.recv(&mut buf) {
        Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => None,
        Err(error) => panic!("recv: {error}"),
    }
}

#[test]
fn sockets_are_taken_only_when_listen_pid_names_this_process() {
    let passed = env(&[
        ("LISTEN_PID", "4242"),
        ("LISTEN_FDS", "2"),
        ("LISTEN_FDNAMES", "web:other"),
    ]);
    assert_eq!(
        passed.passed_sockets(4242).unwrap(),
        vec![(3, "web".to_owned()), (4, "other".to_owned())]
    );
    assert!(
        passed.passed_sockets(4243).unwrap().is_empty(),
        "inherited variables of another process are ignored"
    );
    assert!(env(&[]).passed_sockets(4242).unwrap().is_empty());
    assert!(env(&[]).take_web_listener(4242).unwrap().is_none());
}

#[test]
fn names_that_do_not_match_the_count_are_unknown_and_a_bad_count_is_an_error() {
    let unnamed = env(&[("LISTEN_PID", "7"), ("LISTEN_FDS", "1")]);
    assert_eq!(
        unnamed.passed_sockets(7).unwrap(),
        vec![(3, "unknown".to_owned())]
    );
    let mismatched = env(&[
        ("LISTEN_PID", "7"),
        ("LISTEN_FDS", "2"),
        ("LISTEN_FDNAMES", "web"),
    ]);
    assert_eq!(
        mismatched.passed_sockets(7).unwrap(),
        vec![(3, "unknown".to_owned()), (4, "unknown".to_owned())]
    );
    for bad in ["", "x", "-1", "100000"] {
        assert!(
            matches!(
                env(&[("LISTEN_PID", "7"), ("LISTEN_FDS", bad)]).passed_sockets(7),
                Err(SystemdError::BadListenFds)
            ),
            "LISTEN_FDS={bad:?}"
        );
    }
}

#[test]
fn several_sockets_without_one_named_web_are_refused_by_name() {
    let two = env(&[
        ("LISTEN_PID", "9"),
        ("LISTEN_FDS", "2"),
        ("LISTEN_FDNAMES", "a:b"),
    ]);
    let error = two.take_web_listener(9).unwrap_err();
    assert!(
        error.to_string().contains("FileDescriptorName=web"),
        "{error}"
    );
}

#[test]
fn the_watchdog_is_fed_at_half_its_period_and_only_for_this_process() {
    let watched = env(&[("WATCHDOG_USEC", "60000000"), ("WATCHDOG_PID", "11")]);
    assert_eq!(watched.watchdog_every(11), Some(Duration::from_secs(30)));
    assert_eq!(watched.watchdog_every(12), None);
    let any_pid = env(&[("WATCHDOG_USEC", "20000000")]);
    assert_eq!(any_pid.watchdog_every(12), Some(Duration::from_secs(10)));
    assert_eq!(env(&[("WATCHDOG_USEC", "0")]).watchdog_every(1), None);
    assert_eq!(env(&[]).watchdog_every(1), None);
}

#[test]
fn the_credentials_folder_is_systemds_when_set_and_not_empty() {
    assert_eq!(
        env(&[("CREDENTIALS_DIRECTORY", "/run/credentials/dockd.service")]).credentials_directory(),
        Some(PathBuf::from("/run/credentials/dockd.service"))
    );
    assert_eq!(
        env(&[("CREDENTIALS_DIRECTORY", "")]).credentials_directory(),
        None
    );
    assert_eq!(env(&[]).credentials_directory(), None);
}

#[test]
fn notifications_reach_a_socket_file_as_one_datagram_each() {
    let dir = Scratch::new("notify-path");
    let path = dir.0.join("notify.sock");
    let systemd = UnixDatagram::bind(&path).unwrap();
    systemd.set_nonblocking(true).unwrap();
    let notifier = Notifier::new(Some(path.as_os_str()));
    assert!(notifier.is_enabled());
    notifier.ready("Running:\nall good");
    assert_eq!(
        received(&systemd).as_deref(),
        Some("READY=1\nSTATUS=Running: all good"),
        "a status stays on its line"
    );
    notifier.watchdog();
    assert_eq!(received(&systemd).as_deref(), Some("WATCHDOG=1"));
    notifier.stopping();
    assert_eq!(
        received(&systemd).as_deref(),
        Some("STOPPING=1\nSTATUS=Shutting down.")
    );
    assert_eq!(received(&systemd), None);
}

#[test]
fn notifications_reach_an_abstract_socket_named_with_an_at_sign() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("dockd-notify-test-{}", std::process::id());
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let systemd = UnixDatagram::bind_addr(&address).unwrap();
    systemd.set_nonblocking(true).unwrap();
    Notifier::new(Some(OsStr::new(&format!("@{name}")))).ready("up");
    assert_eq!(received(&systemd).as_deref(), Some("READY=1\nSTATUS=up"));
}

#[test]
fn without_a_notify_socket_nothing_is_sent_and_nothing_fails() {
    let notifier = Notifier::new(None);
    assert!(!notifier.is_enabled());
    notifier.ready("up");
    assert!(!Notifier::new(Some(OsStr::new(""))).is_enabled());
    // A socket that is gone is logged, not fatal.
    Notifier::new(Some(OsStr::new("/nonexistent/dockd/notify"))).watchdog();
}

#[tokio::test(start_paused = true)]
async fn the_watchdog_is_fed_only_while_the_daemon_is_healthy() {
    let dir = Scratch::new("watchdog");
    let path = dir.0.join("notify.sock");
    let systemd = UnixDatagram::bind(&path).unwrap();
    systemd.set_nonblocking(true).unwrap();
    let healthy = Arc::new(AtomicBool::new(true));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(feed_watchdog(
        Notifier::new(Some(path.as_os_str())),
        Duration::from_secs(10),
        {
            let healthy = Arc::clone(&healthy);
            move || healthy.load(Ordering::SeqCst)
        },
        shutdown.clone(),
    ));
    // Paused time: each sleep lets the interval's ticks due by then run, nothing else.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        received(&systemd).as_deref(),
        Some("WATCHDOG=1"),
        "fed at once"
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(received(&systemd).as_deref(), Some("WATCHDOG=1"));
    assert_eq!(received(&systemd), None, "once per period");
    healthy.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(
        received(&systemd),
        None,
        "an unhealthy daemon is left unfed"
    );
    healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        received(&systemd).as_deref(),
        Some("WATCHDOG=1"),
        "fed again"
    );
    shutdown.cancel();
    task.await.unwrap();
}
