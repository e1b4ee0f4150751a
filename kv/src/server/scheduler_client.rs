//! The scheduler client of a server process: TinyKV's scheduler_client
//! over gRPC (schedulerpb). The raftstore calls it from plain threads, so
//! each call blocks on a small runtime of its own; region heartbeats go up
//! one long-lived stream, re-opened with backoff when it breaks, and the
//! scheduler's answers (operators) come back to the registered handler.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use proto::metapb::{Peer, Region, Store};
use proto::schedulerpb::scheduler_client::SchedulerClient as PbClient;
use proto::schedulerpb::*;
use tokio::sync::mpsc;
use tonic::transport::Channel;

use crate::raftstore::scheduler_client::{
    RegionHeartbeatResponseHandler, Result, SchedulerClient, SchedulerError,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

type Handler = Arc<Mutex<Option<RegionHeartbeatResponseHandler>>>;

pub struct GrpcSchedulerClient {
    rt: tokio::runtime::Runtime,
    client: PbClient<Channel>,
    cluster_id: u64,
    heartbeats: mpsc::UnboundedSender<RegionHeartbeatRequest>,
    handler: Handler,
}

fn status_err(s: tonic::Status) -> SchedulerError {
    SchedulerError::Other(format!("{}: {}", s.code(), s.message()))
}

fn check(header: &Option<ResponseHeader>) -> Result<()> {
    let Some(e) = header.as_ref().and_then(|h| h.error.as_ref()) else {
        return Ok(());
    };
    Err(match e.r#type() {
        ErrorType::NotBootstrapped => SchedulerError::NotBootstrapped,
        _ => SchedulerError::Other(e.message.clone()),
    })
}

impl GrpcSchedulerClient {
    /// Connects to the scheduler at `addr` (host:port), retrying for up to
    /// 30 s, and learns the cluster id.
    pub fn connect(addr: &str) -> crate::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("scheduler-client")
            .enable_all()
            .build()?;
        let url = format!("http://{addr}");
        let (client, cluster_id) = rt.block_on(async {
            let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
            loop {
                let attempt = async {
                    let channel = Channel::from_shared(url.clone())
                        .map_err(|e| crate::Error::Other(e.to_string()))?
                        .connect_timeout(Duration::from_secs(2))
                        .timeout(REQUEST_TIMEOUT)
                        .connect()
                        .await
                        .map_err(|e| crate::Error::Other(e.to_string()))?;
                    let mut client = PbClient::new(channel);
                    let members = client
                        .get_members(GetMembersRequest::default())
                        .await
                        .map_err(|e| crate::Error::Other(e.to_string()))?
                        .into_inner();
                    let id = members.header.map_or(0, |h| h.cluster_id);
                    Ok::<_, crate::Error>((client, id))
                };
                match attempt.await {
                    Ok(r) => return Ok(r),
                    Err(e) if tokio::time::Instant::now() > deadline => {
                        return Err(crate::Error::Other(format!(
                            "cannot reach the scheduler at {addr}: {e}"
                        )))
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        })?;
        let (tx, rx) = mpsc::unbounded_channel();
        let handler: Handler = Arc::new(Mutex::new(None));
        rt.spawn(heartbeat_loop(client.clone(), rx, handler.clone()));
        Ok(GrpcSchedulerClient {
            rt,
            client,
            cluster_id,
            heartbeats: tx,
            handler,
        })
    }

    fn header(&self) -> Option<RequestHeader> {
        Some(RequestHeader {
            cluster_id: self.cluster_id,
        })
    }

    fn call<F, Fut, T>(&self, f: F) -> Result<T>
    where
        F: FnOnce(PbClient<Channel>) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
    {
        self.rt
            .block_on(f(self.client.clone()))
            .map(|r| r.into_inner())
            .map_err(status_err)
    }
}

/// Keeps one heartbeat stream open, forwarding queued heartbeats up and
/// handing answers to the handler; re-opens it after a break.
async fn heartbeat_loop(
    client: PbClient<Channel>,
    mut queue: mpsc::UnboundedReceiver<RegionHeartbeatRequest>,
    handler: Handler,
) {
    let mut pending: Option<RegionHeartbeatRequest> = None;
    loop {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut client = client.clone();
        let stream = tokio_stream::wrappers::UnboundedReceiverStream::new(rx);
        let responses = match client.region_heartbeat(stream).await {
            Ok(r) => r.into_inner(),
            Err(e) => {
                tracing::warn!(%e, "region heartbeat stream failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let handler2 = handler.clone();
        let reader = tokio::spawn(async move {
            let mut responses = responses;
            while let Ok(Some(resp)) = responses.message().await {
                if let Some(h) = handler2.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    h(resp);
                }
            }
        });
        if let Some(hb) = pending.take() {
            let _ = tx.send(hb);
        }
        loop {
            tokio::select! {
                hb = queue.recv() => match hb {
                    Some(hb) => {
                        if let Err(e) = tx.send(hb) {
                            pending = Some(e.0);
                            break;
                        }
                    }
                    None => return,
                },
                _ = tx.closed() => break,
            }
            if reader.is_finished() {
                break;
            }
        }
        reader.abort();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

impl SchedulerClient for GrpcSchedulerClient {
    fn get_cluster_id(&self) -> u64 {
        self.cluster_id
    }

    fn alloc_id(&self) -> Result<u64> {
        let header = self.header();
        let resp = self.call(|mut c| async move { c.alloc_id(AllocIdRequest { header }).await })?;
        check(&resp.header)?;
        Ok(resp.id)
    }

    fn bootstrap(&self, store: Store) -> Result<BootstrapResponse> {
        let header = self.header();
        self.call(|mut c| async move {
            c.bootstrap(BootstrapRequest {
                header,
                store: Some(store),
            })
            .await
        })
    }

    fn is_bootstrapped(&self) -> Result<bool> {
        let header = self.header();
        let resp =
            self.call(
                |mut c| async move { c.is_bootstrapped(IsBootstrappedRequest { header }).await },
            )?;
        check(&resp.header)?;
        Ok(resp.bootstrapped)
    }

    fn put_store(&self, store: Store) -> Result<()> {
        let header = self.header();
        let resp = self.call(|mut c| async move {
            c.put_store(PutStoreRequest {
                header,
                store: Some(store),
            })
            .await
        })?;
        check(&resp.header)
    }

    fn get_store(&self, store_id: u64) -> Result<Store> {
        let header = self.header();
        let resp = self
            .call(|mut c| async move { c.get_store(GetStoreRequest { header, store_id }).await })?;
        check(&resp.header)?;
        resp.store.ok_or(SchedulerError::StoreNotFound(store_id))
    }

    fn get_region(&self, key: &[u8]) -> Result<(Option<Region>, Option<Peer>)> {
        let header = self.header();
        let region_key = key.to_vec();
        let resp = self.call(|mut c| async move {
            c.get_region(GetRegionRequest { header, region_key }).await
        })?;
        check(&resp.header)?;
        Ok((resp.region, resp.leader))
    }

    fn get_region_by_id(&self, region_id: u64) -> Result<(Option<Region>, Option<Peer>)> {
        let header = self.header();
        let resp = self.call(|mut c| async move {
            c.get_region_by_id(GetRegionByIdRequest { header, region_id })
                .await
        })?;
        check(&resp.header)?;
        Ok((resp.region, resp.leader))
    }

    fn ask_split(&self, region: &Region) -> Result<AskSplitResponse> {
        let header = self.header();
        let region = Some(region.clone());
        let resp = self
            .call(|mut c| async move { c.ask_split(AskSplitRequest { header, region }).await })?;
        check(&resp.header)?;
        Ok(resp)
    }

    fn store_heartbeat(&self, stats: StoreStats) -> Result<()> {
        let header = self.header();
        let resp = self.call(|mut c| async move {
            c.store_heartbeat(StoreHeartbeatRequest {
                header,
                stats: Some(stats),
            })
            .await
        })?;
        check(&resp.header)
    }

    fn region_heartbeat(&self, mut req: RegionHeartbeatRequest) -> Result<()> {
        req.header = self.header();
        self.heartbeats
            .send(req)
            .map_err(|_| SchedulerError::Other("scheduler client closed".into()))
    }

    fn set_region_heartbeat_response_handler(
        &self,
        _store_id: u64,
        handler: RegionHeartbeatResponseHandler,
    ) {
        *self.handler.lock().unwrap_or_else(|e| e.into_inner()) = Some(handler);
    }

    fn close(&self) {}
}
