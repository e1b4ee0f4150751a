//! TinyKV's raft/raft_paper_test.go: the scenarios the Raft paper
//! describes, each test set up by hand, driven with `step`, and checked on
//! outgoing messages and state.
#![allow(non_snake_case)]

use std::collections::HashMap;

use crate::eraftpb::{Entry, Message, MessageType};
use crate::raft::{Raft, StateType, NONE};
use crate::storage::MemoryStorage;
use crate::test_harness::*;
use crate::util::ltoa;

fn m(from: u64, to: u64, t: MessageType, term: u64) -> Message {
    Message {
        from,
        to,
        term,
        msg_type: t as i32,
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

fn propose(data: &[u8]) -> Message {
    Message {
        from: 1,
        to: 1,
        msg_type: MessageType::MsgPropose as i32,
        entries: vec![Entry {
            data: data.to_vec(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn TestFollowerUpdateTermFromMessage2AA() {
    test_update_term_from_message(StateType::Follower);
}

#[test]
fn TestCandidateUpdateTermFromMessage2AA() {
    test_update_term_from_message(StateType::Candidate);
}

#[test]
fn TestLeaderUpdateTermFromMessage2AA() {
    test_update_term_from_message(StateType::Leader);
}

// If one server's current term is smaller than the other's, it updates its
// term to the larger value; a candidate or leader with a stale term reverts
// to follower (Raft paper 5.1).
fn test_update_term_from_message(state: StateType) {
    let mut r = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
    match state {
        StateType::Follower => r.become_follower(1, 2),
        StateType::Candidate => r.become_candidate(),
        StateType::Leader => {
            r.become_candidate();
            r.become_leader();
        }
        StateType::PreCandidate => unreachable!("not a state of the Go tests"),
    }

    let _ = r.step(Message {
        msg_type: MessageType::MsgAppend as i32,
        term: 2,
        ..Default::default()
    });

    assert_eq!(r.term, 2, "term");
    assert_eq!(r.state, StateType::Follower, "state");
}

// Servers start up as followers (5.2).
#[test]
fn TestStartAsFollower2AA() {
    let r = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
    assert_eq!(r.state, StateType::Follower);
}

// A leader sends heartbeats to all followers to keep its authority (5.2).
#[test]
fn TestLeaderBcastBeat2AA() {
    // heartbeat interval
    let hi = 1;
    let mut r = new_test_raft(1, vec![1, 2, 3], 10, hi, MemoryStorage::new());
    r.become_candidate();
    r.become_leader();

    let _ = r.step(Message {
        msg_type: MessageType::MsgPropose as i32,
        entries: vec![Entry::default()],
        ..Default::default()
    });
    r.read_messages(); // clear message

    for _ in 0..hi {
        r.tick();
    }

    let mut msgs = r.read_messages();
    sort_messages(&mut msgs);
    let wmsgs = vec![
        m(1, 2, MessageType::MsgHeartbeat, 1),
        m(1, 3, MessageType::MsgHeartbeat, 1),
    ];
    assert_eq!(msgs, wmsgs);
}

#[test]
fn TestFollowerStartElection2AA() {
    test_nonleader_start_election(StateType::Follower);
}

#[test]
fn TestCandidateStartNewElection2AA() {
    test_nonleader_start_election(StateType::Candidate);
}

// A follower (or candidate) that hears nothing for an election timeout
// starts an election: new term, votes for itself, asks everyone (5.2).
fn test_nonleader_start_election(state: StateType) {
    // election timeout
    let et = 10;
    let mut r = new_test_raft(1, vec![1, 2, 3], et, 1, MemoryStorage::new());
    match state {
        StateType::Follower => r.become_follower(1, 2),
        StateType::Candidate => r.become_candidate(),
        StateType::Leader => unreachable!(),
        StateType::PreCandidate => unreachable!("not a state of the Go tests"),
    }

    for _ in 1..2 * et {
        r.tick();
    }

    assert_eq!(r.term, 2, "term");
    assert_eq!(r.state, StateType::Candidate, "state");
    assert!(r.votes[&r.id], "vote for self = false, want true");
    let mut msgs = r.read_messages();
    sort_messages(&mut msgs);
    let wmsgs = vec![
        m(1, 2, MessageType::MsgRequestVote, 2),
        m(1, 3, MessageType::MsgRequestVote, 2),
    ];
    assert_eq!(msgs, wmsgs);
}

// An election ends in a win, a loss, or (with no majority either way) a
// candidate that stays a candidate (5.2).
#[test]
fn TestLeaderElectionInOneRoundRPC2AA() {
    let tests: Vec<(usize, HashMap<u64, bool>, StateType)> = vec![
        // win the election when receiving votes from a majority of the servers
        (1, HashMap::new(), StateType::Leader),
        (3, HashMap::from([(2, true), (3, true)]), StateType::Leader),
        (3, HashMap::from([(2, true)]), StateType::Leader),
        (
            5,
            HashMap::from([(2, true), (3, true), (4, true), (5, true)]),
            StateType::Leader,
        ),
        (
            5,
            HashMap::from([(2, true), (3, true), (4, true)]),
            StateType::Leader,
        ),
        (5, HashMap::from([(2, true), (3, true)]), StateType::Leader),
        // stay in candidate if it does not obtain the majority
        (3, HashMap::new(), StateType::Candidate),
        (5, HashMap::from([(2, true)]), StateType::Candidate),
        (
            5,
            HashMap::from([(2, false), (3, false)]),
            StateType::Candidate,
        ),
        (5, HashMap::new(), StateType::Candidate),
    ];
    for (i, (size, votes, state)) in tests.into_iter().enumerate() {
        let mut r = new_test_raft(1, ids_by_size(size), 10, 1, MemoryStorage::new());

        let _ = r.step(m(1, 1, MessageType::MsgHup, 0));
        for (id, vote) in votes {
            let mut v = m(id, 1, MessageType::MsgRequestVoteResponse, r.term);
            v.reject = !vote;
            let _ = r.step(v);
        }

        assert_eq!(r.state, state, "#{}: state", i);
        assert_eq!(r.term, 1, "#{}: term", i);
    }
}

// Each follower votes for at most one candidate in a term, first come
// first served (5.2).
#[test]
fn TestFollowerVote2AA() {
    let tests = [
        (NONE, 1, false),
        (NONE, 2, false),
        (1, 1, false),
        (2, 2, false),
        (1, 2, true),
        (2, 1, true),
    ];
    for (i, (vote, nvote, wreject)) in tests.into_iter().enumerate() {
        let mut r = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
        r.term = 1;
        r.vote = vote;

        let _ = r.step(m(nvote, 1, MessageType::MsgRequestVote, 1));

        let msgs = r.read_messages();
        let mut want = m(1, nvote, MessageType::MsgRequestVoteResponse, 1);
        want.reject = wreject;
        assert_eq!(msgs, vec![want], "#{}", i);
    }
}

// A candidate that hears from a leader with a term at least as large as its
// own becomes its follower (5.2).
#[test]
fn TestCandidateFallback2AA() {
    let tests = [
        m(2, 1, MessageType::MsgAppend, 1),
        m(2, 1, MessageType::MsgAppend, 2),
    ];
    for (i, tt) in tests.into_iter().enumerate() {
        let mut r = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
        let _ = r.step(m(1, 1, MessageType::MsgHup, 0));
        assert_eq!(r.state, StateType::Candidate, "unexpected state");

        let term = tt.term;
        let _ = r.step(tt);

        assert_eq!(r.state, StateType::Follower, "#{}: state", i);
        assert_eq!(r.term, term, "#{}: term", i);
    }
}

#[test]
fn TestFollowerElectionTimeoutRandomized2AA() {
    test_nonleader_election_timeout_randomized(StateType::Follower);
}

#[test]
fn TestCandidateElectionTimeoutRandomized2AA() {
    test_nonleader_election_timeout_randomized(StateType::Candidate);
}

// Election timeouts are drawn at random from [et, 2et) (5.2).
fn test_nonleader_election_timeout_randomized(state: StateType) {
    let et = 10;
    let mut r = new_test_raft(1, vec![1, 2, 3], et, 1, MemoryStorage::new());
    let mut timeouts = HashMap::new();
    for _ in 0..50 * et {
        match state {
            StateType::Follower => r.become_follower(r.term + 1, 2),
            StateType::Candidate => r.become_candidate(),
            StateType::Leader => unreachable!(),
            StateType::PreCandidate => unreachable!("not a state of the Go tests"),
        }

        let mut time = 0;
        while r.read_messages().is_empty() {
            r.tick();
            time += 1;
        }
        timeouts.insert(time, true);
    }

    for d in et + 1..2 * et {
        assert!(
            timeouts.contains_key(&d),
            "timeout in {} ticks should happen",
            d
        );
    }
}

#[test]
fn TestFollowersElectionTimeoutNonconflict2AA() {
    test_nonleaders_election_timeout_nonconflict(StateType::Follower);
}

#[test]
fn TestCandidatesElectionTimeoutNonconflict2AA() {
    test_nonleaders_election_timeout_nonconflict(StateType::Candidate);
}

// With randomized timeouts, in most rounds only one server times out
// first (5.2).
fn test_nonleaders_election_timeout_nonconflict(state: StateType) {
    let et = 10;
    let size = 5;
    let ids = ids_by_size(size);
    let mut rs: Vec<Raft<MemoryStorage>> = ids
        .iter()
        .map(|&id| new_test_raft(id, ids.clone(), et, 1, MemoryStorage::new()))
        .collect();
    let mut conflicts = 0;
    for _ in 0..1000 {
        for r in rs.iter_mut() {
            match state {
                StateType::Follower => r.become_follower(r.term + 1, NONE),
                StateType::Candidate => r.become_candidate(),
                StateType::Leader => unreachable!(),
                StateType::PreCandidate => unreachable!("not a state of the Go tests"),
            }
        }

        let mut timeout_num = 0;
        while timeout_num == 0 {
            for r in rs.iter_mut() {
                r.tick();
                if !r.read_messages().is_empty() {
                    timeout_num += 1;
                }
            }
        }
        // several servers time out at the same tick
        if timeout_num > 1 {
            conflicts += 1;
        }
    }

    let g = conflicts as f64 / 1000.0;
    assert!(g <= 0.3, "probability of conflicts = {}, want <= 0.3", g);
}

// A leader appends a proposal to its log and sends it to every follower,
// with the index and term of the entry before it (5.3).
#[test]
fn TestLeaderStartReplication2AB() {
    let s = MemoryStorage::new();
    let mut r = new_test_raft(1, vec![1, 2, 3], 10, 1, s.clone());
    r.become_candidate();
    r.become_leader();
    commit_noop_entry(&mut r, &s);
    let li = r.raft_log.last_index();

    let _ = r.step(propose(b"some data"));

    assert_eq!(r.raft_log.last_index(), li + 1, "lastIndex");
    assert_eq!(r.raft_log.committed, li, "committed");
    let mut msgs = r.read_messages();
    sort_messages(&mut msgs);
    let e = ent_data(1, li + 1, b"some data");
    let append = |to| Message {
        from: 1,
        to,
        term: 1,
        msg_type: MessageType::MsgAppend as i32,
        index: li,
        log_term: 1,
        entries: vec![e.clone()],
        commit: li,
        ..Default::default()
    };
    assert_eq!(msgs, vec![append(2), append(3)]);
    assert_eq!(r.raft_log.unstable_entries(), &[e.clone()][..]);
}

// An entry is committed once a majority stored it, and followers learn the
// new commit index (5.3).
#[test]
fn TestLeaderCommitEntry2AB() {
    let s = MemoryStorage::new();
    let mut r = new_test_raft(1, vec![1, 2, 3], 10, 1, s.clone());
    r.become_candidate();
    r.become_leader();
    commit_noop_entry(&mut r, &s);
    let li = r.raft_log.last_index();
    let _ = r.step(propose(b"some data"));

    for msg in r.read_messages() {
        let _ = r.step(accept_and_reply(&msg));
    }

    assert_eq!(r.raft_log.committed, li + 1, "committed");
    let wents = vec![ent_data(1, li + 1, b"some data")];
    assert_eq!(r.raft_log.next_ents(), wents, "nextEnts");
    let mut msgs = r.read_messages();
    sort_messages(&mut msgs);
    for (i, msg) in msgs.iter().enumerate() {
        assert_eq!(msg.to, i as u64 + 2, "to");
        assert_eq!(msg.msg_type(), MessageType::MsgAppend, "type");
        assert_eq!(msg.commit, li + 1, "commit");
    }
}

// A leader commits an entry once it is replicated on a majority (5.3).
#[test]
fn TestLeaderAcknowledgeCommit2AB() {
    let tests: Vec<(usize, HashMap<u64, bool>, bool)> = vec![
        (1, HashMap::new(), true),
        (3, HashMap::new(), false),
        (3, HashMap::from([(2, true)]), true),
        (3, HashMap::from([(2, true), (3, true)]), true),
        (5, HashMap::new(), false),
        (5, HashMap::from([(2, true)]), false),
        (5, HashMap::from([(2, true), (3, true)]), true),
        (5, HashMap::from([(2, true), (3, true), (4, true)]), true),
        (
            5,
            HashMap::from([(2, true), (3, true), (4, true), (5, true)]),
            true,
        ),
    ];
    for (i, (size, acceptors, wack)) in tests.into_iter().enumerate() {
        let s = MemoryStorage::new();
        let mut r = new_test_raft(1, ids_by_size(size), 10, 1, s.clone());
        r.become_candidate();
        r.become_leader();
        commit_noop_entry(&mut r, &s);
        let li = r.raft_log.last_index();
        let _ = r.step(propose(b"some data"));

        for msg in r.read_messages() {
            if acceptors.get(&msg.to).copied().unwrap_or(false) {
                let _ = r.step(accept_and_reply(&msg));
            }
        }

        assert_eq!(r.raft_log.committed > li, wack, "#{}: ack commit", i);
    }
}

// Committing an entry commits every entry before it, including ones from
// earlier leaders (5.3).
#[test]
fn TestLeaderCommitPrecedingEntries2AB() {
    let tests: Vec<Vec<Entry>> = vec![
        vec![],
        vec![ent(2, 1)],
        vec![ent(1, 1), ent(2, 2)],
        vec![ent(1, 1)],
    ];
    for (i, tt) in tests.into_iter().enumerate() {
        let storage = MemoryStorage::new();
        storage.append(&tt).unwrap();
        let mut r = new_test_raft(1, vec![1, 2, 3], 10, 1, storage);
        r.term = 2;
        r.become_candidate();
        r.become_leader();
        let _ = r.step(propose(b"some data"));

        for msg in r.read_messages() {
            let _ = r.step(accept_and_reply(&msg));
        }

        let li = tt.len() as u64;
        let mut wents = tt.clone();
        wents.push(ent(3, li + 1));
        wents.push(ent_data(3, li + 2, b"some data"));
        assert_eq!(r.raft_log.next_ents(), wents, "#{}", i);
    }
}

// A follower applies entries once it learns they are committed (5.3).
#[test]
fn TestFollowerCommitEntry2AB() {
    let tests: Vec<(Vec<Entry>, u64)> = vec![
        (vec![ent_data(1, 1, b"some data")], 1),
        (
            vec![ent_data(1, 1, b"some data"), ent_data(1, 2, b"some data2")],
            2,
        ),
        (
            vec![ent_data(1, 1, b"some data2"), ent_data(1, 2, b"some data")],
            2,
        ),
        (
            vec![ent_data(1, 1, b"some data"), ent_data(1, 2, b"some data2")],
            1,
        ),
    ];
    for (i, (ents, commit)) in tests.into_iter().enumerate() {
        let mut r = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
        r.become_follower(1, 2);

        let mut msg = m(2, 1, MessageType::MsgAppend, 1);
        msg.entries = ents.clone();
        msg.commit = commit;
        let _ = r.step(msg);

        assert_eq!(r.raft_log.committed, commit, "#{}: committed", i);
        let wents = ents[..commit as usize].to_vec();
        assert_eq!(r.raft_log.next_ents(), wents, "#{}: nextEnts", i);
    }
}

// A follower refuses an append whose preceding entry it does not have
// (5.3).
#[test]
fn TestFollowerCheckMessageType_MsgAppend2AB() {
    let ents = vec![ent(1, 1), ent(2, 2)];
    let tests = [
        (0, 0, false),
        (ents[0].term, ents[0].index, false),
        (ents[1].term, ents[1].index, false),
        (ents[0].term, ents[1].index, true),
        (ents[1].term + 1, ents[1].index + 1, true),
    ];
    for (i, (term, index, wreject)) in tests.into_iter().enumerate() {
        let storage = MemoryStorage::new();
        storage.append(&ents).unwrap();
        let mut r = new_test_raft(1, vec![1, 2, 3], 10, 1, storage);
        r.raft_log.committed = 1;
        r.become_follower(2, 2);
        r.read_messages(); // clear message

        let mut msg = m(2, 1, MessageType::MsgAppend, 2);
        msg.log_term = term;
        msg.index = index;
        let _ = r.step(msg);

        let msgs = r.read_messages();
        assert_eq!(msgs.len(), 1, "#{}: len(msgs)", i);
        assert_eq!(msgs[0].term, 2, "#{}: term", i);
        assert_eq!(msgs[0].reject, wreject, "#{}: reject", i);
    }
}

// A follower deletes a conflicting suffix and appends what it lacks (5.3).
#[test]
fn TestFollowerAppendEntries2AB() {
    // (index, term, leader term, entries, wanted log, wanted unstable)
    type Case = (u64, u64, u64, Vec<Entry>, Vec<Entry>, Vec<Entry>);
    let tests: Vec<Case> = vec![
        (
            2,
            2,
            3,
            vec![ent(3, 3)],
            vec![ent(1, 1), ent(2, 2), ent(3, 3)],
            vec![ent(3, 3)],
        ),
        (
            1,
            1,
            4,
            vec![ent(3, 2), ent(4, 3)],
            vec![ent(1, 1), ent(3, 2), ent(4, 3)],
            vec![ent(3, 2), ent(4, 3)],
        ),
        (0, 0, 2, vec![ent(1, 1)], vec![ent(1, 1), ent(2, 2)], vec![]),
        (0, 0, 3, vec![ent(3, 1)], vec![ent(3, 1)], vec![ent(3, 1)]),
    ];
    for (i, (index, term, lterm, ents, wents, wunstable)) in tests.into_iter().enumerate() {
        let storage = MemoryStorage::new();
        storage.append(&[ent(1, 1), ent(2, 2)]).unwrap();
        let mut r = new_test_raft(1, vec![1, 2, 3], 10, 1, storage);
        r.become_follower(2, 2);

        let mut msg = m(2, 1, MessageType::MsgAppend, lterm);
        msg.log_term = term;
        msg.index = index;
        msg.entries = ents;
        let _ = r.step(msg);

        assert_eq!(r.raft_log.all_entries(), wents, "#{}: ents", i);
        assert_eq!(
            r.raft_log.unstable_entries(),
            &wunstable[..],
            "#{}: unstableEnts",
            i
        );
    }
}

// A new leader brings every follower's log in line with its own
// (Figure 7 of the paper).
#[test]
fn TestLeaderSyncFollowerLog2AB() {
    let ents = vec![
        Entry::default(),
        ent(1, 1),
        ent(1, 2),
        ent(1, 3),
        ent(4, 4),
        ent(4, 5),
        ent(5, 6),
        ent(5, 7),
        ent(6, 8),
        ent(6, 9),
        ent(6, 10),
    ];
    let term = 8;
    let with = |extra: &[(u64, u64)]| {
        let mut v = vec![Entry::default()];
        v.extend(extra.iter().map(|&(t, i)| ent(t, i)));
        v
    };
    let tests = vec![
        with(&[
            (1, 1),
            (1, 2),
            (1, 3),
            (4, 4),
            (4, 5),
            (5, 6),
            (5, 7),
            (6, 8),
            (6, 9),
        ]),
        with(&[(1, 1), (1, 2), (1, 3), (4, 4)]),
        with(&[
            (1, 1),
            (1, 2),
            (1, 3),
            (4, 4),
            (4, 5),
            (5, 6),
            (5, 7),
            (6, 8),
            (6, 9),
            (6, 10),
            (6, 11),
        ]),
        with(&[
            (1, 1),
            (1, 2),
            (1, 3),
            (4, 4),
            (4, 5),
            (5, 6),
            (5, 7),
            (6, 8),
            (6, 9),
            (6, 10),
            (7, 11),
            (7, 12),
        ]),
        with(&[(1, 1), (1, 2), (1, 3), (4, 4), (4, 5), (4, 6), (4, 7)]),
        with(&[
            (1, 1),
            (1, 2),
            (1, 3),
            (2, 4),
            (2, 5),
            (2, 6),
            (3, 7),
            (3, 8),
            (3, 9),
            (3, 10),
            (3, 11),
        ]),
    ];
    for (i, tt) in tests.into_iter().enumerate() {
        let lead_storage = MemoryStorage::new();
        lead_storage.append(&ents).unwrap();
        let mut lead = new_test_raft(1, vec![1, 2, 3], 10, 1, lead_storage);
        lead.term = term;
        lead.raft_log.committed = lead.raft_log.last_index();
        let follower_storage = MemoryStorage::new();
        follower_storage.append(&tt).unwrap();
        let mut follower = new_test_raft(2, vec![1, 2, 3], 10, 1, follower_storage);
        follower.term = term - 1;
        // It is necessary to have a three-node cluster: the second vote
        // comes from the black hole, so the leader wins even if the
        // follower's log is longer and it refuses to vote.
        let mut n = new_network(vec![sm(lead), sm(follower), nop_stepper()]);
        n.send(vec![m(1, 1, MessageType::MsgHup, 0)]);
        n.send(vec![m(3, 1, MessageType::MsgRequestVoteResponse, term + 1)]);

        n.send(vec![Message {
            from: 1,
            to: 1,
            msg_type: MessageType::MsgPropose as i32,
            entries: vec![Entry::default()],
            ..Default::default()
        }]);

        let lead_log = ltoa(&n.raft(1).raft_log);
        let follower_log = ltoa(&n.raft(2).raft_log);
        assert_eq!(lead_log, follower_log, "#{}: log diff", i);
    }
}

// Vote requests carry the candidate's last log index and term (5.4.1).
#[test]
fn TestVoteRequest2AB() {
    let tests = [(vec![ent(1, 1)], 2), (vec![ent(1, 1), ent(2, 2)], 3)];
    for (j, (ents, wterm)) in tests.into_iter().enumerate() {
        let mut r = new_test_raft(1, vec![1, 2, 3], 10, 1, MemoryStorage::new());
        let mut msg = m(2, 1, MessageType::MsgAppend, wterm - 1);
        msg.entries = ents.clone();
        let _ = r.step(msg);
        r.read_messages();

        while r.state != StateType::Candidate {
            r.tick();
        }

        let mut msgs = r.read_messages();
        sort_messages(&mut msgs);
        assert_eq!(msgs.len(), 2, "#{}: len(msg)", j);
        let last = ents.last().unwrap();
        for (i, msg) in msgs.iter().enumerate() {
            assert_eq!(
                msg.msg_type(),
                MessageType::MsgRequestVote,
                "#{}: msgType",
                i
            );
            assert_eq!(msg.to, i as u64 + 2, "#{}: to", i);
            assert_eq!(msg.term, wterm, "#{}: term", i);
            assert_eq!(msg.index, last.index, "#{}: index", i);
            assert_eq!(msg.log_term, last.term, "#{}: logterm", i);
        }
    }
}

// A voter refuses a candidate whose log is less up to date than its own
// (5.4.1).
#[test]
fn TestVoter2AB() {
    let tests: Vec<(Vec<Entry>, u64, u64, bool)> = vec![
        // same logterm
        (vec![ent(1, 1)], 1, 1, false),
        (vec![ent(1, 1)], 1, 2, false),
        (vec![ent(1, 1), ent(1, 2)], 1, 1, true),
        // candidate higher logterm
        (vec![ent(1, 1)], 2, 1, false),
        (vec![ent(1, 1)], 2, 2, false),
        (vec![ent(1, 1), ent(1, 2)], 2, 1, false),
        // voter higher logterm
        (vec![ent(2, 1)], 1, 1, true),
        (vec![ent(2, 1)], 1, 2, true),
        (vec![ent(2, 1), ent(1, 2)], 1, 1, true),
    ];
    for (i, (ents, logterm, index, wreject)) in tests.into_iter().enumerate() {
        let storage = MemoryStorage::new();
        storage.append(&ents).unwrap();
        let mut r = new_test_raft(1, vec![1, 2], 10, 1, storage);

        let mut msg = m(2, 1, MessageType::MsgRequestVote, 3);
        msg.log_term = logterm;
        msg.index = index;
        let _ = r.step(msg);

        let msgs = r.read_messages();
        assert_eq!(msgs.len(), 1, "#{}: len(msg)", i);
        assert_eq!(
            msgs[0].msg_type(),
            MessageType::MsgRequestVoteResponse,
            "#{}: msgType",
            i
        );
        assert_eq!(msgs[0].reject, wreject, "#{}: reject", i);
    }
}

// Only entries of the leader's current term are committed by counting
// replicas (5.4.2).
#[test]
fn TestLeaderOnlyCommitsLogFromCurrentTerm2AB() {
    let ents = vec![ent(1, 1), ent(2, 2)];
    let tests = [
        // do not commit log entries in previous terms
        (1, 0),
        (2, 0),
        // commit log in current term
        (3, 3),
    ];
    for (i, (index, wcommit)) in tests.into_iter().enumerate() {
        let storage = MemoryStorage::new();
        storage.append(&ents).unwrap();
        let mut r = new_test_raft(1, vec![1, 2], 10, 1, storage);
        r.term = 2;
        // become leader at term 3
        r.become_candidate();
        r.become_leader();
        r.read_messages();
        // propose a entry to current term
        let _ = r.step(Message {
            from: 1,
            to: 1,
            msg_type: MessageType::MsgPropose as i32,
            entries: vec![Entry::default()],
            ..Default::default()
        });

        let mut resp = m(2, 1, MessageType::MsgAppendResponse, r.term);
        resp.index = index;
        let _ = r.step(resp);
        assert_eq!(r.raft_log.committed, wcommit, "#{}: commit", i);
    }
}
