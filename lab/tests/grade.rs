//! `tinykv-lab grade` end to end, on `lab-fixture`'s grader suite (tests
//! named like `TestFixturePasses2B` that pass, fail, flake and hang on
//! purpose) and on a tiny cargo workspace that does not compile.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const FIXTURE: &str = env!("CARGO_BIN_EXE_lab-fixture");
const LAB: &str = env!("CARGO_BIN_EXE_tinykv-lab");

/// A checkout to grade (only its Cargo.toml is looked at with `--binary`)
/// and a scratch directory for the fixture's flaky-run counters.
struct Setup {
    root: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("checkout")).unwrap();
        std::fs::write(
            root.path().join("checkout/Cargo.toml"),
            "[workspace]\nmembers = []\n",
        )
        .unwrap();
        std::fs::create_dir(root.path().join("counters")).unwrap();
        Setup { root }
    }

    fn checkout(&self) -> PathBuf {
        self.root.path().join("checkout")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// `tinykv-lab grade <checkout> --binary <fixture> ARGS`.
    fn grade(&self, args: &[&str]) -> Outcome {
        let out = Command::new(LAB)
            .arg("grade")
            .arg(self.checkout())
            .args(["--binary", FIXTURE])
            .args(args)
            .env("LAB_FIXTURE_SUITE", "grade")
            .env("LAB_FIXTURE_DIR", self.path("counters"))
            .output()
            .unwrap();
        Outcome::from(out)
    }

    fn json(&self) -> Value {
        let text = std::fs::read_to_string(self.checkout().join("target/grade/grade.json"))
            .expect("grade.json is written by default");
        serde_json::from_str(&text).unwrap()
    }

    fn weights(&self, text: &str) -> String {
        let path = self.path("weights.toml");
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<std::process::Output> for Outcome {
    fn from(out: std::process::Output) -> Outcome {
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn project<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["projects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no project {name} in {json}"))
}

fn test<'a>(project: &'a Value, name: &str) -> &'a Value {
    project["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no test {name} in {project}"))
}

#[test]
fn scores_pass_rates_per_project_and_writes_every_report() {
    let s = Setup::new();
    let out = s.grade(&["--projects", "1,2b,3b,2c", "--runs", "2"]);
    assert_eq!(
        out.code, 0,
        "a completed grading exits 0 whatever the score\n{out:?}"
    );

    let json = s.json();
    assert_eq!(project(&json, "1")["score"], 100.0);
    let b = project(&json, "2b");
    // Passes 100, Fails 0, Flaky 1 of 2 = 50: (100 + 0 + 50) / 3.
    assert_eq!(b["score"], 50.0, "{b}");
    let fails = test(b, "TestFixtureFails2B");
    assert_eq!(
        (fails["runs"].as_u64(), fails["passed"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(fails["first_failure"], "fixture failure: expected 1, got 2");
    assert_eq!(fails["seed"], "4242");
    assert!(Path::new(fails["log"].as_str().unwrap()).is_file());
    let flaky = test(b, "TestFixtureFlaky2B");
    assert_eq!(flaky["passed"], 1);
    assert_eq!(flaky["score"], 50.0);
    let passes = test(b, "TestFixturePasses2B");
    assert_eq!(passes["first_failure"], Value::Null);
    assert_eq!(passes["log"], Value::Null);
    // The ignored test is not graded.
    let three_b = project(&json, "3b");
    assert_eq!(three_b["tests"].as_array().unwrap().len(), 1);
    assert_eq!(three_b["score"], 100.0);
    // A project with no tests scores 0, with a note; never a silent 100.
    let c = project(&json, "2c");
    assert_eq!(c["score"], 0.0);
    assert!(
        c["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("no tests found"),
        "{c}"
    );
    // (100 + 50 + 100 + 0) / 4
    assert_eq!(json["total"], 62.5);
    assert_eq!(json["build"]["mode"], "prebuilt");
    assert_eq!(json["runs"], 2);
    for p in json["projects"].as_array().unwrap() {
        for field in ["name", "score", "weight", "tests"] {
            assert!(p.get(field).is_some(), "missing {field} in {p}");
        }
        for t in p["tests"].as_array().unwrap() {
            for field in ["name", "runs", "passed", "score", "first_failure", "log"] {
                assert!(t.get(field).is_some(), "missing {field} in {t}");
            }
        }
    }

    // The tables: one per project, then the scores and the total, last.
    assert!(
        out.stdout.contains("project 2b: 50.00% (weight 1)"),
        "{out:?}"
    );
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with("TestFixtureFails2B "))
        .unwrap();
    assert!(row.ends_with("fixture failure: expected 1, got 2"), "{row}");
    let last = out.stdout.lines().last().unwrap();
    assert!(
        last.starts_with("TOTAL") && last.ends_with("62.50"),
        "{last}"
    );

    // JUnit: one testcase per run, failures for the failed runs.
    let grade_dir = s.checkout().join("target/grade");
    let xml = std::fs::read_to_string(grade_dir.join("grade.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.attribute("tests"), Some("10"), "{xml}");
    assert_eq!(root.attribute("failures"), Some("3"), "{xml}");

    // Markdown: scores, then each failing test with its seed and log tail.
    let md = std::fs::read_to_string(grade_dir.join("GRADE.md")).unwrap();
    assert!(md.starts_with("# Grade: 62.50%"), "{md}");
    assert!(md.contains("### TestFixtureFails2B (project 2b)"), "{md}");
    assert!(md.contains("Replay seed: `TINYKV_SEED=4242`"), "{md}");
    assert!(md.contains("```text\n"), "{md}");
    assert!(md.contains("panicked at"), "the log tail is quoted\n{md}");
    assert!(!md.contains("### TestFixturePasses2B"), "{md}");
}

#[test]
fn weights_and_all_or_nothing() {
    let s = Setup::new();
    let weights = s.weights(
        r#"
[projects.2b]
weight = 2
[projects.2b.tests]
TestFixturePasses2B = 2
[projects.3b]
all_or_nothing = true
"#,
    );
    let out = s.grade(&["--projects", "2b,3b", "--runs", "2", "--weights", &weights]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = s.json();
    let b = project(&json, "2b");
    // (2 * 100 + 1 * 0 + 1 * 50) / 4
    assert_eq!(b["score"], 62.5, "{b}");
    assert_eq!(b["weight"], 2.0);
    assert_eq!(test(b, "TestFixturePasses2B")["weight"], 2.0);
    assert_eq!(project(&json, "3b")["score"], 100.0);
    assert_eq!(project(&json, "3b")["all_or_nothing"], true);
    // (2 * 62.5 + 1 * 100) / 3
    assert_eq!(json["total"], 75.0);

    // All or nothing: one failed run is 0.
    let weights = s.weights("[projects.2b]\nall_or_nothing = true\n");
    let out = s.grade(&["--projects", "2b,3b", "--weights", &weights]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = s.json();
    assert_eq!(project(&json, "2b")["score"], 0.0);
    assert_eq!(json["total"], 50.0);
}

#[test]
fn a_hang_is_a_timed_out_failed_run() {
    let s = Setup::new();
    let out_dir = s.path("out");
    let json_path = s.path("elsewhere/r.json");
    let out = s.grade(&[
        "--projects",
        "3a",
        "--timeout",
        "1",
        "--out",
        out_dir.to_str().unwrap(),
        "--json",
        json_path.to_str().unwrap(),
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let t = test(project(&json, "3a"), "TestFixtureSleeps3A");
    assert_eq!(
        (t["runs"].as_u64(), t["passed"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(t["first_failure"], "timed out after 1s");
    assert_eq!(t["score"], 0.0);
    assert_eq!(json["total"], 0.0);
    // The other reports go to --out; the log of the hung run is kept there.
    assert!(out_dir.join("grade.xml").is_file());
    assert!(out_dir.join("GRADE.md").is_file());
    assert!(!out_dir.join("grade.json").exists());
    assert!(out_dir.join("logs/TestFixtureSleeps3A.run1.log").is_file());
    let xml = std::fs::read_to_string(out_dir.join("grade.xml")).unwrap();
    assert!(xml.contains("type=\"timeout\""), "{xml}");
}

#[test]
fn the_graders_own_failures_exit_2() {
    let s = Setup::new();
    let missing = s.path("no-such-dir");
    let out = Command::new(LAB)
        .args(["grade", missing.to_str().unwrap()])
        .output()
        .unwrap();
    let out = Outcome::from(out);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("not a directory"), "{out:?}");

    let empty = s.path("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = Outcome::from(
        Command::new(LAB)
            .args(["grade", empty.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no Cargo.toml"), "{out:?}");

    let bad = |weights: &str, says: &str| {
        let path = s.weights(weights);
        let out = s.grade(&["--projects", "2b", "--weights", &path]);
        assert_eq!(out.code, 2, "{weights}\n{out:?}");
        assert!(out.stderr.contains(says), "{weights}\n{out:?}");
    };
    bad("[projects.9z]\n", "unknown project \"9z\"");
    bad("[projects.2b]\nweight = -2\n", "must be a number >= 0");
    bad(
        "[projects.2b.tests]\nTestFixturePasses3B = 2\n",
        "not a project 2b test",
    );
    bad(
        "[projects.2b.tests]\nTestFixturePases2B = 2\n",
        "names TestFixturePases2B, which is not a test of project 2b",
    );
    bad("projects = [", "weights file");
    let out = s.grade(&["--projects", "all"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("not a project to grade"), "{out:?}");
}

/// A cargo workspace shaped like tinykv-rs (packages `raft` and `kv`) whose
/// `raft` passes one lab test and whose `kv` does not compile.
fn broken_checkout(root: &Path) -> PathBuf {
    let dir = root.join("student");
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"raft\", \"kv\"]\n",
    );
    let manifest = |name: &str| {
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
    };
    write("raft/Cargo.toml", &manifest("raft"));
    write(
        "raft/src/lib.rs",
        "#[cfg(test)]\n#[allow(non_snake_case)]\nmod raft_test {\n    #[test]\n    fn TestLeaderElection2AA() {}\n}\n",
    );
    write("kv/Cargo.toml", &manifest("kv"));
    write(
        "kv/src/lib.rs",
        "pub fn broken() -> u32 {\n    \"not a number\"\n}\n",
    );
    dir
}

#[test]
fn what_does_not_build_scores_0_and_the_rest_is_graded() {
    let root = tempfile::tempdir().unwrap();
    let dir = broken_checkout(root.path());
    let out = Command::new(LAB)
        .arg("grade")
        .arg(&dir)
        .args(["--projects", "2aa,1"])
        // Its own target directory: the one this test runs from is locked
        // by the cargo running it.
        .env("CARGO_TARGET_DIR", root.path().join("target"))
        .output()
        .unwrap();
    let out = Outcome::from(out);
    assert_eq!(out.code, 0, "{out:?}");
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("target/grade/grade.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["build"]["mode"], "per-package", "{json}");
    assert_eq!(json["build"]["ok"], false);
    let failed = &json["build"]["failed"];
    assert_eq!(failed.as_array().unwrap().len(), 1, "{json}");
    assert_eq!(failed[0]["package"], "kv");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("error[E0308]: mismatched types (kv/src/lib.rs:2:5)"),
        "{json}"
    );

    // Project 1's tests live in kv: every one is a build failure.
    let one = project(&json, "1");
    assert_eq!(one["score"], 0.0);
    let tests = one["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 10, "the whole official project 1 suite");
    for t in tests {
        assert_eq!(t["runs"], 0);
        assert!(
            t["first_failure"]
                .as_str()
                .unwrap()
                .starts_with("build failed: error[E0308]: mismatched types"),
            "{t}"
        );
    }
    // raft built: its one test ran and passed; the official 2AA tests it
    // lacks score 0 as not found.
    let aa = project(&json, "2aa");
    let ran = test(aa, "TestLeaderElection2AA");
    assert_eq!(
        (ran["runs"].as_u64(), ran["passed"].as_u64()),
        (Some(1), Some(1))
    );
    let others: Vec<&Value> = aa["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] != "TestLeaderElection2AA")
        .collect();
    assert!(!others.is_empty());
    for t in &others {
        assert!(
            t["first_failure"]
                .as_str()
                .unwrap()
                .starts_with("not found in the built tests of package raft"),
            "{t}"
        );
    }
    let expected = 100.0 / (others.len() + 1) as f64;
    let score = aa["score"].as_f64().unwrap();
    assert!((score - expected).abs() < 0.01, "{score} vs {expected}");

    let md = std::fs::read_to_string(dir.join("target/grade/GRADE.md")).unwrap();
    assert!(md.contains("## Build"), "{md}");
    assert!(
        md.contains("- `kv`: `error[E0308]: mismatched types"),
        "{md}"
    );
}
