//! The store's snapshot directory: which snapshots exist, which are in use
//! (and so must not be deleted), and access to them by key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use prost::Message as _;
use proto::raft_serverpb::RaftSnapshotData;

use super::snap_file::{
    Snap, Snapshot, META_FILE_SUFFIX, SNAP_GEN_PREFIX, SST_FILE_SUFFIX, TMP_FILE_SUFFIX,
};
use super::{SnapKey, SnapKeyWithSending};
use crate::{Error, Result};

/// Why a snapshot is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapEntry {
    Generating,
    Sending,
    Receiving,
    Applying,
}

#[derive(Debug)]
struct Inner {
    base: PathBuf,
    registry: Mutex<BTreeMap<SnapKey, Vec<SnapEntry>>>,
}

/// Cheap to clone; all clones share one registry.
#[derive(Debug, Clone)]
pub struct SnapManager {
    inner: Arc<Inner>,
}

impl SnapManager {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SnapManager {
            inner: Arc::new(Inner {
                base: path.into(),
                registry: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    pub fn base(&self) -> &Path {
        &self.inner.base
    }

    /// Creates the directory, or clears half-written files from it.
    pub fn init(&self) -> Result<()> {
        let base = self.base();
        if !base.exists() {
            std::fs::create_dir_all(base)?;
            return Ok(());
        }
        if !base.is_dir() {
            return Err(Error::Other(format!(
                "{} should be a directory",
                base.display()
            )));
        }
        for entry in std::fs::read_dir(base)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type()?.is_file() && name.ends_with(TMP_FILE_SUFFIX) {
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }

    /// Snapshots on disk that nobody is using, ordered by region, then
    /// term and index.
    pub fn list_idle_snap(&self) -> Result<Vec<SnapKeyWithSending>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.base())? {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(META_FILE_SUFFIX) else {
                continue;
            };
            let parts: Vec<&str> = stem.split('_').collect();
            if parts.len() != 4 {
                return Err(Error::Other(format!("failed to parse file {}", name)));
            }
            let num = |s: &str| {
                s.parse::<u64>()
                    .map_err(|e| Error::Other(format!("{}: {}", name, e)))
            };
            let key = SnapKey {
                region_id: num(parts[1])?,
                term: num(parts[2])?,
                index: num(parts[3])?,
            };
            if self.has_registered(&key) {
                continue;
            }
            out.push(SnapKeyWithSending {
                snap_key: key,
                is_sending: parts[0] == SNAP_GEN_PREFIX,
            });
        }
        out.sort_by_key(|k| (k.snap_key, k.is_sending));
        Ok(out)
    }

    pub fn has_registered(&self, key: &SnapKey) -> bool {
        self.inner.registry.lock().unwrap().contains_key(key)
    }

    /// Bytes of all snapshot files in the directory.
    pub fn get_total_snap_size(&self) -> u64 {
        let Ok(dir) = std::fs::read_dir(self.base()) else {
            return 0;
        };
        dir.filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(SST_FILE_SUFFIX))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    }

    pub fn get_snapshot_for_building(&self, key: &SnapKey) -> Result<Snap> {
        Snap::new_for_building(self.base(), *key)
    }

    pub fn get_snapshot_for_sending(&self, key: &SnapKey) -> Result<Box<dyn Snapshot>> {
        Ok(Box::new(Snap::new_for_sending(self.base(), *key)?))
    }

    /// A snapshot to receive; `data` is the snapshot message's data (the
    /// encoded `RaftSnapshotData`, whose meta lists the files).
    pub fn get_snapshot_for_receiving(
        &self,
        key: &SnapKey,
        data: &[u8],
    ) -> Result<Box<dyn Snapshot>> {
        let snap_data = RaftSnapshotData::decode(data)?;
        let meta = snap_data.meta.unwrap_or_default();
        Ok(Box::new(Snap::new_for_receiving(self.base(), *key, meta)?))
    }

    /// A received snapshot; an error if its files are missing.
    pub fn get_snapshot_for_applying(&self, key: &SnapKey) -> Result<Box<dyn Snapshot>> {
        Ok(Box::new(Snap::new_for_applying(self.base(), *key)?))
    }

    pub fn register(&self, key: SnapKey, entry: SnapEntry) {
        let mut reg = self.inner.registry.lock().unwrap();
        let entries = reg.entry(key).or_default();
        if !entries.contains(&entry) {
            entries.push(entry);
        }
    }

    pub fn deregister(&self, key: &SnapKey, entry: SnapEntry) {
        let mut reg = self.inner.registry.lock().unwrap();
        if let Some(entries) = reg.get_mut(key) {
            entries.retain(|e| *e != entry);
            if entries.is_empty() {
                reg.remove(key);
            }
        }
    }

    /// Deletes a snapshot's files; refused (false) while it is in use,
    /// if `check_entry`.
    pub fn delete_snapshot(&self, key: &SnapKey, snap: &dyn Snapshot, check_entry: bool) -> bool {
        if check_entry && self.has_registered(key) {
            return false;
        }
        snap.delete();
        true
    }
}
