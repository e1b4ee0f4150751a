//! The raft worker: one thread that drives every peer of the store.
//!
//! Each round it takes everything queued, lets each addressed peer handle
//! its messages, then handles the Ready of every peer it touched in two
//! passes: first all raft states and entries go into one write batch,
//! written and synced once; then, with that durable, messages are sent and
//! committed entries applied.
//!
//! Two exceptions to "one write per round". A peer whose Ready carries a
//! snapshot writes the round's raft batch, and its own kv batch, right
//! away in `collect_ready`: the region worker lays the snapshot's data
//! down only once the states that announce it are on disk. And applying
//! may write early where a read must see the writes before it (a Get or
//! Snap in the middle of a command, a conf change or split that changes
//! the region).
//!
//! Because one thread drives every peer of the store, a peer's handler may
//! lock another peer of the same store (applying a split replaces a
//! placeholder peer of the new region): nothing else holds that lock then.

use std::sync::Arc;

use crossbeam_channel::{select, Receiver};

use crate::raftstore::message::Msg;
use crate::raftstore::metrics;
use crate::raftstore::peer_msg_handler::PeerMsgHandler;
use crate::raftstore::router::RegisteredPeer;
use crate::raftstore::store::GlobalContext;
use crate::util::engine_util::WriteBatch;

/// Most messages handled before the peers' Readies are processed.
const MAX_BATCH: usize = 4096;

pub struct RaftWorker {
    ctx: Arc<GlobalContext>,
    receiver: Receiver<Msg>,
}

impl RaftWorker {
    pub fn new(ctx: Arc<GlobalContext>, receiver: Receiver<Msg>) -> Self {
        RaftWorker { ctx, receiver }
    }

    /// Runs rounds until `stop` fires or the channel closes.
    pub fn run(self, stop: Receiver<()>) {
        let mut msgs = Vec::with_capacity(MAX_BATCH);
        loop {
            select! {
                recv(self.receiver) -> m => match m {
                    Ok(m) => msgs.push(m),
                    Err(_) => return,
                },
                recv(stop) -> _ => return,
            }
            self.fill(&mut msgs);
            self.handle_round(&mut msgs);
        }
    }

    /// One round over whatever is queued now, without waiting: what a
    /// driver calls instead of [`run`](Self::run). Returns false (and does
    /// nothing) when nothing was queued.
    pub fn poll(&self, msgs: &mut Vec<Msg>) -> bool {
        self.fill(msgs);
        if msgs.is_empty() {
            return false;
        }
        self.handle_round(msgs);
        true
    }

    /// Takes queued messages into `msgs`, up to a batch.
    fn fill(&self, msgs: &mut Vec<Msg>) {
        while msgs.len() < MAX_BATCH {
            match self.receiver.try_recv() {
                Ok(m) => msgs.push(m),
                Err(_) => break,
            }
        }
    }

    /// Handles one batch of messages and the Readies they produced.
    pub fn handle_round(&self, msgs: &mut Vec<Msg>) {
        let mut touched: Vec<(u64, Arc<RegisteredPeer>)> = Vec::new();
        for m in msgs.drain(..) {
            let Some(ps) = self.ctx.router.get(m.region_id) else {
                continue;
            };
            if ps.is_closed() {
                continue;
            }
            self.with_handler(&ps, |h| h.handle_msg(m.msg));
            if !touched.iter().any(|(id, _)| *id == m.region_id) {
                touched.push((m.region_id, ps));
            }
        }
        // Raft state must be on disk before the messages that depend on it
        // leave: a Ready that needs it marks this one batch to be synced.
        let mut raft_wb = WriteBatch::default();
        let mut pending = Vec::with_capacity(touched.len());
        for (_, ps) in &touched {
            if let Some(rd) = self.with_handler(ps, |h| h.collect_ready(&mut raft_wb)) {
                pending.push((ps.clone(), rd));
            }
        }
        if !pending.is_empty() {
            metrics::add(&metrics::READY_ROUNDS, 1);
        }
        if !self.ctx.cfg.raft_sync_log {
            raft_wb.set_sync(false);
        }
        if !raft_wb.is_empty() {
            metrics::add(&metrics::RAFT_BATCH_WRITES, 1);
            if raft_wb.sync() {
                metrics::add(&metrics::RAFT_BATCH_SYNCS, 1);
            }
            self.ctx
                .engines
                .write_raft(&raft_wb)
                .expect("write raft batch");
        }
        for (ps, rd) in pending {
            self.with_handler(&ps, |h| h.post_ready(rd));
        }
    }

    /// Runs `f` on the peer's handler inside the peer's span.
    fn with_handler<R>(
        &self,
        ps: &RegisteredPeer,
        f: impl FnOnce(&mut PeerMsgHandler<'_>) -> R,
    ) -> R {
        let mut peer = ps.peer();
        let span = peer.span.clone();
        let _entered = span.enter();
        f(&mut PeerMsgHandler::new(&mut peer, &self.ctx))
    }
}
