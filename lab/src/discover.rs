//! Finding the lab tests: build every test binary once, then ask each one
//! which tests it holds.
//!
//! We let cargo do the building (`cargo test --no-run`) and read its JSON
//! messages for the executables, instead of guessing paths under `target/`:
//! cargo knows the hashes, the profile and which package each binary belongs
//! to. Listing goes through libtest's own `--list --format terse`, so the
//! names are exactly what `--exact` accepts later.

use std::io::{BufRead, BufReader, IsTerminal};
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
    /// A case of a made-up binary (`/x`, target `t`) of `package`, for
    /// unit tests.
    #[cfg(test)]
    pub(crate) fn fixture(package: &str, path: &str) -> TestCase {
        TestCase {
            binary: Arc::new(TestBinary {
                exe: PathBuf::from("/x"),
                package: package.into(),
                target: "t".into(),
                cwd: None,
            }),
            path: path.into(),
        }
    }

    /// The Go name: the last segment of the path.
    pub fn name(&self) -> &str {
        short_name(&self.path)
    }

    /// Whether this is a simulated twin of a Go test (`sim::TestBasic2B`
    /// in tests/sim.rs): the same workload in virtual time, not the Go
    /// suite itself, so projects and grades leave it out.
    pub fn is_simulated_twin(&self) -> bool {
        self.path.starts_with("sim::")
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

/// A compiler error from cargo's JSON messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompilerError {
    /// The text rustc would have printed.
    pub rendered: String,
    /// One line: `error[E0425]: cannot find value `x` in this scope
    /// (kv/src/lib.rs:3:5)`.
    pub headline: String,
}

/// The compiler error a line of cargo's JSON output carries, if it does.
pub fn compiler_error(line: &str) -> Option<CompilerError> {
    let msg: Value = serde_json::from_str(line).ok()?;
    if msg["reason"] != "compiler-message" || msg["message"]["level"] != "error" {
        return None;
    }
    let message = &msg["message"];
    let text = message["message"].as_str().unwrap_or("error");
    let mut headline = match message["code"]["code"].as_str() {
        Some(code) => format!("error[{code}]: {text}"),
        None => format!("error: {text}"),
    };
    let primary = message["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["is_primary"] == true));
    if let Some(span) = primary {
        if let (Some(file), Some(line), Some(col)) = (
            span["file_name"].as_str(),
            span["line_start"].as_u64(),
            span["column_start"].as_u64(),
        ) {
            headline.push_str(&format!(" ({file}:{line}:{col})"));
        }
    }
    let rendered = message["rendered"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{headline}\n"));
    Some(CompilerError { rendered, headline })
}

/// The cargo to call: the one that runs us (`cargo run` sets `CARGO`), so a
/// toolchain override applies to the build of the tests too.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("cargo"))
}

/// What one `cargo test --no-run` left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Build {
    /// The test executables built, minus this crate's own, sorted by
    /// package and target.
    pub binaries: Vec<TestBinary>,
    /// Whether cargo succeeded.
    pub ok: bool,
    /// The first error cargo or the compiler reported, one line (with the
    /// file and line of a compiler error), when it failed.
    pub first_error: Option<String>,
    /// How cargo exited (`exit status: 101`).
    pub status: String,
}

/// Runs `cargo test --release --no-run --message-format=json` in `dir`
/// (`--workspace`, or `-p` each of `packages`), and reports what it built.
///
/// `CARGO_TARGET_DIR` and the rest of our environment are inherited, so
/// builds of several checkouts share one dependency build. Cargo's progress
/// goes to our stderr as usual; compiler errors arrive as JSON, so we print
/// their rendered text. A failed build is a `Build` with `ok: false`; only
/// a cargo that cannot be started at all is an `Err`.
pub fn build(dir: &Path, packages: &[String]) -> Result<Build> {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(dir)
        .args(["test", "--release", "--no-run", "--message-format=json"]);
    if std::io::stderr().is_terminal() {
        // Our stderr is a terminal even though cargo's is a pipe now.
        cmd.arg("--color=always");
    }
    if packages.is_empty() {
        cmd.arg("--workspace");
    } else {
        for p in packages {
            cmd.args(["-p", p]);
        }
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running cargo test --no-run in {}", dir.display()))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    // Cargo's own errors (a bad manifest, a failed build script) are only
    // on its stderr: pass it through and keep the first `error` line.
    let stderr_reader = std::thread::spawn(move || {
        let mut first: Option<String> = None;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            eprintln!("{line}");
            let plain = strip_ansi(&line);
            if first.is_none() && plain.starts_with("error") {
                first = Some(plain.trim().to_string());
            }
        }
        first
    });
    let mut binaries: Vec<TestBinary> = Vec::new();
    let mut first_compiler_error: Option<String> = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo's output")?;
        if let Some(bin) = parse_artifact(&line) {
            if bin.package != LAB_PACKAGE && !binaries.iter().any(|b| b.exe == bin.exe) {
                binaries.push(bin);
            }
        } else if let Some(error) = compiler_error(&line) {
            eprint!("{}", error.rendered);
            first_compiler_error.get_or_insert(error.headline);
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    let first_cargo_error = stderr_reader.join().unwrap_or(None);
    binaries.sort_by(|a, b| (&a.package, &a.target).cmp(&(&b.package, &b.target)));
    let ok = status.success();
    Ok(Build {
        binaries,
        ok,
        first_error: if ok {
            None
        } else {
            Some(
                first_compiler_error
                    .or(first_cargo_error)
                    .unwrap_or_else(|| format!("cargo test --no-run failed ({status})")),
            )
        },
        status: status.to_string(),
    })
}

/// Builds the test binaries in `dir` (the whole workspace, or only
/// `packages`) in release mode and returns them, minus this crate's own; a
/// failed build is an error.
pub fn build_test_binaries(dir: &Path, packages: &[String]) -> Result<Vec<TestBinary>> {
    let build = build(dir, packages)?;
    if !build.ok {
        bail!(
            "building the test binaries failed ({}); see the errors above",
            build.status
        );
    }
    Ok(build.binaries)
}

/// Removes ANSI colour escapes (`ESC [ … m`) from a line of cargo's output.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The workspace members of the cargo project in `dir`, by package name
/// (from `cargo metadata --no-deps`).
pub fn workspace_members(dir: &Path) -> Result<Vec<String>> {
    let out = Command::new(cargo())
        .current_dir(dir)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running cargo metadata in {}", dir.display()))?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed in {} ({})",
            dir.display(),
            out.status
        );
    }
    let meta: Value = serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    Ok(parse_members(&meta))
}

/// Package names of the workspace members in `cargo metadata` output.
pub fn parse_members(meta: &Value) -> Vec<String> {
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut names: Vec<String> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["id"]
                .as_str()
                .is_some_and(|id| members.is_empty() || members.contains(&id))
        })
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    names
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
    target_directory_of(Path::new("."))
}

/// The target directory cargo uses for the workspace at `dir` (honouring
/// `CARGO_TARGET_DIR` and cargo's config).
pub fn target_directory_of(dir: &Path) -> Option<PathBuf> {
    let out = Command::new(cargo())
        .current_dir(dir)
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
    fn compiler_errors_have_a_one_line_headline() {
        let line = r#"{"reason":"compiler-message","package_id":"path+file:///w/kv#0.1.0","message":{"level":"error","message":"cannot find value `x` in this scope","code":{"code":"E0425","explanation":null},"spans":[{"file_name":"kv/src/a.rs","line_start":3,"column_start":5,"is_primary":false},{"file_name":"kv/src/lib.rs","line_start":7,"column_start":9,"is_primary":true}],"rendered":"error[E0425]: cannot find value `x` in this scope\n --> kv/src/lib.rs:7:9\n"}}"#;
        let e = compiler_error(line).unwrap();
        assert_eq!(
            e.headline,
            "error[E0425]: cannot find value `x` in this scope (kv/src/lib.rs:7:9)"
        );
        assert!(e.rendered.starts_with("error[E0425]"));
        let no_code = r#"{"reason":"compiler-message","message":{"level":"error","message":"aborting due to 1 previous error","code":null,"spans":[],"rendered":"error: aborting\n"}}"#;
        assert_eq!(
            compiler_error(no_code).unwrap().headline,
            "error: aborting due to 1 previous error"
        );
        let warning = r#"{"reason":"compiler-message","message":{"level":"warning","message":"unused","spans":[],"rendered":"warning: unused\n"}}"#;
        assert!(compiler_error(warning).is_none());
        assert!(compiler_error("not json").is_none());
    }

    #[test]
    fn ansi_escapes_are_stripped() {
        assert_eq!(
            strip_ansi("\u{1b}[1m\u{1b}[31merror\u{1b}[0m: could not compile `kv`"),
            "error: could not compile `kv`"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn members_from_metadata() {
        let meta: Value = serde_json::from_str(
            r#"{"packages":[{"name":"raft","id":"path+file:///w/raft#0.1.0"},{"name":"tinykv","id":"path+file:///w#0.1.0"},{"name":"kv","id":"path+file:///w/kv#0.1.0"}],
                "workspace_members":["path+file:///w/raft#0.1.0","path+file:///w#0.1.0","path+file:///w/kv#0.1.0"]}"#,
        )
        .unwrap();
        assert_eq!(parse_members(&meta), ["kv", "raft", "tinykv"]);
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
        let case = TestCase::fixture;
        assert!(case("tinykv", "test_raftstore::TestOneSplit3B").is_cluster());
        assert!(case("tinykv", "TestBasic2B").is_cluster());
        assert!(case("tinykv", "TestOneSnapshot2C").is_cluster());
        assert!(!case("raft", "TestRestoreSnapshot2C").is_cluster());
        assert!(!case("tinykv", "TestLeaderElection2AA").is_cluster());
        // --binary: no package known.
        assert!(case("", "TestOneSplit3B").is_cluster());
        assert!(!case("", "TestLeaderElection2AA").is_cluster());
        assert_eq!(case("raft", "raft_test::TestX2AA").name(), "TestX2AA");
        // Simulated twins share the Go name but are not the Go suite.
        assert!(case("tinykv", "sim::TestBasic2B").is_simulated_twin());
        assert!(!case("tinykv", "TestBasic2B").is_simulated_twin());
    }
}
