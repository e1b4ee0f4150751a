//! The runner driven end to end on `lab-fixture`, a fake libtest binary
//! whose tests pass, fail, hang and are ignored on purpose.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use tinykv_lab::discover::{self, TestBinary, TestCase};
use tinykv_lab::report;
use tinykv_lab::{run, RunOptions, RunRecord, RunSpec, Status};

const FIXTURE: &str = env!("CARGO_BIN_EXE_lab-fixture");
const LAB: &str = env!("CARGO_BIN_EXE_tinykv-lab");

fn case(test: &str) -> TestCase {
    TestCase {
        binary: Arc::new(TestBinary::from_path(Path::new(FIXTURE))),
        path: format!("fixture::{test}"),
    }
}

fn spec(test: &str) -> RunSpec {
    let c = case(test);
    RunSpec::libtest(&c, c.name(), None)
}

fn options(dir: &Path, runs: u32, jobs: usize, timeout: u64) -> RunOptions {
    RunOptions {
        runs,
        jobs,
        timeout: Duration::from_secs(timeout),
        log_dir: dir.to_path_buf(),
    }
}

#[test]
fn lists_the_fixture_like_libtest() {
    let binary = Arc::new(TestBinary::from_path(Path::new(FIXTURE)));
    let names: Vec<String> = discover::list_tests(&binary)
        .unwrap()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    // The ignored test is left out: it could only ever report "0 passed".
    assert_eq!(names, ["fixture_passes", "fixture_fails", "fixture_sleeps"]);
}

#[test]
fn passes_failures_and_missing_tests() {
    let dir = tempfile::tempdir().unwrap();
    let specs = [
        spec("fixture_passes"),
        spec("fixture_fails"),
        spec("fixture_missing"),
    ];
    let mut seen = 0;
    let records = run(&specs, &options(dir.path(), 2, 3, 20), |_| seen += 1);
    assert_eq!(seen, 6);
    assert_eq!(records.len(), 6);

    let of =
        |name: &str| -> Vec<&RunRecord> { records.iter().filter(|r| r.name == name).collect() };
    for r in of("fixture_passes") {
        assert_eq!(r.status, Status::Passed, "{r:?}");
        assert_eq!(r.failure, None);
        assert_eq!(r.log, None, "passed runs' logs are deleted");
    }
    let runs: Vec<u32> = of("fixture_fails").iter().map(|r| r.run).collect();
    assert_eq!(runs, [1, 2]);
    for r in of("fixture_fails") {
        assert_eq!(r.status, Status::Failed);
        assert_eq!(
            r.failure.as_deref(),
            Some("fixture failure: expected 1, got 2")
        );
        let log =
            std::fs::read_to_string(r.log.as_ref().expect("failed runs keep their log")).unwrap();
        assert!(log.contains("panicked at"), "{log}");
    }
    for r in of("fixture_missing") {
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.failure.as_deref(), Some("no test ran"));
    }
    // Only the four failed runs' logs remain.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
}

#[test]
fn ignored_test_is_no_test_ran() {
    let dir = tempfile::tempdir().unwrap();
    let records = run(
        &[spec("fixture_ignored")],
        &options(dir.path(), 1, 1, 20),
        |_| {},
    );
    assert_eq!(
        records[0].failure.as_deref(),
        Some("no test ran (the test is ignored)")
    );
}

/// Whether `pid` is still a live process (a zombie waiting for its parent
/// to reap it is dead for our purpose: it runs nothing).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .next();
            state != Some("Z") && state != Some("X")
        }
    }
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let mut s = spec("fixture_sleeps");
    s.env.push((
        "LAB_FIXTURE_PIDS".into(),
        pids.to_string_lossy().into_owned(),
    ));
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();

    let records = run(&[s], &options(&logs, 1, 1, 2), |_| {});
    let r = &records[0];
    assert_eq!(r.status, Status::TimedOut);
    assert_eq!(r.failure.as_deref(), Some("timed out after 2s"));
    assert!((2.0..10.0).contains(&r.seconds), "{}", r.seconds);
    assert!(r.log.as_ref().is_some_and(|l| l.exists()));

    // The test process and the child it started are both gone.
    let text = std::fs::read_to_string(&pids).expect("the fixture wrote its pids");
    let pids: Vec<i32> = text
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2);
    // The grandchild is reaped by init, not by us: give it a moment.
    for _ in 0..100 {
        if pids.iter().all(|p| !alive(*p)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for pid in pids {
        assert!(!alive(pid), "process {pid} survived the timeout");
    }
}

#[test]
fn reports_have_one_entry_per_run() {
    let dir = tempfile::tempdir().unwrap();
    let specs = [spec("fixture_passes"), spec("fixture_fails")];
    let records = run(&specs, &options(dir.path(), 3, 2, 20), |_| {});

    let json_path = dir.path().join("r.json");
    report::write_json(&json_path, &records).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let array = json.as_array().unwrap();
    assert_eq!(array.len(), 6);
    for rec in array {
        for field in ["name", "run", "status", "seconds", "failure", "log"] {
            assert!(rec.get(field).is_some(), "missing {field} in {rec}");
        }
        let failed = rec["status"] == "failed";
        assert_eq!(rec["failure"].is_null(), !failed);
        assert_eq!(rec["log"].is_null(), !failed);
    }

    let xml_path = dir.path().join("j.xml");
    report::write_junit(&xml_path, &records).unwrap();
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 6);
    let names: Vec<&str> = cases.iter().filter_map(|n| n.attribute("name")).collect();
    assert!(names.contains(&"fixture_fails#3"), "{names:?}");
    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(failures.len(), 3);
    for f in failures {
        assert_eq!(
            f.attribute("message"),
            Some("fixture failure: expected 1, got 2")
        );
        assert!(f.text().unwrap_or("").contains("panicked at"));
    }
    let root = doc.root_element();
    assert_eq!(root.attribute("tests"), Some("6"));
    assert_eq!(root.attribute("failures"), Some("3"));
}

fn lab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(LAB).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn command_line_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out: PathBuf = dir.path().join("out");
    let json = dir.path().join("r.json");
    let junit = dir.path().join("j.xml");
    let (code, stdout, stderr) = lab(&[
        "--binary",
        FIXTURE,
        "--run",
        "^fixture_(passes|fails)$",
        "--runs",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "failures make a non-zero exit\n{stdout}\n{stderr}");
    assert_eq!(
        stdout.lines().last(),
        Some("2 passed, 2 failed"),
        "{stdout}"
    );
    let row = stdout
        .lines()
        .find(|l| l.starts_with("fixture_fails "))
        .unwrap();
    assert!(row.ends_with("fixture failure: expected 1, got 2"), "{row}");
    assert!(stderr.contains("FAIL fixture_fails#1"), "{stderr}");
    assert!(out.join("fixture_fails.run1.log").exists());
    assert!(!out.join("fixture_passes.run1.log").exists());
    assert!(json.exists() && junit.exists());

    let out2 = dir.path().join("out2");
    let (code, stdout, _) = lab(&[
        "--binary",
        FIXTURE,
        "--run",
        "^fixture_passes$",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout.lines().last(), Some("1 passed, 0 failed"));
    assert!(
        !out2.exists(),
        "a session without failures keeps no log directory"
    );
}

#[test]
fn command_line_list_and_empty_selection() {
    let (code, stdout, _) = lab(&["--binary", FIXTURE, "--run", "fixture", "--list"]);
    assert_eq!(code, 0);
    let names: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["fixture_passes", "fixture_fails", "fixture_sleeps"]);

    // Selecting nothing is an error, not a green run of zero tests.
    let (code, _, stderr) = lab(&["--binary", FIXTURE, "--run", "^nothing$"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no test matches"), "{stderr}");
    // The fixture has no Go-style names, so `all` selects nothing either.
    let (code, _, _) = lab(&["--binary", FIXTURE, "all"]);
    assert_eq!(code, 2);
}
