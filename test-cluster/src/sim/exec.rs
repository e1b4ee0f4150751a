//! Scenario code in virtual time: a small single-threaded executor over a
//! [`Sim`]. A scenario's actors (clients, a partitioner, a conf changer)
//! are `async` blocks that await virtual sleeps and commands; the executor
//! polls every actor, then steps the simulation to its next event (or to
//! the earliest sleep or command deadline, whichever comes first), and
//! again — so the actors read as the threaded test's loops do, while the
//! whole run stays one deterministic sequence.
//!
//! Actors are polled in the order they were spawned, after the main one;
//! none runs while another does, so they share the cluster through
//! [`SimHandle::with`] without locks. An actor's panic unwinds out of
//! [`SimHandle::block_on`] and fails the test, as a panicking goroutine
//! ends a Go test.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use proto::raft_cmdpb::RaftCmdRequest;

use super::Sim;
use crate::outcome::Outcome;

/// Virtual time after which a scenario is taken to hang.
const HANG_MS: u64 = 3_600_000;

type Task = Pin<Box<dyn Future<Output = ()>>>;

struct Runtime {
    sim: RefCell<Sim>,
    /// Deadlines actors wait for: the clock stops at each.
    timers: RefCell<BTreeSet<u64>>,
    /// Spawned actors, in spawn order.
    tasks: RefCell<Vec<Task>>,
}

/// A cheap handle on a simulation and its actors (see the module docs).
#[derive(Clone)]
pub struct SimHandle(Rc<Runtime>);

/// Whether a spawned actor has finished.
#[derive(Clone, Default)]
pub struct JoinHandle(Rc<Cell<bool>>);

impl JoinHandle {
    /// True once the actor's future has completed.
    pub fn is_finished(&self) -> bool {
        self.0.get()
    }
}

impl SimHandle {
    /// Takes charge of `sim`.
    pub fn new(sim: Sim) -> Self {
        SimHandle(Rc::new(Runtime {
            sim: RefCell::new(sim),
            timers: RefCell::new(BTreeSet::new()),
            tasks: RefCell::new(Vec::new()),
        }))
    }

    /// Runs `f` on the simulation. Never hold the borrow across an await
    /// (it cannot be: `f` is synchronous).
    pub fn with<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> R {
        f(&mut self.0.sim.borrow_mut())
    }

    /// Virtual time, in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.with(|s| s.now_ms())
    }

    /// A draw from the simulation's generator, below `n`.
    pub fn rand_below(&self, n: u64) -> u64 {
        self.with(|s| s.rand_below(n))
    }

    /// Starts an actor; it runs until its future completes.
    pub fn spawn(&self, actor: impl Future<Output = ()> + 'static) -> JoinHandle {
        let done = JoinHandle::default();
        let flag = done.clone();
        self.0.tasks.borrow_mut().push(Box::pin(async move {
            actor.await;
            flag.0.set(true);
        }));
        done
    }

    /// Completes once `ms` of virtual time have passed.
    pub async fn sleep_ms(&self, ms: u64) {
        let until = self.now_ms() + ms;
        self.0.timers.borrow_mut().insert(until);
        WaitFor(|| (self.now_ms() >= until).then_some(())).await
    }

    /// Completes once the actor behind `handle` has finished.
    pub async fn join(&self, handle: &JoinHandle) {
        WaitFor(|| handle.is_finished().then_some(())).await
    }

    /// Sends `req` to a store once and completes with its outcome (an
    /// `Unknown` one after `timeout`).
    pub async fn call(&self, store_id: u64, req: RaftCmdRequest, timeout: Duration) -> Outcome {
        let mut pending = self.with(|s| s.submit(store_id, req, timeout));
        let deadline = self.now_ms() + timeout.as_millis() as u64;
        self.0.timers.borrow_mut().insert(deadline);
        WaitFor(|| self.with(|s| s.poll(&mut pending))).await
    }

    /// Runs the simulation, with every spawned actor, until `main`
    /// completes; returns its output. Panics if virtual time passes an
    /// hour (a hung scenario), naming the seed.
    pub fn block_on<F: Future>(&self, main: F) -> F::Output {
        let mut main = std::pin::pin!(main);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(out) = main.as_mut().poll(&mut cx) {
                return out;
            }
            let mut tasks = std::mem::take(&mut *self.0.tasks.borrow_mut());
            tasks.retain_mut(|t| t.as_mut().poll(&mut cx).is_pending());
            // Actors spawned meanwhile go after the older ones.
            let spawned = std::mem::take(&mut *self.0.tasks.borrow_mut());
            tasks.extend(spawned);
            *self.0.tasks.borrow_mut() = tasks;

            let now = self.now_ms();
            let limit = {
                let mut timers = self.0.timers.borrow_mut();
                while timers.first().is_some_and(|&t| t <= now) {
                    timers.pop_first();
                }
                timers.first().copied().unwrap_or(now + 60_000)
            };
            if now > HANG_MS {
                let seed = self.with(|s| s.seed());
                panic!("the scenario still runs after {now} ms of virtual time (seed {seed})");
            }
            self.with(|s| s.advance(limit));
        }
    }
}

/// A future that is ready when `check` returns something; polled again
/// after every step of the simulation.
struct WaitFor<F>(F);

impl<T, F: FnMut() -> Option<T> + Unpin> Future for WaitFor<F> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<T> {
        match (self.0)() {
            Some(v) => Poll::Ready(v),
            None => Poll::Pending,
        }
    }
}
