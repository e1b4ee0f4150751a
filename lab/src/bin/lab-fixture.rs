//! A stand-in for a libtest test binary, for the runner's own tests.
//!
//! It answers `--list --format terse [--ignored]` and `--exact <path>` the
//! way libtest does, and its tests pass, fail, hang or are ignored on
//! purpose. The hanging test also starts a child process, so the runner's
//! tests can check that a timeout kills the whole process group, not just
//! the process it spawned.

use std::io::Write;
use std::process::{exit, Command};
use std::time::Duration;

const TESTS: [&str; 4] = [
    "fixture::fixture_passes",
    "fixture::fixture_fails",
    "fixture::fixture_sleeps",
    "fixture::fixture_ignored",
];

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
    if has("--list") {
        for t in TESTS {
            if !has("--ignored") || t.ends_with("_ignored") {
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
    if !TESTS.contains(&path.as_str()) {
        println!("\nrunning 0 tests");
        summary(0, 0, 0);
        return;
    }
    println!("\nrunning 1 test");
    match path.rsplit("::").next().unwrap_or_default() {
        "fixture_passes" => {
            println!("test {path} ... ok");
            summary(1, 0, 0);
        }
        "fixture_fails" => {
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
        "fixture_sleeps" => {
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
