//! Microbenchmark of the raft log write path: a peer storage appending 64
//! entries into a write batch and writing it to the raft engine, with and
//! without the fsync a ready round pays for.
//!
//! Run with `cargo bench -p kv` (or `make bench-raft`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kv::raftstore::bootstrap::{bootstrap_store, prepare_bootstrap};
use kv::raftstore::peer_storage::PeerStorage;
use kv::raftstore::runner::RegionTaskSender;
use kv::raftstore::util::new_test_engines;
use kv::util::engine_util::WriteBatch;
use proto::eraftpb::Entry;

const BATCH: usize = 64;
const VALUE: usize = 128;

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("peer_storage_append");
    group.throughput(Throughput::Elements(BATCH as u64));
    for sync in [false, true] {
        let engines = new_test_engines();
        bootstrap_store(&engines, 1, 1).expect("bootstrap store");
        let region = prepare_bootstrap(&engines, 1, 1, 1).expect("bootstrap region");
        let (tx, _rx) = crossbeam_channel::unbounded();
        let mut ps = PeerStorage::new(
            engines.clone(),
            region,
            RegionTaskSender::threaded(tx),
            "bench".into(),
        )
        .expect("ps");
        let name = if sync {
            "64_entries_synced"
        } else {
            "64_entries"
        };
        group.bench_function(name, |b| {
            let mut wb = WriteBatch::default();
            wb.set_sync(sync);
            b.iter(|| {
                let first = ps.raft_state.last_index + 1;
                let entries: Vec<Entry> = (first..first + BATCH as u64)
                    .map(|index| Entry {
                        index,
                        term: 6,
                        data: vec![b'x'; VALUE],
                        ..Default::default()
                    })
                    .collect();
                ps.append(&entries, &mut wb);
                engines.write_raft(&wb).expect("write raft");
                wb.reset();
            });
        });
    }
    group.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
