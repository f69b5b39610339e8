use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = with_audit_columns(
            table("audit_log")
                .col(col("actor").string_len(200).not_null())
                .col(col("action").string_len(64).not_null())
                .col(col("entity_type").string_len(64).not_null())
                .col(col("entity_id").uuid().not_null())
                .col(col("before").text().null())
                .col(col("after").text().null())
                .col(col("details").text().null())
                .col(col("request_id").string_len(128).not_null())
                .to_owned(),
        );
        manager.create_table(t).await?;
        create_indexes(
            manager,
            vec![
                index("audit_log", &["entity_id", "created_at", "id"], false),
                index("audit_log", &["entity_type", "created_at", "id"], false),
                index("audit_log", &["action", "created_at", "id"], false),
                index("audit_log", &["created_at", "id"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "audit_log").await
    }
}
