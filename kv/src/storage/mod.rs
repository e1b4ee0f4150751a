//! The storage a server reads and writes through (TinyKV's kv/storage):
//! a standalone RocksDB for project 1, the raftstore, or (for the
//! transaction tests) an in-memory map.

pub mod mem_storage;
pub mod modify;
pub mod raft_storage;
pub mod standalone_storage;

pub use modify::Modify;

use proto::kvrpcpb::Context;

use crate::util::engine_util::{CfIterator, DbSnapshot, CF_DEFAULT, CF_LOCK, CF_WRITE};

/// The column families clients may name; the raft CF is internal.
pub const USER_CFS: [&str; 3] = [CF_DEFAULT, CF_LOCK, CF_WRITE];

pub fn is_user_cf(cf: &str) -> bool {
    USER_CFS.contains(&cf)
}

/// An iterator that sees nothing (what a reader gives for a CF that is not
/// a user CF: such reads are refused, never a panic).
pub(crate) fn empty_iter(snap: &DbSnapshot) -> CfIterator<'_> {
    snap.iter_cf_in_range(CF_DEFAULT, b"\x00", b"\x00")
}

/// What a server needs of its storage.
pub trait Storage: Send + Sync {
    fn start(&mut self) -> crate::Result<()>;
    fn stop(&mut self) -> crate::Result<()>;
    /// Applies `batch` atomically.
    fn write(&self, ctx: &Context, batch: Vec<Modify>) -> crate::Result<()>;
    /// A consistent view to read from.
    fn reader(&self, ctx: &Context) -> crate::Result<Box<dyn StorageReader>>;
}

/// A consistent, read-only view of the storage.
pub trait StorageReader: Send {
    /// The value of `key` in `cf`; `None` if there is none.
    fn get_cf(&self, cf: &str, key: &[u8]) -> crate::Result<Option<Vec<u8>>>;
    /// An iterator over `cf` (bounded to the region for a raft reader).
    fn iter_cf(&self, cf: &str) -> Box<dyn DbIterator + '_>;
    /// Releases the view. Dropping the reader does the same.
    fn close(self: Box<Self>) {}
}

/// A forward scan over one column family of a reader (TinyKV's
/// `DBIterator`): `seek` to the first key `>=` a key, then read `key` /
/// `value` and `next` while `valid`.
///
/// A trait rather than [`CfIterator`] itself so that a reader needs no
/// RocksDB: the in-memory storage of the transaction tests has its own.
pub trait DbIterator {
    /// Positions at the first key `>= key`.
    fn seek(&mut self, key: &[u8]);
    /// Whether the iterator is positioned at a pair.
    fn valid(&self) -> bool;
    /// Advances to the next key. Panics if not [`DbIterator::valid`].
    fn next(&mut self);
    /// The current key. Panics if not [`DbIterator::valid`].
    fn key(&self) -> &[u8];
    /// The current value. Panics if not [`DbIterator::valid`].
    fn value(&self) -> &[u8];
    /// The error that made the iterator invalid, if any: an iterator that
    /// turns invalid early is not the same as one that reached the end.
    fn status(&self) -> crate::Result<()>;
}

impl DbIterator for CfIterator<'_> {
    fn seek(&mut self, key: &[u8]) {
        CfIterator::seek(self, key)
    }

    fn valid(&self) -> bool {
        CfIterator::valid(self)
    }

    fn next(&mut self) {
        CfIterator::next(self)
    }

    fn key(&self) -> &[u8] {
        CfIterator::key(self)
    }

    fn value(&self) -> &[u8] {
        CfIterator::value(self)
    }

    fn status(&self) -> crate::Result<()> {
        Ok(CfIterator::status(self)?)
    }
}
