//! Placeholder until the snapshot/split workers land (being written).
pub struct RaftLogGcTaskHandler;
impl Default for RaftLogGcTaskHandler {
    fn default() -> Self {
        Self::new()
    }
}

impl RaftLogGcTaskHandler {
    pub fn new() -> Self {
        Self
    }
}
impl crate::util::worker::Handler<super::RaftLogGcTask> for RaftLogGcTaskHandler {
    fn handle(&mut self, _t: super::RaftLogGcTask) {}
}
