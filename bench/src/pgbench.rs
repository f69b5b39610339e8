//! The database ceiling: the SQL statements gridgov runs for a request, captured from a gridgov
//! in this process, replayed by `pgbench` (one pgbench transaction = one request's statements).

use crate::load::{Mode, Report};
use crate::{Captured, Client};
use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// At most this many scripts per pgbench run (pgbench's own limit is 128).
pub const SCRIPTS: usize = 100;

/// Sends each body through a capturing gridgov and writes one pgbench script per request with
/// the statements it ran, into `dir/NAME_NNN.sql`. Returns the script paths.
pub async fn capture(
    client: &Client,
    captured: &Captured,
    bodies: &[String],
    dir: &Path,
    name: &str,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut paths = Vec::new();
    for (i, body) in bodies.iter().take(SCRIPTS).enumerate() {
        captured.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let request: Value = serde_json::from_str(body)?;
        client
            .run(
                request["query"].as_str().context("query")?,
                request["variables"].clone(),
            )
            .await?;
        let statements = std::mem::take(&mut *captured.lock().unwrap_or_else(|p| p.into_inner()));
        anyhow::ensure!(!statements.is_empty(), "no statement captured");
        let script: String = statements
            .iter()
            .map(|s| format!("{};\n", s.replace('\n', " ")))
            .collect();
        let path = dir.join(format!("{name}_{i:03}.sql"));
        std::fs::write(&path, script)?;
        paths.push(path);
    }
    Ok(paths)
}

/// How a pgbench run connects.
pub struct Target {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
}

impl Target {
    /// From a `postgres://USER@HOST:PORT/DB` URL.
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .context("not a postgres:// URL")?;
        let (user, rest) = rest.split_once('@').context("no user in the URL")?;
        let (hostport, database) = rest.split_once('/').context("no database in the URL")?;
        let (host, port) = hostport.split_once(':').unwrap_or((hostport, "5432"));
        Ok(Target {
            host: host.to_owned(),
            port: port.parse()?,
            user: user.split(':').next().unwrap_or(user).to_owned(),
            database: database.split('?').next().unwrap_or(database).to_owned(),
        })
    }
}

/// Runs the scripts (chosen at random, equal weights) with pgbench and reads its per-transaction
/// log into a [`Report`]. With an open-loop mode pgbench's `--rate` schedules the transactions
/// and the logged latency counts from the scheduled start.
pub fn run(
    target: &Target,
    scripts: &[PathBuf],
    mode: Mode,
    warmup: Duration,
    duration: Duration,
    log_dir: &Path,
) -> anyhow::Result<Report> {
    let prefix = log_dir.join(format!(
        "pgbench_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    ));
    // A literal with a colon would be read as a pgbench variable by the prepared protocol.
    let protocol = if scripts.iter().any(|p| {
        std::fs::read_to_string(p)
            .map(|s| s.replace("::", "").contains(':'))
            .unwrap_or(true)
    }) {
        "extended"
    } else {
        "prepared"
    };
    let mut cmd = Command::new("pgbench");
    // No TLS on loopback, like gridgov and PostGraphile in the suite.
    cmd.env("PGSSLMODE", "disable")
        .args(["-n", "-M", protocol, "-l", "-j", "2"])
        .arg(format!("--log-prefix={}", prefix.display()))
        .args([
            "-h",
            &target.host,
            "-p",
            &target.port.to_string(),
            "-U",
            &target.user,
        ])
        .arg("-T")
        .arg((warmup + duration).as_secs().to_string());
    match mode {
        Mode::Closed { clients } => {
            cmd.arg("-c").arg(clients.to_string());
        }
        Mode::Open {
            rate,
            max_in_flight,
        } => {
            cmd.arg("-c")
                .arg(max_in_flight.min(64).to_string())
                .arg("-R")
                .arg(format!("{rate:.0}"));
        }
    }
    for s in scripts {
        cmd.arg("-f").arg(s);
    }
    cmd.arg(&target.database);
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    crate::procs::output(cmd)?;
    let measure_from = started + warmup;
    let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let mut failed = 0;
    let stem = prefix
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    for entry in std::fs::read_dir(log_dir)? {
        let path = entry?.path();
        if !path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&stem))
        {
            continue;
        }
        for line in std::fs::read_to_string(&path)?.lines() {
            // client_id transaction_no time script_no time_epoch time_us [schedule_lag]
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 {
                continue;
            }
            let (Ok(epoch), Ok(us)) = (f[4].parse::<u64>(), f[5].parse::<u64>()) else {
                continue;
            };
            let at = Duration::from_secs(epoch) + Duration::from_micros(us);
            if at < measure_from {
                continue;
            }
            match f[2].parse::<u64>() {
                Ok(latency) => {
                    hist.saturating_record(latency.max(1));
                }
                // "skipped" (late under --rate) or "failed".
                Err(_) => failed += 1,
            }
        }
        std::fs::remove_file(&path)?;
    }
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Ok(Report {
        requests: hist.len() + failed,
        failed,
        throughput: hist.len() as f64 / duration.as_secs_f64(),
        p50_ms: ms(0.5),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        max_ms: hist.max() as f64 / 1000.0,
        ..Report::default()
    })
}
