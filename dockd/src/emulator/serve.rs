//! One docking from the wearable's side: read request frames from the dock, answer each through
//! the firmware model, apply the docking's faults. It owns the device end of the byte stream; it
//! must never send a frame the dock did not ask for, nor panic on any bytes the dock sends.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::clock::{Clock, SystemClock};
use crate::link::{FrameDecoder, Request, Response};

use super::faults::{Faults, FaultyLink};
use super::fleet::UNDOCK_GRACE;
use super::wearable::Wearable;

/// A request frame not completed within this time is dropped, as the firmware's receive timeout
/// does: a damaged length field cannot wedge the link, and the dock's retry (after 2 s) arrives
/// into an empty buffer.
const PARTIAL_REQUEST_TIMEOUT: Duration = Duration::from_millis(500);

/// How a docking ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeEnd {
    /// The dock closed the stream (it finished, or gave up on the link).
    DockClosed,
    /// The `unplug_after_bytes` fault pulled the wearable out.
    Unplugged,
    /// The dock had taken everything and went quiet, so the wearable left the dock.
    Drained,
    /// The caller cancelled the docking.
    Cancelled,
}

/// When a docking may end from the wearable's side.
#[derive(Debug, Clone, Copy)]
pub(super) struct Undock<'a> {
    pub cancel: &'a CancellationToken,
    /// How long the wearable stays in its slot once drained. It then leaves at the first moment the
    /// dock has been quiet for [`UNDOCK_GRACE`] (or `stay`, if shorter), so it never walks out of a
    /// conversation, while a dock's regular refresh (every `dock.refresh_s`) cannot keep it docked
    /// for ever.
    pub stay: Duration,
}

impl Undock<'_> {
    /// How long to wait for the dock's next request before leaving, for a wearable drained at
    /// `drained_at`: until the stay is over, and at least the quiet time.
    fn wait(&self, drained_at: Instant) -> Duration {
        let quiet = self.stay.min(UNDOCK_GRACE);
        (drained_at + self.stay)
            .saturating_duration_since(Instant::now())
            .max(quiet)
    }
}

/// Serves one docking over `stream` until the dock closes it or a fault unplugs the wearable.
pub async fn serve<S>(wearable: &mut Wearable, stream: S, faults: &Faults) -> io::Result<ServeEnd>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    serve_docking(wearable, stream, faults, None).await
}

/// Serves a docking over a stream that is already connected (a fake USB device's pipes, where
/// docking is plugging in) until the wearable has been drained and then left alone for `stay`,
/// the dock closes the stream, a fault unplugs it, or `cancel` fires.
pub async fn serve_until_drained<S>(
    wearable: &mut Wearable,
    stream: S,
    faults: &Faults,
    stay: Duration,
    cancel: &CancellationToken,
) -> io::Result<ServeEnd>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let undock = Undock { cancel, stay };
    serve_docking(wearable, stream, faults, Some(undock)).await
}

/// [`serve`], also ending when `undock` says so.
pub(super) async fn serve_docking<S>(
    wearable: &mut Wearable,
    stream: S,
    faults: &Faults,
    undock: Option<Undock<'_>>,
) -> io::Result<ServeEnd>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    wearable.docked();
    let mut link = FaultyLink::new(stream, faults);
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0; 16 * 1024];
    let mut answered = 0u64;
    let mut drained_at = None;
    loop {
        if link.unplugged() {
            return Ok(unplugged(wearable));
        }
        while let Some(frame) = decoder.next_frame() {
            let frame = match frame {
                Ok(frame) => frame,
                Err(err) => {
                    // Real firmware drops a damaged request and lets the dock time out and retry.
                    debug!(serial = wearable.serial(), %err, "Damaged request frame ignored.");
                    continue;
                }
            };
            if faults.silent {
                continue;
            }
            let response = match faults.answer_error {
                Some(code) => Response::Error {
                    code,
                    message: "injected fault".to_owned(),
                },
                None => wearable.handle(
                    Request::decode(frame.kind, &frame.payload),
                    SystemClock.now_ms(),
                ),
            };
            let mut bytes = response.encode_frame(frame.seq);
            answered += 1;
            faults.tamper(answered, &mut bytes);
            let written = link.write_all(&bytes).await;
            if link.unplugged() {
                return Ok(unplugged(wearable));
            }
            written?;
        }
        if wearable.drained() {
            drained_at.get_or_insert_with(Instant::now);
        }
        let grace = undock.zip(drained_at).map(|(undock, at)| undock.wait(at));
        let partial = (decoder.buffered() > 0).then_some(PARTIAL_REQUEST_TIMEOUT);
        let read = tokio::select! {
            read = link.read(&mut buf) => read?,
            () = cancelled(undock) => return Ok(ServeEnd::Cancelled),
            () = quiet_for(grace) => {
                info!(serial = wearable.serial(), "Emulated wearable drained: undocking.");
                return Ok(ServeEnd::Drained);
            }
            () = quiet_for(partial) => {
                debug!(serial = wearable.serial(), bytes = decoder.buffered(), "Partial request dropped.");
                decoder.clear();
                continue;
            }
        };
        if read == 0 {
            return Ok(ServeEnd::DockClosed);
        }
        decoder.push(&buf[..read]);
    }
}

fn unplugged(wearable: &Wearable) -> ServeEnd {
    info!(
        serial = wearable.serial(),
        "Emulated wearable unplugged mid-docking (injected fault)."
    );
    ServeEnd::Unplugged
}

async fn cancelled(undock: Option<Undock<'_>>) {
    match undock {
        Some(undock) => undock.cancel.cancelled().await,
        None => std::future::pending().await,
    }
}

/// Sleeps for `duration`, or forever when there is nothing to time.
async fn quiet_for(duration: Option<Duration>) {
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tokio::io::DuplexStream;
    use tokio::time::timeout;

    use super::*;
    use crate::emulator::testing::{ANSWER, Dock, NO_ANSWER};
    use crate::emulator::{MINUTE_MS, ShiftSpec, WearableSpec};
    use crate::link::{FrameError, MAX_READ, error_code, kind};

    const HEALTHY: Faults = Faults {
        unplug_after_bytes: None,
        flip_bit_every: None,
        bytes_per_sec: None,
        answer_error: None,
        silent: false,
    };

    fn wearable() -> Wearable {
        let now = SystemClock.now_ms();
        let shift = ShiftSpec {
            segment_ms: 8 * MINUTE_MS,
            ..ShiftSpec::ending_at(now, 16 * MINUTE_MS)
        };
        Wearable::new(WearableSpec::new("KW-000007", 3, shift))
    }

    fn link() -> (DuplexStream, Dock<DuplexStream>) {
        let (wearable_end, dock_end) = tokio::io::duplex(1 << 20);
        (wearable_end, Dock::new(dock_end))
    }

    #[tokio::test]
    async fn each_request_is_answered_with_its_seq_and_serving_ends_when_the_dock_closes() {
        let mut wearable = wearable();
        let (stream, mut dock) = link();
        let script = async move {
            assert!(matches!(
                dock.ask(&Request::Hello { proto_max: 1 }).await,
                Response::Info(_)
            ));
            let ids = dock.list().await;
            assert_eq!(ids.len(), 2);
            let read = Request::Read {
                id: ids[0],
                offset: 0,
                max_len: MAX_READ,
            };
            match dock.ask(&read).await {
                Response::Data { bytes, .. } => assert_eq!(bytes.len(), MAX_READ as usize),
                other => panic!("READ answered with {other:?}"),
            }
            assert_eq!(dock.ask(&Request::Erase { id: ids[0] }).await, Response::Ok);
            assert_eq!(dock.list().await, &ids[1..]);
        };
        let (end, ()) = tokio::join!(serve(&mut wearable, stream, &HEALTHY), script);
        assert_eq!(end.unwrap(), ServeEnd::DockClosed);
        assert_eq!(wearable.erased_ids().len(), 1);
    }

    #[tokio::test]
    async fn a_request_with_a_bad_crc_gets_no_answer_and_the_next_one_does() {
        let mut wearable = wearable();
        let (stream, mut dock) = link();
        let script = async move {
            let mut bad = Request::List.encode_frame(41);
            let last = bad.len() - 1;
            bad[last] ^= 1;
            dock.stream.write_all(&bad).await.unwrap();
            assert!(
                timeout(NO_ANSWER, dock.frame()).await.is_err(),
                "no answer to a damaged frame"
            );
            assert!(matches!(
                dock.ask(&Request::List).await,
                Response::Segments(_)
            ));
        };
        let (end, ()) = tokio::join!(serve(&mut wearable, stream, &HEALTHY), script);
        assert_eq!(end.unwrap(), ServeEnd::DockClosed);
    }

    #[tokio::test]
    async fn a_garbled_length_is_dropped_after_the_receive_timeout() {
        let mut wearable = wearable();
        let (stream, mut dock) = link();
        let script = async move {
            // A request header announcing 60 000 payload bytes that never come.
            let mut header = Request::List.encode_frame(1);
            header.truncate(12);
            header[8..12].copy_from_slice(&60_000u32.to_le_bytes());
            dock.stream.write_all(&header).await.unwrap();
            assert!(
                timeout(PARTIAL_REQUEST_TIMEOUT * 2, dock.frame())
                    .await
                    .is_err()
            );
            assert!(matches!(
                dock.ask(&Request::List).await,
                Response::Segments(_)
            ));
        };
        let (end, ()) = tokio::join!(serve(&mut wearable, stream, &HEALTHY), script);
        assert_eq!(end.unwrap(), ServeEnd::DockClosed);
    }

    #[tokio::test]
    async fn an_unplug_fault_delivers_exactly_n_bytes_then_ends_the_connection() {
        let mut wearable = wearable();
        let (stream, mut dock) = link();
        let faults = Faults {
            unplug_after_bytes: Some(1000),
            ..Faults::default()
        };
        let script = async move {
            dock.send(&Request::Hello { proto_max: 1 }).await;
            dock.send(&Request::List).await;
            dock.send(&Request::Read {
                id: 1,
                offset: 0,
                max_len: MAX_READ,
            })
            .await;
            let mut received = Vec::new();
            timeout(ANSWER, dock.stream.read_to_end(&mut received))
                .await
                .unwrap()
                .unwrap();
            received.len()
        };
        let (end, received) = tokio::join!(serve(&mut wearable, stream, &faults), script);
        assert_eq!(end.unwrap(), ServeEnd::Unplugged);
        assert_eq!(received, 1000);
    }

    #[tokio::test]
    async fn a_bit_flip_fault_damages_every_nth_response_frame() {
        let mut wearable = wearable();
        let (stream, mut dock) = link();
        let faults = Faults {
            flip_bit_every: Some(2),
            ..Faults::default()
        };
        let script = async move {
            let mut damaged = Vec::new();
            for _ in 0..4 {
                dock.send(&Request::GetConfig).await;
                let mut bad = false;
                // A damaged frame is skipped by its magic and may leave garbage behind; read
                // until the next good frame or nothing more comes.
                loop {
                    match timeout(NO_ANSWER, dock.frame()).await {
                        Ok(Some(Ok(_))) | Err(_) => break,
                        Ok(Some(Err(FrameError::BadCrc { .. }))) => bad = true,
                        Ok(Some(Err(_))) => {}
                        Ok(None) => panic!("the wearable closed the link"),
                    }
                }
                damaged.push(bad);
            }
            damaged
        };
        let (end, damaged) = tokio::join!(serve(&mut wearable, stream, &faults), script);
        assert_eq!(end.unwrap(), ServeEnd::DockClosed);
        assert_eq!(damaged, [false, true, false, true]);
    }

    #[tokio::test]
    async fn a_silent_wearable_never_answers() {
        let mut wearable = wearable();
        let (stream, mut dock) = link();
        let faults = Faults {
            silent: true,
            ..Faults::default()
        };
        let script = async move {
            dock.send(&Request::Hello { proto_max: 1 }).await;
            assert!(timeout(NO_ANSWER, dock.frame()).await.is_err());
        };
        let (end, ()) = tokio::join!(serve(&mut wearable, stream, &faults), script);
        assert_eq!(end.unwrap(), ServeEnd::DockClosed);
    }

    #[tokio::test]
    async fn an_error_fault_answers_every_request_with_that_code() {
        let mut wearable = wearable();
        let (stream, mut dock) = link();
        let faults = Faults {
            answer_error: Some(error_code::BUSY),
            ..Faults::default()
        };
        let script = async move {
            for request in [Request::Hello { proto_max: 1 }, Request::Erase { id: 1 }] {
                assert!(matches!(
                    dock.ask(&request).await,
                    Response::Error {
                        code: error_code::BUSY,
                        ..
                    }
                ));
            }
        };
        let (end, ()) = tokio::join!(serve(&mut wearable, stream, &faults), script);
        assert_eq!(end.unwrap(), ServeEnd::DockClosed);
        assert!(
            wearable.erased_ids().is_empty(),
            "a refused ERASE erases nothing"
        );
    }

    #[tokio::test]
    async fn a_drained_wearable_undocks_itself_after_the_grace_period() {
        let mut wearable = wearable();
        let (stream, mut dock) = link();
        let cancel = CancellationToken::new();
        let undock = Undock {
            cancel: &cancel,
            stay: Duration::from_millis(50),
        };
        let script = async move {
            for id in dock.list().await {
                assert_eq!(dock.ask(&Request::Erase { id }).await, Response::Ok);
            }
            assert!(
                dock.list().await.is_empty(),
                "still answering during the grace period"
            );
            // The wearable leaves: the dock sees the link close.
            assert!(timeout(ANSWER, dock.frame()).await.unwrap().is_none());
        };
        let (end, ()) = tokio::join!(
            serve_docking(&mut wearable, stream, &HEALTHY, Some(undock)),
            script
        );
        assert_eq!(end.unwrap(), ServeEnd::Drained);
    }

    #[tokio::test]
    async fn a_drained_wearable_leaves_after_its_stay_although_the_dock_keeps_refreshing() {
        let mut wearable = wearable();
        let (stream, mut dock) = link();
        let cancel = CancellationToken::new();
        // The stay is longer than the dock's refresh interval, which is longer than the quiet
        // time: a stay counted from the last request would never end.
        let (stay, refresh) = (Duration::from_secs(2), Duration::from_millis(1300));
        let undock = Undock {
            cancel: &cancel,
            stay,
        };
        let script = async move {
            for id in dock.list().await {
                assert_eq!(dock.ask(&Request::Erase { id }).await, Response::Ok);
            }
            let drained = Instant::now();
            for _ in 0..8 {
                match timeout(refresh, dock.frame()).await {
                    // The wearable left: the dock sees the link close.
                    Ok(None) => return drained.elapsed(),
                    Ok(Some(frame)) => panic!("an answer nobody asked for: {frame:?}"),
                    Err(_) => assert!(dock.list().await.is_empty(), "a refresh poll"),
                }
            }
            panic!("still docked after 8 refreshes");
        };
        let (end, left_after) = tokio::join!(
            serve_docking(&mut wearable, stream, &HEALTHY, Some(undock)),
            script
        );
        assert_eq!(end.unwrap(), ServeEnd::Drained);
        assert!(
            left_after >= stay && left_after < stay + refresh + UNDOCK_GRACE,
            "left {left_after:?} after being drained"
        );
    }

    #[tokio::test]
    async fn cancelling_a_docking_ends_it() {
        let mut wearable = wearable();
        let (stream, _dock) = link();
        let cancel = CancellationToken::new();
        cancel.cancel();
        let undock = Undock {
            cancel: &cancel,
            stay: Duration::from_secs(60),
        };
        let end = serve_docking(&mut wearable, stream, &HEALTHY, Some(undock)).await;
        assert_eq!(end.unwrap(), ServeEnd::Cancelled);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_bytes_from_the_dock_are_survived(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8)) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let mut wearable = wearable();
                let (stream, mut dock) = link();
                let script = async move {
                    for chunk in chunks {
                        dock.stream.write_all(&chunk).await.unwrap();
                    }
                };
                let (end, ()) = tokio::join!(serve(&mut wearable, stream, &HEALTHY), script);
                // The dock closed right after its garbage: an answer in flight may hit a closed pipe.
                assert!(matches!(end, Ok(ServeEnd::DockClosed) | Err(_)));
            });
        }

        #[test]
        fn any_well_framed_request_gets_one_decodable_answer(request_kind in 0u8..=0x0a, payload in prop::collection::vec(any::<u8>(), 0..40)) {
            let mut wearable = wearable();
            let response = wearable.handle(Request::decode(request_kind, &payload), SystemClock.now_ms());
            let decoded = Response::decode(response.kind(), &response.encode_payload()).unwrap();
            prop_assert_eq!(&decoded, &response);
            if !(kind::HELLO..=kind::SET_WORKER).contains(&request_kind) {
                prop_assert!(matches!(response, Response::Error { code: error_code::UNKNOWN_TYPE, .. }), "unknown types are refused");
            }
        }
    }
}
