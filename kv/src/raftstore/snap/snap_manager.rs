//! Placeholder until the snapshot worker lands (being written).
use super::{SnapKey, SnapKeyWithSending};
pub trait Snapshot: Send {}
#[derive(Clone)]
pub struct SnapManager;
impl SnapManager {
    pub fn init(&self) -> crate::Result<()> {
        Ok(())
    }
    pub fn get_snapshot_for_applying(&self, _k: &SnapKey) -> crate::Result<Box<dyn Snapshot>> {
        Err(crate::Error::Other(format!(
            "snapshot {} unavailable: snapshot files are not implemented yet",
            _k
        )))
    }
    pub fn get_snapshot_for_sending(&self, _k: &SnapKey) -> crate::Result<Box<dyn Snapshot>> {
        Err(crate::Error::Other(format!(
            "snapshot {} unavailable: snapshot files are not implemented yet",
            _k
        )))
    }
    pub fn delete_snapshot(&self, _k: &SnapKey, _s: &dyn Snapshot, _c: bool) -> bool {
        true
    }
    pub fn list_idle_snap(&self) -> crate::Result<Vec<SnapKeyWithSending>> {
        Ok(vec![])
    }
}
