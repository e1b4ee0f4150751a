//! A leader's view of one follower: how far its log is known to match ours,
//! which entry to send it next, and how much may be on its way to it.
//!
//! The leader sends a follower appends in one of three modes, so that a
//! follower that is slow, lagging or unreachable costs a bounded amount:
//!
//! - **Probe** — we do not know where the follower's log ends (a new leader,
//!   a rejected append, a follower back from a snapshot failure). At most one
//!   append is in flight; the next goes out when it is answered, or when the
//!   follower answers a heartbeat (in case the append or its answer was
//!   lost). New proposals do not re-send to a probing follower.
//! - **Replicate** — the follower accepted our last probe. Appends go out as
//!   soon as there are entries, `next` moves on optimistically, and up to
//!   the window of [`Inflights`] may be unacknowledged at once.
//! - **Snapshot** — the entries the follower needs are compacted away and a
//!   snapshot was sent. No appends until it is acknowledged, or given up.
//!
//! This type holds the per-follower state and its transitions; when to take
//! them is [`Raft`](crate::Raft)'s business.

use std::fmt;

use crate::inflights::Inflights;

/// How the leader currently sends appends to a follower (see the module
/// docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProgressState {
    /// Where the follower's log ends is unknown: one append at a time.
    #[default]
    Probe,
    /// The follower keeps up: appends stream out, up to the inflight window.
    Replicate,
    /// A snapshot was sent: no appends until it is acknowledged or given up.
    Snapshot,
}

impl fmt::Display for ProgressState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ProgressState::Probe => "StateProbe",
            ProgressState::Replicate => "StateReplicate",
            ProgressState::Snapshot => "StateSnapshot",
        };
        f.write_str(s)
    }
}

/// A leader's view of one follower's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Highest index known to be replicated on the follower.
    pub matched: u64,
    /// Index of the next entry to send.
    pub next: u64,
    /// The mode in which appends are sent to the follower.
    pub state: ProgressState,
    /// Probe only: an append went out and has not been answered yet.
    pub probe_sent: bool,
    /// Snapshot only: the index of the snapshot sent.
    pub pending_snapshot: u64,
    /// Snapshot only: heartbeat responses received since the snapshot was
    /// sent. A follower that keeps answering heartbeats but never
    /// acknowledges the snapshot has lost it.
    pub snapshot_heartbeats: usize,
    /// Replicate only: the appends in flight.
    pub inflights: Inflights,
}

impl Progress {
    /// A follower we know nothing about yet: probing from `next`, with a
    /// window of at most `max_inflight` appends once it replicates.
    pub fn new(next: u64, max_inflight: usize) -> Self {
        Progress {
            matched: 0,
            next,
            state: ProgressState::Probe,
            probe_sent: false,
            pending_snapshot: 0,
            snapshot_heartbeats: 0,
            inflights: Inflights::new(max_inflight),
        }
    }

    /// True if no append may be sent now: a probe is unanswered, the window
    /// is full, or a snapshot is on its way.
    pub fn is_paused(&self) -> bool {
        match self.state {
            ProgressState::Probe => self.probe_sent,
            ProgressState::Replicate => self.inflights.full(),
            ProgressState::Snapshot => true,
        }
    }

    fn reset_state(&mut self, state: ProgressState) {
        self.state = state;
        self.probe_sent = false;
        self.pending_snapshot = 0;
        self.snapshot_heartbeats = 0;
        self.inflights.reset();
    }

    /// Back to probing, from right after what the follower is known to hold
    /// (or right after the snapshot we sent it, which it may have
    /// installed).
    pub fn become_probe(&mut self) {
        let after = if self.state == ProgressState::Snapshot {
            self.matched.max(self.pending_snapshot)
        } else {
            self.matched
        };
        self.reset_state(ProgressState::Probe);
        self.next = after + 1;
    }

    /// The snapshot sent never reached the follower (its transport said
    /// so): probe again from right after what it is known to hold, which
    /// the log can no longer serve, so the probe is a new snapshot. It
    /// waits for the next heartbeat response, so a follower that cannot be
    /// reached is not sent one snapshot after another.
    pub fn snapshot_failed(&mut self) {
        self.reset_state(ProgressState::Probe);
        self.next = self.matched + 1;
        self.probe_sent = true;
    }

    /// Replicates from right after `matched`.
    pub fn become_replicate(&mut self) {
        self.reset_state(ProgressState::Replicate);
        self.next = self.matched + 1;
    }

    /// A snapshot at `index` was sent: no appends until it is acknowledged.
    pub fn become_snapshot(&mut self, index: u64) {
        self.reset_state(ProgressState::Snapshot);
        self.pending_snapshot = index;
    }

    /// Records an append that went out; `last` is the index of its last
    /// entry, `None` if it carried none (an empty append only carries the
    /// commit index, or checks that the follower's log agrees, and takes no
    /// room in the window).
    pub fn sent_append(&mut self, last: Option<u64>) {
        match self.state {
            ProgressState::Probe => self.probe_sent = true,
            ProgressState::Replicate => {
                if let Some(last) = last {
                    self.next = last + 1;
                    self.inflights.add(last);
                }
            }
            ProgressState::Snapshot => {
                panic!("append sent to a follower that is being sent a snapshot")
            }
        }
    }

    /// The follower acknowledged our log up to `index`. Returns true if that
    /// is news (`matched` moved); a probe counts as answered then.
    pub fn maybe_update(&mut self, index: u64) -> bool {
        let updated = index > self.matched;
        if updated {
            self.matched = index;
            self.probe_sent = false;
        }
        self.next = self.next.max(index + 1);
        updated
    }

    /// The follower rejected an append; `hint` is the last index at which it
    /// says its log may still agree with ours. Moves `next` back to probe
    /// from there (never to or below `matched`, which it holds) and returns
    /// true, or returns false if the rejection is stale: an answer to an
    /// append sent before a later probe moved `next` back already, or any
    /// rejection while a snapshot is on its way.
    pub fn maybe_decr_to(&mut self, hint: u64) -> bool {
        match self.state {
            ProgressState::Replicate => {
                // Everything sent after `matched` is in doubt now.
                let next = (hint + 1).min(self.next).max(self.matched + 1);
                self.become_probe();
                self.next = next;
                true
            }
            ProgressState::Probe => {
                let next = (hint + 1).max(self.matched + 1);
                if next >= self.next {
                    return false;
                }
                self.next = next;
                self.probe_sent = false;
                true
            }
            ProgressState::Snapshot => false,
        }
    }
}
