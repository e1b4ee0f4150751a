//! The transactional client's backend on the in-process test cluster: a
//! `kv::server::Server` over `RaftStorage` per store answers the `Kv*`
//! requests, the mock scheduler locates regions and hands out timestamps.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kv::raftstore::router::RaftstoreRouter;
use kv::raftstore::scheduler_client::SchedulerClient;
use kv::server::txn_client::{KvRequest, KvResponse, TxnBackend};
use kv::server::Server;
use kv::storage::raft_storage::RaftStorage;
use proto::metapb::{Peer, Region};
use test_cluster::Cluster;

/// One `Server` per running store, shared by every client: the latches
/// that keep two commands on a key apart live in the server, so clients
/// must not each have their own. A restarted store gets a new one.
pub struct LocalStores {
    pub cluster: Arc<Cluster>,
    servers: Mutex<HashMap<u64, (RaftstoreRouter, Arc<Server>)>>,
}

impl LocalStores {
    pub fn new(cluster: Arc<Cluster>) -> Arc<Self> {
        Arc::new(LocalStores {
            cluster,
            servers: Mutex::new(HashMap::new()),
        })
    }

    /// The server of the store's running raftstore; `None` if it is down.
    fn server(&self, store_id: u64) -> Option<Arc<Server>> {
        let router = self.cluster.simulator.transport().router(store_id)?;
        let mut servers = self.servers.lock().unwrap();
        if let Some((r, s)) = servers.get(&store_id) {
            if r.same_raftstore(&router) {
                return Some(s.clone());
            }
        }
        let storage = RaftStorage::new(Arc::new(router.clone()));
        let server = Arc::new(Server::new(Arc::new(storage)));
        servers.insert(store_id, (router, server.clone()));
        Some(server)
    }
}

#[derive(Clone)]
pub struct LocalBackend(pub Arc<LocalStores>);

fn answer<T>(r: kv::Result<T>, wrap: fn(T) -> KvResponse) -> anyhow::Result<KvResponse> {
    r.map(wrap).map_err(|e| anyhow::anyhow!("{e}"))
}

impl TxnBackend for LocalBackend {
    async fn timestamp(&mut self) -> anyhow::Result<u64> {
        Ok(self.0.cluster.scheduler_client.get_timestamp())
    }

    async fn locate(&mut self, key: &[u8]) -> anyhow::Result<(Region, Option<Peer>)> {
        match self.0.cluster.scheduler_client.get_region(key) {
            Ok((Some(region), leader)) => Ok((region, leader)),
            Ok((None, _)) => anyhow::bail!("no region for {key:?} yet"),
            Err(e) => anyhow::bail!("{e}"),
        }
    }

    /// Blocks the calling thread (each bank client has its own).
    async fn call(&mut self, store_id: u64, req: KvRequest) -> anyhow::Result<KvResponse> {
        let server = self
            .0
            .server(store_id)
            .ok_or_else(|| anyhow::anyhow!("store {store_id} is down"))?;
        match req {
            KvRequest::Get(r) => answer(server.kv_get(&r), KvResponse::Get),
            KvRequest::Scan(r) => answer(server.kv_scan(&r), KvResponse::Scan),
            KvRequest::Prewrite(r) => answer(server.kv_prewrite(&r), KvResponse::Prewrite),
            KvRequest::Commit(r) => answer(server.kv_commit(&r), KvResponse::Commit),
            KvRequest::CheckTxnStatus(r) => {
                answer(server.kv_check_txn_status(&r), KvResponse::CheckTxnStatus)
            }
            KvRequest::BatchRollback(r) => {
                answer(server.kv_batch_rollback(&r), KvResponse::BatchRollback)
            }
            KvRequest::ResolveLock(r) => {
                answer(server.kv_resolve_lock(&r), KvResponse::ResolveLock)
            }
        }
    }
}

impl crate::bank::Connect for LocalBackend {
    type Backend = LocalBackend;

    async fn connect(&self) -> LocalBackend {
        self.clone()
    }
}
