//! Test support for the emulator: the dock's end of a link, speaking raw frames, so tests
//! script exactly what a dock sends. Test-only; it must never grow dock logic (retries, storage).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;

use crate::link::{Frame, FrameDecoder, FrameError, Request, Response, crc32c, parse_segment};

/// Long enough for any answer from an in-process wearable; a missing answer is checked against
/// a bound like this, never by sleeping.
pub(super) const ANSWER: Duration = Duration::from_secs(5);
pub(super) const NO_ANSWER: Duration = Duration::from_millis(200);

pub(super) struct Dock<S> {
    pub stream: S,
    decoder: FrameDecoder,
    seq: u16,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Dock<S> {
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            decoder: FrameDecoder::new(),
            seq: 0,
        }
    }

    pub async fn send(&mut self, request: &Request) -> u16 {
        self.seq += 1;
        self.stream
            .write_all(&request.encode_frame(self.seq))
            .await
            .unwrap();
        self.seq
    }

    /// The next frame or decoder fault; `None` once the wearable closed the link.
    pub async fn frame(&mut self) -> Option<Result<Frame, FrameError>> {
        let mut buf = [0; 4096];
        loop {
            if let Some(frame) = self.decoder.next_frame() {
                return Some(frame);
            }
            match self.stream.read(&mut buf).await.unwrap() {
                0 => return None,
                n => self.decoder.push(&buf[..n]),
            }
        }
    }

    pub async fn ask(&mut self, request: &Request) -> Response {
        let seq = self.send(request).await;
        let frame = timeout(ANSWER, self.frame())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(frame.seq, seq, "the response echoes the request's seq");
        Response::decode(frame.kind, &frame.payload).unwrap()
    }

    pub async fn list(&mut self) -> Vec<u32> {
        match self.ask(&Request::List).await {
            Response::Segments(entries) => entries.iter().map(|entry| entry.id).collect(),
            other => panic!("LIST answered with {other:?}"),
        }
    }

    /// A minimal pull: INFO, then every closed segment read whole, CRC-checked and erased
    /// unless it fails to parse. Returns the serial and the ids erased.
    pub async fn pull_all(&mut self) -> (String, Vec<u32>) {
        let Response::Info(info) = self.ask(&Request::Hello { proto_max: 1 }).await else {
            panic!("HELLO not answered with INFO");
        };
        let Response::Segments(entries) = self.ask(&Request::List).await else {
            panic!("LIST not answered with SEGMENTS");
        };
        let mut erased = Vec::new();
        for entry in entries.iter().filter(|entry| entry.closed) {
            let mut bytes = Vec::new();
            loop {
                let read = Request::Read {
                    id: entry.id,
                    offset: bytes.len() as u32,
                    max_len: 16_384,
                };
                let Response::Data { bytes: chunk, .. } = self.ask(&read).await else {
                    panic!("READ not answered with DATA");
                };
                if chunk.is_empty() {
                    break;
                }
                bytes.extend_from_slice(&chunk);
            }
            assert_eq!(crc32c(&bytes), entry.crc);
            if parse_segment(&bytes).is_ok() {
                assert_eq!(
                    self.ask(&Request::Erase { id: entry.id }).await,
                    Response::Ok
                );
                erased.push(entry.id);
            }
        }
        (info.serial, erased)
    }
}
