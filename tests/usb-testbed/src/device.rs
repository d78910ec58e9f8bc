//! One fake USB device: answers usbdevfs ioctls (URBs, claims, halts) and exposes its bulk pipes
//! as a byte stream (`DeviceEnd`). It must never know the wearable protocol, never block the
//! umockdev worker for more than a poll interval, and never abort on odd input from a client.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::ffi::{Client, Data, IoctlHandler};
use crate::{DeviceSpec, DeviceStats, UnplugError};

// <linux/usbdevice_fs.h>, x86_64.
const SUBMITURB: u64 = 0x8038_550a;
const DISCARDURB: u64 = 0x550b;
const REAPURB: u64 = 0x4008_550c;
const REAPURBNDELAY: u64 = 0x4008_550d;
const GET_CAPABILITIES: u64 = 0x8004_551a;
const CLAIMINTERFACE: u64 = 0x8004_550f;
const RELEASEINTERFACE: u64 = 0x8004_5510;
const DISCONNECT_CLAIM: u64 = 0x8108_551b;
const GETDRIVER: u64 = 0x4104_5508;
const USBDEVFS_IOCTL: u64 = 0xc010_5512;
const SETINTERFACE: u64 = 0x8008_5504;
const SETCONFIGURATION: u64 = 0x8004_5505;
const CLEAR_HALT: u64 = 0x8004_5515;
const RESET: u64 = 0x5514;
/// ZERO_PACKET | BULK_CONTINUATION | NO_PACKET_SIZE_LIM | BULK_SCATTER_GATHER | REAP_AFTER_DISCONNECT:
/// libusb then submits each bulk transfer as one URB.
const CAPABILITIES: u32 = 0x1f;
const URB_SIZE: usize = 56;
const URB_CONTROL: u8 = 2;
const URB_BULK: u8 = 3;
const MAX_URB_BUFFER: usize = 16 << 20;
/// Device-end writes beyond this many undelivered bytes wait for the host to read.
pub(crate) const IN_BUFFER_CAP: usize = 256 * 1024;
/// libusb busy-polls the fake node (a regular file); waiting this long before "nothing to reap"
/// keeps that spin at about a third of a core (research/usb-testing.md, "Cost of busy polling").
const EMPTY_REAP_DELAY: Duration = Duration::from_micros(200);

/// How a URB ends: status, and the bytes to copy into its buffer (after the setup packet for control).
struct Done {
    status: i32,
    data: Vec<u8>,
    /// Bytes transferred, for OUT (where `data` stays empty).
    out_len: usize,
}

impl Done {
    fn new(status: i32, data: Vec<u8>, out_len: usize) -> Done {
        Done {
            status,
            data,
            out_len,
        }
    }
}

struct Urb {
    client: Client,
    addr: u64,
    urb: Data,
    buf: Option<Data>,
    is_in_bulk: bool,
    is_control: bool,
    buf_len: usize,
    done: Option<Done>,
}

#[derive(Default)]
struct State {
    to_device: VecDeque<u8>,
    to_host: VecDeque<u8>,
    reader: Option<Waker>,
    writer: Option<Waker>,
    unplugged: Option<UnplugError>,
    stall_budget: u32,
    ignore_budget: u32,
    babble_budget: u32,
    /// Babbles owed to the next bulk IN URBs.
    babbling: u32,
    halted: bool,
    urbs: Vec<Urb>,
    stats: DeviceStats,
    end_taken: bool,
}

pub(crate) struct Device {
    spec: DeviceSpec,
    state: Mutex<State>,
}

impl Device {
    pub(crate) fn new(spec: DeviceSpec) -> Arc<Device> {
        let state = State {
            stall_budget: spec.stall_requests,
            babble_budget: spec.babble_requests,
            ignore_budget: spec.ignore_requests,
            ..State::default()
        };
        Arc::new(Device {
            spec,
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is already reported by `on_ioctl`; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn stats(&self) -> DeviceStats {
        self.lock().stats
    }

    pub(crate) fn pending_in_urbs(&self) -> usize {
        self.lock()
            .urbs
            .iter()
            .filter(|u| u.is_in_bulk && u.done.is_none())
            .count()
    }

    pub(crate) fn stall_requests(&self, n: u32) {
        self.lock().stall_budget = n;
    }

    pub(crate) fn ignore_requests(&self, n: u32) {
        self.lock().ignore_budget = n;
    }

    pub(crate) fn babble_requests(&self, n: u32) {
        self.lock().babble_budget = n;
    }

    pub(crate) fn take_end(self: &Arc<Device>) -> DeviceEnd {
        let mut s = self.lock();
        assert!(
            !s.end_taken,
            "usb-testbed: device_end() may be called once per plug"
        );
        s.end_taken = true;
        DeviceEnd(Arc::clone(self))
    }

    /// Ends every URB still in flight with `how`'s status; later submits and reaps see ENODEV.
    pub(crate) fn unplug(&self, how: UnplugError) {
        let status = -match how {
            UnplugError::Shutdown => libc::ESHUTDOWN,
            UnplugError::Proto => libc::EPROTO,
            UnplugError::NoDevice => libc::ENODEV,
        };
        let mut s = self.lock();
        s.unplugged = Some(how);
        s.to_host.clear();
        s.to_device.clear();
        for urb in s.urbs.iter_mut().filter(|u| u.done.is_none()) {
            urb.done = Some(Done::new(status, Vec::new(), 0));
        }
        let wakers = [s.reader.take(), s.writer.take()];
        drop(s);
        wakers.into_iter().flatten().for_each(Waker::wake);
    }

    fn submit(&self, client: &Client, arg: &Data) -> (i64, i32) {
        let Some(urb) = arg.resolve(0, URB_SIZE) else {
            return (-1, libc::EFAULT);
        };
        let b = urb.bytes();
        if b.len() < URB_SIZE {
            return (-1, libc::EFAULT);
        }
        let (kind, ep) = (b[0], b[1]);
        let len = i32::from_ne_bytes([b[24], b[25], b[26], b[27]]);
        let Ok(buf_len) = usize::try_from(len) else {
            return (-1, libc::EINVAL);
        };
        let is_control = kind == URB_CONTROL;
        let valid = match kind {
            URB_CONTROL => buf_len >= 8,
            URB_BULK => ep == self.spec.ep_out || ep == self.spec.ep_in,
            _ => false,
        };
        if !valid || buf_len > MAX_URB_BUFFER {
            let errno = if kind == URB_BULK {
                libc::ENOENT
            } else {
                libc::EINVAL
            };
            return (-1, errno);
        }
        let buf = urb.resolve(16, buf_len);
        let mut s = self.lock();
        if s.unplugged.is_some() {
            return (-1, libc::ENODEV);
        }
        let bytes = buf.as_ref().map_or(&[][..], Data::bytes);
        let done = if is_control {
            s.stats.control_transfers += 1;
            Some(match self.control(&mut s, bytes) {
                Some(reply) => Done::new(0, reply, 0),
                None => Done::new(-libc::EPIPE, Vec::new(), 0),
            })
        } else if ep == self.spec.ep_out {
            s.stats.bulk_out_transfers += 1;
            s.stats.bulk_out_bytes += bytes.len() as u64;
            if s.stall_budget > 0 {
                s.stall_budget -= 1;
                s.halted = true;
            } else if s.babble_budget > 0 {
                if s.babble_budget != u32::MAX {
                    s.babble_budget -= 1;
                }
                s.babbling += 1;
            } else if s.ignore_budget > 0 {
                if s.ignore_budget != u32::MAX {
                    s.ignore_budget -= 1;
                }
            } else {
                s.to_device.extend(bytes);
                if let Some(w) = s.reader.take() {
                    w.wake();
                }
            }
            Some(Done::new(0, Vec::new(), bytes.len()))
        } else if buf_len == 0 {
            Some(Done::new(0, Vec::new(), 0))
        } else {
            None // bulk IN: parked until the device end has bytes, completed at a reap
        };
        let addr = urb.client_addr();
        let is_in_bulk = !is_control && ep == self.spec.ep_in;
        s.urbs.push(Urb {
            client: client.clone(),
            addr,
            urb,
            buf,
            is_in_bulk,
            is_control,
            buf_len,
            done,
        });
        (0, 0)
    }

    /// Standard requests only; `None` = STALL.
    fn control(&self, s: &mut State, setup: &[u8]) -> Option<Vec<u8>> {
        let (rt, req) = (setup[0], setup[1]);
        let value = u16::from_le_bytes([setup[2], setup[3]]);
        let index = u16::from_le_bytes([setup[4], setup[5]]);
        let max = usize::from(u16::from_le_bytes([setup[6], setup[7]])).min(setup.len() - 8);
        let mut reply = match (rt, req) {
            (0x80, 6) => {
                let spec = &self.spec;
                match (value >> 8, value & 0xff) {
                    (1, _) => device_descriptor(spec.vid, spec.pid, 0, 0),
                    (2, 0) => config_descriptor(spec),
                    (3, 0) => vec![4, 3, 0x09, 0x04],
                    (3, 1) => string_descriptor(&spec.manufacturer),
                    (3, 2) => string_descriptor(&spec.product),
                    (3, 3) => string_descriptor(&spec.serial),
                    _ => return None,
                }
            }
            (0x80..=0x82, 0) => vec![0, 0],
            (0x80, 8) => vec![1],
            (0x00, 9) | (0x01, 11) => Vec::new(),
            (0x02, 1) if value == 0 => {
                if index as u8 == self.spec.ep_in {
                    s.halted = false;
                }
                s.stats.clear_halts += 1;
                Vec::new()
            }
            _ => return None,
        };
        reply.truncate(max);
        Some(reply)
    }

    /// Gives parked bulk IN URBs what the device end has written (or the halt).
    fn progress(&self, s: &mut State) {
        let mut freed = false;
        for i in 0..s.urbs.len() {
            if s.urbs[i].done.is_some() || !s.urbs[i].is_in_bulk {
                continue;
            }
            if s.halted {
                s.stats.stalls += 1;
                s.urbs[i].done = Some(Done::new(-libc::EPIPE, Vec::new(), 0));
            } else if s.babbling > 0 {
                s.babbling -= 1;
                s.stats.babbles += 1;
                s.urbs[i].done = Some(Done::new(-libc::EOVERFLOW, Vec::new(), 0));
            } else if !s.to_host.is_empty() {
                let n = s.urbs[i].buf_len.min(s.to_host.len());
                let data: Vec<u8> = s.to_host.drain(..n).collect();
                s.stats.bulk_in_transfers += 1;
                s.stats.bulk_in_bytes += n as u64;
                s.urbs[i].done = Some(Done::new(0, data, 0));
                freed = true;
            }
        }
        if freed && let Some(w) = s.writer.take() {
            w.wake();
        }
    }

    fn reap(&self, client: &Client, arg: &Data) -> (i64, i32) {
        let mut s = self.lock();
        s.urbs.retain(|u| u.client.connected());
        self.progress(&mut s);
        let found = s
            .urbs
            .iter()
            .position(|u| u.client.id() == client.id() && u.done.is_some());
        let Some(i) = found else {
            let gone = s.unplugged.is_some();
            drop(s);
            if gone {
                return (-1, libc::ENODEV);
            }
            std::thread::sleep(EMPTY_REAP_DELAY);
            return (-1, libc::EAGAIN);
        };
        let Urb {
            mut urb,
            mut buf,
            done,
            is_control,
            ..
        } = s.urbs.remove(i);
        drop(s);
        let done = done.unwrap_or(Done::new(-libc::EIO, Vec::new(), 0));
        let Done {
            status,
            data,
            out_len,
        } = done;
        let offset = if is_control { 8 } else { 0 };
        let mut actual = out_len;
        if let Some(buf) = buf.as_mut() {
            let dst = buf.bytes_mut();
            let n = data.len().min(dst.len().saturating_sub(offset));
            dst[offset..offset + n].copy_from_slice(&data[..n]);
            actual = actual.max(n);
        }
        let u = urb.bytes_mut();
        u[4..8].copy_from_slice(&status.to_ne_bytes());
        u[28..32].copy_from_slice(&(actual as i32).to_ne_bytes());
        let Some(mut slot) = arg.resolve(0, 8) else {
            return (-1, libc::EFAULT);
        };
        if !slot.set_ptr(0, &urb) {
            return (-1, libc::EFAULT);
        }
        (0, 0)
    }

    fn discard(&self, client: &Client, arg: &Data) -> (i64, i32) {
        let Ok(addr) = <[u8; 8]>::try_from(arg.bytes()).map(u64::from_ne_bytes) else {
            return (-1, libc::EINVAL);
        };
        let mut s = self.lock();
        let pending = s
            .urbs
            .iter_mut()
            .find(|u| u.client.id() == client.id() && u.addr == addr && u.done.is_none());
        let Some(urb) = pending else {
            return (-1, libc::EINVAL);
        };
        urb.done = Some(Done::new(-libc::ENOENT, Vec::new(), 0));
        s.stats.discards += 1;
        (0, 0)
    }

    /// Reads the `unsigned int` the ioctl argument points to.
    fn arg_u32(arg: &Data) -> Option<u32> {
        let d = arg.resolve(0, 4)?;
        Some(u32::from_ne_bytes(d.bytes().get(..4)?.try_into().ok()?))
    }
}

impl IoctlHandler for Device {
    fn ioctl(&self, client: &Client) -> (i64, i32) {
        let Some(arg) = client.arg() else {
            return (-1, libc::EFAULT);
        };
        let request = client.request();
        match request {
            SUBMITURB => self.submit(client, &arg),
            REAPURB | REAPURBNDELAY => self.reap(client, &arg),
            DISCARDURB => self.discard(client, &arg),
            _ if self.lock().unplugged.is_some() => (-1, libc::ENODEV),
            GET_CAPABILITIES => match arg.resolve(0, 4) {
                Some(mut d) => {
                    d.bytes_mut().copy_from_slice(&CAPABILITIES.to_ne_bytes());
                    (0, 0)
                }
                None => (-1, libc::EFAULT),
            },
            CLAIMINTERFACE | DISCONNECT_CLAIM => {
                let mut s = self.lock();
                s.stats.claimed = true;
                s.stats.ever_claimed = true;
                (0, 0)
            }
            RELEASEINTERFACE => {
                self.lock().stats.claimed = false;
                (0, 0)
            }
            CLEAR_HALT => {
                let ep = Self::arg_u32(&arg);
                let mut s = self.lock();
                if ep == Some(u32::from(self.spec.ep_in)) {
                    s.halted = false;
                }
                s.stats.clear_halts += 1;
                (0, 0)
            }
            GETDRIVER => (-1, libc::ENODATA),
            SETINTERFACE | SETCONFIGURATION | RESET => (0, 0),
            USBDEVFS_IOCTL => (-1, libc::ENOTTY),
            _ => (-1, libc::ENOTTY),
        }
    }
}

/// The device's end of the bulk pipes: read what the host wrote to bulk OUT, write what the
/// host's bulk IN URBs will receive. EOF / `BrokenPipe` after unplug.
pub struct DeviceEnd(Arc<Device>);

impl AsyncRead for DeviceEnd {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut s = self.0.lock();
        if !s.to_device.is_empty() {
            let n = out.remaining().min(s.to_device.len());
            let (a, b) = s.to_device.as_slices();
            let first = n.min(a.len());
            out.put_slice(&a[..first]);
            out.put_slice(&b[..n - first]);
            s.to_device.drain(..n);
            return Poll::Ready(Ok(()));
        }
        if s.unplugged.is_some() {
            return Poll::Ready(Ok(()));
        }
        s.reader = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl AsyncWrite for DeviceEnd {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut s = self.0.lock();
        if s.unplugged.is_some() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "usb device unplugged",
            )));
        }
        let room = IN_BUFFER_CAP.saturating_sub(s.to_host.len());
        if room == 0 && !buf.is_empty() {
            s.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(buf.len());
        s.to_host.extend(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

pub(crate) fn device_descriptor(vid: u16, pid: u16, class: u8, protocol: u8) -> Vec<u8> {
    let (v, p) = (vid.to_le_bytes(), pid.to_le_bytes());
    vec![
        18, 1, 0x00, 0x02, class, 0, protocol, 64, v[0], v[1], p[0], p[1], 0x00, 0x01, 1, 2, 3, 1,
    ]
}

/// Configuration 1 with interface 0 and its two bulk endpoints, or a broken one (`bad_descriptors`).
pub(crate) fn config_descriptor(spec: &DeviceSpec) -> Vec<u8> {
    let [class, sub, proto] = spec.interface;
    let mp = spec.max_packet.to_le_bytes();
    let mut d = vec![9, 2, 32, 0, 1, 1, 0, 0x80, 50];
    if spec.bad_descriptors {
        // wTotalLength says 32, but the interface descriptor claims bLength 4 (< 9): libusb's
        // parser must reject it (LIBUSB_ERROR_IO).
        d.extend([4, 4, 0, 0, 2, class, sub, proto, 0]);
        return d;
    }
    d.extend([9, 4, 0, 0, 2, class, sub, proto, 0]);
    d.extend([7, 5, spec.ep_out, 2, mp[0], mp[1], 0]);
    d.extend([7, 5, spec.ep_in, 2, mp[0], mp[1], 0]);
    d
}

/// A hub's configuration: interface class 9 with its interrupt IN status endpoint.
pub(crate) fn hub_config_descriptor() -> Vec<u8> {
    vec![
        9, 2, 25, 0, 1, 1, 0, 0xe0, 0, 9, 4, 0, 0, 1, 9, 0, 0, 0, 7, 5, 0x81, 3, 4, 0, 12,
    ]
}

fn string_descriptor(s: &str) -> Vec<u8> {
    let mut d = vec![0, 3];
    d.extend(s.encode_utf16().take(126).flat_map(u16::to_le_bytes));
    d[0] = d.len() as u8;
    d
}
