//! The harness's one source of randomness: a small seeded generator, and
//! the process's seed, taken from `TINYKV_SEED` when set so that a failing
//! run's random choices (the test's, the cluster's, the drop filter's) can
//! be made again.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The variable that fixes the seed of a run.
pub const SEED_ENV: &str = "TINYKV_SEED";

/// The workspace's one seeded generator (raft's SplitMix64).
pub use raft::Rng;

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
