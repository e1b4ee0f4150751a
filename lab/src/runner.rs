//! Running tests: one process per run, a deadline per run, a pool of jobs.
//!
//! Every run is its own process so that one run's leaked threads, ports or
//! RocksDB directories cannot leak into the next — the same isolation Go's
//! `go test -count=1` loop in a shell gives. Each child leads a new process
//! group, and on timeout the whole group is killed: a hung cluster test (or
//! `go test` and the test binary it spawned) leaves nothing behind.

use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::discover::TestCase;
use crate::logscan::{self, Exit, GoLog, LibtestLog, Verdict};

/// How often a waiting job checks its child. Runs last from milliseconds to
/// minutes; 20 ms keeps short runs' timing honest without busy-waiting.
const POLL: Duration = Duration::from_millis(20);

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Passed,
    Failed,
    TimedOut,
}

/// Which implementation a run exercised: ours (a Rust libtest binary) or
/// the Go reference (a `go test -c` binary). Both go through the same run
/// model and the same reports; this is how they are told apart there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    #[default]
    Rust,
    Go,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Rust => "rust",
            Side::Go => "go",
        }
    }
}

/// One run of one test, as it goes into the table and the reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The test's name (the Go name where unambiguous).
    pub name: String,
    /// Which test binary ran it (`package/target`), or `go:<package dir>`.
    pub binary: String,
    /// Ours or the Go reference's (`"rust"` when absent, as in reports
    /// written before the Go side was reported).
    #[serde(default)]
    pub side: Side,
    /// 1-based run index, as in `TestX#3`.
    pub run: u32,
    pub status: Status,
    pub seconds: f64,
    /// The first failure line; `null` when the run passed.
    pub failure: Option<String>,
    /// The kept log of a failed run; `null` when it passed (its log is
    /// deleted, since nobody reads the logs of passing runs).
    pub log: Option<PathBuf>,
    /// Peak resident set size of the run's process (and the children it
    /// waited for), in KiB, as `/usr/bin/time -v` reports it; `null` when
    /// the run could not be started.
    #[serde(default)]
    pub max_rss_kib: Option<u64>,
    /// User plus system CPU seconds of the run's process (and the children
    /// it waited for); `null` when the run could not be started.
    #[serde(default)]
    pub cpu_secs: Option<f64>,
    /// The seed the run was given (a simulated run's `SIM_SEED`); absent
    /// for runs without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The time the test reported for itself, where it does (Go's
    /// `--- PASS: Name (3.21s)`): the test function without process
    /// start-up and exit, to compare `seconds` with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_secs: Option<f64>,
    /// Client operations the test reported doing (GenericTest's puts and
    /// scans, see [`logscan::generic_counts`]), on either side; absent where it
    /// reported none. CPU per operation is the fair comparison of tests
    /// that run their clients for fixed windows: a faster store does more
    /// operations in them, not the same ones sooner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<u64>,
    /// Virtual seconds a simulated run took (its `virtual_ms=`); absent
    /// for runs in real time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_secs: Option<f64>,
}

impl RunRecord {
    pub fn passed(&self) -> bool {
        self.status == Status::Passed
    }
}

/// How to tell whether a run passed, by the kind of test runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checker {
    /// A Rust libtest binary asked to run the test at this path.
    Libtest { path: String },
    /// A Go test binary run with `-test.v -test.run '^name$'`.
    GoTest { name: String },
}

/// Everything needed to run one test once: the command and how to judge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    pub name: String,
    pub binary: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// Added to (not replacing) the runner's own environment.
    pub env: Vec<(String, String)>,
    pub checker: Checker,
    pub side: Side,
    /// When set, each run gets a fresh directory under this one as its
    /// `TMPDIR`, removed after the run whether it passed, failed or was
    /// killed (a killed Go raftstore test leaves ~500 MB per store).
    pub tmp_root: Option<PathBuf>,
    /// When set, each run gets its own seed in an environment variable.
    pub seeds: Option<SeedEnv>,
}

/// Seeds handed to a spec's runs: run `r` (1-based) gets `first + r - 1`
/// in `var` (the simulator reads `SIM_SEED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedEnv {
    pub var: String,
    pub first: u64,
}

impl RunSpec {
    /// The seed run `run` gets, if the spec hands out seeds.
    pub fn seed_of(&self, run: u32) -> Option<u64> {
        self.seeds
            .as_ref()
            .map(|s| s.first + u64::from(run.saturating_sub(1)))
    }

    /// The spec as run `run` executes it: with its seed in the environment.
    fn for_run(&self, run: u32) -> std::borrow::Cow<'_, RunSpec> {
        match (&self.seeds, self.seed_of(run)) {
            (Some(env), Some(seed)) => {
                let mut spec = self.clone();
                spec.env.push((env.var.clone(), seed.to_string()));
                std::borrow::Cow::Owned(spec)
            }
            _ => std::borrow::Cow::Borrowed(self),
        }
    }

    /// Runs `case` alone: `--exact` so a name that is a prefix of another
    /// does not run both, one test thread, output uncaptured so that a
    /// timed-out run's log still shows what the test printed before it hung.
    pub fn libtest(case: &TestCase, name: &str, log_level: Option<&str>) -> RunSpec {
        let mut env = Vec::new();
        if let Some(level) = log_level {
            env.push(("LOG_LEVEL".to_string(), level.to_string()));
        }
        if let Some(cwd) = &case.binary.cwd {
            // `cargo test` sets this at run time too; tests may use it.
            env.push((
                "CARGO_MANIFEST_DIR".to_string(),
                cwd.to_string_lossy().into_owned(),
            ));
        }
        RunSpec {
            name: name.to_string(),
            binary: case.binary.label(),
            program: case.binary.exe.clone(),
            args: vec![
                "--exact".into(),
                case.path.clone(),
                "--test-threads=1".into(),
                "--nocapture".into(),
            ],
            cwd: case.binary.cwd.clone(),
            env,
            checker: Checker::Libtest {
                path: case.path.clone(),
            },
            side: Side::Rust,
            tmp_root: None,
            seeds: None,
        }
    }
}

/// How many runs, how many at once, for how long, and where logs go.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub runs: u32,
    pub jobs: usize,
    pub timeout: Duration,
    pub log_dir: PathBuf,
}

static STOP: AtomicBool = AtomicBool::new(false);

/// Whether an interrupt asked us to stop.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

extern "C" fn on_interrupt(_signal: libc::c_int) {
    // Only an atomic store: the one thing a signal handler may safely do.
    STOP.store(true, Ordering::SeqCst);
}

/// Makes Ctrl-C and SIGTERM stop the runner cleanly.
///
/// Our children lead their own process groups, so the terminal's SIGINT
/// never reaches them; without this a Ctrl-C would leave a cluster test
/// running in the background. Instead the jobs see the flag, kill their
/// groups, and the runner prints what it has.
pub fn install_interrupt_handler() {
    let handler = on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Runs every spec `opts.runs` times, `opts.jobs` at a time, calling
/// `on_done` on this thread as each run finishes (for the progress bar).
///
/// Runs go round-robin (run 1 of every test, then run 2 …) so that an
/// interrupted session still has a row for every test. Records come back in
/// spec order, then run order. After an interrupt, runs not yet started are
/// skipped, and a run cut short by it is no result at all (neither passed
/// nor failed; its log is deleted).
pub fn run(
    specs: &[RunSpec],
    opts: &RunOptions,
    mut on_done: impl FnMut(&RunRecord),
) -> Vec<RunRecord> {
    let work: Vec<(usize, u32)> = (1..=opts.runs)
        .flat_map(|r| (0..specs.len()).map(move |i| (i, r)))
        .collect();
    let next = AtomicUsize::new(0);
    let mut records: Vec<(usize, RunRecord)> = Vec::with_capacity(work.len());
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        for _ in 0..opts.jobs.clamp(1, work.len().max(1)) {
            let tx = tx.clone();
            let (work, next) = (&work, &next);
            scope.spawn(move || loop {
                if stop_requested() {
                    return;
                }
                let Some(&(i, r)) = work.get(next.fetch_add(1, Ordering::SeqCst)) else {
                    return;
                };
                let Some(record) = run_once(&specs[i], r, opts) else {
                    continue;
                };
                if tx.send((i, record)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        for (i, record) in rx {
            on_done(&record);
            records.push((i, record));
        }
    });
    records.sort_by_key(|(i, r)| (*i, r.run));
    records.into_iter().map(|(_, r)| r).collect()
}

/// Where run `run` of `name` logs: one flat directory, names safe for any
/// shell (`TestOneSplit3B.run3.log`).
pub fn log_path(dir: &Path, name: &str, run: u32) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.run{run}.log"))
}

/// Runs `spec` once. Never panics on a test's behalf: a run that cannot even
/// start is a failed run with the reason as its failure line. `None` when
/// an interrupt (Ctrl-C) cut the run short: that is no verdict on the test.
pub fn run_once(spec: &RunSpec, run: u32, opts: &RunOptions) -> Option<RunRecord> {
    let log = log_path(&opts.log_dir, &spec.name, run);
    let tmp = match &spec.tmp_root {
        Some(root) => match private_tmp_dir(root, &spec.name, run) {
            Ok(dir) => Some(dir),
            Err(e) => {
                return Some(unstarted(
                    spec,
                    run,
                    format!("could not make a TMPDIR under {}: {e}", root.display()),
                ))
            }
        },
        None => None,
    };
    let result = execute(&spec.for_run(run), &log, opts.timeout, tmp.as_deref());
    if let Some(dir) = &tmp {
        // The run's process group is dead by now: nothing writes here any
        // more, whatever became of the run.
        let _ = fs::remove_dir_all(dir);
    }
    let (ended, usage) = match result {
        Ok((ended, usage)) => (Ok(ended), Some(usage)),
        Err(e) => (Err(e), None),
    };
    let mut reported_secs = None;
    let (status, seconds, failure) = match ended {
        Ok(Ended::Exited(exit, elapsed)) => {
            let verdict = match judge(spec, &log, exit) {
                Ok((verdict, reported)) => {
                    reported_secs = reported;
                    verdict
                }
                Err(e) => Verdict {
                    passed: false,
                    failure: Some(format!("could not read the log: {e}")),
                },
            };
            let status = if verdict.passed {
                Status::Passed
            } else {
                Status::Failed
            };
            (status, elapsed, verdict.failure)
        }
        Ok(Ended::TimedOut(elapsed)) => (
            Status::TimedOut,
            elapsed,
            Some(format!("timed out after {}s", opts.timeout.as_secs())),
        ),
        Ok(Ended::Interrupted) => {
            let _ = fs::remove_file(&log);
            return None;
        }
        Err(e) => (
            Status::Failed,
            Duration::ZERO,
            Some(format!("could not run {}: {e}", spec.program.display())),
        ),
    };
    let counts = File::open(&log)
        .ok()
        .and_then(|f| logscan::generic_counts(BufReader::new(f)).ok())
        .unwrap_or_default();
    let log = if status == Status::Passed {
        let _ = fs::remove_file(&log);
        None
    } else {
        log.exists().then_some(log)
    };
    Some(RunRecord {
        name: spec.name.clone(),
        binary: spec.binary.clone(),
        side: spec.side,
        run,
        status,
        seconds: seconds.as_secs_f64(),
        failure,
        log,
        max_rss_kib: usage.map(|u| u.max_rss_kib),
        cpu_secs: usage.map(|u| u.cpu_secs),
        reported_secs,
        seed: spec.seed_of(run),
        ops: counts.ops,
        virtual_secs: counts.virtual_ms.map(|ms| ms as f64 / 1000.0),
    })
}

/// A failed record for a run that was never started, with `why`.
fn unstarted(spec: &RunSpec, run: u32, why: String) -> RunRecord {
    RunRecord {
        name: spec.name.clone(),
        binary: spec.binary.clone(),
        side: spec.side,
        run,
        status: Status::Failed,
        seconds: 0.0,
        failure: Some(why),
        log: None,
        max_rss_kib: None,
        cpu_secs: None,
        reported_secs: None,
        seed: spec.seed_of(run),
        ops: None,
        virtual_secs: None,
    }
}

/// A new, empty directory for one run's `TMPDIR`: `<root>/<test>.run<N>`
/// (a leftover of that name, from a run that was not cleaned up, is
/// replaced).
fn private_tmp_dir(root: &Path, name: &str, run: u32) -> io::Result<PathBuf> {
    let dir = log_path(root, name, run).with_extension("tmp");
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The run's verdict, and the time the test reported for itself, if any.
fn judge(spec: &RunSpec, log: &Path, exit: Exit) -> io::Result<(Verdict, Option<f64>)> {
    let reader = BufReader::new(File::open(log)?);
    Ok(match &spec.checker {
        Checker::Libtest { path } => (LibtestLog::scan(reader, path)?.verdict(exit), None),
        Checker::GoTest { name } => {
            let log = GoLog::scan(reader, name)?;
            (log.verdict(exit), log.reported_secs)
        }
    })
}

/// Why we stopped waiting before the child exited on its own.
enum Stop {
    TimedOut,
    Interrupted,
}

/// What a run's process used, as the kernel accounts it at reaping.
#[derive(Debug, Clone, Copy)]
struct Usage {
    /// Peak RSS in KiB (Linux reports `ru_maxrss` in KiB).
    max_rss_kib: u64,
    /// User plus system CPU seconds.
    cpu_secs: f64,
}

enum Ended {
    Exited(Exit, Duration),
    TimedOut(Duration),
    Interrupted,
}

/// Spawns the run in its own process group with stdout and stderr both in
/// `log`, and waits for it until `timeout`. Also returns what it used.
/// `tmp`, if given, is the run's `TMPDIR`.
fn execute(
    spec: &RunSpec,
    log: &Path,
    timeout: Duration,
    tmp: Option<&Path>,
) -> io::Result<(Ended, Usage)> {
    use std::os::unix::process::CommandExt;

    let out = File::create(log)?;
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0);
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    if let Some(tmp) = tmp {
        cmd.env("TMPDIR", tmp);
    }
    let start = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    let deadline = start + timeout;
    let stopped = loop {
        match has_exited(pid) {
            Ok(true) => break None,
            Ok(false) => {}
            Err(e) => {
                // Never leave a run behind, even when we lose track of it.
                kill_group(pid);
                let _ = child.wait();
                return Err(e);
            }
        }
        if stop_requested() {
            break Some(Stop::Interrupted);
        }
        let now = Instant::now();
        if now >= deadline {
            break Some(Stop::TimedOut);
        }
        std::thread::sleep(POLL.min(deadline - now));
    };
    let elapsed = start.elapsed();
    // The leader is not reaped yet, so its group id cannot have been reused:
    // killing the group now reaches exactly this run's processes — the hung
    // test on timeout, or anything a finished test left running.
    kill_group(pid);
    // Reaped here rather than by `child.wait()`, for the resource usage
    // that comes with it; std's `Child` does not reap on drop.
    let (status, usage) = reap(pid)?;
    drop(child);
    let ended = match stopped {
        None => Ended::Exited(Exit::from_status(status), elapsed),
        Some(Stop::TimedOut) => Ended::TimedOut(elapsed),
        Some(Stop::Interrupted) => Ended::Interrupted,
    };
    Ok((ended, usage))
}

/// Waits for `pid` to exit and reaps it, returning its exit status and what
/// it used.
fn reap(pid: libc::pid_t) -> io::Result<(std::process::ExitStatus, Usage)> {
    use std::os::unix::process::ExitStatusExt;

    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain data; wait4 fills it in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to locals we own.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            let used = Usage {
                max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
                cpu_secs: secs(usage.ru_utime) + secs(usage.ru_stime),
            };
            return Ok((std::process::ExitStatus::from_raw(status), used));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Whether `pid` has exited, without reaping it (`WNOWAIT`), so that its
/// process group id stays reserved until we have killed the group.
fn has_exited(pid: libc::pid_t) -> io::Result<bool> {
    // SAFETY: siginfo_t is plain data; waitid fills it in.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let id = libc::id_t::try_from(pid).expect("child pids are positive");
    // SAFETY: a valid pointer to a siginfo_t we own.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            id,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if rc != 0 {
        let err = io::Error::last_os_error();
        return if err.kind() == io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(err)
        };
    }
    // SAFETY: waitid succeeded; si_pid is 0 when no child changed state.
    Ok(unsafe { info.si_pid() } != 0)
}

/// SIGKILLs every process in the group `pgid`. A group that is already gone
/// (ESRCH) is the normal case after a clean exit.
fn kill_group(pgid: libc::pid_t) {
    // SAFETY: plain syscall; a stale or empty group only yields ESRCH.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_paths_are_flat_and_shell_safe() {
        let p = log_path(Path::new("/out"), "raft/raft_test::TestX 2AA", 3);
        assert_eq!(p, PathBuf::from("/out/raft_raft_test__TestX_2AA.run3.log"));
    }

    #[test]
    fn records_serialize_with_snake_case_status() {
        let r = RunRecord {
            name: "TestX".into(),
            binary: "raft/raft".into(),
            side: Side::Go,
            run: 2,
            status: Status::TimedOut,
            seconds: 2.5,
            failure: Some("timed out after 2s".into()),
            log: None,
            max_rss_kib: Some(2048),
            reported_secs: None,
            ops: None,
            virtual_secs: None,
            cpu_secs: Some(1.5),
            seed: None,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["status"], "timed_out");
        assert_eq!(v["log"], serde_json::Value::Null);
        assert_eq!(v["run"], 2);
        assert_eq!(v["max_rss_kib"], 2048);
        assert_eq!(v["cpu_secs"], 1.5);
        assert_eq!(v["side"], "go");
        // Reports from before the Go side was reported read back as ours.
        let mut old = v.clone();
        old.as_object_mut().unwrap().remove("side");
        let back: RunRecord = serde_json::from_value(old).unwrap();
        assert_eq!(back.side, Side::Rust);
    }
}
