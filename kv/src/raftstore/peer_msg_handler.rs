//! How a peer reacts to its messages: proposing commands, stepping raft
//! messages, ticking, and handling each raft Ready — persisting and
//! sending. Applying the committed entries is the rest of the same
//! `impl`, in [`apply`](super::apply).

use prost::Message as _;
use proto::eraftpb::{ConfChange, ConfChangeType};
use proto::metapb::{Peer as MetaPeer, Region, RegionEpoch};
use proto::raft_cmdpb::{
    AdminCmdType, AdminRequest, AdminResponse, CmdType, CompactLogRequest, RaftCmdRequest,
    RaftRequestHeader, Request, TransferLeaderResponse,
};
use proto::raft_serverpb::{RaftMessage, RaftSnapshotData};
use raft::Ready;

use crate::raftstore::apply::check_split;
use crate::raftstore::cmd_resp::{bind_resp_term, err_resp, new_cmd_resp};
use crate::raftstore::message::{Callback, MsgVerdict, PeerMsg, StoreMsg};
use crate::raftstore::metrics;
use crate::raftstore::peer::{Peer, Proposal};
use crate::raftstore::read::is_read_only;
use crate::raftstore::runner::{RaftLogGcTask, SchedulerTask, SplitCheckTask};
use crate::raftstore::snap::{SnapKey, SnapKeyWithSending};
use crate::raftstore::store::GlobalContext;
use crate::raftstore::ticker::{PeerTick, Ticker};
use crate::raftstore::util::{
    check_key_in_region, check_peer_id, check_region_epoch, check_store_id, check_term,
    earns_gc_answer, find_peer, is_epoch_stale, peer_equal, region_equal, shows_commit,
    RaftstoreError,
};
use crate::util::engine_util::{WriteBatch, CF_DEFAULT, CF_LOCK, CF_WRITE};

/// A Ready whose state is persisted (or queued in the round's raft batch)
/// and whose messages and committed entries are still to be handled.
pub struct PendingReady {
    ready: Ready,
}

pub struct PeerMsgHandler<'a> {
    pub peer: &'a mut Peer,
    pub ctx: &'a GlobalContext,
}

fn valid_cf(cf: &str) -> bool {
    matches!(cf, CF_DEFAULT | CF_LOCK | CF_WRITE)
}

/// The column family a request names; an empty name means `default`.
pub(super) fn cf_of(cf: &str) -> &str {
    if cf.is_empty() {
        CF_DEFAULT
    } else {
        cf
    }
}

/// The key a data request touches, if any.
fn request_key(req: &Request) -> Option<&[u8]> {
    match req.cmd_type() {
        CmdType::Get => req.get.as_ref().map(|r| r.key.as_slice()),
        CmdType::Put => req.put.as_ref().map(|r| r.key.as_slice()),
        CmdType::Delete => req.delete.as_ref().map(|r| r.key.as_slice()),
        _ => None,
    }
}

fn request_cf(req: &Request) -> Option<&str> {
    match req.cmd_type() {
        CmdType::Get => req.get.as_ref().map(|r| r.cf.as_str()),
        CmdType::Put => req.put.as_ref().map(|r| r.cf.as_str()),
        CmdType::Delete => req.delete.as_ref().map(|r| r.cf.as_str()),
        _ => None,
    }
}

/// Checks every data request of `req` against `region` (keys in range,
/// known column family, well-formed).
pub(super) fn check_requests(req: &RaftCmdRequest, region: &Region) -> Result<(), RaftstoreError> {
    for r in &req.requests {
        match r.cmd_type() {
            CmdType::Get | CmdType::Put | CmdType::Delete => {
                let key = request_key(r).ok_or_else(|| {
                    RaftstoreError::other(format!("malformed {:?} request", r.cmd_type()))
                })?;
                let cf = cf_of(request_cf(r).unwrap_or_default());
                if !valid_cf(cf) {
                    return Err(RaftstoreError::other(format!(
                        "unknown column family {:?}",
                        cf
                    )));
                }
                check_key_in_region(key, region)?;
            }
            CmdType::Snap => {}
            CmdType::Invalid => return Err(RaftstoreError::other("invalid command type")),
        }
    }
    Ok(())
}

pub fn new_admin_request(region_id: u64, peer: MetaPeer) -> RaftCmdRequest {
    RaftCmdRequest {
        header: Some(RaftRequestHeader {
            region_id,
            peer: Some(peer),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn new_compact_log_request(
    region_id: u64,
    peer: MetaPeer,
    compact_index: u64,
    compact_term: u64,
) -> RaftCmdRequest {
    let mut req = new_admin_request(region_id, peer);
    req.admin_request = Some(AdminRequest {
        cmd_type: AdminCmdType::CompactLog as i32,
        compact_log: Some(CompactLogRequest {
            compact_index,
            compact_term,
        }),
        ..Default::default()
    });
    req
}

impl<'a> PeerMsgHandler<'a> {
    pub fn new(peer: &'a mut Peer, ctx: &'a GlobalContext) -> Self {
        PeerMsgHandler { peer, ctx }
    }

    pub fn handle_msg(&mut self, msg: PeerMsg) {
        // Batched commands go to raft before anything else can change it.
        if !matches!(msg, PeerMsg::RaftCmd { .. }) {
            self.flush_proposals();
        }
        match msg {
            PeerMsg::RaftMessage(m) => {
                if let Err(e) = self.on_raft_msg(*m) {
                    tracing::error!(%e, "handle raft message error");
                }
            }
            PeerMsg::RaftCmd { request, callback } => self.propose_raft_command(*request, callback),
            PeerMsg::Tick => self.on_tick(),
            PeerMsg::SplitRegion {
                region_epoch,
                split_key,
                callback,
            } => {
                tracing::info!(?split_key, "on split");
                self.on_prepare_split_region(region_epoch, split_key, callback);
            }
            PeerMsg::RegionApproximateSize(size) => self.peer.approximate_size = Some(size),
            PeerMsg::GcSnap(snaps) => self.on_gc_snap(snaps),
            PeerMsg::Start => self.start_ticker(),
        }
    }

    // ---- proposing -------------------------------------------------------

    fn pre_propose_raft_command(&mut self, req: &RaftCmdRequest) -> Result<(), RaftstoreError> {
        if req.header.is_none() {
            return Err(RaftstoreError::other("missing header"));
        }
        check_store_id(req, self.peer.store_id())?;
        if !self.peer.is_leader() {
            let leader_id = self.peer.leader_id();
            let leader = self.peer.get_peer_from_cache(leader_id);
            return Err(RaftstoreError::NotLeader {
                region_id: self.peer.region_id,
                leader,
            });
        }
        if !self.peer.held_entries.is_empty() {
            // Leaving: what it proposed now it would never apply.
            return Err(RaftstoreError::NotLeader {
                region_id: self.peer.region_id,
                leader: None,
            });
        }
        check_peer_id(req, self.peer.peer_id())?;
        check_term(req, self.peer.term())?;
        match check_region_epoch(req, self.peer.region(), true) {
            Err(RaftstoreError::EpochNotMatch {
                message,
                mut regions,
            }) => {
                if let Some(sibling) = self.find_sibling_region() {
                    regions.push(sibling);
                }
                Err(RaftstoreError::EpochNotMatch { message, regions })
            }
            other => other,
        }
    }

    pub fn propose_raft_command(&mut self, req: RaftCmdRequest, cb: Callback) {
        if self.peer.stopped {
            crate::raftstore::peer::notify_req_region_removed(self.peer.region_id, cb);
            return;
        }
        if let Err(e) = self.pre_propose_raft_command(&req) {
            cb.done(err_resp(&e));
            return;
        }
        let cb = crate::raftstore::bugs::answer_early(self.peer, self.ctx, &req, cb);
        // student: begin 2B: batch a normal command for this round's proposal (flush first for admin ones) and dispatch admin commands
        if req.admin_request.is_some() {
            // Keep log order: what was batched before comes first.
            self.flush_proposals();
        }
        match req.admin_request.as_ref().map(|a| a.cmd_type()) {
            None => match check_requests(&req, self.peer.region()) {
                Ok(()) if self.ctx.cfg.raft_read_index && is_read_only(&req) => {
                    self.propose_read(req, cb)
                }
                Ok(()) => {
                    self.peer.batched_proposals.push((req.encode_to_vec(), cb));
                }
                Err(e) => cb.done(err_resp(&e)),
            },
            Some(AdminCmdType::TransferLeader) => self.propose_transfer_leader(&req, cb),
            Some(AdminCmdType::ChangePeer) => self.propose_conf_change(&req, cb),
            Some(AdminCmdType::Split) => self.propose_split(&req, cb),
            Some(AdminCmdType::CompactLog) => self.propose_normal(&req, cb),
            Some(AdminCmdType::InvalidAdmin) => {
                cb.done(err_resp(&RaftstoreError::other("invalid admin command")))
            }
        }
        // student: end
    }

    fn propose_normal(&mut self, req: &RaftCmdRequest, cb: Callback) {
        // student: begin 2B: propose `req` to raft and queue a Proposal so its callback answers when the entry applies; answer at once if raft drops it
        let index = self.peer.next_proposal_index();
        let term = self.peer.term();
        if let Err(e) = self.peer.raft_group.propose(req.encode_to_vec()) {
            cb.done(err_resp(&e.into()));
            return;
        }
        if self.peer.next_proposal_index() == index {
            cb.done(err_resp(&raft::Error::ProposalDropped.into()));
            return;
        }
        self.peer.proposals.push_back(Proposal { index, term, cb });
        // student: end
    }

    /// Proposes the round's batched normal commands as one raft step; each
    /// callback waits for its own index.
    pub fn flush_proposals(&mut self) {
        // Reads raft cannot confirm without the log join the batch.
        self.flush_reads();
        // student: begin 2B: propose the round's batched commands in one raft step and queue a Proposal (index, term, callback) for each
        if self.peer.batched_proposals.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.peer.batched_proposals);
        let first = self.peer.next_proposal_index();
        let term = self.peer.term();
        let (datas, cbs): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let n = datas.len() as u64;
        let result = self.peer.raft_group.propose_entries(datas);
        let appended = self.peer.next_proposal_index() == first + n;
        if let Err(e) =
            result.and_then(|()| appended.then_some(()).ok_or(raft::Error::ProposalDropped))
        {
            let e = RaftstoreError::from(e);
            for cb in cbs {
                cb.done(err_resp(&e));
            }
            return;
        }
        for (i, cb) in cbs.into_iter().enumerate() {
            self.peer.proposals.push_back(Proposal {
                index: first + i as u64,
                term,
                cb,
            });
        }
        // student: end
    }

    fn propose_transfer_leader(&mut self, req: &RaftCmdRequest, cb: Callback) {
        // student: begin 3B: ask raft to transfer leadership to the request's peer and answer at once (TransferLeader is not replicated)
        let admin = req.admin_request.as_ref().unwrap();
        let target = admin
            .transfer_leader
            .as_ref()
            .and_then(|t| t.peer.as_ref())
            .map_or(0, |p| p.id);
        self.peer.raft_group.transfer_leader(target);
        let mut resp = new_cmd_resp();
        resp.admin_response = Some(AdminResponse {
            cmd_type: AdminCmdType::TransferLeader as i32,
            transfer_leader: Some(TransferLeaderResponse {}),
            ..Default::default()
        });
        bind_resp_term(&mut resp, self.peer.term());
        cb.done(resp);
        // student: end
    }

    fn propose_conf_change(&mut self, req: &RaftCmdRequest, cb: Callback) {
        // student: begin 3B: propose the ChangePeer as a raft ConfChange carrying the request; a leader removing itself hands leadership over first
        let admin = req.admin_request.as_ref().unwrap();
        let Some(cp) = admin.change_peer.as_ref() else {
            cb.done(err_resp(&RaftstoreError::other(
                "malformed change peer request",
            )));
            return;
        };
        let Some(target) = cp.peer else {
            cb.done(err_resp(&RaftstoreError::other(
                "change peer request without a peer",
            )));
            return;
        };
        let change_type = cp.change_type();
        // A leader that removes itself leaves the others to notice the
        // commit on their own; with two peers the survivor could never win
        // an election. Hand leadership over first and let the client retry.
        // The scheduler repeats its request on every heartbeat: a transfer
        // under way is left to finish (or time out), not restarted. Only a
        // peer heard from within an election timeout is a candidate (the
        // most caught-up, then the most recently heard): a transfer to an
        // unreachable peer would drop every proposal until it times out,
        // and the next heartbeat would start it again at once.
        if change_type == ConfChangeType::RemoveNode && target.id == self.peer.peer_id() {
            let now = self.peer.current_tick();
            let recent = self.ctx.cfg.raft_election_timeout_ticks as i64;
            let heard = &self.peer.peer_contacts;
            let raft = &self.peer.raft_group.raft;
            let other = (raft.lead_transferee == raft::NONE)
                .then(|| {
                    self.peer
                        .region()
                        .peers
                        .iter()
                        .filter(|p| p.id != target.id)
                        .filter_map(|p| {
                            let t = heard.get(&p.id)?.tick;
                            (now - t <= recent).then_some((p.id, t))
                        })
                        .max_by_key(|&(id, t)| (raft.prs.get(&id).map_or(0, |pr| pr.matched), t))
                        .map(|(id, _)| id)
                })
                .flatten();
            if let Some(other) = other {
                self.peer.raft_group.transfer_leader(other);
            }
            cb.done(err_resp(&RaftstoreError::NotLeader {
                region_id: self.peer.region_id,
                leader: None,
            }));
            return;
        }
        let cc = ConfChange {
            change_type: change_type as i32,
            node_id: target.id,
            context: req.encode_to_vec(),
        };
        let index = self.peer.next_proposal_index();
        let term = self.peer.term();
        if let Err(e) = self.peer.raft_group.propose_conf_change(cc) {
            cb.done(err_resp(&e.into()));
            return;
        }
        self.peer.proposals.push_back(Proposal { index, term, cb });
        // student: end
    }

    fn propose_split(&mut self, req: &RaftCmdRequest, cb: Callback) {
        // student: begin 3B: check the split request against the region and propose it like a normal command
        let split = req.admin_request.as_ref().and_then(|a| a.split.as_ref());
        let Some(split) = split else {
            cb.done(err_resp(&RaftstoreError::other("malformed split request")));
            return;
        };
        if let Err(e) = check_split(
            self.peer.region(),
            &split.split_key,
            split.new_peer_ids.len(),
        ) {
            cb.done(err_resp(&e));
            return;
        }
        self.propose_normal(req, cb)
        // student: end
    }

    // ---- raft messages ---------------------------------------------------

    fn on_raft_msg(&mut self, msg: RaftMessage) -> crate::Result<()> {
        if !self.validate_raft_message(&msg) || self.peer.stopped {
            return Ok(());
        }
        if msg.is_tombstone {
            self.handle_gc_peer_msg(&msg);
            return Ok(());
        }
        if self.check_message(&msg) == MsgVerdict::Drop
            || self.check_snapshot(&msg)? == MsgVerdict::Drop
        {
            return Ok(());
        }
        let from = msg.from_peer.unwrap_or_default();
        self.peer.insert_peer_cache(from);
        let Some(m) = msg.message else { return Ok(()) };
        let now = self.peer.current_tick();
        let contact = self.peer.peer_contacts.entry(from.id).or_default();
        contact.tick = now;
        if shows_commit(m.msg_type()) {
            contact.commit = contact.commit.max(m.commit);
        }
        if let Err(e) = self.peer.raft_group.step(m) {
            tracing::debug!(%e, "step failed");
        }
        self.release_held_entries();
        if self.peer.stopped {
            return Ok(());
        }
        if self.peer.any_new_peer_catch_up(from.id) {
            self.peer
                .heartbeat_scheduler(&self.ctx.scheduler_task_sender);
        }
        Ok(())
    }

    fn validate_raft_message(&self, msg: &RaftMessage) -> bool {
        let to_store = msg.to_peer.as_ref().map_or(0, |p| p.store_id);
        if to_store != self.peer.store_id() {
            tracing::warn!(
                region_id = msg.region_id,
                to_store,
                "store not match, ignore message"
            );
            return false;
        }
        if msg.region_epoch.is_none() || msg.message.is_none() && !msg.is_tombstone {
            tracing::error!(
                region_id = msg.region_id,
                "malformed raft message, ignore it"
            );
            return false;
        }
        true
    }

    /// Drops a message that comes from a removed peer (answered with a
    /// tombstone for votes), or targets an older incarnation of this peer,
    /// or a newer one (then this peer is stale and destroys itself, letting
    /// the store create the new one).
    fn check_message(&mut self, msg: &RaftMessage) -> MsgVerdict {
        let from_epoch = msg.region_epoch.unwrap_or_default();
        let earns_gc = msg.message.as_ref().is_some_and(earns_gc_answer);
        let from_store = msg.from_peer.as_ref().map_or(0, |p| p.store_id);
        let region = self.peer.region().clone();
        let epoch = region.region_epoch.unwrap_or_default();
        if is_epoch_stale(&from_epoch, &epoch) && find_peer(&region, from_store).is_none() {
            handle_stale_msg(self.ctx, msg, &epoch, earns_gc);
            return MsgVerdict::Drop;
        }
        let target = msg.to_peer.unwrap_or_default();
        if target.id < self.peer.peer_id() {
            tracing::info!(target = target.id, "message for an older peer, drop");
            return MsgVerdict::Drop;
        }
        if target.id > self.peer.peer_id() {
            if self.peer.can_destroy() {
                tracing::info!(target = target.id, "stale: a newer peer exists, destroying");
                self.destroy_peer();
                self.ctx
                    .router
                    .send_store(StoreMsg::RaftMessage(Box::new(msg.clone())));
            }
            return MsgVerdict::Drop;
        }
        MsgVerdict::Accept
    }

    fn handle_gc_peer_msg(&mut self, msg: &RaftMessage) {
        let from_epoch = msg.region_epoch.unwrap_or_default();
        let epoch = self.peer.region().region_epoch.unwrap_or_default();
        if !is_epoch_stale(&epoch, &from_epoch) {
            return;
        }
        let to = msg.to_peer.unwrap_or_default();
        if !peer_equal(&self.peer.meta_peer, &to) {
            tracing::info!("receive stale gc message, ignore");
            return;
        }
        tracing::info!("receives gc message, trying to remove");
        if self.peer.can_destroy() {
            self.destroy_peer();
        }
    }

    /// Drops a snapshot message this peer must not apply (not a member of
    /// the snapshot's region, a stale delegate, a range another region
    /// holds), deleting its files.
    fn check_snapshot(&mut self, msg: &RaftMessage) -> crate::Result<MsgVerdict> {
        let Some(snap) = msg.message.as_ref().and_then(|m| m.snapshot.as_ref()) else {
            return Ok(MsgVerdict::Accept);
        };
        let key = SnapKey::from_region_snap(msg.region_id, snap);
        let data = RaftSnapshotData::decode(snap.data.as_slice())?;
        let snap_region = data.region.unwrap_or_default();
        let peer_id = msg.to_peer.as_ref().map_or(0, |p| p.id);
        if !snap_region.peers.iter().any(|p| p.id == peer_id) {
            tracing::info!(peer_id, "snapshot region doesn't contain peer, skip");
            return Ok(self.drop_snapshot(&key));
        }
        {
            let store_meta = self.ctx.store_meta();
            let current = store_meta.regions.get(&self.peer.region_id);
            if !current.is_some_and(|r| region_equal(r, self.peer.region())) {
                if !self.peer.is_initialized() {
                    tracing::info!("stale delegate detected, skip");
                    return Ok(self.drop_snapshot(&key));
                }
                panic!(
                    "{} meta corrupted {:?} != {:?}",
                    self.peer.tag,
                    current,
                    self.peer.region()
                );
            }
            if store_meta
                .get_overlap_regions(&snap_region)
                .iter()
                .any(|r| r.id != snap_region.id)
            {
                tracing::info!(?snap_region, "snapshot overlaps another region, skip");
                return Ok(self.drop_snapshot(&key));
            }
        }
        // The files must be here before raft may accept the snapshot.
        self.ctx.snap_mgr.get_snapshot_for_applying(&key)?;
        Ok(MsgVerdict::Accept)
    }

    /// Deletes the files of a snapshot we will not apply.
    fn drop_snapshot(&self, key: &SnapKey) -> MsgVerdict {
        if let Ok(s) = self.ctx.snap_mgr.get_snapshot_for_applying(key) {
            self.ctx.snap_mgr.delete_snapshot(key, s.as_ref(), false);
        }
        MsgVerdict::Drop
    }

    /// Destroys this peer and forgets it everywhere on the store.
    pub fn destroy_peer(&mut self) {
        tracing::info!("starts destroy");
        let region_id = self.peer.region_id;
        let mut store_meta = self.ctx.store_meta();
        let initialized = self.peer.is_initialized();
        if let Err(e) = self.peer.destroy(&self.ctx.engines, false) {
            panic!("{} destroy peer: {}", self.peer.tag, e);
        }
        self.ctx.router.close(region_id);
        self.peer.stopped = true;
        if initialized && !store_meta.remove_range(self.peer.region()) {
            panic!("{} meta corruption detected: range missing", self.peer.tag);
        }
        if store_meta.regions.remove(&region_id).is_none() {
            panic!("{} meta corruption detected: region missing", self.peer.tag);
        }
    }

    fn find_sibling_region(&self) -> Option<Region> {
        self.ctx.store_meta().find_next_region(self.peer.region())
    }

    // ---- ticks -----------------------------------------------------------

    fn start_ticker(&mut self) {
        let mut t = Ticker::new_peer_ticker(&self.ctx.cfg);
        t.schedule(PeerTick::Raft);
        t.schedule(PeerTick::RaftLogGc);
        t.schedule(PeerTick::SplitRegionCheck);
        t.schedule(PeerTick::SchedulerHeartbeat);
        self.peer.ticker = Some(t);
    }

    fn on_tick(&mut self) {
        if self.peer.stopped {
            return;
        }
        let Some(t) = self.peer.ticker.as_mut() else {
            return;
        };
        t.tick_clock();
        let due = |t: &Ticker, tp| t.is_on_tick(tp);
        let (raft, gc, hb, split) = (
            due(t, PeerTick::Raft),
            due(t, PeerTick::RaftLogGc),
            due(t, PeerTick::SchedulerHeartbeat),
            due(t, PeerTick::SplitRegionCheck),
        );
        if raft {
            self.peer.raft_group.tick();
            self.schedule(PeerTick::Raft);
        }
        if gc {
            self.on_raft_gc_log_tick();
        }
        if hb {
            self.on_scheduler_heartbeat_tick();
        }
        if split {
            self.on_split_region_check_tick();
        }
    }

    fn schedule(&mut self, tp: PeerTick) {
        if let Some(t) = self.peer.ticker.as_mut() {
            t.schedule(tp);
        }
    }

    /// Deletes raft log entries up to `truncated_index` in the background.
    pub fn schedule_compact_log(&mut self, truncated_index: u64) {
        let task = RaftLogGcTask {
            raft_engine: self.ctx.engines.raft.clone(),
            region_id: self.peer.region_id,
            start_idx: self.peer.last_compacted_idx,
            end_idx: truncated_index + 1,
        };
        self.peer.last_compacted_idx = task.end_idx;
        let _ = self.ctx.raftlog_gc_task_sender.send(task);
    }

    fn on_raft_gc_log_tick(&mut self) {
        self.schedule(PeerTick::RaftLogGc);
        if !self.peer.is_leader() {
            return;
        }
        let applied = self.peer.store().applied_index();
        let first = self.peer.store().truncated_index() + 1;
        if applied <= first || applied - first < self.ctx.cfg.raft_log_gc_count_limit {
            return;
        }
        let compact_idx = applied - 1;
        if compact_idx < first {
            return;
        }
        let Ok(term) = self.peer.raft_group.raft.raft_log.term(compact_idx) else {
            return;
        };
        let req =
            new_compact_log_request(self.peer.region_id, self.peer.meta_peer, compact_idx, term);
        self.propose_raft_command(req, Callback::none());
    }

    fn on_split_region_check_tick(&mut self) {
        self.schedule(PeerTick::SplitRegionCheck);
        if !self.ctx.split_check_task_sender.is_empty() || !self.peer.is_leader() {
            return;
        }
        // Go skips the check while less than 1/8 of the split size was
        // written since the last one. That alone can strand a region just
        // past the maximum (measured just below it, then a few small writes
        // too few to reach the 1/8): check too when the last measure plus
        // what was written since may exceed the maximum.
        if let Some(size) = self.peer.approximate_size {
            let hint = self.peer.size_diff_hint;
            if hint < self.ctx.cfg.region_split_size / 8
                && size + hint <= self.ctx.cfg.region_max_size
            {
                return;
            }
        }
        let task = SplitCheckTask {
            region: self.peer.region().clone(),
        };
        if self.ctx.split_check_task_sender.try_send(task).is_ok() {
            self.peer.size_diff_hint = 0;
        }
    }

    fn on_prepare_split_region(&mut self, epoch: RegionEpoch, split_key: Vec<u8>, cb: Callback) {
        if let Err(e) = self.validate_split_region(&epoch, &split_key) {
            cb.done(err_resp(&e));
            return;
        }
        let task = SchedulerTask::AskSplit {
            region: self.peer.region().clone(),
            split_key,
            peer: self.peer.meta_peer,
            callback: cb,
        };
        let _ = self.ctx.scheduler_task_sender.send(task);
    }

    fn validate_split_region(
        &mut self,
        epoch: &RegionEpoch,
        split_key: &[u8],
    ) -> Result<(), RaftstoreError> {
        if split_key.is_empty() {
            return Err(RaftstoreError::other(format!(
                "{} split key should not be empty",
                self.peer.tag
            )));
        }
        if !self.peer.is_leader() {
            let leader = self.peer.get_peer_from_cache(self.peer.leader_id());
            return Err(RaftstoreError::NotLeader {
                region_id: self.peer.region_id,
                leader,
            });
        }
        let region = self.peer.region();
        let latest = region.region_epoch.unwrap_or_default();
        if latest.version != epoch.version {
            return Err(RaftstoreError::EpochNotMatch {
                message: format!(
                    "{} epoch changed {:?} != {:?}, retry later",
                    self.peer.tag, latest, epoch
                ),
                regions: vec![region.clone()],
            });
        }
        Ok(())
    }

    fn on_scheduler_heartbeat_tick(&mut self) {
        self.schedule(PeerTick::SchedulerHeartbeat);
        if self.peer.is_leader() {
            self.peer
                .heartbeat_scheduler(&self.ctx.scheduler_task_sender);
        }
    }

    fn on_gc_snap(&mut self, snaps: Vec<SnapKeyWithSending>) {
        let compacted_idx = self.peer.store().truncated_index();
        let compacted_term = self.peer.store().truncated_term();
        let mgr = &self.ctx.snap_mgr;
        for s in snaps {
            let key = s.snap_key;
            if s.is_sending {
                let Ok(snap) = mgr.get_snapshot_for_sending(&key) else {
                    continue;
                };
                if key.term < compacted_term || key.index < compacted_idx {
                    tracing::info!(%key, "snap file has been compacted, delete");
                    mgr.delete_snapshot(&key, snap.as_ref(), false);
                }
            } else if key.term <= compacted_term && key.index <= compacted_idx {
                tracing::info!(%key, "snap file has been applied, delete");
                if let Ok(snap) = mgr.get_snapshot_for_applying(&key) {
                    mgr.delete_snapshot(&key, snap.as_ref(), false);
                }
            }
        }
    }

    // ---- ready -----------------------------------------------------------

    /// First half of a ready round: takes the peer's Ready and queues its
    /// raft state and entries into `raft_wb`, which the caller writes (with
    /// sync) for all peers at once. A snapshot is installed right here.
    pub fn collect_ready(&mut self, raft_wb: &mut WriteBatch) -> Option<PendingReady> {
        // student: begin 2B: take the Ready, send a leader's messages early when safe, queue its state and entries into `raft_wb` via save_ready_state
        self.flush_proposals();
        if self.peer.stopped || !self.peer.raft_group.has_ready() {
            return None;
        }
        let mut ready = self.peer.raft_group.ready();
        metrics::add(&metrics::RAFT_ENTRIES_PERSISTED, ready.entries.len() as u64);
        // A leader may replicate its new entries while it writes them
        // (Raft thesis, 10.2.1): it acts on a commit only in a later round,
        // after this round's batch is durable. Anything that carries a new
        // term or vote still waits for the sync.
        let persisted = self.peer.store().raft_state.hard_state.unwrap_or_default();
        let term_or_vote_changed = ready
            .hard_state
            .is_some_and(|hs| hs.term != persisted.term || hs.vote != persisted.vote);
        if self.peer.is_leader() && ready.snapshot.is_none() && !term_or_vote_changed {
            let msgs = std::mem::take(&mut ready.messages);
            self.peer.send(self.ctx.trans.as_ref(), msgs);
        }
        let mut kv_wb = WriteBatch::default();
        let result = match self
            .peer
            .mut_store()
            .save_ready_state(&ready, &mut kv_wb, raft_wb)
        {
            Ok(r) => r,
            Err(e) => panic!("{} failed to save ready state: {}", self.peer.tag, e),
        };
        if let Some(res) = result {
            // student: begin 2C: a snapshot was installed: write both batches, have the region worker lay its data down, then update the store's region map
            // The new states go down first, then the region worker swaps
            // the data, then the store's region map follows.
            self.ctx
                .engines
                .write_raft(raft_wb)
                .expect("write raft batch");
            raft_wb.reset();
            self.ctx.engines.write_kv(&kv_wb).expect("write kv batch");
            let snap_meta = ready
                .snapshot
                .as_ref()
                .and_then(|s| s.metadata.clone())
                .unwrap_or_default();
            self.peer.mut_store().apply_snapshot_data(snap_meta);
            let mut store_meta = self.ctx.store_meta();
            if !res.prev_region.peers.is_empty() {
                store_meta.remove_range(&res.prev_region);
            }
            store_meta.insert_range(&res.region);
            store_meta.set_region(res.region.clone());
            drop(store_meta);
            self.peer.set_region(res.region);
            // Anything held was committed, so the snapshot covers it.
            self.peer.held_entries.clear();
            // student: end
        }
        Some(PendingReady { ready })
        // student: end
    }

    /// Second half of a ready round, after the raft batch is durable: send
    /// the messages, apply committed entries, advance raft.
    pub fn post_ready(&mut self, mut pending: PendingReady) {
        let confirmed_reads = std::mem::take(&mut pending.ready.read_states);
        // student: begin 2B: after the round's raft batch is durable: send the messages, apply the committed entries, advance raft
        let mut ready = pending.ready;
        if self.peer.stopped {
            return;
        }
        let msgs = std::mem::take(&mut ready.messages);
        self.peer.send(self.ctx.trans.as_ref(), msgs);
        let committed = std::mem::take(&mut ready.committed_entries);
        self.apply_committed_entries(&committed);
        if self.peer.stopped {
            return;
        }
        if let Some(ss) = &ready.soft_state {
            if ss.raft_state == raft::StateType::Leader {
                // A new leader tells the scheduler at once.
                self.peer
                    .heartbeat_scheduler(&self.ctx.scheduler_task_sender);
            }
        }
        ready.committed_entries = committed;
        self.peer.raft_group.advance(ready);
        // student: end
        self.serve_reads(confirmed_reads);
    }
}

/// Answers a message from a peer that is no longer a member: a vote gets a
/// tombstone back so the sender destroys itself; anything else is dropped.
pub fn handle_stale_msg(
    ctx: &GlobalContext,
    msg: &RaftMessage,
    cur_epoch: &RegionEpoch,
    need_gc: bool,
) {
    if !need_gc {
        tracing::info!(
            region_id = msg.region_id,
            ?cur_epoch,
            "raft message is stale, ignore it"
        );
        return;
    }
    let gc = RaftMessage {
        region_id: msg.region_id,
        from_peer: msg.to_peer,
        to_peer: msg.from_peer,
        region_epoch: Some(*cur_epoch),
        is_tombstone: true,
        ..Default::default()
    };
    if let Err(e) = ctx.trans.send(gc) {
        tracing::error!(region_id = msg.region_id, %e, "send gc message failed");
    }
}
