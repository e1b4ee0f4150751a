//! A store's startup: identify or bootstrap the store, bootstrap the
//! cluster if this is the first store, register with the scheduler, and
//! start the raftstore.

use std::sync::Arc;
use std::time::Duration;

use proto::metapb::{Region, Store};
use proto::raft_serverpb::{RegionLocalState, StoreIdent};
use proto::schedulerpb::ErrorType;

use crate::config::Config;
use crate::raftstore::bootstrap::{
    bootstrap_store, clear_prepare_bootstrap, clear_prepare_bootstrap_state, prepare_bootstrap,
};
use crate::raftstore::meta;
use crate::raftstore::scheduler_client::SchedulerClient;
use crate::raftstore::snap::snap_manager::SnapManager;
use crate::raftstore::store::{Raftstore, StoreDeps, StoreLoops, Transport};
use crate::raftstore::util::INVALID_ID;
use crate::util::engine_util::{self, Engines};
use crate::{Error, Result};

const MAX_CHECK_CLUSTER_BOOTSTRAPPED_RETRY_COUNT: usize = 60;
const CHECK_CLUSTER_BOOTSTRAP_RETRY: Duration = Duration::from_secs(3);

pub struct Node {
    cluster_id: u64,
    store: Store,
    cfg: Arc<Config>,
    system: Raftstore,
    scheduler_client: Arc<dyn SchedulerClient>,
}

impl Node {
    pub fn new(
        system: Raftstore,
        cfg: Arc<Config>,
        scheduler_client: Arc<dyn SchedulerClient>,
    ) -> Self {
        Node {
            cluster_id: scheduler_client.get_cluster_id(),
            store: Store {
                address: cfg.store_addr.clone(),
                ..Default::default()
            },
            cfg,
            system,
            scheduler_client,
        }
    }

    /// Bootstraps the store (and the cluster) if needed, then starts the
    /// raftstore on its threads.
    pub fn start(
        &mut self,
        engines: Engines,
        trans: Arc<dyn Transport>,
        snap_mgr: SnapManager,
    ) -> Result<()> {
        let deps = self.prepare(engines, trans, snap_mgr)?;
        self.system.start(deps)
    }

    /// Like [`start`](Self::start), but without threads: the caller drives
    /// the returned loops (see [`Raftstore::start_driven`]).
    pub fn start_driven(
        &mut self,
        engines: Engines,
        trans: Arc<dyn Transport>,
        snap_mgr: SnapManager,
    ) -> Result<StoreLoops> {
        let deps = self.prepare(engines, trans, snap_mgr)?;
        self.system.start_driven(deps)
    }

    /// Finds or allocates the store's id, bootstraps the cluster from this
    /// store if nobody has, and registers the store with the scheduler;
    /// then gathers what the raftstore starts over.
    fn prepare(
        &mut self,
        engines: Engines,
        trans: Arc<dyn Transport>,
        snap_mgr: SnapManager,
    ) -> Result<StoreDeps> {
        let mut store_id = self.check_store(&engines)?;
        if store_id == INVALID_ID {
            store_id = self.bootstrap_store(&engines)?;
        }
        self.store.id = store_id;
        if let Some(first_region) = self.check_or_prepare_bootstrap_cluster(&engines, store_id)? {
            tracing::info!(store_id, ?first_region, "try bootstrap cluster");
            self.bootstrap_cluster(&engines, &first_region)?;
        }
        self.scheduler_client.put_store(self.store.clone())?;
        tracing::info!(store_id, "start raft store node");
        Ok(StoreDeps {
            store: self.store.clone(),
            cfg: self.cfg.clone(),
            engines,
            trans,
            scheduler_client: self.scheduler_client.clone(),
            snap_mgr,
        })
    }

    fn check_store(&self, engines: &Engines) -> Result<u64> {
        let Some(ident) = engine_util::get_meta::<StoreIdent>(&engines.kv, meta::STORE_IDENT_KEY)?
        else {
            return Ok(0);
        };
        if ident.cluster_id != self.cluster_id {
            return Err(Error::Other(format!(
                "cluster ID mismatch, local {} != remote {}",
                ident.cluster_id, self.cluster_id
            )));
        }
        if ident.store_id == INVALID_ID {
            return Err(Error::Other(format!("invalid store ident {:?}", ident)));
        }
        Ok(ident.store_id)
    }

    fn bootstrap_store(&self, engines: &Engines) -> Result<u64> {
        let store_id = self.scheduler_client.alloc_id()?;
        bootstrap_store(engines, self.cluster_id, store_id)?;
        Ok(store_id)
    }

    fn check_or_prepare_bootstrap_cluster(
        &self,
        engines: &Engines,
        store_id: u64,
    ) -> Result<Option<Region>> {
        if let Some(state) =
            engine_util::get_meta::<RegionLocalState>(&engines.kv, meta::PREPARE_BOOTSTRAP_KEY)?
        {
            return Ok(state.region);
        }
        if self.check_cluster_bootstrapped()? {
            return Ok(None);
        }
        let region_id = self.scheduler_client.alloc_id()?;
        let peer_id = self.scheduler_client.alloc_id()?;
        tracing::info!(
            region_id,
            peer_id,
            store_id,
            "alloc first region and peer ids"
        );
        Ok(Some(prepare_bootstrap(
            engines, store_id, region_id, peer_id,
        )?))
    }

    fn check_cluster_bootstrapped(&self) -> Result<bool> {
        for _ in 0..MAX_CHECK_CLUSTER_BOOTSTRAPPED_RETRY_COUNT {
            match self.scheduler_client.is_bootstrapped() {
                Ok(b) => return Ok(b),
                Err(e) => tracing::warn!(%e, "check cluster bootstrapped failed"),
            }
            std::thread::sleep(CHECK_CLUSTER_BOOTSTRAP_RETRY);
        }
        Err(Error::Other("check cluster bootstrapped failed".into()))
    }

    /// Asks the scheduler to bootstrap with `first_region`; returns whether
    /// this store's region became the cluster's first.
    fn bootstrap_cluster(&self, engines: &Engines, first_region: &Region) -> Result<bool> {
        for retry in 0..MAX_CHECK_CLUSTER_BOOTSTRAPPED_RETRY_COUNT {
            if retry != 0 {
                std::thread::sleep(Duration::from_secs(1));
            }
            let resp = match self.scheduler_client.bootstrap(self.store.clone()) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(%e, "bootstrap cluster failed");
                    continue;
                }
            };
            let Some(err) = resp.header.and_then(|h| h.error) else {
                tracing::info!(cluster_id = self.cluster_id, "bootstrap cluster ok");
                clear_prepare_bootstrap_state(engines)?;
                return Ok(true);
            };
            if err.r#type() == ErrorType::AlreadyBootstrapped {
                let region = match self.scheduler_client.get_region(b"") {
                    Ok((region, _)) => region,
                    Err(e) => {
                        tracing::error!(%e, "get first region failed");
                        continue;
                    }
                };
                if region.is_some_and(|r| r.id == first_region.id) {
                    clear_prepare_bootstrap_state(engines)?;
                } else {
                    clear_prepare_bootstrap(engines, first_region.id)?;
                }
                return Ok(false);
            }
            tracing::error!(?err, "bootstrap cluster");
        }
        Err(Error::Other("bootstrap cluster failed".into()))
    }

    pub fn stop(&mut self) {
        tracing::info!(store_id = self.store.id, "stop raft store");
        self.system.shut_down();
    }

    pub fn get_store_id(&self) -> u64 {
        self.store.id
    }

    pub fn get_db_path(&self) -> &str {
        &self.cfg.db_path
    }
}
