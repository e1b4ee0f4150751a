//! A client of a replicated cluster: finds a key's region and leader
//! through the scheduler, sends the raw command to that store with the
//! region's context, and follows NotLeader hints and region changes until
//! the command is answered (or a deadline passes). Used by tinykv-ctl and
//! the end-to-end tests.

use std::collections::HashMap;
use std::time::Duration;

use proto::errorpb;
use proto::kvrpcpb::{
    Context, KvPair, RawDeleteRequest, RawGetRequest, RawPutRequest, RawScanRequest,
};
use proto::metapb::{Peer, Region};
use proto::schedulerpb::scheduler_client::SchedulerClient as PbScheduler;
use proto::schedulerpb::{GetRegionRequest, GetStoreRequest, RequestHeader};
use proto::tinykvpb::tiny_kv_client::TinyKvClient;
use tonic::transport::Channel;

/// The scheduler over gRPC, and a connection to each store found through
/// it: what every client of a `tinykv-server` cluster starts from.
pub(crate) struct Connections {
    pub(crate) scheduler: PbScheduler<Channel>,
    cluster_id: u64,
    stores: HashMap<u64, TinyKvClient<Channel>>,
}

impl Connections {
    pub(crate) async fn connect(scheduler_addr: &str) -> anyhow::Result<Self> {
        let mut scheduler = PbScheduler::new(channel(scheduler_addr).await?);
        let members = scheduler
            .get_members(proto::schedulerpb::GetMembersRequest::default())
            .await?
            .into_inner();
        Ok(Connections {
            scheduler,
            cluster_id: members.header.map_or(0, |h| h.cluster_id),
            stores: HashMap::new(),
        })
    }

    pub(crate) fn header(&self) -> Option<RequestHeader> {
        Some(RequestHeader {
            cluster_id: self.cluster_id,
        })
    }

    /// A connection to the store, made (through the scheduler's address
    /// book) on first use.
    pub(crate) async fn store(&mut self, store_id: u64) -> anyhow::Result<TinyKvClient<Channel>> {
        if let Some(c) = self.stores.get(&store_id) {
            return Ok(c.clone());
        }
        let store = self
            .scheduler
            .get_store(GetStoreRequest {
                header: self.header(),
                store_id,
            })
            .await?
            .into_inner()
            .store
            .ok_or_else(|| anyhow::anyhow!("unknown store {store_id}"))?;
        let client = TinyKvClient::new(channel(&store.address).await?);
        self.stores.insert(store_id, client.clone());
        Ok(client)
    }

    /// Drops the store's connection (it failed): the next use reconnects.
    pub(crate) fn forget_store(&mut self, store_id: u64) {
        self.stores.remove(&store_id);
    }

    /// The region holding `key` and its leader, as the scheduler knows
    /// them now.
    pub(crate) async fn locate(&mut self, key: &[u8]) -> anyhow::Result<(Region, Option<Peer>)> {
        let resp = self
            .scheduler
            .get_region(GetRegionRequest {
                header: self.header(),
                region_key: key.to_vec(),
            })
            .await?
            .into_inner();
        let region = resp
            .region
            .ok_or_else(|| anyhow::anyhow!("the scheduler knows no region for {key:?}"))?;
        Ok((region, resp.leader))
    }
}

pub struct ClusterClient {
    conn: Connections,
    leaders: HashMap<u64, Peer>,
    /// Regions seen, by start key; dropped when a store says otherwise.
    regions: std::collections::BTreeMap<Vec<u8>, Region>,
    /// How long one command keeps retrying.
    pub deadline: Duration,
    /// Errors seen and retried, for the curious.
    pub retries: u64,
}

pub(crate) async fn channel(addr: &str) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(format!("http://{addr}"))?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(5))
        .connect()
        .await?)
}

enum Attempt<T> {
    Done(T),
    Retry(Option<Peer>),
}

fn judge<T>(
    region_error: Option<errorpb::Error>,
    error: String,
    ok: T,
) -> anyhow::Result<Attempt<T>> {
    if let Some(e) = region_error {
        let hint = e.not_leader.and_then(|n| n.leader);
        return Ok(Attempt::Retry(hint));
    }
    if !error.is_empty() {
        anyhow::bail!("{error}");
    }
    Ok(Attempt::Done(ok))
}

impl ClusterClient {
    pub async fn connect(scheduler_addr: &str) -> anyhow::Result<Self> {
        Ok(ClusterClient {
            conn: Connections::connect(scheduler_addr).await?,
            leaders: HashMap::new(),
            regions: std::collections::BTreeMap::new(),
            deadline: Duration::from_secs(30),
            retries: 0,
        })
    }

    /// The cached region holding `key`, if any.
    fn cached_region(&self, key: &[u8]) -> Option<Region> {
        let (_, r) = self.regions.range(..=key.to_vec()).next_back()?;
        (r.end_key.is_empty() || key < r.end_key.as_slice()).then(|| r.clone())
    }

    async fn region(&mut self, key: &[u8]) -> anyhow::Result<(Region, Option<Peer>)> {
        if let Some(r) = self.cached_region(key) {
            let leader = self.leaders.get(&r.id).copied();
            return Ok((r, leader));
        }
        let (region, leader) = self.conn.locate(key).await?;
        self.regions
            .insert(region.start_key.clone(), region.clone());
        Ok((region, leader))
    }

    /// Runs `op` against the leader of `key`'s region until it answers.
    async fn run<T, F, Fut>(&mut self, key: &[u8], mut op: F) -> anyhow::Result<T>
    where
        F: FnMut(TinyKvClient<Channel>, Context) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<Attempt<T>>>,
    {
        let start = tokio::time::Instant::now();
        let mut n = 0usize;
        loop {
            if start.elapsed() > self.deadline {
                anyhow::bail!("no answer in {:?}", self.deadline);
            }
            let attempt = async {
                let (region, leader) = self.region(key).await?;
                n += 1;
                let peer = self
                    .leaders
                    .get(&region.id)
                    .copied()
                    .or(leader)
                    .or_else(|| region.peers.get(n % region.peers.len().max(1)).copied())
                    .ok_or_else(|| anyhow::anyhow!("region {} has no peers", region.id))?;
                let client = match self.conn.store(peer.store_id).await {
                    Ok(c) => c,
                    // Unreachable store: handled like a failed request.
                    Err(e) => return Ok((region.id, peer, Err(e))),
                };
                let ctx = Context {
                    region_id: region.id,
                    region_epoch: region.region_epoch,
                    peer: Some(peer),
                    term: 0,
                };
                Ok::<_, anyhow::Error>((region.id, peer, op(client, ctx).await))
            }
            .await;
            match attempt {
                Ok((region_id, peer, Ok(Attempt::Done(v)))) => {
                    self.leaders.insert(region_id, peer);
                    return Ok(v);
                }
                Ok((region_id, peer, Ok(Attempt::Retry(hint)))) => {
                    self.retries += 1;
                    match hint {
                        Some(h) => {
                            self.leaders.insert(region_id, h);
                        }
                        None => {
                            // Stale epoch, key moved, region gone: ask the
                            // scheduler again.
                            self.forget_region(region_id);
                            self.conn.forget_store(peer.store_id);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
                Ok((region_id, peer, Err(_))) => {
                    // A dead store, a broken connection: try the next peer
                    // of the region (the scheduler may still name the dead
                    // one as leader for a while).
                    self.retries += 1;
                    self.conn.forget_store(peer.store_id);
                    let next = self
                        .regions
                        .values()
                        .find(|r| r.id == region_id)
                        .and_then(|r| {
                            let i = r.peers.iter().position(|p| *p == peer)?;
                            r.peers.get((i + 1) % r.peers.len()).copied()
                        });
                    match next {
                        Some(p) => {
                            self.leaders.insert(region_id, p);
                        }
                        None => self.forget_region(region_id),
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(_) => {
                    self.retries += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// How many regions the scheduler knows.
    pub async fn region_count(&mut self) -> anyhow::Result<usize> {
        let resp = self
            .conn
            .scheduler
            .scan_regions(proto::schedulerpb::ScanRegionsRequest {
                header: self.conn.header(),
                start_key: Vec::new(),
                limit: 0,
                end_key: Vec::new(),
            })
            .await?
            .into_inner();
        Ok(resp.regions.len())
    }

    fn forget_region(&mut self, region_id: u64) {
        self.leaders.remove(&region_id);
        self.regions.retain(|_, r| r.id != region_id);
    }

    pub async fn put(&mut self, cf: &str, key: &[u8], value: &[u8]) -> anyhow::Result<()> {
        let (cf, k, v) = (cf.to_string(), key.to_vec(), value.to_vec());
        self.run(key, |mut c, ctx| {
            let req = RawPutRequest {
                context: Some(ctx),
                key: k.clone(),
                value: v.clone(),
                cf: cf.clone(),
            };
            async move {
                let r = c.raw_put(req).await?.into_inner();
                judge(r.region_error, r.error, ())
            }
        })
        .await
    }

    /// The value of `key`, `None` if not found.
    pub async fn get(&mut self, cf: &str, key: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
        let (cf, k) = (cf.to_string(), key.to_vec());
        self.run(key, |mut c, ctx| {
            let req = RawGetRequest {
                context: Some(ctx),
                key: k.clone(),
                cf: cf.clone(),
            };
            async move {
                let r = c.raw_get(req).await?.into_inner();
                let v = (!r.not_found).then_some(r.value);
                judge(r.region_error, r.error, v)
            }
        })
        .await
    }

    pub async fn delete(&mut self, cf: &str, key: &[u8]) -> anyhow::Result<()> {
        let (cf, k) = (cf.to_string(), key.to_vec());
        self.run(key, |mut c, ctx| {
            let req = RawDeleteRequest {
                context: Some(ctx),
                key: k.clone(),
                cf: cf.clone(),
            };
            async move {
                let r = c.raw_delete(req).await?.into_inner();
                judge(r.region_error, r.error, ())
            }
        })
        .await
    }

    /// Up to `limit` pairs from `start` on, within `start`'s region.
    pub async fn scan(
        &mut self,
        cf: &str,
        start: &[u8],
        limit: u32,
    ) -> anyhow::Result<Vec<KvPair>> {
        let (cf, k) = (cf.to_string(), start.to_vec());
        self.run(start, |mut c, ctx| {
            let req = RawScanRequest {
                context: Some(ctx),
                start_key: k.clone(),
                limit,
                cf: cf.clone(),
            };
            async move {
                let r = c.raw_scan(req).await?.into_inner();
                judge(r.region_error, r.error, r.kvs)
            }
        })
        .await
    }
}
