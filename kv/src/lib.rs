//! TinyKV's storage node: configuration, engine utilities and the
//! raftstore (multi-raft replication of key ranges).

pub mod config;
pub mod error;
pub mod raftstore;
pub mod server;
pub mod storage;
pub mod transaction;
pub mod util;

pub use error::{Error, Result};
