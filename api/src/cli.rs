//! The `gridgov` subcommands.

use crate::config::{DatabaseSettings, ServeSettings, TelemetrySettings};
use clap::{Parser, Subcommand};

/// gridgov: a GraphQL API for community grid governance.
#[derive(Debug, Parser)]
#[command(name = "gridgov", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub telemetry: TelemetrySettings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (GraphQL at /graphql, GraphiQL in a browser, /healthz).
    Serve(ServeSettings),
    /// Apply or inspect schema migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Load a data set into the database.
    Seed {
        /// Load the deterministic demo data set (Quanshan Street, Zhaoyuan).
        #[arg(long)]
        demo: bool,
        /// Multiply the demo data set (the benchmarks use 100).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=999))]
        scale: u32,
    },
    /// Print the GraphQL schema (SDL) to standard output.
    Schema,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum MigrateAction {
    /// Apply all pending migrations.
    Up,
    /// Roll back the last applied migration.
    Down,
    /// List migrations and whether each is applied.
    Status,
    /// Drop every table and apply all migrations again.
    Fresh,
}

/// Runs one subcommand to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    use migration::{Migrator, MigratorTrait};
    match cli.command {
        Command::Schema => {
            print!("{}", crate::schema::sdl());
        }
        Command::Migrate { action } => {
            let db = crate::db::connect(&cli.database).await?;
            match action {
                MigrateAction::Up => Migrator::up(&db, None).await?,
                MigrateAction::Down => Migrator::down(&db, Some(1)).await?,
                MigrateAction::Status => {
                    for m in Migrator::get_migration_with_status(&db).await? {
                        println!("{}\t{}", m.name(), m.status());
                    }
                }
                MigrateAction::Fresh => Migrator::fresh(&db).await?,
            }
        }
        Command::Seed { demo, scale } => {
            if !demo {
                anyhow::bail!("nothing to seed: pass --demo");
            }
            let db = crate::db::connect(&cli.database).await?;
            Migrator::up(&db, None).await?;
            let summary = crate::seed::seed_demo(&db, scale, true).await?;
            println!("{summary:?}");
        }
        Command::Serve(settings) => {
            let db = crate::db::connect(&cli.database).await?;
            if !settings.skip_migrations {
                Migrator::up(&db, None).await?;
            }
            if settings.demo {
                let summary = crate::seed::seed_demo(&db, settings.scale, true).await?;
                tracing::info!(?summary, "demo data ready");
            }
            let app = crate::app::Application::build(db, settings).await?;
            let addr = app.local_addr()?;
            tracing::info!(%addr, "gridgov listening; GraphiQL at http://{addr}/graphql");
            app.run_until_stopped().await?;
        }
    }
    Ok(())
}
