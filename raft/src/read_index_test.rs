//! Reads without log entries ([`Raft::read_index`], not in the Go suites):
//! when a leader may serve one, what confirms it, and what forgets it.

use pretty_assertions::assert_eq;

use crate::eraftpb::MessageType;
use crate::errors::Error;
use crate::raft::StateType;
use crate::read_only::ReadState;
use crate::test_harness::{beat, hup, new_network, propose_one as propose, Network};

/// Asks node `id` for a read named `ctx` and delivers what it sends.
fn read(nt: &mut Network, id: u64, ctx: &[u8]) -> Result<(), Error> {
    let r = nt.raft(id).read_index(ctx.to_vec());
    let out = nt.raft(id).read_messages();
    nt.send(out);
    r
}

fn rs(index: u64, ctx: &[u8]) -> ReadState {
    ReadState {
        index,
        request_ctx: ctx.to_vec(),
    }
}

/// Three nodes; node 1 leads term 1 with its no-op and one entry committed.
fn three_with_leader() -> Network {
    let mut nt = new_network(vec![None, None, None]);
    nt.send(vec![hup(1)]);
    propose(&mut nt, 1);
    assert_eq!(nt.raft(1).raft_log.committed, 2);
    nt
}

#[test]
fn a_read_is_released_at_the_commit_index_once_a_quorum_answers() {
    let mut nt = three_with_leader();
    read(&mut nt, 1, b"r1").unwrap();
    assert_eq!(nt.raft(1).read_states, vec![rs(2, b"r1")]);
    assert!(nt.raft(1).read_only.is_empty());
    // Nothing went into the log.
    assert_eq!(nt.raft(1).raft_log.last_index(), 2);
}

#[test]
fn a_single_node_reads_at_once() {
    let mut nt = new_network(vec![None]);
    nt.send(vec![hup(1)]);
    nt.raft(1).read_index(b"solo".to_vec()).unwrap();
    assert_eq!(nt.raft(1).read_states, vec![rs(1, b"solo")]);
    assert!(nt.raft(1).read_messages().is_empty());
}

#[test]
fn followers_and_candidates_refuse_reads() {
    let mut nt = three_with_leader();
    assert_eq!(read(&mut nt, 2, b"r"), Err(Error::ProposalDropped));
    nt.isolate(3);
    nt.send(vec![hup(3)]);
    assert_eq!(nt.raft(3).state, StateType::Candidate);
    assert_eq!(read(&mut nt, 3, b"r"), Err(Error::ProposalDropped));
}

#[test]
fn a_leader_without_an_entry_of_its_term_committed_refuses_reads() {
    let mut nt = new_network(vec![None, None, None]);
    nt.ignore(MessageType::MsgAppendResponse);
    nt.send(vec![hup(1)]);
    assert_eq!(nt.raft(1).state, StateType::Leader);
    assert_eq!(nt.raft(1).raft_log.committed, 0);
    assert_eq!(read(&mut nt, 1, b"r"), Err(Error::ProposalDropped));
    nt.recover();
    nt.send(vec![beat(1)]);
    assert_eq!(nt.raft(1).raft_log.committed, 1);
    read(&mut nt, 1, b"r").unwrap();
    assert_eq!(nt.raft(1).read_states, vec![rs(1, b"r")]);
}

#[test]
fn lost_answers_are_made_up_by_the_next_heartbeat_which_releases_every_read_in_order() {
    let mut nt = three_with_leader();
    nt.ignore(MessageType::MsgHeartbeatResponse);
    read(&mut nt, 1, b"r1").unwrap();
    propose(&mut nt, 1);
    read(&mut nt, 1, b"r2").unwrap();
    assert!(nt.raft(1).read_states.is_empty());
    assert_eq!(nt.raft(1).read_only.len(), 2);
    nt.recover();
    // The periodic heartbeat carries the newest read's id; its answers
    // confirm both reads, each at the index noted when it arrived.
    nt.send(vec![beat(1)]);
    assert_eq!(nt.raft(1).read_states, vec![rs(2, b"r1"), rs(3, b"r2")]);
}

#[test]
fn one_answer_is_not_a_quorum_of_five() {
    let mut nt = new_network(vec![None, None, None, None, None]);
    nt.send(vec![hup(1)]);
    nt.cut(1, 3);
    nt.cut(1, 4);
    nt.cut(1, 5);
    read(&mut nt, 1, b"r").unwrap();
    assert!(nt.raft(1).read_states.is_empty());
    nt.recover();
    nt.send(vec![beat(1)]);
    assert_eq!(nt.raft(1).read_states, vec![rs(1, b"r")]);
}

#[test]
fn a_leader_that_loses_office_forgets_the_reads_it_was_confirming() {
    let mut nt = three_with_leader();
    nt.ignore(MessageType::MsgHeartbeatResponse);
    read(&mut nt, 1, b"r1").unwrap();
    nt.recover();
    nt.send(vec![hup(2)]);
    assert_eq!(nt.raft(2).state, StateType::Leader);
    assert_eq!(nt.raft(1).state, StateType::Follower);
    assert!(nt.raft(1).read_only.is_empty());
    assert!(nt.raft(1).read_states.is_empty());
    // Its old answers name a read nobody waits for any more.
    nt.send(vec![beat(2)]);
    assert!(nt.raft(2).read_states.is_empty());
}

#[test]
fn a_member_leaving_releases_what_the_smaller_quorum_confirmed() {
    use crate::eraftpb::{ConfChange, ConfChangeType};
    let mut nt = new_network(vec![None, None]);
    nt.send(vec![hup(1)]);
    assert_eq!(nt.raft(1).state, StateType::Leader);
    nt.isolate(2);
    read(&mut nt, 1, b"r1").unwrap();
    read(&mut nt, 1, b"r2").unwrap();
    assert!(nt.raft(1).read_states.is_empty());
    // Node 2 leaves: nobody is left to answer, and the leader's own
    // confirmation is now the quorum.
    nt.raft(1).apply_conf_change(&ConfChange {
        change_type: ConfChangeType::RemoveNode as i32,
        node_id: 2,
        ..Default::default()
    });
    assert_eq!(nt.raft(1).read_states, vec![rs(1, b"r1"), rs(1, b"r2")]);
    // A new read is confirmed at once, after them.
    nt.raft(1).read_index(b"r3".to_vec()).unwrap();
    assert_eq!(nt.raft(1).read_states.len(), 3);
}
