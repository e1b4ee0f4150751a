//! The course kit: solution markers, the list of student parts, and the
//! student repository generated from the solution.

pub mod cli;
pub mod markers;
pub mod parts;
pub mod skeleton;
