//! The Percolator client's rules on one in-memory store: no raft, one
//! region over everything, so that what is tested is the client's commit
//! and lock-resolution logic alone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use proto::metapb::{Peer, Region};

use super::txn_client::*;
use super::Server;
use crate::storage::mem_storage::MemStorage;

/// One store, one region, timestamps from a counter in the TSO's layout.
#[derive(Clone)]
struct MemBackend {
    server: Arc<Server>,
    clock: Arc<AtomicU64>,
}

impl MemBackend {
    fn new() -> Self {
        MemBackend {
            server: Arc::new(Server::new(Arc::new(MemStorage::new()))),
            clock: Arc::new(AtomicU64::new(1 << 30)),
        }
    }
}

const PEER: Peer = Peer { id: 1, store_id: 1 };

impl TxnBackend for MemBackend {
    async fn timestamp(&mut self) -> anyhow::Result<u64> {
        // A millisecond a timestamp, so that lock TTLs run out.
        Ok(self.clock.fetch_add(1 << 18, Ordering::SeqCst))
    }

    async fn locate(&mut self, _key: &[u8]) -> anyhow::Result<(Region, Option<Peer>)> {
        let region = Region {
            id: 1,
            peers: vec![PEER],
            ..Default::default()
        };
        Ok((region, Some(PEER)))
    }

    async fn call(&mut self, _store_id: u64, req: KvRequest) -> anyhow::Result<KvResponse> {
        let s = &self.server;
        let resp = match req {
            KvRequest::Get(r) => KvResponse::Get(s.kv_get(&r)?),
            KvRequest::Scan(r) => KvResponse::Scan(s.kv_scan(&r)?),
            KvRequest::Prewrite(r) => KvResponse::Prewrite(s.kv_prewrite(&r)?),
            KvRequest::Commit(r) => KvResponse::Commit(s.kv_commit(&r)?),
            KvRequest::CheckTxnStatus(r) => KvResponse::CheckTxnStatus(s.kv_check_txn_status(&r)?),
            KvRequest::BatchRollback(r) => KvResponse::BatchRollback(s.kv_batch_rollback(&r)?),
            KvRequest::ResolveLock(r) => KvResponse::ResolveLock(s.kv_resolve_lock(&r)?),
        };
        Ok(resp)
    }
}

fn client(backend: &MemBackend) -> TxnClient<MemBackend> {
    let mut c = TxnClient::new(backend.clone());
    c.lock_ttl = 20;
    c
}

async fn latest(c: &mut TxnClient<MemBackend>, key: &[u8]) -> Option<Vec<u8>> {
    let ts = c.timestamp().await.unwrap();
    c.get_at(ts, key).await.unwrap()
}

async fn put_all(c: &mut TxnClient<MemBackend>, pairs: &[(&[u8], &[u8])]) -> Txn {
    let mut txn = c.begin().await.unwrap();
    for (k, v) in pairs {
        txn.put(k, v);
    }
    txn
}

#[tokio::test(flavor = "current_thread")]
async fn commit_writes_every_key_and_scan_sees_them() {
    let b = MemBackend::new();
    let mut c = client(&b);
    let txn = put_all(&mut c, &[(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]).await;
    c.commit(&txn).await.unwrap();
    let ts = c.timestamp().await.unwrap();
    let got = c.scan_at(ts, b"a", b"c", 10).await.unwrap();
    assert_eq!(
        got,
        vec![
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), b"2".to_vec())
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_write_after_the_start_aborts_the_later_commit() {
    let b = MemBackend::new();
    let (mut c1, mut c2) = (client(&b), client(&b));
    let slow = put_all(&mut c1, &[(b"k", b"slow")]).await;
    let fast = put_all(&mut c2, &[(b"k", b"fast")]).await;
    c2.commit(&fast).await.unwrap();
    assert!(matches!(
        c1.commit(&slow).await,
        Err(TxnError::Aborted { .. })
    ));
    assert_eq!(latest(&mut c1, b"k").await, Some(b"fast".to_vec()));
}

#[tokio::test(flavor = "current_thread")]
async fn a_reader_commits_the_secondaries_of_a_client_killed_after_its_primary() {
    let b = MemBackend::new();
    let mut dead = client(&b);
    let txn = put_all(&mut dead, &[(b"p", b"1"), (b"s", b"2")]).await;
    let commit_ts = dead
        .commit_and_die(&txn, DieAt::AfterPrimaryCommit)
        .await
        .unwrap();
    assert!(commit_ts.is_some());
    let mut reader = client(&b);
    assert_eq!(latest(&mut reader, b"s").await, Some(b"2".to_vec()));
    assert_eq!(reader.stats.locks_resolved, 1);
    let status = reader.txn_status(b"p", txn.start_ts()).await.unwrap();
    assert_eq!(status, TxnStatus::Committed(commit_ts.unwrap()));
}

#[tokio::test(flavor = "current_thread")]
async fn a_reader_rolls_back_a_client_killed_after_its_prewrites() {
    let b = MemBackend::new();
    let mut c = client(&b);
    let before = put_all(&mut c, &[(b"p", b"old"), (b"s", b"old")]).await;
    c.commit(&before).await.unwrap();
    let txn = put_all(&mut c, &[(b"p", b"new"), (b"s", b"new")]).await;
    assert_eq!(
        c.commit_and_die(&txn, DieAt::AfterPrewrite).await.unwrap(),
        None
    );
    // The reader waits until the 20 ms TTL has passed (the backend's
    // clock moves a millisecond a timestamp), then rolls the lock back.
    let mut reader = client(&b);
    assert_eq!(latest(&mut reader, b"s").await, Some(b"old".to_vec()));
    assert!(reader.stats.lock_waits > 0);
    let status = reader.txn_status(b"p", txn.start_ts()).await.unwrap();
    assert_eq!(status, TxnStatus::RolledBack);
    // The dead transaction can never commit now.
    assert_eq!(latest(&mut reader, b"p").await, Some(b"old".to_vec()));
}
