//! The bank test on the in-process raft cluster: Percolator transfers
//! between accounts spread over several regions, by 8 clients, while
//! stores restart and partitions come and go; the total checked at a
//! fresh timestamp again and again, a client killed mid-commit every
//! round, every balance reconciled with the committed transfers at the
//! end (see `common/bank.rs`).
//!
//! `TINYKV_SEED=<n>` replays the clients' and the chaos' choices.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kv::config::Config;
use kv::raftstore::scheduler_client::SchedulerClient;
use serial_test::serial;
use test_cluster::{new_test_cluster, Cluster, PartitionFilter};

#[path = "common/bank.rs"]
mod bank;
#[path = "common/inproc.rs"]
mod inproc;

use bank::{Rng, Workload};
use inproc::{LocalBackend, LocalStores};

const STORES: u64 = 3;

/// A cluster of `STORES` stores whose accounts' range is cut into several
/// regions (at filler keys, see `common/bank.rs`).
fn bank_cluster() -> Arc<Cluster> {
    let mut cfg = Config::new_test_config();
    cfg.region_max_size = bank::MAX;
    cfg.region_split_size = bank::SPLIT;
    let mut cluster = new_test_cluster(STORES as usize, cfg);
    cluster.start();
    let cluster = Arc::new(cluster);
    for (k, v) in bank::filler_load() {
        cluster.must_put(&k, &v);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let region_of = |key: &[u8]| match cluster.scheduler_client.get_region(key) {
            Ok((Some(r), _)) => Some(r.id),
            _ => None,
        };
        let accounts: Vec<u64> = (0..bank::ACCOUNTS)
            .filter_map(|i| region_of(&bank::account(i)))
            .collect();
        let tail = region_of(bank::TAIL).unwrap_or(0);
        if bank::regions_made(&accounts, tail, deadline) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cluster
}

/// A store restart on even rounds, a store cut off from the others on odd
/// ones, each for half a second to a second and a half.
fn chaos(cluster: &Cluster, round: usize, rng: &mut Rng) {
    let store = 1 + rng.below(STORES);
    let pause = Duration::from_millis(500 + rng.below(1000));
    if round.is_multiple_of(2) {
        eprintln!("bank: round {round}: restart store {store} after {pause:?}");
        cluster.stop_server(store);
        std::thread::sleep(pause);
        cluster.start_server(store);
    } else {
        eprintln!("bank: round {round}: store {store} partitioned for {pause:?}");
        let others = (1..=STORES).filter(|&s| s != store).collect();
        cluster.add_filter(Box::new(PartitionFilter {
            s1: vec![store],
            s2: others,
        }));
        std::thread::sleep(pause);
        cluster.clear_filters();
    }
}

/// Runs `workload` on a fresh bank cluster, with [`chaos`] before each of
/// its rounds.
fn run_bank(workload: Workload) -> bank::Report {
    let cluster = bank_cluster();
    let _guard = cluster.shutdown_guard();
    let backend = LocalBackend(LocalStores::new(cluster.clone()));
    bank::run(
        Arc::new(backend),
        workload,
        |round, rng| chaos(&cluster, round, rng),
        || cluster.clear_filters(),
    )
}

#[test]
#[serial]
fn bank_txn_cluster() {
    run_bank(Workload::chaos(bank::seed())).assert_chaos_run("bank_txn_cluster");
}

/// The bank workload's throughput on 3 stores with 16 clients, nothing
/// failing (a workload without rounds): `cargo test --release --test
/// bank_txn_cluster -- --ignored --nocapture`.
#[test]
#[serial]
#[ignore]
fn bank_txn_throughput() {
    run_bank(Workload::throughput(bank::seed()))
        .print("bank_txn_throughput (in-process, 3 stores, 16 clients)");
}
