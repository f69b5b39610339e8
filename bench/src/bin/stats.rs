//! Benchmark: the full `stats` query over a community and over the whole street set, on the
//! demo data (default scale 100), next to the same SQL statements run directly (no GraphQL).
//!
//! `cargo run --release -p gridgov-bench --bin stats -- --database-url URL [--scale 100] [--rounds 20]`

use clap::Parser;
use gridgov_bench::workload::GG_STATS as STATS;
use gridgov_bench::{Client, start};
use hdrhistogram::Histogram;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 100)]
    scale: u32,
    #[arg(long, default_value_t = 20)]
    rounds: u32,
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let seeded = Instant::now();
    let (addr, key) = start(&args.database_url, args.scale).await?;
    eprintln!(
        "ready after {:.1} s (seeding included when the data was missing)",
        seeded.elapsed().as_secs_f64()
    );
    let client = Client::new(addr, key);
    let settings = gridgov::config::DatabaseSettings {
        database_url: args.database_url.clone(),
        db_max_connections: 4,
        db_acquire_timeout: 30,
    };
    let db = gridgov::db::connect(&settings).await?;
    let from: chrono::DateTime<chrono::Utc> = "2026-01-01T00:00:00+08:00".parse()?;
    let to: chrono::DateTime<chrono::Utc> = "2027-01-01T00:00:00+08:00".parse()?;
    for code in ["370685001003", "370685"] {
        let grid = entity::grid::Entity::find()
            .filter(entity::grid::Column::Code.eq(code))
            .one(&db)
            .await?;
        let grid = grid.ok_or_else(|| anyhow::anyhow!("no grid {code}"))?;
        let id = gridgov::schema::relay::global_id("Grid", grid.id);
        let (mut api, mut sql) = (Histogram::<u64>::new(3)?, Histogram::<u64>::new(3)?);
        let mut statements = 0;
        for _ in 0..args.rounds {
            let t = Instant::now();
            let (_, n) = client
                .run(STATS, json!({ "g": id, "from": from, "to": to }))
                .await?;
            api.record(u64::try_from(t.elapsed().as_micros())?)?;
            statements = n;
            let t = Instant::now();
            let stats = gridgov::store::stats::subtree_stats(
                &db,
                &grid.path,
                Some(from),
                Some(to),
                chrono::Utc::now().date_naive(),
            )
            .await?;
            let bounds = gridgov::store::stats::bucket_bounds(
                from,
                to,
                gridgov::store::stats::Interval::Month,
                chrono_tz::Asia::Shanghai,
                400,
            )
            .ok_or_else(|| anyhow::anyhow!("bounds"))?;
            gridgov::store::stats::series(&db, &grid.path, &bounds).await?;
            sql.record(u64::try_from(t.elapsed().as_micros())?)?;
            std::hint::black_box(stats.parts.len());
        }
        println!(
            "{code}: GraphQL stats p50 {:.1} ms p95 {:.1} ms ({statements} SQL statements) | same SQL run directly p50 {:.1} ms p95 {:.1} ms",
            ms(&api, 0.5),
            ms(&api, 0.95),
            ms(&sql, 0.5),
            ms(&sql, 0.95)
        );
    }
    Ok(())
}
