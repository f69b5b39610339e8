use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Subtree queries compare `path` as a byte range; on PostgreSQL that needs the "C"
        // collation (locale collations ignore the `/` separators). SQLite compares bytes already.
        let mut path = col("path");
        path.string_len(1024).not_null();
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            path.extra("COLLATE \"C\"");
        }
        let t = with_audit_columns(
            table("grid")
                .col(col("code").string_len(32).not_null())
                .col(col("name").string_len(200).not_null())
                .col(col("level").integer().not_null())
                .col(col("parent_id").uuid().null())
                .col(&mut path)
                .col(col("boundary").text().null())
                .foreign_key(&mut fk(
                    "grid",
                    "parent_id",
                    "grid",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        );
        manager.create_table(t).await?;
        create_indexes(
            manager,
            vec![
                index("grid", &["code"], true),
                index("grid", &["path"], true),
                index("grid", &["parent_id", "id"], false),
                index("grid", &["name", "id"], false),
                index("grid", &["level", "id"], false),
                index("grid", &["created_at", "id"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "grid").await
    }
}
