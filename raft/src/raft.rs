//! The Raft state machine: elections, log replication, snapshots, leader
//! transfer and single-step membership change.
//!
//! [`Raft`] does no I/O and reads no clock. Time arrives through
//! [`Raft::tick`], input through [`Raft::step`], and output accumulates in
//! [`Raft::msgs`] and the [`RaftLog`], from where [`RawNode`](crate::RawNode)
//! hands it to the application.

use std::collections::BTreeMap;
use std::fmt;

use crate::eraftpb::{
    ConfChange, ConfState, Entry, EntryType, HardState, Message, MessageType, Snapshot,
};
use crate::errors::{Error, Result, StorageError};
use crate::log::RaftLog;
use crate::progress::{Progress, ProgressState};
use crate::rawnode::SoftState;
use crate::read_only::{ReadOnly, ReadState};
use crate::rng::Rng;
use crate::storage::Storage;

/// The id that stands for "no node" (no leader, no vote).
pub const NONE: u64 = 0;

/// The role a node currently plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateType {
    /// Accepts appends from the leader, or waits to hear from one.
    #[default]
    Follower,
    /// Campaigns for votes to lead the current term.
    Candidate,
    /// Asks the others whether they would vote for it, before it raises
    /// the term and campaigns (only with [`Config::pre_vote`]).
    PreCandidate,
    /// Takes proposals and replicates the log to the other members.
    Leader,
}

impl fmt::Display for StateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            StateType::Follower => "StateFollower",
            StateType::Candidate => "StateCandidate",
            StateType::PreCandidate => "StatePreCandidate",
            StateType::Leader => "StateLeader",
        };
        f.write_str(s)
    }
}

/// Parameters of one raft node.
#[derive(Debug, Clone)]
pub struct Config {
    /// This node's id; must not be [`NONE`].
    pub id: u64,
    /// The initial members. Only for tests and bootstrapping: when empty,
    /// the membership comes from the storage's `ConfState`.
    pub peers: Vec<u64>,
    /// Ticks without hearing from a leader before a follower campaigns. The
    /// actual timeout is drawn from `[election_tick, 2 * election_tick)`.
    pub election_tick: usize,
    /// Ticks between a leader's heartbeats.
    pub heartbeat_tick: usize,
    /// The last index the application applied before a restart; entries up
    /// to it are not handed out again.
    pub applied: u64,
    /// Seed of the node's random number generator (election timeouts). Zero
    /// derives one from `id`, which keeps runs reproducible; an embedding
    /// that wants different timeouts per incarnation passes its own.
    pub seed: u64,
    /// The most bytes of entries one append carries (their encoded size).
    /// An append always carries at least one entry, however large.
    pub max_size_per_msg: u64,
    /// The most appends in flight to a replicating follower before the
    /// leader waits for acknowledgements (see [`Progress`]).
    pub max_inflight_msgs: usize,
    /// Elect in two rounds (the Raft thesis, section 9.6): a node whose
    /// election timeout fires first asks, without changing its term,
    /// whether a quorum would vote for it, and campaigns only if so. A node
    /// that cannot win (its log is behind, or it is cut off) then never
    /// raises the term, so it cannot depose a working leader. Off by
    /// default, as in TinyKV's raft, whose tests expect plain elections.
    pub pre_vote: bool,
    /// Have a (pre-)candidate ask again, every heartbeat timeout, the
    /// members that have not answered it yet (not in Go). Raft allows
    /// retrying a vote request (a voter answers a repeated one the same
    /// way), and on a lossy network one lost request or answer otherwise
    /// costs a whole election timeout, with pre-vote twice over. Off by
    /// default, as TinyKV's raft tests count the messages a candidate sends.
    pub retry_vote_requests: bool,
}

/// Default [`Config::max_size_per_msg`]: 1 MiB.
pub const DEFAULT_MAX_SIZE_PER_MSG: u64 = 1024 * 1024;
/// Default [`Config::max_inflight_msgs`].
pub const DEFAULT_MAX_INFLIGHT_MSGS: usize = 256;

impl Default for Config {
    fn default() -> Self {
        Config {
            id: NONE,
            peers: Vec::new(),
            election_tick: 0,
            heartbeat_tick: 0,
            applied: 0,
            seed: 0,
            max_size_per_msg: DEFAULT_MAX_SIZE_PER_MSG,
            max_inflight_msgs: DEFAULT_MAX_INFLIGHT_MSGS,
            pre_vote: false,
            retry_vote_requests: false,
        }
    }
}

impl Config {
    /// Checks that the parameters are usable: a real id, a nonzero heartbeat
    /// tick, an election tick longer than it, and a nonzero inflight window.
    pub fn validate(&self) -> Result<()> {
        if self.id == NONE {
            return Err(Error::ConfigInvalid("cannot use none as id".into()));
        }
        if self.heartbeat_tick == 0 {
            return Err(Error::ConfigInvalid(
                "heartbeat tick must be greater than 0".into(),
            ));
        }
        if self.election_tick <= self.heartbeat_tick {
            return Err(Error::ConfigInvalid(
                "election tick must be greater than heartbeat tick".into(),
            ));
        }
        if self.max_inflight_msgs == 0 {
            return Err(Error::ConfigInvalid(
                "max inflight messages must be greater than 0".into(),
            ));
        }
        Ok(())
    }
}

/// One raft peer: its persistent state, its log, its role, and (when it
/// leads) what it knows of every member's log.
pub struct Raft<T: Storage> {
    /// This node's id.
    pub id: u64,
    /// The current term.
    pub term: u64,
    /// The node voted for in the current term, or [`NONE`].
    pub vote: u64,
    /// The log, with its commit, apply and persistence positions.
    pub raft_log: RaftLog<T>,
    /// Replication progress of every member, this node included.
    pub prs: BTreeMap<u64, Progress>,
    /// The role this node plays now.
    pub state: StateType,
    /// Votes received in the current election (`true` = granted).
    pub votes: BTreeMap<u64, bool>,
    /// Messages to send, drained by the application.
    pub msgs: Vec<Message>,
    /// The leader this node follows, or [`NONE`].
    pub lead: u64,
    /// [`Config::heartbeat_tick`]: ticks between a leader's heartbeats.
    pub heartbeat_timeout: usize,
    /// [`Config::election_tick`]: the base election timeout in ticks. The
    /// timeout actually waited is drawn anew from
    /// `[election_timeout, 2 * election_timeout)` on every reset.
    pub election_timeout: usize,
    /// Ticks since the last heartbeat (leader only).
    pub heartbeat_elapsed: usize,
    /// Ticks since the last election timeout reset. On a leader it measures
    /// how long a leadership transfer has been pending.
    pub election_elapsed: usize,
    /// The node leadership is being handed to, or [`NONE`]. While set, the
    /// leader accepts no proposals.
    pub lead_transferee: u64,
    /// Index of the latest conf change in the log. A new one is accepted
    /// only once this has been applied.
    pub pending_conf_index: u64,
    /// [`Config::max_size_per_msg`].
    pub max_size_per_msg: u64,
    /// [`Config::max_inflight_msgs`]: the window of every follower.
    pub max_inflight_msgs: usize,
    /// [`Config::pre_vote`].
    pub pre_vote: bool,
    /// [`Config::retry_vote_requests`].
    pub retry_vote_requests: bool,
    /// Reads confirmed since the last [`Ready`](crate::Ready), for the
    /// application to answer once it has applied up to their index.
    pub read_states: Vec<ReadState>,
    /// Reads waiting for a quorum to confirm this leader (leader only).
    pub read_only: ReadOnly,
    randomized_election_timeout: usize,
    rng: Rng,
}

impl<T: Storage> Raft<T> {
    /// Creates a node from `c`, restoring term, vote, commit index and
    /// membership from `storage`. It starts as a follower.
    pub fn new(c: &Config, storage: T) -> Result<Self> {
        // student: begin 2AA: restore term, vote, commit and the members from the storage; start as a follower
        c.validate()?;
        let (hs, cs) = storage.initial_state()?;
        let peers = if c.peers.is_empty() {
            cs.nodes.clone()
        } else {
            c.peers.clone()
        };
        let mut raft_log = RaftLog::new(storage);
        if c.applied > 0 {
            raft_log.applied = c.applied;
        }
        let seed = if c.seed != 0 {
            c.seed
        } else {
            c.id.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let mut r = Raft {
            id: c.id,
            term: 0,
            vote: NONE,
            prs: BTreeMap::new(),
            state: StateType::Follower,
            votes: BTreeMap::new(),
            msgs: Vec::new(),
            lead: NONE,
            heartbeat_timeout: c.heartbeat_tick,
            election_timeout: c.election_tick,
            heartbeat_elapsed: 0,
            election_elapsed: 0,
            lead_transferee: NONE,
            pending_conf_index: 0,
            max_size_per_msg: c.max_size_per_msg,
            max_inflight_msgs: c.max_inflight_msgs,
            pre_vote: c.pre_vote,
            retry_vote_requests: c.retry_vote_requests,
            read_states: Vec::new(),
            read_only: ReadOnly::default(),
            randomized_election_timeout: c.election_tick,
            rng: Rng::new(seed),
            raft_log,
        };
        let next = r.raft_log.last_index() + 1;
        for id in peers {
            r.prs.insert(id, Progress::new(next, c.max_inflight_msgs));
        }
        if hs != HardState::default() {
            r.term = hs.term;
            r.vote = hs.vote;
            r.raft_log.committed = hs.commit;
        }
        r.become_follower(r.term, NONE);
        Ok(r)
        // student: end
    }

    /// The current leader and role.
    pub fn soft_state(&self) -> SoftState {
        SoftState {
            lead: self.lead,
            raft_state: self.state,
        }
    }

    /// Term, vote and commit index: what must be persisted before any
    /// message that depends on it is sent.
    pub fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            vote: self.vote,
            commit: self.raft_log.committed,
        }
    }

    /// Takes the messages produced so far.
    pub fn read_messages(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.msgs)
    }

    /// Sorted ids of the current members.
    pub fn nodes(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.prs.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    fn quorum(&self) -> usize {
        self.prs.len() / 2 + 1
    }

    fn send(&mut self, mut m: Message) {
        m.from = self.id;
        if m.term == 0 {
            m.term = self.term;
        }
        self.msgs.push(m);
    }

    fn message(to: u64, t: MessageType) -> Message {
        Message {
            msg_type: t as i32,
            to,
            ..Default::default()
        }
    }

    /// Sends `to` the entries it lacks (at most
    /// [`max_size_per_msg`](Config::max_size_per_msg) bytes of them), or a
    /// snapshot when they have been compacted away; with nothing to send, an
    /// empty append that carries the commit index. Returns false if nothing
    /// was sent: unknown peer, its progress paused (a probe unanswered, the
    /// window full, a snapshot on its way), or a snapshot still being
    /// generated.
    pub fn send_append(&mut self, to: u64) -> bool {
        // student: begin 2AB: send `to` the entries from its next index (with the previous index, its term and the commit), even none (the commit alone); if they are compacted, send a snapshot
        self.maybe_send_append(to, true)
        // student: end
    }

    /// [`send_append`](Self::send_append), but with `send_if_empty` false
    /// only when there are entries to send: what a leader loops on to fill a
    /// follower's window.
    fn maybe_send_append(&mut self, to: u64, send_if_empty: bool) -> bool {
        // student: begin 2AB: unless `to`'s progress is paused, send it the entries from its next index, at most max_size_per_msg bytes (or a snapshot when compacted), and record the send in its progress
        let Some(pr) = self.prs.get(&to) else {
            return false;
        };
        if pr.is_paused() {
            return false;
        }
        let next = pr.next;
        let prev_index = next - 1;
        let (prev_term, entries) = match (
            self.raft_log.term(prev_index),
            self.raft_log.entries_from(next, self.max_size_per_msg),
        ) {
            (Ok(t), Ok(ents)) => (t, ents),
            _ => return self.send_snapshot(to),
        };
        if entries.is_empty() && !send_if_empty {
            return false;
        }
        let last = entries.last().map(|e| e.index);
        let mut m = Self::message(to, MessageType::MsgAppend);
        m.index = prev_index;
        m.log_term = prev_term;
        m.entries = entries;
        m.commit = self.raft_log.committed;
        self.send(m);
        if let Some(pr) = self.prs.get_mut(&to) {
            pr.sent_append(last);
        }
        true
        // student: end
    }

    fn send_snapshot(&mut self, to: u64) -> bool {
        // student: begin 2C: send `to` the storage's snapshot (or a newer pending one) and mark its progress as snapshotting; false while the snapshot is being generated
        // A snapshot still being built, or one that failed, is retried on a
        // later round (the next heartbeat response or append rejection).
        let snap = match self.raft_log.storage.snapshot() {
            // A snapshot we received but have not handed to the application
            // yet is newer than anything the storage has.
            Ok(s) if self.pending_snapshot_newer_than(&s) => {
                self.raft_log.pending_snapshot.clone().unwrap()
            }
            Ok(s) => s,
            Err(Error::Store(StorageError::SnapshotTemporarilyUnavailable)) => return false,
            Err(e) => {
                tracing::warn!(id = self.id, to, %e, "failed to get snapshot");
                return false;
            }
        };
        let index = snap.metadata.as_ref().map_or(0, |m| m.index);
        if index == 0 {
            return false;
        }
        let mut m = Self::message(to, MessageType::MsgSnapshot);
        m.snapshot = Some(snap);
        self.send(m);
        if let Some(pr) = self.prs.get_mut(&to) {
            pr.become_snapshot(index);
        }
        true
        // student: end
    }

    /// The transport could not deliver the snapshot we sent `to` (not in
    /// Go, whose leader re-sends a snapshot on every heartbeat response).
    /// Without this report a leader learns of the loss only when an
    /// election timeout of heartbeats has passed with no acknowledgement.
    pub fn report_snapshot_failure(&mut self, to: u64) {
        // student: begin 2C: (optional) a leader whose snapshot to `to` was not delivered probes `to` again (a new snapshot) on its next heartbeat response
        if self.state != StateType::Leader {
            return;
        }
        if let Some(pr) = self.prs.get_mut(&to) {
            if pr.state == ProgressState::Snapshot {
                pr.snapshot_failed();
            }
        }
        // student: stub
        // student: end
    }

    fn pending_snapshot_newer_than(&self, snap: &Snapshot) -> bool {
        // student: begin 2C: true if the snapshot received but not yet handed out is newer than `snap`
        let index = |s: &Snapshot| s.metadata.as_ref().map_or(0, |m| m.index);
        self.raft_log
            .pending_snapshot
            .as_ref()
            .is_some_and(|p| index(p) > index(snap))
        // student: end
    }

    /// Sends a heartbeat. It carries a commit index only as far as `to` is
    /// known to match, so it never makes a follower commit entries it may
    /// not share with the leader.
    pub fn send_heartbeat(&mut self, to: u64) {
        // student: begin 2AA: send `to` a heartbeat whose commit never exceeds what `to` is known to hold
        let matched = self.prs.get(&to).map_or(0, |p| p.matched);
        let mut m = Self::message(to, MessageType::MsgHeartbeat);
        m.commit = matched.min(self.raft_log.committed);
        // student: begin 3B: (optional, for reads without log entries) carry the id of the newest read waiting for confirmation
        if let Some(ctx) = self.read_only.last_ctx() {
            m.context = ctx.to_vec();
        }
        // student: stub
        // student: end
        self.send(m);
        // student: end
    }

    fn bcast_append(&mut self) {
        // student: begin 2AB: send_append to every other member
        for id in self.nodes() {
            if id != self.id {
                self.send_append(id);
            }
        }
        // student: end
    }

    fn bcast_heartbeat(&mut self) {
        // student: begin 2AA: send_heartbeat to every other member
        for id in self.nodes() {
            if id != self.id {
                self.send_heartbeat(id);
            }
        }
        // student: end
    }

    /// Advances logical time by one tick.
    pub fn tick(&mut self) {
        // student: begin 2AA: advance the clocks: a leader beats every heartbeat timeout, others campaign after a randomized election timeout
        match self.state {
            StateType::Leader => {
                self.heartbeat_elapsed += 1;
                if self.heartbeat_elapsed >= self.heartbeat_timeout {
                    self.heartbeat_elapsed = 0;
                    let _ = self.step(Self::message(self.id, MessageType::MsgBeat));
                }
                // student: begin 3A: give up a leadership transfer that has not completed within an election timeout
                self.election_elapsed += 1;
                if self.election_elapsed >= self.election_timeout {
                    self.election_elapsed = 0;
                    // A transfer that has not completed within an election
                    // timeout is given up, so proposals flow again.
                    self.lead_transferee = NONE;
                }
                // student: stub
                // student: end
            }
            StateType::Follower | StateType::Candidate | StateType::PreCandidate => {
                self.election_elapsed += 1;
                if self.election_elapsed >= self.randomized_election_timeout {
                    self.election_elapsed = 0;
                    let _ = self.step(Self::message(self.id, MessageType::MsgHup));
                } else if self.state != StateType::Follower {
                    self.tick_vote_retry();
                }
            }
        }
        // student: end
    }

    /// A (pre-)candidate's heartbeat clock: every heartbeat timeout it asks
    /// again the members that have not answered (only with
    /// [`Config::retry_vote_requests`]).
    fn tick_vote_retry(&mut self) {
        // student: begin 2AA: (optional, only with Config::retry_vote_requests) every heartbeat timeout, send the current round's request again to the members that have not answered
        if !self.retry_vote_requests {
            return;
        }
        self.heartbeat_elapsed += 1;
        if self.heartbeat_elapsed < self.heartbeat_timeout {
            return;
        }
        self.heartbeat_elapsed = 0;
        if self.state == StateType::PreCandidate {
            self.request_votes(MessageType::MsgRequestPreVote, self.term + 1);
        } else {
            self.request_votes(MessageType::MsgRequestVote, self.term);
        }
        // student: stub
        // student: end
    }

    fn reset(&mut self, term: u64) {
        // student: begin 2AA: enter `term` (clearing the vote if it is new), forget the leader and votes, re-randomize the election timeout
        if self.term != term {
            self.term = term;
            self.vote = NONE;
        }
        self.lead = NONE;
        self.election_elapsed = 0;
        self.heartbeat_elapsed = 0;
        self.randomized_election_timeout =
            self.election_timeout + (self.rng.next_u64() % self.election_timeout as u64) as usize;
        self.votes.clear();
        self.lead_transferee = NONE;
        // student: begin 3B: (optional, for reads without log entries) a new term or role forgets the reads being confirmed
        self.read_only.clear();
        // student: stub
        // student: end
        // student: end
    }

    /// Becomes a follower of `lead` (or of no one, with [`NONE`]) in `term`.
    /// Moving to a new term clears the vote.
    pub fn become_follower(&mut self, term: u64, lead: u64) {
        // student: begin 2AA: reset to `term` and follow `lead`
        self.reset(term);
        self.state = StateType::Follower;
        self.lead = lead;
        // student: end
    }

    /// Starts an election: moves to the next term and votes for itself.
    ///
    /// # Panics
    /// If this node is the leader.
    pub fn become_candidate(&mut self) {
        // student: begin 2AA: start the next term voting for ourselves
        assert!(
            self.state != StateType::Leader,
            "invalid transition [leader -> candidate]"
        );
        self.reset(self.term + 1);
        self.state = StateType::Candidate;
        self.vote = self.id;
        self.votes.insert(self.id, true);
        // student: end
    }

    /// Takes office: resets every follower's progress and appends an empty
    /// entry of the new term, which commits everything before it once it is
    /// replicated.
    pub fn become_leader(&mut self) {
        // student: begin 2AA: take office: reset every progress and append an empty entry of the new term for the others to replicate
        assert!(
            self.state != StateType::Follower,
            "invalid transition [follower -> leader]"
        );
        let term = self.term;
        self.reset(term);
        self.state = StateType::Leader;
        self.lead = self.id;
        tracing::info!(term, "became leader");
        let last = self.raft_log.last_index();
        for pr in self.prs.values_mut() {
            *pr = Progress::new(last + 1, self.max_inflight_msgs);
        }
        // student: begin 3A: a conf change appended but not yet applied is still pending
        // A conf change the previous leader appended but nobody applied yet
        // still counts as pending.
        self.pending_conf_index = self
            .raft_log
            .slice(self.raft_log.applied + 1, last + 1)
            .iter()
            .rev()
            .find(|e| e.entry_type == EntryType::EntryConfChange as i32)
            .map_or(0, |e| e.index);
        // student: stub
        // student: end
        // Announcing the entry is the job of the step that won the election:
        // each follower's first append is its probe.
        self.append_entries(vec![Entry::default()]);
        self.maybe_commit();
        // student: end
    }

    /// Stamps `ents` with the current term and the next indexes and appends
    /// them to the leader's own log.
    fn append_entries(&mut self, mut ents: Vec<Entry>) {
        // student: begin 2AB: stamp `ents` with the current term and the next indexes, append them, and update our own progress
        let mut index = self.raft_log.last_index();
        for e in &mut ents {
            index += 1;
            e.term = self.term;
            e.index = index;
        }
        self.raft_log.append(&ents);
        if let Some(pr) = self.prs.get_mut(&self.id) {
            pr.matched = index;
            pr.next = index + 1;
        }
        // student: end
    }

    /// Commits the highest index stored on a quorum, if it belongs to the
    /// current term (older entries commit only indirectly). Returns true if
    /// the commit index moved.
    fn maybe_commit(&mut self) -> bool {
        // student: begin 2AB: commit the highest index a quorum holds, if its entry is of the current term; true if the commit moved
        if self.prs.is_empty() {
            return false;
        }
        let mut matched: Vec<u64> = self.prs.values().map(|p| p.matched).collect();
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let n = matched[self.quorum() - 1];
        if n > self.raft_log.committed && self.raft_log.match_term(n, self.term) {
            self.raft_log.commit_to(n);
            return true;
        }
        false
        // student: end
    }

    /// The entry point for every message, local or remote.
    pub fn step(&mut self, m: Message) -> Result<()> {
        // student: begin 2AA: handle any message: adopt a higher term, answer a stale one, then dispatch on the message type and our state
        let msg_type = m.msg_type();
        // A pre-vote asks about a term nobody has entered, and a granted
        // one comes back with that term: neither moves us into it.
        let future_term = msg_type == MessageType::MsgRequestPreVote
            || (msg_type == MessageType::MsgRequestPreVoteResponse && !m.reject);
        if m.term > self.term && !future_term {
            let lead = match msg_type {
                MessageType::MsgAppend | MessageType::MsgHeartbeat | MessageType::MsgSnapshot => {
                    m.from
                }
                _ => NONE,
            };
            self.become_follower(m.term, lead);
        } else if m.term != 0 && m.term < self.term {
            // A stale leader learns of the newer term from our answer.
            match msg_type {
                MessageType::MsgHeartbeat => {
                    self.send(Self::message(m.from, MessageType::MsgHeartbeatResponse))
                }
                MessageType::MsgAppend => {
                    let mut resp = Self::message(m.from, MessageType::MsgAppendResponse);
                    resp.reject = true;
                    self.send(resp);
                }
                // A pre-candidate behind our term learns it from the answer.
                MessageType::MsgRequestPreVote => {
                    let mut resp = Self::message(m.from, MessageType::MsgRequestPreVoteResponse);
                    resp.reject = true;
                    self.send(resp);
                }
                _ => {}
            }
            return Ok(());
        }

        match msg_type {
            MessageType::MsgHup => {
                if self.pre_vote {
                    self.pre_campaign();
                } else {
                    self.campaign();
                }
                return Ok(());
            }
            MessageType::MsgRequestVote => {
                self.handle_request_vote(m);
                return Ok(());
            }
            MessageType::MsgRequestPreVote => {
                self.handle_pre_vote(m);
                return Ok(());
            }
            // student: begin 3A: MsgTimeoutNow: a member that is not the leader campaigns at once
            MessageType::MsgTimeoutNow => {
                // Only a member may take over, and only from a leader's word.
                if self.state != StateType::Leader && self.prs.contains_key(&self.id) {
                    self.campaign();
                }
                return Ok(());
            }
            // student: stub
            // student: end
            _ => {}
        }

        match self.state {
            StateType::Follower => self.step_follower(m),
            StateType::Candidate | StateType::PreCandidate => self.step_candidate(m),
            StateType::Leader => self.step_leader(m),
        }
        // student: end
    }

    fn campaign(&mut self) {
        // student: begin 2AA: become a candidate and ask every member for its vote (or win at once when alone)
        if self.state == StateType::Leader || !self.prs.contains_key(&self.id) {
            return;
        }
        self.become_candidate();
        tracing::info!(
            term = self.term,
            last_index = self.raft_log.last_index(),
            "campaigning"
        );
        if self.votes_granted() >= self.quorum() {
            self.become_leader();
            return;
        }
        self.request_votes(MessageType::MsgRequestVote, self.term);
        // student: end
    }

    /// Asks every member that has not answered this round yet (at its
    /// start: every other member) for its vote (or pre-vote) in `term`,
    /// showing our last index and its term.
    fn request_votes(&mut self, msg_type: MessageType, term: u64) {
        // student: begin 2AA: send every other member that has not answered yet a `msg_type` request for `term` with our last log index and term
        let (index, log_term) = (self.raft_log.last_index(), self.raft_log.last_term());
        for id in self.nodes() {
            if !self.votes.contains_key(&id) {
                let mut m = Self::message(id, msg_type);
                m.term = term;
                m.index = index;
                m.log_term = log_term;
                self.send(m);
            }
        }
        // student: end
    }

    /// The first round of an election with [`Config::pre_vote`]: asks the
    /// members whether they would vote for us in the next term, without
    /// entering it; alone, campaigns at once.
    fn pre_campaign(&mut self) {
        // student: begin 2AA: (optional, only with Config::pre_vote) become a pre-candidate and ask every member for a pre-vote in the next term, keeping our term and vote
        if self.state == StateType::Leader || !self.prs.contains_key(&self.id) {
            return;
        }
        self.state = StateType::PreCandidate;
        self.lead = NONE;
        self.heartbeat_elapsed = 0;
        self.votes.clear();
        self.votes.insert(self.id, true);
        tracing::info!(
            term = self.term,
            last_index = self.raft_log.last_index(),
            "asking for pre-votes"
        );
        if self.votes_granted() >= self.quorum() {
            self.campaign();
            return;
        }
        self.request_votes(MessageType::MsgRequestPreVote, self.term + 1);
        // student: end
    }

    /// True if a log ending at `index` of `log_term` holds everything ours
    /// does: its last term is later, or the same and it is no shorter.
    fn is_up_to_date(&self, log_term: u64, index: u64) -> bool {
        // student: begin 2AA: the election restriction: a later last term, or the same last term and a last index at least ours
        let last_term = self.raft_log.last_term();
        log_term > last_term || (log_term == last_term && index >= self.raft_log.last_index())
        // student: end
    }

    /// Answers a pre-vote. A grant promises nothing (no vote is recorded, no
    /// timer reset) and carries the term asked about, a refusal our own.
    fn handle_pre_vote(&mut self, m: Message) {
        // student: begin 2AA: (optional, only with Config::pre_vote) grant a pre-vote to a candidate for a later term (or one we could vote for) whose log is up to date, answering with the term it asked about; refuse otherwise
        let can_vote =
            m.term > self.term || self.vote == m.from || (self.vote == NONE && self.lead == NONE);
        let mut resp = Self::message(m.from, MessageType::MsgRequestPreVoteResponse);
        if can_vote && self.is_up_to_date(m.log_term, m.index) {
            resp.term = m.term;
        } else {
            resp.reject = true;
        }
        self.send(resp);
        // student: end
    }

    /// Counts `from`'s answer in the current round. A quorum of grants wins
    /// it (a pre-vote round leads to the real campaign, an election to
    /// leadership); a quorum of refusals ends the campaign.
    fn poll(&mut self, from: u64, granted: bool) {
        // student: begin 2AA: record the answer; on a quorum of grants campaign (after pre-votes) or take office, on a quorum of refusals become a follower
        self.votes.insert(from, granted);
        let granted = self.votes_granted();
        let rejected = self.votes.len() - granted;
        if granted >= self.quorum() {
            if self.state == StateType::PreCandidate {
                self.campaign();
            } else {
                self.become_leader();
                self.bcast_append();
            }
        } else if rejected >= self.quorum() {
            self.become_follower(self.term, NONE);
        }
        // student: end
    }

    fn votes_granted(&self) -> usize {
        // student: begin 2AA: the number of granted votes this term
        self.votes.values().filter(|&&v| v).count()
        // student: end
    }

    fn handle_request_vote(&mut self, m: Message) {
        // student: begin 2AA: grant the vote if we have not voted for another and the candidate's log is at least as up to date as ours
        let can_vote = self.vote == m.from || (self.vote == NONE && self.lead == NONE);
        let mut resp = Self::message(m.from, MessageType::MsgRequestVoteResponse);
        if can_vote && self.is_up_to_date(m.log_term, m.index) {
            self.vote = m.from;
            self.election_elapsed = 0;
        } else {
            resp.reject = true;
        }
        self.send(resp);
        // student: end
    }

    fn step_follower(&mut self, m: Message) -> Result<()> {
        // student: begin 2AA: a follower rejects proposals and follows whoever sends appends, heartbeats and snapshots
        match m.msg_type() {
            MessageType::MsgPropose => return Err(Error::ProposalDropped),
            MessageType::MsgAppend => {
                self.election_elapsed = 0;
                self.lead = m.from;
                self.handle_append_entries(m);
            }
            MessageType::MsgHeartbeat => {
                self.election_elapsed = 0;
                self.lead = m.from;
                self.handle_heartbeat(m);
            }
            MessageType::MsgSnapshot => {
                self.election_elapsed = 0;
                self.lead = m.from;
                self.handle_snapshot(m);
            }
            // student: begin 3A: a follower passes MsgTransferLeader on to its leader
            // Only the leader can act on a transfer request: pass it on.
            MessageType::MsgTransferLeader if self.lead != NONE => {
                let mut fwd = m;
                fwd.to = self.lead;
                self.msgs.push(fwd);
            }
            // student: stub
            // student: end
            _ => {}
        }
        Ok(())
        // student: end
    }

    fn step_candidate(&mut self, m: Message) -> Result<()> {
        // student: begin 2AA: count votes: a quorum of grants makes a leader, a quorum of rejections a follower; a leader's message ends the campaign
        match m.msg_type() {
            MessageType::MsgPropose => return Err(Error::ProposalDropped),
            MessageType::MsgAppend | MessageType::MsgHeartbeat | MessageType::MsgSnapshot => {
                // Someone won this term: follow them.
                self.become_follower(m.term, m.from);
                return self.step_follower(m);
            }
            MessageType::MsgRequestVoteResponse if self.state == StateType::Candidate => {
                self.poll(m.from, !m.reject)
            }
            // A grant names the term it was asked about: one from an earlier
            // round names an older term.
            MessageType::MsgRequestPreVoteResponse
                if self.state == StateType::PreCandidate
                    && (m.reject || m.term == self.term + 1) =>
            {
                self.poll(m.from, !m.reject)
            }
            _ => {}
        }
        Ok(())
        // student: end
    }

    fn step_leader(&mut self, m: Message) -> Result<()> {
        // student: begin 2AA: a leader beats, appends proposals, handles append responses and catches up lagging followers on heartbeat responses
        match m.msg_type() {
            MessageType::MsgBeat => self.bcast_heartbeat(),
            MessageType::MsgPropose => self.propose(m.entries)?,
            MessageType::MsgAppendResponse => self.handle_append_response(m),
            MessageType::MsgHeartbeatResponse => {
                self.handle_heartbeat_response(m.from);
                // student: begin 3B: (optional, for reads without log entries) count the answer as a confirmation of the read it names
                if !m.context.is_empty() {
                    self.handle_read_ack(m.from, &m.context);
                }
                // student: stub
                // student: end
            }
            // student: begin 3A: a leader handles MsgTransferLeader
            MessageType::MsgTransferLeader => self.handle_transfer_leader(m.from),
            // student: stub
            // student: end
            _ => {}
        }
        Ok(())
        // student: end
    }

    /// A follower answered a heartbeat, so it is reachable: a probe that got
    /// no answer is sent again, a full window makes room for one append (its
    /// acknowledgements may have been lost), a snapshot never acknowledged
    /// over an election timeout of heartbeats is given up. A follower that
    /// lags behind our log is then sent what it lacks.
    fn handle_heartbeat_response(&mut self, from: u64) {
        // student: begin 2AB: unpause `from`'s progress (an unanswered probe, a full window) and send it an append if it lags behind our log
        let last = self.raft_log.last_index();
        let Some(pr) = self.prs.get_mut(&from) else {
            return;
        };
        match pr.state {
            ProgressState::Probe => pr.probe_sent = false,
            ProgressState::Replicate => {
                if pr.inflights.full() {
                    pr.inflights.free_first_one();
                }
            }
            ProgressState::Snapshot => {
                // student: begin 2C: a snapshot not acknowledged over an election timeout of heartbeats is lost: probe again
                pr.snapshot_heartbeats += 1;
                if pr.snapshot_heartbeats * self.heartbeat_timeout >= self.election_timeout {
                    pr.become_probe();
                }
                // student: stub
                // student: end
            }
        }
        if pr.matched < last {
            self.send_append(from);
        }
        // student: begin 3A: a transferee that has caught up is told to campaign again (its MsgTimeoutNow may have been lost)
        // The MsgTimeoutNow sent when it caught up may have been lost; until
        // the transfer times out, every heartbeat answer repeats it.
        if from == self.lead_transferee && self.prs[&from].matched == last {
            self.send(Self::message(from, MessageType::MsgTimeoutNow));
        }
        // student: stub
        // student: end
        // student: end
    }

    /// Starts a read without a log entry: notes the commit index and asks
    /// the members, with a round of heartbeats, to confirm this leader. The
    /// read comes out as a [`ReadState`] with `ctx` once a quorum has.
    /// Fails with [`Error::ProposalDropped`] when this node cannot serve
    /// it: not the leader, or no entry of its term committed yet (until
    /// then its commit index may be behind the last leader's); the
    /// application then reads through the log.
    pub fn read_index(&mut self, ctx: Vec<u8>) -> Result<()> {
        // student: begin 3B: (optional, for reads without log entries) as a leader with an entry of its term committed, note the commit index and confirm it with heartbeats (alone: at once); refuse otherwise
        let committed = self.raft_log.committed;
        if self.state != StateType::Leader
            || !self.prs.contains_key(&self.id)
            || !self.raft_log.match_term(committed, self.term)
        {
            return Err(Error::ProposalDropped);
        }
        self.read_only.add(ctx, committed, self.id);
        // Alone, our own confirmation is the quorum.
        self.release_reads();
        if !self.read_only.is_empty() {
            self.bcast_heartbeat();
        }
        Ok(())
        // student: stub
        // Err(Error::ProposalDropped)
        // student: end
    }

    /// `from` answered the heartbeat that carried read id `ctx`: once a
    /// quorum of members has, that read and the ones before it are ready.
    fn handle_read_ack(&mut self, from: u64, ctx: &[u8]) {
        // student: begin 3B: (optional, for reads without log entries) record the confirmation; on a quorum, release the read and every read before it
        self.read_only.ack(ctx, from);
        self.release_reads();
        // student: stub
        // student: end
    }

    /// Hands out the reads a quorum of the current members has confirmed.
    fn release_reads(&mut self) {
        // student: begin 3B: (optional, for reads without log entries) move the reads a quorum of current members confirmed (and those before them) to read_states
        let quorum = self.quorum();
        let prs = &self.prs;
        let released = self.read_only.release(quorum, |id| prs.contains_key(&id));
        self.read_states.extend(released);
        // student: stub
        // student: end
    }

    fn propose(&mut self, ents: Vec<Entry>) -> Result<()> {
        // student: begin 2AB: append the proposed entries to our log, replicate them, and commit at once when alone
        // student: begin 3A: no proposals while leadership is being transferred, or once we are no longer a member
        if self.lead_transferee != NONE || !self.prs.contains_key(&self.id) {
            return Err(Error::ProposalDropped);
        }
        // student: stub
        // student: end
        let mut index = self.raft_log.last_index();
        for e in &ents {
            index += 1;
            // student: begin 3A: one conf change at a time: drop a new one until the pending one is applied
            if e.entry_type == EntryType::EntryConfChange as i32 {
                // One membership change at a time: the next may only be
                // proposed once the previous one has been applied.
                if self.pending_conf_index > self.raft_log.applied {
                    return Err(Error::ProposalDropped);
                }
                self.pending_conf_index = index;
            }
            // student: stub
            // student: end
        }
        self.append_entries(ents);
        self.bcast_append();
        self.maybe_commit();
        Ok(())
        // student: end
    }

    fn handle_append_response(&mut self, m: Message) {
        // student: begin 2AB: on rejection retry from the follower's hint; on success advance its progress and the commit index
        let first_index = self.raft_log.first_index();
        let Some(pr) = self.prs.get_mut(&m.from) else {
            return;
        };
        if m.reject {
            // `m.index` is the follower's hint: the last index at which its
            // log may still agree with ours. A stale rejection changes
            // nothing.
            if pr.maybe_decr_to(m.index) {
                self.send_append(m.from);
            }
            return;
        }
        let was_paused = pr.is_paused();
        if pr.maybe_update(m.index) {
            match pr.state {
                // The follower's log agrees with ours up to `matched`.
                ProgressState::Probe => pr.become_replicate(),
                ProgressState::Replicate => pr.inflights.free_to(m.index),
                // student: begin 2C: a follower that installed the snapshot, or that the log can serve again, goes back to replicating
                ProgressState::Snapshot
                    if pr.matched >= pr.pending_snapshot || pr.matched + 1 >= first_index =>
                {
                    pr.become_replicate()
                }
                // student: stub
                // student: end
                ProgressState::Snapshot => {}
            }
            if self.maybe_commit() {
                self.bcast_append();
            } else if was_paused {
                // Nothing went out while it was paused: tell it our commit.
                self.send_append(m.from);
            }
            // The window may have room for several appends now.
            while self.maybe_send_append(m.from, false) {}
        }
        // student: begin 3A: once the transferee has caught up, tell it to campaign (MsgTimeoutNow)
        if m.from == self.lead_transferee
            && self
                .prs
                .get(&m.from)
                .is_some_and(|p| p.matched == self.raft_log.last_index())
        {
            self.send(Self::message(m.from, MessageType::MsgTimeoutNow));
        }
        // student: stub
        // student: end
        // student: end
    }

    fn handle_transfer_leader(&mut self, transferee: u64) {
        // student: begin 3A: start handing leadership to `transferee`: TimeoutNow once its log is up to date, appends until then
        if transferee == self.id {
            // Transferring to ourselves cancels a pending transfer.
            self.lead_transferee = NONE;
            return;
        }
        if !self.prs.contains_key(&transferee) || self.lead_transferee == transferee {
            return;
        }
        self.lead_transferee = transferee;
        self.election_elapsed = 0;
        if self.prs[&transferee].matched == self.raft_log.last_index() {
            self.send(Self::message(transferee, MessageType::MsgTimeoutNow));
        } else {
            self.send_append(transferee);
        }
        // student: end
    }

    /// Handles a leader's MsgAppend: checks that our log holds the entry
    /// preceding the new ones, resolves conflicts, appends, and commits up to
    /// what the leader committed among the entries it sent.
    pub fn handle_append_entries(&mut self, m: Message) {
        // student: begin 2AB: check the entry before the new ones matches, drop our conflicting tail, append, and commit up to the leader's commit
        let mut resp = Self::message(m.from, MessageType::MsgAppendResponse);
        let committed = self.raft_log.committed;
        if m.index > self.raft_log.last_index() {
            resp.reject = true;
            resp.index = self.raft_log.last_index();
            self.send(resp);
            return;
        }
        if m.index >= committed && !self.raft_log.match_term(m.index, m.log_term) {
            resp.reject = true;
            resp.index = self.conflict_hint(m.index);
            self.send(resp);
            return;
        }
        // Entries at or below our commit index are already ours; of the
        // rest, skip those we already have and overwrite from the first
        // conflict on.
        let mut first_new = m.entries.len();
        for (i, e) in m.entries.iter().enumerate() {
            if e.index <= committed || self.raft_log.match_term(e.index, e.term) {
                continue;
            }
            first_new = i;
            break;
        }
        if first_new < m.entries.len() {
            self.raft_log.append(&m.entries[first_new..]);
        }
        let last_new = m.index + m.entries.len() as u64;
        let commit = m.commit.min(last_new);
        if commit > self.raft_log.committed {
            self.raft_log.commit_to(commit);
        }
        resp.index = last_new;
        self.send(resp);
        // student: end
    }

    /// Where a leader should look next when our entry at `index` conflicts
    /// with its own: before the whole run of entries sharing that entry's
    /// term, but never below the commit index.
    fn conflict_hint(&self, index: u64) -> u64 {
        // student: begin 2AB: the index a rejecting follower tells the leader to retry from
        // Index 0 conflicts only in a malformed append: answer 0, not a wrap.
        let Ok(term) = self.raft_log.term(index) else {
            return index.saturating_sub(1);
        };
        let floor = self.raft_log.committed.max(self.raft_log.first_index());
        let mut i = index;
        while i > floor && self.raft_log.match_term(i - 1, term) {
            i -= 1;
        }
        i.saturating_sub(1)
        // student: end
    }

    /// Answers a leader's heartbeat, first advancing the commit index to
    /// the one it carries (no further than our last entry).
    pub fn handle_heartbeat(&mut self, m: Message) {
        // student: begin 2AA: commit up to the heartbeat's commit and answer the leader
        if m.commit > self.raft_log.committed {
            self.raft_log
                .commit_to(m.commit.min(self.raft_log.last_index()));
        }
        let mut resp = Self::message(m.from, MessageType::MsgHeartbeatResponse);
        // Tells the leader how far we know the log is committed.
        resp.commit = self.raft_log.committed;
        // student: begin 3B: (optional, for reads without log entries) give the heartbeat's read id back
        resp.context = m.context;
        // student: stub
        // student: end
        self.send(resp);
        // student: end
    }

    /// Replaces our log by the leader's snapshot unless we already have
    /// everything it covers.
    pub fn handle_snapshot(&mut self, m: Message) {
        // student: begin 2C: install the leader's snapshot unless we already commit past it: members from its ConfState, log restored from it
        let mut resp = Self::message(m.from, MessageType::MsgAppendResponse);
        let snap: Snapshot = m.snapshot.unwrap_or_default();
        let meta = snap.metadata.clone().unwrap_or_default();
        if meta.index <= self.raft_log.committed {
            resp.index = self.raft_log.committed;
            self.send(resp);
            return;
        }
        self.lead = m.from;
        let cs: ConfState = meta.conf_state.clone().unwrap_or_default();
        self.prs.clear();
        for id in cs.nodes {
            self.prs
                .insert(id, Progress::new(meta.index + 1, self.max_inflight_msgs));
        }
        self.raft_log.restore(snap);
        resp.index = self.raft_log.last_index();
        self.send(resp);
        // student: end
    }

    /// Adds `id` to the membership (a no-op if it is a member).
    pub fn add_node(&mut self, id: u64) {
        // student: begin 3A: add `id` to the members with fresh progress
        let next = self.raft_log.last_index() + 1;
        let window = self.max_inflight_msgs;
        self.prs
            .entry(id)
            .or_insert_with(|| Progress::new(next, window));
        // student: end
    }

    /// Removes `id` from the membership. The quorum shrinks, so entries
    /// waiting on the removed node may commit now.
    pub fn remove_node(&mut self, id: u64) {
        // student: begin 3A: remove `id` from the members; entries waiting on it may commit now
        self.prs.remove(&id);
        if self.lead_transferee == id {
            self.lead_transferee = NONE;
        }
        if self.state == StateType::Leader && !self.prs.is_empty() && self.maybe_commit() {
            self.bcast_append();
        }
        // student: begin 3B: (optional, for reads without log entries) the smaller quorum may already have confirmed waiting reads
        if self.state == StateType::Leader {
            self.release_reads();
        }
        // student: stub
        // student: end
        // student: end
    }

    /// Applies a conf change and returns the membership after it.
    pub fn apply_conf_change(&mut self, cc: &ConfChange) -> ConfState {
        if cc.node_id != NONE {
            match cc.change_type() {
                crate::eraftpb::ConfChangeType::AddNode => self.add_node(cc.node_id),
                crate::eraftpb::ConfChangeType::RemoveNode => self.remove_node(cc.node_id),
            }
        }
        ConfState {
            nodes: self.nodes(),
        }
    }
}
