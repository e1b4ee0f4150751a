//! tinykv-lab: runs TinyKV's lab test-suites many times and reports how
//! often each test passes.
//!
//! Flaky failures are the hard part of the labs: a raftstore test that fails
//! once in thirty runs is still broken. This crate builds the test binaries,
//! selects tests by TinyKV project (`2aa`, `3b`, …) or regex, runs each one
//! in its own process group under a deadline, and writes a table, JUnit and
//! JSON reports and the logs of every failed run. It is a library as well as
//! the `tinykv-lab` binary so the runner's own tests can drive it directly.
//!
//! `tinykv-lab grade DIR` ([`grade`]) runs the same pipeline ([`session`])
//! over a checkout and turns the pass rates into weighted scores.

pub mod course;
pub mod discover;
pub mod goref;
pub mod grade;
pub mod html;
pub mod logscan;
pub mod report;
pub mod runner;
pub mod select;
pub mod session;
pub mod sim;

pub use discover::{TestBinary, TestCase};
pub use runner::{run, RunOptions, RunRecord, RunSpec, Side, Status};
pub use select::{Project, Selector};
