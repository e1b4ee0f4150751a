//! TinyKV's `latches/latches_test.go`.
#![allow(non_snake_case)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::*;

#[test]
fn TestAcquireLatches() {
    let l = Latches::new();

    // Free latches are taken.
    let wg = l.acquire_latches(&[vec![], vec![3], vec![3, 0, 42]]);
    assert!(wg.is_none());

    // A taken latch cannot be taken again.
    let wg = l.acquire_latches(&[vec![]]);
    assert!(wg.is_some());
    let wg = l.acquire_latches(&[vec![3, 0, 42]]);
    assert!(wg.is_some());

    // Released, it can.
    l.release_latches(&[vec![3], vec![3, 0, 43]]);
    let wg = l.acquire_latches(&[vec![3]]);
    assert!(wg.is_none());
    let wg = l.acquire_latches(&[vec![3, 0, 42]]);
    assert!(wg.is_some());
}

#[test]
fn waiter_runs_after_release() {
    let l = Arc::new(Latches::new());
    let guard = l.latch(vec![vec![1], vec![2]]);
    let done = Arc::new(AtomicBool::new(false));
    let waiter = {
        let (l, done) = (l.clone(), done.clone());
        std::thread::spawn(move || {
            let _g = l.latch(vec![vec![2], vec![9]]);
            done.store(true, Ordering::SeqCst);
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        !done.load(Ordering::SeqCst),
        "waiter ran while the latch was held"
    );
    drop(guard);
    waiter.join().unwrap();
    assert!(done.load(Ordering::SeqCst));
    assert!(l.acquire_latches(&[vec![1], vec![2], vec![9]]).is_none());
}
