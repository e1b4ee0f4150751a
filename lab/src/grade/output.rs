//! What a grading shows and writes: the tables on stdout, the JSON report
//! for a learning-management system, and the Markdown report for the
//! student. (The JUnit report is the lab's own, [`crate::report`].)

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{GradeReport, ProjectGrade, TestGrade};
use crate::report::{self, layout_table, TABLE_FAILURE_WIDTH};

/// How much of a failed run's log the Markdown report quotes: the tail,
/// where the panic is. The whole log is in `OUT/logs/`.
pub const MARKDOWN_LOG_TAIL: u64 = 8 * 1024;

/// The JSON report:
///
/// ```json
/// {"total": 62.5,
///  "projects": [{"name": "2b", "weight": 3.0, "all_or_nothing": false, "score": 87.5,
///                "notes": [], "tests": [{"name": "TestBasic2B", "weight": 3.0, "runs": 2,
///                "passed": 2, "score": 100.0, "first_failure": null, "log": null,
///                "seed": null}]}],
///  "build": {"mode": "workspace", "ok": true, "failed": []},
///  "dir": "/path/to/checkout", "runs": 2, "timeout_secs": 600, "interrupted": false}
/// ```
pub fn json(report: &GradeReport) -> String {
    serde_json::to_string_pretty(report).expect("grade reports always serialize")
}

/// A number as people write it: `1`, `2.5`.
fn num(x: f64) -> String {
    format!("{x}")
}

fn pct(x: f64) -> String {
    format!("{x:.2}")
}

/// A project's row of the summary table, in both reports: name, weight,
/// number of tests, score (percent) and notes.
fn project_cells(p: &ProjectGrade) -> [String; 5] {
    [
        p.name.clone(),
        num(p.weight),
        p.tests.len().to_string(),
        pct(p.score),
        p.notes.join("; "),
    ]
}

/// The stdout report: a table per project (test, weight, runs, passed,
/// score, first failure), what did not build, then the project scores and
/// the total.
pub fn tables(report: &GradeReport) -> String {
    let mut out = String::new();
    for p in &report.projects {
        let _ = writeln!(
            out,
            "\nproject {}: {}% (weight {}{})",
            p.name,
            pct(p.score),
            num(p.weight),
            if p.all_or_nothing {
                ", all or nothing"
            } else {
                ""
            }
        );
        if p.tests.is_empty() {
            let _ = writeln!(out, "  {}", p.notes.join("; "));
            continue;
        }
        let cells: Vec<Vec<String>> = p
            .tests
            .iter()
            .map(|t| {
                vec![
                    t.name.clone(),
                    num(t.tally.weight),
                    t.tally.runs.to_string(),
                    t.tally.passed.to_string(),
                    pct(t.score),
                    t.first_failure
                        .as_deref()
                        .map(|f| report::truncate(f, TABLE_FAILURE_WIDTH))
                        .unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&layout_table(
            &[
                "TEST",
                "WEIGHT",
                "RUNS",
                "PASSED",
                "SCORE %",
                "FIRST FAILURE",
            ],
            &cells,
        ));
    }
    out.push('\n');
    for f in &report.build.failed {
        let _ = writeln!(
            out,
            "did not build: {}: {}",
            f.package.as_deref().unwrap_or("the workspace"),
            f.error
        );
    }
    if report.interrupted {
        out.push_str("interrupted: tests not run score 0\n");
    }
    let mut cells: Vec<Vec<String>> = report
        .projects
        .iter()
        .map(|p| Vec::from(project_cells(p)))
        .collect();
    cells.push(vec![
        "TOTAL".into(),
        String::new(),
        String::new(),
        pct(report.total),
        String::new(),
    ]);
    out.push_str(&layout_table(
        &["PROJECT", "WEIGHT", "TESTS", "SCORE %", "NOTES"],
        &cells,
    ));
    out
}

/// Inline code that survives backticks in its text (a failure line such as
/// ``assertion `left == right` failed``).
pub fn code_span(s: &str) -> String {
    let longest = longest_backtick_run(s);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') || longest > 0 {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

fn longest_backtick_run(s: &str) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// A table cell: one line, pipes escaped (GitHub tables split on `|` even
/// inside code spans).
fn cell(s: &str) -> String {
    s.replace(['\n', '\r'], " ").replace('|', "\\|")
}

/// A fenced block around `text`, with a fence longer than any run of
/// backticks inside it.
fn fenced(info: &str, text: &str) -> String {
    let fence = "`".repeat(3.max(longest_backtick_run(text) + 1));
    let mut out = format!("{fence}{info}\n{text}");
    if !text.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(out, "{fence}");
    out
}

/// How to run one test again by hand, with its seed if it printed one.
pub fn replay_command(t: &TestGrade) -> Option<String> {
    let (binary, path) = t.binary.as_ref()?;
    let package = binary
        .split_once('/')
        .map(|(package, _)| format!(" -p {package}"))
        .unwrap_or_default();
    let seed = t
        .seed
        .as_ref()
        .map(|s| format!("TINYKV_SEED={s} "))
        .unwrap_or_default();
    Some(format!(
        "{seed}cargo test --release{package} -- --exact {path} --nocapture"
    ))
}

/// The Markdown report for the student: the total and the project scores,
/// what did not build, each project's tests, then for each failing test its
/// first failure, its replay seed and the tail of its log.
pub fn markdown(report: &GradeReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Grade: {}%\n", pct(report.total));
    let _ = writeln!(
        out,
        "`{}`, {} of each test (timeout {} s).\n",
        report.dir.display(),
        crate::session::plural(report.runs as usize, "run"),
        report.timeout_secs
    );
    if report.interrupted {
        out.push_str("**The grading was interrupted: tests not run score 0.**\n\n");
    }
    out.push_str("| Project | Weight | Tests | Score | Notes |\n|---|---:|---:|---:|---|\n");
    for p in &report.projects {
        let [name, weight, tests, score, notes] = project_cells(p);
        let _ = writeln!(
            out,
            "| {name} | {weight} | {tests} | {score}% | {} |",
            cell(&notes)
        );
    }
    let _ = writeln!(out, "| **Total** | | | **{}%** | |\n", pct(report.total));

    if !report.build.failed.is_empty() {
        out.push_str("## Build\n\n");
        out.push_str(
            "The workspace did not build; what did not build scores 0 \
             (`cargo test --release --no-run` shows the errors):\n\n",
        );
        for f in &report.build.failed {
            let _ = writeln!(
                out,
                "- {}: {}",
                f.package
                    .as_deref()
                    .map_or_else(|| "the workspace".to_string(), |p| format!("`{p}`")),
                code_span(&f.error)
            );
        }
        out.push('\n');
    }

    for p in &report.projects {
        let _ = writeln!(out, "## Project {}: {}%\n", p.name, pct(p.score));
        if !p.notes.is_empty() {
            let _ = writeln!(out, "_{}_\n", p.notes.join("; "));
        }
        if p.tests.is_empty() {
            continue;
        }
        out.push_str(
            "| Test | Weight | Passed | Score | First failure |\n|---|---:|---:|---:|---|\n",
        );
        for t in &p.tests {
            let _ = writeln!(
                out,
                "| {} | {} | {}/{} | {}% | {} |",
                cell(&t.name),
                num(t.tally.weight),
                t.tally.passed,
                t.tally.runs,
                pct(t.score),
                t.first_failure
                    .as_deref()
                    .map(|f| cell(&code_span(&report::truncate(f, TABLE_FAILURE_WIDTH))))
                    .unwrap_or_default()
            );
        }
        out.push('\n');
    }

    let failing = failing_tests(&report.projects);
    if !failing.is_empty() {
        out.push_str("## Failures\n");
        for (t, projects) in failing {
            let _ = writeln!(out, "\n### {} (project {})\n", t.name, projects.join(", "));
            if t.tally.runs > 0 {
                let _ = writeln!(out, "{} of {} runs passed.\n", t.tally.passed, t.tally.runs);
            }
            let _ = writeln!(
                out,
                "First failure: {}\n",
                code_span(t.first_failure.as_deref().unwrap_or("failed"))
            );
            if let Some(seed) = &t.seed {
                let _ = writeln!(
                    out,
                    "Replay seed: `TINYKV_SEED={seed}` (the failed run's random schedule).\n"
                );
            }
            if let Some(cmd) = replay_command(t) {
                out.push_str("Run it again:\n\n");
                out.push_str(&fenced("sh", &cmd));
                out.push('\n');
            }
            if let Some(log) = &t.log {
                let _ = writeln!(out, "End of the log (`{}`):\n", log.display());
                let tail = report::log_tail(log, MARKDOWN_LOG_TAIL)
                    .unwrap_or_else(|e| format!("(log unreadable: {e})"));
                out.push_str(&fenced("text", &tail));
            }
        }
    }
    out
}

/// Each test that did not pass every run, once, with the projects it is in.
fn failing_tests(projects: &[ProjectGrade]) -> Vec<(&TestGrade, Vec<&str>)> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_name: BTreeMap<&str, (&TestGrade, Vec<&str>)> = BTreeMap::new();
    for p in projects {
        for t in &p.tests {
            if t.tally.all_passed() {
                continue;
            }
            by_name
                .entry(t.name.as_str())
                .or_insert_with(|| {
                    order.push(t.name.as_str());
                    (t, Vec::new())
                })
                .1
                .push(p.name.as_str());
        }
    }
    order
        .into_iter()
        .filter_map(|n| by_name.remove(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::{BuildFailure, BuildReport};
    use std::path::PathBuf;

    fn test(name: &str, runs: u32, passed: u32, failure: Option<&str>) -> TestGrade {
        TestGrade {
            name: name.into(),
            tally: crate::grade::score::Tally {
                weight: 1.0,
                runs,
                passed,
            },
            score: crate::grade::score::test_score(passed, runs),
            first_failure: failure.map(str::to_string),
            log: None,
            seed: None,
            binary: Some(("tinykv/test_test".into(), name.into())),
        }
    }

    fn sample(log: Option<PathBuf>) -> GradeReport {
        let mut flaky = test(
            "TestFlaky2B",
            2,
            1,
            Some("assertion `left == right` failed | x"),
        );
        flaky.log = log;
        flaky.seed = Some("42".into());
        let mut unbuilt = test("TestGone2B", 0, 0, Some("build failed: error: boom"));
        unbuilt.binary = None;
        GradeReport {
            total: 25.0,
            projects: vec![
                ProjectGrade {
                    name: "2b".into(),
                    score: 50.0,
                    weight: 2.0,
                    all_or_nothing: false,
                    notes: vec!["1 test not built or not found".into()],
                    tests: vec![test("TestBasic2B", 2, 2, None), flaky, unbuilt],
                },
                ProjectGrade {
                    name: "2c".into(),
                    score: 0.0,
                    weight: 2.0,
                    all_or_nothing: false,
                    notes: vec!["no tests found".into()],
                    tests: vec![],
                },
            ],
            build: BuildReport {
                mode: "per-package".into(),
                ok: false,
                failed: vec![BuildFailure {
                    package: Some("kv".into()),
                    error: "error: boom".into(),
                }],
            },
            dir: PathBuf::from("/student"),
            runs: 2,
            timeout_secs: 600,
            interrupted: false,
        }
    }

    #[test]
    fn json_shape() {
        let v: serde_json::Value = serde_json::from_str(&json(&sample(None))).unwrap();
        assert_eq!(v["total"], 25.0);
        assert_eq!(v["projects"][0]["name"], "2b");
        assert_eq!(v["projects"][0]["weight"], 2.0);
        let t = &v["projects"][0]["tests"][1];
        for field in [
            "name",
            "runs",
            "passed",
            "score",
            "first_failure",
            "log",
            "seed",
        ] {
            assert!(t.get(field).is_some(), "missing {field} in {t}");
        }
        assert!(t.get("binary").is_none());
        assert_eq!(v["build"]["failed"][0]["package"], "kv");
    }

    #[test]
    fn tables_end_with_the_total() {
        let text = tables(&sample(None));
        assert!(text.contains("project 2b: 50.00% (weight 2)"), "{text}");
        assert!(text.contains("did not build: kv: error: boom"), "{text}");
        let last = text.lines().last().unwrap();
        assert!(
            last.starts_with("TOTAL") && last.ends_with("25.00"),
            "{last}"
        );
        let row = text.lines().find(|l| l.starts_with("TestFlaky2B")).unwrap();
        assert!(row.contains("50.00  assertion"), "{row}");
    }

    #[test]
    fn markdown_report() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("TestFlaky2B.run2.log");
        std::fs::write(&log, "TINYKV_SEED=42\n```\npanicked here\n").unwrap();
        let md = markdown(&sample(Some(log)));
        assert!(md.starts_with("# Grade: 25.00%\n"), "{md}");
        assert!(md.contains("| 2b | 2 | 3 | 50.00% | 1 test not built or not found |"));
        assert!(md.contains("- `kv`: `error: boom`"), "{md}");
        assert!(md.contains("### TestFlaky2B (project 2b)"), "{md}");
        assert!(md.contains("First failure: `` assertion `left == right` failed | x ``"));
        assert!(
            md.contains("`` assertion `left == right` failed \\| x ``"),
            "{md}"
        );
        assert!(md.contains("TINYKV_SEED=42 cargo test --release -p tinykv -- --exact TestFlaky2B"));
        // The log holds a fence of its own: ours is longer.
        assert!(
            md.contains("````text\nTINYKV_SEED=42\n```\npanicked here\n````\n"),
            "{md}"
        );
        assert!(md
            .contains("### TestGone2B (project 2b)\n\nFirst failure: `build failed: error: boom`"));
        assert!(!md.contains("### TestBasic2B"));
    }

    #[test]
    fn code_spans() {
        assert_eq!(code_span("plain"), "`plain`");
        assert_eq!(code_span("a `b` c"), "`` a `b` c ``");
        assert_eq!(code_span("``x"), "``` ``x ```");
    }
}
