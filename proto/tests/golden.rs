//! Wire compatibility with Go TinyKV: a few messages encoded to bytes worked
//! out by hand from the field numbers and wire types of the Go `.proto`
//! files. A tag byte is `field_number << 3 | wire_type` (0 = varint,
//! 2 = length-delimited); proto3 leaves fields at their default out.

use proto::eraftpb::{
    ConfState, Entry, EntryType, Message, MessageType, Snapshot, SnapshotMetadata,
};
use proto::metapb::{Peer, Region, RegionEpoch};
use proto::raft_cmdpb::{
    AdminCmdType, AdminRequest, RaftCmdRequest, RaftRequestHeader, SplitRequest,
};
use proto::raft_serverpb::RaftMessage;
use proto::schedulerpb::{RegionHeartbeatRequest, RequestHeader};

fn check<M: prost::Message + Default + PartialEq + std::fmt::Debug>(msg: &M, expected: &[u8]) {
    assert_eq!(msg.encode_to_vec(), expected, "encoding of {:?}", msg);
    assert_eq!(&M::decode(expected).unwrap(), msg);
}

#[test]
fn raft_message_with_entries_and_snapshot() {
    let msg = RaftMessage {
        region_id: 1,
        from_peer: Some(Peer { id: 2, store_id: 3 }),
        to_peer: Some(Peer { id: 4, store_id: 5 }),
        message: Some(Message {
            msg_type: MessageType::MsgAppend as i32,
            to: 4,
            from: 2,
            term: 6,
            log_term: 5,
            index: 7,
            entries: vec![
                Entry {
                    entry_type: EntryType::EntryNormal as i32,
                    term: 6,
                    index: 8,
                    data: b"a".to_vec(),
                },
                Entry {
                    entry_type: EntryType::EntryConfChange as i32,
                    term: 6,
                    index: 9,
                    data: vec![],
                },
            ],
            commit: 7,
            snapshot: Some(Snapshot {
                data: b"s".to_vec(),
                metadata: Some(SnapshotMetadata {
                    conf_state: Some(ConfState { nodes: vec![1, 2] }),
                    index: 5,
                    term: 5,
                }),
            }),
            reject: false,
            // Not in Go's proto; empty, so left out of the encoding.
            context: vec![],
        }),
        region_epoch: Some(RegionEpoch {
            conf_ver: 1,
            version: 2,
        }),
        ..Default::default()
    };
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0x08, 0x01,                         // 1 region_id = 1
        0x12, 0x04, 0x08, 0x02, 0x10, 0x03, // 2 from_peer {1 id = 2, 2 store_id = 3}
        0x1A, 0x04, 0x08, 0x04, 0x10, 0x05, // 3 to_peer {id 4, store 5}
        0x22, 0x30,                         // 4 message, 48 bytes:
        0x08, 0x03,                         //   1 msg_type = MsgAppend (3)
        0x10, 0x04,                         //   2 to = 4
        0x18, 0x02,                         //   3 from = 2
        0x20, 0x06,                         //   4 term = 6
        0x28, 0x05,                         //   5 log_term = 5
        0x30, 0x07,                         //   6 index = 7
        0x3A, 0x07,                         //   7 entries[0], 7 bytes (entry_type 0 omitted):
        0x10, 0x06, 0x18, 0x08,             //     2 term = 6, 3 index = 8
        0x22, 0x01, b'a',                   //     4 data = "a"
        0x3A, 0x06,                         //   7 entries[1], 6 bytes (data omitted):
        0x08, 0x01, 0x10, 0x06, 0x18, 0x09, //     1 entry_type = ConfChange, term 6, index 9
        0x40, 0x07,                         //   8 commit = 7
        0x4A, 0x0F,                         //   9 snapshot, 15 bytes:
        0x0A, 0x01, b's',                   //     1 data = "s"
        0x12, 0x0A,                         //     2 metadata, 10 bytes:
        0x0A, 0x04, 0x0A, 0x02, 0x01, 0x02, //       1 conf_state {1 nodes = packed [1, 2]}
        0x10, 0x05, 0x18, 0x05,             //       2 index = 5, 3 term = 5
        0x2A, 0x04, 0x08, 0x01, 0x10, 0x02, // 5 region_epoch {1 conf_ver = 1, 2 version = 2}
    ];
    check(&msg, expected);
}

#[test]
fn raft_cmd_request_with_admin_split() {
    let req = RaftCmdRequest {
        header: Some(RaftRequestHeader {
            region_id: 1,
            peer: Some(Peer { id: 2, store_id: 3 }),
            region_epoch: Some(RegionEpoch {
                conf_ver: 1,
                version: 2,
            }),
            term: 0,
        }),
        requests: vec![],
        admin_request: Some(AdminRequest {
            cmd_type: AdminCmdType::Split as i32,
            split: Some(SplitRequest {
                split_key: b"k".to_vec(),
                new_region_id: 7,
                new_peer_ids: vec![8, 9, 300],
            }),
            ..Default::default()
        }),
    };
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0x0A, 0x0E,                         // 1 header, 14 bytes:
        0x08, 0x01,                         //   1 region_id = 1
        0x12, 0x04, 0x08, 0x02, 0x10, 0x03, //   2 peer {id 2, store 3}
        0x22, 0x04, 0x08, 0x01, 0x10, 0x02, //   4 region_epoch {conf_ver 1, version 2} (3 unused)
        0x1A, 0x0F,                         // 3 admin_request, 15 bytes:
        0x08, 0x0A,                         //   1 cmd_type = Split (10)
        0x52, 0x0B,                         //   10 split (tag 10<<3|2 = 0x52), 11 bytes:
        0x0A, 0x01, b'k',                   //     1 split_key = "k"
        0x10, 0x07,                         //     2 new_region_id = 7
        0x1A, 0x04, 0x08, 0x09, 0xAC, 0x02, //     3 new_peer_ids = packed [8, 9, 300 (0xAC 0x02)]
    ];
    check(&req, expected);
}

#[test]
fn region_heartbeat_request() {
    let req = RegionHeartbeatRequest {
        header: Some(RequestHeader { cluster_id: 1 }),
        region: Some(Region {
            id: 1,
            start_key: b"a".to_vec(),
            end_key: b"b".to_vec(),
            region_epoch: Some(RegionEpoch {
                conf_ver: 1,
                version: 2,
            }),
            peers: vec![Peer { id: 1, store_id: 1 }, Peer { id: 2, store_id: 2 }],
        }),
        leader: Some(Peer { id: 1, store_id: 1 }),
        pending_peers: vec![Peer { id: 2, store_id: 2 }],
        approximate_size: 200,
    };
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0x0A, 0x02, 0x08, 0x01,             // 1 header {1 cluster_id = 1}
        0x12, 0x1A,                         // 2 region, 26 bytes:
        0x08, 0x01,                         //   1 id = 1
        0x12, 0x01, b'a',                   //   2 start_key = "a"
        0x1A, 0x01, b'b',                   //   3 end_key = "b"
        0x22, 0x04, 0x08, 0x01, 0x10, 0x02, //   4 region_epoch {conf_ver 1, version 2}
        0x2A, 0x04, 0x08, 0x01, 0x10, 0x01, //   5 peers[0] {id 1, store 1}
        0x2A, 0x04, 0x08, 0x02, 0x10, 0x02, //   5 peers[1] {id 2, store 2}
        0x1A, 0x04, 0x08, 0x01, 0x10, 0x01, // 3 leader {id 1, store 1}
        0x2A, 0x04, 0x08, 0x02, 0x10, 0x02, // 5 pending_peers[0] (4 unused)
        0x50, 0xC8, 0x01,                   // 10 approximate_size = 200 (tag 10<<3 = 0x50)
    ];
    check(&req, expected);
}

#[test]
fn grpc_method_paths() {
    // The service and package names make the paths Go clients call.
    let client_src = [
        "/tinykvpb.TinyKv/RawGet",
        "/tinykvpb.TinyKv/Raft",
        "/schedulerpb.Scheduler/RegionHeartbeat",
        "/schedulerpb.Scheduler/AskSplit",
    ];
    let generated = concat!(
        include_str!(concat!(env!("OUT_DIR"), "/tinykvpb.rs")),
        include_str!(concat!(env!("OUT_DIR"), "/schedulerpb.rs"))
    );
    for path in client_src {
        assert!(generated.contains(path), "generated code lacks {}", path);
    }
}
