//! Leader transfer beyond the Go suites: a lost MsgTimeoutNow.

use pretty_assertions::assert_eq;

use crate::eraftpb::MessageType;
use crate::raft::StateType;
use crate::test_harness::{msg, new_network};

/// The transferee has caught up, but the MsgTimeoutNow telling it so is
/// lost: the leader repeats it on the transferee's next heartbeat answer
/// instead of waiting an election timeout for the transfer to lapse.
#[test]
fn a_lost_timeout_now_is_repeated_on_the_next_heartbeat_answer() {
    let mut nt = new_network(vec![None, None, None]);
    nt.send(vec![msg(1, 1, MessageType::MsgHup)]);
    nt.ignore(MessageType::MsgTimeoutNow);
    nt.send(vec![msg(2, 1, MessageType::MsgTransferLeader)]);
    assert_eq!(
        (nt.raft(1).state, nt.raft(1).lead_transferee),
        (StateType::Leader, 2)
    );

    nt.recover();
    nt.send(vec![msg(1, 1, MessageType::MsgBeat)]);
    let states: Vec<_> = (1..=3)
        .map(|id| (nt.raft(id).state, nt.raft(id).term))
        .collect();
    assert_eq!(
        states,
        vec![
            (StateType::Follower, 2),
            (StateType::Leader, 2),
            (StateType::Follower, 2),
        ]
    );
}
