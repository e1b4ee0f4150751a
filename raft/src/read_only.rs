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

    /// Records that `from` answered a heartbeat carrying `ctx` (an id no
    /// longer queued is ignored).
    pub fn ack(&mut self, ctx: &[u8], from: u64) {
        if let Some(read) = self.pending.iter_mut().find(|r| r.ctx == ctx) {
            read.acks.insert(from);
        }
    }

    /// Releases, in order, the newest read confirmed by `quorum` of the
    /// members `is_voter` counts, and every read before it. Called after
    /// each answer, for a new read (alone, a leader confirms it at once),
    /// and when a member leaves: the smaller quorum may already be there,
    /// and with nobody left to answer, nothing else would release it.
    pub fn release(&mut self, quorum: usize, is_voter: impl Fn(u64) -> bool) -> Vec<ReadState> {
        let confirmed =
            |r: &PendingRead| r.acks.iter().filter(|&&id| is_voter(id)).count() >= quorum;
        let Some(pos) = self.pending.iter().rposition(confirmed) else {
            return Vec::new();
        };
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
        let answer = |ro: &mut ReadOnly, ctx: &[u8], from: u64| {
            ro.ack(ctx, from);
            ro.release(3, voters)
        };
        // Two of five (the leader and 2) confirm "b": not yet a quorum.
        assert_eq!(answer(&mut ro, b"b", 2), vec![]);
        // A non-voter's answer does not count.
        assert_eq!(answer(&mut ro, b"b", 9), vec![]);
        assert_eq!(answer(&mut ro, b"b", 3), vec![rs(5, b"a"), rs(7, b"b")]);
        assert_eq!(ro.len(), 1);
        // Answers for a read already released are ignored.
        assert_eq!(answer(&mut ro, b"a", 4), vec![]);
        assert_eq!(answer(&mut ro, b"c", 4), vec![]);
        assert_eq!(answer(&mut ro, b"c", 4), vec![], "one member counts once");
        assert_eq!(answer(&mut ro, b"c", 5), vec![rs(9, b"c")]);
        assert!(ro.is_empty());
    }

    #[test]
    fn a_smaller_quorum_releases_what_the_answers_so_far_confirm() {
        let mut ro = ReadOnly::default();
        ro.add(b"a".to_vec(), 5, 1);
        ro.ack(b"a", 2);
        ro.add(b"b".to_vec(), 6, 1);
        ro.add(b"c".to_vec(), 7, 1);
        // Five members: nothing is confirmed by 1 and 2 alone.
        assert_eq!(ro.release(3, |_| true), vec![]);
        // Three left: "a" has its two answers; "b" and "c" only the leader's.
        assert_eq!(ro.release(2, |id| id <= 3), vec![rs(5, b"a")]);
        // The leader alone: everything, in order.
        assert_eq!(ro.release(1, |id| id == 1), vec![rs(6, b"b"), rs(7, b"c")]);
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
        ro.ack(b"a", 2);
        assert_eq!(ro.release(1, |_| true), vec![]);
    }
}
