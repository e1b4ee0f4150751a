//! [`Scanner`]: the committed values of a range of keys, in key order, as
//! a transaction at a given start timestamp sees them.

use crate::storage::DbIterator;
use crate::util::engine_util::{CF_DEFAULT, CF_WRITE};

use super::{decode_timestamp, decode_user_key, encode_key, MvccTxn, Write, WriteKind};

/// Walks the write column family from a start key on and yields, for each
/// user key with a value visible at the transaction's start timestamp, the
/// key and that value. Keys whose visible write is a delete are skipped.
///
/// Between calls the write iterator rests at the first entry not yet
/// looked at, or is invalid when the range is exhausted.
pub struct Scanner<'a> {
    txn: &'a MvccTxn,
    iter: Box<dyn DbIterator + 'a>,
}

impl<'a> Scanner<'a> {
    /// A scanner over `txn`'s snapshot from `start_key` (inclusive) on.
    pub fn new(start_key: &[u8], txn: &'a MvccTxn) -> Self {
        // student: begin 4C: open an iterator on the write CF and seek it to the newest version of `start_key` visible at the txn's start_ts
        let mut iter = txn.reader.iter_cf(CF_WRITE);
        iter.seek(&encode_key(start_key, txn.start_ts));
        Scanner { txn, iter }
        // student: end
    }

    /// The next key and its visible value; `None` once the range is
    /// exhausted.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> crate::Result<Option<(Vec<u8>, Vec<u8>)>> {
        // student: begin 4C: skip versions newer than start_ts, rollbacks and deletes; return the next user key with its value, leaving the iterator past that key's versions
        let start_ts = self.txn.start_ts;
        while self.iter.valid() {
            let user_key = decode_user_key(self.iter.key());
            if decode_timestamp(self.iter.key()) > start_ts {
                // Committed after we started: jump to what we may see.
                self.iter.seek(&encode_key(&user_key, start_ts));
                continue;
            }
            let write = Write::parse(self.iter.value())?;
            match write.kind {
                WriteKind::Rollback => {
                    // Says nothing about the value: look at older versions.
                    self.iter.next();
                }
                WriteKind::Delete => self.skip_key(&user_key),
                WriteKind::Put => {
                    let value = self
                        .txn
                        .reader
                        .get_cf(CF_DEFAULT, &encode_key(&user_key, write.start_ts))?
                        .unwrap_or_default();
                    self.skip_key(&user_key);
                    return Ok(Some((user_key, value)));
                }
            }
        }
        self.iter.status()?;
        Ok(None)
        // student: end
    }

    /// Moves past every remaining version of `user_key`.
    fn skip_key(&mut self, user_key: &[u8]) {
        // student: begin 4C: move the iterator to the first entry of the next user key
        // The oldest possible version of the key sorts last among them.
        self.iter.seek(&encode_key(user_key, 0));
        if self.iter.valid() && decode_user_key(self.iter.key()) == user_key {
            self.iter.next();
        }
        // student: end
    }
}
