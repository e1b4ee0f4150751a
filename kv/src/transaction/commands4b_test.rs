//! TinyKV's `commands4b_test.go`: KvGet, KvPrewrite and KvCommit.
#![allow(non_snake_case)]

use pretty_assertions::assert_eq;
use proto::kvrpcpb::*;

use super::commands_test::*;
use crate::transaction::mvcc::TS_MAX;
use crate::util::engine_util::{CF_DEFAULT, CF_LOCK, CF_WRITE};

fn get(key: &[u8], version: u64) -> GetRequest {
    GetRequest {
        key: key.to_vec(),
        version,
        ..Default::default()
    }
}

/// A value is read back.
#[test]
fn TestGetValue4B() {
    let builder = TestBuilder::new();
    builder.init(&[
        kv(CF_DEFAULT, [99], 50, [42]),
        kv(CF_WRITE, [99], 54, [1, 0, 0, 0, 0, 0, 0, 0, 50]),
    ]);

    let resp = builder.run_one_request(get(&[99], TS_MAX));

    assert_eq!(None, resp.region_error);
    assert_eq!(None, resp.error);
    assert_eq!(vec![42], resp.value);
}

/// The same read, three times.
#[test]
fn TestGetValueTs4B() {
    let builder = TestBuilder::new();
    builder.init(&[
        kv(CF_DEFAULT, [99], 50, [42]),
        kv(CF_WRITE, [99], 54, [1, 0, 0, 0, 0, 0, 0, 0, 50]),
    ]);

    let resps = builder.run_requests(vec![get(&[99], 100), get(&[99], 100), get(&[99], 100)]);
    for resp in resps {
        assert_eq!(None, resp.region_error);
        assert_eq!(None, resp.error);
        assert_eq!(vec![42], resp.value);
    }
}

/// Reading an empty store.
#[test]
fn TestGetEmpty4B() {
    let builder = TestBuilder::new();

    let resp = builder.run_one_request(get(&[100], TS_MAX));

    assert_eq!(None, resp.region_error);
    assert_eq!(None, resp.error);
    assert!(resp.not_found);
}

/// Reading a key between two others.
#[test]
fn TestGetNone4B() {
    let builder = TestBuilder::new();
    builder.init(&[
        kv(CF_DEFAULT, [99], 50, [42]),
        kv(CF_WRITE, [99], 54, [1, 0, 0, 0, 0, 0, 0, 0, 50]),
        kv(CF_DEFAULT, [101], 50, [42]),
        kv(CF_WRITE, [101], 54, [1, 0, 0, 0, 0, 0, 0, 0, 50]),
    ]);

    let resp = builder.run_one_request(get(&[100], TS_MAX));
    assert_eq!(None, resp.region_error);
    assert_eq!(None, resp.error);
    assert!(resp.not_found);
}

/// Each read sees the version committed last at or before its timestamp.
#[test]
fn TestGetVersions4B() {
    let builder = TestBuilder::new();
    builder.init(&[
        kv(CF_DEFAULT, [99], 50, [42]),
        kv(CF_WRITE, [99], 54, [1, 0, 0, 0, 0, 0, 0, 0, 50]),
        kv(CF_DEFAULT, [99], 60, [43]),
        kv(CF_WRITE, [99], 66, [1, 0, 0, 0, 0, 0, 0, 0, 60]),
        kv(CF_DEFAULT, [99], 120, [44]),
        kv(CF_WRITE, [99], 122, [1, 0, 0, 0, 0, 0, 0, 0, 120]),
    ]);

    let resps = builder.run_requests(vec![
        get(&[99], 40),
        get(&[99], 56),
        get(&[99], 60),
        get(&[99], 65),
        get(&[99], 66),
        get(&[99], 100),
    ]);

    for resp in &resps {
        assert_eq!(None, resp.region_error);
        assert_eq!(None, resp.error);
    }
    assert!(resps[0].not_found);
    assert_eq!(vec![42], resps[1].value);
    assert_eq!(vec![42], resps[2].value);
    assert_eq!(vec![42], resps[3].value);
    assert_eq!(vec![43], resps[4].value);
    assert_eq!(vec![43], resps[5].value);
}

/// Versions with a delete among them.
#[test]
fn TestGetDeleted4B() {
    let builder = TestBuilder::new();
    builder.init(&[
        kv(CF_DEFAULT, [99], 50, [42]),
        kv(CF_WRITE, [99], 54, [1, 0, 0, 0, 0, 0, 0, 0, 50]),
        kv(CF_DEFAULT, [99], 60, []),
        kv(CF_WRITE, [99], 66, [2, 0, 0, 0, 0, 0, 0, 0, 60]),
        kv(CF_DEFAULT, [99], 120, [44]),
        kv(CF_WRITE, [99], 122, [1, 0, 0, 0, 0, 0, 0, 0, 120]),
    ]);

    let resps = builder.run_requests(vec![
        get(&[99], 54),
        get(&[99], 60),
        get(&[99], 65),
        get(&[99], 66),
        get(&[99], 67),
        get(&[99], 122),
    ]);

    for resp in &resps {
        assert_eq!(None, resp.region_error);
        assert_eq!(None, resp.error);
    }
    assert_eq!(vec![42], resps[0].value);
    assert_eq!(vec![42], resps[1].value);
    assert_eq!(vec![42], resps[2].value);
    assert!(resps[3].not_found);
    assert!(resps[4].not_found);
    assert_eq!(vec![44], resps[5].value);
}

/// A key locked by another transaction: a read below the lock sees the
/// committed value, a read above it is told about the lock.
#[test]
fn TestGetLocked4B() {
    let builder = TestBuilder::new();
    builder.init(&[
        kv(CF_DEFAULT, [99], 50, [42]),
        kv(CF_WRITE, [99], 54, [1, 0, 0, 0, 0, 0, 0, 0, 50]),
        kv(
            CF_LOCK,
            [99],
            0,
            [99, 1, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]);

    let resps = builder.run_requests(vec![get(&[99], 55), get(&[99], 300)]);

    assert_eq!(None, resps[0].region_error);
    assert_eq!(None, resps[0].error);
    assert_eq!(vec![42], resps[0].value);

    assert_eq!(None, resps[1].region_error);
    let lock_info = resps[1]
        .error
        .as_ref()
        .and_then(|e| e.locked.as_ref())
        .expect("a locked error");
    assert_eq!(vec![99], lock_info.key);
    assert_eq!(vec![99], lock_info.primary_lock);
    assert_eq!(200, lock_info.lock_version);
}

/// A prewrite without mutations succeeds and writes nothing.
#[test]
fn TestEmptyPrewrite4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.prewrite_request(vec![]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(Vec::<KeyError>::new(), resp.errors);
    assert_eq!(None, resp.region_error);
    builder.assert_len(CF_DEFAULT, 0);
}

/// One mutation: the value and the lock, byte for byte.
#[test]
fn TestSinglePrewrite4B() {
    let mut builder = TestBuilder::new();
    let mut cmd = builder.prewrite_request(vec![mutation(3, &[42], Op::Put)]);
    cmd.lock_ttl = 1000;
    let resp = builder.run_one_request(cmd);

    assert_eq!(Vec::<KeyError>::new(), resp.errors);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(1, 1, 0);
    builder.assert(&[
        kv(CF_DEFAULT, [3], 0, [42]),
        kv(
            CF_LOCK,
            [3],
            0,
            [
                1,
                1,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                builder.ts(),
                0,
                0,
                0,
                0,
                0,
                0,
                3,
                232,
            ],
        ),
    ]);
}

/// A second transaction prewriting a locked key gets a lock error.
#[test]
fn TestPrewriteLocked4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.prewrite_request(vec![mutation(3, &[42], Op::Put)]);
    let cmd2 = builder.prewrite_request(vec![mutation(3, &[53], Op::Put)]);
    let resps = builder.run_requests(vec![cmd, cmd2]);

    assert_eq!(Vec::<KeyError>::new(), resps[0].errors);
    assert_eq!(None, resps[0].region_error);
    assert_eq!(1, resps[1].errors.len());
    assert_eq!(None, resps[1].region_error);
    builder.assert_lens(1, 1, 0);
    builder.assert(&[
        kv(CF_DEFAULT, [3], 100, [42]),
        kv(
            CF_LOCK,
            [3],
            0,
            [1, 1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]);
}

/// A write committed after the prewrite's start is a conflict.
#[test]
fn TestPrewriteWritten4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.prewrite_request(vec![mutation(3, &[42], Op::Put)]);
    builder.init(&[
        kv(CF_DEFAULT, [3], 80, [5]),
        kv(CF_WRITE, [3], 101, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(1, resp.errors.len());
    assert!(resp.errors[0].conflict.is_some());
    assert_eq!(None, resp.region_error);
    builder.assert_lens(1, 0, 1);

    builder.assert(&[kv(CF_DEFAULT, [3], 80, [5])]);
}

/// A write committed before the prewrite's start is no conflict.
#[test]
fn TestPrewriteWrittenNoConflict4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.prewrite_request(vec![mutation(3, &[42], Op::Put)]);
    builder.init(&[
        kv(CF_DEFAULT, [3], 80, [5]),
        kv(CF_WRITE, [3], 90, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(Vec::<KeyError>::new(), resp.errors);
    assert_eq!(None, resp.region_error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(2, 1, 1);

    builder.assert(&[
        kv(CF_DEFAULT, [3], 80, [5]),
        kv(CF_DEFAULT, [3], 0, [42]),
        kv(
            CF_LOCK,
            [3],
            0,
            [
                1,
                1,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                builder.ts(),
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ],
        ),
    ]);
}

/// Two transactions prewriting different keys both succeed.
#[test]
fn TestMultiplePrewrites4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.prewrite_request(vec![mutation(3, &[42], Op::Put)]);
    let cmd2 = builder.prewrite_request(vec![mutation(4, &[53], Op::Put)]);
    let resps = builder.run_requests(vec![cmd, cmd2]);

    assert_eq!(Vec::<KeyError>::new(), resps[0].errors);
    assert_eq!(None, resps[0].region_error);
    assert_eq!(Vec::<KeyError>::new(), resps[1].errors);
    assert_eq!(None, resps[1].region_error);
    builder.assert_lens(2, 2, 0);

    builder.assert(&[
        kv(CF_DEFAULT, [3], 100, [42]),
        kv(
            CF_LOCK,
            [3],
            0,
            [1, 1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        kv(CF_DEFAULT, [4], 101, [53]),
        kv(
            CF_LOCK,
            [4],
            0,
            [1, 1, 0, 0, 0, 0, 0, 0, 0, 101, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]);
}

/// Two mutations of one key in one prewrite: the second wins.
#[test]
fn TestPrewriteOverwrite4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.prewrite_request(vec![
        mutation(3, &[42], Op::Put),
        mutation(3, &[45], Op::Put),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(Vec::<KeyError>::new(), resp.errors);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(1, 1, 0);

    builder.assert(&[
        kv(CF_DEFAULT, [3], 0, [45]),
        kv(
            CF_LOCK,
            [3],
            0,
            [
                1,
                1,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                builder.ts(),
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ],
        ),
    ]);
}

/// Many mutations, some of the same key, in one prewrite.
#[test]
fn TestPrewriteMultiple4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.prewrite_request(vec![
        mutation(3, &[42], Op::Put),
        mutation(4, &[43], Op::Put),
        mutation(5, &[44], Op::Put),
        mutation(4, &[], Op::Del),
        mutation(4, &[1, 3, 5], Op::Put),
        mutation(255, &[45], Op::Put),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(Vec::<KeyError>::new(), resp.errors);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(4, 4, 0);

    builder.assert(&[kv(CF_DEFAULT, [4], 0, [1, 3, 5])]);
}

/// A commit without keys succeeds and writes nothing.
#[test]
fn TestEmptyCommit4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.commit_request(&[]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(0, 0, 0);
}

/// Committing one prewritten key.
#[test]
fn TestSingleCommit4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.commit_request(&[&[3]]);
    builder.init(&[
        kv(CF_DEFAULT, [3], 0, [42]),
        kv(
            CF_LOCK,
            [3],
            0,
            [1, 0, 0, 0, 0, 0, 0, 0, builder.ts(), 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(1, 0, 1);
    builder.assert(&[
        kv(CF_WRITE, [3], 110, [1, 0, 0, 0, 0, 0, 0, 0, builder.ts()]),
        unchanged(CF_DEFAULT, [3], 0),
    ]);
}

/// Committing a key that already has an older committed version.
#[test]
fn TestCommitOverwrite4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.commit_request(&[&[3]]);
    builder.init(&[
        // An older, committed version.
        kv(CF_DEFAULT, [3], 80, [15]),
        kv(CF_WRITE, [3], 84, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        // This transaction's prewrite.
        kv(CF_DEFAULT, [3], 0, [42]),
        kv(
            CF_LOCK,
            [3],
            0,
            [
                1,
                1,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                builder.ts(),
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ],
        ),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(2, 0, 2);
    builder.assert(&[
        kv(CF_WRITE, [3], 110, [1, 0, 0, 0, 0, 0, 0, 0, builder.ts()]),
        unchanged(CF_DEFAULT, [3], 0),
    ]);
}

/// Committing several keys; other transactions' data stays untouched.
#[test]
fn TestCommitMultipleKeys4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.commit_request(&[&[3], &[12, 4, 0], &[15]]);
    let ts = builder.ts();
    builder.init(&[
        // This transaction's prewrites.
        kv(CF_DEFAULT, [3], 0, [42]),
        kv(
            CF_LOCK,
            [3],
            0,
            [1, 1, 0, 0, 0, 0, 0, 0, 0, ts, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        kv(CF_DEFAULT, [12, 4, 0], 0, [1, 1, 0, 0, 1, 5]),
        kv(
            CF_LOCK,
            [12, 4, 0],
            0,
            [1, 1, 0, 0, 0, 0, 0, 0, 0, ts, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        kv(CF_DEFAULT, [15], 0, [0]),
        kv(
            CF_LOCK,
            [15],
            0,
            [1, 1, 0, 0, 0, 0, 0, 0, 0, ts, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        // Committed data.
        kv(CF_DEFAULT, [4], 80, [15]),
        kv(CF_WRITE, [4], 84, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        kv(CF_DEFAULT, [3, 0], 80, [150]),
        kv(CF_WRITE, [3, 0], 84, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        // Another transaction's prewrites.
        kv(CF_DEFAULT, [2], 99, [0, 0, 0, 8]),
        kv(
            CF_LOCK,
            [2],
            0,
            [1, 2, 0, 0, 0, 0, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        kv(CF_DEFAULT, [43, 6], 99, [1, 1, 0, 0, 1, 5]),
        kv(
            CF_LOCK,
            [43, 6],
            0,
            [1, 2, 0, 0, 0, 0, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(7, 2, 5);
    builder.assert(&[
        // Newly committed.
        kv(CF_WRITE, [3], 110, [1, 0, 0, 0, 0, 0, 0, 0, ts]),
        kv(CF_WRITE, [12, 4, 0], 110, [1, 0, 0, 0, 0, 0, 0, 0, ts]),
        kv(CF_WRITE, [15], 110, [1, 0, 0, 0, 0, 0, 0, 0, ts]),
        // Committed before: untouched.
        unchanged(CF_DEFAULT, [4], 80),
        unchanged(CF_WRITE, [4], 84),
        unchanged(CF_DEFAULT, [3, 0], 80),
        unchanged(CF_WRITE, [3, 0], 84),
        // The other transaction's prewrites: untouched.
        unchanged(CF_DEFAULT, [2], 99),
        unchanged(CF_LOCK, [2], 0),
        unchanged(CF_DEFAULT, [43, 6], 99),
        unchanged(CF_LOCK, [43, 6], 0),
    ]);
}

/// One key named twice in one commit.
#[test]
fn TestRecommitKey4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.commit_request(&[&[3], &[3]]);
    builder.init(&[
        kv(CF_DEFAULT, [3], 0, [42]),
        kv(
            CF_LOCK,
            [3],
            0,
            [
                1,
                1,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                builder.ts(),
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ],
        ),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(1, 0, 1);
    builder.assert(&[
        kv(CF_WRITE, [3], 110, [1, 0, 0, 0, 0, 0, 0, 0, builder.ts()]),
        unchanged(CF_DEFAULT, [3], 0),
    ]);
}

/// Committing a transaction that was rolled back is an error.
#[test]
fn TestCommitConflictRollback4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.commit_request(&[&[3]]);
    builder.init(&[kv(
        CF_WRITE,
        [3],
        110,
        [3, 0, 0, 0, 0, 0, 0, 0, builder.ts()],
    )]);
    let resp = builder.run_one_request(cmd);

    assert!(resp.error.is_some());
    assert_eq!(None, resp.region_error);
    builder.assert_lens(0, 0, 1);
    builder.assert(&[unchanged(CF_WRITE, [3], 110)]);
}

/// Committing a key another transaction has prewritten is retryable.
#[test]
fn TestCommitConflictRace4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.commit_request(&[&[3]]);
    builder.init(&[
        kv(CF_DEFAULT, [3], 90, [110]),
        kv(
            CF_LOCK,
            [3],
            0,
            [1, 3, 0, 0, 0, 0, 0, 0, 0, 90, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]);
    let resp = builder.run_one_request(cmd);

    assert!(!resp
        .error
        .as_ref()
        .expect("a key error")
        .retryable
        .is_empty());
    assert_eq!(None, resp.region_error);
    builder.assert_lens(1, 1, 0);
    builder.assert(&[unchanged(CF_LOCK, [3], 0), unchanged(CF_DEFAULT, [3], 90)]);
}

/// The same commit received twice.
#[test]
fn TestCommitConflictRepeat4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.commit_request(&[&[3]]);
    builder.init(&[
        kv(CF_DEFAULT, [3], 0, [42]),
        kv(CF_WRITE, [3], 110, [1, 0, 0, 0, 0, 0, 0, 0, builder.ts()]),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(1, 0, 1);
    builder.assert(&[unchanged(CF_WRITE, [3], 110), unchanged(CF_DEFAULT, [3], 0)]);
}

/// A commit whose prewrite never arrived.
#[test]
fn TestCommitMissingPrewrite4B() {
    let mut builder = TestBuilder::new();
    let cmd = builder.commit_request(&[&[3]]);
    builder.init(&[
        // Committed data.
        kv(CF_DEFAULT, [4], 80, [15]),
        kv(CF_WRITE, [4], 84, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        kv(CF_DEFAULT, [3, 0], 80, [150]),
        kv(CF_WRITE, [3, 0], 84, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        // No prewrite of key 3.
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(2, 0, 2);
    builder.assert(&[
        unchanged(CF_DEFAULT, [4], 80),
        unchanged(CF_WRITE, [4], 84),
        unchanged(CF_DEFAULT, [3, 0], 80),
        unchanged(CF_WRITE, [3, 0], 84),
    ]);
}
