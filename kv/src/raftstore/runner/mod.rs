//! Background workers of the raftstore and the tasks they take. Each
//! worker runs one handler on its own thread (see `util::worker`).

pub mod raftlog_gc;
pub mod region_task;
pub mod scheduler_task;
pub mod split_checker;

use crossbeam_channel::Sender;
use proto::eraftpb::{Snapshot, SnapshotMetadata};
use proto::metapb::{Peer, Region};
use proto::schedulerpb::StoreStats;

use crate::raftstore::message::Callback;
use crate::util::engine_util::Engines;

/// Work for the region worker: snapshot generation and application, and
/// deletion of a key range's data.
#[derive(Debug)]
pub enum RegionTask {
    /// Build a snapshot of the region; the result (or a dropped sender on
    /// failure) arrives on `notifier`.
    Gen {
        region_id: u64,
        notifier: Sender<Snapshot>,
    },
    /// Replace the data of `[start_key, end_key)` with the snapshot's;
    /// `notifier` receives `true` when done.
    Apply {
        region_id: u64,
        notifier: Sender<bool>,
        snap_meta: SnapshotMetadata,
        start_key: Vec<u8>,
        end_key: Vec<u8>,
    },
    /// Delete all data in `[start_key, end_key)`.
    Destroy {
        region_id: u64,
        start_key: Vec<u8>,
        end_key: Vec<u8>,
    },
}

pub type RegionTaskSender = Sender<RegionTask>;

/// Delete raft log entries `[start_idx, end_idx)` of a region from the raft
/// engine; `start_idx == 0` means "from the first one there is".
#[derive(Debug)]
pub struct RaftLogGcTask {
    pub raft_engine: std::sync::Arc<crate::util::engine_util::DB>,
    pub region_id: u64,
    pub start_idx: u64,
    pub end_idx: u64,
}

/// Measure a region and look for a split key.
#[derive(Debug)]
pub struct SplitCheckTask {
    pub region: Region,
}

/// Work for the scheduler worker: talking to the scheduler.
#[derive(Debug)]
pub enum SchedulerTask {
    AskSplit {
        region: Region,
        split_key: Vec<u8>,
        peer: Peer,
        callback: Callback,
    },
    RegionHeartbeat {
        region: Region,
        peer: Peer,
        pending_peers: Vec<Peer>,
        approximate_size: Option<u64>,
    },
    StoreHeartbeat {
        stats: StoreStats,
        engines: Engines,
        path: String,
    },
}
