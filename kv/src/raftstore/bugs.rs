//! Classic raftstore bugs, planted on purpose: with the `inject-bugs`
//! feature (off by default, and then every check here is a constant
//! `false`), a test may switch one on to show that the simulator's seed
//! sweep finds it and replays it (tests/sim.rs). Never in a real build.

/// A bug that can be planted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// A leader answers a write as soon as it is proposed, before the
    /// entry is committed or applied: a write a deposed leader accepts is
    /// acknowledged and then lost.
    AckBeforeCommit,
    /// A leader answers a read (Get, Snap) from its own engine at once,
    /// without going through the log: a leader cut off from the majority
    /// keeps serving what a new leader has since overwritten.
    StaleRead,
}

#[cfg(feature = "inject-bugs")]
static PLANTED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

#[cfg(feature = "inject-bugs")]
fn code(bug: Option<Bug>) -> u8 {
    match bug {
        None => 0,
        Some(Bug::AckBeforeCommit) => 1,
        Some(Bug::StaleRead) => 2,
    }
}

/// Plants `bug` (or none) in this process's raftstores.
#[cfg(feature = "inject-bugs")]
pub fn plant(bug: Option<Bug>) {
    PLANTED.store(code(bug), std::sync::atomic::Ordering::SeqCst);
}

/// Whether `bug` is planted.
#[inline]
pub fn planted(bug: Bug) -> bool {
    #[cfg(feature = "inject-bugs")]
    {
        PLANTED.load(std::sync::atomic::Ordering::SeqCst) == code(Some(bug))
    }
    #[cfg(not(feature = "inject-bugs"))]
    {
        let _ = bug;
        false
    }
}

/// Where a planted bug answers a command at proposal time: returns the
/// callback still to be answered (a none one if the bug answered). Without
/// a planted bug (always, without the feature), `cb` itself.
pub fn answer_early(
    peer: &crate::raftstore::peer::Peer,
    ctx: &crate::raftstore::store::GlobalContext,
    req: &proto::raft_cmdpb::RaftCmdRequest,
    cb: crate::raftstore::message::Callback,
) -> crate::raftstore::message::Callback {
    use crate::raftstore::cmd_resp::new_cmd_resp;
    use crate::raftstore::message::Callback;
    use proto::raft_cmdpb::{CmdType, DeleteResponse, PutResponse, Response, SnapResponse};

    if !cfg!(feature = "inject-bugs")
        || req.admin_request.is_some()
        || req.requests.is_empty()
        || !peer.is_leader()
    {
        return cb;
    }
    let writes = req
        .requests
        .iter()
        .all(|r| matches!(r.cmd_type(), CmdType::Put | CmdType::Delete));
    let snap_read = req.requests.len() == 1 && req.requests[0].cmd_type() == CmdType::Snap;
    let mut resp = new_cmd_resp();
    let mut snap = None;
    if writes && planted(Bug::AckBeforeCommit) {
        for r in &req.requests {
            let mut out = Response {
                cmd_type: r.cmd_type,
                ..Default::default()
            };
            match r.cmd_type() {
                CmdType::Put => out.put = Some(PutResponse {}),
                _ => out.delete = Some(DeleteResponse {}),
            }
            resp.responses.push(out);
        }
    } else if snap_read && planted(Bug::StaleRead) {
        snap = Some(crate::util::engine_util::DbSnapshot::new(
            ctx.engines.kv.clone(),
        ));
        resp.responses.push(Response {
            cmd_type: CmdType::Snap as i32,
            snap: Some(SnapResponse {
                region: Some(peer.region().clone()),
            }),
            ..Default::default()
        });
    } else {
        return cb;
    }
    crate::raftstore::cmd_resp::bind_resp_term(&mut resp, peer.term());
    cb.done_with_snap(resp, snap);
    Callback::none()
}
