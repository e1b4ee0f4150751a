//! [`WriteBatch`]: puts and deletes over column families, applied
//! atomically (TinyKV's `engine_util/write_batch.go`).

use rocksdb::{WriteBatch as RawWriteBatch, WriteOptions};

use super::{util::cf_handle, Result, CF_RAFT, DB};

/// One queued operation. An empty `value` is a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    cf: String,
    key: Vec<u8>,
    value: Vec<u8>,
}

/// Puts and deletes collected in memory and written in one atomic RocksDB
/// write.
///
/// Like TinyKV's batch, **an entry whose value is empty is written as a
/// delete**: `set_cf(cf, k, b"")` removes `k`, and so does `set_meta` of a
/// message whose encoding is empty (a message with every field at its
/// default). Entries apply in the order they were added.
///
/// A *safe point* marks a position to roll back to: the raftstore sets one
/// before applying a command and rolls back if the command fails, so the
/// batch keeps only the effects of the commands that succeeded.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    entries: Vec<Entry>,
    size: usize,
    safe_point: usize,
    safe_point_size: usize,
    sync: bool,
}

impl WriteBatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of queued entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of keys and values queued.
    pub fn data_size(&self) -> usize {
        self.size
    }

    /// Whether writes of this batch are fsynced before they return.
    pub fn sync(&self) -> bool {
        self.sync
    }

    /// Makes [`WriteBatch::write_to_db`] (and [`Engines::write_kv`] /
    /// [`Engines::write_raft`](super::Engines::write_raft)) fsync the
    /// RocksDB write-ahead log before returning. Off by default; kept
    /// across [`WriteBatch::reset`].
    ///
    /// [`Engines::write_kv`]: super::Engines::write_kv
    pub fn set_sync(&mut self, sync: bool) {
        self.sync = sync;
    }

    fn push(&mut self, cf: &str, key: &[u8], value: Vec<u8>) {
        self.size += key.len() + value.len();
        self.entries.push(Entry {
            cf: cf.to_string(),
            key: key.to_vec(),
            value,
        });
    }

    /// Queues `key = val` in `cf`; an empty `val` queues a delete.
    pub fn set_cf(&mut self, cf: &str, key: &[u8], val: &[u8]) {
        self.push(cf, key, val.to_vec());
    }

    /// Queues a delete of `key` in `cf`.
    pub fn delete_cf(&mut self, cf: &str, key: &[u8]) {
        self.push(cf, key, Vec::new());
    }

    /// Queues the encoded `msg` under the meta key `key` (in [`CF_RAFT`]).
    pub fn set_meta(&mut self, key: &[u8], msg: &impl prost::Message) {
        self.push(CF_RAFT, key, msg.encode_to_vec());
    }

    /// Queues a delete of the meta key `key`.
    pub fn delete_meta(&mut self, key: &[u8]) {
        self.push(CF_RAFT, key, Vec::new());
    }

    /// Remembers the current end of the batch for
    /// [`WriteBatch::rollback_to_safe_point`] (replacing any earlier mark).
    pub fn set_safe_point(&mut self) {
        self.safe_point = self.entries.len();
        self.safe_point_size = self.size;
    }

    /// Drops every entry added since the last [`WriteBatch::set_safe_point`]
    /// (all entries if none was set). The mark stays where it is.
    pub fn rollback_to_safe_point(&mut self) {
        self.entries.truncate(self.safe_point);
        self.size = self.safe_point_size;
    }

    /// Applies the batch atomically, fsynced if [`WriteBatch::sync`]. An
    /// empty batch writes nothing. The batch keeps its entries.
    pub fn write_to_db(&self, db: &DB) -> Result<()> {
        self.write_to_db_opt(db, self.sync)
    }

    /// Applies the batch atomically, fsynced if `sync`.
    pub fn write_to_db_opt(&self, db: &DB, sync: bool) -> Result<()> {
        self.write_to_db_with(db, sync, true)
    }

    /// Applies the batch atomically, through the write-ahead log if `wal`
    /// (see [`EngineOptions::write_ahead_log`]) and then fsynced if `sync`.
    /// Without the log there is nothing to fsync: `sync` is ignored.
    ///
    /// [`EngineOptions::write_ahead_log`]: super::EngineOptions::write_ahead_log
    pub(crate) fn write_to_db_with(&self, db: &DB, sync: bool, wal: bool) -> Result<()> {
        if self.entries.is_empty() {
            return Ok(());
        }
        let mut raw = RawWriteBatch::default();
        for e in &self.entries {
            let cf = cf_handle(db, &e.cf)?;
            if e.value.is_empty() {
                raw.delete_cf(cf, &e.key);
            } else {
                raw.put_cf(cf, &e.key, &e.value);
            }
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(sync && wal);
        opts.disable_wal(!wal);
        db.write_opt(raw, &opts)?;
        Ok(())
    }

    /// [`WriteBatch::write_to_db`], panicking on failure: for callers that
    /// cannot continue when the engine refuses a write.
    pub fn must_write_to_db(&self, db: &DB) {
        if let Err(e) = self.write_to_db(db) {
            panic!(
                "write batch of {} entries to {}: {e}",
                self.len(),
                db.path().display()
            );
        }
    }

    /// Empties the batch and clears the safe point.
    pub fn reset(&mut self) {
        self.entries.clear();
        self.size = 0;
        self.safe_point = 0;
        self.safe_point_size = 0;
    }
}
