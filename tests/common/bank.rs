//! The bank workload, over any [`TxnBackend`]: accounts spread over
//! several regions, clients moving money between them in Percolator
//! transactions, a checker reading every balance at a fresh timestamp
//! (the total must never change), a client killed mid-commit every round
//! (its locks must be gone once the next reader has passed), and a ledger
//! of committed transfers that must explain every final balance.
//!
//! Regions and keys: TinyKV keeps a key's lock under the plain key but its
//! data and writes under the memcomparable-encoded key, and the split
//! checker cuts regions at encoded keys. A boundary at an account's
//! encoded key would put the account's lock in one region and its data in
//! the next, and every transaction on it would fail with KeyNotInRegion.
//! So the regions are made before the accounts exist, by raw filler
//! values between the accounts' keys (the MVCC reads never see them), and
//! the region size keeps the accounts' history from splitting them again.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kv::server::txn_client::{DieAt, TxnBackend, TxnClient, TxnError, TxnStats, TxnStatus};
pub use test_cluster::Rng;

pub const ACCOUNTS: usize = 32;
pub const INITIAL: u64 = 1000;
/// Every account key is in `[START, END)`.
pub const START: &[u8] = b"acc";
pub const END: &[u8] = b"acd";

pub fn account(i: usize) -> Vec<u8> {
    format!("acc{i:03}").into_bytes()
}

/// Region sizes for the filler load below: regions are cut at `SPLIT`
/// bytes, once one is over `MAX`.
pub const SPLIT: u64 = 16 * 1024;
pub const MAX: u64 = 512 * 1024;
/// Bytes of filler after each account: four accounts a region.
const FILLER: usize = 4 * 1024;

/// The raw puts that make the regions: a filler right after each account
/// key (so region boundaries fall between accounts, at plain keys), and a
/// tail beyond the accounts big enough that the first region is cut, at
/// `SPLIT` bytes each time, until the remainder is below `MAX`.
pub fn filler_load() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut puts: Vec<(Vec<u8>, Vec<u8>)> = (0..ACCOUNTS)
        .map(|i| (format!("acc{i:03}~").into_bytes(), vec![b'f'; FILLER]))
        .collect();
    let tail = (MAX as usize + 2 * ACCOUNTS * FILLER) / (32 * 1024);
    puts.extend((0..tail).map(|i| (format!("zzz{i:04}").into_bytes(), vec![b't'; 32 * 1024])));
    debug_assert_eq!(puts[ACCOUNTS].0, TAIL);
    puts
}

/// The first key of the tail.
pub const TAIL: &[u8] = b"zzz0000";

/// How many regions the accounts are spread over once the regions are
/// made, given each account's region and the tail's: `None` while the
/// last account still shares a region with the tail (that region is over
/// `MAX` and will be cut again; once the accounts are written, a cut
/// could fall on one of their encoded keys). Every region cut off to the
/// left holds about `SPLIT` bytes, far below `MAX`.
fn spread(account_regions: &[u64], tail_region: u64) -> Option<usize> {
    if account_regions.len() < ACCOUNTS || account_regions.last() == Some(&tail_region) {
        return None;
    }
    let mut ids = account_regions.to_vec();
    ids.dedup();
    Some(ids.len())
}

/// The accounts must span at least this many regions.
const MIN_REGIONS: usize = 4;

/// Whether the regions the bank needs are made (see [`spread`]), given
/// each account's region found so far and the tail's; says so when they
/// are. Panics once `deadline` has passed without them.
pub fn regions_made(account_regions: &[u64], tail_region: u64, deadline: Instant) -> bool {
    match spread(account_regions, tail_region) {
        Some(n) if n >= MIN_REGIONS => {
            eprintln!("bank: the accounts span {n} regions");
            true
        }
        n => {
            assert!(
                Instant::now() < deadline,
                "the accounts' regions are not made in time ({n:?})"
            );
            false
        }
    }
}

fn encode(balance: u64) -> Vec<u8> {
    balance.to_string().into_bytes()
}

fn decode(v: &[u8]) -> u64 {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a balance: {v:?}"))
}

/// `TINYKV_SEED` if set, else the clock; printed, so a failure replays.
pub fn seed() -> u64 {
    let seed = std::env::var("TINYKV_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("bank: seed {seed} (TINYKV_SEED={seed} replays the workload's choices)");
    seed
}

#[derive(Clone, Copy, Debug)]
pub struct Transfer {
    pub from: usize,
    pub to: usize,
    pub amount: u64,
    pub start_ts: u64,
}

/// What the clients know about their transfers.
#[derive(Default)]
pub struct Ledger {
    pub committed: Vec<Transfer>,
    /// Transfers whose primary commit got no answer, with their primary.
    pub undetermined: Vec<(Transfer, Vec<u8>)>,
    pub aborted: u64,
    /// Attempts that failed before committing anything (a read or a
    /// prewrite that could not reach a store in time).
    pub failed: u64,
    pub stats: Vec<TxnStats>,
    /// Time of committed transfers (begin to commit acknowledged).
    pub latencies: Vec<Duration>,
}

/// How a bank client is made, on its own thread's runtime.
pub trait Connect: Send + Sync + 'static {
    type Backend: TxnBackend + 'static;
    fn connect(&self) -> impl Future<Output = Self::Backend>;
}

pub async fn client<C: Connect>(conn: &C, lock_ttl: u64) -> TxnClient<C::Backend> {
    let mut c = TxnClient::new(conn.connect().await);
    c.lock_ttl = lock_ttl;
    c
}

/// Every account gets `INITIAL`, a few accounts a transaction.
pub async fn load_accounts<B: TxnBackend>(c: &mut TxnClient<B>) {
    for chunk in (0..ACCOUNTS).collect::<Vec<_>>().chunks(8) {
        loop {
            let mut txn = c.begin().await.expect("begin");
            for &i in chunk {
                txn.put(&account(i), &encode(INITIAL));
            }
            match c.commit(&txn).await {
                Ok(_) => break,
                Err(e) => eprintln!("bank: loading accounts {chunk:?}: {e}; again"),
            }
        }
    }
}

/// Every balance as of a fresh timestamp (locks met are resolved).
pub async fn snapshot<B: TxnBackend>(c: &mut TxnClient<B>) -> Result<Vec<u64>, TxnError> {
    let ts = c.timestamp().await?;
    let pairs = c.scan_at(ts, START, END, ACCOUNTS + 1).await?;
    let keys: Vec<Vec<u8>> = pairs.iter().map(|(k, _)| k.clone()).collect();
    let expected: Vec<Vec<u8>> = (0..ACCOUNTS).map(account).collect();
    assert_eq!(
        keys, expected,
        "a snapshot at {ts} does not hold exactly the accounts"
    );
    Ok(pairs.iter().map(|(_, v)| decode(v)).collect())
}

pub fn check_total(balances: &[u64], seed: u64, when: &str) {
    let total: u64 = balances.iter().sum();
    assert_eq!(
        total,
        INITIAL * ACCOUNTS as u64,
        "{when}: the total changed (seed {seed}); balances {balances:?}"
    );
}

/// One transfer attempt: read two balances, move a little money, commit.
/// The transfer and how its commit ended; `Err` if it failed before the
/// commit.
async fn transfer<B: TxnBackend>(
    c: &mut TxnClient<B>,
    rng: &mut Rng,
    die: Option<DieAt>,
) -> Result<(Transfer, Result<Option<u64>, TxnError>), TxnError> {
    let from = rng.below(ACCOUNTS as u64) as usize;
    let to = (from + 1 + rng.below(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS;
    let mut txn = c.begin().await?;
    let read = |v: Option<Vec<u8>>, i: usize| {
        decode(&v.unwrap_or_else(|| panic!("account {i} is missing")))
    };
    let a = read(c.get(&txn, &account(from)).await?, from);
    let b = read(c.get(&txn, &account(to)).await?, to);
    let amount = (1 + rng.below(10)).min(a);
    txn.put(&account(from), &encode(a - amount));
    txn.put(&account(to), &encode(b + amount));
    let t = Transfer {
        from,
        to,
        amount,
        start_ts: txn.start_ts(),
    };
    let outcome = match die {
        None => c.commit(&txn).await.map(Some),
        Some(at) => c.commit_and_die(&txn, at).await,
    };
    Ok((t, outcome))
}

/// The shape of one run.
pub struct Workload {
    pub clients: usize,
    /// Rounds of chaos, each followed by a killed client.
    pub rounds: usize,
    /// Invariant checks the run must make (it runs on until it has).
    pub min_checks: u64,
    /// Without chaos: how long the clients run.
    pub duration: Duration,
    pub lock_ttl: u64,
    pub seed: u64,
}

impl Workload {
    /// The chaos run of both clusters' bank tests: 8 clients, 10 rounds of
    /// faults, at least 100 invariant checks.
    pub fn chaos(seed: u64) -> Self {
        Workload {
            clients: 8,
            rounds: 10,
            min_checks: 100,
            duration: Duration::ZERO,
            lock_ttl: 1000,
            seed,
        }
    }

    /// The throughput measurement: 16 clients for 20 s, nothing failing.
    pub fn throughput(seed: u64) -> Self {
        Workload {
            clients: 16,
            rounds: 0,
            min_checks: 1,
            duration: Duration::from_secs(20),
            lock_ttl: 3000,
            seed,
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Report {
    pub elapsed: Duration,
    pub checks: u64,
    pub committed: usize,
    pub aborted: u64,
    pub failed: u64,
    pub undetermined: usize,
    pub killed: usize,
    pub stats: TxnStats,
    pub p50: Duration,
    pub p99: Duration,
}

impl Report {
    /// Prints the report of a chaos run and fails the test unless it made
    /// its checks and committed something.
    pub fn assert_chaos_run(&self, what: &str) {
        self.print(what);
        assert!(self.checks >= 100, "{what}: {} checks", self.checks);
        assert!(self.committed > 0, "{what}: no transfer committed");
    }

    pub fn print(&self, what: &str) {
        let secs = self.elapsed.as_secs_f64();
        let attempts = self.committed as u64 + self.aborted + self.failed;
        let line = format!(
            "{what}: {} invariant checks, {} transfers committed ({:.0}/s), {} aborted \
             ({:.1}% of attempts), {} failed, {} undetermined, {} clients killed, in {secs:.1} s; \
             commit latency p50 {:?} p99 {:?}; {:?}",
            self.checks,
            self.committed,
            self.committed as f64 / secs,
            self.aborted,
            100.0 * self.aborted as f64 / attempts.max(1) as f64,
            self.failed,
            self.undetermined,
            self.killed,
            self.p50,
            self.p99,
            self.stats,
        );
        let st = &self.stats;
        let per = |d: Duration| d.as_secs_f64() * 1e3 / attempts.max(1) as f64;
        let line = format!(
            "{line}\n{what}: client time per attempt (all threads, checker included): \
             tso {:.1} ms, reads {:.1} ms, prewrite {:.1} ms, commit primary {:.1} ms, \
             commit secondaries {:.1} ms, rollback {:.1} ms",
            per(st.time_tso),
            per(st.time_read),
            per(st.time_prewrite),
            per(st.time_commit_primary),
            per(st.time_commit_secondaries),
            per(st.time_rollback),
        );
        eprintln!("{line}");
        // Runs whose output is not kept (repeat-test) can still be counted.
        if let Ok(path) = std::env::var("TINYKV_BANK_LOG") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(f, "{line}");
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A client thread: transfers until `stop`, into `ledger`.
fn spawn_worker<C: Connect>(
    conn: Arc<C>,
    w: &Workload,
    i: usize,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
) -> std::thread::JoinHandle<()> {
    let (seed, ttl) = (
        w.seed ^ (i as u64 + 1).wrapping_mul(0x1000_0001),
        w.lock_ttl,
    );
    std::thread::spawn(move || {
        runtime().block_on(async {
            let mut c = client(conn.as_ref(), ttl).await;
            let mut rng = Rng::new(seed);
            while !stop.load(Ordering::Relaxed) {
                let began = Instant::now();
                let result = transfer(&mut c, &mut rng, None).await;
                let mut l = ledger.lock().unwrap();
                match result {
                    Ok((t, Ok(_))) => {
                        l.committed.push(t);
                        l.latencies.push(began.elapsed());
                    }
                    Ok((_, Err(TxnError::Aborted { .. }))) => l.aborted += 1,
                    Ok((t, Err(TxnError::Undetermined { primary, .. }))) => {
                        l.undetermined.push((t, primary))
                    }
                    Ok((_, Err(TxnError::Other(_)))) | Err(_) => l.failed += 1,
                }
            }
            ledger.lock().unwrap().stats.push(c.stats);
        })
    })
}

/// The checker thread: reads every balance at a fresh timestamp, again
/// and again, until `stop`; counts its checks in `checks`.
fn spawn_checker<C: Connect>(
    conn: Arc<C>,
    w: &Workload,
    stop: Arc<AtomicBool>,
    checks: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    let (seed, ttl) = (w.seed, w.lock_ttl);
    std::thread::spawn(move || {
        runtime().block_on(async {
            let mut c = client(conn.as_ref(), ttl).await;
            while !stop.load(Ordering::Relaxed) {
                match snapshot(&mut c).await {
                    Ok(balances) => {
                        check_total(&balances, seed, "checker");
                        checks.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => eprintln!("bank: checker: {e}; again"),
                }
            }
        })
    })
}

/// Kills a client mid-commit (after its prewrites on even rounds, after
/// its primary's commit on odd ones), waits for the checker's next full
/// read, and checks that it left none of the dead transaction's locks.
async fn kill_a_client<B: TxnBackend>(
    c: &mut TxnClient<B>,
    rng: &mut Rng,
    round: usize,
    checks: &AtomicU64,
    ledger: &Mutex<Ledger>,
    seed: u64,
) {
    let at = if round.is_multiple_of(2) {
        DieAt::AfterPrewrite
    } else {
        DieAt::AfterPrimaryCommit
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let dead = loop {
        assert!(
            Instant::now() < deadline,
            "round {round}: no client could even be killed (seed {seed})"
        );
        match transfer(c, rng, Some(at)).await {
            Ok((t, Ok(commit_ts))) => {
                assert_eq!(commit_ts.is_some(), at == DieAt::AfterPrimaryCommit);
                if commit_ts.is_some() {
                    ledger.lock().unwrap().committed.push(t);
                }
                break t;
            }
            Ok((t, Err(TxnError::Undetermined { primary, .. }))) => {
                ledger.lock().unwrap().undetermined.push((t, primary));
            }
            _ => {}
        }
    };
    // The checker's next read starts after the death: wait for it to end.
    let seen = checks.load(Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(40);
    while checks.load(Ordering::SeqCst) < seen + 2 {
        assert!(
            Instant::now() < deadline,
            "round {round}: the checker made no read in 40 s after a client died (seed {seed})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ts = c.timestamp().await.expect("timestamp");
    let left: Vec<_> = c
        .locks_at(ts, START, END)
        .await
        .expect("probe locks")
        .into_iter()
        .filter(|l| l.lock_version == dead.start_ts)
        .collect();
    assert!(
        left.is_empty(),
        "round {round}: the client killed {at:?} (txn {}) still holds {left:?} \
         after the next reader (seed {seed})",
        dead.start_ts
    );
}

/// Runs the workload: `chaos(round, rng)` on this thread once a round
/// (it may block: the clients go on meanwhile), a killed client after it;
/// `heal()` when the rounds are done. Then reconciles every balance with
/// the ledger.
pub fn run<C: Connect>(
    conn: Arc<C>,
    w: Workload,
    mut chaos: impl FnMut(usize, &mut Rng),
    heal: impl FnOnce(),
) -> Report {
    let rt = runtime();
    let mut main = rt.block_on(client(conn.as_ref(), w.lock_ttl));
    rt.block_on(load_accounts(&mut main));
    let stop = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicU64::new(0));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let started = Instant::now();
    let mut threads: Vec<_> = (0..w.clients)
        .map(|i| spawn_worker(conn.clone(), &w, i, stop.clone(), ledger.clone()))
        .collect();
    threads.push(spawn_checker(
        conn.clone(),
        &w,
        stop.clone(),
        checks.clone(),
    ));
    let mut rng = Rng::new(w.seed);
    for round in 0..w.rounds {
        chaos(round, &mut rng);
        rt.block_on(kill_a_client(
            &mut main, &mut rng, round, &checks, &ledger, w.seed,
        ));
        // And a check of this thread's own after every round.
        let balances = rt.block_on(snapshot(&mut main)).expect("round snapshot");
        check_total(&balances, w.seed, &format!("after round {round}"));
        checks.fetch_add(1, Ordering::SeqCst);
    }
    // With rounds, run on until enough checks were made; without, for
    // `duration`.
    let until = Instant::now()
        + if w.rounds > 0 {
            Duration::from_secs(30)
        } else {
            w.duration
        };
    loop {
        let made = checks.load(Ordering::SeqCst);
        let now = Instant::now();
        if w.rounds > 0 && made >= w.min_checks {
            break;
        }
        if now >= until {
            assert!(
                made >= w.min_checks,
                "only {made} checks in time (seed {})",
                w.seed
            );
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        t.join().expect("a bank thread panicked");
    }
    heal();
    let mut ledger = std::mem::take(&mut *ledger.lock().unwrap());
    rt.block_on(reconcile(&mut main, &mut ledger, w.seed));
    let mut stats = main.stats;
    for s in &ledger.stats {
        stats.add(s);
    }
    ledger.latencies.sort();
    let pct = |p: usize| {
        let n = ledger.latencies.len();
        ledger
            .latencies
            .get((n * p / 100).min(n.saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Report {
        elapsed,
        checks: checks.load(Ordering::SeqCst),
        committed: ledger.committed.len(),
        aborted: ledger.aborted,
        failed: ledger.failed,
        undetermined: ledger.undetermined.len(),
        killed: w.rounds,
        stats,
        p50: pct(50),
        p99: pct(99),
    }
}

/// Settles the undetermined transfers by asking their primaries, then
/// reads every balance and compares it with the ledger's account of it.
async fn reconcile<B: TxnBackend>(c: &mut TxnClient<B>, ledger: &mut Ledger, seed: u64) {
    for (t, primary) in std::mem::take(&mut ledger.undetermined) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match c
                .txn_status(&primary, t.start_ts)
                .await
                .expect("txn status")
            {
                TxnStatus::Committed(_) => ledger.committed.push(t),
                TxnStatus::RolledBack => {}
                TxnStatus::Locked(_) => {
                    assert!(Instant::now() < deadline, "txn {} stays locked", t.start_ts);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            }
            break;
        }
    }
    let mut expected = vec![INITIAL as i64; ACCOUNTS];
    for t in &ledger.committed {
        expected[t.from] -= t.amount as i64;
        expected[t.to] += t.amount as i64;
    }
    let got = snapshot(c).await.expect("final snapshot");
    check_total(&got, seed, "at the end");
    for (i, (&e, &g)) in expected.iter().zip(&got).enumerate() {
        assert_eq!(
            e,
            g as i64,
            "account {i}: {} committed transfers explain {e}, the store says {g} (seed {seed})",
            ledger.committed.len()
        );
    }
    let ts = c.timestamp().await.expect("timestamp");
    let left = c.locks_at(ts, START, END).await.expect("probe locks");
    assert!(
        left.is_empty(),
        "locks left after the final read: {left:?} (seed {seed})"
    );
}
