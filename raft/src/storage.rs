//! The interface through which raft reads its persisted log, and an
//! in-memory implementation used by tests and examples.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use crate::errors::{Error, Result, StorageError};

/// Read access to the stable part of a raft log.
///
/// Entries the application has appended (from [`Ready::entries`](crate::Ready))
/// must be visible here before [`RawNode::advance`](crate::RawNode::advance).
/// Errors from [`Storage::entries`] and [`Storage::term`] of kind
/// [`StorageError::Compacted`] or [`StorageError::Unavailable`] are expected
/// and steer raft; any other error is fatal.
pub trait Storage {
    /// The saved hard state and the membership at startup.
    fn initial_state(&self) -> Result<(HardState, ConfState)>;
    /// Entries in `[lo, hi)`.
    fn entries(&self, lo: u64, hi: u64) -> Result<Vec<Entry>>;
    /// Term of the entry at `i`, for `i` in `[first_index - 1, last_index]`.
    fn term(&self, i: u64) -> Result<u64>;
    /// Index of the last stored entry.
    fn last_index(&self) -> Result<u64>;
    /// Index of the first entry that may still be read with `entries`; older
    /// ones were compacted into a snapshot.
    fn first_index(&self) -> Result<u64>;
    /// The most recent snapshot, or `SnapshotTemporarilyUnavailable` while
    /// one is being built.
    fn snapshot(&self) -> Result<Snapshot>;
}

/// State behind a [`MemoryStorage`] handle.
#[derive(Debug, Default)]
pub struct MemoryStorageCore {
    hard_state: HardState,
    snapshot: Snapshot,
    /// `ents[0]` is a dummy that stands for the snapshot point: its index and
    /// term are those of the last compacted entry.
    ents: Vec<Entry>,
}

fn snapshot_metadata(snap: &Snapshot) -> SnapshotMetadata {
    snap.metadata.clone().unwrap_or_default()
}

impl MemoryStorageCore {
    fn offset(&self) -> u64 {
        self.ents[0].index
    }

    fn first_index(&self) -> u64 {
        self.offset() + 1
    }

    fn last_index(&self) -> u64 {
        self.offset() + self.ents.len() as u64 - 1
    }

    /// Saves `hs` as the persisted hard state.
    pub fn set_hard_state(&mut self, hs: HardState) {
        self.hard_state = hs;
    }

    /// The persisted hard state.
    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    /// The raw entry array, dummy first; tests build odd logs with it.
    #[cfg(test)]
    pub(crate) fn ents_mut(&mut self) -> &mut Vec<Entry> {
        &mut self.ents
    }

    /// Replaces the contents with `snap`; refused unless it is newer.
    pub fn apply_snapshot(&mut self, snap: Snapshot) -> Result<()> {
        let have = snapshot_metadata(&self.snapshot).index;
        let meta = snapshot_metadata(&snap);
        if have >= meta.index {
            return Err(StorageError::SnapOutOfDate.into());
        }
        self.ents = vec![Entry {
            index: meta.index,
            term: meta.term,
            ..Default::default()
        }];
        self.snapshot = snap;
        Ok(())
    }

    /// Makes a snapshot at applied index `i`, holding `data`.
    pub fn create_snapshot(
        &mut self,
        i: u64,
        cs: Option<ConfState>,
        data: Vec<u8>,
    ) -> Result<Snapshot> {
        let mut meta = snapshot_metadata(&self.snapshot);
        if i <= meta.index {
            return Err(StorageError::SnapOutOfDate.into());
        }
        assert!(
            i <= self.last_index(),
            "snapshot {} is out of bound lastindex({})",
            i,
            self.last_index()
        );
        meta.index = i;
        meta.term = self.ents[(i - self.offset()) as usize].term;
        if let Some(cs) = cs {
            meta.conf_state = Some(cs);
        }
        self.snapshot = Snapshot {
            data,
            metadata: Some(meta),
        };
        Ok(self.snapshot.clone())
    }

    /// Drops the entries before `compact_index`; the entry at
    /// `compact_index` becomes the new dummy.
    pub fn compact(&mut self, compact_index: u64) -> Result<()> {
        let offset = self.offset();
        if compact_index <= offset {
            return Err(StorageError::Compacted.into());
        }
        assert!(
            compact_index <= self.last_index(),
            "compact {} is out of bound lastindex({})",
            compact_index,
            self.last_index()
        );
        let i = (compact_index - offset) as usize;
        self.ents.drain(..i);
        self.ents[0].data.clear();
        self.ents[0].entry_type = 0;
        Ok(())
    }

    /// Appends `entries`, replacing any conflicting suffix. Entries older
    /// than the first index are ignored; a gap after the last index panics.
    pub fn append(&mut self, entries: &[Entry]) -> Result<()> {
        let Some(head) = entries.first() else {
            return Ok(());
        };
        let first = self.first_index();
        let last = head.index + entries.len() as u64 - 1;
        if last < first {
            return Ok(());
        }
        let entries = if first > head.index {
            &entries[(first - head.index) as usize..]
        } else {
            entries
        };
        let offset = (entries[0].index - self.offset()) as usize;
        assert!(
            offset <= self.ents.len(),
            "missing log entry [last: {}, append at: {}]",
            self.last_index(),
            entries[0].index
        );
        self.ents.truncate(offset);
        self.ents.extend_from_slice(entries);
        Ok(())
    }
}

/// An in-memory [`Storage`]. Cloning gives another handle to the same log,
/// so a test can keep one while raft owns the other.
#[derive(Clone, Debug)]
pub struct MemoryStorage {
    core: Arc<RwLock<MemoryStorageCore>>,
}

impl Default for MemoryStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStorage {
    /// An empty storage: no entries, an empty membership.
    pub fn new() -> Self {
        let core = MemoryStorageCore {
            hard_state: HardState::default(),
            snapshot: Snapshot {
                data: Vec::new(),
                metadata: Some(SnapshotMetadata {
                    conf_state: Some(ConfState::default()),
                    ..Default::default()
                }),
            },
            ents: vec![Entry::default()],
        };
        MemoryStorage {
            core: Arc::new(RwLock::new(core)),
        }
    }

    /// An empty storage whose initial membership is `nodes`.
    pub fn new_with_conf_state(nodes: Vec<u64>) -> Self {
        let s = Self::new();
        s.wl().snapshot.metadata.as_mut().unwrap().conf_state = Some(ConfState { nodes });
        s
    }

    /// Locks the storage for reading.
    pub fn rl(&self) -> RwLockReadGuard<'_, MemoryStorageCore> {
        self.core.read().unwrap()
    }

    /// Locks the storage for writing.
    pub fn wl(&self) -> RwLockWriteGuard<'_, MemoryStorageCore> {
        self.core.write().unwrap()
    }

    /// Saves `hs` as the persisted hard state.
    pub fn set_hard_state(&self, hs: HardState) {
        self.wl().set_hard_state(hs)
    }

    /// Replaces the whole log with `snap`; refused unless it is newer than
    /// the snapshot held.
    pub fn apply_snapshot(&self, snap: Snapshot) -> Result<()> {
        self.wl().apply_snapshot(snap)
    }

    /// Makes a snapshot at applied index `i` holding `data`, with
    /// membership `cs` if given (otherwise the previous snapshot's).
    pub fn create_snapshot(
        &self,
        i: u64,
        cs: Option<ConfState>,
        data: Vec<u8>,
    ) -> Result<Snapshot> {
        self.wl().create_snapshot(i, cs, data)
    }

    /// Discards the entries before `compact_index`.
    pub fn compact(&self, compact_index: u64) -> Result<()> {
        self.wl().compact(compact_index)
    }

    /// Appends `entries`, replacing any conflicting suffix.
    pub fn append(&self, entries: &[Entry]) -> Result<()> {
        self.wl().append(entries)
    }
}

impl Storage for MemoryStorage {
    fn initial_state(&self) -> Result<(HardState, ConfState)> {
        let core = self.rl();
        let cs = snapshot_metadata(&core.snapshot)
            .conf_state
            .unwrap_or_default();
        Ok((core.hard_state, cs))
    }

    fn entries(&self, lo: u64, hi: u64) -> Result<Vec<Entry>> {
        let core = self.rl();
        let offset = core.offset();
        if lo <= offset {
            return Err(StorageError::Compacted.into());
        }
        assert!(
            hi <= core.last_index() + 1,
            "entries' hi({}) is out of bound lastindex({})",
            hi,
            core.last_index()
        );
        if core.ents.len() == 1 && hi > lo {
            return Err(StorageError::Unavailable.into());
        }
        Ok(core.ents[(lo - offset) as usize..(hi - offset) as usize].to_vec())
    }

    fn term(&self, i: u64) -> Result<u64> {
        let core = self.rl();
        let offset = core.offset();
        if i < offset {
            return Err(StorageError::Compacted.into());
        }
        match core.ents.get((i - offset) as usize) {
            Some(e) => Ok(e.term),
            None => Err(StorageError::Unavailable.into()),
        }
    }

    fn last_index(&self) -> Result<u64> {
        Ok(self.rl().last_index())
    }

    fn first_index(&self) -> Result<u64> {
        Ok(self.rl().first_index())
    }

    fn snapshot(&self) -> Result<Snapshot> {
        Ok(self.rl().snapshot.clone())
    }
}

/// True for the errors a caller is expected to handle (log compacted or
/// not there yet), as opposed to a broken storage.
pub fn is_expected_storage_error(e: &Error) -> bool {
    matches!(
        e,
        Error::Store(StorageError::Compacted | StorageError::Unavailable)
    )
}
