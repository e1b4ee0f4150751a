//! Linearizability checking of key-value client histories.
//!
//! A test records what its clients did — each call, when it was sent, when
//! (if ever) it was answered, and whether it certainly took effect, certainly
//! did not, or may have — with a [`Recorder`]. [`check`] then decides whether
//! some order of the calls, each placed between its sending and its answer,
//! explains every read. A violation comes with a small witness (the calls
//! involved, with their times); [`write_jsonl`] saves the whole history for a
//! closer look.
//!
//! ```
//! use lincheck::{check, Call, Read, Recorder};
//!
//! let rec = Recorder::default();
//! let w = rec.invoke(1, Call::Put { key: "k".into(), value: "1".into() });
//! rec.ok(w, None);
//! let r = rec.invoke(2, Call::Get { key: "k".into() });
//! rec.ok(r, Some(Read::Value(Some("1".into()))));
//! assert!(check(&rec.history()).is_ok());
//!
//! // A read after the write returned, of the value before it: stale.
//! let r = rec.invoke(2, Call::Get { key: "k".into() });
//! rec.ok(r, Some(Read::Value(None)));
//! let violation = check(&rec.history()).unwrap_err();
//! assert_eq!(violation.key, "k".into());
//! ```

#![deny(missing_docs)]

mod check;
mod history;
mod jsonl;

pub use check::{check, Summary, Violation};
pub use history::{
    Bytes, Call, Clock, History, Op, OpId, Outcome, Pair, RawPairs, Read, Recorder, WallClock,
};
pub use jsonl::{read_jsonl, write_jsonl};

#[cfg(test)]
mod tests;
