//! The bridge between one wearable's blocking USB bulk pipes and the async byte stream the pull
//! reads: a reader loop on the device's own thread, a writer thread, and channels in between. It
//! owns how USB errors become stream events (a stall is cleared and left to the link's retry; a
//! vanished device ends the stream); it must never interpret the bytes, and never block or spin
//! on a runtime worker.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

/// How long one bulk IN waits before the reader looks at its stop flag again. On real hardware the
/// wait sleeps in the kernel, so this costs nothing while a wearable has nothing to say.
const READ_WAIT: Duration = Duration::from_millis(500);
/// How long a request frame may take to go out before it counts as lost (the link layer retries).
const WRITE_WAIT: Duration = Duration::from_secs(2);
/// How often the writer looks at the stop flag while it has nothing to send.
const WRITER_POLL: Duration = Duration::from_millis(250);
/// One bulk IN asks for this much: a whole READ response (≤ 65 552 bytes) plus slack, so a frame
/// usually arrives in one transfer.
const READ_CHUNK: usize = 72 * 1024;
/// Received chunks buffered for a pull that is busy elsewhere; beyond this the reader stops reading.
const CHUNKS_BUFFERED: usize = 8;
/// After this many stalls in a row with no data between, the reader waits a little before reading
/// again, so a wedged endpoint cannot keep the bus and a core busy.
const STALLS_BEFORE_BACKOFF: u32 = 3;

/// Which pipe an operation is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

/// The two bulk pipes of a claimed link interface: the narrow seam to libusb, so that the loops
/// below are tested without a bus.
pub trait BulkPipes: Send + Sync + 'static {
    fn read(&self, buf: &mut [u8], timeout: Duration) -> Result<usize, rusb::Error>;
    fn write(&self, bytes: &[u8], timeout: Duration) -> Result<usize, rusb::Error>;
    fn clear_halt(&self, direction: Direction) -> Result<(), rusb::Error>;
}

/// Why a wearable's pipes stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipesEnd {
    /// The dock closed the stream (the pull ended).
    Closed,
    /// The device left the bus (or the kernel reported the transfer failing as if it had).
    Undocked(rusb::Error),
    /// The dock is shutting down, or the device left according to hot-plug.
    Stopped,
}

/// Whether an error means the wearable is no longer there. A real kernel reports an undock during
/// a transfer as `Io` as often as `NoDevice`.
pub fn means_undocked(error: rusb::Error) -> bool {
    matches!(
        error,
        rusb::Error::NoDevice | rusb::Error::Io | rusb::Error::NotFound
    )
}

/// The pull's end: an `AsyncRead + AsyncWrite` over the pipes.
pub struct UsbStream {
    incoming: mpsc::Receiver<io::Result<Vec<u8>>>,
    pending: Vec<u8>,
    consumed: usize,
    outgoing: Option<std_mpsc::Sender<Vec<u8>>>,
    /// Tells the device thread the pull has let go, even while it sits in a bulk IN.
    closed: Arc<AtomicBool>,
}

/// The device thread's end of a [`UsbStream`].
pub struct PipeEnds {
    incoming: mpsc::Sender<io::Result<Vec<u8>>>,
    outgoing: std_mpsc::Receiver<Vec<u8>>,
    closed: Arc<AtomicBool>,
}

/// A connected pair: give the stream to the pull and the ends to [`pump`].
pub fn stream() -> (UsbStream, PipeEnds) {
    let (in_tx, in_rx) = mpsc::channel(CHUNKS_BUFFERED);
    let (out_tx, out_rx) = std_mpsc::channel();
    let closed = Arc::new(AtomicBool::new(false));
    (
        UsbStream {
            incoming: in_rx,
            pending: Vec::new(),
            consumed: 0,
            outgoing: Some(out_tx),
            closed: Arc::clone(&closed),
        },
        PipeEnds {
            incoming: in_tx,
            outgoing: out_rx,
            closed,
        },
    )
}

impl Drop for UsbStream {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Release);
    }
}

impl AsyncRead for UsbStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.consumed == this.pending.len() {
            match this.incoming.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Err(error)),
                Poll::Ready(Some(Ok(chunk))) => {
                    this.pending = chunk;
                    this.consumed = 0;
                }
            }
        }
        let n = buf.remaining().min(this.pending.len() - this.consumed);
        buf.put_slice(&this.pending[this.consumed..this.consumed + n]);
        this.consumed += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for UsbStream {
    /// Hands the bytes to the writer thread. The link sends one small request at a time and waits
    /// for its answer, so the queue never grows; a lost write shows up as a missing answer.
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        let sent = self
            .outgoing
            .as_ref()
            .is_some_and(|tx| tx.send(bytes.to_vec()).is_ok());
        Poll::Ready(if sent {
            Ok(bytes.len())
        } else {
            Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the wearable left the USB bus",
            ))
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.outgoing = None;
        Poll::Ready(Ok(()))
    }
}

/// Moves bytes between `pipes` and the stream until the stream is dropped, the device leaves or
/// `stop` is set. The calling thread reads; a scoped thread writes. Returns once both are done, so
/// the caller may release the interface.
pub fn pump<P: BulkPipes>(pipes: &P, ends: PipeEnds, stop: &AtomicBool, port: &str) -> PipesEnd {
    let PipeEnds {
        incoming,
        outgoing,
        closed,
    } = ends;
    let gone = AtomicBool::new(false);
    let (closed, gone) = (&*closed, &gone);
    std::thread::scope(|scope| {
        let writer = std::thread::Builder::new()
            .name(format!("usb-out {port}"))
            .spawn_scoped(scope, move || {
                write_loop(pipes, &outgoing, closed, stop, gone, port);
            });
        if let Err(error) = writer {
            tracing::error!(%port, error = %error, "Cannot start the USB writer thread; the wearable is skipped.");
            return PipesEnd::Stopped;
        }
        let end = read_loop(pipes, &incoming, closed, stop, gone, port);
        gone.store(true, Ordering::Release);
        end
    })
}

fn read_loop<P: BulkPipes>(
    pipes: &P,
    incoming: &mpsc::Sender<io::Result<Vec<u8>>>,
    closed: &AtomicBool,
    stop: &AtomicBool,
    gone: &AtomicBool,
    port: &str,
) -> PipesEnd {
    let mut buf = vec![0u8; READ_CHUNK];
    let mut stalls = 0u32;
    loop {
        if closed.load(Ordering::Acquire) {
            return PipesEnd::Closed;
        }
        if stop.load(Ordering::Acquire) {
            return PipesEnd::Stopped;
        }
        if gone.load(Ordering::Acquire) {
            let error = rusb::Error::NoDevice;
            let _ = incoming.blocking_send(Err(undocked_error(error)));
            return PipesEnd::Undocked(error);
        }
        match pipes.read(&mut buf, READ_WAIT) {
            Ok(0) => {}
            Ok(n) => {
                stalls = 0;
                if incoming.blocking_send(Ok(buf[..n].to_vec())).is_err() {
                    return PipesEnd::Closed;
                }
            }
            Err(rusb::Error::Timeout) => {}
            Err(rusb::Error::Pipe) => {
                // A STALL answers the request in flight: clear it and let the link retry that
                // request (protocol.md §2); the session gives up after its fourth attempt.
                stalls += 1;
                tracing::debug!(%port, stalls, "Bulk IN stalled; clearing the halt.");
                if let Err(error) = pipes.clear_halt(Direction::In)
                    && means_undocked(error)
                {
                    let _ = incoming.blocking_send(Err(undocked_error(error)));
                    return PipesEnd::Undocked(error);
                }
                if stalls >= STALLS_BEFORE_BACKOFF {
                    std::thread::sleep(Duration::from_millis(50 * u64::from(stalls.min(10))));
                }
            }
            Err(rusb::Error::Overflow) => {
                // The wearable sent more than a transfer holds (babble). The bytes are lost; the
                // link sees a damaged or missing frame and retries.
                tracing::warn!(%port, "Wearable babbled on bulk IN; its answer was dropped.");
            }
            Err(error) => {
                let _ = incoming.blocking_send(Err(undocked_error(error)));
                return PipesEnd::Undocked(error);
            }
        }
    }
}

fn write_loop<P: BulkPipes>(
    pipes: &P,
    outgoing: &std_mpsc::Receiver<Vec<u8>>,
    closed: &AtomicBool,
    stop: &AtomicBool,
    gone: &AtomicBool,
    port: &str,
) {
    loop {
        if stop.load(Ordering::Acquire) || gone.load(Ordering::Acquire) {
            return;
        }
        let frame = match outgoing.recv_timeout(WRITER_POLL) {
            Ok(frame) => frame,
            Err(std_mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
        };
        if closed.load(Ordering::Acquire) {
            return;
        }
        let mut sent = 0;
        while sent < frame.len() {
            match pipes.write(&frame[sent..], WRITE_WAIT) {
                Ok(n) => sent += n.max(1),
                Err(rusb::Error::Pipe) => {
                    tracing::debug!(%port, "Bulk OUT stalled; clearing the halt, the request will be retried.");
                    let _ = pipes.clear_halt(Direction::Out);
                    break;
                }
                Err(rusb::Error::Timeout) => {
                    tracing::debug!(%port, "Bulk OUT timed out; the request will be retried.");
                    break;
                }
                Err(error) => {
                    tracing::debug!(%port, error = %error, "Bulk OUT failed; the wearable is gone.");
                    gone.store(true, Ordering::Release);
                    return;
                }
            }
        }
    }
}

fn undocked_error(error: rusb::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        format!("the wearable left the USB bus ({error})"),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A scripted device: each read takes the next scripted result (then times out), writes are
    /// recorded.
    #[derive(Default)]
    struct Scripted {
        reads: Mutex<VecDeque<Result<Vec<u8>, rusb::Error>>>,
        written: Mutex<Vec<u8>>,
        halts_cleared: Mutex<Vec<Direction>>,
        write_error: Mutex<Option<rusb::Error>>,
    }

    impl BulkPipes for Scripted {
        fn read(&self, buf: &mut [u8], timeout: Duration) -> Result<usize, rusb::Error> {
            let next = self.reads.lock().unwrap().pop_front();
            match next {
                Some(Ok(bytes)) => {
                    buf[..bytes.len()].copy_from_slice(&bytes);
                    Ok(bytes.len())
                }
                Some(Err(error)) => Err(error),
                None => {
                    std::thread::sleep(timeout.min(Duration::from_millis(5)));
                    Err(rusb::Error::Timeout)
                }
            }
        }
        fn write(&self, bytes: &[u8], _timeout: Duration) -> Result<usize, rusb::Error> {
            if let Some(error) = self.write_error.lock().unwrap().take() {
                return Err(error);
            }
            self.written.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn clear_halt(&self, direction: Direction) -> Result<(), rusb::Error> {
            self.halts_cleared.lock().unwrap().push(direction);
            Ok(())
        }
    }

    async fn wait_until(condition: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !condition() {
            assert!(std::time::Instant::now() < deadline, "timed out");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn run(
        pipes: Arc<Scripted>,
    ) -> (
        UsbStream,
        std::thread::JoinHandle<PipesEnd>,
        Arc<AtomicBool>,
    ) {
        let (stream, ends) = stream();
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::spawn(move || pump(&*pipes, ends, &thread_stop, "1-2"));
        (stream, thread, stop)
    }

    #[tokio::test]
    async fn bytes_flow_both_ways_and_a_stall_is_cleared_without_ending_the_stream() {
        let pipes = Arc::new(Scripted::default());
        pipes.reads.lock().unwrap().extend([
            Ok(b"first".to_vec()),
            Err(rusb::Error::Pipe),
            Err(rusb::Error::Timeout),
            Ok(b"second".to_vec()),
        ]);
        let (mut stream, thread, _stop) = run(Arc::clone(&pipes));
        stream.write_all(b"request").await.unwrap();
        let mut got = vec![0u8; 11];
        stream.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"firstsecond");
        wait_until(|| !pipes.written.lock().unwrap().is_empty()).await;
        drop(stream);
        assert_eq!(thread.join().unwrap(), PipesEnd::Closed);
        assert_eq!(&*pipes.written.lock().unwrap(), b"request");
        assert_eq!(&*pipes.halts_cleared.lock().unwrap(), &[Direction::In]);
    }

    #[tokio::test]
    async fn a_vanished_device_ends_the_stream_with_an_error_whichever_way_the_kernel_says_it() {
        for error in [rusb::Error::NoDevice, rusb::Error::Io] {
            let pipes = Arc::new(Scripted::default());
            pipes
                .reads
                .lock()
                .unwrap()
                .extend([Ok(b"half a fr".to_vec()), Err(error)]);
            let (mut stream, thread, _stop) = run(pipes);
            let mut buf = vec![0u8; 64];
            assert_eq!(stream.read(&mut buf).await.unwrap(), 9);
            let failed = stream.read(&mut buf).await.unwrap_err();
            assert_eq!(failed.kind(), io::ErrorKind::ConnectionAborted);
            assert_eq!(thread.join().unwrap(), PipesEnd::Undocked(error));
        }
    }

    #[tokio::test]
    async fn a_write_to_a_vanished_device_ends_the_stream() {
        let pipes = Arc::new(Scripted::default());
        *pipes.write_error.lock().unwrap() = Some(rusb::Error::NoDevice);
        let (mut stream, thread, _stop) = run(pipes);
        stream.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 8];
        assert!(stream.read(&mut buf).await.is_err());
        assert!(matches!(thread.join().unwrap(), PipesEnd::Undocked(_)));
    }

    #[tokio::test]
    async fn a_stalled_write_is_cleared_and_left_for_the_link_to_retry() {
        let pipes = Arc::new(Scripted::default());
        *pipes.write_error.lock().unwrap() = Some(rusb::Error::Pipe);
        let (mut stream, thread, stop) = run(Arc::clone(&pipes));
        stream.write_all(b"lost").await.unwrap();
        stream.write_all(b"again").await.unwrap();
        wait_until(|| !pipes.written.lock().unwrap().is_empty()).await;
        assert_eq!(&*pipes.written.lock().unwrap(), b"again");
        assert_eq!(&*pipes.halts_cleared.lock().unwrap(), &[Direction::Out]);
        stop.store(true, Ordering::Release);
        assert_eq!(thread.join().unwrap(), PipesEnd::Stopped);
    }
}
