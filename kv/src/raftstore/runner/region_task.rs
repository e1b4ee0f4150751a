//! The region worker: builds snapshots, applies received ones, and deletes
//! the data of key ranges a store no longer owns.

use crossbeam_channel::Sender;
use proto::eraftpb::{Snapshot, SnapshotMetadata};
use proto::raft_serverpb::{PeerState, RaftApplyState, RaftSnapshotData, RegionLocalState};

use crate::raftstore::meta;
use crate::raftstore::runner::RegionTask;
use crate::raftstore::snap::{SnapEntry, SnapKey, SnapManager, Snapshot as _};
use crate::raftstore::util::conf_state_from_region;
use crate::util::engine_util::{delete_range, DbSnapshot, Engines};
use crate::util::worker::Handler;
use crate::{Error, Result};

pub struct RegionTaskHandler {
    engines: Engines,
    mgr: SnapManager,
}

impl RegionTaskHandler {
    pub fn new(engines: Engines, mgr: SnapManager) -> Self {
        RegionTaskHandler { engines, mgr }
    }

    fn handle_gen(&self, region_id: u64, notifier: Sender<Snapshot>) {
        match do_snapshot(&self.engines, &self.mgr, region_id) {
            Ok(snap) => {
                let _ = notifier.send(snap);
            }
            // Dropping the notifier tells the peer the attempt failed.
            Err(e) => tracing::error!(region_id, %e, "failed to generate snapshot"),
        }
    }

    /// Replaces the data of `[start, end)` with the snapshot's.
    pub fn apply_snap(
        &self,
        region_id: u64,
        start: &[u8],
        end: &[u8],
        snap_meta: &SnapshotMetadata,
    ) -> Result<()> {
        tracing::info!(region_id, "begin to apply snapshot data");
        self.clean_up_range(region_id, start, end);
        let key = SnapKey::new(region_id, snap_meta.term, snap_meta.index);
        self.mgr.register(key, SnapEntry::Applying);
        let result = self
            .mgr
            .get_snapshot_for_applying(&key)
            .and_then(|mut s| s.apply(&self.engines.kv));
        self.mgr.deregister(&key, SnapEntry::Applying);
        result
    }

    fn clean_up_range(&self, region_id: u64, start: &[u8], end: &[u8]) {
        if let Err(e) = delete_range(&self.engines.kv, start, end) {
            // Leaving another region's data behind would corrupt it later.
            panic!(
                "failed to delete data of region {} in [{:?}, {:?}): {}",
                region_id, start, end, e
            );
        }
    }
}

/// The applied index and its term: where a snapshot taken now stands.
fn applied_index_term(engines: &Engines, kv: &DbSnapshot, region_id: u64) -> Result<(u64, u64)> {
    let state: RaftApplyState = kv
        .get_meta(&meta::apply_state_key(region_id))?
        .ok_or_else(|| Error::Other(format!("region {} has no apply state", region_id)))?;
    let idx = state.applied_index;
    let truncated = state.truncated_state.unwrap_or_default();
    if idx == truncated.index {
        return Ok((idx, truncated.term));
    }
    let entry = meta::get_raft_entry(&engines.raft, region_id, idx)?
        .ok_or_else(|| Error::Other(format!("region {} lacks log entry {}", region_id, idx)))?;
    Ok((idx, entry.term))
}

/// Builds a snapshot of the region's applied state.
pub fn do_snapshot(engines: &Engines, mgr: &SnapManager, region_id: u64) -> Result<Snapshot> {
    let kv = DbSnapshot::new(engines.kv.clone());
    let (index, term) = applied_index_term(engines, &kv, region_id)?;
    let key = SnapKey::new(region_id, term, index);
    mgr.register(key, SnapEntry::Generating);
    let result = (|| {
        let state: RegionLocalState = kv
            .get_meta(&meta::region_state_key(region_id))?
            .ok_or_else(|| Error::Other(format!("region {} has no region state", region_id)))?;
        if state.state() != PeerState::Normal {
            return Err(Error::Other(format!(
                "snap job {} seems stale, skip",
                region_id
            )));
        }
        let region = state.region.unwrap_or_default();
        let mut s = mgr.get_snapshot_for_building(&key)?;
        s.build(&kv, &region)?;
        let data = RaftSnapshotData {
            region: Some(region.clone()),
            file_size: s.total_size(),
            meta: Some(s.snapshot_meta().clone()),
            ..Default::default()
        };
        Ok(Snapshot {
            data: prost::Message::encode_to_vec(&data),
            metadata: Some(SnapshotMetadata {
                conf_state: Some(conf_state_from_region(&region)),
                index,
                term,
            }),
        })
    })();
    mgr.deregister(&key, SnapEntry::Generating);
    result
}

impl Handler<RegionTask> for RegionTaskHandler {
    fn handle(&mut self, task: RegionTask) {
        match task {
            RegionTask::Gen {
                region_id,
                notifier,
            } => self.handle_gen(region_id, notifier),
            RegionTask::Apply {
                region_id,
                notifier,
                snap_meta,
                start_key,
                end_key,
            } => {
                if let Err(e) = self.apply_snap(region_id, &start_key, &end_key, &snap_meta) {
                    // The peer's state already says the snapshot is in: data
                    // missing under it cannot be repaired here.
                    panic!("failed to apply snapshot of region {}: {}", region_id, e);
                }
                let _ = notifier.send(true);
            }
            RegionTask::Destroy {
                region_id,
                start_key,
                end_key,
            } => self.clean_up_range(region_id, &start_key, &end_key),
        }
    }
}
