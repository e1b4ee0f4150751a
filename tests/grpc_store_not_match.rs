//! Not a Go test: over gRPC, a request whose context names a peer on
//! another store is answered with the region error `store_not_match`; an
//! unknown region and a mismatched epoch get theirs. Each carries its
//! text in `message`. One store in this process (a raft server over a
//! mock scheduler), a tonic client on loopback; about a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kv::config::Config;
use kv::raftstore::scheduler_client::SchedulerClient;
use kv::server::raft_server::RaftServer;
use kv::server::service::LoopbackServer;
use proto::errorpb::StoreNotMatch;
use proto::kvrpcpb::{Context, RawGetRequest};
use proto::metapb::Peer;
use proto::tinykvpb::tiny_kv_client::TinyKvClient;
use scheduler_mock::MockSchedulerClient;

#[test]
fn raw_get_for_a_peer_on_another_store_is_store_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let mut conf = Config::new_test_config();
    conf.db_path = dir.path().to_string_lossy().into_owned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mock = Arc::new(MockSchedulerClient::new(1, 1));
    let scheduler: Arc<dyn SchedulerClient> = mock.clone();
    let mut server = RaftServer::start(conf, scheduler, rt.handle().clone()).unwrap();
    let store_id = server.store_id();
    let service = server.service();

    rt.block_on(async {
        let serving = LoopbackServer::start(service).await.unwrap();
        let mut client = TinyKvClient::connect(serving.url()).await.unwrap();

        // The scheduler knows the region once its leader reports it.
        let deadline = Instant::now() + Duration::from_secs(5);
        let region = loop {
            if let Ok((Some(region), _)) = mock.get_region(b"") {
                break region;
            }
            assert!(Instant::now() < deadline, "the region was never reported");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let peer = *region.peers.first().expect("its peer on this store");
        assert_eq!(peer.store_id, store_id);
        let request = |store_id| RawGetRequest {
            context: Some(Context {
                region_id: region.id,
                region_epoch: region.region_epoch,
                peer: Some(Peer {
                    id: peer.id,
                    store_id,
                }),
                ..Default::default()
            }),
            key: b"k".to_vec(),
            cf: "default".into(),
        };

        let resp = client
            .raw_get(request(store_id + 1))
            .await
            .unwrap()
            .into_inner();
        let err = resp.region_error.expect("a region error");
        assert!(!err.message.is_empty(), "{err:?}");
        assert_eq!(
            err.store_not_match,
            Some(StoreNotMatch {
                request_store_id: store_id + 1,
                actual_store_id: store_id,
            })
        );

        // A region this store does not have: region_not_found, with text.
        let mut unknown = request(store_id);
        unknown.context.as_mut().unwrap().region_id = region.id + 1000;
        let err = client
            .raw_get(unknown)
            .await
            .unwrap()
            .into_inner()
            .region_error
            .expect("a region error");
        assert!(!err.message.is_empty(), "{err:?}");
        assert_eq!(
            err.region_not_found.map(|r| r.region_id),
            Some(region.id + 1000)
        );

        // An epoch from the future (the store's is older): epoch_not_match,
        // with the text that says why.
        let mut stale = request(store_id);
        if let Some(epoch) = stale.context.as_mut().unwrap().region_epoch.as_mut() {
            epoch.version += 5;
        }
        let err = client
            .raw_get(stale)
            .await
            .unwrap()
            .into_inner()
            .region_error
            .expect("a region error");
        assert!(err.epoch_not_match.is_some(), "{err:?}");
        assert!(err.message.contains("epoch"), "{err:?}");

        // The same request for this store is served.
        loop {
            let resp = client
                .raw_get(request(store_id))
                .await
                .unwrap()
                .into_inner();
            if resp.region_error.is_none() {
                assert!(resp.error.is_empty() && resp.not_found, "{resp:?}");
                break;
            }
            assert!(Instant::now() < deadline, "never served: {resp:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let _ = serving.stop().await;
    });
    server.stop();
}
