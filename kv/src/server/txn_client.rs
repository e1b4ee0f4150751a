//! A Percolator client: transactions over the `Kv*` API of a replicated
//! cluster.
//!
//! A transaction takes its start timestamp from the scheduler's TSO and
//! buffers its writes. Commit is two-phase: prewrite the primary key (the
//! first in key order), then the others grouped by region; take a commit
//! timestamp; commit the primary, then the others. The transaction is
//! committed exactly when the primary's commit is acknowledged: a primary
//! commit whose answer never came is reported as
//! [`TxnError::Undetermined`], to be settled with [`TxnClient::txn_status`]
//! (which asks the primary), never guessed. Secondaries left locked by a
//! client that died are finished by whoever reads them next: a reader that
//! meets a lock asks the lock's primary how its transaction stands (rolling
//! it back if its TTL has run out) and resolves the lock accordingly.
//!
//! The logic is written once over [`TxnBackend`], which says how a request
//! reaches a store: [`GrpcBackend`] over the network, or an in-process
//! backend for the test cluster (in the integration tests).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;

use proto::errorpb;
use proto::kvrpcpb::*;
use proto::metapb::{Peer, Region};
use proto::schedulerpb::TsoRequest;
use proto::tinykvpb::tiny_kv_client::TinyKvClient;
use tokio::time::{sleep, Instant};
use tonic::transport::Channel;

use super::client::Connections;
use crate::transaction::mvcc::PHYSICAL_SHIFT_BITS;

/// One transactional request, addressed to a region by its context.
#[derive(Debug, Clone)]
pub enum KvRequest {
    Get(GetRequest),
    Scan(ScanRequest),
    Prewrite(PrewriteRequest),
    Commit(CommitRequest),
    CheckTxnStatus(CheckTxnStatusRequest),
    BatchRollback(BatchRollbackRequest),
    ResolveLock(ResolveLockRequest),
}

/// A store's answer to a [`KvRequest`] of the same kind.
#[derive(Debug, Clone)]
pub enum KvResponse {
    Get(GetResponse),
    Scan(ScanResponse),
    Prewrite(PrewriteResponse),
    Commit(CommitResponse),
    CheckTxnStatus(CheckTxnStatusResponse),
    BatchRollback(BatchRollbackResponse),
    ResolveLock(ResolveLockResponse),
}

impl KvResponse {
    fn region_error(&self) -> Option<&errorpb::Error> {
        match self {
            KvResponse::Get(r) => r.region_error.as_ref(),
            KvResponse::Scan(r) => r.region_error.as_ref(),
            KvResponse::Prewrite(r) => r.region_error.as_ref(),
            KvResponse::Commit(r) => r.region_error.as_ref(),
            KvResponse::CheckTxnStatus(r) => r.region_error.as_ref(),
            KvResponse::BatchRollback(r) => r.region_error.as_ref(),
            KvResponse::ResolveLock(r) => r.region_error.as_ref(),
        }
    }
}

/// How the client reaches the cluster. `call` failing means no answer (a
/// store down or unreachable, a timeout): the request may or may not have
/// taken effect.
pub trait TxnBackend: Send {
    /// A timestamp greater than every one handed out before.
    fn timestamp(&mut self) -> impl Future<Output = anyhow::Result<u64>> + Send;
    /// The region holding `key` and, if known, its leader, as the
    /// scheduler sees them.
    fn locate(
        &mut self,
        key: &[u8],
    ) -> impl Future<Output = anyhow::Result<(Region, Option<Peer>)>> + Send;
    fn call(
        &mut self,
        store_id: u64,
        req: KvRequest,
    ) -> impl Future<Output = anyhow::Result<KvResponse>> + Send;
}

/// Why a transaction did not commit, or might not have.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    /// The transaction lost to another (a write conflict, a live lock, a
    /// rollback by a reader); its locks are rolled back. Retry with a new
    /// transaction.
    #[error("transaction {start_ts} aborted: {reason}")]
    Aborted { start_ts: u64, reason: String },
    /// The primary's commit got no answer: the transaction may have
    /// committed. [`TxnClient::txn_status`] on the primary tells.
    #[error("transaction {start_ts}: the commit of primary {primary:?} got no answer")]
    Undetermined { primary: Vec<u8>, start_ts: u64 },
    /// The cluster could not be reached in time, or answered nonsense.
    #[error("{0}")]
    Other(String),
}

impl TxnError {
    fn other(e: impl std::fmt::Display) -> Self {
        TxnError::Other(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, TxnError>;

/// How a transaction stands, as its primary key tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnStatus {
    Committed(u64),
    RolledBack,
    /// Still locked, with this TTL (ms) from its start.
    Locked(u64),
}

/// Where [`TxnClient::commit_and_die`] stops, as a client killed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DieAt {
    /// Every key is prewritten; nothing is committed.
    AfterPrewrite,
    /// The primary is committed (so the transaction is); the secondaries
    /// are still locked.
    AfterPrimaryCommit,
}

/// A transaction: a start timestamp and buffered writes.
#[derive(Debug, Clone)]
pub struct Txn {
    start_ts: u64,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Txn {
    pub fn start_ts(&self) -> u64 {
        self.start_ts
    }

    pub fn put(&mut self, key: &[u8], value: &[u8]) {
        self.writes.insert(key.to_vec(), Some(value.to_vec()));
    }

    pub fn delete(&mut self, key: &[u8]) {
        self.writes.insert(key.to_vec(), None);
    }

    /// This transaction's own write of `key`, if it made one (`Some(None)`
    /// for a delete).
    pub fn buffered(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.writes.get(key).map(|v| v.as_deref())
    }

    /// The key whose commit decides the transaction.
    pub fn primary(&self) -> Option<&[u8]> {
        self.writes.keys().next().map(Vec::as_slice)
    }

    pub fn keys(&self) -> Vec<Vec<u8>> {
        self.writes.keys().cloned().collect()
    }

    fn mutation(&self, key: &[u8]) -> Mutation {
        match self.writes.get(key) {
            Some(Some(value)) => Mutation {
                op: Op::Put as i32,
                key: key.to_vec(),
                value: value.clone(),
            },
            _ => Mutation {
                op: Op::Del as i32,
                key: key.to_vec(),
                value: Vec::new(),
            },
        }
    }
}

/// Counters of what the client met along the way.
#[derive(Debug, Default, Clone, Copy)]
pub struct TxnStats {
    /// Region errors answered (not leader, stale epoch, ...), all kinds.
    pub region_errors: u64,
    /// Of which NotLeader.
    pub not_leader: u64,
    /// Of which StaleCommand.
    pub stale_command: u64,
    /// Calls without an answer (store down, timeout).
    pub no_answer: u64,
    /// Locks of other transactions resolved (committed or rolled back).
    pub locks_resolved: u64,
    /// Waits for a live lock.
    pub lock_waits: u64,
    /// Where the time went, summed over operations: getting timestamps,
    /// reads (with the locks they resolve), prewrites, the primary's
    /// commit, the secondaries' commit, rollbacks of aborted transactions.
    pub time_tso: Duration,
    pub time_read: Duration,
    pub time_prewrite: Duration,
    pub time_commit_primary: Duration,
    pub time_commit_secondaries: Duration,
    pub time_rollback: Duration,
}

impl TxnStats {
    /// Adds `other`'s counts and times to these.
    pub fn add(&mut self, other: &TxnStats) {
        self.region_errors += other.region_errors;
        self.not_leader += other.not_leader;
        self.stale_command += other.stale_command;
        self.no_answer += other.no_answer;
        self.locks_resolved += other.locks_resolved;
        self.lock_waits += other.lock_waits;
        self.time_tso += other.time_tso;
        self.time_read += other.time_read;
        self.time_prewrite += other.time_prewrite;
        self.time_commit_primary += other.time_commit_primary;
        self.time_commit_secondaries += other.time_commit_secondaries;
        self.time_rollback += other.time_rollback;
    }
}

/// What one request to a region came to. Lives only until matched, so
/// its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Routed {
    Answer(KvResponse),
    /// The region split, merged or moved: look the keys up again.
    RegionChanged,
}

/// Pause after an error that retrying at once would not fix.
const BACKOFF: Duration = Duration::from_millis(20);

pub struct TxnClient<B> {
    backend: B,
    /// Regions seen, by start key; dropped when a store says otherwise.
    regions: BTreeMap<Vec<u8>, Region>,
    leaders: HashMap<u64, Peer>,
    /// The lock TTL prewrites ask for, in milliseconds.
    pub lock_ttl: u64,
    /// How long one operation keeps retrying before it gives up.
    pub deadline: Duration,
    pub stats: TxnStats,
}

impl<B: TxnBackend> TxnClient<B> {
    pub fn new(backend: B) -> Self {
        TxnClient {
            backend,
            regions: BTreeMap::new(),
            leaders: HashMap::new(),
            lock_ttl: 3000,
            deadline: Duration::from_secs(30),
            stats: TxnStats::default(),
        }
    }

    pub fn backend(&mut self) -> &mut B {
        &mut self.backend
    }

    pub async fn timestamp(&mut self) -> Result<u64> {
        let start = Instant::now();
        let ts = self.timestamp_inner(start).await;
        self.stats.time_tso += start.elapsed();
        ts
    }

    async fn timestamp_inner(&mut self, start: Instant) -> Result<u64> {
        loop {
            match self.backend.timestamp().await {
                Ok(ts) => return Ok(ts),
                Err(e) if start.elapsed() > self.deadline => {
                    return Err(TxnError::Other(format!("no timestamp: {e}")))
                }
                Err(_) => sleep(BACKOFF).await,
            }
        }
    }

    pub async fn begin(&mut self) -> Result<Txn> {
        Ok(Txn {
            start_ts: self.timestamp().await?,
            writes: BTreeMap::new(),
        })
    }

    // ---- routing ----------------------------------------------------

    /// An error once an operation that began at `start` has used up its
    /// deadline.
    fn check_deadline(&self, start: Instant, what: &str) -> Result<()> {
        if start.elapsed() > self.deadline {
            return Err(TxnError::Other(format!(
                "{what}: gave up after {:?}",
                self.deadline
            )));
        }
        Ok(())
    }

    async fn region_of(&mut self, key: &[u8]) -> Result<Region> {
        if let Some((_, r)) = self.regions.range(..=key.to_vec()).next_back() {
            if r.end_key.is_empty() || key < r.end_key.as_slice() {
                return Ok(r.clone());
            }
        }
        let start = Instant::now();
        let (region, leader) = loop {
            match self.backend.locate(key).await {
                Ok(found) => break found,
                Err(e) if start.elapsed() > self.deadline => {
                    return Err(TxnError::Other(format!("no region for {key:?}: {e}")))
                }
                Err(_) => sleep(BACKOFF).await,
            }
        };
        if let Some(l) = leader {
            self.leaders.entry(region.id).or_insert(l);
        }
        self.cache_region(region.clone());
        Ok(region)
    }

    /// Caches `region`, dropping whatever the cache held over its range.
    fn cache_region(&mut self, region: Region) {
        let stale: Vec<Vec<u8>> = self
            .regions
            .values()
            .filter(|r| overlaps(r, &region))
            .map(|r| r.start_key.clone())
            .collect();
        for k in stale {
            if let Some(old) = self.regions.remove(&k) {
                if old.id != region.id {
                    self.leaders.remove(&old.id);
                }
            }
        }
        self.regions.insert(region.start_key.clone(), region);
    }

    fn forget_region(&mut self, region_id: u64) {
        self.leaders.remove(&region_id);
        self.regions.retain(|_, r| r.id != region_id);
    }

    /// The peer after `peer` in the region, to try when `peer` is silent.
    fn next_peer(region: &Region, peer: Option<Peer>) -> Option<Peer> {
        let n = region.peers.len();
        let i = peer.and_then(|p| region.peers.iter().position(|q| *q == p));
        region
            .peers
            .get(i.map_or(0, |i| (i + 1) % n.max(1)))
            .copied()
    }

    /// Sends the request `make` builds to `region`'s leader, following
    /// NotLeader hints and trying the next peer when one is silent, until a
    /// store answers it or the region turns out to have changed. A stale
    /// command is retried as is: it was not applied.
    async fn send(
        &mut self,
        region: &Region,
        make: impl Fn(Context) -> KvRequest,
    ) -> Result<Routed> {
        let start = Instant::now();
        let mut silent = 0;
        loop {
            if start.elapsed() > self.deadline {
                return Err(TxnError::Other(format!(
                    "region {}: no answer in {:?}",
                    region.id, self.deadline
                )));
            }
            let peer = match self.leaders.get(&region.id) {
                Some(p) => *p,
                None => Self::next_peer(region, None)
                    .ok_or_else(|| TxnError::other(format!("region {} has no peers", region.id)))?,
            };
            let ctx = Context {
                region_id: region.id,
                region_epoch: region.region_epoch,
                peer: Some(peer),
                term: 0,
            };
            let resp = match self.backend.call(peer.store_id, make(ctx)).await {
                Ok(resp) => resp,
                Err(_) => {
                    self.stats.no_answer += 1;
                    silent += 1;
                    // After a round of silent peers the region itself may
                    // be out of date.
                    if silent >= region.peers.len().max(1) {
                        self.forget_region(region.id);
                        sleep(BACKOFF * 5).await;
                        return Ok(Routed::RegionChanged);
                    }
                    if let Some(next) = Self::next_peer(region, Some(peer)) {
                        self.leaders.insert(region.id, next);
                    }
                    sleep(BACKOFF).await;
                    continue;
                }
            };
            let Some(e) = resp.region_error() else {
                self.leaders.insert(region.id, peer);
                return Ok(Routed::Answer(resp));
            };
            self.stats.region_errors += 1;
            if let Some(nl) = &e.not_leader {
                self.stats.not_leader += 1;
                match nl.leader {
                    Some(l) if region.peers.contains(&l) && l != peer => {
                        self.leaders.insert(region.id, l);
                    }
                    // A leader this copy of the region does not know of:
                    // the region's peers changed.
                    Some(l) if l != peer => {
                        self.forget_region(region.id);
                        return Ok(Routed::RegionChanged);
                    }
                    _ => {
                        if let Some(next) = Self::next_peer(region, Some(peer)) {
                            self.leaders.insert(region.id, next);
                        }
                        sleep(BACKOFF).await;
                    }
                }
                continue;
            }
            if e.stale_command.is_some() {
                self.stats.stale_command += 1;
                sleep(BACKOFF).await;
                continue;
            }
            // Stale epoch, key not in region, region not found, ...
            self.forget_region(region.id);
            match &e.epoch_not_match {
                // The store says what the range holds now: no need to wait
                // for the scheduler to hear of it.
                Some(m) if !m.current_regions.is_empty() => {
                    for r in m.current_regions.clone() {
                        self.cache_region(r);
                    }
                }
                _ => sleep(BACKOFF).await,
            }
            return Ok(Routed::RegionChanged);
        }
    }

    /// `keys` (sorted) by region, in key order.
    async fn group(&mut self, keys: &[Vec<u8>]) -> Result<Vec<(Region, Vec<Vec<u8>>)>> {
        let mut groups: Vec<(Region, Vec<Vec<u8>>)> = Vec::new();
        for key in keys {
            let region = self.region_of(key).await?;
            match groups.iter_mut().find(|(r, _)| r.id == region.id) {
                Some((_, ks)) => ks.push(key.clone()),
                None => groups.push((region, vec![key.clone()])),
            }
        }
        Ok(groups)
    }

    // ---- reads ------------------------------------------------------

    /// The value of `key` as of `ts`, resolving (or waiting out) the locks
    /// of other transactions met on the way.
    pub async fn get_at(&mut self, ts: u64, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let start = Instant::now();
        let value = self.get_inner(start, ts, key).await;
        self.stats.time_read += start.elapsed();
        value
    }

    async fn get_inner(&mut self, start: Instant, ts: u64, key: &[u8]) -> Result<Option<Vec<u8>>> {
        loop {
            if start.elapsed() > self.deadline {
                return Err(TxnError::Other(format!("get {key:?}: gave up")));
            }
            let region = self.region_of(key).await?;
            let make = |ctx| {
                KvRequest::Get(GetRequest {
                    context: Some(ctx),
                    key: key.to_vec(),
                    version: ts,
                })
            };
            let resp = match self.send(&region, make).await? {
                Routed::Answer(KvResponse::Get(r)) => r,
                Routed::Answer(other) => return Err(unexpected(other)),
                Routed::RegionChanged => continue,
            };
            match resp.error {
                None if resp.not_found => return Ok(None),
                None => return Ok(Some(resp.value)),
                Some(KeyError {
                    locked: Some(lock), ..
                }) => {
                    if !self.resolve(&lock).await? {
                        sleep(BACKOFF).await;
                    }
                }
                Some(e) => return Err(TxnError::Other(format!("get {key:?}: {e:?}"))),
            }
        }
    }

    /// `key` as `txn` sees it: its own write, else the value at its start.
    pub async fn get(&mut self, txn: &Txn, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match txn.buffered(key) {
            Some(v) => Ok(v.map(<[u8]>::to_vec)),
            None => self.get_at(txn.start_ts, key).await,
        }
    }

    /// Up to `limit` pairs with keys in `[start, end)` (`end` empty: no
    /// bound) as of `ts`, region after region, resolving locks met.
    pub async fn scan_at(
        &mut self,
        ts: u64,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let began = Instant::now();
        let pairs = self.scan_inner(began, ts, start, end, limit).await;
        self.stats.time_read += began.elapsed();
        pairs
    }

    async fn scan_inner(
        &mut self,
        began: Instant,
        ts: u64,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        let mut from = start.to_vec();
        while out.len() < limit && (end.is_empty() || from.as_slice() < end) {
            if began.elapsed() > self.deadline {
                return Err(TxnError::Other(format!("scan from {from:?}: gave up")));
            }
            let region = self.region_of(&from).await?;
            let want = limit - out.len();
            let (pairs, done) = match self.scan_region(&region, ts, &from, end, want).await? {
                Some(found) => found,
                None => continue,
            };
            let mut locks: Vec<LockInfo> = pairs
                .iter()
                .filter_map(|p| p.error.as_ref().and_then(|e| e.locked.clone()))
                .collect();
            if !locks.is_empty() {
                // One resolution a transaction: it covers all of its
                // locks in the region. One pause if any is still live.
                locks.sort_by_key(|l| l.lock_version);
                locks.dedup_by_key(|l| l.lock_version);
                let mut live = false;
                for lock in &locks {
                    live |= !self.resolve(lock).await?;
                }
                if live {
                    sleep(BACKOFF).await;
                }
                continue;
            }
            out.extend(pairs.into_iter().map(|p| (p.key, p.value)));
            if done || region.end_key.is_empty() {
                break;
            }
            from = region.end_key.clone();
        }
        Ok(out)
    }

    /// One region's part of a scan: its pairs below `end`, and whether the
    /// scan is over (the limit or `end` reached). `None`: the region
    /// changed.
    async fn scan_region(
        &mut self,
        region: &Region,
        ts: u64,
        from: &[u8],
        end: &[u8],
        want: usize,
    ) -> Result<Option<(Vec<KvPair>, bool)>> {
        let make = |ctx| {
            KvRequest::Scan(ScanRequest {
                context: Some(ctx),
                start_key: from.to_vec(),
                limit: want.min(u32::MAX as usize) as u32,
                version: ts,
            })
        };
        let resp = match self.send(region, make).await? {
            Routed::Answer(KvResponse::Scan(r)) => r,
            Routed::Answer(other) => return Err(unexpected(other)),
            Routed::RegionChanged => return Ok(None),
        };
        let full = resp.pairs.len() >= want;
        let mut pairs = resp.pairs;
        let before = pairs.len();
        pairs.retain(|p| end.is_empty() || p.key.as_slice() < end);
        let past_end = pairs.len() < before;
        Ok(Some((pairs, full || past_end)))
    }

    /// The locks at or below `ts` on keys in `[start, end)`, left where
    /// they are (a probe for tests: who still holds what).
    pub async fn locks_at(&mut self, ts: u64, start: &[u8], end: &[u8]) -> Result<Vec<LockInfo>> {
        let mut locks = Vec::new();
        let mut from = start.to_vec();
        let began = Instant::now();
        while end.is_empty() || from.as_slice() < end {
            self.check_deadline(began, "probe locks")?;
            let region = self.region_of(&from).await?;
            let Some((pairs, _)) = self
                .scan_region(&region, ts, &from, end, u32::MAX as usize)
                .await?
            else {
                continue;
            };
            locks.extend(
                pairs
                    .into_iter()
                    .filter_map(|p| p.error.and_then(|e| e.locked)),
            );
            if region.end_key.is_empty() {
                break;
            }
            from = region.end_key.clone();
        }
        Ok(locks)
    }

    // ---- lock resolution --------------------------------------------

    /// How the transaction that started at `start_ts` with primary
    /// `primary` stands. A lock whose TTL has run out is rolled back on the
    /// way (and so is a transaction that never locked its primary).
    pub async fn txn_status(&mut self, primary: &[u8], start_ts: u64) -> Result<TxnStatus> {
        let current_ts = self.timestamp().await?;
        let start = Instant::now();
        loop {
            self.check_deadline(start, "check txn status")?;
            let region = self.region_of(primary).await?;
            let make = |ctx| {
                KvRequest::CheckTxnStatus(CheckTxnStatusRequest {
                    context: Some(ctx),
                    primary_key: primary.to_vec(),
                    lock_ts: start_ts,
                    current_ts,
                })
            };
            let resp = match self.send(&region, make).await? {
                Routed::Answer(KvResponse::CheckTxnStatus(r)) => r,
                Routed::Answer(other) => return Err(unexpected(other)),
                Routed::RegionChanged => continue,
            };
            return Ok(if resp.commit_version > 0 {
                TxnStatus::Committed(resp.commit_version)
            } else if resp.lock_ttl > 0 {
                TxnStatus::Locked(resp.lock_ttl)
            } else {
                TxnStatus::RolledBack
            });
        }
    }

    /// Deals with `lock`, met by a read or a prewrite: commits or rolls
    /// back its transaction's locks in the key's region once the primary
    /// says how it ended. Returns whether the lock is gone (false: its
    /// transaction is still running).
    async fn resolve(&mut self, lock: &LockInfo) -> Result<bool> {
        let commit_ts = match self
            .txn_status(&lock.primary_lock, lock.lock_version)
            .await?
        {
            TxnStatus::Committed(ts) => ts,
            TxnStatus::RolledBack => 0,
            TxnStatus::Locked(_) => {
                self.stats.lock_waits += 1;
                return Ok(false);
            }
        };
        let start = Instant::now();
        loop {
            self.check_deadline(start, "resolve lock")?;
            let region = self.region_of(&lock.key).await?;
            let make = |ctx| {
                KvRequest::ResolveLock(ResolveLockRequest {
                    context: Some(ctx),
                    start_version: lock.lock_version,
                    commit_version: commit_ts,
                })
            };
            match self.send(&region, make).await? {
                Routed::Answer(KvResponse::ResolveLock(r)) => {
                    if let Some(e) = r.error {
                        return Err(TxnError::Other(format!("resolve {lock:?}: {e:?}")));
                    }
                    self.stats.locks_resolved += 1;
                    return Ok(true);
                }
                Routed::Answer(other) => return Err(unexpected(other)),
                Routed::RegionChanged => continue,
            }
        }
    }

    // ---- two-phase commit -------------------------------------------

    /// Commits `txn`; its commit timestamp on success. A transaction
    /// without writes commits at its start timestamp.
    pub async fn commit(&mut self, txn: &Txn) -> Result<u64> {
        let ts = self.commit_inner(txn, None).await?;
        Ok(ts.unwrap_or(txn.start_ts))
    }

    /// Runs `txn`'s commit up to `at` and stops there, as a client killed
    /// at that point would: its locks stay for readers to resolve. The
    /// commit timestamp if the primary was committed.
    pub async fn commit_and_die(&mut self, txn: &Txn, at: DieAt) -> Result<Option<u64>> {
        self.commit_inner(txn, Some(at)).await
    }

    async fn commit_inner(&mut self, txn: &Txn, die: Option<DieAt>) -> Result<Option<u64>> {
        let Some(primary) = txn.primary().map(<[u8]>::to_vec) else {
            return Ok(None);
        };
        let secondaries: Vec<Vec<u8>> = txn.writes.keys().skip(1).cloned().collect();
        let t = Instant::now();
        let prewritten = match self.prewrite(txn, &primary, vec![primary.clone()]).await {
            Ok(()) => self.prewrite(txn, &primary, secondaries.clone()).await,
            Err(e) => Err(e),
        };
        self.stats.time_prewrite += t.elapsed();
        if let Err(e) = prewritten {
            // Best effort: whatever is left is the readers' to roll back.
            let _ = self.rollback(txn.start_ts, txn.keys()).await;
            return Err(e);
        }
        if die == Some(DieAt::AfterPrewrite) {
            return Ok(None);
        }
        let commit_ts = self.timestamp().await?;
        let t = Instant::now();
        let primary_committed = self
            .commit_keys(txn.start_ts, commit_ts, vec![primary.clone()])
            .await;
        self.stats.time_commit_primary += t.elapsed();
        match primary_committed {
            Ok(()) => {}
            Err(TxnError::Other(_)) => {
                return Err(TxnError::Undetermined {
                    primary,
                    start_ts: txn.start_ts,
                })
            }
            Err(e) => {
                let _ = self.rollback(txn.start_ts, secondaries).await;
                return Err(e);
            }
        }
        if die == Some(DieAt::AfterPrimaryCommit) {
            return Ok(Some(commit_ts));
        }
        // Committed. A secondary that cannot be reached now is committed by
        // its next reader.
        let t = Instant::now();
        let _ = self.commit_keys(txn.start_ts, commit_ts, secondaries).await;
        self.stats.time_commit_secondaries += t.elapsed();
        Ok(Some(commit_ts))
    }

    fn aborted(start_ts: u64, reason: String) -> TxnError {
        TxnError::Aborted { start_ts, reason }
    }

    /// Prewrites `keys` of `txn`, region by region. A lock of a finished
    /// transaction is resolved and the region retried; a live one, a newer
    /// write or any other key error aborts.
    async fn prewrite(&mut self, txn: &Txn, primary: &[u8], keys: Vec<Vec<u8>>) -> Result<()> {
        let start = Instant::now();
        let lock_ttl = self.lock_ttl;
        let mut queue = VecDeque::from([keys]);
        while let Some(batch) = queue.pop_front() {
            if batch.is_empty() {
                continue;
            }
            if start.elapsed() > self.deadline {
                return Err(Self::aborted(txn.start_ts, "prewrite gave up".into()));
            }
            for (region, keys) in self.group(&batch).await? {
                let make = |ctx| {
                    KvRequest::Prewrite(PrewriteRequest {
                        context: Some(ctx),
                        mutations: keys.iter().map(|k| txn.mutation(k)).collect(),
                        primary_lock: primary.to_vec(),
                        start_version: txn.start_ts,
                        lock_ttl,
                    })
                };
                let resp = match self.send(&region, make).await {
                    Ok(Routed::Answer(KvResponse::Prewrite(r))) => r,
                    Ok(Routed::Answer(other)) => return Err(unexpected(other)),
                    Ok(Routed::RegionChanged) => {
                        queue.push_back(keys);
                        continue;
                    }
                    Err(e) => return Err(Self::aborted(txn.start_ts, e.to_string())),
                };
                if resp.errors.is_empty() {
                    continue;
                }
                for e in resp.errors {
                    let Some(lock) = e.locked else {
                        return Err(Self::aborted(txn.start_ts, format!("{e:?}")));
                    };
                    if !self.resolve(&lock).await? {
                        return Err(Self::aborted(
                            txn.start_ts,
                            format!(
                                "{:?} is locked by live transaction {}",
                                lock.key, lock.lock_version
                            ),
                        ));
                    }
                }
                queue.push_back(keys);
            }
        }
        Ok(())
    }

    /// Commits `keys` at `commit_ts`, region by region. `Aborted` if a key
    /// was rolled back (or taken by another transaction); `Other` if a
    /// region could not be reached in time.
    async fn commit_keys(
        &mut self,
        start_ts: u64,
        commit_ts: u64,
        keys: Vec<Vec<u8>>,
    ) -> Result<()> {
        let start = Instant::now();
        let mut queue = VecDeque::from([keys]);
        while let Some(batch) = queue.pop_front() {
            if batch.is_empty() {
                continue;
            }
            self.check_deadline(start, "commit")?;
            for (region, keys) in self.group(&batch).await? {
                let make = |ctx| {
                    KvRequest::Commit(CommitRequest {
                        context: Some(ctx),
                        start_version: start_ts,
                        keys: keys.clone(),
                        commit_version: commit_ts,
                    })
                };
                match self.send(&region, make).await? {
                    Routed::Answer(KvResponse::Commit(r)) => {
                        if let Some(e) = r.error {
                            return Err(Self::aborted(start_ts, format!("commit: {e:?}")));
                        }
                    }
                    Routed::Answer(other) => return Err(unexpected(other)),
                    Routed::RegionChanged => queue.push_back(keys),
                }
            }
        }
        Ok(())
    }

    /// Rolls back the transaction at `start_ts` on `keys`, region by
    /// region.
    pub async fn rollback(&mut self, start_ts: u64, keys: Vec<Vec<u8>>) -> Result<()> {
        let t = Instant::now();
        let done = self.rollback_inner(start_ts, keys).await;
        self.stats.time_rollback += t.elapsed();
        done
    }

    async fn rollback_inner(&mut self, start_ts: u64, mut keys: Vec<Vec<u8>>) -> Result<()> {
        keys.sort();
        let start = Instant::now();
        let mut queue = VecDeque::from([keys]);
        while let Some(batch) = queue.pop_front() {
            if batch.is_empty() {
                continue;
            }
            self.check_deadline(start, "rollback")?;
            for (region, keys) in self.group(&batch).await? {
                let make = |ctx| {
                    KvRequest::BatchRollback(BatchRollbackRequest {
                        context: Some(ctx),
                        start_version: start_ts,
                        keys: keys.clone(),
                    })
                };
                match self.send(&region, make).await? {
                    Routed::Answer(KvResponse::BatchRollback(r)) => {
                        if let Some(e) = r.error {
                            return Err(TxnError::Other(format!("rollback: {e:?}")));
                        }
                    }
                    Routed::Answer(other) => return Err(unexpected(other)),
                    Routed::RegionChanged => queue.push_back(keys),
                }
            }
        }
        Ok(())
    }
}

fn overlaps(a: &Region, b: &Region) -> bool {
    let below_end = |key: &[u8], end: &[u8]| end.is_empty() || key < end;
    below_end(&a.start_key, &b.end_key) && below_end(&b.start_key, &a.end_key)
}

fn unexpected(resp: KvResponse) -> TxnError {
    TxnError::Other(format!("an answer of the wrong kind: {resp:?}"))
}

/// A timestamp from the TSO's parts.
pub fn compose_ts(physical: i64, logical: i64) -> u64 {
    ((physical as u64) << PHYSICAL_SHIFT_BITS) | logical as u64
}

/// The backend of a `tinykv-server` cluster: the scheduler over gRPC for
/// timestamps and regions, one TinyKv connection per store.
pub struct GrpcBackend {
    conn: Connections,
}

impl GrpcBackend {
    pub async fn connect(scheduler_addr: &str) -> anyhow::Result<Self> {
        Ok(GrpcBackend {
            conn: Connections::connect(scheduler_addr).await?,
        })
    }

    async fn call_store(
        client: &mut TinyKvClient<Channel>,
        req: KvRequest,
    ) -> std::result::Result<KvResponse, tonic::Status> {
        Ok(match req {
            KvRequest::Get(r) => KvResponse::Get(client.kv_get(r).await?.into_inner()),
            KvRequest::Scan(r) => KvResponse::Scan(client.kv_scan(r).await?.into_inner()),
            KvRequest::Prewrite(r) => {
                KvResponse::Prewrite(client.kv_prewrite(r).await?.into_inner())
            }
            KvRequest::Commit(r) => KvResponse::Commit(client.kv_commit(r).await?.into_inner()),
            KvRequest::CheckTxnStatus(r) => {
                KvResponse::CheckTxnStatus(client.kv_check_txn_status(r).await?.into_inner())
            }
            KvRequest::BatchRollback(r) => {
                KvResponse::BatchRollback(client.kv_batch_rollback(r).await?.into_inner())
            }
            KvRequest::ResolveLock(r) => {
                KvResponse::ResolveLock(client.kv_resolve_lock(r).await?.into_inner())
            }
        })
    }
}

impl TxnBackend for GrpcBackend {
    async fn timestamp(&mut self) -> anyhow::Result<u64> {
        let req = TsoRequest {
            header: self.conn.header(),
            count: 1,
        };
        let mut answers = self
            .conn
            .scheduler
            .tso(tokio_stream::iter(vec![req]))
            .await?
            .into_inner();
        let resp = answers
            .message()
            .await?
            .ok_or_else(|| anyhow::anyhow!("the TSO stream ended without a timestamp"))?;
        let ts = resp
            .timestamp
            .ok_or_else(|| anyhow::anyhow!("a TSO answer without a timestamp"))?;
        Ok(compose_ts(ts.physical, ts.logical))
    }

    async fn locate(&mut self, key: &[u8]) -> anyhow::Result<(Region, Option<Peer>)> {
        self.conn.locate(key).await
    }

    async fn call(&mut self, store_id: u64, req: KvRequest) -> anyhow::Result<KvResponse> {
        let mut client = self.conn.store(store_id).await?;
        match Self::call_store(&mut client, req).await {
            Ok(resp) => Ok(resp),
            Err(status) => {
                // A broken connection is re-opened on the next call.
                if status.code() == tonic::Code::Unavailable {
                    self.conn.forget_store(store_id);
                }
                Err(status.into())
            }
        }
    }
}
