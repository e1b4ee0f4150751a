//! The storage engines of one store, over RocksDB (TinyKV's `engine_util`).
//!
//! # Layout
//!
//! A store has two RocksDB instances, bundled in [`Engines`]:
//!
//! * **kv** — user data in the column families [`CF_DEFAULT`], [`CF_WRITE`]
//!   and [`CF_LOCK`] (the three of [`CFS`], in that order: it is the order of
//!   the CF files in a snapshot), plus the store's local/meta keys (apply
//!   state, region state, store ident, prepare-bootstrap key) in [`CF_RAFT`].
//! * **raft** — raft log entries and raft state, in [`CF_RAFT`].
//!
//! Both instances are opened with all four column families, so any helper
//! works on either. TinyKV (on badger) keeps meta keys next to `cf_`-prefixed
//! user keys in one key space; here the real CF `default` would share a key
//! space with meta keys, so every meta key lives in [`CF_RAFT`] instead and
//! can never clash with a user key. The `*_meta` helpers use that CF.
//!
//! # Reads
//!
//! * Point reads: [`get_cf`], [`get_meta`] on a [`DB`], or the same methods
//!   of a [`DbSnapshot`] for a consistent view.
//! * Scans: [`CfIterator`] over one column family, on a DB or a snapshot,
//!   with TinyKV's `seek` / `valid` / `next` / `item` protocol.
//!
//! # Writes
//!
//! [`WriteBatch`] collects puts and deletes over any CF (meta helpers
//! included) and applies them atomically with [`WriteBatch::write_to_db`] or
//! [`Engines::write_kv`] / [`Engines::write_raft`]. Like TinyKV's, a batch
//! turns an entry with an empty value into a delete.
//!
//! [`delete_range`] removes a user-key range from the three data CFs.

mod cf_iterator;
mod engines;
mod snapshot;
mod util;
mod write_batch;

#[cfg(test)]
mod engine_util_test;

use thiserror::Error;

pub use self::cf_iterator::{CfItem, CfIterator};
pub use self::engines::{create_db, EngineOptions, Engines};
pub use self::snapshot::DbSnapshot;
pub use self::util::{
    cf_handle, db_size, delete_cf, delete_meta, delete_range, exceed_end_key, get_cf, get_meta,
    is_db_empty, put_cf, put_meta,
};
pub use self::write_batch::WriteBatch;

/// The RocksDB handle used by both engines. Send + Sync; share it through
/// `Arc<DB>`.
pub type DB = rocksdb::DB;

/// Column family of committed values (TinyKV's `CfDefault`).
pub const CF_DEFAULT: &str = "default";
/// Column family of transaction write records (TinyKV's `CfWrite`).
pub const CF_WRITE: &str = "write";
/// Column family of transaction locks (TinyKV's `CfLock`).
pub const CF_LOCK: &str = "lock";
/// Column family of every local/meta key (raft log, raft state, apply
/// state, region state, store ident, prepare-bootstrap), in both engines.
pub const CF_RAFT: &str = "raft";

/// The user-data column families, in snapshot-file order.
pub const CFS: [&str; 3] = [CF_DEFAULT, CF_WRITE, CF_LOCK];
/// Every column family an engine is opened with.
pub const ALL_CFS: [&str; 4] = [CF_DEFAULT, CF_WRITE, CF_LOCK, CF_RAFT];

/// Errors of the engine layer.
#[derive(Debug, Error)]
pub enum EngineError {
    /// RocksDB reported an error (I/O, corruption, invalid options, ...).
    #[error("rocksdb: {0}")]
    RocksDb(#[from] rocksdb::Error),
    /// The named column family is not one of [`ALL_CFS`].
    #[error("unknown column family {0:?}")]
    UnknownCf(String),
    /// A stored protobuf value did not decode.
    #[error("decode value of key {key:?}: {source}")]
    Decode {
        key: Vec<u8>,
        #[source]
        source: prost::DecodeError,
    },
    /// A key does not have the shape its decoder expects.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey { key: Vec<u8>, reason: &'static str },
    /// A file-system operation on an engine directory failed.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// [`Engines::close`] was called while other handles to a DB were alive;
    /// the DB closes when the last of them is dropped.
    #[error("engine {path} still has {refs} other handle(s)")]
    InUse { path: String, refs: usize },
}

pub type Result<T> = std::result::Result<T, EngineError>;
