//! Database connection set-up, readiness and per-request SQL statement counting.

use crate::config::{DatabaseSettings, DatabaseTuning};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

tokio::task_local! {
    /// Counts SQL statements run by the current request (set around GraphQL execution).
    pub static STATEMENTS: Arc<AtomicU64>;
}

/// Opens the pool with the default [`DatabaseTuning`].
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    connect_tuned(settings, &DatabaseTuning::default()).await
}

/// Opens the pool. SQLite gets WAL, a busy timeout and foreign keys; writes open their
/// transactions with `BEGIN IMMEDIATE` (see `store::write_txn`) so that they never fail with
/// SQLITE_BUSY when upgrading a read lock to a write lock.
///
/// Every statement is a `tracing` span (sea-orm's `tracing-spans`: `db.system` and the
/// statement text, whose values are bound parameters and so never part of it). A pooled
/// connection is pinged before it is handed out, so a database that went away is noticed at
/// once and a request fails within the acquire timeout instead of on a dead socket.
pub async fn connect_tuned(
    settings: &DatabaseSettings,
    tuning: &DatabaseTuning,
) -> Result<DatabaseConnection, DbErr> {
    let statement_cache = tuning.db_statement_cache;
    let mut opts = ConnectOptions::new(settings.database_url.clone());
    opts.max_connections(settings.db_max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(settings.db_acquire_timeout))
        .connect_timeout(Duration::from_secs(settings.db_acquire_timeout))
        .test_before_acquire(true)
        .sqlx_logging(false)
        .record_stmt_in_spans(true)
        .map_sqlx_postgres_opts(move |o| o.statement_cache_capacity(statement_cache))
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    let mut db = Database::connect(opts).await?;
    db.set_metric_callback(|_info| {
        let _ = STATEMENTS.try_with(|c| c.fetch_add(1, Ordering::Relaxed));
    });
    Ok(db)
}

/// Applies pending migrations. When this run creates the change feed, every object already in
/// the database gets its creation in the feed (see `store::changes::baseline`).
pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), DbErr> {
    use migration::{Migrator, MigratorTrait};
    let creates_feed = Migrator::get_pending_migrations(db)
        .await?
        .iter()
        .any(|m| m.name().ends_with("_change_event"));
    Migrator::up(db, None).await?;
    if creates_feed {
        let n = crate::store::changes::baseline(db).await?;
        if n > 0 {
            tracing::info!(objects = n, "existing objects recorded in the change feed");
        }
    }
    Ok(())
}

/// The pool of the read replica at `url`, with the primary's pool settings; `None` without one.
pub async fn connect_read_replica(
    settings: &DatabaseSettings,
    tuning: &DatabaseTuning,
    url: Option<&str>,
) -> Result<Option<DatabaseConnection>, DbErr> {
    let Some(url) = url else {
        return Ok(None);
    };
    let replica = DatabaseSettings {
        database_url: url.to_owned(),
        ..settings.clone()
    };
    Ok(Some(connect_tuned(&replica, tuning).await?))
}

/// Connections of a pool: (open, idle).
pub fn pool_connections(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    }
}

/// Why the service cannot take traffic, in words safe to show anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    #[error("database unavailable")]
    Unreachable,
    #[error("read replica unavailable")]
    ReplicaUnreachable,
    #[error("database migrations pending")]
    MigrationsPending,
}

/// Whether the primary answers and has every migration this build knows, and the replica (if
/// any) answers.
pub async fn readiness(
    primary: &DatabaseConnection,
    replica: Option<&DatabaseConnection>,
) -> Result<(), NotReady> {
    use migration::{Migrator, MigratorTrait};
    let unreachable = |what: NotReady| {
        move |e: DbErr| {
            tracing::warn!(error = %e, "readiness check failed");
            what
        }
    };
    primary
        .ping()
        .await
        .map_err(unreachable(NotReady::Unreachable))?;
    let pending = Migrator::get_pending_migrations(primary)
        .await
        .map_err(unreachable(NotReady::Unreachable))?;
    if !pending.is_empty() {
        return Err(NotReady::MigrationsPending);
    }
    if let Some(replica) = replica {
        replica
            .ping()
            .await
            .map_err(unreachable(NotReady::ReplicaUnreachable))?;
    }
    Ok(())
}
