//! Helpers shared by the raft test suites (TinyKV's raft_test.go helpers):
//! builders of nodes and logs, and a small in-process network that delivers
//! messages synchronously and can drop, cut, isolate and ignore.

// Not every suite uses every helper.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};

use crate::eraftpb::{Entry, HardState, Message, MessageType};
use crate::raft::{Config, Raft};
use crate::rng::Rng;
use crate::storage::MemoryStorage;

/// A storage whose raw entry array is exactly `ents` (`ents[0]` is the
/// dummy entry standing for the snapshot point).
pub fn new_memory_storage_with_ents(ents: Vec<Entry>) -> MemoryStorage {
    let s = MemoryStorage::new();
    *s.wl().ents_mut() = ents;
    s
}

/// Moves every unstable entry to `s`, then returns (and marks applied) the
/// committed but unapplied entries.
pub fn next_ents(r: &mut Raft<MemoryStorage>, s: &MemoryStorage) -> Vec<Entry> {
    s.append(r.raft_log.unstable_entries()).unwrap();
    r.raft_log.stabled = r.raft_log.last_index();
    let ents = r.raft_log.next_ents();
    r.raft_log.applied = r.raft_log.committed;
    ents
}

pub fn new_test_config(id: u64, peers: Vec<u64>, election: usize, heartbeat: usize) -> Config {
    Config {
        id,
        peers,
        election_tick: election,
        heartbeat_tick: heartbeat,
        ..Default::default()
    }
}

pub fn new_test_raft(
    id: u64,
    peers: Vec<u64>,
    election: usize,
    heartbeat: usize,
    storage: MemoryStorage,
) -> Raft<MemoryStorage> {
    Raft::new(&new_test_config(id, peers, election, heartbeat), storage).unwrap()
}

/// A node whose log holds one entry per term in `terms` (indexes 1, 2, ...)
/// and whose current term is the last of them.
pub fn ents_with_config(
    config_func: Option<&dyn Fn(&mut Config)>,
    id: u64,
    terms: &[u64],
) -> Raft<MemoryStorage> {
    let storage = MemoryStorage::new();
    for (i, term) in terms.iter().enumerate() {
        storage
            .append(&[Entry {
                index: i as u64 + 1,
                term: *term,
                ..Default::default()
            }])
            .unwrap();
    }
    let mut cfg = new_test_config(id, vec![], 5, 1);
    if let Some(f) = config_func {
        f(&mut cfg);
    }
    let mut sm = Raft::new(&cfg, storage).unwrap();
    sm.term = *terms.last().unwrap();
    sm
}

/// A node that voted for `vote` in `term`.
pub fn voted_with_config(
    config_func: Option<&dyn Fn(&mut Config)>,
    id: u64,
    vote: u64,
    term: u64,
) -> Raft<MemoryStorage> {
    let storage = MemoryStorage::new();
    storage.set_hard_state(HardState {
        vote,
        term,
        commit: 0,
    });
    let mut cfg = new_test_config(id, vec![], 5, 1);
    if let Some(f) = config_func {
        f(&mut cfg);
    }
    let mut sm = Raft::new(&cfg, storage).unwrap();
    sm.term = term;
    sm
}

pub fn ids_by_size(size: usize) -> Vec<u64> {
    (1..=size as u64).collect()
}

/// Sorts messages by their textual form (Go's `messageSlice`), so that
/// sets of messages can be compared regardless of order.
pub fn sort_messages(msgs: &mut [Message]) {
    msgs.sort_by_cached_key(|m| format!("{:?}", m));
}

/// The acknowledgement a follower would send for an append (no log term).
pub fn accept_and_reply(m: &Message) -> Message {
    assert_eq!(
        m.msg_type(),
        MessageType::MsgAppend,
        "type should be MsgAppend"
    );
    Message {
        from: m.to,
        to: m.from,
        term: m.term,
        msg_type: MessageType::MsgAppendResponse as i32,
        index: m.index + m.entries.len() as u64,
        ..Default::default()
    }
}

/// Replicates and commits a fresh leader's no-op entry by answering its
/// appends, and marks everything persisted and applied.
pub fn commit_noop_entry(r: &mut Raft<MemoryStorage>, s: &MemoryStorage) {
    assert_eq!(
        r.state,
        crate::StateType::Leader,
        "it should only be used when it is the leader"
    );
    for id in r.nodes() {
        if id != r.id {
            r.send_append(id);
        }
    }
    for m in r.read_messages() {
        if m.msg_type() != MessageType::MsgAppend
            || m.entries.len() != 1
            || !m.entries[0].data.is_empty()
        {
            panic!("not a message to append noop entry");
        }
        r.step(accept_and_reply(&m)).unwrap();
    }
    // Drop the appends that refresh the followers' commit index.
    r.read_messages();
    s.append(r.raft_log.unstable_entries()).unwrap();
    r.raft_log.applied = r.raft_log.committed;
    r.raft_log.stabled = r.raft_log.last_index();
}

/// Proposes one entry on a leader.
pub fn must_append_entry(r: &mut Raft<MemoryStorage>, ents: Vec<Entry>) {
    r.step(Message {
        msg_type: MessageType::MsgPropose as i32,
        from: r.id,
        to: r.id,
        entries: ents,
        ..Default::default()
    })
    .expect("proposal refused");
}

/// A member of a test [`Network`]: a raft node or a black hole that takes
/// every message and never answers (Go's `nopStepper`).
pub enum StateMachine {
    Raft(Box<Raft<MemoryStorage>>),
    BlackHole,
}

impl StateMachine {
    fn step(&mut self, m: Message) {
        if let StateMachine::Raft(r) = self {
            let _ = r.step(m);
        }
    }

    fn read_messages(&mut self) -> Vec<Message> {
        match self {
            StateMachine::Raft(r) => r.read_messages(),
            StateMachine::BlackHole => Vec::new(),
        }
    }
}

/// A slot of [`new_network`]: `None` makes a fresh node.
pub fn sm(r: Raft<MemoryStorage>) -> Option<StateMachine> {
    Some(StateMachine::Raft(Box::new(r)))
}

/// Go's `nopStepper`.
pub fn nop_stepper() -> Option<StateMachine> {
    Some(StateMachine::BlackHole)
}

/// Decides whether a message is delivered.
pub type MsgHook = Box<dyn Fn(&Message) -> bool>;

pub struct Network {
    pub peers: HashMap<u64, StateMachine>,
    pub storage: HashMap<u64, MemoryStorage>,
    dropm: HashMap<(u64, u64), f64>,
    ignorem: HashSet<i32>,
    /// Called for each message about to be delivered; false drops it.
    pub msg_hook: Option<MsgHook>,
    rng: Rng,
}

/// The seed of a network's drop decisions: `TINYKV_SEED` when set, as in
/// the cluster tests, so that one seed replays a run; else a fixed one, so
/// that a plain run of the raft tests is the same every time.
fn network_seed() -> u64 {
    std::env::var("TINYKV_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15)
}

pub fn new_network(peers: Vec<Option<StateMachine>>) -> Network {
    new_network_with_config(None, peers)
}

/// A network of `peers.len()` nodes with ids 1, 2, ...; `None` slots get a
/// fresh node (election 10, heartbeat 1) configured by `config_func`.
pub fn new_network_with_config(
    config_func: Option<&dyn Fn(&mut Config)>,
    peers: Vec<Option<StateMachine>>,
) -> Network {
    let ids = ids_by_size(peers.len());
    let mut npeers = HashMap::new();
    let mut nstorage = HashMap::new();
    for (p, &id) in peers.into_iter().zip(&ids) {
        match p {
            None => {
                let storage = MemoryStorage::new();
                nstorage.insert(id, storage.clone());
                let mut cfg = new_test_config(id, ids.clone(), 10, 1);
                if let Some(f) = config_func {
                    f(&mut cfg);
                }
                npeers.insert(
                    id,
                    StateMachine::Raft(Box::new(Raft::new(&cfg, storage).unwrap())),
                );
            }
            Some(StateMachine::Raft(mut r)) => {
                r.id = id;
                npeers.insert(id, StateMachine::Raft(r));
            }
            Some(StateMachine::BlackHole) => {
                npeers.insert(id, StateMachine::BlackHole);
            }
        }
    }
    Network {
        peers: npeers,
        storage: nstorage,
        dropm: HashMap::new(),
        ignorem: HashSet::new(),
        msg_hook: None,
        rng: Rng::new(network_seed()),
    }
}

impl Network {
    /// The raft node with `id` (panics for a black hole).
    pub fn raft(&mut self, id: u64) -> &mut Raft<MemoryStorage> {
        match self.peers.get_mut(&id) {
            Some(StateMachine::Raft(r)) => r,
            _ => panic!("peer {} is not a raft node", id),
        }
    }

    /// Delivers `msgs` and everything they cause, until quiet.
    pub fn send(&mut self, msgs: Vec<Message>) {
        let mut queue: std::collections::VecDeque<Message> = msgs.into();
        while let Some(m) = queue.pop_front() {
            let p = self.peers.get_mut(&m.to).expect("message to unknown peer");
            p.step(m);
            let out = p.read_messages();
            queue.extend(self.filter(out));
        }
    }

    /// Drops messages from `from` to `to` with probability `perc`.
    pub fn drop(&mut self, from: u64, to: u64, perc: f64) {
        self.dropm.insert((from, to), perc);
    }

    /// Drops everything between `one` and `other`, both ways.
    pub fn cut(&mut self, one: u64, other: u64) {
        self.drop(one, other, 2.0);
        self.drop(other, one, 2.0);
    }

    /// Drops everything to and from `id`.
    pub fn isolate(&mut self, id: u64) {
        for i in 0..self.peers.len() as u64 {
            let nid = i + 1;
            if nid != id {
                self.drop(id, nid, 1.0);
                self.drop(nid, id, 1.0);
            }
        }
    }

    /// Drops every message of type `t`.
    pub fn ignore(&mut self, t: MessageType) {
        self.ignorem.insert(t as i32);
    }

    /// Undoes every drop, cut, isolation and ignore.
    pub fn recover(&mut self) {
        self.dropm.clear();
        self.ignorem.clear();
    }

    fn filter(&mut self, msgs: Vec<Message>) -> Vec<Message> {
        let mut out = Vec::with_capacity(msgs.len());
        for m in msgs {
            if self.ignorem.contains(&m.msg_type) {
                continue;
            }
            assert!(
                m.msg_type() != MessageType::MsgHup,
                "unexpected MsgHup on the network"
            );
            let perc = self.dropm.get(&(m.from, m.to)).copied().unwrap_or(0.0);
            if self.rng.unit() < perc {
                continue;
            }
            if let Some(hook) = &self.msg_hook {
                if !hook(&m) {
                    continue;
                }
            }
            out.push(m);
        }
        out
    }
}

/// Shorthand for a message with the fields tests usually set.
pub fn msg(from: u64, to: u64, t: MessageType) -> Message {
    Message {
        from,
        to,
        msg_type: t as i32,
        ..Default::default()
    }
}

/// A node's own MsgHup: campaign now.
pub fn hup(id: u64) -> Message {
    msg(id, id, MessageType::MsgHup)
}

/// A node's own MsgBeat: send heartbeats now.
pub fn beat(id: u64) -> Message {
    msg(id, id, MessageType::MsgBeat)
}

/// Proposes one entry (`x`) at node `id` and delivers what follows.
pub fn propose_one(nt: &mut Network, id: u64) {
    let mut m = msg(id, id, MessageType::MsgPropose);
    m.entries = vec![Entry {
        data: b"x".to_vec(),
        ..Default::default()
    }];
    nt.send(vec![m]);
}
