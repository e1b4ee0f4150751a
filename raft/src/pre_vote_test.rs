//! Elections with a pre-vote round ([`Config::pre_vote`], not in the Go
//! suites): who may raise the term, what a grant promises, and how a
//! pre-candidate's round ends.

use pretty_assertions::assert_eq;

use crate::eraftpb::{Message, MessageType};
use crate::raft::{Config, Raft, StateType};
use crate::storage::MemoryStorage;
use crate::test_harness::{
    hup, msg, new_network_with_config, new_test_config, propose_one as propose, Network,
};

fn pre_vote(c: &mut Config) {
    c.pre_vote = true;
}

/// (state, term, lead) of every node of `nt`, in id order.
fn roles(nt: &mut Network, n: u64) -> Vec<(StateType, u64, u64)> {
    (1..=n)
        .map(|id| {
            let r = nt.raft(id);
            (r.state, r.term, r.lead)
        })
        .collect()
}

/// Node 1 leads term 1 and both others follow it.
const ONE_LEADS_TERM_1: [(StateType, u64, u64); 3] = [
    (StateType::Leader, 1, 1),
    (StateType::Follower, 1, 1),
    (StateType::Follower, 1, 1),
];

/// A 3-node network (pre-vote on or off) in which node 1 leads term 1 and
/// node 3, cut off meanwhile, missed two entries.
fn leader_and_lagging_3(pre: bool) -> Network {
    let set = |c: &mut Config| c.pre_vote = pre;
    let mut nt = new_network_with_config(Some(&set), vec![None, None, None]);
    nt.send(vec![hup(1)]);
    nt.isolate(3);
    propose(&mut nt, 1);
    propose(&mut nt, 1);
    nt.recover();
    nt
}

fn pre_vote_request(from: u64, to: u64, term: u64, log_term: u64, index: u64) -> Message {
    let mut m = msg(from, to, MessageType::MsgRequestPreVote);
    m.term = term;
    m.log_term = log_term;
    m.index = index;
    m
}

#[test]
fn pre_vote_elects_in_the_next_term() {
    let mut nt = new_network_with_config(Some(&pre_vote), vec![None, None, None]);
    nt.send(vec![hup(1)]);
    assert_eq!(roles(&mut nt, 3), ONE_LEADS_TERM_1);
}

#[test]
fn a_single_node_with_pre_vote_elects_itself() {
    let c = Config {
        pre_vote: true,
        ..new_test_config(1, vec![1], 10, 1)
    };
    let mut r = Raft::new(&c, MemoryStorage::new()).unwrap();
    r.step(hup(1)).unwrap();
    assert_eq!((r.state, r.term), (StateType::Leader, 1));
}

/// The point of pre-vote: without it, a node whose log is behind raises
/// the term and deposes the leader although it cannot win; with it, the
/// others refuse its pre-vote and nothing changes.
#[test]
fn a_lagging_node_cannot_depose_the_leader() {
    let mut plain = leader_and_lagging_3(false);
    plain.send(vec![hup(3)]);
    assert_eq!(plain.raft(1).term, 2, "without pre-vote the term rises");
    assert_ne!(plain.raft(1).state, StateType::Leader);

    let mut nt = leader_and_lagging_3(true);
    nt.send(vec![hup(3)]);
    assert_eq!(
        roles(&mut nt, 3),
        vec![
            (StateType::Leader, 1, 1),
            (StateType::Follower, 1, 1),
            (StateType::Follower, 1, crate::NONE),
        ]
    );
    // The leader's next heartbeat brings it back.
    nt.send(vec![msg(1, 1, MessageType::MsgBeat)]);
    assert_eq!(nt.raft(3).lead, 1);
    propose(&mut nt, 1);
    let committed = nt.raft(1).raft_log.committed;
    assert_eq!(nt.raft(3).raft_log.committed, committed);
}

/// A node cut off from the others times out again and again without
/// raising its term, so it rejoins without an election.
#[test]
fn an_isolated_node_keeps_its_term() {
    let mut nt = new_network_with_config(Some(&pre_vote), vec![None, None, None]);
    nt.send(vec![hup(1)]);
    nt.isolate(3);
    for _ in 0..5 {
        nt.send(vec![hup(3)]);
    }
    assert_eq!(
        (nt.raft(3).state, nt.raft(3).term),
        (StateType::PreCandidate, 1)
    );
    nt.recover();
    nt.send(vec![msg(1, 1, MessageType::MsgBeat)]);
    assert_eq!(roles(&mut nt, 3), ONE_LEADS_TERM_1);
}

/// Granting a pre-vote moves nothing: not the term, not the vote, not the
/// election clock. The grant carries the term asked about.
#[test]
fn a_pre_vote_grant_promises_nothing() {
    let mut r = Raft::new(
        &new_test_config(1, vec![1, 2, 3], 10, 1),
        MemoryStorage::new(),
    )
    .unwrap();
    r.become_follower(2, crate::NONE);
    r.election_elapsed = 4;
    r.step(pre_vote_request(2, 1, 3, 0, 0)).unwrap();
    assert_eq!((r.term, r.vote, r.election_elapsed), (2, crate::NONE, 4));
    let resp = r.read_messages();
    assert_eq!(resp.len(), 1);
    assert_eq!(
        (resp[0].msg_type(), resp[0].to, resp[0].term, resp[0].reject),
        (MessageType::MsgRequestPreVoteResponse, 2, 3, false)
    );
}

/// A pre-vote from a node whose log is behind is refused with our term,
/// and so is one for a term older than ours.
#[test]
fn pre_votes_are_refused_for_a_short_log_or_an_old_term() {
    let mut nt = new_network_with_config(Some(&pre_vote), vec![None, None, None]);
    nt.send(vec![hup(1)]);
    propose(&mut nt, 1);
    let r = nt.raft(2);
    let (last_term, last) = (r.raft_log.last_term(), r.raft_log.last_index());
    for (term, index) in [(2, last - 1), (1, last)] {
        let r = nt.raft(2);
        r.step(pre_vote_request(3, 2, term, last_term, index))
            .unwrap();
        let resp = r.read_messages();
        assert_eq!(
            (resp[0].msg_type(), resp[0].term, resp[0].reject),
            (MessageType::MsgRequestPreVoteResponse, 1, true),
            "pre-vote for term {term} at index {index}"
        );
        assert_eq!((r.term, r.lead), (1, 1));
    }
}

/// A pre-candidate follows a leader of its term as soon as it hears from
/// it, ends its round on a quorum of refusals, and ignores a grant left
/// over from an earlier round.
#[test]
fn a_pre_candidate_round_ends_on_a_leader_or_refusals() {
    let new = || {
        let c = Config {
            pre_vote: true,
            ..new_test_config(1, vec![1, 2, 3], 10, 1)
        };
        let mut r = Raft::new(&c, MemoryStorage::new()).unwrap();
        r.become_follower(3, crate::NONE);
        r.step(hup(1)).unwrap();
        assert_eq!((r.state, r.term), (StateType::PreCandidate, 3));
        let reqs = r.read_messages();
        assert!(reqs
            .iter()
            .all(|m| m.msg_type() == MessageType::MsgRequestPreVote && m.term == 4));
        r
    };

    let mut r = new();
    let mut hb = msg(2, 1, MessageType::MsgHeartbeat);
    hb.term = 3;
    r.step(hb).unwrap();
    assert_eq!((r.state, r.term, r.lead), (StateType::Follower, 3, 2));

    let mut r = new();
    for from in [2, 3] {
        let mut no = msg(from, 1, MessageType::MsgRequestPreVoteResponse);
        no.term = 3;
        no.reject = true;
        r.step(no).unwrap();
    }
    assert_eq!((r.state, r.term), (StateType::Follower, 3));

    let mut r = new();
    let mut stale = msg(2, 1, MessageType::MsgRequestPreVoteResponse);
    stale.term = 3;
    r.step(stale).unwrap();
    assert_eq!((r.state, r.term), (StateType::PreCandidate, 3));
    let mut yes = msg(3, 1, MessageType::MsgRequestPreVoteResponse);
    yes.term = 4;
    r.step(yes).unwrap();
    assert_eq!((r.state, r.term, r.vote), (StateType::Candidate, 4, 1));
}

/// A leadership transfer is the leader's own decision: the transferee
/// campaigns at once, without a pre-vote round.
#[test]
fn a_transferee_skips_the_pre_vote() {
    let mut nt = new_network_with_config(Some(&pre_vote), vec![None, None, None]);
    nt.send(vec![hup(1)]);
    nt.send(vec![msg(2, 1, MessageType::MsgTransferLeader)]);
    assert_eq!(
        roles(&mut nt, 3),
        vec![
            (StateType::Follower, 2, 2),
            (StateType::Leader, 2, 2),
            (StateType::Follower, 2, 2),
        ]
    );
}
