//! Client histories: what each client asked, when, and what came of it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Bytes of a key or value, shared: a history repeats each key and value
/// in every read that returns it, and a [`Recorder`] keeps one copy of
/// each. In JSON a UTF-8 string stays a string; anything else is an array
/// of numbers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bytes(pub Arc<[u8]>);

impl Bytes {
    /// The bytes themselves.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// True for no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => self.0[..].serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Raw(Vec<u8>),
        }
        Ok(match Either::deserialize(d)? {
            Either::Text(t) => Bytes::from(t.into_bytes()),
            Either::Raw(r) => Bytes::from(r),
        })
    }
}

impl std::fmt::Display for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const MAX: usize = 48;
        let text = String::from_utf8_lossy(&self.0);
        if text.chars().count() > MAX {
            let head: String = text.chars().take(MAX).collect();
            write!(f, "{head:?}…({} bytes)", self.0.len())
        } else {
            write!(f, "{text:?}")
        }
    }
}

impl From<&[u8]> for Bytes {
    fn from(b: &[u8]) -> Self {
        Bytes(b.into())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(b: Vec<u8>) -> Self {
        Bytes(b.into())
    }
}

impl From<&str> for Bytes {
    fn from(s: &str) -> Self {
        Bytes(s.as_bytes().into())
    }
}

/// What a client asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Call {
    /// Set `key` to `value`.
    Put {
        /// The key.
        key: Bytes,
        /// The value.
        value: Bytes,
    },
    /// Remove `key`.
    Delete {
        /// The key.
        key: Bytes,
    },
    /// Read `key`.
    Get {
        /// The key.
        key: Bytes,
    },
    /// Read every key in `[start, end)` (an empty `end`: to the end).
    Scan {
        /// First key of the range.
        start: Bytes,
        /// End of the range, exclusive; empty for no end.
        end: Bytes,
    },
}

impl Call {
    /// True for calls that change the store.
    pub fn is_write(&self) -> bool {
        matches!(self, Call::Put { .. } | Call::Delete { .. })
    }
}

/// What came of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// Done; for a write, applied exactly once.
    Ok {
        /// What a read returned (`None` for writes).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        read: Option<Read>,
    },
    /// Certainly had no effect (refused before it could take effect).
    Failed,
    /// May have taken effect, may take effect later, may never.
    Unknown,
}

/// A read's result (in JSON `{"value": …}` or `{"pairs": […]}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Read {
    /// A get: the value, or `None` if the key was absent.
    Value(Option<Bytes>),
    /// A scan: the pairs found, in key order.
    Pairs(Vec<(Bytes, Bytes)>),
}

/// One operation of a history. Times are nanoseconds on one clock for the
/// whole history (wall or virtual).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    /// Position in the history.
    pub id: usize,
    /// Which client issued it (a client's operations do not overlap).
    pub client: u64,
    /// What was asked.
    #[serde(flatten)]
    pub call: Call,
    /// When it was sent.
    pub invoke: u64,
    /// When its answer arrived; `None` if none did.
    pub complete: Option<u64>,
    /// What came of it.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |ns: u64| ns as f64 / 1e6;
        write!(f, "#{} client {} ", self.id, self.client)?;
        match &self.call {
            Call::Put { key, value } => write!(f, "put {key} = {value}")?,
            Call::Delete { key } => write!(f, "delete {key}")?,
            Call::Get { key } => write!(f, "get {key}")?,
            Call::Scan { start, end } => write!(f, "scan [{start}, {end})")?,
        }
        match &self.outcome {
            Outcome::Ok {
                read: Some(Read::Value(Some(v))),
            } => write!(f, " -> {v}")?,
            Outcome::Ok {
                read: Some(Read::Value(None)),
            } => write!(f, " -> absent")?,
            Outcome::Ok {
                read: Some(Read::Pairs(p)),
            } => write!(f, " -> {} pairs", p.len())?,
            Outcome::Ok { read: None } => write!(f, " -> ok")?,
            Outcome::Failed => write!(f, " -> failed")?,
            Outcome::Unknown => write!(f, " -> unknown")?,
        }
        match self.complete {
            Some(c) => write!(f, " [{:.3} ms, {:.3} ms]", ms(self.invoke), ms(c)),
            None => write!(f, " [{:.3} ms, ∞)", ms(self.invoke)),
        }
    }
}

/// A whole history, in invocation order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// The operations; `ops[i].id == i`.
    pub ops: Vec<Op>,
}

/// Where a history's times come from: the wall clock for threaded tests,
/// a virtual clock for a simulated run.
pub trait Clock: Send + Sync {
    /// Nanoseconds since the clock's start; never decreasing.
    fn now_ns(&self) -> u64;
}

/// Nanoseconds since the clock was made, from [`Instant`].
#[derive(Debug)]
pub struct WallClock(Instant);

impl Default for WallClock {
    fn default() -> Self {
        WallClock(Instant::now())
    }
}

impl Clock for WallClock {
    fn now_ns(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

/// Records a history as clients run: [`invoke`](Recorder::invoke) before a
/// command is sent, then one of [`ok`](Recorder::ok),
/// [`failed`](Recorder::failed) or [`unknown`](Recorder::unknown). A call
/// never ended is unknown. Shared by all clients of a test.
pub struct Recorder {
    clock: Arc<dyn Clock>,
    inner: Mutex<Recording>,
}

/// What a [`Recorder`] holds: the operations, and one copy of every key
/// and value in them.
#[derive(Default)]
struct Recording {
    ops: Vec<Op>,
    bytes: HashSet<Arc<[u8]>>,
}

impl Recording {
    /// Makes `b` share the copy of its bytes already held, or holds it.
    fn intern(&mut self, b: &mut Bytes) {
        match self.bytes.get(&b.0[..]) {
            Some(held) => b.0 = held.clone(),
            None => {
                self.bytes.insert(b.0.clone());
            }
        }
    }

    fn intern_call(&mut self, call: &mut Call) {
        match call {
            Call::Put { key, value } => {
                self.intern(key);
                self.intern(value);
            }
            Call::Delete { key } | Call::Get { key } => self.intern(key),
            Call::Scan { start, end } => {
                self.intern(start);
                self.intern(end);
            }
        }
    }

    fn intern_read(&mut self, read: &mut Read) {
        match read {
            Read::Value(Some(v)) => self.intern(v),
            Read::Value(None) => {}
            Read::Pairs(pairs) => {
                for (k, v) in pairs {
                    self.intern(k);
                    self.intern(v);
                }
            }
        }
    }
}

/// The handle of an invoked operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpId(usize);

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new(Arc::new(WallClock::default()))
    }
}

impl Recorder {
    /// A recorder reading times from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Recorder {
            clock,
            inner: Mutex::new(Recording::default()),
        }
    }

    /// Notes that `client` sent `call` now.
    pub fn invoke(&self, client: u64, mut call: Call) -> OpId {
        let mut inner = self.inner.lock().unwrap();
        inner.intern_call(&mut call);
        let id = inner.ops.len();
        // Read the clock under the lock, so ids follow invocation times.
        let invoke = self.clock.now_ns();
        inner.ops.push(Op {
            id,
            client,
            call,
            invoke,
            complete: None,
            outcome: Outcome::Unknown,
        });
        OpId(id)
    }

    fn end(&self, id: OpId, mut outcome: Outcome) {
        let now = self.clock.now_ns();
        let mut inner = self.inner.lock().unwrap();
        if let Outcome::Ok { read: Some(read) } = &mut outcome {
            inner.intern_read(read);
        }
        let op = &mut inner.ops[id.0];
        op.complete = Some(now);
        op.outcome = outcome;
    }

    /// The call succeeded; `read` is what a read returned.
    pub fn ok(&self, id: OpId, read: Option<Read>) {
        self.end(id, Outcome::Ok { read });
    }

    /// The call certainly had no effect.
    pub fn failed(&self, id: OpId) {
        self.end(id, Outcome::Failed);
    }

    /// The call's effect is unknown (its answer time is still noted).
    pub fn unknown(&self, id: OpId) {
        self.end(id, Outcome::Unknown);
    }

    /// The history so far.
    pub fn history(&self) -> History {
        History {
            ops: self.inner.lock().unwrap().ops.clone(),
        }
    }

    /// The history so far, moved out: the recorder starts again empty
    /// (no copy of a long history at the end of a test).
    pub fn take_history(&self) -> History {
        let recording = std::mem::take(&mut *self.inner.lock().unwrap());
        History { ops: recording.ops }
    }
}
