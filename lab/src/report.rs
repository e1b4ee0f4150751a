//! What the runner shows and writes: the per-test table, the total line, and
//! the JSON and JUnit reports.
//!
//! The table is for a person at a terminal (the one seed 002 was tabulating
//! by hand); JUnit is for CI systems and graders' tools; JSON is for anyone
//! scripting over many sessions. All three are built from the same run
//! records, so they cannot disagree.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::runner::{RunRecord, Side, Status};

/// How much of a failed run's log goes into its JUnit `<failure>`: the tail,
/// where the panic is. The whole log stays on disk under `--out`.
pub const JUNIT_LOG_TAIL: u64 = 64 * 1024;

/// Longest failure line shown in the table; reports keep the full line.
pub const TABLE_FAILURE_WIDTH: usize = 100;

/// One test's runs, summed up.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub name: String,
    pub runs: u32,
    pub passed: u32,
    pub failed: u32,
    pub median: f64,
    pub max: f64,
    /// The largest peak RSS of any run, in MiB; `None` if none was measured.
    pub peak_rss_mib: Option<f64>,
    /// The median CPU seconds (user + system) of the runs that measured it.
    pub median_cpu_secs: Option<f64>,
    /// The median of the times the test reported for itself (Go's
    /// `--- PASS: Name (…s)`), where runs reported one.
    pub median_reported_secs: Option<f64>,
    /// The median CPU milliseconds per client operation, over the runs
    /// that measured CPU and reported operations (see
    /// [`RunRecord::ops`](crate::runner::RunRecord::ops)).
    pub median_cpu_ms_per_op: Option<f64>,
    /// The failure line of the lowest-numbered failed run.
    pub first_failure: Option<String>,
    /// That run's kept log.
    pub first_failure_log: Option<PathBuf>,
}

/// Sums up records per test, in the order tests first appear.
pub fn summarize(records: &[RunRecord]) -> Vec<Summary> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_name: HashMap<&str, Vec<&RunRecord>> = HashMap::new();
    for r in records {
        by_name
            .entry(&r.name)
            .or_insert_with(|| {
                order.push(&r.name);
                Vec::new()
            })
            .push(r);
    }
    order
        .into_iter()
        .map(|name| {
            let mut runs = by_name.remove(name).unwrap_or_default();
            runs.sort_by_key(|r| r.run);
            let mut secs: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
            secs.sort_by(f64::total_cmp);
            let per_op = runs
                .iter()
                .filter_map(|r| Some(r.cpu_secs? * 1e3 / r.ops.filter(|&n| n > 0)? as f64));
            let passed = runs.iter().filter(|r| r.passed()).count() as u32;
            Summary {
                name: name.to_string(),
                runs: runs.len() as u32,
                passed,
                failed: runs.len() as u32 - passed,
                median: median(&secs),
                max: secs.last().copied().unwrap_or(0.0),
                peak_rss_mib: runs
                    .iter()
                    .filter_map(|r| r.max_rss_kib)
                    .max()
                    .map(|kib| kib as f64 / 1024.0),
                median_cpu_secs: median_of(runs.iter().filter_map(|r| r.cpu_secs)),
                median_reported_secs: median_of(runs.iter().filter_map(|r| r.reported_secs)),
                median_cpu_ms_per_op: median_of(per_op),
                first_failure: runs
                    .iter()
                    .find(|r| !r.passed())
                    .map(|r| r.failure.clone().unwrap_or_else(|| "failed".into())),
                first_failure_log: runs
                    .iter()
                    .find(|r| !r.passed())
                    .and_then(|r| r.log.clone()),
            }
        })
        .collect()
}

/// The median of some values, in any order; `None` if there are none.
pub fn median_of(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut sorted: Vec<f64> = values.collect();
    sorted.sort_by(f64::total_cmp);
    (!sorted.is_empty()).then(|| median(&sorted))
}

/// The median of sorted values (mean of the middle two for an even count).
pub fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Counts passed and failed (including timed-out) runs.
pub fn totals(records: &[RunRecord]) -> (usize, usize) {
    let passed = records.iter().filter(|r| r.passed()).count();
    (passed, records.len() - passed)
}

/// The closing line, alone on its line: `N passed, M failed` over runs.
pub fn total_line(records: &[RunRecord]) -> String {
    let (passed, failed) = totals(records);
    format!("{passed} passed, {failed} failed")
}

/// CPU seconds of all runs that measured it, or `None` if none did.
pub fn total_cpu_secs(records: &[RunRecord]) -> Option<f64> {
    let cpu: Vec<f64> = records.iter().filter_map(|r| r.cpu_secs).collect();
    (!cpu.is_empty()).then(|| cpu.iter().sum())
}

/// `s` cut to `width` characters, the last one `…` if cut.
pub fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(width - 1).collect();
        t.push('…');
        t
    }
}

/// The Go reference's side of a session: its runs' summaries, and the
/// tests Go does not have (`n/a`: not run, not failed).
#[derive(Debug, Clone, Default)]
pub struct GoSide {
    pub summaries: Vec<Summary>,
    pub not_in_go: BTreeSet<String>,
}

impl GoSide {
    pub fn new(records: &[RunRecord], not_in_go: BTreeSet<String>) -> GoSide {
        GoSide {
            summaries: summarize(records),
            not_in_go,
        }
    }

    pub fn get(&self, name: &str) -> Option<&Summary> {
        self.summaries.iter().find(|s| s.name == name)
    }
}

/// What a Go cell holds for a test Go does not have.
pub const NOT_IN_GO: &str = "n/a";

/// A table cell for a value that may be absent (`-`).
pub fn opt_cell(v: Option<f64>, precision: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.precision$}"))
}

/// The table's header and cells (failure lines cut to `width`): ours, and
/// with `go` the Go reference's pass rate, median wall, median of the
/// times Go's tests reported for themselves, median CPU, peak RSS and
/// first failure beside them. The text table and the HTML report
/// both lay out these cells.
pub fn table_cells(
    rows: &[Summary],
    go: Option<&GoSide>,
    width: usize,
) -> (Vec<&'static str>, Vec<Vec<String>>) {
    // CPU per client operation only where some test reported operations.
    let has_ops = |rows: &[Summary]| rows.iter().any(|r| r.median_cpu_ms_per_op.is_some());
    let per_op = has_ops(rows) || go.is_some_and(|g| has_ops(&g.summaries));
    let mut header = vec![
        "TEST", "RUNS", "PASSED", "FAILED", "MEDIAN s", "MAX s", "CPU s",
    ];
    if per_op {
        header.push("CPU ms/op");
    }
    header.push("PEAK RSS MiB");
    if go.is_some() {
        header.extend(["GO PASSED", "GO MEDIAN s", "GO OWN s", "GO CPU s"]);
        if per_op {
            header.push("GO CPU ms/op");
        }
        header.push("GO PEAK RSS MiB");
    }
    header.push("FIRST FAILURE");
    if go.is_some() {
        header.push("GO FIRST FAILURE");
    }
    let failure = |s: &Summary| {
        s.first_failure
            .as_deref()
            .map(|f| truncate(f, width))
            .unwrap_or_default()
    };

    let mut cells: Vec<Vec<String>> = Vec::new();
    for row in rows {
        let mut line = vec![
            row.name.clone(),
            row.runs.to_string(),
            row.passed.to_string(),
            row.failed.to_string(),
            format!("{:.2}", row.median),
            format!("{:.2}", row.max),
            opt_cell(row.median_cpu_secs, 2),
        ];
        if per_op {
            line.push(opt_cell(row.median_cpu_ms_per_op, 3));
        }
        line.push(opt_cell(row.peak_rss_mib, 1));
        let mut go_failure = None;
        if let Some(go) = go {
            match go.get(&row.name) {
                Some(g) => {
                    line.push(format!("{}/{}", g.passed, g.runs));
                    line.push(format!("{:.2}", g.median));
                    line.push(opt_cell(g.median_reported_secs, 2));
                    line.push(opt_cell(g.median_cpu_secs, 2));
                    if per_op {
                        line.push(opt_cell(g.median_cpu_ms_per_op, 3));
                    }
                    line.push(opt_cell(g.peak_rss_mib, 1));
                    go_failure = Some(failure(g));
                }
                None => {
                    let cell = if go.not_in_go.contains(&row.name) {
                        NOT_IN_GO
                    } else {
                        "-"
                    };
                    let go_columns = if per_op { 6 } else { 5 };
                    line.extend(std::iter::repeat_n(cell.to_string(), go_columns));
                    go_failure = Some(String::new());
                }
            }
        }
        line.push(failure(row));
        line.extend(go_failure);
        cells.push(line);
    }
    (header, cells)
}

/// The table: one row per test; with `go`, the Go reference's columns
/// beside ours (see [`table_cells`]).
pub fn format_table(rows: &[Summary], go: Option<&GoSide>) -> String {
    // Two failure columns share the width one had.
    let width = if go.is_some() {
        TABLE_FAILURE_WIDTH * 3 / 5
    } else {
        TABLE_FAILURE_WIDTH
    };
    let (header, cells) = table_cells(rows, go, width);
    layout_table(&header, &cells)
}

/// The closing comparison: ours over Go's summed medians of wall-clock and
/// CPU seconds and summed peak RSS, over the tests both sides ran (a test
/// Go does not have, or whose Go runs never started, is left out).
pub fn ratio_line(ours: &[Summary], go: &GoSide) -> Option<String> {
    let both: Vec<(&Summary, &Summary)> = ours
        .iter()
        .filter_map(|o| Some((o, go.get(&o.name)?)))
        .filter(|(o, g)| o.median_cpu_secs.is_some() && g.median_cpu_secs.is_some())
        .collect();
    if both.is_empty() {
        return None;
    }
    let sum = |f: &dyn Fn(&Summary) -> Option<f64>, side: usize| -> f64 {
        both.iter()
            .filter_map(|pair| f(if side == 0 { pair.0 } else { pair.1 }))
            .sum()
    };
    let ratio = |what: &str, f: &dyn Fn(&Summary) -> Option<f64>, unit: &str| {
        let (o, g) = (sum(f, 0), sum(f, 1));
        if g > 0.0 {
            format!("{what} {:.2}x ({o:.2} / {g:.2} {unit})", o / g)
        } else {
            format!("{what} -")
        }
    };
    let mut line = format!(
        "ours/Go over {} both ran: {}, {}, {}",
        crate::session::plural(both.len(), "test"),
        ratio("wall", &|s| Some(s.median), "s"),
        ratio("CPU", &|s| s.median_cpu_secs, "s"),
        ratio("peak RSS", &|s| s.peak_rss_mib, "MiB"),
    );
    // Per operation: the geometric mean of the per-test ratios, over the
    // tests where both sides reported operations (a sum of milliseconds
    // per operation would weigh tests by nothing in particular).
    let per_op: Vec<f64> = both
        .iter()
        .filter_map(|(o, g)| Some(o.median_cpu_ms_per_op? / g.median_cpu_ms_per_op?))
        .filter(|r| r.is_finite() && *r > 0.0)
        .collect();
    if !per_op.is_empty() {
        let mean = (per_op.iter().map(|r| r.ln()).sum::<f64>() / per_op.len() as f64).exp();
        line.push_str(&format!(
            "; CPU per client operation {mean:.2}x (geometric mean over {})",
            crate::session::plural(per_op.len(), "test")
        ));
    }
    Some(line)
}

/// Lays out a table: columns two spaces apart, the first (names), the last
/// and the failure columns (messages) read left to right, the numbers
/// between aligned right.
pub fn layout_table(header: &[&str], cells: &[Vec<String>]) -> String {
    let columns = header.len();
    let left: Vec<bool> = header
        .iter()
        .enumerate()
        .map(|(i, h)| i == 0 || i == columns - 1 || h.ends_with("FAILURE"))
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for line in cells {
        for (w, c) in widths.iter_mut().zip(line) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut emit = |line: &[String]| {
        let mut text = String::new();
        for (i, cell) in line.iter().enumerate() {
            let last = i == columns - 1;
            if i > 0 {
                text.push_str("  ");
            }
            if left[i] {
                // Names and messages read left to right; numbers line up right.
                if last {
                    text.push_str(cell);
                } else {
                    let _ = write!(text, "{cell:<w$}", w = widths[i]);
                }
            } else {
                let _ = write!(text, "{cell:>w$}", w = widths[i]);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    emit(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for line in cells {
        emit(line);
    }
    out
}

/// The JSON report: an array with one record per run.
pub fn json_report(records: &[RunRecord]) -> String {
    serde_json::to_string_pretty(records).expect("run records always serialize")
}

pub fn write_json(path: &Path, records: &[RunRecord]) -> io::Result<()> {
    std::fs::write(path, json_report(records) + "\n")
}

/// Escapes text for XML element content, dropping characters XML 1.0
/// cannot carry at all (a test log may hold ANSI colour escapes).
pub fn xml_text(s: &str) -> String {
    escape(s, false)
}

/// Escapes an XML attribute value. Line breaks and tabs become character
/// references, which a parser would otherwise normalise to spaces.
pub fn xml_attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' if attr => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' | '\r' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The last `max` bytes of a log file, as text, with a note if cut.
pub fn log_tail(path: &Path, max: u64) -> io::Result<String> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let skipped = len.saturating_sub(max);
    file.seek(SeekFrom::Start(skipped))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(if skipped > 0 {
        format!(
            "[... {skipped} bytes omitted; full log: {}]\n{text}",
            path.display()
        )
    } else {
        text.into_owned()
    })
}

/// The JUnit report: one `<testsuite>` per test binary (with a `side`
/// property, `rust` or `go`), one `<testcase>` per run named `TestX#N`
/// with the binary as `classname` (`go:kv/test_raftstore` for Go's), and
/// for a failed run a `<failure>` carrying the failure line as `message`
/// and the log's tail as text.
pub fn junit_report(records: &[RunRecord]) -> String {
    // One suite per binary; Go's binaries are named `go:<package>`, so a
    // suite is all one side's.
    let mut suites: Vec<(&str, Vec<&RunRecord>)> = Vec::new();
    for r in records {
        match suites.iter_mut().find(|(b, _)| *b == r.binary) {
            Some((_, runs)) => runs.push(r),
            None => suites.push((&r.binary, vec![r])),
        }
    }
    let (_, failed) = totals(records);
    let time: f64 = records.iter().map(|r| r.seconds).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"tinykv-lab\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" time=\"{time:.3}\">",
        records.len()
    );
    for (binary, runs) in suites {
        let failed = runs.iter().filter(|r| !r.passed()).count();
        let time: f64 = runs.iter().map(|r| r.seconds).sum();
        let side = runs.first().map_or(Side::Rust, |r| r.side);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\" time=\"{time:.3}\">",
            xml_attr(binary),
            runs.len()
        );
        let _ = writeln!(
            out,
            "    <properties><property name=\"side\" value=\"{}\"/></properties>",
            side.as_str()
        );
        for r in runs {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
                xml_attr(&format!("{}#{}", r.name, r.run)),
                xml_attr(&r.binary),
                r.seconds
            );
            if r.passed() {
                out.push_str("/>\n");
                continue;
            }
            let kind = match r.status {
                Status::TimedOut => "timeout",
                _ => "failure",
            };
            let message = r.failure.as_deref().unwrap_or("failed");
            let body = match &r.log {
                Some(log) => log_tail(log, JUNIT_LOG_TAIL)
                    .unwrap_or_else(|e| format!("(log {} unreadable: {e})", log.display())),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\" type=\"{kind}\">{}</failure>\n    </testcase>",
                xml_attr(message),
                xml_text(&body)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

pub fn write_junit(path: &Path, records: &[RunRecord]) -> io::Result<()> {
    std::fs::write(path, junit_report(records))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, run: u32, status: Status, seconds: f64, failure: Option<&str>) -> RunRecord {
        RunRecord {
            name: name.into(),
            binary: "raft/raft".into(),
            side: Side::Rust,
            run,
            status,
            seconds,
            failure: failure.map(str::to_string),
            log: None,
            max_rss_kib: Some(1024 * run as u64),
            cpu_secs: Some(run as f64),
            reported_secs: None,
            ops: None,
            virtual_secs: None,
            seed: None,
        }
    }

    fn sample() -> Vec<RunRecord> {
        vec![
            rec("TestLeaderElection2AA", 1, Status::Passed, 0.02, None),
            rec("TestLeaderElection2AA", 2, Status::Passed, 0.04, None),
            rec("TestOneSplit3B", 1, Status::Passed, 10.0, None),
            rec(
                "TestOneSplit3B",
                2,
                Status::TimedOut,
                600.0,
                Some("timed out after 600s"),
            ),
            rec(
                "TestOneSplit3B",
                3,
                Status::Failed,
                12.0,
                Some("Expected value not to be nil."),
            ),
        ]
    }

    #[test]
    fn summaries_count_runs_and_times() {
        let s = summarize(&sample());
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "TestLeaderElection2AA");
        assert_eq!((s[0].runs, s[0].passed, s[0].failed), (2, 2, 0));
        assert!((s[0].median - 0.03).abs() < 1e-9);
        assert_eq!((s[1].runs, s[1].passed, s[1].failed), (3, 1, 2));
        assert_eq!(s[1].median, 12.0);
        assert_eq!(s[1].max, 600.0);
        assert_eq!(s[1].first_failure.as_deref(), Some("timed out after 600s"));
        assert_eq!(s[1].peak_rss_mib, Some(3.0));
        assert_eq!(s[1].median_cpu_secs, Some(2.0));
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), 3.0);
    }

    #[test]
    fn table_layout() {
        let table = format_table(&summarize(&sample()), None);
        let expected = "\
TEST                   RUNS  PASSED  FAILED  MEDIAN s   MAX s  CPU s  PEAK RSS MiB  FIRST FAILURE
TestLeaderElection2AA     2       2       0      0.03    0.04   1.50           2.0
TestOneSplit3B            3       1       2     12.00  600.00   2.00           3.0  timed out after 600s
";
        assert_eq!(table, expected);
    }

    #[test]
    fn table_with_go_columns() {
        let ours = summarize(&[
            rec("TestA", 1, Status::Passed, 1.0, None),
            rec("TestOneSplit3B", 1, Status::Failed, 2.0, Some("ours broke")),
            rec("TestNew", 1, Status::Passed, 1.0, None),
        ]);
        let mut g = rec("TestOneSplit3B", 1, Status::Failed, 8.0, Some("go broke"));
        g.side = Side::Go;
        g.max_rss_kib = Some(2048);
        g.reported_secs = Some(7.5);
        let go = GoSide::new(&[g], ["TestNew".to_string()].into());
        let table = format_table(&ours, Some(&go));
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].ends_with(
                "GO PASSED  GO MEDIAN s  GO OWN s  GO CPU s  GO PEAK RSS MiB  FIRST FAILURE  GO FIRST FAILURE"
            ),
            "{table}"
        );
        // Not run on the Go side (interrupted): dashes; not in Go: n/a.
        assert!(
            lines[1].contains("        -            -         -         -                -"),
            "{table}"
        );
        assert!(
            lines[2].contains(
                "0/1         8.00      7.50      1.00              2.0  ours broke     go broke"
            ),
            "{table}"
        );
        assert!(
            lines[3].contains("n/a          n/a       n/a       n/a              n/a"),
            "{table}"
        );
    }

    #[test]
    fn ratio_over_tests_both_ran() {
        let ours = summarize(&[
            rec("TestA", 1, Status::Passed, 1.0, None),
            rec("TestB", 1, Status::Passed, 3.0, None),
            rec("TestOnlyOurs", 1, Status::Passed, 100.0, None),
        ]);
        let mut go: Vec<RunRecord> = [("TestA", 2.0), ("TestB", 6.0)]
            .into_iter()
            .map(|(n, secs)| rec(n, 1, Status::Passed, secs, None))
            .collect();
        go[0].cpu_secs = Some(4.0);
        go[1].max_rss_kib = Some(4096);
        let go = GoSide::new(&go, BTreeSet::new());
        assert_eq!(
            ratio_line(&ours, &go).unwrap(),
            "ours/Go over 2 tests both ran: wall 0.50x (4.00 / 8.00 s), CPU 0.40x (2.00 / 5.00 s), peak RSS 0.40x (2.00 / 5.00 MiB)"
        );
        assert_eq!(ratio_line(&ours, &GoSide::default()), None);
    }

    #[test]
    fn cpu_per_operation_where_tests_report_operations() {
        let mut a = rec("TestA", 1, Status::Passed, 1.0, None);
        a.cpu_secs = Some(2.0);
        a.ops = Some(1000);
        let mut b = rec("TestB", 1, Status::Passed, 1.0, None);
        b.cpu_secs = Some(1.0);
        b.ops = Some(4000);
        let ours = summarize(&[
            a.clone(),
            b.clone(),
            rec("TestC", 1, Status::Passed, 1.0, None),
        ]);
        assert_eq!(ours[0].median_cpu_ms_per_op, Some(2.0));
        assert_eq!(ours[2].median_cpu_ms_per_op, None);
        let go: Vec<RunRecord> = [(a, 8.0, 1000), (b, 4.0, 1000)]
            .into_iter()
            .map(|(mut r, cpu, ops)| {
                r.side = Side::Go;
                r.cpu_secs = Some(cpu);
                r.ops = Some(ops);
                r
            })
            .collect();
        let go = GoSide::new(&go, BTreeSet::new());
        let table = format_table(&ours, Some(&go));
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].contains("CPU s  CPU ms/op  PEAK RSS MiB"),
            "{table}"
        );
        assert!(
            lines[0].contains("GO CPU s  GO CPU ms/op  GO PEAK RSS MiB"),
            "{table}"
        );
        assert!(lines[1].contains("2.00      2.000"), "{table}");
        assert!(lines[1].contains("8.00         8.000"), "{table}");
        assert!(lines[3].contains("1.00          -"), "{table}");
        // 2/8 and 0.25/4: a quarter and a sixteenth, geometric mean an eighth.
        assert!(
            ratio_line(&ours, &go)
                .unwrap()
                .ends_with("; CPU per client operation 0.13x (geometric mean over 2 tests)"),
            "{:?}",
            ratio_line(&ours, &go)
        );
        // Without operations anywhere the table keeps its columns.
        let plain = format_table(
            &summarize(&[rec("TestC", 1, Status::Passed, 1.0, None)]),
            None,
        );
        assert!(!plain.contains("ms/op"), "{plain}");
    }

    #[test]
    fn junit_marks_the_side() {
        let mut g = rec("TestA", 1, Status::Passed, 1.0, None);
        g.side = Side::Go;
        g.binary = "go:raft".into();
        let xml = junit_report(&[rec("TestA", 1, Status::Passed, 1.0, None), g]);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let sides: Vec<(&str, &str)> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testsuite"))
            .map(|suite| {
                let side = suite
                    .descendants()
                    .find(|p| p.has_tag_name("property") && p.attribute("name") == Some("side"))
                    .and_then(|p| p.attribute("value"))
                    .unwrap();
                (suite.attribute("name").unwrap(), side)
            })
            .collect();
        assert_eq!(sides, [("raft/raft", "rust"), ("go:raft", "go")]);
    }

    #[test]
    fn long_failures_are_truncated_in_the_table_only() {
        let long = "x".repeat(300);
        let recs = vec![rec("TestA", 1, Status::Failed, 1.0, Some(&long))];
        let table = format_table(&summarize(&recs), None);
        assert!(table.lines().nth(1).unwrap().ends_with('…'));
        assert!(json_report(&recs).contains(&long));
    }

    #[test]
    fn total_line_counts_runs() {
        assert_eq!(total_line(&sample()), "3 passed, 2 failed");
        assert_eq!(total_line(&[]), "0 passed, 0 failed");
        assert_eq!(total_cpu_secs(&sample()), Some(1.0 + 2.0 + 3.0 + 1.0 + 2.0));
        assert_eq!(total_cpu_secs(&[]), None);
    }

    #[test]
    fn xml_escaping() {
        assert_eq!(
            xml_attr("a<b>&\"c\" 'd'\n\x1b[31mred"),
            "a&lt;b&gt;&amp;&quot;c&quot; 'd'&#10;[31mred"
        );
        assert_eq!(xml_text("x < y\n\t\"z\"\x07"), "x &lt; y\n\t\"z\"");
    }

    #[test]
    fn junit_survives_hostile_names_and_logs() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        std::fs::write(&log, "\x1b[31mpanic <here> & ]]> \"there\"\n").unwrap();
        let mut r = rec("Test<&>\"", 1, Status::Failed, 1.0, Some("a \"b\" <c>\nd"));
        r.log = Some(log);
        let xml = junit_report(&[r]);
        assert!(xml.contains("name=\"Test&lt;&amp;&gt;&quot;#1\""), "{xml}");
        assert!(
            xml.contains("message=\"a &quot;b&quot; &lt;c&gt;&#10;d\""),
            "{xml}"
        );
        assert!(
            xml.contains("[31mpanic &lt;here&gt; &amp; ]]&gt; \"there\""),
            "{xml}"
        );
    }

    #[test]
    fn json_round_trips() {
        let json = json_report(&sample());
        let back: Vec<RunRecord> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn log_tail_keeps_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.log");
        std::fs::write(&p, "0123456789").unwrap();
        assert_eq!(log_tail(&p, 100).unwrap(), "0123456789");
        let tail = log_tail(&p, 4).unwrap();
        assert!(tail.starts_with("[... 6 bytes omitted"));
        assert!(tail.ends_with("\n6789"));
    }
}
