//! tinykv-ctl: talk to a tinykv-server over gRPC with the raw API.
//!
//! ```sh
//! tinykv-ctl put k1 v1
//! tinykv-ctl get k1
//! tinykv-ctl scan "" --limit 10
//! tinykv-ctl delete k1
//! ```

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use proto::kvrpcpb::{RawDeleteRequest, RawGetRequest, RawPutRequest, RawScanRequest};
use proto::tinykvpb::tiny_kv_client::TinyKvClient;

#[derive(Parser, Debug)]
#[command(
    name = "tinykv-ctl",
    about = "Raw key-value commands against a tinykv-server"
)]
struct Args {
    /// The server's address (a standalone server).
    #[arg(long, default_value = "127.0.0.1:20160")]
    addr: String,
    /// A replicated cluster's scheduler: commands then go to the leader of
    /// the key's region, found through it (and `--addr` is not used).
    #[arg(long)]
    scheduler: Option<String>,
    /// Column family: default, lock or write.
    #[arg(long, default_value = "default")]
    cf: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    Get {
        key: String,
    },
    Put {
        key: String,
        value: String,
    },
    Delete {
        key: String,
    },
    Scan {
        start: String,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

fn check(region_error: Option<proto::errorpb::Error>, error: &str) -> anyhow::Result<()> {
    if let Some(e) = region_error {
        bail!("region error: {}", e.message);
    }
    if !error.is_empty() {
        bail!("{error}");
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    if let Some(scheduler) = &args.scheduler {
        return run_cluster(scheduler, &args.cf, args.cmd).await;
    }
    let mut client = TinyKvClient::connect(format!("http://{}", args.addr))
        .await
        .with_context(|| format!("connect to {}", args.addr))?;
    let cf = args.cf.clone();
    match args.cmd {
        Cmd::Get { key } => {
            let resp = client
                .raw_get(RawGetRequest {
                    key: key.into_bytes(),
                    cf,
                    ..Default::default()
                })
                .await?
                .into_inner();
            check(resp.region_error, &resp.error)?;
            if resp.not_found {
                println!("(not found)");
            } else {
                println!("{}", String::from_utf8_lossy(&resp.value));
            }
        }
        Cmd::Put { key, value } => {
            let resp = client
                .raw_put(RawPutRequest {
                    key: key.into_bytes(),
                    value: value.into_bytes(),
                    cf,
                    ..Default::default()
                })
                .await?
                .into_inner();
            check(resp.region_error, &resp.error)?;
            println!("OK");
        }
        Cmd::Delete { key } => {
            let resp = client
                .raw_delete(RawDeleteRequest {
                    key: key.into_bytes(),
                    cf,
                    ..Default::default()
                })
                .await?
                .into_inner();
            check(resp.region_error, &resp.error)?;
            println!("OK");
        }
        Cmd::Scan { start, limit } => {
            let resp = client
                .raw_scan(RawScanRequest {
                    start_key: start.into_bytes(),
                    limit,
                    cf,
                    ..Default::default()
                })
                .await?
                .into_inner();
            check(resp.region_error, &resp.error)?;
            for kv in resp.kvs {
                println!(
                    "{}\t{}",
                    String::from_utf8_lossy(&kv.key),
                    String::from_utf8_lossy(&kv.value)
                );
            }
        }
    }
    Ok(())
}

async fn run_cluster(scheduler: &str, cf: &str, cmd: Cmd) -> anyhow::Result<()> {
    let mut c = kv::server::client::ClusterClient::connect(scheduler)
        .await
        .with_context(|| format!("connect to the scheduler at {scheduler}"))?;
    match cmd {
        Cmd::Get { key } => match c.get(cf, key.as_bytes()).await? {
            Some(v) => println!("{}", String::from_utf8_lossy(&v)),
            None => println!("(not found)"),
        },
        Cmd::Put { key, value } => {
            c.put(cf, key.as_bytes(), value.as_bytes()).await?;
            println!("OK");
        }
        Cmd::Delete { key } => {
            c.delete(cf, key.as_bytes()).await?;
            println!("OK");
        }
        Cmd::Scan { start, limit } => {
            for kv in c.scan(cf, start.as_bytes(), limit).await? {
                println!(
                    "{}\t{}",
                    String::from_utf8_lossy(&kv.key),
                    String::from_utf8_lossy(&kv.value)
                );
            }
        }
    }
    Ok(())
}
