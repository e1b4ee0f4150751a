//! TinyKV's kv/test_raftstore/cluster_test.go.
#![allow(non_snake_case)]

use std::collections::HashSet;

use kv::config::Config;
use serial_test::serial;
use test_cluster::new_test_cluster;

// Every store of a cluster gets its own data directory.
#[test]
#[serial]
fn TestDifferentDBPath() {
    let cfg = Config::new_test_config();
    let mut cluster = new_test_cluster(5, cfg);
    cluster.start();
    let mut paths = HashSet::new();
    for i in 1..=5 {
        let path = cluster.simulator.db_path(i).expect("store is running");
        assert!(
            paths.insert(path.clone()),
            "store {} shares its DB path {}",
            i,
            path
        );
    }
}

/// Threads, open descriptors and resident memory of this process.
fn process_usage() -> (usize, usize, u64) {
    let count = |dir: &str| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (
        count("/proc/self/task"),
        count("/proc/self/fd"),
        pages * 4096,
    )
}

// Not a Go test: stopping and starting a store twenty times in one process
// must not leak threads, file descriptors or memory, and must lose no write
// acknowledged before a stop.
#[test]
#[serial]
fn test_restart_store_20_times_leaks_nothing() {
    let cfg = Config::new_test_config();
    let mut cluster = new_test_cluster(3, cfg);
    cluster.start();
    cluster.must_put(b"k", b"v");

    // Warm up: the first restarts size caches and allocator arenas.
    for _ in 0..3 {
        cluster.stop_server(1);
        cluster.start_server(1);
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (threads0, fds0, rss0) = process_usage();

    for round in 0..20u32 {
        cluster.stop_server(1);
        let key = format!("key-{round}");
        cluster.must_put(key.as_bytes(), b"written while store 1 was down");
        cluster.start_server(1);
        test_cluster::must_get_equal(
            cluster.engines(1),
            key.as_bytes(),
            b"written while store 1 was down",
        );
    }

    // Stopped threads may take a moment to be reaped.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let (mut threads, mut fds, mut rss) = process_usage();
    while (threads > threads0 || fds > fds0 + 8) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        (threads, fds, rss) = process_usage();
    }
    assert!(
        threads <= threads0,
        "threads leaked: {threads0} -> {threads}"
    );
    assert!(fds <= fds0 + 8, "file descriptors leaked: {fds0} -> {fds}");
    assert!(
        rss <= rss0 + (64 << 20),
        "memory grew by {} MiB over 20 restarts",
        (rss.saturating_sub(rss0)) >> 20
    );
    for round in 0..20u32 {
        let key = format!("key-{round}");
        test_cluster::must_get_equal(
            cluster.engines(1),
            key.as_bytes(),
            b"written while store 1 was down",
        );
    }
    cluster.shutdown();
}

// Not a Go test: a region measured just below the maximum and then pushed
// past it by writes smaller than 1/8 of the split size must still split
// (the size-diff threshold alone would never check it again).
#[test]
#[serial]
fn test_split_check_catches_region_just_over_max() {
    let mut cfg = Config::new_test_config();
    cfg.region_max_size = 800;
    cfg.region_split_size = 500;
    let mut cluster = new_test_cluster(3, cfg);
    cluster.start();

    // 78 pairs of 4 + 6 bytes: 780 bytes, under the maximum.
    for i in 0..78 {
        cluster.must_put(format!("k{i:03}").as_bytes(), format!("v{i:05}").as_bytes());
    }
    // Several split-check ticks (100 ms) measure the region.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        cluster.get_region(b"").end_key.is_empty(),
        "split below the maximum"
    );

    // 30 more bytes: 810 > 800, yet far below split_size / 8 = 62.
    cluster.must_put(b"k900", b"v0000000000000000000000000");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while cluster.get_region(b"").end_key.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "a region past the maximum was never split"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    cluster.shutdown();
}

// Not a Go test: a store that stopped after persisting a received
// snapshot's states but before the region worker laid its data down finishes
// the apply when it starts again, instead of serving a region whose apply
// state outruns its data.
#[test]
#[serial]
fn test_interrupted_snapshot_apply_is_finished_on_restart() {
    use kv::raftstore::meta;
    use kv::util::engine_util::{self, delete_range, WriteBatch};
    use proto::eraftpb::SnapshotMetadata;
    use proto::raft_serverpb::RaftApplyState;
    use std::time::Duration;
    use test_cluster::{must_get_equal, must_get_none, PartitionFilter};

    let mut cfg = Config::new_test_config();
    cfg.raft_log_gc_count_limit = 10;
    let mut cluster = new_test_cluster(3, cfg);
    cluster.start();
    cluster.must_put(b"k00", b"v00");
    must_get_equal(cluster.engines(3), b"k00", b"v00");

    // Store 3 falls behind the compacted log: it can only catch up by
    // snapshot.
    cluster.add_filter(Box::new(PartitionFilter {
        s1: vec![1, 2],
        s2: vec![3],
    }));
    for i in 1..50 {
        cluster.must_put(format!("k{i:02}").as_bytes(), format!("v{i:02}").as_bytes());
    }
    // Let log GC settle, so that no compaction follows the snapshot and its
    // file stays in store 3's snap directory.
    std::thread::sleep(Duration::from_millis(500));
    cluster.clear_filters();
    must_get_equal(cluster.engines(3), b"k49", b"v49");
    std::thread::sleep(Duration::from_millis(300));
    let region_id = cluster.get_region(b"").id;
    let engines = cluster.engines(3).clone();
    let mark = meta::snapshot_apply_key(region_id);
    let pending: Option<SnapshotMetadata> = engine_util::get_meta(&engines.kv, &mark).unwrap();
    assert!(pending.is_none(), "a finished apply leaves no mark");
    let snap_dir = std::path::Path::new(&cluster.simulator.db_path(3).unwrap()).join("snap");
    let received = std::fs::read_dir(&snap_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with("rev_"));
    assert!(received, "store 3 caught up without a snapshot");
    cluster.stop_server(3);

    // What a crash between the states and the data leaves behind: the
    // mark naming the snapshot (the one the apply state stands on), no data.
    let apply_state: RaftApplyState = meta::get_apply_state(&engines.kv, region_id)
        .unwrap()
        .unwrap();
    let truncated = apply_state.truncated_state.unwrap();
    delete_range(&engines.kv, b"", b"").unwrap();
    let mut wb = WriteBatch::default();
    wb.set_meta(
        &mark,
        &SnapshotMetadata {
            index: truncated.index,
            term: truncated.term,
            conf_state: None,
        },
    );
    engines.write_kv(&wb).unwrap();
    must_get_none(&engines, b"k00");

    cluster.start_server(3);
    for i in 0..50 {
        must_get_equal(
            &engines,
            format!("k{i:02}").as_bytes(),
            format!("v{i:02}").as_bytes(),
        );
    }
    let pending: Option<SnapshotMetadata> = engine_util::get_meta(&engines.kv, &mark).unwrap();
    assert!(pending.is_none());
    cluster.shutdown();
}

// Not a Go test: a command addressed to a peer on another store is refused
// with errorpb StoreNotMatch (before any leadership check), naming both
// stores, so a client knows its cached route is stale.
#[test]
#[serial]
fn test_command_for_another_store_is_store_not_match() {
    use proto::errorpb::StoreNotMatch;
    use proto::metapb::Peer;
    use std::time::Duration;
    use test_cluster::{new_get_cf_cmd, new_request, Simulator};

    let mut cluster = new_test_cluster(1, Config::new_test_config());
    cluster.start();
    cluster.must_put(b"k", b"v");
    let region = cluster.get_region(b"k");
    let leader = cluster.leader_of_region(region.id).expect("a leader");
    let mut req = new_request(
        region.id,
        region.region_epoch,
        vec![new_get_cf_cmd("default", b"k")],
    );
    req.header.as_mut().unwrap().peer = Some(Peer {
        id: leader.id,
        store_id: leader.store_id + 1,
    });
    let (resp, _) = cluster
        .simulator
        .call_command_on_store(leader.store_id, req, Duration::from_secs(3))
        .expect("an answer");
    let err = resp.header.and_then(|h| h.error).expect("an error");
    assert_eq!(
        err.store_not_match,
        Some(StoreNotMatch {
            request_store_id: leader.store_id + 1,
            actual_store_id: leader.store_id,
        }),
        "{err:?}"
    );
    cluster.shutdown();
}

// A slow store's messages arrive late but arrive: the other two stores
// commit without waiting for it, and it catches up.
#[test]
#[serial]
fn test_slow_store_lags_but_catches_up() {
    use kv::util::engine_util::get_cf;
    use std::time::{Duration, Instant};
    use test_cluster::must_get_equal;

    let mut cluster = new_test_cluster(3, Config::new_test_config());
    cluster.start();
    let region = cluster.get_region(b"");
    let first = region.peers.iter().find(|p| p.store_id == 1).unwrap();
    cluster.must_transfer_leader(region.id, *first);
    cluster
        .simulator
        .transport()
        .set_slow_stores(vec![3], Duration::from_millis(400));

    let start = Instant::now();
    cluster.must_put(b"k", b"v");
    assert!(
        start.elapsed() < Duration::from_millis(400),
        "the put waited for the slow store: {:?}",
        start.elapsed()
    );
    must_get_equal(cluster.engines(2), b"k", b"v");
    assert_eq!(
        get_cf(&cluster.engines(3).kv, "default", b"k").unwrap(),
        None,
        "store 3 has the value before its messages could arrive"
    );
    must_get_equal(cluster.engines(3), b"k", b"v");

    cluster
        .simulator
        .transport()
        .set_slow_stores(Vec::new(), Duration::ZERO);
    cluster.must_put(b"k2", b"v2");
    must_get_equal(cluster.engines(3), b"k2", b"v2");
    cluster.shutdown();
}

/// Read-only commands a cluster answers from `reads` gets of one key after
/// a put of it, and what the raftstore counters say they cost.
fn gets_after_put(read_index: bool, reads: u64) -> kv::raftstore::metrics::Snapshot {
    use kv::raftstore::metrics;
    let mut cfg = Config::new_test_config();
    cfg.raft_read_index = read_index;
    let mut cluster = new_test_cluster(3, cfg);
    cluster.start();
    cluster.must_put(b"k", b"v0");
    // The put returns once a majority has it; the counters start after the
    // last store has written and applied it too, so no earlier entry is
    // counted against the reads.
    for store in 1..=3 {
        test_cluster::must_get_equal(cluster.engines(store), b"k", b"v0");
    }
    let before = metrics::snapshot();
    for i in 0..reads {
        let value = format!("v{i}");
        if i % 10 == 0 {
            cluster.must_put(b"k", value.as_bytes());
        }
        // Every read sees the write acknowledged just before it.
        cluster.must_get(b"k", format!("v{}", i - i % 10).as_bytes());
    }
    let used = metrics::snapshot().since(&before);
    cluster.shutdown();
    used
}

// Not a Go test: with ReadIndex a leader answers a Get without a log
// entry (a heartbeat round instead of an append, a disk write on every
// store and an apply), and still sees every write acknowledged before it.
// Without it every Get is an entry, as in TinyKV Go.
#[test]
#[serial]
fn test_reads_take_no_log_entry_with_read_index() {
    let with = gets_after_put(true, 100);
    assert_eq!(with.reads_by_index, 100, "{with:?}");
    assert_eq!(with.reads_through_log, 0, "{with:?}");
    // The ten puts, on three stores; nothing for the reads.
    assert!(with.raft_entries_persisted <= 3 * 10, "{with:?}");

    let without = gets_after_put(false, 100);
    assert_eq!(without.reads_by_index, 0, "{without:?}");
    assert!(without.raft_entries_persisted >= 3 * 110, "{without:?}");
}

/// Drops the raft messages from store `from` to store `to` that `drops`
/// picks out.
// Not a Go test: in a region of two voters, a leader that commits its own
// removal (proposed by the leader before it) must not leave before the
// other voter has learned that the removal is committed. The survivor
// still counts it as a voter until then, and alone it could never win an
// election to find out. Store 1 proposes removing store 2's peer, never
// hears it acknowledged, and never hears store 2's commit index past it.
#[test]
#[serial]
fn test_leader_committing_its_own_removal_leaves_a_live_survivor() {
    use kv::raftstore::meta::{get_raft_local_state, get_region_local_state};
    use proto::eraftpb::{ConfChangeType, MessageType};
    use proto::raft_cmdpb::{AdminCmdType, AdminRequest, ChangePeerRequest};
    use proto::raft_serverpb::PeerState;
    use std::time::Duration;
    use test_cluster::{
        must_get_equal, must_get_none, new_admin_request, wait_until, MessageFilter,
    };

    let mut cluster = new_test_cluster(2, Config::new_test_config());
    cluster.start();
    let region = cluster.get_region(b"k1");
    let peer_on = |store: u64| *region.peers.iter().find(|p| p.store_id == store).unwrap();
    let (p1, p2) = (peer_on(1), peer_on(2));
    cluster.must_transfer_leader(region.id, p1);
    cluster.must_put(b"k1", b"v1");
    for store in 1..=2 {
        must_get_equal(cluster.engines(store), b"k1", b"v1");
    }
    let raft_state = |store: u64| {
        get_raft_local_state(&cluster.engines(store).raft, region.id)
            .unwrap()
            .unwrap_or_default()
    };
    let settled = raft_state(1).last_index;
    let commit_past_settled = move |m: &proto::eraftpb::Message| {
        matches!(
            m.msg_type(),
            MessageType::MsgAppend | MessageType::MsgHeartbeat
        ) && m.commit > settled
    };

    // Store 1 proposes the removal; store 2 appends it, but its answers
    // are lost, so store 1 never commits it.
    let from_2_to_1 = || MessageFilter::new().from_store(2).to_store(1);
    cluster.add_filter(Box::new(
        from_2_to_1().msg_type(MessageType::MsgAppendResponse),
    ));
    cluster.add_filter(Box::new(from_2_to_1().when(commit_past_settled)));
    let mut req = new_admin_request(
        region.id,
        region.region_epoch,
        AdminRequest {
            cmd_type: AdminCmdType::ChangePeer as i32,
            change_peer: Some(ChangePeerRequest {
                change_type: ConfChangeType::RemoveNode as i32,
                peer: Some(p2),
            }),
            ..Default::default()
        },
    );
    req.header.as_mut().unwrap().peer = Some(p1);
    let _ = cluster.try_command_on_store(1, req, Duration::from_millis(200));
    wait_until(200, 10, || {
        (raft_state(2).last_index > settled).then_some(())
    })
    .expect("store 2 appends the removal");

    // Store 2 hears nothing from store 1, campaigns, wins (its log is as
    // long) and commits its own removal with its first entry.
    cluster.add_filter(Box::new(
        MessageFilter::new()
            .from_store(1)
            .to_store(2)
            .msg_type(MessageType::MsgAppend)
            .msg_type(MessageType::MsgHeartbeat),
    ));
    let gone = || {
        get_region_local_state(&cluster.engines(2).kv, region.id)
            .unwrap()
            .is_some_and(|s| s.state() == PeerState::Tombstone)
    };
    wait_until(500, 10, || {
        let commit = raft_state(2).hard_state.map_or(0, |hs| hs.commit);
        (commit > settled || gone()).then_some(())
    })
    .expect("store 2 commits the removal");

    // From here on only store 2's commit index is kept from store 1.
    cluster.clear_filters();
    cluster.add_filter(Box::new(from_2_to_1().when(commit_past_settled)));
    cluster.must_put(b"k2", b"v2");
    must_get_equal(cluster.engines(1), b"k2", b"v2");
    must_get_none(cluster.engines(2), b"k1");
    cluster.clear_filters();
    cluster.shutdown();
}
