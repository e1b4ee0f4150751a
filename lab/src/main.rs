//! `tinykv-lab`: run TinyKV's lab suites N times and show pass rates, or
//! grade a checkout.
//!
//! ```text
//! cargo run --release --bin tinykv-lab -- 3b --runs 30
//! cargo run --release --bin tinykv-lab -- --run '^TestOneSplit3B$' --runs 10 --junit j.xml
//! cargo run --release --bin tinykv-lab -- grade ../student --projects 2b,3b --runs 3
//! cargo run --release --bin tinykv-lab -- skeleton ../student --solved 1,2a
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use tinykv_lab::course::cli::{self, PartsArgs, SkeletonArgs};
use tinykv_lab::discover;
use tinykv_lab::goref::{self, GoRef};
use tinykv_lab::grade::{self, GradeArgs};
use tinykv_lab::html;
use tinykv_lab::report;
use tinykv_lab::runner::{self, RunOptions, RunRecord, RunSpec};
use tinykv_lab::session::{self, plural, Selection};
use tinykv_lab::sim::SimArgs;
use tinykv_lab::{Project, Selector};

/// Run TinyKV lab tests many times and print a pass-rate table
/// (`tinykv-lab 3b --runs 30`), or grade a checkout (`tinykv-lab grade DIR`).
#[derive(Debug, Parser)]
#[command(name = "tinykv-lab", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// With no subcommand: run tests and print their pass rates.
    #[command(flatten)]
    run: Args,
}

/// What `tinykv-lab` can do besides its plain run. A new tool is a new
/// variant here and an arm in `main`.
#[derive(Debug, Subcommand)]
enum Command {
    /// Grade a checkout: build its tests, run each test of the chosen
    /// projects N times, and score the pass rates (table, JSON, JUnit,
    /// Markdown).
    Grade(GradeArgs),
    /// Write a student repository from the solution: every marked region
    /// not released as solved becomes its stub (`todo!("2B: ...")`).
    Skeleton(SkeletonArgs),
    /// Write docs/course/PARTS.md, the list of marked student regions.
    Parts(PartsArgs),
    /// Sweep seeds of the simulated twins (`sim::TestX`, tests/sim.rs):
    /// each twin once per seed, in parallel; list the failing seeds.
    Sim(SimArgs),
}

/// The plain run: which tests, how many runs, which reports.
#[derive(Debug, clap::Args)]
struct Args {
    /// Projects to run: 1, 2a, 2aa, 2ab, 2ac, 2b, 2c, 3a, 3b, 4a, 4b, 4c, all
    /// (default: all, unless --run is given).
    #[arg(value_name = "PROJECT")]
    projects: Vec<Project>,

    /// Only tests whose Go name matches this regex (e.g. '^TestOneSplit3B$').
    #[arg(long, value_name = "REGEX")]
    run: Option<String>,

    /// Print the selected tests and their binaries; run nothing.
    #[arg(long)]
    list: bool,

    /// Runs of each test.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,

    /// Runs at a time [default: 1 if any raftstore cluster test is
    /// selected, else the number of CPUs].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,

    /// Seconds before a run is killed (Go's default test timeout).
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,

    /// LOG_LEVEL for the test processes, ours and Go's (default: inherited;
    /// Go's falls back to `fatal`, as in the Go Makefile).
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,

    /// Write a JUnit XML report (one testcase per run).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,

    /// Write a JSON report (one record per run).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Write a self-contained HTML page: the table and a strip plot of
    /// every run's wall time per test, failures linked to their logs.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,

    /// Where failed runs' logs are kept [default: target/lab/<timestamp>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Also run the same tests in a Go TinyKV checkout and compare.
    #[arg(long, value_name = "DIR")]
    go_ref: Option<PathBuf>,

    /// The `go` binary for --go-ref [default: `go` on PATH].
    #[arg(long, value_name = "PATH", requires = "go_ref")]
    go: Option<PathBuf>,

    /// Build only these packages' tests instead of the whole workspace.
    #[arg(short, long = "package", value_name = "PKG")]
    packages: Vec<String>,

    /// Use these already-built test binaries instead of building with cargo.
    #[arg(long = "binary", value_name = "EXE")]
    binaries: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => lab(cli.run),
        Some(Command::Grade(args)) => grade_checkout(&args),
        Some(Command::Skeleton(args)) => cli::skeleton(&args).map(|()| ExitCode::SUCCESS),
        Some(Command::Sim(args)) => tinykv_lab::sim::sweep(&args),
        Some(Command::Parts(args)) => cli::parts(&args).map(|current| {
            if current {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tinykv-lab: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `tinykv-lab grade`: 0 whenever the grading completed, whatever the
/// score; 130 after Ctrl-C; errors (exit 2) are the grader's own.
fn grade_checkout(args: &GradeArgs) -> Result<ExitCode> {
    let report = grade::grade(args)?;
    Ok(if report.interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// The Go reference's part of a session, ready before any timed run.
struct GoPlan {
    /// One run spec per selected test Go has and could build.
    specs: Vec<RunSpec>,
    /// The failed runs of tests whose Go package does not compile.
    unbuilt: Vec<RunRecord>,
    /// Selected tests Go does not have: `n/a`.
    not_in_go: BTreeSet<String>,
    /// `<out>/go`: Go's failed logs; `bin/` and `tmp/` under it go away.
    dir: PathBuf,
}

impl GoPlan {
    /// Builds each needed Go package's test binary once (`go test -c`)
    /// and makes the run specs. A build that fails for the environment's
    /// sake (modules, vendoring, toolchain) is an error: the Go side could
    /// not be run at all. One that fails in the compiler makes that
    /// package's tests' Go runs failures.
    fn prepare(
        go: &GoRef,
        selection: &Selection,
        runs: u32,
        log_level: Option<&str>,
        out_dir: &Path,
    ) -> Result<GoPlan> {
        let dir = out_dir.join("go");
        let (bin_dir, tmp_root) = (dir.join("bin"), dir.join("tmp"));
        for d in [&dir, &bin_dir, &tmp_root] {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        let packages = goref::packages_of(selection.cases.iter().map(|c| c.name()));
        let mut builds = Vec::new();
        if !packages.is_empty() {
            eprintln!(
                "tinykv-lab: building the Go test binaries (go test -c): {}",
                packages.join(", ")
            );
            builds = go.build(&packages, &bin_dir, &dir);
        }
        for b in &builds {
            match &b.binary {
                Ok(_) => eprintln!(
                    "tinykv-lab:   go test -c ./{}: {:.1}s",
                    b.package, b.seconds
                ),
                Err(f) => {
                    let log = f
                        .log
                        .as_ref()
                        .map(|l| format!(" (log: {})", l.display()))
                        .unwrap_or_default();
                    if f.environment {
                        let _ = std::fs::remove_dir_all(&bin_dir);
                        bail!(
                            "--go-ref {}: go test -c ./{} failed, not in the code but in the \
                             setup (modules, vendoring, GOFLAGS, toolchain): {}{log}",
                            go.dir.display(),
                            b.package,
                            f.failure
                        );
                    }
                    eprintln!(
                        "tinykv-lab: the Go package {} does not compile; its tests' Go runs \
                         fail: {}{log}",
                        b.package, f.failure
                    );
                }
            }
        }
        // LOG_LEVEL: ours if given, else the inherited one, else Go's
        // Makefile's `fatal`.
        let level = log_level
            .map(str::to_string)
            .or_else(|| std::env::var("LOG_LEVEL").ok())
            .unwrap_or_else(|| "fatal".to_string());
        let mut plan = GoPlan {
            specs: Vec::new(),
            unbuilt: Vec::new(),
            not_in_go: BTreeSet::new(),
            dir,
        };
        for (case, name) in selection.cases.iter().zip(&selection.names) {
            let build =
                goref::package(case.name()).and_then(|p| builds.iter().find(|b| b.package == p));
            match build {
                None => {
                    plan.not_in_go.insert(name.clone());
                }
                Some(build) => match go.spec(name, case.name(), build, &level, &tmp_root) {
                    Some(spec) => plan.specs.push(spec),
                    None => plan
                        .unbuilt
                        .extend(goref::unbuilt_records(name, build, runs)),
                },
            }
        }
        Ok(plan)
    }

    /// Removes the binaries and the (by now empty) temp root.
    fn clean_up(&self) {
        let _ = std::fs::remove_dir_all(self.dir.join("bin"));
        session::remove_dir_if_empty(&self.dir.join("tmp"));
    }
}

/// `1 test, 3 runs each, 1 run at a time, timeout 600s`.
fn header_line(tests: usize, runs: u32, jobs: usize, timeout: u64) -> String {
    format!(
        "{}, {} each, {} at a time, timeout {timeout}s",
        plural(tests, "test"),
        plural(runs as usize, "run"),
        plural(jobs, "run"),
    )
}

fn lab(args: Args) -> Result<ExitCode> {
    let selector = Selector::new(&args.projects, args.run.as_deref()).context("bad --run regex")?;
    // Check the Go side before anything else, so a wrong checkout or a
    // missing toolchain is said at once (exit 2), not after our runs.
    let go = match &args.go_ref {
        None => None,
        Some(dir) => {
            let wanted = goref::packages_of(
                goref::catalogue()
                    .map(|(name, _)| name)
                    .filter(|name| selector.matches(name)),
            );
            let go = GoRef::check(args.go.as_deref(), dir, &wanted)?;
            eprintln!(
                "tinykv-lab: Go reference: {} ({}, {})",
                go.dir.display(),
                go.version,
                go.go.display()
            );
            Some(go)
        }
    };

    let binaries = if args.binaries.is_empty() {
        eprintln!("tinykv-lab: building test binaries (cargo test --release --no-run) ...");
        discover::build_test_binaries(Path::new("."), &args.packages)?
    } else {
        session::given_binaries(&args.binaries)
    };
    let selection = Selection::list(binaries, |name| selector.matches(name))?;
    if selection.is_empty() {
        bail!("no test matches the selection");
    }

    if args.list {
        selection.print_list();
        return Ok(ExitCode::SUCCESS);
    }

    let jobs = args
        .jobs
        .map_or_else(|| selection.default_jobs(), |j| j as usize);
    let out_dir = args.out.clone().unwrap_or_else(session::default_out_dir);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let specs: Vec<RunSpec> = selection.specs(args.log_level.as_deref());
    let opts = RunOptions {
        runs: args.runs,
        jobs,
        timeout: Duration::from_secs(args.timeout),
        log_dir: out_dir.clone(),
    };
    // The Go binaries are built before any timed run, so no run times a
    // build.
    let go_plan = match &go {
        Some(go) => Some(GoPlan::prepare(
            go,
            &selection,
            args.runs,
            args.log_level.as_deref(),
            &out_dir,
        )?),
        None => None,
    };

    runner::install_interrupt_handler();
    let header = header_line(specs.len(), args.runs, jobs, args.timeout);
    eprintln!("tinykv-lab: {header}");
    let records = session::run_with_progress(&specs, &opts, "");

    let go_records = match &go_plan {
        Some(plan) => {
            let mut go_records = Vec::new();
            if !runner::stop_requested() && !plan.specs.is_empty() {
                let go_opts = RunOptions {
                    log_dir: plan.dir.clone(),
                    ..opts.clone()
                };
                eprintln!(
                    "tinykv-lab: the same in the Go reference: {}",
                    header_line(plan.specs.len(), args.runs, jobs, args.timeout)
                );
                go_records = session::run_with_progress(&plan.specs, &go_opts, "go ");
            }
            go_records.extend(plan.unbuilt.iter().cloned());
            plan.clean_up();
            Some(go_records)
        }
        None => None,
    };
    let all: Vec<RunRecord> = records
        .iter()
        .chain(go_records.iter().flatten())
        .cloned()
        .collect();

    if let Some(path) = &args.junit {
        report::write_junit(path, &all).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("tinykv-lab: JUnit report: {}", path.display());
    }
    if let Some(path) = &args.json {
        report::write_json(path, &all).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("tinykv-lab: JSON report: {}", path.display());
    }
    let empty = BTreeSet::new();
    if let Some(path) = &args.html {
        let mut subtitle = format!("{header}; {}", session::utc_now_line());
        if let Some(go) = &go {
            subtitle.push_str(&format!(
                "; Go reference {} ({})",
                go.dir.display(),
                go.version
            ));
        }
        let page = html::Page {
            subtitle,
            ours: &records,
            go: go_records
                .as_deref()
                .map(|g| (g, go_plan.as_ref().map_or(&empty, |p| &p.not_in_go))),
        };
        html::write_html(path, &page).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("tinykv-lab: HTML report: {}", path.display());
    }
    session::remove_dir_if_empty(&out_dir.join("go"));
    session::remove_dir_if_empty(&out_dir);
    if all.iter().any(|r| r.log.is_some()) {
        eprintln!("tinykv-lab: logs of failed runs: {}", out_dir.display());
    }

    let ours = report::summarize(&records);
    let go_side = go_records.as_deref().map(|g| {
        report::GoSide::new(
            g,
            go_plan
                .as_ref()
                .map(|p| p.not_in_go.clone())
                .unwrap_or_default(),
        )
    });
    print!("\n{}", report::format_table(&ours, go_side.as_ref()));
    if runner::stop_requested() {
        println!("interrupted: runs not started were skipped");
    }
    if let Some(cpu) = report::total_cpu_secs(&records) {
        println!("CPU: {cpu:.1} s (user + system) over all runs");
    }
    if let (Some(go_records), Some(go_side)) = (&go_records, &go_side) {
        if let Some(cpu) = report::total_cpu_secs(go_records) {
            println!("Go CPU: {cpu:.1} s (user + system) over all Go runs");
        }
        if let Some(line) = report::ratio_line(&ours, go_side) {
            println!("{line}");
        }
        if !go_side.not_in_go.is_empty() {
            println!(
                "not in Go (n/a): {}",
                go_side
                    .not_in_go
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        println!("ours: {}", report::total_line(&records));
        println!("go reference: {}", report::total_line(go_records));
    }
    // The last line, and the exit status, count both sides' runs.
    println!("{}", report::total_line(&all));

    Ok(session::exit_status(&all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use session::utc_stamp;

    /// The plain-run arguments of a command line without a subcommand.
    fn parse_run(argv: &[&str]) -> Result<Args, clap::Error> {
        let cli = Cli::try_parse_from(argv)?;
        assert!(cli.command.is_none(), "{argv:?} parsed as a subcommand");
        Ok(cli.run)
    }

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(951_782_400 + 3_723), "20000229-010203");
        assert_eq!(utc_stamp(1_767_225_599), "20251231-235959");
    }

    #[test]
    fn header_is_grammatical() {
        assert_eq!(
            header_line(1, 1, 2, 600),
            "1 test, 1 run each, 2 runs at a time, timeout 600s"
        );
        assert_eq!(
            header_line(3, 2, 1, 5),
            "3 tests, 2 runs each, 1 run at a time, timeout 5s"
        );
    }

    #[test]
    fn go_needs_go_ref() {
        assert!(Cli::try_parse_from(["tinykv-lab", "--go", "/usr/bin/go"]).is_err());
        let a = parse_run(&[
            "tinykv-lab",
            "--go-ref",
            "/r",
            "--go",
            "/g/go",
            "--html",
            "x.html",
        ])
        .unwrap();
        assert_eq!(a.go, Some(PathBuf::from("/g/go")));
        assert_eq!(a.html, Some(PathBuf::from("x.html")));
    }

    #[test]
    fn cli_parses() {
        let a = parse_run(&["tinykv-lab", "2aa", "3B", "--runs", "3"]).unwrap();
        assert_eq!(a.projects, [Project::P2aa, Project::P3b]);
        assert_eq!(a.runs, 3);
        assert_eq!(a.timeout, 600);
        assert!(Cli::try_parse_from(["tinykv-lab", "9z"]).is_err());
        assert!(Cli::try_parse_from(["tinykv-lab", "--runs", "0"]).is_err());
    }

    #[test]
    fn the_plain_run_keeps_its_command_line() {
        let a = parse_run(&["tinykv-lab", "--run", "^TestOneSplit3B$"]).unwrap();
        assert_eq!(a.run.as_deref(), Some("^TestOneSplit3B$"));
        assert!(a.projects.is_empty());
        let a = parse_run(&["tinykv-lab", "all"]).unwrap();
        assert_eq!(a.projects, [Project::All]);
        let a = parse_run(&["tinykv-lab", "--list", "-p", "raft", "--go-ref", "/go"]).unwrap();
        assert!(a.list);
        assert_eq!(a.packages, ["raft"]);
        assert_eq!(a.go_ref, Some(PathBuf::from("/go")));
        let a = parse_run(&["tinykv-lab"]).unwrap();
        assert!(a.projects.is_empty() && a.run.is_none());
    }

    #[test]
    fn grade_parses() {
        let cli = Cli::try_parse_from([
            "tinykv-lab",
            "grade",
            "DIR",
            "--projects",
            "2b,3b",
            "--runs",
            "3",
        ])
        .unwrap();
        let Some(Command::Grade(g)) = cli.command else {
            panic!("not the grade subcommand");
        };
        assert_eq!(g.dir, PathBuf::from("DIR"));
        assert_eq!(g.projects, [Project::P2b, Project::P3b]);
        assert_eq!(g.runs, 3);
        assert_eq!(g.timeout, 600);
        assert!(g.weights.is_none() && g.json.is_none() && g.out.is_none());
        let g = Cli::try_parse_from(["tinykv-lab", "grade", "."]).unwrap();
        assert!(matches!(g.command, Some(Command::Grade(ref a)) if a.projects.is_empty()));
        // `all` is every test, not a project to grade.
        assert!(Cli::try_parse_from(["tinykv-lab", "grade", ".", "--projects", "all"]).is_err());
        assert!(Cli::try_parse_from(["tinykv-lab", "grade"]).is_err());
        // Run options do not mix with a subcommand.
        assert!(Cli::try_parse_from(["tinykv-lab", "--runs", "2", "grade", "."]).is_err());
    }

    #[test]
    fn skeleton_and_parts_parse() {
        let cli =
            Cli::try_parse_from(["tinykv-lab", "skeleton", "OUT", "--solved", "1,2a,3B"]).unwrap();
        let Some(Command::Skeleton(s)) = cli.command else {
            panic!("not the skeleton subcommand");
        };
        assert_eq!(s.out, PathBuf::from("OUT"));
        assert_eq!(s.solved, [Project::P1, Project::P2a, Project::P3b]);
        let cli = Cli::try_parse_from(["tinykv-lab", "skeleton", "OUT"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Skeleton(ref s)) if s.solved.is_empty()));
        assert!(Cli::try_parse_from(["tinykv-lab", "skeleton", "OUT", "--solved", "9z"]).is_err());
        let cli = Cli::try_parse_from(["tinykv-lab", "parts", "--check"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Parts(ref p)) if p.check));
    }
}
