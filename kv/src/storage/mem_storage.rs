//! An in-memory [`Storage`] for the transaction tests (TinyKV's
//! `MemStorage`): three ordered maps, nothing on disk, no replication.
//!
//! Besides the storage interface it lets a test lay data down directly
//! ([`MemStorage::set`]) and then ask what a command did to it: the value
//! under a key ([`MemStorage::get`]), how many keys a column family holds
//! ([`MemStorage::len`]), and whether a key laid down by the test is still
//! there untouched ([`MemStorage::has_changed`]).
//!
//! Readers are snapshots: the maps sit behind an `Arc` that a write copies
//! only while a reader still holds the old version, so taking a reader is
//! cheap and what it sees never moves under it.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use proto::kvrpcpb::Context;

use crate::storage::{is_user_cf, DbIterator, Modify, Storage, StorageReader};
use crate::util::engine_util::{CF_DEFAULT, CF_LOCK, CF_WRITE};

/// A stored value, and whether it is still the one the test set.
#[derive(Clone, Debug)]
struct Entry {
    value: Vec<u8>,
    /// Set by [`MemStorage::set`], cleared when a write replaces it.
    fresh: bool,
}

type Cf = BTreeMap<Vec<u8>, Entry>;

#[derive(Clone, Debug, Default)]
struct Cfs {
    default: Cf,
    lock: Cf,
    write: Cf,
}

impl Cfs {
    fn cf(&self, cf: &str) -> Option<&Cf> {
        match cf {
            CF_DEFAULT => Some(&self.default),
            CF_LOCK => Some(&self.lock),
            CF_WRITE => Some(&self.write),
            _ => None,
        }
    }

    fn cf_mut(&mut self, cf: &str) -> Option<&mut Cf> {
        match cf {
            CF_DEFAULT => Some(&mut self.default),
            CF_LOCK => Some(&mut self.lock),
            CF_WRITE => Some(&mut self.write),
            _ => None,
        }
    }
}

/// The in-memory storage. Clones share the same data, so a test can keep
/// one handle to inspect and give another to the server.
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    data: Arc<Mutex<Arc<Cfs>>>,
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }

    fn current(&self) -> Arc<Cfs> {
        self.data.lock().expect("mem storage lock poisoned").clone()
    }

    fn update<R>(&self, f: impl FnOnce(&mut Cfs) -> R) -> R {
        let mut guard = self.data.lock().expect("mem storage lock poisoned");
        f(Arc::make_mut(&mut guard))
    }

    /// Lays down `key = value` in `cf` as test data: a later
    /// [`MemStorage::has_changed`] is false until a write touches the key.
    /// Panics on an unknown column family (a bug in the test).
    pub fn set(&self, cf: &str, key: &[u8], value: &[u8]) {
        self.update(|cfs| {
            let map = cfs
                .cf_mut(cf)
                .unwrap_or_else(|| panic!("MemStorage::set: unknown column family {cf:?}"));
            map.insert(
                key.to_vec(),
                Entry {
                    value: value.to_vec(),
                    fresh: true,
                },
            );
        })
    }

    /// The value under `key` in `cf` now; `None` if absent (or the CF is
    /// unknown).
    pub fn get(&self, cf: &str, key: &[u8]) -> Option<Vec<u8>> {
        self.current()
            .cf(cf)
            .and_then(|m| m.get(key))
            .map(|e| e.value.clone())
    }

    /// Whether `key` in `cf` is no longer what [`MemStorage::set`] put
    /// there: true if it is absent, or if a write has replaced it.
    pub fn has_changed(&self, cf: &str, key: &[u8]) -> bool {
        self.current()
            .cf(cf)
            .and_then(|m| m.get(key))
            .is_none_or(|e| !e.fresh)
    }

    /// The number of keys in `cf`. Panics on an unknown column family.
    pub fn len(&self, cf: &str) -> usize {
        self.current()
            .cf(cf)
            .unwrap_or_else(|| panic!("MemStorage::len: unknown column family {cf:?}"))
            .len()
    }

    /// Whether all three column families are empty.
    pub fn is_empty(&self) -> bool {
        let cfs = self.current();
        cfs.default.is_empty() && cfs.lock.is_empty() && cfs.write.is_empty()
    }
}

fn bad_cf(cf: &str) -> crate::Error {
    crate::Error::Other(format!("mem storage: invalid column family {cf:?}"))
}

impl Storage for MemStorage {
    fn start(&mut self) -> crate::Result<()> {
        Ok(())
    }

    fn stop(&mut self) -> crate::Result<()> {
        Ok(())
    }

    /// Applies the whole batch or, if it names an unknown column family,
    /// nothing.
    fn write(&self, _ctx: &Context, batch: Vec<Modify>) -> crate::Result<()> {
        if let Some(m) = batch.iter().find(|m| !is_user_cf(m.cf())) {
            return Err(bad_cf(m.cf()));
        }
        self.update(|cfs| {
            for m in batch {
                match m {
                    Modify::Put { cf, key, value } => {
                        let entry = Entry {
                            value,
                            fresh: false,
                        };
                        cfs.cf_mut(&cf).expect("checked above").insert(key, entry);
                    }
                    Modify::Delete { cf, key } => {
                        cfs.cf_mut(&cf).expect("checked above").remove(&key);
                    }
                }
            }
        });
        Ok(())
    }

    fn reader(&self, _ctx: &Context) -> crate::Result<Box<dyn StorageReader>> {
        Ok(Box::new(MemReader {
            snap: self.current(),
        }))
    }
}

/// A snapshot of a [`MemStorage`].
pub struct MemReader {
    snap: Arc<Cfs>,
}

impl StorageReader for MemReader {
    fn get_cf(&self, cf: &str, key: &[u8]) -> crate::Result<Option<Vec<u8>>> {
        let map = self.snap.cf(cf).ok_or_else(|| bad_cf(cf))?;
        Ok(map.get(key).map(|e| e.value.clone()))
    }

    /// An iterator over `cf`, positioned at its first key; an empty one for
    /// an unknown column family.
    fn iter_cf(&self, cf: &str) -> Box<dyn DbIterator + '_> {
        static EMPTY: Cf = BTreeMap::new();
        let map = self.snap.cf(cf).unwrap_or(&EMPTY);
        let mut it = MemIterator { map, cur: None };
        it.cur = map.iter().next();
        Box::new(it)
    }
}

/// A position in one column family of a [`MemReader`].
struct MemIterator<'a> {
    map: &'a Cf,
    cur: Option<(&'a Vec<u8>, &'a Entry)>,
}

impl MemIterator<'_> {
    fn current(&self) -> (&Vec<u8>, &Entry) {
        self.cur.expect("MemIterator used while not valid")
    }
}

impl DbIterator for MemIterator<'_> {
    fn seek(&mut self, key: &[u8]) {
        self.cur = self
            .map
            .range::<[u8], _>((Bound::Included(key), Bound::Unbounded))
            .next();
    }

    fn valid(&self) -> bool {
        self.cur.is_some()
    }

    fn next(&mut self) {
        let (key, _) = self.current();
        self.cur = self
            .map
            .range::<[u8], _>((Bound::Excluded(key.as_slice()), Bound::Unbounded))
            .next();
    }

    fn key(&self) -> &[u8] {
        self.current().0
    }

    fn value(&self) -> &[u8] {
        &self.current().1.value
    }

    fn status(&self) -> crate::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_is_a_snapshot() {
        let mem = MemStorage::new();
        mem.set(CF_DEFAULT, b"a", b"1");
        let reader = mem.reader(&Context::default()).unwrap();
        mem.write(
            &Context::default(),
            vec![
                Modify::put(CF_DEFAULT, b"b", b"2"),
                Modify::delete(CF_DEFAULT, b"a"),
            ],
        )
        .unwrap();
        assert_eq!(
            reader.get_cf(CF_DEFAULT, b"a").unwrap(),
            Some(b"1".to_vec())
        );
        assert_eq!(reader.get_cf(CF_DEFAULT, b"b").unwrap(), None);
        assert_eq!(mem.get(CF_DEFAULT, b"a"), None);
        assert_eq!(mem.get(CF_DEFAULT, b"b"), Some(b"2".to_vec()));
    }

    #[test]
    fn iterator_seeks_and_walks_in_order() {
        let mem = MemStorage::new();
        for k in [&b"c"[..], b"a", b"b2", b"b"] {
            mem.set(CF_WRITE, k, k);
        }
        let reader = mem.reader(&Context::default()).unwrap();
        let mut it = reader.iter_cf(CF_WRITE);
        let mut seen = Vec::new();
        while it.valid() {
            seen.push(it.key().to_vec());
            it.next();
        }
        assert_eq!(
            seen,
            vec![b"a".to_vec(), b"b".to_vec(), b"b2".to_vec(), b"c".to_vec()]
        );
        it.seek(b"b1");
        assert_eq!(it.key(), b"b2");
        assert_eq!(it.value(), b"b2");
        it.seek(b"d");
        assert!(!it.valid());
        assert!(!reader.iter_cf("raft").valid());
    }

    #[test]
    fn has_changed_tracks_test_data() {
        let mem = MemStorage::new();
        mem.set(CF_LOCK, b"k", b"v");
        assert!(!mem.has_changed(CF_LOCK, b"k"));
        assert!(mem.has_changed(CF_LOCK, b"other"));
        mem.write(&Context::default(), vec![Modify::put(CF_LOCK, b"k", b"v")])
            .unwrap();
        assert!(mem.has_changed(CF_LOCK, b"k"));
        assert_eq!(mem.len(CF_LOCK), 1);
        assert!(mem
            .write(&Context::default(), vec![Modify::put("raft", b"k", b"v")])
            .is_err());
    }
}
