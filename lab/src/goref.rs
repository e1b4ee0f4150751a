//! Running the same tests in a Go TinyKV checkout, for a side-by-side table.
//!
//! People port their solutions and ask "is this flake mine or the lab's?";
//! the fair comparison is the Go original run the same number of times under
//! the same deadline, and timed the same way. So the Go side is not `go
//! test` (which would time package loading, linking and, after a change,
//! minutes of compiling as part of the run): each Go package's test binary
//! is built once with `go test -c` before any timed run, and every Go run
//! executes that binary directly, in its package directory, as one process
//! under the same run model as ours ([`crate::runner`]): same deadline, same
//! wall-clock, CPU and peak-RSS accounting, same reports.
//!
//! Which Go package holds a test comes from the Go test catalogue
//! (`go-tests.txt`, embedded so the binary works from anywhere). A test the
//! catalogue does not place is `n/a` on the Go side: not run, not failed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};

use crate::logscan::{self, GO_MODULE};
use crate::runner::{Checker, RunRecord, RunSpec, Side, Status};

/// `Name group [package]` lines: every Go test of the lab and where it
/// lives. The package is given where the group does not say it (the kv and
/// transaction unit tests are spread over several packages).
const CATALOGUE: &str = include_str!("../go-tests.txt");

/// Every (name, group) pair of the Go catalogue.
pub fn catalogue() -> impl Iterator<Item = (&'static str, &'static str)> {
    entries().map(|(name, group, _)| (name, group))
}

fn entries() -> impl Iterator<Item = (&'static str, &'static str, Option<&'static str>)> {
    CATALOGUE.lines().filter_map(|l| {
        let mut parts = l.split_whitespace();
        Some((parts.next()?, parts.next()?, parts.next()))
    })
}

/// The catalogue group of a Go test name (`raft`, `raftstore`, `server-1`,
/// `kv-unit`, `txn-unit`, `txn-4a`, `txn-4b`, `txn-4c`), if the name is in
/// the catalogue.
pub fn group(name: &str) -> Option<&'static str> {
    catalogue().find(|(n, _)| *n == name).map(|(_, g)| g)
}

/// The Go package directory (relative to the checkout) that holds a test,
/// or `None` if Go does not have it: not in the catalogue, or in a group
/// with no package of its own.
pub fn package(name: &str) -> Option<&'static str> {
    let (_, group, package) = entries().find(|(n, _, _)| *n == name)?;
    package.or(match group {
        "raft" => Some("raft"),
        "raftstore" => Some("kv/test_raftstore"),
        "server-1" => Some("kv/server"),
        "txn-4a" => Some("kv/transaction/mvcc"),
        "txn-4b" | "txn-4c" => Some("kv/transaction"),
        _ => None,
    })
}

/// The Go packages that hold any of `names` (each once, sorted).
pub fn packages_of<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'static str> {
    let set: BTreeSet<&'static str> = names.into_iter().filter_map(package).collect();
    set.into_iter().collect()
}

/// A checked Go TinyKV checkout and the `go` to build it with.
#[derive(Debug, Clone)]
pub struct GoRef {
    pub go: PathBuf,
    /// The checkout: the directory with TinyKV's `go.mod`.
    pub dir: PathBuf,
    /// What `go version` said (`go version go1.19.8 linux/amd64`).
    pub version: String,
}

/// The `go` to use: `--go PATH` as given if it names a file by path, else
/// looked up on `PATH` (`go` by default).
pub fn resolve_go(go: Option<&Path>) -> Result<PathBuf> {
    let go = go.unwrap_or(Path::new("go"));
    if go.components().count() > 1 {
        return Ok(go.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    find_in_path(&go.to_string_lossy(), &path).ok_or_else(|| {
        anyhow!(
            "--go-ref: no `{}` on PATH; install Go or give its binary with --go PATH",
            go.display()
        )
    })
}

/// The `module` path a `go.mod` declares.
pub fn module_of(go_mod: &str) -> Option<&str> {
    go_mod.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("module")?;
        rest.starts_with(char::is_whitespace)
            .then(|| rest.trim().trim_matches('"'))
    })
}

impl GoRef {
    /// Checks, before anything runs, that `dir` is a TinyKV checkout (its
    /// `go.mod` declares TinyKV's module), that each of `packages` is a
    /// directory of it holding `_test.go` files, and that `go version`
    /// works. Every error says what is wrong.
    pub fn check(go: Option<&Path>, dir: &Path, packages: &[&str]) -> Result<GoRef> {
        if !dir.is_dir() {
            bail!("--go-ref {}: not a directory", dir.display());
        }
        let dir = dir
            .canonicalize()
            .with_context(|| format!("--go-ref {}", dir.display()))?;
        let go_mod = dir.join("go.mod");
        let text = match std::fs::read_to_string(&go_mod) {
            Ok(text) => text,
            Err(e) => {
                let hint = dir
                    .ancestors()
                    .skip(1)
                    .find(|d| is_tinykv_module(&d.join("go.mod")))
                    .map(|d| format!(" (the checkout looks like {})", d.display()))
                    .unwrap_or_default();
                bail!(
                    "--go-ref {}: not a Go TinyKV checkout: cannot read {}: {e}{hint}",
                    dir.display(),
                    go_mod.display()
                );
            }
        };
        match module_of(&text) {
            Some(GO_MODULE) => {}
            Some(other) => bail!(
                "--go-ref {}: go.mod declares module {other}, not TinyKV's ({GO_MODULE})",
                dir.display()
            ),
            None => bail!(
                "--go-ref {}: {} has no module line; expected `module {GO_MODULE}`",
                dir.display(),
                go_mod.display()
            ),
        }
        let missing: Vec<&str> = packages
            .iter()
            .copied()
            .filter(|p| !has_go_tests(&dir.join(p)))
            .collect();
        if !missing.is_empty() {
            bail!(
                "--go-ref {}: missing Go test package(s) the selected tests need: {} \
                 (no such directory, or no _test.go files in it)",
                dir.display(),
                missing.join(", ")
            );
        }
        let go = resolve_go(go)?;
        let out = go_command(&go, &dir)
            .arg("version")
            .output()
            .with_context(|| format!("--go {}: cannot run `go version`", go.display()))?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() || !version.starts_with("go version") {
            let err = String::from_utf8_lossy(&out.stderr);
            bail!(
                "--go {}: `go version` failed ({}): {}",
                go.display(),
                out.status,
                err.lines().next().unwrap_or(&version)
            );
        }
        Ok(GoRef { go, dir, version })
    }

    /// Builds the test binary of each package, once, into `bin_dir`
    /// (`<package with / as _>.test`): `go test -c -o BIN ./PACKAGE` in
    /// the checkout, with `GO111MODULE=on` and the rest of our environment
    /// (`GOFLAGS`, `GOPATH`, `GOCACHE` …) passed through. A build's output
    /// goes to `log_dir/build.<package>.log`, kept only if it failed.
    pub fn build(&self, packages: &[&str], bin_dir: &Path, log_dir: &Path) -> Vec<GoBuild> {
        packages
            .iter()
            .map(|&package| {
                let safe = package.replace('/', "_");
                let exe = bin_dir.join(format!("{safe}.test"));
                let log = log_dir.join(format!("build.{safe}.log"));
                let start = Instant::now();
                let binary = self.build_one(package, &exe, &log);
                if binary.is_ok() {
                    let _ = std::fs::remove_file(&log);
                }
                GoBuild {
                    package: package.to_string(),
                    binary,
                    seconds: start.elapsed().as_secs_f64(),
                }
            })
            .collect()
    }

    fn build_one(&self, package: &str, exe: &Path, log: &Path) -> Result<PathBuf, BuildFailure> {
        let fail = |failure: String, environment: bool| BuildFailure {
            failure,
            log: log.exists().then(|| log.to_path_buf()),
            environment,
        };
        let out = go_command(&self.go, &self.dir)
            .args(["test", "-c", "-o"])
            .arg(exe)
            .arg(format!("./{package}"))
            .stdin(Stdio::null())
            .output();
        let out = match out {
            Ok(out) => out,
            Err(e) => return Err(fail(format!("cannot run {}: {e}", self.go.display()), true)),
        };
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        let _ = std::fs::write(log, &text);
        if !out.status.success() {
            let failure = logscan::go_build_failure(&text);
            // A compiler error is the checkout's code; anything else (go.mod,
            // vendoring, GOFLAGS, the toolchain) is the environment's.
            let compile = GoLogKind::of(&text) == GoLogKind::Compile;
            return Err(fail(failure, !compile));
        }
        if !exe.is_file() {
            return Err(fail(
                format!("go test -c ./{package} made no binary (no test files?)"),
                true,
            ));
        }
        Ok(exe.to_path_buf())
    }

    /// One Go run of test `go_name`, shown as `name`: the package's test
    /// binary, in the package's directory (as `go test` runs it), with
    /// `-test.count=1` and `-test.timeout=0` (the runner owns the deadline,
    /// the same for both sides), `LOG_LEVEL` as given, and a fresh `TMPDIR`
    /// under `tmp_root` for each run.
    pub fn spec(
        &self,
        name: &str,
        go_name: &str,
        build: &GoBuild,
        log_level: &str,
        tmp_root: &Path,
    ) -> Option<RunSpec> {
        let exe = build.binary.as_ref().ok()?;
        Some(RunSpec {
            name: name.to_string(),
            binary: format!("go:{}", build.package),
            program: exe.clone(),
            args: vec![
                "-test.run".into(),
                format!("^{go_name}$"),
                "-test.v".into(),
                "-test.count=1".into(),
                "-test.timeout=0".into(),
            ],
            cwd: Some(self.dir.join(&build.package)),
            env: vec![
                ("LOG_LEVEL".into(), log_level.into()),
                ("GO111MODULE".into(), "on".into()),
            ],
            checker: Checker::GoTest {
                name: go_name.to_string(),
            },
            side: Side::Go,
            tmp_root: Some(tmp_root.to_path_buf()),
            seeds: None,
        })
    }
}

/// Whether a build log failed in the compiler or elsewhere.
#[derive(Debug, PartialEq, Eq)]
enum GoLogKind {
    Compile,
    Other,
}

impl GoLogKind {
    fn of(text: &str) -> GoLogKind {
        match logscan::GoLog::scan(text.as_bytes(), "") {
            Ok(log) if log.compile_error.is_some() => GoLogKind::Compile,
            _ => GoLogKind::Other,
        }
    }
}

/// `go` with `GO111MODULE=on` (as the Go Makefile sets it) in `dir`.
fn go_command(go: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(go);
    cmd.current_dir(dir).env("GO111MODULE", "on");
    cmd
}

fn is_tinykv_module(go_mod: &Path) -> bool {
    std::fs::read_to_string(go_mod).is_ok_and(|t| module_of(&t) == Some(GO_MODULE))
}

fn has_go_tests(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with("_test.go"))
    })
}

/// One package's `go test -c`.
#[derive(Debug)]
pub struct GoBuild {
    /// The package directory, relative to the checkout (`kv/test_raftstore`).
    pub package: String,
    pub binary: Result<PathBuf, BuildFailure>,
    pub seconds: f64,
}

/// Why a package's test binary was not built.
#[derive(Debug, Clone)]
pub struct BuildFailure {
    /// `build failed: raft/raft.go:12:5: undefined: foo`.
    pub failure: String,
    /// The build's output, kept.
    pub log: Option<PathBuf>,
    /// Not the checkout's code but its setting (modules, vendoring, the
    /// toolchain): the Go side cannot be run at all.
    pub environment: bool,
}

/// The records of the runs of a test whose package did not build: each a
/// failed run with the build's failure line and log, so the table, the
/// reports and the exit status all show it.
pub fn unbuilt_records(name: &str, build: &GoBuild, runs: u32) -> Vec<RunRecord> {
    let Err(failure) = &build.binary else {
        return Vec::new();
    };
    (1..=runs)
        .map(|run| RunRecord {
            name: name.to_string(),
            binary: format!("go:{}", build.package),
            side: Side::Go,
            run,
            status: Status::Failed,
            seconds: 0.0,
            failure: Some(failure.failure.clone()),
            log: failure.log.clone(),
            max_rss_kib: None,
            cpu_secs: None,
            reported_secs: None,
            ops: None,
            virtual_secs: None,
            seed: None,
        })
        .collect()
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
        // Every catalogue test has a Go package: none falls back to `./...`.
        for (name, _) in catalogue() {
            assert!(package(name).is_some(), "{name} has no Go package");
        }
    }

    #[test]
    fn packages_by_group() {
        assert_eq!(package("TestLeaderElection2AA"), Some("raft"));
        assert_eq!(package("TestOneSplit3B"), Some("kv/test_raftstore"));
        assert_eq!(package("TestRawGet1"), Some("kv/server"));
        assert_eq!(package("TestPeerStorageTerm"), Some("kv/raftstore"));
        assert_eq!(package("TestSnapFile"), Some("kv/raftstore/snap"));
        assert_eq!(package("TestPutLock4A"), Some("kv/transaction/mvcc"));
        assert_eq!(package("TestSinglePrewrite4B"), Some("kv/transaction"));
        assert_eq!(package("TestScanAll4C"), Some("kv/transaction"));
        assert_eq!(
            package("TestAcquireLatches"),
            Some("kv/transaction/latches")
        );
        assert_eq!(package("TestSomethingNew"), None);
        assert_eq!(
            packages_of([
                "TestOneSplit3B",
                "TestLeaderElection2AA",
                "TestBasic2B",
                "x"
            ]),
            ["kv/test_raftstore", "raft"]
        );
    }

    #[test]
    fn module_lines() {
        assert_eq!(
            module_of("// x\nmodule github.com/pingcap-incubator/tinykv\n\ngo 1.13\n"),
            Some(GO_MODULE)
        );
        assert_eq!(
            module_of("module \"example.com/x\"\n"),
            Some("example.com/x")
        );
        assert_eq!(module_of("modules x\ngo 1.13\n"), None);
    }

    fn checkout(dir: &Path, module: &str, packages: &[&str]) {
        std::fs::write(dir.join("go.mod"), format!("module {module}\n\ngo 1.13\n")).unwrap();
        for p in packages {
            std::fs::create_dir_all(dir.join(p)).unwrap();
            std::fs::write(dir.join(p).join("x_test.go"), "package x\n").unwrap();
        }
    }

    /// A stand-in `go` whose `version` works.
    fn fake_go(dir: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let go = dir.join("go");
        std::fs::write(
            &go,
            "#!/bin/sh\n[ \"$1\" = version ] && [ \"$GO111MODULE\" = on ] && echo 'go version go1.19.8 linux/amd64' && exit 0\necho \"go: unknown command $1\" >&2; exit 2\n",
        )
        .unwrap();
        std::fs::set_permissions(&go, std::fs::Permissions::from_mode(0o755)).unwrap();
        go
    }

    #[test]
    fn checkout_checks_say_what_is_wrong() {
        let tmp = tempfile::tempdir().unwrap();
        let go = fake_go(tmp.path());
        let dir = tmp.path().join("tinykv");
        std::fs::create_dir(&dir).unwrap();
        let err = |dir: &Path, packages: &[&str]| {
            format!("{:#}", GoRef::check(Some(&go), dir, packages).unwrap_err())
        };

        assert!(err(&tmp.path().join("nope"), &[]).contains("not a directory"));
        assert!(err(&dir, &[]).contains("not a Go TinyKV checkout"));
        checkout(&dir, "example.com/other", &[]);
        assert!(err(&dir, &[]).contains("declares module example.com/other"));
        checkout(&dir, GO_MODULE, &["raft"]);
        let e = err(&dir, &["raft", "kv/test_raftstore"]);
        assert!(
            e.contains("missing Go test package(s)") && e.contains("kv/test_raftstore"),
            "{e}"
        );
        assert!(!e.contains("raft,"), "{e}");
        // Its kv/ subfolder is not a checkout, and the error says where one is.
        let e = err(&dir.join("raft"), &[]);
        assert!(
            e.contains(&format!(
                "looks like {}",
                dir.canonicalize().unwrap().display()
            )),
            "{e}"
        );

        let ok = GoRef::check(Some(&go), &dir, &["raft"]).unwrap();
        assert_eq!(ok.version, "go version go1.19.8 linux/amd64");
        let e = format!(
            "{:#}",
            GoRef::check(Some(Path::new("/bin/false")), &dir, &["raft"]).unwrap_err()
        );
        assert!(e.contains("`go version` failed"), "{e}");
        let e = format!(
            "{:#}",
            GoRef::check(Some(&tmp.path().join("nogo")), &dir, &["raft"]).unwrap_err()
        );
        assert!(e.contains("cannot run `go version`"), "{e}");
    }

    #[test]
    fn go_run_command_line() {
        let go = GoRef {
            go: PathBuf::from("/usr/bin/go"),
            dir: PathBuf::from("/src/tinykv"),
            version: String::new(),
        };
        let build = GoBuild {
            package: "kv/test_raftstore".into(),
            binary: Ok(PathBuf::from("/out/go/bin/kv_test_raftstore.test")),
            seconds: 1.0,
        };
        let s = go
            .spec(
                "TestOneSplit3B",
                "TestOneSplit3B",
                &build,
                "fatal",
                Path::new("/out/tmp"),
            )
            .unwrap();
        assert_eq!(
            s.program,
            PathBuf::from("/out/go/bin/kv_test_raftstore.test")
        );
        assert_eq!(
            s.args,
            [
                "-test.run",
                "^TestOneSplit3B$",
                "-test.v",
                "-test.count=1",
                "-test.timeout=0"
            ]
        );
        assert_eq!(
            s.cwd.as_deref(),
            Some(Path::new("/src/tinykv/kv/test_raftstore"))
        );
        assert!(s
            .env
            .contains(&("LOG_LEVEL".to_string(), "fatal".to_string())));
        assert_eq!(s.binary, "go:kv/test_raftstore");
        assert_eq!(s.side, Side::Go);
        assert_eq!(s.tmp_root.as_deref(), Some(Path::new("/out/tmp")));

        let broken = GoBuild {
            package: "raft".into(),
            binary: Err(BuildFailure {
                failure: "build failed: raft/raft.go:1:1: x".into(),
                log: None,
                environment: false,
            }),
            seconds: 1.0,
        };
        assert!(go
            .spec("TestX", "TestX", &broken, "fatal", Path::new("/t"))
            .is_none());
        let records = unbuilt_records("TestX", &broken, 2);
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|r| r.side == Side::Go && !r.passed()));
        assert_eq!(
            records[1].failure.as_deref(),
            Some("build failed: raft/raft.go:1:1: x")
        );
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
