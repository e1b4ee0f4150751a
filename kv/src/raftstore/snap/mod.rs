//! Snapshot files: building them from a region's data, sending and
//! receiving them, applying them, and the manager that tracks their use.

pub mod snap_file;
pub mod snap_manager;

pub use snap_file::Snapshot;
pub use snap_manager::{SnapEntry, SnapManager};

use std::fmt;

use prost::Message as _;
use proto::eraftpb::Snapshot as RaftSnapshot;
use proto::raft_serverpb::RaftSnapshotData;

/// Identifies one snapshot: region, and the log position it was taken at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SnapKey {
    pub region_id: u64,
    pub term: u64,
    pub index: u64,
}

impl fmt::Display for SnapKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}_{}", self.region_id, self.term, self.index)
    }
}

impl SnapKey {
    pub fn new(region_id: u64, term: u64, index: u64) -> Self {
        SnapKey {
            region_id,
            term,
            index,
        }
    }

    pub fn from_region_snap(region_id: u64, snap: &RaftSnapshot) -> Self {
        let meta = snap.metadata.clone().unwrap_or_default();
        SnapKey {
            region_id,
            term: meta.term,
            index: meta.index,
        }
    }

    /// The key of a snapshot, reading the region id from its data.
    pub fn from_snap(snap: &RaftSnapshot) -> Result<Self, prost::DecodeError> {
        let data = RaftSnapshotData::decode(snap.data.as_slice())?;
        Ok(Self::from_region_snap(
            data.region.map_or(0, |r| r.id),
            snap,
        ))
    }
}

/// A snapshot key and whether the files are ours (sent) or a peer's
/// (received).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapKeyWithSending {
    pub snap_key: SnapKey,
    pub is_sending: bool,
}
