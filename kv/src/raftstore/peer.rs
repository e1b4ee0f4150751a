//! One replica of a region on this store: its raft group, its storage, and
//! the proposals waiting for their entries to apply.

use std::collections::{BTreeMap, VecDeque};

use proto::eraftpb::{Entry, Message, MessageType};
use proto::metapb::{Peer as MetaPeer, Region, RegionEpoch};
use proto::raft_serverpb::{PeerState, RaftMessage};
use raft::{RawNode, StateType};

use crate::config::Config;
use crate::raftstore::cmd_resp::{err_resp, err_resp_stale_command};
use crate::raftstore::message::Callback;
use crate::raftstore::meta;
use crate::raftstore::peer_storage::PeerStorage;
use crate::raftstore::read::ReadQueue;
use crate::raftstore::runner::{RegionTaskSender, SchedulerTask};
use crate::raftstore::store::Transport;
use crate::raftstore::ticker::Ticker;
use crate::raftstore::util::{find_peer, is_initial_msg, RaftstoreError, INVALID_ID};
use crate::util::engine_util::{Engines, WriteBatch};

pub fn notify_stale_req(term: u64, cb: Callback) {
    cb.done(err_resp_stale_command(term));
}

pub fn notify_req_region_removed(region_id: u64, cb: Callback) {
    cb.done(err_resp(&RaftstoreError::RegionNotFound(region_id)));
}

/// A command proposed to raft, answered when the entry at `index` applies
/// (or turns out to have been overwritten by another term's entry).
#[derive(Debug)]
pub struct Proposal {
    pub index: u64,
    pub term: u64,
    pub cb: Callback,
}

pub struct Peer {
    /// Set once the peer got `PeerMsg::Start`; a peer without one does not tick.
    pub ticker: Option<Ticker>,
    pub raft_group: RawNode<PeerStorage>,
    pub meta_peer: MetaPeer,
    pub region_id: u64,
    /// `[region R] P`, for panic messages (log lines get the span).
    pub tag: String,
    /// Entered while the raft worker handles this peer, so every log line
    /// of its handling carries `region_id` and `peer_id`.
    pub span: tracing::Span,
    /// Waiting commands, in log order.
    pub proposals: VecDeque<Proposal>,
    /// Normal commands of the current round, not yet handed to raft: they
    /// are proposed together (one append, one message per follower) before
    /// anything else touches the raft group.
    pub batched_proposals: Vec<(Vec<u8>, Callback)>,
    /// Read-only commands served without a log entry (ReadIndex).
    pub reads: ReadQueue,
    /// Raft log entries before this index have been deleted from the engine.
    pub last_compacted_idx: u64,
    peer_cache: BTreeMap<u64, MetaPeer>,
    /// Followers the leader is waiting on to catch up, with the tick at which
    /// they started lagging.
    pub peers_start_pending_tick: BTreeMap<u64, i64>,
    /// True once destroyed; queued messages are then ignored.
    pub stopped: bool,
    /// Bytes written since the last split check.
    pub size_diff_hint: u64,
    /// The region's size as the last split check measured it.
    pub approximate_size: Option<u64>,
    /// What each other peer last told us (any raft message that reached
    /// raft): a leader hands leadership over only to a peer it has heard
    /// from lately, and leaves a two-voter region only once the other
    /// voter has shown it knows.
    pub peer_contacts: BTreeMap<u64, Contact>,
    /// Committed entries not applied yet, from this peer's own removal on:
    /// the only other voter may not know the removal is committed, and
    /// without us it could never elect a leader to learn it.
    pub held_entries: Vec<Entry>,
}

/// What a peer has heard from another peer of its region.
#[derive(Debug, Clone, Copy, Default)]
pub struct Contact {
    /// The tick of its last raft message.
    pub tick: i64,
    /// The highest commit index it has shown to hold: a leader's append
    /// or heartbeat, a follower's heartbeat answer.
    pub commit: u64,
}

impl Peer {
    /// The peer of `region` that lives on `store_id` (the region must list one).
    pub fn create(
        store_id: u64,
        cfg: &Config,
        sched: RegionTaskSender,
        engines: Engines,
        region: Region,
    ) -> crate::Result<Peer> {
        let meta_peer = find_peer(&region, store_id).cloned().ok_or_else(|| {
            crate::Error::Other(format!(
                "find no peer for store {} in region {:?}",
                store_id, region
            ))
        })?;
        tracing::info!(region_id = region.id, peer_id = meta_peer.id, "create peer");
        Peer::new(store_id, cfg, engines, region, sched, meta_peer)
    }

    /// An uninitialized peer for a region this store only heard of through
    /// a message; it learns the region from a snapshot.
    pub fn replicate(
        store_id: u64,
        cfg: &Config,
        sched: RegionTaskSender,
        engines: Engines,
        region_id: u64,
        meta_peer: MetaPeer,
    ) -> crate::Result<Peer> {
        tracing::info!(region_id, peer_id = meta_peer.id, "replicate peer");
        let region = Region {
            id: region_id,
            region_epoch: Some(RegionEpoch::default()),
            ..Default::default()
        };
        Peer::new(store_id, cfg, engines, region, sched, meta_peer)
    }

    pub fn new(
        store_id: u64,
        cfg: &Config,
        engines: Engines,
        region: Region,
        sched: RegionTaskSender,
        meta_peer: MetaPeer,
    ) -> crate::Result<Peer> {
        if meta_peer.id == INVALID_ID {
            return Err(crate::Error::Other("invalid peer id".into()));
        }
        let tag = format!("[region {}] {}", region.id, meta_peer.id);
        let region_id = region.id;
        let single_local = region.peers.len() == 1 && region.peers[0].store_id == store_id;
        let ps = PeerStorage::new(engines, region, sched, tag.clone())?;
        let raft_cfg = raft::Config {
            id: meta_peer.id,
            election_tick: cfg.raft_election_timeout_ticks,
            heartbeat_tick: cfg.raft_heartbeat_ticks,
            max_size_per_msg: cfg.raft_max_size_per_msg,
            max_inflight_msgs: cfg.raft_max_inflight_msgs,
            pre_vote: cfg.raft_pre_vote,
            retry_vote_requests: cfg.raft_retry_vote_requests,
            applied: ps.applied_index(),
            // Different incarnations of a peer draw different timeouts.
            seed: cfg.raft_seed.rotate_left(17)
                ^ meta_peer.id
                ^ region_id.rotate_left(32)
                ^ ps.raft_state.last_index,
            ..Default::default()
        };
        let mut raft_group = RawNode::new(&raft_cfg, ps)?;
        if single_local {
            // Nobody else can elect it.
            raft_group.campaign()?;
        }
        Ok(Peer {
            ticker: None,
            raft_group,
            meta_peer,
            region_id,
            tag,
            span: tracing::info_span!("peer", region_id, peer_id = meta_peer.id),
            proposals: VecDeque::new(),
            batched_proposals: Vec::new(),
            reads: ReadQueue::default(),
            last_compacted_idx: 0,
            peer_cache: BTreeMap::new(),
            peers_start_pending_tick: BTreeMap::new(),
            stopped: false,
            size_diff_hint: 0,
            approximate_size: None,
            peer_contacts: BTreeMap::new(),
            held_entries: Vec::new(),
        })
    }

    pub fn store(&self) -> &PeerStorage {
        &self.raft_group.raft.raft_log.storage
    }

    pub fn mut_store(&mut self) -> &mut PeerStorage {
        &mut self.raft_group.raft.raft_log.storage
    }

    pub fn insert_peer_cache(&mut self, peer: MetaPeer) {
        self.peer_cache.insert(peer.id, peer);
    }

    pub fn remove_peer_cache(&mut self, peer_id: u64) {
        self.peer_cache.remove(&peer_id);
    }

    pub fn get_peer_from_cache(&mut self, peer_id: u64) -> Option<MetaPeer> {
        if let Some(p) = self.peer_cache.get(&peer_id) {
            return Some(*p);
        }
        let p = self
            .region()
            .peers
            .iter()
            .find(|p| p.id == peer_id)
            .cloned()?;
        self.insert_peer_cache(p);
        Some(p)
    }

    /// Whether this peer may apply its own removal at `index` and go. In a
    /// region of two voters the other one must have shown it holds the
    /// removal as committed: a leader that applies it and leaves at once
    /// may leave a survivor whose config still counts the gone peer, which
    /// can then never win an election. With three voters or more the
    /// others elect a leader of their own and learn it from its log.
    pub fn may_leave(&self, index: u64) -> bool {
        let region = self.region();
        region.peers.len() != 2
            || region
                .peers
                .iter()
                .filter(|p| p.id != self.peer_id())
                .all(|p| {
                    self.peer_contacts
                        .get(&p.id)
                        .is_some_and(|c| c.commit >= index)
                })
    }

    pub fn next_proposal_index(&self) -> u64 {
        self.raft_group.raft.raft_log.last_index() + 1
    }

    /// False while the peer is already being destroyed (a second destroy
    /// would find nothing to remove).
    pub fn can_destroy(&self) -> bool {
        if self.stopped {
            tracing::info!("is being destroyed, skip");
            return false;
        }
        true
    }

    /// Removes the peer's meta from disk (leaving a tombstone), deletes its
    /// data unless `keep_data`, and answers every waiting proposal.
    pub fn destroy(&mut self, engines: &Engines, keep_data: bool) -> crate::Result<()> {
        let region = self.region().clone();
        tracing::info!("begin to destroy");
        let mut kv_wb = WriteBatch::default();
        let mut raft_wb = WriteBatch::default();
        self.store().clear_meta(&mut kv_wb, &mut raft_wb)?;
        meta::write_region_state(&mut kv_wb, &region, PeerState::Tombstone);
        // The tombstone goes first: a restart in between sees a dead peer.
        engines.write_kv(&kv_wb)?;
        engines.write_raft(&raft_wb)?;
        if self.is_initialized() && !keep_data {
            self.store().clear_data();
        }
        for p in self.proposals.drain(..) {
            notify_req_region_removed(region.id, p.cb);
        }
        for (_, cb) in self.batched_proposals.drain(..) {
            notify_req_region_removed(region.id, cb);
        }
        self.reads.region_removed(region.id);
        tracing::info!("destroyed itself");
        Ok(())
    }

    pub fn is_initialized(&self) -> bool {
        self.store().is_initialized()
    }

    pub fn store_id(&self) -> u64 {
        self.meta_peer.store_id
    }

    pub fn region(&self) -> &Region {
        self.store().region()
    }

    pub fn set_region(&mut self, region: Region) {
        self.mut_store().set_region(region);
    }

    pub fn peer_id(&self) -> u64 {
        self.meta_peer.id
    }

    pub fn leader_id(&self) -> u64 {
        self.raft_group.raft.lead
    }

    pub fn is_leader(&self) -> bool {
        self.raft_group.raft.state == StateType::Leader
    }

    pub fn term(&self) -> u64 {
        self.raft_group.raft.term
    }

    /// One line on the peer's raft state, for debugging and test failures:
    /// role, term, leader, log positions, and as leader each member's
    /// progress (`id:state matched/next`, `paused` if nothing may be sent).
    pub fn status(&self) -> String {
        let r = &self.raft_group.raft;
        let mut s = format!(
            "peer {} {:?} term {} lead {} commit {} applied {} last {}",
            self.meta_peer.id,
            r.state,
            r.term,
            r.lead,
            r.raft_log.committed,
            r.raft_log.applied,
            r.raft_log.last_index()
        );
        if r.state == StateType::Leader {
            let mut ids: Vec<_> = r.prs.keys().copied().collect();
            ids.sort_unstable();
            for id in ids {
                let pr = &r.prs[&id];
                s += &format!(
                    " | {id}:{} {}/{}{}",
                    pr.state,
                    pr.matched,
                    pr.next,
                    if pr.is_paused() { " paused" } else { "" }
                );
            }
        }
        s
    }

    pub(crate) fn current_tick(&self) -> i64 {
        self.ticker.as_ref().map_or(0, |t| t.now())
    }

    /// Followers whose log ends before our truncated index: they need a
    /// snapshot, and the scheduler should not count them as up.
    pub fn collect_pending_peers(&mut self) -> Vec<MetaPeer> {
        let truncated = self.store().truncated_index();
        let now = self.current_tick();
        let mut pending = Vec::new();
        let progress = self.raft_group.get_progress();
        for (id, pr) in progress {
            if id == self.meta_peer.id || pr.matched >= truncated {
                continue;
            }
            if let Some(p) = self.get_peer_from_cache(id) {
                pending.push(p);
                self.peers_start_pending_tick.entry(id).or_insert(now);
            }
        }
        pending
    }

    /// True if `peer_id` was pending and has now caught up.
    pub fn any_new_peer_catch_up(&mut self, peer_id: u64) -> bool {
        if self.peers_start_pending_tick.is_empty() {
            return false;
        }
        if !self.is_leader() {
            self.peers_start_pending_tick.clear();
            return false;
        }
        if self.peers_start_pending_tick.contains_key(&peer_id) {
            let truncated = self.store().truncated_index();
            if let Some(pr) = self.raft_group.raft.prs.get(&peer_id) {
                if pr.matched >= truncated {
                    self.peers_start_pending_tick.remove(&peer_id);
                    tracing::debug!(peer_id, "peer has caught up logs");
                    return true;
                }
            }
        }
        false
    }

    /// Reports the region, its leader and its lagging peers to the scheduler.
    pub fn heartbeat_scheduler(&mut self, ch: &crossbeam_channel::Sender<SchedulerTask>) {
        let task = SchedulerTask::RegionHeartbeat {
            region: self.region().clone(),
            peer: self.meta_peer,
            pending_peers: self.collect_pending_peers(),
            approximate_size: self.approximate_size,
        };
        let _ = ch.try_send(task);
    }

    /// Sends raft messages to the other peers through the transport. A
    /// snapshot the transport refuses is reported to raft at once, so the
    /// leader retries it on the next heartbeat instead of waiting out an
    /// election timeout.
    pub fn send(&mut self, trans: &dyn Transport, msgs: Vec<Message>) {
        for msg in msgs {
            let snapshot_to = (msg.msg_type() == MessageType::MsgSnapshot).then_some(msg.to);
            match self.send_raft_message(msg, trans) {
                Ok(()) => crate::raftstore::metrics::add(
                    &crate::raftstore::metrics::RAFT_MESSAGES_SENT,
                    1,
                ),
                Err(e) => {
                    tracing::debug!(%e, "send message err");
                    if let Some(to) = snapshot_to {
                        self.raft_group.report_snapshot_failure(to);
                    }
                }
            }
        }
    }

    fn send_raft_message(&mut self, msg: Message, trans: &dyn Transport) -> crate::Result<()> {
        let to_peer = self.get_peer_from_cache(msg.to).ok_or_else(|| {
            crate::Error::Other(format!(
                "failed to look up recipient peer {} in region {}",
                msg.to, self.region_id
            ))
        })?;
        let region = self.region();
        let epoch = region.region_epoch.unwrap_or_default();
        let mut send = RaftMessage {
            region_id: self.region_id,
            from_peer: Some(self.meta_peer),
            to_peer: Some(to_peer),
            region_epoch: Some(RegionEpoch {
                conf_ver: epoch.conf_ver,
                version: epoch.version,
            }),
            ..Default::default()
        };
        // The range lets the receiving store check, before creating a peer,
        // that it does not overlap a region it already has.
        if self.is_initialized() && is_initial_msg(&msg) {
            send.start_key = region.start_key.clone();
            send.end_key = region.end_key.clone();
        }
        send.message = Some(msg);
        trans.send(send)
    }
}
