//! USB docking end to end: the real `dockd` binary runs its real rusb → libusb → usbfs path under
//! umockdev's preload, against fake devices whose ioctl handler runs in this test process and
//! bridges each device's bulk pipes to the same wearable emulator the socket tests use. Each test
//! re-executes itself under the preload (`under_umockdev!`), creates the testbed, then starts
//! dockd, which inherits `LD_PRELOAD` and `UMOCKDEV_DIR`. What umockdev cannot show — a real
//! kernel's hub and timing — is recorded in shared/research/usb-testing.md.

use std::time::Duration;

use dockd::emulator::{Faults, ServeEnd, ShiftSpec, Wearable, serve_until_drained};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use usb_testbed::{DeviceSpec, Plugged, Testbed, UnplugError, under_umockdev};

use crate::spine::{assert_matches_truth, body, fleet, shift};
use crate::support::{Dock, wait_for};

/// How long a drained wearable stays in its slot before the test takes it out.
const STAY: Duration = Duration::from_millis(600);

/// Starts dockd with USB on, a short retry timer (the fake bus answers in about a millisecond)
/// and the given extra `[usb]` keys.
fn usb_dock(name: &str, usb: &str) -> Dock {
    Dock::start_with(
        name,
        &format!("request_timeout_ms = 400\n[usb]\nenabled = true\n{usb}\n"),
    )
}

/// A wearable plugged into the fake bus, served by the emulator until it is drained and has sat
/// in its slot for [`STAY`], a fault unplugs it, or the dock lets go of it.
struct Docked {
    plugged: Plugged,
    serving: JoinHandle<(Wearable, ServeEnd)>,
    /// Takes the wearable out of the emulator's hands (its device stays plugged).
    cancel: CancellationToken,
}

fn plug(testbed: &Testbed, spec: DeviceSpec, wearable: Wearable, faults: Faults) -> Docked {
    plug_for(testbed, spec, wearable, faults, STAY)
}

/// Like [`plug`], with the wearable staying `stay` after it was drained.
fn plug_for(
    testbed: &Testbed,
    spec: DeviceSpec,
    mut wearable: Wearable,
    faults: Faults,
    stay: Duration,
) -> Docked {
    let plugged = testbed.plug(spec);
    let end = plugged.device_end();
    let cancel = CancellationToken::new();
    let served_cancel = cancel.clone();
    let serving = tokio::spawn(async move {
        let served = serve_until_drained(&mut wearable, end, &faults, stay, &served_cancel)
            .await
            .unwrap_or(ServeEnd::DockClosed);
        (wearable, served)
    });
    Docked {
        plugged,
        serving,
        cancel,
    }
}

impl Docked {
    async fn served(self, limit: Duration) -> (Plugged, Wearable, ServeEnd) {
        let (wearable, end) = tokio::time::timeout(limit, self.serving)
            .await
            .expect("the emulated wearable finished in time")
            .expect("the emulator task");
        (self.plugged, wearable, end)
    }
}

/// The page's live tiles, from its JSON API.
fn tiles(dock: &Dock) -> Vec<Value> {
    let status: Value = serde_json::from_str(body(&dock.get("/api/v1/status"))).unwrap();
    status["slots"].as_array().unwrap().clone()
}

fn tile(dock: &Dock, slot: u64) -> Option<Value> {
    tiles(dock).into_iter().find(|t| t["slot"] == slot)
}

async fn wait_for_tile(dock: &Dock, slot: u64, state: &str, limit: Duration) -> Value {
    let started = std::time::Instant::now();
    loop {
        if let Some(tile) = tile(dock, slot).filter(|t| t["state"] == state) {
            return tile;
        }
        assert!(
            started.elapsed() < limit,
            "slot {slot} never became {state}: {:?}\nlog:\n{}",
            tiles(dock),
            dock.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn status_entry(dock: &Dock, serial: &str) -> Value {
    dock.status_json()["wearables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["serial"] == serial)
        .unwrap_or_else(|| panic!("{serial} missing from dockd status"))
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usb_wearables_are_found_by_id_and_class_pulled_completely_and_shown_in_their_slots() {
    under_umockdev!(
        usb_wearables_are_found_by_id_and_class_pulled_completely_and_shown_in_their_slots
    );
    let testbed = Testbed::new();
    let dock = usb_dock(
        "usb-slots",
        "rescan_s = 1\n[usb.slots]\n\"1-1.2\" = 7\n\"1-3\" = 4\n",
    );
    let mut wearables = tokio::task::spawn_blocking(|| fleet(3, 41, shift(1, 20)))
        .await
        .unwrap();
    let (third, second, first) = (
        wearables.pop().unwrap(),
        wearables.pop().unwrap(),
        wearables.pop().unwrap(),
    );
    let serials = [first.serial(), second.serial(), third.serial()].map(str::to_owned);

    // Not wearables: the right id with a foreign interface class, another vendor's device, and a
    // device with the right id whose configuration descriptor is broken.
    let foreign = testbed.plug(DeviceSpec {
        interface: [0xFF, 0x00, 0x00],
        ..DeviceSpec::wearable("1-4", "KW-FOREIGN")
    });
    let other = testbed.plug(DeviceSpec {
        vid: 0x0bda,
        pid: 0x8153,
        ..DeviceSpec::wearable("1-5", "OTHER")
    });
    let broken = testbed.plug(DeviceSpec {
        bad_descriptors: true,
        ..DeviceSpec::wearable("1-6", "KW-BROKEN")
    });

    // Odd endpoint numbers on one wearable; one wearable on a port with no configured slot.
    let odd_spec = DeviceSpec {
        ep_out: 0x05,
        ep_in: 0x83,
        ..DeviceSpec::wearable("1-1.2", &serials[0])
    };
    let docked = [
        plug(&testbed, odd_spec, first, Faults::default()),
        plug(
            &testbed,
            DeviceSpec::wearable("1-3", &serials[1]),
            second,
            Faults::default(),
        ),
        plug(
            &testbed,
            DeviceSpec::wearable("1-7", &serials[2]),
            third,
            Faults::default(),
        ),
    ];
    let mut plugged = Vec::new();
    for docked in docked {
        let (device, wearable, end) = docked.served(Duration::from_secs(90)).await;
        assert_eq!(end, ServeEnd::Drained, "{}", wearable.serial());
        assert_matches_truth(&dock, &wearable);
        assert!(device.stats().bulk_in_bytes > 0);
        plugged.push(device);
    }

    for (serial, slot) in serials.iter().zip([7, 4, 1]) {
        let entry = status_entry(&dock, serial);
        assert_eq!(entry["slot"], slot, "{entry}");
        assert_eq!(entry["transport"], "usb", "{entry}");
        let tile = tile(&dock, slot).expect("a tile for the slot");
        assert_eq!(tile["serial"], serial.as_str());
        assert_eq!(tile["state"], "done");
    }
    for (device, what) in [
        (&foreign, "foreign class"),
        (&other, "other vendor"),
        (&broken, "broken descriptors"),
    ] {
        assert!(
            !device.stats().ever_claimed,
            "the {what} device was claimed"
        );
    }
    let log = dock.log();
    for expected in [
        "1-6",
        "unreadable descriptors",
        "1-4",
        "not a wearable link",
        "1-7",
        "no [usb.slots] entry",
    ] {
        assert!(log.contains(expected), "log lacks {expected:?}:\n{log}");
    }
    assert_eq!(
        dock.count("SELECT count(*) FROM wearable"),
        3,
        "only wearables are recorded"
    );

    // Taking them out shows at once (hot-plug), and the interface is released.
    for device in &plugged {
        device.unplug(UnplugError::NoDevice);
    }
    for slot in [7, 4, 1] {
        wait_for_tile(&dock, slot, "undocked", Duration::from_secs(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_plug_arrival_starts_a_pull_and_departure_ends_it_without_waiting_for_a_rescan() {
    under_umockdev!(
        hot_plug_arrival_starts_a_pull_and_departure_ends_it_without_waiting_for_a_rescan
    );
    let testbed = Testbed::new();
    // An hour between re-scans: anything seen within the test came from hot-plug events.
    let dock = usb_dock(
        "usb-hotplug",
        "rescan_s = 3600\n[usb.slots]\n\"1-2\" = 2\n[dock]\nrefresh_s = 1\n",
    );
    let wearable = tokio::task::spawn_blocking(|| fleet(1, 52, shift(1, 30)).remove(0))
        .await
        .unwrap();
    let serial = wearable.serial().to_owned();

    // It stays in its slot after the pull: the dock re-reads its battery every `refresh_s`.
    let docked = plug_for(
        &testbed,
        DeviceSpec::wearable("1-2", &serial),
        wearable,
        Faults::default(),
        Duration::from_secs(3600),
    );
    let charging = wait_for_tile(&dock, 2, "done", Duration::from_secs(60)).await;
    assert!(charging["battery_soc"].is_u64(), "{charging}");
    let requests = docked.plugged.stats().bulk_out_transfers;
    wait_for("two battery refreshes", Duration::from_secs(10), || {
        (docked.plugged.stats().bulk_out_transfers >= requests + 2).then_some(())
    });
    assert_eq!(tile(&dock, 2).unwrap()["state"], "done");
    docked.cancel.cancel();
    let (device, mut wearable, end) = docked.served(Duration::from_secs(10)).await;
    assert_eq!(end, ServeEnd::Cancelled);
    assert!(wearable.drained());
    assert_matches_truth(&dock, &wearable);
    assert!(
        device.stats().claimed,
        "the link interface is held while docked"
    );
    device.unplug(UnplugError::NoDevice);
    wait_for_tile(&dock, 2, "undocked", Duration::from_secs(5)).await;

    // Back from another shift: docking again pulls only the new segments.
    let before = wearable.truth().segments.len();
    wearable = tokio::task::spawn_blocking(move || {
        let next = ShiftSpec {
            start_wall_ms: dockd::clock::Clock::now_ms(&dockd::clock::SystemClock) - 30 * 60 * 1000,
            ..*wearable.shift()
        };
        wearable.load_shift(next);
        wearable
    })
    .await
    .unwrap();
    assert!(wearable.truth().segments.len() > before);
    let docked = plug(
        &testbed,
        DeviceSpec::wearable("1-2", &serial),
        wearable,
        Faults::default(),
    );
    let (_device, wearable, end) = docked.served(Duration::from_secs(60)).await;
    assert_eq!(end, ServeEnd::Drained);
    assert_matches_truth(&dock, &wearable);
    assert_eq!(
        dock.count("SELECT count(*) FROM docking WHERE port = '1-2' AND transport = 'usb'"),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_hot_plug_off_the_rescan_finds_arrivals_and_an_undocking_still_ends_the_pull() {
    under_umockdev!(
        with_hot_plug_off_the_rescan_finds_arrivals_and_an_undocking_still_ends_the_pull
    );
    let testbed = Testbed::new();
    let dock = usb_dock(
        "usb-rescan",
        "hotplug = false\nrescan_s = 1\n[usb.slots]\n\"1-2\" = 1\n",
    );
    let wearable = tokio::task::spawn_blocking(|| fleet(1, 58, shift(1, 30)).remove(0))
        .await
        .unwrap();
    let spec = DeviceSpec::wearable("1-2", wearable.serial());
    let (device, wearable, end) = plug(&testbed, spec, wearable, Faults::default())
        .served(Duration::from_secs(60))
        .await;
    assert_eq!(end, ServeEnd::Drained);
    assert_matches_truth(&dock, &wearable);
    device.unplug(UnplugError::Proto);
    wait_for_tile(&dock, 1, "undocked", Duration::from_secs(5)).await;
    assert!(dock.log().contains("usb.hotplug = false"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undocking_mid_read_at_several_offsets_with_each_kernel_error_loses_nothing_and_stores_nothing_twice()
 {
    under_umockdev!(
        undocking_mid_read_at_several_offsets_with_each_kernel_error_loses_nothing_and_stores_nothing_twice
    );
    let testbed = Testbed::new();
    let dock = usb_dock("usb-unplug", "rescan_s = 1\n[usb.slots]\n\"1-1.4\" = 1\n");
    let mut wearable = tokio::task::spawn_blocking(|| fleet(1, 63, shift(2, 15)).remove(0))
        .await
        .unwrap();
    let serial = wearable.serial().to_owned();
    let errors = [
        UnplugError::Shutdown,
        UnplugError::Proto,
        UnplugError::NoDevice,
    ];
    // Inside HELLO's answer, inside the first READ, between frames, and deep into later segments.
    let offsets = [40, 2_000, 65_600, 180_000, 333_333, 520_000];
    let mut unplugs = 0;
    for (i, offset) in offsets.into_iter().enumerate() {
        if wearable.drained() {
            break;
        }
        let faults = Faults {
            unplug_after_bytes: Some(offset),
            ..Faults::default()
        };
        let docked = plug(
            &testbed,
            DeviceSpec::wearable("1-1.4", &serial),
            wearable,
            faults,
        );
        let (device, back, end) = docked.served(Duration::from_secs(60)).await;
        wearable = back;
        device.unplug(errors[i % errors.len()]);
        if end == ServeEnd::Unplugged {
            unplugs += 1;
        }
        // The dock notices the undocking before the wearable comes back.
        let open = "SELECT count(*) FROM docking WHERE undocked_ms IS NULL";
        wait_for("the docking to end", Duration::from_secs(10), || {
            (dock.count(open) == 0).then_some(())
        });
    }
    assert!(unplugs >= 4, "only {unplugs} dockings were cut short");
    let docked = plug(
        &testbed,
        DeviceSpec::wearable("1-1.4", &serial),
        wearable,
        Faults::default(),
    );
    let (_device, wearable, end) = docked.served(Duration::from_secs(60)).await;
    assert_eq!(end, ServeEnd::Drained);
    assert!(wearable.stored_segments().is_empty());
    assert_matches_truth(&dock, &wearable);
    let log = dock.log();
    assert!(
        !log.contains("panicked"),
        "a pull panicked on an undocking:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalls_babble_and_unanswered_requests_are_retried_and_a_wearable_that_keeps_failing_is_given_up_cleanly()
 {
    under_umockdev!(
        stalls_babble_and_unanswered_requests_are_retried_and_a_wearable_that_keeps_failing_is_given_up_cleanly
    );
    let testbed = Testbed::new();
    let dock = usb_dock(
        "usb-stall",
        "rescan_s = 1\n[usb.slots]\n\"1-2\" = 1\n\"1-3\" = 2\n\"1-4\" = 3\n\"1-5\" = 4\n\"1-6\" = 5\n\"1-7\" = 6\n",
    );
    let wearables = tokio::task::spawn_blocking(|| fleet(6, 74, shift(1, 30)))
        .await
        .unwrap();
    // (port, slot, stalls, babbles, unanswered): twice each recovers, forever is given up.
    let plans = [
        ("1-2", 1, 2, 0, 0),
        ("1-3", 2, 0, 2, 0),
        ("1-4", 3, 0, 0, 2),
        ("1-5", 4, u32::MAX, 0, 0),
        ("1-6", 5, 0, u32::MAX, 0),
        ("1-7", 6, 0, 0, u32::MAX),
    ];
    let mut docked: Vec<_> = wearables
        .into_iter()
        .zip(plans)
        .map(|(wearable, (port, slot, stalls, babbles, unanswered))| {
            let spec = DeviceSpec {
                stall_requests: stalls,
                babble_requests: babbles,
                ignore_requests: unanswered,
                ..DeviceSpec::wearable(port, wearable.serial())
            };
            (
                slot,
                stalls,
                babbles,
                plug(&testbed, spec, wearable, Faults::default()),
            )
        })
        .collect();
    let failing = docked.split_off(3);

    for (_slot, stalls, babbles, docked) in docked {
        let (device, wearable, end) = docked.served(Duration::from_secs(60)).await;
        assert_eq!(end, ServeEnd::Drained, "{}", wearable.serial());
        assert_matches_truth(&dock, &wearable);
        let stats = device.stats();
        assert_eq!(stats.stalls, u64::from(stalls), "{stats:?}");
        assert_eq!(stats.babbles, u64::from(babbles), "{stats:?}");
        assert!(stats.clear_halts >= u64::from(stalls), "{stats:?}");
    }

    // Four attempts each (protocol.md §2), then the slot says what to do; nothing was erased,
    // and the daemon and the other slots carried on.
    for (slot, _stalls, _babbles, docked) in failing {
        let tile = wait_for_tile(&dock, slot, "error", Duration::from_secs(20)).await;
        assert!(
            tile["advice"]
                .as_str()
                .unwrap_or_default()
                .contains("stopped answering"),
            "{tile}"
        );
        let stats = docked.plugged.stats();
        assert!(stats.bulk_out_transfers >= 4, "{stats:?}");
        assert!(
            stats.stalls >= 4 || stats.babbles >= 4 || slot == 6,
            "{stats:?}"
        );
        docked.plugged.unplug(UnplugError::NoDevice);
        let (_device, wearable, _end) = docked.served(Duration::from_secs(10)).await;
        assert!(
            wearable.erased_ids().is_empty(),
            "{} lost data",
            wearable.serial()
        );
    }
    let log = dock.log();
    for port in ["1-5", "1-6", "1-7"] {
        assert!(
            log.lines()
                .any(|line| line.contains("Pull stopped") && line.contains(port)),
            "the given-up port {port} is reported:\n{log}"
        );
    }
    assert!(
        log.lines()
            .any(|line| line.contains("babbled") && line.contains("1-6")),
        "the babbling port is reported:\n{log}"
    );
    assert_eq!(
        dock.count("SELECT count(*) FROM wearable"),
        3,
        "wearables that never answered HELLO are not recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wearable_whose_usb_serial_differs_from_its_own_is_refused_and_keeps_its_data() {
    under_umockdev!(a_wearable_whose_usb_serial_differs_from_its_own_is_refused_and_keeps_its_data);
    let testbed = Testbed::new();
    let dock = usb_dock("usb-serial", "[usb.slots]\n\"1-2\" = 1\n");
    let wearable = tokio::task::spawn_blocking(|| fleet(1, 85, shift(1, 30)).remove(0))
        .await
        .unwrap();
    let docked = plug(
        &testbed,
        DeviceSpec::wearable("1-2", "KW-999999"),
        wearable,
        Faults::default(),
    );
    let tile = wait_for_tile(&dock, 1, "error", Duration::from_secs(20)).await;
    assert!(
        tile["advice"]
            .as_str()
            .unwrap_or_default()
            .contains("identifies itself inconsistently"),
        "{tile}"
    );
    docked.plugged.unplug(UnplugError::Shutdown);
    let (_device, wearable, _end) = docked.served(Duration::from_secs(10)).await;
    assert!(wearable.erased_ids().is_empty());
    assert_eq!(dock.count("SELECT count(*) FROM segment"), 0);
    assert!(dock.log().contains("does not match"));
}
