//! Flow control of a leader's appends (not in the Go suites): the three
//! progress states and their transitions, the window of appends in flight,
//! and the byte bound of one append.

use prost::Message as _;

use crate::eraftpb::{ConfState, Entry, HardState, Message, MessageType};
use crate::inflights::Inflights;
use crate::progress::{Progress, ProgressState};
use crate::raft::{Config, Raft, DEFAULT_MAX_INFLIGHT_MSGS, DEFAULT_MAX_SIZE_PER_MSG};
use crate::storage::MemoryStorage;
use crate::test_harness::{accept_and_reply, msg, new_test_config};

fn ent(term: u64, index: u64, data: &[u8]) -> Entry {
    Entry {
        term,
        index,
        data: data.to_vec(),
        ..Default::default()
    }
}

fn propose(r: &mut Raft<MemoryStorage>, data: &[u8]) {
    let mut m = msg(1, 1, MessageType::MsgPropose);
    m.entries = vec![Entry {
        data: data.to_vec(),
        ..Default::default()
    }];
    r.step(m).expect("proposal accepted");
}

fn reply(r: &mut Raft<MemoryStorage>, mut m: Message) {
    m.term = r.term;
    r.step(m).unwrap();
}

fn reject(from: u64, hint: u64) -> Message {
    let mut m = msg(from, 1, MessageType::MsgAppendResponse);
    m.reject = true;
    m.index = hint;
    m
}

fn heartbeat_response(from: u64) -> Message {
    msg(from, 1, MessageType::MsgHeartbeatResponse)
}

/// The appends among `msgs` addressed to `to`.
fn appends_to(msgs: &[Message], to: u64) -> Vec<Message> {
    msgs.iter()
        .filter(|m| m.to == to && m.msg_type() == MessageType::MsgAppend)
        .cloned()
        .collect()
}

/// Node 1 of [1, 2, 3] over `storage`, with `cfg` applied to its config,
/// elected leader by node 2's vote (so its appends went out as they do in
/// a real election).
fn elected_leader(storage: MemoryStorage, cfg: impl Fn(&mut Config)) -> Raft<MemoryStorage> {
    let mut c = new_test_config(1, vec![1, 2, 3], 10, 1);
    cfg(&mut c);
    let mut r = Raft::new(&c, storage).unwrap();
    r.become_candidate();
    let vote = msg(2, 1, MessageType::MsgRequestVoteResponse);
    reply(&mut r, vote);
    assert_eq!(r.state, crate::StateType::Leader);
    r
}

/// An elected leader whose follower 2 acknowledged the no-op (so it
/// replicates) while follower 3 has not answered (so it probes). Messages
/// are drained.
fn leader_with_replicating_2(cfg: impl Fn(&mut Config)) -> Raft<MemoryStorage> {
    let mut r = elected_leader(MemoryStorage::new(), cfg);
    let msgs = r.read_messages();
    let noop = appends_to(&msgs, 2).pop().unwrap();
    reply(&mut r, accept_and_reply(&noop));
    r.read_messages();
    assert_eq!(r.prs[&2].state, ProgressState::Replicate);
    assert_eq!(r.prs[&3].state, ProgressState::Probe);
    r
}

// ---- Inflights -------------------------------------------------------------

#[test]
fn inflights_fill_up_and_free_by_acknowledged_index() {
    let mut ins = Inflights::new(3);
    assert!(ins.is_empty() && !ins.full());
    ins.add(5);
    ins.add(7);
    ins.add(9);
    assert!(ins.full());
    ins.free_to(4);
    assert_eq!(ins.len(), 3, "an ack before every append frees nothing");
    ins.free_to(8);
    assert_eq!(ins.len(), 1, "frees the appends ending at 5 and 7");
    ins.add(12);
    ins.free_first_one();
    assert_eq!(ins.len(), 1);
    ins.free_to(100);
    assert!(ins.is_empty());
    ins.add(13);
    ins.reset();
    assert!(ins.is_empty());
}

#[test]
#[should_panic(expected = "full window")]
fn inflights_refuse_an_append_beyond_the_window() {
    let mut ins = Inflights::new(1);
    ins.add(1);
    ins.add(2);
}

// ---- Progress transitions --------------------------------------------------

#[test]
fn progress_probe_pauses_after_one_append_until_answered() {
    let mut pr = Progress::new(5, 4);
    assert_eq!(pr.state, ProgressState::Probe);
    assert!(!pr.is_paused());
    pr.sent_append(Some(7));
    assert!(pr.is_paused());
    assert_eq!(pr.next, 5, "a probe does not move next");
    assert!(pr.maybe_update(7));
    assert!(!pr.is_paused());
    assert_eq!((pr.matched, pr.next), (7, 8));
}

#[test]
fn progress_probe_rejection_moves_next_back_once() {
    let mut pr = Progress::new(10, 4);
    pr.sent_append(None);
    assert!(pr.maybe_decr_to(6));
    assert_eq!(pr.next, 7);
    assert!(!pr.is_paused(), "a fresh rejection answers the probe");
    pr.sent_append(None);
    // The answer to an append sent before the one at 7 is stale.
    assert!(!pr.maybe_decr_to(8));
    assert!(!pr.maybe_decr_to(6));
    assert_eq!(pr.next, 7);
    assert!(pr.is_paused());
}

#[test]
fn progress_rejection_never_moves_next_to_or_below_matched() {
    let mut pr = Progress::new(10, 4);
    pr.maybe_update(5);
    pr.next = 10;
    assert!(pr.maybe_decr_to(2));
    assert_eq!(pr.next, 6);
    assert!(!pr.maybe_decr_to(3), "next is already matched + 1");
}

#[test]
fn progress_replicate_moves_next_optimistically_within_the_window() {
    let mut pr = Progress::new(1, 2);
    pr.maybe_update(3);
    pr.become_replicate();
    assert_eq!((pr.state, pr.next), (ProgressState::Replicate, 4));
    pr.sent_append(Some(5));
    assert_eq!(pr.next, 6);
    pr.sent_append(None);
    assert_eq!(pr.inflights.len(), 1, "an empty append takes no room");
    pr.sent_append(Some(8));
    assert!(pr.is_paused(), "two appends fill a window of two");
    assert!(pr.maybe_update(5));
    pr.inflights.free_to(5);
    assert!(!pr.is_paused());
    assert_eq!(pr.next, 9);
}

#[test]
fn progress_replicate_rejection_falls_back_to_probe_from_the_hint() {
    let mut pr = Progress::new(1, 4);
    pr.maybe_update(3);
    pr.become_replicate();
    pr.sent_append(Some(6));
    pr.sent_append(Some(9));
    assert!(pr.maybe_decr_to(4));
    assert_eq!(pr.state, ProgressState::Probe);
    assert_eq!(pr.next, 5);
    assert!(pr.inflights.is_empty());
    assert!(!pr.is_paused());
}

#[test]
fn progress_snapshot_pauses_and_probes_after_it_when_given_up() {
    let mut pr = Progress::new(3, 4);
    pr.maybe_update(2);
    pr.become_snapshot(20);
    assert_eq!(pr.state, ProgressState::Snapshot);
    assert!(pr.is_paused());
    assert!(
        !pr.maybe_decr_to(1),
        "no append is out, so no rejection is fresh"
    );
    pr.become_probe();
    assert_eq!(
        (pr.state, pr.next, pr.pending_snapshot),
        (ProgressState::Probe, 21, 0)
    );
}

// ---- The leader ------------------------------------------------------------

#[test]
fn config_defaults_bound_messages_and_window() {
    let c = Config::default();
    assert_eq!(c.max_size_per_msg, DEFAULT_MAX_SIZE_PER_MSG);
    assert_eq!(c.max_inflight_msgs, DEFAULT_MAX_INFLIGHT_MSGS);
    let mut c = new_test_config(1, vec![1], 10, 1);
    c.max_inflight_msgs = 0;
    assert!(c.validate().is_err());
}

#[test]
fn new_leader_probes_each_follower_once() {
    let mut r = elected_leader(MemoryStorage::new(), |_| {});
    let msgs = r.read_messages();
    assert_eq!(appends_to(&msgs, 2).len(), 1);
    assert_eq!(appends_to(&msgs, 3).len(), 1);
    for id in [2, 3] {
        assert_eq!(r.prs[&id].state, ProgressState::Probe);
        assert!(r.prs[&id].probe_sent);
    }
    // Unanswered probes: proposals do not re-send anything.
    for _ in 0..3 {
        propose(&mut r, b"x");
    }
    assert!(r.read_messages().is_empty());
}

#[test]
fn probe_acknowledged_moves_to_replicate_and_sends_what_is_new() {
    let mut r = elected_leader(MemoryStorage::new(), |_| {});
    let msgs = r.read_messages();
    for _ in 0..3 {
        propose(&mut r, b"x");
    }
    reply(&mut r, accept_and_reply(&appends_to(&msgs, 2)[0]));
    let pr = &r.prs[&2];
    assert_eq!((pr.state, pr.matched), (ProgressState::Replicate, 1));
    assert_eq!(pr.next, 5, "the three proposals went out");
    let sent = appends_to(&r.read_messages(), 2);
    let indexes: Vec<u64> = sent
        .iter()
        .flat_map(|m| m.entries.iter().map(|e| e.index))
        .collect();
    assert_eq!(indexes, vec![2, 3, 4]);
    assert_eq!(r.prs[&2].inflights.len(), 1);
}

#[test]
fn replicating_follower_gets_every_proposal_until_the_window_is_full() {
    let mut r = leader_with_replicating_2(|c| c.max_inflight_msgs = 3);
    for _ in 0..5 {
        propose(&mut r, b"x");
    }
    let sent = appends_to(&r.read_messages(), 2);
    assert_eq!(sent.len(), 3, "one append per proposal, three in flight");
    assert!(r.prs[&2].is_paused());
    assert_eq!(r.prs[&2].next, 5);
    // The first acknowledgement makes room: the other two go in one append.
    reply(&mut r, accept_and_reply(&sent[0]));
    let more = appends_to(&r.read_messages(), 2);
    assert_eq!(more.len(), 1);
    let indexes: Vec<u64> = more[0].entries.iter().map(|e| e.index).collect();
    assert_eq!(indexes, vec![5, 6]);
    assert_eq!(r.prs[&2].next, 7);
    assert!(r.prs[&2].is_paused());
}

#[test]
fn rejected_append_sends_replicating_follower_back_to_probe() {
    let mut r = leader_with_replicating_2(|_| {});
    for _ in 0..4 {
        propose(&mut r, b"x");
    }
    r.read_messages();
    assert_eq!(r.prs[&2].next, 6);
    // Follower 2 lost the appends after index 2.
    reply(&mut r, reject(2, 2));
    assert_eq!(r.prs[&2].state, ProgressState::Probe);
    let probe = appends_to(&r.read_messages(), 2);
    assert_eq!(probe.len(), 1);
    assert_eq!(probe[0].index, 2, "probe from right after the hint");
    assert!(r.prs[&2].probe_sent);
    // The rejections of the later appends are stale: nothing more goes out.
    reply(&mut r, reject(2, 2));
    reply(&mut r, reject(2, 2));
    assert!(appends_to(&r.read_messages(), 2).is_empty());
    reply(&mut r, accept_and_reply(&probe[0]));
    assert_eq!(r.prs[&2].state, ProgressState::Replicate);
    assert_eq!(r.prs[&2].matched, 5);
}

#[test]
fn heartbeat_response_resends_an_unanswered_probe() {
    let mut r = leader_with_replicating_2(|_| {});
    propose(&mut r, b"x");
    r.read_messages();
    assert!(r.prs[&3].probe_sent);
    reply(&mut r, heartbeat_response(3));
    let probe = appends_to(&r.read_messages(), 3);
    assert_eq!(probe.len(), 1);
    assert_eq!(probe[0].index, 0, "probe again from the same next");
    assert!(r.prs[&3].probe_sent);
}

#[test]
fn heartbeat_response_makes_room_in_a_full_window() {
    let mut r = leader_with_replicating_2(|c| c.max_inflight_msgs = 2);
    for _ in 0..3 {
        propose(&mut r, b"x");
    }
    assert_eq!(appends_to(&r.read_messages(), 2).len(), 2);
    assert!(r.prs[&2].is_paused());
    reply(&mut r, heartbeat_response(2));
    let sent = appends_to(&r.read_messages(), 2);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].entries[0].index, 4);
}

#[test]
fn heartbeat_response_from_an_up_to_date_follower_sends_nothing() {
    let mut r = leader_with_replicating_2(|_| {});
    reply(&mut r, heartbeat_response(2));
    assert!(r.read_messages().is_empty());
}

#[test]
fn unreachable_follower_costs_at_most_a_window_of_appends() {
    let mut r = elected_leader(MemoryStorage::new(), |c| c.max_inflight_msgs = 8);
    // Both followers answer their probes, then 3 goes silent.
    for m in r.read_messages() {
        reply(&mut r, accept_and_reply(&m));
    }
    r.read_messages();
    assert_eq!(r.prs[&3].state, ProgressState::Replicate);
    let (mut appends_to_3, mut entries_to_3) = (0, 0);
    for i in 0..1000 {
        propose(&mut r, b"x");
        if i % 10 == 0 {
            let _ = r.step(msg(1, 1, MessageType::MsgBeat));
        }
        for m in r.read_messages() {
            match (m.to, m.msg_type()) {
                (2, MessageType::MsgAppend) => reply(&mut r, accept_and_reply(&m)),
                (2, MessageType::MsgHeartbeat) => reply(&mut r, heartbeat_response(2)),
                (3, MessageType::MsgAppend) => {
                    appends_to_3 += 1;
                    entries_to_3 += m.entries.len();
                }
                _ => {}
            }
        }
    }
    assert_eq!(r.raft_log.committed, 1001, "1 and 2 keep committing");
    assert_eq!(
        entries_to_3, 8,
        "a window of one-entry appends, then nothing"
    );
    // Besides, until the window filled, commit updates (empty appends).
    assert!(appends_to_3 <= 16, "{appends_to_3} appends to 3");
}

#[test]
fn entries_from_is_bounded_in_bytes_but_returns_at_least_one_entry() {
    let storage = MemoryStorage::new();
    let ents: Vec<Entry> = (1..=10).map(|i| ent(1, i, &[7; 100])).collect();
    storage.append(&ents).unwrap();
    let log = crate::log::RaftLog::new(storage);
    let size = ents[0].encoded_len() as u64;
    assert_eq!(log.entries_from(1, u64::MAX).unwrap().len(), 10);
    assert_eq!(log.entries_from(1, 3 * size).unwrap().len(), 3);
    assert_eq!(log.entries_from(1, 3 * size - 1).unwrap().len(), 2);
    assert_eq!(log.entries_from(4, 0).unwrap().len(), 1);
    assert_eq!(log.entries_from(11, 0).unwrap().len(), 0);
}

#[test]
fn appends_carry_at_most_max_size_per_msg_bytes_of_entries() {
    let storage = MemoryStorage::new();
    let ents: Vec<Entry> = (1..=10).map(|i| ent(1, i, &[7; 100])).collect();
    let size = ents[0].encoded_len() as u64;
    storage.append(&ents).unwrap();
    let mut r = elected_leader(storage, |c| c.max_size_per_msg = 2 * size);
    let probe = appends_to(&r.read_messages(), 2).pop().unwrap();
    assert_eq!(probe.index, 10);
    // Follower 2 has nothing: probe from the start, two entries a message.
    reply(&mut r, reject(2, 0));
    let probe = appends_to(&r.read_messages(), 2).pop().unwrap();
    assert_eq!((probe.index, probe.entries.len()), (0, 2));
    reply(&mut r, accept_and_reply(&probe));
    // Replicating: the rest of the log (3..=10 and the no-op at 11) goes out
    // at once, in appends of at most two entries.
    let sent = appends_to(&r.read_messages(), 2);
    let counts: Vec<usize> = sent.iter().map(|m| m.entries.len()).collect();
    assert_eq!(counts, vec![2, 2, 2, 2, 1]);
    for m in &sent {
        let bytes: u64 = m.entries.iter().map(|e| e.encoded_len() as u64).sum();
        assert!(bytes <= 2 * size, "{bytes} bytes in one append");
    }
    // An entry above the bound still goes out, alone.
    propose(&mut r, &[1; 1000]);
    propose(&mut r, b"y");
    let sent = appends_to(&r.read_messages(), 2);
    let counts: Vec<usize> = sent.iter().map(|m| m.entries.len()).collect();
    assert_eq!(counts, vec![1, 1]);
}

/// A leader whose log was compacted up to 10 (snapshot at 10, term 1) and
/// whose follower 2 said it has nothing: it is being sent the snapshot.
fn leader_sending_snapshot_to_2() -> Raft<MemoryStorage> {
    let storage = MemoryStorage::new();
    let ents: Vec<Entry> = (1..=10).map(|i| ent(1, i, b"")).collect();
    storage.append(&ents).unwrap();
    storage.set_hard_state(HardState {
        term: 1,
        vote: 0,
        commit: 10,
    });
    storage
        .create_snapshot(
            10,
            Some(ConfState {
                nodes: vec![1, 2, 3],
            }),
            vec![],
        )
        .unwrap();
    storage.compact(10).unwrap();
    let mut r = elected_leader(storage, |_| {});
    r.read_messages();
    reply(&mut r, reject(2, 0));
    let msgs = r.read_messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].msg_type(), MessageType::MsgSnapshot);
    let pr = &r.prs[&2];
    assert_eq!(
        (pr.state, pr.pending_snapshot),
        (ProgressState::Snapshot, 10)
    );
    r
}

#[test]
fn snapshot_state_sends_no_appends_until_acknowledged() {
    let mut r = leader_sending_snapshot_to_2();
    propose(&mut r, b"x");
    assert!(appends_to(&r.read_messages(), 2).is_empty());
    // Follower 2 installed it and answers with its new last index.
    let mut ack = msg(2, 1, MessageType::MsgAppendResponse);
    ack.index = 10;
    reply(&mut r, ack);
    let pr = &r.prs[&2];
    assert_eq!((pr.state, pr.matched), (ProgressState::Replicate, 10));
    let sent = appends_to(&r.read_messages(), 2);
    let indexes: Vec<u64> = sent
        .iter()
        .flat_map(|m| m.entries.iter().map(|e| e.index))
        .collect();
    assert_eq!(indexes, vec![11, 12], "the no-op and the proposal");
}

#[test]
fn snapshot_never_acknowledged_is_given_up_after_an_election_timeout() {
    let mut r = leader_sending_snapshot_to_2();
    // election_tick 10, heartbeat_tick 1: ten heartbeat responses.
    for _ in 0..9 {
        reply(&mut r, heartbeat_response(2));
    }
    assert_eq!(r.prs[&2].state, ProgressState::Snapshot);
    assert!(r.read_messages().is_empty());
    reply(&mut r, heartbeat_response(2));
    assert_eq!(r.prs[&2].state, ProgressState::Probe);
    let probe = appends_to(&r.read_messages(), 2);
    assert_eq!(probe.len(), 1);
    assert_eq!(probe[0].index, 10, "probe right after the snapshot");
    // Without the snapshot the follower rejects: a new snapshot goes out.
    reply(&mut r, reject(2, 0));
    let msgs = r.read_messages();
    assert_eq!(msgs[0].msg_type(), MessageType::MsgSnapshot);
    assert_eq!(r.prs[&2].state, ProgressState::Snapshot);
}

#[test]
fn progress_snapshot_failed_probes_from_matched_after_a_heartbeat() {
    let mut pr = Progress::new(5, 4);
    pr.matched = 4;
    pr.become_snapshot(20);
    pr.snapshot_failed();
    assert_eq!(
        (pr.state, pr.next, pr.pending_snapshot, pr.is_paused()),
        (ProgressState::Probe, 5, 0, true)
    );
}

/// A snapshot the transport reports undelivered goes out again on the next
/// heartbeat response, without waiting out an election timeout.
#[test]
fn snapshot_reported_undelivered_is_resent_on_the_next_heartbeat_response() {
    let mut r = leader_sending_snapshot_to_2();
    r.report_snapshot_failure(2);
    assert_eq!((r.prs[&2].state, r.prs[&2].next), (ProgressState::Probe, 1));
    assert!(r.read_messages().is_empty(), "nothing before it answers");
    reply(&mut r, heartbeat_response(2));
    let msgs = r.read_messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].msg_type(), MessageType::MsgSnapshot);
    assert_eq!(
        (r.prs[&2].state, r.prs[&2].pending_snapshot),
        (ProgressState::Snapshot, 10)
    );
}

/// The report changes nothing for a follower that is not being sent a
/// snapshot, nor on a node that does not lead.
#[test]
fn snapshot_failure_report_is_ignored_unless_a_snapshot_is_on_its_way() {
    let mut r = leader_with_replicating_2(|_| {});
    let before = r.prs[&2].clone();
    r.report_snapshot_failure(2);
    assert_eq!(r.prs[&2].state, before.state);
    assert_eq!(r.prs[&2].next, before.next);

    let storage = MemoryStorage::new();
    let mut f = Raft::new(&new_test_config(1, vec![1, 2, 3], 10, 1), storage).unwrap();
    f.report_snapshot_failure(2);
    assert!(f.read_messages().is_empty());
}
