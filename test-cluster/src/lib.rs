//! The in-process test cluster for the raftstore suites.
