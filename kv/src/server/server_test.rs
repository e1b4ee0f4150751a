//! TinyKV's kv/server/server_test.go: project 1's raw API over the
//! standalone storage.
#![allow(non_snake_case)]

use std::sync::Arc;

use proto::kvrpcpb::{RawDeleteRequest, RawGetRequest, RawPutRequest, RawScanRequest};

use super::Server;
use crate::config::Config;
use crate::storage::standalone_storage::StandaloneStorage;
use crate::storage::{Modify, Storage};
use crate::util::engine_util::{CF_DEFAULT, CF_WRITE};

/// Go's tests share `/tmp/badger` and run one at a time; ours run in
/// parallel, so each gets its own directory (removed on drop, like Go's
/// `cleanUpTestData`).
struct Fixture {
    s: Arc<dyn Storage>,
    server: Server,
    _dir: tempfile::TempDir,
}

fn setup() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut conf = Config::new_test_config();
    conf.db_path = dir.path().to_string_lossy().into_owned();
    let mut s = StandaloneStorage::new(&conf);
    s.start().expect("start standalone storage");
    let s: Arc<dyn Storage> = Arc::new(s);
    let server = Server::new(s.clone());
    Fixture {
        s,
        server,
        _dir: dir,
    }
}

fn set(s: &Arc<dyn Storage>, cf: &str, key: &[u8], value: &[u8]) -> crate::Result<()> {
    s.write(&Default::default(), vec![Modify::put(cf, key, value)])
}

fn get(s: &Arc<dyn Storage>, cf: &str, key: &[u8]) -> crate::Result<Option<Vec<u8>>> {
    let reader = s.reader(&Default::default())?;
    reader.get_cf(cf, key)
}

#[test]
fn TestRawGet1() {
    let f = setup();
    let cf = CF_DEFAULT;
    set(&f.s, cf, &[99], &[42]).unwrap();

    let req = RawGetRequest {
        key: vec![99],
        cf: cf.into(),
        ..Default::default()
    };
    let resp = f.server.raw_get(&req);
    assert!(resp.error.is_empty() && resp.region_error.is_none());
    assert_eq!(vec![42u8], resp.value);
}

#[test]
fn TestRawGetNotFound1() {
    let f = setup();
    let req = RawGetRequest {
        key: vec![99],
        cf: CF_DEFAULT.into(),
        ..Default::default()
    };
    let resp = f.server.raw_get(&req);
    assert!(resp.error.is_empty() && resp.region_error.is_none());
    assert!(resp.not_found);
}

#[test]
fn TestRawPut1() {
    let f = setup();
    let cf = CF_DEFAULT;
    let req = RawPutRequest {
        key: vec![99],
        value: vec![42],
        cf: cf.into(),
        ..Default::default()
    };
    let _ = f.server.raw_put(&req);

    let got = get(&f.s, cf, &[99]).unwrap();
    assert_eq!(Some(vec![42u8]), got);
}

#[test]
fn TestRawGetAfterRawPut1() {
    let f = setup();
    let put1 = RawPutRequest {
        key: vec![99],
        value: vec![42],
        cf: CF_DEFAULT.into(),
        ..Default::default()
    };
    let resp = f.server.raw_put(&put1);
    assert!(resp.error.is_empty() && resp.region_error.is_none());

    let put2 = RawPutRequest {
        key: vec![99],
        value: vec![44],
        cf: CF_WRITE.into(),
        ..Default::default()
    };
    let resp = f.server.raw_put(&put2);
    assert!(resp.error.is_empty() && resp.region_error.is_none());

    let get1 = RawGetRequest {
        key: vec![99],
        cf: CF_DEFAULT.into(),
        ..Default::default()
    };
    let resp = f.server.raw_get(&get1);
    assert!(resp.error.is_empty());
    assert_eq!(vec![42u8], resp.value);

    let get2 = RawGetRequest {
        key: vec![99],
        cf: CF_WRITE.into(),
        ..Default::default()
    };
    let resp = f.server.raw_get(&get2);
    assert!(resp.error.is_empty());
    assert_eq!(vec![44u8], resp.value);
}

#[test]
fn TestRawGetAfterRawDelete1() {
    let f = setup();
    let cf = CF_DEFAULT;
    assert!(set(&f.s, cf, &[99], &[42]).is_ok());

    let delete = RawDeleteRequest {
        key: vec![99],
        cf: cf.into(),
        ..Default::default()
    };
    let get = RawGetRequest {
        key: vec![99],
        cf: cf.into(),
        ..Default::default()
    };

    let resp = f.server.raw_delete(&delete);
    assert!(resp.error.is_empty() && resp.region_error.is_none());

    let resp = f.server.raw_get(&get);
    assert!(resp.error.is_empty());
    assert!(resp.not_found);
}

#[test]
fn TestRawDelete1() {
    let f = setup();
    let cf = CF_DEFAULT;
    assert!(set(&f.s, cf, &[99], &[42]).is_ok());

    let req = RawDeleteRequest {
        key: vec![99],
        cf: cf.into(),
        ..Default::default()
    };
    let resp = f.server.raw_delete(&req);
    assert!(resp.error.is_empty() && resp.region_error.is_none());

    let val = get(&f.s, cf, &[99]);
    assert!(val.is_ok());
    assert_eq!(None, val.unwrap());
}

fn assert_kvs(kvs: &[proto::kvrpcpb::KvPair], expected_keys: &[&[u8]]) {
    for (i, kv) in kvs.iter().enumerate() {
        assert_eq!(expected_keys[i], kv.key.as_slice());
        let mut value = vec![233u8];
        value.extend_from_slice(expected_keys[i]);
        assert_eq!(value, kv.value);
    }
}

#[test]
fn TestRawScan1() {
    let f = setup();
    let cf = CF_DEFAULT;
    for i in 1..=5u8 {
        set(&f.s, cf, &[i], &[233, i]).unwrap();
    }

    let req = RawScanRequest {
        start_key: vec![1],
        limit: 3,
        cf: cf.into(),
        ..Default::default()
    };
    let resp = f.server.raw_scan(&req);
    assert!(resp.error.is_empty() && resp.region_error.is_none());

    assert_eq!(3, resp.kvs.len());
    assert_kvs(&resp.kvs, &[&[1], &[2], &[3]]);
}

#[test]
fn TestRawScanAfterRawPut1() {
    let f = setup();
    let cf = CF_DEFAULT;
    for i in 1..=4u8 {
        assert!(set(&f.s, cf, &[i], &[233, i]).is_ok());
    }

    let put = RawPutRequest {
        key: vec![5],
        value: vec![233, 5],
        cf: cf.into(),
        ..Default::default()
    };
    let scan = RawScanRequest {
        start_key: vec![1],
        limit: 10,
        cf: cf.into(),
        ..Default::default()
    };
    let expected_keys: [&[u8]; 5] = [&[1], &[2], &[3], &[4], &[5]];

    let resp = f.server.raw_put(&put);
    assert!(resp.error.is_empty() && resp.region_error.is_none());

    let resp = f.server.raw_scan(&scan);
    assert!(resp.error.is_empty() && resp.region_error.is_none());
    assert_eq!(expected_keys.len(), resp.kvs.len());
    assert_kvs(&resp.kvs, &expected_keys);
}

#[test]
fn TestRawScanAfterRawDelete1() {
    let f = setup();
    let cf = CF_DEFAULT;
    for i in 1..=4u8 {
        assert!(set(&f.s, cf, &[i], &[233, i]).is_ok());
    }

    let delete = RawDeleteRequest {
        key: vec![3],
        cf: cf.into(),
        ..Default::default()
    };
    let scan = RawScanRequest {
        start_key: vec![1],
        limit: 10,
        cf: cf.into(),
        ..Default::default()
    };
    let expected_keys: [&[u8]; 3] = [&[1], &[2], &[4]];

    let resp = f.server.raw_delete(&delete);
    assert!(resp.error.is_empty() && resp.region_error.is_none());

    let resp = f.server.raw_scan(&scan);
    assert!(resp.error.is_empty() && resp.region_error.is_none());
    assert_eq!(expected_keys.len(), resp.kvs.len());
    assert_kvs(&resp.kvs, &expected_keys);
}

#[test]
fn TestIterWithRawDelete1() {
    let f = setup();
    let cf = CF_DEFAULT;
    for i in 1..=4u8 {
        assert!(set(&f.s, cf, &[i], &[233, i]).is_ok());
    }

    // The reader (and its iterator) is a snapshot taken before the delete.
    let reader = f.s.reader(&Default::default()).expect("reader");
    let mut it = reader.iter_cf(cf);

    let delete = RawDeleteRequest {
        key: vec![3],
        cf: cf.into(),
        ..Default::default()
    };
    let resp = f.server.raw_delete(&delete);
    assert!(resp.error.is_empty() && resp.region_error.is_none());

    let expected_keys: [&[u8]; 4] = [&[1], &[2], &[3], &[4]];
    let mut i = 0;
    it.seek(&[1]);
    while it.valid() {
        assert_eq!(expected_keys[i], it.key());
        i += 1;
        it.next();
    }
}

// Not in Go: bad input is answered in the response, never a panic.
#[test]
fn test_raw_api_rejects_unknown_column_family() {
    let f = setup();
    let resp = f.server.raw_put(&RawPutRequest {
        key: vec![1],
        value: vec![2],
        cf: "raft".into(),
        ..Default::default()
    });
    assert!(resp.error.contains("invalid column family"), "{resp:?}");
    let resp = f.server.raw_get(&RawGetRequest {
        key: vec![1],
        cf: "nope".into(),
        ..Default::default()
    });
    assert!(resp.error.contains("invalid column family"), "{resp:?}");
    let resp = f.server.raw_scan(&RawScanRequest {
        start_key: vec![],
        limit: 10,
        cf: String::new(),
        ..Default::default()
    });
    assert!(resp.error.contains("invalid column family"), "{resp:?}");
    assert!(resp.kvs.is_empty());
}
