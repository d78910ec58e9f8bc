//! Test-only helpers of `upload`: a seeded random source (SplitMix64) for reproducible jitter.
//! It must never be used outside tests.

use super::retry::RandomSource;

/// A reproducible random stream.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl RandomSource for Rng {
    fn next_u64(&mut self) -> u64 {
        self.next()
    }
}
