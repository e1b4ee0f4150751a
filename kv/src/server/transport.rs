//! The store-to-store transport of a server process: raft messages go up
//! one `Raft` gRPC stream per destination store (address resolved through
//! the scheduler, reconnected after a break, with a pause), and snapshot
//! messages go with their files through a `Snapshot` stream in chunks.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proto::raft_serverpb::{RaftMessage, SnapshotChunk};
use proto::tinykvpb::tiny_kv_client::TinyKvClient;
use tokio::sync::mpsc;
use tonic::transport::Channel;

use crate::raftstore::scheduler_client::SchedulerClient;
use crate::raftstore::snap::{SnapEntry, SnapKey, SnapManager};
use crate::raftstore::store::Transport;

/// Bytes of snapshot data per chunk.
const SNAP_CHUNK: usize = 1 << 20;
/// Pause after a failed connection before the next attempt may start.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

pub struct ServerTransport {
    rt: tokio::runtime::Handle,
    scheduler: Arc<dyn SchedulerClient>,
    snap_mgr: SnapManager,
    conns: Mutex<HashMap<u64, mpsc::UnboundedSender<RaftMessage>>>,
}

async fn connect(
    scheduler: Arc<dyn SchedulerClient>,
    store_id: u64,
) -> Option<TinyKvClient<Channel>> {
    let store = tokio::task::spawn_blocking(move || scheduler.get_store(store_id))
        .await
        .ok()?
        .ok()?;
    let channel = Channel::from_shared(format!("http://{}", store.address))
        .ok()?
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .map_err(|e| tracing::debug!(store_id, %e, "connect to store failed"))
        .ok()?;
    Some(TinyKvClient::new(channel))
}

impl ServerTransport {
    pub fn new(
        rt: tokio::runtime::Handle,
        scheduler: Arc<dyn SchedulerClient>,
        snap_mgr: SnapManager,
    ) -> Self {
        ServerTransport {
            rt,
            scheduler,
            snap_mgr,
            conns: Mutex::new(HashMap::new()),
        }
    }

    /// The queue of the stream to `store_id`, opening one if there is
    /// none or the last one broke.
    fn connection(&self, store_id: u64) -> mpsc::UnboundedSender<RaftMessage> {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tx) = conns.get(&store_id).filter(|tx| !tx.is_closed()) {
            return tx.clone();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        conns.insert(store_id, tx.clone());
        let scheduler = self.scheduler.clone();
        self.rt.spawn(async move {
            // Messages queued meanwhile are dropped with `rx` if this
            // fails; raft retransmits.
            let Some(mut client) = connect(scheduler, store_id).await else {
                tokio::time::sleep(RECONNECT_PAUSE).await;
                return;
            };
            let stream = tokio_stream::wrappers::UnboundedReceiverStream::new(rx);
            if let Err(e) = client.raft(stream).await {
                tracing::debug!(store_id, %e, "raft stream ended");
                tokio::time::sleep(RECONNECT_PAUSE).await;
            }
        });
        tx
    }

    fn send_snapshot(&self, msg: RaftMessage, key: SnapKey) {
        let to_store = msg.to_peer.map_or(0, |p| p.store_id);
        let scheduler = self.scheduler.clone();
        let mgr = self.snap_mgr.clone();
        mgr.register(key, SnapEntry::Sending);
        self.rt.spawn(async move {
            let result = async {
                let mut client = connect(scheduler, to_store)
                    .await
                    .ok_or_else(|| format!("cannot reach store {to_store}"))?;
                let (tx, rx) = mpsc::channel::<SnapshotChunk>(4);
                let reader_mgr = mgr.clone();
                let reader = tokio::task::spawn_blocking(move || -> Result<(), String> {
                    let mut snap = reader_mgr
                        .get_snapshot_for_sending(&key)
                        .map_err(|e| e.to_string())?;
                    let _ = tx.blocking_send(SnapshotChunk {
                        message: Some(msg),
                        data: Vec::new(),
                    });
                    let mut buf = vec![0u8; SNAP_CHUNK];
                    loop {
                        let n = snap.read(&mut buf).map_err(|e| e.to_string())?;
                        if n == 0 {
                            return Ok(());
                        }
                        if tx
                            .blocking_send(SnapshotChunk {
                                message: None,
                                data: buf[..n].to_vec(),
                            })
                            .is_err()
                        {
                            return Err("snapshot stream closed".into());
                        }
                    }
                });
                let sent = client
                    .snapshot(tokio_stream::wrappers::ReceiverStream::new(rx))
                    .await
                    .map_err(|e| e.to_string());
                reader.await.map_err(|e| e.to_string())??;
                sent.map(|_| ())
            }
            .await;
            mgr.deregister(&key, SnapEntry::Sending);
            if let Err(e) = result {
                tracing::warn!(%key, to_store, %e, "sending snapshot failed");
            }
        });
    }
}

impl Transport for ServerTransport {
    fn send(&self, msg: RaftMessage) -> crate::Result<()> {
        let store_id = msg.to_peer.map_or(0, |p| p.store_id);
        if let Some(snapshot) = crate::raftstore::util::snapshot_of(&msg) {
            let key = SnapKey::from_snap(snapshot)?;
            self.send_snapshot(msg, key);
            return Ok(());
        }
        self.connection(store_id)
            .send(msg)
            .map_err(|_| crate::Error::Other(format!("connection to store {store_id} closed")))
    }
}
