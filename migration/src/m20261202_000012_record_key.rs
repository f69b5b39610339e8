//! A permanent random record key on every person and participation, for cell-key perturbation
//! of the statistics shown to agencies (see `docs/statistics.md`).
//!
//! The key is drawn by the database, as the column's DEFAULT, so that no INSERT and no entity
//! knows about it: the entities do not map the column, and a key never leaves the database
//! except summed into a cell key. Existing rows get a random key each.
//!
//! PostgreSQL evaluates a volatile DEFAULT once per existing row when the column is added.
//! SQLite refuses an expression DEFAULT in `ALTER TABLE … ADD COLUMN`, so there the column is
//! added with a constant default, the existing rows are keyed by an UPDATE, and the default is
//! then changed in the stored table definition — the procedure SQLite documents for "adding,
//! removing, or changing default values on a column" (lang_altertable.html, section 7): inside
//! one transaction, with `writable_schema` and a bumped `schema_version` so that every other
//! connection re-reads the schema.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

/// Record keys lie in `0..RECORD_KEY_RANGE`; cell keys are sums of record keys modulo it.
/// A power of two, so that SQLite can draw a key as `random() & (RANGE - 1)`.
pub const RECORD_KEY_RANGE: i64 = 256;

const TABLES: [&str; 2] = ["person", "participation"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    // SQLite's change of the stored definition must not be seen half done.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let mask = RECORD_KEY_RANGE - 1;
        match db.get_database_backend() {
            DbBackend::Sqlite => {
                // A constant that the UPDATE below replaces at once; the text of the column
                // definition as SQLite stores it, which the schema edit looks for.
                let added = "\"record_key\" integer NOT NULL DEFAULT 0";
                let random = format!("\"record_key\" integer NOT NULL DEFAULT (random() & {mask})");
                for t in TABLES {
                    db.execute_unprepared(&format!("ALTER TABLE \"{t}\" ADD COLUMN {added}"))
                        .await?;
                    db.execute_unprepared(&format!(
                        "UPDATE \"{t}\" SET \"record_key\" = random() & {mask}"
                    ))
                    .await?;
                }
                set_sqlite_defaults(db, added, &random).await
            }
            _ => {
                for t in TABLES {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE \"{t}\" ADD COLUMN \"record_key\" integer NOT NULL \
                         DEFAULT (floor(random() * {RECORD_KEY_RANGE})::integer)"
                    ))
                    .await?;
                }
                Ok(())
            }
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for t in TABLES {
            db.execute_unprepared(&format!("ALTER TABLE \"{t}\" DROP COLUMN \"record_key\""))
                .await?;
        }
        Ok(())
    }
}

/// Replaces the column definition `from` by `to` in the stored definitions of [`TABLES`], and
/// checks that each one changed.
async fn set_sqlite_defaults<C: ConnectionTrait>(
    db: &C,
    from: &str,
    to: &str,
) -> Result<(), DbErr> {
    let version = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA schema_version",
        ))
        .await?
        .ok_or_else(|| DbErr::Migration("no schema_version".to_owned()))?
        .try_get_by_index::<i64>(0)?;
    db.execute_unprepared("PRAGMA writable_schema = ON").await?;
    for t in TABLES {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = ?",
            [from.into(), to.into(), t.into()],
        ))
        .await?;
    }
    db.execute_unprepared(&format!("PRAGMA schema_version = {}", version + 1))
        .await?;
    db.execute_unprepared("PRAGMA writable_schema = OFF")
        .await?;
    for t in TABLES {
        let changed = db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ? AND instr(sql, ?) > 0",
                [t.into(), to.into()],
            ))
            .await?
            .map(|r| r.try_get_by_index::<i64>(0))
            .transpose()?;
        if changed != Some(1) {
            return Err(DbErr::Migration(format!(
                "could not set the random default of {t}.record_key"
            )));
        }
    }
    Ok(())
}
