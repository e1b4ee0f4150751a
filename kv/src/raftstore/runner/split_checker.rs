//! Placeholder until the snapshot/split workers land (being written).
pub struct SplitCheckHandler;
impl SplitCheckHandler {
    pub fn new(
        _kv: std::sync::Arc<crate::util::engine_util::DB>,
        _r: crate::raftstore::router::RaftstoreRouter,
        _c: &crate::config::Config,
    ) -> Self {
        Self
    }
}
impl crate::util::worker::Handler<super::SplitCheckTask> for SplitCheckHandler {
    fn handle(&mut self, _t: super::SplitCheckTask) {}
}
