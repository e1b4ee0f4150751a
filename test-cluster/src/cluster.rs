//! The test cluster (Go's cluster.go): N stores bootstrapped with one
//! region, clients routed by the scheduler's view, and the `must_*`
//! helpers the suites are written with.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kv::config::Config;
use kv::raftstore::bootstrap::{
    bootstrap_store, clear_prepare_bootstrap_state, prepare_bootstrap_cluster, INIT_EPOCH_CONF_VER,
    INIT_EPOCH_VER,
};
use kv::raftstore::router::RaftstoreRouter;
use kv::raftstore::scheduler_client::SchedulerClient;
use kv::util::engine_util::{exceed_end_key, DbSnapshot, Engines, CF_DEFAULT};
use lincheck::RawPairs;
use proto::metapb::{Peer, Region, RegionEpoch, Store};
use proto::raft_cmdpb::{AdminCmdType, CmdType, RaftCmdRequest, RaftCmdResponse, Request};
use scheduler_mock::{find_peer, MockSchedulerClient};

use crate::filter::Filter;
use crate::node::{NodeSimulator, Simulator};
use crate::rng::Rng;
use crate::utils::*;

/// A cluster of in-process stores over one simulated network and the
/// mock scheduler (Go's `Cluster`). Start it with [`Cluster::start`]; it
/// shuts down (stores stopped, directories removed) when dropped.
pub struct Cluster {
    /// The mock scheduler every store heartbeats to; operators (add or
    /// remove a peer, transfer a leader) are scheduled through it.
    pub scheduler_client: Arc<MockSchedulerClient>,
    /// How many stores the cluster has (ids 1..=count).
    pub count: usize,
    engines: BTreeMap<u64, Engines>,
    /// Each store's data directory (with `kv`, `raft` and `snap` inside).
    pub db_paths: HashMap<u64, String>,
    dirs: Vec<PathBuf>,
    /// How the stores are hosted, and the network between them.
    pub simulator: Arc<NodeSimulator>,
    /// The configuration every store starts with.
    pub cfg: Config,
    rng: Mutex<Rng>,
    shut_down: Mutex<bool>,
}

impl Cluster {
    /// A cluster of `count` stores, not started; see [`new_test_cluster`]
    /// for the usual way to make one.
    pub fn new(
        count: usize,
        scheduler_client: Arc<MockSchedulerClient>,
        simulator: Arc<NodeSimulator>,
        cfg: Config,
    ) -> Self {
        crate::panics::watch();
        Cluster {
            scheduler_client,
            count,
            engines: BTreeMap::new(),
            db_paths: HashMap::new(),
            dirs: Vec::new(),
            simulator,
            cfg,
            // The cluster's own choices replay with the test's seed.
            rng: Mutex::new(Rng::new(crate::rng::test_seed() ^ 0x9E37_79B9_7F4A_7C15)),
            shut_down: Mutex::new(false),
        }
    }

    /// The engines of a store (shared with the running store, if any).
    pub fn engines(&self, store_id: u64) -> &Engines {
        &self.engines[&store_id]
    }

    fn rand(&self) -> u64 {
        self.rng.lock().unwrap().next_u64()
    }

    pub(crate) fn rand_below(&self, n: u64) -> u64 {
        self.rng.lock().unwrap().below(n)
    }

    /// The router of a running store: where its peers take messages and
    /// commands (`None` if the store is stopped).
    pub fn router(&self, store_id: u64) -> Option<RaftstoreRouter> {
        self.simulator.transport().router(store_id)
    }

    /// Creates the stores' engines, bootstraps every store with region 1
    /// (one peer per store, peer id = store id) and starts them all.
    pub fn start(&mut self) {
        for store_id in 1..=self.count as u64 {
            let nonce = self.rand() % 1_000_000_000;
            let (dir, engines) = open_store_dir(&std::env::temp_dir(), store_id, nonce, &self.cfg);
            self.db_paths
                .insert(store_id, dir.to_string_lossy().into_owned());
            self.dirs.push(dir);
            self.engines.insert(store_id, engines);
        }
        bootstrap_stores(&self.scheduler_client, &self.engines);
        let ids: Vec<u64> = self.engines.keys().copied().collect();
        for store_id in ids {
            self.start_server(store_id);
        }
    }

    /// Stops every store and removes the data directories.
    pub fn shutdown(&self) {
        // A store thread that died after the test's last wait still fails
        // the test (as a panicking goroutine ends a Go test wherever it is);
        // checked before stopping the stores, whose own shutdown is no news.
        // If this panics, dropping the cluster calls here again to clean up.
        crate::panics::check();
        let mut done = self.shut_down.lock().unwrap();
        if *done {
            return;
        }
        *done = true;
        for store_id in self.simulator.get_store_ids() {
            self.simulator.stop_store(store_id);
        }
        for dir in &self.dirs {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// Adds a rule to the network (see [`crate::filter`]).
    pub fn add_filter(&self, filter: Box<dyn Filter>) {
        self.simulator.add_filter(filter);
    }

    /// Removes every rule from the network: all links deliver again.
    pub fn clear_filters(&self) {
        self.simulator.clear_filters();
    }

    /// Stops a store (its threads end; its data stays on disk).
    pub fn stop_server(&self, store_id: u64) {
        self.simulator.stop_store(store_id);
    }

    /// Starts the store again over its engines (a restart, not a fresh disk).
    pub fn start_server(&self, store_id: u64) {
        let mut cfg = self.cfg.clone();
        cfg.db_path = self.db_paths[&store_id].clone();
        let engines = self.engines[&store_id].clone();
        self.simulator
            .run_store(cfg, engines)
            .unwrap_or_else(|e| panic!("start store {}: {}", store_id, e));
    }

    /// A new peer on `store_id` with an id from the scheduler.
    pub fn alloc_peer(&self, store_id: u64) -> Peer {
        let id = self.scheduler_client.alloc_id().expect("alloc id");
        new_peer(store_id, id)
    }

    /// Sends `reqs` for `key`'s region to its leader, retrying (at least 10
    /// times, and until `timeout`) while the answer is missing or an error.
    pub fn request(
        &self,
        key: &[u8],
        reqs: Vec<Request>,
        timeout: Duration,
    ) -> (RaftCmdResponse, Option<DbSnapshot>) {
        self.request_via(key, reqs, timeout, &mut |req| {
            self.call_command(req, Duration::from_secs(1))
        })
    }

    /// [`request`](Self::request), each attempt made by `attempt`.
    pub(crate) fn request_via(
        &self,
        key: &[u8],
        reqs: Vec<Request>,
        timeout: Duration,
        attempt: &mut AttemptFn<'_>,
    ) -> (RaftCmdResponse, Option<DbSnapshot>) {
        let start = Instant::now();
        let mut i = 0;
        while i < 10 || start.elapsed() < timeout {
            i += 1;
            let region = self.get_region(key);
            let req = new_request(region.id, region.region_epoch, reqs.clone());
            match self.call_command_on_leader_via(req, timeout, attempt) {
                Some((resp, snap)) if resp.header.as_ref().is_none_or(|h| h.error.is_none()) => {
                    return (resp, snap)
                }
                _ => sleep_ms(100),
            }
        }
        // What each store has on disk says whether the region was electing,
        // stuck behind a conf change, or never heard of.
        let state = match self.scheduler_client.get_region(key) {
            Ok((Some(r), _)) => self.describe_region(r.id),
            _ => String::from("(the scheduler knows no region for the key)\n"),
        };
        panic!(
            "request timeout: key {} after {:?}\n{}",
            hex(key),
            start.elapsed(),
            state
        );
    }

    /// Sends `req` to the store its header's peer is on, once; the
    /// answer, or `None` on timeout or a missing peer. Panics if that store
    /// is stopped, as Go's harness exits.
    pub fn call_command(
        &self,
        req: RaftCmdRequest,
        timeout: Duration,
    ) -> Option<(RaftCmdResponse, Option<DbSnapshot>)> {
        let store_id = target_store(&req);
        self.simulator.call_command_on_store(store_id, req, timeout)
    }

    /// Sends `req` to the region's leader as the scheduler knows it,
    /// following NotLeader hints and retrying retryable errors until
    /// `timeout`; `None` on timeout.
    pub fn call_command_on_leader(
        &self,
        req: RaftCmdRequest,
        timeout: Duration,
    ) -> Option<(RaftCmdResponse, Option<DbSnapshot>)> {
        self.call_command_on_leader_via(req, timeout, &mut |req| {
            self.call_command(req, Duration::from_secs(1))
        })
    }

    /// [`call_command_on_leader`](Self::call_command_on_leader), each
    /// attempt made by `attempt` (which sends to the header's peer).
    pub(crate) fn call_command_on_leader_via(
        &self,
        mut req: RaftCmdRequest,
        timeout: Duration,
        attempt: &mut AttemptFn<'_>,
    ) -> Option<(RaftCmdResponse, Option<DbSnapshot>)> {
        let start = Instant::now();
        let region_id = req.header.as_ref().map_or(0, |h| h.region_id);
        let mut leader = self.leader_of_region(region_id);
        loop {
            // A dead store thread, not this loop's timeout, is the news.
            crate::panics::check();
            if start.elapsed() > timeout {
                return None;
            }
            let l = leader.unwrap_or_else(|| panic!("can't get leader of region {}", region_id));
            req.header.get_or_insert_with(Default::default).peer = Some(l);
            let Some((resp, snap)) = attempt(req.clone()) else {
                let new_leader = self.leader_of_region(region_id);
                if new_leader == leader {
                    let Ok((Some(region), _)) = self.scheduler_client.get_region_by_id(region_id)
                    else {
                        return None;
                    };
                    if region.peers.is_empty() {
                        return None;
                    }
                    let idx = (self.rand() % region.peers.len() as u64) as usize;
                    leader = Some(region.peers[idx]);
                } else {
                    leader = new_leader;
                }
                continue;
            };
            if let Some(hint) = leader_retry(&resp) {
                leader = hint.or_else(|| self.leader_of_region(region_id));
                continue;
            }
            return Some((resp, snap));
        }
    }

    /// The region's leader per the scheduler, waiting up to ~5 s for one.
    pub fn leader_of_region(&self, region_id: u64) -> Option<Peer> {
        wait_until(500, 10, || {
            self.scheduler_client
                .get_region_by_id(region_id)
                .ok()
                .and_then(|(_, leader)| leader)
        })
    }

    /// The region holding `key` per the scheduler, waiting up to ~2 s.
    pub fn get_region(&self, key: &[u8]) -> Region {
        // A store that died is why a test would find the region wrong.
        crate::panics::check();
        // A gap in the scheduler's map is normal right after a split.
        let found = wait_until(100, 20, || {
            self.scheduler_client
                .get_region(key)
                .ok()
                .and_then(|(r, _)| r)
        });
        if let Some(region) = found {
            return region;
        }
        let last = self.scheduler_client.get_region(key);
        let known: Vec<String> = self
            .scheduler_client
            .regions()
            .iter()
            .map(|(r, leader)| {
                format!(
                    "{}:[{}, {}) v{} leader {:?}",
                    r.id,
                    hex(&r.start_key),
                    hex(&r.end_key),
                    r.region_epoch.unwrap_or_default().version,
                    leader.map(|l| l.store_id)
                )
            })
            .collect();
        // What the stores hold for the key says whether its region had no
        // leader (no election won) or a leader the scheduler never heard.
        let mut on_disk: Vec<u64> = (1..=self.count as u64)
            .flat_map(|store| self.store_regions(store))
            .filter(|r| kv::raftstore::util::check_key_in_region(key, r).is_ok())
            .map(|r| r.id)
            .collect();
        on_disk.sort_unstable();
        on_disk.dedup();
        let stores: String = on_disk.iter().map(|id| self.describe_region(*id)).collect();
        panic!(
            "find no region for {}: the scheduler answers {:?}; it knows {}\n{}",
            hex(key),
            last.map(|(r, _)| r.map(|r| r.id)),
            if known.is_empty() {
                "no region".to_string()
            } else {
                known.join(" ")
            },
            stores
        );
    }

    /// A region with a known leader, chosen at random.
    pub fn get_random_region(&self) -> Option<Region> {
        self.scheduler_client.get_random_region()
    }

    /// The stores holding a peer of the region, per the scheduler.
    pub fn get_store_ids_of_region(&self, region_id: u64) -> Vec<u64> {
        let (region, _) = self
            .scheduler_client
            .get_region_by_id(region_id)
            .expect("get region by id");
        region
            .map(|r| r.peers.iter().map(|p| p.store_id).collect())
            .unwrap_or_default()
    }

    /// Writes `key = value`, retrying until a store applies it (see
    /// [`request`](Self::request): a retried write may apply twice).
    pub fn must_put(&self, key: &[u8], value: &[u8]) {
        self.must_put_cf(CF_DEFAULT, key, value);
    }

    /// [`must_put`](Self::must_put) in column family `cf`.
    pub fn must_put_cf(&self, cf: &str, key: &[u8], value: &[u8]) {
        let (resp, _) = self.request(
            key,
            vec![new_put_cf_cmd(cf, key, value)],
            Duration::from_secs(5),
        );
        check_single_response(&resp, CmdType::Put);
    }

    /// Reads `key` and panics unless it holds `value`.
    pub fn must_get(&self, key: &[u8], value: &[u8]) {
        let v = self.get(key);
        assert!(
            v.as_slice() == value,
            "expected value {:?}, but got {:?}",
            String::from_utf8_lossy(value),
            String::from_utf8_lossy(&v)
        );
    }

    /// Reads `key` through raft; "" if absent (Go's `Get`).
    pub fn get(&self, key: &[u8]) -> Vec<u8> {
        self.get_cf(CF_DEFAULT, key)
    }

    /// [`get`](Self::get) in column family `cf`.
    pub fn get_cf(&self, cf: &str, key: &[u8]) -> Vec<u8> {
        let (resp, _) = self.request(key, vec![new_get_cf_cmd(cf, key)], Duration::from_secs(5));
        check_single_response(&resp, CmdType::Get);
        resp.responses[0].get.clone().unwrap_or_default().value
    }

    /// The key's value, `None` if absent (Go's [`get`](Self::get) answers
    /// "" for a missing key). Read from a Snap command's snapshot, retried
    /// like [`request`](Self::request). As in TinyKV, a put of an empty
    /// value deletes the key.
    pub fn get_opt(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.get_opt_cf(CF_DEFAULT, key)
    }

    /// [`get_opt`](Self::get_opt) in column family `cf`.
    pub fn get_opt_cf(&self, cf: &str, key: &[u8]) -> Option<Vec<u8>> {
        let (resp, snap) = self.request(key, vec![new_snap_cmd()], Duration::from_secs(5));
        check_single_response(&resp, CmdType::Snap);
        let snap = snap.expect("a Snap response carries a snapshot");
        snap.get_cf(cf, key)
            .unwrap_or_else(|e| panic!("read {} from a snapshot: {}", hex(key), e))
    }

    /// Keys and values of `[start, end)` across every region (an empty
    /// `end` is the end of the key space), each region read from its own
    /// Snap command's consistent view. Go's [`scan`](Self::scan) stops at
    /// the first region's end when `end` is empty.
    pub fn scan_all(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut pairs = Vec::new();
        let mut key = start.to_vec();
        loop {
            let (region, snap) = self.snap_of_region(&key);
            let mut it = snap.iter_cf_in_range(CF_DEFAULT, &key, scan_bound(&region.end_key, end));
            it.seek(&key);
            while it.valid() {
                pairs.push((it.key().to_vec(), it.value().to_vec()));
                it.next();
            }
            key = region.end_key;
            if key.is_empty() || exceed_end_key(&key, end) {
                return pairs;
            }
        }
    }

    /// Deletes `key`, retrying until a store applies it.
    pub fn must_delete(&self, key: &[u8]) {
        self.must_delete_cf(CF_DEFAULT, key);
    }

    /// [`must_delete`](Self::must_delete) in column family `cf`.
    pub fn must_delete_cf(&self, cf: &str, key: &[u8]) {
        let (resp, _) = self.request(
            key,
            vec![new_delete_cf_cmd(cf, key)],
            Duration::from_secs(5),
        );
        check_single_response(&resp, CmdType::Delete);
    }

    /// Values of the keys in `[start, end)`, region by region, each read
    /// from a Snap command's consistent view.
    pub fn scan(&self, start: &[u8], end: &[u8]) -> Vec<Vec<u8>> {
        scan_regions(start, end, &mut |key| {
            let answer = self.request(key, vec![new_snap_cmd()], Duration::from_secs(5));
            (answer, None)
        })
    }

    /// A consistent view of `key`'s region: the region as the Snap command
    /// saw it, and the snapshot it carried back.
    fn snap_of_region(&self, key: &[u8]) -> (Region, DbSnapshot) {
        snap_view(self.request(key, vec![new_snap_cmd()], Duration::from_secs(5)))
    }

    /// Asks the region's leader to hand leadership to `leader`, once;
    /// panics without an answer.
    pub fn transfer_leader(&self, region_id: u64, leader: Peer) {
        let (region, _) = self
            .scheduler_client
            .get_region_by_id(region_id)
            .expect("get region by id");
        let epoch = region.and_then(|r| r.region_epoch);
        let req = new_admin_request(region_id, epoch, new_transfer_leader_cmd(leader));
        let (resp, _) = self
            .call_command_on_leader(req, Duration::from_secs(5))
            .unwrap_or_else(|| {
                panic!(
                    "transfer leader of region {} to {:?}: no response",
                    region_id, leader
                )
            });
        let cmd_type = resp.admin_response.map(|a| a.cmd_type());
        assert_eq!(
            cmd_type,
            Some(AdminCmdType::TransferLeader),
            "transfer leader response"
        );
    }

    /// Transfers the region's leadership to `leader` and returns when both
    /// the scheduler and the peer itself say it leads (within 5 s).
    pub fn must_transfer_leader(&self, region_id: u64, leader: Peer) {
        let start = Instant::now();
        loop {
            let current = self.leader_of_region(region_id);
            // Go trusts the scheduler's view; the peer itself confirms here,
            // so the caller's next command finds the leader it asked for.
            if current.is_some_and(|c| c.id == leader.id && c.store_id == leader.store_id)
                && self.is_confirmed_leader(region_id, leader)
            {
                return;
            }
            if start.elapsed() > Duration::from_secs(5) {
                panic!(
                    "failed to transfer leader of region {} to {:?}",
                    region_id, leader
                );
            }
            self.transfer_leader(region_id, leader);
        }
    }

    /// Schedules adding `peer` to the region and waits until the scheduler
    /// sees it.
    pub fn must_add_peer(&self, region_id: u64, peer: Peer) {
        self.scheduler_client.add_peer(region_id, peer);
        self.must_have_peer(region_id, peer);
    }

    /// Schedules removing `peer` from the region and waits until the
    /// scheduler sees it gone.
    pub fn must_remove_peer(&self, region_id: u64, peer: Peer) {
        self.scheduler_client.remove_peer(region_id, peer);
        self.must_none_peer(region_id, peer);
    }

    /// Waits (≈ 5 s) until the scheduler's region has `peer`.
    pub fn must_have_peer(&self, region_id: u64, peer: Peer) {
        let found = wait_until(500, 10, || {
            let (region, _) = self
                .scheduler_client
                .get_region_by_id(region_id)
                .expect("get region by id");
            region
                .as_ref()
                .and_then(|r| find_peer(r, peer.store_id))
                .is_some_and(|p| p.id == peer.id)
                .then_some(())
        });
        if found.is_none() {
            panic!(
                "no peer: {:?} in region {}\n{}",
                peer,
                region_id,
                self.describe_region(region_id)
            );
        }
    }

    /// Waits (≈ 5 s) until the scheduler's region has no `peer` on its
    /// store.
    pub fn must_none_peer(&self, region_id: u64, peer: Peer) {
        let gone = wait_until(500, 10, || {
            let (region, _) = self
                .scheduler_client
                .get_region_by_id(region_id)
                .expect("get region by id");
            let r = region?;
            (find_peer(&r, peer.store_id).map(|p| p.id) != Some(peer.id)).then_some(())
        });
        if gone.is_none() {
            panic!(
                "have peer: {:?} in region {}\n{}",
                peer,
                region_id,
                self.describe_region(region_id)
            );
        }
    }
}

/// Shuts a shared cluster down when dropped, so that a test that fails
/// while other threads still hold the cluster (clients, a chaos thread)
/// leaves no store running and no directory behind.
pub struct ShutdownGuard(Arc<Cluster>);

impl Cluster {
    /// A guard that shuts this cluster down when it goes out of scope,
    /// whether the test returns or fails.
    pub fn shutdown_guard(self: &Arc<Self>) -> ShutdownGuard {
        ShutdownGuard(self.clone())
    }
}

impl Drop for ShutdownGuard {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub(crate) fn check_single_response(resp: &RaftCmdResponse, want: CmdType) {
    if let Some(e) = resp.header.as_ref().and_then(|h| h.error.as_ref()) {
        panic!("{:?}", e);
    }
    assert_eq!(resp.responses.len(), 1, "len(resp.responses) != 1");
    assert_eq!(
        resp.responses[0].cmd_type(),
        want,
        "unexpected response type"
    );
}

/// Go's `RegionReader(txn, region).IterCF(default)` seeking `key` and
/// reading until `end`: values of the region's keys in `[key, end)`.
/// Panics if `key` is outside the region, as Go's iterator does.
pub fn region_scan(snap: &DbSnapshot, region: &Region, key: &[u8], end: &[u8]) -> Vec<Vec<u8>> {
    let mut values = Vec::new();
    region_scan_each(snap, region, key, end, &mut |v| values.push(v.to_vec()));
    values
}

/// [`region_scan`], handing each value to `emit`.
fn region_scan_each(
    snap: &DbSnapshot,
    region: &Region,
    key: &[u8],
    end: &[u8],
    emit: &mut dyn FnMut(&[u8]),
) {
    kv::raftstore::util::check_key_in_region(key, region)
        .unwrap_or_else(|e| panic!("seek outside the region: {}", e));
    let mut it = snap.iter_cf_in_range(CF_DEFAULT, key, scan_bound(&region.end_key, end));
    it.seek(key);
    while it.valid() {
        emit(it.value());
        it.next();
    }
}

/// One region's part of a scan from `key` to `end`, each value handed to
/// `emit`: [`region_scan`] of the Snap answer's snapshot, or the values of
/// `read`, the pairs a history recorded of the same snapshot and range
/// (see [`record_attempt`](crate::record_attempt)), so that a recorded
/// scan reads the engine once.
pub(crate) fn scan_piece(
    read: Option<RawPairs>,
    snap: &DbSnapshot,
    region: &Region,
    key: &[u8],
    end: &[u8],
    emit: &mut dyn FnMut(&[u8]),
) {
    match read {
        Some(pairs) => pairs.iter().for_each(|(_, v)| emit(v)),
        None => region_scan_each(snap, region, key, end, emit),
    }
}

/// The tighter of two exclusive end keys (empty = no end). An iterator
/// given it as its upper bound stops there, instead of stepping over every
/// deleted key beyond the range to find the next live one.
pub(crate) fn scan_bound<'a>(a: &'a [u8], b: &'a [u8]) -> &'a [u8] {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b,
        (_, true) => a,
        _ => a.min(b),
    }
}

/// Removes the store directories under `root` that processes no longer
/// running left behind (killed before they could remove them: a sweep's
/// timed-out run, say), so that they do not pile up, in memory when `root`
/// is a memory file system. A directory of a live process is never
/// touched, nor one made in the last hour (its process may live in another
/// pid namespace that shares `root`).
pub(crate) fn remove_orphan_store_dirs(root: &Path) {
    const MIN_AGE: Duration = Duration::from_secs(3600);
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(STORE_DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= MIN_AGE);
        if old && pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// How a store's data directory's name starts; the owner's process id
/// follows.
const STORE_DIR_PREFIX: &str = "test-raftstore-";

/// Makes a store's data directory (with `kv`, `raft` and `snap` inside)
/// under `root` and opens its engines there; `nonce` keeps clusters of
/// one process apart.
pub(crate) fn open_store_dir(
    root: &Path,
    store_id: u64,
    nonce: u64,
    cfg: &Config,
) -> (PathBuf, Engines) {
    let dir = root.join(format!(
        "{STORE_DIR_PREFIX}{}-{}-{}",
        std::process::id(),
        store_id,
        nonce
    ));
    for sub in ["kv", "raft", "snap"] {
        std::fs::create_dir_all(dir.join(sub)).expect("create store dirs");
    }
    let kv_path = dir.join("kv").to_string_lossy().into_owned();
    let raft_path = dir.join("raft").to_string_lossy().into_owned();
    let engines = Engines::open(kv_path, raft_path, &cfg.engine).expect("open engines");
    (dir, engines)
}

/// Bootstraps every store of `engines` with region 1 (one peer per store,
/// peer id = store id, in store order) and the scheduler with the cluster
/// and the stores.
pub(crate) fn bootstrap_stores(
    scheduler_client: &MockSchedulerClient,
    engines: &BTreeMap<u64, Engines>,
) {
    let cluster_id = scheduler_client.get_cluster_id();
    let mut first_region = Region {
        id: 1,
        start_key: vec![],
        end_key: vec![],
        region_epoch: Some(RegionEpoch {
            version: INIT_EPOCH_VER,
            conf_ver: INIT_EPOCH_CONF_VER,
        }),
        peers: vec![],
    };
    for (store_id, engines) in engines {
        first_region.peers.push(new_peer(*store_id, *store_id));
        bootstrap_store(engines, cluster_id, *store_id).expect("bootstrap store");
    }
    for engines in engines.values() {
        prepare_bootstrap_cluster(engines, &first_region).expect("prepare bootstrap");
    }
    let resp = scheduler_client
        .bootstrap(Store {
            id: 1,
            ..Default::default()
        })
        .expect("bootstrap cluster");
    if let Some(e) = resp.header.and_then(|h| h.error) {
        panic!("bootstrap cluster: {:?}", e);
    }
    for (store_id, engines) in engines {
        scheduler_client
            .put_store(Store {
                id: *store_id,
                ..Default::default()
            })
            .expect("put store");
        clear_prepare_bootstrap_state(engines).expect("clear prepare bootstrap");
    }
}

/// A cluster of `count` stores over the mock scheduler (ids start after
/// the store ids), with logging set from `cfg.log_level`.
pub fn new_test_cluster(count: usize, cfg: Config) -> Cluster {
    crate::init_logging(&cfg.log_level);
    let scheduler_client = Arc::new(MockSchedulerClient::new(0, count as u64 + 1));
    scheduler_client.set_seed(crate::rng::test_seed() ^ 0x2545_F491_4F6C_DD1D);
    let simulator = Arc::new(NodeSimulator::new(scheduler_client.clone()));
    Cluster::new(count, scheduler_client, simulator, cfg)
}

/// Go's `Scan`: the values of the keys in `[start, end)`, region by
/// region, each region read from the snapshot of the Snap answer
/// `snap_request` gets for a key of it (with the pairs a history already
/// read from it, if it did: see [`scan_piece`]).
pub(crate) fn scan_regions(
    start: &[u8],
    end: &[u8],
    snap_request: &mut dyn FnMut(&[u8]) -> ScanAnswer,
) -> Vec<Vec<u8>> {
    let mut values = Vec::new();
    let mut key = start.to_vec();
    while (!end.is_empty() && key.as_slice() < end) || (key.is_empty() && end.is_empty()) {
        let (answer, read) = snap_request(&key);
        let (region, snap) = snap_view(answer);
        scan_piece(read, &snap, &region, &key, end, &mut |v| {
            values.push(v.to_vec())
        });
        key = region.end_key.clone();
        if key.is_empty() {
            break;
        }
    }
    values
}

/// The region a Snap answer saw, and the snapshot it carried back.
fn snap_view((resp, snap): CommandAnswer) -> (Region, DbSnapshot) {
    check_single_response(&resp, CmdType::Snap);
    let region = resp.responses[0]
        .snap
        .clone()
        .unwrap_or_default()
        .region
        .unwrap_or_default();
    (region, snap.expect("a Snap response carries a snapshot"))
}

/// A store's answer to a command: the response, and the snapshot a Snap
/// command carries back.
pub(crate) type CommandAnswer = (RaftCmdResponse, Option<DbSnapshot>);

/// A Snap command's answer, with the pairs a history recorded of it (see
/// [`scan_piece`]).
pub(crate) type ScanAnswer = (CommandAnswer, Option<RawPairs>);

/// One attempt of a command at the store its header names: any answer,
/// error or not, or `None` when nothing was answered (Go's `CallCommand`).
pub(crate) type AttemptFn<'a> = dyn FnMut(RaftCmdRequest) -> Option<CommandAnswer> + 'a;

/// How Go's `CallCommandOnLeader` reads an answer: a stale command, an
/// epoch mismatch or a NotLeader is tried again, to the leader a NotLeader
/// names (`Some(Some(leader))`) or to the one the scheduler knows
/// (`Some(None)`); anything else is the answer (`None`).
pub(crate) fn leader_retry(resp: &RaftCmdResponse) -> Option<Option<Peer>> {
    let err = resp.header.as_ref()?.error.as_ref()?;
    let retry =
        err.stale_command.is_some() || err.epoch_not_match.is_some() || err.not_leader.is_some();
    retry.then(|| err.not_leader.as_ref().and_then(|n| n.leader))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_store_dirs_of_dead_processes_are_removed() {
        let root = std::env::temp_dir().join(format!("orphans-{}", std::process::id()));
        let mine = root.join(format!("{STORE_DIR_PREFIX}{}-1-0", std::process::id()));
        // Above any pid Linux hands out (at most 2^22).
        let dead = root.join(format!("{STORE_DIR_PREFIX}4000000000-1-0"));
        let other = root.join("something-else");
        let young_dead = root.join(format!("{STORE_DIR_PREFIX}4000000001-1-0"));
        for d in [&mine, &dead, &other, &young_dead] {
            std::fs::create_dir_all(d.join("kv")).unwrap();
        }
        let two_hours_ago = std::time::SystemTime::now() - Duration::from_secs(7200);
        for d in [&mine, &dead, &other] {
            std::fs::File::open(d)
                .unwrap()
                .set_modified(two_hours_ago)
                .unwrap();
        }
        remove_orphan_store_dirs(&root);
        assert!(mine.exists() && other.exists() && young_dead.exists());
        assert!(!dead.exists());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
