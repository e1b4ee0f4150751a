//! Go's `GenericTest` in virtual time: the same workload, settings and
//! checks as the threaded suite (tests/test_test.rs), written as actors on
//! the simulator — clients, a partitioner and a conf changer — with Go's
//! sleeps in virtual milliseconds. The harness calls keep Go's semantics
//! (`Request` retries until an answer without error, following NotLeader
//! hints; `MustAddPeer` waits 5 s), built on single attempts, each of
//! which is recorded in a client history that is checked for
//! linearizability at the end.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use kv::raftstore::scheduler_client::SchedulerClient;
use kv::util::engine_util::{DbSnapshot, CF_DEFAULT};
use lincheck::{Call, RawPairs, Recorder};
use proto::metapb::{Peer, Region};
use proto::raft_cmdpb::{CmdType, RaftCmdResponse, Request};
use scheduler_mock::find_peer;

use super::exec::SimHandle;
use super::{Sim, SimConfig};
use crate::cluster::{check_single_response, leader_retry, scan_piece};
use crate::filter::{DropFilter, PartitionFilter};
use crate::generic::{
    check_clnt_appends, check_log_trimmed, client_key, client_value, GenericTest,
    GENERIC_CLIENT_MS, GENERIC_ITERATIONS, GENERIC_STORES,
};
use crate::history::{check_history, record_attempt};
use crate::outcome::Outcome;
use crate::utils::{
    hex, new_delete_cf_cmd, new_peer, new_put_cf_cmd, new_request, new_snap_cmd, target_store,
};

/// What a simulated GenericTest run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenericReport {
    /// The seed it ran with.
    pub seed: u64,
    /// Hash of every event of the run (equal for two runs of one seed).
    pub trace_hash: u64,
    /// Events in the trace.
    pub trace_events: u64,
    /// Virtual time the run took, in milliseconds.
    pub virtual_ms: u64,
    /// Appends the clients completed, over all iterations.
    pub puts: u64,
    /// Scans the clients completed.
    pub scans: u64,
    /// Operations in the checked history.
    pub history_ops: usize,
}

/// Runs `test` in the simulator with `seed`; panics (naming the seed) as
/// the Go test fails. Checks the client history for linearizability.
pub fn run_generic(test: GenericTest, seed: u64) -> GenericReport {
    let mut cfg = SimConfig::new(seed, GENERIC_STORES);
    cfg.cfg = test.config(cfg.cfg);
    let sim = SimHandle::new(Sim::new(cfg));
    // The test's own checks are the history's last client.
    let h = Harness {
        sim: sim.clone(),
        rec: Rc::new(Recorder::new(sim.with(|s| s.clock()))),
        client: test.clients as u64,
    };
    let (puts, scans) = sim.block_on(generic_test(h.clone(), test));
    let history = h.rec.take_history();
    check_history(&history, &format!("{}-seed-{seed}", test.name));
    sim.with(|s| GenericReport {
        seed,
        trace_hash: s.trace_hash(),
        trace_events: s.trace_events(),
        virtual_ms: s.now_ms(),
        puts,
        scans,
        history_ops: history.ops.len(),
    })
}

/// Go's harness calls over the simulator, each attempt recorded.
#[derive(Clone)]
struct Harness {
    sim: SimHandle,
    rec: Rc<Recorder>,
    /// Whose operations these are, in the history.
    client: u64,
}

/// The GenericTest itself (see [`crate::generic`]); returns the appends and
/// scans the clients completed.
async fn generic_test(h: Harness, t: GenericTest) -> (u64, u64) {
    let sim = &h.sim;
    let (base_ms, election_ticks) = sim.with(|s| {
        let cfg = s.config();
        (
            cfg.raft_base_tick_interval.as_millis() as u64,
            cfg.raft_election_timeout_ticks as u64,
        )
    });
    let election_ms = base_ms * election_ticks;
    sim.sleep_ms(2 * election_ms).await;
    let (mut puts, mut scans) = (0, 0);
    let conf_changer_done = Rc::new(RefCell::new(false));
    let mut conf_changer = None;
    for iteration in 0..GENERIC_ITERATIONS {
        let done = Rc::new(RefCell::new(false));
        let counts: Vec<Rc<RefCell<usize>>> = (0..t.clients).map(|_| Rc::default()).collect();
        let scan_count: Rc<RefCell<u64>> = Rc::default();
        let clients: Vec<_> = (0..t.clients)
            .map(|cli| {
                let (h, done, count, scan_count) = (
                    Harness {
                        client: cli as u64,
                        ..h.clone()
                    },
                    done.clone(),
                    counts[cli].clone(),
                    scan_count.clone(),
                );
                sim.spawn(async move { client(h, cli, done, count, scan_count).await })
            })
            .collect();
        let mut partitioner = None;
        if t.unreliable || t.partitions {
            sim.sleep_ms(300).await;
            let (h, done) = (h.clone(), done.clone());
            partitioner = Some(sim.spawn(async move {
                network_chaos(h, done, t.unreliable, t.partitions, election_ms).await
            }));
        }
        if t.conf_change {
            sim.sleep_ms(100).await;
            // As in Go, only the first iteration's conf changer does anything.
            if iteration == 0 {
                let (h, done) = (h.clone(), conf_changer_done.clone());
                conf_changer = Some(sim.spawn(async move { conf_changer_loop(h, done).await }));
            }
        }
        sim.sleep_ms(GENERIC_CLIENT_MS).await;
        *done.borrow_mut() = true;
        *conf_changer_done.borrow_mut() = true;
        if let Some(p) = partitioner {
            sim.join(&p).await;
            sim.with(|s| s.clear_filters());
            sim.sleep_ms(election_ms).await;
        }
        for c in &clients {
            sim.join(c).await;
        }
        puts += counts.iter().map(|c| *c.borrow() as u64).sum::<u64>();
        scans += *scan_count.borrow();

        if t.crash {
            for id in 1..=GENERIC_STORES as u64 {
                sim.with(|s| s.stop_store(id));
            }
            sim.sleep_ms(election_ms).await;
            for id in 1..=GENERIC_STORES as u64 {
                sim.with(|s| s.start_store(id));
            }
        }

        for (cli, count) in counts.iter().enumerate() {
            let j = *count.borrow();
            let v = h.scan(&client_key(cli, 0), &client_key(cli, j)).await;
            check_clnt_appends(cli, &v, j);
            for k in 0..j {
                h.must_delete(client_key(cli, k).as_bytes()).await;
            }
        }

        if let Some(max) = t.max_raft_log {
            sim.sleep_ms(1_000).await;
            h.check_logs_trimmed(max).await;
        }
        if t.split {
            let r = h.get_region(b"").await;
            assert!(
                !r.end_key.is_empty(),
                "region is not split (seed {})",
                h.seed()
            );
        }
    }
    if let Some(c) = conf_changer {
        sim.join(&c).await;
    }
    (puts, scans)
}

/// One GenericTest client: appends (half the time) or scans back its own
/// keys, checking the scan sees exactly its appends so far.
async fn client(
    h: Harness,
    cli: usize,
    done: Rc<RefCell<bool>>,
    count: Rc<RefCell<usize>>,
    scans: Rc<RefCell<u64>>,
) {
    let mut j = 0;
    let mut last = String::new();
    while !*done.borrow() {
        if h.sim.rand_below(1000) < 500 {
            let value = client_value(cli, j);
            h.must_put(client_key(cli, j).as_bytes(), value.as_bytes())
                .await;
            last.push_str(&value);
            j += 1;
            *count.borrow_mut() = j;
        } else {
            let v = h.scan(&client_key(cli, 0), &client_key(cli, j)).await;
            *scans.borrow_mut() += 1;
            assert!(
                v == last,
                "get wrong value, client {}\nwant:{}\ngot: {}\n(seed {})",
                cli,
                last,
                v,
                h.seed()
            );
        }
    }
}

/// Go's partitioner: a random partition and/or a drop filter, renewed
/// every election timeout plus up to 200 ms.
async fn network_chaos(
    h: Harness,
    done: Rc<RefCell<bool>>,
    unreliable: bool,
    partitions: bool,
    election_ms: u64,
) {
    while !*done.borrow() {
        if partitions {
            let mut sides = [Vec::new(), Vec::new()];
            for id in 1..=GENERIC_STORES as u64 {
                sides[h.sim.rand_below(2) as usize].push(id);
            }
            let [s1, s2] = sides;
            h.sim.with(|s| {
                s.clear_filters();
                s.add_filter(Box::new(PartitionFilter { s1, s2 }));
            });
        }
        if unreliable {
            let seed = h.sim.rand_below(u64::MAX);
            h.sim
                .with(|s| s.add_filter(Box::new(DropFilter::new(seed))));
        }
        let pause = election_ms + h.sim.rand_below(200);
        h.sim.sleep_ms(pause).await;
    }
}

/// Go's conf changer: removes a peer of a random region (if it has more
/// than one) or adds one, on a random store, every up to 200 ms.
async fn conf_changer_loop(h: Harness, done: Rc<RefCell<bool>>) {
    while !*done.borrow() {
        let region = h.random_region_with_leader().await;
        let store = h.sim.rand_below(GENERIC_STORES as u64) + 1;
        match find_peer(&region, store) {
            Some(p) if region.peers.len() > 1 => h.must_remove_peer(region.id, *p).await,
            Some(_) => {}
            None => {
                let id = h.sim.with(|s| s.alloc_id());
                h.must_add_peer(region.id, new_peer(store, id)).await;
            }
        }
        let pause = h.sim.rand_below(200);
        h.sim.sleep_ms(pause).await;
    }
}

impl Harness {
    fn seed(&self) -> u64 {
        self.sim.with(|s| s.seed())
    }

    /// Polls `check` every `every_ms` (virtual), at most `tries` times.
    async fn wait_until<T>(
        &self,
        tries: u32,
        every_ms: u64,
        mut check: impl FnMut(&Sim) -> Option<T>,
    ) -> Option<T> {
        for _ in 0..tries {
            if let Some(v) = self.sim.with(|s| check(s)) {
                return Some(v);
            }
            self.sim.sleep_ms(every_ms).await;
        }
        None
    }

    /// The region of `key` per the scheduler, waiting up to 2 s.
    async fn get_region(&self, key: &[u8]) -> Region {
        self.wait_until(100, 20, |s| s.scheduler_client.get_region(key).ok()?.0)
            .await
            .unwrap_or_else(|| panic!("find no region for {} (seed {})", hex(key), self.seed()))
    }

    /// The region's leader per the scheduler, waiting up to 5 s.
    async fn leader_of_region(&self, region_id: u64) -> Option<Peer> {
        self.wait_until(500, 10, |s| {
            s.scheduler_client.get_region_by_id(region_id).ok()?.1
        })
        .await
    }

    /// A region with a known leader, waiting up to 5 s for one.
    async fn random_region_with_leader(&self) -> Region {
        self.wait_until(500, 10, |s| s.scheduler_client.get_random_region())
            .await
            .unwrap_or_else(|| panic!("no region with a leader after 5 s (seed {})", self.seed()))
    }

    /// One attempt, to one store, recorded: `call` is what it does to the
    /// data (`None` for an admin-free read the history ignores). `read` is
    /// set to the pairs recorded for a scan (see [`record_attempt`]).
    async fn attempt(
        &self,
        req: proto::raft_cmdpb::RaftCmdRequest,
        call: Option<Call>,
        read: &mut Option<RawPairs>,
    ) -> Outcome {
        let store_id = target_store(&req);
        let op = call.clone().map(|c| self.rec.invoke(self.client, c));
        // A client's request takes a millisecond to reach the store, so
        // that a store refusing at once still costs virtual time.
        self.sim.sleep_ms(1).await;
        let outcome = self.sim.call(store_id, req, Duration::from_secs(1)).await;
        *read = match (op, call.as_ref()) {
            (Some(op), Some(call)) => record_attempt(&self.rec, op, call, &outcome),
            _ => None,
        };
        outcome
    }

    /// Go's `CallCommandOnLeader`: to the believed leader, following
    /// NotLeader hints and retrying stale or misrouted commands until
    /// `timeout`; `None` on timeout.
    async fn call_command_on_leader(
        &self,
        mut req: proto::raft_cmdpb::RaftCmdRequest,
        call: Option<Call>,
        read: &mut Option<RawPairs>,
        timeout: Duration,
    ) -> Option<Outcome> {
        let start = self.sim.now_ms();
        let region_id = req.header.as_ref().map_or(0, |h| h.region_id);
        let mut leader = self.leader_of_region(region_id).await;
        loop {
            if self.sim.now_ms() - start > timeout.as_millis() as u64 {
                return None;
            }
            let l = leader.unwrap_or_else(|| {
                panic!(
                    "can't get leader of region {region_id} (seed {})",
                    self.seed()
                )
            });
            req.header.get_or_insert_with(Default::default).peer = Some(l);
            let outcome = self.attempt(req.clone(), call.clone(), read).await;
            let Some(resp) = outcome.response() else {
                let new_leader = self.leader_of_region(region_id).await;
                if new_leader != leader {
                    leader = new_leader;
                    continue;
                }
                let region = self
                    .sim
                    .with(|s| s.scheduler_client.get_region_by_id(region_id).ok()?.0)?;
                if region.peers.is_empty() {
                    return None;
                }
                let idx = self.sim.rand_below(region.peers.len() as u64) as usize;
                leader = Some(region.peers[idx]);
                continue;
            };
            if let Some(hint) = leader_retry(resp) {
                leader = match hint {
                    Some(l) => Some(l),
                    None => self.leader_of_region(region_id).await,
                };
                continue;
            }
            return Some(outcome);
        }
    }

    /// Go's `Request`: tries until an answer without error (at least 10
    /// times, and until `timeout`), 100 ms apart; panics after. `read`
    /// ends as what the answering attempt recorded of a scan.
    async fn request(
        &self,
        key: &[u8],
        reqs: Vec<Request>,
        call: Option<Call>,
        read: &mut Option<RawPairs>,
        timeout: Duration,
    ) -> (RaftCmdResponse, Option<DbSnapshot>) {
        let start = self.sim.now_ms();
        let mut i = 0;
        while i < 10 || self.sim.now_ms() - start < timeout.as_millis() as u64 {
            i += 1;
            let region = self.get_region(key).await;
            let req = new_request(region.id, region.region_epoch, reqs.clone());
            if let Some(Outcome::Ok(a)) = self
                .call_command_on_leader(req, call.clone(), read, timeout)
                .await
            {
                return (a.resp, a.snap);
            }
            self.sim.sleep_ms(100).await;
        }
        let region = self.get_region(key).await;
        let state = self.sim.with(|s| s.describe_region(region.id));
        panic!(
            "request timeout: key {} after {} ms (virtual, seed {})\n{state}",
            hex(key),
            self.sim.now_ms() - start,
            self.seed()
        );
    }

    async fn must_put(&self, key: &[u8], value: &[u8]) {
        let call = Call::Put {
            key: key.into(),
            value: value.into(),
        };
        let (resp, _) = self
            .request(
                key,
                vec![new_put_cf_cmd(CF_DEFAULT, key, value)],
                Some(call),
                &mut None,
                Duration::from_secs(5),
            )
            .await;
        check_single_response(&resp, CmdType::Put);
    }

    async fn must_delete(&self, key: &[u8]) {
        let call = Call::Delete { key: key.into() };
        let (resp, _) = self
            .request(
                key,
                vec![new_delete_cf_cmd(CF_DEFAULT, key)],
                Some(call),
                &mut None,
                Duration::from_secs(5),
            )
            .await;
        check_single_response(&resp, CmdType::Delete);
    }

    /// Go's `Scan`: the values in `[start, end)`, region by region, each
    /// read from a Snap command's consistent view; concatenated as text.
    async fn scan(&self, start: &str, end: &str) -> String {
        let (start, end) = (start.as_bytes(), end.as_bytes());
        let mut values = Vec::new();
        let mut key = start.to_vec();
        while (!end.is_empty() && key.as_slice() < end) || (key.is_empty() && end.is_empty()) {
            // Recorded as a read of the whole range the command's region
            // covers (it is atomic there); the region is known from the
            // answer, so the call says the range asked for.
            let call = Call::Scan {
                start: key.as_slice().into(),
                end: end.into(),
            };
            let mut read = None;
            let (resp, snap) = self
                .request(
                    &key,
                    vec![new_snap_cmd()],
                    Some(call),
                    &mut read,
                    Duration::from_secs(5),
                )
                .await;
            check_single_response(&resp, CmdType::Snap);
            let region = resp.responses[0]
                .snap
                .as_ref()
                .and_then(|s| s.region.clone())
                .expect("a Snap answer carries its region");
            let snap = snap.expect("a Snap answer carries a snapshot");
            scan_piece(read, &snap, &region, &key, end, &mut |v| {
                values.extend_from_slice(v)
            });
            key = region.end_key.clone();
            if key.is_empty() {
                break;
            }
        }
        String::from_utf8(values).expect("values are text")
    }

    async fn must_add_peer(&self, region_id: u64, peer: Peer) {
        self.sim
            .with(|s| s.scheduler_client.add_peer(region_id, peer));
        let found = self
            .wait_until(500, 10, |s| {
                let (region, _) = s.scheduler_client.get_region_by_id(region_id).ok()?;
                find_peer(region.as_ref()?, peer.store_id)
                    .filter(|p| p.id == peer.id)
                    .map(|_| ())
            })
            .await;
        if found.is_none() {
            let state = self.sim.with(|s| s.describe_region(region_id));
            panic!(
                "no peer: {peer:?} in region {region_id} (seed {})\n{state}",
                self.seed()
            );
        }
    }

    async fn must_remove_peer(&self, region_id: u64, peer: Peer) {
        self.sim
            .with(|s| s.scheduler_client.remove_peer(region_id, peer));
        let gone = self
            .wait_until(500, 10, |s| {
                let (region, _) = s.scheduler_client.get_region_by_id(region_id).ok()?;
                (find_peer(region.as_ref()?, peer.store_id).map(|p| p.id) != Some(peer.id))
                    .then_some(())
            })
            .await;
        if gone.is_none() {
            let state = self.sim.with(|s| s.describe_region(region_id));
            panic!(
                "have peer: {peer:?} in region {region_id} (seed {})\n{state}",
                self.seed()
            );
        }
    }

    /// Every region's raft log must have been compacted to within twice
    /// `max` entries of what is applied, on every store.
    async fn check_logs_trimmed(&self, max: u64) {
        let mut key = Vec::new();
        loop {
            let region = self.get_region(&key).await;
            self.sim.with(|s| {
                let context = format!(" (seed {})", s.seed());
                for store_id in 1..=GENERIC_STORES as u64 {
                    check_log_trimmed(s.engines(store_id), region.id, max, &context);
                }
            });
            key = region.end_key.clone();
            if key.is_empty() {
                break;
            }
        }
    }
}
