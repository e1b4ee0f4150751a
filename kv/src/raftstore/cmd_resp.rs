//! Builders of `RaftCmdResponse`s, errors mostly.

use proto::raft_cmdpb::{RaftCmdResponse, RaftResponseHeader};

use crate::raftstore::util::{raftstore_err_to_pb_error, RaftstoreError};

fn header_mut(resp: &mut RaftCmdResponse) -> &mut RaftResponseHeader {
    resp.header.get_or_insert_with(Default::default)
}

/// Stamps the responding peer's term (nothing for term 0).
pub fn bind_resp_term(resp: &mut RaftCmdResponse, term: u64) {
    if term != 0 {
        header_mut(resp).current_term = term;
    }
}

pub fn bind_resp_error(resp: &mut RaftCmdResponse, err: &RaftstoreError) {
    header_mut(resp).error = Some(raftstore_err_to_pb_error(err));
}

pub fn err_resp(err: &RaftstoreError) -> RaftCmdResponse {
    let mut resp = new_cmd_resp();
    bind_resp_error(&mut resp, err);
    resp
}

pub fn err_resp_with_term(err: &RaftstoreError, term: u64) -> RaftCmdResponse {
    let mut resp = err_resp(err);
    bind_resp_term(&mut resp, term);
    resp
}

pub fn err_resp_stale_command(term: u64) -> RaftCmdResponse {
    err_resp_with_term(&RaftstoreError::StaleCommand, term)
}

pub fn new_cmd_resp() -> RaftCmdResponse {
    RaftCmdResponse {
        header: Some(RaftResponseHeader::default()),
        ..Default::default()
    }
}
