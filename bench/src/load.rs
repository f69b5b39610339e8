//! The load driver: closed loop (`clients` workers, each sending its next request when the last
//! one is answered) or open loop (a fixed arrival rate whose latency is measured from the
//! intended send time, so that a stalled server cannot hide its queue: no coordinated omission).
//!
//! Every response body is parsed; a non-2xx status, a transport error or any `errors` entry
//! makes the request failed, and a run with any failed request is marked invalid.

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the driver sends: a pre-serialised JSON body to `path` of the target.
pub struct Request {
    pub body: String,
    /// Where acknowledged writes are found in the response (`None` for reads).
    pub acks: Option<AckPath>,
}

/// How to collect the ids of the participations a write response acknowledges.
#[derive(Clone, Copy)]
pub enum AckPath {
    /// `data.registerParticipations.results[*].participation.id`
    RegisterParticipations,
}

/// Makes the request number `seq` of worker `client`.
pub trait Workload: Send + Sync {
    fn request(&self, client: usize, seq: u64) -> Request;
}

/// How requests arrive.
#[derive(Clone, Copy, Debug, Serialize)]
pub enum Mode {
    /// `clients` workers, each with one request in flight.
    Closed { clients: usize },
    /// `rate` requests per second, whatever the server does (at most `max_in_flight` open).
    Open { rate: f64, max_in_flight: usize },
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::Closed { clients } => write!(f, "closed loop, {clients} clients"),
            Mode::Open { rate, .. } => write!(f, "open loop, {rate:.0}/s"),
        }
    }
}

/// What to run against which server.
pub struct RunSpec {
    pub url: String,
    pub bearer: Option<String>,
    pub mode: Mode,
    pub warmup: Duration,
    pub duration: Duration,
}

/// The outcome of one run.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub requests: u64,
    pub failed: u64,
    pub http_5xx: u64,
    pub throughput: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Mean `extensions.sqlStatements` of the successful requests (0 when not reported).
    pub sql_per_request: f64,
    pub mean_body_bytes: f64,
    /// The first few failures, for the log.
    pub sample_errors: Vec<String>,
    /// Ids of the participations the server said it created.
    #[serde(skip)]
    pub acked: Vec<String>,
    /// Requests answered per second of the run (warm-up included): `(ok, failed)`.
    pub timeline: Vec<(u64, u64)>,
}

impl Report {
    /// A run is valid when no request failed.
    pub fn valid(&self) -> bool {
        self.failed == 0 && self.requests > 0
    }
}

struct Shared {
    hist: Histogram<u64>,
    report: Report,
    statements: u64,
    bytes: u64,
}

struct Outcome {
    ok: bool,
    status_5xx: bool,
    statements: u64,
    bytes: usize,
    error: Option<String>,
    acked: Vec<String>,
}

async fn send(
    http: &reqwest::Client,
    spec: &RunSpec,
    request: &Request,
) -> anyhow::Result<Outcome> {
    let mut rb = http
        .post(&spec.url)
        .header("content-type", "application/json")
        .body(request.body.clone());
    if let Some(key) = &spec.bearer {
        rb = rb.bearer_auth(key);
    }
    let response = rb.send().await?;
    let status = response.status();
    let bytes = response.bytes().await?;
    let mut out = Outcome {
        ok: status.is_success(),
        status_5xx: status.is_server_error(),
        statements: 0,
        bytes: bytes.len(),
        error: None,
        acked: Vec::new(),
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            out.ok = false;
            out.error = Some(format!("HTTP {status}: body is not JSON ({e})"));
            return Ok(out);
        }
    };
    if let Some(errors) = body.get("errors") {
        out.ok = false;
        let mut text = errors.to_string();
        text.truncate(300);
        out.error = Some(format!("HTTP {status}: {text}"));
    } else if !out.ok {
        out.error = Some(format!("HTTP {status}"));
    }
    out.statements = body["extensions"]["sqlStatements"].as_u64().unwrap_or(0);
    if let (true, Some(AckPath::RegisterParticipations)) = (out.ok, request.acks)
        && let Some(results) = body["data"]["registerParticipations"]["results"].as_array()
    {
        out.acked = results
            .iter()
            .filter_map(|r| r["participation"]["id"].as_str().map(str::to_owned))
            .collect();
    }
    Ok(out)
}

fn record(
    shared: &Mutex<Shared>,
    started: Instant,
    intended: Instant,
    measure_from: Instant,
    out: anyhow::Result<Outcome>,
) {
    let now = Instant::now();
    let second = usize::try_from(now.duration_since(started).as_secs()).unwrap_or(usize::MAX);
    let mut s = match shared.lock() {
        Ok(s) => s,
        Err(p) => p.into_inner(),
    };
    let out = out.unwrap_or_else(|e| Outcome {
        ok: false,
        status_5xx: false,
        statements: 0,
        bytes: 0,
        error: Some(format!("transport: {e:#}")),
        acked: Vec::new(),
    });
    // Acknowledged writes count whenever they happen, warm-up included: they must all be kept.
    s.report.acked.extend(out.acked);
    if s.report.timeline.len() <= second {
        s.report.timeline.resize(second + 1, (0, 0));
    }
    if let Some(slot) = s.report.timeline.get_mut(second) {
        if out.ok {
            slot.0 += 1;
        } else {
            slot.1 += 1;
        }
    }
    if out.status_5xx {
        s.report.http_5xx += 1;
    }
    if !out.ok {
        // Failures count during warm-up too: an invalid run is invalid.
        s.report.failed += 1;
        if let (Some(e), true) = (out.error, s.report.sample_errors.len() < 5) {
            s.report.sample_errors.push(e);
        }
    }
    if intended < measure_from {
        return;
    }
    s.report.requests += 1;
    if out.ok {
        let micros = u64::try_from(now.duration_since(intended).as_micros()).unwrap_or(u64::MAX);
        // A value beyond the histogram's range is clamped by saturating_record.
        s.hist.saturating_record(micros.max(1));
        s.statements += out.statements;
        s.bytes += out.bytes as u64;
    }
}

/// Runs `workload` as `spec` says and reports the measured part (after the warm-up).
pub async fn run(spec: RunSpec, workload: Arc<dyn Workload>) -> anyhow::Result<Report> {
    let spec = Arc::new(spec);
    let workers = match spec.mode {
        Mode::Closed { clients } => clients,
        Mode::Open { max_in_flight, .. } => max_in_flight,
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(workers)
        .timeout(Duration::from_secs(60))
        .build()
        .context("HTTP client")?;
    let shared = Arc::new(Mutex::new(Shared {
        hist: Histogram::new_with_bounds(1, 600_000_000, 3)?,
        report: Report::default(),
        statements: 0,
        bytes: 0,
    }));
    let started = Instant::now();
    let measure_from = started + spec.warmup;
    let deadline = measure_from + spec.duration;
    let mut tasks = tokio::task::JoinSet::new();
    match spec.mode {
        Mode::Closed { clients } => {
            for client in 0..clients {
                let (http, spec, shared, workload) =
                    (http.clone(), spec.clone(), shared.clone(), workload.clone());
                tasks.spawn(async move {
                    let mut seq = 0;
                    while Instant::now() < deadline {
                        let request = workload.request(client, seq);
                        seq += 1;
                        let intended = Instant::now();
                        let out = send(&http, &spec, &request).await;
                        record(&shared, started, intended, measure_from, out);
                    }
                });
            }
        }
        Mode::Open {
            rate,
            max_in_flight,
        } => {
            let permits = Arc::new(tokio::sync::Semaphore::new(max_in_flight));
            let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
            let mut seq: u64 = 0;
            loop {
                let intended = started + interval.mul_f64(seq as f64);
                if intended >= deadline {
                    break;
                }
                tokio::time::sleep_until(intended.into()).await;
                // Latency counts from `intended`, so waiting here for a free slot is measured.
                let permit = permits.clone().acquire_owned().await?;
                let client = usize::try_from(seq).unwrap_or(0) % max_in_flight;
                let request = workload.request(client, seq);
                let (http, spec, shared) = (http.clone(), spec.clone(), shared.clone());
                tasks.spawn(async move {
                    let out = send(&http, &spec, &request).await;
                    record(&shared, started, intended, measure_from, out);
                    drop(permit);
                });
                seq += 1;
                // Reap finished tasks so that the set does not grow over a long run.
                while tasks.try_join_next().is_some() {}
            }
        }
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("a load task panicked")?;
    }
    let measured = Instant::now().duration_since(measure_from).as_secs_f64();
    let mut s = match shared.lock() {
        Ok(s) => s,
        Err(p) => p.into_inner(),
    };
    let ok = s.hist.len();
    let ms = |q: f64, h: &Histogram<u64>| h.value_at_quantile(q) as f64 / 1000.0;
    let mut report = std::mem::take(&mut s.report);
    report.throughput = ok as f64 / measured.max(0.001);
    report.p50_ms = ms(0.50, &s.hist);
    report.p95_ms = ms(0.95, &s.hist);
    report.p99_ms = ms(0.99, &s.hist);
    report.max_ms = s.hist.max() as f64 / 1000.0;
    report.sql_per_request = s.statements as f64 / ok.max(1) as f64;
    report.mean_body_bytes = s.bytes as f64 / ok.max(1) as f64;
    Ok(report)
}
