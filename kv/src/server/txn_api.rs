//! The transactional API (the `Kv*` half of TinyKV's server.go): Percolator
//! reads, prewrites, commits, rollbacks and lock resolution, each one
//! command run atomically under latches (see [`crate::transaction`]).
//!
//! A handler answers `Ok(response)` whenever it has something to tell the
//! client: a transaction's trouble (locked, write conflict, aborted) in the
//! response's key error, a region's trouble (not leader, stale epoch, key
//! not in region) in its `region_error`, so the client can retry elsewhere.
//! `Err` is left for failures of the storage itself; the gRPC service turns
//! it into a failed call.

use proto::errorpb;
use proto::kvrpcpb::*;

use super::Server;
use crate::transaction::mvcc::{
    all_locks_for_txn, physical_time, Lock, MvccTxn, Scanner, Write, WriteKind,
};

/// A response with a `region_error` field.
pub trait RegionErrorResponse: Default {
    fn set_region_error(&mut self, e: errorpb::Error);
}

macro_rules! region_error_response {
    ($($t:ty),*) => {$(
        impl RegionErrorResponse for $t {
            fn set_region_error(&mut self, e: errorpb::Error) {
                self.region_error = Some(e);
            }
        }
    )*};
}

region_error_response!(
    GetResponse,
    ScanResponse,
    PrewriteResponse,
    CommitResponse,
    CheckTxnStatusResponse,
    BatchRollbackResponse,
    ResolveLockResponse
);

/// A handler's answer: a region error becomes a response carrying it; any
/// other error stays an error.
fn respond<R: RegionErrorResponse>(result: crate::Result<R>) -> crate::Result<R> {
    result.or_else(|e| {
        let region_error = e.into_region_error()?;
        let mut resp = R::default();
        resp.set_region_error(region_error);
        Ok(resp)
    })
}

fn context(ctx: &Option<Context>) -> Context {
    ctx.unwrap_or_default()
}

/// The key error telling a client that `lock` holds `key`.
fn locked_error(lock: &Lock, key: &[u8]) -> KeyError {
    KeyError {
        locked: Some(lock.info(key)),
        ..Default::default()
    }
}

/// Writes a command's batch, after the test hook has checked that it only
/// touches latched keys. An empty batch is not written at all.
fn write_txn(
    server: &Server,
    ctx: &Context,
    txn: MvccTxn,
    latched: &[Vec<u8>],
) -> crate::Result<()> {
    server.latches.validate(&txn, latched);
    let writes = txn.into_writes();
    if writes.is_empty() {
        return Ok(());
    }
    server.storage.write(ctx, writes)
}

impl Server {
    /// The value of `key` at `version`, unless a transaction that may
    /// commit below `version` holds the key.
    pub fn kv_get(&self, req: &GetRequest) -> crate::Result<GetResponse> {
        // student: begin 4B: read at req.version: a lock at or below it is a `locked` key error; otherwise the value, or `not_found`
        let run = || -> crate::Result<GetResponse> {
            let reader = self.storage.reader(&context(&req.context))?;
            let txn = MvccTxn::new(reader, req.version);
            if let Some(lock) = txn.get_lock(&req.key)? {
                if lock.is_locked_for(&req.key, req.version) {
                    return Ok(GetResponse {
                        error: Some(locked_error(&lock, &req.key)),
                        ..Default::default()
                    });
                }
            }
            Ok(match txn.get_value(&req.key)? {
                Some(value) => GetResponse {
                    value,
                    ..Default::default()
                },
                None => GetResponse {
                    not_found: true,
                    ..Default::default()
                },
            })
        };
        respond(run())
        // student: end
    }

    /// The first phase of a commit: lock every mutated key for the
    /// transaction and stage its new value. All or nothing: if any key has
    /// a newer write or another transaction's lock, every such key is
    /// reported and nothing is written.
    pub fn kv_prewrite(&self, req: &PrewriteRequest) -> crate::Result<PrewriteResponse> {
        // student: begin 4B: under the latches of the keys, report a conflict for a write committed at or after start_version and a lock of another txn; with no error, stage each value (or delete) and lock the key
        let keys: Vec<Vec<u8>> = req.mutations.iter().map(|m| m.key.clone()).collect();
        let latched = self.latches.latch(keys);
        let run = || -> crate::Result<PrewriteResponse> {
            let ctx = context(&req.context);
            let mut txn = MvccTxn::new(self.storage.reader(&ctx)?, req.start_version);
            let mut errors = Vec::new();
            for m in &req.mutations {
                if let Some((_, commit_ts)) = txn.most_recent_write(&m.key)? {
                    if commit_ts >= req.start_version {
                        errors.push(KeyError {
                            conflict: Some(WriteConflict {
                                start_ts: req.start_version,
                                conflict_ts: commit_ts,
                                key: m.key.clone(),
                                primary: req.primary_lock.clone(),
                            }),
                            ..Default::default()
                        });
                        continue;
                    }
                }
                if let Some(lock) = txn.get_lock(&m.key)? {
                    if lock.ts != req.start_version {
                        errors.push(locked_error(&lock, &m.key));
                        continue;
                    }
                }
                let kind = Op::try_from(m.op)
                    .ok()
                    .and_then(WriteKind::from_proto)
                    .ok_or_else(|| {
                        crate::Error::Other(format!("prewrite: unsupported mutation op {}", m.op))
                    })?;
                match kind {
                    WriteKind::Put => txn.put_value(&m.key, &m.value),
                    WriteKind::Delete => txn.delete_value(&m.key),
                    WriteKind::Rollback => {}
                }
                let lock = Lock {
                    primary: req.primary_lock.clone(),
                    ts: req.start_version,
                    ttl: req.lock_ttl,
                    kind,
                };
                txn.put_lock(&m.key, &lock);
            }
            if !errors.is_empty() {
                return Ok(PrewriteResponse {
                    errors,
                    ..Default::default()
                });
            }
            write_txn(self, &ctx, txn, latched.keys())?;
            Ok(PrewriteResponse::default())
        };
        respond(run())
        // student: end
    }

    /// The second phase: turn the transaction's locks on `keys` into
    /// write records at `commit_version`.
    ///
    /// A key already committed by this transaction is fine (a retried
    /// commit); one it rolled back is an `abort`; one locked by another
    /// transaction is `retryable`. A key with neither a lock nor a write
    /// of the transaction is skipped without an error, as TinyKV's tests
    /// require (TestCommitMissingPrewrite4B).
    pub fn kv_commit(&self, req: &CommitRequest) -> crate::Result<CommitResponse> {
        // student: begin 4B: under the latches of the keys, replace each lock of this txn with a write at commit_version; tolerate a repeated commit, refuse a rolled-back txn (abort) and another txn's lock (retryable)
        let latched = self.latches.latch(req.keys.clone());
        let run = || -> crate::Result<CommitResponse> {
            let ctx = context(&req.context);
            let mut txn = MvccTxn::new(self.storage.reader(&ctx)?, req.start_version);
            for key in &req.keys {
                let lock = txn.get_lock(key)?;
                if let Some(lock) = lock.as_ref().filter(|l| l.ts == req.start_version) {
                    let write = Write::new(req.start_version, lock.kind);
                    txn.put_write(key, req.commit_version, &write);
                    txn.delete_lock(key);
                    continue;
                }
                let error = match txn.current_write(key)? {
                    Some((write, _)) if write.kind != WriteKind::Rollback => continue,
                    Some(_) => KeyError {
                        abort: format!(
                            "transaction {} was rolled back on key {key:?}",
                            req.start_version
                        ),
                        ..Default::default()
                    },
                    None => match lock {
                        Some(other) => KeyError {
                            retryable: format!(
                                "key {key:?} is locked by transaction {}, not {}",
                                other.ts, req.start_version
                            ),
                            ..Default::default()
                        },
                        None => continue,
                    },
                };
                return Ok(CommitResponse {
                    error: Some(error),
                    ..Default::default()
                });
            }
            write_txn(self, &ctx, txn, latched.keys())?;
            Ok(CommitResponse::default())
        };
        respond(run())
        // student: end
    }

    /// Up to `limit` pairs from `start_key` on as of `version`; a key
    /// locked for that version comes with a `locked` error instead of its
    /// value.
    pub fn kv_scan(&self, req: &ScanRequest) -> crate::Result<ScanResponse> {
        // student: begin 4C: read up to `limit` pairs with a Scanner at req.version; a pair whose key is locked for that version carries a `locked` error instead of a value
        let run = || -> crate::Result<ScanResponse> {
            let reader = self.storage.reader(&context(&req.context))?;
            let txn = MvccTxn::new(reader, req.version);
            let mut scanner = Scanner::new(&req.start_key, &txn);
            let mut pairs = Vec::new();
            while pairs.len() < req.limit as usize {
                let Some((key, value)) = scanner.next()? else {
                    break;
                };
                let pair = match txn.get_lock(&key)? {
                    Some(lock) if lock.is_locked_for(&key, req.version) => KvPair {
                        error: Some(locked_error(&lock, &key)),
                        key,
                        value: Vec::new(),
                    },
                    _ => KvPair {
                        error: None,
                        key,
                        value,
                    },
                };
                pairs.push(pair);
            }
            Ok(ScanResponse {
                pairs,
                ..Default::default()
            })
        };
        respond(run())
        // student: end
    }

    /// How the transaction that started at `lock_ts` stands, judged at its
    /// primary key: still locked (its TTL left), committed (its commit
    /// version), or rolled back — by this call if its lock has expired at
    /// `current_ts` or was never written.
    pub fn kv_check_txn_status(
        &self,
        req: &CheckTxnStatusRequest,
    ) -> crate::Result<CheckTxnStatusResponse> {
        // student: begin 4C: under the primary's latch: a live lock of lock_ts gives its ttl, an expired one is rolled back; without the lock, report the commit ts, or write a rollback if there is no write at all
        let latched = self.latches.latch(vec![req.primary_key.clone()]);
        let run = || -> crate::Result<CheckTxnStatusResponse> {
            let ctx = context(&req.context);
            let key = &req.primary_key;
            let mut txn = MvccTxn::new(self.storage.reader(&ctx)?, req.lock_ts);
            let rollback = Write::new(req.lock_ts, WriteKind::Rollback);
            let mut resp = CheckTxnStatusResponse::default();
            match txn.get_lock(key)? {
                Some(lock) if lock.ts == req.lock_ts => {
                    let expires = physical_time(lock.ts).saturating_add(lock.ttl);
                    if expires <= physical_time(req.current_ts) {
                        txn.delete_lock(key);
                        txn.delete_value(key);
                        txn.put_write(key, req.lock_ts, &rollback);
                        resp.action = Action::TtlExpireRollback as i32;
                    } else {
                        resp.lock_ttl = lock.ttl;
                    }
                }
                _ => match txn.current_write(key)? {
                    Some((write, commit_ts)) => {
                        if write.kind != WriteKind::Rollback {
                            resp.commit_version = commit_ts;
                        }
                    }
                    None => {
                        txn.put_write(key, req.lock_ts, &rollback);
                        resp.action = Action::LockNotExistRollback as i32;
                    }
                },
            }
            write_txn(self, &ctx, txn, latched.keys())?;
            Ok(resp)
        };
        respond(run())
        // student: end
    }

    /// Rolls the transaction back on `keys`: its locks and staged values
    /// go, and a rollback record stops it from being prewritten or
    /// committed there later. A key it already committed is an `abort`.
    pub fn kv_batch_rollback(
        &self,
        req: &BatchRollbackRequest,
    ) -> crate::Result<BatchRollbackResponse> {
        // student: begin 4C: under the latches of the keys: refuse a committed key (abort), skip one already rolled back, else remove this txn's lock and value and write a rollback record
        let latched = self.latches.latch(req.keys.clone());
        let run = || -> crate::Result<BatchRollbackResponse> {
            let ctx = context(&req.context);
            let mut txn = MvccTxn::new(self.storage.reader(&ctx)?, req.start_version);
            for key in &req.keys {
                match txn.current_write(key)? {
                    Some((write, _)) if write.kind == WriteKind::Rollback => continue,
                    Some((_, commit_ts)) => {
                        return Ok(BatchRollbackResponse {
                            error: Some(KeyError {
                                abort: format!(
                                    "transaction {} is committed at {commit_ts} on key {key:?}",
                                    req.start_version
                                ),
                                ..Default::default()
                            }),
                            ..Default::default()
                        });
                    }
                    None => {}
                }
                if let Some(lock) = txn.get_lock(key)? {
                    if lock.ts == req.start_version {
                        txn.delete_lock(key);
                        txn.delete_value(key);
                    }
                }
                let rollback = Write::new(req.start_version, WriteKind::Rollback);
                txn.put_write(key, req.start_version, &rollback);
            }
            write_txn(self, &ctx, txn, latched.keys())?;
            Ok(BatchRollbackResponse::default())
        };
        respond(run())
        // student: end
    }

    /// Ends every lock of the transaction at `start_version` in the
    /// request's region: commits them at `commit_version`, or rolls them
    /// back if it is 0.
    pub fn kv_resolve_lock(&self, req: &ResolveLockRequest) -> crate::Result<ResolveLockResponse> {
        // student: begin 4C: find the txn's locks; commit them at commit_version, or roll them back when it is 0 (the commit and rollback commands latch and re-check)
        let run = || -> crate::Result<ResolveLockResponse> {
            let reader = self.storage.reader(&context(&req.context))?;
            let txn = MvccTxn::new(reader, req.start_version);
            let keys: Vec<Vec<u8>> = all_locks_for_txn(&txn)?
                .into_iter()
                .map(|pair| pair.key)
                .collect();
            drop(txn);
            if keys.is_empty() {
                return Ok(ResolveLockResponse::default());
            }
            let (region_error, error) = if req.commit_version == 0 {
                let resp = self.kv_batch_rollback(&BatchRollbackRequest {
                    context: req.context,
                    start_version: req.start_version,
                    keys,
                })?;
                (resp.region_error, resp.error)
            } else {
                let resp = self.kv_commit(&CommitRequest {
                    context: req.context,
                    start_version: req.start_version,
                    keys,
                    commit_version: req.commit_version,
                })?;
                (resp.region_error, resp.error)
            };
            Ok(ResolveLockResponse {
                region_error,
                error,
            })
        };
        respond(run())
        // student: end
    }
}
