//! A release manifest and its verdict, pure: the manifest's exact bytes are verified with ed25519
//! against the compiled-in keys before any of it is believed, then judged against the running
//! version, the clock and this machine's architecture. It owns the rules a release must meet —
//! signed by a known key, not expired (a frozen mirror), newer than what runs (no rollback), not
//! beneath its minimum, an asset named for its own version and this architecture (no
//! mix-and-match), with a size limit and a sha256 to check the download against. It must never do
//! I/O, read a clock, or accept a manifest that no key verified.

use serde::Deserialize;

/// A public key releases are signed with, and its id (the first 8 bytes of its SHA-256, hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    pub id: String,
    pub public: [u8; 32],
}

impl TrustedKey {
    pub fn new(public: [u8; 32]) -> Self {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(public);
        Self {
            id: hex::encode(digest.get(..8).unwrap_or_default()),
            public,
        }
    }
}

/// A release version, `MAJOR.MINOR.PATCH`, compared by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl std::str::FromStr for Version {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.split('.').collect();
        let number = |i: usize| -> Result<u32, String> {
            parts
                .get(i)
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| format!("{text:?} is not a version MAJOR.MINOR.PATCH"))
        };
        if parts.len() != 3 {
            return Err(format!("{text:?} is not a version MAJOR.MINOR.PATCH"));
        }
        Ok(Version(number(0)?, number(1)?, number(2)?))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// One downloadable file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// `dockd-<version>-<arch>.tar.gz`: the name binds the file to its release.
    pub name: String,
    pub arch: String,
    /// SHA-256 of the file, 64 hex digits.
    pub sha256: String,
    /// SHA-256 of the `dockd` binary inside the archive, 64 hex digits: what the launcher checks
    /// a slot's binary against before every start.
    pub binary_sha256: String,
    /// Its exact size in bytes: the download stops beyond it.
    pub size: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    schema: u32,
    version: String,
    min_version: String,
    expires_ms: i64,
    key_id: String,
    assets: Vec<Asset>,
}

/// The largest release archive a manifest may announce.
pub const MAX_ASSET_BYTES: u64 = 256 << 20;

/// What a verified manifest offers this dock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A newer release, and the asset for this architecture.
    Offer { version: Version, asset: Asset },
    /// The manifest's release is the one running.
    UpToDate,
}

/// Why a manifest was refused; each says it in words a technician can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("this build has no release keys, so it installs no update")]
    NoKeys,
    #[error("the manifest is signed by key {0}, which this dock does not trust")]
    UnknownKey(String),
    #[error("the manifest's signature does not verify: it was changed or signed by another key")]
    BadSignature,
    #[error("the manifest is not one this dock reads: {0}")]
    Malformed(String),
    #[error(
        "the manifest expired at {expires_ms} (ms since 1970): a mirror may be serving a frozen one"
    )]
    Expired { expires_ms: i64 },
    #[error("the manifest offers {offered}, older than the running {running}: no rollback")]
    Rollback { offered: Version, running: Version },
    #[error("the running {running} is below the release's minimum {minimum}; update by package")]
    BelowMinimum { running: Version, minimum: Version },
    #[error("no asset of release {version} for {arch}")]
    NoAsset { version: Version, arch: String },
    #[error("the asset {name:?} is not named for release {version} and {arch}: mix-and-match")]
    MixAndMatch {
        name: String,
        version: Version,
        arch: String,
    },
    #[error("the asset announces {size} bytes, over the limit of {MAX_ASSET_BYTES}")]
    Oversize { size: u64 },
}

/// A manifest whose signature a trusted key verified: the release it describes, not yet judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: Version,
    pub min_version: Version,
    pub expires_ms: i64,
    pub assets: Vec<Asset>,
}

impl Release {
    /// This architecture's asset, if its name binds it to this release and `arch`.
    pub fn asset_for(&self, arch: &str) -> Result<&Asset, Rejected> {
        let version = self.version;
        let asset = self
            .assets
            .iter()
            .find(|asset| asset.arch == arch)
            .ok_or_else(|| Rejected::NoAsset {
                version,
                arch: arch.to_owned(),
            })?;
        if asset.name != format!("dockd-{version}-{arch}.tar.gz") {
            return Err(Rejected::MixAndMatch {
                name: asset.name.clone(),
                version,
                arch: arch.to_owned(),
            });
        }
        Ok(asset)
    }
}

/// Verifies the manifest `bytes` with its detached `signature` (64 bytes) against `keys`, and
/// reads it: nothing of it is believed before this. Used at every start of an installed version
/// too (where expiry and rollback no longer matter, the signature and the hashes do).
pub fn verify(bytes: &[u8], signature: &[u8], keys: &[TrustedKey]) -> Result<Release, Rejected> {
    use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
    if keys.is_empty() {
        return Err(Rejected::NoKeys);
    }
    let signer = keys
        .iter()
        .find(|key| {
            UnparsedPublicKey::new(&ED25519, key.public)
                .verify(bytes, signature)
                .is_ok()
        })
        .ok_or_else(|| match named_key(bytes) {
            Some(id) if !keys.iter().any(|key| key.id == id) => Rejected::UnknownKey(id),
            _ => Rejected::BadSignature,
        })?;
    // Verified: from here on the bytes are the release server's own words.
    let wire: Wire =
        serde_json::from_slice(bytes).map_err(|e| Rejected::Malformed(e.to_string()))?;
    if wire.schema != 1 {
        return Err(Rejected::Malformed(format!("schema {}", wire.schema)));
    }
    if wire.key_id != signer.id {
        return Err(Rejected::Malformed(format!(
            "it names key {} but key {} signed it",
            wire.key_id, signer.id
        )));
    }
    let version: Version = wire.version.parse().map_err(Rejected::Malformed)?;
    let min_version: Version = wire.min_version.parse().map_err(Rejected::Malformed)?;
    for asset in &wire.assets {
        for digest in [&asset.sha256, &asset.binary_sha256] {
            if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Rejected::Malformed(format!(
                    "a sha256 of {} is not 64 hex digits",
                    asset.name
                )));
            }
        }
    }
    Ok(Release {
        version,
        min_version,
        expires_ms: wire.expires_ms,
        assets: wire.assets,
    })
}

/// Judges the manifest `bytes` with its detached `signature` (64 bytes) for a dock running
/// `running` on `arch` at `now_ms`, trusting `keys`.
pub fn judge(
    bytes: &[u8],
    signature: &[u8],
    keys: &[TrustedKey],
    running: Version,
    arch: &str,
    now_ms: i64,
) -> Result<Verdict, Rejected> {
    let release = verify(bytes, signature, keys)?;
    let (version, minimum) = (release.version, release.min_version);
    if now_ms >= release.expires_ms {
        return Err(Rejected::Expired {
            expires_ms: release.expires_ms,
        });
    }
    if version < running {
        return Err(Rejected::Rollback {
            offered: version,
            running,
        });
    }
    if version == running {
        return Ok(Verdict::UpToDate);
    }
    if running < minimum {
        return Err(Rejected::BelowMinimum { running, minimum });
    }
    let asset = release.asset_for(arch)?.clone();
    if asset.size > MAX_ASSET_BYTES {
        return Err(Rejected::Oversize { size: asset.size });
    }
    Ok(Verdict::Offer { version, asset })
}

/// The key id an unverified manifest names, only to say which unknown key signed it.
fn named_key(bytes: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let id = value.get("key_id")?.as_str()?;
    (id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};

    const NOW: i64 = 1_800_000_000_000;
    const RUNNING: Version = Version(1, 4, 0);

    fn key_pair(seed: u8) -> (Ed25519KeyPair, TrustedKey) {
        let pair = Ed25519KeyPair::from_seed_unchecked(&[seed; 32]).unwrap();
        let public: [u8; 32] = pair.public_key().as_ref().try_into().unwrap();
        (pair, TrustedKey::new(public))
    }

    fn manifest(key: &TrustedKey, version: &str, asset_version: &str, expires_ms: i64) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "schema": 1,
            "version": version,
            "min_version": "1.0.0",
            "expires_ms": expires_ms,
            "key_id": key.id,
            "assets": [{
                "name": format!("dockd-{asset_version}-x86_64.tar.gz"),
                "arch": "x86_64",
                "sha256": "ab".repeat(32),
                "binary_sha256": "cd".repeat(32),
                "size": 9_000_000,
            }],
        }))
        .unwrap()
    }

    fn judged(
        bytes: &[u8],
        signer: &Ed25519KeyPair,
        keys: &[TrustedKey],
    ) -> Result<Verdict, Rejected> {
        let signature = signer.sign(bytes);
        judge(bytes, signature.as_ref(), keys, RUNNING, "x86_64", NOW)
    }

    #[test]
    fn a_newer_release_signed_by_a_trusted_key_is_offered_with_its_asset() {
        let (pair, key) = key_pair(1);
        let bytes = manifest(&key, "1.5.0", "1.5.0", NOW + 1);
        match judged(&bytes, &pair, std::slice::from_ref(&key)).unwrap() {
            Verdict::Offer { version, asset } => {
                assert_eq!(version, Version(1, 5, 0));
                assert_eq!(asset.name, "dockd-1.5.0-x86_64.tar.gz");
                assert_eq!(asset.size, 9_000_000);
            }
            other => panic!("{other:?}"),
        }
        let same = manifest(&key, "1.4.0", "1.4.0", NOW + 1);
        assert_eq!(judged(&same, &pair, &[key]).unwrap(), Verdict::UpToDate);
    }

    #[test]
    fn every_attack_on_the_manifest_is_refused_with_its_reason() {
        let (pair, key) = key_pair(1);
        let (stranger, stranger_key) = key_pair(2);
        let keys = [key.clone()];
        let good = manifest(&key, "1.5.0", "1.5.0", NOW + 1);
        // No keys compiled in: nothing is installed, even a well-signed manifest.
        assert_eq!(
            judge(
                &good,
                pair.sign(&good).as_ref(),
                &[],
                RUNNING,
                "x86_64",
                NOW
            ),
            Err(Rejected::NoKeys)
        );
        // Signed by a key this dock does not know.
        let foreign = manifest(&stranger_key, "1.5.0", "1.5.0", NOW + 1);
        assert_eq!(
            judged(&foreign, &stranger, &keys),
            Err(Rejected::UnknownKey(stranger_key.id.clone()))
        );
        // One byte changed after signing (a bigger size, say).
        let signature = pair.sign(&good);
        let mut changed = good.clone();
        let at = changed.windows(7).position(|w| w == b"9000000").unwrap();
        changed[at] = b'8';
        assert_eq!(
            judge(&changed, signature.as_ref(), &keys, RUNNING, "x86_64", NOW),
            Err(Rejected::BadSignature)
        );
        // No signature at all.
        assert_eq!(
            judge(&good, &[], &keys, RUNNING, "x86_64", NOW),
            Err(Rejected::BadSignature)
        );
        // A frozen manifest past its expiry.
        let stale = manifest(&key, "1.5.0", "1.5.0", NOW);
        assert!(matches!(
            judged(&stale, &pair, &keys),
            Err(Rejected::Expired { .. })
        ));
        // A rollback to an older, properly signed release.
        let old = manifest(&key, "1.3.9", "1.3.9", NOW + 1);
        assert_eq!(
            judged(&old, &pair, &keys),
            Err(Rejected::Rollback {
                offered: Version(1, 3, 9),
                running: RUNNING
            })
        );
        // Mix-and-match: release 1.5.0's manifest pointing at 1.4.1's archive.
        let mixed = manifest(&key, "1.5.0", "1.4.1", NOW + 1);
        assert!(matches!(
            judged(&mixed, &pair, &keys),
            Err(Rejected::MixAndMatch { .. })
        ));
        // Another architecture only.
        let arm = manifest(&key, "1.5.0", "1.5.0", NOW + 1);
        assert!(matches!(
            judge(
                &arm,
                pair.sign(&arm).as_ref(),
                &keys,
                RUNNING,
                "aarch64",
                NOW
            ),
            Err(Rejected::NoAsset { .. })
        ));
        // An endless download announced.
        let huge = String::from_utf8(good.clone())
            .unwrap()
            .replace("9000000", &(MAX_ASSET_BYTES + 1).to_string())
            .into_bytes();
        assert!(matches!(
            judged(&huge, &pair, &keys),
            Err(Rejected::Oversize { .. })
        ));
        // Below the release's minimum.
        let jump = String::from_utf8(manifest(&key, "2.0.0", "2.0.0", NOW + 1))
            .unwrap()
            .replace("1.0.0", "1.5.0")
            .into_bytes();
        assert!(matches!(
            judged(&jump, &pair, &keys),
            Err(Rejected::BelowMinimum { .. })
        ));
    }

    #[test]
    fn versions_compare_by_number_and_anything_else_is_not_a_version() {
        assert!("1.10.0".parse::<Version>().unwrap() > "1.9.9".parse().unwrap());
        for bad in ["1.2", "1.2.3.4", "1.x.0", "", "1..0", "+1.2.3"] {
            assert!(bad.parse::<Version>().is_err(), "{bad}");
        }
    }
}
