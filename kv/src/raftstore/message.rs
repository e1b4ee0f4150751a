//! Everything that travels to a peer or to the store worker, and the
//! callback through which a client command gets its answer.

use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender};
use proto::metapb::{RegionEpoch, Store};
use proto::raft_cmdpb::{RaftCmdRequest, RaftCmdResponse};
use proto::raft_serverpb::RaftMessage;

use crate::raftstore::snap::SnapKeyWithSending;
use crate::util::engine_util::DbSnapshot;

/// The answer to a command: the response and, for a Snap request, a
/// consistent read view of the kv engine taken when the command applied.
#[derive(Debug)]
pub struct CmdResult {
    pub resp: RaftCmdResponse,
    pub snap: Option<DbSnapshot>,
}

/// Where the raftstore delivers the answer to one command. A callback is
/// used at most once; dropping it unanswered makes the waiter time out.
#[derive(Debug, Default)]
pub struct Callback {
    tx: Option<Sender<CmdResult>>,
}

/// The waiting side of a [`Callback`].
#[derive(Debug)]
pub struct CallbackReceiver {
    rx: Receiver<CmdResult>,
}

impl Callback {
    /// A callback and the receiver its answer arrives on.
    pub fn new() -> (Callback, CallbackReceiver) {
        let (tx, rx) = bounded(1);
        (Callback { tx: Some(tx) }, CallbackReceiver { rx })
    }

    /// A callback nobody waits for (Go's nil callback).
    pub fn none() -> Callback {
        Callback { tx: None }
    }

    pub fn is_none(&self) -> bool {
        self.tx.is_none()
    }

    pub fn done(self, resp: RaftCmdResponse) {
        self.done_with_snap(resp, None)
    }

    pub fn done_with_snap(self, resp: RaftCmdResponse, snap: Option<DbSnapshot>) {
        if let Some(tx) = self.tx {
            // The waiter may have given up; that is fine.
            let _ = tx.try_send(CmdResult { resp, snap });
        }
    }
}

impl CallbackReceiver {
    /// Blocks until the answer arrives; `None` if the callback was dropped.
    pub fn wait_resp(&self) -> Option<CmdResult> {
        self.rx.recv().ok()
    }

    /// Like [`wait_resp`](Self::wait_resp) but gives up after `timeout`.
    pub fn wait_resp_with_timeout(&self, timeout: Duration) -> Option<CmdResult> {
        self.rx.recv_timeout(timeout).ok()
    }
}

/// A message for the peer of one region, handled on the raft worker.
#[derive(Debug)]
pub enum PeerMsg {
    /// Starts the peer's ticks; sent once a peer is registered.
    Start,
    /// One base tick of logical time.
    Tick,
    /// A raft message from another store.
    RaftMessage(Box<RaftMessage>),
    /// A client or admin command to propose.
    RaftCmd {
        request: Box<RaftCmdRequest>,
        callback: Callback,
    },
    /// The split checker found a split key.
    SplitRegion {
        region_epoch: RegionEpoch,
        split_key: Vec<u8>,
        callback: Callback,
    },
    /// The split checker measured the region.
    RegionApproximateSize(u64),
    /// Snapshot files of this region that nobody uses any more.
    GcSnap(Vec<SnapKeyWithSending>),
}

/// A [`PeerMsg`] addressed to a region.
#[derive(Debug)]
pub struct Msg {
    pub region_id: u64,
    pub msg: PeerMsg,
}

impl Msg {
    pub fn new(region_id: u64, msg: PeerMsg) -> Self {
        Msg { region_id, msg }
    }
}

/// Store-level periodic work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreTick {
    SchedulerStoreHeartbeat,
    SnapGc,
}

/// A message for the store worker.
#[derive(Debug)]
pub enum StoreMsg {
    /// A raft message for a region that has no peer on this store.
    RaftMessage(Box<RaftMessage>),
    Tick(StoreTick),
    Start {
        store: Store,
    },
}

/// The raftstore's entry points, as used by the transport, the storage
/// layer and the scheduler worker.
pub trait RaftRouter: Send + Sync {
    fn send(&self, region_id: u64, msg: PeerMsg) -> crate::raftstore::Result<()>;
    fn send_raft_message(&self, msg: RaftMessage) -> crate::raftstore::Result<()>;
    fn send_raft_command(&self, req: RaftCmdRequest, cb: Callback) -> crate::raftstore::Result<()>;
}
