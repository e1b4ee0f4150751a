//! Errors of the raft library.

use thiserror::Error;

/// Failures of a [`Storage`](crate::Storage) that steer the algorithm.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StorageError {
    /// The requested index is older than the first kept entry: the log was
    /// compacted past it. The leader falls back to a snapshot.
    #[error("requested index is unavailable due to compaction")]
    Compacted,
    /// A snapshot no newer than the one already held was offered.
    #[error("requested index is older than the existing snapshot")]
    SnapOutOfDate,
    /// The requested entries are not there (yet).
    #[error("requested entry at index is unavailable")]
    Unavailable,
    /// A snapshot is being generated; ask again later.
    #[error("snapshot is temporarily unavailable")]
    SnapshotTemporarilyUnavailable,
    /// Anything else the storage ran into (I/O, corruption, ...).
    #[error("storage error: {0}")]
    Other(String),
}

/// Errors returned by [`Raft`](crate::Raft) and [`RawNode`](crate::RawNode).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// The storage failed; see the wrapped [`StorageError`].
    #[error(transparent)]
    Store(#[from] StorageError),
    /// The proposal was not accepted (not leader, or leadership transfer in progress).
    #[error("raft proposal dropped")]
    ProposalDropped,
    /// A local message (MsgHup, MsgBeat) arrived from the network.
    #[error("raft: cannot step raft local message")]
    StepLocalMsg,
    /// A response arrived from a node that is not in the configuration.
    #[error("raft: cannot step as peer not found")]
    StepPeerNotFound,
    /// [`Config::validate`](crate::Config::validate) rejected the
    /// configuration; the text says which parameter is wrong.
    #[error("invalid raft config: {0}")]
    ConfigInvalid(String),
}

/// The result of a fallible operation of this crate.
pub type Result<T> = std::result::Result<T, Error>;
