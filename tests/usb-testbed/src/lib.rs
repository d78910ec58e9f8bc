//! Test-only USB harness: fake USB devices that the real rusb → libusb → usbfs path can enumerate,
//! hotplug and move bulk bytes through, under umockdev. It owns the testbed and the devices' ioctl
//! handling; it must never know the wearable protocol (a device is "bulk OUT/IN as a byte stream")
//! and is never linked into the daemon.
//!
//! How (research/usb-testing.md, A1): the test binary re-runs one test under
//! `LD_PRELOAD=libumockdev-preload.so.0` ([`under_umockdev!`]); there a [`Testbed`] fakes sysfs
//! and udev, and every usbdevfs ioctl on a plugged device's node travels to this crate's handler
//! (module `device`). Processes spawned after [`Testbed::new`] inherit `LD_PRELOAD` and
//! `UMOCKDEV_DIR` and see the same devices; the handler reaches their memory only through
//! umockdev's `IoctlData`, never through same-process pointers. That path is exercised by dockd's
//! e2e tests, which spawn the real daemon.
//!
//! Threads: umockdev serves the ioctls on its own worker thread with a private GLib main context
//! (see module `ffi`); nothing here needs a GLib main loop. A bulk IN URB is parked until the
//! device end has bytes and is completed at the client's next reap; libusb polls the fake node
//! continuously, so that is prompt.

#![allow(unsafe_code)] // FFI to umockdev, confined to `ffi`.

mod device;
mod ffi;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub use device::DeviceEnd;
use device::{Device, config_descriptor, device_descriptor, hub_config_descriptor};

/// Re-exec guard for one test. Outside the umockdev preload, runs this test binary again with
/// only `test_name` (`--exact --nocapture --test-threads=1`) under
/// `LD_PRELOAD=libumockdev-preload.so.0`, echoes its output, asserts it exited successfully and
/// printed "1 passed", and returns true: the caller returns. Under the preload returns false:
/// the caller runs the real test body. `test_name` is libtest's name, e.g. `usb::two_wearables`.
pub fn reexec_under_umockdev(test_name: &str) -> bool {
    const PRELOAD: &str = "libumockdev-preload.so.0";
    let current = std::env::var("LD_PRELOAD").unwrap_or_default();
    if current.contains("libumockdev-preload") {
        return false;
    }
    let preload = if current.is_empty() {
        PRELOAD.to_string()
    } else {
        format!("{current}:{PRELOAD}")
    };
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("usb-testbed: current_exe: {e}"));
    let out = std::process::Command::new(&exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env("LD_PRELOAD", preload)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "usb-testbed: cannot re-run {} under umockdev: {e}",
                exe.display()
            )
        });
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        out.status.success(),
        "{test_name} failed under umockdev ({})",
        out.status
    );
    assert!(
        stdout.contains("1 passed"),
        "{test_name} did not run under umockdev (wrong libtest name? expected `module::fn` without the crate)"
    );
    true
}

/// At the top of a `#[test] fn name()`: `usb_testbed::under_umockdev!(name);` re-runs the test
/// under the umockdev preload (see [`reexec_under_umockdev`]) and returns in the parent.
#[macro_export]
macro_rules! under_umockdev {
    ($name:ident) => {
        let name = match module_path!().split_once("::") {
            Some((_, module)) => format!("{module}::{}", stringify!($name)),
            None => stringify!($name).to_string(),
        };
        if $crate::reexec_under_umockdev(&name) {
            return;
        }
    };
}

// Handles move freely between test threads and tasks.
const _: () = {
    const fn send_sync<T: Send + Sync + 'static>() {}
    const fn stream<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static>() {}
    send_sync::<Testbed>();
    send_sync::<Plugged>();
    stream::<DeviceEnd>();
};

/// A fake USB device's identity and endpoints.
#[derive(Clone, Debug)]
pub struct DeviceSpec {
    /// sysfs name: "1-2", or "1-1.3" behind a hub at "1-1".
    pub port: String,
    pub vid: u16,
    pub pid: u16,
    /// iSerialNumber (string 3); strings are answered for any langid, string 0 lists 0x0409.
    pub serial: String,
    pub manufacturer: String,
    pub product: String,
    /// Class, subclass, protocol of interface 0.
    pub interface: [u8; 3],
    pub ep_out: u8,
    pub ep_in: u8,
    pub max_packet: u16,
    /// Serve a configuration descriptor libusb cannot parse.
    pub bad_descriptors: bool,
    /// Misbehaviour from the first request on, set before the device appears on the bus (the
    /// same as calling `stall_requests`, `babble_requests`, `ignore_requests` right after plug,
    /// without racing the host's first transfer). `u32::MAX` = forever.
    pub stall_requests: u32,
    pub babble_requests: u32,
    pub ignore_requests: u32,
}

impl DeviceSpec {
    /// A wearable per protocol.md §1: 1209:4B57, interface FF/4B/01, endpoints 0x01/0x81.
    pub fn wearable(port: &str, serial: &str) -> DeviceSpec {
        DeviceSpec {
            port: port.to_string(),
            vid: 0x1209,
            pid: 0x4b57,
            serial: serial.to_string(),
            manufacturer: "dockd test".to_string(),
            product: "wearable".to_string(),
            interface: [0xff, 0x4b, 0x01],
            ep_out: 0x01,
            ep_in: 0x81,
            max_packet: 512,
            bad_descriptors: false,
            stall_requests: 0,
            babble_requests: 0,
            ignore_requests: 0,
        }
    }
}

/// How an unplug looks to the URBs in flight: their completion status.
#[derive(Clone, Copy, Debug)]
pub enum UnplugError {
    /// -ESHUTDOWN
    Shutdown,
    /// -EPROTO
    Proto,
    /// -ENODEV
    NoDevice,
}

/// What the host did to one device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// An interface is claimed now (CLAIMINTERFACE / DISCONNECT_CLAIM, not yet released).
    pub claimed: bool,
    pub ever_claimed: bool,
    pub bulk_out_transfers: u64,
    pub bulk_out_bytes: u64,
    /// Completed bulk IN URBs that carried data.
    pub bulk_in_transfers: u64,
    pub bulk_in_bytes: u64,
    /// Bulk IN URBs completed with -EPIPE.
    pub stalls: u64,
    /// IN URBs completed with -EOVERFLOW (babble).
    pub babbles: u64,
    pub clear_halts: u64,
    /// DISCARDURBs of pending URBs (host-side timeouts and cancels).
    pub discards: u64,
    pub control_transfers: u64,
}

struct Bus {
    bed: ffi::Bed,
    next_devnum: u16,
    /// sysfs name → syspath ("/sys/devices/usb1/...") of every hub and device present.
    ports: BTreeMap<String, String>,
}

struct Shared {
    root: PathBuf,
    bus: Mutex<Bus>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Bus> {
        self.bus.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A umockdev testbed with bus 1. Dropping the last handle (this or a [`Plugged`]) removes the
/// fake sysfs/dev tree and unsets `UMOCKDEV_DIR`.
pub struct Testbed(Arc<Shared>);

impl Testbed {
    /// Creates the testbed (sets `UMOCKDEV_DIR` for this process and later children) with the
    /// root hub `usb1`. Panics if this process is not under the umockdev preload.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Testbed {
        let preload = std::env::var("LD_PRELOAD").unwrap_or_default();
        assert!(
            preload.contains("libumockdev-preload"),
            "usb-testbed: not under LD_PRELOAD=libumockdev-preload.so.0; start the test with \
             usb_testbed::under_umockdev!(test_fn_name)"
        );
        let bed = ffi::Bed::new();
        let root = PathBuf::from(bed.root_dir());
        let mut bus = Bus {
            bed,
            next_devnum: 2,
            ports: BTreeMap::new(),
        };
        let mut descriptors = device_descriptor(0x1d6b, 0x0002, 9, 1);
        descriptors.extend(hub_config_descriptor());
        add(
            &mut bus,
            "usb1",
            "/devices/usb1",
            1,
            (0x1d6b, 0x0002),
            &descriptors,
        );
        Testbed(Arc::new(Shared {
            root,
            bus: Mutex::new(bus),
        }))
    }

    pub fn root_dir(&self) -> PathBuf {
        self.0.root.clone()
    }

    /// Plugs a device at `spec.port` (creating missing hubs on the way) with the next device
    /// number on bus 1 (never reused). Emits the "add" uevent. Panics if the port is occupied.
    pub fn plug(&self, spec: DeviceSpec) -> Plugged {
        let mut bus = self.0.lock();
        assert!(
            !bus.ports.contains_key(&spec.port),
            "usb-testbed: port {} is occupied",
            spec.port
        );
        assert!(
            !spec.serial.contains('\n'),
            "usb-testbed: serial must be one line"
        );
        let parent = parent_path(&mut bus, &spec.port);
        let devnum = bus.next_devnum;
        bus.next_devnum += 1;
        let devnode = format!("/dev/bus/usb/001/{devnum:03}");
        let device = Device::new(spec.clone());
        // Attach before adding: the "add" uevent may make a client open the node at once.
        let handler: Arc<dyn ffi::IoctlHandler> = device.clone();
        if let Err(e) = bus.bed.attach(&devnode, handler) {
            panic!("usb-testbed: attach_ioctl({devnode}): {e}");
        }
        let mut descriptors = device_descriptor(spec.vid, spec.pid, 0, 0);
        descriptors.extend(config_descriptor(&spec));
        let path = format!("{parent}/{}", spec.port);
        add(
            &mut bus,
            &spec.port,
            &path,
            devnum,
            (spec.vid, spec.pid),
            &descriptors,
        );
        Plugged(Arc::new(PluggedInner {
            bed: Arc::clone(&self.0),
            port: spec.port,
            devnode,
            device,
            unplugged: AtomicBool::new(false),
        }))
    }
}

/// The "/devices/..." path of `port`'s parent, adding missing hubs (class 9) on the way.
fn parent_path(bus: &mut Bus, port: &str) -> String {
    let valid = port.strip_prefix("1-").is_some_and(|rest| {
        rest.split('.')
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    });
    assert!(
        valid,
        "usb-testbed: port {port:?} is not a bus-1 sysfs name like \"1-2\" or \"1-1.3\""
    );
    let Some((hub, _)) = port.rsplit_once('.') else {
        return "/devices/usb1".to_string();
    };
    if let Some(sys) = bus.ports.get(hub) {
        return sys.trim_start_matches("/sys").to_string();
    }
    let path = format!("{}/{hub}", parent_path(bus, hub));
    let devnum = bus.next_devnum;
    bus.next_devnum += 1;
    let mut descriptors = device_descriptor(0x05e3, 0x0608, 9, 1);
    descriptors.extend(hub_config_descriptor());
    add(bus, hub, &path, devnum, (0x05e3, 0x0608), &descriptors);
    path
}

/// Adds one usb_device to the fake sysfs/udev; the testbed emits its "add" uevent.
fn add(
    bus: &mut Bus,
    name: &str,
    path: &str,
    devnum: u16,
    (vid, pid): (u16, u16),
    descriptors: &[u8],
) {
    let hex: String = descriptors.iter().map(|b| format!("{b:02x}")).collect();
    let record = format!(
        "P: {path}\nN: bus/usb/001/{devnum:03}\nE: SUBSYSTEM=usb\nE: DEVNAME=/dev/bus/usb/001/{devnum:03}\n\
         E: DEVTYPE=usb_device\nE: DRIVER=usb\nE: PRODUCT={vid:x}/{pid:x}/100\nE: BUSNUM=001\n\
         E: DEVNUM={devnum:03}\nA: busnum=1\\n\nA: devnum={devnum}\\n\nA: speed=480\\n\n\
         A: bConfigurationValue=1\\n\nA: idVendor={vid:04x}\\n\nA: idProduct={pid:04x}\\n\n\
         H: descriptors={hex}\n"
    );
    if let Err(e) = bus.bed.add_from_string(&record) {
        panic!("usb-testbed: cannot add {name}: {e}");
    }
    bus.ports.insert(name.to_string(), format!("/sys{path}"));
}

struct PluggedInner {
    bed: Arc<Shared>,
    port: String,
    devnode: String,
    device: Arc<Device>,
    unplugged: AtomicBool,
}

/// A handle to one plugged device; clones share it.
#[derive(Clone)]
pub struct Plugged(Arc<PluggedInner>);

impl Plugged {
    pub fn port(&self) -> &str {
        &self.0.port
    }

    /// The device's end of the bulk pipes, for an emulator: reads give what the host wrote to bulk
    /// OUT, writes queue what its bulk IN URBs receive (up to 256 KiB buffered, then Pending).
    /// After unplug, reads give EOF and writes `BrokenPipe`. Panics if called twice for one plug.
    pub fn device_end(&self) -> DeviceEnd {
        self.0.device.take_end()
    }

    /// Unplugs: URBs in flight complete with `how`, later submits and reaps get ENODEV, the
    /// "remove" uevent goes out and the device leaves the testbed, freeing the port. Idempotent.
    pub fn unplug(&self, how: UnplugError) {
        if self.0.unplugged.swap(true, Ordering::SeqCst) {
            return;
        }
        let mut bus = self.0.bed.lock();
        let Some(syspath) = bus.ports.get(&self.0.port).cloned() else {
            return;
        };
        self.0.device.unplug(how);
        bus.bed.uevent(&syspath, "remove");
        bus.bed.remove_device(&syspath);
        bus.bed.detach(&self.0.devnode);
        bus.ports.remove(&self.0.port);
    }

    /// The next `n` bulk OUT transfers are swallowed and the IN endpoint halts: IN URBs complete
    /// with -EPIPE until the host clears the halt.
    pub fn stall_requests(&self, n: u32) {
        self.0.device.stall_requests(n);
    }

    /// The device babbles in answer to the next `n` bulk OUT transfers (`u32::MAX` = forever): the
    /// request is swallowed and the next bulk IN completes with -EOVERFLOW, as when a device sends
    /// more than the host asked for.
    pub fn babble_requests(&self, n: u32) {
        self.0.device.babble_requests(n);
    }

    /// The next `n` bulk OUT transfers are ACKed but swallowed, so the host's reads time out.
    /// `u32::MAX` = forever.
    pub fn ignore_requests(&self, n: u32) {
        self.0.device.ignore_requests(n);
    }

    pub fn stats(&self) -> DeviceStats {
        self.0.device.stats()
    }

    /// Bulk IN URBs the host has submitted that are still waiting for bytes: lets a test wait
    /// until a read is really pending before it unplugs.
    pub fn pending_in_urbs(&self) -> usize {
        self.0.device.pending_in_urbs()
    }
}
