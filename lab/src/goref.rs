//! Running the same tests in a Go TinyKV checkout, for a side-by-side table.
//!
//! People port their solutions and ask "is this flake mine or the lab's?";
//! the fair comparison is the Go original run the same number of times under
//! the same deadline. Which Go package holds a test comes from the Go test
//! catalogue (`go-tests.txt`, embedded so the binary works from anywhere).

use std::path::{Path, PathBuf};

use crate::runner::{Checker, RunSpec};

/// `Name group` lines: every Go test of the lab and where it lives.
const CATALOGUE: &str = include_str!("../go-tests.txt");

/// Every (name, group) pair of the Go catalogue.
pub fn catalogue() -> impl Iterator<Item = (&'static str, &'static str)> {
    CATALOGUE.lines().filter_map(|l| {
        let mut parts = l.split_whitespace();
        Some((parts.next()?, parts.next()?))
    })
}

/// The catalogue group of a Go test name (`raft`, `raftstore`, `server-1`,
/// `kv-unit`, `txn-unit`, `txn-4a`, `txn-4b`, `txn-4c`), if the name is in
/// the catalogue.
pub fn group(name: &str) -> Option<&'static str> {
    catalogue().find(|(n, _)| *n == name).map(|(_, g)| g)
}

/// The Go package to `go test` for a test name.
///
/// Names outside the catalogue (or the kv unit tests, spread over several
/// packages) fall back to a package pattern: `-run '^Name$'` still runs only
/// that test, and the other packages report "no tests to run".
pub fn package(name: &str) -> &'static str {
    match group(name) {
        Some("raft") => "./raft",
        Some("raftstore") => "./kv/test_raftstore",
        Some("server-1") => "./kv/server",
        Some("kv-unit") => "./kv/...",
        Some("txn-4a") => "./kv/transaction/mvcc",
        Some("txn-4b" | "txn-4c") => "./kv/transaction",
        Some("txn-unit") => "./kv/transaction/...",
        _ => "./...",
    }
}

/// `go test` for one test in the checkout at `dir`.
///
/// `-v` makes go print `--- PASS: Name`, which is how we know the test ran.
/// `-timeout=0` leaves the deadline to the runner, so both sides get the
/// same one and a hang is reported the same way. `LOG_LEVEL=fatal` keeps
/// the Go side's logs as quiet as the course's own test targets do.
pub fn spec(go: &Path, dir: &Path, name: &str) -> RunSpec {
    let pkg = package(name);
    RunSpec {
        name: name.to_string(),
        binary: format!("go:{pkg}"),
        program: go.to_path_buf(),
        args: vec![
            "test".into(),
            "-count=1".into(),
            "-v".into(),
            "-timeout=0".into(),
            pkg.into(),
            "-run".into(),
            format!("^{name}$"),
        ],
        cwd: Some(dir.to_path_buf()),
        env: vec![("LOG_LEVEL".into(), "fatal".into())],
        checker: Checker::GoTest {
            name: name.to_string(),
        },
    }
}

/// The `go` on `PATH`, if any.
pub fn find_go() -> Option<PathBuf> {
    find_in_path("go", std::env::var_os("PATH")?.as_os_str())
}

/// The first executable file called `program` in a `PATH`-style list.
pub fn find_in_path(program: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_complete() {
        let groups: Vec<&str> = catalogue().map(|(_, g)| g).collect();
        assert_eq!(groups.len(), 198);
        assert_eq!(groups.iter().filter(|g| **g == "raftstore").count(), 33);
        let txn = |group: &str| groups.iter().filter(|g| **g == group).count();
        assert_eq!(
            (txn("txn-unit"), txn("txn-4a"), txn("txn-4b"), txn("txn-4c")),
            (3, 15, 24, 22)
        );
        assert_eq!(group("TestLeaderElection2AA"), Some("raft"));
        assert_eq!(group("TestRestoreSnapshot2C"), Some("raft"));
        assert_eq!(group("TestOneSnapshot2C"), Some("raftstore"));
        assert_eq!(group("TestNoSuchTest"), None);
    }

    #[test]
    fn packages_by_group() {
        assert_eq!(package("TestLeaderElection2AA"), "./raft");
        assert_eq!(package("TestOneSplit3B"), "./kv/test_raftstore");
        assert_eq!(package("TestRawGet1"), "./kv/server");
        assert_eq!(package("TestPeerStorageTerm"), "./kv/...");
        assert_eq!(package("TestPutLock4A"), "./kv/transaction/mvcc");
        assert_eq!(package("TestSinglePrewrite4B"), "./kv/transaction");
        assert_eq!(package("TestScanAll4C"), "./kv/transaction");
        assert_eq!(package("TestAcquireLatches"), "./kv/transaction/...");
        assert_eq!(package("TestSomethingNew"), "./...");
    }

    #[test]
    fn go_command_line() {
        let s = spec(
            Path::new("/usr/bin/go"),
            Path::new("/src/tinykv"),
            "TestOneSplit3B",
        );
        assert_eq!(s.program, PathBuf::from("/usr/bin/go"));
        assert_eq!(
            s.args,
            [
                "test",
                "-count=1",
                "-v",
                "-timeout=0",
                "./kv/test_raftstore",
                "-run",
                "^TestOneSplit3B$"
            ]
        );
        assert_eq!(s.cwd.as_deref(), Some(Path::new("/src/tinykv")));
        assert_eq!(s.env, [("LOG_LEVEL".to_string(), "fatal".to_string())]);
        assert_eq!(s.binary, "go:./kv/test_raftstore");
        let raft = spec(Path::new("go"), Path::new("."), "TestRestoreSnapshot2C");
        assert!(raft.args.contains(&"./raft".to_string()));
    }

    #[test]
    fn path_search() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(find_in_path("go", dir.path().as_os_str()), None);
        let go = dir.path().join("go");
        std::fs::write(&go, "#!/bin/sh\n").unwrap();
        // Not executable yet: not a toolchain.
        assert_eq!(find_in_path("go", dir.path().as_os_str()), None);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&go, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_in_path("go", dir.path().as_os_str()), Some(go));
    }
}
