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

/// Database connection options beyond the URL and the pool size. Kept apart from
/// [`DatabaseSettings`] so that code building those by hand keeps compiling; the default is
/// what the flags default to.
#[derive(Debug, Clone, Args)]
pub struct DatabaseTuning {
    /// Prepared statements each PostgreSQL connection keeps (sqlx's statement cache). Set 0
    /// behind a transaction-mode pooler such as PgBouncer, where a connection's prepared
    /// statements may belong to another server session.
    #[arg(
        long,
        env = "GRIDGOV_DB_STATEMENT_CACHE",
        default_value_t = DatabaseTuning::default().db_statement_cache,
        global = true
    )]
    pub db_statement_cache: usize,
}

impl Default for DatabaseTuning {
    fn default() -> Self {
        // sqlx's own default capacity.
        DatabaseTuning {
            db_statement_cache: 100,
        }
    }
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
    /// Database URL of a read replica: GraphQL queries read from it, while mutations, the
    /// audit trail and the personal-data access log use the primary (`DATABASE_URL`).
    #[arg(long, env = "GRIDGOV_READ_REPLICA_URL", hide_env_values = true)]
    pub read_replica_url: Option<String>,
    /// Direct PostgreSQL URL for the change listener (`LISTEN`), when `DATABASE_URL` goes
    /// through a transaction-mode pooler, which cannot carry LISTEN sessions.
    #[arg(long, env = "GRIDGOV_NOTIFY_DATABASE_URL", hide_env_values = true)]
    pub notify_database_url: Option<String>,
    /// Seconds in-flight requests get to finish after SIGTERM/SIGINT; connections still open
    /// then are dropped.
    #[arg(long, env = "GRIDGOV_SHUTDOWN_GRACE", default_value_t = 30)]
    pub shutdown_grace: u64,
    /// Seconds between checks of an open WebSocket's credential: a connection whose key was
    /// revoked or whose token expired meanwhile is closed with code 4403.
    #[arg(long, env = "GRIDGOV_WS_RECHECK", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ws_recheck: u64,
    /// Report the number of SQL statements a request ran in `extensions.sqlStatements`.
    #[arg(long, env = "GRIDGOV_DEBUG_EXTENSIONS")]
    pub debug_extensions: bool,
    /// Serve GraphiQL at `GET /graphql` (default: on in development, off in production).
    /// `--graphiql` alone turns it on.
    #[arg(long, env = "GRIDGOV_GRAPHIQL", num_args = 0..=1, default_missing_value = "true")]
    pub graphiql: Option<bool>,
    /// Serve `/metrics` on this address of its own instead of on the main listener, so that
    /// the scraper's network can reach it and the public one cannot.
    #[arg(long, env = "GRIDGOV_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Origins that browsers may call the API from (CORS), comma-separated and exact, e.g.
    /// `https://portal.example.gov.cn`; `*` for any origin (then without credentials). Empty
    /// (the default): no cross-origin calls.
    #[arg(long, env = "GRIDGOV_CORS_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub cors_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed (comma-separated addresses or CIDR ranges,
    /// e.g. `10.0.0.0/8,192.0.2.7`): the client address of a request arriving from one of them
    /// is the first untrusted hop from the right. Empty (the default): the TCP peer is the
    /// client.
    #[arg(long, env = "GRIDGOV_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    #[command(flatten)]
    pub limits: Limits,
    #[command(flatten)]
    pub auth: AuthSettings,
    #[command(flatten)]
    pub documents: crate::persisted::DocumentSettings,
}

/// Parses one `GRIDGOV_TRUSTED_PROXIES` entry: a CIDR range (`10.0.0.0/8`) or a single
/// address (`10.0.0.7`, `::1`).
pub fn parse_proxy(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("`{s}` is neither an IP address nor a CIDR range"))
}

/// One CORS origin: `*`, or `scheme://host[:port]` exactly as a browser sends it in `Origin`
/// (no path, no trailing slash).
fn parse_origin(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s == "*" {
        return Ok(s.to_owned());
    }
    let bad = || {
        format!(
            "`{s}` is not an origin: write scheme://host[:port], e.g. https://portal.example.org"
        )
    };
    let (scheme, rest) = s.split_once("://").ok_or_else(bad)?;
    let host_ok = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    if !matches!(scheme, "http" | "https") || !host_ok {
        return Err(bad());
    }
    Ok(s.to_ascii_lowercase())
}

/// How bearer tokens are checked. Secrets are never logged.
#[derive(Clone, Args, Default)]
pub struct AuthSettings {
    /// Shared secret of HS256 JWTs.
    #[arg(long, env = "GRIDGOV_JWT_HS256_SECRET", hide_env_values = true)]
    pub jwt_hs256_secret: Option<String>,
    /// PEM public key of RS256 JWTs (a public key here or in `GRIDGOV_JWT_ES256_PUBLIC_KEY`
    /// turns the HS256 secret off).
    #[arg(long, env = "GRIDGOV_JWT_RS256_PUBLIC_KEY", hide_env_values = true)]
    pub jwt_rs256_public_key: Option<String>,
    /// PEM public key (P-256) of ES256 JWTs.
    #[arg(long, env = "GRIDGOV_JWT_ES256_PUBLIC_KEY", hide_env_values = true)]
    pub jwt_es256_public_key: Option<String>,
    /// URL of an identity provider's JWKS document: JWTs are then checked against its RS256
    /// and ES256 keys, chosen by the token's `kid`, and the static keys and the HS256 secret
    /// are not used.
    #[arg(long, env = "GRIDGOV_JWT_JWKS_URL")]
    pub jwt_jwks_url: Option<String>,
    /// Fewest seconds between two fetches of the JWKS (a token naming an unknown `kid` causes
    /// a fetch at most this often; a `Cache-Control: max-age` shorter than this is raised to it).
    #[arg(long, env = "GRIDGOV_JWT_JWKS_MIN_REFRESH", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub jwt_jwks_min_refresh: u64,
    /// Seconds fetched JWKS keys are fresh when the response names no `Cache-Control:
    /// max-age` (a max-age is honoured up to one day); stale keys keep working while they are
    /// fetched again.
    #[arg(long, env = "GRIDGOV_JWT_JWKS_REFRESH", default_value_t = 3_600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub jwt_jwks_refresh: u64,
    /// Seconds one fetch of the JWKS may take, connecting included.
    #[arg(long, env = "GRIDGOV_JWT_JWKS_TIMEOUT", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub jwt_jwks_timeout: u64,
    /// The keys fetched from `jwt_jwks_url`, shared by every clone of these settings.
    #[arg(skip)]
    pub jwks: crate::auth::jwks::KeySet,
    /// Required `iss` of JWTs.
    #[arg(long, env = "GRIDGOV_JWT_ISSUER", default_value = "gridgov")]
    pub jwt_issuer: String,
    /// Required `aud` of JWTs.
    #[arg(long, env = "GRIDGOV_JWT_AUDIENCE", default_value = "gridgov-api")]
    pub jwt_audience: String,
    /// Seconds of clock skew allowed when checking a JWT's `exp` and `nbf`.
    #[arg(long, env = "GRIDGOV_JWT_LEEWAY", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=300))]
    pub jwt_leeway: u64,
    /// Points a caller's bucket holds (the most one operation may cost).
    #[arg(long, env = "GRIDGOV_RATE_LIMIT_POINTS", default_value_t = 250_000)]
    pub rate_limit_points: u32,
    /// Points restored per second.
    #[arg(long, env = "GRIDGOV_RATE_LIMIT_RESTORE", default_value_t = 25_000)]
    pub rate_limit_restore: u32,
    /// Key that seals cursors (64 hex digits, AES-256); by default one generated on first start
    /// and kept in the database, shared by every replica.
    #[arg(long, env = "GRIDGOV_CURSOR_KEY", hide_env_values = true)]
    pub cursor_key: Option<String>,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field(
                "jwt_hs256_secret",
                &self.jwt_hs256_secret.as_ref().map(|_| "<secret>"),
            )
            .field("jwt_rs256_public_key", &self.jwt_rs256_public_key.is_some())
            .field("jwt_es256_public_key", &self.jwt_es256_public_key.is_some())
            .field("jwt_jwks_url", &self.jwt_jwks_url)
            .field("jwt_jwks_min_refresh", &self.jwt_jwks_min_refresh)
            .field("jwt_jwks_refresh", &self.jwt_jwks_refresh)
            .field("jwt_jwks_timeout", &self.jwt_jwks_timeout)
            .field("jwks", &self.jwks)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("jwt_leeway", &self.jwt_leeway)
            .field("rate_limit_points", &self.rate_limit_points)
            .field("rate_limit_restore", &self.rate_limit_restore)
            .field("cursor_key", &self.cursor_key.as_ref().map(|_| "<secret>"))
            .finish()
    }
}

/// Deployment profile: `production` turns introspection, field suggestions and GraphiQL off by
/// default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    Development,
    Production,
}

/// What one client request may ask for. Every limit has a safe default.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Deployment profile (default: production; development with `--demo`).
    #[arg(long, env = "GRIDGOV_PROFILE", value_enum)]
    pub profile: Option<Profile>,
    /// Allow introspection (default: on in development, off in production).
    #[arg(long, env = "GRIDGOV_INTROSPECTION")]
    pub introspection: Option<bool>,
    /// Deepest selection nesting of an operation (15 admits the standard introspection query).
    #[arg(long, env = "GRIDGOV_MAX_DEPTH", default_value_t = 15)]
    pub max_depth: usize,
    /// Highest complexity of an operation: each field costs 1 and a connection costs its page
    /// size (`first`/`last`, default 20) times the cost of what it selects.
    #[arg(long, env = "GRIDGOV_MAX_COMPLEXITY", default_value_t = 250_000)]
    pub max_complexity: usize,
    /// Most aliases in one document.
    #[arg(long, env = "GRIDGOV_MAX_ALIASES", default_value_t = 30)]
    pub max_aliases: usize,
    /// Most root fields in one operation.
    #[arg(long, env = "GRIDGOV_MAX_ROOT_FIELDS", default_value_t = 20)]
    pub max_root_fields: usize,
    /// Longest GraphQL document (the query text), in bytes; longer ones are refused before
    /// they are parsed.
    #[arg(long, env = "GRIDGOV_MAX_DOCUMENT_BYTES", default_value_t = 102_400)]
    pub max_document_bytes: usize,
    /// Most fields of one document once every fragment spread is replaced by its fragment
    /// (checked before validation, which walks the document that way).
    #[arg(long, env = "GRIDGOV_MAX_EXPANDED_FIELDS", default_value_t = 10_000)]
    pub max_expanded_fields: usize,
    /// Deepest recursion of fragments and nested input values.
    #[arg(long, env = "GRIDGOV_MAX_RECURSIVE_DEPTH", default_value_t = 32)]
    pub max_recursive_depth: usize,
    /// Most operations in one array-batched request.
    #[arg(long, env = "GRIDGOV_MAX_BATCH", default_value_t = 10)]
    pub max_batch: usize,
    /// Largest request body, in bytes.
    #[arg(long, env = "GRIDGOV_BODY_LIMIT", default_value_t = 2 * 1024 * 1024)]
    pub body_limit: usize,
    /// Smallest non-zero count published to AGENCY callers in statistics (cell-key perturbation
    /// publishes smaller ones as 0 or this value).
    #[arg(long, env = "GRIDGOV_STATS_MIN_COUNT", default_value_t = 5)]
    pub stats_min_count: u32,
    /// Seconds a request may take before it is answered with a timeout error.
    #[arg(long, env = "GRIDGOV_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,
    /// Largest `first`/`last` of a connection (a page's size when neither is given: 20).
    #[arg(long, env = "GRIDGOV_MAX_PAGE_SIZE", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_page_size: u64,
    /// Most ids of one `nodes(ids:)`.
    #[arg(long, env = "GRIDGOV_MAX_NODES", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_nodes: u64,
    /// Largest `first` of one `changes` page.
    #[arg(long, env = "GRIDGOV_MAX_CHANGES", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_changes: u64,
    /// Most buckets of one statistics `series`.
    #[arg(long, env = "GRIDGOV_MAX_SERIES_BUCKETS", default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_series_buckets: u64,
    /// Most items of one `registerParticipations`.
    #[arg(long, env = "GRIDGOV_MAX_BATCH_ITEMS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_batch_items: u64,
    /// Longest `search` text, in characters.
    #[arg(long, env = "GRIDGOV_MAX_SEARCH_CHARS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub max_search_chars: u64,
    /// Most values of one list filter (`status`, `category`).
    #[arg(long, env = "GRIDGOV_MAX_FILTER_VALUES", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub max_filter_values: u64,
    /// Largest GeoJSON `boundary` of a grid, in bytes.
    #[arg(long, env = "GRIDGOV_MAX_BOUNDARY_BYTES", default_value_t = 262_144, value_parser = clap::value_parser!(u64).range(1..=16_777_216))]
    pub max_boundary_bytes: u64,
    /// Subscriptions one WebSocket connection may hold at once.
    #[arg(long, env = "GRIDGOV_WS_MAX_SUBSCRIPTIONS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub ws_max_subscriptions: u64,
    /// Largest WebSocket message a client may send, in bytes (a subscribe message with its
    /// document).
    #[arg(long, env = "GRIDGOV_WS_MAX_MESSAGE_BYTES", default_value_t = 65_536, value_parser = clap::value_parser!(u64).range(1024..=4_194_304))]
    pub ws_max_message_bytes: u64,
}

impl Limits {
    /// The caps resolvers and pagination apply (see [`crate::caps`]).
    pub fn caps(&self) -> crate::caps::Caps {
        let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        crate::caps::Caps {
            max_page_size: self.max_page_size,
            max_nodes: n(self.max_nodes),
            max_changes: self.max_changes,
            max_series_buckets: n(self.max_series_buckets),
            max_batch_items: n(self.max_batch_items),
            max_search_chars: n(self.max_search_chars),
            max_filter_values: n(self.max_filter_values),
            max_boundary_bytes: n(self.max_boundary_bytes),
        }
    }
}

impl ServeSettings {
    /// The profile in force: the one given, else `development` for a demo server and
    /// `production` for any other.
    pub fn profile(&self) -> Profile {
        self.limits.profile.unwrap_or(if self.demo {
            Profile::Development
        } else {
            Profile::Production
        })
    }

    /// Whether introspection queries (and "did you mean" suggestions) are allowed.
    pub fn introspection(&self) -> bool {
        self.limits
            .introspection
            .unwrap_or(self.profile() == Profile::Development)
    }

    /// Whether `GET /graphql` serves GraphiQL to a browser.
    pub fn graphiql(&self) -> bool {
        self.graphiql
            .unwrap_or(self.profile() == Profile::Development)
    }
}

#[derive(Debug, clap::Parser)]
struct ServeOnly {
    #[command(flatten)]
    serve: ServeSettings,
}

impl ServeSettings {
    /// Settings for tests and embedding: the defaults (and `GRIDGOV_*` variables), listening on
    /// a free loopback port.
    pub fn ephemeral() -> Result<Self, clap::Error> {
        use clap::Parser;
        let mut s = ServeOnly::try_parse_from(["gridgov"])?.serve;
        s.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::{CommandFactory, Parser};

    fn serve(args: &[&str]) -> Result<ServeSettings, String> {
        let cli = Cli::try_parse_from(["gridgov", "serve"].iter().chain(args))
            .map_err(|e| e.to_string())?;
        match cli.command {
            Command::Serve(s) => Ok(*s),
            other => Err(format!("not serve: {other:?}")),
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn plain_serve_is_production_and_demo_is_development() -> Result<(), String> {
        let plain = serve(&[])?;
        assert_eq!(plain.profile(), Profile::Production);
        assert!(!plain.introspection());
        assert!(!plain.graphiql());
        let demo = serve(&["--demo"])?;
        assert_eq!(demo.profile(), Profile::Development);
        assert!(demo.introspection() && demo.graphiql());
        let explicit = serve(&["--demo", "--profile", "production"])?;
        assert_eq!(explicit.profile(), Profile::Production);
        assert!(!explicit.introspection());
        Ok(())
    }

    #[test]
    fn graphiql_and_the_metrics_listener_are_flags() -> Result<(), String> {
        assert!(serve(&["--graphiql"])?.graphiql());
        assert!(!serve(&["--demo", "--graphiql=false"])?.graphiql());
        let s = serve(&["--metrics-listen", "127.0.0.1:9100"])?;
        assert_eq!(
            s.metrics_listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9100)))
        );
        assert_eq!(serve(&["--jwt-leeway", "0"])?.auth.jwt_leeway, 0);
        assert_eq!(serve(&[])?.auth.jwt_leeway, 5);
        assert_eq!(serve(&[])?.limits.max_expanded_fields, 10_000);
        Ok(())
    }
}
