//! The window of appends a leader has sent one follower and not yet seen
//! acknowledged.
//!
//! Each append in flight is remembered by the index of its last entry. An
//! acknowledgement of index `i` frees every append ending at or before `i`;
//! the window is full once `cap` appends are outstanding, and the leader
//! then waits for acknowledgements before it sends more. That bounds what a
//! slow or unreachable follower can cost: at most `cap` messages (of at most
//! `max_size_per_msg` bytes of entries each) are queued towards it.

use std::collections::VecDeque;

/// The appends in flight to one follower, bounded by a capacity (see the
/// module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inflights {
    /// Last index of each append in flight, oldest first (so increasing).
    queue: VecDeque<u64>,
    cap: usize,
}

impl Inflights {
    /// An empty window for at most `cap` appends. The queue allocates only
    /// when appends are added, so an idle follower costs nothing.
    pub fn new(cap: usize) -> Self {
        Inflights {
            queue: VecDeque::new(),
            cap,
        }
    }

    /// The most appends the window holds.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Appends currently in flight.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when no append is in flight.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// True when no further append may be sent until one is acknowledged.
    pub fn full(&self) -> bool {
        self.queue.len() >= self.cap
    }

    /// Records an append whose last entry is `last`.
    ///
    /// # Panics
    /// If the window is full, or `last` does not follow the appends already
    /// in flight: the leader sends a follower its entries in index order.
    pub fn add(&mut self, last: u64) {
        assert!(
            !self.full(),
            "inflights: add {last} to a full window of {}",
            self.cap
        );
        if let Some(&prev) = self.queue.back() {
            assert!(
                last > prev,
                "inflights: add {last} after {prev}, appends must go out in index order"
            );
        }
        self.queue.push_back(last);
    }

    /// Frees every append whose last entry is at or before `index`: the
    /// follower has acknowledged them (or something later).
    pub fn free_to(&mut self, index: u64) {
        while self.queue.front().is_some_and(|&last| last <= index) {
            self.queue.pop_front();
        }
    }

    /// Frees the oldest append. A leader whose window is full but whose
    /// follower answers heartbeats uses it to send again, in case the
    /// acknowledgements it waits for were lost.
    pub fn free_first_one(&mut self) {
        self.queue.pop_front();
    }

    /// Forgets every append in flight.
    pub fn reset(&mut self) {
        self.queue.clear();
    }
}
