//! tinykv-server: a TinyKV storage node served over gRPC.
//!
//! `--raft=false` runs project 1's standalone storage. Raft mode (a
//! replicated store joining a cluster through a scheduler) needs the gRPC
//! scheduler client and the store-to-store transport, which are not
//! implemented yet; the server says so and exits.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Parser;
use kv::config::Config;
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
    conf.store_addr = args.addr.clone();
    conf.scheduler_addr = args.scheduler.clone();
    conf.db_path = args.path.clone();
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

    if args.raft {
        bail!(
            "raft mode needs the gRPC scheduler client and store transport, which are not \
             implemented yet; run with --raft=false for the standalone storage"
        );
    }
    let mut storage = StandaloneStorage::new(&conf);
    storage.start().context("start standalone storage")?;
    let storage: Arc<dyn Storage> = Arc::new(storage);
    let service = TinyKvService::new(Arc::new(Server::new(storage)), None);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the tokio runtime")?;
    rt.block_on(async move {
        eprintln!("tinykv-server (standalone) listening on {addr}");
        tonic::transport::Server::builder()
            .add_service(TinyKvServer::new(service))
            .serve_with_shutdown(addr, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serve")
    })
}
