//! tinykv-server: a TinyKV storage node served over gRPC.
//!
//! By default the node is a replicated store: it connects to the scheduler
//! (`--scheduler`), bootstraps its store (and the cluster, if it is the
//! first), and talks to other stores over gRPC. `--raft=false` runs
//! project 1's standalone storage instead.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use kv::config::Config;
use kv::raftstore::scheduler_client::SchedulerClient;
use kv::server::raft_server::RaftServer;
use kv::server::scheduler_client::GrpcSchedulerClient;
use kv::server::service::TinyKvService;
use kv::server::Server;
use kv::storage::standalone_storage::StandaloneStorage;
use kv::storage::Storage;
use proto::tinykvpb::tiny_kv_server::TinyKvServer;

#[derive(Parser, Debug)]
#[command(name = "tinykv-server", about = "A TinyKV storage node")]
struct Args {
    /// Address to listen on (Go: StoreAddr).
    #[arg(long, default_value = "127.0.0.1:20160")]
    addr: String,
    /// The scheduler's address (raft mode).
    #[arg(long, default_value = "127.0.0.1:2379")]
    scheduler: String,
    /// Data directory.
    #[arg(long, default_value = "/tmp/tinykv")]
    path: String,
    /// fatal, error, warn, info or debug (default: $LOG_LEVEL, else info).
    #[arg(long)]
    loglevel: Option<String>,
    /// Replicate through raft (true) or run project 1's standalone storage.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    raft: bool,
    /// Use TinyKV's test timings (50 ms ticks, elections in 0.5-1 s, 100 ms
    /// heartbeats to the scheduler) instead of the production ones (1 s
    /// ticks): for local clusters and end-to-end tests.
    #[arg(long)]
    test_timing: bool,
    /// Split a region once it exceeds this many bytes (default 144 MiB).
    #[arg(long)]
    region_max_size: Option<u64>,
    /// Size of the left part when a region splits (default 96 MiB).
    #[arg(long)]
    region_split_size: Option<u64>,
}

fn init_logging(level: &str) {
    let filter = match level.to_ascii_lowercase().as_str() {
        "debug" => "debug",
        "info" => "info",
        "warn" | "warning" => "warn",
        "error" => "error",
        _ => "off",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut conf = Config::new_default_config();
    if args.test_timing {
        let t = Config::new_test_config();
        conf.raft_base_tick_interval = t.raft_base_tick_interval;
        conf.raft_heartbeat_ticks = t.raft_heartbeat_ticks;
        conf.raft_election_timeout_ticks = t.raft_election_timeout_ticks;
        conf.raft_log_gc_tick_interval = t.raft_log_gc_tick_interval;
        conf.split_region_check_tick_interval = t.split_region_check_tick_interval;
        conf.scheduler_heartbeat_tick_interval = t.scheduler_heartbeat_tick_interval;
        conf.scheduler_store_heartbeat_tick_interval = t.scheduler_store_heartbeat_tick_interval;
    }
    conf.store_addr = args.addr.clone();
    conf.scheduler_addr = args.scheduler.clone();
    conf.db_path = args.path.clone();
    if let Some(max) = args.region_max_size {
        conf.region_max_size = max;
    }
    if let Some(split) = args.region_split_size {
        conf.region_split_size = split;
    }
    if let Some(level) = &args.loglevel {
        conf.log_level = level.clone();
    }
    init_logging(&conf.log_level);
    conf.validate()
        .map_err(|e| anyhow::anyhow!("invalid config: {e}"))?;
    let addr: SocketAddr = args
        .addr
        .parse()
        .with_context(|| format!("bad --addr {}", args.addr))?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the tokio runtime")?;

    // Raft mode: join the cluster through the scheduler and serve the
    // raftstore; standalone: project 1's local storage.
    let mut raft_server = None;
    let service = if args.raft {
        let scheduler: Arc<dyn SchedulerClient> = Arc::new(
            GrpcSchedulerClient::connect(&conf.scheduler_addr)
                .context("connect to the scheduler")?,
        );
        let server = RaftServer::start(conf.clone(), scheduler, rt.handle().clone())
            .context("start the raftstore")?;
        eprintln!("store {} started", server.store_id());
        let service = server.service();
        raft_server = Some(server);
        service
    } else {
        let mut storage = StandaloneStorage::new(&conf);
        storage.start().context("start standalone storage")?;
        let storage: Arc<dyn Storage> = Arc::new(storage);
        TinyKvService::new(Arc::new(Server::new(storage)))
    };
    let mode = if args.raft { "raft" } else { "standalone" };
    let served = rt.block_on(async move {
        eprintln!("tinykv-server ({mode}) listening on {addr}");
        tonic::transport::Server::builder()
            .add_service(TinyKvServer::new(service))
            .serve_with_shutdown(addr, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serve")
    });
    if let Some(mut server) = raft_server {
        server.stop();
    }
    served
}
