//! Making a fresh store and the first region of a fresh cluster.

use proto::eraftpb::HardState;
use proto::metapb::{Peer, Region, RegionEpoch};
use proto::raft_serverpb::{
    RaftApplyState, RaftLocalState, RaftTruncatedState, RegionLocalState, StoreIdent,
};

use crate::raftstore::meta::{self, RAFT_INIT_LOG_INDEX, RAFT_INIT_LOG_TERM};
use crate::util::engine_util::{self, Engines, WriteBatch, DB};
use crate::{Error, Result};

pub const INIT_EPOCH_VER: u64 = 1;
pub const INIT_EPOCH_CONF_VER: u64 = 1;

/// True if `db` holds nothing at all (no user data, no meta).
fn is_engine_empty(db: &DB) -> Result<bool> {
    Ok(engine_util::is_db_empty(db)?)
}

/// Marks empty engines as store `store_id` of cluster `cluster_id`.
pub fn bootstrap_store(engines: &Engines, cluster_id: u64, store_id: u64) -> Result<()> {
    if !is_engine_empty(&engines.kv)? {
        return Err(Error::Other(
            "kv store is not empty and has already had data.".into(),
        ));
    }
    if !is_engine_empty(&engines.raft)? {
        return Err(Error::Other(
            "raft store is not empty and has already had data.".into(),
        ));
    }
    let ident = StoreIdent {
        cluster_id,
        store_id,
    };
    engine_util::put_meta(&engines.kv, meta::STORE_IDENT_KEY, &ident)?;
    Ok(())
}

/// Writes the first region `["", "")` with its single peer on `store_id`,
/// marked as "prepared" until the scheduler confirms the bootstrap.
pub fn prepare_bootstrap(
    engines: &Engines,
    store_id: u64,
    region_id: u64,
    peer_id: u64,
) -> Result<Region> {
    let region = Region {
        id: region_id,
        start_key: vec![],
        end_key: vec![],
        region_epoch: Some(RegionEpoch {
            version: INIT_EPOCH_VER,
            conf_ver: INIT_EPOCH_CONF_VER,
        }),
        peers: vec![Peer {
            id: peer_id,
            store_id,
        }],
    };
    prepare_bootstrap_cluster(engines, &region)?;
    Ok(region)
}

/// Writes `region` and its initial raft and apply states.
pub fn prepare_bootstrap_cluster(engines: &Engines, region: &Region) -> Result<()> {
    let state = RegionLocalState {
        region: Some(region.clone()),
        ..Default::default()
    };
    let mut kv_wb = WriteBatch::default();
    kv_wb.set_meta(meta::PREPARE_BOOTSTRAP_KEY, &state);
    kv_wb.set_meta(&meta::region_state_key(region.id), &state);
    write_initial_apply_state(&mut kv_wb, region.id);
    engines.write_kv(&kv_wb)?;
    let mut raft_wb = WriteBatch::default();
    write_initial_raft_state(&mut raft_wb, region.id);
    engines.write_raft(&raft_wb)?;
    Ok(())
}

pub fn write_initial_apply_state(kv_wb: &mut WriteBatch, region_id: u64) {
    let state = RaftApplyState {
        applied_index: RAFT_INIT_LOG_INDEX,
        truncated_state: Some(RaftTruncatedState {
            index: RAFT_INIT_LOG_INDEX,
            term: RAFT_INIT_LOG_TERM,
        }),
    };
    kv_wb.set_meta(&meta::apply_state_key(region_id), &state);
}

pub fn write_initial_raft_state(raft_wb: &mut WriteBatch, region_id: u64) {
    let state = RaftLocalState {
        hard_state: Some(HardState {
            term: RAFT_INIT_LOG_TERM,
            commit: RAFT_INIT_LOG_INDEX,
            vote: 0,
        }),
        last_index: RAFT_INIT_LOG_INDEX,
        last_term: RAFT_INIT_LOG_TERM,
    };
    raft_wb.set_meta(&meta::raft_state_key(region_id), &state);
}

/// Undoes [`prepare_bootstrap`] (another store bootstrapped the cluster).
pub fn clear_prepare_bootstrap(engines: &Engines, region_id: u64) -> Result<()> {
    let mut raft_wb = WriteBatch::default();
    raft_wb.delete_meta(&meta::raft_state_key(region_id));
    engines.write_raft(&raft_wb)?;
    let mut kv_wb = WriteBatch::default();
    kv_wb.delete_meta(meta::PREPARE_BOOTSTRAP_KEY);
    kv_wb.delete_meta(&meta::region_state_key(region_id));
    kv_wb.delete_meta(&meta::apply_state_key(region_id));
    engines.write_kv(&kv_wb)?;
    Ok(())
}

/// The bootstrap is confirmed: drop the "prepared" mark.
pub fn clear_prepare_bootstrap_state(engines: &Engines) -> Result<()> {
    let mut kv_wb = WriteBatch::default();
    kv_wb.delete_meta(meta::PREPARE_BOOTSTRAP_KEY);
    engines.write_kv(&kv_wb)?;
    Ok(())
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;
    use crate::raftstore::util::new_test_engines;
    use crate::util::engine_util::{CfIterator, CF_RAFT};

    /// True if the raw meta keys `[start, end)` of `db` hold nothing.
    fn is_range_empty(db: &DB, start: &[u8], end: &[u8]) -> bool {
        let mut it = CfIterator::new(db, CF_RAFT);
        it.seek(start);
        !(it.valid() && it.key() < end)
    }

    #[test]
    fn TestBootstrapStore() {
        let engines = new_test_engines();
        assert!(bootstrap_store(&engines, 1, 1).is_ok());
        assert!(bootstrap_store(&engines, 1, 1).is_err());
        prepare_bootstrap(&engines, 1, 1, 1).unwrap();
        let state: Option<RegionLocalState> =
            engine_util::get_meta(&engines.kv, meta::PREPARE_BOOTSTRAP_KEY).unwrap();
        assert!(state.is_some());
        assert!(meta::get_region_local_state(&engines.kv, 1)
            .unwrap()
            .is_some());
        assert!(meta::get_apply_state(&engines.kv, 1).unwrap().is_some());
        assert!(meta::get_raft_local_state(&engines.raft, 1)
            .unwrap()
            .is_some());

        clear_prepare_bootstrap_state(&engines).unwrap();
        clear_prepare_bootstrap(&engines, 1).unwrap();
        assert!(is_range_empty(
            &engines.kv,
            &meta::region_meta_prefix_key(1),
            &meta::region_meta_prefix_key(2)
        ));
        assert!(is_range_empty(
            &engines.kv,
            &meta::region_raft_prefix_key(1),
            &meta::region_raft_prefix_key(2)
        ));
        engines.destroy().unwrap();
    }
}
