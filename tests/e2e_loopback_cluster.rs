//! End to end: one mock-scheduler and three tinykv-server processes on
//! loopback, driven through gRPC by the cluster client. Everything is torn
//! down at the end, whatever happens (the processes are killed on drop).

use std::time::{Duration, Instant};

use kv::server::client::ClusterClient;

#[path = "common/loopback.rs"]
mod loopback;

use loopback::{LoopbackCluster, RegionSizes};

/// Small regions, so that the data below splits them.
const REGION_MAX_SIZE: u64 = 64 * 1024;

fn key(i: usize) -> Vec<u8> {
    format!("key-{i:06}").into_bytes()
}

/// About 120 bytes, so that 1,000 keys make about 2 regions' worth.
fn value(i: usize, round: usize) -> Vec<u8> {
    let mut v = format!("value-{i}-{round}-").into_bytes();
    v.resize(120, b'.');
    v
}

async fn check_all(c: &mut ClusterClient, n: usize, round_of: impl Fn(usize) -> usize) {
    for i in 0..n {
        let got = c.get("default", &key(i)).await.expect("get");
        assert_eq!(got, Some(value(i, round_of(i))), "key {i}");
    }
}

#[test]
fn e2e_loopback_cluster() {
    let mut cluster = LoopbackCluster::start(
        3,
        RegionSizes {
            max: REGION_MAX_SIZE,
            split: REGION_MAX_SIZE * 2 / 3,
        },
    );
    let scheduler = cluster.scheduler.clone();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut c = ClusterClient::connect(&scheduler).await.expect("connect");
        const N: usize = 1000;
        let mut latencies = Vec::with_capacity(N);
        let start = Instant::now();
        for i in 0..N {
            let t = Instant::now();
            c.put("default", &key(i), &value(i, 0)).await.expect("put");
            latencies.push(t.elapsed());
        }
        let secs = start.elapsed().as_secs_f64();
        latencies.sort();
        eprintln!(
            "e2e: {N} sequential puts in {secs:.2} s: {:.0} puts/s, p50 {:?}, p99 {:?}",
            N as f64 / secs,
            latencies[N / 2],
            latencies[N * 99 / 100]
        );
        check_all(&mut c, N, |_| 0).await;
        // ~130 KB with 64 KiB regions: the region has split (split check,
        // AskSplit over gRPC, the split applied, heartbeats), and reads
        // across the new regions still find every key.
        let deadline = Instant::now() + Duration::from_secs(20);
        while c.region_count().await.expect("scan regions") < 2 {
            assert!(Instant::now() < deadline, "the first region never split");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        check_all(&mut c, N, |_| 0).await;

        // Lose a store: the others keep serving.
        cluster.kill_store(0);
        for i in 0..N / 2 {
            c.put("default", &key(i), &value(i, 1))
                .await
                .expect("put without s0");
        }
        check_all(&mut c, N, |i| usize::from(i < N / 2)).await;

        // Bring it back and make it needed: with another store down, the
        // quorum is the restarted one and the survivor, so everything read
        // now went through a store that had to catch up.
        cluster.start_store(0);
        tokio::time::sleep(Duration::from_secs(2)).await;
        cluster.kill_store(1);
        check_all(&mut c, N, |i| usize::from(i < N / 2)).await;
        for i in N / 2..N {
            c.put("default", &key(i), &value(i, 2))
                .await
                .expect("put after restart");
        }
        check_all(&mut c, N, |i| if i < N / 2 { 1 } else { 2 }).await;
        eprintln!(
            "e2e: {} regions at the end, {} retries along the way",
            c.region_count().await.unwrap_or(0),
            c.retries
        );
    });
    drop(cluster);
}
