//! The skeleton holds its promises, end to end, as a new instructor would
//! see it: `tinykv-lab skeleton` writes a student repository, it builds,
//! and `tinykv-lab grade` scores every stubbed project 0 — each test failing
//! at a `todo!` of its own project, none hanging — and every solved one
//! 100.
//!
//! It builds a second copy of the workspace, so it is `#[ignore]`d in the
//! plain test run; `.ci/run` runs it with `--ignored`. The copy shares this
//! build's target directory, so only the workspace's own crates are
//! compiled again, not RocksDB.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn lab_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tinykv-lab"))
}

/// The target directory this test was built in (`<target>/release/...`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            lab_exe()
                .parent()
                .and_then(Path::parent)
                .expect("the binary sits in <target>/<profile>/")
                .to_path_buf()
        })
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn lab(args: &[&str]) -> std::process::Output {
    let out = Command::new(lab_exe())
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir())
        .current_dir(workspace_root())
        .output()
        .expect("run tinykv-lab");
    eprintln!(
        "$ tinykv-lab {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Grades `dir` and returns the JSON report.
fn grade(dir: &Path, projects: &str) -> Value {
    let json = dir.join("grade.json");
    let out = lab(&[
        "grade",
        dir.to_str().unwrap(),
        "--projects",
        projects,
        "--timeout",
        "300",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "grade failed: {:?}", out.status);
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

fn project<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no project {name} in {report}"))
}

/// The marker tag of a lab project as `todo!` messages spell it.
fn todo_prefixes(project: &str) -> Vec<String> {
    match project {
        "2a" => ["2AA", "2AB", "2AC"]
            .iter()
            .map(|t| format!("{t}: "))
            .collect(),
        p => vec![format!("{}: ", p.to_ascii_uppercase())],
    }
}

/// Every test of a stubbed project fails, at a `todo!` (of this project or
/// an earlier one it builds on), not at a timeout.
fn assert_stubbed(report: &Value, name: &str, earlier: &[&str]) {
    let p = project(report, name);
    assert_eq!(p["score"].as_f64(), Some(0.0), "{name}: {p}");
    let tests = p["tests"].as_array().unwrap();
    assert!(!tests.is_empty(), "{name}: no tests");
    let mut prefixes = todo_prefixes(name);
    for e in earlier {
        prefixes.extend(todo_prefixes(e));
    }
    for t in tests {
        let failure = t["first_failure"].as_str().unwrap_or_default();
        assert!(
            failure.contains("not yet implemented")
                && prefixes.iter().any(|pre| failure.contains(pre.as_str())),
            "{name}: {} failed with {failure:?}, not a todo! of {prefixes:?}",
            t["name"]
        );
    }
}

fn assert_solved(report: &Value, name: &str) {
    let p = project(report, name);
    assert_eq!(p["score"].as_f64(), Some(100.0), "{name}: {p}");
}

#[test]
#[ignore = "builds a second copy of the workspace; .ci/run runs it"]
fn skeleton_builds_and_grades_as_promised() {
    let tmp = tempfile::tempdir().unwrap();

    // Everything stubbed: every project scores 0, each at its todo!s.
    let student = tmp.path().join("student");
    let out = lab(&["skeleton", student.to_str().unwrap()]);
    assert!(out.status.success());
    let report = grade(&student, "1,2a,2b,2c,3a,3b,4a,4b,4c");
    assert_eq!(report["total"].as_f64(), Some(0.0));
    assert_stubbed(&report, "1", &[]);
    assert_stubbed(&report, "2a", &[]);
    assert_stubbed(&report, "2b", &["2a"]);
    assert_stubbed(&report, "2c", &["2a"]);
    assert_stubbed(&report, "3a", &["2a"]);
    assert_stubbed(&report, "3b", &["2a"]);
    assert_stubbed(&report, "4a", &[]);
    assert_stubbed(&report, "4b", &["4a"]);
    assert_stubbed(&report, "4c", &["4a", "4b"]);

    // Released up to 3A: 3B alone is to do. (2B and 2C are left out here
    // for time: they take minutes a test. The same run with them is in the
    // course kit's closing notes.)
    let up_to_3a = tmp.path().join("up-to-3a");
    let out = lab(&[
        "skeleton",
        up_to_3a.to_str().unwrap(),
        "--solved",
        "1,2a,2b,2c,3a",
    ]);
    assert!(out.status.success());
    let report = grade(&up_to_3a, "1,2a,3a,3b");
    assert_solved(&report, "1");
    assert_solved(&report, "2a");
    assert_solved(&report, "3a");
    assert_stubbed(&report, "3b", &[]);
}
