//! The emulator's deterministic random numbers (xoshiro256** seeded through SplitMix64). It owns
//! reproducibility: the same seed always yields the same stream on every platform. It must never
//! read entropy from the OS or a clock, or every "same seed → same bytes" promise breaks.

/// One SplitMix64 step: the standard way to stretch a 64-bit seed into well-mixed words.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed for sub-stream `stream` of `seed`: how a fleet gives each wearable, and a wearable each
/// shift, its own independent stream while staying reproducible from one base seed.
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    let mut state = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    splitmix64(&mut state)
}

/// xoshiro256**: fast, small, statistically good enough for synthetic shifts.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut state = seed;
        Self {
            s: [
                splitmix64(&mut state),
                splitmix64(&mut state),
                splitmix64(&mut state),
                splitmix64(&mut state),
            ],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (0 when `n == 0`), by multiply-shift: no division, negligible bias for
    /// the small ranges a shift uses.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64() >> 32) * u128::from(n)) >> 32) as u64
    }

    /// Uniform in `lo..=hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        let span = i64::from(hi) - i64::from(lo) + 1;
        if span <= 1 {
            return lo;
        }
        // `span` fits in u32 + 1 and the result lies in lo..=hi, so the casts are exact.
        (i64::from(lo) + self.below(span as u64) as i64) as i32
    }

    /// Uniform in `lo..=hi` for durations and other unsigned quantities.
    pub fn range_u32(&mut self, lo: u32, hi: u32) -> u32 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(u64::from(hi - lo) + 1) as u32
    }

    /// True with probability `permille / 1000`.
    pub fn chance(&mut self, permille: u32) -> bool {
        self.below(1000) < u64::from(permille)
    }

    /// Either `value` or `-value`, evenly.
    pub fn signed(&mut self, value: i32) -> i32 {
        if self.next_u64() >> 63 == 0 {
            value
        } else {
            -value
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_stream() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn ranges_stay_inside_their_bounds_and_reach_both_ends() {
        let mut rng = Rng::new(7);
        let (mut saw_lo, mut saw_hi) = (false, false);
        for _ in 0..10_000 {
            let v = rng.range(-3, 3);
            assert!((-3..=3).contains(&v));
            saw_lo |= v == -3;
            saw_hi |= v == 3;
            assert!((10..=12).contains(&rng.range_u32(10, 12)));
        }
        assert!(saw_lo && saw_hi);
        assert_eq!(rng.range(5, 5), 5);
        assert_eq!(rng.range_u32(9, 3), 9);
    }

    #[test]
    fn derived_seeds_differ_per_stream_and_repeat_per_seed() {
        assert_eq!(derive_seed(9, 1), derive_seed(9, 1));
        assert_ne!(derive_seed(9, 1), derive_seed(9, 2));
        assert_ne!(derive_seed(9, 1), derive_seed(10, 1));
    }
}
