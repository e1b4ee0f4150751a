//! A region's raft log and states on disk, as raft's [`Storage`].
//!
//! Raft state (hard state, last index/term) and log entries live in the raft
//! engine; the apply state (applied index, truncated state) and the region
//! state live in the kv engine, next to the data they describe, so that
//! applying a batch of entries and recording it is one atomic write.

use std::cell::{Cell, RefCell};

use crossbeam_channel::{bounded, Receiver, TryRecvError};
use prost::Message as _;
use proto::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use proto::metapb::Region;
use proto::raft_serverpb::{
    PeerState, RaftApplyState, RaftLocalState, RaftSnapshotData, RaftTruncatedState,
};
use raft::{Ready, Storage, StorageError};

use crate::raftstore::meta;
use crate::raftstore::runner::{RegionTask, RegionTaskSender};
use crate::raftstore::util::conf_state_from_region;
use crate::util::engine_util::{self, Engines, WriteBatch, CF_RAFT};

/// What a snapshot application changed: the region before and after.
#[derive(Debug, Clone)]
pub struct ApplySnapResult {
    pub prev_region: Region,
    pub region: Region,
}

/// Where snapshot generation stands.
#[derive(Debug, Default)]
pub enum SnapState {
    #[default]
    Relax,
    /// The region worker is building one; it arrives on the receiver.
    Generating(Receiver<Snapshot>),
    Applying,
}

fn storage_err(e: impl std::fmt::Display) -> raft::Error {
    raft::Error::Store(StorageError::Other(e.to_string()))
}

pub struct PeerStorage {
    region: Region,
    pub raft_state: RaftLocalState,
    pub apply_state: RaftApplyState,
    snap_state: RefCell<SnapState>,
    snap_tried_cnt: Cell<usize>,
    region_sched: RegionTaskSender,
    pub engines: Engines,
    pub tag: String,
}

impl PeerStorage {
    pub fn new(
        engines: Engines,
        region: Region,
        region_sched: RegionTaskSender,
        tag: String,
    ) -> crate::Result<PeerStorage> {
        tracing::debug!(%tag, ?region, "creating peer storage");
        let mut raft_state = meta::init_raft_local_state(&engines.raft, &region)?;
        let apply_state = meta::init_apply_state(&engines.kv, &region)?;
        // The commit index is written without sync, so a crash can leave it
        // behind what was applied; everything applied was committed.
        if let Some(hs) = raft_state.hard_state.as_mut() {
            if hs.commit < apply_state.applied_index {
                hs.commit = apply_state.applied_index;
            }
        }
        assert!(
            raft_state.last_index >= apply_state.applied_index,
            "{} unexpected raft log index: last index {} < applied index {}",
            tag,
            raft_state.last_index,
            apply_state.applied_index
        );
        Ok(PeerStorage {
            region,
            raft_state,
            apply_state,
            snap_state: RefCell::new(SnapState::Relax),
            snap_tried_cnt: Cell::new(0),
            region_sched,
            engines,
            tag,
        })
    }

    pub fn region(&self) -> &Region {
        &self.region
    }

    pub fn set_region(&mut self, region: Region) {
        self.region = region;
    }

    /// An uninitialized peer (created by a message, waiting for a snapshot)
    /// knows no peers of its region.
    pub fn is_initialized(&self) -> bool {
        !self.region.peers.is_empty()
    }

    fn truncated_state(&self) -> RaftTruncatedState {
        self.apply_state.truncated_state.unwrap_or_default()
    }

    pub fn truncated_index(&self) -> u64 {
        self.truncated_state().index
    }

    pub fn truncated_term(&self) -> u64 {
        self.truncated_state().term
    }

    pub fn applied_index(&self) -> u64 {
        self.apply_state.applied_index
    }

    fn hard_state(&self) -> HardState {
        self.raft_state.hard_state.unwrap_or_default()
    }

    fn check_range(&self, low: u64, high: u64) -> raft::Result<()> {
        if low > high {
            return Err(storage_err(format!(
                "low {} is greater than high {}",
                low, high
            )));
        }
        if low <= self.truncated_index() {
            return Err(StorageError::Compacted.into());
        }
        if high > self.raft_state.last_index + 1 {
            return Err(storage_err(format!(
                "entries' high {} is out of bound, last index {}",
                high, self.raft_state.last_index
            )));
        }
        Ok(())
    }

    /// A generated snapshot is usable if the log has not been truncated
    /// past it and its membership is not older than ours.
    fn validate_snap(&self, snap: &Snapshot) -> bool {
        let idx = snap.metadata.as_ref().map_or(0, |m| m.index);
        if idx < self.truncated_index() {
            tracing::info!(
                idx,
                truncated = self.truncated_index(),
                "snapshot is stale, generate again"
            );
            return false;
        }
        let data = match RaftSnapshotData::decode(snap.data.as_slice()) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(%e, "failed to decode snapshot");
                return false;
            }
        };
        let snap_conf_ver = data
            .region
            .and_then(|r| r.region_epoch)
            .map_or(0, |e| e.conf_ver);
        let conf_ver = self.region.region_epoch.as_ref().map_or(0, |e| e.conf_ver);
        if snap_conf_ver < conf_ver {
            tracing::info!(snap_conf_ver, conf_ver, "snapshot epoch is stale");
            return false;
        }
        true
    }

    /// Queues the log entries of a Ready, replacing any conflicting tail.
    pub fn append(&mut self, entries: &[Entry], raft_wb: &mut WriteBatch) {
        // student: begin 2B: queue the entries into `raft_wb` (skipping compacted ones), delete our log past the new tail, update last index and term
        // Entries at or before the truncated index are already compacted.
        let truncated = self.truncated_index();
        let skip = entries.iter().take_while(|e| e.index <= truncated).count();
        let entries = &entries[skip..];
        let (Some(first), Some(last)) = (entries.first(), entries.last()) else {
            return;
        };
        let region_id = self.region.id;
        for e in entries {
            raft_wb.set_meta(&meta::raft_log_key(region_id, e.index), e);
        }
        // Entries past the new tail belong to a log we just overwrote.
        for i in last.index + 1..=self.raft_state.last_index {
            raft_wb.delete_meta(&meta::raft_log_key(region_id, i));
        }
        debug_assert!(first.index <= self.raft_state.last_index + 1);
        self.raft_state.last_index = last.index;
        self.raft_state.last_term = last.term;
        // student: end
    }

    /// Installs a snapshot's metadata: the old log and states are cleared,
    /// the new region recorded, and everything up to the snapshot counts as
    /// applied. The data itself is ingested by the region worker afterwards
    /// (see [`apply_snapshot_data`](Self::apply_snapshot_data)).
    pub fn apply_snapshot(
        &mut self,
        snap: &Snapshot,
        kv_wb: &mut WriteBatch,
        raft_wb: &mut WriteBatch,
    ) -> crate::Result<ApplySnapResult> {
        // student: begin 2C: clear the old log and states, record the snapshot's region, states and apply mark in the batches; return old and new region
        tracing::info!("begin to apply snapshot");
        let data = RaftSnapshotData::decode(snap.data.as_slice())?;
        let new_region = data.region.unwrap_or_default();
        let snap_meta = snap.metadata.clone().unwrap_or_default();
        if self.is_initialized() {
            self.clear_meta(kv_wb, raft_wb)?;
            self.clear_extra_data(&new_region);
        }
        let mut hs = self.hard_state();
        hs.commit = hs.commit.max(snap_meta.index);
        hs.term = hs.term.max(snap_meta.term);
        self.raft_state.hard_state = Some(hs);
        self.raft_state.last_index = snap_meta.index;
        self.raft_state.last_term = snap_meta.term;
        self.apply_state.applied_index = snap_meta.index;
        self.apply_state.truncated_state = Some(RaftTruncatedState {
            index: snap_meta.index,
            term: snap_meta.term,
        });
        kv_wb.set_meta(&meta::apply_state_key(new_region.id), &self.apply_state);
        meta::write_region_state(kv_wb, &new_region, PeerState::Normal);
        // Marked until the region worker has laid the data down: a store
        // that stops in between finishes the job when it starts again
        // instead of serving a region whose states outrun its data.
        kv_wb.set_meta(&meta::snapshot_apply_key(new_region.id), &snap_meta);
        let prev_region = std::mem::replace(&mut self.region, new_region.clone());
        *self.snap_state.borrow_mut() = SnapState::Applying;
        Ok(ApplySnapResult {
            prev_region,
            region: new_region,
        })
        // student: end
    }

    /// Has the region worker replace the region's data with the snapshot's
    /// and waits until it is done. Call after the states written by
    /// [`apply_snapshot`](Self::apply_snapshot) are on disk.
    pub fn apply_snapshot_data(&mut self, snap_meta: SnapshotMetadata) {
        let (tx, rx) = bounded(1);
        let task = RegionTask::Apply {
            region_id: self.region.id,
            notifier: tx,
            snap_meta,
            start_key: self.region.start_key.clone(),
            end_key: self.region.end_key.clone(),
        };
        let applied =
            self.region_sched.send(task).is_ok() && self.region_sched.wait(&rx).unwrap_or(false);
        if applied {
            let mut kv_wb = WriteBatch::default();
            kv_wb.delete_meta(&meta::snapshot_apply_key(self.region.id));
            self.engines.write_kv(&kv_wb).expect("write kv batch");
        } else {
            tracing::error!("snapshot data not applied; it is retried at restart");
        }
        *self.snap_state.borrow_mut() = SnapState::Relax;
    }

    /// Persists what a Ready asks for into the write batches: a snapshot
    /// first (kv side into `kv_wb`), then the entries and hard state.
    /// Returns what the snapshot changed, if there was one.
    pub fn save_ready_state(
        &mut self,
        ready: &Ready,
        kv_wb: &mut WriteBatch,
        raft_wb: &mut WriteBatch,
    ) -> crate::Result<Option<ApplySnapResult>> {
        // student: begin 2B: persist a Ready: snapshot, entries and hard state into the batches; ask for a sync when entries, snapshot, term or vote changed
        let before = self.raft_state;
        let mut result = None;
        // student: begin 2C: a Ready with a snapshot installs it first (apply_snapshot)
        if let Some(snap) = ready
            .snapshot
            .as_ref()
            .filter(|s| !raft::util::is_empty_snap(s))
        {
            result = Some(self.apply_snapshot(snap, kv_wb, raft_wb)?);
        }
        // student: stub
        // student: end
        self.append(&ready.entries, raft_wb);
        let mut term_or_vote_changed = false;
        if let Some(hs) = &ready.hard_state {
            let old = before.hard_state.unwrap_or_default();
            term_or_vote_changed = hs.term != old.term || hs.vote != old.vote;
            self.raft_state.hard_state = Some(*hs);
        }
        // Entries, a snapshot, a new term or a vote must survive a crash
        // before anyone hears of them. A commit index alone need not: it is
        // learnt again from the leader, and on restart the applied index
        // bounds it from below (see `PeerStorage::new`).
        if result.is_some() || !ready.entries.is_empty() || term_or_vote_changed {
            raft_wb.set_sync(true);
        }
        if self.raft_state != before {
            raft_wb.set_meta(&meta::raft_state_key(self.region.id), &self.raft_state);
        }
        Ok(result)
        // student: end
    }

    /// Deletes the region's data (whole range) in the background.
    pub fn clear_data(&self) {
        self.clear_range(self.region.id, &self.region.start_key, &self.region.end_key);
    }

    /// Deletes, in the background, the parts of the old range that the new
    /// region no longer covers.
    fn clear_extra_data(&self, new_region: &Region) {
        let (old_start, old_end) = (&self.region.start_key, &self.region.end_key);
        let (new_start, new_end) = (&new_region.start_key, &new_region.end_key);
        if old_start < new_start {
            self.clear_range(new_region.id, old_start, new_start);
        }
        if (new_end < old_end && !new_end.is_empty()) || (old_end.is_empty() && !new_end.is_empty())
        {
            self.clear_range(new_region.id, new_end, old_end);
        }
    }

    fn clear_range(&self, region_id: u64, start: &[u8], end: &[u8]) {
        let _ = self.region_sched.send(RegionTask::Destroy {
            region_id,
            start_key: start.to_vec(),
            end_key: end.to_vec(),
        });
    }

    /// Queues deletion of this peer's raft log, raft state, apply state and
    /// region state.
    pub fn clear_meta(
        &self,
        kv_wb: &mut WriteBatch,
        raft_wb: &mut WriteBatch,
    ) -> crate::Result<()> {
        clear_meta(
            &self.engines,
            kv_wb,
            raft_wb,
            self.region.id,
            self.raft_state.last_index,
        )
    }
}

/// Queues deletion of every meta key of `region_id`: its region and apply
/// state (kv) and its raft state and log entries up to `last_index` (raft).
pub fn clear_meta(
    engines: &Engines,
    kv_wb: &mut WriteBatch,
    raft_wb: &mut WriteBatch,
    region_id: u64,
    last_index: u64,
) -> crate::Result<()> {
    kv_wb.delete_meta(&meta::region_state_key(region_id));
    kv_wb.delete_meta(&meta::apply_state_key(region_id));
    kv_wb.delete_meta(&meta::snapshot_apply_key(region_id));
    let begin = meta::raft_log_key(region_id, 0);
    let end = meta::raft_log_key(region_id, last_index + 1);
    let mut first_index = last_index + 1;
    let mut it = engine_util::CfIterator::new(&engines.raft, CF_RAFT);
    it.seek(&begin);
    if it.valid() && it.key() < end.as_slice() {
        first_index = meta::raft_log_index(it.key())?;
    }
    for i in first_index..=last_index {
        raft_wb.delete_meta(&meta::raft_log_key(region_id, i));
    }
    raft_wb.delete_meta(&meta::raft_state_key(region_id));
    tracing::info!(
        region_id,
        logs = last_index + 1 - first_index,
        "cleared peer meta"
    );
    Ok(())
}

impl Storage for PeerStorage {
    fn initial_state(&self) -> raft::Result<(HardState, ConfState)> {
        let hs = self.hard_state();
        if hs == HardState::default() {
            assert!(
                !self.is_initialized(),
                "{} peer for region {:?} is initialized but its hard state is empty",
                self.tag,
                self.region
            );
            return Ok((HardState::default(), ConfState::default()));
        }
        Ok((hs, conf_state_from_region(&self.region)))
    }

    fn entries(&self, low: u64, high: u64) -> raft::Result<Vec<Entry>> {
        self.check_range(low, high)?;
        if low == high {
            return Ok(Vec::new());
        }
        let mut buf = Vec::with_capacity((high - low) as usize);
        let start = meta::raft_log_key(self.region.id, low);
        let end = meta::raft_log_key(self.region.id, high);
        let mut it = engine_util::CfIterator::new(&self.engines.raft, CF_RAFT);
        it.seek(&start);
        let mut next = low;
        while it.valid() && it.key() < end.as_slice() {
            let e = Entry::decode(it.value()).map_err(storage_err)?;
            // A gap means the log is not contiguous here (yet).
            if e.index != next {
                break;
            }
            next += 1;
            buf.push(e);
            it.next();
        }
        if buf.len() == (high - low) as usize {
            Ok(buf)
        } else {
            Err(StorageError::Unavailable.into())
        }
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx == self.truncated_index() {
            return Ok(self.truncated_term());
        }
        self.check_range(idx, idx + 1)?;
        if self.truncated_term() == self.raft_state.last_term || idx == self.raft_state.last_index {
            return Ok(self.raft_state.last_term);
        }
        let key = meta::raft_log_key(self.region.id, idx);
        match engine_util::get_meta::<Entry>(&self.engines.raft, &key).map_err(storage_err)? {
            Some(e) => Ok(e.term),
            None => Err(StorageError::Unavailable.into()),
        }
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.raft_state.last_index)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.truncated_index() + 1)
    }

    /// Snapshots are built asynchronously by the region worker: the first
    /// call starts a build and says "temporarily unavailable"; a later call
    /// picks the result up.
    fn snapshot(&self) -> raft::Result<Snapshot> {
        let mut state = self.snap_state.borrow_mut();
        if let SnapState::Generating(rx) = &*state {
            match rx.try_recv() {
                Ok(snap) => {
                    *state = SnapState::Relax;
                    self.snap_tried_cnt.set(0);
                    if self.validate_snap(&snap) {
                        return Ok(snap);
                    }
                }
                Err(TryRecvError::Empty) => {
                    return Err(StorageError::SnapshotTemporarilyUnavailable.into())
                }
                Err(TryRecvError::Disconnected) => {
                    *state = SnapState::Relax;
                    tracing::warn!(
                        tries = self.snap_tried_cnt.get(),
                        "failed to generate snapshot"
                    );
                }
            }
        }
        if self.snap_tried_cnt.get() >= 5 {
            let tries = self.snap_tried_cnt.replace(0);
            return Err(storage_err(format!(
                "failed to get snapshot after {} times",
                tries
            )));
        }
        tracing::info!("requesting snapshot");
        self.snap_tried_cnt.set(self.snap_tried_cnt.get() + 1);
        let (tx, rx) = bounded(1);
        *state = SnapState::Generating(rx);
        let _ = self.region_sched.send(RegionTask::Gen {
            region_id: self.region.id,
            notifier: tx,
        });
        Err(StorageError::SnapshotTemporarilyUnavailable.into())
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use crate::raftstore::bootstrap::{bootstrap_store, prepare_bootstrap};
    use crate::raftstore::util::new_test_engines;
    use crate::util::engine_util::CfIterator;

    use crate::raftstore::runner::RegionTaskSender;

    /// A peer storage whose log starts at zero instead of 5.
    fn new_peer_storage_from_zero() -> PeerStorage {
        let engines = new_test_engines();
        bootstrap_store(&engines, 1, 1).unwrap();
        let region = prepare_bootstrap(&engines, 1, 1, 1).unwrap();
        let (tx, _rx) = crossbeam_channel::unbounded();
        let mut ps = PeerStorage::new(
            engines,
            region,
            RegionTaskSender::threaded(tx),
            String::new(),
        )
        .unwrap();
        ps.raft_state = RaftLocalState {
            hard_state: Some(HardState::default()),
            ..Default::default()
        };
        ps.apply_state = RaftApplyState {
            truncated_state: Some(RaftTruncatedState::default()),
            ..Default::default()
        };
        ps
    }

    fn new_test_peer_storage_from_ents(ents: &[Entry]) -> PeerStorage {
        let mut ps = new_peer_storage_from_zero();
        let mut kv_wb = WriteBatch::default();
        let mut raft_wb = WriteBatch::default();
        ps.append(&ents[1..], &mut raft_wb);
        ps.apply_state.truncated_state = Some(RaftTruncatedState {
            index: ents[0].index,
            term: ents[0].term,
        });
        ps.apply_state.applied_index = ents.last().unwrap().index;
        kv_wb.set_meta(&meta::apply_state_key(ps.region().id), &ps.apply_state);
        ps.engines.write_raft(&raft_wb).unwrap();
        ps.engines.write_kv(&kv_wb).unwrap();
        ps
    }

    fn clean_up(ps: PeerStorage) {
        let engines = ps.engines.clone();
        drop(ps);
        engines.destroy().unwrap();
    }

    fn new_test_entry(index: u64, term: u64) -> Entry {
        Entry {
            index,
            term,
            data: vec![0],
            ..Default::default()
        }
    }

    fn append_ents(ps: &mut PeerStorage, ents: &[Entry]) {
        let mut raft_wb = WriteBatch::default();
        ps.append(ents, &mut raft_wb);
        raft_wb.set_meta(&meta::raft_state_key(ps.region().id), &ps.raft_state);
        ps.engines.write_raft(&raft_wb).unwrap();
    }

    fn count_range(db: &crate::util::engine_util::DB, start: &[u8], end: &[u8]) -> usize {
        let mut it = CfIterator::new(db, CF_RAFT);
        it.seek(start);
        let mut n = 0;
        while it.valid() && it.key() < end {
            n += 1;
            it.next();
        }
        n
    }

    fn get_meta_key_count(ps: &PeerStorage) -> usize {
        let id = ps.region().id;
        let (meta_start, meta_end) = (
            meta::region_meta_prefix_key(id),
            meta::region_meta_prefix_key(id + 1),
        );
        let (raft_start, raft_end) = (
            meta::region_raft_prefix_key(id),
            meta::region_raft_prefix_key(id + 1),
        );
        // Like Go's helper, the kv engine's meta range is counted twice.
        count_range(&ps.engines.kv, &meta_start, &meta_end)
            + count_range(&ps.engines.kv, &meta_start, &meta_end)
            + count_range(&ps.engines.raft, &raft_start, &raft_end)
    }

    #[test]
    fn TestPeerStorageTerm() {
        let ents = [
            new_test_entry(3, 3),
            new_test_entry(4, 4),
            new_test_entry(5, 5),
        ];
        let cases: [(u64, u64, Option<StorageError>); 4] = [
            (2, 0, Some(StorageError::Compacted)),
            (3, 3, None),
            (4, 4, None),
            (5, 5, None),
        ];
        for (idx, term, err) in cases {
            let ps = new_test_peer_storage_from_ents(&ents);
            match ps.term(idx) {
                Err(e) => assert_eq!(raft::Error::Store(err.unwrap()), e),
                Ok(t) => assert_eq!(term, t),
            }
            clean_up(ps);
        }
    }

    #[test]
    fn TestPeerStorageClearMeta() {
        let mut ps = new_test_peer_storage_from_ents(&[new_test_entry(3, 3), new_test_entry(4, 4)]);
        append_ents(&mut ps, &[new_test_entry(5, 5), new_test_entry(6, 6)]);
        assert_eq!(6, get_meta_key_count(&ps));
        let mut kv_wb = WriteBatch::default();
        let mut raft_wb = WriteBatch::default();
        ps.clear_meta(&mut kv_wb, &mut raft_wb).unwrap();
        ps.engines.write_kv(&kv_wb).unwrap();
        ps.engines.write_raft(&raft_wb).unwrap();
        assert_eq!(0, get_meta_key_count(&ps));
        clean_up(ps);
    }

    #[test]
    fn TestPeerStorageEntries() {
        let ents = [
            new_test_entry(3, 3),
            new_test_entry(4, 4),
            new_test_entry(5, 5),
            new_test_entry(6, 6),
        ];
        let cases: Vec<(u64, u64, Vec<Entry>, Option<StorageError>)> = vec![
            (2, 6, vec![], Some(StorageError::Compacted)),
            (3, 4, vec![], Some(StorageError::Compacted)),
            (4, 5, vec![new_test_entry(4, 4)], None),
            (4, 6, vec![new_test_entry(4, 4), new_test_entry(5, 5)], None),
        ];
        for (i, (low, high, want, err)) in cases.into_iter().enumerate() {
            let ps = new_test_peer_storage_from_ents(&ents);
            match ps.entries(low, high) {
                Err(e) => assert_eq!(raft::Error::Store(err.unwrap()), e, "#{}", i),
                Ok(got) => assert_eq!(want, got, "#{}", i),
            }
            clean_up(ps);
        }
    }

    #[test]
    fn TestPeerStorageAppend() {
        let ents = [
            new_test_entry(3, 3),
            new_test_entry(4, 4),
            new_test_entry(5, 5),
        ];
        let e = new_test_entry;
        let cases: Vec<(Vec<Entry>, Vec<Entry>)> = vec![
            (vec![e(3, 3), e(4, 4), e(5, 5)], vec![e(4, 4), e(5, 5)]),
            (vec![e(3, 3), e(4, 6), e(5, 6)], vec![e(4, 6), e(5, 6)]),
            (
                vec![e(3, 3), e(4, 4), e(5, 5), e(6, 5)],
                vec![e(4, 4), e(5, 5), e(6, 5)],
            ),
            // truncate incoming entries, truncate the existing entries and append
            (vec![e(2, 3), e(3, 3), e(4, 5)], vec![e(4, 5)]),
            // truncate the existing entries and append
            (vec![e(4, 5)], vec![e(4, 5)]),
            // direct append
            (vec![e(6, 5)], vec![e(4, 4), e(5, 5), e(6, 5)]),
        ];
        for (appends, results) in cases {
            let mut ps = new_test_peer_storage_from_ents(&ents);
            append_ents(&mut ps, &appends);
            let li = ps.raft_state.last_index;
            assert_eq!(results, ps.entries(4, li + 1).unwrap());
            clean_up(ps);
        }
    }
}
