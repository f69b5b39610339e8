//! Shared pieces of the benchmarks: starting gridgov over a database and a GraphQL client.

use anyhow::{Context, bail};
use gridgov::app::Application;
use gridgov::config::{DatabaseSettings, ServeSettings};
use migration::{Migrator, MigratorTrait};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// A gridgov server running in this process over `database_url`, with the demo data loaded.
pub async fn start(database_url: &str, scale: u32) -> anyhow::Result<SocketAddr> {
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
    let app = Application::build(db, serve).await?;
    let addr = app.local_addr()?;
    tokio::spawn(app.run_until_stopped());
    Ok(addr)
}

/// A GraphQL client that fails on any error in a response.
pub struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Client {
            http: reqwest::Client::new(),
            url: format!("http://{addr}/graphql"),
        }
    }

    /// Runs one operation; returns `data` and `extensions.sqlStatements`.
    pub async fn run(&self, query: &str, variables: Value) -> anyhow::Result<(Value, u64)> {
        let body: Value = self
            .http
            .post(&self.url)
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
