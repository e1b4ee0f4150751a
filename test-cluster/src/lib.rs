//! The in-process test cluster of the raftstore suites (TinyKV's
//! `kv/test_raftstore`): stores over a simulated network with message
//! filters, the mock scheduler, and the helpers tests are written with.
//!
//! Two layers, one set of sends underneath:
//!
//! * **Go's harness**, under Go's names, for the ported suites:
//!   [`Cluster::must_put`], [`Cluster::request`] and the other `must_*`
//!   helpers retry until a store answers without error, and panic when
//!   they give up; [`PartitionFilter`] and [`DropFilter`].
//! * **The toolkit** for new scenarios: commands tried once with an honest
//!   [`Outcome`] ([`Cluster::try_request`], [`Cluster::try_command`],
//!   [`Cluster::try_command_on_store`]); splits ([`Cluster::must_split`],
//!   [`Cluster::split_region`]); region views ([`Cluster::scheduler_regions`],
//!   [`Cluster::check_regions_contiguous`], [`Cluster::region_state`],
//!   [`Cluster::store_regions`]); who leads ([`Cluster::confirmed_leader`]);
//!   reads ([`Cluster::get_opt`], [`Cluster::scan_all`]); a store's
//!   [`Cluster::router`]; and [`MessageFilter`] for any fault the network
//!   can make; client histories checked for linearizability
//!   ([`record`], [`check_history`], over the `lincheck` crate).
//!
//! `docs/WRITING_TESTS.md` in the repository walks through writing a
//! scenario; `tests/scenarios.rs` holds its worked examples.
//!
//! ```
//! use kv::config::Config;
//! use test_cluster::new_test_cluster;
//!
//! let mut cluster = new_test_cluster(3, Config::new_test_config());
//! cluster.start();
//! cluster.must_put(b"k", b"v");
//! cluster.must_get(b"k", b"v");
//! cluster.shutdown();
//! ```

#![deny(missing_docs)]

mod attempt;
pub mod cluster;
pub mod filter;
pub mod generic;
pub mod history;
pub mod node;
pub mod outcome;
pub mod panics;
pub mod regions;
pub mod rng;
pub mod sim;
pub mod utils;

use std::sync::Once;

pub use cluster::{new_test_cluster, region_scan, Cluster};
pub use filter::{DropFilter, Filter, MessageFilter, PartitionFilter};
pub use history::{check_history, record, record_attempt, RecordedClient};
pub use node::{MockTransport, NodeSimulator, Simulator};
pub use outcome::{Answer, Outcome, Refusal, Uncertain};
pub use regions::PendingCommand;
pub use rng::{test_seed, Rng};
pub use utils::*;

/// Logs to stderr at `level` (Go's LOG_LEVEL values; silent by default).
pub fn init_logging(level: &str) {
    static ONCE: Once = Once::new();
    let level = match level.to_ascii_lowercase().as_str() {
        "debug" => Some("debug"),
        "info" => Some("info"),
        "warn" | "warning" => Some("warn"),
        "error" => Some("error"),
        _ => None,
    };
    // Tests stay quiet unless LOG_LEVEL asks for more than the default.
    if std::env::var(kv::config::LOG_LEVEL_ENV).is_err() {
        return;
    }
    if let Some(level) = level {
        ONCE.call_once(|| {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(level))
                .with_writer(std::io::stderr)
                .with_test_writer()
                .try_init();
        });
    }
}
