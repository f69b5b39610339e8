//! Database connection set-up and per-request SQL statement counting.

use crate::config::DatabaseSettings;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

tokio::task_local! {
    /// Counts SQL statements run by the current request (set around GraphQL execution).
    pub static STATEMENTS: Arc<AtomicU64>;
}

/// Opens the pool. SQLite gets WAL, a busy timeout and foreign keys; writes open their
/// transactions with `BEGIN IMMEDIATE` (see `store::write_txn`) so that they never fail with
/// SQLITE_BUSY when upgrading a read lock to a write lock.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(settings.database_url.clone());
    opts.max_connections(settings.db_max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(settings.db_acquire_timeout))
        .connect_timeout(Duration::from_secs(settings.db_acquire_timeout))
        .sqlx_logging(false)
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
