//! The simulated network: every raft message between stores waits in one
//! queue, ordered by the virtual time it is due, for the simulator to
//! deliver. Each message's latency (and, if asked for, its loss) is drawn
//! from the simulation's one generator, so the same seed delays and loses
//! the same messages. The [`Filter`]s are the threaded cluster's own, and
//! snapshots travel as there (their files copied when sent).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use kv::raftstore::router::RaftstoreRouter;
use kv::raftstore::snap::SnapManager;
use kv::raftstore::store::Transport;
use proto::raft_serverpb::RaftMessage;

use super::World;
use crate::filter::Filter;
use crate::node::{closed, copy_snapshot};

/// How the network treats a message that every filter lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetConfig {
    /// Least latency of a message, in virtual milliseconds (at least 1, so
    /// that an answer never arrives in the instant its question was sent).
    pub min_delay_ms: u64,
    /// Greatest latency; latencies are drawn uniformly in between, so
    /// messages overtake one another.
    pub max_delay_ms: u64,
    /// Messages lost, per thousand (on top of what the filters drop).
    pub loss_per_mille: u64,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            min_delay_ms: 1,
            max_delay_ms: 5,
            loss_per_mille: 0,
        }
    }
}

struct Inner {
    cfg: NetConfig,
    filters: Vec<Box<dyn Filter>>,
    stores: BTreeMap<u64, (RaftstoreRouter, SnapManager)>,
    /// In flight: by due time, and at one due time in the order sent. A
    /// queue per millisecond keeps the tree to a few keys, so a message
    /// is moved in and out of it once, not shifted through tree nodes.
    queue: BTreeMap<u64, VecDeque<RaftMessage>>,
    in_flight: usize,
}

/// The network of one simulation (see the module docs).
pub struct SimNetwork {
    world: Arc<Mutex<World>>,
    inner: Mutex<Inner>,
}

impl SimNetwork {
    pub(super) fn new(world: Arc<Mutex<World>>, cfg: NetConfig) -> Self {
        assert!(
            cfg.min_delay_ms >= 1 && cfg.max_delay_ms >= cfg.min_delay_ms,
            "latencies must satisfy 1 <= min <= max: {cfg:?}"
        );
        SimNetwork {
            world,
            inner: Mutex::new(Inner {
                cfg,
                filters: Vec::new(),
                stores: BTreeMap::new(),
                queue: BTreeMap::new(),
                in_flight: 0,
            }),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connects a started store.
    pub(super) fn add_store(&self, store_id: u64, router: RaftstoreRouter, snap_mgr: SnapManager) {
        self.inner().stores.insert(store_id, (router, snap_mgr));
    }

    /// Disconnects a store: what is in flight to it is lost on arrival.
    pub(super) fn remove_store(&self, store_id: u64) {
        self.inner().stores.remove(&store_id);
    }

    /// The router of a connected store.
    pub(super) fn router(&self, store_id: u64) -> Option<RaftstoreRouter> {
        self.inner().stores.get(&store_id).map(|(r, _)| r.clone())
    }

    pub(super) fn add_filter(&self, filter: Box<dyn Filter>) {
        self.inner().filters.push(filter);
    }

    pub(super) fn clear_filters(&self) {
        self.inner().filters.clear();
    }

    /// When the next message is due, if any is in flight.
    pub(super) fn next_due(&self) -> Option<u64> {
        self.inner().queue.keys().next().copied()
    }

    /// Takes the next message due at or before `now`, with the router of
    /// its store (`None` for the router when that store is down: the
    /// message is lost).
    pub(super) fn pop_due(&self, now: u64) -> Option<(RaftMessage, Option<RaftstoreRouter>)> {
        let mut inner = self.inner();
        let mut first = inner.queue.first_entry()?;
        if *first.key() > now {
            return None;
        }
        let msg = first.get_mut().pop_front().expect("no empty queue is kept");
        if first.get().is_empty() {
            first.remove();
        }
        inner.in_flight -= 1;
        let to = msg.to_peer.map_or(0, |p| p.store_id);
        let router = inner.stores.get(&to).map(|(r, _)| r.clone());
        Some((msg, router))
    }

    /// Messages in flight.
    pub fn in_flight(&self) -> usize {
        self.inner().in_flight
    }
}

impl Transport for SimNetwork {
    fn send(&self, msg: RaftMessage) -> kv::Result<()> {
        let mut inner = self.inner();
        if !inner.filters.iter().all(|f| f.before(&msg)) {
            return Err(kv::Error::Other(format!(
                "message {:?} is dropped",
                msg.message.map(|m| m.msg_type())
            )));
        }
        let from = msg.from_peer.map_or(0, |p| p.store_id);
        let to = msg.to_peer.map_or(0, |p| p.store_id);
        if kv::raftstore::util::snapshot_of(&msg).is_some() {
            let (_, from_mgr) = inner.stores.get(&from).ok_or_else(|| closed(from))?;
            let (_, to_mgr) = inner.stores.get(&to).ok_or_else(|| closed(to))?;
            copy_snapshot(&msg, from_mgr, to_mgr)?;
        }
        if !inner.stores.contains_key(&to) {
            return Err(closed(to));
        }
        let held_ms = inner
            .filters
            .iter()
            .filter_map(|f| f.delay(&msg))
            .max()
            .map_or(0, |d| d.as_millis() as u64);
        let cfg = inner.cfg;
        let due = {
            let mut world = self.world.lock().unwrap_or_else(|e| e.into_inner());
            if cfg.loss_per_mille > 0 && world.rng.below(1000) < cfg.loss_per_mille {
                None
            } else {
                let spread = cfg.max_delay_ms - cfg.min_delay_ms + 1;
                Some(world.now_ms + cfg.min_delay_ms + world.rng.below(spread) + held_ms)
            }
        };
        if let Some(due) = due {
            inner.queue.entry(due).or_default().push_back(msg);
            inner.in_flight += 1;
        }
        for f in &inner.filters {
            f.after();
        }
        Ok(())
    }
}
