//! The application-facing wrapper of [`Raft`]: it feeds input in and hands
//! output out as a [`Ready`].

use prost::Message as _;

use crate::eraftpb::{
    ConfChange, ConfState, Entry, EntryType, HardState, Message, MessageType, Snapshot,
};
use crate::errors::{Error, Result};
use crate::progress::Progress;
use crate::raft::{Config, Raft, StateType};
use crate::read_only::ReadState;
use crate::storage::Storage;
use crate::util::{is_local_msg, is_response_msg};

/// State that changes often and needs no persistence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SoftState {
    /// The leader this node knows of, or [`NONE`](crate::NONE).
    pub lead: u64,
    /// The role this node plays.
    pub raft_state: StateType,
}

/// What the application must do next, in this order: persist `hard_state`,
/// `entries` and `snapshot`; then send `messages`; then apply
/// `committed_entries`; then call [`RawNode::advance`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ready {
    /// Set when leader or role changed since the last `Ready`.
    pub soft_state: Option<SoftState>,
    /// Set when term, vote or commit changed; persist before sending.
    pub hard_state: Option<HardState>,
    /// Entries to append to stable storage before sending `messages`.
    pub entries: Vec<Entry>,
    /// A snapshot from the leader to install.
    pub snapshot: Option<Snapshot>,
    /// Entries committed and ready to apply to the state machine.
    pub committed_entries: Vec<Entry>,
    /// Messages to send once `hard_state` and `entries` are durable.
    pub messages: Vec<Message>,
    /// Reads the leader has confirmed (see [`RawNode::read_index`]): each
    /// may be answered once everything up to its index is applied.
    pub read_states: Vec<ReadState>,
}

/// A [`Raft`] node as the application drives it: ticks, proposals and
/// messages go in, and the resulting work comes out as [`Ready`]s.
pub struct RawNode<T: Storage> {
    /// The wrapped state machine, open for inspection.
    pub raft: Raft<T>,
    prev_soft_state: SoftState,
    prev_hard_state: HardState,
}

impl<T: Storage> RawNode<T> {
    /// Creates a node from `config`, restoring its state from `storage`
    /// (see [`Raft::new`]).
    pub fn new(config: &Config, storage: T) -> Result<Self> {
        // student: begin 2AC: create the raft node and remember its soft and hard state
        let raft = Raft::new(config, storage)?;
        let prev_soft_state = raft.soft_state();
        let prev_hard_state = raft.hard_state();
        Ok(RawNode {
            raft,
            prev_soft_state,
            prev_hard_state,
        })
        // student: end
    }

    /// Advances the logical clock by one tick.
    pub fn tick(&mut self) {
        self.raft.tick();
    }

    /// Starts an election now.
    pub fn campaign(&mut self) -> Result<()> {
        self.raft.step(Message {
            msg_type: MessageType::MsgHup as i32,
            ..Default::default()
        })
    }

    /// Proposes `data` as a normal entry.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<()> {
        let ent = Entry {
            data,
            ..Default::default()
        };
        self.raft.step(Message {
            msg_type: MessageType::MsgPropose as i32,
            from: self.raft.id,
            entries: vec![ent],
            ..Default::default()
        })
    }

    /// Proposes several normal entries in one step, so the leader appends
    /// them together and replicates them in one message per follower
    /// (what a raftstore round does with the commands it gathered). Either
    /// all are appended, at consecutive indexes, or none.
    pub fn propose_entries(&mut self, datas: Vec<Vec<u8>>) -> Result<()> {
        let entries = datas
            .into_iter()
            .map(|data| Entry {
                data,
                ..Default::default()
            })
            .collect();
        self.raft.step(Message {
            msg_type: MessageType::MsgPropose as i32,
            from: self.raft.id,
            entries,
            ..Default::default()
        })
    }

    /// Proposes a membership change; the entry carries `cc` encoded.
    pub fn propose_conf_change(&mut self, cc: ConfChange) -> Result<()> {
        let ent = Entry {
            entry_type: EntryType::EntryConfChange as i32,
            data: cc.encode_to_vec(),
            ..Default::default()
        };
        self.raft.step(Message {
            msg_type: MessageType::MsgPropose as i32,
            entries: vec![ent],
            ..Default::default()
        })
    }

    /// Applies a committed conf change; returns the new membership.
    pub fn apply_conf_change(&mut self, cc: &ConfChange) -> ConfState {
        self.raft.apply_conf_change(cc)
    }

    /// Asks to read without a log entry: `ctx` names the read. Once a
    /// quorum has confirmed this leader, a [`Ready`]'s `read_states` holds
    /// the read with the index to apply up to before answering it. An error
    /// means the read cannot be served this way now (see
    /// [`Raft::read_index`]); the application proposes it instead.
    pub fn read_index(&mut self, ctx: Vec<u8>) -> Result<()> {
        self.raft.read_index(ctx)
    }

    /// Feeds a message received from a peer.
    pub fn step(&mut self, m: Message) -> Result<()> {
        let t = m.msg_type();
        if is_local_msg(t) {
            return Err(Error::StepLocalMsg);
        }
        if self.raft.prs.contains_key(&m.from) || !is_response_msg(t) {
            return self.raft.step(m);
        }
        Err(Error::StepPeerNotFound)
    }

    /// Collects what the application has to do. Messages are moved out of
    /// raft; everything else is confirmed by [`advance`](Self::advance).
    pub fn ready(&mut self) -> Ready {
        // student: begin 2AC: collect what changed since the last Ready: soft/hard state, unstable entries, snapshot, committed entries, messages
        let r = &mut self.raft;
        let ss = r.soft_state();
        let hs = r.hard_state();
        Ready {
            soft_state: (ss != self.prev_soft_state).then_some(ss),
            hard_state: (hs != self.prev_hard_state).then_some(hs),
            entries: r.raft_log.unstable_entries().to_vec(),
            snapshot: r.raft_log.pending_snapshot.clone(),
            committed_entries: r.raft_log.next_ents(),
            messages: std::mem::take(&mut r.msgs),
            // student: begin 3B: (optional, for reads without log entries) hand over the confirmed reads
            read_states: std::mem::take(&mut r.read_states),
            // student: stub
            // read_states: Vec::new(),
            // student: end
        }
        // student: end
    }

    /// True if there is anything for a [`Ready`].
    pub fn has_ready(&self) -> bool {
        // student: begin 2AC: true if ready() would have anything to do
        let r = &self.raft;
        r.soft_state() != self.prev_soft_state
            || r.hard_state() != self.prev_hard_state
            || !r.msgs.is_empty()
            || !r.raft_log.unstable_entries().is_empty()
            || r.raft_log.has_next_ents()
            || r.raft_log.pending_snapshot.is_some()
            // student: begin 3B: (optional, for reads without log entries) confirmed reads are work too
            || !r.read_states.is_empty()
        // student: stub
        // student: end
        // student: end
    }

    /// Confirms that everything in `rd` was persisted, sent and applied.
    pub fn advance(&mut self, rd: Ready) {
        // student: begin 2AC: record that a Ready was handled: states, stabled and applied indexes, the installed snapshot
        let log = &mut self.raft.raft_log;
        if let Some(ss) = rd.soft_state {
            self.prev_soft_state = ss;
        }
        if let Some(hs) = rd.hard_state {
            self.prev_hard_state = hs;
        }
        if let Some(e) = rd.entries.last() {
            log.stabled = log.stabled.max(e.index).min(log.last_index());
        }
        if let Some(e) = rd.committed_entries.last() {
            log.applied = log.applied.max(e.index);
        }
        // student: begin 2C: forget the pending snapshot once installed, and drop entries the storage compacted
        if let Some(snap) = rd.snapshot {
            let installed = snap.metadata.as_ref().map(|m| m.index);
            let pending = log
                .pending_snapshot
                .as_ref()
                .and_then(|s| s.metadata.as_ref())
                .map(|m| m.index);
            if installed == pending {
                log.pending_snapshot = None;
            }
        }
        log.maybe_compact();
        // student: stub
        // student: end
        // student: end
    }

    /// Every peer's replication progress; empty unless this node leads.
    pub fn get_progress(&self) -> std::collections::BTreeMap<u64, Progress> {
        if self.raft.state == StateType::Leader {
            self.raft.prs.clone()
        } else {
            Default::default()
        }
    }

    /// Tells the leader that the snapshot it sent `to` was not delivered,
    /// so it tries again soon (see [`Raft::report_snapshot_failure`]).
    pub fn report_snapshot_failure(&mut self, to: u64) {
        self.raft.report_snapshot_failure(to);
    }

    /// Asks the leader to hand leadership to `transferee`.
    pub fn transfer_leader(&mut self, transferee: u64) {
        let _ = self.raft.step(Message {
            msg_type: MessageType::MsgTransferLeader as i32,
            from: transferee,
            ..Default::default()
        });
    }
}
