//! A deterministic simulator of the test cluster: one thread drives every
//! store over a virtual clock and one seeded generator, so a run is a
//! function of its seed — replayed exactly by running the seed again.
//!
//! Each store is started without threads ([`Node::start_driven`]): the
//! simulator calls its raft worker, store worker and background workers
//! itself — the same handlers the threaded cluster runs — until none has
//! work left, then moves the clock to the next event: a message due on the
//! [simulated network](SimNetwork) (latencies drawn from the generator, the
//! cluster's [`Filter`]s applied), or a store's base tick (each store ticks
//! at a phase of its own). Nothing waits on the wall clock, so a second of
//! virtual time costs only the work done in it.
//!
//! Every event (delivery, tick, client command and answer) goes into a
//! [trace hash](Sim::trace_hash): two runs of one seed must end with the
//! same hash.
//!
//! ```no_run
//! use test_cluster::sim::{Sim, SimConfig};
//!
//! let mut sim = Sim::new(SimConfig::new(42, 3));
//! sim.must_put(b"k", b"v");
//! assert_eq!(sim.must_get(b"k"), Some(b"v".to_vec()));
//! sim.stop_store(1);
//! sim.run_for_ms(2_000);
//! sim.start_store(1);
//! println!("trace {:016x}", sim.trace_hash());
//! ```

pub mod exec;
pub mod generic;
mod net;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use kv::config::Config;
use kv::raftstore::message::{Callback, CallbackReceiver, Msg, RaftRouter};
use kv::raftstore::node::Node;
use kv::raftstore::scheduler_client::SchedulerClient;
use kv::raftstore::snap::SnapManager;
use kv::raftstore::store::{create_raftstore, StoreLoops};
use kv::raftstore::util::RaftstoreError;
use kv::util::engine_util::{Engines, CF_DEFAULT};
use proto::metapb::Peer;
use proto::raft_cmdpb::{CmdType, RaftCmdRequest, Request};
use proto::raft_serverpb::RaftMessage;
use scheduler_mock::MockSchedulerClient;

pub use exec::{JoinHandle, SimHandle};
pub use generic::{run_generic, GenericReport};
pub use net::{NetConfig, SimNetwork};

use crate::cluster::{bootstrap_stores, open_store_dir, remove_orphan_store_dirs};
use crate::filter::Filter;
use crate::outcome::{Outcome, Refusal, Uncertain};
use crate::rng::Rng;
use crate::utils::{hex, new_get_cf_cmd, new_put_cf_cmd, new_request};

/// What a simulation is made of.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Every random choice of the run follows from it.
    pub seed: u64,
    /// Stores, with ids 1..=stores, all holding region 1 at the start.
    pub stores: usize,
    /// Each store's configuration (the test preset, by default, without
    /// fsyncs or write-ahead logs, with the seed mixed into raft's
    /// election timeouts).
    pub cfg: Config,
    /// Latency and loss of the network.
    pub net: NetConfig,
    /// Where the stores' data directories go (by default
    /// [`memory_data_dir`]).
    pub data_dir: PathBuf,
}

/// Free space a memory file system must have for a simulation to keep its
/// stores there: a five-store run writes some tens of MiB.
const MEMORY_DIR_MIN_FREE: u64 = 1 << 30;

/// Where a simulation keeps its stores by default: the memory file system
/// `/dev/shm` when there is one with at least 1 GiB free, else the temp
/// dir. A simulated disk only has to outlast a store's restart, not the
/// process, and in memory RocksDB's fsyncs (opening a DB syncs its
/// manifest and options files, closing one syncs the tables its memtables
/// flush to) cost nothing: they are wall time a simulation would spend
/// waiting on the real disk without simulating anything.
pub fn memory_data_dir() -> PathBuf {
    let shm = Path::new("/dev/shm");
    match kv::util::file::disk_usage(shm) {
        Some((_, free)) if free >= MEMORY_DIR_MIN_FREE && shm.is_dir() => shm.to_path_buf(),
        _ => std::env::temp_dir(),
    }
}

impl SimConfig {
    /// `stores` stores with the test configuration, seeded with `seed`.
    pub fn new(seed: u64, stores: usize) -> Self {
        let mut cfg = Config::new_test_config();
        // A simulated crash is an orderly stop inside one process: the OS
        // keeps every write, and an fsync would only cost wall time. For
        // the same reason the engines keep no write-ahead log: closing a
        // stopped store's DBs flushes their memtables, and the restart
        // reads them from disk without replaying a log.
        cfg.raft_sync_log = false;
        cfg.engine.write_ahead_log = false;
        cfg.raft_seed = seed;
        SimConfig {
            seed,
            stores,
            cfg,
            net: NetConfig::default(),
            data_dir: memory_data_dir(),
        }
    }
}

/// What the simulation's parts share: the clock, the generator and the
/// trace. Behind a mutex only because the network is a `Transport` (which
/// must be `Sync`); one thread uses it.
pub(crate) struct World {
    now_ms: u64,
    rng: Rng,
    trace: Trace,
}

/// An FNV-1a hash over every event of a run, and their count.
#[derive(Debug, Clone, Copy)]
struct Trace {
    hash: u64,
    events: u64,
}

impl Trace {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        Trace {
            hash: Self::OFFSET,
            events: 0,
        }
    }

    fn record(&mut self, words: &[u64]) {
        for w in words {
            for b in w.to_le_bytes() {
                self.hash ^= u64::from(b);
                self.hash = self.hash.wrapping_mul(Self::PRIME);
            }
        }
        self.events += 1;
    }
}

/// Event kinds in the trace.
#[derive(Clone, Copy)]
enum Event {
    Deliver = 1,
    Lost = 2,
    Tick = 3,
    Submit = 4,
    Answer = 5,
    Stop = 6,
    Start = 7,
}

/// One running store: its node and the loops the simulator drives.
struct SimStore {
    node: Node,
    loops: StoreLoops,
    /// Virtual time of its next base tick.
    next_tick_ms: u64,
}

/// A command sent and not yet answered (see [`Sim::submit`]).
pub struct Pending {
    state: PendingState,
    store_id: u64,
    deadline_ms: u64,
}

enum PendingState {
    /// Queued at the store; the answer comes through the receiver.
    Sent(CallbackReceiver),
    /// Refused before it was queued; [`Sim::poll`] returns this at once.
    Refused(Box<Outcome>),
}

/// A simulated cluster (see the module docs). Dropping it stops every
/// store and removes the data directories.
pub struct Sim {
    seed: u64,
    world: Arc<Mutex<World>>,
    net: Arc<SimNetwork>,
    /// The mock scheduler the stores report to.
    pub scheduler_client: Arc<MockSchedulerClient>,
    cfg: Config,
    engines: BTreeMap<u64, Engines>,
    dirs: BTreeMap<u64, PathBuf>,
    stores: BTreeMap<u64, SimStore>,
    batch: Vec<Msg>,
}

impl Sim {
    /// Bootstraps `cfg.stores` stores with region 1 and starts them all, at
    /// virtual time 0.
    pub fn new(cfg: SimConfig) -> Sim {
        crate::init_logging(&cfg.cfg.log_level);
        let world = Arc::new(Mutex::new(World {
            now_ms: 0,
            rng: Rng::new(cfg.seed ^ 0x5DEE_CE66_D1CE_5EED),
            trace: Trace::new(),
        }));
        let scheduler_client = Arc::new(MockSchedulerClient::new(0, cfg.stores as u64 + 1));
        scheduler_client.set_seed(cfg.seed ^ 0x2545_F491_4F6C_DD1D);
        let mut sim = Sim {
            seed: cfg.seed,
            net: Arc::new(SimNetwork::new(world.clone(), cfg.net)),
            world,
            scheduler_client,
            cfg: cfg.cfg,
            engines: BTreeMap::new(),
            dirs: BTreeMap::new(),
            stores: BTreeMap::new(),
            batch: Vec::new(),
        };
        // Two simulations of one process never share a directory.
        static RUNS: AtomicU64 = AtomicU64::new(0);
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(|| remove_orphan_store_dirs(&cfg.data_dir));
        let nonce = RUNS.fetch_add(1, Ordering::Relaxed);
        for store_id in 1..=cfg.stores as u64 {
            let (dir, engines) = open_store_dir(&cfg.data_dir, store_id, nonce, &sim.cfg);
            sim.dirs.insert(store_id, dir);
            sim.engines.insert(store_id, engines);
        }
        bootstrap_stores(&sim.scheduler_client, &sim.engines);
        for store_id in 1..=cfg.stores as u64 {
            sim.start_store(store_id);
        }
        sim
    }

    /// The seed this run follows.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, event: Event, words: &[u64]) {
        let mut world = self.world();
        let now = world.now_ms;
        world.trace.record(&[event as u64, now]);
        world.trace.record(words);
    }

    /// Virtual time since the start, in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.world().now_ms
    }

    /// A draw from the simulation's generator, below `n` (for a test's own
    /// random choices, so that they replay with the seed too).
    pub fn rand_below(&self, n: u64) -> u64 {
        self.world().rng.below(n)
    }

    /// The hash of every event so far: equal for two runs of one seed.
    pub fn trace_hash(&self) -> u64 {
        self.world().trace.hash
    }

    /// The virtual clock, for recording client histories
    /// ([`lincheck::Recorder::new`]) in simulated time.
    pub fn clock(&self) -> Arc<dyn lincheck::Clock> {
        Arc::new(VirtualClock(self.world.clone()))
    }

    /// How many events the trace holds.
    pub fn trace_events(&self) -> u64 {
        self.world().trace.events
    }

    /// The configuration every store starts with.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// A fresh id from the scheduler (for a new peer).
    pub fn alloc_id(&self) -> u64 {
        self.scheduler_client.alloc_id().expect("alloc id")
    }

    /// The engines of a running store. Panics if it is stopped (a stopped
    /// store's engines are closed).
    pub fn engines(&self, store_id: u64) -> &Engines {
        self.engines
            .get(&store_id)
            .unwrap_or_else(|| panic!("store {store_id} is stopped: its engines are closed"))
    }

    /// What the scheduler and every running store record of a region, a
    /// line each (see [`crate::regions::describe_region`]); a stopped
    /// store's engines are closed, so it has no line.
    pub fn describe_region(&self, region_id: u64) -> String {
        crate::regions::describe_region(
            &self.scheduler_client,
            region_id,
            self.engines
                .iter()
                .map(|(&s, e)| (s, e, self.net.router(s))),
        )
    }

    /// The running stores, in id order.
    pub fn running_stores(&self) -> Vec<u64> {
        self.stores.keys().copied().collect()
    }

    /// Starts a store over its data directory (a restart, not a fresh
    /// disk: a stopped store's engines are opened again from disk). Its
    /// ticks start at a phase drawn from the generator.
    pub fn start_store(&mut self, store_id: u64) {
        assert!(
            !self.stores.contains_key(&store_id),
            "store {store_id} is running"
        );
        let mut cfg = self.cfg.clone();
        cfg.db_path = self.dirs[&store_id].to_string_lossy().into_owned();
        let snap_mgr = SnapManager::new(format!("{}/snap", cfg.db_path));
        let base_ms = base_tick_ms(&cfg);
        if !self.engines.contains_key(&store_id) {
            let dir = &self.dirs[&store_id];
            let engines = Engines::open(
                dir.join("kv").to_string_lossy(),
                dir.join("raft").to_string_lossy(),
                &cfg.engine,
            )
            .unwrap_or_else(|e| panic!("reopen store {store_id}'s engines: {e}"));
            self.engines.insert(store_id, engines);
        }
        let (router, system) = create_raftstore();
        let mut node = Node::new(system, Arc::new(cfg), self.scheduler_client.clone());
        let loops = node
            .start_driven(
                self.engines[&store_id].clone(),
                self.net.clone(),
                snap_mgr.clone(),
            )
            .unwrap_or_else(|e| panic!("start store {store_id}: {e}"));
        assert_eq!(
            node.get_store_id(),
            store_id,
            "store ids follow the order of start"
        );
        self.net.add_store(store_id, router, snap_mgr);
        let phase = 1 + self.rand_below(base_ms);
        let next_tick_ms = self.now_ms() + phase;
        self.stores.insert(
            store_id,
            SimStore {
                node,
                loops,
                next_tick_ms,
            },
        );
        self.record(Event::Start, &[store_id, phase]);
    }

    /// Stops a store: its loops end with what they hold, and messages in
    /// flight to it are lost. Its data stays on disk.
    pub fn stop_store(&mut self, store_id: u64) {
        let store = self
            .stores
            .remove(&store_id)
            .unwrap_or_else(|| panic!("store {store_id} is not running"));
        self.net.remove_store(store_id);
        let SimStore {
            mut node, loops, ..
        } = store;
        drop(loops);
        node.stop();
        // Closed, to be opened from disk again on start, as a restarted
        // process would. A command's answer that still holds a snapshot of
        // the engine keeps it open: then the store restarts over it.
        let engines = self
            .engines
            .remove(&store_id)
            .expect("a running store has engines");
        if Arc::strong_count(&engines.kv) > 1 || Arc::strong_count(&engines.raft) > 1 {
            self.engines.insert(store_id, engines);
        }
        self.record(Event::Stop, &[store_id]);
    }

    /// Adds a rule to the network (see [`crate::filter`]).
    pub fn add_filter(&self, filter: Box<dyn Filter>) {
        self.net.add_filter(filter);
    }

    /// Removes every rule from the network.
    pub fn clear_filters(&self) {
        self.net.clear_filters();
    }

    /// Runs every store until none has work left.
    fn settle(&mut self) {
        loop {
            let mut busy = false;
            for store in self.stores.values_mut() {
                busy |= store.loops.run_until_idle(&mut self.batch);
            }
            if !busy {
                return;
            }
        }
    }

    /// Settles the stores, then moves the clock to the next event and
    /// handles everything due then: messages first (in the order they were
    /// sent), then base ticks (in store order). Never goes past `limit_ms`;
    /// returns false, with the clock at `limit_ms`, when nothing is due by
    /// then.
    pub fn advance(&mut self, limit_ms: u64) -> bool {
        self.settle();
        let next_tick = self.stores.values().map(|s| s.next_tick_ms).min();
        let next = match (self.net.next_due(), next_tick) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).unwrap_or(u64::MAX),
        };
        if next > limit_ms {
            self.world().now_ms = self.now_ms().max(limit_ms);
            return false;
        }
        self.world().now_ms = next;
        while let Some((msg, router)) = self.net.pop_due(next) {
            match router {
                Some(router) => {
                    self.record(Event::Deliver, &message_words(&msg));
                    // A store that lost its peer meanwhile drops it.
                    let _ = router.send_raft_message(msg);
                }
                None => self.record(Event::Lost, &message_words(&msg)),
            }
        }
        let base_ms = base_tick_ms(&self.cfg);
        let due: Vec<u64> = self
            .stores
            .iter()
            .filter(|(_, s)| s.next_tick_ms <= next)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let store = self.stores.get_mut(&id).expect("running");
            store.next_tick_ms += base_ms;
            store.loops.loops.tick_driver.on_base_tick();
            self.record(Event::Tick, &[id]);
        }
        true
    }

    /// Runs the cluster for `ms` of virtual time.
    pub fn run_for_ms(&mut self, ms: u64) {
        let until = self.now_ms() + ms;
        while self.advance(until) {}
        self.settle();
    }

    /// Runs until `done` says so or `ms` of virtual time have passed;
    /// returns whether `done` did.
    pub fn run_until(&mut self, ms: u64, mut done: impl FnMut(&mut Sim) -> bool) -> bool {
        let until = self.now_ms() + ms;
        loop {
            self.settle();
            if done(self) {
                return true;
            }
            if !self.advance(until) {
                self.settle();
                return done(self);
            }
        }
    }

    /// Sends `req` to a store's router, once, without waiting: the outcome
    /// comes through [`Sim::poll`] (at once, if the store refused it
    /// outright: down, or no peer of the region).
    pub fn submit(&mut self, store_id: u64, req: RaftCmdRequest, timeout: Duration) -> Pending {
        let region_id = req.header.as_ref().map_or(0, |h| h.region_id);
        self.record(Event::Submit, &[store_id, region_id]);
        let state = match self.net.router(store_id) {
            None => PendingState::Refused(Box::new(Outcome::Refused(Refusal::StoreDown(store_id)))),
            Some(router) => {
                let (cb, rx) = Callback::new();
                match router.send_raft_command(req, cb) {
                    Ok(()) => PendingState::Sent(rx),
                    Err(RaftstoreError::RegionNotFound(region_id)) => {
                        PendingState::Refused(Box::new(Outcome::Refused(Refusal::NoPeer {
                            store_id,
                            region_id,
                        })))
                    }
                    Err(_) => PendingState::Refused(Box::new(Outcome::Refused(
                        Refusal::StoreDown(store_id),
                    ))),
                }
            }
        };
        Pending {
            state,
            store_id,
            deadline_ms: self.now_ms() + timeout.as_millis() as u64,
        }
    }

    /// The outcome of a submitted command, once there is one: its answer,
    /// its refusal, or `Unknown` when the store dropped it or its time ran
    /// out. Takes the outcome: ask once more and it is gone.
    pub fn poll(&self, pending: &mut Pending) -> Option<Outcome> {
        let outcome = match &mut pending.state {
            PendingState::Refused(o) => {
                std::mem::replace(&mut **o, Outcome::Unknown(Uncertain::NoAnswer))
            }
            PendingState::Sent(rx) => match rx.try_resp() {
                Poll::Ready(Some(r)) => Outcome::of_answer(r.resp, r.snap),
                Poll::Ready(None) => Outcome::Unknown(Uncertain::NoAnswer),
                Poll::Pending if self.now_ms() >= pending.deadline_ms => {
                    Outcome::Unknown(Uncertain::NoAnswer)
                }
                Poll::Pending => return None,
            },
        };
        self.record(Event::Answer, &[pending.store_id, outcome_code(&outcome)]);
        Some(outcome)
    }

    /// Sends `req` to one store once and runs the cluster until it is
    /// answered or `timeout` (virtual) has passed.
    pub fn try_command_on_store(
        &mut self,
        store_id: u64,
        req: RaftCmdRequest,
        timeout: Duration,
    ) -> Outcome {
        let mut pending = self.submit(store_id, req, timeout);
        let mut outcome = None;
        self.run_until(timeout.as_millis() as u64 + 1, |sim| {
            outcome = sim.poll(&mut pending);
            outcome.is_some()
        });
        outcome.unwrap_or(Outcome::Unknown(Uncertain::NoAnswer))
    }

    /// `key`'s region and its leader as the scheduler last heard of them
    /// (where a client would send a command); `None` if it knows neither.
    pub fn route(&self, key: &[u8]) -> Option<(proto::metapb::Region, Peer)> {
        let (region, _) = self.scheduler_client.get_region(key).ok()?;
        let region = region?;
        let (_, leader) = self.scheduler_client.get_region_by_id(region.id).ok()?;
        Some((region, leader?))
    }

    /// Sends `reqs` for `key`'s region to its leader as the scheduler
    /// knows it, once. Refused (as no peer known) when the scheduler knows
    /// no leader yet.
    pub fn try_request(&mut self, key: &[u8], reqs: Vec<Request>, timeout: Duration) -> Outcome {
        let Some((region, leader)) = self.route(key) else {
            return Outcome::Refused(Refusal::NoPeer {
                store_id: 0,
                region_id: 0,
            });
        };
        let mut req = new_request(region.id, region.region_epoch, reqs);
        req.header.get_or_insert_with(Default::default).peer = Some(leader);
        self.try_command_on_store(leader.store_id, req, timeout)
    }

    /// Tries `reqs` until one attempt succeeds, waiting 100 ms (virtual)
    /// between attempts; panics after `timeout`. Like Go's `Request`, a
    /// write that timed out may apply twice.
    pub fn request(&mut self, key: &[u8], reqs: Vec<Request>, timeout: Duration) -> Outcome {
        let start = self.now_ms();
        loop {
            let outcome = self.try_request(key, reqs.clone(), Duration::from_secs(1));
            if outcome.is_ok() {
                return outcome;
            }
            if self.now_ms() - start > timeout.as_millis() as u64 {
                panic!(
                    "request timeout: key {} after {} ms (virtual), seed {}: last {:?}",
                    hex(key),
                    self.now_ms() - start,
                    self.seed,
                    outcome.error()
                );
            }
            self.run_for_ms(100);
        }
    }

    /// Puts `key` = `value` in the default column family (retrying; see
    /// [`Sim::request`]).
    pub fn must_put(&mut self, key: &[u8], value: &[u8]) {
        self.request(
            key,
            vec![new_put_cf_cmd(CF_DEFAULT, key, value)],
            Duration::from_secs(5),
        );
    }

    /// Reads `key` from the default column family through raft.
    pub fn must_get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        let outcome = self.request(
            key,
            vec![new_get_cf_cmd(CF_DEFAULT, key)],
            Duration::from_secs(5),
        );
        let answer = outcome.ok().expect("request returns only successes");
        let resp = answer.resp.responses.first().cloned().unwrap_or_default();
        assert_eq!(resp.cmd_type(), CmdType::Get, "a Get's answer");
        resp.get.filter(|g| !g.value.is_empty()).map(|g| g.value)
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // A store may have panicked mid-round and left a lock poisoned:
            // stopping it could panic again, which would abort the process
            // (and with it a sweep catching failures). Leave the stores be.
            std::mem::forget(std::mem::take(&mut self.stores));
        }
        let ids: Vec<u64> = self.stores.keys().copied().collect();
        for id in ids {
            self.stop_store(id);
        }
        for dir in self.dirs.values() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The simulation's clock as a history's clock.
struct VirtualClock(Arc<Mutex<World>>);

impl lincheck::Clock for VirtualClock {
    fn now_ns(&self) -> u64 {
        let world = self.0.lock().unwrap_or_else(|e| e.into_inner());
        world.now_ms * 1_000_000
    }
}

fn base_tick_ms(cfg: &Config) -> u64 {
    (cfg.raft_base_tick_interval.as_millis() as u64).max(1)
}

/// What the trace keeps of a delivered message.
fn message_words(msg: &RaftMessage) -> [u64; 9] {
    let m = msg.message.clone().unwrap_or_default();
    [
        msg.region_id,
        msg.from_peer.map_or(0, |p| p.id),
        msg.to_peer.map_or(0, |p| p.id),
        m.msg_type as u64,
        m.term,
        m.index,
        m.log_term,
        m.commit,
        (m.entries.len() as u64) << 1 | u64::from(m.reject),
    ]
}

fn outcome_code(outcome: &Outcome) -> u64 {
    match outcome {
        Outcome::Ok(_) => 1,
        Outcome::Refused(_) => 2,
        Outcome::Unknown(_) => 3,
    }
}
