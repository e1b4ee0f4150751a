//! Small file-system helpers used by the snapshot code (TinyKV's
//! `util/file.go`).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Size in bytes of the file at `path`.
pub fn get_file_size(path: impl AsRef<Path>) -> io::Result<u64> {
    Ok(std::fs::metadata(path)?.len())
}

/// Total and available bytes of the file system holding `path`.
pub fn disk_usage(path: impl AsRef<Path>) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_ref().as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs only writes into the zeroed struct we pass.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let frsize = st.f_frsize as u64;
    Some((st.f_blocks as u64 * frsize, st.f_bavail as u64 * frsize))
}

/// True if `path` exists and is not a directory.
pub fn file_exists(path: impl AsRef<Path>) -> bool {
    std::fs::metadata(path)
        .map(|m| !m.is_dir())
        .unwrap_or(false)
}

/// True if `path` exists and is a directory.
pub fn dir_exists(path: impl AsRef<Path>) -> bool {
    std::fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false)
}

/// Removes the file at `path`. `Ok(false)` if there was nothing to remove.
pub fn delete_file_if_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// CRC-32 (IEEE polynomial, as Go's `crc32.NewIEEE`) of the whole file.
pub fn calc_crc32(path: impl AsRef<Path>) -> io::Result<u32> {
    let mut f = File::open(path)?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_helpers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert!(!file_exists(&path));
        assert!(dir_exists(dir.path()));
        assert!(!file_exists(dir.path()));
        assert!(get_file_size(&path).is_err());

        std::fs::write(&path, b"123456789").unwrap();
        assert!(file_exists(&path));
        assert!(!dir_exists(&path));
        assert_eq!(get_file_size(&path).unwrap(), 9);
        // The standard CRC-32/IEEE check value.
        assert_eq!(calc_crc32(&path).unwrap(), 0xCBF4_3926);

        assert!(delete_file_if_exists(&path).unwrap());
        assert!(!delete_file_if_exists(&path).unwrap());
        assert!(calc_crc32(&path).is_err());
    }

    #[test]
    fn crc32_of_large_and_empty_files() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(calc_crc32(&empty).unwrap(), 0);

        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let big = dir.path().join("big");
        std::fs::write(&big, &data).unwrap();
        assert_eq!(calc_crc32(&big).unwrap(), crc32fast::hash(&data));
    }
}
