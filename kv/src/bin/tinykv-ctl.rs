//! tinykv-ctl: talk to a tinykv-server over gRPC with the raw API, or to
//! a cluster with Percolator transactions (`txn ...`, needs `--scheduler`).
//!
//! ```sh
//! tinykv-ctl put k1 v1
//! tinykv-ctl get k1
//! tinykv-ctl scan "" --limit 10
//! tinykv-ctl delete k1
//! tinykv-ctl --scheduler 127.0.0.1:2379 txn put alice 70 bob 30
//! tinykv-ctl --scheduler 127.0.0.1:2379 txn get alice
//! tinykv-ctl --scheduler 127.0.0.1:2379 txn scan a --end c
//! ```

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use kv::server::client::ClusterClient;
use kv::server::txn_client::{GrpcBackend, Txn, TxnClient, TxnError, TxnStatus};
use proto::kvrpcpb::{KvPair, RawDeleteRequest, RawGetRequest, RawPutRequest, RawScanRequest};
use proto::tinykvpb::tiny_kv_client::TinyKvClient;
use tonic::transport::Channel;

#[derive(Parser, Debug)]
#[command(
    name = "tinykv-ctl",
    about = "Raw key-value commands against a tinykv-server, transactions against a cluster"
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
    /// Percolator transactions through the Kv* API (needs --scheduler):
    /// timestamps from the scheduler's TSO, two-phase commit, locks of
    /// dead transactions resolved on the way.
    Txn {
        #[command(subcommand)]
        cmd: TxnCmd,
    },
}

#[derive(Subcommand, Debug)]
enum TxnCmd {
    /// The latest committed value of a key (a read at a fresh timestamp).
    Get { key: String },
    /// Puts one or more pairs in one transaction: `put k1 v1 k2 v2 ...`
    /// commits all of them or none.
    Put {
        #[arg(required = true, num_args = 2.., value_names = ["KEY", "VALUE"])]
        pairs: Vec<String>,
    },
    /// Deletes keys in one transaction.
    Delete {
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Pairs from `start` on, across regions, at a fresh timestamp.
    Scan {
        start: String,
        /// Stop before this key (default: no bound).
        #[arg(long, default_value = "")]
        end: String,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// How the transaction that started at `start_ts` stands, asked of its
    /// primary key (rolls it back if its lock has expired).
    Status { primary: String, start_ts: u64 },
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
    let cmd = match args.cmd {
        Cmd::Txn { cmd } => {
            let Some(scheduler) = &args.scheduler else {
                bail!("txn commands need a cluster: give --scheduler");
            };
            return run_txn(scheduler, cmd).await;
        }
        cmd => cmd,
    };
    let mut raw = match &args.scheduler {
        Some(scheduler) => Raw::Cluster(
            ClusterClient::connect(scheduler)
                .await
                .with_context(|| format!("connect to the scheduler at {scheduler}"))?,
        ),
        None => Raw::Store(
            TinyKvClient::connect(format!("http://{}", args.addr))
                .await
                .with_context(|| format!("connect to {}", args.addr))?,
        ),
    };
    let cf = args.cf.as_str();
    match cmd {
        Cmd::Txn { .. } => unreachable!("handled above"),
        Cmd::Get { key } => match raw.get(cf, key.as_bytes()).await? {
            Some(v) => println!("{}", String::from_utf8_lossy(&v)),
            None => println!("(not found)"),
        },
        Cmd::Put { key, value } => {
            raw.put(cf, key.as_bytes(), value.as_bytes()).await?;
            println!("OK");
        }
        Cmd::Delete { key } => {
            raw.delete(cf, key.as_bytes()).await?;
            println!("OK");
        }
        Cmd::Scan { start, limit } => {
            for kv in raw.scan(cf, start.as_bytes(), limit).await? {
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

/// Where the raw commands go: one server (`--addr`), or a cluster through
/// its scheduler, which finds each key's region and leader.
enum Raw {
    Store(TinyKvClient<Channel>),
    Cluster(ClusterClient),
}

impl Raw {
    async fn get(&mut self, cf: &str, key: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
        let c = match self {
            Raw::Cluster(c) => return c.get(cf, key).await,
            Raw::Store(c) => c,
        };
        let req = RawGetRequest {
            key: key.to_vec(),
            cf: cf.to_string(),
            ..Default::default()
        };
        let r = c.raw_get(req).await?.into_inner();
        check(r.region_error, &r.error)?;
        Ok((!r.not_found).then_some(r.value))
    }

    async fn put(&mut self, cf: &str, key: &[u8], value: &[u8]) -> anyhow::Result<()> {
        let c = match self {
            Raw::Cluster(c) => return c.put(cf, key, value).await,
            Raw::Store(c) => c,
        };
        let req = RawPutRequest {
            key: key.to_vec(),
            value: value.to_vec(),
            cf: cf.to_string(),
            ..Default::default()
        };
        let r = c.raw_put(req).await?.into_inner();
        check(r.region_error, &r.error)
    }

    async fn delete(&mut self, cf: &str, key: &[u8]) -> anyhow::Result<()> {
        let c = match self {
            Raw::Cluster(c) => return c.delete(cf, key).await,
            Raw::Store(c) => c,
        };
        let req = RawDeleteRequest {
            key: key.to_vec(),
            cf: cf.to_string(),
            ..Default::default()
        };
        let r = c.raw_delete(req).await?.into_inner();
        check(r.region_error, &r.error)
    }

    async fn scan(&mut self, cf: &str, start: &[u8], limit: u32) -> anyhow::Result<Vec<KvPair>> {
        let c = match self {
            Raw::Cluster(c) => return c.scan(cf, start, limit).await,
            Raw::Store(c) => c,
        };
        let req = RawScanRequest {
            start_key: start.to_vec(),
            limit,
            cf: cf.to_string(),
            ..Default::default()
        };
        let r = c.raw_scan(req).await?.into_inner();
        check(r.region_error, &r.error)?;
        Ok(r.kvs)
    }
}

async fn run_txn(scheduler: &str, cmd: TxnCmd) -> anyhow::Result<()> {
    let backend = GrpcBackend::connect(scheduler)
        .await
        .with_context(|| format!("connect to the scheduler at {scheduler}"))?;
    let mut c = TxnClient::new(backend);
    let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    match cmd {
        TxnCmd::Get { key } => {
            let ts = c.timestamp().await?;
            match c.get_at(ts, key.as_bytes()).await? {
                Some(v) => println!("{}", show(&v)),
                None => println!("(not found)"),
            }
        }
        TxnCmd::Put { pairs } => {
            if pairs.len() % 2 != 0 {
                bail!(
                    "put takes key value pairs; {} is missing its value",
                    pairs[pairs.len() - 1]
                );
            }
            let mut txn = c.begin().await?;
            for kv in pairs.chunks(2) {
                txn.put(kv[0].as_bytes(), kv[1].as_bytes());
            }
            commit(&mut c, &txn).await?;
        }
        TxnCmd::Delete { keys } => {
            let mut txn = c.begin().await?;
            for k in &keys {
                txn.delete(k.as_bytes());
            }
            commit(&mut c, &txn).await?;
        }
        TxnCmd::Scan { start, end, limit } => {
            let ts = c.timestamp().await?;
            for (k, v) in c
                .scan_at(ts, start.as_bytes(), end.as_bytes(), limit)
                .await?
            {
                println!("{}\t{}", show(&k), show(&v));
            }
        }
        TxnCmd::Status { primary, start_ts } => {
            match c.txn_status(primary.as_bytes(), start_ts).await? {
                TxnStatus::Committed(ts) => println!("committed at {ts}"),
                TxnStatus::RolledBack => println!("rolled back"),
                TxnStatus::Locked(ttl) => println!("locked (ttl {ttl} ms)"),
            }
        }
    }
    Ok(())
}

/// Commits `txn` and says how it went; an unanswered primary commit is
/// settled by asking the primary.
async fn commit(c: &mut TxnClient<GrpcBackend>, txn: &Txn) -> anyhow::Result<()> {
    match c.commit(txn).await {
        Ok(ts) => println!("committed at {ts} (started at {})", txn.start_ts()),
        Err(TxnError::Undetermined { primary, start_ts }) => loop {
            // Still locked: the commit may yet land, or the lock expire.
            match c.txn_status(&primary, start_ts).await? {
                TxnStatus::Committed(ts) => {
                    println!("committed at {ts} (started at {start_ts})");
                    break;
                }
                TxnStatus::RolledBack => bail!("transaction {start_ts} was rolled back"),
                TxnStatus::Locked(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await
                }
            }
        },
        Err(e) => bail!("{e}"),
    }
    Ok(())
}
