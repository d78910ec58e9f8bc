//! The HTTPS receiver: `POST <path>` (default `/ingest`) with `Authorization: Bearer <token>`, an
//! `Idempotency-Key` and a zstd-compressed NDJSON body, stored in the receiver's own database
//! (module `store`); failure modes queued at run time through [`HttpsReceiver::push_fault`] or
//! `POST /control` (JSON [`Fault`]). It owns the accept loop, the request checks and the faults;
//! it must never answer 2xx for a batch it did not store, nor store one it refused.
//!
//! Faults act on the next requests in the order they were queued (`{"fault":"fail","next":3}`
//! queues three 500s); `reject` and `max_body_bytes` hold until `clear`. A request refused with
//! 401 consumes no fault.

use std::collections::{HashSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Json, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::store::{self, DB_FILE, Delivery, Item};
use crate::tls::TestCa;

/// The file in the receiver's folder that holds its port (decimal, written once listening).
pub const PORT_FILE: &str = "port";
/// A body larger than this is refused with 413 whatever `max_body_bytes` says.
const HARD_BODY_LIMIT: usize = 256 * 1024 * 1024;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the receiver could not start or answer a query.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on loopback or start its runtime: {0}")]
    Listen(std::io::Error),
    #[error("cannot make the test certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("the ingest path {0:?} must start with `/` and not be `/control`")]
    IngestPath(String),
    #[error("the receiver's database failed: {0}")]
    Database(#[from] rusqlite::Error),
}

impl ReceiverError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ReceiverError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// How the receiver misbehaves, set at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The next `next` requests are answered 500 (after their body is read).
    Fail { next: u32 },
    /// The next `next` requests are answered 429 with `Retry-After: retry_after_s`.
    TooMany { next: u32, retry_after_s: u32 },
    /// The next `next` requests see their connection reset (RST) after the first part of the body
    /// is read, before any answer; nothing is stored.
    Reset { next: u32 },
    /// The next `next` requests are never answered (the connection stays open until the client
    /// gives up).
    Stall { next: u32 },
    /// The next `next` requests are stored, then the connection is closed with no answer: the
    /// sender cannot know, and must send the same batch again.
    DropResponse { next: u32 },
    /// The batch with this `Idempotency-Key` is refused with 422 every time (a content refusal).
    Reject { idempotency_key: String },
    /// The next `next` distinct batches (by `Idempotency-Key`) are refused with 422 every time:
    /// for a test that cannot know a batch id before it is sent.
    RejectNext { next: u32 },
    /// Bodies over `bytes` (as sent, compressed) are refused with 413; `null` lifts the limit.
    MaxBodyBytes { bytes: Option<u64> },
    /// Every stored batch is answered `ms` late (a slow but healthy receiver: the window in
    /// which a batch is stored but its sender does not know yet); `0` answers at once.
    Slow { ms: u64 },
    /// Forgets every queued fault, rejection and limit.
    Clear,
}

/// A fault that acts on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OneShot {
    Fail,
    TooMany { retry_after_s: u32 },
    Reset,
    Stall,
    DropResponse,
}

#[derive(Default)]
struct Faults {
    queue: VecDeque<OneShot>,
    rejected: HashSet<String>,
    reject_next: u32,
    max_body_bytes: Option<u64>,
    answer_delay_ms: u64,
}

impl Faults {
    fn apply(&mut self, fault: Fault) {
        let mut push = |next: u32, one: OneShot| {
            self.queue.extend(std::iter::repeat_n(one, next as usize));
        };
        match fault {
            Fault::Fail { next } => push(next, OneShot::Fail),
            Fault::TooMany {
                next,
                retry_after_s,
            } => push(next, OneShot::TooMany { retry_after_s }),
            Fault::Reset { next } => push(next, OneShot::Reset),
            Fault::Stall { next } => push(next, OneShot::Stall),
            Fault::DropResponse { next } => push(next, OneShot::DropResponse),
            Fault::Reject { idempotency_key } => {
                self.rejected.insert(idempotency_key);
            }
            Fault::RejectNext { next } => self.reject_next = self.reject_next.saturating_add(next),
            Fault::MaxBodyBytes { bytes } => self.max_body_bytes = bytes,
            Fault::Slow { ms } => self.answer_delay_ms = ms,
            Fault::Clear => *self = Faults::default(),
        }
    }
}

/// Where and how the receiver runs.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// Its folder: `ca.pem`, `receiver.db` and `port` are written here.
    pub dir: PathBuf,
    /// The bearer token a request must carry.
    pub token: String,
    /// The path batches are posted to.
    pub path: String,
    /// 0 for any free port.
    pub port: u16,
}

impl ReceiverConfig {
    pub fn new(dir: impl Into<PathBuf>, token: impl Into<String>) -> Self {
        ReceiverConfig {
            dir: dir.into(),
            token: token.into(),
            path: "/ingest".to_owned(),
            port: 0,
        }
    }
}

struct Shared {
    token: String,
    faults: Mutex<Faults>,
    database: Mutex<rusqlite::Connection>,
    /// Every request to the ingest path, refused ones included.
    requests: AtomicU64,
}

/// Ends one connection from inside its request handler.
#[derive(Clone)]
struct ConnectionEnd {
    notify: Arc<Notify>,
    reset: Arc<std::sync::atomic::AtomicBool>,
}

impl ConnectionEnd {
    fn end(&self, reset: bool) {
        self.reset.store(reset, Ordering::SeqCst);
        self.notify.notify_one();
    }
}

/// A running receiver; dropping it stops it (open connections are aborted).
pub struct HttpsReceiver {
    pub addr: SocketAddr,
    /// `https://127.0.0.1:<port><path>`.
    pub url: String,
    /// The CA a client must trust (and the only root it needs).
    pub ca: TestCa,
    pub db_path: PathBuf,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    /// The receiver's own runtime when started from synchronous code.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for HttpsReceiver {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl HttpsReceiver {
    /// Generates the certificates, opens the database and listens on 127.0.0.1; returns once
    /// it accepts connections.
    pub async fn start(config: ReceiverConfig) -> Result<Self, ReceiverError> {
        if !config.path.starts_with('/') || config.path == "/control" || config.path.contains('{') {
            return Err(ReceiverError::IngestPath(config.path));
        }
        let ca = TestCa::generate(&config.dir)?;
        let tls = TlsAcceptor::from(ca.server_config()?);
        let db_path = config.dir.join(DB_FILE);
        let database = store::open(&db_path)?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
            .await
            .map_err(ReceiverError::Listen)?;
        let addr = listener.local_addr().map_err(ReceiverError::Listen)?;
        let port_path = config.dir.join(PORT_FILE);
        std::fs::write(&port_path, addr.port().to_string())
            .map_err(|source| ReceiverError::io(&port_path, source))?;
        let shared = Arc::new(Shared {
            token: config.token,
            faults: Mutex::new(Faults::default()),
            database: Mutex::new(database),
            requests: AtomicU64::new(0),
        });
        let router = Router::new()
            .route(&config.path, post(ingest))
            .route("/control", post(control))
            .with_state(shared.clone());
        let task = tokio::spawn(accept_loop(listener, tls, router));
        Ok(HttpsReceiver {
            addr,
            url: format!("https://127.0.0.1:{}{}", addr.port(), config.path),
            ca,
            db_path,
            shared,
            task,
            runtime: None,
        })
    }

    /// [`HttpsReceiver::start`] for synchronous tests: the receiver runs on a runtime of its own
    /// (one worker thread), which ends with it.
    pub fn start_blocking(config: ReceiverConfig) -> Result<Self, ReceiverError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-receiver")
            .enable_all()
            .build()
            .map_err(ReceiverError::Listen)?;
        let mut receiver = runtime.block_on(HttpsReceiver::start(config))?;
        receiver.runtime = Some(runtime);
        Ok(receiver)
    }

    /// Queues a fault (the same as `POST /control` with it as JSON).
    pub fn push_fault(&self, fault: Fault) {
        lock(&self.shared.faults).apply(fault);
    }

    /// Requests to the ingest path so far, refused and faulted ones included.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Every stored delivery, in the order received.
    pub fn deliveries(&self) -> Result<Vec<Delivery>, ReceiverError> {
        Ok(store::deliveries(&lock(&self.shared.database))?)
    }

    /// Every item after de-duplication by key, ordered by key.
    pub fn items(&self) -> Result<Vec<Item>, ReceiverError> {
        Ok(store::items(&lock(&self.shared.database))?)
    }
}

/// A poisoned lock still holds usable test state: a handler that panicked stored nothing.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn accept_loop(listener: TcpListener, tls: TlsAcceptor, router: Router) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(error) => {
                tracing::warn!(error = %error, "The test receiver cannot accept a connection.");
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(connection(tcp, tls.clone(), router.clone()));
    }
}

/// Serves one connection until it ends or a handler ends it (closed, or reset with SO_LINGER 0).
async fn connection(tcp: tokio::net::TcpStream, tls: TlsAcceptor, router: Router) {
    // A second handle on the socket, so a fault can set SO_LINGER 0 while hyper owns the stream.
    let Ok(twin) = socket2::SockRef::from(&tcp).try_clone() else {
        return;
    };
    let Ok(Ok(stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)).await else {
        return;
    };
    let end = ConnectionEnd {
        notify: Arc::new(Notify::new()),
        reset: Arc::new(std::sync::atomic::AtomicBool::new(false)),
    };
    let handler_end = end.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(handler_end.clone());
        let mut router = router.clone();
        async move { router.call(request).await }
    });
    let served =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = served => {}
        () = end.notify.notified() => {
            if end.reset.load(Ordering::SeqCst) {
                let _ = twin.set_linger(Some(Duration::ZERO));
            }
        }
    }
    // `served` (and with it the TLS stream) is dropped here; dropping `twin` closes the socket's
    // last handle, which sends RST when the linger is zero and FIN otherwise.
}

async fn control(State(shared): State<Arc<Shared>>, Json(fault): Json<Fault>) -> StatusCode {
    tracing::info!(?fault, "The test receiver takes a fault.");
    lock(&shared.faults).apply(fault);
    StatusCode::NO_CONTENT
}

fn refuse(status: StatusCode, sentence: &str) -> Response {
    (status, format!("{sentence}\n")).into_response()
}

async fn ingest(
    State(shared): State<Arc<Shared>>,
    Extension(end): Extension<ConnectionEnd>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let expected = format!("Bearer {}", shared.token);
    if headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()) != Some(expected.as_bytes()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "The bearer token is missing or wrong.\n",
        )
            .into_response();
    }
    let (fault, rejected, max_body_bytes) = {
        let mut faults = lock(&shared.faults);
        let fault = faults.queue.pop_front();
        (fault, faults.rejected.clone(), faults.max_body_bytes)
    };
    let mut body = body;
    match fault {
        Some(OneShot::Reset) => {
            let _ = body.frame().await;
            end.end(true);
            return std::future::pending().await;
        }
        Some(OneShot::Stall) => return std::future::pending().await,
        _ => {}
    }
    let body = match http_body_util::Limited::new(body, HARD_BODY_LIMIT)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return refuse(StatusCode::PAYLOAD_TOO_LARGE, "The body is too large.");
        }
        // The sender went away mid-body (killed, reset): nothing was stored.
        Err(_) => return refuse(StatusCode::BAD_REQUEST, "The body ended early."),
    };
    match fault {
        Some(OneShot::Fail) => {
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "Told to fail.");
        }
        Some(OneShot::TooMany { retry_after_s }) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry_after_s.to_string())],
                "Told to slow the sender down.\n",
            )
                .into_response();
        }
        _ => {}
    }
    if max_body_bytes.is_some_and(|max| body.len() as u64 > max) {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The batch is over the size limit.",
        );
    }
    let Some(idempotency_key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The Idempotency-Key header is missing.",
        );
    };
    let rejected = {
        let mut faults = lock(&shared.faults);
        if faults.reject_next > 0 && !faults.rejected.contains(idempotency_key) {
            faults.reject_next -= 1;
            faults.rejected.insert(idempotency_key.to_owned());
        }
        faults.rejected.contains(idempotency_key) || rejected.contains(idempotency_key)
    };
    if rejected {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Told to refuse this batch's content.",
        );
    }
    let decoded = match headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?"))
    {
        None | Some("identity") => body.to_vec(),
        Some("zstd") => match zstd::stream::decode_all(body.as_ref()) {
            Ok(decoded) => decoded,
            Err(_) => return refuse(StatusCode::BAD_REQUEST, "The body is not valid zstd."),
        },
        Some(_) => {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Only zstd or identity content encoding is accepted.",
            );
        }
    };
    let lines = match store::parse_lines(&decoded) {
        Ok(lines) => lines,
        Err(sentence) => return refuse(StatusCode::BAD_REQUEST, &sentence),
    };
    let answered = fault != Some(OneShot::DropResponse);
    let stored = store::store(
        &mut lock(&shared.database),
        idempotency_key,
        &body,
        &lines,
        unix_ms(),
        answered,
    );
    let new_items = match stored {
        Ok(new_items) => new_items,
        Err(error) => {
            tracing::error!(error = %error, "The test receiver cannot store a batch.");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "Cannot store the batch.");
        }
    };
    if !answered {
        end.end(false);
        return std::future::pending().await;
    }
    let delay_ms = lock(&shared.faults).answer_delay_ms;
    if delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
    }
    Json(serde_json::json!({ "items": lines.len(), "new_items": new_items })).into_response()
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
