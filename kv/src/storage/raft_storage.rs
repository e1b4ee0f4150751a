//! The storage of a replicated server: writes and reads go through the
//! raftstore as raft commands (TinyKV's raft_storage, its Write / Reader
//! half; the network half lives with the server).

use std::time::Duration;

use proto::errorpb;
use proto::kvrpcpb::Context;
use proto::metapb::Region;
use proto::raft_cmdpb::{
    CmdType, DeleteRequest, PutRequest, RaftCmdRequest, RaftCmdResponse, RaftRequestHeader,
    Request, SnapRequest,
};

use crate::raftstore::message::Callback;
use crate::raftstore::message::RaftRouter;
use crate::raftstore::util::{check_key_in_region, raftstore_err_to_pb_error};
use crate::storage::{empty_iter, is_user_cf};
use crate::storage::{DbIterator, Modify, StorageReader};
use crate::util::engine_util::DbSnapshot;

/// How long a request may wait for the raftstore's answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The raft command for `ctx`'s region carrying `requests`.
fn new_cmd(ctx: &Context, requests: Vec<Request>) -> RaftCmdRequest {
    RaftCmdRequest {
        header: Some(RaftRequestHeader {
            region_id: ctx.region_id,
            peer: ctx.peer,
            region_epoch: ctx.region_epoch,
            term: ctx.term,
        }),
        requests,
        admin_request: None,
    }
}

/// The raft commands of a write batch.
pub fn modifies_to_requests(batch: Vec<Modify>) -> Vec<Request> {
    batch
        .into_iter()
        .map(|m| match m {
            Modify::Put { cf, key, value } => Request {
                cmd_type: CmdType::Put as i32,
                put: Some(PutRequest { cf, key, value }),
                ..Default::default()
            },
            Modify::Delete { cf, key } => Request {
                cmd_type: CmdType::Delete as i32,
                delete: Some(DeleteRequest { cf, key }),
                ..Default::default()
            },
        })
        .collect()
}

/// Sends `req` through `router` and waits for the answer; a header error
/// becomes [`crate::Error::Region`].
pub fn call(
    router: &dyn RaftRouter,
    req: RaftCmdRequest,
    expected_responses: usize,
) -> crate::Result<(RaftCmdResponse, Option<DbSnapshot>)> {
    let region_id = req.header.as_ref().map_or(0, |h| h.region_id);
    let (cb, rx) = Callback::new();
    if let Err(e) = router.send_raft_command(req, cb) {
        return Err(crate::Error::Region(Box::new(raftstore_err_to_pb_error(
            &e,
        ))));
    }
    let Some(result) = rx.wait_resp_with_timeout(REQUEST_TIMEOUT) else {
        return Err(crate::Error::Other(format!(
            "region {region_id}: no answer from the raftstore in {REQUEST_TIMEOUT:?}"
        )));
    };
    check_response(&result.resp, expected_responses)?;
    Ok((result.resp, result.snap))
}

fn check_response(resp: &RaftCmdResponse, expected: usize) -> crate::Result<()> {
    if let Some(e) = resp.header.as_ref().and_then(|h| h.error.clone()) {
        return Err(crate::Error::Region(Box::new(e)));
    }
    if resp.responses.len() != expected {
        return Err(crate::Error::Other(format!(
            "responses count {} is not equal to requests count {}",
            resp.responses.len(),
            expected
        )));
    }
    Ok(())
}

/// Writes `batch` to `ctx`'s region through raft.
pub fn write(router: &dyn RaftRouter, ctx: &Context, batch: Vec<Modify>) -> crate::Result<()> {
    let requests = modifies_to_requests(batch);
    let n = requests.len();
    call(router, new_cmd(ctx, requests), n).map(|_| ())
}

/// A consistent view of `ctx`'s region, taken through raft.
pub fn reader(router: &dyn RaftRouter, ctx: &Context) -> crate::Result<RegionReader> {
    let snap_req = Request {
        cmd_type: CmdType::Snap as i32,
        snap: Some(SnapRequest {}),
        ..Default::default()
    };
    let (resp, snap) = call(router, new_cmd(ctx, vec![snap_req]), 1)?;
    let region = resp.responses[0]
        .snap
        .as_ref()
        .and_then(|s| s.region.clone())
        .ok_or_else(|| crate::Error::Other("snap response without a region".into()))?;
    let snap =
        snap.ok_or_else(|| crate::Error::Other("snap response without a snapshot".into()))?;
    Ok(RegionReader::new(snap, region))
}

/// Reads of one region from a snapshot: keys outside the region are an
/// error (KeyNotInRegion), iterators see only the region's keys.
pub struct RegionReader {
    snap: DbSnapshot,
    region: Region,
}

impl RegionReader {
    pub fn new(snap: DbSnapshot, region: Region) -> Self {
        RegionReader { snap, region }
    }

    pub fn region(&self) -> &Region {
        &self.region
    }
}

impl StorageReader for RegionReader {
    fn get_cf(&self, cf: &str, key: &[u8]) -> crate::Result<Option<Vec<u8>>> {
        if !is_user_cf(cf) {
            return Err(crate::Error::Other(format!("invalid column family {cf:?}")));
        }
        if let Err(e) = check_key_in_region(key, &self.region) {
            let pb: errorpb::Error = raftstore_err_to_pb_error(&e);
            return Err(crate::Error::Region(Box::new(pb)));
        }
        Ok(self.snap.get_cf(cf, key)?)
    }

    fn iter_cf(&self, cf: &str) -> Box<dyn DbIterator + '_> {
        if !is_user_cf(cf) {
            return Box::new(empty_iter(&self.snap));
        }
        Box::new(
            self.snap
                .iter_cf_in_range(cf, &self.region.start_key, &self.region.end_key),
        )
    }
}

/// The storage of a replicated server: every write and read is a raft
/// command to the region named by the request's context.
pub struct RaftStorage {
    router: std::sync::Arc<dyn RaftRouter>,
}

impl RaftStorage {
    pub fn new(router: std::sync::Arc<dyn RaftRouter>) -> Self {
        RaftStorage { router }
    }
}

impl crate::storage::Storage for RaftStorage {
    /// The raftstore's life is the server's ([`RaftServer`]), not this
    /// handle's.
    ///
    /// [`RaftServer`]: crate::server::raft_server::RaftServer
    fn start(&mut self) -> crate::Result<()> {
        Ok(())
    }

    fn stop(&mut self) -> crate::Result<()> {
        Ok(())
    }

    fn write(&self, ctx: &Context, batch: Vec<Modify>) -> crate::Result<()> {
        write(self.router.as_ref(), ctx, batch)
    }

    fn reader(&self, ctx: &Context) -> crate::Result<Box<dyn StorageReader>> {
        Ok(Box::new(reader(self.router.as_ref(), ctx)?))
    }
}
