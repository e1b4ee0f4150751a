//! Latency samples and error counts, kept per client and merged at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// The operations of a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    Put,
    Get,
    Scan,
    Delete,
}

impl OpKind {
    pub const ALL: [OpKind; 4] = [OpKind::Put, OpKind::Get, OpKind::Scan, OpKind::Delete];

    pub fn name(self) -> &'static str {
        match self {
            OpKind::Put => "put",
            OpKind::Get => "get",
            OpKind::Scan => "scan",
            OpKind::Delete => "delete",
        }
    }
}

/// What one client (or, merged, all of them) saw.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Latencies in microseconds of acknowledged operations, by kind.
    pub latencies: BTreeMap<OpKind, Vec<u32>>,
    /// Errors and retries by kind (`not_leader`, `timeout`, ...).
    pub errors: BTreeMap<String, u64>,
}

impl Stats {
    pub fn record(&mut self, kind: OpKind, latency: Duration) {
        let us = latency.as_micros().min(u32::MAX as u128) as u32;
        self.latencies.entry(kind).or_default().push(us);
    }

    pub fn error(&mut self, kind: &str) {
        *self.errors.entry(kind.to_string()).or_default() += 1;
    }

    pub fn merge(&mut self, other: Stats) {
        for (k, mut v) in other.latencies {
            self.latencies.entry(k).or_default().append(&mut v);
        }
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
    }

    pub fn count(&self, kind: OpKind) -> u64 {
        self.latencies.get(&kind).map_or(0, |v| v.len() as u64)
    }

    pub fn total(&self) -> u64 {
        self.latencies.values().map(|v| v.len() as u64).sum()
    }
}

/// The `q`-quantile (0..=1) of sorted samples, nearest rank.
pub fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<u32> = (1..=1000).collect();
        assert_eq!(quantile(&v, 0.5), 500);
        assert_eq!(quantile(&v, 0.99), 990);
        assert_eq!(quantile(&v, 0.999), 999);
        assert_eq!(quantile(&v, 1.0), 1000);
        assert_eq!(quantile(&[], 0.5), 0);
    }

    #[test]
    fn merge_adds_up() {
        let mut a = Stats::default();
        a.record(OpKind::Put, Duration::from_micros(5));
        a.error("timeout");
        let mut b = Stats::default();
        b.record(OpKind::Put, Duration::from_micros(7));
        b.record(OpKind::Get, Duration::from_micros(1));
        b.error("timeout");
        a.merge(b);
        assert_eq!(a.count(OpKind::Put), 2);
        assert_eq!(a.total(), 3);
        assert_eq!(a.errors["timeout"], 2);
    }
}
