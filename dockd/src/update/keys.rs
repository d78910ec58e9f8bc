//! The public keys a release must be signed with, compiled in. It owns which keys a dock trusts:
//! the release keys in `keys/*.pub` (their private halves are kept offline, never in the
//! repository) and, in debug builds only (`cargo test`, `cargo run`), the test key whose seed is
//! public in this file. It must never read a key from the disk, the network or the environment,
//! and a release build must never hold the test key's bytes (a package test reads the packaged
//! binary for them).

use super::manifest::TrustedKey;

/// The release keys: 32-byte ed25519 public keys, one per file.
const RELEASE_KEYS: &[[u8; 32]] = &[*include_bytes!("keys/release-2026.pub")];

// A build without a release key would have an updater that trusts nothing (or, with the crate's
// defaults, checks nothing): it does not build.
const _: () = assert!(
    !RELEASE_KEYS.is_empty(),
    "dockd needs at least one release key in update/keys/"
);

/// The keys this build trusts: the release keys, and the test key in a debug build.
pub fn trusted() -> Vec<TrustedKey> {
    #[allow(unused_mut)]
    let mut keys: Vec<TrustedKey> = RELEASE_KEYS.iter().copied().map(TrustedKey::new).collect();
    #[cfg(debug_assertions)]
    keys.push(TrustedKey::new(test_key::public()));
    keys
}

/// The test release key: exists only in debug builds, so the tests can sign releases (manifests
/// with plain ed25519, archives with zipsign's ed25519ph) that only a debug build believes.
#[cfg(debug_assertions)]
pub mod test_key {
    /// The private seed: public knowledge, which is why only debug builds trust it.
    pub const SEED: [u8; 32] = *b"dockd test release key, public!!";

    /// The public half of [`SEED`].
    pub fn public() -> [u8; 32] {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
        let mut public = [0u8; 32];
        // A 32-byte seed always makes a key pair; were it refused, the zero key verifies nothing.
        if let Ok(pair) = Ed25519KeyPair::from_seed_unchecked(&SEED) {
            public.copy_from_slice(pair.public_key().as_ref());
        }
        public
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_debug_build_trusts_the_release_key_and_the_test_key_and_no_other() {
        let keys = trusted();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].public, RELEASE_KEYS[0]);
        assert_eq!(keys[1].public, test_key::public());
        assert_ne!(keys[0].id, keys[1].id);
    }
}
