use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = with_audit_columns(
            table("service")
                .col(col("grid_id").uuid().not_null())
                .col(col("organizer_id").uuid().not_null())
                .col(col("title").string_len(200).not_null())
                .col(col("description").text().null())
                .col(col("category").string_len(32).not_null())
                .col(col("status").string_len(32).not_null())
                .col(col("starts_at").timestamp_with_time_zone().not_null())
                .col(col("ends_at").timestamp_with_time_zone().null())
                .col(col("capacity").integer().null())
                .col(col("location").string_len(300).null())
                .foreign_key(&mut fk(
                    "service",
                    "grid_id",
                    "grid",
                    ForeignKeyAction::Restrict,
                ))
                .foreign_key(&mut fk(
                    "service",
                    "organizer_id",
                    "organization",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        );
        manager.create_table(t).await?;
        create_indexes(
            manager,
            vec![
                index("service", &["grid_id", "starts_at", "id"], false),
                index("service", &["organizer_id", "starts_at", "id"], false),
                index("service", &["starts_at", "id"], false),
                index("service", &["title", "id"], false),
                index("service", &["created_at", "id"], false),
                index("service", &["status"], false),
                index("service", &["category"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "service").await
    }
}
