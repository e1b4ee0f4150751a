//! TinyKV's raftstore suites (kv/test_raftstore/test_test.go): 2B, 2C and
//! 3B, under their Go names, run one at a time.
#![allow(non_snake_case)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use kv::config::Config;
use kv::raftstore::meta;
use kv::util::engine_util::{CF_DEFAULT, CF_LOCK};
use proto::metapb::Region;
use scheduler_mock::find_peer;
use serial_test::serial;
use test_cluster::generic::{
    check_clnt_appends, check_log_trimmed, client_key, client_value, GenericTest,
    GENERIC_CLIENT_MS, GENERIC_ITERATIONS, GENERIC_STORES,
};
use test_cluster::*;

/// The suites' randomness: seeded per test (printed, and settable through
/// `TINYKV_SEED`) so that a failing schedule can be replayed.
struct Rand(Mutex<test_cluster::Rng>);

impl Rand {
    fn new() -> Self {
        let seed = test_cluster::test_seed();
        // Printed again for this test's own output (the process prints it
        // once, in whichever test asks first).
        eprintln!("TINYKV_SEED={}", seed);
        Rand(Mutex::new(test_cluster::Rng::new(seed)))
    }

    fn next(&self) -> u64 {
        self.0.lock().unwrap().next_u64()
    }
}

fn network_chaos(
    cluster: &Cluster,
    rand: &Rand,
    done: &AtomicBool,
    unreliable: bool,
    partitions: bool,
    election_timeout: Duration,
) {
    while !done.load(Ordering::SeqCst) {
        if partitions {
            let a: Vec<u64> = (0..cluster.count).map(|_| rand.next() % 2).collect();
            let mut pa = [Vec::new(), Vec::new()];
            for j in 1..=cluster.count {
                pa[a[j - 1] as usize].push(j as u64);
            }
            cluster.clear_filters();
            cluster.add_filter(Box::new(PartitionFilter {
                s1: pa[0].clone(),
                s2: pa[1].clone(),
            }));
        }
        if unreliable {
            cluster.add_filter(Box::new(DropFilter::new(rand.next())));
        }
        thread::sleep(election_timeout + Duration::from_millis(rand.next() % 200));
    }
}

fn conf_changer(cluster: &Cluster, rand: &Rand, done: &AtomicBool) {
    let count = cluster.count as u64;
    while !done.load(Ordering::SeqCst) {
        let region = random_region_with_leader(cluster);
        let store = rand.next() % count + 1;
        if let Some(p) = find_peer(&region, store) {
            if region.peers.len() > 1 {
                cluster.must_remove_peer(region.id, *p);
            }
        } else {
            cluster.must_add_peer(region.id, cluster.alloc_peer(store));
        }
        thread::sleep(Duration::from_millis(rand.next() % 200));
    }
}

/// A region whose leader the scheduler knows, waiting (≈ 5 s) for a first
/// heartbeat if there is none yet. Go's conf changer takes a nil region
/// then and fails the test 5 s later in `MustHavePeer`; a slow first
/// election is no bug of the store, so we wait the same 5 s for a leader
/// instead, and fail only if none shows up.
fn random_region_with_leader(cluster: &Cluster) -> Region {
    wait_until(500, 10, || cluster.get_random_region())
        .unwrap_or_else(|| panic!("no region with a leader after 5 s"))
}

/// Fails the test with the conf changer's panic, if it has ended with one.
/// (In Go a panicking conf changer ends the test process; ours is a thread
/// the test never waits for, so its death has to be looked for.)
fn check_conf_changer(handle: &mut Option<thread::JoinHandle<()>>, wait: bool) {
    if !handle.as_ref().is_some_and(|h| wait || h.is_finished()) {
        return;
    }
    if let Err(payload) = handle.take().unwrap().join() {
        panic!(
            "the conf changer failed: {}",
            panics::message(payload.as_ref())
        );
    }
}

/// Go's `GenericTest` on threads and the wall clock. Its settings, one
/// per test, are in `test_cluster::generic::GENERIC_TESTS`; its simulated
/// twin (virtual time, one seed) is `test_cluster::sim::run_generic`.
fn generic_test(t: GenericTest) {
    let GenericTest {
        name,
        clients: nclients,
        unreliable,
        crash,
        partitions,
        max_raft_log,
        conf_change: confchange,
        split,
    } = t;
    let maxraftlog: i64 = max_raft_log.map_or(-1, |n| n as i64);
    let nservers = GENERIC_STORES;
    let cfg = t.config(Config::new_test_config());
    let mut cluster = new_test_cluster(nservers, cfg.clone());
    cluster.start();
    let cluster = Arc::new(cluster);
    let _shutdown = cluster.shutdown_guard();
    let rand = Arc::new(Rand::new());
    // Every attempt of the clients and of the checks, for the
    // linearizability check at the end (the checks are the last client).
    let rec = Arc::new(lincheck::Recorder::default());

    let election_timeout = cfg.raft_base_tick_interval * cfg.raft_election_timeout_ticks as u32;
    thread::sleep(2 * election_timeout);

    let done_confchanger = Arc::new(AtomicBool::new(false));
    // The conf changer is not waited for, as in Go: it may still be inside
    // a must_* call while later phases run. Its failure fails the test
    // (checked after each iteration, and waited for at the end).
    let mut confchanger = None;
    for iteration in 0..GENERIC_ITERATIONS {
        let done_clients = Arc::new(AtomicBool::new(false));
        let done_partitioner = Arc::new(AtomicBool::new(false));
        let counts: Vec<Arc<AtomicU64>> =
            (0..nclients).map(|_| Arc::new(AtomicU64::new(0))).collect();
        let scans = Arc::new(AtomicU64::new(0));
        let clients: Vec<_> = (0..nclients)
            .map(|cli| {
                let (cluster, rec, rand, done, count, scans) = (
                    cluster.clone(),
                    rec.clone(),
                    rand.clone(),
                    done_clients.clone(),
                    counts[cli].clone(),
                    scans.clone(),
                );
                thread::spawn(move || {
                    let client = cluster.recorded(&rec, cli as u64);
                    let mut j = 0;
                    let mut last = String::new();
                    while !done.load(Ordering::SeqCst) {
                        if rand.next() % 1000 < 500 {
                            let key = client_key(cli, j);
                            let value = client_value(cli, j);
                            client.must_put(key.as_bytes(), value.as_bytes());
                            last.push_str(&value);
                            j += 1;
                            count.store(j as u64, Ordering::SeqCst);
                        } else {
                            let start = client_key(cli, 0);
                            let end = client_key(cli, j);
                            let values = client.scan(start.as_bytes(), end.as_bytes());
                            scans.fetch_add(1, Ordering::SeqCst);
                            let v = String::from_utf8(values.concat()).unwrap();
                            assert!(
                                v == last,
                                "get wrong value, client {}\nwant:{}\ngot: {}\n",
                                cli,
                                last,
                                v
                            );
                        }
                    }
                })
            })
            .collect();

        let mut partitioner = None;
        if unreliable || partitions {
            thread::sleep(Duration::from_millis(300));
            let (cluster, rand, done) = (cluster.clone(), rand.clone(), done_partitioner.clone());
            partitioner = Some(thread::spawn(move || {
                network_chaos(
                    &cluster,
                    &rand,
                    &done,
                    unreliable,
                    partitions,
                    election_timeout,
                )
            }));
        }
        if confchange {
            thread::sleep(Duration::from_millis(100));
            // Go starts a conf changer every iteration but never clears its
            // done flag, so only the first one does anything.
            if iteration == 0 {
                let (cluster, rand, done) =
                    (cluster.clone(), rand.clone(), done_confchanger.clone());
                confchanger = Some(thread::spawn(move || conf_changer(&cluster, &rand, &done)));
            }
        }
        thread::sleep(Duration::from_millis(GENERIC_CLIENT_MS));
        let t_stop = Instant::now();
        done_clients.store(true, Ordering::SeqCst);
        done_partitioner.store(true, Ordering::SeqCst);
        done_confchanger.store(true, Ordering::SeqCst);
        if let Some(p) = partitioner {
            p.join().expect("partitioner");
            cluster.clear_filters();
            thread::sleep(election_timeout);
        }
        for c in clients {
            if let Err(payload) = c.join() {
                panic!("a client failed: {}", panics::message(payload.as_ref()));
            }
        }
        check_conf_changer(&mut confchanger, false);
        let puts: u64 = counts.iter().map(|c| c.load(Ordering::SeqCst)).sum();
        eprintln!(
            "generic-test name={} iteration={} clients={} puts={} scans={}",
            name,
            iteration,
            nclients,
            puts,
            scans.load(Ordering::SeqCst)
        );

        let t_restart = Instant::now();
        if crash {
            for i in 1..=nservers as u64 {
                cluster.stop_server(i);
            }
            thread::sleep(election_timeout);
            for i in 1..=nservers as u64 {
                cluster.start_server(i);
            }
        }

        let t_check = Instant::now();
        let checker = cluster.recorded(&rec, nclients as u64);
        for (cli, count) in counts.iter().enumerate() {
            let j = count.load(Ordering::SeqCst) as usize;
            let start = client_key(cli, 0);
            let end = client_key(cli, j);
            let values = checker.scan(start.as_bytes(), end.as_bytes());
            let v = String::from_utf8(values.concat()).unwrap();
            check_clnt_appends(cli, &v, j);
            for k in 0..j {
                checker.must_delete(client_key(cli, k).as_bytes());
            }
        }

        let t_log = Instant::now();
        if maxraftlog > 0 {
            thread::sleep(Duration::from_secs(1));
            let mut key = Vec::new();
            loop {
                let region = cluster.get_region(&key);
                for store_id in 1..=nservers as u64 {
                    check_log_trimmed(cluster.engines(store_id), region.id, maxraftlog as u64, "");
                }
                key = region.end_key.clone();
                if key.is_empty() {
                    break;
                }
            }
        }

        if split {
            let r = cluster.get_region(b"");
            assert!(!r.end_key.is_empty(), "region is not split");
        }
        // Where the iteration's time went after the clients' 5 s: stopping
        // clients and chaos, the restart, the check-and-delete of every key
        // written (one MustDelete at a time, as Go), and the log-trim check.
        eprintln!(
            "generic-test-phases name={} iteration={} stop={:.2}s restart={:.2}s check_delete={:.2}s log_check={:.2}s",
            name,
            iteration,
            (t_restart - t_stop).as_secs_f64(),
            (t_check - t_restart).as_secs_f64(),
            (t_log - t_check).as_secs_f64(),
            t_log.elapsed().as_secs_f64()
        );
    }
    check_conf_changer(&mut confchanger, true);
    check_history(&rec.take_history(), name);
}

#[test]
#[serial]
fn TestBasic2B() {
    generic_test(GenericTest::named("TestBasic2B"));
}

#[test]
#[serial]
fn TestConcurrent2B() {
    generic_test(GenericTest::named("TestConcurrent2B"));
}

#[test]
#[serial]
fn TestUnreliable2B() {
    generic_test(GenericTest::named("TestUnreliable2B"));
}

#[test]
#[serial]
fn TestOnePartition2B() {
    let cfg = Config::new_test_config();
    let mut cluster = new_test_cluster(5, cfg);
    cluster.start();

    let region = cluster.get_region(b"");
    let leader = cluster.leader_of_region(region.id).expect("leader");
    let mut s1 = vec![leader.store_id];
    let mut s2 = vec![];
    for p in &region.peers {
        if p.id == leader.id {
            continue;
        }
        if s1.len() < 3 {
            s1.push(p.store_id);
        } else {
            s2.push(p.store_id);
        }
    }

    cluster.add_filter(Box::new(PartitionFilter {
        s1: s1.clone(),
        s2: s2.clone(),
    }));
    cluster.must_put(b"k1", b"v1");
    cluster.must_get(b"k1", b"v1");
    must_get_none(cluster.engines(s2[0]), b"k1");
    must_get_none(cluster.engines(s2[1]), b"k1");
    cluster.clear_filters();

    s2.push(s1[2]);
    s1.truncate(2);
    cluster.add_filter(Box::new(PartitionFilter {
        s1: s1.clone(),
        s2: s2.clone(),
    }));
    cluster.must_get(b"k1", b"v1");
    cluster.must_put(b"k1", b"changed");
    must_get_equal(cluster.engines(s1[0]), b"k1", b"v1");
    must_get_equal(cluster.engines(s1[1]), b"k1", b"v1");
    cluster.clear_filters();

    cluster.must_put(b"k2", b"v2");
    must_get_equal(cluster.engines(s1[0]), b"k2", b"v2");
    must_get_equal(cluster.engines(s1[0]), b"k1", b"changed");
}

#[test]
#[serial]
fn TestManyPartitionsOneClient2B() {
    generic_test(GenericTest::named("TestManyPartitionsOneClient2B"));
}

#[test]
#[serial]
fn TestManyPartitionsManyClients2B() {
    generic_test(GenericTest::named("TestManyPartitionsManyClients2B"));
}

#[test]
#[serial]
fn TestPersistOneClient2B() {
    generic_test(GenericTest::named("TestPersistOneClient2B"));
}

#[test]
#[serial]
fn TestPersistConcurrent2B() {
    generic_test(GenericTest::named("TestPersistConcurrent2B"));
}

#[test]
#[serial]
fn TestPersistConcurrentUnreliable2B() {
    generic_test(GenericTest::named("TestPersistConcurrentUnreliable2B"));
}

#[test]
#[serial]
fn TestPersistPartition2B() {
    generic_test(GenericTest::named("TestPersistPartition2B"));
}

#[test]
#[serial]
fn TestPersistPartitionUnreliable2B() {
    generic_test(GenericTest::named("TestPersistPartitionUnreliable2B"));
}

#[test]
#[serial]
fn TestOneSnapshot2C() {
    let mut cfg = Config::new_test_config();
    cfg.raft_log_gc_count_limit = 10;
    let mut cluster = new_test_cluster(3, cfg.clone());
    cluster.start();

    let cf = CF_LOCK;
    cluster.must_put_cf(cf, b"k1", b"v1");
    cluster.must_put_cf(cf, b"k2", b"v2");

    must_get_cf_equal(cluster.engines(1), cf, b"k1", b"v1");
    must_get_cf_equal(cluster.engines(1), cf, b"k2", b"v2");

    for store_id in 1..=3 {
        let state = meta::get_apply_state(&cluster.engines(store_id).kv, 1)
            .unwrap()
            .expect("apply state");
        let t = state.truncated_state.unwrap_or_default();
        assert!(
            t.index == meta::RAFT_INIT_LOG_INDEX && t.term == meta::RAFT_INIT_LOG_TERM,
            "unexpected truncated state {:?}",
            t
        );
    }

    cluster.add_filter(Box::new(PartitionFilter {
        s1: vec![1],
        s2: vec![2, 3],
    }));

    for i in 100..115 {
        cluster.must_put_cf(
            cf,
            format!("k{}", i).as_bytes(),
            format!("v{}", i).as_bytes(),
        );
    }
    cluster.must_delete_cf(cf, b"k2");
    thread::sleep(Duration::from_millis(500));
    must_get_cf_none(cluster.engines(1), cf, b"k100");
    cluster.clear_filters();

    must_get_cf_equal(cluster.engines(1), cf, b"k1", b"v1");
    must_get_cf_equal(cluster.engines(1), cf, b"k100", b"v100");
    must_get_cf_none(cluster.engines(1), cf, b"k2");

    cluster.stop_server(1);
    cluster.start_server(1);

    must_get_cf_equal(cluster.engines(1), cf, b"k1", b"v1");
    for store_id in 1..=3 {
        let state = meta::get_apply_state(&cluster.engines(store_id).kv, 1)
            .unwrap()
            .expect("apply state");
        let truncated = state.truncated_state.unwrap_or_default().index;
        let applied = state.applied_index;
        assert!(
            applied - truncated <= 2 * cfg.raft_log_gc_count_limit,
            "logs were not trimmed ({} - {} > 2*{})",
            applied,
            truncated,
            cfg.raft_log_gc_count_limit
        );
    }
}

#[test]
#[serial]
fn TestSnapshotRecover2C() {
    generic_test(GenericTest::named("TestSnapshotRecover2C"));
}

#[test]
#[serial]
fn TestSnapshotRecoverManyClients2C() {
    generic_test(GenericTest::named("TestSnapshotRecoverManyClients2C"));
}

#[test]
#[serial]
fn TestSnapshotUnreliable2C() {
    generic_test(GenericTest::named("TestSnapshotUnreliable2C"));
}

#[test]
#[serial]
fn TestSnapshotUnreliableRecover2C() {
    generic_test(GenericTest::named("TestSnapshotUnreliableRecover2C"));
}

#[test]
#[serial]
fn TestSnapshotUnreliableRecoverConcurrentPartition2C() {
    generic_test(GenericTest::named(
        "TestSnapshotUnreliableRecoverConcurrentPartition2C",
    ));
}

#[test]
#[serial]
fn TestTransferLeader3B() {
    let cfg = Config::new_test_config();
    let mut cluster = new_test_cluster(5, cfg);
    cluster.start();

    let region_id = cluster.get_region(b"").id;
    cluster.must_transfer_leader(region_id, new_peer(1, 1));
    cluster.must_transfer_leader(region_id, new_peer(2, 2));
    cluster.must_transfer_leader(region_id, new_peer(3, 3));
    cluster.must_transfer_leader(region_id, new_peer(4, 4));
    cluster.must_transfer_leader(region_id, new_peer(5, 5));
}

#[test]
#[serial]
fn TestBasicConfChange3B() {
    let cfg = Config::new_test_config();
    let mut cluster = new_test_cluster(5, cfg);
    cluster.start();

    cluster.must_transfer_leader(1, new_peer(1, 1));
    cluster.must_remove_peer(1, new_peer(2, 2));
    cluster.must_remove_peer(1, new_peer(3, 3));
    cluster.must_remove_peer(1, new_peer(4, 4));
    cluster.must_remove_peer(1, new_peer(5, 5));

    cluster.must_put(b"k1", b"v1");
    must_get_none(cluster.engines(2), b"k1");

    cluster.must_add_peer(1, new_peer(2, 2));
    cluster.must_put(b"k2", b"v2");
    cluster.must_get(b"k2", b"v2");
    must_get_equal(cluster.engines(2), b"k1", b"v1");
    must_get_equal(cluster.engines(2), b"k2", b"v2");

    let epoch = cluster.get_region(b"k1").region_epoch.unwrap_or_default();
    assert!(epoch.conf_ver > 1);

    must_get_none(cluster.engines(5), b"k1");

    cluster.must_add_peer(1, new_peer(3, 3));
    cluster.must_remove_peer(1, new_peer(2, 2));

    cluster.must_put(b"k3", b"v3");
    cluster.must_get(b"k3", b"v3");
    must_get_equal(cluster.engines(3), b"k1", b"v1");
    must_get_equal(cluster.engines(3), b"k2", b"v2");
    must_get_equal(cluster.engines(3), b"k3", b"v3");

    must_get_none(cluster.engines(2), b"k1");
    must_get_none(cluster.engines(2), b"k2");

    cluster.must_add_peer(1, new_peer(2, 2));
    must_get_equal(cluster.engines(2), b"k1", b"v1");
    must_get_equal(cluster.engines(2), b"k2", b"v2");
    must_get_equal(cluster.engines(2), b"k3", b"v3");

    cluster.must_remove_peer(1, new_peer(2, 2));
    cluster.must_add_peer(1, new_peer(2, 4));
    cluster.must_remove_peer(1, new_peer(3, 3));

    cluster.must_put(b"k4", b"v4");
    must_get_equal(cluster.engines(2), b"k1", b"v1");
    must_get_equal(cluster.engines(2), b"k4", b"v4");
    must_get_none(cluster.engines(3), b"k1");
    must_get_none(cluster.engines(3), b"k4");
}

#[test]
#[serial]
fn TestConfChangeRemoveLeader3B() {
    let cfg = Config::new_test_config();
    let mut cluster = new_test_cluster(5, cfg);
    cluster.start();

    cluster.must_transfer_leader(1, new_peer(1, 1));
    cluster.must_remove_peer(1, new_peer(1, 1));
    cluster.must_put(b"k0", b"v0");
    must_get_none(cluster.engines(1), b"k0");

    cluster.must_add_peer(1, new_peer(1, 1));
    cluster.must_transfer_leader(1, new_peer(1, 1));
    cluster.must_put(b"k1", b"v1");
    must_get_equal(cluster.engines(1), b"k0", b"v0");
    must_get_equal(cluster.engines(1), b"k1", b"v1");

    cluster.must_remove_peer(1, new_peer(2, 2));
    cluster.must_remove_peer(1, new_peer(3, 3));
    cluster.must_remove_peer(1, new_peer(4, 4));

    cluster.must_remove_peer(1, new_peer(1, 1));

    cluster.must_put(b"k2", b"v2");
    must_get_none(cluster.engines(1), b"k2");
    cluster.must_add_peer(1, new_peer(1, 1));
    cluster.must_put(b"k3", b"v3");
    must_get_none(cluster.engines(3), b"k3");
    must_get_equal(cluster.engines(1), b"k3", b"v3");
}

#[test]
#[serial]
fn TestConfChangeRecover3B() {
    generic_test(GenericTest::named("TestConfChangeRecover3B"));
}

#[test]
#[serial]
fn TestConfChangeRecoverManyClients3B() {
    generic_test(GenericTest::named("TestConfChangeRecoverManyClients3B"));
}

#[test]
#[serial]
fn TestConfChangeUnreliable3B() {
    generic_test(GenericTest::named("TestConfChangeUnreliable3B"));
}

#[test]
#[serial]
fn TestConfChangeUnreliableRecover3B() {
    generic_test(GenericTest::named("TestConfChangeUnreliableRecover3B"));
}

#[test]
#[serial]
fn TestConfChangeSnapshotUnreliableRecover3B() {
    generic_test(GenericTest::named(
        "TestConfChangeSnapshotUnreliableRecover3B",
    ));
}

#[test]
#[serial]
fn TestConfChangeSnapshotUnreliableRecoverConcurrentPartition3B() {
    generic_test(GenericTest::named(
        "TestConfChangeSnapshotUnreliableRecoverConcurrentPartition3B",
    ));
}

#[test]
#[serial]
fn TestOneSplit3B() {
    let mut cfg = Config::new_test_config();
    cfg.region_max_size = 800;
    cfg.region_split_size = 500;
    let mut cluster = new_test_cluster(5, cfg);
    cluster.start();

    cluster.must_put(b"k1", b"v1");
    cluster.must_put(b"k2", b"v2");

    let region = cluster.get_region(b"k1");
    let region1 = cluster.get_region(b"k2");
    assert_eq!(region.id, region1.id);

    cluster.add_filter(Box::new(PartitionFilter {
        s1: vec![1, 2, 3, 4],
        s2: vec![5],
    }));

    for i in 100..200 {
        cluster.must_put(format!("k{}", i).as_bytes(), format!("v{}", i).as_bytes());
    }

    thread::sleep(Duration::from_millis(200));
    cluster.clear_filters();

    let left = cluster.get_region(b"k1");
    let right = cluster.get_region(b"k2");

    assert_ne!(left.id, right.id);
    assert_eq!(region.start_key, left.start_key);
    assert_eq!(left.end_key, right.start_key);
    assert_eq!(right.end_key, region.end_key);

    let req = new_request(
        left.id,
        left.region_epoch,
        vec![new_get_cf_cmd(CF_DEFAULT, b"k2")],
    );
    let (resp, _) = cluster
        .call_command_on_leader(req, Duration::from_secs(1))
        .expect("a response");
    let err = resp.header.and_then(|h| h.error);
    assert!(err.is_some());
    assert!(err.unwrap().key_not_in_region.is_some());

    must_get_equal(cluster.engines(5), b"k100", b"v100");
}

#[test]
#[serial]
fn TestSplitRecover3B() {
    generic_test(GenericTest::named("TestSplitRecover3B"));
}

#[test]
#[serial]
fn TestSplitRecoverManyClients3B() {
    generic_test(GenericTest::named("TestSplitRecoverManyClients3B"));
}

#[test]
#[serial]
fn TestSplitUnreliable3B() {
    generic_test(GenericTest::named("TestSplitUnreliable3B"));
}

#[test]
#[serial]
fn TestSplitUnreliableRecover3B() {
    generic_test(GenericTest::named("TestSplitUnreliableRecover3B"));
}

#[test]
#[serial]
fn TestSplitConfChangeSnapshotUnreliableRecover3B() {
    generic_test(GenericTest::named(
        "TestSplitConfChangeSnapshotUnreliableRecover3B",
    ));
}

#[test]
#[serial]
fn TestSplitConfChangeSnapshotUnreliableRecoverConcurrentPartition3B() {
    generic_test(GenericTest::named(
        "TestSplitConfChangeSnapshotUnreliableRecoverConcurrentPartition3B",
    ));
}
