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

use std::time::Duration;

use kv::util::engine_util::{DbSnapshot, CF_DEFAULT};
use lincheck::{Call, History, OpId, RawPairs, Read, Recorder};
use proto::raft_cmdpb::{CmdType, RaftCmdRequest, RaftCmdResponse};

use crate::cluster::{check_single_response, scan_regions, Cluster};
use crate::outcome::Outcome;
use crate::utils::{new_delete_cf_cmd, new_put_cf_cmd, new_snap_cmd, target_store};

/// Ends the recorded operation `id` as the attempt's outcome says: `Ok`
/// (with `read` for a read), failed for a refusal, unknown otherwise.
pub fn record(rec: &Recorder, id: OpId, outcome: &Outcome, read: Option<Read>) {
    match outcome {
        Outcome::Ok(_) => rec.ok(id, read),
        Outcome::Refused(_) => rec.failed(id),
        Outcome::Unknown(_) => rec.unknown(id),
    }
}

/// Ends the recorded attempt `id` of `call` as its outcome says (see
/// [`record`]). A Snap answer reads the keys of its region only: it is
/// recorded as the scan `call` asked for when the region covers the whole
/// range, and as failed (a read that says nothing) when it covers part of
/// it.
///
/// Returns the pairs recorded for a scan, read from the answer's
/// snapshot: the caller's own read of that range, without reading it
/// again.
pub fn record_attempt(
    rec: &Recorder,
    id: OpId,
    call: &Call,
    outcome: &Outcome,
) -> Option<RawPairs> {
    let (Call::Scan { start, end }, Outcome::Ok(answer)) = (call, outcome) else {
        record(rec, id, outcome, None);
        return None;
    };
    let region = answer
        .resp
        .responses
        .first()
        .and_then(|r| r.snap.as_ref())
        .and_then(|s| s.region.as_ref());
    let covered = region.is_some_and(|r| {
        r.start_key.as_slice() <= start.as_slice()
            && (r.end_key.is_empty() || (!end.is_empty() && end.as_slice() <= r.end_key.as_slice()))
    });
    match (covered, answer.snap.as_ref()) {
        (true, Some(snap)) => {
            let pairs = range_pairs(snap, start.as_slice(), end.as_slice());
            rec.ok_pairs(id, &pairs);
            Some(pairs)
        }
        _ => {
            rec.failed(id);
            None
        }
    }
}

/// The pairs of a snapshot in `[start, end)` (an empty `end`: no end).
fn range_pairs(snap: &DbSnapshot, start: &[u8], end: &[u8]) -> RawPairs {
    let mut it = snap.iter_cf_in_range(CF_DEFAULT, start, end);
    it.seek(start);
    let mut pairs = RawPairs::default();
    while it.valid() {
        pairs.push(it.key(), it.value());
        it.next();
    }
    pairs
}

/// One client of a [`Cluster`] whose every attempt goes into a history:
/// Go's `MustPut`, `MustDelete` and `Scan`, retried as Go retries them
/// (so a write may apply twice), each single attempt recorded with its
/// honest outcome. For recording the GenericTest workload.
pub struct RecordedClient<'a> {
    cluster: &'a Cluster,
    rec: &'a Recorder,
    client: u64,
}

impl Cluster {
    /// Client `client` of this cluster, recording into `rec`.
    pub fn recorded<'a>(&'a self, rec: &'a Recorder, client: u64) -> RecordedClient<'a> {
        RecordedClient {
            cluster: self,
            rec,
            client,
        }
    }
}

impl RecordedClient<'_> {
    /// [`Cluster::must_put`], recorded.
    pub fn must_put(&self, key: &[u8], value: &[u8]) {
        let call = Call::Put {
            key: key.into(),
            value: value.into(),
        };
        let resp = self.request(key, new_put_cf_cmd(CF_DEFAULT, key, value), call, &mut None);
        check_single_response(&resp.0, CmdType::Put);
    }

    /// [`Cluster::must_delete`], recorded.
    pub fn must_delete(&self, key: &[u8]) {
        let call = Call::Delete { key: key.into() };
        let resp = self.request(key, new_delete_cf_cmd(CF_DEFAULT, key), call, &mut None);
        check_single_response(&resp.0, CmdType::Delete);
    }

    /// [`Cluster::scan`], recorded: each region's read is a scan of the
    /// range from its first key.
    pub fn scan(&self, start: &[u8], end: &[u8]) -> Vec<Vec<u8>> {
        scan_regions(start, end, &mut |key| {
            let call = Call::Scan {
                start: key.into(),
                end: end.into(),
            };
            let mut read = None;
            let answer = self.request(key, new_snap_cmd(), call, &mut read);
            (answer, read)
        })
    }

    /// [`Cluster::request`] of one command, each attempt recorded as
    /// `call`; `read` ends as what the answering attempt recorded of a
    /// scan.
    fn request(
        &self,
        key: &[u8],
        cmd: proto::raft_cmdpb::Request,
        call: Call,
        read: &mut Option<RawPairs>,
    ) -> (RaftCmdResponse, Option<DbSnapshot>) {
        self.cluster
            .request_via(key, vec![cmd], Duration::from_secs(5), &mut |req| {
                self.attempt(req, &call, read)
            })
    }

    /// One attempt, as [`Cluster::call_command`] makes it (a stopped store
    /// panics as Go's harness exits), recorded; `read` is set to the pairs
    /// recorded for a scan (see [`record_attempt`]).
    fn attempt(
        &self,
        req: RaftCmdRequest,
        call: &Call,
        read: &mut Option<RawPairs>,
    ) -> Option<(RaftCmdResponse, Option<DbSnapshot>)> {
        let store_id = target_store(&req);
        if self.cluster.router(store_id).is_none() {
            panic!("can not find node {store_id}");
        }
        let id = self.rec.invoke(self.client, call.clone());
        let outcome = self
            .cluster
            .try_command_on_store(store_id, req, Duration::from_secs(1));
        *read = record_attempt(self.rec, id, call, &outcome);
        outcome.into_answer()
    }
}

/// Checks `history` for linearizability. On a violation, writes the whole
/// history as JSON Lines to the temp dir and panics with the witness and
/// the file's path; otherwise prints a one-line summary.
pub fn check_history(history: &History, name: &str) {
    let started = std::time::Instant::now();
    match lincheck::check(history) {
        Ok(s) => eprintln!(
            "history {name}: linearizable ({} operations, {} keys, {} per-key operations, {} states; checked in {:.2} s)",
            history.ops.len(),
            s.keys,
            s.key_ops,
            s.states,
            started.elapsed().as_secs_f64()
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
