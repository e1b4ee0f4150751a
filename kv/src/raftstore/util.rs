//! Checks and errors shared by the raftstore: key ranges, region epochs,
//! and the conversion of raftstore errors into `errorpb::Error`.

use std::fmt::{self, Write as _};

use proto::eraftpb::{ConfState, Message, MessageType};
use proto::errorpb;
use proto::metapb::{Peer, Region, RegionEpoch};
use proto::raft_cmdpb::{AdminCmdType, RaftCmdRequest};
use thiserror::Error;

use crate::raftstore::meta::RAFT_INIT_LOG_TERM;

pub const RAFT_INVALID_INDEX: u64 = 0;
pub const INVALID_ID: u64 = 0;

/// Why the raftstore refused or failed a request. Each variant maps onto
/// one field of `errorpb::Error`; everything else becomes `Other`, whose
/// text goes to `errorpb::Error::message`.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RaftstoreError {
    #[error("region {region_id} is not leader")]
    NotLeader {
        region_id: u64,
        leader: Option<Peer>,
    },
    #[error("region {0} is not found")]
    RegionNotFound(u64),
    #[error("key {} is not in region {}", BytesText(key), RegionText(region))]
    KeyNotInRegion { key: Vec<u8>, region: Box<Region> },
    #[error(
        "epoch not match, error msg {message}, regions {}",
        RegionsText(regions)
    )]
    EpochNotMatch {
        message: String,
        regions: Vec<Region>,
    },
    #[error("stale command")]
    StaleCommand,
    #[error("store not match, request store id is {request_store_id}, but actual store id is {actual_store_id}")]
    StoreNotMatch {
        request_store_id: u64,
        actual_store_id: u64,
    },
    /// Raft refused the proposal (dropped: not leader, a transfer under
    /// way, a conf change pending, ...).
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, RaftstoreError>;

impl RaftstoreError {
    pub fn other(msg: impl Into<String>) -> Self {
        RaftstoreError::Other(msg.into())
    }
}

/// Bytes as a protobuf text string: quoted, printable ASCII as is, the
/// rest escaped (`"1 00000012"`, `"\001"`).
pub struct BytesText<'a>(pub &'a [u8]);

impl fmt::Display for BytesText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        let mut rest = self.0;
        while !rest.is_empty() {
            let plain = rest
                .iter()
                .position(|&b| !(0x20..=0x7e).contains(&b) || b == b'"' || b == b'\\')
                .unwrap_or(rest.len());
            // Printable ASCII is valid UTF-8.
            f.write_str(std::str::from_utf8(&rest[..plain]).map_err(|_| fmt::Error)?)?;
            let Some((&b, tail)) = rest[plain..].split_first() else {
                break;
            };
            match b {
                b'"' => f.write_str("\\\"")?,
                b'\\' => f.write_str("\\\\")?,
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                b'\t' => f.write_str("\\t")?,
                _ => write!(f, "\\{b:03o}")?,
            }
            rest = tail;
        }
        f.write_char('"')
    }
}

/// A region in the compact protobuf text Go's errors print it in
/// (`id:5 start_key:"1 00000012" region_epoch:<conf_ver:1 version:7 >
/// peers:<id:6 store_id:1 > `): fields at their default are left out.
/// Much cheaper to write than `Debug`, which lists a key byte by byte; a
/// client refused for a stale epoch gets one in its error's message.
pub struct RegionText<'a>(pub &'a Region);

impl fmt::Display for RegionText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Field by field, not through `write!`: a stale client can be
        // refused thousands of times a second, each with this text.
        fn num(f: &mut fmt::Formatter<'_>, name: &str, n: u64) -> fmt::Result {
            if n == 0 {
                return Ok(());
            }
            f.write_str(name)?;
            fmt::Display::fmt(&n, f)?;
            f.write_char(' ')
        }
        fn bytes(f: &mut fmt::Formatter<'_>, name: &str, b: &[u8]) -> fmt::Result {
            if b.is_empty() {
                return Ok(());
            }
            f.write_str(name)?;
            BytesText(b).fmt(f)?;
            f.write_char(' ')
        }
        let r = self.0;
        num(f, "id:", r.id)?;
        bytes(f, "start_key:", &r.start_key)?;
        bytes(f, "end_key:", &r.end_key)?;
        if let Some(e) = &r.region_epoch {
            f.write_str("region_epoch:<")?;
            num(f, "conf_ver:", e.conf_ver)?;
            num(f, "version:", e.version)?;
            f.write_str("> ")?;
        }
        for p in &r.peers {
            f.write_str("peers:<")?;
            num(f, "id:", p.id)?;
            num(f, "store_id:", p.store_id)?;
            f.write_str("> ")?;
        }
        Ok(())
    }
}

/// Regions as Go prints a slice of them: `[` each [`RegionText`] `]`,
/// space-separated.
pub struct RegionsText<'a>(pub &'a [Region]);

impl fmt::Display for RegionsText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('[')?;
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            RegionText(r).fmt(f)?;
        }
        f.write_char(']')
    }
}

/// The `errorpb::Error` a client sees for `e` (Go's `RaftstoreErrToPbError`).
pub fn raftstore_err_to_pb_error(e: &RaftstoreError) -> errorpb::Error {
    errorpb::Error::from(e)
}

/// Every error carries its text in `message` (as Go's conversion does),
/// and the typed field a client can act on, if there is one.
impl From<&RaftstoreError> for errorpb::Error {
    fn from(e: &RaftstoreError) -> Self {
        // Room for a message with a region or two, grown once if at all.
        let mut message = String::with_capacity(256);
        write!(message, "{e}").expect("a String takes any text");
        let mut ret = errorpb::Error {
            message,
            ..Default::default()
        };
        match e {
            RaftstoreError::NotLeader { region_id, leader } => {
                ret.not_leader = Some(errorpb::NotLeader {
                    region_id: *region_id,
                    leader: *leader,
                })
            }
            RaftstoreError::RegionNotFound(region_id) => {
                ret.region_not_found = Some(errorpb::RegionNotFound {
                    region_id: *region_id,
                })
            }
            RaftstoreError::KeyNotInRegion { key, region } => {
                ret.key_not_in_region = Some(errorpb::KeyNotInRegion {
                    key: key.clone(),
                    region_id: region.id,
                    start_key: region.start_key.clone(),
                    end_key: region.end_key.clone(),
                })
            }
            RaftstoreError::EpochNotMatch { regions, .. } => {
                ret.epoch_not_match = Some(errorpb::EpochNotMatch {
                    current_regions: regions.clone(),
                })
            }
            RaftstoreError::StaleCommand => ret.stale_command = Some(errorpb::StaleCommand {}),
            RaftstoreError::StoreNotMatch {
                request_store_id,
                actual_store_id,
            } => {
                ret.store_not_match = Some(errorpb::StoreNotMatch {
                    request_store_id: *request_store_id,
                    actual_store_id: *actual_store_id,
                })
            }
            RaftstoreError::Raft(_) | RaftstoreError::Other(_) => {}
        }
        ret
    }
}

/// The snapshot a raft message carries, if it is a MsgSnapshot: such a
/// message must travel with the snapshot's files.
pub fn snapshot_of(msg: &proto::raft_serverpb::RaftMessage) -> Option<&proto::eraftpb::Snapshot> {
    msg.message
        .as_ref()
        .filter(|m| m.msg_type() == proto::eraftpb::MessageType::MsgSnapshot)
        .and_then(|m| m.snapshot.as_ref())
}

/// A message that may create a peer on a store that has none for the
/// region: a vote or pre-vote, or a heartbeat from a leader that knows
/// nothing of it yet (commit 0).
pub fn is_initial_msg(msg: &Message) -> bool {
    let t = msg.msg_type();
    is_vote_message(msg) || (t == MessageType::MsgHeartbeat && msg.commit == RAFT_INVALID_INDEX)
}

/// `key` in `[start, end)`; an empty end is unbounded.
pub fn check_key_in_region(key: &[u8], region: &Region) -> Result<()> {
    let below_end = region.end_key.is_empty() || key < region.end_key.as_slice();
    key_in_region_if(key >= region.start_key.as_slice() && below_end, key, region)
}

/// `key` in `(start, end)`.
pub fn check_key_in_region_exclusive(key: &[u8], region: &Region) -> Result<()> {
    let below_end = region.end_key.is_empty() || key < region.end_key.as_slice();
    key_in_region_if(region.start_key.as_slice() < key && below_end, key, region)
}

/// `key` in `[start, end]`.
pub fn check_key_in_region_inclusive(key: &[u8], region: &Region) -> Result<()> {
    let up_to_end = region.end_key.is_empty() || key <= region.end_key.as_slice();
    key_in_region_if(key >= region.start_key.as_slice() && up_to_end, key, region)
}

/// `Ok` if `inside`, else the KeyNotInRegion error for `key`.
fn key_in_region_if(inside: bool, key: &[u8], region: &Region) -> Result<()> {
    if inside {
        return Ok(());
    }
    Err(RaftstoreError::KeyNotInRegion {
        key: key.to_vec(),
        region: Box::new(region.clone()),
    })
}

/// True if `epoch` is older than `check_epoch` in either dimension.
pub fn is_epoch_stale(epoch: &RegionEpoch, check_epoch: &RegionEpoch) -> bool {
    epoch.version < check_epoch.version || epoch.conf_ver < check_epoch.conf_ver
}

/// A request for a vote, or for a pre-vote.
pub fn is_vote_message(msg: &Message) -> bool {
    matches!(
        msg.msg_type(),
        MessageType::MsgRequestVote | MessageType::MsgRequestPreVote
    )
}

/// A message from a peer outside the region that is answered with a
/// tombstone: a removed peer's vote request (it campaigns because it never
/// learned of its removal) or its heartbeat (it was leader when removed and
/// has not left yet). Anything else it sends is dropped.
pub fn earns_gc_answer(msg: &Message) -> bool {
    is_vote_message(msg) || msg.msg_type() == MessageType::MsgHeartbeat
}

/// Whether a message's `commit` is a commit index its sender holds: a
/// leader's append (its own) or heartbeat (capped at what the receiver
/// matches), and a follower's answer to a heartbeat.
pub fn shows_commit(msg_type: MessageType) -> bool {
    matches!(
        msg_type,
        MessageType::MsgAppend | MessageType::MsgHeartbeat | MessageType::MsgHeartbeatResponse
    )
}

/// The first election of a freshly split region happens at term 6.
pub fn is_first_vote_message(msg: &Message) -> bool {
    is_vote_message(msg) && msg.term == RAFT_INIT_LOG_TERM + 1
}

/// Checks the request's epoch against `region`: plain requests need the
/// same version, ChangePeer the same conf_ver, Split and TransferLeader
/// both; CompactLog nothing. With `include_region` the error carries the
/// current region so the client can refresh its view.
pub fn check_region_epoch(
    req: &RaftCmdRequest,
    region: &Region,
    include_region: bool,
) -> Result<()> {
    let (check_ver, check_conf_ver) = match &req.admin_request {
        None => (true, false),
        Some(admin) => match admin.cmd_type() {
            AdminCmdType::CompactLog | AdminCmdType::InvalidAdmin => (false, false),
            AdminCmdType::ChangePeer => (false, true),
            AdminCmdType::Split | AdminCmdType::TransferLeader => (true, true),
        },
    };
    if !check_ver && !check_conf_ver {
        return Ok(());
    }
    let header = req
        .header
        .as_ref()
        .ok_or_else(|| RaftstoreError::other("missing header!"))?;
    let from = header
        .region_epoch
        .as_ref()
        .ok_or_else(|| RaftstoreError::other("missing epoch!"))?;
    let current = region.region_epoch.unwrap_or_default();
    if (check_conf_ver && from.conf_ver != current.conf_ver)
        || (check_ver && from.version != current.version)
    {
        tracing::debug!(region_id = region.id, ?from, ?current, "epoch not match");
        let regions = if include_region {
            vec![region.clone()]
        } else {
            vec![]
        };
        return Err(RaftstoreError::EpochNotMatch {
            message: format!(
                "current epoch of region {} is {:?}, but you sent {:?}",
                region.id, current, from
            ),
            regions,
        });
    }
    Ok(())
}

pub fn find_peer(region: &Region, store_id: u64) -> Option<&Peer> {
    region.peers.iter().find(|p| p.store_id == store_id)
}

/// Removes and returns the peer of `region` on `store_id`.
pub fn remove_peer(region: &mut Region, store_id: u64) -> Option<Peer> {
    let i = region.peers.iter().position(|p| p.store_id == store_id)?;
    Some(region.peers.remove(i))
}

pub fn conf_state_from_region(region: &Region) -> ConfState {
    ConfState {
        nodes: region.peers.iter().map(|p| p.id).collect(),
    }
}

/// A command must address a peer on this store; the client learns from
/// `StoreNotMatch` that its cached leader or region is out of date.
pub fn check_store_id(req: &RaftCmdRequest, store_id: u64) -> Result<()> {
    let request_store_id = req
        .header
        .as_ref()
        .and_then(|h| h.peer.as_ref())
        .map_or(0, |p| p.store_id);
    if request_store_id == store_id {
        Ok(())
    } else {
        Err(RaftstoreError::StoreNotMatch {
            request_store_id,
            actual_store_id: store_id,
        })
    }
}

/// A request stamped with a term more than one behind ours is stale.
pub fn check_term(req: &RaftCmdRequest, term: u64) -> Result<()> {
    let header_term = req.header.as_ref().map_or(0, |h| h.term);
    if header_term == 0 || term <= header_term + 1 {
        Ok(())
    } else {
        Err(RaftstoreError::StaleCommand)
    }
}

pub fn check_peer_id(req: &RaftCmdRequest, peer_id: u64) -> Result<()> {
    let peer = req
        .header
        .as_ref()
        .and_then(|h| h.peer.as_ref())
        .cloned()
        .unwrap_or_default();
    if peer.id == peer_id {
        Ok(())
    } else {
        Err(RaftstoreError::other(format!(
            "mismatch peer id {} != {}",
            peer.id, peer_id
        )))
    }
}

pub fn peer_equal(l: &Peer, r: &Peer) -> bool {
    l.id == r.id && l.store_id == r.store_id
}

/// Same id and same epoch.
pub fn region_equal(l: &Region, r: &Region) -> bool {
    let (le, re) = (
        l.region_epoch.unwrap_or_default(),
        r.region_epoch.unwrap_or_default(),
    );
    l.id == r.id && le.version == re.version && le.conf_ver == re.conf_ver
}

/// Two fresh engines in a new temporary directory, with small test
/// tuning; remove them with [`Engines::destroy`](crate::util::engine_util::Engines::destroy).
pub fn new_test_engines() -> crate::util::engine_util::Engines {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tinykv-test-engines-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let opts = crate::util::engine_util::EngineOptions::small();
    crate::util::engine_util::Engines::open(
        dir.join("kv").to_string_lossy().into_owned(),
        dir.join("raft").to_string_lossy().into_owned(),
        &opts,
    )
    .expect("open test engines")
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use proto::eraftpb::Message;
    use proto::raft_cmdpb::{AdminRequest, RaftRequestHeader};

    use super::*;

    #[test]
    fn TestCheckKeyInRegion() {
        // (key, start, end, in [start,end), in [start,end], in (start,end))
        type Case<'a> = (&'a [u8], &'a [u8], &'a [u8], bool, bool, bool);
        let cases: &[Case] = &[
            (&[], &[], &[], true, true, false),
            (&[], &[], &[6], true, true, false),
            (&[], &[3], &[6], false, false, false),
            (&[4], &[3], &[6], true, true, true),
            (&[4], &[3], &[], true, true, true),
            (&[3], &[3], &[], true, true, false),
            (&[2], &[3], &[6], false, false, false),
            (&[], &[3], &[6], false, false, false),
            (&[], &[3], &[], false, false, false),
            (&[6], &[3], &[6], false, true, false),
        ];
        for &(key, start, end, in_region, inclusive, exclusive) in cases {
            let region = Region {
                start_key: start.to_vec(),
                end_key: end.to_vec(),
                ..Default::default()
            };
            assert_eq!(in_region, check_key_in_region(key, &region).is_ok());
            assert_eq!(
                inclusive,
                check_key_in_region_inclusive(key, &region).is_ok()
            );
            assert_eq!(
                exclusive,
                check_key_in_region_exclusive(key, &region).is_ok()
            );
        }
    }

    #[test]
    fn TestIsInitialMsg() {
        let cases = [
            (MessageType::MsgRequestVote, RAFT_INVALID_INDEX, true),
            (MessageType::MsgHeartbeat, RAFT_INVALID_INDEX, true),
            (MessageType::MsgHeartbeat, 100, false),
            (MessageType::MsgAppend, 100, false),
        ];
        for (t, commit, want) in cases {
            let msg = Message {
                msg_type: t as i32,
                commit,
                ..Default::default()
            };
            assert_eq!(want, is_initial_msg(&msg));
        }
    }

    #[test]
    fn pre_votes_count_as_votes() {
        for (t, vote) in [
            (MessageType::MsgRequestPreVote, true),
            (MessageType::MsgRequestVote, true),
            (MessageType::MsgRequestPreVoteResponse, false),
            (MessageType::MsgRequestVoteResponse, false),
        ] {
            let msg = Message {
                msg_type: t as i32,
                term: RAFT_INIT_LOG_TERM + 1,
                commit: 100,
                ..Default::default()
            };
            assert_eq!(vote, is_vote_message(&msg), "{t:?}");
            assert_eq!(vote, is_initial_msg(&msg), "{t:?}");
            assert_eq!(vote, is_first_vote_message(&msg), "{t:?}");
        }
    }

    #[test]
    fn TestEpochStale() {
        let epoch = RegionEpoch {
            version: 10,
            conf_ver: 10,
        };
        let cases = [
            (11, 10, true),
            (10, 11, true),
            (10, 10, false),
            (10, 9, false),
        ];
        for (version, conf_ver, stale) in cases {
            let check = RegionEpoch { version, conf_ver };
            assert_eq!(stale, is_epoch_stale(&epoch, &check));
        }
    }

    fn admin_req(t: AdminCmdType) -> RaftCmdRequest {
        RaftCmdRequest {
            admin_request: Some(AdminRequest {
                cmd_type: t as i32,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn TestCheckRegionEpoch() {
        let epoch = RegionEpoch {
            conf_ver: 2,
            version: 2,
        };
        let region = Region {
            region_epoch: Some(epoch),
            ..Default::default()
        };

        // Most requests need an epoch, even an empty one.
        let empty = RaftCmdRequest::default();
        assert!(check_region_epoch(&empty, &region, false).is_err());

        // These admin commands do not need one.
        for t in [AdminCmdType::CompactLog, AdminCmdType::InvalidAdmin] {
            let mut req = admin_req(t);
            assert!(check_region_epoch(&req, &region, false).is_ok());
            req.header = Some(RaftRequestHeader {
                region_epoch: Some(epoch),
                ..Default::default()
            });
            assert!(check_region_epoch(&req, &region, true).is_ok());
            assert!(check_region_epoch(&req, &region, false).is_ok());
        }

        // These need epoch.version.
        for t in [AdminCmdType::Split, AdminCmdType::TransferLeader] {
            let mut req = admin_req(t);
            assert!(check_region_epoch(&req, &region, false).is_err());
            let stale = RegionEpoch {
                version: 1,
                ..epoch
            };
            let stale_region = Region {
                region_epoch: Some(stale),
                ..Default::default()
            };
            req.header = Some(RaftRequestHeader {
                region_epoch: Some(stale),
                ..Default::default()
            });
            assert!(check_region_epoch(&req, &stale_region, false).is_ok());
            let latest = RegionEpoch {
                version: 3,
                ..epoch
            };
            for e in [stale, latest] {
                req.header.as_mut().unwrap().region_epoch = Some(e);
                assert!(check_region_epoch(&req, &region, false).is_err());
                assert!(check_region_epoch(&req, &region, true).is_err());
            }
        }

        // These need epoch.conf_ver.
        for t in [
            AdminCmdType::Split,
            AdminCmdType::ChangePeer,
            AdminCmdType::TransferLeader,
        ] {
            let mut req = admin_req(t);
            req.header = Some(RaftRequestHeader::default());
            assert!(check_region_epoch(&req, &region, false).is_err());
            let stale = RegionEpoch {
                conf_ver: 1,
                ..epoch
            };
            let stale_region = Region {
                region_epoch: Some(stale),
                ..Default::default()
            };
            req.header.as_mut().unwrap().region_epoch = Some(stale);
            assert!(check_region_epoch(&req, &stale_region, false).is_ok());
            let latest = RegionEpoch {
                conf_ver: 3,
                ..epoch
            };
            for e in [stale, latest] {
                req.header.as_mut().unwrap().region_epoch = Some(e);
                assert!(check_region_epoch(&req, &region, false).is_err());
                assert!(check_region_epoch(&req, &region, true).is_err());
            }
        }
    }

    // Not a Go test: a request for a peer on another store is refused with
    // the typed error, which reaches the client as errorpb StoreNotMatch.
    #[test]
    fn test_check_store_id_refuses_another_store() {
        let req = |store_id| RaftCmdRequest {
            header: Some(RaftRequestHeader {
                peer: Some(Peer { id: 3, store_id }),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(check_store_id(&req(1), 1), Ok(()));
        let err = check_store_id(&req(2), 1).unwrap_err();
        assert_eq!(
            err,
            RaftstoreError::StoreNotMatch {
                request_store_id: 2,
                actual_store_id: 1,
            }
        );
        let pb = raftstore_err_to_pb_error(&err).store_not_match.unwrap();
        assert_eq!((pb.request_store_id, pb.actual_store_id), (2, 1));
        // No peer in the header: store 0, which is nobody's.
        let err = check_store_id(&RaftCmdRequest::default(), 1).unwrap_err();
        assert!(matches!(
            err,
            RaftstoreError::StoreNotMatch {
                request_store_id: 0,
                ..
            }
        ));
    }

    #[test]
    fn TestRaftstoreErrToPbError() {
        let region_id = 1;
        let pb = raftstore_err_to_pb_error(&RaftstoreError::NotLeader {
            region_id,
            leader: None,
        });
        assert_eq!(region_id, pb.not_leader.unwrap().region_id);

        let pb = raftstore_err_to_pb_error(&RaftstoreError::RegionNotFound(region_id));
        assert_eq!(region_id, pb.region_not_found.unwrap().region_id);

        let region = Region {
            id: region_id,
            start_key: vec![0],
            end_key: vec![1],
            ..Default::default()
        };
        let pb = raftstore_err_to_pb_error(&RaftstoreError::KeyNotInRegion {
            key: vec![2],
            region: Box::new(region.clone()),
        });
        let k = pb.key_not_in_region.unwrap();
        assert_eq!(vec![0], k.start_key);
        assert_eq!(vec![1], k.end_key);
        assert_eq!(vec![2], k.key);

        let pb = raftstore_err_to_pb_error(&RaftstoreError::EpochNotMatch {
            message: String::new(),
            regions: vec![region.clone()],
        });
        assert_eq!(vec![region], pb.epoch_not_match.unwrap().current_regions);

        let pb = raftstore_err_to_pb_error(&RaftstoreError::StaleCommand);
        assert!(pb.stale_command.is_some());

        let pb = raftstore_err_to_pb_error(&RaftstoreError::StoreNotMatch {
            request_store_id: 1,
            actual_store_id: 2,
        });
        let s = pb.store_not_match.unwrap();
        assert_eq!(1, s.request_store_id);
        assert_eq!(2, s.actual_store_id);
    }

    #[test]
    fn every_error_carries_its_text() {
        let errors = [
            RaftstoreError::NotLeader {
                region_id: 1,
                leader: None,
            },
            RaftstoreError::RegionNotFound(1),
            RaftstoreError::KeyNotInRegion {
                key: vec![9],
                region: Box::default(),
            },
            RaftstoreError::EpochNotMatch {
                message: "current epoch of region 1 is newer".into(),
                regions: vec![],
            },
            RaftstoreError::StaleCommand,
            RaftstoreError::StoreNotMatch {
                request_store_id: 1,
                actual_store_id: 2,
            },
            RaftstoreError::Raft(raft::Error::ProposalDropped),
            RaftstoreError::other("something else"),
        ];
        for e in &errors {
            let pb = errorpb::Error::from(e);
            assert_eq!(pb.message, e.to_string());
            assert!(!pb.message.is_empty(), "{e:?}");
        }
        let epoch = raftstore_err_to_pb_error(&errors[3]);
        assert!(epoch.message.contains("is newer"), "{}", epoch.message);
    }

    #[test]
    fn errors_print_regions_and_keys_as_compact_protobuf_text() {
        let region = Region {
            id: 5,
            start_key: b"1 00000012".to_vec(),
            end_key: vec![],
            region_epoch: Some(RegionEpoch {
                conf_ver: 1,
                version: 7,
            }),
            peers: vec![Peer { id: 6, store_id: 1 }, Peer { id: 9, store_id: 0 }],
        };
        let e = RaftstoreError::EpochNotMatch {
            message: "stale".into(),
            regions: vec![region.clone(), Region::default()],
        };
        assert_eq!(
            e.to_string(),
            "epoch not match, error msg stale, regions [id:5 start_key:\"1 00000012\" \
             region_epoch:<conf_ver:1 version:7 > peers:<id:6 store_id:1 > peers:<id:9 >  ]"
        );
        let e = RaftstoreError::KeyNotInRegion {
            key: b"a\"b\\c\n\x01\xff".to_vec(),
            region: Box::new(Region {
                id: 2,
                ..Default::default()
            }),
        };
        assert_eq!(
            e.to_string(),
            r#"key "a\"b\\c\n\001\377" is not in region id:2 "#
        );
    }
}
