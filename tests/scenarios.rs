//! Worked examples of new scenarios written on the test cluster's toolkit
//! (docs/WRITING_TESTS.md walks through them): splits racing leader
//! transfers, bad requests, and a client history checked under a
//! partition. Not Go tests; each sets up, injects faults, and checks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use kv::config::Config;
use pretty_assertions::assert_eq;
use proto::metapb::{Peer, RegionEpoch};
use proto::raft_cmdpb::{CmdType, PutRequest, RaftCmdRequest, Request};
use serial_test::serial;
use test_cluster::*;

fn key(i: usize) -> Vec<u8> {
    format!("k{i:03}").into_bytes()
}

/// Example 1: splits race leader transfers while a client writes. Every
/// write must survive, the regions must tile the key space, and every
/// store must end up with the scheduler's regions.
#[test]
#[serial]
fn split_races_leader_transfers() {
    let mut rng = Rng::new(test_seed());
    let mut cluster = new_test_cluster(3, Config::new_test_config());
    cluster.start();
    let cluster = Arc::new(cluster);
    let _guard = cluster.shutdown_guard();
    cluster.must_put(&key(0), b"0");

    // Fault: a thread moving leaders around for as long as the test runs.
    let done = Arc::new(AtomicBool::new(false));
    let mover = {
        let (cluster, done) = (cluster.clone(), done.clone());
        let seed = rng.next_u64();
        thread::spawn(move || {
            let mut rng = Rng::new(seed);
            while !done.load(Ordering::Relaxed) {
                let regions = cluster.scheduler_regions();
                let region = &regions[rng.below(regions.len() as u64) as usize];
                let to = region.peers[rng.below(region.peers.len() as u64) as usize];
                // One try: a transfer that loses the race is fine here.
                let req =
                    new_admin_request(region.id, region.region_epoch, new_transfer_leader_cmd(to));
                let _ = cluster.try_command(req, Duration::from_secs(1));
                sleep_ms(30);
            }
        })
    };

    // Splits at every tenth key, interleaved with writes.
    for i in 1..100 {
        cluster.must_put(&key(i), i.to_string().as_bytes());
        if i % 10 == 0 {
            let region = cluster.get_region(&key(i));
            cluster.must_split(&region, &key(i));
        }
    }
    done.store(true, Ordering::Relaxed);
    mover.join().unwrap();

    // Checks: the key space is tiled, nothing written is lost, and every
    // store holds every region (the regions all have three peers).
    cluster.check_regions_contiguous().unwrap();
    let regions = cluster.scheduler_regions();
    assert_eq!(regions.len(), 10);
    let got = cluster.scan_all(b"", b"");
    let want: Vec<(Vec<u8>, Vec<u8>)> = (0..100)
        .map(|i| (key(i), i.to_string().into_bytes()))
        .collect();
    assert_eq!(got, want);
    let mut want_ids: Vec<u64> = regions.iter().map(|r| r.id).collect();
    want_ids.sort_unstable();
    for store in 1..=3 {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let ids: Vec<u64> = cluster.store_regions(store).iter().map(|r| r.id).collect();
            if ids == want_ids {
                break;
            }
            assert!(Instant::now() < deadline, "store {store} has {ids:?}");
            sleep_ms(50);
        }
    }
}

fn put_request(cf: &str, key: &[u8]) -> Request {
    Request {
        cmd_type: CmdType::Put as i32,
        put: Some(PutRequest {
            cf: cf.into(),
            key: key.to_vec(),
            value: b"bad".to_vec(),
        }),
        ..Default::default()
    }
}

/// Example 2: bad requests. Each gets a typed answer (or, for the ones
/// Go has no error for, an answer at all), never a panic, and nothing is
/// written; the cluster keeps serving afterwards.
#[test]
#[serial]
fn bad_requests_get_answers_not_panics() {
    let mut cluster = new_test_cluster(3, Config::new_test_config());
    cluster.start();
    cluster.must_put(b"a", b"1");
    cluster.must_put(b"z", b"2");
    cluster.must_split(&cluster.get_region(b"a"), b"m");
    let left = cluster.get_region(b"a");
    let leader = cluster.confirmed_leader(left.id).expect("a leader");
    let follower = *left.peers.iter().find(|p| p.id != leader.id).unwrap();
    let to = |peer: Peer, epoch: Option<RegionEpoch>, reqs: Vec<Request>| {
        let mut req = new_request(left.id, epoch, reqs);
        req.header.as_mut().unwrap().peer = Some(peer);
        req
    };
    let good = || vec![put_request("default", b"b")];
    type Check = fn(&proto::errorpb::Error) -> bool;
    let cases: Vec<(&str, RaftCmdRequest, Check)> = vec![
        (
            "an old epoch",
            to(
                leader,
                Some(RegionEpoch {
                    version: 1,
                    conf_ver: 1,
                }),
                good(),
            ),
            |e| e.epoch_not_match.is_some(),
        ),
        ("no epoch", to(leader, None, good()), |e| {
            e.epoch_not_match.is_some() || !e.message.is_empty()
        }),
        (
            "a key of the other region",
            to(
                leader,
                left.region_epoch,
                vec![put_request("default", b"x")],
            ),
            |e| e.key_not_in_region.is_some(),
        ),
        (
            "the wrong store",
            to(
                Peer {
                    id: leader.id,
                    store_id: leader.store_id % 3 + 1,
                },
                left.region_epoch,
                good(),
            ),
            |e| e.store_not_match.is_some(),
        ),
        (
            "the wrong peer id",
            to(
                Peer {
                    id: 9999,
                    store_id: leader.store_id,
                },
                left.region_epoch,
                good(),
            ),
            |e| !e.message.is_empty(),
        ),
        (
            "a stale term",
            {
                let mut req = to(leader, left.region_epoch, good());
                req.header.as_mut().unwrap().term = 1;
                req
            },
            |e| e.stale_command.is_some(),
        ),
    ];
    for (what, req, check) in cases {
        // Every case goes to the leader's store, whatever its header says.
        let outcome = cluster.try_command_on_store(leader.store_id, req, Duration::from_secs(3));
        let err = outcome
            .error()
            .unwrap_or_else(|| panic!("{what}: no error: {outcome:?}"));
        assert!(check(&err), "{what}: {err:?}");
        assert!(!outcome.is_ok(), "{what}");
    }
    // Requests Go has no error for: an unknown column family, a put
    // without its body. Whatever the answer, the stores must live on.
    // A follower refuses, naming the leader.
    let req = to(follower, left.region_epoch, good());
    let outcome = cluster.try_command_on_store(follower.store_id, req, Duration::from_secs(3));
    let hint = outcome
        .error()
        .and_then(|e| e.not_leader)
        .and_then(|n| n.leader);
    assert_eq!(hint, Some(leader), "{outcome:?}");

    for (what, reqs) in [
        ("an unknown column family", vec![put_request("nope", b"c")]),
        (
            "a put without a body",
            vec![Request {
                cmd_type: CmdType::Put as i32,
                ..Default::default()
            }],
        ),
    ] {
        let req = to(leader, left.region_epoch, reqs);
        let outcome = cluster.try_command_on_store(leader.store_id, req, Duration::from_secs(3));
        assert!(
            outcome.response().is_some(),
            "{what}: no answer: {outcome:?}"
        );
    }
    assert_eq!(cluster.get_opt(b"b"), None);
    cluster.must_put(b"b", b"3");
    assert_eq!(cluster.get_opt(b"b"), Some(b"3".to_vec()));
    cluster.shutdown();
}

/// Example 3: a client history under partitions. Two clients write
/// their own counters to one key and read it back, each command tried once
/// and recorded with its outcome, while the believed leader's store is cut
/// off and healed; the whole history must be linearizable (lincheck).
#[test]
#[serial]
fn register_history_under_partitions() {
    let mut rng = Rng::new(test_seed());
    let mut cluster = new_test_cluster(5, Config::new_test_config());
    cluster.start();
    cluster.must_put(b"reg", b"init");
    let cluster = Arc::new(cluster);
    let _guard = cluster.shutdown_guard();
    let rec = Arc::new(lincheck::Recorder::default());
    // The initial write, recorded as done before anything else began.
    let id = rec.invoke(
        0,
        lincheck::Call::Put {
            key: "reg".into(),
            value: "init".into(),
        },
    );
    rec.ok(id, None);

    let done = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (1..=2u64)
        .map(|client| {
            let (cluster, rec, done) = (cluster.clone(), rec.clone(), done.clone());
            thread::spawn(move || {
                let mut n = 0;
                while !done.load(Ordering::Relaxed) {
                    n += 1;
                    let value = format!("{client}.{n}");
                    let put = new_put_cf_cmd("default", b"reg", value.as_bytes());
                    let id = rec.invoke(
                        client,
                        lincheck::Call::Put {
                            key: "reg".into(),
                            value: value.as_str().into(),
                        },
                    );
                    let wrote = cluster.try_request(b"reg", vec![put], Duration::from_millis(300));
                    record(&rec, id, &wrote, None);

                    let id = rec.invoke(client, lincheck::Call::Get { key: "reg".into() });
                    let read = cluster.try_request(
                        b"reg",
                        vec![new_snap_cmd()],
                        Duration::from_millis(300),
                    );
                    let value = match &read {
                        Outcome::Ok(answer) => {
                            let snap = answer.snap.as_ref().expect("a snapshot");
                            let v = snap.get_cf("default", b"reg").unwrap();
                            Some(lincheck::Read::Value(v.map(|v| v.as_slice().into())))
                        }
                        _ => None,
                    };
                    record(&rec, id, &read, value);
                    if !wrote.is_ok() {
                        sleep_ms(20);
                    }
                }
            })
        })
        .collect();

    // Fault: every ~700 ms, cut the believed leader off, or heal.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(8) {
        cluster.clear_filters();
        if rng.below(3) > 0 {
            let region = cluster.get_region(b"reg");
            if let Some(leader) = cluster.believed_leader(region.id) {
                let others = (1..=5).filter(|&s| s != leader.store_id).collect();
                cluster.add_filter(Box::new(PartitionFilter {
                    s1: vec![leader.store_id],
                    s2: others,
                }));
            }
        }
        thread::sleep(Duration::from_millis(700));
    }
    done.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    cluster.clear_filters();

    // A last read after everything settled, then the check.
    let id = rec.invoke(0, lincheck::Call::Get { key: "reg".into() });
    let v = cluster.get_opt(b"reg");
    rec.ok(
        id,
        Some(lincheck::Read::Value(v.map(|v| v.as_slice().into()))),
    );
    let history = rec.history();
    let count =
        |f: fn(&lincheck::Outcome) -> bool| history.ops.iter().filter(|op| f(&op.outcome)).count();
    let ok = count(|o| matches!(o, lincheck::Outcome::Ok { .. }));
    eprintln!(
        "history: {} operations ({ok} ok, {} failed, {} unknown)",
        history.ops.len(),
        count(|o| matches!(o, lincheck::Outcome::Failed)),
        count(|o| matches!(o, lincheck::Outcome::Unknown)),
    );
    assert!(ok > 20, "too little happened to check");
    check_history(&history, "register_history_under_partitions");
}
