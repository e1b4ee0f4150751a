//! mock-scheduler: the mock scheduler served over gRPC, for running a
//! cluster of tinykv-server processes without TinyKV's Go scheduler.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use proto::schedulerpb::scheduler_server::SchedulerServer;
use scheduler_mock::service::SchedulerService;
use scheduler_mock::MockSchedulerClient;

#[derive(Parser, Debug)]
#[command(name = "mock-scheduler", about = "TinyKV's mock scheduler over gRPC")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:2379")]
    addr: String,
    /// The cluster id handed to stores.
    #[arg(long, default_value_t = 1)]
    cluster_id: u64,
    /// Replicas per region: missing ones are added on stores without one.
    #[arg(long, default_value_t = 3)]
    replicas: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let addr: SocketAddr = args
        .addr
        .parse()
        .with_context(|| format!("bad --addr {}", args.addr))?;
    let mock = Arc::new(MockSchedulerClient::new(args.cluster_id, 1));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        eprintln!("mock-scheduler listening on {addr}");
        tonic::transport::Server::builder()
            .add_service(SchedulerServer::new(SchedulerService::new(
                mock,
                args.replicas,
            )))
            .serve_with_shutdown(addr, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serve")
    })
}
