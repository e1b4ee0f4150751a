//! The store worker: messages for regions that have no peer here (which
//! may create one), store heartbeats and snapshot file GC.

use std::sync::Arc;

use crossbeam_channel::{select, Receiver};
use proto::metapb::{Region, Store};
use proto::raft_serverpb::{PeerState, RaftMessage, RegionLocalState};
use proto::schedulerpb::StoreStats;

use crate::raftstore::message::{MsgVerdict, PeerMsg, StoreMsg, StoreTick};
use crate::raftstore::meta;
use crate::raftstore::peer::Peer;
use crate::raftstore::peer_msg_handler::handle_stale_msg;
use crate::raftstore::runner::SchedulerTask;
use crate::raftstore::snap::SnapKeyWithSending;
use crate::raftstore::store::GlobalContext;
use crate::raftstore::util::{
    earns_gc_answer, find_peer, is_epoch_stale, is_first_vote_message, is_initial_msg,
};
use crate::util::engine_util;

pub struct StoreWorker {
    ctx: Arc<GlobalContext>,
    receiver: Receiver<StoreMsg>,
    id: u64,
}

impl StoreWorker {
    pub fn new(ctx: Arc<GlobalContext>, receiver: Receiver<StoreMsg>) -> Self {
        StoreWorker {
            ctx,
            receiver,
            id: 0,
        }
    }

    pub fn run(mut self, stop: Receiver<()>) {
        loop {
            select! {
                recv(self.receiver) -> m => match m {
                    Ok(m) => self.handle_msg(m),
                    Err(_) => return,
                },
                recv(stop) -> _ => return,
            }
        }
    }

    /// Handles every message queued now, without waiting: what a driver
    /// calls instead of [`run`](Self::run). Returns how many.
    pub fn poll(&mut self) -> usize {
        let mut handled = 0;
        while let Ok(m) = self.receiver.try_recv() {
            self.handle_msg(m);
            handled += 1;
        }
        handled
    }

    pub fn handle_msg(&mut self, msg: StoreMsg) {
        match msg {
            StoreMsg::RaftMessage(m) => {
                if let Err(e) = self.on_raft_message(*m) {
                    tracing::error!(store_id = self.id, %e, "handle raft message failed");
                }
            }
            StoreMsg::Tick(StoreTick::SchedulerStoreHeartbeat) => self.store_heartbeat_scheduler(),
            StoreMsg::Tick(StoreTick::SnapGc) => {
                if let Err(e) = self.handle_snap_mgr_gc() {
                    tracing::error!(store_id = self.id, %e, "snapshot GC failed");
                }
            }
            StoreMsg::Start { store } => self.start(store),
        }
    }

    fn start(&mut self, store: Store) {
        self.id = store.id;
    }

    /// Decides about a message for a region with no live peer here, from
    /// what the disk says of the region.
    fn check_msg(&mut self, msg: &RaftMessage) -> crate::Result<MsgVerdict> {
        let region_id = msg.region_id;
        let from_epoch = msg.region_epoch.unwrap_or_default();
        let raft_msg = msg.message.clone().unwrap_or_default();
        let from_store = msg.from_peer.as_ref().map_or(0, |p| p.store_id);
        let state: Option<RegionLocalState> =
            engine_util::get_meta(&self.ctx.engines.kv, &meta::region_state_key(region_id))?;
        let Some(state) = state else {
            return Ok(MsgVerdict::Accept);
        };
        if state.state() != PeerState::Tombstone {
            // Known on disk but not running: a split not applied here yet.
            if is_first_vote_message(&raft_msg) {
                let mut store_meta = self.ctx.store_meta();
                if store_meta.regions.contains_key(&region_id) {
                    return Ok(MsgVerdict::Accept);
                }
                store_meta.pending_votes.push(msg.clone());
                tracing::info!(
                    region_id,
                    "region doesn't exist yet, wait for it to be split"
                );
                return Ok(MsgVerdict::Drop);
            }
            return Err(crate::Error::Other(format!(
                "region {} not exists but not tombstone: {:?}",
                region_id, state
            )));
        }
        let region = state.region.unwrap_or_default();
        let epoch = region.region_epoch.unwrap_or_default();
        if is_epoch_stale(&from_epoch, &epoch) {
            tracing::info!(
                region_id,
                ?from_epoch,
                ?epoch,
                "tombstone peer receives a stale message"
            );
            let not_exist = find_peer(&region, from_store).is_none();
            handle_stale_msg(
                &self.ctx,
                msg,
                &epoch,
                earns_gc_answer(&raft_msg) && not_exist,
            );
            return Ok(MsgVerdict::Drop);
        }
        if from_epoch.conf_ver == epoch.conf_ver {
            return Err(crate::Error::Other(format!(
                "tombstone peer [epoch: {:?}] received an invalid message {:?}, ignore it",
                epoch,
                raft_msg.msg_type()
            )));
        }
        Ok(MsgVerdict::Accept)
    }

    fn on_raft_message(&mut self, msg: RaftMessage) -> crate::Result<()> {
        let region_id = msg.region_id;
        // The peer may have been created since the router sent this here.
        if self
            .ctx
            .router
            .get(region_id)
            .is_some_and(|p| !p.is_closed())
        {
            let _ = self
                .ctx
                .router
                .send(region_id, PeerMsg::RaftMessage(Box::new(msg)));
            return Ok(());
        }
        let to = msg.to_peer.unwrap_or_default();
        if to.store_id != self.ctx.store_id() {
            tracing::warn!(
                store_id = self.ctx.store_id(),
                to_store = to.store_id,
                region_id,
                "store not match, ignore it"
            );
            return Ok(());
        }
        if msg.region_epoch.is_none() || msg.message.is_none() {
            tracing::error!(region_id, "malformed raft message, ignore it");
            return Ok(());
        }
        if msg.is_tombstone || self.check_msg(&msg)? == MsgVerdict::Drop {
            return Ok(());
        }
        if !self.maybe_create_peer(region_id, &msg)? {
            return Ok(());
        }
        let _ = self
            .ctx
            .router
            .send(region_id, PeerMsg::RaftMessage(Box::new(msg)));
        Ok(())
    }

    /// Creates an uninitialized peer for an initial message whose range
    /// does not overlap a region this store has. True if a peer exists now.
    fn maybe_create_peer(&mut self, region_id: u64, msg: &RaftMessage) -> crate::Result<bool> {
        let mut store_meta = self.ctx.store_meta();
        if store_meta.regions.contains_key(&region_id) {
            return Ok(true);
        }
        let raft_msg = msg.message.clone().unwrap_or_default();
        if !is_initial_msg(&raft_msg) {
            tracing::debug!(region_id, "target peer doesn't exist");
            return Ok(false);
        }
        let range = Region {
            start_key: msg.start_key.clone(),
            end_key: msg.end_key.clone(),
            ..Default::default()
        };
        if !store_meta.get_overlap_regions(&range).is_empty() {
            tracing::debug!(region_id, "message overlaps an existing region");
            if is_first_vote_message(&raft_msg) {
                store_meta.pending_votes.push(msg.clone());
            }
            return Ok(false);
        }
        let peer = Peer::replicate(
            self.ctx.store_id(),
            &self.ctx.cfg,
            self.ctx.region_task_sender.clone(),
            self.ctx.engines.clone(),
            region_id,
            msg.to_peer.unwrap_or_default(),
        )?;
        store_meta.regions.insert(region_id, peer.region().clone());
        self.ctx.router.register(peer);
        let _ = self.ctx.router.send(region_id, PeerMsg::Start);
        Ok(true)
    }

    fn store_heartbeat_scheduler(&mut self) {
        let stats = StoreStats {
            store_id: self.ctx.store_id(),
            region_count: self.ctx.store_meta().regions.len() as u32,
            ..Default::default()
        };
        let _ = self
            .ctx
            .scheduler_task_sender
            .try_send(SchedulerTask::StoreHeartbeat {
                stats,
                engines: self.ctx.engines.clone(),
                path: self.ctx.engines.kv_path.clone(),
            });
    }

    fn handle_snap_mgr_gc(&mut self) -> crate::Result<()> {
        let keys = self.ctx.snap_mgr.list_idle_snap()?;
        let mut i = 0;
        while i < keys.len() {
            let region_id = keys[i].snap_key.region_id;
            let mut j = i;
            while j < keys.len() && keys[j].snap_key.region_id == region_id {
                j += 1;
            }
            self.schedule_gc_snap(region_id, keys[i..j].to_vec())?;
            i = j;
        }
        Ok(())
    }

    fn schedule_gc_snap(
        &mut self,
        region_id: u64,
        keys: Vec<SnapKeyWithSending>,
    ) -> crate::Result<()> {
        if self
            .ctx
            .router
            .send(region_id, PeerMsg::GcSnap(keys.clone()))
            .is_ok()
        {
            return Ok(());
        }
        tracing::info!(region_id, "region is gone, remove its snapshots");
        let mgr = &self.ctx.snap_mgr;
        for k in keys {
            let snap = if k.is_sending {
                mgr.get_snapshot_for_sending(&k.snap_key)?
            } else {
                mgr.get_snapshot_for_applying(&k.snap_key)?
            };
            mgr.delete_snapshot(&k.snap_key, snap.as_ref(), false);
        }
        Ok(())
    }
}
