//! The TinyKv gRPC service over a [`Server`]: the raw API, and the
//! inter-store `Raft` stream when the server fronts a raftstore.
//!
//! Handlers run the blocking storage calls on tokio's blocking pool, so a
//! slow raft round never stalls the reactor.

use std::sync::Arc;

use proto::coprocessor;
use proto::kvrpcpb::*;
use proto::raft_serverpb::{Done, RaftMessage, SnapshotChunk};
use proto::tinykvpb::tiny_kv_server::TinyKv;
use tonic::{Request, Response, Status, Streaming};

use super::Server;
use std::io::Write;

use crate::raftstore::message::RaftRouter;
use crate::raftstore::snap::{SnapEntry, SnapKey, SnapManager};

/// The gRPC face of a server.
#[derive(Clone)]
pub struct TinyKvService {
    server: Arc<Server>,
    /// Where raft messages from other stores go; `None` for a standalone
    /// server.
    raft_router: Option<Arc<dyn RaftRouter>>,
    /// Where received snapshot files go (with a raftstore).
    snap_mgr: Option<SnapManager>,
}

impl TinyKvService {
    pub fn new(server: Arc<Server>) -> Self {
        TinyKvService {
            server,
            raft_router: None,
            snap_mgr: None,
        }
    }

    /// A service that also takes raft messages and snapshots from other
    /// stores.
    pub fn with_raftstore(
        server: Arc<Server>,
        raft_router: Arc<dyn RaftRouter>,
        snap_mgr: SnapManager,
    ) -> Self {
        TinyKvService {
            server,
            raft_router: Some(raft_router),
            snap_mgr: Some(snap_mgr),
        }
    }

    /// Runs handler `f` on tokio's blocking pool (handlers read RocksDB
    /// and wait for raft) and answers with what it returns.
    async fn blocking<Req, Resp>(
        &self,
        req: Request<Req>,
        f: fn(&Server, &Req) -> Resp,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Send + 'static,
        Resp: Send + 'static,
    {
        self.blocking_txn(req, move |server, req| Ok(f(server, req)))
            .await
    }

    /// Like `blocking`, for a handler that can fail (the transactional
    /// ones): an error it returns
    /// (region errors are already in the response) fails the call, as a Go
    /// handler's returned error does.
    async fn blocking_txn<Req, Resp, F>(
        &self,
        req: Request<Req>,
        f: F,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Send + 'static,
        Resp: Send + 'static,
        F: FnOnce(&Server, &Req) -> crate::Result<Resp> + Send + 'static,
    {
        let server = self.server.clone();
        let req = req.into_inner();
        match tokio::task::spawn_blocking(move || f(&server, &req)).await {
            Ok(Ok(resp)) => Ok(Response::new(resp)),
            Ok(Err(e)) => Err(Status::unknown(e.to_string())),
            Err(e) => Err(Status::internal(format!("request handler failed: {e}"))),
        }
    }
}

fn not_in_this_port<T>(what: &str) -> Result<Response<T>, Status> {
    Err(Status::unimplemented(format!(
        "{what} belongs to TinyKV's coprocessor, which this port does not include"
    )))
}

impl TinyKvService {
    /// Raft messages from another store, delivered to this store's peers
    /// (or its store worker) in arrival order. A stream cut by the sender
    /// just ends; nothing half-delivered is left behind.
    async fn serve_raft(
        &self,
        req: Request<Streaming<RaftMessage>>,
    ) -> Result<Response<Done>, Status> {
        let Some(router) = self.raft_router.clone() else {
            return Err(Status::unimplemented("this server runs without raft"));
        };
        let mut stream = req.into_inner();
        loop {
            match stream.message().await {
                Ok(Some(msg)) => {
                    if let Err(e) = router.send_raft_message(msg) {
                        tracing::debug!(%e, "dropping raft message");
                    }
                }
                Ok(None) => return Ok(Response::new(Done {})),
                Err(status) => {
                    tracing::debug!(%status, "raft stream broken");
                    return Err(status);
                }
            }
        }
    }

    /// A snapshot from another store: the first chunk carries the raft
    /// message, the rest the files. Only a stream received whole and
    /// verified (`save`) delivers the message; a cut stream leaves nothing.
    async fn serve_snapshot(
        &self,
        req: Request<Streaming<SnapshotChunk>>,
    ) -> Result<Response<Done>, Status> {
        let (Some(router), Some(mgr)) = (self.raft_router.clone(), self.snap_mgr.clone()) else {
            return Err(Status::unimplemented("this server runs without raft"));
        };
        let mut stream = req.into_inner();
        let msg = stream
            .message()
            .await?
            .and_then(|c| c.message)
            .ok_or_else(|| Status::invalid_argument("first snapshot chunk carries no message"))?;
        let snapshot = msg
            .message
            .as_ref()
            .and_then(|m| m.snapshot.clone())
            .ok_or_else(|| Status::invalid_argument("snapshot message without a snapshot"))?;
        let key = SnapKey::from_snap(&snapshot)
            .map_err(|e| Status::invalid_argument(format!("bad snapshot data: {e}")))?;

        enum Piece {
            Data(Vec<u8>),
            Abort,
        }
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Piece>(4);
        let writer_mgr = mgr.clone();
        let writer = tokio::task::spawn_blocking(move || -> Result<(), String> {
            writer_mgr.register(key, SnapEntry::Receiving);
            let result = (|| {
                let mut snap = writer_mgr
                    .get_snapshot_for_receiving(&key, &snapshot.data)
                    .map_err(|e| e.to_string())?;
                while let Some(piece) = rx.blocking_recv() {
                    match piece {
                        Piece::Data(d) => snap.write_all(&d).map_err(|e| e.to_string())?,
                        Piece::Abort => return Err("snapshot stream broken".to_string()),
                    }
                }
                snap.save().map_err(|e| e.to_string())
            })();
            writer_mgr.deregister(&key, SnapEntry::Receiving);
            result
        });
        loop {
            match stream.message().await {
                Ok(Some(chunk)) => {
                    if tx.send(Piece::Data(chunk.data)).await.is_err() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(status) => {
                    let _ = tx.send(Piece::Abort).await;
                    drop(tx);
                    let _ = writer.await;
                    return Err(status);
                }
            }
        }
        drop(tx);
        match writer.await {
            Ok(Ok(())) => {
                router
                    .send_raft_message(msg)
                    .map_err(|e| Status::unavailable(e.to_string()))?;
                Ok(Response::new(Done {}))
            }
            Ok(Err(e)) => Err(Status::data_loss(format!("snapshot {key}: {e}"))),
            Err(e) => Err(Status::internal(e.to_string())),
        }
    }
}

/// The TinyKv trait's impl, a line per method: each unary call runs its
/// handler on the blocking pool, through `blocking` (the raw API) or
/// `blocking_txn` (project 4's commands, whose returned error fails the
/// call); the two streams are served above.
macro_rules! tinykv_service {
    ($($method:ident($req:ty) -> $resp:ty = $via:ident($handler:path);)*) => {
        #[tonic::async_trait]
        impl TinyKv for TinyKvService {
            $(
                async fn $method(&self, req: Request<$req>) -> Result<Response<$resp>, Status> {
                    self.$via(req, $handler).await
                }
            )*

            async fn raft(
                &self,
                req: Request<Streaming<RaftMessage>>,
            ) -> Result<Response<Done>, Status> {
                self.serve_raft(req).await
            }

            async fn snapshot(
                &self,
                req: Request<Streaming<SnapshotChunk>>,
            ) -> Result<Response<Done>, Status> {
                self.serve_snapshot(req).await
            }

            async fn coprocessor(
                &self,
                _: Request<coprocessor::Request>,
            ) -> Result<Response<coprocessor::Response>, Status> {
                not_in_this_port("Coprocessor")
            }
        }
    };
}

tinykv_service! {
    kv_get(GetRequest) -> GetResponse = blocking_txn(Server::kv_get);
    kv_scan(ScanRequest) -> ScanResponse = blocking_txn(Server::kv_scan);
    kv_prewrite(PrewriteRequest) -> PrewriteResponse = blocking_txn(Server::kv_prewrite);
    kv_commit(CommitRequest) -> CommitResponse = blocking_txn(Server::kv_commit);
    kv_check_txn_status(CheckTxnStatusRequest) -> CheckTxnStatusResponse =
        blocking_txn(Server::kv_check_txn_status);
    kv_batch_rollback(BatchRollbackRequest) -> BatchRollbackResponse =
        blocking_txn(Server::kv_batch_rollback);
    kv_resolve_lock(ResolveLockRequest) -> ResolveLockResponse =
        blocking_txn(Server::kv_resolve_lock);
    raw_get(RawGetRequest) -> RawGetResponse = blocking(Server::raw_get);
    raw_put(RawPutRequest) -> RawPutResponse = blocking(Server::raw_put);
    raw_delete(RawDeleteRequest) -> RawDeleteResponse = blocking(Server::raw_delete);
    raw_scan(RawScanRequest) -> RawScanResponse = blocking(Server::raw_scan);
}

/// A TinyKv gRPC server on a loopback port the OS picks, serving until
/// [`stop`](Self::stop)ped: for tests and tools that need a real server in
/// the process.
pub struct LoopbackServer {
    /// Where it listens (`127.0.0.1:<port>`).
    pub addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl LoopbackServer {
    /// Binds a port and serves `service` on the current tokio runtime.
    pub async fn start(service: TinyKvService) -> std::io::Result<LoopbackServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(proto::tinykvpb::tiny_kv_server::TinyKvServer::new(service))
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener),
                    async {
                        let _ = stopped.await;
                    },
                ),
        );
        Ok(LoopbackServer {
            addr,
            stop,
            serving,
        })
    }

    /// `http://127.0.0.1:<port>`, for a client to connect to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving and waits until the server has let go of the port.
    pub async fn stop(self) -> Result<(), tonic::transport::Error> {
        let _ = self.stop.send(());
        self.serving.await.expect("the serving task ends by itself")
    }
}
