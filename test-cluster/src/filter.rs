//! Message filters of the simulated network. A filter sees every raft
//! message between stores before delivery and may drop it; filters stack.

use std::sync::Mutex;

use proto::raft_serverpb::RaftMessage;

pub trait Filter: Send + Sync {
    /// True to deliver `msg`.
    fn before(&self, msg: &RaftMessage) -> bool;
    fn after(&self) {}
}

/// Cuts every message between a store of `s1` and a store of `s2`.
pub struct PartitionFilter {
    pub s1: Vec<u64>,
    pub s2: Vec<u64>,
}

impl Filter for PartitionFilter {
    fn before(&self, msg: &RaftMessage) -> bool {
        let from = msg.from_peer.map_or(0, |p| p.store_id);
        let to = msg.to_peer.map_or(0, |p| p.store_id);
        let touches = |s: &[u64]| s.iter().any(|&id| id == from || id == to);
        !(touches(&self.s1) && touches(&self.s2))
    }
}

/// Drops about one message in ten (Go: deliver iff `rand % 1000 > 100`).
pub struct DropFilter {
    rng: Mutex<u64>,
}

impl DropFilter {
    pub fn new(seed: u64) -> Self {
        DropFilter {
            rng: Mutex::new(seed | 1),
        }
    }
}

impl Filter for DropFilter {
    fn before(&self, _msg: &RaftMessage) -> bool {
        let mut s = self.rng.lock().unwrap();
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        (*s % 1000) > 100
    }
}
