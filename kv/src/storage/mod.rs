//! The storage a server reads and writes through (TinyKV's kv/storage):
//! a standalone RocksDB for project 1, or the raftstore.

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
    fn iter_cf(&self, cf: &str) -> CfIterator<'_>;
    /// Releases the view. Dropping the reader does the same.
    fn close(self: Box<Self>) {}
}
