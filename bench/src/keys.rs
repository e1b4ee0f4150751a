//! Which key an operation touches: uniform or Zipfian over a fixed key
//! space, from a small seeded generator owned by each client.

pub use test_cluster::Rng;

/// How keys are drawn.
#[derive(Clone, Debug)]
pub enum KeyDist {
    Uniform {
        n: u64,
    },
    /// YCSB's Zipfian generator (Gray et al., "Quickly generating
    /// billion-record synthetic databases"): item 0 is the hottest.
    Zipf {
        n: u64,
        theta: f64,
        alpha: f64,
        zetan: f64,
        eta: f64,
    },
}

fn zeta(n: u64, theta: f64) -> f64 {
    (1..=n).map(|i| 1.0 / (i as f64).powf(theta)).sum()
}

impl KeyDist {
    pub fn uniform(n: u64) -> Self {
        KeyDist::Uniform { n: n.max(1) }
    }

    pub fn zipf(n: u64, theta: f64) -> Self {
        let n = n.max(2);
        let zetan = zeta(n, theta);
        let zeta2 = zeta(2, theta);
        let alpha = 1.0 / (1.0 - theta);
        let eta = (1.0 - (2.0 / n as f64).powf(1.0 - theta)) / (1.0 - zeta2 / zetan);
        KeyDist::Zipf {
            n,
            theta,
            alpha,
            zetan,
            eta,
        }
    }

    pub fn len(&self) -> u64 {
        match self {
            KeyDist::Uniform { n } | KeyDist::Zipf { n, .. } => *n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An index in `[0, len)`.
    pub fn sample(&self, rng: &mut Rng) -> u64 {
        match *self {
            KeyDist::Uniform { n } => rng.below(n),
            KeyDist::Zipf {
                n,
                theta,
                alpha,
                zetan,
                eta,
            } => {
                let u = rng.unit();
                let uz = u * zetan;
                if uz < 1.0 {
                    return 0;
                }
                if uz < 1.0 + 0.5f64.powf(theta) {
                    return 1;
                }
                let v = (n as f64 * (eta * u - eta + 1.0).powf(alpha)) as u64;
                v.min(n - 1)
            }
        }
    }
}

/// The key of index `i` owned by `client`, exactly `size` bytes (at least
/// 8): `k`, the client in 3 digits, the index zero-padded. Each client
/// writes only its own keys, so the final read-back knows what to expect.
pub fn key_of(client: usize, i: u64, size: usize) -> Vec<u8> {
    let size = size.max(8);
    let mut k = format!("k{:03}{:0width$}", client % 1000, i, width = size - 4).into_bytes();
    k.truncate(size);
    k
}

/// A value of exactly `size` bytes naming its writer and sequence number.
pub fn value_of(client: usize, seq: u64, size: usize) -> Vec<u8> {
    let mut v = format!("v{client}-{seq}-").into_bytes();
    v.resize(size.max(v.len()), b'.');
    v.truncate(size.max(1));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_asked_size_and_sort_by_index() {
        let a = key_of(7, 41, 16);
        let b = key_of(7, 42, 16);
        assert_eq!(a.len(), 16);
        assert!(a < b);
        assert_eq!(value_of(3, 9, 128).len(), 128);
    }

    #[test]
    fn zipf_stays_in_range_and_is_skewed() {
        let d = KeyDist::zipf(1000, 0.99);
        let mut rng = Rng::new(1);
        let mut hits = vec![0u32; 1000];
        for _ in 0..100_000 {
            hits[d.sample(&mut rng) as usize] += 1;
        }
        assert!(
            hits[0] > hits[500] * 20,
            "item 0: {}, item 500: {}",
            hits[0],
            hits[500]
        );
        let u = KeyDist::uniform(10);
        assert!((0..1000).all(|_| u.sample(&mut rng) < 10));
    }
}
