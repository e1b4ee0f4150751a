//! TinyKV's `commands4c_test.go`: KvBatchRollback, KvCheckTxnStatus,
//! KvResolveLock and KvScan.
#![allow(non_snake_case)]

use pretty_assertions::assert_eq;
use proto::kvrpcpb::*;

use super::commands_test::*;
use crate::util::engine_util::{CF_DEFAULT, CF_LOCK, CF_WRITE};

/// A rollback without keys succeeds and writes nothing.
#[test]
fn TestEmptyRollback4C() {
    let mut builder = TestBuilder::new();
    let cmd = builder.rollback_request(&[]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(0, 0, 0);
}

/// Rolling back a prewritten key.
#[test]
fn TestRollback4C() {
    let mut builder = TestBuilder::new();
    let cmd = builder.rollback_request(&[&[3]]);

    builder.init(&[
        // As TestSinglePrewrite4B leaves it.
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
    builder.assert_lens(0, 0, 1);
    builder.assert(&[kv(CF_WRITE, [3], 0, [3, 0, 0, 0, 0, 0, 0, 0, builder.ts()])]);
}

/// Rolling back several keys, one of them named twice.
#[test]
fn TestRollbackDuplicateKeys4C() {
    let mut builder = TestBuilder::new();
    let cmd = builder.rollback_request(&[&[3], &[15], &[3]]);

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
        kv(CF_DEFAULT, [15], 0, [0]),
        kv(
            CF_LOCK,
            [15],
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
    builder.assert_lens(0, 0, 2);
    builder.assert(&[
        kv(CF_WRITE, [3], 0, [3, 0, 0, 0, 0, 0, 0, 0, builder.ts()]),
        kv(CF_WRITE, [15], 0, [3, 0, 0, 0, 0, 0, 0, 0, builder.ts()]),
    ]);
}

/// Rolling back a key that was never prewritten still leaves a rollback
/// record.
#[test]
fn TestRollbackMissingPrewrite4C() {
    let mut builder = TestBuilder::new();
    let cmd = builder.rollback_request(&[&[3]]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(0, 0, 1);
    builder.assert(&[kv(CF_WRITE, [3], 0, [3, 0, 0, 0, 0, 0, 0, 0, builder.ts()])]);
}

/// A committed transaction cannot be rolled back.
#[test]
fn TestRollbackCommitted4C() {
    let mut builder = TestBuilder::new();
    let cmd = builder.rollback_request(&[&[3]]);

    builder.init(&[
        kv(CF_DEFAULT, [3], 0, [42]),
        kv(CF_WRITE, [3], 110, [1, 0, 0, 0, 0, 0, 0, 0, builder.ts()]),
    ]);
    let resp = builder.run_one_request(cmd);

    // Go asserts `NotNil(resp.Error.Abort)`, which for a string only
    // checks that the key error is there.
    assert!(resp.error.is_some());
    assert_eq!(None, resp.region_error);
    builder.assert_lens(1, 0, 1);
    builder.assert(&[unchanged(CF_DEFAULT, [3], 0), unchanged(CF_WRITE, [3], 110)]);
}

/// Rolling back twice.
#[test]
fn TestRollbackDuplicate4C() {
    let mut builder = TestBuilder::new();
    let cmd = builder.rollback_request(&[&[3]]);

    builder.init(&[kv(
        CF_WRITE,
        [3],
        100,
        [3, 0, 0, 0, 0, 0, 0, 0, builder.ts()],
    )]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(0, 0, 1);
    builder.assert(&[unchanged(CF_WRITE, [3], 100)]);
}

/// A rollback leaves another transaction's lock alone.
#[test]
fn TestRollbackOtherTxn4C() {
    let mut builder = TestBuilder::new();
    let cmd = builder.rollback_request(&[&[3]]);

    builder.init(&[
        kv(CF_DEFAULT, [3], 80, [42]),
        kv(
            CF_LOCK,
            [3],
            0,
            [1, 1, 0, 0, 0, 0, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(1, 1, 1);
    builder.assert(&[
        unchanged(CF_DEFAULT, [3], 80),
        unchanged(CF_LOCK, [3], 0),
        kv(CF_WRITE, [3], 100, [3, 0, 0, 0, 0, 0, 0, 0, builder.ts()]),
    ]);
}

/// A lock whose TTL has run out is rolled back.
#[test]
fn TestCheckTxnStatusTtlExpired4C() {
    let mut builder = TestBuilder::new();
    let cmd = builder.check_txn_status_request(&[3]);
    builder.init(&[
        kv(CF_DEFAULT, [3], cmd.lock_ts, [42]),
        kv(
            CF_LOCK,
            [3],
            0,
            [
                3,
                1,
                0,
                0,
                5,
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
                8,
            ],
        ),
    ]);
    let lock_ts = cmd.lock_ts;
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.region_error);
    assert_eq!(Action::TtlExpireRollback as i32, resp.action);
    builder.assert_lens(0, 0, 1);
    builder.assert(&[kv(
        CF_WRITE,
        [3],
        lock_ts,
        [3, 0, 0, 5, 0, 0, 0, 0, builder.ts()],
    )]);
}

/// A lock within its TTL is left alone.
#[test]
fn TestCheckTxnStatusTtlNotExpired4C() {
    let mut builder = TestBuilder::new();
    let cmd = builder.check_txn_status_request(&[3]);
    builder.init(&[
        kv(CF_DEFAULT, [3], cmd.lock_ts, [42]),
        kv(
            CF_LOCK,
            [3],
            0,
            [
                3,
                1,
                0,
                0,
                5,
                0,
                0,
                0,
                0,
                builder.ts(),
                0,
                0,
                0,
                1,
                0,
                0,
                0,
                8,
            ],
        ),
    ]);
    let lock_ts = cmd.lock_ts;
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.region_error);
    assert_eq!(Action::NoAction as i32, resp.action);
    builder.assert_lens(1, 1, 0);
    builder.assert(&[
        unchanged(CF_DEFAULT, [3], lock_ts),
        unchanged(CF_LOCK, [3], 0),
    ]);
}

/// A transaction already rolled back stays so.
#[test]
fn TestCheckTxnStatusRolledBack4C() {
    let mut builder = TestBuilder::new();
    let cmd = builder.check_txn_status_request(&[3]);
    builder.init(&[
        kv(CF_DEFAULT, [3], cmd.lock_ts, [42]),
        kv(
            CF_WRITE,
            [3],
            cmd.lock_ts,
            [3, 0, 0, 5, 0, 0, 0, 0, builder.ts()],
        ),
        kv(
            CF_LOCK,
            [3],
            0,
            [
                3,
                1,
                0,
                0,
                8,
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
                8,
            ],
        ),
    ]);
    let lock_ts = cmd.lock_ts;
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.region_error);
    assert_eq!(Action::NoAction as i32, resp.action);
    assert_eq!(0, resp.commit_version);
    builder.assert_lens(1, 1, 1);
    builder.assert(&[
        unchanged(CF_DEFAULT, [3], lock_ts),
        unchanged(CF_WRITE, [3], lock_ts),
        unchanged(CF_LOCK, [3], 0),
    ]);
}

/// A committed transaction reports its commit timestamp.
#[test]
fn TestCheckTxnStatusCommitted4C() {
    let mut builder = TestBuilder::new();
    let cmd = builder.check_txn_status_request(&[3]);
    builder.init(&[
        kv(CF_DEFAULT, [3], cmd.lock_ts, [42]),
        kv(
            CF_WRITE,
            [3],
            cmd.lock_ts,
            [1, 0, 0, 5, 0, 0, 0, 0, builder.ts()],
        ),
    ]);
    let lock_ts = cmd.lock_ts;
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.region_error);
    assert_eq!(Action::NoAction as i32, resp.action);
    assert_eq!(
        u64::from_be_bytes([0, 0, 5, 0, 0, 0, 0, builder.ts()]),
        resp.commit_version
    );
    builder.assert_lens(1, 0, 1);
    builder.assert(&[
        unchanged(CF_DEFAULT, [3], lock_ts),
        unchanged(CF_WRITE, [3], lock_ts),
    ]);
}

/// With neither a lock nor a write, the transaction is rolled back.
#[test]
fn TestCheckTxnStatusNoLockNoWrite4C() {
    let mut builder = TestBuilder::new();
    let cmd = builder.check_txn_status_request(&[3]);
    let lock_ts = cmd.lock_ts;
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.region_error);
    assert_eq!(Action::LockNotExistRollback as i32, resp.action);
    builder.assert_lens(0, 0, 1);
    builder.assert(&[kv(
        CF_WRITE,
        [3],
        lock_ts,
        [3, 0, 0, 5, 0, 0, 0, 0, builder.ts()],
    )]);
}

/// Resolving a transaction that left nothing.
#[test]
fn TestEmptyResolve4C() {
    let builder = TestBuilder::new();
    let cmd = resolve_request(0, 0);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(0, 0, 0);
}

/// Resolving with a commit timestamp commits every key of the transaction.
#[test]
fn TestResolveCommit4C() {
    let builder = TestBuilder::new();
    let cmd = resolve_request(100, 120);
    builder.init(&[
        kv(CF_DEFAULT, [3], 100, [42]),
        kv(
            CF_LOCK,
            [3],
            0,
            [1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        kv(CF_DEFAULT, [7], 100, [43]),
        kv(
            CF_LOCK,
            [7],
            0,
            [1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        kv(CF_DEFAULT, [200], 110, [44]),
        kv(
            CF_LOCK,
            [200],
            0,
            [1, 0, 0, 0, 0, 0, 0, 0, 110, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(3, 1, 2);
    builder.assert(&[
        unchanged(CF_DEFAULT, [3], 100),
        kv(CF_WRITE, [3], 120, [1, 0, 0, 0, 0, 0, 0, 0, 100]),
        unchanged(CF_DEFAULT, [7], 100),
        kv(CF_WRITE, [7], 120, [1, 0, 0, 0, 0, 0, 0, 0, 100]),
        unchanged(CF_DEFAULT, [200], 110),
        unchanged(CF_LOCK, [200], 0),
    ]);
}

/// Resolving without a commit timestamp rolls every key back.
#[test]
fn TestResolveRollback4C() {
    let builder = TestBuilder::new();
    let cmd = resolve_request(100, 0);
    builder.init(&[
        kv(CF_DEFAULT, [3], 100, [42]),
        kv(
            CF_LOCK,
            [3],
            0,
            [1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        kv(CF_DEFAULT, [7], 100, [43]),
        kv(
            CF_LOCK,
            [7],
            0,
            [1, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
        kv(CF_DEFAULT, [200], 110, [44]),
        kv(
            CF_LOCK,
            [200],
            0,
            [1, 0, 0, 0, 0, 0, 0, 0, 110, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(1, 1, 2);
    builder.assert(&[
        kv(CF_WRITE, [3], 100, [3, 0, 0, 0, 0, 0, 0, 0, 100]),
        kv(CF_WRITE, [7], 100, [3, 0, 0, 0, 0, 0, 0, 0, 100]),
        unchanged(CF_DEFAULT, [200], 110),
        unchanged(CF_LOCK, [200], 0),
    ]);
}

/// A commit resolve where the transaction has no locks left.
#[test]
fn TestResolveCommitWritten4C() {
    let builder = TestBuilder::new();
    let cmd = resolve_request(100, 120);
    builder.init(&[
        kv(CF_DEFAULT, [3], 100, [42]),
        kv(CF_WRITE, [201], 120, [1, 0, 0, 0, 0, 0, 0, 0, 100]),
        kv(CF_DEFAULT, [7], 100, [43]),
        kv(CF_WRITE, [201], 100, [3, 0, 0, 0, 0, 0, 0, 0, 100]),
        kv(CF_DEFAULT, [200], 110, [44]),
        kv(
            CF_LOCK,
            [200],
            0,
            [1, 0, 0, 0, 0, 0, 0, 0, 110, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(3, 1, 2);
    builder.assert(&[
        unchanged(CF_DEFAULT, [3], 100),
        unchanged(CF_WRITE, [201], 120),
        unchanged(CF_DEFAULT, [7], 100),
        unchanged(CF_WRITE, [201], 100),
        unchanged(CF_DEFAULT, [200], 110),
        unchanged(CF_LOCK, [200], 0),
    ]);
}

/// A rollback resolve where the transaction has no locks left.
#[test]
fn TestResolveRollbackWritten4C() {
    let builder = TestBuilder::new();
    let cmd = resolve_request(100, 0);
    builder.init(&[
        kv(CF_DEFAULT, [3], 100, [42]),
        kv(CF_WRITE, [201], 120, [1, 0, 0, 0, 0, 0, 0, 0, 100]),
        kv(CF_DEFAULT, [7], 100, [43]),
        kv(CF_WRITE, [201], 100, [3, 0, 0, 0, 0, 0, 0, 0, 100]),
        kv(CF_DEFAULT, [200], 110, [44]),
        kv(
            CF_LOCK,
            [200],
            0,
            [1, 0, 0, 0, 0, 0, 0, 0, 110, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.error);
    assert_eq!(None, resp.region_error);
    builder.assert_lens(3, 1, 2);
    builder.assert(&[
        unchanged(CF_DEFAULT, [3], 100),
        unchanged(CF_WRITE, [201], 120),
        unchanged(CF_DEFAULT, [7], 100),
        unchanged(CF_WRITE, [201], 100),
        unchanged(CF_DEFAULT, [200], 110),
        unchanged(CF_LOCK, [200], 0),
    ]);
}

/// A scan starting after the last key.
#[test]
fn TestScanEmpty4C() {
    let mut builder = builder_for_scan();

    let cmd = builder.scan_request(&[200], 10000);
    let resp = builder.run_one_request(cmd);
    assert_eq!(None, resp.region_error);
    assert_eq!(Vec::<KvPair>::new(), resp.pairs);
}

/// A scan with limit 0 returns nothing.
#[test]
fn TestScanLimitZero4C() {
    let mut builder = builder_for_scan();

    let cmd = builder.scan_request(&[3], 0);
    let resp = builder.run_one_request(cmd);
    assert_eq!(None, resp.region_error);
    assert_eq!(Vec::<KvPair>::new(), resp.pairs);
}

/// A scan of everything, at timestamp 100.
#[test]
fn TestScanAll4C() {
    let mut builder = builder_for_scan();

    let cmd = builder.scan_request(&[0], 10000);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.region_error);
    assert_eq!(11, resp.pairs.len());
    assert_eq!(vec![1], resp.pairs[0].key);
    assert_eq!(vec![50], resp.pairs[0].value);
    assert_eq!(vec![199], resp.pairs[10].key);
    assert_eq!(vec![54], resp.pairs[10].value);
}

/// A scan stops at its limit.
#[test]
fn TestScanLimit4C() {
    let mut builder = builder_for_scan();

    let cmd = builder.scan_request(&[2], 6);
    let resp = builder.run_one_request(cmd);

    assert_eq!(None, resp.region_error);
    assert_eq!(6, resp.pairs.len());
    assert_eq!(vec![3], resp.pairs[0].key);
    assert_eq!(vec![51], resp.pairs[0].value);
    assert_eq!(vec![4], resp.pairs[5].key);
    assert_eq!(vec![52], resp.pairs[5].value);
}

/// Scans before, between and after a delete and a re-put of one key.
#[test]
fn TestScanDeleted4C() {
    let mut builder = builder_for_scan();

    let mut req1 = builder.scan_request(&[100], 10000);
    req1.version = 100;
    let mut req2 = builder.scan_request(&[100], 10000);
    req2.version = 105;
    let mut req3 = builder.scan_request(&[100], 10000);
    req3.version = 120;

    let resps = builder.run_requests(vec![req1, req2, req3]);

    let resp1 = &resps[0];
    assert_eq!(None, resp1.region_error);
    assert_eq!(3, resp1.pairs.len());
    assert_eq!(vec![150], resp1.pairs[1].key);
    assert_eq!(vec![42], resp1.pairs[1].value);

    let resp2 = &resps[1];
    assert_eq!(None, resp2.region_error);
    assert_eq!(2, resp2.pairs.len());
    assert_eq!(vec![120], resp2.pairs[0].key);
    assert_eq!(vec![199], resp2.pairs[1].key);

    let resp3 = &resps[2];
    assert_eq!(None, resp3.region_error);
    assert_eq!(3, resp3.pairs.len());
    assert_eq!(vec![150], resp3.pairs[1].key);
    assert_eq!(vec![64], resp3.pairs[1].value);
}

fn builder_for_scan() -> TestBuilder {
    let values = [
        // Committed before 100.
        kv(CF_DEFAULT, [1], 80, [50]),
        kv(CF_WRITE, [1], 99, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        kv(CF_DEFAULT, [1, 23], 80, [55]),
        kv(CF_WRITE, [1, 23], 99, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        kv(CF_DEFAULT, [3], 80, [51]),
        kv(CF_WRITE, [3], 99, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        kv(CF_DEFAULT, [3, 45], 80, [56]),
        kv(CF_WRITE, [3, 45], 99, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        kv(CF_DEFAULT, [3, 46], 80, [57]),
        kv(CF_WRITE, [3, 46], 99, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        kv(CF_DEFAULT, [3, 47], 80, [58]),
        kv(CF_WRITE, [3, 47], 99, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        kv(CF_DEFAULT, [3, 48], 80, [59]),
        kv(CF_WRITE, [3, 48], 99, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        kv(CF_DEFAULT, [4], 80, [52]),
        kv(CF_WRITE, [4], 99, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        kv(CF_DEFAULT, [120], 80, [53]),
        kv(CF_WRITE, [120], 99, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        kv(CF_DEFAULT, [199], 80, [54]),
        kv(CF_WRITE, [199], 99, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        // Committed after 100.
        kv(CF_DEFAULT, [4, 45], 110, [58]),
        kv(CF_WRITE, [4, 45], 116, [1, 0, 0, 0, 0, 0, 0, 0, 110]),
        kv(CF_DEFAULT, [4, 46], 110, [57]),
        kv(CF_WRITE, [4, 46], 116, [1, 0, 0, 0, 0, 0, 0, 0, 110]),
        kv(CF_DEFAULT, [4, 47], 110, [58]),
        kv(CF_WRITE, [4, 47], 116, [1, 0, 0, 0, 0, 0, 0, 0, 110]),
        kv(CF_DEFAULT, [4, 48], 110, [59]),
        kv(CF_WRITE, [4, 48], 116, [1, 0, 0, 0, 0, 0, 0, 0, 110]),
        // Started before 100, committed after.
        kv(CF_DEFAULT, [5, 45], 97, [60]),
        kv(CF_WRITE, [5, 45], 101, [1, 0, 0, 0, 0, 0, 0, 0, 97]),
        kv(CF_DEFAULT, [5, 46], 97, [61]),
        kv(CF_WRITE, [5, 46], 101, [1, 0, 0, 0, 0, 0, 0, 0, 97]),
        kv(CF_DEFAULT, [5, 47], 97, [62]),
        kv(CF_WRITE, [5, 47], 101, [1, 0, 0, 0, 0, 0, 0, 0, 97]),
        kv(CF_DEFAULT, [5, 48], 97, [63]),
        kv(CF_WRITE, [5, 48], 101, [1, 0, 0, 0, 0, 0, 0, 0, 97]),
        // A value deleted, then put again.
        kv(CF_DEFAULT, [150], 80, [42]),
        kv(CF_WRITE, [150], 99, [1, 0, 0, 0, 0, 0, 0, 0, 80]),
        kv(CF_WRITE, [150], 101, [2, 0, 0, 0, 0, 0, 0, 0, 97]),
        kv(CF_DEFAULT, [150], 110, [64]),
        kv(CF_WRITE, [150], 116, [1, 0, 0, 0, 0, 0, 0, 0, 110]),
    ];
    let builder = TestBuilder::new();
    builder.init(&values);
    builder
}
