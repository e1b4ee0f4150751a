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

impl Error {
    /// The region error a client should get for this, if it is one: the
    /// errorpb answer a raftstore response carried, or the raftstore's own
    /// typed refusal (converted as every raftstore error is, message
    /// included). Any other error comes back as it was.
    pub fn into_region_error(self) -> std::result::Result<proto::errorpb::Error, Self> {
        match self {
            Error::Region(pb) => Ok(*pb),
            Error::Raftstore(e) => Ok(proto::errorpb::Error::from(&e)),
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raftstore::util::RaftstoreError;

    #[test]
    fn both_forms_of_a_region_error_reach_the_client_typed_and_with_text() {
        let typed = Error::from(RaftstoreError::StaleCommand);
        let pb = typed.into_region_error().unwrap();
        assert!(pb.stale_command.is_some());
        assert_eq!(pb.message, "stale command");

        let answered = Error::Region(Box::new(pb.clone()));
        assert_eq!(answered.into_region_error().unwrap(), pb);

        let dropped = Error::from(RaftstoreError::from(raft::Error::ProposalDropped));
        let pb = dropped.into_region_error().unwrap();
        assert_eq!(pb.message, "raft: raft proposal dropped");
    }

    #[test]
    fn other_errors_are_no_region_errors() {
        let e = Error::Other("disk on fire".into());
        assert!(matches!(e.into_region_error(), Err(Error::Other(_))));
    }
}
