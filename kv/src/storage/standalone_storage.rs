//! Project 1's storage: one local RocksDB, no replication.

use std::sync::Arc;

use proto::kvrpcpb::Context;
use rocksdb::DB;

use crate::config::Config;
use crate::storage::{empty_iter, is_user_cf, DbIterator, Modify, Storage, StorageReader};
use crate::util::engine_util::{cf_handle, create_db, DbSnapshot};

/// A single-node storage over a RocksDB instance in `<db_path>/kv`.
pub struct StandaloneStorage {
    conf: Config,
    db: Option<Arc<DB>>,
}

impl StandaloneStorage {
    pub fn new(conf: &Config) -> Self {
        StandaloneStorage {
            conf: conf.clone(),
            db: None,
        }
    }

    fn db(&self) -> crate::Result<&Arc<DB>> {
        self.db
            .as_ref()
            .ok_or_else(|| crate::Error::Other("standalone storage is not started".into()))
    }
}

impl Storage for StandaloneStorage {
    fn start(&mut self) -> crate::Result<()> {
        // student: begin 1: open the RocksDB under `<db_path>/kv` (once)
        if self.db.is_none() {
            let path = std::path::Path::new(&self.conf.db_path).join("kv");
            self.db = Some(Arc::new(create_db(path, &self.conf.engine)?));
        }
        Ok(())
        // student: end
    }

    fn stop(&mut self) -> crate::Result<()> {
        // student: begin 1: close the DB
        // RocksDB closes when the last handle (readers included) goes.
        self.db = None;
        Ok(())
        // student: end
    }

    fn write(&self, _ctx: &Context, batch: Vec<Modify>) -> crate::Result<()> {
        // student: begin 1: write every Put and Delete of the batch in one RocksDB write batch; refuse an unknown column family
        let db = self.db()?;
        let mut wb = rocksdb::WriteBatch::default();
        for m in &batch {
            if !is_user_cf(m.cf()) {
                return Err(crate::Error::Other(format!(
                    "invalid column family {:?}",
                    m.cf()
                )));
            }
            let cf = cf_handle(db, m.cf())?;
            match m {
                Modify::Put { key, value, .. } => wb.put_cf(cf, key, value),
                Modify::Delete { key, .. } => wb.delete_cf(cf, key),
            }
        }
        db.write(wb).map_err(|e| crate::Error::Engine(e.into()))
        // student: end
    }

    fn reader(&self, _ctx: &Context) -> crate::Result<Box<dyn StorageReader>> {
        // student: begin 1: a reader over a consistent snapshot of the DB
        Ok(Box::new(StandaloneReader {
            snap: DbSnapshot::new(self.db()?.clone()),
        }))
        // student: end
    }
}

/// A snapshot of the whole DB.
pub struct StandaloneReader {
    snap: DbSnapshot,
}

impl StorageReader for StandaloneReader {
    fn get_cf(&self, cf: &str, key: &[u8]) -> crate::Result<Option<Vec<u8>>> {
        // student: begin 1: the value of `key` in `cf`, None if absent; refuse an unknown column family
        if !is_user_cf(cf) {
            return Err(crate::Error::Other(format!("invalid column family {cf:?}")));
        }
        Ok(self.snap.get_cf(cf, key)?)
        // student: end
    }

    fn iter_cf(&self, cf: &str) -> Box<dyn DbIterator + '_> {
        // student: begin 1: an iterator over `cf` in key order (an empty one for an unknown column family)
        if !is_user_cf(cf) {
            return Box::new(empty_iter(&self.snap));
        }
        Box::new(self.snap.iter_cf(cf))
        // student: end
    }
}
