//! `tinykv-lab sim`: sweeps seeds of the simulated twins (`sim::TestX` in
//! tests/sim.rs). Each twin runs once per seed, in a process of its own
//! with `SIM_SEED` set — the same run model as every other lab run, the
//! seed being the one thing that differs between runs — and the table
//! lists the seeds that failed, each a run anyone can replay exactly.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::discover::{self, ROOT_PACKAGE};
use crate::report::{self, layout_table, median_of, opt_cell};
use crate::runner::{self, RunOptions, RunRecord, SeedEnv, Status};
use crate::session::{self, plural, Selection};
use crate::Selector;

/// The variable a simulated twin takes its seed from.
pub const SEED_VAR: &str = "SIM_SEED";

/// How many failing seeds a row lists.
const SHOWN_SEEDS: usize = 5;

/// `tinykv-lab sim`'s arguments.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Seeds to run: `A..B` (both included) or one seed.
    #[arg(long, default_value = "1..100", value_parser = parse_seeds)]
    pub seeds: Seeds,

    /// Only twins whose Go name matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub run: Option<String>,

    /// Runs at a time (default: one per CPU; simulated runs are
    /// independent and need no quiet machine).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,

    /// A run still going after this many seconds is killed and fails.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,

    /// Use this test binary instead of building (the `sim` test target).
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,

    /// Where logs of failed runs go (default: `target/lab/<utc stamp>`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Also write a JSON report (every run, with its seed).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Also write a JUnit report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// An inclusive range of seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seeds {
    pub first: u64,
    pub last: u64,
}

impl Seeds {
    /// How many seeds the range holds.
    pub fn count(&self) -> u64 {
        self.last - self.first + 1
    }
}

/// `A..B` (inclusive) or `N`.
pub fn parse_seeds(s: &str) -> Result<Seeds, String> {
    let num = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|_| format!("not a seed: {t:?}"))
    };
    let (first, last) = match s.split_once("..") {
        Some((a, b)) => (num(a)?, num(b.trim_start_matches('='))?),
        None => (num(s)?, num(s)?),
    };
    if last < first {
        return Err(format!("empty range {s:?}"));
    }
    if last - first >= u64::from(u32::MAX) {
        return Err(format!("too many seeds in {s:?}"));
    }
    Ok(Seeds { first, last })
}

/// Runs the sweep; exits 1 if any seed failed, 130 after Ctrl-C.
pub fn sweep(args: &SimArgs) -> Result<ExitCode> {
    let selector = Selector::new(&[], args.run.as_deref()).context("bad --run regex")?;
    let binaries = match &args.binary {
        Some(b) => session::given_binaries(std::slice::from_ref(b)),
        None => {
            eprintln!("tinykv-lab: building test binaries (cargo test --release --no-run) ...");
            discover::build_test_binaries(Path::new("."), &[ROOT_PACKAGE.to_string()])?
        }
    };
    let selection = Selection::list_twins(binaries, |name| selector.matches(name))?;
    if selection.is_empty() {
        bail!("no simulated twin matches the selection (they are `sim::Test…` in tests/sim.rs)");
    }
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |j| j as usize,
    );
    let out_dir = args.out.clone().unwrap_or_else(session::default_out_dir);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let specs: Vec<_> = selection
        .specs(None)
        .into_iter()
        .map(|mut spec| {
            spec.seeds = Some(SeedEnv {
                var: SEED_VAR.to_string(),
                first: args.seeds.first,
            });
            spec
        })
        .collect();
    let opts = RunOptions {
        runs: args.seeds.count() as u32,
        jobs,
        timeout: Duration::from_secs(args.timeout),
        log_dir: out_dir.clone(),
    };
    runner::install_interrupt_handler();
    eprintln!(
        "tinykv-lab: {}, seeds {}..{} ({} each), {} at a time, timeout {}s",
        plural(specs.len(), "simulated test"),
        args.seeds.first,
        args.seeds.last,
        plural(opts.runs as usize, "run"),
        plural(jobs, "run"),
        args.timeout
    );
    let records = session::run_with_progress(&specs, &opts, "sim ");
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
    session::remove_dir_if_empty(&out_dir);
    if records.iter().any(|r| r.log.is_some()) {
        eprintln!("tinykv-lab: logs of failed runs: {}", out_dir.display());
    }
    print!("\n{}", seed_table(&records));
    if let Some(line) = replay_line(&records) {
        println!("{line}");
    }
    if runner::stop_requested() {
        println!("interrupted: seeds not started were skipped");
    }
    if let Some(cpu) = report::total_cpu_secs(&records) {
        println!("CPU: {cpu:.1} s (user + system) over all runs");
    }
    println!("{}", report::total_line(&records));
    Ok(session::exit_status(&records))
}

/// One row per twin: seeds run, failed, median wall, virtual and CPU
/// seconds per seed, the largest peak RSS, and the first failing seeds.
pub fn seed_table(records: &[RunRecord]) -> String {
    let mut by_test: BTreeMap<&str, Vec<&RunRecord>> = BTreeMap::new();
    for r in records {
        by_test.entry(r.name.as_str()).or_default().push(r);
    }
    let cells: Vec<Vec<String>> = by_test
        .iter()
        .map(|(name, runs)| {
            let failing: Vec<u64> = runs
                .iter()
                .filter(|r| r.status != Status::Passed)
                .filter_map(|r| r.seed)
                .collect();
            let mut shown: Vec<String> = failing
                .iter()
                .take(SHOWN_SEEDS)
                .map(u64::to_string)
                .collect();
            if failing.len() > SHOWN_SEEDS {
                shown.push("…".into());
            }
            let median_cell = |secs: fn(&RunRecord) -> Option<f64>| {
                opt_cell(median_of(runs.iter().filter_map(|r| secs(r))), 2)
            };
            let rss = runs.iter().filter_map(|r| r.max_rss_kib).max();
            vec![
                name.to_string(),
                runs.len().to_string(),
                failing.len().to_string(),
                median_cell(|r| Some(r.seconds)),
                median_cell(|r| r.virtual_secs),
                median_cell(|r| r.cpu_secs),
                opt_cell(rss.map(|kib| kib as f64 / 1024.0), 1),
                if shown.is_empty() {
                    "-".into()
                } else {
                    shown.join(" ")
                },
            ]
        })
        .collect();
    layout_table(
        &[
            "TEST",
            "SEEDS",
            "FAILED",
            "MEDIAN s",
            "VIRTUAL s",
            "CPU s",
            "PEAK RSS MiB",
            "FAILING SEEDS",
        ],
        &cells,
    )
}

/// How to replay the first failure, if there is one.
pub fn replay_line(records: &[RunRecord]) -> Option<String> {
    let r = records
        .iter()
        .find(|r| r.status != Status::Passed && r.seed.is_some())?;
    Some(format!(
        "replay the first failure: {SEED_VAR}={} cargo test --release --test sim -- --exact sim::{} --nocapture",
        r.seed?,
        r.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Side;

    fn rec(name: &str, seed: u64, status: Status) -> RunRecord {
        RunRecord {
            name: name.into(),
            binary: "tinykv/sim".into(),
            side: Side::Rust,
            run: (seed - 10) as u32,
            status,
            seconds: seed as f64 / 10.0,
            failure: (status != Status::Passed).then(|| "boom".to_string()),
            log: None,
            max_rss_kib: Some(100 * 1024),
            cpu_secs: Some(0.5),
            reported_secs: None,
            ops: None,
            virtual_secs: Some(seed as f64),
            seed: Some(seed),
        }
    }

    #[test]
    fn seeds_parse_as_ranges_or_one() {
        assert_eq!(
            parse_seeds("1..100"),
            Ok(Seeds {
                first: 1,
                last: 100
            })
        );
        assert_eq!(parse_seeds("7"), Ok(Seeds { first: 7, last: 7 }));
        assert_eq!(parse_seeds("3..=5").map(|s| s.count()), Ok(3));
        assert!(parse_seeds("5..3").is_err());
        assert!(parse_seeds("x").is_err());
    }

    #[test]
    fn the_table_lists_failing_seeds_and_how_to_replay() {
        let records = vec![
            rec("TestA2B", 11, Status::Passed),
            rec("TestA2B", 12, Status::Failed),
            rec("TestA2B", 13, Status::TimedOut),
            rec("TestB3B", 11, Status::Passed),
        ];
        let table = seed_table(&records);
        let row_a = table.lines().find(|l| l.starts_with("TestA2B")).unwrap();
        assert!(row_a.contains(" 3 ") && row_a.ends_with("12 13"), "{row_a}");
        // Seeds 11, 12, 13: median wall 1.20 s, median virtual 12.00 s.
        assert!(
            row_a.contains(" 1.20 ") && row_a.contains(" 12.00 "),
            "{row_a}"
        );
        let header = table.lines().next().unwrap();
        assert!(header.contains("MEDIAN s  VIRTUAL s  CPU s"), "{header}");
        let row_b = table.lines().find(|l| l.starts_with("TestB3B")).unwrap();
        assert!(row_b.ends_with('-'), "{row_b}");
        assert_eq!(
            replay_line(&records).unwrap(),
            "replay the first failure: SIM_SEED=12 cargo test --release --test sim -- --exact sim::TestA2B --nocapture"
        );
    }
}
