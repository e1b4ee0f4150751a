//! Utilities shared by the storage node: the RocksDB engine wrapper, the
//! memcomparable key codec and background workers.

pub mod codec;
pub mod engine_util;
pub mod file;
pub mod worker;
