//! Commands tried once: the client API a history recorder needs.
//!
//! Each call sends one command to one store and returns its [`Outcome`];
//! nothing is re-sent, nothing panics on an error. Go's `request` and the
//! `must_*` helpers are the retrying layer over the same sends.
//!
//! ```
//! use std::time::Duration;
//! use kv::config::Config;
//! use test_cluster::{new_put_cf_cmd, new_test_cluster, Outcome};
//!
//! let mut cluster = new_test_cluster(1, Config::new_test_config());
//! cluster.start();
//! let put = vec![new_put_cf_cmd("default", b"k", b"v")];
//! match cluster.try_request(b"k", put, Duration::from_secs(3)) {
//!     Outcome::Ok(_) => {}                     // applied, once
//!     Outcome::Refused(why) => panic!("{why:?}"), // certainly not applied
//!     Outcome::Unknown(_) => {}                // may apply, now or later
//! }
//! assert_eq!(cluster.get_opt(b"k"), Some(b"v".to_vec()));
//! cluster.shutdown();
//! ```

use std::time::Duration;

use kv::raftstore::scheduler_client::SchedulerClient;
use proto::metapb::Peer;
use proto::raft_cmdpb::{RaftCmdRequest, Request};

use crate::cluster::Cluster;
use crate::outcome::{Outcome, Refusal};
use crate::utils::new_request;

impl Cluster {
    /// Sends `req` once to `store_id` (the header's peer is left as given)
    /// and waits up to `timeout` for the answer.
    pub fn try_command_on_store(
        &self,
        store_id: u64,
        req: RaftCmdRequest,
        timeout: Duration,
    ) -> Outcome {
        self.simulator
            .try_call_command_on_store(store_id, req, timeout)
    }

    /// Sends `req` once to the peer its header names, or, if it names none,
    /// to the region's leader as the scheduler believes it (any peer of the
    /// region if the scheduler knows no leader).
    pub fn try_command(&self, mut req: RaftCmdRequest, timeout: Duration) -> Outcome {
        let header = req.header.get_or_insert_with(Default::default);
        let region_id = header.region_id;
        let peer = match header.peer {
            Some(p) => p,
            None => match self.believed_leader(region_id) {
                Some(p) => p,
                None => return Outcome::Refused(Refusal::Unroutable { region_id }),
            },
        };
        header.peer = Some(peer);
        self.try_command_on_store(peer.store_id, req, timeout)
    }

    /// Sends `reqs` once for `key`'s region (as the scheduler sees it,
    /// epoch included) to its believed leader.
    pub fn try_request(&self, key: &[u8], reqs: Vec<Request>, timeout: Duration) -> Outcome {
        let region = self.get_region(key);
        self.try_command(new_request(region.id, region.region_epoch, reqs), timeout)
    }

    /// The scheduler's leader of the region, or a random peer of it; no
    /// waiting. `None` if the scheduler does not know the region.
    pub fn believed_leader(&self, region_id: u64) -> Option<Peer> {
        let (region, leader) = self.scheduler_client.get_region_by_id(region_id).ok()?;
        if leader.is_some() {
            return leader;
        }
        let peers = region?.peers;
        if peers.is_empty() {
            return None;
        }
        Some(peers[self.rand_below(peers.len() as u64) as usize])
    }
}
