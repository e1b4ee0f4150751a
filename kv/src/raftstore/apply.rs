//! Applying committed entries: the half of a peer's ready round that turns
//! its log into state. Data commands go into the round's kv write batch
//! (flushed early only where a read must see the writes before it); the
//! admin commands CompactLog, ChangePeer and Split change the region and
//! the peer itself. These continue [`PeerMsgHandler`] (in Go they are part
//! of `peer_msg_handler.go`), so the Go names stay.

use prost::Message as _;
use proto::eraftpb::{ConfChange, ConfChangeType, Entry, EntryType};
use proto::metapb::{Peer as MetaPeer, Region};
use proto::raft_cmdpb::{
    AdminCmdType, AdminRequest, AdminResponse, ChangePeerResponse, CmdType, CompactLogResponse,
    DeleteResponse, GetResponse, PutResponse, RaftCmdRequest, RaftCmdResponse, Response,
    SnapResponse, SplitResponse,
};
use proto::raft_serverpb::{PeerState, RaftTruncatedState};

use crate::raftstore::cmd_resp::{bind_resp_term, err_resp, new_cmd_resp};
use crate::raftstore::message::{Callback, PeerMsg};
use crate::raftstore::meta;
use crate::raftstore::metrics;
use crate::raftstore::peer::notify_stale_req;
use crate::raftstore::peer_msg_handler::{cf_of, check_requests, PeerMsgHandler};
use crate::raftstore::runner::SchedulerTask;
use crate::raftstore::util::{check_key_in_region, check_region_epoch, find_peer, RaftstoreError};
use crate::util::engine_util::{self, WriteBatch};

/// What applying one entry asks of the caller beyond the batch writes.
pub(super) enum ApplyOutcome {
    Continue,
    /// The peer removed itself; stop applying.
    Destroyed,
    /// The entry removes this peer and must wait (see [`Peer::may_leave`]);
    /// it and everything after it are held.
    ///
    /// [`Peer::may_leave`]: crate::raftstore::peer::Peer::may_leave
    Held,
}

impl PeerMsgHandler<'_> {
    pub(super) fn apply_committed_entries(&mut self, entries: &[Entry]) {
        // student: begin 2B: apply the committed entries into one kv batch and write it with the new apply state
        if entries.is_empty() {
            return;
        }
        // student: begin 3B: (optional) while this peer's own removal is held, hold what follows it too
        if !self.peer.held_entries.is_empty() {
            self.peer.held_entries.extend_from_slice(entries);
            return;
        }
        // student: stub
        // student: end
        let mut kv_wb = WriteBatch::default();
        let truncated_before = self.peer.store().truncated_index();
        let mut applied = 0;
        for (i, entry) in entries.iter().enumerate() {
            if self.peer.stopped {
                return;
            }
            let index = entry.index;
            match self.apply_entry(entry, &mut kv_wb) {
                ApplyOutcome::Continue => {}
                ApplyOutcome::Destroyed => return,
                ApplyOutcome::Held => {
                    self.peer.held_entries = entries[i..].to_vec();
                    break;
                }
            }
            self.peer.mut_store().apply_state.applied_index = index;
            applied += 1;
        }
        metrics::add(&metrics::ENTRIES_APPLIED, applied);
        metrics::add(&metrics::KV_BATCH_WRITES, 1);
        let apply_state = self.peer.store().apply_state;
        kv_wb.set_meta(&meta::apply_state_key(self.peer.region_id), &apply_state);
        self.ctx.engines.write_kv(&kv_wb).expect("write kv batch");
        // student: begin 2C: once the new truncated state is written, have the raft-log GC worker delete the compacted entries
        // Entries are deleted only after the truncated state that gives
        // them up is written: a store stopping in between must not restart
        // with an apply state that still needs them.
        let truncated = self.peer.store().truncated_index();
        if truncated > truncated_before {
            self.schedule_compact_log(truncated);
        }
        // student: stub
        // student: end
        // student: end
    }

    /// Applies the entries held at this peer's own removal once the other
    /// voter has shown it holds the removal as committed (the removal then
    /// destroys this peer).
    pub(super) fn release_held_entries(&mut self) {
        // student: begin 3B: (optional) apply the held entries once the other voter has shown it knows our removal is committed
        let Some(first) = self.peer.held_entries.first() else {
            return;
        };
        if !self.peer.may_leave(first.index) {
            return;
        }
        let held = std::mem::take(&mut self.peer.held_entries);
        self.apply_committed_entries(&held);
        // student: stub
        // student: end
    }

    /// Writes out what `kv_wb` holds so far, with the current apply state,
    /// and empties it — so that a read in the middle of a round sees
    /// exactly the log prefix applied before it.
    fn flush(&mut self, kv_wb: &mut WriteBatch) {
        // student: begin 2B: write what the batch holds so far, with the apply state, so a read sees exactly the log prefix
        if kv_wb.is_empty() {
            return;
        }
        metrics::add(&metrics::KV_BATCH_WRITES, 1);
        let apply_state = self.peer.store().apply_state;
        kv_wb.set_meta(&meta::apply_state_key(self.peer.region_id), &apply_state);
        self.ctx.engines.write_kv(kv_wb).expect("write kv batch");
        kv_wb.reset();
        // student: end
    }

    /// The callback waiting for the entry at (`index`, `term`), answering
    /// proposals overtaken by it as stale.
    fn take_callback(&mut self, index: u64, term: u64) -> Option<Callback> {
        // student: begin 2B: pop the callback proposed at (index, term), answering proposals it overtook as stale
        while let Some(p) = self.peer.proposals.front() {
            if p.index > index {
                return None;
            }
            let p = self.peer.proposals.pop_front().unwrap();
            if p.index == index && p.term == term {
                return Some(p.cb);
            }
            notify_stale_req(term, p.cb);
        }
        None
        // student: end
    }

    fn apply_entry(&mut self, entry: &Entry, kv_wb: &mut WriteBatch) -> ApplyOutcome {
        // student: begin 2B: apply one committed entry: conf changes, empty no-ops, admin commands and data requests
        let (index, term) = (entry.index, entry.term);
        if entry.entry_type() == EntryType::EntryConfChange {
            return self.apply_conf_change(entry, kv_wb);
        }
        if entry.data.is_empty() {
            // A new leader's no-op: whatever was proposed at this index
            // before the election is lost.
            let _ = self.take_callback(index, term);
            return ApplyOutcome::Continue;
        }
        let req = match RaftCmdRequest::decode(entry.data.as_slice()) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(index, %e, "undecodable entry, skipped");
                let _ = self.take_callback(index, term);
                return ApplyOutcome::Continue;
            }
        };
        let cb = self.take_callback(index, term);
        if let Some(admin) = req.admin_request.as_ref() {
            let resp = match admin.cmd_type() {
                AdminCmdType::CompactLog => self.apply_compact_log(admin, kv_wb),
                AdminCmdType::Split => self.apply_split(&req, index, kv_wb),
                other => Err(RaftstoreError::other(format!(
                    "unexpected admin command {:?} in log",
                    other
                ))),
            };
            self.respond(cb, resp, None);
            return ApplyOutcome::Continue;
        }
        self.apply_requests(&req, cb, kv_wb);
        ApplyOutcome::Continue
        // student: end
    }

    fn respond(
        &self,
        cb: Option<Callback>,
        resp: Result<RaftCmdResponse, RaftstoreError>,
        snap: Option<engine_util::DbSnapshot>,
    ) {
        // student: begin 2B: answer the callback (if any) with the response or the error, stamped with the current term
        let Some(cb) = cb else { return };
        let mut resp = resp.unwrap_or_else(|e| err_resp(&e));
        bind_resp_term(&mut resp, self.peer.term());
        cb.done_with_snap(resp, snap);
        // student: end
    }

    pub(super) fn apply_requests(
        &mut self,
        req: &RaftCmdRequest,
        cb: Option<Callback>,
        kv_wb: &mut WriteBatch,
    ) {
        // student: begin 2B: re-check the epoch and keys, then apply the Puts, Deletes, Gets and Snaps of a command and answer it
        // The region may have changed (split, conf change) since proposal.
        let region = self.peer.region().clone();
        if let Err(e) =
            check_region_epoch(req, &region, true).and_then(|_| check_requests(req, &region))
        {
            self.respond(cb, Err(e), None);
            return;
        }
        let mut resp = new_cmd_resp();
        let mut snap = None;
        for r in &req.requests {
            let mut out = Response {
                cmd_type: r.cmd_type,
                ..Default::default()
            };
            match r.cmd_type() {
                CmdType::Put => {
                    let put = r.put.as_ref().unwrap();
                    kv_wb.set_cf(cf_of(&put.cf), &put.key, &put.value);
                    self.peer.size_diff_hint += (put.key.len() + put.value.len()) as u64;
                    out.put = Some(PutResponse {});
                }
                CmdType::Delete => {
                    let del = r.delete.as_ref().unwrap();
                    kv_wb.delete_cf(cf_of(&del.cf), &del.key);
                    self.peer.size_diff_hint += del.key.len() as u64;
                    out.delete = Some(DeleteResponse {});
                }
                CmdType::Get => {
                    self.flush(kv_wb);
                    let get = r.get.as_ref().unwrap();
                    let value = engine_util::get_cf(&self.ctx.engines.kv, cf_of(&get.cf), &get.key)
                        .ok()
                        .flatten()
                        .unwrap_or_default();
                    out.get = Some(GetResponse { value });
                }
                CmdType::Snap => {
                    self.flush(kv_wb);
                    snap = Some(engine_util::DbSnapshot::new(self.ctx.engines.kv.clone()));
                    out.snap = Some(SnapResponse {
                        region: Some(region.clone()),
                    });
                }
                CmdType::Invalid => {}
            }
            resp.responses.push(out);
        }
        self.respond(cb, Ok(resp), snap);
        // student: end
    }

    fn apply_compact_log(
        &mut self,
        admin: &AdminRequest,
        _kv_wb: &mut WriteBatch,
    ) -> Result<RaftCmdResponse, RaftstoreError> {
        // student: begin 2C: record the new truncated state; the log entries are deleted once it is written
        let req = admin.compact_log.unwrap_or_default();
        let store = self.peer.mut_store();
        if req.compact_index > store.truncated_index() {
            // The log itself is trimmed once this state is written (see
            // `apply_committed_entries`).
            store.apply_state.truncated_state = Some(RaftTruncatedState {
                index: req.compact_index,
                term: req.compact_term,
            });
        }
        let mut resp = new_cmd_resp();
        resp.admin_response = Some(AdminResponse {
            cmd_type: AdminCmdType::CompactLog as i32,
            compact_log: Some(CompactLogResponse {}),
            ..Default::default()
        });
        Ok(resp)
        // student: end
    }

    fn apply_conf_change(&mut self, entry: &Entry, kv_wb: &mut WriteBatch) -> ApplyOutcome {
        // student: begin 3B: add or remove the peer in the region (epoch conf_ver + 1), persist it, tell raft; destroy ourselves if removed
        let (index, term) = (entry.index, entry.term);
        let cc = match ConfChange::decode(entry.data.as_slice()) {
            Ok(cc) => cc,
            Err(e) => {
                tracing::error!(index, %e, "undecodable conf change, skipped");
                let cb = self.take_callback(index, term);
                self.respond(
                    cb,
                    Err(RaftstoreError::other("undecodable conf change")),
                    None,
                );
                return ApplyOutcome::Continue;
            }
        };
        let req = RaftCmdRequest::decode(cc.context.as_slice()).unwrap_or_default();
        let mut region = self.peer.region().clone();
        let target = req
            .admin_request
            .as_ref()
            .and_then(|a| a.change_peer.as_ref())
            .and_then(|c| c.peer)
            .unwrap_or(MetaPeer {
                id: cc.node_id,
                store_id: 0,
            });
        // Duplicates and stale requests are expected (the scheduler repeats
        // itself until it sees the change); they must not apply twice.
        let check = check_region_epoch(&req, &region, true).and_then(|_| {
            let exists = region.peers.iter().any(|p| p.id == target.id);
            match cc.change_type() {
                ConfChangeType::AddNode if exists => Err(RaftstoreError::other(format!(
                    "peer {} already exists",
                    target.id
                ))),
                ConfChangeType::AddNode if find_peer(&region, target.store_id).is_some() => Err(
                    RaftstoreError::other(format!("store {} already has a peer", target.store_id)),
                ),
                ConfChangeType::RemoveNode if !exists => Err(RaftstoreError::other(format!(
                    "peer {} is not a member",
                    target.id
                ))),
                _ => Ok(()),
            }
        });
        let removes_self =
            cc.change_type() == ConfChangeType::RemoveNode && target.id == self.peer.peer_id();
        if check.is_ok() && removes_self && !self.peer.may_leave(index) {
            tracing::info!(
                index,
                "own removal held until the other voter shows it is committed"
            );
            return ApplyOutcome::Held;
        }
        let cb = self.take_callback(index, term);
        if let Err(e) = check {
            tracing::info!(%e, "conf change rejected at apply");
            self.respond(cb, Err(e), None);
            return ApplyOutcome::Continue;
        }
        match cc.change_type() {
            ConfChangeType::AddNode => region.peers.push(target),
            ConfChangeType::RemoveNode => region.peers.retain(|p| p.id != target.id),
        }
        if let Some(epoch) = region.region_epoch.as_mut() {
            epoch.conf_ver += 1;
        }
        meta::write_region_state(kv_wb, &region, PeerState::Normal);
        self.ctx.store_meta().set_region(region.clone());
        self.peer.set_region(region.clone());
        match cc.change_type() {
            ConfChangeType::AddNode => self.peer.insert_peer_cache(target),
            ConfChangeType::RemoveNode => {
                self.peer.remove_peer_cache(target.id);
                self.peer.peers_start_pending_tick.remove(&target.id);
                self.peer.peer_contacts.remove(&target.id);
            }
        }
        self.peer.raft_group.apply_conf_change(&cc);
        self.peer.mut_store().apply_state.applied_index = index;
        self.flush(kv_wb);
        let mut resp = new_cmd_resp();
        resp.admin_response = Some(AdminResponse {
            cmd_type: AdminCmdType::ChangePeer as i32,
            change_peer: Some(ChangePeerResponse {
                region: Some(region.clone()),
            }),
            ..Default::default()
        });
        self.respond(cb, Ok(resp), None);
        if removes_self {
            if self.peer.can_destroy() {
                self.destroy_peer();
            }
            return ApplyOutcome::Destroyed;
        }
        if self.peer.is_leader() {
            self.peer
                .heartbeat_scheduler(&self.ctx.scheduler_task_sender);
        }
        ApplyOutcome::Continue
        // student: end
    }

    fn apply_split(
        &mut self,
        req: &RaftCmdRequest,
        index: u64,
        kv_wb: &mut WriteBatch,
    ) -> Result<RaftCmdResponse, RaftstoreError> {
        // student: begin 3B: split the region at the key: bump the version, write both regions, create and start the new region's peer
        let (left, right) = self.split_regions(req)?;
        self.replace_placeholder_peer(right.id);
        meta::write_region_state(kv_wb, &left, PeerState::Normal);
        meta::write_region_state(kv_wb, &right, PeerState::Normal);
        self.peer.mut_store().apply_state.applied_index = index;
        self.flush(kv_wb);
        self.start_split_peer(&left, &right);
        let mut resp = new_cmd_resp();
        resp.admin_response = Some(AdminResponse {
            cmd_type: AdminCmdType::Split as i32,
            split: Some(SplitResponse {
                regions: vec![left, right],
            }),
            ..Default::default()
        });
        Ok(resp)
        // student: end
    }

    /// The two halves `req` splits our region into: ours keeps the keys
    /// below the split key (its version bumped), the new region takes the
    /// rest, with a new peer id beside each of ours.
    fn split_regions(&self, req: &RaftCmdRequest) -> Result<(Region, Region), RaftstoreError> {
        // student: begin 3B: check the split against the region (epoch, key, peer ids) and derive both halves: ours up to the key with version + 1, the new one from it
        let split = req
            .admin_request
            .as_ref()
            .and_then(|a| a.split.clone())
            .unwrap_or_default();
        let mut left = self.peer.region().clone();
        check_region_epoch(req, &left, true)?;
        check_split(&left, &split.split_key, split.new_peer_ids.len())?;
        let epoch = left.region_epoch.get_or_insert_with(Default::default);
        epoch.version += 1;
        let mut right = left.clone();
        right.id = split.new_region_id;
        right.start_key = split.split_key.clone();
        right.peers = left
            .peers
            .iter()
            .zip(&split.new_peer_ids)
            .map(|(p, id)| MetaPeer {
                id: *id,
                store_id: p.store_id,
            })
            .collect();
        left.end_key = split.split_key;
        Ok((left, right))
        // student: end
    }

    /// A peer of the new region may already exist here, created by a
    /// message of its other peers before this split applied. It holds no
    /// data, so it goes (before the new region's state is written over its
    /// tombstone). It is another peer of this store, so locking it here is
    /// safe: one raft worker drives them all, and it is not inside a round.
    fn replace_placeholder_peer(&self, region_id: u64) {
        // student: begin 3B: destroy an uninitialized peer of the new region that a message created before the split applied
        let Some(existing) = self.ctx.router.get(region_id) else {
            return;
        };
        let mut p = existing.peer();
        let span = p.span.clone();
        let _entered = span.enter();
        if p.is_initialized() {
            panic!(
                "{} split: new region {} already initialized here",
                self.peer.tag, region_id
            );
        }
        PeerMsgHandler::new(&mut p, self.ctx).destroy_peer();
        // student: end
    }

    /// Creates and starts the new region's peer, records both halves in
    /// the store's region map, and — if we led the parent — has the new
    /// peer campaign at once and tells the scheduler about both regions.
    fn start_split_peer(&mut self, left: &Region, right: &Region) {
        // student: begin 3B: create the new region's peer, update the store's region map, start it (campaigning at once if we led the parent) and tell the scheduler
        let mut new_peer = crate::raftstore::peer::Peer::create(
            self.ctx.store_id(),
            &self.ctx.cfg,
            self.ctx.region_task_sender.clone(),
            self.ctx.engines.clone(),
            right.clone(),
        )
        .unwrap_or_else(|e| panic!("{} create split peer: {}", self.peer.tag, e));
        {
            let mut store_meta = self.ctx.store_meta();
            store_meta.remove_range(self.peer.region());
            store_meta.insert_range(left);
            store_meta.insert_range(right);
            store_meta.set_region(left.clone());
            store_meta.set_region(right.clone());
        }
        self.peer.set_region(left.clone());
        self.peer.size_diff_hint = 0;
        self.peer.approximate_size = None;
        let was_leader = self.peer.is_leader();
        if was_leader && right.peers.len() > 1 {
            // Peers of the new region would otherwise wait a full election
            // timeout; the parent's leader starts one right away.
            let _ = new_peer.raft_group.campaign();
        }
        let new_peer_meta = new_peer.meta_peer;
        self.ctx.router.register(new_peer);
        let _ = self.ctx.router.send(right.id, PeerMsg::Start);
        if was_leader {
            self.peer
                .heartbeat_scheduler(&self.ctx.scheduler_task_sender);
            let _ = self
                .ctx
                .scheduler_task_sender
                .try_send(SchedulerTask::RegionHeartbeat {
                    region: right.clone(),
                    peer: new_peer_meta,
                    pending_peers: Vec::new(),
                    approximate_size: None,
                });
        }
        // student: end
    }
}

/// A split key must fall strictly inside the region, and the new region
/// needs one new peer id per current peer.
pub(super) fn check_split(
    region: &Region,
    split_key: &[u8],
    new_peers: usize,
) -> Result<(), RaftstoreError> {
    // student: begin 3B: a split key must fall strictly inside the region, with one new peer id per peer
    if split_key.is_empty() {
        return Err(RaftstoreError::other("split key should not be empty"));
    }
    check_key_in_region(split_key, region)?;
    if split_key == region.start_key.as_slice() {
        return Err(RaftstoreError::KeyNotInRegion {
            key: split_key.to_vec(),
            region: Box::new(region.clone()),
        });
    }
    if new_peers != region.peers.len() {
        return Err(RaftstoreError::other(format!(
            "invalid new peer id count, need {}, but got {}",
            region.peers.len(),
            new_peers
        )));
    }
    Ok(())
    // student: end
}
