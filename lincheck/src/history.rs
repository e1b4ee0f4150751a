//! Client histories: what each client asked, when, and what came of it.

use std::borrow::Borrow;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

/// Bytes of a key or value, shared: a history repeats each key and value
/// in every read that returns it, and a [`Recorder`] keeps one copy of
/// each. One pointer wide, so a scan's pair costs 16 bytes of the history
/// (long histories hold millions). In JSON a UTF-8 string stays a string;
/// anything else is an array of numbers.
#[derive(Debug, Clone)]
pub struct Bytes(Arc<Box<[u8]>>);

// Equality and order are those of the bytes; two handles of one held copy
// (the common case in a recorded history) compare without reading them.
impl PartialEq for Bytes {
    fn eq(&self, other: &Self) -> bool {
        self.shares(other) || self.0[..] == other.0[..]
    }
}

impl Eq for Bytes {}

impl PartialOrd for Bytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Bytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if self.shares(other) {
            return std::cmp::Ordering::Equal;
        }
        self.0[..].cmp(&other.0[..])
    }
}

impl std::hash::Hash for Bytes {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0[..].hash(state)
    }
}

impl Bytes {
    /// The bytes themselves.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// True for no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True if both share one copy of their bytes.
    pub fn shares(&self, other: &Bytes) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Where the shared copy is: the same for clones, different for two
    /// copies alive at once.
    fn address(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
}

// `Box<[u8]>` hashes and compares as its slice does, so a set of `Bytes`
// can be searched by slice.
impl Borrow<[u8]> for Bytes {
    fn borrow(&self) -> &[u8] {
        &self.0
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
        Bytes(Arc::new(b.into()))
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(b: Vec<u8>) -> Self {
        Bytes(Arc::new(b.into()))
    }
}

impl From<&str> for Bytes {
    fn from(s: &str) -> Self {
        s.as_bytes().into()
    }
}

/// A key and the value a scan read for it, shared as [`Bytes`] are: a key
/// keeps its value across many scans of a long history, and each scan
/// that returns the pair then costs one pointer. In JSON `[key, value]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pair(Arc<(Bytes, Bytes)>);

impl Pair {
    /// The pair of `key` and `value`.
    pub fn new(key: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        Pair(Arc::new((key.into(), value.into())))
    }

    /// The key.
    pub fn key(&self) -> &Bytes {
        &self.0 .0
    }

    /// The value read for it.
    pub fn value(&self) -> &Bytes {
        &self.0 .1
    }
}

impl Serialize for Pair {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.as_ref().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Pair {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (key, value) = <(Bytes, Bytes)>::deserialize(d)?;
        Ok(Pair::new(key, value))
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
    Pairs(Vec<Pair>),
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

/// What a [`Recorder`] holds: the operations, and one copy of every key,
/// value and scanned pair in them.
#[derive(Default)]
struct Recording {
    ops: Vec<Op>,
    bytes: FxHashSet<Bytes>,
    /// Scanned pairs by the addresses of their (held) key and value.
    pairs: FxHashMap<(usize, usize), Pair>,
    /// Each client's last scan, as read and as held: a client rescanning
    /// its range mostly reads what it read before, and the pairs of the
    /// common prefix are then found by one comparison of the two buffers,
    /// not a lookup per pair.
    last_scan: FxHashMap<u64, (RawPairs, Vec<Pair>)>,
}

impl Recording {
    /// Makes `b` share the copy of its bytes already held, or holds it.
    fn intern(&mut self, b: &mut Bytes) {
        match self.bytes.get(b.as_slice()) {
            Some(held) => *b = held.clone(),
            None => {
                self.bytes.insert(b.clone());
            }
        }
    }

    /// The held copy of `b`, made if there is none.
    fn intern_slice(&mut self, b: &[u8]) -> Bytes {
        if let Some(held) = self.bytes.get(b) {
            return held.clone();
        }
        let held = Bytes::from(b);
        self.bytes.insert(held.clone());
        held
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

    /// The held copy of the pair of `key` and `value`, made if there is
    /// none.
    fn intern_pair(&mut self, key: &[u8], value: &[u8]) -> Pair {
        let (key, value) = (self.intern_slice(key), self.intern_slice(value));
        // Held bytes live as long as the recording, so their addresses
        // name them.
        let id = (key.address(), value.address());
        self.pairs
            .entry(id)
            .or_insert_with(|| Pair::new(key, value))
            .clone()
    }

    fn intern_read(&mut self, read: &mut Read) {
        match read {
            Read::Value(Some(v)) => self.intern(v),
            Read::Value(None) => {}
            Read::Pairs(pairs) => {
                for pair in pairs {
                    *pair = self.intern_pair(pair.key().as_slice(), pair.value().as_slice());
                }
            }
        }
    }
}

/// A scan's pairs as read, in one buffer (no allocation per pair), for
/// [`Recorder::ok_pairs`].
#[derive(Debug, Default, Clone)]
pub struct RawPairs {
    bytes: Vec<u8>,
    /// Where each pair's key and value end in `bytes`.
    ends: Vec<(usize, usize)>,
}

impl RawPairs {
    /// Appends a pair.
    pub fn push(&mut self, key: &[u8], value: &[u8]) {
        self.bytes.extend_from_slice(key);
        let key_end = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.ends.push((key_end, self.bytes.len()));
    }

    /// How many leading pairs `self` and `other` have in common (the same
    /// keys and values in the same places).
    fn common_prefix(&self, other: &RawPairs) -> usize {
        let mut start = 0;
        self.ends
            .iter()
            .zip(&other.ends)
            .take_while(|&(&a, &b)| {
                // Equal ends and equal bytes up to them: the same pair.
                let same = a == b && self.bytes[start..a.1] == other.bytes[start..a.1];
                start = a.1;
                same
            })
            .count()
    }

    /// The pairs, in the order pushed.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|&(_, v)| v));
        starts
            .zip(&self.ends)
            .map(|(start, &(k, v))| (&self.bytes[start..k], &self.bytes[k..v]))
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

    /// The scan succeeded and returned `pairs`: as [`ok`](Recorder::ok)
    /// with [`Read::Pairs`], without a copy of a key or value already held.
    pub fn ok_pairs(&self, id: OpId, pairs: &RawPairs) {
        let now = self.clock.now_ns();
        let mut inner = self.inner.lock().unwrap();
        let client = inner.ops[id.0].client;
        let (mut read, skip) = match inner.last_scan.remove(&client) {
            Some((last_raw, mut last)) => {
                let common = pairs.common_prefix(&last_raw);
                last.truncate(common);
                // Held until the end of the test: no spare capacity.
                last.reserve_exact(pairs.ends.len() - common);
                (last, common)
            }
            None => (Vec::with_capacity(pairs.ends.len()), 0),
        };
        for (k, v) in pairs.iter().skip(skip) {
            let pair = inner.intern_pair(k, v);
            read.push(pair);
        }
        inner
            .last_scan
            .insert(client, (pairs.clone(), read.clone()));
        let op = &mut inner.ops[id.0];
        op.complete = Some(now);
        op.outcome = Outcome::Ok {
            read: Some(Read::Pairs(read)),
        };
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
