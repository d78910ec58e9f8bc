//! Drives the sans-IO `link::Session` over one wearable's stream: writes requests, reads responses,
//! runs the per-attempt timer. It owns the stream while docked and must never interpret segment
//! contents or decide what to pull — that is the pull task's job.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

use crate::link::{
    Info, LinkError, MAX_READ, Request, Response, SegmentEntry, Session, Step, WearableConfig,
    error_code,
};
use crate::transport::WearableStream;
use crate::worker::WorkerTag;

/// One attempt may last at most this many request timeouts while bytes keep arriving (30 s at the
/// protocol's 2 s: a 64 kB reply at ~2 kB/s).
const ATTEMPT_CAP: u32 = 15;

/// Why a conversation with a wearable ended or a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the wearable was undocked")]
    Undocked,
    #[error("the link to the wearable failed: {0}")]
    Link(#[from] LinkError),
    #[error("the wearable answered error {code}: {message}")]
    Wearable { code: u16, message: String },
    #[error("the wearable answered {got} to {request}")]
    Unexpected {
        request: &'static str,
        got: &'static str,
    },
}

impl ClientError {
    /// True when the wearable is gone or unreachable: the docking is over.
    pub fn ends_docking(&self) -> bool {
        matches!(self, ClientError::Undocked | ClientError::Link(_))
    }
}

/// What happened while waiting with nothing to ask.
pub enum Idle {
    Undocked,
    Elapsed,
}

pub struct WearableClient {
    stream: Box<dyn WearableStream>,
    session: Session,
    timeout: Duration,
    buf: Vec<u8>,
}

impl WearableClient {
    pub fn new(stream: Box<dyn WearableStream>, timeout: Duration) -> Self {
        Self {
            stream,
            session: Session::new(),
            timeout,
            buf: vec![0; 64 * 1024 + 64],
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|_| ClientError::Undocked)?;
        self.stream.flush().await.map_err(|_| ClientError::Undocked)
    }

    /// One request and its response, with the protocol's retries (protocol.md §2).
    ///
    /// "Unanswered within 2 s" is measured as 2 s of silence: a reply that is still arriving on a
    /// slow link is being answered (a full 64 kB DATA takes over 2 s below ~32 kB/s). An attempt
    /// is still cut off after [`ATTEMPT_CAP`] timeouts' worth in all, so a wearable trickling bytes
    /// cannot hold its slot for ever.
    pub async fn call(&mut self, request: &Request) -> Result<Response, ClientError> {
        let frame = self.session.begin(request);
        self.send(&frame).await?;
        let mut attempt_ends = Instant::now() + self.timeout * ATTEMPT_CAP;
        let mut deadline = Instant::now() + self.timeout;
        loop {
            let step = match timeout_at(deadline.min(attempt_ends), self.stream.read(&mut self.buf))
                .await
            {
                Err(_elapsed) => Some(self.session.on_timeout()),
                Ok(Ok(0)) | Ok(Err(_)) => return Err(ClientError::Undocked),
                Ok(Ok(n)) => {
                    deadline = Instant::now() + self.timeout;
                    self.session.on_input(&self.buf[..n])
                }
            };
            match step {
                None => {}
                Some(Step::Response(Response::Error { code, message })) => {
                    return Err(ClientError::Wearable { code, message });
                }
                Some(Step::Response(response)) => return Ok(response),
                Some(Step::Retransmit(frame)) => {
                    tracing::debug!(
                        attempt = self.session.attempts(),
                        "Link error; retrying the request."
                    );
                    self.send(&frame).await?;
                    deadline = Instant::now() + self.timeout;
                    attempt_ends = Instant::now() + self.timeout * ATTEMPT_CAP;
                }
                Some(Step::Failed(error)) => return Err(error.into()),
            }
        }
    }

    pub async fn hello(&mut self) -> Result<Info, ClientError> {
        match self.call(&Request::Hello { proto_max: 1 }).await? {
            Response::Info(info) => Ok(info),
            other => Err(unexpected("HELLO", &other)),
        }
    }

    pub async fn set_time(&mut self, unix_ms: u64) -> Result<(), ClientError> {
        self.expect_ok("SET_TIME", &Request::SetTime { unix_ms })
            .await
    }

    pub async fn list(&mut self) -> Result<Vec<SegmentEntry>, ClientError> {
        match self.call(&Request::List).await? {
            Response::Segments(entries) => Ok(entries),
            other => Err(unexpected("LIST", &other)),
        }
    }

    /// Reads up to `MAX_READ` bytes of segment `id` from `offset`; empty at the end.
    pub async fn read(&mut self, id: u32, offset: u32) -> Result<Vec<u8>, ClientError> {
        let request = Request::Read {
            id,
            offset,
            max_len: MAX_READ,
        };
        match self.call(&request).await? {
            Response::Data {
                id: got_id,
                offset: got_offset,
                bytes,
            } if got_id == id && got_offset == offset && bytes.len() <= MAX_READ as usize => {
                Ok(bytes)
            }
            other => Err(unexpected("READ", &other)),
        }
    }

    /// Erases a segment. A wearable that no longer has it (its earlier OK was lost) counts as done.
    pub async fn erase(&mut self, id: u32) -> Result<(), ClientError> {
        match self.expect_ok("ERASE", &Request::Erase { id }).await {
            Err(ClientError::Wearable { code, .. }) if code == error_code::NO_SUCH_SEGMENT => {
                Ok(())
            }
            other => other,
        }
    }

    /// Assigns the wearable to a worker (`None`: to no one); it opens a new segment.
    pub async fn set_worker(&mut self, worker: Option<WorkerTag>) -> Result<(), ClientError> {
        self.expect_ok("SET_WORKER", &Request::SetWorker(worker))
            .await
    }

    /// The wearable's alert thresholds and sample rate as it holds them now.
    pub async fn get_config(&mut self) -> Result<WearableConfig, ClientError> {
        match self.call(&Request::GetConfig).await? {
            Response::Config(config) => Ok(config),
            other => Err(unexpected("GET_CONFIG", &other)),
        }
    }

    /// Replaces the wearable's alert thresholds and sample rate; confirm with [`Self::get_config`].
    pub async fn set_config(&mut self, config: WearableConfig) -> Result<(), ClientError> {
        self.expect_ok("SET_CONFIG", &Request::SetConfig(config))
            .await
    }

    async fn expect_ok(
        &mut self,
        name: &'static str,
        request: &Request,
    ) -> Result<(), ClientError> {
        match self.call(request).await? {
            Response::Ok => Ok(()),
            other => Err(unexpected(name, &other)),
        }
    }

    /// Waits up to `period` with no request outstanding, noticing an undock at once. A wearable
    /// never sends unasked, so any bytes that arrive are noise and are dropped.
    pub async fn idle(&mut self, period: Duration) -> Idle {
        let deadline = Instant::now() + period;
        loop {
            match timeout_at(deadline, self.stream.read(&mut self.buf)).await {
                Err(_elapsed) => return Idle::Elapsed,
                Ok(Ok(0)) | Ok(Err(_)) => return Idle::Undocked,
                Ok(Ok(n)) => {
                    tracing::debug!(bytes = n, "Dropped unsolicited bytes from a wearable.")
                }
            }
        }
    }
}

fn unexpected(request: &'static str, response: &Response) -> ClientError {
    ClientError::Unexpected {
        request,
        got: response.name(),
    }
}
