//! Point reads and writes by column family, protobuf meta values, range
//! deletion (TinyKV's `engine_util/util.go`).

use rocksdb::{ColumnFamily, WriteBatch as RawWriteBatch};

use super::{EngineError, Result, CFS, CF_RAFT, DB};

/// The handle of column family `cf`, or [`EngineError::UnknownCf`].
pub fn cf_handle<'a>(db: &'a DB, cf: &str) -> Result<&'a ColumnFamily> {
    db.cf_handle(cf)
        .ok_or_else(|| EngineError::UnknownCf(cf.to_string()))
}

/// The value of `key` in `cf`; `None` if absent (TinyKV returns
/// `ErrKeyNotFound`).
pub fn get_cf(db: &DB, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(db.get_cf(cf_handle(db, cf)?, key)?)
}

/// Stores `val` under `key` in `cf`, immediately. Unlike a
/// [`WriteBatch`](super::WriteBatch) entry, an empty value is stored as an
/// empty value, as TinyKV's `PutCF` does.
pub fn put_cf(db: &DB, cf: &str, key: &[u8], val: &[u8]) -> Result<()> {
    Ok(db.put_cf(cf_handle(db, cf)?, key, val)?)
}

/// Deletes `key` from `cf`, immediately.
pub fn delete_cf(db: &DB, cf: &str, key: &[u8]) -> Result<()> {
    Ok(db.delete_cf(cf_handle(db, cf)?, key)?)
}

/// Decodes the protobuf stored under the meta key `key`; `None` if absent.
pub fn get_meta<M: prost::Message + Default>(db: &DB, key: &[u8]) -> Result<Option<M>> {
    match get_cf(db, CF_RAFT, key)? {
        None => Ok(None),
        Some(val) => decode_meta(key, &val).map(Some),
    }
}

pub(super) fn decode_meta<M: prost::Message + Default>(key: &[u8], val: &[u8]) -> Result<M> {
    M::decode(val).map_err(|source| EngineError::Decode {
        key: key.to_vec(),
        source,
    })
}

/// Stores `msg` under the meta key `key`, immediately.
pub fn put_meta(db: &DB, key: &[u8], msg: &impl prost::Message) -> Result<()> {
    put_cf(db, CF_RAFT, key, &msg.encode_to_vec())
}

/// Deletes the meta key `key`, immediately.
pub fn delete_meta(db: &DB, key: &[u8]) -> Result<()> {
    delete_cf(db, CF_RAFT, key)
}

/// Deletes every user key in `[start_key, end_key)` from the three data
/// column families ([`CFS`]) in one atomic write. An empty `end_key` means
/// "to the end". Meta keys are not touched.
///
/// Uses RocksDB range deletions; for an open end the range is closed at the
/// CF's current last key, which is then deleted on its own.
pub fn delete_range(db: &DB, start_key: &[u8], end_key: &[u8]) -> Result<()> {
    let mut batch = RawWriteBatch::default();
    for cf in CFS {
        let handle = cf_handle(db, cf)?;
        if !end_key.is_empty() {
            if start_key < end_key {
                batch.delete_range_cf(handle, start_key, end_key);
            }
            continue;
        }
        let mut it = db.raw_iterator_cf(handle);
        it.seek_to_last();
        it.status()?;
        if let Some(last) = it.key() {
            if last >= start_key {
                batch.delete_range_cf(handle, start_key, last);
                batch.delete_cf(handle, last);
            }
        }
    }
    if !batch.is_empty() {
        db.write(batch)?;
    }
    Ok(())
}

/// Whether `current` is at or past `end_key`, an exclusive range end where
/// empty means +infinity (TinyKV's `ExceedEndKey`).
pub fn exceed_end_key(current: &[u8], end_key: &[u8]) -> bool {
    !end_key.is_empty() && current >= end_key
}

/// True if no column family of `db` holds any key.
pub fn is_db_empty(db: &DB) -> Result<bool> {
    for cf in super::ALL_CFS {
        let mut it = db.raw_iterator_cf(cf_handle(db, cf)?);
        it.seek_to_first();
        it.status()?;
        if it.valid() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Approximate bytes used by `db`: live SST files plus memtables, over all
/// column families.
pub fn db_size(db: &DB) -> u64 {
    let mut total = 0;
    for cf in super::ALL_CFS {
        let Ok(handle) = cf_handle(db, cf) else {
            continue;
        };
        for prop in [
            "rocksdb.total-sst-files-size",
            "rocksdb.cur-size-all-mem-tables",
        ] {
            total += db
                .property_int_value_cf(handle, prop)
                .ok()
                .flatten()
                .unwrap_or(0);
        }
    }
    total
}
