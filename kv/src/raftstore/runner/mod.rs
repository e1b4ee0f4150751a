//! Background workers of the raftstore and the tasks they take. Each
//! worker runs one handler on its own thread (see `util::worker`).

pub mod raftlog_gc;
pub mod region_task;
pub mod scheduler_task;
pub mod split_checker;

use crossbeam_channel::{Receiver, SendError, Sender};
use proto::eraftpb::{Snapshot, SnapshotMetadata};
use proto::metapb::{Peer, Region};
use proto::schedulerpb::StoreStats;

use crate::raftstore::message::Callback;
use crate::util::engine_util::Engines;
use crate::util::worker::SharedDrivenWorker;

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

/// Where a store's region tasks go. A threaded store has the region
/// worker's thread handle them; a driven store (see
/// [`Raftstore::start_driven`](crate::raftstore::store::Raftstore::start_driven))
/// also lets the one who waits for a task run the worker itself, since no
/// other thread would while it waits.
#[derive(Clone)]
pub struct RegionTaskSender {
    sender: Sender<RegionTask>,
    /// A driven store's region worker, run inline by [`wait`](Self::wait).
    inline: Option<SharedDrivenWorker<RegionTask>>,
}

impl RegionTaskSender {
    /// Tasks sent here go to the region worker's thread.
    pub fn threaded(sender: Sender<RegionTask>) -> Self {
        RegionTaskSender {
            sender,
            inline: None,
        }
    }

    /// Tasks sent here wait for the driver, or for [`wait`](Self::wait),
    /// to run `worker`.
    pub fn driven(sender: Sender<RegionTask>, worker: SharedDrivenWorker<RegionTask>) -> Self {
        RegionTaskSender {
            sender,
            inline: Some(worker),
        }
    }

    /// Queues `task`; fails once the worker has stopped.
    pub fn send(&self, task: RegionTask) -> Result<(), SendError<RegionTask>> {
        self.sender.send(task)
    }

    /// The answer to a task sent before, on its notifier `rx`: blocks for it
    /// on a threaded store; on a driven one, runs the region worker (its
    /// queue in order, so earlier tasks first) until the answer is there.
    /// `None` if the task was dropped unanswered.
    pub fn wait<T>(&self, rx: &Receiver<T>) -> Option<T> {
        let Some(worker) = &self.inline else {
            return rx.recv().ok();
        };
        loop {
            if let Ok(v) = rx.try_recv() {
                return Some(v);
            }
            if worker.poll() == 0 {
                return rx.try_recv().ok();
            }
        }
    }
}

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
