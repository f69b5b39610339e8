//! Shared pieces of the benchmarks: starting gridgov over a database and a GraphQL client.

use anyhow::{Context, bail};
use gridgov::config::{DatabaseSettings, ServeSettings};
use gridgov::server::Application;
use migration::{Migrator, MigratorTrait};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub mod load;
pub mod pgbench;
pub mod procs;
pub mod workload;

/// SQL statements as run, with their parameters written in (see [`start_capturing`]).
pub type Captured = Arc<Mutex<Vec<String>>>;

/// A gridgov server running in this process over `database_url`, with the demo data loaded;
/// returns its address and an ADMIN API key.
pub async fn start(database_url: &str, scale: u32) -> anyhow::Result<(SocketAddr, String)> {
    start_capturing(database_url, scale, None).await
}

/// [`start`], and when `capture` is given, every SQL statement the server runs is appended to
/// it with its parameters inlined (sea-orm's metric callback; statement counting is then off).
pub async fn start_capturing(
    database_url: &str,
    scale: u32,
    capture: Option<Captured>,
) -> anyhow::Result<(SocketAddr, String)> {
    let settings = DatabaseSettings {
        database_url: database_url.to_owned(),
        db_max_connections: 16,
        db_acquire_timeout: 30,
    };
    let mut db = gridgov::db::connect(&settings).await?;
    if let Some(capture) = capture {
        db.set_metric_callback(move |info| {
            let mut c = capture.lock().unwrap_or_else(|p| p.into_inner());
            c.push(info.statement.to_string());
        });
    }
    Migrator::up(&db, None).await?;
    gridgov::seed::seed_demo(&db, scale, false).await?;
    let mut serve = ServeSettings::ephemeral()?;
    serve.debug_extensions = true;
    // Benchmarks measure the API, not the rate limiter.
    serve.auth.rate_limit_points = u32::MAX;
    let new_key = gridgov::auth::apikey::NewKey {
        name: "bench".into(),
        role: gridgov::auth::Role::Admin,
        grid_codes: vec![],
        organization_id: None,
        scopes: vec![],
        expires_at: None,
    };
    let (_, key) = gridgov::auth::apikey::create(&db, new_key).await?;
    let app = Application::build(db, serve).await?;
    let addr = app.local_addr()?;
    tokio::spawn(app.run_until_stopped());
    Ok((addr, key))
}

/// A GraphQL client that fails on any error in a response.
pub struct Client {
    http: reqwest::Client,
    url: String,
    key: Option<String>,
}

impl Client {
    pub fn new(addr: SocketAddr, key: String) -> Self {
        Self::new_url(&format!("http://{addr}/graphql"), Some(key))
    }

    /// A client of the GraphQL endpoint at `url`, with a bearer key when given.
    pub fn new_url(url: &str, key: Option<String>) -> Self {
        Client {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            key,
        }
    }

    /// Runs one operation; returns `data` and `extensions.sqlStatements`.
    pub async fn run(&self, query: &str, variables: Value) -> anyhow::Result<(Value, u64)> {
        let mut request = self.http.post(&self.url);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        let body: Value = request
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?
            .json()
            .await
            .context("response body")?;
        if let Some(errors) = body.get("errors") {
            bail!("GraphQL errors: {errors}");
        }
        let statements = body["extensions"]["sqlStatements"].as_u64().unwrap_or(0);
        Ok((body["data"].clone(), statements))
    }
}
