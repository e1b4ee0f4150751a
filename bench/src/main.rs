//! tinykv-bench: an in-process TinyKV cluster (the test cluster: N stores,
//! simulated transport, real RocksDB in temp dirs, synced raft writes)
//! under K closed-loop clients for D seconds, with optional chaos; reports
//! throughput, latency, errors, CPU, memory and raft batching, and reads
//! every acknowledged write back at the end.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use kv::config::Config;
use kv::raftstore::metrics;
use test_cluster::{
    new_delete_cf_cmd, new_get_cf_cmd, new_put_cf_cmd, new_snap_cmd, new_test_cluster, region_scan,
    Cluster, DropFilter, PartitionFilter,
};
use tinykv_bench::client::Client;
use tinykv_bench::keys::{key_of, value_of, KeyDist, Rng};
use tinykv_bench::report::{op_reports, Comparison, Report, Workload};
use tinykv_bench::stats::{OpKind, Stats};

const CF: &str = "default";
/// How long one operation may keep retrying before the run fails.
const GIVE_UP: Duration = Duration::from_secs(60);
/// Keys a scan reads.
const SCAN_LEN: u64 = 10;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "tinykv-bench",
    about = "Benchmark an in-process TinyKV cluster"
)]
struct Args {
    /// Stores in the cluster.
    #[arg(long, default_value_t = 3)]
    stores: usize,
    /// Concurrent closed-loop clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Percent of operations that are puts (default 100 if no mix is given).
    #[arg(long, default_value_t = 0)]
    puts: u32,
    /// Percent of operations that are gets.
    #[arg(long, default_value_t = 0)]
    gets: u32,
    /// Percent of operations that are scans (of 10 keys).
    #[arg(long, default_value_t = 0)]
    scans: u32,
    /// Percent of operations that are deletes.
    #[arg(long, default_value_t = 0)]
    deletes: u32,
    /// Key size in bytes (at least 8).
    #[arg(long, default_value_t = 16)]
    key_size: usize,
    /// Value size in bytes.
    #[arg(long, default_value_t = 128)]
    value_size: usize,
    /// Size of the key space, shared out among the clients.
    #[arg(long, default_value_t = 100_000)]
    keys: u64,
    /// Zipfian keys (theta 0.99) instead of uniform.
    #[arg(long)]
    zipf: bool,
    /// Drop about 10% of raft messages, more as drop filters stack (GenericTest's chaos).
    #[arg(long)]
    unreliable: bool,
    /// Partition the stores at random every election timeout or so.
    #[arg(long)]
    partitions: bool,
    /// Stop and restart a random store every couple of seconds.
    #[arg(long)]
    restarts: bool,
    /// Cut this many stores off from the others for the whole run (the
    /// highest-numbered; the first region's leader is moved off them), and
    /// first run the same load with nothing cut off, to compare.
    #[arg(long, default_value_t = 0)]
    isolate: usize,
    /// Delay every message to or from this many stores (the highest-numbered,
    /// after any isolated ones) by --slow-ms, and compare with a run
    /// without, as --isolate does.
    #[arg(long, default_value_t = 0)]
    slow: usize,
    /// Delay of a slow store's messages, in milliseconds.
    #[arg(long, default_value_t = 100)]
    slow_ms: u64,
    /// Small regions, so that they split during the run.
    #[arg(long)]
    split: bool,
    /// Region size in bytes at which a region splits, with --split.
    #[arg(long, default_value_t = 256 * 1024)]
    region_size: u64,
    /// Seconds the started cluster is left idle to measure its CPU.
    #[arg(long, default_value_t = 2.0)]
    idle: f64,
    /// Seed of the clients' and the chaos' choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

/// User and system CPU seconds of this process, and its peak RSS in MiB.
fn rusage() -> (f64, f64, f64) {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (
        secs(ru.ru_utime),
        secs(ru.ru_stime),
        ru.ru_maxrss as f64 / 1024.0,
    )
}

fn cpu_secs() -> f64 {
    let (u, s, _) = rusage();
    u + s
}

/// What a client expects of each of its keys: `Some(value)` or deleted.
type Expected = HashMap<Vec<u8>, Option<Vec<u8>>>;

struct Shared {
    cluster: Arc<Cluster>,
    args: Args,
    dist: KeyDist,
    ops: AtomicU64,
    /// Reads of a client's own key that did not return its last write.
    wrong_reads: AtomicU64,
}

impl Shared {
    fn key(&self, client: usize, i: u64) -> Vec<u8> {
        key_of(client, i, self.args.key_size)
    }

    fn pick(&self, rng: &mut Rng) -> OpKind {
        let a = &self.args;
        let r = rng.below(100) as u32;
        if r < a.puts {
            OpKind::Put
        } else if r < a.puts + a.gets {
            OpKind::Get
        } else if r < a.puts + a.gets + a.scans {
            OpKind::Scan
        } else {
            OpKind::Delete
        }
    }
}

/// The value a Get answered (empty if none).
fn get_value(resp: &proto::raft_cmdpb::RaftCmdResponse) -> Vec<u8> {
    resp.responses
        .first()
        .and_then(|r| r.get.as_ref())
        .map(|g| g.value.clone())
        .unwrap_or_default()
}

/// One operation of `client` on its key `i`, retried until acknowledged.
fn run_op(
    sh: &Shared,
    c: &mut Client,
    client: usize,
    kind: OpKind,
    i: u64,
    seq: u64,
    expected: &mut Expected,
) -> anyhow::Result<()> {
    let key = sh.key(client, i);
    match kind {
        OpKind::Put => {
            let value = value_of(client, seq, sh.args.value_size);
            c.execute(&key, &[new_put_cf_cmd(CF, &key, &value)], GIVE_UP)?;
            expected.insert(key, Some(value));
        }
        OpKind::Delete => {
            c.execute(&key, &[new_delete_cf_cmd(CF, &key)], GIVE_UP)?;
            expected.insert(key, None);
        }
        OpKind::Get => {
            let (resp, _) = c.execute(&key, &[new_get_cf_cmd(CF, &key)], GIVE_UP)?;
            let got = get_value(&resp);
            if let Some(want) = expected.get(&key) {
                if got != want.clone().unwrap_or_default() {
                    sh.wrong_reads.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        OpKind::Scan => {
            let end = sh.key(client, i + SCAN_LEN);
            let (resp, snap) = c.execute(&key, &[new_snap_cmd()], GIVE_UP)?;
            let region = resp
                .responses
                .first()
                .and_then(|r| r.snap.as_ref())
                .and_then(|s| s.region.clone())
                .unwrap_or_default();
            if let Some(snap) = snap {
                let _ = region_scan(&snap, &region, &key, &end);
            }
        }
    }
    Ok(())
}

/// Writes every key of `client` once.
fn preload_loop(sh: &Shared, client: usize) -> Expected {
    let mut c = Client::new(&sh.cluster);
    let mut expected = Expected::new();
    let per_client = (sh.dist.len() / sh.args.clients as u64).max(1);
    for i in 0..per_client {
        if let Err(e) = run_op(sh, &mut c, client, OpKind::Put, i, 0, &mut expected) {
            panic!("client {client}: preload failed: {e}");
        }
    }
    expected
}

fn client_loop(
    sh: &Shared,
    client: usize,
    deadline: Instant,
    mut expected: Expected,
) -> (Stats, Expected) {
    let mut c = Client::new(&sh.cluster);
    let mut rng = Rng::new(
        sh.args
            .seed
            .wrapping_mul(1_000_003)
            .wrapping_add(client as u64),
    );
    let per_client = (sh.dist.len() / sh.args.clients as u64).max(1);
    let mut seq = 0;
    while Instant::now() < deadline {
        let kind = sh.pick(&mut rng);
        let i = sh.dist.sample(&mut rng) % per_client;
        seq += 1;
        let start = Instant::now();
        if let Err(e) = run_op(sh, &mut c, client, kind, i, seq, &mut expected) {
            panic!("client {client}: {e}");
        }
        c.stats.record(kind, start.elapsed());
        sh.ops.fetch_add(1, Ordering::Relaxed);
    }
    (c.stats, expected)
}

fn chaos_loop(cluster: &Cluster, args: &Args, done: &AtomicBool) {
    let election_timeout = Duration::from_millis(500);
    let mut rng = Rng::new(args.seed ^ 0xC4A0_5EED);
    let mut last_restart = Instant::now();
    while !done.load(Ordering::SeqCst) {
        cluster.clear_filters();
        if args.partitions {
            let mut sides = [Vec::new(), Vec::new()];
            for store in 1..=args.stores as u64 {
                sides[rng.below(2) as usize].push(store);
            }
            let [s1, s2] = sides;
            cluster.add_filter(Box::new(PartitionFilter { s1, s2 }));
        }
        if args.unreliable {
            cluster.add_filter(Box::new(DropFilter::new(rng.next_u64())));
        }
        if args.restarts && last_restart.elapsed() > Duration::from_secs(2) {
            let store = rng.below(args.stores as u64) + 1;
            cluster.stop_server(store);
            thread::sleep(election_timeout);
            cluster.start_server(store);
            last_restart = Instant::now();
        }
        thread::sleep(election_timeout + Duration::from_millis(rng.below(200)));
    }
    cluster.clear_filters();
}

/// Reads every key a client wrote back and counts those not as expected.
fn verify(cluster: &Cluster, expected: &Expected) -> anyhow::Result<(u64, u64)> {
    let mut c = Client::new(cluster);
    let (mut ok, mut lost) = (0, 0);
    for (key, want) in expected {
        let (resp, _) = c.execute(key, &[new_get_cf_cmd(CF, key)], GIVE_UP)?;
        let got = get_value(&resp);
        if got == want.clone().unwrap_or_default() {
            ok += 1;
        } else {
            lost += 1;
            eprintln!(
                "LOST: key {} want {:?} got {:?}",
                String::from_utf8_lossy(key),
                want.as_ref()
                    .map(|v| String::from_utf8_lossy(v).into_owned()),
                String::from_utf8_lossy(&got)
            );
        }
    }
    Ok((ok, lost))
}

fn count_regions(cluster: &Cluster) -> usize {
    let mut key = Vec::new();
    let mut n = 0;
    loop {
        let region = cluster.get_region(&key);
        n += 1;
        if region.end_key.is_empty() || n > 100_000 {
            return n;
        }
        key = region.end_key;
    }
}

/// Stores cut off or slowed down during the measured load.
#[derive(Debug, Clone, Default)]
struct Faults {
    isolated: Vec<u64>,
    slow: Vec<u64>,
    slow_by: Duration,
}

impl Faults {
    /// The highest-numbered stores: `isolate` cut off, then `slow` slowed.
    fn of(args: &Args) -> anyhow::Result<Faults> {
        if args.isolate + args.slow >= args.stores {
            bail!("--isolate and --slow must leave at least one store as it is");
        }
        let mut ids = (1..=args.stores as u64).rev();
        Ok(Faults {
            isolated: ids.by_ref().take(args.isolate).collect(),
            slow: ids.take(args.slow).collect(),
            slow_by: Duration::from_millis(args.slow_ms),
        })
    }

    fn any(&self) -> bool {
        !self.isolated.is_empty() || !self.slow.is_empty()
    }

    /// Starts them on `cluster`: the first region's leader moved to store 1
    /// (never faulted), then the links cut or slowed.
    fn apply(&self, cluster: &Cluster) {
        if !self.any() {
            return;
        }
        let region = cluster.get_region(b"");
        if let Some(peer) = region.peers.iter().find(|p| p.store_id == 1) {
            cluster.must_transfer_leader(region.id, *peer);
        }
        if !self.isolated.is_empty() {
            let rest = (1..=cluster.count as u64)
                .filter(|s| !self.isolated.contains(s))
                .collect();
            cluster.add_filter(Box::new(PartitionFilter {
                s1: self.isolated.clone(),
                s2: rest,
            }));
        }
        if !self.slow.is_empty() {
            cluster
                .simulator
                .transport()
                .set_slow_stores(self.slow.clone(), self.slow_by);
        }
    }

    fn clear(&self, cluster: &Cluster) {
        if !self.slow.is_empty() {
            cluster
                .simulator
                .transport()
                .set_slow_stores(Vec::new(), Duration::ZERO);
        }
        if !self.isolated.is_empty() {
            cluster.clear_filters();
        }
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.puts + args.gets + args.scans + args.deletes == 0 {
        args.puts = 100;
    }
    if args.puts + args.gets + args.scans + args.deletes != 100 {
        bail!("--puts, --gets, --scans and --deletes must add up to 100");
    }
    if args.stores == 0 || args.clients == 0 || args.clients > 1000 {
        bail!("need at least one store and 1 to 1000 clients");
    }
    if std::env::var_os("LOG_LEVEL").is_none() {
        std::env::set_var("LOG_LEVEL", "fatal");
    }
    let faults = Faults::of(&args)?;
    if (args.unreliable || args.partitions || args.restarts) && faults.any() {
        bail!(
            "--isolate and --slow hold for the whole run; the chaos options \
             (--unreliable, --partitions, --restarts) would undo them"
        );
    }
    let json = args.json.clone();
    let (report, comparison) = if faults.any() {
        eprintln!("baseline: the same load with no store cut off or slowed ...");
        let baseline = run(args.clone(), &Faults::default())?;
        print!(
            "baseline (nothing cut off or slowed)\n{}\n",
            baseline.table()
        );
        let run = run(args, &faults)?;
        let comparison = Comparison::new(&baseline, &run);
        (run, Some((baseline, comparison)))
    } else {
        (run(args, &faults)?, None)
    };
    print!("{}", report.table());
    if let Some((_, c)) = &comparison {
        print!("\n{}", c.table());
    }
    if let Some(path) = json {
        let text = match &comparison {
            Some((baseline, c)) => serde_json::to_string_pretty(&serde_json::json!({
                "baseline": baseline,
                "run": report,
                "comparison": c,
            }))?,
            None => serde_json::to_string_pretty(&report)?,
        };
        std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
    }
    let bad = |r: &Report| r.lost_keys > 0 || r.wrong_reads > 0;
    if bad(&report) || comparison.as_ref().is_some_and(|(b, _)| bad(b)) {
        bail!("acknowledged writes lost or wrong reads (see above)");
    }
    Ok(())
}

/// One benchmark run on a fresh cluster.
fn run(args: Args, faults: &Faults) -> anyhow::Result<Report> {
    let mut cfg = Config::new_test_config();
    if args.split {
        cfg.region_max_size = args.region_size;
        cfg.region_split_size = args.region_size * 2 / 3;
    }
    let mut cluster = new_test_cluster(args.stores, cfg);
    cluster.start();
    let cluster = Arc::new(cluster);
    cluster.must_put(b"bench-warmup", b"1");

    let idle_cpu_percent = if args.idle > 0.0 {
        let c0 = cpu_secs();
        thread::sleep(Duration::from_secs_f64(args.idle));
        (cpu_secs() - c0) / args.idle * 100.0
    } else {
        0.0
    };

    let dist = if args.zipf {
        KeyDist::zipf(args.keys, 0.99)
    } else {
        KeyDist::uniform(args.keys)
    };
    let preload = args.gets + args.scans > 0;
    let workload = Workload {
        stores: args.stores,
        clients: args.clients,
        duration_secs: args.duration,
        puts: args.puts,
        gets: args.gets,
        scans: args.scans,
        deletes: args.deletes,
        key_size: args.key_size,
        value_size: args.value_size,
        keys: args.keys,
        distribution: if args.zipf { "zipfian" } else { "uniform" }.to_string(),
        unreliable: args.unreliable,
        partitions: args.partitions,
        restarts: args.restarts,
        split: args.split,
        seed: args.seed,
        isolated: faults.isolated.clone(),
        slow: faults.slow.clone(),
        slow_ms: if faults.slow.is_empty() {
            0
        } else {
            faults.slow_by.as_millis() as u64
        },
    };
    let chaos = args.unreliable || args.partitions || args.restarts;
    let quiet = args.quiet;
    let duration = Duration::from_secs_f64(args.duration);
    let sh = Arc::new(Shared {
        cluster: cluster.clone(),
        args,
        dist,
        ops: AtomicU64::new(0),
        wrong_reads: AtomicU64::new(0),
    });

    let mut preloaded: Vec<Expected> = (0..sh.args.clients).map(|_| Expected::new()).collect();
    if preload {
        if !quiet {
            eprintln!("preloading {} keys ...", sh.dist.len());
        }
        let loaders: Vec<_> = (0..sh.args.clients)
            .map(|client| {
                let sh = sh.clone();
                thread::spawn(move || preload_loop(&sh, client))
            })
            .collect();
        preloaded.clear();
        for l in loaders {
            preloaded.push(
                l.join()
                    .map_err(|_| anyhow::anyhow!("a preloading client failed"))?,
            );
        }
    }

    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(duration.as_millis() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40.cyan/blue} {elapsed}/{duration} {msg}")
            .expect("valid template"),
    );

    faults.apply(&cluster);
    let metrics0 = metrics::snapshot();
    let cpu0 = rusage();
    let start = Instant::now();
    let deadline = start + duration;
    let done = Arc::new(AtomicBool::new(false));
    let chaos_thread = chaos.then(|| {
        let (sh, done) = (sh.clone(), done.clone());
        thread::spawn(move || chaos_loop(&sh.cluster, &sh.args, &done))
    });
    let clients: Vec<_> = preloaded
        .into_iter()
        .enumerate()
        .map(|(client, expected)| {
            let sh = sh.clone();
            thread::spawn(move || client_loop(&sh, client, deadline, expected))
        })
        .collect();
    // Operations completed in each whole second of the run.
    let mut per_second = Vec::new();
    let mut ops_at_last_second = 0;
    while Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
        let secs = start.elapsed().as_secs_f64();
        let ops = sh.ops.load(Ordering::Relaxed);
        if secs >= (per_second.len() + 1) as f64 {
            per_second.push(ops - ops_at_last_second);
            ops_at_last_second = ops;
        }
        bar.set_position(start.elapsed().as_millis() as u64);
        bar.set_message(format!("{ops} ops, {:.0} ops/s", ops as f64 / secs));
    }
    let mut stats = Stats::default();
    let mut expected = Vec::new();
    for c in clients {
        let (s, e) = c
            .join()
            .map_err(|_| anyhow::anyhow!("a client failed (see its panic above)"))?;
        stats.merge(s);
        expected.push(e);
    }
    let elapsed = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let cpu1 = rusage();
    let m = metrics::snapshot().since(&metrics0);
    faults.clear(&cluster);
    done.store(true, Ordering::SeqCst);
    if let Some(t) = chaos_thread {
        t.join()
            .map_err(|_| anyhow::anyhow!("the chaos thread failed"))?;
    }

    if !quiet {
        eprintln!(
            "reading back {} keys ...",
            expected.iter().map(|e| e.len()).sum::<usize>()
        );
    }
    let verifiers: Vec<_> = expected
        .into_iter()
        .map(|e| {
            let cluster = cluster.clone();
            thread::spawn(move || verify(&cluster, &e))
        })
        .collect();
    let (mut verified, mut lost) = (0, 0);
    for v in verifiers {
        let (ok, bad) = v
            .join()
            .map_err(|_| anyhow::anyhow!("a verifier failed"))??;
        verified += ok;
        lost += bad;
    }
    let regions = count_regions(&cluster);

    let total = stats.total();
    let ops = op_reports(&mut stats, elapsed);
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let report = Report {
        workload,
        elapsed_secs: elapsed,
        ops,
        total_ops_per_sec: total as f64 / elapsed,
        errors: stats.errors.clone(),
        cpu_user_secs: cpu1.0 - cpu0.0,
        cpu_sys_secs: cpu1.1 - cpu0.1,
        cpu_percent: ((cpu1.0 - cpu0.0) + (cpu1.1 - cpu0.1)) / elapsed * 100.0,
        idle_cpu_percent,
        peak_rss_mib: cpu1.2,
        raft_messages_sent: m.raft_messages_sent,
        ready_rounds: m.ready_rounds,
        raft_batch_writes: m.raft_batch_writes,
        raft_batch_syncs: m.raft_batch_syncs,
        mean_entries_per_raft_batch: ratio(m.raft_entries_persisted, m.raft_batch_writes),
        mean_entries_per_kv_batch: ratio(m.entries_applied, m.kv_batch_writes),
        regions,
        verified_keys: verified,
        lost_keys: lost,
        wrong_reads: sh.wrong_reads.load(Ordering::Relaxed),
        ops_per_second: per_second,
    };
    cluster.shutdown();
    Ok(report)
}
