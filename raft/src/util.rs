//! Small helpers shared by the raft modules and their tests.

use std::fmt::Write;

use crate::eraftpb::{HardState, MessageType, Snapshot};

/// Messages a node generates for itself and never sends.
pub fn is_local_msg(t: MessageType) -> bool {
    matches!(t, MessageType::MsgHup | MessageType::MsgBeat)
}

/// Replies to a request a leader or candidate sent.
pub fn is_response_msg(t: MessageType) -> bool {
    matches!(
        t,
        MessageType::MsgAppendResponse
            | MessageType::MsgRequestVoteResponse
            | MessageType::MsgRequestPreVoteResponse
            | MessageType::MsgHeartbeatResponse
    )
}

/// True if `hs` is the default (all zero): nothing was ever persisted.
pub fn is_empty_hard_state(hs: &HardState) -> bool {
    *hs == HardState::default()
}

/// A snapshot with index 0 stands for "no snapshot".
pub fn is_empty_snap(s: &Snapshot) -> bool {
    s.metadata.as_ref().is_none_or(|m| m.index == 0)
}

/// A text dump of a log (committed, applied, then each entry), used by the
/// tests to compare logs and print readable diffs.
pub fn ltoa<T: crate::Storage>(l: &crate::RaftLog<T>) -> String {
    let mut s = format!("committed: {}\napplied:  {}\n", l.committed, l.applied);
    for (i, e) in l.all_entries().iter().enumerate() {
        let _ = writeln!(s, "#{}: {:?}", i, e);
    }
    s
}
