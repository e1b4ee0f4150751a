//! Finding the lab tests: build every test binary once, then ask each one
//! which tests it holds.
//!
//! We let cargo do the building (`cargo test --no-run`) and read its JSON
//! messages for the executables, instead of guessing paths under `target/`:
//! cargo knows the hashes, the profile and which package each binary belongs
//! to. Listing goes through libtest's own `--list --format terse`, so the
//! names are exactly what `--exact` accepts later.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::select::short_name;

/// The package that owns the raftstore integration suites in `tests/`.
pub const ROOT_PACKAGE: &str = "tinykv";

/// This crate: its test binaries hold the runner's own tests, not lab tests.
pub const LAB_PACKAGE: &str = "tinykv-lab";

/// One compiled libtest executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBinary {
    pub exe: PathBuf,
    /// Cargo package name (`raft`, `tinykv`); empty when unknown.
    pub package: String,
    /// Cargo target name (`raft` for unit tests, `test_raftstore` for an
    /// integration test file).
    pub target: String,
    /// Directory to run the tests in. `cargo test` runs each binary in its
    /// package root, and tests may open files relative to it.
    pub cwd: Option<PathBuf>,
}

impl TestBinary {
    /// A binary given on the command line: no cargo metadata to go by.
    pub fn from_path(exe: &Path) -> TestBinary {
        let target = exe
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        TestBinary {
            exe: exe.to_path_buf(),
            package: String::new(),
            target,
            cwd: None,
        }
    }

    /// How reports name the binary: `package/target`.
    pub fn label(&self) -> String {
        if self.package.is_empty() {
            self.target.clone()
        } else {
            format!("{}/{}", self.package, self.target)
        }
    }
}

/// One test inside a binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCase {
    pub binary: Arc<TestBinary>,
    /// Full libtest path, as `--exact` wants it (`raft_test::TestX2AA`).
    pub path: String,
}

impl TestCase {
    /// The Go name: the last segment of the path.
    pub fn name(&self) -> &str {
        short_name(&self.path)
    }

    /// Whether this is a raftstore cluster test (root package, 2B/2C/3B).
    /// Those drive real timers and threads and get flaky when run alongside
    /// each other on a small machine, so they run one at a time by default.
    ///
    /// A binary given by path (`--binary`) has no package to go by; its
    /// 2B/2C/3B tests are then taken for cluster tests, to be safe.
    pub fn is_cluster(&self) -> bool {
        let name = self.name();
        (self.binary.package == ROOT_PACKAGE || self.binary.package.is_empty())
            && (name.ends_with("2B") || name.ends_with("2C") || name.ends_with("3B"))
    }
}

/// The cargo package name from a `package_id`, in either of the formats cargo
/// has used: `name 0.1.0 (path+file:///…)` and
/// `path+file:///…/dir#name@0.1.0` (or `…/name#0.1.0` when the name is the
/// directory's).
pub fn package_name(package_id: &str) -> String {
    if let Some((url, fragment)) = package_id.split_once('#') {
        match fragment.split_once('@') {
            Some((name, _version)) => name.to_string(),
            None => url.rsplit('/').next().unwrap_or(url).to_string(),
        }
    } else {
        package_id
            .split_whitespace()
            .next()
            .unwrap_or(package_id)
            .to_string()
    }
}

/// One line of `cargo --message-format=json`, if it announces a test
/// executable (`compiler-artifact` with `profile.test` and an `executable`).
pub fn parse_artifact(line: &str) -> Option<TestBinary> {
    let msg: Value = serde_json::from_str(line).ok()?;
    if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
        return None;
    }
    let exe = msg["executable"].as_str()?;
    let cwd = msg["manifest_path"]
        .as_str()
        .and_then(|m| Path::new(m).parent())
        .map(Path::to_path_buf);
    Some(TestBinary {
        exe: PathBuf::from(exe),
        package: package_name(msg["package_id"].as_str().unwrap_or_default()),
        target: msg["target"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        cwd,
    })
}

/// The rendered text of a compiler error message, if the line is one.
fn compiler_error(line: &str) -> Option<String> {
    let msg: Value = serde_json::from_str(line).ok()?;
    if msg["reason"] != "compiler-message" || msg["message"]["level"] != "error" {
        return None;
    }
    msg["message"]["rendered"].as_str().map(str::to_string)
}

/// The cargo to call: the one that runs us (`cargo run` sets `CARGO`), so a
/// toolchain override applies to the build of the tests too.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

/// Builds the workspace's test binaries (or only `packages`') in release mode
/// and returns them, minus this crate's own.
///
/// Cargo's progress goes to our stderr as usual; compiler errors arrive as
/// JSON, so we print their rendered text before failing.
pub fn build_test_binaries(packages: &[String]) -> Result<Vec<TestBinary>> {
    let mut cmd = Command::new(cargo());
    cmd.args(["test", "--release", "--no-run", "--message-format=json"]);
    if packages.is_empty() {
        cmd.arg("--workspace");
    } else {
        for p in packages {
            cmd.args(["-p", p]);
        }
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .context("running cargo test --no-run")?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut binaries: Vec<TestBinary> = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo's output")?;
        if let Some(bin) = parse_artifact(&line) {
            if bin.package != LAB_PACKAGE && !binaries.iter().any(|b| b.exe == bin.exe) {
                binaries.push(bin);
            }
        } else if let Some(rendered) = compiler_error(&line) {
            eprint!("{rendered}");
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!("building the test binaries failed ({status}); see the errors above");
    }
    binaries.sort_by(|a, b| (&a.package, &a.target).cmp(&(&b.package, &b.target)));
    Ok(binaries)
}

/// Test paths from `--list --format terse` output (`path: test` lines;
/// benchmarks and anything else are skipped).
pub fn parse_terse_list(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect()
}

/// Lists the tests in one binary, leaving out `#[ignore]`d ones: an ignored
/// test would only ever report "0 passed", which says nothing about it.
pub fn list_tests(binary: &Arc<TestBinary>) -> Result<Vec<TestCase>> {
    let all = list_raw(binary, false)?;
    let ignored = list_raw(binary, true)?;
    Ok(all
        .into_iter()
        .filter(|p| !ignored.contains(p))
        .map(|path| TestCase {
            binary: Arc::clone(binary),
            path,
        })
        .collect())
}

fn list_raw(binary: &TestBinary, ignored: bool) -> Result<Vec<String>> {
    let mut cmd = Command::new(&binary.exe);
    cmd.args(["--list", "--format", "terse"]);
    if ignored {
        cmd.arg("--ignored");
    }
    if let Some(cwd) = &binary.cwd {
        cmd.current_dir(cwd);
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("listing tests in {}", binary.exe.display()))?;
    if !out.status.success() {
        bail!(
            "listing tests in {} failed ({})",
            binary.exe.display(),
            out.status
        );
    }
    Ok(parse_terse_list(&String::from_utf8_lossy(&out.stdout)))
}

/// The workspace's target directory, where `target/lab/<timestamp>` goes.
pub fn target_directory() -> Option<PathBuf> {
    let out = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let meta: Value = serde_json::from_slice(&out.stdout).ok()?;
    meta["target_directory"].as_str().map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_name_from_both_id_formats() {
        assert_eq!(
            package_name("path+file:///work/main/lab#tinykv-lab@0.1.0"),
            "tinykv-lab"
        );
        assert_eq!(package_name("path+file:///work/main/raft#0.1.0"), "raft");
        assert_eq!(
            package_name("raft 0.1.0 (path+file:///work/main/raft)"),
            "raft"
        );
    }

    #[test]
    fn artifacts_are_test_executables_only() {
        let test = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/raft#0.1.0","manifest_path":"/w/raft/Cargo.toml","target":{"kind":["test"],"name":"raft_test"},"profile":{"test":true},"executable":"/w/target/release/deps/raft_test-abc","fresh":true}"#;
        let lib = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/raft#0.1.0","manifest_path":"/w/raft/Cargo.toml","target":{"kind":["lib"],"name":"raft"},"profile":{"test":false},"executable":null}"#;
        let bin = r#"{"reason":"compiler-artifact","package_id":"path+file:///w/kv#0.1.0","manifest_path":"/w/kv/Cargo.toml","target":{"kind":["bin"],"name":"tinykv-server"},"profile":{"test":false},"executable":"/w/target/release/tinykv-server"}"#;
        let b = parse_artifact(test).unwrap();
        assert_eq!(b.exe, PathBuf::from("/w/target/release/deps/raft_test-abc"));
        assert_eq!(b.package, "raft");
        assert_eq!(b.target, "raft_test");
        assert_eq!(b.cwd, Some(PathBuf::from("/w/raft")));
        assert_eq!(b.label(), "raft/raft_test");
        assert!(parse_artifact(lib).is_none());
        assert!(parse_artifact(bin).is_none());
        assert!(parse_artifact(r#"{"reason":"build-finished","success":true}"#).is_none());
        assert!(parse_artifact("not json").is_none());
    }

    #[test]
    fn terse_list_keeps_tests_only() {
        let text = "raft_test::TestA2AA: test\nlog::tests::append: test\nbench_x: benchmark\n\n";
        assert_eq!(
            parse_terse_list(text),
            vec!["raft_test::TestA2AA", "log::tests::append"]
        );
    }

    #[test]
    fn cluster_tests_are_root_package_2b_2c_3b() {
        let case = |package: &str, path: &str| TestCase {
            binary: Arc::new(TestBinary {
                exe: PathBuf::from("/x"),
                package: package.into(),
                target: "t".into(),
                cwd: None,
            }),
            path: path.into(),
        };
        assert!(case("tinykv", "test_raftstore::TestOneSplit3B").is_cluster());
        assert!(case("tinykv", "TestBasic2B").is_cluster());
        assert!(case("tinykv", "TestOneSnapshot2C").is_cluster());
        assert!(!case("raft", "TestRestoreSnapshot2C").is_cluster());
        assert!(!case("tinykv", "TestLeaderElection2AA").is_cluster());
        // --binary: no package known.
        assert!(case("", "TestOneSplit3B").is_cluster());
        assert!(!case("", "TestLeaderElection2AA").is_cluster());
        assert_eq!(case("raft", "raft_test::TestX2AA").name(), "TestX2AA");
    }
}
