//! Background workers (TinyKV's `worker` package): a named OS thread that
//! takes tasks from a bounded queue and hands them, one at a time and in
//! order, to a [`Handler`].
//!
//! The loop is deliberately thin: all logic lives in the handler, so a
//! deterministic simulator can call [`Handler::handle`] directly without any
//! thread.
//!
//! ```
//! use kv::util::worker::{Handler, Worker};
//!
//! struct Sum(std::sync::Arc<std::sync::atomic::AtomicU64>);
//! impl Handler<u64> for Sum {
//!     fn handle(&mut self, task: u64) {
//!         self.0.fetch_add(task, std::sync::atomic::Ordering::SeqCst);
//!     }
//! }
//!
//! let total = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
//! let mut w = Worker::new("sum");
//! w.start(Sum(total.clone()));
//! for i in 1..=10 {
//!     w.sender().send(i).unwrap();
//! }
//! w.stop(); // handles the ten queued tasks first, then joins
//! assert_eq!(total.load(std::sync::atomic::Ordering::SeqCst), 55);
//! ```

use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, select, Receiver};

pub use crossbeam_channel::Sender;

/// Queue capacity of a worker, as in TinyKV: a sender blocks while this many
/// tasks are waiting.
pub const DEFAULT_WORKER_CAPACITY: usize = 128;

/// What a worker does with its tasks. Runs on the worker's thread.
pub trait Handler<T>: Send + 'static {
    /// Handles one task.
    fn handle(&mut self, task: T);

    /// Runs once on the worker thread before the first task (TinyKV's
    /// optional `Starter`).
    fn start(&mut self) {}
}

/// A named thread with a bounded task queue. See the module docs.
pub struct Worker<T: Send + 'static> {
    name: String,
    sender: Sender<T>,
    /// Held until [`Worker::start`] moves it to the thread, so tasks sent
    /// before the start are kept and handled once it runs.
    receiver: Option<Receiver<T>>,
    stop_tx: Sender<()>,
    stop_rx: Receiver<()>,
    handle: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> Worker<T> {
    /// A stopped worker with the default capacity (TinyKV's `NewWorker`).
    pub fn new(name: impl Into<String>) -> Self {
        Self::with_capacity(name, DEFAULT_WORKER_CAPACITY)
    }

    /// A stopped worker whose queue holds `capacity` tasks.
    pub fn with_capacity(name: impl Into<String>, capacity: usize) -> Self {
        Self::over(name.into(), bounded(capacity))
    }

    /// A stopped worker whose queue never blocks a sender: for a
    /// [`DrivenWorker`], whose tasks are handled by the same thread that
    /// queues them, so a full queue could never drain.
    pub fn unbounded(name: impl Into<String>) -> Self {
        Self::over(name.into(), crossbeam_channel::unbounded())
    }

    fn over(name: String, (sender, receiver): (Sender<T>, Receiver<T>)) -> Self {
        let (stop_tx, stop_rx) = bounded(1);
        Worker {
            name,
            sender,
            receiver: Some(receiver),
            stop_tx,
            stop_rx,
            handle: None,
        }
    }

    /// Hands the queue and `handler` to a driver that calls the handler
    /// itself, instead of starting a thread (see [`DrivenWorker`]).
    /// `handler.start()` runs here, once.
    ///
    /// Panics if the worker was started before.
    pub fn into_driven<H: Handler<T>>(mut self, mut handler: H) -> DrivenWorker<T> {
        let receiver = self
            .receiver
            .take()
            .unwrap_or_else(|| panic!("worker {} started twice", self.name));
        handler.start();
        DrivenWorker {
            name: std::mem::take(&mut self.name),
            receiver,
            handler: Box::new(handler),
        }
    }

    /// The worker's name (also its thread's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A handle for queueing tasks. `send` blocks while the queue is full
    /// and fails once the worker has stopped; `try_send` never blocks.
    pub fn sender(&self) -> Sender<T> {
        self.sender.clone()
    }

    /// Whether [`Worker::start`] has been called and [`Worker::stop`] not yet.
    pub fn is_running(&self) -> bool {
        self.handle.is_some()
    }

    /// Spawns the thread: it calls `handler.start()`, then handles tasks
    /// until [`Worker::stop`].
    ///
    /// Panics if the worker was started before, or if the OS refuses to
    /// create the thread.
    pub fn start<H: Handler<T>>(&mut self, mut handler: H) {
        let receiver = self
            .receiver
            .take()
            .unwrap_or_else(|| panic!("worker {} started twice", self.name));
        let stop_rx = self.stop_rx.clone();
        let name = self.name.clone();
        let handle = std::thread::Builder::new()
            .name(self.name.clone())
            .spawn(move || {
                handler.start();
                run_loop(&name, &mut handler, &receiver, &stop_rx);
            })
            .unwrap_or_else(|e| panic!("spawn worker thread {}: {e}", self.name));
        self.handle = Some(handle);
    }

    /// Stops the worker: every task queued before this call is still
    /// handled, then the thread exits and is joined. Tasks sent afterwards
    /// are refused (`send` returns an error). Does nothing if the worker is
    /// not running.
    pub fn stop(&mut self) {
        let Some(handle) = self.handle.take() else {
            return;
        };
        // Capacity 1 and a single stop per start: this never blocks.
        let _ = self.stop_tx.try_send(());
        if handle.join().is_err() {
            tracing::error!(worker = %self.name, "worker thread panicked");
        }
    }
}

impl<T: Send + 'static> Drop for Worker<T> {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A worker's queue and handler without a thread: whoever drives it calls
/// [`poll`](Self::poll), which handles the queued tasks in order on the
/// caller's thread. The deterministic simulator runs a store's background
/// work this way; the handler is the same one a [`Worker`] thread runs.
pub struct DrivenWorker<T> {
    name: String,
    receiver: Receiver<T>,
    handler: Box<dyn Handler<T>>,
}

impl<T: 'static> DrivenWorker<T> {
    /// The worker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Handles every task queued now (and any the handler queues for
    /// itself meanwhile); returns how many.
    pub fn poll(&mut self) -> usize {
        let mut handled = 0;
        while let Ok(task) = self.receiver.try_recv() {
            self.handler.handle(task);
            handled += 1;
        }
        handled
    }
}

/// A driven worker more than one caller may run: its driver, and a
/// handler elsewhere that must wait for one of its tasks (a driven store's
/// raft worker waits for the region worker to lay a snapshot down). Empty
/// until [`set`](Self::set); polling an empty one does nothing.
pub struct SharedDrivenWorker<T>(Arc<OnceLock<Mutex<DrivenWorker<T>>>>);

impl<T> Clone for SharedDrivenWorker<T> {
    fn clone(&self) -> Self {
        SharedDrivenWorker(self.0.clone())
    }
}

impl<T> Default for SharedDrivenWorker<T> {
    fn default() -> Self {
        SharedDrivenWorker(Arc::new(OnceLock::new()))
    }
}

impl<T: 'static> SharedDrivenWorker<T> {
    /// Puts the worker in; panics if one is there already.
    pub fn set(&self, worker: DrivenWorker<T>) {
        if self.0.set(Mutex::new(worker)).is_err() {
            panic!("shared driven worker set twice");
        }
    }

    /// [`DrivenWorker::poll`] on the worker, if it is there.
    pub fn poll(&self) -> usize {
        match self.0.get() {
            Some(w) => w.lock().unwrap_or_else(|e| e.into_inner()).poll(),
            None => 0,
        }
    }
}

fn run_loop<T, H: Handler<T>>(
    name: &str,
    handler: &mut H,
    tasks: &Receiver<T>,
    stop: &Receiver<()>,
) {
    tracing::debug!(worker = name, "worker started");
    loop {
        select! {
            recv(tasks) -> task => match task {
                Ok(task) => handler.handle(task),
                // Cannot happen while the Worker holds a sender, but a
                // disconnected queue means nobody can send again anyway.
                Err(_) => break,
            },
            recv(stop) -> _ => {
                // Everything queued before the stop came in is still
                // handled, as with TinyKV's TaskStop at the queue's tail.
                while let Ok(task) = tasks.try_recv() {
                    handler.handle(task);
                }
                break;
            }
        }
    }
    tracing::debug!(worker = name, "worker stopped");
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    #[derive(Default)]
    struct Recorder {
        seen: Arc<Mutex<Vec<u32>>>,
        started_on: Arc<Mutex<Option<String>>>,
        delay: Duration,
    }

    impl Handler<u32> for Recorder {
        fn start(&mut self) {
            let name = std::thread::current().name().map(str::to_string);
            *self.started_on.lock().unwrap() = name;
        }

        fn handle(&mut self, task: u32) {
            std::thread::sleep(self.delay);
            self.seen.lock().unwrap().push(task);
        }
    }

    #[test]
    fn handles_tasks_in_order_and_starts_on_its_thread() {
        let rec = Recorder::default();
        let (seen, started_on) = (rec.seen.clone(), rec.started_on.clone());
        let mut w = Worker::new("test-worker");
        // Queued before start: kept and handled once the worker runs.
        w.sender().send(0).unwrap();
        w.start(rec);
        assert!(w.is_running());
        for i in 1..100 {
            w.sender().send(i).unwrap();
        }
        w.stop();
        assert!(!w.is_running());
        assert_eq!(*seen.lock().unwrap(), (0..100).collect::<Vec<_>>());
        assert_eq!(started_on.lock().unwrap().as_deref(), Some("test-worker"));
    }

    #[test]
    fn stop_waits_for_pending_tasks_then_refuses_new_ones() {
        let rec = Recorder {
            delay: Duration::from_millis(2),
            ..Default::default()
        };
        let seen = rec.seen.clone();
        let mut w = Worker::new("slow");
        w.start(rec);
        let tx = w.sender();
        for i in 0..50 {
            tx.send(i).unwrap();
        }
        w.stop();
        assert_eq!(seen.lock().unwrap().len(), 50);
        assert!(tx.send(99).is_err(), "a stopped worker accepts no task");
        // Stopping twice is harmless.
        w.stop();
    }

    #[test]
    fn queue_is_bounded() {
        let w: Worker<u32> = Worker::new("idle");
        let tx = w.sender();
        for i in 0..DEFAULT_WORKER_CAPACITY as u32 {
            tx.try_send(i).unwrap();
        }
        assert!(tx.try_send(0).unwrap_err().is_full());
    }

    #[test]
    fn blocked_sender_resumes_when_worker_drains() {
        let rec = Recorder {
            delay: Duration::from_millis(1),
            ..Default::default()
        };
        let seen = rec.seen.clone();
        let mut w = Worker::with_capacity("tiny", 2);
        w.start(rec);
        let tx = w.sender();
        let producer = std::thread::spawn(move || {
            for i in 0..20 {
                tx.send(i).unwrap();
            }
        });
        producer.join().unwrap();
        w.stop();
        assert_eq!(*seen.lock().unwrap(), (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn drop_stops_the_thread() {
        let rec = Recorder::default();
        let seen = rec.seen.clone();
        {
            let mut w = Worker::new("dropped");
            w.start(rec);
            w.sender().send(7).unwrap();
        }
        assert_eq!(*seen.lock().unwrap(), vec![7]);
    }
}
