//! `gridgov`: parse settings, set up telemetry, run the subcommand.

use clap::Parser;
use gridgov::cli::{Cli, run};
use std::process::ExitCode;

/// jemalloc instead of glibc's malloc: a nested read spends about a quarter of its instructions
/// in malloc/free, and under glibc the throughput falls as concurrency rises (bench, nested
/// read at scale 100: 16 clients 151 → 187 requests/s, 128 clients 81 → 145 requests/s). See
/// docs/benchmarks.md.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let _telemetry = gridgov::telemetry::init(&cli.telemetry);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "gridgov failed");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
