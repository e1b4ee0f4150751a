//! The test cluster's toolkit beyond Go's harness: single-attempt commands
//! and their outcomes, split and region helpers, confirmed leaders, reads
//! that tell absence from emptiness, and the filter builder. One test per
//! item; each starts its own small cluster.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use kv::config::Config;
use pretty_assertions::assert_eq;
use proto::eraftpb::MessageType;
use proto::errorpb;
use proto::metapb::{Peer, RegionEpoch};
use serial_test::serial;
use test_cluster::*;

const CF: &str = "default";
const SHORT: Duration = Duration::from_secs(3);

fn started(count: usize) -> Cluster {
    let mut cluster = new_test_cluster(count, Config::new_test_config());
    cluster.start();
    cluster
}

fn put(key: &[u8], value: &[u8]) -> Vec<proto::raft_cmdpb::Request> {
    vec![new_put_cf_cmd(CF, key, value)]
}

/// A request for `key`'s region addressed to `peer`.
fn to_peer(cluster: &Cluster, key: &[u8], peer: Peer) -> proto::raft_cmdpb::RaftCmdRequest {
    let region = cluster.get_region(key);
    let mut req = new_request(region.id, region.region_epoch, put(key, b"x"));
    req.header.as_mut().unwrap().peer = Some(peer);
    req
}

#[test]
#[serial]
fn single_attempt_ok_applies_once() {
    let cluster = started(3);
    let outcome = cluster.try_request(b"k", put(b"k", b"v"), SHORT);
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(outcome.error(), None);
    assert_eq!(cluster.get_opt(b"k"), Some(b"v".to_vec()));
    cluster.shutdown();
}

#[test]
#[serial]
fn single_attempt_refusals_are_typed() {
    let cluster = started(3);
    cluster.must_put(b"k", b"v");
    let region = cluster.get_region(b"k");
    let leader = cluster.confirmed_leader(region.id).expect("a leader");
    let follower = *region.peers.iter().find(|p| p.id != leader.id).unwrap();

    // NotLeader, with the leader as the hint.
    let o =
        cluster.try_command_on_store(follower.store_id, to_peer(&cluster, b"k", follower), SHORT);
    assert!(o.is_refused(), "{o:?}");
    assert!(o.error().and_then(|e| e.not_leader).is_some(), "{o:?}");

    // EpochNotMatch: an epoch from before the cluster began.
    let mut req = to_peer(&cluster, b"k", leader);
    req.header.as_mut().unwrap().region_epoch = Some(RegionEpoch {
        version: 0,
        conf_ver: 0,
    });
    let o = cluster.try_command_on_store(leader.store_id, req, SHORT);
    assert!(o.is_refused(), "{o:?}");
    assert!(o.error().and_then(|e| e.epoch_not_match).is_some(), "{o:?}");

    // StoreNotMatch: the header names another store.
    let mut req = to_peer(&cluster, b"k", leader);
    req.header.as_mut().unwrap().peer = Some(Peer {
        id: leader.id,
        store_id: leader.store_id % 3 + 1,
    });
    let o = cluster.try_command_on_store(leader.store_id, req, SHORT);
    assert!(o.is_refused(), "{o:?}");
    assert!(o.error().and_then(|e| e.store_not_match).is_some(), "{o:?}");

    // RegionNotFound on the router: never delivered.
    let mut req = to_peer(&cluster, b"k", leader);
    req.header.as_mut().unwrap().region_id = 999;
    let o = cluster.try_command_on_store(leader.store_id, req, SHORT);
    assert!(
        matches!(o, Outcome::Refused(Refusal::NoPeer { region_id: 999, .. })),
        "{o:?}"
    );
    assert_eq!(
        o.error().and_then(|e| e.region_not_found),
        Some(errorpb::RegionNotFound { region_id: 999 })
    );

    // A stopped store.
    cluster.stop_server(follower.store_id);
    let o =
        cluster.try_command_on_store(follower.store_id, to_peer(&cluster, b"k", follower), SHORT);
    assert!(
        matches!(o, Outcome::Refused(Refusal::StoreDown(_))),
        "{o:?}"
    );
    cluster.start_server(follower.store_id);

    // Nothing refused was written.
    assert_eq!(cluster.get_opt(b"k"), Some(b"v".to_vec()));
    cluster.shutdown();
}

#[test]
#[serial]
fn single_attempt_key_not_in_region_after_split() {
    let cluster = started(3);
    cluster.must_put(b"a", b"1");
    let region = cluster.get_region(b"a");
    cluster.must_split(&region, b"m");
    let left = cluster.get_region(b"a");
    let mut req = new_request(left.id, left.region_epoch, put(b"z", b"2"));
    req.header.as_mut().unwrap().peer = cluster.confirmed_leader(left.id);
    let o = cluster.try_command(req, SHORT);
    assert!(o.is_refused(), "{o:?}");
    assert!(
        o.error().and_then(|e| e.key_not_in_region).is_some(),
        "{o:?}"
    );
    assert_eq!(cluster.get_opt(b"z"), None);
    cluster.shutdown();
}

#[test]
#[serial]
fn single_attempt_on_an_isolated_leader_is_unknown() {
    let cluster = started(3);
    cluster.must_put(b"k", b"v0");
    let region = cluster.get_region(b"k");
    let leader = cluster.confirmed_leader(region.id).expect("a leader");
    let others: Vec<u64> = (1..=3).filter(|&s| s != leader.store_id).collect();
    cluster.add_filter(Box::new(PartitionFilter {
        s1: vec![leader.store_id],
        s2: others,
    }));
    let o = cluster.try_command_on_store(
        leader.store_id,
        to_peer(&cluster, b"k", leader),
        Duration::from_millis(500),
    );
    assert!(matches!(o, Outcome::Unknown(Uncertain::NoAnswer)), "{o:?}");
    cluster.clear_filters();
    // Either way, the key holds one of the two values.
    let v = cluster.get_opt(b"k").expect("a value");
    assert!(v == b"v0" || v == b"x", "{v:?}");
    cluster.shutdown();
}

#[test]
#[serial]
fn split_helpers_and_region_views_agree() {
    let cluster = started(3);
    for k in [b"a", b"g", b"p", b"x"] {
        cluster.must_put(k, k);
    }
    assert_eq!(cluster.scheduler_regions().len(), 1);
    let region = cluster.get_region(b"a");
    cluster.must_split(&region, b"g");
    let right = cluster.get_region(b"g");
    // The async form answers with the Split command's outcome; a new
    // region may not have a leader yet, so a refusal is tried again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let o = cluster.split_region(&right, b"p").wait(SHORT);
        if o.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "{o:?}");
        sleep_ms(100);
    }
    cluster.must_split(&cluster.get_region(b"p"), b"x");

    let regions = cluster.scheduler_regions();
    let bounds: Vec<(Vec<u8>, Vec<u8>)> = regions
        .iter()
        .map(|r| (r.start_key.clone(), r.end_key.clone()))
        .collect();
    assert_eq!(
        bounds,
        vec![
            (b"".to_vec(), b"g".to_vec()),
            (b"g".to_vec(), b"p".to_vec()),
            (b"p".to_vec(), b"x".to_vec()),
            (b"x".to_vec(), b"".to_vec()),
        ]
    );
    cluster.check_regions_contiguous().unwrap();

    // Each store records the same four regions, once it applied the splits.
    let ids = |rs: &[proto::metapb::Region]| {
        let mut ids: Vec<u64> = rs.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids
    };
    for store in 1..=3 {
        let deadline = Instant::now() + Duration::from_secs(5);
        while ids(&cluster.store_regions(store)) != ids(&regions) && Instant::now() < deadline {
            sleep_ms(50);
        }
        assert_eq!(
            ids(&cluster.store_regions(store)),
            ids(&regions),
            "store {store}"
        );
        for r in &regions {
            let state = cluster.region_state(store, r.id).expect("a region state");
            assert_eq!(state.region.unwrap().start_key, r.start_key);
        }
    }
    assert_eq!(cluster.region_state(1, 12345), None);

    // A scan across all regions, which Go's scan does not do.
    let all = cluster.scan_all(b"", b"");
    let keys: Vec<Vec<u8>> = all.into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        vec![b"a".to_vec(), b"g".to_vec(), b"p".to_vec(), b"x".to_vec()]
    );
    let middle: Vec<Vec<u8>> = cluster
        .scan_all(b"b", b"q")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(middle, vec![b"g".to_vec(), b"p".to_vec()]);
    cluster.shutdown();
}

#[test]
#[serial]
fn contiguity_check_names_the_gap() {
    let cluster = started(1);
    cluster.must_put(b"k", b"v");
    cluster.check_regions_contiguous().unwrap();
    // A region the scheduler heard of out of nowhere leaves a hole.
    let stray = proto::metapb::Region {
        id: 77,
        start_key: b"q".to_vec(),
        end_key: b"r".to_vec(),
        region_epoch: Some(RegionEpoch {
            version: 9,
            conf_ver: 9,
        }),
        peers: vec![new_peer(1, 77)],
    };
    use kv::raftstore::scheduler_client::SchedulerClient;
    let _ = cluster
        .scheduler_client
        .region_heartbeat(proto::schedulerpb::RegionHeartbeatRequest {
            region: Some(stray),
            leader: Some(new_peer(1, 77)),
            ..Default::default()
        });
    let err = cluster.check_regions_contiguous().unwrap_err();
    assert!(err.contains("77"), "{err}");
    cluster.shutdown();
}

#[test]
#[serial]
fn get_opt_tells_absent_from_present() {
    let cluster = started(1);
    cluster.must_put(b"k", b"v");
    assert_eq!(cluster.get_opt(b"k"), Some(b"v".to_vec()));
    assert_eq!(cluster.get_opt(b"missing"), None);
    // Go's get answers "" for a missing key. (As in TinyKV, a put of an
    // empty value is a delete, so "" is never a stored value.)
    assert_eq!(cluster.get(b"missing"), b"".to_vec());
    cluster.must_put(b"k", b"");
    assert_eq!(cluster.get_opt(b"k"), None);
    cluster.shutdown();
}

#[test]
#[serial]
fn confirmed_leader_follows_transfers_and_router_access() {
    let cluster = started(3);
    let region = cluster.get_region(b"");
    for store in [2, 3, 1] {
        let target = *region.peers.iter().find(|p| p.store_id == store).unwrap();
        cluster.must_transfer_leader(region.id, target);
        assert_eq!(cluster.confirmed_leader(region.id), Some(target));
        assert!(cluster.is_confirmed_leader(region.id, target));
    }
    assert!(cluster.router(2).is_some());
    cluster.stop_server(2);
    assert!(cluster.router(2).is_none());
    // The failure-message view: the scheduler's line, then one per store.
    let view = cluster.describe_region(region.id);
    assert!(
        view.starts_with(&format!("region {}: scheduler: epoch", region.id)),
        "{view}"
    );
    assert!(view.contains("store 2 (down): Normal"), "{view}");
    assert!(view.contains("store 1 (up): Normal"), "{view}");
    // A running store's peer also shows its raft state: the leader's line
    // lists every member's progress.
    assert!(view.contains("store 1 raft: peer 1 Leader"), "{view}");
    assert!(view.contains(" | 3:State"), "{view}");
    assert!(!view.contains("store 2 raft:"), "{view}");
    assert_eq!(view.lines().count(), 1 + 3 + 2, "{view}");
    cluster.start_server(2);
    assert!(cluster.router(2).is_some());
    cluster.shutdown();
}

/// Puts `key` and waits for it on the stores in `seen`; `unseen` must not
/// have it after that.
fn put_seen_by(cluster: &Cluster, key: &[u8], seen: &[u64], unseen: &[u64]) {
    cluster.must_put(key, b"v");
    for &s in seen {
        must_get_equal(cluster.engines(s), key, b"v");
    }
    sleep_ms(200);
    for &s in unseen {
        assert_eq!(
            kv::util::engine_util::get_cf(&cluster.engines(s).kv, CF, key).unwrap(),
            None,
            "store {s} has {key:?}"
        );
    }
}

fn lead_on(cluster: &Cluster, region_id: u64, store: u64) {
    let peers = cluster
        .scheduler_regions()
        .into_iter()
        .find(|r| r.id == region_id)
        .unwrap()
        .peers;
    let target = *peers.iter().find(|p| p.store_id == store).unwrap();
    cluster.must_transfer_leader(region_id, target);
}

#[test]
#[serial]
fn filter_by_message_type_and_one_way() {
    let cluster = started(3);
    let region = cluster.get_region(b"");
    lead_on(&cluster, region.id, 1);
    // Appends from 1 to 3 are lost; heartbeats and everything else pass.
    let f = MessageFilter::new()
        .from_store(1)
        .to_store(3)
        .msg_type(MessageType::MsgAppend);
    let matched = f.matched();
    cluster.add_filter(Box::new(f));
    put_seen_by(&cluster, b"k1", &[1, 2], &[3]);
    assert!(matched.load(Ordering::Relaxed) > 0);
    cluster.clear_filters();
    must_get_equal(cluster.engines(3), b"k1", b"v");

    // One way only: 3 does not hear 1, but 1 hears 3 (and 2 carries on).
    cluster.add_filter(Box::new(MessageFilter::new().from_store(1).to_store(3)));
    put_seen_by(&cluster, b"k2", &[1, 2], &[3]);
    cluster.clear_filters();
    must_get_equal(cluster.engines(3), b"k2", b"v");
    cluster.shutdown();
}

#[test]
#[serial]
fn filter_by_region() {
    let cluster = started(3);
    cluster.must_put(b"a", b"v");
    let region = cluster.get_region(b"a");
    cluster.must_split(&region, b"m");
    let (left, right) = (cluster.get_region(b"a"), cluster.get_region(b"m"));
    lead_on(&cluster, left.id, 1);
    lead_on(&cluster, right.id, 1);
    // Store 3 hears nothing of the left region; the right one goes on.
    cluster.add_filter(Box::new(MessageFilter::new().region(left.id).to_store(3)));
    put_seen_by(&cluster, b"b", &[1, 2], &[3]);
    put_seen_by(&cluster, b"n", &[1, 2, 3], &[]);
    cluster.clear_filters();
    must_get_equal(cluster.engines(3), b"b", b"v");
    cluster.shutdown();
}

#[test]
#[serial]
fn filter_drop_next_n_then_deliver() {
    let cluster = started(3);
    let region = cluster.get_region(b"");
    lead_on(&cluster, region.id, 1);
    let f = MessageFilter::new()
        .to_store(3)
        .msg_type(MessageType::MsgAppend)
        .drop_next(4);
    let matched = f.matched();
    cluster.add_filter(Box::new(f));
    for i in 0..10 {
        cluster.must_put(format!("k{i}").as_bytes(), b"v");
    }
    for i in 0..10 {
        must_get_equal(cluster.engines(3), format!("k{i}").as_bytes(), b"v");
    }
    assert_eq!(matched.load(Ordering::Relaxed), 4);
    cluster.shutdown();
}

#[test]
#[serial]
fn filter_delay_holds_messages_back() {
    let cluster = started(3);
    let region = cluster.get_region(b"");
    lead_on(&cluster, region.id, 1);
    let by = Duration::from_millis(600);
    let f = MessageFilter::new().to_store(3).delay_by(by);
    let matched = f.matched();
    cluster.add_filter(Box::new(f));
    let start = Instant::now();
    cluster.must_put(b"k", b"v");
    assert!(start.elapsed() < by, "the put waited for the late store");
    assert_eq!(
        kv::util::engine_util::get_cf(&cluster.engines(3).kv, CF, b"k").unwrap(),
        None
    );
    must_get_equal(cluster.engines(3), b"k", b"v");
    assert!(start.elapsed() >= by);
    assert!(matched.load(Ordering::Relaxed) > 0);
    cluster.shutdown();
}

#[test]
#[serial]
fn a_recorded_scan_reads_what_a_plain_one_does_and_records_each_region() {
    let cluster = started(1);
    for k in ["a", "b", "c", "d"] {
        cluster.must_put(k.as_bytes(), format!("v{k}").as_bytes());
    }
    let region = cluster.get_region(b"c");
    cluster.must_split(&region, b"c");

    let rec = lincheck::Recorder::default();
    let got = cluster.recorded(&rec, 1).scan(b"a", b"d");
    assert_eq!(got, cluster.scan(b"a", b"d"));
    assert_eq!(got, vec![b"va".to_vec(), b"vb".to_vec(), b"vc".to_vec()]);

    // The left region holds part of the range: a read that says nothing.
    // The right one holds the rest of it, read once and recorded.
    let seen: Vec<_> = rec
        .history()
        .ops
        .iter()
        .map(|op| (op.call.clone(), op.outcome.clone()))
        .collect();
    use lincheck::{Call, Outcome, Pair, Read};
    assert_eq!(
        seen,
        vec![
            (
                Call::Scan {
                    start: "a".into(),
                    end: "d".into()
                },
                Outcome::Failed
            ),
            (
                Call::Scan {
                    start: "c".into(),
                    end: "d".into()
                },
                Outcome::Ok {
                    read: Some(Read::Pairs(vec![Pair::new("c", "vc")]))
                }
            ),
        ]
    );
    cluster.shutdown();
}
