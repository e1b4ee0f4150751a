//! The deterministic simulator (test-cluster's `sim`): a run is a function
//! of its seed. A chaos scenario — clients writing and reading under
//! partitions and store restarts — is run twice per seed and must leave
//! the same trace, and its client history must be linearizable.
//!
//! `SIM_SEED=N` runs the chaos scenario with that seed alone (what a
//! failure's message says to replay).

use std::time::Duration;

use lincheck::{Call, OpId, Read, Recorder};
use pretty_assertions::assert_eq;
use proto::raft_cmdpb::CmdType;
use test_cluster::sim::{Pending, Sim, SimConfig};
use test_cluster::{
    check_history, new_get_cf_cmd, new_put_cf_cmd, new_request, record, Outcome, PartitionFilter,
};

const KEYS: u64 = 4;
const CLIENTS: u64 = 4;

/// A client of the scenario: idle until its next operation is due, or
/// waiting for one command's outcome.
enum Client {
    Idle {
        next_ms: u64,
    },
    Waiting {
        op: OpId,
        is_get: bool,
        pending: Box<Pending>,
    },
}

/// What the chaos scenario ends with: the trace hash, how many events it
/// holds, and how many client operations completed.
#[derive(Debug, PartialEq, Eq)]
struct RunSummary {
    trace_hash: u64,
    trace_events: u64,
    ops_ok: u64,
}

fn key(k: u64) -> Vec<u8> {
    format!("k{k}").into_bytes()
}

/// Starts one command for client `c`; `None` (recorded as failed) when the
/// scheduler knows no leader to send it to.
fn start_op(sim: &mut Sim, rec: &Recorder, c: u64, seq: u64) -> Option<Client> {
    let k = key(sim.rand_below(KEYS));
    let is_get = sim.rand_below(2) == 0;
    let value = format!("c{c}-{seq}").into_bytes();
    let call = if is_get {
        Call::Get {
            key: k.as_slice().into(),
        }
    } else {
        Call::Put {
            key: k.as_slice().into(),
            value: value.as_slice().into(),
        }
    };
    let op = rec.invoke(c, call);
    let cmd = if is_get {
        new_get_cf_cmd("default", &k)
    } else {
        new_put_cf_cmd("default", &k, &value)
    };
    // Routed as a client would: to the leader the scheduler last heard of.
    let route = sim.route(&k);
    let Some((region, leader)) = route else {
        rec.failed(op);
        return None;
    };
    let mut req = new_request(region.id, region.region_epoch, vec![cmd]);
    req.header.get_or_insert_with(Default::default).peer = Some(leader);
    Some(Client::Waiting {
        op,
        is_get,
        pending: Box::new(sim.submit(leader.store_id, req, Duration::from_secs(2))),
    })
}

/// The value a successful Get read.
fn read_of(outcome: &Outcome) -> Option<Read> {
    let resp = outcome.response()?.responses.first()?;
    if resp.cmd_type() != CmdType::Get {
        return None;
    }
    let value = resp
        .get
        .as_ref()
        .map(|g| g.value.clone())
        .unwrap_or_default();
    Some(Read::Value(
        (!value.is_empty()).then(|| value.as_slice().into()),
    ))
}

/// A fault, once a second: cut a store off, heal the network, stop a
/// store (while four or more run), or start a stopped one.
fn inject_fault(sim: &mut Sim, stores: u64) {
    match sim.rand_below(4) {
        0 => {
            let s = 1 + sim.rand_below(stores);
            let rest = (1..=stores).filter(|&x| x != s).collect();
            sim.add_filter(Box::new(PartitionFilter {
                s1: vec![s],
                s2: rest,
            }));
        }
        1 => sim.clear_filters(),
        2 => {
            let running = sim.running_stores();
            if running.len() >= 4 {
                let s = running[sim.rand_below(running.len() as u64) as usize];
                sim.stop_store(s);
            }
        }
        _ => {
            let stopped: Vec<u64> = (1..=stores)
                .filter(|s| !sim.running_stores().contains(s))
                .collect();
            if !stopped.is_empty() {
                let s = stopped[sim.rand_below(stopped.len() as u64) as usize];
                sim.start_store(s);
            }
        }
    }
}

/// Five stores, four clients on four keys for `secs` virtual seconds with
/// a fault every second; then the network heals, every store runs, and
/// each key is read back. Checks the history and returns the summary.
fn chaos_run(seed: u64, secs: u64) -> RunSummary {
    const STORES: u64 = 5;
    let mut sim = Sim::new(SimConfig::new(seed, STORES as usize));
    sim.run_for_ms(1_000);
    let rec = Recorder::new(sim.clock());
    let mut clients: Vec<Option<Client>> = (0..CLIENTS).map(|_| None).collect();
    let (mut seq, mut ops_ok) = (0, 0);
    let end = sim.now_ms() + secs * 1_000;
    let mut next_fault = sim.now_ms() + 1_000;
    while sim.now_ms() < end {
        if sim.now_ms() >= next_fault {
            inject_fault(&mut sim, STORES);
            next_fault += 1_000;
        }
        for c in 0..CLIENTS {
            let slot = &mut clients[c as usize];
            match slot.take() {
                None => {
                    seq += 1;
                    *slot = start_op(&mut sim, &rec, c, seq).or(Some(Client::Idle {
                        next_ms: sim.now_ms() + 50,
                    }));
                }
                Some(Client::Idle { next_ms }) if sim.now_ms() < next_ms => {
                    *slot = Some(Client::Idle { next_ms });
                }
                Some(Client::Idle { .. }) => {}
                Some(Client::Waiting {
                    op,
                    is_get,
                    mut pending,
                }) => match sim.poll(&mut pending) {
                    None => {
                        *slot = Some(Client::Waiting {
                            op,
                            is_get,
                            pending,
                        })
                    }
                    Some(outcome) => {
                        ops_ok += u64::from(outcome.is_ok());
                        let read = if is_get { read_of(&outcome) } else { None };
                        record(&rec, op, &outcome, read);
                    }
                },
            }
        }
        sim.run_for_ms(5);
    }
    // Whatever is still out is unknown: it may yet apply.
    for client in clients.into_iter().flatten() {
        if let Client::Waiting { op, .. } = client {
            rec.unknown(op);
        }
    }
    sim.clear_filters();
    for s in 1..=STORES {
        if !sim.running_stores().contains(&s) {
            sim.start_store(s);
        }
    }
    sim.run_for_ms(2_000);
    for k in 0..KEYS {
        let op = rec.invoke(
            CLIENTS,
            Call::Get {
                key: key(k).as_slice().into(),
            },
        );
        let value = sim.must_get(&key(k));
        rec.ok(op, Some(Read::Value(value.map(|v| v.as_slice().into()))));
    }
    check_history(&rec.history(), &format!("sim-chaos-seed-{seed}"));
    RunSummary {
        trace_hash: sim.trace_hash(),
        trace_events: sim.trace_events(),
        ops_ok,
    }
}

fn replay_hint(seed: u64) -> String {
    format!("replay: SIM_SEED={seed} cargo test --release --test sim sim_chaos_history_is_linearizable -- --nocapture")
}

#[test]
fn sim_put_get_and_restart() {
    let mut sim = Sim::new(SimConfig::new(7, 3));
    sim.must_put(b"k", b"v1");
    assert_eq!(sim.must_get(b"k"), Some(b"v1".to_vec()));
    sim.stop_store(1);
    sim.must_put(b"k", b"v2");
    sim.start_store(1);
    sim.run_for_ms(3_000);
    assert_eq!(sim.must_get(b"k"), Some(b"v2".to_vec()));
    assert!(
        sim.now_ms() >= 3_000,
        "virtual time moved: {}",
        sim.now_ms()
    );
}

#[test]
fn sim_same_seed_same_trace() {
    for seed in [1, 2, 3] {
        let first = chaos_run(seed, 6);
        let second = chaos_run(seed, 6);
        eprintln!(
            "seed {seed}: trace {:016x}, {} events, {} ops ok",
            first.trace_hash, first.trace_events, first.ops_ok
        );
        assert!(first.ops_ok > 0, "seed {seed}: no operation succeeded");
        assert_eq!(
            first,
            second,
            "seed {seed} ran differently twice; {}",
            replay_hint(seed)
        );
    }
}

#[test]
fn sim_different_seeds_differ() {
    let a = chaos_run(11, 3);
    let b = chaos_run(12, 3);
    assert_ne!(a.trace_hash, b.trace_hash);
}

#[test]
fn sim_chaos_history_is_linearizable() {
    let seeds: Vec<u64> = match std::env::var("SIM_SEED") {
        Ok(s) => vec![s.parse().expect("SIM_SEED is a number")],
        Err(_) => (100..104).collect(),
    };
    for seed in seeds {
        let summary = chaos_run(seed, 10);
        eprintln!("seed {seed}: {summary:?}; {}", replay_hint(seed));
    }
}

/// Go's GenericTest suites in virtual time: each 2B/2C/3B test built on
/// GenericTest has a twin here under its Go name (`sim::TestBasic2B`, …),
/// same settings and checks, its client history checked for
/// linearizability. By default each runs seeds 1–3, each twice, and the
/// two runs of a seed must leave the same trace; `SIM_SEED=N` runs seed N
/// once (what a failure says to replay).
#[allow(non_snake_case)]
mod sim {
    use pretty_assertions::assert_eq;
    use test_cluster::generic::GenericTest;
    use test_cluster::sim::run_generic;

    fn twin(name: &str) {
        let test = GenericTest::named(name);
        if let Ok(seed) = std::env::var("SIM_SEED") {
            let seed = seed.parse().expect("SIM_SEED is a number");
            let report = run_generic(test, seed);
            eprintln!("{name}: {report:?}");
            // The line `tinykv-lab sim` reads its operation and virtual
            // time columns from (lab/src/logscan.rs).
            eprintln!(
                "generic-test name={name} seed={seed} puts={} scans={} virtual_ms={} trace={:016x}",
                report.puts, report.scans, report.virtual_ms, report.trace_hash
            );
            return;
        }
        for seed in 1..=3 {
            let hint = format!(
                "replay: SIM_SEED={seed} cargo test --release --test sim -- --exact sim::{name} --nocapture"
            );
            eprintln!("{name} seed {seed}; {hint}");
            let first = run_generic(test, seed);
            let second = run_generic(test, seed);
            eprintln!("{name}: {first:?}");
            assert!(first.puts > 0, "{name}: no append completed; {hint}");
            assert_eq!(
                first, second,
                "{name}: seed {seed} ran differently twice; {hint}"
            );
        }
    }

    macro_rules! twins {
        ($($name:ident),* $(,)?) => {
            $(
                #[test]
                fn $name() {
                    twin(stringify!($name));
                }
            )*
        };
    }

    twins!(
        TestBasic2B,
        TestConcurrent2B,
        TestUnreliable2B,
        TestManyPartitionsOneClient2B,
        TestManyPartitionsManyClients2B,
        TestPersistOneClient2B,
        TestPersistConcurrent2B,
        TestPersistConcurrentUnreliable2B,
        TestPersistPartition2B,
        TestPersistPartitionUnreliable2B,
        TestSnapshotRecover2C,
        TestSnapshotRecoverManyClients2C,
        TestSnapshotUnreliable2C,
        TestSnapshotUnreliableRecover2C,
        TestSnapshotUnreliableRecoverConcurrentPartition2C,
        TestConfChangeRecover3B,
        TestConfChangeRecoverManyClients3B,
        TestConfChangeUnreliable3B,
        TestConfChangeUnreliableRecover3B,
        TestConfChangeSnapshotUnreliableRecover3B,
        TestConfChangeSnapshotUnreliableRecoverConcurrentPartition3B,
        TestSplitRecover3B,
        TestSplitRecoverManyClients3B,
        TestSplitUnreliable3B,
        TestSplitUnreliableRecover3B,
        TestSplitConfChangeSnapshotUnreliableRecover3B,
        TestSplitConfChangeSnapshotUnreliableRecoverConcurrentPartition3B,
    );

    /// Every GenericTest of the Go suites has its twin above.
    #[test]
    fn every_generic_test_has_a_twin() {
        let src = include_str!("sim.rs");
        for t in test_cluster::generic::GENERIC_TESTS {
            assert!(
                src.contains(&format!("        {},\n", t.name)),
                "{} has no simulated twin",
                t.name
            );
        }
    }
}

/// The sweep finds classic raftstore bugs: each is planted (the
/// `inject-bugs` feature), a relevant twin runs seed after seed until one
/// fails, and that seed, run again, fails the same way. Planting is
/// process-wide, so run these alone:
/// `cargo test --release --features inject-bugs --test sim planted -- --test-threads 1`.
#[cfg(feature = "inject-bugs")]
mod planted {
    use kv::raftstore::bugs::{plant, Bug};
    use test_cluster::generic::GenericTest;
    use test_cluster::panics;
    use test_cluster::sim::{run_generic, GenericReport};

    /// Seeds a planted bug must be found within.
    const SEEDS: u64 = 200;

    fn run(test: &str, seed: u64) -> Result<GenericReport, String> {
        std::panic::catch_unwind(|| run_generic(GenericTest::named(test), seed))
            .map_err(|p| panics::message(p.as_ref()))
    }

    fn found_and_replayed(test: &str, bug: Bug) {
        plant(Some(bug));
        let found = (1..=SEEDS).find_map(|seed| run(test, seed).err().map(|msg| (seed, msg)));
        let Some((seed, failure)) = found else {
            plant(None);
            panic!("{bug:?}: no seed of 1..={SEEDS} of {test} failed");
        };
        let again = run(test, seed);
        plant(None);
        eprintln!("{bug:?}: {test} fails on seed {seed}: {failure}");
        assert_eq!(
            again.err().as_deref(),
            Some(failure.as_str()),
            "{bug:?}: seed {seed} of {test} did not fail the same way twice"
        );
    }

    #[test]
    fn planted_ack_before_commit_is_found_and_replays() {
        found_and_replayed("TestManyPartitionsOneClient2B", Bug::AckBeforeCommit);
    }

    #[test]
    fn planted_stale_read_is_found_and_replays() {
        found_and_replayed("TestManyPartitionsManyClients2B", Bug::StaleRead);
    }
}
