//! The store's configuration (TinyKV's `kv/config`): the same fields as Go,
//! in Rust case, with intervals as [`Duration`]s, and the same two presets.

use std::time::Duration;

use thiserror::Error;

use crate::util::engine_util::EngineOptions;

pub const KB: u64 = 1024;
pub const MB: u64 = 1024 * 1024;

/// The environment variable that sets [`Config::log_level`].
pub const LOG_LEVEL_ENV: &str = "LOG_LEVEL";

/// Why [`Config::validate`] rejected a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("heartbeat tick must greater than 0")]
    ZeroHeartbeatTick,
    #[error("election tick must be greater than heartbeat tick")]
    ElectionTickNotAboveHeartbeat,
    #[error("raft max inflight msgs must be greater than 0")]
    ZeroMaxInflightMsgs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Address this store serves on and registers with the scheduler.
    pub store_addr: String,
    /// Raft-replicated storage (true) or standalone storage (false).
    pub raft: bool,
    /// Scheduler endpoints, comma-separated.
    pub scheduler_addr: String,
    /// `fatal`, `error`, `warn`/`warning`, `info` or `debug`: `$LOG_LEVEL`
    /// when set, `info` otherwise.
    pub log_level: String,

    /// Data directory; the engines live in `kv/` and `raft/` below it,
    /// snapshot files in `snap/`.
    pub db_path: String,

    /// Length of one logical raft tick.
    pub raft_base_tick_interval: Duration,
    /// Ticks between leader heartbeats.
    pub raft_heartbeat_ticks: usize,
    /// Base election timeout in ticks (randomised to `[n, 2n)` by raft).
    pub raft_election_timeout_ticks: usize,
    /// Flow control of a leader's appends (not in Go, whose raft sends a
    /// follower its whole missing log at once): at most this many bytes of
    /// entries in one append...
    pub raft_max_size_per_msg: u64,
    /// ...and at most this many appends in flight to one follower.
    pub raft_max_inflight_msgs: usize,
    /// Elections with a pre-vote round (not in Go): a peer that could not
    /// win (its log behind, or cut off) never raises the term, so it does
    /// not depose a working leader. See raft's `Config::pre_vote`.
    pub raft_pre_vote: bool,
    /// A candidate asks again, every heartbeat, the members that have not
    /// answered its (pre-)vote request (not in Go). Without it one lost
    /// message costs an election timeout: under the chaos suites' drop
    /// filters a region could stay leaderless for seconds. See raft's
    /// `Config::retry_vote_requests`.
    pub raft_retry_vote_requests: bool,
    /// Whether raft state and entries are fsynced before the messages
    /// that depend on them leave. Always on for a real store; the
    /// deterministic simulator turns it off, as its "crashes" are orderly
    /// stops of one process whose writes the OS keeps anyway.
    pub raft_sync_log: bool,
    /// Whether a leader serves read-only commands (Gets and Snaps) without
    /// a log entry, once a round of heartbeats has confirmed it still leads
    /// (raft's ReadIndex). Off, every read goes through the log, as in
    /// TinyKV Go.
    pub raft_read_index: bool,
    /// Mixed into every peer's election-timeout generator (0 = none): the
    /// deterministic simulator passes its seed here, so that each seed
    /// draws other timeouts.
    pub raft_seed: u64,

    /// How often a leader considers compacting its raft log.
    pub raft_log_gc_tick_interval: Duration,
    /// A log compaction is proposed once this many applied entries are kept.
    pub raft_log_gc_count_limit: u64,

    /// How often a leader checks whether its region needs a split.
    pub split_region_check_tick_interval: Duration,
    /// How often a leader reports its region to the scheduler.
    pub scheduler_heartbeat_tick_interval: Duration,
    /// How often the store reports itself to the scheduler.
    pub scheduler_store_heartbeat_tick_interval: Duration,

    /// A region is split once its size reaches this many bytes...
    pub region_max_size: u64,
    /// ...into pieces of about this many bytes.
    pub region_split_size: u64,

    /// RocksDB tuning of both engines (not in Go, whose badger options are
    /// fixed): production sizes by default, small ones in the test preset.
    pub engine: EngineOptions,
}

impl Default for Config {
    fn default() -> Self {
        Self::new_default_config()
    }
}

/// `$LOG_LEVEL` if set and non-empty, else `info`.
pub fn get_log_level() -> String {
    match std::env::var(LOG_LEVEL_ENV) {
        Ok(level) if !level.is_empty() => level,
        _ => "info".to_string(),
    }
}

impl Config {
    /// Settings for a real store (TinyKV's `NewDefaultConfig`).
    pub fn new_default_config() -> Self {
        Config {
            store_addr: "127.0.0.1:20160".to_string(),
            raft: true,
            scheduler_addr: "127.0.0.1:2379".to_string(),
            log_level: get_log_level(),
            db_path: "/tmp/badger".to_string(),
            raft_base_tick_interval: Duration::from_secs(1),
            raft_heartbeat_ticks: 2,
            raft_election_timeout_ticks: 10,
            raft_max_size_per_msg: MB,
            raft_max_inflight_msgs: 256,
            raft_pre_vote: true,
            raft_retry_vote_requests: true,
            raft_sync_log: true,
            raft_read_index: true,
            raft_seed: 0,
            raft_log_gc_tick_interval: Duration::from_secs(10),
            // Assuming entries of about 1 KiB.
            raft_log_gc_count_limit: 128_000,
            split_region_check_tick_interval: Duration::from_secs(10),
            scheduler_heartbeat_tick_interval: Duration::from_secs(10),
            scheduler_store_heartbeat_tick_interval: Duration::from_secs(10),
            region_max_size: 144 * MB,
            region_split_size: 96 * MB,
            engine: EngineOptions::default(),
        }
    }

    /// Settings for the test cluster (TinyKV's `NewTestConfig`): 50 ms
    /// ticks, so elections take 0.5–1 s; no addresses; small engines.
    pub fn new_test_config() -> Self {
        Config {
            store_addr: String::new(),
            scheduler_addr: String::new(),
            raft_base_tick_interval: Duration::from_millis(50),
            raft_log_gc_tick_interval: Duration::from_millis(50),
            split_region_check_tick_interval: Duration::from_millis(100),
            scheduler_heartbeat_tick_interval: Duration::from_millis(100),
            scheduler_store_heartbeat_tick_interval: Duration::from_millis(500),
            engine: EngineOptions::small(),
            // Everything else (tick counts, raft limits, log GC count,
            // region sizes) is what a real store uses.
            ..Config::new_default_config()
        }
    }

    /// Rejects tick settings raft cannot run with. Warns (without failing)
    /// when the election timeout is not the 10 ticks every store of a
    /// cluster is expected to share.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.raft_heartbeat_ticks == 0 {
            return Err(ConfigError::ZeroHeartbeatTick);
        }
        if self.raft_election_timeout_ticks != 10 {
            tracing::warn!(
                ticks = self.raft_election_timeout_ticks,
                "election timeout ticks should be the same on every store of the cluster, \
                 otherwise it may lead to inconsistency"
            );
        }
        if self.raft_election_timeout_ticks <= self.raft_heartbeat_ticks {
            return Err(ConfigError::ElectionTickNotAboveHeartbeat);
        }
        if self.raft_max_inflight_msgs == 0 {
            return Err(ConfigError::ZeroMaxInflightMsgs);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What both presets share: raft's timing in ticks, flow control, the
    /// liveness options, the log's count limit and the region sizes.
    fn assert_shared_values(c: &Config) {
        assert!(c.raft);
        assert_eq!(
            (c.raft_heartbeat_ticks, c.raft_election_timeout_ticks),
            (2, 10)
        );
        assert_eq!(
            (c.raft_max_size_per_msg, c.raft_max_inflight_msgs),
            (MB, 256)
        );
        assert!(c.raft_pre_vote && c.raft_retry_vote_requests);
        assert_eq!(c.raft_log_gc_count_limit, 128_000);
        assert_eq!(
            (c.region_max_size, c.region_split_size),
            (144 * MB, 96 * MB)
        );
        c.validate().unwrap();
    }

    /// The base tick, then the raft log GC, split check, region and store
    /// heartbeat ticks.
    fn intervals(c: &Config) -> [Duration; 5] {
        [
            c.raft_base_tick_interval,
            c.raft_log_gc_tick_interval,
            c.split_region_check_tick_interval,
            c.scheduler_heartbeat_tick_interval,
            c.scheduler_store_heartbeat_tick_interval,
        ]
    }

    #[test]
    fn presets_carry_go_values() {
        let ms = Duration::from_millis;
        let d = Config::new_default_config();
        assert_shared_values(&d);
        assert_eq!(
            (
                d.store_addr.as_str(),
                d.scheduler_addr.as_str(),
                d.db_path.as_str()
            ),
            ("127.0.0.1:20160", "127.0.0.1:2379", "/tmp/badger")
        );
        assert_eq!(
            intervals(&d),
            [ms(1_000), ms(10_000), ms(10_000), ms(10_000), ms(10_000)]
        );
        assert_eq!(d.engine, EngineOptions::default());

        let t = Config::new_test_config();
        assert_shared_values(&t);
        assert_eq!((t.store_addr.as_str(), t.scheduler_addr.as_str()), ("", ""));
        assert_eq!(intervals(&t), [ms(50), ms(50), ms(100), ms(100), ms(500)]);
        assert_eq!(t.engine, EngineOptions::small());

        assert_eq!((KB, MB), (1024, 1024 * 1024));
    }

    #[test]
    fn log_level_comes_from_env_or_info() {
        // Whatever the environment of this test run says is what both
        // presets pick up.
        let expected = std::env::var(LOG_LEVEL_ENV)
            .ok()
            .filter(|l| !l.is_empty())
            .unwrap_or("info".into());
        assert_eq!(get_log_level(), expected);
        assert_eq!(Config::new_test_config().log_level, expected);
        assert_eq!(Config::new_default_config().log_level, expected);
    }

    #[test]
    fn validate_rejects_bad_ticks() {
        let mut c = Config::new_test_config();
        c.raft_heartbeat_ticks = 0;
        assert_eq!(c.validate(), Err(ConfigError::ZeroHeartbeatTick));
        c.raft_heartbeat_ticks = 10;
        assert_eq!(
            c.validate(),
            Err(ConfigError::ElectionTickNotAboveHeartbeat)
        );
        c.raft_election_timeout_ticks = 20;
        assert_eq!(c.validate(), Ok(()));
        c.raft_max_inflight_msgs = 0;
        assert_eq!(c.validate(), Err(ConfigError::ZeroMaxInflightMsgs));
    }
}
