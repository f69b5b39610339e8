//! Settings, from command-line flags and environment variables (`GRIDGOV_*`, `DATABASE_URL`).

use clap::{Args, ValueEnum};
use std::net::SocketAddr;

/// Database settings shared by every subcommand that touches data.
#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// Database URL: `sqlite://FILE?mode=rwc` (embedded, the default) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://gridgov.db?mode=rwc",
        global = true
    )]
    pub database_url: String,
    /// Maximum number of pooled database connections.
    #[arg(
        long,
        env = "GRIDGOV_DB_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub db_max_connections: u32,
    /// Seconds to wait for a pooled connection before a request fails.
    #[arg(
        long,
        env = "GRIDGOV_DB_ACQUIRE_TIMEOUT",
        default_value_t = 5,
        global = true
    )]
    pub db_acquire_timeout: u64,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Telemetry settings.
#[derive(Debug, Clone, Args)]
pub struct TelemetrySettings {
    /// Log format.
    #[arg(long, env = "GRIDGOV_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
    /// Log filter in `tracing` EnvFilter syntax, e.g. `info,gridgov=debug`.
    #[arg(long, env = "GRIDGOV_LOG", default_value = "info", global = true)]
    pub log: String,
}

/// Settings of the HTTP server.
#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, env = "GRIDGOV_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Seed the demo data set first when the database holds no demo data yet.
    #[arg(long, env = "GRIDGOV_DEMO")]
    pub demo: bool,
    /// Scale of the demo data set seeded by `--demo`.
    #[arg(long, env = "GRIDGOV_DEMO_SCALE", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=999))]
    pub scale: u32,
    /// Do not run pending migrations at start-up.
    #[arg(long, env = "GRIDGOV_SKIP_MIGRATIONS")]
    pub skip_migrations: bool,
    /// Report the number of SQL statements a request ran in `extensions.sqlStatements`.
    #[arg(long, env = "GRIDGOV_DEBUG_EXTENSIONS")]
    pub debug_extensions: bool,
}

impl ServeSettings {
    /// Settings for tests and embedding: listen on a free loopback port, nothing else.
    pub fn ephemeral() -> Self {
        ServeSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            demo: false,
            scale: 1,
            skip_migrations: false,
            debug_extensions: false,
        }
    }
}
