//! A replicated storage node in a server process: the engines, the
//! raftstore node joined to the cluster through the scheduler, and the
//! gRPC transport (TinyKV's RaftStorage.Start / Stop).

use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::raftstore::message::RaftRouter;
use crate::raftstore::node::Node;
use crate::raftstore::router::RaftstoreRouter;
use crate::raftstore::scheduler_client::SchedulerClient;
use crate::raftstore::snap::SnapManager;
use crate::raftstore::store::create_raftstore;
use crate::server::service::TinyKvService;
use crate::server::transport::ServerTransport;
use crate::server::Server;
use crate::storage::raft_storage::RaftStorage;
use crate::storage::Storage;
use crate::util::engine_util::Engines;

pub struct RaftServer {
    node: Node,
    pub router: RaftstoreRouter,
    pub snap_mgr: SnapManager,
    pub engines: Engines,
}

impl RaftServer {
    /// Opens the engines under `cfg.db_path`, bootstraps the store (and the
    /// cluster, if nobody has) and starts the raftstore.
    pub fn start(
        cfg: Config,
        scheduler: Arc<dyn SchedulerClient>,
        rt: tokio::runtime::Handle,
    ) -> crate::Result<Self> {
        let root = Path::new(&cfg.db_path);
        for sub in ["kv", "raft", "snap"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        let engines = Engines::open(
            root.join("kv").to_string_lossy().into_owned(),
            root.join("raft").to_string_lossy().into_owned(),
            &cfg.engine,
        )?;
        let snap_mgr = SnapManager::new(root.join("snap"));
        let (router, system) = create_raftstore();
        let trans = Arc::new(ServerTransport::new(
            rt,
            scheduler.clone(),
            snap_mgr.clone(),
        ));
        let mut node = Node::new(system, Arc::new(cfg), scheduler);
        node.start(engines.clone(), trans, snap_mgr.clone())?;
        Ok(RaftServer {
            node,
            router,
            snap_mgr,
            engines,
        })
    }

    pub fn store_id(&self) -> u64 {
        self.node.get_store_id()
    }

    /// The gRPC service of this store: the raw and transactional APIs
    /// through raft, and raft messages and snapshots from other stores.
    pub fn service(&self) -> TinyKvService {
        let router: Arc<dyn RaftRouter> = Arc::new(self.router.clone());
        let storage: Arc<dyn Storage> = Arc::new(RaftStorage::new(router.clone()));
        TinyKvService::with_raftstore(
            Arc::new(Server::new(storage)),
            router,
            self.snap_mgr.clone(),
        )
    }

    pub fn stop(&mut self) {
        self.node.stop();
    }
}
