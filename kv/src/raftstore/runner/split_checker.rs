//! The split checker: measures a region's data and finds the key at which
//! it should split.

use std::sync::Arc;

use proto::metapb::Region;

use crate::config::Config;
use crate::raftstore::message::{Callback, PeerMsg, RaftRouter};
use crate::raftstore::runner::SplitCheckTask;
use crate::util::codec;
use crate::util::engine_util::{DbSnapshot, CF_DEFAULT, DB};
use crate::util::worker::Handler;

pub struct SplitCheckHandler<R: RaftRouter> {
    engine: Arc<DB>,
    router: R,
    checker: SizeSplitChecker,
}

impl<R: RaftRouter + 'static> SplitCheckHandler<R> {
    pub fn new(engine: Arc<DB>, router: R, cfg: &Config) -> Self {
        SplitCheckHandler {
            engine,
            router,
            checker: SizeSplitChecker::new(cfg.region_max_size, cfg.region_split_size),
        }
    }

    /// Scans the region's default CF; reports its size if the scan reached
    /// the region's end, and returns a split key if the region is too big.
    ///
    /// Unlike Go, every scan reports the size: Go only reports on meeting
    /// the region's end key, so the last region (no end key) never learns
    /// its size and is rescanned on every split-check tick.
    fn split_check(&mut self, region: &Region) -> Option<Vec<u8>> {
        let snap = DbSnapshot::new(self.engine.clone());
        self.checker.reset();
        let mut it = snap.iter_cf_in_range(CF_DEFAULT, &region.start_key, &region.end_key);
        it.seek(&region.start_key);
        while it.valid() {
            if self.checker.on_kv(it.key(), it.value().len()) {
                break;
            }
            it.next();
        }
        // The whole region's size, or (if the scan stopped past the
        // maximum) a lower bound above the maximum: either way the peer
        // keeps checking until the region is split.
        let size = self.checker.current_size;
        let _ = self
            .router
            .send(region.id, PeerMsg::RegionApproximateSize(size));
        self.checker.split_key()
    }
}

impl<R: RaftRouter + 'static> Handler<SplitCheckTask> for SplitCheckHandler<R> {
    fn handle(&mut self, task: SplitCheckTask) {
        let region = task.region;
        let Some(mut key) = self.split_check(&region) else {
            tracing::debug!(region_id = region.id, "no need to split");
            return;
        };
        // A codec-encoded key is split without its timestamp suffix.
        if let Ok((_, user_key)) = codec::decode_bytes(&key) {
            key = codec::encode_bytes(&user_key);
        }
        let msg = PeerMsg::SplitRegion {
            region_epoch: region.region_epoch.unwrap_or_default(),
            split_key: key,
            callback: Callback::none(),
        };
        if let Err(e) = self.router.send(region.id, msg) {
            tracing::warn!(region_id = region.id, %e, "failed to send split check result");
        }
    }
}

/// Accumulates key and value sizes in key order.
pub struct SizeSplitChecker {
    max_size: u64,
    split_size: u64,
    pub current_size: u64,
    split_key: Option<Vec<u8>>,
}

impl SizeSplitChecker {
    pub fn new(max_size: u64, split_size: u64) -> Self {
        SizeSplitChecker {
            max_size,
            split_size,
            current_size: 0,
            split_key: None,
        }
    }

    pub fn reset(&mut self) {
        self.current_size = 0;
        self.split_key = None;
    }

    /// Adds one pair; true once the region is known to exceed the maximum.
    pub fn on_kv(&mut self, key: &[u8], value_size: usize) -> bool {
        self.current_size += (key.len() + value_size) as u64;
        if self.current_size > self.split_size && self.split_key.is_none() {
            self.split_key = Some(key.to_vec());
        }
        self.current_size > self.max_size
    }

    /// The first key past the split size, if the region reached the maximum.
    pub fn split_key(&mut self) -> Option<Vec<u8>> {
        if self.current_size < self.max_size {
            self.split_key = None;
        }
        self.split_key.clone()
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use std::sync::Mutex;

    use proto::raft_cmdpb::RaftCmdRequest;
    use proto::raft_serverpb::RaftMessage;

    use super::*;
    use crate::raftstore::util::new_test_engines;
    use crate::util::engine_util::WriteBatch;

    /// Collects what the checker sends.
    #[derive(Default)]
    struct TaskResRouter {
        msgs: Mutex<Vec<PeerMsg>>,
    }

    impl RaftRouter for Arc<TaskResRouter> {
        fn send(&self, _region_id: u64, msg: PeerMsg) -> crate::raftstore::Result<()> {
            self.msgs.lock().unwrap().push(msg);
            Ok(())
        }

        fn send_raft_message(&self, _msg: RaftMessage) -> crate::raftstore::Result<()> {
            Ok(())
        }

        fn send_raft_command(
            &self,
            _req: RaftCmdRequest,
            _cb: Callback,
        ) -> crate::raftstore::Result<()> {
            Ok(())
        }
    }

    /// A user key with a descending timestamp suffix, as MVCC stores it.
    fn encode_key(key: &[u8], ts: u64) -> Vec<u8> {
        let mut k = codec::encode_bytes(key);
        k.extend_from_slice(&(!ts).to_be_bytes());
        k
    }

    #[test]
    fn TestSplitCheck() {
        let engines = new_test_engines();
        let router = Arc::new(TaskResRouter::default());
        let mut runner = SplitCheckHandler {
            engine: engines.kv.clone(),
            router: router.clone(),
            checker: SizeSplitChecker::new(100, 50),
        };

        let mut kv_wb = WriteBatch::default();
        // the length of each kv pair is 21
        for (k, ts) in [(b"k1", 1), (b"k1", 2), (b"k2", 1), (b"k2", 2), (b"k3", 3)] {
            kv_wb.set_cf(CF_DEFAULT, &encode_key(k, ts), b"entry");
        }
        kv_wb.must_write_to_db(&engines.kv);

        let task = SplitCheckTask {
            region: Region::default(),
        };
        runner.handle(task);
        let msgs = std::mem::take(&mut *router.msgs.lock().unwrap());
        let split_key = msgs.into_iter().find_map(|m| match m {
            PeerMsg::SplitRegion { split_key, .. } => Some(split_key),
            _ => None,
        });
        assert_eq!(split_key, Some(codec::encode_bytes(b"k2")));
        drop(runner);
        engines.destroy().unwrap();
    }
}
