//! A cluster of real processes on loopback: one `mock-scheduler` and N
//! `tinykv-server`s, each in its own data directory. Every process is
//! killed (SIGKILL) when the cluster is dropped, whatever happened.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The workspace's binaries sit next to the test's `deps/` directory.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace's binaries (cargo build --release --workspace)",
        path.display()
    );
    path
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Child processes by name, killed when dropped.
#[derive(Default)]
struct Procs {
    children: Vec<(String, Child)>,
}

impl Procs {
    fn spawn(&mut self, name: &str, cmd: &mut Command) {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        self.children.push((name.to_string(), child));
    }

    fn kill(&mut self, name: &str) {
        if let Some(i) = self.children.iter().position(|(n, _)| n == name) {
            let (_, mut child) = self.children.remove(i);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (a `kill` signal name) to the named process.
    fn signal(&self, name: &str, signal: &str) {
        let Some((_, child)) = self.children.iter().find(|(n, _)| n == name) else {
            return;
        };
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {name}");
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How the stores split their regions.
#[derive(Clone, Copy, Debug)]
pub struct RegionSizes {
    pub max: u64,
    pub split: u64,
}

pub struct LoopbackCluster {
    /// The scheduler's address, for clients.
    pub scheduler: String,
    ports: Vec<u16>,
    paths: Vec<PathBuf>,
    sizes: RegionSizes,
    procs: Procs,
    // Dropped last: the processes go before their directories.
    _dir: tempfile::TempDir,
}

impl LoopbackCluster {
    /// Starts the scheduler, then the stores one by one (the first
    /// bootstraps the cluster, the others join it).
    pub fn start(stores: usize, sizes: RegionSizes) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let scheduler = format!("127.0.0.1:{}", free_port());
        let mut cluster = LoopbackCluster {
            ports: (0..stores).map(|_| free_port()).collect(),
            paths: (1..=stores)
                .map(|i| dir.path().join(format!("s{i}")))
                .collect(),
            scheduler,
            sizes,
            procs: Procs::default(),
            _dir: dir,
        };
        cluster.procs.spawn(
            "scheduler",
            Command::new(bin("mock-scheduler")).args(["--addr", &cluster.scheduler]),
        );
        std::thread::sleep(Duration::from_millis(300));
        for i in 0..stores {
            cluster.start_store(i);
            std::thread::sleep(Duration::from_millis(300));
        }
        cluster
    }

    pub fn stores(&self) -> usize {
        self.ports.len()
    }

    fn name(i: usize) -> String {
        format!("s{i}")
    }

    /// Starts store `i` (0-based) over its directory: a restart if it ran
    /// before.
    pub fn start_store(&mut self, i: usize) {
        let mut cmd = Command::new(bin("tinykv-server"));
        cmd.args(["--test-timing", "--scheduler", &self.scheduler])
            .args(["--region-max-size", &self.sizes.max.to_string()])
            .args(["--region-split-size", &self.sizes.split.to_string()])
            .args(["--addr", &format!("127.0.0.1:{}", self.ports[i])])
            .arg("--path")
            .arg(&self.paths[i])
            .env("LOG_LEVEL", "fatal");
        self.procs.spawn(&Self::name(i), &mut cmd);
    }

    /// Kills store `i` (SIGKILL: no clean shutdown).
    pub fn kill_store(&mut self, i: usize) {
        self.procs.kill(&Self::name(i));
    }

    /// Freezes store `i` (SIGSTOP): it neither sends nor answers, to the
    /// other stores and to clients alike, until [`Self::resume_store`].
    pub fn pause_store(&self, i: usize) {
        self.procs.signal(&Self::name(i), "STOP");
    }

    pub fn resume_store(&self, i: usize) {
        self.procs.signal(&Self::name(i), "CONT");
    }
}
