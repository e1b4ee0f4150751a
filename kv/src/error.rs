//! The storage node's error type.

use thiserror::Error;

use crate::raftstore::RaftstoreError;

#[derive(Debug, Error)]
pub enum Error {
    #[error("engine: {0}")]
    Engine(#[from] crate::util::engine_util::EngineError),
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    #[error(transparent)]
    Raftstore(#[from] RaftstoreError),
    #[error("scheduler: {0}")]
    Scheduler(#[from] crate::raftstore::scheduler_client::SchedulerError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("decode: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The raftstore refused the request for its region (not leader,
    /// stale epoch, key not in region, ...); servers answer it in the
    /// response's `region_error`.
    #[error("region error: {}", .0.message)]
    Region(Box<proto::errorpb::Error>),
    /// A stored lock or write record did not parse.
    #[error(transparent)]
    Mvcc(#[from] crate::transaction::mvcc::MvccError),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, Error>;
