//! Placeholder until the snapshot worker lands (being written).
pub struct RegionTaskHandler;
impl RegionTaskHandler {
    pub fn new(
        _e: crate::util::engine_util::Engines,
        _m: crate::raftstore::snap::snap_manager::SnapManager,
    ) -> Self {
        Self
    }
}
impl crate::util::worker::Handler<super::RegionTask> for RegionTaskHandler {
    fn handle(&mut self, _t: super::RegionTask) {}
}
