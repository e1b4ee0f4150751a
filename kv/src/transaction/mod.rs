//! Percolator transactions over the key-value storage (TinyKV's
//! `kv/transaction`, project 4).
//!
//! Two kinds of atomicity meet here. A *client* transaction spans many
//! requests: it prewrites every key it changes (a lock in the `lock` CF and
//! the new value in `default`), then commits them (a record in `write`, the
//! lock removed), the primary key first; a reader that meets a lock asks
//! the primary how the transaction ended. Those locks are data, visible to
//! every client. A *command* — one request handled by the server — must
//! itself read and write atomically; that is what [`latches`] give, and
//! they are invisible to clients.
//!
//! - [`mvcc`]: the storage layout of locks, values and write records
//!   ([`mvcc::MvccTxn`], [`mvcc::Scanner`]) and the timestamped keys;
//! - [`latches`]: per-key latches for commands;
//! - the commands themselves are the `Kv*` handlers of the server
//!   (`crate::server::txn_api`).

pub mod latches;
pub mod mvcc;

#[cfg(test)]
mod commands4b_test;
#[cfg(test)]
mod commands4c_test;
#[cfg(test)]
mod commands_test;
