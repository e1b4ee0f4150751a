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

static GO_ERROR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s+Error:\s+(?P<msg>\S.*)$").unwrap());

/// What a `go test -v -run '^Name$'` log says about that test.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GoLog {
    /// `--- PASS: Name (…)` lines seen.
    pub passes: u32,
    /// The first testify `Error:` line (the assertion).
    pub assertion: Option<String>,
    /// The first `panic:` line (a panic or go's own test timeout).
    pub panic: Option<String>,
    /// The line after the first `--- FAIL:`, where `t.Fatalf` messages go.
    pub after_fail: Option<String>,
}

impl GoLog {
    pub fn scan(reader: impl BufRead, name: &str) -> io::Result<GoLog> {
        let mut log = GoLog::default();
        let pass = format!("--- PASS: {name} (");
        let mut after_fail_pending = false;
        for_each_line(reader, |line| {
            if after_fail_pending {
                after_fail_pending = false;
                // `t.Fatalf` output is indented under the `--- FAIL:` line.
                if line.starts_with(char::is_whitespace) && !line.trim().is_empty() {
                    log.after_fail = Some(line.trim().to_string());
                }
            }
            let trimmed = line.trim_start();
            if trimmed.starts_with(&pass) {
                log.passes += 1;
            } else if trimmed.starts_with("--- FAIL:") && log.after_fail.is_none() {
                after_fail_pending = true;
                log.after_fail = Some(trimmed.to_string());
            } else if let Some(c) = GO_ERROR.captures(line) {
                log.assertion.get_or_insert_with(|| c["msg"].to_string());
            } else if let Some(msg) = line.strip_prefix("panic: ") {
                log.panic.get_or_insert_with(|| msg.to_string());
            }
        })?;
        Ok(log)
    }

    pub fn verdict(&self, exit: Exit) -> Verdict {
        if exit == Exit::Code(0) && self.passes == 1 {
            return Verdict::pass();
        }
        if let Some(msg) = [&self.assertion, &self.panic, &self.after_fail]
            .into_iter()
            .flatten()
            .next()
        {
            return Verdict::fail(msg.as_str());
        }
        match exit {
            Exit::Code(0) => Verdict::fail("no test ran"),
            other => Verdict::fail(other.describe()),
        }
    }
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
    fn go_logs() {
        let pass = "=== RUN   TestOneSplit3B\n--- PASS: TestOneSplit3B (3.21s)\nPASS\nok  \tgithub.com/x/kv/test_raftstore\t3.3s\n";
        assert!(go(pass, Exit::Code(0)).passed);
        let none = "testing: warning: no tests to run\nPASS\nok  \tx\t0.01s [no tests to run]\n";
        assert_eq!(
            go(none, Exit::Code(0)).failure.as_deref(),
            Some("no test ran")
        );
        let testify = "=== RUN   TestOneSplit3B\n    Error Trace:\ttest_test.go:12\n    \tError:      \tExpected value not to be nil.\n--- FAIL: TestOneSplit3B (1.00s)\nFAIL\n";
        assert_eq!(
            go(testify, Exit::Code(1)).failure.as_deref(),
            Some("Expected value not to be nil.")
        );
        let fatalf = "=== RUN   TestOneSplit3B\n--- FAIL: TestOneSplit3B (1.00s)\n    test_test.go:12: region is not split\nFAIL\n";
        assert_eq!(
            go(fatalf, Exit::Code(1)).failure.as_deref(),
            Some("test_test.go:12: region is not split")
        );
        let timeout = "panic: test timed out after 10m0s\n\ngoroutine 1 [running]:\n";
        assert_eq!(
            go(timeout, Exit::Code(2)).failure.as_deref(),
            Some("test timed out after 10m0s")
        );
    }
}
