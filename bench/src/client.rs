//! A benchmark client: sends each request to the leader it believes in,
//! follows NotLeader hints, and retries until acknowledged — counting every
//! error and retry by kind instead of hiding them.

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

use kv::raftstore::scheduler_client::SchedulerClient;
use kv::util::engine_util::DbSnapshot;
use proto::errorpb;
use proto::metapb::Peer;
use proto::raft_cmdpb::{RaftCmdResponse, Request};
use test_cluster::{new_request, Answer, Cluster, Outcome, Refusal, Uncertain};

use crate::stats::Stats;

/// How long one attempt may wait for its answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// Pause before retrying after an error that a new attempt cannot fix at
/// once (no leader known, region moving, store down).
const BACKOFF: Duration = Duration::from_millis(10);

/// The short name an error is counted under.
pub fn error_kind(e: &errorpb::Error) -> &'static str {
    if e.not_leader.is_some() {
        "not_leader"
    } else if e.region_not_found.is_some() {
        "region_not_found"
    } else if e.key_not_in_region.is_some() {
        "key_not_in_region"
    } else if e.epoch_not_match.is_some() {
        "epoch_not_match"
    } else if e.stale_command.is_some() {
        "stale_command"
    } else if e.store_not_match.is_some() {
        "store_not_match"
    } else {
        "other"
    }
}

pub struct Client<'a> {
    cluster: &'a Cluster,
    leaders: HashMap<u64, Peer>,
    next_peer: usize,
    pub stats: Stats,
}

impl<'a> Client<'a> {
    pub fn new(cluster: &'a Cluster) -> Self {
        Client {
            cluster,
            leaders: HashMap::new(),
            next_peer: 0,
            stats: Stats::default(),
        }
    }

    /// Runs `reqs` on the region of `key` until a store acknowledges them
    /// without error, or `give_up` passes.
    pub fn execute(
        &mut self,
        key: &[u8],
        reqs: &[Request],
        give_up: Duration,
    ) -> anyhow::Result<(RaftCmdResponse, Option<DbSnapshot>)> {
        let start = Instant::now();
        loop {
            if start.elapsed() > give_up {
                anyhow::bail!(
                    "no answer for key {} in {:?}",
                    String::from_utf8_lossy(key),
                    give_up
                );
            }
            let (region, scheduler_leader) = match self.cluster.scheduler_client.get_region(key) {
                Ok((Some(region), leader)) => (region, leader),
                _ => {
                    self.stats.error("no_region");
                    thread::sleep(BACKOFF);
                    continue;
                }
            };
            let peer = match self.leaders.get(&region.id).copied().or(scheduler_leader) {
                Some(p) => p,
                None if !region.peers.is_empty() => {
                    self.next_peer = self.next_peer.wrapping_add(1);
                    region.peers[self.next_peer % region.peers.len()]
                }
                None => {
                    self.stats.error("no_leader");
                    thread::sleep(BACKOFF);
                    continue;
                }
            };
            let mut req = new_request(region.id, region.region_epoch, reqs.to_vec());
            req.header.get_or_insert_with(Default::default).peer = Some(peer);
            let answer = self.cluster.simulator.try_call_command_on_store(
                peer.store_id,
                req,
                ATTEMPT_TIMEOUT,
            );
            match answer {
                Outcome::Ok(Answer { resp, snap }) => {
                    self.leaders.insert(region.id, peer);
                    return Ok((resp, snap));
                }
                Outcome::Refused(Refusal::StoreDown(_)) => {
                    self.stats.error("store_down");
                    self.forget_leader(region.id, &region.peers, peer);
                    thread::sleep(BACKOFF);
                }
                Outcome::Refused(Refusal::NoPeer { .. } | Refusal::Unroutable { .. }) => {
                    self.stats.error("region_not_found");
                    self.forget_leader(region.id, &region.peers, peer);
                    thread::sleep(BACKOFF);
                }
                Outcome::Unknown(Uncertain::NoAnswer) => {
                    self.stats.error("timeout");
                    self.forget_leader(region.id, &region.peers, peer);
                }
                Outcome::Refused(Refusal::Answer(resp))
                | Outcome::Unknown(Uncertain::Answer(resp)) => {
                    let err = resp
                        .header
                        .clone()
                        .and_then(|h| h.error)
                        .unwrap_or_default();
                    self.stats.error(error_kind(&err));
                    match err.not_leader.as_ref().and_then(|n| n.leader) {
                        Some(hint) => {
                            self.leaders.insert(region.id, hint);
                        }
                        None => {
                            self.forget_leader(region.id, &region.peers, peer);
                            thread::sleep(BACKOFF);
                        }
                    }
                }
            }
        }
    }

    /// Stops trusting `peer` as the leader: the next attempt goes to
    /// another peer of the region.
    fn forget_leader(&mut self, region_id: u64, peers: &[Peer], peer: Peer) {
        self.leaders.remove(&region_id);
        let others: Vec<Peer> = peers.iter().copied().filter(|p| *p != peer).collect();
        if !others.is_empty() {
            self.next_peer = self.next_peer.wrapping_add(1);
            self.leaders
                .insert(region_id, others[self.next_peer % others.len()]);
        }
    }
}
