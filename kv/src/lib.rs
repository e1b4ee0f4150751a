//! Storage node of TinyKV. The raftstore lands here (see DESIGN.md).
