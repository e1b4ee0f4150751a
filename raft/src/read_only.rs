//! Reads that need no log entry (Raft thesis, 6.4, "ReadIndex").
//!
//! A leader that is asked for a read notes its commit index and confirms,
//! with one round of heartbeats, that a quorum still follows it. Once they
//! answer, nothing can have been committed by another leader before that
//! index was noted, so the application may answer the read from its state
//! machine as soon as it has applied up to the index. The read costs a
//! heartbeat round instead of a log entry, a disk write on every member
//! and an apply.
//!
//! An answer to the heartbeat that carried one read's id also confirms
//! every read queued before it (they were noted earlier), so reads are
//! released in order, and a leader only ever has to repeat the id of its
//! newest read.

use std::collections::{BTreeSet, VecDeque};

/// A read whose leader has been confirmed: the application answers it once
/// it has applied everything up to `index`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadState {
    /// The leader's commit index when the read arrived.
    pub index: u64,
    /// The id the application gave the read.
    pub request_ctx: Vec<u8>,
}

#[derive(Debug)]
struct PendingRead {
    ctx: Vec<u8>,
    index: u64,
    /// Members that answered a heartbeat carrying this read's id (or a
    /// later one), the leader included.
    acks: BTreeSet<u64>,
}

/// The reads a leader is confirming, oldest first.
#[derive(Debug, Default)]
pub struct ReadOnly {
    pending: VecDeque<PendingRead>,
}

impl ReadOnly {
    /// Queues a read with id `ctx` noted at commit index `index`; the
    /// leader (`self_id`) counts as its first confirmation. A read whose id
    /// is already queued is ignored.
    pub fn add(&mut self, ctx: Vec<u8>, index: u64, self_id: u64) {
        if self.pending.iter().any(|r| r.ctx == ctx) {
            return;
        }
        self.pending.push_back(PendingRead {
            ctx,
            index,
            acks: BTreeSet::from([self_id]),
        });
    }

    /// The id the next heartbeats should carry: the newest read's.
    pub fn last_ctx(&self) -> Option<&[u8]> {
        self.pending.back().map(|r| r.ctx.as_slice())
    }

    /// Records that `from` answered a heartbeat carrying `ctx`. When the
    /// members counted by `is_voter` that confirmed it reach `quorum`, the
    /// read and every read before it are released, in order.
    pub fn ack(
        &mut self,
        ctx: &[u8],
        from: u64,
        quorum: usize,
        is_voter: impl Fn(u64) -> bool,
    ) -> Vec<ReadState> {
        let Some(pos) = self.pending.iter().position(|r| r.ctx == ctx) else {
            return Vec::new();
        };
        let read = &mut self.pending[pos];
        read.acks.insert(from);
        if read.acks.iter().filter(|&&id| is_voter(id)).count() < quorum {
            return Vec::new();
        }
        self.pending
            .drain(..=pos)
            .map(|r| ReadState {
                index: r.index,
                request_ctx: r.ctx,
            })
            .collect()
    }

    /// Forgets every queued read (the node is no longer the leader of this
    /// term); the application fails the reads it is waiting for.
    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// How many reads wait for confirmation.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True if no read waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn rs(index: u64, ctx: &[u8]) -> ReadState {
        ReadState {
            index,
            request_ctx: ctx.to_vec(),
        }
    }

    #[test]
    fn a_quorum_of_answers_releases_the_read_and_those_before_it() {
        let mut ro = ReadOnly::default();
        ro.add(b"a".to_vec(), 5, 1);
        ro.add(b"b".to_vec(), 7, 1);
        ro.add(b"c".to_vec(), 9, 1);
        assert_eq!(ro.last_ctx(), Some(&b"c"[..]));
        let voters = |id: u64| id <= 5;
        // Two of five (the leader and 2) confirm "b": not yet a quorum.
        assert_eq!(ro.ack(b"b", 2, 3, voters), vec![]);
        // A non-voter's answer does not count.
        assert_eq!(ro.ack(b"b", 9, 3, voters), vec![]);
        assert_eq!(ro.ack(b"b", 3, 3, voters), vec![rs(5, b"a"), rs(7, b"b")]);
        assert_eq!(ro.len(), 1);
        // Answers for a read already released are ignored.
        assert_eq!(ro.ack(b"a", 4, 3, voters), vec![]);
        assert_eq!(ro.ack(b"c", 4, 3, voters), vec![]);
        assert_eq!(ro.ack(b"c", 4, 3, voters), vec![], "one member counts once");
        assert_eq!(ro.ack(b"c", 5, 3, voters), vec![rs(9, b"c")]);
        assert!(ro.is_empty());
    }

    #[test]
    fn a_repeated_id_is_queued_once_and_clear_forgets_everything() {
        let mut ro = ReadOnly::default();
        ro.add(b"a".to_vec(), 5, 1);
        ro.add(b"a".to_vec(), 6, 1);
        assert_eq!(ro.len(), 1);
        ro.clear();
        assert!(ro.is_empty());
        assert_eq!(ro.last_ctx(), None);
        assert_eq!(ro.ack(b"a", 2, 2, |_| true), vec![]);
    }
}
