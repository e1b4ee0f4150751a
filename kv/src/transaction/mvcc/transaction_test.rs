//! TinyKV's `mvcc/transaction_test.go`: the key encoding and `MvccTxn`.
#![allow(non_snake_case)]

use pretty_assertions::assert_eq;
use proto::kvrpcpb::Context;

use super::*;
use crate::storage::mem_storage::MemStorage;
use crate::storage::{Modify, Storage};
use crate::util::engine_util::{CF_DEFAULT, CF_LOCK, CF_WRITE};

#[test]
fn TestEncodeKey() {
    assert_eq!(
        vec![0, 0, 0, 0, 0, 0, 0, 0, 247, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        encode_key(&[], 0)
    );
    assert_eq!(
        vec![42, 0, 0, 0, 0, 0, 0, 0, 248, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        encode_key(&[42], 0)
    );
    assert_eq!(
        vec![42, 0, 5, 0, 0, 0, 0, 0, 250, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        encode_key(&[42, 0, 5], 0)
    );
    assert_eq!(
        vec![42, 0, 0, 0, 0, 0, 0, 0, 248, 0, 0, 39, 154, 52, 120, 65, 255],
        encode_key(&[42], !43543258743295u64)
    );
    assert_eq!(
        vec![42, 0, 5, 0, 0, 0, 0, 0, 250, 0, 0, 0, 0, 5, 226, 221, 76],
        encode_key(&[42, 0, 5], !98753868u64)
    );

    // Newer versions of a key sort first, and every version of a key sorts
    // before any greater key.
    assert!(encode_key(&[42], 238) < encode_key(&[200], 0));
    assert!(encode_key(&[42], 238) < encode_key(&[42, 0], 0));
}

#[test]
fn TestDecodeKey() {
    assert_eq!(Vec::<u8>::new(), decode_user_key(&encode_key(&[], 0)));
    assert_eq!(vec![42], decode_user_key(&encode_key(&[42], 0)));
    assert_eq!(vec![42, 0, 5], decode_user_key(&encode_key(&[42, 0, 5], 0)));
    assert_eq!(
        vec![42],
        decode_user_key(&encode_key(&[42], 2342342355436234))
    );
    assert_eq!(
        vec![42, 0, 5],
        decode_user_key(&encode_key(&[42, 0, 5], 234234))
    );
}

/// A transaction at `start_ts` over a fresh memory storage that `init`
/// (if any) has filled.
fn test_txn(start_ts: u64, init: Option<&dyn Fn(&MemStorage)>) -> MvccTxn {
    let mem = MemStorage::new();
    if let Some(init) = init {
        init(&mem);
    }
    let reader = mem.reader(&Context::default()).expect("mem reader");
    MvccTxn::new(reader, start_ts)
}

fn assert_put_in_txn(txn: &MvccTxn, key: &[u8], value: &[u8], cf: &str) {
    assert_eq!(txn.writes(), &[Modify::put(cf, key, value)]);
}

fn assert_delete_in_txn(txn: &MvccTxn, key: &[u8], cf: &str) {
    assert_eq!(txn.writes(), &[Modify::delete(cf, key)]);
}

#[test]
fn TestPutLock4A() {
    let mut txn = test_txn(42, None);
    let lock = Lock {
        primary: vec![16],
        ts: 100,
        ttl: 100000,
        kind: WriteKind::Rollback,
    };

    txn.put_lock(&[1], &lock);
    assert_put_in_txn(&txn, &[1], &lock.to_bytes(), CF_LOCK);
}

#[test]
fn TestPutWrite4A() {
    let mut txn = test_txn(0, None);
    let write = Write {
        start_ts: 100,
        kind: WriteKind::Delete,
    };

    txn.put_write(&[16, 240], 0, &write);
    assert_put_in_txn(
        &txn,
        &encode_key(&[16, 240], 0),
        &write.to_bytes(),
        CF_WRITE,
    );
}

#[test]
fn TestPutValue4A() {
    let mut txn = test_txn(453325345, None);
    let value = [1, 1, 2, 3, 5, 8, 13];

    txn.put_value(&[32], &value);
    assert_put_in_txn(&txn, &encode_key(&[32], 453325345), &value, CF_DEFAULT);
}

#[test]
fn TestGetLock4A() {
    let lock = Lock {
        primary: vec![16],
        ts: 100,
        ttl: 100000,
        kind: WriteKind::Rollback,
    };
    let txn = test_txn(
        42,
        Some(&|m: &MemStorage| m.set(CF_LOCK, &[1], &lock.to_bytes())),
    );

    let got_lock = txn.get_lock(&[1]).expect("get_lock");
    assert_eq!(Some(lock), got_lock);

    let empty_lock = txn.get_lock(&[2]).expect("get_lock");
    assert_eq!(None, empty_lock);
}

#[test]
fn TestDeleteLock4A() {
    let mut txn = test_txn(42, None);
    txn.delete_lock(&[1]);
    assert_delete_in_txn(&txn, &[1], CF_LOCK);
}

#[test]
fn TestDeleteValue4A() {
    let mut txn = test_txn(63454245, None);
    txn.delete_value(&[17, 255, 0]);
    assert_delete_in_txn(&txn, &encode_key(&[17, 255, 0], 63454245), CF_DEFAULT);
}

fn single_entry(m: &MemStorage) {
    m.set(CF_DEFAULT, &encode_key(&[16, 240], 40), &[1, 2, 3]);
    let write = Write {
        start_ts: 40,
        kind: WriteKind::Put,
    };
    m.set(CF_WRITE, &encode_key(&[16, 240], 42), &write.to_bytes());
}

#[test]
fn TestGetValueSimple4A() {
    let txn = test_txn(43, Some(&single_entry));

    let value = txn.get_value(&[16, 240]).expect("get_value");
    assert_eq!(Some(vec![1, 2, 3]), value);
}

#[test]
fn TestGetValueMissing4A() {
    let txn = test_txn(43, Some(&single_entry));

    let value = txn.get_value(&[16, 241]).expect("get_value");
    assert_eq!(None, value);
}

#[test]
fn TestGetValueTooEarly4A() {
    let txn = test_txn(41, Some(&single_entry));

    let value = txn.get_value(&[16, 240]).expect("get_value");
    assert_eq!(None, value);
}

fn two_entries(m: &MemStorage) {
    m.set(CF_DEFAULT, &encode_key(&[16, 240], 40), &[1, 2, 3]);
    let write1 = Write {
        start_ts: 40,
        kind: WriteKind::Put,
    };
    m.set(CF_WRITE, &encode_key(&[16, 240], 42), &write1.to_bytes());

    m.set(CF_DEFAULT, &encode_key(&[16, 240], 50), &[255, 0, 255]);
    let write2 = Write {
        start_ts: 50,
        kind: WriteKind::Put,
    };
    m.set(CF_WRITE, &encode_key(&[16, 240], 52), &write2.to_bytes());
}

#[test]
fn TestGetValueOverwritten4A() {
    let txn = test_txn(52, Some(&two_entries));

    let value = txn.get_value(&[16, 240]).expect("get_value");
    assert_eq!(Some(vec![255, 0, 255]), value);
}

#[test]
fn TestGetValueNotOverwritten4A() {
    let txn = test_txn(50, Some(&two_entries));

    let value = txn.get_value(&[16, 240]).expect("get_value");
    assert_eq!(Some(vec![1, 2, 3]), value);
}

fn deleted(m: &MemStorage) {
    m.set(CF_DEFAULT, &encode_key(&[16, 240], 40), &[1, 2, 3]);
    let write1 = Write {
        start_ts: 40,
        kind: WriteKind::Put,
    };
    m.set(CF_WRITE, &encode_key(&[16, 240], 42), &write1.to_bytes());

    let write2 = Write {
        start_ts: 50,
        kind: WriteKind::Delete,
    };
    m.set(CF_WRITE, &encode_key(&[16, 240], 52), &write2.to_bytes());
}

#[test]
fn TestGetValueDeleted4A() {
    let txn = test_txn(500, Some(&deleted));

    let value = txn.get_value(&[16, 240]).expect("get_value");
    assert_eq!(None, value);
}

#[test]
fn TestGetValueNotDeleted4A() {
    let txn = test_txn(45, Some(&deleted));

    let value = txn.get_value(&[16, 240]).expect("get_value");
    assert_eq!(Some(vec![1, 2, 3]), value);
}

#[test]
fn TestCurrentWrite4A() {
    let mut txn = test_txn(50, Some(&two_entries));

    let found = txn.current_write(&[16, 240]).expect("current_write");
    assert_eq!(
        Some((
            Write {
                start_ts: 50,
                kind: WriteKind::Put,
            },
            52
        )),
        found
    );

    txn.start_ts = 40;
    let found = txn.current_write(&[16, 240]).expect("current_write");
    assert_eq!(
        Some((
            Write {
                start_ts: 40,
                kind: WriteKind::Put,
            },
            42
        )),
        found
    );

    txn.start_ts = 41;
    let found = txn.current_write(&[16, 240]).expect("current_write");
    assert_eq!(None, found);
}

#[test]
fn TestMostRecentWrite4A() {
    // Nothing stored.
    let txn = test_txn(50, None);
    let found = txn
        .most_recent_write(&[16, 240])
        .expect("most_recent_write");
    assert_eq!(None, found);

    // The key has two versions: the newer wins.
    let txn = test_txn(50, Some(&two_entries));
    let found = txn
        .most_recent_write(&[16, 240])
        .expect("most_recent_write");
    assert_eq!(
        Some((
            Write {
                start_ts: 50,
                kind: WriteKind::Put,
            },
            52
        )),
        found
    );
    // Another key has none.
    let found = txn.most_recent_write(&[16]).expect("most_recent_write");
    assert_eq!(None, found);

    // A delete is a write too.
    let txn = test_txn(50, Some(&deleted));
    let found = txn
        .most_recent_write(&[16, 240])
        .expect("most_recent_write");
    assert_eq!(
        Some((
            Write {
                start_ts: 50,
                kind: WriteKind::Delete,
            },
            52
        )),
        found
    );

    // The transaction's own timestamp plays no part, high or low.
    let txn = test_txn(5000, Some(&two_entries));
    let found = txn
        .most_recent_write(&[16, 240])
        .expect("most_recent_write");
    assert_eq!(
        Some((
            Write {
                start_ts: 50,
                kind: WriteKind::Put,
            },
            52
        )),
        found
    );

    let txn = test_txn(1, Some(&two_entries));
    let found = txn
        .most_recent_write(&[16, 240])
        .expect("most_recent_write");
    assert_eq!(
        Some((
            Write {
                start_ts: 50,
                kind: WriteKind::Put,
            },
            52
        )),
        found
    );
}
