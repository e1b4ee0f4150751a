//! The mock scheduler the test cluster runs against (TinyKV's
//! `MockSchedulerClient`): stores, id allocation, a region table fed by
//! region heartbeats, and the operators (add peer, remove peer, transfer
//! leader) tests install and that reach the raftstore through heartbeat
//! answers.
//!
//! The heartbeat checks are strict on purpose: a region reported with a
//! conf_ver bump but more than one peer changed, or a version that skips,
//! panics — that is how the suites catch raftstore bugs.

pub mod service;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use kv::raftstore::scheduler_client::{
    RegionHeartbeatResponseHandler, Result, SchedulerClient, SchedulerError,
};
use kv::raftstore::util::is_epoch_stale;
use kv::util::engine_util::exceed_end_key;
use proto::eraftpb::ConfChangeType;
use proto::metapb::{Peer, Region, Store};
use proto::schedulerpb::{
    self, AskSplitResponse, BootstrapResponse, ChangePeer, ErrorType, RegionHeartbeatRequest,
    RegionHeartbeatResponse, ResponseHeader, StoreStats, TransferLeader,
};
use raft::Rng;

/// A scheduling step for one region, finished when heartbeats show it done.
#[derive(Debug, Clone)]
pub enum Operator {
    /// `pending` becomes true once the peer shows up in the region; the
    /// operator finishes when the peer is no longer reported pending.
    AddPeer {
        peer: Peer,
        pending: bool,
    },
    RemovePeer {
        peer: Peer,
    },
    TransferLeader {
        peer: Peer,
    },
}

type Handler = Arc<dyn Fn(RegionHeartbeatResponse) + Send + Sync>;

struct StoreEntry {
    store: Store,
    handler: Option<Handler>,
}

struct Inner {
    cluster_id: u64,
    stores: HashMap<u64, StoreEntry>,
    /// Regions by start key (copies of what heartbeats reported).
    regions_range: BTreeMap<Vec<u8>, Region>,
    /// Region id → start key.
    regions_key: HashMap<u64, Vec<u8>>,
    base_id: u64,
    operators: HashMap<u64, Operator>,
    /// Region id → the leader its last heartbeat named.
    leaders: HashMap<u64, Peer>,
    /// Peer id → peer, for peers reported as lagging.
    pending_peers: HashMap<u64, Peer>,
    bootstrapped: bool,
    rng: Rng,
}

pub struct MockSchedulerClient {
    inner: Mutex<Inner>,
    tso: Tso,
}

/// Bits of a timestamp below its physical part (milliseconds), as in
/// TinyKV's TSO; `kv::transaction::mvcc::PHYSICAL_SHIFT_BITS` reads them.
pub const TSO_LOGICAL_BITS: u32 = 18;

/// The timestamp oracle: strictly increasing timestamps whose high bits are
/// the wall clock in milliseconds, so that lock TTLs (milliseconds) can be
/// compared with them. One oracle serves every client of a scheduler.
#[derive(Default)]
pub struct Tso {
    last: AtomicU64,
}

impl Tso {
    /// Reserves `count` (at least 1) timestamps and returns the last: the
    /// clock's, or the previous one plus `count` if the clock lags.
    pub fn next(&self, count: u64) -> u64 {
        let count = count.max(1);
        let now = || {
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            ms << TSO_LOGICAL_BITS
        };
        let mut prev = self.last.load(Ordering::SeqCst);
        loop {
            let ts = now().max(prev + count);
            match self
                .last
                .compare_exchange(prev, ts, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return ts,
                Err(actual) => prev = actual,
            }
        }
    }
}

fn contains(region: &Region, key: &[u8]) -> bool {
    key >= region.start_key.as_slice()
        && (region.end_key.is_empty() || key < region.end_key.as_slice())
}

fn epoch(r: &Region) -> proto::metapb::RegionEpoch {
    r.region_epoch.unwrap_or_default()
}

impl Inner {
    fn check_bootstrap(&self) -> Result<()> {
        if self.bootstrapped {
            Ok(())
        } else {
            Err(SchedulerError::NotBootstrapped)
        }
    }

    fn alloc_id(&mut self) -> u64 {
        let id = self.base_id;
        self.base_id += 1;
        id
    }

    fn find_region(&self, key: &[u8]) -> Option<&Region> {
        let (_, r) = self.regions_range.range(..=key.to_vec()).next_back()?;
        contains(r, key).then_some(r)
    }

    fn get_region(&self, key: &[u8]) -> (Option<Region>, Option<Peer>) {
        match self.find_region(key) {
            Some(r) => (Some(r.clone()), self.leaders.get(&r.id).copied()),
            None => (None, None),
        }
    }

    /// Go looks the start key up and falls back to "" for an unknown id, so
    /// an unknown region id yields the first region; tests rely on nothing
    /// else, and we keep the quirk.
    fn get_region_by_id(&self, region_id: u64) -> (Option<Region>, Option<Peer>) {
        let key = self
            .regions_key
            .get(&region_id)
            .cloned()
            .unwrap_or_default();
        self.get_region(&key)
    }

    fn add_region(&mut self, region: &Region) {
        self.regions_key.insert(region.id, region.start_key.clone());
        self.regions_range
            .insert(region.start_key.clone(), region.clone());
    }

    fn remove_region(&mut self, region: &Region) {
        self.regions_key.remove(&region.id);
        if self
            .find_region(&region.start_key)
            .is_some_and(|r| r.id == region.id)
        {
            self.regions_range.remove(&region.start_key);
        }
    }

    /// Fits a reported region into the range table: newer versions replace
    /// the regions they overlap; older ones are refused.
    fn handle_heartbeat_version(&mut self, region: &Region) -> Result<()> {
        if exceed_end_key(&region.start_key, &region.end_key) {
            panic!("start key > end key");
        }
        loop {
            let Some(search) = self.find_region(&region.start_key).cloned() else {
                self.add_region(region);
                return Ok(());
            };
            if search.start_key == region.start_key && search.end_key == region.end_key {
                if is_epoch_stale(&epoch(region), &epoch(&search)) {
                    return Err(SchedulerError::StaleEpoch);
                }
                if epoch(&search).version < epoch(region).version {
                    self.remove_region(&search);
                    self.add_region(region);
                }
                return Ok(());
            }
            if exceed_end_key(&search.start_key, &region.end_key) {
                self.add_region(region);
                return Ok(());
            }
            if epoch(region).version <= epoch(&search).version {
                return Err(SchedulerError::StaleEpoch);
            }
            self.remove_region(&search);
        }
    }

    /// Checks that a conf_ver bump changed exactly one peer (or, with the
    /// same peers, came with a version bump), and records the region.
    fn handle_heartbeat_conf_version(&mut self, region: &Region) -> Result<()> {
        let search = self
            .find_region(&region.start_key)
            .cloned()
            .expect("region just recorded");
        if is_epoch_stale(&epoch(region), &epoch(&search)) {
            return Err(SchedulerError::StaleEpoch);
        }
        let (n, old_n) = (region.peers.len(), search.peers.len());
        if epoch(region).conf_ver > epoch(&search).conf_ver {
            if old_n > n {
                assert!(old_n - n == 1, "should only one conf change");
                assert!(
                    get_diff_peers(&search, region).len() == 1,
                    "should only one different peer"
                );
                assert!(
                    get_diff_peers(region, &search).is_empty(),
                    "should include all peers"
                );
            } else if old_n < n {
                assert!(n - old_n == 1, "should only one conf change");
                assert!(
                    get_diff_peers(region, &search).len() == 1,
                    "should only one different peer"
                );
                assert!(
                    get_diff_peers(&search, region).is_empty(),
                    "should include all peers"
                );
            } else {
                must_same_peers(&search, region);
                assert!(
                    epoch(&search).conf_ver + 1 == epoch(region).conf_ver,
                    "unmatched conf version"
                );
                assert!(
                    epoch(&search).version + 1 == epoch(region).version,
                    "unmatched version"
                );
            }
            let replaced = self
                .regions_range
                .insert(region.start_key.clone(), region.clone());
            assert!(replaced.is_some(), "update inexistent region");
        } else {
            must_same_peers(&search, region);
        }
        Ok(())
    }

    fn try_finished(&mut self, region_id: u64, region: &Region, leader: &Peer) -> bool {
        let pending_peers = &self.pending_peers;
        let Some(op) = self.operators.get_mut(&region_id) else {
            return false;
        };
        match op {
            Operator::AddPeer { peer, pending } => {
                if !*pending {
                    if region.peers.iter().any(|p| p.id == peer.id) {
                        *pending = true;
                    }
                    false
                } else {
                    !pending_peers.contains_key(&peer.id)
                }
            }
            Operator::RemovePeer { peer } => !region.peers.iter().any(|p| p.id == peer.id),
            Operator::TransferLeader { peer } => leader.id == peer.id,
        }
    }
}

fn make_region_heartbeat_response(op: &Operator, resp: &mut RegionHeartbeatResponse) {
    match op {
        Operator::AddPeer { peer, pending } => {
            if !*pending {
                resp.change_peer = Some(ChangePeer {
                    peer: Some(*peer),
                    change_type: ConfChangeType::AddNode as i32,
                });
            }
        }
        Operator::RemovePeer { peer } => {
            resp.change_peer = Some(ChangePeer {
                peer: Some(*peer),
                change_type: ConfChangeType::RemoveNode as i32,
            });
        }
        Operator::TransferLeader { peer } => {
            resp.transfer_leader = Some(TransferLeader { peer: Some(*peer) });
        }
    }
}

impl MockSchedulerClient {
    pub fn new(cluster_id: u64, base_id: u64) -> Self {
        MockSchedulerClient {
            inner: Mutex::new(Inner {
                cluster_id,
                stores: HashMap::new(),
                regions_range: BTreeMap::new(),
                regions_key: HashMap::new(),
                base_id,
                operators: HashMap::new(),
                leaders: HashMap::new(),
                pending_peers: HashMap::new(),
                bootstrapped: false,
                rng: Rng::new(0x2545_F491_4F6C_DD1D ^ base_id),
            }),
            tso: Tso::default(),
        }
    }

    /// A fresh timestamp from the scheduler's oracle (the in-process face
    /// of the `Tso` RPC).
    pub fn get_timestamp(&self) -> u64 {
        self.tso.next(1)
    }

    /// The oracle itself, for a gRPC service over this scheduler.
    pub fn tso(&self) -> &Tso {
        &self.tso
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether an operator is pending for the region.
    pub fn has_operator(&self, region_id: u64) -> bool {
        self.lock().operators.contains_key(&region_id)
    }

    /// Every store registered so far.
    pub fn all_stores(&self) -> Vec<Store> {
        let mut stores: Vec<Store> = self
            .lock()
            .stores
            .values()
            .map(|s| s.store.clone())
            .collect();
        stores.sort_by_key(|s| s.id);
        stores
    }

    /// Installs (replacing any) operator adding `peer` to the region.
    pub fn add_peer(&self, region_id: u64, peer: Peer) {
        self.schedule_operator(
            region_id,
            Operator::AddPeer {
                peer,
                pending: false,
            },
        );
    }

    pub fn remove_peer(&self, region_id: u64, peer: Peer) {
        self.schedule_operator(region_id, Operator::RemovePeer { peer });
    }

    pub fn transfer_leader(&self, region_id: u64, peer: Peer) {
        self.schedule_operator(region_id, Operator::TransferLeader { peer });
    }

    fn schedule_operator(&self, region_id: u64, op: Operator) {
        self.lock().operators.insert(region_id, op);
    }

    /// Seeds the random choices (`get_random_region`), so that a test's
    /// seed replays them.
    pub fn set_seed(&self, seed: u64) {
        self.lock().rng = Rng::new(seed);
    }

    /// A region with a known leader, picked at random (Go picks the first
    /// of a map iteration).
    pub fn get_random_region(&self) -> Option<Region> {
        let mut inner = self.lock();
        let mut ids: Vec<u64> = inner.leaders.keys().copied().collect();
        if ids.is_empty() {
            return None;
        }
        ids.sort_unstable();
        let id = ids[inner.rng.below(ids.len() as u64) as usize];
        inner.get_region_by_id(id).0
    }

    /// Every region the scheduler knows, in key order, with the leader its
    /// last heartbeat named.
    pub fn regions(&self) -> Vec<(Region, Option<Peer>)> {
        let inner = self.lock();
        inner
            .regions_range
            .values()
            .map(|r| (r.clone(), inner.leaders.get(&r.id).copied()))
            .collect()
    }
}

impl SchedulerClient for MockSchedulerClient {
    fn get_cluster_id(&self) -> u64 {
        self.lock().cluster_id
    }

    fn alloc_id(&self) -> Result<u64> {
        Ok(self.lock().alloc_id())
    }

    fn bootstrap(&self, store: Store) -> Result<BootstrapResponse> {
        let mut inner = self.lock();
        let mut resp = BootstrapResponse {
            header: Some(ResponseHeader {
                cluster_id: inner.cluster_id,
                error: None,
            }),
        };
        if inner.bootstrapped || !inner.regions_key.is_empty() {
            inner.bootstrapped = true;
            resp.header.as_mut().unwrap().error = Some(schedulerpb::Error {
                r#type: ErrorType::AlreadyBootstrapped as i32,
                message: "cluster is already bootstrapped".into(),
            });
            return Ok(resp);
        }
        inner.stores.insert(
            store.id,
            StoreEntry {
                store,
                handler: None,
            },
        );
        inner.bootstrapped = true;
        Ok(resp)
    }

    fn is_bootstrapped(&self) -> Result<bool> {
        Ok(self.lock().bootstrapped)
    }

    /// (Re)records a store; its heartbeat handler is reset, as in Go.
    fn put_store(&self, store: Store) -> Result<()> {
        let mut inner = self.lock();
        inner.check_bootstrap()?;
        inner.stores.insert(
            store.id,
            StoreEntry {
                store,
                handler: None,
            },
        );
        Ok(())
    }

    fn get_store(&self, store_id: u64) -> Result<Store> {
        let inner = self.lock();
        inner.check_bootstrap()?;
        inner
            .stores
            .get(&store_id)
            .map(|s| s.store.clone())
            .ok_or(SchedulerError::StoreNotFound(store_id))
    }

    fn get_region(&self, key: &[u8]) -> Result<(Option<Region>, Option<Peer>)> {
        let inner = self.lock();
        inner.check_bootstrap()?;
        Ok(inner.get_region(key))
    }

    fn get_region_by_id(&self, region_id: u64) -> Result<(Option<Region>, Option<Peer>)> {
        let inner = self.lock();
        inner.check_bootstrap()?;
        Ok(inner.get_region_by_id(region_id))
    }

    fn ask_split(&self, region: &Region) -> Result<AskSplitResponse> {
        let mut inner = self.lock();
        inner.check_bootstrap()?;
        let mut resp = AskSplitResponse {
            header: Some(ResponseHeader {
                cluster_id: inner.cluster_id,
                error: None,
            }),
            ..Default::default()
        };
        let (current, _) = inner.get_region_by_id(region.id);
        let current = match current {
            Some(c) if c.id == region.id => c,
            _ => return Err(SchedulerError::RegionNotFound(region.id)),
        };
        if is_epoch_stale(&epoch(region), &epoch(&current)) {
            return Err(SchedulerError::StaleEpoch);
        }
        resp.new_region_id = inner.alloc_id();
        for _ in &region.peers {
            let id = inner.alloc_id();
            resp.new_peer_ids.push(id);
        }
        Ok(resp)
    }

    fn store_heartbeat(&self, _stats: StoreStats) -> Result<()> {
        self.lock().check_bootstrap()
    }

    /// Records the region, its leader and its pending peers, and answers
    /// the leader's store with the region's operator step, if any. A stale
    /// report is refused without an answer (its leader is recorded all the
    /// same, as in Go).
    fn region_heartbeat(&self, req: RegionHeartbeatRequest) -> Result<()> {
        let (handler, resp) = {
            let mut inner = self.lock();
            inner.check_bootstrap()?;
            let region = req.region.clone().unwrap_or_default();
            let leader = req.leader.unwrap_or_default();
            let region_id = region.id;
            for p in &region.peers {
                inner.pending_peers.remove(&p.id);
            }
            for p in &req.pending_peers {
                inner.pending_peers.insert(p.id, *p);
            }
            inner.leaders.insert(region_id, leader);
            inner.handle_heartbeat_version(&region)?;
            inner.handle_heartbeat_conf_version(&region)?;
            let mut resp = RegionHeartbeatResponse {
                header: Some(ResponseHeader {
                    cluster_id: inner.cluster_id,
                    error: None,
                }),
                region_id,
                region_epoch: region.region_epoch,
                target_peer: Some(leader),
                ..Default::default()
            };
            if inner.operators.contains_key(&region_id) {
                if inner.try_finished(region_id, &region, &leader) {
                    inner.operators.remove(&region_id);
                } else {
                    make_region_heartbeat_response(&inner.operators[&region_id], &mut resp);
                }
            }
            let handler = inner
                .stores
                .get(&leader.store_id)
                .and_then(|s| s.handler.clone());
            (handler, resp)
        };
        // Called outside the lock; each store's heartbeats come from one
        // worker thread, so their answers keep their order.
        if let Some(h) = handler {
            h(resp);
        }
        Ok(())
    }

    fn set_region_heartbeat_response_handler(
        &self,
        store_id: u64,
        handler: RegionHeartbeatResponseHandler,
    ) {
        let mut inner = self.lock();
        if let Some(s) = inner.stores.get_mut(&store_id) {
            s.handler = Some(Arc::from(handler));
        }
    }

    fn close(&self) {}
}

/// Panics unless both regions have peers on the same stores.
pub fn must_same_peers(left: &Region, right: &Region) {
    assert!(
        left.peers.len() == right.peers.len(),
        "unmatched peers length"
    );
    for p in &left.peers {
        assert!(find_peer(right, p.store_id).is_some(), "not found the peer");
    }
}

/// Peers of `left` whose store has no peer in `right`.
pub fn get_diff_peers(left: &Region, right: &Region) -> Vec<Peer> {
    left.peers
        .iter()
        .filter(|p| find_peer(right, p.store_id).is_none())
        .copied()
        .collect()
}

pub fn find_peer(region: &Region, store_id: u64) -> Option<&Peer> {
    region.peers.iter().find(|p| p.store_id == store_id)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use proto::metapb::RegionEpoch;

    use super::*;

    fn region(
        id: u64,
        start: &[u8],
        end: &[u8],
        conf_ver: u64,
        version: u64,
        stores: &[(u64, u64)],
    ) -> Region {
        Region {
            id,
            start_key: start.to_vec(),
            end_key: end.to_vec(),
            region_epoch: Some(RegionEpoch { conf_ver, version }),
            peers: stores
                .iter()
                .map(|&(id, store_id)| Peer { id, store_id })
                .collect(),
        }
    }

    fn hb(r: &Region, leader: Peer) -> RegionHeartbeatRequest {
        RegionHeartbeatRequest {
            region: Some(r.clone()),
            leader: Some(leader),
            ..Default::default()
        }
    }

    fn bootstrapped() -> MockSchedulerClient {
        let m = MockSchedulerClient::new(0, 6);
        let s1 = Store {
            id: 1,
            ..Default::default()
        };
        assert!(m
            .bootstrap(s1.clone())
            .unwrap()
            .header
            .unwrap()
            .error
            .is_none());
        for id in 1..=3 {
            m.put_store(Store {
                id,
                ..Default::default()
            })
            .unwrap();
        }
        m
    }

    #[test]
    fn bootstrap_and_alloc_id() {
        let m = MockSchedulerClient::new(0, 6);
        assert!(!m.is_bootstrapped().unwrap());
        assert!(m.put_store(Store::default()).is_err());
        m.bootstrap(Store {
            id: 1,
            ..Default::default()
        })
        .unwrap();
        assert!(m.is_bootstrapped().unwrap());
        let again = m
            .bootstrap(Store {
                id: 1,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            again.header.unwrap().error.unwrap().r#type(),
            ErrorType::AlreadyBootstrapped
        );
        assert_eq!(6, m.alloc_id().unwrap());
        assert_eq!(7, m.alloc_id().unwrap());
    }

    #[test]
    fn heartbeat_records_regions_and_splits() {
        let m = bootstrapped();
        let r1 = region(1, b"", b"", 1, 1, &[(1, 1), (2, 2)]);
        m.region_heartbeat(hb(&r1, Peer { id: 1, store_id: 1 }))
            .unwrap();
        assert_eq!(m.get_region(b"x").unwrap().0.unwrap().id, 1);
        // A split: left keeps id 1 with version 2, right is new.
        let left = region(1, b"", b"m", 1, 2, &[(1, 1), (2, 2)]);
        let right = region(10, b"m", b"", 1, 2, &[(11, 1), (12, 2)]);
        m.region_heartbeat(hb(
            &right,
            Peer {
                id: 11,
                store_id: 1,
            },
        ))
        .unwrap();
        m.region_heartbeat(hb(&left, Peer { id: 1, store_id: 1 }))
            .unwrap();
        assert_eq!(m.get_region(b"a").unwrap().0.unwrap().id, 1);
        assert_eq!(m.get_region(b"z").unwrap().0.unwrap().id, 10);
        // The old, unsplit region is now stale.
        assert_eq!(
            m.region_heartbeat(hb(&r1, Peer { id: 1, store_id: 1 })),
            Err(SchedulerError::StaleEpoch)
        );
        // Unknown ids fall back to the first region, as in Go.
        assert_eq!(m.get_region_by_id(999).unwrap().0.unwrap().id, 1);
    }

    #[test]
    #[should_panic(expected = "should only one conf change")]
    fn two_peers_added_in_one_step_panics() {
        let m = bootstrapped();
        m.region_heartbeat(hb(
            &region(1, b"", b"", 1, 1, &[(1, 1)]),
            Peer { id: 1, store_id: 1 },
        ))
        .unwrap();
        let grown = region(1, b"", b"", 2, 1, &[(1, 1), (2, 2), (3, 3)]);
        let _ = m.region_heartbeat(hb(&grown, Peer { id: 1, store_id: 1 }));
    }

    #[test]
    fn add_and_remove_peer_operators() {
        let m = bootstrapped();
        let answers = Arc::new(StdMutex::new(Vec::new()));
        let a = answers.clone();
        m.set_region_heartbeat_response_handler(1, Box::new(move |r| a.lock().unwrap().push(r)));
        let leader = Peer { id: 1, store_id: 1 };
        let r = region(1, b"", b"", 1, 1, &[(1, 1)]);
        m.region_heartbeat(hb(&r, leader)).unwrap();
        m.add_peer(1, Peer { id: 2, store_id: 2 });
        m.region_heartbeat(hb(&r, leader)).unwrap();
        let last = answers.lock().unwrap().last().cloned().unwrap();
        assert_eq!(
            last.change_peer.unwrap().change_type(),
            ConfChangeType::AddNode
        );
        // The peer appears but lags: pending, no more commands.
        let grown = region(1, b"", b"", 2, 1, &[(1, 1), (2, 2)]);
        let mut req = hb(&grown, leader);
        req.pending_peers = vec![Peer { id: 2, store_id: 2 }];
        m.region_heartbeat(req).unwrap();
        assert!(answers
            .lock()
            .unwrap()
            .last()
            .unwrap()
            .change_peer
            .is_none());
        // Caught up: the operator finishes.
        m.region_heartbeat(hb(&grown, leader)).unwrap();
        assert!(m.lock().operators.is_empty());

        m.remove_peer(1, Peer { id: 2, store_id: 2 });
        m.region_heartbeat(hb(&grown, leader)).unwrap();
        let last = answers.lock().unwrap().last().cloned().unwrap();
        assert_eq!(
            last.change_peer.unwrap().change_type(),
            ConfChangeType::RemoveNode
        );
        let shrunk = region(1, b"", b"", 3, 1, &[(1, 1)]);
        m.region_heartbeat(hb(&shrunk, leader)).unwrap();
        assert!(m.lock().operators.is_empty());
    }

    #[test]
    fn ask_split_allocates_ids_per_peer() {
        let m = bootstrapped();
        let r = region(1, b"", b"", 1, 1, &[(1, 1), (2, 2), (3, 3)]);
        m.region_heartbeat(hb(&r, Peer { id: 1, store_id: 1 }))
            .unwrap();
        let resp = m.ask_split(&r).unwrap();
        assert_eq!(resp.new_region_id, 6);
        assert_eq!(resp.new_peer_ids, vec![7, 8, 9]);
        let stale = region(1, b"", b"", 0, 1, &[(1, 1)]);
        assert_eq!(m.ask_split(&stale), Err(SchedulerError::StaleEpoch));
        assert_eq!(
            m.ask_split(&region(42, b"", b"", 1, 1, &[])),
            Err(SchedulerError::RegionNotFound(42))
        );
    }
}
