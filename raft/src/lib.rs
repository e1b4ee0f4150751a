//! TinyKV's Raft library.
//!
//! The consensus core is a pure state machine: [`Raft`] takes messages through
//! [`Raft::step`] and logical time through [`Raft::tick`], and never does I/O.
//! Its output is collected by [`RawNode`] into a [`Ready`], which the
//! application handles in a loop:
//!
//! ```
//! use raft::{Config, MemoryStorage, RawNode};
//!
//! let storage = MemoryStorage::new_with_conf_state(vec![1]);
//! let config = Config { id: 1, election_tick: 10, heartbeat_tick: 1, ..Default::default() };
//! let mut node = RawNode::new(&config, storage.clone()).unwrap();
//! node.campaign().unwrap();
//! while node.has_ready() {
//!     let rd = node.ready();
//!     // 1. persist the hard state and entries (before sending any message)
//!     if let Some(hs) = &rd.hard_state {
//!         storage.set_hard_state(hs.clone());
//!     }
//!     storage.append(&rd.entries).unwrap();
//!     // 2. send rd.messages to the other peers
//!     // 3. apply rd.committed_entries to the state machine
//!     node.advance(rd);
//! }
//! assert_eq!(node.raft.state, raft::StateType::Leader);
//! ```

#![deny(missing_docs)]

pub mod errors;
pub mod inflights;
pub mod log;
pub mod progress;
pub mod raft;
pub mod rawnode;
pub mod read_only;
pub mod rng;
pub mod storage;
pub mod util;

pub use proto::eraftpb;

pub use crate::errors::{Error, Result, StorageError};
pub use crate::inflights::Inflights;
pub use crate::log::RaftLog;
pub use crate::progress::{Progress, ProgressState};
pub use crate::raft::{Config, Raft, StateType, NONE};
pub use crate::rawnode::{RawNode, Ready, SoftState};
pub use crate::read_only::ReadState;
pub use crate::rng::Rng;
pub use crate::storage::{MemoryStorage, Storage};

#[cfg(test)]
mod flow_control_test;
#[cfg(test)]
mod leader_transfer_test;
#[cfg(test)]
mod pre_vote_test;
#[cfg(test)]
mod raft_paper_test;
#[cfg(test)]
mod raft_test;
#[cfg(test)]
mod rawnode_test;
#[cfg(test)]
mod read_index_test;
#[cfg(test)]
mod test_harness;
#[cfg(test)]
mod vote_retry_test;
