//! The TinyKV service (TinyKV's kv/server): the raw key-value API of
//! project 1 and the transactional API of project 4 over any [`Storage`].

pub mod client;
pub mod raft_server;
pub mod raw_api;
pub mod scheduler_client;
pub mod service;
pub mod transport;
pub mod txn_api;
pub mod txn_client;

#[cfg(test)]
mod server_test;
#[cfg(test)]
mod txn_client_test;

use std::sync::Arc;

use proto::errorpb;

use crate::storage::Storage;
use crate::transaction::latches::Latches;

/// A server answering client requests from its storage.
pub struct Server {
    storage: Arc<dyn Storage>,
    /// The latches the transactional commands take (one table per server).
    pub latches: Latches,
}

impl Server {
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Server {
            storage,
            latches: Latches::new(),
        }
    }

    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }
}

/// How a failed request is reported: a region error (the client should
/// refresh its region cache and retry) or any other error as text.
pub(crate) fn split_error(e: crate::Error) -> (Option<errorpb::Error>, String) {
    match e.into_region_error() {
        Ok(pb) => (Some(pb), String::new()),
        Err(other) => (None, other.to_string()),
    }
}
