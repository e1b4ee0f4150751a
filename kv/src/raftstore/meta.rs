//! Local keys and the persistent per-region states (TinyKV's
//! `raftstore/meta`: `keys.go` and `values.go`).
//!
//! Every key here is a *local* key: it starts with [`LOCAL_PREFIX`] and is
//! stored in [`CF_RAFT`](crate::util::engine_util::CF_RAFT) of its engine
//! (the `*_meta` helpers of `engine_util` put it there). The bytes are
//! TinyKV's; region ids and log indexes are 8-byte big-endian.
//!
//! | key | bytes | engine | value |
//! |---|---|---|---|
//! | [`raft_log_key`] | `01 02 <region> 01 <index>` | raft | `eraftpb::Entry` |
//! | [`raft_state_key`] | `01 02 <region> 02` | raft | `RaftLocalState` |
//! | [`apply_state_key`] | `01 02 <region> 03` | kv | `RaftApplyState` |
//! | [`region_state_key`] | `01 03 <region> 01` | kv | `RegionLocalState` |
//! | [`snapshot_apply_key`] | `01 03 <region> 02` | kv | `eraftpb::SnapshotMetadata` (ours, not TinyKV's) |
//! | [`PREPARE_BOOTSTRAP_KEY`] | `01 01` | kv | `RegionLocalState` |
//! | [`STORE_IDENT_KEY`] | `01 02` | kv | `StoreIdent` |

use proto::eraftpb::{Entry, HardState};
use proto::metapb::Region;
use proto::raft_serverpb::{
    PeerState, RaftApplyState, RaftLocalState, RaftTruncatedState, RegionLocalState,
};

use crate::util::engine_util::{self, EngineError, WriteBatch, DB};

/// First byte of every local key; local keys sort in `[0x01, 0x02)`.
pub const LOCAL_PREFIX: u8 = 0x01;

/// Second byte of raft-side region keys (raft log, raft state, apply state).
pub const REGION_RAFT_PREFIX: u8 = 0x02;
/// Second byte of region meta keys (region state). Kept apart from the raft
/// keys so that a restart can scan every region's meta without walking logs.
pub const REGION_META_PREFIX: u8 = 0x03;
/// Length of `prefix + region id + suffix`.
pub const REGION_RAFT_PREFIX_LEN: usize = 11;
/// Length of `prefix + region id + suffix + log index`.
pub const REGION_RAFT_LOG_LEN: usize = 19;

/// Suffixes after a region-raft prefix.
pub const RAFT_LOG_SUFFIX: u8 = 0x01;
pub const RAFT_STATE_SUFFIX: u8 = 0x02;
pub const APPLY_STATE_SUFFIX: u8 = 0x03;

/// Suffixes after a region-meta prefix.
pub const REGION_STATE_SUFFIX: u8 = 0x01;
/// Not in TinyKV (whose `PeerState` has no `Applying`): present while a
/// received snapshot's states are written but its data is not laid down.
pub const SNAPSHOT_APPLY_SUFFIX: u8 = 0x02;

pub const MIN_KEY: &[u8] = &[];
pub const MAX_KEY: &[u8] = &[0xFF];
pub const LOCAL_MIN_KEY: &[u8] = &[LOCAL_PREFIX];
pub const LOCAL_MAX_KEY: &[u8] = &[LOCAL_PREFIX + 1];
pub const REGION_META_MIN_KEY: &[u8] = &[LOCAL_PREFIX, REGION_META_PREFIX];
pub const REGION_META_MAX_KEY: &[u8] = &[LOCAL_PREFIX, REGION_META_PREFIX + 1];

/// Marks a store whose first region was prepared but whose bootstrap was not
/// confirmed by the scheduler yet (kv engine; value `RegionLocalState`).
pub const PREPARE_BOOTSTRAP_KEY: &[u8] = &[LOCAL_PREFIX, 0x01];
/// The store's identity (kv engine; value `StoreIdent`).
pub const STORE_IDENT_KEY: &[u8] = &[LOCAL_PREFIX, 0x02];

/// A region peer is created with its log at term/index 5 (both > 0) so that
/// a follower created by a message always starts behind and receives a
/// snapshot first.
pub const RAFT_INIT_LOG_TERM: u64 = 5;
pub const RAFT_INIT_LOG_INDEX: u64 = 5;

fn region_prefix(prefix: u8, region_id: u64, capacity: usize) -> Vec<u8> {
    let mut key = Vec::with_capacity(capacity);
    key.push(LOCAL_PREFIX);
    key.push(prefix);
    key.extend_from_slice(&region_id.to_be_bytes());
    key
}

fn make_region_prefix(region_id: u64, suffix: u8) -> Vec<u8> {
    let mut key = region_prefix(REGION_RAFT_PREFIX, region_id, REGION_RAFT_PREFIX_LEN);
    key.push(suffix);
    key
}

fn make_region_key(region_id: u64, suffix: u8, sub_id: u64) -> Vec<u8> {
    let mut key = region_prefix(REGION_RAFT_PREFIX, region_id, REGION_RAFT_LOG_LEN);
    key.push(suffix);
    key.extend_from_slice(&sub_id.to_be_bytes());
    key
}

/// `01 02 <region>`: the prefix of every raft-side key of a region.
pub fn region_raft_prefix_key(region_id: u64) -> Vec<u8> {
    region_prefix(REGION_RAFT_PREFIX, region_id, 10)
}

/// `01 02 <region> 01 <index>`: the raft log entry at `index`.
pub fn raft_log_key(region_id: u64, index: u64) -> Vec<u8> {
    make_region_key(region_id, RAFT_LOG_SUFFIX, index)
}

/// `01 02 <region> 02`: the region's `RaftLocalState`.
pub fn raft_state_key(region_id: u64) -> Vec<u8> {
    make_region_prefix(region_id, RAFT_STATE_SUFFIX)
}

/// `01 02 <region> 03`: the region's `RaftApplyState`.
pub fn apply_state_key(region_id: u64) -> Vec<u8> {
    make_region_prefix(region_id, APPLY_STATE_SUFFIX)
}

/// True for an 11-byte key under `01 02`: a raft state key, and (as in
/// TinyKV) an apply state key too.
pub fn is_raft_state_key(key: &[u8]) -> bool {
    key.len() == REGION_RAFT_PREFIX_LEN && key[0] == LOCAL_PREFIX && key[1] == REGION_RAFT_PREFIX
}

/// Splits a region meta key (`01 03 <region> <suffix>`) into region id and
/// suffix.
pub fn decode_region_meta_key(key: &[u8]) -> Result<(u64, u8), EngineError> {
    if key.len() != REGION_META_MIN_KEY.len() + 8 + 1 {
        return Err(EngineError::InvalidKey {
            key: key.to_vec(),
            reason: "region meta key must be 11 bytes",
        });
    }
    if !key.starts_with(REGION_META_MIN_KEY) {
        return Err(EngineError::InvalidKey {
            key: key.to_vec(),
            reason: "region meta key must start with 01 03",
        });
    }
    let id = u64::from_be_bytes(key[2..10].try_into().expect("8 bytes"));
    Ok((id, key[10]))
}

/// `01 03 <region>`: the prefix of every meta key of a region.
pub fn region_meta_prefix_key(region_id: u64) -> Vec<u8> {
    region_prefix(REGION_META_PREFIX, region_id, 10)
}

/// `01 03 <region> 01`: the region's `RegionLocalState`.
pub fn region_state_key(region_id: u64) -> Vec<u8> {
    let mut key = region_prefix(REGION_META_PREFIX, region_id, REGION_RAFT_PREFIX_LEN);
    key.push(REGION_STATE_SUFFIX);
    key
}

/// Marks a snapshot of the region whose data is still being applied; the
/// value is the snapshot's metadata (which names its file).
pub fn snapshot_apply_key(region_id: u64) -> Vec<u8> {
    let mut key = region_prefix(REGION_META_PREFIX, region_id, REGION_RAFT_PREFIX_LEN);
    key.push(SNAPSHOT_APPLY_SUFFIX);
    key
}

/// The log index in a key made by [`raft_log_key`].
pub fn raft_log_index(key: &[u8]) -> Result<u64, EngineError> {
    if key.len() != REGION_RAFT_LOG_LEN {
        return Err(EngineError::InvalidKey {
            key: key.to_vec(),
            reason: "raft log key must be 19 bytes",
        });
    }
    Ok(u64::from_be_bytes(
        key[REGION_RAFT_LOG_LEN - 8..].try_into().expect("8 bytes"),
    ))
}

/// The region's `RegionLocalState` from the kv engine; `None` if absent.
pub fn get_region_local_state(
    db: &DB,
    region_id: u64,
) -> Result<Option<RegionLocalState>, EngineError> {
    engine_util::get_meta(db, &region_state_key(region_id))
}

/// The region's `RaftLocalState` from the raft engine; `None` if absent.
pub fn get_raft_local_state(
    db: &DB,
    region_id: u64,
) -> Result<Option<RaftLocalState>, EngineError> {
    engine_util::get_meta(db, &raft_state_key(region_id))
}

/// The region's `RaftApplyState` from the kv engine; `None` if absent.
pub fn get_apply_state(db: &DB, region_id: u64) -> Result<Option<RaftApplyState>, EngineError> {
    engine_util::get_meta(db, &apply_state_key(region_id))
}

/// The raft log entry at `idx` from the raft engine; `None` if absent.
pub fn get_raft_entry(db: &DB, region_id: u64, idx: u64) -> Result<Option<Entry>, EngineError> {
    engine_util::get_meta(db, &raft_log_key(region_id, idx))
}

/// The region's raft state, created if missing. A missing state of a region
/// that has peers (bootstrap or split) starts at term/index 5 and is
/// persisted; one of an uninitialized region (no peers yet, created by a
/// message) is all zero and not persisted.
pub fn init_raft_local_state(raft_db: &DB, region: &Region) -> Result<RaftLocalState, EngineError> {
    if let Some(state) = get_raft_local_state(raft_db, region.id)? {
        return Ok(state);
    }
    let mut state = RaftLocalState {
        hard_state: Some(HardState::default()),
        ..Default::default()
    };
    if !region.peers.is_empty() {
        state.last_index = RAFT_INIT_LOG_INDEX;
        state.last_term = RAFT_INIT_LOG_TERM;
        let hs = state.hard_state.as_mut().expect("just set");
        hs.term = RAFT_INIT_LOG_TERM;
        hs.commit = RAFT_INIT_LOG_INDEX;
        engine_util::put_meta(raft_db, &raft_state_key(region.id), &state)?;
    }
    Ok(state)
}

/// The region's apply state, created and persisted if missing: applied 5
/// and truncated at {5, 5} for a region with peers, all zero otherwise.
pub fn init_apply_state(kv_db: &DB, region: &Region) -> Result<RaftApplyState, EngineError> {
    if let Some(state) = get_apply_state(kv_db, region.id)? {
        return Ok(state);
    }
    let mut state = RaftApplyState {
        truncated_state: Some(RaftTruncatedState::default()),
        ..Default::default()
    };
    if !region.peers.is_empty() {
        state.applied_index = RAFT_INIT_LOG_INDEX;
        state.truncated_state = Some(RaftTruncatedState {
            index: RAFT_INIT_LOG_INDEX,
            term: RAFT_INIT_LOG_TERM,
        });
    }
    engine_util::put_meta(kv_db, &apply_state_key(region.id), &state)?;
    Ok(state)
}

/// Queues the region's `RegionLocalState { state, region }` in `kv_wb`.
pub fn write_region_state(kv_wb: &mut WriteBatch, region: &Region, state: PeerState) {
    let region_state = RegionLocalState {
        state: state as i32,
        region: Some(region.clone()),
    };
    kv_wb.set_meta(&region_state_key(region.id), &region_state);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proto::metapb::Peer;

    use super::*;
    use crate::util::engine_util::{create_db, EngineOptions};

    #[test]
    fn key_bytes_match_tinykv() {
        let id = 0x0102_0304_0506_0708u64;
        let rid = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let cat = |parts: &[&[u8]]| parts.concat();

        assert_eq!(
            raft_log_key(id, 0x1122),
            cat(&[&[1, 2], &rid, &[1], &[0, 0, 0, 0, 0, 0, 0x11, 0x22]])
        );
        assert_eq!(raft_log_key(id, 9).len(), REGION_RAFT_LOG_LEN);
        assert_eq!(raft_state_key(id), cat(&[&[1, 2], &rid, &[2]]));
        assert_eq!(apply_state_key(id), cat(&[&[1, 2], &rid, &[3]]));
        assert_eq!(region_state_key(id), cat(&[&[1, 3], &rid, &[1]]));
        assert_eq!(region_raft_prefix_key(id), cat(&[&[1, 2], &rid]));
        assert_eq!(region_meta_prefix_key(id), cat(&[&[1, 3], &rid]));
        assert_eq!(raft_state_key(1), vec![1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2]);

        assert_eq!(MIN_KEY, &[] as &[u8]);
        assert_eq!(MAX_KEY, &[0xFF]);
        assert_eq!((LOCAL_MIN_KEY, LOCAL_MAX_KEY), (&[1u8][..], &[2u8][..]));
        assert_eq!(
            (REGION_META_MIN_KEY, REGION_META_MAX_KEY),
            (&[1u8, 3][..], &[1u8, 4][..])
        );
        assert_eq!(
            (PREPARE_BOOTSTRAP_KEY, STORE_IDENT_KEY),
            (&[1u8, 1][..], &[1u8, 2][..])
        );
        assert_eq!((RAFT_INIT_LOG_TERM, RAFT_INIT_LOG_INDEX), (5, 5));
    }

    #[test]
    fn key_order_and_ranges() {
        // Log keys of one region sort by index and stay inside its prefix;
        // the region's state keys follow its log.
        let (a, b) = (raft_log_key(7, 255), raft_log_key(7, 256));
        assert!(a < b);
        assert!(b < raft_state_key(7) && raft_state_key(7) < apply_state_key(7));
        assert!(a.starts_with(&region_raft_prefix_key(7)));
        assert!(raft_log_key(7, u64::MAX) < raft_log_key(8, 0));
        for k in [region_state_key(1), region_state_key(u64::MAX)] {
            assert!(REGION_META_MIN_KEY <= k.as_slice() && k.as_slice() < REGION_META_MAX_KEY);
        }
        for k in [
            raft_log_key(1, 1),
            apply_state_key(3),
            region_state_key(2),
            STORE_IDENT_KEY.to_vec(),
        ] {
            assert!(LOCAL_MIN_KEY <= k.as_slice() && k.as_slice() < LOCAL_MAX_KEY);
        }
    }

    #[test]
    fn key_decoders() {
        assert_eq!(raft_log_index(&raft_log_key(3, 42)).unwrap(), 42);
        assert!(raft_log_index(&raft_state_key(3)).is_err());

        assert_eq!(
            decode_region_meta_key(&region_state_key(9)).unwrap(),
            (9, REGION_STATE_SUFFIX)
        );
        assert!(decode_region_meta_key(&region_meta_prefix_key(9)).is_err());
        assert!(decode_region_meta_key(&raft_state_key(9)).is_err());

        assert!(is_raft_state_key(&raft_state_key(1)));
        assert!(
            is_raft_state_key(&apply_state_key(1)),
            "TinyKV's check accepts apply state keys too"
        );
        assert!(!is_raft_state_key(&raft_log_key(1, 1)));
        assert!(!is_raft_state_key(&region_state_key(1)));
    }

    fn region(id: u64, peers: usize) -> Region {
        Region {
            id,
            peers: (0..peers as u64)
                .map(|i| Peer {
                    id: i + 1,
                    store_id: i + 1,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn init_states_and_region_state() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(create_db(dir.path(), &EngineOptions::small()).unwrap());

        // Uninitialized region: zero raft state, not persisted; zero apply
        // state, persisted.
        let r = region(1, 0);
        let rs = init_raft_local_state(&db, &r).unwrap();
        assert_eq!(
            rs,
            RaftLocalState {
                hard_state: Some(HardState::default()),
                ..Default::default()
            }
        );
        assert_eq!(get_raft_local_state(&db, 1).unwrap(), None);
        let ap = init_apply_state(&db, &r).unwrap();
        assert_eq!(
            ap,
            RaftApplyState {
                applied_index: 0,
                truncated_state: Some(RaftTruncatedState::default())
            }
        );
        assert_eq!(get_apply_state(&db, 1).unwrap(), Some(ap));

        // Region with peers: term/index 5, both persisted.
        let r = region(2, 3);
        let rs = init_raft_local_state(&db, &r).unwrap();
        assert_eq!((rs.last_index, rs.last_term), (5, 5));
        let hs = rs.hard_state.as_ref().unwrap();
        assert_eq!((hs.term, hs.commit, hs.vote), (5, 5, 0));
        assert_eq!(get_raft_local_state(&db, 2).unwrap().as_ref(), Some(&rs));
        let ap = init_apply_state(&db, &r).unwrap();
        assert_eq!(ap.applied_index, 5);
        assert_eq!(
            ap.truncated_state,
            Some(RaftTruncatedState { index: 5, term: 5 })
        );

        // Existing states are returned as they are.
        let mut wb = WriteBatch::new();
        let newer = RaftLocalState {
            last_index: 9,
            ..rs
        };
        wb.set_meta(&raft_state_key(2), &newer);
        wb.write_to_db(&db).unwrap();
        assert_eq!(init_raft_local_state(&db, &r).unwrap(), newer);

        let mut wb = WriteBatch::new();
        write_region_state(&mut wb, &r, PeerState::Tombstone);
        wb.write_to_db(&db).unwrap();
        let st = get_region_local_state(&db, 2).unwrap().unwrap();
        assert_eq!(st.state(), PeerState::Tombstone);
        assert_eq!(st.region, Some(r));
        assert_eq!(get_region_local_state(&db, 3).unwrap(), None);

        let entry = Entry {
            index: 6,
            term: 5,
            ..Default::default()
        };
        let mut wb = WriteBatch::new();
        wb.set_meta(&raft_log_key(2, 6), &entry);
        wb.write_to_db(&db).unwrap();
        assert_eq!(get_raft_entry(&db, 2, 6).unwrap(), Some(entry));
        assert_eq!(get_raft_entry(&db, 2, 7).unwrap(), None);
    }
}
