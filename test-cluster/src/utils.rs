//! Request builders and engine assertions of the suites (Go's utils.go).

use std::thread::sleep;
use std::time::Duration;

use kv::util::engine_util::{get_cf, Engines, CF_DEFAULT};
use proto::metapb::{Peer, RegionEpoch};
use proto::raft_cmdpb::{
    AdminCmdType, AdminRequest, CmdType, DeleteRequest, GetRequest, PutRequest, RaftCmdRequest,
    RaftRequestHeader, Request, SnapRequest, TransferLeaderRequest,
};

/// Sleeps, then fails the test if a store thread panicked meanwhile (see
/// [`panics`](crate::panics)): every wait of the harness goes through here.
pub fn sleep_ms(ms: u64) {
    sleep(Duration::from_millis(ms));
    crate::panics::check();
}

/// Asks `check` up to `tries` times, `every_ms` apart, until it answers
/// `Some`; `None` if it never does. The harness's waits all poll this way,
/// with Go's bounds (e.g. 500 tries 10 ms apart: about 5 s), and like
/// [`sleep_ms`] each pause fails the test at once if a store thread died.
///
/// ```
/// use test_cluster::wait_until;
///
/// let mut n = 0;
/// assert_eq!(wait_until(10, 1, || { n += 1; (n == 3).then_some(n) }), Some(3));
/// assert_eq!(wait_until(2, 1, || None::<()>), None);
/// ```
pub fn wait_until<T>(tries: u32, every_ms: u64, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..tries {
        if let Some(v) = check() {
            return Some(v);
        }
        sleep_ms(every_ms);
    }
    None
}

/// Note the argument order (store first), as in Go.
pub fn new_peer(store_id: u64, peer_id: u64) -> Peer {
    Peer {
        store_id,
        id: peer_id,
    }
}

/// A command for the region with only its header (no peer: the senders
/// fill it in).
pub fn new_base_request(region_id: u64, epoch: Option<RegionEpoch>) -> RaftCmdRequest {
    RaftCmdRequest {
        header: Some(RaftRequestHeader {
            region_id,
            region_epoch: epoch,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The store of the peer a command's header names (0 if it names none):
/// where the command is sent.
pub fn target_store(req: &RaftCmdRequest) -> u64 {
    req.header
        .as_ref()
        .and_then(|h| h.peer)
        .map_or(0, |p| p.store_id)
}

/// A command carrying normal `requests` (puts, gets, deletes, snaps).
pub fn new_request(
    region_id: u64,
    epoch: Option<RegionEpoch>,
    requests: Vec<Request>,
) -> RaftCmdRequest {
    let mut req = new_base_request(region_id, epoch);
    req.requests = requests;
    req
}

/// A command carrying one admin request.
pub fn new_admin_request(
    region_id: u64,
    epoch: Option<RegionEpoch>,
    admin: AdminRequest,
) -> RaftCmdRequest {
    let mut req = new_base_request(region_id, epoch);
    req.admin_request = Some(admin);
    req
}

/// A put of `key = value` in `cf` (an empty value deletes, as in TinyKV).
pub fn new_put_cf_cmd(cf: &str, key: &[u8], value: &[u8]) -> Request {
    Request {
        cmd_type: CmdType::Put as i32,
        put: Some(PutRequest {
            cf: cf.into(),
            key: key.to_vec(),
            value: value.to_vec(),
        }),
        ..Default::default()
    }
}

/// A get of `key` in `cf`.
pub fn new_get_cf_cmd(cf: &str, key: &[u8]) -> Request {
    Request {
        cmd_type: CmdType::Get as i32,
        get: Some(GetRequest {
            cf: cf.into(),
            key: key.to_vec(),
        }),
        ..Default::default()
    }
}

/// A delete of `key` in `cf`.
pub fn new_delete_cf_cmd(cf: &str, key: &[u8]) -> Request {
    Request {
        cmd_type: CmdType::Delete as i32,
        delete: Some(DeleteRequest {
            cf: cf.into(),
            key: key.to_vec(),
        }),
        ..Default::default()
    }
}

/// A snap: the answer carries the region and a snapshot of the engine
/// taken when the command applied.
pub fn new_snap_cmd() -> Request {
    Request {
        cmd_type: CmdType::Snap as i32,
        snap: Some(SnapRequest {}),
        ..Default::default()
    }
}

/// An admin request to hand leadership to `peer`.
pub fn new_transfer_leader_cmd(peer: Peer) -> AdminRequest {
    AdminRequest {
        cmd_type: AdminCmdType::TransferLeader as i32,
        transfer_leader: Some(TransferLeaderRequest { peer: Some(peer) }),
        ..Default::default()
    }
}

/// Waits (≈ 6 s) until the store's kv engine holds `key` (with `value`,
/// if given).
pub fn must_get_cf(engines: &Engines, cf: &str, key: &[u8], value: Option<&[u8]>) {
    let found = wait_until(300, 20, || {
        let v = get_cf(&engines.kv, cf, key).ok().flatten()?;
        value.is_none_or(|want| want == v.as_slice()).then_some(())
    });
    if found.is_some() {
        return;
    }
    panic!(
        "can't get value {} for key {} in {}",
        hex(value.unwrap_or_default()),
        hex(key),
        engines.kv_path
    );
}

/// Waits (≈ 6 s) until the store's engine holds `key = value` in `cf`.
pub fn must_get_cf_equal(engines: &Engines, cf: &str, key: &[u8], value: &[u8]) {
    must_get_cf(engines, cf, key, Some(value));
}

/// Waits (≈ 6 s) until the store's engine holds `key = value`.
pub fn must_get_equal(engines: &Engines, key: &[u8], value: &[u8]) {
    must_get_cf(engines, CF_DEFAULT, key, Some(value));
}

/// Waits (≈ 6 s) until the store's kv engine no longer holds `key`.
pub fn must_get_cf_none(engines: &Engines, cf: &str, key: &[u8]) {
    let mut last = None;
    let gone = wait_until(300, 20, || match get_cf(&engines.kv, cf, key) {
        Ok(None) => Some(()),
        Ok(v) => {
            last = v;
            None
        }
        Err(_) => None,
    });
    if gone.is_some() {
        return;
    }
    panic!(
        "get value {} for key {} in {}",
        hex(&last.unwrap_or_default()),
        hex(key),
        engines.kv_path
    );
}

/// Waits (≈ 6 s) until the store's engine no longer holds `key`.
pub fn must_get_none(engines: &Engines, key: &[u8]) {
    must_get_cf_none(engines, CF_DEFAULT, key);
}

/// `b` in lowercase hex, for messages.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{:02x}", x)).collect()
}
