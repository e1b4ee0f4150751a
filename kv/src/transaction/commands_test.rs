//! The harness of the command tests (TinyKV's `commands_test.go`): a server
//! over a [`MemStorage`], data laid down directly, requests run through the
//! server's `Kv*` handlers, and assertions on what they left in storage.
//!
//! Timestamps: the builder starts at 99 and every request helper takes the
//! next one (`next_ts`), so the first request of a test runs at 100. A
//! [`Kv`] with `ts == 0` means "the timestamp of the latest request".

use std::sync::Arc;

use pretty_assertions::assert_eq;
use proto::kvrpcpb::*;

use crate::server::Server;
use crate::storage::mem_storage::MemStorage;
use crate::transaction::mvcc::{decode_user_key, encode_key};
use crate::util::engine_util::{CF_DEFAULT, CF_LOCK, CF_WRITE};

/// One key (and maybe value) of one column family.
pub(super) struct Kv {
    pub cf: &'static str,
    /// The user key: no encoding, no timestamp.
    pub key: Vec<u8>,
    /// 0 = the builder's latest timestamp (ignored for the lock CF).
    pub ts: u64,
    /// `None` in an assertion: the key must still hold exactly what
    /// `init` put there.
    pub value: Option<Vec<u8>>,
}

/// `key` = `value` in `cf` at `ts`.
pub(super) fn kv(cf: &'static str, key: impl AsRef<[u8]>, ts: u64, value: impl AsRef<[u8]>) -> Kv {
    Kv {
        cf,
        key: key.as_ref().to_vec(),
        ts,
        value: Some(value.as_ref().to_vec()),
    }
}

/// `key` in `cf` at `ts`, to be found unchanged since `init`.
pub(super) fn unchanged(cf: &'static str, key: impl AsRef<[u8]>, ts: u64) -> Kv {
    Kv {
        cf,
        key: key.as_ref().to_vec(),
        ts,
        value: None,
    }
}

/// A request the server answers with one of its `Kv*` handlers.
pub(super) trait TxnRequest {
    type Response;
    fn run(&self, server: &Server) -> crate::Result<Self::Response>;
}

macro_rules! txn_request {
    ($($req:ty => $resp:ty, $handler:ident;)*) => {$(
        impl TxnRequest for $req {
            type Response = $resp;
            fn run(&self, server: &Server) -> crate::Result<$resp> {
                server.$handler(self)
            }
        }
    )*};
}

txn_request! {
    GetRequest => GetResponse, kv_get;
    ScanRequest => ScanResponse, kv_scan;
    PrewriteRequest => PrewriteResponse, kv_prewrite;
    CommitRequest => CommitResponse, kv_commit;
    CheckTxnStatusRequest => CheckTxnStatusResponse, kv_check_txn_status;
    BatchRollbackRequest => BatchRollbackResponse, kv_batch_rollback;
    ResolveLockRequest => ResolveLockResponse, kv_resolve_lock;
}

pub(super) struct TestBuilder {
    server: Server,
    /// The storage behind `server`.
    mem: MemStorage,
    prev_ts: u64,
}

/// Keys of the raw (non-mvcc) test data are all shorter than 9 bytes, the
/// shortest encoded key; so a longer key in the default or write CF is an
/// encoded one. A trick of the Go harness, kept as is.
const MIN_ENCODED_KEY_LEN: usize = 9;

impl TestBuilder {
    /// A server over a fresh memory storage whose latches fail the test
    /// when a command writes a key it has not latched.
    pub fn new() -> Self {
        let mem = MemStorage::new();
        let mut server = Server::new(Arc::new(mem.clone()));
        server.latches.validation = Some(Box::new(|txn, keys| {
            for wr in txn.writes() {
                let mut key = wr.key().to_vec();
                if key.len() >= MIN_ENCODED_KEY_LEN
                    && (wr.cf() == CF_DEFAULT || wr.cf() == CF_WRITE)
                {
                    key = decode_user_key(&key);
                }
                assert!(
                    keys.contains(&key),
                    "latch validation failed: {wr:?} writes a key that is not latched (latched: {keys:?})"
                );
            }
        }));
        TestBuilder {
            server,
            mem,
            prev_ts: 99,
        }
    }

    fn stored_key(&self, kv: &Kv) -> Vec<u8> {
        let ts = if kv.ts == 0 { self.prev_ts } else { kv.ts };
        match kv.cf {
            CF_DEFAULT | CF_WRITE => encode_key(&kv.key, ts),
            CF_LOCK => kv.key.clone(),
            cf => panic!("test data names unknown column family {cf:?}"),
        }
    }

    /// Lays `values` down in the storage.
    pub fn init(&self, values: &[Kv]) {
        for kv in values {
            let value = kv.value.as_deref().unwrap_or_default();
            self.mem.set(kv.cf, &self.stored_key(kv), value);
        }
    }

    /// Runs each request in turn; each must not fail outright.
    pub fn run_requests<R: TxnRequest>(&self, reqs: Vec<R>) -> Vec<R::Response> {
        reqs.iter()
            .map(|req| req.run(&self.server).expect("request failed"))
            .collect()
    }

    pub fn run_one_request<R: TxnRequest>(&self, req: R) -> R::Response {
        self.run_requests(vec![req]).pop().expect("one response")
    }

    pub fn next_ts(&mut self) -> u64 {
        self.prev_ts += 1;
        self.prev_ts
    }

    /// The latest timestamp as a byte (the tests' timestamps fit one).
    pub fn ts(&self) -> u8 {
        self.prev_ts as u8
    }

    /// Each key holds its value, or (no value given) is as `init` left it.
    pub fn assert(&self, kvs: &[Kv]) {
        for kv in kvs {
            let key = self.stored_key(kv);
            match &kv.value {
                None => assert!(
                    !self.mem.has_changed(kv.cf, &key),
                    "{} key {:?} (stored as {key:?}) changed",
                    kv.cf,
                    kv.key
                ),
                Some(value) => assert_eq!(
                    Some(value.clone()),
                    self.mem.get(kv.cf, &key),
                    "{} key {:?} (stored as {key:?})",
                    kv.cf,
                    kv.key
                ),
            }
        }
    }

    pub fn assert_len(&self, cf: &str, size: usize) {
        assert_eq!(size, self.mem.len(cf), "number of keys in {cf}");
    }

    pub fn assert_lens(&self, def: usize, lock: usize, write: usize) {
        self.assert_len(CF_DEFAULT, def);
        self.assert_len(CF_LOCK, lock);
        self.assert_len(CF_WRITE, write);
    }

    /// A prewrite at the next timestamp, primary key `[1]`.
    pub fn prewrite_request(&mut self, muts: Vec<Mutation>) -> PrewriteRequest {
        PrewriteRequest {
            primary_lock: vec![1],
            start_version: self.next_ts(),
            mutations: muts,
            ..Default::default()
        }
    }

    /// A commit of the next timestamp's transaction, at that timestamp + 10.
    pub fn commit_request(&mut self, keys: &[&[u8]]) -> CommitRequest {
        let start_version = self.next_ts();
        CommitRequest {
            start_version,
            commit_version: self.prev_ts + 10,
            keys: keys.iter().map(|k| k.to_vec()).collect(),
            ..Default::default()
        }
    }

    pub fn rollback_request(&mut self, keys: &[&[u8]]) -> BatchRollbackRequest {
        BatchRollbackRequest {
            start_version: self.next_ts(),
            keys: keys.iter().map(|k| k.to_vec()).collect(),
            ..Default::default()
        }
    }

    /// A status check of `key`'s transaction whose lock and current
    /// timestamps have physical times far apart (`0x05…` and `0x06…` in the
    /// high bytes) and the next timestamp as their low byte.
    pub fn check_txn_status_request(&mut self, key: &[u8]) -> CheckTxnStatusRequest {
        self.next_ts();
        CheckTxnStatusRequest {
            lock_ts: u64::from_be_bytes([0, 0, 5, 0, 0, 0, 0, self.ts()]),
            current_ts: u64::from_be_bytes([0, 0, 6, 0, 0, 0, 0, self.ts()]),
            primary_key: key.to_vec(),
            ..Default::default()
        }
    }

    pub fn scan_request(&mut self, start_key: &[u8], limit: u32) -> ScanRequest {
        ScanRequest {
            start_key: start_key.to_vec(),
            limit,
            version: self.next_ts(),
            ..Default::default()
        }
    }
}

pub(super) fn mutation(key: u8, value: &[u8], op: Op) -> Mutation {
    Mutation {
        op: op as i32,
        key: vec![key],
        value: value.to_vec(),
    }
}

pub(super) fn resolve_request(start_ts: u64, commit_ts: u64) -> ResolveLockRequest {
    ResolveLockRequest {
        start_version: start_ts,
        commit_version: commit_ts,
        ..Default::default()
    }
}
