//! The simulated network and the in-process stores (Go's node.go).

use std::collections::HashMap;
use std::io;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use kv::config::Config;
use kv::raftstore::message::{Callback, RaftRouter};
use kv::raftstore::node::Node;
use kv::raftstore::router::RaftstoreRouter;
use kv::raftstore::scheduler_client::SchedulerClient;
use kv::raftstore::snap::{SnapEntry, SnapKey, SnapManager};
use kv::raftstore::store::{create_raftstore, Transport};
use kv::raftstore::util::RaftstoreError;
use kv::util::engine_util::{DbSnapshot, Engines};
use proto::raft_cmdpb::{RaftCmdRequest, RaftCmdResponse};
use proto::raft_serverpb::RaftMessage;

use crate::filter::Filter;
use crate::outcome::{Outcome, Refusal, Uncertain};

/// How the cluster hosts its stores.
pub trait Simulator: Send + Sync {
    /// Starts a store over `engines` (a fresh or a restarted one).
    fn run_store(&self, cfg: Config, engines: Engines) -> kv::Result<()>;
    /// Stops a running store; panics if it is not running.
    fn stop_store(&self, store_id: u64);
    /// Adds a rule to the network.
    fn add_filter(&self, filter: Box<dyn Filter>);
    /// Removes every rule from the network.
    fn clear_filters(&self);
    /// The running stores, in id order.
    fn get_store_ids(&self) -> Vec<u64>;
    /// Sends `req` to the store's router and waits up to `timeout` for the
    /// answer; `None` if it was refused or timed out.
    fn call_command_on_store(
        &self,
        store_id: u64,
        req: RaftCmdRequest,
        timeout: Duration,
    ) -> Option<(RaftCmdResponse, Option<DbSnapshot>)>;
}

#[derive(Default)]
struct TransportInner {
    filters: Vec<Box<dyn Filter>>,
    routers: HashMap<u64, RaftstoreRouter>,
    snap_mgrs: HashMap<u64, SnapManager>,
    slow: Option<SlowLinks>,
}

/// Messages to or from `stores` arrive `by` late: a slow network path, not
/// a lossy one.
struct SlowLinks {
    stores: Vec<u64>,
    by: Duration,
}

impl SlowLinks {
    fn touches(&self, msg: &RaftMessage) -> bool {
        let store = |p: Option<proto::metapb::Peer>| p.map_or(0, |p| p.store_id);
        let (from, to) = (store(msg.from_peer), store(msg.to_peer));
        self.stores.iter().any(|&s| s == from || s == to)
    }
}

/// Holds late messages back until they are due, in the order they were
/// sent: a message never overtakes an earlier late one, so each arrives at
/// least as late as asked.
struct DelayLine {
    line: mpsc::Sender<(Instant, RaftstoreRouter, RaftMessage)>,
}

impl DelayLine {
    fn new() -> Self {
        let (line, held) = mpsc::channel::<(Instant, RaftstoreRouter, RaftMessage)>();
        // The thread ends when the transport, which owns the sender, goes.
        std::thread::Builder::new()
            .name("delay-line".into())
            .spawn(move || {
                for (due, router, msg) in held {
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    // A store stopped meanwhile drops it, as a closed link.
                    let _ = router.send_raft_message(msg);
                }
            })
            .expect("spawn the delay-line thread");
        DelayLine { line }
    }

    fn hold(&self, by: Duration, router: RaftstoreRouter, msg: RaftMessage) {
        let _ = self.line.send((Instant::now() + by, router, msg));
    }
}

/// Delivers raft messages between the stores of one process, through the
/// filters, copying snapshot files from sender to receiver.
#[derive(Default)]
pub struct MockTransport {
    inner: RwLock<TransportInner>,
    /// Started by the first late message.
    delay_line: OnceLock<DelayLine>,
}

impl MockTransport {
    /// Connects a started store: messages to it go to `router`, snapshots
    /// to and from it through `snap_mgr`.
    pub fn add_store(&self, store_id: u64, router: RaftstoreRouter, snap_mgr: SnapManager) {
        let mut inner = self.inner.write().unwrap();
        inner.routers.insert(store_id, router);
        inner.snap_mgrs.insert(store_id, snap_mgr);
    }

    /// Disconnects a store: messages to it are dropped.
    pub fn remove_store(&self, store_id: u64) {
        let mut inner = self.inner.write().unwrap();
        inner.routers.remove(&store_id);
        inner.snap_mgrs.remove(&store_id);
    }

    /// Adds a rule every message must pass.
    pub fn add_filter(&self, filter: Box<dyn Filter>) {
        self.inner.write().unwrap().filters.push(filter);
    }

    /// Removes every rule.
    pub fn clear_filters(&self) {
        self.inner.write().unwrap().filters.clear();
    }

    /// Delays every message to or from one of `stores` by `by` (all other
    /// links stay as they are); an empty `stores` makes every link fast
    /// again. Filters still apply, before the delay.
    pub fn set_slow_stores(&self, stores: Vec<u64>, by: Duration) {
        let slow = (!stores.is_empty()).then_some(SlowLinks { stores, by });
        self.inner.write().unwrap().slow = slow;
    }

    /// The router of a connected store.
    pub fn router(&self, store_id: u64) -> Option<RaftstoreRouter> {
        self.inner.read().unwrap().routers.get(&store_id).cloned()
    }
}

/// Copies the files of the snapshot `msg` carries from the sender's
/// snapshot manager to the receiver's, as a real transport streams them.
/// As in Go, a failed copy is no error: the message is still delivered, and
/// the receiver refuses a snapshot whose files are missing.
pub(crate) fn copy_snapshot(
    msg: &RaftMessage,
    from_mgr: &SnapManager,
    to_mgr: &SnapManager,
) -> kv::Result<()> {
    let Some(snapshot) = kv::raftstore::util::snapshot_of(msg) else {
        return Ok(());
    };
    let key = SnapKey::from_snap(snapshot)?;
    from_mgr.register(key, SnapEntry::Sending);
    to_mgr.register(key, SnapEntry::Receiving);
    let copied = (|| -> kv::Result<()> {
        let mut from_snap = from_mgr.get_snapshot_for_sending(&key)?;
        let mut to_snap = to_mgr.get_snapshot_for_receiving(&key, &snapshot.data)?;
        io::copy(&mut from_snap, &mut to_snap)?;
        to_snap.save()
    })();
    to_mgr.deregister(&key, SnapEntry::Receiving);
    from_mgr.deregister(&key, SnapEntry::Sending);
    if let Err(e) = copied {
        tracing::debug!(%key, %e, "snapshot copy failed");
    }
    Ok(())
}

pub(crate) fn closed(store_id: u64) -> kv::Error {
    kv::Error::Other(format!("store {} is closed", store_id))
}

impl Transport for MockTransport {
    fn send(&self, msg: RaftMessage) -> kv::Result<()> {
        let inner = self.inner.read().unwrap();
        for f in &inner.filters {
            if !f.before(&msg) {
                return Err(kv::Error::Other(format!(
                    "message {:?} is dropped",
                    msg.message.map(|m| m.msg_type())
                )));
            }
        }
        let from_store = msg.from_peer.map_or(0, |p| p.store_id);
        let to_store = msg.to_peer.map_or(0, |p| p.store_id);
        if kv::raftstore::util::snapshot_of(&msg).is_some() {
            let from_mgr = inner
                .snap_mgrs
                .get(&from_store)
                .ok_or_else(|| closed(from_store))?;
            let to_mgr = inner
                .snap_mgrs
                .get(&to_store)
                .ok_or_else(|| closed(to_store))?;
            copy_snapshot(&msg, from_mgr, to_mgr)?;
        }
        let router = inner
            .routers
            .get(&to_store)
            .ok_or_else(|| closed(to_store))?;
        let slow = inner
            .slow
            .as_ref()
            .filter(|s| s.touches(&msg))
            .map(|s| s.by);
        let late = inner.filters.iter().filter_map(|f| f.delay(&msg)).max();
        match late.max(slow) {
            Some(by) => self
                .delay_line
                .get_or_init(DelayLine::new)
                .hold(by, router.clone(), msg),
            None => router.send_raft_message(msg)?,
        }
        for f in &inner.filters {
            f.after();
        }
        Ok(())
    }
}

/// Runs each store in-process, over one [`MockTransport`].
pub struct NodeSimulator {
    trans: Arc<MockTransport>,
    scheduler_client: Arc<dyn SchedulerClient>,
    nodes: Mutex<HashMap<u64, Node>>,
}

impl NodeSimulator {
    /// No stores yet; each store started here talks to `scheduler_client`.
    pub fn new(scheduler_client: Arc<dyn SchedulerClient>) -> Self {
        NodeSimulator {
            trans: Arc::new(MockTransport::default()),
            scheduler_client,
            nodes: Mutex::new(HashMap::new()),
        }
    }

    /// The simulated network between the stores.
    pub fn transport(&self) -> &Arc<MockTransport> {
        &self.trans
    }

    /// The data directory of a running store.
    pub fn db_path(&self, store_id: u64) -> Option<String> {
        self.nodes
            .lock()
            .unwrap()
            .get(&store_id)
            .map(|n| n.get_db_path().to_string())
    }
}

impl NodeSimulator {
    /// Sends `req` to one store once and says what came of it (see
    /// [`Outcome`]): a stopped store, or a store without the region's
    /// peer, is a refusal rather than a panic or a timeout.
    pub fn try_call_command_on_store(
        &self,
        store_id: u64,
        req: RaftCmdRequest,
        timeout: Duration,
    ) -> Outcome {
        let Some(router) = self.trans.router(store_id) else {
            return Outcome::Refused(Refusal::StoreDown(store_id));
        };
        let (cb, rx) = Callback::new();
        match router.send_raft_command(req, cb) {
            Ok(()) => {}
            Err(RaftstoreError::RegionNotFound(region_id)) => {
                return Outcome::Refused(Refusal::NoPeer {
                    store_id,
                    region_id,
                })
            }
            // The raft worker is gone: the store is stopping.
            Err(_) => return Outcome::Refused(Refusal::StoreDown(store_id)),
        }
        match rx.wait_resp_with_timeout(timeout) {
            Some(r) => Outcome::of_answer(r.resp, r.snap),
            None => Outcome::Unknown(Uncertain::NoAnswer),
        }
    }
}

impl Simulator for NodeSimulator {
    fn run_store(&self, cfg: Config, engines: Engines) -> kv::Result<()> {
        let mut nodes = self.nodes.lock().unwrap();
        let (router, system) = create_raftstore();
        let snap_mgr = SnapManager::new(format!("{}/snap", cfg.db_path));
        let mut node = Node::new(system, Arc::new(cfg), self.scheduler_client.clone());
        node.start(engines, self.trans.clone(), snap_mgr.clone())?;
        let store_id = node.get_store_id();
        nodes.insert(store_id, node);
        self.trans.add_store(store_id, router, snap_mgr);
        Ok(())
    }

    fn stop_store(&self, store_id: u64) {
        let mut nodes = self.nodes.lock().unwrap();
        let mut node = nodes
            .remove(&store_id)
            .unwrap_or_else(|| panic!("can not find store {}", store_id));
        node.stop();
        self.trans.remove_store(store_id);
    }

    fn add_filter(&self, filter: Box<dyn Filter>) {
        self.trans.add_filter(filter);
    }

    fn clear_filters(&self) {
        self.trans.clear_filters();
    }

    fn get_store_ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.nodes.lock().unwrap().keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    fn call_command_on_store(
        &self,
        store_id: u64,
        req: RaftCmdRequest,
        timeout: Duration,
    ) -> Option<(RaftCmdResponse, Option<DbSnapshot>)> {
        // Go exits the process here; a panic fails the test just as well.
        // (A store caught stopping is only no answer, as in Go.)
        if self.trans.router(store_id).is_none() {
            panic!("can not find node {}", store_id);
        }
        self.try_call_command_on_store(store_id, req, timeout)
            .into_answer()
    }
}
