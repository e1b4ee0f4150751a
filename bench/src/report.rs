//! The benchmark's result: a table for people, JSON for tools.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::stats::{quantile, OpKind, Stats};

#[derive(Clone, Debug, Serialize)]
pub struct Workload {
    pub stores: usize,
    pub clients: usize,
    pub duration_secs: f64,
    pub puts: u32,
    pub gets: u32,
    pub scans: u32,
    pub deletes: u32,
    pub key_size: usize,
    pub value_size: usize,
    pub keys: u64,
    pub distribution: String,
    pub unreliable: bool,
    pub partitions: bool,
    pub restarts: bool,
    pub split: bool,
    pub seed: u64,
    /// Stores cut off from the others for the whole run.
    pub isolated: Vec<u64>,
    /// Stores whose messages were delayed by `slow_ms`.
    pub slow: Vec<u64>,
    pub slow_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct OpReport {
    pub count: u64,
    pub ops_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub workload: Workload,
    pub elapsed_secs: f64,
    pub ops: BTreeMap<String, OpReport>,
    pub total_ops_per_sec: f64,
    pub errors: BTreeMap<String, u64>,
    pub cpu_user_secs: f64,
    pub cpu_sys_secs: f64,
    /// CPU of the whole process over the run, in percent of one core.
    pub cpu_percent: f64,
    /// CPU of the started but idle cluster, in percent of one core.
    pub idle_cpu_percent: f64,
    pub peak_rss_mib: f64,
    pub raft_messages_sent: u64,
    pub ready_rounds: u64,
    pub raft_batch_writes: u64,
    pub raft_batch_syncs: u64,
    pub mean_entries_per_raft_batch: f64,
    pub mean_entries_per_kv_batch: f64,
    pub regions: usize,
    /// Keys read back at the end and found as last acknowledged.
    pub verified_keys: u64,
    /// Keys whose last acknowledged write was not found (must be 0).
    pub lost_keys: u64,
    /// Gets of a client's own key that missed its last write (must be 0).
    pub wrong_reads: u64,
    /// Operations completed in each whole second of the run.
    pub ops_per_second: Vec<u64>,
}

/// A run with stores cut off or slowed, against the same load without.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub baseline_ops_per_sec: f64,
    pub ops_per_sec: f64,
    /// `ops_per_sec / baseline_ops_per_sec`.
    pub ratio: f64,
    /// Second by second: this run's operations over the baseline's mean
    /// per second (so a decay over the run shows).
    pub per_second_ratio: Vec<f64>,
    pub baseline_cpu_percent: f64,
    pub cpu_percent: f64,
}

impl Comparison {
    pub fn new(baseline: &Report, run: &Report) -> Comparison {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        Comparison {
            baseline_ops_per_sec: baseline.total_ops_per_sec,
            ops_per_sec: run.total_ops_per_sec,
            ratio: ratio(run.total_ops_per_sec, baseline.total_ops_per_sec),
            per_second_ratio: run
                .ops_per_second
                .iter()
                .map(|&n| ratio(n as f64, baseline.total_ops_per_sec))
                .collect(),
            baseline_cpu_percent: baseline.cpu_percent,
            cpu_percent: run.cpu_percent,
        }
    }

    pub fn table(&self) -> String {
        let series: Vec<String> = self
            .per_second_ratio
            .iter()
            .map(|r| format!("{:.0}%", r * 100.0))
            .collect();
        format!(
            "against the baseline: {:.0} / {:.0} ops/s = {:.1}%; CPU {:.0}% vs {:.0}% of a core\n\
             second by second: {}\n",
            self.ops_per_sec,
            self.baseline_ops_per_sec,
            self.ratio * 100.0,
            self.cpu_percent,
            self.baseline_cpu_percent,
            series.join(" ")
        )
    }
}

fn ms(us: u32) -> f64 {
    us as f64 / 1000.0
}

/// Per-kind throughput and latency of `stats` over `secs`.
pub fn op_reports(stats: &mut Stats, secs: f64) -> BTreeMap<String, OpReport> {
    let mut out = BTreeMap::new();
    for kind in OpKind::ALL {
        let Some(samples) = stats.latencies.get_mut(&kind) else {
            continue;
        };
        if samples.is_empty() {
            continue;
        }
        samples.sort_unstable();
        out.insert(
            kind.name().to_string(),
            OpReport {
                count: samples.len() as u64,
                ops_per_sec: samples.len() as f64 / secs,
                p50_ms: ms(quantile(samples, 0.5)),
                p99_ms: ms(quantile(samples, 0.99)),
                p999_ms: ms(quantile(samples, 0.999)),
                max_ms: ms(*samples.last().unwrap()),
            },
        );
    }
    out
}

impl Report {
    /// The human-readable form.
    pub fn table(&self) -> String {
        let w = &self.workload;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "workload: {} stores, {} clients, {:.1} s, puts/gets/scans/deletes = {}/{}/{}/{} %, \
             keys {} B x {} ({}), values {} B{}{}{}{}",
            w.stores,
            w.clients,
            self.elapsed_secs,
            w.puts,
            w.gets,
            w.scans,
            w.deletes,
            w.key_size,
            w.keys,
            w.distribution,
            w.value_size,
            if w.unreliable { ", unreliable" } else { "" },
            if w.partitions { ", partitions" } else { "" },
            if w.restarts { ", restarts" } else { "" },
            if w.split { ", split" } else { "" },
        );
        if !w.isolated.is_empty() {
            let _ = writeln!(s, "isolated for the whole run: stores {:?}", w.isolated);
        }
        if !w.slow.is_empty() {
            let _ = writeln!(
                s,
                "slow for the whole run: stores {:?}, every message {} ms late",
                w.slow, w.slow_ms
            );
        }
        let _ = writeln!(
            s,
            "\n{:<8} {:>10} {:>11} {:>9} {:>9} {:>9} {:>9}",
            "op", "count", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms"
        );
        for (name, r) in &self.ops {
            let _ = writeln!(
                s,
                "{:<8} {:>10} {:>11.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                name, r.count, r.ops_per_sec, r.p50_ms, r.p99_ms, r.p999_ms, r.max_ms
            );
        }
        let _ = writeln!(
            s,
            "{:<8} {:>10} {:>11.0}",
            "total", "", self.total_ops_per_sec
        );
        let errors = if self.errors.is_empty() {
            "none".to_string()
        } else {
            self.errors
                .iter()
                .map(|(k, n)| format!("{k}={n}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = writeln!(s, "\nerrors/retries: {errors}");
        let _ = writeln!(
            s,
            "cpu: {:.1} s user + {:.1} s sys = {:.0}% of a core; idle cluster {:.1}% of a core; peak RSS {:.0} MiB",
            self.cpu_user_secs, self.cpu_sys_secs, self.cpu_percent, self.idle_cpu_percent, self.peak_rss_mib
        );
        let _ = writeln!(
            s,
            "raft: {} messages, {} ready rounds, {} raft batches ({} synced), {:.1} entries/raft batch, {:.1} entries/kv batch, {} regions",
            self.raft_messages_sent,
            self.ready_rounds,
            self.raft_batch_writes,
            self.raft_batch_syncs,
            self.mean_entries_per_raft_batch,
            self.mean_entries_per_kv_batch,
            self.regions
        );
        let _ = writeln!(
            s,
            "read-back: {} keys verified, {} lost",
            self.verified_keys, self.lost_keys
        );
        if self.wrong_reads > 0 {
            let _ = writeln!(
                s,
                "wrong reads: {} gets of a client's own key missed its last write",
                self.wrong_reads
            );
        }
        let series: Vec<String> = self.ops_per_second.iter().map(u64::to_string).collect();
        let _ = writeln!(s, "ops per second: {}", series.join(" "));
        s
    }
}
