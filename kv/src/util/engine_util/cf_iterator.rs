//! [`CfIterator`]: a forward scan over one column family, on a DB or a
//! [`DbSnapshot`](super::DbSnapshot) (TinyKV's `cf_iterator.go`).

use rocksdb::{DBRawIteratorWithThreadMode, ReadOptions};

use super::{util::cf_handle, DbSnapshot, Result, DB};

pub(super) fn read_options(upper: &[u8]) -> ReadOptions {
    bounded_read_options(&[], upper)
}

/// Read options limiting iteration to `[lower, upper)`; an empty bound is
/// no bound.
pub(super) fn bounded_read_options(lower: &[u8], upper: &[u8]) -> ReadOptions {
    let mut opts = ReadOptions::default();
    if !lower.is_empty() {
        opts.set_iterate_lower_bound(lower.to_vec());
    }
    if !upper.is_empty() {
        opts.set_iterate_upper_bound(upper.to_vec());
    }
    opts
}

/// A forward iterator over the keys of one column family, in byte order.
///
/// The protocol is TinyKV's: `seek(key)` positions at the first key `>=
/// key`; while `valid()`, `key()` / `value()` / `item()` read the current
/// pair and `next()` advances. It becomes invalid past the last key of the
/// CF, or at the upper bound if one was given.
///
/// ```no_run
/// # use kv::util::engine_util::{CfIterator, CF_DEFAULT, DB};
/// # fn scan(db: &DB) {
/// let mut it = CfIterator::new(db, CF_DEFAULT);
/// it.seek(b"a");
/// while it.valid() {
///     println!("{:?} = {:?}", it.key(), it.value());
///     it.next();
/// }
/// # }
/// ```
///
/// If RocksDB hits an error the iterator turns invalid and
/// [`CfIterator::status`] returns the error.
pub struct CfIterator<'a> {
    raw: DBRawIteratorWithThreadMode<'a, DB>,
}

/// The pair an iterator is positioned at (TinyKV's `DBItem`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CfItem<'a> {
    key: &'a [u8],
    value: &'a [u8],
}

impl<'a> CfItem<'a> {
    pub fn key(&self) -> &'a [u8] {
        self.key
    }

    pub fn key_copy(&self) -> Vec<u8> {
        self.key.to_vec()
    }

    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    pub fn value_copy(&self) -> Vec<u8> {
        self.value.to_vec()
    }

    pub fn value_size(&self) -> usize {
        self.value.len()
    }
}

impl<'a> CfIterator<'a> {
    /// An iterator over `cf` of `db` (the DB's latest state). Not
    /// positioned yet: call [`CfIterator::seek`] or
    /// [`CfIterator::seek_to_first`].
    ///
    /// Panics if `cf` is not one of [`ALL_CFS`](super::ALL_CFS): every
    /// engine is opened with all of them, so an unknown name is a bug.
    pub fn new(db: &'a DB, cf: &str) -> Self {
        Self::with_upper_bound(db, cf, &[])
    }

    /// Like [`CfIterator::new`], but stops before `upper` (exclusive; empty
    /// = no bound). Bounded scans let RocksDB skip work past the range.
    pub fn with_upper_bound(db: &'a DB, cf: &str, upper: &[u8]) -> Self {
        let handle =
            cf_handle(db, cf).unwrap_or_else(|e| panic!("iterate {}: {e}", db.path().display()));
        CfIterator {
            raw: db.raw_iterator_cf_opt(handle, read_options(upper)),
        }
    }

    /// An iterator over `cf` as of `snap` (TinyKV's `NewCFIterator(cf, txn)`).
    pub fn from_snapshot(snap: &'a DbSnapshot, cf: &str) -> Self {
        snap.iter_cf(cf)
    }

    pub(super) fn from_raw(raw: DBRawIteratorWithThreadMode<'a, DB>) -> Self {
        CfIterator { raw }
    }

    /// Positions at the first key `>= key`.
    pub fn seek(&mut self, key: &[u8]) {
        self.raw.seek(key);
    }

    /// Positions at the first key of the CF.
    pub fn seek_to_first(&mut self) {
        self.raw.seek_to_first();
    }

    /// Whether the iterator is positioned at a pair.
    pub fn valid(&self) -> bool {
        self.raw.valid()
    }

    /// Advances to the next key. Panics if not [`CfIterator::valid`].
    pub fn next(&mut self) {
        assert!(self.raw.valid(), "CfIterator::next on an invalid iterator");
        self.raw.next();
    }

    /// The current key. Panics if not [`CfIterator::valid`].
    pub fn key(&self) -> &[u8] {
        self.raw
            .key()
            .expect("CfIterator::key on an invalid iterator")
    }

    /// The current value. Panics if not [`CfIterator::valid`].
    pub fn value(&self) -> &[u8] {
        self.raw
            .value()
            .expect("CfIterator::value on an invalid iterator")
    }

    /// The current pair. Panics if not [`CfIterator::valid`].
    pub fn item(&self) -> CfItem<'_> {
        let (key, value) = self
            .raw
            .item()
            .expect("CfIterator::item on an invalid iterator");
        CfItem { key, value }
    }

    /// The error that made the iterator invalid, if any.
    pub fn status(&self) -> Result<()> {
        Ok(self.raw.status()?)
    }
}
