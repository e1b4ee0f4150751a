//! The mock scheduler used by the test cluster.
