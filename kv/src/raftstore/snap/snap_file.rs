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
            cf_metas.push((f.cf.clone(), f.size, f.checksum));
        }
        self.meta = gen_snapshot_meta(&cf_metas);
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

/// The meta of a snapshot whose CF files have these (cf, size, checksum).
pub fn gen_snapshot_meta(cf_files: &[(String, u64, u32)]) -> SnapshotMeta {
    SnapshotMeta {
        cf_files: cf_files
            .iter()
            .map(|(cf, size, checksum)| SnapshotCfFile {
                cf: cf.clone(),
                size: *size,
                checksum: *checksum,
            })
            .collect(),
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

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use proto::metapb::{Peer, RegionEpoch};

    use super::*;
    use crate::raftstore::util::new_test_engines;
    use crate::util::engine_util::{get_cf, WriteBatch};

    const SNAP_TEST_KEY: &[u8] = b"tkey";

    fn gen_test_region(region_id: u64, store_id: u64, peer_id: u64) -> Region {
        Region {
            id: region_id,
            start_key: b"a".to_vec(),
            end_key: b"z".to_vec(),
            region_epoch: Some(RegionEpoch {
                version: 1,
                conf_ver: 1,
            }),
            peers: vec![Peer {
                id: peer_id,
                store_id,
            }],
        }
    }

    fn fill_db_data(db: &DB) {
        let mut wb = WriteBatch::default();
        for cf in CFS {
            wb.set_cf(cf, SNAP_TEST_KEY, cf.as_bytes());
        }
        wb.write_to_db(db).unwrap();
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tinykv-snap-{}-{}", name, std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn TestSnapGenMeta() {
        let cf_files: Vec<(String, u64, u32)> = CFS
            .iter()
            .enumerate()
            .map(|(i, cf)| (cf.to_string(), 100 * (i as u64 + 1), 1000 * (i as u32 + 1)))
            .collect();
        let meta = gen_snapshot_meta(&cf_files);
        for (i, m) in meta.cf_files.iter().enumerate() {
            assert_eq!(cf_files[i].0, m.cf);
            assert_eq!(cf_files[i].1, m.size);
            assert_eq!(cf_files[i].2, m.checksum);
        }
    }

    #[test]
    fn TestSnapDisplayPath() {
        let dir = temp_dir("display");
        let key = SnapKey::new(1, 1, 2);
        let s = Snap::new_for_building(&dir, key).unwrap();
        assert_ne!(s.display_path(), "");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn TestSnapFile() {
        do_test_snap_file(true);
        do_test_snap_file(false);
    }

    // Go tracks the total size of snapshot files in a shared counter; here
    // the sizes come from the snapshots themselves.
    fn do_test_snap_file(db_has_data: bool) {
        let region_id = 1;
        let region = gen_test_region(region_id, 1, 1);
        let src = new_test_engines();
        if db_has_data {
            fill_db_data(&src.kv);
        }

        let snap_dir = temp_dir(&format!("src-{}", db_has_data));
        let key = SnapKey::new(region_id, 1, 1);
        let mut s1 = Snap::new_for_building(&snap_dir, key).unwrap();
        // Ensure that this snapshot file doesn't exist before being built.
        assert!(!s1.exists());
        assert_eq!(0, s1.total_size());

        s1.build(&DbSnapshot::new(src.kv.clone()), &region).unwrap();

        // Ensure that this snapshot file does exist after being built.
        assert!(s1.exists());
        let size = s1.total_size();
        assert_eq!(size > 0, db_has_data);
        let meta = s1.snapshot_meta().clone();

        // Ensure this snapshot could be read for sending.
        let mut s2 = Snap::new_for_sending(&snap_dir, key).unwrap();
        assert!(s2.exists());

        let dst_dir = temp_dir(&format!("dst-{}", db_has_data));
        let mut s3 = Snap::new_for_receiving(&dst_dir, key, meta).unwrap();
        assert!(!s3.exists());

        // Ensure snapshot data could be read out of `s2`, and write into `s3`.
        let copy_size = std::io::copy(&mut s2, &mut s3).unwrap();
        assert_eq!(size, copy_size);
        assert!(!s3.exists());
        s3.save().unwrap();
        assert!(s3.exists());

        // Ensure `delete()` works to delete the source snapshot.
        s2.delete();
        assert!(!s2.exists());
        assert!(!s1.exists());

        // Ensure a snapshot could be applied to DB.
        let mut s4 = Snap::new_for_applying(&dst_dir, key).unwrap();
        assert!(s4.exists());

        let dst = new_test_engines();
        s4.apply(&dst.kv).unwrap();

        // Ensure `delete()` works to delete the dest snapshot.
        s4.delete();
        assert!(!s4.exists());
        assert!(!s3.exists());

        // Verify the data is correct after applying snapshot.
        if db_has_data {
            for cf in CFS {
                let want = get_cf(&src.kv, cf, SNAP_TEST_KEY).unwrap();
                let got = get_cf(&dst.kv, cf, SNAP_TEST_KEY).unwrap();
                assert!(got.is_some());
                assert_eq!(want, got);
            }
        }
        drop((s1, s2, s3, s4));
        src.destroy().unwrap();
        dst.destroy().unwrap();
        let _ = fs::remove_dir_all(&snap_dir);
        let _ = fs::remove_dir_all(&dst_dir);
    }
}
