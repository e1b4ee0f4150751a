//! The raft library and the raftstore's handlers take time and randomness
//! from their callers (ticks, seeded generators), so that a deterministic
//! driver can run them later. This test keeps it so: it fails when a file of
//! `raft/src` or `kv/src/raftstore` reads the clock, sleeps, starts a
//! thread, draws from a global random generator or iterates a hash map
//! (whose order is seeded per process), outside a short list of
//! places that are the threaded runtime's own (its loops and waits).

use std::path::{Path, PathBuf};

/// What may not appear in handler code.
const FORBIDDEN: &[&str] = &[
    "Instant::now",
    "SystemTime::now",
    "thread::sleep",
    "thread::spawn",
    "thread::Builder",
    "thread_rng",
    "rand::random",
    "OsRng",
    // std's hash maps iterate in an order seeded per process: a loop over
    // one (peers to tick, progress to report) would order messages
    // differently in every run. BTreeMap iterates in key order.
    "HashMap",
    "HashSet",
];

/// (file, pattern, why it is allowed there). Each entry must still match,
/// so the list cannot go stale.
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "kv/src/raftstore/message.rs",
        "Instant::now",
        "a client waiting on a callback with a deadline, not a handler",
    ),
    (
        "kv/src/raftstore/node.rs",
        "thread::sleep",
        "start-up: waiting for the scheduler to bootstrap the cluster",
    ),
    (
        "kv/src/raftstore/store.rs",
        "thread::Builder",
        "the threaded runtime starts the raft worker, store worker and workers here",
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Test-only files: unit tests and the raft test harness may do as they like.
fn is_test_file(rel: &str) -> bool {
    rel.ends_with("_test.rs") || rel.ends_with("/tests.rs") || rel.ends_with("test_harness.rs")
}

/// The code of a file without its `#[cfg(test)]` modules and comments.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut skipping_test_mod = false;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            // Test modules sit at the end of a file, as everywhere here.
            skipping_test_mod = true;
        }
        if skipping_test_mod || t.starts_with("//") {
            continue;
        }
        let code = line.split("//").next().unwrap_or("");
        lines.push((i + 1, code.to_string()));
    }
    lines
}

#[test]
fn handlers_take_time_and_randomness_from_their_callers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("raft/src"), &mut files);
    rust_files(&root.join("kv/src/raftstore"), &mut files);
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut found = Vec::new();
    let mut used = vec![false; ALLOWED.len()];
    for path in &files {
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if is_test_file(&rel) {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for (line_no, code) in code_lines(&text) {
            for pattern in FORBIDDEN {
                if !code.contains(pattern) {
                    continue;
                }
                match ALLOWED
                    .iter()
                    .position(|(f, p, _)| *f == rel && p == pattern)
                {
                    Some(i) => used[i] = true,
                    None => found.push(format!("{rel}:{line_no}: {pattern}: {}", code.trim())),
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "hidden nondeterminism (take the time or randomness from the caller, or \
         justify an entry in ALLOWED):\n{}",
        found.join("\n")
    );
    let stale: Vec<_> = ALLOWED
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|((f, p, _), _)| format!("{f}: {p}"))
        .collect();
    assert!(
        stale.is_empty(),
        "ALLOWED entries that no longer match: {stale:?}"
    );
}

#[test]
fn the_scan_sees_what_it_should() {
    let code = "let t = Instant::now(); // Instant::now in a comment\n// thread::sleep\n#[cfg(test)]\nmod tests { fn f() { std::thread::sleep(d) } }\n";
    let lines = code_lines(code);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].1.contains("Instant::now"));
    assert!(!lines[0].1.contains("comment"));
    assert!(is_test_file("raft/src/raft_test.rs"));
    assert!(!is_test_file("raft/src/raft.rs"));
}
