//! TinyKV's `engine_util_test.go`, plus tests of what the RocksDB port adds
//! (meta CF, snapshots, range deletion, safe points, engines lifecycle).
#![allow(non_snake_case)]

use std::sync::Arc;

use proto::eraftpb::Entry;

use super::*;

fn open_db(dir: &tempfile::TempDir) -> Arc<DB> {
    Arc::new(create_db(dir.path(), &EngineOptions::small()).unwrap())
}

fn collect(mut it: CfIterator<'_>, from: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    it.seek(from);
    while it.valid() {
        let item = it.item();
        out.push((item.key_copy(), item.value_copy()));
        it.next();
    }
    it.status().unwrap();
    out
}

fn kv(k: &str, v: &str) -> (Vec<u8>, Vec<u8>) {
    (k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

#[test]
fn TestEngineUtil() {
    let dir = tempfile::Builder::new()
        .prefix("engine_util")
        .tempdir()
        .unwrap();
    let db = open_db(&dir);

    let mut batch = WriteBatch::default();
    batch.set_cf(CF_DEFAULT, b"a", b"a1");
    batch.set_cf(CF_DEFAULT, b"b", b"b1");
    batch.set_cf(CF_DEFAULT, b"c", b"c1");
    batch.set_cf(CF_DEFAULT, b"d", b"d1");
    batch.set_cf(CF_WRITE, b"a", b"a2");
    batch.set_cf(CF_WRITE, b"b", b"b2");
    batch.set_cf(CF_WRITE, b"d", b"d2");
    batch.set_cf(CF_LOCK, b"a", b"a3");
    batch.set_cf(CF_LOCK, b"c", b"c3");
    batch.set_cf(CF_DEFAULT, b"e", b"e1");
    batch.delete_cf(CF_DEFAULT, b"e");
    batch.write_to_db(&db).unwrap();

    // Go expects badger.ErrKeyNotFound; absence is `Ok(None)` here.
    assert_eq!(get_cf(&db, CF_DEFAULT, b"e").unwrap(), None);

    put_cf(&db, CF_DEFAULT, b"e", b"e2").unwrap();
    assert_eq!(
        get_cf(&db, CF_DEFAULT, b"e").unwrap().as_deref(),
        Some(&b"e2"[..])
    );
    delete_cf(&db, CF_DEFAULT, b"e").unwrap();
    assert_eq!(get_cf(&db, CF_DEFAULT, b"e").unwrap(), None);

    // Go reads through one read transaction; a snapshot is its counterpart.
    let txn = DbSnapshot::new(db.clone());
    let mut default_iter = CfIterator::from_snapshot(&txn, CF_DEFAULT);
    default_iter.seek(b"a");
    let item = default_iter.item();
    assert_eq!(item.key(), b"a");
    assert_eq!(item.value(), b"a1");
    default_iter.next();
    let item = default_iter.item();
    assert_eq!(item.key(), b"b");
    assert_eq!(item.value(), b"b1");
    default_iter.next();
    let item = default_iter.item();
    assert_eq!(item.key(), b"c");
    assert_eq!(item.value(), b"c1");
    default_iter.next();
    let item = default_iter.item();
    assert_eq!(item.key(), b"d");
    assert_eq!(item.value(), b"d1");
    default_iter.next();
    assert!(!default_iter.valid());
    drop(default_iter);

    let mut write_iter = CfIterator::from_snapshot(&txn, CF_WRITE);
    write_iter.seek(b"b");
    let item = write_iter.item();
    assert_eq!(item.key(), b"b");
    assert_eq!(item.value(), b"b2");
    write_iter.next();
    let item = write_iter.item();
    assert_eq!(item.key(), b"d");
    assert_eq!(item.value(), b"d2");
    write_iter.next();
    assert!(!write_iter.valid());
    drop(write_iter);

    let mut lock_iter = CfIterator::from_snapshot(&txn, CF_LOCK);
    lock_iter.seek(b"d");
    assert!(!lock_iter.valid());
}

#[test]
fn empty_value_in_batch_deletes_but_put_cf_stores_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    put_cf(&db, CF_DEFAULT, b"k", b"v").unwrap();
    let mut wb = WriteBatch::new();
    wb.set_cf(CF_DEFAULT, b"k", b"");
    wb.must_write_to_db(&db);
    assert_eq!(get_cf(&db, CF_DEFAULT, b"k").unwrap(), None);

    put_cf(&db, CF_DEFAULT, b"k", b"").unwrap();
    assert_eq!(get_cf(&db, CF_DEFAULT, b"k").unwrap(), Some(vec![]));
}

#[test]
fn meta_keys_live_apart_from_user_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let key = [0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 1, 0x01];
    let entry = Entry {
        term: 3,
        index: 7,
        data: b"x".to_vec(),
        ..Default::default()
    };

    put_cf(&db, CF_DEFAULT, &key, b"user value").unwrap();
    put_meta(&db, &key, &entry).unwrap();
    assert_eq!(get_meta::<Entry>(&db, &key).unwrap(), Some(entry.clone()));
    assert_eq!(
        get_cf(&db, CF_DEFAULT, &key).unwrap().as_deref(),
        Some(&b"user value"[..])
    );
    assert_eq!(
        get_cf(&db, CF_RAFT, &key).unwrap(),
        Some(prost::Message::encode_to_vec(&entry))
    );

    // delete_range over user keys leaves the meta key alone.
    delete_range(&db, b"", b"").unwrap();
    assert_eq!(get_cf(&db, CF_DEFAULT, &key).unwrap(), None);
    assert_eq!(get_meta::<Entry>(&db, &key).unwrap(), Some(entry));

    delete_meta(&db, &key).unwrap();
    assert_eq!(get_meta::<Entry>(&db, &key).unwrap(), None);
    assert!(is_db_empty(&db).unwrap());

    // A value that is not the requested message is a decode error.
    put_cf(&db, CF_RAFT, b"bad", &[0xFF, 0xFF]).unwrap();
    assert!(matches!(
        get_meta::<Entry>(&db, b"bad"),
        Err(EngineError::Decode { .. })
    ));
}

#[test]
fn unknown_cf_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    assert!(matches!(
        get_cf(&db, "nope", b"k"),
        Err(EngineError::UnknownCf(_))
    ));
    let mut wb = WriteBatch::new();
    wb.set_cf(CF_DEFAULT, b"a", b"1");
    wb.set_cf("nope", b"k", b"v");
    assert!(matches!(
        wb.write_to_db(&db),
        Err(EngineError::UnknownCf(_))
    ));
    // Nothing of the failed batch was written.
    assert_eq!(get_cf(&db, CF_DEFAULT, b"a").unwrap(), None);
}

#[test]
fn safe_point_rollback_and_reset() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let mut wb = WriteBatch::new();
    assert!(wb.is_empty());
    wb.set_cf(CF_DEFAULT, b"a", b"1");
    wb.set_safe_point();
    wb.set_cf(CF_DEFAULT, b"b", b"2");
    wb.delete_meta(b"m");
    assert_eq!(wb.len(), 3);
    assert_eq!(wb.data_size(), 1 + 1 + 1 + 1 + 1);
    wb.rollback_to_safe_point();
    assert_eq!(wb.len(), 1);
    assert_eq!(wb.data_size(), 2);
    // The mark stays: a second command can be rolled back too.
    wb.set_cf(CF_DEFAULT, b"c", b"3");
    wb.rollback_to_safe_point();
    assert_eq!(wb.len(), 1);
    wb.write_to_db_opt(&db, true).unwrap();
    assert_eq!(get_cf(&db, CF_DEFAULT, b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(get_cf(&db, CF_DEFAULT, b"b").unwrap(), None);

    wb.set_sync(true);
    wb.reset();
    assert!(wb.is_empty() && wb.data_size() == 0 && wb.sync());
    wb.rollback_to_safe_point();
    assert!(wb.is_empty());
    // Writing an empty batch is a no-op.
    wb.write_to_db(&db).unwrap();
}

#[test]
fn snapshot_is_isolated_shareable_and_keeps_db_alive() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    put_cf(&db, CF_DEFAULT, b"k", b"old").unwrap();
    put_meta(
        &db,
        b"m",
        &Entry {
            index: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let snap = DbSnapshot::new(db.clone());
    put_cf(&db, CF_DEFAULT, b"k", b"new").unwrap();
    put_cf(&db, CF_DEFAULT, b"k2", b"v2").unwrap();
    delete_meta(&db, b"m").unwrap();

    assert_eq!(
        snap.get_cf(CF_DEFAULT, b"k").unwrap(),
        Some(b"old".to_vec())
    );
    assert_eq!(snap.get_cf(CF_DEFAULT, b"k2").unwrap(), None);
    assert_eq!(
        snap.get_meta::<Entry>(b"m").unwrap().map(|e| e.index),
        Some(1)
    );
    assert_eq!(collect(snap.iter_cf(CF_DEFAULT), b""), vec![kv("k", "old")]);

    // The last handle to the DB goes; the snapshot still reads, on another
    // thread, through a clone.
    drop(db);
    let clone = snap.clone();
    let got = std::thread::spawn(move || clone.get_cf(CF_DEFAULT, b"k").unwrap())
        .join()
        .unwrap();
    assert_eq!(got, Some(b"old".to_vec()));
    drop(snap);
    // Everything released: the directory can be opened again.
    let db = open_db(&dir);
    assert_eq!(
        get_cf(&db, CF_DEFAULT, b"k").unwrap(),
        Some(b"new".to_vec())
    );
}

#[test]
fn iterator_bounds_and_db_iteration() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    for k in ["a", "b", "c", "d"] {
        put_cf(&db, CF_WRITE, k.as_bytes(), k.as_bytes()).unwrap();
    }
    let all = collect(CfIterator::new(&db, CF_WRITE), b"");
    assert_eq!(all.len(), 4);
    let bounded = collect(CfIterator::with_upper_bound(&db, CF_WRITE, b"c"), b"a");
    assert_eq!(bounded, vec![kv("a", "a"), kv("b", "b")]);
    let snap = DbSnapshot::new(db.clone());
    let bounded = collect(snap.iter_cf_with_upper_bound(CF_WRITE, b"d"), b"b");
    assert_eq!(bounded, vec![kv("b", "b"), kv("c", "c")]);
    let mut it = CfIterator::new(&db, CF_WRITE);
    it.seek_to_first();
    assert_eq!((it.key(), it.value()), (&b"a"[..], &b"a"[..]));
    // Other CFs are empty.
    assert!(collect(CfIterator::new(&db, CF_LOCK), b"").is_empty());
}

#[test]
fn delete_range_over_data_cfs() {
    let dir = tempfile::tempdir().unwrap();
    let db = open_db(&dir);
    let keys = ["a", "b", "c", "d", "e"];
    for cf in CFS {
        for k in keys {
            put_cf(&db, cf, k.as_bytes(), b"v").unwrap();
        }
    }
    let left = |cf| {
        collect(CfIterator::new(&db, cf), b"")
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
    };
    let keys_of = |ks: &[&str]| ks.iter().map(|k| k.as_bytes().to_vec()).collect::<Vec<_>>();

    delete_range(&db, b"b", b"d").unwrap();
    for cf in CFS {
        assert_eq!(left(cf), keys_of(&["a", "d", "e"]));
    }
    // Empty end: to the end of each CF, last key included.
    delete_range(&db, b"d", b"").unwrap();
    for cf in CFS {
        assert_eq!(left(cf), keys_of(&["a"]));
    }
    // Start past the last key: nothing happens.
    delete_range(&db, b"z", b"").unwrap();
    delete_range(&db, b"x", b"b").unwrap();
    assert_eq!(left(CF_DEFAULT), keys_of(&["a"]));
    // Empty start: from the beginning.
    delete_range(&db, b"", b"").unwrap();
    assert!(is_db_empty(&db).unwrap());
}

#[test]
fn exceed_end_key_treats_empty_end_as_infinity() {
    assert!(!exceed_end_key(b"zzz", b""));
    assert!(exceed_end_key(b"b", b"b"));
    assert!(exceed_end_key(b"c", b"b"));
    assert!(!exceed_end_key(b"a", b"b"));
    assert!(!exceed_end_key(b"", b"a"));
}

#[test]
fn engines_write_close_reopen_destroy() {
    let dir = tempfile::tempdir().unwrap();
    let kv_path = dir.path().join("kv").to_str().unwrap().to_string();
    let raft_path = dir.path().join("raft").to_str().unwrap().to_string();
    let engines = Engines::open(&kv_path, &raft_path, &EngineOptions::small()).unwrap();
    assert!(is_db_empty(&engines.kv).unwrap() && is_db_empty(&engines.raft).unwrap());

    let mut kv_wb = WriteBatch::new();
    kv_wb.set_cf(CF_DEFAULT, b"k", b"v");
    kv_wb.set_meta(
        b"apply",
        &Entry {
            index: 5,
            ..Default::default()
        },
    );
    engines.write_kv(&kv_wb).unwrap();
    let mut raft_wb = WriteBatch::new();
    raft_wb.set_sync(true);
    raft_wb.set_meta(
        b"log",
        &Entry {
            index: 6,
            ..Default::default()
        },
    );
    engines.write_raft(&raft_wb).unwrap();
    assert!(engines.approximate_size() > 0);

    // A clone alive elsewhere keeps the DBs open.
    let other = engines.clone();
    assert!(matches!(
        engines.close(),
        Err(EngineError::InUse { refs: 1, .. })
    ));
    other.close().unwrap();

    let engines = Engines::open(&kv_path, &raft_path, &EngineOptions::small()).unwrap();
    assert_eq!(
        get_cf(&engines.kv, CF_DEFAULT, b"k").unwrap(),
        Some(b"v".to_vec())
    );
    assert_eq!(
        get_meta::<Entry>(&engines.kv, b"apply")
            .unwrap()
            .map(|e| e.index),
        Some(5)
    );
    assert_eq!(
        get_meta::<Entry>(&engines.raft, b"log")
            .unwrap()
            .map(|e| e.index),
        Some(6)
    );
    assert_eq!(get_meta::<Entry>(&engines.raft, b"apply").unwrap(), None);
    engines.destroy().unwrap();
    assert!(!std::path::Path::new(&kv_path).exists());
    assert!(!std::path::Path::new(&raft_path).exists());
}

/// Bytes in the RocksDB write-ahead logs (`*.log`) of a DB directory.
fn wal_bytes(path: &str) -> u64 {
    std::fs::read_dir(path)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

#[test]
fn engines_without_a_log_keep_their_writes_across_a_close() {
    let dir = tempfile::tempdir().unwrap();
    let kv_path = dir.path().join("kv").to_str().unwrap().to_string();
    let raft_path = dir.path().join("raft").to_str().unwrap().to_string();
    let opts = EngineOptions {
        write_ahead_log: false,
        ..EngineOptions::small()
    };
    let engines = Engines::open(&kv_path, &raft_path, &opts).unwrap();
    let logged = (wal_bytes(&kv_path), wal_bytes(&raft_path));

    let mut kv_wb = WriteBatch::new();
    kv_wb.set_cf(CF_DEFAULT, b"k", b"v");
    engines.write_kv(&kv_wb).unwrap();
    // A batch asking for an fsync is written too: there is no log to sync.
    let mut raft_wb = WriteBatch::new();
    raft_wb.set_sync(true);
    raft_wb.set_cf(CF_RAFT, b"log", b"entry");
    engines.write_raft(&raft_wb).unwrap();
    assert_eq!((wal_bytes(&kv_path), wal_bytes(&raft_path)), logged);
    engines.close().unwrap();

    // Closing flushed the memtables: a reopen (with or without a log)
    // reads both writes.
    let engines = Engines::open(&kv_path, &raft_path, &EngineOptions::small()).unwrap();
    assert_eq!(
        get_cf(&engines.kv, CF_DEFAULT, b"k").unwrap(),
        Some(b"v".to_vec())
    );
    assert_eq!(
        get_cf(&engines.raft, CF_RAFT, b"log").unwrap(),
        Some(b"entry".to_vec())
    );
    engines.destroy().unwrap();
}

#[test]
fn types_are_shareable() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<DB>();
    send_sync::<Engines>();
    send_sync::<DbSnapshot>();
    send_sync::<WriteBatch>();
}
