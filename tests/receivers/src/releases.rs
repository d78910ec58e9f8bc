//! The release server's side of the self-update (issue 17), for tests: [`ReleaseServer`], a static
//! HTTPS file server over a folder (TLS from the crate's [`TestCa`]) with a fault per path — an
//! endless body, a body cut short with the connection closed, a wrong `Content-Length`, a status
//! — and a log of every request; and [`ReleaseKit`], which builds a release folder from a dockd
//! binary's bytes as the release process does (`dockd-<v>-<arch>.tar.gz` holding `dockd`,
//! zipsign-signed, `manifest.json` and its raw ed25519 `manifest.json.sig`), signed with the
//! public test key, with an [`Attack`] knob for every attack the updater must refuse. It owns what
//! a release server serves in the tests; it must never know dockd's types (the manifest's JSON and
//! the signature formats are its only interface) and never serve outside its folder.

use std::collections::HashMap;
use std::io::{Cursor, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::Digest as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::https::ReceiverError;
use crate::tls::TestCa;

/// The test release key's private seed: a copy of dockd's `update::keys::test_key::SEED`, which
/// only debug builds of dockd trust.
pub const TEST_SEED: [u8; 32] = *b"dockd test release key, public!!";
/// A key no dockd build trusts: a stranger's.
pub const OTHER_SEED: [u8; 32] = *b"a stranger signs this, untrusted";

/// The manifest's file name, and its signature's (`manifest.json.sig`).
pub const MANIFEST: &str = "manifest.json";
/// The longest request head accepted.
const HEAD_MAX: usize = 8 * 1024;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// An endless body stops here if its client never hangs up.
const ENDLESS_MAX: u64 = 4 << 30;

/// How one path is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serve {
    /// The file, with its `Content-Length`.
    Normal,
    /// This status and no body, whether the file exists or not.
    Status(u16),
    /// The file's bytes over and over with no `Content-Length`, until the client hangs up.
    Endless,
    /// The file's whole length announced, `after` bytes sent, then the connection closed.
    CutShort { after: u64 },
    /// `announced` as the `Content-Length`, then the whole file, then the connection closed.
    WrongLength { announced: u64 },
    /// The file's whole length announced, `after` bytes sent, then nothing more while the
    /// connection stays open (until the client gives up).
    Stall { after: u64 },
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The request's path, e.g. `/manifest.json`.
    pub path: String,
    /// How it was served (`Status(404)` for a file not there, `Status(405)` for another method).
    pub serve: Serve,
}

struct Shared {
    root: PathBuf,
    faults: Mutex<HashMap<String, Serve>>,
    log: Mutex<Vec<Served>>,
}

/// A running file server on 127.0.0.1; dropping it stops it.
pub struct ReleaseServer {
    pub addr: SocketAddr,
    /// The folder served.
    pub root: PathBuf,
    /// The CA a client must trust (its `ca.pem` is written outside the served folder).
    pub ca: TestCa,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for ReleaseServer {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl ReleaseServer {
    /// Serves `root` over HTTPS with a CA made now, its `ca.pem` written into `ca_dir`.
    pub async fn start(root: &Path, ca_dir: &Path) -> Result<Self, ReceiverError> {
        let ca = TestCa::generate(ca_dir)?;
        let tls = TlsAcceptor::from(ca.server_config()?);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(ReceiverError::Listen)?;
        let addr = listener.local_addr().map_err(ReceiverError::Listen)?;
        let shared = Arc::new(Shared {
            root: root.to_owned(),
            faults: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
        });
        let task = tokio::spawn(accept_loop(listener, tls, shared.clone()));
        Ok(ReleaseServer {
            addr,
            root: root.to_owned(),
            ca,
            shared,
            task,
            runtime: None,
        })
    }

    /// [`ReleaseServer::start`] for synchronous tests: on a runtime of its own, which ends with it.
    pub fn start_blocking(root: &Path, ca_dir: &Path) -> Result<Self, ReceiverError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-release-server")
            .enable_all()
            .build()
            .map_err(ReceiverError::Listen)?;
        let mut server = runtime.block_on(ReleaseServer::start(root, ca_dir))?;
        server.runtime = Some(runtime);
        Ok(server)
    }

    /// `https://127.0.0.1:<port>/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "https://127.0.0.1:{}/{}",
            self.addr.port(),
            path.trim_start_matches('/')
        )
    }

    /// The manifest's URL.
    pub fn manifest_url(&self) -> String {
        self.url(MANIFEST)
    }

    /// Serves `path` (e.g. `dockd-1.0.0-x86_64.tar.gz`) this way from now on.
    pub fn serve(&self, path: &str, serve: Serve) {
        let path = format!("/{}", path.trim_start_matches('/'));
        lock(&self.shared.faults).insert(path, serve);
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Served> {
        lock(&self.shared.log).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn accept_loop(listener: TcpListener, tls: TlsAcceptor, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(error) => {
                tracing::warn!(error = %error, "The test release server cannot accept a connection.");
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(connection(tcp, tls.clone(), shared.clone()));
    }
}

/// Serves one request on one connection (`Connection: close`), by hand so the faults can break
/// HTTP where a server library would not.
async fn connection(tcp: TcpStream, tls: TlsAcceptor, shared: Arc<Shared>) {
    let Ok(Ok(mut stream)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(tcp)).await else {
        return;
    };
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > HEAD_MAX {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut words = text.lines().next().unwrap_or_default().split_whitespace();
    let (method, path) = (
        words.next().unwrap_or_default(),
        words.next().unwrap_or_default().to_owned(),
    );
    let file = (path.starts_with('/') && !path.split('/').any(|part| part == ".."))
        .then(|| shared.root.join(path.trim_start_matches('/')))
        .and_then(|file| std::fs::read(file).ok());
    let mut serve = lock(&shared.faults)
        .get(&path)
        .copied()
        .unwrap_or(Serve::Normal);
    if method != "GET" {
        serve = Serve::Status(405);
    } else if file.is_none() && !matches!(serve, Serve::Status(_)) {
        serve = Serve::Status(404);
    }
    lock(&shared.log).push(Served {
        path: path.clone(),
        serve,
    });
    let body = file.unwrap_or_default();
    let _ = answer(&mut stream, serve, &body).await;
    let _ = stream.shutdown().await;
}

async fn answer<S: tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    serve: Serve,
    body: &[u8],
) -> std::io::Result<()> {
    let head = |status: &str, length: Option<u64>| {
        let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
        if let Some(length) = length {
            head.push_str(&format!("Content-Length: {length}\r\n"));
        }
        head.push_str("\r\n");
        head
    };
    let len = body.len() as u64;
    match serve {
        Serve::Normal => {
            stream
                .write_all(head("200 OK", Some(len)).as_bytes())
                .await?;
            stream.write_all(body).await?;
        }
        Serve::Status(status) => {
            stream
                .write_all(head(&format!("{status} Told so"), Some(0)).as_bytes())
                .await?;
        }
        Serve::Endless => {
            stream.write_all(head("200 OK", None).as_bytes()).await?;
            let filler = if body.is_empty() {
                &[0u8; 4096][..]
            } else {
                body
            };
            let mut sent = 0u64;
            while sent < ENDLESS_MAX {
                stream.write_all(filler).await?;
                sent += filler.len() as u64;
            }
        }
        Serve::CutShort { after } => {
            stream
                .write_all(head("200 OK", Some(len)).as_bytes())
                .await?;
            let cut = usize::try_from(after.min(len)).unwrap_or(body.len());
            stream.write_all(&body[..cut]).await?;
        }
        Serve::Stall { after } => {
            stream
                .write_all(head("200 OK", Some(len)).as_bytes())
                .await?;
            let cut = usize::try_from(after.min(len)).unwrap_or(body.len());
            stream.write_all(&body[..cut]).await?;
            stream.flush().await?;
            std::future::pending::<()>().await;
        }
        Serve::WrongLength { announced } => {
            stream
                .write_all(head("200 OK", Some(announced)).as_bytes())
                .await?;
            stream.write_all(body).await?;
        }
    }
    stream.flush().await
}

/// The public half of an ed25519 seed.
pub fn public_key(seed: &[u8; 32]) -> [u8; 32] {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
    let mut public = [0u8; 32];
    if let Ok(pair) = Ed25519KeyPair::from_seed_unchecked(seed) {
        public.copy_from_slice(pair.public_key().as_ref());
    }
    public
}

/// A key's id as manifests name it: the first 8 bytes of its SHA-256, hex.
pub fn key_id(public: &[u8; 32]) -> String {
    hex(&sha2::Sha256::digest(public)[..8])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha2::Sha256::digest(bytes))
}

/// The raw 64-byte ed25519 signature of `message` with `seed`.
pub fn sign(seed: &[u8; 32], message: &[u8]) -> std::io::Result<Vec<u8>> {
    let pair = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(seed)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(pair.sign(message).as_ref().to_vec())
}

/// An attack on a release, each one the updater must refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attack {
    /// The manifest signed (and its `key_id` named) by [`OTHER_SEED`].
    ManifestSignedByAnotherKey,
    /// The manifest's announced size changed by one after it was signed.
    ManifestChangedAfterSigning,
    /// No `manifest.json.sig`.
    NoManifestSignature,
    /// The manifest expired an hour ago (a frozen mirror).
    Expired,
    /// The manifest's asset is another release's archive (named, hashed and sized for
    /// `other_version`, which is written beside it): mix-and-match.
    MixAndMatch { other_version: String },
    /// The file under this release's name holds `other_version`'s archive; the manifest is
    /// this release's.
    SwappedArchive { other_version: String },
    /// The manifest's `sha256` of the archive is wrong.
    WrongChecksum,
    /// The manifest's `binary_sha256` is wrong (the archive and its signature are right).
    WrongBinaryChecksum,
    /// The manifest announces half the archive's size: an oversize download.
    Oversize,
    /// The file served is the archive's first half; the manifest announces the whole.
    Truncated,
    /// The archive carries no zipsign signature.
    UnsignedArchive,
    /// The archive is zipsign-signed by [`OTHER_SEED`].
    ArchiveSignedByAnotherKey,
    /// The archive (signed, its digests in the manifest) holds the binary as `dockd.bin`, no
    /// `dockd`.
    ArchiveWithoutBinary,
}

/// Builds a release folder from a dockd binary, as the release process does, with knobs.
#[derive(Debug, Clone)]
pub struct ReleaseKit {
    binary: Vec<u8>,
    version: String,
    arch: String,
    min_version: String,
    expires_ms: i64,
    attacks: Vec<Attack>,
}

/// A built release folder.
#[derive(Debug, Clone)]
pub struct Release {
    pub dir: PathBuf,
    pub version: String,
    /// `dockd-<version>-<arch>.tar.gz` (this release's name, whatever the manifest says).
    pub asset_name: String,
    /// `dir/<asset_name>`.
    pub archive: PathBuf,
    pub manifest: PathBuf,
    /// The manifest's bytes as written.
    pub manifest_bytes: Vec<u8>,
    /// `dir/manifest.json.sig`, `None` under [`Attack::NoManifestSignature`].
    pub signature: Option<PathBuf>,
    /// The sha256 of the dockd binary given (the one inside the archive).
    pub binary_sha256: String,
    /// The sha256 and size of this release's archive as signed (before any attack changed what
    /// is served or announced).
    pub archive_sha256: String,
    pub archive_size: u64,
}

impl ReleaseKit {
    /// A release of `binary` (its bytes, e.g. a copy of dockd with its version mark rewritten)
    /// as `version`, for this machine's architecture, minimum `0.0.0`, expiring in 30 days,
    /// everything signed with [`TEST_SEED`].
    pub fn new(binary: &[u8], version: &str) -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        ReleaseKit {
            binary: binary.to_vec(),
            version: version.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            min_version: "0.0.0".to_owned(),
            expires_ms: now_ms + 30 * 24 * 3600 * 1000,
            attacks: Vec::new(),
        }
    }

    /// Another architecture's release.
    pub fn arch(mut self, arch: &str) -> Self {
        self.arch = arch.to_owned();
        self
    }

    /// The release's minimum version (a running version below it must update by package).
    pub fn min_version(mut self, version: &str) -> Self {
        self.min_version = version.to_owned();
        self
    }

    /// When the manifest expires (ms since 1970).
    pub fn expires_ms(mut self, expires_ms: i64) -> Self {
        self.expires_ms = expires_ms;
        self
    }

    /// Adds an attack.
    pub fn attack(mut self, attack: Attack) -> Self {
        self.attacks.push(attack);
        self
    }

    fn has(&self, attack: &Attack) -> bool {
        self.attacks.contains(attack)
    }

    /// The signed archive of `version`'s release, and its name.
    fn archive_for(
        &self,
        version: &str,
        seed: Option<&[u8; 32]>,
    ) -> std::io::Result<(String, Vec<u8>)> {
        let name = format!("dockd-{version}-{}.tar.gz", self.arch);
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        let mut header = tar::Header::new_gnu();
        header.set_size(self.binary.len() as u64);
        header.set_mode(0o755);
        header.set_mtime(1_800_000_000);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        let entry = if self.has(&Attack::ArchiveWithoutBinary) {
            "dockd.bin"
        } else {
            "dockd"
        };
        tar.append_data(&mut header, entry, self.binary.as_slice())?;
        let unsigned = tar.into_inner()?.finish()?;
        let Some(seed) = seed else {
            return Ok((name, unsigned));
        };
        let key = zipsign_api::SigningKey::from_bytes(seed);
        let mut signed = Cursor::new(Vec::new());
        zipsign_api::sign::copy_and_sign_tar(
            &mut Cursor::new(unsigned),
            &mut signed,
            &[key],
            Some(name.as_bytes()),
        )
        .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok((name, signed.into_inner()))
    }

    /// Writes the release into `dir` (created if missing): the archive, `manifest.json` and
    /// `manifest.json.sig`, with the attacks applied.
    pub fn build(&self, dir: &Path) -> std::io::Result<Release> {
        std::fs::create_dir_all(dir)?;
        let archive_seed = if self.has(&Attack::UnsignedArchive) {
            None
        } else if self.has(&Attack::ArchiveSignedByAnotherKey) {
            Some(&OTHER_SEED)
        } else {
            Some(&TEST_SEED)
        };
        let (asset_name, archive_bytes) = self.archive_for(&self.version, archive_seed)?;
        let binary_sha256 = sha256_hex(&self.binary);
        let archive_sha256 = sha256_hex(&archive_bytes);
        let archive_size = archive_bytes.len() as u64;
        // The asset the manifest describes: this release's, or another's.
        let mut described = (asset_name.clone(), archive_bytes.clone());
        let mut served = archive_bytes.clone();
        for attack in &self.attacks {
            match attack {
                Attack::MixAndMatch { other_version } => {
                    described = self.archive_for(other_version, Some(&TEST_SEED))?;
                    std::fs::write(dir.join(&described.0), &described.1)?;
                }
                Attack::SwappedArchive { other_version } => {
                    served = self.archive_for(other_version, Some(&TEST_SEED))?.1;
                }
                _ => {}
            }
        }
        let mut sha256 = sha256_hex(&described.1);
        let mut size = described.1.len() as u64;
        let mut binary_digest = binary_sha256.clone();
        if self.has(&Attack::WrongChecksum) {
            sha256 = flip_hex(&sha256);
        }
        if self.has(&Attack::WrongBinaryChecksum) {
            binary_digest = flip_hex(&binary_digest);
        }
        if self.has(&Attack::Oversize) {
            size /= 2;
        }
        if self.has(&Attack::Truncated) {
            served.truncate(served.len() / 2);
        }
        let archive = dir.join(&asset_name);
        std::fs::write(&archive, &served)?;

        let signer = if self.has(&Attack::ManifestSignedByAnotherKey) {
            &OTHER_SEED
        } else {
            &TEST_SEED
        };
        let expires_ms = if self.has(&Attack::Expired) {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64)
                - 3600 * 1000
        } else {
            self.expires_ms
        };
        let manifest_json = |size: u64| {
            serde_json::to_vec_pretty(&serde_json::json!({
                "schema": 1,
                "version": self.version,
                "min_version": self.min_version,
                "expires_ms": expires_ms,
                "key_id": key_id(&public_key(signer)),
                "assets": [{
                    "name": described.0,
                    "arch": self.arch,
                    "sha256": sha256,
                    "binary_sha256": binary_digest,
                    "size": size,
                }],
            }))
            .map_err(|e| std::io::Error::other(e.to_string()))
        };
        let signed_bytes = manifest_json(size)?;
        let signature = sign(signer, &signed_bytes)?;
        let manifest_bytes = if self.has(&Attack::ManifestChangedAfterSigning) {
            manifest_json(size + 1)?
        } else {
            signed_bytes
        };
        let manifest = dir.join(MANIFEST);
        std::fs::File::create(&manifest)?.write_all(&manifest_bytes)?;
        let sig_path = dir.join(format!("{MANIFEST}.sig"));
        let signature_path = if self.has(&Attack::NoManifestSignature) {
            let _ = std::fs::remove_file(&sig_path);
            None
        } else {
            std::fs::write(&sig_path, &signature)?;
            Some(sig_path)
        };
        Ok(Release {
            dir: dir.to_owned(),
            version: self.version.clone(),
            asset_name,
            archive,
            manifest,
            manifest_bytes,
            signature: signature_path,
            binary_sha256,
            archive_sha256,
            archive_size,
        })
    }
}

/// The same hex digest with its first digit changed.
fn flip_hex(digest: &str) -> String {
    let mut out: Vec<char> = digest.chars().collect();
    if let Some(first) = out.first_mut() {
        *first = if *first == '0' { '1' } else { '0' };
    }
    out.into_iter().collect()
}
