//! Every migration has a working `down`: all the way down and up again leaves a usable schema.

use crate::harness::{Backend, TestDb};
use gridgov::config::DatabaseSettings;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement};

async fn down_and_up_again(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let settings = DatabaseSettings {
        database_url: db.url.clone(),
        db_max_connections: 2,
        db_acquire_timeout: 5,
    };
    let conn = gridgov::db::connect(&settings).await.unwrap();
    let total = Migrator::migrations().len();
    Migrator::up(&conn, None).await.unwrap();
    assert_eq!(
        Migrator::get_pending_migrations(&conn).await.unwrap().len(),
        0
    );
    for applied in (0..total).rev() {
        Migrator::down(&conn, Some(1)).await.unwrap();
        assert_eq!(
            Migrator::get_applied_migrations(&conn).await.unwrap().len(),
            applied
        );
    }
    // With everything rolled back, no table of ours is left.
    let probe = Statement::from_string(conn.get_database_backend(), "SELECT COUNT(*) FROM grid");
    assert!(
        conn.query_one_raw(probe.clone()).await.is_err(),
        "grid table survived the rollback"
    );
    Migrator::up(&conn, None).await.unwrap();
    assert!(conn.query_one_raw(probe).await.unwrap().is_some());
}

#[tokio::test]
async fn migrations_roll_back_and_reapply_sqlite() {
    down_and_up_again(Backend::Sqlite).await;
}

#[tokio::test]
async fn migrations_roll_back_and_reapply_postgres() {
    down_and_up_again(Backend::Postgres).await;
}
