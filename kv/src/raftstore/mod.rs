//! The raftstore: one raft group per region, driven by a raft worker, a
//! store worker and background workers (see DESIGN.md, "Runtime model").

pub mod meta;
pub mod scheduler_client;
