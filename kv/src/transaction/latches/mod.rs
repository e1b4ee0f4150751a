//! Latches: per-key mutual exclusion between the commands running on one
//! server (TinyKV's `kv/transaction/latches`).
//!
//! A command reads a snapshot, decides, and writes a batch; two commands
//! doing that for the same key at once could each decide on a state the
//! other is about to change (two prewrites both finding the key unlocked).
//! So a command that writes takes the latch of every user key it might
//! write — all at once, before it reads — and lets them go after its batch
//! is written. Latches live only in memory and are never seen by clients:
//! they make one command atomic, where locks make a client's transaction
//! atomic.
//!
//! One mutex guards the whole latch table: simple, and a point of
//! contention a real store would not accept.

#[cfg(test)]
mod latches_test;

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

use super::mvcc::MvccTxn;

/// One acquisition of a set of latches, which waiters block on until it
/// is released (the role of Go's `WaitGroup`).
#[derive(Debug, Default)]
pub struct Latch {
    released: Mutex<bool>,
    cond: Condvar,
}

impl Latch {
    /// Blocks until the holder releases these latches.
    pub fn wait(&self) {
        let mut released = self.released.lock().expect("latch poisoned");
        while !*released {
            released = self.cond.wait(released).expect("latch poisoned");
        }
    }

    fn release(&self) {
        *self.released.lock().expect("latch poisoned") = true;
        self.cond.notify_all();
    }
}

/// A check run on a command's writes before they are written, given the
/// keys it latched (tests use it to catch writes to unlatched keys).
pub type Validation = Box<dyn Fn(&MvccTxn, &[Vec<u8>]) + Send + Sync>;

/// The latch table of a server; share one between all its commands.
#[derive(Default)]
pub struct Latches {
    latch_map: Mutex<HashMap<Vec<u8>, Arc<Latch>>>,
    /// Optional, for tests: see [`Latches::validate`].
    pub validation: Option<Validation>,
}

impl Latches {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the latches of all `keys` if none is held, and returns
    /// `None`. If any is held, takes none and returns the holder's
    /// [`Latch`] to wait on before trying again.
    pub fn acquire_latches(&self, keys: &[Vec<u8>]) -> Option<Arc<Latch>> {
        let mut map = self.latch_map.lock().expect("latch table poisoned");
        if let Some(held) = keys.iter().find_map(|k| map.get(k)) {
            return Some(held.clone());
        }
        let latch = Arc::new(Latch::default());
        for key in keys {
            map.insert(key.clone(), latch.clone());
        }
        None
    }

    /// Releases the latches of `keys`, which must have been taken together
    /// by one [`Latches::acquire_latches`], and wakes whoever waits on
    /// them. Keys not latched are ignored.
    pub fn release_latches(&self, keys: &[Vec<u8>]) {
        let mut map = self.latch_map.lock().expect("latch table poisoned");
        let mut released: Vec<Arc<Latch>> = Vec::new();
        for key in keys {
            if let Some(latch) = map.remove(key) {
                if !released.iter().any(|l| Arc::ptr_eq(l, &latch)) {
                    latch.release();
                    released.push(latch);
                }
            }
        }
    }

    /// Takes the latches of all `keys`, waiting for as long as it takes.
    pub fn wait_for_latches(&self, keys: &[Vec<u8>]) {
        while let Some(held) = self.acquire_latches(keys) {
            held.wait();
        }
    }

    /// [`Latches::wait_for_latches`], released when the guard is dropped.
    pub fn latch(&self, keys: Vec<Vec<u8>>) -> LatchGuard<'_> {
        self.wait_for_latches(&keys);
        LatchGuard {
            latches: self,
            keys,
        }
    }

    /// Runs [`Latches::validation`], if set, on `txn`'s writes.
    pub fn validate(&self, txn: &MvccTxn, latched: &[Vec<u8>]) {
        if let Some(validation) = &self.validation {
            validation(txn, latched);
        }
    }
}

/// Held latches, released on drop (also when the command panics).
pub struct LatchGuard<'a> {
    latches: &'a Latches,
    keys: Vec<Vec<u8>>,
}

impl LatchGuard<'_> {
    /// The latched keys.
    pub fn keys(&self) -> &[Vec<u8>] {
        &self.keys
    }
}

impl Drop for LatchGuard<'_> {
    fn drop(&mut self) {
        self.latches.release_latches(&self.keys);
    }
}
