//! The harness's one source of randomness: a small seeded generator, and
//! the process's seed, taken from `TINYKV_SEED` when set so that a failing
//! run's random choices (the test's, the cluster's, the drop filter's) can
//! be made again.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The variable that fixes the seed of a run.
pub const SEED_ENV: &str = "TINYKV_SEED";

/// A xorshift64 generator: tiny, fast and reproducible (not for secrets).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (zero is made non-zero).
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    /// The next number of the sequence.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The seed of this process: `TINYKV_SEED` if set, else drawn from the
/// clock. Printed once (`TINYKV_SEED=…`, which the lab's reports pick up),
/// the first time anything asks for it.
pub fn test_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        let seed = std::env::var(SEED_ENV)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64)
            });
        eprintln!("{SEED_ENV}={seed}");
        seed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (Rng::new(42), Rng::new(42));
        let xs: Vec<u64> = (0..5).map(|_| a.next()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::new(0).next(), 0);
        assert!((0..100).all(|_| a.below(7) < 7));
    }
}
