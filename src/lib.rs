//! Root package: owns the raftstore integration suites under `tests/`.
