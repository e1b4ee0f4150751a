//! What the raftstore needs from the scheduler (TinyKV's
//! `scheduler_client.Client`). The test cluster plugs in the mock scheduler;
//! a server plugs in a gRPC client.

use proto::metapb::{Peer, Region, Store};
use proto::schedulerpb::{
    AskSplitResponse, BootstrapResponse, RegionHeartbeatRequest, RegionHeartbeatResponse,
    StoreStats,
};
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SchedulerError {
    #[error("cluster is not bootstrapped")]
    NotBootstrapped,
    #[error("store {0} not found")]
    StoreNotFound(u64),
    #[error("region {0} not found")]
    RegionNotFound(u64),
    #[error("epoch is stale")]
    StaleEpoch,
    #[error("scheduler: {0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, SchedulerError>;

/// Called with every heartbeat answer the scheduler sends to a store.
pub type RegionHeartbeatResponseHandler = Box<dyn Fn(RegionHeartbeatResponse) + Send + Sync>;

pub trait SchedulerClient: Send + Sync {
    fn get_cluster_id(&self) -> u64;
    fn alloc_id(&self) -> Result<u64>;
    fn bootstrap(&self, store: Store) -> Result<BootstrapResponse>;
    fn is_bootstrapped(&self) -> Result<bool>;
    fn put_store(&self, store: Store) -> Result<()>;
    fn get_store(&self, store_id: u64) -> Result<Store>;
    /// The region holding `key` and its leader, if the scheduler knows one.
    fn get_region(&self, key: &[u8]) -> Result<(Option<Region>, Option<Peer>)>;
    fn get_region_by_id(&self, region_id: u64) -> Result<(Option<Region>, Option<Peer>)>;
    /// New region and peer ids for splitting `region`.
    fn ask_split(&self, region: &Region) -> Result<AskSplitResponse>;
    fn store_heartbeat(&self, stats: StoreStats) -> Result<()>;
    fn region_heartbeat(&self, req: RegionHeartbeatRequest) -> Result<()>;
    fn set_region_heartbeat_response_handler(
        &self,
        store_id: u64,
        handler: RegionHeartbeatResponseHandler,
    );
    fn close(&self);
}
