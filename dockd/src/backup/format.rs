//! The backup file's format, over any `Read`/`Write`: a header naming the passphrase's argon2id
//! parameters and salt, then the payload sealed in chunks of 1 MiB with AES-256-GCM (aws-lc-rs)
//! as the STREAM construction does — each chunk's nonce is a random prefix, its index and a
//! last-chunk flag, and the whole header is every chunk's associated data — so a changed byte
//! anywhere, reordered or dropped chunks, a cut-off end or bytes after the end are refused, and
//! a wrong passphrase is told apart from damage by a check value in the header. It owns the bytes
//! of the format; it must never touch a file, a database or the console, nor hand out a byte it
//! has not authenticated.
//!
//! ```text
//! "DOCKDBK1" | m_cost KiB u32 | t_cost u32 | p_cost u32 | salt [16] | nonce prefix [7] | check [16]
//! then chunks: ciphertext length u32 (≤ 1 MiB + 16) | AES-256-GCM(chunk), nonce = prefix | index u32 | last u8
//! ```
//!
//! Keys: `master = argon2id(passphrase, salt)`, `aead = HMAC-SHA256(master, "dockd backup v1
//! aead")`, `check = HMAC-SHA256(master, "dockd backup v1 check")[..16]`.

use std::io::{Read, Write};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use hmac::{KeyInit, Mac};
use zeroize::Zeroizing;

/// The first bytes of every backup.
pub const MAGIC: &[u8; 8] = b"DOCKDBK1";
/// Plaintext bytes per chunk.
pub const CHUNK: usize = 1 << 20;
const TAG: usize = 16;
const SALT: usize = 16;
const PREFIX: usize = 7;
const CHECK: usize = 16;
/// The header's length.
pub const HEADER: usize = 8 + 12 + SALT + PREFIX + CHECK;

/// The passphrase's argon2id cost: 64 MiB, 3 passes, one lane (~0.3 s on a dock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub m_kib: u32,
    pub t: u32,
    pub p: u32,
}

impl Cost {
    pub const DEFAULT: Cost = Cost {
        m_kib: 64 * 1024,
        t: 3,
        p: 1,
    };

    /// Whether a header's cost is one this build will pay (a damaged header must not make it
    /// allocate gigabytes).
    fn plausible(self) -> bool {
        (8..=1024 * 1024).contains(&self.m_kib)
            && (1..=16).contains(&self.t)
            && (1..=8).contains(&self.p)
    }
}

/// Why a backup could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error(
        "this is not a dockd backup (it does not start with {})",
        String::from_utf8_lossy(MAGIC)
    )]
    NotABackup,
    #[error("the passphrase does not open this backup (or its header is damaged)")]
    WrongPassphrase,
    #[error("the backup is damaged: {0}; nothing was restored from it")]
    Damaged(String),
    #[error("the backup is cut off: {0}; nothing was restored from it")]
    Truncated(String),
    #[error("the passphrase could not be turned into a key: {0}")]
    Kdf(String),
    #[error("the operating system's random source failed: {0}")]
    Random(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The keys a passphrase and a header's salt and cost give.
struct Keys {
    aead: LessSafeKey,
    check: [u8; CHECK],
}

fn derive(passphrase: &[u8], salt: &[u8; SALT], cost: Cost) -> Result<Keys, FormatError> {
    let params = argon2::Params::new(cost.m_kib, cost.t, cost.p, Some(32))
        .map_err(|e| FormatError::Kdf(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut master = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, master.as_mut())
        .map_err(|e| FormatError::Kdf(e.to_string()))?;
    let expand = |label: &[u8]| -> Result<Zeroizing<[u8; 32]>, FormatError> {
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(master.as_ref())
            .map_err(|e| FormatError::Kdf(e.to_string()))?;
        mac.update(label);
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&mac.finalize().into_bytes());
        Ok(out)
    };
    let aead_key = expand(b"dockd backup v1 aead")?;
    let check_full = expand(b"dockd backup v1 check")?;
    let mut check = [0u8; CHECK];
    check.copy_from_slice(&check_full[..CHECK]);
    let aead = UnboundKey::new(&AES_256_GCM, aead_key.as_ref())
        .map(LessSafeKey::new)
        .map_err(|_| FormatError::Kdf("AES-256-GCM key".to_owned()))?;
    Ok(Keys { aead, check })
}

fn nonce(prefix: &[u8; PREFIX], index: u32, last: bool) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[..PREFIX].copy_from_slice(prefix);
    bytes[PREFIX..PREFIX + 4].copy_from_slice(&index.to_be_bytes());
    bytes[11] = u8::from(last);
    Nonce::assume_unique_for_key(bytes)
}

/// Writes a backup: the header at once, then the payload written into it, sealed chunk by
/// chunk; [`Sealer::finish`] seals the last chunk (the end marker).
pub struct Sealer<W: Write> {
    out: W,
    keys: Keys,
    header: [u8; HEADER],
    prefix: [u8; PREFIX],
    index: u32,
    buffer: Vec<u8>,
}

impl<W: Write> Sealer<W> {
    pub fn new(out: W, passphrase: &[u8]) -> Result<Self, FormatError> {
        Self::with_cost(out, passphrase, Cost::DEFAULT)
    }

    pub fn with_cost(mut out: W, passphrase: &[u8], cost: Cost) -> Result<Self, FormatError> {
        let mut salt = [0u8; SALT];
        let mut prefix = [0u8; PREFIX];
        getrandom::fill(&mut salt).map_err(|e| FormatError::Random(e.to_string()))?;
        getrandom::fill(&mut prefix).map_err(|e| FormatError::Random(e.to_string()))?;
        let keys = derive(passphrase, &salt, cost)?;
        let mut header = [0u8; HEADER];
        let mut at = 0;
        for piece in [
            &MAGIC[..],
            &cost.m_kib.to_be_bytes(),
            &cost.t.to_be_bytes(),
            &cost.p.to_be_bytes(),
            &salt,
            &prefix,
            &keys.check,
        ] {
            header[at..at + piece.len()].copy_from_slice(piece);
            at += piece.len();
        }
        out.write_all(&header)?;
        Ok(Self {
            out,
            keys,
            header,
            prefix,
            index: 0,
            buffer: Vec::with_capacity(CHUNK + TAG),
        })
    }

    fn seal(&mut self, last: bool) -> Result<(), FormatError> {
        let nonce = nonce(&self.prefix, self.index, last);
        self.keys
            .aead
            .seal_in_place_append_tag(nonce, Aad::from(&self.header[..]), &mut self.buffer)
            .map_err(|_| FormatError::Damaged("sealing a chunk failed".to_owned()))?;
        let len = u32::try_from(self.buffer.len())
            .map_err(|_| FormatError::Damaged("chunk".to_owned()))?;
        self.out.write_all(&len.to_be_bytes())?;
        self.out.write_all(&self.buffer)?;
        self.buffer.clear();
        self.index = self
            .index
            .checked_add(1)
            .ok_or_else(|| FormatError::Damaged("more than 2^32 chunks".to_owned()))?;
        Ok(())
    }

    /// Seals what is left as the last chunk; returns the output.
    pub fn finish(mut self) -> Result<W, FormatError> {
        self.seal(true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Sealer<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let room = CHUNK - self.buffer.len();
        let take = room.min(bytes.len());
        self.buffer.extend_from_slice(&bytes[..take]);
        if self.buffer.len() == CHUNK {
            self.seal(false).map_err(std::io::Error::other)?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Reads a backup: the header and passphrase are checked at once, then the payload is read
/// chunk by chunk, each authenticated before a byte of it is returned. The end is only reached
/// through the last chunk; anything after it is damage.
pub struct Opener<R: Read> {
    input: R,
    keys: Keys,
    header: [u8; HEADER],
    prefix: [u8; PREFIX],
    index: u32,
    plain: Vec<u8>,
    at: usize,
    ended: bool,
}

impl<R: Read> Opener<R> {
    pub fn new(mut input: R, passphrase: &[u8]) -> Result<Self, FormatError> {
        let mut header = [0u8; HEADER];
        let got = read_full(&mut input, &mut header)?;
        if got < MAGIC.len() || &header[..MAGIC.len()] != MAGIC {
            return Err(FormatError::NotABackup);
        }
        if got < HEADER {
            return Err(FormatError::Truncated(
                "its header is incomplete".to_owned(),
            ));
        }
        let word = |at: usize| {
            u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        let cost = Cost {
            m_kib: word(8),
            t: word(12),
            p: word(16),
        };
        if !cost.plausible() {
            return Err(FormatError::Damaged(
                "its header names an impossible key cost".to_owned(),
            ));
        }
        let mut salt = [0u8; SALT];
        salt.copy_from_slice(&header[20..20 + SALT]);
        let mut prefix = [0u8; PREFIX];
        prefix.copy_from_slice(&header[20 + SALT..20 + SALT + PREFIX]);
        let keys = derive(passphrase, &salt, cost)?;
        let stored = &header[HEADER - CHECK..];
        // Constant-time comparison of the check value.
        if stored
            .iter()
            .zip(keys.check.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            != 0
        {
            return Err(FormatError::WrongPassphrase);
        }
        Ok(Self {
            input,
            keys,
            header,
            prefix,
            index: 0,
            plain: Vec::new(),
            at: 0,
            ended: false,
        })
    }

    /// Reads and authenticates the next chunk into `plain`; `false` at the end.
    fn next_chunk(&mut self) -> Result<bool, FormatError> {
        if self.ended {
            return Ok(false);
        }
        let mut len = [0u8; 4];
        match read_full(&mut self.input, &mut len)? {
            0 => {
                return Err(FormatError::Truncated(format!(
                    "it ends after chunk {} without its last chunk",
                    self.index
                )));
            }
            4 => {}
            _ => {
                return Err(FormatError::Truncated(format!(
                    "chunk {} is cut off",
                    self.index
                )));
            }
        }
        let len = u32::from_be_bytes(len) as usize;
        if !(TAG..=CHUNK + TAG).contains(&len) {
            return Err(FormatError::Damaged(format!(
                "chunk {} has an impossible length",
                self.index
            )));
        }
        self.plain.resize(len, 0);
        if read_full(&mut self.input, &mut self.plain)? < len {
            return Err(FormatError::Truncated(format!(
                "chunk {} is cut off",
                self.index
            )));
        }
        let mut opened = None;
        for last in [false, true] {
            let mut attempt = self.plain.clone();
            let nonce = nonce(&self.prefix, self.index, last);
            if let Ok(plain) =
                self.keys
                    .aead
                    .open_in_place(nonce, Aad::from(&self.header[..]), &mut attempt)
            {
                let n = plain.len();
                attempt.truncate(n);
                opened = Some((attempt, last));
                break;
            }
        }
        let Some((plain, last)) = opened else {
            return Err(FormatError::Damaged(format!(
                "chunk {} fails its authentication (changed, moved or from another backup)",
                self.index
            )));
        };
        self.plain = plain;
        self.at = 0;
        self.index = self.index.saturating_add(1);
        if last {
            self.ended = true;
            let mut more = [0u8; 1];
            if read_full(&mut self.input, &mut more)? != 0 {
                return Err(FormatError::Damaged(
                    "there are bytes after its last chunk".to_owned(),
                ));
            }
        }
        Ok(true)
    }

    /// Reads the whole rest, authenticating it, and throws it away: checks a backup end to end.
    pub fn verify_to_end(mut self) -> Result<u64, FormatError> {
        let mut total = 0u64;
        loop {
            total += (self.plain.len() - self.at) as u64;
            self.at = self.plain.len();
            if !self.next_chunk()? {
                return Ok(total);
            }
        }
    }
}

impl<R: Read> Read for Opener<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.plain.len() {
            if !self.next_chunk().map_err(std::io::Error::other)? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.plain.len() - self.at);
        out[..n].copy_from_slice(&self.plain[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Reads until `buffer` is full or the input ends; how much was read.
fn read_full(input: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buffer.len() {
        match input.read(&mut buffer[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(got)
}

/// The [`FormatError`] an I/O error from an [`Opener`] carries, if any.
pub fn format_error(error: std::io::Error) -> FormatError {
    match error.downcast::<FormatError>() {
        Ok(format) => format,
        Err(error) => FormatError::Io(error),
    }
}

#[cfg(test)]
mod tests;
