//! [`DbSnapshot`]: an owned, shareable, consistent read view of a DB — what
//! TinyKV gets from a badger read transaction.

use std::sync::Arc;

use rocksdb::SnapshotWithThreadMode;

use super::util::{cf_handle, decode_meta};
use super::{CfIterator, Result, CF_RAFT, DB};

/// A RocksDB snapshot that owns a handle to its DB.
///
/// It is `Send + Sync + Clone` (clones share one RocksDB snapshot) and has
/// no lifetime, so it can travel in a callback to another thread and
/// outlive the code that took it; the DB stays open while it exists.
///
/// # Why there is `unsafe` inside
///
/// The `rocksdb` crate ties a snapshot to a `&'a DB` borrow. Here the DB is
/// held in an `Arc` stored right beside the snapshot, so it lives exactly as
/// long as the snapshot needs it; the borrow's lifetime is widened to
/// `'static` to express that. This is sound because:
/// * the `DB` is on the `Arc`'s heap allocation, which never moves;
/// * in `Inner` the snapshot field is declared before the `Arc`, and Rust
///   drops fields in declaration order, so the snapshot is released while
///   the DB is still open;
/// * the `'static` snapshot never leaves `Inner`: everything read from it
///   (values, iterators) borrows `&self`.
#[derive(Clone)]
pub struct DbSnapshot {
    inner: Arc<Inner>,
}

struct Inner {
    // Must stay the first field: see the type's docs.
    snap: SnapshotWithThreadMode<'static, DB>,
    db: Arc<DB>,
}

impl DbSnapshot {
    /// Takes a snapshot of `db` now.
    pub fn new(db: Arc<DB>) -> Self {
        let snap = db.snapshot();
        // SAFETY: the snapshot borrows the DB inside `db`'s allocation, which
        // `Inner` keeps alive (and drops after the snapshot); see the type's
        // docs for the full argument.
        let snap = unsafe {
            std::mem::transmute::<SnapshotWithThreadMode<'_, DB>, SnapshotWithThreadMode<'static, DB>>(
                snap,
            )
        };
        DbSnapshot {
            inner: Arc::new(Inner { snap, db }),
        }
    }

    /// The DB this snapshot reads.
    pub fn db(&self) -> &Arc<DB> {
        &self.inner.db
    }

    /// The value of `key` in `cf` as of the snapshot; `None` if absent.
    pub fn get_cf(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let handle = cf_handle(&self.inner.db, cf)?;
        Ok(self.inner.snap.get_cf(handle, key)?)
    }

    /// The protobuf under the meta key `key` as of the snapshot.
    pub fn get_meta<M: prost::Message + Default>(&self, key: &[u8]) -> Result<Option<M>> {
        match self.get_cf(CF_RAFT, key)? {
            None => Ok(None),
            Some(val) => decode_meta(key, &val).map(Some),
        }
    }

    /// An iterator over `cf` as of the snapshot. Panics if `cf` is not one
    /// of [`ALL_CFS`](super::ALL_CFS).
    pub fn iter_cf(&self, cf: &str) -> CfIterator<'_> {
        self.iter_cf_with_upper_bound(cf, &[])
    }

    /// An iterator over the keys of `cf` below `upper` (exclusive; empty =
    /// no bound) as of the snapshot.
    pub fn iter_cf_with_upper_bound(&self, cf: &str, upper: &[u8]) -> CfIterator<'_> {
        self.iter_cf_in_range(cf, &[], upper)
    }

    /// An iterator that sees only the keys of `cf` in `[lower, upper)`
    /// (empty = unbounded on that side) as of the snapshot: a seek below
    /// `lower` lands on the first key of the range.
    pub fn iter_cf_in_range(&self, cf: &str, lower: &[u8], upper: &[u8]) -> CfIterator<'_> {
        let handle =
            cf_handle(&self.inner.db, cf).unwrap_or_else(|e| panic!("iterate snapshot: {e}"));
        let raw = self.inner.snap.raw_iterator_cf_opt(
            handle,
            super::cf_iterator::bounded_read_options(lower, upper),
        );
        CfIterator::from_raw(raw)
    }
}

impl std::fmt::Debug for DbSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSnapshot")
            .field("db", &self.inner.db.path())
            .finish()
    }
}
