//! `tinykv-lab`: run TinyKV's lab suites N times and show pass rates.
//!
//! ```text
//! cargo run --release --bin tinykv-lab -- 3b --runs 30
//! cargo run --release --bin tinykv-lab -- --run '^TestOneSplit3B$' --runs 10 --junit j.xml
//! ```

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use tinykv_lab::discover::{self, TestBinary, TestCase};
use tinykv_lab::report;
use tinykv_lab::runner::{self, RunOptions, RunRecord, RunSpec};
use tinykv_lab::{goref, Project, Selector};

/// Run TinyKV lab tests many times; print a pass-rate table.
#[derive(Debug, Parser)]
#[command(name = "tinykv-lab", version)]
struct Args {
    /// Projects to run: 1, 2a, 2aa, 2ab, 2ac, 2b, 2c, 3a, 3b, all
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
    match lab(Args::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tinykv-lab: {e:#}");
            ExitCode::from(2)
        }
    }
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

    let binaries: Vec<TestBinary> = if args.binaries.is_empty() {
        eprintln!("tinykv-lab: building test binaries (cargo test --release --no-run) ...");
        discover::build_test_binaries(&args.packages)?
    } else {
        args.binaries
            .iter()
            .map(|p| TestBinary::from_path(p))
            .collect()
    };
    let mut cases: Vec<TestCase> = Vec::new();
    for binary in binaries {
        let binary = Arc::new(binary);
        cases.extend(
            discover::list_tests(&binary)?
                .into_iter()
                .filter(|c| selector.matches(c.name())),
        );
    }
    if cases.is_empty() {
        bail!("no test matches the selection");
    }
    let names = display_names(&cases);

    if args.list {
        print_list(&cases, &names);
        return Ok(ExitCode::SUCCESS);
    }

    let jobs = match args.jobs {
        Some(j) => j as usize,
        None if cases.iter().any(TestCase::is_cluster) => 1,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let out_dir = args.out.clone().unwrap_or_else(default_out_dir);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let specs: Vec<RunSpec> = cases
        .iter()
        .zip(&names)
        .map(|(c, n)| RunSpec::libtest(c, n, args.log_level.as_deref()))
        .collect();
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
    let records = run_with_progress(&specs, &opts, "");

    let go_records = match &go {
        Some((go, dir)) if !runner::stop_requested() => {
            let go_specs: Vec<RunSpec> = cases
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
            Some(run_with_progress(&go_specs, &go_opts, "go "))
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
    remove_dir_if_empty(&out_dir.join("go"));
    remove_dir_if_empty(&out_dir);
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

/// Runs with a live progress bar on a terminal. Elsewhere (CI logs) a bar
/// would be noise, but failures are still printed as they happen.
fn run_with_progress(specs: &[RunSpec], opts: &RunOptions, side: &str) -> Vec<RunRecord> {
    let total = specs.len() as u64 * u64::from(opts.runs);
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix}[{elapsed_precise}] {bar:30} {pos}/{len} runs  {msg}  ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(side.to_string());
    bar.set_message("0 ok · 0 failed");
    let interactive = !bar.is_hidden() && std::io::stderr().is_terminal();
    if interactive {
        // Cluster tests take minutes a run: keep the clock and ETA moving.
        bar.enable_steady_tick(Duration::from_millis(500));
    }
    let (mut passed, mut failed) = (0u64, 0u64);
    let records = runner::run(specs, opts, |r| {
        if r.passed() {
            passed += 1;
        } else {
            failed += 1;
            let line = format!(
                "{side}FAIL {}#{} ({:.2}s): {}{}",
                r.name,
                r.run,
                r.seconds,
                r.failure.as_deref().unwrap_or("failed"),
                r.log
                    .as_ref()
                    .map(|l| format!("  [log: {}]", l.display()))
                    .unwrap_or_default()
            );
            if interactive {
                bar.println(line);
            } else {
                eprintln!("{line}");
            }
        }
        bar.set_message(format!("{passed} ok · {failed} failed"));
        bar.inc(1);
    });
    bar.finish_and_clear();
    records
}

/// Table names: the Go name, unless two binaries hold a test of the same
/// name, in which case those are told apart by binary and path.
fn display_names(cases: &[TestCase]) -> Vec<String> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for c in cases {
        *count.entry(c.name()).or_default() += 1;
    }
    cases
        .iter()
        .map(|c| {
            if count[c.name()] == 1 {
                c.name().to_string()
            } else {
                format!("{}::{}", c.binary.label(), c.path)
            }
        })
        .collect()
}

fn print_list(cases: &[TestCase], names: &[String]) {
    let width = names.iter().map(String::len).max().unwrap_or(0);
    for (c, name) in cases.iter().zip(names) {
        let cluster = if c.is_cluster() { "  (cluster)" } else { "" };
        println!(
            "{name:<width$}  {}  {}{cluster}",
            c.binary.label(),
            c.binary.exe.display()
        );
    }
    eprintln!("{} selected", plural(cases.len(), "test"));
}

/// `1 test`, `2 tests`.
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `target/lab/<UTC timestamp>` in the workspace's target directory.
fn default_out_dir() -> PathBuf {
    let target = discover::target_directory().unwrap_or_else(|| PathBuf::from("target"));
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    target.join("lab").join(utc_stamp(secs))
}

/// `YYYYMMDD-HHMMSS` (UTC) for seconds since the epoch; sorts by time.
fn utc_stamp(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Removes `dir` if it is empty: a session with no failures leaves nothing.
fn remove_dir_if_empty(dir: &Path) {
    // remove_dir refuses non-empty directories, which is the point.
    let _ = std::fs::remove_dir(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(951_782_400 + 3_723), "20000229-010203");
        assert_eq!(utc_stamp(1_767_225_599), "20251231-235959");
    }

    #[test]
    fn cli_parses() {
        let a = Args::try_parse_from(["tinykv-lab", "2aa", "3B", "--runs", "3"]).unwrap();
        assert_eq!(a.projects, [Project::P2aa, Project::P3b]);
        assert_eq!(a.runs, 3);
        assert_eq!(a.timeout, 600);
        assert!(Args::try_parse_from(["tinykv-lab", "9z"]).is_err());
        assert!(Args::try_parse_from(["tinykv-lab", "--runs", "0"]).is_err());
    }
}
