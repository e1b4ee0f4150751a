//! One snapshot on disk: a RocksDB SST file per column family (empty ones
//! are left out) and a meta file listing each file's size and CRC32.
//!
//! Names follow TinyKV: `gen_<region>_<term>_<index>_<cf>.sst` for
//! snapshots this store built (to send), `rev_...` for received ones, and
//! `..._.meta` for the meta file; `.tmp` while being written.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use prost::Message as _;
use proto::metapb::Region;
use proto::raft_serverpb::{SnapshotCfFile, SnapshotMeta};

use super::SnapKey;
use crate::util::engine_util::{cf_handle, exceed_end_key, DbSnapshot, CFS, DB};
use crate::{Error, Result};

pub const SNAP_GEN_PREFIX: &str = "gen";
pub const SNAP_REV_PREFIX: &str = "rev";
pub const SST_FILE_SUFFIX: &str = ".sst";
pub const TMP_FILE_SUFFIX: &str = ".tmp";
pub const META_FILE_SUFFIX: &str = ".meta";

/// A snapshot's files, as the raftstore and transports use them: read as
/// one byte stream (sending), written from one (receiving), built, saved,
/// applied and deleted.
pub trait Snapshot: Read + Write + Send {
    fn path(&self) -> String;
    fn exists(&self) -> bool;
    fn delete(&self);
    /// File-system metadata of the meta file (for its age).
    fn meta(&self) -> io::Result<fs::Metadata>;
    fn total_size(&self) -> u64;
    /// The meta data (per-CF sizes and checksums).
    fn snapshot_meta(&self) -> &SnapshotMeta;
    /// Receiver side: checks sizes and checksums of what was written and
    /// makes the files permanent.
    fn save(&mut self) -> Result<()>;
    /// Ingests the CF files into `db` (the range must have been cleared).
    fn apply(&mut self, db: &DB) -> Result<()>;
}

#[derive(Debug)]
struct CfFile {
    cf: String,
    path: PathBuf,
    tmp_path: PathBuf,
    size: u64,
    checksum: u32,
    /// Bytes written so far while receiving, and their running checksum.
    written: u64,
    hasher: crc32fast::Hasher,
    file: Option<File>,
}

/// A snapshot's files. See the module docs.
#[derive(Debug)]
pub struct Snap {
    key: SnapKey,
    display_path: String,
    cf_files: Vec<CfFile>,
    /// Which CF file the byte stream is at.
    cf_index: usize,
    meta_path: PathBuf,
    meta_tmp_path: PathBuf,
    meta: SnapshotMeta,
    hold_tmp_files: bool,
}

fn io_err(e: io::Error) -> Error {
    Error::Io(e)
}

fn file_prefix(is_sending: bool) -> &'static str {
    if is_sending {
        SNAP_GEN_PREFIX
    } else {
        SNAP_REV_PREFIX
    }
}

impl Snap {
    fn new(dir: &Path, key: SnapKey, is_sending: bool) -> Self {
        let prefix = format!("{}_{}", file_prefix(is_sending), key);
        let cf_files = CFS
            .iter()
            .map(|cf| {
                let path = dir.join(format!("{}_{}{}", prefix, cf, SST_FILE_SUFFIX));
                let tmp_path = PathBuf::from(format!("{}{}", path.display(), TMP_FILE_SUFFIX));
                CfFile {
                    cf: cf.to_string(),
                    path,
                    tmp_path,
                    size: 0,
                    checksum: 0,
                    written: 0,
                    hasher: crc32fast::Hasher::new(),
                    file: None,
                }
            })
            .collect();
        let meta_path = dir.join(format!("{}{}", prefix, META_FILE_SUFFIX));
        let meta_tmp_path = PathBuf::from(format!("{}{}", meta_path.display(), TMP_FILE_SUFFIX));
        Snap {
            key,
            display_path: dir
                .join(format!(
                    "{}_(default|lock|write){}",
                    prefix, SST_FILE_SUFFIX
                ))
                .display()
                .to_string(),
            cf_files,
            cf_index: 0,
            meta_path,
            meta_tmp_path,
            meta: SnapshotMeta::default(),
            hold_tmp_files: false,
        }
    }

    /// A snapshot this store builds (and later sends).
    pub fn new_for_building(dir: &Path, key: SnapKey) -> Result<Self> {
        let mut s = Snap::new(dir, key, true);
        if s.exists() {
            s.load_meta()?;
        }
        Ok(s)
    }

    /// A built snapshot, opened to be streamed out.
    pub fn new_for_sending(dir: &Path, key: SnapKey) -> Result<Self> {
        let mut s = Snap::new(dir, key, true);
        if !s.exists() {
            return Err(Error::Other(format!("snapshot {} does not exist", key)));
        }
        s.load_meta()?;
        for f in &mut s.cf_files {
            if f.size > 0 {
                f.file = Some(File::open(&f.path).map_err(io_err)?);
            }
        }
        Ok(s)
    }

    /// A snapshot being received, described by `meta`.
    pub fn new_for_receiving(dir: &Path, key: SnapKey, meta: SnapshotMeta) -> Result<Self> {
        let mut s = Snap::new(dir, key, false);
        s.set_meta(meta)?;
        if s.exists() {
            return Ok(s);
        }
        for f in &mut s.cf_files {
            if f.size > 0 {
                f.file = Some(File::create(&f.tmp_path).map_err(io_err)?);
            }
        }
        s.hold_tmp_files = true;
        Ok(s)
    }

    /// A received snapshot, opened to be applied.
    pub fn new_for_applying(dir: &Path, key: SnapKey) -> Result<Self> {
        let mut s = Snap::new(dir, key, false);
        if !s.exists() {
            return Err(Error::Other(format!("snapshot {} does not exist", key)));
        }
        s.load_meta()?;
        Ok(s)
    }

    pub fn key(&self) -> SnapKey {
        self.key
    }

    /// Where the CF files live, for messages.
    pub fn display_path(&self) -> &str {
        &self.display_path
    }

    fn set_meta(&mut self, meta: SnapshotMeta) -> Result<()> {
        if meta.cf_files.len() != self.cf_files.len() {
            return Err(Error::Other(format!(
                "invalid cf number of snapshot meta, expect {}, got {}",
                self.cf_files.len(),
                meta.cf_files.len()
            )));
        }
        for (f, m) in self.cf_files.iter_mut().zip(&meta.cf_files) {
            if f.cf != m.cf {
                return Err(Error::Other(format!(
                    "invalid cf in snapshot meta: {} != {}",
                    m.cf, f.cf
                )));
            }
            f.size = m.size;
            f.checksum = m.checksum;
        }
        self.meta = meta;
        Ok(())
    }

    fn load_meta(&mut self) -> Result<()> {
        let bytes = fs::read(&self.meta_path).map_err(io_err)?;
        let meta = SnapshotMeta::decode(bytes.as_slice())?;
        self.set_meta(meta)
    }

    /// Writes the region's data from `snap` into one SST per CF, plus the
    /// meta file. Does nothing if the snapshot already exists.
    pub fn build(&mut self, snap: &DbSnapshot, region: &Region) -> Result<()> {
        if self.exists() {
            return Ok(());
        }
        let mut cf_metas = Vec::with_capacity(self.cf_files.len());
        let opts = rocksdb::Options::default();
        for f in &mut self.cf_files {
            let mut writer: Option<rocksdb::SstFileWriter> = None;
            let mut it = snap.iter_cf(&f.cf);
            it.seek(&region.start_key);
            while it.valid() {
                let key = it.key();
                if exceed_end_key(key, &region.end_key) {
                    break;
                }
                if writer.is_none() {
                    let w = rocksdb::SstFileWriter::create(&opts);
                    w.open(&f.tmp_path)
                        .map_err(|e| Error::Other(format!("open sst: {}", e)))?;
                    writer = Some(w);
                }
                writer
                    .as_mut()
                    .unwrap()
                    .put(key, it.value())
                    .map_err(|e| Error::Other(format!("write sst: {}", e)))?;
                it.next();
            }
            if let Some(mut w) = writer {
                w.finish()
                    .map_err(|e| Error::Other(format!("finish sst: {}", e)))?;
                drop(w);
                fs::rename(&f.tmp_path, &f.path).map_err(io_err)?;
                let bytes = fs::read(&f.path).map_err(io_err)?;
                f.size = bytes.len() as u64;
                f.checksum = crc32fast::hash(&bytes);
            } else {
                f.size = 0;
                f.checksum = 0;
            }
            cf_metas.push(SnapshotCfFile {
                cf: f.cf.clone(),
                size: f.size,
                checksum: f.checksum,
            });
        }
        self.meta = SnapshotMeta { cf_files: cf_metas };
        self.write_meta_file()
    }

    fn write_meta_file(&mut self) -> Result<()> {
        let mut file = File::create(&self.meta_tmp_path).map_err(io_err)?;
        file.write_all(&self.meta.encode_to_vec()).map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
        fs::rename(&self.meta_tmp_path, &self.meta_path).map_err(io_err)?;
        Ok(())
    }
}

impl Read for Snap {
    /// The non-empty CF files, back to back.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.cf_index < self.cf_files.len() {
            let f = &mut self.cf_files[self.cf_index];
            if f.size == 0 {
                self.cf_index += 1;
                continue;
            }
            if f.file.is_none() {
                f.file = Some(File::open(&f.path)?);
            }
            let n = f.file.as_mut().unwrap().read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            self.cf_index += 1;
        }
        Ok(0)
    }
}

impl Write for Snap {
    /// Fills the CF files in order, each up to its announced size.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() && self.cf_index < self.cf_files.len() {
            let f = &mut self.cf_files[self.cf_index];
            let left = f.size - f.written;
            if left == 0 {
                self.cf_index += 1;
                continue;
            }
            let n = (rest.len() as u64).min(left) as usize;
            let file = f
                .file
                .as_mut()
                .ok_or_else(|| io::Error::other("snapshot not open for receiving"))?;
            file.write_all(&rest[..n])?;
            f.hasher.update(&rest[..n]);
            f.written += n as u64;
            rest = &rest[n..];
        }
        Ok(buf.len() - rest.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        for f in &mut self.cf_files {
            if let Some(file) = f.file.as_mut() {
                file.flush()?;
            }
        }
        Ok(())
    }
}

impl Snapshot for Snap {
    fn path(&self) -> String {
        self.display_path.clone()
    }

    fn exists(&self) -> bool {
        self.cf_files.iter().all(|f| f.size == 0 || f.path.exists()) && self.meta_path.exists()
    }

    fn delete(&self) {
        for f in &self.cf_files {
            let _ = fs::remove_file(&f.tmp_path);
            let _ = fs::remove_file(&f.path);
        }
        let _ = fs::remove_file(&self.meta_tmp_path);
        let _ = fs::remove_file(&self.meta_path);
    }

    fn meta(&self) -> io::Result<fs::Metadata> {
        fs::metadata(&self.meta_path)
    }

    fn total_size(&self) -> u64 {
        self.cf_files.iter().map(|f| f.size).sum()
    }

    fn snapshot_meta(&self) -> &SnapshotMeta {
        &self.meta
    }

    fn save(&mut self) -> Result<()> {
        for f in &mut self.cf_files {
            if f.size == 0 {
                continue;
            }
            if f.written != f.size {
                return Err(Error::Other(format!(
                    "snapshot file {} for cf {} size mismatch, real size {}, expected {}",
                    f.path.display(),
                    f.cf,
                    f.written,
                    f.size
                )));
            }
            let checksum = f.hasher.clone().finalize();
            if checksum != f.checksum {
                return Err(Error::Other(format!(
                    "snapshot file {} for cf {} checksum mismatch, real checksum {}, expected {}",
                    f.path.display(),
                    f.cf,
                    checksum,
                    f.checksum
                )));
            }
            if let Some(file) = f.file.take() {
                file.sync_all().map_err(io_err)?;
            }
            fs::rename(&f.tmp_path, &f.path).map_err(io_err)?;
        }
        self.write_meta_file()?;
        self.hold_tmp_files = false;
        Ok(())
    }

    fn apply(&mut self, db: &DB) -> Result<()> {
        for f in &self.cf_files {
            if f.size == 0 {
                continue;
            }
            let cf = cf_handle(db, &f.cf)?;
            let mut opts = rocksdb::IngestExternalFileOptions::default();
            opts.set_move_files(false);
            db.ingest_external_file_cf_opts(cf, &opts, vec![&f.path])
                .map_err(|e| {
                    Error::Other(format!("ingest snapshot file {}: {}", f.path.display(), e))
                })?;
        }
        Ok(())
    }
}

impl Drop for Snap {
    /// A half-received snapshot leaves nothing behind.
    fn drop(&mut self) {
        if self.hold_tmp_files {
            for f in &mut self.cf_files {
                f.file = None;
                let _ = fs::remove_file(&f.tmp_path);
            }
        }
    }
}
