//! End to end: one mock-scheduler and three tinykv-server processes on
//! loopback, driven through gRPC by the cluster client. Everything is torn
//! down at the end, whatever happens (the processes are killed on drop).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kv::server::client::ClusterClient;

/// The workspace's binaries sit next to the test's `deps/` directory.
fn bin(name: &str) -> PathBuf {
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Child processes killed (SIGKILL) when dropped.
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
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn server_cmd(scheduler: &str, port: u16, path: &Path) -> Command {
    let mut cmd = Command::new(bin("tinykv-server"));
    cmd.args(["--test-timing", "--scheduler", scheduler])
        .args(["--region-max-size", &REGION_MAX_SIZE.to_string()])
        .args([
            "--region-split-size",
            &(REGION_MAX_SIZE * 2 / 3).to_string(),
        ])
        .args(["--addr", &format!("127.0.0.1:{port}")])
        .arg("--path")
        .arg(path)
        .env("LOG_LEVEL", "fatal");
    cmd
}

/// Small regions, so that the data below splits them.
const REGION_MAX_SIZE: u64 = 64 * 1024;

fn key(i: usize) -> Vec<u8> {
    format!("key-{i:06}").into_bytes()
}

/// About 120 bytes, so that 1,000 keys make about 2 regions' worth.
fn value(i: usize, round: usize) -> Vec<u8> {
    let mut v = format!("value-{i}-{round}-").into_bytes();
    v.resize(120, b'.');
    v
}

async fn check_all(c: &mut ClusterClient, n: usize, round_of: impl Fn(usize) -> usize) {
    for i in 0..n {
        let got = c.get("default", &key(i)).await.expect("get");
        assert_eq!(got, Some(value(i, round_of(i))), "key {i}");
    }
}

#[test]
fn e2e_loopback_cluster() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scheduler = format!("127.0.0.1:{}", free_port());
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let paths: Vec<PathBuf> = (1..=3).map(|i| dir.path().join(format!("s{i}"))).collect();

    let mut procs = Procs {
        children: Vec::new(),
    };
    procs.spawn(
        "scheduler",
        Command::new(bin("mock-scheduler")).args(["--addr", &scheduler]),
    );
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..3 {
        procs.spawn(
            &format!("s{i}"),
            &mut server_cmd(&scheduler, ports[i], &paths[i]),
        );
        // The first store bootstraps the cluster; the others join it.
        std::thread::sleep(Duration::from_millis(300));
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut c = ClusterClient::connect(&scheduler).await.expect("connect");
        const N: usize = 1000;
        let mut latencies = Vec::with_capacity(N);
        let start = Instant::now();
        for i in 0..N {
            let t = Instant::now();
            c.put("default", &key(i), &value(i, 0)).await.expect("put");
            latencies.push(t.elapsed());
        }
        let secs = start.elapsed().as_secs_f64();
        latencies.sort();
        eprintln!(
            "e2e: {N} sequential puts in {secs:.2} s: {:.0} puts/s, p50 {:?}, p99 {:?}",
            N as f64 / secs,
            latencies[N / 2],
            latencies[N * 99 / 100]
        );
        check_all(&mut c, N, |_| 0).await;
        // ~130 KB with 64 KiB regions: the region has split (split check,
        // AskSplit over gRPC, the split applied, heartbeats), and reads
        // across the new regions still find every key.
        let deadline = Instant::now() + Duration::from_secs(20);
        while c.region_count().await.expect("scan regions") < 2 {
            assert!(Instant::now() < deadline, "the first region never split");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        check_all(&mut c, N, |_| 0).await;

        // Lose a store: the others keep serving.
        procs.kill("s0");
        for i in 0..N / 2 {
            c.put("default", &key(i), &value(i, 1))
                .await
                .expect("put without s0");
        }
        check_all(&mut c, N, |i| usize::from(i < N / 2)).await;

        // Bring it back and make it needed: with another store down, the
        // quorum is the restarted one and the survivor, so everything read
        // now went through a store that had to catch up.
        procs.spawn("s0", &mut server_cmd(&scheduler, ports[0], &paths[0]));
        tokio::time::sleep(Duration::from_secs(2)).await;
        procs.kill("s1");
        check_all(&mut c, N, |i| usize::from(i < N / 2)).await;
        for i in N / 2..N {
            c.put("default", &key(i), &value(i, 2))
                .await
                .expect("put after restart");
        }
        check_all(&mut c, N, |i| if i < N / 2 { 1 } else { 2 }).await;
        eprintln!(
            "e2e: {} regions at the end, {} retries along the way",
            c.region_count().await.unwrap_or(0),
            c.retries
        );
    });
    drop(procs);
}
