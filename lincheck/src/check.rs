//! The check: a history of a key-value store is linearizable if every
//! key's history is (the store's keys are independent registers, and
//! linearizability composes over independent objects). Each key's
//! history is searched the way Wing & Gong, with Lowe's memoization,
//! search one object's: try to put a pending call next in the order, move
//! on, undo when a call's answer comes before it could be placed, and
//! never visit the same (placed calls, value) twice.
//!
//! Outcomes: a failed call never happened and is left out; a read with an
//! unknown outcome says nothing and is left out; a write with an unknown
//! outcome may take effect at any time after it was sent — its answer is
//! put at the end of time, so it can be placed anywhere later, including
//! after everything (which is the same as never). A scan is a read of
//! every key of its range that the history writes: a key it did not
//! return was absent. (Scans are thus checked key by key, not as one
//! atomic snapshot.)

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::history::{Bytes, Call, History, Op, Outcome, Read};

/// What a passing check looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Keys checked.
    pub keys: usize,
    /// Per-key operations checked (a scan counts once per key it covers).
    pub key_ops: usize,
    /// Search states visited, over all keys.
    pub states: u64,
}

/// A history that is not linearizable, and why.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The key whose history has no valid order (empty for a malformed
    /// scan).
    pub key: Bytes,
    /// What went wrong, in one sentence.
    pub reason: String,
    /// The operations involved: the one that could not be placed, the
    /// ones that could have gone before it, and the last write placed.
    pub witness: Vec<Op>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "not linearizable, key {}: {}", self.key, self.reason)?;
        for op in &self.witness {
            writeln!(f, "  {op}")?;
        }
        Ok(())
    }
}

/// About how many per-key operations are held at a time: keys are
/// checked in batches of consecutive keys whose histories add up to about
/// this many (a long history's scans add up to tens of millions of them,
/// every scan being a read of every key in its range), so the batches in
/// hand take some 40 MB however long the history is.
const KEY_OPS_PER_BATCH: usize = 1 << 20;

/// Most threads one check uses.
const MAX_THREADS: usize = 4;

/// Checks the whole history: linearizable per key, with failed calls left
/// out, unknown reads ignored and unknown writes free to apply late or never.
/// Batches of keys are checked on as many threads as there are cores (at
/// most [`MAX_THREADS`]), each holding its share of the batch budget; the
/// answer does not depend on how many.
pub fn check(history: &History) -> Result<Summary, Violation> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS);
    check_in_batches(history, KEY_OPS_PER_BATCH / threads, threads)
}

/// [`check`], `threads` batches at a time, each of about `batch_ops`
/// per-key operations. The violation reported is the one of the first key
/// (in key order) whose history fails, whichever thread finds it.
pub(crate) fn check_in_batches(
    history: &History,
    batch_ops: usize,
    threads: usize,
) -> Result<Summary, Violation> {
    let checked = checked_ops(history)?;
    let keys = keys_of(&checked);
    let mut written: Vec<&Bytes> = checked
        .iter()
        .filter_map(|(op, _)| match &op.call {
            Call::Put { key, .. } | Call::Delete { key } => Some(key),
            _ => None,
        })
        .collect();
    written.sort_unstable();
    written.dedup();
    let sizes = key_op_bounds(&checked, &keys);
    let batches = cut_batches(&sizes, batch_ops);
    let check_batch = |range: &std::ops::Range<usize>| -> Result<Summary, Violation> {
        // Values are compared only within one key's history, so ids need
        // only be distinct within the batch.
        let mut ids: HashMap<&Bytes, u32> = HashMap::default();
        let batch = &keys[range.clone()];
        let per_key = split_by_key(&checked, &written, batch, &sizes[range.clone()], &mut ids);
        let mut summary = Summary::default();
        for (key, ops) in batch.iter().zip(per_key) {
            if ops.is_empty() {
                continue;
            }
            summary.keys += 1;
            summary.key_ops += ops.len();
            summary.states += check_key(history, key, &ops)?;
        }
        Ok(summary)
    };
    // Batches are handed out in order and a taken batch is always
    // finished, so when one fails every batch before it is checked too.
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let work = || {
        let mut done = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(range) = batches.get(i) else { break };
            let result = check_batch(range);
            if result.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            done.push((i, result));
        }
        done
    };
    let mut results: Vec<(usize, Result<Summary, Violation>)> = if threads <= 1 {
        work()
    } else {
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            let mut all = work();
            for h in helpers {
                all.extend(h.join().expect("a check thread panicked"));
            }
            all
        })
    };
    results.sort_unstable_by_key(|(i, _)| *i);
    let mut summary = Summary::default();
    for (_, result) in results {
        let s = result?;
        summary.keys += s.keys;
        summary.key_ops += s.key_ops;
        summary.states += s.states;
    }
    Ok(summary)
}

/// Consecutive key ranges whose bounds (`sizes`) add up to at most
/// `batch_ops` each (a single key above it makes a batch of its own).
fn cut_batches(sizes: &[usize], batch_ops: usize) -> Vec<std::ops::Range<usize>> {
    let mut batches = Vec::new();
    let mut from = 0;
    while from < sizes.len() {
        let mut to = from + 1;
        let mut held = sizes[from];
        while to < sizes.len() && held + sizes[to] <= batch_ops {
            held += sizes[to];
            to += 1;
        }
        batches.push(from..to);
        from = to;
    }
    batches
}

/// For each of `keys` (sorted), at least as many operations as its
/// history will hold: the writes and gets that name it, and every scan
/// whose range contains it (a scan reads only the keys of its range that
/// are written or returned, so this may count a few too many).
pub(crate) fn key_op_bounds(checked: &[(&Op, u64)], keys: &[&Bytes]) -> Vec<usize> {
    // Scans add one over a range of keys: +1 where it starts, -1 past it.
    let mut delta = vec![0isize; keys.len() + 1];
    for (op, _) in checked {
        match &op.call {
            Call::Put { key, .. } | Call::Delete { key } | Call::Get { key } => {
                if let Ok(i) = keys.binary_search(&key) {
                    delta[i] += 1;
                    delta[i + 1] -= 1;
                }
            }
            Call::Scan { start, end } => {
                let lo = keys.partition_point(|k| *k < start);
                let hi = keys.partition_point(|k| end.is_empty() || *k < end);
                if lo < hi {
                    delta[lo] += 1;
                    delta[hi] -= 1;
                }
            }
        }
    }
    let mut running = 0isize;
    delta[..keys.len()]
        .iter()
        .map(|d| {
            running += d;
            running as usize
        })
        .collect()
}

/// One operation of one key's history.
#[derive(Debug, Clone)]
struct KeyOp {
    /// Index of the history operation it comes from.
    op: usize,
    write: bool,
    /// Written value, or the value read; `None` is absent. Interned.
    value: Option<u32>,
    call: u64,
    ret: u64,
}

/// The operations the check looks at, each with the time of its answer
/// (the end of time for a write whose outcome is unknown): failed calls
/// and unknown reads are left out. Reads are checked for their form.
fn checked_ops(history: &History) -> Result<Vec<(&Op, u64)>, Violation> {
    let mut checked = Vec::with_capacity(history.ops.len());
    for op in &history.ops {
        let ret = match (&op.outcome, op.complete) {
            (Outcome::Failed, _) => continue,
            (Outcome::Unknown, _) if !op.call.is_write() => continue,
            (Outcome::Unknown, _) | (Outcome::Ok { .. }, None) => u64::MAX,
            (Outcome::Ok { .. }, Some(t)) => t,
        };
        match (&op.call, &op.outcome) {
            (Call::Get { .. }, Outcome::Ok { read }) if !matches!(read, Some(Read::Value(_))) => {
                return Err(malformed(op, "a get without a value read"));
            }
            (Call::Scan { start, end }, Outcome::Ok { read }) => {
                let Some(Read::Pairs(pairs)) = read else {
                    return Err(malformed(op, "a scan without pairs"));
                };
                let in_range = |k: &Bytes| k >= start && (end.is_empty() || k < end);
                if let Some(p) = pairs.iter().find(|p| !in_range(p.key())) {
                    return Err(malformed(
                        op,
                        &format!("returned {}, outside its range", p.key()),
                    ));
                }
                if pairs.windows(2).any(|w| w[0].key() >= w[1].key()) {
                    return Err(malformed(op, "returned keys out of order or twice"));
                }
            }
            _ => {}
        }
        checked.push((op, ret));
    }
    Ok(checked)
}

/// Every key the checked operations name or return, sorted.
fn keys_of<'h>(checked: &[(&'h Op, u64)]) -> Vec<&'h Bytes> {
    let mut keys: HashSet<&Bytes> = HashSet::default();
    for (op, _) in checked {
        match (&op.call, &op.outcome) {
            (Call::Put { key, .. } | Call::Delete { key } | Call::Get { key }, _) => {
                keys.insert(key);
            }
            (
                Call::Scan { .. },
                Outcome::Ok {
                    read: Some(Read::Pairs(pairs)),
                },
            ) => keys.extend(pairs.iter().map(|p| p.key())),
            _ => {}
        }
    }
    let mut keys: Vec<&Bytes> = keys.into_iter().collect();
    keys.sort_unstable();
    keys
}

/// The per-key histories of the keys in `batch` (sorted, consecutive
/// among all keys, so a key between its first and last is one of them),
/// in the order of `batch`. `written` is every key the history writes,
/// sorted: a scan reads the ones in its range, whether it returned them or
/// not. `sizes` bounds each key's history from above (each is allocated
/// once, at that size).
fn split_by_key<'h>(
    checked: &[(&'h Op, u64)],
    written: &[&'h Bytes],
    batch: &[&'h Bytes],
    sizes: &[usize],
    ids: &mut HashMap<&'h Bytes, u32>,
) -> Vec<Vec<KeyOp>> {
    let (Some(&first), Some(&last)) = (batch.first(), batch.last()) else {
        return Vec::new();
    };
    let in_batch = |k: &Bytes| first <= k && k <= last;
    // A hash lookup per operation, not a search of the sorted keys: a
    // long history has millions of per-key operations.
    let slot: HashMap<&Bytes, usize> = batch.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let mut per_key: Vec<Vec<KeyOp>> = sizes.iter().map(|&n| Vec::with_capacity(n)).collect();
    for &(op, ret) in checked {
        let mut push = |key: &'h Bytes, write: bool, value: Option<u32>| {
            per_key[slot[key]].push(KeyOp {
                op: op.id,
                write,
                value,
                call: op.invoke,
                ret,
            });
        };
        match (&op.call, &op.outcome) {
            (Call::Put { key, value }, _) if in_batch(key) => {
                push(key, true, intern(ids, Some(value)))
            }
            (Call::Delete { key }, _) if in_batch(key) => push(key, true, None),
            (
                Call::Get { key },
                Outcome::Ok {
                    read: Some(Read::Value(v)),
                },
            ) if in_batch(key) => push(key, false, intern(ids, v.as_ref())),
            (
                Call::Scan { start, end },
                Outcome::Ok {
                    read: Some(Read::Pairs(pairs)),
                },
            ) => {
                // The written keys of the scan's range within the batch,
                // and the pairs it returned there: both sorted, walked
                // together, each key once.
                let lo = written.partition_point(|k| *k < start || *k < first);
                let hi = written.partition_point(|k| (end.is_empty() || *k < end) && *k <= last);
                let mut covered = written[lo..hi.max(lo)].iter().copied().peekable();
                let (lo, hi) = (
                    pairs.partition_point(|p| p.key() < first),
                    pairs.partition_point(|p| p.key() <= last),
                );
                let mut found = pairs[lo..hi.max(lo)]
                    .iter()
                    .map(|p| (p.key(), p.value()))
                    .peekable();
                loop {
                    let (key, value) = match (covered.peek().copied(), found.peek().copied()) {
                        (None, None) => break,
                        (Some(w), Some((k, _))) if w < k => {
                            covered.next();
                            (w, None)
                        }
                        (Some(w), None) => {
                            covered.next();
                            (w, None)
                        }
                        (w, Some((k, v))) => {
                            if w == Some(k) {
                                covered.next();
                            }
                            found.next();
                            (k, Some(v))
                        }
                    };
                    push(key, false, intern(ids, value));
                }
            }
            _ => {}
        }
    }
    per_key
}

/// The id of a value (`None`, absent, has none), the same for equal values.
fn intern<'h>(ids: &mut HashMap<&'h Bytes, u32>, value: Option<&'h Bytes>) -> Option<u32> {
    let value = value?;
    let next = ids.len() as u32;
    Some(*ids.entry(value).or_insert(next))
}

fn malformed(op: &Op, what: &str) -> Violation {
    Violation {
        key: Bytes::from(Vec::new()),
        reason: format!("operation #{} {what}", op.id),
        witness: vec![op.clone()],
    }
}

/// An event of the search: an operation's call or its answer.
#[derive(Debug, Clone, Copy)]
struct Event {
    op: usize,
    is_call: bool,
}

const NIL: usize = usize::MAX;

/// The events still to place, as a doubly linked list that can take an
/// operation out and put it back in O(1) (removals undone in reverse).
struct Events {
    events: Vec<Event>,
    next: Vec<usize>,
    prev: Vec<usize>,
    /// For each operation, the index of its answer event.
    ret_of: Vec<usize>,
    head: usize,
}

impl Events {
    fn new(ops: &[KeyOp]) -> Self {
        let mut order: Vec<(u64, bool, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            // At equal times calls sort first: the two overlap.
            order.push((op.call, false, i));
            order.push((op.ret, true, i));
        }
        order.sort_unstable();
        let n = order.len();
        let mut events = Vec::with_capacity(n + 1);
        let mut ret_of = vec![0; ops.len()];
        for (idx, &(_, is_ret, op)) in order.iter().enumerate() {
            events.push(Event {
                op,
                is_call: !is_ret,
            });
            if is_ret {
                ret_of[op] = idx;
            }
        }
        // The head sentinel sits at index n; the last event points at NIL.
        events.push(Event {
            op: NIL,
            is_call: false,
        });
        let mut next: Vec<usize> = (1..=n).chain([NIL]).collect();
        let mut prev: Vec<usize> = (0..=n).map(|i| i.wrapping_sub(1)).collect();
        if n > 0 {
            next[n - 1] = NIL;
            next[n] = 0;
            prev[0] = n;
        } else {
            next[n] = NIL;
        }
        Events {
            events,
            next,
            prev,
            ret_of,
            head: n,
        }
    }

    fn first(&self) -> usize {
        self.next[self.head]
    }

    fn unlink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, x: usize) {
        let (p, n) = (self.prev[x], self.next[x]);
        self.next[p] = x;
        if n != NIL {
            self.prev[n] = x;
        }
    }

    /// Takes a placed operation (its call at `call`) out of the list.
    fn lift(&mut self, call: usize) {
        let ret = self.ret_of[self.events[call].op];
        self.unlink(call);
        self.unlink(ret);
    }

    fn unlift(&mut self, call: usize) {
        let ret = self.ret_of[self.events[call].op];
        self.relink(ret);
        self.relink(call);
    }
}

/// Searches one key's history; the number of states visited, or why no
/// order exists.
fn check_key(history: &History, key: &Bytes, ops: &[KeyOp]) -> Result<u64, Violation> {
    let mut events = Events::new(ops);
    // The set of placed operations is remembered by a 128-bit Zobrist hash
    // (the xor of a random tag per placed operation): O(1) per step where a
    // bitset would cost O(operations). Two different sets share a hash
    // with odds near 2^-128, and a clash could only hide a valid order
    // (a false alarm), never pass an invalid history.
    let tags: Vec<u128> = {
        let mut x = 0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835u128 ^ ops.len() as u128;
        (0..ops.len())
            .map(|_| {
                x ^= x << 23;
                x ^= x >> 17;
                x ^= x << 26;
                x
            })
            .collect()
    };
    let mut placed: u128 = 0;
    let mut state: Option<u32> = None;
    let mut stack: Vec<(usize, Option<u32>)> = Vec::new();
    let mut seen: HashSet<(u128, Option<u32>)> = HashSet::default();
    let mut states = 0u64;
    // The deepest point reached, for the witness: (depth, the answer that
    // could not be reached in time, the calls pending there, the value).
    let mut deepest: Option<(usize, usize, Vec<usize>, Vec<usize>)> = None;
    let mut at = events.first();
    while events.first() != NIL {
        let ev = events.events[at];
        if ev.is_call {
            let op = &ops[ev.op];
            let fits = op.write || op.value == state;
            let after = if op.write { op.value } else { state };
            if fits && seen.insert((placed ^ tags[ev.op], after)) {
                placed ^= tags[ev.op];
                states += 1;
                stack.push((at, state));
                state = after;
                events.lift(at);
                at = events.first();
                continue;
            }
            at = events.next[at];
        } else {
            if deepest.as_ref().is_none_or(|d| stack.len() > d.0) {
                let mut pending = Vec::new();
                let mut e = events.first();
                while e != at {
                    if events.events[e].is_call {
                        pending.push(events.events[e].op);
                    }
                    e = events.next[e];
                }
                let order: Vec<usize> = stack.iter().map(|(c, _)| events.events[*c].op).collect();
                deepest = Some((stack.len(), ev.op, pending, order));
            }
            let Some((call, before)) = stack.pop() else {
                let (_, stuck, pending, order) = deepest.expect("recorded above");
                return Err(witness(history, key, ops, stuck, &pending, &order));
            };
            placed ^= tags[events.events[call].op];
            state = before;
            events.unlift(call);
            at = events.next[call];
        }
    }
    Ok(states)
}

fn witness(
    history: &History,
    key: &Bytes,
    ops: &[KeyOp],
    stuck: usize,
    pending: &[usize],
    order: &[usize],
) -> Violation {
    let last_write = order.iter().rev().find(|&&i| ops[i].write).copied();
    let mut involved: Vec<usize> = pending.to_vec();
    involved.push(stuck);
    involved.extend(last_write);
    let mut ids: Vec<usize> = involved.iter().map(|&i| ops[i].op).collect();
    ids.sort_unstable();
    ids.dedup();
    let value = match last_write {
        Some(w) => format!("the value written by #{}", ops[w].op),
        None => "its initial value (absent)".to_string(),
    };
    Violation {
        key: key.clone(),
        reason: format!(
            "after the longest valid order found ({} operations), the key holds {value}, \
             and #{} answered before it could take effect",
            order.len(),
            ops[stuck].op
        ),
        witness: ids.into_iter().map(|id| history.ops[id].clone()).collect(),
    }
}
