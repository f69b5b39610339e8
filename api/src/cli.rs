//! The `gridgov` subcommands.

use crate::config::{DatabaseSettings, DatabaseTuning, ServeSettings, TelemetrySettings};
use clap::{Parser, Subcommand};

/// gridgov: a GraphQL API for community grid governance.
#[derive(Debug, Parser)]
#[command(name = "gridgov", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub db_tuning: DatabaseTuning,
    #[command(flatten)]
    pub telemetry: TelemetrySettings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (GraphQL at /graphql, GraphiQL in a browser, /healthz, /readyz, /metrics).
    Serve(Box<ServeSettings>),
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
    /// Manage API keys of partner systems.
    Apikey {
        #[command(subcommand)]
        action: ApikeyAction,
    },
    /// Manage persisted documents: trusted documents from a build's manifest.
    Documents {
        #[command(subcommand)]
        action: DocumentsAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum DocumentsAction {
    /// Store the documents of a manifest as trusted documents (idempotent, one transaction):
    /// a JSON object of id → text (Relay, GraphQL Code Generator) or an Apollo
    /// `apollo-persisted-query-manifest`.
    Push {
        /// The manifest file.
        file: std::path::PathBuf,
    },
    /// List the trusted documents and count the registered automatic persisted queries.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ApikeyAction {
    /// Create a key and print it (the only time it is shown).
    Create {
        /// A name for the key, e.g. the partner's system.
        #[arg(long)]
        name: String,
        /// ADMIN, GRID_MANAGER, VOLUNTEER_ORG, AGENCY or PUBLIC.
        #[arg(long)]
        role: String,
        /// Code of a grid whose subtree the key reaches (repeatable).
        #[arg(long = "grid")]
        grids: Vec<String>,
        /// Organisation of a VOLUNTEER_ORG key (global id or UUID).
        #[arg(long)]
        organization: Option<String>,
        /// Scope such as `pii:read` (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Last day the key is valid (YYYY-MM-DD, UTC).
        #[arg(long)]
        expires: Option<chrono::NaiveDate>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id.
    Revoke { id: uuid::Uuid },
    /// Issue a replacement for a key (same role, grids, organisation, scopes and expiry) and
    /// print it once; the old key stays valid for the grace period, then is refused.
    Rotate {
        id: uuid::Uuid,
        /// How long the old key stays valid: a number and s, m, h or d (at most 90d).
        #[arg(long, default_value = "7d", value_parser = crate::auth::apikey::parse_duration)]
        grace: std::time::Duration,
    },
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
            let db = crate::db::connect_tuned(&cli.database, &cli.db_tuning).await?;
            match action {
                MigrateAction::Up => crate::db::migrate_up(&db).await?,
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
            let db = crate::db::connect_tuned(&cli.database, &cli.db_tuning).await?;
            crate::db::migrate_up(&db).await?;
            let summary = crate::seed::seed_demo(&db, scale, true).await?;
            println!("{summary:?}");
        }
        Command::Apikey { action } => {
            let db = crate::db::connect_tuned(&cli.database, &cli.db_tuning).await?;
            crate::db::migrate_up(&db).await?;
            apikey(&db, action).await?;
        }
        Command::Documents { action } => {
            let db = crate::db::connect_tuned(&cli.database, &cli.db_tuning).await?;
            crate::db::migrate_up(&db).await?;
            documents(&db, action).await?;
        }
        Command::Serve(settings) => {
            let settings = *settings;
            let db = crate::db::connect_tuned(&cli.database, &cli.db_tuning).await?;
            if !settings.skip_migrations {
                crate::db::migrate_up(&db).await?;
            }
            if settings.demo {
                let summary = crate::seed::seed_demo(&db, settings.scale, true).await?;
                tracing::info!(?summary, "demo data ready");
                if summary.grids > 0 {
                    // A fresh demo database gets one ADMIN key so that GraphiQL can show
                    // everything; it goes to standard output once, never to the log.
                    let (_, key) = crate::auth::apikey::create(
                        &db,
                        crate::auth::apikey::NewKey {
                            name: "demo admin".into(),
                            role: crate::auth::Role::Admin,
                            grid_codes: vec![],
                            organization_id: None,
                            scopes: vec![crate::auth::PII_READ.into()],
                            expires_at: None,
                        },
                    )
                    .await?;
                    println!("Demo ADMIN key (shown once): {key}");
                    println!("In GraphiQL, set the header {{\"Authorization\": \"Bearer {key}\"}}");
                }
            }
            let replica = crate::db::connect_read_replica(
                &cli.database,
                &cli.db_tuning,
                settings.read_replica_url.as_deref(),
            )
            .await?;
            let app = crate::server::Application::build(db, settings)
                .await?
                .with_read_replica(replica);
            let addr = app.local_addr()?;
            tracing::info!(%addr, "gridgov listening; GraphiQL at http://{addr}/graphql");
            app.run_until_stopped().await?;
        }
    }
    Ok(())
}

async fn documents(
    db: &sea_orm::DatabaseConnection,
    action: DocumentsAction,
) -> anyhow::Result<()> {
    match action {
        DocumentsAction::Push { file } => {
            let json = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let s = crate::persisted::push_manifest(db, &json).await?;
            println!(
                "{} documents: {} new, {} updated, {} unchanged",
                s.inserted + s.updated + s.unchanged,
                s.inserted,
                s.updated,
                s.unchanged
            );
        }
        DocumentsAction::List => {
            let (trusted, registered) = crate::store::documents::list(db).await?;
            println!("id\tname\tbytes\tpushed");
            for d in &trusted {
                println!(
                    "{}\t{}\t{}\t{}",
                    d.id,
                    d.operation_name.as_deref().unwrap_or(""),
                    d.body.len(),
                    d.created_at.to_rfc3339()
                );
            }
            println!("{} trusted, {registered} registered", trusted.len());
        }
    }
    Ok(())
}

async fn apikey(db: &sea_orm::DatabaseConnection, action: ApikeyAction) -> anyhow::Result<()> {
    use crate::auth::{Role, apikey};
    match action {
        ApikeyAction::Create {
            name,
            role,
            grids,
            organization,
            scopes,
            expires,
        } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let organization_id = match organization {
                None => None,
                Some(o) => Some(match uuid::Uuid::parse_str(&o) {
                    Ok(u) => u,
                    Err(_) => {
                        crate::schema::relay::decode_global_id(&o, "organization")
                            .map_err(|_| {
                                anyhow::anyhow!(
                                    "--organization must be a UUID or an Organization id"
                                )
                            })?
                            .1
                    }
                }),
            };
            if role == Role::GridManager && grids.is_empty() {
                anyhow::bail!("a GRID_MANAGER key needs at least one --grid");
            }
            if role == Role::VolunteerOrg && organization_id.is_none() {
                anyhow::bail!("a VOLUNTEER_ORG key needs --organization");
            }
            crate::auth::grid_scopes(db, &grids)
                .await
                .map_err(|_| anyhow::anyhow!("unknown grid code in --grid"))?;
            let expires_at = expires
                .and_then(|d| d.succ_opt())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc());
            let (model, key) = apikey::create(
                db,
                apikey::NewKey {
                    name,
                    role,
                    grid_codes: grids,
                    organization_id,
                    scopes,
                    expires_at,
                },
            )
            .await?;
            println!("id:  {}", model.id);
            println!("key: {key}");
            eprintln!("Store the key now: it is not shown again and only its hash is kept.");
        }
        ApikeyAction::List => {
            println!("id\tname\trole\tgrids\tscopes\texpires\trevoked\treplaced");
            for k in apikey::list(db).await? {
                let replaced = match (k.replaced_by, k.grace_until) {
                    (Some(by), Some(until)) => {
                        format!("replaced by {by}, valid until {}", until.to_rfc3339())
                    }
                    (Some(by), None) => format!("replaced by {by}"),
                    _ => String::new(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    k.id,
                    k.name,
                    k.role,
                    k.grid_codes,
                    k.scopes,
                    k.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    k.revoked_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    replaced
                );
            }
        }
        ApikeyAction::Revoke { id } => {
            if !apikey::revoke(db, id).await? {
                anyhow::bail!("no API key {id}");
            }
            println!("revoked {id}");
        }
        ApikeyAction::Rotate { id, grace } => {
            let rotated = apikey::rotate(db, id, grace).await?;
            println!("id:  {}", rotated.new.id);
            println!("key: {}", rotated.key);
            if let Some(until) = rotated.old.grace_until {
                eprintln!("The old key {id} stays valid until {}.", until.to_rfc3339());
            }
            eprintln!("Store the key now: it is not shown again and only its hash is kept.");
        }
    }
    Ok(())
}
