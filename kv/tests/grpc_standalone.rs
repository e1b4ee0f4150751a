//! The raw API over real gRPC: a standalone tinykv server on a loopback
//! port and a tonic client, including bad input answered in the response.

use std::sync::Arc;

use kv::config::Config;
use kv::server::service::{LoopbackServer, TinyKvService};
use kv::server::Server;
use kv::storage::standalone_storage::StandaloneStorage;
use kv::storage::Storage;
use proto::kvrpcpb::{RawDeleteRequest, RawGetRequest, RawPutRequest, RawScanRequest};
use proto::tinykvpb::tiny_kv_client::TinyKvClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_api_over_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let mut conf = Config::new_test_config();
    conf.db_path = dir.path().to_string_lossy().into_owned();
    let mut storage = StandaloneStorage::new(&conf);
    storage.start().unwrap();
    let storage: Arc<dyn Storage> = Arc::new(storage);
    let service = TinyKvService::new(Arc::new(Server::new(storage)));
    let server = LoopbackServer::start(service).await.unwrap();

    let mut client = TinyKvClient::connect(server.url()).await.unwrap();
    for i in 0..100u32 {
        let resp = client
            .raw_put(RawPutRequest {
                key: format!("k{i:03}").into_bytes(),
                value: format!("v{i}").into_bytes(),
                cf: "default".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            resp.error.is_empty() && resp.region_error.is_none(),
            "{resp:?}"
        );
    }
    let get = |key: &str| RawGetRequest {
        key: key.as_bytes().to_vec(),
        cf: "default".into(),
        ..Default::default()
    };
    let resp = client.raw_get(get("k042")).await.unwrap().into_inner();
    assert_eq!(resp.value, b"v42");
    assert!(!resp.not_found);

    let resp = client
        .raw_delete(RawDeleteRequest {
            key: b"k042".to_vec(),
            cf: "default".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.error.is_empty());
    assert!(
        client
            .raw_get(get("k042"))
            .await
            .unwrap()
            .into_inner()
            .not_found
    );

    let resp = client
        .raw_scan(RawScanRequest {
            start_key: b"k040".to_vec(),
            limit: 4,
            cf: "default".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let keys: Vec<_> = resp.kvs.iter().map(|kv| kv.key.clone()).collect();
    assert_eq!(
        keys,
        vec![
            b"k040".to_vec(),
            b"k041".to_vec(),
            b"k043".to_vec(),
            b"k044".to_vec()
        ]
    );

    // Bad input is an answer, not a broken server.
    let resp = client
        .raw_get(RawGetRequest {
            key: b"x".to_vec(),
            cf: "no-such-cf".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.error.contains("invalid column family"), "{resp:?}");
    // The transactional API (project 4) is served too: a read of a key
    // nobody wrote finds nothing, with no error.
    let resp = client
        .kv_get(proto::kvrpcpb::GetRequest {
            key: b"nobody".to_vec(),
            version: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        resp.not_found && resp.error.is_none() && resp.region_error.is_none(),
        "{resp:?}"
    );
    // The server still serves.
    let resp = client.raw_get(get("k001")).await.unwrap().into_inner();
    assert_eq!(resp.value, b"v1");

    server.stop().await.unwrap();
}
