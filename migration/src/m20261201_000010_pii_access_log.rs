use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = with_audit_columns(
            table("pii_access_log")
                .col(col("actor").string_len(200).not_null())
                .col(col("person_id").uuid().not_null())
                .col(col("fields").string_len(200).not_null())
                .col(col("request_id").string_len(128).not_null())
                .to_owned(),
        );
        manager.create_table(t).await?;
        create_indexes(
            manager,
            vec![
                index("pii_access_log", &["person_id", "created_at", "id"], false),
                index("pii_access_log", &["actor", "created_at", "id"], false),
                index("pii_access_log", &["created_at", "id"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "pii_access_log").await
    }
}
