//! The side-by-side run (`--go-ref`) end to end, against a stand-in `go`:
//! a shell script that answers `go version` and `go test -c`, writing a
//! "test binary" that prints what a Go ≥ 1.14 test binary prints. Ours is
//! `lab-fixture`'s `goref` suite (tests named like catalogue tests).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURE: &str = env!("CARGO_BIN_EXE_lab-fixture");
const LAB: &str = env!("CARGO_BIN_EXE_tinykv-lab");

/// The stand-in `go`. Every call is logged to `$FAKE_GO_LOG`. The test
/// binary it builds records, per run, its directory, `TMPDIR` and
/// `LOG_LEVEL` into `$FAKE_GO_SEEN` and leaves a file in its `TMPDIR`;
/// `TestOneSplit3B` fails like a `t.Fatalf` with `FAKE_GO_FAIL`, or hangs
/// with `FAKE_GO_HANG`. `FAKE_GO_BROKEN=<package>` makes that package not
/// compile; `FAKE_GO_VENDOR=1` makes every build fail in the module setup.
const FAKE_GO: &str = r##"#!/bin/sh
echo "$*" >> "$FAKE_GO_LOG"
[ "$GO111MODULE" = on ] || { echo "GO111MODULE is not on" >&2; exit 3; }
case "$1" in
version) echo "go version go1.19.8 linux/amd64"; exit 0 ;;
test) ;;
*) echo "go: unknown command $1" >&2; exit 2 ;;
esac
[ "$2" = -c ] && [ "$3" = -o ] || { echo "unexpected: $*" >&2; exit 2; }
out="$4"; pkg="${5#./}"
if [ -n "$FAKE_GO_VENDOR" ]; then
  echo "go: inconsistent vendoring in $PWD:" >&2; exit 1
fi
if [ "$FAKE_GO_BROKEN" = "$pkg" ]; then
  echo "# github.com/pingcap-incubator/tinykv/$pkg [github.com/pingcap-incubator/tinykv/$pkg.test]" >&2
  echo "$pkg/x.go:1:1: undefined: foo" >&2
  exit 1
fi
cat > "$out" <<'BIN'
#!/bin/sh
name="${2#^}"; name="${name%$}"
echo "$PWD $TMPDIR $LOG_LEVEL $*" >> "$FAKE_GO_SEEN/$name.$$"
echo data > "$TMPDIR/badger.vlog"
echo "=== RUN   $name"
if [ "$name" = TestOneSplit3B ] && [ -n "$FAKE_GO_HANG" ]; then sleep 30; fi
if [ "$name" = TestOneSplit3B ] && [ -n "$FAKE_GO_FAIL" ]; then
  echo "    test_test.go:11: starting up"
  echo "    test_test.go:12: region 7 is not split"
  echo "--- FAIL: $name (0.00s)"
  echo FAIL
  exit 1
fi
echo "--- PASS: $name (0.00s)"
echo PASS
BIN
chmod +x "$out"
"##;

struct Setup {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    checkout: PathBuf,
    go: PathBuf,
    seen: PathBuf,
    calls: PathBuf,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let checkout = root.join("tinykv");
    std::fs::create_dir(&checkout).unwrap();
    std::fs::write(
        checkout.join("go.mod"),
        "module github.com/pingcap-incubator/tinykv\n\ngo 1.13\n",
    )
    .unwrap();
    // Every package the Go catalogue names, as in a real checkout.
    for pkg in [
        "raft",
        "kv/test_raftstore",
        "kv/server",
        "kv/raftstore",
        "kv/raftstore/runner",
        "kv/raftstore/snap",
        "kv/raftstore/util",
        "kv/util/engine_util",
        "kv/transaction",
        "kv/transaction/mvcc",
        "kv/transaction/latches",
    ] {
        std::fs::create_dir_all(checkout.join(pkg)).unwrap();
        std::fs::write(checkout.join(pkg).join("x_test.go"), "package x\n").unwrap();
    }
    let go = root.join("fake-go");
    std::fs::write(&go, FAKE_GO).unwrap();
    std::fs::set_permissions(&go, std::fs::Permissions::from_mode(0o755)).unwrap();
    let seen = root.join("seen");
    std::fs::create_dir(&seen).unwrap();
    let calls = root.join("calls");
    Setup {
        _tmp: tmp,
        root,
        checkout,
        go,
        seen,
        calls,
    }
}

impl Setup {
    /// `tinykv-lab --binary lab-fixture --go-ref CHECKOUT --go FAKE ARGS`.
    fn lab(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
        let mut cmd = Command::new(LAB);
        cmd.args(["--binary", FIXTURE, "--go-ref"])
            .arg(&self.checkout);
        if !args.contains(&"--go") {
            cmd.arg("--go").arg(&self.go);
        }
        cmd.arg("--out")
            .arg(self.root.join("out"))
            .args(args)
            .env("LAB_FIXTURE_SUITE", "goref")
            .env("FAKE_GO_LOG", &self.calls)
            .env("FAKE_GO_SEEN", &self.seen)
            .env_remove("LOG_LEVEL")
            .env_remove("FAKE_GO_FAIL")
            .env_remove("FAKE_GO_HANG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.calls)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// What each Go run recorded: (test, directory, TMPDIR, LOG_LEVEL, args).
    fn seen(&self) -> Vec<(String, String, String, String, String)> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.seen).unwrap().flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            let test = file.split('.').next().unwrap().to_string();
            let text = std::fs::read_to_string(e.path()).unwrap();
            let mut parts = text.trim().splitn(4, ' ');
            let mut next = || parts.next().unwrap_or_default().to_string();
            out.push((test, next(), next(), next(), next()));
        }
        out.sort();
        out
    }
}

#[test]
fn side_by_side_builds_once_times_both_and_reports_both() {
    let s = setup();
    let json = s.root.join("r.json");
    let junit = s.root.join("j.xml");
    let html = s.root.join("r.html");
    let (code, stdout, stderr) = s.lab(
        &[
            "--runs",
            "2",
            "--log-level",
            "warn",
            "--json",
            json.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
        &[("FAKE_GO_FAIL", "1")],
    );
    // Ours all pass; Go's TestOneSplit3B fails: the exit status says so.
    assert_eq!(code, 1, "{stdout}\n{stderr}");

    // One build per package, before the runs; `go test` itself never runs.
    let calls = s.calls();
    let builds: Vec<&String> = calls.iter().filter(|c| c.starts_with("test -c")).collect();
    assert_eq!(builds.len(), 2, "{calls:?}");
    assert!(
        calls
            .iter()
            .all(|c| c == "version" || c.starts_with("test -c -o ")),
        "{calls:?}"
    );

    // Each Go run: its package directory, its own TMPDIR (gone now), our
    // --log-level, the test binary's own flags.
    let seen = s.seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    let mut tmpdirs: Vec<&str> = seen.iter().map(|r| r.2.as_str()).collect();
    tmpdirs.dedup();
    assert_eq!(tmpdirs.len(), 4, "a fresh TMPDIR per run: {seen:?}");
    for (test, dir, tmp, level, args) in &seen {
        let pkg = if test == "TestOneSplit3B" {
            "kv/test_raftstore"
        } else {
            "raft"
        };
        assert_eq!(Path::new(dir), s.checkout.join(pkg));
        assert!(!Path::new(tmp).exists(), "{tmp} was left behind");
        assert_eq!(level, "warn");
        assert_eq!(
            args,
            &format!("-test.run ^{test}$ -test.v -test.count=1 -test.timeout=0")
        );
    }
    assert!(
        !s.root.join("out/go/bin").exists() && !s.root.join("out/go/tmp").exists(),
        "Go binaries and temp dirs are removed"
    );

    // The table: Go's columns, Go's failure line, n/a for what Go lacks.
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name}:\n{stdout}"))
            .to_string()
    };
    assert!(
        stdout.contains("GO PASSED  GO MEDIAN s  GO OWN s  GO CPU s  GO PEAK RSS MiB"),
        "{stdout}"
    );
    assert!(row("TestOneSplit3B ").contains("0/2"), "{stdout}");
    assert!(
        row("TestOneSplit3B ").ends_with("test_test.go:12: region 7 is not split"),
        "{stdout}"
    );
    assert!(row("TestLeaderElection2AA ").contains("2/2"), "{stdout}");
    assert_eq!(
        row("TestFixtureNotInGo2B ").matches("n/a").count(),
        5,
        "{stdout}"
    );
    assert!(
        stdout.contains("ours/Go over 2 tests both ran: wall "),
        "{stdout}"
    );
    assert!(
        stdout.contains("go reference: 2 passed, 2 failed"),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().last(),
        Some("8 passed, 2 failed"),
        "{stdout}"
    );
    assert!(stderr.contains("go FAIL TestOneSplit3B#1"), "{stderr}");
    assert!(stderr.contains("1 test, 2 runs each") || stderr.contains("3 tests, 2 runs each"));

    // JSON: both sides, marked; Go runs measured like ours.
    let records: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 10);
    let go: Vec<&serde_json::Value> = records.iter().filter(|r| r["side"] == "go").collect();
    assert_eq!(go.len(), 4);
    assert_eq!(records.iter().filter(|r| r["side"] == "rust").count(), 6);
    for r in &go {
        assert!(
            r["cpu_secs"].is_number() && r["max_rss_kib"].is_number(),
            "{r}"
        );
        assert!(r["binary"].as_str().unwrap().starts_with("go:"), "{r}");
    }
    let failed = go.iter().find(|r| r["status"] == "failed").unwrap();
    assert_eq!(failed["failure"], "test_test.go:12: region 7 is not split");
    let log = PathBuf::from(failed["log"].as_str().unwrap());
    assert!(log.starts_with(s.root.join("out/go")) && log.exists());

    // JUnit: Go's suites carry side=go.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let go_suites: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .filter(|n| {
            n.descendants()
                .any(|p| p.has_tag_name("property") && p.attribute("value") == Some("go"))
        })
        .filter_map(|n| n.attribute("name"))
        .collect();
    assert_eq!(go_suites, ["go:raft", "go:kv/test_raftstore"]);

    // HTML: one page, nothing loaded from elsewhere, the failure linked.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("<style>"));
    for external in ["<script", "<link", "@import", "url(", "src="] {
        assert!(!page.contains(external), "{external} in the page");
    }
    assert!(
        page.contains("href=\"out/go/TestOneSplit3B.run1.log\""),
        "{page}"
    );
}

#[test]
fn a_wrong_checkout_stops_everything_at_once() {
    let s = setup();
    // Not TinyKV's module.
    std::fs::write(s.checkout.join("go.mod"), "module example.com/x\n").unwrap();
    let (code, stdout, stderr) = s.lab(&[], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("declares module example.com/x"), "{stderr}");
    assert!(stdout.is_empty(), "nothing ran: {stdout}");
    assert!(s.seen().is_empty());

    // A package the selection needs is missing.
    std::fs::write(
        s.checkout.join("go.mod"),
        "module github.com/pingcap-incubator/tinykv\n",
    )
    .unwrap();
    std::fs::remove_dir_all(s.checkout.join("kv/test_raftstore")).unwrap();
    let (code, _, stderr) = s.lab(&["--run", "3B$"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("kv/test_raftstore"), "{stderr}");
    // Not selected, not needed.
    let (code, _, stderr) = s.lab(&["--run", "2AA$"], &[]);
    assert_eq!(code, 0, "{stderr}");

    // No such go.
    let (code, _, stderr) = s.lab(&["--go", "/nonexistent/go", "--run", "2AA$"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot run `go version`"), "{stderr}");

    // A build that fails in the setup, not the code, is the environment's.
    let (code, stdout, stderr) = s.lab(&["--run", "2AA$"], &[("FAKE_GO_VENDOR", "1")]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("go: inconsistent vendoring"), "{stderr}");
    assert!(stdout.is_empty());
}

#[test]
fn code_that_does_not_compile_fails_its_go_runs() {
    let s = setup();
    let (code, stdout, stderr) = s.lab(&["--runs", "2"], &[("FAKE_GO_BROKEN", "raft")]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with("TestLeaderElection2AA "))
        .unwrap();
    assert!(row.contains("0/2"), "{stdout}");
    assert!(
        row.ends_with("build failed: raft/x.go:1:1: undefined: foo"),
        "{stdout}"
    );
    assert!(
        stdout.contains("go reference: 2 passed, 2 failed"),
        "{stdout}"
    );
    assert!(s.root.join("out/go/build.raft.log").exists());
}

#[test]
fn a_killed_go_run_leaves_no_temp_dir() {
    let s = setup();
    let (code, stdout, stderr) = s.lab(
        &["--run", "3B$", "--timeout", "1"],
        &[("FAKE_GO_HANG", "1")],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("timed out after 1s"), "{stdout}");
    let seen = s.seen();
    assert_eq!(seen.len(), 1);
    assert!(!Path::new(&seen[0].2).exists(), "{seen:?}");
    assert!(!s.root.join("out/go/tmp").exists());
}

#[test]
fn without_go_on_path_it_says_so_and_stops() {
    let s = setup();
    let out = Command::new(LAB)
        .args(["--binary", FIXTURE, "--go-ref"])
        .arg(&s.checkout)
        .arg("--out")
        .arg(s.root.join("out"))
        .env("LAB_FIXTURE_SUITE", "goref")
        .env("PATH", &s.seen)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no `go` on PATH"), "{stderr}");
}
