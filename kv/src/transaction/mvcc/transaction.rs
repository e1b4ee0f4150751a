//! [`MvccTxn`]: the reads and the pending writes of one command, in terms
//! of locks, values and write records; and the timestamped key encoding.

use crate::storage::{Modify, StorageReader};
use crate::util::codec;
use crate::util::engine_util::{CF_DEFAULT, CF_LOCK, CF_WRITE};

use super::{Lock, Write, WriteKind, TS_MAX};

/// Bits of a timestamp below its physical part (milliseconds); the rest is
/// a logical counter (the TSO's layout).
pub const PHYSICAL_SHIFT_BITS: u32 = 18;

/// The reads and the collected writes of one command on behalf of the
/// transaction that started at `start_ts`.
///
/// Reads go to the snapshot in `reader`; writes are only collected, never
/// visible to the reads, until the caller hands [`MvccTxn::into_writes`] to
/// the storage in one batch. Commands must hold the latches of every key
/// they write (see [`crate::transaction::latches`]).
pub struct MvccTxn {
    pub start_ts: u64,
    pub reader: Box<dyn StorageReader>,
    writes: Vec<Modify>,
}

impl MvccTxn {
    pub fn new(reader: Box<dyn StorageReader>, start_ts: u64) -> Self {
        MvccTxn {
            start_ts,
            reader,
            writes: Vec::new(),
        }
    }

    /// The writes collected so far, in order.
    pub fn writes(&self) -> &[Modify] {
        &self.writes
    }

    /// The writes collected, for the storage.
    pub fn into_writes(self) -> Vec<Modify> {
        self.writes
    }

    /// Records `write` for `key`, committed (or rolled back) at `ts`.
    pub fn put_write(&mut self, key: &[u8], ts: u64, write: &Write) {
        // student: begin 4A: put the write record in the write CF under `key` encoded with `ts`
        self.writes.push(Modify::put(
            CF_WRITE,
            &encode_key(key, ts),
            &write.to_bytes(),
        ));
        // student: end
    }

    /// The lock on `key`, if any.
    pub fn get_lock(&self, key: &[u8]) -> crate::Result<Option<Lock>> {
        // student: begin 4A: read and parse the lock CF entry of `key` (None if there is none)
        match self.reader.get_cf(CF_LOCK, key)? {
            Some(bytes) => Ok(Some(Lock::parse(&bytes)?)),
            None => Ok(None),
        }
        // student: end
    }

    /// Locks `key` with `lock`.
    pub fn put_lock(&mut self, key: &[u8], lock: &Lock) {
        // student: begin 4A: put the lock in the lock CF under the plain `key`
        self.writes
            .push(Modify::put(CF_LOCK, key, &lock.to_bytes()));
        // student: end
    }

    /// Removes the lock on `key`.
    pub fn delete_lock(&mut self, key: &[u8]) {
        // student: begin 4A: delete the lock CF entry of `key`
        self.writes.push(Modify::delete(CF_LOCK, key));
        // student: end
    }

    /// The value of `key` as of `start_ts`: the value of the newest write
    /// committed at or before it, skipping rollbacks; `None` if that write
    /// is a delete or there is none.
    pub fn get_value(&self, key: &[u8]) -> crate::Result<Option<Vec<u8>>> {
        // student: begin 4A: find the newest write of `key` committed at or before start_ts (skip rollbacks) and read its value from the default CF
        let mut it = self.reader.iter_cf(CF_WRITE);
        it.seek(&encode_key(key, self.start_ts));
        while it.valid() {
            if decode_user_key(it.key()) != key {
                break;
            }
            let write = Write::parse(it.value())?;
            match write.kind {
                WriteKind::Put => {
                    return self
                        .reader
                        .get_cf(CF_DEFAULT, &encode_key(key, write.start_ts))
                }
                WriteKind::Delete => return Ok(None),
                WriteKind::Rollback => it.next(),
            }
        }
        it.status()?;
        Ok(None)
        // student: end
    }

    /// Writes `value` for `key` at `start_ts`.
    pub fn put_value(&mut self, key: &[u8], value: &[u8]) {
        // student: begin 4A: put `value` in the default CF under `key` encoded with start_ts
        self.writes.push(Modify::put(
            CF_DEFAULT,
            &encode_key(key, self.start_ts),
            value,
        ));
        // student: end
    }

    /// Removes the value this transaction wrote for `key`.
    pub fn delete_value(&mut self, key: &[u8]) {
        // student: begin 4A: delete the default CF entry of `key` encoded with start_ts
        self.writes
            .push(Modify::delete(CF_DEFAULT, &encode_key(key, self.start_ts)));
        // student: end
    }

    /// The write of this transaction (the one whose start timestamp is
    /// `start_ts`) on `key`, with its commit timestamp; `None` if it has
    /// neither committed nor rolled back there.
    pub fn current_write(&self, key: &[u8]) -> crate::Result<Option<(Write, u64)>> {
        // student: begin 4A: walk the writes of `key` from the newest down to start_ts; return the one whose start_ts is ours, with its commit ts
        let mut it = self.reader.iter_cf(CF_WRITE);
        it.seek(&encode_key(key, TS_MAX));
        while it.valid() {
            let commit_ts = decode_timestamp(it.key());
            // A write commits at or after its start: older ones are not ours.
            if commit_ts < self.start_ts || decode_user_key(it.key()) != key {
                break;
            }
            let write = Write::parse(it.value())?;
            if write.start_ts == self.start_ts {
                return Ok(Some((write, commit_ts)));
            }
            it.next();
        }
        it.status()?;
        Ok(None)
        // student: end
    }

    /// The newest write on `key` of any transaction, with its commit
    /// timestamp; `None` if the key has never been written.
    pub fn most_recent_write(&self, key: &[u8]) -> crate::Result<Option<(Write, u64)>> {
        // student: begin 4A: the first write of `key` in the write CF (the newest), with its commit ts
        let mut it = self.reader.iter_cf(CF_WRITE);
        it.seek(&encode_key(key, TS_MAX));
        if it.valid() && decode_user_key(it.key()) == key {
            let write = Write::parse(it.value())?;
            return Ok(Some((write, decode_timestamp(it.key()))));
        }
        it.status()?;
        Ok(None)
        // student: end
    }
}

/// `key` with `ts` appended, so that encoded keys sort by user key
/// ascending, then by timestamp descending: the memcomparable encoding of
/// the key ([`codec::encode_bytes`]) followed by the complement of `ts`,
/// big-endian. Byte for byte TinyKV's `EncodeKey`.
pub fn encode_key(key: &[u8], ts: u64) -> Vec<u8> {
    let mut encoded = codec::encode_bytes(key);
    encoded.extend_from_slice(&(!ts).to_be_bytes());
    encoded
}

/// Splits a key made by [`encode_key`]. Panics on anything else: keys in
/// the default and write column families are always encoded.
fn split_key(key: &[u8]) -> (&[u8], Vec<u8>) {
    match codec::decode_bytes(key) {
        Ok((rest, user_key)) => (rest, user_key),
        Err(e) => panic!("key {key:?} is not an mvcc-encoded key: {e}"),
    }
}

/// The user key of a key made by [`encode_key`].
pub fn decode_user_key(key: &[u8]) -> Vec<u8> {
    split_key(key).1
}

/// The timestamp of a key made by [`encode_key`].
pub fn decode_timestamp(key: &[u8]) -> u64 {
    let (rest, _) = split_key(key);
    let ts: [u8; 8] = rest
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| panic!("mvcc key {key:?} has no timestamp"));
    !u64::from_be_bytes(ts)
}

/// The physical part of a timestamp, in milliseconds.
pub fn physical_time(ts: u64) -> u64 {
    ts >> PHYSICAL_SHIFT_BITS
}
