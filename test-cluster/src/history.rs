//! Client histories of the cluster, for the linearizability checker
//! ([`lincheck`]): record each single attempt with its [`Outcome`], then
//! check the whole history at the end of the test.
//!
//! ```
//! use std::time::Duration;
//! use kv::config::Config;
//! use lincheck::{Call, Recorder};
//! use test_cluster::{check_history, new_put_cf_cmd, new_test_cluster, record};
//!
//! let mut cluster = new_test_cluster(1, Config::new_test_config());
//! cluster.start();
//! let rec = Recorder::default();
//! let id = rec.invoke(1, Call::Put { key: "k".into(), value: "v".into() });
//! let outcome = cluster.try_request(b"k", vec![new_put_cf_cmd("default", b"k", b"v")], Duration::from_secs(3));
//! record(&rec, id, &outcome, None);
//! check_history(&rec.history(), "doc-example");
//! cluster.shutdown();
//! ```

use lincheck::{History, OpId, Read, Recorder};

use crate::outcome::Outcome;

/// Ends the recorded operation `id` as the attempt's outcome says: `Ok`
/// (with `read` for a read), failed for a refusal, unknown otherwise.
pub fn record(rec: &Recorder, id: OpId, outcome: &Outcome, read: Option<Read>) {
    match outcome {
        Outcome::Ok(_) => rec.ok(id, read),
        Outcome::Refused(_) => rec.failed(id),
        Outcome::Unknown(_) => rec.unknown(id),
    }
}

/// Checks `history` for linearizability. On a violation, writes the whole
/// history as JSON Lines to the temp dir and panics with the witness and
/// the file's path; otherwise prints a one-line summary.
pub fn check_history(history: &History, name: &str) {
    match lincheck::check(history) {
        Ok(s) => eprintln!(
            "history {name}: linearizable ({} operations, {} keys, {} per-key operations, {} states)",
            history.ops.len(),
            s.keys,
            s.key_ops,
            s.states
        ),
        Err(v) => {
            let path = std::env::temp_dir().join(format!(
                "history-{name}-{}.jsonl",
                std::process::id()
            ));
            let saved = match lincheck::write_jsonl(history, &path) {
                Ok(()) => format!("the whole history is in {}", path.display()),
                Err(e) => format!("(could not save the history: {e})"),
            };
            panic!("history {name}: {v}{saved}");
        }
    }
}
