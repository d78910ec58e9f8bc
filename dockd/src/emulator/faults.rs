//! Per-docking faults of an emulated wearable: a byte-stream decorator (unplug after N bytes, a
//! slow link) that composes with any transport, and the frame-level faults `serve` applies (bit
//! flips, ERROR to everything, silence). It owns fault injection only; it must never change what
//! the firmware stores, so a faulty docking followed by a clean one still drains everything.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::link::frame::HEADER_LEN;

/// What goes wrong during one docking. The default is a healthy link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Unplugged after this many bytes were written to the dock: exactly that many reach it,
    /// then the connection ends, possibly mid-frame.
    pub unplug_after_bytes: Option<u64>,
    /// Every Nth response frame (N, 2N, …) gets one bit of its payload (or CRC) flipped, so
    /// it arrives with a bad CRC.
    pub flip_bit_every: Option<u32>,
    /// The wearable → dock direction is paced to this many bytes per second.
    pub bytes_per_sec: Option<u64>,
    /// Every request is answered with ERROR carrying this code.
    pub answer_error: Option<u16>,
    /// Requests are read and never answered.
    pub silent: bool,
}

impl Faults {
    /// Flips one bit of the `count`-th response frame (1-based) when `flip_bit_every` says so:
    /// a bit in the middle of payload + CRC, never in the header, so the frame stays
    /// recognisable and only its CRC fails.
    pub(super) fn tamper(&self, count: u64, frame: &mut [u8]) {
        let Some(every) = self.flip_bit_every.filter(|&every| every > 0) else {
            return;
        };
        if !count.is_multiple_of(u64::from(every)) {
            return;
        }
        let at = HEADER_LEN + frame.len().saturating_sub(HEADER_LEN) / 2;
        if let Some(byte) = frame.get_mut(at) {
            *byte ^= 0x10;
        }
    }
}

/// A wearable's end of the link with the stream-level faults applied: writes stop for good
/// after the unplug budget, and are paced to the link speed.
#[derive(Debug)]
pub struct FaultyLink<S> {
    inner: S,
    /// Bytes that may still be written before the wearable is unplugged.
    budget: Option<u64>,
    pace: Option<Pace>,
}

/// Write pacing: after each write, the next one waits until the link would have carried it.
#[derive(Debug)]
struct Pace {
    bytes_per_sec: u64,
    ready_at: Pin<Box<Sleep>>,
}

impl Pace {
    /// Largest write at once: a tenth of a second of link time, so pacing stays smooth.
    fn quantum(&self) -> usize {
        usize::try_from(self.bytes_per_sec / 10)
            .unwrap_or(usize::MAX)
            .max(1)
    }
}

impl<S> FaultyLink<S> {
    pub fn new(inner: S, faults: &Faults) -> Self {
        Self {
            inner,
            budget: faults.unplug_after_bytes,
            pace: faults
                .bytes_per_sec
                .filter(|&bps| bps > 0)
                .map(|bytes_per_sec| Pace {
                    bytes_per_sec,
                    ready_at: Box::pin(tokio::time::sleep(Duration::ZERO)),
                }),
        }
    }

    /// True once the unplug budget is spent: the wearable has left the dock.
    pub fn unplugged(&self) -> bool {
        self.budget == Some(0)
    }
}

fn unplugged_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "wearable unplugged (injected fault)",
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for FaultyLink<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FaultyLink<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.unplugged() {
            return Poll::Ready(Err(unplugged_error()));
        }
        let mut len = buf.len();
        if let Some(budget) = this.budget {
            len = len.min(usize::try_from(budget).unwrap_or(usize::MAX));
        }
        if let Some(pace) = &mut this.pace {
            ready!(pace.ready_at.as_mut().poll(cx));
            len = len.min(pace.quantum());
        }
        let written = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..len]))?;
        if let Some(budget) = &mut this.budget {
            *budget -= written as u64;
        }
        if let Some(pace) = &mut this.pace {
            let link_time =
                Duration::from_nanos(written as u64 * 1_000_000_000 / pace.bytes_per_sec);
            pace.ready_at.as_mut().reset(Instant::now() + link_time);
        }
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn an_unplug_budget_lets_exactly_that_many_bytes_through_then_fails() {
        let (near, mut far) = tokio::io::duplex(1 << 16);
        let faults = Faults {
            unplug_after_bytes: Some(10),
            ..Faults::default()
        };
        let mut link = FaultyLink::new(near, &faults);
        let err = link.write_all(&[7; 25]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(link.unplugged());
        drop(link);
        let mut received = Vec::new();
        far.read_to_end(&mut received).await.unwrap();
        assert_eq!(received, vec![7; 10]);
    }

    #[tokio::test]
    async fn a_paced_link_takes_as_long_as_its_speed_says() {
        let (near, mut far) = tokio::io::duplex(1 << 16);
        let faults = Faults {
            bytes_per_sec: Some(100_000),
            ..Faults::default()
        };
        let mut link = FaultyLink::new(near, &faults);
        let start = Instant::now();
        link.write_all(&[1; 50_000]).await.unwrap();
        // Five 100 ms quanta of 10 000 bytes; the last goes out without waiting after it.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
        let mut received = vec![0; 50_000];
        far.read_exact(&mut received).await.unwrap();
    }

    #[test]
    fn tampering_flips_one_bit_in_every_nth_frame_only() {
        let faults = Faults {
            flip_bit_every: Some(2),
            ..Faults::default()
        };
        let frame = crate::link::encode_frame(0x80, 3, &[]);
        let mut first = frame.clone();
        faults.tamper(1, &mut first);
        assert_eq!(first, frame);
        let mut second = frame.clone();
        faults.tamper(2, &mut second);
        let flipped: u32 = frame
            .iter()
            .zip(&second)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        assert_eq!(flipped, 1);
        assert_eq!(second[..HEADER_LEN], frame[..HEADER_LEN]);
    }
}
