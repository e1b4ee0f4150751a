//! The scheduler worker: region and store heartbeats, split-id requests,
//! and turning the scheduler's heartbeat answers into admin commands.

use std::sync::Arc;

use proto::metapb::{Peer, Region, RegionEpoch};
use proto::raft_cmdpb::{
    AdminCmdType, AdminRequest, ChangePeerRequest, RaftCmdRequest, RaftRequestHeader, SplitRequest,
    TransferLeaderRequest,
};
use proto::schedulerpb::{RegionHeartbeatRequest, RegionHeartbeatResponse, StoreStats};

use crate::raftstore::cmd_resp::err_resp;
use crate::raftstore::message::{Callback, RaftRouter};
use crate::raftstore::router::RaftstoreRouter;
use crate::raftstore::runner::SchedulerTask;
use crate::raftstore::scheduler_client::SchedulerClient;
use crate::raftstore::util::RaftstoreError;
use crate::util::engine_util::Engines;
use crate::util::worker::Handler;

pub struct SchedulerTaskHandler {
    store_id: u64,
    client: Arc<dyn SchedulerClient>,
    router: RaftstoreRouter,
}

impl SchedulerTaskHandler {
    pub fn new(store_id: u64, client: Arc<dyn SchedulerClient>, router: RaftstoreRouter) -> Self {
        SchedulerTaskHandler {
            store_id,
            client,
            router,
        }
    }

    fn on_ask_split(&self, region: Region, split_key: Vec<u8>, peer: Peer, cb: Callback) {
        let resp = match self.client.ask_split(&region) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(region_id = region.id, %e, "ask split failed");
                cb.done(err_resp(&RaftstoreError::other(format!(
                    "ask split: {}",
                    e
                ))));
                return;
            }
        };
        let admin = AdminRequest {
            cmd_type: AdminCmdType::Split as i32,
            split: Some(SplitRequest {
                split_key,
                new_region_id: resp.new_region_id,
                new_peer_ids: resp.new_peer_ids,
            }),
            ..Default::default()
        };
        send_admin_request(
            &self.router,
            region.id,
            region.region_epoch,
            Some(peer),
            admin,
            cb,
        );
    }

    fn on_heartbeat(
        &self,
        region: Region,
        peer: Peer,
        pending_peers: Vec<Peer>,
        size: Option<u64>,
    ) {
        let req = RegionHeartbeatRequest {
            region: Some(region),
            leader: Some(peer),
            pending_peers,
            approximate_size: size.unwrap_or(0),
            ..Default::default()
        };
        if let Err(e) = self.client.region_heartbeat(req) {
            tracing::debug!(%e, "region heartbeat failed");
        }
    }

    fn on_store_heartbeat(&self, mut stats: StoreStats, engines: &Engines, path: &str) {
        let (capacity, free) = crate::util::file::disk_usage(path).unwrap_or((0, 0));
        let used = stats.used_size + engines.approximate_size();
        stats.capacity = capacity;
        stats.used_size = used;
        stats.available = free.min(capacity.saturating_sub(used));
        if let Err(e) = self.client.store_heartbeat(stats) {
            tracing::debug!(%e, "store heartbeat failed");
        }
    }
}

/// Turns a heartbeat answer (an operator step) into an admin command for
/// the region's leader.
fn on_region_heartbeat_response(router: &RaftstoreRouter, resp: RegionHeartbeatResponse) {
    let admin = if let Some(cp) = resp.change_peer {
        AdminRequest {
            cmd_type: AdminCmdType::ChangePeer as i32,
            change_peer: Some(ChangePeerRequest {
                change_type: cp.change_type,
                peer: cp.peer,
            }),
            ..Default::default()
        }
    } else if let Some(tl) = resp.transfer_leader {
        AdminRequest {
            cmd_type: AdminCmdType::TransferLeader as i32,
            transfer_leader: Some(TransferLeaderRequest { peer: tl.peer }),
            ..Default::default()
        }
    } else {
        return;
    };
    send_admin_request(
        router,
        resp.region_id,
        resp.region_epoch,
        resp.target_peer,
        admin,
        Callback::none(),
    );
}

fn send_admin_request(
    router: &RaftstoreRouter,
    region_id: u64,
    epoch: Option<RegionEpoch>,
    peer: Option<Peer>,
    admin: AdminRequest,
    cb: Callback,
) {
    let cmd = RaftCmdRequest {
        header: Some(RaftRequestHeader {
            region_id,
            peer,
            region_epoch: epoch,
            ..Default::default()
        }),
        admin_request: Some(admin),
        ..Default::default()
    };
    if let Err(e) = router.send_raft_command(cmd, cb) {
        tracing::debug!(region_id, %e, "send admin request failed");
    }
}

impl Handler<SchedulerTask> for SchedulerTaskHandler {
    fn start(&mut self) {
        let router = self.router.clone();
        self.client.set_region_heartbeat_response_handler(
            self.store_id,
            Box::new(move |resp| on_region_heartbeat_response(&router, resp)),
        );
    }

    fn handle(&mut self, task: SchedulerTask) {
        match task {
            SchedulerTask::AskSplit {
                region,
                split_key,
                peer,
                callback,
            } => self.on_ask_split(region, split_key, peer, callback),
            SchedulerTask::RegionHeartbeat {
                region,
                peer,
                pending_peers,
                approximate_size,
            } => self.on_heartbeat(region, peer, pending_peers, approximate_size),
            SchedulerTask::StoreHeartbeat {
                stats,
                engines,
                path,
            } => self.on_store_heartbeat(stats, &engines, &path),
        }
    }
}
