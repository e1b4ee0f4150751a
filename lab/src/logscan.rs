//! Reading a run's log: did exactly one test pass, and if not, what is the
//! one line a person wants to see first?
//!
//! An exit status alone is not enough. A test binary that matched nothing
//! exits 0 having run no test, and a cluster test's log holds panics from
//! background threads as well as the assertion that failed. So we read the
//! log line by line (logs at `LOG_LEVEL=debug` are large; never load them
//! whole) and keep only the few facts the verdict needs.

use std::io::{self, BufRead};

use regex::Regex;
use std::sync::LazyLock;

/// How a run's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    pub fn from_status(status: std::process::ExitStatus) -> Exit {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(sig)) => Exit::Signal(sig),
            (None, None) => Exit::Code(-1),
        }
    }

    fn describe(self) -> String {
        match self {
            Exit::Code(c) => format!("exit status {c}"),
            Exit::Signal(s) => format!("killed by signal {s}"),
        }
    }
}

/// The outcome of one finished (not timed-out) run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub passed: bool,
    /// Why it failed, one line; `None` when it passed.
    pub failure: Option<String>,
}

impl Verdict {
    fn pass() -> Verdict {
        Verdict {
            passed: true,
            failure: None,
        }
    }

    fn fail(msg: impl Into<String>) -> Verdict {
        Verdict {
            passed: false,
            failure: Some(msg.into()),
        }
    }
}

/// Reads lines as text whatever their encoding: logs may hold raw bytes.
fn for_each_line(mut reader: impl BufRead, mut f: impl FnMut(&str)) -> io::Result<()> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        let line = String::from_utf8_lossy(&buf);
        f(line.trim_end_matches(['\n', '\r']));
    }
}

static PANIC: LazyLock<Regex> = LazyLock::new(|| {
    // `thread 'name' panicked at file:1:2:` (message on the next line), with
    // an optional `(tid)` since Rust 1.91; older toolchains put the message
    // first: `panicked at 'msg', file:1:2`.
    Regex::new(r"^thread '(?P<thread>[^']*)'(?: \(\d+\))? panicked at (?P<rest>.*)$").unwrap()
});
static OLD_PANIC_MSG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^'(?P<msg>.*)', \S+:\d+:\d+$").unwrap());
static LIBTEST_RESULT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^test result: (?P<ok>ok|FAILED)\. (?P<passed>\d+) passed; (?P<failed>\d+) failed; (?P<ignored>\d+) ignored").unwrap()
});

/// What a libtest log says about the one test it was asked to run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LibtestLog {
    /// Counts from the `test result:` line, if it was reached.
    pub result: Option<(u32, u32, u32)>,
    /// The first panic message from the test's own thread.
    pub test_panic: Option<String>,
    /// The first panic message from any thread.
    pub any_panic: Option<String>,
    /// A `fatal runtime error` (stack overflow, abort in a destructor …).
    pub fatal: Option<String>,
}

impl LibtestLog {
    /// Scans a log of `<exe> --exact <test_path> …`.
    pub fn scan(reader: impl BufRead, test_path: &str) -> io::Result<LibtestLog> {
        let mut log = LibtestLog::default();
        // Set when a panic header's message is on the following line.
        let mut pending: Option<bool> = None;
        for_each_line(reader, |line| {
            if let Some(is_test_thread) = pending.take() {
                log.note_panic(is_test_thread, line.trim().to_string());
                return;
            }
            if let Some(c) = PANIC.captures(line) {
                let is_test_thread = &c["thread"] == test_path;
                let rest = &c["rest"];
                if let Some(m) = OLD_PANIC_MSG.captures(rest) {
                    log.note_panic(is_test_thread, m["msg"].to_string());
                } else {
                    // New format: `file:line:col:`; the message follows.
                    pending = Some(is_test_thread);
                }
            } else if let Some(c) = LIBTEST_RESULT.captures(line) {
                let n = |k: &str| c[k].parse().unwrap_or(0);
                log.result = Some((n("passed"), n("failed"), n("ignored")));
            } else if log.fatal.is_none() && line.starts_with("fatal runtime error") {
                log.fatal = Some(line.to_string());
            }
        })?;
        Ok(log)
    }

    fn note_panic(&mut self, is_test_thread: bool, msg: String) {
        if is_test_thread && self.test_panic.is_none() {
            self.test_panic = Some(msg.clone());
        }
        if self.any_panic.is_none() {
            self.any_panic = Some(msg);
        }
    }

    /// Passed only with exit status 0 and exactly one test passed; otherwise
    /// the most telling line: the test thread's panic (the assertion), then
    /// any panic (a background thread that brought the test down), then a
    /// runtime abort, then what the summary or exit status says.
    pub fn verdict(&self, exit: Exit) -> Verdict {
        if exit == Exit::Code(0) && matches!(self.result, Some((1, 0, _))) {
            return Verdict::pass();
        }
        if let Some(msg) = self.test_panic.as_ref().or(self.any_panic.as_ref()) {
            return Verdict::fail(msg.as_str());
        }
        if let Some(fatal) = &self.fatal {
            return Verdict::fail(fatal.as_str());
        }
        match (exit, self.result) {
            (Exit::Code(0), Some((0, 0, ignored))) if ignored > 0 => {
                Verdict::fail("no test ran (the test is ignored)")
            }
            (Exit::Code(0), Some((0, 0, _))) => Verdict::fail("no test ran"),
            (Exit::Code(0), Some((passed, _, _))) => {
                Verdict::fail(format!("expected 1 test to pass, {passed} did"))
            }
            (Exit::Code(0), None) => Verdict::fail("no test ran (no libtest summary in the log)"),
            (exit, _) => Verdict::fail(exit.describe()),
        }
    }
}

/// The module path of TinyKV's Go packages, as it appears in goroutine
/// traces (`github.com/pingcap-incubator/tinykv/raft.(*Raft).Step`).
pub const GO_MODULE: &str = "github.com/pingcap-incubator/tinykv";

static ANSI: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\x1b\[[0-9;]*[A-Za-z]").unwrap());
/// A test's own output line (`t.Fatalf`, `t.Errorf`, `t.Log`), as Go ≥ 1.14
/// prints it under `=== RUN` (and older Go under `--- FAIL:`): indented,
/// then `file.go:line: message`.
static GO_TEST_OUTPUT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s+(?P<loc>[\w.\-]+\.go:\d+): ?(?P<msg>.*)$").unwrap());
/// A testify field (`Error Trace:`, `Error:`, `Messages:` …), after trimming.
static TESTIFY_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<label>Error Trace|Error|Test|Messages|Diff):\s*(?P<value>.*)$").unwrap()
});
/// A compiler error (`raft/raft.go:12:5: undefined: foo`).
static GO_COMPILE_ERROR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\.?/?\S+\.go:\d+(:\d+)?: \S").unwrap());
/// TinyKV's `log.Fatalf` (then `os.Exit`): `… raft.go:12: [fatal] message`.
static GO_FATAL_LOG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:(?P<loc>[\w.\-]+\.go:\d+): )?\[fatal\] (?P<msg>.*)$").unwrap()
});
/// A goroutine trace's source line: `\t/path/file.go:123 +0x1d`.
static GO_FRAME_FILE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\t(?P<file>\S+\.go):(?P<line>\d+)").unwrap());

/// One testify assertion block (`assert.Equal` and friends print it
/// through `t.Errorf`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Testify {
    /// Where the assertion is, from the `file_test.go:123:` header.
    pub location: Option<String>,
    /// The `Error:` field's first line (`Not equal:`, `Should be true` …).
    pub error: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
    /// The `Messages:` field: what the test said about the assertion.
    pub messages: Option<String>,
}

impl Testify {
    /// One line: `file_test.go:45: Not equal: expected: 1, actual: 2 (msg)`.
    pub fn line(&self) -> String {
        let mut out = String::new();
        if let Some(loc) = &self.location {
            out.push_str(loc);
            out.push_str(": ");
        }
        out.push_str(self.error.trim_end_matches([':', ' ']));
        let details: Vec<String> = [("expected", &self.expected), ("actual", &self.actual)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
            .collect();
        if !details.is_empty() {
            out.push_str(": ");
            out.push_str(&details.join(", "));
        }
        if let Some(m) = &self.messages {
            out.push_str(&format!(" ({m})"));
        }
        out
    }
}

/// A panic or runtime fatal error, with the first frame of the panicking
/// goroutine that is TinyKV's own code (a `_test.go` or a package of the
/// module) rather than the runtime's or testing's.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GoPanic {
    /// `runtime error: index out of range [3] with length 3`.
    pub message: String,
    /// `raft.(*Raft).Step`, the module path left out.
    pub function: Option<String>,
    /// `raft/raft.go:123`: the last two path components and the line.
    pub location: Option<String>,
}

impl GoPanic {
    pub fn line(&self) -> String {
        let mut out = format!("panic: {}", self.message);
        match (&self.function, &self.location) {
            (Some(f), Some(l)) => out.push_str(&format!(" [{f} at {l}]")),
            (None, Some(l)) => out.push_str(&format!(" [at {l}]")),
            _ => {}
        }
        out
    }
}

/// Where the Go log scanner is: inside a testify block, reading a panic's
/// goroutine trace, or neither.
#[derive(Debug, Default)]
enum GoScan {
    #[default]
    Plain,
    /// Under an `Error:` or other testify field.
    Testify { block: Testify, field: String },
    /// After `panic:`, before the panicking goroutine's trace ends.
    Panic {
        in_trace: bool,
        function: Option<String>,
    },
}

/// What a Go test binary's `-test.v -test.run '^Name$'` log says about
/// that test. Knows Go ≥ 1.14's order (a test's messages first, then its
/// `--- FAIL:` line) and the old one (the line first, then the messages).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct GoLog {
    /// `--- PASS: Name (…)` lines seen.
    pub passes: u32,
    /// The first testify assertion.
    pub testify: Option<Testify>,
    /// The first panic (or `fatal error:` of the runtime).
    pub panic: Option<GoPanic>,
    /// The test's last message before its `--- FAIL:` line (Go ≥ 1.14: a
    /// `t.Fatalf` is the last thing the test says), or else its first
    /// message after it (older Go).
    pub message: Option<String>,
    /// TinyKV's `log.Fatalf`, which exits without a `--- FAIL:` line.
    pub fatal_log: Option<String>,
    /// A compiler error, when the log is a build's.
    pub compile_error: Option<String>,
    /// Another `go` command error (`go: inconsistent vendoring …`).
    pub go_error: Option<String>,
    /// The test's own time, from its `--- PASS:`/`--- FAIL:` line
    /// (`(3.21s)`): the test function alone, without process start-up.
    pub reported_secs: Option<f64>,
}

impl GoLog {
    pub fn scan(reader: impl BufRead, name: &str) -> io::Result<GoLog> {
        let mut log = GoLog::default();
        let pass = format!("--- PASS: {name} (");
        let fail = format!("--- FAIL: {name} (");
        // The last message printed so far, and whether `--- FAIL:` is seen.
        let mut last_message: Option<String> = None;
        let mut failed = false;
        let mut state = GoScan::Plain;
        for_each_line(reader, |raw| {
            let line = ANSI.replace_all(raw, "");
            let line = line.as_ref();
            state = match std::mem::take(&mut state) {
                GoScan::Testify { mut block, field } => {
                    let trimmed = line.trim();
                    if !line.starts_with(char::is_whitespace) || GO_TEST_OUTPUT.is_match(line) {
                        if !block.error.is_empty() {
                            log.testify.get_or_insert(block);
                        }
                        GoScan::Plain
                    } else if let Some(c) = TESTIFY_FIELD.captures(trimmed) {
                        let value = c["value"].trim().to_string();
                        match &c["label"] {
                            "Error" => block.error = value,
                            "Messages" if !value.is_empty() => block.messages = Some(value),
                            _ => {}
                        }
                        GoScan::Testify {
                            block,
                            field: c["label"].to_string(),
                        }
                    } else {
                        if field == "Error" {
                            if let Some(v) = trimmed.strip_prefix("expected:") {
                                block.expected.get_or_insert(v.trim().to_string());
                            } else if let Some(v) = trimmed
                                .strip_prefix("actual")
                                .and_then(|v| v.trim_start().strip_prefix(':'))
                            {
                                block.actual.get_or_insert(v.trim().to_string());
                            }
                        }
                        GoScan::Testify { block, field }
                    }
                }
                GoScan::Panic { in_trace, function } => {
                    let panic = log.panic.as_mut().expect("a panic was seen");
                    if !in_trace {
                        if line.starts_with("goroutine ") {
                            GoScan::Panic {
                                in_trace: true,
                                function: None,
                            }
                        } else if line.trim().is_empty()
                            || line.starts_with('\t')
                            || line.starts_with("panic")
                        {
                            GoScan::Panic {
                                in_trace: false,
                                function: None,
                            }
                        } else {
                            // No trace follows (GOTRACEBACK=none …).
                            GoScan::Plain
                        }
                    } else if line.trim().is_empty() {
                        GoScan::Plain
                    } else if let Some(c) = GO_FRAME_FILE.captures(line) {
                        let file = &c["file"];
                        let in_module = function
                            .as_deref()
                            .is_some_and(|f| f.starts_with(GO_MODULE));
                        if (in_module || file.ends_with("_test.go")) && !file.contains("/vendor/") {
                            let mut parts = file.rsplitn(3, '/');
                            let base = parts.next().unwrap_or(file);
                            panic.location = Some(match parts.next() {
                                Some(dir) if !dir.is_empty() => {
                                    format!("{dir}/{base}:{}", &c["line"])
                                }
                                _ => format!("{base}:{}", &c["line"]),
                            });
                            panic.function = function.map(|f| {
                                f.trim_start_matches(GO_MODULE)
                                    .trim_start_matches('/')
                                    .to_string()
                            });
                            GoScan::Plain
                        } else {
                            GoScan::Panic {
                                in_trace,
                                function: None,
                            }
                        }
                    } else {
                        // A function line, `pkg.(*T).M(0xc000…, {…})`; its
                        // file is on the next line.
                        let f = line.rsplit_once('(').map_or(line, |(head, _)| head);
                        GoScan::Panic {
                            in_trace,
                            function: Some(f.to_string()),
                        }
                    }
                }
                GoScan::Plain => GoScan::Plain,
            };
            if !matches!(state, GoScan::Plain) {
                return;
            }

            let trimmed = line.trim_start();
            if let Some(rest) = trimmed
                .strip_prefix(&pass)
                .or_else(|| trimmed.strip_prefix(&fail))
            {
                log.reported_secs = rest
                    .split_once("s)")
                    .and_then(|(secs, _)| secs.parse().ok())
                    .or(log.reported_secs);
            }
            if trimmed.starts_with(&pass) {
                log.passes += 1;
            } else if trimmed.starts_with(&fail) {
                if !failed && log.message.is_none() {
                    log.message = last_message.take();
                }
                failed = true;
            } else if let Some(msg) = line
                .strip_prefix("panic: ")
                .or_else(|| line.strip_prefix("fatal error: "))
            {
                if log.panic.is_none() {
                    log.panic = Some(GoPanic {
                        message: msg.trim_end_matches(" [recovered]").to_string(),
                        ..GoPanic::default()
                    });
                    state = GoScan::Panic {
                        in_trace: false,
                        function: None,
                    };
                }
            } else if let Some(c) = GO_TEST_OUTPUT.captures(line) {
                let (loc, msg) = (&c["loc"], c["msg"].trim());
                if msg.is_empty() {
                    // A testify block follows its `file_test.go:45:` header.
                    state = GoScan::Testify {
                        block: Testify {
                            location: Some(loc.to_string()),
                            ..Testify::default()
                        },
                        field: String::new(),
                    };
                } else if failed {
                    log.message.get_or_insert_with(|| format!("{loc}: {msg}"));
                } else {
                    last_message = Some(format!("{loc}: {msg}"));
                }
            } else if let Some(c) = GO_FATAL_LOG.captures(line) {
                log.fatal_log.get_or_insert_with(|| match c.name("loc") {
                    Some(loc) => format!("[fatal] {}: {}", loc.as_str(), c["msg"].trim()),
                    None => format!("[fatal] {}", c["msg"].trim()),
                });
            } else if !line.starts_with(char::is_whitespace) && GO_COMPILE_ERROR.is_match(line) {
                log.compile_error
                    .get_or_insert_with(|| line.trim().to_string());
            } else if let Some(rest) = line.strip_prefix("go: ") {
                log.go_error.get_or_insert_with(|| rest.trim().to_string());
            }
        })?;
        if let GoScan::Testify { block, .. } = state {
            if !block.error.is_empty() {
                log.testify.get_or_insert(block);
            }
        }
        if !failed && log.message.is_none() {
            // No `--- FAIL:` line (killed, exited): its last words.
            log.message = last_message;
        }
        Ok(log)
    }

    /// Passed only with exit status 0 and exactly one `--- PASS:` of the
    /// test; otherwise the most telling line: the first testify assertion,
    /// a panic with where it happened, the test's own `t.Fatalf` message, a
    /// `log.Fatalf`, a build error, then what the exit says.
    pub fn verdict(&self, exit: Exit) -> Verdict {
        if exit == Exit::Code(0) && self.passes == 1 {
            return Verdict::pass();
        }
        if let Some(t) = &self.testify {
            return Verdict::fail(t.line());
        }
        if let Some(p) = &self.panic {
            return Verdict::fail(p.line());
        }
        if let Some(m) = self.message.as_ref().or(self.fatal_log.as_ref()) {
            return Verdict::fail(m.as_str());
        }
        if let Some(e) = &self.compile_error {
            return Verdict::fail(format!("build failed: {e}"));
        }
        if let Some(e) = &self.go_error {
            return Verdict::fail(format!("go: {e}"));
        }
        match exit {
            Exit::Code(0) => Verdict::fail("no test ran"),
            other => Verdict::fail(other.describe()),
        }
    }
}

/// The one line that says why `go test -c` failed: the first compiler
/// error, else the first `go:` error (modules, vendoring), else the first
/// line that is not a `# package` header.
pub fn go_build_failure(text: &str) -> String {
    let log = GoLog::scan(text.as_bytes(), "").unwrap_or_default();
    if let Some(e) = log.compile_error {
        return format!("build failed: {e}");
    }
    if let Some(e) = log.go_error {
        return format!("build failed: go: {e}");
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    match first {
        Some(l) => format!("build failed: {l}"),
        None => "build failed".to_string(),
    }
}

/// What a GenericTest run reported of itself on its `generic-test name=…`
/// lines: ours prints one per iteration (`puts=N scans=M`), a simulated
/// twin one per run that adds the virtual time it took (`virtual_ms=V`),
/// and the Go reference prints them with a small patch to its harness
/// (lab/README.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenericCounts {
    /// Client operations: the sum of `puts` and `scans` over the lines;
    /// `None` if no line has both.
    pub ops: Option<u64>,
    /// Virtual milliseconds, summed over the lines that give them; `None`
    /// for a run in real time.
    pub virtual_ms: Option<u64>,
}

/// Reads a run's [`GenericCounts`] from its log.
pub fn generic_counts(reader: impl BufRead) -> io::Result<GenericCounts> {
    let mut counts = GenericCounts::default();
    for line in reader.split(b'\n') {
        let line = line?;
        let line = String::from_utf8_lossy(&line);
        let Some(at) = line.find("generic-test name=") else {
            continue;
        };
        let field = |name: &str| {
            line[at..]
                .split_whitespace()
                .find_map(|w| w.strip_prefix(name)?.parse::<u64>().ok())
        };
        if let (Some(puts), Some(scans)) = (field("puts="), field("scans=")) {
            *counts.ops.get_or_insert(0) += puts + scans;
        }
        if let Some(ms) = field("virtual_ms=") {
            *counts.virtual_ms.get_or_insert(0) += ms;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn libtest(text: &str, path: &str, exit: Exit) -> Verdict {
        LibtestLog::scan(text.as_bytes(), path)
            .unwrap()
            .verdict(exit)
    }

    const PASSED: &str = "\nrunning 1 test\ntest m::TestA ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 3 filtered out; finished in 0.01s\n";

    #[test]
    fn one_passed_with_status_zero_passes() {
        assert_eq!(libtest(PASSED, "m::TestA", Exit::Code(0)), Verdict::pass());
    }

    #[test]
    fn zero_tests_is_a_failure() {
        let text = "\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 4 filtered out\n";
        assert_eq!(
            libtest(text, "m::TestA", Exit::Code(0)).failure.as_deref(),
            Some("no test ran")
        );
        let ignored =
            "test result: ok. 0 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out\n";
        assert_eq!(
            libtest(ignored, "m::TestA", Exit::Code(0))
                .failure
                .as_deref(),
            Some("no test ran (the test is ignored)")
        );
        assert!(libtest("", "m::TestA", Exit::Code(0))
            .failure
            .unwrap()
            .starts_with("no test ran"));
    }

    #[test]
    fn status_zero_without_summary_is_not_a_pass() {
        // The summary is what proves the test ran; a status alone does not.
        let v = libtest("test m::TestA ... ok\n", "m::TestA", Exit::Code(0));
        assert!(!v.passed);
    }

    #[test]
    fn test_thread_panic_wins_over_background_panics() {
        let text = "\
thread '<unnamed>' (4963) panicked at src/lib.rs:4:36:
bg boom
stack backtrace:
thread 'm::TestA' (4962) panicked at src/lib.rs:4:68:
assertion `left == right` failed: custom 5
  left: 1
 right: 2
test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 1 filtered out; finished in 0.07s
";
        let log = LibtestLog::scan(text.as_bytes(), "m::TestA").unwrap();
        assert_eq!(log.any_panic.as_deref(), Some("bg boom"));
        assert_eq!(
            log.verdict(Exit::Code(101)).failure.as_deref(),
            Some("assertion `left == right` failed: custom 5")
        );
    }

    #[test]
    fn background_panic_is_reported_when_the_test_thread_did_not_panic() {
        let text = "thread 'raftstore' panicked at kv/src/peer.rs:10:5:\nregion 1 not found\nerror: test failed\n";
        assert_eq!(
            libtest(text, "m::TestA", Exit::Signal(6))
                .failure
                .as_deref(),
            Some("region 1 not found")
        );
    }

    #[test]
    fn old_panic_format_and_tid_less_header() {
        let old = "thread 'm::TestA' panicked at 'boom here', src/lib.rs:1:2\n";
        assert_eq!(
            libtest(old, "m::TestA", Exit::Code(101)).failure.as_deref(),
            Some("boom here")
        );
        let new = "thread 'm::TestA' panicked at src/lib.rs:1:2:\nboom there\n";
        assert_eq!(
            libtest(new, "m::TestA", Exit::Code(101)).failure.as_deref(),
            Some("boom there")
        );
    }

    #[test]
    fn exit_without_panic_describes_the_exit() {
        assert_eq!(
            libtest("", "m::TestA", Exit::Signal(9)).failure.as_deref(),
            Some("killed by signal 9")
        );
        assert_eq!(
            libtest(
                "\nthread 'main' has overflowed its stack\nfatal runtime error: stack overflow\n",
                "m::TestA",
                Exit::Signal(6)
            )
            .failure
            .as_deref(),
            Some("fatal runtime error: stack overflow")
        );
        assert_eq!(
            libtest(PASSED, "m::TestA", Exit::Code(3))
                .failure
                .as_deref(),
            Some("exit status 3")
        );
    }

    #[test]
    fn non_utf8_logs_are_read() {
        let mut bytes = b"garbage \xff\xfe\n".to_vec();
        bytes.extend_from_slice(PASSED.as_bytes());
        let log = LibtestLog::scan(&bytes[..], "m::TestA").unwrap();
        assert!(log.verdict(Exit::Code(0)).passed);
    }

    fn go(text: &str, exit: Exit) -> Verdict {
        GoLog::scan(text.as_bytes(), "TestOneSplit3B")
            .unwrap()
            .verdict(exit)
    }

    #[test]
    fn go_pass_and_no_test() {
        let pass = "=== RUN   TestOneSplit3B\n--- PASS: TestOneSplit3B (3.21s)\nPASS\n";
        assert!(go(pass, Exit::Code(0)).passed);
        // A subtest or another test's PASS is not ours.
        let other = "=== RUN   TestOneSplit3BX\n--- PASS: TestOneSplit3BX (3.21s)\nPASS\n";
        assert!(!go(other, Exit::Code(0)).passed);
        let none = "testing: warning: no tests to run\nPASS\n";
        assert_eq!(
            go(none, Exit::Code(0)).failure.as_deref(),
            Some("no test ran")
        );
    }

    #[test]
    fn go_reports_its_own_time() {
        let scan = |text: &str| GoLog::scan(text.as_bytes(), "TestOneSplit3B").unwrap();
        let pass = "=== RUN   TestOneSplit3B\n--- PASS: TestOneSplit3B (3.21s)\nPASS\n";
        assert_eq!(scan(pass).reported_secs, Some(3.21));
        let fail = "=== RUN   TestOneSplit3B\n    x_test.go:1: no\n--- FAIL: TestOneSplit3B (0.50s)\nFAIL\n";
        assert_eq!(scan(fail).reported_secs, Some(0.5));
        let other = "--- PASS: TestOneSplit3BX (3.21s)\n";
        assert_eq!(scan(other).reported_secs, None);
    }

    // The samples below are real output of Go 1.19 test binaries
    // (`x.test -test.run '^Name$' -test.v`), testify v1.4.0, renamed.

    #[test]
    fn go_fatalf_message_comes_before_the_fail_line() {
        let fatalf = "=== RUN   TestOneSplit3B\n    test_test.go:11: starting up\n    test_test.go:12: region 7 is not split\n--- FAIL: TestOneSplit3B (0.00s)\nFAIL\n";
        assert_eq!(
            go(fatalf, Exit::Code(1)).failure.as_deref(),
            Some("test_test.go:12: region 7 is not split")
        );
        // Before Go 1.14 the messages followed the FAIL line.
        let old = "=== RUN   TestOneSplit3B\n--- FAIL: TestOneSplit3B (1.00s)\n    test_test.go:12: region is not split\nFAIL\n";
        assert_eq!(
            go(old, Exit::Code(1)).failure.as_deref(),
            Some("test_test.go:12: region is not split")
        );
    }

    #[test]
    fn go_testify_block_keeps_message_expected_and_actual() {
        let testify = "=== RUN   TestOneSplit3B
    test_test.go:16: 
        \tError Trace:\ttest_test.go:16
        \tError:      \tNot equal: 
        \t            \texpected: 1
        \t            \tactual  : 2
        \tTest:       \tTestOneSplit3B
        \tMessages:   \tvalues of key k1
    test_test.go:17: 
        \tError Trace:\ttest_test.go:17
        \tError:      \tExpected value not to be nil.
        \tTest:       \tTestOneSplit3B
--- FAIL: TestOneSplit3B (0.00s)
FAIL
";
        let log = GoLog::scan(testify.as_bytes(), "TestOneSplit3B").unwrap();
        let t = log.testify.as_ref().unwrap();
        assert_eq!(t.error, "Not equal:");
        assert_eq!(t.expected.as_deref(), Some("1"));
        assert_eq!(t.actual.as_deref(), Some("2"));
        assert_eq!(t.messages.as_deref(), Some("values of key k1"));
        assert_eq!(
            log.verdict(Exit::Code(1)).failure.as_deref(),
            Some("test_test.go:16: Not equal: expected: 1, actual: 2 (values of key k1)")
        );
        let one = "=== RUN   TestOneSplit3B
    test_test.go:17: 
        \tError Trace:\ttest_test.go:17
        \tError:      \tExpected value not to be nil.
        \tTest:       \tTestOneSplit3B
--- FAIL: TestOneSplit3B (0.00s)
";
        assert_eq!(
            go(one, Exit::Code(1)).failure.as_deref(),
            Some("test_test.go:17: Expected value not to be nil.")
        );
    }

    #[test]
    fn go_panic_names_the_first_frame_of_ours() {
        let panic = "=== RUN   TestOneSplit3B
--- FAIL: TestOneSplit3B (0.00s)
panic: runtime error: index out of range [5] with length 2 [recovered]
\tpanic: runtime error: index out of range [5] with length 2

goroutine 19 [running]:
testing.tRunner.func1.2({0x5d59c0, 0xc0000de150})
\t/usr/lib/go-1.19/src/testing/testing.go:1396 +0x24e
testing.tRunner.func1()
\t/usr/lib/go-1.19/src/testing/testing.go:1399 +0x39f
panic({0x5d59c0, 0xc0000de150})
\t/usr/lib/go-1.19/src/runtime/panic.go:884 +0x212
github.com/pingcap-incubator/tinykv/raft.(*Raft).Step(...)
\t/src/tinykv/raft/raft.go:3
github.com/pingcap-incubator/tinykv/kv/test_raftstore.TestOneSplit3B(0x0?)
\t/src/tinykv/kv/test_raftstore/test_test.go:21 +0x1d
testing.tRunner(0xc000085380, 0x610528)
\t/usr/lib/go-1.19/src/testing/testing.go:1446 +0x10b
";
        assert_eq!(
            go(panic, Exit::Code(2)).failure.as_deref(),
            Some("panic: runtime error: index out of range [5] with length 2 [raft.(*Raft).Step at raft/raft.go:3]")
        );
        let timeout = "panic: test timed out after 10m0s\n\ngoroutine 1 [running]:\n";
        assert_eq!(
            go(timeout, Exit::Code(2)).failure.as_deref(),
            Some("panic: test timed out after 10m0s")
        );
        // A runtime fatal error, and a panic in a vendored library called
        // from a test file.
        let fatal = "fatal error: concurrent map writes\n\ngoroutine 7 [running]:\ngithub.com/google/btree.(*BTree).Set(0x1)\n\t/src/tinykv/vendor/github.com/google/btree/btree.go:9 +0x1\ngithub.com/pingcap-incubator/tinykv/kv/test_raftstore.TestX(0x1)\n\t/src/tinykv/kv/test_raftstore/test_test.go:5 +0x1\n";
        assert_eq!(
            go(fatal, Exit::Code(2)).failure.as_deref(),
            Some("panic: concurrent map writes [kv/test_raftstore.TestX at test_raftstore/test_test.go:5]")
        );
    }

    #[test]
    fn go_fatal_log_and_build_errors() {
        let fatal = "=== RUN   TestOneSplit3B\n2022/07/29 10:00:00.000000 peer.go:99: \x1b[0;31m[fatal] region 3 not found\x1b[0m\n";
        assert_eq!(
            go(fatal, Exit::Code(255)).failure.as_deref(),
            Some("[fatal] peer.go:99: region 3 not found")
        );
        let build = "# github.com/pingcap-incubator/tinykv/raft [github.com/pingcap-incubator/tinykv/raft.test]\nraft/raft.go:2:28: undefined: undefinedThing\n";
        assert_eq!(
            go_build_failure(build),
            "build failed: raft/raft.go:2:28: undefined: undefinedThing"
        );
        let modules = "go: github.com/davecgh/go-spew@v1.1.1: missing go.sum entry; to add it:\n\tgo mod download github.com/davecgh/go-spew\n";
        assert_eq!(
            go_build_failure(modules),
            "build failed: go: github.com/davecgh/go-spew@v1.1.1: missing go.sum entry; to add it:"
        );
        assert_eq!(
            go_build_failure("stat /x/nosuch: directory not found\n"),
            "build failed: stat /x/nosuch: directory not found"
        );
        assert_eq!(
            go("", Exit::Signal(9)).failure.as_deref(),
            Some("killed by signal 9")
        );
    }

    #[test]
    fn generic_counts_sum_the_generic_test_lines() {
        let log = "\
generic-test name=TestBasic2B iteration=0 clients=1 puts=315 scans=323
generic-test-phases name=TestBasic2B iteration=0 stop=0.01s restart=0.00s check_delete=1.20s log_check=0.00s
2026/12/01 12:00:00 [info] noise puts=99 scans=99 virtual_ms=5
generic-test name=TestBasic2B iteration=1 clients=1 puts=352 scans=375
";
        assert_eq!(
            generic_counts(log.as_bytes()).unwrap(),
            GenericCounts {
                ops: Some(315 + 323 + 352 + 375),
                virtual_ms: None
            }
        );
        let sim =
            "generic-test name=TestBasic2B seed=7 puts=900 scans=950 virtual_ms=61234 trace=00ff\n";
        assert_eq!(
            generic_counts(sim.as_bytes()).unwrap(),
            GenericCounts {
                ops: Some(1850),
                virtual_ms: Some(61234)
            }
        );
        assert_eq!(
            generic_counts("--- PASS: TestOneSplit3B (1.00s)\n".as_bytes()).unwrap(),
            GenericCounts::default()
        );
    }
}
