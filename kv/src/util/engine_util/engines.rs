//! [`Engines`] (the kv and raft RocksDB instances of one store), how they
//! are opened, and their tuning.

use std::path::Path;
use std::sync::Arc;

use rocksdb::{BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType, Options};

use super::{util::db_size, EngineError, Result, WriteBatch, ALL_CFS, DB};

const MIB: usize = 1024 * 1024;

/// RocksDB tuning for one engine. Memory use of an engine is roughly
/// `ALL_CFS.len() * write_buffer_size * max_write_buffer_number` (capped by
/// `db_write_buffer_size` when non-zero) plus `block_cache_size`.
///
/// [`EngineOptions::default`] suits a real store; [`EngineOptions::small`]
/// suits tests, which run several stores (two engines each) in one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// Bytes a memtable grows to before it is flushed (per column family).
    pub write_buffer_size: usize,
    /// Memtables (active + being flushed) kept per column family.
    pub max_write_buffer_number: i32,
    /// Cap on the memtables of all column families together; 0 = no cap.
    pub db_write_buffer_size: usize,
    /// LRU block cache shared by the column families of one engine.
    pub block_cache_size: usize,
    /// Table files kept open; -1 = all.
    pub max_open_files: i32,
    /// Concurrent flushes and compactions.
    pub max_background_jobs: i32,
    /// Size an SST file grows to before compaction starts a new one.
    pub target_file_size_base: u64,
    /// Info-log files RocksDB keeps in the engine directory.
    pub keep_log_file_num: usize,
    /// Whether writes go through RocksDB's write-ahead log. Off only where
    /// every stop is an orderly close (the simulator): closing a DB then
    /// flushes its memtables, so a reopened store reads everything it
    /// wrote, but a crash would lose every write since the last flush,
    /// fsynced or not. Without the log, writes cost no log record and a
    /// reopen replays nothing.
    pub write_ahead_log: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            write_buffer_size: 64 * MIB,
            max_write_buffer_number: 2,
            db_write_buffer_size: 0,
            block_cache_size: 128 * MIB,
            max_open_files: -1,
            max_background_jobs: 2,
            target_file_size_base: 64 * MIB as u64,
            keep_log_file_num: 10,
            write_ahead_log: true,
        }
    }
}

impl EngineOptions {
    /// Small memtables and cache, for tests: ten engines in one process
    /// stay well under 1 GiB.
    pub fn small() -> Self {
        EngineOptions {
            write_buffer_size: 4 * MIB,
            max_write_buffer_number: 2,
            db_write_buffer_size: 16 * MIB,
            block_cache_size: 8 * MIB,
            max_open_files: 256,
            max_background_jobs: 2,
            target_file_size_base: 8 * MIB as u64,
            keep_log_file_num: 2,
            write_ahead_log: true,
        }
    }

    fn db_options(&self) -> Options {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_max_open_files(self.max_open_files);
        opts.set_max_background_jobs(self.max_background_jobs);
        opts.set_db_write_buffer_size(self.db_write_buffer_size);
        opts.set_keep_log_file_num(self.keep_log_file_num);
        opts
    }

    fn cf_options(&self, cache: &Cache) -> Options {
        let mut block = BlockBasedOptions::default();
        block.set_block_cache(cache);
        let mut opts = Options::default();
        opts.set_block_based_table_factory(&block);
        opts.set_write_buffer_size(self.write_buffer_size);
        opts.set_max_write_buffer_number(self.max_write_buffer_number);
        opts.set_target_file_size_base(self.target_file_size_base);
        // No compression library is linked in (see the workspace manifest).
        opts.set_compression_type(DBCompressionType::None);
        opts
    }
}

/// Opens (creating it and its directory if missing) the RocksDB instance at
/// `path` with all of [`ALL_CFS`]. TinyKV's `CreateDB`; both engines of a
/// store are created the same way.
pub fn create_db(path: impl AsRef<Path>, opts: &EngineOptions) -> Result<DB> {
    let path = path.as_ref();
    std::fs::create_dir_all(path).map_err(|source| EngineError::Io {
        op: "create dir",
        path: path.display().to_string(),
        source,
    })?;
    let cache = Cache::new_lru_cache(opts.block_cache_size);
    let cfs = ALL_CFS
        .iter()
        .map(|cf| ColumnFamilyDescriptor::new(*cf, opts.cf_options(&cache)));
    Ok(DB::open_cf_descriptors(&opts.db_options(), path, cfs)?)
}

/// The two engines of a store and where they live (TinyKV's `Engines`).
/// Cloning is cheap: the DBs are shared.
#[derive(Clone)]
pub struct Engines {
    /// User data (3 CFs) and kv-side meta (apply/region state, store ident).
    pub kv: Arc<DB>,
    pub kv_path: String,
    /// Raft log entries and raft state.
    pub raft: Arc<DB>,
    pub raft_path: String,
    /// Whether [`Engines::write_kv`] and [`Engines::write_raft`] log their
    /// writes (see [`EngineOptions::write_ahead_log`]).
    write_ahead_log: bool,
}

impl std::fmt::Debug for Engines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engines")
            .field("kv_path", &self.kv_path)
            .field("raft_path", &self.raft_path)
            .finish()
    }
}

impl Engines {
    /// Bundles two open DBs (TinyKV's `NewEngines`, same argument order).
    pub fn new(
        kv: impl Into<Arc<DB>>,
        raft: impl Into<Arc<DB>>,
        kv_path: impl Into<String>,
        raft_path: impl Into<String>,
    ) -> Self {
        Engines {
            kv: kv.into(),
            kv_path: kv_path.into(),
            raft: raft.into(),
            raft_path: raft_path.into(),
            write_ahead_log: true,
        }
    }

    /// Opens (or creates) both engines with [`create_db`].
    pub fn open(
        kv_path: impl Into<String>,
        raft_path: impl Into<String>,
        opts: &EngineOptions,
    ) -> Result<Self> {
        let (kv_path, raft_path) = (kv_path.into(), raft_path.into());
        let kv = create_db(&kv_path, opts)?;
        let raft = create_db(&raft_path, opts)?;
        let mut engines = Engines::new(kv, raft, kv_path, raft_path);
        engines.write_ahead_log = opts.write_ahead_log;
        Ok(engines)
    }

    /// Applies `wb` to the kv engine atomically (fsynced if the batch says
    /// so, see [`WriteBatch::set_sync`], and the engines keep a log).
    pub fn write_kv(&self, wb: &WriteBatch) -> Result<()> {
        wb.write_to_db_with(&self.kv, wb.sync(), self.write_ahead_log)
    }

    /// Applies `wb` to the raft engine atomically.
    pub fn write_raft(&self, wb: &WriteBatch) -> Result<()> {
        wb.write_to_db_with(&self.raft, wb.sync(), self.write_ahead_log)
    }

    /// Bytes the kv engine occupies (SST files plus memtables), what the
    /// store heartbeat reports as used besides snapshot files.
    pub fn approximate_size(&self) -> u64 {
        db_size(&self.kv)
    }

    /// Closes both engines. RocksDB closes a DB when its last handle is
    /// dropped; if clones of these handles are still alive elsewhere this
    /// returns [`EngineError::InUse`] (the DB then closes when they go).
    pub fn close(self) -> Result<()> {
        let kv = close_db(self.kv, &self.kv_path);
        let raft = close_db(self.raft, &self.raft_path);
        kv.and(raft)
    }

    /// Closes both engines and removes their directories (TinyKV's
    /// `Destroy`). Nothing is removed if closing fails.
    pub fn destroy(self) -> Result<()> {
        let (kv_path, raft_path) = (self.kv_path.clone(), self.raft_path.clone());
        self.close()?;
        for path in [kv_path, raft_path] {
            match std::fs::remove_dir_all(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(EngineError::Io {
                        op: "remove dir",
                        path,
                        source,
                    })
                }
            }
        }
        Ok(())
    }
}

fn close_db(db: Arc<DB>, path: &str) -> Result<()> {
    match Arc::try_unwrap(db) {
        Ok(db) => {
            drop(db);
            Ok(())
        }
        Err(db) => Err(EngineError::InUse {
            path: path.to_string(),
            refs: Arc::strong_count(&db) - 1,
        }),
    }
}
