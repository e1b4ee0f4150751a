//! `tinykv-lab`: run TinyKV's lab suites N times and show pass rates, or
//! grade a checkout.
//!
//! ```text
//! cargo run --release --bin tinykv-lab -- 3b --runs 30
//! cargo run --release --bin tinykv-lab -- --run '^TestOneSplit3B$' --runs 10 --junit j.xml
//! cargo run --release --bin tinykv-lab -- grade ../student --projects 2b,3b --runs 3
//! cargo run --release --bin tinykv-lab -- skeleton ../student --solved 1,2a
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use tinykv_lab::course::cli::{self, PartsArgs, SkeletonArgs};
use tinykv_lab::discover;
use tinykv_lab::grade::{self, GradeArgs};
use tinykv_lab::report;
use tinykv_lab::runner::{self, RunOptions, RunSpec};
use tinykv_lab::session::{self, plural, Selection};
use tinykv_lab::{goref, Project, Selector};

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

    /// LOG_LEVEL for our test processes (default: inherited).
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,

    /// Write a JUnit XML report (one testcase per run).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,

    /// Write a JSON report (one record per run).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,

    /// Where failed runs' logs are kept [default: target/lab/<timestamp>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,

    /// Also run the same tests in a Go TinyKV checkout and compare.
    #[arg(long, value_name = "DIR")]
    go_ref: Option<PathBuf>,

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

fn lab(args: Args) -> Result<ExitCode> {
    let selector = Selector::new(&args.projects, args.run.as_deref()).context("bad --run regex")?;
    // Check the Go side before the long part, so a missing toolchain is
    // said up front rather than after an hour of runs.
    let go = match &args.go_ref {
        None => None,
        Some(dir) => {
            if !dir.is_dir() {
                bail!("--go-ref {}: not a directory", dir.display());
            }
            match goref::find_go() {
                Some(go) => Some((go, dir.clone())),
                None => {
                    eprintln!(
                        "tinykv-lab: --go-ref: no `go` toolchain on PATH; running ours alone"
                    );
                    None
                }
            }
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

    runner::install_interrupt_handler();
    eprintln!(
        "tinykv-lab: {} x {}, {} at a time, timeout {}s",
        plural(specs.len(), "test"),
        plural(args.runs as usize, "run"),
        jobs,
        args.timeout
    );
    let records = session::run_with_progress(&specs, &opts, "");

    let go_records = match &go {
        Some((go, dir)) if !runner::stop_requested() => {
            let go_specs: Vec<RunSpec> = selection
                .cases
                .iter()
                .map(|c| goref::spec(go, dir, c.name()))
                .collect();
            let go_opts = RunOptions {
                log_dir: out_dir.join("go"),
                ..opts.clone()
            };
            std::fs::create_dir_all(&go_opts.log_dir)?;
            eprintln!(
                "tinykv-lab: the same runs in the Go reference at {}",
                dir.display()
            );
            Some(session::run_with_progress(&go_specs, &go_opts, "go "))
        }
        _ => None,
    };

    if let Some(path) = &args.junit {
        report::write_junit(path, &records)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("tinykv-lab: JUnit report: {}", path.display());
    }
    if let Some(path) = &args.json {
        report::write_json(path, &records)
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("tinykv-lab: JSON report: {}", path.display());
    }
    session::remove_dir_if_empty(&out_dir.join("go"));
    session::remove_dir_if_empty(&out_dir);
    let kept = records.iter().chain(go_records.iter().flatten());
    if kept.filter_map(|r| r.log.as_ref()).next().is_some() {
        eprintln!("tinykv-lab: logs of failed runs: {}", out_dir.display());
    }

    let go_summary = go_records.as_deref().map(report::summarize);
    print!(
        "\n{}",
        report::format_table(&report::summarize(&records), go_summary.as_deref())
    );
    if let Some(go_records) = &go_records {
        println!("go reference: {}", report::total_line(go_records));
    }
    if runner::stop_requested() {
        println!("interrupted: runs not started were skipped");
    }
    if let Some(cpu) = report::total_cpu_secs(&records) {
        println!("CPU: {cpu:.1} s (user + system) over all runs");
    }
    println!("{}", report::total_line(&records));

    let (_, failed) = report::totals(&records);
    Ok(if runner::stop_requested() {
        ExitCode::from(130)
    } else if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
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
