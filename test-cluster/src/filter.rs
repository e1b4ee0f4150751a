//! Message filters of the simulated network. A filter sees every raft
//! message between stores before delivery and may drop it or hold it back;
//! filters stack (a message is delivered only if every filter lets it
//! through, as late as the latest delay asks).
//!
//! Go's two filters are here under their names ([`PartitionFilter`],
//! [`DropFilter`]); [`MessageFilter`] builds the rest — by region, by
//! message type, by direction, and dropping all, the next N, or delaying:
//!
//! ```
//! use std::time::Duration;
//! use proto::eraftpb::MessageType;
//! use test_cluster::MessageFilter;
//!
//! // Store 1 stops hearing store 3's votes (one way; 3 still hears 1).
//! let deaf = MessageFilter::new()
//!     .from_store(3)
//!     .to_store(1)
//!     .msg_type(MessageType::MsgRequestVoteResponse);
//! // Region 2's next five appends are lost.
//! let lossy = MessageFilter::new()
//!     .region(2)
//!     .msg_type(MessageType::MsgAppend)
//!     .drop_next(5);
//! // Everything store 4 sends arrives 50 ms late.
//! let slow = MessageFilter::new().from_store(4).delay_by(Duration::from_millis(50));
//! # let _ = (deaf, lossy, slow);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proto::eraftpb::{Message, MessageType};
use proto::raft_serverpb::RaftMessage;

use crate::rng::Rng;

/// A rule of the simulated network, consulted for every raft message.
pub trait Filter: Send + Sync {
    /// True to deliver `msg`.
    fn before(&self, msg: &RaftMessage) -> bool;
    /// Called after a message was handed on (Go's `After`).
    fn after(&self) {}
    /// How late to deliver a message this filter let through; `None` for
    /// on time.
    fn delay(&self, _msg: &RaftMessage) -> Option<Duration> {
        None
    }
}

fn stores_of(msg: &RaftMessage) -> (u64, u64) {
    (
        msg.from_peer.map_or(0, |p| p.store_id),
        msg.to_peer.map_or(0, |p| p.store_id),
    )
}

/// Cuts every message between a store of `s1` and a store of `s2`.
pub struct PartitionFilter {
    /// One side.
    pub s1: Vec<u64>,
    /// The other side.
    pub s2: Vec<u64>,
}

impl Filter for PartitionFilter {
    fn before(&self, msg: &RaftMessage) -> bool {
        let (from, to) = stores_of(msg);
        let touches = |s: &[u64]| s.iter().any(|&id| id == from || id == to);
        !(touches(&self.s1) && touches(&self.s2))
    }
}

/// Drops about one message in ten (Go: deliver iff `rand % 1000 > 100`).
pub struct DropFilter {
    rng: Mutex<Rng>,
}

impl DropFilter {
    /// A filter drawing from a generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        DropFilter {
            rng: Mutex::new(Rng::new(seed)),
        }
    }
}

impl Filter for DropFilter {
    fn before(&self, _msg: &RaftMessage) -> bool {
        (self.rng.lock().unwrap().below(1000)) > 100
    }
}

/// What a [`MessageFilter`] does to the messages it matches.
#[derive(Debug, Clone, Copy)]
enum Action {
    Drop,
    DropNext,
    Delay(Duration),
}

/// A condition on a raft message, for [`MessageFilter::when`].
type MessageTest = dyn Fn(&Message) -> bool + Send + Sync;

/// A filter built from conditions (all must hold for a message to match)
/// and one action for the matching messages; other messages pass. With no
/// condition every message matches; with no action matches are dropped.
pub struct MessageFilter {
    region: Option<u64>,
    msg_types: Vec<MessageType>,
    from_stores: Vec<u64>,
    to_stores: Vec<u64>,
    /// A condition on the raft message itself (its index, commit, ...).
    when: Option<Box<MessageTest>>,
    action: Action,
    /// For `drop_next`: how many more matches to drop.
    budget: AtomicU64,
    matched: Arc<AtomicU64>,
}

impl Default for MessageFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl MessageFilter {
    /// Matches every message and drops it.
    pub fn new() -> Self {
        MessageFilter {
            region: None,
            msg_types: Vec::new(),
            from_stores: Vec::new(),
            to_stores: Vec::new(),
            when: None,
            action: Action::Drop,
            budget: AtomicU64::new(0),
            matched: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Only messages of this region.
    pub fn region(mut self, region_id: u64) -> Self {
        self.region = Some(region_id);
        self
    }

    /// Only messages of this raft type (call again to add more types).
    pub fn msg_type(mut self, t: MessageType) -> Self {
        self.msg_types.push(t);
        self
    }

    /// Only messages sent by this store (call again to add stores).
    pub fn from_store(mut self, store_id: u64) -> Self {
        self.from_stores.push(store_id);
        self
    }

    /// Only messages sent to this store (call again to add stores).
    pub fn to_store(mut self, store_id: u64) -> Self {
        self.to_stores.push(store_id);
        self
    }

    /// Only raft messages for which `f` holds (say, an append whose commit
    /// index is past some point). Replaces an earlier `when`.
    pub fn when(mut self, f: impl Fn(&Message) -> bool + Send + Sync + 'static) -> Self {
        self.when = Some(Box::new(f));
        self
    }

    /// Drops the next `n` matching messages, then lets every one through.
    pub fn drop_next(mut self, n: u64) -> Self {
        self.action = Action::DropNext;
        self.budget = AtomicU64::new(n);
        self
    }

    /// Delivers matching messages `by` late instead of dropping them
    /// (messages keep their order: a later one never overtakes).
    pub fn delay_by(mut self, by: Duration) -> Self {
        self.action = Action::Delay(by);
        self
    }

    /// A counter of the messages this filter matched (dropped or delayed),
    /// readable after the filter is handed to the cluster.
    pub fn matched(&self) -> Arc<AtomicU64> {
        self.matched.clone()
    }

    fn matches(&self, msg: &RaftMessage) -> bool {
        let (from, to) = stores_of(msg);
        let msg_type = msg.message.as_ref().map(|m| m.msg_type());
        self.region.is_none_or(|r| r == msg.region_id)
            && (self.msg_types.is_empty() || msg_type.is_some_and(|t| self.msg_types.contains(&t)))
            && (self.from_stores.is_empty() || self.from_stores.contains(&from))
            && (self.to_stores.is_empty() || self.to_stores.contains(&to))
            && self
                .when
                .as_ref()
                .is_none_or(|f| msg.message.as_ref().is_some_and(f))
    }
}

impl Filter for MessageFilter {
    fn before(&self, msg: &RaftMessage) -> bool {
        if !self.matches(msg) {
            return true;
        }
        match self.action {
            Action::Drop => {
                self.matched.fetch_add(1, Ordering::Relaxed);
                false
            }
            Action::DropNext => {
                let took = self
                    .budget
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                    .is_ok();
                if took {
                    self.matched.fetch_add(1, Ordering::Relaxed);
                }
                !took
            }
            Action::Delay(_) => true,
        }
    }

    fn delay(&self, msg: &RaftMessage) -> Option<Duration> {
        match self.action {
            Action::Delay(by) if self.matches(msg) => {
                self.matched.fetch_add(1, Ordering::Relaxed);
                Some(by)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::eraftpb::Message;
    use proto::metapb::Peer;

    fn msg(region_id: u64, from: u64, to: u64, t: MessageType) -> RaftMessage {
        RaftMessage {
            region_id,
            from_peer: Some(Peer {
                id: from,
                store_id: from,
            }),
            to_peer: Some(Peer {
                id: to,
                store_id: to,
            }),
            message: Some(Message {
                msg_type: t as i32,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn conditions_must_all_hold() {
        let f = MessageFilter::new()
            .region(2)
            .from_store(1)
            .msg_type(MessageType::MsgAppend);
        assert!(!f.before(&msg(2, 1, 3, MessageType::MsgAppend)));
        assert!(
            f.before(&msg(3, 1, 3, MessageType::MsgAppend)),
            "other region"
        );
        assert!(f.before(&msg(2, 3, 1, MessageType::MsgAppend)), "other way");
        assert!(
            f.before(&msg(2, 1, 3, MessageType::MsgHeartbeat)),
            "other type"
        );
        assert_eq!(f.matched().load(Ordering::Relaxed), 1);
    }

    #[test]
    fn one_way_cuts_only_one_direction() {
        let f = MessageFilter::new().from_store(1).to_store(2);
        assert!(!f.before(&msg(1, 1, 2, MessageType::MsgAppend)));
        assert!(f.before(&msg(1, 2, 1, MessageType::MsgAppendResponse)));
        assert!(f.before(&msg(1, 1, 3, MessageType::MsgAppend)));
    }

    #[test]
    fn when_matches_on_the_message_itself() {
        let f = MessageFilter::new()
            .to_store(2)
            .when(|m| m.msg_type() == MessageType::MsgHeartbeat && m.commit > 5);
        let mut late = msg(1, 1, 2, MessageType::MsgHeartbeat);
        late.message.as_mut().unwrap().commit = 6;
        assert!(!f.before(&late));
        assert!(
            f.before(&msg(1, 1, 2, MessageType::MsgHeartbeat)),
            "commit 0"
        );
        assert!(
            f.before(&msg(1, 1, 2, MessageType::MsgAppend)),
            "other type"
        );
        late.to_peer.as_mut().unwrap().store_id = 3;
        assert!(f.before(&late), "other store");
        let mut empty = msg(1, 1, 2, MessageType::MsgHeartbeat);
        empty.message = None;
        assert!(f.before(&empty), "no raft message");
    }

    #[test]
    fn drop_next_drops_exactly_n() {
        let f = MessageFilter::new().to_store(2).drop_next(3);
        let delivered: Vec<bool> = (0..6)
            .map(|_| f.before(&msg(1, 1, 2, MessageType::MsgAppend)))
            .collect();
        assert_eq!(delivered, [false, false, false, true, true, true]);
        assert!(f.before(&msg(1, 1, 3, MessageType::MsgAppend)));
        assert_eq!(f.matched().load(Ordering::Relaxed), 3);
    }

    #[test]
    fn delay_lets_through_late() {
        let by = Duration::from_millis(30);
        let f = MessageFilter::new().from_store(4).delay_by(by);
        let m = msg(1, 4, 1, MessageType::MsgAppend);
        assert!(f.before(&m));
        assert_eq!(f.delay(&m), Some(by));
        assert_eq!(f.delay(&msg(1, 1, 4, MessageType::MsgAppend)), None);
    }

    #[test]
    fn partition_cuts_both_ways() {
        let f = PartitionFilter {
            s1: vec![1, 2],
            s2: vec![3],
        };
        assert!(!f.before(&msg(1, 1, 3, MessageType::MsgAppend)));
        assert!(!f.before(&msg(1, 3, 2, MessageType::MsgAppend)));
        assert!(f.before(&msg(1, 1, 2, MessageType::MsgAppend)));
    }
}
