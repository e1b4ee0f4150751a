//! Go's `GenericTest`, the workload behind 27 of the 2B/2C/3B tests: its
//! settings (one table, [`GENERIC_TESTS`], for the threaded suite and its
//! simulated twins alike), and the pieces both runtimes check with.
//!
//! The workload, per Go's test_test.go: five stores; for three iterations,
//! `clients` clients append `x <client> <n> y` values under their own keys
//! and scan them back for 5 s, while (as configured) a partitioner cuts the
//! network at random and drops messages, a conf changer adds and removes
//! peers, and regions split; then every store may restart, each client's
//! keys are checked and deleted, and the raft logs must have been trimmed.

use kv::config::Config;
use kv::raftstore::meta;
use kv::util::engine_util::Engines;

/// One configuration of Go's `GenericTest`, field for field (Go passes
/// them positionally: part, nclients, unreliable, crash, partitions,
/// maxraftlog, confchange, split).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenericTest {
    /// The test's Go name.
    pub name: &'static str,
    /// Clients appending and scanning concurrently.
    pub clients: usize,
    /// Drop about one message in ten.
    pub unreliable: bool,
    /// Restart every store after each round of clients.
    pub crash: bool,
    /// Partition the stores at random, again and again.
    pub partitions: bool,
    /// Go's maxraftlog: the raft log GC count limit, and a check that logs
    /// were trimmed (`None` is Go's -1).
    pub max_raft_log: Option<u64>,
    /// Add and remove peers at random meanwhile.
    pub conf_change: bool,
    /// Small regions, so that they split.
    pub split: bool,
}

/// Stores of every GenericTest cluster.
pub const GENERIC_STORES: usize = 5;

/// Iterations of clients, chaos and checks.
pub const GENERIC_ITERATIONS: usize = 3;

/// How long the clients run in each iteration, in milliseconds.
pub const GENERIC_CLIENT_MS: u64 = 5_000;

const fn gt(
    name: &'static str,
    clients: usize,
    [unreliable, crash, partitions]: [bool; 3],
    max_raft_log: Option<u64>,
    [conf_change, split]: [bool; 2],
) -> GenericTest {
    GenericTest {
        name,
        clients,
        unreliable,
        crash,
        partitions,
        max_raft_log,
        conf_change,
        split,
    }
}

const N: bool = false;
const Y: bool = true;

/// Every GenericTest of the Go suites. Columns: name, clients,
/// [unreliable, crash, partitions], maxraftlog, [confchange, split].
#[rustfmt::skip]
pub const GENERIC_TESTS: [GenericTest; 27] = [
    gt("TestBasic2B",                                   1, [N, N, N], None,      [N, N]),
    gt("TestConcurrent2B",                              5, [N, N, N], None,      [N, N]),
    gt("TestUnreliable2B",                              5, [Y, N, N], None,      [N, N]),
    gt("TestManyPartitionsOneClient2B",                 1, [N, N, Y], None,      [N, N]),
    gt("TestManyPartitionsManyClients2B",               5, [N, N, Y], None,      [N, N]),
    gt("TestPersistOneClient2B",                        1, [N, Y, N], None,      [N, N]),
    gt("TestPersistConcurrent2B",                       5, [N, Y, N], None,      [N, N]),
    gt("TestPersistConcurrentUnreliable2B",             5, [Y, Y, N], None,      [N, N]),
    gt("TestPersistPartition2B",                        5, [N, Y, Y], None,      [N, N]),
    gt("TestPersistPartitionUnreliable2B",              5, [Y, Y, Y], None,      [N, N]),
    gt("TestSnapshotRecover2C",                         1, [N, Y, N], Some(100), [N, N]),
    gt("TestSnapshotRecoverManyClients2C",             20, [N, Y, N], Some(100), [N, N]),
    gt("TestSnapshotUnreliable2C",                      5, [Y, N, N], Some(100), [N, N]),
    gt("TestSnapshotUnreliableRecover2C",               5, [Y, Y, N], Some(100), [N, N]),
    gt("TestSnapshotUnreliableRecoverConcurrentPartition2C", 5, [Y, Y, Y], Some(100), [N, N]),
    gt("TestConfChangeRecover3B",                       1, [N, Y, N], None,      [Y, N]),
    gt("TestConfChangeRecoverManyClients3B",           20, [N, Y, N], None,      [Y, N]),
    gt("TestConfChangeUnreliable3B",                    5, [Y, N, N], None,      [Y, N]),
    gt("TestConfChangeUnreliableRecover3B",             5, [Y, Y, N], None,      [Y, N]),
    gt("TestConfChangeSnapshotUnreliableRecover3B",     5, [Y, Y, N], Some(100), [Y, N]),
    gt("TestConfChangeSnapshotUnreliableRecoverConcurrentPartition3B", 5, [Y, Y, Y], Some(100), [Y, N]),
    gt("TestSplitRecover3B",                            1, [N, Y, N], None,      [N, Y]),
    gt("TestSplitRecoverManyClients3B",                20, [N, Y, N], None,      [N, Y]),
    gt("TestSplitUnreliable3B",                         5, [Y, N, N], None,      [N, Y]),
    gt("TestSplitUnreliableRecover3B",                  5, [Y, Y, N], None,      [N, Y]),
    gt("TestSplitConfChangeSnapshotUnreliableRecover3B", 5, [Y, Y, N], Some(100), [Y, Y]),
    gt("TestSplitConfChangeSnapshotUnreliableRecoverConcurrentPartition3B", 5, [Y, Y, Y], Some(100), [Y, Y]),
];

impl GenericTest {
    /// The GenericTest of this Go name. Panics if there is none.
    pub fn named(name: &str) -> GenericTest {
        *GENERIC_TESTS
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no GenericTest named {name}"))
    }

    /// `base` with this test's changes: the log GC limit, small regions.
    pub fn config(&self, mut base: Config) -> Config {
        if let Some(n) = self.max_raft_log {
            base.raft_log_gc_count_limit = n;
        }
        if self.split {
            base.region_max_size = 300;
            base.region_split_size = 200;
        }
        base
    }
}

/// The key of a client's `j`th append.
pub fn client_key(cli: usize, j: usize) -> String {
    format!("{} {:08}", cli, j)
}

/// The value of a client's `j`th append.
pub fn client_value(cli: usize, j: usize) -> String {
    format!("x {} {} y", cli, j)
}

/// Panics unless `v` holds the client's first `count` appends, each once,
/// in order (Go's `checkClntAppends`).
pub fn check_clnt_appends(clnt: usize, v: &str, count: usize) {
    let mut last_off: Option<usize> = None;
    for j in 0..count {
        let wanted = client_value(clnt, j);
        let Some(off) = v.find(&wanted) else {
            panic!("{} missing element {} in Append result {}", clnt, wanted, v);
        };
        let off1 = v.rfind(&wanted).unwrap();
        assert!(off1 == off, "duplicate element {} in Append result", wanted);
        assert!(
            last_off.is_none_or(|l| off > l),
            "wrong order for element {} in Append result",
            wanted
        );
        last_off = Some(off);
    }
}

/// Panics unless the store's raft log of `region_id` was compacted to
/// within twice `max` entries of what it applied (Go's log-trim check;
/// a store without the region passes). `context` ends the message.
pub fn check_log_trimmed(engines: &Engines, region_id: u64, max: u64, context: &str) {
    let Some(state) = meta::get_apply_state(&engines.kv, region_id).unwrap() else {
        return;
    };
    let truncated = state.truncated_state.unwrap_or_default().index;
    let applied = state.applied_index;
    assert!(
        applied - truncated <= 2 * max,
        "logs were not trimmed ({} - {} > 2*{}){}",
        applied,
        truncated,
        max,
        context
    );
}
