//! Benchmark: `registerParticipations` with 1,000 items per call.
//!
//! Each round creates and publishes a new service without capacity limit, then registers 1,000
//! distinct demo residents for it in one call, and checks that every item succeeded.
//!
//! `cargo run --release -p gridgov-bench --bin register_bulk -- --database-url URL [--rounds N]`

use clap::Parser;
use gridgov_bench::{Client, start};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Database to run on (created tables and demo data are left in place).
    #[arg(long, default_value = "sqlite://target/bench.db?mode=rwc")]
    database_url: String,
    /// Number of 1,000-item calls to time.
    #[arg(long, default_value_t = 20)]
    rounds: u32,
    /// Items per call.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
}

const BULK: &str = "mutation($i: [RegisterParticipationInput!]!) { registerParticipations(inputs: $i) { succeeded failed results { participation { id } } } }";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (addr, key) = start(&args.database_url, 1).await?;
    let client = Client::new(addr, key);
    let (data, _) = client.run("{ people(first: 100) { totalCount } organizations(filter: { kind: GOVERNMENT }, first: 1) { nodes { id } } grid(code: \"370685001001\") { id } }", json!({})).await?;
    let organizer = data["organizations"]["nodes"][0]["id"].clone();
    let grid = data["grid"]["id"].clone();
    // Collect residents to register.
    let mut people: Vec<Value> = Vec::new();
    let mut after = Value::Null;
    while people.len() < args.batch {
        let (d, _) = client
            .run("query($a: String) { people(first: 100, after: $a) { nodes { id } pageInfo { endCursor hasNextPage } } }", json!({ "a": after }))
            .await?;
        people.extend(
            d["people"]["nodes"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|n| n["id"].clone()),
        );
        after = d["people"]["pageInfo"]["endCursor"].clone();
        if d["people"]["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
    }
    people.truncate(args.batch);
    anyhow::ensure!(
        people.len() == args.batch,
        "the demo data has fewer than {} residents",
        args.batch
    );

    // Keys unique to this run, so that runs over the same database do not replay each other.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let mut hist = Histogram::<u64>::new(3)?;
    let mut statements = 0;
    for round in 0..args.rounds {
        let (d, _) = client
            .run(
                "mutation($i: CreateServiceInput!) { createService(input: $i) { service { id } } }",
                json!({ "i": { "gridId": grid, "organizerId": organizer, "title": format!("bench {round}"), "category": "OTHER", "startsAt": "2026-12-20T01:00:00Z" } }),
            )
            .await?;
        let service = d["createService"]["service"]["id"].clone();
        client
            .run("mutation($id: ID!) { transitionService(id: $id, to: PUBLISHED) { service { id } } }", json!({ "id": service }))
            .await?;
        let items: Vec<Value> = people
            .iter()
            .enumerate()
            .map(|(i, p)| json!({ "serviceId": service, "personId": p, "idempotencyKey": format!("bench-{run}-{round}-{i}") }))
            .collect();
        let started = Instant::now();
        let (d, n) = client.run(BULK, json!({ "i": items })).await?;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        anyhow::ensure!(
            d["registerParticipations"]["succeeded"] == json!(args.batch),
            "not every item succeeded: {}",
            d["registerParticipations"]["failed"]
        );
        hist.record(micros)?;
        statements = n;
    }
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "database      {}",
        args.database_url.split('@').next_back().unwrap_or("")
    );
    println!("calls         {} x {} items", args.rounds, args.batch);
    println!("SQL/call      {statements}");
    println!("p50           {:.1} ms", ms(0.5));
    println!("p95           {:.1} ms", ms(0.95));
    println!("max           {:.1} ms", hist.max() as f64 / 1000.0);
    println!(
        "items/s (p50) {:.0}",
        args.batch as f64 / (ms(0.5) / 1000.0)
    );
    Ok(())
}
