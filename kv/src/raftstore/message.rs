//! Everything that travels to a peer or to the store worker, and the
//! callback through which a client command gets its answer.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

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

/// The slot one answer travels through. Waiters park on the condvar at
/// once: a channel's receive spins and yields first, and with dozens of
/// clients waiting on a busy store that spinning costs whole cores.
#[derive(Debug, Default)]
struct Slot {
    state: Mutex<SlotState>,
    ready: Condvar,
}

#[derive(Debug, Default)]
enum SlotState {
    #[default]
    Waiting,
    Done(Box<CmdResult>),
    /// The callback was dropped unanswered, or the answer was taken.
    Closed,
}

/// Where the raftstore delivers the answer to one command. A callback is
/// used at most once; dropping it unanswered wakes the waiter with `None`.
#[derive(Debug, Default)]
pub struct Callback {
    slot: Option<Arc<Slot>>,
}

/// The waiting side of a [`Callback`].
#[derive(Debug)]
pub struct CallbackReceiver {
    slot: Arc<Slot>,
}

impl Callback {
    /// A callback and the receiver its answer arrives on.
    pub fn new() -> (Callback, CallbackReceiver) {
        let slot = Arc::new(Slot::default());
        (
            Callback {
                slot: Some(slot.clone()),
            },
            CallbackReceiver { slot },
        )
    }

    /// A callback nobody waits for (Go's nil callback).
    pub fn none() -> Callback {
        Callback { slot: None }
    }

    pub fn is_none(&self) -> bool {
        self.slot.is_none()
    }

    pub fn done(self, resp: RaftCmdResponse) {
        self.done_with_snap(resp, None)
    }

    pub fn done_with_snap(mut self, resp: RaftCmdResponse, snap: Option<DbSnapshot>) {
        // The waiter may have given up; the answer is then dropped with
        // the slot.
        self.finish(SlotState::Done(Box::new(CmdResult { resp, snap })));
    }

    fn finish(&mut self, state: SlotState) {
        if let Some(slot) = self.slot.take() {
            let mut s = slot.state.lock().unwrap_or_else(|e| e.into_inner());
            if matches!(*s, SlotState::Waiting) {
                *s = state;
            }
            drop(s);
            slot.ready.notify_all();
        }
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        self.finish(SlotState::Closed);
    }
}

impl CallbackReceiver {
    /// Blocks until the answer arrives; `None` if the callback was dropped.
    pub fn wait_resp(&self) -> Option<CmdResult> {
        let mut s = self.slot.state.lock().unwrap_or_else(|e| e.into_inner());
        while matches!(*s, SlotState::Waiting) {
            s = self.slot.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        Self::take(&mut s)
    }

    /// Like [`wait_resp`](Self::wait_resp) but gives up after `timeout`.
    pub fn wait_resp_with_timeout(&self, timeout: Duration) -> Option<CmdResult> {
        let deadline = Instant::now() + timeout;
        let mut s = self.slot.state.lock().unwrap_or_else(|e| e.into_inner());
        while matches!(*s, SlotState::Waiting) {
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            s = self
                .slot
                .ready
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        Self::take(&mut s)
    }

    /// The answer if it has come, without waiting: `Ready(Some(..))` once
    /// answered, `Ready(None)` if the callback was dropped unanswered,
    /// `Pending` while it is still out. For a driver that cannot block (the
    /// simulator's clients); like the waits, it takes the answer.
    pub fn try_resp(&self) -> std::task::Poll<Option<CmdResult>> {
        let mut s = self.slot.state.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*s, SlotState::Waiting) {
            return std::task::Poll::Pending;
        }
        std::task::Poll::Ready(Self::take(&mut s))
    }

    fn take(s: &mut SlotState) -> Option<CmdResult> {
        match std::mem::replace(s, SlotState::Closed) {
            SlotState::Done(r) => Some(*r),
            _ => None,
        }
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

/// What a check decided about an incoming raft message. The checks of
/// both the peer and the store answer with it, so "drop this" reads the
/// same everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum MsgVerdict {
    /// Go on with the message: step it, or hand it on.
    Accept,
    /// Drop it; the check did whatever the message called for (answered
    /// a stale sender, destroyed a stale peer, deleted snapshot files).
    Drop,
}
