//! The raft log as one node sees it: the stable part that lives in
//! [`Storage`], plus entries not yet persisted, plus a snapshot received but
//! not yet applied.
//!
//! ```text
//!   snapshot/first.....applied....committed....stabled.....last
//!   --------|------------------------------------------------|
//!                             log entries
//! ```

use prost::Message as _;

use crate::eraftpb::{Entry, Snapshot};
use crate::errors::{Result, StorageError};
use crate::storage::Storage;

/// One node's raft log: its entries, persisted or not, and how far they
/// are committed, applied and persisted.
pub struct RaftLog<T: Storage> {
    /// Every entry persisted since the last snapshot.
    pub storage: T,
    /// Highest index known to be stored on a quorum.
    pub committed: u64,
    /// Highest index handed to the application to apply.
    /// Invariant: `applied <= committed`.
    pub applied: u64,
    /// Entries up to this index are persisted in `storage`.
    pub stabled: u64,
    /// Every entry not yet compacted, stable or not: `entries[i]` has index
    /// `first_index + i`.
    pub entries: Vec<Entry>,
    /// A snapshot received from the leader and not yet handed to the
    /// application through a `Ready`.
    pub pending_snapshot: Option<Snapshot>,
    /// Index of `entries[0]`; one past the last compacted entry.
    first_index: u64,
}

impl<T: Storage> RaftLog<T> {
    /// Restores the log from `storage`: everything in it counts as stable,
    /// and everything before its first index as applied.
    pub fn new(storage: T) -> Self {
        // student: begin 2AA: restore the log from storage: its entries count as stable, everything before its first index as applied
        let first = storage.first_index().expect("storage first_index");
        let last = storage.last_index().expect("storage last_index");
        let entries = if last >= first {
            storage.entries(first, last + 1).expect("storage entries")
        } else {
            Vec::new()
        };
        let (hs, _) = storage.initial_state().expect("storage initial_state");
        RaftLog {
            storage,
            committed: hs.commit,
            applied: first - 1,
            stabled: last,
            entries,
            pending_snapshot: None,
            first_index: first,
        }
        // student: end
    }

    /// Index of the first entry still held in memory.
    pub fn first_index(&self) -> u64 {
        // student: begin 2AA: index of the first entry held in memory
        self.first_index
        // student: end
    }

    /// Index of the last entry, persisted or not.
    pub fn last_index(&self) -> u64 {
        // student: begin 2AA: index of the last entry
        self.first_index + self.entries.len() as u64 - 1
        // student: end
    }

    /// Term of the last entry, or 0 if it cannot be found.
    pub fn last_term(&self) -> u64 {
        self.term(self.last_index()).unwrap_or(0)
    }

    /// Term of the entry at `i`.
    pub fn term(&self, i: u64) -> Result<u64> {
        // student: begin 2AA: the term of entry `i`, from memory, the pending snapshot or storage
        if i >= self.first_index {
            return match self.entries.get((i - self.first_index) as usize) {
                Some(e) => Ok(e.term),
                None => Err(StorageError::Unavailable.into()),
            };
        }
        // student: begin 2C: an index at or before a pending snapshot is answered by the snapshot
        if let Some(meta) = self
            .pending_snapshot
            .as_ref()
            .and_then(|s| s.metadata.as_ref())
        {
            if meta.index == i {
                return Ok(meta.term);
            }
            if i < meta.index {
                return Err(StorageError::Compacted.into());
            }
        }
        // student: stub
        // student: end
        self.storage.term(i)
        // student: end
    }

    /// True if the entry at `i` exists and has term `term`.
    pub fn match_term(&self, i: u64, term: u64) -> bool {
        // student: begin 2AB: true if entry `i` exists with term `term`
        self.term(i).is_ok_and(|t| t == term)
        // student: end
    }

    /// Drops entries that the application has compacted out of storage.
    pub fn maybe_compact(&mut self) {
        // student: begin 2C: drop the in-memory entries the storage has compacted away
        let Ok(first) = self.storage.first_index() else {
            return;
        };
        if first > self.first_index {
            let n = ((first - self.first_index) as usize).min(self.entries.len());
            self.entries.drain(..n);
            self.first_index = first;
        }
        // student: end
    }

    /// All entries held in memory (compacted ones excluded).
    pub fn all_entries(&self) -> Vec<Entry> {
        // student: begin 2AB: every entry held in memory
        self.entries.clone()
        // student: end
    }

    /// Entries not yet persisted.
    pub fn unstable_entries(&self) -> &[Entry] {
        // student: begin 2AB: the entries after `stabled`
        let from = (self.stabled + 1).saturating_sub(self.first_index) as usize;
        &self.entries[from.min(self.entries.len())..]
        // student: end
    }

    /// Entries committed but not yet applied.
    pub fn next_ents(&self) -> Vec<Entry> {
        // student: begin 2AB: the entries committed but not yet applied
        self.slice(self.applied + 1, self.committed + 1).to_vec()
        // student: end
    }

    /// True if [`next_ents`](Self::next_ents) is not empty.
    pub fn has_next_ents(&self) -> bool {
        // student: begin 2AB: true if there are entries committed but not yet applied
        self.committed > self.applied && self.committed >= self.first_index
        // student: end
    }

    /// Entries in `[lo, hi)` that are held in memory.
    pub fn slice(&self, lo: u64, hi: u64) -> &[Entry] {
        // student: begin 2AB: the in-memory entries of [lo, hi)
        let lo = lo.max(self.first_index);
        let hi = hi.min(self.last_index() + 1);
        if lo >= hi {
            return &[];
        }
        let off = self.first_index;
        &self.entries[(lo - off) as usize..(hi - off) as usize]
        // student: end
    }

    /// Entries from `lo` on, as many as fit in `max_size` bytes (encoded)
    /// but at least one; or `Compacted` if `lo` is gone.
    pub fn entries_from(&self, lo: u64, max_size: u64) -> Result<Vec<Entry>> {
        // student: begin 2AB: the entries from `lo` on, at most `max_size` bytes of them (but at least one), or Compacted
        if lo < self.first_index {
            return Err(StorageError::Compacted.into());
        }
        let ents = self.slice(lo, self.last_index() + 1);
        let mut size = 0u64;
        let mut n = 0;
        for e in ents {
            size += e.encoded_len() as u64;
            if n > 0 && size > max_size {
                break;
            }
            n += 1;
        }
        Ok(ents[..n].to_vec())
        // student: end
    }

    /// Appends entries that follow the log's last entry or overwrite a
    /// conflicting suffix; `ents` must be contiguous.
    pub fn append(&mut self, ents: &[Entry]) {
        // student: begin 2AB: append contiguous entries, truncating a conflicting suffix first (and `stabled` with it)
        let Some(head) = ents.first() else {
            return;
        };
        assert!(
            head.index > self.committed,
            "append at {} would overwrite committed entry {}",
            head.index,
            self.committed
        );
        assert!(
            head.index <= self.last_index() + 1,
            "append at {} leaves a gap after last index {}",
            head.index,
            self.last_index()
        );
        if head.index <= self.last_index() {
            self.entries
                .truncate((head.index - self.first_index) as usize);
            self.stabled = self.stabled.min(head.index - 1);
        }
        self.entries.extend_from_slice(ents);
        // student: end
    }

    /// Raises the commit index to `i` if that is an advance.
    pub fn commit_to(&mut self, i: u64) {
        // student: begin 2AB: raise the commit index to `i`
        if i > self.committed {
            assert!(
                i <= self.last_index(),
                "commit {} is out of range [last index {}]",
                i,
                self.last_index()
            );
            self.committed = i;
        }
        // student: end
    }

    /// Replaces the whole log by a snapshot taken at its index. The entries
    /// behind it count as committed and applied: applying the snapshot is
    /// the application's job.
    pub fn restore(&mut self, snap: Snapshot) {
        // student: begin 2C: replace the log by a snapshot: everything up to it is committed, applied and stable; keep it pending
        let meta = snap.metadata.clone().unwrap_or_default();
        self.entries.clear();
        self.first_index = meta.index + 1;
        self.committed = meta.index;
        self.applied = meta.index;
        self.stabled = meta.index;
        self.pending_snapshot = Some(snap);
        // student: end
    }
}
