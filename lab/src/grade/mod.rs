//! `tinykv-lab grade DIR`: build a checkout's tests, run each test of the
//! chosen projects N times, and turn the pass rates into scores.
//!
//! It is the lab run (see [`crate::session`]) with a different ending: the
//! records become per-test scores, per-project scores and a total, written
//! as a table, JSON for a learning-management system, JUnit, and a Markdown
//! report for the student. A checkout that does not compile, or a test that
//! hangs, is graded (0 for what did not build, a timed-out run is a failed
//! run) rather than stopping the grader.

pub mod output;
pub mod score;

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use regex::Regex;
use serde::Serialize;

use crate::discover::{self, TestBinary, LAB_PACKAGE, ROOT_PACKAGE};
use crate::report;
use crate::runner::{self, RunOptions, RunRecord, Status};
use crate::select::Project;
use crate::session::{self, Selection};
use score::Tally;

pub use score::{ProjectWeights, Weights};

/// Grade a checkout: build its tests, run each test of the chosen projects
/// N times, and score the pass rates.
#[derive(Debug, Clone, clap::Args)]
pub struct GradeArgs {
    /// The checkout to grade: a tinykv-rs cargo workspace (a student's copy).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Projects to grade, comma-separated: 1, 2a, 2aa, 2ab, 2ac, 2b, 2c,
    /// 3a, 3b, 4a, 4b, 4c [default: the milestones 1,2a,2b,2c,3a,3b,4a,4b,4c].
    #[arg(long, value_name = "P,P,...", value_delimiter = ',', value_parser = score::parse_graded_project)]
    pub projects: Vec<Project>,

    /// Runs of each test; a test scores the share that passed.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,

    /// Weights file (TOML): project weights, test weights, all-or-nothing
    /// projects (see lab/grade-weights.example.toml).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,

    /// Seconds before a run is killed and counted as failed.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    /// Where the JSON report goes [default: OUT/grade.json].
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Where the JUnit report goes [default: OUT/grade.xml].
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Where the Markdown report for the student goes [default: OUT/GRADE.md].
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,

    /// Directory for the reports and failed runs' logs (OUT/logs)
    /// [default: DIR/target/grade].
    #[arg(long, value_name = "OUT")]
    pub out: Option<PathBuf>,

    /// Runs at a time [default: 1 if any raftstore cluster test is
    /// graded, else the number of CPUs].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,

    /// LOG_LEVEL for the test processes (default: inherited).
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,

    /// Use these already-built test binaries instead of building DIR
    /// (for the grader's own tests).
    #[arg(long = "binary", value_name = "EXE", hide = true)]
    pub binaries: Vec<PathBuf>,
}

/// How the checkout's test binaries came to be.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildReport {
    /// `workspace` (one `cargo test --no-run --workspace`), `per-package`
    /// (that failed, so each workspace member was built alone) or
    /// `prebuilt` (`--binary`).
    pub mode: String,
    /// Whether everything built.
    pub ok: bool,
    /// What did not build (a `null` package: the whole workspace).
    pub failed: Vec<BuildFailure>,
}

/// A package that did not build (or whose tests could not be listed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildFailure {
    pub package: Option<String>,
    /// The first error, one line.
    pub error: String,
}

impl BuildReport {
    fn prebuilt() -> BuildReport {
        BuildReport {
            mode: "prebuilt".into(),
            ok: true,
            failed: Vec::new(),
        }
    }

    /// Why tests of `package` are missing, if its build failed.
    pub fn failure_for(&self, package: &str) -> Option<&BuildFailure> {
        self.failed
            .iter()
            .find(|f| f.package.as_deref().is_none_or(|p| p == package))
    }
}

/// Everything a grading produced; what the reports are made from.
#[derive(Debug, Clone, Serialize)]
pub struct GradeReport {
    /// The total in percent (two decimals).
    pub total: f64,
    pub projects: Vec<ProjectGrade>,
    pub build: BuildReport,
    /// The checkout graded.
    pub dir: PathBuf,
    /// Runs of each test asked for.
    pub runs: u32,
    pub timeout_secs: u64,
    /// Whether Ctrl-C cut the grading short (tests not run score 0).
    pub interrupted: bool,
}

/// One project's score and the tests it is made of.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectGrade {
    pub name: String,
    /// Its share of the total.
    pub weight: f64,
    /// Whether the project scores 100 only when every test passed every
    /// run, and 0 otherwise.
    pub all_or_nothing: bool,
    /// Percent, two decimals: its tests' scores, weighted.
    pub score: f64,
    /// What a reader should know about the score (no tests found, tests
    /// that did not build).
    pub notes: Vec<String>,
    pub tests: Vec<TestGrade>,
}

/// One test's runs and score.
#[derive(Debug, Clone, Serialize)]
pub struct TestGrade {
    pub name: String,
    /// Its weight within its project and its runs (0 made if the test did
    /// not build or was not found): what the project's score is made of.
    /// Serialized inline, as `weight`, `runs` and `passed`.
    #[serde(flatten)]
    pub tally: score::Tally,
    /// Percent of the runs that passed, two decimals.
    pub score: f64,
    /// The failure line of the lowest-numbered failed run, or why the test
    /// never ran (`build failed: …`).
    pub first_failure: Option<String>,
    /// The log of that run.
    pub log: Option<PathBuf>,
    /// The replay seed that run printed (`TINYKV_SEED=…`), if it did.
    pub seed: Option<String>,
    /// The binary (`package/target`) and libtest path, when it was built.
    #[serde(skip)]
    pub binary: Option<(String, String)>,
}

/// Runs a grading end to end and writes the reports. `Err` means the
/// grader itself could not work (exit status 2); a checkout that does not
/// build or tests that fail are a low score, not an error.
pub fn grade(args: &GradeArgs) -> Result<GradeReport> {
    let dir = checkout_dir(&args.dir)?;
    let weights = match &args.weights {
        Some(path) => Weights::load(path)?,
        None => Weights::default(),
    };
    let projects = graded_projects(&args.projects);
    let out = match &args.out {
        Some(out) => out.clone(),
        None => dir.join("target").join("grade"),
    };
    let log_dir = out.join("logs");
    fs::create_dir_all(&log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
    clear_old_logs(&log_dir);

    let (binaries, mut build) = if args.binaries.is_empty() {
        build_and_pin(&dir, &out.join("bin"))?
    } else {
        (
            session::given_binaries(&args.binaries),
            BuildReport::prebuilt(),
        )
    };
    let patterns: Vec<Regex> = projects
        .iter()
        .map(|p| Regex::new(p.pattern()).expect("project patterns are valid"))
        .collect();
    let (selection, listing_failures) =
        Selection::list_each(binaries, |name| patterns.iter().any(|r| r.is_match(name)));
    for (binary, e) in listing_failures {
        eprintln!("tinykv-lab grade: {e:#}");
        build.ok = false;
        build.failed.push(BuildFailure {
            package: Some(binary.package.clone()),
            error: format!("listing the tests of {} failed: {e:#}", binary.label()),
        });
    }
    // The official suite, when we built the checkout ourselves: a test it
    // lacks (deleted, renamed, ignored, or in a package that did not build)
    // is graded 0 rather than quietly left out.
    let expected: Vec<(&str, &str)> = if args.binaries.is_empty() {
        catalogue_tests()
    } else {
        Vec::new()
    };
    let plan = plan(&projects, &selection, &expected, &build);
    for p in &plan {
        let known: Vec<&str> = p.tests.iter().map(|t| t.go_name.as_str()).collect();
        weights
            .project(p.project)
            .check_tests(p.project, known.iter().copied())
            .map_err(|e| anyhow::anyhow!("weights file: {e}"))?;
    }

    // Each test once, however many projects hold it.
    let to_run: Vec<usize> = plan
        .iter()
        .flat_map(|p| &p.tests)
        .filter_map(|t| match t.source {
            Source::Case(i) => Some(i),
            Source::Missing(_) => None,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let running = selection.subset(&to_run);
    let records = if running.is_empty() {
        Vec::new()
    } else {
        let jobs = args
            .jobs
            .map_or_else(|| running.default_jobs(), |j| j as usize);
        let opts = RunOptions {
            runs: args.runs,
            jobs,
            timeout: Duration::from_secs(args.timeout),
            log_dir: log_dir.clone(),
        };
        runner::install_interrupt_handler();
        eprintln!(
            "tinykv-lab grade: {} x {}, {} at a time, timeout {}s",
            session::plural(running.len(), "test"),
            session::plural(args.runs as usize, "run"),
            jobs,
            args.timeout
        );
        session::run_with_progress(&running.specs(args.log_level.as_deref()), &opts, "")
    };
    let interrupted = runner::stop_requested();

    let report = score_plan(
        &plan,
        &selection,
        &records,
        &weights,
        build,
        GradeContext {
            dir: dir.clone(),
            runs: args.runs,
            timeout_secs: args.timeout,
            interrupted,
        },
    );

    let json = args.json.clone().unwrap_or_else(|| out.join("grade.json"));
    let junit = args.junit.clone().unwrap_or_else(|| out.join("grade.xml"));
    let markdown = args
        .markdown
        .clone()
        .unwrap_or_else(|| out.join("GRADE.md"));
    write_file(&json, &(output::json(&report) + "\n"))?;
    write_file(
        &junit,
        &report::junit_report(&junit_records(&report, &records)),
    )?;
    write_file(&markdown, &output::markdown(&report))?;
    session::remove_dir_if_empty(&log_dir);

    print!("{}", output::tables(&report));
    eprintln!("tinykv-lab grade: JSON report: {}", json.display());
    eprintln!("tinykv-lab grade: JUnit report: {}", junit.display());
    eprintln!("tinykv-lab grade: Markdown report: {}", markdown.display());
    if log_dir.exists() {
        eprintln!(
            "tinykv-lab grade: logs of failed runs: {}",
            log_dir.display()
        );
    }
    Ok(report)
}

/// The checkout to grade, made absolute; it must be a cargo project.
fn checkout_dir(dir: &Path) -> Result<PathBuf> {
    if !dir.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    if !dir.join("Cargo.toml").is_file() {
        bail!(
            "{}: no Cargo.toml; grade the root of a tinykv-rs checkout",
            dir.display()
        );
    }
    dir.canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))
}

/// The projects to grade, in the order given, each once.
pub fn graded_projects(asked: &[Project]) -> Vec<Project> {
    if asked.is_empty() {
        return Project::milestones().collect();
    }
    let mut out: Vec<Project> = Vec::new();
    for p in asked {
        if !out.contains(p) {
            out.push(*p);
        }
    }
    out
}

/// Removes the logs an earlier grading left (`*.log` in our own `logs`
/// directory), so the directory holds this grading's failures only.
fn clear_old_logs(log_dir: &Path) {
    let Ok(entries) = fs::read_dir(log_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "log") && path.is_file() {
            let _ = fs::remove_file(path);
        }
    }
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Builds the checkout and pins the test binaries it will run.
///
/// Cargo gives every copy of one workspace the same artifact names (its
/// hashes take a path package's place relative to the workspace root), so
/// two trees built with one shared `CARGO_TARGET_DIR` (a solution and a
/// skeleton, or two students) overwrite each other's test binaries. Graders
/// therefore build one at a time under a lock in the target directory, and
/// each links (or copies) its binaries into its own `bin/` before letting
/// go: the runs that follow use those, whatever is built meanwhile.
fn build_and_pin(dir: &Path, bin_dir: &Path) -> Result<(Vec<TestBinary>, BuildReport)> {
    let target = discover::target_directory_of(dir).unwrap_or_else(|| dir.join("target"));
    fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
    let _lock = TargetLock::acquire(&target.join(".tinykv-lab-grade.lock"))?;
    forget_other_copies(dir)?;
    let (binaries, build) = build_checkout(dir)?;
    let binaries = pin(binaries, bin_dir)?;
    Ok((binaries, build))
}

/// Removes the workspace members' artifacts from the target directory
/// before a build.
///
/// For the same reason as above, cargo judges another copy's artifacts
/// fresh for this one when they are newer than this tree's files: a
/// student's checkout older than the solution's last build would be graded
/// with the solution's binaries. Cleaning the members (never the
/// dependencies, and not the lab itself, which may be what runs us) makes
/// the build compile this tree.
fn forget_other_copies(dir: &Path) -> Result<()> {
    let members: Vec<String> = match discover::workspace_members(dir) {
        Ok(members) => members
            .into_iter()
            .filter(|m| m.as_str() != LAB_PACKAGE)
            .collect(),
        // A manifest cargo cannot read fails the build below, with its error.
        Err(_) => return Ok(()),
    };
    if members.is_empty() {
        return Ok(());
    }
    let mut cmd = std::process::Command::new(discover::cargo());
    cmd.current_dir(dir).args(["clean", "--release", "--quiet"]);
    for m in &members {
        cmd.args(["-p", m]);
    }
    let status = cmd
        .status()
        .with_context(|| format!("running cargo clean in {}", dir.display()))?;
    if !status.success() {
        bail!("cargo clean of the workspace members failed ({status})");
    }
    Ok(())
}

/// An exclusive `flock` on a file, held until dropped.
struct TargetLock {
    _file: fs::File,
}

impl TargetLock {
    fn acquire(path: &Path) -> Result<TargetLock> {
        use std::os::unix::io::AsRawFd;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: flock on a descriptor we own; it is released on close.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            eprintln!(
                "tinykv-lab grade: another grading holds {}; waiting for it",
                path.display()
            );
            // SAFETY: as above, now blocking.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                bail!(
                    "locking {}: {}",
                    path.display(),
                    std::io::Error::last_os_error()
                );
            }
        }
        Ok(TargetLock { _file: file })
    }
}

/// Hard-links (or, across file systems, copies) each binary into `bin_dir`
/// and points the binary at its pinned copy. A rebuild replaces a linked
/// file rather than writing into it, so the pinned copy stays as built.
fn pin(binaries: Vec<TestBinary>, bin_dir: &Path) -> Result<Vec<TestBinary>> {
    if bin_dir.exists() {
        fs::remove_dir_all(bin_dir).with_context(|| format!("clearing {}", bin_dir.display()))?;
    }
    fs::create_dir_all(bin_dir).with_context(|| format!("creating {}", bin_dir.display()))?;
    binaries
        .into_iter()
        .map(|mut b| {
            let name = b
                .exe
                .file_name()
                .context("a test binary without a file name")?;
            let pinned = bin_dir.join(name);
            if fs::hard_link(&b.exe, &pinned).is_err() {
                fs::copy(&b.exe, &pinned)
                    .with_context(|| format!("copying {}", b.exe.display()))?;
            }
            b.exe = pinned;
            Ok(b)
        })
        .collect()
}

/// Builds the checkout's test binaries: the whole workspace at once, and if
/// that fails, each workspace member alone, so that what compiles is still
/// graded. Only a cargo that cannot be run at all is an error.
fn build_checkout(dir: &Path) -> Result<(Vec<TestBinary>, BuildReport)> {
    eprintln!(
        "tinykv-lab grade: building the tests in {} (cargo test --release --no-run --workspace) ...",
        dir.display()
    );
    let whole = discover::build(dir, &[])?;
    if whole.ok {
        return Ok((
            whole.binaries,
            BuildReport {
                mode: "workspace".into(),
                ok: true,
                failed: Vec::new(),
            },
        ));
    }
    let first = whole
        .first_error
        .unwrap_or_else(|| format!("cargo failed ({})", whole.status));
    eprintln!(
        "tinykv-lab grade: the workspace did not build ({first}); building each package alone"
    );
    let members = match discover::workspace_members(dir) {
        Ok(members) => members,
        Err(e) => {
            eprintln!("tinykv-lab grade: {e:#}; every test fails to build");
            return Ok((
                Vec::new(),
                BuildReport {
                    mode: "workspace".into(),
                    ok: false,
                    failed: vec![BuildFailure {
                        package: None,
                        error: first,
                    }],
                },
            ));
        }
    };
    let mut binaries: Vec<TestBinary> = Vec::new();
    let mut failed = Vec::new();
    for member in members.into_iter().filter(|m| m.as_str() != LAB_PACKAGE) {
        eprintln!(
            "tinykv-lab grade: building {member} (cargo test --release --no-run -p {member}) ..."
        );
        let built = discover::build(dir, std::slice::from_ref(&member))?;
        if built.ok {
            for b in built.binaries {
                if !binaries.iter().any(|x| x.exe == b.exe) {
                    binaries.push(b);
                }
            }
        } else {
            let error = built
                .first_error
                .unwrap_or_else(|| format!("cargo failed ({})", built.status));
            eprintln!("tinykv-lab grade: {member} did not build: {error}");
            failed.push(BuildFailure {
                package: Some(member),
                error,
            });
        }
    }
    Ok((
        binaries,
        BuildReport {
            mode: "per-package".into(),
            ok: false,
            failed,
        },
    ))
}

/// The package of a group of the Go test catalogue, in tinykv-rs's layout.
pub fn catalogue_package(group: &str) -> &'static str {
    match group {
        "raft" => "raft",
        "raftstore" => ROOT_PACKAGE,
        _ => "kv", // server-1 (kv/src/server) and kv-unit
    }
}

/// Every test of the official suite with its package.
fn catalogue_tests() -> Vec<(&'static str, &'static str)> {
    crate::goref::catalogue()
        .map(|(name, group)| (name, catalogue_package(group)))
        .collect()
}

/// Where a graded test's result comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Found: the test at this index of the selection, to be run.
    Case(usize),
    /// Expected but absent, for this reason (the test's failure line).
    Missing(String),
}

/// A test to grade in a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTest {
    /// The Go name, which weights go by.
    pub go_name: String,
    /// The name in tables and reports.
    pub name: String,
    pub source: Source,
}

/// A project and the tests it is graded on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedProject {
    pub project: Project,
    pub tests: Vec<PlannedTest>,
}

/// Which tests each project is graded on: those of the selection its
/// pattern accepts, then the `expected` ones (name, package) it accepts
/// that were not found, each with the reason it is missing.
pub fn plan(
    projects: &[Project],
    selection: &Selection,
    expected: &[(&str, &str)],
    build: &BuildReport,
) -> Vec<PlannedProject> {
    projects
        .iter()
        .map(|&project| {
            let pattern = Regex::new(project.pattern()).expect("project patterns are valid");
            let mut tests: Vec<PlannedTest> = selection
                .cases
                .iter()
                .zip(&selection.names)
                .enumerate()
                .filter(|(_, (c, _))| pattern.is_match(c.name()))
                .map(|(i, (c, name))| PlannedTest {
                    go_name: c.name().to_string(),
                    name: name.clone(),
                    source: Source::Case(i),
                })
                .collect();
            for &(name, package) in expected {
                if !pattern.is_match(name) || tests.iter().any(|t| t.go_name == name) {
                    continue;
                }
                let reason = match build.failure_for(package) {
                    Some(f) => format!("build failed: {}", f.error),
                    None => format!(
                        "not found in the built tests of package {package} (removed, renamed or #[ignore]d?)"
                    ),
                };
                tests.push(PlannedTest {
                    go_name: name.to_string(),
                    name: name.to_string(),
                    source: Source::Missing(reason),
                });
            }
            PlannedProject { project, tests }
        })
        .collect()
}

/// The settings a grading ran under, for the report.
#[derive(Debug, Clone)]
pub struct GradeContext {
    pub dir: PathBuf,
    pub runs: u32,
    pub timeout_secs: u64,
    pub interrupted: bool,
}

/// Scores the plan from the run records.
pub fn score_plan(
    plan: &[PlannedProject],
    selection: &Selection,
    records: &[RunRecord],
    weights: &Weights,
    build: BuildReport,
    ctx: GradeContext,
) -> GradeReport {
    let mut by_name: HashMap<&str, Vec<&RunRecord>> = HashMap::new();
    for r in records {
        by_name.entry(r.name.as_str()).or_default().push(r);
    }
    let mut seeds: HashMap<PathBuf, Option<String>> = HashMap::new();
    let mut projects = Vec::new();
    let mut totals: Vec<(f64, f64)> = Vec::new();
    for p in plan {
        let pw = weights.project(p.project);
        let mut tests = Vec::new();
        let mut missing = 0;
        for t in &p.tests {
            let weight = pw.test_weight(&t.go_name);
            let mut grade = TestGrade {
                name: t.name.clone(),
                tally: score::Tally {
                    weight,
                    runs: 0,
                    passed: 0,
                },
                score: 0.0,
                first_failure: None,
                log: None,
                seed: None,
                binary: None,
            };
            match &t.source {
                Source::Missing(reason) => {
                    missing += 1;
                    grade.first_failure = Some(reason.clone());
                }
                Source::Case(i) => {
                    let case = &selection.cases[*i];
                    grade.binary = Some((case.binary.label(), case.path.clone()));
                    let mut runs = by_name.get(t.name.as_str()).cloned().unwrap_or_default();
                    runs.sort_by_key(|r| r.run);
                    grade.tally.runs = runs.len() as u32;
                    grade.tally.passed = runs.iter().filter(|r| r.passed()).count() as u32;
                    if let Some(failed) = runs.iter().find(|r| !r.passed()) {
                        grade.first_failure =
                            Some(failed.failure.clone().unwrap_or_else(|| "failed".into()));
                        grade.log = failed.log.clone();
                        if let Some(log) = &failed.log {
                            grade.seed = seeds
                                .entry(log.clone())
                                .or_insert_with(|| find_seed(log))
                                .clone();
                        }
                    } else if runs.is_empty() {
                        grade.first_failure = Some("not run (interrupted)".into());
                    }
                }
            }
            let Tally { runs, passed, .. } = grade.tally;
            grade.score = score::round2(score::test_score(passed, runs));
            tests.push(grade);
        }
        let tallies: Vec<Tally> = tests.iter().map(|t| t.tally).collect();
        let raw = score::project_score(&tallies, pw.all_or_nothing);
        let mut notes = Vec::new();
        if tests.is_empty() {
            notes.push(format!(
                "no tests found (project {} tests match {})",
                p.project,
                p.project.pattern()
            ));
        } else if tallies.iter().all(|t| t.weight == 0.0) {
            notes.push("every test weighs 0".to_string());
        }
        if missing > 0 {
            notes.push(format!(
                "{} not built or not found",
                session::plural(missing, "test")
            ));
        }
        if pw.all_or_nothing {
            notes.push("all or nothing".to_string());
        }
        totals.push((pw.weight, raw));
        projects.push(ProjectGrade {
            name: p.project.name().to_string(),
            score: score::round2(raw),
            weight: pw.weight,
            all_or_nothing: pw.all_or_nothing,
            notes,
            tests,
        });
    }
    GradeReport {
        total: score::round2(score::total_score(&totals)),
        projects,
        build,
        dir: ctx.dir,
        runs: ctx.runs,
        timeout_secs: ctx.timeout_secs,
        interrupted: ctx.interrupted,
    }
}

static SEED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"TINYKV_SEED=(\d+)").unwrap());

/// The first replay seed (`TINYKV_SEED=<n>`, printed by the raftstore
/// suites) in a log, read line by line: logs can be large.
pub fn find_seed(log: &Path) -> Option<String> {
    let mut reader = BufReader::new(fs::File::open(log).ok()?);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).ok()? == 0 {
            return None;
        }
        let line = String::from_utf8_lossy(&buf);
        if let Some(c) = SEED.captures(&line) {
            return Some(c[1].to_string());
        }
    }
}

/// The records for the JUnit report: every run made, plus one failed
/// record for each test that never ran (did not build, was not found), so
/// that those show up as failures too.
pub fn junit_records(report: &GradeReport, records: &[RunRecord]) -> Vec<RunRecord> {
    let mut out = records.to_vec();
    let mut seen: BTreeSet<&str> = records.iter().map(|r| r.name.as_str()).collect();
    for t in report.projects.iter().flat_map(|p| &p.tests) {
        if t.tally.runs == 0 && seen.insert(t.name.as_str()) {
            out.push(RunRecord {
                name: t.name.clone(),
                binary: t
                    .binary
                    .as_ref()
                    .map_or_else(|| "not built".to_string(), |(b, _)| b.clone()),
                side: crate::runner::Side::Rust,
                run: 1,
                status: Status::Failed,
                seconds: 0.0,
                failure: t.first_failure.clone(),
                log: None,
                max_rss_kib: None,
                cpu_secs: None,
                reported_secs: None,
                ops: None,
                virtual_secs: None,
                seed: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::TestCase;
    use std::sync::Arc;

    fn selection(names: &[(&str, &str)]) -> Selection {
        Selection::from_cases(
            names
                .iter()
                .map(|(package, path)| TestCase {
                    binary: Arc::new(TestBinary {
                        exe: PathBuf::from(format!("/bin/{package}")),
                        package: package.to_string(),
                        target: package.to_string(),
                        cwd: None,
                    }),
                    path: path.to_string(),
                })
                .collect(),
        )
    }

    fn record(name: &str, run: u32, passed: bool) -> RunRecord {
        RunRecord {
            name: name.into(),
            binary: "b".into(),
            side: crate::runner::Side::Rust,
            run,
            status: if passed {
                Status::Passed
            } else {
                Status::Failed
            },
            seconds: 0.1,
            failure: (!passed).then(|| format!("{name} failed on run {run}")),
            log: None,
            max_rss_kib: None,
            reported_secs: None,
            ops: None,
            virtual_secs: None,
            cpu_secs: None,
            seed: None,
        }
    }

    fn ctx() -> GradeContext {
        GradeContext {
            dir: PathBuf::from("/student"),
            runs: 2,
            timeout_secs: 600,
            interrupted: false,
        }
    }

    /// Scores a plan as a grading over prebuilt binaries would.
    fn prebuilt_score(
        plan: &[PlannedProject],
        sel: &Selection,
        records: &[RunRecord],
        weights: &Weights,
    ) -> GradeReport {
        score_plan(plan, sel, records, weights, BuildReport::prebuilt(), ctx())
    }

    #[test]
    fn default_projects_and_duplicates() {
        let names: Vec<_> = graded_projects(&[]).iter().map(|p| p.name()).collect();
        assert_eq!(names, ["1", "2a", "2b", "2c", "3a", "3b", "4a", "4b", "4c"]);
        assert_eq!(
            graded_projects(&[Project::P3b, Project::P2b, Project::P3b]),
            [Project::P3b, Project::P2b]
        );
    }

    #[test]
    fn the_catalogue_maps_to_tinykv_rs_packages() {
        let tests = catalogue_tests();
        let package = |n: &str| tests.iter().find(|(t, _)| *t == n).unwrap().1;
        assert_eq!(package("TestLeaderElection2AA"), "raft");
        assert_eq!(package("TestOneSplit3B"), "tinykv");
        assert_eq!(package("TestRawGet1"), "kv");
    }

    #[test]
    fn the_example_weights_name_real_tests() {
        let w = Weights::parse(include_str!("../../grade-weights.example.toml")).unwrap();
        let names: Vec<&str> = crate::goref::catalogue().map(|(n, _)| n).collect();
        for p in Project::milestones() {
            let pattern = Regex::new(p.pattern()).unwrap();
            let known = names.iter().copied().filter(|n| pattern.is_match(n));
            w.project(p).check_tests(p, known).unwrap();
        }
    }

    #[test]
    fn plan_takes_found_tests_and_marks_missing_ones() {
        let sel = selection(&[
            ("raft", "raft_test::TestA2AA"),
            ("tinykv", "TestBasic2B"),
            ("kv", "server::TestRawGet1"),
        ]);
        let expected = [
            ("TestA2AA", "raft"),
            ("TestB2AA", "raft"),
            ("TestBasic2B", "tinykv"),
            ("TestConcurrent2B", "tinykv"),
        ];
        let build = BuildReport {
            mode: "per-package".into(),
            ok: false,
            failed: vec![BuildFailure {
                package: Some("tinykv".into()),
                error: "error[E0425]: boom (tests/x.rs:1:1)".into(),
            }],
        };
        let plan = plan(
            &[Project::P2aa, Project::P2b, Project::P3a],
            &sel,
            &expected,
            &build,
        );
        let aa = &plan[0].tests;
        assert_eq!(aa[0].source, Source::Case(0));
        assert_eq!(aa[1].go_name, "TestB2AA");
        assert!(
            matches!(&aa[1].source, Source::Missing(r) if r.starts_with("not found in the built tests of package raft"))
        );
        let b = &plan[1].tests;
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].source, Source::Case(1));
        assert_eq!(
            b[1].source,
            Source::Missing("build failed: error[E0425]: boom (tests/x.rs:1:1)".into())
        );
        assert!(plan[2].tests.is_empty());
    }

    #[test]
    fn scores_from_records() {
        let sel = selection(&[
            ("tinykv", "TestBasic2B"),
            ("tinykv", "TestFlaky2B"),
            ("tinykv", "TestOneSplit3B"),
        ]);
        let plan = plan(
            &[Project::P2b, Project::P3b, Project::P2c],
            &sel,
            &[("TestGone3B", "tinykv")],
            &BuildReport::prebuilt(),
        );
        let records = [
            record("TestBasic2B", 1, true),
            record("TestBasic2B", 2, true),
            record("TestFlaky2B", 1, true),
            record("TestFlaky2B", 2, false),
            record("TestOneSplit3B", 1, true),
            record("TestOneSplit3B", 2, true),
        ];
        let weights =
            Weights::parse("[projects.2b]\nweight = 3\n[projects.2b.tests]\nTestBasic2B = 3\n")
                .unwrap();
        let r = prebuilt_score(&plan, &sel, &records, &weights);
        let b = &r.projects[0];
        // (3 * 100 + 1 * 50) / 4
        assert_eq!(b.score, 87.5);
        assert_eq!(b.weight, 3.0);
        assert_eq!((b.tests[1].tally.runs, b.tests[1].tally.passed), (2, 1));
        assert_eq!(b.tests[1].score, 50.0);
        assert_eq!(
            b.tests[1].first_failure.as_deref(),
            Some("TestFlaky2B failed on run 2")
        );
        let split = &r.projects[1];
        assert_eq!(split.score, 50.0, "the missing test scores 0");
        assert_eq!(
            split.tests[1].first_failure.as_deref(),
            Some(
                "not found in the built tests of package tinykv (removed, renamed or #[ignore]d?)"
            )
        );
        assert_eq!(split.notes, ["1 test not built or not found"]);
        let c = &r.projects[2];
        assert_eq!(c.score, 0.0);
        assert!(c.notes[0].starts_with("no tests found"), "{:?}", c.notes);
        // (3 * 87.5 + 1 * 50 + 1 * 0) / 5
        assert_eq!(r.total, 62.5);

        let junit = junit_records(&r, &records);
        assert_eq!(junit.len(), records.len() + 1);
        assert_eq!(junit.last().unwrap().name, "TestGone3B");
    }

    #[test]
    fn all_or_nothing_project() {
        let sel = selection(&[("tinykv", "TestBasic2B"), ("tinykv", "TestFlaky2B")]);
        let plan = plan(&[Project::P2b], &sel, &[], &BuildReport::prebuilt());
        let weights = Weights::parse("[projects.2b]\nall_or_nothing = true\n").unwrap();
        let records = [
            record("TestBasic2B", 1, true),
            record("TestFlaky2B", 1, true),
            record("TestFlaky2B", 2, false),
        ];
        let r = prebuilt_score(&plan, &sel, &records, &weights);
        assert_eq!(r.projects[0].score, 0.0);
        assert!(r.projects[0].notes.contains(&"all or nothing".to_string()));
        let r = prebuilt_score(&plan, &sel, &records[..2], &weights);
        assert_eq!(r.projects[0].score, 100.0);
        assert_eq!(r.total, 100.0);
    }

    #[test]
    fn seeds_are_found_in_logs() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        fs::write(
            &log,
            b"running 1 test\n\xff\xfe noise\nTINYKV_SEED=1234567\nTINYKV_SEED=9\n",
        )
        .unwrap();
        assert_eq!(find_seed(&log).as_deref(), Some("1234567"));
        fs::write(&log, "no seed here\n").unwrap();
        assert_eq!(find_seed(&log), None);
        assert_eq!(find_seed(&dir.path().join("missing.log")), None);
    }
}
