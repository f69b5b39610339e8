use crate::common::*;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let t = with_audit_columns(
            table("idempotency_key")
                .col(col("caller").string_len(200).not_null())
                .col(col("key").string_len(200).not_null())
                .col(col("operation").string_len(64).not_null())
                .col(col("request_hash").string_len(64).not_null())
                .col(col("result_id").uuid().not_null())
                .to_owned(),
        );
        manager.create_table(t).await?;
        create_indexes(
            manager,
            vec![
                index("idempotency_key", &["caller", "key"], true),
                index("idempotency_key", &["created_at"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, "idempotency_key").await
    }
}
