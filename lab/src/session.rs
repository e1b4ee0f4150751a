//! The run model every command shares: find the test binaries (build them,
//! or take them as given), list and select their tests, run each selected
//! test N times with a progress display, and hand back one record per run.
//!
//! `tinykv-lab 3b --runs 30` and `tinykv-lab grade DIR` differ only in what
//! they select and what they make of the records; both go through here.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use crate::discover::{self, TestBinary, TestCase};
use crate::runner::{self, RunOptions, RunRecord, RunSpec};

/// The test binaries given on the command line (`--binary EXE`), which
/// replace building.
pub fn given_binaries(paths: &[PathBuf]) -> Vec<TestBinary> {
    paths.iter().map(|p| TestBinary::from_path(p)).collect()
}

/// Tests chosen to run, each with the name the table and reports use.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub cases: Vec<TestCase>,
    /// `names[i]` names `cases[i]`: the Go name, unless two binaries hold a
    /// test of that name (then `package/target::path`).
    pub names: Vec<String>,
}

impl Selection {
    /// Lists the tests of every binary (`#[ignore]`d ones and simulated
    /// twins left out) and keeps those whose Go name `keep` accepts. A binary that cannot list
    /// its tests is an error.
    pub fn list(binaries: Vec<TestBinary>, keep: impl Fn(&str) -> bool) -> Result<Selection> {
        let (selection, failures) = Selection::list_each(binaries, keep);
        match failures.into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(selection),
        }
    }

    /// Like [`Selection::list`], but a binary that cannot list its tests
    /// is set aside with its error and the others are still listed.
    pub fn list_each(
        binaries: Vec<TestBinary>,
        keep: impl Fn(&str) -> bool,
    ) -> (Selection, Vec<(Arc<TestBinary>, anyhow::Error)>) {
        Selection::list_where(binaries, |c| !c.is_simulated_twin() && keep(c.name()))
    }

    /// The simulated twins (`sim::TestX`) whose Go name `keep` accepts; a
    /// binary that cannot list its tests is an error.
    pub fn list_twins(binaries: Vec<TestBinary>, keep: impl Fn(&str) -> bool) -> Result<Selection> {
        let (selection, failures) =
            Selection::list_where(binaries, |c| c.is_simulated_twin() && keep(c.name()));
        match failures.into_iter().next() {
            Some((_, e)) => Err(e),
            None => Ok(selection),
        }
    }

    fn list_where(
        binaries: Vec<TestBinary>,
        keep: impl Fn(&TestCase) -> bool,
    ) -> (Selection, Vec<(Arc<TestBinary>, anyhow::Error)>) {
        let mut cases: Vec<TestCase> = Vec::new();
        let mut failures = Vec::new();
        for binary in binaries {
            let binary = Arc::new(binary);
            match discover::list_tests(&binary) {
                Ok(listed) => cases.extend(listed.into_iter().filter(|c| keep(c))),
                Err(e) => failures.push((binary, e)),
            }
        }
        (Selection::from_cases(cases), failures)
    }

    /// A selection of exactly these tests.
    pub fn from_cases(cases: Vec<TestCase>) -> Selection {
        let names = display_names(&cases);
        Selection { cases, names }
    }

    /// The tests at `indices`, keeping their names.
    pub fn subset(&self, indices: &[usize]) -> Selection {
        Selection {
            cases: indices.iter().map(|&i| self.cases[i].clone()).collect(),
            names: indices.iter().map(|&i| self.names[i].clone()).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// Runs at a time when the user did not say: one if any raftstore
    /// cluster test is selected (they get flaky when they share a small
    /// machine), else one per CPU.
    pub fn default_jobs(&self) -> usize {
        if self.cases.iter().any(TestCase::is_cluster) {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    /// One libtest run spec per selected test.
    pub fn specs(&self, log_level: Option<&str>) -> Vec<RunSpec> {
        self.cases
            .iter()
            .zip(&self.names)
            .map(|(c, n)| RunSpec::libtest(c, n, log_level))
            .collect()
    }

    /// `--list`: name, binary, path, and `(cluster)` for cluster tests.
    pub fn print_list(&self) {
        let width = self.names.iter().map(String::len).max().unwrap_or(0);
        for (c, name) in self.cases.iter().zip(&self.names) {
            let cluster = if c.is_cluster() { "  (cluster)" } else { "" };
            println!(
                "{name:<width$}  {}  {}{cluster}",
                c.binary.label(),
                c.binary.exe.display()
            );
        }
        eprintln!("{} selected", plural(self.cases.len(), "test"));
    }
}

/// Table names: the Go name, unless two binaries hold a test of the same
/// name, in which case those are told apart by binary and path.
pub fn display_names(cases: &[TestCase]) -> Vec<String> {
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

/// Runs every spec `opts.runs` times (see [`runner::run`]) with a live
/// progress bar on a terminal. Elsewhere (CI logs) a bar would be noise, but
/// failures are still printed as they happen. `side` prefixes the bar and
/// the failure lines (`"go "` for the Go reference).
pub fn run_with_progress(specs: &[RunSpec], opts: &RunOptions, side: &str) -> Vec<RunRecord> {
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

/// `1 test`, `2 tests`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `target/lab/<UTC timestamp>` in the workspace's target directory.
pub fn default_out_dir() -> PathBuf {
    let target = discover::target_directory().unwrap_or_else(|| PathBuf::from("target"));
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    target.join("lab").join(utc_stamp(secs))
}

/// `run at 2026-12-02 10:00:00 UTC`, for report headers.
pub fn utc_now_line() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let s = utc_stamp(secs);
    format!(
        "run at {}-{}-{} {}:{}:{} UTC",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    )
}

/// `YYYYMMDD-HHMMSS` (UTC) for seconds since the epoch; sorts by time.
pub fn utc_stamp(secs: u64) -> String {
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
pub fn remove_dir_if_empty(dir: &Path) {
    // remove_dir refuses non-empty directories, which is the point.
    let _ = std::fs::remove_dir(dir);
}

/// The exit status of a run session: 130 after Ctrl-C, 1 if any run
/// failed, else 0.
pub fn exit_status(records: &[RunRecord]) -> std::process::ExitCode {
    let (_, failed) = crate::report::totals(records);
    if crate::runner::stop_requested() {
        std::process::ExitCode::from(130)
    } else if failed > 0 {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_disambiguate_only_clashes() {
        let case = TestCase::fixture;
        let cases = [
            case("raft", "m::TestA2AA"),
            case("kv", "a::TestB"),
            case("tinykv", "b::TestB"),
        ];
        assert_eq!(
            display_names(&cases),
            ["TestA2AA", "kv/t::a::TestB", "tinykv/t::b::TestB"]
        );
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "test"), "1 test");
        assert_eq!(plural(0, "run"), "0 runs");
    }
}
