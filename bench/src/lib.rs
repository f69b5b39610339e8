//! Shared pieces of the benchmarks: starting gridgov over a database and a GraphQL client.

use anyhow::{Context, bail};
use gridgov::app::Application;
use gridgov::config::{DatabaseSettings, ServeSettings};
use migration::{Migrator, MigratorTrait};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// A gridgov server running in this process over `database_url`, with the demo data loaded;
/// returns its address and an ADMIN API key.
pub async fn start(database_url: &str, scale: u32) -> anyhow::Result<(SocketAddr, String)> {
    let settings = DatabaseSettings {
        database_url: database_url.to_owned(),
        db_max_connections: 16,
        db_acquire_timeout: 30,
    };
    let db = gridgov::db::connect(&settings).await?;
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
    key: String,
}

impl Client {
    pub fn new(addr: SocketAddr, key: String) -> Self {
        Client {
            http: reqwest::Client::new(),
            url: format!("http://{addr}/graphql"),
            key,
        }
    }

    /// Runs one operation; returns `data` and `extensions.sqlStatements`.
    pub async fn run(&self, query: &str, variables: Value) -> anyhow::Result<(Value, u64)> {
        let body: Value = self
            .http
            .post(&self.url)
            .bearer_auth(&self.key)
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
