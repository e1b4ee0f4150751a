//! Process-wide raftstore counters, read by benchmarks and tools.
//!
//! Plain relaxed atomics: counting costs one uncontended add and never
//! orders anything. Every store of the process adds to the same counters,
//! as TiKV's metrics do.

use std::sync::atomic::{AtomicU64, Ordering};

/// Raft messages handed to the transport.
pub static RAFT_MESSAGES_SENT: AtomicU64 = AtomicU64::new(0);
/// Raft worker rounds that handled at least one Ready.
pub static READY_ROUNDS: AtomicU64 = AtomicU64::new(0);
/// Writes of the raft engine made by ready rounds.
pub static RAFT_BATCH_WRITES: AtomicU64 = AtomicU64::new(0);
/// Of those, the ones that had to be synced.
pub static RAFT_BATCH_SYNCS: AtomicU64 = AtomicU64::new(0);
/// Log entries persisted by ready rounds.
pub static RAFT_ENTRIES_PERSISTED: AtomicU64 = AtomicU64::new(0);
/// Committed entries applied to the kv engine.
pub static ENTRIES_APPLIED: AtomicU64 = AtomicU64::new(0);
/// Writes of the kv engine made while applying.
pub static KV_BATCH_WRITES: AtomicU64 = AtomicU64::new(0);
/// Read-only commands answered without a log entry (ReadIndex).
pub static READS_BY_INDEX: AtomicU64 = AtomicU64::new(0);
/// Read-only commands raft could not confirm by ReadIndex, sent through
/// the log instead.
pub static READS_THROUGH_LOG: AtomicU64 = AtomicU64::new(0);

pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// A copy of every counter at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub raft_messages_sent: u64,
    pub ready_rounds: u64,
    pub raft_batch_writes: u64,
    pub raft_batch_syncs: u64,
    pub raft_entries_persisted: u64,
    pub entries_applied: u64,
    pub kv_batch_writes: u64,
    pub reads_by_index: u64,
    pub reads_through_log: u64,
}

pub fn snapshot() -> Snapshot {
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    Snapshot {
        raft_messages_sent: get(&RAFT_MESSAGES_SENT),
        ready_rounds: get(&READY_ROUNDS),
        raft_batch_writes: get(&RAFT_BATCH_WRITES),
        raft_batch_syncs: get(&RAFT_BATCH_SYNCS),
        raft_entries_persisted: get(&RAFT_ENTRIES_PERSISTED),
        entries_applied: get(&ENTRIES_APPLIED),
        kv_batch_writes: get(&KV_BATCH_WRITES),
        reads_by_index: get(&READS_BY_INDEX),
        reads_through_log: get(&READS_THROUGH_LOG),
    }
}

impl Snapshot {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &Snapshot) -> Snapshot {
        Snapshot {
            raft_messages_sent: self.raft_messages_sent - earlier.raft_messages_sent,
            ready_rounds: self.ready_rounds - earlier.ready_rounds,
            raft_batch_writes: self.raft_batch_writes - earlier.raft_batch_writes,
            raft_batch_syncs: self.raft_batch_syncs - earlier.raft_batch_syncs,
            raft_entries_persisted: self.raft_entries_persisted - earlier.raft_entries_persisted,
            entries_applied: self.entries_applied - earlier.entries_applied,
            kv_batch_writes: self.kv_batch_writes - earlier.kv_batch_writes,
            reads_by_index: self.reads_by_index - earlier.reads_by_index,
            reads_through_log: self.reads_through_log - earlier.reads_through_log,
        }
    }
}
