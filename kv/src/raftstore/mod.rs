//! The raftstore: one raft group per region, driven by a raft worker, a
//! store worker and background workers (see docs/DESIGN.md, "Runtime").

pub mod apply;
pub mod bootstrap;
pub mod bugs;
pub mod cmd_resp;
pub mod message;
pub mod meta;
pub mod metrics;
pub mod node;
pub mod peer;
pub mod peer_msg_handler;
pub mod peer_storage;
pub mod raft_worker;
pub mod read;
pub mod router;
pub mod runner;
pub mod scheduler_client;
pub mod snap;
pub mod store;
pub mod store_worker;
pub mod ticker;
pub mod util;

pub use self::util::{RaftstoreError, Result};
