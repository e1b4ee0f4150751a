//! TinyKV's raft/raft_test.go. Nodes handed to a `Network` move into it;
//! where Go keeps a pointer to read a node later, these tests reach it
//! through `nt.raft(id)`.
#![allow(non_snake_case)]

use prost::Message as _;

use crate::eraftpb::{
    ConfChange, ConfChangeType, ConfState, Entry, EntryType, Message, MessageType, Snapshot,
    SnapshotMetadata,
};
use crate::log::RaftLog;
use crate::raft::{Config, StateType, NONE};
use crate::storage::MemoryStorage;
use crate::test_harness::*;
use crate::util::ltoa;

fn hup(id: u64) -> Message {
    msg(id, id, MessageType::MsgHup)
}

fn beat(id: u64) -> Message {
    msg(id, id, MessageType::MsgBeat)
}

fn prop(from: u64, to: u64, data: &[u8]) -> Message {
    Message {
        from,
        to,
        msg_type: MessageType::MsgPropose as i32,
        entries: vec![Entry {
            data: data.to_vec(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn ent(term: u64, index: u64) -> Entry {
    Entry {
        term,
        index,
        ..Default::default()
    }
}

fn ent_data(term: u64, index: u64, data: &[u8]) -> Entry {
    Entry {
        term,
        index,
        data: data.to_vec(),
        ..Default::default()
    }
}

/// Go's `newLog(newMemoryStorageWithEnts(ents))` with `committed` set.
fn log_with(ents: Vec<Entry>, committed: u64) -> RaftLog<MemoryStorage> {
    let mut l = RaftLog::new(new_memory_storage_with_ents(ents));
    l.committed = committed;
    l
}

fn snapshot(index: u64, term: u64, nodes: Vec<u64>) -> Snapshot {
    Snapshot {
        metadata: Some(SnapshotMetadata {
            index,
            term,
            conf_state: Some(ConfState { nodes }),
        }),
        ..Default::default()
    }
}

#[test]
fn TestProgressLeader2AB() {
    let mut r = new_test_raft(1, vec![1, 2], 5, 1, MemoryStorage::new());
    r.become_candidate();
    r.become_leader();

    let prop_msg = prop(1, 1, b"foo");
    for i in 0..5 {
        let pr = &r.prs[&r.id];
        assert!(
            pr.matched == i + 1 && pr.next == pr.matched + 1,
            "unexpected progress {:?}",
            pr
        );
        r.step(prop_msg.clone())
            .expect("proposal resulted in error");
    }
}

#[test]
fn TestLeaderElection2AA() {
    let tests = vec![
        (
            new_network_with_config(None, vec![None, None, None]),
            StateType::Leader,
            1,
        ),
        (
            new_network_with_config(None, vec![None, None, nop_stepper()]),
            StateType::Leader,
            1,
        ),
        (
            new_network_with_config(None, vec![None, nop_stepper(), nop_stepper()]),
            StateType::Candidate,
            1,
        ),
        (
            new_network_with_config(None, vec![None, nop_stepper(), nop_stepper(), None]),
            StateType::Candidate,
            1,
        ),
        (
            new_network_with_config(None, vec![None, nop_stepper(), nop_stepper(), None, None]),
            StateType::Leader,
            1,
        ),
    ];
    for (i, (mut nt, state, exp_term)) in tests.into_iter().enumerate() {
        nt.send(vec![hup(1)]);
        let sm = nt.raft(1);
        assert_eq!(sm.state, state, "#{}: state", i);
        assert_eq!(sm.term, exp_term, "#{}: term", i);
    }
}

// Each node can campaign and be elected in turn: the elections work when
// not starting from a clean slate.
#[test]
fn TestLeaderCycle2AA() {
    let mut n = new_network_with_config(None, vec![None, None, None]);
    for campaigner_id in 1..=3 {
        n.send(vec![hup(campaigner_id)]);
        for id in 1..=3 {
            let sm = n.raft(id);
            if sm.id == campaigner_id {
                assert_eq!(
                    sm.state,
                    StateType::Leader,
                    "campaigning node {} state",
                    sm.id
                );
            } else {
                assert_eq!(
                    sm.state,
                    StateType::Follower,
                    "after campaign of node {}, node {} state",
                    campaigner_id,
                    sm.id
                );
            }
        }
    }
}

// A new leader's log overwrites longer logs of nodes that never won an
// election with them, as long as the new leader's log is at least as up to
// date in term.
#[test]
fn TestLeaderElectionOverwriteNewerLogs2AB() {
    let cfg = |c: &mut Config| c.peers = ids_by_size(5);
    let cfg: &dyn Fn(&mut Config) = &cfg;
    // This network represents the results of the following sequence of
    // events:
    // - Node 1 won the election in term 1.
    // - Node 1 replicated a log entry to node 2 but died before sending it
    //   to other nodes.
    // - Node 3 won the second election in term 2.
    // - Node 3 wrote an entry to its logs but died without sending it to
    //   any other nodes.
    //
    // At this point, nodes 1, 2, and 3 all have uncommitted entries in
    // their logs and could win an election at term 3. The winner's log
    // entry overwrites the losers'.
    let mut n = new_network_with_config(
        Some(cfg),
        vec![
            sm(ents_with_config(Some(cfg), 1, &[1])), // Node 1: Won first election
            sm(ents_with_config(Some(cfg), 2, &[1])), // Node 2: Got logs from node 1
            sm(ents_with_config(Some(cfg), 3, &[2])), // Node 3: Won second election
            sm(voted_with_config(Some(cfg), 4, 3, 2)), // Node 4: Voted but didn't get logs
            sm(voted_with_config(Some(cfg), 5, 3, 2)), // Node 5: Voted but didn't get logs
        ],
    );

    // Node 1 campaigns. The election fails because a quorum of nodes know
    // about the election that already happened at term 2. Node 1's term is
    // pushed ahead to 2.
    n.send(vec![hup(1)]);
    assert_eq!(n.raft(1).state, StateType::Follower, "state");
    assert_eq!(n.raft(1).term, 2, "term");

    // Node 1 campaigns again with a higher term. This time it succeeds.
    n.send(vec![hup(1)]);
    assert_eq!(n.raft(1).state, StateType::Leader, "state");
    assert_eq!(n.raft(1).term, 3, "term");

    // Now all nodes agree on a log entry with term 1 at index 1 (and
    // term 3 at index 2).
    for i in 1..=5 {
        let entries = n.raft(i).raft_log.all_entries();
        assert_eq!(entries.len(), 2, "node {}: len(entries)", i);
        assert_eq!(entries[0].term, 1, "node {}: term at index 1", i);
        assert_eq!(entries[1].term, 3, "node {}: term at index 2", i);
    }
}

#[test]
fn TestVoteFromAnyState2AA() {
    let vt = MessageType::MsgRequestVote;
    let vt_resp = MessageType::MsgRequestVoteResponse;
    for st in [StateType::Follower, StateType::Candidate, StateType::Leader] {
        let mut r = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
        r.term = 1;

        match st {
            StateType::Follower => r.become_follower(r.term, 3),
            StateType::Candidate => r.become_candidate(),
            StateType::Leader => {
                r.become_candidate();
                r.become_leader();
            }
            StateType::PreCandidate => unreachable!("not a state of the Go tests"),
        }
        r.read_messages(); // clear message

        // Note that setting our state above may have advanced r.term past
        // its initial value.
        let new_term = r.term + 1;

        let m = Message {
            from: 2,
            to: 1,
            msg_type: vt as i32,
            term: new_term,
            log_term: new_term,
            index: 42,
            ..Default::default()
        };
        r.step(m)
            .unwrap_or_else(|e| panic!("{:?},{}: step failed: {}", vt, st, e));
        assert_eq!(
            r.msgs.len(),
            1,
            "{:?},{}: response messages: {:?}",
            vt,
            st,
            r.msgs
        );
        let resp = &r.msgs[0];
        assert_eq!(resp.msg_type(), vt_resp, "{:?},{}: response type", vt, st);
        assert!(!resp.reject, "{:?},{}: unexpected rejection", vt, st);

        // If this was a vote, we reset our state and term.
        assert_eq!(r.state, StateType::Follower, "{:?},{}: state", vt, st);
        assert_eq!(r.term, new_term, "{:?},{}: term", vt, st);
        assert_eq!(r.vote, 2, "{:?},{}: vote", vt, st);
    }
}

#[test]
fn TestLogReplication2AB() {
    let tests = vec![
        (
            new_network(vec![None, None, None]),
            vec![prop(1, 1, b"somedata")],
            2,
        ),
        (
            new_network(vec![None, None, None]),
            vec![prop(1, 1, b"somedata"), hup(2), prop(1, 2, b"somedata")],
            4,
        ),
    ];
    for (i, (mut nt, msgs, wcommitted)) in tests.into_iter().enumerate() {
        nt.send(vec![hup(1)]);
        for m in &msgs {
            nt.send(vec![m.clone()]);
        }

        for j in 1..=3 {
            let storage = nt.storage[&j].clone();
            let sm = nt.raft(j);
            assert_eq!(sm.raft_log.committed, wcommitted, "#{}.{}: committed", i, j);

            let ents: Vec<Entry> = next_ents(sm, &storage)
                .into_iter()
                .filter(|e| !e.data.is_empty())
                .collect();
            let props: Vec<&Message> = msgs
                .iter()
                .filter(|m| m.msg_type() == MessageType::MsgPropose)
                .collect();
            for (k, m) in props.iter().enumerate() {
                assert_eq!(ents[k].data, m.entries[0].data, "#{}.{}: data", i, j);
            }
        }
    }
}

#[test]
fn TestSingleNodeCommit2AB() {
    let mut tt = new_network(vec![None]);
    tt.send(vec![hup(1)]);
    tt.send(vec![prop(1, 1, b"some data")]);
    tt.send(vec![prop(1, 1, b"some data")]);

    assert_eq!(tt.raft(1).raft_log.committed, 3);
}

// Entries of an older term are committed when the new leader commits an
// entry of its own term.
#[test]
fn TestCommitWithoutNewTermEntry2AB() {
    let mut tt = new_network(vec![None, None, None, None, None]);
    tt.send(vec![hup(1)]);

    // 0 cannot reach 2,3,4
    tt.cut(1, 3);
    tt.cut(1, 4);
    tt.cut(1, 5);

    tt.send(vec![prop(1, 1, b"some data")]);
    tt.send(vec![prop(1, 1, b"some data")]);

    assert_eq!(tt.raft(1).raft_log.committed, 1);

    // network recovery
    tt.recover();

    // elect 2 as the new leader with term 2; after appending a noop entry
    // with the current term, all old entries are committed
    tt.send(vec![hup(2)]);

    assert_eq!(tt.raft(1).raft_log.committed, 4);
}

// A heartbeat lets a lagging follower catch up and commit.
#[test]
fn TestCommitWithHeartbeat2AB() {
    let mut tt = new_network(vec![None, None, None, None, None]);
    tt.send(vec![hup(1)]);

    // isolate node 5
    tt.isolate(5);
    tt.send(vec![prop(1, 1, b"some data")]);
    tt.send(vec![prop(1, 1, b"some data")]);

    assert_eq!(tt.raft(5).raft_log.committed, 1);

    // network recovery
    tt.recover();

    // leader broadcast heartbeat
    tt.send(vec![beat(1)]);

    assert_eq!(tt.raft(5).raft_log.committed, 3);
}

#[test]
fn TestDuelingCandidates2AB() {
    let a = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
    let b = new_test_raft(2, vec![1, 2, 3], 10, 1, MemoryStorage::new());
    let c = new_test_raft(3, vec![1, 2, 3], 10, 1, MemoryStorage::new());

    let mut nt = new_network(vec![sm(a), sm(b), sm(c)]);
    nt.cut(1, 3);

    nt.send(vec![hup(1)]);
    nt.send(vec![hup(3)]);

    // 1 becomes leader since it receives votes from 1 and 2
    assert_eq!(nt.raft(1).state, StateType::Leader);

    // 3 stays as candidate since it receives a vote from 3 and a rejection
    // from 2
    assert_eq!(nt.raft(3).state, StateType::Candidate);

    nt.recover();

    // candidate 3 now increases its term and tries to vote again; we
    // expect it to disrupt the leader 1 since it has a higher term, and 3
    // will be follower again since both 1 and 2 reject its vote request
    // since 3 does not have a long enough log
    nt.send(vec![hup(3)]);

    let wlog = log_with(vec![Entry::default(), ent(1, 1)], 1);
    let tests = [
        (1, StateType::Follower, 2, ltoa(&wlog)),
        (2, StateType::Follower, 2, ltoa(&wlog)),
        (
            3,
            StateType::Follower,
            2,
            ltoa(&RaftLog::new(MemoryStorage::new())),
        ),
    ];
    for (i, (id, state, term, base)) in tests.into_iter().enumerate() {
        let sm = nt.raft(id);
        assert_eq!(sm.state, state, "#{}: state", i);
        assert_eq!(sm.term, term, "#{}: term", i);
        assert_eq!(base, ltoa(&sm.raft_log), "#{}: diff", i);
    }
}

#[test]
fn TestCandidateConcede2AB() {
    let mut tt = new_network(vec![None, None, None]);
    tt.isolate(1);

    tt.send(vec![hup(1)]);
    tt.send(vec![hup(3)]);

    // heal the partition
    tt.recover();
    // send heartbeat; reset wait
    tt.send(vec![beat(3)]);

    let data = b"force follower";
    // send a proposal to 3 to flush out a MsgAppend to 1
    tt.send(vec![prop(3, 3, data)]);
    // send heartbeat; flush out commit
    tt.send(vec![beat(3)]);

    let a = tt.raft(1);
    assert_eq!(a.state, StateType::Follower, "state");
    assert_eq!(a.term, 1, "term");
    let want_log = ltoa(&log_with(
        vec![Entry::default(), ent(1, 1), ent_data(1, 2, data)],
        2,
    ));
    for id in 1..=3 {
        assert_eq!(want_log, ltoa(&tt.raft(id).raft_log), "#{}: diff", id);
    }
}

#[test]
fn TestSingleNodeCandidate2AA() {
    let mut tt = new_network(vec![None]);
    tt.send(vec![hup(1)]);

    assert_eq!(tt.raft(1).state, StateType::Leader);
}

#[test]
fn TestOldMessages2AB() {
    let mut tt = new_network(vec![None, None, None]);
    // make 0 leader @ term 3
    tt.send(vec![hup(1)]);
    tt.send(vec![hup(2)]);
    tt.send(vec![hup(1)]);
    // pretend we're an old leader trying to make progress; this entry is
    // expected to be ignored.
    tt.send(vec![Message {
        from: 2,
        to: 1,
        msg_type: MessageType::MsgAppend as i32,
        term: 2,
        entries: vec![ent(2, 3)],
        ..Default::default()
    }]);
    // commit a new entry
    tt.send(vec![prop(1, 1, b"somedata")]);

    let ilog = log_with(
        vec![
            Entry::default(),
            ent(1, 1),
            ent(2, 2),
            ent(3, 3),
            ent_data(3, 4, b"somedata"),
        ],
        4,
    );
    let base = ltoa(&ilog);
    for id in 1..=3 {
        assert_eq!(base, ltoa(&tt.raft(id).raft_log), "#{}: diff", id);
    }
}

// A proposal is committed only when a quorum is there to accept it.
#[test]
fn TestProposal2AB() {
    let tests = vec![
        (new_network(vec![None, None, None]), true),
        (new_network(vec![None, None, nop_stepper()]), true),
        (new_network(vec![None, nop_stepper(), nop_stepper()]), false),
        (
            new_network(vec![None, nop_stepper(), nop_stepper(), None]),
            false,
        ),
        (
            new_network(vec![None, nop_stepper(), nop_stepper(), None, None]),
            true,
        ),
    ];
    for (i, (mut nt, success)) in tests.into_iter().enumerate() {
        let data = b"somedata";

        // promote 1 to become leader
        nt.send(vec![hup(1)]);
        nt.send(vec![prop(1, 1, data)]);

        let want_log = if success {
            log_with(vec![Entry::default(), ent(1, 1), ent_data(1, 2, data)], 2)
        } else {
            RaftLog::new(MemoryStorage::new())
        };
        let base = ltoa(&want_log);
        let ids: Vec<u64> = nt.peers.keys().copied().collect();
        for j in ids {
            if let StateMachine::Raft(sm) = &nt.peers[&j] {
                assert_eq!(base, ltoa(&sm.raft_log), "#{}.{}: diff", i, j);
            }
        }
        assert_eq!(nt.raft(1).term, 1, "#{}: term", i);
    }
}

// The follower's handling of MsgAppend: 1. reject when it does not have
// the preceding entry; 2. append, deleting conflicting entries; 3. commit
// up to min(leader's commit, last new entry).
#[test]
fn TestHandleMessageType_MsgAppend2AB() {
    let append = |term, log_term, index, commit, entries: Vec<Entry>| Message {
        msg_type: MessageType::MsgAppend as i32,
        term,
        log_term,
        index,
        commit,
        entries,
        ..Default::default()
    };
    let tests = vec![
        // Ensure 1
        (append(3, 3, 2, 3, vec![]), 2, 0, true), // previous log mismatch
        (append(3, 3, 3, 3, vec![]), 2, 0, true), // previous log non-exist
        // Ensure 2
        (append(2, 1, 1, 1, vec![]), 2, 1, false),
        (append(2, 0, 0, 1, vec![ent(2, 1)]), 1, 1, false),
        (append(2, 2, 2, 3, vec![ent(2, 3), ent(2, 4)]), 4, 3, false),
        (append(2, 2, 2, 4, vec![ent(2, 3)]), 3, 3, false),
        (append(2, 1, 1, 4, vec![ent(2, 2)]), 2, 2, false),
        // Ensure 3
        (append(2, 1, 1, 3, vec![]), 2, 1, false), // match entry 1, commit up to last new entry 1
        (append(2, 1, 1, 3, vec![ent(2, 2)]), 2, 2, false), // match entry 1, commit up to last new entry 2
        (append(2, 2, 2, 3, vec![]), 2, 2, false), // match entry 2, commit up to last new entry 2
        (append(2, 2, 2, 4, vec![]), 2, 2, false), // commit up to log.last()
    ];
    for (i, (m, w_index, w_commit, w_reject)) in tests.into_iter().enumerate() {
        let storage = MemoryStorage::new();
        storage.append(&[ent(1, 1), ent(2, 2)]).unwrap();
        let mut sm = new_test_raft(1, vec![1], 10, 1, storage);
        sm.become_follower(2, NONE);

        sm.handle_append_entries(m);
        assert_eq!(sm.raft_log.last_index(), w_index, "#{}: lastIndex", i);
        assert_eq!(sm.raft_log.committed, w_commit, "#{}: committed", i);
        let msgs = sm.read_messages();
        assert_eq!(msgs.len(), 1, "#{}: msg = nil, want 1", i);
        assert_eq!(msgs[0].reject, w_reject, "#{}: reject", i);
    }
}

#[test]
fn TestRecvMessageType_MsgRequestVote2AB() {
    let msg_type = MessageType::MsgRequestVote;
    let msg_resp_type = MessageType::MsgRequestVoteResponse;
    let tests = [
        (StateType::Follower, 0, 0, NONE, true),
        (StateType::Follower, 0, 1, NONE, true),
        (StateType::Follower, 0, 2, NONE, true),
        (StateType::Follower, 0, 3, NONE, false),
        (StateType::Follower, 1, 0, NONE, true),
        (StateType::Follower, 1, 1, NONE, true),
        (StateType::Follower, 1, 2, NONE, true),
        (StateType::Follower, 1, 3, NONE, false),
        (StateType::Follower, 2, 0, NONE, true),
        (StateType::Follower, 2, 1, NONE, true),
        (StateType::Follower, 2, 2, NONE, false),
        (StateType::Follower, 2, 3, NONE, false),
        (StateType::Follower, 3, 0, NONE, true),
        (StateType::Follower, 3, 1, NONE, true),
        (StateType::Follower, 3, 2, NONE, false),
        (StateType::Follower, 3, 3, NONE, false),
        (StateType::Follower, 3, 2, 2, false),
        (StateType::Follower, 3, 2, 1, true),
        (StateType::Leader, 3, 3, 1, true),
        (StateType::Candidate, 3, 3, 1, true),
    ];
    for (i, (state, index, log_term, vote_for, wreject)) in tests.into_iter().enumerate() {
        let mut sm = new_test_raft(1, vec![1, 2], 10, 1, MemoryStorage::new());
        sm.state = state;
        sm.vote = vote_for;
        sm.raft_log = RaftLog::new(new_memory_storage_with_ents(vec![
            Entry::default(),
            ent(2, 1),
            ent(2, 2),
        ]));

        let lterm = sm
            .raft_log
            .term(sm.raft_log.last_index())
            .expect("unexpected error");
        let term = lterm.max(log_term);
        sm.term = term;
        let _ = sm.step(Message {
            msg_type: msg_type as i32,
            term,
            from: 2,
            index,
            log_term,
            ..Default::default()
        });

        let msgs = sm.read_messages();
        assert_eq!(msgs.len(), 1, "#{}: len(msgs)", i);
        assert_eq!(msgs[0].msg_type(), msg_resp_type, "#{}: m.MsgType", i);
        assert_eq!(msgs[0].reject, wreject, "#{}: m.Reject", i);
    }
}

#[test]
fn TestAllServerStepdown2AB() {
    let tests = [
        (StateType::Follower, StateType::Follower, 3, 0),
        (StateType::Candidate, StateType::Follower, 3, 0),
        (StateType::Leader, StateType::Follower, 3, 1),
    ];
    let tmsg_types = [MessageType::MsgRequestVote, MessageType::MsgAppend];
    let tterm = 3;

    for (i, (state, wstate, wterm, windex)) in tests.into_iter().enumerate() {
        let mut sm = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
        match state {
            StateType::Follower => sm.become_follower(1, NONE),
            StateType::Candidate => sm.become_candidate(),
            StateType::Leader => {
                sm.become_candidate();
                sm.become_leader();
            }
            StateType::PreCandidate => unreachable!("not a state of the Go tests"),
        }

        for (j, msg_type) in tmsg_types.into_iter().enumerate() {
            let _ = sm.step(Message {
                from: 2,
                msg_type: msg_type as i32,
                term: tterm,
                log_term: tterm,
                ..Default::default()
            });

            assert_eq!(sm.state, wstate, "#{}.{} state", i, j);
            assert_eq!(sm.term, wterm, "#{}.{} term", i, j);
            assert_eq!(sm.raft_log.last_index(), windex, "#{}.{} index", i, j);
            assert_eq!(
                sm.raft_log.all_entries().len() as u64,
                windex,
                "#{}.{} len(ents)",
                i,
                j
            );
            let wlead = if msg_type == MessageType::MsgRequestVote {
                NONE
            } else {
                2
            };
            assert_eq!(sm.lead, wlead, "#{}, sm.Lead", i);
        }
    }
}

#[test]
fn TestCandidateResetTermMessageType_MsgHeartbeat2AA() {
    test_candidate_reset_term(MessageType::MsgHeartbeat);
}

#[test]
fn TestCandidateResetTermMessageType_MsgAppend2AA() {
    test_candidate_reset_term(MessageType::MsgAppend);
}

// A candidate that receives a heartbeat or append from the leader of a
// higher term steps down and adopts that term; it must also reset its
// election timer.
fn test_candidate_reset_term(mt: MessageType) {
    let a = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
    let b = new_test_raft(2, vec![1, 2, 3], 10, 1, MemoryStorage::new());
    let c = new_test_raft(3, vec![1, 2, 3], 10, 1, MemoryStorage::new());

    let mut nt = new_network(vec![sm(a), sm(b), sm(c)]);

    nt.send(vec![hup(1)]);
    assert_eq!(nt.raft(1).state, StateType::Leader);
    assert_eq!(nt.raft(2).state, StateType::Follower);
    assert_eq!(nt.raft(3).state, StateType::Follower);

    // isolate 3 and increase term in rest
    nt.isolate(3);

    nt.send(vec![hup(2)]);
    nt.send(vec![hup(1)]);

    assert_eq!(nt.raft(1).state, StateType::Leader);
    assert_eq!(nt.raft(2).state, StateType::Follower);

    // trigger campaign in isolated c
    while nt.raft(3).state != StateType::Candidate {
        nt.raft(3).tick();
    }

    nt.recover();

    // leader sends to isolated candidate and expects candidate to revert to
    // follower
    let term = nt.raft(1).term;
    nt.send(vec![Message {
        from: 1,
        to: 3,
        term,
        msg_type: mt as i32,
        ..Default::default()
    }]);

    assert_eq!(nt.raft(3).state, StateType::Follower);

    // follower c term is reset with leader's
    let (leader_term, follower_term) = (nt.raft(1).term, nt.raft(3).term);
    assert_eq!(
        leader_term, follower_term,
        "follower term expected same term as leader's"
    );
}

#[test]
fn TestDisruptiveFollower2AA() {
    let mut n1 = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
    let mut n2 = new_test_raft(2, vec![1, 2, 3], 10, 1, MemoryStorage::new());
    let mut n3 = new_test_raft(3, vec![1, 2, 3], 10, 1, MemoryStorage::new());

    n1.become_follower(1, NONE);
    n2.become_follower(1, NONE);
    n3.become_follower(1, NONE);

    let mut nt = new_network(vec![sm(n1), sm(n2), sm(n3)]);

    nt.send(vec![hup(1)]);

    // check state
    assert_eq!(nt.raft(1).state, StateType::Leader, "node 1 state");
    assert_eq!(nt.raft(2).state, StateType::Follower, "node 2 state");
    assert_eq!(nt.raft(3).state, StateType::Follower, "node 3 state");

    // etcd server "advanceTicksForElection" on restart; this is to expedite
    // campaign trigger when given larger election timeouts. Here n3 times
    // out and starts a campaign that nobody hears yet.
    while nt.raft(3).state != StateType::Candidate {
        nt.raft(3).tick();
    }

    // n1 is still leader yet, while its heartbeat to candidate n3 is
    // stale
    assert_eq!(nt.raft(1).state, StateType::Leader, "node 1 state");
    assert_eq!(nt.raft(2).state, StateType::Follower, "node 2 state");
    assert_eq!(nt.raft(3).state, StateType::Candidate, "node 3 state");
    assert_eq!(nt.raft(1).term, 2, "node 1 term");
    assert_eq!(nt.raft(2).term, 2, "node 2 term");
    assert_eq!(nt.raft(3).term, 3, "node 3 term");

    // while outgoing vote requests are still queued in n3, leader heartbeat
    // finally arrives at candidate n3; its answer carries the higher term,
    // which forces the leader n1 to step down
    let term = nt.raft(1).term;
    nt.send(vec![Message {
        from: 1,
        to: 3,
        term,
        msg_type: MessageType::MsgHeartbeat as i32,
        ..Default::default()
    }]);

    // then the leader n1 responds to the higher term by stepping down
    assert_eq!(nt.raft(1).state, StateType::Follower, "node 1 state");
    assert_eq!(nt.raft(1).term, 3, "node 1 term");
}

#[test]
fn TestHeartbeatUpdateCommit2AB() {
    let tests = [(1, 1), (5, 3), (5, 10)];
    for (i, (fail_cnt, success_cnt)) in tests.into_iter().enumerate() {
        let sm1 = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
        let sm2 = new_test_raft(2, vec![1, 2, 3], 10, 1, MemoryStorage::new());
        let sm3 = new_test_raft(3, vec![1, 2, 3], 10, 1, MemoryStorage::new());
        let mut nt = new_network(vec![sm(sm1), sm(sm2), sm(sm3)]);
        nt.send(vec![hup(1)]);
        nt.isolate(1);
        // propose log to old leader should fail
        for _ in 0..fail_cnt {
            nt.send(vec![prop(1, 1, b"")]);
        }
        assert!(
            nt.raft(1).raft_log.committed <= 1,
            "#{}: unexpected commit: {}",
            i,
            nt.raft(1).raft_log.committed
        );
        // propose log to cluster should success
        nt.send(vec![hup(2)]);
        for _ in 0..success_cnt {
            nt.send(vec![prop(2, 2, b"")]);
        }
        let w_commit = 2 + success_cnt as u64; // 2 elections
        assert_eq!(
            nt.raft(2).raft_log.committed,
            w_commit,
            "#{}: sm2 commit",
            i
        );
        assert_eq!(
            nt.raft(3).raft_log.committed,
            w_commit,
            "#{}: sm3 commit",
            i
        );

        nt.recover();
        nt.ignore(MessageType::MsgAppend);
        nt.send(vec![beat(2)]);
        assert!(
            nt.raft(1).raft_log.committed <= 1,
            "#{}: expected sm1 commit: 1, got: {}",
            i,
            nt.raft(1).raft_log.committed
        );
    }
}

// MsgBeat makes a leader send heartbeats; candidates and followers ignore
// it.
#[test]
fn TestRecvMessageType_MsgBeat2AA() {
    let tests = [
        (StateType::Leader, 2),
        (StateType::Candidate, 0),
        (StateType::Follower, 0),
    ];
    for (i, (state, w_msg)) in tests.into_iter().enumerate() {
        let mut sm = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
        sm.raft_log = RaftLog::new(new_memory_storage_with_ents(vec![
            Entry::default(),
            ent(0, 1),
            ent(1, 2),
        ]));
        sm.term = 1;
        sm.state = state;
        let _ = sm.step(beat(1));

        let msgs = sm.read_messages();
        assert_eq!(msgs.len(), w_msg, "{}: len(msgs)", i);
        for m in &msgs {
            assert_eq!(m.msg_type(), MessageType::MsgHeartbeat, "{}: msg type", i);
        }
    }
}

#[test]
fn TestLeaderIncreaseNext2AB() {
    let previous_ents = vec![ent(1, 1), ent(1, 2), ent(1, 3)];
    // previous entries + noop entry + propose + 1
    let wnext = previous_ents.len() as u64 + 1 + 1 + 1;

    let storage = MemoryStorage::new();
    storage.append(&previous_ents).unwrap();
    let r = new_test_raft(1, vec![1, 2], 10, 1, storage);
    let mut nt = new_network(vec![sm(r), None, None]);
    nt.send(vec![hup(1)]);

    nt.send(vec![prop(1, 1, b"somedata")]);

    let p = &nt.raft(1).prs[&2];
    assert_eq!(p.next, wnext, "next");
}

#[test]
fn TestRestoreSnapshot2C() {
    let s = snapshot(11, 11, vec![1, 2, 3]); // magic numbers

    let storage = MemoryStorage::new();
    let mut sm = new_test_raft(1, vec![1, 2], 10, 1, storage);
    sm.handle_snapshot(Message {
        snapshot: Some(s.clone()),
        ..Default::default()
    });

    let meta = s.metadata.clone().unwrap();
    assert_eq!(sm.raft_log.last_index(), meta.index, "log.lastIndex");
    assert_eq!(
        sm.raft_log.term(meta.index).unwrap(),
        meta.term,
        "log.lastTerm"
    );
    assert_eq!(sm.nodes(), meta.conf_state.unwrap().nodes, "sm.Nodes");
}

#[test]
fn TestRestoreIgnoreSnapshot2C() {
    let previous_ents = vec![ent(1, 1), ent(1, 2), ent(1, 3)];
    let storage = MemoryStorage::new();
    storage.append(&previous_ents).unwrap();
    let mut sm = new_test_raft(1, vec![1, 2], 10, 1, storage);
    sm.raft_log.committed = 3;

    let wcommit = 3;
    let commit = 1;
    let s = snapshot(commit, 1, vec![1, 2]);

    // ignore snapshot
    sm.handle_snapshot(Message {
        snapshot: Some(s),
        ..Default::default()
    });
    assert_eq!(sm.raft_log.committed, wcommit, "commit");
}

#[test]
fn TestProvideSnap2C() {
    // restore the state machine from a snapshot so it has a compacted log
    // and a snapshot
    let s = snapshot(11, 11, vec![1, 2]); // magic numbers
    let storage = MemoryStorage::new();
    let mut sm = new_test_raft(1, vec![1], 10, 1, storage);
    sm.handle_snapshot(Message {
        snapshot: Some(s),
        ..Default::default()
    });

    sm.become_candidate();
    sm.become_leader();
    sm.read_messages(); // clear message

    // force set the next of node 2, so that node 2 needs a snapshot
    sm.prs.get_mut(&2).unwrap().next = 10;
    let _ = sm.step(prop(2, 1, b"somedata"));

    let msgs = sm.read_messages();
    assert_eq!(msgs.len(), 1, "len(msgs)");
    assert_eq!(msgs[0].msg_type(), MessageType::MsgSnapshot, "m.MsgType");
}

#[test]
fn TestRestoreFromSnapMsg2C() {
    let s = snapshot(11, 11, vec![1, 2]); // magic numbers
    let m = Message {
        msg_type: MessageType::MsgSnapshot as i32,
        from: 1,
        term: 2,
        snapshot: Some(s),
        ..Default::default()
    };

    let mut sm = new_test_raft(2, vec![1, 2], 10, 1, MemoryStorage::new());
    let _ = sm.step(m);

    assert_eq!(sm.lead, 1, "sm.Lead");
}

#[test]
fn TestRestoreFromSnapWithOverlapingPeersMsg2C() {
    let s = snapshot(11, 11, vec![2, 3, 4]); // magic numbers
    let m = Message {
        msg_type: MessageType::MsgSnapshot as i32,
        from: 1,
        term: 2,
        snapshot: Some(s.clone()),
        ..Default::default()
    };

    let mut sm = new_test_raft(2, vec![1, 2, 3], 10, 1, MemoryStorage::new());
    let _ = sm.step(m);

    assert_eq!(sm.lead, 1, "sm.Lead");

    let nodes = s.metadata.unwrap().conf_state.unwrap().nodes;
    assert_eq!(nodes.len(), sm.prs.len(), "len(sm.Prs)");
    for p in nodes {
        assert!(sm.prs.contains_key(&p), "missing peer {}", p);
    }
}

#[test]
fn TestSlowNodeRestore2C() {
    let mut nt = new_network(vec![None, None, None]);
    nt.send(vec![hup(1)]);

    nt.isolate(3);
    for _ in 0..=100 {
        nt.send(vec![prop(1, 1, b"")]);
    }
    let storage = nt.storage[&1].clone();
    let lead = nt.raft(1);
    next_ents(lead, &storage);
    let applied = lead.raft_log.applied;
    let nodes = lead.nodes();
    storage
        .create_snapshot(applied, Some(ConfState { nodes }), vec![])
        .unwrap();
    storage.compact(applied).unwrap();

    nt.recover();
    // send heartbeats so that the leader can learn everyone is active.
    // node 3 will only be considered as active when node 1 receives a
    // reply from it.
    nt.send(vec![beat(1)]);

    // trigger a snapshot
    nt.send(vec![prop(1, 1, b"")]);

    // trigger a commit
    nt.send(vec![prop(1, 1, b"")]);
    let (follower_commit, lead_commit) =
        (nt.raft(3).raft_log.committed, nt.raft(1).raft_log.committed);
    assert_eq!(follower_commit, lead_commit, "follower.committed");
}

#[test]
fn TestAddNode3A() {
    let mut r = new_test_raft(1, vec![1], 10, 1, MemoryStorage::new());
    r.add_node(2);
    assert_eq!(r.nodes(), vec![1, 2]);
}

#[test]
fn TestRemoveNode3A() {
    let mut r = new_test_raft(1, vec![1, 2], 10, 1, MemoryStorage::new());
    r.remove_node(2);
    assert_eq!(r.nodes(), vec![1]);

    // remove all nodes from cluster
    r.remove_node(1);
    assert_eq!(r.nodes(), Vec::<u64>::new());
}

#[test]
fn TestCampaignWhileLeader2AA() {
    let mut r = new_test_raft(1, vec![1], 5, 1, MemoryStorage::new());
    assert_eq!(
        r.state,
        StateType::Follower,
        "expected new node to be follower"
    );
    // We don't call campaign() directly because it comes after the check
    // for our current state.
    let _ = r.step(hup(1));
    assert_eq!(
        r.state,
        StateType::Leader,
        "expected single-node election to become leader"
    );
    let term = r.term;
    let _ = r.step(hup(1));
    assert_eq!(r.state, StateType::Leader, "expected to remain leader");
    assert_eq!(r.term, term, "expected to remain in the same term");
}

// Pending entries that wait on a removed node are committed once it is
// removed (the quorum shrinks).
#[test]
fn TestCommitAfterRemoveNode3A() {
    // Create a cluster with two nodes.
    let s = MemoryStorage::new();
    let mut r = new_test_raft(1, vec![1, 2], 5, 1, s.clone());
    r.become_candidate();
    r.become_leader();

    // Begin to remove the second node.
    let cc = ConfChange {
        change_type: ConfChangeType::RemoveNode as i32,
        node_id: 2,
        ..Default::default()
    };
    let cc_data = cc.encode_to_vec();
    let _ = r.step(Message {
        msg_type: MessageType::MsgPropose as i32,
        entries: vec![Entry {
            entry_type: EntryType::EntryConfChange as i32,
            data: cc_data,
            ..Default::default()
        }],
        ..Default::default()
    });
    // Stabilize the log and make sure nothing is committed yet.
    let ents = next_ents(&mut r, &s);
    assert!(ents.is_empty(), "unexpected committed entries: {:?}", ents);
    let cc_index = r.raft_log.last_index();

    // While the config change is pending, make another proposal.
    let _ = r.step(Message {
        msg_type: MessageType::MsgPropose as i32,
        entries: vec![Entry {
            entry_type: EntryType::EntryNormal as i32,
            data: b"hello".to_vec(),
            ..Default::default()
        }],
        ..Default::default()
    });

    // Node 2 acknowledges the config change, committing it.
    let term = r.term;
    let _ = r.step(Message {
        msg_type: MessageType::MsgAppendResponse as i32,
        from: 2,
        index: cc_index,
        term,
        ..Default::default()
    });
    let ents = next_ents(&mut r, &s);
    assert_eq!(
        ents.len(),
        2,
        "expected two committed entries, got {:?}",
        ents
    );
    assert!(
        ents[0].entry_type() == EntryType::EntryNormal && ents[0].data.is_empty(),
        "expected ents[0] to be empty, but got {:?}",
        ents[0]
    );
    assert_eq!(
        ents[1].entry_type(),
        EntryType::EntryConfChange,
        "expected ents[1] to be a conf change"
    );

    // Apply the config change. This reduces quorum requirements so the
    // pending command can now commit.
    r.remove_node(2);
    let ents = next_ents(&mut r, &s);
    assert!(
        ents.len() == 1
            && ents[0].entry_type() == EntryType::EntryNormal
            && ents[0].data == b"hello",
        "expected one committed EntryNormal, got {:?}",
        ents
    );
}

fn check_leader_transfer_state(nt: &mut Network, id: u64, state: StateType, lead: u64) {
    let r = nt.raft(id);
    assert!(
        r.state == state && r.lead == lead,
        "after transferring, node has state {} lead {}, want state {} lead {}",
        r.state,
        r.lead,
        state,
        lead
    );
}

fn transfer(from: u64, to: u64) -> Message {
    msg(from, to, MessageType::MsgTransferLeader)
}

// Leadership moves to an up-to-date follower, and back.
#[test]
fn TestLeaderTransferToUpToDateNode3A() {
    let mut nt = new_network(vec![None, None, None]);
    nt.send(vec![hup(1)]);

    assert_eq!(nt.raft(1).lead, 1, "after election leader");

    // Transfer leadership to 2.
    nt.send(vec![transfer(2, 1)]);

    check_leader_transfer_state(&mut nt, 1, StateType::Follower, 2);

    // After some log replication, transfer leadership back to 1.
    nt.send(vec![prop(1, 1, b"")]);

    nt.send(vec![transfer(1, 2)]);

    check_leader_transfer_state(&mut nt, 1, StateType::Leader, 1);
}

// A transfer request stepped on a follower is forwarded to the leader.
#[test]
fn TestLeaderTransferToUpToDateNodeFromFollower3A() {
    let mut nt = new_network(vec![None, None, None]);
    nt.send(vec![hup(1)]);

    assert_eq!(nt.raft(1).lead, 1, "after election leader");

    // Transfer leadership to 2.
    nt.send(vec![transfer(2, 2)]);

    check_leader_transfer_state(&mut nt, 1, StateType::Follower, 2);

    // After some log replication, transfer leadership back to 1.
    nt.send(vec![prop(1, 1, b"")]);

    nt.send(vec![transfer(1, 1)]);

    check_leader_transfer_state(&mut nt, 1, StateType::Leader, 1);
}

#[test]
fn TestLeaderTransferToSlowFollower3A() {
    let mut nt = new_network(vec![None, None, None]);
    nt.send(vec![hup(1)]);

    nt.isolate(3);
    nt.send(vec![prop(1, 1, b"")]);

    nt.recover();
    assert_eq!(nt.raft(1).prs[&3].matched, 1, "node 1 has match for node 3");

    // Transfer leadership to 3 when node 3 is lack of log.
    nt.send(vec![transfer(3, 1)]);

    check_leader_transfer_state(&mut nt, 1, StateType::Follower, 3);
}

#[test]
fn TestLeaderTransferAfterSnapshot3A() {
    let mut nt = new_network(vec![None, None, None]);
    nt.send(vec![hup(1)]);

    nt.isolate(3);

    nt.send(vec![prop(1, 1, b"")]);
    let storage = nt.storage[&1].clone();
    let lead = nt.raft(1);
    next_ents(lead, &storage);
    let applied = lead.raft_log.applied;
    let nodes = lead.nodes();
    storage
        .create_snapshot(applied, Some(ConfState { nodes }), vec![])
        .unwrap();
    storage.compact(applied).unwrap();

    nt.recover();
    assert_eq!(nt.raft(1).prs[&3].matched, 1, "node 1 has match for node 3");

    // Transfer leadership to 3 when node 3 is lack of snapshot.
    nt.send(vec![transfer(3, 1)]);
    // Send pb.MessageType_MsgHeartbeatResponse to leader to trigger a
    // snapshot for node 3.
    let term = nt.raft(1).term;
    nt.send(vec![Message {
        from: 3,
        to: 1,
        msg_type: MessageType::MsgHeartbeatResponse as i32,
        term,
        ..Default::default()
    }]);

    check_leader_transfer_state(&mut nt, 1, StateType::Follower, 3);
}

#[test]
fn TestLeaderTransferToSelf3A() {
    let mut nt = new_network(vec![None, None, None]);
    nt.send(vec![hup(1)]);

    // Transfer leadership to self, there will be noop.
    nt.send(vec![transfer(1, 1)]);
    check_leader_transfer_state(&mut nt, 1, StateType::Leader, 1);
}

#[test]
fn TestLeaderTransferToNonExistingNode3A() {
    let mut nt = new_network(vec![None, None, None]);
    nt.send(vec![hup(1)]);

    // Transfer leadership to non-existing node, there will be noop.
    nt.send(vec![transfer(4, 1)]);
    check_leader_transfer_state(&mut nt, 1, StateType::Leader, 1);
}

#[test]
fn TestLeaderTransferReceiveHigherTermVote3A() {
    let mut nt = new_network(vec![None, None, None]);
    nt.send(vec![hup(1)]);

    nt.isolate(3);

    // Transfer leadership to isolated node to let transfer pending.
    nt.send(vec![transfer(3, 1)]);
    nt.send(vec![Message {
        from: 2,
        to: 2,
        msg_type: MessageType::MsgHup as i32,
        index: 1,
        term: 2,
        ..Default::default()
    }]);

    check_leader_transfer_state(&mut nt, 1, StateType::Follower, 2);
}

#[test]
fn TestLeaderTransferRemoveNode3A() {
    let mut nt = new_network(vec![None, None, None]);
    nt.send(vec![hup(1)]);

    nt.raft(1).remove_node(3);

    nt.send(vec![transfer(3, 1)]);

    check_leader_transfer_state(&mut nt, 1, StateType::Leader, 1);
}

// Transferring back to self cancels a pending transfer.
#[test]
fn TestLeaderTransferBack3A() {
    let mut nt = new_network(vec![None, None, None]);
    nt.send(vec![hup(1)]);

    nt.isolate(3);

    nt.send(vec![transfer(3, 1)]);

    // Transfer leadership back to self.
    nt.send(vec![transfer(1, 1)]);

    check_leader_transfer_state(&mut nt, 1, StateType::Leader, 1);
}

// A second transfer request to another node replaces the pending one.
#[test]
fn TestLeaderTransferSecondTransferToAnotherNode3A() {
    let mut nt = new_network(vec![None, None, None]);
    nt.send(vec![hup(1)]);

    nt.isolate(3);

    nt.send(vec![transfer(3, 1)]);
    // Transfer leadership to another node.
    nt.send(vec![transfer(2, 1)]);

    check_leader_transfer_state(&mut nt, 1, StateType::Follower, 2);
}

// A node that is not a member ignores MsgTimeoutNow and cannot be elected.
#[test]
fn TestTransferNonMember3A() {
    let mut r = new_test_raft(1, vec![2, 3, 4], 5, 1, MemoryStorage::new());
    let term = r.term;
    let _ = r.step(Message {
        from: 2,
        to: 1,
        msg_type: MessageType::MsgTimeoutNow as i32,
        term,
        ..Default::default()
    });

    let _ = r.step(Message {
        from: 2,
        to: 1,
        msg_type: MessageType::MsgRequestVoteResponse as i32,
        term,
        ..Default::default()
    });
    let _ = r.step(Message {
        from: 3,
        to: 1,
        msg_type: MessageType::MsgRequestVoteResponse as i32,
        term,
        ..Default::default()
    });
    assert_eq!(r.state, StateType::Follower, "state");
}

// After a split vote a new election at a higher term elects a leader.
#[test]
fn TestSplitVote2AA() {
    let mut n1 = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
    let mut n2 = new_test_raft(2, vec![1, 2, 3], 10, 1, MemoryStorage::new());
    let mut n3 = new_test_raft(3, vec![1, 2, 3], 10, 1, MemoryStorage::new());

    n1.become_follower(1, NONE);
    n2.become_follower(1, NONE);
    n3.become_follower(1, NONE);

    let mut nt = new_network(vec![sm(n1), sm(n2), sm(n3)]);
    nt.send(vec![hup(1)]);

    // simulate leader down. followers start split vote.
    nt.isolate(1);
    nt.send(vec![hup(2), hup(3)]);

    // check whether the term values are expected
    assert_eq!(nt.raft(2).term, 3, "peer 2 term");
    assert_eq!(nt.raft(3).term, 3, "peer 3 term");

    // check state
    assert_eq!(nt.raft(2).state, StateType::Candidate, "peer 2 state");
    assert_eq!(nt.raft(3).state, StateType::Candidate, "peer 3 state");

    // node 2 election timeout first
    nt.send(vec![hup(2)]);

    // check whether the term values are expected
    assert_eq!(nt.raft(2).term, 4, "peer 2 term");
    assert_eq!(nt.raft(3).term, 4, "peer 3 term");

    // check state
    assert_eq!(nt.raft(2).state, StateType::Leader, "peer 2 state");
    assert_eq!(nt.raft(3).state, StateType::Follower, "peer 3 state");
}
