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
        assert!(paths.insert(path.clone()), "store {} shares its DB path {}", i, path);
    }
}
