//! A stand-in for a libtest test binary, for the runner's own tests.
//!
//! It answers `--list --format terse [--ignored]` and `--exact <path>` the
//! way libtest does, and its tests pass, fail, hang or are ignored on
//! purpose. The hanging test also starts a child process, so the runner's
//! tests can check that a timeout kills the whole process group, not just
//! the process it spawned.
//!
//! With `LAB_FIXTURE_SUITE=grade` it holds the grader's suite instead: tests
//! with Go-style names ending in a project suffix (`TestFixturePasses2B`),
//! so that `tinykv-lab grade` maps them to projects. What a test does
//! follows from its name: `Passes`, `Fails` (after printing a replay seed),
//! `Flaky` (fails every second run, counted in `LAB_FIXTURE_DIR`), `Sleeps`
//! (hangs) or `Ignored`.
//!
//! With `LAB_FIXTURE_SUITE=goref` it holds tests named like Go catalogue
//! tests (`TestLeaderElection2AA`, `TestOneSplit3B`) and one Go does not
//! have, all passing, for the side-by-side runs against a stand-in Go.

use std::io::Write;
use std::process::{exit, Command};
use std::time::Duration;

const TESTS: [&str; 4] = [
    "fixture::fixture_passes",
    "fixture::fixture_fails",
    "fixture::fixture_sleeps",
    "fixture::fixture_ignored",
];

/// The grader's suite (`LAB_FIXTURE_SUITE=grade`).
const GRADE_TESTS: [&str; 7] = [
    "grade::TestFixturePasses1",
    "grade::TestFixturePasses2B",
    "grade::TestFixtureFails2B",
    "grade::TestFixtureFlaky2B",
    "grade::TestFixturePasses3B",
    "grade::TestFixtureSleeps3A",
    "grade::TestFixtureIgnored3B",
];

/// The side-by-side suite (`LAB_FIXTURE_SUITE=goref`): every test passes.
const GOREF_TESTS: [&str; 3] = [
    "goref::TestLeaderElection2AA",
    "goref::TestOneSplit3B",
    "goref::TestFixtureNotInGo2B",
];

/// The seed `TestFixtureFails2B` prints, as the raftstore suites do.
const SEED: &str = "TINYKV_SEED=4242";

/// The message `fixture_fails` panics with.
const FAILURE: &str = "fixture failure: expected 1, got 2";

fn summary(passed: u32, failed: u32, ignored: u32) {
    let ok = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {ok}. {passed} passed; {failed} failed; {ignored} ignored; 0 measured; 3 filtered out; finished in 0.00s\n"
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);

    if has("--grandchild") {
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let suite = std::env::var("LAB_FIXTURE_SUITE").unwrap_or_default();
    let tests: &[&str] = match suite.as_str() {
        "grade" => &GRADE_TESTS,
        "goref" => &GOREF_TESTS,
        _ => &TESTS,
    };
    if has("--list") {
        for t in tests {
            if !has("--ignored") || t.to_ascii_lowercase().contains("ignored") {
                println!("{t}: test");
            }
        }
        return;
    }

    let path = args
        .iter()
        .position(|a| a == "--exact")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_default();
    if !tests.contains(&path.as_str()) {
        println!("\nrunning 0 tests");
        summary(0, 0, 0);
        return;
    }
    println!("\nrunning 1 test");
    let name = path
        .rsplit("::")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let behaviour = ["passes", "fails", "flaky", "sleeps"]
        .into_iter()
        .find(|b| name.contains(b) || suite == "goref")
        .unwrap_or("ignored");
    let behaviour = if behaviour == "flaky" {
        if flaky_run_fails(&name) {
            "fails"
        } else {
            "passes"
        }
    } else {
        behaviour
    };
    match behaviour {
        "passes" => {
            println!("test {path} ... ok");
            summary(1, 0, 0);
        }
        "fails" => {
            if path.starts_with("grade::") {
                eprintln!("{SEED}");
            }
            // A real panic on a thread named like libtest's test thread, so
            // the log has exactly the format the runner must parse.
            let name = path.clone();
            let _ = std::thread::Builder::new()
                .name(name)
                .spawn(|| panic!("{FAILURE}"))
                .unwrap()
                .join();
            println!("test {path} ... FAILED\n\nfailures:\n    {path}");
            summary(0, 1, 0);
            exit(101);
        }
        "sleeps" => {
            let me = std::env::current_exe().unwrap();
            let mut child = Command::new(me).arg("--grandchild").spawn().unwrap();
            if let Some(file) = std::env::var_os("LAB_FIXTURE_PIDS") {
                let mut f = std::fs::File::create(file).unwrap();
                writeln!(f, "{} {}", std::process::id(), child.id()).unwrap();
            }
            std::thread::sleep(Duration::from_secs(30));
            // Only reached if nobody killed us: tidy up like a good test.
            let _ = child.kill();
            let _ = child.wait();
            println!("test {path} ... ok");
            summary(1, 0, 0);
        }
        _ => {
            println!("test {path} ... ignored");
            summary(0, 0, 1);
        }
    }
}

/// Whether this run of a flaky test fails: every second run does, counted
/// per test in a file under `LAB_FIXTURE_DIR` (runs of one test are never
/// at the same time: the grader runs 2B tests one at a time).
fn flaky_run_fails(name: &str) -> bool {
    let Some(dir) = std::env::var_os("LAB_FIXTURE_DIR") else {
        return false;
    };
    let counter = std::path::Path::new(&dir).join(format!("{name}.runs"));
    let runs = std::fs::read_to_string(&counter)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(0)
        + 1;
    std::fs::write(&counter, runs.to_string()).unwrap();
    let odd = runs % 2 == 1;
    !odd
}
