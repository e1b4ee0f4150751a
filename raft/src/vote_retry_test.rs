//! A candidate that asks again ([`Config::retry_vote_requests`], not in the
//! Go suites): when, whom, with what, and what it buys on a lossy network.

use pretty_assertions::assert_eq;

use crate::eraftpb::{Message, MessageType};
use crate::raft::{Config, Raft, StateType};
use crate::storage::MemoryStorage;
use crate::test_harness::{msg, new_network_with_config, new_test_config};

const ELECTION: usize = 10;
const HEARTBEAT: usize = 2;

fn node(pre_vote: bool, retry: bool) -> Raft<MemoryStorage> {
    let c = Config {
        pre_vote,
        retry_vote_requests: retry,
        ..new_test_config(1, vec![1, 2, 3], ELECTION, HEARTBEAT)
    };
    Raft::new(&c, MemoryStorage::new()).unwrap()
}

fn tick(r: &mut Raft<MemoryStorage>, n: usize) {
    for _ in 0..n {
        r.tick();
    }
}

/// (type, to, term) of every message sent, in order.
fn sent(r: &mut Raft<MemoryStorage>) -> Vec<(MessageType, u64, u64)> {
    r.read_messages()
        .iter()
        .map(|m| (m.msg_type(), m.to, m.term))
        .collect()
}

fn answer(from: u64, t: MessageType, term: u64, reject: bool) -> Message {
    let mut m = msg(from, 1, t);
    m.term = term;
    m.reject = reject;
    m
}

/// Every heartbeat timeout, and not before, a candidate sends its vote
/// request again, in the same term, to each member yet to answer.
#[test]
fn a_candidate_asks_again_every_heartbeat() {
    let mut r = node(false, true);
    r.step(msg(1, 1, MessageType::MsgHup)).unwrap();
    let first = sent(&mut r);
    assert_eq!(
        first,
        vec![
            (MessageType::MsgRequestVote, 2, 1),
            (MessageType::MsgRequestVote, 3, 1),
        ]
    );
    tick(&mut r, HEARTBEAT - 1);
    assert_eq!(sent(&mut r), vec![]);
    tick(&mut r, 1);
    assert_eq!(sent(&mut r), first);

    // Node 2 refuses: only node 3 is asked again.
    r.step(answer(2, MessageType::MsgRequestVoteResponse, 1, true))
        .unwrap();
    tick(&mut r, HEARTBEAT);
    assert_eq!(sent(&mut r), vec![(MessageType::MsgRequestVote, 3, 1)]);
    assert_eq!((r.state, r.term), (StateType::Candidate, 1));
}

/// A pre-candidate asks again for pre-votes in the term it would enter,
/// without entering it.
#[test]
fn a_pre_candidate_asks_again_for_the_next_term() {
    let mut r = node(true, true);
    r.step(msg(1, 1, MessageType::MsgHup)).unwrap();
    assert_eq!((r.state, r.term), (StateType::PreCandidate, 0));
    sent(&mut r);
    r.step(answer(3, MessageType::MsgRequestPreVoteResponse, 0, true))
        .unwrap();
    tick(&mut r, HEARTBEAT);
    assert_eq!(sent(&mut r), vec![(MessageType::MsgRequestPreVote, 2, 1)]);
    assert_eq!((r.state, r.term), (StateType::PreCandidate, 0));
    r.step(answer(2, MessageType::MsgRequestPreVoteResponse, 1, false))
        .unwrap();
    assert_eq!((r.state, r.term), (StateType::Candidate, 1));
}

/// Off (the default, as in Go), a candidate stays silent until its
/// election timeout; followers and leaders never send vote requests.
#[test]
fn without_retries_only_a_new_election_asks() {
    let mut r = node(false, false);
    r.step(msg(1, 1, MessageType::MsgHup)).unwrap();
    sent(&mut r);
    tick(&mut r, ELECTION - 1);
    assert_eq!(sent(&mut r), vec![]);

    let mut f = node(false, true);
    tick(&mut f, ELECTION - 1);
    assert_eq!(sent(&mut f), vec![]);
    f.step(msg(1, 1, MessageType::MsgHup)).unwrap();
    for from in [2, 3] {
        f.step(answer(from, MessageType::MsgRequestVoteResponse, 1, false))
            .unwrap();
    }
    assert_eq!(f.state, StateType::Leader);
    sent(&mut f);
    tick(&mut f, HEARTBEAT);
    assert!(sent(&mut f)
        .iter()
        .all(|(t, _, _)| *t == MessageType::MsgHeartbeat));
}

/// A voter answers a repeated request as it answered the first: granted to
/// the candidate it voted for (which restarts its election clock again),
/// refused to any other.
#[test]
fn a_repeated_request_gets_the_same_answer() {
    let mut v = Raft::new(
        &new_test_config(2, vec![1, 2, 3], ELECTION, HEARTBEAT),
        MemoryStorage::new(),
    )
    .unwrap();
    let request = |from| {
        let mut m = msg(from, 2, MessageType::MsgRequestVote);
        m.term = 1;
        m
    };
    for _ in 0..2 {
        v.step(request(1)).unwrap();
        let resp = v.read_messages();
        assert_eq!((resp[0].to, resp[0].reject), (1, false));
        assert_eq!((v.term, v.vote, v.election_elapsed), (1, 1, 0));
        v.tick();
    }
    v.step(request(3)).unwrap();
    let resp = v.read_messages();
    assert_eq!((resp[0].to, resp[0].reject, v.vote), (3, true, 1));
}

/// What the retries buy: with every first vote answer to node 1 lost, a
/// pre-vote election still ends within one election timeout.
#[test]
fn an_election_survives_lost_answers() {
    for retry in [false, true] {
        let set = |c: &mut Config| {
            c.pre_vote = true;
            c.retry_vote_requests = retry;
        };
        let mut nt = new_network_with_config(Some(&set), vec![None, None, None]);
        nt.ignore(MessageType::MsgRequestPreVoteResponse);
        nt.send(vec![msg(1, 1, MessageType::MsgHup)]);
        assert_eq!(nt.raft(1).state, StateType::PreCandidate);
        nt.recover();
        for _ in 0..ELECTION - 1 {
            nt.raft(1).tick();
            let msgs = nt.raft(1).read_messages();
            nt.send(msgs);
        }
        let want = if retry {
            (StateType::Leader, 1)
        } else {
            (StateType::PreCandidate, 0)
        };
        assert_eq!((nt.raft(1).state, nt.raft(1).term), want, "retry {retry}");
    }
}
