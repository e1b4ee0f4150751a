//! TinyKV's raft/rawnode_test.go.
#![allow(non_snake_case)]

use prost::Message as _;

use crate::eraftpb::{
    ConfChange, ConfChangeType, ConfState, Entry, EntryType, HardState, Snapshot, SnapshotMetadata,
};
use crate::rawnode::{RawNode, Ready};
use crate::storage::{MemoryStorage, Storage};
use crate::test_harness::new_test_config;

fn new_raw_node(id: u64, peers: Vec<u64>, storage: MemoryStorage) -> RawNode<MemoryStorage> {
    RawNode::new(&new_test_config(id, peers, 10, 1), storage).unwrap()
}

// Proposals and conf changes after becoming leader end up in the log.
#[test]
fn TestRawNodeProposeAndConfChange3A() {
    let s = MemoryStorage::new();
    let mut raw_node = new_raw_node(1, vec![1], s.clone());
    let rd = raw_node.ready();
    s.append(&rd.entries).unwrap();
    raw_node.advance(rd);

    let d = raw_node.ready();
    assert!(
        d.hard_state.is_none() && d.entries.is_empty(),
        "expected empty hard state: {:?}",
        d
    );

    raw_node.campaign().unwrap();
    let rd = raw_node.ready();
    assert_eq!(
        rd.soft_state.map(|ss| ss.lead),
        Some(raw_node.raft.id),
        "expected become leader"
    );

    raw_node.propose(b"somedata".to_vec()).unwrap();
    let cc = ConfChange {
        change_type: ConfChangeType::AddNode as i32,
        node_id: 1,
        ..Default::default()
    };
    let ccdata = cc.encode_to_vec();
    raw_node.propose_conf_change(cc).unwrap();

    let entries = &raw_node.raft.raft_log.entries;
    let l = entries.len();
    assert!(l >= 2, "len(entries) = {}, want >= 2", l);
    let entries = &entries[l - 2..];
    assert_eq!(entries[0].data, b"somedata");
    assert_eq!(entries[1].entry_type(), EntryType::EntryConfChange);
    assert_eq!(entries[1].data, ccdata);
}

// Proposing the same conf change twice is harmless, and later ones still
// work.
#[test]
fn TestRawNodeProposeAddDuplicateNode3A() {
    let s = MemoryStorage::new();
    let mut raw_node = new_raw_node(1, vec![1], s.clone());
    let rd = raw_node.ready();
    s.append(&rd.entries).unwrap();
    raw_node.advance(rd);

    raw_node.campaign().unwrap();
    loop {
        let rd = raw_node.ready();
        s.append(&rd.entries).unwrap();
        let is_leader = rd.soft_state.is_some_and(|ss| ss.lead == raw_node.raft.id);
        raw_node.advance(rd);
        if is_leader {
            break;
        }
    }

    let mut propose_conf_change_and_apply = |cc: ConfChange| {
        raw_node.propose_conf_change(cc).unwrap();
        let rd = raw_node.ready();
        s.append(&rd.entries).unwrap();
        for entry in &rd.committed_entries {
            if entry.entry_type() == EntryType::EntryConfChange {
                let cc = ConfChange::decode(entry.data.as_slice()).unwrap();
                raw_node.apply_conf_change(&cc);
            }
        }
        raw_node.advance(rd);
    };

    let cc1 = ConfChange {
        change_type: ConfChangeType::AddNode as i32,
        node_id: 1,
        ..Default::default()
    };
    let ccdata1 = cc1.encode_to_vec();
    propose_conf_change_and_apply(cc1.clone());

    // try to add the same node again
    propose_conf_change_and_apply(cc1);

    // the new node join should be ok
    let cc2 = ConfChange {
        change_type: ConfChangeType::AddNode as i32,
        node_id: 2,
        ..Default::default()
    };
    let ccdata2 = cc2.encode_to_vec();
    propose_conf_change_and_apply(cc2);

    let last_index = s.last_index().unwrap();

    // the last three entries should be: ConfChange cc1, cc1, cc2
    let entries = s.entries(last_index - 2, last_index + 1).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].data, ccdata1);
    assert_eq!(entries[2].data, ccdata2);
}

// A single node campaigns, proposes, and gets its entry back committed.
#[test]
fn TestRawNodeStart2AC() {
    let storage = MemoryStorage::new();
    let mut raw_node = new_raw_node(1, vec![1], storage.clone());
    raw_node.campaign().unwrap();
    let rd = raw_node.ready();
    storage.append(&rd.entries).unwrap();
    raw_node.advance(rd);

    raw_node.propose(b"foo".to_vec()).unwrap();
    let rd = raw_node.ready();
    let el = rd.entries.len();
    assert!(
        el == rd.committed_entries.len() && el == 1,
        "got len(Entries): {}, len(CommittedEntries): {}, want 1",
        el,
        rd.committed_entries.len()
    );
    assert_eq!(rd.entries[0].data, rd.committed_entries[0].data);
    assert_eq!(rd.entries[0].data, b"foo");
    storage.append(&rd.entries).unwrap();
    raw_node.advance(rd);

    assert!(
        !raw_node.has_ready(),
        "unexpected Ready: {:?}",
        raw_node.ready()
    );
}

// A restarted node hands out exactly the committed, unapplied entries.
#[test]
fn TestRawNodeRestart2AC() {
    let entries = vec![
        Entry {
            term: 1,
            index: 1,
            ..Default::default()
        },
        Entry {
            term: 1,
            index: 2,
            data: b"foo".to_vec(),
            ..Default::default()
        },
    ];
    let st = HardState {
        term: 1,
        commit: 1,
        vote: 0,
    };

    let want = Ready {
        entries: vec![],
        // commit up to commit index in st
        committed_entries: entries[..st.commit as usize].to_vec(),
        ..Default::default()
    };

    let storage = MemoryStorage::new();
    storage.set_hard_state(st);
    storage.append(&entries).unwrap();
    let mut raw_node = new_raw_node(1, vec![], storage);
    let rd = raw_node.ready();
    assert_eq!(rd, want);
    raw_node.advance(rd);
    assert!(
        !raw_node.has_ready(),
        "unexpected Ready: {:?}",
        raw_node.ready()
    );
}

// A node restarted from a snapshot hands out the entries after it.
#[test]
fn TestRawNodeRestartFromSnapshot2C() {
    let snap = Snapshot {
        metadata: Some(SnapshotMetadata {
            conf_state: Some(ConfState { nodes: vec![1, 2] }),
            index: 2,
            term: 1,
        }),
        ..Default::default()
    };
    let entries = vec![Entry {
        term: 1,
        index: 3,
        data: b"foo".to_vec(),
        ..Default::default()
    }];
    let st = HardState {
        term: 1,
        commit: 3,
        vote: 0,
    };

    let want = Ready {
        entries: vec![],
        committed_entries: entries.clone(),
        ..Default::default()
    };

    let s = MemoryStorage::new();
    s.set_hard_state(st);
    s.apply_snapshot(snap).unwrap();
    s.append(&entries).unwrap();
    let mut raw_node = new_raw_node(1, vec![], s);
    let rd = raw_node.ready();
    assert_eq!(rd, want);
    raw_node.advance(rd);
    assert!(
        !raw_node.has_ready(),
        "unexpected Ready: {:?}",
        raw_node.has_ready()
    );
}
