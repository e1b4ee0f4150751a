//! Routing by region id: every live peer of this store is registered here;
//! its messages go to the raft worker, which handles all peers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crossbeam_channel::Sender;
use proto::raft_cmdpb::RaftCmdRequest;
use proto::raft_serverpb::RaftMessage;

use crate::raftstore::message::{Callback, Msg, PeerMsg, RaftRouter, StoreMsg};
use crate::raftstore::peer::Peer;
use crate::raftstore::util::{RaftstoreError, Result};

/// A registered peer. `closed` is set when the peer is destroyed, so that
/// messages already queued for it are dropped.
pub struct RegisteredPeer {
    closed: AtomicBool,
    peer: Mutex<Peer>,
}

impl RegisteredPeer {
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub fn peer(&self) -> MutexGuard<'_, Peer> {
        self.peer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct Router {
    peers: RwLock<BTreeMap<u64, Arc<RegisteredPeer>>>,
    peer_sender: Sender<Msg>,
    store_sender: Sender<StoreMsg>,
}

impl Router {
    pub fn new(peer_sender: Sender<Msg>, store_sender: Sender<StoreMsg>) -> Self {
        Router {
            peers: RwLock::new(BTreeMap::new()),
            peer_sender,
            store_sender,
        }
    }

    pub fn get(&self, region_id: u64) -> Option<Arc<RegisteredPeer>> {
        self.peers.read().unwrap().get(&region_id).cloned()
    }

    pub fn register(&self, peer: Peer) {
        let id = peer.region_id;
        let state = Arc::new(RegisteredPeer {
            closed: AtomicBool::new(false),
            peer: Mutex::new(peer),
        });
        self.peers.write().unwrap().insert(id, state);
    }

    /// Unregisters the peer of `region_id` and marks it closed.
    pub fn close(&self, region_id: u64) {
        if let Some(ps) = self.peers.write().unwrap().remove(&region_id) {
            ps.closed.store(true, Ordering::Release);
        }
    }

    /// Ids of every registered region, in id order (ticks go out in
    /// this order, so it must not depend on a hash seed).
    pub fn region_ids(&self) -> Vec<u64> {
        self.peers.read().unwrap().keys().copied().collect()
    }

    pub fn send(&self, region_id: u64, msg: PeerMsg) -> Result<()> {
        match self.get(region_id) {
            Some(p) if !p.is_closed() => self
                .peer_sender
                .send(Msg::new(region_id, msg))
                .map_err(|_| RaftstoreError::other("raft worker stopped")),
            _ => Err(RaftstoreError::RegionNotFound(region_id)),
        }
    }

    pub fn send_store(&self, msg: StoreMsg) {
        let _ = self.store_sender.send(msg);
    }
}

/// The router as the rest of the node sees it.
#[derive(Clone)]
pub struct RaftstoreRouter {
    router: Arc<Router>,
}

impl RaftstoreRouter {
    pub fn new(router: Arc<Router>) -> Self {
        RaftstoreRouter { router }
    }

    /// The raft state of the region's peer on this store ([`Peer::status`]),
    /// if it has one.
    pub fn peer_status(&self, region_id: u64) -> Option<String> {
        Some(self.router.get(region_id)?.peer().status())
    }

    /// Whether both handles reach the same running raftstore (a restarted
    /// store has a new one).
    pub fn same_raftstore(&self, other: &RaftstoreRouter) -> bool {
        Arc::ptr_eq(&self.router, &other.router)
    }
}

impl RaftRouter for RaftstoreRouter {
    fn send(&self, region_id: u64, msg: PeerMsg) -> Result<()> {
        self.router.send(region_id, msg)
    }

    /// Delivers to the region's peer, or to the store worker if this store
    /// has none (it may create one).
    fn send_raft_message(&self, msg: RaftMessage) -> Result<()> {
        let region_id = msg.region_id;
        let msg = Box::new(msg);
        match self.router.get(region_id) {
            Some(p) if !p.is_closed() => {
                let _ = self
                    .router
                    .peer_sender
                    .send(Msg::new(region_id, PeerMsg::RaftMessage(msg)));
            }
            _ => self.router.send_store(StoreMsg::RaftMessage(msg)),
        }
        Ok(())
    }

    fn send_raft_command(&self, req: RaftCmdRequest, cb: Callback) -> Result<()> {
        let region_id = req.header.as_ref().map_or(0, |h| h.region_id);
        self.router.send(
            region_id,
            PeerMsg::RaftCmd {
                request: Box::new(req),
                callback: cb,
            },
        )
    }
}
