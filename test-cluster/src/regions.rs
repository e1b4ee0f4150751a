//! Regions as the harness can see them: splitting on demand, the
//! scheduler's map, each store's own record, and who really leads.
//!
//! ```
//! use kv::config::Config;
//! use test_cluster::new_test_cluster;
//!
//! let mut cluster = new_test_cluster(3, Config::new_test_config());
//! cluster.start();
//! cluster.must_put(b"a", b"1");
//! cluster.must_put(b"m", b"2");
//! let region = cluster.get_region(b"a");
//! cluster.must_split(&region, b"m");
//! assert_ne!(cluster.get_region(b"a").id, cluster.get_region(b"m").id);
//! cluster.check_regions_contiguous().unwrap();
//! // Every store records both halves once the split applied there.
//! let right = cluster.get_region(b"m");
//! let leader = cluster.confirmed_leader(right.id).expect("a leader");
//! assert!(cluster.region_state(leader.store_id, right.id).is_some());
//! cluster.shutdown();
//! ```

use std::time::{Duration, Instant};

use kv::raftstore::message::{Callback, CallbackReceiver, PeerMsg, RaftRouter};
use kv::raftstore::meta;
use kv::raftstore::router::RaftstoreRouter;
use kv::raftstore::scheduler_client::SchedulerClient;
use kv::util::engine_util::{CfIterator, Engines, CF_RAFT};
use prost::Message as _;
use proto::metapb::{Peer, Region};
use proto::raft_serverpb::{PeerState, RegionLocalState};
use scheduler_mock::MockSchedulerClient;

use crate::cluster::Cluster;
use crate::outcome::{Outcome, Refusal, Uncertain};
use crate::utils::{hex, new_request, new_snap_cmd, sleep_ms};

/// A command handed to a store whose answer is still to come.
pub struct PendingCommand {
    rx: Option<CallbackReceiver>,
    refusal: Option<Refusal>,
}

impl PendingCommand {
    fn refused(why: Refusal) -> Self {
        PendingCommand {
            rx: None,
            refusal: Some(why),
        }
    }

    /// Waits up to `timeout` for the answer.
    pub fn wait(self, timeout: Duration) -> Outcome {
        if let Some(why) = self.refusal {
            return Outcome::Refused(why);
        }
        match self.rx.and_then(|rx| rx.wait_resp_with_timeout(timeout)) {
            Some(r) => Outcome::of_answer(r.resp, r.snap),
            None => Outcome::Unknown(Uncertain::NoAnswer),
        }
    }
}

impl Cluster {
    /// Asks the region's believed leader to split it at `split_key`, the
    /// way the split checker does (the new ids come from the scheduler);
    /// returns at once. The answer is the Split admin command's.
    pub fn split_region(&self, region: &Region, split_key: &[u8]) -> PendingCommand {
        let Some(leader) = self.believed_leader(region.id) else {
            return PendingCommand::refused(Refusal::Unroutable {
                region_id: region.id,
            });
        };
        let Some(router) = self.router(leader.store_id) else {
            return PendingCommand::refused(Refusal::StoreDown(leader.store_id));
        };
        let (callback, rx) = Callback::new();
        let msg = PeerMsg::SplitRegion {
            region_epoch: region.region_epoch.unwrap_or_default(),
            split_key: split_key.to_vec(),
            callback,
        };
        match router.send(region.id, msg) {
            Ok(()) => PendingCommand {
                rx: Some(rx),
                refusal: None,
            },
            Err(_) => PendingCommand::refused(Refusal::NoPeer {
                store_id: leader.store_id,
                region_id: region.id,
            }),
        }
    }

    /// Splits `region` at `split_key` and waits (up to 10 s) until the
    /// scheduler sees a region starting there; retries refused or lost
    /// attempts. Panics if it never happens.
    pub fn must_split(&self, region: &Region, split_key: &[u8]) {
        let start = Instant::now();
        let mut region = region.clone();
        while start.elapsed() < Duration::from_secs(10) {
            let outcome = self
                .split_region(&region, split_key)
                .wait(Duration::from_secs(3));
            let until = Instant::now() + Duration::from_secs(1);
            while Instant::now() < until {
                let now = self.get_region(split_key);
                if now.start_key == split_key {
                    return;
                }
                if outcome.is_ok() {
                    sleep_ms(20);
                    continue;
                }
                // Refused or unknown: try again on the scheduler's view.
                region = now;
                break;
            }
            sleep_ms(50);
        }
        panic!(
            "region {} was not split at {} within 10 s",
            region.id,
            hex(split_key)
        );
    }

    /// The region's state as store `store_id` recorded it on disk
    /// (`None` if the store never had a peer of it).
    pub fn region_state(&self, store_id: u64, region_id: u64) -> Option<RegionLocalState> {
        meta::get_region_local_state(&self.engines(store_id).kv, region_id)
            .unwrap_or_else(|e| panic!("read region {region_id} on store {store_id}: {e}"))
    }

    /// The regions store `store_id` holds a live (not tombstoned) peer of,
    /// as recorded on its disk, in region id order.
    pub fn store_regions(&self, store_id: u64) -> Vec<Region> {
        let engines = self.engines(store_id);
        let mut it = CfIterator::new(&engines.kv, CF_RAFT);
        it.seek(meta::REGION_META_MIN_KEY);
        let mut regions = Vec::new();
        while it.valid() && it.key() < meta::REGION_META_MAX_KEY {
            let decoded = meta::decode_region_meta_key(it.key());
            if matches!(decoded, Ok((_, meta::REGION_STATE_SUFFIX))) {
                let state = RegionLocalState::decode(it.value())
                    .unwrap_or_else(|e| panic!("decode a region state of store {store_id}: {e}"));
                if state.state() != PeerState::Tombstone {
                    regions.extend(state.region);
                }
            }
            it.next();
        }
        regions
    }

    /// Every region the mock scheduler knows, in key order.
    pub fn scheduler_regions(&self) -> Vec<Region> {
        self.scheduler_client
            .regions()
            .into_iter()
            .map(|(r, _)| r)
            .collect()
    }

    /// Checks that the scheduler's regions tile the key space: the first
    /// starts at "", each ends where the next starts, the last ends at "".
    pub fn check_regions_contiguous(&self) -> Result<(), String> {
        let regions = self.scheduler_regions();
        let mut want_start: &[u8] = b"";
        for (i, r) in regions.iter().enumerate() {
            if r.start_key != want_start {
                return Err(format!(
                    "region {} starts at {}, expected {} (regions: {})",
                    r.id,
                    hex(&r.start_key),
                    hex(want_start),
                    describe(&regions)
                ));
            }
            if r.end_key.is_empty() && i + 1 != regions.len() {
                return Err(format!(
                    "region {} ends at the end of the key space but is not the last ({})",
                    r.id,
                    describe(&regions)
                ));
            }
            want_start = &r.end_key;
        }
        match regions.last() {
            Some(last) if last.end_key.is_empty() => Ok(()),
            _ => Err(format!(
                "the key space is not covered to its end ({})",
                describe(&regions)
            )),
        }
    }

    /// The peer that leads the region now, as the peers themselves say:
    /// a Snap command, tried on the scheduler's leader first and then where
    /// NotLeader answers point, is answered only by a leader that committed
    /// it. Gives up after `timeout`.
    pub fn confirmed_leader_within(&self, region_id: u64, timeout: Duration) -> Option<Peer> {
        let start = Instant::now();
        let mut next = self.believed_leader(region_id);
        while start.elapsed() < timeout {
            let Some(peer) = next else {
                sleep_ms(20);
                next = self.believed_leader(region_id);
                continue;
            };
            let outcome = self.probe_leader(region_id, peer);
            if outcome.is_ok() {
                return Some(peer);
            }
            let hint = outcome
                .error()
                .and_then(|e| e.not_leader)
                .and_then(|n| n.leader);
            next = match hint {
                Some(l) => Some(l),
                None => {
                    sleep_ms(20);
                    self.believed_leader(region_id)
                }
            };
        }
        None
    }

    /// [`confirmed_leader_within`](Self::confirmed_leader_within) 5 s.
    pub fn confirmed_leader(&self, region_id: u64) -> Option<Peer> {
        self.confirmed_leader_within(region_id, Duration::from_secs(5))
    }

    /// True if `peer` answers a Snap command of the region as its leader
    /// within a second.
    pub fn is_confirmed_leader(&self, region_id: u64, peer: Peer) -> bool {
        self.probe_leader(region_id, peer).is_ok()
    }

    /// One Snap command of the region (at the scheduler's epoch) sent to
    /// `peer`: only a leader that commits it answers without error.
    fn probe_leader(&self, region_id: u64, peer: Peer) -> Outcome {
        let epoch = self
            .scheduler_client
            .get_region_by_id(region_id)
            .ok()
            .and_then(|(r, _)| r)
            .and_then(|r| r.region_epoch);
        let mut req = new_request(region_id, epoch, vec![new_snap_cmd()]);
        req.header.get_or_insert_with(Default::default).peer = Some(peer);
        self.try_command_on_store(peer.store_id, req, Duration::from_secs(1))
    }
}

impl Cluster {
    /// What the scheduler and every store record of a region, a line each:
    /// for failure messages (see [`describe_region`]).
    pub fn describe_region(&self, region_id: u64) -> String {
        describe_region(
            &self.scheduler_client,
            region_id,
            (1..=self.count as u64).map(|s| (s, self.engines(s), self.router(s))),
        )
    }
}

/// What the scheduler and every store record of a region, a line each:
/// for failure messages, in both runtimes. `stores` gives each store's
/// engines and, if it runs, its router. A store's line comes from its disk
/// (the raft state is written every round): the region's epoch, peers and
/// state, the raft term, vote, commit and last index, and the applied
/// index; a running store adds its peer's in-memory raft status.
pub fn describe_region<'a>(
    scheduler: &MockSchedulerClient,
    region_id: u64,
    stores: impl IntoIterator<Item = (u64, &'a Engines, Option<RaftstoreRouter>)>,
) -> String {
    let mut out = match scheduler.get_region_by_id(region_id) {
        Ok((Some(r), leader)) if r.id == region_id => format!(
            "region {region_id}: scheduler: epoch {:?}, peers {:?}, leader {:?}\n",
            r.region_epoch.unwrap_or_default(),
            r.peers
                .iter()
                .map(|p| (p.id, p.store_id))
                .collect::<Vec<_>>(),
            leader.map(|l| (l.id, l.store_id)),
        ),
        _ => format!("region {region_id}: unknown to the scheduler\n"),
    };
    for (store, engines, router) in stores {
        let running = if router.is_some() { "up" } else { "down" };
        if let Some(status) = router.and_then(|r| r.peer_status(region_id)) {
            out += &format!("  store {store} raft: {status}\n");
        }
        let Ok(Some(state)) = meta::get_region_local_state(&engines.kv, region_id) else {
            out += &format!("  store {store} ({running}): no record of the region\n");
            continue;
        };
        let region = state.region.clone().unwrap_or_default();
        let raft = meta::get_raft_local_state(&engines.raft, region_id)
            .ok()
            .flatten()
            .unwrap_or_default();
        let hard = raft.hard_state.unwrap_or_default();
        let applied = meta::get_apply_state(&engines.kv, region_id)
            .ok()
            .flatten()
            .map_or(0, |a| a.applied_index);
        out += &format!(
            "  store {store} ({running}): {:?}, epoch {:?}, peers {:?}; term {} vote {} commit {} last {} applied {applied}\n",
            state.state(),
            region.region_epoch.unwrap_or_default(),
            region.peers.iter().map(|p| (p.id, p.store_id)).collect::<Vec<_>>(),
            hard.term,
            hard.vote,
            hard.commit,
            raft.last_index,
        );
    }
    out
}

fn describe(regions: &[Region]) -> String {
    regions
        .iter()
        .map(|r| format!("{}:[{}, {})", r.id, hex(&r.start_key), hex(&r.end_key)))
        .collect::<Vec<_>>()
        .join(" ")
}
