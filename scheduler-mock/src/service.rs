//! The mock scheduler served over gRPC (schedulerpb's `Scheduler`), so a
//! cluster of `tinykv-server` processes runs without TinyKV's Go
//! scheduler: store registration, id allocation, bootstrap, region and
//! store heartbeats (operators answered on the heartbeat stream), region
//! lookups and AskSplit. Timestamps come from the mock's oracle ([`crate::Tso`]).

use std::pin::Pin;
use std::sync::Arc;

use kv::raftstore::scheduler_client::{SchedulerClient, SchedulerError};
use proto::schedulerpb::scheduler_server::Scheduler;
use proto::schedulerpb::*;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::MockSchedulerClient;

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

pub struct SchedulerService {
    mock: Arc<MockSchedulerClient>,
    /// Replicas a region should have; missing ones are added on stores
    /// without one (the only scheduling this mock does on its own).
    max_replicas: usize,
}

impl SchedulerService {
    pub fn new(mock: Arc<MockSchedulerClient>, max_replicas: usize) -> Self {
        SchedulerService { mock, max_replicas }
    }

    fn header(&self) -> Option<ResponseHeader> {
        Some(ResponseHeader {
            cluster_id: self.mock.get_cluster_id(),
            error: None,
        })
    }

    fn error_header(&self, e: &SchedulerError) -> Option<ResponseHeader> {
        let r#type = match e {
            SchedulerError::NotBootstrapped => ErrorType::NotBootstrapped,
            SchedulerError::RegionNotFound(_) => ErrorType::RegionNotFound,
            _ => ErrorType::Unknown,
        };
        Some(ResponseHeader {
            cluster_id: self.mock.get_cluster_id(),
            error: Some(Error {
                r#type: r#type as i32,
                message: e.to_string(),
            }),
        })
    }

    fn region_response(
        &self,
        r: kv::raftstore::scheduler_client::Result<(
            Option<proto::metapb::Region>,
            Option<proto::metapb::Peer>,
        )>,
    ) -> GetRegionResponse {
        match r {
            Ok((region, leader)) => GetRegionResponse {
                header: self.header(),
                region,
                leader,
                slaves: vec![],
            },
            Err(e) => GetRegionResponse {
                header: self.error_header(&e),
                ..Default::default()
            },
        }
    }
}

/// A replica checker: if `region` has fewer than `replicas` peers and no
/// operator is pending, adds one on the lowest-numbered store without a
/// peer of it. Like TinyKV's scheduler, one peer at a time.
fn replicate(mock: &MockSchedulerClient, region: &proto::metapb::Region, replicas: usize) {
    if region.id == 0 || region.peers.len() >= replicas || mock.has_operator(region.id) {
        return;
    }
    let Some(store) = mock
        .all_stores()
        .into_iter()
        .find(|s| !region.peers.iter().any(|p| p.store_id == s.id))
    else {
        return;
    };
    if let Ok(id) = mock.alloc_id() {
        mock.add_peer(
            region.id,
            proto::metapb::Peer {
                id,
                store_id: store.id,
            },
        );
    }
}

#[tonic::async_trait]
impl Scheduler for SchedulerService {
    async fn get_members(
        &self,
        _: Request<GetMembersRequest>,
    ) -> Result<Response<GetMembersResponse>, Status> {
        let me = Member {
            name: "mock-scheduler".into(),
            member_id: 1,
            ..Default::default()
        };
        Ok(Response::new(GetMembersResponse {
            header: self.header(),
            members: vec![me.clone()],
            leader: Some(me.clone()),
            etcd_leader: Some(me),
        }))
    }

    type TsoStream = BoxStream<TsoResponse>;

    async fn tso(
        &self,
        req: Request<Streaming<TsoRequest>>,
    ) -> Result<Response<Self::TsoStream>, Status> {
        let mock = self.mock.clone();
        let cluster_id = mock.get_cluster_id();
        let out = req.into_inner().map(move |r| {
            let r = r?;
            let ts = mock.tso().next(u64::from(r.count));
            let logical_mask = (1u64 << crate::TSO_LOGICAL_BITS) - 1;
            Ok(TsoResponse {
                header: Some(ResponseHeader {
                    cluster_id,
                    error: None,
                }),
                count: r.count,
                timestamp: Some(Timestamp {
                    physical: (ts >> crate::TSO_LOGICAL_BITS) as i64,
                    logical: (ts & logical_mask) as i64,
                }),
            })
        });
        Ok(Response::new(Box::pin(out)))
    }

    async fn bootstrap(
        &self,
        req: Request<BootstrapRequest>,
    ) -> Result<Response<BootstrapResponse>, Status> {
        let store = req.into_inner().store.unwrap_or_default();
        match self.mock.bootstrap(store) {
            Ok(resp) => Ok(Response::new(resp)),
            Err(e) => Ok(Response::new(BootstrapResponse {
                header: self.error_header(&e),
            })),
        }
    }

    async fn is_bootstrapped(
        &self,
        _: Request<IsBootstrappedRequest>,
    ) -> Result<Response<IsBootstrappedResponse>, Status> {
        Ok(Response::new(IsBootstrappedResponse {
            header: self.header(),
            bootstrapped: self.mock.is_bootstrapped().unwrap_or(false),
        }))
    }

    async fn alloc_id(
        &self,
        _: Request<AllocIdRequest>,
    ) -> Result<Response<AllocIdResponse>, Status> {
        match self.mock.alloc_id() {
            Ok(id) => Ok(Response::new(AllocIdResponse {
                header: self.header(),
                id,
            })),
            Err(e) => Ok(Response::new(AllocIdResponse {
                header: self.error_header(&e),
                id: 0,
            })),
        }
    }

    async fn get_store(
        &self,
        req: Request<GetStoreRequest>,
    ) -> Result<Response<GetStoreResponse>, Status> {
        match self.mock.get_store(req.into_inner().store_id) {
            Ok(store) => Ok(Response::new(GetStoreResponse {
                header: self.header(),
                store: Some(store),
                stats: None,
            })),
            Err(e) => Ok(Response::new(GetStoreResponse {
                header: self.error_header(&e),
                ..Default::default()
            })),
        }
    }

    async fn put_store(
        &self,
        req: Request<PutStoreRequest>,
    ) -> Result<Response<PutStoreResponse>, Status> {
        let store = req.into_inner().store.unwrap_or_default();
        let header = match self.mock.put_store(store) {
            Ok(()) => self.header(),
            Err(e) => self.error_header(&e),
        };
        Ok(Response::new(PutStoreResponse { header }))
    }

    async fn get_all_stores(
        &self,
        _: Request<GetAllStoresRequest>,
    ) -> Result<Response<GetAllStoresResponse>, Status> {
        Ok(Response::new(GetAllStoresResponse {
            header: self.header(),
            stores: self.mock.all_stores(),
        }))
    }

    async fn store_heartbeat(
        &self,
        req: Request<StoreHeartbeatRequest>,
    ) -> Result<Response<StoreHeartbeatResponse>, Status> {
        let stats = req.into_inner().stats.unwrap_or_default();
        let header = match self.mock.store_heartbeat(stats) {
            Ok(()) => self.header(),
            Err(e) => self.error_header(&e),
        };
        Ok(Response::new(StoreHeartbeatResponse { header }))
    }

    type RegionHeartbeatStream = BoxStream<RegionHeartbeatResponse>;

    /// One stream per store: the first heartbeat names the store (its
    /// leader peer's store), and operators for that store's regions come
    /// back on this stream.
    async fn region_heartbeat(
        &self,
        req: Request<Streaming<RegionHeartbeatRequest>>,
    ) -> Result<Response<Self::RegionHeartbeatStream>, Status> {
        let mut incoming = req.into_inner();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<RegionHeartbeatResponse>();
        let mock = self.mock.clone();
        let max_replicas = self.max_replicas;
        tokio::spawn(async move {
            let mut registered = None;
            while let Some(Ok(hb)) = incoming.next().await {
                let store_id = hb.leader.map_or(0, |p| p.store_id);
                if registered != Some(store_id) && store_id != 0 {
                    let tx = tx.clone();
                    mock.set_region_heartbeat_response_handler(
                        store_id,
                        Box::new(move |resp| {
                            let _ = tx.send(resp);
                        }),
                    );
                    registered = Some(store_id);
                }
                let mock = mock.clone();
                let replicas = max_replicas;
                // The mock panics on a heartbeat that breaks its rules (as
                // Go's does); that ends this task, not the server.
                let _ = tokio::task::spawn_blocking(move || {
                    let region = hb.region.clone().unwrap_or_default();
                    let _ = mock.region_heartbeat(hb);
                    replicate(&mock, &region, replicas);
                })
                .await;
            }
        });
        let out = tokio_stream::wrappers::UnboundedReceiverStream::new(rx).map(Ok);
        Ok(Response::new(Box::pin(out)))
    }

    async fn get_region(
        &self,
        req: Request<GetRegionRequest>,
    ) -> Result<Response<GetRegionResponse>, Status> {
        let key = req.into_inner().region_key;
        Ok(Response::new(
            self.region_response(self.mock.get_region(&key)),
        ))
    }

    async fn get_prev_region(
        &self,
        _: Request<GetRegionRequest>,
    ) -> Result<Response<GetRegionResponse>, Status> {
        Err(Status::unimplemented(
            "GetPrevRegion is not served by the mock scheduler",
        ))
    }

    async fn get_region_by_id(
        &self,
        req: Request<GetRegionByIdRequest>,
    ) -> Result<Response<GetRegionResponse>, Status> {
        let id = req.into_inner().region_id;
        Ok(Response::new(
            self.region_response(self.mock.get_region_by_id(id)),
        ))
    }

    async fn scan_regions(
        &self,
        req: Request<ScanRegionsRequest>,
    ) -> Result<Response<ScanRegionsResponse>, Status> {
        let req = req.into_inner();
        let mut regions = Vec::new();
        let mut leaders = Vec::new();
        let mut key = req.start_key;
        let limit = if req.limit <= 0 {
            usize::MAX
        } else {
            req.limit as usize
        };
        while regions.len() < limit {
            let Ok((Some(region), leader)) = self.mock.get_region(&key) else {
                break;
            };
            if !req.end_key.is_empty() && region.start_key >= req.end_key {
                break;
            }
            key = region.end_key.clone();
            leaders.push(leader.unwrap_or_default());
            regions.push(region);
            if key.is_empty() {
                break;
            }
        }
        Ok(Response::new(ScanRegionsResponse {
            header: self.header(),
            regions,
            leaders,
        }))
    }

    async fn ask_split(
        &self,
        req: Request<AskSplitRequest>,
    ) -> Result<Response<AskSplitResponse>, Status> {
        let region = req.into_inner().region.unwrap_or_default();
        match self.mock.ask_split(&region) {
            Ok(resp) => Ok(Response::new(resp)),
            Err(e) => Ok(Response::new(AskSplitResponse {
                header: self.error_header(&e),
                ..Default::default()
            })),
        }
    }

    async fn get_cluster_config(
        &self,
        _: Request<GetClusterConfigRequest>,
    ) -> Result<Response<GetClusterConfigResponse>, Status> {
        Ok(Response::new(GetClusterConfigResponse {
            header: self.header(),
            cluster: Some(proto::metapb::Cluster {
                id: self.mock.get_cluster_id(),
                max_peer_count: self.max_replicas as u32,
            }),
        }))
    }

    async fn put_cluster_config(
        &self,
        _: Request<PutClusterConfigRequest>,
    ) -> Result<Response<PutClusterConfigResponse>, Status> {
        Ok(Response::new(PutClusterConfigResponse {
            header: self.header(),
        }))
    }

    async fn scatter_region(
        &self,
        _: Request<ScatterRegionRequest>,
    ) -> Result<Response<ScatterRegionResponse>, Status> {
        Err(Status::unimplemented(
            "ScatterRegion is not served by the mock scheduler",
        ))
    }

    async fn get_gc_safe_point(
        &self,
        _: Request<GetGcSafePointRequest>,
    ) -> Result<Response<GetGcSafePointResponse>, Status> {
        Ok(Response::new(GetGcSafePointResponse {
            header: self.header(),
            safe_point: 0,
        }))
    }

    async fn update_gc_safe_point(
        &self,
        req: Request<UpdateGcSafePointRequest>,
    ) -> Result<Response<UpdateGcSafePointResponse>, Status> {
        Ok(Response::new(UpdateGcSafePointResponse {
            header: self.header(),
            new_safe_point: req.into_inner().safe_point,
        }))
    }

    async fn get_operator(
        &self,
        req: Request<GetOperatorRequest>,
    ) -> Result<Response<GetOperatorResponse>, Status> {
        Ok(Response::new(GetOperatorResponse {
            header: self.header(),
            region_id: req.into_inner().region_id,
            ..Default::default()
        }))
    }
}
