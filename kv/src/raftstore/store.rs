//! What all peers of a store share (Go's raftstore.go): the region map,
//! the context handed to every handler, and the transport seam.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use prost::Message as _;
use proto::eraftpb::SnapshotMetadata;
use proto::metapb::{Region, Store};
use proto::raft_serverpb::{PeerState, RaftMessage, RegionLocalState};

use crate::config::Config;
use crate::raftstore::message::{Msg, PeerMsg, StoreMsg};
use crate::raftstore::meta;
use crate::raftstore::peer::Peer;
use crate::raftstore::peer_storage::clear_meta;
use crate::raftstore::raft_worker::RaftWorker;
use crate::raftstore::router::{RaftstoreRouter, Router};
use crate::raftstore::runner::raftlog_gc::RaftLogGcTaskHandler;
use crate::raftstore::runner::region_task::RegionTaskHandler;
use crate::raftstore::runner::scheduler_task::SchedulerTaskHandler;
use crate::raftstore::runner::split_checker::SplitCheckHandler;
use crate::raftstore::runner::{
    RaftLogGcTask, RegionTask, RegionTaskSender, SchedulerTask, SplitCheckTask,
};
use crate::raftstore::scheduler_client::SchedulerClient;
use crate::raftstore::snap::snap_manager::SnapManager;
use crate::raftstore::store_worker::StoreWorker;
use crate::raftstore::ticker::TickDriver;
use crate::util::engine_util::{CfIterator, Engines, WriteBatch, CF_RAFT};
use crate::util::worker::{DrivenWorker, SharedDrivenWorker, Worker};

/// Sends raft messages to other stores. The test cluster plugs in a
/// simulated network, the server a gRPC one.
pub trait Transport: Send + Sync {
    fn send(&self, msg: RaftMessage) -> crate::Result<()>;
}

/// The regions of this store, by id and by key range.
#[derive(Debug, Default)]
pub struct StoreMeta {
    /// Initialized regions by start key (ranges never overlap).
    pub region_ranges: BTreeMap<Vec<u8>, u64>,
    /// Every region with a peer here, initialized or not.
    pub regions: BTreeMap<u64, Region>,
    /// First votes for regions not created yet (see the store worker).
    pub pending_votes: Vec<RaftMessage>,
}

impl StoreMeta {
    /// Records `region` under its id, replacing what was there. The range
    /// index is not touched: callers that change a range call
    /// [`remove_range`](Self::remove_range) and
    /// [`insert_range`](Self::insert_range) too.
    pub fn set_region(&mut self, region: Region) {
        self.regions.insert(region.id, region);
    }

    /// Inserts `region` into the range index.
    pub fn insert_range(&mut self, region: &Region) {
        self.region_ranges
            .insert(region.start_key.clone(), region.id);
    }

    /// Removes `region`'s entry from the range index if it still points at
    /// it; returns whether it did.
    pub fn remove_range(&mut self, region: &Region) -> bool {
        match self.region_ranges.get(&region.start_key) {
            Some(id) if *id == region.id => {
                self.region_ranges.remove(&region.start_key);
                true
            }
            _ => false,
        }
    }

    /// Initialized regions whose range intersects `region`'s.
    pub fn get_overlap_regions(&self, region: &Region) -> Vec<Region> {
        let mut out = Vec::new();
        let upper = if region.end_key.is_empty() {
            self.region_ranges.range::<Vec<u8>, _>(..)
        } else {
            self.region_ranges.range(..region.end_key.clone())
        };
        for (_, id) in upper.rev() {
            let Some(r) = self.regions.get(id) else {
                continue;
            };
            if !r.end_key.is_empty() && r.end_key <= region.start_key {
                break;
            }
            out.push(r.clone());
        }
        out
    }

    /// The region right after `region` in key order.
    pub fn find_next_region(&self, region: &Region) -> Option<Region> {
        if region.end_key.is_empty() {
            return None;
        }
        let (_, id) = self.region_ranges.range(region.end_key.clone()..).next()?;
        self.regions.get(id).cloned()
    }
}

/// Everything a peer handler needs from its store.
pub struct GlobalContext {
    pub cfg: Arc<Config>,
    pub engines: Engines,
    pub store: Store,
    pub store_meta: Arc<Mutex<StoreMeta>>,
    pub snap_mgr: SnapManager,
    pub router: Arc<Router>,
    pub trans: Arc<dyn Transport>,
    pub scheduler_task_sender: Sender<SchedulerTask>,
    pub region_task_sender: RegionTaskSender,
    pub raftlog_gc_task_sender: Sender<RaftLogGcTask>,
    pub split_check_task_sender: Sender<SplitCheckTask>,
    pub scheduler_client: Arc<dyn SchedulerClient>,
}

impl GlobalContext {
    pub fn store_id(&self) -> u64 {
        self.store.id
    }

    pub fn store_meta(&self) -> MutexGuard<'_, StoreMeta> {
        self.store_meta.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The background workers of one raftstore.
struct Workers {
    split_check: Worker<SplitCheckTask>,
    region: Worker<RegionTask>,
    raftlog_gc: Worker<RaftLogGcTask>,
    scheduler: Worker<SchedulerTask>,
}

/// The queues of a store's workers: bounded for worker threads (a busy
/// worker slows its senders down), unbounded for driven workers.
#[derive(Debug, Clone, Copy)]
enum Queues {
    Bounded,
    Unbounded,
}

impl Workers {
    /// The four workers, not started, with `queues`.
    fn new(queues: Queues) -> Self {
        fn make<T: Send + 'static>(name: &str, queues: Queues) -> Worker<T> {
            match queues {
                Queues::Bounded => Worker::new(name),
                Queues::Unbounded => Worker::unbounded(name),
            }
        }
        Workers {
            split_check: make(thread_name::SPLIT_CHECK, queues),
            region: make(thread_name::SNAPSHOT, queues),
            raftlog_gc: make(thread_name::RAFT_LOG_GC, queues),
            scheduler: make(thread_name::SCHEDULER, queues),
        }
    }
}

/// What a store starts over.
pub struct StoreDeps {
    /// The store (its id set).
    pub store: Store,
    /// Its configuration.
    pub cfg: Arc<Config>,
    /// Its engines.
    pub engines: Engines,
    /// How its raft messages reach other stores.
    pub trans: Arc<dyn Transport>,
    /// The scheduler it reports to.
    pub scheduler_client: Arc<dyn SchedulerClient>,
    /// Where its snapshot files live.
    pub snap_mgr: SnapManager,
}

/// What the background workers run, one handler each.
struct Handlers {
    split_check: SplitCheckHandler<RaftstoreRouter>,
    region: RegionTaskHandler,
    raftlog_gc: RaftLogGcTaskHandler,
    scheduler: SchedulerTaskHandler,
}

/// The bodies of a store's own loops: each runs on a thread of its own,
/// or is called by a driver.
pub struct Loops {
    /// Drives every peer: one round per batch of messages.
    pub raft_worker: RaftWorker,
    /// Store-level messages.
    pub store_worker: StoreWorker,
    /// Sends the ticks: [`TickDriver::on_base_tick`] once per base tick.
    pub tick_driver: TickDriver,
}

/// A store started without threads ([`Raftstore::start_driven`]): its
/// loops and its four background workers, for a driver to call.
pub struct StoreLoops {
    /// The raft worker, the store worker and the tick driver.
    pub loops: Loops,
    /// Measures regions and finds split keys.
    pub split_check: DrivenWorker<SplitCheckTask>,
    /// Generates and applies snapshots.
    pub region: SharedDrivenWorker<RegionTask>,
    /// Deletes compacted raft log entries.
    pub raftlog_gc: DrivenWorker<RaftLogGcTask>,
    /// Talks to the scheduler.
    pub scheduler: DrivenWorker<SchedulerTask>,
}

impl StoreLoops {
    /// Runs the store until nothing is left to do: raft rounds, store
    /// messages and background tasks, in that order, again and again
    /// until none had work. Returns whether any had. `msgs` is the raft
    /// worker's reusable batch.
    pub fn run_until_idle(&mut self, msgs: &mut Vec<Msg>) -> bool {
        let mut any = false;
        loop {
            let mut busy = self.loops.raft_worker.poll(msgs);
            busy |= self.loops.store_worker.poll() > 0;
            busy |= self.split_check.poll() > 0;
            busy |= self.region.poll() > 0;
            busy |= self.raftlog_gc.poll() > 0;
            busy |= self.scheduler.poll() > 0;
            if !busy {
                return any;
            }
            any = true;
        }
    }
}

/// One store's raftstore: router, raft worker, store worker, tick driver and
/// background workers. Created stopped; [`Raftstore::start`] (through
/// [`Node`](crate::raftstore::node::Node)) brings it up.
pub struct Raftstore {
    router: Arc<Router>,
    peer_receiver: Receiver<Msg>,
    store_receiver: Receiver<StoreMsg>,
    workers: Option<Workers>,
    threads: Vec<JoinHandle<()>>,
    stop_senders: Vec<Sender<()>>,
    /// Set by the first start, threaded or driven: a store starts once.
    started: bool,
}

/// The names of a store's threads. The test cluster watches threads by
/// these names (a store thread's panic fails the test), so they live here,
/// once.
pub mod thread_name {
    /// Drives every peer's raft group.
    pub const RAFT_WORKER: &str = "raft-worker";
    /// Handles store-level messages (new peers, store ticks).
    pub const STORE_WORKER: &str = "store-worker";
    /// Sends the ticks of logical time.
    pub const TICK_DRIVER: &str = "tick-driver";
    /// Measures regions and finds split keys.
    pub const SPLIT_CHECK: &str = "split-check";
    /// Generates and applies snapshots.
    pub const SNAPSHOT: &str = "snapshot-worker";
    /// Deletes compacted raft log entries.
    pub const RAFT_LOG_GC: &str = "raft-gc-worker";
    /// Talks to the scheduler (heartbeats, ask split).
    pub const SCHEDULER: &str = "scheduler-worker";
    /// All of them.
    pub const ALL: [&str; 7] = [
        RAFT_WORKER,
        STORE_WORKER,
        TICK_DRIVER,
        SPLIT_CHECK,
        SNAPSHOT,
        RAFT_LOG_GC,
        SCHEDULER,
    ];
}

/// Creates a raftstore and the router through which the rest of the node
/// reaches it.
pub fn create_raftstore() -> (RaftstoreRouter, Raftstore) {
    let (peer_sender, peer_receiver) = unbounded();
    let (store_sender, store_receiver) = unbounded();
    let router = Arc::new(Router::new(peer_sender, store_sender));
    let rs = Raftstore {
        router: router.clone(),
        peer_receiver,
        store_receiver,
        workers: None,
        threads: Vec::new(),
        stop_senders: Vec::new(),
        started: false,
    };
    (RaftstoreRouter::new(router), rs)
}

impl Raftstore {
    pub fn router(&self) -> Arc<Router> {
        self.router.clone()
    }

    /// Starts the store on threads of its own: the raft worker, the store
    /// worker, the tick driver and the four background workers.
    pub fn start(&mut self, deps: StoreDeps) -> crate::Result<()> {
        let mut workers = Workers::new(Queues::Bounded);
        let region_tasks = RegionTaskSender::threaded(workers.region.sender());
        let (loops, handlers) = self.open(deps, &workers, region_tasks)?;
        workers.split_check.start(handlers.split_check);
        workers.region.start(handlers.region);
        workers.raftlog_gc.start(handlers.raftlog_gc);
        workers.scheduler.start(handlers.scheduler);
        self.workers = Some(workers);

        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn(f)
                .expect("spawn thread")
        };
        let Loops {
            raft_worker,
            store_worker,
            tick_driver,
        } = loops;
        let (stop_tx, stop_rx) = bounded::<()>(0);
        let rx = stop_rx.clone();
        self.threads.push(spawn(
            thread_name::RAFT_WORKER,
            Box::new(move || raft_worker.run(rx)),
        ));
        self.threads.push(spawn(
            thread_name::STORE_WORKER,
            Box::new(move || store_worker.run(stop_rx)),
        ));
        self.stop_senders.push(stop_tx);
        let (tick_stop_tx, tick_stop_rx) = bounded::<()>(0);
        self.threads.push(spawn(
            thread_name::TICK_DRIVER,
            Box::new(move || tick_driver.run(tick_stop_rx)),
        ));
        self.stop_senders.push(tick_stop_tx);
        Ok(())
    }

    /// Starts the store without any thread: the returned [`StoreLoops`]
    /// hold what the threads would run, with the same handlers, and the
    /// caller drives them (the deterministic simulator does, every store
    /// of a cluster on one thread). To stop the store, drop the loops and
    /// call [`shut_down`](Self::shut_down).
    pub fn start_driven(&mut self, deps: StoreDeps) -> crate::Result<StoreLoops> {
        // Unbounded: a driven worker's tasks are queued by the thread that
        // handles them, so a full queue would never drain.
        let workers = Workers::new(Queues::Unbounded);
        // The raft worker waits for the region worker to lay a snapshot
        // down; with no thread of its own, the region worker is then run
        // by the one who waits.
        let region = SharedDrivenWorker::default();
        let region_tasks = RegionTaskSender::driven(workers.region.sender(), region.clone());
        let (loops, handlers) = self.open(deps, &workers, region_tasks)?;
        Ok(StoreLoops {
            loops,
            split_check: workers.split_check.into_driven(handlers.split_check),
            region: {
                region.set(workers.region.into_driven(handlers.region));
                region
            },
            raftlog_gc: workers.raftlog_gc.into_driven(handlers.raftlog_gc),
            scheduler: workers.scheduler.into_driven(handlers.scheduler),
        })
    }

    /// What both runtimes share: checks the config, registers a peer for
    /// every region on disk, queues the start messages, and builds the
    /// loops and the background workers' handlers over `workers`' queues.
    fn open(
        &mut self,
        deps: StoreDeps,
        workers: &Workers,
        region_task_sender: RegionTaskSender,
    ) -> crate::Result<(Loops, Handlers)> {
        assert!(!self.started, "raftstore started twice");
        self.started = true;
        deps.cfg
            .validate()
            .map_err(|e| crate::Error::Other(e.to_string()))?;
        deps.snap_mgr.init()?;
        let ctx = Arc::new(GlobalContext {
            cfg: deps.cfg,
            engines: deps.engines,
            store: deps.store,
            store_meta: Arc::new(Mutex::new(StoreMeta::default())),
            snap_mgr: deps.snap_mgr,
            router: self.router.clone(),
            trans: deps.trans,
            scheduler_task_sender: workers.scheduler.sender(),
            region_task_sender,
            raftlog_gc_task_sender: workers.raftlog_gc.sender(),
            split_check_task_sender: workers.split_check.sender(),
            scheduler_client: deps.scheduler_client,
        });
        let peers = load_peers(&ctx)?;
        let region_ids: Vec<u64> = peers.iter().map(|p| p.region_id).collect();
        for p in peers {
            self.router.register(p);
        }
        self.router.send_store(StoreMsg::Start {
            store: ctx.store.clone(),
        });
        for id in region_ids {
            let _ = self.router.send(id, PeerMsg::Start);
        }
        let router = RaftstoreRouter::new(self.router.clone());
        let handlers = Handlers {
            split_check: SplitCheckHandler::new(ctx.engines.kv.clone(), router.clone(), &ctx.cfg),
            region: RegionTaskHandler::new(ctx.engines.clone(), ctx.snap_mgr.clone()),
            raftlog_gc: RaftLogGcTaskHandler::new(),
            scheduler: SchedulerTaskHandler::new(
                ctx.store.id,
                ctx.scheduler_client.clone(),
                router,
            ),
        };
        let loops = Loops {
            raft_worker: RaftWorker::new(ctx.clone(), self.peer_receiver.clone()),
            store_worker: StoreWorker::new(ctx.clone(), self.store_receiver.clone()),
            tick_driver: TickDriver::new(&ctx.cfg, self.router.clone()),
        };
        Ok((loops, handlers))
    }

    /// Stops every thread and worker; pending proposals are dropped.
    pub fn shut_down(&mut self) {
        // Dropping the stop senders wakes the loops up.
        self.stop_senders.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if let Some(mut w) = self.workers.take() {
            w.split_check.stop();
            w.region.stop();
            w.raftlog_gc.stop();
            w.scheduler.stop();
        }
        // Drop whatever was still queued so that no callback waits forever
        // on a message nobody will handle.
        while self.peer_receiver.try_recv().is_ok() {}
        while self.store_receiver.try_recv().is_ok() {}
        for id in self.router.region_ids() {
            self.router.close(id);
        }
    }
}

/// Creates a peer for every live region recorded on disk; cleans up what
/// tombstoned regions left behind.
fn load_peers(ctx: &GlobalContext) -> crate::Result<Vec<Peer>> {
    let store_id = ctx.store.id;
    let mut kv_wb = WriteBatch::default();
    let mut raft_wb = WriteBatch::default();
    let mut peers = Vec::new();
    let (mut total, mut tombstones) = (0, 0);
    let mut it = CfIterator::new(&ctx.engines.kv, CF_RAFT);
    it.seek(meta::REGION_META_MIN_KEY);
    let mut meta_guard = ctx.store_meta();
    while it.valid() && it.key() < meta::REGION_META_MAX_KEY {
        let (region_id, suffix) = meta::decode_region_meta_key(it.key())?;
        if suffix == meta::SNAPSHOT_APPLY_SUFFIX {
            // Sorts right after its region's state, so a live region is
            // loaded by now (a tombstone's mark goes with its meta).
            if let Some(region) = meta_guard.regions.get(&region_id).cloned() {
                let snap_meta = SnapshotMetadata::decode(it.value())?;
                finish_snapshot_apply(ctx, &mut kv_wb, &region, &snap_meta)?;
            }
            it.next();
            continue;
        }
        if suffix != meta::REGION_STATE_SUFFIX {
            it.next();
            continue;
        }
        total += 1;
        let state = RegionLocalState::decode(it.value())?;
        let region = state.region.clone().unwrap_or_default();
        if state.state() == PeerState::Tombstone {
            tombstones += 1;
            clear_stale_meta(ctx, &mut kv_wb, &mut raft_wb, &state)?;
            it.next();
            continue;
        }
        let peer = Peer::create(
            store_id,
            &ctx.cfg,
            ctx.region_task_sender.clone(),
            ctx.engines.clone(),
            region.clone(),
        )?;
        meta_guard.insert_range(&region);
        meta_guard.regions.insert(region_id, region);
        peers.push(peer);
        it.next();
    }
    drop(meta_guard);
    ctx.engines.write_kv(&kv_wb)?;
    ctx.engines.write_raft(&raft_wb)?;
    tracing::info!(store_id, total, tombstones, "loaded peers");
    Ok(peers)
}

/// Lays down the data of a snapshot whose states were persisted before the
/// store stopped but whose data was not, then clears the mark in `kv_wb`.
/// The snapshot's file is still in the snap manager: received files are
/// deleted only once the log is compacted past them, which needs the region
/// to be running.
fn finish_snapshot_apply(
    ctx: &GlobalContext,
    kv_wb: &mut WriteBatch,
    region: &Region,
    snap_meta: &SnapshotMetadata,
) -> crate::Result<()> {
    tracing::info!(
        region_id = region.id,
        index = snap_meta.index,
        "finishing an interrupted snapshot apply"
    );
    RegionTaskHandler::new(ctx.engines.clone(), ctx.snap_mgr.clone()).apply_snap(
        region.id,
        &region.start_key,
        &region.end_key,
        snap_meta,
    )?;
    kv_wb.delete_meta(&meta::snapshot_apply_key(region.id));
    Ok(())
}

fn clear_stale_meta(
    ctx: &GlobalContext,
    kv_wb: &mut WriteBatch,
    raft_wb: &mut WriteBatch,
    origin: &RegionLocalState,
) -> crate::Result<()> {
    let region = origin.region.clone().unwrap_or_default();
    let Some(raft_state) = meta::get_raft_local_state(&ctx.engines.raft, region.id)? else {
        return Ok(());
    };
    clear_meta(
        &ctx.engines,
        kv_wb,
        raft_wb,
        region.id,
        raft_state.last_index,
    )?;
    kv_wb.set_meta(&meta::region_state_key(region.id), origin);
    Ok(())
}
