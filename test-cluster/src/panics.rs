//! A store thread that panics fails the test at once, with its message.
//!
//! In Go a panicking goroutine ends the whole test process, so a store that
//! hits a bug (or a student's unwritten `todo!`) fails the test on the
//! spot. Our stores run on their own threads, and a dead raft worker would
//! otherwise leave the test waiting for a leader until some timeout gave a
//! misleading "request timeout". So a panic hook remembers the first panic
//! of a store thread, and every wait of the harness ([`sleep_ms`]) turns it
//! into a panic of the test itself.
//!
//! [`sleep_ms`]: crate::utils::sleep_ms

use std::any::Any;
use std::sync::{Mutex, Once};

// The threads a store runs (kv's raftstore and its workers).
use kv::raftstore::store::thread_name::ALL as STORE_THREADS;

static FIRST: Mutex<Option<String>> = Mutex::new(None);

/// Starts watching store threads for panics (once per process) and forgets
/// any panic of an earlier cluster in this process.
pub fn watch() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // Recorded before the usual report, whose backtrace can take
            // long enough to print that the test would meet a symptom of
            // the dead thread before learning of its death.
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("");
            if STORE_THREADS.contains(&name) {
                let message = message(info.payload());
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let mut first = FIRST.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert(format!("thread '{name}' panicked{location}: {message}"));
            }
            previous(info);
        }));
    });
    *FIRST.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Panics with the first store-thread panic, if there was one (and this
/// thread is not already unwinding).
pub fn check() {
    if std::thread::panicking() {
        return;
    }
    let first = FIRST.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(first) = first {
        panic!("a store thread panicked: {first}");
    }
}

/// The text of a panic's payload (what `panic!` was given), for a test
/// that reports a panic it caught, e.g. from a joined thread.
pub fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string())
}
