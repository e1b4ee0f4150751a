//! Microbenchmarks of the raft crate: a three-node in-memory cluster of
//! RawNodes committing proposals, at batch sizes 1 and 64.
//!
//! Run with `cargo bench -p raft` (or `make bench-raft`).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use proto::eraftpb::Message;
use raft::raft::{Config, StateType};
use raft::rawnode::RawNode;
use raft::storage::MemoryStorage;

const VALUE: usize = 128;

struct Net {
    nodes: Vec<RawNode<MemoryStorage>>,
    storages: Vec<MemoryStorage>,
    inflight: Vec<Message>,
}

impl Net {
    fn new() -> Self {
        let ids = [1u64, 2, 3];
        let mut nodes = Vec::new();
        let mut storages = Vec::new();
        for id in ids {
            let storage = MemoryStorage::new_with_conf_state(ids.to_vec());
            let cfg = Config {
                id,
                peers: Vec::new(),
                election_tick: 10,
                heartbeat_tick: 1,
                applied: 0,
                seed: id,
                ..Default::default()
            };
            nodes.push(RawNode::new(&cfg, storage.clone()).expect("raw node"));
            storages.push(storage);
        }
        let mut net = Net {
            nodes,
            storages,
            inflight: Vec::new(),
        };
        net.nodes[0].campaign().expect("campaign");
        net.pump();
        assert_eq!(net.nodes[0].raft.state, StateType::Leader);
        net
    }

    /// Runs Ready rounds on every node and delivers messages until the
    /// network is quiet; returns the entries the leader applied.
    fn pump(&mut self) -> usize {
        let mut applied = 0;
        loop {
            let mut progressed = false;
            for (i, node) in self.nodes.iter_mut().enumerate() {
                if !node.has_ready() {
                    continue;
                }
                progressed = true;
                let mut rd = node.ready();
                let storage = &self.storages[i];
                if let Some(hs) = rd.hard_state {
                    storage.set_hard_state(hs);
                }
                storage.append(&rd.entries).expect("append");
                self.inflight.append(&mut rd.messages);
                if i == 0 {
                    applied += rd.committed_entries.len();
                }
                node.advance(rd);
            }
            for m in std::mem::take(&mut self.inflight) {
                let to = m.to as usize - 1;
                let _ = self.nodes[to].step(m);
            }
            if !progressed {
                return applied;
            }
        }
    }

    /// Keeps the in-memory logs short, as log GC would.
    fn compact(&mut self) {
        for (node, storage) in self.nodes.iter().zip(&self.storages) {
            let applied = node.raft.raft_log.applied;
            if applied > 1000 {
                let _ = storage.compact(applied - 500);
            }
        }
    }
}

fn commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("commit_3_nodes");
    for batch in [1usize, 64] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("batch_{batch}"), |b| {
            let mut net = Net::new();
            let data = vec![b'x'; VALUE];
            let mut rounds = 0u64;
            b.iter(|| {
                // A batch is proposed the way a raftstore round does it:
                // one step carrying every entry.
                if batch == 1 {
                    net.nodes[0].propose(data.clone()).expect("propose");
                } else {
                    let datas = vec![data.clone(); batch];
                    net.nodes[0].propose_entries(datas).expect("propose");
                }
                let applied = net.pump();
                assert!(applied >= batch);
                rounds += 1;
                if rounds.is_multiple_of(64) {
                    net.compact();
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, commit);
criterion_main!(benches);
