//! Self-tests of the harness through the real rusb → libusb path, one umockdev process per test.
//! They use their own `rusb::Context`, never the global one, and never sleep-and-hope.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns: a failed unwrap is a failed test.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use rusb::{Context, Device, DeviceHandle, UsbContext};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use usb_testbed::{DeviceSpec, Plugged, Testbed, UnplugError, under_umockdev};

const T: Duration = Duration::from_secs(2);

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn device_at(ctx: &Context, ports: &[u8]) -> Device<Context> {
    let list = ctx.devices().unwrap();
    let found = list.iter().find(|d| d.port_numbers().unwrap() == ports);
    found.unwrap_or_else(|| panic!("no device at port path {ports:?}"))
}

fn open_claimed(ctx: &Context, ports: &[u8]) -> DeviceHandle<Context> {
    let handle = device_at(ctx, ports).open().unwrap();
    handle.claim_interface(0).unwrap();
    handle
}

/// Serves `plugged`'s bulk pipes by echoing every chunk back, on its own runtime thread.
fn echo(plugged: &Plugged) -> std::thread::JoinHandle<()> {
    let mut end = plugged.device_end();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = end.read(&mut buf).await {
                if end.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
    })
}

#[test]
fn wearables_enumerate_with_bus_port_path_serial_class_and_endpoints() {
    under_umockdev!(wearables_enumerate_with_bus_port_path_serial_class_and_endpoints);
    let bed = Testbed::new();
    let mut spec = DeviceSpec::wearable("1-2", "SN-0001");
    (spec.ep_out, spec.ep_in) = (0x05, 0x83);
    let _a = bed.plug(spec);
    let _b = bed.plug(DeviceSpec::wearable("1-1.3", "SN-0002"));
    let ctx = Context::new().unwrap();

    let a = device_at(&ctx, &[2]);
    let desc = a.device_descriptor().unwrap();
    assert_eq!(
        (desc.vendor_id(), desc.product_id(), a.bus_number()),
        (0x1209, 0x4b57, 1)
    );
    let handle = a.open().unwrap();
    assert_eq!(
        handle.read_serial_number_string_ascii(&desc).unwrap(),
        "SN-0001"
    );
    assert_eq!(handle.read_product_string_ascii(&desc).unwrap(), "wearable");
    let config = a.config_descriptor(0).unwrap();
    let alt = config
        .interfaces()
        .next()
        .unwrap()
        .descriptors()
        .next()
        .unwrap();
    assert_eq!(
        (alt.class_code(), alt.sub_class_code(), alt.protocol_code()),
        (0xff, 0x4b, 0x01)
    );
    let eps: Vec<u8> = alt.endpoint_descriptors().map(|e| e.address()).collect();
    assert_eq!(eps, [0x05, 0x83]);

    let b = device_at(&ctx, &[1, 3]);
    let handle = b.open().unwrap();
    let desc = b.device_descriptor().unwrap();
    assert_eq!(
        handle.read_serial_number_string_ascii(&desc).unwrap(),
        "SN-0002"
    );
    let hub = device_at(&ctx, &[1]).device_descriptor().unwrap();
    assert_eq!(hub.class_code(), 9);
}

#[test]
fn bulk_bytes_round_trip_through_the_device_end_and_an_idle_read_times_out() {
    under_umockdev!(bulk_bytes_round_trip_through_the_device_end_and_an_idle_read_times_out);
    let bed = Testbed::new();
    let plugged = bed.plug(DeviceSpec::wearable("1-2", "SN-0001"));
    let mut end = plugged.device_end();
    // More than the 256 KiB device-end buffer, so the writer must wait for the host to drain.
    let reply: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let expected = reply.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let device = rt.spawn(async move {
        let mut request = [0u8; 11];
        end.read_exact(&mut request).await.unwrap();
        end.write_all(&reply).await.unwrap();
        request
    });

    let ctx = Context::new().unwrap();
    let handle = open_claimed(&ctx, &[2]);
    assert_eq!(handle.write_bulk(0x01, b"hello there", T).unwrap(), 11);
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let mut reads = 0;
    while got.len() < expected.len() {
        let n = handle.read_bulk(0x81, &mut buf, T).unwrap();
        got.extend_from_slice(&buf[..n]);
        reads += 1;
    }
    assert!(got == expected, "reply bytes differ");
    assert!(reads > 1);
    assert_eq!(&rt.block_on(device).unwrap(), b"hello there");

    let started = Instant::now();
    assert_eq!(
        handle.read_bulk(0x81, &mut buf, Duration::from_millis(100)),
        Err(rusb::Error::Timeout)
    );
    assert!(started.elapsed() >= Duration::from_millis(100));
    let stats = plugged.stats();
    assert!(stats.claimed && stats.ever_claimed);
    assert_eq!((stats.bulk_out_transfers, stats.bulk_out_bytes), (1, 11));
    assert_eq!(
        (stats.bulk_in_transfers, stats.bulk_in_bytes),
        (reads, 300_000)
    );
    assert_eq!(stats.discards, 1);
    assert!(stats.control_transfers == 0);
}

#[test]
fn a_stalled_request_fails_the_read_with_pipe_until_the_halt_is_cleared() {
    under_umockdev!(a_stalled_request_fails_the_read_with_pipe_until_the_halt_is_cleared);
    let bed = Testbed::new();
    let plugged = bed.plug(DeviceSpec::wearable("1-2", "SN-0001"));
    let _echo = echo(&plugged);
    let ctx = Context::new().unwrap();
    let handle = open_claimed(&ctx, &[2]);
    let mut buf = [0u8; 64];

    plugged.stall_requests(1);
    assert_eq!(handle.write_bulk(0x01, b"lost", T).unwrap(), 4);
    assert_eq!(handle.read_bulk(0x81, &mut buf, T), Err(rusb::Error::Pipe));
    handle.clear_halt(0x81).unwrap();
    assert_eq!(handle.write_bulk(0x01, b"again", T).unwrap(), 5);
    let n = handle.read_bulk(0x81, &mut buf, T).unwrap();
    assert_eq!(&buf[..n], b"again");
    let stats = plugged.stats();
    assert_eq!((stats.stalls, stats.clear_halts), (1, 1));

    plugged.ignore_requests(1);
    assert_eq!(handle.write_bulk(0x01, b"unanswered", T).unwrap(), 10);
    assert_eq!(
        handle.read_bulk(0x81, &mut buf, Duration::from_millis(50)),
        Err(rusb::Error::Timeout)
    );
    assert_eq!(handle.write_bulk(0x01, b"answered", T).unwrap(), 8);
    let n = handle.read_bulk(0x81, &mut buf, T).unwrap();
    assert_eq!(&buf[..n], b"answered");
}

struct Events(mpsc::Sender<(bool, u8)>);

impl rusb::Hotplug<Context> for Events {
    fn device_arrived(&mut self, device: Device<Context>) {
        let _ = self.0.send((true, device.address()));
    }
    fn device_left(&mut self, device: Device<Context>) {
        let _ = self.0.send((false, device.address()));
    }
}

#[test]
fn unplugging_fails_a_pending_read_reports_departure_and_the_port_can_be_replugged() {
    under_umockdev!(
        unplugging_fails_a_pending_read_reports_departure_and_the_port_can_be_replugged
    );
    let bed = Testbed::new();
    // A second wearable keeps working while the first is unplugged and re-plugged.
    let bystander = bed.plug(DeviceSpec::wearable("1-3", "SN-0003"));
    let _echo = echo(&bystander);
    let ctx = Context::new().unwrap();
    let other = open_claimed(&ctx, &[3]);
    assert!(rusb::has_hotplug());
    let (tx, events) = mpsc::channel();
    let _registration = rusb::HotplugBuilder::new()
        .enumerate(false)
        .register(&ctx, Box::new(Events(tx)))
        .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pump = {
        let (ctx, stop) = (ctx.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                ctx.handle_events(Some(Duration::from_millis(20))).unwrap();
            }
        })
    };

    let mut last_address = 0;
    for how in [
        UnplugError::Shutdown,
        UnplugError::Proto,
        UnplugError::NoDevice,
    ] {
        let plugged = bed.plug(DeviceSpec::wearable("1-2", "SN-0001"));
        let mut end = plugged.device_end();
        let (arrived, address) = events.recv_timeout(T).unwrap();
        assert!(
            arrived && address > last_address,
            "arrival of a new device number, got {address}"
        );
        last_address = address;
        let handle = open_claimed(&ctx, &[2]);
        let reader = std::thread::spawn(move || {
            handle.read_bulk(0x81, &mut [0u8; 64], Duration::from_secs(5))
        });
        wait_until("the read is pending", || plugged.pending_in_urbs() == 1);

        plugged.unplug(how);
        let error = reader.join().unwrap().unwrap_err();
        println!("unplug {how:?} -> pending read_bulk gave {error:?}");
        assert!(
            matches!(
                error,
                rusb::Error::NoDevice | rusb::Error::Io | rusb::Error::Pipe | rusb::Error::Other
            ),
            "{how:?} gave {error:?}"
        );
        assert_eq!(events.recv_timeout(T).unwrap(), (false, address));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            assert_eq!(end.read(&mut [0u8; 8]).await.unwrap(), 0);
            let err = end.write(b"late").await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
        });
        assert_eq!(other.write_bulk(0x01, b"still here", T).unwrap(), 10);
        let mut buf = [0u8; 64];
        let n = other.read_bulk(0x81, &mut buf, T).unwrap();
        assert_eq!(&buf[..n], b"still here");
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    pump.join().unwrap();
}

#[test]
fn bad_descriptors_fail_to_parse_and_a_foreign_interface_shows_its_class() {
    under_umockdev!(bad_descriptors_fail_to_parse_and_a_foreign_interface_shows_its_class);
    let bed = Testbed::new();
    let mut bad = DeviceSpec::wearable("1-2", "SN-BAD");
    bad.bad_descriptors = true;
    let _bad = bed.plug(bad);
    let mut storage = DeviceSpec::wearable("1-3", "SN-DISK");
    storage.interface = [0x08, 0x06, 0x50];
    let _storage = bed.plug(storage);
    let ctx = Context::new().unwrap();

    let bad = device_at(&ctx, &[2]);
    assert_eq!(bad.device_descriptor().unwrap().vendor_id(), 0x1209);
    let error = bad.config_descriptor(0).unwrap_err();
    println!("bad descriptors -> config_descriptor(0) gave {error:?}");
    assert!(bad.active_config_descriptor().is_err());

    let config = device_at(&ctx, &[3]).config_descriptor(0).unwrap();
    let alt = config
        .interfaces()
        .next()
        .unwrap()
        .descriptors()
        .next()
        .unwrap();
    assert_eq!(
        (alt.class_code(), alt.sub_class_code(), alt.protocol_code()),
        (0x08, 0x06, 0x50)
    );
}

#[test]
fn a_child_process_spawned_after_the_testbed_uses_the_device() {
    under_umockdev!(a_child_process_spawned_after_the_testbed_uses_the_device);
    let bed = Testbed::new();
    let plugged = bed.plug(DeviceSpec::wearable("1-2", "SN-0001"));
    let _echo = echo(&plugged);
    // The child inherits LD_PRELOAD and UMOCKDEV_DIR; its URBs live in its own address space.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process_client",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("USB_TESTBED_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.contains("1 passed"));
    assert!(stdout.contains("child echoed 6 bytes"));
    assert_eq!(plugged.stats().bulk_out_bytes, 6);
}

/// The client half of the test above; does nothing unless that test spawned it.
#[test]
fn child_process_client() {
    if std::env::var_os("USB_TESTBED_CHILD").is_none() {
        return;
    }
    let ctx = Context::new().unwrap();
    let handle = open_claimed(&ctx, &[2]);
    assert_eq!(handle.write_bulk(0x01, b"child!", T).unwrap(), 6);
    let mut buf = [0u8; 64];
    let n = handle.read_bulk(0x81, &mut buf, T).unwrap();
    assert_eq!(&buf[..n], b"child!");
    println!("child echoed {n} bytes");
}

#[test]
fn rusb_is_linked_to_debians_libusb_1_0_26() {
    under_umockdev!(rusb_is_linked_to_debians_libusb_1_0_26);
    let v = rusb::version();
    assert_eq!(
        (v.major(), v.minor(), v.micro()),
        (1, 0, 26),
        "rusb runs libusb {}.{}.{}, not Debian's 1.0.26: libusb1-sys silently builds its bundled copy \
         when pkg-config cannot find libusb-1.0 (install libusb-1.0-0-dev and pkg-config)",
        v.major(),
        v.minor(),
        v.micro()
    );
}
