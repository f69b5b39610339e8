//! `gridgov`: parse settings, set up telemetry, run the subcommand.

use clap::Parser;
use gridgov::cli::{Cli, run};
use std::process::ExitCode;

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
