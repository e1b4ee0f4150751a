//! The bank test on a loopback gRPC cluster: one `mock-scheduler` and
//! three `tinykv-server` processes, 8 Percolator clients over gRPC
//! (timestamps from the scheduler's Tso stream), while stores are killed
//! and restarted, or frozen (SIGSTOP: cut off from everyone) and thawed;
//! the same checks as the in-process bank test (see `common/bank.rs`).
//!
//! Needs the workspace's binaries (`cargo build --release --workspace`).
//! `TINYKV_SEED=<n>` replays the clients' and the chaos' choices.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kv::server::client::ClusterClient;
use kv::server::txn_client::{GrpcBackend, TxnBackend};
use serial_test::serial;

#[path = "common/bank.rs"]
mod bank;
#[path = "common/loopback.rs"]
mod loopback;

use bank::{Rng, Workload};
use loopback::{LoopbackCluster, RegionSizes};

struct Grpc {
    scheduler: String,
}

impl bank::Connect for Grpc {
    type Backend = GrpcBackend;

    async fn connect(&self) -> GrpcBackend {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match GrpcBackend::connect(&self.scheduler).await {
                Ok(b) => return b,
                Err(e) if Instant::now() > deadline => panic!("connect to the scheduler: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

/// Three stores whose accounts' range is cut into several regions (at
/// filler keys, see `common/bank.rs`).
fn bank_cluster() -> LoopbackCluster {
    let cluster = LoopbackCluster::start(
        3,
        RegionSizes {
            max: bank::MAX,
            split: bank::SPLIT,
        },
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut raw = ClusterClient::connect(&cluster.scheduler)
            .await
            .expect("connect");
        for (k, v) in bank::filler_load() {
            raw.put("default", &k, &v).await.expect("filler put");
        }
        let backend = Grpc {
            scheduler: cluster.scheduler.clone(),
        };
        let mut locate = bank::Connect::connect(&backend).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut accounts = Vec::new();
            for i in 0..bank::ACCOUNTS {
                if let Ok((r, _)) = locate.locate(&bank::account(i)).await {
                    accounts.push(r.id);
                }
            }
            let tail = locate.locate(bank::TAIL).await.map_or(0, |(r, _)| r.id);
            if bank::regions_made(&accounts, tail, deadline) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    cluster
}

/// A store killed and restarted on even rounds, frozen and thawed on odd
/// ones, after half a second to a second and a half.
fn chaos(cluster: &Mutex<LoopbackCluster>, round: usize, rng: &mut Rng) {
    let mut cluster = cluster.lock().unwrap();
    let store = rng.below(cluster.stores() as u64) as usize;
    let pause = Duration::from_millis(500 + rng.below(1000));
    if round.is_multiple_of(2) {
        eprintln!("bank: round {round}: store s{store} killed for {pause:?}");
        cluster.kill_store(store);
        std::thread::sleep(pause);
        cluster.start_store(store);
    } else {
        eprintln!("bank: round {round}: store s{store} frozen for {pause:?}");
        cluster.pause_store(store);
        std::thread::sleep(pause);
        cluster.resume_store(store);
    }
}

/// Runs `workload` on a fresh loopback cluster, with [`chaos`] before
/// each of its rounds.
fn run_bank(workload: Workload) -> bank::Report {
    let cluster = bank_cluster();
    let conn = Arc::new(Grpc {
        scheduler: cluster.scheduler.clone(),
    });
    let cluster = Mutex::new(cluster);
    bank::run(
        conn,
        workload,
        |round, rng| chaos(&cluster, round, rng),
        || {},
    )
}

#[test]
#[serial]
fn bank_txn_loopback() {
    run_bank(Workload::chaos(bank::seed())).assert_chaos_run("bank_txn_loopback");
}

/// The bank workload's throughput over gRPC on 3 stores with 16 clients,
/// nothing failing (a workload without rounds): `cargo test --release
/// --test bank_txn_loopback -- --ignored --nocapture`.
#[test]
#[serial]
#[ignore]
fn bank_txn_loopback_throughput() {
    run_bank(Workload::throughput(bank::seed()))
        .print("bank_txn_loopback_throughput (gRPC, 3 stores, 16 clients)");
}
