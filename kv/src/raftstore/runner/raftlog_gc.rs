//! The raft-log GC worker: deletes compacted log entries from the raft
//! engine in the background.

use crossbeam_channel::Sender;

use crate::raftstore::meta;
use crate::raftstore::runner::RaftLogGcTask;
use crate::util::engine_util::{CfIterator, WriteBatch, CF_RAFT, DB};
use crate::util::worker::Handler;

#[derive(Default)]
pub struct RaftLogGcTaskHandler {
    /// Where the number of deleted entries is reported (tests).
    task_res_sender: Option<Sender<u64>>,
}

impl RaftLogGcTaskHandler {
    pub fn new() -> Self {
        Self::default()
    }

    /// A handler that reports each task's count of deleted entries.
    pub fn with_reporter(sender: Sender<u64>) -> Self {
        RaftLogGcTaskHandler {
            task_res_sender: Some(sender),
        }
    }

    /// Deletes entries `[start_idx, end_idx)`; a zero start means from the
    /// first entry there is. Returns how many were deleted.
    fn gc_raft_log(
        raft_db: &DB,
        region_id: u64,
        start_idx: u64,
        end_idx: u64,
    ) -> crate::Result<u64> {
        let mut first = start_idx;
        if first == 0 {
            first = end_idx;
            let mut it = CfIterator::new(raft_db, CF_RAFT);
            it.seek(&meta::raft_log_key(region_id, 0));
            if it.valid()
                && it
                    .key()
                    .starts_with(&meta::region_raft_prefix_key(region_id))
            {
                if let Ok(idx) = meta::raft_log_index(it.key()) {
                    first = idx;
                }
            }
        }
        if first >= end_idx {
            tracing::info!(region_id, "no need to gc");
            return Ok(0);
        }
        let mut wb = WriteBatch::default();
        for idx in first..end_idx {
            wb.delete_meta(&meta::raft_log_key(region_id, idx));
        }
        wb.write_to_db(raft_db)?;
        Ok(end_idx - first)
    }
}

impl Handler<RaftLogGcTask> for RaftLogGcTaskHandler {
    fn handle(&mut self, task: RaftLogGcTask) {
        let collected = match Self::gc_raft_log(
            &task.raft_engine,
            task.region_id,
            task.start_idx,
            task.end_idx,
        ) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(region_id = task.region_id, %e, "failed to gc raft log");
                0
            }
        };
        tracing::debug!(
            region_id = task.region_id,
            collected,
            "collected log entries"
        );
        if let Some(tx) = &self.task_res_sender {
            let _ = tx.send(collected);
        }
    }
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use proto::eraftpb::Entry;

    use super::*;
    use crate::raftstore::util::new_test_engines;
    use crate::util::engine_util::get_meta;

    fn raft_log_must_not_exist(db: &DB, region_id: u64, start: u64, end: u64) {
        for i in start..end {
            let e: Option<Entry> = get_meta(db, &meta::raft_log_key(region_id, i)).unwrap();
            assert!(e.is_none(), "log {} should be gone", i);
        }
    }

    fn raft_log_must_exist(db: &DB, region_id: u64, start: u64, end: u64) {
        for i in start..end {
            let e: Option<Entry> = get_meta(db, &meta::raft_log_key(region_id, i)).unwrap();
            assert!(e.is_some(), "log {} should exist", i);
        }
    }

    #[test]
    fn TestGcRaftLog() {
        let engines = new_test_engines();
        let raft_db = engines.raft.clone();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let mut runner = RaftLogGcTaskHandler::with_reporter(tx);

        let region_id = 1;
        let mut raft_wb = WriteBatch::default();
        for i in 0..100 {
            raft_wb.set_meta(
                &meta::raft_log_key(region_id, i),
                &Entry {
                    data: b"entry".to_vec(),
                    ..Default::default()
                },
            );
        }
        raft_wb.write_to_db(&raft_db).unwrap();

        // (start, end, expected collected, gone range, kept range)
        let tbls = [
            (0, 10, 10, (0, 10), (10, 100)),
            (0, 50, 40, (0, 50), (50, 100)),
            (50, 50, 0, (0, 50), (50, 100)),
            (50, 60, 10, (0, 60), (60, 100)),
        ];
        for (start_idx, end_idx, expected, gone, kept) in tbls {
            runner.handle(RaftLogGcTask {
                raft_engine: raft_db.clone(),
                region_id,
                start_idx,
                end_idx,
            });
            let res = rx.recv().unwrap();
            assert_eq!(expected, res);
            raft_log_must_not_exist(&raft_db, 1, gone.0, gone.1);
            raft_log_must_exist(&raft_db, 1, kept.0, kept.1);
        }
        drop(raft_db);
        drop(runner);
        engines.destroy().unwrap();
    }
}
