//! Logical time. The tick driver is the only reader of the wall clock in
//! the raftstore: every base tick it sends a `Tick` to each registered peer
//! and advances the store's ticker. Peers and the store count ticks and run
//! each periodic job when its turn comes.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{select, tick, Receiver};

use crate::config::Config;
use crate::raftstore::message::{PeerMsg, StoreMsg, StoreTick};
use crate::raftstore::router::Router;

/// Periodic work of a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerTick {
    Raft = 0,
    RaftLogGc = 1,
    SplitRegionCheck = 2,
    SchedulerHeartbeat = 3,
}

/// How often the store garbage-collects snapshot files.
pub const SNAP_MGR_GC_TICK_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, Default)]
struct TickSchedule {
    /// The tick at which the job runs next; -1 = never.
    run_at: i64,
    /// Ticks between runs; 0 disables the job.
    interval: i64,
}

/// A counter of base ticks with one schedule per periodic job.
#[derive(Debug, Clone)]
pub struct Ticker {
    tick: i64,
    schedules: [TickSchedule; 4],
}

fn ticks(every: Duration, base: Duration) -> i64 {
    if base.is_zero() {
        return 0;
    }
    (every.as_nanos() / base.as_nanos()) as i64
}

impl Ticker {
    fn with_intervals(intervals: [i64; 4]) -> Self {
        let mut schedules = [TickSchedule::default(); 4];
        for (s, i) in schedules.iter_mut().zip(intervals) {
            s.interval = i;
        }
        Ticker { tick: 0, schedules }
    }

    /// A peer's ticker (indexed by [`PeerTick`]).
    pub fn new_peer_ticker(cfg: &Config) -> Self {
        let base = cfg.raft_base_tick_interval;
        Self::with_intervals([
            1,
            ticks(cfg.raft_log_gc_tick_interval, base),
            ticks(cfg.split_region_check_tick_interval, base),
            ticks(cfg.scheduler_heartbeat_tick_interval, base),
        ])
    }

    /// The store's ticker (indexed by [`StoreTick`]).
    pub fn new_store_ticker(cfg: &Config) -> Self {
        let base = cfg.raft_base_tick_interval;
        Self::with_intervals([
            ticks(cfg.scheduler_store_heartbeat_tick_interval, base),
            ticks(SNAP_MGR_GC_TICK_INTERVAL, base),
            0,
            0,
        ])
    }

    /// Ticks counted so far.
    pub fn now(&self) -> i64 {
        self.tick
    }

    pub fn tick_clock(&mut self) {
        self.tick += 1;
    }

    fn schedule_at(&mut self, i: usize) {
        let s = &mut self.schedules[i];
        s.run_at = if s.interval <= 0 {
            -1
        } else {
            self.tick + s.interval
        };
    }

    /// Plans the next run of `tp`, one interval from now.
    pub fn schedule(&mut self, tp: PeerTick) {
        self.schedule_at(tp as usize)
    }

    /// True exactly on the tick `tp` is due.
    pub fn is_on_tick(&self, tp: PeerTick) -> bool {
        self.schedules[tp as usize].run_at == self.tick
    }

    pub fn schedule_store(&mut self, tp: StoreTick) {
        self.schedule_at(store_tick_index(tp))
    }

    pub fn is_on_store_tick(&self, tp: StoreTick) -> bool {
        self.schedules[store_tick_index(tp)].run_at == self.tick
    }
}

fn store_tick_index(tp: StoreTick) -> usize {
    match tp {
        StoreTick::SchedulerStoreHeartbeat => 0,
        StoreTick::SnapGc => 1,
    }
}

/// Turns wall-clock time into ticks for every peer and the store.
pub struct TickDriver {
    base_tick_interval: Duration,
    router: Arc<Router>,
    store_ticker: Ticker,
}

impl TickDriver {
    pub fn new(cfg: &Config, router: Arc<Router>) -> Self {
        let mut store_ticker = Ticker::new_store_ticker(cfg);
        store_ticker.schedule_store(StoreTick::SchedulerStoreHeartbeat);
        store_ticker.schedule_store(StoreTick::SnapGc);
        TickDriver {
            base_tick_interval: cfg.raft_base_tick_interval,
            router,
            store_ticker,
        }
    }

    /// Ticks until `stop` receives anything or is disconnected.
    pub fn run(mut self, stop: Receiver<()>) {
        let timer = tick(self.base_tick_interval);
        loop {
            select! {
                recv(timer) -> _ => self.on_base_tick(),
                recv(stop) -> _ => return,
            }
        }
    }

    /// One base tick: every registered peer and the store advance.
    pub fn on_base_tick(&mut self) {
        for region_id in self.router.region_ids() {
            let _ = self.router.send(region_id, PeerMsg::Tick);
        }
        self.store_ticker.tick_clock();
        for tp in [StoreTick::SchedulerStoreHeartbeat, StoreTick::SnapGc] {
            if self.store_ticker.is_on_store_tick(tp) {
                self.store_ticker.schedule_store(tp);
                self.router.send_store(StoreMsg::Tick(tp));
            }
        }
    }
}
