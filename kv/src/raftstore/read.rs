//! Reads without a log entry (raft's ReadIndex, [`raft::RawNode::read_index`]).
//!
//! A command made only of Gets and Snaps changes nothing, so the leader
//! need not put it in the log, have every member write it to disk and
//! apply it: it is enough to know that it is still the leader and to
//! answer from a state that holds everything committed before the command
//! arrived. The reads of one round go to raft together as one read; once a
//! quorum has answered the heartbeat that carries its id, raft hands back
//! the commit index it noted, and the reads are answered as soon as the
//! peer has applied that far, through the same code that answers a read
//! from the log (so the region epoch and key checks are the same too).
//!
//! Raft refuses a read it cannot confirm this way (a leader with no entry
//! of its term committed yet, or a raft without ReadIndex, as in the
//! course's skeleton): the round's reads then go through the log with its
//! writes, as in TinyKV Go. Reads are failed, for the client to retry, when
//! the peer stops leading the term they were confirmed in.
//!
//! These continue [`PeerMsgHandler`], like the apply path.

use std::collections::VecDeque;

use proto::raft_cmdpb::{CmdType, RaftCmdRequest};
use raft::ReadState;

use crate::raftstore::message::Callback;
use crate::raftstore::metrics;
use crate::raftstore::peer::{notify_req_region_removed, notify_stale_req};
use crate::raftstore::peer_msg_handler::PeerMsgHandler;
use crate::util::engine_util::WriteBatch;

/// One round's reads, handed to raft under one id.
#[derive(Debug)]
struct ReadBatch {
    id: u64,
    /// The term the leader confirms itself in.
    term: u64,
    /// The commit index raft noted, once a quorum confirmed the leader.
    index: Option<u64>,
    cmds: Vec<(RaftCmdRequest, Callback)>,
}

/// A peer's reads: those of the current round, and those raft is
/// confirming or the peer has yet to apply far enough for, oldest first.
#[derive(Debug, Default)]
pub struct ReadQueue {
    batched: Vec<(RaftCmdRequest, Callback)>,
    waiting: VecDeque<ReadBatch>,
    next_id: u64,
}

impl ReadQueue {
    /// Every waiting read's callback, oldest first, leaving the queue empty.
    fn drain(&mut self) -> impl Iterator<Item = Callback> + '_ {
        self.waiting
            .drain(..)
            .flat_map(|b| b.cmds)
            .chain(self.batched.drain(..))
            .map(|(_, cb)| cb)
    }

    /// Answers every waiting read: the region is gone from this store.
    pub fn region_removed(&mut self, region_id: u64) {
        for cb in self.drain() {
            notify_req_region_removed(region_id, cb);
        }
    }

    /// Fails every read handed to raft: the peer, now at `term`, no
    /// longer leads the term they were to be confirmed in.
    fn fail_stale(&mut self, term: u64) {
        for (_, cb) in self.waiting.drain(..).flat_map(|b| b.cmds) {
            notify_stale_req(term, cb);
        }
    }
}

/// True for a command raft need not order: no admin request, and only
/// Gets and Snaps.
pub fn is_read_only(req: &RaftCmdRequest) -> bool {
    req.admin_request.is_none()
        && !req.requests.is_empty()
        && req
            .requests
            .iter()
            .all(|r| matches!(r.cmd_type(), CmdType::Get | CmdType::Snap))
}

impl PeerMsgHandler<'_> {
    /// Queues a read-only command (already checked against the region) for
    /// this round's read.
    pub(super) fn propose_read(&mut self, req: RaftCmdRequest, cb: Callback) {
        self.peer.reads.batched.push((req, cb));
    }

    /// Hands the round's reads to raft as one read. If raft cannot confirm
    /// them this way, they join the round's log proposals instead.
    pub(super) fn flush_reads(&mut self) {
        let reads = &mut self.peer.reads;
        if reads.batched.is_empty() {
            return;
        }
        let cmds = std::mem::take(&mut reads.batched);
        let id = reads.next_id;
        reads.next_id += 1;
        let term = self.peer.term();
        match self.peer.raft_group.read_index(id.to_be_bytes().to_vec()) {
            Ok(()) => self.peer.reads.waiting.push_back(ReadBatch {
                id,
                term,
                index: None,
                cmds,
            }),
            Err(_) => {
                use prost::Message as _;
                metrics::add(&metrics::READS_THROUGH_LOG, cmds.len() as u64);
                let to_log = cmds.into_iter().map(|(req, cb)| (req.encode_to_vec(), cb));
                self.peer.batched_proposals.extend(to_log);
            }
        }
    }

    /// After a ready round: notes the reads raft confirmed in it, fails
    /// every read if the peer no longer leads their term, and answers the
    /// reads whose index has been applied.
    pub(super) fn serve_reads(&mut self, confirmed: Vec<ReadState>) {
        let reads = &mut self.peer.reads;
        for state in confirmed {
            let Ok(id) = <[u8; 8]>::try_from(state.request_ctx.as_slice()) else {
                continue;
            };
            let id = u64::from_be_bytes(id);
            let Some(confirmed) = reads.waiting.iter().find(|b| b.id == id) else {
                continue;
            };
            // The answers that confirmed this read came after every read
            // queued before it arrived, so they confirm those too (a raft
            // that releases only the read named still unblocks the queue):
            // at this read's index, which is no lower than theirs.
            let term = confirmed.term;
            for batch in reads.waiting.iter_mut() {
                if batch.id > id {
                    break;
                }
                if batch.term == term {
                    batch.index = Some(batch.index.unwrap_or(state.index));
                }
            }
        }
        if reads.waiting.is_empty() {
            return;
        }
        let term = self.peer.term();
        if !self.peer.is_leader() {
            self.peer.reads.fail_stale(term);
            return;
        }
        let applied = self.peer.store().applied_index();
        while let Some(batch) = self.peer.reads.waiting.front() {
            // A batch of an earlier term was forgotten by raft (it was
            // reset) and can never be confirmed.
            if batch.term != term {
                let batch = self.peer.reads.waiting.pop_front().unwrap();
                for (_, cb) in batch.cmds {
                    notify_stale_req(term, cb);
                }
                continue;
            }
            if batch.index.is_none_or(|index| index > applied) {
                break;
            }
            let batch = self.peer.reads.waiting.pop_front().unwrap();
            metrics::add(&metrics::READS_BY_INDEX, batch.cmds.len() as u64);
            for (req, cb) in batch.cmds {
                self.apply_requests(&req, Some(cb), &mut WriteBatch::default());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::raft_cmdpb::{AdminRequest, Request};

    fn cmd(types: &[CmdType]) -> RaftCmdRequest {
        RaftCmdRequest {
            requests: types
                .iter()
                .map(|&t| Request {
                    cmd_type: t as i32,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn only_gets_and_snaps_are_read_only() {
        assert!(is_read_only(&cmd(&[CmdType::Get])));
        assert!(is_read_only(&cmd(&[CmdType::Snap, CmdType::Get])));
        assert!(!is_read_only(&cmd(&[])));
        assert!(!is_read_only(&cmd(&[CmdType::Get, CmdType::Put])));
        assert!(!is_read_only(&cmd(&[CmdType::Delete])));
        let mut admin = cmd(&[CmdType::Get]);
        admin.admin_request = Some(AdminRequest::default());
        assert!(!is_read_only(&admin));
    }
}
