//! Multi-version storage of transactions: how locks, values and write
//! records are laid down as plain keys and values in the three column
//! families (TinyKV's `kv/transaction/mvcc`).
//!
//! | CF        | key                           | value |
//! |-----------|-------------------------------|-------|
//! | `lock`    | user key                      | [`Lock`]: primary, kind, start ts, TTL |
//! | `default` | [`encode_key`]`(key, start_ts)`  | the value a transaction wrote |
//! | `write`   | [`encode_key`]`(key, commit_ts)` | [`Write`]: kind, start ts (a rollback uses its start ts as commit ts) |
//!
//! [`encode_key`] orders keys by user key ascending, then timestamp
//! descending, so seeking to `encode_key(k, ts)` lands on the newest
//! version of `k` at or before `ts`.

mod lock;
mod scanner;
mod transaction;
mod write;

#[cfg(test)]
mod transaction_test;

use thiserror::Error;

pub use self::lock::{all_locks_for_txn, KlPair, Lock, TS_MAX};
pub use self::scanner::Scanner;
pub use self::transaction::{
    decode_timestamp, decode_user_key, encode_key, physical_time, MvccTxn, PHYSICAL_SHIFT_BITS,
};
pub use self::write::{Write, WriteKind};

/// A stored lock or write record that does not parse: the column family
/// holds bytes no TinyKV wrote.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MvccError {
    #[error("mvcc: lock value too short ({0} bytes, at least 17 expected)")]
    BadLock(usize),
    #[error("mvcc: write value of {0} bytes, 9 expected")]
    BadWrite(usize),
    #[error("mvcc: unknown write kind {0}")]
    BadKind(u8),
}
