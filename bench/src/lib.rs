//! Pieces of `tinykv-bench` that stand on their own: the key chooser, the
//! latency histogram and the report.

pub mod client;
pub mod keys;
pub mod report;
pub mod stats;
