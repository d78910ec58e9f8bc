//! The USB transport: finds docked wearables with libusb (hot-plug events, and a periodic re-scan
//! as a safety net or where hot-plug is missing), claims their link interface and hands each to
//! the dock as a [`Docking`]. It owns the libusb context and every USB thread; it must never run
//! a blocking libusb call on a runtime worker, never use libusb's global context (it panics where
//! no USB stack exists), and never let one misbehaving device stop the others.
//!
//! Threads: `usb-monitor` owns the context, pumps libusb events and decides which devices are
//! wearables; each claimed wearable gets `usb <port>` (opens it, then reads bulk IN) and
//! `usb-out <port>` (writes bulk OUT).

pub mod interface;
pub mod pipes;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusb::UsbContext;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::interface::{EndpointInfo, InterfaceInfo, LinkInterface, PortPath, UsbId, find_link};
use self::pipes::{BulkPipes, Direction, PipesEnd};
use super::{Docking, TransportKind};

/// How long the monitor waits for libusb events before it looks at shutdown and re-scan times.
const EVENT_WAIT: Duration = Duration::from_millis(200);
/// A wearable whose pull gave up while it stays plugged in is tried again after this long.
const RETRY_AFTER: Duration = Duration::from_secs(300);

/// What the USB transport is told by the config.
#[derive(Debug, Clone)]
pub struct UsbSettings {
    pub ids: Vec<UsbId>,
    /// Use libusb hot-plug events where libusb has them.
    pub hotplug: bool,
    /// Re-scan period: the only way to see arrivals where libusb has no hot-plug, and a safety
    /// net for missed events where it has.
    pub rescan: Duration,
}

/// Why the USB transport could not start. The rest of the dock runs on without it.
#[derive(Debug, thiserror::Error)]
pub enum UsbError {
    #[error("libusb could not start ({0}); is this machine's USB stack (usbfs, udev) available?")]
    Init(rusb::Error),
    #[error("cannot start the USB monitor thread: {0}")]
    Thread(std::io::Error),
}

/// Starts the USB transport: a monitor thread that sends each docked wearable to `dockings` until
/// `cancel` fires. Join the returned handle (off the runtime) to wait for every USB thread.
pub fn start(
    settings: UsbSettings,
    dockings: mpsc::Sender<Docking>,
    cancel: CancellationToken,
) -> Result<std::thread::JoinHandle<()>, UsbError> {
    let context = rusb::Context::new().map_err(UsbError::Init)?;
    let (ended_tx, ended_rx) = std::sync::mpsc::channel();
    let monitor = Monitor {
        context,
        settings,
        dockings,
        known: HashMap::new(),
        events: Arc::default(),
        ended_tx,
        ended_rx,
        workers: Vec::new(),
    };
    std::thread::Builder::new()
        .name("usb-monitor".into())
        .spawn(move || monitor.run(&cancel))
        .map_err(UsbError::Thread)
}

/// A device on the bus, by bus number and address (an address is never reused while the device
/// stays, and a re-plugged device gets a new one).
type DeviceKey = (u8, u8);

enum HotplugEvent {
    Arrived(rusb::Device<rusb::Context>),
    Left(rusb::Device<rusb::Context>),
}

/// Queues hot-plug events: libusb forbids I/O inside its callback, so the monitor acts on them
/// after `handle_events` returns.
struct Collector(Arc<Mutex<Vec<HotplugEvent>>>);

impl rusb::Hotplug<rusb::Context> for Collector {
    fn device_arrived(&mut self, device: rusb::Device<rusb::Context>) {
        lock(&self.0).push(HotplugEvent::Arrived(device));
    }
    fn device_left(&mut self, device: rusb::Device<rusb::Context>) {
        lock(&self.0).push(HotplugEvent::Left(device));
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the monitor knows about a device on the bus.
enum Seen {
    /// Not a wearable (other VID:PID, a hub, or no link interface): left alone.
    NotOurs,
    /// A wearable that could not be used; reported once, tried again when re-plugged.
    Skipped,
    /// Claimed; its thread runs. Setting `stop` ends it.
    Active { stop: Arc<AtomicBool> },
    /// Its docking ended while it stays plugged in (the pull gave up on it).
    Ended { at: Instant },
}

struct Monitor {
    context: rusb::Context,
    settings: UsbSettings,
    dockings: mpsc::Sender<Docking>,
    known: HashMap<DeviceKey, Seen>,
    events: Arc<Mutex<Vec<HotplugEvent>>>,
    ended_tx: std::sync::mpsc::Sender<DeviceKey>,
    ended_rx: std::sync::mpsc::Receiver<DeviceKey>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Monitor {
    fn run(mut self, cancel: &CancellationToken) {
        let rescan_s = self.settings.rescan.as_secs();
        let registration = if self.settings.hotplug {
            rusb::HotplugBuilder::new()
                .enumerate(false)
                .register(&self.context, Box::new(Collector(Arc::clone(&self.events))))
                .inspect_err(|error| {
                    tracing::info!(%error, rescan_s, "libusb has no hot-plug here; USB is re-scanned periodically instead.");
                })
                .ok()
        } else {
            tracing::info!(
                rescan_s,
                "USB hot-plug is off (usb.hotplug = false); the bus is re-scanned periodically."
            );
            None
        };
        if registration.is_some() {
            tracing::info!(rescan_s, "USB transport running with hot-plug events.");
        }
        self.rescan();
        let mut last_scan = Instant::now();
        while !cancel.is_cancelled() {
            if let Err(error) = self.context.handle_events(Some(EVENT_WAIT)) {
                tracing::warn!(error = %error, "libusb event handling failed; retrying.");
                std::thread::sleep(EVENT_WAIT);
            }
            let events = std::mem::take(&mut *lock(&self.events));
            for event in events {
                match event {
                    HotplugEvent::Arrived(device) => self.consider(&device),
                    HotplugEvent::Left(device) => self.left(key_of(&device)),
                }
            }
            while let Ok(key) = self.ended_rx.try_recv() {
                if let Some(seen) = self.known.get_mut(&key) {
                    *seen = Seen::Ended { at: Instant::now() };
                }
            }
            if last_scan.elapsed() >= self.settings.rescan {
                self.rescan();
                last_scan = Instant::now();
            }
            self.workers.retain(|worker| !worker.is_finished());
        }
        drop(registration);
        for seen in self.known.values() {
            if let Seen::Active { stop } = seen {
                stop.store(true, Ordering::Release);
            }
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        tracing::debug!("USB transport stopped.");
    }

    /// Lists the bus: forgets devices that are gone, retries wearables whose pull gave up long
    /// ago, and considers every device not seen before.
    fn rescan(&mut self) {
        let devices = match self.context.devices() {
            Ok(devices) => devices,
            Err(error) => {
                tracing::warn!(error = %error, "Cannot list USB devices; trying again at the next re-scan.");
                return;
            }
        };
        let present: HashMap<DeviceKey, rusb::Device<rusb::Context>> =
            devices.iter().map(|d| (key_of(&d), d)).collect();
        let gone: Vec<DeviceKey> = self
            .known
            .keys()
            .filter(|key| !present.contains_key(key))
            .copied()
            .collect();
        for key in gone {
            self.left(key);
        }
        self.known
            .retain(|_, seen| !matches!(seen, Seen::Ended { at } if at.elapsed() >= RETRY_AFTER));
        for device in present.values() {
            self.consider(device);
        }
    }

    fn left(&mut self, key: DeviceKey) {
        if let Some(Seen::Active { stop }) = self.known.remove(&key) {
            stop.store(true, Ordering::Release);
        }
    }

    /// Decides whether a device is a wearable and, if so, starts its thread.
    fn consider(&mut self, device: &rusb::Device<rusb::Context>) {
        let key = key_of(device);
        if self.known.contains_key(&key) {
            return;
        }
        let seen = self.examine(device);
        self.known.insert(key, seen);
    }

    fn examine(&mut self, device: &rusb::Device<rusb::Context>) -> Seen {
        let Ok(descriptor) = device.device_descriptor() else {
            return Seen::NotOurs;
        };
        let (vid, pid) = (descriptor.vendor_id(), descriptor.product_id());
        if !interface::is_wearable_id(&self.settings.ids, vid, pid) {
            return Seen::NotOurs;
        }
        let ports = device.port_numbers().unwrap_or_default();
        let Some(port) = PortPath::new(device.bus_number(), &ports) else {
            return Seen::NotOurs;
        };
        let interfaces = match interfaces_of(device) {
            Ok(interfaces) => interfaces,
            Err(error) => {
                tracing::warn!(%port, id = %format!("{vid:04x}:{pid:04x}"), error = %error, "USB device has unreadable descriptors; skipped.");
                return Seen::Skipped;
            }
        };
        let link = match find_link(&interfaces) {
            Ok(link) => link,
            Err(reason) => {
                tracing::info!(%port, id = %format!("{vid:04x}:{pid:04x}"), %reason, "USB device with a wearable's id is not a wearable link; ignored.");
                return Seen::NotOurs;
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            device: device.clone(),
            descriptor,
            link,
            port: port.clone(),
            dockings: self.dockings.clone(),
            stop: Arc::clone(&stop),
            ended: self.ended_tx.clone(),
            key: key_of(device),
        };
        match std::thread::Builder::new()
            .name(format!("usb {port}"))
            .spawn(move || worker.run())
        {
            Ok(handle) => {
                self.workers.push(handle);
                Seen::Active { stop }
            }
            Err(error) => {
                tracing::error!(%port, error = %error, "Cannot start a thread for a USB wearable; skipped.");
                Seen::Skipped
            }
        }
    }
}

fn key_of(device: &rusb::Device<rusb::Context>) -> DeviceKey {
    (device.bus_number(), device.address())
}

/// The device's interfaces as plain data, from its active configuration (or its first one when
/// it is not configured yet).
fn interfaces_of(device: &rusb::Device<rusb::Context>) -> Result<Vec<InterfaceInfo>, rusb::Error> {
    let config = device
        .active_config_descriptor()
        .or_else(|_| device.config_descriptor(0))?;
    Ok(config
        .interfaces()
        .flat_map(|interface| interface.descriptors())
        .map(|alt| InterfaceInfo {
            number: alt.interface_number(),
            alternate: alt.setting_number(),
            class: [alt.class_code(), alt.sub_class_code(), alt.protocol_code()],
            endpoints: alt
                .endpoint_descriptors()
                .map(|e| EndpointInfo {
                    address: e.address(),
                    bulk: e.transfer_type() == rusb::TransferType::Bulk,
                    max_packet: e.max_packet_size(),
                })
                .collect(),
        })
        .collect())
}

/// One wearable's thread: claim, identify, hand over, pump, release.
struct Worker {
    device: rusb::Device<rusb::Context>,
    descriptor: rusb::DeviceDescriptor,
    link: LinkInterface,
    port: PortPath,
    dockings: mpsc::Sender<Docking>,
    stop: Arc<AtomicBool>,
    ended: std::sync::mpsc::Sender<DeviceKey>,
    key: DeviceKey,
}

/// Why a wearable could not be taken into use.
#[derive(Debug, thiserror::Error)]
enum ClaimError {
    #[error("cannot open it ({0}); check the dock's udev rule gives dockd access")]
    Open(rusb::Error),
    #[error("cannot claim its link interface ({0}); is another program using it?")]
    Claim(rusb::Error),
    #[error("cannot select its link interface's alternate setting ({0})")]
    Alternate(rusb::Error),
    #[error("it reports no serial number")]
    NoSerial,
    #[error("cannot read its serial number ({0})")]
    Serial(rusb::Error),
}

impl Worker {
    fn run(self) {
        let port = self.port.to_string();
        match self.claim() {
            Ok((pipes, serial)) => {
                let end = self.hand_over(&pipes, serial, &port);
                if let Err(error) = pipes.handle.release_interface(self.link.number)
                    && !pipes::means_undocked(error)
                {
                    tracing::debug!(%port, error = %error, "Releasing the link interface failed.");
                }
                match end {
                    PipesEnd::Undocked(error) => {
                        tracing::debug!(%port, error = %error, "USB wearable left.");
                    }
                    PipesEnd::Closed => {
                        // The pull ended while the device is (as far as USB knows) still there.
                        let _ = self.ended.send(self.key);
                    }
                    PipesEnd::Stopped => {}
                }
            }
            Err(error) => {
                tracing::warn!(%port, error = %error, "USB wearable skipped.");
                let _ = self.ended.send(self.key);
            }
        }
    }

    fn claim(&self) -> Result<(LinkPipes, String), ClaimError> {
        let handle = self.device.open().map_err(ClaimError::Open)?;
        // Detach a kernel driver that bound to the interface, and reattach it when we let go.
        // Where the platform cannot, claiming below says so.
        let _ = handle.set_auto_detach_kernel_driver(true);
        handle
            .claim_interface(self.link.number)
            .map_err(ClaimError::Claim)?;
        if self.link.alternate != 0 {
            handle
                .set_alternate_setting(self.link.number, self.link.alternate)
                .map_err(ClaimError::Alternate)?;
        }
        if self.descriptor.serial_number_string_index().is_none() {
            return Err(ClaimError::NoSerial);
        }
        let serial = handle
            .read_serial_number_string_ascii(&self.descriptor)
            .map_err(ClaimError::Serial)?;
        Ok((
            LinkPipes {
                handle,
                ep_in: self.link.ep_in,
                ep_out: self.link.ep_out,
            },
            serial,
        ))
    }

    fn hand_over(&self, pipes: &LinkPipes, serial: String, port: &str) -> PipesEnd {
        let (stream, ends) = pipes::stream();
        tracing::info!(%port, ep_out = %format!("{:#04x}", self.link.ep_out), ep_in = %format!("{:#04x}", self.link.ep_in), "USB wearable docked.");
        let docking = Docking {
            stream: Box::new(stream),
            transport: TransportKind::Usb,
            port: port.to_owned(),
            serial: Some(serial),
        };
        if self.dockings.blocking_send(docking).is_err() {
            return PipesEnd::Stopped;
        }
        pipes::pump(pipes, ends, &self.stop, port)
    }
}

/// A claimed link interface's bulk pipes on a real device.
struct LinkPipes {
    handle: rusb::DeviceHandle<rusb::Context>,
    ep_in: u8,
    ep_out: u8,
}

impl BulkPipes for LinkPipes {
    fn read(&self, buf: &mut [u8], timeout: Duration) -> Result<usize, rusb::Error> {
        self.handle.read_bulk(self.ep_in, buf, timeout)
    }

    fn write(&self, bytes: &[u8], timeout: Duration) -> Result<usize, rusb::Error> {
        self.handle.write_bulk(self.ep_out, bytes, timeout)
    }

    fn clear_halt(&self, direction: Direction) -> Result<(), rusb::Error> {
        self.handle.clear_halt(match direction {
            Direction::In => self.ep_in,
            Direction::Out => self.ep_out,
        })
    }
}
