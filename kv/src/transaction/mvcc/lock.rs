//! [`Lock`]: a key held by a transaction between its prewrite and its
//! commit or rollback, kept in the `lock` column family under the plain
//! user key (one lock per key, whatever the timestamp).
//!
//! Bytes: the primary key, the kind (one byte), the start timestamp and the
//! TTL (8 big-endian bytes each) — TinyKV's layout. The primary key has no
//! length prefix: it is whatever precedes the last 17 bytes.

use proto::kvrpcpb::LockInfo;

use super::{MvccError, MvccTxn, WriteKind};
use crate::util::engine_util::CF_LOCK;

/// The largest timestamp: a read at `TS_MAX` sees every committed write
/// (TinyKV's `TsMax`).
pub const TS_MAX: u64 = u64::MAX;

/// Bytes after the primary key in a stored lock.
const LOCK_SUFFIX_LEN: usize = 17;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lock {
    /// The transaction's primary key, whose lock decides its fate.
    pub primary: Vec<u8>,
    /// The transaction's start timestamp.
    pub ts: u64,
    /// How long, in milliseconds of physical time after `ts`, the lock is
    /// to be respected before another transaction may roll it back.
    pub ttl: u64,
    pub kind: WriteKind,
}

/// A key and the lock on it (TinyKV's `KlPair`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KlPair {
    pub key: Vec<u8>,
    pub lock: Lock,
}

impl Lock {
    /// What a client is told about this lock on `key`.
    pub fn info(&self, key: &[u8]) -> LockInfo {
        LockInfo {
            primary_lock: self.primary.clone(),
            lock_version: self.ts,
            key: key.to_vec(),
            lock_ttl: self.ttl,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.primary.len() + LOCK_SUFFIX_LEN);
        buf.extend_from_slice(&self.primary);
        buf.push(self.kind as u8);
        buf.extend_from_slice(&self.ts.to_be_bytes());
        buf.extend_from_slice(&self.ttl.to_be_bytes());
        buf
    }

    /// Parses what [`Lock::to_bytes`] wrote.
    pub fn parse(input: &[u8]) -> Result<Lock, MvccError> {
        if input.len() < LOCK_SUFFIX_LEN {
            return Err(MvccError::BadLock(input.len()));
        }
        let (primary, rest) = input.split_at(input.len() - LOCK_SUFFIX_LEN);
        let kind = WriteKind::from_byte(rest[0]).ok_or(MvccError::BadKind(rest[0]))?;
        let ts = u64::from_be_bytes(rest[1..9].try_into().expect("8 bytes"));
        let ttl = u64::from_be_bytes(rest[9..17].try_into().expect("8 bytes"));
        Ok(Lock {
            primary: primary.to_vec(),
            ts,
            ttl,
            kind,
        })
    }

    /// Whether this lock on `key` stops a read at `txn_start_ts`: a lock
    /// taken at or before the read's timestamp might yet commit below it.
    ///
    /// A read at [`TS_MAX`] ("the latest value") only waits for a
    /// transaction's primary lock, as in TinyKV.
    pub fn is_locked_for(&self, key: &[u8], txn_start_ts: u64) -> bool {
        if txn_start_ts == TS_MAX && key != self.primary.as_slice() {
            return false;
        }
        self.ts <= txn_start_ts
    }
}

/// Every lock held by `txn`'s transaction (locks whose timestamp is its
/// start timestamp), in key order.
pub fn all_locks_for_txn(txn: &MvccTxn) -> crate::Result<Vec<KlPair>> {
    let mut result = Vec::new();
    let mut it = txn.reader.iter_cf(CF_LOCK);
    it.seek(&[]);
    while it.valid() {
        let lock = Lock::parse(it.value())?;
        if lock.ts == txn.start_ts {
            result.push(KlPair {
                key: it.key().to_vec(),
                lock,
            });
        }
        it.next();
    }
    it.status()?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_primary_kind_ts_ttl() {
        let lock = Lock {
            primary: vec![7, 8],
            ts: 0x100,
            ttl: 3,
            kind: WriteKind::Put,
        };
        let bytes = lock.to_bytes();
        assert_eq!(
            bytes,
            vec![7, 8, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 3]
        );
        assert_eq!(Lock::parse(&bytes).unwrap(), lock);
        assert_eq!(Lock::parse(&bytes[2..]).unwrap().primary, Vec::<u8>::new());
        assert_eq!(Lock::parse(&bytes[3..]), Err(MvccError::BadLock(16)));
    }

    #[test]
    fn lock_blocks_reads_at_or_after_its_ts() {
        let lock = Lock {
            primary: vec![1],
            ts: 10,
            ttl: 0,
            kind: WriteKind::Put,
        };
        assert!(!lock.is_locked_for(&[2], 9));
        assert!(lock.is_locked_for(&[2], 10));
        assert!(!lock.is_locked_for(&[2], TS_MAX));
        assert!(lock.is_locked_for(&[1], TS_MAX));
    }
}
